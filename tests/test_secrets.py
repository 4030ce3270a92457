"""Secrets are masked by value wherever they appear, whatever the URL shape, at
every exit (stderr, log file, status --json, /api/downloads, /api/page,
webhook, healthcheck); and no displayed text is written whole when huge."""

import io
import json
import re
import secrets
import sqlite3
import subprocess
import sys
import types
import urllib.parse

import pytest

import stalkeer
from conftest import PG_SKIP_REASON, PG_URL, ROOT, run_stalkeer, subprocess_env
from test_ops import Receiver, notify_ini
from test_serve import get_json, serving

DI = stalkeer.DownloadInfo
FAST = {'STALKEER_DOWNLOADS_RETRY_ATTEMPTS': '1', 'STALKEER_DOWNLOADS_MIN_FREE_SPACE_MB': '0'}


def account():
    """A user and password never seen before in this test run (the redactor learns)."""
    # No common word inside: another test may have taught it ('user' from /movie/user/pass/1.mkv).
    return f'u{secrets.token_hex(5)}', f'p{secrets.token_hex(6)}'


def assert_clean(text, *needles):
    for needle in needles:
        assert needle not in text, f'{needle!r} leaked in: {text[:2000]}'


@pytest.mark.parametrize('url, expected', [
    ('http://h/hls/u1/p1/12.m3u8', 'http://h/hls/***/***/12.m3u8'),
    ('http://h:8080/vodstream/u1/p1/9.mkv', 'http://h:8080/vodstream/***/***/9.mkv'),
    ('http://h/play/u1/p1/123', 'http://h/play/***/***/123'),
    ('http://h/a/b/u1/p1/123.ts', 'http://h/a/b/***/***/123.ts'),
    ('http://h/timeshift/u1/p1/60/2024-01-01:10-00/7.ts', 'http://h/timeshift/***/***/60/2024-01-01:10-00/7.ts'),
    ('http://h/vod/film.mp4', 'http://h/vod/film.mp4'),
    ('http://h/films/heat.mkv', 'http://h/films/heat.mkv'),
])
def test_every_account_path_shape_is_masked_by_pattern(url, expected):
    assert stalkeer.redact_url(url) == expected


def test_the_plain_url_shortcut_masks_exactly_as_urllib_does():
    # redact_url splits the usual http(s) URL by hand (issue 15): it must give what
    # the urllib.parse way gives, on every URL of the shared playlists and odd shapes.
    from conftest import SHARED
    urls = {line.strip() for path in sorted((SHARED / 'playlists').glob('*.m3u'))
            for line in path.read_text(encoding='utf-8', errors='replace').splitlines()
            if '://' in line and not line.startswith('#')}
    assert len(urls) > 100
    urls |= {'http://h', 'http://h/', 'http://h:8080/movie/u/p/1.mkv', 'HTTP://h/movie/u/p/1.mkv',
             'http://u:p@h/movie/u/p/1.mkv', 'http://h/live/u/p/1.ts?x=1', 'http://[::1]/a/u/p/1',
             'http://h/a b/u/p/1', 'http://h//u/p/1', 'https://h.example/hls/u/p/123.m3u8',
             'http://h/a%20b/u/p/1.mp4', 'http://h/movie/u/p/', 'http://h/\tx/u/p/1', 'http://hé/u/p/1',
             'http://h/films/2019/123.mkv', 'http://h:/u/p/1', 'http://h/u/p/1#.mkv', 'sqlite://h/u/p/1'}
    differing = [u for u in urls if stalkeer.redact_url(u) != stalkeer._redact_url_split(u)]
    assert differing == []
    # detect_extension splits the same URLs by hand too.
    for url in urls:
        try:
            parts = urllib.parse.urlsplit(url)
            expected = (parts.path, parts.fragment)
        except ValueError:
            expected = ('', '')
        assert stalkeer._url_path_and_fragment(url) == expected, url


def test_urls_in_a_text_are_found_as_the_pattern_finds_them():
    # _redact_urls_in starts its search near each '://' (issue 15): the same as
    # _URL_IN_TEXT.sub over the whole text, word boundaries and odd schemes included.
    import random
    rng = random.Random(15)
    pieces = ['http://h/movie/u1/p1/1.mkv', 'HTTPS://h/live/u1/p1/2.ts', 'postgresql://u:pw@db/x',
              'rtmps://h/a', 'xhttp://h/movie/u1/p1/3.mkv', 'ftp://h/u1/p1/4', '://', 'http:/', 'rtsp://',
              ' ', '"', '<', 'Heat (1995)', 'é', 'postgres://', '\n', 'http://h/movie/u1/p1/5.mkv?token=z']
    texts = [''.join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(3000)]
    for text in texts:
        assert stalkeer._redact_urls_in(text) == \
            stalkeer._URL_IN_TEXT.sub(lambda m: stalkeer.redact_url(m.group(0)), text), text


def test_redaction_skips_only_patterns_a_text_cannot_hold():
    # Redactor looks for URLs, requests' "url: /…" paths and secret query values
    # only in a text with '://', ': /' or '=' (issue 15): the same text either way.
    texts = ['Heat (1995): Heat [1080p] http://h/movie/u1/p1/1.mkv -> /lib/Heat (1995)/Heat (1995).mkv',
             "404 Client Error for url: /movie/u1/p1/1.mkv", 'URL: /series/u1/p1/2.mkv x',
             'see http://h/get.php?username=u1&password=p1', 'a ?token=abc b', 'plain text', '',
             'Key=1 &pass=zz', 'rtmp://h/live/u1/p1/7.ts']
    for text in texts:
        slow = stalkeer._URL_IN_TEXT.sub(lambda m: stalkeer.redact_url(m.group(0)), text)
        slow = stalkeer._XTREAM_PATH_IN_TEXT.sub(r'\1***/***', slow)
        slow = stalkeer._SECRET_QUERY_IN_TEXT.sub(r'\1***', slow)
        assert stalkeer.Redactor()(text) == slow, text


def test_the_configured_account_is_masked_by_value_whatever_the_shape():
    user, password = account()
    cfg = stalkeer.Config(None, env={
        'STALKEER_M3U_URL': f'http://p:8080/get.php?username={user}&password={password}&type=m3u_plus'})
    cfg.register_secrets()
    text = stalkeer.redact(f'odd http://cdn/x/{user}-{password}/z.mkv, then {password} alone, '
                           f'and /stream/{user}/{password}/title.mkv')
    assert_clean(text, user, password)


def test_a_url_handled_once_masks_its_account_everywhere_after():
    user, password = account()
    stalkeer.register_url_secrets(f'http://h/hls/{user}/{password}/5.m3u8')
    assert stalkeer.redact(f'login {user} with {password} refused') == 'login *** with *** refused'


def test_a_url_merely_shown_teaches_nothing():
    # An example in a message ('postgresql://user:pass@host/db') must not make 'pass' a secret.
    user, password = account()
    text = stalkeer.redact(f'use postgresql://{user}:{password}@host/db, e.g. '
                           f'http://h/movie/{user}/{password}/1.mkv')
    assert text == 'use postgresql://***:***@host/db, e.g. http://h/movie/***/***/1.mkv'
    assert stalkeer.redact(f'{user}_agent {password}') == f'{user}_agent {password}'


