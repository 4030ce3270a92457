"""A value gets the same judgement and hint whoever gave it (a key of the file,
a STALKEER_* variable, DATABASE_URL, an option or argument) and whatever key
it is (a path, a secret): tables over origins x keys."""
import os

import pytest

from fakearr import FakeArr

QUOTES_HINT = '(the quotes are part of the value: stalkeer takes a value as written; give it without them)'


def _ini(tmp_path, body=''):
    ini = tmp_path / 'c.ini'
    ini.write_text('[database]\n' + body, encoding='utf-8')
    return ini


# (what the error calls it, how it is given: a function of (tmp_path, value) ->
# (argv, env)). Every origin of a path the user writes.
_PATH_ORIGINS = {
    '--config': lambda t, v: (['--config', v, '--db', f'sqlite:///{t}/s.db', 'status'], {}),
    'STALKEER_CONFIG (environment)': lambda t, v: (['--db', f'sqlite:///{t}/s.db', 'status'],
                                                   {'STALKEER_CONFIG': v}),
    '--log-file': lambda t, v: (['--config', _ini(t), '--db', f'sqlite:///{t}/s.db', '--log-file', v,
                                 'status'], {}),
    'PLAYLIST': lambda t, v: (['--config', _ini(t), '--db', f'sqlite:///{t}/s.db', 'process', v], {}),
    'DEST': lambda t, v: (['--config', _ini(t), '--db', f'sqlite:///{t}/s.db', 'download',
                           'http://127.0.0.1:9/a.mkv', v], {}),
    '--db: the sqlite file': lambda t, v: (['--config', _ini(t), '--db', f'sqlite:///{v}', 'status'], {}),
    'DATABASE_URL: the sqlite file': lambda t, v: (['--config', _ini(t), 'status'],
                                                   {'DATABASE_URL': f'sqlite:///{v}'}),
    'STALKEER_DATABASE_URL (environment): the sqlite file': lambda t, v: (
        ['--config', _ini(t), 'status'], {'STALKEER_DATABASE_URL': f'sqlite:///{v}'}),
    '[database] url: the sqlite file': lambda t, v: (
        ['--config', _ini(t, f'url = sqlite:///{v}\n'), 'status'], {}),
    'STALKEER_LOGGING_FILE (environment)': lambda t, v: (
        ['--config', _ini(t), '--db', f'sqlite:///{t}/s.db', 'status'], {'STALKEER_LOGGING_FILE': v}),
    # process uses file_path (COMMAND_PATH_SETTINGS); status would only warn.
    '[m3u] file_path': lambda t, v: (
        ['--config', _ini(t, f'[m3u]\nfile_path = {v}\n'), '--db', f'sqlite:///{t}/s.db', 'process'], {}),
}


@pytest.mark.parametrize('where, command', [(where, command) for where in _PATH_ORIGINS
                                             for command in ('run', 'check')
                                             if command == 'run' or where not in ('PLAYLIST', 'DEST')])
@pytest.mark.parametrize('quotes', ['""', "''", '\u201c\u201d'], ids=['double', 'single', 'typographic'])
def test_a_path_in_quotes_is_refused_in_one_line_whoever_gave_it(where, quotes, command, tmp_path,
                                                                 monkeypatch, cli):
    """`--log-file '"x.log"'` created a file named '"x.log"' (and, below a
    missing folder, said an 'out of reach' line with one quote of the pair);
    `--config`, PLAYLIST, DEST, $STALKEER_CONFIG and an sqlite file in quotes
    were read or created as named, where a path key in quotes is refused. Now
    each is refused at start in one line naming it, with the quotes hint, exit
    2, nothing created: even when a file of that name exists."""
    name = f'{quotes[0]}x.db{quotes[1]}' if 'sqlite' in where else f'{quotes[0]}x{quotes[1]}'
    (tmp_path / name).write_text('#EXTM3U\n', encoding='utf-8')      # there: read, were it not refused
    argv, env = _PATH_ORIGINS[where](tmp_path, name)
    if command == 'check':          # PLAYLIST and DEST are no argument of `config`
        argv = argv[:-1] + ['config', '--check']
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    before = sorted(os.listdir(tmp_path))
    code, out, err = cli(*argv)
    line = f'stalkeer: error: {where} must be a path without quotes around it, got {name!r} {QUOTES_HINT}'
    assert code == 2 and line in err.splitlines(), (out, err)
    assert len(err.splitlines()) == 1 or command == 'check', err
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize('origin', ['--log-file', 'STALKEER_LOGGING_FILE'])
def test_a_quoted_path_below_a_missing_folder_says_the_quotes_not_out_of_reach(origin, tmp_path,
                                                                             monkeypatch, cli):
    """The reported line: `--log-file '"/srv/nodir/x.log"'` said `… is out of
    reach ("/srv/nodir on the way is nothing …)`, one quote of the pair."""
    value = f'"{tmp_path}/nodir/x.log"'
    argv = ['--config', _ini(tmp_path), '--db', f'sqlite:///{tmp_path}/s.db', 'status']
    if origin == '--log-file':
        argv[:0] = ['--log-file', value]
        where = '--log-file'
    else:
        monkeypatch.setenv(origin, value)
        where = f'{origin} (environment)'
    code, out, err = cli(*argv)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f'stalkeer: error: {where} must be a path without quotes around it, got \'"/'), err
    assert err.endswith(f"' {QUOTES_HINT}\n"), err        # the path clipped, as any value
    assert 'out of reach' not in err and not (tmp_path / 'nodir').exists()


