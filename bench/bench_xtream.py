#!/usr/bin/env python3
"""Benchmark `process --source xtream` against `process --source m3u` on the same catalogue.

    python bench/bench_xtream.py [--movies 100000] [--series 20000] [--pairs 3]

A fake panel (tests/fakepanel.py) serves a catalogue of --movies VOD streams and
--series series; an M3U playlist holds the same movies (the panel's URLs) and
one line per series. Each pair runs, each in a fresh process and a fresh SQLite
database, a first import from the panel and one from the playlist, in
alternating order (this machine's speed drifts: only neighbouring runs compare),
then a re-run of each on the unchanged data. Reports wall time and peak RSS
(ru_maxrss of the child, from wait4) of each, and the xtream/m3u ratios.
Not a test: the figures go into bench/RESULTS.md by hand.
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
sys.path.insert(0, os.path.join(ROOT, 'tests'))
from fakepanel import FakePanel  # noqa: E402

WORDS = ('Dark Silent Lost Final Red Hidden Broken Golden Last Wild Iron Cold Secret '
         'Black Blue City Night River Storm Garden Empire Kingdom Shadow Road').split()


MISSING = 20      # the series (and title-found movies without an id) a run is missing


def title(i: int) -> str:
    a, b, c = WORDS[i % len(WORDS)], WORDS[(i // 7) % len(WORDS)], WORDS[(i // 131) % len(WORDS)]
    return f'{a} {b} {c} {i}'


def build(panel: FakePanel, movies: int, series: int, playlist: str) -> None:
    panel.add_category('movie', 1, 'FR: FILMS')
    panel.add_category('movie', 2, 'EN: Movies 4K')
    panel.add_category('series', 3, 'Series')
    with open(playlist, 'w', encoding='utf-8') as fh:
        fh.write('#EXTM3U\n')
        for i in range(1, movies + 1):
            name = f'{title(i)} ({1950 + i % 75})' + (' 4K' if i % 5 == 0 else '')
            cat = 2 if i % 5 == 0 else 1
            panel.add_movie(i, name, category_id=cat, tmdb=i if i % 3 else '', ext='mkv')
            group = 'EN: Movies 4K' if cat == 2 else 'FR: FILMS'
            fh.write(f'#EXTINF:-1 tvg-name="{name}" tvg-logo="{panel.url}/images/{i}.jpg" '
                     f'group-title="{group}",{name}\n'
                     f'{panel.url}/movie/{panel.username}/{panel.password}/{i}.mkv\n')
        for i in range(1, series + 1):
            name = f'{title(i + 7)} ({1990 + i % 35})'
            panel.add_series(i, name, category_id=3, tmdb=50000 + i,
                             episodes={1: [(n, 1_000_000 + i * 100 + n) for n in range(1, 11)]}
                             if i <= MISSING else None)
            fh.write(f'#EXTINF:-1 tvg-name="{name} S01E01" group-title="Series",{name} S01E01\n'
                     f'{panel.url}/series/{panel.username}/{panel.password}/{900000 + i}.mkv\n')
    # Not asked by process; a sonarr run asks the few series it misses episodes of.
    for i in list(panel.series_info):
        if i > MISSING:
            del panel.series_info[i]


def run_measured(argv, env):
    """(wall s, peak RSS MiB) of one child, via wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'stalkeer.py'), *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors='replace')
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f'{argv} failed: {err[-2000:]}')
    return wall, usage.ru_maxrss / 1024


def details(args) -> None:
    """The per-run panel cost of a sonarr/radarr run on the catalogue stored by
    `process --source xtream`: get_series_info of the MISSING series Sonarr
    misses episodes of (by tmdbId) and get_vod_info of the movie lines without
    an id that MISSING missing films' titles find, then the same again (cached)."""
    sys.path.insert(0, ROOT)
    import stalkeer
    cfg = stalkeer.Config(args.ini, env={})
    db = stalkeer.open_database(f'sqlite:///{args.details}', os.path.dirname(args.details))
    client = stalkeer.XtreamClient(stalkeer.XtreamSettings.from_config(cfg))
    series = [{'title': f'{title(i + 7)} ({1990 + i % 35})', 'tmdbId': 50000 + i} for i in range(1, MISSING + 1)]
    movies = [{'title': title(i), 'year': 1950 + i % 75} for i in range(3, 3 * MISSING + 1, 3)]
    for run in ('first run', 'cached'):
        started = time.perf_counter()
        d = stalkeer.PanelDetails(client)
        asked_series, asked_movies = d.series_episodes(series), d.movie_details(movies)
        print(f'details {run:9}: {time.perf_counter() - started:6.2f} s, get_series_info {asked_series}, '
              f'get_vod_info {asked_movies} (of {len(series)} series, {len(movies)} movies missing)', flush=True)
    db.close()


