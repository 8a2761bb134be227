"""Redshift dry run: what a real `dbt build` on Redshift would send, captured and checked.

`dry_run` runs `dbt build` on the `prod` and `ci` targets through the real dbt-redshift
adapter, twice each (a first build into an empty cluster, then a second, incremental one),
and the run-operations, in a dbt child process (`warehouse.dbt`) where `install_standin`
has replaced `redshift_connector.connect` with `StandinConnection`: a driver that records
every statement and answers dbt's metadata questions (schemas, relations, columns, the
columns of a query) from the local build's catalog, so each materialization takes its
real code path (contract DDL, incremental delete+insert, snapshot merge, grants,
persist_docs comments, hooks). Nothing is sent anywhere.

`check` then holds every captured statement to three rules: it parses in sqlfluff's
`redshift` dialect, it uses nothing Redshift lacks (its list of unsupported PostgreSQL
features, functions and types, and the constructs in `UNSUPPORTED`), and it grants to
roles with Redshift's `role <name>` syntax. Nodes dbt itself failed on are findings too.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warehouse.dbt import STANDIN_ENV, Dbt, DbtError, Target, redshift_target, write_profiles
from warehouse.scheduled import TOKEN_ENV

DATABASE = "dev"  # the Redshift targets' dbname
CI_SCHEMA = "pr_0"  # the ci target's schema: every dbt schema becomes pr_0_<name>

# ---------------------------------------------------------------------------------------
# What Redshift lacks. Checked on statements with comments and string literals blanked.

UNSUPPORTED: dict[str, re.Pattern[str]] = {
    # Redshift's "Unsupported PostgreSQL features"
    "an index (Redshift has none: use sort keys)": re.compile(
        r"\bcreate\s+(unique\s+)?index\b|\breindex\b", re.I),
    "table partitioning": re.compile(r"\bpartition\s+of\b|\bpartition\s+by\s+(range|list|hash)\b",
                                     re.I),
    "a tablespace": re.compile(r"\btablespace\b", re.I),
    "a check or exclusion constraint": re.compile(r"\bcheck\s*\(|\bexclude\s+using\b", re.I),
    "table inheritance": re.compile(r"\binherits\s*\(", re.I),
    "a collation": re.compile(r"\bcollate\b", re.I),
    "an array constructor or subscript": re.compile(r"\barray\s*\[|\w\s*\[\s*\d+\s*\]", re.I),
    "a row constructor": re.compile(r"\brow\s*\(", re.I),
    "a trigger": re.compile(r"\bcreate\s+(or\s+replace\s+)?(constraint\s+)?trigger\b", re.I),
    "foreign data (SQL/MED)": re.compile(r"\bcreate\s+(foreign\s+table|server)\b", re.I),
    "a VALUES list as a table": re.compile(r"\b(from|join)\s*\(\s*values\b", re.I),
    "a sequence": re.compile(r"\bcreate\s+sequence\b|\bnextval\s*\(|\b(big|small)?serial\b", re.I),
    "full text search": re.compile(r"\bto_tsvector\s*\(|\bto_tsquery\s*\(|@@", re.I),
    # Unsupported PostgreSQL functions, data types and syntax
    "DISTINCT ON": re.compile(r"\bdistinct\s+on\s*\(", re.I),
    "FILTER (WHERE ...)": re.compile(r"\bfilter\s*\(\s*where\b", re.I),
    "string_agg": re.compile(r"\bstring_agg\s*\(", re.I),
    "array_agg": re.compile(r"\barray_agg\s*\(", re.I),
    "generate_series": re.compile(r"\bgenerate_series\s*\(", re.I),
    "a json or jsonb value (Redshift has SUPER)": re.compile(r"\bjsonb?\b|->>?", re.I),
    "a data type Redshift lacks (uuid, bytea, money, xml, inet, an array type)": re.compile(
        r"(::|\bas\s+|\w\s+)(uuid|bytea|money|xml|inet|cidr|macaddr|tsvector)\b|"
        r"\b(int|integer|bigint|text|varchar|numeric)\s*\[\s*\]", re.I),
    "ON CONFLICT": re.compile(r"\bon\s+conflict\b", re.I),
    "IS DISTINCT FROM": re.compile(r"\bis\s+(not\s+)?distinct\s+from\b", re.I),
    "LATERAL": re.compile(r"\blateral\b", re.I),
    "unlogged table": re.compile(r"\bunlogged\b", re.I),
    "an anonymous code block (DO)": re.compile(r"^\s*do\s+(''|\$)", re.I | re.M),
    "an advisory lock": re.compile(r"\bpg_(try_)?advisory_\w*\s*\(", re.I),
    "a date/time function Redshift lacks (clock_timestamp, transaction_timestamp, pg_sleep)":
        re.compile(r"\b(clock_timestamp|transaction_timestamp|pg_sleep)\s*\(", re.I),
    "a function newer than Redshift's PostgreSQL 8.0 (to_regclass, pg_postmaster_start_time)":
        re.compile(r"\b(to_regclass|pg_postmaster_start_time)\s*\(", re.I),
    "a PostgreSQL-only setting": re.compile(
        r"^\s*set\s+(local\s+)?(work_mem|maintenance_work_mem|hash_mem_multiplier|jit)\b", re.I),
}
_WINDOW_AGGREGATE = re.compile(
    r"\b(sum|avg|count|min|max|stddev|stddev_samp|stddev_pop|variance|var_samp|var_pop"
    r"|listagg|median)\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*over\s*\(",
    re.I,
)
_FRAME = re.compile(r"\b(rows|range)\s+(between|unbounded|current)\b", re.I)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_LITERALS = re.compile(r"'(?:[^']|'')*'|\$(\w*)\$.*?\$\1\$", re.S)
# literals and comments in one left-to-right pass: `--` inside a literal is not a comment
_LITERALS_OR_COMMENTS = re.compile(rf"{_LITERALS.pattern}|{_COMMENTS.pattern}", re.S)

WINDOW_WITHOUT_FRAME = "a window aggregate with ORDER BY and no explicit frame"


def blank(sql: str) -> str:
    """sql with comments and string literals blanked (line breaks kept)."""
    def keep_lines(match: re.Match[str]) -> str:
        return "''" if match.group(0).startswith(("'", "$")) else "\n" * match.group(0).count("\n")
    return _LITERALS_OR_COMMENTS.sub(keep_lines, sql)


def unsupported(sql: str) -> list[tuple[int, str]]:
    """(line, construct) for everything in sql that Redshift lacks."""
    text = blank(sql)
    found = [(_line(text, match.start()), construct)
             for construct, pattern in UNSUPPORTED.items()
             for match in pattern.finditer(text)]
    for match in _WINDOW_AGGREGATE.finditer(text):
        window = _parenthesised(text, match.end() - 1)
        if re.search(r"\border\s+by\b", window, re.I) and not _FRAME.search(window):
            found.append((_line(text, match.start()), WINDOW_WITHOUT_FRAME))
    return sorted(found)


_GRANT = re.compile(r"^\s*(grant|revoke)\b(?P<what>.*?)\b(to|from)\s+(?P<who>.+?)\s*;?\s*$",
                    re.I | re.S)


def grantee_problems(sql: str, roles: Iterable[str]) -> list[str]:
    """What is wrong with the grantees of a GRANT or REVOKE on Redshift ([] if nothing).

    Redshift grants to a role as `role <name>` (to a group as `group <name>`); a bare name is
    a user, and `role:<name>` is dbt's config spelling, not SQL.
    """
    match = _GRANT.match(blank(sql))
    if not match:
        return []
    who = re.sub(r"\bwith\s+grant\s+option\b|\bcascade\b|\brestrict\b", "", match["who"],
                 flags=re.I)
    roles = {role.lower() for role in roles}
    problems = []
    for grantee in (part.strip() for part in who.split(",")):
        words = grantee.lower().replace('"', "").split()
        if ":" in grantee:
            problems.append(f"grantee '{grantee}' is dbt config syntax; Redshift needs "
                            f"'role {grantee.split(':', 1)[1].strip()}'")
        elif len(words) == 1 and words[0] in roles:
            problems.append(f"grantee '{grantee}' is a role, but without the keyword Redshift "
                            f"takes it for a user: write 'role {grantee}'")
    return problems


@functools.cache
def _linter() -> Any:
    from sqlfluff.core import FluffConfig, Linter

    return Linter(config=FluffConfig(overrides={"dialect": "redshift", "templater": "raw"}))


def parse_problem(sql: str) -> str | None:
    """Why sqlfluff's redshift dialect cannot parse sql (None when it can)."""
    parsed = _linter().parse_string(sql)
    errors = [error for error in parsed.violations]
    unparsable = list(parsed.tree.recursive_crawl("unparsable")) if parsed.tree else []
    if errors:
        error = errors[0]
        return f"line {error.line_no}: {error.desc()}"
    if unparsable:
        segment = unparsable[0]
        line = segment.pos_marker.line_no if segment.pos_marker else 0
        return f"line {line}: cannot parse {segment.raw[:80]!r}"
    return None


