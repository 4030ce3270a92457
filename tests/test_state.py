"""StateManager: compare-and-set leases, transitions and the resume queue, on both backends."""

import re
import threading

import peewee
import pytest

import stalkeer

DI = stalkeer.DownloadInfo


def manager(owner, timeout=30, max_retries=5):
    return stalkeer.StateManager(lock_timeout=timeout, max_retry_attempts=max_retries, owner=owner)


def new_row(dest='/lib/a', **fields):
    info = manager('setup').get_or_create('http://h/movie/u/p/1.mkv', dest)
    if fields:
        DI.update(**fields).where(DI.id == info.id).execute()
    return DI.get_by_id(info.id)


def age_lock(download_id, seconds):
    DI.update(locked_at=stalkeer.db_now(-seconds)).where(DI.id == download_id).execute()


def test_owner_id_is_host_pid_random():
    owner = stalkeer.make_owner_id()
    assert re.fullmatch(r'.+-\d+-[0-9a-f]{6}', owner)
    assert owner != stalkeer.make_owner_id()


def test_get_or_create_is_one_row_per_destination(db):
    a = manager('a').get_or_create('http://h/1.mkv', '/lib/x')
    b = manager('b').get_or_create('http://h/1.mkv', '/lib/x')
    assert a.id == b.id and DI.select().count() == 1
    assert a.status == 'pending' and a.retry_count == 0 and a.bytes_downloaded == 0


def test_acquire_is_compare_and_set(db):
    info = new_row()
    a, b = manager('a'), manager('b')
    assert a.acquire(info.id)
    assert not b.acquire(info.id)
    assert a.acquire(info.id)            # re-entrant for the holder
    assert not b.release(info.id)        # never release someone else's lock
    assert DI.get_by_id(info.id).locked_by == 'a'
    assert a.release(info.id)
    assert b.acquire(info.id)


def test_only_a_stale_lease_can_be_taken_over(db):
    info = new_row()
    a, b = manager('a', timeout=60), manager('b', timeout=60)
    assert a.acquire(info.id)
    age_lock(info.id, 30)
    assert not b.acquire(info.id)        # beating 30 s ago: alive
    age_lock(info.id, 61)
    assert b.acquire(info.id)            # silent for longer than the timeout: stale
    with pytest.raises(stalkeer.LeaseLost):
        a.heartbeat(info.id, 100)
    assert DI.get_by_id(info.id).bytes_downloaded == 0


def test_heartbeat_renews_the_lease(db):
    info = new_row()
    a, b = manager('a', timeout=60), manager('b', timeout=60)
    a.acquire(info.id)
    age_lock(info.id, 59)
    a.heartbeat(info.id, 4096, total_bytes=10_000, resume_token='"etag"')
    age_lock_row = DI.get_by_id(info.id)
    assert age_lock_row.bytes_downloaded == 4096 and age_lock_row.total_bytes == 10_000
    assert age_lock_row.resume_token == '"etag"'
    assert not b.acquire(info.id)


def test_every_transition_after_losing_the_lease_raises(db):
    info = new_row()
    a = manager('a')
    a.acquire(info.id)
    DI.update(locked_by='thief').where(DI.id == info.id).execute()
    for call in (lambda: a.start(info, '/tmp/p'), lambda: a.heartbeat(info.id, 1),
                 lambda: a.retrying(info.id, 'x', 1), lambda: a.complete(info.id, '/x', 1),
                 lambda: a.fail(info.id, 'x'), lambda: a.pause(info.id, 1, 'x')):
        with pytest.raises(stalkeer.LeaseLost):
            call()
    after = DI.get_by_id(info.id)
    assert after.locked_by == 'thief' and after.status == 'pending'


