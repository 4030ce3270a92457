"""Which settings each command uses (COMMAND_PATH_SETTINGS): a wrong path key a
command uses is refused at start (exit 2, one line); one it does not use is a
one-line warning at start and the command runs (trial1 A: `status` exited 2
over a temp_dir that was a named pipe, a setting it never reads)."""
import os
import re

import pytest

import stalkeer
from conftest import ROOT, run_stalkeer

# A wrong value per path key, made in tmp: (section, key, maker, the refusal's words).
WRONG = {
    ('downloads', 'temp_dir'): (lambda p: os.mkfifo(p), 'is a named pipe'),
    ('downloads', 'movies_path'): (lambda p: os.mkfifo(p), 'is a named pipe'),
    ('downloads', 'tvshows_path'): (lambda p: os.mkfifo(p), 'is a named pipe'),
    ('m3u', 'archive_dir'): (lambda p: os.mkfifo(p), 'is a named pipe'),
    ('m3u', 'file_path'): (lambda p: p.mkdir(), 'is a folder'),
}
# Commands (with the arguments they need) that read nothing of the database
# world beyond it, each run against every wrong key.
COMMANDS = {
    'status': [], 'retry': ['--failed'], 'unlock': ['--stale'], 'migrate': [], 'lines': ['x'],
    'cleanup': [], 'm3u-list-archives': [], 'resume-downloads': [],
    'radarr': [], 'sonarr': [], 'process': [], 'download': ['http://127.0.0.1:9/a.mkv', 'out.mkv'],
}


@pytest.mark.parametrize('section, key', WRONG, ids=['/'.join(k) for k in WRONG])
def test_a_wrong_path_is_refused_only_by_the_commands_that_use_it(section, key, tmp_path):
    make, words = WRONG[(section, key)]
    make(tmp_path / 'wrong')
    (tmp_path / 's.ini').write_text(f'[{section}]\n{key} = {tmp_path / "wrong"}\n')
    line = re.compile(rf'\[{section}\] {key} must be a \w+, but {re.escape(str(tmp_path / "wrong"))} {words}')
    for command, extra in COMMANDS.items():
        code, out, err = run_stalkeer('--config', tmp_path / 's.ini', '--db', f'sqlite:///{tmp_path}/s.db',
                                      command, *extra, cwd=tmp_path)
        said = [x for x in err.splitlines() if line.search(x)]
        assert len(said) == 1, (command, out, err)
        if (section, key) in stalkeer.command_path_settings(command):
            assert code == 2 and said[0].startswith('stalkeer: error: '), (command, out, err)
        else:
            # A warning (a command may fail later for its own reasons: no
            # playlist read yet, Radarr not configured), never the error.
            assert not said[0].startswith('stalkeer: error:'), (command, err)
            assert said[0].endswith(f'(ignored: `{command}` does not use it)'), (command, err)


def test_the_table_of_settings_per_command_is_in_the_readme():
    """README says per command which path settings it uses: the same table."""
    readme = (ROOT / 'README.md').read_text()
    section = readme.split('<!-- command settings -->', 2)[1]
    for command, keys in stalkeer.COMMAND_PATH_SETTINGS.items():
        row = next(x for x in section.splitlines() if x.startswith(f'| `{command}` |'))
        assert all(f'`{key}`' in row for _section, key in keys), row
        assert sum(row.count(f'`{k}`') for k in ('temp_dir', 'movies_path', 'tvshows_path', 'file_path',
                                                     'archive_dir')) == len(keys), row


# ---- B: a library root that does not exist and holds an inline comment --------
ROOTS_WITH_COMMENT = {
    'movies_path': ('[downloads]\nmovies_path = {lib}/movies {mark} mine\n', '[downloads] movies_path', 'radarr'),
    'tvshows_path': ('[downloads]\ntvshows_path = {lib}/tv {mark} mine\n', '[downloads] tvshows_path', 'sonarr'),
    'radarr path_map': ('[radarr]\nurl = http://127.0.0.1:9\napi_key = 0123456789abcdef0123456789abcdef\n'
                        'path_map = /data/movies={lib}/movies {mark} mine\n', '[radarr] path_map LOCAL', 'radarr'),
    'sonarr path_map': ('[sonarr]\nurl = http://127.0.0.1:9\napi_key = 0123456789abcdef0123456789abcdef\n'
                        'path_map = /tv={lib}/tv {mark} mine\n', '[sonarr] path_map LOCAL', 'sonarr'),
}


@pytest.mark.parametrize('mark', [';', '#'])
@pytest.mark.parametrize('root', ROOTS_WITH_COMMENT)
def test_a_missing_library_root_with_an_inline_comment_is_refused_with_the_hint_once(root, mark, tmp_path):
    """`path_map = /data/movies=/srv/lib/movies ; mine` made a second library
    tree 'movies ; mine/…' and asked Radarr to rescan a movie outside its
    folder. Now one line with the comment hint, exit 2, from config --check
    and the command that uses it; nothing made."""
    lib = tmp_path / 'lib'
    lib.mkdir()
    text, where, command = ROOTS_WITH_COMMENT[root]
    (tmp_path / 's.ini').write_text(text.format(lib=lib, mark=mark))
    line = f'{where} {lib}/{"movies" if "movies" in text else "tv"} {mark} mine does not exist'
    hint = f"(the '{mark}' and what follows are part of the value"
    for argv in (['config', '--check'], [command]):
        code, out, err = run_stalkeer('--config', tmp_path / 's.ini', '--db', f'sqlite:///{tmp_path}/s.db',
                                      *argv, cwd=tmp_path)
        said = [x for x in err.splitlines() if line in x]
        assert code == 2 and len(said) == 1 and hint in said[0], (argv, out, err)
        assert said[0].startswith('stalkeer: error: ') and (out + err).count(hint) == 1, (argv, out, err)
        assert 'looks like an inline comment' not in out + err, (argv, out, err)
    assert os.listdir(lib) == []