def check_sql(sql: str, roles: Iterable[str] = (), parse: bool = True) -> list[str]:
    """Every reason Redshift would reject sql ([] when there is none)."""
    reasons = [f"line {line}: {construct} is not supported by Redshift"
               for line, construct in unsupported(sql)]
    reasons += grantee_problems(sql, roles)
    problem = parse_problem(for_parsing(sql)) if parse else None
    if problem:
        reasons.append(f"does not parse as Redshift SQL ({problem})")
    return reasons


# Valid Redshift that sqlfluff's redshift dialect cannot parse (sqlfluff 4.4), rewritten to
# an equivalent it can before parsing, so the rest of the statement is still checked.
SQLFLUFF_GAPS: list[tuple[re.Pattern[str], str]] = [
    # dbt-redshift's column lookup: a column definition list after a set-returning function
    (re.compile(r"(pg_get_late_binding_view_cols\(\))\s*cols\s*\([^)]*\)", re.I),
     r"\1 as cols"),
]


def for_parsing(sql: str) -> str:
    """sql as sqlfluff's raw templater can read it: bind parameters become literals, and
    the constructs in SQLFLUFF_GAPS are rewritten."""
    text = re.sub(r"%s", "null", sql)
    for pattern, replacement in SQLFLUFF_GAPS:
        text = pattern.sub(replacement, text)
    return text


