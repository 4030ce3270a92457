"""Bad input in the configuration and on the command line: one line naming what
was wrong, exit 2, never a traceback (README: What bad input gets)."""

import argparse
import json
import sqlite3

import pytest

import stalkeer
from conftest import run_stalkeer, subprocess_env

NON_FINITE = ['nan', 'NaN', 'inf', '-inf', 'Infinity', '1e400']


def one_line_error(code, err, needle):
    assert code == 2, err
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err


def write_ini(tmp_path, text, name='s.ini', encoding='utf-8'):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


# -- numeric config keys ----------------------------------------------------------------

# Every numeric key of stalkeer.ini (written out: a key the table forgets is caught).
NUMERIC_KEYS = [
    ('downloads', 'connect_timeout'), ('downloads', 'read_timeout'),
    ('downloads', 'retry_attempts'), ('downloads', 'max_retry_attempts'),
    ('downloads', 'retry_backoff_seconds'), ('downloads', 'retry_backoff_max_seconds'),
    ('downloads', 'progress_interval_mb'), ('downloads', 'progress_interval_seconds'),
    ('downloads', 'lock_timeout_seconds'), ('downloads', 'min_free_space_mb'),
    ('downloads', 'max_parallel'), ('downloads', 'max_connections_per_host'),
    ('radarr', 'timeout'), ('sonarr', 'timeout'),
    ('matching', 'lookups_per_run'), ('matching', 'lookup_cache_days'),
    ('matching', 'runtime_tolerance_percent'), ('matching', 'runtime_tolerance_minutes'),
    ('m3u', 'retention_count'), ('m3u', 'max_file_size_mb'),
    ('xtream', 'timeout'), ('xtream', 'info_refresh_hours'),
    ('serve', 'refresh_seconds'), ('logging', 'progress_log_seconds'),
]
# Below every minimum, above every maximum, not numbers at all.
NUMERIC_CASES = [(section, key, bad) for section, key in NUMERIC_KEYS
                 for bad in NON_FINITE + ['-1', '999999999999', '', 'ten']]


def test_the_numeric_keys_are_the_table():
    assert sorted(stalkeer.NUMBER_LIMITS) == sorted(NUMERIC_KEYS)


@pytest.mark.parametrize('section, key, bad', NUMERIC_CASES)
def test_every_numeric_key_refuses_non_finite_and_out_of_range(section, key, bad, tmp_path, cli,
                                                               sqlite_url):
    ini = write_ini(tmp_path, f'[{section}]\n{key} = {bad}\n')
    # `status` reads none of these keys itself: every one is checked at start.
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'status')
    one_line_error(code, err, f'[{section}] {key} must be')


@pytest.mark.parametrize('section, key', NUMERIC_KEYS)
def test_environment_values_are_checked_the_same_way(section, key, monkeypatch, cli, sqlite_url):
    name = f'STALKEER_{section}_{key}'.upper()
    monkeypatch.setenv(name, 'inf')
    code, out, err = cli('--db', sqlite_url, 'status')
    one_line_error(code, err, f'{name} (environment) must be')


@pytest.mark.parametrize('section, key', NUMERIC_KEYS)
def test_the_bounds_themselves_are_accepted(section, key, tmp_path):
    kind, low, high = stalkeer.NUMBER_LIMITS[(section, key)]
    for value in (low, high):
        cfg = stalkeer.Config(str(write_ini(tmp_path, f'[{section}]\n{key} = {value}\n')), env={})
        assert cfg.getnumber(section, key) == value


@pytest.mark.parametrize('line, needle', [
    ('progress_interval_mb = inf', '[downloads] progress_interval_mb'),
    ('min_free_space_mb = 1e400', '[downloads] min_free_space_mb'),
    ('lock_timeout_seconds = inf', '[downloads] lock_timeout_seconds'),
])
def test_the_reported_examples(line, needle, tmp_path, sqlite_url):
    ini = write_ini(tmp_path, f'[downloads]\n{line}\n')
    code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'resume-downloads')
    one_line_error(code, err, needle)


def test_every_default_is_within_its_bounds():
    cfg = stalkeer.Config(None, env={})
    cfg.check()
    assert set(stalkeer.NUMBER_LIMITS) <= {(s, k) for s, keys in stalkeer.DEFAULTS.items() for k in keys}


