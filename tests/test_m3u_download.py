"""m3u-download: fetch, validate, replace atomically, archive and rotate."""

import codecs
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
    (b'<!DOCTYPE html><html><body>Your subscription expired</body></html>',
     'an HTML page, not an M3U playlist (1 malformed line and not one entry'),
    (b'{"user_info": {"auth": 0}}', 'JSON, not an M3U playlist (1 malformed line and not one entry'),
    (b'', 'no playlist entries (the file is empty (0 bytes))'),
    (payload(200_000), 'no text playlist (binary data: '),
    (gzip.compress(PLAYLIST), 'no text playlist (gzip-compressed data)'),    # a .gz served as is
    # The reason without process's advice to a file's owner ("unpack it first",
    # "save it as UTF-8"): the answer is the provider's (a newcomer trial).
    (PLAYLIST.decode('utf-8').encode('utf-16-le'), 'no text playlist (UTF-16 without a byte order mark)'),
    (PLAYLIST.decode('utf-8').encode('utf-16-le') * 40, 'no text playlist (UTF-16 without a byte order mark)'),
    (PLAYLIST.decode('utf-8').encode('utf-32-le'), 'no text playlist (UTF-32 without a byte order mark)'),
    (codecs.BOM_UTF8 + PLAYLIST.decode('utf-8').encode('utf-16-le') * 40,
     'no text playlist (UTF-16 after a UTF-8 byte order mark)'),
    # What process says of them, not "something else" (trial-18a F8).
    (b'Login required. ' * 5000, 'no playlist entries (1 malformed line and not one entry'),
    (b'# nothing here today\n', 'no playlist entries (it holds no #EXTINF line, so it is not an M3U playlist)'),
    (b'\xef\xbb\xbf', 'no playlist entries (it holds only a UTF-8 byte order mark)'),
    (b'\n\n\n', 'no playlist entries (it holds only blank lines)'),
    # A header, or a byte order mark, before binary data does not make it a playlist.
    (b'#EXTM3U\n' + bytes(100_000), 'no text playlist (binary data'),
    (b'#EXTM3U\n' + bytes(1000), 'no text playlist (binary data'),
    (b'\xef\xbb\xbf' + bytes(100_000), 'no text playlist (binary data after a UTF-8 byte order mark'),
    (codecs.BOM_UTF16_BE + bytes(1000), 'no text playlist (binary data after a UTF-16 byte order mark'),
    # #EXTINF lines, but not one followed by its http(s) URL: process refuses it
    # (trial-18a F6), so it must not replace a good playlist.
    (b'#EXTM3U\n#EXTINF:-1,Heat (1995)\nrtmp://h/1.mkv\n#EXTINF:-1,Alien (1979)\n\n',
     'no playlist entries (2 malformed lines and not one entry (an #EXTINF line, then its http(s) URL)'),
    (b'#EXTM3U\n#EXTINF:-1,Heat (1995)\n#EXTINF:-1,Alien (1979)\n',
     'no playlist entries (2 malformed lines and not one entry'),
    # The same past the first 64 KiB (read whole, not only its first block).
    (b'#EXTM3U\n' + b'#EXTINF:-1,Heat (1995)\nftp://h/1.mkv\n' * 3000,
     'no playlist entries (3000 malformed lines and not one entry'),
])
def test_invalid_download_keeps_the_current_playlist(body, kind, server, cli, ini, tmp_path):
    good = server.add('good.m3u', PLAYLIST)
    assert fetch(cli, ini, good, '--no-archive')[0] == 0
    bad = server.add('bad.m3u', body, content_type='text/plain')
    code, out, err = fetch(cli, ini, bad)
    assert code == 2
    assert f'stalkeer: error: playlist download failed: the provider sent {kind}' in err, err
    assert err.endswith('; the current playlist was kept\n'), err
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
    assert code == 2 and err == ('stalkeer: error: playlist download failed: the provider sent no playlist '
                                 'entries (it holds the #EXTM3U header but no #EXTINF entry); the current '
                                 'playlist was kept\n'), err
    assert sha256(tmp_path / 'data' / 'playlist.m3u') == sha256(PLAYLIST)
    assert not (tmp_path / 'data' / 'archive').exists()
    assert not [n for n in os.listdir(tmp_path / 'data') if 'stalkeer-download' in n]


@pytest.mark.parametrize('mark, codec', [(codecs.BOM_UTF16_LE, 'utf-16-le'), (codecs.BOM_UTF16_BE, 'utf-16-be'),
                                         (codecs.BOM_UTF32_LE, 'utf-32-le'), (codecs.BOM_UTF32_BE, 'utf-32-be'),
                                         (codecs.BOM_UTF8, 'utf-8')])
def test_a_playlist_process_reads_is_accepted(mark, codec, server, cli, ini, tmp_path):
    """UTF-16 and UTF-32 with a byte order mark, which process reads, were refused
    as "something else" (trial-18a F2): the same rules judge both."""
    body = mark + PLAYLIST.decode().encode(codec)
    code, out, err = fetch(cli, ini, server.add('wide.m3u', body), '--no-archive')
    assert code == 0, err
    saved = tmp_path / 'data' / 'playlist.m3u'
    assert sha256(saved) == sha256(body)
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', 'process')
    assert code == 0 and 'entries' in out, err


