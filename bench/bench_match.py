#!/usr/bin/env python3
"""Benchmark movie matching: 10,000 missing movies against a 300,000-line playlist.

    python bench/bench_match.py [--entries 300000] [--movies 10000] [--pairs 5]
                                [--baseline /work/main/stalkeer.py]

Imports a generated playlist into a fresh SQLite database, takes 80% of the
missing movies from titles the playlist has (with their years) and 20% that it
has not, shaped like Radarr's MovieResource, and times stalkeer.match_movies()
with the guards on: lookups go to a stand-in client that counts them (it knows
no other film, so it costs nothing but the count), and the candidates that
rest on their title (so a real run would read their header) are counted as
probes. Also times finding the items already downloaded or held (8,000 rows in
download_info): one query per run.

Before that, `radarr --dry-run` (in process, against tests/fakearr.py answering
from its cache) for each of --dry-run-sizes missing movies, round by round with
two floors: the SQL join alone (run_floor), and what any dry run must pay
(run_listing_floor: GET the same listings, json.loads, the join); the
match_key cache is emptied before each dry run, as a run from cron starts.

With --baseline, the same work is timed with another stalkeer.py (e.g. main)
on the same database, interleaved: baseline, this, baseline, this, ... and the
ratio of each pair is reported (min / median / max), as this machine's speed
drifts too much for anything but paired figures. Not a test: record the
figures in bench/RESULTS.md.
"""

import argparse
import collections
import contextlib
import http.client
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import types
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests'))
import stalkeer  # noqa: E402
from gen_playlist import generate  # noqa: E402
from fakearr import JSON_TYPE, FakeArr  # noqa: E402  (tests/fakearr.py: Radarr's stand-in)


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class CountingLookup:
    """Radarr's movie/lookup stand-in: knows no other film; counts the calls."""
    name = 'Radarr'

    def __init__(self):
        self.calls = 0

    def lookup(self, term):
        self.calls += 1
        return []


def run_match(module, movies, library_keys):
    """(seconds, matched ids, lookups, probes) of one match_movies call."""
    if hasattr(module, 'TitleLookups'):
        client = CountingLookup()
        lookups = module.TitleLookups(client, 'radarr', budget=10 ** 9, write=False, use_cache=False)
        t = time.perf_counter()
        result = module.match_movies(movies, library_keys, lookups)
        elapsed = time.perf_counter() - t
        matched = {i for i, m in result.items() if m.lines}
        probes = sum(1 for m in result.values() if m.lines and m.probe_of(m.lines[0].id) is not None)
        return elapsed, matched, client.calls, probes
    t = time.perf_counter()
    result = module.match_movies(movies, library_keys)
    elapsed = time.perf_counter() - t
    return elapsed, {i for i, lines in result.items() if lines}, None, None


def run_floor(movies):
    """Seconds of the floor: the SQL join alone. The movies' keys (movie_keys) go
    into a temporary table, joined on (content_type, match_key) with the present
    lines, the candidate columns fetched as tuples; nothing else. CROSS JOIN
    keeps the keys as the outer loop (one index probe per key): left to itself
    SQLite scanned the 135k movie lines and probed the keys, 0.26 s even for
    1,000 keys."""
    execute = stalkeer.db_proxy.obj.execute_sql
    keys = sorted({k for m in movies for k in stalkeer.movie_keys(m)[1]})   # Python, not SQL
    t = time.perf_counter()
    execute('CREATE TEMP TABLE IF NOT EXISTS bench_keys (key TEXT PRIMARY KEY)')
    execute('DELETE FROM bench_keys')
    stalkeer.db_proxy.obj.cursor().executemany('INSERT INTO bench_keys VALUES (?)', [(k,) for k in keys])
    columns = ', '.join(f'p."{name}"' for name in stalkeer.CandidateLine._fields)
    rows = execute(f'SELECT {columns} FROM bench_keys k CROSS JOIN processed_lines p '
                   "ON p.content_type = 'movies' AND p.match_key = k.key "
                   'WHERE p.missing_since IS NULL').fetchall()
    return time.perf_counter() - t, len(rows)


