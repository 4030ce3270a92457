"""A fake Radarr (v5.28) or Sonarr (v4.0.19) v3 API server for tests.

Standard library only.  Binds 127.0.0.1 on an ephemeral port and serves the
few routes a client of the "wanted/missing" and "command" APIs needs.  Every
JSON object it serves uses field names and shapes from the upstream OpenAPI
documents (see /work/shared/contracts/); like the real apps (System.Text.Json
with "ignore when null") it never serves a null value: such fields are left
out.

Usage::

    with FakeArr('radarr') as arr:
        arr.add_movie('Inception', 2010, imdb_id='tt1375666')
        requests.get(arr.base_url + '/api/v3/wanted/missing',
                     headers={'X-Api-Key': arr.api_key})
        arr.fault('/api/v3/command', status=503, times=1)

``movie/lookup`` and ``series/lookup`` answer the library's items and the
"world" ones added with add_world_movie/add_world_series whose title holds the
term.

Behaviour copied from the real apps:

* API key from the ``apikey`` query parameter first, then the ``X-Api-Key``
  header; a missing or wrong key answers 401 with an empty body.
* ``wanted/missing``: ``monitored`` (default true) selects monitored items,
  ``monitored=false`` selects the unmonitored ones (Sonarr: episode or its
  series unmonitored).  Radarr does not filter on ``isAvailable``.
* ``POST /api/v3/command`` answers 201 (the OpenAPI documents say 200).

Misbehaviour on request: ``fault()`` (a status, a raw body, an HTML page, a
delay), ``ignore_page_size`` (every record in one page, whatever pageSize
asks, as a proxy that drops the query would) and ``ignore_page`` (page 1,
whatever page is asked).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = '127.0.0.1'
JSON_TYPE = 'application/json; charset=utf-8'
LOGIN_HTML = b'<html><body>Login</body></html>'

_APP = {
    'radarr': {'appName': 'Radarr', 'version': '5.28.0.10274', 'branch': 'master',
               'migrationVersion': 241, 'buildTime': '2025-09-06T12:00:00Z'},
    'sonarr': {'appName': 'Sonarr', 'version': '4.0.19.2979', 'branch': 'main',
               'migrationVersion': 217, 'buildTime': '2026-06-26T12:00:00Z'},
}
_ENGLISH = {'id': 1, 'name': 'English'}
_EPOCH = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
_FIRST_AIR = _dt.datetime(2020, 1, 6, 2, 0, tzinfo=_dt.timezone.utc)

# Radarr sort keys the fake understands -> MovieResource field (ties: by id).
_MOVIE_SORT = {
    'title': 'sortTitle', 'sorttitle': 'sortTitle', 'year': 'year',
    'digitalrelease': 'digitalRelease', 'incinemas': 'inCinemas',
    'physicalrelease': 'physicalRelease', 'releasedate': 'releaseDate',
    'added': 'added', 'id': 'id', 'lastsearchtime': 'lastSearchTime',
}
_EPISODE_SORT = {
    'airdateutc': 'airDateUtc', 'airdate': 'airDate', 'lastsearchtime': 'lastSearchTime',
    'id': 'id',
}


def iso(when: _dt.datetime) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' (UTC), the format the apps serve."""
    return when.astimezone(_dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def clean_title(title: str) -> str:
    """Rough equivalent of the apps' CleanTitle: lower case, articles and
    punctuation removed ('The Dark Knight' -> 'darkknight')."""
    lowered = title.lower().replace('&', ' and ')
    stripped = re.sub(r'\b(?:the|an?|and|or|of)\b', ' ', lowered)
    cleaned = re.sub(r'[\W_]+', '', stripped)
    return cleaned or re.sub(r'[\W_]+', '', lowered)


def sort_title(title: str) -> str:
    """Rough equivalent of the apps' sort title ('The Office (US)' -> 'office us')."""
    lowered = re.sub(r'^(?:the|an?)\s+', '', title.lower().strip())
    return ' '.join(re.sub(r'[^\w\s]+', ' ', lowered).split())


def slugify(title: str) -> str:
    return '-'.join(re.sub(r'[^\w\s-]+', '', title.lower()).replace('_', ' ').split()) or 'untitled'


def _strip_nulls(value):
    """Drop None-valued keys everywhere (the apps omit null fields)."""
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _parent_dir(path: str) -> str:
    cut = max(path.rstrip('/\\').rfind('/'), path.rstrip('/\\').rfind('\\'))
    return path[:cut] if cut > 0 else path[:1]


def _as_bool(value: str | None, default: bool) -> bool:
    if value is None or value == '':
        return default
    return value.strip().lower() in ('1', 'true', 'yes', 'on')


def _as_int(value: str | None, default: int, minimum: int = 1) -> int:
    try:
        return max(minimum, int(value)) if value not in (None, '') else default
    except ValueError:
        return default


def _sorted(items, field, descending):
    """Stable sort by `field` (None first when ascending, like SQLite), ties by id."""
    by_id = sorted(items, key=lambda x: x.get('id', 0))
    if field is None or field == 'id':
        return by_id[::-1] if descending else by_id

    def key(item):
        value = item.get(field)
        if isinstance(value, str):
            value = value.lower()
        return (value is not None, value if value is not None else 0)
    return sorted(by_id, key=key, reverse=descending)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # the client went away: not worth a traceback
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'Kestrel'
    sys_version = ''
    timeout = 10  # idle keep-alive connections end by themselves
    # The headers and the body go out in two writes: with Nagle's algorithm a small
    # body waited for the client's delayed ACK, 40 ms an answer on Linux loopback
    # (4 lookups were ~0.2 s of a bench dry run, issue 15). Kestrel sends at once.
    disable_nagle_algorithm = True
    fake: 'FakeArr'  # set on the per-instance subclass

    def log_message(self, format, *args):  # noqa: A002 - base class signature
        pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # -- plumbing ------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b''.join(chunks)
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length > 0 else b''

    def _send(self, status: int, body: bytes = b'', content_type: str | None = JSON_TYPE,
              headers: dict | None = None):
        self.send_response(status)
        if content_type and (body or status != 401):
            self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != 'HEAD' and body:
            self.wfile.write(body)

    def _json(self, status: int, obj, headers: dict | None = None):
        body = json.dumps(_strip_nulls(obj), ensure_ascii=False).encode('utf-8')
        self._send(status, body, JSON_TYPE, headers)

    def _dispatch(self):
        fake = self.fake
        split = urllib.parse.urlsplit(self.path)
        raw_path = urllib.parse.unquote(split.path) or '/'
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        base = fake.url_base
        if not base:
            path, in_base = raw_path, True
        elif raw_path.lower() == base.lower() or raw_path.lower().startswith(base.lower() + '/'):
            path, in_base = raw_path[len(base):] or '/', True
        else:
            path, in_base = raw_path, False
        # Radarr/Sonarr: the query parameter wins over the header.
        api_key = query['apikey'] if 'apikey' in query else self.headers.get('X-Api-Key')
        api_key = api_key or None
        body = self._read_body()
        fake._record({'method': self.command, 'path': path, 'query': query, 'api_key': api_key})

        fault = fake._take_fault(path)
        if fault is not None:
            if fault['delay']:
                time.sleep(fault['delay'])
            if fault['html']:
                return self._send(200, LOGIN_HTML, 'text/html; charset=utf-8')
            if fault['status'] is not None:
                payload = fault['body'] if fault['body'] is not None else b'{}'
                return self._send(fault['status'], payload, JSON_TYPE)

        route = path.rstrip('/').lower() or '/'
        if not in_base or not (route == '/api' or route.startswith('/api/')):
            return self._not_found()
        if api_key != fake.api_key:
            return self._send(401, b'', None)
        return fake._route(self, self.command, route, query, body)

    def _not_found(self):
        self._json(404, {'message': 'NotFound'})


class FakeArr:
    """A fake Radarr or Sonarr v3 API server for tests."""

    def __init__(self, kind: str, api_key: str = 'k3y-0123456789abcdef', url_base: str = '',
                 wanted_missing: bool = True):
        if kind not in _APP:
            raise ValueError(f"kind must be 'radarr' or 'sonarr', not {kind!r}")
        self.kind = kind
        self.api_key = api_key
        self.url_base = ('/' + url_base.strip('/')) if url_base.strip('/') else ''
        self.wanted_missing = wanted_missing
        self.ignore_page_size = False
        self.ignore_page = False
        self.movies: list[dict] = []
        self.series: list[dict] = []
        self.episodes: list[dict] = []
        self.world_movies: list[dict] = []      # lookup answers beyond the library
        self.world_series: list[dict] = []
        self.commands: list[dict] = []
        self.requests: list[dict] = []
        self._faults: dict[str, dict] = {}
        self._lock = threading.RLock()
        self._ids = {'movie': 0, 'alt': 0, 'series': 0, 'episode': 0, 'command': 0}
        self._started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)

        handler = type('FakeArrHandler', (_Handler,), {'fake': self})
        self._server = _Server((HOST, 0), handler)
        self.port = self._server.server_address[1]
        self.base_url = f'http://{HOST}:{self.port}{self.url_base}'
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.05},
                                        name=f'FakeArr-{kind}-{self.port}', daemon=True)
        self._thread.start()
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------
    def close(self):
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- faults and bookkeeping ---------------------------------------------------------
    def fault(self, path: str, status: int | None = None, times: int | None = None,
              html: bool = False, body: bytes | None = None, delay: float = 0):
        """Misbehave on requests to `path` (without url_base; '*' = every path):
        answer `status` (with `body`, default b'{}'), or a 200 HTML login page
        when `html`, for the next `times` requests (None = always), after
        sleeping `delay` seconds.  Replaces an earlier fault on the same path."""
        if isinstance(body, str):
            body = body.encode('utf-8')
        key = path if path == '*' else (path.rstrip('/') or '/')
        with self._lock:
            self._faults[key] = {'status': status, 'times': times, 'html': html,
                                 'body': body, 'delay': delay}

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str):
        with self._lock:
            for key in (path.rstrip('/') or '/', '*'):
                fault = self._faults.get(key)
                if fault is None:
                    continue
                if fault['times'] is not None:
                    if fault['times'] <= 0:
                        del self._faults[key]
                        continue
                    fault['times'] -= 1
                    if fault['times'] <= 0:
                        del self._faults[key]
                return dict(fault)
        return None

    def _record(self, entry: dict):
        with self._lock:
            self.requests.append(entry)

    def _next_id(self, name: str) -> int:
        with self._lock:
            self._ids[name] += 1
            return self._ids[name]

    # -- data builders --------------------------------------------------------------------
    def add_movie(self, title, year, *, path=None, monitored=True, has_file=False,
                  is_available=True, original_title=None, alternate_titles=(), imdb_id=None,
                  tmdb_id=None, **extra) -> dict:
        """Append a realistic MovieResource; `extra` overrides or adds fields
        (a None value removes the field)."""
        mid = self._next_id('movie')
        tmdb = tmdb_id if tmdb_id is not None else 1000 + mid
        path = path or f'/movies/{title} ({year})'
        day = 1 + mid % 28
        size = 1_500_000_000 + mid * 1_000 if has_file else 0
        release = {
            'inCinemas': iso(_dt.datetime(year, 6, day, tzinfo=_dt.timezone.utc)),
            'physicalRelease': iso(_dt.datetime(year, 11, day, tzinfo=_dt.timezone.utc))
            if is_available else None,
            'digitalRelease': iso(_dt.datetime(year, 10, day, tzinfo=_dt.timezone.utc))
            if is_available else None,
        }
        release['releaseDate'] = release['digitalRelease']
        movie = {
            'id': mid,
            'title': title,
            'originalTitle': original_title if original_title is not None else title,
            'originalLanguage': dict(_ENGLISH),
            'alternateTitles': [
                {'id': self._next_id('alt'), 'sourceType': 'tmdb', 'movieMetadataId': mid,
                 'title': alt, 'cleanTitle': clean_title(alt)}
                for alt in alternate_titles],
            'secondaryYearSourceId': 0,
            'sortTitle': sort_title(title),
            'sizeOnDisk': size,
            'status': 'released' if is_available else 'announced',
            'overview': f'{title} ({year}), a film.',
            **release,
            'images': [{'coverType': 'poster',
                        'url': f'{self.url_base}/MediaCover/{mid}/poster.jpg',
                        'remoteUrl': f'https://image.tmdb.org/t/p/original/{tmdb}.jpg'}],
            'website': '',
            'year': year,
            'youTubeTrailerId': '',
            'studio': 'Fake Studio',
            'path': path,
            'qualityProfileId': 1,
            'hasFile': has_file,
            'movieFileId': mid if has_file else 0,
            'monitored': monitored,
            'minimumAvailability': 'released',
            'isAvailable': is_available,
            'folderName': path,
            'runtime': 120,
            'cleanTitle': clean_title(title),
            'imdbId': imdb_id,
            'tmdbId': tmdb,
            'titleSlug': str(tmdb),
            'rootFolderPath': _parent_dir(path),
            'certification': 'PG-13',
            'genres': [],
            'keywords': [],
            'tags': [],
            'added': iso(_EPOCH + _dt.timedelta(hours=mid)),
            'ratings': {'tmdb': {'votes': 100, 'value': 7.5, 'type': 'user'}},
            'popularity': 10.0,
            'statistics': {'movieFileCount': 1 if has_file else 0, 'sizeOnDisk': size,
                           'releaseGroups': []},
        }
        if has_file:
            file_name = f'{title} ({year}).mkv'
            movie['movieFile'] = {
                'id': mid, 'movieId': mid, 'relativePath': file_name,
                'path': f'{path.rstrip("/")}/{file_name}', 'size': size,
                'dateAdded': movie['added'], 'languages': [dict(_ENGLISH)],
                'indexerFlags': 0, 'qualityCutoffNotMet': False,
            }
        movie.update(extra)
        movie = _strip_nulls(movie)
        with self._lock:
            self.movies.append(movie)
        return movie

    def add_series(self, title, year, *, path=None, season_folder=True, alternate_titles=(),
                   tvdb_id=None, imdb_id=None, monitored=True, **extra) -> dict:
        """Append a realistic SeriesResource (statistics are computed when
        served); `extra` overrides or adds fields (None removes one)."""
        sid = self._next_id('series')
        path = path or f'/tv/{title}'
        series = {
            'id': sid,
            'title': title,
            'alternateTitles': [{'title': alt, 'seasonNumber': -1} for alt in alternate_titles],
            'sortTitle': sort_title(title),
            'status': 'continuing',
            'ended': False,
            'overview': f'{title}, a series.',
            'network': 'Fake Network',
            'airTime': '21:00',
            'images': [{'coverType': 'poster',
                        'url': f'{self.url_base}/MediaCover/{sid}/poster.jpg',
                        'remoteUrl': f'https://artworks.thetvdb.com/banners/posters/{sid}.jpg'}],
            'originalLanguage': dict(_ENGLISH),
            'seasons': [{'seasonNumber': 1, 'monitored': monitored}],
            'year': year,
            'path': path,
            'qualityProfileId': 1,
            'languageProfileId': 1,
            'seasonFolder': season_folder,
            'monitored': monitored,
            'monitorNewItems': 'all',
            'useSceneNumbering': False,
            'runtime': 45,
            'tvdbId': tvdb_id if tvdb_id is not None else 5000 + sid,
            'tvRageId': 0,
            'tvMazeId': 0,
            'tmdbId': 0,
            'firstAired': iso(_dt.datetime(year, 1, 1, tzinfo=_dt.timezone.utc)),
            'seriesType': 'standard',
            'cleanTitle': clean_title(title),
            'imdbId': imdb_id,
            'titleSlug': slugify(title),
            'rootFolderPath': _parent_dir(path),
            'certification': 'TV-14',
            'genres': [],
            'tags': [],
            'added': iso(_EPOCH + _dt.timedelta(hours=sid)),
            'ratings': {'votes': 100, 'value': 8.0},
        }
        series.update(extra)
        series = _strip_nulls(series)
        with self._lock:
            self.series.append(series)
        return series

    def add_episode(self, series_id, season, episode, *, title=None, has_file=False,
                    monitored=True, air_date_utc=None, **extra) -> dict:
        """Append an EpisodeResource (no embedded series).  air_date_utc: a
        datetime or ISO string; default one week after the previous episode."""
        eid = self._next_id('episode')
        if air_date_utc is None:
            air_date_utc = _FIRST_AIR + _dt.timedelta(weeks=eid - 1)
        if isinstance(air_date_utc, _dt.datetime):
            if air_date_utc.tzinfo is None:
                air_date_utc = air_date_utc.replace(tzinfo=_dt.timezone.utc)
            air_date_utc = iso(air_date_utc)
        ep = {
            'id': eid,
            'seriesId': series_id,
            'tvdbId': 70000 + eid,
            'episodeFileId': 10000 + eid if has_file else 0,
            'seasonNumber': season,
            'episodeNumber': episode,
            'title': title if title is not None else f'Episode {episode}',
            'airDate': air_date_utc[:10] if air_date_utc else None,
            'airDateUtc': air_date_utc,
            'runtime': 45,
            'overview': None,
            'hasFile': has_file,
            'monitored': monitored,
            'unverifiedSceneNumbering': False,
        }
        ep.update(extra)
        ep = _strip_nulls(ep)
        with self._lock:
            self.episodes.append(ep)
            for s in self.series:
                if s.get('id') == series_id and isinstance(s.get('seasons'), list):
                    if all(x.get('seasonNumber') != season for x in s['seasons']):
                        s['seasons'].append({'seasonNumber': season, 'monitored': True})
                        s['seasons'].sort(key=lambda x: x.get('seasonNumber', 0))
        return ep

    def add_world_movie(self, title, year, **kw) -> dict:
        """A film the metadata source (TMDB) knows that is not in the library: only
        ``movie/lookup`` answers it, as Radarr does (no id, path or file)."""
        movie = self.add_movie(title, year, **kw)
        with self._lock:
            self.movies.remove(movie)
            for name in ('id', 'path', 'folderName', 'rootFolderPath', 'movieFileId', 'added'):
                movie.pop(name, None)
            movie['monitored'] = False
            self.world_movies.append(movie)
        return movie

    def add_world_series(self, title, year, *, seasons=(1,), **kw) -> dict:
        """A series the metadata source (TheTVDB) knows that is not in the library:
        only ``series/lookup`` answers it (no id or path), with its seasons."""
        series = self.add_series(title, year, **kw)
        with self._lock:
            self.series.remove(series)
            for name in ('id', 'path', 'rootFolderPath', 'added'):
                series.pop(name, None)
            series['seasons'] = [{'seasonNumber': n, 'monitored': False} for n in seasons]
            self.world_series.append(series)
        return series

    def _lookup(self, items: list[dict], term: str) -> list[dict]:
        """Like the apps' search, roughly: every title whose clean form holds the
        term's (title, original title, alternate titles)."""
        wanted = clean_title(term or '')
        if not wanted:
            return []
        found = []
        for item in items:
            titles = [item.get('title') or '', item.get('originalTitle') or '']
            titles += [a.get('title') or '' for a in item.get('alternateTitles') or []]
            if any(wanted in clean_title(t) for t in titles if t):
                found.append(item)
        return found

    # -- rendering ----------------------------------------------------------------------
    def _render_series(self, series: dict, episodes: list[dict]) -> dict:
        out = json.loads(json.dumps(series))
        mine = [e for e in episodes if e.get('seriesId') == series.get('id')]
        now = iso(_dt.datetime.now(_dt.timezone.utc))

        def stats(eps):
            # Like Sonarr: episodeCount = aired monitored episodes + those with a file.
            with_file = sum(1 for e in eps if e.get('hasFile'))
            count = sum(1 for e in eps if e.get('hasFile') or (
                e.get('monitored') and e.get('airDateUtc') and e['airDateUtc'] <= now))
            return {'episodeFileCount': with_file, 'episodeCount': count,
                    'totalEpisodeCount': len(eps), 'sizeOnDisk': with_file * 500_000_000,
                    'releaseGroups': [],
                    'percentOfEpisodes': (100.0 * with_file / count) if count else 0.0}

        for season in out.get('seasons') or []:
            if isinstance(season, dict) and 'statistics' not in season:
                eps = [e for e in mine if e.get('seasonNumber') == season.get('seasonNumber')]
                season['statistics'] = stats(eps)
        if 'statistics' not in out:
            out['statistics'] = {'seasonCount': sum(1 for s in out.get('seasons') or []
                                                    if s.get('seasonNumber', 0) > 0),
                                 **stats(mine)}
        return out

    def _system_status(self) -> dict:
        app = _APP[self.kind]
        status = {
            'appName': app['appName'], 'instanceName': app['appName'], 'version': app['version'],
            'buildTime': app['buildTime'], 'isDebug': False, 'isProduction': True,
            'isAdmin': False, 'isUserInteractive': False, 'startupPath': '/app/bin',
            'appData': '/config', 'osName': 'alpine', 'osVersion': '3.20',
            'isNetCore': True, 'isLinux': True, 'isOsx': False, 'isWindows': False,
            'isDocker': True, 'mode': 'console', 'branch': app['branch'],
            'databaseType': 'sqLite', 'databaseVersion': '3.45.3',
            'authentication': 'forms', 'migrationVersion': app['migrationVersion'],
            'urlBase': self.url_base, 'runtimeVersion': '6.0.36', 'runtimeName': '.NET',
            'startTime': iso(self._started), 'packageUpdateMechanism': 'docker',
        }
        return status

    # -- routing --------------------------------------------------------------------------
    def _route(self, h: _Handler, method: str, route: str, query: dict, body: bytes):
        with self._lock:
            movies, series, episodes = list(self.movies), list(self.series), list(self.episodes)
        if method in ('GET', 'HEAD'):
            if route == '/api':
                return h._json(200, {'current': 'v3', 'deprecated': []})
            if route == '/api/v3/system/status':
                return h._json(200, self._system_status())
            if self.kind == 'radarr':
                if route == '/api/v3/movie/lookup':
                    with self._lock:
                        world = list(self.world_movies)
                    return h._json(200, self._lookup(movies + world, query.get('term', '')))
                if route == '/api/v3/movie':
                    tmdb = query.get('tmdbId')
                    found = [m for m in movies if tmdb in (None, '') or str(m.get('tmdbId')) == tmdb]
                    return h._json(200, found)
                match = re.fullmatch(r'/api/v3/movie/(\d+)', route)
                if match:
                    found = [m for m in movies if m.get('id') == int(match.group(1))]
                    return h._json(200, found[0]) if found else h._not_found()
                if route == '/api/v3/wanted/missing' and self.wanted_missing:
                    return self._missing_movies(h, movies, query)
            else:
                if route == '/api/v3/series/lookup':
                    with self._lock:
                        world = list(self.world_series)
                    return h._json(200, [self._render_series(x, episodes) if x.get('id') else x
                                         for x in self._lookup(series + world, query.get('term', ''))])
                if route == '/api/v3/series':
                    tvdb = query.get('tvdbId')
                    found = [s for s in series if tvdb in (None, '') or str(s.get('tvdbId')) == tvdb]
                    return h._json(200, [self._render_series(s, episodes) for s in found])
                match = re.fullmatch(r'/api/v3/series/(\d+)', route)
                if match:
                    found = [s for s in series if s.get('id') == int(match.group(1))]
                    return (h._json(200, self._render_series(found[0], episodes)) if found
                            else h._not_found())
                if route == '/api/v3/wanted/missing':
                    return self._missing_episodes(h, series, episodes, query)
                if route == '/api/v3/episode':
                    sid = query.get('seriesId')
                    return h._json(200, [e for e in episodes if sid in (None, '') or str(e.get('seriesId')) == sid])
        elif method == 'POST' and route == '/api/v3/command':
            return self._command(h, body)
        return h._not_found()

    def _paging(self, query: dict, sort_keys: dict, default_key: str | None):
        page = 1 if self.ignore_page else _as_int(query.get('page'), 1)
        size = 10 ** 9 if self.ignore_page_size else _as_int(query.get('pageSize'), 10)
        sort_key = query.get('sortKey') or None
        direction = query.get('sortDirection') or 'default'
        if sort_key is None:
            field = default_key
        else:
            short = sort_key.split('.')[-1].lower()
            field = sort_keys.get(short)
        descending = direction.lower() == 'descending'
        return page, size, sort_key, direction, field, descending

    def _page(self, h, items, page, size, sort_key, direction):
        start = (page - 1) * size
        return h._json(200, {'page': page, 'pageSize': size, 'sortKey': sort_key,
                             'sortDirection': direction, 'totalRecords': len(items),
                             'records': items[start:start + size]})

    def _missing_movies(self, h, movies, query):
        page, size, key, direction, field, desc = self._paging(query, _MOVIE_SORT, None)
        monitored = _as_bool(query.get('monitored'), True)
        chosen = [m for m in movies if not m.get('hasFile')
                  and bool(m.get('monitored')) == monitored]
        return self._page(h, _sorted(chosen, field, desc), page, size, key, direction)

    def _missing_episodes(self, h, series, episodes, query):
        page, size, key, direction, field, desc = self._paging(query, _EPISODE_SORT,
                                                                'airDateUtc')
        if key and key.lower() == 'series.sorttitle':
            field = None
        monitored = _as_bool(query.get('monitored'), True)
        include_series = _as_bool(query.get('includeSeries'), False)
        by_id = {s.get('id'): s for s in series}

        def is_monitored(ep):
            parent = by_id.get(ep.get('seriesId'), {})
            return bool(ep.get('monitored')) and bool(parent.get('monitored', True))

        chosen = [e for e in episodes if not e.get('hasFile') and is_monitored(e) == monitored]
        if key and key.lower() == 'series.sorttitle':
            chosen = _sorted(chosen, 'airDateUtc', False)
            chosen.sort(key=lambda e: str(by_id.get(e.get('seriesId'), {}).get('sortTitle', '')),
                        reverse=desc)
        else:
            chosen = _sorted(chosen, field, desc)
        if include_series:
            rendered = {}
            out = []
            for ep in chosen:
                sid = ep.get('seriesId')
                if sid in by_id and sid not in rendered:
                    rendered[sid] = self._render_series(by_id[sid], episodes)
                out.append({**ep, 'series': rendered.get(sid)})
            chosen = out
        return self._page(h, chosen, page, size, key, direction)

    def _command(self, h, body: bytes):
        try:
            posted = json.loads(body.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            return h._json(400, {'message': 'Invalid JSON body'})
        if not isinstance(posted, dict) or not isinstance(posted.get('name'), str) \
                or not posted['name']:
            return h._json(400, {'message': 'Command name is required'})
        with self._lock:
            self.commands.append(posted)
        cid = self._next_id('command')
        now = iso(_dt.datetime.now(_dt.timezone.utc))
        name = posted['name']
        command_body = {'sendUpdatesToClient': True, 'updateScheduledTask': True,
                        'requiresDiskAccess': False, 'isExclusive': False,
                        'isTypeExclusive': False, 'isLongRunning': False, 'name': name,
                        'trigger': 'manual', 'suppressMessages': False}
        if self.kind == 'sonarr':
            del command_body['isTypeExclusive']  # not in Sonarr's Command schema
        command_body.update(posted)
        resource = {
            'id': cid, 'name': name,
            'commandName': re.sub(r'(?<=[a-z0-9])(?=[A-Z])', ' ', name),
            'body': command_body, 'priority': 'normal', 'status': 'queued',
            'result': 'unknown', 'queued': now, 'trigger': 'manual',
            'stateChangeTime': now, 'sendUpdatesToClient': True, 'updateScheduledTask': True,
        }
        return h._json(201, resource,
                       {'Location': f'{self.url_base}/api/v3/command/{cid}'})
