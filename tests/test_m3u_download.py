"""m3u-download: fetch, validate, replace atomically, archive and rotate."""

import gzip
import os

import pytest

from conftest import SHARED, payload, sha256

PLAYLIST = (SHARED / 'playlists' / 'germainlefebvre4-Stalkeer__sample.m3u').read_bytes()
SECRET_QUERY = '?username=alice&password=hunter22pw&type=m3u_plus&output=ts'


@pytest.fixture
def ini(tmp_path):
    path = tmp_path / 'stalkeer.ini'
    path.write_text('[m3u]\nfile_path = data/playlist.m3u\narchive_dir = data/archive\n'
                    'retention_count = 2\n[downloads]\nretry_backoff_seconds = 0.01\n')
    return path


def fetch(cli, ini, url, *extra):
    return cli('--config', ini, '--db', f'sqlite:///{ini.parent}/s.db', 'm3u-download', '--url', url, *extra)


def test_download_saves_archives_and_rotates(server, cli, ini, tmp_path):
    url = server.add('get.php', PLAYLIST, content_type='audio/x-mpegurl') + SECRET_QUERY
    for _ in range(3):
        code, out, err = fetch(cli, ini, url)
        assert code == 0, err
    saved = tmp_path / 'data' / 'playlist.m3u'
    assert sha256(saved) == sha256(PLAYLIST)
    archives = sorted(os.listdir(tmp_path / 'data' / 'archive'))
    assert len(archives) == 2                                   # retention_count = 2
    assert all(a.startswith('playlist-') and a.endswith('.m3u') for a in archives)
    assert 'removed old archive' in out
    assert 'hunter22pw' not in out + err and 'alice' not in out + err
    assert not [n for n in os.listdir(tmp_path / 'data') if 'stalkeer-download' in n]

    code, out, err = cli('--config', ini, 'm3u-list-archives')
    assert code == 0 and out.count('playlist-') == 2
    code, out, err = cli('--config', ini, 'm3u-cleanup-archives', '--retention', '0')
    assert code == 0 and 'removed 2' in out
    assert os.listdir(tmp_path / 'data' / 'archive') == []


def test_no_archive_flag(server, cli, ini, tmp_path):
    url = server.add('pl.m3u', PLAYLIST)
    assert fetch(cli, ini, url, '--no-archive')[0] == 0
    assert not (tmp_path / 'data' / 'archive').exists()


@pytest.mark.parametrize('body, kind', [
    (b'<!DOCTYPE html><html><body>Your subscription expired</body></html>', 'an HTML page'),
    (b'{"user_info": {"auth": 0}}', 'JSON'),
    (b'', 'an empty file'),
    (payload(200_000), 'binary data'),
    (gzip.compress(PLAYLIST), 'gzip-compressed data'),    # a .gz served as is, not Content-Encoding
    (b'Login required. ' * 5000, 'something else'),
    # A header, or a byte order mark, before binary data does not make it a playlist.
    (b'#EXTM3U\n' + bytes(100_000), 'binary data'),
    (b'#EXTM3U\n' + bytes(1000), 'binary data'),
    (b'\xef\xbb\xbf' + bytes(100_000), 'binary data after a UTF-8 byte order mark'),
])
def test_invalid_download_keeps_the_current_playlist(body, kind, server, cli, ini, tmp_path):
    good = server.add('good.m3u', PLAYLIST)
    assert fetch(cli, ini, good, '--no-archive')[0] == 0
    bad = server.add('bad.m3u', body, content_type='text/plain')
    code, out, err = fetch(cli, ini, bad)
    assert code == 2
    assert f'the provider sent {kind}, not an M3U playlist' in err
    assert len(err.strip().splitlines()) == 1
    assert sha256(tmp_path / 'data' / 'playlist.m3u') == sha256(PLAYLIST)
    assert not (tmp_path / 'data' / 'archive').exists()
    assert not [n for n in os.listdir(tmp_path / 'data') if 'stalkeer-download' in n]


@pytest.mark.parametrize('body', [b'#EXTM3U\n', b'\xef\xbb\xbf#EXTM3U\r\n\r\n',
                                  b'#EXTM3U\n#EXTVLCOPT:http-user-agent=VLC\n# nothing today\n' * 1000])
def test_a_playlist_without_entries_keeps_the_current_playlist(body, server, cli, ini, tmp_path):
    """'#EXTM3U' alone (what a panel may answer an account without VOD)
    replaced the playlist with one that `process` refuses."""
    good = server.add('good.m3u', PLAYLIST)
    assert fetch(cli, ini, good, '--no-archive')[0] == 0
    code, out, err = fetch(cli, ini, server.add('bad.m3u', body))
    assert code == 2 and err == ('stalkeer: error: playlist download failed: the provider sent an M3U '
                                 'playlist without a single entry (no #EXTINF line); the current playlist '
                                 'was kept\n'), err
    assert sha256(tmp_path / 'data' / 'playlist.m3u') == sha256(PLAYLIST)
    assert not (tmp_path / 'data' / 'archive').exists()
    assert not [n for n in os.listdir(tmp_path / 'data') if 'stalkeer-download' in n]


def test_wrong_credentials(server, cli, ini):
    url = server.add('get.php', PLAYLIST)
    server.fault('get.php', status=403)
    code, out, err = fetch(cli, ini, url + SECRET_QUERY)
    assert code == 2 and 'HTTP 403' in err and 'expired subscription' in err
    assert 'hunter22pw' not in err


