"""The raw data generator: deterministic, the course data set's shape, and an exact dirty manifest.

`reference_checks` is an independent, pure-Python reading of the contract's rules for bad rows;
the dirty manifest must say exactly what it finds.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest

from warehouse import generator
from warehouse.generator import Manifest, generate
from warehouse.schema import RAW_TABLES, TABLES_BY_NAME

Row = tuple[str | None, ...]
Tables = dict[str, list[Row]]

REASONS = {"null_key", "conflicting_duplicate", "negative_amount", "score_out_of_range",
           "null_timestamp", "orphan_transaction", "missing_timestamp", "orphan_timestamp"}
CHANNELS = {"Facebook", "Google", "Instagram", "Naver", "Organic", "Youtube"}
PAID = CHANNELS - {"Organic"}


def read_tables(directory: Path) -> Tables:
    """Every table's data rows, an empty field read as NULL; checks each header row."""
    tables: Tables = {}
    for table in RAW_TABLES:
        with (directory / f"{table.name}.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            assert tuple(next(reader)) == table.column_names
            tables[table.name] = [tuple(v if v != "" else None for v in r) for r in reader]
    return tables


def _single_table_reason(table: str, row: Row, key: tuple[int, ...], null_key: tuple[int, ...],
                         key_counts: Counter[Row]) -> str | None:
    columns = TABLES_BY_NAME[table].column_names
    value = dict(zip(columns, row, strict=True))
    if any(row[i] is None for i in null_key):
        return "null_key"
    if all(row[i] is not None for i in key) and key_counts[tuple(row[i] for i in key)] > 1:
        return "conflicting_duplicate"
    amount = value.get("amount")
    if table == "session_transaction" and amount is not None and int(amount) < 0:
        return "negative_amount"
    if table == "nps" and (value["score"] is None or not 0 <= int(value["score"]) <= 10):
        return "score_out_of_range"
    if table == "user_event" and value["datestamp"] is None:
        return "null_timestamp"
    return None


def reference_checks(tables: Tables) -> tuple[dict[str, int], dict[str, dict[str, int]], Tables]:
    """The contract's rules, in its order: (exact duplicates, quarantine counts, clean rows)."""
    duplicates: dict[str, int] = {}
    verdicts: dict[str, dict[Row, str | None]] = {}
    for table in RAW_TABLES:
        rows = tables[table.name]
        distinct = list(dict.fromkeys(rows))  # collapsing exact duplicates comes first
        duplicates[table.name] = len(rows) - len(distinct)
        columns = table.column_names
        key = tuple(columns.index(c) for c in table.key)
        null_cols = ("user_id", "item_id") if table.name == "user_event" else table.key
        null_key = tuple(columns.index(c) for c in null_cols)
        key_counts = Counter(tuple(r[i] for i in key) for r in distinct)
        verdicts[table.name] = {
            r: _single_table_reason(table.name, r, key, null_key, key_counts) for r in distinct
        }
    usc, stamps = verdicts["user_session_channel"], verdicts["session_timestamp"]
    usc_sessions = {r[1] for r, reason in usc.items() if reason is None}
    ts_sessions = {r[0] for r, reason in stamps.items() if reason is None}
    for row, reason in usc.items():
        if reason is None and row[1] not in ts_sessions:
            usc[row] = "missing_timestamp"
    for row, reason in stamps.items():
        if reason is None and row[0] not in usc_sessions:
            stamps[row] = "orphan_timestamp"
    clean_sessions = usc_sessions & ts_sessions
    for row, reason in verdicts["session_transaction"].items():
        if reason is None and row[0] not in clean_sessions:
            verdicts["session_transaction"][row] = "orphan_transaction"
    quarantine = {
        t: dict(Counter(r for r in v.values() if r is not None)) for t, v in verdicts.items()
    }
    clean = {t: [row for row, r in v.items() if r is None] for t, v in verdicts.items()}
    return duplicates, quarantine, clean


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Tables]:
    out = tmp_path_factory.mktemp("default")
    return generate(out), read_tables(out)


