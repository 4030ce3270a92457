"""Xtream Codes panels: the faults the trial of issue 16 found (trial-16), by
kind -- odd text in answers, odd redirects, odd exp_date values, a refused
account, categories that vanish, playlist containers, rows the panel owns,
answers of the wrong shape -- against the fake panel, on both backends."""

import datetime as dt
import json
import time

import pytest

import stalkeer
from fakepanel import FakePanel
from test_serve import request, serving
from test_xtream import all_lines, ini_for, lines, process

PL = stalkeer.ProcessedLine
USER, PASSWORD = 'xzora', 'xpw-trial-9911'


@pytest.fixture
def panel():
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_category('movie', 1, 'EN | Movies')
        fake.add_category('movie', 2, 'FR | Films')
        fake.add_category('series', 3, 'EN | Series')
        fake.add_movie(12, 'Heat (1995)', tmdb=949, category_id=1)
        fake.add_movie(13, 'FR - Amélie (2001) 1080p', tmdb=194, category_id=2, ext='mp4')
        fake.add_movie(14, 'Dune (2021)', tmdb=438631, category_id=1)
        fake.add_series(4, 'Breaking Bad', tmdb=1396, category_id=3, release_date='2008-01-20')
        yield fake


def one_line_error(code, out, err, *needles):
    assert code == 2, (out, err)
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert PASSWORD not in out + err and USER not in out + err


def snapshot(db_url, tmp_path):
    return [(r.id, r.line_hash, r.url, r.tvg_name, r.group_title, r.missing_since, r.updated_at)
            for r in all_lines(db_url, tmp_path)]


# -- text the panel sends: lone surrogates, control characters (F13) --------------------------------

@pytest.mark.parametrize('where', ['name', 'category_name', 'status'])
def test_a_lone_surrogate_anywhere_is_replaced_not_a_traceback(cli, db_url, tmp_path, panel, where):
    if where == 'name':
        panel.vod[0]['name'] = 'Heat \ud800 (1995)'
    elif where == 'category_name':
        panel.vod_categories[0]['category_name'] = 'EN \udc80 Movies'
    else:
        panel.user_info['status'] = 'Act\ud800ive'
    code, out, err = process(cli, ini_for(tmp_path, panel), db_url)
    assert code == 0, err
    stored = lines(db_url, tmp_path)
    heat = stored[(12, 'movies')]
    if where == 'name':
        assert heat.tvg_name == 'Heat (1995)' and heat.title == 'Heat'
    elif where == 'category_name':
        assert heat.group_title == 'EN  Movies'
    else:
        assert 'not active' not in err
    assert len(stored) == 4


def test_control_characters_in_a_name_are_spaces(cli, db_url, tmp_path, panel):
    panel.vod[0]['name'] = '\x1b[31mHeat\x07 (1995)'
    assert process(cli, ini_for(tmp_path, panel), db_url)[0] == 0
    assert lines(db_url, tmp_path)[(12, 'movies')].tvg_name == '[31mHeat (1995)'


# -- redirects the client cannot follow (F12) -------------------------------------------------------

@pytest.mark.parametrize('location, message', [
    ('http://[::1', 'redirected to an invalid address'),
    ('ftp://127.0.0.1/x', 'redirected to an invalid address'),
    ('/player_api.php?loop=1', 'too many redirects'),
])
@pytest.mark.parametrize('action', ['account', 'get_vod_streams'])
def test_a_bad_redirect_is_one_line(cli, db_url, tmp_path, panel, action, location, message):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    before = snapshot(db_url, tmp_path)
    if 'loop' in location and action != 'account':
        location = f'/player_api.php?action={action}'
    panel.fault(action, status=302, body='', location=location)
    asked = len(panel.requests)
    code, out, err = process(cli, ini, db_url, '--source', 'xtream')
    one_line_error(code, out, err, message, f'the Xtream panel at {panel.url}')
    assert snapshot(db_url, tmp_path) == before
    # Not asked again and again: a redirect chain is hits on the account.
    assert len(panel.requests) - asked <= stalkeer.XTREAM_MAX_REDIRECTS + 4     # account, categories