# -- the file itself ----------------------------------------------------------------------

def test_a_latin1_byte_names_the_file_and_line(tmp_path, sqlite_url):
    ini = write_ini(tmp_path, '[m3u]\nfile_path = playlist.m3u\nurl = http://caf\u00e9/x\n',
                    encoding='latin-1')
    code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'status')
    one_line_error(code, err, f'config file {ini} line 3 is not UTF-8 (byte 0xe9)')


def test_a_utf8_bom_is_fine(tmp_path, cli, sqlite_url):
    ini = write_ini(tmp_path, b'\xef\xbb\xbf[downloads]\nmax_parallel = 2\n')
    assert stalkeer.Config(str(ini), env={}).getnumber('downloads', 'max_parallel') == 2


@pytest.mark.parametrize('key, value', [('api_key', '0123456789abcdef\u20ac'),
                                        ('api_key', 'abc\x01def0123456789')])
def test_an_api_key_that_cannot_be_a_header_is_one_line(key, value, tmp_path, sqlite_url):
    ini = write_ini(tmp_path, f'[radarr]\nurl = http://127.0.0.1:9\n{key} = {value}\n')
    code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'radarr', '--dry-run')
    one_line_error(code, err, '[radarr] api_key has a character that cannot be sent in an HTTP header')
    assert '0123456789abcdef' not in err and 'def0123456789' not in err


def test_a_user_agent_that_cannot_be_a_header_is_one_line(tmp_path, sqlite_url):
    ini = write_ini(tmp_path, '[downloads]\nuser_agent = Lecteur\u2122\n')
    code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'download',
                                  'http://127.0.0.1:9/x.mkv', tmp_path / 'x.mkv')
    one_line_error(code, err, '[downloads] user_agent has a character')


# -- unknown sections, keys and variables ---------------------------------------------------

def test_unknown_keys_warn_once_each_with_the_closest_known(tmp_path, sqlite_url):
    ini = write_ini(tmp_path, '[downlaods]\nmovies_path = /x\n'
                              '[downloads]\nmovie_path = /y\nmax_paralel = 2\n'
                              '[radarr]\ntvshows_path = /z\n'
                              '[DEFAULT]\nurl = http://everywhere\n')
    env = subprocess_env(STALKEER_DOWNLOADS_READTIMEOUT='3', STALKEER_SERVE_TOKN='x',
                         STALKEER_TEST_SOMETHING='mine')
    code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'status', env=env)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines == [
        f'stalkeer: {ini}: [downlaods] movies_path is ignored: unknown section '
        '(did you mean [downloads] movies_path?)',
        f'stalkeer: {ini}: [downloads] movie_path is ignored: unknown key '
        '(did you mean [downloads] movies_path?)',
        f'stalkeer: {ini}: [downloads] max_paralel is ignored: unknown key '
        '(did you mean [downloads] max_parallel?)',
        f'stalkeer: {ini}: [radarr] tvshows_path is ignored: unknown key '
        '(did you mean [downloads] tvshows_path?)',
        f'stalkeer: {ini}: [DEFAULT] url is ignored: unknown section',
        'stalkeer: environment variable STALKEER_DOWNLOADS_READTIMEOUT is not a stalkeer '
        'setting, ignored (did you mean STALKEER_DOWNLOADS_READ_TIMEOUT?)',
        'stalkeer: environment variable STALKEER_SERVE_TOKN is not a stalkeer setting, '
        'ignored (did you mean STALKEER_SERVE_TOKEN?)',
    ]


def test_a_default_section_does_not_leak_into_every_section(tmp_path):
    cfg = stalkeer.Config(str(write_ini(tmp_path, '[DEFAULT]\nurl = http://x\n')), env={})
    assert cfg.get('radarr', 'url') == '' and cfg.get('m3u', 'url') == ''


def test_the_sample_ini_and_a_clean_environment_warn_nothing(monkeypatch):
    from conftest import ROOT
    cfg = stalkeer.Config(str(ROOT / 'stalkeer.ini'), env={'STALKEER_CONFIG': 'x',
                                                          'STALKEER_DATABASE_URL': 'sqlite://',
                                                          'STALKEER_RADARR_TIMEOUT': '5'})
    assert cfg.unknown_keys() == []