@pytest.fixture(scope="module")
def dirty_default(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Tables]:
    out = tmp_path_factory.mktemp("dirty_default")
    return generate(out, dirty=True), read_tables(out)


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", scale=0.1, seed=3, dirty=True)
    generate(tmp_path / "b", scale=0.1, seed=3, dirty=True)
    first = files(tmp_path / "a")
    assert set(first) == {f"{t.name}.csv" for t in RAW_TABLES} | {"manifest.json"}
    assert first == files(tmp_path / "b")


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", scale=0.1, seed=1)
    generate(tmp_path / "b", scale=0.1, seed=2)
    first, second = files(tmp_path / "a"), files(tmp_path / "b")
    for name in ("user_session_channel.csv", "session_timestamp.csv", "nps.csv",
                 "user_event.csv", "user_metadata.csv", "ad_spend.csv"):
        assert first[name] != second[name], name


def test_manifest_file_and_row_counts(tmp_path: Path) -> None:
    manifest = generate(tmp_path, scale=0.05, dirty=True)
    assert json.loads((tmp_path / "manifest.json").read_text()) == asdict(manifest)
    tables = read_tables(tmp_path)
    assert manifest.rows == {t: len(rows) for t, rows in tables.items()}
    text = "".join((tmp_path / f"{t.name}.csv").read_text() for t in RAW_TABLES)
    assert '""' not in text  # NULL is an empty, unquoted field


def test_default_sessions(default: tuple[Manifest, Tables]) -> None:
    manifest, tables = default
    usc, stamps = tables["user_session_channel"], tables["session_timestamp"]
    assert manifest.start == "2019-05-01" and manifest.end == "2019-11-30"
    assert 90_000 <= len(usc) <= 110_000
    assert 900 <= len({r[0] for r in usc}) <= 1000
    assert {r[2] for r in usc} == CHANNELS
    assert [r[0] for r in tables["channel"]] == sorted(CHANNELS) + ["TIKTOK"]
    sessions = [str(r[1]) for r in usc]
    assert len(set(sessions)) == len(sessions)
    assert all(re.fullmatch(r"[0-9a-f]{32}", str(s)) for s in sessions)
    assert sorted(str(r[0]) for r in stamps) == sorted(sessions)  # exactly one timestamp each
    times = sorted(str(r[1]) for r in stamps)
    assert times[0].startswith("2019-05-01 ") and times[-1].startswith("2019-11-30 ")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in times[::97])
    channel_share = Counter(r[2] for r in usc)
    assert max(channel_share.values()) > 2 * min(channel_share.values())  # skewed
    session_at = {r[0]: str(r[1]) for r in stamps}
    first: dict[str | None, str | None] = {}
    last: dict[str | None, str | None] = {}
    for _, user, channel in sorted((session_at[r[1]], str(r[0]), r[2]) for r in usc):
        first.setdefault(user, channel)
        last[user] = channel
    assert 0.1 < sum(first[u] != last[u] for u in first) / len(first) < 0.9


def test_monthly_active_users_and_sessions_grow(default: tuple[Manifest, Tables]) -> None:
    _, tables = default
    month_of = {r[0]: str(r[1])[:7] for r in tables["session_timestamp"]}
    active: defaultdict[str, set[str | None]] = defaultdict(set)
    for user, session, _ in tables["user_session_channel"]:
        active[month_of[session]].add(user)
    months = sorted(active)
    assert months == [f"2019-{m:02d}" for m in range(5, 12)]
    counts = [len(active[m]) for m in months]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    sessions = Counter(month_of.values())
    assert sessions["2019-05"] < sessions["2019-08"] < sessions["2019-11"]


