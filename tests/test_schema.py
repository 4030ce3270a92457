"""schema.sql and the peewee models must describe the same tables, on both engines."""

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess

import peewee
import pytest

import stalkeer
from conftest import PG_SKIP_REASON, PG_URL, ROOT, _drop_pg_schema, _pg_schema_url, pg_connect

SCHEMA = (ROOT / 'schema.sql').read_text(encoding='utf-8')
TABLES = [m._meta.table_name for m in stalkeer.MODELS]
CONTRACT = ['id', 'status', 'download_path', 'file_size', 'bytes_downloaded', 'total_bytes',
            'resume_token', 'retry_count', 'last_retry_at', 'locked_at', 'locked_by',
            'started_at', 'completed_at', 'error_message', 'created_at', 'updated_at', 'url']


def sqlite_shape(path):
    conn = sqlite3.connect(path)
    shape = {}
    for table in TABLES:
        cols = [(name, re.sub(r'DATETIME', 'TIMESTAMP', ctype.upper()).replace('BIGINT', 'INTEGER'),
                 notnull, default, pk)
                for _cid, name, ctype, notnull, default, pk
                in conn.execute(f'PRAGMA table_info("{table}")')]
        indexes = {}
        for _seq, name, unique, origin, _partial in conn.execute(f'PRAGMA index_list("{table}")'):
            if origin == 'pk':
                continue
            indexes[name] = (unique, [r[2] for r in conn.execute(f'PRAGMA index_info("{name}")')])
        fks = [tuple(r[2:5]) + (r[6],) for r in conn.execute(f'PRAGMA foreign_key_list("{table}")')]
        shape[table] = (cols, indexes, fks)
    conn.close()
    return shape


def test_schema_sql_matches_models_on_sqlite(tmp_path):
    from_file = tmp_path / 'file.db'
    conn = sqlite3.connect(from_file)
    conn.executescript(SCHEMA)
    conn.close()
    stalkeer.open_database(f'sqlite:///{tmp_path}/models.db', str(tmp_path)).close()
    assert sqlite_shape(from_file) == sqlite_shape(tmp_path / 'models.db')


def test_contract_columns_and_indexes(tmp_path):
    stalkeer.open_database(f'sqlite:///{tmp_path}/m.db', str(tmp_path)).close()
    cols, indexes, _ = sqlite_shape(tmp_path / 'm.db')['download_info']
    names = [c[0] for c in cols]
    assert set(CONTRACT) <= set(names)
    indexed = {tuple(cols) for _u, cols in indexes.values()}
    assert {('status',), ('locked_at',), ('updated_at',)} <= indexed
    line_cols = [c[0] for c in sqlite_shape(tmp_path / 'm.db')['processed_lines'][0]]
    assert {'state', 'download_info_id'} <= set(line_cols)


@pytest.mark.skipif(not shutil.which('sqlite3'), reason='the sqlite3 command-line tool is not installed')
def test_schema_sql_runs_in_the_sqlite3_cli(tmp_path):
    proc = subprocess.run(['sqlite3', str(tmp_path / 'cli.db')], input=SCHEMA + SCHEMA,
                          text=True, capture_output=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    proc = subprocess.run(['sqlite3', str(tmp_path / 'cli.db'),
                           "INSERT INTO download_info(url, destination) VALUES ('u', 'd');"
                           "SELECT id, status, retry_count FROM download_info;"],
                          text=True, capture_output=True)
    assert proc.stdout.strip() == '1|pending|0'


def pg_shape(conn, schema):
    with conn.cursor() as cur:
        cur.execute("""SELECT table_name, column_name, data_type, character_maximum_length,
                              is_nullable, column_default, ordinal_position
                       FROM information_schema.columns WHERE table_schema = %s
                       ORDER BY table_name, ordinal_position""", (schema,))
        cols = [tuple(re.sub(r'"?%s"?\.' % schema, '', str(v)) if isinstance(v, str) else v
                      for v in row) for row in cur.fetchall()]
        cur.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
                    "ORDER BY indexname", (schema,))
        idx = [(t, n, d.replace(f'{schema}.', '')) for t, n, d in cur.fetchall()]
    return cols, idx


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)
def test_schema_sql_matches_models_on_postgresql(tmp_path):
    import psycopg2
    spec = stalkeer.parse_database_url(PG_URL, '.')
    file_schema, model_schema = f'sf_{os.getpid()}', f'sm_{os.getpid()}'
    conn = psycopg2.connect(dbname=spec['database'], user=spec['user'], host=spec['host'],
                            port=spec['port'], password=spec['password'])
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS {file_schema} CASCADE; CREATE SCHEMA {file_schema}')
        if shutil.which('psql'):
            env = dict(os.environ, PGOPTIONS=f'-c search_path={file_schema}')
            if spec['password']:
                env['PGPASSWORD'] = spec['password']
            args = ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', spec['database'],
                    '-f', str(ROOT / 'schema.sql')]
            for flag, value in (('-h', spec['host']), ('-p', spec['port']), ('-U', spec['user'])):
                if value:
                    args += [flag, str(value)]
            proc = subprocess.run(args, env=env, capture_output=True, text=True)
            assert proc.returncode == 0 and 'ERROR' not in proc.stderr, proc.stderr
        else:  # pragma: no cover - psql ships with the server here
            with conn.cursor() as cur:
                cur.execute(f'SET search_path TO {file_schema}; ' + SCHEMA)
        db = stalkeer.open_database(_pg_schema_url(PG_URL, model_schema), '.')
        db.close()
        assert pg_shape(conn, file_schema) == pg_shape(conn, model_schema)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS {file_schema} CASCADE')
        conn.close()
        _drop_pg_schema(model_schema)


