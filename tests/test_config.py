"""Configuration discovery, overrides and validation."""

import configparser
import json
import os
import urllib.parse
from pathlib import Path

import pytest

import stalkeer
from conftest import ROOT, run_stalkeer


def write_ini(path, text):
    path.write_text(text, encoding='utf-8')
    return path


def test_no_config_file_runs_on_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr(stalkeer, 'HERE', tmp_path / 'nowhere')
    cfg = stalkeer.Config.discover()
    assert cfg.path is None
    assert cfg.database_url == 'sqlite:///stalkeer.db'
    settings = stalkeer.DownloadSettings.from_config(cfg)
    assert (settings.connect_timeout, settings.read_timeout) == (10, 60)
    assert (settings.retry_attempts, settings.max_retry_attempts) == (3, 5)
    assert settings.progress_interval_bytes == 10 * stalkeer.MiB
    assert settings.progress_interval_seconds == 30 and settings.lock_timeout == 300
    assert settings.min_free_space == 1024 * stalkeer.MiB and settings.temp_dir is None
    spec = stalkeer.parse_database_url(cfg.database_url, cfg.base_dir)
    assert spec['path'] == os.path.join(str(tmp_path), 'stalkeer.db')


def test_sample_ini_holds_the_real_defaults():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / 'stalkeer.ini', encoding='utf-8')
    for section, keys in stalkeer.DEFAULTS.items():
        for key, value in keys.items():
            assert parser.get(section, key) == value, f'[{section}] {key}'
    documented = {(s, k) for s in parser.sections() for k in parser[s]}
    known = {(s, k) for s, keys in stalkeer.DEFAULTS.items() for k in keys}
    assert documented == known


def test_discovery_order(tmp_path, monkeypatch):
    explicit = write_ini(tmp_path / 'explicit.ini', '[downloads]\nread_timeout = 1\n')
    from_env = write_ini(tmp_path / 'env.ini', '[downloads]\nread_timeout = 2\n')
    beside = tmp_path / 'beside'
    beside.mkdir()
    write_ini(beside / 'stalkeer.ini', '[downloads]\nread_timeout = 4\n')
    monkeypatch.setattr(stalkeer, 'HERE', beside)
    assert stalkeer.Config.discover().path == str(beside / 'stalkeer.ini')
    write_ini(tmp_path / 'stalkeer.ini', '[downloads]\nread_timeout = 3\n')   # cwd
    assert stalkeer.Config.discover().path == os.path.join(os.getcwd(), 'stalkeer.ini')
    monkeypatch.setenv('STALKEER_CONFIG', str(from_env))
    assert stalkeer.Config.discover().path == str(from_env)
    assert stalkeer.Config.discover(str(explicit)).path == str(explicit)


def test_environment_overrides_every_key(tmp_path, monkeypatch):
    ini = write_ini(tmp_path / 'c.ini', '[downloads]\nread_timeout = 5\n[logging]\nlevel = DEBUG\n')
    monkeypatch.setenv('STALKEER_DOWNLOADS_READ_TIMEOUT', '7')
    monkeypatch.setenv('STALKEER_LOGGING_LEVEL', 'WARNING')
    cfg = stalkeer.Config.discover(str(ini))
    assert stalkeer.DownloadSettings.from_config(cfg).read_timeout == 7
    assert cfg.get('logging', 'level') == 'WARNING'


def test_database_url_precedence(tmp_path, monkeypatch):
    ini = write_ini(tmp_path / 'c.ini', '[database]\nurl = sqlite:///from-file.db\n')
    assert stalkeer.Config.discover(str(ini)).database_url == 'sqlite:///from-file.db'
    monkeypatch.setenv('STALKEER_DATABASE_URL', 'sqlite:///from-stalkeer-env.db')
    assert stalkeer.Config.discover(str(ini)).database_url == 'sqlite:///from-stalkeer-env.db'
    monkeypatch.setenv('DATABASE_URL', 'sqlite:///from-env.db')
    assert stalkeer.Config.discover(str(ini)).database_url == 'sqlite:///from-env.db'
    cfg = stalkeer.Config.discover(str(ini), db_url='sqlite:///from-flag.db')
    assert cfg.database_url == 'sqlite:///from-flag.db'


@pytest.mark.parametrize('db, env, says', [
    # trial-16a F7: an empty --db or DATABASE_URL fell through silently to the
    # next source (here the ini's database), as if it were not given.
    ('', {}, '--db is empty'),
    (None, {'DATABASE_URL': ''}, 'DATABASE_URL is empty'),
    (None, {'STALKEER_DATABASE_URL': ''}, 'STALKEER_DATABASE_URL (environment) is empty'),
    # ...and a query made a file named 'x.db?schema=foo'.
    ('sqlite:///x.db?schema=foo', {}, '--db: an sqlite URL takes no ?query or #fragment'),
    ('sqlite:///x.db#frag', {}, '--db: an sqlite URL takes no ?query or #fragment'),
    (None, {'DATABASE_URL': 'sqlite:///x.db?mode=ro'}, 'DATABASE_URL: an sqlite URL takes no ?query'),
])
def test_an_empty_or_query_bearing_database_url_is_refused(db, env, says, tmp_path, monkeypatch, cli):
    ini = write_ini(tmp_path / 'c.ini', '[database]\nurl = sqlite:///from-file.db\n')
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    argv = ['--config', ini] + (['--db', db] if db is not None else [])
    for command in (['status'], ['config', '--check']):
        code, out, err = cli(*argv, *command)
        assert code == 2 and says in err, (command, err)
        assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['c.ini']      # no database made


def test_an_sqlite_file_name_may_hold_an_encoded_question_mark(tmp_path):
    assert stalkeer.parse_database_url('sqlite:///a%3Fb%23c.db', str(tmp_path))['path'] == \
        str(tmp_path / 'a?b#c.db')


@pytest.mark.parametrize('ini, says', [
    # trial-16a F9: configparser's own words were raw ("While reading from '…'
    # [line  2]: section 'radarr' already exists", "File contains no section
    # headers." without a line); the line's text is never quoted (a secret?).
    ('[radarr]\nurl = http://a\n[radarr]\n', 'line 3 is not valid: section [radarr] is given a second time; '
     'merge the two'),
    ('[radarr]\napi_key = Secret7Value\napi_key = Secret7Value2\n',
     'line 3 is not valid: api_key is given a second time in [radarr]; keep one'),
    ('[radarr]\nurl http://u:Secret7Value@h/x\nurl http://u:Secret7Value@h/x\n',
     'line 3 is not valid: a key is given a second time in [radarr]; keep one'),
    ('api_key = Secret7Value\n[radarr]\n',
     'line 1 is not valid: it comes before any [section] header; put one such as [radarr] above it'),
])
def test_a_duplicate_or_a_missing_section_header_is_one_plain_line(ini, says, tmp_path, cli):
    path = write_ini(tmp_path / 'c.ini', ini)
    for command in (['status'], ['config', '--check']):
        code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', *command)
        # `config --check` goes on to name the other mistakes (here: [radarr] incomplete).
        first = err if command == ['status'] else err.splitlines(keepends=True)[0]
        assert code == 2 and first == f'stalkeer: error: config file {path} {says}\n', err
        assert 'Secret7' not in out + err


