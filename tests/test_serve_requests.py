"""`serve` request handling against bad and hostile clients: Host names it does
not answer to (DNS rebinding), out-of-range query values, a request trickled
in to hold a thread."""

import re
import signal
import socket
import threading
import time

import pytest

import stalkeer
from conftest import start_stalkeer, subprocess_env
from test_ops import seed
from test_serve import TOKEN, get_json, request, serving

REBOUND = 'attacker.example'


def host(server, value, path='/api/page', **kw):
    return request(server, path, headers={'Host': value, **kw.pop('headers', {})}, **kw)[0]


def test_a_rebound_host_name_is_refused_on_every_route_but_health(sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    with serving(sqlite_url, tmp_path) as server:
        port = server.server_address[1]
        for path in ('/', '/api/page', '/api/downloads', '/metrics'):
            assert host(server, f'{REBOUND}:{port}', path) == 421, path
            assert host(server, REBOUND, path) == 421, path
        status, _, body = request(server, '/api/page', headers={'Host': REBOUND})
        assert b'allowed_hosts' in body and REBOUND.encode() not in body
        assert host(server, REBOUND, '/health') == 200          # nothing to read there
        for value in (f'127.0.0.1.{REBOUND}', f'localhost.{REBOUND}:{port}', f'{REBOUND}:80:1',
                      '[::1', f'127.0.0.1:{port}@{REBOUND}', '10.0.0.1'):
            assert host(server, value) == 421, value


@pytest.mark.parametrize('value', ['127.0.0.1', '127.0.0.1:{port}', 'localhost', 'LOCALHOST.:{port}',
                                   '[::1]:{port}', '127.1.2.3'])
def test_the_bound_address_and_loopback_names_are_answered(value, sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    with serving(sqlite_url, tmp_path) as server:
        assert host(server, value.format(port=server.server_address[1])) == 200


def test_allowed_hosts_adds_names(sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    with serving(sqlite_url, tmp_path, env={'STALKEER_SERVE_ALLOWED_HOSTS': 'nas, NAS.lan'}) as server:
        assert host(server, 'nas:8787') == 200
        assert host(server, 'nas.lan') == 200
        assert host(server, 'nas.lan.') == 200
        assert host(server, 'nas2') == 421


def test_two_host_headers_are_refused(sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    with serving(sqlite_url, tmp_path) as server:
        with socket.create_connection(('127.0.0.1', server.server_address[1]), timeout=5) as sock:
            sock.sendall(b'GET /api/page HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: attacker.example\r\n\r\n')
            assert sock.recv(100).startswith(b'HTTP/1.0 421 ')


def test_the_real_server_on_every_address_takes_addresses_not_names(sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    proc = start_stalkeer('--db', sqlite_url, 'serve', '--host', '0.0.0.0', '--port', '0',
                          env=subprocess_env(STALKEER_SERVE_TOKEN=TOKEN))
    try:
        match = re.fullmatch(r'serving http://0\.0\.0\.0:(\d+)/\n', proc.stdout.readline())
        port = int(match.group(1))
        auth = {'Authorization': f'Bearer {TOKEN}'}
        assert host(port, f'192.168.1.7:{port}', headers=auth) == 200
        assert host(port, f'[fd00::7]:{port}', headers=auth) == 200
        assert host(port, f'{REBOUND}:{port}', headers=auth) == 421
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


@pytest.mark.parametrize('value', ['99999999999999999999', '0', '-1', 'nan', 'inf', '1e3', '2.5',
                                   '10001', 'x', '9' * 5000])
def test_out_of_range_limits_are_400(value, sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    with serving(sqlite_url, tmp_path) as server:
        status, data = get_json(server, f'/api/downloads?limit={value}')
        assert status == 400, value
        assert data['error'].startswith('limit must be a whole number from 1 to 10000, got ')
        assert len(data['error']) < 120


def test_the_largest_limit_is_answered(sqlite_url, tmp_path):
    seed(tmp_path, sqlite_url)
    with serving(sqlite_url, tmp_path) as server:
        assert get_json(server, '/api/downloads?limit=10000')[0] == 200


def test_a_trickled_request_is_cut_at_the_deadline(sqlite_url, tmp_path, monkeypatch):
    """One header line every 0.3 s: a timeout per recv() never fires, the
    deadline for the whole request does (1.5 s here, 10 s by default)."""
    assert stalkeer.SERVE_REQUEST_TIMEOUT == 10
    monkeypatch.setattr(stalkeer.StatusRequestHandler, 'timeout', 1.5)
    seed(tmp_path, sqlite_url)
    with serving(sqlite_url, tmp_path) as server:
        sock = socket.create_connection(('127.0.0.1', server.server_address[1]), timeout=10)
        stop = threading.Event()
        cut = []

        def trickle():
            try:
                sock.sendall(b'GET /api/downloads HTTP/1.1\r\nHost: 127.0.0.1\r\n')
                while not stop.wait(0.3):
                    sock.sendall(b'X-Slow: 1\r\n')
            except OSError:
                pass

        started = time.monotonic()
        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        try:
            while True:
                try:
                    data = sock.recv(1024)
                except OSError:
                    data = b''
                if not data:
                    cut.append(time.monotonic() - started)
                    break
                assert time.monotonic() - started < 8, 'the server answered a request never finished'
        finally:
            stop.set()
            sock.close()
            sender.join(5)
        assert 1.4 <= cut[0] < 4.0, cut
        assert request(server, '/health')[0] == 200      # the server itself is fine
