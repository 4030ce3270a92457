"""Tests for tests/fakearr.py: its JSON shapes against the upstream OpenAPI
documents (Radarr v5.28, Sonarr v4.0.19) and its routing, auth, paging and
fault injection."""

import datetime as dt
import json
import os
import re
import socket
import struct
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(__file__))
from fakearr import FakeArr  # noqa: E402

CONTRACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared',
                         'contracts')


def load_doc(kind):
    path = os.path.join(CONTRACTS, f'{kind}-openapi.json')
    if not os.path.exists(path):
        pytest.skip(f'{path} not found')
    with open(path, encoding='utf-8') as fh:
        return json.load(fh)


@pytest.fixture(scope='module')
def radarr_doc():
    return load_doc('radarr')


@pytest.fixture(scope='module')
def sonarr_doc():
    return load_doc('sonarr')


# -- schema checking --------------------------------------------------------------------

_DATE_TIME = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$')


def _resolve(doc, schema):
    seen = 0
    while '$ref' in schema:
        ref = schema['$ref']
        assert ref.startswith('#/'), f'external $ref {ref!r} not supported'
        node = doc
        for part in ref[2:].split('/'):
            node = node[part]
        schema = node
        seen += 1
        assert seen < 50, f'$ref loop at {ref}'
    if 'allOf' in schema and len(schema['allOf']) == 1:
        return _resolve(doc, schema['allOf'][0])
    return schema


def _check(doc, schema, value, where):
    schema = _resolve(doc, schema)
    assert value is not None, f'{where}: null value (the apps omit null fields)'
    kind = schema.get('type')
    if kind == 'integer':
        assert isinstance(value, int) and not isinstance(value, bool), \
            f'{where}: expected integer, got {value!r}'
        if schema.get('format') == 'int32':
            assert -2**31 <= value < 2**31, f'{where}: {value} out of int32 range'
    elif kind == 'number':
        assert isinstance(value, (int, float)) and not isinstance(value, bool), \
            f'{where}: expected number, got {value!r}'
    elif kind == 'string':
        assert isinstance(value, str), f'{where}: expected string, got {value!r}'
        if 'enum' in schema:
            assert value in schema['enum'], f'{where}: {value!r} not in {schema["enum"]}'
        if schema.get('format') == 'date-time':
            assert _DATE_TIME.match(value), f'{where}: {value!r} is not an ISO date-time'
    elif kind == 'boolean':
        assert isinstance(value, bool), f'{where}: expected boolean, got {value!r}'
    elif kind == 'array':
        assert isinstance(value, list), f'{where}: expected array, got {value!r}'
        if schema.get('uniqueItems'):
            assert len(set(map(json.dumps, value))) == len(value), f'{where}: duplicate items'
        for i, item in enumerate(value):
            _check(doc, schema.get('items', {}), item, f'{where}[{i}]')
    elif kind == 'object' or 'properties' in schema:
        assert isinstance(value, dict), f'{where}: expected object, got {value!r}'
        props = schema.get('properties', {})
        extra = schema.get('additionalProperties', True)
        for key, item in value.items():
            if key in props:
                _check(doc, props[key], item, f'{where}.{key}')
            elif isinstance(extra, dict):        # a map: values follow that schema
                _check(doc, extra, item, f'{where}.{key}')
            else:
                assert not props and extra is not False, \
                    f'{where}: key {key!r} is not a property of the schema ' \
                    f'(known: {sorted(props)})'


def assert_matches_schema(doc, schema_name, obj):
    """Assert every key of `obj` (recursively, through $refs, nested objects
    and arrays) is a property of components/schemas/`schema_name` and every
    value has the declared type.  Missing properties are fine."""
    schemas = doc['components']['schemas']
    assert schema_name in schemas, f'no schema {schema_name!r} in {doc["info"]["title"]}'
    _check(doc, {'$ref': f'#/components/schemas/{schema_name}'}, obj, schema_name)


