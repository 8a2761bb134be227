{#- True when two values differ, a NULL on one side only included (`a <> b` alone lets a
    NULL through): the comparison every reconciliation test uses. Portable (no IS DISTINCT
    FROM on Redshift). -#}
{% macro differs(left, right) -%}
    ({{ left }} <> {{ right }} or ({{ left }} is null and {{ right }} is not null) or ({{ left }} is not null and {{ right }} is null))
{%- endmacro %}
