"""Xtream Codes panels in radarr/sonarr runs (issue 16, second half): ids from the
panel beat every title rule, series episodes from get_series_info (only for what
Sonarr misses, cached), get_vod_info for candidates without an id, the account's
connection cap and warnings, every bad answer of the two info calls."""

import collections
import json
import time

import pytest

import stalkeer
from conftest import arr_sections, payload, sha256
from fakearr import FakeArr
from fakepanel import FakePanel
from test_arr import _plan
from test_matching import (EPISODE_CASES, MOVIE_SHOULD_MATCH, MOVIE_TRAPS, WORLD_MOVIES, WORLD_SERIES,
                           Catalogue, world_film, world_show)

PL = stalkeer.ProcessedLine
USER, PASSWORD = 'xrun', 'xpw-runs-5150'
EP1, EP2 = payload(150_000, seed=61), payload(160_000, seed=62)
HEAT = payload(170_000, seed=63)


def file_path(kind, stream_id, ext='mkv'):
    return f'/{kind}/{USER}/{PASSWORD}/{stream_id}.{ext}'


@pytest.fixture
def panel():
    with FakePanel(USER, PASSWORD, max_connections=2) as fake:
        fake.add_category('movie', 1, 'Movies')
        fake.add_category('series', 2, 'Series')
        fake.add_series(3, 'Breaking Bad', tmdb=1396, release_date='2008-01-20',
                        episodes={1: [(1, 501), (2, 502)]})
        fake.add_series(4, 'Other Show', tmdb=4242, episodes={1: [(1, 601)]})
        fake.add_series(5, 'Sherlock', episodes={1: [(1, 701)]})          # no tmdb: by title
        fake.files[file_path('series', 501)] = EP1
        fake.files[file_path('series', 502)] = EP2
        yield fake


@pytest.fixture
def apps():
    radarr, sonarr = FakeArr('radarr'), FakeArr('sonarr')
    yield radarr, sonarr
    radarr.close()
    sonarr.close()


def ini_for(tmp_path, panel, apps, extra='', downloads=''):
    radarr, sonarr = apps
    lib = tmp_path / 'lib'
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'''[m3u]
url = {panel.playlist_url}
file_path = pl.m3u
[downloads]
min_free_space_mb = 0
retry_attempts = 1
retry_backoff_seconds = 0.01
{downloads}{arr_sections(radarr, sonarr, lib)}{extra}''', encoding='utf-8')
    return ini


def lines(db_url, tmp_path, **where):
    db = stalkeer.open_database(db_url, str(tmp_path))
    try:
        query = PL.select().order_by(PL.id)
        for name, value in where.items():
            query = query.where(getattr(PL, name) == value)
        return list(query)
    finally:
        db.close()


def info_calls(panel, action):
    return [r['query'].get('series_id') or r['query'].get('vod_id') for r in panel.requests
            if r['action'] == action]


def lookups(app):
    return [r for r in app.requests if r['path'].endswith('/lookup')]


def breaking_bad_missing(cli, db_url, tmp_path, panel, apps, *episodes):
    """Sonarr misses ``episodes`` (season, number) of Breaking Bad (tmdbId 1396);
    the panel's catalogue is stored. The config file."""
    radarr, sonarr = apps
    show = sonarr.add_series('Breaking Bad', 2008, path='/tv/Breaking Bad', tmdbId=1396)
    for season, number in episodes:
        sonarr.add_episode(show['id'], season, number)
    ini = ini_for(tmp_path, panel, apps)
    assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
    return ini


# -- series: episodes from get_series_info --------------------------------------------------------

def test_sonarr_reads_the_episodes_of_the_series_it_misses(cli, db_url, tmp_path, panel, apps):
    radarr, sonarr = apps
    show = sonarr.add_series('Breaking Bad', 2008, path='/tv/Breaking Bad', tmdbId=1396)
    e1 = sonarr.add_episode(show['id'], 1, 1)
    e2 = sonarr.add_episode(show['id'], 1, 2)
    sherlock = sonarr.add_series('Sherlock', 2010, path='/tv/Sherlock')
    sonarr.add_episode(sherlock['id'], 1, 1, has_file=True)       # nothing missing: not asked
    ini = ini_for(tmp_path, panel, apps)
    assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
    assert info_calls(panel, 'get_series_info') == []               # process asks no per-item call
    code, out, err = cli('--config', ini, '--db', db_url, '-v', 'sonarr')
    assert code == 0, err
    # Only the one series Sonarr misses episodes of, found by its tmdbId.
    assert info_calls(panel, 'get_series_info') == ['3']
    assert 'asked the panel 1' in out and 'downloaded 2' in out
    episodes = {r.stream_id: r for r in lines(db_url, tmp_path, content_type='tvshows')}
    assert sorted(episodes) == [501, 502]
    first = episodes[501]
    assert (first.source, first.series_id, first.tmdb_id, first.season, first.episode, first.title,
            first.container_extension) == ('xtream', 3, 1396, 1, 1, 'Breaking Bad', 'mkv')
    assert first.url == panel.url + file_path('series', 501)
    done = tmp_path / 'lib' / 'tv' / 'Breaking Bad' / 'Season 01'
    assert sha256(done / 'Breaking Bad - S01E01.mkv') == sha256(EP1)
    assert sha256(done / 'Breaking Bad - S01E02.mkv') == sha256(EP2)
    assert "its TMDB id from the panel, 1396, is the series' tmdbId in Sonarr" in err
    assert lookups(sonarr) == []                 # decided by id: no series/lookup
    # The answer is kept [xtream] info_refresh_hours: the next run asks nothing.
    sonarr.add_episode(show['id'], 1, 3)
    code, out, err = cli('--config', ini, '--db', db_url, 'sonarr')
    assert code == 0, err
    assert info_calls(panel, 'get_series_info') == ['3'] and 'asked the panel' not in out
    assert e1['id'] != e2['id']


