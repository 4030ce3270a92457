"""Operations: status, unlock, retry, cleanup, resume-downloads options, notifications."""

import contextlib
import http.server
import json
import os
import re
import signal
import sqlite3
import threading
import time

import pytest

import stalkeer
from conftest import payload, sha256
from fakearr import FakeArr

DI = stalkeer.DownloadInfo


def seed(tmp_path, db_url):
    """A database with one download in each interesting state."""
    db = stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    rows = {}
    for name, status in (('done', 'completed'), ('broken', 'failed'), ('live', 'downloading'),
                         ('dead', 'downloading'), ('waiting', 'paused'), ('new', 'pending')):
        info = state.get_or_create(f'http://h:8080/movie/alice/hunter22pw/{name}.mkv',
                                   str(tmp_path / 'lib' / name), name.title())
        fields = dict(status=status, total_bytes=1000, bytes_downloaded=400,
                      part_path=str(tmp_path / 'lib' / f'{name}.stalkeer-{info.id}.part'))
        if status == 'completed':
            fields.update(bytes_downloaded=1000, file_size=1000, download_path=str(tmp_path / 'lib' / f'{name}.mkv'),
                          completed_at=stalkeer.utcnow())
        if status == 'failed':
            fields.update(error_message='HTTP 404 Not Found', retry_count=2)
        DI.update(**fields).where(DI.id == info.id).execute()
        rows[name] = info.id
    stalkeer.StateManager(owner='alive-host-1-abc').acquire(rows['live'])
    stalkeer.StateManager(owner='dead-host-2-def').acquire(rows['dead'])
    DI.update(locked_at=stalkeer.db_now(-3600)).where(DI.id == rows['dead']).execute()
    # The live one resumed 10 s ago at byte 0 of this session.
    DI.update(started_at=stalkeer.db_now(-3600), session_started_at=stalkeer.db_now(-10),
              session_start_bytes=0).where(DI.id == rows['live']).execute()
    db.close()
    return rows


def dump(db_url, tmp_path):
    db = stalkeer.open_database(db_url, str(tmp_path))
    rows = [tuple(r.values()) for r in DI.select().order_by(DI.id).dicts()]
    db.close()
    return rows


def test_status_text(cli, db_url, tmp_path):
    rows = seed(tmp_path, db_url)
    code, out, err = cli('--db', db_url, 'status')
    assert code == 0, err
    assert 'downloads: 2 pending' not in out
    assert 'downloads: 1 pending, 2 downloading, 1 paused, 1 completed, 1 failed' in out
    assert 'active:' in out and 'locked by alive-host-1-abc, heartbeat' in out and '40.0%' in out
    assert f'#{rows["broken"]} Broken: HTTP 404 Not Found (retries 2' in out
    assert 'recent completions:' in out and 'hunter22pw' not in out


def test_status_json(cli, db_url, tmp_path):
    rows = seed(tmp_path, db_url)
    code, out, err = cli('--db', db_url, 'status', '--json')
    data = json.loads(out)
    assert data['summary'] == {'pending': 1, 'downloading': 2, 'paused': 1, 'completed': 1,
                               'failed': 1, 'retrying': 0}
    assert len(data['downloads']) == 6
    first = data['downloads'][0]
    assert list(first) == list(stalkeer.STATUS_JSON_FIELDS)
    broken = [d for d in data['downloads'] if d['id'] == rows['broken']][0]
    assert broken['url'] == 'http://h:8080/movie/***/***/broken.mkv'
    assert broken['error_message'] == 'HTTP 404 Not Found' and broken['retry_count'] == 2
    assert broken['updated_at'].endswith('Z')
    code, out, err = cli('--db', db_url, 'status', '--json', '--failed')
    assert [d['id'] for d in json.loads(out)['downloads']] == [rows['broken']]
    code, out, err = cli('--db', db_url, 'status', '--json', '--status', 'paused')
    assert [d['id'] for d in json.loads(out)['downloads']] == [rows['waiting']]
    code, out, err = cli('--db', db_url, 'status', '--json', '--active')
    assert sorted(d['id'] for d in json.loads(out)['downloads']) == sorted([rows['live'], rows['dead']])
    code, out, err = cli('--db', db_url, 'status', '--json', '--limit', '2')
    assert len(json.loads(out)['downloads']) == 2


def test_status_json_names_the_destination_of_every_row(cli, db_url, tmp_path):
    """A newcomer trial: the text showed a paused row's file and a failure's,
    the JSON of those rows had "download_path": null and nothing else: only a
    completed row named its file. "destination" is the file each becomes (or
    became), as the text, the page and `resume-downloads` name it."""
    rows = seed(tmp_path, db_url)
    data = json.loads(cli('--db', db_url, 'status', '--json')[1])
    by_id = {d['id']: d for d in data['downloads']}
    lib = tmp_path / 'lib'
    for name, row in rows.items():
        expected = lib / (f'{name}.mkv')
        assert by_id[row]['destination'] == str(expected), name
        assert by_id[row]['title'] == name.title()
    assert by_id[rows['done']]['download_path'] == str(lib / 'done.mkv')
    assert all(by_id[rows[n]]['download_path'] is None for n in ('broken', 'waiting', 'new', 'live'))
    code, out, err = cli('--db', db_url, 'status')
    assert f'-> {lib / "live.mkv"}' in out
    # Without a title, the row's title is null, and its destination is still there.
    db = stalkeer.open_database(db_url, str(tmp_path))
    DI.update(title=None).where(DI.id == rows['waiting']).execute()
    db.close()
    paused = json.loads(cli('--db', db_url, 'status', '--json', '--status', 'paused')[1])['downloads'][0]
    assert (paused['title'], paused['destination']) == (None, str(lib / 'waiting.mkv'))


# ---- the last import of the playlist (trial-17a F6) -----------------------------------

STK = __import__('conftest').SHARED / 'playlists' / 'germainlefebvre4-Stalkeer__sample.m3u'
INCOMPLETE = re.compile(r'playlist: the last import did not complete \(started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d '
                        r'UTC\): the lines stored may be only part of the playlist; run `stalkeer process` again')


def _imports(cli, db_url):
    code, out, err = cli('--db', db_url, 'status', '--json')
    assert code == 0, err
    return json.loads(out)['imports']


