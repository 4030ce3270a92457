"""The "may not read / may not write" branch of every path rule, run for real:
stalkeer as an unprivileged user (nobody), since root passes every mode bit and
the rest of the suite runs as root. Table-driven over (setting x what the user
may not do there x command), each a real subprocess: one line naming what is
wrong and the setting, exit 2, no traceback, nothing created, and the same
words from `config --check` as from the command (or, for a download into a
library folder it may not write, the item fails with one line and the run
goes on)."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, SHARED, sha256, subprocess_env

PLAYLIST = (SHARED / 'playlists' / 'germainlefebvre4-Stalkeer__sample.m3u').read_bytes()
MOVIE = b'\x1aE\xdf\xa3' + b'm' * 4000
TIMEOUT = 60
# Packages stalkeer imports at start or for SQLite and HTTP (copied where the
# unprivileged user can read them when the interpreter's own are out of its reach).
PACKAGES = ('peewee.py', 'playhouse', 'requests', 'urllib3', 'idna', 'charset_normalizer', 'certifi')


def _user():
    """(uid, gid) of the user to drop to, or skip saying why."""
    if os.geteuid() != 0:
        pytest.skip('dropping to an unprivileged user needs root (as non-root the mode bits hold already)')
    try:
        entry = pwd.getpwnam('nobody')
    except KeyError:
        pytest.skip('no user "nobody" to drop to')
    return entry.pw_uid, entry.pw_gid


def _runs_as_user(uid, gid, argv, env=None):
    """Whether ``argv`` runs, and exits 0, as the user."""
    try:
        return subprocess.run(argv, user=uid, group=gid, extra_groups=[], env=env, capture_output=True,
                              timeout=TIMEOUT, cwd='/').returncode == 0
    except OSError:         # the interpreter itself is out of its reach
        return False


@pytest.fixture(scope='module')
def base():
    """A 0755 folder under /tmp the unprivileged user reaches (pytest's tmp_path
    is below /tmp/pytest-of-root, 0700), holding an interpreter setup it can
    run: (uid, gid, base, python argv prefix, PYTHONPATH or None)."""
    uid, gid = _user()
    top = Path(tempfile.mkdtemp(prefix='stalkeer-perms-', dir='/tmp'))
    try:
        top.chmod(0o755)
        python, pythonpath = sys.executable, None
        probe = [python, '-c', 'import peewee, requests']
        if not _runs_as_user(uid, gid, probe):
            # The interpreter is out of the user's reach (pyenv under /root,
            # 0700): the system's one of the same version, with copies of the
            # packages stalkeer needs.
            python = f'/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}'
            site = top / 'site'
            site.mkdir()
            packages = Path(__import__('peewee').__file__).parent
            for name in PACKAGES:
                (shutil.copy2 if name.endswith('.py') else shutil.copytree)(packages / name, site / name)
            for compiled in packages.glob('*__mypyc*'):      # charset_normalizer's compiled helpers
                shutil.copy2(compiled, site / compiled.name)
            for path in [site, *site.rglob('*')]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            pythonpath = str(site)
            if not _runs_as_user(uid, gid, [python, '-c', 'import peewee, requests'], env={'PYTHONPATH': pythonpath}):
                pytest.skip(f'no interpreter the user "nobody" may run ({sys.executable} is out of its reach, '
                            f'{python} cannot import the copied packages)')
        # The script too: a clone may lie below a folder the user cannot reach
        # (CI clones into a `mktemp -d`, 0700).
        shutil.copy2(ROOT / 'stalkeer.py', top / 'stalkeer.py')
        (top / 'stalkeer.py').chmod(0o644)
        yield uid, gid, top, python, pythonpath
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def home(base, request):
    """A fresh folder of the user's own below ``base`` (cleaned afterwards)."""
    uid, gid, top, _python, _path = base
    home = Path(tempfile.mkdtemp(dir=top))
    os.chown(home, uid, gid)
    home.chmod(0o755)
    yield home
    for path in [home, *home.rglob('*')]:       # a 0000 folder stops rmtree
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(home, ignore_errors=True)