def test_series_info_is_cached_and_refreshed(cli, db_url, tmp_path, panel, apps):
    radarr, sonarr = apps
    show = sonarr.add_series('Breaking Bad', 2008, path='/tv/Breaking Bad', tmdbId=1396)
    sonarr.add_episode(show['id'], 2, 1)                            # not on the panel yet
    sherlock = sonarr.add_series('Sherlock', 2010, path='/tv/Sherlock')
    sonarr.add_episode(sherlock['id'], 2, 1)
    ini = ini_for(tmp_path, panel, apps)
    assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
    for _ in range(3):
        code, out, err = cli('--config', ini, '--db', db_url, 'sonarr')
        assert code == 0, err
    # Breaking Bad by its tmdbId, Sherlock by its title (the panel gives it no id): once each.
    assert sorted(info_calls(panel, 'get_series_info')) == ['3', '5']
    # info_refresh_hours = 0: asked every run; an episode gone from the panel is marked gone,
    # the other series' episodes are not touched.
    del panel.series_info[3]['episodes']['1'][1]
    ini = ini_for(tmp_path, panel, apps, '[xtream]\ninfo_refresh_hours = 0\n')
    code, out, err = cli('--config', ini, '--db', db_url, 'sonarr')
    assert code == 0, err
    assert sorted(info_calls(panel, 'get_series_info')) == ['3', '3', '5', '5']
    rows = {r.stream_id: r for r in lines(db_url, tmp_path, content_type='tvshows')}
    assert rows[502].missing_since is not None
    assert rows[501].missing_since is None and rows[701].missing_since is None


def test_a_series_whose_id_is_another_is_not_asked(db, panel):
    """A panel series with the title of Sonarr's series but another TMDB id is not it."""
    client = stalkeer.XtreamClient(stalkeer.XtreamSettings(panel.url, USER, PASSWORD))
    stalkeer.XtreamIngest(client).run_panel()
    details = stalkeer.PanelDetails(client)
    assert details.series_episodes([{'title': 'Other Show', 'tmdbId': 9999}]) == 0
    assert details.series_episodes([{'title': 'Other Show', 'tmdbId': 4242}]) == 1
    assert info_calls(panel, 'get_series_info') == ['4']


BAD_SERIES_ANSWERS = [
    # (answer, problems warned, episode ids stored)
    ({'episodes': {'1': [{'id': '501', 'episode_num': '1', 'season': '1', 'container_extension': 'mkv'},
                         {'id': '', 'episode_num': 2, 'season': 1},
                         {'id': 503, 'season': 1},
                         {'id': 504, 'episode_num': 'x', 'season': 1},
                         'not an episode', None]}},
     ['without a usable "id"', 'episode id 503 has no usable "episode_num"',
      'episode id 504 has no usable "episode_num"', 'a JSON string, not an object', 'null, not an object'],
     [501]),
    # a list of seasons, and a flat list; the season from the record or its key
    ({'episodes': [[{'id': 501, 'episode_num': 1, 'season': 1}], [{'id': 511, 'episode_num': 1, 'season': 2}]]},
     [], [501, 511]),
    ({'episodes': [{'id': 501, 'episode_num': 1, 'season': 1}, {'id': 502, 'episode_num': 2}]},
     ['episode id 502 has no usable "season"'], [501]),
    ({'episodes': {'1': [{'id': 501, 'episode_num': 1}], '2': 'x'}}, ["season '2' is a JSON string"], [501]),
    ({'episodes': {'1': [{'id': 501, 'episode_num': 1}, {'id': 501, 'episode_num': 2}]}},
     ['episode id 501 is listed twice'], [501]),
    ({'episodes': 'none'}, ['"episodes" is a JSON string'], []),
    ({'info': {}}, ['no "episodes" in the answer'], []),
    ({'episodes': []}, [], []),
]


