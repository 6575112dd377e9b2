"""Runs a command and prints its wall time and the peak resident memory of
the command (its largest child process), as one JSON line.

    python measure.py LABEL ROWS -- COMMAND ...
"""

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    label, rows = sys.argv[1], int(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1 :]
    started = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"{label}: exit code {completed.returncode}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "label": label,
                "rows": rows,
                "seconds": round(seconds, 2),
                "rows_per_second": round(rows / seconds),
                "peak_rss_mib": round(peak_kib / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
