#!/usr/bin/env python3
"""Benchmark movie matching: 10,000 missing movies against a 300,000-line playlist.

    python bench/bench_match.py [--entries 300000] [--movies 10000]

Imports a generated playlist into a fresh SQLite database (timed too), takes
80% of the missing movies from titles the playlist has (with their years) and
20% that it has not, shaped like Radarr's MovieResource, and times
stalkeer.match_movies(): index lookups on (content_type, match_key). Not a
test: record the figures in bench/RESULTS.md.
"""

import argparse
import collections
import os
import platform
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import stalkeer  # noqa: E402
from gen_playlist import generate  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--entries', type=int, default=300_000)
    parser.add_argument('--movies', type=int, default=10_000)
    args = parser.parse_args()
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}')
    with tempfile.TemporaryDirectory() as tmp:
        playlist = os.path.join(tmp, 'playlist.m3u')
        generate(playlist, entries=args.entries, seed=7)
        stalkeer.open_database(f'sqlite:///{tmp}/match.db', tmp)
        t = time.perf_counter()
        summary = stalkeer.PlaylistIngest().run(playlist)
        print(f'import: {summary.entries} entries in {time.perf_counter() - t:.1f} s '
              f'({summary.by_content_type})')
        PL = stalkeer.ProcessedLine
        have = list(PL.select(PL.title, PL.year).where((PL.content_type == 'movies')
                                                       & PL.year.is_null(False)).distinct().tuples())
        rng = random.Random(1)
        rng.shuffle(have)
        real = have[:int(args.movies * 0.8)]
        fake = [(f'Nonexistent Film Number {i}', 1950 + i % 70) for i in range(args.movies - len(real))]
        movies = [{'id': i + 1, 'title': title, 'originalTitle': title, 'year': year,
                   'alternateTitles': [], 'monitored': True, 'hasFile': False, 'isAvailable': True,
                   'tmdbId': 100000 + i}
                  for i, (title, year) in enumerate(real + fake)]

        def library_keys():
            return collections.Counter(k for m in movies for k in stalkeer.movie_keys(m)[1])

        timings = []
        for _ in range(3):
            t = time.perf_counter()
            result = stalkeer.match_movies(movies, library_keys)
            timings.append(time.perf_counter() - t)
        matched = sum(1 for lines in result.values() if lines)
        print(f'match: {len(movies)} missing movies against {summary.entries} lines: '
              f'{min(timings):.2f} s best of 3 ({", ".join(f"{x:.2f}" for x in timings)}); '
              f'{matched} matched ({len(real)} were in the playlist)')


if __name__ == '__main__':
    main()
