"""NPS: the Net Promoter Score per month with promoters, passives and detractors (nps_monthly)."""

from __future__ import annotations

import altair as alt
import streamlit as st
from data import query, svg

st.title("NPS")
nps = query("select month::text as month, responses, promoters, passives, detractors, nps "
            "from analytics.nps_monthly order by month")
latest = nps.iloc[-1]
left, right = st.columns(2)
left.metric(f"NPS, {latest['month'][:7]}", f"{latest['nps']:.2f}")
right.metric("Responses", f"{int(latest['responses'])}")
st.altair_chart(svg(alt.Chart(nps).mark_line(point=True).encode(
    x=alt.X("month:O"), y=alt.Y("nps:Q", title="NPS"), tooltip=["month", "nps", "responses"],
)), use_container_width=True)
answers = nps.melt(id_vars="month", value_vars=["promoters", "passives", "detractors"],
                   var_name="group", value_name="answers")
st.altair_chart(svg(alt.Chart(answers).mark_bar().encode(
    x=alt.X("month:O"), y=alt.Y("answers:Q"), color="group:N",
    tooltip=["month", "group", "answers"],
)), use_container_width=True)
st.table(nps.set_index("month"))