def test_years_and_path_words_are_not_learnt_as_secrets():
    stalkeer.redact('http://cdn/films/2019/12345.mkv and http://cdn/movie/1995/06/1.mkv')
    assert stalkeer.redact('Heat (1995) was 2019 films ago') == 'Heat (1995) was 2019 films ago'


# -- every exit of a process that never read the playlist ------------------------------------

def seed_secret_rows(tmp_path, db_url, user, password):
    """Rows whose URLs and error messages carry the account (no [m3u] url known)."""
    stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    failed = state.get_or_create(f'http://h:8080/hls/{user}/{password}/1.m3u8', str(tmp_path / 'a'), 'A')
    DI.update(status='failed', error_message=(
        f"HTTPConnectionPool(host='h', port=8080): Max retries exceeded with url: "
        f'/hls/{user}/{password}/1.m3u8 (login {user}:{password} refused)')).where(
        DI.id == failed.id).execute()
    state.get_or_create(f'http://h:8080/vodstream/{user}/{password}/2.mkv', str(tmp_path / 'b'),
                        f'B for {user}')
    stalkeer.db_proxy.obj.close()


def test_status_masks_accounts_it_learns_from_its_rows(tmp_path, sqlite_url):
    user, password = account()
    seed_secret_rows(tmp_path, sqlite_url, user, password)
    outputs = [run_stalkeer('--db', sqlite_url, *argv)
               for argv in (['status'], ['status', '--json'], ['status', '--failed'])]
    assert [code for code, _, _ in outputs] == [0, 0, 0]
    text = ''.join(out + err for _, out, err in outputs)
    assert_clean(text, user, password)
    document = json.loads(outputs[1][1])
    assert {d['url'] for d in document['downloads']} == {
        'http://h:8080/hls/***/***/1.m3u8', 'http://h:8080/vodstream/***/***/2.mkv'}
    assert 'login ***:*** refused' in text
    # Only the database keeps them.
    urls = [r[0] for r in sqlite3.connect(tmp_path / 'stalkeer.db').execute('SELECT url FROM download_info')]
    assert f'http://h:8080/hls/{user}/{password}/1.m3u8' in urls


def test_serve_masks_accounts_it_learns_from_its_rows(tmp_path, db_url):
    user, password = account()
    seed_secret_rows(tmp_path, db_url, user, password)
    with serving(db_url, tmp_path) as server:
        texts = [json.dumps(get_json(server, path)[1])
                 for path in ('/api/downloads', '/api/downloads?failed=1', '/api/page')]
    assert_clean(''.join(texts), user, password)


def test_stderr_and_the_log_file_mask_new_shapes(server, tmp_path, sqlite_url):
    user, password = account()
    log_file = tmp_path / 'stalkeer.log'
    env = subprocess_env(**FAST)
    urls = [server.url(f'hls/{user}/{password}/404.m3u8'),             # HTTP error
            f'http://127.0.0.1:9/vodstream/{user}/{password}/7.mkv']   # connection refused
    text = ''
    for i, url in enumerate(urls):
        code, out, err = run_stalkeer('download', url, tmp_path / f'{i}.mkv', '--db', sqlite_url,
                                      '--log-file', log_file, '-v', env=env)
        assert code == 1, err
        text += out + err
    text += log_file.read_text()
    assert_clean(text, user, password)
    assert '/hls/***/***/404.m3u8' in text


def test_webhook_and_healthcheck_payloads_are_masked(server, cli, tmp_path, sqlite_url):
    user, password = account()
    receiver = Receiver()
    try:
        ini = notify_ini(tmp_path, receiver, on='always')
        url = server.url(f'vodstream/{user}/{password}/9.mkv')
        code, out, err = cli('--config', ini, '--db', sqlite_url, 'download', url,
                             tmp_path / 'x.mkv', '--title', f'X {password}')
        assert code == 1
        sent = json.dumps([body.decode() for _, body in receiver.received])
    finally:
        receiver.close()
    assert '/ping/abc-123/fail' in [p for p, _ in receiver.received]
    assert_clean(sent + out + err, user, password)


def test_notifier_masks_and_clips_whatever_it_is_given():
    user, password = account()
    posted = []

    class Session:
        def post(self, url, **kwargs):
            posted.append((url, kwargs))
            return type('R', (), {'status_code': 200})()

    cfg = stalkeer.Config(None, env={'STALKEER_NOTIFY_WEBHOOK_URL': 'http://127.0.0.1:9/hook',
                                     'STALKEER_NOTIFY_HEALTHCHECK_URL': 'http://127.0.0.1:9/ping',
                                     'STALKEER_NOTIFY_ON': 'always'})
    notifier = stalkeer.Notifier(cfg, 'download', session=Session())
    notifier.download_failed(1, 'T' * 5_000_000, f'http://h/hls/{user}/{password}/1.m3u8',
                             f'refused {password}')
    notifier.finish(1, {'failed': 1, 'error': f'boom {password} ' + 'E' * 5_000_000})
    text = json.dumps([kwargs.get('json') for _, kwargs in posted]) + \
        ''.join((kwargs.get('data') or b'').decode() for _, kwargs in posted)
    assert_clean(text, user, password)
    assert len(text) < 20_000


# -- nothing huge is written whole ---------------------------------------------------------------

HUGE = 5_000_000


def bounded(text, lines=40):
    assert all(len(line) <= stalkeer.DISPLAY_LINE_MAX + 40 for line in text.splitlines()), \
        max(len(line) for line in text.splitlines())
    assert len(text) < lines * (stalkeer.DISPLAY_LINE_MAX + 40)


