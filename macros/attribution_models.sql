{#- The attribution models, declared once: the rule-based ones (per conversion, from
    int_touchpoints_weighted's `<model>_weight` columns) in their order, then the data-driven
    ones (per month, from a month's journeys). -#}
{% macro rule_based_attribution_models() -%}
    {{ return(['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay', 'last_non_organic']) }}
{%- endmacro %}


{% macro attribution_models() -%}
    {{ return(rule_based_attribution_models() + ['markov', 'shapley']) }}
{%- endmacro %}
