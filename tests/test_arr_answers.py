"""What Radarr and Sonarr answer, when it is not what the OpenAPI documents say:
a malformed answer is one line naming the app (exit 2), a malformed record is
skipped with a warning, paging is bounded, a slow app is waited for visibly and
for [radarr]/[sonarr] timeout seconds only."""

import json
import time

import pytest
import responses

import stalkeer
from conftest import SHARED
from fakearr import FakeArr
from test_e2e_arr import rows, run, world  # noqa: F401 - the e2e world fixture

RADARR = 'http://nas:7878/radarr'
SONARR = 'http://nas:8989'
KEY = 'k3y-0123456789abcdef'
MISSING = '/api/v3/wanted/missing'


def client(section='radarr', **kw):
    settings = stalkeer.ArrSettings(section=section, name=section.capitalize(),
                                    url=RADARR if section == 'radarr' else SONARR, api_key=KEY,
                                    path_map=[], rescan=True, **kw)
    c = (stalkeer.RadarrClient if section == 'radarr' else stalkeer.SonarrClient)(settings)
    c.sleep = lambda s: None
    return c


def movie(mid, title='Film', year=2000, **kw):
    return dict({'id': mid, 'title': title, 'year': year, 'path': f'/m/{title}', 'monitored': True,
                 'hasFile': False, 'isAvailable': True, 'alternateTitles': []}, **kw)


def episode(eid, season=1, number=1, **kw):
    return dict({'id': eid, 'seriesId': 7, 'seasonNumber': season, 'episodeNumber': number,
                 'monitored': True, 'hasFile': False}, **kw)


def page(records, total=None):
    return {'page': 1, 'pageSize': 250, 'totalRecords': len(records) if total is None else total,
            'records': records}


# -- malformed answers: one line naming the app and what was wrong -------------------------

@pytest.mark.parametrize('body, what', [
    (json.dumps([movie(1)]), 'a JSON list where a page object'),
    ('"maintenance"', 'a JSON string where a page object'),
    ('null', 'null where a page object'),
    ('', 'an empty body (HTTP 200) where JSON was expected'),
    ('   \n', 'an empty body (HTTP 200)'),
    ('42', 'a number where a page object'),
    ('true', 'a boolean where a page object'),
    ('{"records": "none", "totalRecords": 1}', 'a page whose "records" is a JSON string, not a list'),
    ('{"records": null, "totalRecords": 0}', 'a page whose "records" is null'),
    ('{"records": {"id": 1}}', 'a page whose "records" is a JSON object'),
    ('{"totalRecords": 3}', 'a page object without "records"'),
    ('{}', 'a page object without "records"'),
    ('{"records": [], "totalRecords": -1}', '"totalRecords" is not a count: -1'),
    ('{"records": [], "totalRecords": "5"}', '"totalRecords" is not a count: "5"'),
    ('{"records": [], "totalRecords": 1.5}', '"totalRecords" is not a count: 1.5'),
    ('{"records": [{"id": 1', 'something that is not JSON'),
    ('{"records": []} and more', 'more data after the document'),
    ('{records: []}', 'something that is not JSON'),
    (b'{"records": [{"id": 1, "title": "\xe9t\xe9"}]}', 'text that is not UTF-8'),
])
@responses.activate
def test_a_malformed_page_is_one_line_naming_the_app(body, what):
    responses.get(RADARR + MISSING, body=body, content_type='application/json')
    with pytest.raises(stalkeer.ArrError) as err:
        client().missing_movies()
    message = str(err.value)
    assert message.startswith(f'Radarr at {RADARR} answered GET {MISSING} with '), message
    assert what in message and '\n' not in message and KEY not in message


@pytest.mark.parametrize('body, what', [
    ('{"records": []}', 'a JSON object where a list of records was expected'),
    ('null', 'null where a list of records'),
    ('', 'an empty body'),
    ('"x"', 'a JSON string where a list'),
])
@responses.activate
def test_a_malformed_series_list_is_one_line(body, what):
    responses.get(SONARR + MISSING, json=page([episode(1)]))
    responses.get(SONARR + '/api/v3/series', body=body, content_type='application/json')
    with pytest.raises(stalkeer.ArrError) as err:
        client('sonarr').missing_episodes()
    assert f'Sonarr at {SONARR} answered GET /api/v3/series with' in str(err.value)
    assert what in str(err.value)


