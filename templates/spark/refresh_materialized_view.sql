{#- Spark has no materialized views: `materialize` refuses them before
    rendering this (`Adapter::supports_materialized_views`). -#}
