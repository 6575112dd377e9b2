create table if not exists {{ relation|relation }} (
    consumer_group text not null,
    topic text not null,
    partition integer not null,
    next_offset bigint not null,
    updated_at timestamptz not null default now(),
    primary key (consumer_group, topic, partition)
)
