#!/usr/bin/env python3
"""Benchmark `stalkeer.py download` against curl, its memory, and a SIGKILL resume.

    python bench/bench_download.py [--size-mib 1024] [--runs 3] [--big-mib 2048]
                                   [--baseline main.py ...]

1. Throughput: a random file of --size-mib served over 127.0.0.1 by
   tests/fileserver.py (standalone mode, sendfile), fetched alternately (after
   --warmup discarded pairs) by `curl -s -o OUT URL` and `python stalkeer.py -q download URL OUT` (a fresh
   SQLite database and destination each run, tracking on: progress saved every
   10 MiB, fsync before the rename). Wall time, MB/s (10^6 bytes), user+sys CPU
   of the child (os.wait4, so it is that child's own rusage), the median
   stalkeer/curl speed ratio. Each --baseline (e.g. `git show main:stalkeer.py >
   main.py`) runs in the same rounds, the order of the tools drawn anew (seeded)
   each round. The page cache is flushed (os.sync) before every
   run; curl does not fsync, so the sync after each curl run is timed as well.
2. Peak RSS (ru_maxrss from os.wait4: the child's own peak, not the largest
   child so far) of a --big-mib and a 256 MiB download (sparse files: only the
   size matters here), to show it does not grow with the file.
3. SIGKILL: the same file through a throttled server (--throttle-mbps), with
   lock_timeout_seconds=2 (and progress_interval_seconds=1, which may be at
   most half of it); kill -9 at a seeded random moment between 20% and 80% of the
   expected duration; the .part size and the row's bytes_downloaded are read;
   2.5 s later `resume-downloads` finishes it; the result's SHA-256 is checked.
   This server runs in-process (the same tests/fileserver.py code, library
   mode) so that its request log says which range the resume asked for and how
   many bytes were sent twice.

Not a test: the figures go into bench/RESULTS.md by hand, with the machine's
details. Prints markdown tables.
"""

import argparse
import glob
import hashlib
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STALKEER = os.path.join(ROOT, 'stalkeer.py')
FILESERVER = os.path.join(ROOT, 'tests', 'fileserver.py')
sys.path.insert(0, os.path.join(ROOT, 'tests'))
from fileserver import FileServer  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
PROGRESS_INTERVAL = 10 * MiB
RESUME_OVERLAP = 64 * 1024


def child_env(**extra):
    """The caller's environment without stalkeer settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('STALKEER_') and k != 'DATABASE_URL'}
    env.update(STALKEER_DOWNLOADS_MIN_FREE_SPACE_MB='0',
               STALKEER_DOWNLOADS_PROGRESS_INTERVAL_MB='10')
    env.update({k: str(v) for k, v in extra.items()})
    return env


def spawn(argv, env, cwd, log_prefix):
    out = open(log_prefix + '.out', 'wb')
    err = open(log_prefix + '.err', 'wb')
    try:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
    finally:
        out.close()
        err.close()


def reap(proc):
    """Wait for ``proc`` with os.wait4: (exit code, rusage of that child alone)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage


def run_child(argv, env, cwd, log_prefix):
    """Run to completion: (wall s, user+sys CPU s, peak RSS bytes, exit code)."""
    started = time.perf_counter()
    proc = spawn(argv, env, cwd, log_prefix)
    code, usage = reap(proc)
    wall = time.perf_counter() - started
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, code


def tail(path, n=400):
    try:
        with open(path, 'rb') as fh:
            return fh.read().decode('utf-8', 'replace').strip()[-n:]
    except OSError:
        return ''


def write_random(path, size, chunk=16 * MiB):
    """A file of ``size`` random bytes; returns its SHA-256."""
    digest = hashlib.sha256()
    with open(path, 'wb') as fh:
        left = size
        while left:
            block = os.urandom(min(chunk, left))
            digest.update(block)
            fh.write(block)
            left -= len(block)
    return digest.hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as fh:
        while True:
            block = fh.read(8 * MiB)
            if not block:
                return digest.hexdigest()
            digest.update(block)