def test_an_existing_library_root_with_a_comment_is_taken_with_one_warning(tmp_path):
    """A folder name may hold ' ; ': an existing one is taken, with the note."""
    (tmp_path / 'my ; movies').mkdir()
    (tmp_path / 's.ini').write_text(f'[downloads]\nmovies_path = {tmp_path}/my ; movies\n')
    code, out, err = run_stalkeer('--config', tmp_path / 's.ini', '--db', f'sqlite:///{tmp_path}/s.db',
                                  'config', '--check', cwd=tmp_path)
    assert code == 0 and 'config check: ok' in out, (out, err)


# ---- C and D: the comment hint once, with the reason of the value's kind ------
@pytest.mark.parametrize('argv, where', [
    (['process', 'pl.m3u ; x'], 'playlist not found'),
    (['download', 'http://127.0.0.1:9/a.mkv', 'afile/x.mkv ; c'], 'DEST'),
    (['--log-file', 'dir/x.log ; c', 'status'], '--log-file'),
])
def test_a_refused_value_with_a_comment_gets_the_hint_once(argv, where, tmp_path):
    """`process 'pl.m3u ; x'` said the hint twice: a warning, then the error."""
    (tmp_path / 'afile').write_text('a file, not a folder')
    (tmp_path / 'dir').write_text('a file, not a folder')
    (tmp_path / 's.ini').write_text('[database]\n')
    code, out, err = run_stalkeer('--config', tmp_path / 's.ini', '--db', f'sqlite:///{tmp_path}/s.db',
                                  *argv, cwd=tmp_path)
    assert code == 2 and len(err.splitlines()) == 1, (out, err)
    assert err.startswith('stalkeer: error: ') and where in err and "(the ';' and what follows" in err, err


@pytest.mark.parametrize('argv, ini, reason', [
    (['--log-file', 'x.log ; c', 'status'], '', "(a file name may hold ' ; ')"),
    (['process', 'pl.m3u ; x', '--dry-run'], '', "(a file name may hold ' ; ')"),
    (['status'], '[downloads]\ntemp_dir = tmp ; c\n', "(a file name may hold ' ; ')"),
    (['status'], '[radarr]\npath_map = /m=/tmp ; c\n', "(a file name may hold ' ; ')"),
    (['status'], '[downloads]\nuser_agent = me ; mine\n', '(a name or a pattern may hold ; or #)'),
])
def test_the_comment_warning_gives_the_reason_of_the_kind_of_value(argv, ini, reason, tmp_path):
    (tmp_path / 'pl.m3u ; x').write_text('#EXTM3U\n')
    (tmp_path / 's.ini').write_text('[database]\n' + ini)
    code, out, err = run_stalkeer('--config', tmp_path / 's.ini', '--db', f'sqlite:///{tmp_path}/s.db',
                                  *argv, cwd=tmp_path)
    notes = [x for x in err.splitlines() if 'looks like an inline comment' in x]
    assert len(notes) == 1 and reason in notes[0] and 'password' not in notes[0], (out, err)
    assert err.splitlines()[0] == notes[0], err          # at start


def test_the_secret_reason_stays_on_a_secret_value():
    assert '(a password may hold ; or #)' in stalkeer.inline_comment_note(
        '--db', ';', False, stalkeer.comment_value_kind(None, None, '--db', 'postgresql://u:p;x@h/d'))
    assert stalkeer.comment_value_kind('m3u', 'url') == 'secret'


# ---- E: one example database URL -----------------------------------------------
@pytest.mark.parametrize('db', ['', 'not a url', 'mysql://h/d'])
def test_every_database_url_error_gives_the_same_examples(db, tmp_path):
    (tmp_path / 's.ini').write_text(f'[database]\nurl = {db}\n')
    code, out, err = run_stalkeer('--config', tmp_path / 's.ini', 'status', cwd=tmp_path)
    shown = stalkeer.redact(stalkeer.DATABASE_URL_EXAMPLES)
    assert code == 2 and err.rstrip('\n').endswith(f'use {shown}'), err


# ---- F: a path_map in quotes ---------------------------------------------------
def test_a_path_map_in_quotes_is_said_to_be_in_quotes(tmp_path):
    (tmp_path / 's.ini').write_text('[radarr]\npath_map = "/data/movies=/mnt/movies"\n'
                                    '[sonarr]\npath_map = /tv=/mnt/tv\n  \u201c/a=/mnt/a\u201d\n')
    code, out, err = run_stalkeer('--config', tmp_path / 's.ini', 'config', '--check', cwd=tmp_path)
    assert code == 2
    assert ('[radarr] path_map: the whole value is in quotes, got \'"/data/movies=/mnt/movies"\'; expected '
            'REMOTE=LOCAL (the quotes are part of the value') in err, err
    assert '[sonarr] path_map: the whole line is in quotes' in err and 'REMOTE must be' not in err, err