def test_status_tells_whether_the_last_import_completed(cli, db_url, tmp_path):
    """After a killed import nothing told that the stored playlist was partial."""
    from conftest import run_stalkeer, subprocess_env
    code, out, err = cli('--db', db_url, 'status')
    assert code == 0 and 'playlist' not in out and _imports(cli, db_url) == []
    # A first import SIGKILLed after its first stored batch.
    code, out, err = run_stalkeer('--db', db_url, 'process', STK,
                                  env=subprocess_env(STALKEER_TEST_CRASH_AT='after_ingest_batch',
                                                     STALKEER_M3U_PARSE_WORKER='false'))
    assert code == -9, err
    code, out, err = cli('--db', db_url, 'status')
    assert code == 0 and INCOMPLETE.search(out), out
    [row] = _imports(cli, db_url)
    assert (row['source'], row['status'], row['completed_at'], row['lines']) == ('m3u', 'incomplete', None, None)
    assert row['started_at'].endswith('Z')
    # lines answers from what is stored, and says on stderr that it may be partial.
    for argv in (['lines', 'zzz'], ['lines', 'a', '--json']):
        code, out, err = cli('--db', db_url, *argv)
        assert code == 0 and INCOMPLETE.search(err) and len(err.strip().splitlines()) == 1, (argv, err)
        assert 'playlist: the last import' not in out
    json.loads(cli('--db', db_url, 'lines', 'a', '--json')[1])       # stdout stays one document
    # Read again completely: the note is gone.
    assert cli('--db', db_url, 'process', STK)[0] == 0
    code, out, err = cli('--db', db_url, 'status')
    assert re.search(r'^playlist: last import completed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, 44 lines$', out, re.M), out
    [row] = _imports(cli, db_url)
    assert (row['status'], row['lines']) == ('completed', 44) and row['completed_at'].endswith('Z')
    code, out, err = cli('--db', db_url, 'lines', 'zzz')
    assert code == 0 and err == ''
    # Another source's import in between clears completed_at, not "completed".
    db = stalkeer.open_database(db_url, str(tmp_path))
    stalkeer.ImportPointer.invalidate()
    db.close()
    code, out, err = cli('--db', db_url, 'status')
    assert re.search(r'^playlist: last import complete, 44 lines \(started .* UTC\)$', out, re.M), out
    [row] = _imports(cli, db_url)
    assert (row['status'], row['completed_at'], row['lines']) == ('completed', None, 44)
    # A --limit run is no complete import either.
    assert cli('--db', db_url, 'process', STK, '--limit', '3')[0] == 0
    assert INCOMPLETE.search(cli('--db', db_url, 'status')[1])


def test_status_tells_an_import_running_now(cli, db_url, tmp_path):
    from conftest import run_stalkeer, subprocess_env
    assert cli('--db', db_url, 'process', STK)[0] == 0
    db = stalkeer.open_database(db_url, str(tmp_path))
    PI = stalkeer.PlaylistImport
    try:
        with stalkeer.import_lock(db):                      # another instance's import, begun
            PI.update(line_count=None, completed_at=None, started_at=stalkeer.utcnow()).execute()
            code, out, err = run_stalkeer('--db', db_url, 'status', env=subprocess_env(), cwd=tmp_path)
            assert code == 0 and re.search(r'^playlist: an import is running \(started .* UTC\)$', out, re.M), out
            code, out, err = run_stalkeer('--db', db_url, 'status', '--json', env=subprocess_env(), cwd=tmp_path)
            assert [row['status'] for row in json.loads(out)['imports']] == ['running']
            code, out, err = run_stalkeer('--db', db_url, 'lines', 'a', env=subprocess_env(), cwd=tmp_path)
            assert code == 0 and err == '', err                 # running is no reason for a note
        code, out, err = cli('--db', db_url, 'status')              # the lock gone: it did not complete
        assert INCOMPLETE.search(out), out
    finally:
        db.close()


def test_unlock(cli, db_url, tmp_path):
    rows = seed(tmp_path, db_url)
    code, out, err = cli('--db', db_url, 'unlock', rows['live'])
    assert code == 2 and 'heartbeat is fresh' in err
    code, out, err = cli('--db', db_url, 'unlock', rows['dead'])
    assert code == 0 and 'unlocked' in out
    code, out, err = cli('--db', db_url, 'unlock', rows['live'], '--force')
    assert code == 0
    after = {r[0]: r for r in dump(db_url, tmp_path)}
    db = stalkeer.open_database(db_url, str(tmp_path))
    assert DI.get_by_id(rows['live']).locked_by is None
    assert DI.get_by_id(rows['dead']).status == 'paused'
    db.close()
    assert after


def test_unlock_stale(cli, db_url, tmp_path):
    rows = seed(tmp_path, db_url)
    code, out, err = cli('--db', db_url, 'unlock', '--stale')
    assert code == 0 and 'cleared 1 stale lock' in out
    db = stalkeer.open_database(db_url, str(tmp_path))
    assert DI.get_by_id(rows['live']).locked_by == 'alive-host-1-abc'
    assert DI.get_by_id(rows['dead']).locked_by is None
    db.close()


def test_retry(cli, db_url, tmp_path):
    rows = seed(tmp_path, db_url)
    code, out, err = cli('--db', db_url, 'retry', '--failed')
    assert code == 0 and '1 download(s) back to pending' in out
    db = stalkeer.open_database(db_url, str(tmp_path))
    info = DI.get_by_id(rows['broken'])
    assert info.status == 'pending' and info.retry_count == 0
    assert info.error_message == 'HTTP 404 Not Found'       # history kept
    db.close()
    code, out, err = cli('--db', db_url, 'retry', rows['done'])
    assert code == 2 and 'is completed' in err
    code, out, err = cli('--db', db_url, 'retry', 9999)
    assert code == 2 and 'no download with id 9999' in err


def test_retry_of_a_pause_names_an_apps_run_only_for_an_apps_item(cli, db_url, tmp_path):
    """Newcomer trial 2: `retry` of a pause `download` started (no radarr/sonarr
    item) said the next radarr/sonarr run of its item continues it: there is none."""
    rows = seed(tmp_path, db_url)
    said = f'#{rows["waiting"]} is paused, not failed: `stalkeer resume-downloads` continues it'
    code, out, err = cli('--db', db_url, 'retry', rows['waiting'])
    assert code == 2 and err.rstrip().endswith(said), err
    db = stalkeer.open_database(db_url, str(tmp_path))
    DI.update(service='sonarr', service_item_id=7, service_parent_id=3).where(DI.id == rows['waiting']).execute()
    db.close()
    code, out, err = cli('--db', db_url, 'retry', rows['waiting'])
    assert code == 2 and err.rstrip().endswith(said + ' (so does the next `stalkeer sonarr` run of its item)'), err


