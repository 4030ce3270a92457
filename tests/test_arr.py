"""Radarr/Sonarr clients (call shapes with `responses`), the contract, matching, destinations."""

import json
import os
import random
import re

import pytest
import requests
import responses
from responses import matchers

import stalkeer
from conftest import SHARED

CONTRACTS = SHARED / 'contracts'
KEY = 'k3y-0123456789abcdef'
RADARR = 'http://nas:7878/radarr'
SONARR = 'http://nas:8989'


def settings(section='radarr', url=RADARR, **kw):
    return stalkeer.ArrSettings(section=section, name=section.capitalize(), url=url, api_key=KEY,
                                path_map=kw.pop('path_map', []), rescan=True, **kw)


def client(section='radarr', **kw):
    cls = stalkeer.RadarrClient if section == 'radarr' else stalkeer.SonarrClient
    c = cls(settings(section, RADARR if section == 'radarr' else SONARR, **kw))
    c.sleep = lambda s: None
    return c


def movie(mid, title, year, **kw):
    base = {'id': mid, 'title': title, 'originalTitle': title, 'year': year,
            'path': f'/movies/{title} ({year})', 'monitored': True, 'hasFile': False,
            'isAvailable': True, 'tmdbId': 1000 + mid, 'alternateTitles': []}
    base.update(kw)
    return base


def page(records, total=None, page_no=1, size=250):
    return {'page': page_no, 'pageSize': size, 'sortKey': 'movieMetadata.sortTitle',
            'sortDirection': 'ascending', 'totalRecords': len(records) if total is None else total,
            'records': records}


# -- the contract ---------------------------------------------------------------------

@pytest.mark.parametrize('app', ['radarr', 'sonarr'])
def test_every_field_the_client_reads_is_in_the_openapi_document(app):
    doc = json.loads((CONTRACTS / f'{app}-openapi.json').read_text(encoding='utf-8'))
    schemas = doc['components']['schemas']
    for schema, fields in stalkeer.ARR_FIELDS_READ[app].items():
        assert schema in schemas, schema
        props = schemas[schema]['properties']
        for field in fields:
            assert field in props, f'{app} {schema}.{field} is not in the OpenAPI document'


def test_the_endpoints_and_parameters_exist_in_the_documents():
    radarr = json.loads((CONTRACTS / 'radarr-openapi.json').read_text(encoding='utf-8'))
    sonarr = json.loads((CONTRACTS / 'sonarr-openapi.json').read_text(encoding='utf-8'))

    def params(doc, path):
        return {p['name'] for p in doc['paths'][path]['get'].get('parameters', [])}
    assert {'page', 'pageSize', 'sortKey', 'sortDirection', 'monitored'} <= params(radarr, '/api/v3/wanted/missing')
    assert 'excludeLocalCovers' in params(radarr, '/api/v3/movie')
    assert {'page', 'pageSize', 'sortKey', 'sortDirection', 'includeSeries', 'monitored'} <= \
        params(sonarr, '/api/v3/wanted/missing')
    assert 'post' in radarr['paths']['/api/v3/command'] and 'post' in sonarr['paths']['/api/v3/command']
    assert '/api/v3/series' in sonarr['paths']
    assert 'seriesId' in params(sonarr, '/api/v3/episode')         # air dates an episode shares


# -- client call shapes -----------------------------------------------------------------

@responses.activate
def test_radarr_wanted_missing_is_paged_and_filtered():
    first = [movie(i, f'Film {i}', 2000) for i in range(1, 251)]
    second = [movie(251, 'Late', 2001), movie(252, 'Unreleased', 2030, isAvailable=False),
              movie(253, 'Has file', 2001, hasFile=True)]
    base_params = {'monitored': 'true', 'sortKey': 'movieMetadata.sortTitle',
                   'sortDirection': 'ascending', 'pageSize': '250'}
    for n, records in ((1, first), (2, second)):
        responses.get(f'{RADARR}/api/v3/wanted/missing', json=page(records, total=253, page_no=n),
                      match=[matchers.query_param_matcher(dict(base_params, page=str(n))),
                             matchers.header_matcher({'X-Api-Key': KEY})])
    movies = client().missing_movies()
    # Unreleased ones stay: the run counts them as "not available yet" (test_e2e_arr).
    assert len(movies) == 252 and [m['title'] for m in movies[-2:]] == ['Late', 'Unreleased']
    assert len(responses.calls) == 2


@responses.activate
def test_require_available_can_be_turned_off():
    responses.get(f'{RADARR}/api/v3/wanted/missing',
                  json=page([movie(1, 'Soon', 2030, isAvailable=False)]))
    assert client(require_available=False).missing_movies()[0]['title'] == 'Soon'