# -- numeric options of every command -------------------------------------------------------

def numeric_options():
    """(command, option) for every option whose value is a number."""
    parser = stalkeer.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command, subparser in sub.choices.items():
        for action in subparser._actions:
            if action.type is not None and action.type not in (str,):
                yield command, action


def test_every_numeric_option_goes_through_the_bounded_parser():
    found = list(numeric_options())
    assert len(found) >= 14
    for command, action in found:
        assert action.type not in (int, float), (command, action.dest)
        assert action.type.__qualname__.startswith('_number_arg'), (command, action.dest)
        for bad in NON_FINITE + ['-1e30', '1e30', 'x']:
            with pytest.raises(argparse.ArgumentTypeError):
                action.type(bad)


@pytest.mark.parametrize('argv, needle', [
    (['resume-downloads', '--limit', '0'], '--limit: must be a whole number from 1'),
    (['resume-downloads', '--limit', '-1'], '--limit: must be a whole number from 1'),
    (['resume-downloads', '--parallel', '0'], '--parallel: must be a whole number from 1 to 64'),
    (['resume-downloads', '--max-retries', '-1'], '--max-retries: must be a whole number from 0'),
    (['radarr', '--limit', '0'], '--limit: must be'),
    (['radarr', '--parallel', '65'], '--parallel: must be'),
    (['sonarr', '--series-id', '0'], '--series-id: must be'),
    (['sonarr', '--series-id', '99999999999999999999'], '--series-id: must be'),
    (['process', '--limit', 'nan'], '--limit: must be'),
    (['status', '--limit', '0'], '--limit: must be'),
    (['unlock', '-3'], 'argument ID: must be'),
    (['unlock', '99999999999999999999'], 'argument ID: must be'),
    (['retry', '0'], 'argument ID: must be'),
    (['cleanup', '--older-than', 'nan'], '--older-than: must be a number from 0 to 36500'),
    (['cleanup', '--older-than', '-1'], '--older-than: must be'),
    (['cleanup', '--older-than', 'inf'], '--older-than: must be'),
    (['m3u-cleanup-archives', '--retention', '-1'], '--retention: must be a whole number from 0'),
    (['serve', '--port', '65536'], '--port: must be a whole number from 0 to 65535'),
    (['serve', '--port', '-1'], '--port: must be'),
])
def test_numeric_options_refuse_bad_values_in_one_line(argv, needle, cli, sqlite_url):
    code, out, err = cli(*argv, '--db', sqlite_url)
    one_line_error(code, err, needle)


def test_resume_downloads_limit_and_parallel_are_honoured(cli, sqlite_url):
    # 1 is the least: the old "0 means no limit / the default" is gone.
    code, out, err = cli('resume-downloads', '--limit', '1', '--parallel', '1', '--dry-run',
                         '--db', sqlite_url)
    assert code == 0 and 'nothing to resume' in out


# -- URLs that cannot be requested -------------------------------------------------------------

BAD_URLS = [
    ('http://[2001:db8::1:8080/movie/u/p/1.mkv', 'unparsable URL: unbalanced [ ] around the host'),
    ('http://h:99999/movie/u/p/2.mkv', 'the port is above 65535; a port is a number from 1 to 65535'),
    ('http://h:80x/movie/u/p/3.mkv', 'the port is not a number; a port is a number from 1 to 65535'),
    ('http:///movie/u/p/4.mkv', 'URL without a host'),
    ('http://h/movie/u/p/5\x7f.mkv', 'URL contains control characters'),
]