@pytest.mark.parametrize('answer, problems, stored', BAD_SERIES_ANSWERS)
def test_bad_series_info_records(db, panel, caplog, answer, problems, stored):
    client = stalkeer.XtreamClient(stalkeer.XtreamSettings(panel.url, USER, PASSWORD))
    stalkeer.XtreamIngest(client).run_panel()
    panel.series_info[3] = answer
    caplog.set_level('WARNING')
    assert stalkeer.PanelDetails(client).series_episodes([{'title': 'Breaking Bad', 'tmdbId': 1396}]) == 1
    warned = [r.getMessage() for r in caplog.records if 'get_series_info of series_id 3' in r.getMessage()]
    assert len(warned) == len(problems), warned          # one warning per bad record
    for problem, message in zip(problems, warned):
        assert problem in message
    assert sorted(r.stream_id for r in PL.select().where(PL.content_type == 'tvshows')) == stored
    assert PL.get(PL.series_id == 3, PL.content_type == 'series').panel_info_at is not None


@pytest.mark.parametrize('fault', [
    dict(html=True), dict(status=500), dict(body='{"episodes": {"1": [{"id": 5'), dict(body='[]'),
    dict(body='null'), dict(cut=20), dict(status=401),
])
def test_bad_series_info_answers_fail_that_series_only(db, panel, caplog, fault):
    client = stalkeer.XtreamClient(stalkeer.XtreamSettings(panel.url, USER, PASSWORD), attempts=1)
    stalkeer.XtreamIngest(client).run_panel()
    details = stalkeer.PanelDetails(client)
    assert details.series_episodes([{'title': 'Breaking Bad', 'tmdbId': 1396}]) == 1
    panel.fault('get_series_info', times=1, **fault)
    details = stalkeer.PanelDetails(stalkeer.XtreamClient(
        stalkeer.XtreamSettings(panel.url, USER, PASSWORD, info_refresh_hours=0), attempts=1))
    caplog.clear()
    assert details.series_episodes([{'title': 'Breaking Bad', 'tmdbId': 1396},
                                    {'title': 'Sherlock'}]) == 2
    warned = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert len(warned) == 1 and 'get_series_info of series_id 3' in warned[0], warned
    assert 'Traceback' not in caplog.text and PASSWORD not in caplog.text
    # Nothing stored is lost, and the other series is read.
    rows = {r.stream_id: r for r in PL.select().where(PL.content_type == 'tvshows')}
    assert sorted(rows) == [501, 502, 701] and all(r.missing_since is None for r in rows.values())


def test_a_bad_answer_fails_the_series_not_the_sonarr_run(cli, db_url, tmp_path, panel, apps):
    ini = breaking_bad_missing(cli, db_url, tmp_path, panel, apps, (1, 1))
    panel.fault('get_series_info', html=True)
    code, out, err = cli('--config', ini, '--db', db_url, 'sonarr')
    assert code == 0, err
    assert 'answered get_series_info with an HTML page' in err and 'Traceback' not in err
    assert 'missing 1, matched 0' in out and PASSWORD not in out + err


# -- movies: get_vod_info, and ids that beat titles ------------------------------------------------

def test_radarr_takes_the_line_whose_panel_id_is_the_film(cli, db_url, tmp_path, apps):
    """Two panel films named alike: the ids tell them apart, with no lookup and no
    probe; a line whose id says another film is refused whatever its title says."""
    radarr, sonarr = apps
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', tmdb_id=949)
    radarr.add_world_movie('Heat', 1986)
    radarr.add_movie('Dune', 2021, path='/movies/Dune (2021)', tmdb_id=438631)
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_movie(12, 'Heat', tmdb=949)                      # no year: only the id says which
        fake.add_movie(13, 'Heat (1995)', tmdb=70125)             # the title says ours, the id not
        fake.add_movie(20, 'Dune (2021)', tmdb=841)               # Dune's title and year, 1984's id
        fake.files[file_path('movie', 20)] = HEAT
        fake.files[file_path('movie', 12)] = HEAT
        ini = ini_for(tmp_path, fake, apps, '[quality]\npreference = 1080p, unknown\n')
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        code, out, err = cli('--config', ini, '--db', db_url, '-v', 'radarr')
        files = [r['path'] for r in fake.requests if r['path'] != '/player_api.php']
        vod = info_calls(fake, 'get_vod_info')
    assert code == 0, err
    assert 'missing 2, matched 1, downloaded 1' in out and 'not sure it is the same 1' in out
    assert sha256(tmp_path / 'lib' / 'movies' / 'Heat (1995)' / 'Heat (1995).mkv') == sha256(HEAT)
    assert not (tmp_path / 'lib' / 'movies' / 'Dune (2021)').exists()
    # -v says why each line was taken or refused.
    assert "'Heat': taken, its TMDB id from the panel, 949, is Radarr's tmdbId" in err
    assert "'Heat (1995)': refused, the panel gives it TMDB id 70125, the film's is 949" in err
    assert "'Dune (2021)': refused, the panel gives it TMDB id 841, the film's is 438631" in err
    # One GET of the file taken (no probe: a Range request of its header would be one more),
    # no lookup asked of Radarr, no get_vod_info (every line had its id).
    assert files == [file_path('movie', 12)]
    assert lookups(radarr) == [] and vod == []
    assert 'looked up' not in out and 'probed' not in out


