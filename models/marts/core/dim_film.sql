with films as (
    select * from {{ ref('stg_film') }}
),

film_categories as (
    select * from {{ ref('stg_film_category') }}
),

categories as (
    select * from {{ ref('stg_category') }}
),

languages as (
    select * from {{ ref('stg_language') }}
),

actor_counts as (
    select film_id, count(*) as actor_count
    from {{ ref('stg_film_actor') }}
    group by film_id
)

select
    films.film_id,
    films.title,
    films.description,
    films.release_year,
    films.rating,
    films.length_minutes,
    films.rental_duration_days,
    films.rental_rate,
    films.replacement_cost,
    films.special_features,
    categories.category_id,
    categories.category_name,
    languages.language_id,
    languages.language_name,
    coalesce(actor_counts.actor_count, 0) as actor_count
from films
left join film_categories on films.film_id = film_categories.film_id
left join categories on film_categories.category_id = categories.category_id
left join languages on films.language_id = languages.language_id
left join actor_counts on films.film_id = actor_counts.film_id