def test_process_counts_unrequestable_urls_as_malformed(cli, tmp_path, sqlite_url):
    playlist = tmp_path / 'p.m3u'
    good = ['http://h:8080/movie/u/p/10.mkv', 'http://[2001:db8::1]:8080/movie/u/p/11.mkv',
            'http://u:pw@h/movie/12.mkv']
    lines = [(f'Film {i} (2000)', url) for i, url in enumerate(good + [u for u, _ in BAD_URLS])]
    playlist.write_text('#EXTM3U\n' + ''.join(f'#EXTINF:-1 group-title="Movies",{t}\n{u}\n'
                                              for t, u in lines), encoding='utf-8')
    code, out, err = cli('--db', sqlite_url, 'process', playlist, '--json')
    assert code == 0, err
    summary = json.loads(out)
    assert summary['entries'] == 3 and summary['new'] == 3 and summary['malformed'] == 5
    # Each named at its URL's line (the EXTINF is the line before it), by url_problem's reason.
    assert summary['malformed_samples'] == [{'line': 3 + 2 * (3 + i), 'reason': reason, 'related_line': None}
                                            for i, (_, reason) in enumerate(BAD_URLS)]
    stored = [u for (u,) in sqlite3.connect(tmp_path / 'stalkeer.db').execute(
        'SELECT url FROM processed_lines ORDER BY id')]
    assert stored == good
    code, out, err = cli('--db', sqlite_url, 'process', playlist)
    assert 'malformed 5' in out and 'line 9: unparsable URL: unbalanced [ ] around the host' in out


@pytest.mark.parametrize('url, reason', BAD_URLS)
def test_download_refuses_an_unrequestable_url_in_one_line(url, reason, tmp_path, sqlite_url):
    code, out, err = run_stalkeer('download', url, tmp_path / 'x.mkv', '--db', sqlite_url)
    one_line_error(code, err, reason)
    assert '/u/p/' not in err


# -- a malformed database URL is bad input like any other (trial 101114 F1) -------------------

@pytest.mark.parametrize('url, says', [
    ('postgresql://postgres:DbPassw0rd@[::1:5432/x', 'unparsable URL: unbalanced [ ] around the host'),
    ('postgresql://postgres:DbPassw0rd@127.0.0.1:99999/x', 'the port is above 65535; a port is a number from 1 to 65535'),
    ('postgresql://postgres:DbPassw0rd@127.0.0.1:5x/x', 'the port is not a number; a port is a number from 1 to 65535'),
    # parse_qsl dropped blank values and kept the last of a repeated key, so these
    # silently meant the public schema, or schema b (trial-15e F6)
    ('postgresql://postgres:DbPassw0rd@127.0.0.1/x?schema=', 'the query parameter schema= is empty'),
    ('postgresql://postgres:DbPassw0rd@127.0.0.1/x?schema=a&schema=b', 'schema= is given more than once'),
    ('postgresql://postgres@127.0.0.1/x?sslmode=disable&sslmode=require', 'sslmode= is given more than once'),
    ('postgresql://postgres@127.0.0.1/x?password=DbPassw0rd&password=DbPassw0rd', 'password= is given more'),
    ('postgresql://postgres:DbPassw0rd@127.0.0.1/x?schema=a&sslmode', 'the query parameter sslmode= is empty'),
    ('postgresql://postgres:DbPassw0rd@127.0.0.1/x?=DbPassw0rd', 'a query parameter has no name'),
])
@pytest.mark.parametrize('where', ['--db', 'DATABASE_URL', 'ini'])
def test_a_malformed_database_url_is_one_line_and_exit_2(url, says, where, tmp_path):
    from conftest import run_stalkeer, subprocess_env
    env, argv = subprocess_env(), []
    if where == '--db':
        argv = ['--db', url]
    elif where == 'DATABASE_URL':
        env['DATABASE_URL'] = url
    else:
        (tmp_path / 'bad.ini').write_text(f'[database]\nurl = {url}\n')
        argv = ['--config', tmp_path / 'bad.ini']
    for command in (['status'], ['migrate'], ['config', '--check']):
        code, out, err = run_stalkeer(*argv, *command, env=env, cwd=tmp_path)
        assert code == 2, (command, out + err)
        assert 'Traceback' not in err and 'DbPassw0rd' not in out + err
        assert says in err and len(err.strip().splitlines()) == 1, err
    # `config` still lists every key, and names the error as --check does (it
    # said nothing and exited 0: a value every command refuses looked fine).
    code, out, err = run_stalkeer(*argv, 'config', env=env, cwd=tmp_path)
    assert code == 2 and '[database]' in out and 'DbPassw0rd' not in out + err
    assert says in err and 'Traceback' not in err


