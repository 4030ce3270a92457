"""Tests for the fault-injecting test HTTP file server (tests/fileserver.py)."""

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime

import pytest
import requests

sys.path.insert(0, os.path.dirname(__file__))
from fileserver import FileServer  # noqa: E402

SIZE = 300_000
DATA = os.urandom(SIZE)


@pytest.fixture
def srv():
    with FileServer() as server:
        yield server


def raw_get(url, headers=None, timeout=2.0):
    """Bare-socket GET that keeps every byte received, even on a cut or a
    timeout (requests may discard a partial buffer). Returns
    (status, headers, body, error)."""
    u = urllib.parse.urlsplit(url)
    lines = [f"GET {u.path} HTTP/1.1", f"Host: {u.netloc}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    buf, err = b"", None
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            while chunk := s.recv(65536):
                buf += chunk
        except OSError as e:  # timeout or reset
            err = e
    head, _, body = buf.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        hdrs[key.strip().lower()] = value.strip()
    return int(status_line.split()[1]), hdrs, body, err


def test_full_get_sha256(srv):
    url = srv.add("movie/user/pass/1.mkv", DATA)
    assert url == srv.base_url + "/movie/user/pass/1.mkv"
    r = requests.get(url, timeout=5)
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(DATA).hexdigest()
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Type"] == "video/x-matroska"
    assert r.headers["ETag"].startswith('"')
    assert r.headers["Last-Modified"].endswith("GMT")
    assert srv.full_gets("movie/user/pass/1.mkv") == 1


def test_head(srv):
    url = srv.add("a.mkv", DATA)
    r = requests.head(url, timeout=5, headers={"Range": "bytes=10-"})
    # Range is only defined for GET, so HEAD describes the full body.
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.content == b""
    (log,) = srv.requests
    assert (log.method, log.status, log.bytes_sent, log.full_body) == ("HEAD", 200, 0, False)
    assert srv.gets("a.mkv") == []


@pytest.mark.parametrize("header, first, last", [
    ("bytes=100-", 100, SIZE - 1),
    ("bytes=100-199", 100, 199),
    ("bytes=-50", SIZE - 50, SIZE - 1),
    ("bytes=0-999999999", 0, SIZE - 1),  # last-pos past the end is clamped
    ("bytes=-999999999", 0, SIZE - 1),  # suffix longer than the file
])
def test_range_206(srv, header, first, last):
    url = srv.add("a.mkv", DATA)
    r = requests.get(url, headers={"Range": header}, timeout=5)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert r.headers["Content-Length"] == str(last - first + 1)
    assert r.content == DATA[first:last + 1]
    (log,) = srv.gets("a.mkv")
    assert (log.status, log.start, log.bytes_sent, log.full_body) == (206, first, last - first + 1, False)


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}", "bytes=-0"])
def test_416(srv, header):
    url = srv.add("a.mkv", DATA)
    r = requests.get(url, headers={"Range": header}, timeout=5)
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["bytes=5-2", "items=0-5", "bytes=0-1,5-9", "garbage"])
def test_malformed_range_is_ignored(srv, header):
    url = srv.add("a.mkv", DATA)
    r = requests.get(url, headers={"Range": header}, timeout=5)
    assert r.status_code == 200
    assert r.content == DATA