def test_get_vod_info_fills_the_id_of_candidates_without_one(cli, db_url, tmp_path, apps):
    radarr, sonarr = apps
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', tmdb_id=949)
    radarr.add_movie('Dune', 2021, path='/movies/Dune (2021)', tmdb_id=438631, has_file=True)
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_movie(12, 'Heat')                                  # no tmdb, no year
        fake.add_movie(13, 'Heat')                                  # another Heat, per its details
        fake.add_movie(20, 'Dune (2021)')                           # not missing: never asked
        fake.add_movie(21, 'Alien (1979)')                          # no missing film's title
        fake.vod_info[12] = {'info': {'tmdb_id': '949', 'duration_secs': 10200,
                                      'video': {'width': 1920, 'height': 800}}, 'movie_data': {}}
        fake.vod_info[13] = {'info': {'tmdb_id': 70125, 'duration_secs': '6060'}, 'movie_data': {}}
        fake.files[file_path('movie', 12)] = HEAT
        ini = ini_for(tmp_path, fake, apps)
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        code, out, err = cli('--config', ini, '--db', db_url, '-v', 'radarr')
        assert code == 0, err
        assert sorted(info_calls(fake, 'get_vod_info')) == ['12', '13']
        rows = {r.stream_id: r for r in lines(db_url, tmp_path, content_type='movies')}
        assert (rows[12].tmdb_id, rows[13].tmdb_id, rows[20].tmdb_id) == (949, 70125, None)
        assert 'downloaded 1' in out and 'asked the panel 2' in out
        assert sha256(tmp_path / 'lib' / 'movies' / 'Heat (1995)' / 'Heat (1995).mkv') == sha256(HEAT)
        assert lookups(radarr) == []
        db = stalkeer.open_database(db_url, str(tmp_path))
        try:
            probe = stalkeer.LineProbe.get(stalkeer.LineProbe.line == rows[12].id)
            assert (probe.duration_seconds, probe.resolution, probe.note) == (10200, '1080p', 'get_vod_info')
        finally:
            db.close()
        # Kept: the next run asks nothing (the ids are known now).
        code, out, err = cli('--config', ini, '--db', db_url, 'radarr')
        assert sorted(info_calls(fake, 'get_vod_info')) == ['12', '13']


@pytest.mark.parametrize('answer, warning, kept', [
    ([], 'answered get_vod_info with a JSON list where an object was expected', False),
    ({'info': 'x'}, '"info" is a JSON string, not an object', True),
    ({'info': {'tmdb_id': '', 'duration_secs': 'abc', 'video': []}}, None, True),
    ({'movie_data': {}}, '"info" is null, not an object', True),
])
def test_bad_vod_info_answers(db, caplog, answer, warning, kept):
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_category('movie', 1, 'Movies')     # (a category the panel does not list is a warning)
        fake.add_movie(12, 'Heat')
        client = stalkeer.XtreamClient(stalkeer.XtreamSettings(fake.url, USER, PASSWORD), attempts=1)
        stalkeer.XtreamIngest(client).run_panel()
        fake.vod_info[12] = answer
        caplog.set_level('WARNING')
        details = stalkeer.PanelDetails(client)
        assert details.movie_details([{'title': 'Heat', 'year': 1995, 'tmdbId': 949}]) == 1
    warned = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    if warning:
        assert len(warned) == 1 and warning in warned[0] and 'get_vod_info of vod_id 12' in warned[0]
    else:
        assert warned == []
    line = PL.get(PL.stream_id == 12)
    assert line.tmdb_id is None and (line.panel_info_at is not None) is kept
    assert stalkeer.LineProbe.select().count() == 0


@pytest.mark.parametrize('fault', [dict(html=True), dict(status=503), dict(body='{"info": '), dict(cut=5)])
def test_vod_info_that_fails_is_asked_again(db, caplog, fault):
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_movie(12, 'Heat')
        client = stalkeer.XtreamClient(stalkeer.XtreamSettings(fake.url, USER, PASSWORD), attempts=1)
        stalkeer.XtreamIngest(client).run_panel()
        fake.fault('get_vod_info', times=1, **fault)
        movies = [{'title': 'Heat', 'year': 1995, 'tmdbId': 949}]
        assert stalkeer.PanelDetails(client).movie_details(movies) == 1
        assert 'get_vod_info of vod_id 12' in caplog.text and PL.get().panel_info_at is None
        assert stalkeer.PanelDetails(client).movie_details(movies) == 1
        assert PL.get().panel_info_at is not None and PL.get().tmdb_id is None
        assert stalkeer.PanelDetails(client).movie_details(movies) == 0     # kept now


