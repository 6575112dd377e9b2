"""The secrets scan: no test password or key may appear in what dvt wrote.

dvt promises that passwords never appear in its logs, errors or artifacts.
This scans every regular file under the directories it is given (the fault
trials' project, its `target/` and the output of every run, the
repository's `target/`, the services' logs) for

- the fault trials' own PostgreSQL password and S3 secret key, distinct
  strings found nowhere else, so any occurrence is a leak;
- the test suite's `postgres` password and `minioadmin` secret key where they
  stand as a password or a secret (`password: postgres`,
  `postgres:postgres@`, `secret_access_key: minioadmin`), since both are also
  a user name and an access key, which may appear.

It names each file where it finds one and exits 1; it also fails when it
scanned no file, so it cannot pass vacuously. `--self-check` plants each
secret in a temporary directory first and fails unless the scan reports
every planted file.

    python3 bench/faults/scan_secrets.py [--self-check] DIR...
"""

import os
import re
import sys
import tempfile

# The fault trials' secrets (bench/faults/run.sh).
DISTINCT = [b"faults-pg-S3cret-4b1d", b"faults-s3-S3cret-77e0"]
# The test suite's (tests/support/profile.rs, scripts/start-postgres.sh,
# scripts/start-s3.sh), in the positions of a secret.
POSITIONAL = [
    re.compile(rb"""(?i)password["']?\s*[:=]\s*["']?postgres\b"""),
    re.compile(rb"""(?i)PGPASSWORD=postgres\b"""),
    re.compile(rb"""postgres(ql)?://[^:/@\s]+:postgres@"""),
    re.compile(rb"""(?i)secret(_access)?_key["']?\s*[:=]\s*["']?minioadmin\b"""),
    re.compile(rb"""(?i)--secret-key[= ]minioadmin\b"""),
]
# Build output, where compiled code holds the test sources' literals.
SKIPPED_DIRECTORIES = {"deps", "build", ".fingerprint", "incremental", "examples"}
LARGEST = 64 * 1024 * 1024


def findings(path):
    try:
        with open(path, "rb") as file:
            data = file.read(LARGEST)
    except OSError:
        return []
    if data.startswith(b"\x7fELF"):
        # Compiled code holds the test sources' literals; it is no output.
        return []
    found = [secret.decode() for secret in DISTINCT if secret in data]
    found += [match.group(0).decode(errors="replace") for pattern in POSITIONAL
              for match in [pattern.search(data)] if match]
    return found


def scan(directories):
    """Returns (files scanned, [(path, what was found)])."""
    scanned = 0
    leaks = []
    for directory in directories:
        if os.path.isfile(directory):
            walk = [(os.path.dirname(directory), [], [os.path.basename(directory)])]
        else:
            walk = os.walk(directory)
        for root, directories_below, files in walk:
            directories_below[:] = [name for name in directories_below if name not in SKIPPED_DIRECTORIES]
            for name in files:
                path = os.path.join(root, name)
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                scanned += 1
                found = findings(path)
                if found:
                    leaks.append((path, found))
    return scanned, leaks


def self_check():
    """The scan must report a planted secret of every kind."""
    plants = [secret.decode() for secret in DISTINCT] + [
        "password: postgres", "postgres://postgres:postgres@127.0.0.1/x",
        '"s3_secret_access_key": "minioadmin"', "PGPASSWORD=postgres psql",
    ]
    with tempfile.TemporaryDirectory() as directory:
        for number, plant in enumerate(plants):
            with open(os.path.join(directory, f"plant-{number}.log"), "w") as file:
                file.write(f"some output\n{plant}\nmore output\n")
        # The user name and the access key alone are no secrets.
        with open(os.path.join(directory, "clean.log"), "w") as file:
            file.write("user: postgres\ns3_access_key_id: minioadmin\n")
        scanned, leaks = scan([directory])
        reported = {os.path.basename(path) for path, _ in leaks}
        expected = {f"plant-{number}.log" for number in range(len(plants))}
        if scanned != len(plants) + 1 or reported != expected:
            sys.exit(f"error: the secrets scan's self-check failed: scanned {scanned} files, "
                     f"reported {sorted(reported)}, planted {sorted(expected)}")


def main():
    arguments = sys.argv[1:]
    if arguments and arguments[0] == "--self-check":
        self_check()
        arguments = arguments[1:]
    directories = [directory for directory in arguments if os.path.exists(directory)]
    scanned, leaks = scan(directories)
    for path, found in leaks:
        print(f"error: a test secret in {path}: {', '.join(sorted(set(found)))}", file=sys.stderr)
    if scanned == 0:
        sys.exit(f"error: the secrets scan found no file to scan in {arguments}")
    if leaks:
        sys.exit(f"error: test secrets in {len(leaks)} of {scanned} files")
    print(f"Secrets scan: no test secret in {scanned} files under {', '.join(directories)}")


if __name__ == "__main__":
    main()
