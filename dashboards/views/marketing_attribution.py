"""Marketing attribution: net revenue by channel and month, every attribution model side by side
(how Shapley, Markov and the rule-based models differ), spend, CAC, the CAC of first purchases
under each model, and ROAS (channel_monthly_summary, channel_attribution_monthly,
channel_roas_monthly, channel_performance_monthly, channel_attribution_by_purchase_monthly)."""

from __future__ import annotations

import altair as alt
import streamlit as st
from data import model_order, pick_month, query, svg

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
credit = query("select channel, attribution_model, attributed_conversions, attributed_revenue "
               "from analytics.channel_attribution_monthly where month = %s", (month,))
models = model_order(credit["attribution_model"].unique())
pivot = credit.pivot_table(index="channel", columns="attribution_model",
                           values="attributed_revenue", aggfunc="sum", fill_value=0.0)[models]
pivot.insert(0, "net revenue (sessions)",
             this_month.set_index("channel")["net_revenue"].reindex(pivot.index).fillna(0))
st.table(pivot.style.format("{:.2f}"))
st.altair_chart(svg(alt.Chart(credit).mark_bar().encode(
    x=alt.X("channel:N", title="channel"),
    xOffset=alt.XOffset("attribution_model:N", sort=models),
    y=alt.Y("attributed_revenue:Q", title="attributed revenue"),
    color=alt.Color("attribution_model:N", sort=models),
    tooltip=["channel", "attribution_model", "attributed_revenue"],
)), use_container_width=True)

st.subheader("How the models differ")
st.markdown(
    """
- **Rule-based** (`first_touch`, `last_touch`, `linear`, `position_based`, `time_decay`,
  `last_non_organic`): one conversion at a time, split over that journey's touches by their
  position or their time before the purchase.
- **Markov** (`markov`, data-driven): per month, the journeys as a chain of steps from channel to
  channel, so the order matters; a channel's credit is what would be lost if it were removed
  (its removal effect, on the Channel paths page).
- **Shapley** (`shapley`, data-driven): per month, only which channels a journey had (its
  channel set, order and repeats ignored) and how often journeys with that set convert; each
  set's conversion rate is shared equally by its channels.

Markov and Shapley split the month's conversions and revenue in proportion to the channels'
values, so every model adds up to the same total.
"""
)
shares = credit.assign(share=credit["attributed_conversions"]
                       / credit.groupby("attribution_model")["attributed_conversions"]
                       .transform("sum"))
largest = shares.loc[shares.groupby("attribution_model")["share"].idxmax()]
largest = largest.set_index("attribution_model").reindex(models)
st.markdown(f"The largest channel's share of the conversions of {month[:7]}, by model: "
            + "; ".join(f"`{model}` {row.share:.0%} ({row.channel})"
                        for model, row in largest.iterrows()) + ".")

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

st.subheader(f"CAC of first purchases under each attribution model, {month[:7]}")
st.markdown(
    """
A user's first purchase (their first conversion) is what acquisition spend buys: under each
model, the CAC of first purchases is the channel's spend over the first purchases the model
credits to it (empty where it credits none). `CAC` is spend over new paying users (the channel
of their first paid session, refunded or not), so it can differ from last touch's a little.
"""
)
prefix = "first_purchase_cac_"
this_performance = query("select * from analytics.channel_performance_monthly "
                         "where month = %s order by channel", (month,))
cac_models = model_order(column.removeprefix(prefix) for column in this_performance.columns
                         if column.startswith(prefix))
first_cac = this_performance.set_index("channel")[
    ["spend", "cac", *(prefix + model for model in cac_models)]]
first_cac.columns = ["spend", "CAC", *cac_models]
st.table(first_cac.astype(float).style.format("{:.2f}", na_rep=""))
first_cac_long = (first_cac[first_cac["spend"] > 0][cac_models].reset_index()
                  .melt(id_vars="channel", var_name="attribution_model",
                        value_name="first_purchase_cac").dropna())
st.altair_chart(svg(alt.Chart(first_cac_long).mark_bar().encode(
    x=alt.X("channel:N"), xOffset=alt.XOffset("attribution_model:N", sort=cac_models),
    y=alt.Y("first_purchase_cac:Q", title="CAC of first purchases"),
    color=alt.Color("attribution_model:N", sort=cac_models),
    tooltip=["channel", "attribution_model",
             alt.Tooltip("first_purchase_cac:Q", format=".2f")],
)), use_container_width=True)
purchases = query("select channel, attribution_model, purchase_type, attributed_conversions "
                  "from analytics.channel_attribution_by_purchase_monthly where month = %s",
                  (month,))
by_type = purchases.groupby(["purchase_type", "attribution_model"])["attributed_conversions"].sum()
for box, purchase_type in zip(st.columns(2), ("first", "repeat"), strict=True):
    # Every model credits all of the month's purchases of a type: the same total under each.
    total = by_type[purchase_type].max() if purchase_type in by_type.index else 0.0
    box.metric(f"{purchase_type.capitalize()} purchases, {month[:7]}", f"{total:.0f}")
st.markdown("First purchases credited to each channel under each model (the CAC's denominator):")
first_credit = purchases[purchases["purchase_type"] == "first"].pivot_table(
    index="channel", columns="attribution_model", values="attributed_conversions",
    aggfunc="sum", fill_value=0.0)
st.table(first_credit[model_order(first_credit.columns)].style.format("{:.2f}"))

st.subheader(f"ROAS by channel under each attribution model, {month[:7]}")
roas = query("select channel, attribution_model, roas from analytics.channel_roas_monthly "
             "where month = %s and roas is not null", (month,))
st.altair_chart(svg(alt.Chart(roas).mark_bar().encode(
    x=alt.X("channel:N"), xOffset=alt.XOffset("attribution_model:N", sort=models),
    y=alt.Y("roas:Q", title="ROAS"), color=alt.Color("attribution_model:N", sort=models),
    tooltip=["channel", "attribution_model", "roas"],
)), use_container_width=True)