def test_a_bad_redirect_of_the_account_call_falls_back_under_auto(cli, db_url, tmp_path, panel):
    (tmp_path / 'pl.m3u').write_text('#EXTM3U\n#EXTINF:-1,Heat (1995)\nhttp://h/movie/u/p/1.mkv\n',
                                     encoding='utf-8')
    panel.fault('account', status=302, body='', location='http://[::1')
    code, out, err = process(cli, ini_for(tmp_path, panel), db_url)
    assert code == 0, err
    assert 'redirected to an invalid address' in err and 'reading the M3U playlist instead' in err


def test_the_arr_clients_share_the_redirect_handling():
    calls = []

    def send():
        calls.append(1)
        raise ValueError('Invalid IPv6 URL')
    with pytest.raises(stalkeer.PanelError, match='redirected to an invalid address'):
        stalkeer.retried_request(send, lambda r: r, 3, 0, lambda s: None,
                                 timed_out=lambda: stalkeer.PanelError('t'),
                                 unreachable=lambda exc: stalkeer.PanelError(f'x: {exc}'))
    assert calls == [1]


# -- exp_date and status as panels write them (F2) --------------------------------------------------

def _ms(days):
    return str(int((time.time() + days * 86400) * 1000))


def _date(days):
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)).strftime('%Y-%m-%d %H:%M:%S')


@pytest.mark.parametrize('value, expected', [
    (None, None), ('', None), ('0', None), (0, None), ('null', None),
    ('1796105837', dt.datetime(2026, 12, 1, 6, 17, 17)), (1796105837, dt.datetime(2026, 12, 1, 6, 17, 17)),
    ('1796105837000', dt.datetime(2026, 12, 1, 6, 17, 17)),
    ('2026-12-02 10:00:00', dt.datetime(2026, 12, 2, 10, 0)), ('2026-12-02', dt.datetime(2026, 12, 2)),
    ('abc', 'abc'), (True, 'true'), ('-5', '-5'), ({'a': 1}, '{"a": 1}'),
])
def test_exp_date_forms(value, expected):
    assert stalkeer._exp_date(value) == expected


@pytest.mark.parametrize('exp_date, warning', [
    (lambda: _ms(1), 'the account expires on'),
    (lambda: _date(2), 'the account expires on'),
    (lambda: _ms(-1), 'the account expired on'),
    (lambda: 'abc', "the account's expiry date cannot be read (exp_date 'abc')"),
])
def test_an_exp_date_that_is_not_seconds_still_warns(cli, db_url, tmp_path, panel, exp_date, warning):
    panel.user_info['exp_date'] = exp_date()
    ini = ini_for(tmp_path, panel)
    code, out, err = process(cli, ini, db_url)
    assert code == 0 and warning in err, err
    code, out, err = cli('--config', ini, '--db', db_url, 'status')
    if 'cannot be read' not in warning:
        assert 'never expires' not in out and 'expire' in out


def test_a_missing_status_warns(cli, db_url, tmp_path, panel):
    panel.user_info['status'] = None
    code, out, err = process(cli, ini_for(tmp_path, panel), db_url)
    assert code == 0 and 'did not say whether the account is active' in err


# -- a refused account is what status and /metrics say (F11) ----------------------------------------

@pytest.mark.parametrize('fault, reason', [
    (dict(body='{"user_info": {"auth": 0}}'), 'auth 0'),
    (dict(status=401, body=''), 'HTTP 401'),
])
def test_a_refused_account_is_kept_as_refused(cli, db_url, tmp_path, panel, fault, reason):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    panel.fault('account', **fault)
    code, out, err = process(cli, ini, db_url)
    one_line_error(code, out, err, 'refused the account')
    code, out, err = cli('--config', ini, '--db', db_url, 'status')
    assert f'account: Refused ({reason})' in out and 'Active' not in out
    with serving(db_url, tmp_path) as server:
        server.panel = stalkeer.panel_name(stalkeer.Config(str(ini), env={}))
        status, headers, body = request(server, '/metrics')
    assert 'stalkeer_account_active 0' in body.decode()


# -- a streaming playlist is never a film (F10) -----------------------------------------------------

HLS = b'#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nseg0.ts\n#EXT-X-ENDLIST\n'