def start_server(folder, throttle_bps=0):
    argv = [sys.executable, FILESERVER, '--dir', folder, '--port', '0']
    if throttle_bps:
        argv += ['--throttle-bps', str(throttle_bps)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith('http://127.0.0.1:'):
        proc.kill()
        sys.exit(f'file server did not start: {line!r}')
    return proc, line


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def remove(*paths):
    for path in paths:
        for p in glob.glob(path):
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.unlink(p)


def baseline_names(paths):
    """(name, path) of each --baseline: base1, base2, ..."""
    return [(f'base{n}', path) for n, path in enumerate(paths, 1)]


def stalkeer_argv(db_path, *args, script=STALKEER):
    return [sys.executable, script, '-q', '--db', f'sqlite:///{db_path}', *args]


# -- 1. throughput ----------------------------------------------------------------

def throughput(url, size, digest, work, runs, warmup, baseline=None):
    rows = []
    env = child_env()
    baselines = dict(baseline_names(baseline or []))
    tools = ('curl', 'stalkeer') + tuple(baselines)
    for i in range(1 - warmup, runs + 1):
        # A new order each round (seeded): with a fixed or rotated order the
        # tool run right after curl was 0.5 s slower per GiB, whichever it was.
        for tool in random.Random(i).sample(tools, len(tools)):
            out = os.path.join(work, f'tp-{tool}-{i}.mkv')
            db = os.path.join(work, f'tp-{i}.db')
            remove(out, out + '*.part', db + '*')
            os.sync()   # nothing left to write back from the previous run
            if tool == 'curl':
                argv = ['curl', '-s', '-o', out, url]
            else:
                argv = stalkeer_argv(db, 'download', url, out,
                                     script=baselines.get(tool, STALKEER))
            wall, cpu, rss, code = run_child(argv, env, work, os.path.join(work, f'tp-{tool}-{i}'))
            if code != 0:
                sys.exit(f'{tool} run {i} failed ({code}): {tail(os.path.join(work, f"tp-{tool}-{i}.err"))}')
            t0 = time.perf_counter()
            os.sync()
            sync = time.perf_counter() - t0
            ok = os.path.getsize(out) == size and sha256_file(out) == digest
            if not ok:
                sys.exit(f'{tool} run {i}: the downloaded file differs from the source')
            if i > 0:
                rows.append(dict(tool=tool, run=i, wall=wall, cpu=cpu, rss=rss, sync=sync))
            print(f'  {"run " + str(i) if i > 0 else "warm-up"} {tool:>8}: {wall:6.2f} s  {size / wall / 1e6:7.1f} MB/s  '
                  f'CPU {cpu:5.2f} s  (then sync {sync:.2f} s)', flush=True)
            remove(out, db + '*')
    return rows


def import_time(work, repeats=3):
    """Interpreter start + `import stalkeer` (what every stalkeer run pays first)."""
    code = f'import sys; sys.path.insert(0, {ROOT!r}); import stalkeer'
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, '-c', code], check=True, cwd=work)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# -- 2. peak RSS --------------------------------------------------------------------

def peak_rss(work, sizes_mib):
    folder = os.path.join(work, 'rss-src')
    os.makedirs(folder, exist_ok=True)
    for mib in sizes_mib:
        with open(os.path.join(folder, f'sparse-{mib}.mkv'), 'wb') as fh:
            fh.truncate(mib * MiB)
    server, base = start_server(folder)
    results = {}
    try:
        for mib in sizes_mib:
            out = os.path.join(work, f'rss-{mib}.mkv')
            db = os.path.join(work, f'rss-{mib}.db')
            os.sync()
            wall, cpu, rss, code = run_child(stalkeer_argv(db, 'download', f'{base}/sparse-{mib}.mkv', out),
                                             child_env(), work, os.path.join(work, f'rss-{mib}'))
            if code != 0 or os.path.getsize(out) != mib * MiB:
                sys.exit(f'RSS run {mib} MiB failed ({code}): {tail(os.path.join(work, f"rss-{mib}.err"))}')
            results[mib] = dict(rss=rss, wall=wall, cpu=cpu)
            print(f'  {mib} MiB: peak RSS {rss / MiB:.1f} MiB, {wall:.2f} s', flush=True)
            remove(out, db + '*')
    finally:
        stop_server(server)
        remove(folder)
    return results