@pytest.mark.parametrize('argv, said', [
    (('retry', '2', '--failed'), 'give a download ID or --failed, not both'),
    (('retry',), 'give a download ID or --failed'),
    (('unlock', '2', '--stale'), 'give a download ID or --stale, not both'),
    (('unlock',), 'give a download ID or --stale'),
    (('status', '--failed', '--status', 'completed'), 'give one of --status, --active or --failed, '
                                                      'not --status and --failed'),
    (('status', '--active', '--failed'), 'give one of --status, --active or --failed, not --active and --failed'),
    (('status', '--json', '--status', 'paused', '--active'),
     'give one of --status, --active or --failed, not --status and --active'),
])
def test_arguments_of_which_one_is_given_refuse_more_and_say_so(cli, db_url, tmp_path, argv, said):
    """Newcomer trial 2: `retry 2 --failed` said "give a download ID or
    --failed", both given; `status --failed --status completed` dropped one
    filter without a word. One line naming what was wrong, exit 2, nothing changed."""
    seed(tmp_path, db_url)
    before = dump(db_url, tmp_path)
    code, out, err = cli('--db', db_url, *argv)
    assert code == 2 and err.strip().endswith(said) and said + ',' not in err, err
    assert len(err.strip().splitlines()) == 1 and not out, (out, err)
    assert dump(db_url, tmp_path) == before


def test_cleanup_removes_only_orphans(cli, db_url, tmp_path):
    rows = seed(tmp_path, db_url)
    lib = tmp_path / 'lib'
    lib.mkdir()
    keep = lib / f'waiting.stalkeer-{rows["waiting"]}.part'
    orphan_done = lib / f'done.stalkeer-{rows["done"]}.part'
    orphan_gone = lib / 'vanished.stalkeer-999.part'
    other = lib / 'not-ours.part'
    hour_ago = time.time() - 3600       # older than lock_timeout_seconds (300 s)
    for path in (keep, orphan_done, orphan_gone, other):
        path.write_bytes(b'x' * 1000)
        os.utime(path, (hour_ago, hour_ago))
    before = dump(db_url, tmp_path)
    code, out, err = cli('--db', db_url, 'cleanup', '--dry-run')
    assert code == 0 and '2 orphaned .part file(s), would free 2.0 KiB' in out
    assert all(p.exists() for p in (keep, orphan_done, orphan_gone, other))
    assert dump(db_url, tmp_path) == before
    code, out, err = cli('--db', db_url, 'cleanup', '--older-than', '1')
    assert '0 orphaned' in out                                   # an hour old, not a day
    code, out, err = cli('--db', db_url, 'cleanup')
    assert code == 0 and 'freed 2.0 KiB' in out
    assert keep.exists() and other.exists() and not orphan_done.exists() and not orphan_gone.exists()


def test_cleanup_never_deletes_a_live_part(cli, db_url, tmp_path):
    """A download on its last allowed retry (retry_count = max while it runs), a
    fresh .part of another instance with a database of its own, and an old one a
    process still has open and locked: cleanup keeps all three."""
    db = stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager(owner='live-host-1-abc')
    lib = tmp_path / 'lib'
    lib.mkdir()
    info = state.get_or_create('http://h/movie/u/p/1.mkv', str(lib / 'Last.mkv'), 'Last')
    last_try = lib / f'Last.mkv.stalkeer-{info.id}.part'
    assert state.acquire(info.id)
    DI.update(status='downloading', retry_count=5, part_path=str(last_try)).where(
        DI.id == info.id).execute()
    db.close()
    hour_ago = time.time() - 3600
    last_try.write_bytes(b'x' * 1000)
    os.utime(last_try, (hour_ago, hour_ago))
    foreign = lib / 'Other.mkv.stalkeer-77.part'       # no row here: another database's
    foreign.write_bytes(b'y' * 1000)                    # ...and written a moment ago
    held = lib / 'Held.mkv.stalkeer-78.part'
    held.write_bytes(b'z' * 1000)
    os.utime(held, (hour_ago, hour_ago))
    import fcntl
    with open(held, 'r+b') as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)                  # as a transfer holds its .part
        code, out, err = cli('--db', db_url, 'cleanup')
    assert code == 0 and '0 orphaned' in out, out + err
    assert last_try.exists() and foreign.exists() and held.exists()
    code, out, err = cli('--db', db_url, 'cleanup')     # unlocked and old: an orphan
    assert '1 orphaned' in out and not held.exists()
    assert last_try.exists() and foreign.exists()


def test_cleanup_leaves_planted_links_alone(cli, db_url, tmp_path):
    db = stalkeer.open_database(db_url, str(tmp_path))
    stalkeer.StateManager(owner='seed').get_or_create('http://h/1.mkv', str(tmp_path / 'lib' / 'A.mkv'))
    db.close()
    (tmp_path / 'lib').mkdir()
    victim = tmp_path / 'victim'
    victim.write_bytes(b'keep me')
    link = tmp_path / 'lib' / 'B.mkv.stalkeer-99.part'
    os.symlink(victim, link)
    hour_ago = time.time() - 3600
    os.utime(link, (hour_ago, hour_ago), follow_symlinks=False)
    code, out, err = cli('--db', db_url, 'cleanup')
    assert code == 0 and '0 orphaned' in out
    assert os.path.islink(link) and victim.read_bytes() == b'keep me'


@pytest.fixture
def partial_downloads(server, tmp_path, sqlite_url):
    """Three paused downloads with half of their bytes on disk."""
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    items = []
    for i, service in enumerate(('radarr', 'sonarr', None)):
        data = payload(300_000, seed=i)
        url = server.add(f'f{i}.mkv', data)
        info = state.get_or_create(url, str(tmp_path / 'lib' / f'f{i}.mkv'), f'F{i}', service=service,
                                   item_id=10 + i if service else None,
                                   parent_id=77 if service == 'sonarr' else None)
        part = tmp_path / 'lib' / f'f{i}.mkv.stalkeer-{info.id}.part'
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(data[:150_000])
        DI.update(status='paused', part_path=str(part), bytes_downloaded=150_000).where(
            DI.id == info.id).execute()
        items.append((info.id, data))
    db.close()
    return items


