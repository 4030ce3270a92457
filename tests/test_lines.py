"""`lines QUERY` and /api/lines: what the provider offers, found through the index."""

import json

import pytest

import stalkeer
from conftest import start_stalkeer, subprocess_env

PL = stalkeer.ProcessedLine
DI = stalkeer.DownloadInfo

ENTRIES = [
    ('|FR| Amélie (2001) FHD', 'FR: FILMS', 'http://p:8080/movie/alice/hunter22pw/1.mkv'),
    ('Amelie Poulain - Making of (2001)', 'FR: FILMS', 'http://p:8080/movie/alice/hunter22pw/2.mkv'),
    ('The Matrix (1999) 4K', 'EN: MOVIES', 'http://p:8080/movie/alice/hunter22pw/3.mkv'),
    ('The Matrix Reloaded (2003)', 'EN: MOVIES', 'http://p:8080/movie/alice/hunter22pw/4.mkv'),
    ('Matrix S01E02', 'EN: SERIES', 'http://p:8080/series/alice/hunter22pw/5.mkv'),
    ('Matrix TV HD', 'EN: LIVE', 'http://p:8080/alice/hunter22pw/6'),
    ('Animatrix (2003)', 'EN: MOVIES', 'http://p:8080/movie/alice/hunter22pw/7.mkv'),
]


@pytest.fixture
def playlist_db(cli, db_url, tmp_path):
    playlist = tmp_path / 'playlist.m3u'
    playlist.write_text('#EXTM3U\n' + ''.join(
        f'#EXTINF:-1 tvg-name="{t}" group-title="{g}",{t}\n{u}\n' for t, g, u in ENTRIES),
        encoding='utf-8')
    code, out, err = cli('--db', db_url, 'process', playlist)
    assert code == 0, err
    return db_url


def lines_json(cli, db_url, *argv):
    code, out, err = cli('--db', db_url, 'lines', *argv, '--json')
    assert code == 0, err
    return json.loads(out)


def test_prefix_search_accent_and_case_insensitive(cli, playlist_db):
    for query in ('amelie', 'AMÉLIE', 'Amél'):
        result = lines_json(cli, playlist_db, query)
        assert result['match'] == 'prefix'
        assert [(line['display_title'], line['extra']) for line in result['lines']] == \
            [('|FR| Amélie (2001) FHD', False), ('Amelie Poulain - Making of (2001)', True)], query
    first = lines_json(cli, playlist_db, 'amelie')['lines'][0]
    assert (first['content_type'], first['title'], first['year'], first['resolution'],
            first['languages'], first['state'], first['download']) == \
        ('movies', 'Amélie', 2001, '1080p', ['FR'], 'processed', None)
    assert first['url'] == 'http://p:8080/movie/***/***/1.mkv'


def test_types_articles_and_the_type_filter(cli, playlist_db):
    result = lines_json(cli, playlist_db, 'the matrix')           # the article is dropped, as in matching
    assert result['match_key'] == 'matrix'
    got = [(line['content_type'], line['display_title']) for line in result['lines']]
    assert got == [('channels', 'Matrix TV HD'), ('movies', 'The Matrix (1999) 4K'),
                   ('movies', 'The Matrix Reloaded (2003)'), ('tvshows', 'Matrix S01E02')]
    assert 'Animatrix (2003)' not in json.dumps(result)            # a prefix, not a substring
    episode = lines_json(cli, playlist_db, 'matrix', '--type', 'tvshows')['lines']
    assert [(line['season'], line['episode']) for line in episode] == [(1, 2)]
    assert len(lines_json(cli, playlist_db, 'matrix', '--limit', '2')['lines']) == 2


def test_words_anywhere_when_no_title_starts_so(cli, playlist_db):
    result = lines_json(cli, playlist_db, 'reloaded')
    assert result['match'] == 'contains'
    assert [line['display_title'] for line in result['lines']] == ['The Matrix Reloaded (2003)']
    assert lines_json(cli, playlist_db, 'nothing like this')['lines'] == []


def test_text_output_shows_how_each_line_was_read(cli, playlist_db, tmp_path):
    db = stalkeer.open_database(playlist_db, str(tmp_path))
    line = PL.get(PL.display_title == 'The Matrix (1999) 4K')
    info = stalkeer.StateManager(owner='t').get_or_create(line.url, str(tmp_path / 'M'), 'The Matrix',
                                                          processed_line_id=line.id)
    db.close()
    code, out, err = cli('--db', playlist_db, 'lines', 'Matrix', '--type', 'movies')
    assert code == 0, err
    assert f'#{line.id:<7} movies        The Matrix (1999) · 2160p · EN · pending · ' \
           f'download #{info.id} pending\n' in out
    assert '"The Matrix (1999) 4K"  [EN: MOVIES]  http://p:8080/movie/***/***/3.mkv\n' in out
    assert out.rstrip().endswith('2 line(s) whose title starts with "matrix"')
    assert 'hunter22pw' not in out + err and 'alice' not in out + err
    code, out, err = cli('--db', playlist_db, 'lines', 'matrix', '--type', 'tvshows')
    assert 'Matrix S01E02 · quality ? · EN · processed' in out
    code, out, err = cli('--db', playlist_db, 'lines', 'amelie poulain')
    assert 'processed · a trailer or extra: never taken for the film\n' in out


