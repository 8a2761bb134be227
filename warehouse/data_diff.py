"""The data diff of a change: what slim CI built, against production, as Markdown.

Slim CI builds the marts a change touches into `<schema>_*` schemas. For each of those marts
(from the slim build's run_results.json and manifest.json) this compares the relation with
production's (named by the production manifest in the state directory, else the same name
without the `<schema>_` prefix):

- row counts before (production) and after (this change), and how many rows are only in one
  of them, over the columns both have with the same type (EXCEPT, both ways);
- for an attribution mart (a grain with `attribution_model`, credit in `attributed_*` columns)
  every row of its grain whose credit moved by more than the threshold, relative to production,
  largest first, capped; a row new in this change (no credit before) counts as an infinite
  move, a vanished one as -100%.

Both sides are in one warehouse, so each comparison is one query run there (portable SQL:
count, EXCEPT, FULL OUTER JOIN); only the rows that differ come back. The Markdown goes to the
terminal and, in GitHub Actions, to the job's summary page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2

MODEL_COLUMN = "attribution_model"  # in the grain of an attribution mart
CREDIT_PREFIX = "attributed_"  # its credit columns
GRAIN_TEST = "unique_combination_of_columns"


class DataDiffError(Exception):
    """The diff cannot run (no slim CI build to compare); the message is one line."""


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str

    def sql(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class ChangedMart:
    """A mart the slim build built: its relation there, production's, and its grain."""

    name: str
    after: Relation
    before: Relation
    grain: tuple[str, ...] = ()


@dataclass(frozen=True)
class CreditMove:
    """One row of an attribution mart's grain whose credit differs from production's."""

    key: tuple[str, ...]
    before: tuple[Decimal, ...]  # per credit column; 0 where production has no row
    after: tuple[Decimal, ...]  # 0 where this change has no row
    status: str = "changed"  # or "new" (only in this change), "gone" (only in production)

    @property
    def change(self) -> float:
        """The largest relative change over the credit columns (inf from 0 to anything)."""
        pairs = zip(self.before, self.after, strict=True)
        return max((relative_change(before, after) for before, after in pairs), default=0.0)


@dataclass
class MartDiff:
    """What differs between one changed mart and production's."""

    mart: ChangedMart
    rows_after: int
    rows_before: int | None  # None: production has no such relation
    only_before: int = 0  # rows (over the shared columns) production has and this change not
    only_after: int = 0
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    columns_retyped: list[str] = field(default_factory=list)
    credit_columns: tuple[str, ...] = ()
    moves: list[CreditMove] = field(default_factory=list)  # every row whose credit differs

    def moved(self, threshold: float) -> list[CreditMove]:
        """The rows whose credit moved by more than `threshold` percent, largest first."""
        return sorted((move for move in self.moves if move.change > threshold / 100),
                      key=lambda move: (-move.change, move.key))

    @property
    def identical(self) -> bool:
        return (self.rows_before == self.rows_after and not self.only_before
                and not self.only_after and not self.columns_added
                and not self.columns_removed and not self.columns_retyped)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def relative_change(before: Decimal, after: Decimal) -> float:
    """|after - before| / |before|; inf when before is 0 and after is not."""
    if before == after:
        return 0.0
    if before == 0:
        return math.inf
    return float(abs(after - before) / abs(before))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataDiffError(f"{path} not found: run slim CI first (warehouse slim-ci)") from None
    except ValueError as exc:
        raise DataDiffError(f"{path}: not JSON ({exc})") from None


def _grain(manifest: Mapping[str, Any], unique_id: str) -> tuple[str, ...]:
    for node in manifest.get("nodes", {}).values():
        meta = node.get("test_metadata") or {}
        if node.get("attached_node") == unique_id and meta.get("name") == GRAIN_TEST:
            return tuple(meta.get("kwargs", {}).get("combination_of_columns", ()))
    return ()


def _is_mart(node: Mapping[str, Any]) -> bool:
    fqn = node.get("fqn", [])
    return node.get("resource_type") == "model" and len(fqn) > 1 and fqn[1] == "marts"


