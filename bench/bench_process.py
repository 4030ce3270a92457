#!/usr/bin/env python3
"""Benchmark `stalkeer.py process` on a generated 200,000-entry VOD playlist.

    python bench/bench_process.py [--entries 200000] [--runs 3] [--db URL]
    python bench/bench_process.py --baseline ../main/stalkeer.py [--runs 5]

Runs, each in a fresh process: a first import into an empty SQLite database,
then a re-run on the unchanged file, and a --force re-classification. Reports
wall time and peak RSS (ru_maxrss of the child) for each. Not a test: the
figures go into bench/RESULTS.md by hand, with the machine's details.

With --baseline, each run is a pair: the same steps with the other stalkeer.py
and with this one, in alternating order (this machine's speed drifts within
minutes, so only ratios of neighbouring runs mean anything), plus a --dry-run
step without a database (parse, classify and hash only). Reports each step's
this/baseline ratio, min/median/max over the pairs.
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


def run(argv, script=os.path.join(ROOT, 'stalkeer.py')):
    """Run stalkeer in a child process; (wall seconds, peak RSS MiB, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, script, *argv],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f'stalkeer failed ({proc.returncode}): {proc.stderr.strip()}')
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far; each run is
    # measured in a fresh parent below, so it is this child's peak.
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return wall, peak, proc.stdout


STEPS = (('first', []), ('rerun', []), ('force', ['--force']))


def one_round(playlist, workdir, db_url, script=os.path.join(ROOT, 'stalkeer.py'), steps=STEPS):
    if db_url is None:
        db_path = os.path.join(workdir, 'bench.db')
        for suffix in ('', '-wal', '-shm'):
            if os.path.exists(db_path + suffix):
                os.unlink(db_path + suffix)
        db_url = f'sqlite:///{db_path}'
    results = {}
    for label, extra in steps:
        # A fresh interpreter per step so ru_maxrss is that step's own peak.
        code = ('import sys; sys.path.insert(0, %r); import bench_process as b; '
                'w, p, out = b.run(%r, %r); print(w, p)'
                % (HERE, ['--db', db_url, '-q', 'process', playlist, *extra], script))
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
        wall, peak = map(float, out.split())
        results[label] = (wall, peak)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--entries', type=int, default=200_000)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--db', help='database URL (default: a fresh SQLite file per round)')
    parser.add_argument('--baseline', help='another stalkeer.py to compare with, in interleaved pairs')
    args = parser.parse_args()
    if args.baseline:
        return compare(args)
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


def compare(args):
    """Interleaved pairs of rounds: baseline and this stalkeer.py, alternating which goes first."""
    this = os.path.join(ROOT, 'stalkeer.py')
    steps = STEPS + (('dry', ['--dry-run']),)
    with tempfile.TemporaryDirectory() as workdir:
        playlist = os.path.join(workdir, 'playlist.m3u')
        generate(playlist, entries=args.entries, seed=42)
        print(f'playlist: {args.entries} entries, {os.path.getsize(playlist) / 1e6:.1f} MB; '
              f'baseline {args.baseline}; {args.runs} pairs')
        print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}')
        pairs = []
        for i in range(args.runs):
            order = [('base', args.baseline), ('this', this)]
            if i % 2:
                order.reverse()
            pair = {}
            for name, script in order:
                # the dry run reads no database: point it at a file that does not exist
                dry_db = f'sqlite:///{os.path.join(workdir, "none", "x.db")}'
                pair[name] = one_round(playlist, workdir, args.db, script, STEPS)
                pair[name].update(one_round(playlist, workdir, dry_db, script, steps[3:]))
            pairs.append(pair)
            print(f'pair {i + 1}: ' + ', '.join(
                f'{label} {pair["base"][label][0]:.2f}/{pair["this"][label][0]:.2f} s' for label, _ in steps))
        for label, _ in steps:
            ratios = [p['this'][label][0] / p['base'][label][0] for p in pairs]
            base = [p['base'][label][0] for p in pairs]
            this_ = [p['this'][label][0] for p in pairs]
            peaks = [max(p[side][label][1] for p in pairs) for side in ('base', 'this')]
            print(f'{label:>6}: this/baseline min {min(ratios):.3f}, median {statistics.median(ratios):.3f}, '
                  f'max {max(ratios):.3f} (median {statistics.median(base):.2f} s -> '
                  f'{statistics.median(this_):.2f} s; peak RSS {peaks[0]:.0f} -> {peaks[1]:.0f} MiB)')


if __name__ == '__main__':
    main()