# -- 3. SIGKILL and resume ------------------------------------------------------------

def db_row(db_path):
    con = sqlite3.connect(db_path)
    try:
        row = con.execute('SELECT bytes_downloaded, status, resume_token, locked_by '
                          'FROM download_info').fetchone()
    finally:
        con.close()
    return row


def kill_and_resume(src_path, size, digest, work, throttle_bps, seed):
    rng = random.Random(seed)
    expected = size / throttle_bps
    kill_at = rng.uniform(0.2, 0.8) * expected
    folder = os.path.join(work, f'kill-{seed}')
    os.makedirs(folder)
    db = os.path.join(work, f'kill-{seed}.db')
    dest = os.path.join(folder, 'movie.mkv')
    env = child_env(STALKEER_DOWNLOADS_LOCK_TIMEOUT_SECONDS=2,
                    STALKEER_DOWNLOADS_PROGRESS_INTERVAL_SECONDS=1)
    with FileServer() as srv:
        url = srv.add('movie.mkv', path=src_path)
        srv.fault('movie.mkv', throttle_bps=throttle_bps)
        os.sync()
        proc = spawn(stalkeer_argv(db, 'download', url, dest), env, work,
                     os.path.join(work, f'kill-{seed}-dl'))
        started = time.perf_counter()
        time.sleep(kill_at)
        if proc.poll() is not None:
            sys.exit(f'seed {seed}: the download ended ({proc.returncode}) before the kill')
        os.kill(proc.pid, signal.SIGKILL)
        reap(proc)
        killed_after = time.perf_counter() - started
        parts = glob.glob(os.path.join(folder, '*.part'))
        if len(parts) != 1:
            sys.exit(f'seed {seed}: expected one .part file, found {parts}')
        part_size = os.path.getsize(parts[0])
        persisted, status, token, holder = db_row(db)
        time.sleep(2.5)
        wall, cpu, _, code = run_child(stalkeer_argv(db, 'resume-downloads'), env, work,
                                       os.path.join(work, f'kill-{seed}-resume'))
        gets = srv.gets('movie.mkv')
    if code != 0:
        sys.exit(f'seed {seed}: resume-downloads failed ({code}): '
                 f'{tail(os.path.join(work, f"kill-{seed}-resume.err"))}')
    if len(gets) < 2:
        sys.exit(f'seed {seed}: expected the killed GET and a resume GET, got {len(gets)}')
    first, resumes = gets[0], gets[1:]
    resume_offset = resumes[0].start
    final_status = db_row(db)[1]
    ok = os.path.isfile(dest) and sha256_file(dest) == digest and final_status == 'completed'
    served = sum(g.bytes_sent for g in gets)
    result = dict(
        seed=seed, kill_at=killed_after, fraction=part_size / size,
        part=part_size, persisted=persisted, status_at_kill=status, token=bool(token),
        unpersisted=part_size - persisted, resume_offset=resume_offset,
        resume_status=resumes[0].status, resume_requests=len(resumes),
        refetched=max(0, part_size - resume_offset),
        # Everything the server sent beyond one copy of the file: bytes received
        # but not yet written, and bytes still in the socket buffers at the kill.
        sent_twice=served - size,
        resume_wall=wall, sha_ok=ok, final_status=final_status)
    print(f'  seed {seed}: killed at {killed_after:.1f} s ({100 * part_size / size:.0f}%), '
          f'.part {part_size / MiB:.1f} MiB, persisted {persisted / MiB:.1f} MiB, '
          f'resume from {resume_offset / MiB:.1f} MiB ({resumes[0].status}), '
          f'sent twice {result["sent_twice"] / 1024:.0f} KiB, sha256 {"ok" if ok else "WRONG"}',
          flush=True)
    remove(folder, db + '*')
    return result


# -- report -------------------------------------------------------------------------

def med(values):
    return statistics.median(values)


