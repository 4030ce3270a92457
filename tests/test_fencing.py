"""Library safety with real processes: the lease fences every write, every crash
point of the finish recovers, the database may hiccup, intent survives."""

import os
import signal
import sqlite3
import threading
import time

import pytest

import stalkeer
from conftest import PG_URL, PG_SKIP_REASON, payload, run_stalkeer, sha256, start_stalkeer, \
    subprocess_env, wait_for
from fakearr import FakeArr

DI = stalkeer.DownloadInfo
QUICK = dict(STALKEER_DOWNLOADS_MIN_FREE_SPACE_MB='0',
             STALKEER_DOWNLOADS_RETRY_BACKOFF_SECONDS='0.05',
             STALKEER_DOWNLOADS_PROGRESS_INTERVAL_MB='0.1')


def current(dest):
    return DI.get_or_none(DI.destination == str(dest))


def sqlite_row(path):
    """The only download_info row, read with a connection of its own."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute('SELECT * FROM download_info').fetchone())
    finally:
        conn.close()


def start_download(server, name, data, dest, db_url, *options, bps, progress_over=300_000,
                   saved=None, **downloads):
    """`stalkeer download` of ``data`` (served as ``name`` at ``bps`` bytes/s) into
    ``dest`` in a real process, with [downloads] ``downloads`` on top of QUICK;
    returns (process, its environment) once the row shows ``progress_over`` bytes
    (read by ``saved()`` when the test has no database bound)."""
    url = server.add(name, data)
    server.fault(name, throttle_bps=bps)
    env = subprocess_env(**{f'STALKEER_DOWNLOADS_{k.upper()}': str(v) for k, v in downloads.items()},
                         **QUICK)
    proc = start_stalkeer('download', url, dest, *options, '--db', db_url, env=env)
    saved = saved or (lambda: (r := current(dest)) and r.bytes_downloaded)
    wait_for(lambda: (saved() or 0) > progress_over, timeout=20, what='progress')
    return proc, env


# -- 1. the lease fences every write -------------------------------------------------------

def test_a_stalled_transfer_keeps_its_lease(server, tmp_path, db_url, db):
    """The issue's case: 1 KiB, then ~8 s of silence, lock_timeout 3 s, read_timeout
    30 s. The heartbeat does not wait for bytes: nobody may take the download over
    while it waits (meanwhile the provider even replaces the file), and it completes
    with one transfer, byte-exact."""
    old, new = payload(1_500_000, seed=1), payload(1_600_000, seed=2)
    url = server.add('stall.mkv', old)
    server.fault('stall.mkv', stall_after=1024, stall_seconds=8, stall_times=1)
    env = subprocess_env(STALKEER_DOWNLOADS_READ_TIMEOUT='30',
                         STALKEER_DOWNLOADS_LOCK_TIMEOUT_SECONDS='3',
                         STALKEER_DOWNLOADS_PROGRESS_INTERVAL_SECONDS='1', **QUICK)
    dest = tmp_path / 'Stall.mkv'
    proc = start_stalkeer('download', url, dest, '--db', db_url, env=env)
    wait_for(lambda: (r := current(dest)) and r.status == 'downloading', what='the start')
    started = time.monotonic()
    rivals = 0
    while time.monotonic() - started < 6.5:            # twice the lock timeout, in the stall
        if rivals == 2:
            server.change('stall.mkv', new)
        code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
        assert code == 0 and 'nothing to resume' in out, out + err
        rivals += 1
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(server.gets('stall.mkv')) == 1          # one transfer, never two
    assert sha256(dest) == sha256(old)                 # the file it was sent, whole
    assert current(dest).status == 'completed'


def test_a_frozen_holder_never_writes_after_its_lease_ran_out(server, tmp_path, db_url, db):
    """SIGSTOP the holder past its lease, replace the file on the server, run a
    successor: it takes the stale lease but must not touch the .part the frozen
    process still has open (let alone finish it). Woken up, the holder writes
    nothing more and reports the lost lock; a later run completes the new file."""
    old, new = payload(3_000_000, seed=3), payload(2_800_000, seed=4)
    dest = tmp_path / 'Frozen.mkv'
    proc, env = start_download(server, 'frozen.mkv', old, dest, db_url, bps=1_000_000,
                               lock_timeout_seconds=2, progress_interval_seconds=0.5)
    info = current(dest)
    proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(0.3)                                # let a write in flight land
        frozen = os.path.getsize(info.part_path)
        time.sleep(2.5)                                # the lease (2 s) goes stale
        server.clear_faults('frozen.mkv')
        server.change('frozen.mkv', new)
        code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
        assert code == 0 and 'still open in another process' in out + err, out + err
        assert not dest.exists()
        assert os.path.getsize(info.part_path) == frozen
    finally:
        proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and 'lost the lock' in out + err, out + err
    assert 'Traceback' not in err
    assert os.path.getsize(info.part_path) == frozen   # not one byte after the loss
    assert not dest.exists()
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert code == 0 and '1 completed' in out, out + err
    assert sha256(dest) == sha256(new)                 # If-Range saw the change: no splice


def test_a_lost_lease_stops_a_blocked_read_at_once(server, make_downloader, tmp_path, db):
    """Taken over while the server is silent: the keeper finds out at its next
    renewal and cuts the connection; the transfer does not wait for read_timeout
    or for the next bytes, and writes nothing more."""
    data = payload(400_000)
    url = server.add('silent.mkv', data)
    server.fault('silent.mkv', stall_after=100_000, stall_seconds=20, stall_times=1)
    downloader = make_downloader(read_timeout=30, lock_timeout=3, progress_interval_seconds=0.2)
    results = []
    thread = threading.Thread(target=lambda: results.append(
        downloader.download(url, str(tmp_path / 'silent.mkv'))))
    thread.start()
    info = wait_for(lambda: DI.select().where(DI.bytes_downloaded >= 100_000).first(),
                    what='the first bytes')
    size = os.path.getsize(info.part_path)
    DI.update(locked_by='thief', lease_token='theirs').where(DI.id == info.id).execute()
    taken = time.monotonic()
    thread.join(15)
    assert results and results[0].status == 'lost'
    assert time.monotonic() - taken < 5
    assert os.path.getsize(info.part_path) == size
    after = DI.get_by_id(info.id)
    assert after.locked_by == 'thief' and after.lease_token == 'theirs'


def test_every_statement_of_the_holder_carries_the_lease_token(db):
    """Same owner, new lease: whatever the old lease of this owner still tries is
    fenced by the token compared in the statement itself."""
    state = stalkeer.StateManager(30, owner='me')
    info = state.get_or_create('http://h/1.mkv', '/lib/1')
    assert state.acquire(info.id)
    first = DI.get_by_id(info.id).lease_token
    assert first and len(first) >= 16
    DI.update(lease_token='someone-else').where(DI.id == info.id).execute()
    with pytest.raises(stalkeer.LeaseLost):
        state.heartbeat(info.id, 10)
    assert DI.get_by_id(info.id).bytes_downloaded == 0
    assert state.acquire(info.id)                    # re-entrant for the owner: a new token
    assert DI.get_by_id(info.id).lease_token not in (first, 'someone-else')
    state.heartbeat(info.id, 20)
    assert DI.get_by_id(info.id).bytes_downloaded == 20


# -- 3. every crash point of the finish sequence recovers -------------------------------------
# The process is killed with SIGKILL at the exact step by the test-only hook
# STALKEER_TEST_CRASH_AT (stalkeer.crash_point); then a plain resume-downloads
# must complete the row byte-exact and ask Radarr to rescan, exactly once.

def _second_filesystem():
    other = '/dev/shm'
    if os.path.isdir(other) and os.access(other, os.W_OK):
        return other
    return None


@pytest.fixture
def crash_world(server, tmp_path, sqlite_url):
    with FakeArr('radarr') as radarr:
        ini = tmp_path / 'crash.ini'
        ini.write_text(f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       '[downloads]\nlock_timeout_seconds = 2\nprogress_interval_seconds = 0.5\n'
                       'min_free_space_mb = 0\n')
        yield radarr, ini


@pytest.mark.parametrize('point, force, cross_fs', [
    ('before_link', False, False),
    ('after_link', False, False),       # the .part and the library file are one inode
    ('after_unlink', False, False),     # the library file complete, the row not
    ('after_rename', True, False),      # --force: renamed over the old file
    ('after_copy', False, True),        # temp_dir elsewhere: copied, not yet placed
    ('after_copy_link', False, True),   # placed, the copy and the .part still there
    ('after_unlink', False, True),
    ('after_complete', False, False),   # the row completed, Radarr not told yet
])
def test_every_crash_point_of_the_finish_recovers(point, force, cross_fs, crash_world, server,
                                                  tmp_path, sqlite_url):
    radarr, ini = crash_world
    temp_dir = None
    if cross_fs:
        other = _second_filesystem()
        if other is None or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
            pytest.skip('needs a second filesystem (/dev/shm) for a copy across filesystems')
        temp_dir = os.path.join(other, f'stalkeer-crash-{os.getpid()}-{point}')
    data = payload(300_000, seed=11)
    url = server.add('movie/u/p/7.mkv', data)
    lib = tmp_path / 'lib' / 'Film (2001)'
    final = lib / 'Film (2001).mkv'
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    info = stalkeer.StateManager(owner='seed').get_or_create(
        url, str(lib / 'Film (2001)'), 'Film (2001)', service='radarr', item_id=7)
    if force:
        lib.mkdir(parents=True)
        final.write_bytes(b'the old file')
        DI.update(force=True).where(DI.id == info.id).execute()
    db.close()
    env = dict(STALKEER_DOWNLOADS_TEMP_DIR=temp_dir) if temp_dir else {}
    try:
        code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'resume-downloads',
                                      env=subprocess_env(STALKEER_TEST_CRASH_AT=point, **env))
        assert code == -signal.SIGKILL, out + err
        assert radarr.commands == []
        time.sleep(2.2)                    # the dead process's lease goes stale
        code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'resume-downloads',
                                      env=subprocess_env(**env))
        assert code == 0, out + err
        assert sha256(final) == sha256(data)
        assert radarr.commands == [{'name': 'RescanMovie', 'movieId': 7}]
        row = sqlite_row(tmp_path / 'stalkeer.db')
        assert row['status'] == 'completed' and row['download_path'] == str(final)
        assert row['file_size'] == len(data) and row['locked_by'] is None
        assert not row['rescan_pending']
        assert not os.path.exists(row['part_path'])
        leftovers = [n for n in os.listdir(lib) + (os.listdir(temp_dir) if temp_dir else [])
                     if '.stalkeer-' in n]
        assert leftovers == []
        assert os.stat(final).st_nlink == 1
    finally:
        if temp_dir:
            import shutil
            shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_crash_between_link_and_unlink_is_recognised(server, tmp_path, db_url, db):
    """The state a SIGKILL between link() and unlink() leaves (built by hand, so
    that any version can be tried on it): the .part and the library file are one
    complete inode, the row says downloading under a dead lease. The next run
    completes the row instead of refusing to overwrite its own file."""
    data = payload(200_000, seed=12)
    url = server.add('linked.mkv', data)
    state = stalkeer.StateManager(owner='dead-host-1-abc')
    dest = tmp_path / 'lib' / 'Linked.mkv'
    info = state.get_or_create(url, str(dest), 'Linked')
    part = tmp_path / 'lib' / f'Linked.mkv.stalkeer-{info.id}.part'
    part.parent.mkdir()
    part.write_bytes(data)
    os.link(part, dest)
    state.acquire(info.id)
    DI.update(status='downloading', part_path=str(part), bytes_downloaded=150_000,
              total_bytes=len(data), locked_at=stalkeer.db_now(-3600)).where(DI.id == info.id).execute()
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url,
                                  env=subprocess_env(STALKEER_DOWNLOADS_MIN_FREE_SPACE_MB='0'))
    assert code == 0 and '1 completed' in out, out + err
    assert sha256(dest) == sha256(data) and not part.exists()
    assert os.stat(dest).st_nlink == 1
    assert server.gets('linked.mkv') == []              # recognised, not fetched again
    done = DI.get_by_id(info.id)
    assert done.status == 'completed' and done.download_path == str(dest)


# -- 6. intent survives an interruption; the database may hiccup -------------------------------

def test_force_survives_an_interruption(server, tmp_path, db_url, db):
    """download --force over an existing file, SIGINT mid-transfer: the row keeps
    the intent, so resume-downloads replaces the file and exits 0."""
    data = payload(2_000_000, seed=31)
    dest = tmp_path / 'Forced.mkv'
    dest.write_bytes(b'the old version')
    proc, env = start_download(server, 'forced.mkv', data, dest, db_url, '--force', bps=800_000,
                               progress_over=200_000)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert current(dest).status == 'paused' and dest.read_bytes() == b'the old version'
    server.clear_faults('forced.mkv')
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert code == 0 and '1 completed' in out, out + err
    assert sha256(dest) == sha256(data)
    assert not current(dest).force                      # fulfilled: a later run asks again


def _hold_sqlite_write_lock(path, seconds, held):
    """Another connection (a DB browser, say) holds the write lock for ``seconds``."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute('BEGIN IMMEDIATE')
    held.set()
    time.sleep(seconds)
    conn.execute('ROLLBACK')
    conn.close()


