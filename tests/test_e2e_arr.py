"""End to end: fake Radarr and Sonarr (v3 shapes) + the local file server + a
playlist -> `process`, `radarr`, `sonarr` put byte-identical files where the
apps expect them, and tell the apps to rescan."""

import json
import os
import re
import sqlite3

import pytest

import stalkeer
from conftest import arr_sections, payload, sha256
from fakearr import FakeArr

DI = stalkeer.DownloadInfo

DATA = {name: payload(200_000 + i * 1000, seed=i) for i, name in enumerate(
    ['heat1080', 'heat720', 'matrix', 'reloaded', 'trailer', 'ep1', 'ep2', 'ep2b', 'alien'])}


@pytest.fixture
def world(server, tmp_path):
    """A library, two fake apps, a provider with files, a playlist and a config."""
    urls = {name: server.add(f'{"series" if name.startswith("ep") else "movie"}/alice/hunter22pw/{name}.mkv', data)
            for name, data in DATA.items()}
    playlist = tmp_path / 'playlist.m3u'
    entries = [
        ('Heat (1995) (HD)', 'FR: FILMS', urls['heat720']),
        ('Heat (1995) (FHD MULTI)', 'FR: FILMS', urls['heat1080']),
        ('The Matrix (1999)', 'Movies', urls['matrix']),
        ('The Matrix Reloaded (2003)', 'Movies', urls['reloaded']),
        ('Alien (1979) - Trailer', 'Movies', urls['trailer']),
        ('Alien (1979)', 'Movies', urls['alien']),
        ('Show S01 E01', 'Séries', urls['ep1']),
        ('Show S01 E02', 'Séries', server.url('series/alice/hunter22pw/gone.mkv')),
        ('Show S01 E02 (SD)', 'Séries', urls['ep2b']),
    ]
    playlist.write_text('#EXTM3U\n' + ''.join(
        f'#EXTINF:-1 tvg-name="{t}" group-title="{g}",{t}\n{u}\n' for t, g, u in entries), encoding='utf-8')
    radarr = FakeArr('radarr')
    sonarr = FakeArr('sonarr', url_base='/sonarr')
    heat = radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)')
    matrix = radarr.add_movie('The Matrix', 1999, path='/movies/The Matrix (1999)')
    radarr.add_movie('Alien', 1979, path='/movies/Alien (1979)', has_file=True)
    radarr.add_movie('Not Yet Out', 2031, path='/movies/Not Yet Out (2031)', is_available=False)
    radarr.add_movie('Not In The Playlist', 2010, path='/movies/Nope (2010)')
    show = sonarr.add_series('Show', 2001, path='/tv/Show')
    e1 = sonarr.add_episode(show['id'], 1, 1)
    e2 = sonarr.add_episode(show['id'], 1, 2)
    sonarr.add_episode(show['id'], 1, 3)                  # not in the playlist
    sonarr.add_episode(show['id'], 1, 4, has_file=True)
    lib = tmp_path / 'lib'
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'''[database]
url = sqlite:///stalkeer.db
[m3u]
file_path = {playlist}
[downloads]
min_free_space_mb = 0
retry_attempts = 1
retry_backoff_seconds = 0.01
progress_interval_mb = 0.05
{arr_sections(radarr, sonarr, lib)}[quality]
preference = 1080p, 720p, unknown
''', encoding='utf-8')
    w = type('World', (), dict(ini=ini, lib=lib, radarr=radarr, sonarr=sonarr, urls=urls,
                                 heat=heat, matrix=matrix, e1=e1, e2=e2, tmp=tmp_path))
    yield w
    radarr.close()
    sonarr.close()


def run(cli, world, *argv):
    return cli('--config', world.ini, *argv)


def rows(world):
    conn = sqlite3.connect(world.tmp / 'stalkeer.db')
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute('SELECT * FROM download_info ORDER BY id')]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def test_radarr_and_sonarr_end_to_end(world, server, cli):
    code, out, err = run(cli, world, 'process')
    assert code == 0, err

    # --dry-run: the plan, and nothing written
    before = rows(world)
    code, out, err = run(cli, world, 'radarr', '--dry-run')
    assert code == 0, err
    heat_dest = world.lib / 'movies' / 'Heat (1995)' / 'Heat (1995).mkv'
    assert f'Heat (1995): Heat (1995) (FHD MULTI) [1080p] http://127.0.0.1:{server.base_url.rsplit(":", 1)[1]}' \
        '/movie/***/***/heat1080.mkv -> ' + str(heat_dest) in out
    assert 'would download 2 (dry run)' in out
    assert rows(world) == before and not world.lib.exists()
    assert server.gets('movie/alice/hunter22pw/heat1080.mkv') == []

    # the real run
    code, out, err = run(cli, world, 'radarr')
    assert code == 0, err
    assert sha256(heat_dest) == sha256(DATA['heat1080'])          # the preferred quality
    matrix_dest = world.lib / 'movies' / 'The Matrix (1999)' / 'The Matrix (1999).mkv'
    assert sha256(matrix_dest) == sha256(DATA['matrix'])
    for decoy in ('reloaded', 'trailer', 'heat720', 'alien'):
        assert server.gets(f'movie/alice/hunter22pw/{decoy}.mkv') == [], decoy
    assert not (world.lib / 'movies' / 'Not Yet Out (2031)').exists()
    assert sorted(c['movieId'] for c in world.radarr.commands if c['name'] == 'RescanMovie') == \
        [world.heat['id'], world.matrix['id']]
    # Every movie Radarr lists is accounted for, each skip under its reason.
    assert 'radarr: missing 4, matched 2, downloaded 2, failed 0, skipped 2 ' \
        '(not available yet 1, not in the playlist 1)' in out
    done = [r for r in rows(world) if r['service'] == 'radarr']
    assert {r['status'] for r in done} == {'completed'} and {r['service_item_id'] for r in done} == \
        {world.heat['id'], world.matrix['id']}
    assert 'hunter22pw' not in out + err and world.radarr.api_key not in out + err

    # running again downloads nothing new
    gets_before = len(server.requests)
    code, out, err = run(cli, world, 'radarr')
    assert code == 0 and len(server.requests) == gets_before
    assert 'downloaded 0, failed 0, skipped 4 (not available yet 1, not in the playlist 1, ' \
        'already downloaded 2)' in out

    # sonarr: season folders, a dead candidate falls through to the next, one rescan per series
    code, out, err = run(cli, world, 'sonarr')
    assert code == 0, err
    season = world.lib / 'tv' / 'Show' / 'Season 01'
    assert sha256(season / 'Show - S01E01.mkv') == sha256(DATA['ep1'])
    assert sha256(season / 'Show - S01E02.mkv') == sha256(DATA['ep2b'])
    # its header probe (a small Range request), then the one download attempt
    assert [r.range for r in server.gets('series/alice/hunter22pw/gone.mkv')] == ['bytes=0-65535', None]
    assert [c for c in world.sonarr.commands if c['name'] == 'RescanSeries'] == \
        [{'name': 'RescanSeries', 'seriesId': world.e1['seriesId']}]
    assert 'sonarr: missing 3, matched 2, downloaded 2, failed 0, skipped 1 (not in the playlist 1)' in out