def test_retries_then_succeeds(server, cli, ini, tmp_path):
    url = server.add('busy.m3u', PLAYLIST)
    server.fault('busy.m3u', status=503, status_times=2)
    code, out, err = fetch(cli, ini, url)
    assert code == 0, err
    assert len(server.gets('busy.m3u')) == 3


def test_cut_connection_never_replaces_the_playlist(server, cli, ini, tmp_path):
    good = server.add('good.m3u', PLAYLIST)
    assert fetch(cli, ini, good, '--no-archive')[0] == 0
    cut = server.add('cut.m3u', PLAYLIST.replace(b'FHD', b'UHD'))
    server.fault('cut.m3u', drop_after=3000, drop_times=10)
    code, out, err = fetch(cli, ini, cut)
    assert code == 2 and 'playlist download failed' in err
    assert sha256(tmp_path / 'data' / 'playlist.m3u') == sha256(PLAYLIST)


def test_size_cap(server, cli, ini, tmp_path):
    big = PLAYLIST * 200                                  # about 2.4 MB
    url = server.add('big.m3u', big)
    ini.write_text(ini.read_text().replace('[m3u]\n', '[m3u]\nmax_file_size_mb = 1\n'))
    code, out, err = fetch(cli, ini, url)
    assert code == 2 and 'max_file_size_mb' in err
    server.fault('big.m3u', no_content_length=True)      # the cap holds while streaming too
    code, out, err = fetch(cli, ini, url)
    assert code == 2 and 'max_file_size_mb' in err
    assert not (tmp_path / 'data' / 'playlist.m3u').exists()


def test_unreachable_provider(cli, ini):
    code, out, err = fetch(cli, ini, 'http://127.0.0.1:9/get.php' + SECRET_QUERY)
    assert code == 2 and 'cannot reach the provider' in err and 'hunter22pw' not in err


def test_no_url_configured(cli, ini):
    code, out, err = cli('--config', ini, 'm3u-download')
    assert code == 2 and 'set [m3u] url' in err


def test_playlist_saved_is_said_once(server, cli, ini, tmp_path):
    url = server.add('get.php', PLAYLIST, content_type='audio/x-mpegurl') + SECRET_QUERY
    code, out, err = fetch(cli, ini, url, '--no-archive')
    assert code == 0, err
    assert out.count('playlist saved') == 1 and out.startswith(f'playlist saved: {tmp_path}')
    assert 'playlist saved' not in err and 'saved' not in err


def test_files_holding_the_account_are_created_private(server, ini, tmp_path):
    """The database, its WAL, the log, the playlist and its archives hold the
    provider account: created 0600 even under the usual umask 022 (a real process)."""
    import stat
    from conftest import run_stalkeer, subprocess_env
    url = server.add('get.php', PLAYLIST, content_type='audio/x-mpegurl') + SECRET_QUERY
    old = os.umask(0o022)
    try:
        for _ in range(2):
            code, out, err = run_stalkeer('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db',
                                          '--log-file', tmp_path / 'stalkeer.log', 'm3u-download',
                                          '--url', url, env=subprocess_env(), cwd=tmp_path)
            assert code == 0, out + err
        code, out, err = run_stalkeer('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db',
                                      'process', env=subprocess_env(), cwd=tmp_path)
        assert code == 0, out + err
    finally:
        os.umask(old)
    files = [tmp_path / 's.db', tmp_path / 'stalkeer.log', tmp_path / 'data' / 'playlist.m3u',
             *(tmp_path / 'data' / 'archive').iterdir()]
    files += [p for p in tmp_path.iterdir() if p.name.startswith('s.db-')]
    assert len(files) >= 5
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


@pytest.mark.parametrize('how', ['environment', 'file', 'option'])
def test_a_bad_playlist_url_is_named_where_it_came_from(how, cli, ini, monkeypatch):
    """trial-15e F9: a URL from STALKEER_M3U_URL was called [m3u] url."""
    url = 'ftp://provider/get.php' + SECRET_QUERY
    argv = ['--config', ini, '--db', f'sqlite:///{ini.parent}/s.db', 'm3u-download']
    if how == 'environment':
        monkeypatch.setenv('STALKEER_M3U_URL', url)
    elif how == 'file':
        ini.write_text(ini.read_text().replace('[m3u]\n', f'[m3u]\nurl = {url}\n'))
    else:
        argv += ['--url', url]
    code, out, err = cli(*argv)
    named = {'environment': 'STALKEER_M3U_URL (environment)', 'file': '[m3u] url', 'option': '--url'}[how]
    assert code == 2 and err.startswith(f'stalkeer: error: {named} must be an http:// or https:// URL'), err
    assert len(err.strip().splitlines()) == 1 and 'hunter22pw' not in err and 'alice' not in err
    if how != 'file':
        assert '[m3u] url' not in err


def test_the_size_cap_is_named_where_it_came_from(server, cli, ini, monkeypatch):
    url = server.add('big.m3u', PLAYLIST * 200)
    monkeypatch.setenv('STALKEER_M3U_MAX_FILE_SIZE_MB', '1')
    code, out, err = fetch(cli, ini, url)
    assert code == 2 and 'over STALKEER_M3U_MAX_FILE_SIZE_MB (environment) (1.0 MiB)' in err, err
