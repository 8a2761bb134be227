{#- The raw tables the ETL loads, in their declared order (var `raw_data_tables` in
    dbt_project.yml is the one declaration of names, columns, keys and rules). -#}
{% macro raw_data_tables() -%}
    {{ return(var('raw_data_tables').keys() | list) }}
{%- endmacro %}


{#- One raw table's declaration: columns (name -> type), key, and the contract's rules
    (`required`, `finite`, `not_after_load`), each a list, empty where the table has none. -#}
{% macro raw_data_table(table) -%}
    {%- set spec = var('raw_data_tables').get(table) -%}
    {%- if spec is none -%}
        {{ exceptions.raise_compiler_error("raw_data_table: '" ~ table ~ "' is not declared in var raw_data_tables") }}
    {%- endif -%}
    {{ return({
        'name': table,
        'columns': spec['columns'].keys() | list,
        'types': spec['columns'],
        'key': spec['key'],
        'required': spec.get('required', []),
        'finite': spec.get('finite', []),
        'not_after_load': spec.get('not_after_load', []),
    }) }}
{%- endmacro %}


{#- The raw tables' columns and types: {table: [[column, type], ...]}, without `_loaded_at`. -#}
{% macro raw_data_columns() -%}
    {%- set columns = {} -%}
    {%- for table, spec in var('raw_data_tables').items() -%}
        {%- do columns.update({table: spec['columns'].items() | list}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}


{#- The SQL default that stamps a raw row with its load time: the load transaction's start,
    in UTC, so every row of one load gets the same value. -#}
{% macro raw_data_loaded_at_default() -%}
    {{ return(adapter.dispatch('raw_data_loaded_at_default')()) }}
{%- endmacro %}

{% macro default__raw_data_loaded_at_default() -%}
    {{ return("timezone('utc', now())") }}
{%- endmacro %}

{% macro redshift__raw_data_loaded_at_default() -%}
    {{ return("sysdate") }}
{%- endmacro %}