def changed_marts(ci_target: Path, state_dir: Path, schema: str
                  ) -> tuple[list[ChangedMart], list[str]]:
    """The marts the slim build in `ci_target` built, each with production's relation; and the
    marts production's manifest has that this change no longer has (removed)."""
    manifest = _read_json(ci_target / "manifest.json")
    results = _read_json(ci_target / "run_results.json")
    production_file = state_dir / "manifest.json"
    production = _read_json(production_file) if production_file.exists() else None
    built = {result["unique_id"] for result in results.get("results", [])
             if result.get("status") == "success"}
    prefix = f"{schema}_"
    marts = []
    for unique_id in sorted(built):
        node = manifest["nodes"].get(unique_id)
        if node is None or not _is_mart(node):
            continue
        after = Relation(node["schema"], node.get("alias") or node["name"])
        prod_node = (production or {}).get("nodes", {}).get(unique_id)
        if prod_node is not None:
            before = Relation(prod_node["schema"], prod_node.get("alias") or prod_node["name"])
        else:
            before = Relation(after.schema.removeprefix(prefix), after.name)
        marts.append(ChangedMart(node["name"], after, before, _grain(manifest, unique_id)))
    removed = sorted(
        node["name"] for unique_id, node in (production or {}).get("nodes", {}).items()
        if _is_mart(node) and unique_id not in manifest["nodes"])
    return sorted(marts, key=lambda mart: mart.name), removed


Columns = dict[str, tuple[Any, ...]]  # name -> its type, in column order


def _columns(cur: Any, relation: Relation) -> Columns:
    cur.execute(
        "select column_name, data_type, character_maximum_length, numeric_precision,"
        " numeric_scale from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position",
        (relation.schema, relation.name))
    return {str(row[0]): tuple(row[1:]) for row in cur.fetchall()}


def _count(cur: Any, sql: str) -> int:
    cur.execute(sql)
    return int(cur.fetchone()[0])