def test_wrong_api_key_exits_2(world, cli):
    world.ini.write_text(world.ini.read_text().replace(world.radarr.api_key, 'wrong-key-123456'))
    code, out, err = run(cli, world, 'radarr')
    assert code == 2 and 'Radarr rejected the API key' in err
    assert 'wrong-key-123456' not in out + err and len(err.strip().splitlines()) == 1


def test_unreachable_and_html(world, cli):
    world.radarr.fault('*', html=True)
    code, out, err = run(cli, world, 'radarr')
    assert code == 2 and 'HTML page instead of JSON' in err
    world.radarr.close()
    code, out, err = run(cli, world, 'radarr')
    assert code == 2 and 'cannot reach Radarr at' in err and 'Traceback' not in err


def test_old_radarr_without_wanted_missing(world, server, cli, tmp_path):
    old = FakeArr('radarr', wanted_missing=False)
    try:
        movie = old.add_movie('The Matrix', 1999, path='/movies/The Matrix (1999)')
        world.ini.write_text(world.ini.read_text().replace(world.radarr.base_url, old.base_url)
                             .replace(world.radarr.api_key, old.api_key))
        assert run(cli, world, 'process')[0] == 0
        code, out, err = run(cli, world, 'radarr')
        assert code == 0, err
        assert any(r['path'] == '/api/v3/movie' for r in old.requests)
        assert sha256(world.lib / 'movies' / 'The Matrix (1999)' / 'The Matrix (1999).mkv') == sha256(DATA['matrix'])
        assert old.commands == [{'name': 'RescanMovie', 'movieId': movie['id']}]
    finally:
        old.close()


def test_limit_no_rescan_and_parallel(world, server, cli):
    assert run(cli, world, 'process')[0] == 0
    code, out, err = run(cli, world, 'radarr', '--limit', '1', '--no-rescan', '--parallel', '2')
    assert code == 0, err
    assert 'downloaded 1' in out and 'over the limit 1)' in out and world.radarr.commands == []
    code, out, err = run(cli, world, 'radarr', '--parallel', '2')
    assert 'downloaded 1' in out and 'already downloaded 1)' in out


def test_failed_download_exit_1_and_resume(world, server, cli):
    assert run(cli, world, 'process')[0] == 0
    # Cut after 50 kB every time and ranges ignored: the retry gets no further
    # than the first attempt did, so it is a failure (a cut alone is progress).
    # The header probe is cut too, and goes ahead with the duration unknown.
    server.fault('movie/alice/hunter22pw/matrix.mkv', drop_after=50_000, drop_times=None,
                 ignore_range=True)
    code, out, err = run(cli, world, 'radarr')
    assert code == 1 and 'failed 1' in out
    server.clear_faults('movie/alice/hunter22pw/matrix.mkv')
    failed = [r for r in rows(world) if r['status'] == 'failed']
    assert len(failed) == 1 and failed[0]['service'] == 'radarr'
    code, out, err = run(cli, world, 'radarr', '--resume')
    assert code == 0, err
    resumed = server.gets('movie/alice/hunter22pw/matrix.mkv')[-1]
    assert resumed.start == 50_000                                  # from the .part
    assert sha256(world.lib / 'movies' / 'The Matrix (1999)' / 'The Matrix (1999).mkv') == sha256(DATA['matrix'])
    assert [c['movieId'] for c in world.radarr.commands].count(world.matrix['id']) == 1


def test_existing_library_file_is_never_overwritten(world, server, cli):
    assert run(cli, world, 'process')[0] == 0
    dest = world.lib / 'movies' / 'Heat (1995)' / 'Heat (1995).mkv'
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b'the user\'s own file')
    code, out, err = run(cli, world, 'radarr')
    assert dest.read_bytes() == b'the user\'s own file'
    assert 'refusing to overwrite' in err


def test_a_file_where_the_movie_folder_must_be_is_said_in_the_folder_rule_words(world, server, cli):
    """A file where Radarr's movie folder must be fails that movie in the
    words `download URL DEST` (the check at start) says for the same folder:
    '… is out of reach (FOLDER on the way is a file)', naming the file being
    made (the .part beside the movie), not words of its own; the file is left
    as it was."""
    assert run(cli, world, 'process')[0] == 0
    folder = world.lib / 'movies' / 'Heat (1995)'
    folder.parent.mkdir(parents=True)
    folder.write_bytes(b'a file where the movie folder must be')
    dest = folder / 'Heat (1995).mkv'
    says = f' is out of reach ({folder} on the way is a file)'
    code, out, err = run(cli, world, 'radarr')
    heat = next(r for r in rows(world) if r['service'] == 'radarr' and r['status'] == 'failed')
    assert code == 1 and f'{folder}/Heat (1995).stalkeer-{heat["id"]}.part{says}' in out, out + err
    assert 'not a folder' not in out + err, out + err
    assert folder.read_bytes() == b'a file where the movie folder must be'
    code, out, err = run(cli, world, 'download', world.urls['heat1080'], dest)
    assert code == 2 and err == f'stalkeer: error: DEST {dest}{says}\n', out + err


@pytest.mark.parametrize('per_host, expected_max', [(1, 1), (2, 2)])
def test_per_host_connection_cap(per_host, expected_max, world, server, cli):
    import time
    from conftest import start_stalkeer, subprocess_env
    assert run(cli, world, 'process')[0] == 0
    for name in ('heat1080', 'matrix'):
        server.fault(f'movie/alice/hunter22pw/{name}.mkv', throttle_bps=300_000)   # ~0.7 s each
    world.ini.write_text(world.ini.read_text().replace(
        '[downloads]\n', f'[downloads]\nmax_connections_per_host = {per_host}\n'))
    proc = start_stalkeer('--config', world.ini, 'radarr', '--parallel', '3',
                          env=subprocess_env(), cwd=world.tmp)
    most = 0
    while proc.poll() is None:
        most = max(most, sum(r['status'] == 'downloading' for r in rows(world)))
        time.sleep(0.02)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert most == expected_max


def test_verbose_says_why(world, cli):
    assert run(cli, world, 'process')[0] == 0
    code, out, err = run(cli, world, 'radarr', '--dry-run', '-v')
    assert code == 0
    assert 'Not In The Playlist (2010): skipped, not in the playlist' in err
    assert "Not Yet Out (2031): skipped, not available yet (Radarr's isAvailable is false" in err
    assert "Heat (1995): 2 candidate(s), best 'Heat (1995) (FHD MULTI)' (1080p)" in err
    assert "Heat (1995): in order of preference ([quality] languages, then preference): " \
        "'Heat (1995) (FHD MULTI)' [MULTI,FR, 1080p]; 'Heat (1995) (HD)' [FR, 720p]" in err
    assert "Heat (1995): line #2 'Heat (1995) (FHD MULTI)': taken, same title and year" in err


