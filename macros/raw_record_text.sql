{#-
    A raw row as one line of text for the quarantine: `col='value', col=null`. Every value is
    quoted (a quote inside doubled) and a NULL is the bare word null, so a NULL can be told
    from any string, the text 'null' included. With with_names=false: the bare values joined
    by `separator`, `null` for a missing one (the record_key). `prefix` qualifies the columns
    (`checked.`) without changing the names written.
    Portable: built with dbt's cross-database `concat`, `replace` and `type_string`.
-#}
{% macro raw_record_text(columns, separator=', ', with_names=true, prefix='') -%}
{%- set parts = [] -%}
{%- for column in columns -%}
    {%- if not loop.first -%}{%- do parts.append("'" ~ separator ~ "'") -%}{%- endif -%}
    {%- set value = "cast(" ~ prefix ~ column ~ " as " ~ dbt.type_string() ~ ")" -%}
    {%- if with_names -%}
        {%- do parts.append("'" ~ column ~ "='") -%}
        {%- do parts.append("coalesce(" ~ dbt.concat(["''''", dbt.replace(value, "''''", "''''''"), "''''"]) ~ ", 'null')") -%}
    {%- else -%}
        {%- do parts.append("coalesce(" ~ value ~ ", 'null')") -%}
    {%- endif -%}
{%- endfor -%}
{{ dbt.concat(parts) if parts | length > 1 else parts[0] }}
{%- endmacro %}
