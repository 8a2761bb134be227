{#-
    The dbt var path_max_steps, validated at compile time: how many trailing steps of a
    transformed path path_transform_summary_monthly keeps.
-#}
{% macro path_max_steps() -%}
    {%- set value = var('path_max_steps') -%}
    {%- if value is boolean or value is not number or value < 1 or value != value | int -%}
        {{ exceptions.raise_compiler_error(
            "var path_max_steps must be a whole number >= 1, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}


{#-
    The last `steps` steps of a path whose steps are joined by ' > ' (the whole path when it
    has no more). Portable: split_part with positive part numbers, as Redshift has it (no
    arrays, no negative parts), one part per kept step.
-#}
{% macro path_last_steps(path, steps) -%}
    {%- set delimiter = "' > '" -%}
    {%- set step_count = '((' ~ dbt.length(path) ~ ' - ' ~ dbt.length(dbt.replace(path, delimiter, "''")) ~ ') / 3 + 1)' -%}
    {%- set parts = [] -%}
    {%- for offset in range(steps) -%}
        {%- set part_number = '(' ~ step_count ~ ' - ' ~ (steps - 1 - offset) ~ ')' -%}
        {%- set prefix = "''" if loop.first else "case when " ~ part_number ~ " >= 2 then " ~ delimiter ~ " else '' end" -%}
        {%- do parts.append(
            'case when ' ~ part_number ~ ' >= 1 then '
            ~ dbt.concat([prefix, 'split_part(' ~ path ~ ', ' ~ delimiter ~ ', ' ~ part_number ~ ')'])
            ~ " else '' end") -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}


{#- A channel name as a step of fct_journeys' path keys: '%' and '>' escaped as %25 and %3E
    (in that order), so the ' > ' between two steps never occurs inside one. -#}
{% macro path_step_key(channel) -%}
    {{ dbt.replace(dbt.replace(channel, "'%'", "'%25'"), "'>'", "'%3E'") }}
{%- endmacro %}


{#- A path key (or part of one) read back as names: path_step_key undone, '%3E' first (an
    escaped '%' is '%25', so '%3E' can only be an escaped '>'). -#}
{% macro path_from_key(key) -%}
    {{ dbt.replace(dbt.replace(key, "'%3E'", "'>'"), "'%25'", "'%'") }}
{%- endmacro %}
