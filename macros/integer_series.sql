{#- A subquery of the integers 0 .. 10^digits - 1, one row each, as `n`: a cross join of
    digits, since a series function runs only on Redshift's leader node and cannot feed a
    table. -#}
{% macro integer_series(digits=4) -%}
    {%- set places = range(digits) | list -%}
    (
        select
            {% for place in places -%}
            place_{{ place }}.digit * {{ 10 ** place }}{{ " + " if not loop.last }}
            {%- endfor %} as n
        from
            {%- for place in places %}
            (
                {%- for digit in range(10) %}
                select {{ digit }} as digit{{ " union all" if not loop.last }}
                {%- endfor %}
            ) as place_{{ place }}{{ "" if loop.last else " cross join" }}
            {%- endfor %}
    )
{%- endmacro %}
