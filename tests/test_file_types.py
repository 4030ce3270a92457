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

from conftest import SHARED, run_stalkeer, sha256, start_stalkeer, subprocess_env

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


def _link(path, target, data):
    """A symbolic link at ``path`` to the regular file ``target`` holding ``data``."""
    target.write_bytes(data)
    path.symlink_to(target)


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
    ('link to a regular file', lambda p, d, data: _link(p, d / 'real', data)),
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


# ---- folders ---------------------------------------------------------------
# Every configured folder is judged by one rule per role (folder_problem), the
# same in `config --check` and in the command. What stands at the path, made
# in tmp_path: (name, maker, how the refusal names it). A maker gets the path
# and the folder for link targets, and returns the path to configure when it
# is not that one (a file on the way).

FOLDER_REFUSED = [
    ('regular file', lambda p, d: p.write_bytes(b'x') and None, 'a file'),
    ('link to a file', lambda p, d: _link(p, d / 'real', b'x'),
     'a symbolic link to {d}/real, which is a file'),
    # What a file setting refuses too (but a folder, and a link to one).
    *((kind, make, named.replace('leads to a file', 'leads to a folder')) for kind, make, named in REFUSED
      if kind in ('named pipe', 'socket', 'device', 'link to /dev/null', 'dangling link', 'link loop')),
    ('a file on the way', lambda p, d: p.write_bytes(b'x') and p / 'sub',
     'out of reach ({p} on the way is a file)'),
    ('a dangling link on the way', lambda p, d: p.symlink_to(d / 'nowhere') or p / 'sub',
     'out of reach ({p} on the way is a symbolic link to {d}/nowhere, which is nothing (a dangling link))'),
]
FOLDER_ACCEPTED = [
    ('nothing yet', lambda p, d: None),
    ('folder', lambda p, d: p.mkdir()),
    ('link to a folder', lambda p, d: (d / 'dir').mkdir() or p.symlink_to(d / 'dir')),
]

# Each folder setting: its ini lines ({path} the folder), the command that
# uses it. The SQLite database's folder is not created (role 'exist'): nothing
# there yet is refused, in open_database's words.
FOLDER_SETTINGS = {
    '[downloads] temp_dir': ('[downloads]\ntemp_dir = {path}\n', ['download', 'MOVIE', 'dl/t.mkv']),
    '[m3u] archive_dir': ('[m3u]\narchive_dir = {path}\n', ['m3u-download', '--url', 'URL']),
    '[downloads] movies_path': ('[downloads]\nmovies_path = {path}\n', ['status']),
    '[database] url': ('[database]\nurl = sqlite:///{path}/s.db\n', ['status']),
}
MOVIE = b'\x1aE\xdf\xa3' + b'm' * 4000


def _folder_world(world, server, settings, make):
    """For each of ``settings``, what ``make`` put at data/<n> configured in
    ini-<n> (that setting alone) and all of them in all.ini: {setting: (path,
    the path made, ini, argv of its command, the folder for link targets)}."""
    tmp, url = world
    movie = server.add('movie.mkv', MOVIE)
    base = (tmp / 'stalkeer.ini').read_text().replace('archive_dir =\n', '')
    worlds, every = {}, base
    for n, setting in enumerate(settings):
        made, targets = tmp / 'data' / str(n), tmp / 'targets' / str(n)
        targets.mkdir()
        path = make(made, targets)
        path = path if isinstance(path, os.PathLike) else made
        lines, command = FOLDER_SETTINGS[setting]
        ini = tmp / f'ini-{n}'
        ini.write_text(_with(_with(base, f'[database]\nurl = sqlite:///{tmp}/s.db\n')
                             if setting != '[database] url' else base, lines.format(path=path)))
        every = _with(every, lines.format(path=path))
        argv = [movie if a == 'MOVIE' else url if a == 'URL' else a for a in command]
        worlds[setting] = (path, made, ini, argv, targets)
    (tmp / 'all.ini').write_text(_with(every, f'[database]\nurl = sqlite:///{tmp}/s.db\n')
                                 if '[database] url' not in settings else every)
    return worlds


def _with(text, lines):
    """ini ``text`` with ``lines`` ('[section]\\nkey = value\\n') in their section."""
    header, line = lines.split('\n', 1)
    if header + '\n' not in text:
        text += header + '\n'
    return text.replace(header + '\n', header + '\n' + line, 1)