_SECRET = 'Zq7Secret9Value'          # never in any output
_API_KEY = '0123456789abcdef0123456789abcdef'
_SECRET_KEYS = [('radarr', 'api_key'), ('sonarr', 'api_key'), ('xtream', 'username'),
                ('xtream', 'password'), ('serve', 'token')]


def _secret_value(key, form):
    plain = _API_KEY if key == 'api_key' else f'p;{_SECRET}#x'
    return {'quoted': f'"{plain}"', 'typographic': f'\u201c{plain}\u201d', 'comment': f'{plain} ; mine',
            'hash': f'{plain} # mine', 'one quote': f'"{plain}', 'plain': plain}[form]


@pytest.mark.parametrize('section, key', _SECRET_KEYS, ids=['.'.join(k) for k in _SECRET_KEYS])
@pytest.mark.parametrize('form', ['quoted', 'typographic', 'comment', 'hash', 'one quote', 'plain'])
@pytest.mark.parametrize('origin', ['file', 'environment'])
def test_a_secret_key_is_named_for_its_quotes_or_comment_never_shown(section, key, form, origin,
                                                                     tmp_path, monkeypatch, cli, db_url):
    """A secret key in quotes, or an API key followed by an inline comment, got
    no hint at all (the secret keys were left out of the hints: a password may
    hold ';' or '#'). Now `config --check` notes it and every command warns of
    it, naming the key only: quotes around any secret, a comment after an API
    key (32 hex digits, no space); a password's or token's comment, or one
    quote, is not named. The value is never shown."""
    value = _secret_value(key, form)
    body = f'[{section}]\n{key} = {value}\n' if origin == 'file' else ''
    if origin == 'environment':
        monkeypatch.setenv(f'STALKEER_{section}_{key}'.upper(), value)
    ini = _ini(tmp_path, body)
    where = f'[{section}] {key}' if origin == 'file' else f'STALKEER_{section}_{key} (environment)'.upper()
    where = where.replace(' (ENVIRONMENT)', ' (environment)')
    log = tmp_path / 'l.log'
    named = form in ('quoted', 'typographic') or (key == 'api_key' and form in ('comment', 'hash'))
    if form in ('quoted', 'typographic'):
        note = f'{where} starts and ends with a quote: stalkeer takes a value as written; remove the quotes'
    else:
        mark = ';' if form == 'comment' else '#'
        note = f'{where} holds {mark!r} after a space, which looks like an inline comment: an API key holds ' \
               'no space, and stalkeer reads no comment after a value; put it on a line of its own'
    said = ''
    for command in (['config', '--check'], ['status']):
        code, out, err = cli('--config', ini, '--db', db_url, '--log-file', log, *command)
        said += out + err
        lines = [x for x in (out + err).splitlines() if where in x]
        if named:
            assert any(x.endswith(note) or f'({note})' in x for x in lines), (command, out, err)
        else:
            assert not any('quote' in x or 'comment' in x for x in lines), (command, out, err)
    said += log.read_text(encoding='utf-8')
    assert _SECRET not in said and _API_KEY not in said and 'p;' not in said