def test_resume_downloads_service_filter_and_parallel(server, cli, tmp_path, sqlite_url,
                                                      partial_downloads):
    code, out, err = cli('--db', sqlite_url, 'resume-downloads', '--service', 'radarr', '--no-rescan')
    assert code == 0 and '1 completed' in out
    code, out, err = cli('--db', sqlite_url, 'resume-downloads', '--parallel', '2', '--no-rescan')
    assert code == 0 and '2 completed' in out
    for i, (_id, data) in enumerate(partial_downloads):
        assert sha256(tmp_path / 'lib' / f'f{i}.mkv') == sha256(data)
        assert server.gets(f'f{i}.mkv')[0].start == 150_000 - stalkeer.RESUME_OVERLAP   # no validator saved


def test_resume_downloads_max_retries(cli, tmp_path, sqlite_url, partial_downloads):
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    DI.update(retry_count=3).execute()
    db.close()
    code, out, err = cli('--db', sqlite_url, 'resume-downloads', '--max-retries', '3', '--dry-run')
    assert 'nothing to resume' in out
    code, out, err = cli('--db', sqlite_url, 'resume-downloads', '--max-retries', '4', '--dry-run')
    assert out.count('would resume') == 3


def test_no_clean_stale_locks(cli, tmp_path, sqlite_url, partial_downloads):
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    first = partial_downloads[0][0]
    DI.update(retry_count=9, locked_by='dead-1-x', locked_at=stalkeer.db_now(-3600)).where(DI.id == first).execute()
    db.close()
    cli('--db', sqlite_url, 'resume-downloads', '--no-clean-stale-locks', '--no-rescan')
    conn = sqlite3.connect(tmp_path / 'stalkeer.db')
    assert conn.execute('SELECT locked_by FROM download_info WHERE id = ?', (first,)).fetchone()[0] == 'dead-1-x'
    cli('--db', sqlite_url, 'resume-downloads', '--no-rescan')
    assert conn.execute('SELECT locked_by FROM download_info WHERE id = ?', (first,)).fetchone()[0] is None


def test_resumed_arr_downloads_trigger_rescans(server, cli, tmp_path, sqlite_url, partial_downloads):
    with FakeArr('radarr') as radarr, FakeArr('sonarr') as sonarr:
        ini = tmp_path / 's.ini'
        ini.write_text(f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       f'[sonarr]\nurl = {sonarr.base_url}\napi_key = {sonarr.api_key}\n')
        code, out, err = cli('--config', ini, '--db', sqlite_url, 'resume-downloads')
        assert code == 0, err
        assert radarr.commands == [{'name': 'RescanMovie', 'movieId': 10}]
        assert sonarr.commands == [{'name': 'RescanSeries', 'seriesId': 77}]


# -- notifications ------------------------------------------------------------------------


class Receiver:
    """A local HTTP receiver for webhooks and healthcheck pings; with a
    ``location``, one that answers every request ``status`` redirecting there."""

    def __init__(self, status=200, location=None):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                received.append((self.path, body))
                self.send_response(status)
                if location:
                    self.send_header('Location', location)
                self.send_header('Content-Length', '0')
                self.end_headers()
            do_GET = do_POST

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def json(self, path='/hook'):
        return [json.loads(body) for p, body in self.received if p == path]

    def paths(self):
        return [p for p, _ in self.received]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def notify_ini(tmp_path, receiver, on='failure'):
    ini = tmp_path / 'n.ini'
    ini.write_text(f'[notify]\nwebhook_url = {receiver.url}/hook\non = {on}\n'
                   f'healthcheck_url = {receiver.url}/ping/abc-123\n'
                   '[downloads]\nretry_attempts = 1\nmin_free_space_mb = 0\n')
    return ini


def test_failed_download_notifies_and_pings_fail(server, receiver, cli, tmp_path, sqlite_url):
    ini = notify_ini(tmp_path, receiver)
    url = server.url('movie/alice/hunter22pw/missing.mkv')
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'download', url, tmp_path / 'x.mkv')
    assert code == 1
    events = receiver.json()
    assert [e['event'] for e in events] == ['download_failed', 'run_summary']
    assert events[0]['url'].endswith('/movie/***/***/missing.mkv') and '404' in events[0]['error']
    assert events[1]['status'] == 'failed' and events[1]['counts'] == {'failed': 1}
    assert receiver.paths()[0] == '/ping/abc-123/start' and receiver.paths()[-1] == '/ping/abc-123/fail'
    assert 'hunter22pw' not in json.dumps(events)


def test_success_pings_and_summary_per_on(server, receiver, cli, tmp_path, sqlite_url):
    url = server.add('ok.mkv', payload(1000))
    ini = notify_ini(tmp_path, receiver, on='failure')
    assert cli('--config', ini, '--db', sqlite_url, 'download', url, tmp_path / 'a.mkv')[0] == 0
    assert receiver.json() == [] and receiver.paths() == ['/ping/abc-123/start', '/ping/abc-123']
    ini = notify_ini(tmp_path, receiver, on='always')
    assert cli('--config', ini, '--db', sqlite_url, 'download', url, tmp_path / 'b.mkv')[0] == 0
    assert [e['event'] for e in receiver.json()] == ['run_summary']
    receiver.received.clear()
    ini = notify_ini(tmp_path, receiver, on='never')
    cli('--config', ini, '--db', sqlite_url, 'download', server.url('nope.mkv'), tmp_path / 'c.mkv')
    assert receiver.received == []


def test_receiver_down_is_never_fatal(server, cli, tmp_path, sqlite_url):
    down = Receiver()
    down.close()                                           # nothing listens there any more
    ini = notify_ini(tmp_path, down, on='always')
    url = server.add('ok2.mkv', payload(1000))
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'download', url, tmp_path / 'a.mkv')
    assert code == 0 and 'completed' in out
    assert 'webhook: cannot reach' in err and 'healthcheck: cannot reach' in err
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'download', server.url('gone.mkv'), tmp_path / 'b.mkv')
    assert code == 1


