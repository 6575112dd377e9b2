#!/usr/bin/env python3
"""Generate a synthetic dbt project for benchmarking dvt against dbt-core.

Usage:
    gen_project.py N OUT_DIR [--views] [--tests-key data_tests|tests]

Writes into OUT_DIR (created; existing models/ is replaced):
    dbt_project.yml      name `bench`, profile `bench`, models materialized as views
    profiles.yml         postgres on 127.0.0.1:5432, dbname from env BENCH_DB
                         (default dvt_bench), password from env BENCH_PG_PASSWORD
    models/group_GGG/model_NNNNN.sql   100 models per folder
    models/group_GGG/schema.yml        descriptions, columns and tests

Graph shape (deterministic, acyclic, layered):
    * models 0..9 select constants (a 10-row VALUES list), no ref();
    * every other model i lives in layer i // LAYER_WIDTH and refs 2-3 earlier
      models: one from the immediately preceding layer (this is what makes the
      graph deep: depth ~= N / LAYER_WIDTH) and the rest from the last few
      layers (locality, like a real project's staging -> marts chains).
    * models in layer 0 (10..LAYER_WIDTH-1) ref only the 10 constant models.

Default mode (parse/compile benchmarks): LAYER_WIDTH=50, 2-3 refs per model,
joined in CTEs.  1,000 models -> depth 20, 10,000 models -> depth 200.

--views mode (run benchmark; use N=500): LAYER_WIDTH=25, 1-3 refs per model,
a single flat select with left joins, so that every model is a cheap view.
500 models -> depth 20 with up to 25 views runnable in parallel, which is
enough to keep --threads 4 busy and to expose concurrent view-replacement
locking in PostgreSQL.

Every model outputs the same columns (id int, amount numeric, label text,
flag boolean), id is unique in every model (left joins on id from a model
with unique ids), so the generated `unique`/`not_null` tests would pass.

Output is a pure function of (N, --views, --tests-key): no timestamps, no
randomness beyond a fixed seed per model.
"""

import argparse
import os
import random
import shutil
import sys

GROUP_SIZE = 100
N_CONST = 10
SEED = 20240601


def model_name(i):
    return "model_%05d" % i


