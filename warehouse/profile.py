"""The profiles.yml that `warehouse profile` (make build) writes: targets `local` and `dev`.

`local` is the warehouse as production has it (exact schemas: `analytics`, `staging`, ...);
`dev` is the same warehouse with a person's prefixed schemas (`dbt_<user>_analytics`, ...,
by generate_schema_name), for experiments that must not land in `analytics`.

The file records a checksum of what was written. While it matches, the file is ours and is
rewritten when the warehouse's port changes. Once someone edits it, it is theirs: only the port
of the `local` and `dev` targets is kept up to date (when they still point at this machine),
in place, with their comments and other targets untouched.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from warehouse.dbt import PROFILE_NAME, local_target, profiles_yaml

HEADER = (
    "# Written by 'warehouse profile' (make build) for the local warehouse; git-ignored.\n"
    "# Targets: local (exact schemas, as production) and dev (dbt_<you>_* schemas).\n"
    "# Edit freely: once edited, only the local and dev ports are kept up to date.\n"
)
CHECKSUM = "# checksum: "
MANAGED = ("local", "dev")
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def dev_schema(user: str | None = None) -> str:
    """`dbt_<user>`: the prefix of a person's dev schemas, from the login name."""
    try:
        name = user or getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        name = "dev"
    return "dbt_" + (re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "dev")


def _checksum(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def generated(port: int, user: str | None = None, password: str = "") -> str:
    """The whole file `warehouse profile` writes for a warehouse on `port`."""
    body = profiles_yaml(local_target(port, password=password),
                         local_target(port, name="dev", schema=dev_schema(user),
                                      password=password))
    return f"{HEADER}{CHECKSUM}{_checksum(body)}\n{body}"


def _is_legacy(text: str) -> bool:
    """True for the file an older `warehouse profile` wrote: its header, only `local`, as made."""
    if not text.startswith(HEADER.splitlines()[0]) or CHECKSUM in text:
        return False
    try:
        outputs = yaml_safe_load(text)[PROFILE_NAME]["outputs"]
    except (YAMLError, KeyError, TypeError):
        return False
    if not isinstance(outputs, dict) or set(outputs) != {"local"}:
        return False
    local = dict(outputs["local"])
    return {**local, "port": 0} == {**local_target(0).output(), "password": local.get("password")}


def yaml_safe_load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def is_untouched(text: str) -> bool:
    """True when the file is exactly as `warehouse profile` wrote it (or an older version did)."""
    if _is_legacy(text):
        return True
    head, _, body = text.partition("\n" + CHECKSUM)
    if head + "\n" != HEADER or "\n" not in body:
        return False
    recorded, _, rest = body.partition("\n")
    return recorded == _checksum(rest)


@dataclass(frozen=True)
class Outcome:
    """What `write` did, as one line for the user."""

    changed: bool
    message: str


def _write_private(path: Path, content: str) -> None:
    """Write the file readable by its owner only (it holds the warehouse's password)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(content)


def write(path: Path, port: int, user: str | None = None, password: str = "") -> Outcome:
    """Write or update profiles.yml at `path` for the warehouse on `port`."""
    content = generated(port, user, password)
    if not path.exists():
        _write_private(path, content)
        return Outcome(True, f"wrote {path} (targets local and dev)")
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    text = path.read_text(encoding="utf-8")
    if text == content:
        return Outcome(False, f"{path} is up to date")
    if is_untouched(text):
        _write_private(path, content)
        return Outcome(True, f"wrote {path} (targets local and dev)")
    return _update_ports(path, text, port, password)


def _update_ports(path: Path, text: str, port: int, password: str = "") -> Outcome:
    yaml = YAML()  # round trip: comments, order and quoting survive
    try:
        profiles: Any = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return Outcome(False, f"{path} was edited by hand and is not valid YAML{where}: "
                              "left as it is")
    outputs = (profiles or {}).get(PROFILE_NAME, {}) if isinstance(profiles, dict) else {}
    outputs = outputs.get("outputs", {}) if isinstance(outputs, dict) else {}
    updated = []
    for name in MANAGED:
        output = outputs.get(name) if isinstance(outputs, dict) else None
        if not (isinstance(output, dict) and output.get("host") in LOCAL_HOSTS
                and output.get("type") == "postgres"):
            continue
        if output.get("port") != port:
            output["port"] = port
            updated.append(name)
        if output.get("user") == "postgres" and output.get("password") != password:
            output["password"] = password  # the superuser's, which `warehouse up` generated
            if name not in updated:
                updated.append(name)
    if not updated:
        return Outcome(False, f"{path} was edited by hand: left as it is")
    buffer = io.StringIO()
    yaml.dump(profiles, buffer)
    _write_private(path, buffer.getvalue())
    return Outcome(True, f"{path} was edited by hand: kept, with the port of "
                         f"{' and '.join(updated)} set to {port}")
