"""Every key of every JSON output is named in the README (a newcomer trial:
eleven keys of `process --json` were in no documentation). Table-driven over
the outputs: each is produced for real (an M3U playlist with malformed lines,
an Xtream panel on 127.0.0.1, downloads in every state), on both backends, and
each key path it emits (`account.panel`, `malformed_samples[].line`) must be a
row of that output's table under "JSON outputs" in README.md."""

import json
import re

import pytest

import stalkeer
from conftest import ROOT
from test_json_values import USER, PASSWORD, panel, run_json, setup  # noqa: F401 (panel: a fixture)
from test_ops import seed
from test_serve import request, serving

README = (ROOT / 'README.md').read_text(encoding='utf-8')
MALFORMED = ('#EXTINF:-1 group-title="Movies",Bad (2000)\nftp://h/x.mkv\n'
             '#EXTINF:-1 group-title="Movies",Stray (2000)\nsome text\nhttp://h/movie/9.mkv\n')


def documented(output: str) -> set[str]:
    """The key paths in the first column of the table under `### <output>`
    in the "JSON outputs" section."""
    section = README.split('\n## JSON outputs\n', 1)[-1].split('\n## ', 1)[0]
    match = re.search(rf'^### {re.escape(output)}\n(.*?)(?=^### |\Z)', section, re.M | re.S)
    return set() if match is None else {row.group(1) for row in re.finditer(r'^\| `([^`]+)` \|', match.group(1), re.M)}


def key_paths(document, path='') -> set[str]:
    """Every key path of ``document``: `a.b` for an object's key, `a[].b` for
    the objects of a list. A map keyed by a fixed set (status or content
    type to a count) is no exception: each of its keys is a row (a wildcard
    here let `summary.pending` go undocumented, as `{status: count}`)."""
    if isinstance(document, dict):
        found = set()
        for key, value in document.items():
            name = f'{path}.{key}' if path else key
            found |= {name} | key_paths(value, name)
        return found
    if isinstance(document, list):
        return set().union(*(key_paths(v, f'{path}[]') for v in document)) if document else set()
    return set()


def ingest(cli, tmp_path, db_url, panel, *more):
    """Read the M3U playlist (with malformed lines) and the panel into db_url;
    the JSON of each `process`."""
    docs = []
    for source in ('m3u', 'xtream'):
        folder = tmp_path / source
        folder.mkdir(exist_ok=True)
        ini, args = setup(source, panel, folder)
        (folder / 'pl.m3u').write_text((folder / 'pl.m3u').read_text() + MALFORMED, encoding='utf-8')
        docs.append(run_json(cli, '--config', ini, '--db', db_url, 'process', '--json', *args, *more))
    return docs, ini


def process_docs(cli, tmp_path, db_url, panel):
    docs, ini = ingest(cli, tmp_path, db_url, panel)
    docs += ingest(cli, tmp_path, db_url, panel)[0]       # the m3u one skipped as unchanged
    dry = tmp_path / 'dry'
    dry.mkdir()
    return docs + ingest(cli, dry, db_url, panel, '--dry-run')[0]


def status_docs(cli, tmp_path, db_url, panel):
    seed(tmp_path, db_url)
    _, ini = ingest(cli, tmp_path, db_url, panel)
    return [run_json(cli, '--config', ini, '--db', db_url, 'status', '--json')]


def config_docs(cli, tmp_path, db_url, panel):
    ini = tmp_path / 'c.ini'
    ini.write_text('[radarr]\napikey = x\nurl = http://127.0.0.1:1\n[downloads]\nretry_attempts = 7\n',
                   encoding='utf-8')
    return [json.loads(cli('--config', ini, 'config', '--json')[1]),
            json.loads(cli('--config', ini, 'config', '--check', '--json')[1])]


def lines_docs(cli, tmp_path, db_url, panel):
    ingest(cli, tmp_path, db_url, panel)
    return [run_json(cli, '--db', db_url, 'lines', 'heat', '--json'),
            run_json(cli, '--db', db_url, 'lines', 'breaking', '--json')]