def test_an_item_another_instance_is_downloading_is_skipped(world, server, cli):
    assert run(cli, world, 'process')[0] == 0
    db = stalkeer.open_database(f'sqlite:///{world.tmp}/stalkeer.db', str(world.tmp))
    state = stalkeer.StateManager(owner='other-host-1-abc')
    info = state.get_or_create(world.urls['heat1080'], str(world.tmp / 'elsewhere'), 'Heat',
                               service='radarr', item_id=world.heat['id'])
    assert state.acquire(info.id)                         # a live lease of another instance
    db.close()
    code, out, err = run(cli, world, 'radarr', '-v')
    assert code == 0, err
    assert 'Heat (1995): skipped, held by another instance (being downloaded by other-host-1-abc)' in err
    assert 'downloaded 1, failed 0, skipped 3 (not available yet 1, not in the playlist 1, ' \
        'held by another instance 1)' in out
    assert server.gets('movie/alice/hunter22pw/heat1080.mkv') == []


def test_destinations_stay_inside_the_library(server, cli, tmp_path):
    """Radarr on Windows, an unmapped share, a path with '..', a relative one and
    a 180-character accented title: the mapped and the long one land in the
    library; each of the others fails on its own with a clear message, nothing
    is written for it anywhere, and the run goes on (exit 1)."""
    long_title = 'Le Fabuleux Destin d’Amélie Poulain ' + 'é' * 150
    films = [('Heat', 'D:\\Movies\\Heat (1995)', 'ok'),
             ('Alien', 'd:/movies/Alien (1979)', 'ok'),
             ('Brazil', '\\\\nas\\media\\Brazil (1985)', 'ok'),
             ('Ran', 'E:\\Other\\Ran (1985)', 'not a path on this machine'),
             ('Tron', '/movies/../../escape/Tron (1982)', '..'),
             ('Zelig', 'movies/Zelig (1983)', 'not an absolute path'),
             (long_title, 'D:\\Movies\\Amelie (2001)', 'ok')]
    lib = tmp_path / 'lib'
    text = '#EXTM3U\n'
    with FakeArr('radarr') as radarr:
        for i, (title, path, _) in enumerate(films):
            url = server.add(f'movie/u/p/{i}.mkv', payload(20_000 + i, seed=40 + i))
            text += f'#EXTINF:-1 group-title="Movies",{title} (2001)\n{url}\n'
            radarr.add_movie(title, 2001, path=path)
        (tmp_path / 'p.m3u').write_text(text, encoding='utf-8')
        ini = tmp_path / 's.ini'
        ini.write_text(f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       f'path_map = D:\\Movies={lib}/movies\n    \\\\nas\\media={lib}/media\n'
                       f'    /movies={lib}/movies\n'
                       f'[m3u]\nfile_path = {tmp_path / "p.m3u"}\n[database]\nurl = sqlite:///s.db\n'
                       '[downloads]\nmin_free_space_mb = 0\n', encoding='utf-8')
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'radarr')
    assert code == 1, out + err
    assert 'Traceback' not in err
    for title, path, expected in films:
        if expected != 'ok':     # a failure like any other: on stdout, the folder as Radarr spelt it
            line = next(line for line in out.splitlines() if line.startswith(f'failed: {title}'))
            assert expected in line and f"'{path}'" in line and f'for {title}' not in line, out
    assert sorted(p.relative_to(lib).as_posix() for p in lib.rglob('*.mkv')) == sorted([
        'movies/Heat (1995)/Heat (2001).mkv', 'movies/Alien (1979)/Alien (2001).mkv',
        'media/Brazil (1985)/Brazil (2001).mkv',
        f'movies/Amelie (2001)/{os.path.basename(next((lib / "movies" / "Amelie (2001)").iterdir()))}'])
    amelie = next((lib / 'movies' / 'Amelie (2001)').iterdir()).name
    assert len(amelie.encode('utf-8')) <= 255 and amelie.endswith(' (2001).mkv')
    # Nothing outside the library, nothing under the working directory.
    outside = [p for p in tmp_path.rglob('*') if p.is_file() and lib not in p.parents
               and p.suffix == '.mkv']
    assert outside == [] and not (tmp_path / 'escape').exists()
    assert not [p for p in tmp_path.iterdir() if ':' in p.name or '\\' in p.name]
    assert 'downloaded 4, failed 3' in out


def test_download_into_a_folder_never_leaves_it(server, cli, tmp_path, sqlite_url):
    data = payload(10_000)
    # The client sends /movie/u/ for .../p/.. and /movie/u/p/.. for %2e%2e: serve both.
    server.add('movie/u/', data)
    url = server.add('movie/u/p/..', data)
    folder = tmp_path / 'inbox'
    folder.mkdir()
    for target in (url, url.replace('/..', '/%2e%2e')):
        code, out, err = cli('download', target, f'{folder}/', '--db', sqlite_url, '--force')
        assert code == 0 and 'Traceback' not in err, out + err
    assert sha256(folder / 'download.mkv') == sha256(data)
    assert not (tmp_path / 'inbox.mkv').exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == '.mkv'] == []
    assert all(p.parent == folder for p in folder.rglob('*'))


def test_every_skip_reason_is_counted_and_named(server, tmp_path, cli):
    """Each movie Radarr lists ends as downloaded, failed, or skipped for a named
    reason: the summary counts them (they add up to "missing") and -v names each."""
    urls = {name: server.add(f'movie/alice/hunter22pw/{name}.mkv', payload(20_000, seed=i))
            for i, name in enumerate(['alien-trailer', 'dune84', 'amelie-de', 'heat', 'matrix',
                                      'lotr1', 'lotr2'])}
    entries = [('Alien (1979) - Trailer', 'FR: FILMS', urls['alien-trailer']),
               ('Dune (1984)', 'FR: FILMS', urls['dune84']),
               ('Die fabelhafte Welt der Amélie (2001)', 'DE: FILME', urls['amelie-de']),
               ('Heat (1995)', 'FR: FILMS', urls['heat']),
               ('The Matrix (1999)', 'FR: FILMS', urls['matrix']),
               ('Zodiac (2007)', 'FR: FILMS', urls['lotr1']),
               ('Zoolander (2001)', 'FR: FILMS', urls['lotr2'])]
    playlist = tmp_path / 'playlist.m3u'
    playlist.write_text('#EXTM3U\n' + ''.join(
        f'#EXTINF:-1 tvg-name="{t}" group-title="{g}",{t}\n{u}\n' for t, g, u in entries),
        encoding='utf-8')
    with FakeArr('radarr') as radarr:
        radarr.add_movie('Coming Soon', 2031, path='/movies/Coming Soon (2031)', is_available=False)
        radarr.add_movie('Nowhere', 2010, path='/movies/Nowhere (2010)')
        radarr.add_movie('Alien', 1979, path='/movies/Alien (1979)')
        radarr.add_movie('Dune', 2021, path='/movies/Dune (2021)')
        radarr.add_movie('Die fabelhafte Welt der Amélie', 2001, path='/movies/Amelie (2001)')
        heat = radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)')
        matrix = radarr.add_movie('The Matrix', 1999, path='/movies/The Matrix (1999)')
        radarr.add_movie('Zodiac', 2007, path='/movies/Zodiac (2007)')
        radarr.add_movie('Zoolander', 2001, path='/movies/Zoolander (2001)')
        ini = tmp_path / 'stalkeer.ini'
        ini.write_text(f'[m3u]\nfile_path = {playlist}\n[downloads]\nmin_free_space_mb = 0\n'
                       f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       f'path_map = /movies={tmp_path}/lib\n'
                       '[quality]\nlanguages = FR\nlanguages_only = true\n', encoding='utf-8')
        assert cli('--config', ini, 'process')[0] == 0
        # Heat was downloaded by an earlier run; another instance is fetching The Matrix.
        db = stalkeer.open_database(f'sqlite:///{tmp_path}/stalkeer.db', str(tmp_path))
        (tmp_path / 'heat.mkv').write_bytes(b'x')
        done = stalkeer.StateManager(owner='seed').get_or_create(
            urls['heat'], str(tmp_path / 'heat'), 'Heat', service='radarr', item_id=heat['id'])
        DI.update(status='completed', download_path=str(tmp_path / 'heat.mkv')).where(
            DI.id == done.id).execute()
        state = stalkeer.StateManager(owner='other-host-9-xyz')
        held = state.get_or_create(urls['matrix'], str(tmp_path / 'elsewhere'), 'The Matrix',
                                   service='radarr', item_id=matrix['id'])
        assert state.acquire(held.id)
        db.close()
        code, out, err = cli('--config', ini, 'radarr', '--limit', '1', '-v')
    assert code == 0, err
    summary = [line for line in out.splitlines() if line.startswith('radarr: ')][-1]
    assert summary == (
        'radarr: missing 9, matched 4, downloaded 1, failed 0, skipped 8 (not available yet 1, '
        'not in the playlist 1, only a trailer or extra in the playlist 1, only other years in '
        'the playlist 1, other languages only 1, already downloaded 1, held by another instance 1, '
        'over the limit 1), probed 1')
    counts = dict((name, int(n)) for name, n in re.findall(r'([a-z][a-z -]*?) (\d+)', summary))
    assert counts['missing'] == counts['downloaded'] + counts['failed'] + counts['skipped']
    for needle in ("Coming Soon (2031): skipped, not available yet",
                   'Nowhere (2010): skipped, not in the playlist',
                   'Alien (1979): skipped, only a trailer or extra in the playlist (Alien (1979) - Trailer)',
                   'Dune (2021): skipped, only other years in the playlist (1984)',
                   'Die fabelhafte Welt der Amélie (2001): skipped, other languages only ([quality] '
                   'languages_only: DE)',
                   f'Heat (1995): skipped, already downloaded ({tmp_path / "heat.mkv"})',
                   'The Matrix (1999): skipped, held by another instance (being downloaded by '
                   'other-host-9-xyz)',
                   ': skipped, over the limit (--limit 1)',
                   "Die fabelhafte Welt der Amélie (2001): line #3 'Die fabelhafte Welt der Amélie "
                   "(2001)': refused, its languages (DE) are not in [quality] languages (languages_only)"):
        assert needle in err, needle


