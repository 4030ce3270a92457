"""Every --json document (and the serve JSON that mirrors one) carries values,
not prose, and the same shape whether the catalogue came from an M3U playlist
or an Xtream panel (newcomer trial: `process --json` on a panel put "the
Xtream panel at http://…" in "playlist"). Table-driven over the producers, on
both backends, against a fake panel on 127.0.0.1; no secret may appear."""

import json
import re

import pytest

import stalkeer
from fakepanel import FakePanel
from test_serve import request, serving

USER, PASSWORD = 'xjson', 'xpw-json-s3cr3t-91'
# An ISO 8601 UTC time as _iso() writes it.
ISO = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z')


@pytest.fixture
def panel():
    with FakePanel(USER, PASSWORD) as fake:
        fake.add_category('movie', 1, 'FR: FILMS')
        fake.add_movie(12, 'Heat (1995)', tmdb=949, category_id=1, ext='mkv')
        fake.add_series(3, 'Breaking Bad', tmdb=1396, episodes={1: [(1, 501)]})
        yield fake


def setup(source, panel, tmp_path):
    """(ini, the process arguments) reading the panel, or a playlist whose URLs
    hold the same account (a get.php [m3u] url too: a panel is configured)."""
    ini = tmp_path / 'stalkeer.ini'
    playlist = tmp_path / 'pl.m3u'
    playlist.write_text(
        '#EXTM3U\n'
        '#EXTINF:-1 tvg-name="Heat (1995)" group-title="FR: FILMS",Heat (1995)\n'
        f'{panel.url}/movie/{USER}/{PASSWORD}/12.mkv\n'
        '#EXTINF:-1 tvg-name="Breaking Bad S01E01" group-title="Series",Breaking Bad S01E01\n'
        f'{panel.url}/series/{USER}/{PASSWORD}/501.mkv\n', encoding='utf-8')
    ini.write_text(f'[m3u]\nurl = {panel.playlist_url}\nfile_path = {playlist}\n', encoding='utf-8')
    return ini, (['--source', 'xtream'] if source == 'xtream' else ['--source', 'm3u', str(playlist)])


def run_json(cli, *argv):
    code, out, err = cli(*argv)
    assert code == 0, err
    assert PASSWORD not in out + err and f'username={USER}' not in out + err
    return json.loads(out)


def process_doc(cli, ini, db_url, args, tmp_path, panel, *more):
    return run_json(cli, '--config', ini, '--db', db_url, 'process', '--json', *args, *more)


def status_doc(cli, ini, db_url, args, tmp_path, panel):
    process_doc(cli, ini, db_url, args, tmp_path, panel)
    return run_json(cli, '--config', ini, '--db', db_url, 'status', '--json')


def api_downloads_doc(cli, ini, db_url, args, tmp_path, panel):
    process_doc(cli, ini, db_url, args, tmp_path, panel)
    with serving(db_url, tmp_path) as server:
        server.panel = stalkeer.panel_name(stalkeer.Config(str(ini), env={}))
        code, _, body = request(server, '/api/downloads')
    assert code == 200 and PASSWORD.encode() not in body
    return json.loads(body)


def api_page_doc(cli, ini, db_url, args, tmp_path, panel):
    process_doc(cli, ini, db_url, args, tmp_path, panel)
    with serving(db_url, tmp_path) as server:
        code, _, body = request(server, '/api/page')
    assert code == 200 and PASSWORD.encode() not in body
    return json.loads(body)


def lines_doc(cli, ini, db_url, args, tmp_path, panel):
    process_doc(cli, ini, db_url, args, tmp_path, panel)
    return run_json(cli, '--config', ini, '--db', db_url, 'lines', 'heat', '--json')


def config_doc(cli, ini, db_url, args, tmp_path, panel):
    return run_json(cli, '--config', ini, '--db', db_url, 'config', '--check', '--json')


def dry_run_doc(cli, ini, db_url, args, tmp_path, panel):
    return process_doc(cli, ini, db_url, args, tmp_path, panel, '--dry-run')