def test_assert_matches_schema_catches_mistakes(radarr_doc):
    assert_matches_schema(radarr_doc, 'AlternativeTitleResource',
                          {'id': 1, 'sourceType': 'tmdb', 'title': 't'})
    bad = [
        {'id': 1, 'seasonNumber': -1},                    # Sonarr's field, not Radarr's
        {'id': '1'},                                      # wrong type
        {'id': True},                                     # bool is not an integer
        {'sourceType': 'imdb'},                           # not in the enum
        {'title': None},                                  # nulls are omitted
    ]
    for obj in bad:
        with pytest.raises(AssertionError):
            assert_matches_schema(radarr_doc, 'AlternativeTitleResource', obj)
    with pytest.raises(AssertionError):   # nested through $ref array items
        assert_matches_schema(radarr_doc, 'MovieResource',
                              {'alternateTitles': [{'movieId': 3}]})
    with pytest.raises(AssertionError):
        assert_matches_schema(radarr_doc, 'MovieResource', {'added': '2024-01-01'})


# -- helpers -------------------------------------------------------------------------------

def get(arr, path, key=True, **params):
    headers = {'X-Api-Key': arr.api_key} if key is True else ({'X-Api-Key': key} if key else {})
    return requests.get(arr.base_url + path, headers=headers, params=params, timeout=5)


def post(arr, path, payload, **kw):
    data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return requests.post(arr.base_url + path, data=data, timeout=5,
                         headers={'X-Api-Key': arr.api_key,
                                  'Content-Type': 'application/json'}, **kw)


def ok_json(resp, status=200):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers['Content-Type'] == 'application/json; charset=utf-8'
    return resp.json()


def no_nulls(value, where='$'):
    if isinstance(value, dict):
        for k, v in value.items():
            no_nulls(v, f'{where}.{k}')
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_nulls(v, f'{where}[{i}]')
    else:
        assert value is not None, f'{where} is null'


@pytest.fixture
def radarr():
    with FakeArr('radarr') as arr:
        yield arr


@pytest.fixture
def sonarr():
    with FakeArr('sonarr') as arr:
        yield arr


def _check_command(doc, arr, payload):
    resp = post(arr, '/api/v3/command', payload)
    cmd = ok_json(resp, 201)
    body = cmd['body']
    for key, value in payload.items():           # the posted object is echoed back
        assert body[key] == value
    # The documents model `body` as the base Command only; command-specific
    # fields (movieId, seriesId, ...) are not in any schema.
    command_props = doc['components']['schemas']['Command']['properties']
    cmd_checked = dict(cmd, body={k: v for k, v in body.items()
                                  if k in command_props or k not in payload})
    assert_matches_schema(doc, 'CommandResource', cmd_checked)
    assert cmd['name'] == payload['name'] and cmd['status'] == 'queued'
    assert cmd['trigger'] == 'manual'
    return cmd


# -- shapes against the OpenAPI documents -----------------------------------------------

def test_radarr_shapes_match_openapi(radarr, radarr_doc):
    radarr.add_movie('The Dark Knight', 2008, imdb_id='tt0468569', tmdb_id=155,
                     alternate_titles=('Batman: The Dark Knight', 'Le Chevalier noir'))
    radarr.add_movie('Amélie', 2001, original_title="Le Fabuleux Destin d'Amélie Poulain",
                     has_file=True)
    radarr.add_movie('Dune: Part Three', 2027, is_available=False, monitored=False)

    movies = ok_json(get(radarr, '/api/v3/movie', excludeLocalCovers='true'))
    assert [m['title'] for m in movies] == ['The Dark Knight', 'Amélie', 'Dune: Part Three']
    for movie in movies:
        assert_matches_schema(radarr_doc, 'MovieResource', movie)
        for alt in movie['alternateTitles']:
            assert_matches_schema(radarr_doc, 'AlternativeTitleResource', alt)
        no_nulls(movie)
    dark, amelie, dune = movies
    assert dark['imdbId'] == 'tt0468569' and dark['tmdbId'] == 155
    assert 'imdbId' not in amelie                                # null -> omitted
    assert dark['alternateTitles'][0] == {
        'id': 1, 'sourceType': 'tmdb', 'movieMetadataId': 1,
        'title': 'Batman: The Dark Knight', 'cleanTitle': 'batmandarkknight'}
    assert dark['path'] == '/movies/The Dark Knight (2008)' and dark['sortTitle'] == 'dark knight'
    assert amelie['originalTitle'].startswith('Le Fabuleux') and amelie['hasFile'] is True
    assert amelie['movieFileId'] and amelie['movieFile']['movieId'] == amelie['id']
    assert dune['status'] == 'announced' and dune['isAvailable'] is False
    assert 'digitalRelease' not in dune

    paging = ok_json(get(radarr, '/api/v3/wanted/missing', monitored='false'))
    assert_matches_schema(radarr_doc, 'MovieResourcePagingResource', paging)
    assert [m['title'] for m in paging['records']] == ['Dune: Part Three']

    status = ok_json(get(radarr, '/api/v3/system/status'))
    assert_matches_schema(radarr_doc, 'SystemResource', status)
    assert status['appName'] == 'Radarr' and status['version'] == '5.28.0.10274'
    assert status['isProduction'] is True and status['urlBase'] == ''

    info = ok_json(get(radarr, '/api'))
    assert info == {'current': 'v3', 'deprecated': []}
    assert_matches_schema(radarr_doc, 'ApiInfoResource', info)

    _check_command(radarr_doc, radarr, {'name': 'RescanMovie', 'movieId': 3})