def _written(tmp):
    """Every file below tmp/data and tmp/dl (nothing may be made there on a refusal)."""
    return sorted(str(p) for top in ('data', 'dl') for p in (tmp / top).rglob('*') if not p.is_dir())


def _refusal(setting, path, what):
    hint = ': point it at a folder, or remove the link' if what.startswith('a symbolic link') else ''
    if setting == '[database] url':
        return f'stalkeer: error: cannot open database {path}/s.db: its folder {path} is {what}{hint}'
    return f'stalkeer: error: {setting} must be a folder, but {path} is {what}{hint}'


@pytest.mark.parametrize('kind, make, named', FOLDER_REFUSED, ids=[r[0] for r in FOLDER_REFUSED])
def test_what_a_folder_command_refuses_config_check_names_first_in_its_words(kind, make, named, world, server):
    """A dangling link or a loop at temp_dir passed config --check and failed
    each download ('refusing to follow a symbolic link on the way to …'); at
    archive_dir m3u-download said 'could not archive …: File exists', exit 0;
    a named pipe or a device was called 'a file'; a database folder that was
    none passed the check. Now: one line naming what stands there, exit 2, the
    same from config --check (all settings at once) and from each command,
    nothing downloaded, written or replaced."""
    tmp, _url = world
    worlds = _folder_world(world, server, list(FOLDER_SETTINGS), make)
    before = {setting: kind_of(w[1]) for setting, w in worlds.items()}
    lines = {setting: _refusal(setting, path, named.format(d=targets, p=made))
             for setting, (path, made, _ini, _argv, targets) in worlds.items()}
    files = _written(tmp)
    check = run('--config', tmp / 'all.ini', 'config', '--check', cwd=tmp)
    assert check[0] == 2 and 'Traceback' not in check[2], check
    assert set(lines.values()) <= set(check[2].splitlines()), check[2]
    for setting, (path, made, ini, argv, _targets) in worlds.items():
        code, out, err = run('--config', ini, *argv, cwd=tmp)
        assert code == 2 and err == lines[setting] + '\n', (setting, out, err)
        assert kind_of(made) == before[setting], f'{setting}: what stood there was replaced'
    assert _written(tmp) == files
    assert server.gets('movie.mkv') == [] and server.gets('get.php') == []


def test_the_database_folder_is_not_created(world, server):
    """The SQLite database's folder must exist (role 'exist': a mistyped --db
    leaves no folders behind); `status` said 'folder … does not exist' while
    config --check passed it."""
    tmp, _url = world
    path, _made, ini, argv, _targets = _folder_world(world, server, ['[database] url'], lambda p, d: None)['[database] url']
    line = _refusal('[database] url', path, 'nothing (not found)')
    check = run('--config', ini, 'config', '--check', cwd=tmp)
    assert check[0] == 2 and line in check[2].splitlines(), check
    code, out, err = run('--config', ini, *argv, cwd=tmp)
    assert code == 2 and err == line + '\n', (out, err)
    assert not os.path.lexists(path)


@pytest.mark.parametrize('kind, make', FOLDER_ACCEPTED, ids=[a[0] for a in FOLDER_ACCEPTED])
def test_what_config_check_passes_a_folder_command_takes(kind, make, world, server):
    """A folder, a link to one (followed: the user's folder, as open_folder
    follows the folders down to the library), or nothing yet (created; not the
    database's): `config --check` says ok and each command runs, putting its
    file there; the link stays a link."""
    tmp, _url = world
    settings = ['[downloads] temp_dir', '[m3u] archive_dir'] + ['[database] url'] * (kind != 'nothing yet')
    worlds = _folder_world(world, server, settings, make)
    check = run('--config', tmp / 'all.ini', 'config', '--check', cwd=tmp)
    assert check[0] == 0 and 'config check: ok' in check[1], check
    for setting, (path, _made, ini, argv, _targets) in worlds.items():
        was_link = path.is_symlink()
        code, out, err = run('--config', ini, *argv, cwd=tmp)
        assert code == 0, (setting, out, err)
        assert path.is_symlink() == was_link and path.is_dir()
        if setting == '[downloads] temp_dir':
            assert sha256(tmp / 'dl' / 't.mkv') == sha256(MOVIE)
        elif setting == '[m3u] archive_dir':
            assert [sha256(p) for p in path.iterdir()] == [sha256(PLAYLIST)]
        else:
            assert (path / 's.db').is_file()