def test_if_range_etag_and_date(srv):
    url = srv.add("a.mkv", DATA)
    head = requests.head(url, timeout=5).headers
    etag, lm = head["ETag"], head["Last-Modified"]
    for validator in (etag, lm):
        r = requests.get(url, headers={"Range": "bytes=1000-", "If-Range": validator}, timeout=5)
        assert r.status_code == 206 and r.content == DATA[1000:]

    new = os.urandom(SIZE // 2)
    srv.change("a.mkv", new)
    head2 = requests.head(url, timeout=5).headers
    assert head2["ETag"] != etag
    assert parsedate_to_datetime(head2["Last-Modified"]) > parsedate_to_datetime(lm)
    for validator in (etag, lm):  # stale validators -> full current body
        r = requests.get(url, headers={"Range": "bytes=1000-", "If-Range": validator}, timeout=5)
        assert r.status_code == 200 and r.content == new
    assert srv.full_gets("a.mkv") == 2


def test_change_same_content_still_new_etag(srv):
    url = srv.add("a.mkv", DATA)
    etag = requests.head(url, timeout=5).headers["ETag"]
    srv.change("a.mkv", DATA)
    assert requests.head(url, timeout=5).headers["ETag"] != etag


def test_weak_etag_never_matches(srv):
    url = srv.add("a.mkv", DATA, weak_etag=True, last_modified=False)
    etag = requests.head(url, timeout=5).headers["ETag"]
    assert etag.startswith('W/"')
    for validator in (etag, etag[2:]):
        r = requests.get(url, headers={"Range": "bytes=10-", "If-Range": validator}, timeout=5)
        assert r.status_code == 200 and r.content == DATA
    # Without If-Range the range itself still works.
    assert requests.get(url, headers={"Range": "bytes=10-"}, timeout=5).status_code == 206


def test_verbatim_validators_and_none(srv):
    url = srv.add("a.mkv", DATA, etag='"custom"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    h = requests.head(url, timeout=5).headers
    assert h["ETag"] == '"custom"' and h["Last-Modified"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    url2 = srv.add("b.mkv", DATA, etag=False, last_modified=False)
    h = requests.head(url2, timeout=5).headers
    assert "ETag" not in h and "Last-Modified" not in h


def test_ignore_range(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", ignore_range=True)
    r = requests.get(url, headers={"Range": "bytes=100-"}, timeout=5)
    assert r.status_code == 200 and r.content == DATA
    assert "Accept-Ranges" not in r.headers
    assert srv.full_gets("a.mkv") == 1


def test_drop_after(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", drop_after=10_000)  # drop_times defaults to 1

    received = 0
    with pytest.raises(requests.exceptions.RequestException):
        with requests.get(url, stream=True, timeout=5) as r:
            assert r.headers["Content-Length"] == str(SIZE)
            for chunk in r.iter_content(4096):
                received += len(chunk)
    assert received < SIZE

    # Second response is whole again (drop_times=1 consumed).
    assert requests.get(url, timeout=5).content == DATA
    first, second = srv.gets("a.mkv")
    assert (first.bytes_sent, first.full_body) == (10_000, False)
    assert second.full_body


def test_drop_after_exact_bytes_and_times(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", drop_after=1234, drop_times=2)
    for _ in range(2):
        status, hdrs, body, _ = raw_get(url, {"Range": "bytes=100-"})
        assert status == 206 and hdrs["content-length"] == str(SIZE - 100)
        assert body == DATA[100:1334]
    assert raw_get(url)[2] == DATA
    assert [g.bytes_sent for g in srv.gets("a.mkv")] == [1234, 1234, SIZE]


def test_status_then_ok(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", status=503, status_times=2, retry_after=7)
    # HEAD is not affected by (and does not consume) status faults.
    assert requests.head(url, timeout=5).status_code == 200
    for _ in range(2):
        r = requests.get(url, timeout=5)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "7"
    r = requests.get(url, timeout=5)
    assert r.status_code == 200 and r.content == DATA
    assert [g.status for g in srv.gets("a.mkv")] == [503, 503, 200]
    assert srv.full_gets("a.mkv") == 1


def test_status_always(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", status=403)
    assert all(requests.get(url, timeout=5).status_code == 403 for _ in range(3))
    srv.clear_faults("a.mkv")
    assert requests.get(url, timeout=5).status_code == 200


def test_404(srv):
    r = requests.get(srv.url("nope.mkv"), timeout=5)
    assert r.status_code == 404
    assert srv.gets("nope.mkv")[0].status == 404


def test_throttle(srv):
    data = os.urandom(64 * 1024)
    url = srv.add("a.mkv", data)
    srv.fault("a.mkv", throttle_bps=128 * 1024)
    t0 = time.monotonic()
    r = requests.get(url, timeout=5)
    elapsed = time.monotonic() - t0
    assert r.content == data
    assert 0.4 <= elapsed < 2.0


def test_throttle_client_killed_midway(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", throttle_bps=100_000)
    with requests.get(url, stream=True, timeout=5) as r:
        next(r.iter_content(1024))
    # Closing the client must end the server side quickly and log a cut body.
    t0 = time.monotonic()
    (log,) = srv.gets("a.mkv")
    assert time.monotonic() - t0 < 1.0
    assert 0 < log.bytes_sent < SIZE and not log.full_body


def test_stall_client_times_out(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", stall_after=1000, stall_seconds=30)
    t0 = time.monotonic()
    status, _, body, err = raw_get(url, timeout=0.5)
    assert status == 200 and body == DATA[:1000]
    assert isinstance(err, TimeoutError)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(url, timeout=(2, 0.5)).content
    assert time.monotonic() - t0 < 3.0
    # The handlers notice the hang-up during the stall instead of sleeping 30 s.
    assert [g.bytes_sent for g in srv.gets("a.mkv")] == [1000, 1000]


def test_stall_then_continue(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", stall_after=5000, stall_seconds=0.3, stall_times=1)
    t0 = time.monotonic()
    assert requests.get(url, timeout=5).content == DATA
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    assert requests.get(url, timeout=5).content == DATA  # stall consumed
    assert time.monotonic() - t0 < 0.3


def test_html(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", html=True)
    r = requests.get(url, timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text == "<html>login</html>"
    assert srv.full_gets("a.mkv") == 0  # not the file


def test_no_content_length(srv):
    url = srv.add("a.mkv", DATA)
    srv.fault("a.mkv", no_content_length=True)
    r = requests.get(url, timeout=5)
    assert "Content-Length" not in r.headers
    assert r.content == DATA
    r = requests.get(url, headers={"Range": "bytes=7-"}, timeout=5)
    assert r.status_code == 206 and r.content == DATA[7:]


def test_no_validators(srv):
    url = srv.add("a.mkv", DATA)
    etag = requests.head(url, timeout=5).headers["ETag"]
    srv.fault("a.mkv", no_validators=True)
    r = requests.get(url, headers={"Range": "bytes=10-", "If-Range": etag}, timeout=5)
    assert "ETag" not in r.headers and "Last-Modified" not in r.headers
    assert r.status_code == 200 and r.content == DATA  # If-Range can't match
    assert requests.get(url, headers={"Range": "bytes=10-"}, timeout=5).status_code == 206


def test_request_log(srv):
    url = srv.add("a.mkv", DATA)
    srv.add("b.mkv", b"other")
    requests.get(url, headers={"User-Agent": "ua/1", "Accept-Encoding": "identity"}, timeout=5)
    requests.get(url, headers={"Range": "bytes=5-", "If-Range": '"x"'}, timeout=5)
    requests.get(url, headers={"Range": "bytes=5-"}, timeout=5)
    requests.head(url, timeout=5)
    requests.get(srv.url("b.mkv"), timeout=5)

    logs = srv.gets("a.mkv")
    assert [(g.status, g.start, g.full_body) for g in logs] == [
        (200, 0, True), (200, 0, True), (206, 5, False)]
    assert (logs[0].user_agent, logs[0].accept_encoding) == ("ua/1", "identity")
    assert (logs[1].range, logs[1].if_range) == ("bytes=5-", '"x"')
    assert logs[0].range is None and logs[0].if_range is None
    assert srv.full_gets("a.mkv") == 2
    assert srv.full_gets("b.mkv") == 1
    # In arrival order, even though entries are recorded when a response ends.
    assert [r.method for r in srv.requests] == ["GET", "GET", "GET", "HEAD", "GET"]


def test_path_file(srv, tmp_path):
    p = tmp_path / "big.bin"
    p.write_bytes(DATA)
    url = srv.add("dir/big.bin", path=str(p))
    r = requests.get(url, timeout=5)
    assert r.content == DATA
    st = p.stat()
    assert r.headers["ETag"] == f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
    r = requests.get(url, headers={"Range": "bytes=-100", "If-Range": r.headers["ETag"]}, timeout=5)
    assert r.status_code == 206 and r.content == DATA[-100:]
    # Faulted path= bodies take the chunked (non-sendfile) route.
    srv.fault("dir/big.bin", drop_after=777)
    assert raw_get(url)[2] == DATA[:777]


def test_concurrent_clients(srv):
    url = srv.add("a.mkv", DATA)
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: requests.get(url, timeout=5).content, range(16)))
    assert all(b == DATA for b in bodies)
    assert srv.full_gets("a.mkv") == 16


def test_unknown_fault_knob_rejected(srv):
    srv.add("a.mkv", DATA)
    with pytest.raises(TypeError):
        srv.fault("a.mkv", drop_afterr=5)


def test_standalone_script(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.bin").write_bytes(DATA)
    script = os.path.join(os.path.dirname(__file__), "fileserver.py")
    proc = subprocess.Popen([sys.executable, script, "--dir", str(tmp_path), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        r = requests.get(base + "/sub/f.bin", timeout=5)
        assert r.status_code == 200 and r.content == DATA
        r = requests.get(base + "/sub/f.bin", headers={"Range": "bytes=10-19"}, timeout=5)
        assert r.status_code == 206 and r.content == DATA[10:20]
        assert requests.get(base + "/missing", timeout=5).status_code == 404
    finally:
        proc.kill()
        proc.wait(timeout=5)
    assert proc.stderr.read() == ""