def test_the_log_file_records_how_the_run_ended(world, cli):
    log_file = world.tmp / 'stalkeer.log'
    assert run(cli, world, 'process')[0] == 0
    code, out, err = run(cli, world, '-q', '--log-file', log_file, 'radarr')
    assert code == 0, err
    code, out, err = run(cli, world, '-q', '--log-file', log_file, 'sonarr')
    assert code == 0, err
    logged = log_file.read_text()
    assert re.search(r'INFO \[\d+\] radarr: missing 4, matched 2, downloaded 2, failed 0, skipped 2 '
                     r'\(not available yet 1, not in the playlist 1\), probed 2\n', logged), logged
    assert f'asked Radarr to rescan Heat (1995) (movie {world.heat["id"]})' in logged
    assert f'asked Radarr to rescan The Matrix (1999) (movie {world.matrix["id"]})' in logged
    assert f'asked Sonarr to rescan series {world.e1["seriesId"]}' in logged
    assert 'sonarr: missing 3, matched 2, downloaded 2' in logged
    assert logged.count('completed: ') == 4 and 'hunter22pw' not in logged


# -- the guards: lookups and the runtime probe, end to end ------------------------------------

MEDIA = __import__('pathlib').Path(__file__).resolve().parent / 'media'


def guard_world(server, tmp_path, arr, entries, extra_ini=''):
    """A playlist of (title, file name, bytes) served by the file server, and an ini
    for the fake app ``arr`` (movies for Radarr, series for Sonarr)."""
    movies = arr.kind == 'radarr'
    playlist = tmp_path / 'playlist.m3u'
    text = '#EXTM3U\n'
    for title, name, data in entries:
        text += f'#EXTINF:-1 tvg-name="{title}" group-title="{"Movies" if movies else "Series"}",{title}\n'
        text += server.add(f'{"movie" if movies else "series"}/alice/hunter22pw/{name}', data) + '\n'
    playlist.write_text(text, encoding='utf-8')
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'[m3u]\nfile_path = {playlist}\n[downloads]\nmin_free_space_mb = 0\n'
                   f'retry_attempts = 1\nretry_backoff_seconds = 0.01\n'
                   f'[{arr.kind}]\nurl = {arr.base_url}\napi_key = {arr.api_key}\n'
                   f'path_map = {"/movies" if movies else "/tv"}={tmp_path}/{"lib" if movies else "tv"}\n'
                   f'[quality]\npreference = 4K, 1080p, 720p, unknown\n{extra_ini}', encoding='utf-8')
    return ini


def lookups_asked(arr):
    return [r['query'].get('term') for r in arr.requests if r['path'].endswith('/lookup')]


def db_rows(tmp_path, table):
    conn = sqlite3.connect(tmp_path / 'stalkeer.db')
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f'SELECT * FROM {table} ORDER BY id')]
    finally:
        conn.close()


def test_the_lookup_guard_refuses_a_title_another_film_could_be_meant_by(server, tmp_path, cli):
    with FakeArr('radarr') as radarr:
        radarr.add_movie('Crash', 2004, path='/movies/Crash (2004)')
        radarr.add_world_movie('Crash', 1996)
        radarr.add_movie('Pulp Fiction', 1994, path='/movies/Pulp Fiction (1994)')
        radarr.add_movie('Little Women', 2019, path='/movies/Little Women (2019)')
        radarr.add_world_movie('Little Women', 2018)
        ini = guard_world(server, tmp_path, radarr, [
            ('Crash', 'crash.mkv', payload(5000, 1)),
            ('Pulp Fiction', 'pulp.mkv', payload(5000, 2)),
            ('Little Women (2018)', 'lw.mkv', payload(5000, 3))])
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'radarr', '--dry-run', '-v')
        assert code == 0, err
        assert "Crash (2004): line #1 'Crash': refused, no year, and another film has that name: " \
            'Crash (1996)' in err
        assert 'Crash (2004): skipped, another of that name could be meant (no year, and another ' \
            'film has that name: Crash (1996))' in err
        assert "Pulp Fiction (1994): line #2 'Pulp Fiction': taken, no year; the lookup knows no " \
            'other film of that name' in err
        assert "Little Women (2019): line #3 'Little Women (2018)': refused, year 2018 is one off " \
            "2019 and none of Radarr's dates says so (2019)" in err
        assert 'radarr: missing 3, matched 1, downloaded 0, failed 0, skipped 2 (only other years ' \
            'in the playlist 1, another of that name could be meant 1), looked up 2, ' \
            'would download 1 (dry run)' in out
        assert sorted(lookups_asked(radarr)) == ['Crash', 'Pulp Fiction']
        assert db_rows(tmp_path, 'arr_lookups') == []            # a dry run writes nothing

        code, out, err = cli('--config', ini, 'radarr')
        assert code == 0, err
        assert (tmp_path / 'lib' / 'Pulp Fiction (1994)' / 'Pulp Fiction (1994).mkv').exists()
        assert not (tmp_path / 'lib' / 'Crash (2004)').exists()
        assert server.gets('movie/alice/hunter22pw/crash.mkv') == []
        kept = {r['term_key'] for r in db_rows(tmp_path, 'arr_lookups')}
        assert kept == {'crash', 'pulp fiction'}
        asked = len(lookups_asked(radarr))
        code, out, err = cli('--config', ini, 'radarr', '--dry-run')
        assert len(lookups_asked(radarr)) == asked and 'looked up' not in out   # from the cache


