"""A real, threaded HTTP file server on 127.0.0.1 for downloader tests.

Serves registered files (in-memory bytes or files on disk) with single-range
support (Range / If-Range), strong or weak ETags, Last-Modified, and
per-file fault injection (error statuses, dropped connections, throttling,
stalls, missing headers, HTML login pages).  Every request is recorded as a
`RequestLog` once its response has finished or been cut off.

Library use::

    with FileServer() as srv:
        url = srv.add("movie/1.mkv", b"...")
        srv.fault("movie/1.mkv", drop_after=1000)

Standalone use (benchmarks)::

    python tests/fileserver.py --dir DIR [--port 0] [--throttle-bps N]

prints ``http://127.0.0.1:PORT`` on one line and serves every regular file
below DIR until killed.  Standard library only.
"""

from __future__ import annotations

import argparse
import dataclasses
import email.utils
import hashlib
import os
import re
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
CHUNK = 1 << 20  # read/write unit for unthrottled bodies
SENDFILE_MAX = 64 << 20  # per os.sendfile() call; the return value keeps counts exact
SETTLE_TIMEOUT = 2.0  # how long log readers wait for in-flight responses
_FIXED_MTIME = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT

_FAULT_KNOBS = frozenset({
    "status", "status_times", "retry_after",
    "drop_after", "drop_times",
    "ignore_range",
    "throttle_bps",
    "stall_after", "stall_seconds", "stall_times",
    "no_content_length",
    "chunked", "bad_chunk", "reset", "content_encoding",
    "no_validators",
    "html",
})

# Single byte range: "bytes=N-", "bytes=N-M" or suffix "bytes=-N".  The range
# unit is case-insensitive (RFC 9110 14.1); a comma means a multi-range
# request, which a server is free to ignore (RFC 9110 14.2).
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
_UNSATISFIABLE = object()


@dataclass
class RequestLog:
    """One served request, recorded after its response ended or was cut."""

    name: str  # served file name (URL path without the leading '/')
    method: str  # GET / HEAD
    range: str | None  # raw Range header
    if_range: str | None  # raw If-Range header
    user_agent: str | None
    accept_encoding: str | None
    status: int = 0
    start: int = 0  # first body byte offset served (0 for 200)
    bytes_sent: int = 0  # body bytes handed to the socket before the end/cut
    full_body: bool = False  # status 200 and the whole file body was sent
    seq: int = 0  # arrival order: entries are appended when responses end


@dataclass(frozen=True)
class _File:
    """An immutable snapshot of a registered file; change() swaps in a new one."""

    data: bytes | None
    path: str | None
    size: int
    etag: str | None  # full header value, e.g. '"abc"' or 'W/"abc"'
    last_modified: str | None
    content_type: str
    weak: bool
    generation: int = 0


def _content_etag(data: bytes, generation: int) -> str:
    tag = hashlib.sha1(data).hexdigest()[:16]
    # The generation suffix guarantees change() yields a new tag even when
    # the new content happens to be identical to the old one.
    return f'"{tag}-{generation}"' if generation else f'"{tag}"'


def _http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def _parse_range(header: str, size: int):
    """Return (first, last), _UNSATISFIABLE, or None (ignore the header).

    RFC 9110 14.1.2: a last-pos past the end is clamped; a first-pos at or
    beyond the end is unsatisfiable (416); an invalid range (last < first,
    garbage) is ignored and the full representation is sent.
    """
    m = _RANGE_RE.match(header)
    if not m:
        return None
    first_s, last_s = m.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix range: the final N bytes
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            return _UNSATISFIABLE
        return max(0, size - suffix), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if last_s and last < first:
        return None
    if first >= size:
        return _UNSATISFIABLE
    return first, min(last, size - 1)