# -- the account in radarr/sonarr runs --------------------------------------------------------------

def test_max_connections_caps_the_transfers(cli, db_url, tmp_path, apps):
    limiter = stalkeer.HostLimiter(3)
    limiter.cap('http://panel:8080', 1)
    assert limiter('http://panel:8080/movie/u/p/1.mkv')._value == 1
    assert limiter('http://other/x.mkv')._value == 3
    limiter.cap('http://panel:8080', 2)              # never raised by a later cap
    assert limiter.limit_of('http://panel:8080/x') == 1
    radarr, sonarr = apps
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', tmdb_id=949)
    for max_connections, configured, capped in ((1, 3, True), (4, 2, False), (2, 2, False)):
        with FakePanel(USER, PASSWORD, max_connections=max_connections) as fake:
            fake.add_movie(12, 'Heat (1995)', tmdb=949)
            ini = ini_for(tmp_path, fake, apps, downloads=f'max_connections_per_host = {configured}\n')
            assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
            code, out, err = cli('--config', ini, '--db', db_url, '-v', 'radarr', '--dry-run')
        assert code == 0, err
        message = f"at most {max_connections} transfer(s) at a time, the account's max_connections"
        assert (message in err) is capped, err


@pytest.mark.parametrize('status, days, warning', [
    ('Active', 3, 'the account expires on'),
    ('Active', -2, 'the account expired on'),
    ('Banned', 300, "the account is not active (status 'Banned')"),
    ('Active', 30, None),
])
@pytest.mark.parametrize('service', ['radarr', 'sonarr'])
def test_radarr_and_sonarr_runs_warn_about_the_account(cli, db_url, tmp_path, apps, status, days,
                                                       warning, service):
    exp = int(time.time() + days * 86400)
    with FakePanel(USER, PASSWORD, status=status, exp_date=exp) as fake:
        fake.add_movie(12, 'Heat (1995)')
        ini = ini_for(tmp_path, fake, apps)
        code, out, err = cli('--config', ini, '--db', db_url, service)
    assert code == 0, err
    if warning:
        assert warning in err and 'the Xtream panel at' in err
        assert err.count(warning) == 1
    else:
        assert 'account' not in err
    assert PASSWORD not in out + err


def test_a_panel_that_does_not_answer_leaves_the_run_to_the_stored_lines(cli, db_url, tmp_path, apps):
    radarr, sonarr = apps
    with FakePanel(USER, PASSWORD) as fake:
        ini = ini_for(tmp_path, fake, apps)
        fake.fault('account', html=True)
        code, out, err = cli('--config', ini, '--db', db_url, 'radarr')
    assert code == 0, err
    assert 'this run uses the lines already stored' in err and 'Traceback' not in err



@pytest.mark.parametrize('service', ['radarr', 'sonarr'])
def test_a_first_dry_run_beside_a_panel_that_does_not_answer_creates_nothing(cli, tmp_path, apps, service):
    """The README's first run: `--dry-run` before any database exists, the panel
    down. Its stored account limit is looked up only where a database is open
    (trial-16b N2: a traceback, "Cannot use uninitialized Proxy", exit 1)."""
    db = tmp_path / 'first.db'
    with FakePanel(USER, PASSWORD) as fake:
        ini = ini_for(tmp_path, fake, apps)
        fake.fault('account', html=True)
        code, out, err = cli('--config', ini, '--db', f'sqlite:///{db}', service, '--dry-run')
    assert 'Traceback' not in err and 'Proxy' not in err, err
    assert code in (0, 2), err
    assert 'this run uses the lines already stored' in err
    assert not db.exists()
    assert PASSWORD not in out + err

# -- every title-ambiguous pair of the matching tables, decided by id -------------------------------

class CountingCatalogue(Catalogue):
    def __init__(self, items):
        super().__init__(items)
        self.asked = 0

    def lookup(self, term):
        self.asked += 1
        return super().lookup(term)


def panel_line(tmp, text, content_type, tmdb, season=None, episode=None):
    """One line as a panel gives it: the line read as the M3U's (the panel's records
    are classified the same way), with the panel's source, TMDB id and numbering."""
    PL.delete().execute()
    playlist = tmp / 'case.m3u'
    kind = 'movie' if content_type == 'movies' else 'series'
    playlist.write_text(f'#EXTM3U\n#EXTINF:-1 tvg-name="{text}",{text}\nhttp://h/{kind}/u/p/1.mkv\n',
                        encoding='utf-8')
    stalkeer.PlaylistIngest(stalkeer.LineFilter()).run(str(playlist))
    values = {PL.source: 'xtream', PL.tmdb_id: tmdb, PL.stream_id: 1}
    if content_type == 'tvshows':
        values.update({PL.season: season, PL.episode: episode, PL.series_id: 9, PL.episode_end: None,
                       PL.absolute_episode: None, PL.air_date: None, PL.content_type: 'tvshows'})
    PL.update(values).execute()


