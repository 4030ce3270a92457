#!/usr/bin/env python3
"""Issue 15, ingest rows: `process` against its floors, as paired, interleaved ratios.

    python bench/bench_ingest.py [--entries 200000] [--pairs 5] [--db URL]
    python bench/bench_ingest.py --growth 125000,250000,500000,1000000 [--pairs 2]
    python bench/bench_ingest.py --pg postgresql://postgres@127.0.0.1:5432/test [--pairs 5]

Each pair runs, in alternating order, the floor and `stalkeer.py process`
(first import, re-run of the unchanged file, which skips the per-line work,
re-run of the file changed by one byte (a trailing newline: every line read
and looked up, none rewritten), --force), every step in a fresh
process (wall time, peak RSS of that child). The floors, measured in the same
pair:

* parse: iter_playlist over the file, nothing else (the reading floor);
* store: the same rows `process` writes (precomputed, loaded before the clock
  starts) inserted with one SQLite executemany into processed_lines without
  indexes, the indexes built after, one commit (the storing floor).

Ratios: first / (parse + store) and first / store; rerun / first;
changed / first; force / first.
--growth: first-import time and peak RSS per size, each doubling's time
ratio, interleaved over the sizes. --pg: PostgreSQL first import against
SQLite's first import, paired. Not a test: the figures go into bench/RESULTS.md.
"""

import argparse
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from gen_playlist import generate  # noqa: E402

CHILD = r'''
import os, pickle, resource, sys, time
sys.path.insert(0, %(root)r)
mode, a, b = sys.argv[1], sys.argv[2], sys.argv[3]
import stalkeer
if mode == 'rows':          # not timed: the rows process writes, for the store floor
    rows = []
    with open(a, 'rb') as fh:
        seen = set()
        for e in stalkeer.iter_playlist(fh, stalkeer.ParseStats()):
            d = stalkeer.line_hash(e.tvg_name or e.display_title, e.url)
            if d in seen:
                continue
            seen.add(d)
            rows.append(stalkeer._line_values(e, stalkeer.classify(e), d, stalkeer.entry_meta_hash(e),
                                              '2026-01-01 00:00:00') + ('processed', '2026-01-01 00:00:00',
                                                                        '2026-01-01 00:00:00'))
    with open(b, 'wb') as out:
        pickle.dump(rows, out, protocol=pickle.HIGHEST_PROTOCOL)
    sys.exit(0)
if mode == 'parse':
    t = time.perf_counter()
    with open(a, 'rb') as fh:
        n = sum(1 for _ in stalkeer.iter_playlist(fh, stalkeer.ParseStats()))
    print(time.perf_counter() - t)
    sys.exit(0)
if mode == 'store':
    import sqlite3
    with open(a, 'rb') as fh:
        rows = pickle.load(fh)
    for suffix in ('', '-wal', '-shm'):
        if os.path.exists(b + suffix):
            os.unlink(b + suffix)
    ddl = open(os.path.join(%(root)r, 'schema.sql')).read()
    t = time.perf_counter()
    con = sqlite3.connect(b, isolation_level=None)
    con.execute('PRAGMA journal_mode=wal')
    con.execute('PRAGMA synchronous=normal')
    start = ddl.index('CREATE TABLE IF NOT EXISTS "processed_lines"')
    table = ddl[start:ddl.index(');', start) + 2].replace('FOREIGN KEY ("download_info_id") REFERENCES "download_info" ("id") ON DELETE SET NULL', 'CHECK (1)')
    indexes = [l for l in ddl.splitlines() if l.startswith('CREATE') and 'INDEX' in l and '"processed_lines"' in l]
    con.execute(table)
    cols = stalkeer._LINE_COLUMNS + ('state', 'first_seen_at', 'created_at')
    con.execute('BEGIN')
    con.executemany('INSERT INTO processed_lines (%%s) VALUES (%%s)' %% (
        ', '.join(cols), ', '.join('?' * len(cols))), rows)
    for sql in indexes:
        con.execute(sql)
    con.execute('COMMIT')
    con.close()
    print(time.perf_counter() - t)
    sys.exit(0)
'''