def test_migrate_is_idempotent_and_upgrades_old_tables(db_url, tmp_path):
    db = stalkeer.open_database(db_url, str(tmp_path), migrate=False)
    # An older stalkeer: download_info without title/part_path, no processed_lines.
    db.execute_sql('CREATE TABLE download_info (id %s PRIMARY KEY, url TEXT NOT NULL, '
                   "destination TEXT NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'pending', "
                   'bytes_downloaded BIGINT NOT NULL DEFAULT 0, retry_count INTEGER NOT NULL DEFAULT 0, '
                   'created_at TIMESTAMP, updated_at TIMESTAMP)'
                   % ('SERIAL' if stalkeer.is_postgres(db) else 'INTEGER'))
    db.execute_sql("INSERT INTO download_info (url, destination) VALUES ('http://x/1.mkv', '/lib/1')")
    # ...and the first processed_lines: state and download_info_id only.
    db.execute_sql('CREATE TABLE processed_lines (id %s PRIMARY KEY, '
                   "state VARCHAR(16) NOT NULL DEFAULT 'processed', download_info_id INTEGER)"
                   % ('SERIAL' if stalkeer.is_postgres(db) else 'INTEGER'))
    db.execute_sql("INSERT INTO processed_lines (state, download_info_id) VALUES ('downloaded', 1)")
    changes = stalkeer.migrate_schema(db)
    assert 'added column processed_lines.line_hash' in changes
    assert 'added column processed_lines.match_key' in changes
    assert stalkeer.ProcessedLine.get().state == 'downloaded'
    line_indexes = {i.name for i in db.get_indexes('processed_lines')}
    assert {'processed_lines_line_hash', 'processed_lines_content_type_match_key'} <= line_indexes
    assert 'added column download_info.title' in changes
    assert 'added column download_info.locked_by' in changes
    assert stalkeer.migrate_schema(db) == []
    info = stalkeer.DownloadInfo.get()
    assert info.url == 'http://x/1.mkv' and info.title is None and info.status == 'pending'
    index_names = {i.name for i in db.get_indexes('download_info')}
    assert {'download_info_status', 'download_info_locked_at', 'download_info_updated_at'} <= index_names
    db.close()


def test_migrate_command(cli, db_url):
    code, out, err = cli('--db', db_url, 'migrate')
    assert code == 0, err
    assert 'created table download_info' in out and 'database ready' in out
    code, out, err = cli('migrate', '--db', db_url)     # global options after the command too
    assert code == 0 and 'no changes' in out


def readme_queries():
    text = (ROOT / 'README.md').read_text(encoding='utf-8')
    return re.findall(r'```sql\n(.*?)```', text, re.S)


def test_readme_queries_run_on_both_backends(db):
    queries = readme_queries()
    assert len(queries) >= 3
    state = stalkeer.StateManager(owner='readme')
    a = state.get_or_create('http://h/a.mkv', '/lib/a', 'A')
    b = state.get_or_create('http://h/b.mkv', '/lib/b', 'B')
    stalkeer.DownloadInfo.update(status='downloading', bytes_downloaded=250, total_bytes=1000).where(
        stalkeer.DownloadInfo.id == a.id).execute()
    stalkeer.DownloadInfo.update(status='failed', error_message='HTTP 404').where(
        stalkeer.DownloadInfo.id == b.id).execute()
    database = stalkeer.db_proxy.obj
    results = [database.execute_sql(q).fetchall() for q in queries]
    assert len(results[0]) == 2
    in_progress = results[1]
    assert len(in_progress) == 1 and float(in_progress[0][5]) == 25.0
    assert results[2][0][1:3] == ('B', 'HTTP 404')