def report_throughput(args, size, rows, startup):
    baselines = dict(baseline_names(args.baseline or []))
    tools = ('curl', 'stalkeer') + tuple(baselines)
    by = {t: [r for r in rows if r['tool'] == t] for t in tools}
    speed = {t: [size / r['wall'] / 1e6 for r in by[t]] for t in by}
    ratios = [s / c for s, c in zip(speed['stalkeer'], speed['curl'])]
    ratio = med(ratios)
    # curl leaves the file in the page cache; stalkeer's time includes its fsync.
    synced = [c['wall'] + c['sync'] for c in by['curl']]
    ratio_synced = med([c / s['wall'] for c, s in zip(synced, by['stalkeer'])])
    cpu_gib = {t: med([r['cpu'] for r in by[t]]) / (size / GiB) for t in by}
    print()
    print(f'### Throughput, {args.size_mib} MiB over 127.0.0.1, {args.runs} interleaved runs each')
    print()
    print('| tool | wall (median) | min–max | MB/s (median) | CPU user+sys per GiB | sync after |')
    print('| --- | --- | --- | --- | --- | --- |')
    names = {'curl': '`curl -s -o`', 'stalkeer': '`stalkeer.py -q download`',
             **{name: f'{name} `{path}`' for name, path in baselines.items()}}
    for t in tools:
        walls = [r['wall'] for r in by[t]]
        print(f'| {names[t]} '
              f'| {med(walls):.2f} s | {min(walls):.2f}–{max(walls):.2f} s '
              f'| {med(speed[t]):.0f} | {cpu_gib[t]:.2f} s '
              f'| {med([r["sync"] for r in by[t]]):.2f} s |')
    print()
    verdict = 'meets' if ratio >= 0.95 else 'MISSES'
    print(f'stalkeer/curl speed, median of the per-pair ratios: **{ratio:.2f}** '
          f'(min {min(ratios):.2f}, max {max(ratios):.2f}; {", ".join(f"{x:.2f}" for x in ratios)}); '
          f'target ≥ 0.95 (issue 15): {verdict}. '
          f'Against curl plus the sync that follows it (stalkeer fsyncs before its rename): '
          f'{ratio_synced:.2f}. Interpreter start + `import stalkeer`: {startup:.2f} s of each '
          f'stalkeer run.')
    for name in baselines:
        base_ratios = [b['wall'] / s['wall'] for s, b in zip(by['stalkeer'], by[name])]
        base_curl = [c['wall'] / b['wall'] for b, c in zip(by[name], by['curl'])]
        print()
        print(f'stalkeer/{name} speed, per round: min {min(base_ratios):.2f}, median '
              f'**{med(base_ratios):.2f}**, max {max(base_ratios):.2f} '
              f'({", ".join(f"{x:.2f}" for x in base_ratios)}); {name}/curl: min '
              f'{min(base_curl):.2f}, median {med(base_curl):.2f}, max {max(base_curl):.2f}.')
    print(f'load average at the end: {" ".join(f"{x:.2f}" for x in os.getloadavg())}')


def report_rss(rss):
    print()
    print('### Peak RSS of `stalkeer.py download` (ru_maxrss of the child)')
    print()
    print('| file | peak RSS | wall | target |')
    print('| --- | --- | --- | --- |')
    for mib, r in sorted(rss.items()):
        mark = '≤ 80 MB' + ('' if r['rss'] <= 80e6 else ' (MISSED)')
        print(f'| {mib} MiB | {r["rss"] / MiB:.1f} MiB ({r["rss"] / 1e6:.0f} MB) | {r["wall"]:.2f} s | {mark} |')


