"""Fuzz-style: a few hundred generated malformed playlists, configurations and
Radarr/Sonarr answers (seeded, so every run is the same). Each run must end
with exit 0, 1 or 2 and never a traceback, and leave every row that was in the
database before as it was. In-process main() for speed; a handful of real
subprocesses for the nastiest cases."""

import json
import random
import sqlite3

import pytest

import stalkeer
from conftest import run_stalkeer
from fakearr import FakeArr
from test_ops import seed

SEED = 20240611
RUNS = 120          # per kind: playlists, configs, app answers

GOOD_LINES = [
    ('#EXTINF:-1 tvg-id="tt0113277" tvg-name="Heat (1995)" group-title="Movies",Heat (1995)',
     'http://h:8080/movie/u/p/1.mkv'),
    ('#EXTINF:-1 tvg-name="Show S01E02" group-title="Series",Show S01 E02',
     'http://h:8080/series/u/p/2.mkv'),
    ('#EXTINF:-1,News 24', 'http://h:8080/u/p/3'),
]
JUNK = ['', ' ', '\x00', '\ufeff', '"', "'", ',', '=', '#', '#EXTINF:', '#EXTINF:-1', '#EXTM3U',
        'tvg-name="', 'group-title=\'x', '\\', '\r', '\t', '(1995)', 'S01E01', '[4K]', '|FR|',
        'http://', 'http://[::1', 'http://h:99999/x.mkv', 'http:///x', 'ftp://h/x', '..', '/etc/passwd',
        '\u202e', '\U0001f3ac', 'é', '€' * 50, 'x' * 300, '%00', '%zz', '<script>']
BAD_BYTES = [b'\xff', b'\xc3', b'\xe9', b'\x80\x80', b'\xed\xa0\x80', b'\x00', b'\r', b'\r\n']


def snapshot(db_file):
    """Every row of download_info, and the identity of every playlist line."""
    conn = sqlite3.connect(db_file)
    try:
        downloads = conn.execute('SELECT * FROM download_info ORDER BY id').fetchall()
        lines = conn.execute('SELECT id, line_hash, url FROM processed_lines ORDER BY id').fetchall()
    finally:
        conn.close()
    return downloads, lines


@pytest.fixture
def fuzz_db(tmp_path, capsys):
    """A SQLite database with downloads in every state and a processed playlist."""
    url = f'sqlite:///{tmp_path}/stalkeer.db'
    seed(tmp_path, url)
    playlist = tmp_path / 'good.m3u'
    playlist.write_text('#EXTM3U\n' + ''.join(f'{a}\n{b}\n' for a, b in GOOD_LINES), encoding='utf-8')
    assert stalkeer.main(['--db', url, 'process', str(playlist)]) == 0
    capsys.readouterr()
    return url, tmp_path / 'stalkeer.db'


def run_main(capsys, argv):
    """main() in-process: any exception escaping it is a traceback for a user."""
    code = stalkeer.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, err[-2000:])
    assert 'Traceback' not in out + err, err[-2000:]
    return code, out, err


def assert_nothing_lost(before, after, *, playlist_run=False):
    downloads, lines = before
    now_downloads, now_lines = after
    assert now_downloads == downloads
    if playlist_run:      # lines may be added, updated or marked missing: never removed
        assert set(lines) <= set(now_lines)
    else:
        assert now_lines == lines


# -- playlists ----------------------------------------------------------------------------

def mutated_playlist(rng: random.Random) -> bytes:
    lines = ['#EXTM3U'] if rng.random() < 0.8 else []
    for _ in range(rng.randint(0, 12)):
        head, url = rng.choice(GOOD_LINES)
        kind = rng.random()
        if kind < 0.3:
            lines += [head, url]
        elif kind < 0.5:               # junk spliced into the EXTINF line
            cut = rng.randint(0, len(head))
            lines += [head[:cut] + rng.choice(JUNK) + head[cut:], url]
        elif kind < 0.65:              # a broken URL
            lines += [head, rng.choice(JUNK) + url[rng.randint(0, len(url)):]]
        elif kind < 0.75:              # EXTINF without URL, URL without EXTINF
            lines += [rng.choice([head, url])]
        elif kind < 0.85:              # pure junk
            lines += [''.join(rng.choice(JUNK) for _ in range(rng.randint(1, 6)))]
        else:                          # a huge line
            lines += [head + 'x' * rng.choice([70_000, 200_000]), url]
    data = '\n'.join(lines).encode('utf-8', 'surrogatepass')
    for _ in range(rng.randint(0, 3)):  # bytes that are not UTF-8, anywhere
        at = rng.randint(0, len(data))
        data = data[:at] + rng.choice(BAD_BYTES) + data[at:]
    if rng.random() < 0.05:
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 3000)))
    if rng.random() < 0.05:
        data = b'<html><body>Login</body></html>'
    return data


