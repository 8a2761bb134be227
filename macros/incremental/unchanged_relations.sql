{#-
    The project's `table` and `view` materializations: dbt's own (the adapter's, on
    Redshift), except that a relation whose inputs, code, config and descriptions are the same
    as at its last build is not rebuilt (model_versions.sql): the same inputs give the same
    rows, the same code the same view. A no-op build rebuilds no mart and recreates no view; a
    build after new loads rebuilds the tables those loads reach. `--full-refresh` always
    rebuilds.
-#}
{% materialization table, default -%}
    {%- if relation_is_current('table') -%}{{ return(keep_current_relation('table')) }}{%- endif -%}
    {{ return(dbt.materialization_table_default()) }}
{%- endmaterialization %}

{% materialization table, adapter='redshift' -%}
    {%- if relation_is_current('table') -%}{{ return(keep_current_relation('table')) }}{%- endif -%}
    {{ return(dbt.materialization_table_redshift()) }}
{%- endmaterialization %}

{% materialization view, default -%}
    {%- if relation_is_current('view') -%}{{ return(keep_current_relation('view')) }}{%- endif -%}
    {{ return(dbt.materialization_view_default()) }}
{%- endmaterialization %}

{% materialization view, adapter='redshift' -%}
    {%- if relation_is_current('view') -%}{{ return(keep_current_relation('view')) }}{%- endif -%}
    {{ return(dbt.materialization_view_redshift()) }}
{%- endmaterialization %}
