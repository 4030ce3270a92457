"""Every configured file path is judged by one rule per role (file_problem),
the same in `config --check` and in the command: whatever the run refuses,
`config --check` names first, in the same words, and what it passes the run
takes. Table-driven over (setting × what stands at its path), with real named
pipes, sockets, devices and symlinks, every command a real process under a
timeout (a named pipe opened by mistake blocks: the test fails, never hangs)."""

import os
import socket
import stat
import subprocess

import pytest

from conftest import SHARED, sha256, start_stalkeer

PLAYLIST = (SHARED / 'playlists' / 'germainlefebvre4-Stalkeer__sample.m3u').read_bytes()
TIMEOUT = 30


def run(*argv, cwd):
    """(exit code, stdout, stderr) of a real stalkeer; killed, and the test
    failed, when it blocks (a named pipe opened for writing waits for a reader)."""
    proc = start_stalkeer(*argv, cwd=cwd)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f'stalkeer {" ".join(map(str, argv))} blocked for {TIMEOUT}s')
    return proc.returncode, out, err


def _socket(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()        # the socket file stays


def _device(path):
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))     # /dev/null's numbers
    except PermissionError:
        pytest.skip('mknod needs root')


# What stands at the path, made in tmp_path: (name, maker, how the refusal names it).
# A maker gets the path and the folder to put a link's target in.
REFUSED = [
    ('folder', lambda p, d: p.mkdir(), 'a folder'),
    ('named pipe', lambda p, d: os.mkfifo(p), 'a named pipe'),
    ('socket', lambda p, d: _socket(p), 'a socket'),
    ('device', lambda p, d: _device(p), 'a device'),
    ('link to a folder', lambda p, d: (d / 'dir').mkdir() or p.symlink_to(d / 'dir'),
     'a symbolic link to {d}/dir, which is a folder'),
    ('link to a named pipe', lambda p, d: os.mkfifo(d / 'fifo') or p.symlink_to(d / 'fifo'),
     'a symbolic link to {d}/fifo, which is a named pipe'),
    ('link to a socket', lambda p, d: _socket(d / 'sock') or p.symlink_to(d / 'sock'),
     'a symbolic link to {d}/sock, which is a socket'),
    ('link to /dev/null', lambda p, d: p.symlink_to('/dev/null'),
     'a symbolic link to /dev/null, which is a device'),
    ('dangling link', lambda p, d: p.symlink_to(d / 'nowhere'),
     'a symbolic link to {d}/nowhere, which is nothing (a dangling link)'),
    ('link loop', lambda p, d: p.symlink_to(p.name),
     'a symbolic link that loops (it never leads to a file)'),
]
ACCEPTED = [
    ('nothing yet', lambda p, d, data: None),
    ('regular file', lambda p, d, data: p.write_bytes(data)),
    ('link to a regular file', lambda p, d, data: (d / 'real').write_bytes(data) or p.symlink_to(d / 'real')),
]


