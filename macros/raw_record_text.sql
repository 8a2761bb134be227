{#-
    A raw row as one line of text for the quarantine: `col=value, col=value`, with `null`
    for a missing value (or, with with_names=false, the bare values joined by `separator`).
    Portable: built with dbt's cross-database `concat` and `type_string`.
-#}
{% macro raw_record_text(columns, separator=', ', with_names=true) -%}
{%- set parts = [] -%}
{%- for column in columns -%}
    {%- if not loop.first -%}{%- do parts.append("'" ~ separator ~ "'") -%}{%- endif -%}
    {%- if with_names -%}{%- do parts.append("'" ~ column ~ "='") -%}{%- endif -%}
    {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), 'null')") -%}
{%- endfor -%}
{{ dbt.concat(parts) if parts | length > 1 else parts[0] }}
{%- endmacro %}