def test_a_user_owning_its_schema_needs_no_right_to_create_one(tmp_path):
    """A role that owns the ?schema= it is given, on a database where it may not
    create schemas (PostgreSQL grants no CREATE to PUBLIC), can run stalkeer:
    CREATE SCHEMA IF NOT EXISTS checked that right before whether the schema
    exists (trial-15e F3)."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    import urllib.parse
    import psycopg2
    token = os.urandom(4).hex()
    role = schema = f'stk_owner_{token}'
    spec = stalkeer.parse_database_url(PG_URL, '.')
    admin = psycopg2.connect(dbname=spec['database'], user=spec['user'], host=spec['host'], port=spec['port'],
                             password=spec['password'])
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE ROLE "{role}" LOGIN')
        cur.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{role}"')
    try:
        parts = urllib.parse.urlsplit(PG_URL)
        netloc = f'{role}@{parts.hostname}' + (f':{parts.port}' if parts.port else '')
        url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, f'schema={schema}', ''))
        db = stalkeer.open_database(url, str(tmp_path))
        assert 'processed_lines' in db.get_tables()
        db.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


DDL = re.compile(r'\s*(CREATE|ALTER|DROP|LOCK)\b', re.I)


def _capture_statements(monkeypatch, db):
    """Every statement peewee sends through ``db`` from now on (DDL, the
    migrator's, queries), as text."""
    sent = []
    execute_sql = db.execute_sql

    def recording(sql, params=None, *args, **kwargs):
        sent.append(sql)
        return execute_sql(sql, params, *args, **kwargs)
    monkeypatch.setattr(db, 'execute_sql', recording)
    return sent


def test_migrate_of_an_up_to_date_database_issues_no_ddl(db, monkeypatch):
    """Every process migrates at start: on a database that has everything, that
    is catalog reads only, no CREATE ... IF NOT EXISTS (trial-15f F2)."""
    sent = _capture_statements(monkeypatch, db)
    assert stalkeer.migrate_schema(db) == []
    assert sent, 'the catalog was not read through execute_sql: the capture sees nothing'
    assert [s for s in sent if DDL.match(s)] == []
    assert not [s for s in sent if 'advisory' in s]     # no schema_change transaction either


def test_migrate_creates_only_the_index_that_is_missing(db, monkeypatch):
    db.execute_sql('DROP INDEX "download_info_status"')
    sent = _capture_statements(monkeypatch, db)
    assert stalkeer.migrate_schema(db) == ['created index download_info_status']
    ddl = [s for s in sent if DDL.match(s)]
    assert len(ddl) == 1 and 'download_info_status' in ddl[0], ddl
    assert 'download_info_status' in {i.name for i in db.get_indexes('download_info')}


def _hold_an_import_batch(db):
    """A second connection with an insert into processed_lines not yet
    committed, as an import's batch has; returns it (roll it back)."""
    sql = "INSERT INTO processed_lines (line_hash, url) VALUES ('held', 'http://x/held.mkv')"
    if stalkeer.is_postgres(db):
        conn = pg_connect()
        with conn.cursor() as cur:
            cur.execute(f'SET search_path TO "{db.stalkeer_schema}"')
            cur.execute(sql)              # psycopg2 opened a transaction: it stays open
        return conn
    conn = sqlite3.connect(db.database, isolation_level=None)
    conn.execute('BEGIN IMMEDIATE')
    conn.execute(sql)
    return conn


def test_migrate_does_not_wait_for_an_open_import_batch(db, tmp_path):
    """`status` or `process --dry-run` beside an import: their start-up
    migrate waited for each batch to commit (CREATE INDEX IF NOT EXISTS wants
    a SHARE lock; SQLite's BEGIN IMMEDIATE the write lock), trial-15f F2."""
    import threading
    db.close()
    holder = _hold_an_import_batch(db)
    result = {}

    def migrate():
        try:
            result['changes'] = stalkeer.migrate_schema(db)
        except Exception as exc:       # noqa: BLE001 - reported by the assert below
            result['error'] = exc
        finally:
            db.close()
    worker = threading.Thread(target=migrate, daemon=True)
    try:
        worker.start()
        worker.join(5)
        waited = worker.is_alive()
    finally:
        holder.rollback()
        worker.join(30)
        holder.close()
    assert not waited, 'migrate waited for the open import transaction'
    assert result == {'changes': []}


def test_commands_start_beside_an_open_import_batch(db, db_url, tmp_path):
    """The user's view of trial-15f F2: `status` and `lines` beside an import
    waited for its batch (PostgreSQL, behind CREATE INDEX IF NOT EXISTS) or
    failed after the 15 s busy timeout with "database is locked" (SQLite)."""
    from conftest import start_stalkeer
    db.close()
    holder = _hold_an_import_batch(db)
    try:
        for argv in (['status'], ['lines', 'heat']):
            proc = start_stalkeer('--db', db_url, *argv, cwd=tmp_path)
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                pytest.fail(f'{argv[0]} waited for the open import transaction')
            # The open batch is a first import's: nothing is committed, so `lines`
            # answers that the playlist was not read yet (exit 2, trial-17a F3).
            expected = (2, 'the playlist has not been read yet') if argv[0] == 'lines' else (0, '')
            assert proc.returncode == expected[0] and expected[1] in err, (argv, out + err)
    finally:
        holder.rollback()
        holder.close()


@contextlib.contextmanager
def _import_lock_held_elsewhere(db, schema=None):
    """import_lock held as another process would: its own connection (PostgreSQL;
    importing into ``schema``, by default the database's) or its own open file
    (SQLite's flock)."""
    if stalkeer.is_postgres(db):
        conn = pg_connect(autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f'SET search_path TO "{schema or db.stalkeer_schema}"')
            cur.execute('SELECT pg_advisory_lock(%s, hashtext(current_schema()))', (stalkeer.IMPORT_LOCK_KEY,))
        try:
            yield
        finally:
            with conn.cursor() as cur:     # at once: a closed connection's backend lingers a moment
                cur.execute('SELECT pg_advisory_unlock(%s, hashtext(current_schema()))',
                            (stalkeer.IMPORT_LOCK_KEY,))
            conn.close()
        return
    import fcntl
    fd = os.open(stalkeer.import_lock_path(db), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def _line_indexes(db):
    return {i.name for i in db.get_indexes('processed_lines') if i.columns != ['id']}


def test_migrate_leaves_the_line_indexes_to_the_import_running(db, monkeypatch):
    """A first import drops processed_lines' indexes and builds them at its end
    (PlaylistIngest._drop_indexes): another command's start built them in the
    middle of it, waiting for its batch first (trial-15f F2)."""
    names = _line_indexes(db)
    assert not stalkeer.import_running_elsewhere(db)
    if stalkeer.is_postgres(db):
        with _import_lock_held_elsewhere(db, schema='public'):      # one schema's import is not another's
            assert not stalkeer.import_running_elsewhere(db)
    for name in names:
        db.execute_sql(f'DROP INDEX "{name}"')
    with _import_lock_held_elsewhere(db):
        assert stalkeer.import_running_elsewhere(db)
        sent = _capture_statements(monkeypatch, db)
        assert stalkeer.migrate_schema(db) == []
        assert [s for s in sent if DDL.match(s)] == []
        assert _line_indexes(db) == set()
        db.execute_sql('DROP INDEX "download_info_status"')       # what is not the import's is built
        assert stalkeer.migrate_schema(db) == ['created index download_info_status']
        assert _line_indexes(db) == set()
    assert not stalkeer.import_running_elsewhere(db)
    assert sorted(stalkeer.migrate_schema(db)) == sorted(f'created index {n}' for n in names)
    assert _line_indexes(db) == names


def test_an_import_builds_the_line_indexes_a_killed_import_left_down(cli, db_url, tmp_path, monkeypatch):
    """The first import was killed with the indexes down while this run
    started (so its migrate left them to that import): this run builds them
    once it holds the import lock, before it imports into the table."""
    playlist = ROOT.parent / 'shared' / 'playlists' / 'germainlefebvre4-Stalkeer__sample.m3u'
    assert cli('--db', db_url, 'process', playlist)[0] == 0
    db = stalkeer.open_database(db_url, str(tmp_path))
    names = _line_indexes(db)
    for name in names:
        db.execute_sql(f'DROP INDEX "{name}"')
    db.close()
    monkeypatch.setattr(stalkeer, 'import_running_elsewhere', lambda db: True)
    code, out, err = cli('--db', db_url, 'process', '--force', playlist)
    assert code == 0, err
    db = stalkeer.open_database(db_url, str(tmp_path))
    assert _line_indexes(db) == names
    db.close()
