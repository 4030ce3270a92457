#!/usr/bin/env python3
"""Benchmark `stalkeer.py process` on a generated 200,000-entry VOD playlist.

    python bench/bench_process.py [--entries 200000] [--runs 3] [--db URL]

Runs, each in a fresh process: a first import into an empty SQLite database,
then a re-run on the unchanged file, and a --force re-classification. Reports
wall time and peak RSS (ru_maxrss of the child) for each. Not a test: the
figures go into bench/RESULTS.md by hand, with the machine's details.
"""

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from gen_playlist import generate  # noqa: E402


def run(argv):
    """Run stalkeer in a child process; (wall seconds, peak RSS MiB, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'stalkeer.py'), *argv],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f'stalkeer failed ({proc.returncode}): {proc.stderr.strip()}')
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far; each run is
    # measured in a fresh parent below, so it is this child's peak.
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return wall, peak, proc.stdout


def one_round(playlist, workdir, db_url):
    if db_url is None:
        db_path = os.path.join(workdir, 'bench.db')
        for suffix in ('', '-wal', '-shm'):
            if os.path.exists(db_path + suffix):
                os.unlink(db_path + suffix)
        db_url = f'sqlite:///{db_path}'
    results = {}
    for label, extra in (('first', []), ('rerun', []), ('force', ['--force'])):
        # A fresh interpreter per step so ru_maxrss is that step's own peak.
        code = ('import sys; sys.path.insert(0, %r); import bench_process as b; '
                'w, p, out = b.run(%r); print(w, p)' % (HERE, ['--db', db_url, '-q', 'process', playlist, *extra]))
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
        wall, peak = map(float, out.split())
        results[label] = (wall, peak)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--entries', type=int, default=200_000)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--db', help='database URL (default: a fresh SQLite file per round)')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        playlist = os.path.join(workdir, 'playlist.m3u')
        stats = generate(playlist, entries=args.entries, seed=42)
        size = os.path.getsize(playlist)
        print(f'playlist: {args.entries} entries, {size / 1e6:.1f} MB '
              f'({stats if isinstance(stats, dict) else ""})')
        print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}')
        rounds = [one_round(playlist, workdir, args.db) for _ in range(args.runs)]
        for label in ('first', 'rerun', 'force'):
            walls = [r[label][0] for r in rounds]
            peaks = [r[label][1] for r in rounds]
            print(f'{label:>6}: wall median {statistics.median(walls):.2f} s '
                  f'(min {min(walls):.2f}, max {max(walls):.2f}), peak RSS max {max(peaks):.0f} MiB')


if __name__ == '__main__':
    main()