@pytest.mark.parametrize('argv, needle', [
    (['lines', '!!!'], 'the query has no letter or digit'),
    (['lines', 'x', '--type', 'films'], 'invalid choice'),
    (['lines', 'x', '--limit', '0'], '--limit: must be a whole number from 1'),
])
def test_bad_queries_exit_2_in_one_line(argv, needle, cli, sqlite_url):
    code, out, err = cli('--db', sqlite_url, *argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


# ---- a database whose playlist was never read (trial-17a F3) ----------------------

def test_lines_before_the_playlist_was_read_exits_2_like_radarr(cli, db_url, tmp_path):
    """"No playlist at all" is told apart from "no match": a script sees exit 2."""
    for argv in (['lines', 'uncle buck'], ['lines', 'uncle buck', '--json'],
                 ['lines', 'uncle', '--type', 'movies']):
        code, out, err = cli('--db', db_url, *argv)
        assert code == 2 and out == '', (argv, out, err)
        assert err.strip().splitlines() == [f'stalkeer: error: {stalkeer.PLAYLIST_NOT_READ}'], argv
    from test_serve import get_json, serving
    with serving(db_url, tmp_path) as server:
        status, data = get_json(server, '/api/lines?q=uncle')
        assert status == 409 and data == {'error': stalkeer.PLAYLIST_NOT_READ}
        status, data = get_json(server, '/api/lines?q=!!!')       # a bad query is still the request's fault
        assert status == 400 and 'no letter or digit' in data['error']


def test_no_match_in_a_read_playlist_still_exits_0(cli, playlist_db):
    code, out, err = cli('--db', playlist_db, 'lines', 'uncle buck')
    assert code == 0 and out == '0 line(s) whose title holds the words "uncle buck"\n', err
    assert lines_json(cli, playlist_db, 'uncle buck')['lines'] == []
    code, out, err = cli('--db', playlist_db, 'lines', 'amelie', '--type', 'channels')   # lines of other types only
    assert code == 0 and out.startswith('0 line(s)'), err


def test_the_prefix_query_uses_the_index(db, tmp_path):
    """On a table of realistic shape (20,000 lines, statistics gathered), the
    prefix search is an index range on (content_type, match_key), both engines."""
    words = ['heat', 'matrix', 'alien', 'dune', 'amelie', 'zodiac', 'up', 'her', 'it', 'jaws']
    rows = [{'line_hash': f'h{i}', 'content_type': stalkeer.LINE_CONTENT_TYPES[i % 4],
             'match_key': f'{words[i % 10]} {i}', 'title': f'T {i}', 'url': f'http://p/{i}.mkv'}
            for i in range(20_000)]
    with db.atomic():
        for start in range(0, len(rows), 1000):
            PL.insert_many(rows[start:start + 1000]).execute()
    db.execute_sql('ANALYZE')
    for types in (['tvshows'], list(stalkeer.LINE_CONTENT_TYPES)):
        sql, params = stalkeer.lines_query('matrix', types).limit(50).sql()
        if stalkeer.is_postgres(db):
            plan = '\n'.join(r[0] for r in db.execute_sql('EXPLAIN ' + sql, params).fetchall())
            assert 'processed_lines_content_type_match_key' in plan, plan
            assert 'Seq Scan on processed_lines' not in plan, plan
        else:
            plan = ' | '.join(str(r[-1]) for r in db.execute_sql('EXPLAIN QUERY PLAN ' + sql, params))
            assert 'SEARCH t1 USING INDEX processed_lines_content_type_match_key (content_type=? AND ' \
                   'match_key>? AND match_key<?)' in plan, plan
        found = stalkeer.find_lines('matrix 1', types[0] if len(types) == 1 else None, limit=5000)
        assert sorted(line['match_key'] for line in found['lines']) == sorted(
            r['match_key'] for r in rows if r['match_key'].startswith('matrix 1')
            and r['content_type'] in types)


def test_api_lines_on_serve(playlist_db, tmp_path):
    from test_serve import get_json, request, serving
    with serving(playlist_db, tmp_path) as server:
        status, data = get_json(server, '/api/lines?q=AM%C3%89LIE&limit=1')
        assert status == 200 and data['match'] == 'prefix' and len(data['lines']) == 1
        assert data['lines'][0]['url'] == 'http://p:8080/movie/***/***/1.mkv'
        status, data = get_json(server, '/api/lines?q=matrix&type=tvshows')
        assert [line['display_title'] for line in data['lines']] == ['Matrix S01E02']
        for query in ('q=', 'q=matrix&type=films', 'q=matrix&limit=x', 'q=matrix&limit=0'):
            status, data = get_json(server, '/api/lines?' + query)
            assert status == 400 and data['error'], query
        assert b'hunter22pw' not in request(server, '/api/lines?q=a')[2]


def test_json_keys_are_the_documented_ones(cli, playlist_db):
    line = lines_json(cli, playlist_db, 'heat')['lines'] or lines_json(cli, playlist_db, 'matrix')['lines']
    assert list(line[0]) == ['id', 'content_type', 'title', 'year', 'season', 'episode', 'resolution',
                             'languages', 'state', 'extra', 'download', 'display_title', 'group_title', 'tvg_id',
                             'match_key', 'url', 'missing_since', 'line_number', 'source', 'stream_id',
                             'series_id', 'tmdb_id']
