{#- The attribution models, declared once: the rule-based ones (per conversion, from
    int_touchpoints_weighted's `<model>_weight` columns) in their order, then the data-driven
    ones (per month, from a month's journeys). -#}
{% macro rule_based_attribution_models() -%}
    {{ return(['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay', 'last_non_organic']) }}
{%- endmacro %}


{% macro attribution_models() -%}
    {{ return(rule_based_attribution_models() + ['markov', 'shapley']) }}
{%- endmacro %}


{#- A query of one row per attribution model (column attribution_model): listed, not read
    from a mart, so a model that lost all its rows still has a row. -#}
{% macro attribution_model_rows() -%}
    {%- for attribution_model in attribution_models() %}
    select '{{ attribution_model }}' as attribution_model
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}


{#- A channel name as fct_journeys.channel_set holds it: '%' and '+' escaped as %25 and %2B
    (in that order), so the ' + ' between two names never occurs inside one. -#}
{% macro shapley_channel_key(channel) -%}
    {{ dbt.replace(dbt.replace(channel, "'%'", "'%25'"), "'+'", "'%2B'") }}
{%- endmacro %}