def _throttle_chunk(bps: int) -> int:
    # At least ~20 chunks per second so pacing stays smooth and a killed
    # client is noticed quickly; never more than 16 KiB per write.
    return max(1, min(16 * 1024, bps // 20))


class _ClientGone(Exception):
    """The peer hung up (or the server is closing) while we were waiting."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: "FileServer"

    def server_bind(self):
        # HTTPServer.server_bind() calls socket.getfqdn(), which can do a slow
        # reverse DNS lookup; we only ever listen on loopback.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        # Clients that disconnect mid-response are normal in these tests.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self):
        self._serve("GET")

    def do_HEAD(self):
        self._serve("HEAD")

    def log_message(self, format, *args):  # noqa: A002 - base class signature
        pass  # keep test output clean

    # -- request handling -------------------------------------------------

    def _serve(self, method: str) -> None:
        owner = self.server.owner
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        log = RequestLog(
            name=path.lstrip("/"),
            method=method,
            range=self.headers.get("Range"),
            if_range=self.headers.get("If-Range"),
            user_agent=self.headers.get("User-Agent"),
            accept_encoding=self.headers.get("Accept-Encoding"),
        )
        log.seq = owner._begin()
        try:
            self._respond(owner, method, log)
        except (ConnectionError, TimeoutError, _ClientGone):
            pass  # bytes_sent already reflects what went out
        finally:
            self.close_connection = True
            owner._finish(log)

    def _respond(self, owner: "FileServer", method: str, log: RequestLog) -> None:
        name = log.name
        f, faults = owner._snapshot(name)
        if f is None:
            self._send_simple(method, 404, b"not found\n", log)
            return

        # Status faults count GET requests only; HEAD is never affected.
        if method == "GET":
            status = owner._take(name, "status", "status_times")
            if status is not None:
                extra = {}
                if faults.get("retry_after") is not None:
                    extra["Retry-After"] = str(faults["retry_after"])
                try:
                    phrase = HTTPStatus(status).phrase
                except ValueError:
                    phrase = "Error"
                self._send_simple(method, status, f"{status} {phrase}\n".encode(), log, extra)
                return

        if faults.get("html"):
            self._send_simple(method, 200, b"<html>login</html>", log,
                              content_type="text/html; charset=utf-8")
            return

        if faults.get("no_validators"):
            etag = last_modified = None
        else:
            etag, last_modified = f.etag, f.last_modified
        ignore_range = bool(faults.get("ignore_range"))

        status, first, last = 200, 0, f.size - 1
        range_header = self.headers.get("Range")
        # RFC 9110 14.2: Range is only defined for GET (HEAD ignores it).
        # RFC 9110 13.1.5: a false If-Range means "ignore Range, send 200".
        if (method == "GET" and range_header is not None and not ignore_range
                and self._if_range_holds(etag, last_modified)):
            parsed = _parse_range(range_header, f.size)
            if parsed is _UNSATISFIABLE:
                self._send_simple(method, 416, b"", log,
                                  {"Content-Range": f"bytes */{f.size}"})
                return
            if parsed is not None:
                status, (first, last) = 206, parsed
        length = last - first + 1

        chunked = bool(faults.get("chunked"))
        self.send_response(status)
        self.send_header("Content-Type", f.content_type)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif not faults.get("no_content_length"):
            self.send_header("Content-Length", str(length))
        if faults.get("content_encoding"):
            # A server that encodes whatever Accept-Encoding said.
            self.send_header("Content-Encoding", faults["content_encoding"])
        if not ignore_range:
            # A server that ignores ranges should not advertise them.
            self.send_header("Accept-Ranges", "bytes")
        if etag:
            self.send_header("ETag", etag)
        if last_modified:
            self.send_header("Last-Modified", last_modified)
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{f.size}")
        self.send_header("Connection", "close")
        self.end_headers()
        log.status, log.start = status, first
        if method == "HEAD":
            return

        drop_after = owner._take(name, "drop_after", "drop_times")
        stall_after = owner._take(name, "stall_after", "stall_times")
        limit = length if drop_after is None else min(length, max(0, drop_after))
        try:
            if chunked:
                self._send_chunked(f, first, limit, log, end=drop_after is None,
                                   bad_chunk=bool(faults.get("bad_chunk")) and drop_after is not None)
            else:
                self._send_body(
                    f, first, length, log,
                    limit=limit,
                    stall_after=stall_after,
                    stall_seconds=float(faults.get("stall_seconds") or 0),
                    bps=faults.get("throttle_bps") or 0,
                )
        finally:
            if drop_after is not None:
                # Abrupt end right after the partial body, so the client sees
                # fewer bytes than Content-Length (or no last chunk): a FIN, or
                # with `reset` an RST (SO_LINGER 0), as a crashed proxy sends.
                try:
                    if faults.get("reset"):
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                   struct.pack("ii", 1, 0))
                        self.connection.close()
                    else:
                        self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        log.full_body = status == 200 and log.bytes_sent == length

    def _if_range_holds(self, etag: str | None, last_modified: str | None) -> bool:
        """Evaluate If-Range (RFC 9110 13.1.5); True when absent."""
        if_range = self.headers.get("If-Range")
        if if_range is None:
            return True
        if_range = if_range.strip()
        if if_range.startswith(('"', "W/")):
            # Entity tag: strong comparison only, so weak tags never match.
            return (etag is not None and not etag.startswith("W/")
                    and not if_range.startswith("W/") and if_range == etag)
        # HTTP-date: must be an exact match of the current Last-Modified.
        return last_modified is not None and if_range == last_modified

    def _send_simple(self, method: str, status: int, body: bytes, log: RequestLog,
                     extra: dict[str, str] | None = None,
                     content_type: str = "text/plain; charset=utf-8") -> None:
        """A small non-file response (404, 416, fault statuses, HTML)."""
        if status < 200 or status in (204, 304):
            body = b""  # these statuses never carry content
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        log.status = status
        if method == "GET" and body:
            self.wfile.write(body)
            log.bytes_sent = len(body)

    def _send_body(self, f: _File, offset: int, length: int, log: RequestLog, *,
                   limit: int, stall_after: int | None, stall_seconds: float,
                   bps: int) -> None:
        """Write body bytes [offset, offset+limit), updating log.bytes_sent as we go."""
        sock = self.connection
        view = memoryview(f.data) if f.data is not None else None
        fd = os.open(f.path, os.O_RDONLY) if view is None else -1
        try:
            # Fast path for big files: zero-copy, still exactly counted.
            use_sendfile = (fd >= 0 and not bps and stall_after is None
                            and hasattr(os, "sendfile"))
            t0, base = time.monotonic(), 0
            while log.bytes_sent < limit:
                sent = log.bytes_sent
                if stall_after is not None and sent >= stall_after:
                    stall_after = None
                    self._pause(stall_seconds)
                    # Restart pacing so the throttle doesn't burst to "catch up".
                    t0, base = time.monotonic(), sent
                step = limit - sent
                if stall_after is not None:
                    step = min(step, stall_after - sent)
                if bps:
                    step = min(step, _throttle_chunk(bps))
                    # Sleep *before* writing so that bytes on the wire never
                    # exceed bps * elapsed.
                    self._pause(t0 + (sent - base + step) / bps - time.monotonic())
                if use_sendfile:
                    n = os.sendfile(sock.fileno(), fd, offset + sent, min(step, SENDFILE_MAX))
                    if n == 0:
                        return  # file shrank underneath us
                    log.bytes_sent += n
                    continue
                step = min(step, CHUNK)
                if view is not None:
                    chunk = view[offset + sent: offset + sent + step]
                else:
                    chunk = memoryview(os.pread(fd, step, offset + sent))
                    if not chunk:
                        return  # file shrank underneath us
                while chunk:
                    n = sock.send(chunk)  # send(), not sendall(): exact accounting
                    log.bytes_sent += n
                    chunk = chunk[n:]
        finally:
            if fd >= 0:
                os.close(fd)

    def _send_chunked(self, f: _File, offset: int, limit: int, log: RequestLog, *,
                      end: bool, bad_chunk: bool) -> None:
        """Body bytes [offset, offset+limit) in 64 KiB chunks (RFC 9112 7.1);
        the last-chunk only when ``end``; ``bad_chunk``: a chunk-size line that
        is not hex where the next chunk should start."""
        data = f.data if f.data is not None else open(f.path, "rb").read()
        step = 64 * 1024
        while log.bytes_sent < limit:
            chunk = data[offset + log.bytes_sent: offset + min(limit, log.bytes_sent + step)]
            self.wfile.write(b"%x\r\n" % len(chunk) + bytes(chunk) + b"\r\n")
            log.bytes_sent += len(chunk)
        if bad_chunk:
            self.wfile.write(b"zz\r\n")
        if end:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _pause(self, seconds: float) -> None:
        """Sleep, but raise _ClientGone as soon as the peer hangs up or the
        server closes, so stalled/throttled handlers don't linger."""
        deadline = time.monotonic() + seconds
        closed = self.server.owner._closed
        while True:
            remaining = deadline - time.monotonic()
            if closed.is_set():
                raise _ClientGone
            if remaining <= 0:
                return
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.05))
            if not readable:
                continue
            # The request was already read, so readability means EOF/RST
            # (client gone) -- or unexpected extra bytes (pipelining).
            try:
                peek = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                raise _ClientGone from None
            if not peek:
                raise _ClientGone
            # Extra bytes would keep select() hot; just sleep the rest.
            if closed.wait(max(0.0, deadline - time.monotonic())):
                raise _ClientGone
            return


