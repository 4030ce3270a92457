"""The text output, the JSON output and the README say the same thing, and
nothing shown is silently cut (a newcomer trial: `process` printed 5 malformed
samples of 4,000 and nothing more, `--json` gave 10, and the README said both
name the same lines). Each list a summary cuts names the same rows in text and
JSON and says how many more there are and how to see them; each JSON value
that the text gives is given, not null."""

import json
import re
import shlex
import subprocess
import sys

import pytest

import stalkeer
from conftest import ROOT, subprocess_env
from test_ops import seed

MALFORMED_COUNT = 23


def write_playlist(tmp_path, malformed=MALFORMED_COUNT):
    """A playlist of two entries and ``malformed`` stray URLs after them."""
    lines = ['#EXTM3U', '#EXTINF:-1 group-title="Movies",Heat (1995)', 'http://h/movie/1.mkv',
             '#EXTINF:-1 group-title="Movies",Alien (1979)', 'http://h/movie/2.mkv']
    lines += [f'ftp://h/x{i}.mkv' for i in range(malformed)]
    path = tmp_path / 'pl.m3u'
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return path


def process(cli, db_url, playlist, *more, worker='false'):
    ini = playlist.parent / 'stalkeer.ini'
    ini.write_text(f'[m3u]\nparse_worker = {worker}\n', encoding='utf-8')
    code, out, err = cli('--config', ini, '--db', db_url, 'process', '--source', 'm3u', playlist, *more)
    assert code == 0, err
    return out, err


def text_samples(out: str) -> list[int]:
    return [int(m) for m in re.findall(r'^  malformed line (\d+): ', out, re.M)]


@pytest.mark.parametrize('worker', ['false', 'true'])
@pytest.mark.parametrize('malformed', [1, 10, MALFORMED_COUNT])
def test_process_text_and_json_name_the_same_malformed_lines_and_count_the_rest(
        cli, db_url, tmp_path, malformed, worker):
    playlist = write_playlist(tmp_path, malformed)
    out, _ = process(cli, db_url, playlist, '--dry-run', worker=worker)
    doc = json.loads(process(cli, db_url, playlist, '--dry-run', '--json', worker=worker)[0])
    assert doc['malformed'] == malformed
    assert text_samples(out) == [s['line'] for s in doc['malformed_samples']]
    more = malformed - len(doc['malformed_samples'])
    said = re.findall(r'^  … and ([\d,]+) more malformed lines?: `stalkeer (process[^`]*)` names every one$',
                      out, re.M)
    hint = f'process {shlex.quote(str(playlist))} --dry-run -v'
    assert said == ([(f'{more:,}', hint)] if more else []), out