@pytest.mark.parametrize('setting, command, make, what', [
    ('[logging] file', ['status'], lambda d: None, 'nothing (not found)'),
    ('[m3u] file_path', ['m3u-download', '--url', 'URL'], lambda d: d.symlink_to(d.parent / 'nowhere'),
     'a symbolic link to {d}/nowhere, which is nothing (a dangling link)'),
])
def test_a_file_settings_folder_is_judged_by_the_folder_rule(setting, command, make, what, world, server):
    """A file not there yet is made in its folder: the log's must exist (the
    log is opened at start-up: 'cannot open log file …: No such file or
    directory', also from config --check), the playlist's is made when missing
    (os.makedirs: 'cannot create …: File exists' for a dangling link, after
    config --check passed it). Now one line from both, nothing fetched."""
    tmp, _url = world
    folder = tmp / 'data' / 'in'
    make(folder)
    key = 'file' if setting == '[logging] file' else 'file_path'
    text = (tmp / 'stalkeer.ini').read_text().replace('file_path = data/playlist.m3u\n', '')
    (tmp / 'stalkeer.ini').write_text(_with(text, f'{setting.split()[0]}\n{key} = {folder}/x\n'))
    line = (f'stalkeer: error: {setting} must be a file, but {folder}/x is out of reach ({folder} on the way '
            f'is {what.format(d=tmp / "data")})')
    options = ['--config', tmp / 'stalkeer.ini', '--db', f'sqlite:///{tmp}/s.db']
    check = run(*options, 'config', '--check', cwd=tmp)
    assert check[0] == 2 and line in check[2].splitlines(), check
    code, out, err = run(*options, *_argv(world, command), cwd=tmp)
    assert code == 2 and err == line + '\n', (out, err)
    assert server.gets('get.php') == [] and not (tmp / 'nowhere').exists() and not (tmp / 'data' / 'nowhere').exists()


@pytest.mark.parametrize('section, key', [('downloads', 'temp_dir'), ('downloads', 'movies_path'),
                                          ('m3u', 'archive_dir'), ('m3u', 'file_path'), ('logging', 'file')])
@pytest.mark.parametrize('quotes', ['""', '\u201c\u201d'], ids=['ascii', 'typographic'])
@pytest.mark.parametrize('origin', ['file', 'environment'])
def test_a_path_key_in_quotes_is_refused_with_the_hint(section, key, quotes, origin, tmp_path):
    """A newcomer re-trial: `temp_dir = "/srv/tmp"` (or the variable with inner
    quotes) passed config --check, and a download created a folder named '"'
    beside the config file. Refused at start and by the check, in one line with
    the quotes hint; nothing is created."""
    value = f'{quotes[0]}{tmp_path}/inq{quotes[1]}'
    env = {}
    body = '[database]\n'
    if origin == 'file':
        body += f'[{section}]\n{key} = {value}\n'
    else:
        env[f'STALKEER_{section.upper()}_{key.upper()}'] = value
    ini = tmp_path / 'q.ini'
    ini.write_text(body, encoding='utf-8')
    where = f'[{section}] {key}' if origin == 'file' else f'STALKEER_{section.upper()}_{key.upper()} (environment)'
    line = f'{where} must be a path without quotes around it, got '
    hint = '(the quotes are part of the value: stalkeer takes a value as written; give it without them)'
    before = sorted(os.listdir(tmp_path))
    for args in (['config', '--check'], ['status']):
        code, out, err = run_stalkeer('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', *args,
                                      env=subprocess_env(**env), cwd=tmp_path)
        said = [x for x in (out + err).splitlines() if line in x]
        assert code == 2 and len(said) == 1 and said[0].endswith(hint), (args, out, err)
    assert sorted(os.listdir(tmp_path)) == before            # no '"' folder, no database