def shape(sql: str) -> str:
    """sql with comments, string literals and quoted names blanked: statements of one shape
    parse alike, so only one of them is parsed."""
    return re.sub(r'"[^"]*"', '""', blank(sql))


# ---------------------------------------------------------------------------------------
# The stand-in driver (runs inside the dbt child process).

# Type names (PostgreSQL's catalog spelling and the ones casts use) -> the OID
# redshift_connector reports in cursor.description.
_TYPE_OIDS = {
    "boolean": 16, "bool": 16, "bigint": 20, "int8": 20, "smallint": 21, "int2": 21,
    "integer": 23, "int": 23, "int4": 23, "text": 25, "real": 700, "float4": 700,
    "double precision": 701, "float8": 701, "float": 701, "character varying": 1043,
    "varchar": 1043, "character": 1042, "char": 1042, "bpchar": 1042, "date": 1082,
    "timestamp without time zone": 1114, "timestamp": 1114,
    "timestamp with time zone": 1184, "timestamptz": 1184, "numeric": 1700,
    "decimal": 1700, "time": 1083,
}


def type_oid(type_name: str) -> int:
    base = re.sub(r"\(.*?\)", "", type_name.lower()).strip()
    return _TYPE_OIDS.get(base, 25)


@dataclass
class Column:
    name: str
    type: str  # PostgreSQL spelling, e.g. 'character varying(32)'

    def information_schema_row(self) -> tuple[Any, ...]:
        """(column_name, data_type, character_maximum_length, numeric_precision, scale)."""
        base = re.sub(r"\(.*?\)", "", self.type).strip()
        numbers = [int(n) for n in re.findall(r"\d+", self.type)]
        length = numbers[0] if base.startswith("character") and numbers else None
        precision = numbers[0] if base == "numeric" and numbers else None
        scale = numbers[1] if base == "numeric" and len(numbers) > 1 else None
        return (self.name, base, length, precision, scale)


