#!/usr/bin/env python3
"""Issue 15, memory row: the peak memory of a command and the processes it forks.

    python bench/bench_pss.py -- python stalkeer.py --config my.ini -v process big.m3u [--force]

Runs the command and samples, every 50 ms, /proc/PID/smaps_rollup of it and
of its children (the parse worker of `process`): the largest sum of their PSS
(proportional set size: a page the fork shares is counted half in each, so
the sum is what the two take from the machine) and of their RSS (shared pages
counted twice). Prints both, and the `-v` line in which `process` reports each
process's own peak RSS (getrusage). Linux only. Not a test: the figures go
into bench/RESULTS.md.
"""

import subprocess
import sys
import time


def children(pid: int) -> list[int]:
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def rollup(pid: int) -> dict:
    """kB of the smaps_rollup fields of a process (empty once it is gone)."""
    values = {}
    try:
        with open(f'/proc/{pid}/smaps_rollup') as fh:
            for line in fh:
                key, _, rest = line.partition(':')
                if rest.strip().endswith('kB'):
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def main(argv: list[str]) -> int:
    if argv[:1] == ['--']:
        argv = argv[1:]
    if not argv:
        print(__doc__)
        return 2
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = {'Pss': (0, 0), 'Rss': (0, 0)}
    while proc.poll() is None:
        pids = [proc.pid, *children(proc.pid)]
        rolled = [rollup(pid) for pid in pids]
        for key in peak:
            total = sum(r.get(key, 0) for r in rolled)
            if total > peak[key][0]:
                peak[key] = (total, len(pids))
        time.sleep(0.05)
    err = proc.stderr.read()
    for line in err.splitlines():
        if 'parse worker' in line:
            print(line)
    for key, (kib, count) in peak.items():
        print(f'peak {key} sum: {kib / 1024:.0f} MiB ({kib * 1024 / 1e6:.0f} MB) over {count} process(es)')
    return proc.returncode


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