# ---- download DEST -----------------------------------------------------------
# `download URL DEST` makes DEST's folder as [m3u] file_path's is made (file
# rule, role 'write'; its folder by the folder rule): what stands on the way
# is judged at start, in that rule's words. What stands there, made in
# tmp_path: (name, maker, how the folder rule names it).
ON_THE_WAY = [
    ('regular file', lambda p, d: p.write_bytes(b'x') and None, 'a file'),
    ('named pipe', lambda p, d: os.mkfifo(p), 'a named pipe'),
    ('socket', lambda p, d: _socket(p), 'a socket'),
    ('dangling link', lambda p, d: p.symlink_to(d / 'nowhere'),
     'a symbolic link to {d}/nowhere, which is nothing (a dangling link)'),
    ('link loop', lambda p, d: p.symlink_to(p.name), 'a symbolic link that loops (it never leads to a folder)'),
]
# Where it stands: DEST (as given) below tmp/dl, the thing at tmp/dl.
POSITIONS = {
    "DEST's folder": ('dl/t.mkv', 'dl/t.mkv'),
    "above DEST's folder": ('dl/sub/t.mkv', 'dl/sub/t.mkv'),
    'DEST given as a folder': ('dl/', 'dl/movie.mkv'),
}


def _download(world, server, dest, *extra):
    tmp, _url = world
    movie = server.add('movie.mkv', MOVIE)
    return run('--config', tmp / 'stalkeer.ini', '--db', f'sqlite:///{tmp}/s.db', 'download', movie, dest,
               *extra, cwd=tmp)


@pytest.mark.parametrize('position', POSITIONS)
@pytest.mark.parametrize('kind, make, named', ON_THE_WAY, ids=[w[0] for w in ON_THE_WAY])
def test_what_stands_on_the_way_to_dest_is_refused_at_start(kind, make, named, position, world, server):
    """A dangling link or a file on the way to DEST sent the request, then
    stored a give-up ('refusing to follow a symbolic link on the way to …'),
    exit 1. Now one line in the folder rule's words, exit 2, no request, no
    row, and what stood there stays."""
    tmp, _url = world
    given, final = POSITIONS[position]
    make(tmp / 'dl', tmp / 'targets')
    before = kind_of(tmp / 'dl')
    code, out, err = _download(world, server, given)
    line = (f'stalkeer: error: DEST {tmp / final} is out of reach ({tmp / "dl"} on the way is '
            f'{named.format(d=tmp / "targets")})')
    assert code == 2 and out == '' and err == line + '\n', (out, err)
    assert server.gets('movie.mkv') == [] and kind_of(tmp / 'dl') == before
    assert not (tmp / 's.db').exists() and not (tmp / 'targets' / 'nowhere').exists()


@pytest.mark.parametrize('position', POSITIONS)
@pytest.mark.parametrize('kind, make', [('nothing yet', lambda p, d: None),
                                        ('link to a folder', lambda p, d: (d / 'dir').mkdir() or
                                         p.symlink_to(d / 'dir'))], ids=['nothing yet', 'link to a folder'])
def test_what_may_stand_on_the_way_to_dest_is_taken(kind, make, position, world, server):
    """Nothing yet (created) or a link to a folder (the user's own, followed):
    the download completes, byte-exact, and the link stays a link."""
    tmp, _url = world
    given, final = POSITIONS[position]
    make(tmp / 'dl', tmp / 'targets')
    was_link = (tmp / 'dl').is_symlink()
    code, out, err = _download(world, server, given)
    assert code == 0, (out, err)
    assert sha256(tmp / final) == sha256(MOVIE) and (tmp / 'dl').is_symlink() == was_link


# What stands AT DEST: (name, maker, the line's words after 'DEST <path> ').
AT_DEST = [
    ('dangling link', lambda p, d: p.symlink_to(d / 'nowhere'),
     'is a symbolic link to {d}/nowhere, which is nothing (a dangling link): what stands there is never '
     'replaced without --force (give another DEST, or --force to replace the link itself; it is never followed)'),
    ('link loop', lambda p, d: p.symlink_to(p.name),
     'is a symbolic link that loops (it never leads to a file): what stands there is never '
     'replaced without --force (give another DEST, or --force to replace the link itself; it is never followed)'),
    ('regular file', lambda p, d: p.write_bytes(b'mine') and None,
     'exists: an existing file is never replaced without --force (give another DEST, or --force to replace it)'),
    ('named pipe', lambda p, d: os.mkfifo(p),
     'is a named pipe: give a new file name, a folder, or (with --force) a file to replace'),
    ('socket', lambda p, d: _socket(p),
     'is a socket: give a new file name, a folder, or (with --force) a file to replace'),
]


