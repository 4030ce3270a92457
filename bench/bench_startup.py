#!/usr/bin/env python3
"""Benchmark the fixed cost of a run: `python stalkeer.py --version`, paired.

    python bench/bench_startup.py [--pairs 15] [--baseline-ref main] [--python PATH]

Runs `PYTHON stalkeer.py --version` of this tree and of another version of the
file (by default main's, from `git show`), interleaved: baseline, this,
baseline, this... and reports each pair's ratio (min / median / max), as this
machine's speed drifts too much for anything but paired figures. Also times two
floors the same way: the interpreter alone (`python -c pass`, with the site
packages a user has) and compiling this stalkeer.py (what `python stalkeer.py`
pays on every run, as the script run as __main__ gets no cached bytecode).

PYTHON defaults to the real interpreter behind sys.executable (not a pyenv
shim, a bash script that costs ~60 ms by itself). PYTHONDONTWRITEBYTECODE is
removed from the children's environment, as on a user's box. Not a test:
record the figures in bench/RESULTS.md.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(argv, env, cwd):
    t = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def summary(values):
    return f'median {statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--pairs', type=int, default=15)
    parser.add_argument('--baseline-ref', default='main', help='git ref of the stalkeer.py to pair against')
    parser.add_argument('--python', default=os.path.realpath(sys.executable))
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(('STALKEER_', 'PYTHONDONTWRITE'))}
    work = tempfile.mkdtemp(prefix='stalkeer-startup-')
    base = os.path.join(work, 'stalkeer.py')
    with open(base, 'wb') as f:
        f.write(subprocess.run(['git', 'show', f'{args.baseline_ref}:stalkeer.py'], cwd=ROOT,
                               check=True, capture_output=True).stdout)
    this = os.path.join(ROOT, 'stalkeer.py')
    compile_only = ("import sys; src = open(sys.argv[1], 'rb').read(); "
                    "compile(src, sys.argv[1], 'exec')")
    runs = {
        'baseline': [args.python, base, '--version'],
        'this': [args.python, this, '--version'],
        'interpreter': [args.python, '-c', 'pass'],
        'interpreter + compile': [args.python, '-c', compile_only, this],
    }
    for argv in runs.values():                  # warm the page cache (and any pycache)
        timed(argv, env, work)
    times = {name: [] for name in runs}
    for _ in range(args.pairs):
        for name, argv in runs.items():
            times[name].append(timed(argv, env, work))
    ratios = [b / t for b, t in zip(times['baseline'], times['this'])]
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}')
    print(f'python: {args.python}; {args.pairs} interleaved rounds\n')
    print('| run | seconds |\n| --- | --- |')
    for name in runs:
        print(f'| {name} | {summary(times[name])} |')
    print(f'\nbaseline / this, per pair: min {min(ratios):.2f}, median {statistics.median(ratios):.2f}, '
          f'max {max(ratios):.2f}')
    floor = [a - b for a, b in zip(times['this'], times['interpreter + compile'])]
    print(f'this minus (interpreter + compile), per round: {summary(floor)}')


if __name__ == '__main__':
    main()
