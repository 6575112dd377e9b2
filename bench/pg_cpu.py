#!/usr/bin/env python3
"""Samples the CPU time of every `postgres` process (server, backends,
walwriter, checkpointer) every 50 ms until its stdin closes, then prints the
seconds of CPU they used meanwhile: the warehouse's share of a load, which
the loader's own CPU time leaves out. Linux only (/proc)."""

import os
import sys
import threading
import time


def sample():
    ticks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as stat:
                line = stat.read()
        except OSError:
            continue
        if "(postgres)" not in line:
            continue
        # utime and stime are fields 14 and 15, counted after the name in parentheses.
        fields = line.rsplit(")", 1)[1].split()
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def main():
    start = sample()
    seen = dict(start)
    closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    while True:
        # A backend that exits between samples loses at most its last 50 ms.
        for pid, ticks in sample().items():
            seen[pid] = max(seen.get(pid, 0), ticks)
        if closed.is_set():
            break
        time.sleep(0.05)
    used = sum(ticks - start.get(pid, 0) for pid, ticks in seen.items())
    print(f"{used / os.sysconf('SC_CLK_TCK'):.1f}")


if __name__ == "__main__":
    main()