def group_name(i):
    return "group_%03d" % (i // GROUP_SIZE)


def pick_refs(i, layer_width, min_refs, max_refs):
    """Deterministically choose the upstream models of model i."""
    if i < N_CONST:
        return []
    rng = random.Random(SEED * 1000003 + i)
    layer = i // layer_width
    if layer == 0:
        pool_near = list(range(0, N_CONST))
        pool_far = pool_near
    else:
        lo_near = max(0, (layer - 1) * layer_width)
        hi = layer * layer_width  # exclusive: everything before this layer
        pool_near = list(range(lo_near, hi))
        pool_far = list(range(max(0, (layer - 4) * layer_width), hi))
    k = rng.randint(min_refs, max_refs)
    k = min(k, len(pool_far))
    refs = [rng.choice(pool_near)]
    while len(refs) < k:
        r = rng.choice(pool_far)
        if r not in refs:
            refs.append(r)
    return refs


def const_model_sql(i):
    g = group_name(i)
    rows = []
    for r in range(1, 11):
        amount = "%d.%02d" % ((i * 7 + r * 13) % 1000, (i + r) % 100)
        label = "m%05d_r%02d" % (i, r)
        flag = "true" if (i + r) % 3 else "false"
        rows.append("    (%d, %s::numeric, '%s', %s)" % (r, amount, label, flag))
    return (
        "{{ config(materialized='view', tags=['%s']) }}\n"
        "\n"
        "-- constant source model %d\n"
        "select id, amount, label, flag\n"
        "from (values\n%s\n) as t(id, amount, label, flag)\n"
    ) % (g, i, ",\n".join(rows))


def join_model_sql(i, refs):
    """Default mode: CTE per upstream model, left-joined on id."""
    g = group_name(i)
    aliases = "abc"
    ctes = []
    for a, r in zip(aliases, refs):
        ctes.append("%s as (\n    select id, amount, label, flag from {{ ref('%s') }}\n)"
                    % (a, model_name(r)))
    amount = " + ".join(["a.amount"] + ["coalesce(%s.amount, 0)" % a for a in aliases[1:len(refs)]])
    flag = " and ".join(["a.flag"] + ["coalesce(%s.flag, true)" % a for a in aliases[1:len(refs)]])
    joins = "".join("\nleft join %s on %s.id = a.id" % (a, a) for a in aliases[1:len(refs)])
    return (
        "{{ config(materialized='view', tags=['%s']) }}\n"
        "\n"
        "with %s\n"
        "\n"
        "select\n"
        "    a.id,\n"
        "    %s as amount,\n"
        "    %s as label,\n"
        "    %s as flag\n"
        "from a%s\n"
    ) % (g, ",\n".join(ctes), amount,
         "coalesce(b.label, a.label)" if len(refs) > 1 else "a.label", flag, joins)


def view_model_sql(i, refs):
    """--views mode: one flat select, 1-3 upstream views."""
    g = group_name(i)
    aliases = "abc"
    froms = ["{{ ref('%s') }} as a" % model_name(refs[0])]
    for a, r in zip(aliases[1:], refs[1:]):
        froms.append("left join {{ ref('%s') }} as %s on %s.id = a.id" % (model_name(r), a, a))
    amount = " + ".join(["a.amount"] + ["coalesce(%s.amount, 0)" % a for a in aliases[1:len(refs)]])
    return (
        "{{ config(materialized='view', tags=['%s']) }}\n"
        "\n"
        "select\n"
        "    a.id,\n"
        "    %s as amount,\n"
        "    a.label,\n"
        "    a.flag\n"
        "from %s\n"
    ) % (g, amount, "\n".join(froms))


def schema_yml(first, last, refs_of, tests_key):
    out = ["version: 2", "", "models:"]
    for i in range(first, last):
        refs = refs_of[i]
        if refs:
            desc = "Synthetic model %d (%s), built from %s." % (
                i, group_name(i), ", ".join(model_name(r) for r in refs))
        else:
            desc = "Synthetic constant model %d (%s)." % (i, group_name(i))
        out += [
            "  - name: %s" % model_name(i),
            "    description: \"%s\"" % desc,
            "    columns:",
            "      - name: id",
            "        description: \"Primary key.\"",
            "        %s:" % tests_key,
            "          - unique",
            "          - not_null",
            "      - name: amount",
            "        description: \"Sum of upstream amounts.\"",
            "        %s:" % tests_key,
            "          - not_null",
            "      - name: label",
            "        description: \"Text label.\"",
        ]
    return "\n".join(out) + "\n"


DBT_PROJECT_YML = """\
name: bench
version: '1.0.0'
config-version: 2
profile: bench

model-paths: ["models"]
seed-paths: ["seeds"]
target-path: "target"
clean-targets: ["target"]

models:
  bench:
    +materialized: view
"""

PROFILES_YML = """\
bench:
  target: dev
  outputs:
    dev:
      type: postgres
      host: 127.0.0.1
      port: 5432
      user: postgres
      password: "{{ env_var('BENCH_PG_PASSWORD', 'postgres') }}"
      dbname: "{{ env_var('BENCH_DB', 'dvt_bench') }}"
      schema: bench
      threads: 4
"""


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, help="number of models (>= 10)")
    ap.add_argument("out_dir")
    ap.add_argument("--views", action="store_true",
                    help="cheap flat views, 1-3 refs, layer width 25 (use with N=500 for `run`)")
    ap.add_argument("--tests-key", default="data_tests", choices=["data_tests", "tests"],
                    help="YAML key for column tests (dbt>=1.8 prefers data_tests)")
    args = ap.parse_args(argv)
    n = args.n
    if n < N_CONST:
        ap.error("N must be >= %d" % N_CONST)

    if args.views:
        layer_width, min_refs, max_refs, body = 25, 1, 3, view_model_sql
    else:
        layer_width, min_refs, max_refs, body = 50, 2, 3, join_model_sql

    out = args.out_dir
    os.makedirs(out, exist_ok=True)
    models_dir = os.path.join(out, "models")
    if os.path.isdir(models_dir):
        shutil.rmtree(models_dir)
    for stale in ("target", "logs"):
        if os.path.isdir(os.path.join(out, stale)):
            shutil.rmtree(os.path.join(out, stale))
    write(os.path.join(out, "dbt_project.yml"), DBT_PROJECT_YML)
    write(os.path.join(out, "profiles.yml"), PROFILES_YML)

    refs_of = [pick_refs(i, layer_width, min_refs, max_refs) for i in range(n)]
    for first in range(0, n, GROUP_SIZE):
        last = min(n, first + GROUP_SIZE)
        gdir = os.path.join(models_dir, group_name(first))
        os.makedirs(gdir)
        for i in range(first, last):
            sql = const_model_sql(i) if not refs_of[i] else body(i, refs_of[i])
            write(os.path.join(gdir, model_name(i) + ".sql"), sql)
        write(os.path.join(gdir, "schema.yml"), schema_yml(first, last, refs_of, args.tests_key))

    # depth of the DAG, for the record
    depth = [0] * n
    for i in range(n):
        depth[i] = 1 + max((depth[r] for r in refs_of[i]), default=0)
    edges = sum(len(r) for r in refs_of)
    print("wrote %d models (%d edges, depth %d, %d folders)%s to %s"
          % (n, edges, max(depth), (n + GROUP_SIZE - 1) // GROUP_SIZE,
             " [views]" if args.views else "", out))


if __name__ == "__main__":
    main(sys.argv[1:])