def test_sonarr_shapes_match_openapi(sonarr, sonarr_doc):
    office = sonarr.add_series('The Office (US)', 2005, imdb_id='tt0386676', tvdb_id=73244,
                               alternate_titles=('The Office',))
    other = sonarr.add_series('Shōgun', 2024, season_folder=False)
    sonarr.add_episode(office['id'], 1, 1, title='Pilot', has_file=True)
    sonarr.add_episode(office['id'], 1, 2, absoluteEpisodeNumber=2)
    sonarr.add_episode(office['id'], 2, 1)
    sonarr.add_episode(other['id'], 1, 1,
                       air_date_utc=dt.datetime(2024, 2, 27, 2, tzinfo=dt.timezone.utc))

    series = ok_json(get(sonarr, '/api/v3/series'))
    assert [s['title'] for s in series] == ['The Office (US)', 'Shōgun']
    for s in series:
        assert_matches_schema(sonarr_doc, 'SeriesResource', s)
        for alt in s['alternateTitles']:
            assert_matches_schema(sonarr_doc, 'AlternateTitleResource', alt)
        no_nulls(s)
    first = series[0]
    assert first['alternateTitles'] == [{'title': 'The Office', 'seasonNumber': -1}]
    assert first['tvdbId'] == 73244 and first['imdbId'] == 'tt0386676'
    assert first['path'] == '/tv/The Office (US)' and first['seasonFolder'] is True
    assert [s['seasonNumber'] for s in first['seasons']] == [1, 2]
    assert first['statistics']['totalEpisodeCount'] == 3
    assert first['statistics']['episodeFileCount'] == 1
    assert series[1]['seasonFolder'] is False and 'imdbId' not in series[1]
    assert series[1]['tvdbId'] == 5000 + series[1]['id']

    one = ok_json(get(sonarr, f'/api/v3/series/{other["id"]}'))
    assert_matches_schema(sonarr_doc, 'SeriesResource', one)
    assert one['title'] == 'Shōgun'

    paging = ok_json(get(sonarr, '/api/v3/wanted/missing', includeSeries='true', pageSize=50))
    assert_matches_schema(sonarr_doc, 'EpisodeResourcePagingResource', paging)
    no_nulls(paging)
    assert paging['totalRecords'] == 3
    for ep in paging['records']:
        assert_matches_schema(sonarr_doc, 'EpisodeResource', ep)
        assert ep['series']['id'] == ep['seriesId']
        assert_matches_schema(sonarr_doc, 'SeriesResource', ep['series'])
    ep = paging['records'][0]
    assert ep['absoluteEpisodeNumber'] == 2 and ep['unverifiedSceneNumbering'] is False
    assert ep['episodeFileId'] == 0 and ep['airDate'] == ep['airDateUtc'][:10]
    assert paging['records'][2]['airDateUtc'] == '2024-02-27T02:00:00Z'
    assert 'series' not in sonarr.episodes[0]                    # stored without series

    plain = ok_json(get(sonarr, '/api/v3/wanted/missing'))
    assert all('series' not in r for r in plain['records'])

    status = ok_json(get(sonarr, '/api/v3/system/status'))
    assert_matches_schema(sonarr_doc, 'SystemResource', status)
    assert status['appName'] == 'Sonarr' and status['version'] == '4.0.19.2979'

    cmd = _check_command(sonarr_doc, sonarr, {'name': 'RescanSeries', 'seriesId': 2})
    assert cmd['commandName'] == 'Rescan Series'
    assert 'isTypeExclusive' not in cmd['body']                  # Radarr-only field