def _decimal(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def _credit_moves(cur: Any, mart: ChangedMart, key: Sequence[str],
                  credit: Sequence[str]) -> list[CreditMove]:
    """Every row of the grain whose credit differs (or that only one side has)."""
    on = " and ".join(f"b.{quote(k)} = a.{quote(k)}" for k in key)
    first = quote(key[0])
    differs = " or ".join(
        f"coalesce(b.{quote(c)}, 0) <> coalesce(a.{quote(c)}, 0)" for c in credit)
    cur.execute(
        "select "
        + ", ".join(f"coalesce(b.{quote(k)}, a.{quote(k)})" for k in key) + ", "
        + ", ".join(f"b.{quote(c)}, a.{quote(c)}" for c in credit) + ", "
        + f"b.{first} is not null, a.{first} is not null"
        + f" from {mart.before.sql()} as b full outer join {mart.after.sql()} as a on {on}"
        + f" where b.{first} is null or a.{first} is null or {differs}")
    moves = []
    for row in cur.fetchall():
        keys, values, (in_before, in_after) = row[:len(key)], row[len(key):-2], row[-2:]
        moves.append(CreditMove(
            key=tuple(str(value) for value in keys),
            before=tuple(_decimal(value) for value in values[0::2]),
            after=tuple(_decimal(value) for value in values[1::2]),
            status="changed" if in_before and in_after else ("new" if in_after else "gone")))
    return moves


def diff_mart(cur: Any, mart: ChangedMart) -> MartDiff:
    """Compare one changed mart with production's."""
    after_columns = _columns(cur, mart.after)
    if not after_columns:
        raise DataDiffError(f"{mart.after} does not exist: was the slim CI build dropped?")
    rows_after = _count(cur, f"select count(*) from {mart.after.sql()}")
    before_columns = _columns(cur, mart.before)
    if not before_columns:
        return MartDiff(mart, rows_after, None, only_after=rows_after)
    shared = [name for name in after_columns if name in before_columns]
    same_type = [name for name in shared if after_columns[name] == before_columns[name]]
    result = MartDiff(
        mart, rows_after, _count(cur, f"select count(*) from {mart.before.sql()}"),
        columns_added=[name for name in after_columns if name not in before_columns],
        columns_removed=[name for name in before_columns if name not in after_columns],
        columns_retyped=[name for name in shared if name not in same_type])
    if same_type:
        listed = ", ".join(map(quote, same_type))

        def only_in(first: Relation, second: Relation) -> int:
            return _count(cur, f"select count(*) from (select {listed} from {first.sql()}"
                               f" except select {listed} from {second.sql()}) as only_in_one")

        result.only_before = only_in(mart.before, mart.after)
        result.only_after = only_in(mart.after, mart.before)
    credit = tuple(name for name in same_type if name.startswith(CREDIT_PREFIX))
    if MODEL_COLUMN in mart.grain and credit and all(k in same_type for k in mart.grain):
        result.credit_columns = credit
        result.moves = _credit_moves(cur, mart, mart.grain, credit)
    return result


def diff(uri: str, marts: Sequence[ChangedMart]) -> list[MartDiff]:
    """Compare every changed mart with production's, in one read-only transaction."""
    conn = psycopg2.connect(uri)
    try:
        conn.set_session(readonly=True)
        with conn, conn.cursor() as cur:
            return [diff_mart(cur, mart) for mart in marts]
    finally:
        conn.close()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _number(value: Decimal) -> str:
    return f"{value:,.2f}"


def _signed(before: int | None, after: int) -> str:
    if before is None:
        return f"{after:,} (new)"
    change = after - before
    return f"{after:,}" + (f" ({change:+,})" if change else "")


def _percent(move: CreditMove, before: Decimal, after: Decimal) -> str:
    if before == 0:
        return "0" if after == 0 else ("new" if move.status == "new" else "from 0")
    return f"{100 * (after - before) / abs(before):+.1f}%"


def markdown(diffs: Sequence[MartDiff], removed: Sequence[str], *, schema: str,
             threshold: float, limit: int, notes: Sequence[str] = ()) -> str:
    """The summary a reviewer reads: per changed mart its row counts before and after, and per
    attribution mart the credit that moved by more than `threshold` percent, largest first."""
    lines = [f"## Data diff: `{schema}` against production", ""]
    lines += [f"> {note}\n" for note in notes]
    if not diffs and not removed:
        lines.append("Slim CI built no mart: nothing to compare.")
        return "\n".join(lines) + "\n"
    differing = [d for d in diffs if not d.identical]
    if diffs:
        lines.append(
            f"{len(diffs)} mart(s) built by this change; "
            + (f"**{len(differing)} differ from production.**" if differing else
               "**all identical to production** (same row counts, no row differs)."))
        lines += ["", "| mart | rows in production | rows in this change | rows only in "
                  "production | rows only in this change |", "|---|---:|---:|---:|---:|"]
        for d in diffs:
            before = "—" if d.rows_before is None else f"{d.rows_before:,}"
            lines.append(f"| `{d.mart.name}` | {before} | {_signed(d.rows_before, d.rows_after)}"
                         f" | {d.only_before:,} | {d.only_after:,} |")
        for d in diffs:
            for what, names in (("added", d.columns_added), ("removed", d.columns_removed),
                                ("with another type", d.columns_retyped)):
                if names:
                    lines.append(f"\n`{d.mart.name}`: columns {what}: "
                                 + ", ".join(f"`{name}`" for name in names))
    if removed:
        lines.append("\nMarts in production that this change removes: "
                     + ", ".join(f"`{name}`" for name in removed))
    for d in diffs:
        if d.credit_columns:
            lines += ["", *_credit_section(d, threshold, limit)]
    return "\n".join(lines) + "\n"


def _credit_section(d: MartDiff, threshold: float, limit: int) -> list[str]:
    moved = d.moved(threshold)
    grain = ", ".join(d.mart.grain)
    title = f"### `{d.mart.name}`: credit moved by more than {threshold:g}%"
    if not moved:
        small = f" ({len(d.moves)} row(s) moved by {threshold:g}% or less)" if d.moves else ""
        return [title, "", f"No row of ({grain}) moved by more than {threshold:g}%{small}."]
    shown = moved[:limit]
    rest = len(moved) - len(shown)
    lines = [title, "",
             f"{len(moved):,} row(s) of ({grain}) moved, largest first; "
             f"{len(shown):,} shown" + (f", {rest:,} more not shown" if rest else "")
             + (f" ({len(d.moves) - len(moved):,} more moved by {threshold:g}% or less)"
                if len(d.moves) > len(moved) else "") + ".",
             "",
             "| " + " | ".join([*d.mart.grain, *(f"{c}: before → after (change)"
                                                 for c in d.credit_columns)]) + " |",
             "|" + "---|" * len(d.mart.grain) + "---:|" * len(d.credit_columns)]
    for move in shown:
        cells = [_cell(value) for value in move.key] + [
            f"{_number(b)} → {_number(a)} ({_percent(move, b, a)})"
            for b, a in zip(move.before, move.after, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def run(uri: str, ci_target: Path, state_dir: Path, schema: str, *,
        threshold: float = 1.0, limit: int = 20) -> str:
    """The data diff of the slim build in `ci_target` against production, as Markdown."""
    if threshold < 0 or limit < 0:
        raise DataDiffError("the threshold and the limit must not be negative")
    marts, removed = changed_marts(ci_target, state_dir, schema)
    notes = [] if (state_dir / "manifest.json").exists() else [
        f"No production manifest in `{state_dir}`: slim CI built everything, and production is "
        f"taken to be the same relations without the `{schema}_` prefix, as they are now."]
    return markdown(diff(uri, marts), removed, schema=schema, threshold=threshold, limit=limit,
                    notes=notes)