def test_fuzzed_playlists(fuzz_db, tmp_path, capsys):
    url, db_file = fuzz_db
    rng = random.Random(SEED)
    codes = set()
    for n in range(RUNS):
        playlist = tmp_path / f'fuzz{n}.m3u'
        playlist.write_bytes(mutated_playlist(rng))
        before = snapshot(db_file)
        args = ['--db', url, 'process', playlist] + rng.choice([[], ['--dry-run'], ['--force'],
                                                               ['--json'], ['--limit', '2']])
        codes.add(run_main(capsys, args)[0])
        assert_nothing_lost(before, snapshot(db_file), playlist_run=True)
    assert codes <= {0, 2} and len(codes) == 2      # both outcomes were exercised


# -- configurations -------------------------------------------------------------------------

VALUES = ['nan', 'inf', '-inf', '1e400', '-1', '0', '0.0001', '3', '99999999999999999999', '',
          'true', 'maybe', '€', '\x7f', 'x' * 5000, '%(interp)s', '${HOME}', '../..', '/nonexistent/x',
          'http://[::1', 'http://u:pw@h/x', 'DEBUG', 'LOUD', '1080p, 9K', '(unclosed', '\\b']


def mutated_config(rng: random.Random) -> bytes:
    sections = list(stalkeer.DEFAULTS) + ['downlaods', 'DEFAULT', 'Radarr', '']
    text = []
    for _ in range(rng.randint(0, 6)):
        section = rng.choice(sections)
        text.append(f'[{section}]')
        keys = list(stalkeer.DEFAULTS.get(section, {})) + ['movie_path', 'unknown', 'url']
        for _ in range(rng.randint(0, 5)):
            key = rng.choice(keys)
            if key in ('file', 'url') and section in ('logging', 'database'):
                continue                      # keep the log and the database where they are
            text.append(f'{key}{rng.choice([" = ", "=", ": ", " "])}{rng.choice(VALUES)}')
        if rng.random() < 0.1:
            text.append(rng.choice(['[broken', 'no equals sign', '  indented continuation',
                                    f'{rng.choice(keys)} = 1', '[downloads]']))
    data = '\n'.join(text).encode('utf-8')
    if rng.random() < 0.15:
        at = rng.randint(0, len(data))
        data = data[:at] + rng.choice(BAD_BYTES) + data[at:]
    return data


def test_fuzzed_configurations(fuzz_db, tmp_path, capsys, monkeypatch):
    url, db_file = fuzz_db
    monkeypatch.setattr(stalkeer, 'HERE', tmp_path / 'nowhere')
    playlist = tmp_path / 'good.m3u'
    commands = [['status'], ['status', '--json'], ['resume-downloads', '--dry-run'],
                ['cleanup', '--dry-run'], ['m3u-list-archives'], ['process', '--dry-run', playlist],
                ['migrate']]
    rng = random.Random(SEED + 1)
    codes = set()
    for n in range(RUNS):
        ini = tmp_path / f'fuzz{n}.ini'
        ini.write_bytes(mutated_config(rng))
        before = snapshot(db_file)
        code, out, err = run_main(capsys, ['--config', ini, '--db', url, *rng.choice(commands)])
        codes.add(code)
        if code == 2:
            assert len([line for line in err.splitlines() if 'error' in line]) == 1, err
        assert_nothing_lost(before, snapshot(db_file))
    assert codes == {0, 2}


# -- answers from Radarr and Sonarr -----------------------------------------------------------------

def random_json(rng: random.Random, depth=0):
    pick = rng.random()
    if depth > 3 or pick < 0.35:
        return rng.choice([None, True, False, 0, -1, 1.5, 2 ** 70, '', 'x', '€' * 10, 'y' * 20_000, [], {}])
    if pick < 0.6:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(['id', 'title', 'year', 'records', 'totalRecords', 'series', 'seriesId',
                        'seasonNumber', 'episodeNumber', 'alternateTitles', 'path', 'hasFile']):
            random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def mutated_record(rng: random.Random, good: dict) -> object:
    record = dict(good)
    for _ in range(rng.randint(0, 3)):
        field = rng.choice(list(record) + ['extra'])
        if rng.random() < 0.3:
            record.pop(field, None)
        else:
            record[field] = random_json(rng, 2)
    return record if rng.random() < 0.9 else random_json(rng, 1)


