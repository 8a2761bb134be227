{#-
    `unique`, for a large incremental model: fails for every value of `column_name` held by
    more than one row of the relation, among the values of the rows written since this test
    last passed (column `written_by_run`, macros/incremental/build_runs.sql). A new row that
    repeats an old row's value is caught: the old row is counted too. Reads the whole relation
    when the test's last result was not a pass (or it never ran), and with
    `--vars '{test_scope: full}'`. Nulls are not counted, as in dbt's `unique`.
-#}
{% test unique_in_new_rows(model, column_name, written_by_run='_written_by_run') %}

with

new_values as (

    select {{ column_name }} as unique_field
    from {{ model }}
    where
        {{ written_since_last_pass(written_by_run) }}
        and {{ column_name }} is not null

),

duplicates as (

    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ model }}
    where {{ column_name }} in (select new_values.unique_field from new_values)
    group by {{ column_name }}
    having count(*) > 1

)

select * from duplicates

{% endtest %}