def _download_under_a_sqlite_lock(server, tmp_path, sqlite_url, size, lock_timeout, hold):
    """Start a throttled download, then hold the SQLite write lock for ``hold``
    seconds from another connection. Returns (process, its stdout and stderr,
    data, destination, database path, when the lock was taken)."""
    data = payload(size, seed=32)
    dest = tmp_path / 'Locked.mkv'
    database = tmp_path / 'stalkeer.db'
    proc, env = start_download(server, 'locked.mkv', data, dest, sqlite_url, bps=500_000,
                               progress_over=100_000, saved=lambda: _bytes_done(database),
                               lock_timeout_seconds=lock_timeout, progress_interval_seconds=0.5)
    held = threading.Event()
    locker = threading.Thread(target=_hold_sqlite_write_lock, args=(database, hold, held))
    locker.start()
    held.wait(10)
    locked_at = time.monotonic()
    out, err = proc.communicate(timeout=90)
    locker.join()
    return proc, out, err, data, dest, database, locked_at, env


def _bytes_done(database):
    if not database.exists():
        return 0
    try:
        conn = sqlite3.connect(database, timeout=0.1)
        try:
            return conn.execute('SELECT MAX(bytes_downloaded) FROM download_info').fetchone()[0] or 0
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def test_a_sqlite_write_lock_longer_than_the_busy_timeout_is_waited_out(server, tmp_path,
                                                                        sqlite_url):
    """Locked for 17 s (SQLite's busy timeout is 15 s) under a 60 s lease: renewals
    and the final update are retried, the transfer completes, exit 0."""
    proc, out, err, data, dest, database, _, _ = _download_under_a_sqlite_lock(
        server, tmp_path, sqlite_url, 1_500_000, lock_timeout=60, hold=17)
    assert proc.returncode == 0, out + err
    assert 'database unavailable (database is locked)' in err
    assert sha256(dest) == sha256(data) and len(server.gets('locked.mkv')) == 1
    assert sqlite_row(database)['status'] == 'completed'


