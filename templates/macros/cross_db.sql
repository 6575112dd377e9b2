{#- dbt's cross-database macros, with dbt's names and arguments. Each public macro
    dispatches: a project macro `<name>`, `<adapter>__<name>` or `default__<name>`
    overrides dvt's. The PostgreSQL, DuckDB and Spark versions give the same values,
    except that `safe_cast` is a plain cast on PostgreSQL, which has no `try_cast`.
    The Spark versions are at the end of this file. -#}

{#- Dates and times -#}

{% macro date_trunc(datepart, date) -%}
    {{ return(adapter.dispatch('date_trunc', 'dbt')(datepart, date)) }}
{%- endmacro %}

{% macro default__date_trunc(datepart, date) -%}
    date_trunc('{{ datepart }}', {{ date }})
{%- endmacro %}

{% macro datediff(first_date, second_date, datepart) -%}
    {{ return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) }}
{%- endmacro %}

{% macro default__datediff(first_date, second_date, datepart) -%}
    datediff({{ datepart }}, {{ first_date }}, {{ second_date }})
{%- endmacro %}

{#- Counts the boundaries crossed, as dbt does: from 2024-01-31 to 2024-02-01 is one
    month. Weeks start on Sunday. -#}
{% macro postgres__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'year' -%}
        (date_part('year', ({{ second_date }})::date) - date_part('year', ({{ first_date }})::date))
    {%- elif datepart == 'quarter' -%}
        ({{ postgres__datediff(first_date, second_date, 'year') }} * 4 + date_part('quarter', ({{ second_date }})::date) - date_part('quarter', ({{ first_date }})::date))
    {%- elif datepart == 'month' -%}
        ({{ postgres__datediff(first_date, second_date, 'year') }} * 12 + date_part('month', ({{ second_date }})::date) - date_part('month', ({{ first_date }})::date))
    {%- elif datepart == 'week' -%}
        {#- The days between the Sundays starting each week, divided by 7. dbt-postgres
            compares the arguments themselves instead, which counts -1 for a later
            time on the same day. -#}
        (({{ postgres__datediff(first_date, second_date, 'day') }} + date_part('dow', ({{ first_date }})::date) - date_part('dow', ({{ second_date }})::date)) / 7)
    {%- elif datepart == 'day' -%}
        (({{ second_date }})::date - ({{ first_date }})::date)
    {%- elif datepart == 'hour' -%}
        ({{ postgres__datediff(first_date, second_date, 'day') }} * 24 + date_part('hour', ({{ second_date }})::timestamp) - date_part('hour', ({{ first_date }})::timestamp))
    {%- elif datepart == 'minute' -%}
        ({{ postgres__datediff(first_date, second_date, 'hour') }} * 60 + date_part('minute', ({{ second_date }})::timestamp) - date_part('minute', ({{ first_date }})::timestamp))
    {%- elif datepart == 'second' -%}
        ({{ postgres__datediff(first_date, second_date, 'minute') }} * 60 + floor(date_part('second', ({{ second_date }})::timestamp)) - floor(date_part('second', ({{ first_date }})::timestamp)))
    {%- elif datepart == 'millisecond' -%}
        ({{ postgres__datediff(first_date, second_date, 'minute') }} * 60000 + floor(date_part('millisecond', ({{ second_date }})::timestamp)) - floor(date_part('millisecond', ({{ first_date }})::timestamp)))
    {%- elif datepart == 'microsecond' -%}
        ({{ postgres__datediff(first_date, second_date, 'minute') }} * 60000000 + floor(date_part('microsecond', ({{ second_date }})::timestamp)) - floor(date_part('microsecond', ({{ first_date }})::timestamp)))
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff: unsupported datepart `" ~ datepart ~ "`; use year, quarter, month, week, day, hour, minute, second, millisecond or microsecond") }}
    {%- endif -%}
{%- endmacro %}

{#- DuckDB's date_diff counts boundaries too, except for weeks, which it counts as
    whole 7-day spans. -#}
{% macro duckdb__datediff(first_date, second_date, datepart) -%}
    {%- if datepart in ['year', 'quarter', 'month', 'day'] -%}
        date_diff('{{ datepart }}', ({{ first_date }})::date, ({{ second_date }})::date)
    {%- elif datepart == 'week' -%}
        ((date_diff('day', ({{ first_date }})::date, ({{ second_date }})::date) + date_part('dow', ({{ first_date }})::date) - date_part('dow', ({{ second_date }})::date)) // 7)
    {%- elif datepart in ['hour', 'minute', 'second', 'millisecond', 'microsecond'] -%}
        date_diff('{{ datepart }}', ({{ first_date }})::timestamp, ({{ second_date }})::timestamp)
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff: unsupported datepart `" ~ datepart ~ "`; use year, quarter, month, week, day, hour, minute, second, millisecond or microsecond") }}
    {%- endif -%}
{%- endmacro %}

{% macro dateadd(datepart, interval, from_date_or_timestamp) -%}
    {{ return(adapter.dispatch('dateadd', 'dbt')(datepart, interval, from_date_or_timestamp)) }}
{%- endmacro %}

{% macro default__dateadd(datepart, interval, from_date_or_timestamp) -%}
    dateadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{#- PostgreSQL has no `quarter` interval, so a quarter is three months. -#}
{% macro postgres__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- set unit = '3 month' if datepart == 'quarter' else '1 ' ~ datepart -%}
    {{ from_date_or_timestamp }} + ((interval '{{ unit }}') * ({{ interval }}))
{%- endmacro %}

{#- DuckDB reads PostgreSQL's interval arithmetic, with the same month-end rules. -#}
{% macro duckdb__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {{ return(postgres__dateadd(datepart, interval, from_date_or_timestamp)) }}
{%- endmacro %}

{% macro last_day(date, datepart) -%}
    {{ return(adapter.dispatch('last_day', 'dbt')(date, datepart)) }}
{%- endmacro %}

{% macro default__last_day(date, datepart) -%}
    cast({{ dbt.dateadd('day', '-1', dbt.dateadd(datepart, '1', dbt.date_trunc(datepart, date))) }} as date)
{%- endmacro %}

{% macro current_timestamp() -%}
    {{ return(adapter.dispatch('current_timestamp', 'dbt')()) }}
{%- endmacro %}

{#- A timestamp with time zone on both PostgreSQL and DuckDB. -#}
{% macro default__current_timestamp() -%}
    now()
{%- endmacro %}

{#- Types and casts -#}

{% macro cast(field, type) -%}
    {{ return(adapter.dispatch('cast', 'dbt')(field, type)) }}
{%- endmacro %}

{% macro default__cast(field, type) -%}
    cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro safe_cast(field, type) -%}
    {{ return(adapter.dispatch('safe_cast', 'dbt')(field, type)) }}
{%- endmacro %}

{#- PostgreSQL has no `try_cast`: a value that does not convert is an error there. -#}
{% macro default__safe_cast(field, type) -%}
    cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro cast_bool_to_text(field) -%}
    {{ return(adapter.dispatch('cast_bool_to_text', 'dbt')(field)) }}
{%- endmacro %}

{% macro default__cast_bool_to_text(field) -%}
    cast({{ field }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro type_string() -%}
    {{ return(adapter.dispatch('type_string', 'dbt')()) }}
{%- endmacro %}

{% macro default__type_string() -%}
    text
{%- endmacro %}

{% macro type_int() -%}
    {{ return(adapter.dispatch('type_int', 'dbt')()) }}
{%- endmacro %}

{% macro default__type_int() -%}
    integer
{%- endmacro %}

{% macro type_bigint() -%}
    {{ return(adapter.dispatch('type_bigint', 'dbt')()) }}
{%- endmacro %}

{% macro default__type_bigint() -%}
    bigint
{%- endmacro %}

{% macro type_numeric() -%}
    {{ return(adapter.dispatch('type_numeric', 'dbt')()) }}
{%- endmacro %}

{% macro default__type_numeric() -%}
    numeric(28, 6)
{%- endmacro %}

{% macro type_float() -%}
    {{ return(adapter.dispatch('type_float', 'dbt')()) }}
{%- endmacro %}

{#- `float`: 8 bytes on PostgreSQL, 4 on DuckDB, as dbt-duckdb leaves it
    (jaffle-shop-expand's tables have `FLOAT` columns under dbt). -#}
{% macro default__type_float() -%}
    float
{%- endmacro %}

{% macro type_timestamp() -%}
    {{ return(adapter.dispatch('type_timestamp', 'dbt')()) }}
{%- endmacro %}

{% macro default__type_timestamp() -%}
    timestamp
{%- endmacro %}

{% macro type_boolean() -%}
    {{ return(adapter.dispatch('type_boolean', 'dbt')()) }}
{%- endmacro %}

{% macro default__type_boolean() -%}
    boolean
{%- endmacro %}

{#- Strings -#}

{% macro concat(fields) -%}
    {{ return(adapter.dispatch('concat', 'dbt')(fields)) }}
{%- endmacro %}

{% macro default__concat(fields) -%}
    {{ fields | join(' || ') }}
{%- endmacro %}

{% macro hash(field) -%}
    {{ return(adapter.dispatch('hash', 'dbt')(field)) }}
{%- endmacro %}

{% macro default__hash(field) -%}
    md5(cast({{ field }} as {{ dbt.type_string() }}))
{%- endmacro %}

{% macro split_part(string_text, delimiter_text, part_number) -%}
    {{ return(adapter.dispatch('split_part', 'dbt')(string_text, delimiter_text, part_number)) }}
{%- endmacro %}

{#- A negative part counts from the end, on DuckDB and on PostgreSQL 14 or later. -#}
{% macro default__split_part(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}

{% macro string_literal(value) -%}
    {{ return(adapter.dispatch('string_literal', 'dbt')(value)) }}
{%- endmacro %}

{#- As in dbt, the value is not escaped: see escape_single_quotes. -#}
{% macro default__string_literal(value) -%}
    '{{ value }}'
{%- endmacro %}

{% macro escape_single_quotes(expression) -%}
    {{ return(adapter.dispatch('escape_single_quotes', 'dbt')(expression)) }}
{%- endmacro %}

{% macro default__escape_single_quotes(expression) -%}
    {{ expression | replace("'", "''") }}
{%- endmacro %}

{% macro replace(field, old_chars, new_chars) -%}
    {{ return(adapter.dispatch('replace', 'dbt')(field, old_chars, new_chars)) }}
{%- endmacro %}

{% macro default__replace(field, old_chars, new_chars) -%}
    replace({{ field }}, {{ old_chars }}, {{ new_chars }})
{%- endmacro %}

{% macro length(expression) -%}
    {{ return(adapter.dispatch('length', 'dbt')(expression)) }}
{%- endmacro %}

{% macro default__length(expression) -%}
    length({{ expression }})
{%- endmacro %}

{% macro position(substring_text, string_text) -%}
    {{ return(adapter.dispatch('position', 'dbt')(substring_text, string_text)) }}
{%- endmacro %}

{% macro default__position(substring_text, string_text) -%}
    position({{ substring_text }} in {{ string_text }})
{%- endmacro %}

{% macro right(string_text, length_expression) -%}
    {{ return(adapter.dispatch('right', 'dbt')(string_text, length_expression)) }}
{%- endmacro %}

{% macro default__right(string_text, length_expression) -%}
    right({{ string_text }}, {{ length_expression }})
{%- endmacro %}

{#- Aggregates -#}

{% macro listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) -%}
    {{ return(adapter.dispatch('listagg', 'dbt')(measure, delimiter_text, order_by_clause, limit_num)) }}
{%- endmacro %}

{% macro default__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        array_to_string(array_slice(array_agg({{ measure }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}, 0, {{ limit_num }}), {{ delimiter_text }})
    {%- else -%}
        listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
    {%- endif -%}
{%- endmacro %}

{% macro postgres__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        array_to_string((array_agg({{ measure }}{% if order_by_clause %} {{ order_by_clause }}{% endif %}))[1:{{ limit_num }}], {{ delimiter_text }})
    {%- else -%}
        string_agg({{ measure }}, {{ delimiter_text }}{% if order_by_clause %} {{ order_by_clause }}{% endif %})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        list_aggr((array_agg({{ measure }}{% if order_by_clause %} {{ order_by_clause }}{% endif %}))[1:{{ limit_num }}], 'string_agg', {{ delimiter_text }})
    {%- else -%}
        string_agg({{ measure }}, {{ delimiter_text }}{% if order_by_clause %} {{ order_by_clause }}{% endif %})
    {%- endif -%}
{%- endmacro %}

{% macro any_value(expression) -%}
    {{ return(adapter.dispatch('any_value', 'dbt')(expression)) }}
{%- endmacro %}

{% macro default__any_value(expression) -%}
    any_value({{ expression }})
{%- endmacro %}

{#- PostgreSQL 15 has no any_value. DuckDB's picks whichever row comes first, so
    both take the smallest, which keeps their results equal. -#}
{% macro postgres__any_value(expression) -%}
    min({{ expression }})
{%- endmacro %}

{% macro duckdb__any_value(expression) -%}
    min({{ expression }})
{%- endmacro %}

{% macro bool_or(expression) -%}
    {{ return(adapter.dispatch('bool_or', 'dbt')(expression)) }}
{%- endmacro %}

{% macro default__bool_or(expression) -%}
    bool_or({{ expression }})
{%- endmacro %}

{#- Set operators -#}

{% macro except() -%}
    {{ return(adapter.dispatch('except', 'dbt')()) }}
{%- endmacro %}

{% macro default__except() -%}
    except
{%- endmacro %}

{% macro intersect() -%}
    {{ return(adapter.dispatch('intersect', 'dbt')()) }}
{%- endmacro %}

{% macro default__intersect() -%}
    intersect
{%- endmacro %}

{#- Arrays. PostgreSQL and DuckDB both read `array[...]`, `array_append` and
    `array_cat`; an empty array needs its element type. -#}

{% macro array_construct(inputs=[], data_type=api.Column.translate_type('integer')) -%}
    {{ return(adapter.dispatch('array_construct', 'dbt')(inputs, data_type)) }}
{%- endmacro %}

{% macro default__array_construct(inputs, data_type) -%}
    {%- if inputs | length > 0 -%}
        array[{{ inputs | join(', ') }}]
    {%- else -%}
        array[]::{{ data_type }}[]
    {%- endif -%}
{%- endmacro %}

{% macro array_append(array, new_element) -%}
    {{ return(adapter.dispatch('array_append', 'dbt')(array, new_element)) }}
{%- endmacro %}

{% macro default__array_append(array, new_element) -%}
    array_append({{ array }}, {{ new_element }})
{%- endmacro %}

{% macro array_concat(array_1, array_2) -%}
    {{ return(adapter.dispatch('array_concat', 'dbt')(array_1, array_2)) }}
{%- endmacro %}

{% macro default__array_concat(array_1, array_2) -%}
    array_cat({{ array_1 }}, {{ array_2 }})
{%- endmacro %}

{#- Spark SQL (dbt-spark's spellings where it has them). -#}

{#- Boundaries crossed, as postgres__datediff counts them. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'year' -%}
        (year({{ second_date }}) - year({{ first_date }}))
    {%- elif datepart == 'quarter' -%}
        ({{ spark__datediff(first_date, second_date, 'year') }} * 4 + quarter({{ second_date }}) - quarter({{ first_date }}))
    {%- elif datepart == 'month' -%}
        ({{ spark__datediff(first_date, second_date, 'year') }} * 12 + month({{ second_date }}) - month({{ first_date }}))
    {%- elif datepart == 'week' -%}
        (({{ spark__datediff(first_date, second_date, 'day') }} + dayofweek({{ first_date }}) - dayofweek({{ second_date }})) div 7)
    {%- elif datepart == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif datepart == 'hour' -%}
        ({{ spark__datediff(first_date, second_date, 'day') }} * 24 + hour({{ second_date }}) - hour({{ first_date }}))
    {%- elif datepart == 'minute' -%}
        ({{ spark__datediff(first_date, second_date, 'hour') }} * 60 + minute({{ second_date }}) - minute({{ first_date }}))
    {%- elif datepart == 'second' -%}
        ({{ spark__datediff(first_date, second_date, 'minute') }} * 60 + floor(second({{ second_date }})) - floor(second({{ first_date }})))
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff: unsupported datepart `" ~ datepart ~ "` on Spark; use year, quarter, month, week, day, hour, minute or second") }}
    {%- endif -%}
{%- endmacro %}

{#- A timestamp, as PostgreSQL's `+ interval` gives. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{% macro spark__current_timestamp() -%}
    current_timestamp()
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__type_string() -%}
    string
{%- endmacro %}

{% macro spark__type_float() -%}
    double
{%- endmacro %}

{% macro spark__type_numeric() -%}
    decimal(28, 6)
{%- endmacro %}

{#- Spark's any_value takes whichever row comes first; the smallest keeps results
    equal to the other adapters'. -#}
{% macro spark__any_value(expression) -%}
    min({{ expression }})
{%- endmacro %}

{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        array_join(slice(array_agg({{ measure }}), 1, {{ limit_num }}), {{ delimiter_text }})
    {%- else -%}
        listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
    {%- endif -%}
{%- endmacro %}