def test_the_keys_under_a_section_given_twice_are_checked_as_its_own(tmp_path, cli):
    """Keys under a second [radarr] header were dropped unchecked: merging the
    two as told then brought out more errors (trial-17b T17B-1). They are read
    as the first header's; a key both set is named on its own line."""
    path = write_ini(tmp_path / 'c.ini', '[radarr]\nurl = http://radarr:7878\napi_key = Secret7Value\n'
                                         'timeout = 30\n[radarr]\nrescan = maybe\nTimeout = abc\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 2
    assert err.splitlines() == [
        f'stalkeer: error: config file {path} line 5 is not valid: section [radarr] is given a second '
        'time; merge the two',
        f'stalkeer: error: config file {path} line 7 is not valid: timeout is given a second time in '
        '[radarr]; keep one',
        "stalkeer: error: [radarr] rescan must be true or false (or yes/no, on/off, 1/0), got 'maybe'"]
    assert '  rescan = maybe  (file)' in out and '  timeout = 30  (file)' in out
    assert 'Secret7' not in out + err


def test_a_schema_name_too_long_is_said_so(tmp_path):
    """trial-16a F9: 70 letters were "not a plain identifier"."""
    url = 'postgresql://u@127.0.0.1/db?schema='
    with pytest.raises(stalkeer.ConfigError, match='^--db: the schema name is 70 characters long; '
                       'PostgreSQL identifiers are at most 63 bytes$'):
        stalkeer.parse_database_url(url + 'x' * 70, '.', '--db')
    assert stalkeer.parse_database_url(url + 'x' * 63, '.', '--db')['schema'] == 'x' * 63
    with pytest.raises(stalkeer.ConfigError, match='plain identifier'):
        stalkeer.parse_database_url(url + 'x-y' + 'x' * 70, '.', '--db')


def test_relative_sqlite_path_is_beside_the_config_file(tmp_path):
    confdir = tmp_path / 'etc'
    confdir.mkdir()
    ini = write_ini(confdir / 'stalkeer.ini', '[database]\nurl = sqlite:///data/s.db\n')
    cfg = stalkeer.Config.discover(str(ini))
    spec = stalkeer.parse_database_url(cfg.database_url, cfg.base_dir)
    assert spec['path'] == str(confdir / 'data' / 's.db')
    assert stalkeer.parse_database_url('sqlite:////abs/x.db', '/ignored')['path'] == '/abs/x.db'


def test_postgres_url_parsing_hides_the_password():
    spec = stalkeer.parse_database_url('postgresql://bob:s3cr%40t@db.local:5433/stk?schema=x1&sslmode=require', '.')
    assert spec == {'kind': 'postgresql', 'database': 'stk', 'user': 'bob', 'password': 's3cr@t',
                    'host': 'db.local', 'port': 5433, 'schema': 'x1',
                    'params': {'sslmode': 'require'}}
    assert 's3cr' not in stalkeer.redact('postgresql://bob:s3cr%40t@db.local:5433/stk failed')
    assert 's3cr@t' not in stalkeer.redact('password s3cr@t leaked')


@pytest.mark.parametrize('ini, env, needle', [
    ('[downloads]\nread_timeout = soon\n', {}, '[downloads] read_timeout'),
    ('[downloads]\nretry_attempts = 2.5\n', {}, '[downloads] retry_attempts'),
    ('', {'STALKEER_DOWNLOADS_CONNECT_TIMEOUT': 'x'}, 'STALKEER_DOWNLOADS_CONNECT_TIMEOUT'),
    ('[database]\nurl = mysql://x/y\n', {}, "unknown database scheme 'mysql'"),
    ('[database]\nurl = /var/lib/stalkeer.db\n', {}, 'not a database URL (no scheme://'),
    ('', {'DATABASE_URL': 'oracle://a/b'}, 'DATABASE_URL'),
    ('[logging]\nlevel = LOUD\n', {}, '[logging] level'),
    ('[downloads]\nprogress_interval_seconds = 400\n', {}, 'lock_timeout_seconds'),
    ('[downloads]\nprogress_interval_seconds = 400\n', {'STALKEER_DOWNLOADS_LOCK_TIMEOUT_SECONDS': '600'},
     '[downloads] progress_interval_seconds (400) must be at most half of '
     'STALKEER_DOWNLOADS_LOCK_TIMEOUT_SECONDS (environment) (600)'),
    ('[downloads\nbroken', {}, 'is not valid'),
])
def test_bad_values_are_one_line_errors_naming_the_key(ini, env, needle, tmp_path, monkeypatch,
                                                       cli):
    path = write_ini(tmp_path / 'bad.ini', ini)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out, err = cli('--config', path, 'resume-downloads')
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err


def test_missing_config_file_is_an_error(cli, tmp_path):
    code, out, err = cli('--config', tmp_path / 'nope.ini', 'migrate')
    assert code == 2 and 'config file not found' in err


def test_unknown_scheme_from_db_flag(cli):
    code, out, err = cli('--db', 'foo://bar', 'migrate')
    assert code == 2 and "--db: unknown database scheme 'foo'" in err


@pytest.mark.parametrize('progress, lock', [('2', '3'), ('30', '59'), ('1', '1.5')])
def test_a_lease_that_could_not_outlive_one_missed_renewal_is_refused(progress, lock, tmp_path,
                                                                     cli):
    """The lease is renewed every progress_interval_seconds by its own thread;
    it must last at least two of those. One line names both keys."""
    path = write_ini(tmp_path / 'lease.ini', f'[downloads]\nprogress_interval_seconds = {progress}\n'
                                             f'lock_timeout_seconds = {lock}\n')
    code, out, err = cli('--config', path, 'resume-downloads')
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert '[downloads] progress_interval_seconds' in err and 'lock_timeout_seconds' in err
    ok = write_ini(tmp_path / 'ok.ini', '[downloads]\nprogress_interval_seconds = 1.5\n'
                                        'lock_timeout_seconds = 3\nread_timeout = 60\n')
    assert stalkeer.DownloadSettings.from_config(stalkeer.Config(str(ok))).lock_timeout == 3


# -- the `config` command --------------------------------------------------------------

def config_json(cli, *argv):
    code, out, err = cli(*argv, 'config', '--json')
    assert code == 0, err
    data = __import__('json').loads(out)
    return {(e['section'], e['key']): e for e in data['values']}, data


def test_config_names_the_file_in_force_and_each_source(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(stalkeer, 'HERE', tmp_path / 'nowhere')
    ini = write_ini(tmp_path / 'stalkeer.ini', '[downloads]\nretry_attempts = 7\n'
                                              '[m3u]\nfile_path = lists/playlist.m3u\n'
                                              '[downlaods]\nmax_parallel = 9\n')
    monkeypatch.setenv('STALKEER_DOWNLOADS_READ_TIMEOUT', '120')
    values, data = config_json(cli, '--db', 'sqlite:///other.db', '--log-file', 'run.log')
    assert data['config_file'] == str(ini) and data['found_by'] == 'working_directory'
    assert values['downloads', 'connect_timeout'] == dict(
        section='downloads', key='connect_timeout', value='10', source='default', source_name=None,
        resolved=None, ignored=False, did_you_mean=None)
    assert (values['downloads', 'retry_attempts']['value'], values['downloads', 'retry_attempts']['source']) \
        == ('7', 'file')
    assert (values['downloads', 'read_timeout']['source'], values['downloads', 'read_timeout']['source_name']) \
        == ('environment', 'STALKEER_DOWNLOADS_READ_TIMEOUT')
    assert (values['database', 'url']['source'], values['database', 'url']['source_name']) == ('option', '--db')
    assert values['database', 'url']['resolved'] == str(tmp_path / 'other.db')
    assert values['logging', 'file'] == dict(section='logging', key='file', value='run.log', source='option',
                                             source_name='--log-file', resolved=str(tmp_path / 'run.log'),
                                             ignored=False, did_you_mean=None)
    assert values['m3u', 'file_path']['resolved'] == str(tmp_path / 'lists' / 'playlist.m3u')
    assert (values['downlaods', 'max_parallel']['source'], values['downlaods', 'max_parallel']['ignored']) \
        == ('file', True)
    # every key stalkeer reads is listed
    assert {k for k in values if k[0] != 'downlaods'} == \
        {(s, k) for s, keys in stalkeer.DEFAULTS.items() for k in keys}

    code, out, err = cli('config')
    assert code == 0 and err == ''
    assert out.startswith(f'config file: {ini} (from the current directory)\n')
    assert '  retry_attempts = 7  (file)\n' in out
    assert '  read_timeout = 120  (environment STALKEER_DOWNLOADS_READ_TIMEOUT)\n' in out
    assert f'  file_path = lists/playlist.m3u -> {tmp_path / "lists" / "playlist.m3u"}  (file)\n' in out


def test_config_without_a_file_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(stalkeer, 'HERE', tmp_path / 'nowhere')
    monkeypatch.setenv('DATABASE_URL', 'sqlite:///env.db')
    code, out, err = cli('config')
    assert code == 0, err
    assert out.startswith('config file: none, built-in defaults (looked for ./stalkeer.ini, ')
    assert '  url = sqlite:///env.db -> ' in out and '(environment DATABASE_URL)' in out
    assert '  retry_attempts = 3  (default)\n' in out


def test_config_masks_every_secret(cli, tmp_path, monkeypatch):
    secrets = ['k3y-radarr-0123456789', 'k3y-sonarr-9876543210', 'serve-t0ken-4242',
               'dbpassw0rd', 'alice', 'hunter22pw', 'hook-s3cret', 'chk-0000-1111', 'tg-b0t-token']
    ini = write_ini(tmp_path / 's.ini', f'''[radarr]
url = http://radarr:7878
api_key = {secrets[0]}
[sonarr]
url = http://admin:{secrets[3]}@sonarr:8989
api_key = {secrets[1]}
[m3u]
url = http://provider:8080/get.php?username={secrets[4]}&password={secrets[5]}&type=m3u_plus
[notify]
webhook_url = https://discord.com/api/webhooks/123/{secrets[6]}
healthcheck_url = https://hc-ping.com/{secrets[7]}
apprise_urls = tgram://{secrets[8]}/12345
''')
    monkeypatch.setenv('STALKEER_SERVE_TOKEN', secrets[2])
    code, out, err = cli('--config', ini, '--db', f'postgresql://bob:{secrets[3]}@db/stalkeer',
                         'config')
    assert code == 0, err
    for secret in secrets:
        assert secret not in out + err, secret
    assert '  api_key = ***  (file)' in out
    assert '  token = ***  (environment STALKEER_SERVE_TOKEN)' in out
    # The user of user:password@ is half of the account: masked too (trial-16a F8).
    assert '  url = postgresql://***:***@db/stalkeer  (option --db)' in out
    assert '  url = http://provider:8080/get.php?username=***&password=***&type=m3u_plus  (file)' in out
    assert '  url = http://***:***@sonarr:8989  (file)' in out
    # A notification URL keeps its host, as its errors show it (trial-16a F8).
    assert '  webhook_url = https://discord.com/***  (file)' in out
    assert '  healthcheck_url = https://hc-ping.com/***  (file)' in out and '  apprise_urls = tgram://***  (file)' in out
    values, _ = config_json(cli, '--config', ini)
    assert values['radarr', 'api_key']['value'] == '***'


@pytest.mark.parametrize('ini, env, needle', [
    ('[downloads]\nmax_parallel = 0\n', {}, '[downloads] max_parallel must be a whole number from 1 to 64'),
    ('[radarr]\nurl = http://radarr:7878\n', {}, 'Radarr is not configured'),
    ('[quality]\npreference = 8K\n', {}, "unknown quality '8k'"),
    ('[filter]\ngroup_title_exclude = (\n', {}, '[filter] group_title_exclude: bad regular expression'),
    # What re.compile raises besides re.error (trial-15e F1): a repeat past the
    # engine's limit, groups nested deeper than the compiler recurses.
    ('[filter]\ntvg_name_exclude = x{99999999999}\n', {}, '[filter] tvg_name_exclude: bad regular expression'),
    ('[filter]\ngroup_title_include = ' + '(' * 5000 + 'x' + ')' * 5000 + '\n', {},
     "[filter] group_title_include: bad regular expression '((((("),
    ('[notify]\non = sometimes\n', {}, '[notify] on must be'),
    ('', {'STALKEER_SERVE_REFRESH_SECONDS': 'soon'}, 'STALKEER_SERVE_REFRESH_SECONDS (environment) must be'),
    ('[m3u]\nretention_count = -1\n', {}, '[m3u] retention_count must be a whole number from 0'),
    ('', {'DATABASE_URL': 'mysql://x/y'}, "unknown database scheme 'mysql'"),
    ('[logging]\nprogress_log_seconds = 0\n', {}, '[logging] progress_log_seconds must be'),
    ('[xtream]\nenabled = yes please\n', {}, '[xtream] enabled must be auto, true or false'),
    ('[xtream]\nurl = http://panel:8080\n', {}, '[xtream] url is set without [xtream]'),
])
def test_config_check_exits_2_naming_what_is_wrong(ini, env, needle, cli, tmp_path, monkeypatch):
    path = write_ini(tmp_path / 'bad.ini', ini)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out, err = cli('--config', path, 'config', '--check')
    assert code == 2, out + err
    assert needle in err and 'Traceback' not in err
    assert out.rstrip().endswith('config check: 1 error(s)')


def test_config_check_passes_on_the_sample_and_notes_what_is_unset(cli, tmp_path):
    code, out, err = cli('--config', ROOT / 'stalkeer.ini', 'config', '--check')
    assert code == 0 and err == ''
    assert 'note: [radarr] not configured (`radarr` will refuse to run)' in out
    assert 'note: [xtream] no panel (`process` reads the M3U playlist)' in out
    assert out.rstrip().endswith('config check: ok')


def test_verbose_logs_the_config_file_in_force(cli, tmp_path, sqlite_url):
    ini = write_ini(tmp_path / 'mine.ini', '[downloads]\nretry_attempts = 2\n')
    code, out, err = cli('--config', ini, '--db', sqlite_url, '-v', 'status')
    assert code == 0 and f'stalkeer: config file: {ini}' in err
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'status')
    assert 'config file' not in err


# A value each key refuses, and a needle its error holds. Every error names the
# variable (STALKEER_…) its value came from (trial-15e F9); the needle says it otherwise.
BAD_VALUE = {
    ('database', 'url'): ('mysql://x/y', None),
    ('downloads', 'user_agent'): ('caf\u00e9', None),
    ('radarr', 'url'): ('ftp://radarr', None), ('sonarr', 'url'): ('radarr:7878', None),
    ('radarr', 'api_key'): ('k\u00e9y', None), ('sonarr', 'api_key'): ('k\x01y', None),
    ('radarr', 'path_map'): ('/movies', None), ('sonarr', 'path_map'): ('=/tv', None),
    ('quality', 'preference'): ('8K', None),
    ('m3u', 'url'): ('playlist.m3u', None), ('xtream', 'url'): ('ftp://panel', None),
    ('xtream', 'username'): ('bob', None), ('xtream', 'password'): ('secretpass', None),
    ('notify', 'webhook_url'): ('discord', None), ('notify', 'healthcheck_url'): ('hc-ping.com/x', None),
    ('notify', 'on'): ('sometimes', None),
    ('serve', 'allowed_hosts'): ('*', None),
    ('logging', 'level'): ('LOUD', None),
    **{('filter', key): ('(', None) for key in stalkeer.DEFAULTS['filter']},
    **{key: ('many', None) for key in stalkeer.NUMBER_LIMITS},
    **{key: ('maybe', None) for key in stalkeer.BOOL_CONFIG_KEYS | stalkeer.SWITCH_CONFIG_KEYS},
    **{key: ('a\x01b', None) for key in stalkeer._PATH_CONFIG_KEYS},
}
# Keys any text is right for.
FREE_TEXT = {('quality', 'languages'): 'tags the playlist may hold; unknown ones match nothing',
             ('notify', 'apprise_urls'): 'Apprise reads them (and says so in the log)',
             ('serve', 'token'): 'any secret'}


def test_every_key_has_a_bad_value_or_is_free_text():
    known = {(section, key) for section, keys in stalkeer.DEFAULTS.items() for key in keys}
    assert set(BAD_VALUE) | set(FREE_TEXT) == known
    assert not set(BAD_VALUE) & set(FREE_TEXT)


@pytest.mark.parametrize('section, key', sorted(BAD_VALUE), ids=lambda v: v)
def test_config_check_refuses_a_bad_value_of_every_key(section, key, cli, monkeypatch):
    """`config --check` reads every key as its command does, configured or not
    (trial-15 F1: [m3u] parse_worker = maybe and [radarr] rescan = maybe passed)."""
    value, needle = BAD_VALUE[section, key]
    variable = f'STALKEER_{section}_{key}'.upper()
    monkeypatch.setenv(variable, value)
    code, out, err = cli('config', '--check')
    assert code == 2, out + err
    assert (needle or f'{variable} (environment)') in err and 'Traceback' not in err
    assert 'config check: ok' not in out


def test_config_check_names_every_bad_key_once(cli, tmp_path):
    path = write_ini(tmp_path / 'bad.ini', '[m3u]\nparse_worker = maybe\n[radarr]\nrescan = maybe\n'
                     '[matching]\nprobe = sometimes\nlookups_per_run = lots\n')
    code, out, err = cli('--config', path, 'config', '--check')
    assert code == 2
    for needle in ('[m3u] parse_worker must be auto, true or false', '[radarr] rescan must be true or false',
                   '[matching] probe must be', '[matching] lookups_per_run must be'):
        assert err.count(needle) == 1, (needle, err)
    assert out.rstrip().endswith('config check: 4 error(s)')


@pytest.mark.parametrize('as_json', [False, True], ids=['text', 'json'])
def test_config_check_shows_no_value_a_key_check_read(as_json, cli, tmp_path):
    """A key check returns the value it read; `config --check` printed it as a
    note: a short API key in clear ("note: [radarr] api_key radarrk", which
    the value masking cannot tell from a word), and a note for every good
    path, auto, header and URL key (trial 15b)."""
    path = write_ini(tmp_path / 'good.ini', '[radarr]\nurl = http://127.0.0.1:7878\napi_key = radarrk\n'
                     '[sonarr]\nurl = http://127.0.0.1:8989\napi_key = sonar1\n[m3u]\nparse_worker = auto\n'
                     'url = http://127.0.0.1:1/get.php?username=bob&password=pw123\n'
                     '[downloads]\nuser_agent = VLC/3.0\ntemp_dir = /tmp\n')
    code, out, err = cli('--config', path, 'config', '--check', *(['--json'] if as_json else []))
    assert code == 0, err
    for secret in ('radarrk', 'sonar1', 'pw123'):
        assert secret not in out + err
    for key in ('[m3u] parse_worker', '[downloads] user_agent', '[downloads] temp_dir', '[radarr] url',
                '[sonarr] url', '[m3u] url http'):
        assert f'note: {key}' not in out + err, out


@pytest.mark.parametrize('spelling, meant', [('yes', True), ('1', True), ('on', True), (' TRUE ', True),
                                             ('no', False), ('0', False), ('Off', False), ('false', False)])
def test_booleans_and_auto_keys_take_the_same_spellings(spelling, meant):
    """One parser: parse_worker took only auto/true/false while rescan took
    yes/no/on/off/1/0 too (trial-15 F2)."""
    for section, key in stalkeer.BOOL_CONFIG_KEYS:
        cfg = stalkeer.Config(env={f'STALKEER_{section}_{key}'.upper(): spelling})
        assert cfg.getbool(section, key) is meant
    for section, key in stalkeer.SWITCH_CONFIG_KEYS:
        cfg = stalkeer.Config(env={f'STALKEER_{section}_{key}'.upper(): spelling})
        assert cfg.getswitch(section, key) == ('true' if meant else 'false')
    for empty in ('', ' auto ', 'AUTO'):
        assert stalkeer.Config(env={'STALKEER_M3U_PARSE_WORKER': empty}).getswitch('m3u', 'parse_worker') == 'auto'


def test_process_takes_parse_worker_yes(cli, tmp_path, sqlite_url, monkeypatch):
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1 tvg-name="Heat (1995)" group-title="Movies",Heat (1995)\n'
                        'http://h/movie/u/p/1.mkv\n')
    monkeypatch.setenv('STALKEER_M3U_PARSE_WORKER', 'yes')
    code, out, err = cli('--db', sqlite_url, 'process', playlist)
    assert code == 0, err
    assert 'new 1' in out


