{#-
    `unique_combination_of_columns`, for a large incremental model: fails for every
    combination of the given columns held by more than one row of the relation, among the
    rows that share the first column's value with a row written since this test last passed
    (column `written_by_run`, macros/incremental/build_runs.sql), and the rows whose first
    column is null. A new row that repeats an old row's combination is caught: the old row is
    read too. Reads the whole relation when the test's last result was not a pass (or it
    never ran), and with `--vars '{test_scope: full}'`.
-#}
{% test unique_combination_of_columns_in_new_rows(model, combination_of_columns, written_by_run='_written_by_run') %}
{%- set first = combination_of_columns[0] %}

with

new_partitions as (

    select {{ first }} as partition_value
    from {{ model }}
    where
        {{ written_since_last_pass(written_by_run) }}
        and {{ first }} is not null

),

rows_in_scope as (

    select {{ combination_of_columns | join(', ') }}
    from {{ model }}
    where {{ first }} in (select new_partitions.partition_value from new_partitions)

    union all

    select {{ combination_of_columns | join(', ') }}
    from {{ model }}
    where {{ first }} is null

),

grain as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as occurrences
    from rows_in_scope
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from grain

{% endtest %}