@pytest.mark.parametrize('app', ['radarr', 'sonarr'])
@pytest.mark.parametrize('form', ['quoted', 'comment'])
@pytest.mark.parametrize('origin', ['file', 'environment'])
def test_a_rejected_api_key_says_what_is_wrong_with_it(app, form, origin, tmp_path, monkeypatch, cli, db_url):
    """Radarr's 401 for a key pasted in its quotes, or with a comment after it,
    said only "rejected the API key": now the note follows, the key never shown."""
    value = _secret_value('api_key', form)
    with FakeArr(app, api_key=_API_KEY) as arr:
        body = f'[{app}]\nurl = {arr.base_url}\n'
        if origin == 'file':
            body += f'api_key = {value}\n'
            where = f'[{app}] api_key'
        else:
            monkeypatch.setenv(f'STALKEER_{app.upper()}_API_KEY', value)
            where = f'STALKEER_{app.upper()}_API_KEY (environment)'
        ini = _ini(tmp_path, body)
        log = tmp_path / 'l.log'
        code, out, err = cli('--config', ini, '--db', db_url, '--log-file', log, app)
    name = app.capitalize()
    lines = err.splitlines()
    rejected = [x for x in lines if 'rejected the API key' in x]
    assert code == 2 and len(rejected) == 1 and f'{name} rejected the API key' in rejected[0], err
    assert f': {where} ' in rejected[0] and ('quote' in rejected[0] or 'comment' in rejected[0]), err
    assert _API_KEY not in out + err + log.read_text(encoding='utf-8')


@pytest.mark.parametrize('name, value, says', [
    ('STALKEER_CONFIG', '', 'STALKEER_CONFIG (environment) is empty: give a configuration file, or unset it'),
    ('STALKEER_CONFIG', '  ', 'STALKEER_CONFIG (environment) is empty: give a configuration file, or unset it'),
    ('DATABASE_URL', '', 'DATABASE_URL is empty'),
    ('STALKEER_DATABASE_URL', '', 'STALKEER_DATABASE_URL (environment) is empty'),
])
@pytest.mark.parametrize('command', [['status'], ['config', '--check']])
def test_an_empty_variable_that_cannot_be_empty_is_refused(name, value, says, command, tmp_path,
                                                           monkeypatch, cli):
    """One rule for the environment: a variable that is set is given, even
    empty. STALKEER_CONFIG='' counted as unset and read ./stalkeer.ini (maybe
    another setup's), where DATABASE_URL='' was refused as empty."""
    (tmp_path / 'stalkeer.ini').write_text('[database]\nurl = sqlite:///found.db\n', encoding='utf-8')
    monkeypatch.setenv(name, value)
    code, out, err = cli(*command)
    assert code == 2 and err.startswith(f'stalkeer: error: {says}') and len(err.splitlines()) == 1, err
    assert not (tmp_path / 'found.db').exists()


@pytest.mark.parametrize('section, key', [('downloads', 'temp_dir'), ('m3u', 'archive_dir'),
                                          ('notify', 'webhook_url'), ('radarr', 'url')])
def test_an_empty_key_variable_means_the_key_left_empty(section, key, tmp_path, monkeypatch, cli):
    """STALKEER_<SECTION>_<KEY>= is the key given empty, as `key =` in the file,
    not the file's value."""
    ini = _ini(tmp_path, f'[{section}]\n{key} = {"http://127.0.0.1:9/x" if "url" in key else tmp_path}\n')
    monkeypatch.setenv(f'STALKEER_{section}_{key}'.upper(), '')
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', 'config')
    assert code == 0 and f'  {key} =   (environment STALKEER_{section.upper()}_{key.upper()})' in out, out