def test_an_entry_after_the_first_block_is_enough(server, cli, ini, tmp_path):
    """process reads a playlist whose first 64 KiB are directives and junk: so does m3u-download."""
    body = b'#EXTM3U\n' + b'#EXTVLCOPT:x=y\n' * 6000 + b'#EXTINF:-1,Heat (1995)\nhttp://h/1.mkv\n'
    code, out, err = fetch(cli, ini, server.add('late.m3u', body), '--no-archive')
    assert code == 0, err
    assert sha256(tmp_path / 'data' / 'playlist.m3u') == sha256(body)


@pytest.mark.parametrize('fault, said', [
    ({'status': 500}, 'playlist download failed: HTTP 500; the current playlist was kept\n'),
    ({'content_encoding': 'gzip'}, 'playlist download failed: the server sent the playlist encoded '
                                   '(Content-Encoding: gzip) although stalkeer asks for it as is '
                                   '(Accept-Encoding: identity); the current playlist was kept\n'),
])
def test_every_refusal_says_the_playlist_was_kept(fault, said, server, cli, ini, tmp_path):
    """HTTP 500 did not say it (trial-18a F8); a gzip answer said "got 12196 of 1980 bytes"."""
    good = server.add('good.m3u', PLAYLIST)
    assert fetch(cli, ini, good, '--no-archive')[0] == 0
    body = gzip.compress(PLAYLIST) if 'content_encoding' in fault else PLAYLIST
    url = server.add('bad.m3u', body)
    server.fault('bad.m3u', **fault)
    code, out, err = fetch(cli, ini, url)
    assert code == 2 and err.endswith('\nstalkeer: error: ' + said) or err == 'stalkeer: error: ' + said, err
    assert sha256(tmp_path / 'data' / 'playlist.m3u') == sha256(PLAYLIST)
    assert server.gets('bad.m3u')[-1].accept_encoding == 'identity'


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


# Commands that use [m3u] file_path (COMMAND_PATH_SETTINGS); `status` only warns
# (tests/test_command_settings.py).
@pytest.mark.parametrize('command', [['m3u-download', '--url', 'URL'], ['process', '--download'],
                                     ['config', '--check'], ['m3u-list-archives']])
def test_a_file_path_naming_a_folder_is_a_setup_error(command, server, cli, ini, tmp_path):
    """A folder at [m3u] file_path was written to after the whole download: a
    traceback, exit 1 (trial-18a F5). Now one line naming the key, exit 2, as
    archive_dir naming a file is; nothing is requested."""
    (tmp_path / 'data' / 'playlist.m3u').mkdir(parents=True)
    url = server.add('good.m3u', PLAYLIST)
    argv = [url if a == 'URL' else a for a in command]
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', *argv)
    assert code == 2 and 'Traceback' not in err, err
    lines = [line for line in (out + err).splitlines() if 'must be a file' in line]
    assert len(lines) == 1 and f'must be a file, but {tmp_path}/data/playlist.m3u is a folder' in lines[0], \
        out + err
    assert server.gets('good.m3u') == []
    assert (tmp_path / 'data' / 'playlist.m3u').is_dir()
    assert not [n for n in os.listdir(tmp_path / 'data') if 'stalkeer-download' in n]


def test_logging_file_naming_a_folder_is_a_setup_error(cli, ini, tmp_path):
    (tmp_path / 'logs').mkdir()
    ini.write_text(ini.read_text() + '[logging]\nfile = logs\n')
    for argv in (['config', '--check'], ['status']):
        code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', *argv)
        assert code == 2 and 'Traceback' not in err
        assert f'must be a file, but {tmp_path}/logs is a folder' in out + err, out + err


def test_a_symlinked_playlist_keeps_its_link(server, cli, ini, tmp_path):
    """A file_path that is a symbolic link (the playlist kept on another disk)
    was replaced by a regular file, the link lost silently (trial-18a F10): the
    file it leads to is replaced (through a temporary file beside it), the link stays."""
    (tmp_path / 'data').mkdir()
    (tmp_path / 'disk').mkdir()
    real = tmp_path / 'disk' / 'real.m3u'
    real.write_bytes(b'#EXTM3U\n#EXTINF:-1,Old (1990)\nhttp://h/old.mkv\n')
    link = tmp_path / 'data' / 'playlist.m3u'
    link.symlink_to(real)
    code, out, err = fetch(cli, ini, server.add('good.m3u', PLAYLIST))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert sha256(real) == sha256(PLAYLIST)
    assert not [n for d in ('data', 'disk') for n in os.listdir(tmp_path / d) if 'stalkeer-download' in n]
    archives = os.listdir(tmp_path / 'data' / 'archive')
    assert len(archives) == 1 and sha256(tmp_path / 'data' / 'archive' / archives[0]) == sha256(PLAYLIST)


@pytest.mark.parametrize('leads_to, named', [('nowhere', 'nothing (a dangling link)'), ('fifo', 'a named pipe')])
def test_a_symlinked_playlist_leading_to_no_file_is_refused_before_downloading(leads_to, named, server, cli, ini,
                                                                                tmp_path):
    (tmp_path / 'data').mkdir()
    target = tmp_path / leads_to
    if leads_to == 'fifo':
        os.mkfifo(target)
    link = tmp_path / 'data' / 'playlist.m3u'
    link.symlink_to(target)
    url = server.add('good.m3u', PLAYLIST)
    code, out, err = fetch(cli, ini, url)
    assert code == 2 and err == (f'stalkeer: error: [m3u] file_path must be a file, but {link} is a symbolic link '
                                 f'to {target}, which is {named}: point it at a file, or remove the link\n'), err
    assert server.gets('good.m3u') == []
    assert link.is_symlink() and (leads_to == 'fifo' or not target.exists())
