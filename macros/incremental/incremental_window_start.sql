{#-
    The first date an incremental run of the current model rebuilds, as a SQL expression of
    type date; every row of the model on or after it is deleted and selected again
    (delete+insert on the period column). Only call it inside `{% if is_incremental() %}`.

    Daily models (no `upstream`): the model's own newest `period_column` minus
    `incremental_lookback_days` days. New rows are never older than the previous run's
    newest day, and late rows up to the lookback land inside the window.

    Monthly models (`upstream` and `upstream_column`, a daily model they read): the month of
    the upstream's newest day minus the lookback, or the model's own newest month if that is
    earlier (a run after several missed days still starts at the last month it built).

    An empty model gives 1900-01-01: everything.
-#}
{% macro incremental_window_start(period_column, upstream=none, upstream_column=none) -%}
    {%- set lookback = incremental_lookback_days() -%}
    {%- set own_newest = '(select max(window_this.' ~ period_column ~ ') as newest from '
        ~ this ~ ' as window_this)' -%}
    {%- if upstream is none -%}
        {%- set start = 'cast(' ~ dbt.dateadd('day', -lookback, own_newest) ~ ' as date)' -%}
    {%- else -%}
        {%- set upstream_newest = '(select max(window_upstream.' ~ upstream_column
            ~ ') as newest from ' ~ upstream ~ ' as window_upstream)' -%}
        {%- set upstream_start = dbt.date_trunc(
            'month', dbt.dateadd('day', -lookback, upstream_newest)) -%}
        {%- set start = 'least(cast(' ~ upstream_start ~ ' as date), ' ~ own_newest ~ ')' -%}
    {%- endif -%}
    coalesce({{ start }}, cast('1900-01-01' as date))
{%- endmacro %}