@responses.activate
def test_older_radarr_without_wanted_missing_reads_the_library():
    responses.get(f'{RADARR}/api/v3/wanted/missing', status=404)
    responses.get(f'{RADARR}/api/v3/movie', json=[
        movie(1, 'Missing', 2001), movie(2, 'Owned', 2001, hasFile=True),
        movie(3, 'Unmonitored', 2001, monitored=False), movie(4, 'Future', 2031, isAvailable=False)],
        match=[matchers.query_param_matcher({'excludeLocalCovers': 'true'})])
    assert [m['title'] for m in client().missing_movies()] == ['Missing', 'Future']


@responses.activate
def test_sonarr_missing_walks_pages_and_reads_series_once():
    eps = [{'id': i, 'seriesId': 7, 'seasonNumber': 1, 'episodeNumber': i, 'monitored': True,
            'hasFile': False, 'series': {'id': 7, 'title': 'Show'}} for i in range(1, 301)]
    for n in (1, 2):
        responses.get(f'{SONARR}/api/v3/wanted/missing',
                      json={'page': n, 'pageSize': 250, 'totalRecords': 300,
                            'records': eps[(n - 1) * 250:n * 250]},
                      match=[matchers.query_param_matcher({
                          'includeSeries': 'true', 'monitored': 'true', 'sortKey': 'airDateUtc',
                          'sortDirection': 'descending', 'page': str(n), 'pageSize': '250'})])
    responses.get(f'{SONARR}/api/v3/series', json=[{'id': 7, 'title': 'Show', 'path': '/tv/Show',
                                                   'seasonFolder': False, 'year': 2001}])
    result = client('sonarr').missing_episodes()
    assert len(result) == 300 and result[0]['series']['seasonFolder'] is False
    assert len([c for c in responses.calls if c.request.url.startswith(f'{SONARR}/api/v3/series')]) == 1


@responses.activate
def test_lookups_ask_by_term_and_refuse_what_is_not_a_list():
    responses.get(f'{RADARR}/api/v3/movie/lookup', json=[movie(1, 'Crash', 2004), {'title': 'Crash'}, 'x'],
                  match=[matchers.query_param_matcher({'term': 'Crash'}),
                         matchers.header_matcher({'X-Api-Key': KEY})])
    responses.get(f'{SONARR}/api/v3/series/lookup', json={'message': 'oops'},
                  match=[matchers.query_param_matcher({'term': 'The Flash'})])
    assert [m['title'] for m in client().lookup('Crash')] == ['Crash', 'Crash']
    with pytest.raises(stalkeer.ArrError, match='series/lookup with a JSON object where a list of records was expected'):
        client('sonarr').lookup('The Flash')


def test_the_lookup_endpoints_exist_in_the_documents():
    for app, path in (('radarr', '/api/v3/movie/lookup'), ('sonarr', '/api/v3/series/lookup')):
        doc = json.loads((CONTRACTS / f'{app}-openapi.json').read_text(encoding='utf-8'))
        assert [p['name'] for p in doc['paths'][path]['get']['parameters']] == ['term']


@responses.activate
def test_rescan_commands():
    responses.post(f'{RADARR}/api/v3/command', status=201, json={'id': 1, 'name': 'RescanMovie'},
                   match=[matchers.json_params_matcher({'name': 'RescanMovie', 'movieId': 5})])
    responses.post(f'{SONARR}/api/v3/command', status=201, json={'id': 2, 'name': 'RescanSeries'},
                   match=[matchers.json_params_matcher({'name': 'RescanSeries', 'seriesId': 7})])
    assert client().rescan(5) and client('sonarr').rescan(7)


@responses.activate
def test_a_failed_rescan_is_only_a_warning(caplog):
    responses.post(f'{RADARR}/api/v3/command', status=500)
    with caplog.at_level('WARNING', logger='stalkeer'):
        assert client().rescan(5) is False
    assert 'could not ask Radarr to RescanMovie' in caplog.text


@pytest.mark.parametrize('wait', ['answer', 'backoff'])
def test_a_worker_rescan_ends_at_the_runs_stop(wait):
    """A parallel download that completed asks Radarr to rescan from its worker
    thread, which hears no signal: an app that accepts and says nothing
    (60 s per read) or that is down (backoff between tries) kept a stopped
    run. Both end at the stop (the rescan stays pending in the database)."""
    import signal
    import socket
    import threading
    import time
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    if wait == 'answer':
        sock.listen(8)              # accepted by the kernel, never answered
    else:
        sock.close()                # refused at once: the client backs off
    c = stalkeer.RadarrClient(settings(url=f'http://127.0.0.1:{port}', timeout=60), backoff=30)
    outcome = []

    def rescan():
        try:
            outcome.append(c.rescan(5))
        except stalkeer.Interrupted as exc:
            outcome.append(exc)
    thread = threading.Thread(target=rescan)
    thread.start()
    try:
        time.sleep(0.4)
        assert thread.is_alive()
        sent = time.monotonic()
        stalkeer.RUN_STOP.request(signal.SIGTERM)
        thread.join(10)
        took = time.monotonic() - sent
    finally:
        stalkeer.RUN_STOP.clear()
        sock.close()
    assert took < 0.5 and isinstance(outcome[0], stalkeer.Interrupted) and outcome[0].exit_code == 143


