"""What every dashboard page shares: the read-only connection and a query helper.

The dashboards log in as a member of `analytics_users` (never the superuser), from the libpq
URI in $DASHBOARDS_URI that `warehouse dashboards` (make dashboards) sets.

The static site (warehouse/static_dashboards.py) runs the same pages with a stand-in for
`streamlit` that has one widget, st.selectbox, which it takes for the page's month picker (one
file per option). The other pickers here are widgets it lacks: there they keep their default.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pandas as pd  # type: ignore[import-untyped]  # (no pandas-stubs in requirements)
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
    chosen = st.selectbox("Month", labels, index=index) or labels[index]
    st.query_params[key] = chosen
    return months[labels.index(chosen)]


ALL_COHORTS = "all"


def pick_cohort(months: list[str], key: str = "month") -> str | None:
    """A cohort picker: every cohort (the default, None) or one cohort month, preset from
    ?month=YYYY-MM (or ?month=all) in the URL."""
    wanted = st.query_params.get(key, ALL_COHORTS)
    labels = [ALL_COHORTS, *(month[:7] for month in months)]
    index = labels.index(wanted) if wanted in labels else 0
    chosen = st.selectbox("Cohort (month of first payment)", labels, index=index) or labels[index]
    st.query_params[key] = chosen
    return None if chosen == ALL_COHORTS else months[labels.index(chosen) - 1]


def has_widget(name: str) -> bool:
    """Whether the `streamlit` running the page has this widget (the static site's has not)."""
    return callable(getattr(st, name, None))


def pick_option(label: str, options: list[str], key: str) -> str:
    """One of a few options as radio buttons, preset from ?<key>=... in the URL, else the
    first (the static site: the preset)."""
    wanted = st.query_params.get(key, "")
    index = options.index(wanted) if wanted in options else 0
    if not has_widget("radio"):
        return options[index]
    chosen = st.radio(label, options, index=index, horizontal=True) or options[index]
    st.query_params[key] = chosen
    return chosen


def pick_month_range(months: list[str], label: str = "Months",
                     keys: tuple[str, str] = ("from", "to")) -> tuple[str, str]:
    """The first and last month of a range on a slider, preset from ?from=YYYY-MM&to=YYYY-MM in
    the URL, else every month (the static site: the preset)."""
    labels = [month[:7] for month in months]
    first, last = (st.query_params.get(key, default) for key, default
                   in zip(keys, (labels[0], labels[-1]), strict=True))
    first = first if first in labels else labels[0]
    last = last if last in labels else labels[-1]
    first, last = min(first, last), max(first, last)
    if has_widget("select_slider"):
        chosen = st.select_slider(label, options=labels, value=(first, last))
        if isinstance(chosen, tuple):
            first, last = chosen
        st.query_params[keys[0]], st.query_params[keys[1]] = first, last
    return months[labels.index(first)], months[labels.index(last)]


# The attribution models in the order the pages show them: the rule-based ones, then the
# data-driven ones (docs/attribution.md). Pages read the models from the marts; this only
# orders them, and a model not named here comes last.
MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay",
          "last_non_organic", "markov", "shapley")


def model_order(models: Iterable[str]) -> list[str]:
    """The models given, in MODELS' order, then any other alphabetically."""
    present = set(models)
    return [m for m in MODELS if m in present] + sorted(present - set(MODELS))