def test_lookups_per_run_and_a_failing_lookup_leave_the_rest_for_the_next_run(server, tmp_path, cli):
    with FakeArr('radarr') as radarr:
        for title in ('Pulp Fiction', 'Inception', 'Interstellar'):
            radarr.add_movie(title, 2000, path=f'/movies/{title}')
        ini = guard_world(server, tmp_path, radarr, [
            (t, f'{i}.mkv', payload(3000, i)) for i, t in enumerate(('Pulp Fiction', 'Inception', 'Interstellar'))],
            '[matching]\nlookups_per_run = 2\nprobe = false\n')
        assert cli('--config', ini, 'process')[0] == 0
        radarr.fault('/api/v3/movie/lookup', status=503, times=3)     # 3 attempts of the first lookup
        code, out, err = cli('--config', ini, 'radarr', '-v')
        assert code == 0, err
        assert 'downloaded 1' in out and 'lookup left for the next run 2' in out
        assert "lookups this run already ([matching] lookups_per_run)" in err
        assert 'the lookup failed: Radarr at' in err and 'answered HTTP 503' in err
        code, out, err = cli('--config', ini, 'radarr')
        assert 'downloaded 2' in out and 'already downloaded 1' in out, out


def test_lookups_off_refuse_what_needs_one(server, tmp_path, cli):
    with FakeArr('radarr') as radarr:
        radarr.add_movie('Pulp Fiction', 1994, path='/movies/Pulp Fiction (1994)')
        ini = guard_world(server, tmp_path, radarr, [('Pulp Fiction', 'p.mkv', payload(3000))],
                          '[matching]\nlookup = false\n')
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'radarr', '--dry-run', '-v')
        assert 'lookup left for the next run 1' in out and 'lookups are off ([matching] lookup)' in err
        assert lookups_asked(radarr) == []


def test_the_runtime_probe_refuses_another_length_and_ranks_by_the_real_resolution(server, tmp_path, cli):
    """Heat's "4K" line is a 720p file; its 1080p line is the real thing. Dune's line runs
    76 min where Radarr says 155. A line that is not a readable container goes ahead."""
    with FakeArr('radarr') as radarr:
        heat = radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', runtime=95)
        radarr.add_movie('Dune', 2021, path='/movies/Dune (2021)', runtime=155)
        radarr.add_movie('The Matrix', 1999, path='/movies/The Matrix (1999)', runtime=136)
        media = {name: (MEDIA / name).read_bytes() for name in
                 ('film-720p-moov-at-end.mp4', 'film-1080p-faststart.mp4', 'film-2160p.mkv')}
        ini = guard_world(server, tmp_path, radarr, [
            ('Heat (1995) 4K', 'heat4k.mp4', media['film-720p-moov-at-end.mp4']),
            ('Heat (1995) 1080p', 'heat1080.mp4', media['film-1080p-faststart.mp4']),
            ('Dune (2021) 4K', 'dune.mkv', media['film-2160p.mkv']),
            ('The Matrix (1999)', 'matrix.mkv', payload(50_000))])
        assert cli('--config', ini, 'process')[0] == 0

        code, out, err = cli('--config', ini, 'radarr', '--dry-run')     # plans, reads nothing
        assert code == 0 and len(server.requests) == 0
        assert 'Heat (1995): Heat (1995) 4K [2160p]' in out and 'would download 3' in out

        code, out, err = cli('--config', ini, 'radarr', '--dry-run', '--probe', '-v')
        assert code == 0, err
        assert 'Heat (1995): Heat (1995) 1080p [1080p]' in out
        assert "read the header of line #1 'Heat (1995) 4K': mp4, 1h44m, 1280x536 (720p)" in err
        assert "Dune (2021): line #3 'Dune (2021) 4K': refused, runs 76 min, the app says 155 min " \
            '(±23 min)' in err
        assert 'skipped 1 (runtime does not fit 1), probed 4, would download 2 (dry run)' in out
        assert db_rows(tmp_path, 'line_probes') == []               # a dry run records nothing
        assert all(r.range and r.range.startswith('bytes=') for r in server.requests)

        code, out, err = cli('--config', ini, 'radarr', '-v')
        assert code == 0, err
        lib = tmp_path / 'lib'
        assert sha256(lib / 'Heat (1995)' / 'Heat (1995).mp4') == sha256(media['film-1080p-faststart.mp4'])
        assert not (lib / 'Dune (2021)').exists()
        assert (lib / 'The Matrix (1999)' / 'The Matrix (1999).mkv').exists()
        assert server.full_gets('movie/alice/hunter22pw/heat4k.mp4') == 0
        assert server.full_gets('movie/alice/hunter22pw/dune.mkv') == 0
        assert "duration unknown (not a Matroska or MP4 file)" in err
        assert 'radarr: missing 3, matched 3, downloaded 2, failed 0, skipped 1 (runtime does not ' \
            'fit 1), probed 4' in out
        probes = {r['line_id']: r for r in db_rows(tmp_path, 'line_probes')}
        assert (probes[1]['duration_seconds'], probes[1]['resolution'], probes[1]['container']) == \
            (6240.0, '720p', 'mp4')
        assert (probes[2]['width'], probes[2]['height'], probes[2]['resolution']) == (1920, 800, '1080p')
        assert probes[4]['duration_seconds'] is None and probes[4]['note'] == 'not a Matroska or MP4 file'
        assert [c['movieId'] for c in radarr.commands] .count(heat['id']) == 1


def test_probing_respects_the_per_host_cap_and_can_be_turned_off(server, tmp_path, cli):
    with FakeArr('radarr') as radarr:
        entries = []
        for i in range(4):
            radarr.add_movie(f'Film {i}', 2000 + i, path=f'/movies/Film {i}', runtime=95)
            entries.append((f'Film {i} ({2000 + i})', f'f{i}.mp4', (MEDIA / 'film-1080p-faststart.mp4').read_bytes()))
        ini = guard_world(server, tmp_path, radarr, entries)
        for _, name, _ in entries:
            server.fault(f'movie/alice/hunter22pw/{name}', throttle_bps=20_000)   # ~0.45 s each
        server.count_grace = 0.1        # a finished response is not "in flight" (fileserver)
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'radarr', '--parallel', '3')
        assert code == 0, err
        assert 'downloaded 4' in out and 'probed 4' in out
        assert server.peak_inflight == 1                # max_connections_per_host = 1, probes too
        ini.write_text(ini.read_text() + '[matching]\nprobe = false\n')
        assert cli('--config', ini, 'radarr', '--force')[0] == 0
        assert len([r for r in server.requests if r.range]) == 4     # no new probe