def test_a_huge_title_is_clipped_on_stderr_stdout_and_the_log(server, cli, tmp_path, sqlite_url):
    log_file = tmp_path / 'stalkeer.log'
    title = 'Title ' * (HUGE // 6)
    code, out, err = cli('download', server.url('nothing.mkv'), tmp_path / 'x.mkv', '--title', title,
                         '--db', sqlite_url, '--log-file', log_file, '-v')
    assert code == 1
    for text in (out, err, log_file.read_text()):
        bounded(text)
    assert 'Title Title' in err and '…' in err


def test_huge_rows_are_clipped_in_status_and_serve(cli, tmp_path, db_url):
    stalkeer.open_database(db_url, str(tmp_path))
    info = stalkeer.StateManager(owner='seed').get_or_create('http://h/x.mkv', str(tmp_path / 'x'),
                                                             'T' * HUGE)
    DI.update(status='failed', error_message='E' * HUGE).where(DI.id == info.id).execute()
    for argv in (['status'], ['status', '--failed']):
        code, out, err = cli('--db', db_url, *argv)
        assert code == 0
        bounded(out + err, lines=20)
    code, out, err = cli('--db', db_url, 'status', '--json')
    assert code == 0 and len(out) < 10_000
    document = json.loads(out)
    assert document['downloads'][0]['title'].endswith('…')
    with serving(db_url, tmp_path) as server:
        for path in ('/api/downloads', '/api/page'):
            status, data = get_json(server, path)
            assert status == 200 and len(json.dumps(data)) < 20_000


def test_a_huge_title_from_radarr_is_clipped_in_its_log_lines(cli, tmp_path, sqlite_url):
    from fakearr import FakeArr
    with FakeArr('radarr') as radarr:
        radarr.add_movie('M' * 2_000_000, 2001, path='/movies/m')
        ini = tmp_path / 's.ini'
        ini.write_text(f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       f'[downloads]\nmovies_path = {tmp_path}\n')
        code, out, err = cli('--config', ini, '--db', sqlite_url, 'radarr', '--dry-run', '-v')
    # No playlist read yet (F6 of trial 101114): exit 2 after the per-item lines.
    assert code == 2 and 'the playlist has not been read yet' in err, err[:500]
    bounded(out + err)


# -- a short or plain secret is masked where it is a credential, not as a substring (trial-16 F8) --

WEAK = [('mkv', '1995'), ('bob', 'secret'), ('anna', '424242'), ('kids', 'Summer')]


@pytest.mark.parametrize('user, password', WEAK)
def test_a_weak_secret_is_masked_where_it_is_a_credential(user, password):
    redact = stalkeer.Redactor()
    redact.add(user)
    redact.add(password)
    for text, expected in [
        (f'http://h:8080/movie/{user}/{password}/12.mkv', 'http://h:8080/movie/***/***/12.mkv'),
        (f'http://h/get.php?username={user}&password={password}&type=m3u',
         'http://h/get.php?username=***&password=***&type=m3u'),
        (f'http://{user}:{password}@h/x', 'http://***:***@h/x'),
        (f'with url: /movie/{user}/{password}/12.mkv (refused)', 'with url: /movie/***/***/12.mkv (refused)'),
        (f'with url: /{user}/{password}/77 (refused)', 'with url: /***/***/77 (refused)'),
        (f'player_api.php?username={user}&password={password}', 'player_api.php?username=***&password=***'),
    ]:
        assert redact(text) == expected
    # Free text keeps its words and numbers: masking them there would mangle titles
    # and point at the secret ("Heat (***)" says the password is 1995).
    for text in (f'Heat ({password})', f'{password.upper()} {password} {password}s',
                 f'{user}-{password}: a film.{user}', f'12.{user} {password}1 x{password}'):
        assert redact(text) == text


@pytest.mark.parametrize('secret', ['Pw9secretXQ', 'p4ssw0', 'zorbauser7', 'correcthorse', '1234567890'])
def test_a_distinctive_secret_is_still_masked_everywhere(secret):
    redact = stalkeer.Redactor()
    redact.add(secret)
    assert redact(f'odd {secret}, x{secret}y') == 'odd ***, x***y'


def test_a_short_numeric_panel_password_leaves_titles_alone(tmp_path, sqlite_url):
    """The trial's case: get.php?username=mkv&password=1995, a film of 1995."""
    from fakepanel import FakePanel
    with FakePanel('mkv', '1995') as panel:
        panel.add_category('movie', 1, 'EN | Movies')
        panel.add_movie(12, 'Heat (1995)', tmdb=949)
        panel.files['/movie/mkv/1995/12.mkv'] = b'x'
        ini = tmp_path / 's.ini'
        ini.write_text(f'[m3u]\nurl = {panel.playlist_url}\n', encoding='utf-8')
        runs = [run_stalkeer('--config', ini, '--db', sqlite_url, *argv)
                for argv in (['process'], ['lines', 'heat'], ['config', '--check'])]
    assert [code for code, _, _ in runs] == [0, 0, 0], runs
    shown = runs[1][1]
    assert '"Heat (1995)"' in shown and 'Heat (1995) ·' in shown, shown
    assert '/movie/***/***/12.mkv' in shown and '(***)' not in shown
    assert '1995/12' not in shown and '/mkv/' not in shown
    check = runs[2][1]
    assert '[m3u] url password is short or plain (4 characters)' in check
    assert '[m3u] url username is short or plain (3 characters)' in check


def test_config_check_is_quiet_about_distinctive_secrets(cli, tmp_path):
    ini = tmp_path / 's.ini'
    ini.write_text('[m3u]\nurl = http://h/get.php?username=zorbauser7&password=Pw9secretXQ\n'
                   '[radarr]\nurl = http://127.0.0.1:7878\napi_key = abc\n', encoding='utf-8')
    code, out, err = cli('--config', ini, 'config', '--check')
    assert 'short or plain' in out and '[radarr] api_key is short or plain (3 characters)' in out
    assert 'url password' not in out and 'url username' not in out

# -- notification URLs are keys: masked by value, like `config` shows them ----------------------

@pytest.mark.parametrize('webhook_path, ping_query', [
    ('api/webhooks/123456789/DiscordTOKENabcdef', ''), ('services/T0AAA/B0BBB/XyZ123secretslack', ''),
    # A query token with '.' and '-' (not a token by the parts rule) was left in pieces (trial-15e F8).
    ('api/hook?token=Sup3rS3cret-Tok.en_v4lue', '?token=An0ther-S3cret.pingtok')])
def test_unreachable_notification_urls_are_never_shown(webhook_path, ping_query, tmp_path, sqlite_url):
    """A webhook or healthcheck that cannot be reached is named in a warning on
    stderr and in the log: its path and query (the key) masked there as one unit,
    as `config` masks them."""
    uuid = '0f9c2a1e-8b7d-4c3e-9a6f-1d2e3f4a5b6c'
    log_file = tmp_path / 'stalkeer.log'
    env = subprocess_env(STALKEER_NOTIFY_WEBHOOK_URL=f'http://127.0.0.1:1/{webhook_path}',
                         STALKEER_NOTIFY_HEALTHCHECK_URL=f'http://127.0.0.1:1/ping/{uuid}{ping_query}',
                         STALKEER_NOTIFY_ON='always', **FAST)
    code, out, err = run_stalkeer('--db', sqlite_url, '--log-file', log_file, 'download',
                                  'http://127.0.0.1:1/nope/x.mkv', tmp_path / 'x.mkv', env=env)
    assert code == 1, out + err
    for line in ('stalkeer: healthcheck: cannot reach http://127.0.0.1:1/***/start (connection refused)',
                 'stalkeer: webhook: cannot reach http://127.0.0.1:1/*** (connection refused)',
                 'stalkeer: healthcheck: cannot reach http://127.0.0.1:1/***/fail (connection refused)'):
        assert line in err.splitlines(), err
    text = out + err + log_file.read_text()
    secret_parts = [p for p in re.split('[/?=]', webhook_path + ping_query) if any(c.isdigit() for c in p)]
    assert_clean(text, uuid, webhook_path, *secret_parts)
    code, out, err = run_stalkeer('--db', sqlite_url, 'config', env=env)
    assert_clean(out + err, uuid, *secret_parts)


def test_an_error_printed_past_the_command_is_logged_not_shown(cli, tmp_path, monkeypatch):
    """C code that prints an exception instead of raising it (psycopg2's COPY on a
    killed connection quoted a playlist row, URL included: trial-15d F1) reaches
    neither stderr nor stdout while a command runs; the run's own error is one line."""
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1,Heat (1995)\nhttp://h.example/movie/alice/s3cretpw/1.mkv\n')

    def printing_driver(self, *args, **kwargs):
        sys.excepthook(SystemError, SystemError('COPY line 3: "http://h.example/movie/alice/s3cretpw/1.mkv"'),
                       None)
        sys.unraisablehook(types.SimpleNamespace(exc_type=ValueError, exc_value=ValueError('s3cretpw'),
                                                 exc_traceback=None, err_msg=None, object=None))
        raise stalkeer.peewee.OperationalError('connection already closed')
    monkeypatch.setattr(stalkeer.PlaylistIngest, 'run', printing_driver)
    code, out, err = cli('--db', f'sqlite:///{tmp_path / "s.db"}', 'process', playlist)
    assert (code, out, err) == (2, '', 'stalkeer: error: database error: connection already closed; '
                                       'the lines stored so far are kept; run process again\n')


def test_a_fault_escaping_main_prints_its_traceback_redacted(tmp_path):
    probe = ('import argparse, runpy, sys\n'
             'def broken(self, *args, **kwargs):\n'
             '    raise RuntimeError("fault at http://h.example/movie/alice/s3cretpw/1.mkv")\n'
             'argparse.ArgumentParser.parse_args = broken\n'
             'sys.argv = [sys.argv[1], "status"]\n'
             'runpy.run_path(sys.argv[0], run_name="__main__")\n')
    proc = subprocess.run([sys.executable, '-c', probe, str(ROOT / 'stalkeer.py')], capture_output=True,
                          text=True, env=subprocess_env(), cwd=tmp_path, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith('Traceback (most recent call last):')
    assert 'RuntimeError: fault at http://h.example/movie/***/***/1.mkv' in proc.stderr
    assert 's3cretpw' not in proc.stderr


# -- a notification URL's query value is masked as one unit (trial-15e F8) ---------------

HOOK_TOKEN = 'Sup3rS3cret-Tok.en_v4lue'       # '.' and '-': not a token by the parts rule


def test_a_notification_url_is_masked_whole_never_in_pieces():
    url = f'http://127.0.0.1:9/api/hook/Abcdefg123/xyz?token={HOOK_TOKEN}&x=1'
    stalkeer.register_secret_url(url)
    redact = stalkeer.redact
    # The URL as a message shows it: its path and query one '***', as `config` shows it.
    assert redact(f'webhook: cannot reach {url} (connection refused)') == \
        'webhook: cannot reach http://127.0.0.1:9/*** (connection refused)'
    assert redact(f'url: /api/hook/Abcdefg123/xyz?token={HOOK_TOKEN}&x=1 (Caused by') == 'url: /*** (Caused by'
    # The value alone, decoded or encoded, and the URL encoded whole: never shown.
    for text in (f'token {HOOK_TOKEN} refused', urllib.parse.quote(url, safe=''), urllib.parse.quote(url),
                 f'"token": "{HOOK_TOKEN}"', urllib.parse.quote(HOOK_TOKEN, safe='')):
        masked = redact(text)
        assert_clean(masked, HOOK_TOKEN, 'Tok.en_v4lue', 'Sup3rS3cret')
    assert redact(f'token {HOOK_TOKEN} refused') == 'token *** refused'
    # An encoded value is learnt as written and decoded.
    stalkeer.register_secret_url('https://hc.example/ping/x?apikey=a%2Bb%2Fc9d8e7f6')
    assert redact('the key a+b/c9d8e7f6 and a%2Bb%2Fc9d8e7f6') == 'the key *** and ***'


def test_a_healthcheck_url_with_a_query_is_pinged_with_its_suffix_in_the_path(server, tmp_path, sqlite_url):
    """/start and /fail go into the path: appended to the URL they became part of
    the token (?token=…/start); the webhook body never holds the token."""
    receiver = Receiver()
    try:
        ini = tmp_path / 'n.ini'
        ini.write_text(f'[notify]\nwebhook_url = {receiver.url}/hook?token={HOOK_TOKEN}\non = always\n'
                       f'healthcheck_url = {receiver.url}/ping/abc-123?token={HOOK_TOKEN}\n'
                       '[downloads]\nretry_attempts = 1\nmin_free_space_mb = 0\n')
        code, out, err = run_stalkeer('--config', ini, '--db', sqlite_url, 'download', server.url('gone.mkv'),
                                      tmp_path / 'x.mkv', '--title', f'X {HOOK_TOKEN}', env=subprocess_env())
        assert code == 1, out + err
        paths = [path for path, _ in receiver.received]
        bodies = json.dumps([body.decode() for _, body in receiver.received])
    finally:
        receiver.close()
    assert f'/ping/abc-123/start?token={HOOK_TOKEN}' in paths and f'/ping/abc-123/fail?token={HOOK_TOKEN}' in paths
    assert f'/hook?token={HOOK_TOKEN}' in paths
    assert_clean(bodies + out + err, HOOK_TOKEN)
    assert '"title": "X ***"' in bodies.replace('\\"', '"')


# -- config text stalkeer cannot classify is never shown (trial-16a F1, F2, F6, F8) ----------

def _ini(tmp_path, text):
    path = tmp_path / 'stalkeer.ini'
    path.write_text(text, encoding='utf-8')
    return path


def test_config_never_shows_the_value_of_an_unknown_key(cli, tmp_path):
    """A key stalkeer does not know has no known meaning: whether its value is a
    secret nobody can tell (a misspelt apikey = … surely is). `config` names the
    key and the one it likely means, never the value; other commands warn with
    the name only, its first word (``url http://U:P@h``, no '=', is key ``url http``)."""
    key, password, user, token, hook = (f'k{secrets.token_hex(6)}', f'p{secrets.token_hex(6)}',
                                        f'u{secrets.token_hex(5)}', f't{secrets.token_hex(6)}',
                                        f'w{secrets.token_hex(6)}')
    ini = _ini(tmp_path, f'[radarr]\napikey = {key}\n[xtream]\npasswd = {password}\n'
                         f'[serve]\nauth_token = {token}\n[notify]\nwebhook = http://127.0.0.1:1/hook/{hook}\n'
                         f'[m3u]\nurl http://{user}:{password}x@h/x.m3u\n'
                         f'[sonarr]\napi_key {token}x: {hook}x\n{key}x/get.php?username = 1\n')
    secret_values = (key, password, user, token, hook)
    code, out, err = cli('--config', ini, 'config', '--check')
    assert code == 0, err
    assert_clean((out + err).lower(), *secret_values)
    assert '  apikey (value not shown)  (file, unknown key: ignored; did you mean [radarr] api_key?)' \
        in out.splitlines()
    assert '  passwd (value not shown)  (file, unknown key: ignored; did you mean [xtream] password?)' \
        in out.splitlines()
    assert '  url … (value not shown)  (file, unknown key: ignored)' in out.splitlines()
    code, out, err = cli('--config', ini, 'config', '--json')
    assert code == 0, err
    assert_clean(out.lower(), *secret_values)
    values = {(e['section'], e['key']): e for e in json.loads(out)['values']}
    assert values['radarr', 'apikey']['value'] is None
    assert values['radarr', 'apikey']['did_you_mean'] == '[radarr] api_key'
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path / "s.db"}', 'status')
    assert code == 0, err
    assert_clean((out + err).lower(), *secret_values)
    assert f'stalkeer: {ini}: [sonarr] api_key … is ignored: unknown key' in err
    assert f'stalkeer: {ini}: [sonarr] (a key that is not a name, not shown) is ignored: unknown key' in err


# (A line with ':' is key: value to configparser: 'url http://U:P@h' is key 'url http',
# an unknown key whose value is never shown: test_config_never_shows_the_value_of_an_unknown_key.)
@pytest.mark.parametrize('line', ['api_key {s}', 'password   {s}', 'token\t{s}', '{s}',
                                  '{s}/get.php username x', '- {s}', 'url {s}@h/get.php'])
def test_an_unparsable_ini_line_is_never_quoted(cli, tmp_path, line):
    """A line that is neither [section] nor key = value (a forgotten '=') names
    its number and at most its first word, when that looks like a key."""
    secret = f's{secrets.token_hex(6)}'
    ini = _ini(tmp_path, f'[radarr]\nurl = http://radarr:7878\n{line.format(s=secret)}\n')
    for argv in (['status'], ['config', '--check']):
        code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path / "s.db"}', *argv)
        assert code == 2, (out, err)
        assert_clean(out + err, secret)
        assert f'config file {ini} line 3 is not valid: ' in err
    first = line.split()[0]
    if first.isidentifier() and ' ' in line.format(s='x').strip() or '\t' in line:
        assert f"'{first} …' is neither a [section] nor key = value" in err