def probed_unless_disagreeing(match):
    """Whether the line taken by id is probed although its title agrees (or not probed
    although it disagrees)."""
    verdict = next(v for v in match.verdicts if v.taken)
    return (match.probe_of(verdict.line.id) is not None) != verdict.why.endswith('runtime checked')


def test_every_ambiguous_movie_pair_is_decided_by_id(db, tmp_path):
    """Each line of the movie tables (traps and should-match: the same title in two
    years, the same title and year, numbers read as years), served by a panel: with
    the film's TMDB id it is taken, with another film's it is refused, whatever its
    title says; never a lookup, and a runtime probe only when its title or year is
    not the film's (trial-16b: a panel id is typed by hand)."""
    catalogue = CountingCatalogue(WORLD_MOVIES)
    wrong = []
    cases = [(t, y, line) for (t, y), line, _m, _w in MOVIE_TRAPS] + \
        [(t, y, line) for (t, y), line, _m in MOVIE_SHOULD_MATCH]
    for title, year, text in cases:
        movie = dict(world_film(title, year), id=1)
        other = next(m for m in WORLD_MOVIES if m['tmdbId'] != movie['tmdbId']
                     and stalkeer.match_key(m['title']) == stalkeer.match_key(title)) \
            if any(m['tmdbId'] != movie['tmdbId'] and stalkeer.match_key(m['title']) == stalkeer.match_key(title)
                   for m in WORLD_MOVIES) else {'tmdbId': 1}
        trailer = 'trailer' in text.lower()
        for tmdb, expected in ((movie['tmdbId'], not trailer), (other['tmdbId'], False)):
            panel_line(tmp_path, text, 'movies', tmdb)
            lookups = stalkeer.TitleLookups(catalogue, 'radarr', write=False, use_cache=False)
            match = stalkeer.match_movies([movie], lambda: collections.Counter(), lookups)[1]
            taken = bool(match.lines)
            if taken != expected or (taken and probed_unless_disagreeing(match)):
                wrong.append(f'{text!r} with TMDB {tmdb} for {title} ({year}): '
                             + '; '.join(v.why for v in match.verdicts))
    assert wrong == []
    assert catalogue.asked == 0                  # no lookup at all


def test_every_ambiguous_episode_pair_is_decided_by_id(db, tmp_path):
    """Each line of the episode table (two series of one name, country versions,
    anime and daily numbering), served by a panel with its own season and episode:
    with the series' TMDB id it is that episode, with another series' never; no lookup."""
    catalogue = CountingCatalogue(WORLD_SERIES)
    wrong = []
    for title, season, number, text, _expected, why, *more in EPISODE_CASES:
        series = dict(world_show(title), id=1, tmdbId=80_000 + WORLD_SERIES.index(world_show(title)))
        ep = {'id': 1, 'seriesId': 1, 'series': series, 'seasonNumber': season, 'episodeNumber': number,
              'runtime': 45, **(more[0] if more else {})}
        for tmdb, expected in ((series['tmdbId'], True), (series['tmdbId'] + 500, False)):
            panel_line(tmp_path, text, 'tvshows', tmdb, season, number)
            lookups = stalkeer.TitleLookups(catalogue, 'sonarr', write=False, use_cache=False)
            match = stalkeer.match_episodes([ep], lookups=lookups)[1]
            taken = bool(match.lines)
            if taken != expected or (taken and probed_unless_disagreeing(match)):
                wrong.append(f'{text!r} with TMDB {tmdb} for {title} S{season:02d}E{number:02d} [{why}]: '
                             + '; '.join(v.why for v in match.verdicts))
    assert wrong == []
    assert catalogue.asked == 0


def test_an_m3u_tvg_id_is_no_panel_id(db, tmp_path):
    """Only a TMDB id a panel gave decides: the same number in an M3U line's own
    tmdb_id column (written by nothing but the panel) with source 'm3u' does not."""
    panel_line(tmp_path, 'Heat', 'movies', 949)
    PL.update(source='m3u').execute()
    movie = dict(world_film('Heat', 1995), id=1, tmdbId=949)
    lookups = stalkeer.TitleLookups(CountingCatalogue(WORLD_MOVIES), 'radarr', write=False, use_cache=False)
    match = stalkeer.match_movies([movie], lambda: collections.Counter(), lookups)[1]
    assert match.lines == []          # 'Heat' without a year: three films of that name


