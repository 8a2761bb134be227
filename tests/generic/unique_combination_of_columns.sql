{#-
    Fails for every combination of the given columns that occurs more than once: the
    uniqueness test for a grain of several columns (dbt_utils has one; hub packages are not
    reachable from our machines, so the project keeps its own). After an incremental build,
    on an incremental model whose grain includes the column it is rebuilt by, it reads the
    rebuilt keys' rows only (macro scoped_to_changed): a duplicate needs the same key.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grain as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as occurrences
    from {{ scoped_to_changed(model, combination_of_columns) }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from grain

{% endtest %}
