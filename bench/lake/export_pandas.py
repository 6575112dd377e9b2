"""A lake export the way users write one today: pandas reads the table over
psycopg, pyarrow writes Parquet (zstd, like dvt's default), boto3 uploads it.

    python export_pandas.py TABLE BUCKET KEY

Connection settings come from the usual PG* variables and the S3 endpoint
from AWS_ENDPOINT_URL, with the AWS_* credentials.
"""

import io
import os
import sys

import boto3
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    table, bucket, key = sys.argv[1:4]
    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD", "postgres"),
        dbname=os.environ["PGDATABASE"],
    ) as connection:
        frame = pd.read_sql(f"select * from {table}", connection)
    arrow_table = pa.Table.from_pandas(frame, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(arrow_table, buffer, compression="zstd")
    buffer.seek(0)
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    s3.upload_fileobj(buffer, bucket, key)
    print(f"{len(frame)} rows, {buffer.getbuffer().nbytes} bytes")


if __name__ == "__main__":
    main()
