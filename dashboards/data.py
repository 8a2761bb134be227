"""What every dashboard page shares: the read-only connection and a query helper.

The dashboards log in as a member of `analytics_users` (never the superuser), from the libpq
URI in $DASHBOARDS_URI that `warehouse dashboards` (make dashboards) sets.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import psycopg2
import streamlit as st


def uri() -> str:
    value = os.environ.get("DASHBOARDS_URI")
    if not value:
        st.error("DASHBOARDS_URI is not set: start the dashboards with `make dashboards`")
        st.stop()
    return value


@st.cache_data(ttl=300, show_spinner=False)
def query(sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    """The rows of a query on the marts, as a DataFrame (cached for 5 minutes)."""
    conn = psycopg2.connect(uri())
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            columns = [column.name for column in cur.description or ()]
            frame = pd.DataFrame(cur.fetchall(), columns=columns)
    finally:
        conn.close()
    for column in frame.columns:  # numeric(…) arrives as Decimal
        if frame[column].map(lambda v: v.__class__.__name__ == "Decimal").any():
            frame[column] = frame[column].astype(float)
    return frame


def svg(chart: Any) -> Any:
    """An Altair chart rendered as SVG (its marks can be counted in the page's DOM)."""
    return chart.properties(usermeta={"embedOptions": {"renderer": "svg"}})


def pick_month(months: list[str], key: str = "month") -> str:
    """A month picker, preset from ?month=YYYY-MM in the URL, else the latest month."""
    wanted = st.query_params.get(key, "")
    labels = [month[:7] for month in months]
    index = labels.index(wanted) if wanted in labels else len(labels) - 1
    chosen = st.selectbox("Month", labels, index=index)
    st.query_params[key] = chosen
    return months[labels.index(chosen)]
