#!/usr/bin/env python3
"""A Kafka-to-PostgreSQL consumer written the way users write them today:
confluent-kafka polling one message at a time, json.loads, a batch of 1,000
rows inserted with psycopg's executemany, then commit the transaction and the
Kafka offsets. It is the baseline `dvt ingest` is measured against in
bench/ingest.sh, so it is deliberately ordinary, not tuned.

Like `dvt ingest` in batch mode it drains the topic to the high watermarks it
had at start, then exits and prints how many rows it inserted.

    ingest_consumer.py --bootstrap HOST:PORT --topic T --dsn DSN --table SCHEMA.TABLE
"""

import argparse
import datetime
import json
import sys

import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition

COLUMNS = [
    "event_type",
    "rental_id",
    "inventory_id",
    "film_id",
    "customer_id",
    "staff_id",
    "store_id",
    "rental_date",
    "return_date",
    "rental_rate",
    "amount",
    "event_time",
]
BATCH_ROWS = 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--group", default="python-bench")
    args = parser.parse_args()

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    # Where to stop: the high watermark of every partition now.
    metadata = consumer.list_topics(args.topic, timeout=10)
    targets = {}
    for partition in metadata.topics[args.topic].partitions:
        _, high = consumer.get_watermark_offsets(TopicPartition(args.topic, partition), timeout=10)
        if high > 0:
            targets[partition] = high
    consumer.subscribe([args.topic])

    insert = (
        f"insert into {args.table} ({', '.join(COLUMNS)}, topic, partition, \"offset\", event_timestamp, ingested_at) "
        f"values ({', '.join(['%s'] * (len(COLUMNS) + 5))})"
    )
    connection = psycopg.connect(args.dsn)
    batch = []
    total = 0
    positions = {}

    def flush():
        nonlocal total
        if not batch:
            return
        with connection.cursor() as cursor:
            cursor.executemany(insert, batch)
        connection.commit()
        consumer.commit(asynchronous=False)
        total += len(batch)
        batch.clear()

    while any(positions.get(partition, 0) < high for partition, high in targets.items()):
        message = consumer.poll(1.0)
        if message is None:
            flush()
            continue
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise RuntimeError(message.error())
        event = json.loads(message.value())
        _, timestamp = message.timestamp()
        batch.append(
            tuple(event.get(column) for column in COLUMNS)
            + (
                message.topic(),
                message.partition(),
                message.offset(),
                datetime.datetime.fromtimestamp(timestamp / 1000, datetime.timezone.utc),
                datetime.datetime.now(datetime.timezone.utc),
            )
        )
        positions[message.partition()] = message.offset() + 1
        if len(batch) >= BATCH_ROWS:
            flush()
    flush()
    consumer.close()
    connection.close()
    print(f"inserted {total} rows into {args.table}")


if __name__ == "__main__":
    sys.exit(main())