@pytest.mark.parametrize('body', [b'null', b'', b'[]', b'"oops"'])
def test_a_200_with_no_page_is_exit_2_not_missing_0(body, world, cli):  # noqa: F811
    world.radarr.fault(MISSING, status=200, body=body)
    code, out, err = run(cli, world, 'radarr')
    assert code == 2, out + err
    assert 'missing 0' not in out
    assert err.strip().splitlines() == [err.strip()] and 'Traceback' not in err
    assert f'Radarr at {world.radarr.base_url} answered GET {MISSING} with' in err


# -- malformed records: skipped with a warning, the run goes on ------------------------------

@responses.activate
def test_malformed_movies_are_skipped_with_a_warning(caplog):
    records = [movie(1, 'Good'), {'title': 'No id'}, movie(3, 'Null alt', alternateTitles=[None, 'x', {'title': 'Alt'}]),
               movie(4, 'Text year', year='1999'), 'just a string', None, movie(7, 'Bool id') | {'id': True},
               movie(8, 'Alt not a list', alternateTitles='x'), movie(9) | {'title': None}]
    responses.get(RADARR + MISSING, json=page(records))
    with caplog.at_level('WARNING', logger='stalkeer'):
        movies = client().missing_movies()
    assert [m['id'] for m in movies] == [1, 3, 9]
    assert movies[1]['alternateTitles'] == [{'title': 'Alt'}]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert warnings[:5] == [
        f'Radarr: skipped a malformed record of {MISSING}: a record without "id"',
        f'Radarr: skipped a malformed record of {MISSING}: record 4: "year" is a JSON string',
        f'Radarr: skipped a malformed record of {MISSING}: a record that is a JSON string, not an object',
        f'Radarr: skipped a malformed record of {MISSING}: a record that is null, not an object',
        f'Radarr: skipped a malformed record of {MISSING}: a record: "id" is a boolean',
    ]
    assert warnings[5:] == [f'Radarr: skipped 6 malformed records of {MISSING} in all']


@responses.activate
def test_malformed_episodes_and_series_are_skipped(caplog):
    responses.get(SONARR + MISSING, json=page([
        episode(1, 1, 1), episode(2, None, 2), episode(3, 1, 3, series='not an object'),
        episode(4, 1, 4, series={'id': 7, 'title': 5}), episode(5, 1, 5, episodeNumber=None),
        episode(6, 1, 6, seriesId=8)]))
    responses.get(SONARR + '/api/v3/series', json=[
        {'id': 7, 'title': 'Show', 'path': '/tv/Show', 'alternateTitles': [None]},
        {'title': 'No id'}, {'id': 8, 'title': 'Odd', 'seasonFolder': 'yes'}])
    with caplog.at_level('WARNING', logger='stalkeer'):
        episodes = client('sonarr').missing_episodes()
    assert [e['id'] for e in episodes] == [1, 6]
    assert episodes[0]['series'] == {'id': 7, 'title': 'Show', 'path': '/tv/Show', 'alternateTitles': []}
    assert episodes[1]['series'] == {}           # its series was skipped: no folder, no title
    text = caplog.text
    assert 'record 2 without "seasonNumber"' in text
    assert 'record 3: "series" is a JSON string' in text
    assert 'record 4: "series" has record 7: "title" is a number' in text
    assert 'record 5 without "episodeNumber"' in text
    assert 'skipped a malformed record of /api/v3/series: a record without "id"' in text
    assert 'record 8: "seasonFolder" is a JSON string' in text


def test_one_bad_record_never_stops_the_run(world, cli):  # noqa: F811
    world.radarr.add_movie('Broken', 2001, id=None)
    world.radarr.add_movie('Heat', 1995, path='/movies/Other')['year'] = '1995'
    world.sonarr.add_episode(world.e1['seriesId'], 1, 9, seasonNumber=None)
    code, out, err = run(cli, world, 'process')
    assert code == 0, err
    code, out, err = run(cli, world, 'radarr')
    assert code == 0, err
    assert 'Radarr: skipped a malformed record of /api/v3/wanted/missing: a record without "id"' in err
    assert '"year" is a JSON string' in err
    assert 'radarr: missing 4, matched 2, downloaded 2, failed 0, skipped 2 (not available yet 1, ' \
        'not in the playlist 1)' in out
    code, out, err = run(cli, world, 'sonarr')
    assert code == 0, err
    assert 'without "seasonNumber"' in err and 'sonarr: missing 3, matched 2' in out
    assert {r['title'] for r in rows(world)} >= {'Heat (1995)', 'The Matrix (1999)', 'Show - S01E01'}


# -- paging is bounded -------------------------------------------------------------------------