def test_a_filter_pattern_python_warns_about_is_one_logged_line(tmp_path):
    """'[[:alpha:]]' (a POSIX class, which Python reads otherwise) made re print
    a raw FutureWarning with a line of stalkeer's code (trial-15f F4): it is one
    warning naming the key and the pattern."""
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text('[filter]\ntvg_name_exclude = [[:alpha:]]\n')
    code, out, err = run_stalkeer('--config', ini, '--db', f'sqlite:///{tmp_path / "s.db"}', 'config', '--check',
                                  cwd=tmp_path)
    assert 'FutureWarning' not in err and 'warnings.warn' not in err and 're.compile' not in err
    assert "[filter] tvg_name_exclude: regular expression '[[:alpha:]]': Possible nested set" in err


# -- config --check names every mistake in one run (trial-15f F3) ---------------------

def test_config_check_names_every_bad_filter_pattern(cli, tmp_path):
    path = write_ini(tmp_path / 'bad.ini', '[filter]\ngroup_title_include =\n  (\n  ok\n  [z-a]\n'
                     'tvg_name_exclude = x{99999999999}\n')
    code, out, err = cli('--config', path, 'config', '--check')
    lines = err.strip().splitlines()
    assert code == 2 and 'Traceback' not in err
    assert len(lines) == 3 and all(line.startswith('stalkeer: error: ') for line in lines), err
    for needle in ("[filter] group_title_include: bad regular expression '('",
                   "[filter] group_title_include: bad regular expression '[z-a]'",
                   "[filter] tvg_name_exclude: bad regular expression 'x{99999999999}'"):
        assert sum(needle in line for line in lines) == 1, (needle, err)
    assert out.rstrip().endswith('config check: 3 error(s)')
    # A command stops at the first, on one line naming the key and the pattern.
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'process', '--dry-run')
    assert code == 2 and 'Traceback' not in err
    assert err.strip().splitlines() == ["stalkeer: error: [filter] group_title_include: bad regular "
                                        "expression '(': missing ), unterminated subpattern at position 0"]


def test_config_check_names_every_bad_entry_of_a_list_setting(cli, tmp_path):
    path = write_ini(tmp_path / 'bad.ini', '[radarr]\npath_map =\n  /movies\n  /ok=/mnt/ok\n  =/tv\n'
                     '[quality]\npreference = 8K, 1080p, 360p\n[serve]\nallowed_hosts = *, nas, .lan\n')
    code, out, err = cli('--config', path, 'config', '--check')
    assert code == 2 and 'Traceback' not in err
    for needle in ("[radarr] path_map: expected REMOTE=LOCAL, got '/movies'",
                   "[radarr] path_map: expected REMOTE=LOCAL, got '=/tv'",
                   "[quality] preference: unknown quality '8k', '360p'",
                   "[serve] allowed_hosts: '*' can never match", "[serve] allowed_hosts: '.lan' can never match"):
        assert err.count(needle) == 1, (needle, err)
    assert out.rstrip().endswith('config check: 5 error(s)')


def test_path_map_lines_that_cannot_work_are_refused_at_check_and_at_run_time(cli, tmp_path):
    """trial-16a F5: a relative LOCAL (every item it maps fails), a REMOTE mapped
    twice or a=b=c (which one wins is a guess) passed `config --check`."""
    path = write_ini(tmp_path / 'bad.ini', '[sonarr]\nurl = http://127.0.0.1:1\napi_key = k\npath_map =\n'
                     '  /tv=relative/local\n  /tv=/mnt/tv\n  /tv/=/mnt/other\n  /a=/b=/c\n  tv=/mnt/tv\n'
                     '  D:\\Shows=/mnt/shows\n  d:/shows/=/mnt/x\n  /ok=/mnt/ok\n')
    expected = [
        "[sonarr] path_map: LOCAL must be an absolute path on this machine, got '/tv=relative/local'",
        "[sonarr] path_map: the REMOTE path is mapped twice, again in '/tv/=/mnt/other'; map it once",
        "[sonarr] path_map: more than one = in '/a=/b=/c'; expected REMOTE=LOCAL",
        "[sonarr] path_map: REMOTE must be an absolute path as Sonarr reports it (/data/media, "
        "D:\\Movies, \\\\nas\\media), got 'tv=/mnt/tv'",
        "[sonarr] path_map: the REMOTE path is mapped twice, again in 'd:/shows/=/mnt/x'; map it once",
    ]
    code, out, err = cli('--config', path, 'config', '--check')
    assert code == 2 and err.splitlines() == [f'stalkeer: error: {line}' for line in expected], err
    assert out.rstrip().endswith('config check: 5 error(s)')
    code, out, err = cli('--config', path, 'sonarr', '--dry-run')       # the same parser, the same lines
    assert code == 2 and err.splitlines() == [f'stalkeer: error: {expected[0]}'], err
    good = stalkeer.parse_path_map('/tv=/mnt/tv\n/tv/4k=/mnt/4k\nD:\\Shows=/mnt/s\n//nas/tv=/mnt/n', 'sonarr')
    assert sorted(good) == [('//nas/tv', '/mnt/n'), ('/tv', '/mnt/tv'), ('/tv/4k', '/mnt/4k'), ('D:\\Shows', '/mnt/s')]


def test_config_check_goes_on_past_a_bad_logging_level_and_notify_on(cli, tmp_path):
    """setup_logging read [logging] level before `config` ran, and [notify] read
    its URLs before `on`: either stopped the check at one error."""
    path = write_ini(tmp_path / 'bad.ini', '[logging]\nlevel = LOUD\nprogress_log_seconds = often\n'
                     'file = a\x01b\n[notify]\non = sometimes\nwebhook_url = discord\n')
    code, out, err = cli('--config', path, 'config', '--check')
    assert code == 2 and 'Traceback' not in err
    for needle in ('[logging] level must be', '[logging] progress_log_seconds must be',
                   '[logging] file must be a path', '[notify] on must be', '[notify] webhook_url must be'):
        assert err.count(needle) == 1, (needle, err)
    assert out.rstrip().endswith('config check: 5 error(s)')
    # Any other command stops at the first, as before.
    code, out, err = cli('--config', path, 'status')
    assert code == 2 and len(err.strip().splitlines()) == 1 and '[logging] level must be' in err


def test_config_names_every_line_of_the_file_it_cannot_parse(cli, tmp_path):
    path = write_ini(tmp_path / 'bad.ini', '[m3u]\nurl = http://x/get.php\nno equals sign\n'
                     '[downloads]\nretry_attempts = 2\njust words\n')
    code, out, err = cli('--config', path, 'config', '--check')
    assert code == 2 and 'Traceback' not in err
    # The first word only (the would-be key): the rest may be a value (trial-16a F2).
    assert err.strip().splitlines() == [
        f"stalkeer: error: config file {path} line 3 is not valid: 'no …' is neither a "
        "[section] nor key = value (its text is not shown: it may hold a secret)",
        f"stalkeer: error: config file {path} line 6 is not valid: 'just …' is neither a "
        "[section] nor key = value (its text is not shown: it may hold a secret)"]
    code, out, err = cli('--config', path, 'status')
    assert code == 2 and err.strip().splitlines() == [
        f"stalkeer: error: config file {path} line 3 is not valid: 'no …' is neither a "
        "[section] nor key = value (its text is not shown: it may hold a secret)"]


# -- every error names where the value came from (trial-15e F9) ------------------------

def test_errors_name_the_environment_variable_a_value_came_from(cli, tmp_path, monkeypatch):
    path = write_ini(tmp_path / 's.ini', '[m3u]\nfile_path = p.m3u\n')
    monkeypatch.setenv('STALKEER_FILTER_TVG_NAME_EXCLUDE', '(')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'process', '--dry-run')
    assert code == 2 and err.startswith('stalkeer: error: STALKEER_FILTER_TVG_NAME_EXCLUDE (environment): '
                                        "bad regular expression '('"), err
    assert '[filter]' not in err


# -- the file's mistakes, all named, never its text (newcomer trials, low findings) ---

