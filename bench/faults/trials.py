"""Fault trials for dvt: start an operation, SIGKILL it (or restart the
server under it) at a random moment, then check the invariants.

Run through `bash bench/faults/run.sh --trials 100 --seed N`, which starts
the services. Python 3 standard library only; PostgreSQL is read with `psql`
and the lake with SigV4-signed HTTP requests to the S3 server.

Every trial prints its kind, its kill delay and what it checked, so that a
failure can be replayed: the same seed gives the same kinds and delays.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

KINDS = [
    "run_table_swap",
    "build_incremental_merge",
    "run_incremental_delete_insert",
    "build_seed_reload",
    "build_snapshot",
    "ingest_kill",
    "ingest_pg_restart",
    "export_kill",
    "export_s3_stop",
]

# Sizes: large enough that a kill lands mid-statement, mid-batch or
# mid-upload as often as in the start-up before it. MODEL_ROWS and
# SNAPSHOT_ROWS must match the project's models and run.sh's source table.
MODEL_ROWS = 100000
EXPORT_ROWS = 200000
SEED_ROWS = 100000
SNAPSHOT_ROWS = 100000
INGEST_BATCH = 20000


def log(message):
    print(message, flush=True)


class Env:
    """The services and the project the trials run on."""

    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        self.project = os.path.join(self.work, "project")
        self.dvt = args.dvt
        self.pg_port = args.pg_port
        self.pg_cluster = args.pg_cluster
        self.pg_password = args.pg_password
        self.database = "dvt_faults"
        self.s3_port = args.s3_port
        self.s3_access = args.s3_access_key
        self.s3_secret = args.s3_secret_key
        self.bucket = "faults"
        self.bootstrap = args.kafka_bootstrap
        self.s3_process = None
        self.version = 0
        self.runs = 0

    # PostgreSQL through psql.
    def psql(self, sql, database=None, check=True, timeout=60):
        env = dict(os.environ, PGPASSWORD=self.pg_password)
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-d", database or self.database,
             "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
            env=env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"psql failed: {sql}\n{result.stderr}")
        return result

    def value(self, sql):
        return self.psql(sql).stdout.strip()

    def wait_for_pg(self):
        for _ in range(120):
            if self.psql("select 1", check=False, timeout=5).returncode == 0:
                return
            time.sleep(0.25)
        raise RuntimeError("PostgreSQL did not come back")

    def restart_pg(self):
        subprocess.run(["pg_ctlcluster", "15", self.pg_cluster, "restart", "-m", "immediate"], check=True,
                       capture_output=True)

    # The S3 server, which trials stop and start.
    def start_s3(self):
        data = os.path.join(self.work, "s3")
        os.makedirs(os.path.join(data, self.bucket), exist_ok=True)
        log_file = open(os.path.join(self.work, "s3s-fs.log"), "ab")
        self.s3_process = subprocess.Popen(
            ["s3s-fs", "--host", "127.0.0.1", "--port", str(self.s3_port), "--access-key", self.s3_access,
             "--secret-key", self.s3_secret, data], stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.s3_port}/", timeout=1)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("s3s-fs did not start")

    def stop_s3(self):
        if self.s3_process is not None:
            self.s3_process.kill()
            self.s3_process.wait()
            self.s3_process = None

    def s3(self, method, key):
        """One signed request; returns (status, headers, body), or None when the server is down."""
        host = f"127.0.0.1:{self.s3_port}"
        path = urllib.parse.quote(f"/{self.bucket}/{key}", safe="/-_.~")
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = now.strftime("%Y%m%d")
        payload_hash = hashlib.sha256(b"").hexdigest()
        canonical = "\n".join([method, path, "", f"host:{host}", f"x-amz-content-sha256:{payload_hash}",
                               f"x-amz-date:{amz_date}", "", "host;x-amz-content-sha256;x-amz-date", payload_hash])
        scope = f"{day}/us-east-1/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key_bytes = ("AWS4" + self.s3_secret).encode()
        for part in (day, "us-east-1", "s3", "aws4_request"):
            key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(f"http://{host}{path}", method=method, headers={
            "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={self.s3_access}/{scope}, "
                             f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), b""
        except OSError:
            return None

    # dvt itself.
    def dvt_command(self, *args):
        return [self.dvt, *args, "--project-dir", self.project, "--profiles-dir", self.project]

    def spawn(self, name, *args):
        self.runs += 1
        self.last_log = os.path.join(self.work, "logs", f"{self.runs:04d}-{name}.log")
        out = open(self.last_log, "wb")
        env = dict(os.environ, DVT_PG_PASSWORD=self.pg_password, DVT_FAULTS_S3_SECRET=self.s3_secret, NO_COLOR="1")
        return subprocess.Popen(self.dvt_command(*args), stdout=out, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL)

    def finish(self, name, *args, timeout=300):
        """Runs dvt to the end; returns its exit code."""
        return wait_or_kill(self.spawn(name, *args), timeout)


def wait_or_kill(process, timeout=300):
    """The exit code of a run of dvt, or -1 when it is still running after `timeout` s."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -1