def test_apprise_missing_is_a_clear_error(server, cli, tmp_path, sqlite_url):
    pytest.importorskip  # apprise is not a dependency; when absent, say so and carry on
    try:
        import apprise  # noqa: F401
        pytest.skip('apprise is installed here')
    except ImportError:
        pass
    ini = tmp_path / 'a.ini'
    ini.write_text('[notify]\napprise_urls = json://127.0.0.1:9/x\n')
    url = server.add('ok3.mkv', payload(1000))
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'download', url, tmp_path / 'a.mkv')
    assert code == 0 and 'apprise package is not installed' in err


def test_bad_notify_on_value(cli, tmp_path, sqlite_url):
    ini = tmp_path / 'b.ini'
    ini.write_text('[notify]\non = sometimes\n')
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'resume-downloads')
    assert code == 2 and '[notify] on' in err


def test_resume_downloads_reports_downloads_that_gave_up(cli, tmp_path, sqlite_url, partial_downloads):
    """A download that used up its retries is not resumed any more, but it does
    not vanish: every run names it, with the command that brings it back, and
    exits 1 until then."""
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    first = partial_downloads[0][0]
    DI.update(status='failed', retry_count=5, error_message='HTTP 503').where(DI.id == first).execute()
    db.close()
    code, out, err = cli('--db', sqlite_url, 'resume-downloads', '--no-rescan')
    assert code == 1, out + err
    assert '2 completed' in out and '1 gave up' in out
    assert 'stalkeer retry ID' in out and f'IDs {first}' in out
    code, out, err = cli('--db', sqlite_url, 'resume-downloads', '--no-rescan')
    assert code == 1 and '1 gave up' in out and 'nothing to resume' not in out
    code, out, err = cli('--db', sqlite_url, 'resume-downloads', '--dry-run')
    assert code == 0 and '1 gave up' in out
    assert cli('--db', sqlite_url, 'retry', first)[0] == 0
    code, out, err = cli('--db', sqlite_url, 'resume-downloads', '--no-rescan')
    assert code == 0 and '1 completed' in out and 'gave up' not in out



def _closed_port():
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize('status', [302, 307])
def test_a_notification_redirect_is_said_and_not_followed(status, receiver, cli, tmp_path, sqlite_url):
    """A webhook redirected to a closed port was "cannot reach" the configured
    URL. Redirects are not followed (a 302 made the POST a GET without its body;
    a redirect may move the summary to another host): where it points is said,
    its path masked as a notification URL's is."""
    closed = _closed_port()
    down = Receiver(status, f'http://127.0.0.1:{closed}/moved/Secret7Token99')
    elsewhere = Receiver(status, f'{receiver.url}/hook/Secret7Token99')
    try:
        ini = tmp_path / 'n.ini'
        ini.write_text(f'[notify]\nwebhook_url = {down.url}/hook/Abc123Secret7\non = always\n'
                       f'healthcheck_url = {elsewhere.url}/ping/Def456Secret7\n')
        code, out, err = cli('--config', ini, '--db', sqlite_url, 'resume-downloads')
        assert code == 0, err
        assert (f'stalkeer: webhook: {down.url}/*** answered HTTP {status}, a redirect to '
                f'http://127.0.0.1:{closed}/***: not followed (notifications are sent to the configured '
                'URL only); set the URL it points to') in err.splitlines(), err
        assert (f'stalkeer: healthcheck: {elsewhere.url}/***/start answered HTTP {status}, a redirect to '
                f'{receiver.url}/***: not followed') in err, err
        assert 'cannot reach' not in err and 'Secret7' not in out + err
        assert down.paths() == ['/hook/Abc123Secret7'] and receiver.received == []
    finally:
        down.close()
        elsewhere.close()

@pytest.mark.parametrize('status', [302, 304, 308])
def test_a_notification_answered_3xx_without_a_location_is_said(status, cli, tmp_path, sqlite_url):
    """A 3xx with no Location header (a 304, a proxy's bare 302) delivered
    nothing: it is said like a 4xx, never counted as sent (trial-17b T17B-2)."""
    bare = Receiver(status)
    try:
        ini = tmp_path / 'n.ini'
        ini.write_text(f'[notify]\nwebhook_url = {bare.url}/hook/Abc123Secret7\non = always\n')
        code, out, err = cli('--config', ini, '--db', sqlite_url, 'resume-downloads')
        assert code == 0, err
        assert f'stalkeer: webhook: {bare.url}/*** answered HTTP {status}' in err.splitlines(), err
        assert 'Secret7' not in out + err
    finally:
        bare.close()


# -- one bad item never poisons a run --------------------------------------------------------

BAD_URL = 'http://[2001:db8::1:8080/movie/u/p/1.mkv'


def test_a_bad_url_in_the_queue_fails_that_item_only(server, receiver, cli, tmp_path, sqlite_url):
    """A stored URL nothing can parse: that download fails (row failed, message,
    lock released), the others behind it are resumed, the run exits 1 and says
    so to the webhook and the healthcheck; every later run does the same."""
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    bad = state.get_or_create(BAD_URL, str(tmp_path / 'lib' / 'bad'), 'Bad')
    datas = [payload(50_000, seed=60 + i) for i in range(2)]
    good = [state.get_or_create(server.add(f'g{i}.mkv', d), str(tmp_path / 'lib' / f'g{i}.mkv'))
            for i, d in enumerate(datas)]
    db.close()
    ini = notify_ini(tmp_path, receiver)
    for run in range(2):
        code, out, err = cli('--config', ini, '--db', sqlite_url, 'resume-downloads', '--parallel', '1')
        assert code == 1 and 'Traceback' not in err, out + err
        assert ('2 completed' if run == 0 else 'completed') in out and '1 failed' in out
        db = stalkeer.open_database(sqlite_url, str(tmp_path))
        row = DI.get_by_id(bad.id)
        assert row.status == 'failed' and 'invalid URL' in row.error_message
        assert row.locked_by is None and row.lease_token is None
        db.close()
    for info, data in zip(good, datas):
        assert sha256(info.destination) == sha256(data)
    events = receiver.json()
    assert [e['event'] for e in events].count('download_failed') == 2
    assert receiver.paths().count('/ping/abc-123/fail') == 2