def test_lookup_answers_the_library_and_the_world_in_openapi_shapes(radarr, sonarr, radarr_doc,
                                                                   sonarr_doc):
    own = radarr.add_movie('Crash', 2004, runtime=112, secondaryYear=2005)
    radarr.add_world_movie('Crash', 1996, runtime=100, tmdb_id=884)
    radarr.add_world_movie('Crash Landing', 2020)
    radarr.add_movie('Heat', 1995)
    found = ok_json(get(radarr, '/api/v3/movie/lookup', term='Crash'))
    assert [(m['title'], m['year']) for m in found] == [('Crash', 2004), ('Crash', 1996),
                                                        ('Crash Landing', 2020)]
    for movie in found:
        assert_matches_schema(radarr_doc, 'MovieResource', movie)
        no_nulls(movie)
    assert found[0]['id'] == own['id'] and found[0]['secondaryYear'] == 2005
    assert 'id' not in found[1] and 'path' not in found[1] and found[1]['tmdbId'] == 884
    assert ok_json(get(radarr, '/api/v3/movie/lookup', term='Nothing Like It')) == []
    assert [m['title'] for m in ok_json(get(radarr, '/api/v3/movie'))] == ['Crash', 'Heat']

    flash = sonarr.add_series('The Flash (2014)', 2014, seriesType='standard')
    sonarr.add_episode(flash['id'], 1, 1)
    sonarr.add_world_series('The Flash', 1990, seasons=(1,), network='CBS')
    sonarr.add_world_series('One Piece', 1999, seasons=range(1, 22), seriesType='anime')
    found = ok_json(get(sonarr, '/api/v3/series/lookup', term='the flash'))
    assert [(s['title'], s['year']) for s in found] == [('The Flash (2014)', 2014), ('The Flash', 1990)]
    for series in found:
        assert_matches_schema(sonarr_doc, 'SeriesResource', series)
        no_nulls(series)
    assert found[0]['statistics']['totalEpisodeCount'] == 1
    assert [s['seasonNumber'] for s in found[1]['seasons']] == [1] and 'id' not in found[1]
    anime = ok_json(get(sonarr, '/api/v3/series/lookup', term='One Piece'))[0]
    assert anime['seriesType'] == 'anime' and len(anime['seasons']) == 21


def test_extra_fields_and_null_removal(radarr):
    movie = radarr.add_movie('Heat', 1995, runtime=170, certification=None)
    assert movie['runtime'] == 170 and 'certification' not in movie
    assert movie['tmdbId'] == 1001 and movie['titleSlug'] == '1001'


# -- auth, routing --------------------------------------------------------------------------

def test_auth(radarr):
    assert radarr.base_url.startswith('http://127.0.0.1:')
    assert radarr._server.server_address[0] == '127.0.0.1'
    for resp in (get(radarr, '/api/v3/movie', key=None),
                 get(radarr, '/api/v3/movie', key='wrong'),
                 requests.get(radarr.base_url + '/api/v3/movie', params={'apikey': 'wrong'},
                              timeout=5),
                 get(radarr, '/api', key=None),
                 get(radarr, '/api/v3/nonexistent', key=None)):
        assert resp.status_code == 401 and resp.content == b''
    assert get(radarr, '/api/v3/movie').status_code == 200
    resp = requests.get(radarr.base_url + '/api/v3/movie', params={'apikey': radarr.api_key},
                        timeout=5)
    assert resp.status_code == 200 and resp.json() == []
    assert [(r['method'], r['path'], r['api_key']) for r in radarr.requests] == [
        ('GET', '/api/v3/movie', None), ('GET', '/api/v3/movie', 'wrong'),
        ('GET', '/api/v3/movie', 'wrong'), ('GET', '/api', None),
        ('GET', '/api/v3/nonexistent', None), ('GET', '/api/v3/movie', radarr.api_key),
        ('GET', '/api/v3/movie', radarr.api_key)]
    assert radarr.requests[-1]['query'] == {'apikey': radarr.api_key}