def serve(args) -> None:
    """The child that builds and serves the catalogue, so that the benchmark's own
    process stays small: Linux carries a process's peak RSS across fork and exec,
    and a parent holding the catalogue would inflate every child's ru_maxrss."""
    with FakePanel('benchuser', 'benchpass-0000') as panel:
        build(panel, args.movies, args.series, args.playlist)
        with open(args.serve + '.tmp', 'w', encoding='utf-8') as fh:
            fh.write(panel.playlist_url)
        os.rename(args.serve + '.tmp', args.serve)
        while True:
            time.sleep(3600)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--movies', type=int, default=100_000)
    ap.add_argument('--series', type=int, default=20_000)
    ap.add_argument('--pairs', type=int, default=3)
    ap.add_argument('--serve', help=argparse.SUPPRESS)
    ap.add_argument('--playlist', help=argparse.SUPPRESS)
    ap.add_argument('--details', help=argparse.SUPPRESS)
    ap.add_argument('--ini', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(args)
    if args.details:
        return details(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith('STALKEER_') and k != 'DATABASE_URL'}
    with tempfile.TemporaryDirectory() as tmp:
        playlist = os.path.join(tmp, 'pl.m3u')
        url_file = os.path.join(tmp, 'panel.url')
        server = subprocess.Popen([sys.executable, __file__, '--movies', str(args.movies), '--series',
                                   str(args.series), '--serve', url_file, '--playlist', playlist])
        try:
            while not os.path.exists(url_file):
                if server.poll() is not None:
                    raise SystemExit('the fake panel did not start')
                time.sleep(0.2)
            with open(url_file, encoding='utf-8') as fh:
                playlist_url = fh.read()
            ini = os.path.join(tmp, 'stalkeer.ini')
            with open(ini, 'w', encoding='utf-8') as fh:
                fh.write(f'[m3u]\nurl = {playlist_url}\nfile_path = {playlist}\n')
            results = {k: [] for k in ('xtream first', 'm3u first', 'xtream rerun', 'm3u rerun')}
            for pair in range(args.pairs):
                order = ('xtream', 'm3u') if pair % 2 == 0 else ('m3u', 'xtream')
                for phase in ('first', 'rerun'):
                    for source in order:
                        db = f'sqlite:///{tmp}/{source}-{pair}.db'
                        wall, rss = run_measured(['--config', ini, '--db', db, '-q', 'process',
                                                  '--source', source], env)
                        results[f'{source} {phase}'].append((wall, rss))
                        print(f'pair {pair + 1} {source:6} {phase:5}: {wall:6.2f} s  {rss:7.1f} MiB '
                              'peak RSS', flush=True)
            subprocess.run([sys.executable, __file__, '--details', f'{tmp}/xtream-0.db', '--ini', ini],
                           env=env, check=True)
        finally:
            server.kill()
            server.wait()
    print(f'\n{args.movies} movies + {args.series} series; Python {platform.python_version()} '
          f'on {platform.machine()}, {os.cpu_count()} cores')
    for phase in ('first', 'rerun'):
        x, m = results[f'xtream {phase}'], results[f'm3u {phase}']
        ratios = [a[0] / b[0] for a, b in zip(x, m)]
        print(f'{phase:5}: xtream median {statistics.median(w for w, _ in x):.2f} s, '
              f'{max(r for _, r in x):.0f} MiB; m3u median {statistics.median(w for w, _ in m):.2f} s, '
              f'{max(r for _, r in m):.0f} MiB; wall xtream/m3u min {min(ratios):.2f} '
              f'median {statistics.median(ratios):.2f} max {max(ratios):.2f}')


if __name__ == '__main__':
    main()