def kind_of(path):
    """What stands at ``path`` (not followed), to see that nothing was replaced."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return stat.S_IFMT(st.st_mode), os.readlink(path) if stat.S_ISLNK(st.st_mode) else None


@pytest.fixture
def world(tmp_path, server):
    """tmp_path with stalkeer.ini, a folder for link targets, a playlist URL."""
    (tmp_path / 'data').mkdir()
    (tmp_path / 'targets').mkdir()
    url = server.add('get.php', PLAYLIST, content_type='audio/x-mpegurl')
    # [m3u] url for process --download; the panel it could be is never asked.
    (tmp_path / 'stalkeer.ini').write_text(f'[m3u]\nurl = {url}\nfile_path = data/playlist.m3u\narchive_dir =\n'
                                           '[xtream]\nenabled = false\n'
                                           '[downloads]\nretry_backoff_seconds = 0.01\n')
    (tmp_path / 'good.m3u').write_bytes(PLAYLIST)
    return tmp_path, url


def _setting(world, setting):
    """(path judged, global options pointing at it, the name the line gives it)."""
    tmp, _url = world
    db = tmp / 's.db'
    if setting == '[m3u] file_path':
        return tmp / 'data' / 'playlist.m3u', ['--db', f'sqlite:///{db}'], '[m3u] file_path'
    if setting == '[logging] file':
        with open(tmp / 'stalkeer.ini', 'a') as fh:
            fh.write('[logging]\nfile = data/stalkeer.log\n')
        return tmp / 'data' / 'stalkeer.log', ['--db', f'sqlite:///{db}'], '[logging] file'
    if setting == '--log-file':
        return tmp / 'data' / 'stalkeer.log', ['--db', f'sqlite:///{db}', '--log-file',
                                               tmp / 'data' / 'stalkeer.log'], '--log-file'
    if setting == '[database] url':
        with open(tmp / 'stalkeer.ini', 'a') as fh:
            fh.write('[database]\nurl = sqlite:///data/s.db\n')
        return tmp / 'data' / 's.db', [], '[database] url'
    assert setting == '--db'
    return tmp / 'data' / 's.db', ['--db', f'sqlite:///{tmp}/data/s.db'], '--db'


# Each setting with the commands that read or write its file.
COMMANDS = {
    '[m3u] file_path': [['m3u-download', '--url', 'URL'], ['process'], ['process', '--download']],
    '[logging] file': [['status']],
    '--log-file': [['status']],
    '[database] url': [['status'], ['process', 'GOOD']],
    '--db': [['status']],
}


LOG_SETTINGS = ('[logging] file', '--log-file')


def _argv(world, command):
    tmp, url = world
    return [url if a == 'URL' else tmp / 'good.m3u' if a == 'GOOD' else a for a in command]


@pytest.mark.parametrize('kind, make, named', REFUSED, ids=[r[0] for r in REFUSED])
@pytest.mark.parametrize('setting, command', [(s, c) for s, cs in COMMANDS.items() for c in cs],
                         ids=lambda v: ' '.join(v) if isinstance(v, list) else v)
def test_what_the_command_refuses_config_check_names_first_in_its_words(setting, command, kind, make,
                                                                          named, world, server):
    """A plain named pipe at [m3u] file_path was replaced by m3u-download (a
    link to one was refused), and config --check passed it, a socket, a device
    and a dangling link; a named pipe as the log or the database hung the run.
    Now: one line, exit 2, the same from both, nothing requested or replaced."""
    tmp, _url = world
    if setting in LOG_SETTINGS and kind in ('device', 'link to /dev/null'):
        pytest.skip('the log takes a character device: test_the_log_may_be_a_character_device')
    path, options, where = _setting(world, setting)
    make(path, tmp / 'targets')
    before = kind_of(path)
    line = (f'stalkeer: error: {where} must be a file, but {path} is '
            f'{named.format(d=tmp / "targets")}')
    if named.startswith('a symbolic link'):
        line += ': point it at a file, or remove the link'
    check = run('--config', tmp / 'stalkeer.ini', *options, 'config', '--check', cwd=tmp)
    assert check[0] == 2 and 'Traceback' not in check[2], check
    assert line in check[2].splitlines(), check[2]
    code, out, err = run('--config', tmp / 'stalkeer.ini', *options, *_argv(world, command), cwd=tmp)
    assert code == 2 and err == line + '\n', (out, err)
    assert kind_of(path) == before, 'what stood there was replaced'
    assert not [n for n in os.listdir(tmp / 'data') if 'stalkeer-download' in n]
    assert server.gets('get.php') == []


@pytest.mark.parametrize('kind, make', ACCEPTED, ids=[a[0] for a in ACCEPTED])
@pytest.mark.parametrize('setting, command', [(s, c) for s, cs in COMMANDS.items() for c in cs
                                              if c != ['process']],
                         ids=lambda v: ' '.join(v) if isinstance(v, list) else v)
def test_what_config_check_passes_the_command_takes(setting, command, kind, make, world):
    """A regular file, a link to one (the file it leads to is used, the link
    stays), or nothing yet (created): `config --check` says ok and the command
    runs. (`process` reading a playlist that is not there: the read table.)"""
    tmp, _url = world
    path, options, _where = _setting(world, setting)
    data = PLAYLIST if setting == '[m3u] file_path' else b''
    make(path, tmp / 'targets', data)
    was_link = path.is_symlink()
    check = run('--config', tmp / 'stalkeer.ini', *options, 'config', '--check', cwd=tmp)
    assert check[0] == 0 and 'config check: ok' in check[1], check
    code, out, err = run('--config', tmp / 'stalkeer.ini', *options, *_argv(world, command), cwd=tmp)
    assert code == 0, (out, err)
    assert path.is_symlink() == was_link and os.path.isfile(path)
    if setting == '[m3u] file_path':
        assert sha256(path) == sha256(PLAYLIST)


@pytest.mark.parametrize('kind, make, named', REFUSED, ids=[r[0] for r in REFUSED])
def test_a_playlist_given_on_the_command_line_is_read_by_the_same_rule(kind, make, named, world):
    """`process PLAYLIST` reads by the rule `process` reads [m3u] file_path by.
    A named pipe is refused there too (on main as well, as "not a file"): the
    playlist is read more than once (its head, then its lines), and a pipe
    gives its bytes once; the line says to save it to a file first."""
    tmp, _url = world
    path = tmp / 'given.m3u'
    make(path, tmp / 'targets')
    line = f'stalkeer: error: PLAYLIST must be a file, but {path} is {named.format(d=tmp / "targets")}'
    if named.endswith('a named pipe'):
        line += ' (a playlist is read more than once: save it to a file first)'
    elif named.startswith('a symbolic link'):
        line += ': point it at a file, or remove the link'
    code, out, err = run('--config', tmp / 'stalkeer.ini', '--db', f'sqlite:///{tmp}/s.db', 'process', path,
                         cwd=tmp)
    assert code == 2 and err == line + '\n', (out, err)
    assert not (tmp / 's.db').exists()


LOCK_REFUSED = [(kind, make, 'a symbolic link' if named.startswith('a symbolic link') else named)
                for kind, make, named in REFUSED] + [
    ('link to a regular file', lambda p, d: (d / 'real').write_bytes(b'') or p.symlink_to(d / 'real'),
     'a symbolic link')]


@pytest.mark.parametrize('kind, make, named', LOCK_REFUSED, ids=[r[0] for r in LOCK_REFUSED])
def test_config_check_names_the_import_lock_process_refuses(kind, make, named, world):
    """The SQLite import lock is stalkeer's own file: nothing yet or a regular
    file itself, never through a link. `process` refused anything else there
    (and `status` said so), while `config --check` said ok."""
    tmp, _url = world
    lock = tmp / 's.db-import.lock'
    make(lock, tmp / 'targets')
    before = kind_of(lock)
    message = (f'cannot use the import lock {lock}: it is {named}, not a file stalkeer created; '
               'remove it (the next import creates the file again)')
    options = ['--config', tmp / 'stalkeer.ini', '--db', f'sqlite:///{tmp}/s.db']
    check = run(*options, 'config', '--check', cwd=tmp)
    assert check[0] == 2 and f'stalkeer: error: imports cannot run: {message}' in check[2].splitlines(), check
    code, out, err = run(*options, 'process', tmp / 'good.m3u', cwd=tmp)
    assert code == 2 and err.splitlines()[-1] == f'stalkeer: error: {message}', (out, err)
    assert kind_of(lock) == before


@pytest.mark.parametrize('setting', LOG_SETTINGS)
@pytest.mark.parametrize('kind', ['device', 'link to /dev/null'])
def test_the_log_may_be_a_character_device(setting, kind, world):
    """The log is appended to, never replaced or read (role 'append'): a
    character device (a terminal, /dev/null, /dev/full) takes its lines as
    `>> /dev/tty` does, by config --check and by the run alike; what stands
    there stays."""
    tmp, _url = world
    path, options, _where = _setting(world, setting)
    make = dict((r[0], r[1]) for r in REFUSED)[kind]
    make(path, tmp / 'targets')
    before = kind_of(path)
    check = run('--config', tmp / 'stalkeer.ini', *options, 'config', '--check', cwd=tmp)
    assert check[0] == 0 and 'config check: ok' in check[1], check
    code, out, err = run('--config', tmp / 'stalkeer.ini', *options, 'process', tmp / 'good.m3u', cwd=tmp)
    assert code == 0 and err == '', (out, err)
    assert kind_of(path) == before