# Each producer, and the keys whose strings are text by nature (titles as the
# provider wrote them, error messages, the panel's own status word): every
# other string must be a value (a path, a masked URL, an enum, ISO 8601), which
# never holds whitespace here (tmp_path has none).
PRODUCERS = {
    # A malformed sample is {line, reason, related_line}: its reason alone is a phrase.
    'process --json': (process_doc, {'reason'}),
    'process --json --dry-run': (dry_run_doc, {'reason'}),
    'status --json': (status_doc, {'error_message', 'title', 'import_lock_problem'}),
    '/api/downloads': (api_downloads_doc, {'error_message', 'title', 'import_lock_problem'}),
    # The page's rows give each value and, beside it, its display text (*_text).
    '/api/page': (api_page_doc, {'text', 'title', 'error_message', 'percent_text', 'size_text',
                                 'speed_text', 'eta_text', 'heartbeat_text', 'updated_text',
                                 'completed_text', 'file_size_text', 'gave_up_text'}),
    'lines --json': (lines_doc, {'title', 'display_title', 'group_title', 'query'}),
    # errors and notes are messages; a key's "value" is the setting as written
    # (masked); did_you_mean names a setting as messages do (`[radarr] api_key`).
    'config --json': (config_doc, {'errors', 'notes', 'value', 'did_you_mean'}),
}


def prose(document, allowed, path='') -> list[str]:
    """The key paths whose string holds whitespace (a sentence, not a value)."""
    if isinstance(document, dict):
        return [p for key, value in document.items() if key not in allowed
                for p in prose(value, allowed, f'{path}.{key}')]
    if isinstance(document, list):
        return [p for value in document for p in prose(value, allowed, f'{path}[]')]
    return [f'{path}: {document!r}'] if isinstance(document, str) and re.search(r'\s', document) else []


def shape(document):
    """The keys of every object, recursively (a list: its first element's; null
    stands for an object that has none: an account never read). A map of
    counts (by_content_type, summary) is keyed by data: its shape is 'counts'."""
    if isinstance(document, dict) and all(type(v) is int for v in document.values()):
        return 'counts'
    if isinstance(document, dict):
        return {key: shape(value) for key, value in document.items()}
    if isinstance(document, list):
        return [shape(document[0])] if document and isinstance(document[0], dict) else []
    return None


