#!/usr/bin/env python3
"""Generate a deterministic CSV for the `seed` benchmark.

Usage:
    gen_big_csv.py ROWS OUT.csv

11 mixed columns, chosen so that dbt's agate type inference (and dvt's)
has real work to do and lands on a stable type per column:

    id            integer    1..ROWS, unique
    customer_id   integer    1..50000
    quantity      integer    some empty fields (NULL)
    delta         integer    negative and positive
    amount        decimal    2 decimals        (dbt 1.10 infers double precision)
    score         decimal    4 decimals, some empty fields
    order_date    date       YYYY-MM-DD
    created_at    timestamp  YYYY-MM-DD HH:MM:SS
    status        text       one of a few words
    note          text       free text with commas, double quotes, some empty
    is_active     boolean    true/false, some empty

Text values avoid agate's null markers (na, n/a, none, null, .) and anything
that looks like a number, date or boolean.  Output is byte-for-byte
deterministic (fixed seed, '\\n' line endings, csv.QUOTE_MINIMAL).
1,000,000 rows is 98,531,321 bytes (md5 fb9c9a8bcdaab8c1c955d2a285c1c9e4)
and takes ~15 s to write.
"""

import csv
import datetime
import random
import sys

STATUSES = ["placed", "shipped", "delivered", "returned", "cancelled", "pending_review"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
         "india", "juliet", "kilo", "lima", "mike", "oscar", "papa", "quebec"]


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: gen_big_csv.py ROWS OUT.csv")
    rows = int(argv[0])
    out = argv[1]
    rng = random.Random(424242)
    day0 = datetime.date(2020, 1, 1).toordinal()
    ts0 = datetime.datetime(2020, 1, 1)
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["id", "customer_id", "quantity", "delta", "amount", "score",
                    "order_date", "created_at", "status", "note", "is_active"])
        for i in range(1, rows + 1):
            r = rng.random()
            qty = "" if r < 0.05 else str(rng.randint(1, 500))
            score = "" if r > 0.93 else "%.4f" % rng.uniform(0, 100)
            amount = "%d.%02d" % (rng.randint(0, 99999), rng.randint(0, 99))
            d = datetime.date.fromordinal(day0 + rng.randint(0, 1825))
            ts = ts0 + datetime.timedelta(seconds=rng.randint(0, 1825 * 86400))
            k = rng.randint(0, 9)
            if k == 0:
                note = ""
            elif k == 1:
                note = 'said "%s, %s"' % (rng.choice(WORDS), rng.choice(WORDS))
            elif k == 2:
                note = "%s, %s and %s" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS))
            else:
                note = "%s %s" % (rng.choice(WORDS), rng.choice(WORDS))
            b = rng.randint(0, 20)
            active = "" if b == 0 else ("true" if b % 2 else "false")
            w.writerow([i, rng.randint(1, 50000), qty, rng.randint(-100000, 100000), amount,
                        score, d.isoformat(), ts.strftime("%Y-%m-%d %H:%M:%S"),
                        rng.choice(STATUSES), note, active])
    print("wrote %d rows to %s" % (rows, out))


if __name__ == "__main__":
    main(sys.argv[1:])