@dataclass
class Catalog:
    """The local build's relations and columns, by (schema, name), and by dbt node id."""

    relations: dict[tuple[str, str], tuple[str, list[Column]]] = field(default_factory=dict)
    nodes: dict[str, list[Column]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Catalog:
        catalog = cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        for unique_id, node in {**data["nodes"], **data["sources"]}.items():
            meta = node["metadata"]
            columns = [Column(column["name"], column["type"]) for column in
                       sorted(node["columns"].values(), key=lambda column: column["index"])]
            kind = "view" if meta["type"].upper() == "VIEW" else "table"
            catalog.relations[(meta["schema"], meta["name"])] = (kind, columns)
            catalog.nodes[unique_id] = columns
        return catalog

    def columns(self, schema: str | None, name: str) -> list[Column]:
        """A relation's columns; dbt's __dbt_tmp / __dbt_backup relations have those of the
        relation they stand in for; a temporary table (no schema) is looked up by name."""
        base = re.sub(r"__dbt_(tmp|backup)\w*$", "", name)
        for (rel_schema, rel_name), (_, columns) in self.relations.items():
            if rel_name == base and (schema is None or rel_schema == schema):
                return columns
        return []


@dataclass
class StandinState:
    """What the pretend cluster holds: schemas and relations, updated by the DDL dbt sends."""

    catalog: Catalog
    prefix: str  # the ci target's schema prefix ('pr_0_'), '' on prod
    roles_exist: bool
    privileged: bool = True  # what the hooks' privilege checks are told (can create, grant)
    schemas: set[str] = field(default_factory=set)
    relations: dict[tuple[str, str], str] = field(default_factory=dict)  # -> 'table' | 'view'
    temporary: dict[str, list[Column]] = field(default_factory=dict)  # a unit test's result
    lock: threading.Lock = field(default_factory=threading.Lock)

    def local_schema(self, schema: str) -> str:
        return schema[len(self.prefix):] if self.prefix and schema.startswith(self.prefix) \
            else schema


_RELATION = r'((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+)){0,2})'
_CREATE = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?(?:temporary\s+|temp\s+)?"
                     r"(table|view)\s+(?:if\s+not\s+exists\s+)?" + _RELATION, re.I)
_RENAME = re.compile(r"^\s*alter\s+(table|view)\s+" + _RELATION + r"\s+rename\s+to\s+"
                     r'("[^"]+"|\w+)\s*;?\s*$', re.I)
_DROP = re.compile(r"^\s*drop\s+(table|view)\s+(?:if\s+exists\s+)?" + _RELATION, re.I)
_CREATE_SCHEMA = re.compile(r"^\s*create\s+schema\s+(?:if\s+not\s+exists\s+)?" + _RELATION,
                            re.I)
_NODE = re.compile(r'"(node_id|connection_name)":\s*"([^"]+)"')
HOOKS = "on-run-start/on-run-end hooks"
_EMPTY_PROBE = re.compile(r"\)\s*as\s+__dbt_sbq\s+where\s+false\s+limit\s+0\s*;?\s*$", re.I)
_CAST_NULL = re.compile(r"cast\s*\(\s*null\s+as\s+(.+?)\s*\)\s+as\s+(\"[^\"]+\"|\w+)", re.I)


def _parts(relation: str) -> list[str]:
    return [part.strip('"') for part in re.findall(r'"[^"]+"|\w+', relation)]


class StandinCursor:
    """A redshift_connector cursor that records and answers from StandinState."""

    def __init__(self, connection: StandinConnection) -> None:
        self.connection = connection
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self._rows: list[tuple[Any, ...]] = []

    def __enter__(self) -> StandinCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._rows = []

    def execute(self, sql: str, args: Any = None, **kwargs: Any) -> StandinCursor:
        node = _NODE.search(sql)
        if node:  # hooks run on the connection 'master', run-operations on 'macro_<name>'
            key, value = node.groups()
            self.connection.node = value if key == "node_id" else (
                HOOKS if value == "master" else f"connection {value}")
        self.connection.record(sql, args)
        columns, rows = self.connection.answer(sql)
        self.description = None if columns is None else [
            (name, oid, None, None, None, None, None) for name, oid in columns]
        self._rows = rows
        self.rowcount = len(rows) if columns is not None else 0
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows[: size or 1], self._rows[size or 1:]
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None


