"""End to end: fake Radarr and Sonarr (v3 shapes) + the local file server + a
playlist -> `process`, `radarr`, `sonarr` put byte-identical files where the
apps expect them, and tell the apps to rescan."""

import os
import re
import sqlite3

import pytest

import stalkeer
from conftest import payload, sha256
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
[radarr]
url = {radarr.base_url}
api_key = {radarr.api_key}
path_map = /movies={lib}/movies
[sonarr]
url = {sonarr.base_url}
api_key = {sonarr.api_key}
path_map = /tv={lib}/tv
[quality]
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
    assert len(server.gets('series/alice/hunter22pw/gone.mkv')) == 1
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
        if expected != 'ok':
            assert expected in err and title in err, err
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
        'over the limit 1)')
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
                   ': skipped, over the limit (--limit 1)'):
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
                     r'\(not available yet 1, not in the playlist 1\)\n', logged), logged
    assert f'asked Radarr to rescan Heat (1995) (movie {world.heat["id"]})' in logged
    assert f'asked Radarr to rescan The Matrix (1999) (movie {world.matrix["id"]})' in logged
    assert f'asked Sonarr to rescan series {world.e1["seriesId"]}' in logged
    assert 'sonarr: missing 3, matched 2, downloaded 2' in logged
    assert logged.count('completed: ') == 4 and 'hunter22pw' not in logged
