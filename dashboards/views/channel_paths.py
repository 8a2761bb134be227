"""Channel paths and retention: the commonest journeys and their conversions
(path_summary_monthly), each channel's Markov credit beside last touch
(channel_removal_effects_monthly, channel_attribution_monthly), the top transformed paths over
a range of months (path_transform_summary_monthly), and retention by cohort
(cohort_retention_monthly)."""

from __future__ import annotations

import altair as alt
import streamlit as st
from data import pick_month, pick_month_range, pick_option, query, svg

TOP_PATHS = 15

st.title("Channel paths and retention")
months = query("select distinct journey_month::text as month from analytics.path_summary_monthly "
               "order by 1")["month"].tolist()
month = pick_month(months)
paths = query("select path, converting_journeys, non_converting_journeys, net_revenue "
              "from analytics.path_summary_monthly where journey_month = %s "
              "order by converting_journeys + non_converting_journeys desc, path limit 15",
              (month,))
st.metric(f"Converting journeys on the top paths, {month[:7]}",
          f"{int(paths['converting_journeys'].sum())}")
long = paths.melt(id_vars="path", value_vars=["converting_journeys", "non_converting_journeys"],
                  var_name="outcome", value_name="journeys")
st.altair_chart(svg(alt.Chart(long).mark_bar().encode(
    y=alt.Y("path:N", sort="-x"), x=alt.X("journeys:Q"), color="outcome:N",
    tooltip=["path", "outcome", "journeys"],
)), use_container_width=True)
effects = query("select channel, removal_effect from analytics.channel_removal_effects_monthly "
                "where month = %s order by channel", (month,))
st.subheader("Removal effect per channel (Markov)")
st.altair_chart(svg(alt.Chart(effects).mark_bar().encode(
    x=alt.X("channel:N"), y=alt.Y("removal_effect:Q", title="removal effect"),
    tooltip=["channel", "removal_effect"],
)), use_container_width=True)
credit = query("select channel, attribution_model, attributed_revenue "
               "from analytics.channel_attribution_monthly where month = %s "
               "and attribution_model in ('markov', 'last_touch')", (month,))
st.subheader("Markov credit beside last touch")
st.altair_chart(svg(alt.Chart(credit).mark_bar().encode(
    x=alt.X("channel:N"), xOffset="attribution_model:N",
    y=alt.Y("attributed_revenue:Q", title="attributed revenue"), color="attribution_model:N",
    tooltip=["channel", "attribution_model", "attributed_revenue"],
)), use_container_width=True)
st.table(paths.set_index("path"))

st.subheader("Top transformed paths")
st.markdown(
    """
A raw path is almost always unique, so paths are compared transformed: `exposure` collapses
repeated touches on the same channel into one step (`A > A > B > A` is `A > B > A`),
`first_touch` keeps each channel once, in the order of its first touch (`A > B`); both keep the
last `path_max_steps` steps (a dbt var, 5 by default). Conversion rate is converting /
(converting + non-converting) journeys on the path.
"""
)
transforms = query("select distinct path_transform from analytics.path_transform_summary_monthly "
                   "order by 1")["path_transform"].tolist()
transform = pick_option("Path transform", transforms, key="transform")
journey_months = query("select distinct journey_month::text as month "
                       "from analytics.path_transform_summary_monthly order by 1")["month"].tolist()
first, last = pick_month_range(journey_months, label="Months of the journeys")
top = query("select path, sum(converting_journeys) as converting_journeys, "
            "sum(non_converting_journeys) as non_converting_journeys, "
            "sum(net_revenue) as net_revenue, "
            "sum(sum(converting_journeys)) over () as all_converting_journeys "
            "from analytics.path_transform_summary_monthly "
            "where path_transform = %s and journey_month between %s and %s group by path "
            "order by sum(converting_journeys) desc, path limit %s",
            (transform, first, last, TOP_PATHS))
all_converting = float(top["all_converting_journeys"].max()) if len(top) else 0.0
top = top.drop(columns="all_converting_journeys")
top["conversion_rate"] = top["converting_journeys"] / (
    top["converting_journeys"] + top["non_converting_journeys"])
converting = int(top["converting_journeys"].sum())
journeys = converting + int(top["non_converting_journeys"].sum())
span = first[:7] if first == last else f"{first[:7]} to {last[:7]}"
st.markdown(f"The {TOP_PATHS} `{transform}` paths with the most converting journeys, {span}.")
left, middle, right = st.columns(3)
left.metric(f"Top {transform} paths: converting journeys", f"{converting}")
middle.metric(f"Top {transform} paths: share of all converting journeys",
              f"{converting / max(all_converting, 1):.1%}")
right.metric(f"Top {transform} paths: conversion rate", f"{converting / max(journeys, 1):.1%}")
order = top["path"].tolist()  # most converting journeys first, as queried
bars, rates = st.columns(2)
bars.altair_chart(svg(alt.Chart(top).mark_bar().encode(
    y=alt.Y("path:N", sort=order, title=f"{transform} path",
            axis=alt.Axis(labelLimit=360)),
    x=alt.X("converting_journeys:Q", title="converting journeys"),
    tooltip=["path", "converting_journeys", "non_converting_journeys", "net_revenue",
             alt.Tooltip("conversion_rate:Q", format=".1%")],
)), use_container_width=True)
rates.altair_chart(svg(alt.Chart(top).mark_bar().encode(
    y=alt.Y("path:N", sort=order, title=None, axis=alt.Axis(labels=False, ticks=False)),
    x=alt.X("conversion_rate:Q", title="conversion rate", axis=alt.Axis(format="%")),
    tooltip=["path", "converting_journeys", "non_converting_journeys",
             alt.Tooltip("conversion_rate:Q", format=".1%")],
)), use_container_width=True)
st.table(top.set_index("path").style.format(
    {"net_revenue": "{:.0f}", "conversion_rate": "{:.1%}"}))

st.subheader("Retention by first channel (all cohorts)")
retention = query("select first_channel, months_since_first, "
                  "sum(active_users) * 1.0 / sum(cohort_users) as retention_rate "
                  "from analytics.cohort_retention_monthly group by 1, 2 order by 1, 2")
st.altair_chart(svg(alt.Chart(retention).mark_line(point=True).encode(
    x=alt.X("months_since_first:O", title="months since first session"),
    y=alt.Y("retention_rate:Q", title="retention", axis=alt.Axis(format="%")),
    color="first_channel:N", tooltip=["first_channel", "months_since_first", "retention_rate"],
)), use_container_width=True)