@pytest.mark.parametrize('worker', ['false', 'true'])
def test_the_way_the_summary_gives_names_every_malformed_line(cli, db_url, tmp_path, worker):
    """A real process: the parse worker, a child of its own, logs on the same stderr."""
    playlist = write_playlist(tmp_path)
    (tmp_path / 'stalkeer.ini').write_text(f'[m3u]\nparse_worker = {worker}\n', encoding='utf-8')
    run = subprocess.run([sys.executable, str(ROOT / 'stalkeer.py'), '--config', str(tmp_path / 'stalkeer.ini'),
                          '--db', db_url, 'process', '-v', '--source', 'm3u', str(playlist)],
                         capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    err = run.stderr
    named = [int(m) for m in re.findall(r'playlist line (\d+) malformed: ', err)]
    assert named == list(range(6, 6 + MALFORMED_COUNT))


def test_a_skipped_re_run_says_the_same_and_how_to_see_the_rest(cli, db_url, tmp_path):
    playlist = write_playlist(tmp_path)
    process(cli, db_url, playlist)
    out, _ = process(cli, db_url, playlist)
    doc = json.loads(process(cli, db_url, playlist, '--json')[0])
    assert doc['skipped'] == 'unchanged'
    assert text_samples(out) == [s['line'] for s in doc['malformed_samples']]
    more = MALFORMED_COUNT - len(doc['malformed_samples'])
    hint = f'`stalkeer process {shlex.quote(str(playlist))} --dry-run -v`'
    assert f'  … and {more} more malformed lines: {hint} names every one' in out
    _, err = process(cli, db_url, playlist, '--dry-run', '-v')
    assert len(re.findall(r'playlist line \d+ malformed: ', err)) == MALFORMED_COUNT
    # -v of a skipped re-run named none: the way to see them is still given.
    out, _ = process(cli, db_url, playlist, '-v')
    assert f'  … and {more} more malformed lines: {hint} names every one' in out


def run_in(folder, *argv):
    run = subprocess.run([sys.executable, str(ROOT / 'stalkeer.py'), *map(str, argv)], cwd=folder,
                         capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout, run.stderr


@pytest.mark.parametrize('name', ['bad list.m3u', "it's.m3u", '-bad.m3u'])
def test_the_command_the_summary_gives_works_as_printed_and_writes_nothing(db_url, tmp_path, name):
    """Newcomer trial 2: `process bad.m3u` said `stalkeer process -v` names
    every one, which read [m3u] file_path (another playlist, whose lines it
    stored and the bad one's it marked gone), and after a first run only said
    the file was unchanged. The command printed, run as printed in the same
    folder with the same settings, reads the same playlist, names every
    malformed line and writes nothing."""
    write_playlist(tmp_path).rename(tmp_path / name)
    other = tmp_path / 'other.m3u'
    other.write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Ran (1985)\nhttp://h/movie/9.mkv\n',
                     encoding='utf-8')
    (tmp_path / 'stalkeer.ini').write_text(f'[database]\nurl = {db_url}\n[m3u]\nfile_path = {other}\n'
                                           'parse_worker = false\n', encoding='utf-8')
    for first in (True, False):     # a first import, then a re-run skipped as unchanged
        out, _ = run_in(tmp_path, 'process', '--source', 'm3u', '--', name)
        assert ('playlist unchanged since' in out) != first, out
        hint = re.search(r'^  … and \d+ more malformed lines: `stalkeer ([^`]*)` names every one$', out, re.M)
        assert hint, out
        argv = shlex.split(hint[1])
        assert argv[-2:] == ['--dry-run', '-v'], argv
        shown, err = run_in(tmp_path, *argv)
        assert shown.startswith(f'dry run, nothing written: {tmp_path / name}:'), shown
        named = [int(m) for m in re.findall(r'playlist line (\d+) malformed: ', err)]
        assert named == list(range(6, 6 + MALFORMED_COUNT)), err
        # Every one was named above: nothing more to run.
        assert 'names every one' not in shown and f'and {MALFORMED_COUNT - 10} more malformed lines' in shown
    # Nothing was written: the bad playlist is still the last import, its lines not gone.
    out, _ = run_in(tmp_path, 'process', '--source', 'm3u', '--', name)
    assert 'playlist unchanged since' in out and 'no longer in the playlist' not in out, out


# Configurations: what is wrong in each (nothing, a value, a line of the file, an app half set up).
CONFIGS = {
    'clean': '[downloads]\nmax_retry_attempts = 7\n',
    'bad number': '[downloads]\nmax_retry_attempts = lots\n',
    'half an app': '[radarr]\nurl = http://127.0.0.1:1\n',
    'bad line and value': '[downloads]\nmax_parallel = 0\nnot a setting\n',
}


@pytest.mark.parametrize('name', CONFIGS)
def test_config_errors_are_never_null_and_are_what_check_finds(cli, tmp_path, name):
    """`config --json` said `"errors": null` where `config --check` refused:
    the errors are checked either way, and text, JSON and --check agree."""
    ini = tmp_path / 'c.ini'
    ini.write_text(CONFIGS[name], encoding='utf-8')
    code, out, _ = cli('--config', ini, 'config', '--json')
    plain = json.loads(out)
    check_code, out, _ = cli('--config', ini, 'config', '--check', '--json')
    checked = json.loads(out)
    assert plain['errors'] is not None
    assert plain['errors'] == checked['errors'] and plain['notes'] == checked['notes']
    assert code == check_code == (2 if checked['errors'] else 0)
    assert (name == 'clean') == (checked['errors'] == [])
    text_code, text, err = cli('--config', ini, 'config')
    assert text_code == code
    for problem in plain['errors']:
        assert problem in err
    for note in plain['notes']:
        assert f'note: {note}' in text


def seed_many(tmp_path, db_url) -> dict:
    """{status: [ids]} of downloads in every status, several of each."""
    db = stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    ids = {}
    for status, n in (('pending', 13), ('paused', 3), ('failed', 12), ('downloading', 4), ('retrying', 2),
                      ('completed', 7)):
        for i in range(n):
            info = state.get_or_create(f'http://h/movie/u/p/{status}{i}.mkv',
                                       str(tmp_path / 'lib' / f'{status} {i}'), f'{status.title()} {i}')
            fields = dict(status=status, total_bytes=1000, bytes_downloaded=10)
            if status == 'completed':
                fields.update(file_size=10, download_path=f'/lib/{status}{i}.mkv', completed_at=stalkeer.utcnow())
            stalkeer.DownloadInfo.update(**fields).where(stalkeer.DownloadInfo.id == info.id).execute()
            ids.setdefault(status, []).append(info.id)
    db.close()
    return ids


def shown_ids(text: str) -> list[int]:
    return [int(m) for m in re.findall(r'^  #(\d+) ', text, re.M)]


SECTIONS = {'active': ('downloading', 'retrying'), 'queued': ('pending', 'paused'),
            'failures': ('failed',), 'recent completions': ('completed',)}


def test_each_status_list_says_how_many_more_and_its_command_shows_them_all(cli, db_url, tmp_path):
    """Every "… and N more (…)" of `status` counts the rows left out, and the
    command it names shows every row of that list (the queued list holds
    paused rows, which `--status pending` never showed)."""
    ids = seed_many(tmp_path, db_url)
    code, out, err = cli('--db', db_url, 'status', '--limit', '2')
    assert code == 0, err
    parts = re.split(r'^(active|queued|failures|recent completions):$', out, flags=re.M)
    for heading, body in zip(parts[1::2], parts[2::2]):
        rows = set(sum((ids[s] for s in SECTIONS[heading]), []))
        assert len(shown_ids(body)) == 2
        more = re.search(r'^  … and (\d+) more \((.*)\)$', body, re.M)
        assert more and int(more.group(1)) == len(rows) - 2, (heading, body)
        seen = set()
        for command in more.group(2).split(', or '):
            argv = command.replace('--limit N', '--limit 100').split()[1:]
            seen |= set(shown_ids(cli('--db', db_url, *argv)[1]))
        assert seen == rows, (heading, more.group(0))


@pytest.mark.parametrize('filters', [['--status', 'pending'], ['--failed'], ['--active'], ['--status', 'paused']])
def test_a_filtered_status_and_its_json_show_the_same_rows_and_count_the_rest(cli, db_url, tmp_path, filters):
    ids = seed_many(tmp_path, db_url)
    selected = {'--failed': ids['failed'], '--active': ids['downloading'] + ids['retrying']}.get(
        filters[0], ids.get(filters[-1]))
    for limit in (2, 100):
        _, text, _ = cli('--db', db_url, 'status', *filters, '--limit', limit)
        doc = json.loads(cli('--db', db_url, 'status', *filters, '--limit', limit, '--json')[1])
        assert shown_ids(text) == [d['id'] for d in doc['downloads']]
        more = len(selected) - len(doc['downloads'])
        assert doc['more_downloads'] == more
        said = re.findall(r'^  … and (\d+) more \(stalkeer status (.*) --limit N\)$', text, re.M)
        assert said == ([(str(more), ' '.join(filters))] if more else [])


def test_the_status_page_lists_count_the_rows_past_the_fifty_shown(db_url, tmp_path, monkeypatch):
    """/api/page cut each list at 50 rows and said nothing; `more` counts the
    rest (the page prints `… and N more`), and /api/downloads' more_downloads
    counts what its ?limit= left out."""
    from test_serve import request, serving
    monkeypatch.setattr(stalkeer, 'SERVE_LIST_LIMIT', 5)
    ids = seed_many(tmp_path, db_url)
    with serving(db_url, tmp_path) as server:
        page = json.loads(request(server, '/api/page')[2])
        downloads = json.loads(request(server, '/api/downloads?status=pending&limit=4')[2])
    shown = {name: len(page[name]) for name in ('active', 'queue', 'failed', 'completed')}
    # Active: the 4 downloading (retrying rows hold no lock: they wait in the queue).
    assert page['more'] == {'active': 4 - shown['active'], 'queue': 18 - shown['queue'],
                            'failed': 12 - 5, 'completed': 7 - 5}
    assert shown['failed'] == shown['completed'] == shown['queue'] == 5
    assert len(downloads['downloads']) == 4 and downloads['more_downloads'] == len(ids['pending']) - 4


def test_a_list_shown_in_part_says_how_many_more():
    """first_of: the lists the matching names (other films a lookup knows, the
    extras a movie has only) said nothing of the rest, or cut a title part-way."""
    assert stalkeer.first_of(['a', 'b'], 5) == 'a, b'
    assert stalkeer.first_of([f'x{i}' for i in range(8)], 5) == 'x0, x1, x2, x3, x4 and 3 more'


def test_the_extras_a_movie_has_only_are_named_whole_and_counted():
    import types
    match = stalkeer.Match()
    titles = [f'Alien (1979) - Behind the scenes part {i} ' + 'x' * 40 for i in range(9)]
    for i, title in enumerate(titles):
        line = types.SimpleNamespace(id=i, display_title=title, year=1979)
        match.add(stalkeer.Verdict(line, False, 'a trailer or extra', stalkeer.SKIP_ONLY_EXTRAS))
    reason, detail = match.skip_reason()
    assert reason == stalkeer.SKIP_ONLY_EXTRAS
    assert detail == '; '.join(sorted(titles)[:5]) + ' and 4 more'


def test_resume_downloads_counts_the_given_up_it_does_not_name_and_v_names_them(cli, db_url, tmp_path):
    """resume-downloads named 20 given-up downloads and cut the rest silently."""
    db = stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    ids = []
    for i in range(23):
        info = state.get_or_create(f'http://h/movie/u/p/{i}.mkv', str(tmp_path / 'lib' / f'm{i}'), f'M {i}')
        stalkeer.DownloadInfo.update(status='failed', retry_count=5, error_message='HTTP 404 Not Found').where(
            stalkeer.DownloadInfo.id == info.id).execute()
        ids.append(info.id)
    db.close()
    code, out, err = cli('--db', db_url, 'resume-downloads')
    assert code == 1, err
    assert len(shown_ids(out)) == 20 and '  … and 3 more: -v names every one' in out, out
    assert re.search(r'\(IDs (\d+ ){19}\d+ and 3 more\)', out), out
    code, out, err = cli('--db', db_url, '-v', 'resume-downloads')
    assert sorted(shown_ids(out)) == ids and ' more' not in out, out
