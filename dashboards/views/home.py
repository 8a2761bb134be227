"""The dashboards' front page: which page answers what."""

from __future__ import annotations

import streamlit as st

st.title("ELT dashboards")
st.markdown(
    """
Every page reads the marts in `analytics` (as a member of `analytics_users`); the docs site's
front page maps each business question to its mart, metric and page. Add `?month=2019-10` to a
page's address to open it on that month (on CAC payback, the cohort of that month).
"""
)
st.page_link("views/marketing_attribution.py",
             label="Marketing attribution: net revenue by channel and month, the attribution "
                   "models side by side (rule-based, Markov, Shapley), spend, CAC, CAC of "
                   "first purchases per model and ROAS")
st.page_link("views/channel_paths.py",
             label="Channel paths and retention: converting paths, Markov removal effects, "
                   "top transformed paths over a range of months, retention by cohort")
st.page_link("views/cac_payback.py",
             label="CAC payback: per channel, net revenue per new paying user month by month "
                   "against its CAC, and months to payback")
st.page_link("views/nps.py", label="NPS: Net Promoter Score per month")
st.page_link("views/ab_test.py",
             label="A/B test readout: conversion, lift, p-value and 95% interval against control")
