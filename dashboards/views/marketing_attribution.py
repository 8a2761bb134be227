"""Marketing attribution: net revenue by channel and month, every attribution model side by side,
spend, CAC and ROAS (channel_monthly_summary, channel_attribution_monthly, channel_roas_monthly,
channel_performance_monthly)."""

from __future__ import annotations

import altair as alt
import streamlit as st
from data import pick_month, query, svg

st.title("Marketing attribution")

summary = query("select month::text as month, channel, net_revenue, gross_revenue, unique_users, "
                "paid_users from analytics.channel_monthly_summary order by month, channel")
months = sorted(summary["month"].unique().tolist())
month = pick_month(months)

this_month = summary[summary["month"] == month]
left, middle, right = st.columns(3)
left.metric("Net revenue", f"{int(this_month['net_revenue'].sum())}")
middle.metric("Paid users (sum over channels)", f"{int(this_month['paid_users'].sum())}")
performance = query("select month::text as month, channel, spend, cac, roas, new_paying_users "
                    "from analytics.channel_performance_monthly order by month, channel")
right.metric("Spend", f"{performance[performance['month'] == month]['spend'].sum():.2f}")

st.subheader(f"Net revenue by channel under each attribution model, {month[:7]}")
credit = query("select channel, attribution_model, attributed_revenue "
               "from analytics.channel_attribution_monthly where month = %s", (month,))
pivot = credit.pivot_table(index="channel", columns="attribution_model",
                           values="attributed_revenue", aggfunc="sum", fill_value=0.0)
pivot.insert(0, "net revenue (sessions)",
             this_month.set_index("channel")["net_revenue"].reindex(pivot.index).fillna(0))
st.table(pivot.style.format("{:.2f}"))
st.altair_chart(svg(alt.Chart(credit).mark_bar().encode(
    x=alt.X("channel:N", title="channel"),
    xOffset="attribution_model:N",
    y=alt.Y("attributed_revenue:Q", title="attributed revenue"),
    color="attribution_model:N",
    tooltip=["channel", "attribution_model", "attributed_revenue"],
)), use_container_width=True)

st.subheader("Net revenue by channel and month")
st.altair_chart(svg(alt.Chart(summary).mark_bar().encode(
    x=alt.X("month:O", title="month"), y=alt.Y("net_revenue:Q", title="net revenue"),
    color="channel:N", tooltip=["month", "channel", "net_revenue"],
)), use_container_width=True)

st.subheader("Spend and CAC by channel and month")
paid = performance[performance["spend"] > 0]
spend_col, cac_col = st.columns(2)
spend_col.altair_chart(svg(alt.Chart(paid).mark_bar().encode(
    x=alt.X("month:O"), y=alt.Y("spend:Q"), color="channel:N",
    tooltip=["month", "channel", "spend"],
)), use_container_width=True)
cac_col.altair_chart(svg(alt.Chart(paid.dropna(subset=["cac"])).mark_line(point=True).encode(
    x=alt.X("month:O"), y=alt.Y("cac:Q", title="CAC"), color="channel:N",
    tooltip=["month", "channel", "cac", "new_paying_users"],
)), use_container_width=True)

st.subheader(f"ROAS by channel under each attribution model, {month[:7]}")
roas = query("select channel, attribution_model, roas from analytics.channel_roas_monthly "
             "where month = %s and roas is not null", (month,))
st.altair_chart(svg(alt.Chart(roas).mark_bar().encode(
    x=alt.X("channel:N"), xOffset="attribution_model:N", y=alt.Y("roas:Q", title="ROAS"),
    color="attribution_model:N", tooltip=["channel", "attribution_model", "roas"],
)), use_container_width=True)