@pytest.mark.parametrize('kwargs, message', [
    (dict(status=401), 'Radarr rejected the API key'),
    (dict(body='<html><body>Login</body></html>', content_type='text/html'), 'HTML page instead of JSON'),
    (dict(body='not json', content_type='application/json'), 'not JSON'),
    (dict(body=requests.exceptions.ConnectionError('Connection refused')), 'cannot reach Radarr at http://nas:7878/radarr'),
    (dict(status=503), 'answered HTTP 503'),
    (dict(status=403), 'answered HTTP 403'),
])
@responses.activate
def test_errors_are_one_clear_line(kwargs, message):
    responses.get(f'{RADARR}/api/v3/movie', **kwargs)
    with pytest.raises(stalkeer.ArrError) as err:
        client().library()
    assert message in str(err.value) and KEY not in str(err.value)
    assert '\n' not in str(err.value)


@responses.activate
def test_404_hints_at_the_url_base():
    responses.get(f'{RADARR}/api/v3/movie', status=404)
    with pytest.raises(stalkeer.ArrError, match='is the URL base right'):
        client().library()


@responses.activate
def test_5xx_is_retried():
    responses.get(f'{RADARR}/api/v3/movie', status=502)
    responses.get(f'{RADARR}/api/v3/movie', json=[movie(1, 'A', 2000)])
    assert client().library()[0]['title'] == 'A'


def test_missing_configuration_names_the_keys(cli, sqlite_url):
    code, out, err = cli('--db', sqlite_url, 'sonarr')
    assert code == 2 and '[sonarr] url and api_key' in err and 'STALKEER_SONARR_API_KEY' in err


# -- matching -------------------------------------------------------------------------------

MOVIE_LINES = [
    ('The Matrix (1999)', '1'), ('The Matrix Reloaded (2003)', '2'), ('Dune (1984)', '3'),
    ('Dune (2021) 4K', '4'), ('Aliens (1986)', '5'), ('Alien (1979)', '6'),
    ('Alien (1979) - Trailer', '7'), ('Amelie (2001)', '8'), ('Léon : The Professional (1994)', '9'),
    ('Fast and Furious (2009)', '10'), ('Rocky II (1979)', '11'), ('Spider Man No Way Home (2021)', '12'),
    ('Heat', '13'), ('Le Fabuleux Destin d’Amélie Poulain (2001)', '14'), ('Arrival (2017)', '15'),
    ('Taken', '16'), ('Matrix (FHD MULTI)', '17'), ('Mystery (2010)', '18'),
]


@pytest.fixture
def lines(db, tmp_path):
    text = '#EXTM3U\n'
    for title, n in MOVIE_LINES:
        tvg_id = ' tvg-id="tt0110413"' if n == '18' else ''
        text += f'#EXTINF:-1{tvg_id} tvg-name="{title}" group-title="Movies",{title}\n'
        text += f'http://h/movie/u/p/{n}.mkv\n'
    text += ('#EXTINF:-1 group-title="Séries",Doctor Who (2005) S01E02\nhttp://h/series/u/p/90.mkv\n'
             '#EXTINF:-1 group-title="Séries",Doctor Who (1963) S01E02\nhttp://h/series/u/p/91.mkv\n'
             '#EXTINF:-1 group-title="Séries",La Casa de Papel S02E03\nhttp://h/series/u/p/92.mkv\n'
             '#EXTINF:-1 group-title="Séries",Money Heist S02E04\nhttp://h/series/u/p/93.mkv\n')
    playlist = tmp_path / 'm.m3u'
    playlist.write_text(text, encoding='utf-8')
    stalkeer.PlaylistIngest(stalkeer.LineFilter()).run(str(playlist))


class Catalogue:
    """A stand-in for the apps' lookup: every film or series whose title holds the term."""
    name = 'Radarr'

    def __init__(self, items=()):
        self.items = list(items)
        self.terms = []

    def lookup(self, term):
        self.terms.append(term)
        key = stalkeer.match_key(term)
        return [x for x in self.items if key in stalkeer.TitleFacts.of_movie(x).keys
                or key in stalkeer.match_key(x.get('title') or '')]


def lookups(items=(), service='radarr', **kw):
    return stalkeer.TitleLookups(Catalogue(items), service, **dict(dict(write=False, use_cache=False), **kw))