# What a model, seed or snapshot holds: (count, md5 of `id:val` ordered by id).
def digest(pairs):
    pairs = sorted(pairs)
    text = ",".join(f"{i}:{v}" for i, v in pairs)
    return (len(pairs), hashlib.md5(text.encode()).hexdigest() if pairs else "")


def model_rows(base, version):
    return [(g, (g * version) % 997) for g in range(1, base + version + 1)]


DIGEST_SQL = "select count(*) || '|' || coalesce(md5(string_agg(id::text || ':' || val::text, ',' order by id)), '') from {}"


def read_digest(env, relation, where=""):
    result = env.psql(DIGEST_SQL.format(relation) + where, check=False, timeout=30)
    if result.returncode != 0:
        return None, result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "error"
    count, md5 = result.stdout.strip().split("|")
    return (int(count), md5), None


class Reader(threading.Thread):
    """Polls while a trial runs; records every state that is not allowed."""

    def __init__(self, poll):
        super().__init__(daemon=True)
        self.poll = poll
        self.stop_flag = threading.Event()
        self.polls = 0
        self.problems = []
        # The versions the reads saw, to show the reader was live through the switch.
        self.seen = set()

    def run(self):
        while not self.stop_flag.is_set():
            problem = self.poll(self.seen)
            self.polls += 1
            if problem:
                self.problems.append(problem)
            time.sleep(0.02)

    def stop(self):
        self.stop_flag.set()
        self.join()


def relation_reader(env, relation, old, new, where=""):
    allowed = {old, new}

    def poll(seen):
        state, error = read_digest(env, relation, where)
        if state is None:
            if "connection" in error.lower() or "shutting down" in error.lower() or "starting up" in error.lower():
                return None
            return f"{relation}: {error}"
        if state not in allowed:
            return f"{relation}: saw {state[0]} rows with checksum {state[1]}, neither the old nor the new version"
        seen.add("new" if state == new else "old")
        return None
    return Reader(poll)


def wait_for_assignment(env, process):
    """An ingest's faults are timed from its partitions' assignment, which the
    mock broker takes up to a session timeout to give after a killed member:
    what comes before it is start-up, not a batch."""
    started = time.monotonic()
    while time.monotonic() - started < 120:
        with open(env.last_log, errors="replace") as file:
            if ": assigned " in file.read():
                return
        if process.poll() is not None:
            return
        time.sleep(0.01)


def killed(env, name, delay, *args):
    """Starts dvt, SIGKILLs it after `delay` seconds; returns its exit code (None when killed)."""
    process = env.spawn(name, *args)
    if name.startswith("ingest"):
        wait_for_assignment(env, process)
    try:
        code = process.wait(timeout=delay)
        return code
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None


def phase(log_path, code):
    """Where the fault landed, read from the interrupted run's output."""
    with open(log_path, errors="replace") as file:
        text = file.read()
    if code is not None:
        return "after it finished" if code == 0 else f"it failed, exit {code}"
    if "Running with" not in text and ": assigned " not in text:
        return "in start-up"
    batches = text.count(" batches so far")
    if batches:
        return f"mid-run, after {batches} batches"
    return "mid-run"