def test_an_unexpected_error_fails_the_item_and_releases_the_lock(server, tmp_path, db, monkeypatch):
    """Whatever goes wrong inside one download (here a bug stand-in) fails that
    download: the row says what, the lock is released, the caller gets a result."""
    url = server.add('bug.mkv', payload(50_000))
    settings = stalkeer.DownloadSettings(min_free_space=0, progress_interval_seconds=1,
                                         lock_timeout=30)
    downloader = stalkeer.Downloader(settings, stalkeer.StateManager(30))

    def broken(*args, **kwargs):
        raise RuntimeError('something nobody foresaw')
    monkeypatch.setattr(stalkeer.Downloader, '_transfer', broken)
    result = downloader.download(url, str(tmp_path / 'bug.mkv'))
    assert result.status == 'failed'
    assert result.message == 'unexpected error: RuntimeError: something nobody foresaw'
    row = DI.get_by_id(result.download_id)
    assert row.status == 'failed' and row.error_message == result.message
    assert row.locked_by is None and row.locked_at is None


def test_a_bad_playlist_url_fails_one_movie_and_the_run_goes_on(server, cli, tmp_path):
    """radarr: the line matched for one movie holds a URL nothing can parse (put
    in the database directly: `process` may refuse such lines). That movie
    fails, the other is downloaded, exit 1, no traceback."""
    data = payload(30_000, seed=70)
    good_url = server.add('movie/u/p/good.mkv', data)
    lib = tmp_path / 'lib'
    with FakeArr('radarr') as radarr:
        radarr.add_movie('Good', 2001, path='/movies/Good (2001)')
        radarr.add_movie('Bad', 2002, path='/movies/Bad (2002)')
        playlist = tmp_path / 'p.m3u'
        playlist.write_text(f'#EXTM3U\n#EXTINF:-1 group-title="Movies",Good (2001)\n{good_url}\n'
                            f'#EXTINF:-1 group-title="Movies",Bad (2002)\nhttp://127.0.0.1:9/movie/u/p/bad.mkv\n')
        ini = tmp_path / 's.ini'
        ini.write_text(f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       f'path_map = /movies={lib}\n[m3u]\nfile_path = {playlist}\n'
                       '[database]\nurl = sqlite:///s.db\n[downloads]\nmin_free_space_mb = 0\n'
                       'retry_attempts = 1\n')
        assert cli('--config', ini, 'process')[0] == 0
        db = stalkeer.open_database(f'sqlite:///{tmp_path}/s.db', str(tmp_path))
        stalkeer.ProcessedLine.update(url=BAD_URL).where(
            stalkeer.ProcessedLine.url.contains('bad.mkv')).execute()
        db.close()
        code, out, err = cli('--config', ini, 'radarr', '--parallel', '1')
    assert code == 1 and 'Traceback' not in err, out + err
    assert 'downloaded 1, failed 1' in out
    assert sha256(lib / 'Good (2001)' / 'Good (2001).mkv') == sha256(data)
    assert not (lib / 'Bad (2002)').exists() or not any((lib / 'Bad (2002)').iterdir())


# -- status: what stays on screen, gave up, rate and ETA per transfer session --------------

def test_status_says_which_queued_downloads_are_paused(cli, db_url, tmp_path):
    """Paused rows are listed with the queue; each says it is paused (trial-18b
    L5: after a Ctrl-C they looked merely queued)."""
    db = stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    pending = add_rows(state, tmp_path, 'pending', 2)
    paused = add_rows(state, tmp_path, 'paused', 2, total_bytes=1000, bytes_downloaded=500)
    db.close()
    code, out, err = cli('--db', db_url, 'status')
    assert code == 0, err
    queued = out.split('queued:\n', 1)[1].splitlines()
    assert [line.endswith('  paused') for line in queued] == [False, False, True, True], out
    assert [int(line.split()[0][1:]) for line in queued] == pending + paused

def add_rows(state, tmp_path, status, n, **fields):
    ids = []
    for i in range(n):
        info = state.get_or_create(f'http://h/movie/u/p/{status}{i}.mkv',
                                   str(tmp_path / 'lib' / f'{status} {i}'), f'{status.title()} {i}')
        DI.update(status=status, **fields).where(DI.id == info.id).execute()
        ids.append(info.id)
    return ids


def test_status_keeps_active_and_failures_on_screen(cli, db_url, tmp_path):
    db = stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    done = add_rows(state, tmp_path, 'completed', 30, file_size=10, download_path='/lib/x.mkv',
                    completed_at=stalkeer.utcnow())
    failed = add_rows(state, tmp_path, 'failed', 12, error_message='HTTP 404 Not Found', retry_count=1)
    DI.update(retry_count=5).where(DI.id.in_(failed[-3:])).execute()     # max_retry_attempts = 5
    queued = add_rows(state, tmp_path, 'pending', 13)
    active = add_rows(state, tmp_path, 'downloading', 4, total_bytes=1000, bytes_downloaded=10)
    db.close()
    code, out, err = cli('--db', db_url, 'status')
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == 'downloads: 13 pending, 4 downloading, 30 completed, 12 failed'
    assert [line for line in lines if line.endswith(':')] == \
        ['active:', 'queued:', 'failures:', 'recent completions:']
    section = {}
    for line in lines[1:]:
        if line.endswith(':'):
            heading = line[:-1]
        elif line.startswith('  #'):
            section.setdefault(heading, []).append(int(line.split()[0][1:]))
    assert section['active'] == active                               # all of them, by id
    assert section['queued'] == queued[:10] and '  … and 3 more (stalkeer status --status pending --limit N)' in lines
    assert len(section['failures']) == 10 and '  … and 2 more (stalkeer status --status failed --limit N)' in lines
    assert len(section['recent completions']) == 5 and '  … and 25 more' in out
    for row_id in failed[-3:]:
        assert f'#{row_id} Failed ' in out
        assert f': HTTP 404 Not Found (gave up after 5 retries — run `stalkeer retry {row_id}`, ' in out
    assert out.count('gave up after') == 3 and 'Failed 8: HTTP 404 Not Found (retries 1, ' in out
    # --limit sets every list
    code, out, err = cli('--db', db_url, 'status', '--limit', '2')
    assert out.count('  #') == 8 and '… and 2 more (stalkeer status --active --limit N)' in out
    # the failed filter says it too
    code, out, err = cli('--db', db_url, 'status', '--failed', '--limit', '50')
    assert out.count('gave up after 5 retries') == 3


