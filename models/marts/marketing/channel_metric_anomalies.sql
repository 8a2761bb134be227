{#- One row per channel, day and metric flagged: a day's spend, sessions, conversions,
    conversion rate or CAC far from the same weekday's usual value (docs/alerts.md).
    - baseline: the median of the metric on the same weekday of the trailing
      `anomaly_baseline_weeks` weeks (weekly seasonality: Google's weekends are quieter);
    - log ratio: ln(value / baseline), so doubling and halving are equally far; a value under
      a hundredth of the baseline (0 included) counts as a hundredth;
    - spread: 1.4826 x the median absolute log ratio of the trailing 7 x weeks days (a MAD,
      read as a standard deviation), never below 0.1: pooled over every weekday, so it rests
      on about 56 days, not 8, and one odd day in the history neither moves it nor the median;
    - robust score: log ratio / spread; flagged when |score| >= `anomaly_threshold`.
    Scored only with enough history (3/4 of the weeks, half of the spread's days), a baseline
    above 0 (Organic's spend is never scored), and for a metric that counts (sessions,
    conversions and their rate, CAC's new paying users) an average of at least
    `anomaly_min_count` on those weekdays: below it, chance alone moves a day further than the
    threshold. A table rebuilt every run, over every complete day. -#}
{{ config(dist='all', sort=['metric_date']) }}
{%- set weeks = var('anomaly_baseline_weeks') | int %}
{%- set threshold = var('anomaly_threshold') | float %}
{%- set min_count = var('anomaly_min_count') | float %}
{%- if weeks < 2 or threshold <= 0 or min_count < 0 %}
    {{ exceptions.raise_compiler_error(
        "anomaly_baseline_weeks must be at least 2, anomaly_threshold above 0 and "
        ~ "anomaly_min_count at least 0") }}
{%- endif %}
{%- set min_baseline_days = ((3 * weeks + 3) // 4) %}
{%- set spread_days = 7 * weeks %}
{%- set same_weekday = 'partition by channel, metric, day_of_week order by metric_date' %}
{%- set by_day = 'partition by channel, metric order by metric_date' %}
{%- set rule = 'same weekday over ' ~ weeks ~ ' weeks: |robust score| >= ' ~ threshold %}

with

daily as (

    select
        metric_date,
        channel,
        spend,
        sessions,
        conversions,
        new_paying_users,
        conversion_rate,
        cac
    from {{ ref('int_channel_metrics_daily') }}

),

daily_with_weekday as (

    select
        metric_date,
        channel,
        spend,
        sessions,
        conversions,
        new_paying_users,
        conversion_rate,
        cac,
        mod({{ dbt.datediff("cast('1970-01-01' as date)", 'metric_date', 'day') }}, 7) as day_of_week
    from daily

),

metric_values as (

    -- one row per channel, day and metric: its value, and the count it rests on (none for spend)
    {#- [metric, value, volume]; spend last: its null volume takes the type of the branches
        before it (a cast of null there would read, to the Redshift dry run, as a contract's
        column list) -#}
    {%- set metrics = [
        ['sessions', 'cast(sessions as double precision)', 'cast(sessions as double precision)'],
        ['conversions', 'cast(conversions as double precision)', 'cast(conversions as double precision)'],
        ['conversion_rate', 'conversion_rate', 'cast(conversions as double precision)'],
        ['cac', 'cast(cac as double precision)', 'cast(new_paying_users as double precision)'],
        ['spend', 'cast(spend as double precision)', 'null'],
    ] %}
    {%- for metric, value, volume in metrics %}
    select
        metric_date,
        channel,
        day_of_week,
        cast('{{ metric }}' as varchar(32)) as metric,
        {{ value }} as metric_value,
        {{ volume }} as volume
    from daily_with_weekday
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

weeks_back as (

    {%- for week in range(1, weeks + 1) %}
    select {{ week }} as weeks_back
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

days_back as (

    {%- for day in range(1, spread_days + 1) %}
    select {{ day }} as days_back
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

-- Window functions, not self-joins, find the trailing days: one pass over the rows whatever
-- the planner guesses (a day without any data, on no channel, is skipped, not a gap).
same_weekday_history as (

    select
        metric_date,
        channel,
        metric,
        metric_value,
        {%- for week in range(1, weeks + 1) %}
        lag(metric_value, {{ week }}) over ({{ same_weekday }}) as value_{{ week }}_weeks_back,
        lag(volume, {{ week }}) over ({{ same_weekday }}) as volume_{{ week }}_weeks_back
        {{- "," if not loop.last }}
        {%- endfor %}
    from metric_values

),

same_weekdays as (

    -- one row per day and trailing week
    select
        same_weekday_history.metric_date,
        same_weekday_history.channel,
        same_weekday_history.metric,
        same_weekday_history.metric_value,
        case weeks_back.weeks_back
            {%- for week in range(1, weeks + 1) %}
            when {{ week }} then same_weekday_history.value_{{ week }}_weeks_back
            {%- endfor %}
        end as past_value,
        case weeks_back.weeks_back
            {%- for week in range(1, weeks + 1) %}
            when {{ week }} then same_weekday_history.volume_{{ week }}_weeks_back
            {%- endfor %}
        end as past_volume
    from same_weekday_history
    cross join weeks_back

),

baselines as (

    select
        metric_date,
        channel,
        metric,
        metric_value,
        count(past_value) as baseline_days,
        avg(past_volume) as baseline_volume,
        percentile_cont(0.5) within group (order by past_value) as baseline
    from same_weekdays
    group by metric_date, channel, metric, metric_value

),

log_ratios as (

    -- null where the day is not scored
    select
        metric_date,
        channel,
        metric,
        metric_value,
        baseline,
        case
            when
                metric_value is not null
                and baseline > 0
                and baseline_days >= {{ min_baseline_days }}
                and (baseline_volume is null or baseline_volume >= {{ min_count }})
                then ln(greatest(metric_value, baseline / 100) / baseline)
        end as log_ratio
    from baselines

),

spread_history as (

    select
        metric_date,
        channel,
        metric,
        metric_value,
        baseline,
        log_ratio,
        {%- for day in range(1, spread_days + 1) %}
        lag(abs(log_ratio), {{ day }}) over ({{ by_day }}) as deviation_{{ day }}_days_back
        {{- "," if not loop.last }}
        {%- endfor %}
    from log_ratios

),

trailing_days as (

    -- one row per scored day and trailing day
    select
        spread_history.metric_date,
        spread_history.channel,
        spread_history.metric,
        spread_history.metric_value,
        spread_history.baseline,
        spread_history.log_ratio,
        case days_back.days_back
            {%- for day in range(1, spread_days + 1) %}
            when {{ day }} then spread_history.deviation_{{ day }}_days_back
            {%- endfor %}
        end as past_deviation
    from spread_history
    cross join days_back
    where spread_history.log_ratio is not null

),

spreads as (

    select
        metric_date,
        channel,
        metric,
        metric_value,
        baseline,
        log_ratio,
        count(past_deviation) as spread_days,
        1.4826 * percentile_cont(0.5) within group (order by past_deviation) as spread
    from trailing_days
    group by metric_date, channel, metric, metric_value, baseline, log_ratio

),

scores as (

    select
        metric_date,
        channel,
        metric,
        metric_value,
        baseline,
        greatest(spread, 0.1) as spread,
        log_ratio / greatest(spread, 0.1) as robust_score
    from spreads
    where spread_days >= {{ spread_days // 2 }}

),

evaluated as (

    select max(metric_date) as evaluated_through
    from daily

),

final as (

    select
        cast(scores.metric_date as date) as metric_date,
        cast(scores.channel as varchar(32)) as channel,
        cast(scores.metric as varchar(32)) as metric,
        cast(scores.metric_value as double precision) as metric_value,
        cast(scores.baseline as double precision) as baseline,
        cast(scores.metric_value / scores.baseline - 1 as double precision) as relative_change,
        cast(scores.robust_score as double precision) as robust_score,
        cast(scores.spread as double precision) as spread,
        cast(case when scores.robust_score > 0 then 'up' else 'down' end as varchar(4))
            as direction,
        cast('{{ rule }}' as varchar(128)) as flag_rule,
        cast(evaluated.evaluated_through as date) as evaluated_through
    from scores
    cross join evaluated
    where abs(scores.robust_score) >= {{ threshold }}

)

select * from final