def mutated_answer(rng: random.Random, good_record: dict, paged: bool) -> bytes:
    records = [mutated_record(rng, good_record) if rng.random() < 0.6 else dict(good_record, id=i + 100)
               for i in range(rng.randint(0, 6))]
    document = {'page': 1, 'pageSize': 250, 'totalRecords': len(records), 'records': records} \
        if paged else records
    pick = rng.random()
    if pick < 0.15:
        document = random_json(rng)
    elif pick < 0.25 and paged:
        document['totalRecords'] = random_json(rng, 3)
    text = json.dumps(document)
    pick = rng.random()
    if pick < 0.08:
        text = text[:rng.randint(0, len(text))]                 # cut short
    elif pick < 0.12:
        text = '[' * 50_000 + ']' * 50_000                      # deeper than the parser goes
    elif pick < 0.15:
        text = rng.choice(['', 'null', '<html>login</html>', '{"records": [', text + ' trailing'])
    data = text.encode('utf-8')
    if rng.random() < 0.05:
        data = data[:len(data) // 2] + b'\xff' + data[len(data) // 2:]
    return data


def test_fuzzed_app_answers(fuzz_db, tmp_path, capsys, monkeypatch):
    url, db_file = fuzz_db
    monkeypatch.setattr(stalkeer, 'ARR_WAIT_NOTICE', 60, raising=False)
    rng = random.Random(SEED + 2)
    codes = set()
    with FakeArr('radarr') as radarr, FakeArr('sonarr') as sonarr:
        movie = {'id': 1, 'title': 'Heat', 'year': 1995, 'path': '/movies/Heat (1995)',
                 'monitored': True, 'hasFile': False, 'isAvailable': True, 'imdbId': 'tt0113277',
                 'alternateTitles': [{'title': 'Heat'}]}
        series = {'id': 7, 'title': 'Show', 'path': '/tv/Show', 'year': 2001, 'seasonFolder': True}
        episode = {'id': 5, 'seriesId': 7, 'seasonNumber': 1, 'episodeNumber': 2, 'monitored': True,
                   'hasFile': False, 'series': series}
        ini = tmp_path / 'apps.ini'
        ini.write_text(f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       f'[sonarr]\nurl = {sonarr.base_url}\napi_key = {sonarr.api_key}\n'
                       f'[downloads]\nmovies_path = {tmp_path}/m\ntvshows_path = {tmp_path}/t\n')
        for n in range(RUNS):
            radarr.clear_faults()
            sonarr.clear_faults()
            status = rng.choice([200] * 8 + [201, 204, 400, 404, 418])
            if n % 2:
                app, argv = sonarr, ['sonarr', '--dry-run']
                app.fault('/api/v3/wanted/missing', status=status,
                          body=mutated_answer(rng, episode, paged=True))
                app.fault('/api/v3/series', status=200, body=mutated_answer(rng, series, paged=False))
            else:
                app, argv = radarr, ['radarr', '--dry-run']
                app.fault('/api/v3/wanted/missing', status=status,
                          body=mutated_answer(rng, movie, paged=True))
                app.fault('/api/v3/movie', status=200, body=mutated_answer(rng, movie, paged=False))
            before = snapshot(db_file)
            code, out, err = run_main(capsys, ['--config', ini, '--db', url, *argv])
            codes.add(code)
            if code == 2:
                assert len(err.strip().splitlines()) <= 7, err     # at most 5 record warnings + error
            assert_nothing_lost(before, snapshot(db_file))
    assert codes == {0, 2}


# -- the same through real processes (a handful) ------------------------------------------------------

def test_the_worst_cases_in_real_processes(fuzz_db, tmp_path):
    url, db_file = fuzz_db
    before = snapshot(db_file)
    ini = tmp_path / 'nul.ini'
    ini.write_bytes(b'[downloads]\nmax_parallel = \x00\n[m3u]\nurl = http://[::1\n')
    playlist = tmp_path / 'bad.m3u'
    playlist.write_bytes(b'#EXTM3U\n#EXTINF:-1,\xff\xfe\x00\nhttp://[2001:db8::1:8080/movie/u/p/1.mkv\n'
                         + b'#EXTINF:-1,' + b'x' * 100_000 + b'\nhttp://h/1.mkv\n')
    with FakeArr('radarr') as radarr:
        radarr.fault('/api/v3/wanted/missing', status=200, body='[' * 100_000)
        apps = tmp_path / 'apps.ini'
        apps.write_text(f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n')
        runs = [run_stalkeer('--config', ini, '--db', url, 'status'),
                run_stalkeer('--db', url, 'process', playlist),
                run_stalkeer('--config', apps, '--db', url, 'radarr', '--dry-run'),
                run_stalkeer('--db', url, 'download', 'http://h:8x/movie/u/p/1.mkv', tmp_path / 'x')]
    assert [code for code, _, _ in runs] == [2, 2, 2, 2], runs
    for code, out, err in runs:
        assert 'Traceback' not in err and len(err.strip().splitlines()) == 1, err
    assert 'JSON nested too deeply' in runs[2][2]
    assert_nothing_lost(before, snapshot(db_file), playlist_run=True)