def test_a_sqlite_write_lock_longer_than_the_lease_pauses_cleanly(server, tmp_path, sqlite_url):
    """Locked for longer than the lease: the transfer stops writing, keeps its
    .part, records the pause once the database answers, says why and exits 1;
    the next run resumes from the .part."""
    proc, out, err, data, dest, database, locked_at, env = _download_under_a_sqlite_lock(
        server, tmp_path, sqlite_url, 3_000_000, lock_timeout=3, hold=8)
    assert proc.returncode == 1, out + err
    assert 'paused: ' in out and 'database is locked' in out and 'the .part is kept' in out
    assert 'Traceback' not in err and 'cannot rollback' not in err
    row = sqlite_row(database)
    part_size = os.path.getsize(row['part_path'])
    assert row['status'] == 'paused' and row['locked_by'] is None
    assert 0 < part_size < len(data)
    # It stopped writing once the lease ran out (3 s x 0.8), not when the lock went.
    assert part_size <= 500_000 * (time.monotonic() - locked_at) and not dest.exists()
    server.clear_faults('locked.mkv')
    code, out, err = run_stalkeer('resume-downloads', '--db', sqlite_url, env=env)
    assert code == 0 and '1 completed' in out, out + err
    assert server.gets('locked.mkv')[-1].start == part_size
    assert sha256(dest) == sha256(data)