def test_unknown_routes_are_404(radarr, sonarr):
    for arr, path in ((radarr, '/api/v3/series'), (radarr, '/api/v3/nope'),
                      (sonarr, '/api/v3/movie'), (sonarr, '/api/v3/series/99'),
                      (radarr, '/not-api')):
        assert ok_json(get(arr, path), 404) == {'message': 'NotFound'}


def test_url_base():
    with FakeArr('radarr', url_base='/radarr', api_key='other') as arr:
        arr.add_movie('Alien', 1979)
        assert arr.base_url.endswith('/radarr') and arr.api_key == 'other'
        assert len(ok_json(get(arr, '/api/v3/movie'))) == 1
        root = arr.base_url[:-len('/radarr')]
        resp = requests.get(root + '/api/v3/movie', headers={'X-Api-Key': 'other'}, timeout=5)
        assert resp.status_code == 404
        assert ok_json(get(arr, '/api/v3/system/status'))['urlBase'] == '/radarr'
        assert arr.requests[0]['path'] == '/api/v3/movie'
        assert arr.requests[1]['path'] == '/api/v3/movie'      # outside the base: raw path
        assert ok_json(get(arr, '/api')) == {'current': 'v3', 'deprecated': []}


# -- paging, sorting, filtering --------------------------------------------------------------

def test_radarr_wanted_missing_paging_and_filters(radarr):
    for i in range(23):
        radarr.add_movie(f'Movie {i:02d}', 1990 + i % 7)
    radarr.add_movie('Has File', 2000, has_file=True)
    radarr.add_movie('Unmonitored', 2000, monitored=False)
    radarr.add_movie('Not Yet', 2030, is_available=False)

    first = ok_json(get(radarr, '/api/v3/wanted/missing'))
    assert (first['page'], first['pageSize'], first['totalRecords']) == (1, 10, 24)
    assert first['sortDirection'] == 'default' and 'sortKey' not in first
    assert [m['id'] for m in first['records']] == list(range(1, 11))

    seen = []
    for page in (1, 2, 3):
        data = ok_json(get(radarr, '/api/v3/wanted/missing', page=page, pageSize=10,
                           sortKey='title', sortDirection='ascending'))
        assert data['sortKey'] == 'title' and data['sortDirection'] == 'ascending'
        seen += [m['title'] for m in data['records']]
    assert len(seen) == 24 and seen == sorted(seen, key=str.lower)
    assert 'Not Yet' in seen                      # isAvailable is not filtered
    assert 'Has File' not in seen and 'Unmonitored' not in seen
    empty = ok_json(get(radarr, '/api/v3/wanted/missing', page=4))
    assert empty['records'] == [] and empty['totalRecords'] == 24

    by_year = ok_json(get(radarr, '/api/v3/wanted/missing', pageSize=100, sortKey='year',
                          sortDirection='descending'))['records']
    years = [m['year'] for m in by_year]
    assert years == sorted(years, reverse=True) and years[0] == 2030
    meta = ok_json(get(radarr, '/api/v3/wanted/missing', pageSize=100,
                       sortKey='movieMetadata.sortTitle'))['records']
    assert [m['sortTitle'] for m in meta] == sorted(m['sortTitle'] for m in meta)
    digital = ok_json(get(radarr, '/api/v3/wanted/missing', pageSize=100,
                          sortKey='digitalRelease'))['records']
    assert digital[0]['title'] == 'Not Yet'       # no digitalRelease: first, like SQLite
    dates = [m['digitalRelease'] for m in digital[1:]]
    assert dates == sorted(dates)
    cinemas = ok_json(get(radarr, '/api/v3/wanted/missing', pageSize=100, sortKey='inCinemas',
                          sortDirection='descending'))['records']
    assert [m['inCinemas'] for m in cinemas] == sorted((m['inCinemas'] for m in cinemas),
                                                       reverse=True)
    unknown = ok_json(get(radarr, '/api/v3/wanted/missing', pageSize=100, sortKey='bogus'))
    assert [m['id'] for m in unknown['records']] == sorted(m['id'] for m in unknown['records'])

    unmonitored = ok_json(get(radarr, '/api/v3/wanted/missing', monitored='false'))
    assert [m['title'] for m in unmonitored['records']] == ['Unmonitored']

    radarr.movies[0]['hasFile'] = True            # the lists are live
    assert ok_json(get(radarr, '/api/v3/wanted/missing'))['totalRecords'] == 23


