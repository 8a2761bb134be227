{#-
    Fails for every combination of the given columns that occurs more than once in the whole
    relation: the uniqueness test for a grain of several columns (dbt_utils has one; hub
    packages are not reachable from our machines, so the project keeps its own).
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grain as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from grain

{% endtest %}
