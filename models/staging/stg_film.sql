select
    film_id,
    title,
    description,
    cast(release_year as integer) as release_year,
    language_id,
    rental_duration as rental_duration_days,
    cast(rental_rate as numeric(4,2)) as rental_rate,
    length as length_minutes,
    cast(replacement_cost as numeric(5,2)) as replacement_cost,
    rating,
    special_features,
    cast(last_update as timestamp) as last_update
from {{ ref('film') }}