def test_default_transactions(default: tuple[Manifest, Tables]) -> None:
    _, tables = default
    transactions = tables["session_transaction"]
    sessions = {r[1] for r in tables["user_session_channel"]}
    assert 0.01 < len(transactions) / len(sessions) < 0.08
    assert {r[0] for r in transactions} <= sessions
    assert len({r[0] for r in transactions}) == len(transactions)
    assert {r[1] for r in transactions} == {"true", "false"}
    refunded = sum(r[1] == "true" for r in transactions) / len(transactions)
    assert 0.02 < refunded < 0.15
    amounts = [int(str(r[2])) for r in transactions]
    assert 0 < amounts.count(0) < 0.02 * len(amounts)
    assert min(amounts) >= 0 and max(amounts) <= 500


def test_default_nps(default: tuple[Manifest, Tables]) -> None:
    _, tables = default
    nps = tables["nps"]
    assert 13_000 <= len(nps) <= 17_000
    assert [int(str(r[0])) for r in nps] == list(range(1, len(nps) + 1))
    assert all(str(r[1]).startswith("2019-") for r in nps)
    assert {str(r[1])[5:7] for r in nps} == {f"{m:02d}" for m in range(1, 13)}
    scores = Counter(int(str(r[2])) for r in nps)
    assert set(scores) == set(range(11))
    assert 0.4 < (scores[9] + scores[10]) / len(nps) < 0.8


def test_default_ab_test(default: tuple[Manifest, Tables]) -> None:
    _, tables = default
    variants = {r[0]: r[1] for r in tables["user_variant"]}
    assert set(variants.values()) == {"control", "test"}
    assert 350 <= len(variants) <= 600 and len(variants) == len(tables["user_variant"])
    events = tables["user_event"]
    assert {r[0] for r in events} <= set(variants)
    assert 20 <= len(events) / len(variants) <= 40
    assert len({r[:3] for r in events}) == len(events)
    assert all("2019-10-01" <= str(r[1])[:10] <= "2019-11-30" for r in events)
    flags = [(int(str(r[3])), int(str(r[4])), int(str(r[5]))) for r in events]
    assert all(c in (0, 1) and p in (0, 1) and p <= c and (a > 0) == (p == 1) for c, p, a in flags)
    assert sum(p for _, p, _ in flags) > 0


def test_default_user_metadata(default: tuple[Manifest, Tables]) -> None:
    _, tables = default
    rows = tables["user_metadata"]
    users = {r[0] for r in tables["user_session_channel"]}
    versions = Counter(r[0] for r in rows)
    assert users <= set(versions)
    assert len({(r[0], r[3]) for r in rows}) == len(rows)
    assert 0.1 < sum(n > 1 for n in versions.values()) / len(versions) < 0.3
    assert max(versions.values()) <= 3
    assert {r[2] for r in rows} == {"male", "female", "unknown"}
    assert all(re.fullmatch(r"\d\d-\d\d|60\+", str(r[1])) for r in rows)


def test_default_ad_spend(default: tuple[Manifest, Tables]) -> None:
    _, tables = default
    rows = tables["ad_spend"]
    days = (date(2019, 11, 30) - date(2019, 5, 1)).days + 1
    assert len(rows) == 5 * days == len({r[:2] for r in rows})
    assert {r[1] for r in rows} == PAID
    assert min(str(r[0]) for r in rows) == "2019-05-01"
    assert max(str(r[0]) for r in rows) == "2019-11-30"
    for _, _, impressions, clicks, spend in rows:
        assert int(str(impressions)) >= int(str(clicks)) >= 0
        assert re.fullmatch(r"\d+\.\d\d", str(spend)) and float(str(spend)) > 0
    assert 1_000 <= min(int(str(r[2])) for r in rows)
    assert max(int(str(r[2])) for r in rows) < 1_000_000


def test_scale_multiplies_users_and_sessions(tmp_path: Path) -> None:
    manifest = generate(tmp_path, scale=0.1)
    assert 9_000 <= manifest.rows["user_session_channel"] <= 11_000
    users = {r[0] for r in read_tables(tmp_path)["user_session_channel"]}
    assert 85 <= len(users) <= 100


