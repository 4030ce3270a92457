"""`stalkeer serve`: status page, /api/downloads, /metrics, /health over real HTTP."""

import contextlib
import http.client
import json
import re
import signal
import socket
import threading
import time

import peewee
import pytest

import stalkeer
from conftest import start_stalkeer, subprocess_env, wait_for
from test_ops import seed

DI = stalkeer.DownloadInfo
TOKEN = 'serve-sekrit-7c4e91'
XSS = '<script>alert(1)</script>'
METRIC_LINE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"\})? [0-9.e+-]+$')


@contextlib.contextmanager
def serving(db_url, tmp_path, env=None, host='127.0.0.1'):
    """The server cmd_serve builds (make_status_server), on a free port, in a thread."""
    stalkeer.open_database(db_url, str(tmp_path))
    server = stalkeer.make_status_server(stalkeer.Config(None, env=env or {}), host, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def request(server_or_port, path, method='GET', headers=None):
    port = server_or_port if isinstance(server_or_port, int) else server_or_port.server_address[1]
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def get_json(server, path, **kw):
    status, headers, body = request(server, path, **kw)
    assert headers['Content-Type'] == 'application/json', (status, body)
    return status, json.loads(body)


def add_download(title, status='pending', **fields):
    info = stalkeer.StateManager(owner='test').get_or_create(
        f'http://h:8080/movie/bob/pw123456/{len(title)}.mkv', f'/lib/{title}', title)
    if fields or status != 'pending':
        DI.update(status=status, **fields).where(DI.id == info.id).execute()
    return info.id


def test_page_and_api_downloads(cli, db_url, tmp_path):
    rows = seed(tmp_path, db_url)
    code, cli_json, err = cli('--db', db_url, 'status', '--json')
    assert code == 0, err
    with serving(db_url, tmp_path) as server:
        status, headers, body = request(server, '/')
        assert status == 200 and headers['Content-Type'] == 'text/html; charset=utf-8'
        html = body.decode()
        assert '<meta name="viewport"' in html and 'id="counts"' in html
        assert 'http://' not in html and 'https://' not in html      # self-contained, no CDN
        assert 'innerHTML' not in html
        assert "script-src 'nonce-" in headers['Content-Security-Policy']

        status, data = get_json(server, '/api/downloads')
        assert status == 200
        assert data == json.loads(cli_json)               # exactly `status --json`
        assert all('hunter22pw' not in d['url'] for d in data['downloads'])

        status, page = get_json(server, '/api/page')
        assert page['summary'] == data['summary']
        assert sorted(r['id'] for r in page['active']) == sorted([rows['live'], rows['dead']])
        assert sorted(r['id'] for r in page['queue']) == sorted([rows['waiting'], rows['new']])
        assert [r['id'] for r in page['completed']] == [rows['done']]
        failed = page['failed'][0]
        assert (failed['id'], failed['error_message'], failed['retry_count']) == \
            (rows['broken'], 'HTTP 404 Not Found', 2)
        live = [r for r in page['active'] if r['id'] == rows['live']][0]
        dead = [r for r in page['active'] if r['id'] == rows['dead']][0]
        assert live['percent_text'] == '40.0%' and live['locked_by'] == 'alive-host-1-abc'
        assert live['lock_live'] is True and dead['lock_live'] is False
        assert live['speed_text'].endswith('/s') and live['eta_text']
        assert 'hunter22pw' not in json.dumps(page)
        assert page['imports'] == data['imports'] == []


def test_page_and_api_downloads_tell_the_last_import(cli, db_url, tmp_path):
    """trial-17a F6: an import that did not complete shows on the page and in the JSON."""
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1,Heat (1995)\nhttp://h/movie/u/p/1.mkv\n'
                        '#EXTINF:-1,Alien (1979)\nhttp://h/movie/u/p/2.mkv\n')
    assert cli('--db', db_url, 'process', playlist, '--limit', '1')[0] == 0
    code, cli_json, err = cli('--db', db_url, 'status', '--json')
    with serving(db_url, tmp_path) as server:
        status, data = get_json(server, '/api/downloads')
        assert data == json.loads(cli_json) and [row['status'] for row in data['imports']] == ['incomplete']
        status, page = get_json(server, '/api/page')
        [row] = page['imports']
        assert row['status'] == 'incomplete' and row['text'].startswith(
            'playlist: the last import did not complete (started ')
        assert 'id="imports"' in request(server, '/')[2].decode()


@pytest.mark.parametrize('query, expect', [
    ('status=failed', ['broken']),
    ('status=paused', ['waiting']),
    ('active=1', ['live', 'dead']),
    ('failed=1', ['broken']),
    ('failed=0&active=true', ['live', 'dead']),
])
def test_api_downloads_filters(db_url, tmp_path, query, expect):
    rows = seed(tmp_path, db_url)
    with serving(db_url, tmp_path) as server:
        status, data = get_json(server, '/api/downloads?' + query)
        assert status == 200
        assert sorted(d['id'] for d in data['downloads']) == sorted(rows[name] for name in expect)
        assert data['summary']['downloading'] == 2