def test_status_rate_and_eta_belong_to_the_current_session(cli, db_url, tmp_path):
    """Started an hour ago, paused, resumed 10 s ago: the speed is this session's."""
    db = stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager(owner='live-host-1-aaa')
    info = state.get_or_create('http://h/movie/u/p/big.mkv', str(tmp_path / 'lib' / 'Big'), 'Big')
    assert state.acquire(info.id)
    DI.update(status='downloading', total_bytes=30_000_000, bytes_downloaded=20_000_000,
              started_at=stalkeer.db_now(-3600), session_started_at=stalkeer.db_now(-10),
              session_start_bytes=10_000_000, updated_at=stalkeer.db_now()).where(DI.id == info.id).execute()
    paused = state.get_or_create('http://h/movie/u/p/p.mkv', str(tmp_path / 'lib' / 'Paused'), 'Paused')
    DI.update(status='paused', total_bytes=1000, bytes_downloaded=500, started_at=stalkeer.db_now(-60),
              session_started_at=stalkeer.db_now(-30), session_start_bytes=0,
              error_message='paused by a signal').where(DI.id == paused.id).execute()
    db.close()
    code, out, err = cli('--db', db_url, 'status')
    big = [line for line in out.splitlines() if f'#{info.id} Big' in line][0]
    # 10 MB in 10 s, not 20 MB in an hour; 10 MB left at that speed
    assert re.search(r'at (9[5-9]\d\.\d KiB|1\.0 MiB)/s  ETA (9|10|11)s', big), big
    assert f'      -> {tmp_path / "lib" / "Big.mkv"}' in out                  # where it lands
    wait = [line for line in out.splitlines() if f'#{paused.id} Paused' in line][0]
    assert ' at ' not in wait and 'ETA' not in wait                          # a paused row: neither
    with serving_page(db_url, tmp_path) as page:
        row = [r for r in page['active'] if r['id'] == info.id][0]
        assert re.fullmatch(r'(9[5-9]\d\.\d KiB|1\.0 MiB)/s', row['speed_text']) and row['eta_text'] in ('9s', '10s', '11s')
        assert row['destination'] == str(tmp_path / 'lib' / 'Big.mkv')
        queued = [r for r in page['queue'] if r['id'] == paused.id][0]
        assert queued['speed_text'] == queued['eta_text'] == ''


@contextlib.contextmanager
def serving_page(db_url, tmp_path):
    from test_serve import get_json, serving
    with serving(db_url, tmp_path) as server:
        yield get_json(server, '/api/page')[1]


def test_a_resumed_row_drops_the_pause_message_and_starts_a_session(db_url, db, tmp_path):
    state = stalkeer.StateManager(owner='me-1-abc')
    info = state.get_or_create('http://h/movie/u/p/r.mkv', str(tmp_path / 'R'), 'R')
    DI.update(status='paused', bytes_downloaded=400, error_message='paused by a signal').where(
        DI.id == info.id).execute()
    assert state.acquire(info.id)
    state.start(DI.get_by_id(info.id), str(tmp_path / 'R.part'))
    row = DI.get_by_id(info.id)
    assert row.status == 'downloading' and row.error_message is None
    state.heartbeat(info.id, 450, 1000, '', session_start=True)
    row = DI.get_by_id(info.id)
    assert row.session_start_bytes == 450 and row.session_started_at is not None
    state.heartbeat(info.id, 900)
    assert DI.get_by_id(info.id).session_start_bytes == 450                # only at the start


def test_clearing_stale_locks_is_said_once(cli, db_url, tmp_path):
    seed(tmp_path, db_url)
    code, out, err = cli('--db', db_url, 'unlock', '--stale')
    assert code == 0 and out == 'cleared 1 stale lock(s)\n' and 'stale' not in err


def test_a_dry_run_sends_no_notification(receiver, tmp_path, sqlite_url):
    """F7: `radarr --dry-run` by hand must not ping the healthcheck (that would
    hide a dead cron) nor post an empty run summary."""
    from conftest import run_stalkeer, subprocess_env
    from fakearr import FakeArr
    ini = notify_ini(tmp_path, receiver, on='always')
    with FakeArr('radarr') as radarr:
        radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)')
        env = subprocess_env(STALKEER_RADARR_URL=radarr.base_url,
                             STALKEER_RADARR_API_KEY=radarr.api_key)
        playlist = tmp_path / 'p.m3u'
        playlist.write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Heat (1995)\n'
                            'http://127.0.0.1:9/movie/u/p/1.mkv\n')
        assert run_stalkeer('--config', ini, '--db', sqlite_url, 'process', playlist,
                            env=env, cwd=tmp_path)[0] == 0
        receiver.received.clear()
        code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'radarr', '--dry-run',
                                      env=env, cwd=tmp_path)
    assert code == 0 and 'would download 1 (dry run)' in out, out + err
    assert receiver.received == []


def test_radarr_before_the_playlist_was_read_says_so(tmp_path, sqlite_url):
    """F6: no playlist line at all is a setup step skipped, not 'not in the playlist'."""
    from conftest import run_stalkeer, subprocess_env
    from fakearr import FakeArr
    with FakeArr('radarr') as radarr:
        radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)')
        env = subprocess_env(STALKEER_RADARR_URL=radarr.base_url,
                             STALKEER_RADARR_API_KEY=radarr.api_key)
        for argv in (['radarr', '--dry-run'], ['radarr']):
            code, out, err = run_stalkeer('--db', sqlite_url, *argv, env=env, cwd=tmp_path)
            assert code == 2 and 'the playlist has not been read yet' in err, out + err
            assert 'stalkeer process' in err
    code, out, err = run_stalkeer('--db', sqlite_url, 'lines', 'heat', env=env, cwd=tmp_path)
    assert code == 2 and 'the playlist has not been read yet' in err, out + err     # trial-17a F3