def matched_urls(movies, library=None, world=None):
    library = library if library is not None else movies
    counter = lambda: __import__('collections').Counter(  # noqa: E731
        k for m in library for k in stalkeer.movie_keys(m)[1])
    result = stalkeer.match_movies(movies, counter, lookups(world if world is not None else movies))
    return {m['title']: sorted(line.url.rsplit('/', 1)[1] for line in result[m['id']].lines)
            for m in movies}


def test_movie_traps(lines):
    movies = [movie(1, 'The Matrix', 1999), movie(2, 'The Matrix Reloaded', 2003),
              movie(3, 'Dune', 2021), movie(4, 'Dune', 1984), movie(5, 'Alien', 1979),
              movie(6, 'Aliens', 1986), movie(7, 'Amélie', 2001), movie(8, 'Léon: The Professional', 1994),
              movie(9, 'Fast & Furious', 2009), movie(10, 'Rocky 2', 1979),
              movie(11, 'Spider-Man: No Way Home', 2021)]
    got = matched_urls(movies)
    assert got['The Matrix'] == ['1.mkv']                 # never the Reloaded line
    assert got['The Matrix Reloaded'] == ['2.mkv']
    assert got['Dune'] in (['4.mkv'], ['3.mkv'])
    by_id = stalkeer.match_movies(movies, lambda: __import__('collections').Counter())
    assert [line.year for line in by_id[3].lines] == [2021] and [line.year for line in by_id[4].lines] == [1984]
    assert got['Alien'] == ['6.mkv']                       # not Aliens, not the trailer
    assert got['Aliens'] == ['5.mkv']
    assert got['Amélie'] == ['8.mkv']                      # spelled 'Amelie': after a lookup
    assert got['Léon: The Professional'] == ['9.mkv']
    assert got['Fast & Furious'] == ['10.mkv']
    assert got['Rocky 2'] == ['11.mkv']                    # 'Rocky II': after a lookup
    assert got['Spider-Man: No Way Home'] == ['12.mkv']


def test_alternate_and_original_titles(lines):
    amelie = movie(1, 'Amélie', 2001, originalTitle='Le Fabuleux Destin d\'Amélie Poulain')
    got = matched_urls([amelie])
    assert got['Amélie'] == ['14.mkv', '8.mkv']
    alt = movie(2, 'Fabulous Destiny', 2001,
                alternateTitles=[{'title': 'Amelie', 'sourceType': 'tmdb', 'movieMetadataId': 2}])
    assert matched_urls([alt])['Fabulous Destiny'] == ['8.mkv']


def test_year_off_by_one_only_when_radarrs_dates_say_so(lines):
    # Arrival: the playlist says 2017, Radarr 2016 (festival vs release year).
    digital = movie(1, 'Arrival', 2016, inCinemas='2016-11-10T00:00:00Z',
                    digitalRelease='2017-02-14T00:00:00Z')
    assert matched_urls([digital])['Arrival'] == ['15.mkv']
    assert matched_urls([movie(1, 'Arrival', 2016, secondaryYear=2017)])['Arrival'] == ['15.mkv']
    # No date of Radarr's says 2017: a year off by one is another film until shown otherwise.
    assert matched_urls([movie(1, 'Arrival', 2016, inCinemas='2016-11-10T00:00:00Z')])['Arrival'] == []
    assert matched_urls([movie(2, 'Arrival', 2014)])['Arrival'] == []


def test_a_line_without_year_needs_a_title_unique_in_the_library_and_the_world(lines):
    heat = movie(1, 'Heat', 1995)
    assert matched_urls([heat])['Heat'] == ['13.mkv']
    other_heat = movie(2, 'Heat', 1986, hasFile=True)
    assert matched_urls([heat], library=[heat, other_heat])['Heat'] == []
    assert matched_urls([heat], world=[heat, other_heat])['Heat'] == []


def test_an_id_never_beats_a_title_that_disagrees(lines):
    # Line 18 is 'Mystery (2010)' with tvg-id tt0110413: the id alone is not the film.
    leon = movie(1, 'Some Other Title', 1994, imdbId='tt0110413')
    assert matched_urls([leon])['Some Other Title'] == []
    mystery = movie(1, 'Mystery', 2010, imdbId='tt0110413')
    assert matched_urls([mystery])['Mystery'] == ['18.mkv']


def test_trailer_allowed_when_radarr_title_says_so(lines):
    assert matched_urls([movie(1, 'Alien - Trailer', 1979)])['Alien - Trailer'] == []
    assert matched_urls([movie(1, 'Alien', 1979)])['Alien'] == ['6.mkv']