def run(base, *argv, cwd, **env):
    """(exit code, stdout, stderr) of ``python3 stalkeer.py ARGV`` run as the
    unprivileged user in ``cwd``."""
    uid, gid, top, python, pythonpath = base
    environment = subprocess_env(**env)
    environment['HOME'] = str(cwd)
    if pythonpath:
        environment['PYTHONPATH'] = pythonpath
    proc = subprocess.run([python, str(top / 'stalkeer.py'), *map(str, argv)], user=uid, group=gid,
                          extra_groups=[], env=environment, cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr


def own(uid, gid, *paths):
    for path in paths:
        os.chown(path, uid, gid, follow_symlinks=False)


def _tree(folder):
    """Every path below ``folder`` the test may look at (as root), to see that
    nothing was created."""
    return sorted(str(p) for p in Path(folder).rglob('*'))


@pytest.fixture
def world(base, home, server):
    """The user's folder with stalkeer.ini (playlist URL, no archive, no
    panel), a playlist, a provider file, and data/ for the path under test:
    (home, ini, the playlist URL, the movie URL)."""
    uid, gid = base[0], base[1]
    url = server.add('get.php', PLAYLIST, content_type='audio/x-mpegurl')
    movie = server.add('movie.mkv', MOVIE)
    ini = home / 'stalkeer.ini'
    ini.write_text(f'[m3u]\nurl = {url}\nfile_path = data/playlist.m3u\narchive_dir =\n'
                   '[xtream]\nenabled = false\n[downloads]\nretry_backoff_seconds = 0.01\n')
    (home / 'good.m3u').write_bytes(PLAYLIST)
    (home / 'data').mkdir()
    own(uid, gid, ini, home / 'good.m3u', home / 'data')
    return home, ini, url, movie


def _make(base, path, mode, *, child=None, file=False):
    """``path`` (a file when ``file``, else a folder) owned by the user with
    ``mode``; ``child`` made inside it first (a file or a folder, 'file' or
    'folder'), so it stands below a folder it may then not reach."""
    uid, gid = base[0], base[1]
    if file:
        path.write_bytes(b'')
    else:
        path.mkdir()
    if child == 'file':
        (path / 'f').write_bytes(b'')
        own(uid, gid, path / 'f')
    elif child == 'folder':
        (path / 'sub').mkdir()
        own(uid, gid, path / 'sub')
    own(uid, gid, path)
    path.chmod(mode)


NO_CREATE = '{x} on the way is a folder it may not create files in (permission denied)'
NO_LOOK = '{x} on the way is a folder it may not look into (permission denied)'

# What the user may not do at a configured FILE: (name, how to make it at x,
# the path configured, what each role's refusal calls it; None: the role
# takes it). Roles: 'write' ([m3u] file_path, the SQLite file: read and write
# it, or replace it through a new file beside it), 'append' (the log).
FILE_CASES = [
    ('a file it may not read', lambda b, x: _make(b, x, 0o200, file=True), '{x}',
     {'write': 'a file it may not read (permission denied)', 'append': None}),
    ('a file it may not write', lambda b, x: _make(b, x, 0o444, file=True), '{x}',
     {'write': 'a file it may not write (permission denied)',
      'append': 'a file it may not write (permission denied)'}),
    ('a file in a folder it may not create files in', lambda b, x: _make(b, x, 0o555, child='file'), '{x}/f',
     {'write': 'a file in {x}, a folder it may not create files in (permission denied)', 'append': None}),
    ('nothing yet in a folder it may not create files in', lambda b, x: _make(b, x, 0o555), '{x}/f',
     {'write': f'out of reach ({NO_CREATE})', 'append': f'out of reach ({NO_CREATE})'}),
    ('a file below a folder it may not look into', lambda b, x: _make(b, x, 0o666, child='file'), '{x}/f',
     {'write': f'out of reach ({NO_LOOK})', 'append': f'out of reach ({NO_LOOK})'}),
]

# Each file setting: its role, the options or ini lines naming {path}, the
# commands that use it.
FILE_SETTINGS = {
    '[m3u] file_path': ('write', [], '[m3u]\nfile_path = {path}\n',
                        [['m3u-download', '--url', 'URL'], ['process', '--download']]),
    '[logging] file': ('append', [], '[logging]\nfile = {path}\n', [['status'], ['process', 'GOOD']]),
    '--log-file': ('append', ['--log-file', '{path}'], '', [['status']]),
    '--db': ('write', ['--db', 'sqlite:///{path}'], '', [['status'], ['process', 'GOOD']]),
}


def _with(text, lines):
    """ini ``text`` with ``lines`` ('[section]\\nkey = value\\n') in their
    section, replacing the key when set there."""
    if not lines:
        return text
    header, line = lines.split('\n', 1)
    key = line.split('=')[0].strip()
    kept, section = [], None
    for x in text.splitlines():
        section = x if x.startswith('[') else section
        if not (section == header and x.split('=')[0].strip() == key):
            kept.append(x)
    text = '\n'.join(kept) + '\n'
    if header + '\n' not in text:
        text += header + '\n'
    return text.replace(header + '\n', header + '\n' + line, 1)


def _argv(world, command):
    home, _ini, url, movie = world
    return [url if a == 'URL' else movie if a == 'MOVIE' else home / 'good.m3u' if a == 'GOOD' else a
            for a in command]


def _file_refusal(setting, path, what):
    if setting == '--db' and 'folder' in what:
        # The database's folder is judged first, in open_database's words
        # (role 'exist': a folder to create files in, the journal and the lock).
        return (f'stalkeer: error: cannot open database {path}: its folder {os.path.dirname(path)} is '
                'a folder it may not create files in (permission denied)')
    return f'stalkeer: error: {setting} must be a file, but {path} is {what}'


@pytest.mark.parametrize('kind, make, at, named', FILE_CASES, ids=[c[0] for c in FILE_CASES])
@pytest.mark.parametrize('setting', list(FILE_SETTINGS))
def test_a_file_the_user_may_not_use_is_named_by_config_check_and_every_command(setting, kind, make, at,
                                                                                 named, base, world, server):
    """As root every mode bit passes, so the rule's permission branch never
    ran: a log or a database the user may not write, a database it may not
    read, a playlist it may not replace passed `config --check`; the command
    then said 'cannot open log file …: Permission denied', 'attempt to write
    a readonly database', or failed after downloading ('cannot write
    ….stalkeer-download'); a folder it may not look into was 'out of reach
    (Permission denied)', naming no folder. Now one line naming the setting
    and what it may not do, exit 2, the same from `config --check`, no
    traceback, nothing created; what the role takes (a log it may not read,
    in a folder it may not write) runs."""
    home, ini, _url, _movie = world
    role, options, lines, commands = FILE_SETTINGS[setting]
    x = home / 'data' / 'x'
    make(base, x)
    path = at.format(x=x)
    what = named[role]
    ini.write_text(_with(ini.read_text(), lines.format(path=path)))
    db = [] if setting == '--db' else ['--db', f'sqlite:///{home}/s.db']
    options = [*db, *(o.format(path=path) for o in options)]
    before = _tree(home)
    check = run(base, '--config', ini, *options, 'config', '--check', cwd=home)
    assert 'Traceback' not in check[2], check
    if what is None:
        assert check[0] == 0 and 'config check: ok' in check[1], check
        for command in commands:
            code, out, err = run(base, '--config', ini, *options, *_argv(world, command), cwd=home)
            assert code == 0 and 'Traceback' not in err, (command, out, err)
        return
    line = _file_refusal(setting, path, what.format(x=x))
    assert check[0] == 2 and line in check[2].splitlines(), (line, check)
    for command in commands:
        code, out, err = run(base, '--config', ini, *options, *_argv(world, command), cwd=home)
        assert code == 2 and err == line + '\n', (command, out, err)
    assert _tree(home) == before, 'something was created'
    assert server.gets('get.php') == []


def test_a_playlist_the_user_may_not_read_is_refused_by_process(base, world):
    """`process PLAYLIST` reads by the read rule: a file it may not read, or
    one below a folder it may not look into, is one line, exit 2."""
    home, ini, _url, _movie = world
    _make(base, home / 'data' / 'p', 0o200, file=True)
    _make(base, home / 'data' / 'x', 0o666, child='file')
    for path, what in [(home / 'data' / 'p', 'a file it may not read (permission denied)'),
                       (home / 'data' / 'x' / 'f', f'out of reach ({NO_LOOK.format(x=home / "data" / "x")})')]:
        code, out, err = run(base, '--config', ini, '--db', f'sqlite:///{home}/s.db', 'process', path, cwd=home)
        assert code == 2 and err == f'stalkeer: error: PLAYLIST must be a file, but {path} is {what}\n', (out, err)
    assert not (home / 's.db').exists()


# What the user may not do at a configured FOLDER: (name, how to make it at x,
# the path configured, the refusal).
FOLDER_CASES = [
    ('a folder it may not write', lambda b, x: _make(b, x, 0o555), '{x}',
     'a folder it may not create files in (permission denied)'),
    ('a folder it may not look into', lambda b, x: _make(b, x, 0o666), '{x}',
     'a folder it may not create files in (permission denied)'),
    ('nothing yet in a folder it may not write', lambda b, x: _make(b, x, 0o555), '{x}/sub',
     f'out of reach ({NO_CREATE})'),
    ('a folder below one it may not look into', lambda b, x: _make(b, x, 0o666, child='folder'), '{x}/sub',
     f'out of reach ({NO_LOOK})'),
]
FOLDER_SETTINGS = {
    '[downloads] temp_dir': ('[downloads]\ntemp_dir = {path}\n', ['download', 'MOVIE', 'dl/t.mkv']),
    '[m3u] archive_dir': ('[m3u]\narchive_dir = {path}\n', ['m3u-download', '--url', 'URL']),
    # A command that uses it (COMMAND_PATH_SETTINGS): `status` only warns.
    '[downloads] movies_path': ('[downloads]\nmovies_path = {path}\n', ['resume-downloads']),
    '[downloads] tvshows_path': ('[downloads]\ntvshows_path = {path}\n', ['resume-downloads']),
    '[database] url': ('[database]\nurl = sqlite:///{path}/s.db\n', ['status']),
}


@pytest.mark.parametrize('kind, make, at, named', FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
@pytest.mark.parametrize('setting', list(FOLDER_SETTINGS))
def test_a_folder_the_user_may_not_use_is_named_by_config_check_and_every_command(setting, kind, make, at,
                                                                                   named, base, world, server):
    """A folder it may not create files in, or one below a folder it may not
    look into (which said 'out of reach (Permission denied)', naming no
    folder): one line naming the setting, exit 2, the same from `config
    --check`, no traceback, nothing created or fetched."""
    home, ini, _url, _movie = world
    lines, command = FOLDER_SETTINGS[setting]
    x = home / 'data' / 'x'
    make(base, x)
    path = at.format(x=x)
    what = named.format(x=x)
    ini.write_text(_with(ini.read_text(), lines.format(path=path)))
    options = [] if setting == '[database] url' else ['--db', f'sqlite:///{home}/s.db']
    if setting == '[database] url':
        line = f'stalkeer: error: cannot open database {path}/s.db: its folder {path} is {what}'
    else:
        line = f'stalkeer: error: {setting} must be a folder, but {path} is {what}'
    before = _tree(home)
    check = run(base, '--config', ini, *options, 'config', '--check', cwd=home)
    assert check[0] == 2 and 'Traceback' not in check[2] and line in check[2].splitlines(), (line, check)
    code, out, err = run(base, '--config', ini, *options, *_argv(world, command), cwd=home)
    assert code == 2 and err == line + '\n', (out, err)
    assert _tree(home) == before, 'something was created'
    assert server.gets('get.php') == [] and server.gets('movie.mkv') == []


@pytest.mark.parametrize('kind, make, dest, named', [
    ('in a folder it may not write', lambda b, x: _make(b, x, 0o555), '{x}/t.mkv', NO_CREATE),
    ('in a missing folder below one it may not write', lambda b, x: _make(b, x, 0o555), '{x}/sub/t.mkv',
     NO_CREATE),
    ('below a folder it may not look into', lambda b, x: _make(b, x, 0o666, child='folder'), '{x}/sub/t.mkv',
     NO_LOOK),
], ids=['in a folder it may not write', 'in a missing folder below one it may not write',
        'below a folder it may not look into'])
def test_a_download_dest_the_user_may_not_create_is_refused_before_any_request(kind, make, dest, named,
                                                                                base, world, server):
    """`download URL DEST` into a folder the user may not create files in
    stored a row, fetched nothing and failed ('cannot open ….part: Permission
    denied', exit 1, for `retry`); below a folder it may not look into it
    said nothing on stderr. DEST's folder is judged by the folder rule: one
    line naming the folder and the permission, exit 2, no request, no row
    (no database)."""
    home, ini, _url, movie = world
    x = home / 'data' / 'x'
    make(base, x)
    path = dest.format(x=x)
    line = f'stalkeer: error: DEST {path} is out of reach ({named.format(x=x)})'
    before = _tree(home)
    code, out, err = run(base, '--config', ini, '--db', f'sqlite:///{home}/s.db', 'download', movie, path,
                         cwd=home)
    assert code == 2 and err == line + '\n', (out, err)
    assert _tree(home) == before and server.gets('movie.mkv') == []


def test_an_import_lock_the_user_may_not_open_is_named_by_config_check_and_process(base, world):
    """A lock a root run left (root's, 0644): `config --check` said ok while
    `process` refused it. Now both name it, in the open's words."""
    home, ini, _url, _movie = world
    lock = home / 's.db-import.lock'
    lock.write_bytes(b'')
    lock.chmod(0o644)                       # root's: the user may read it, not open it to lock
    message = (f'cannot use the import lock {lock} (Permission denied); remove what is there if it is not '
               'a file stalkeer created')
    options = ['--config', ini, '--db', f'sqlite:///{home}/s.db']
    check = run(base, *options, 'config', '--check', cwd=home)
    assert check[0] == 2 and f'stalkeer: error: imports cannot run: {message}' in check[2].splitlines(), check
    code, out, err = run(base, *options, 'process', home / 'good.m3u', cwd=home)
    assert code == 2 and err.splitlines()[-1] == f'stalkeer: error: {message}' and 'Traceback' not in err, \
        (out, err)


@pytest.mark.parametrize('service', ['radarr', 'sonarr'])
def test_a_library_folder_the_user_may_not_write_fails_that_item_and_the_run_goes_on(service, base, home,
                                                                                    server):
    """Radarr/Sonarr give a movie or series folder inside the library that the
    user may not create files in (another holder's, 0555): that item fails
    with one line naming the folder and the permission in the folder rule's
    words (it said 'cannot open ….part: Permission denied', for a series
    folder naming a 'Season 01' that was never made), the next one
    downloads byte for byte, exit 1, no traceback, nothing written in the
    refused folder."""
    from fakearr import FakeArr
    uid, gid = base[0], base[1]
    app = FakeArr(service)
    try:
        lib = home / 'lib'
        root = lib / ('movies' if service == 'radarr' else 'tv')
        data = {'Heat': MOVIE + b'h', 'Alien': MOVIE + b'a'}
        urls = {name: server.add(f'{name}.mkv', body) for name, body in data.items()}
        if service == 'radarr':
            app.add_movie('Heat', 1995, path='/movies/Heat (1995)')
            app.add_movie('Alien', 1979, path='/movies/Alien (1979)')
            titles = {name: f'{name} ({year})' for name, year in (('Heat', 1995), ('Alien', 1979))}
            mapping = f'/movies={root}'
        else:
            for name in data:
                show = app.add_series(name, 2001, path=f'/tv/{name}')
                app.add_episode(show['id'], 1, 1)
            titles = {name: f'{name} S01 E01' for name in data}
            mapping = f'/tv={root}'
        refused = root / ('Heat (1995)' if service == 'radarr' else 'Heat')
        root.mkdir(parents=True)
        own(uid, gid, lib, root)
        _make(base, refused, 0o555)
        playlist = home / 'playlist.m3u'
        group = 'Movies' if service == 'radarr' else 'Series'
        playlist.write_text('#EXTM3U\n' + ''.join(f'#EXTINF:-1 group-title="{group}",{titles[n]}\n{urls[n]}\n'
                                                  for n in data), encoding='utf-8')
        ini = home / 'stalkeer.ini'
        ini.write_text(f'[database]\nurl = sqlite:///stalkeer.db\n[m3u]\nfile_path = {playlist}\narchive_dir =\n'
                       '[xtream]\nenabled = false\n[downloads]\nmin_free_space_mb = 0\nretry_attempts = 1\n'
                       f'retry_backoff_seconds = 0.01\n[{service}]\nurl = {app.base_url}\n'
                       f'api_key = {app.api_key}\npath_map = {mapping}\n', encoding='utf-8')
        own(uid, gid, playlist, ini)
        check = run(base, '--config', ini, 'config', '--check', cwd=home)
        assert check[0] == 0, check
        assert run(base, '--config', ini, 'process', cwd=home)[0] == 0
        code, out, err = run(base, '--config', ini, service, cwd=home)
        assert code == 1 and 'Traceback' not in err, (out, err)
        failed = [line for line in out.splitlines() if line.startswith('failed:')]
        folder = refused if service == 'radarr' else refused / 'Season 01'
        named = ('a folder it may not create files in (permission denied)' if service == 'radarr' else
                 f'out of reach ({refused} on the way is a folder it may not create files in (permission denied))')
        assert len(failed) == 1 and f': {folder} is {named} — no retry can fix this: once it is put right, ' \
            'run `stalkeer retry ' in failed[0], (out, err)
        assert list(refused.iterdir()) == []
        done = [p for p in root.rglob('*.mkv')]
        assert len(done) == 1 and sha256(done[0]) == sha256(data['Alien']), (out, err)
    finally:
        app.close()


@pytest.mark.parametrize('kind, make, at, named', FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
@pytest.mark.parametrize('service', ['radarr', 'sonarr'])
def test_a_path_map_folder_the_user_may_not_use_is_named_by_config_check_and_the_command(service, kind, make, at,
                                                                                          named, base, world):
    """path_map's LOCAL is the library root downloads create folders in, as
    movies_path is, but was never judged: a root the user may not write
    passed `config --check` and failed every item it mapped ('cannot open
    ….part: Permission denied'). Now one line naming the setting, exit 2,
    the same from both, before the app is asked."""
    from fakearr import FakeArr
    home, ini, _url, _movie = world
    x = home / 'data' / 'x'
    make(base, x)
    path = at.format(x=x)
    app = FakeArr(service)
    try:
        ini.write_text(_with(ini.read_text(), f'[{service}]\nurl = {app.base_url}\n')
                       + f'api_key = {app.api_key}\npath_map = /media={path}\n')
        line = (f'stalkeer: error: [{service}] path_map LOCAL must be a folder, but {path} is '
                f'{named.format(x=x)}')
        options = ['--config', ini, '--db', f'sqlite:///{home}/s.db']
        before = _tree(home)
        check = run(base, *options, 'config', '--check', cwd=home)
        assert check[0] == 2 and 'Traceback' not in check[2] and line in check[2].splitlines(), (line, check)
        code, out, err = run(base, *options, service, cwd=home)
        assert code == 2 and err == line + '\n', (out, err)
        assert _tree(home) == before and app.requests == []
    finally:
        app.close()