def test_api_downloads_limit_and_bad_values(db_url, tmp_path):
    seed(tmp_path, db_url)
    with serving(db_url, tmp_path) as server:
        assert len(get_json(server, '/api/downloads?limit=2')[1]['downloads']) == 2
        assert len(get_json(server, '/api/downloads?limit=100')[1]['downloads']) == 6
        for query in ('status=bogus', 'limit=0', 'limit=-1', 'limit=x', 'active=maybe', 'failed=2'):
            status, data = get_json(server, '/api/downloads?' + query)
            assert status == 400 and data['error'], query
        # Each filter picks one list, as `status`'s options: a second is refused, not dropped.
        for query, both in (('status=completed&failed=1', '?status= and ?failed=1'),
                            ('active=1&failed=yes', '?active=1 and ?failed=1')):
            status, data = get_json(server, '/api/downloads?' + query)
            assert status == 400 and data['error'].endswith(
                f'give one of ?status=, ?active=1 or ?failed=1, not {both}'), (query, data)
        assert get_json(server, '/api/downloads?status=failed&active=0')[0] == 200


def test_not_found_method_not_allowed_and_head(sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    with serving(sqlite_url, tmp_path) as server:
        for path in ('/nope', '/api', '/api/downloads/1', '/index.html', '/metrics/x'):
            assert request(server, path)[0] == 404, path
        for method in ('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'FROB'):
            status, headers, _ = request(server, '/api/downloads', method=method)
            assert status == 405 and headers['Allow'] == 'GET, HEAD', method
        status, headers, body = request(server, '/api/downloads', method='HEAD')
        assert status == 200 and body == b'' and int(headers['Content-Length']) > 0
        before = dump_rows()
        for method in ('POST', 'DELETE'):
            request(server, '/', method=method)
    assert dump_rows() == before


def dump_rows():
    return [tuple(r.values()) for r in DI.select().order_by(DI.id).dicts()]


def parse_metrics(text):
    values, helps, types = {}, set(), set()
    for line in text.splitlines():
        if line.startswith('# HELP '):
            helps.add(line.split()[2])
        elif line.startswith('# TYPE '):
            assert line.split()[3] == 'gauge'
            types.add(line.split()[2])
        else:
            assert METRIC_LINE.match(line), line
            name, value = line.rsplit(' ', 1)
            values[name] = float(value)
    assert helps == types == {re.sub(r'\{.*', '', name) for name in values}
    return values


def test_metrics(db_url, tmp_path):
    seed(tmp_path, db_url)
    with serving(db_url, tmp_path) as server:
        status, headers, body = request(server, '/metrics')
    assert status == 200 and headers['Content-Type'].startswith('text/plain; version=0.0.4')
    m = parse_metrics(body.decode())
    assert {k: v for k, v in m.items() if k.startswith('stalkeer_downloads{')} == {
        'stalkeer_downloads{status="pending"}': 1, 'stalkeer_downloads{status="downloading"}': 2,
        'stalkeer_downloads{status="paused"}': 1, 'stalkeer_downloads{status="completed"}': 1,
        'stalkeer_downloads{status="failed"}': 1, 'stalkeer_downloads{status="retrying"}': 0}
    assert m['stalkeer_bytes_downloaded'] == 5 * 400 + 1000
    assert m['stalkeer_failed_downloads'] == 1
    assert m['stalkeer_active_transfers'] == 1            # the dead lock does not count
    assert 0 <= m['stalkeer_oldest_heartbeat_age_seconds'] < 120
    assert abs(m['stalkeer_last_success_timestamp_seconds'] - time.time()) < 120


def test_metrics_on_an_empty_database(db_url, tmp_path):
    with serving(db_url, tmp_path) as server:
        m = parse_metrics(request(server, '/metrics')[2].decode())
    assert set(m.values()) == {0}
    assert len([k for k in m if k.startswith('stalkeer_downloads{')]) == len(stalkeer.DOWNLOAD_STATUSES)


def test_health(db_url, tmp_path, monkeypatch):
    with serving(db_url, tmp_path) as server:
        assert request(server, '/health')[:3:2] == (200, b'ok\n')

        def broken(*a, **kw):
            raise peewee.OperationalError('the database went away')
        monkeypatch.setattr(stalkeer.db_proxy.obj, 'execute_sql', broken)
        assert request(server, '/health')[0] == 503
        assert request(server, '/api/downloads')[0] == 503


def test_untrusted_title_is_data_never_markup(db_url, tmp_path):
    seed(tmp_path, db_url)
    stalkeer.open_database(db_url, str(tmp_path))
    bad = add_download(XSS, 'failed', error_message=f'HTTP 500 {XSS}', total_bytes=10,
                       bytes_downloaded=5)
    with serving(db_url, tmp_path) as server:
        for path in ('/', '/api/page', '/api/downloads', '/api/downloads?status=failed',
                     '/metrics', '/health', f'/nope{XSS}'):
            body = request(server, path)[2].decode()
            assert XSS not in body and '<script>alert' not in body, path
        data = get_json(server, '/api/downloads?failed=1')[1]
        assert [d['title'] for d in data['downloads'] if d['id'] == bad] == [XSS]
        page = get_json(server, '/api/page')[1]
        assert [r['error_message'] for r in page['failed'] if r['id'] == bad] == [f'HTTP 500 {XSS}']


def test_token_required_except_health(db_url, tmp_path):
    seed(tmp_path, db_url)
    with serving(db_url, tmp_path, env={'STALKEER_SERVE_TOKEN': TOKEN}) as server:
        for path in ('/', '/api/page', '/api/downloads', '/metrics'):
            assert request(server, path)[0] == 401, path
            assert request(server, path, headers={'Authorization': 'Bearer wrong'})[0] == 401
            assert request(server, path + '?token=wrong')[0] == 401
            assert request(server, path, headers={'Authorization': f'Bearer {TOKEN}'})[0] == 200
            assert request(server, f'{path}?token={TOKEN}')[0] == 200
        assert request(server, '/health')[0] == 200
        status, headers, body = request(server, '/api/downloads')
        assert 'Bearer' in headers['WWW-Authenticate'] and TOKEN.encode() not in body
        for path in ('/', '/api/page', '/api/downloads', '/metrics'):
            assert TOKEN.encode() not in request(server, f'{path}?token={TOKEN}')[2]


def test_other_address_needs_a_token(cli, sqlite_url, tmp_path):
    code, out, err = cli('--db', sqlite_url, 'serve', '--host', '0.0.0.0', '--port', '0')
    assert code == 2 and out == ''
    assert len(err.strip().splitlines()) == 1 and 'token' in err
    with pytest.raises(stalkeer.ConfigError):
        stalkeer.make_status_server(stalkeer.Config(None, env={}), '0.0.0.0', 0)
    for host in ('127.0.0.1', 'localhost', '::1'):
        assert stalkeer._is_loopback(host)
    assert not stalkeer._is_loopback('192.168.1.5') and not stalkeer._is_loopback('nas.local')


def test_serve_command_port_zero_token_and_signal(sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    proc = start_stalkeer('--db', sqlite_url, '-v', 'serve', '--host', '0.0.0.0', '--port', '0',
                          env=subprocess_env(STALKEER_SERVE_TOKEN=TOKEN))
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r'serving http://0\.0\.0\.0:(\d+)/\n', line)
        assert match, line
        port = int(match.group(1))
        assert port != 0
        assert request(port, '/health')[0] == 200
        assert request(port, '/metrics')[0] == 401
        assert request(port, f'/metrics?token={TOKEN}')[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    # Its documented way to stop is a normal end: exit 0, one line, no error.
    assert proc.returncode == 0
    assert out == 'serve: stopped by SIGTERM\n' and 'error' not in err
    assert TOKEN not in out + err + line
    assert '"GET /metrics?token=*** HTTP/1.1" 200' in err      # DEBUG request log, redacted
    with pytest.raises(OSError):                                  # the socket is closed
        socket.create_connection(('127.0.0.1', port), timeout=2).close()


def test_slow_client_does_not_block_others(sqlite_url, tmp_path, monkeypatch):
    seed(tmp_path, sqlite_url)
    monkeypatch.setattr(stalkeer.StatusRequestHandler, 'timeout', 1.5)
    with serving(sqlite_url, tmp_path) as server:
        slow = socket.create_connection(('127.0.0.1', server.server_address[1]))
        slow.sendall(b'GET /api/downl')                # half a request line, then nothing
        try:
            started = time.monotonic()
            assert request(server, '/api/downloads')[0] == 200
            assert request(server, '/health')[0] == 200
            assert time.monotonic() - started < 1.0
            slow.settimeout(5)
            assert slow.recv(1024) == b''              # dropped after the request timeout
        finally:
            slow.close()


def test_request_threads_close_their_connections(db_url, tmp_path, monkeypatch):
    seed(tmp_path, db_url)
    closed_by = []
    with serving(db_url, tmp_path) as server:
        database = stalkeer.db_proxy.obj
        real_close = database.close

        def close():
            closed_by.append(threading.current_thread().name)
            return real_close()
        monkeypatch.setattr(database, 'close', close)
        for path in ('/api/downloads', '/api/page', '/metrics', '/health', '/nope'):
            request(server, path)
        wait_for(lambda: len(closed_by) >= 4, what='request threads to close their connections')
        assert all(name != threading.current_thread().name for name in closed_by)
        if stalkeer.is_postgres(database):
            count = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            wait_for(lambda: database.execute_sql(count).fetchone()[0] <= 3,
                     what='PostgreSQL connections to be released')


def test_serve_stopped_by_sigint_exits_0_in_one_line(sqlite_url, tmp_path):
    proc = start_stalkeer('--db', sqlite_url, 'serve', '--port', '0', env=subprocess_env())
    line = proc.stdout.readline()
    assert line.startswith('serving http://127.0.0.1:'), line + proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out, err) == (0, 'serve: stopped by SIGINT\n', '')
