"""Operations: status, unlock, retry, cleanup, resume-downloads options, notifications."""

import contextlib
import http.server
import json
import os
import re
import sqlite3
import threading

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


def test_cleanup_removes_only_orphans(cli, db_url, tmp_path):
    rows = seed(tmp_path, db_url)
    lib = tmp_path / 'lib'
    lib.mkdir()
    keep = lib / f'waiting.stalkeer-{rows["waiting"]}.part'
    orphan_done = lib / f'done.stalkeer-{rows["done"]}.part'
    orphan_gone = lib / 'vanished.stalkeer-999.part'
    other = lib / 'not-ours.part'
    for path in (keep, orphan_done, orphan_gone, other):
        path.write_bytes(b'x' * 1000)
    before = dump(db_url, tmp_path)
    code, out, err = cli('--db', db_url, 'cleanup', '--dry-run')
    assert code == 0 and '2 orphaned .part file(s), would free 2.0 KiB' in out
    assert all(p.exists() for p in (keep, orphan_done, orphan_gone, other))
    assert dump(db_url, tmp_path) == before
    code, out, err = cli('--db', db_url, 'cleanup', '--older-than', '1')
    assert '0 orphaned' in out                                   # all brand new
    code, out, err = cli('--db', db_url, 'cleanup')
    assert code == 0 and 'freed 2.0 KiB' in out
    assert keep.exists() and other.exists() and not orphan_done.exists() and not orphan_gone.exists()


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
    """A local HTTP receiver for webhooks and healthcheck pings."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                received.append((self.path, body))
                self.send_response(200)
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


# -- status: what stays on screen, gave up, rate and ETA per transfer session --------------

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
    assert out.count('  #') == 8 and '… and 2 more (stalkeer status --status downloading' in out
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
