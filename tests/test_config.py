"""Configuration discovery, overrides and validation."""

import configparser
import os
from pathlib import Path

import pytest

import stalkeer
from conftest import ROOT


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
    ('[database]\nurl = /var/lib/stalkeer.db\n', {}, 'unknown database scheme'),
    ('', {'DATABASE_URL': 'oracle://a/b'}, 'DATABASE_URL'),
    ('[logging]\nlevel = LOUD\n', {}, '[logging] level'),
    ('[downloads]\nprogress_interval_seconds = 400\n', {}, 'lock_timeout_seconds'),
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