class Trials:
    def __init__(self, env, rng):
        self.env = env
        self.rng = rng
        self.durations = {}
        self.state = {}
        self.produced = []
        self.next_rental = 1

    # Each kind: prepare(version) -> (args, reader, check_after_rerun)
    def vars(self, version):
        return ["--vars", json.dumps({"version": version})]

    def prepare_model(self, command, model, base, relation):
        version = self.env.version
        old = self.state.get(model)
        new = digest(model_rows(base, version))
        self.state[model] = new
        args = [command, "--select", model, *self.vars(version)]
        reader = relation_reader(self.env, relation, old, new) if old is not None else None

        def check():
            state, error = read_digest(self.env, relation)
            if state != new:
                return f"{relation} after the re-run: {state or error}, expected {new}"
            return None
        return args, reader, check

    def run_table_swap(self):
        return self.prepare_model("run", "swap_t", MODEL_ROWS, "analytics.swap_t")

    def build_incremental_merge(self):
        return self.prepare_model("build", "inc_merge", MODEL_ROWS, "analytics.inc_merge")

    def run_incremental_delete_insert(self):
        return self.prepare_model("run", "inc_di", MODEL_ROWS, "analytics.inc_di")

    def build_seed_reload(self):
        version = self.env.version
        rows = model_rows(SEED_ROWS, version)
        with open(os.path.join(self.env.project, "seeds", "faults_seed.csv"), "w") as file:
            file.write("id,val\n")
            file.writelines(f"{i},{v}\n" for i, v in rows)
        old = self.state.get("faults_seed")
        new = digest(rows)
        self.state["faults_seed"] = new
        reader = relation_reader(self.env, "analytics.faults_seed", old, new) if old else None

        def check():
            state, error = read_digest(self.env, "analytics.faults_seed")
            if state != new:
                return f"faults_seed after the re-run: {state or error}, expected {new}"
            return None
        return ["build", "--select", "faults_seed"], reader, check

    def build_snapshot(self):
        env = self.env
        version = env.version
        # Change 2% of the source's rows, with a later updated_at.
        env.psql(f"update faults_src.snap_src set val = val + 1, updated_at = timestamp '2020-01-01' + "
                 f"interval '1 minute' * {version} where id % 50 = {version % 50}")
        changed = int(env.value(f"select count(*) from faults_src.snap_src where id % 50 = {version % 50}"))
        old_total = self.state.get("snap_total")
        new_total = (old_total or 0) + (changed if old_total else SNAPSHOT_ROWS)
        self.state["snap_total"] = new_total
        source, _ = read_digest(env, "faults_src.snap_src")
        old_current = self.state.get("snap_current")
        self.state["snap_current"] = source

        def poll(seen):
            result = env.psql("select count(*) || '|' || count(*) filter (where dbt_valid_to is null) "
                              "from snapshots.snap", check=False, timeout=30)
            if result.returncode != 0:
                error = result.stderr.strip()
                return None if "connection" in error.lower() else f"snapshots.snap: {error}"
            total, current = map(int, result.stdout.strip().split("|"))
            if total not in (old_total, new_total) or current != SNAPSHOT_ROWS:
                return (f"snapshots.snap: saw {total} rows ({current} current), expected {old_total} or "
                        f"{new_total} with {SNAPSHOT_ROWS} current")
            seen.add("new" if total == new_total else "old")
            return None
        reader = Reader(poll) if old_total else None
        del old_current

        def check():
            total = env.value("select count(*) from snapshots.snap")
            current, error = read_digest(env, "snapshots.snap", " where dbt_valid_to is null")
            if int(total) != new_total or current != source:
                return f"snapshots.snap after the re-run: {total} rows, current {current or error}; " \
                       f"expected {new_total} rows, current {source}"
            return None
        return ["build", "--select", "snap"], reader, check

    def produce(self):
        start = self.next_rental
        rows = [(rental, (rental % 100) * 100 + rental % 7) for rental in range(start, start + INGEST_BATCH)]
        self.next_rental += INGEST_BATCH
        path = os.path.join(self.env.work, "produce.csv")
        with open(path, "w") as file:
            file.write("rental_id,amount\n")
            file.writelines(f"{rental},{cents // 100}.{cents % 100:02d}\n" for rental, cents in rows)
        code = self.env.finish("produce", "produce", "--topic", "faults_events", "--csv", path, "--key", "rental_id")
        if code != 0:
            raise RuntimeError("dvt produce failed; see the logs")
        self.produced.extend(rows)

    def ingest_check(self):
        ids = [rental for rental, _ in self.produced]
        cents = sum(c for _, c in self.produced)
        expected = f"{len(ids)}|{len(ids)}|{sum(ids)}|{cents // 100}.{cents % 100:02d}"

        def check():
            got = self.env.value("select count(*) || '|' || count(distinct rental_id) || '|' || sum(rental_id) "
                                 "|| '|' || sum(amount) from bronze.faults_events")
            if got != expected:
                return f"bronze.faults_events: count|distinct|sum(id)|sum(amount) = {got}, produced {expected}"
            return None
        return check

    def ingest_kill(self):
        self.produce()
        return ["ingest"], None, self.ingest_check()

    def ingest_pg_restart(self):
        self.produce()
        return ["ingest"], None, self.ingest_check()

    def export_args(self):
        return ["build", "--select", "exp_t", *self.vars(self.env.version)]

    def manifest_reader(self):
        env = self.env
        answer = env.s3("GET", "exp_t/_dvt_manifest.json")
        previous = json.loads(answer[2])["run_id"] if answer and answer[0] == 200 else None

        def poll(seen):
            answer = env.s3("GET", "exp_t/_dvt_manifest.json")
            if answer is None or answer[0] == 404:
                return None
            status, _, body = answer
            if status != 200:
                return f"manifest GET answered {status}"
            try:
                manifest = json.loads(body)
            except ValueError:
                return f"manifest is not complete JSON ({len(body)} bytes)"
            seen.add("old" if manifest["run_id"] == previous else "new")
            for file in manifest["files"]:
                head = env.s3("HEAD", f"exp_t/{file['path']}")
                if head is None:
                    return None
                size = int(head[1].get("content-length", -1)) if head[0] == 200 else None
                if size != file["bytes"]:
                    # A reader holding a manifest that was replaced meanwhile may find
                    # its files deleted; a torn version is one whose manifest is still current.
                    again = env.s3("GET", "exp_t/_dvt_manifest.json")
                    if again is None or again[0] != 200 or again[2] != body:
                        return None
                    return f"manifest {manifest['run_id']} lists {file['path']} ({file['bytes']} bytes), " \
                           f"which is {'missing' if size is None else f'{size} bytes'}"
            return None
        return Reader(poll)

    def export_check(self, version):
        env = self.env
        expected_rows = EXPORT_ROWS + version

        def check():
            answer = env.s3("GET", "exp_t/_dvt_manifest.json")
            if answer is None or answer[0] != 200:
                return f"no manifest after the re-run ({answer and answer[0]})"
            manifest = json.loads(answer[2])
            if manifest["rows"] != expected_rows:
                return f"manifest after the re-run lists {manifest['rows']} rows, expected {expected_rows}"
            for file in manifest["files"]:
                head = env.s3("HEAD", f"exp_t/{file['path']}")
                if head is None or head[0] != 200 or int(head[1].get("content-length", -1)) != file["bytes"]:
                    return f"manifest after the re-run lists {file['path']}, which is missing or of another size"
            return None
        return check

    def export_kill(self):
        return self.export_args(), self.manifest_reader(), self.export_check(self.env.version)

    def export_s3_stop(self):
        return self.export_args(), self.manifest_reader(), self.export_check(self.env.version)

    def calibrate(self, kind):
        """The time an uninterrupted run of the kind takes, to draw kill delays from."""
        env = self.env
        env.version += 1
        args, _, check = getattr(self, kind)()
        process = env.spawn(f"calibrate-{kind}", *args)
        if kind.startswith("ingest"):
            wait_for_assignment(env, process)
        started = time.monotonic()
        code = process.wait(timeout=300)
        elapsed = time.monotonic() - started
        if code != 0:
            raise RuntimeError(f"the uninterrupted run of {kind} failed (exit {code}); see {env.work}/logs")
        problem = check()
        if problem:
            raise RuntimeError(f"the uninterrupted run of {kind} is wrong: {problem}")
        self.durations[kind] = elapsed
        after = " after the assignment" if kind.startswith("ingest") else ""
        log(f"calibrated {kind}: an uninterrupted run takes {elapsed:.2f}s{after}")

    def trial(self, number, kind):
        env = self.env
        env.version += 1
        delay = round(self.rng.uniform(0.05, self.durations[kind] * 1.1), 3)
        args, reader, check = getattr(self, kind)()
        if reader:
            reader.start()
        fault = "SIGKILL after assignment" if kind == "ingest_kill" else "SIGKILL after"
        first_code = None
        if kind == "ingest_pg_restart":
            fault = "PostgreSQL restarted"
            process = env.spawn(kind, *args)
            # Half the restarts land in start-up (connecting, creating the
            # bronze tables, joining the group), half among the batches.
            if self.rng.random() < 0.5:
                fault = "PostgreSQL restarted after start"
                delay = round(self.rng.uniform(0.02, 1.0), 3)
            else:
                fault = "PostgreSQL restarted after assignment"
                wait_for_assignment(env, process)
            time.sleep(delay)
            running_at_fault = process.poll() is None
            env.restart_pg()
            first_code = wait_or_kill(process)
            env.wait_for_pg()
        elif kind == "export_s3_stop":
            fault = "S3 stopped after"
            process = env.spawn(kind, *args)
            time.sleep(delay)
            running_at_fault = process.poll() is None
            env.stop_s3()
            time.sleep(1.0)
            env.start_s3()
            first_code = wait_or_kill(process)
        else:
            first_code = killed(env, kind, delay, *args)
            landed = phase(env.last_log, first_code)
        if kind in ("ingest_pg_restart", "export_s3_stop"):
            landed = f"mid-run, then exit {first_code}" if running_at_fault else "after it finished"
        problems = []
        if kind.startswith("ingest"):
            # Before the re-run: what is loaded is loaded once.
            got = env.value("select count(*) || '|' || count(distinct rental_id) from bronze.faults_events")
            rows, distinct = map(int, got.split("|"))
            if rows != distinct or rows > len(self.produced):
                problems.append(f"after the fault: {rows} rows, {distinct} distinct, of {len(self.produced)} produced")
        if kind == "ingest_pg_restart" and running_at_fault and first_code != 0:
            problems.append(f"the ingest exited {first_code} after a restart it should have retried")
        # The re-run, with the reader still watching.
        rerun_code = env.finish(f"{kind}-rerun", *args)
        if reader:
            reader.stop()
        problems += list(reader.problems[:3]) if reader else []
        if rerun_code != 0:
            problems.append(f"the re-run exited {rerun_code}")
        problem = check()
        if problem:
            problems.append(problem)
        polls = f", {reader.polls} reads saw {'+'.join(sorted(reader.seen)) or 'nothing'}" if reader else ""
        status = "FAIL" if problems else "ok"
        log(f"trial {number:3d} {kind:30s} {fault} {delay:.3f}s ({landed}{polls}): {status}")
        for problem in problems:
            log(f"    {problem}")
        return not problems, landed.startswith("mid-run")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--dvt", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--pg-port", type=int, required=True)
    parser.add_argument("--pg-cluster", required=True)
    parser.add_argument("--pg-password", required=True)
    parser.add_argument("--s3-port", type=int, required=True)
    parser.add_argument("--s3-access-key", required=True)
    parser.add_argument("--s3-secret-key", required=True)
    parser.add_argument("--kafka-bootstrap", required=True)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    kinds = [kind for kind in args.kinds.split(",") if kind]
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        sys.exit(f"error: unknown trial kinds {unknown}; known: {KINDS}")
    rng = random.Random(seed)
    # Stopped from outside: stop the S3 server too (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    log(f"fault trials: {args.trials} trials, seed {seed} (replay with --seed {seed})")

    env = Env(args)
    os.makedirs(os.path.join(env.work, "logs"), exist_ok=True)
    env.start_s3()
    try:
        trials = Trials(env, rng)
        schedule = [kinds[i % len(kinds)] for i in range(args.trials)]
        rng.shuffle(schedule)
        for kind in kinds:
            if kind in schedule:
                trials.calibrate(kind)
        failures = 0
        counts = {}
        started = time.monotonic()
        for number, kind in enumerate(schedule, start=1):
            counts.setdefault(kind, [0, 0, 0])
            counts[kind][0] += 1
            passed, mid_run = trials.trial(number, kind)
            counts[kind][2] += mid_run
            if not passed:
                failures += 1
                counts[kind][1] += 1
        log("")
        log(f"{'kind':30s} trials mid-run failures")
        for kind in kinds:
            if kind in counts:
                log(f"{kind:30s} {counts[kind][0]:6d} {counts[kind][2]:7d} {counts[kind][1]:8d}")
        log(f"{args.trials} trials, {failures} failures (seed {seed}) in {time.monotonic() - started:.0f}s")
        return 1 if failures else 0
    finally:
        env.stop_s3()


if __name__ == "__main__":
    sys.exit(main())