def test_transitions_set_their_timestamps(db):
    line = stalkeer.ProcessedLine.create()
    a = manager('a')
    info = a.get_or_create('http://h/2.mkv', '/lib/2', processed_line_id=line.id)
    assert stalkeer.ProcessedLine.get_by_id(line.id).state == 'pending'
    a.acquire(info.id)
    a.start(info, '/lib/2.part')
    row = DI.get_by_id(info.id)
    assert row.status == 'downloading' and row.started_at and row.part_path == '/lib/2.part'
    assert stalkeer.ProcessedLine.get_by_id(line.id).state == 'downloading'
    a.retrying(info.id, 'HTTP 503', 10)
    a.retrying(info.id, 'HTTP 503', 20)
    row = DI.get_by_id(info.id)
    assert row.status == 'retrying' and row.retry_count == 2 and row.last_retry_at
    assert row.error_message == 'HTTP 503' and row.locked_by == 'a'
    a.fail(info.id, 'HTTP 404 Not Found', 20)
    row = DI.get_by_id(info.id)
    assert row.status == 'failed' and row.locked_by is None and row.locked_at is None
    assert stalkeer.ProcessedLine.get_by_id(line.id).state == 'failed'
    a.acquire(info.id)
    a.start(row, '/lib/2.part')          # resuming a failed download is a retry
    assert DI.get_by_id(info.id).retry_count == 3
    a.complete(info.id, '/lib/2.mkv', 1234)
    row = DI.get_by_id(info.id)
    assert (row.status, row.file_size, row.download_path) == ('completed', 1234, '/lib/2.mkv')
    assert row.completed_at >= row.started_at and row.error_message is None
    assert row.locked_by is None
    assert stalkeer.ProcessedLine.get_by_id(line.id).state == 'downloaded'


def test_clean_stale_locks(db):
    live, stale, stale_paused = new_row('/l/1'), new_row('/l/2'), new_row('/l/3')
    owner = manager('dead', timeout=60)
    for info in (live, stale, stale_paused):
        owner.acquire(info.id)
    DI.update(status='downloading').where(DI.id.in_([live.id, stale.id])).execute()
    age_lock(stale.id, 120)
    age_lock(stale_paused.id, 120)
    assert manager('janitor', timeout=60).clean_stale_locks() == 2
    rows = {r.id: r for r in DI.select()}
    assert rows[live.id].locked_by == 'dead'
    assert rows[stale.id].locked_by is None and rows[stale.id].status == 'paused'
    assert rows[stale_paused.id].locked_by is None and rows[stale_paused.id].status == 'pending'


def test_resumable_queue(db):
    old = new_row('/q/old', status='paused')
    failed = new_row('/q/failed', status='failed', retry_count=1)
    new_row('/q/done', status='completed')
    new_row('/q/exhausted', status='failed', retry_count=5)
    live = new_row('/q/live', status='downloading')
    manager('other').acquire(live.id)
    crashed = new_row('/q/crashed', status='downloading')
    manager('dead').acquire(crashed.id)
    age_lock(crashed.id, 1000)
    pending = new_row('/q/pending')
    queue = manager('me').resumable()
    assert [r.id for r in queue] == [failed.id, old.id, crashed.id, pending.id]
    assert [r.id for r in manager('me').resumable(limit=2)] == [failed.id, old.id]
    assert manager('me').resumable(max_retries=1)[0].id == old.id


def test_only_one_of_many_concurrent_claims_wins(db_url, db):
    info = new_row()
    database = stalkeer.db_proxy.obj
    winners, errors = [], []
    barrier = threading.Barrier(8)

    def claim(n):
        try:
            barrier.wait()
            if manager(f'w{n}').acquire(info.id):
                winners.append(n)
        except Exception as exc:   # a "database is locked" would land here
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(winners) == 1
    assert DI.get_by_id(info.id).locked_by == f'w{winners[0]}'


def test_lease_uses_the_database_clock_not_the_local_one(db, monkeypatch):
    """A host whose clock runs 10 minutes fast must not see a live lease as stale."""
    info = new_row()
    manager('honest', timeout=60).acquire(info.id)
    import datetime as dt
    skewed = lambda: dt.datetime.utcnow() + dt.timedelta(minutes=10)  # noqa: E731
    monkeypatch.setattr(stalkeer, 'utcnow', skewed)
    monkeypatch.setattr(stalkeer.time, 'time', lambda: 4_000_000_000.0)
    skewed_host = manager('skewed', timeout=60)
    assert not skewed_host.acquire(info.id)
    assert skewed_host.clean_stale_locks() == 0