Answer = tuple[list[tuple[str, int]] | None, list[tuple[Any, ...]]]


class StandinConnection:
    """A redshift_connector connection to nowhere: records statements, answers metadata."""

    def __init__(self, state: StandinState, log: Path) -> None:
        self.state, self.log = state, log
        self.node = ""
        self.autocommit = False

    def cursor(self) -> StandinCursor:
        return StandinCursor(self)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass

    def record(self, sql: str, args: Any) -> None:
        text = sql
        if args:
            values = iter(args)
            text = re.sub(r"%s", lambda _: _literal(next(values, None)), sql)
        entry = json.dumps({"node": self.node, "sql": text}) + "\n"
        with self.state.lock, self.log.open("a", encoding="utf-8") as out:
            out.write(entry)

    # -- answers -----------------------------------------------------------------------

    def answer(self, sql: str) -> Answer:
        state = self.state
        text = _COMMENTS.sub(" ", sql).strip()
        lower = text.lower()
        with state.lock:
            self._track(text)
        if lower.startswith("select pg_backend_pid()"):
            return [("pg_backend_pid", 23)], [(4242,)]
        if re.search(r"\bas\s+(can_create_roles|can_grant)\s*$", lower):
            return [("allowed", 16)], [(state.privileged,)]
        if "from pg_namespace" in lower and "nspname" in lower and "count(" in lower:
            wanted = re.search(r"nspname\s*=\s*'([^']+)'", lower)
            exists = bool(wanted and wanted.group(1) in state.schemas)
            return [("count", 20)], [(int(exists),)]
        if "from pg_namespace" in lower and "nspname" in lower and "pg_proc" not in lower:
            return [("nspname", 1043)], [(name,) for name in sorted(state.schemas)]
        if "from information_schema.tables" in lower and "'table' as type" in lower:
            pattern = re.search(r"table_schema\s+ilike\s+'([^']+)'", text, re.I)
            schema = pattern.group(1).lower() if pattern else ""
            rows = [(DATABASE, name, rel_schema, kind)
                    for (rel_schema, name), kind in sorted(state.relations.items())
                    if rel_schema == schema]
            return [("database", 1043), ("name", 1043), ("schema", 1043), ("type", 1043)], rows
        if 'from information_schema."columns"' in lower or "pg_get_late_binding_view_cols" in lower:
            return self._columns(text)
        if _EMPTY_PROBE.search(text):
            return self._probe(text), []
        if "svv_roles" in lower:
            roles = re.findall(r"'([^']+)'", text.split(" in ", 1)[-1])
            return [("role_name", 1043)], [(role,) for role in roles] if state.roles_exist else []
        if self.node.startswith("test.") and re.search(r"\bas\s+failures\b", lower):
            return [("failures", 20), ("should_warn", 16), ("should_error", 16)], [(0, False,
                                                                                   False)]
        if "dbt_internal_unit_test_expected" in lower:  # a unit test's actual and expected rows
            return [(column.name, type_oid(column.type)) for column in self._node_columns()] + [
                ("actual_or_expected", 1043)], []
        if lower.startswith(("select", "with")):
            names = _output_names(text)
            return ([(name, 25) for name in names] if names else None), []
        return None, []

    def _track(self, text: str) -> None:
        state = self.state
        if match := _CREATE_SCHEMA.match(text):
            state.schemas.add(_parts(match.group(1))[-1].lower())
        elif match := _CREATE.match(text):
            parts = _parts(match.group(2))
            schema = parts[-2].lower() if len(parts) > 1 else "<temporary>"
            state.relations[(schema, parts[-1].lower())] = match.group(1).lower()
            if self.node.startswith("unit_test."):
                state.temporary[parts[-1].lower()] = self._node_columns()
        elif match := _RENAME.match(text):
            parts = _parts(match.group(2))
            schema = parts[-2].lower() if len(parts) > 1 else "<temporary>"
            kind = state.relations.pop((schema, parts[-1].lower()), match.group(1).lower())
            state.relations[(schema, match.group(3).strip('"').lower())] = kind
        elif match := _DROP.match(text):
            parts = _parts(match.group(2))
            schema = parts[-2].lower() if len(parts) > 1 else "<temporary>"
            state.relations.pop((schema, parts[-1].lower()), None)

    def _columns(self, text: str) -> Answer:
        name = re.search(r"table_name\s*=\s*'([^']+)'", text)
        schema = re.search(r"where\s+table_schema\s*=\s*'([^']+)'", text)
        local = self.state.local_schema(schema.group(1)) if schema else None
        columns = self.state.catalog.columns(local, name.group(1)) if name else []
        if name and not schema and name.group(1) in self.state.temporary:
            columns = self.state.temporary[name.group(1)]
        header = [("column_name", 1043), ("data_type", 1043),
                  ("character_maximum_length", 23), ("numeric_precision", 23),
                  ("numeric_scale", 23)]
        return header, [column.information_schema_row() for column in columns]

    def _probe(self, text: str) -> list[tuple[str, int]]:
        """The columns of `select * from (<sql>) as __dbt_sbq where false limit 0`: a
        contract's declared columns (casts of null) or the model's columns in the catalog."""
        inner = text[: _EMPTY_PROBE.search(text).start()]  # type: ignore[union-attr]
        casts = _CAST_NULL.findall(inner)
        if casts:
            return [(name.strip('"'), type_oid(kind)) for kind, name in casts]
        return [(column.name, type_oid(column.type)) for column in self._node_columns()]

    def _node_columns(self) -> list[Column]:
        """The columns of the current node's relation (a unit test's: its model's)."""
        node = self.node
        if node.startswith("unit_test."):  # unit_test.<package>.<model>.<test>
            package, model = node.split(".")[1:3]
            node = f"model.{package}.{model}"
        return self.state.catalog.nodes.get(node, [])