def test_radarr_without_wanted_missing():
    with FakeArr('radarr', wanted_missing=False) as arr:
        arr.add_movie('Old Radarr', 2019)
        assert ok_json(get(arr, '/api/v3/wanted/missing'), 404) == {'message': 'NotFound'}
        assert len(ok_json(get(arr, '/api/v3/movie'))) == 1
        assert get(arr, '/api/v3/wanted/missing', key=None).status_code == 401


def test_sonarr_wanted_missing_paging_sorting_filters(sonarr):
    show = sonarr.add_series('Show', 2020)
    paused = sonarr.add_series('Paused', 2021, monitored=False)
    base = dt.datetime(2021, 1, 1, 1, tzinfo=dt.timezone.utc)
    order = [5, 0, 11, 3, 8, 1, 10, 6, 2, 9, 4, 7]               # shuffled air dates
    for n, offset in enumerate(order, 1):
        sonarr.add_episode(show['id'], 1, n, air_date_utc=base + dt.timedelta(days=offset))
    sonarr.add_episode(show['id'], 2, 1, has_file=True)
    sonarr.add_episode(show['id'], 2, 2, monitored=False)
    sonarr.add_episode(paused['id'], 1, 1)

    def dates(direction, page_size=5):
        got, page, total = [], 1, None
        while True:
            data = ok_json(get(sonarr, '/api/v3/wanted/missing', page=page, pageSize=page_size,
                               sortKey='episodes.airDateUtc', sortDirection=direction))
            total = data['totalRecords']
            if not data['records']:
                return got, total, page - 1
            assert len(data['records']) <= page_size
            got += [r['airDateUtc'] for r in data['records']]
            page += 1

    asc, total, pages = dates('ascending')
    assert total == 12 and pages == 3 and len(asc) == 12
    assert asc == sorted(asc) and asc[0] == '2021-01-01T01:00:00Z'
    desc, _, _ = dates('descending')
    assert desc == sorted(asc, reverse=True)
    plain = ok_json(get(sonarr, '/api/v3/wanted/missing', sortKey='airDateUtc',
                        sortDirection='descending', pageSize=3))
    assert [r['airDateUtc'] for r in plain['records']] == desc[:3]
    default = ok_json(get(sonarr, '/api/v3/wanted/missing', pageSize=100))['records']
    assert [r['airDateUtc'] for r in default] == asc        # default: airDateUtc ascending
    by_id = ok_json(get(sonarr, '/api/v3/wanted/missing', pageSize=100, sortKey='bogus'))
    assert [r['id'] for r in by_id['records']] == list(range(1, 13))

    off = ok_json(get(sonarr, '/api/v3/wanted/missing', monitored='false', includeSeries='true'))
    got = {(r['series']['title'], r['seasonNumber'], r['episodeNumber']) for r in off['records']}
    assert got == {('Show', 2, 2), ('Paused', 1, 1)}         # episode or series unmonitored


# -- faults ------------------------------------------------------------------------------------

