{{ config(severity='warn') }}

{#- Warns, naming them, about the channel metrics flagged in the newest week scored
    (channel_metric_anomalies): a flag stays in the build's log for a week, so a day without a
    build, or a late look at the log, still shows it. `warehouse alert` sends the newest day's. -#}
with

anomalies as (

    select
        metric_date,
        channel,
        metric,
        metric_value,
        baseline,
        robust_score,
        evaluated_through
    from {{ ref('channel_metric_anomalies') }}

),

final as (

    select
        metric_date,
        channel,
        metric,
        metric_value,
        baseline,
        robust_score
    from anomalies
    where metric_date > {{ dbt.dateadd('day', -7, 'evaluated_through') }}

)

select * from final