def _output_names(select: str) -> list[str]:
    """The output column names of a flat `select a, b as c ... from` (empty if not flat)."""
    match = re.match(r"^\s*select\s+(?:distinct\s+)?(.*?)\s+from\s", select, re.I | re.S)
    if not match:
        return []
    names, depth, current = [], 0, ""
    for char in match.group(1) + ",":
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            alias = re.search(r'(?:\bas\s+)?("?\w+"?)\s*$', current.strip(), re.I)
            names.append(alias.group(1).strip('"') if alias else current.strip())
            current = ""
        else:
            current += char
    return names


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def install_standin(workdir: Path) -> None:
    """In the dbt child process: replace redshift_connector.connect with the stand-in
    described by workdir/standin.json (catalog, schema prefix, what exists already)."""
    import redshift_connector

    settings = json.loads((workdir / "standin.json").read_text(encoding="utf-8"))
    catalog = Catalog.load(Path(settings["catalog"]))
    privileged = settings.get("privileged", True)
    # Unprivileged: a new cluster's case, where the access roles do not exist yet either.
    state = StandinState(catalog, settings["prefix"], settings["second_build"] and privileged,
                         privileged=privileged)
    if settings["second_build"]:  # everything the local build has, as this target names it
        state.schemas = {settings["prefix"] + schema for schema, _ in catalog.relations}
        state.relations = {(settings["prefix"] + schema if schema != "raw_data" else schema,
                            name): kind for (schema, name), (kind, _) in
                           catalog.relations.items()}
    state.schemas |= {"raw_data", "adhoc"}
    log = workdir / "statements.jsonl"

    def connect(*args: Any, **kwargs: Any) -> StandinConnection:
        return StandinConnection(state, log)

    redshift_connector.connect = connect  # type: ignore[assignment]


# ---------------------------------------------------------------------------------------
# The dry run and its report (the parent process).

@dataclass(frozen=True)
class Statement:
    """One statement dbt would send, and where it came from."""

    run: str  # e.g. 'prod, first build'
    node: str
    sql: str


@dataclass(frozen=True)
class Finding:
    """One reason Redshift would reject what a node sends."""

    run: str
    node: str
    statement: str
    reason: str

    def __str__(self) -> str:
        sql = re.sub(r"\s+", " ", _COMMENTS.sub(" ", self.statement)).strip()
        sql = sql if len(sql) <= 160 else sql[:157] + "..."
        return f"{self.run}: {self.node or '(no node)'}: {self.reason}\n    {sql}"


