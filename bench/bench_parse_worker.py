#!/usr/bin/env python3
"""`process` with and without its parse worker ([m3u] parse_worker), paired.

    python bench/bench_parse_worker.py [--entries 200000] [--pairs 6]

Each pair runs, in alternating order, a first import and a --force of the
seed-42 playlist with STALKEER_M3U_PARSE_WORKER=true and =false, every step a
fresh process: wall time, CPU time (user + system of stalkeer and its worker)
and peak RSS (the larger of the two processes). Prints each pair with the
1-minute load average (other work on the machine decides whether the second
CPU is free), then min / median / max of worker / one-process per step.
Not a test: the figures go into bench/RESULTS.md.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from gen_playlist import generate  # noqa: E402

WRAP = ('import resource, subprocess, sys, time; t = time.perf_counter(); '
        'p = subprocess.run(sys.argv[1:], capture_output=True, text=True); w = time.perf_counter() - t; '
        'u = resource.getrusage(resource.RUSAGE_CHILDREN); '
        'sys.exit(p.stderr) if p.returncode else print(w, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024)')


def step(db, playlist, worker, *extra):
    env = dict(os.environ, STALKEER_M3U_PARSE_WORKER='true' if worker else 'false')
    out = subprocess.run([sys.executable, '-c', WRAP, sys.executable, os.path.join(ROOT, 'stalkeer.py'),
                          '--db', f'sqlite:///{db}', '-q', 'process', playlist, *extra],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        sys.exit(out.stderr)
    return tuple(map(float, out.stdout.split()))


def spread(values):
    return f'{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--entries', type=int, default=200_000)
    ap.add_argument('--pairs', type=int, default=6)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix='bench-worker-')
    playlist = os.path.join(work, 'playlist.m3u')
    generate(playlist, entries=args.entries, seed=42)
    print(f'{args.entries} entries; usable CPUs {len(os.sched_getaffinity(0))}; {args.pairs} pairs')
    results = {True: [], False: []}
    for i in range(args.pairs):
        for worker in ((True, False) if i % 2 == 0 else (False, True)):
            db = os.path.join(work, f'{worker}.db')
            for suffix in ('', '-wal', '-shm'):
                if os.path.exists(db + suffix):
                    os.unlink(db + suffix)
            results[worker].append((step(db, playlist, worker), step(db, playlist, worker, '--force')))
        (wf, wF), (pf, pF) = results[True][-1], results[False][-1]
        print(f'pair {i}: first {wf[0]:.2f} s (CPU {wf[1]:.2f} s, {wf[2]:.0f} MiB) vs one process '
              f'{pf[0]:.2f} s (CPU {pf[1]:.2f} s, {pf[2]:.0f} MiB) = {wf[0] / pf[0]:.3f}; --force '
              f'{wF[0]:.2f} vs {pF[0]:.2f} s = {wF[0] / pF[0]:.3f}; load {os.getloadavg()[0]:.2f}', flush=True)
    pairs = list(zip(results[True], results[False]))
    print('worker / one process, min / median / max:')
    print('  first import  ', spread([w[0][0] / p[0][0] for w, p in pairs]))
    print('  --force       ', spread([w[1][0] / p[1][0] for w, p in pairs]))
    print('  CPU, first    ', spread([w[0][1] / p[0][1] for w, p in pairs]))
    print('--force / first: worker', spread([w[1][0] / w[0][0] for w, _ in pairs]),
          '; one process', spread([p[1][0] / p[0][0] for _, p in pairs]))


if __name__ == '__main__':
    main()