@pytest.mark.parametrize('kind, make, says', AT_DEST, ids=[a[0] for a in AT_DEST])
def test_what_stands_at_dest_is_named_and_force_never_writes_through_a_link(kind, make, says, world, server):
    """A dangling link or a loop at DEST was called 'DEST … exists: an
    existing file …'. Now the line says what stands there; exit 2, no request,
    no row. With --force a link (dangling or a loop) is itself replaced by the
    file (a rename over it): nothing is written where it points. A named pipe
    or a socket is refused --force or not."""
    tmp, _url = world
    (tmp / 'dl').mkdir()
    dest = tmp / 'dl' / 't.mkv'
    make(dest, tmp / 'targets')
    before = kind_of(dest)
    code, out, err = _download(world, server, dest)
    assert code == 2 and out == '' and err == f'stalkeer: error: DEST {dest} {says.format(d=tmp / "targets")}\n', \
        (out, err)
    assert server.gets('movie.mkv') == [] and kind_of(dest) == before
    code, out, err = _download(world, server, dest, '--force')
    if kind in ('named pipe', 'socket'):
        assert code == 2 and kind_of(dest) == before, (out, err)
        return
    assert code == 0, (out, err)
    assert not dest.is_symlink() and sha256(dest) == sha256(MOVIE)
    assert not (tmp / 'targets' / 'nowhere').exists() and os.listdir(tmp / 'targets') == []


# ---- [radarr]/[sonarr] path_map LOCAL ----------------------------------------
@pytest.mark.parametrize('section', ['radarr', 'sonarr'])
@pytest.mark.parametrize('kind, make, named', FOLDER_REFUSED, ids=[r[0] for r in FOLDER_REFUSED])
def test_a_path_map_local_root_is_judged_by_the_folder_rule(kind, make, named, section, world, server):
    """A path_map LOCAL is where the library roots are here: stalkeer makes the
    movie and series folders in it, as in movies_path. Anything but a folder,
    a link to one or nothing yet passed config --check and the start of the
    run, and failed every item. Now one line from both, exit 2, nothing asked."""
    tmp, _url = world
    made = tmp / 'data' / 'lib'
    path = make(made, tmp / 'targets')
    path = path if isinstance(path, os.PathLike) else made
    before = kind_of(made)
    with open(tmp / 'stalkeer.ini', 'a') as fh:
        fh.write(f'[{section}]\nurl = {server.base_url}\napi_key = k\npath_map = /data={path}\n')
    line = _refusal(f'[{section}] path_map LOCAL', path, named.format(d=tmp / 'targets', p=made))
    options = ['--config', tmp / 'stalkeer.ini', '--db', f'sqlite:///{tmp}/s.db']
    check = run(*options, 'config', '--check', cwd=tmp)
    assert check[0] == 2 and line in check[2].splitlines(), check
    code, out, err = run(*options, section, '--dry-run', cwd=tmp)
    assert code == 2 and err == line + '\n', (out, err)
    assert server.requests == [] and kind_of(made) == before


# ---- temp_dir inside a library root -------------------------------------------
# The library roots known from the config: movies_path, tvshows_path, a
# path_map LOCAL. Below one no symbolic link is followed (open_folder), so a
# .part folder reached through one there is refused by the run.
LIBRARY_ROOTS = {
    'movies_path': '[downloads]\nmovies_path = {root}\n',
    'tvshows_path': '[downloads]\ntvshows_path = {root}\n',
    '[radarr] path_map LOCAL': '[radarr]\nurl = http://127.0.0.1:9\napi_key = k\npath_map = /movies={root}\n',
    '[sonarr] path_map LOCAL': '[sonarr]\nurl = http://127.0.0.1:9\napi_key = k\npath_map = /tv={root}\n',
}
# Where the link stands, below the root: (name, temp_dir below the root, the link).
LINKED_TEMP = [
    ('temp_dir is the link', 'link', 'link'),
    ('a link on the way', 'link/tmp', 'link'),
    ('a link deeper on the way', 'sub/link/tmp', 'sub/link'),
]


def _temp_dir_ini(tmp, root_key, root, temp_dir):
    """stalkeer.ini's text with the library root of ``root_key`` and temp_dir."""
    text = (tmp / 'stalkeer.ini').read_text()
    for lines in LIBRARY_ROOTS[root_key].format(root=root).split('\n', 1)[1].splitlines():
        text = _with(text, LIBRARY_ROOTS[root_key].split('\n', 1)[0] + '\n' + lines + '\n')
    return _with(text, f'[downloads]\ntemp_dir = {temp_dir}\n')


