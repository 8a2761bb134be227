{#-
    Stop a hook or operation with one line when the dbt user lacks a permission it needs,
    before the statement that would fail inside the driver. `allowed` is the answer of a
    privilege check (can_create_roles, can_grant_on_schema); the table "What a first production
    build needs" in docs/production.md lists every permission.
-#}
{% macro require_privilege(allowed, action, needs) -%}
    {%- if not allowed -%}
        {{ exceptions.raise_compiler_error(
            'the dbt user ' ~ target.user ~ ' may not ' ~ action ~ ': that needs ' ~ needs
            ~ ' (docs/production.md, "What a first production build needs")') }}
    {%- endif -%}
{%- endmacro %}
