{#- `names` as a comma-separated list of SQL string literals. -#}
{% macro _quoted(names) -%}
    {%- set quoted = [] -%}
    {%- for name in names -%}{%- do quoted.append(_sql_string(name)) -%}{%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}


{#- value as an SQL string literal (a name may hold a quote). -#}
{% macro _sql_string(value) -%}
    {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{%- endmacro %}
