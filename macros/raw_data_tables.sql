{#- The raw tables the ETL loads, in the order reports list them. -#}
{% macro raw_data_tables() -%}
    {{ return([
        'user_session_channel',
        'session_timestamp',
        'session_transaction',
        'channel',
        'nps',
        'user_event',
        'user_variant',
        'user_metadata',
        'ad_spend',
    ]) }}
{%- endmacro %}