def test_an_indented_line_continuing_a_one_line_key_is_never_shown(cli, tmp_path):
    """An indented line continues the key above it (configparser): under
    ``timeout = 10`` an indented ``api_key = SECRET`` is part of the timeout's
    value. Errors quote the first line; `config` shows it, counting the rest."""
    secret = f's{secrets.token_hex(6)}'
    ini = _ini(tmp_path, f'[radarr]\ntimeout = 10\n  api_key = {secret}\nrescan = maybe\n  {secret}b\n'
                         f'[logging]\nlevel = loud\n  {secret}c\n[notify]\non = sometimes\n  {secret}d\n'
                         f'[sonarr]\nurl = http://sonarr:8989\n  {secret}e\n'
                         f'[downloads]\ntemp_dir = /tmp/x\n  {secret}f\n')
    code, out, err = cli('--config', ini, 'config', '--check')
    assert code == 2
    assert_clean(out + err, secret)
    assert "[radarr] timeout must be a number from 1 to 3600, got '10' (and 1 more line(s), not shown" in err
    assert "[radarr] rescan must be true or false (or yes/no, on/off, 1/0), got 'maybe' (and 1 more" in err
    assert "got 'loud' (and 1 more line(s)" in err and "got 'sometimes' (and 1 more line(s)" in err
    assert '  timeout = 10  (and 1 more line(s), not shown: an indented line continues the value ' \
        'above it)  (file)' in out.splitlines()
    assert '  url = http://sonarr:8989  (and 1 more line(s), not shown' in out
    assert "[downloads] temp_dir must be a path on one line, got '/tmp/x' (and 1 more line(s)" in err