def test_episodes_are_planned_oldest_first(server, tmp_path, cli):
    with FakeArr('sonarr') as sonarr:
        show = sonarr.add_series('Show', 2001, path='/tv/Show')
        for season, number in ((2, 1), (1, 3), (1, 1), (1, 2)):
            sonarr.add_episode(show['id'], season, number)
        playlist = tmp_path / 'p.m3u'
        playlist.write_text('#EXTM3U\n' + ''.join(
            f'#EXTINF:-1,Show S{s:02d}E{e:02d}\nhttp://127.0.0.1:9/series/u/p/{s}{e}.mkv\n'
            for s, e in ((2, 1), (1, 3), (1, 1), (1, 2))), encoding='utf-8')
        ini = tmp_path / 'stalkeer.ini'
        ini.write_text(f'[m3u]\nfile_path = {playlist}\n[sonarr]\nurl = {sonarr.base_url}\n'
                       f'api_key = {sonarr.api_key}\npath_map = /tv={tmp_path}/tv\n', encoding='utf-8')
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'sonarr', '--dry-run', '--limit', '3')
        assert code == 0, err
        planned = [line.split(':')[0] for line in out.splitlines() if line.startswith('Show - ')]
        assert planned == ['Show - S01E01', 'Show - S01E02', 'Show - S01E03']


def test_verbose_lists_near_misses(server, tmp_path, cli):
    with FakeArr('radarr') as radarr:
        radarr.add_movie('The Lord of the Rings: The Fellowship of the Ring', 2001, path='/movies/LOTR')
        radarr.add_movie('Little Women', 2019, path='/movies/LW')
        ini = guard_world(server, tmp_path, radarr, [
            ('Lord of the Rings Fellowship of the Ring (2001)', 'lotr.mkv', payload(100)),
            ('Little Women (2018)', 'lw.mkv', payload(100))])
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'radarr', '--dry-run', '-v')
        assert "The Lord of the Rings: The Fellowship of the Ring (2001): near misses (if one is it, " \
            "add its title in Radarr as an alternate title): 'Lord of the Rings Fellowship of the Ring (2001)'" in err
        # One year off: the title is already the same, so an alternate title cannot help.
        assert "Little Women (2019): near misses one year off (if one is it, check Radarr's " \
            "release dates for the film): 'Little Women (2018)' (year 2018 is one off 2019" in err
        assert 'Little Women (2019): near misses (if one is it, add' not in err


def test_already_downloaded_and_held_items_are_found_in_one_query_per_run(world, cli, caplog):
    """Issue 15: one query per item cost 2 s for 8,000 movies; one per run costs ms."""
    assert run(cli, world, 'process')[0] == 0
    assert run(cli, world, 'radarr')[0] == 0
    with caplog.at_level('DEBUG', logger='peewee'):
        code, out, err = run(cli, world, 'radarr', '--dry-run')
    assert code == 0 and 'already downloaded 2' in out
    asked = [r.getMessage() for r in caplog.records if r.name == 'peewee' and 'download_info' in r.getMessage()]
    assert len(asked) == 1, asked


def test_a_dry_run_on_a_database_older_than_the_matching_tables(world, cli):
    """--dry-run never migrates: without arr_lookups and line_probes it still plans."""
    assert run(cli, world, 'process')[0] == 0
    conn = sqlite3.connect(world.tmp / 'stalkeer.db')
    conn.executescript('DROP TABLE arr_lookups; DROP TABLE line_probes; DROP TABLE playlist_imports;')
    conn.close()
    code, out, err = run(cli, world, 'sonarr', '--dry-run')
    assert code == 0, err
    assert 'looked up 1' in out and 'would download 2 (dry run)' in out


# -- every kind of Sonarr series, end to end -----------------------------------------------------

def test_a_multi_episode_line_fills_both_episodes_with_one_download(server, tmp_path, cli):
    data = {name: payload(30_000, i) for i, name in enumerate(('e0102', 'e03', 'e0304', 'e0506'))}
    with FakeArr('sonarr') as sonarr:
        show = sonarr.add_series('Show', 2001, path='/tv/Show')
        eps = {n: sonarr.add_episode(show['id'], 1, n) for n in range(1, 7)}
        sonarr.add_episode(show['id'], 1, 7, has_file=True)
        sonarr.add_world_series('Show', 1970, seasons=(1,))    # another "Show": only years tell...
        ini = guard_world(server, tmp_path, sonarr, [
            ('Show (2001) S01E01-E02', 'e0102.mkv', data['e0102']),   # both missing: one file
            ('Show (2001) S01E03', 'e03.mkv', data['e03']),           # E03 has its own line...
            ('Show (2001) S01E03E04', 'e0304.mkv', data['e0304']),    # ...but E04 has none: one file
            ('Show (2001) S01E06-E07', 'e0607.mkv', payload(100)),    # E07 has a file: never
            ('Show (2001) S01E05', 'e05.mkv', data['e0506'])])
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'sonarr', '-v')
        assert code == 0, err
        season = tmp_path / 'tv' / 'Show' / 'Season 01'
        assert sorted(p.name for p in season.iterdir()) == [
            'Show - S01E01-E02.mkv', 'Show - S01E03-E04.mkv', 'Show - S01E05.mkv']
        assert sha256(season / 'Show - S01E01-E02.mkv') == sha256(data['e0102'])
        assert sha256(season / 'Show - S01E03-E04.mkv') == sha256(data['e0304'])
        assert server.gets('series/alice/hunter22pw/e03.mkv') == []
        assert server.gets('series/alice/hunter22pw/e0607.mkv') == []
        assert "S01E06-E07: it also holds E07, which Sonarr does not list as missing" in err
        assert 'sonarr: missing 6, matched 5, downloaded 5, failed 0, skipped 1 ' \
            '(not sure it is the same 1)' in out, out
        assert [c for c in sonarr.commands if c['name'] == 'RescanSeries'] == \
            [{'name': 'RescanSeries', 'seriesId': show['id']}]
        rows_ = db_rows(tmp_path, 'download_info')
        assert sorted(r['service_item_id'] for r in rows_) == [eps[1]['id'], eps[3]['id'], eps[5]['id']]
        linked = db_rows(tmp_path, 'download_items')
        assert sorted(r['item_id'] for r in linked) == [eps[2]['id'], eps[4]['id']]
        gets = len(server.requests)
        code, out, err = cli('--config', ini, 'sonarr')
        assert len(server.requests) == gets and 'already downloaded 5' in out, out


