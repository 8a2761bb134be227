"""The dashboards (Streamlit, in dashboards/): their read-only login and how to start them.

The dashboards read the marts as `dashboards`, a login role that is a member of
`analytics_users` (created by dbt's on-run-start), never as the superuser: they can read
`analytics` and `snapshots` and nothing in `raw_data` or `staging`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg2

from warehouse.server import Warehouse, WarehouseError

READER = "dashboards"
READER_GROUP = "analytics_users"
APP = Path("dashboards") / "app.py"


def ensure_reader(wh: Warehouse, role: str = READER) -> str:
    """Create the login role `role` in analytics_users if missing; return its libpq URI."""
    conn = psycopg2.connect(wh.uri())
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_roles where rolname = %s", (READER_GROUP,))
            if cur.fetchone() is None:
                raise WarehouseError(
                    f"role {READER_GROUP} does not exist yet: run `make build` first")
            cur.execute("select 1 from pg_roles where rolname = %s", (role,))
            exists = cur.fetchone() is not None
    finally:
        conn.close()
    if exists and (wh.passwords / role).exists():
        return wh.uri(user=role)
    return wh.create_login(role, member_of=READER_GROUP)  # with a password of its own


def streamlit_command(root: Path, port: int, *, headless: bool = True) -> list[str]:
    """The command line that serves the dashboards on 127.0.0.1:port."""
    return [
        sys.executable, "-m", "streamlit", "run", str(root / APP),
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true" if headless else "false",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "viewer",
    ]