@pytest.fixture
def radarr_600():
    """A fake Radarr missing 600 movies, and a client of it."""
    with FakeArr('radarr') as radarr:
        for i in range(600):
            radarr.add_movie(f'Film {i}', 2000)
        settings = stalkeer.ArrSettings('radarr', 'Radarr', radarr.base_url, radarr.api_key, [], True)
        yield radarr, stalkeer.RadarrClient(settings)


def test_a_server_ignoring_page_size_is_read_in_one_page(radarr_600):
    radarr, client_ = radarr_600
    radarr.ignore_page_size = True
    assert len(client_.missing_movies()) == 600
    assert [r['query'].get('page') for r in radarr.requests if r['path'] == MISSING] == ['1']


def test_a_server_ignoring_page_stops_with_a_warning(radarr_600, caplog):
    radarr, client_ = radarr_600
    radarr.ignore_page = True
    with caplog.at_level('WARNING', logger='stalkeer'):
        assert len(client_.missing_movies()) == 250
    assert len([r for r in radarr.requests if r['path'] == MISSING]) == 2
    assert 'answered page 2 of /api/v3/wanted/missing with no new usable record' in caplog.text
    assert 'stopped after 250 of 600' in caplog.text


@responses.activate
def test_records_are_capped(monkeypatch):
    monkeypatch.setattr(stalkeer, 'ARR_MAX_RECORDS', 100)
    responses.get(RADARR + MISSING, json=page([movie(i) for i in range(1, 302)]))
    with pytest.raises(stalkeer.ArrError, match='with more than 100 records'):
        client().missing_movies()


@responses.activate
def test_one_huge_value_is_refused_not_swallowed(monkeypatch):
    monkeypatch.setattr(stalkeer, 'ARR_MAX_VALUE', 100_000)
    responses.get(RADARR + MISSING, json=page([movie(1, 'T' * 1_000_000)]))
    with pytest.raises(stalkeer.ArrError, match=r'with a value larger than 97\.7 KiB'):
        client().missing_movies()


@responses.activate
def test_records_are_trimmed_to_the_fields_read():
    responses.get(RADARR + MISSING, json=page([movie(1, images=[{'url': 'x' * 1000}], overview='y' * 1000)]))
    assert set(client().missing_movies()[0]) == {'id', 'title', 'year', 'path', 'monitored',
                                                 'hasFile', 'isAvailable', 'alternateTitles'}


@pytest.mark.parametrize('app', ['radarr', 'sonarr'])
def test_the_checked_types_are_the_openapi_types(app):
    doc = json.loads((SHARED / 'contracts' / f'{app}-openapi.json').read_text(encoding='utf-8'))
    schemas = doc['components']['schemas']
    openapi = {int: 'integer', str: 'string', bool: 'boolean', list: 'array', dict: 'object'}
    for schema, fields in stalkeer.ARR_RESOURCES[app].items():
        for field, kind in fields.items():
            prop = schemas[schema]['properties'][field]
            ref = prop.get('$ref') or (prop.get('allOf') or [{}])[0].get('$ref')
            if ref:                 # an enum (SeriesTypes) is a string; a resource an object
                prop = schemas[ref.rsplit('/', 1)[1]]
            declared = prop.get('type') or 'object'
            declared = 'object' if declared == 'object' or 'properties' in prop else declared
            assert declared == openapi[kind], f'{app} {schema}.{field}: {declared} vs {kind}'


# -- a slow app: bounded, and said -----------------------------------------------------------------

def test_the_app_timeout_is_configurable_and_not_retried(world, cli):  # noqa: F811
    world.radarr.fault(MISSING, delay=4)
    text = world.ini.read_text().replace('[radarr]\n', '[radarr]\ntimeout = 1\n')
    world.ini.write_text(text)
    started = time.monotonic()
    code, out, err = run(cli, world, 'radarr', '--dry-run')
    elapsed = time.monotonic() - started
    assert code == 2, err
    assert err.strip() == (f'stalkeer: error: Radarr at {world.radarr.base_url} did not answer GET '
                           f'{MISSING} within 1s (a large library may need a larger [radarr] timeout)')
    assert elapsed < 3.5
    assert len([r for r in world.radarr.requests if r['path'] == MISSING]) == 1


def test_a_waiting_run_says_what_it_waits_for(world, cli, monkeypatch):  # noqa: F811
    monkeypatch.setattr(stalkeer, 'ARR_WAIT_NOTICE', 0.2)
    assert run(cli, world, 'process')[0] == 0        # a dry run needs a playlist read (F6)
    world.sonarr.fault('/api/v3/series', delay=1.2)
    code, out, err = run(cli, world, 'sonarr', '--dry-run')
    assert code == 0, err
    assert (f'stalkeer: waiting for Sonarr at {world.sonarr.base_url} (GET /api/v3/series; '
            'at most 60s per read, [sonarr] timeout)') in err
    assert err.count('waiting for') == 1


