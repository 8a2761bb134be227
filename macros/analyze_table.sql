{#-
    Refresh the planner statistics of the table a model just built. PostgreSQL does not
    analyze a new table by itself, and without statistics it guesses filtered row counts
    far too low and picks nested loops; Redshift analyzes on `create table as` already, so
    there it is a no-op unless the table was changed in place (incremental models).
    On PostgreSQL an incremental run that rewrote only some keys leaves it to autovacuum,
    which analyzes a table once a tenth of it changed (as Redshift's ANALYZE skips a table
    under analyze_threshold_percent): an ANALYZE samples the whole table however little was
    written, seconds per run on the large intermediates.
-#}
{% macro analyze_table() -%}
    {{ return(adapter.dispatch('analyze_table')()) }}
{%- endmacro %}

{% macro default__analyze_table() -%}
    {%- if model.config.materialized in ('table', 'incremental', 'snapshot') and not _nothing_written()
            and not _some_keys_rewritten() -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro redshift__analyze_table() -%}
    {%- if model.config.materialized == 'incremental' and not _nothing_written() -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- An incremental run with an empty load window wrote nothing: its statistics still hold. -#}
{% macro _nothing_written() -%}
    {{ return(execute and model.config.materialized == 'incremental' and is_incremental() and load_window().empty) }}
{%- endmacro %}


{#- An incremental run that rewrote the keys of its window, not the whole table. -#}
{% macro _some_keys_rewritten() -%}
    {{ return(execute and model.config.materialized == 'incremental' and is_incremental() and not load_window().full) }}
{%- endmacro %}