def test_clean_data_has_nothing_to_quarantine(default: tuple[Manifest, Tables]) -> None:
    manifest, tables = default
    assert manifest.exact_duplicates == {t.name: 0 for t in RAW_TABLES}
    assert manifest.quarantine == {t.name: {} for t in RAW_TABLES}
    duplicates, quarantine, clean = reference_checks(tables)
    assert set(duplicates.values()) == {0}
    assert quarantine == {t.name: {} for t in RAW_TABLES}
    assert clean == tables


def test_dirty_manifest_counts(
    default: tuple[Manifest, Tables], dirty_default: tuple[Manifest, Tables]
) -> None:
    clean, dirty = default[0], dirty_default[0]
    assert dirty.dirty and not clean.dirty
    assert set().union(*dirty.quarantine.values()) == REASONS
    assert all(n > 0 for n in dirty.exact_duplicates.values())
    for table in clean.rows:
        injected = dirty.rows[table] - clean.rows[table]
        quarantined = sum(dirty.quarantine[table].values())
        assert injected == dirty.exact_duplicates[table] + quarantined
        assert injected <= max(60, 0.02 * clean.rows[table]), table
        assert all(n >= 2 for n in dirty.quarantine[table].values())


def assert_reference_checks_agree(manifest: Manifest, dirty: Tables, clean: Tables) -> None:
    duplicates, quarantine, clean_part = reference_checks(dirty)
    assert duplicates == manifest.exact_duplicates
    assert quarantine == manifest.quarantine
    for table in RAW_TABLES:  # what survives the rules is exactly the clean data set
        assert Counter(clean_part[table.name]) == Counter(clean[table.name]), table.name


@pytest.mark.parametrize(
    ("scale", "seed", "start", "end"),
    [(0.05, 7, date(2019, 5, 1), date(2019, 11, 30)),
     (0.05, 11, date(2020, 1, 1), date(2020, 1, 31))],
)
def test_reference_checks_agree_with_a_dirty_manifest(
    tmp_path: Path, scale: float, seed: int, start: date, end: date
) -> None:
    manifest = generate(tmp_path / "dirty", scale=scale, seed=seed, dirty=True, start=start,
                        end=end)
    generate(tmp_path / "clean", scale=scale, seed=seed, start=start, end=end)
    assert_reference_checks_agree(
        manifest, read_tables(tmp_path / "dirty"), read_tables(tmp_path / "clean")
    )


def test_reference_checks_agree_with_the_default_dirty_manifest(
    default: tuple[Manifest, Tables], dirty_default: tuple[Manifest, Tables]
) -> None:
    assert_reference_checks_agree(dirty_default[0], dirty_default[1], default[1])


def _rows(directory: Path, table: str) -> list[tuple[str, ...]]:
    with (directory / f"{table}.csv").open(encoding="utf-8", newline="") as handle:
        return [tuple(row) for row in csv.reader(handle)][1:]