def serve_docs(cli, tmp_path, db_url, panel):
    seed(tmp_path, db_url)
    _, ini = ingest(cli, tmp_path, db_url, panel)
    docs = {}
    with serving(db_url, tmp_path) as server:
        server.panel = stalkeer.panel_name(stalkeer.Config(str(ini), env={}))
        for path in ('/api/page', '/api/downloads', '/api/lines?q=heat', '/api/lines?q=heat&limit=x', '/nope'):
            code, _, body = request(server, path)
            assert PASSWORD.encode() not in body
            docs[path] = json.loads(body)
    return docs


# Outputs the README documents as another's ("Exactly `status --json`"), and
# lists whose objects are documented once (the page's four lists of rows).
SAME_AS = {'/api/downloads': 'status --json', '/api/lines': 'lines --json'}
ROWS_AS = {'/api/page': {'queue[]': 'active[]', 'failed[]': 'active[]', 'completed[]': 'active[]'}}


def named(output: str, path: str) -> str:
    """``path`` as the README names it for ``output`` (ROWS_AS)."""
    for prefix, row in ROWS_AS.get(output, {}).items():
        if path.startswith(prefix + '.'):
            return row + path[len(prefix):]
    return path


# Each output: its README heading, and how its documents are made.
OUTPUTS = {
    'process --json': process_docs,
    'status --json': status_docs,
    'config --json': config_docs,
    'lines --json': lines_docs,
    '/api/page': lambda *a: [serve_docs(*a)['/api/page']],
    '/api/downloads': lambda *a: [serve_docs(*a)['/api/downloads']],
    '/api/lines': lambda *a: [serve_docs(*a)['/api/lines?q=heat']],
    'errors': lambda *a: [d for p, d in serve_docs(*a).items() if p in ('/nope', '/api/lines?q=heat&limit=x')],
}


@pytest.mark.parametrize('output', OUTPUTS)
def test_every_key_an_output_emits_is_documented(output, cli, db_url, tmp_path, panel):
    docs = OUTPUTS[output](cli, tmp_path, db_url, panel)
    emitted = set().union(*(key_paths(d) for d in docs))
    assert emitted, output
    if output in SAME_AS:
        assert re.search(rf'^### {re.escape(output)}\n\nExactly `{re.escape(SAME_AS[output])}`', README, re.M)
        (tmp_path / 'same').mkdir()
        theirs = OUTPUTS[SAME_AS[output]](cli, tmp_path / 'same', db_url, panel)
        assert emitted == set().union(*(key_paths(d) for d in theirs))
    missing = sorted({named(output, p) for p in emitted} - documented(SAME_AS.get(output, output)))
    assert missing == [], f'{output}: keys not in README.md "JSON outputs": {missing}'


def test_the_process_keys_of_the_trial_are_emitted_and_documented(cli, db_url, tmp_path, panel):
    """The eleven keys the trial found undocumented, and the samples' keys."""
    docs = process_docs(cli, tmp_path, db_url, panel)
    keys = set().union(*(key_paths(d) for d in docs))
    trial = {'by_content_type', 'decode_errors', 'disappeared', 'dry_run', 'elapsed_seconds',
             'encoding_fallbacks', 'entities_decoded', 'header_missing', 'limited', 'lines_read',
             'malformed_samples', 'malformed_samples[].line', 'malformed_samples[].reason',
             'malformed_samples[].related_line'}
    assert trial <= keys and trial <= documented('process --json')


# The maps whose keys are a fixed set of stalkeer's words: every word is a row,
# whether or not a run emitted it (a content type with no entry is left out).
FIXED_KEYS = {
    ('status --json', 'summary'): stalkeer.DOWNLOAD_STATUSES,
    ('/api/page', 'summary'): stalkeer.DOWNLOAD_STATUSES,
    ('process --json', 'by_content_type'): stalkeer.LINE_CONTENT_TYPES,
    ('/api/page', 'more'): ('active', 'queue', 'failed', 'completed'),
}


@pytest.mark.parametrize('output, key', FIXED_KEYS)
def test_a_map_of_a_fixed_set_of_keys_documents_each_key(output, key):
    rows = {p.split('.', 1)[1] for p in documented(output) if p.startswith(key + '.')}
    assert rows == set(FIXED_KEYS[output, key]), f'{output}: {key}'