@pytest.fixture
def pg_db(tmp_path):
    """(URL, database) of a fresh PostgreSQL schema: for what only PostgreSQL does."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    import secrets
    from conftest import _drop_pg_schema, _pg_schema_url
    schema = f'k_{os.getpid()}_{secrets.token_hex(4)}'
    url = _pg_schema_url(PG_URL, schema)
    database = stalkeer.open_database(url, str(tmp_path))
    yield url, database
    database.close()
    _drop_pg_schema(schema)


def test_postgresql_connections_killed_mid_transfer_are_reconnected(server, tmp_path, pg_db):
    """pg_terminate_backend() on every connection of the running download (a
    PostgreSQL restart, as the client sees it): renewals reconnect, the
    transfer completes, exit 0."""
    db_url, db = pg_db
    import secrets
    app_name = f'stalkeer-kill-{secrets.token_hex(4)}'
    url_with_name = f'{db_url}&application_name={app_name}'
    data = payload(2_000_000, seed=34)
    dest = tmp_path / 'Killed.mkv'
    proc, _ = start_download(server, 'killed.mkv', data, dest, url_with_name, bps=600_000,
                             lock_timeout_seconds=20, progress_interval_seconds=0.3)
    killed = 0
    for _ in range(2):                                   # twice, a second apart
        killed += sum(ok for (ok,) in db.execute_sql(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s',
            (app_name,)).fetchall())
        time.sleep(1)
    assert killed >= 2
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert 'database unavailable' in err and 'Traceback' not in err
    assert sha256(dest) == sha256(data) and len(server.gets('killed.mkv')) == 1
    done = DI.get(DI.destination == str(dest))
    assert done.status == 'completed' and done.locked_by is None


def test_an_error_on_a_dead_connection_names_what_killed_it(pg_db):
    """A statement in a savepoint kills its connection (pg_terminate_backend,
    as an administrator or a restart would): peewee's ROLLBACK TO SAVEPOINT
    then raises "connection already closed", which hid the first error
    (trial-15d F6). first_line() names the first; an error with no earlier
    one stays as it is."""
    _, db = pg_db
    with pytest.raises(stalkeer.peewee.InterfaceError) as caught:
        with db.atomic():
            with db.atomic():
                db.execute_sql('SELECT pg_terminate_backend(pg_backend_pid())')
    assert 'connection already closed' in str(caught.value)
    line = stalkeer.first_line(caught.value)
    assert 'already closed' not in line
    assert line.startswith(('server closed the connection unexpectedly',
                            'terminating connection due to administrator command')), line
    db.close()
    alone = stalkeer.peewee.InterfaceError('connection already closed')
    assert stalkeer.first_line(alone) == 'connection already closed'


def test_a_full_disk_under_the_database_says_disk_full(server, tiny_disk):
    """The SQLite file and the download on one disk that fills up: the message
    names the full disk (not SQLite's 'cannot rollback'), exit 1, no traceback."""
    url = server.add('huge.mkv', payload(3_000_000))
    server.fault('huge.mkv', no_content_length=True)
    code, out, err = run_stalkeer('--db', f'sqlite:///{tiny_disk}/s.db', 'download', url,
                                  tiny_disk / 'huge.mkv', env=subprocess_env(**QUICK))
    assert code == 1, out + err
    assert 'disk full' in out + err and 'cannot rollback' not in out + err
    assert 'Traceback' not in err
    assert not (tiny_disk / 'huge.mkv').exists()


# -- 7. only the .part this download created, only folders inside the library -----------------
# A file planted (or left by another instance) at a predictable .part name is never
# truncated, appended to or linked into the library; a .part is reopened only when it
# is the inode the row recorded, with a single link; a symlinked movie/series/season
# folder is never followed (trial 101114: F00, F00b, F00c, F12, F8).

def _victim(path, size=70_000, seed=40):
    data = payload(size, seed=seed)
    path.write_bytes(data)
    return sha256(data)


@pytest.mark.parametrize('kind', ['hard link', 'regular file'])
def test_a_file_planted_at_a_new_part_name_is_never_written(kind, server, tmp_path, db_url, db):
    data = payload(400_000, seed=41)
    url = server.add('movie/u/p/planted.mkv', data)
    victim = tmp_path / 'victim.bin'
    victim_sha = _victim(victim)
    dest = tmp_path / 'lib' / 'hl' / 'H.mkv'
    dest.parent.mkdir(parents=True)
    info = stalkeer.StateManager(owner='seed').get_or_create(url, str(dest))
    planted = dest.parent / f'H.mkv.stalkeer-{info.id}.part'
    if kind == 'hard link':
        os.link(victim, planted)
    else:
        planted.write_bytes(victim.read_bytes())
    code, out, err = run_stalkeer('download', url, dest, '--db', db_url, env=subprocess_env(**QUICK))
    assert code == 0 and 'completed' in out, out + err
    assert sha256(victim) == victim_sha and sha256(planted) == victim_sha      # untouched
    assert sha256(dest) == sha256(data)
    assert os.stat(dest).st_nlink == 1 and not os.path.samefile(dest, planted)
    assert 'not created by this download' in err
    done = current(dest)
    assert done.status == 'completed' and done.part_path != str(planted)


def _killed_midway(server, tmp_path, db_url, name, data, dest):
    """A real `download` SIGKILLed with part of ``data`` in its .part; returns
    (row, env) once its lease (2 s) is stale."""
    proc, env = start_download(server, name, data, dest, db_url, bps=400_000,
                               progress_over=150_000, lock_timeout_seconds=2,
                               progress_interval_seconds=0.3)
    proc.kill()
    proc.wait(timeout=10)
    server.clear_faults(name)
    time.sleep(2.3)
    info = current(dest)
    assert info.part_inode and os.stat(info.part_path).st_ino == int(info.part_inode)
    return info, env


def test_a_swapped_part_is_never_resumed(server, tmp_path, db_url, db):
    """The .part of an interrupted download is replaced by a hard link to another
    file (bigger than what was downloaded): the resume leaves it alone and starts
    over in a .part of its own; the library file is byte-exact."""
    data = payload(2_000_000, seed=42)
    dest = tmp_path / 'lib' / 'sw' / 'SW.mkv'
    info, env = _killed_midway(server, tmp_path, db_url, 'movie/u/p/sw.mkv', data, dest)
    victim = tmp_path / 'victim.bin'
    victim_sha = _victim(victim, size=700_000)
    os.unlink(info.part_path)
    os.link(victim, info.part_path)
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert code == 0 and '1 completed' in out, out + err
    assert sha256(dest) == sha256(data)
    assert sha256(victim) == victim_sha and os.stat(victim).st_nlink == 2
    assert not os.path.samefile(dest, victim)


def test_a_link_to_a_partial_part_at_the_destination_is_not_a_finished_download(
        server, tmp_path, db_url, db):
    """Crash recovery takes "the .part and the library file are one inode" for a
    finish that died after link(): only when that inode holds the whole file."""
    data = payload(2_000_000, seed=43)
    dest = tmp_path / 'lib' / 'al' / 'A.mkv'
    info, env = _killed_midway(server, tmp_path, db_url, 'movie/u/p/al.mkv', data, dest)
    os.link(info.part_path, dest)
    partial = sha256(dest)
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert 'finished by a run that stopped' not in out + err
    assert code == 1 and 'refusing to overwrite existing file' in out + err, out + err
    assert current(dest).status == 'failed' and current(dest).file_size is None
    assert sha256(dest) == partial                                    # nothing written to it


def test_another_instances_part_in_a_shared_temp_dir_is_left_alone(server, tmp_path):
    """Two databases (both start at row 1), one temp_dir, two films with one file
    name: B never touches A's .part; A resumes its own, byte-exact."""
    shared = tmp_path / 'tmpd'
    shared.mkdir()
    a_url, b_url = (f'sqlite:///{tmp_path / n}' for n in ('A.db', 'B.db'))
    a_data, b_data = payload(2_000_000, seed=44), payload(600_000, seed=45)
    a_dest, b_dest = tmp_path / 'lib' / 'p' / 'P.mkv', tmp_path / 'lib' / 'q' / 'P.mkv'
    proc, env = start_download(server, 'movie/u/p/a.mkv', a_data, a_dest, a_url, bps=400_000,
                               progress_over=150_000, saved=lambda: sum(
                                   f.stat().st_size for f in shared.iterdir()),
                               lock_timeout_seconds=2, progress_interval_seconds=0.3,
                               temp_dir=shared)
    proc.kill()
    proc.wait(timeout=10)
    server.clear_faults('movie/u/p/a.mkv')
    (a_part,) = shared.iterdir()
    a_sha = sha256(a_part)
    b = server.add('movie/u/p/b.mkv', b_data)
    code, out, err = run_stalkeer('download', b, b_dest, '--db', b_url, env=env)
    assert code == 0, out + err
    assert sha256(b_dest) == sha256(b_data) and sha256(a_part) == a_sha
    time.sleep(2.3)
    code, out, err = run_stalkeer('resume-downloads', '--db', a_url, env=env)
    assert code == 0 and '1 completed' in out, out + err
    assert sha256(a_dest) == sha256(a_data)
    assert server.gets('movie/u/p/a.mkv')[-1].start > 0                   # resumed, not restarted


@pytest.mark.parametrize('linked', ['movie folder', 'season folder', 'series folder'])
def test_a_symlinked_folder_inside_the_library_is_never_followed(linked, server, make_downloader,
                                                                 tmp_path, db):
    url = server.add('movie/u/p/link.mkv', payload(100_000, seed=46))
    outside = tmp_path / 'outside'
    outside.mkdir()
    root = tmp_path / 'lib' / 'movies'
    if linked == 'movie folder':
        folder, dest, service = root / 'Link', root / 'Link' / 'Slow Movie (2008).mkv', 'radarr'
    elif linked == 'season folder':
        (root / 'Show').mkdir(parents=True)
        folder, service = root / 'Show' / 'Season 01', 'sonarr'
        dest = folder / 'Show - S01E01.mkv'
    else:
        folder, service = root / 'Show', 'sonarr'
        dest = folder / 'Season 01' / 'Show - S01E01.mkv'
    root.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, folder)
    assert stalkeer.library_root(str(dest), service) == str(root)
    result = make_downloader().download(url, str(dest), service=service, item_id=1,
                                        library_root=stalkeer.library_root(str(dest), service))
    assert result.status == 'failed'
    assert f'refusing to follow the symbolic link {folder}' in result.message
    assert list(outside.iterdir()) == []