# -- path keys are checked like numbers: at start, one line naming the key (trial F18) ---------

@pytest.mark.parametrize('key, value, says', [
    ('TEMP_DIR', '/tmp/a\x01b', 'must be a path without control characters'),
    ('TEMP_DIR', 'IS_A_FILE', 'must be a folder, but'),
    ('MOVIES_PATH', 'IS_A_FILE', 'must be a folder, but'),
    ('TVSHOWS_PATH', '/tv\x1b[31m', 'must be a path without control characters'),
])
def test_a_bad_folder_key_is_a_setup_error(key, value, says, tmp_path, sqlite_url):
    (tmp_path / 'file.txt').write_text('not a folder')
    value = value.replace('IS_A_FILE', str(tmp_path / 'file.txt'))
    env = subprocess_env(**{f'STALKEER_DOWNLOADS_{key}': value})
    for argv in (['download', 'http://127.0.0.1:9/x.mkv', tmp_path / 'x.mkv'], ['status'],
                 ['config', '--check']):
        code, out, err = run_stalkeer('--db', sqlite_url, *argv, env=env, cwd=tmp_path)
        assert code == 2, (argv, out + err)
        lines = [line for line in err.splitlines() if 'error' in line]
        assert len(lines) == 1 and f'STALKEER_DOWNLOADS_{key} (environment) {says}' in lines[0], err
        assert '\x1b' not in err and '\x01' not in err
    assert not (tmp_path / 'x.mkv').exists()


def test_config_check_names_each_mistake_once_and_misspelt_variables(tmp_path):
    env = subprocess_env(STALKEER_DOWNLOADS_READ_TIMEOUT='nan', STALKEER_DOWNLOADS_MAX_PARALEL='3')
    code, out, err = run_stalkeer('config', '--check', env=env, cwd=tmp_path)
    assert code == 2
    assert err.count('STALKEER_DOWNLOADS_READ_TIMEOUT') == 1 and 'config check: 1 error(s)' in out
    assert 'did you mean STALKEER_DOWNLOADS_MAX_PARALLEL' in out


@pytest.mark.parametrize('key, value', [('MAX_PARALLEL', '١٢'), ('MAX_PARALLEL', '1_0'),
                                        ('READ_TIMEOUT', '1_000'), ('READ_TIMEOUT', '٣٠')])
def test_numbers_are_ascii_digits_only(key, value, tmp_path, sqlite_url):
    """F3: int()/float() take '1_000' and other scripts' digits: a typo like
    '1_0' must not silently become 10."""
    env = subprocess_env(**{f'STALKEER_DOWNLOADS_{key}': value})
    for argv in (['status'], ['config', '--check']):
        code, out, err = run_stalkeer('--db', sqlite_url, *argv, env=env, cwd=tmp_path)
        assert code == 2 and f'STALKEER_DOWNLOADS_{key} (environment) must be' in err, out + err
    with pytest.raises(ValueError):
        stalkeer.parse_number(value, float, 0, 10_000)


@pytest.mark.parametrize('value, ok', [('nas:8787', ['nas']), ('http://nas', ['nas']),
                                       ('nas, 10.0.0.5:80, [::1]:8787', ['nas', '10.0.0.5', '::1']),
                                       ('*', None), ('.lan', None), ('évil.com', None)])
def test_allowed_hosts_that_can_never_match_are_refused(value, ok, tmp_path):
    """F14: a port or URL around a name is dropped; '*', '.lan', a non-ASCII name
    can never match a Host header: one line naming the key, not a silent 421."""
    cfg = stalkeer.Config(None, env={'STALKEER_SERVE_ALLOWED_HOSTS': value})
    if ok is not None:
        assert stalkeer.allowed_host_names(cfg) == ok
        return
    env = subprocess_env(STALKEER_SERVE_ALLOWED_HOSTS=value)
    code, out, err = run_stalkeer('config', '--check', env=env, cwd=tmp_path)
    assert code == 2 and 'STALKEER_SERVE_ALLOWED_HOSTS (environment)' in err, out + err
    assert 'can never match a Host header' in err
    code, out, err = run_stalkeer('serve', '--port', '0', env=env, cwd=tmp_path, timeout=20)
    assert code == 2 and 'can never match a Host header' in err, out + err