def test_anime_daily_country_and_specials_end_to_end(server, tmp_path, cli):
    media = (MEDIA / 'episode-480p.webm').read_bytes()
    with FakeArr('sonarr') as sonarr:
        anime = sonarr.add_series('One Piece', 1999, path='/tv/One Piece', seriesType='anime',
                                  network='Fuji TV', runtime=24)
        op = sonarr.add_episode(anime['id'], 21, 79, absoluteEpisodeNumber=1071, runtime=44)
        daily = sonarr.add_series('The Daily Show', 1996, path='/tv/Daily', seriesType='daily',
                                  network='Comedy Central')
        ds = sonarr.add_episode(daily['id'], 25, 40, air_date_utc='2020-03-11T23:00:00Z')
        uk = sonarr.add_series('The Office', 2001, path='/tv/Office UK', network='BBC Two')
        uk1 = sonarr.add_episode(uk['id'], 1, 3)
        sonarr.add_world_series('The Office (US)', 2005, seasons=range(1, 10), network='NBC')
        sherlock = sonarr.add_series('Sherlock', 2010, path='/tv/Sherlock', network='BBC One')
        special = sonarr.add_episode(sherlock['id'], 0, 1)
        ini = guard_world(server, tmp_path, sonarr, [
            ('One Piece - 1071', 'op.webm', media),
            ('The Daily Show 2020 03 11', 'ds.mkv', payload(2000, 1)),
            ('The Office (US) S01E03', 'us.mkv', payload(2000, 2)),     # the other country's
            ('Sherlock S00E01', 'sp.mkv', payload(2000, 3))])
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'sonarr', '-v')
        assert code == 0, err
        tv = tmp_path / 'tv'
        assert sha256(tv / 'One Piece' / 'Season 21' / 'One Piece - S21E79.webm') == sha256(media)
        assert (tv / 'Daily' / 'Season 25' / 'The Daily Show - S25E40.mkv').exists()
        assert (tv / 'Sherlock' / 'Specials' / 'Sherlock - S00E01.mkv').exists()
        assert not (tv / 'Office UK').exists()
        assert "The Office - S01E03: line #3 'The Office (US) S01E03': refused, it says US, the " \
            'series is from UK (BBC Two)' in err
        assert "only another country's version in the playlist 1" in out
        assert 'downloaded 3' in out and op['id'] and ds['id'] and uk1['id'] and special['id']
        assert "runs 44 min, the app says 44 min" in err             # the anime episode's own runtime


# -- what Radarr and the provider send never acts on the terminal or the log (trial 101114) ------

def test_control_characters_from_radarr_and_the_playlist_are_shown_escaped(world, server):
    """ESC/BEL/newline in a Radarr folder and in a playlist title: the folder is
    refused like one with '..'; nothing raw reaches stdout, stderr or the log,
    and no line is forged (a real process, its bytes read as they are)."""
    from conftest import run_stalkeer, subprocess_env
    evil = server.add('movie/alice/hunter22pw/evil.mkv', payload(50_000, seed=60))
    title = 'Evil\x1b]0;PWN\x07\x1b[31m red\x1b[2K (2010)'
    with open(world.tmp / 'playlist.m3u', 'a', encoding='utf-8') as fh:
        fh.write(f'#EXTINF:-1 group-title="Movies",{title}\n{evil}\n')
        fh.write(f'#EXTINF:-1 group-title="Movies",Tab Film (2011)\n{evil}\n')
    world.radarr.add_movie('Heat2', 2010, path='/movies/Heat2\x1b]0;PWNED\x07\x1b[31mRED')
    world.radarr.add_movie('Tab Film', 2011, path='/movies/Tab\there\nforged: line')
    log = world.tmp / 'run.log'
    text = ''
    for argv in (['process'], ['radarr'], ['lines', 'evil'], ['lines', 'tab']):
        code, out, err = run_stalkeer('--config', world.ini, '--log-file', log, *argv,
                                      env=subprocess_env(), cwd=world.tmp)
        assert 'Traceback' not in err, err
        text += out + err
    text += log.read_text(encoding='utf-8')
    for raw in ('\x1b', '\x07', '\t'):
        assert raw not in text
    assert not any(line.startswith('forged: line') for line in text.splitlines())
    assert 'control characters in it is refused' in text
    assert '\\x1b]0;PWN\\x07' in text
    assert not any('PWN' in p or 'RED' in p or 'forged' in p
                   for _, _, files in os.walk(world.lib) for p in files)
    assert not [d for d in os.listdir(world.lib / 'movies') if 'Heat2' in d or 'Tab' in d]


def test_refused_folders_are_reported_like_failures_and_library_paths_are_not_masked(world, server):
    """F5: a folder Radarr gives that is refused is a failure on stdout and a
    download_failed webhook, even with -q. F2: a library folder shaped like
    /movies/USER/PASS/ is shown as it is (it is a path, not an account)."""
    from conftest import run_stalkeer, subprocess_env
    from test_ops import Receiver
    acdc = server.add('movie/alice/hunter22pw/acdc.mkv', payload(40_000, seed=61))
    with open(world.tmp / 'playlist.m3u', 'a', encoding='utf-8') as fh:
        fh.write(f'#EXTINF:-1 group-title="Movies",ACDC Live (2004)\n{acdc}\n')
        fh.write(f'#EXTINF:-1 group-title="Movies",Dotdot (2009)\n{acdc}\n')
    world.radarr.add_movie('ACDC Live', 2004, path='/movies/AC/DC')
    world.radarr.add_movie('Dotdot', 2009, path='/movies/..')
    receiver = Receiver()
    try:
        env = subprocess_env(STALKEER_NOTIFY_WEBHOOK_URL=f'{receiver.url}/hook/abcdef123456')
        assert run_stalkeer('--config', world.ini, 'process', env=env, cwd=world.tmp)[0] == 0
        code, out, err = run_stalkeer('--config', world.ini, '-q', 'radarr', env=env, cwd=world.tmp)
        events = [json.loads(body) for _, body in receiver.received if body.startswith(b'{')]
    finally:
        receiver.close()
    assert code == 1
    assert "failed: Dotdot (2009): Radarr gave the folder '/movies/..': a path with . or .. " in out
    assert f'completed: {world.lib}/movies/AC/DC/ACDC Live (2004).mkv' in out, out
    assert any(e['event'] == 'download_failed' and e['title'] == 'Dotdot (2009)'
               and '/movies/..' in e['error'] for e in events), events


def test_a_line_that_can_never_be_fetched_creates_nothing(world, server, tmp_path):
    """F11 (downloader side): a file:// or javascript: candidate fails naming its
    scheme, without a row or a library folder; the next candidate is tried."""
    from conftest import run_stalkeer, subprocess_env
    good = server.add('movie/alice/hunter22pw/jsgood.mkv', payload(30_000, seed=62))
    with open(world.tmp / 'playlist.m3u', 'a', encoding='utf-8') as fh:
        fh.write('#EXTINF:-1 group-title="Movies",File (2014)\nfile:///etc/passwd\n')
        fh.write('#EXTINF:-1 group-title="Movies",Javascript (2013) 4K\njavascript:alert(1)\n')
        fh.write(f'#EXTINF:-1 group-title="Movies",Javascript (2013)\n{good}\n')
    world.radarr.add_movie('File', 2014, path='/movies/File (2014)')
    world.radarr.add_movie('Javascript', 2013, path='/movies/Javascript (2013)')
    env = subprocess_env()
    assert run_stalkeer('--config', world.ini, 'process', env=env, cwd=world.tmp)[0] == 0
    code, out, err = run_stalkeer('--config', world.ini, 'radarr', env=env, cwd=world.tmp)
    assert 'Traceback' not in err
    text = out + err
    if 'File (2014)' in out and 'failed' in out:
        assert 'invalid URL (URL is not http/https but file:)' in text and '/etc/passwd' not in out
    assert not (world.lib / 'movies' / 'File (2014)').exists()
    assert (world.lib / 'movies' / 'Javascript (2013)' / 'Javascript (2013).mkv').exists(), text
    con = sqlite3.connect(world.tmp / 'stalkeer.db')
    assert not con.execute("SELECT COUNT(*) FROM download_info WHERE url NOT LIKE 'http%'").fetchone()[0]


