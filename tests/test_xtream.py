"""Xtream Codes panels: the [xtream] settings, the player_api.php client and
`process --source xtream|auto` against a fake panel (tests/fakepanel.py), on
both backends: what is stored, re-runs, every bad answer, secrets, the account."""

import datetime as dt
import json
import re
import time

import pytest

import stalkeer
from conftest import run_stalkeer, subprocess_env
from fakepanel import FakePanel
from test_serve import request, serving

PL = stalkeer.ProcessedLine


@pytest.fixture
def panel():
    with FakePanel('xalice', 'xpw-s3cr3t-77') as fake:
        fake.add_category('movie', 1, 'FR: FILMS')
        fake.add_category('movie', 5, 'Kids Movies')
        fake.add_category('series', 2, 'Series | Drama')
        fake.add_movie(12, 'Heat (1995)', tmdb=949, category_id=1, ext='mkv')
        fake.add_movie(13, 'Inception 4K (2010)', tmdb='27205', category_id=1, ext='mp4')
        fake.add_movie(14, 'The Thing (1982)', tmdb='', category_id=5, ext='avi')
        fake.add_series(3, 'Breaking Bad', tmdb=1396, release_date='2008-01-20',
                        episodes={1: [(1, 501), (2, 502)]})
        fake.add_series(4, 'The Office (US) (2005)', category_id=2)
        yield fake


def ini_for(tmp_path, panel, extra=''):
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'[m3u]\nurl = {panel.playlist_url}\nfile_path = pl.m3u\n{extra}', encoding='utf-8')
    return ini


def lines(db_url, tmp_path):
    """The lines by (panel id, content_type); a later row of the same key wins."""
    return {(r.stream_id or r.series_id, r.content_type): r for r in all_lines(db_url, tmp_path)}


def all_lines(db_url, tmp_path):
    db = stalkeer.open_database(db_url, str(tmp_path))
    try:
        return list(PL.select().order_by(PL.id))
    finally:
        db.close()


def process(cli, ini, db_url, *more):
    return cli('--config', ini, '--db', db_url, 'process', *more)


# -- settings --------------------------------------------------------------------------------

def test_the_panel_is_derived_from_a_get_php_playlist_url():
    cfg = stalkeer.Config(None, env={
        'STALKEER_M3U_URL': 'https://p.example:8443/sub/get.php?username=u%40x&password=p%26w&type=m3u_plus'})
    s = stalkeer.XtreamSettings.from_config(cfg)
    assert (s.url, s.username, s.password, s.derived, s.enabled) == (
        'https://p.example:8443/sub', 'u@x', 'p&w', True, 'auto')
    assert s.stream_url('movie', 12, 'mkv') == 'https://p.example:8443/sub/movie/u%40x/p%26w/12.mkv'
    assert s.panel == 'https://p.example:8443/sub'


@pytest.mark.parametrize('env, configured', [
    ({'STALKEER_M3U_URL': 'http://h/playlist.m3u'}, False),             # not get.php
    ({'STALKEER_M3U_URL': 'http://h/get.php?username=u&type=m3u'}, False),   # no password
    ({'STALKEER_M3U_URL': 'http://h/get.php?username=u&password=p',
      'STALKEER_XTREAM_ENABLED': 'false'}, False),
    ({'STALKEER_XTREAM_URL': 'http://other:80/', 'STALKEER_XTREAM_USERNAME': 'a',
      'STALKEER_XTREAM_PASSWORD': 'b', 'STALKEER_M3U_URL': 'http://h/get.php?username=u&password=p'}, True),
])
def test_when_a_panel_is_configured(env, configured):
    s = stalkeer.XtreamSettings.from_config(stalkeer.Config(None, env=env))
    assert s.configured is configured
    if 'STALKEER_XTREAM_URL' in env:
        assert (s.url, s.username, s.password, s.derived) == ('http://other:80', 'a', 'b', False)


