"""A/B test readout: conversion per variant, lift, p-value, 95% interval and significance
against control (ab_test_summary)."""

from __future__ import annotations

import altair as alt
import streamlit as st
from data import query, svg

st.title("A/B test readout")
summary = query("select variant_id, users, purchasers, conversion_rate, revenue_per_user, "
                "lift_vs_control, z_score, p_value, diff_ci_low, diff_ci_high, is_significant "
                "from analytics.ab_test_summary order by variant_id = 'control' desc, variant_id")
for row in summary[summary["variant_id"] != "control"].itertuples():
    verdict = "significant" if row.is_significant else "not significant"
    st.subheader(f"{row.variant_id} vs control: {verdict} at 5%")
    cols = st.columns(4)
    cols[0].metric("Lift in conversion", f"{row.lift_vs_control:+.2%}")
    cols[1].metric("p-value", f"{row.p_value:.4f}")
    cols[2].metric("95% interval of the difference",
                   f"{row.diff_ci_low:+.4f} .. {row.diff_ci_high:+.4f}")
    cols[3].metric("z", f"{row.z_score:.3f}")
st.altair_chart(svg(alt.Chart(summary).mark_bar().encode(
    x=alt.X("variant_id:N", title="variant"),
    y=alt.Y("conversion_rate:Q", title="conversion rate", axis=alt.Axis(format="%")),
    color="variant_id:N", tooltip=["variant_id", "users", "purchasers", "conversion_rate"],
)), use_container_width=True)
st.table(summary.set_index("variant_id"))