class FileServer:
    """Threaded HTTP file server on 127.0.0.1 with fault injection."""

    def __init__(self, port: int = 0):
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self.peak_inflight = 0  # most requests in flight at once (a connection cap holds?)
        # Seconds a request arriving while another is in flight waits for it to end
        # before it counts towards peak_inflight. A client sees a response's last byte
        # (and may start its next request) before the handler thread marks that one
        # finished; under load that gap made a cap of 1 look like 2. Opt in per test.
        self.count_grace = 0.0
        self._arrivals = 0
        self._files: dict[str, _File] = {}
        self._faults: dict[str, dict] = {}
        self._requests: list[RequestLog] = []
        self._closed = threading.Event()
        self._httpd = _Server((HOST, port), _Handler)
        self._httpd.owner = self
        self.base_url = f"http://{HOST}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name="FileServer", daemon=True)
        self._thread.start()

    # -- files --------------------------------------------------------------

    def url(self, name: str) -> str:
        """Absolute URL of `name` (slashes kept, other unsafe chars quoted)."""
        return f"{self.base_url}/{urllib.parse.quote(name.lstrip('/'), safe='/:@!$&()*+,;=-._~')}"

    def add(self, name: str, data: bytes | None = None, *, path: str | None = None,
            etag: str | bool = True, last_modified: str | bool = True,
            content_type: str = "video/x-matroska", weak_etag: bool = False) -> str:
        """Register a file from bytes or from disk (path=); return its URL.

        etag: True derives a strong tag (content hash for bytes, size+mtime
        for path= files), a str is sent verbatim, False sends none.
        weak_etag sends it as W/"...".  last_modified: True is a fixed HTTP
        date, a str is sent verbatim, False sends none.
        """
        if (data is None) == (path is None):
            raise ValueError("give exactly one of data or path")
        name = name.lstrip("/")
        if path is not None:
            st = os.stat(path)
            size = st.st_size
            auto_tag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'  # don't hash GiBs
        else:
            data = bytes(data)
            size = len(data)
            auto_tag = _content_etag(data, 0) if etag is True else None
        if etag is True:
            tag = auto_tag
        elif etag is False:
            tag = None
        else:
            tag = etag
        if tag is not None and weak_etag and not tag.startswith("W/"):
            tag = "W/" + tag
        if last_modified is True:
            lm = _http_date(_FIXED_MTIME)
        elif last_modified is False:
            lm = None
        else:
            lm = last_modified
        entry = _File(data=data, path=path, size=size, etag=tag, last_modified=lm,
                      content_type=content_type, weak=weak_etag)
        with self._lock:
            self._files[name] = entry
        return self.url(name)

    def change(self, name: str, data: bytes) -> None:
        """Replace the content; the ETag (if any) changes and Last-Modified
        (if any) moves 60 s later."""
        name = name.lstrip("/")
        data = bytes(data)
        with self._lock:
            old = self._files[name]
            gen = old.generation + 1
            tag = None
            if old.etag is not None:
                tag = _content_etag(data, gen)
                if old.weak:
                    tag = "W/" + tag
            lm = None
            if old.last_modified is not None:
                try:
                    prev = email.utils.parsedate_to_datetime(old.last_modified).timestamp()
                except (TypeError, ValueError):
                    prev = _FIXED_MTIME + 60 * old.generation
                lm = _http_date(prev + 60)
            self._files[name] = dataclasses.replace(
                old, data=data, path=None, size=len(data), etag=tag,
                last_modified=lm, generation=gen)

    # -- faults -------------------------------------------------------------

    def fault(self, name: str, **knobs) -> None:
        """Set fault knobs for `name`, merged into any existing ones.

        status/status_times/retry_after, drop_after/drop_times (default 1),
        ignore_range, throttle_bps, stall_after/stall_seconds/stall_times
        (default None = every response), no_content_length, no_validators,
        html; chunked (Transfer-Encoding: chunked, cut without its last chunk
        by drop_after), bad_chunk (a malformed chunk-size line after the
        chunks cut by drop_after), reset (drop_after ends with an RST, not a FIN),
        content_encoding (a Content-Encoding header, whatever was asked).  A `*_times` of None means "always".
        """
        unknown = set(knobs) - _FAULT_KNOBS
        if unknown:
            raise TypeError(f"unknown fault knob(s): {sorted(unknown)}")
        if "drop_after" in knobs:
            knobs.setdefault("drop_times", 1)
        with self._lock:
            self._faults.setdefault(name.lstrip("/"), {}).update(knobs)

    def clear_faults(self, name: str) -> None:
        with self._lock:
            self._faults.pop(name.lstrip("/"), None)

    def _snapshot(self, name: str) -> tuple[_File | None, dict]:
        with self._lock:
            return self._files.get(name), dict(self._faults.get(name, {}))

    def _take(self, name: str, key: str, times_key: str):
        """Atomically consume one use of a counted fault; its value or None."""
        with self._lock:
            faults = self._faults.get(name, {})
            value = faults.get(key)
            if value is None:
                return None
            times = faults.get(times_key)
            if times is None:
                return value
            if times <= 0:
                return None
            faults[times_key] = times - 1
            return value

    # -- request log --------------------------------------------------------

    def _begin(self) -> int:
        with self._lock:
            if self.count_grace and self._inflight:
                self._idle.wait_for(lambda: self._inflight == 0, self.count_grace)
            self._inflight += 1
            self.peak_inflight = max(self.peak_inflight, self._inflight)
            self._arrivals += 1
            return self._arrivals

    def _finish(self, log: RequestLog) -> None:
        with self._lock:
            self._requests.append(log)
            self._inflight -= 1
            self._idle.notify_all()

    def _settle(self) -> None:
        # A client can see the last body byte before the handler thread has
        # appended its log entry; wait (bounded) for in-flight responses.
        with self._lock:
            self._idle.wait_for(lambda: self._inflight == 0, SETTLE_TIMEOUT)

    @property
    def requests(self) -> list[RequestLog]:
        """The request log in arrival order, after in-flight responses have
        settled (entries are recorded when a response ends, which under load
        need not be the order the requests came in)."""
        self._settle()
        with self._lock:
            return sorted(self._requests, key=lambda r: r.seq)

    def gets(self, name: str) -> list[RequestLog]:
        name = name.lstrip("/")
        return [r for r in self.requests if r.name == name and r.method == "GET"]

    def full_gets(self, name: str) -> int:
        return sum(1 for r in self.gets(name) if r.full_body)

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()  # wakes stalled/throttled handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FileServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Serve every regular file in DIR on 127.0.0.1.")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--throttle-bps", type=int, default=0)
    args = ap.parse_args(argv)

    srv = FileServer(port=args.port)
    root = os.path.abspath(args.dir)
    for dirpath, _dirs, files in os.walk(root):
        for fn in files:
            full = os.path.join(dirpath, fn)
            if not os.path.isfile(full):
                continue
            name = os.path.relpath(full, root).replace(os.sep, "/")
            srv.add(name, path=full)
            if args.throttle_bps:
                srv.fault(name, throttle_bps=args.throttle_bps)
    # SIGTERM -> SystemExit so the finally block closes the server cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(srv.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
