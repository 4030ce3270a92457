#!/usr/bin/env python3
"""Instructions spent parsing and classifying a playlist, counted by callgrind.

    python bench/bench_parse_cost.py [--baseline OTHER/stalkeer.py] [--bytes 1000000]

Wall time on this shared 2-vCPU machine drifts 2x within minutes; instruction
counts do not (they repeat to a few parts in 10,000), so they show what a
change to the parser or the classifier costs even when no quiet minute comes.
For each stalkeer.py it runs three interpreters under valgrind's callgrind on
the first --bytes of a generated playlist (gen_playlist.py, seed 42): one that
only imports the module and reads the bytes ('none'), one that also parses them
('parse'), one that also classifies every entry ('classify'). The differences
are the parse and classify costs, reported per entry and as a ratio to the
baseline. html is imported up front so its one-time import is not billed to the
parser. Needs valgrind; a few minutes per file (callgrind runs ~50x slower).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from gen_playlist import generate  # noqa: E402

CHILD = r'''
import gc, html, importlib.util, io, sys
script, what, path, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
spec = importlib.util.spec_from_file_location('stalkeer', script)
m = importlib.util.module_from_spec(spec); sys.modules['stalkeer'] = m; spec.loader.exec_module(m)
with open(path, 'rb') as fh:
    data = fh.read(size)
html.unescape('&amp;')
gc.disable()
entries = list(m.iter_playlist(io.BytesIO(data), m.ParseStats())) if what != 'none' else []
if what == 'classify':
    for entry in entries:
        m.classify(entry)
print(len(entries))
'''


def instructions(script, what, playlist, size):
    """Instructions callgrind counts for one child; (count, entries)."""
    proc = subprocess.run(
        ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
         os.path.realpath(sys.executable), '-c', CHILD, script, what, playlist, str(size)],
        capture_output=True, text=True, check=True)
    found = re.search(r'Collected\s*:\s*(\d+)', proc.stderr)
    return int(found[1]), int(proc.stdout.strip() or 0)


def costs(script, playlist, size):
    none, _ = instructions(script, 'none', playlist, size)
    parse, entries = instructions(script, 'parse', playlist, size)
    classify, _ = instructions(script, 'classify', playlist, size)
    return entries, (parse - none) / entries, (classify - parse) / entries


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--baseline', help='another stalkeer.py to compare with')
    parser.add_argument('--bytes', type=int, default=1_000_000, help='how much of the playlist to read')
    args = parser.parse_args()
    if not shutil.which('valgrind'):
        sys.exit('valgrind is not installed')
    scripts = ([('baseline', os.path.abspath(args.baseline))] if args.baseline else []) + \
        [('this', os.path.join(ROOT, 'stalkeer.py'))]
    with tempfile.TemporaryDirectory() as workdir:
        playlist = os.path.join(workdir, 'playlist.m3u')
        generate(playlist, entries=max(10_000, args.bytes // 200), seed=42)
        results = {}
        for name, script in scripts:
            entries, parse, classify = results[name] = costs(script, playlist, args.bytes)
            print(f'{name:>8}: {entries} entries; parse {parse:,.0f}, classify {classify:,.0f} '
                  f'instructions an entry ({script})')
        if args.baseline:
            (_, bp, bc), (_, tp, tc) = results['baseline'], results['this']
            print(f'this/baseline: parse {tp / bp:.3f}, classify {tc / bc:.3f}')


if __name__ == '__main__':
    main()