def test_episode_matching(lines):
    eps = [
        {'id': 1, 'seriesId': 1, 'seasonNumber': 1, 'episodeNumber': 2,
         'series': {'id': 1, 'title': 'Doctor Who (2005)', 'year': 2005}},
        {'id': 2, 'seriesId': 2, 'seasonNumber': 2, 'episodeNumber': 3,
         'series': {'id': 2, 'title': 'Money Heist', 'year': 2017,
                    'alternateTitles': [{'title': 'La Casa de Papel', 'seasonNumber': -1}]}},
        {'id': 3, 'seriesId': 2, 'seasonNumber': 2, 'episodeNumber': 4,
         'series': {'id': 2, 'title': 'Money Heist', 'year': 2017}},
        {'id': 4, 'seriesId': 2, 'seasonNumber': 2, 'episodeNumber': 5,
         'series': {'id': 2, 'title': 'Money Heist', 'year': 2017}},
    ]
    world = [eps[0]['series'], eps[1]['series'], {'id': 3, 'title': 'Doctor Who', 'year': 1963}]
    got = stalkeer.match_episodes(eps, lookups=lookups(world, service='sonarr'))
    assert [line.url for line in got[1].lines] == ['http://h/series/u/p/90.mkv']   # not the 1963 one
    assert [line.url for line in got[2].lines] == ['http://h/series/u/p/92.mkv']   # alternate title
    assert [line.url for line in got[3].lines] == ['http://h/series/u/p/93.mkv']
    assert got[4].lines == []


def test_quality_and_language_order():
    q = stalkeer.QualitySettings(['1080p', '720p', '2160p', '480p', None], ['FR', 'MULTI'], False)
    L = lambda i, res, langs: type('L', (), {'id': i, 'resolution': res, 'languages': langs})()  # noqa: E731
    lines = [L(1, '2160p', 'EN'), L(2, '720p', 'FR'), L(3, '1080p', 'EN'), L(4, '1080p', 'MULTI'),
             L(5, None, None), L(6, '1080p', 'FR')]
    assert [x.id for x in sorted(lines, key=q.rank)] == [6, 2, 4, 3, 1, 5]
    only = stalkeer.QualitySettings(['1080p'], ['FR'], True)
    assert [x.id for x in lines if only.allows(x)] == [2, 6]


def test_quality_config_errors(tmp_path):
    ini = tmp_path / 'q.ini'
    ini.write_text('[quality]\npreference = 1080p, 8K\n')
    with pytest.raises(stalkeer.ConfigError, match="unknown quality '8k'"):
        stalkeer.QualitySettings.from_config(stalkeer.Config(str(ini)))


# -- destinations ---------------------------------------------------------------------------

def test_movie_destination_with_path_map_and_sanitising():
    s = settings(path_map=stalkeer.parse_path_map('/movies=/mnt/nas/movies\n/movies/4k=/mnt/4k', 'radarr'))
    m = movie(1, 'Mission: Impossible / Fallout?', 2018, path='/movies/Mission Impossible (2018)')
    assert stalkeer.movie_destination(m, s) == '/mnt/nas/movies/Mission Impossible (2018)/Mission - Impossible Fallout (2018)'
    m4k = movie(2, 'Heat', 1995, path='/movies/4k/Heat (1995)')
    assert stalkeer.movie_destination(m4k, s) == '/mnt/4k/Heat (1995)/Heat (1995)'


def test_destination_never_leaves_the_item_folder():
    s = settings()
    evil = movie(1, '../../etc/passwd', None, path='/movies/x')
    dest = stalkeer.movie_destination(evil, s)
    assert dest.startswith('/movies/x/') and '..' not in dest.split('/movies/x/')[1].split('/')
    assert stalkeer.safe_component('...') == '_' and stalkeer.safe_component('Name. ') == 'Name'
    assert stalkeer.safe_component('a\x00b\x1fc<>|*"') == 'a b c'
    with pytest.raises(stalkeer.StalkeerError):
        stalkeer.contained_path('/movies/x', '..', 'y')


def _reference_component(text, suffix='', max_bytes=stalkeer.NAME_MAX_BYTES):
    """safe_component's general steps, without its fast path."""
    text = text.encode('utf-8', 'replace').decode('utf-8')
    text = stalkeer._UNSAFE_CHARS.sub(lambda m: ' -' if m.group() == ':' else ' ', text)
    text = re.sub(r'\s+', ' ', text).strip().rstrip('. ')
    if not text or set(text) <= {'.'}:
        text = '_'
    return (stalkeer.utf8_truncate(text, max_bytes - len(suffix.encode('utf-8'))).rstrip('. ') or '_') + suffix


def _reference_contained(folder, *components):
    folder = os.path.normpath(folder)
    path = os.path.normpath(os.path.join(folder, *components))
    if os.path.commonpath([folder, path]) != folder or path == folder:
        raise stalkeer.DestinationError(f'refusing a destination outside {folder}: {path}')
    return path