def child(*argv):
    out = subprocess.run([sys.executable, '-c', CHILD % {'root': ROOT}, *argv],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    return float(out.stdout) if out.stdout.strip() else None


def stalkeer_step(db_url, playlist, *extra):
    """(wall seconds, peak RSS MiB) of one `process` in a fresh grandchild."""
    code = ('import resource, subprocess, sys, time; t = time.perf_counter(); '
            'p = subprocess.run(sys.argv[1:], capture_output=True, text=True); w = time.perf_counter() - t; '
            'sys.exit(p.stderr) if p.returncode else print(w, '
            'resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)')
    out = subprocess.run([sys.executable, '-c', code, sys.executable, os.path.join(ROOT, 'stalkeer.py'),
                          '--db', db_url, '-q', 'process', playlist, *extra],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    wall, rss = map(float, out.stdout.split())
    return wall, rss


def fresh_sqlite(workdir, name='bench.db'):
    path = os.path.join(workdir, name)
    for suffix in ('', '-wal', '-shm'):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    return f'sqlite:///{path}'


def fresh_pg(url):
    import psycopg2
    schema = 'bench_ingest'
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cur.execute(f'CREATE SCHEMA "{schema}"')
    conn.close()
    sep = '&' if '?' in url else '?'
    return f'{url}{sep}schema={schema}'


def spread(values, fmt='{:.3f}'):
    return (f'min {fmt.format(min(values))}, median {fmt.format(statistics.median(values))}, '
            f'max {fmt.format(max(values))}')


def header(playlist, entries, pairs):
    print(f'playlist: {entries} entries, {os.path.getsize(playlist) / 1e6:.1f} MB; {pairs} pairs')
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, '
          f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}')


def main_rows(args, workdir, playlist):
    rows_file = os.path.join(workdir, 'rows.pickle')
    child('rows', playlist, rows_file)
    changed = os.path.join(workdir, 'changed.m3u')
    with open(playlist, 'rb') as src, open(changed, 'wb') as dst:
        dst.write(src.read() + b'\n')
    pairs = []
    for i in range(args.pairs):
        floor, this = {}, {}

        def floors():
            floor['parse'] = child('parse', playlist, '-')
            floor['store'] = child('store', rows_file, os.path.join(workdir, 'floor.db'))

        def steps():
            url = fresh_sqlite(workdir)
            this['first'] = stalkeer_step(url, playlist)
            this['rerun'] = stalkeer_step(url, playlist)
            this['changed'] = stalkeer_step(url, changed)
            this['force'] = stalkeer_step(url, playlist, '--force')

        for fn in ((floors, steps) if i % 2 == 0 else (steps, floors)):
            fn()
        pairs.append((floor, this))
        print(f'pair {i + 1}: parse {floor["parse"]:.2f} s, store {floor["store"]:.2f} s, first '
              f'{this["first"][0]:.2f} s ({this["first"][1]:.0f} MiB), rerun {this["rerun"][0]:.2f} s '
              f'({this["rerun"][1]:.0f} MiB), changed {this["changed"][0]:.2f} s, force {this["force"][0]:.2f} s ({this["force"][1]:.0f} MiB)',
              flush=True)
    rows = [
        ('first / (parse + store)', [t['first'][0] / (f['parse'] + f['store']) for f, t in pairs]),
        ('first / store', [t['first'][0] / f['store'] for f, t in pairs]),
        ('rerun / first', [t['rerun'][0] / t['first'][0] for f, t in pairs]),
        ('changed / first', [t['changed'][0] / t['first'][0] for f, t in pairs]),
        ('force / first', [t['force'][0] / t['first'][0] for f, t in pairs]),
    ]
    for label, ratios in rows:
        print(f'{label:>24}: {spread(ratios)}')
    for label in ('first', 'rerun', 'changed', 'force'):
        print(f'{label:>24}: wall {spread([t[label][0] for f, t in pairs], "{:.2f}")} s, '
              f'peak RSS max {max(t[label][1] for f, t in pairs):.0f} MiB')
    for label in ('parse', 'store'):
        print(f'{label + " floor":>24}: {spread([f[label] for f, t in pairs], "{:.2f}")} s')


def main_growth(args, workdir):
    sizes = [int(s) for s in args.growth.split(',')]
    files = {}
    for n in sizes:
        files[n] = os.path.join(workdir, f'p{n}.m3u')
        generate(files[n], entries=n, seed=42)
    header(files[sizes[-1]], sizes[-1], args.pairs)
    results = {n: [] for n in sizes}
    for i in range(args.pairs):
        for n in (sizes if i % 2 == 0 else list(reversed(sizes))):
            results[n].append(stalkeer_step(fresh_sqlite(workdir), files[n]))
        print(f'round {i + 1}: ' + ', '.join(f'{n}: {results[n][-1][0]:.2f} s {results[n][-1][1]:.0f} MiB'
                                             for n in sizes), flush=True)
    for small, big in zip(sizes, sizes[1:]):
        ratios = [b[0] / s[0] for s, b in zip(results[small], results[big])]
        print(f'{small:>8} -> {big:>8}: x{big / small:.1f} entries, time ratio {spread(ratios)}')
    for n in sizes:
        print(f'{n:>8}: first import median {statistics.median(r[0] for r in results[n]):.2f} s, '
              f'peak RSS max {max(r[1] for r in results[n]):.0f} MiB')


def main_pg(args, workdir, playlist):
    ratios = []
    for i in range(args.pairs):
        order = [('sqlite', lambda: fresh_sqlite(workdir)), ('pg', lambda: fresh_pg(args.pg))]
        if i % 2:
            order.reverse()
        got = {name: stalkeer_step(make(), playlist)[0] for name, make in order}
        ratios.append(got['pg'] / got['sqlite'])
        print(f'pair {i + 1}: sqlite {got["sqlite"]:.2f} s, postgresql {got["pg"]:.2f} s', flush=True)
    print(f'postgresql / sqlite first import: {spread(ratios)}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--entries', type=int, default=200_000)
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--growth', help='comma-separated sizes: first import per doubling')
    parser.add_argument('--pg', help='PostgreSQL URL: first import against SQLite')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        if args.growth:
            return main_growth(args, workdir)
        playlist = os.path.join(workdir, 'playlist.m3u')
        generate(playlist, entries=args.entries, seed=42)
        header(playlist, args.entries, args.pairs)
        if args.pg:
            return main_pg(args, workdir, playlist)
        main_rows(args, workdir, playlist)


if __name__ == '__main__':
    main()