# The run-operations (macros/operations/): the target each runs on, and arguments that make
# it send what it would on Redshift.
OPERATIONS: dict[str, tuple[str, str]] = {
    "load_raw_data_from_s3": ("prod", "{s3_prefix: 's3://bucket/raw/2019-11-30/', "
                                      "iam_role: 'arn:aws:iam::123456789012:role/redshift-copy'}"),
    "report_table_health": ("prod", "{}"),
    "drop_ci_schemas": ("ci", "{}"),
    # what `warehouse build` reads before it selects (macros/incremental/node_builds.sql)
    "scheduled_build_state": ("prod", "{}"),
}


@dataclass
class DryRun:
    """Everything one dry run captured."""

    statements: list[Statement] = field(default_factory=list)
    failures: list[Finding] = field(default_factory=list)  # nodes dbt failed on
    seconds: dict[str, float] = field(default_factory=dict)


def dry_run(project_dir: Path, workdir: Path, catalog: Path,
            targets: Sequence[str] = ("prod", "ci"),
            operations: dict[str, tuple[str, str]] | None = None, parallel: int = 2,
            builds: bool = True, privileged: bool = True) -> DryRun:
    """dbt build (first and second; not with builds=False) on each target and the
    run-operations (on prod; default OPERATIONS), captured; the targets' runs side by side.
    privileged=False: a new cluster where the access roles are missing and the hooks'
    privilege checks hear that the dbt user may neither create roles nor grant."""
    ops = OPERATIONS if operations is None else operations
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        parts = list(pool.map(lambda target: _dry_run_target(
            project_dir, workdir, catalog, target, ops, builds, privileged), targets))
    result = DryRun()
    for part in parts:
        result.statements += part.statements
        result.failures += part.failures
        result.seconds.update(part.seconds)
    return result


def _dry_run_target(project_dir: Path, workdir: Path, catalog: Path, target: str,
                    operations: dict[str, tuple[str, str]], builds: bool = True,
                    privileged: bool = True) -> DryRun:
    result = DryRun()
    target_dir = workdir / target
    profiles = write_profiles(target_dir / "profiles", redshift_target(
        target, schema=CI_SCHEMA if target == "ci" else "analytics")).parent
    steps: list[tuple[str, list[str], bool]] = [
        ("first build", ["build"], False),
        # Tests send the same on every run: the second build runs models and snapshots.
        ("second build", ["build", "--exclude", "resource_type:test",
                          "resource_type:unit_test"], True),
    ] if builds else []
    steps += [(f"run-operation {name}", ["run-operation", name, "--args", args], True)
              for name, (on, args) in operations.items() if on == target]
    for label, args, second in steps:
        run = f"{target}, {label}"
        step_dir = target_dir / re.sub(r"\W+", "_", label)
        step_dir.mkdir(parents=True, exist_ok=True)
        (step_dir / "statements.jsonl").write_text("")
        (step_dir / "standin.json").write_text(json.dumps({
            "catalog": str(catalog), "second_build": second, "privileged": privileged,
            "prefix": f"{CI_SCHEMA}_" if target == "ci" else "",
        }))
        # as `warehouse build` runs them: its run-operation keeps the raw tables' states for
        # the build's checkpoint, which checks they are still current (TOKEN_ENV)
        dbt = Dbt(project_dir, profiles, target_path=target_dir / "target",
                  log_path=step_dir / "logs",
                  env={STANDIN_ENV: str(step_dir), TOKEN_ENV: "redshift-dry-run"})
        (target_dir / "target" / "run_results.json").unlink(missing_ok=True)
        started = time.perf_counter()
        outcome = dbt.run(*args, "--target", target, check=False)
        result.seconds[run] = time.perf_counter() - started
        for line in (step_dir / "statements.jsonl").read_text().splitlines():
            entry = json.loads(line)
            result.statements.append(Statement(run, entry["node"], entry["sql"]))
        result.failures += _dbt_failures(run, outcome.output, target_dir / "target",
                                         args[0] == "run-operation", outcome.success)
    return result


