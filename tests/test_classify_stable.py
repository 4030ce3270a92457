"""classify() and parse_title() give the very same answers as the reference
(issue 15: speed work on the classifier must not change one classification).

Every entry of a generated playlist (bench/gen_playlist.py, fixed seeds) and of
every playlist in ../shared/playlists is classified, and its title parsed in
each of the four kinds; the answers are hashed in chunks and compared with
tests/classify_reference.json, written by the classifier of CLASSIFIER_VERSION
named there.

Why a stored digest rather than main's stalkeer.py read from git at test time:
once a change is merged, main *is* the code under test and the comparison
would prove nothing; a stored digest keeps failing on any change of output
until someone bumps CLASSIFIER_VERSION (which makes every stored line be
re-classified) and writes the reference again on purpose:

    python tests/test_classify_stable.py --write [path/to/stalkeer.py]

(the path defaults to this checkout's stalkeer.py; give main's to take the
reference from it). A failing chunk names its first entry, so the changed
classification is found by bisecting that chunk against the old code.
"""

import dataclasses
import hashlib
import importlib.util
import io
import json
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED = ROOT.parent / 'shared' / 'playlists'
REFERENCE = TESTS / 'classify_reference.json'
sys.path.insert(0, str(ROOT / 'bench'))
from gen_playlist import generate  # noqa: E402

CHUNK = 500
KINDS = ('auto', 'episode', 'movie', 'channel')
# seed, entries, movies share, series share: the bench's playlist, and one with
# more live lines (the channel-mode parse and the stream rules).
GENERATED = ((42, 12_000, 0.45, 0.45), (7, 6_000, 0.3, 0.3))


def _answers(m, entry) -> str:
    """One line of everything classify and parse_title say about an entry."""
    parts = [repr(dataclasses.astuple(m.classify(entry)))]
    text = entry.display_title or entry.tvg_name
    for kind in KINDS:
        parts.append(repr(dataclasses.astuple(m.parse_title(text, kind))))
    return '\x1e'.join(parts)


def _playlists(tmp: Path):
    for seed, entries, movies, series in GENERATED:
        path = tmp / f'generated-{seed}.m3u'
        generate(str(path), entries=entries, seed=seed, movies_share=movies, series_share=series)
        yield f'generated seed={seed} entries={entries} movies={movies} series={series}', path
    for path in sorted(SHARED.glob('*.m3u')):
        yield path.name, path


def digests(m, tmp: Path) -> dict:
    """playlist name -> list of [first entry's line number, sha256 of its chunk]."""
    out = {}
    for name, path in _playlists(tmp):
        chunks = []
        entries = list(m.iter_playlist(io.BytesIO(path.read_bytes()), m.ParseStats()))
        for i in range(0, len(entries), CHUNK):
            h = hashlib.sha256()
            for entry in entries[i:i + CHUNK]:
                h.update(_answers(m, entry).encode('utf-8', 'surrogatepass'))
                h.update(b'\n')
            chunks.append([entries[i].line_no, h.hexdigest()[:16]])
        out[name] = chunks
    return out


def test_classifications_equal_the_stored_reference(tmp_path):
    import stalkeer
    reference = json.loads(REFERENCE.read_text())
    assert reference['classifier_version'] == stalkeer.CLASSIFIER_VERSION, (
        'CLASSIFIER_VERSION changed: write the reference again (see this module)')
    got = digests(stalkeer, tmp_path)
    assert set(got) == set(reference['playlists'])
    for name, chunks in reference['playlists'].items():
        for (line_no, want), (_, have) in zip(chunks, got[name], strict=True):
            assert have == want, (f'{name}: the classifications of the {CHUNK} entries from line '
                                  f'{line_no} changed without a CLASSIFIER_VERSION bump')


def _load(path: Path):
    spec = importlib.util.spec_from_file_location('stalkeer_reference', path)
    m = importlib.util.module_from_spec(spec)
    sys.modules['stalkeer_reference'] = m
    spec.loader.exec_module(m)
    return m


if __name__ == '__main__':
    import tempfile
    if sys.argv[1:2] != ['--write']:
        sys.exit(__doc__)
    m = _load(Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / 'stalkeer.py')
    with tempfile.TemporaryDirectory() as tmp:
        data = {'classifier_version': m.CLASSIFIER_VERSION, 'chunk': CHUNK,
                'playlists': digests(m, Path(tmp))}
    REFERENCE.write_text(json.dumps(data, indent=1) + '\n')
    print(f'wrote {REFERENCE}')
