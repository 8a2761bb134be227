{#-
    Schema names per the data contract: on the `prod` and `local` targets a model's custom
    schema is used as it is (`staging`, `analytics`, `snapshots`); on every other target
    (a person's `dev`, a pull request's `ci`) it is prefixed with the target's schema, so that
    nothing collides with production.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- elif target.name in ('prod', 'local') -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema | trim }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