def test_a_library_root_reached_through_a_link_is_followed(server, make_downloader, tmp_path, db):
    """The library itself may be a disk mounted through a link."""
    data = payload(100_000, seed=47)
    url = server.add('movie/u/p/disk.mkv', data)
    disk = tmp_path / 'disk2' / 'movies'
    disk.mkdir(parents=True)
    os.symlink(tmp_path / 'disk2', tmp_path / 'lib')
    dest = tmp_path / 'lib' / 'movies' / 'Heat (1995)' / 'Heat (1995).mkv'
    result = make_downloader().download(url, str(dest), service='radarr', item_id=1,
                                        library_root=stalkeer.library_root(str(dest), 'radarr'))
    assert result.status == 'completed'
    assert sha256(disk / 'Heat (1995)' / 'Heat (1995).mkv') == sha256(data)


def test_cleanup_never_deletes_through_a_symlinked_folder(server, make_downloader, tmp_path,
                                                          db_url, db):
    outside = tmp_path / 'outside'
    outside.mkdir()
    precious = outside / 'Precious.mkv.stalkeer-999.part'
    precious.write_bytes(b'precious')
    os.utime(precious, (time.time() - 40 * 86400,) * 2)
    root = tmp_path / 'lib' / 'movies'
    root.mkdir(parents=True)
    os.symlink(outside, root / 'Link')
    dest = root / 'Link' / 'Slow Movie (2008).mkv'
    stalkeer.StateManager(owner='seed').get_or_create(
        'http://127.0.0.1:9/x.mkv', str(dest), service='radarr', item_id=1,
        library_root=str(root))
    code, out, err = run_stalkeer('cleanup', '--older-than', '1', '--db', db_url)
    assert code == 0, out + err
    assert precious.read_bytes() == b'precious'
    assert 'removed' not in out and 'not followed' in out