def test_a_setting_indented_under_a_many_line_key_is_never_shown(cli, tmp_path, monkeypatch):
    """``api_key = SECRET`` indented by mistake under a key that spans lines by
    design (path_map, [filter], [quality], allowed_hosts) or under a path (whose
    resolved form joined the lines) is part of that value: every place that
    quotes it (config, --json, errors, a log file) masks the misplaced value
    (trial-16b N1). The same for a STALKEER_* variable holding a newline."""
    secret = [f's{i}{secrets.token_hex(6)}' for i in range(8)]
    log_file = tmp_path / 'run.log'
    ini = _ini(tmp_path, f'[radarr]\nurl = http://127.0.0.1:1\napi_key = k{secrets.token_hex(6)}\n'
                         f'path_map = /movies=/mnt/movies\n    api_key = {secret[0]}\n'
                         f'[filter]\ngroup_title_include = ^VOD\n    api_key = {secret[1]}\n'
                         f'[quality]\npreference = 1080p\n    token = {secret[2]}\n'
                         f'[serve]\nallowed_hosts = localhost\n    password = {secret[3]}\n'
                         f'[m3u]\nfile_path = p.m3u\n    api_key = {secret[4]}\n'
                         f'[logging]\nfile = {log_file}\n')
    monkeypatch.setenv('STALKEER_SONARR_PATH_MAP', f'/tv=/mnt/tv\n  api_key = {secret[5]}')
    runs = [('config',), ('config', '--check'), ('config', '--json'), ('radarr', '--dry-run'),
            ('process', '--dry-run')]
    for args in runs:
        code, out, err = cli('--config', ini, *args)
        assert code != 1 and 'Traceback' not in err, (args, err)
        assert_clean(out + err, *secret)
    assert_clean(log_file.read_text() if log_file.exists() else '', *secret)


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)
def test_the_database_user_is_masked_in_the_servers_refusal(cli, tmp_path):
    """PostgreSQL refuses an unknown role by name (role "X" does not exist): the
    URL's user is masked in the URL and in that echo (trial-16b N3)."""
    user = f'u{secrets.token_hex(5)}'
    parts = urllib.parse.urlsplit(PG_URL)
    url = parts._replace(netloc=f'{user}:pw{secrets.token_hex(4)}@{parts.hostname}:{parts.port or 5432}').geturl()
    code, out, err = cli('--db', url, 'status')
    assert code == 2 and 'cannot open database' in err and 'role "***" does not exist' in err, err
    assert_clean(out + err, user)


def test_the_user_of_a_url_is_masked_like_its_password():
    """user:password@ is one account: the user is masked as the query's
    username= is, in every URL shown (trial-16a F8), and learnt by value from a
    configured playlist URL; a database role is masked in its URL only
    ('postgres' learnt would mangle every postgresql:// shown)."""
    user, password = account()
    assert stalkeer.redact_url(f'http://{user}:{password}@x/get.php?username=U2&password=P2') == \
        'http://***:***@x/get.php?username=***&password=***'
    assert stalkeer.redact_url(f'ftp://{user}:{password}@x/y') == 'ftp://***:***@x/y'
    assert stalkeer.redact_url(f'postgresql://{user}@127.0.0.1/db') == 'postgresql://***@127.0.0.1/db'
    assert stalkeer.redact(f'cannot open postgresql://{user}:{password}@127.0.0.1:1/db') == \
        'cannot open postgresql://***:***@127.0.0.1:1/db'
    stalkeer.register_url_secrets(f'http://{user}:{password}@x/get.php', configured=True)
    assert stalkeer.redact(f'the panel said {user} is expired') == 'the panel said *** is expired'
    stalkeer.register_url_secrets('postgresql://postgres:pw@127.0.0.1/db', configured=True)
    assert stalkeer.redact('use postgresql://h/db') == 'use postgresql://h/db'


@pytest.mark.parametrize('url, shown', [
    ('https://hc-ping.com/{t}', 'https://hc-ping.com/***'),
    ('http://127.0.0.1:18799/hook', 'http://127.0.0.1:18799/***'),
    ('http://{t}:{t}x@127.0.0.1:9/hook/{t}', 'http://***:***@127.0.0.1:9/***'),
    ('http://{t}@127.0.0.1:9', 'http://***@127.0.0.1:9'),
    ('https://ntfy.example', 'https://ntfy.example'),
    ('tgram://{t}/12345', 'tgram://***'),
])
def test_a_notification_url_shows_its_host_in_config_and_in_errors(url, shown):
    """`config` and the errors show a notification URL alike: its host, all
    after it one ``/***``, its userinfo masked as any URL's (trial-16a F8)."""
    token = f't{secrets.token_hex(6)}'
    url = url.format(t=token)
    assert stalkeer.masked_secret_url(url) == shown
    stalkeer.register_secret_url(url)
    assert stalkeer.redact(f'webhook: cannot reach {url} (connection refused)') == \
        f'webhook: cannot reach {shown} (connection refused)'
    if shown.endswith('/***'):     # a healthcheck's start ping: /***/start
        assert stalkeer.redact(f'cannot reach {url}/start') == f'cannot reach {shown}/start'