def test_fault_status_times_and_body(radarr):
    radarr.fault('/api/v3/movie', status=503, times=2)
    assert [get(radarr, '/api/v3/movie').status_code for _ in range(3)] == [503, 503, 200]
    radarr.fault('/api/v3/movie', status=500, body=b'{"message":"boom"}')
    for _ in range(3):
        assert ok_json(get(radarr, '/api/v3/movie'), 500) == {'message': 'boom'}
    assert get(radarr, '/api/v3/system/status').status_code == 200
    radarr.fault('/api/v3/system/status', status=502)
    assert ok_json(get(radarr, '/api/v3/system/status'), 502) == {}
    radarr.clear_faults()
    assert get(radarr, '/api/v3/movie').status_code == 200
    radarr.fault('*', status=429, times=1)
    assert get(radarr, '/api', key=None).status_code == 429   # faults come before auth
    assert get(radarr, '/api', key=None).status_code == 401
    assert len(radarr.requests) == 11


def test_fault_html_login_page(sonarr):
    sonarr.fault('*', html=True)
    for path in ('/api/v3/wanted/missing', '/api/v3/system/status'):
        resp = get(sonarr, path)
        assert resp.status_code == 200
        assert resp.headers['Content-Type'].startswith('text/html')
        assert resp.text == '<html><body>Login</body></html>'
    sonarr.clear_faults()
    assert ok_json(get(sonarr, '/api/v3/wanted/missing'))['records'] == []


def test_fault_delay_and_client_disconnect(radarr, capfd):
    radarr.fault('/api/v3/movie', delay=0.3, times=1)
    start = time.monotonic()
    assert get(radarr, '/api/v3/movie').status_code == 200
    assert time.monotonic() - start >= 0.3
    assert get(radarr, '/api/v3/movie').status_code == 200     # times=1: used up

    radarr.fault('/api/v3/system/status', delay=0.4, status=504, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(radarr.base_url + '/api/v3/system/status',
                     headers={'X-Api-Key': radarr.api_key}, timeout=0.1)
    # A client that hangs up mid-request must not produce a traceback either.
    with socket.create_connection(radarr._server.server_address, timeout=2) as sock:
        sock.sendall(b'POST /api/v3/command HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{')
    # ... nor one that resets the connection in the middle of a large answer.
    radarr.fault('/api/v3/movie', status=200, body=b'[' + b'{},' * 3_000_000 + b'{}]', times=2)
    for _ in range(2):
        sock = socket.create_connection(radarr._server.server_address, timeout=2)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        sock.sendall(b'GET /api/v3/movie HTTP/1.1\r\nHost: x\r\n\r\n')
        sock.recv(100)
        sock.close()                                            # RST, not FIN
    time.sleep(0.4)                      # let the 0.4 s delayed answer hit the closed socket
    out, err = capfd.readouterr()
    assert 'Traceback' not in err and 'Traceback' not in out
    assert out == '' and err == ''
    assert get(radarr, '/api/v3/system/status').status_code == 200


# -- commands -----------------------------------------------------------------------------------

def test_commands_are_recorded(radarr):
    first = ok_json(post(radarr, '/api/v3/command', {'name': 'RescanMovie', 'movieId': 3}), 201)
    second = ok_json(post(radarr, '/api/v3/command', {'name': 'MoviesSearch',
                                                      'movieIds': [1, 2]}), 201)
    assert (first['id'], second['id']) == (1, 2)
    assert first['commandName'] == 'Rescan Movie' and second['body']['movieIds'] == [1, 2]
    assert radarr.commands == [{'name': 'RescanMovie', 'movieId': 3},
                               {'name': 'MoviesSearch', 'movieIds': [1, 2]}]
    assert post(radarr, '/api/v3/command', b'{not json').status_code == 400
    assert post(radarr, '/api/v3/command', '[1, 2]').status_code == 400
    assert len(radarr.commands) == 2
    unauth = requests.post(radarr.base_url + '/api/v3/command', json={'name': 'RescanMovie'},
                           timeout=5)
    assert unauth.status_code == 401 and len(radarr.commands) == 2
    assert [r['method'] for r in radarr.requests] == ['POST'] * 5


def test_close_stops_serving():
    arr = FakeArr('sonarr')
    url = arr.base_url + '/api'
    assert requests.get(url, headers={'X-Api-Key': arr.api_key}, timeout=5).status_code == 200
    arr.close()
    arr.close()                                                 # idempotent
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, headers={'X-Api-Key': arr.api_key}, timeout=2)
    with pytest.raises(ValueError):
        FakeArr('lidarr')