@pytest.mark.parametrize('obstacle', ['symlinked folder', 'file as folder', 'name too long'])
def test_a_failure_no_retry_can_fix_gives_up_at_once(obstacle, server, tmp_path, db_url, db):
    """F10/F17: a refusal that no retry fixes is not retried by every cron run
    forever: the first run fails it with what to do, the next does not try again
    (and says it gave up), `retry ID` puts it back."""
    url = server.add('movie/u/p/perm.mkv', payload(50_000, seed=48))
    root = tmp_path / 'lib' / 'movies'
    root.mkdir(parents=True)
    if obstacle == 'symlinked folder':
        (tmp_path / 'outside').mkdir()
        os.symlink(tmp_path / 'outside', root / 'Link')
        dest, says = root / 'Link' / 'Perm (2001).mkv', f'refusing to follow the symbolic link {root / "Link"}'
    elif obstacle == 'file as folder':
        (root / 'Heat (1995).mkv').write_bytes(b'a file')
        dest, says = root / 'Heat (1995).mkv' / 'Perm (2001).mkv', \
            f'is out of reach ({root / "Heat (1995).mkv"} on the way is a file)'
    else:
        dest, says = root / ('x' * 300) / 'Perm (2001).mkv', 'File name too long'
    info = stalkeer.StateManager(owner='seed').get_or_create(
        url, str(dest), 'Perm (2001)', service='radarr', item_id=1, library_root=str(root))
    env = subprocess_env(**QUICK)
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert code == 1 and says in out and 'no retry can fix this' in out, out + err
    assert f'stalkeer retry {info.id}' in out
    # One attempt, no retry: the give-up is the mark, not retries it never made.
    assert DI.get_by_id(info.id).retry_count == 0
    assert [r.id for r in stalkeer.StateManager().given_up()] == [info.id]
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert 'failed: #' not in out and 'gave up' in out + err, out + err
    assert not (tmp_path / 'outside').exists() or list((tmp_path / 'outside').iterdir()) == []
    code, out, err = run_stalkeer('retry', str(info.id), '--db', db_url, env=env)
    assert code == 0 and DI.get_by_id(info.id).retry_count == 0