def run_listing_floor(arr, movies):
    """Seconds of the floor any dry run must pay: GET the listings a `radarr`
    run reads from the same fake Radarr (every page of wanted/missing, 250
    records a page, with the query stalkeer sends, so the fake answers from the
    same cache; then GET /api/v3/movie) on one keep-alive connection of the
    standard library's http.client (each body read whole: the least an HTTP
    client can do), ``json.loads`` of each answer, and the SQL join of
    run_floor. No record is checked, trimmed or matched; the keys of the join
    are computed before the clock starts, as in run_floor. Returns (seconds,
    join rows, records read)."""
    split = urllib.parse.urlsplit(arr.base_url)
    headers = {'X-Api-Key': arr.api_key, 'Accept': 'application/json'}
    query = {'monitored': 'true', 'sortKey': 'movieMetadata.sortTitle', 'sortDirection': 'ascending',
             'pageSize': 250}
    t = time.perf_counter()
    connection = http.client.HTTPConnection(split.hostname, split.port)

    def get(path, params):
        connection.request('GET', f'{split.path}{path}?{urllib.parse.urlencode(params)}', headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status == 200, answer.status
        return json.loads(body)

    records, page, total = 0, 1, None
    while total is None or (page - 1) * 250 < total:
        document = get('/api/v3/wanted/missing', dict(query, page=page))
        total = document['totalRecords']
        records += len(document['records'])
        page += 1
    records += len(get('/api/v3/movie', {'excludeLocalCovers': 'true'}))
    connection.close()
    listed = time.perf_counter() - t
    joined, rows = run_floor(movies)
    return listed + joined, rows, records


def clear_key_cache(module):
    """A run from cron starts with no match_key computed: the bench's rounds, in one
    process, would otherwise find every key cached by the round before."""
    cache = getattr(module, '_MATCH_KEY_CACHE', None)
    if cache is not None:
        cache.clear()


def run_dry_run(ini):
    """Seconds of `stalkeer.py --config INI radarr --dry-run` in this process
    (what it prints goes nowhere)."""
    clear_key_cache(stalkeer)
    t = time.perf_counter()
    with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
        code = stalkeer.main(['--config', ini, '-q', 'radarr', '--dry-run'])
    assert code == 0, code
    return time.perf_counter() - t


def shaped_movies(have, count, seed=1):
    """``count`` MovieResource-shaped dicts: 80% titles and years the playlist has,
    20% it has not."""
    rng = random.Random(seed)
    have = list(have)
    rng.shuffle(have)
    real = have[:int(count * 0.8)]
    fake = [(f'Nonexistent Film Number {i}', 1950 + i % 70) for i in range(count - len(real))]
    return real, [{'id': i + 1, 'title': title, 'originalTitle': title, 'year': year,
                   'alternateTitles': [], 'monitored': True, 'hasFile': False, 'isAvailable': True,
                   'tmdbId': 100000 + i, 'runtime': 100}
                  for i, (title, year) in enumerate(real + fake)]


def ratio_line(ratios, digits=2):
    return (f'min {min(ratios):.{digits}f}, median {statistics.median(ratios):.{digits}f}, '
            f'max {max(ratios):.{digits}f} ({", ".join(f"{r:.{digits}f}" for r in ratios)})')


def answer_from_cache(arr):
    """Make ``arr`` (a FakeArr, in this process) answer each GET it has answered
    before from the bytes it sent then: the fake renders every page from all its
    movies (sorting them, dropping nulls, in Python, holding this process's GIL),
    which at 30,000 movies costs more than stalkeer's own work; a real Radarr
    does that work in its own process. The warm-up round fills the cache, so the
    timed rounds measure stalkeer (HTTP, JSON, the database, matching, output)."""
    cache = {}
    route = arr._route

    def cached(h, method, path, query, body):
        send = type(h)._send         # the class's: one handler serves a keep-alive connection
        key = (method, path, tuple(sorted(query.items())))
        if method == 'GET' and key in cache:
            return send(h, *cache[key])

        def keep(status, payload=b'', content_type=JSON_TYPE, headers=None):
            if method == 'GET':
                cache[key] = (status, payload, content_type, headers)
            return send(h, status, payload, content_type, headers)
        h._send = keep
        try:
            return route(h, method, path, query, body)
        finally:
            del h._send
    arr._route = cached


def dry_runs(tmp, url, playlist, have, sizes, pairs):
    """`radarr --dry-run` against a FakeArr of each size of missing movies, and the
    floor of the same size, interleaved round by round."""
    worlds = {}
    for size in sizes:
        arr = FakeArr('radarr')
        real, movies = shaped_movies(have, size)
        for m in movies:
            arr.add_movie(m['title'], m['year'], path=f'/movies/{m["title"]} ({m["year"]})', runtime=100)
        answer_from_cache(arr)
        ini = os.path.join(tmp, f'dry-{size}.ini')
        with open(ini, 'w', encoding='utf-8') as f:
            f.write(f'[database]\nurl = {url}\n[m3u]\nfile_path = {playlist}\n'
                    f'[radarr]\nurl = {arr.base_url}\napi_key = {arr.api_key}\n'
                    f'path_map = /movies={tmp}/lib/movies\n')
        worlds[size] = (arr, ini, movies)
    dry, floor, listed = (collections.defaultdict(list) for _ in range(3))
    for size in sizes:                                       # warm-up round
        run_dry_run(worlds[size][1])
        run_listing_floor(worlds[size][0], worlds[size][2])
    for _ in range(pairs):
        for size in sizes:
            arr, ini, movies = worlds[size]
            floor[size].append(run_floor(movies)[0])
            listed[size].append(run_listing_floor(arr, movies)[0])
            dry[size].append(run_dry_run(ini))
    for arr, _, _ in worlds.values():
        arr.close()
    print(f'\n`radarr --dry-run` (in process, against tests/fakearr.py over 127.0.0.1 answering '
          f'from its cache after a warm-up round; match_key cache emptied before each), {pairs} rounds:')
    for size in sizes:
        print(f'  {size:>6} missing: dry run median {statistics.median(dry[size]):.3f} s '
              f'(min {min(dry[size]):.3f}, max {max(dry[size]):.3f})')
        for name, floors in (('the join alone', floor[size]), ('GET + json.loads + the join', listed[size])):
            ratios = [d / f for d, f in zip(dry[size], floors)]
            print(f'    floor, {name}: median {statistics.median(floors):.3f} s '
                  f'(min {min(floors):.3f}, max {max(floors):.3f}); dry run / floor per round: '
                  f'{ratio_line(ratios)}')
    for small, big in zip(sizes, sizes[1:]):
        for name, times in (('dry run', dry), ('floor GET + json.loads + join', listed)):
            ratios = [b / s for s, b in zip(times[small], times[big])]
            print(f'  growth of the {name} {small} -> {big} missing ({big / small:g}x the items): '
                  f'per round {ratio_line(ratios)}')


def run_skips(module, items):
    """Seconds to find the already-downloaded items: this version's one query per
    run, or the baseline's ArrRun.skip_reason per item."""
    run = object.__new__(module.ArrRun)
    run.service = 'radarr'
    run.args = types.SimpleNamespace(force=False)
    run.workers = types.SimpleNamespace(owner='bench-owner')
    # skip_reasons reads the retry limit (main's "gave up" column) and asks whether a lease lives.
    run.state = types.SimpleNamespace(max_retry_attempts=5, is_live=lambda row_id: False)
    t = time.perf_counter()
    if hasattr(module.ArrRun, 'skip_reasons'):
        found = run.skip_reasons(items)
    else:
        found = {item.item_id: r for item in items if (r := run.skip_reason(item))}
    return time.perf_counter() - t, len(found)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--entries', type=int, default=300_000)
    parser.add_argument('--movies', type=int, default=10_000)
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--baseline', help='another stalkeer.py to pair against (e.g. main)')
    parser.add_argument('--dry-run-sizes', default='1000,10000,30000',
                        help='missing movies of each `radarr --dry-run` timed ("" to skip)')
    args = parser.parse_args()
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}')
    with tempfile.TemporaryDirectory() as tmp:
        playlist = os.path.join(tmp, 'playlist.m3u')
        generate(playlist, entries=args.entries, seed=7)
        url = f'sqlite:///{tmp}/match.db'
        stalkeer.open_database(url, tmp)
        t = time.perf_counter()
        summary = stalkeer.PlaylistIngest().run(playlist)
        print(f'import: {summary.entries} entries in {time.perf_counter() - t:.1f} s '
              f'({summary.by_content_type})')
        PL = stalkeer.ProcessedLine
        have = list(PL.select(PL.title, PL.year).where((PL.content_type == 'movies')
                                                       & PL.year.is_null(False)).distinct().tuples())
        sizes = [int(n) for n in args.dry_run_sizes.split(',') if n.strip()]
        if sizes:         # before the download_info rows below: a dry run would skip those items
            dry_runs(tmp, url, playlist, have, sizes, args.pairs)
        real, movies = shaped_movies(have, args.movies)
        # 8,000 movies downloaded before: rows the run must find (one per movie).
        DI = stalkeer.DownloadInfo
        with stalkeer.db_proxy.atomic():
            DI.insert_many([{'url': f'http://h/{i}', 'destination': f'{tmp}/d/{i}', 'status': 'completed',
                             'service': 'radarr', 'service_item_id': m['id'],
                             'download_path': f'{tmp}/d/{i}'}
                            for i, m in enumerate(movies[:8000])]).execute()
        items = [stalkeer.WantedItem('radarr', m['id'], None, m['title'], '') for m in movies]

        library = []

        def library_keys():                  # read once per run, as ArrRun does
            if not library:
                library.append(collections.Counter(k for m in movies for k in stalkeer.movie_keys(m)[1]))
            return library[0]

        versions = [('this', stalkeer)]
        if args.baseline:
            base = load(args.baseline, 'stalkeer_baseline')
            base.open_database(url, tmp, migrate=False)
            versions.insert(0, ('baseline', base))
        times = collections.defaultdict(list)
        skip_times = collections.defaultdict(list)
        floor_times = []
        outcome = {}
        run_match(stalkeer, movies, library_keys)               # warm the match_key cache
        for _ in range(args.pairs):
            floor_times.append(run_floor(movies)[0])
            for name, module in versions:
                elapsed, matched, lookups, probes = run_match(module, movies, library_keys)
                times[name].append(elapsed)
                outcome[name] = (matched, lookups, probes)
                skip_times[name].append(run_skips(module, items)[0])
        matched, lookups, probes = outcome['this']
        print(f'match_movies, {len(movies)} missing x {summary.entries} lines, guards on: '
              f'median {statistics.median(times["this"]):.3f} s '
              f'(min {min(times["this"]):.3f}, max {max(times["this"]):.3f}); {len(matched)} matched '
              f'({len(real)} were in the playlist); lookups {lookups}; title-based candidates to probe {probes}')
        ratios = [t / f for t, f in zip(times['this'], floor_times)]
        print(f'floor (the SQL join alone, {run_floor(movies)[1]} candidate rows): median '
              f'{statistics.median(floor_times):.3f} s; match_movies / floor per round: {ratio_line(ratios)}')
        print(f'already-downloaded check, 8,000 rows: median {statistics.median(skip_times["this"]):.3f} s')
        if args.baseline:
            ratios = [b / t for b, t in zip(times['baseline'], times['this'])]
            print(f'baseline match_movies: median {statistics.median(times["baseline"]):.3f} s; '
                  f'baseline/this per pair: min {min(ratios):.1f}, median {statistics.median(ratios):.1f}, '
                  f'max {max(ratios):.1f} ({", ".join(f"{r:.1f}" for r in ratios)})')
            same = outcome['baseline'][0] == matched
            print(f'same movies matched as the baseline: {same}'
                  + ('' if same else f' (only baseline: {len(outcome["baseline"][0] - matched)}, '
                                     f'only this: {len(matched - outcome["baseline"][0])})'))
            ratios = [b / t for b, t in zip(skip_times['baseline'], skip_times['this'])]
            print(f'baseline already-downloaded check: median {statistics.median(skip_times["baseline"]):.3f} s; '
                  f'baseline/this per pair: min {min(ratios):.0f}, median {statistics.median(ratios):.0f}, '
                  f'max {max(ratios):.0f}')


if __name__ == '__main__':
    main()