@pytest.mark.parametrize('where', ['env', 'file'])
def test_config_check_names_a_bad_playlist_port_once(cli, tmp_path, monkeypatch, where):
    """[m3u] url with a port that is no number: its own check and the panel taken
    from its get.php name one mistake, said once (trial-16a F6)."""
    url = 'http://h:abc/get.php?username=UU1234567&password=PP1234567'
    if where == 'env':
        monkeypatch.setenv('STALKEER_M3U_URL', url)
        ini = _ini(tmp_path, '[m3u]\nfile_path = p.m3u\n')
    else:
        ini = _ini(tmp_path, f'[m3u]\nurl = {url}\n')
    code, out, err = cli('--config', ini, 'config', '--check')
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert 'the port is not a number; a port is a number from 1 to 65535' in err
    assert out.rstrip().endswith('config check: 1 error(s)')
    assert_clean(out + err, 'UU1234567', 'PP1234567')


@pytest.mark.parametrize('setting', ['--db', 'DATABASE_URL', 'STALKEER_M3U_URL', 'STALKEER_RADARR_URL',
                                     'STALKEER_NOTIFY_WEBHOOK_URL'])
def test_a_url_setting_without_a_scheme_is_never_quoted(cli, tmp_path, monkeypatch, setting):
    """'bob:PASSWORD@db/x' is no URL the masking can read (urlsplit calls 'bob'
    its scheme), and an API key pasted into a URL key is no URL at all: the
    error names the setting and says what is wrong, never the text."""
    user, password = account()
    ini = _ini(tmp_path, '[m3u]\nfile_path = p.m3u\n')
    for value in (f'{user}:{password}@db/stalkeer', f'{password}'):
        argv = ['--config', ini]
        if setting == '--db':
            argv += ['--db', value]
        else:
            monkeypatch.setenv(setting, value)
        code, out, err = cli(*argv, 'config', '--check')
        assert code == 2
        assert_clean(out + err, user, password)
        assert 'not shown' in err, err
        if setting != '--db':
            monkeypatch.delenv(setting)


@pytest.mark.parametrize('url', ['Secret7User:Secret7Pass@h/x.mkv', 'Secret7User:Secret7Pass',
                                 'Secret7User:Secret7Pass@h:80/x.mkv'])
def test_a_refused_scheme_is_named_only_when_written_as_one(url):
    """urlsplit reads 'user:pass@host/x' (no scheme://) as scheme 'user': the
    downloader's refusal named it ('not an http(s) URL: user:'). One rule now
    (url_problem) names a scheme written as one (ftp://, javascript:) only."""
    assert stalkeer.url_problem(url) == 'URL is not http/https'
    assert stalkeer._fetch_problem(url) == 'invalid URL (URL is not http/https)'
    assert stalkeer.url_problem('ftp://Secret7User:Secret7Pass@h/x') == 'URL is not http/https but ftp:'


# -- a password holding '@', '/', '?' or '#' is masked and refused whole, everywhere -------
# urllib ends a URL's netloc at the first '/', '?' or '#': such a password was read
# as host ('123', named by the driver), port, path or a query parameter's name
# ("the query parameter ret9@… is empty"), and that part shown. Each template is
# a userinfo; its {m} is a marker put in every fragment between separators, so
# that no fragment shown goes unnoticed, and {p} a port number (a password of
# digits that urllib reads as a valid port), looked for as ':{p}' and '{p}/'.
PASSWORD_SHAPES = [
    'bob:{m}Pw@{m}123/{m}x',           # an '@' then a '/': urllib read host '123'
    'bob:{m}Pw@{m}12?{m}3x',           # an '@' then a '?'
    'bob:{m}Sec?{m}ret9',              # urllib's port 'Sec', query 'ret9@host…'
    'bob:{m}Sec#{m}ret9',              # a fragment
    'bob:{m}Se/{m}cret9',              # a path
    'bob:{m}a@{m}b@{m}c',              # '@' twice
    'bob:{m}Secret7@/{m}x?{m}y#{m}z',  # all four
    # urllib's port is valid (bob:{p}), so requests went to host 'bob' with the
    # password's rest as path, query or fragment: masked, and was not refused
    'bob:{p}/{m}x',
    'bob:{p}/{m}x/{m}y',
    'bob:{p}?{m}x',
    'bob:{p}#{m}x',
    'bob:{p}/{m}x?{m}a={m}b',          # a '=' in its query part: still no query value's '@'
    'bob:{m}Pw@{m}h?{m}a={m}b',        # the same after an '@'
    # a user alone, holding '/', '?' or '#' (host 'bob', no port at all)
    '{m}bob/{m}x',
    '{m}bob?{m}x',
    '{m}bob#{m}x',
    '{m}bob/{m}x/{m}y',
]
URL_HINT = "write them as %40, %2F, %3F and %23"


def _marked(shape):
    """(what must never be shown: a marker new to this run, and ':{p}' and
    '{p}/' when the shape holds a port number; the userinfo ``shape`` with
    them in it)."""
    marker = f'Mk{secrets.token_hex(3)}'
    port = str(secrets.choice(range(10000, 65536)))
    needles = (marker, f':{port}', f'{port}/') if '{p}' in shape else (marker,)
    return needles, shape.format(m=marker, p=port)


def _url_with(setting, userinfo):
    host = 'postgresql://{}@127.0.0.1:5432/test' if 'DATABASE' in setting or setting in (
        '--db', '[database] url') else 'http://{}@127.0.0.1:9/get.m3u'
    return host.format(userinfo)


@pytest.mark.parametrize('shape', PASSWORD_SHAPES)
def test_a_password_holding_a_url_separator_is_masked_whole(shape):
    """The redaction helpers mask the userinfo up to the last '@' that can end it."""
    needles, userinfo = _marked(shape)
    masked = '***:***@127.0.0.1' if ':' in userinfo else '***@127.0.0.1'
    for url in (f'http://{userinfo}@127.0.0.1:18931/get.m3u',
                f'http://{userinfo}@127.0.0.1:18931/movie/u/p/1.mkv?x=1#f',
                f'postgresql://{userinfo}@127.0.0.1:5432/test'):
        shown = stalkeer.redact_url(url)
        assert masked in shown, shown
        assert_clean(shown + stalkeer.masked_secret_url(url) + stalkeer.redact(f'cannot reach {url}: refused'),
                     *needles)
        assert stalkeer.userinfo_problem(url, database=url.startswith('postgresql')).endswith(URL_HINT)
        if url.startswith('http'):
            assert stalkeer.url_problem(url).endswith(URL_HINT), url
    # What a URL that is a key in itself teaches the redactor: the password whole.
    stalkeer.register_secret_url(f'https://{userinfo}@127.0.0.1/hook')
    password = userinfo.partition(':')[2] or userinfo
    assert_clean(stalkeer.redact(f'the password was {password}.'), needles[0])


