"""The Redshift dry run: its checks on known-bad statements, its stand-in driver, and a whole
dry run of a small project that does each wrong thing once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from warehouse.redshift import (
    HOOKS,
    WINDOW_WITHOUT_FRAME,
    Catalog,
    StandinConnection,
    StandinState,
    Statement,
    check,
    check_sql,
    dry_run,
    grantee_problems,
    parse_problem,
    unsupported,
)

from .conftest import PROJECT_ROOT

ROLES = ("analytics_users", "data_engineers")


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ('create index if not exists "x__idx" on "dev"."analytics"."x" ("d")', "an index"),
        ("create unique index i on t (a)", "an index"),
        ("select distinct on (a) a from t", "DISTINCT ON"),
        ("select count(*) filter (where a > 1) from t", "FILTER (WHERE ...)"),
        ("select string_agg(a, ',') from t", "string_agg"),
        ("select array_agg(a) from t", "array_agg"),
        ("select * from generate_series(1, 3)", "generate_series"),
        ("select a::jsonb from t", "a json or jsonb value"),
        ("select payload->>'id' from t", "a json or jsonb value"),
        ("insert into t values (1) on conflict do nothing", "ON CONFLICT"),
        ("select a is distinct from b from t", "IS DISTINCT FROM"),
        ("select * from t cross join lateral (select 1) as x", "LATERAL"),
        ("select sum(a) over (partition by b order by c) from t", WINDOW_WITHOUT_FRAME),
        ("create table t (a int) partition by range (a)", "table partitioning"),
        ("create table t (a int check (a > 0))", "a check or exclusion constraint"),
        ("select a collate \"C\" from t", "a collation"),
        ("select array[1, 2] as a", "an array constructor or subscript"),
        ("select * from (values (1), (2)) as v (a)", "a VALUES list as a table"),
        ("create sequence s", "a sequence"),
        ("select gen_random_uuid()::uuid as id", "a data type Redshift lacks"),
        ("create unlogged table t (a int)", "unlogged table"),
        ("set local work_mem = '1GB'", "a PostgreSQL-only setting"),
        ("do $run_lock$ begin perform 1; end $run_lock$", "an anonymous code block (DO)"),
        ("select pg_try_advisory_xact_lock(42)", "an advisory lock"),
        ("select clock_timestamp() as t", "a date/time function Redshift lacks"),
        ("select oid from pg_class where oid = to_regclass('a.b')", "a function newer than"),
        ("select pg_postmaster_start_time() as t", "a function newer than"),
    ],
)
def test_each_unsupported_construct_is_found(sql: str, construct: str) -> None:
    found = [name for _, name in unsupported(sql)]
    assert len(found) == 1 and found[0].startswith(construct), found
    assert any(construct in reason for reason in check_sql(sql, parse=False))


@pytest.mark.parametrize(
    "sql",
    [
        "select sum(a) over (partition by b order by c"
        " rows between unbounded preceding and current row) from t",
        "select row_number() over (partition by b order by c) from t",
        "select listagg(a, ',') within group (order by a) from t",
        "-- string_agg(a) in a comment is fine\nselect 1",
        "select 'distinct on (a), create index, ::jsonb' as text_only",
        "comment on table t is $dbt_comment_literal_block$uses array_agg()"
        "$dbt_comment_literal_block$",
        # `--` inside a literal starts no comment: the literal still ends where it ends
        "comment on column t.c is $dbt_comment_literal_block$run `dbt test --vars x`; a row "
        "(`one`) $dbt_comment_literal_block$",
        "create table t (a int) backup no diststyle key distkey (a) compound sortkey (a)",
        "insert into t (a) values (1), (2)",
    ],
)
def test_portable_sql_passes(sql: str) -> None:
    assert unsupported(sql) == []


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ('grant select on "dev"."analytics"."x" to role:analytics_users', "role analytics_users"),
        ("grant select on x to analytics_users", "is a role"),
        ("revoke select on x from data_engineers", "is a role"),
        ("grant usage on schema s to role analytics_users, group:bi", "role bi"),
    ],
)
def test_grants_to_roles_must_say_role(sql: str, problem: str) -> None:
    [found] = grantee_problems(sql, ROLES)
    assert problem in found


@pytest.mark.parametrize(
    "sql",
    [
        'grant select on "dev"."analytics"."x" to ROLE analytics_users',
        "grant usage, create on schema adhoc to role analytics_users",
        "grant select on x to group bi, alice with grant option",
        "grant all on all tables in schema raw_data to role data_engineers",
        "select 'grant select on x to role:y' as not_a_grant",
    ],
)
def test_redshift_grantee_syntax_passes(sql: str) -> None:
    assert grantee_problems(sql, ROLES) == []


def test_statements_redshift_cannot_parse_are_found() -> None:
    assert parse_problem("select a from only t")
    assert parse_problem("selec 1")
    assert parse_problem("create table t (a int) diststyle key distkey (a) sortkey (a)") is None
    # dbt-redshift's column lookup is valid Redshift that sqlfluff lacks: rewritten, then parsed
    lookup = ("select col_name from pg_get_late_binding_view_cols() cols(view_schema name, "
              "view_name name, col_name name, col_type varchar, ordinal_position int)")
    assert check_sql(lookup) == []
    assert any("does not parse" in reason for reason in check_sql(lookup + " frm x"))


def test_check_names_node_statement_and_reason() -> None:
    statements = [
        Statement("prod, first build", "model.elt.a", "create index i on t (a)"),
        Statement("prod, first build", "model.elt.b", "grant select on t to role:analytics_users"),
        Statement("ci, first build", "model.elt.c", "select a from only t"),
        Statement("ci, first build", "model.elt.d", "select 1 as fine"),
        Statement("ci, first build", "model.elt.d", "/* a comment only */"),
    ]
    findings = check(statements, ROLES, processes=1)
    assert {(f.run, f.node, f.statement) for f in findings} == {
        (s.run, s.node, s.sql) for s in statements[:3]}
    reasons = {f.node: [] for f in findings}
    for finding in findings:
        reasons[finding.node].append(finding.reason)
    assert [reason[:16] for reason in reasons["model.elt.a"]] == ["line 1: an index"]
    assert "role analytics_users" in reasons["model.elt.b"][0]
    assert "does not parse" in reasons["model.elt.b"][1]  # 'role:x' is no SQL either
    assert [reason[:14] for reason in reasons["model.elt.c"]] == ["does not parse"]
    assert str(findings[0]).startswith("prod, first build: model.elt.a: line 1: an index")


# --- the stand-in driver -------------------------------------------------------------------

def _catalog(tmp_path: Path) -> Catalog:
    node = {
        "metadata": {"type": "BASE TABLE", "schema": "analytics", "name": "m", "database": "w"},
        "columns": {"b": {"type": "character varying(64)", "index": 2, "name": "b"},
                    "a": {"type": "numeric(18,6)", "index": 1, "name": "a"}},
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"nodes": {"model.p.m": node}, "sources": {}}))
    return Catalog.load(path)


def _run(connection: StandinConnection, sql: str) -> tuple[list[str] | None, list[tuple]]:
    cursor = connection.cursor().execute(sql)
    names = None if cursor.description is None else [col[0] for col in cursor.description]
    return names, cursor.fetchall()


def test_standin_records_and_answers_from_the_catalog(tmp_path: Path) -> None:
    state = StandinState(_catalog(tmp_path), prefix="pr_0_", roles_exist=False)
    log = tmp_path / "log.jsonl"
    connection = StandinConnection(state, log)
    comment = '/* {"app": "dbt", "node_id": "model.p.m"} */ '
    relations = ("select table_catalog as database, table_name as name, table_schema as schema,"
                 " 'table' as type from information_schema.tables where table_schema ilike "
                 "'pr_0_analytics'")
    assert _run(connection, relations)[1] == []
    _run(connection, comment + 'create table "dev"."pr_0_analytics"."m__dbt_tmp" as (select 1)')
    _run(connection, 'alter table "dev"."pr_0_analytics"."m__dbt_tmp" rename to "m"')
    assert _run(connection, relations)[1] == [("dev", "m", "pr_0_analytics", "table")]
    columns = ("select column_name from information_schema.\"columns\" where table_name = "
               "'m__dbt_tmp' and where table_schema = 'pr_0_analytics'")
    assert _run(connection, columns)[1] == [("a", "numeric", None, 18, 6),
                                            ("b", "character varying", 64, None, None)]
    probe = "select * from (select x from y) as __dbt_sbq where false limit 0"
    assert _run(connection, comment + probe)[0] == ["a", "b"]
    declared = ("select * from (select cast(null as varchar(64)) as b, cast(null as int) as c"
                ") as __dbt_sbq where false limit 0")
    assert _run(connection, declared)[0] == ["b", "c"]
    test = '/* {"node_id": "test.p.unique_m_a"} */ select count(*) as failures from x'
    assert _run(connection, test)[1] == [(0, False, False)]
    hook = '/* {"connection_name": "master"} */ create role analytics_users'
    _run(connection, hook)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries[-1] == {"node": HOOKS, "sql": hook}
    assert entries[1]["node"] == "model.p.m"


def test_standin_writes_bind_parameters_as_literals(tmp_path: Path) -> None:
    connection = StandinConnection(StandinState(_catalog(tmp_path), "", False), tmp_path / "l")
    connection.cursor().execute("insert into t values (%s, %s, %s)", ["it's", 2, None])
    [entry] = [json.loads(line) for line in (tmp_path / "l").read_text().splitlines()]
    assert entry["sql"] == "insert into t values ('it''s', 2, null)"


# --- a whole dry run through the real dbt-redshift adapter -----------------------------------

MINI_MODELS = {
    # dbt-redshift has no indexes: dbt fails before sending anything
    "with_index.sql": "{{ config(materialized='table', indexes=[{'columns': ['a']}]) }}\n"
                      "select 1 as a",
    # without the redshift_grants_extended flag, 'role:' reaches Redshift verbatim
    "with_grants.sql": "{{ config(materialized='table', grants={'select': "
                       "['role:analytics_users']}) }}\nselect 1 as a",
    "with_distinct_on.sql": "select distinct on (a) a from {{ ref('with_grants') }}",
    "with_only.sql": "select a from only {{ ref('with_grants') }}",
}


@pytest.mark.e2e
def test_a_dry_run_finds_what_each_bad_model_sends(tmp_path: Path) -> None:
    project = tmp_path / "mini"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: mini\nversion: '1.0'\nconfig-version: 2\nprofile: elt\n"
        "models:\n  mini:\n    +materialized: view\n")
    for name, sql in MINI_MODELS.items():
        (project / "models" / name).write_text(sql + "\n")
    catalog = tmp_path / "catalog.json"
    nodes = {f"model.mini.{name[:-4]}": {
        "metadata": {"type": "BASE TABLE", "schema": "analytics", "name": name[:-4]},
        "columns": {"a": {"type": "integer", "index": 1, "name": "a"}}} for name in MINI_MODELS}
    catalog.write_text(json.dumps({"nodes": nodes, "sources": {}}))

    result = dry_run(project, tmp_path / "work", catalog, targets=("prod",), operations={})
    assert set(result.seconds) == {"prod, first build", "prod, second build"}
    failed = {(f.node, f.reason.split(":")[0]) for f in result.failures}
    assert ("model.mini.with_index", "dbt failed") in failed
    findings = check(result.statements, ROLES, processes=1)
    by_node = {(f.node, f.reason.split("(")[0].split(": ", 1)[-1]) for f in findings}
    assert ("model.mini.with_grants",
            "grantee 'role:analytics_users' is dbt config syntax; Redshift needs "
            "'role analytics_users'") in by_node
    assert ("model.mini.with_distinct_on", "DISTINCT ON is not supported by Redshift") in by_node
    assert ("model.mini.with_only", "does not parse as Redshift SQL ") in by_node
    assert {node for node, _ in by_node} | {node for node, _ in failed} == {
        f"model.mini.{name[:-4]}" for name in MINI_MODELS}
    second = [s.sql for s in result.statements if s.run == "prod, second build"]
    assert any("rename to" in sql for sql in second)  # the tables existed: dbt swapped them


@pytest.mark.e2e
@pytest.mark.parametrize(("operation", "says"), [
    ("create_access_roles", "may not create the roles analytics_users, data_engineers: that "
                            "needs superuser or the CREATE ROLE privilege"),
    ("grant_schema_access", "may not grant on schema adhoc: that needs owning the schema, "
                            "or superuser"),
])
def test_a_missing_permission_stops_the_hook_in_one_line(tmp_path: Path, operation: str,
                                                         says: str) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"nodes": {}, "sources": {}}))
    result = dry_run(PROJECT_ROOT, tmp_path / "work", catalog, targets=("prod",),
                     operations={operation: ("prod", "{}")}, builds=False, privileged=False)
    [failure] = result.failures
    assert says in failure.reason, failure.reason
    assert "Traceback" not in failure.reason and "\n" not in failure.reason
    sent = [re.sub(r"/\*.*?\*/", "", statement.sql, flags=re.S).strip().lower()
            for statement in result.statements]
    assert not any(sql.startswith(("create role", "grant ")) for sql in sent), sent


def test_every_postgres_macro_has_a_redshift_one() -> None:
    """dbt-redshift inherits from dbt-postgres, so `adapter.dispatch` on Redshift takes a
    project's `postgres__` macro before its `default__` one: each needs a `redshift__` one
    (the run lock's DO block and advisory locks once reached Redshift that way)."""
    defined = re.compile(r"\{%-?\s*macro\s+(postgres|redshift)__(\w+)\s*\(")
    found: dict[str, set[str]] = {"postgres": set(), "redshift": set()}
    for path in (PROJECT_ROOT / "macros").rglob("*.sql"):
        for adapter, name in defined.findall(path.read_text()):
            found[adapter].add(name)
    assert found["postgres"], "no postgres__ macro found: the pattern is stale"
    assert found["postgres"] <= found["redshift"], sorted(found["postgres"] - found["redshift"])
