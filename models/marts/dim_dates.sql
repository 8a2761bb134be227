{#-
    The calendar: one row per day from the var `calendar_start_date` for 10,000 days (27 years),
    built from a cross join of digits (portable: Redshift has no series function for tables). MetricFlow's
    time spine (see _marts__models.yml).
-#}
{{ config(dist='all', sort=['date_day']) }}

with

digits as (

    select 0 as digit
    union all
    select 1 as digit
    union all
    select 2 as digit
    union all
    select 3 as digit
    union all
    select 4 as digit
    union all
    select 5 as digit
    union all
    select 6 as digit
    union all
    select 7 as digit
    union all
    select 8 as digit
    union all
    select 9 as digit

),

day_numbers as (

    select ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit as n
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands

),

final as (

    select
        cast(
            {{ dbt.dateadd('day', 'n', "cast('" ~ var('calendar_start_date') ~ "' as date)") }}
            as date
        ) as date_day
    from day_numbers

)

select * from final