def test_a_series_gone_from_the_panel_takes_its_episodes(cli, db_url, tmp_path, panel, apps):
    ini = breaking_bad_missing(cli, db_url, tmp_path, panel, apps, (2, 1))
    assert cli('--config', ini, '--db', db_url, 'sonarr')[0] == 0
    panel.series = [s for s in panel.series if s['name'] != 'Breaking Bad']
    code, out, err = cli('--config', ini, '--db', db_url, 'process', '--json')
    assert code == 0, err
    assert json.loads(out)['disappeared'] == 3              # the series and its two episodes
    assert all(r.missing_since is not None for r in lines(db_url, tmp_path, series_id=3))


def test_panel_ids_are_looked_up_through_their_index(db, tmp_path):
    panel_line(tmp_path, 'Heat (1995)', 'movies', 949)
    if stalkeer.is_postgres(db):
        db.execute_sql('SET enable_seqscan = off')          # a tiny table: make the planner show its hand
    plan = _plan(db, stalkeer.line_query('tmdb_id', [949, 70125]))
    if stalkeer.is_postgres(db):
        db.execute_sql('SET enable_seqscan = on')
    assert 'processed_lines_tmdb_id' in plan, plan
    found = stalkeer._lines_by_panel_tmdb('movies', [949, 70125])
    assert [(line.title, line.tmdb_id) for line in found[949]] == [('Heat', 949)] and 70125 not in found
    assert stalkeer._lines_by_panel_tmdb('tvshows', [949]) == {}       # TMDB numbers films and series apart


# -- trial-16b: wrong downloads through panel ids -------------------------------------------------

def test_a_vod_movie_id_never_fills_an_episode(cli, db_url, tmp_path, apps):
    """TMDB numbers films and TV shows apart: a VOD stream's id (a movie id) is not
    Sonarr's series tmdbId, whatever its name reads as (trial-16b F0)."""
    radarr, sonarr = apps
    show = sonarr.add_series('Breaking Bad', 2008, path='/tv/Breaking Bad', tmdbId=1396)
    sonarr.add_episode(show['id'], 1, 1)
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_movie(61, 'Mr Robot S01E01', tmdb=1396)
        fake.files[file_path('movie', 61)] = HEAT
        ini = ini_for(tmp_path, fake, apps)
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        code, out, err = cli('--config', ini, '--db', db_url, '-v', 'sonarr')
        files = [r['path'] for r in fake.requests if r['path'] != '/player_api.php']
    assert code == 0, err
    assert 'downloaded 0' in out and files == []
    assert not (tmp_path / 'lib' / 'tv').exists()


def library_after_a_run(cli, db_url, tmp_path, apps, stock, app):
    """A panel that ``stock(fake)`` fills; ``process`` its playlist, then ``-v app``
    (which must exit 0). ({path under lib: sha256} of every file in the library, out, err)."""
    with FakePanel(USER, PASSWORD) as fake:
        stock(fake)
        ini = ini_for(tmp_path, fake, apps)
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        code, out, err = cli('--config', ini, '--db', db_url, '-v', app)
    assert code == 0, err
    lib = tmp_path / 'lib'
    return {p.relative_to(lib).as_posix(): sha256(p) for p in sorted(lib.rglob('*')) if p.is_file()}, out, err


def test_an_id_several_titles_share_does_not_decide(cli, db_url, tmp_path, apps):
    """Two panel streams with one TMDB id and different titles/years: the id is wrong
    on one of them, so the title rules decide (trial-16b F1)."""
    radarr, sonarr = apps
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', tmdb_id=949)

    def stock(fake):
        fake.add_movie(30, 'Heat 2 (2026)', tmdb=949)
        fake.add_movie(31, 'Heat (1995)', tmdb=949)
        fake.files[file_path('movie', 30)] = EP1
        fake.files[file_path('movie', 31)] = HEAT
    files, out, err = library_after_a_run(cli, db_url, tmp_path, apps, stock, 'radarr')
    assert files == {'movies/Heat (1995)/Heat (1995).mkv': sha256(HEAT)}, out + err


def test_a_series_id_two_countries_share_does_not_decide(cli, db_url, tmp_path, apps):
    """'The Office (UK)' and '(US)' with one TMDB id: the country rule decides (trial-16b F2)."""
    radarr, sonarr = apps
    show = sonarr.add_series('The Office (US)', 2005, path='/tv/The Office (US)', tmdbId=2316, network='NBC')
    sonarr.add_episode(show['id'], 1, 1)

    def stock(fake):
        fake.add_series(3, 'The Office (UK)', tmdb=2316, episodes={1: [(1, 551)]})
        fake.add_series(4, 'The Office (US)', tmdb=2316, episodes={1: [(1, 552)]})
        fake.files[file_path('series', 551)] = EP1
        fake.files[file_path('series', 552)] = EP2
    files, out, err = library_after_a_run(cli, db_url, tmp_path, apps, stock, 'sonarr')
    got = list(files.values())
    assert sha256(EP1) not in got and got == [sha256(EP2)], out + err
    assert "TMDB id from the panel, 2316" not in err


