#!/usr/bin/env python3
"""Peak memory of reading a Radarr that ignores pageSize.

    python bench/bench_arr_memory.py [--records 300000] [--runs 2] [--against main|'']

A child process serves GET /api/v3/wanted/missing as one page holding every
record (a Radarr, or a proxy, that ignores pageSize), streamed as it is
generated so the server itself stays small. Each record is a full
MovieResource as tests/fakearr.py builds it (about 1.5 KB of JSON). Then, each
in a fresh interpreter, alternating: this tree's stalkeer.py and the one of
the git revision --against (default main) call RadarrClient.missing_movies();
the child reports its own peak RSS (ru_maxrss); where the code pauses the
cyclic collector for a run's reading and matching (collector_paused), the
child reads inside it too. Not a test: the figures go into
bench/RESULTS.md by hand.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SERVER = r'''
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
sys.path.insert(0, %(tests)r)
from fakearr import FakeArr
N = %(records)d
fake = FakeArr('radarr')
template = fake.add_movie('Template Movie', 2001, alternate_titles=('Alt One', 'Alt Two'))
fake.close()

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Type', 'application/json; charset=utf-8')
        self.end_headers()           # HTTP/1.0: the body ends when the connection does
        self.wfile.write(b'{"page": 1, "pageSize": 250, "sortKey": "title", "totalRecords": %%d, "records": [' %% N)
        chunk = []
        for i in range(N):
            chunk.append(json.dumps(dict(template, id=i + 1, title=f'Movie {i}', tmdbId=10 ** 6 + i)))
            if len(chunk) == 1000 or i == N - 1:
                self.wfile.write((',' if i >= 1000 else '').encode() + ','.join(chunk).encode())
                chunk = []
        self.wfile.write(b']}')

server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
print(server.server_address[1], len(json.dumps(template)), flush=True)
server.serve_forever()
'''

CLIENT = r'''
import contextlib, resource, sys, time
sys.path.insert(0, %(root)r)
import stalkeer
settings = stalkeer.ArrSettings('radarr', 'Radarr', %(url)r, 'k3y', [], True)
started = time.perf_counter()
# As a run reads it: with the cyclic collector paused where the code has that (issue 15).
with getattr(stalkeer, 'collector_paused', contextlib.nullcontext)():
    movies = stalkeer.RadarrClient(settings).missing_movies()
print(len(movies), time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
'''


def measure(root, url):
    out = subprocess.run([sys.executable, '-c', CLIENT % {'root': root, 'url': url}],
                         capture_output=True, text=True)
    if out.returncode:
        return None, None, None, out.stderr.strip().splitlines()[-1][:200]
    count, wall, peak = out.stdout.split()
    return int(count), float(wall), float(peak), ''


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--records', type=int, default=300_000)
    parser.add_argument('--runs', type=int, default=2)
    parser.add_argument('--against', default='main', help="a git revision, or '' for none")
    args = parser.parse_args()
    variants = [('this tree', ROOT)]
    if args.against:
        other = tempfile.mkdtemp(prefix='stalkeer-bench-')
        with open(os.path.join(other, 'stalkeer.py'), 'wb') as fh:
            fh.write(subprocess.run(['git', 'show', f'{args.against}:stalkeer.py'], cwd=ROOT,
                                    capture_output=True, check=True).stdout)
        variants.append((args.against, other))
    server = subprocess.Popen([sys.executable, '-c', SERVER % {
        'tests': os.path.join(ROOT, 'tests'), 'records': args.records}],
        stdout=subprocess.PIPE, text=True)
    try:
        port, size = map(int, server.stdout.readline().split())
        url = f'http://127.0.0.1:{port}'
        print(f'# {platform.platform()}, Python {platform.python_version()}, '
              f'{args.records} records of {size} bytes in one page '
              f'({args.records * size / 2 ** 20:.0f} MiB of JSON)')
        print('| code | run | records | wall | peak RSS |')
        print('| --- | --- | --- | --- | --- |')
        for run in range(1, args.runs + 1):
            for label, root in variants:
                count, wall, peak, error = measure(root, url)
                if error:
                    print(f'| {label} | {run} | failed: {error} | | |', flush=True)
                else:
                    print(f'| {label} | {run} | {count} | {wall:.1f} s | {peak:.0f} MiB |', flush=True)
                time.sleep(1)
    finally:
        server.terminate()
        server.wait()


if __name__ == '__main__':
    main()
