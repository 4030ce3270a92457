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
