"""`radarr --dry-run` prints the same plan whichever way it computes it (issue 15).

A generated playlist (bench/gen_playlist.py, seed 7) is imported, and a fake
Radarr misses movies shaped to take each path of the plan: titles and years the
playlist has, titles it has not, matches through an original or alternate title,
twins of one title in other years, unavailable films, films with a file, folders
given as Windows paths (mapped), with '..' in them or none at all, titles that
need cleaning for a file name (':' '/' control characters, very long, non-ASCII),
and the playlist's account masked in every URL. The plan lines
and the summary (stdout) and the warnings (stderr), with the test's temporary
folder written as <tmp>, must equal tests/data/dry_run_expected.txt, recorded
with the code before the dry run was made faster (the fast paths of the listings'
check, the destinations and the console output must not change a character).
To re-record after a deliberate change of the output: RECORD_DRY_RUN_OUTPUT=1.
"""

import difflib
import gc
import os
import random
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / 'bench'))
from gen_playlist import generate  # noqa: E402
from fakearr import FakeArr  # noqa: E402

import stalkeer  # noqa: E402

EXPECTED = ROOT / 'tests' / 'data' / 'dry_run_expected.txt'
ENTRIES = 6000


def _shaped_library(radarr, have):
    rng = random.Random(15)
    have = sorted(have)
    rng.shuffle(have)
    real, i = have[:300], 0
    for title, year in real[:200]:
        radarr.add_movie(title, year, path=f'/movies/{title} ({year})', runtime=100)
    for title, year in real[200:230]:           # found through the original title
        radarr.add_movie(f'Translated {title}', year, original_title=title,
                         path=f'/movies/Translated {title} ({year})')
    for title, year in real[230:250]:           # through an alternate title
        radarr.add_movie(f'Other Name {title}', year, alternate_titles=[title, f'{title} Redux'],
                         path=f'/movies/Other Name ({year})')
    for title, year in real[250:265]:           # a twin of another year
        radarr.add_movie(title, year + 7, path=f'/movies/{title} ({year + 7})')
    for title, year in real[265:275]:           # one year off
        radarr.add_movie(title, year + 1, path=f'/movies/{title} ({year + 1})', runtime=95)
    for title, year in real[275:280]:
        radarr.add_movie(title, year, is_available=False, path=f'/movies/{title} ({year})')
    for title, year in real[280:285]:
        radarr.add_movie(title, year, has_file=True, path=f'/movies/{title} ({year})')
    for n, (title, year) in enumerate(real[285:293]):        # Windows folders, mapped and not
        folder = f'D:\\Films\\{title} ({year})' if n % 2 else f'\\\\nas\\media\\films\\{title}'
        radarr.add_movie(title, year, path=folder)
    title, year = real[293]
    radarr.add_movie(title, year, path=f'/movies/../etc/{title}')
    title, year = real[294]
    radarr.add_movie(title, year, path='/movies/ctl\x1bfolder')
    title, year = real[295]
    radarr.add_movie(title, year, path='relative/folder')
    title, year = real[296]
    movie = radarr.add_movie(title, year)
    movie.pop('path', None)                     # no folder, and no [downloads] movies_path
    for title, year in real[297:300]:
        radarr.add_movie(title, year, path=f'/movies/{title}/')
    for n in range(60):                         # not in the playlist
        radarr.add_movie(f'Nonexistent Film Number {n}', 1950 + n, path=f'/movies/Nope {n}')
    odd = ('Star Wars: Episode IV', 'AC/DC: Let There Be Rock', 'Bell\x07 Ringer', 'Amélie ' + 'Ü' * 200,
           'Dots...', ' Spaced  Out ', 'Tab\tand\u202eBidi', 'What? <Really> "Yes" | No*')
    for odd_title, (title, year) in zip(odd, have[300:]):   # file names to clean, matched by alias
        radarr.add_movie(odd_title, year, alternate_titles=[title], path=f'/movies/odd {len(odd_title)}')


def _plan(cli, tmp_path, world):
    code, out, err = cli('--config', world, 'radarr', '--dry-run')
    assert code == 0, err
    return (out + '\n-- stderr --\n' + err).replace(str(tmp_path), '<tmp>')


def test_dry_run_output_is_unchanged(cli, tmp_path):
    playlist = tmp_path / 'playlist.m3u'
    generate(str(playlist), entries=ENTRIES, seed=7)
    stalkeer.open_database(f'sqlite:///{tmp_path}/dry.db', str(tmp_path))
    stalkeer.PlaylistIngest().run(str(playlist))
    PL = stalkeer.ProcessedLine
    have = set(PL.select(PL.title, PL.year).where((PL.content_type == 'movies')
                                                  & PL.year.is_null(False)).tuples())
    with FakeArr('radarr') as radarr:
        _shaped_library(radarr, have)
        ini = tmp_path / 'dry.ini'
        ini.write_text(f'[database]\nurl = sqlite:///{tmp_path}/dry.db\n[m3u]\nfile_path = {playlist}\n'
                       f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       f'path_map = /movies={tmp_path}/lib/movies\n'
                       f'    D:\\Films={tmp_path}/lib/d\n    \\\\nas\\media=//{tmp_path}/lib/unc\n', encoding='utf-8')
        got = _plan(cli, tmp_path, ini)
    if os.environ.get('RECORD_DRY_RUN_OUTPUT'):
        EXPECTED.write_text(got, encoding='utf-8')
    expected = EXPECTED.read_text(encoding='utf-8')
    assert got.count('\n') > 250 and 'would download' in got
    if got != expected:
        diff = ''.join(list(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                                 'expected', 'got'))[:60])
        pytest.fail('the dry run printed another plan:\n' + diff)


def test_the_collector_is_paused_while_a_run_reads_and_matches(monkeypatch, cli, tmp_path):
    """Reading the app's listings and matching make tens of thousands of acyclic
    objects: the cyclic collector is off for that phase only, and on again after,
    also when the phase fails."""
    seen = []

    def wanted(self, can_read_db):
        seen.append(gc.isenabled())
        raise stalkeer.ArrError('stop here')
    monkeypatch.setattr(stalkeer.ArrRun, 'wanted', wanted)
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'[database]\nurl = sqlite:///{tmp_path}/x.db\n[m3u]\nfile_path = {tmp_path}/p.m3u\n'
                   '[radarr]\nurl = http://127.0.0.1:9\napi_key = k\n', encoding='utf-8')
    assert gc.isenabled()
    code, out, err = cli('--config', ini, 'radarr', '--dry-run')
    assert seen == [False] and 'stop here' in err and gc.isenabled()
    gc.disable()
    try:
        with stalkeer.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()       # as it was
    finally:
        gc.enable()
