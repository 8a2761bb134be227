"""CAC payback: per channel, what its new paying users have paid back since their first payment,
month by month, against what the channel spent to acquire each of them (cac_payback_monthly)."""

from __future__ import annotations

import altair as alt
import streamlit as st
from data import pick_cohort, query, svg


def payback_label(cac: float, first_paid_back: int | None) -> str:
    """Months to payback: the first month since at or above the CAC, `not yet`, or `no spend`."""
    if not cac > 0:
        return "no spend"
    return "not yet" if first_paid_back is None else str(int(first_paid_back))


st.title("CAC payback")
cohorts = query("select distinct cohort_month::text as month from analytics.cac_payback_monthly "
                "order by 1")["month"].tolist()
cohort = pick_cohort(cohorts)
if cohort is None:
    # Each month since the first payment over the cohorts that have reached it, weighted by
    # their new paying users; the CAC is of those same cohorts (spend over their users).
    curves = query(
        "select channel, months_since_first, count(*) as cohorts, "
        "sum(new_paying_users) as new_paying_users, "
        "sum(spend) / sum(new_paying_users) as cac, "
        "sum(cumulative_net_revenue_per_user * new_paying_users) / sum(new_paying_users) "
        "as cumulative_net_revenue_per_user "
        "from analytics.cac_payback_monthly where new_paying_users > 0 "
        "group by channel, months_since_first order by channel, months_since_first")
    scope = ("all cohorts, weighted by their new paying users. Month *m* averages the cohorts "
             "that have reached it and compares them with their own CAC, so the later months "
             "rest on the older cohorts only")
else:
    curves = query(
        "select channel, months_since_first, 1 as cohorts, new_paying_users, cac, "
        "cumulative_net_revenue_per_user "
        "from analytics.cac_payback_monthly where cohort_month = %s and new_paying_users > 0 "
        "order by channel, months_since_first", (cohort,))
    scope = f"the cohort of {cohort[:7]}"
curves["paid_back"] = (curves["cac"] > 0) & (
    curves["cumulative_net_revenue_per_user"] >= curves["cac"])
st.markdown(
    f"""
Cumulative net revenue per new paying user (on any channel) by months since their first
payment, against the channel's CAC (dashed: its spend in the cohort month over the cohort's new
paying users), for {scope}. A channel has paid back its CAC from the first month its curve
reaches the dashed line.
"""
)

curve = alt.Chart().encode(x=alt.X("months_since_first:O", title="months since first payment"))
chart = alt.layer(
    curve.mark_line(point=True).encode(
        y=alt.Y("cumulative_net_revenue_per_user:Q", title="net revenue per user, cumulative"),
        color=alt.Color("channel:N", legend=None),
        tooltip=["channel", "months_since_first", "cohorts", "new_paying_users",
                 alt.Tooltip("cumulative_net_revenue_per_user:Q", format=".2f"),
                 alt.Tooltip("cac:Q", format=".2f"), "paid_back"],
    ),
    curve.transform_filter("datum.cac > 0").mark_line(strokeDash=[6, 4], color="#555").encode(
        y=alt.Y("cac:Q"), tooltip=["channel", "months_since_first",
                                   alt.Tooltip("cac:Q", title="CAC", format=".2f")],
    ),
    data=curves,
).properties(width=220, height=180).facet(
    facet=alt.Facet("channel:N", title=None), columns=3,
).resolve_scale(y="independent")
st.altair_chart(svg(chart))

st.subheader("Months to payback per channel")
first = curves.sort_values("months_since_first").groupby("channel").first()
latest = curves.sort_values("months_since_first").groupby("channel").last()
paid_back = curves[curves["paid_back"]].groupby("channel")["months_since_first"].min().to_dict()
payback = first[["new_paying_users", "cac"]].rename(
    columns={"new_paying_users": "new paying users", "cac": "CAC"})

payback.insert(0, "months to payback", [
    payback_label(cac, paid_back.get(channel)) for channel, cac in first["cac"].items()])
paid_cohorts = query(
    "select channel, count(distinct cohort_month) filter (where is_paid_back) as paid, "
    "count(distinct cohort_month) as cohorts from analytics.cac_payback_monthly "
    "where new_paying_users > 0 and (%s is null or cohort_month = %s) group by channel",
    (cohort, cohort)).set_index("channel")
payback["cohorts paid back"] = [
    f"{int(paid_cohorts.at[channel, 'paid'])} of {int(paid_cohorts.at[channel, 'cohorts'])}"
    if cac > 0 else "" for channel, cac in first["cac"].items()]
payback["latest month since first"] = latest["months_since_first"]
payback["net revenue per user then"] = latest["cumulative_net_revenue_per_user"]
payback["LTV / CAC then"] = (latest["cumulative_net_revenue_per_user"]
                             / latest["cac"].where(latest["cac"] > 0))
st.table(payback.style.format({"new paying users": "{:.0f}", "CAC": "{:.2f}",
                               "net revenue per user then": "{:.2f}",
                               "LTV / CAC then": "{:.2f}"}, na_rep=""))