def test_a_download_taken_by_another_instance_after_the_plan_is_counted_as_held(world, server, cli):
    """F13: the run finds the file's download held by another process only when
    it starts it (a `download` of the same file, not linked to the movie): the
    summary says held by another instance, not already downloaded."""
    assert run(cli, world, 'process')[0] == 0
    db = stalkeer.open_database(f'sqlite:///{world.tmp}/stalkeer.db', str(world.tmp))
    state = stalkeer.StateManager(owner='other-host-2-abc')
    dest = world.lib / 'movies' / 'Heat (1995)' / 'Heat (1995)'      # radarr's: no extension
    info = state.get_or_create(world.urls['heat1080'], str(dest), 'Heat')
    assert state.acquire(info.id)
    db.close()
    code, out, err = run(cli, world, 'radarr')
    assert 'skipped: Heat: being downloaded by other-host-2-abc' in out, out + err
    assert 'held by another instance 1' in out and 'already downloaded' not in out, out


def test_a_movie_whose_download_no_retry_can_fix_is_not_failed_again_every_run(world, server):
    """F10, F8 through radarr: a symlinked movie folder inside the library fails
    once, naming the link and what to do; later runs skip it ('needs
    attention'), exit 0, instead of failing it (and mailing) every 30 minutes."""
    from conftest import run_stalkeer, subprocess_env
    outside = world.tmp / 'outside'
    outside.mkdir()
    (world.lib / 'movies').mkdir(parents=True)
    os.symlink(outside, world.lib / 'movies' / 'Heat (1995)')
    env = subprocess_env()
    assert run_stalkeer('--config', world.ini, 'process', env=env, cwd=world.tmp)[0] == 0
    code, out, err = run_stalkeer('--config', world.ini, 'radarr', env=env, cwd=world.tmp)
    assert code == 1 and 'refusing to follow the symbolic link' in out, out + err
    assert 'no retry can fix this' in out and list(outside.iterdir()) == []
    code, out, err = run_stalkeer('--config', world.ini, 'radarr', env=env, cwd=world.tmp)
    assert code == 0 and 'needs attention 1' in out and 'failed: #' not in out, out + err
    assert list(outside.iterdir()) == []


# -- the trial-1213 reproductions, end to end -------------------------------------------------

def test_trial_1213_wrong_files_are_never_downloaded(server, tmp_path, cli):
    """F1: a tvg-id equal to Heat's tmdbId on a 44-minute 'Cats (2019)'; F14: an HLS
    playlist behind 'Heat (1995)'; F4: 'Heat (1986) (US)'; F5: 'Heat (1995) Bonus'."""
    cats = (MEDIA / 'episode-480p.webm').read_bytes()
    hls = b'#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nseg0.ts\n#EXT-X-ENDLIST\n'
    with FakeArr('radarr') as radarr:
        radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', tmdb_id=1001, runtime=120)
        ini = guard_world(server, tmp_path, radarr, [])
        entries = [('tvg-id="1001" ', 'Cats (2019)', server.add('movie/u/p/1.mkv', cats)),
                   ('', 'Heat (1995)', server.add('movie/u/p/7.m3u8', hls,
                                                  content_type='application/vnd.apple.mpegurl')),
                   ('', 'Heat (1986) (US)', server.add('movie/u/p/2.mkv', payload(5000, 2))),
                   ('', 'Heat (1995) Bonus', server.add('movie/u/p/3.ts', payload(5000, 3),
                                                        content_type='video/mp2t'))]
        (tmp_path / 'playlist.m3u').write_text('#EXTM3U\n' + ''.join(
            f'#EXTINF:-1 {a}tvg-name="{t}" group-title="Movies",{t}\n{u}\n' for a, t, u in entries),
            encoding='utf-8')
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'radarr', '-v')
        assert not (tmp_path / 'lib').exists() or not any((tmp_path / 'lib').rglob('*.mkv')), out
        assert 'downloaded 0' in out and 'completed' not in out, out + err
        assert "'Cats (2019)': refused, its tvg-id 1001 is the film's id, but its title" in err
        assert 'HLS playlist' in err
        assert "'Heat (1986) (US)': refused, year 1986, the film is 1995" in err
        assert "'Heat (1995) Bonus': refused, a trailer or extra" in err
        assert [c for c in radarr.commands if c['name'] == 'RescanMovie'] == []


def test_trial_1213_a_double_premiere_line_is_downloaded_for_neither(server, tmp_path, cli):
    """F2: 'Lost 2004 09 22' filled S01E01 and S01E02, which aired the same day."""
    with FakeArr('sonarr') as sonarr:
        lost = sonarr.add_series('Lost', 2004, path='/tv/Lost')
        for n in (1, 2):
            sonarr.add_episode(lost['id'], 1, n, air_date_utc='2004-09-22T00:00:00Z')
        ini = guard_world(server, tmp_path, sonarr, [('Lost 2004 09 22', '1.mkv', payload(5000))])
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'sonarr', '-v')
        assert 'downloaded 0' in out, out
        assert 'air date 2004-09-22 is S01E01 and S01E02: cannot say which' in err
        assert server.gets('series/alice/hunter22pw/1.mkv') == []


def test_an_air_date_an_episode_with_a_file_shares_fills_no_other(server, tmp_path, cli):
    """F2, the episode wanted/missing does not list: S01E01 has a file, S01E02 aired
    the same day; the line may be S01E01 again. A series whose air-date line is
    alone that day is asked about once and filled."""
    with FakeArr('sonarr') as sonarr:
        lost = sonarr.add_series('Lost', 2004, path='/tv/Lost')
        sonarr.add_episode(lost['id'], 1, 1, air_date_utc='2004-09-22T00:00:00Z', has_file=True)
        sonarr.add_episode(lost['id'], 1, 2, air_date_utc='2004-09-22T00:00:00Z')
        daily = sonarr.add_series('Late Show', 2015, path='/tv/Late Show', seriesType='daily')
        sonarr.add_episode(daily['id'], 2020, 30, air_date_utc='2020-03-10T00:00:00Z', has_file=True)
        sonarr.add_episode(daily['id'], 2020, 31, air_date_utc='2020-03-11T00:00:00Z')
        ini = guard_world(server, tmp_path, sonarr, [('Lost 2004 09 22', '1.mkv', payload(5000)),
                                                      ('Late Show 2020 03 11', '2.mkv', payload(5000, 2))])
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'sonarr', '-v')
        assert code == 0, err
        assert 'air date 2004-09-22 is S01E01 and S01E02: cannot say which' in err
        assert server.gets('series/alice/hunter22pw/1.mkv') == []
        assert (tmp_path / 'tv' / 'Late Show' / 'Season 2020' / 'Late Show - S2020E31.mkv').exists()
        asked = sorted(r['query'].get('seriesId') for r in sonarr.requests if r['path'] == '/api/v3/episode')
        assert asked == sorted([str(lost['id']), str(daily['id'])])
