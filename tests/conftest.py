"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when
STALKEER_TEST_DATABASE_URL is set), the local HTTP file server, and helpers
to run stalkeer in-process (main()) or as a real subprocess."""

import os
import secrets
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED = ROOT.parent / 'shared'
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(TESTS))

import stalkeer  # noqa: E402
from fileserver import FileServer  # noqa: E402

PG_URL = os.environ.get('STALKEER_TEST_DATABASE_URL')
PG_SKIP_REASON = ('PostgreSQL tests need STALKEER_TEST_DATABASE_URL '
                  '(e.g. postgresql://postgres@127.0.0.1:5432/test); .ci/run sets it')


def _clean_env(env):
    for key in list(env):
        if key.startswith('STALKEER_') and key != 'STALKEER_TEST_DATABASE_URL' or key == 'DATABASE_URL':
            del env[key]
    return env


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's config, environment or working directory."""
    for key in list(os.environ):
        if (key.startswith('STALKEER_') and key != 'STALKEER_TEST_DATABASE_URL') \
                or key == 'DATABASE_URL':
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    yield
    # Leave no logging handlers pointing at a closed tmp file behind.
    for handler in list(stalkeer.log.handlers):
        stalkeer.log.removeHandler(handler)
    stalkeer.log.propagate = True      # main() turns it off; caplog needs it
    # Nor a stop requested (a signal handler called directly, Workers.map): every
    # later download of the process would be Interrupted at once.
    stalkeer.RUN_STOP.clear()


def _pg_schema_url(base_url, schema):
    parts = urllib.parse.urlsplit(base_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query['schema'] = schema
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def pg_connect(autocommit=False):
    """A plain psycopg2 connection to the test database (STALKEER_TEST_DATABASE_URL),
    stalkeer's ?schema= aside: for what another program, or an administrator, does."""
    import psycopg2
    spec = stalkeer.parse_database_url(PG_URL, '.')
    conn = psycopg2.connect(dbname=spec['database'], user=spec['user'], host=spec['host'],
                            port=spec['port'], password=spec['password'])
    conn.autocommit = autocommit
    return conn


def _drop_pg_schema(schema):
    conn = pg_connect(autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.close()


@pytest.fixture(params=['sqlite', 'postgresql'])
def db_url(request, tmp_path):
    """A database URL of a fresh, empty database on each backend."""
    if request.param == 'sqlite':
        yield f'sqlite:///{tmp_path}/stalkeer.db'
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schema = f't_{os.getpid()}_{secrets.token_hex(4)}'
    yield _pg_schema_url(PG_URL, schema)
    database = stalkeer.db_proxy.obj
    if database is not None and not database.is_closed():
        database.close()
    _drop_pg_schema(schema)


@pytest.fixture
def sqlite_url(tmp_path):
    return f'sqlite:///{tmp_path}/stalkeer.db'


@pytest.fixture
def db(db_url, tmp_path):
    """The models bound to a fresh, migrated database."""
    database = stalkeer.open_database(db_url, str(tmp_path))
    yield database
    if not database.is_closed():
        database.close()


@pytest.fixture
def server():
    with FileServer() as srv:
        yield srv


@pytest.fixture
def settings(tmp_path):
    """Download settings fit for tests: quick retries, frequent progress saves."""
    return stalkeer.DownloadSettings(
        connect_timeout=2, read_timeout=2, retry_attempts=3, max_retry_attempts=5,
        backoff_base=0.01, backoff_max=0.5, progress_interval_bytes=64 * 1024,
        progress_interval_seconds=0.5, lock_timeout=30, min_free_space=0)


@pytest.fixture
def make_downloader(db, settings):
    def factory(owner=None, hooks=(), **overrides):
        s = stalkeer.dataclasses.replace(settings, **overrides)
        state = stalkeer.StateManager(s.lock_timeout, s.max_retry_attempts, owner=owner)
        return stalkeer.Downloader(s, state, hooks)
    return factory


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 1 MiB filesystem (tmpfs), where mounting is allowed."""
    import subprocess
    mount = tmp_path / 'tiny'
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs',
                                            str(mount)], capture_output=True).returncode != 0:
        pytest.skip('mounting a small tmpfs needs root (used to fill a disk for real)')
    yield mount
    subprocess.run(['umount', '-l', str(mount)], capture_output=True)


def payload(size, seed=1):
    """Deterministic pseudo-random bytes (compress badly, like video)."""
    import random
    return random.Random(seed).randbytes(size)


def sha256(data_or_path):
    import hashlib
    if isinstance(data_or_path, (str, Path)):
        data_or_path = Path(data_or_path).read_bytes()
    return hashlib.sha256(data_or_path).hexdigest()


def arr_sections(radarr, sonarr, lib):
    """The ``[radarr]`` and ``[sonarr]`` ini sections for two fake apps (tests/fakearr.py)
    whose /movies and /tv folders live at ``lib``/movies and ``lib``/tv."""
    return f'''[radarr]
url = {radarr.base_url}
api_key = {radarr.api_key}
path_map = /movies={lib}/movies
[sonarr]
url = {sonarr.base_url}
api_key = {sonarr.api_key}
path_map = /tv={lib}/tv
'''


@pytest.fixture
def cli(capsys):
    """Run main() in-process; returns (exit code, stdout, stderr)."""
    def run(*argv):
        code = stalkeer.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def subprocess_env(**extra):
    env = _clean_env(dict(os.environ))
    env.update({k: str(v) for k, v in extra.items()})
    env['PYTHONUNBUFFERED'] = '1'
    return env


def start_stalkeer(*argv, env=None, cwd=None, **popen):
    """Start ``python stalkeer.py ARGV`` as a real process."""
    return subprocess.Popen([sys.executable, str(ROOT / 'stalkeer.py'), *map(str, argv)],
                            env=env or subprocess_env(), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def run_stalkeer(*argv, env=None, cwd=None, timeout=60):
    proc = start_stalkeer(*argv, env=env, cwd=cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def wait_for(predicate, timeout=10.0, interval=0.02, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f'timed out waiting for {what}')