def test_radarr_after_an_incomplete_import_says_so(tmp_path, db_url):
    """trial-17a F6: "not in the playlist" may be "not stored yet"."""
    from conftest import run_stalkeer, subprocess_env
    from fakearr import FakeArr
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Heat (1995)\n'
                        'http://127.0.0.1:9/movie/u/p/1.mkv\n#EXTINF:-1 group-title="Movies",Alien (1979)\n'
                        'http://127.0.0.1:9/movie/u/p/2.mkv\n')
    with FakeArr('radarr') as radarr:
        radarr.add_movie('Heat', 1995, path=str(tmp_path / 'Heat (1995)'))
        radarr.add_movie('Ronin', 1998, path=str(tmp_path / 'Ronin (1998)'))
        env = subprocess_env(STALKEER_RADARR_URL=radarr.base_url, STALKEER_RADARR_API_KEY=radarr.api_key)
        assert run_stalkeer('--db', db_url, 'process', playlist, env=env, cwd=tmp_path)[0] == 0
        code, out, err = run_stalkeer('--db', db_url, 'radarr', '--dry-run', env=env, cwd=tmp_path)
        assert code == 0 and 'did not complete' not in err, err
        assert run_stalkeer('--db', db_url, 'process', playlist, '--limit', '1', env=env, cwd=tmp_path)[0] == 0
        code, out, err = run_stalkeer('--db', db_url, 'radarr', '--dry-run', env=env, cwd=tmp_path)
    assert code == 0 and 'not in the playlist 1' in out, out + err
    notes = [line for line in err.splitlines() if 'did not complete' in line]
    assert len(notes) == 1 and notes[0].startswith('stalkeer: playlist: the last import did not complete '
                                                   '(started '), err


# ---- a run that fails partway tells the notifier why (trial-15c F4, F5) ------------------

def _m3u_file(tmp_path, count=3):
    path = tmp_path / 'p.m3u'
    path.write_text('#EXTM3U\n' + ''.join(
        f'#EXTINF:-1 group-title="Movies",Film {i} (2001)\nhttp://p.example/movie/u/secretpw/{i}.mkv\n'
        for i in range(count)))
    return path


@pytest.mark.parametrize('fault', [
    lambda: sqlite3.OperationalError('database is locked'),       # a raw cursor's (BulkWriter)
    lambda: stalkeer.peewee.OperationalError('database is locked'),
])
def test_a_database_error_mid_import_is_one_line_and_notified(receiver, cli, tmp_path, sqlite_url,
                                                             monkeypatch, fault):
    playlist = _m3u_file(tmp_path)
    ini = notify_ini(tmp_path, receiver)

    def failing(*args, **kwargs):
        raise fault()
    monkeypatch.setattr(stalkeer.BulkWriter, 'insert_ignore', failing)
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'process', playlist)
    kept = '; the lines stored so far are kept; run process again'       # trial-16a F9
    assert code == 2 and err == f'stalkeer: error: database error: database is locked{kept}\n'
    events = receiver.json()
    assert [e['event'] for e in events] == ['run_summary'] and events[0]['status'] == 'failed'
    assert events[0]['counts']['error'] == f'database error: database is locked{kept}'
    assert receiver.paths()[-1] == '/ping/abc-123/fail'


def test_a_failure_the_command_reports_itself_is_notified_with_its_reason(receiver, cli, tmp_path,
                                                                         sqlite_url):
    """`process` of a playlist without entries says why and returns exit 2: the
    notification carries that line, not only the zero counts."""
    empty = tmp_path / 'empty.m3u'
    empty.write_text('#EXTM3U\n')
    code, out, err = cli('--config', notify_ini(tmp_path, receiver), '--db', sqlite_url, 'process', empty)
    assert code == 2 and 'no playlist entries in' in err
    (event,) = receiver.json()
    assert event['status'] == 'failed' and event['counts']['error'].startswith('no playlist entries in ')
    assert event['counts']['entries'] == 0 and receiver.paths()[-1] == '/ping/abc-123/fail'


def test_a_fault_of_stalkeer_is_notified_and_keeps_its_traceback(receiver, tmp_path, sqlite_url,
                                                                monkeypatch):
    playlist = _m3u_file(tmp_path)

    def broken(self, *args, **kwargs):
        raise RuntimeError('boom at http://p.example/movie/alice/secretpw/1.mkv')
    monkeypatch.setattr(stalkeer.PlaylistIngest, 'run', broken)
    with pytest.raises(RuntimeError):
        stalkeer.main(['--config', str(notify_ini(tmp_path, receiver)), '--db', sqlite_url, 'process',
                       str(playlist)])
    (event,) = receiver.json()
    assert event['status'] == 'failed' and event['counts']['error'].startswith('internal error: RuntimeError: boom')
    assert 'secretpw' not in json.dumps(event) and receiver.paths()[-1] == '/ping/abc-123/fail'


def test_a_run_stopped_by_a_signal_tells_the_healthcheck(receiver, cli, tmp_path, sqlite_url, monkeypatch):
    """SIGTERM (a shutdown) or Ctrl-C mid-run: exit 143/130 and one line, and the
    healthcheck hears /fail rather than waiting out its grace time (trial-15d F3)."""
    playlist = _m3u_file(tmp_path)

    def stopped(self, *args, **kwargs):
        raise stalkeer.Interrupted(signal.SIGTERM)
    monkeypatch.setattr(stalkeer.PlaylistIngest, 'run', stopped)
    code, out, err = cli('--config', notify_ini(tmp_path, receiver), '--db', sqlite_url, 'process', playlist)
    assert code == 143 and err.startswith('stalkeer: interrupted by SIGTERM: stopped') and len(err.splitlines()) == 1
    (event,) = receiver.json()
    assert event['status'] == 'failed' and event['counts']['error'] == 'interrupted by SIGTERM: stopped'
    assert receiver.paths()[-1] == '/ping/abc-123/fail'


def test_a_bad_setting_is_a_failure_the_notifier_hears(receiver, cli, tmp_path, sqlite_url):
    """A bad value of any key but [notify]'s own is found after the notifier has
    started: it is told (trial-15d F4). A bad [notify] key leaves nobody to tell."""
    ini = notify_ini(tmp_path, receiver)
    ini.write_text(ini.read_text().replace('[downloads]\n', '[downloads]\nmax_parallel = 0\n'))
    playlist = _m3u_file(tmp_path)
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'process', playlist)
    assert code == 2 and 'max_parallel' in err and len(err.splitlines()) == 1
    (event,) = receiver.json()
    assert event['status'] == 'failed' and 'max_parallel' in event['counts']['error']
    assert receiver.paths() == ['/ping/abc-123/start', '/hook', '/ping/abc-123/fail']
    receiver.received.clear()
    ini.write_text(ini.read_text().replace('on = failure', 'on = sometimes'))
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'process', playlist)
    assert code == 2 and '[notify] on' in err and receiver.received == []
