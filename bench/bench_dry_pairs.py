#!/usr/bin/env python3
"""Issue 15: `radarr --dry-run` of this stalkeer.py against another (e.g. main's),
paired and interleaved, each with two floors measured in the same round: the
SQL join alone, and what any dry run must pay (GET the same listings from the
same fake, json.loads them, the join).

    python bench/bench_dry_pairs.py BASELINE_STALKEER_PY [--entries 300000] [--missing 10000] [--pairs 5]

The same world as bench_match.py's dry runs (its helpers: the seed-7 playlist,
tests/fakearr.py answering from its cache after a warm-up round, 80% of the
missing movies in the playlist); both versions run in this process against the
same database, alternating which goes first. Not a test: figures go into
bench/RESULTS.md.
"""

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_match as bm  # noqa: E402  (puts the root and tests/ on sys.path)
import stalkeer  # noqa: E402


def dry_run(module, ini):
    bm.clear_key_cache(module)
    t = time.perf_counter()
    with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
        code = module.main(['--config', ini, '-q', 'radarr', '--dry-run'])
    assert code == 0, code
    return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('baseline')
    parser.add_argument('--entries', type=int, default=300_000)
    parser.add_argument('--missing', type=int, default=10_000)
    parser.add_argument('--pairs', type=int, default=5)
    args = parser.parse_args()
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, '
          f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}')
    with tempfile.TemporaryDirectory() as tmp:
        playlist = os.path.join(tmp, 'playlist.m3u')
        bm.generate(playlist, entries=args.entries, seed=7)
        url = f'sqlite:///{tmp}/match.db'
        stalkeer.open_database(url, tmp)
        stalkeer.PlaylistIngest().run(playlist)
        PL = stalkeer.ProcessedLine
        have = list(PL.select(PL.title, PL.year).where((PL.content_type == 'movies')
                                                       & PL.year.is_null(False)).distinct().tuples())
        arr = bm.FakeArr('radarr')
        _, movies = bm.shaped_movies(have, args.missing)
        for m in movies:
            arr.add_movie(m['title'], m['year'], path=f'/movies/{m["title"]} ({m["year"]})', runtime=100)
        bm.answer_from_cache(arr)
        ini = os.path.join(tmp, 'dry.ini')
        with open(ini, 'w', encoding='utf-8') as f:
            f.write(f'[database]\nurl = {url}\n[m3u]\nfile_path = {playlist}\n'
                    f'[radarr]\nurl = {arr.base_url}\napi_key = {arr.api_key}\n'
                    f'path_map = /movies={tmp}/lib/movies\n')
        base = bm.load(args.baseline, 'stalkeer_baseline')
        versions = {'baseline': base, 'this': stalkeer}
        for module in versions.values():                 # warm-up round (fills the fake's cache)
            dry_run(module, ini)
        bm.run_listing_floor(arr, movies)
        times = {name: [] for name in versions}
        floors = {'the SQL join alone': [], 'GET the listings + json.loads + the join': []}
        for i in range(args.pairs):
            order = ['baseline', 'this'] if i % 2 == 0 else ['this', 'baseline']
            for name in order:
                times[name].append(dry_run(versions[name], ini))
            floors['the SQL join alone'].append(bm.run_floor(movies)[0])
            floors['GET the listings + json.loads + the join'].append(bm.run_listing_floor(arr, movies)[0])
        arr.close()
    print(f'`radarr --dry-run`, {args.missing} missing over {args.entries} lines, {args.pairs} pairs '
          f'(match_key cache emptied before each run), load average at the end {os.getloadavg()}:')
    for name in versions:
        print(f'  {name}: median {statistics.median(times[name]):.3f} s '
              f'(min {min(times[name]):.3f}, max {max(times[name]):.3f})')
        for floor_name, values in floors.items():
            print(f'    / floor ({floor_name}) per round: '
                  f'{bm.ratio_line([t / f for t, f in zip(times[name], values)], 1)}')
    for floor_name, values in floors.items():
        print(f'  floor ({floor_name}): median {statistics.median(values):.3f} s '
              f'(min {min(values):.3f}, max {max(values):.3f})')
    print(f'  this / baseline per pair: {bm.ratio_line([t / b for t, b in zip(times["this"], times["baseline"])])}')


if __name__ == '__main__':
    main()
