#!/usr/bin/env python3
"""Benchmark the fixed cost of a run: `python stalkeer.py --version`, paired.

    python bench/bench_startup.py [--pairs 15] [--baseline-ref main] [--python PATH]
                                  [--instructions]

Runs `PYTHON stalkeer.py --version` of this tree and of another version of the
file (by default main's, from `git show`), interleaved: baseline, this,
baseline, this... and reports each pair's ratio (min / median / max), as this
machine's speed drifts too much for anything but paired figures. Both files are
also run as `PYTHON -m stalkeer --version` (PYTHONPATH at the file), which
loads the bytecode cached in __pycache__ instead of compiling the script. Also
times two floors the same way: the interpreter alone (`python -c pass`, with
the site packages a user has) and compiling this stalkeer.py (what `python
stalkeer.py` pays on every run, as the script run as __main__ gets no cached
bytecode).

Each run is timed twice: wall clock, and the CPU time (user + system) of the
child, which is less disturbed by other work sharing the CPUs. With
--instructions, each run is also executed once under valgrind's callgrind and
its instruction count printed: slow (~5 s a run) but the same on a busy box.

PYTHON defaults to the real interpreter behind sys.executable (not a pyenv
shim, a bash script that costs ~60 ms by itself). PYTHONDONTWRITEBYTECODE is
removed from the children's environment, as on a user's box. Not a test:
record the figures in bench/RESULTS.md.
"""

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv, env, cwd):
    """(wall seconds, CPU seconds) of one run."""
    cpu, t = children_cpu(), time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t, children_cpu() - cpu


def instructions(argv, env, cwd):
    """Instructions executed by one run, counted by valgrind's callgrind."""
    with tempfile.NamedTemporaryFile(prefix='callgrind-') as out:
        proc = subprocess.run(['valgrind', '--tool=callgrind', f'--callgrind-out-file={out.name}', *argv],
                              env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    return int(re.search(r'Collected : (\d+)', proc.stderr).group(1))


def summary(values):
    return f'{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})'


def ratios(times, a, b):
    r = [x / y for x, y in zip(times[a], times[b])]
    return f'min {min(r):.2f}, median {statistics.median(r):.2f}, max {max(r):.2f}'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--pairs', type=int, default=15)
    parser.add_argument('--baseline-ref', default='main', help='git ref of the stalkeer.py to pair against')
    parser.add_argument('--python', default=os.path.realpath(sys.executable))
    parser.add_argument('--instructions', action='store_true', help='also count instructions (valgrind)')
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('STALKEER_', 'PYTHONDONTWRITE', 'PYTHONPATH'))}
    work = tempfile.mkdtemp(prefix='stalkeer-startup-')
    base_dir = os.path.join(work, 'baseline')
    this_dir = os.path.join(work, 'this')           # a copy: its __pycache__ stays out of the tree
    os.makedirs(base_dir)
    os.makedirs(this_dir)
    base = os.path.join(base_dir, 'stalkeer.py')
    with open(base, 'wb') as f:
        f.write(subprocess.run(['git', 'show', f'{args.baseline_ref}:stalkeer.py'], cwd=ROOT,
                               check=True, capture_output=True).stdout)
    this = os.path.join(this_dir, 'stalkeer.py')
    shutil.copyfile(os.path.join(ROOT, 'stalkeer.py'), this)
    compile_only = ("import sys; src = open(sys.argv[1], 'rb').read(); "
                    "compile(src, sys.argv[1], 'exec')")
    runs = {    # name: (argv, PYTHONPATH)
        'baseline': ([args.python, base, '--version'], None),
        'this': ([args.python, this, '--version'], None),
        'baseline -m': ([args.python, '-m', 'stalkeer', '--version'], base_dir),
        'this -m': ([args.python, '-m', 'stalkeer', '--version'], this_dir),
        'interpreter': ([args.python, '-c', 'pass'], None),
        'interpreter + compile': ([args.python, '-c', compile_only, this], None),
    }
    envs = {name: dict(env, PYTHONPATH=path) if path else env for name, (_, path) in runs.items()}
    for name, (argv, _) in runs.items():        # warm the page cache, write the __pycache__
        timed(argv, envs[name], work)
    wall = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    for _ in range(args.pairs):
        for name, (argv, _) in runs.items():
            w, c = timed(argv, envs[name], work)
            wall[name].append(w)
            cpu[name].append(c)
    with open('/proc/loadavg') as f:
        load = ' '.join(f.read().split()[:3])
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, '
          f'load average at the end {load}')
    print(f'python: {args.python}; {args.pairs} interleaved rounds\n')
    print('| run | wall s, median (min–max) | CPU s, median (min–max) |\n| --- | --- | --- |')
    for name in runs:
        print(f'| {name} | {summary(wall[name])} | {summary(cpu[name])} |')
    print()
    for a, b in (('baseline', 'this'), ('baseline -m', 'this -m'), ('this', 'this -m')):
        print(f'{a} / {b}, per pair: wall {ratios(wall, a, b)}; CPU {ratios(cpu, a, b)}')
    floor = [a - b for a, b in zip(wall['this'], wall['interpreter + compile'])]
    print(f'this minus (interpreter + compile), wall per round: {summary(floor)}')
    if args.instructions and shutil.which('valgrind'):
        print('\n| run | instructions (callgrind) |\n| --- | --- |')
        for name, (argv, _) in runs.items():
            print(f'| {name} | {instructions(argv, envs[name], work) / 1e6:,.0f} M |')
    shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