# URLs whose authority is unambiguous although an '@' follows it: a mail address
# as a query's last value (a dotted domain, no port, nothing after it but a
# '#'), or one that no host follows ('&' after it). Refused by the rule above
# until it told them apart (trial: "?mail=a@b.org" made a playlist line malformed).
UNAMBIGUOUS_URLS = [
    'http://bob:{m}pw@127.0.0.1:9/x?mail=a@b.org',
    'http://bob:{m}pw@127.0.0.1:9/x?to=a@b.org#top',
    'http://bob:{m}pw@127.0.0.1:9/get.php?type=m3u&mail=first.last@mail.example.com',
    'http://127.0.0.1:9/get.php?password={m}pw&username=a@b.org',
    'http://127.0.0.1:9/get.php?username=a@b.org&password={m}pw',
    'http://bob:{m}p%40w%2Fx%3Fy%23z@127.0.0.1:9/x',     # every separator encoded
    # a secret query value holding '@' and '/' (a newcomer trial: refused, its host
    # masked in the refusal): sent as written, the value masked whole
    'http://127.0.0.1:9/get.php?username=bob&password={m}Pa@ss/Wd9&type=ts',     # (2 letters: not learnt)
    'http://127.0.0.1:9/get.php?type=ts&password={m}Pa@ss/Wd9',
    'http://127.0.0.1:9/get.php?username={m}me@mail.example.com/x&password={m}pw',
]


# The shapes whose netloc (to the first '/', '?' or '#') holds no '@' and a
# valid port: a provider's line of that shape is read as requests sends it, its
# '@' part of the path or query (an Xtream account that is an e-mail address,
# test below); the user's own setting of it is refused (url_problem, written).
READ_AS_PATH_IN_A_LINE = [shape for shape in PASSWORD_SHAPES if shape.startswith(('bob:{p}', '{m}bob'))]


@pytest.mark.parametrize('shape', PASSWORD_SHAPES)
def test_a_playlist_line_whose_password_holds_a_url_separator_is_malformed_with_the_hint(shape):
    """As a playlist line the same URL is a malformed line whose reason is the
    one hint (url_problem), quoting no fragment of it; the lines around it are
    read. Unless its netloc holds no '@' and a valid port
    (READ_AS_PATH_IN_A_LINE): then the line is read, as requests would send
    it, and shown masked up to its last '@' (over-masking)."""
    needles, userinfo = _marked(shape)
    stats = stalkeer.ParseStats()
    body = ('#EXTM3U\n#EXTINF:-1,A (2000)\nhttp://127.0.0.1:9/a.mkv\n'
            f'#EXTINF:-1,B (2000)\nhttp://{userinfo}@127.0.0.1:9/movie/b.mkv\n'
            '#EXTINF:-1,C (2000)\nhttp://127.0.0.1:9/c.mkv\n')
    entries = list(stalkeer.iter_playlist(io.BytesIO(body.encode()), stats))
    if shape in READ_AS_PATH_IN_A_LINE:
        assert [e.display_title for e in entries] == ['A (2000)', 'B (2000)', 'C (2000)']
        assert not stats.malformed_samples
        assert_clean(stalkeer.redact_url(entries[1].url), *needles)
        return
    assert [e.display_title for e in entries] == ['A (2000)', 'C (2000)']
    assert [(s['line'], s['reason'][-len(URL_HINT):]) for s in stats.malformed_samples] == [(5, URL_HINT)]
    assert_clean(json.dumps(stats.malformed_samples), *needles)


XTREAM_EMAIL_LINES = [
    'http://127.0.0.1:9/movie/first.last@mail.example.com/{m}pw/1.mkv',
    'http://127.0.0.1:9/series/a@b.org/{m}pw/2.mp4',
    'http://127.0.0.1:9/a@b.org/{m}pw/3',                      # live, no kind in the path
]


@pytest.mark.parametrize('template', XTREAM_EMAIL_LINES)
def test_an_xtream_line_whose_account_is_an_email_address_is_read_and_masked(template, cli, tmp_path):
    """Xtream providers whose account names are e-mail addresses write them
    unencoded in the path: such lines are read (refusing them lost the whole
    catalogue), shown with the account masked, and downloadable. The same URL
    written by the user as a setting is refused with the encoding hint: the
    user can write %40, and a '/' after a password's '@' looks the same."""
    needles, url = _marked(template)
    stats = stalkeer.ParseStats()
    body = f'#EXTM3U\n#EXTINF:-1,A (2000)\n{url}\n'
    assert [e.url for e in stalkeer.iter_playlist(io.BytesIO(body.encode()), stats)] == [url]
    assert not stats.malformed_samples
    assert stalkeer._fetch_problem(url) is None
    assert_clean(stalkeer.redact_url(url), *needles)
    assert stalkeer.url_problem(url) == stalkeer.USERINFO_HINT


@pytest.mark.parametrize('template', UNAMBIGUOUS_URLS)
def test_a_url_whose_authority_is_unambiguous_is_accepted_as_a_line_and_a_setting(template, cli, tmp_path):
    """An '@' in a query value after an unambiguous host is no second userinfo:
    the line is read, the setting passes `config --check`, and the password
    is shown nowhere."""
    needles, url = _marked(template)
    assert stalkeer.url_problem(url) is None, url
    stats = stalkeer.ParseStats()
    body = f'#EXTM3U\n#EXTINF:-1,A (2000)\n{url}\n'
    assert [e.url for e in stalkeer.iter_playlist(io.BytesIO(body.encode()), stats)] == [url]
    assert not stats.malformed_samples
    ini = _ini(tmp_path, f'[m3u]\nurl = {url}\n[notify]\nwebhook_url = {url}\n')
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', 'config', '--check')
    assert URL_HINT not in out + err and 'must be an http' not in out + err, out + err
    code, out2, err2 = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/s.db', 'config')
    assert_clean(out + err + out2 + err2, *needles)
    if '@127.0.0.1' not in template:     # (a userinfo before ?mail=a@… is over-masked: cannot tell)
        assert '127.0.0.1:9' in out2 and 'http://***:9' not in out2, out2    # the host not taken for a user


@pytest.mark.parametrize('register', ['register_secret_url', 'register_url_secrets'])
@pytest.mark.parametrize('template', ['http://{h}:9/x?mail=a@b.org', 'http://bob:{m}pw@{h}/x?mail=a@b.org'])
def test_the_host_of_an_unambiguous_url_is_not_learnt_as_a_secret(template, register):
    """What is learnt by value is the userinfo the URL is sent with: the
    masking's longer reading took the host before '?mail=a@' for a user, and
    that host was masked in every message after."""
    host = f'host{secrets.token_hex(3)}.example'
    needles, url = _marked(template.replace('{h}', host))
    getattr(stalkeer, register)(url)
    assert stalkeer.redact(f'cannot reach {host}: refused') == f'cannot reach {host}: refused'
    assert_clean(stalkeer.redact(f'the password was {url.partition(":")[2][2:].partition("@")[0]}'), *needles)


@pytest.mark.parametrize('shape', PASSWORD_SHAPES)
def test_a_database_url_whose_password_holds_a_url_separator_is_refused(shape, tmp_path):
    """parse_database_url refuses it before urllib reads a host, port or
    parameter out of the password (the driver named host "123")."""
    needles, userinfo = _marked(shape)
    with pytest.raises(stalkeer.ConfigError) as caught:
        stalkeer.parse_database_url(_url_with('--db', userinfo), str(tmp_path))
    assert str(caught.value).endswith(URL_HINT)
    assert_clean(str(caught.value), *needles)