def report_kills(args, kills, throttle_bps):
    print()
    print(f'### SIGKILL mid-download, then `resume-downloads` ({args.size_mib} MiB at '
          f'{throttle_bps / 1e6:.0f} MB/s)')
    print()
    print('| seed | killed at | .part at kill | bytes_downloaded in DB | not yet persisted '
          '| resume request | re-requested (.part − offset) | sent twice by the server '
          '| resume run | SHA-256 |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for k in kills:
        more = '' if k['resume_requests'] == 1 else f' (+{k["resume_requests"] - 1} more)'
        print(f'| {k["seed"]} | {k["kill_at"]:.1f} s ({100 * k["fraction"]:.0f}%) '
              f'| {k["part"]:,} | {k["persisted"]:,} | {k["unpersisted"] / MiB:.2f} MiB '
              f'| {k["resume_status"]} from {k["resume_offset"]:,}{more} '
              f'| {k["refetched"]:,} | {k["sent_twice"] / 1024:,.0f} KiB '
              f'| {k["resume_wall"]:.1f} s | {"ok" if k["sha_ok"] else "WRONG"} |')
    limit = PROGRESS_INTERVAL + RESUME_OVERLAP
    worst = max(k['refetched'] for k in kills)
    twice = max(k['sent_twice'] for k in kills)
    print()
    print(f'Target: bytes fetched again (re-requested by the resume) ≤ 10 MiB + 64 KiB ({limit:,}); '
          f'worst {worst:,}: {"meets" if worst <= limit else "MISSES"}. '
          f'Sent twice by the server, worst {twice:,} ({"within" if twice <= limit else "over"} that '
          f'bound): bytes handed to the socket that had not reached the .part at the kill, mostly '
          f'in the kernel socket buffers (their size is the kernel\'s, not stalkeer\'s). '
          f'Not yet persisted, worst {max(k["unpersisted"] for k in kills) / MiB:.2f} MiB '
          f'(≤ one progress interval). '
          f'All SHA-256 match: {"yes" if all(k["sha_ok"] for k in kills) else "NO"}.')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size-mib', type=int, default=1024)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1,
                        help='discarded curl+stalkeer pairs first (this VM is slow to hand out fresh page-cache memory)')
    parser.add_argument('--big-mib', type=int, default=2048)
    parser.add_argument('--small-mib', type=int, default=256, help='second peak-RSS size')
    parser.add_argument('--throttle-mbps', type=float, default=50,
                        help='server rate for the SIGKILL test, MB/s (10^6 bytes)')
    parser.add_argument('--kills', type=int, default=3)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--baseline', metavar='STALKEER_PY', action='append',
                        help='another stalkeer.py (e.g. main\'s) run in the same rounds as one more '
                             'tool; may be repeated (base1, base2, ...)')
    parser.add_argument('--skip', default='', help='comma list of parts to skip: throughput,rss,kill')
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(',')))
    for tool in ('curl',):
        if shutil.which(tool) is None:
            sys.exit(f'{tool} is needed')
    size = args.size_mib * MiB
    throttle_bps = int(args.throttle_mbps * 1e6)
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, '
          f'SQLite {sqlite3.sqlite_version}')
    work = tempfile.mkdtemp(prefix='stalkeer-bench-dl-', dir='/tmp')
    try:
        src_dir = os.path.join(work, 'src')
        os.makedirs(src_dir)
        src = os.path.join(src_dir, 'movie.mkv')
        t0 = time.perf_counter()
        digest = write_random(src, size)
        print(f'source: {args.size_mib} MiB of random bytes in {time.perf_counter() - t0:.1f} s, '
              f'sha256 {digest[:16]}…', flush=True)
        rows, startup, rss, kills = [], 0.0, {}, []
        if 'throughput' not in skip:
            server, base = start_server(src_dir)
            try:
                print('throughput:', flush=True)
                rows = throughput(f'{base}/movie.mkv', size, digest, work, args.runs, args.warmup,
                                  args.baseline)
            finally:
                stop_server(server)
            startup = import_time(work)
        if 'rss' not in skip:
            print('peak RSS:', flush=True)
            rss = peak_rss(work, [args.big_mib, args.small_mib])
        if 'kill' not in skip:
            print('SIGKILL + resume:', flush=True)
            kills = [kill_and_resume(src, size, digest, work, throttle_bps, args.seed + i)
                     for i in range(args.kills)]
        if rows:
            report_throughput(args, size, rows, startup)
        if rss:
            report_rss(rss)
        if kills:
            report_kills(args, kills, throttle_bps)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