def test_config_check_names_the_files_mistakes_and_the_values_mistakes_in_one_run(cli, tmp_path):
    """One unparsable line (or a duplicate) stopped the read: `config --check`
    named it alone, and the bad values after it only on the next run."""
    path = write_ini(tmp_path / 'c.ini', '[downloads]\nretry_attempts = many\njust words\n'
                     'retry_attempts = 3\n[radarr]\nurl = http://r\napi_key = k\n[radarr]\n'
                     '[logging]\nlevel = LOUD\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 2 and 'Traceback' not in err
    assert err.splitlines() == [
        f"stalkeer: error: config file {path} line 3 is not valid: 'just …' is neither a [section] "
        "nor key = value (its text is not shown: it may hold a secret)",
        f'stalkeer: error: config file {path} line 4 is not valid: retry_attempts is given a second '
        'time in [downloads]; keep one',
        f'stalkeer: error: config file {path} line 8 is not valid: section [radarr] is given a second '
        'time; merge the two',
        "stalkeer: error: [downloads] retry_attempts must be a whole number from 1 to 100, got 'many'",
        "stalkeer: error: [logging] level must be DEBUG, INFO, WARNING or ERROR, got 'LOUD'"], err
    assert out.rstrip().endswith('config check: 5 error(s)')
    # `config` without --check shows the values and still says what it could not read.
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config')
    assert code == 2 and err.count('stalkeer: error: config file') == 3 and 'retry_attempts = many' in out
    # Any other command stops at the first.
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'status')
    assert code == 2 and err.splitlines() == [err.splitlines()[0]] and 'line 3 is not valid' in err


@pytest.mark.parametrize('ini, line, says', [
    ('[radarr\nurl = http://r\n', 1, 'unclosed section header: [radarr without its ]'),
    ('[m3u]\nfile_path = p.m3u\n[radarr\nurl = http://r\n', 3, 'unclosed section header: [radarr without its ]'),
    ('[m3u]\n[api_key=Secret7Value\n', 2, 'unclosed section header: a [ without its ]'),
    ('[m3u]\n[Secret7Value\n', 2, 'unclosed section header: a [ without its ]'),
    ('[m3u]\n[]\n', 2, 'a section header without a name'),
])
def test_an_unclosed_section_header_is_said_so(ini, line, says, cli, tmp_path):
    """`[radarr` (no ]) was "comes before any [section] header" on line 1, and
    "neither a [section] nor key = value" further down, its keys read as the
    section's above it."""
    path = write_ini(tmp_path / 'c.ini', ini)
    for command in (['status'], ['config', '--check']):
        code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', *command)
        assert code == 2 and err.splitlines()[0] == \
            f'stalkeer: error: config file {path} line {line} is not valid: {says}', err
        assert 'Secret7' not in out + err and 'Traceback' not in err
    # Its keys belong to no section: not to [m3u] above it (no "unknown key" there).
    assert 'url (value not shown)' not in out