@pytest.mark.parametrize('root_key', LIBRARY_ROOTS)
@pytest.mark.parametrize('name, below, linked', LINKED_TEMP, ids=[t[0] for t in LINKED_TEMP])
def test_a_temp_dir_reached_through_a_link_below_a_library_root_is_refused_in_the_runs_words(
        name, below, linked, root_key, world):
    """temp_dir inside a library root with a symbolic link below the root on
    the way passed config --check, and every download of the run failed on it
    (open_folder follows no link below the root). Now config --check and the
    start of a command refuse it in one line holding the run's own words
    (folder_refusal), exit 2; the link and what it leads to stay."""
    import errno
    import stalkeer
    tmp, _url = world
    root = tmp / 'lib'
    (tmp / 'targets' / 'dir').mkdir()
    (root / linked).parent.mkdir(parents=True, exist_ok=True)
    (root / linked).symlink_to(tmp / 'targets' / 'dir')
    temp_dir = root / below
    (tmp / 'stalkeer.ini').write_text(_temp_dir_ini(tmp, root_key, root, temp_dir))
    runs_words = stalkeer.folder_refusal(str(temp_dir), OSError(errno.ELOOP, 'loop'), str(root))
    assert runs_words == f'refusing to follow the symbolic link {root / linked} (below {root})'
    line = (f'stalkeer: error: [downloads] temp_dir must be a folder reached through no symbolic link below '
            f'the library root {root}: {runs_words}')
    options = ['--config', tmp / 'stalkeer.ini', '--db', f'sqlite:///{tmp}/s.db']
    check = run(*options, 'config', '--check', cwd=tmp)
    assert check[0] == 2 and line in check[2].splitlines(), check
    code, out, err = run(*options, 'status', cwd=tmp)
    assert code == 2 and err == line + '\n', (out, err)
    assert (root / linked).is_symlink() and os.listdir(tmp / 'targets' / 'dir') == []


@pytest.mark.parametrize('root_key', LIBRARY_ROOTS)
def test_a_temp_dir_inside_a_library_root_without_a_link_or_linked_from_outside_passes(root_key, world):
    """A plain folder inside the root, or a link outside every root leading
    into one (above the root the user's own links are followed): ok."""
    tmp, _url = world
    root = tmp / 'lib'
    (root / 'tmp').mkdir(parents=True)
    (tmp / 'outside-link').symlink_to(root / 'tmp')
    for temp_dir in (root / 'tmp', root / 'tmp' / 'new', tmp / 'outside-link'):
        ini = tmp / f'{temp_dir.name}.ini'
        ini.write_text(_temp_dir_ini(tmp, root_key, root, temp_dir))
        check = run('--config', ini, '--db', f'sqlite:///{tmp}/s.db', 'config', '--check', cwd=tmp)
        assert check[0] == 0 and 'config check: ok' in check[1], (temp_dir, check)


# ---- the kind, not the words -------------------------------------------------
KINDS = {'folder': 'FOLDER', 'named pipe': 'NAMED_PIPE', 'socket': 'SOCKET', 'device': 'DEVICE',
         'link to a folder': 'FOLDER', 'link to a named pipe': 'NAMED_PIPE', 'link to a socket': 'SOCKET',
         'link to /dev/null': 'DEVICE', 'dangling link': 'DANGLING', 'link loop': 'LOOP'}


@pytest.mark.parametrize('kind, make, named', REFUSED, ids=[r[0] for r in REFUSED])
def test_file_problem_says_the_kind_with_the_phrase(kind, make, named, tmp_path):
    """file_problem returns what stands there as a kind (PathKind) and whether
    a link at the path leads there, with the phrase: the hints branch on those,
    never on their own words (a review nit: `what.endswith('a named pipe')`)."""
    import stalkeer
    (tmp_path / 'targets').mkdir()
    path = tmp_path / 'x'
    make(path, tmp_path / 'targets')
    for role in stalkeer.FILE_ROLES:
        what = stalkeer.file_problem(str(path), role)
        if what is None:
            assert role == 'append' and kind in ('device', 'link to /dev/null')
            continue
        assert what == named.format(d=tmp_path / 'targets')
        assert what.kind == getattr(stalkeer.PathKind, KINDS[kind]) and what.linked == ('link' in kind)