def _outcome(fn, *args):
    try:
        return fn(*args)
    except (stalkeer.DestinationError, ValueError) as exc:
        return type(exc), str(exc)


def test_the_fast_paths_of_destinations_decide_as_the_general_ones():
    """safe_component and contained_path skip their general steps when the
    answer is sure (issue 15); random names and folders over the characters that
    matter must give what the general steps give."""
    rng = random.Random(15)
    alphabet = 'aZ09 .:/\\*?"<>|\t\x00\x1f\x7f-_()!~éÜ\u00a0\u2003\ud800\u202e'
    names = ['Heat', 'Heat.', 'Heat ', ' Heat', 'A  B', '...', '', 'x' * 300, 'é' * 130, 'Se7en',
             "Ocean's Eleven", 'Amélie', 'a.b.c', 'AC/DC', '[REC]', '{x}', '@ ^ ` ~ =']
    names += [''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    for name in names:
        for suffix, max_bytes in (('', 255), (' (1995)', 250), (' - S01E02', 40), ('', 3)):
            assert stalkeer.safe_component(name, suffix, max_bytes) == \
                _reference_component(name, suffix, max_bytes), (name, suffix, max_bytes)
    folders = ['/', '//', '//nas/m', '/movies', '/movies/', 'rel', '.', '..', '../up', '', '/a/./b', '/a/../b']
    parts = ['x', '..', '.', '', '/abs', 'a/../..', 'x/y', '...', '../movies/x']
    for folder in folders:
        for part in parts:
            for more in ((), ('z',), ('..', '..')):
                assert _outcome(stalkeer.contained_path, folder, part, *more) == \
                    _outcome(_reference_contained, folder, part, *more), (folder, part, more)


def test_movie_destination_fallback_to_movies_path():
    s = settings(library_path='/srv/movies')
    m = movie(1, 'Heat', 1995)
    del m['path']
    assert stalkeer.movie_destination(m, s) == '/srv/movies/Heat (1995)/Heat (1995)'
    with pytest.raises(stalkeer.StalkeerError, match='movies_path'):
        stalkeer.movie_destination(m, settings())


def test_episode_destination_season_folders():
    s = settings('sonarr', SONARR, path_map=[('/tv', '/mnt/tv')])
    ep = {'seriesId': 1, 'seasonNumber': 2, 'episodeNumber': 5,
          'series': {'title': 'Band of Brothers: L’Enfer', 'path': '/tv/Band of Brothers', 'seasonFolder': True}}
    assert stalkeer.episode_destination(ep, s) == \
        '/mnt/tv/Band of Brothers/Season 02/Band of Brothers - L’Enfer - S02E05'
    ep['series']['seasonFolder'] = False
    assert stalkeer.episode_destination(ep, s) == '/mnt/tv/Band of Brothers/Band of Brothers - L’Enfer - S02E05'


def test_path_map_errors():
    with pytest.raises(stalkeer.ConfigError, match='REMOTE=LOCAL'):
        stalkeer.parse_path_map('/movies', 'radarr')


# -- query plans (issue 15: the tvg_id lookup scanned every movie line) ---------------------------

def _plan(db, query) -> str:
    sql, params = query
    if stalkeer.is_postgres(db):
        return '\n'.join(r[0] for r in db.execute_sql('EXPLAIN ' + sql, params).fetchall())
    return '\n'.join(str(r[-1]) for r in db.execute_sql('EXPLAIN QUERY PLAN ' + sql, params).fetchall())


def test_matching_lookups_use_their_indexes(db, tmp_path):
    playlist = tmp_path / 'big.m3u'
    with open(playlist, 'w', encoding='utf-8') as fh:
        fh.write('#EXTM3U\n')
        for i in range(3000):
            kind = ('movie', 'series')[i % 2]
            title = f'Film {i} ({1950 + i % 70})' if kind == 'movie' else f'Show {i} S01E{i % 20 + 1:02d}'
            fh.write(f'#EXTINF:-1 tvg-id="tt{1000000 + i}",{title}\nhttp://h/{kind}/u/p/{i}.mkv\n')
    stalkeer.PlaylistIngest(stalkeer.LineFilter()).run(str(playlist))
    db.execute_sql('ANALYZE')
    by_id = _plan(db, stalkeer.line_query('tvg_id', ['tt1000001', 'tt1000002']))
    by_key = _plan(db, stalkeer.line_query('match_key', ['film 1', 'film 2'], 'movies'))
    by_alt = _plan(db, stalkeer.line_query('alt_key', ['film 1 1950', 'film 2'], 'movies'))
    assert 'processed_lines_tvg_id' in by_id, by_id
    assert 'processed_lines_content_type_match_key' in by_key, by_key
    assert 'processed_lines_content_type_alt_key' in by_alt, by_alt
    # The shape of the old tvg_id query, for the record: with the type in the WHERE the
    # planner may take the (content_type, match_key) index and scan every movie line.
    got = stalkeer._lines_by_tvg_id('movies', ['tt1000002', 'tt1000003'])
    assert set(got) == {'tt1000002'} and got['tt1000002'][0].content_type == 'movies'


def test_lookup_answers_are_kept_for_their_age_and_then_asked_again(db):
    crash = [movie(1, 'Crash', 2004), movie(2, 'Crash', 1996)]
    first = lookups(crash, use_cache=True, write=True)
    assert [f.year for f in first.get('crash', 'Crash')] == [2004, 1996]
    again = lookups([], use_cache=True)                          # knows nothing: must not be asked
    assert [f.label for f in again.get('crash', 'Crash')] == ['Crash (2004)', 'Crash (1996)']
    assert again.client.terms == [] and again.requests == 0
    stalkeer.ArrLookup.update(looked_up_at=stalkeer.utcnow() - __import__('datetime').timedelta(days=31)).execute()
    stale = lookups([], use_cache=True)
    assert stale.get('crash', 'Crash') == [] and stale.client.terms == ['Crash']
    assert stalkeer.ArrLookup.select().count() == 1              # not written (write=False), not doubled


def test_path_map_maps_windows_paths():
    pm = stalkeer.parse_path_map('D:\\Movies=/mnt/movies\n\\\\nas\\media=/mnt/media\n/data=/srv/data',
                                 'radarr')
    assert stalkeer.map_path('D:\\Movies\\Heat (1995)', pm) == '/mnt/movies/Heat (1995)'
    assert stalkeer.map_path('d:/movies/Heat (1995)', pm) == '/mnt/movies/Heat (1995)'   # case, slashes
    assert stalkeer.map_path('D:\\MOVIES\\Heat (1995)\\', pm) == '/mnt/movies/Heat (1995)'
    assert stalkeer.map_path('\\\\nas\\media\\Movies\\Heat', pm) == '/mnt/media/Movies/Heat'
    assert stalkeer.map_path('\\\\NAS\\Media\\Movies\\Heat', pm) == '/mnt/media/Movies/Heat'
    assert stalkeer.map_path('D:\\Moviesque\\X', pm) == 'D:\\Moviesque\\X'       # not a prefix
    assert stalkeer.map_path('/data/x', pm) == '/srv/data/x'
    assert stalkeer.map_path('/DATA/x', pm) == '/DATA/x'                          # POSIX: case counts


@pytest.mark.parametrize('path, needle', [
    ('E:\\Other\\Heat (1995)', 'not a path on this machine'),
    ('\\\\other\\share\\Heat (1995)', 'not a path on this machine'),
    ('movies/Heat (1995)', 'not an absolute path'),
    ('/movies/../../etc/Heat (1995)', '..'),
    ('/movies/./Heat (1995)', '..'),
    ('D:\\Movies\\..\\..\\Heat', '..'),
    (['/movies/x'], 'no usable folder'),
])
def test_a_destination_outside_the_library_fails_that_item(path, needle):
    s = settings(path_map=stalkeer.parse_path_map('D:\\Movies=/mnt/movies\n/movies=/mnt/movies', 'radarr'))
    m = movie(1, 'Heat', 1995, path=path)
    with pytest.raises(stalkeer.DestinationError, match=re.escape(needle)):
        stalkeer.movie_destination(m, s)


def test_names_are_cut_by_bytes_and_keep_their_suffix():
    title = 'é' * 180                                     # 360 bytes of UTF-8
    s = settings(path_map=[('/movies', '/mnt/movies')])
    dest = stalkeer.movie_destination(movie(1, title, 1995, path='/movies/x'), s)
    name = os.path.basename(dest)
    assert len(name.encode('utf-8')) + len('.m2ts') <= 255
    assert name.endswith('é (1995)') and name.encode('utf-8').decode('utf-8') == name
    ep = {'seriesId': 1, 'seasonNumber': 1, 'episodeNumber': 2,
          'series': {'title': '日本語' * 40, 'path': '/tv/x', 'seasonFolder': True}}
    name = os.path.basename(stalkeer.episode_destination(ep, settings('sonarr', SONARR)))
    assert len(name.encode('utf-8')) <= 250 and name.endswith(' - S01E02')
    s = settings(library_path='/srv/movies')
    folder = os.path.dirname(stalkeer.movie_destination(movie(2, title, None, path=None), s))
    assert len(os.path.basename(folder).encode('utf-8')) <= 255
    # A cut never splits a character, whatever its length in bytes.
    for text in ('a' + '€' * 100, '😀' * 100, 'x' * 300):
        for limit in range(1, 12):
            cut = stalkeer.utf8_truncate(text, limit)
            assert len(cut.encode('utf-8')) <= limit and text.startswith(cut)


@pytest.mark.parametrize('url, name', [
    ('http://h/movie/u/p/1.mkv', '1.mkv'),
    ('http://h/movie/u/p/..', 'download'),
    ('http://h/movie/u/p/%2E%2E', 'download'),
    ('http://h/movie/u/p/.', 'download'),
    ('http://h/', 'download'),
    ('http://h/a/b%2F..%2Fc.mkv', 'b ..  c.mkv'),
    ('http://[::1/x.mkv', 'download'),
])
def test_file_names_from_urls_never_leave_the_folder(url, name):
    got = stalkeer.url_file_name(url)
    assert got == name or (name == 'b ..  c.mkv' and '/' not in got and got.endswith('.mkv'))
    assert got not in ('.', '..') and '/' not in got


def test_already_downloaded_held_and_gave_up_are_found_in_one_query_per_900(db, tmp_path):
    """ArrRun.skip_reasons on both engines: peewee writes its query once and the
    IN lists are written by hand (issue 15); more ids than one list holds, rows
    of another service ignored, the first row that decides wins (id order)."""
    DI = stalkeer.DownloadInfo
    done = tmp_path / 'done.mkv'
    done.write_bytes(b'x')
    rows = [dict(service_item_id=5, status='completed', download_path=str(tmp_path / 'gone.mkv')),
            dict(service_item_id=5, status='completed', download_path=str(done)),
            dict(service_item_id=1200, status='failed', retry_count=5,
                 error_message=f'HTTP 404: {stalkeer.PERMANENT_MARK.upper()}'),
            # Put back by `retry ID`: the last error (and its mark) stays as history.
            dict(service_item_id=1201, status='pending', retry_count=0,
                 error_message=stalkeer.PERMANENT_MARK),
            dict(service_item_id=1500, status='downloading', locked_by='other-host-1'),
            dict(service_item_id=7, status='completed', download_path=str(done), service='sonarr'),
            # Retries used up (max_retry_attempts = 5), failed or paused since: what
            # resume-downloads does not resume is skipped too; one retry left is not.
            dict(service_item_id=1300, status='failed', retry_count=5, error_message='HTTP 404'),
            dict(service_item_id=1301, status='paused', retry_count=6),
            dict(service_item_id=1302, status='failed', retry_count=4, error_message='HTTP 404'),
            # A multi-episode file's download: its further episode (1901) is found
            # through DownloadItem, with the same verdict.
            dict(service_item_id=1900, status='failed', retry_count=5, error_message='HTTP 503')]
    for n, row in enumerate(rows):
        DI.create(**{'url': f'http://h/{n}', 'destination': f'{tmp_path}/d{n}', 'service': 'radarr',
                     **row})
    DI.update(locked_at=stalkeer.db_now()).where(DI.locked_by == 'other-host-1').execute()   # a live lease
    stalkeer.link_items(DI.get(DI.service_item_id == 1900).id, 'radarr', [1901])
    run = object.__new__(stalkeer.ArrRun)
    run.service = 'radarr'
    run.args = type('Args', (), {'force': False})()
    run.workers = type('Workers', (), {'owner': 'me'})()
    run.state = stalkeer.StateManager(max_retry_attempts=5)
    run.gave_up_ids = []
    items = [stalkeer.WantedItem('radarr', i, None, f'item {i}', '') for i in range(1, 2001)
             if i not in (1900, 1901)]
    items.append(stalkeer.WantedItem('radarr', 1901, None, 'item 1901', '', item_ids=(1901, 1902)))
    reasons = run.skip_reasons(items)
    assert set(reasons) == {5, 1200, 1300, 1301, 1500, 1901}
    assert reasons[1300] == (stalkeer.SKIP_RETRIES_USED_UP, 'gave up after 5 retries — run `stalkeer retry 7`')
    assert reasons[1301][0] == reasons[1901][0] == stalkeer.SKIP_RETRIES_USED_UP
    assert 'run `stalkeer retry 10`' in reasons[1901][1]
    assert reasons[5] == (stalkeer.SKIP_DONE, str(done))
    assert reasons[1200][0] == stalkeer.SKIP_NEEDS_ATTENTION and 'download #3 gave up' in reasons[1200][1]
    assert reasons[1500] == (stalkeer.SKIP_HELD, 'being downloaded by other-host-1')
    # The downloads the run names after its summary as gave up (run_arr).
    assert sorted(run.gave_up_ids) == [3, 7, 8, 10], run.gave_up_ids
    run.args.force = True
    assert set(run.skip_reasons(items)) == {1200, 1300, 1301, 1500, 1901}
