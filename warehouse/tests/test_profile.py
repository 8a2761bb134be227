"""`warehouse profile`: targets local and dev, and a profile someone edited stays theirs."""

from __future__ import annotations

from pathlib import Path

import yaml

from warehouse.profile import dev_schema, generated, is_untouched, write


def outputs(path: Path) -> dict[str, dict[str, object]]:
    return dict(yaml.safe_load(path.read_text())["elt"]["outputs"])


def test_writes_local_and_a_prefixed_dev_target(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yml"
    assert write(path, 5432, user="alice").changed
    found = outputs(path)
    assert yaml.safe_load(path.read_text())["elt"]["target"] == "local"
    assert found["local"]["schema"] == "analytics" and found["local"]["port"] == 5432
    assert found["dev"]["schema"] == "dbt_alice" and found["dev"]["port"] == 5432
    assert is_untouched(path.read_text())
    assert not write(path, 5432, user="alice").changed


def test_an_untouched_profile_follows_the_port(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yml"
    write(path, 5432, user="alice")
    assert write(path, 6543, user="alice").changed
    assert path.read_text() == generated(6543, user="alice")


def test_a_hand_edited_profile_keeps_its_edits_and_only_gets_the_port(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yml"
    write(path, 5432, user="alice")
    edited = path.read_text().replace("threads: 4", "threads: 8", 1) + (
        "    # my own shared server\n"
        "    shared:\n      type: postgres\n      host: db.internal\n      port: 5432\n"
        "      user: me\n      password: ''\n      dbname: warehouse\n      schema: adhoc\n")
    path.write_text(edited)
    assert not is_untouched(edited)
    outcome = write(path, 6543, user="alice")
    assert outcome.changed and "edited by hand" in outcome.message
    text = path.read_text()
    assert "# my own shared server" in text and "threads: 8" in text
    found = outputs(path)
    assert found["local"]["port"] == 6543 and found["dev"]["port"] == 6543
    assert found["shared"]["port"] == 5432  # not ours: not touched
    assert path.read_text() == text and not write(path, 6543, user="alice").changed


def test_a_profile_that_is_not_ours_or_not_yaml_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yml"
    for text in ("my: own\n", "elt: [\n", ""):
        path.write_text(text)
        outcome = write(path, 5432)
        assert not outcome.changed and "left as it is" in outcome.message
        assert path.read_text() == text


def test_dev_schema_is_a_safe_identifier() -> None:
    assert dev_schema("Alice.Smith") == "dbt_alice_smith"
    assert dev_schema("---") == "dbt_dev"


def test_a_profile_an_older_version_wrote_gains_the_dev_target(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yml"
    path.write_text(
        "# Written by 'warehouse profile' (make build) for the local warehouse; git-ignored.\n"
        "elt:\n  target: local\n  outputs:\n    local:\n      type: postgres\n"
        "      host: 127.0.0.1\n      port: 5432\n      user: postgres\n      password: ''\n"
        "      dbname: warehouse\n      schema: analytics\n      threads: 4\n")
    assert write(path, 5432, user="bob").changed
    assert outputs(path)["dev"]["schema"] == "dbt_bob"