@pytest.mark.parametrize('key', ['username', 'password'])
@pytest.mark.parametrize('origin', ['file', 'environment'])
def test_a_refused_panel_account_says_what_is_wrong_with_it(key, origin, tmp_path, monkeypatch, cli, db_url):
    """A panel refuses a password pasted in its quotes as any wrong one (auth
    0): the refusal now names the quotes, never the account."""
    from fakepanel import FakePanel
    panel = FakePanel(username='xZq7user', password=f'{_SECRET}pw')
    try:
        account = {'url': panel.url, 'username': 'xZq7user', 'password': f'{_SECRET}pw'}
        account[key] = f'"{account[key]}"'
        if origin == 'file':
            body = '[xtream]\n' + ''.join(f'{k} = {v}\n' for k, v in account.items())
            where = f'[xtream] {key}'
        else:
            body = ''
            for k, v in account.items():
                monkeypatch.setenv(f'STALKEER_XTREAM_{k.upper()}', v)
            where = f'STALKEER_XTREAM_{key.upper()} (environment)'
        ini = _ini(tmp_path, f'[m3u]\nfile_path = pl.m3u\n{body}')
        log = tmp_path / 'l.log'
        code, out, err = cli('--config', ini, '--db', db_url, '--log-file', log,
                             'process', '--source', 'xtream')
    finally:
        panel.close()
    refused = [x for x in err.splitlines() if 'refused the account (auth 0)' in x]
    assert code == 2 and len(refused) == 1, err
    assert refused[0].endswith(f'; {where} starts and ends with a quote: stalkeer takes a value as written; '
                               'remove the quotes'), err
    said = out + err + log.read_text(encoding='utf-8')
    assert _SECRET not in said and 'xZq7user' not in said


@pytest.mark.parametrize('origin', ['file', 'environment'])
@pytest.mark.parametrize('section, key', [('downloads', 'temp_dir'), ('logging', 'file'), ('m3u', 'file_path')])
def test_config_shows_a_path_in_quotes_as_written_not_as_a_path(section, key, origin, tmp_path, monkeypatch,
                                                                 cli):
    """`config` showed `temp_dir = "/srv/tmp" -> <config folder>/"/srv/tmp"`: a
    path no command uses (each refuses it) read as where files would go. The
    value is shown as written, with no resolved path, text and JSON, and the
    refusal is among the errors."""
    import json
    value = '"/srv/tmp"' if key == 'temp_dir' else '"x.log"'
    if origin == 'file':
        ini = _ini(tmp_path, f'[{section}]\n{key} = {value}\n')
    else:
        ini = _ini(tmp_path)
        monkeypatch.setenv(f'STALKEER_{section.upper()}_{key.upper()}', value)
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', 'config')
    line = [x for x in out.splitlines() if x.strip().startswith(f'{key} = ')]
    assert line and ' -> ' not in line[0] and value in line[0], out
    assert code == 2 and 'must be a path without quotes around it' in err, err
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--json')
    entry = [e for e in json.loads(out)['values'] if (e['section'], e['key']) == (section, key)][0]
    assert entry['resolved'] is None and entry['value'] == value, entry
    assert [e for e in json.loads(out)['errors'] if 'must be a path without quotes around it' in e]


@pytest.mark.parametrize('value, said', [
    ('"y.log"', '--log-file must be a path without quotes around it'),
    ('afile/x.log', '--log-file must be a file, but afile/x.log is out of reach'),
    ('fifo', '--log-file must be a file, but fifo is a named pipe'),
], ids=['quotes', 'a file on the way', 'a named pipe'])
def test_config_lists_every_value_when_the_log_file_option_is_wrong(value, said, tmp_path, monkeypatch, cli):
    """`config --log-file '"y.log"'` printed only the refusal, where the same
    mistake as `[logging] file` is listed with every other value: now `config`
    (text and JSON) lists them all and names the option among the errors,
    once, exit 2; nothing is created; every other command still refuses it."""
    import json
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'afile').write_text('', encoding='utf-8')
    os.mkfifo(tmp_path / 'fifo')
    ini = _ini(tmp_path)
    before = sorted(os.listdir(tmp_path))
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', '--log-file', value,
                         'config', '--check')
    assert code == 2 and '[downloads]' in out and 'config check: 1 error(s)' in out, (out, err)
    named = [x for x in err.splitlines() if said in x]
    assert len(named) == 1 and named[0].startswith('stalkeer: error: --log-file'), err
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', '--log-file', value,
                         'config', '--json')
    document = json.loads(out)
    assert code == 2 and [e for e in document['errors'] if said in e] and len(document['values']) > 10
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', '--log-file', value, 'status')
    assert code == 2 and said in err and not out, (out, err)
    assert sorted(os.listdir(tmp_path)) == before
