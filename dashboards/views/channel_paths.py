"""Channel paths and retention: the commonest journeys and their conversions
(path_summary_monthly), each channel's Markov credit beside last touch
(channel_removal_effects_monthly, channel_attribution_monthly), and retention by cohort
(cohort_retention_monthly)."""

from __future__ import annotations

import altair as alt
import streamlit as st
from data import pick_month, query, svg

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

st.subheader("Retention by first channel (all cohorts)")
retention = query("select first_channel, months_since_first, "
                  "sum(active_users) * 1.0 / sum(cohort_users) as retention_rate "
                  "from analytics.cohort_retention_monthly group by 1, 2 order by 1, 2")
st.altair_chart(svg(alt.Chart(retention).mark_line(point=True).encode(
    x=alt.X("months_since_first:O", title="months since first session"),
    y=alt.Y("retention_rate:Q", title="retention", axis=alt.Axis(format="%")),
    color="first_channel:N", tooltip=["first_channel", "months_since_first", "retention_rate"],
)), use_container_width=True)