def _refused_in_one_line(code, err):
    """Exit 2, and the URL's refusal is one line of its own (the others, if
    any, are other settings' errors: Radarr not configured, ...)."""
    assert code == 2, err
    refusals = [line for line in err.splitlines() if URL_HINT in line]
    assert len(refusals) == 1 and refusals[0].startswith('stalkeer: error: '), err
    assert all(line.startswith(('stalkeer: ', 'warning: ', 'note: ')) for line in err.splitlines()
               if line.strip()), err


@pytest.mark.parametrize('setting', [
    '[database] url', '[m3u] url', '[radarr] url', '[sonarr] url', '[xtream] url',
    '[notify] webhook_url', '[notify] healthcheck_url', '--db', 'DATABASE_URL',
    'STALKEER_DATABASE_URL', 'STALKEER_M3U_URL', 'STALKEER_RADARR_URL'])
@pytest.mark.parametrize('shape', PASSWORD_SHAPES)
def test_a_url_setting_whose_password_holds_a_url_separator_is_refused_and_never_shown(
        cli, tmp_path, monkeypatch, setting, shape):
    """Every URL setting, the database's too: `config --check` refuses it in one
    line with the encoding hint; `config`, `config --json` and `status` show no
    fragment of the password, on stdout, stderr or in the log."""
    needles, userinfo = _marked(shape)
    url = _url_with(setting, userinfo)
    sections = {'m3u': 'file_path = p.m3u\n'}
    argv = []
    if setting.startswith('['):
        section, key = setting[1:].split('] ')
        sections[section] = sections.get(section, '') + f'{key} = {url}\n'
    elif setting == '--db':
        argv = ['--db', url]
    else:
        monkeypatch.setenv(setting, url)
    ini = _ini(tmp_path, ''.join(f'[{name}]\n{body}' for name, body in sections.items()))
    log = tmp_path / 'stalkeer.log'
    argv = ['--config', ini, '--log-file', log, *argv]
    seen = ''
    code, out, err = cli(*argv, 'config', '--check')
    seen += out + err
    _refused_in_one_line(code, err)
    for command in (['config'], ['config', '--json'], ['status']):
        code, out, err = cli(*argv, *command)
        seen += out + err
        if command == ['status'] and ('DATABASE' in setting.upper() or setting == '--db'):
            _refused_in_one_line(code, err)
    seen += log.read_text() if log.exists() else ''
    assert_clean(seen, *needles)


@pytest.mark.parametrize('command', ['download', 'm3u-download'])
@pytest.mark.parametrize('shape', PASSWORD_SHAPES)
def test_a_url_argument_whose_password_holds_a_url_separator_is_refused_and_never_shown(
        cli, tmp_path, command, shape):
    """`download URL` and `m3u-download --url URL`: refused in one line, exit 2,
    no fragment of the password shown."""
    needles, userinfo = _marked(shape)
    url = _url_with(command, userinfo)
    ini = _ini(tmp_path, '[m3u]\nfile_path = p.m3u\n')
    log = tmp_path / 'stalkeer.log'
    argv = ['--config', ini, '--log-file', log, '--db', f'sqlite:///{tmp_path}/s.db', command]
    argv += [url, tmp_path / 'dl' / 'x.mkv'] if command == 'download' else ['--url', url]
    code, out, err = cli(*argv)
    _refused_in_one_line(code, err)
    assert_clean(out + err + (log.read_text() if log.exists() else ''), *needles)


def test_an_xtream_email_account_is_never_shown_by_a_real_download(server, tmp_path):
    """A newcomer trial: `downloading Dune (2021) from
    http://***:***@b.com/S3cr3tPW/dune.mkv` on stderr and in the log. The
    line's reading as a userinfo had taught '127.0.0.1' and '18871/movie/a'
    as secrets; masked first, they broke the URL apart and its password was
    shown. A real resume-downloads of such a line: the password nowhere, and
    the host of the other URLs still shown."""
    from conftest import payload, sha256
    marker = f'Pw{secrets.token_hex(4)}'
    data = payload(50_000)
    url = server.add(f'movie/first.last@mail.example.com/{marker}/dune.mkv', data)
    other = server.add('movie/u/p/other.mkv', payload(1000, seed=2))
    db = f'sqlite:///{tmp_path}/s.db'
    stalkeer.open_database(db, str(tmp_path))
    state = stalkeer.StateManager()
    state.get_or_create(url, str(tmp_path / 'dune.mkv'), 'Dune (2021)')
    state.get_or_create(other, str(tmp_path / 'other.mkv'), 'Other (2020)')
    stalkeer.db_proxy.obj.close()
    log = tmp_path / 's.log'
    code, out, err = run_stalkeer('--db', db, '--log-file', log, 'resume-downloads', '-v',
                                  env=subprocess_env())
    said = out + err + log.read_text(encoding='utf-8')
    assert code == 0 and sha256(tmp_path / 'dune.mkv') == sha256(data), said
    assert 'downloading Dune (2021) from' in said
    assert marker not in said and 'mail.example.com' not in said, said
    host = url.split('/')[2]
    assert f'http://{host}/movie/***/***/other.mkv' in said, said          # its host not learnt
    code, out, err = run_stalkeer('--db', db, 'status', '--json', env=subprocess_env())
    assert marker not in out + err and f'http://{host}/movie/' in out, out + err


@pytest.mark.parametrize('url, shown', [
    # every '@' after the host is one the masking covers as requests reads it
    ('http://127.0.0.1:9/get.php?username=bob&password={m}Pa@ss/Wd9&type=m3u_plus',
     'http://127.0.0.1:9/get.php?username=***&password=***&type=m3u_plus'),
    ('http://127.0.0.1:9/movie/me@mail.example.com/{m}pw/101.mkv', 'http://127.0.0.1:9/movie/***/***/101.mkv'),
    ('http://127.0.0.1:9/me@mail.example.com/{m}pw/3', 'http://127.0.0.1:9/***/***/3'),
    # ambiguous: masked up to the last '@' a host follows, as before
    ('http://bob:{m}pw/x@nas/', 'http://***:***@nas/'),
    ('http://bob/{m}x@nas/', 'http://***@nas/'),
    ('http://bob:1234?{m}a=b@nas.lan', 'http://***:***@nas.lan'),
    ('http://bob:{m}pw@127.0.0.1:9/get.m3u?mail=a@b.org', 'http://***:***@b.org'),   # cannot tell
])
def test_an_at_the_masking_covers_is_read_as_requests_sends_it(url, shown):
    """`http://***:***@mail.example.com/***/101.mkv` (an Xtream account that
    is an e-mail address) gave the account's domain and hid the host;
    `?password=Pa@ss/Wd9&type=…` showed as `http://***:***@ss/Wd9&type=…`,
    most of the password (newcomer trial 3). Where every '@' after the host
    lies in an Xtream account's segments or a secret query value, the URL is
    masked as requests reads it; any other keeps the longer reading."""
    marker = f'Mk{secrets.token_hex(3)}'
    assert stalkeer.Redactor()(url.format(m=marker)) == shown
    assert stalkeer.redact_url(url.format(m=marker)) == shown