def same_shape(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_shape(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return not a or not b or same_shape(a[0], b[0])
    return a is None or b is None or a == b


@pytest.mark.parametrize('producer', PRODUCERS)
def test_every_json_document_is_values_of_one_shape(producer, cli, db_url, tmp_path, panel):
    make, allowed = PRODUCERS[producer]
    documents = {}
    for source in ('m3u', 'xtream'):
        folder = tmp_path / source
        folder.mkdir()
        ini, args = setup(source, panel, folder)
        documents[source] = make(cli, ini, db_url, args, folder, panel)
        assert prose(documents[source], allowed) == [], (producer, source)
    assert same_shape(shape(documents['m3u']), shape(documents['xtream'])), documents


@pytest.mark.parametrize('source', ['m3u', 'xtream'])
@pytest.mark.parametrize('dry_run', [False, True])
def test_process_json_names_the_file_or_the_panel_as_values(source, dry_run, cli, db_url, tmp_path, panel):
    ini, args = setup(source, panel, tmp_path)
    summary = process_doc(cli, ini, db_url, args, tmp_path, panel, *(['--dry-run'] if dry_run else []))
    assert summary['source'] == source and summary['dry_run'] is dry_run
    if source == 'xtream':
        # The panel's base URL as status --json's account names it: no account in it.
        assert summary['playlist'] is None and summary['panel'] == panel.url
    else:
        assert summary['playlist'] == str(tmp_path / 'pl.m3u') and summary['panel'] is None
    for key in ('entries', 'lines_read', 'new', 'updated', 'unchanged', 'malformed', 'disappeared'):
        assert type(summary[key]) is int, key
    assert isinstance(summary['elapsed_seconds'], float) and summary['skipped'] is None
    assert all(type(n) is int for n in summary['by_content_type'].values())


def test_process_json_of_an_unchanged_playlist(cli, db_url, tmp_path, panel):
    ini, args = setup('m3u', panel, tmp_path)
    process_doc(cli, ini, db_url, args, tmp_path, panel)
    summary = process_doc(cli, ini, db_url, args, tmp_path, panel)
    assert (summary['skipped'], summary['source'], summary['panel']) == ('unchanged', 'm3u', None)
    assert summary['playlist'] == str(tmp_path / 'pl.m3u') and ISO.fullmatch(summary['unchanged_since'])


@pytest.mark.parametrize('given', ['relative', 'absolute', 'file_path', 'relative file_path'])
@pytest.mark.parametrize('dry_run', [False, True])
def test_process_json_names_the_playlist_by_its_absolute_path(given, dry_run, cli, db_url, tmp_path,
                                                              monkeypatch):
    """A newcomer trial: "playlist" was the path as typed (`pl/stray.m3u`) but
    absolute from `[m3u] file_path`. One rule: absolute, however it was given;
    a re-run skipped as unchanged names it so too."""
    (tmp_path / 'pl').mkdir()
    playlist = tmp_path / 'pl' / 'stray.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1,Heat (1995)\nhttp://h/movie/1.mkv\n', encoding='utf-8')
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text('[m3u]\nfile_path = ' + ('pl/stray.m3u' if given == 'relative file_path' else str(playlist))
                   + '\n', encoding='utf-8')
    monkeypatch.chdir(tmp_path)
    args = {'relative': ['pl/stray.m3u'], 'absolute': [str(playlist)]}.get(given, [])
    more = ['--dry-run'] if dry_run else []
    for _ in range(1 if dry_run else 2):
        summary = run_json(cli, '--config', ini, '--db', db_url, 'process', '--json', *args, *more)
        assert summary['playlist'] == str(playlist)
        code, out, err = cli('--config', ini, '--db', db_url, 'process', *args, *more)
        assert code == 0 and f'{playlist}: 1 entries in 3 lines' in out, out


@pytest.mark.parametrize('source', ['m3u', 'xtream'])
def test_process_text_keeps_its_wording(source, cli, db_url, tmp_path, panel):
    ini, args = setup(source, panel, tmp_path)
    code, out, err = cli('--config', ini, '--db', db_url, 'process', *args)
    assert code == 0, err
    first = out.splitlines()[0]
    if source == 'xtream':
        assert first.startswith(f'the Xtream panel at {panel.url}: ') and ' records (' in first
    else:
        assert first.startswith(f'{tmp_path / "pl.m3u"}: ') and ' lines (' in first
    assert PASSWORD not in out + err


@pytest.mark.parametrize('source', ['m3u', 'xtream'])
def test_status_json_always_has_the_account_key(source, cli, db_url, tmp_path, panel):
    ini, args = setup(source, panel, tmp_path)
    report = status_doc(cli, ini, db_url, args, tmp_path, panel)
    if source == 'm3u':
        assert report['account'] is None
    else:
        account = report['account']
        assert account['panel'] == panel.url and ISO.fullmatch(account['checked_at'])
        assert [row['source'] for row in report['imports']] == ['xtream']


@pytest.mark.parametrize('how, found_by', [
    ('option', 'option'), ('environment', 'environment'),
    ('working_directory', 'working_directory'), ('none', None)])
def test_config_json_says_how_the_file_was_found_as_a_value(how, found_by, cli, tmp_path, monkeypatch):
    monkeypatch.setattr(stalkeer, 'HERE', tmp_path / 'nowhere')
    folder = tmp_path / 'conf'
    folder.mkdir()
    ini = folder / 'stalkeer.ini'
    ini.write_text('[downloads]\nretry_attempts = 7\n', encoding='utf-8')
    monkeypatch.chdir(folder if how == 'working_directory' else tmp_path)
    if how == 'environment':
        monkeypatch.setenv('STALKEER_CONFIG', str(ini))
    data = run_json(cli, *(['--config', ini] if how == 'option' else []), 'config', '--json')
    assert data['found_by'] == found_by
    assert data['config_file'] == (None if how == 'none' else str(ini))
    code, out, err = cli(*(['--config', ini] if how == 'option' else []), 'config')
    words = {'option': '--config', 'environment': '$STALKEER_CONFIG',
             'working_directory': 'the current directory'}
    assert out.startswith(f'config file: {ini} (from {words[how]})\n' if how in words else 'config file: none')


def test_config_json_says_where_each_value_came_from_as_values(cli, tmp_path, monkeypatch):
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text('[downloads]\nretry_attempts = 7\n[radarr]\napikey = 0123456789abcdef\n', encoding='utf-8')
    monkeypatch.setenv('STALKEER_DOWNLOADS_READ_TIMEOUT', '120')
    monkeypatch.setenv('DATABASE_URL', f'sqlite:///{tmp_path / "env.db"}')
    data = run_json(cli, '--config', ini, '--log-file', tmp_path / 'run.log', 'config', '--json')
    values = {(e['section'], e['key']): e for e in data['values']}
    sources = {key: (e['source'], e['source_name'], e['ignored']) for key, e in values.items()}
    assert sources['downloads', 'connect_timeout'] == ('default', None, False)
    assert sources['downloads', 'retry_attempts'] == ('file', None, False)
    assert sources['downloads', 'read_timeout'] == ('environment', 'STALKEER_DOWNLOADS_READ_TIMEOUT', False)
    assert sources['database', 'url'] == ('environment', 'DATABASE_URL', False)
    assert sources['logging', 'file'] == ('option', '--log-file', False)
    assert sources['radarr', 'apikey'] == ('file', None, True)
    assert values['radarr', 'apikey']['value'] is None and '0123456789abcdef' not in json.dumps(data)
    assert {e['source'] for e in data['values']} <= {'default', 'file', 'environment', 'option'}
    # Every entry has the same keys, known or not.
    assert len({tuple(sorted(e)) for e in data['values']}) == 1
    # The text keeps its words.
    code, out, err = cli('--config', ini, '--log-file', tmp_path / 'run.log', 'config')
    assert '  read_timeout = 120  (environment STALKEER_DOWNLOADS_READ_TIMEOUT)' in out.splitlines()
    assert '  retry_attempts = 7  (file)' in out.splitlines()
    assert any(line.endswith('(environment DATABASE_URL)') for line in out.splitlines())
    assert any(line.endswith('(option --log-file)') for line in out.splitlines())
    assert any(line.startswith('  apikey (value not shown)  (file, unknown key: ignored') for line in out.splitlines())


@pytest.mark.parametrize('fault, reason', [
    (dict(body='{"user_info": {"auth": 0}}'), 'auth_0'),
    (dict(status=401, body=''), 'http_401'),
    (dict(status=403, body=''), 'http_403'),
])
def test_status_json_says_a_refused_account_as_values(fault, reason, cli, db_url, tmp_path, panel):
    ini, args = setup('xtream', panel, tmp_path)
    active = status_doc(cli, ini, db_url, args, tmp_path, panel)['account']
    assert (active['status'], active['refused_reason']) == ('Active', None)
    panel.fault('account', **fault)
    code, out, err = cli('--config', ini, '--db', db_url, 'process', *args)
    assert code != 0 and 'refused the account' in err
    report = run_json(cli, '--config', ini, '--db', db_url, 'status', '--json')
    assert (report['account']['status'], report['account']['refused_reason']) == ('Refused', reason)
    assert prose(report, PRODUCERS['status --json'][1]) == []
    with serving(db_url, tmp_path) as server:
        server.panel = stalkeer.panel_name(stalkeer.Config(str(ini), env={}))
        _, _, body = request(server, '/api/downloads')
    assert json.loads(body)['account'] == report['account']
    # The text keeps its words.
    code, out, err = cli('--config', ini, '--db', db_url, 'status')
    assert f'account: Refused ({"auth 0" if reason == "auth_0" else reason.replace("_", " ").upper()})' in out


def test_config_json_names_unknown_keys_by_values_only(cli, tmp_path):
    """An unknown section or key is user text that may be a pasted secret: JSON
    gives its name when it is one, else null, never the words of the text."""
    secret = 'Secret7Value9'
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'[radarr]\napikey = {secret}\n[api_key={secret}]\nx = 1\n'
                   f'[sonarr]\n{secret}/get.php?username = 1\n[m3u]\nurl http://u:{secret}@h/x.m3u\n',
                   encoding='utf-8')
    data = run_json(cli, '--config', ini, 'config', '--json')
    assert secret.lower() not in json.dumps(data).lower()
    ignored = sorted(((e['section'], e['key'], e['did_you_mean']) for e in data['values'] if e['ignored']),
                     key=repr)
    assert ignored == sorted([('radarr', 'apikey', '[radarr] api_key'), (None, 'x', None),
                              ('sonarr', None, None), ('m3u', 'url', None)], key=repr), ignored
    # did_you_mean names a setting as every message does: `[section] key`.
    assert prose(data, {'errors', 'notes', 'value', 'did_you_mean'}) == []
    code, out, err = cli('--config', ini, 'config')
    assert 'the section at line 3 (name not shown)' in out and '  url … (value not shown)' in out
    assert '  (a key that is not a name, not shown) (value not shown)' in out