def _dbt_failures(run: str, output: str, target_path: Path, operation: bool,
                  success: bool) -> list[Finding]:
    """Nodes dbt itself failed on (an error raised before anything reached the driver)."""
    if operation:
        return [] if success else [Finding(run, run.split()[-1], "", "dbt failed: " +
                                           (first_error_line(output) or "see its log"))]
    path = target_path / "run_results.json"
    if not path.exists():
        return [Finding(run, "", "", "dbt failed: " + (first_error_line(output) or "no results"))]
    findings = []
    for node in json.loads(path.read_text(encoding="utf-8"))["results"]:
        if node["status"] in ("error", "fail", "runtime error"):
            message = re.sub(r"\s+", " ", str(node.get("message") or ""))[:300]
            findings.append(Finding(run, node["unique_id"], "", f"dbt failed: {message}"))
    return findings


def first_error_line(output: str) -> str:
    from warehouse.dbt import first_error

    return first_error(output)


def _parse_one(sql: str) -> str | None:
    problem = parse_problem(for_parsing(sql))
    return f"does not parse as Redshift SQL ({problem})" if problem else None


def check(statements: Sequence[Statement], roles: Sequence[str],
          processes: int = 2) -> list[Finding]:
    """Every reason Redshift would reject a captured statement. Each distinct text is
    checked once, and parsed once per shape (the slow part, on `processes` processes)."""
    distinct: dict[str, Statement] = {}
    for statement in statements:
        if _COMMENTS.sub("", statement.sql).strip():
            distinct.setdefault(statement.sql, statement)
    shapes: dict[str, str] = {}
    for sql in distinct:
        shapes.setdefault(shape(sql), sql)
    with ProcessPoolExecutor(max_workers=processes) as pool:
        parsed = dict(zip(shapes, pool.map(_parse_one, shapes.values(), chunksize=4),
                          strict=True))
    findings = []
    for sql, statement in distinct.items():
        reasons = check_sql(sql, roles, parse=False)
        problem = parsed[shape(sql)]
        findings += [Finding(statement.run, statement.node, sql, reason)
                     for reason in reasons + ([problem] if problem else [])]
    return findings


def access_roles(project_dir: Path) -> list[str]:
    """The var access_roles of dbt_project.yml (the roles grants must name as roles)."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return [str(role) for role in (project.get("vars") or {}).get("access_roles", [])]


def local_catalog(project_dir: Path, workdir: Path, target: Target) -> Path:
    """The local build's catalog (dbt docs generate on the local target); an error naming
    what to do when the local warehouse does not hold a complete build."""
    profiles = write_profiles(workdir / "profiles", target).parent
    dbt = Dbt(project_dir, profiles, target_path=workdir / "target", log_path=workdir / "logs")
    try:
        dbt.run("--quiet", "parse")  # the manifest (docs generate --no-compile writes none)
        dbt.run("--quiet", "docs", "generate", "--no-compile")
    except DbtError as error:
        raise DbtError(f"{error} (the dry run reads the local build's catalog: start the "
                       "warehouse and build it with 'make build')") from None
    catalog = workdir / "target" / "catalog.json"
    manifest = json.loads((workdir / "target" / "manifest.json").read_text(encoding="utf-8"))
    built = json.loads(catalog.read_text(encoding="utf-8"))["nodes"]
    missing = sorted(uid for uid, node in manifest["nodes"].items()
                     if node["resource_type"] in ("model", "seed", "snapshot")
                     and node["config"].get("materialized") != "ephemeral" and uid not in built)
    if missing:
        raise DbtError(f"the local warehouse lacks {len(missing)} of the project's relations "
                       f"(e.g. {missing[0]}): run 'make build' (or dbt build) first; the dry "
                       "run answers Redshift's metadata questions from the local build")
    stale = [f"{uid}.{column}" for uid, node in manifest["nodes"].items() if uid in built
             for column in node.get("columns", {})
             if column.lower() not in {name.lower() for name in built[uid]["columns"]}]
    if stale:
        raise DbtError(f"the local build is older than the code ({len(stale)} documented "
                       f"columns are not in the warehouse, e.g. {stale[0]}): run 'dbt build' "
                       "first; the dry run answers Redshift's metadata questions from it")
    return catalog


def report(findings: Sequence[Finding]) -> Iterator[str]:
    for finding in findings:
        yield str(finding)


def _parenthesised(text: str, open_at: int) -> str:
    depth = 0
    for index in range(open_at, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at : index + 1]
    return text[open_at:]


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
