{#-
    The dbt var access_roles, validated at compile time: a list of plain lower-case SQL
    identifiers. The names are pasted into `create role` and `grant`, so anything else (a
    quoted name, a second statement) stops the run with a message naming the var.
    The var manage_access_roles must be true or false.
-#}
{% macro access_role_names() -%}
    {%- set roles = var('access_roles') -%}
    {%- if roles is string or roles is not iterable or roles is mapping or roles | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "var access_roles must be a list of role names, got '" ~ roles ~ "'") }}
    {%- endif -%}
    {%- for role in roles -%}
        {%- if role is not string or not modules.re.fullmatch('[a-z_][a-z0-9_]{0,62}', role)
              or role.startswith('pg_') -%}
            {{ exceptions.raise_compiler_error(
                "var access_roles: '" ~ role ~ "' is not a role name (lower-case letters, "
                ~ "digits and _, starting with a letter or _, at most 63 characters, not pg_*)") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if var('manage_access_roles', true) is not boolean -%}
        {{ exceptions.raise_compiler_error(
            "var manage_access_roles must be true or false, got '"
            ~ var('manage_access_roles') ~ "'") }}
    {%- endif -%}
    {{ return(roles | list) }}
{%- endmacro %}