@pytest.mark.parametrize('body, content_type', [
    (HLS, 'application/vnd.apple.mpegurl'),
    (HLS, 'audio/x-mpegurl; charset=utf-8'),
    (HLS, 'video/mp4'),                                  # known only by its first bytes
    (b'\xef\xbb\xbf\n' + HLS.lower(), 'application/octet-stream'),
])
def test_the_downloader_refuses_a_streaming_playlist(server, cli, tmp_path, sqlite_url, body, content_type):
    server.add('heat.mkv', body, content_type=content_type)
    dest = tmp_path / 'Heat (1995).mkv'
    code, out, err = cli('--db', sqlite_url, 'download', server.url('heat.mkv'), dest)
    assert code == 1, (out, err)
    assert stalkeer.HLS_REFUSAL in out + err
    assert not dest.exists() and not list(tmp_path.glob('*.mkv'))


def test_the_panel_offers_no_m3u8_container_as_a_movie(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    panel.vod[0]['container_extension'] = 'm3u8'        # Heat: now HLS only
    panel.vod[2]['container_extension'] = '.MKV '       # Dune: a dot and a case some panels write
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0, err
    summary = json.loads(out)
    assert summary['filtered'] == 1 and summary['disappeared'] == 1
    assert 'only a streaming playlist (container_extension m3u8)' in err
    stored = {r.stream_id: r for r in all_lines(db_url, tmp_path) if r.stream_id}
    assert stored[12].missing_since is not None and stored[12].url.endswith('/12.mkv')
    assert not any(r.url.endswith('.m3u8') for r in stored.values())
    assert stored[14].container_extension == 'mkv' and stored[14].url.endswith('/14.mkv')
    assert stored[14].missing_since is None


# -- categories that vanish keep the stored groups (F1) ---------------------------------------------

def _groups(db_url, tmp_path):
    return {r.stream_id or r.series_id: (r.group_title, r.languages, r.missing_since is None)
            for r in all_lines(db_url, tmp_path) if r.stream_id or r.series_id}


@pytest.mark.parametrize('categories', ['[]', '{"a": 1}', '[{"category_id": "9", "category_name": "X"}]'])
@pytest.mark.parametrize('setting', ['GROUP_TITLE_EXCLUDE=^FR', 'GROUP_TITLE_INCLUDE=^EN'])
def test_an_empty_categories_answer_keeps_the_stored_groups(cli, db_url, tmp_path, panel, monkeypatch,
                                                            categories, setting):
    key, value = setting.split('=')
    monkeypatch.setenv(f'STALKEER_FILTER_{key}', value)
    ini = ini_for(tmp_path, panel)
    code, out, err = process(cli, ini, db_url)
    assert code == 0, err
    before = _groups(db_url, tmp_path)
    assert before[12][0] == 'EN | Movies' and 13 not in before        # Amélie filtered, never stored
    panel.fault('get_vod_categories', body=categories)
    panel.fault('get_series_categories', body=categories)
    code, out, err = process(cli, ini, db_url, '--json')
    if categories.startswith('{'):      # not a list at all: one line, nothing changed
        one_line_error(code, out, err, 'an object where a list was expected')
        assert _groups(db_url, tmp_path) == before
        return
    assert code == 0, err
    summary = json.loads(out)
    assert summary['disappeared'] == 0 and summary['reappeared'] == 0, summary
    assert _groups(db_url, tmp_path) == before
    assert 'name a category the panel did not list' in err and 'stored group titles are kept' in err


def test_a_new_record_of_an_unknown_category_is_not_let_past_an_exclude(cli, db_url, tmp_path, panel,
                                                                        monkeypatch):
    monkeypatch.setenv('STALKEER_FILTER_GROUP_TITLE_EXCLUDE', '^FR')
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    panel.fault('get_vod_categories', body='[]')
    panel.add_movie(15, 'FR - La Haine (1995)', category_id=2)
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0, err
    assert json.loads(out)['filtered'] == 2      # Amélie (as before) and La Haine: their category is unknown
    assert 15 not in _groups(db_url, tmp_path)
    monkeypatch.delenv('STALKEER_FILTER_GROUP_TITLE_EXCLUDE')
    assert process(cli, ini, db_url)[0] == 0     # no exclude: stored, without a group
    assert not _groups(db_url, tmp_path)[15][0]


# -- the panel owns the rows of its /movie/U/P/ URLs, whichever read stored them (F5, F5b) ----------

def _playlist(tmp_path, panel, movies):
    text = '#EXTM3U\n' + ''.join(
        f'#EXTINF:-1 tvg-name="{name}" group-title="EN | Movies",{name}\n'
        f'{panel.url}/movie/{USER}/{PASSWORD}/{sid}.{ext}\n' for sid, name, ext in movies)
    text += f'#EXTINF:-1 tvg-name="RED TV" group-title="EN | Live",RED TV\n{panel.url}/{USER}/{PASSWORD}/77\n'
    text += (f'#EXTINF:-1 tvg-name="Breaking Bad S01E01" group-title="EN | Series",Breaking Bad S01E01\n'
             f'{panel.url}/series/{USER}/{PASSWORD}/501.mkv\n')
    path = tmp_path / 'get.m3u'
    path.write_text(text, encoding='utf-8')
    return path


def test_a_panel_run_retires_the_m3u_rows_of_its_movies(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    playlist = _playlist(tmp_path, panel, [(12, 'Heat (1995)', 'mkv'), (13, 'FR - Amélie (2001) 1080p', 'mp4'),
                                           (14, 'Dune (2021)', 'mkv')])
    assert process(cli, ini, db_url, playlist)[0] == 0
    del panel.vod[1:]                      # the provider drops Amélie and Dune
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0, err
    assert json.loads(out)['disappeared'] == 2
    live = {r.url.rsplit('/', 1)[-1]: r.source for r in all_lines(db_url, tmp_path)
            if r.missing_since is None and r.url}
    # Heat adopted; the live channel and the episode line are not the panel's to retire.
    assert live == {'12.mkv': 'xtream', '77': 'm3u', '501.mkv': 'm3u'}


def test_a_filtered_panel_record_retires_its_m3u_row(cli, db_url, tmp_path, panel, monkeypatch):
    panel.vod[2]['name'] = 'Dune (2021) 4K'
    ini = ini_for(tmp_path, panel)
    playlist = _playlist(tmp_path, panel, [(12, 'Heat (1995)', 'mkv'), (14, 'Dune (2021) 4K', 'mkv')])
    assert process(cli, ini, db_url, playlist)[0] == 0
    monkeypatch.setenv('STALKEER_FILTER_TVG_NAME_EXCLUDE', '4K')
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0, err
    summary = json.loads(out)
    assert summary['filtered'] == 1 and summary['disappeared'] == 1
    dune = [r for r in all_lines(db_url, tmp_path) if (r.url or '').endswith('/14.mkv')]
    assert len(dune) == 1 and dune[0].missing_since is not None


# -- a catalogue answered with an object that is not records (F7) -----------------------------------

@pytest.mark.parametrize('action', ['get_vod_streams', 'get_series'])
@pytest.mark.parametrize('body, message', [
    ('{"user_info": {"auth": 0}}', "an object where a list was expected (with 'user_info'"),
    ('{}', 'an empty object where a list was expected'),
    ('{"error": "x"}', "an object where a list was expected (with 'error'"),
    ('{"12": {"stream_id": 12, "series_id": 12, "name": "Heat (1995)"}, "13": 5}', 'an object where a list was expected'),
])
def test_an_object_that_is_not_records_is_one_line(cli, db_url, tmp_path, panel, action, body, message):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    before = snapshot(db_url, tmp_path)
    panel.fault(action, body=body)
    code, out, err = process(cli, ini, db_url)
    one_line_error(code, out, err, message, action)
    assert snapshot(db_url, tmp_path) == before


def test_records_keyed_by_id_are_still_read(cli, db_url, tmp_path, panel):
    panel.fault('get_vod_streams', body=json.dumps({str(r['stream_id']): r for r in panel.vod}))
    code, out, err = process(cli, ini_for(tmp_path, panel), db_url, '--json')
    assert code == 0, err
    assert json.loads(out)['by_content_type']['movies'] == 3


def test_an_empty_list_of_one_kind_is_said(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    panel.fault('get_vod_streams', body='[]')
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0 and json.loads(out)['disappeared'] == 0
    assert 'answered get_vod_streams with no record, although its movies are stored' in err


# -- the account's warnings reach cron (F9) ---------------------------------------------------------

def test_account_warnings_survive_q_and_reach_the_webhook_and_healthcheck(cli, db_url, tmp_path, panel):
    from test_ops import Receiver, notify_ini
    panel.user_info['exp_date'] = int(time.time() + 3 * 86400)
    receiver = Receiver()
    try:
        ini = notify_ini(tmp_path, receiver, on='always')
        ini.write_text(ini.read_text() + f'[m3u]\nurl = {panel.playlist_url}\n', encoding='utf-8')
        code, out, err = cli('-q', '--config', ini, '--db', db_url, 'process')
        received = list(receiver.received)
    finally:
        receiver.close()
    assert code == 0, err
    assert 'the account expires on' in err and err.count('the account expires on') == 1
    hook = [json.loads(body) for path, body in received if path == '/hook']
    assert hook and 'the account expires on' in hook[-1]['warnings'][0]
    ping = [body.decode() for path, body in received if path == '/ping/abc-123']
    assert ping and 'the account expires on' in ping[-1]
    assert PASSWORD not in json.dumps(hook) + ''.join(ping)


# -- config --check says what cannot work (F4) ------------------------------------------------------

@pytest.mark.parametrize('section, expected', [
    ('url = http://p:8080/player_api.php\nusername = zorbauser7\npassword = Pw9secretXQ\n',
     ('http://p:8080', 'zorbauser7', 'Pw9secretXQ')),
    ('url = http://p:8080/sub/get.php?username=zorbauser7&password=Pw9secretXQ&type=m3u_plus\n',
     ('http://p:8080/sub', 'zorbauser7', 'Pw9secretXQ')),
    ('url = http://p:8080/player_api.php?username=zorbauser7&password=Pw9secretXQ\n'
     'username = other7user\npassword = otherPass99\n', ('http://p:8080', 'other7user', 'otherPass99')),
    # username/password without url: the configured account, at the get.php URL's panel
    ('username = other7user\npassword = otherPass99\n', ('http://g:80', 'other7user', 'otherPass99')),
])
def test_xtream_urls_are_cut_to_the_panel(tmp_path, section, expected):
    ini = tmp_path / 's.ini'
    ini.write_text('[m3u]\nurl = http://g:80/get.php?username=zorbauser7&password=Pw9secretXQ\n'
                   f'[xtream]\n{section}', encoding='utf-8')
    s = stalkeer.XtreamSettings.from_config(stalkeer.Config(str(ini), env={}))
    assert (s.url, s.username, s.password) == expected


@pytest.mark.parametrize('m3u, section, message', [
    ('', 'enabled = true\n', '[xtream] enabled = true needs a panel'),
    ('', 'username = other7user\npassword = otherPass99\n', '[xtream] username and [xtream] password are set without a panel'),
    ('url = http://g:80/get.php?username=zorbauser7&password=Pw9secretXQ\n', 'username = other7user\n',
     '[xtream] username is set without the other: [xtream] username and [xtream] password go together'),
    ('', 'url = http://p:8080/panel?x=1\nusername = a\npassword = b\n', 'without a query'),
])
def test_config_check_refuses_xtream_settings_that_cannot_work(cli, tmp_path, m3u, section, message):
    ini = tmp_path / 's.ini'
    ini.write_text(f'[m3u]\n{m3u}[xtream]\n{section}', encoding='utf-8')
    code, out, err = cli('--config', ini, 'config', '--check')
    assert code == 2 and message in err, (out, err)
    assert 'otherPass99' not in out + err


# -- auto falls back to the M3U when the catalogues are empty; the fallback keeps the ids (F16, F17) --

def test_auto_reads_the_m3u_when_the_panel_lists_nothing(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    (tmp_path / 'pl.m3u').write_text(f'#EXTM3U\n#EXTINF:-1,Heat (1995)\n{panel.url}/movie/{USER}/{PASSWORD}/12.mkv\n',
                                     encoding='utf-8')
    panel.vod.clear()
    panel.series.clear()
    code, out, err = process(cli, ini, db_url)
    assert code == 0, err
    assert 'with no usable record' in err and 'reading the M3U playlist instead' in err
    assert 'pl.m3u, is ' in err and ' old)' in err
    assert '1 entries in' in out
    code, out, err = process(cli, ini, db_url, '--source', 'xtream')
    one_line_error(code, out, err, 'with no usable record', 'enabled = auto or false reads the M3U')


def test_an_m3u_read_keeps_the_panel_ids_of_its_rows(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    _playlist(tmp_path, panel, [(12, 'Heat (1995)', 'mkv')])
    (tmp_path / 'get.m3u').rename(tmp_path / 'pl.m3u')
    panel.fault('account', status=503, body='')            # a transient failure: auto falls back
    code, out, err = process(cli, ini, db_url)
    assert code == 0 and 'reading the M3U playlist instead' in err, err
    heat = [r for r in all_lines(db_url, tmp_path) if (r.url or '').endswith('/12.mkv')]
    assert len(heat) == 1
    assert (heat[0].source, heat[0].stream_id, heat[0].tmdb_id, heat[0].container_extension) == (
        'xtream', 12, 949, 'mkv')


# -- the README's `process --download` reads the panel (F3) -----------------------------------------

def test_process_download_reads_the_panel_when_it_answers(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    code, out, err = process(cli, ini, db_url, '--download')
    assert code == 0, err
    assert f'the Xtream panel at {panel.url}' in out and 'playlist saved' not in out
    assert not any(r['path'].endswith('get.php') for r in panel.requests)
    assert lines(db_url, tmp_path)[(12, 'movies')].tmdb_id == 949
    code, out, err = process(cli, ini, db_url, '--download', '--source', 'xtream')
    assert code == 2 and '--download fetches the M3U playlist' in err


# -- /api/downloads is exactly status --json, account included (F14) --------------------------------

def test_api_downloads_carries_the_account(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    code, out, err = cli('--config', ini, '--db', db_url, 'status', '--json')
    expected = json.loads(out)
    with serving(db_url, tmp_path) as server:
        server.panel = stalkeer.panel_name(stalkeer.Config(str(ini), env={}))
        status, headers, body = request(server, '/api/downloads')
    assert status == 200
    assert json.loads(body) == expected and expected['account']['status'] == 'Active'


# -- wording (F15) ------------------------------------------------------------------------------------

def test_wording_of_a_panel_run(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    panel.user_info['exp_date'] = int(time.time() + 5 * 3600)
    code, out, err = process(cli, ini, db_url)
    assert code == 0 and ('(in 4h59m)' in err or '(in 5h00m)' in err), err
    del panel.vod[1:]
    code, out, err = process(cli, ini, db_url)
    assert "no longer in the panel's catalogue: 2" in out and 'playlist' not in out
    panel.fault('get_vod_streams', body=b'\xef\xbb\xbf' + json.dumps(panel.vod).encode())   # a BOM
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0 and json.loads(out)['source'] == 'xtream', err
    panel.user_info['exp_date'] = None
    panel.fault('get_series', status=404, body='')
    code, out, err = process(cli, ini, db_url)
    one_line_error(code, out, err, 'answered 404 for get_series')


# -- a changed password is the same catalogue (F6) ----------------------------------------------------

def test_a_changed_password_updates_the_rows_in_place(cli, db_url, tmp_path, panel):
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    before = {r.stream_id: r.id for r in all_lines(db_url, tmp_path) if r.stream_id}
    panel.password = 'NEWpass77Zq'
    code, out, err = process(cli, ini_for(tmp_path, panel), db_url, '--json')
    assert code == 0, err
    summary = json.loads(out)
    assert (summary['new'], summary['disappeared']) == (0, 0), summary
    rows = [r for r in all_lines(db_url, tmp_path) if r.stream_id]
    assert {r.stream_id: r.id for r in rows} == before
    assert all('/NEWpass77Zq/' in r.url and r.missing_since is None for r in rows)
    code, out, err = process(cli, ini_for(tmp_path, panel), db_url, '--json')
    assert json.loads(out)['unchanged'] == 4, out


def test_a_gone_movie_back_under_a_new_password_counts_as_reappeared_in_the_dry_run_too(
        cli, db_url, tmp_path, panel):
    """trial-15c F2: the dry run predicts the rows a changed password moves
    (without moving them) from what they hold: a movie that was gone and is
    back counts as reappeared, as in the real run."""
    ini = ini_for(tmp_path, panel)
    assert process(cli, ini, db_url)[0] == 0
    dune = panel.vod.pop()
    code, out, err = process(cli, ini, db_url, '--json')
    assert code == 0 and json.loads(out)['disappeared'] == 1, (out, err)
    panel.vod.append(dune)
    panel.password = 'NEWpass77Zq'
    ini = ini_for(tmp_path, panel)
    summaries = []
    for extra in (['--dry-run'], []):
        code, out, err = process(cli, ini, db_url, '--json', *extra)
        assert code == 0, err
        summaries.append({k: v for k, v in json.loads(out).items() if k not in ('elapsed_seconds', 'dry_run')})
    assert summaries[0] == summaries[1]
    assert (summaries[1]['new'], summaries[1]['reappeared']) == (0, 1), summaries[1]
