"""A fake Xtream Codes panel (Xtream UI / XUI.one player_api.php) for tests.

Standard library only.  Binds 127.0.0.1 on an ephemeral port and serves:

* ``/player_api.php?username=U&password=P`` -- the account call:
  ``{"user_info": {...}, "server_info": {...}}``; a wrong account answers
  ``{"user_info": {"auth": 0}}`` (HTTP 200), as the panels do.
* ``&action=get_vod_categories`` / ``get_series_categories`` -- lists of
  ``{"category_id": "1", "category_name": "…", "parent_id": 0}``.
* ``&action=get_vod_streams`` -- lists of ``{"num", "name", "stream_type": "movie",
  "stream_id", "stream_icon", "rating", "rating_5based", "tmdb", "added",
  "is_adult", "category_id", "category_ids", "container_extension",
  "custom_sid", "direct_source"}``.
* ``&action=get_series`` -- lists of ``{"num", "name", "series_id", "cover",
  "plot", "cast", "director", "genre", "releaseDate", "last_modified",
  "rating", "rating_5based", "backdrop_path", "youtube_trailer", "tmdb",
  "episode_run_time", "category_id", "category_ids"}``.
* ``&action=get_series_info&series_id=N`` and ``get_vod_info&vod_id=N`` (``series_info``
  and ``vod_info`` hold answers a test may replace with any JSON).
* ``/movie/U/P/{stream_id}.{ext}`` and ``/series/U/P/{id}.{ext}``: the file bytes.

Field types follow XUI.one: ids as numbers, category ids and dates as strings,
``exp_date`` as a string of Unix seconds (or null).  ``numbers_as_strings``
serves ids as strings ("stream_id": "12"), as older Xtream UI panels do.

Misbehaviour on request: ``fault(action, ...)`` (a status, a raw body, an HTML
page, a body cut after N bytes) for one action ('account' for the account
call, '*' for every call).  Every request is recorded in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = '127.0.0.1'
JSON_TYPE = 'application/json'
LOGIN_HTML = b'<!DOCTYPE html><html><body>Cloudflare: checking your browser</body></html>'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # a client hanging up is no test failure
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    panel: 'FakePanel'

    def log_message(self, format, *args):  # noqa: A002 - base class signature
        pass

    def do_GET(self):
        self.panel._handle(self)

    def send_body(self, status: int, body: bytes, content_type: str = JSON_TYPE, cut: int | None = None,
                  location: str | None = None):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        if location is not None:
            self.send_header('Location', location)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.close_connection = True


class FakePanel:
    def __init__(self, username: str = 'alice', password: str = 'hunter22pw', *,
                 status: str = 'Active', exp_date: int | None = None, max_connections: int = 2,
                 active_cons: int = 0, numbers_as_strings: bool = False, is_trial: int = 0):
        self.username, self.password = username, password
        self.user_info = {'status': status, 'exp_date': exp_date, 'is_trial': is_trial,
                          'active_cons': active_cons, 'max_connections': max_connections}
        self.numbers_as_strings = numbers_as_strings
        self.vod_categories: list[dict] = []
        self.series_categories: list[dict] = []
        self.vod: list = []         # records as served (tests may put odd ones in)
        self.series: list = []
        self.series_info: dict[int, dict] = {}
        self.vod_info: dict[int, object] = {}     # get_vod_info answers that replace the built one
        self.files: dict[str, bytes] = {}
        self.requests: list[dict] = []
        self._faults: dict[str, dict] = {}
        self._lock = threading.Lock()
        handler = type('Handler', (_Handler,), {'panel': self})
        self._server = _Server((HOST, 0), handler)
        self.port = self._server.server_address[1]
        self.url = f'http://{HOST}:{self.port}'
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- lifecycle ----------------------------------------------------------------------
    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def playlist_url(self) -> str:
        """The get.php URL a subscriber is given."""
        return f'{self.url}/get.php?username={self.username}&password={self.password}&type=m3u_plus&output=ts'

    # -- content ----------------------------------------------------------------------
    def _num(self, value):
        return str(value) if self.numbers_as_strings and value is not None else value

    def add_category(self, kind: str, category_id: int, name: str) -> None:
        target = self.vod_categories if kind == 'movie' else self.series_categories
        target.append({'category_id': str(category_id), 'category_name': name, 'parent_id': 0})

    def add_movie(self, stream_id: int, name: str, *, category_id: int = 1, tmdb='',
                  ext: str = 'mkv', added: int = 1700000000, icon: str = '') -> dict:
        record = {
            'num': len(self.vod) + 1, 'name': name, 'stream_type': 'movie',
            'stream_id': self._num(stream_id), 'stream_icon': icon or f'{self.url}/images/{stream_id}.jpg',
            'rating': '7.1', 'rating_5based': 3.6, 'tmdb': self._num(tmdb) if tmdb else '',
            'added': str(added), 'is_adult': 0, 'category_id': str(category_id),
            'category_ids': [category_id], 'container_extension': ext, 'custom_sid': None,
            'direct_source': '',
        }
        self.vod.append(record)
        return record

    def add_series(self, series_id: int, name: str, *, category_id: int = 2, tmdb='',
                   release_date: str = '', episodes: dict | None = None) -> dict:
        record = {
            'num': len(self.series) + 1, 'name': name, 'series_id': self._num(series_id),
            'cover': f'{self.url}/images/s{series_id}.jpg', 'plot': 'A plot.', 'cast': '',
            'director': '', 'genre': 'Drama', 'releaseDate': release_date,
            'last_modified': '1700000000', 'rating': '8', 'rating_5based': 4,
            'backdrop_path': [], 'youtube_trailer': '', 'tmdb': self._num(tmdb) if tmdb else '',
            'episode_run_time': '45', 'category_id': str(category_id), 'category_ids': [category_id],
        }
        self.series.append(record)
        # get_series_info: episodes keyed by season number (strings), ids as strings.
        self.series_info[series_id] = {
            'seasons': [], 'info': {k: record[k] for k in ('name', 'cover', 'plot', 'releaseDate', 'tmdb')},
            'episodes': {str(season): [
                {'id': str(ep_id), 'episode_num': number, 'title': f'{name} - S{season:02d}E{number:02d}',
                 'container_extension': 'mkv', 'season': season, 'custom_sid': '', 'added': '1700000000',
                 'direct_source': '', 'info': {'duration_secs': 2700, 'duration': '00:45:00'}}
                for number, ep_id in eps] for season, eps in (episodes or {}).items()},
        }
        return record

    # -- faults ----------------------------------------------------------------------
    def fault(self, action: str, status: int = 200, body: bytes | str | None = None,
              html: bool = False, cut: int | None = None, times: int | None = None,
              location: str | None = None):
        """Misbehave on ``action`` ('account', 'get_vod_streams', …, '*'): answer
        ``status`` with ``body`` (default: the normal answer), an HTML page, or
        the normal answer cut after ``cut`` bytes (Content-Length still says the
        whole), for the next ``times`` requests (None: always)."""
        if isinstance(body, str):
            body = body.encode('utf-8')
        with self._lock:
            self._faults[action] = {'status': status, 'body': body, 'html': html, 'cut': cut,
                                    'times': times, 'location': location}

    def _take_fault(self, action: str):
        with self._lock:
            for key in (action, '*'):
                fault = self._faults.get(key)
                if fault is None:
                    continue
                if fault['times'] is not None:
                    fault['times'] -= 1
                    if fault['times'] <= 0:
                        del self._faults[key]
                return fault
        return None

    def actions(self) -> list[str]:
        """The actions asked so far ('account' for the account call), in order."""
        return [r['action'] for r in self.requests if r['path'] == '/player_api.php']

    # -- serving ----------------------------------------------------------------------
    def _handle(self, h: _Handler):
        parts = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        action = query.get('action', 'account')
        with self._lock:
            self.requests.append({'path': parts.path, 'action': action, 'query': query,
                                  'time': time.monotonic()})
        if parts.path == '/player_api.php':
            self._api(h, query, action)
        elif parts.path in self.files:
            h.send_body(200, self.files[parts.path], 'video/x-matroska')
        else:
            h.send_body(404, b'', 'text/html')

    def _api(self, h: _Handler, query: dict, action: str):
        fault = self._take_fault(action)
        if query.get('username') != self.username or query.get('password') != self.password:
            # The panels answer a wrong account with HTTP 200 and auth 0.
            body = json.dumps({'user_info': {'auth': 0}}).encode()
        else:
            body = json.dumps(self._answer(action, query)).encode()
        if fault is not None:
            if fault['html']:
                h.send_body(fault['status'], LOGIN_HTML, 'text/html; charset=UTF-8')
                return
            if fault['body'] is not None:
                body = fault['body']
            h.send_body(fault['status'], body, cut=fault['cut'], location=fault['location'])
            return
        h.send_body(200, body)

    def _answer(self, action: str, query: dict):
        if action == 'account':
            return {'user_info': dict(self.user_info, username=self.username, password=self.password,
                                      message='Welcome', auth=1, created_at='1600000000',
                                      exp_date=None if self.user_info['exp_date'] is None
                                      else str(self.user_info['exp_date']),
                                      active_cons=str(self.user_info['active_cons']),
                                      max_connections=str(self.user_info['max_connections']),
                                      allowed_output_formats=['m3u8', 'ts']),
                    'server_info': {'xui': True, 'version': '1.5.12', 'url': HOST,
                                    'port': str(self.port), 'https_port': '443',
                                    'server_protocol': 'http', 'rtmp_port': '8880',
                                    'timestamp_now': int(time.time()), 'timezone': 'UTC'}}
        if action == 'get_vod_categories':
            return self.vod_categories
        if action == 'get_series_categories':
            return self.series_categories
        if action == 'get_vod_streams':
            return self.vod
        if action == 'get_series':
            return self.series
        if action == 'get_series_info':
            info = self.series_info.get(int(query.get('series_id') or 0))
            return info if info is not None else []
        if action == 'get_vod_info':
            vod_id = query.get('vod_id')
            if vod_id and vod_id.isdigit() and int(vod_id) in self.vod_info:
                return self.vod_info[int(vod_id)]
            for record in self.vod:
                if isinstance(record, dict) and str(record.get('stream_id')) == vod_id:
                    return {'info': {'tmdb_id': str(record['tmdb']), 'name': record['name'],
                                     'duration_secs': 6000, 'duration': '01:40:00',
                                     'video': {'width': 1920, 'height': 1080}},
                            'movie_data': {'stream_id': record['stream_id'], 'name': record['name'],
                                           'container_extension': record['container_extension']}}
            return []
        return []
