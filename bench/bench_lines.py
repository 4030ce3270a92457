#!/usr/bin/env python3
"""Benchmark `lines QUERY` (and /api/lines) on a 300,000-line playlist.

    python bench/bench_lines.py [--entries 300000] [--rounds 21] [--db URL]

Imports a generated playlist (gen_playlist.py, seed 7) into a fresh database
(SQLite in a temporary folder, or --db, e.g. a PostgreSQL ?schema=bench_lines),
then times stalkeer.find_lines() for queries of every size of answer: a title
prefix with a handful of lines, one with thousands, a one-letter prefix, a
miss (which falls back to the words-anywhere scan), with and without --type.
Each is paired, in the same round and alternating order, with the scan the
index saves (the same words-anywhere query), so the ratio holds however the
machine's speed drifts; medians over the rounds. Not a test: record the
figures in bench/RESULTS.md.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import stalkeer  # noqa: E402
from gen_playlist import generate  # noqa: E402


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--entries', type=int, default=300_000)
    parser.add_argument('--rounds', type=int, default=21)
    parser.add_argument('--db', help='database URL (default: SQLite in a temporary folder)')
    args = parser.parse_args()
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}')
    with tempfile.TemporaryDirectory() as tmp:
        playlist = os.path.join(tmp, 'playlist.m3u')
        generate(playlist, entries=args.entries, seed=7)
        db = stalkeer.open_database(args.db or f'sqlite:///{tmp}/lines.db', tmp)
        started = time.perf_counter()
        summary = stalkeer.PlaylistIngest().run(playlist)
        db.execute_sql('ANALYZE')
        print(f'{"PostgreSQL" if stalkeer.is_postgres(db) else "SQLite"}: imported '
              f'{summary.entries} entries in {time.perf_counter() - started:.1f} s '
              f'({summary.by_content_type})')
        PL = stalkeer.ProcessedLine
        common = (PL.select(PL.match_key, stalkeer.peewee.fn.COUNT(PL.id).alias('n'))
                  .where(PL.content_type == 'movies').group_by(PL.match_key)
                  .order_by(stalkeer.peewee.fn.COUNT(PL.id).desc()).limit(1).get())
        word = common.match_key.split()[0]
        few = PL.select(PL.match_key).where(PL.content_type == 'movies').order_by(PL.id.desc()).get()
        cases = [(few.match_key, None), (few.match_key, 'movies'), (word, None), (word, 'movies'),
                 (word[0], None), ('zzqx nothing', None)]
        print(f'{"query":<34} {"type":<7} {"answer":>7} {"match":<8} {"find_lines ms":>13} '
              f'{"scan ms":>8} {"scan/find":>9}')
        for query, ctype in cases:
            key = stalkeer.match_key(query)
            types = [ctype] if ctype else stalkeer.LINE_CONTENT_TYPES
            find = lambda: stalkeer.find_lines(query, ctype, 50)  # noqa: E731
            scan = lambda: list(stalkeer.lines_query(key, types, contains=True).limit(50))  # noqa: E731
            answer = stalkeer.find_lines(query, ctype, 10_000_000)
            find_ms, scan_ms, ratios = [], [], []
            for i in range(args.rounds):
                pair = (find, scan) if i % 2 == 0 else (scan, find)
                first, second = timed(pair[0]), timed(pair[1])
                a, b = (first, second) if i % 2 == 0 else (second, first)
                find_ms.append(a * 1000)
                scan_ms.append(b * 1000)
                ratios.append(b / a)
            print(f'{query[:34]:<34} {ctype or "all":<7} {len(answer["lines"]):>7} '
                  f'{answer["match"]:<8} {statistics.median(find_ms):>13.2f} '
                  f'{statistics.median(scan_ms):>8.2f} {statistics.median(ratios):>9.1f}')
        db.close()


if __name__ == '__main__':
    main()