def test_the_default_timeout_is_60s():
    settings = stalkeer.ArrSettings.from_config(
        stalkeer.Config(None, env={'STALKEER_RADARR_URL': 'http://nas:7878',
                                   'STALKEER_RADARR_API_KEY': KEY}), 'radarr')
    assert settings.timeout == 60
    assert stalkeer.RadarrClient(settings).timeout == (10, 60)


# -- the fast paths of reading a listing (issue 15) -----------------------------------------

def _reference_check(app, schema, record, required=None):
    """check_record as written before its fast path: isinstance for every field."""
    if not isinstance(record, dict):
        return None, f'a record that is {stalkeer.json_kind(record)}, not an object'
    label = f'record {record["id"]}' if stalkeer._has_type(record.get('id'), int) else 'a record'
    for field in stalkeer._REQUIRED_FIELDS.get(schema, ()) if required is None else required:
        if record.get(field) is None:
            return None, f'{label} without "{field}"'
    trimmed = {}
    for field, kind in stalkeer.ARR_RESOURCES[app][schema].items():
        value = record.get(field)
        if value is None:
            continue
        if not stalkeer._has_type(value, kind):
            return None, f'{label}: "{field}" is {stalkeer.json_kind(value)}'
        if field == 'alternateTitles':
            value = [{'title': alt['title']} for alt in value
                     if isinstance(alt, dict) and isinstance(alt.get('title'), str)]
        elif field == 'series':
            value, problem = _reference_check(app, 'SeriesResource', value)
            if problem:
                return None, f'{label}: "series" has {problem}'
        trimmed[field] = value
    return trimmed, None


class _Str(str):
    pass


def test_check_record_decides_as_isinstance_would():
    with FakeArr('sonarr') as sonarr, FakeArr('radarr') as radarr:
        movie = radarr.add_movie('Heat', 1995, alternate_titles=['Heat 2'])
        show = sonarr.add_series('Show', 2001)
        episode = sonarr.add_episode(show['id'], 1, 1)
    odd = [True, False, 1, 1.5, 's', _Str('sub'), [], [{'title': 'x'}, {'title': 3}, 'y'], {}, None]
    cases = []
    for app, schema, record in (('radarr', 'MovieResource', movie), ('sonarr', 'EpisodeResource', episode),
                                ('sonarr', 'SeriesResource', show)):
        record = json.loads(json.dumps(record))
        cases.append((app, schema, record))
        for field in stalkeer.ARR_RESOURCES[app][schema]:
            for value in odd:
                cases.append((app, schema, dict(record, **{field: value})))
        cases.append((app, schema, dict(record, id=True)))
        cases.append((app, schema, ['not', 'an', 'object']))
    episode_bad_series = dict(json.loads(json.dumps(episode)), series={'id': 'x', 'title': 3})
    cases.append(('sonarr', 'EpisodeResource', episode_bad_series))
    for app, schema, record in cases:
        assert stalkeer.check_record(app, schema, record) == _reference_check(app, schema, record)
        assert stalkeer.check_record(app, schema, record, required=()) == \
            _reference_check(app, schema, record, required=())


@pytest.mark.parametrize('style', [{}, {'indent': 1}, {'separators': (',', ':')}])
def test_a_listing_reads_the_same_in_any_chunks(style):
    """JsonStream.items takes a compact record straight from the buffer; a record
    cut by the chunk's end, blanks, nested lists and scalars go the general way.
    Every cut of the answer gives the values json.loads gives."""
    values = [{'id': 1, 'title': 'A, [b]', 'alternateTitles': [{'title': '}'}]}, [1, [2]], 3, 'x',
              {'id': 2, 'n': 12.5e3}, {}, None, {'id': 3, 'quote': '"\\u00e9'}, 1234567]
    text = json.dumps(values, **style).encode()
    for size in list(range(1, 24)) + [len(text)]:
        chunks = [text[i:i + size] for i in range(0, len(text), size)]
        stream = stalkeer.JsonStream(chunks)
        assert list(stream.items()) == json.loads(text), size
        stream.end()
    for bad in (b'[{"id": 1},{"id": 2}', b'[{"id": 1} {"id": 2}]', b'[{"id": 1},]'):
        with pytest.raises(stalkeer.AnswerError):
            stream = stalkeer.JsonStream([bad])
            list(stream.items())
            stream.end()