def test_an_empty_body_is_no_download(cli, db_url, tmp_path, apps):
    """HTTP 200 with 0 bytes (an offline stream, an account over its limit) fails the
    attempt: no 0-byte file in the library (trial-16b F9)."""
    radarr, sonarr = apps
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', tmdb_id=949)
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_movie(12, 'Heat (1995)', tmdb=949)
        fake.files[file_path('movie', 12)] = b''
        ini = ini_for(tmp_path, fake, apps)
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        code, out, err = cli('--config', ini, '--db', db_url, 'radarr')
    assert 'downloaded 0' in out and 'failed 1' in out, out + err
    assert 'empty body' in err
    assert not (tmp_path / 'lib' / 'movies' / 'Heat (1995)' / 'Heat (1995).mkv').exists()


@pytest.mark.parametrize('reprocess', [('process', '--force'), ('category',)])
def test_a_vod_info_refusal_survives_a_reprocess(cli, db_url, tmp_path, apps, reprocess):
    """get_vod_info said the line is another film; a rewrite of the line (process
    --force, a category change) clears its panel_info_at with the id, so the panel
    is asked again and the line stays refused (trial-16b F1b)."""
    radarr, sonarr = apps
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', tmdb_id=949, runtime=100)   # the panel's 6000 s fit
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_category('movie', 7, 'Recently added')
        record = fake.add_movie(10, 'Heat (1995)')
        fake.files[file_path('movie', 10)] = HEAT
        fake.vod_info[10] = {'info': {'tmdb_id': '70125', 'duration_secs': 6000}, 'movie_data': {'stream_id': 10}}
        ini = ini_for(tmp_path, fake, apps)
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        code, out, err = cli('--config', ini, '--db', db_url, '-v', 'radarr')
        assert code == 0 and 'downloaded 0' in out, out + err
        if reprocess == ('category',):
            record['category_id'], record['category_ids'] = '7', [7]
            assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        else:
            assert cli('--config', ini, '--db', db_url, *reprocess)[0] == 0
        code, out, err = cli('--config', ini, '--db', db_url, '-v', 'radarr')
        vod = info_calls(fake, 'get_vod_info')
    assert code == 0, err
    assert 'downloaded 0' in out and "the panel gives it TMDB id 70125" in err
    assert vod == ['10', '10']
    assert not (tmp_path / 'lib' / 'movies' / 'Heat (1995)').exists()


def test_episode_lines_follow_their_series_id(cli, db_url, tmp_path, apps):
    """The panel corrects a series' TMDB id: its stored episodes carry the new one
    at once (trial-16b F10)."""
    radarr, sonarr = apps
    show = sonarr.add_series('Breaking Bad', 2008, path='/tv/Breaking Bad', tmdbId=1396)
    sonarr.add_episode(show['id'], 1, 2)
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_series(3, 'Other Show', tmdb=1396, episodes={1: [(1, 501)]})
        fake.files[file_path('series', 501)] = EP1
        ini = ini_for(tmp_path, fake, apps)
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        assert cli('--config', ini, '--db', db_url, 'sonarr')[0] == 0
        fake.series[0]['tmdb'] = 4242
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        sonarr.add_episode(show['id'], 1, 1)
        code, out, err = cli('--config', ini, '--db', db_url, '-v', 'sonarr')
    assert code == 0, err
    assert 'downloaded 0' in out, out + err
    assert [line.tmdb_id for line in lines(db_url, tmp_path, source='xtream')] == [4242, 4242]


def test_a_failed_account_call_keeps_the_stored_cap(cli, db_url, tmp_path, apps):
    """The run's account call fails: the max_connections stored by `process` caps
    the transfers (trial-16b F5)."""
    radarr, sonarr = apps
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)', tmdb_id=949)
    with FakePanel(USER, PASSWORD, max_connections=1) as fake:
        fake.add_movie(12, 'Heat (1995)', tmdb=949)
        ini = ini_for(tmp_path, fake, apps, downloads='max_connections_per_host = 3\n')
        assert cli('--config', ini, '--db', db_url, 'process')[0] == 0
        fake.fault('account', html=True)
        code, out, err = cli('--config', ini, '--db', db_url, '-v', 'radarr', '--dry-run')
    assert code == 0, err
    assert 'this run uses the lines already stored' in err
    assert "at most 1 transfer(s) at a time, the account's max_connections" in err


@pytest.mark.parametrize('value, seconds', [('01:10:00', 4200), ('00:45:00', 2700), ('', None),
                                            ('00:00:00', None), ('1h', None), (None, None), (90, None)])
def test_vod_info_duration_text(value, seconds):
    """get_vod_info's "duration" (HH:MM:SS) when duration_secs is missing or 0 (trial-16b F11)."""
    assert stalkeer.xtream_duration(value) == seconds
