#!/usr/bin/env python3
"""Benchmark several stalkeer instances racing for the same downloads, and lock claims.

    python bench/bench_race.py [--procs 8] [--items 40] [--backends sqlite,postgresql]

For each backend (SQLite in a temp folder; PostgreSQL in a fresh schema of
--pg-url, dropped afterwards):

1. Race: --items random files of --file-mib served over 127.0.0.1 by
   tests/fileserver.py (run in-process, library mode, so that its request log
   counts the GETs of each file), one `pending` row per file seeded through
   stalkeer's own StateManager, then --procs processes of
   `stalkeer.py -q resume-downloads --parallel 2` started together
   (max_connections_per_host=8, min_free_space_mb=0). Reports the wall time
   until the last one exits, their exit codes and summaries, and checks: every
   destination has the source's SHA-256, no .part is left, every row is
   `completed`, each file was fetched once, and no stderr says
   "database is locked".
2. Lock claims: StateManager.acquire() + release() in a loop for --seconds, in
   a fresh process: on one row, and round-robin over --items rows; then 4
   processes contending for one row (attempts, successful claims, and
   release() failures, which would mean a claim was not really ours).

Not a test: the figures go into bench/RESULTS.md by hand. Prints markdown tables.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STALKEER = os.path.join(ROOT, 'stalkeer.py')
sys.path.insert(0, os.path.join(ROOT, 'tests'))
sys.path.insert(0, ROOT)

MiB = 1 << 20
LOCKED = 'database is locked'


def child_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('STALKEER_') and k != 'DATABASE_URL'}
    env.update({k: str(v) for k, v in extra.items()})
    return env


# -- databases --------------------------------------------------------------------

class Backend:
    def __init__(self, kind, work, pg_url):
        self.kind = kind
        if kind == 'sqlite':
            self.path = os.path.join(work, 'race.db')
            self.url = f'sqlite:///{self.path}'
        else:
            self.schema = f'bench_race_{os.getpid()}'
            self.base = pg_url
            sep = '&' if '?' in pg_url else '?'
            self.url = f'{pg_url}{sep}schema={self.schema}'

    def query(self, sql):
        """Rows of ``sql`` (on download_info etc.) as lists of strings."""
        if self.kind == 'sqlite':
            con = sqlite3.connect(self.path, timeout=30)
            try:
                return [[str(v) for v in row] for row in con.execute(sql)]
            finally:
                con.close()
        out = subprocess.run(self._psql() + ['-c', f'SET search_path TO "{self.schema}"; {sql}'],
                             capture_output=True, text=True, check=True).stdout
        return [line.split('|') for line in out.splitlines() if line and line != 'SET']

    def _psql(self):
        from urllib.parse import urlsplit
        u = urlsplit(self.base)
        return ['psql', '-h', u.hostname or '127.0.0.1', '-p', str(u.port or 5432),
                '-U', u.username or 'postgres', '-d', u.path.lstrip('/') or 'test', '-Atq']

    def version(self):
        if self.kind == 'sqlite':
            return f'SQLite {sqlite3.sqlite_version}'
        out = subprocess.run(self._psql() + ['-c', 'SHOW server_version'],
                             capture_output=True, text=True, check=True).stdout.strip()
        return f'PostgreSQL {out.split()[0]}'

    def drop(self):
        if self.kind == 'postgresql':
            subprocess.run(self._psql() + ['-c', f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'],
                           capture_output=True, check=False)


def seed_rows(db_url, work, rows):
    """get_or_create() each (url, destination, title) through stalkeer; their ids."""
    import stalkeer
    db = stalkeer.open_database(db_url, work)
    try:
        state = stalkeer.StateManager(owner='seed')
        return [state.get_or_create(url, dest, title).id for url, dest, title in rows]
    finally:
        db.close()


# -- 1. race ------------------------------------------------------------------------

SUMMARY = re.compile(r'resume-downloads: (\d+) completed, (\d+) failed, (\d+) skipped, (\d+) lost')


def race(backend, work, procs, items, file_mib):
    from fileserver import FileServer
    src = os.path.join(work, 'src')
    lib = os.path.join(work, f'lib-{backend.kind}')
    os.makedirs(src, exist_ok=True)
    os.makedirs(lib)
    digests = {}
    for i in range(items):
        name = f'item{i:03d}.mkv'
        path = os.path.join(src, name)
        if not os.path.exists(path):
            with open(path, 'wb') as fh:
                fh.write(os.urandom(file_mib * MiB))
        with open(path, 'rb') as fh:
            digests[name] = hashlib.sha256(fh.read()).hexdigest()
    env = child_env(STALKEER_DOWNLOADS_MAX_CONNECTIONS_PER_HOST=8,
                    STALKEER_DOWNLOADS_MIN_FREE_SPACE_MB=0)
    with FileServer() as srv:
        urls = {name: srv.add(name, path=os.path.join(src, name)) for name in digests}
        t0 = time.perf_counter()
        seed_rows(backend.url, work, [(urls[n], os.path.join(lib, n), n) for n in digests])
        seed_time = time.perf_counter() - t0
        argv = [sys.executable, STALKEER, '-q', '--db', backend.url, 'resume-downloads', '--parallel', '2']
        logs, children = [], []
        started = time.perf_counter()
        for p in range(procs):
            out = open(os.path.join(work, f'race-{backend.kind}-{p}.out'), 'w+b')
            err = open(os.path.join(work, f'race-{backend.kind}-{p}.err'), 'w+b')
            logs.append((out, err))
            children.append(subprocess.Popen(argv, env=env, cwd=work, stdout=out, stderr=err))
        ends = []
        for child in children:
            child.wait()
            ends.append(time.perf_counter() - started)
        wall = max(ends)
        gets = {name: srv.gets(name) for name in digests}
    codes = [c.returncode for c in children]
    stdout, stderr = [], []
    for out, err in logs:
        for fh, dest in ((out, stdout), (err, stderr)):
            fh.seek(0)
            dest.append(fh.read().decode('utf-8', 'replace'))
            fh.close()
    totals = [0, 0, 0, 0]
    for text in stdout:
        m = SUMMARY.search(text)
        if m:
            totals = [a + int(b) for a, b in zip(totals, m.groups())]
    bad_files = [n for n, d in digests.items()
                 if not os.path.isfile(os.path.join(lib, n))
                 or hashlib.sha256(open(os.path.join(lib, n), 'rb').read()).hexdigest() != d]
    parts = [f for f in os.listdir(lib) if f.endswith('.part')]
    statuses = dict((s, int(c)) for s, c in backend.query(
        'SELECT status, COUNT(*) FROM download_info GROUP BY status'))
    locked = sum(text.count(LOCKED) for text in stderr)
    fetches = [sum(1 for g in gets[n] if g.full_body) for n in digests]
    result = dict(
        wall=wall, first_exit=min(ends), seed_time=seed_time, codes=codes, totals=totals,
        bad_files=bad_files, parts=parts, statuses=statuses, locked=locked,
        requests=sum(len(g) for g in gets.values()), fetched_once=sum(1 for f in fetches if f == 1),
        fetched_more=sum(1 for f in fetches if f > 1), fetched_never=sum(1 for f in fetches if f == 0),
        stderr_lines=sum(len(t.splitlines()) for t in stderr),
        stderr_sample=next((t.strip().splitlines()[0] for t in stderr if t.strip()), ''))
    ok = (not bad_files and not parts and statuses == {'completed': items} and locked == 0
          and result['fetched_once'] == items)
    result['ok'] = ok
    print(f'  race: {wall:.2f} s, exit codes {codes}, completed/failed/skipped/lost {totals}, '
          f'rows {statuses}, GETs {result["requests"]}, "{LOCKED}" x{locked}, '
          f'{"all checks pass" if ok else "CHECKS FAILED"}', flush=True)
    return result


# -- 2. lock claims ----------------------------------------------------------------------

def claims_worker(spec):
    """Child process: acquire()+release() in a loop; prints a JSON line."""
    import peewee
    import stalkeer
    stalkeer.open_database(spec['url'], spec['work'], migrate=False)
    state = stalkeer.StateManager(lock_timeout=300, owner=f'bench-{os.getpid()}')
    ids = spec['ids']
    state.acquire(ids[0]) and state.release(ids[0])   # connect and warm up
    delay = spec['start_at'] - time.time()
    if delay > 0:
        time.sleep(delay)
    attempts = claims = release_failures = errors = 0
    first_error = ''
    i = 0
    t0 = time.perf_counter()
    deadline = t0 + spec['seconds']
    while time.perf_counter() < deadline:
        rid = ids[i % len(ids)]
        i += 1
        attempts += 1
        try:
            if state.acquire(rid):
                claims += 1
                if not state.release(rid):
                    release_failures += 1
        except peewee.PeeweeException as exc:
            errors += 1
            first_error = first_error or str(exc).splitlines()[0]
    elapsed = time.perf_counter() - t0
    print(json.dumps(dict(attempts=attempts, claims=claims, release_failures=release_failures,
                          errors=errors, first_error=first_error, elapsed=elapsed)))


def run_claims(backend, work, ids, nprocs, seconds):
    start_at = time.time() + 1.5 + 0.5 * nprocs   # after every process has connected
    spec = dict(url=backend.url, work=work, ids=ids, seconds=seconds, start_at=start_at)
    children = [subprocess.Popen([sys.executable, os.path.abspath(__file__), '--claims-worker',
                                  json.dumps(spec)], cwd=work, env=child_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(nprocs)]
    results = []
    for child in children:
        out, err = child.communicate()
        if child.returncode != 0:
            sys.exit(f'claims worker failed ({child.returncode}): {err.strip()[-500:]}')
        results.append(json.loads(out.strip().splitlines()[-1]))
        results[-1]['locked'] = err.count(LOCKED) + (LOCKED in results[-1]['first_error'])
    elapsed = max(r['elapsed'] for r in results)
    total = {k: sum(r[k] for r in results) for k in
             ('attempts', 'claims', 'release_failures', 'errors', 'locked')}
    total.update(elapsed=elapsed, per_proc_claims=[r['claims'] for r in results],
                 first_error=next((r['first_error'] for r in results if r['first_error']), ''))
    return total


def claims(backend, work, items, seconds):
    rows = [(f'http://127.0.0.1:9/claim/{i}.mkv', os.path.join(work, f'claim-{backend.kind}-{i}.mkv'),
             f'claim {i}') for i in range(items)]
    ids = seed_rows(backend.url, work, rows)
    out = {}
    for label, row_ids, nprocs in (('one row, 1 process', ids[:1], 1),
                                   (f'{items} rows round-robin, 1 process', ids, 1),
                                   ('one row, 4 processes contending', ids[:1], 4)):
        r = run_claims(backend, work, row_ids, nprocs, seconds)
        out[label] = r
        print(f'  claims, {label}: {r["claims"] / r["elapsed"]:,.0f}/s '
              f'({r["attempts"] / r["elapsed"]:,.0f} attempts/s, per process {r["per_proc_claims"]}, '
              f'release failures {r["release_failures"]}, errors {r["errors"]})', flush=True)
    return out


# -- report --------------------------------------------------------------------------------

def report(args, results, versions):
    print()
    print(f'### {args.procs} × `resume-downloads --parallel 2` racing for {args.items} pending '
          f'downloads of {args.file_mib} MiB')
    print()
    print('| backend | wall (all exited) | exit codes | completed / failed / skipped / lost (sum of summaries) '
          '| rows completed | GETs (files fetched once) | SHA-256 ok | `.part` left | "database is locked" |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for kind, r in results.items():
        race_r = r['race']
        codes = ', '.join(f'{c}×{race_r["codes"].count(c)}' for c in sorted(set(race_r['codes'])))
        print(f'| {versions[kind]} | {race_r["wall"]:.2f} s | {codes} '
              f'| {" / ".join(map(str, race_r["totals"]))} '
              f'| {race_r["statuses"].get("completed", 0)} of {args.items} '
              f'| {race_r["requests"]} ({race_r["fetched_once"]}) '
              f'| {args.items - len(race_r["bad_files"])} of {args.items} | {len(race_r["parts"])} '
              f'| {race_r["locked"]} |')
    print()
    print(f'### Lock claims: `StateManager.acquire()` + `release()`, {args.seconds:g} s loops')
    print()
    print('| backend | loop | claims/s | attempts/s | release failures | errors |')
    print('| --- | --- | --- | --- | --- | --- |')
    for kind, r in results.items():
        for label, c in r['claims'].items():
            print(f'| {versions[kind]} | {label} | {c["claims"] / c["elapsed"]:,.0f} '
                  f'| {c["attempts"] / c["elapsed"]:,.0f} | {c["release_failures"]} | {c["errors"]} |')
    failed = [k for k, r in results.items() if not r['race']['ok']]
    print()
    print('Race checks: ' + ('all pass.' if not failed else f'FAILED on {", ".join(failed)}.'))
    for kind, r in results.items():
        extra = r['race']['totals'][0] - args.items
        if extra > 0:
            print(f'{versions[kind]}: the summaries report {extra} more completion(s) than there are '
                  f'rows: a process that listed a row as pending claimed it after another finished it '
                  f'(no second GET: it found the finished file and marked the row completed again).')


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--claims-worker':
        return claims_worker(json.loads(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--procs', type=int, default=8)
    parser.add_argument('--items', type=int, default=40)
    parser.add_argument('--backends', default='sqlite,postgresql')
    parser.add_argument('--file-mib', type=int, default=2)
    parser.add_argument('--seconds', type=float, default=3.0, help='length of each lock-claim loop')
    parser.add_argument('--pg-url', default='postgresql://postgres@127.0.0.1:5432/test')
    args = parser.parse_args()
    kinds = [k.strip() for k in args.backends.split(',') if k.strip()]
    for k in kinds:
        if k not in ('sqlite', 'postgresql'):
            sys.exit(f'unknown backend {k!r}')
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}')
    work = tempfile.mkdtemp(prefix='stalkeer-bench-race-', dir='/tmp')
    results, versions = {}, {}
    try:
        for kind in kinds:
            backend = Backend(kind, work, args.pg_url)
            try:
                versions[kind] = backend.version()
                print(f'{versions[kind]}:', flush=True)
                results[kind] = dict(race=race(backend, work, args.procs, args.items, args.file_mib),
                                     claims=claims(backend, work, args.items, args.seconds))
            finally:
                backend.drop()
        report(args, results, versions)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