@pytest.mark.parametrize('env, message', [
    ({'STALKEER_XTREAM_ENABLED': 'maybe'}, 'STALKEER_XTREAM_ENABLED (environment) must be auto, true or false'),
    ({'STALKEER_XTREAM_URL': 'http://h:8080'}, 'STALKEER_XTREAM_URL (environment) is set without [xtream]'),
    ({'STALKEER_XTREAM_URL': 'ftp://h', 'STALKEER_XTREAM_USERNAME': 'a',
      'STALKEER_XTREAM_PASSWORD': 'b'}, 'STALKEER_XTREAM_URL (environment) must be an http'),
    ({'STALKEER_XTREAM_TIMEOUT': '0'}, 'STALKEER_XTREAM_TIMEOUT (environment) must be a number'),
])
def test_bad_xtream_settings_are_one_line(cli, sqlite_url, monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out, err = cli('--db', sqlite_url, 'process', '--source', 'xtream')
    assert code == 2 and message in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1


def test_source_xtream_needs_a_panel(cli, sqlite_url):
    code, out, err = cli('--db', sqlite_url, 'process', '--source', 'xtream')
    assert code == 2 and '--source xtream needs a panel' in err


# -- ingest ----------------------------------------------------------------------------------

def test_process_reads_movies_and_series_from_the_panel(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    code, out, err = process(cli, ini, db_url)          # --source auto: the panel answers
    assert code == 0, err
    assert 'the Xtream panel at http://127.0.0.1' in out and '5 entries in 5 records' in out
    # The account, two category lists, two catalogues; no per-item call.
    assert panel.actions() == ['account', 'get_vod_categories', 'get_series_categories',
                               'get_vod_streams', 'get_series']
    rows = lines(db_url, tmp_path)
    heat = rows[(12, 'movies')]
    assert (heat.source, heat.stream_id, heat.series_id, heat.tmdb_id, heat.container_extension) == (
        'xtream', 12, None, 949, 'mkv')
    assert heat.url == f'{panel.url}/movie/xalice/xpw-s3cr3t-77/12.mkv'
    assert (heat.title, heat.year, heat.group_title, heat.match_key) == (
        'Heat', 1995, 'FR: FILMS', stalkeer.match_key('Heat'))
    assert heat.languages == 'FR'            # the category's prefix, as for a playlist group
    inception = rows[(13, 'movies')]
    assert (inception.tmdb_id, inception.resolution, inception.container_extension) == (27205, '2160p', 'mp4')
    thing = rows[(14, 'movies')]
    assert thing.tmdb_id is None and thing.group_title == 'Kids Movies'      # "tmdb": ""
    bb = rows[(3, 'series')]
    assert (bb.source, bb.series_id, bb.stream_id, bb.tmdb_id, bb.url, bb.title, bb.year) == (
        'xtream', 3, None, 1396, None, 'Breaking Bad', 2008)      # the year from releaseDate
    office = rows[(4, 'series')]
    # Read as an episode line's series title is: the same match_key and alt_key.
    episode = stalkeer.classify(stalkeer.PlaylistEntry(
        1, '-1', {}, 'The Office (US) S01E03', 'http://h/series/u/p/1.mkv'))
    assert (office.title, office.year, office.country, office.match_key, office.alt_key) == (
        'The Office (US)', 2005, 'US', episode.match_key, episode.alt_key)


def test_a_movie_keys_like_the_same_playlist_line(cli, db_url, tmp_path, panel):
    """The panel's line and the get.php playlist's line of a film are one row."""
    playlist = tmp_path / 'pl.m3u'
    playlist.write_text(
        '#EXTM3U\n#EXTINF:-1 tvg-name="Heat (1995)" group-title="FR: FILMS",Heat (1995)\n'
        f'{panel.url}/movie/xalice/xpw-s3cr3t-77/12.mkv\n'
        '#EXTINF:-1 tvg-name="News 24" group-title="FR: INFO",News 24\n'
        f'{panel.url}/live/xalice/xpw-s3cr3t-77/900.ts\n', encoding='utf-8')
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url, '--source', 'm3u')[0] == 0
    before = lines(db_url, tmp_path)[(None, 'movies')]
    assert before.source == 'm3u' and before.tmdb_id is None
    code, out, err = process(cli, ini, db_url, '--source', 'xtream')
    assert code == 0, err
    rows = lines(db_url, tmp_path)
    heat = rows[(12, 'movies')]
    assert heat.id == before.id and heat.source == 'xtream' and heat.tmdb_id == 949
    assert heat.match_key == before.match_key and heat.title == before.title
    # The playlist's live channel is not the panel's to retire.
    assert rows[(None, 'channels')].missing_since is None


def test_re_runs_are_idempotent_and_incremental(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    first = {key: (r.id, r.updated_at) for key, r in lines(db_url, tmp_path).items()}
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0, err
    summary = json.loads(out)
    assert (summary['new'], summary['updated'], summary['unchanged'], summary['disappeared']) == (0, 0, 5, 0)
    assert {key: (r.id, r.updated_at) for key, r in lines(db_url, tmp_path).items()} == first
    # One film renamed, one gone, one series gone: only those change.
    panel.vod[0]['name'] = 'Heat (1995) [MULTI]'
    del panel.vod[2]
    del panel.series[1]
    summary = json.loads(process(cli, ini, db_url, '--json')[1])
    assert (summary['new'], summary['unchanged'], summary['disappeared']) == (1, 2, 3)
    rows = all_lines(db_url, tmp_path)
    present = sorted((r.stream_id or r.series_id, r.title) for r in rows if r.missing_since is None)
    gone = sorted((r.stream_id or r.series_id, r.title) for r in rows if r.missing_since is not None)
    assert present == [(3, 'Breaking Bad'), (12, 'Heat'), (13, 'Inception')]
    assert gone == [(4, 'The Office (US)'), (12, 'Heat'), (14, 'The Thing')]
    assert [r.languages for r in rows if r.stream_id == 12 and r.missing_since is None] == ['MULTI,FR']
    # Back again: present again, the same row.
    panel.add_series(4, 'The Office (US) (2005)', category_id=2)
    summary = json.loads(process(cli, ini, db_url, '--json')[1])
    assert summary['reappeared'] == 1 and summary['new'] == 0
    office = [r for r in all_lines(db_url, tmp_path) if r.series_id == 4]
    assert len(office) == 1 and office[0].missing_since is None


def test_numbers_as_strings_and_odd_records(cli, db_url, tmp_path, caplog):
    with FakePanel('xbob', 'xpw-odd-4242', numbers_as_strings=True) as fake:
        fake.add_category('movie', 1, 'Movies')
        fake.add_movie(12, 'Heat (1995)', tmdb='949')
        fake.add_movie(13, 'Alien (1979)', tmdb='', ext='mkv/../../x')    # unusable extension
        fake.vod.append({'stream_id': 'abc', 'name': 'Bad id (2000)'})
        fake.vod.append({'stream_id': 15, 'name': ''})
        fake.vod.append(['not', 'an', 'object'])
        fake.vod.append({'stream_id': 16, 'name': 'News', 'stream_type': 'live'})
        fake.vod.append({'stream_id': 99999999999, 'name': 'Too big (2001)'})
        fake.add_series(3, 'Dark', tmdb='70523', release_date='2017')
        fake.series.append({'series_id': None, 'name': 'No id'})
        ini = ini_for(tmp_path, fake)
        code, out, err = process(cli, ini, db_url, '--source', 'xtream')
    assert code == 0, err
    rows = lines(db_url, tmp_path)
    assert set(rows) == {(12, 'movies'), (13, 'movies'), (3, 'series')}
    assert rows[(12, 'movies')].tmdb_id == 949 and rows[(3, 'series')].tmdb_id == 70523
    alien = rows[(13, 'movies')]
    assert alien.container_extension is None and alien.url.endswith('/13.mp4')
    assert 'malformed 6' in out
    for needle in ('no usable "stream_id" ("abc")', 'stream_id 15 has no name',
                   'a record that is a JSON list', 'is a live stream', '"series_id" (null)'):
        assert needle in err, err


def test_filters_apply_to_the_category_and_name(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel, '[filter]\ngroup_title_exclude = ^Kids\ntvg_name_exclude = Office\n')
    code, out, err = process(cli, ini, db_url)
    assert code == 0, err
    assert 'filtered 2' in out
    assert {key[0] for key in lines(db_url, tmp_path)} == {12, 13, 3}


# -- the last import (playlist_imports), as for an M3U playlist ----------------------------

PANEL_INCOMPLETE = re.compile(r'^xtream import: the last import did not complete \(started \d{4}-\d\d-\d\d '
                              r'\d\d:\d\d:\d\d UTC\): the lines stored may be only part of the panel\'s catalogue; '
                              r'run `stalkeer process` again$', re.M)
PANEL_COMPLETED = re.compile(r'^xtream import: last import completed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, '
                             r'5 lines$', re.M)


def imports(cli, db_url):
    """(status text lines about imports, status --json's imports, the page's)."""
    code, out, err = cli('--db', db_url, 'status')
    assert code == 0, err
    said = [line for line in out.splitlines() if 'import' in line]
    code, text, err = cli('--db', db_url, 'status', '--json')
    assert code == 0, err
    return said, json.loads(text)['imports']


def test_a_panel_import_is_recorded_as_a_playlist_import_is(cli, db_url, tmp_path, panel, monkeypatch):
    """Panel users saw no last import in `status`, its JSON or the page: a panel
    import killed, interrupted (Ctrl-C) or cut by --limit is said incomplete, a
    whole one completed with the lines it stored, as for the M3U playlist."""
    ini = ini_for(tmp_path, panel)
    assert imports(cli, db_url) == ([], [])
    # SIGKILLed after its first stored batch.
    code, out, err = run_stalkeer('--config', ini, '--db', db_url, 'process',
                                  env=subprocess_env(STALKEER_TEST_CRASH_AT='after_ingest_batch'))
    assert code == -9, err
    said, [row] = imports(cli, db_url)
    assert len(said) == 1 and PANEL_INCOMPLETE.match(said[0]), said
    assert (row['source'], row['status'], row['completed_at'], row['lines']) == ('xtream', 'incomplete',
                                                                                  None, None)
    # Read whole: completed, with the entries it stored.
    assert process(cli, ini, db_url)[0] == 0
    said, [row] = imports(cli, db_url)
    assert len(said) == 1 and PANEL_COMPLETED.match(said[0]), said
    assert (row['source'], row['status'], row['lines']) == ('xtream', 'completed', 5)
    assert row['completed_at'].endswith('Z') and row['started_at'] <= row['completed_at']
    with serving(db_url, tmp_path) as server:
        status, headers, body = request(server, '/api/page')
        [shown] = json.loads(body)['imports']
        assert shown == dict(row, text=said[0])
    # Ctrl-C in the middle of the catalogue (the movies stored, not the series):
    # 130, and incomplete again.
    flush = stalkeer.XtreamIngest._flush
    stored = []

    def interrupted(self, batch, *args):
        if batch and stored:
            raise stalkeer.Interrupted(stalkeer.signal.SIGINT)
        if batch:
            stored.append(True)
        return flush(self, batch, *args)
    monkeypatch.setattr(stalkeer.XtreamIngest, '_flush', interrupted)
    code, out, err = process(cli, ini, db_url)
    assert code == 130 and 'interrupted by SIGINT' in err, err
    said, [row] = imports(cli, db_url)
    assert PANEL_INCOMPLETE.match(said[0]) and row['status'] == 'incomplete'
    monkeypatch.undo()
    # --limit reads part of it: no complete import either.
    assert process(cli, ini, db_url)[0] == 0
    assert imports(cli, db_url)[1][0]['status'] == 'completed'
    assert process(cli, ini, db_url, '--limit', '2')[0] == 0
    said, [row] = imports(cli, db_url)
    assert PANEL_INCOMPLETE.match(said[0]) and row['status'] == 'incomplete'


def test_a_panel_and_a_playlist_import_each_keep_their_row(cli, db_url, tmp_path, panel):
    """Each source its row; the later import of the other source clears the
    earlier one's completed_at (its lines may have replaced them), not its
    "completed"; a dry run records nothing."""
    (tmp_path / 'pl.m3u').write_text('#EXTM3U\n#EXTINF:-1,Alien (1979)\nhttp://h/movie/u/p/1.mkv\n',
                                     encoding='utf-8')
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url, '--dry-run')[0] == 0 and imports(cli, db_url)[1] == []
    assert process(cli, ini, db_url, '--source', 'm3u')[0] == 0
    assert process(cli, ini, db_url)[0] == 0
    said, rows = imports(cli, db_url)
    assert [(r['source'], r['status'], r['lines']) for r in rows] == [('m3u', 'completed', 1),
                                                                      ('xtream', 'completed', 5)]
    assert rows[0]['completed_at'] is None and rows[1]['completed_at'] is not None
    assert said[0].startswith('playlist: last import complete, 1 lines') and PANEL_COMPLETED.match(said[1])


def test_a_panel_that_lists_nothing_leaves_no_import_behind(cli, db_url, tmp_path):
    """`auto` follows an empty catalogue with the M3U playlist: the panel's
    attempt stored nothing and is no incomplete import."""
    (tmp_path / 'pl.m3u').write_text('#EXTM3U\n#EXTINF:-1,Alien (1979)\nhttp://h/movie/u/p/1.mkv\n',
                                     encoding='utf-8')
    with FakePanel('xcarol', 'xpw-empty-1234') as fake:
        ini = ini_for(tmp_path, fake)
        code, out, err = process(cli, ini, db_url)
        assert code == 0 and 'reading the M3U playlist instead' in err, err
        said, rows = imports(cli, db_url)
        assert [(r['source'], r['status']) for r in rows] == [('m3u', 'completed')], rows
        assert process(cli, ini, db_url, '--source', 'xtream')[0] == 2
        assert [(r['source'], r['status']) for r in imports(cli, db_url)[1]] == [('m3u', 'completed')]


def test_dry_run_writes_nothing(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    code, out, err = process(cli, ini, db_url, '--dry-run')
    assert code == 0, err
    assert 'dry run, nothing written' in out and 'new 5' in out
    assert lines(db_url, tmp_path) == {}


# -- bad answers: one line, exit 2, nothing lost -------------------------------------------------

BAD_ANSWERS = [
    ('account', dict(html=True), 'answered the account call with an HTML page'),
    ('get_vod_streams', dict(html=True), 'answered get_vod_streams with an HTML page'),
    ('get_vod_streams', dict(body='<html><body>Error</body></html>'),
     'answered get_vod_streams with an HTML page'),
    ('get_vod_streams', dict(cut=300), 'the answer to get_vod_streams broke off'),
    ('get_series', dict(body='[{"series_id": 3, "name": "Breaking'), 'not JSON: it ends too early'),
    ('get_vod_streams', dict(body='[{"stream_id": 12, "name": "Heat"}, {"stream_id": 13'),
     'not JSON: it ends too early'),
    ('get_vod_streams', dict(body='"forbidden"'), 'a JSON string where a list was expected'),
    ('get_vod_streams', dict(body=''), 'an empty body'),
    # (not "user_info": an earlier test of this process may have taught 'user' as a secret)
    ('account', dict(body='[]'), 'the account call with a JSON list where an object with "'),
    ('account', dict(body='{"server_info": {}}'), 'the account call without "'),
    ('account', dict(body='{"user_info": {"auth": 0}}'), 'refused the account (auth 0)'),
    ('account', dict(status=403, body=''), 'refused the account (HTTP 403)'),
    ('*', dict(status=404, body=''), 'answered 404 for player_api.php'),
    ('*', dict(status=503, body=''), 'answered HTTP 503'),
]


@pytest.mark.parametrize('action, fault, message', BAD_ANSWERS)
def test_every_bad_answer_is_one_line_and_loses_nothing(cli, db_url, tmp_path, panel, action, fault, message):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    before = {key: (r.id, r.updated_at, r.missing_since) for key, r in lines(db_url, tmp_path).items()}
    panel.fault(action, **fault)
    code, out, err = process(cli, ini, db_url, '--source', 'xtream')
    assert code == 2, (out, err)
    assert message in err, err
    assert f'the Xtream panel at {panel.url}' in err
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1, err
    assert 'xpw-s3cr3t-77' not in out + err and 'xalice' not in out + err
    assert {key: (r.id, r.updated_at, r.missing_since) for key, r in lines(db_url, tmp_path).items()} == before


def test_a_wrong_password_is_auth_0(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    panel.password = 'xchanged-pw-99'
    code, out, err = process(cli, ini, db_url)    # auto: still an error
    assert code == 2 and 'refused the account (auth 0)' in err and 'xpw-s3cr3t-77' not in err


@pytest.mark.parametrize('given, says', [
    ('file', '[xtream] username and [xtream] password'),
    ('environment', 'STALKEER_XTREAM_USERNAME (environment) and STALKEER_XTREAM_PASSWORD (environment)'),
    ('playlist url', 'the account in [m3u] url'),
    ('STALKEER_M3U_URL', 'the account in STALKEER_M3U_URL (environment)')])
@pytest.mark.parametrize('fault, said', [
    (dict(body='{"user_info": {"auth": 0}}'), 'refused the account (auth 0): check {}'),
    (dict(status=403, body=''), 'refused the account (HTTP 403): check {}, or whether'),
    (dict(status=404, body=''), 'or not at this URL ({})')])
def test_the_panels_advice_names_where_the_account_came_from(cli, tmp_path, panel, monkeypatch,
                                                              given, says, fault, said):
    """The refusal's advice named [xtream] username and password (or "the [m3u]
    url they come from") whatever set them: STALKEER_* variables are named as
    every other error names them (Config.where)."""
    ini = tmp_path / 'stalkeer.ini'
    if given == 'file':
        ini.write_text(f'[m3u]\nfile_path = pl.m3u\n[xtream]\nurl = {panel.url}\nusername = xalice\n'
                       'password = xpw-s3cr3t-77\n', encoding='utf-8')
    elif given == 'environment':
        ini.write_text('[m3u]\nfile_path = pl.m3u\n', encoding='utf-8')
        for key, value in (('URL', panel.url), ('USERNAME', 'xalice'), ('PASSWORD', 'xpw-s3cr3t-77')):
            monkeypatch.setenv(f'STALKEER_XTREAM_{key}', value)
    elif given == 'playlist url':
        ini_for(tmp_path, panel)
    else:
        ini.write_text('[m3u]\nfile_path = pl.m3u\n', encoding='utf-8')
        monkeypatch.setenv('STALKEER_M3U_URL', panel.playlist_url)
    panel.fault('account' if fault.get('status') != 404 else '*', **fault)
    code, out, err = process(cli, ini, f'sqlite:///{tmp_path}/s.db', '--source', 'xtream')
    where = says if fault.get('status') != 404 else (
        says.replace('the account in ', '') if 'the account in' in says else
        says.split(' and ')[0].replace('username', 'url').replace('USERNAME', 'URL'))
    assert code == 2 and said.format(where) in err, err
    if given in ('environment', 'STALKEER_M3U_URL'):
        assert '[xtream]' not in err and '[m3u] url' not in err, err
    assert 'xpw-s3cr3t-77' not in out + err and 'xalice' not in out + err


def test_empty_lists_for_everything(cli, db_url, tmp_path):
    with FakePanel('xcarol', 'xpw-empty-1234') as fake:
        code, out, err = process(cli, ini_for(tmp_path, fake), db_url, '--source', 'xtream')
    assert code == 2 and 'no usable record' in err and 'nothing in the database was changed' in err


def test_an_empty_catalogue_leaves_the_playlist_import_record(cli, db_url, tmp_path):
    """The refusal of an empty catalogue cleared the playlist's last complete
    import (its re-run skip, `status`'s completion time) although it stored
    nothing; under `auto` the fallback then read the unchanged playlist again."""
    with FakePanel('xcarol', 'xpw-empty-1234') as fake:
        ini = ini_for(tmp_path, fake)
        (tmp_path / 'pl.m3u').write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Heat (1995)\n'
                                         'http://h/movie/u/p/1.mkv\n', encoding='utf-8')
        assert process(cli, ini, db_url, '--source', 'm3u')[0] == 0
        db = stalkeer.open_database(db_url, str(tmp_path))
        try:
            before = list(stalkeer.PlaylistImport.select().dicts())
        finally:
            db.close()
        assert before[0]['completed_at'] is not None
        code, out, err = process(cli, ini, db_url, '--source', 'xtream')
        assert code == 2 and 'no usable record' in err
        code, out, err = process(cli, ini, db_url)         # auto: the playlist instead
        assert code == 0 and 'playlist unchanged since' in out, (out, err)
    db = stalkeer.open_database(db_url, str(tmp_path))
    try:
        assert list(stalkeer.PlaylistImport.select().dicts()) == before
    finally:
        db.close()


@pytest.mark.parametrize('body', ['[]', '[{"id": 3, "title": "Breaking Bad"}]'])
def test_one_empty_or_unreadable_list_retires_nothing(cli, db_url, tmp_path, panel, body):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    panel.fault('get_series', body=body)
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0, err
    assert json.loads(out)['disappeared'] == 0
    assert all(r.missing_since is None for r in lines(db_url, tmp_path).values())


def test_auto_falls_back_to_the_playlist_when_no_panel_answers(cli, db_url, tmp_path, panel):
    (tmp_path / 'pl.m3u').write_text('#EXTM3U\n#EXTINF:-1,Heat (1995)\nhttp://h/movie/u/p/1.mkv\n',
                                     encoding='utf-8')
    panel.fault('*', status=404, body='')
    ini = ini_for(tmp_path, panel)
    code, out, err = process(cli, ini, db_url)
    assert code == 0, err
    assert 'answered 404 for player_api.php' in err and 'reading the M3U playlist instead' in err
    assert '1 entries in' in out
    ini = ini_for(tmp_path, panel, '[xtream]\nenabled = true\n')
    code, out, err = process(cli, ini, db_url)
    assert code == 2 and 'answered 404' in err


def test_a_playlist_argument_or_enabled_false_reads_the_m3u(cli, db_url, tmp_path, panel):
    playlist = tmp_path / 'pl.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1,Heat (1995)\nhttp://h/movie/u/p/1.mkv\n', encoding='utf-8')
    assert process(cli, ini_for(tmp_path, panel), db_url, playlist)[0] == 0
    assert process(cli, ini_for(tmp_path, panel, '[xtream]\nenabled = false\n'), db_url)[0] == 0
    assert panel.actions() == []


# -- large catalogues ---------------------------------------------------------------------------

def test_a_large_catalogue_is_stored_in_batches(cli, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setattr(stalkeer, 'INGEST_BATCH', 50)
    with FakePanel('xdave', 'xpw-large-5678') as fake:
        fake.add_category('movie', 1, 'Movies')
        for i in range(1, 321):
            fake.add_movie(i, f'Film Number {i} ({1950 + i % 70})', tmdb=1000 + i)
        ini = ini_for(tmp_path, fake)
        code, out, err = process(cli, ini, sqlite_url)
    assert code == 0, err
    rows = lines(sqlite_url, tmp_path)
    assert len(rows) == 320 and rows[(320, 'movies')].tmdb_id == 1320


# -- secrets ------------------------------------------------------------------------------------

def test_the_account_never_reaches_output_or_logs(tmp_path, db_url, panel):
    log_file = tmp_path / 'run.log'
    ini = tmp_path / 'x.ini'
    ini.write_text(f'[xtream]\nurl = {panel.url}\nusername = xalice\npassword = xpw-s3cr3t-77\n'
                   f'[logging]\nfile = {log_file}\nlevel = DEBUG\n', encoding='utf-8')
    panel.vod.append({'stream_id': 'xpw-s3cr3t-77', 'name': 'xalice (2000)'})    # echoed in a warning
    env = subprocess_env()
    code, out, err = run_stalkeer('--config', ini, '--db', db_url, '-vv', 'process', env=env)
    assert code == 0, err
    panel.fault('get_vod_streams', body='{"user_info": {"username": "xalice", "password": "xpw-s3cr3t-77"')
    code2, out2, err2 = run_stalkeer('--config', ini, '--db', db_url, '-vv', 'process', env=env)
    assert code2 == 2
    code3, out3, err3 = run_stalkeer('--config', ini, '--db', db_url, 'config', env=env)
    assert 'username = ***' in out3 and 'password = ***' in out3
    everything = out + err + out2 + err2 + out3 + err3 + log_file.read_text(encoding='utf-8')
    for secret in ('xpw-s3cr3t-77', 'xalice'):
        assert secret not in everything, everything[:3000]
    assert 'get_vod_streams' in everything


# -- the account ----------------------------------------------------------------------------------

@pytest.mark.parametrize('status, days, warning', [
    ('Active', 3, 'the account expires on'),
    ('Active', -1, 'the account expired on'),
    ('Expired', 30, "the account is not active (status 'Expired')"),
    ('Active', 30, None),
    ('Active', None, None),
])
def test_a_run_warns_about_the_account(cli, db_url, tmp_path, status, days, warning):
    exp = None if days is None else int(time.time() + days * 86400)
    with FakePanel('xerin', 'xpw-acct-3141', status=status, exp_date=exp) as fake:
        fake.add_movie(12, 'Heat (1995)')
        code, out, err = process(cli, ini_for(tmp_path, fake), db_url)
    assert code == 0, err
    if warning:
        assert warning in err and 'the Xtream panel at' in err
    else:
        assert 'account' not in err


def test_status_and_metrics_show_the_account(cli, db_url, tmp_path):
    exp = int(time.time() + 3 * 86400)
    with FakePanel('xfred', 'xpw-stat-2718', exp_date=exp, max_connections=4, active_cons=1) as fake:
        fake.add_movie(12, 'Heat (1995)')
        ini = ini_for(tmp_path, fake)
        assert process(cli, ini, db_url)[0] == 0
        code, out, err = cli('--config', ini, '--db', db_url, 'status')
        assert code == 0, err
        when = dt.datetime.fromtimestamp(exp, dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
        assert f'account: Active, expires {when} (in 3.0 days), connections 1/4, checked' in out
        code, out, err = cli('--config', ini, '--db', db_url, 'status', '--json')
        account = json.loads(out)['account']
        assert (account['status'], account['max_connections'], account['active_cons']) == ('Active', 4, 1)
        assert account['panel'] == fake.url and account['exp_date'].endswith('Z')
        cfg = stalkeer.Config(str(ini), env={})
        with serving(db_url, tmp_path) as server:
            server.panel = stalkeer.panel_name(cfg)
            status, headers, body = request(server, '/metrics')
    text = body.decode()
    assert f'stalkeer_account_expiry_timestamp_seconds {exp}' in text
    assert 'stalkeer_account_active 1' in text and 'stalkeer_account_max_connections 4' in text
    assert 'stalkeer_account_active_connections 1' in text
    assert 'xpw-stat-2718' not in out + text


def test_metrics_without_a_panel_have_no_account(db_url, tmp_path):
    with serving(db_url, tmp_path) as server:
        status, headers, body = request(server, '/metrics')
    assert status == 200 and b'stalkeer_account' not in body


# -- the client, for the per-item calls -------------------------------------------------------------

def test_series_info_and_vod_info(panel):
    settings = stalkeer.XtreamSettings(panel.url, 'xalice', 'xpw-s3cr3t-77')
    client = stalkeer.XtreamClient(settings)
    info = client.series_info(3)
    assert [e['id'] for e in info['episodes']['1']] == ['501', '502']
    vod = client.vod_info(12)
    assert vod['movie_data']['container_extension'] == 'mkv' and vod['info']['tmdb_id'] == '949'
    with pytest.raises(stalkeer.PanelError, match='a JSON list where an object was expected'):
        client.series_info(777)
    assert panel.actions() == ['get_series_info', 'get_vod_info', 'get_series_info']
    assert all(r['query']['series_id'] in ('3', '777') for r in panel.requests
               if r['action'] == 'get_series_info')


@pytest.mark.parametrize('value, expected', [
    (12, 12), ('12', 12), (' 12 ', 12), (12.0, 12), ('', None), (None, None), (0, None), ('0', None),
    ('abc', None), (True, None), (-5, None), (2 ** 31, None), ('١٢', None), ([], None),
])
def test_xtream_int(value, expected):
    assert stalkeer.xtream_int(value) == expected


def test_migrate_gives_old_lines_the_m3u_source(db_url, tmp_path):
    db = stalkeer.open_database(db_url, str(tmp_path), migrate=False)
    db.execute_sql('CREATE TABLE processed_lines (id %s PRIMARY KEY, '
                   "state VARCHAR(16) NOT NULL DEFAULT 'processed', download_info_id INTEGER)"
                   % ('SERIAL' if stalkeer.is_postgres(db) else 'INTEGER'))
    db.execute_sql("INSERT INTO processed_lines (state) VALUES ('processed')")
    changes = stalkeer.migrate_schema(db)
    for column in ('source', 'stream_id', 'series_id', 'tmdb_id', 'container_extension'):
        assert f'added column processed_lines.{column}' in changes
    assert 'created table panel_accounts' in changes
    assert PL.get().source == 'm3u'
    assert stalkeer.migrate_schema(db) == []
    db.close()


def test_lines_shows_the_panel_ids(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    code, out, err = cli('--config', ini, '--db', db_url, 'lines', 'breaking bad', '--json')
    assert code == 0, err
    [line] = json.loads(out)['lines']
    assert (line['content_type'], line['source'], line['series_id'], line['tmdb_id'], line['url']) == (
        'series', 'xtream', 3, 1396, None)
    code, out, err = cli('--config', ini, '--db', db_url, 'lines', 'heat', '--type', 'movies')
    assert code == 0 and 'tmdb 949' in out and '/movie/***/***/12.mkv' in out
    assert 'xpw-s3cr3t-77' not in out + err