def test_text_after_a_section_header_is_not_dropped_silently(cli, tmp_path):
    """configparser reads `[radarr] url = http://r` as the header alone."""
    path = write_ini(tmp_path / 'c.ini', '[radarr] url = http://u:Secret7Value@r\n[sonarr] ; a comment\n'
                     '[filter]\ntvg_name_exclude =\n  [Tt]railer\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'status')
    assert code == 2 and err == (f'stalkeer: error: config file {path} line 1 is not valid: text after '
                                 'the [radarr] header is not read: put each key = value on a line of '
                                 'its own\n')
    assert 'Secret7' not in out + err


@pytest.mark.parametrize('name, shown', [
    ('radar', '[radar] is ignored: unknown section (did you mean [radarr]?)'),
    ('my-extras', '[my-extras] is ignored: unknown section'),
    ('api_key=Secret7Value', 'the section at line 2 (name not shown) is ignored: unknown section'),
    ('Secret7Value', 'the section at line 2 (name not shown) is ignored: unknown section'),
    ('Radarr!', 'the section at line 2 (name not shown; did you mean [radarr]?) is ignored'),
])
def test_an_unknown_section_is_named_only_when_its_name_is_a_plausible_one(name, shown, cli, tmp_path):
    """A header is user text: a pasted `[api_key=…]` was printed as written."""
    path = write_ini(tmp_path / 'c.ini', f'[m3u]\n[{name}]\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'status')
    assert code == 0 and f'stalkeer: {path}: {shown}' in err, err
    code, out, err = cli('--config', path, 'config', '--check')
    assert f'note: {path}: {shown}' in out, out
    # With a key under it, in the `config` listing and its warning too.
    path = write_ini(tmp_path / 'c.ini', f'[m3u]\n[{name}]\nurl = http://x\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'status')
    assert shown.split(' is ignored')[0] + ' url is ignored: unknown section' in err, err
    code, out, err = cli('--config', path, 'config', '--json')
    assert 'Secret7' not in out
    for output in (cli('--config', path, 'config')[1], err):
        assert 'Secret7' not in output and 'api_key=' not in output
    path = write_ini(tmp_path / 'c.ini', f'[{name}]\n[{name}]\n')
    code, out, err = cli('--config', path, 'config', '--check')
    assert code == 2 and 'Secret7' not in out + err and 'is given a second time' in err


@pytest.mark.parametrize('section, key', [
    ('radarr', 'url'), ('sonarr', 'url'), ('m3u', 'url'), ('xtream', 'url'), ('notify', 'webhook_url'),
    ('notify', 'healthcheck_url'), ('database', 'url')])
def test_port_0_in_a_url_is_refused_naming_the_key(section, key, cli, tmp_path):
    """urllib takes http://host:0/: no server listens there, and the failure
    came later as "cannot reach" (the database driver took 0 as its default
    port)."""
    scheme = 'postgresql' if section == 'database' else 'http'
    url = f'{scheme}://bob:Secret7Pass@127.0.0.1:0/get.php?username=bob&password=Secret7Pass'
    path = write_ini(tmp_path / 'c.ini', f'[{section}]\n{key} = {url}\n')
    # `status` reads the database URL only; `config --check` reads every key.
    for command in (['status'], ['config', '--check']) if section == 'database' else (['config', '--check'],):
        db = [] if section == 'database' else ['--db', f'sqlite:///{tmp_path}/s.db']
        code, out, err = cli('--config', path, *db, *command)
        assert code == 2 and 'Traceback' not in err, err
        first = err.splitlines()[0]
        assert first.startswith(f'stalkeer: error: [{section}] {key}') and 'port' in first and ' 0' in first, err
        assert 'Secret7' not in out + err
    assert stalkeer.url_problem('http://h:0/x.mkv') == 'the port is 0; a port is a number from 1 to 65535'
    assert stalkeer.url_problem('http://h:1/x.mkv') is None


# -- one port rule for every URL stalkeer reads -----------------------------------------------

PORT_RULE = 'a port is a number from 1 to 65535'
BAD_PORTS = [('0', 'the port is 0'), ('99999', 'the port is above 65535'),
             ('x9', 'the port is not a number'), ('-1', 'the port is not a number'),
             ('Secret7Pass', 'the port is not a number')]    # 'http://bob:Secret7Pass/…': '@' forgotten


def _url_with_port(scheme, port):
    if port == 'Secret7Pass':
        return f'{scheme}://Secret7User:Secret7Pass/x.mkv'
    return f'{scheme}://bob:Secret7Pass@127.0.0.1:{port}/get.php?username=bob&password=Secret7Pass'


def _ini_setting(section, key, scheme='http'):
    def run(cli, tmp_path, url, monkeypatch):
        path = write_ini(tmp_path / 'c.ini', f'[{section}]\n{key} = {url}\n')
        db = [] if section == 'database' else ['--db', f'sqlite:///{tmp_path}/s.db']
        return cli('--config', path, *db, 'config', '--check')
    return scheme, run, f'[{section}] {key}'


def _env_setting(name, scheme='http'):
    def run(cli, tmp_path, url, monkeypatch):
        monkeypatch.setenv(name, url)
        return cli('--config', write_ini(tmp_path / 'c.ini', ''), 'config', '--check')
    return scheme, run, name if name == 'DATABASE_URL' else f'{name} (environment)'


def _apprise(cli, tmp_path, url, monkeypatch):
    path = write_ini(tmp_path / 'c.ini', f'[notify]\napprise_urls = tgram://bot/Secret7Tok {url}\n')
    return cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')


def _db_option(cli, tmp_path, url, monkeypatch):
    return cli('--config', write_ini(tmp_path / 'c.ini', ''), '--db', url, 'status')


def _download(cli, tmp_path, url, monkeypatch):
    return cli('--db', f'sqlite:///{tmp_path}/s.db', 'download', url, tmp_path / 'x.mkv')


def _m3u_download(cli, tmp_path, url, monkeypatch):
    path = write_ini(tmp_path / 'c.ini', f'[m3u]\nfile_path = {tmp_path}/p.m3u\n')
    return cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'm3u-download', '--url', url)


def _playlist_line(cli, tmp_path, url, monkeypatch):
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Good (2000)\nhttp://h/movie/1.mkv\n'
                        f'#EXTINF:-1 group-title="Movies",Film (2000)\n{url}\n', encoding='utf-8')
    code, out, err = cli('--db', f'sqlite:///{tmp_path}/s.db', 'process', playlist, '--json')
    samples = json.loads(out)['malformed_samples']
    return code, '\n'.join(f"line {s['line']}: {s['reason']}" for s in samples) + '\n', err


URL_SETTINGS = {   # how each URL-taking setting is given, and what its error names it
    'radarr url': _ini_setting('radarr', 'url'), 'sonarr url': _ini_setting('sonarr', 'url'),
    'm3u url': _ini_setting('m3u', 'url'), 'xtream url': _ini_setting('xtream', 'url'),
    'webhook_url': _ini_setting('notify', 'webhook_url'),
    'healthcheck_url': _ini_setting('notify', 'healthcheck_url'),
    'database url': _ini_setting('database', 'url', 'postgresql'),
    'STALKEER_RADARR_URL': _env_setting('STALKEER_RADARR_URL'),
    'STALKEER_M3U_URL': _env_setting('STALKEER_M3U_URL'),
    'STALKEER_DATABASE_URL': _env_setting('STALKEER_DATABASE_URL', 'postgresql'),
    'DATABASE_URL': _env_setting('DATABASE_URL', 'postgresql'),
    'apprise_urls': ('json', _apprise, '[notify] apprise_urls: URL 2 of 2'),
    '--db': ('postgresql', _db_option, '--db'),
    'download URL': ('http', _download, None),
    'm3u-download --url': ('http', _m3u_download, '--url'),
    'playlist line': ('http', _playlist_line, 'line 5: '),  # its URL's line
}


@pytest.mark.parametrize('port, says', BAD_PORTS)
@pytest.mark.parametrize('setting', list(URL_SETTINGS))
def test_every_url_setting_refuses_a_bad_port_in_the_same_words(setting, port, says, cli, tmp_path,
                                                                monkeypatch):
    """The port rule was written three times in three wordings (url_problem,
    [database] url, apprise_urls): every URL stalkeer reads now says it as
    port_problem does, each naming which setting or line it was, and never
    the account in the URL (nor the port's text: with the '@' forgotten it is
    the password)."""
    scheme, run, named = URL_SETTINGS[setting]
    url = _url_with_port(scheme, port)
    code, out, err = run(cli, tmp_path, url, monkeypatch)
    text = out + err
    said = [line for line in text.splitlines() if f'{says}; {PORT_RULE}' in line]
    assert said, (setting, text)
    if named:
        assert named in said[0], (setting, said)
    assert code == 2 if setting != 'playlist line' else code == 0, (setting, text)
    assert 'Secret7' not in text and 'Traceback' not in text, (setting, text)


HTTP_URL_SETTINGS = [name for name, (scheme, _, _) in URL_SETTINGS.items()
                     if scheme == 'http' and name not in ('playlist line',)]


@pytest.mark.parametrize('setting', HTTP_URL_SETTINGS)
def test_every_http_url_setting_refuses_another_scheme_in_the_same_words(setting, cli, tmp_path, monkeypatch):
    """"http or https only" was said four ways (the URL keys, `m3u-download
    --url`, the panel, `download URL`): http_url_error is the one wording."""
    _, run, named = URL_SETTINGS[setting]
    code, out, err = run(cli, tmp_path, 'ftp://Secret7User:Secret7Pass@h/x.mkv', monkeypatch)
    says = (f"{named or 'download URL'} must be an http:// or https:// URL, got "
            "'ftp://***:***@h/x.mkv' (URL is not http/https but ftp:)")
    assert code == 2 and f'stalkeer: error: {says}' in err.splitlines(), (setting, err)
    assert 'Secret7' not in out + err


@pytest.mark.parametrize('setting', [name for name, (_, run, _) in URL_SETTINGS.items()
                                     if run.__name__ == 'run' and name != 'apprise_urls'])
def test_every_url_setting_refuses_a_space_in_the_same_words(setting, cli, tmp_path, monkeypatch):
    """A space in a URL setting was 'a space in it' for the URL keys and 'a
    space in the URL (a comment after it? …)' for [database] url: one rule,
    space_problem; the inline-comment hint is Config.explained's."""
    scheme, run, named = URL_SETTINGS[setting]
    code, out, err = run(cli, tmp_path, f'{scheme}://Secret7User:Secret7Pass@h/my db', monkeypatch)
    said = [line for line in err.splitlines() if 'a space in the URL: no URL holds one, a space in a name '
            'is written %20' in line]
    assert code == 2 and said and named in said[0], (setting, err)
    assert 'Secret7' not in out + err


@pytest.mark.parametrize('setting', ['download URL', 'm3u-download --url'])
def test_an_empty_url_argument_is_refused_as_empty(setting, cli, tmp_path, monkeypatch):
    """`m3u-download --url ''` fell through to [m3u] url (another playlist
    fetched), `download ''` said "got 'text without a scheme://'": an empty
    value given is the value in force, refused as empty, as an empty --db is."""
    _, run, named = URL_SETTINGS[setting]
    monkeypatch.setenv('STALKEER_M3U_URL', 'http://127.0.0.1:9/get.php')
    code, out, err = run(cli, tmp_path, '', monkeypatch)
    assert code == 2 and err.splitlines() == [
        f"stalkeer: error: {named or 'download URL'} is empty: give an http:// or https:// URL"], err


@pytest.mark.parametrize('section, key', sorted(stalkeer.URL_CONFIG_KEYS))
def test_a_url_key_on_several_lines_quotes_no_text_without_a_scheme(section, key, cli, tmp_path):
    """The error for a URL key continued by an indented line quoted its first
    line as written when it was no URL (an API key pasted into url): quoted_url
    as every other URL error."""
    path = write_ini(tmp_path / 'c.ini', f'[{section}]\n{key} = Secret7ApiKey123\n  more = x\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 2 and f'[{section}] {key} must be one http:// or https:// URL, got text without a ' \
        'scheme://' in err, err
    assert 'Secret7' not in out + err


def test_a_space_in_a_postgresql_url_is_refused(cli, tmp_path):
    """'url = postgresql://…/test ; my db' passed config --check with a note and
    then every command failed on the database "test ; my db" (trial-17b). No URL
    holds a space; an SQLite path may (sqlite:///a b/x.db stays fine)."""
    path = write_ini(tmp_path / 'c.ini', '[database]\nurl = postgresql://bob:Secret7Pass@127.0.0.1/test ; my db\n')
    for command in (['status'], ['config', '--check']):
        code, out, err = cli('--config', path, *command)
        assert code == 2 and 'stalkeer: error: [database] url: a space in the URL: no URL holds one, a space ' \
            "in a name is written %20 (the ';' and what follows are part of the value" in err, err
        assert 'Secret7' not in out + err
    assert stalkeer.parse_database_url(f'sqlite:///{tmp_path}/a b/x.db', str(tmp_path))['path'] == \
        f'{tmp_path}/a b/x.db'


# -- inline comments: part of the value, and said so --------------------------------

def test_an_inline_comment_is_part_of_the_value_and_the_error_says_so(cli, tmp_path):
    """`timeout = 30 ; seconds` failed as a number without a word on why; a
    comment after a URL made another URL. Comments after a value are not
    stripped (a password or API key may hold ; or #): the error says it."""
    path = write_ini(tmp_path / 'c.ini', '[downloads]\nretry_attempts = 3 ; tries\n'
                     f'movies_path = {tmp_path}/movies # my movies\n'
                     '[radarr]\nurl = http://u:Secret7Pass@r/x ; my radarr\napi_key = Secret7Key ;x\n'
                     'rescan = yes # sure\n[xtream]\nurl = http://panel\nusername = bob\n'
                     'password = Secret7 #Pass\n')
    # An existing library root is taken as written (one missing is refused: test_command_settings).
    (tmp_path / 'movies # my movies').mkdir()
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    hint = ' (the {!r} and what follows are part of the value: stalkeer reads no comment after a value; ' \
           'put it on a line of its own)'
    assert code == 2 and 'Traceback' not in err
    assert err.splitlines() == [
        "stalkeer: error: [downloads] retry_attempts must be a whole number from 1 to 100, got "
        "'3 ; tries'" + hint.format(';'),
        "stalkeer: error: [radarr] rescan must be true or false (or yes/no, on/off, 1/0), got "
        "'yes # sure'" + hint.format('#'),
        "stalkeer: error: [radarr] url must be an http:// or https:// URL, got "
        "'http://***:***@r/x ; my radarr' (a space in the URL: no URL holds one, a space in a name is "
        "written %20)" + hint.format(';')], err
    # A key that is fine as it stands gets a note; one whose error says it does not.
    assert "note: [downloads] movies_path: '#' in its value looks like an inline comment, which " \
           "stalkeer reads as part of the value (a file name may hold ' ; '): put comments on a line " \
           'of their own' in out
    assert 'retry_attempts:' not in out and 'note: [radarr] url' not in out
    # Secrets: nothing said of them (it would tell of their value), never their value.
    assert 'api_key:' not in out + err and 'password:' not in out + err and 'Secret7' not in out + err
    # Another command warns of it before the run, and stops at the first error with the hint.
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'status')
    assert code == 2 and "[downloads] movies_path: '#' in its value looks like an inline comment" in err
    assert err.rstrip().endswith(hint.format(';')) and 'Secret7' not in out + err


# A value each key takes as it stands, to which the comment is added.
_GOOD_VALUE = {('radarr', 'url'): 'http://r:7878', ('sonarr', 'url'): 'http://s:8989',
               ('m3u', 'url'): 'http://p/get.php', ('xtream', 'url'): 'http://panel',
               ('notify', 'webhook_url'): 'http://hook/x', ('notify', 'healthcheck_url'): 'http://hc/x',
               ('notify', 'apprise_urls'): 'json://a/b', ('serve', 'allowed_hosts'): 'nas',
               ('radarr', 'path_map'): '/a=/b', ('sonarr', 'path_map'): '/a=/b',
               ('quality', 'languages'): 'EN', ('database', 'url'): 'sqlite:///s.db'}
_COMMENTED_KEYS = [(section, key) for section, keys in stalkeer.DEFAULTS.items() for key in keys
                   if (section, key) not in stalkeer._SECRET_CONFIG_KEYS]


@pytest.mark.parametrize('mark', [';', '#'])
@pytest.mark.parametrize('section, key', _COMMENTED_KEYS)
def test_every_key_says_its_inline_comment(section, key, mark, cli, tmp_path):
    """The hint was given per getter, and [logging] level, [notify] on and
    [quality] preference had none: every key (secrets aside) whose value
    holds an inline comment now has it said, by the key's error when the
    comment makes the value wrong, else by a note; never neither, never both."""
    good = _GOOD_VALUE.get((section, key)) or stalkeer.DEFAULTS[section][key] or 'x'
    path = write_ini(tmp_path / 'c.ini', f'[{section}]\n{key} = {good} {mark} my comment\n')
    db = [] if section == 'database' else ['--db', f'sqlite:///{tmp_path}/s.db']
    code, out, err = cli('--config', path, *db, 'config', '--check')
    assert 'Traceback' not in err
    errors = [line for line in err.splitlines() if line.startswith(f'stalkeer: error: [{section}] {key}')]
    notes = [line for line in out.splitlines() if line.startswith(f'note: [{section}] {key}: ')
             and 'looks like an inline comment' in line]
    hint = f'(the {mark!r} and what follows are part of the value: stalkeer reads no comment after a value; ' \
           'put it on a line of its own)'
    assert all(hint in line for line in errors), errors
    assert bool(errors) != bool(notes), (errors, notes)
    if errors and ((section, key) in stalkeer.NUMBER_LIMITS or (section, key) == ('logging', 'level')):
        # A command that reads the key stops at the same line, the hint with it.
        code, out, err = cli('--config', path, *db, 'status')
        assert code == 2 and err.splitlines()[-1] == errors[0], (errors, err)


# Each origin below holds a path (an sqlite file, a file): a path's reason (trial1 D).
_NOTE = "{where}: ';' in its value looks like an inline comment, which stalkeer reads as part of the value " \
        "(a file name may hold ' ; ')"
_HINT = "(the ';' and what follows are part of the value: stalkeer reads no comment after a value)"


# (what the note calls it, environment, arguments before the command, the command):
# every origin of a value but the file's (test_every_key_says_its_inline_comment).
_COMMENT_ORIGINS = [
    ('--db', {}, ['--db', 'sqlite:///{tmp}/db.sqlite ; note'], ['status']),
    ('DATABASE_URL', {'DATABASE_URL': 'sqlite:///{tmp}/db.sqlite ; note'}, [], ['status']),
    ('STALKEER_DATABASE_URL (environment)', {'STALKEER_DATABASE_URL': 'sqlite:///{tmp}/db.sqlite ; note'},
     [], ['status']),
    ('STALKEER_M3U_FILE_PATH (environment)', {'STALKEER_M3U_FILE_PATH': '{tmp}/p.m3u ; note'}, [],
     ['status']),
    ('STALKEER_LOGGING_FILE (environment)', {'STALKEER_LOGGING_FILE': '{tmp}/l.log ; note'}, [], ['status']),
    ('--log-file', {}, ['--log-file', '{tmp}/l.log ; note'], ['status']),
    ('PLAYLIST', {}, [], ['process', '--dry-run', '{tmp}/p.m3u ; note']),
    ('DEST', {}, [], ['download', 'http://127.0.0.1:9/x.mkv', '{tmp}/x.mkv ; note']),
    # A configuration file whose name holds ' ; ' is read, with a word said.
    ('--config', {}, ['--config', '{tmp}/c.ini ; note'], ['status']),
    ('STALKEER_CONFIG (environment)', {'STALKEER_CONFIG': '{tmp}/c.ini ; note'}, [], ['status']),
]


@pytest.mark.parametrize('where, env, options, command', _COMMENT_ORIGINS)
def test_every_origin_says_its_inline_comment(where, env, options, command, cli, tmp_path,
                                              monkeypatch):
    """An inline comment in --db, DATABASE_URL, a STALKEER_* variable or a
    path given on the command line had no word said: a file named after the
    comment was made (`db.sqlite ; note`). Each now warns at the start of a
    run, and `config --check` notes it, as a key of the file does; a comment
    is no refusal there either (a path may hold ' ; ')."""
    fill = lambda text: text.format(tmp=tmp_path)  # noqa: E731
    for name, value in env.items():
        monkeypatch.setenv(name, fill(value))
    db = [] if any('sqlite' in v for v in env.values()) or options[:1] == ['--db'] else \
        ['--db', f'sqlite:///{tmp_path}/s.db']
    (tmp_path / 'p.m3u ; note').write_text('#EXTM3U\n#EXTINF:-1,A\nhttp://127.0.0.1:9/a.mkv\n')
    (tmp_path / 'c.ini ; note').write_text('[downloads]\n')
    code, out, err = cli(*db, *map(fill, options), *map(fill, command))
    note = _NOTE.format(where=where)
    assert f'stalkeer: {note}' in err.splitlines() or f'stalkeer: warning: {note}' in err.splitlines(), err
    assert 'put comments on a line' not in err and 'Traceback' not in err
    if command[0] != 'status':
        return
    code, out, err = cli(*db, *map(fill, options), 'config', '--check')
    assert f'note: {note}' in out.splitlines(), out + err


@pytest.mark.parametrize('argv, expected', [
    (['--config', '{tmp}/a.ini ; note', 'status'], 'stalkeer: error: config file not found: {tmp}/a.ini ; note '),
    (['STALKEER_CONFIG', '{tmp}/a.ini ; note', 'status'], 'stalkeer: error: config file not found: '),
    (['process', '{tmp}/none.m3u ; note'], 'stalkeer: error: playlist not found: {tmp}/none.m3u ; note '),
    (['--db', 'postgresql://h:5432 ; note/db', 'status'], 'stalkeer: error: --db: '),
    (['--log-file', '{tmp}/none/l.log ; note', 'status'], 'stalkeer: error: --log-file must be a file, but '
     '{tmp}/none/l.log ; note is out of reach '),
])
def test_every_origin_refused_says_its_inline_comment(argv, expected, cli, tmp_path, monkeypatch):
    """A value refused gives the hint in its error, whoever gave it: a path
    given on the command line (--config, PLAYLIST, --log-file) had none."""
    argv = [a.format(tmp=tmp_path) for a in argv]
    if argv[0] == 'STALKEER_CONFIG':
        monkeypatch.setenv('STALKEER_CONFIG', argv.pop(1))
        argv.pop(0)
    db = [] if '--db' in argv else ['--db', f'sqlite:///{tmp_path}/s.db']
    code, out, err = cli(*db, *argv)
    last = err.splitlines()[-1]
    assert code == 2 and last.startswith(expected.format(tmp=tmp_path)) and last.endswith(_HINT), err


def test_a_secret_may_hold_a_semicolon_or_a_hash(tmp_path):
    path = write_ini(tmp_path / 'c.ini', '[radarr]\napi_key = ab ;cd #ef\n[xtream]\npassword = p ;w\n')
    cfg = stalkeer.Config(str(path))
    assert cfg.get('radarr', 'api_key') == 'ab ;cd #ef' and cfg.get('xtream', 'password') == 'p ;w'
    # A password's is not named (it may hold ' ;'); an API key holds no space,
    # so its is, without a character of the value (secret_value_note).
    assert cfg.inline_comment_notes() == [
        "[radarr] api_key holds ';' after a space, which looks like an inline comment: an API key holds "
        'no space, and stalkeer reads no comment after a value; put it on a line of its own']


# Apprise URL shapes from Apprise's wiki (one per notifier page), each as a user
# writes it: a key where urlsplit sees host:port must not be read as a port
# (trial-18a F0: tgram://123456789:TOKEN/CHAT refused every notifying command).
VALID_APPRISE_URLS = [
    'tgram://123456789:AAHSecret7TelegramToken/987654',       # bot token holds a ':'
    'tgram://123456789:AAHSecret7TelegramToken/-100123/456',   # several chats
    'tgram://123456789:AAHSecret7TelegramToken',                # chat found by the bot
    'discord://112233445566/Secret7WebhookToken',
    'mailto://user:Secret7Pass@gmail.com',
    'mailtos://user:Secret7Pass@example.com:587/?to=a@example.com',
    'pover://user@Secret7Token',
    'slack://TokenA/TokenB/Secret7TokenC/Channel',
    'ntfy://127.0.0.1:8080/topic', 'ntfys://user:Secret7Pass@ntfy.example/topic', 'ntfy://topic',
    'json://127.0.0.1:8000/Secret7Hook', 'jsons://user:Secret7Pass@[::1]:8443/x',
    'xml://host/path', 'form://host:65535/', 'gotify://host:8080/Secret7Token',
    'twilio://AccountSid:Secret7AuthToken@15551234567/15557654321',
    'nexmo://ApiKey:Secret7ApiSecret@15551234567/15557654321',
    'msteams://TokenA/TokenB/Secret7TokenC/', 'pbul://Secret7AccessToken',
    'matrix://user:Secret7Pass@matrix.example:8448/#room',
    'rocket://user:Secret7Pass@chat.example:3000/#channel',
    'twist://Secret7Pass:user@example.com', 'sendgrid://Secret7ApiToken:from@example.com/to@example.com',
    'mailto://user:pa[ss@example.com',     # a '[' in a password: urlsplit refuses it, Apprise does not
    'signal://127.0.0.1:8080/+15551234567/', 'apprise://host:8000/Secret7Token',
]
BAD_APPRISE_URLS = [
    ('json://host:0/Secret7Hook', 'the port is 0'),
    ('jsons://host:99999/Secret7Hook', 'the port is above 65535'),
    ('xml://host:x9/Secret7Hook', 'the port is not a number'),
    ('forms://Secret7User:Secret7Pass/x', 'the port is not a number'),   # the '@' forgotten
    ('ntfy://host:0/topic', 'the port is 0'),
    ('gotify://[::1]:70000/Secret7Token', 'the port is above 65535'),
    ('mmost://host:0/Secret7Token', 'the port is 0'),      # digits: no scheme's key is 0
]


@pytest.mark.parametrize('url', VALID_APPRISE_URLS)
def test_a_valid_apprise_url_is_accepted_and_not_shown(url, cli, tmp_path):
    """Apprise reads each scheme its own way: only what is certainly wrong is
    refused (apprise_url_problem), and the URL, a secret, is never shown."""
    assert stalkeer.apprise_url_problem(url) == ''
    path = write_ini(tmp_path / 'c.ini', f'[notify]\napprise_urls = {url}\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 0 and 'config check: ok' in out, err
    assert 'Secret7' not in out + err


@pytest.mark.parametrize('urls, says', [
    ('json://apprise.example:0/Secret7Tok\n  tgram://bot/Secret7Tok2', 'URL 1 of 2: the port is 0'),
    ('tgram://bot/Secret7Tok2, json://apprise.example:x9/Secret7Tok', 'URL 2 of 2: the port is not a number'),
    *((f'tgram://1:Secret7Tok/2 {url}', f'URL 2 of 2: {says}') for url, says in BAD_APPRISE_URLS)])
def test_an_apprise_url_that_is_certainly_wrong_is_refused_by_its_place(urls, says, cli, tmp_path):
    """Port 0 was refused in every URL key but apprise_urls (trial-17b T17B-5).
    Apprise takes many schemes, each read its own way: only what is certainly
    wrong (apprise_url_problem); the URL, a secret, is named by its place."""
    path = write_ini(tmp_path / 'c.ini', f'[notify]\napprise_urls = {urls}\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 2 and f'stalkeer: error: [notify] apprise_urls: {says}; a port is a number from 1 to ' \
        '65535' in err.splitlines(), err
    assert 'Secret7' not in out + err


@pytest.mark.parametrize('urls, says', [
    ('tgram://123456789:Secret7Tok/987654 ; my Secret7bot',
     'URLs 2, 3 and 4 of 4: no scheme:// (every Apprise URL starts with one, as tgram:// or mailto:// do)'),
    ('tgram://1:Secret7Tok/2 # my Secret7bot, json://h/Secret7x',
     'URLs 2, 3 and 4 of 5: no scheme:// (every Apprise URL starts with one, as tgram:// or mailto:// do)'),
    ('Secret7Word', 'URL 1 of 1: no scheme:// (every Apprise URL starts with one, as tgram:// or mailto:// do)'),
    ('tgram://1:Secret7Tok/2 json://', 'URL 2 of 2: nothing after its scheme://'),
    ('://Secret7Host/x', 'URL 1 of 1: no scheme:// (every Apprise URL starts with one, as tgram:// or mailto:// do)')])
def test_an_apprise_entry_that_is_no_url_is_refused_by_its_place(urls, says, cli, tmp_path):
    """A word without scheme:// is no Apprise URL: a `; comment` after a URL
    became three more "URLs", `config --check` said ok (trial-18c N4). One
    mistake is one error line naming every URL it made (a comment of three
    words gave three)."""
    path = write_ini(tmp_path / 'c.ini', f'[notify]\napprise_urls = {urls}\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 2 and f'stalkeer: error: [notify] apprise_urls: {says}' in ' '.join(err.splitlines()), err
    assert [line.startswith('stalkeer: error:') for line in err.splitlines()].count(True) == 1, err
    assert 'Secret7' not in out + err


def test_a_telegram_apprise_url_lets_a_notifying_command_run(cli, tmp_path):
    """Every command that may notify (process, m3u-download, radarr, …) builds
    the Notifier: a Telegram URL stopped them all with exit 2 (trial-18a F0)."""
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Heat (1995)\nhttp://h/movie/1.mkv\n')
    path = write_ini(tmp_path / 'c.ini', '[notify]\napprise_urls = tgram://123456789:AAHSecret7Tok/987654\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'process', playlist)
    assert code == 0, err
    assert 'Secret7' not in out + err


# Valid URL shapes the shared URL checks must take in every http(s) URL key.
VALID_HTTP_URLS = [
    'http://[::1]:8989', 'http://[::1]:8989/radarr', 'http://[::1]/radarr',
    'http://[fe80::1%25eth0]:7878/',                     # an IPv6 zone, percent-encoded
    'http://user:pa:ss@127.0.0.1:7878/',                 # ':' in the password
    'http://user:p%40ss@127.0.0.1:7878/',                # '@' in the password, written %40 (a bare one is refused)
    'http://us%40er:p%3As%2Fs@127.0.0.1/x',              # percent-encoded userinfo
    'http://127.0.0.1/My%20Films/%C3%A9t%C3%A9',         # percent-encoded path
    'https://host.example:65535/', 'http://host.example:1/', 'http://h:/x',
]


@pytest.mark.parametrize('url', VALID_HTTP_URLS)
@pytest.mark.parametrize('section, key', [('radarr', 'url'), ('m3u', 'url'), ('notify', 'webhook_url')])
def test_a_valid_url_shape_is_accepted_by_every_url_key(section, key, url, cli, tmp_path):
    assert stalkeer.url_problem(url) is None
    key_too = 'api_key = 0123456789abcdef0123\n' if section == 'radarr' else ''
    path = write_ini(tmp_path / 'c.ini', f'[{section}]\n{key} = {url}\n{key_too}')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 0 and 'config check: ok' in out, err


def test_config_check_names_every_notify_and_arr_mistake_in_one_run(cli, tmp_path):
    """A wrong webhook_url (or `on`) hid the apprise_urls errors, a wrong
    [radarr] url the missing api_key, until it was fixed (trial-18a F3)."""
    path = write_ini(tmp_path / 'c.ini', '[radarr]\nurl = http://r:0/\n[notify]\non = maybe\n'
                     'webhook_url = http://a:0/\nhealthcheck_url = ftp://h/x\n'
                     'apprise_urls = json://host:0/x xml://h:99999/\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    errors = [line for line in err.splitlines() if line.startswith('stalkeer: error:')]
    for said in ('[notify] on must be', '[notify] webhook_url must be', '[notify] healthcheck_url must be',
                 'apprise_urls: URL 1 of 2: the port is 0', 'apprise_urls: URL 2 of 2: the port is above',
                 '[radarr] url must be', 'Radarr is not configured'):
        assert sum(said in line for line in errors) == 1, (said, errors)
    assert code == 2 and f'config check: {len(errors)} error(s)' in out


# A password holding ':' (Summer:2024): read from the last ':', its "port" was
# digits that looked fine and the whole password was shown (trial-18c N1).
@pytest.mark.parametrize('port', ['20240615', '99999', '77777', '0', '00', 'Secret7x', 'Summer:2024', '12:34',
                                  'p:ss:99', 'p#Secret7@nas', 'p/Secret7@nas'])
@pytest.mark.parametrize('section, key', [('radarr', 'url'), ('notify', 'webhook_url'), ('m3u', 'url')])
def test_a_password_with_the_at_forgotten_is_masked_whatever_its_digits(section, key, port, cli, tmp_path):
    """http://bob:20240615/x (the '@' forgotten) showed the numeric password in
    `config`, the error and the log: a port that is no port (not a number, 0,
    above 65535) is masked with the user before it (trial-18a F4)."""
    log = tmp_path / 'np.log'
    path = write_ini(tmp_path / 'c.ini', f'[{section}]\n{key} = http://Secret7User:{port}/x\n'
                     f'[logging]\nfile = {log}\nlevel = DEBUG\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 2 and 'http://***:***' in out + err, out + err
    code2, out2, err2 = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'status')
    text = out + err + out2 + err2 + (log.read_text() if log.exists() else '')
    for secret in ('Secret7', f':{port}/'):
        assert secret not in text, (secret, text)


@pytest.mark.parametrize('url, shown', [
    ('http://bob:20240615/radarr', 'http://***:***/radarr'), ('http://bob:0/x', 'http://***:***/x'),
    ('http://u:p@h:99999/x', 'http://***:***@h:***/x'), ('http://bob:4242/x', 'http://bob:4242/x'),
    ('http://[::1]:8989/x', 'http://[::1]:8989/x'), ('http://h:8080/movie/u/p/1.mkv',
                                                     'http://h:8080/movie/***/***/1.mkv'),
    ('http://h:99999/movie/u/p/1.mkv', 'http://***:***/movie/***/***/1.mkv'),
    ('http://bob:Summer:2024/x', 'http://***:***/x'), ('http://bob:12:34/get.php', 'http://***:***/get.php'),
    ('http://u:p@h:1:2/x', 'http://***:***@h:***/x'), ('http://[::1]:0/x', 'http://***:***/x'),
    # a password holding '#', '/' or '?': urllib ends the netloc there (trial-18c N2)
    ('http://bob:p#ss@nas:7878/x', 'http://***:***@nas:7878/x'),
    ('http://bob:p/ss@nas:7878/x', 'http://***:***@nas:7878/x'),
    ('http://bob:p?ss@nas/x?apikey=1', 'http://***:***@nas/x?apikey=***'),
    # an '@' in the path that a host follows: masked as a user holding '/' (over-masked)
    ('http://h/films/a@b.com/x.mkv', 'http://***@b.com/x.mkv'),
    # ... unless it lies in an Xtream account's segments, masked anyway: read as
    # requests reads it, the account's domain is not shown as a host (trial 3)
    ('http://h/movies/a@b.com/1.mkv', 'http://h/***/***/1.mkv'),
    ('http://h:8080/movie/a@b.com/Secret7/1.mkv', 'http://h:8080/movie/***/***/1.mkv'),
    # a URL ending a message's words before its ':' (cannot reach … at URL: why)
    ('http://127.0.0.1:38927:', 'http://127.0.0.1:38927:'), ('http://bob:Summer:2024:', 'http://***:***'),
    # after a userinfo, all after the host's ':' (a trailing ':' dropped left its first character shown)
    ('http://u:p@h:Secret7:/x', 'http://***:***@h:***/x'), ('http://u:p@[::1]:Secret7/x', 'http://***:***@[::1]:***/x')])
def test_redact_url_masks_a_port_that_is_no_port(url, shown):
    assert stalkeer.redact_url(url) == shown
    if url.startswith('http://u:p@'):       # `config`'s listing masks the same way (_masked_port)
        assert stalkeer.masked_secret_url(url) == shown.rsplit('/', 1)[0] + '/***'


@pytest.mark.parametrize('netloc, what', [
    ('bob:Summer:99', 'is not a number'), ('bob:12:34', 'is not a number'), ('bob:20240615', 'is above 65535'),
    ('[::1]:99999', 'is above 65535'), ('[::1]:x', 'is not a number')])
def test_the_port_is_read_as_urllib_reads_it(netloc, what):
    """After the host's first ':' (after ']' for IPv6), as urllib reads it: from
    the last one, 'bob:Summer:99' was "above 65535" of a port that is no number."""
    assert stalkeer.port_problem(urllib.parse.urlsplit(f'http://{netloc}/x')) == \
        f'the port {what}; a port is a number from 1 to 65535'


@pytest.mark.parametrize('setting', ['download URL', 'm3u-download --url'])
def test_a_command_line_url_refuses_a_space_as_the_url_keys_do(setting, cli, tmp_path, monkeypatch):
    """`m3u-download --url 'http://h/p.m3u ; c'` requested /p.m3u%20;%20c and
    got HTTP 404 while [m3u] url refused it (trial-18a F7): one rule."""
    _, run, named = URL_SETTINGS[setting]
    code, out, err = run(cli, tmp_path, 'http://Secret7User:Secret7Pass@127.0.0.1:9/p.m3u ; c', monkeypatch)
    assert code == 2 and err.splitlines() == [
        f"stalkeer: error: {named or 'download URL'} must be an http:// or https:// URL, got "
        "'http://***:***@127.0.0.1:9/p.m3u ; c' (a space in the URL: no URL holds one, a space in a "
        "name is written %20) (the ';' and what follows are part of the value: stalkeer reads no comment "
        "after a value)"], err


@pytest.mark.parametrize('url', ['http://:0', 'http://:0/x', 'https://:99999/', 'http://:x9/', 'http://bob@:0/'])
def test_a_url_without_a_host_says_so_before_its_port(url):
    """`http://:0` was "the port is 0" (trial-18a F8): the host is missing first."""
    assert stalkeer.url_problem(url) == 'URL without a host'


@pytest.mark.parametrize('half', ['username = Secret7User', 'password = Secret7Pass'])
def test_config_check_names_a_half_xtream_account_beside_a_wrong_panel_url(half, cli, tmp_path):
    """A wrong [xtream] url hid the half-given account until it was fixed
    (trial-18a F3's pattern, in [xtream])."""
    path = write_ini(tmp_path / 'c.ini', f'[xtream]\nurl = http://panel.example:0/\n{half}\n')
    code, out, err = cli('--config', path, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert code == 2 and '[xtream] url must be an http:// or https:// URL' in err, err
    assert 'is set without the other: [xtream] username and [xtream] password go together' in err, err
    assert 'Secret7' not in out + err


# -- what url_problem accepts is what requests can use --------------------------------------

# Odd URLs as users write, paste or mistype them; the account is Secret7… wherever
# it stands, so that no refusal may show it.
ODD_URLS = [
    # brackets: an '@' forgotten before a bracketed host, or a host after a ':'
    'http://Secret7User:[::1]/x', 'http://Secret7User:[::1]:8080/x', 'http://[::1]/x', 'http://[::1]:8989/x',
    'http://[::1]x/x', 'http://[::1]]/x', 'http://[[::1]/x', 'http://[::1/x', 'http://::1]/x',
    'http://b[ob]/x', 'http://[bob]/x', 'http://[v1.fe]/x', 'http://[127.0.0.1]/x',
    'http://Secret7User:Secret7[Pass]@h/x', 'http://Secret7[User]@h/x', 'http://u:p@[::1]:8080/x',
    # IPv6 without brackets, zone ids
    'http://::1/x', 'http://fe80::1/x', 'http://u@::1/x', 'http://[::ffff:127.0.0.1]/x',
    'http://[fe80::1%eth0]/x', 'http://[fe80::1%25eth0]:7878/x', 'http://[fe80::1%25]/x', 'http://[fe80::1%]/x',
    # no host
    'http:///x', 'http://@/x', 'http://Secret7User:Secret7Pass@/x', 'http://:8080/x', 'http://?x', 'http://#x',
    'http:h/x', 'http:/h/x', 'http://',
    # userinfo holding ':', '@', '#', '/', '?'
    'http://Secret7User:Secret7:Pass@h/x', 'http://Secret7User:Secret7@Pass@h/x', 'http://Secret7@User@h/x',
    'http://Secret7User:Secret7#Pass@h/x', 'http://Secret7User:Secret7/Pass@h/x',
    'http://Secret7User:Secret7?Pass@h/x', 'http://Secret7User:Secret7Pass/x', 'http://Secret7User:Summer:2024/x',
    'http://Secret7User:20240615/x', 'http://h:80@x/x',
    # ports: signs, spaces, other scripts' digits, leading zeros, empty, two
    'http://h:+80/x', 'http://h:-80/x', 'http://h: 80/x', 'http://h:80 /x', 'http://h:٨٠/x', 'http://h:８０/x',
    'http://h:１/x', 'http://h:0080/x', 'http://h:/x', 'http://h:0/x', 'http://h:65535/x', 'http://h:65536/x',
    'http://h:80:80/x', 'http://h:0x50/x', 'http://h:8_0/x',
    # percent-encoding in the host, the userinfo, the path
    'http://h%41/x', 'http://%68/x', 'http://h%00/x', 'http://h%2f/x', 'http://h%2Fx/y',
    'http://Secret7%40User:Secret7%3APass@h/x', 'http://h/My%20Films/%C3%A9t%C3%A9', 'http://h/%zz',
    # international names, odd labels, trailing dots, IPv4 look-alikes
    'http://bücher.de/x', 'http://xn--bcher-kva.de/x', 'http://BÜCHER.de/x', 'http://☃.net/x',
    'http://a\u202eb/x', 'http://ab\u200dc/x', 'http://h\u00a0x/x', 'http://ｈｏｓｔ.example/x',
    'http://h./x', 'http://h../x', 'http://.h/x', 'http://h_x/x', 'http://-h/x', 'http://' + 'a' * 64 + '.example/x',
    'http://' + 'a' * 63 + '.example/x', 'http://1.2.3.4.5/x', 'http://999.1.1.1/x', 'http://127.0.0.1/x',
    'http://127.1/x', 'http://127.0.0.1./x',
    # whitespace, quotes, backslashes
    ' http://h/x', 'http://h/x ', 'http://h x/x', 'http://h/x y', 'http://h\t/x', 'http://h/x\n',
    'http://"h"/x', '"http://h/x"', "'http://h/x'", 'http://h/"x"', 'http:\\\\h\\x', 'http:/\\h/x', 'http://h\\x',
    'http://Secret7User:Secret7\\Pass@h/x',
    # schemes in odd case, other schemes, none
    'HTTP://h/x', 'hTTps://h/x', 'HTTPS://H:443/X', 'ftp://h/x', 'javascript:alert(1)', 'h/x', '//h/x',
    'Secret7User:Secret7Pass@h/x', 'http//h/x', 'http:://h/x',
]


def _requests_host(url):
    """The host requests would connect to for ``url`` (prepared by requests,
    read by urllib3 as its connection pool does), which must be one a name
    lookup takes: a bracketed IPv6 address, a dotted IPv4 one, or a name
    Python's socket can encode (its 'idna' codec: no empty or 63+ character
    label) of letters, digits, '-' and '_'. Raises what requests raises."""
    import ipaddress

    import requests
    import urllib3
    prepared = requests.Request('GET', url).prepare().url
    host = urllib3.util.parse_url(prepared).host
    assert host, prepared
    if host.startswith('['):
        ipaddress.IPv6Address(host[1:-1].replace('%25', '%'))
        return host
    host.encode('idna')
    assert all(c.isascii() and (c.isalnum() or c in '-_.') for c in host), host
    if all(label.isdigit() for label in host.rstrip('.').split('.')):
        ipaddress.IPv4Address(host.rstrip('.'))
    return host


@pytest.mark.parametrize('url', ODD_URLS, ids=ascii)
def test_a_url_the_check_accepts_is_one_requests_can_use(url):
    """`http://bob:[::1]/x` passed `config --check` (urlsplit takes host ::1)
    and the run failed with "redirected to an invalid address" (urllib3 refuses
    it). url_problem, the one rule of every URL setting, argument and playlist
    line, accepts only what requests prepares and urllib3 reads into a host a
    connection can be made to; what it refuses it says in one line, naming
    the problem, without the account."""
    problem = stalkeer.url_problem(url)
    if problem is None:
        _requests_host(url)
        return
    assert problem and '\n' not in problem and 'Secret7' not in problem, problem
    error = stalkeer.http_url_error('[m3u] url', url)
    assert error and '\n' not in error and 'Secret7' not in error, error
    assert error.endswith(f'({problem})'), error


@pytest.mark.parametrize('url', [url for url in ODD_URLS if url.strip() == url and ' ' not in url], ids=ascii)
def test_a_url_requests_can_use_is_accepted_or_refused_for_a_reason(url):
    """The other way: a URL requests reads and sends to a usable host is
    refused only for one of the reasons below (none says "unparsable" of a
    URL that parses)."""
    try:
        _requests_host(url)
    except Exception:
        return
    problem = stalkeer.url_problem(url)
    assert problem is None or problem.startswith((
        "a '[' or ']' in the user or password", "a '\\' before the path", "a '%' in the host",
        # an unencoded '@' in the password: requests reads it, but a '/', '?' or '#'
        # beside it would not be, and one rule says all four (test_secrets)
        "an '@', '/', '?' or '#' in the user or password",
        'the host is no IPv4 address', 'the port is', 'URL is not http/https')), problem


# Userinfos whose password (or user) holds '/', '?' or '#' where urllib reads a
# valid host and port before it (bob:43817 is host 'bob', port 43817): the run
# went to host 'bob' with the rest of the password as path, query or fragment.
# In [notify] apprise_urls (json://) the '/' made "the port is not a number".
SEPARATOR_USERINFOS = ['Secret7User:43817/Secret7x', 'Secret7User:43817?Secret7x', 'Secret7User:43817#Secret7x',
                       'Secret7User/Secret7x', 'Secret7User:Secret7/Pass', 'Secret7User:Secret7Pa@ss']
USERINFO_HINT = "an '@', '/', '?' or '#' in the user or password: write them as %40, %2F, %3F and %23"
# Those whose netloc holds no '@' and a valid port (or none): in a provider's
# line the '@' is read as part of the path or query, as requests sends it.
READ_AS_PATH_IN_A_LINE = SEPARATOR_USERINFOS[:4]


@pytest.mark.parametrize('userinfo', SEPARATOR_USERINFOS)
@pytest.mark.parametrize('setting', list(URL_SETTINGS))
def test_every_url_setting_refuses_a_url_separator_in_the_userinfo_with_the_hint(setting, userinfo, cli,
                                                                                 tmp_path, monkeypatch):
    """Every URL setting, argument and playlist line refuses it with the one
    encoding hint (userinfo_problem), naming itself, quoting no part of the
    user or password (nor the digits urllib took for a port)."""
    scheme, run, named = URL_SETTINGS[setting]
    code, out, err = run(cli, tmp_path, f'{scheme}://{userinfo}@127.0.0.1:9/test', monkeypatch)
    text = out + err
    said = [line for line in text.splitlines() if USERINFO_HINT in line]
    if setting == 'playlist line' and userinfo in READ_AS_PATH_IN_A_LINE:
        # A provider's line whose netloc holds no '@' and a valid port is read as
        # requests sends it (an Xtream e-mail account: test_secrets), never shown.
        assert not said and code == 0, text
        for secret in ('Secret7', ':43817', '43817/', 'Traceback'):
            assert secret not in text, (setting, secret, text)
        return
    assert len(said) == 1, (setting, text)
    if named:
        assert named in said[0], (setting, said)
    assert code == (0 if setting == 'playlist line' else 2), (setting, text)
    for secret in ('Secret7', ':43817', '43817/', 'Traceback', 'port is'):
        assert secret not in text, (setting, secret, text)


@pytest.mark.parametrize('setting', list(URL_SETTINGS))
def test_every_url_setting_refuses_a_bracketed_host_after_a_colon(setting, cli, tmp_path, monkeypatch):
    """`http://bob:[::1]/x` (the '@' forgotten before a bracketed host) passed
    `config --check` as [m3u] url: urlsplit reads host ::1, and the run failed
    with "redirected to an invalid address" (urllib3 refuses it); [database]
    url would connect to ::1 as nobody. Every URL setting, argument and
    playlist line refuses it in url_problem's words, naming itself, without
    the user (which is all that stands before the ':')."""
    scheme, run, named = URL_SETTINGS[setting]
    code, out, err = run(cli, tmp_path, f'{scheme}://Secret7User:[::1]/x', monkeypatch)
    text = out + err
    said = [line for line in text.splitlines()
            if "'[' and ']' go around a whole IPv6 host only, as in [::1]:8080 (an '@' forgotten before it?)" in line]
    assert said, (setting, text)
    if named:
        assert named in said[0], (setting, said)
    assert code == (0 if setting == 'playlist line' else 2), (setting, text)
    assert 'Secret7' not in text and 'Traceback' not in text, (setting, text)


# -- one hint for a value, whoever gave it -------------------------------------------------

@pytest.mark.parametrize('quotes', ['""', "''", '\u201c\u201d'], ids=['double', 'single', 'typographic'])
@pytest.mark.parametrize('setting', [name for name in URL_SETTINGS if name != 'playlist line'])
def test_every_url_setting_hints_at_the_quotes_around_its_value(setting, quotes, cli, tmp_path, monkeypatch):
    """`m3u-download --url '"http://…"'` (a URL pasted from docs with its
    quotes) got no hint, nor did a STALKEER_* variable or --db (a docker
    --env-file keeps quotes): value_hint is the one hint for a value, whether
    a key of the file, a variable, an option or an argument gave it. The URL
    is shown with its quotes, its account masked."""
    scheme, run, named = URL_SETTINGS[setting]
    url = f'{quotes[0]}{scheme}://Secret7User:Secret7Pass@127.0.0.1:9/x{quotes[1]}'
    code, out, err = run(cli, tmp_path, url, monkeypatch)
    said = [line for line in err.splitlines() if line.startswith('stalkeer: error: ')
            and line.endswith('(the quotes are part of the value: stalkeer takes a value as written; '
                              'give it without them)')]
    assert code == 2 and said and (named or 'download URL') in said[0], (setting, err)
    assert 'Secret7' not in out + err, (setting, out + err)


@pytest.mark.parametrize('mark', [';', '#'])
@pytest.mark.parametrize('setting', [name for name in URL_SETTINGS if name != 'playlist line'])
def test_every_url_setting_hints_at_a_comment_after_its_value(setting, mark, cli, tmp_path, monkeypatch):
    """The inline-comment hint was the file's only: `--url 'http://h/p.m3u ;
    mine'`, `download`, a STALKEER_* variable and --db got "a space in the URL"
    alone. The file's hint adds where a comment goes (a line of its own)."""
    scheme, run, named = URL_SETTINGS[setting]
    code, out, err = run(cli, tmp_path, f'{scheme}://Secret7User:Secret7Pass@127.0.0.1:9/x {mark} mine',
                         monkeypatch)
    hint = f'(the {mark!r} and what follows are part of the value: stalkeer reads no comment after a value'
    said = [line for line in err.splitlines() if line.startswith('stalkeer: error: ') and hint in line]
    in_file = (named or '').startswith('[')
    named = '[notify] apprise_urls: URL' if setting == 'apprise_urls' else named or 'download URL'
    assert code == 2 and said and named in said[0], (setting, err)
    assert said[0].endswith(hint + ('; put it on a line of its own)' if in_file else ')')), (setting, said)
    assert 'Secret7' not in out + err, (setting, out + err)


@pytest.mark.parametrize('value, hint', [
    ('"http://h/x"', 'quotes'), ("'http://h/x'", 'quotes'), ('\u201chttp://h/x\u201d', 'quotes'),
    ('\u00abhttp://h/x\u00bb', 'quotes'), ('"http://h/x', 'quotes'), ('http://h/x ; mine', "';'"),
    ('http://h/x # mine', "'#'"), ('; mine', "';'"), ('http://h/x#frag', None), ('http://h/x;y', None),
    ("http://h/it's", None), ('', None), (None, None)])
def test_value_hint_names_quotes_and_comments_only(value, hint):
    said = stalkeer.value_hint(value)
    assert (hint in said) if hint else said == '', said


def test_a_database_url_is_held_to_the_bracket_rule_only(tmp_path):
    """[database] url is split by urlsplit alone, its host may be a socket
    folder: of the http(s) host rules only the brackets apply (a '\\' in
    its password is the driver's business); `postgresql://bob:[::1]/db` was
    host ::1 with no user."""
    spec = stalkeer.parse_database_url('postgresql://u:pa\\ss@%2Fvar%2Frun%2Fpg/db', str(tmp_path))
    assert spec['password'] == 'pa\\ss'
    for url, says in [('postgresql://Secret7User:[::1]/db', "'[' and ']' go around a whole IPv6 host only"),
                      ('postgresql://u:Secret7[Pass@h/db', "a '[' or ']' in the user or password")]:
        with pytest.raises(stalkeer.ConfigError) as caught:
            stalkeer.parse_database_url(url, str(tmp_path))
        assert says in str(caught.value) and 'Secret7' not in str(caught.value)


# -- a URL refusal names the real cause, and shows the host -------------------------

# (URL, as the error shows it, the cause): the cause the URL has, not what a
# reading past it made of it, and the host shown where it is surely no user.
_URL_CAUSES = [
    # An IPv6 host without [ ], with a port after it, was "URL without a host".
    ('http://::1:18931/get.m3u', 'http://::1:18931/get.m3u', 'an IPv6 host is written in [ ]'),
    ('http://::1:8080/a.mkv', 'http://::1:8080/a.mkv', 'an IPv6 host is written in [ ]'),
    ('http://fe80::1/a.mkv', 'http://fe80::1/a.mkv', 'an IPv6 host is written in [ ]'),
    # A '\' after host:port was "the port is not a number", the host masked as a user.
    ('http://127.0.0.1:18931\\get.m3u', 'http://127.0.0.1:18931\\get.m3u', "a '\\' before the path"),
    ('http://h\\d.mkv', 'http://h\\d.mkv', "a '\\' before the path"),
    ('http://[::1]:80\\x', 'http://[::1]:80\\x', "a '\\' before the path"),
    # ... but before it a port that is no number: the '@' forgotten, a password.
    ('http://bob:Secret7\\x/y', 'http://***:***/y', 'the port is not a number'),
    # A comment after the URL: the URL before it is judged, the comment shown as
    # written; the port was "1 # mine", not a number, and the host masked.
    ('http://127.0.0.1:1 # mine', 'http://127.0.0.1:1 # mine', 'a space in the URL'),
    ('http://127.0.0.1:1/get.php?username=bob&password=Secret7 ; note',
     'http://127.0.0.1:1/get.php?username=***&password=*** ; note', 'a space in the URL'),
    # A ';' before an '@' or a path may be in a password: never shown as a comment.
    ('http://bob:Secret7 ;x@h/p', 'http://***:***@h/p', 'a space in the URL'),
    ('http://h:1 ; x/movie/bob/Secret7/1.mkv', 'http://***:***/movie/***/***/1.mkv', 'a space in the URL'),
]


@pytest.mark.parametrize('url, shown, cause', _URL_CAUSES)
def test_a_url_refusal_names_its_real_cause(url, shown, cause):
    error = stalkeer.http_url_error('download URL', url, stalkeer.space_problem(url), argument=True)
    assert error.startswith(f'download URL must be an http:// or https:// URL, got {shown!r} ({cause}'), error
    assert 'Secret7' not in error


@pytest.mark.parametrize('origin', ['file', 'environment', 'argument'])
@pytest.mark.parametrize('url, shown, cause', [case for case in _URL_CAUSES if 'Secret7' not in case[0]])
def test_every_origin_of_a_url_gets_the_same_cause(origin, url, shown, cause, cli, tmp_path, monkeypatch):
    db = ['--db', f'sqlite:///{tmp_path}/s.db']
    if origin == 'argument':
        code, out, err = cli(*db, 'm3u-download', '--url', url)
        where = '--url'
    elif origin == 'environment':
        monkeypatch.setenv('STALKEER_M3U_URL', url)
        code, out, err = cli(*db, 'm3u-download')
        where = 'STALKEER_M3U_URL (environment)'
    else:
        ini = write_ini(tmp_path / 'c.ini', f'[m3u]\nurl = {url}\n')
        code, out, err = cli('--config', ini, *db, 'm3u-download')
        where = '[m3u] url'
    last = err.splitlines()[-1]
    assert code == 2 and last.startswith(
        f'stalkeer: error: {where} must be an http:// or https:// URL, got {shown!r} ({cause}'), err