def test_consecutive_slices_partition_the_data_set(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    generate(whole, scale=0.05, seed=5)
    cuts = [(None, date(2019, 11, 20)), (date(2019, 11, 21), date(2019, 11, 21)),
            (date(2019, 11, 22), None)]
    for i, (since, until) in enumerate(cuts):
        generate(tmp_path / f"part{i}", scale=0.05, seed=5, since=since, until=until)
    for table in RAW_TABLES:
        parts = Counter(row for i in range(len(cuts))
                        for row in _rows(tmp_path / f"part{i}", table.name))
        assert parts == Counter(_rows(whole, table.name)), table.name
    day = _rows(tmp_path / "part1", "session_timestamp")
    assert day and all(ts.startswith("2019-11-21 ") for _, ts in day)
    assert _rows(tmp_path / "part1", "user_variant") == []  # undated rows: the first slice only


def test_a_continuation_adds_new_sessions_of_known_users(tmp_path: Path) -> None:
    whole = generate(tmp_path / "whole", scale=0.05, seed=5, until=date(2019, 11, 30))
    later = generate(tmp_path / "later", scale=0.05, seed=5, since=date(2019, 12, 1),
                     until=date(2019, 12, 2))
    assert later.start == "2019-12-01" and later.end == "2019-12-02"
    sessions = _rows(tmp_path / "later", "user_session_channel")
    stamps = _rows(tmp_path / "later", "session_timestamp")
    known_ids = {row[1] for row in _rows(tmp_path / "whole", "user_session_channel")}
    users = {row[0] for row in _rows(tmp_path / "whole", "user_metadata")}
    # about one day's share of sessions per day, none reusing an id, all of known users
    per_day = whole.rows["user_session_channel"] / 214
    assert 0.5 * per_day < len(sessions) / 2 < 3 * per_day
    assert not {row[1] for row in sessions} & known_ids
    assert {row[0] for row in sessions} <= users
    assert {ts[:10] for _, ts in stamps} == {"2019-12-01", "2019-12-02"}
    assert {row[0] for row in _rows(tmp_path / "later", "ad_spend")} == {"2019-12-01",
                                                                          "2019-12-02"}
    # the continuation does not change the days before it
    generate(tmp_path / "again", scale=0.05, seed=5, until=date(2019, 12, 2))
    again = set(_rows(tmp_path / "again", "session_timestamp"))
    assert set(_rows(tmp_path / "whole", "session_timestamp")) | set(stamps) == again


def test_a_slice_rejects_dirty_and_reversed_dates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be cut"):
        generate(tmp_path, scale=0.05, dirty=True, since=date(2019, 11, 1))
    with pytest.raises(ValueError, match="before its start"):
        generate(tmp_path, scale=0.05, since=date(2019, 11, 2), until=date(2019, 11, 1))


def _sessions_by_user(tables: Tables) -> dict[str, list[tuple[str, str, str]]]:
    """user -> [(timestamp, session_id, channel)] in time order (ties by session_id)."""
    at = {str(r[0]): str(r[1]) for r in tables["session_timestamp"]}
    by_user: defaultdict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for user, session, channel in tables["user_session_channel"]:
        by_user[str(user)].append((at[str(session)], str(session), str(channel)))
    return {user: sorted(rows) for user, rows in by_user.items()}


def test_users_churn_and_some_return(default: tuple[Manifest, Tables]) -> None:
    """The May cohort thins out month by month, and some users come back after a month away."""
    users = _sessions_by_user(default[1])
    months = {u: sorted({ts[:7] for ts, _, _ in rows}) for u, rows in users.items()}
    may = [u for u, active in months.items() if active[0] == "2019-05"]
    retention = [sum(f"2019-{m:02d}" in months[u] for u in may) / len(may) for m in range(5, 12)]
    assert retention[0] == 1 and retention[1] < 0.95  # month-1 retention below 1
    assert all(a >= b for a, b in zip(retention[1:], retention[2:], strict=False))
    assert retention[-1] < 0.5
    calendar = [f"2019-{m:02d}" for m in range(5, 12)]
    returned = sum(
        any(calendar[i] not in active and calendar[i + 1] in active
            for i in range(calendar.index(active[0]), len(calendar) - 1))
        for active in months.values())
    assert returned / len(months) > 0.05


def test_channels_open_and_close_journeys(default: tuple[Manifest, Tables]) -> None:
    """Video and social open journeys, search closes them: a channel's first-touch share (the
    first session in a conversion's 30 days) and last-touch share differ by a wide margin, and
    paid search converts several times better than video."""
    tables = default[1]
    conversions = {str(r[0]) for r in tables["session_transaction"]
                   if r[1] == "false" and int(str(r[2])) > 0}
    first: Counter[str] = Counter()
    last: Counter[str] = Counter()
    for rows in _sessions_by_user(tables).values():
        for ts, session, channel in rows:
            if session in conversions:
                since = (dt.datetime.fromisoformat(ts) - dt.timedelta(days=30)).isoformat(" ")
                first[next(c for t, _, c in rows if since <= t)] += 1
                last[channel] += 1
    total = sum(last.values())
    share = {c: (first[c] / total, last[c] / total) for c in CHANNELS}
    assert share["Youtube"][0] - share["Youtube"][1] > 0.08, share
    assert share["Instagram"][0] - share["Instagram"][1] > 0.05, share
    assert share["Google"][1] - share["Google"][0] > 0.15, share
    sessions = Counter(str(r[2]) for r in tables["user_session_channel"])
    with_transaction = {str(r[0]) for r in tables["session_transaction"]}
    paid = Counter(c for _, s, c in tables["user_session_channel"] if str(s) in with_transaction)
    rate = {c: paid[c] / sessions[c] for c in CHANNELS}
    assert rate["Google"] > 3 * rate["Youtube"] and rate["Naver"] > 2 * rate["Instagram"], rate


def test_the_ab_test_has_a_modest_true_effect(tmp_path: Path) -> None:
    """At scale 5 (about 2,400 users in the test) the test variant buys more per click than
    control, by a modest lift."""
    generate(tmp_path, scale=5, seed=42)
    tables = read_tables(tmp_path)
    variant = {r[0]: r[1] for r in tables["user_variant"]}
    clicks: Counter[str | None] = Counter()
    bought: Counter[str | None] = Counter()
    for user, _, _, clicked, purchased, _ in tables["user_event"]:
        clicks[variant[user]] += int(str(clicked))
        bought[variant[user]] += int(str(purchased))
    rate = {v: bought[v] / clicks[v] for v in ("control", "test")}
    assert 0.02 < rate["test"] / rate["control"] - 1 < 0.4, rate


def test_spend_varies_by_channel_and_season(default: tuple[Manifest, Tables]) -> None:
    spend: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    weekend: defaultdict[bool, list[float]] = defaultdict(list)
    for day, channel, _, _, amount in default[1]["ad_spend"]:
        spend[(str(channel), str(day)[:7])].append(float(str(amount)))
        if channel == "Google":
            weekend[date.fromisoformat(str(day)).weekday() >= 5].append(float(str(amount)))

    def daily(channel: str, *months: int) -> float:
        values = [v for m in months for v in spend[(channel, f"2019-{m:02d}")]]
        return sum(values) / len(values)

    assert daily("Youtube", 7, 8) > 1.4 * daily("Youtube", 5, 6, 9, 10)  # summer campaign
    assert daily("Facebook", 11) > 1.5 * daily("Facebook", 5, 6)  # the November season
    assert daily("Instagram", 11) > 1.5 * daily("Instagram", 5, 6)
    assert daily("Naver", 9) > 1.4 * daily("Naver", 8, 10)  # the September holidays
    assert sum(weekend[True]) / len(weekend[True]) < 0.85 * sum(weekend[False]) / len(
        weekend[False])


def test_planted_anomalies_change_only_what_they_plant(tmp_path: Path) -> None:
    """--plant-anomalies draws every random number the default data set draws: only Naver's
    last-day spend (ten times) and Google's transactions of three days before (gone) differ."""
    plain, planted = tmp_path / "plain", tmp_path / "planted"
    generate(plain, scale=0.2)
    manifest = generate(planted, scale=0.2, plant_anomalies=True)
    assert {(p["channel"], p["date"]) for p in manifest.planted} == {
        ("Naver", "2019-11-30"), ("Google", "2019-11-27")}
    for name in ("user_session_channel", "session_timestamp", "nps", "user_event"):
        assert (plain / f"{name}.csv").read_bytes() == (planted / f"{name}.csv").read_bytes()
    spend = {(r[0], r[1]): r for r in _rows(plain, "ad_spend")}
    changed = [(r, spend[(r[0], r[1])]) for r in _rows(planted, "ad_spend")
               if r != spend[(r[0], r[1])]]
    [(typo, drawn)] = changed
    assert typo[:2] == ("2019-11-30", "Naver") and typo[2:4] == drawn[2:4]
    assert round(float(str(typo[4])), 2) == round(10 * float(str(drawn[4])), 2)
    channel = {r[1]: r[2] for r in _rows(plain, "user_session_channel")}
    day = {r[0]: str(r[1])[:10] for r in _rows(plain, "session_timestamp")}
    before = set(_rows(plain, "session_transaction"))
    after = set(_rows(planted, "session_transaction"))
    lost = before - after
    assert lost and after < before
    assert {(channel[r[0]], day[r[0]]) for r in lost} == {("Google", "2019-11-27")}
    kept = {(channel[r[0]], day[r[0]]) for r in _rows(planted, "session_transaction")}
    assert ("Google", "2019-11-27") not in kept


def _acquisitions(tables: Tables) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """user -> (timestamp, channel) of their first paid session (an amount above 0, ties by
    session_id: where new_paying_users counts them), and user -> the timestamps of their
    conversions (paid, not refunded), in time order."""
    transactions = {str(r[0]): (r[1] == "true", int(str(r[2])))
                    for r in tables["session_transaction"]}
    first: dict[str, tuple[str, str]] = {}
    conversions: defaultdict[str, list[str]] = defaultdict(list)
    for user, rows in _sessions_by_user(tables).items():
        for ts, session, channel in rows:
            refunded, amount = transactions.get(session, (False, 0))
            if amount > 0:
                first.setdefault(user, (ts, channel))
                if not refunded:
                    conversions[user].append(ts)
    return first, conversions


def _net_revenue_by_user_month(tables: Tables) -> defaultdict[str, Counter[str]]:
    at = {str(r[0]): str(r[1]) for r in tables["session_timestamp"]}
    user = {str(r[1]): str(r[0]) for r in tables["user_session_channel"]}
    revenue: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for session, refunded, amount in tables["session_transaction"]:
        if refunded == "false":
            revenue[user[str(session)]][at[str(session)][:7]] += int(str(amount))
    return revenue


def test_youtube_customers_repeat_more(default: tuple[Manifest, Tables]) -> None:
    """Users acquired on Youtube (first paid session there) make clearly more repeat purchases
    (conversions after their first) than those of any other channel, buy more often per later
    session, and bring more net revenue from their first paid month on."""
    tables = default[1]
    first, conversions = _acquisitions(tables)
    revenue = _net_revenue_by_user_month(tables)
    acquired: defaultdict[str, list[str]] = defaultdict(list)
    for user, (_, channel) in first.items():
        acquired[channel].append(user)
    assert set(acquired) == CHANNELS and len(acquired["Youtube"]) >= 20

    def per_user(users: list[str]) -> tuple[float, float]:
        repeats = sum(max(0, len(conversions[u]) - 1) for u in users)
        worth = sum(v for u in users for month, v in revenue[u].items()
                    if month >= first[u][0][:7])
        return repeats / len(users), worth / len(users)

    youtube = per_user(acquired["Youtube"])
    others = per_user([u for c in CHANNELS - {"Youtube"} for u in acquired[c]])
    assert youtube[0] > 1.4 * others[0], (youtube, others)
    for channel in CHANNELS - {"Youtube"}:
        repeats, worth = per_user(acquired[channel])
        assert youtube[0] > 1.4 * repeats and youtube[1] > 1.3 * worth, (channel, youtube)
    # per session after the first paid one: Youtube's customers buy about twice as often
    paid = {str(r[0]) for r in tables["session_transaction"] if int(str(r[2])) > 0}
    later: Counter[str] = Counter()
    bought: Counter[str] = Counter()
    for user, rows in _sessions_by_user(tables).items():
        if user in first:
            after = [s for ts, s, _ in rows if ts > first[user][0]]
            later[first[user][1]] += len(after)
            bought[first[user][1]] += sum(s in paid for s in after)
    rate = {c: bought[c] / later[c] for c in CHANNELS}
    assert all(rate["Youtube"] > 1.6 * rate[c] for c in CHANNELS - {"Youtube"}), rate


def _cac_payback(tables: Tables) -> dict[tuple[str, str], tuple[float, list[float]]]:
    """cac_payback_monthly by the contract, in Python: (cohort month, channel) -> (CAC, the
    cumulative net revenue per user at months since 0, 1, ... up to the last month)."""
    first, _ = _acquisitions(tables)
    revenue = _net_revenue_by_user_month(tables)
    spend: Counter[tuple[str, str]] = Counter()
    for day, channel, _, _, amount in tables["ad_spend"]:
        spend[(str(day)[:7], str(channel))] += float(str(amount))
    members: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for user, (ts, channel) in first.items():
        members[(ts[:7], channel)].append(user)
    months = [f"2019-{m:02d}" for m in range(5, 12)]
    cohorts = {}
    for (month, channel), users in members.items():
        cumulative, total = [], 0
        for later in months[months.index(month):]:
            total += sum(revenue[u][later] for u in users)
            cumulative.append(total / len(users))
        cohorts[(month, channel)] = (spend[(month, channel)] / len(users), cumulative)
    return cohorts


def test_search_wins_paying_users_cheaply_and_pays_back_first(
        default: tuple[Manifest, Tables]) -> None:
    """Search's spend per new paying user (CAC, whole period) is a fraction of every social
    and video channel's; in cac_payback_monthly nearly every search cohort has paid back by
    its second month, few social or video cohorts have, and Youtube's May cohort is worth the
    most per user by November."""
    tables = default[1]
    first, _ = _acquisitions(tables)
    new_paying = Counter(channel for _, channel in first.values())
    spend: Counter[str] = Counter()
    for _, channel, _, _, amount in tables["ad_spend"]:
        spend[str(channel)] += float(str(amount))
    cac = {c: spend[c] / new_paying[c] for c in PAID}
    search, others = ("Google", "Naver"), ("Facebook", "Instagram", "Youtube")
    assert max(cac[c] for c in search) < 0.3 * min(cac[c] for c in others), cac
    cohorts = _cac_payback(tables)

    def paid_back_by_month_1(channels: tuple[str, ...]) -> float:
        mine = [(c, ltv) for (_, channel), (c, ltv) in cohorts.items() if channel in channels]
        return sum(any(v >= c for v in ltv[:2]) for c, ltv in mine) / len(mine)

    assert paid_back_by_month_1(search) >= 0.8 and paid_back_by_month_1(others) <= 0.3
    may = {channel: ltv[-1] for (month, channel), (_, ltv) in cohorts.items()
           if month == "2019-05"}
    assert max(may, key=lambda c: may[c]) == "Youtube", may


def test_youtube_loyalty_only_adds_purchases(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repeat purchases of Youtube's customers come from a stream of their own: without
    them every file is the same but session_transaction, which lacks exactly some of their
    purchases after their first paid session."""
    generate(tmp_path / "loyal", scale=0.2)
    monkeypatch.setattr(generator, "REPEAT_FACTOR", {})
    generate(tmp_path / "plain", scale=0.2)
    for table in RAW_TABLES:
        if table.name != "session_transaction":
            assert _rows(tmp_path / "plain", table.name) == _rows(tmp_path / "loyal", table.name)
    plain = set(_rows(tmp_path / "plain", "session_transaction"))
    loyal = set(_rows(tmp_path / "loyal", "session_transaction"))
    added = loyal - plain
    assert plain < loyal and len(added) >= 10
    first, _ = _acquisitions(read_tables(tmp_path / "loyal"))
    at = {r[0]: r[1] for r in _rows(tmp_path / "loyal", "session_timestamp")}
    user = {r[1]: r[0] for r in _rows(tmp_path / "loyal", "user_session_channel")}
    for session, _, _ in added:
        ts, channel = first[user[session]]
        assert channel == "Youtube" and at[session] > ts