def test_a_folder_or_device_given_as_a_file_is_named_so(tmp_path, sqlite_url):
    """F16: 'not found' for something that exists sends the user looking for a typo."""
    for argv, says in ((['--config', '/dev/null', 'status'], 'config file is a device, not a file'),
                       (['--config', tmp_path, 'status'], 'config file is a directory, not a file'),
                       (['--db', sqlite_url, 'process', tmp_path], f'PLAYLIST must be a file, but {tmp_path} is a folder')):
        code, out, err = run_stalkeer(*argv, cwd=tmp_path)
        assert code == 2 and says in err, out + err


@pytest.mark.parametrize('url', ['http://127.0.0.1:7878/radarr?apikey=KEYMARK123', 'http://127.0.0.1:7878/#x',
                                 'http://127.0.0.1:7878/?'])
@pytest.mark.parametrize('service', ['radarr', 'sonarr'])
def test_an_arr_url_with_a_query_or_fragment_is_one_line_and_exit_2(url, service, tmp_path):
    """The app's URL is a base the API paths are appended to: a query in it sent
    GET /radarr?apikey=K/api/v3/wanted/missing (trial-16b N4). Refused by the
    command and by config --check, the query's key masked."""
    ini = write_ini(tmp_path, f'[{service}]\nurl = {url}\napi_key = abcdef123456\n')
    for args in ((service, '--dry-run'), ('config', '--check')):
        code, out, err = run_stalkeer('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', *args)
        assert code == 2 and 'Traceback' not in err, err
        assert f'[{service}] url is {service.capitalize()}\'s base URL and takes no ?query or #fragment' in err
        assert 'KEYMARK123' not in out + err


# -- an empty option or argument is refused, never taken as not given ---------------

# (arguments, what the one line starts with): each option and argument that
# takes text, given empty or blank. `process ''` read [m3u] file_path, `--config
# ''` the file found, `--log-file ''` [logging] file, `download URL ''` saved into
# the working folder, `serve --host ''` listened on every address's refusal.
_EMPTY_ARGUMENTS = [
    (['--config', '', 'status'], '--config is empty: '),
    (['--log-file', '', 'status'], '--log-file is empty: '),
    (['--log-file', '  ', 'status'], '--log-file is empty: '),
    (['process', ''], 'PLAYLIST is empty: '),
    (['process', ' '], 'PLAYLIST is empty: '),
    (['download', 'http://127.0.0.1:9/x.mkv', ''], 'DEST is empty: '),
    (['download', 'http://127.0.0.1:9/x.mkv', 'x.mkv', '--title', ''], '--title is empty: '),
    (['lines', ''], 'QUERY is empty: '),
    (['serve', '--host', ''], '--host is empty: '),
    # Refused before by their own check, in its words.
    (['download', '', 'x.mkv'], 'download URL is empty: '),
    (['m3u-download', '--url', ''], '--url is empty: '),
]


@pytest.mark.parametrize('argv, starts', _EMPTY_ARGUMENTS)
def test_an_empty_argument_is_refused_in_one_line(argv, starts, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'p.m3u').write_text('#EXTM3U\n#EXTINF:-1,A\nhttp://127.0.0.1:9/a.mkv\n')
    ini = write_ini(tmp_path, f'[database]\nurl = sqlite:///{tmp_path}/s.db\n[m3u]\nfile_path = p.m3u\n'
                    f'[logging]\nfile = {tmp_path}/run.log\n')
    code = stalkeer.main(['--config', str(ini), *argv] if argv[0] != '--config' else argv)
    out, err = capsys.readouterr()
    assert code == 2 and err.count('\n') == 1 and err.startswith(f'stalkeer: error: {starts}'), err
    assert not (tmp_path / 'x.mkv').exists() and 'Traceback' not in err


def test_every_text_argument_is_looked_at_when_empty():
    """An option added later is refused empty too, named by its dest."""
    args = argparse.Namespace(command='status', some_new_option='')
    assert stalkeer.empty_argument_problem(args) == 'SOME_NEW_OPTION is empty: give a value'
    assert stalkeer.empty_argument_problem(argparse.Namespace(command='status', db='', url='')) is None
