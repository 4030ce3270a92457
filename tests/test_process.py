"""`process`: playlist ingest into processed_lines, on both backends."""

import contextlib
import json
import os
import re
import signal
import threading
import time

import pytest

import stalkeer
from conftest import SHARED, start_stalkeer

PL = stalkeer.ProcessedLine
PLAYLISTS = SHARED / 'playlists'
STK = PLAYLISTS / 'germainlefebvre4-Stalkeer__sample.m3u'
MOCK = PLAYLISTS / 'duneiptv-xtream-mock-server__playlist.m3u'


def process(cli, db_url, *args):
    code, out, err = cli('--db', db_url, 'process', *map(str, args))
    return code, out, err


def process_json(cli, db_url, *args):
    code, out, err = process(cli, db_url, '--json', *args)
    assert code == 0, err
    return json.loads(out)


def table(db_url, tmp_path):
    db = stalkeer.open_database(db_url, str(tmp_path))
    rows = sorted(PL.select().dicts(), key=lambda r: r['id'])
    db.close()
    return rows


def by_display(rows, display):
    return [r for r in rows if r['display_title'] == display]


@pytest.mark.parametrize('name, expected', [
    ('OnlineM3U-publicdomainm3u__movies.m3u', {'movies': 23}),
    ('OnlineM3U-publicdomainm3u__series.m3u', {'tvshows': 1}),
    ('duneiptv-xtream-mock-server__playlist.m3u', {'channels': 30, 'movies': 30, 'tvshows': 15}),
    ('germainlefebvre4-Stalkeer__sample.m3u', {'movies': 16, 'tvshows': 28}),
    ('iptv-org-iptv__fr.m3u', {'channels': 135}),
    ('ykarateke-SwiftM3UKit__sample_large.m3u', {'channels': 10, 'movies': 5, 'tvshows': 7}),
])
def test_every_shared_playlist(name, expected, cli, sqlite_url):
    summary = process_json(cli, sqlite_url, PLAYLISTS / name)
    assert summary['by_content_type'] == expected
    assert summary['malformed'] == 0 and summary['new'] == summary['entries'] == sum(expected.values())


def test_stored_fields_for_tricky_entries(cli, db_url, tmp_path):
    for name in (STK, PLAYLISTS / 'OnlineM3U-publicdomainm3u__series.m3u', MOCK):
        process_json(cli, db_url, name)
    rows = table(db_url, tmp_path)
    joker = by_display(rows, 'Joker : Folie à deux (2024) SUBT AR')[0]
    assert (joker['content_type'], joker['year']) == ('movies', 2024)
    assert 'folie a deux' in joker['match_key'] and 'AR' in joker['languages']
    assert joker['group_title'] == 'AR:SUBT أفلام مترجمة'
    band = by_display(rows, 'Band of Brothers : L’Enfer du Pacifique S01 E03')[0]
    assert (band['content_type'], band['season'], band['episode']) == ('tvshows', 1, 3)
    raya = by_display(rows, 'Raya et le Dernier Dragon (FHD MULTI)')[0]
    assert (raya['resolution'], raya['year']) == ('1080p', None) and 'MULTI' in raya['languages']
    relic = by_display(rows, 'Broadcast Relic 4x3')[0]
    assert relic['content_type'] == 'movies' and relic['season'] is None
    ultra = by_display(rows, 'UltraVision 4K')[0]
    assert ultra['content_type'] == 'channels'
    hill = [r for r in rows if r['display_title'].startswith('The Beverly Hillbillies - S01E01')][0]
    assert (hill['title'], hill['season'], hill['episode']) == ('The Beverly Hillbillies', 1, 1)
    assert all(r['line_hash'] and len(r['line_hash']) == 40 for r in rows)
    assert all(r['state'] == 'processed' for r in rows)
    # Three different playlists into one database: only the last one is "present".
    assert {r['missing_since'] is None for r in rows if r['display_title'] == 'UltraVision 4K'} == {True}
    assert joker['missing_since'] is not None
    assert rows[0]['url'].startswith('http')      # the real URL is stored


def test_rerun_is_idempotent_and_rewrites_nothing(cli, db_url, tmp_path):
    first = process_json(cli, db_url, STK)
    before = table(db_url, tmp_path)
    second = process_json(cli, db_url, STK)
    assert first['new'] == 44 and second['new'] == 0 and second['updated'] == 0
    assert second['unchanged'] == 44 and second['by_content_type'] == first['by_content_type']
    assert table(db_url, tmp_path) == before          # not even updated_at moved


def test_changed_line_is_updated(cli, db_url, tmp_path):
    playlist = tmp_path / 'p.m3u'
    text = STK.read_text(encoding='utf-8')
    playlist.write_text(text, encoding='utf-8')
    process_json(cli, db_url, playlist)
    playlist.write_text(text.replace('group-title="Séries K-DRAMA",Hunter with a scalpel S01 E01',
                                     'group-title="K-Drama VOD",Hunter with a scalpel S01 E01'),
                        encoding='utf-8')
    summary = process_json(cli, db_url, playlist)
    assert (summary['updated'], summary['unchanged']) == (1, 43)
    row = [r for r in table(db_url, tmp_path) if r['group_title'] == 'K-Drama VOD']
    assert len(row) == 1 and row[0]['episode'] == 1


def test_force_reclassifies_everything_and_counts_only_rewritten_rows_as_updated(cli, db_url, tmp_path):
    """trial-15 F4: --force on an unchanged playlist said "updated 44" though it
    rewrote nothing: updated counts rows rewritten, reclassified the lines
    classified again."""
    process_json(cli, db_url, STK)
    before = table(db_url, tmp_path)
    code, out, err = process(cli, db_url, STK, '--force')
    assert code == 0 and 'new 0, updated 0, unchanged 44,' in out
    assert '--force: 44 stored lines classified again, 0 of them rewritten' in out
    assert table(db_url, tmp_path) == before                # not even updated_at moved
    # A stored row that its line no longer gives (an older classifier's reading).
    db = stalkeer.open_database(db_url, str(tmp_path))
    PL.update(title='Something Else').where(PL.id == before[0]['id']).execute()
    db.close()
    summary = process_json(cli, db_url, STK, '--force')
    assert (summary['new'], summary['updated'], summary['unchanged'], summary['reclassified']) == (0, 1, 43, 44)
    after = table(db_url, tmp_path)
    assert after[0]['title'] == before[0]['title'] and after[1:] == before[1:]
    assert process_json(cli, db_url, STK)['reclassified'] == 0     # without --force: none


def test_vanished_lines_are_marked_never_deleted(cli, db_url, tmp_path):
    playlist = tmp_path / 'p.m3u'
    lines = STK.read_text(encoding='utf-8').splitlines(keepends=True)
    playlist.write_text(''.join(lines), encoding='utf-8')
    process_json(cli, db_url, playlist)
    # A download points at the first entry.
    db = stalkeer.open_database(db_url, str(tmp_path))
    first = PL.get(PL.line_number == 2)
    info = stalkeer.StateManager(owner='t').get_or_create(first.url, '/lib/x', processed_line_id=first.id)
    db.close()
    playlist.write_text(''.join(lines[:1] + lines[5:]), encoding='utf-8')   # drop two entries
    summary = process_json(cli, db_url, playlist)
    assert summary['disappeared'] == 2 and summary['entries'] == 42
    rows = table(db_url, tmp_path)
    assert len(rows) == 44
    gone = [r for r in rows if r['missing_since'] is not None]
    assert len(gone) == 2 and info.id in [r['download_info'] for r in gone]
    playlist.write_text(''.join(lines), encoding='utf-8')
    summary = process_json(cli, db_url, playlist)
    assert summary['reappeared'] == 2 and summary['new'] == 0
    assert all(r['missing_since'] is None for r in table(db_url, tmp_path))


def _entry_lines(text):
    """The header and the entries (EXTINF line and URL line) of a playlist."""
    lines = text.splitlines(keepends=True)
    return lines[0], [lines[i] + lines[i + 1] for i in range(1, len(lines) - 1, 2)]


def test_a_moved_line_gets_its_new_line_number_and_stays_unchanged(cli, db_url, tmp_path):
    """trial-15c F1: a re-run left an unchanged line alone, line_number too, so
    after an entry was added ahead of it (or one removed) `lines --json` named
    the line it had in the last import that wrote it. Now its line_number is
    rewritten, and only that: the line is counted unchanged, updated_at stays."""
    header, entries = _entry_lines(STK.read_text(encoding='utf-8'))
    assert len(entries) == 44 and all(e.startswith('#EXTINF') for e in entries)
    playlist = tmp_path / 'p.m3u'
    playlist.write_text(header + ''.join(entries), encoding='utf-8')
    process_json(cli, db_url, playlist)
    before = table(db_url, tmp_path)
    added = '#EXTINF:-1 tvg-name="Heat (1995)" group-title="VOD",Heat (1995)\nhttp://h.example/movie/u/p/1.mkv\n'
    playlist.write_text(header + added + ''.join(entries[:10] + entries[11:]), encoding='utf-8')
    summary = process_json(cli, db_url, playlist)
    assert (summary['new'], summary['updated'], summary['unchanged'], summary['disappeared']) == (1, 0, 43, 1)
    assert summary['reappeared'] == 0
    after = {r['id']: r for r in table(db_url, tmp_path)}
    kept = [row for row in before if after[row['id']]['missing_since'] is None]
    assert len(kept) == 43
    for row in kept:
        moved = after[row['id']]
        assert moved['updated_at'] == row['updated_at']             # only line_number was written
        # the two lines added ahead of line 22, the two of line 22 taken away after it
        assert moved['line_number'] == row['line_number'] + (2 if row['line_number'] < 22 else 0)
    code, out, err = cli('--db', db_url, 'lines', 'Hunter with a scalpel', '--json')
    assert code == 0, err
    shown = {line['display_title']: line['line_number'] for line in json.loads(out)['lines']}
    lines = playlist.read_text(encoding='utf-8').splitlines()
    assert shown and all(lines[number - 1].endswith(',' + title) for title, number in shown.items()), shown
    assert process_json(cli, db_url, playlist)['unchanged'] == 44       # and the next run is a plain skip


@pytest.mark.parametrize('worker', ['false', 'true'])
def test_a_line_that_comes_back_counts_as_reappeared_whatever_else_changed(cli, db_url, tmp_path,
                                                                          monkeypatch, worker):
    """trial-15c F2: a line back in the playlist counted as reappeared only
    when it came back unchanged and without --force; back with a new
    group-title, or under --force, it counted only as updated. Every path
    counts it now (the parse worker's too), the dry run as the real run."""
    monkeypatch.setenv('STALKEER_M3U_PARSE_WORKER', worker)
    header, entries = _entry_lines(STK.read_text(encoding='utf-8'))
    playlist = tmp_path / 'p.m3u'

    def write(chosen):
        playlist.write_text(header + ''.join(chosen), encoding='utf-8')

    def run(*args):
        dry = process_json(cli, db_url, playlist, '--dry-run', *args)
        real = process_json(cli, db_url, playlist, *args)
        for summary in (dry, real):
            summary.pop('elapsed_seconds'), summary.pop('dry_run')
        assert dry == real
        return real

    write(entries)
    process_json(cli, db_url, playlist)
    write(entries[:-3])                                   # the last three lines gone (no line moves)
    assert run()['disappeared'] == 3
    changed = entries[-2].replace('group-title="', 'group-title="Back ', 1)
    assert changed != entries[-2]
    write(entries[:-2] + [changed, entries[-1]])          # back: two unchanged, one with a new group-title
    summary = run()
    assert (summary['reappeared'], summary['updated'], summary['unchanged']) == (3, 1, 43), summary
    write(entries[:-3])
    assert run()['disappeared'] == 3
    write(entries)                                        # back under --force (rewritten: missing_since)
    summary = run('--force')
    assert (summary['reappeared'], summary['updated'], summary['unchanged'], summary['reclassified']) \
        == (3, 3, 41, 44), summary
    assert all(r['missing_since'] is None for r in table(db_url, tmp_path))
    assert run('--force')['reappeared'] == 0


def test_duplicates_are_counted_once(cli, sqlite_url, tmp_path):
    entry = '#EXTINF:-1 tvg-name="Heat (1995)",Heat (1995)\nhttp://h/movie/u/p/1.mkv\n'
    playlist = tmp_path / 'dup.m3u'
    playlist.write_text('#EXTM3U\n' + entry * 3, encoding='utf-8')
    summary = process_json(cli, sqlite_url, playlist)
    assert (summary['entries'], summary['new'], summary['duplicates']) == (3, 1, 2)


def test_dry_run_writes_nothing(cli, sqlite_url, db_url, tmp_path):
    code, out, err = process(cli, sqlite_url, STK, '--dry-run')
    assert code == 0 and 'dry run, nothing written' in out and 'new 44' in out
    assert not (tmp_path / 'stalkeer.db').exists()          # not even an empty database
    process_json(cli, db_url, MOCK)
    before = table(db_url, tmp_path)
    summary = process_json(cli, db_url, STK, '--dry-run')
    assert summary['dry_run'] and summary['new'] == 44 and summary['disappeared'] == 75
    assert table(db_url, tmp_path) == before


@pytest.mark.parametrize('worker', ['false', 'true'])
def test_limit_counts_only_the_entries_it_considered(cli, sqlite_url, tmp_path, monkeypatch, worker):
    """trial-15 F5: `--limit 10` printed "11 entries in 24 lines" but stored 10:
    the entry that tripped the limit was counted."""
    monkeypatch.setenv('STALKEER_M3U_PARSE_WORKER', worker)
    code, out, err = process(cli, sqlite_url, STK, '--limit', '10')
    assert code == 0, err
    assert f'{STK}: 10 entries in ' in out and 'new 10,' in out
    summary = process_json(cli, sqlite_url, STK, '--limit', '10')
    assert (summary['entries'], summary['unchanged']) == (10, 10)
    # The lines read end with the 10th entry's URL line: the 11th starts after them.
    lines = STK.read_text(encoding='utf-8').splitlines()
    extinf = [i for i, line in enumerate(lines, 1) if line.startswith('#EXTINF')]
    assert summary['lines_read'] == extinf[10] - 1
    assert len(table(sqlite_url, tmp_path)) == 10


def test_limit_stops_early_and_marks_nothing_gone(cli, db_url, tmp_path):
    process_json(cli, db_url, STK)
    summary = process_json(cli, db_url, STK, '--limit', '10')
    assert summary['limited'] and summary['unchanged'] == 10 and summary['disappeared'] == 0
    assert all(r['missing_since'] is None for r in table(db_url, tmp_path))


def test_json_summary_keys(cli, sqlite_url):
    summary = process_json(cli, sqlite_url, STK)
    assert {'lines_read', 'entries', 'new', 'updated', 'unchanged', 'duplicates', 'filtered',
            'malformed', 'decode_errors', 'by_content_type', 'elapsed_seconds',
            'disappeared', 'header_missing', 'reclassified'} <= set(summary)


def write_filter_ini(tmp_path, body):
    ini = tmp_path / 'filter.ini'
    ini.write_text('[filter]\n' + body, encoding='utf-8')
    return ini


def test_filters(cli, sqlite_url, tmp_path):
    ini = write_filter_ini(tmp_path, 'group_title_exclude = ^AR:\n    k-drama\n')
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'process', STK, '--json')
    summary = json.loads(out)
    assert summary['filtered'] == 4 + 5 and summary['new'] == 44 - 9
    ini = write_filter_ini(tmp_path, 'tvg_name_include = last action hero\n')
    code, out, err = cli('--config', ini, '--db', f'sqlite:///{tmp_path}/2.db', 'process', STK, '--json')
    summary = json.loads(out)
    assert summary['new'] == 4 and summary['filtered'] == 40


def test_bad_filter_regex_is_a_config_error(cli, sqlite_url, tmp_path):
    ini = write_filter_ini(tmp_path, 'tvg_name_exclude = (unclosed\n')
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'process', STK)
    assert code == 2 and '[filter] tvg_name_exclude' in err and 'Traceback' not in err


def imports_row(db_url, tmp_path):
    """Every playlist_imports row, as stored."""
    db = stalkeer.open_database(db_url, str(tmp_path))
    try:
        return list(stalkeer.PlaylistImport.select().order_by(stalkeer.PlaylistImport.source).dicts())
    finally:
        db.close()


# A playlist that is not (quite) one: each is refused in one line naming what
# was wrong, exit 2, and nothing stored changes (newcomer trial: the record of
# the last complete import was cleared, and the summary printed first).
NOT_QUITE = [
    (b'', 'the file is empty (0 bytes)'),
    (b'\xef\xbb\xbf', 'it holds only a UTF-8 byte order mark'),
    (b'\xff\xfe', 'it holds only a UTF-16 byte order mark'),
    (b'\x00\x00\xfe\xff', 'it holds only a UTF-32 byte order mark'),
    (b'\n\r\n  \t\n', 'it holds only blank lines'),
    (b'\xef\xbb\xbf\r\n\r\n', 'it holds only blank lines'),
    (b'#EXTM3U\n', 'it holds the #EXTM3U header but no #EXTINF entry'),
    (b'\xef\xbb\xbf#EXTM3U\r\n', 'it holds the #EXTM3U header but no #EXTINF entry'),
    ('#EXTM3U\n'.encode('utf-32'), 'it holds the #EXTM3U header but no #EXTINF entry'),
    (b'#EXTM3U\n#EXTVLCOPT:http-user-agent=VLC\n# a comment\n', 'it holds the #EXTM3U header but no #EXTINF entry'),
    (b'# a comment\n', 'it holds no #EXTINF line, so it is not an M3U playlist'),
    (b'#EXTM3U\n#EXTINF:-1,Heat (1995)\n', '1 malformed line and not one entry (an #EXTINF line, then its '
     'http(s) URL) (line 2: EXTINF without URL at end of file)'),
    (b'http://h/1.mkv\nhttp://h/2.mkv\nhttp://h/3.mkv\n', '3 malformed lines and not one entry (an #EXTINF '
     'line, then its http(s) URL) (line 1: URL without EXTINF, …)'),
    # Past the first 64 KiB (read whole before the database is opened): refused after the read.
    (b'#EXTM3U\n' + b'\n' * 70_000, 'it holds the #EXTM3U header but no #EXTINF entry'),
    (b'\xef\xbb\xbf#EXTM3U\r\n' + b'# nothing today\r\n' * 5000, 'it holds the #EXTM3U header but no #EXTINF entry'),
    (b'#EXTM3U\n' + bytes(range(32, 256)) * 4000, '1 malformed line and not one entry'),
    (b'#EXTM3U\n#EXTINF:-1,' + b'A' * (10 * 1024 * 1024) + b'\nhttp://h/1.mkv\n',
     '2 malformed lines and not one entry (an #EXTINF line, then its http(s) URL) (line 2: line longer '
     'than 65536 bytes, …)'),
]
NOT_QUITE_IDS = ['empty', 'utf8-bom', 'utf16-bom', 'utf32be-bom', 'blank', 'bom-blank', 'header', 'bom-header',
                 'utf32-header', 'directives', 'comment', 'extinf-no-url', 'bare-urls', 'big-header',
                 'big-bom-comments', 'text-garbage',
                 'a-10-MB-line']


@pytest.mark.parametrize('content, why', NOT_QUITE, ids=NOT_QUITE_IDS)
def test_a_playlist_without_entries_is_refused_in_one_line_and_changes_nothing(content, why, cli, db_url,
                                                                              tmp_path):
    process_json(cli, db_url, STK)
    before, imports = table(db_url, tmp_path), imports_row(db_url, tmp_path)
    assert imports[0]['completed_at'] is not None
    _, status_before, _ = cli('--db', db_url, 'status', '--json')
    bad = tmp_path / 'bad.m3u'
    bad.write_bytes(content)
    for args in ((), ('--force',), ('--json',), ('--dry-run',)):
        started = time.monotonic()
        code, out, err = process(cli, db_url, bad, *args)
        assert time.monotonic() - started < 10
        assert code == 2 and out == '', (args, out, err)      # no summary before the refusal
        assert err.splitlines() == [err.strip()], err
        assert err.startswith(f'stalkeer: error: no playlist entries in {bad}: {why}'), err
        assert err.rstrip().endswith('; nothing in the database was changed'), err
    assert table(db_url, tmp_path) == before                # no line marked gone, none lost
    assert imports_row(db_url, tmp_path) == imports          # the last complete import's record stands
    assert cli('--db', db_url, 'status', '--json')[1] == status_before
    code, out, err = cli('--db', db_url, 'status')
    assert 'playlist: last import completed' in out and 'did not complete' not in out + err
    assert process_json(cli, db_url, STK)['skipped'] == 'unchanged'     # and its re-run skip


@pytest.mark.parametrize('content', [b'#EXTM3U\n', b'#EXTM3U\n' + b'\n' * 70_000], ids=['small', 'big'])
def test_a_first_import_of_a_file_without_entries_leaves_no_import_record(cli, db_url, tmp_path, content):
    bad = tmp_path / 'bad.m3u'
    bad.write_bytes(content)
    code, out, err = process(cli, db_url, bad)
    assert code == 2 and out == '' and 'no playlist entries in' in err
    assert imports_row(db_url, tmp_path) == [] and table(db_url, tmp_path) == []
    code, out, err = cli('--db', db_url, 'status', '--json')
    assert json.loads(out)['imports'] == []


def test_a_file_changed_before_any_entry_was_read_is_refused_and_changes_nothing(cli, db_url, tmp_path,
                                                                                monkeypatch):
    """The refusal of a read that saw the file change (PlaylistChanged) before
    its first entry: nothing was stored, so the last complete import stands."""
    process_json(cli, db_url, STK)
    before, imports = table(db_url, tmp_path), imports_row(db_url, tmp_path)
    playlist = tmp_path / 'p.m3u'
    playlist.write_bytes(MOCK.read_bytes())

    def changed(self, buffer):
        self.changed = True
        raise stalkeer.PlaylistChanged(self.path)
    monkeypatch.setattr(stalkeer.PlaylistFile, 'readinto', changed)
    code, out, err = process(cli, db_url, playlist)
    assert code == 2 and out == '', (out, err)
    assert err.splitlines() == [f'stalkeer: error: the playlist {playlist} changed while it was read (another '
                                'program writing it in place?) before any entry was read; nothing in the '
                                'database was changed; run it again']
    assert table(db_url, tmp_path) == before and imports_row(db_url, tmp_path) == imports


def test_an_import_whose_every_entry_is_filtered_out_is_complete(cli, db_url, tmp_path):
    """Not a refusal: the entries were read; none was stored (the pointer is
    begun at the first batch stored, so here at the end)."""
    ini = write_filter_ini(tmp_path, 'group_title_include = ^nothing-matches-this$\n')
    code, out, err = cli('--config', ini, '--db', db_url, 'process', STK, '--json')
    assert code == 0 and json.loads(out)['filtered'] == 44, err
    assert imports_row(db_url, tmp_path)[0]['completed_at'] is not None
    code, out, err = cli('--config', ini, '--db', db_url, 'process', STK, '--json')
    assert code == 0 and json.loads(out)['skipped'] == 'unchanged'


def _gzip(data):
    import gzip
    return gzip.compress(data)


@pytest.mark.parametrize('content, why', [
    (bytes(range(256)) * 4000, 'binary data: 10% of its first 65,536 bytes are control characters'),
    (os.urandom(200_000), 'binary data: '),
    (b'\0' * 100_000, 'binary data: 100% of its first 65,536 bytes'),
    (b'#EXTM3U\n' + bytes(range(256)) * 100, 'binary data: '),          # a header does not make it text
    (_gzip(STK.read_bytes()), 'gzip-compressed data: unpack it first'),
    (STK.read_text(encoding='utf-8').encode('utf-16-le'), 'UTF-16 without a byte order mark: save it as UTF-8'),
    (STK.read_text(encoding='utf-8').encode('utf-32-le'), 'UTF-32 without a byte order mark: save it as UTF-8'),
    # A byte order mark switched the check off: a mark and 40k NULs was read, exit 0.
    (b'\xef\xbb\xbf' + bytes(40_000), 'binary data after a UTF-8 byte order mark: 100% of its first 40,000 bytes'),
    (b'\xef\xbb\xbf' + os.urandom(40_000), 'binary data after a UTF-8 byte order mark: '),
    # Each reason says where the mark is in its own words (was "UTF-16 without a
    # byte order mark after a UTF-8 byte order mark").
    (b'\xef\xbb\xbf' + STK.read_text(encoding='utf-8').encode('utf-16-le'),
     'UTF-16 after a UTF-8 byte order mark: save it as UTF-8'),
    (b'\xef\xbb\xbf' + STK.read_text(encoding='utf-8').encode('utf-32-le'),
     'UTF-32 after a UTF-8 byte order mark: save it as UTF-8'),
    (b'\xef\xbb\xbf' + _gzip(STK.read_bytes()), 'gzip-compressed data after a UTF-8 byte order mark: unpack it '
     'first'),
    (b'\xfe\xff' + bytes(40_000), 'binary data after a UTF-16 byte order mark: 100% of its first 20,000 characters'),
    (b'\xff\xfe' + os.urandom(40_000), 'binary data after a UTF-16 byte order mark: '),
    (b'\xff\xfe\x00\x00' + os.urandom(40_000), 'binary data after a UTF-32 byte order mark: '),
], ids=['all-bytes', 'random', 'nul', 'header-then-binary', 'gzip', 'utf16-no-bom', 'utf32-no-bom', 'utf8-bom-nul', 'utf8-bom-random',
        'utf8-bom-utf16', 'utf8-bom-utf32', 'utf8-bom-gzip', 'utf16-bom-nul', 'utf16-bom-random',
        'utf32-bom-random'])
def test_a_binary_file_is_named_as_such_and_changes_nothing(content, why, cli, db_url, tmp_path):
    """trial-17a F5: every line of random bytes was "URL without EXTINF"."""
    process_json(cli, db_url, STK)
    before = table(db_url, tmp_path)
    bad = tmp_path / 'bin.m3u'
    bad.write_bytes(content)
    for args in ((), ('--force',), ('--dry-run',), ('--json',)):
        code, out, err = process(cli, db_url, bad, *args)
        assert code == 2 and out == '', (args, out, err)
        assert err.splitlines() == [err.strip()] and err.startswith(
            f'stalkeer: error: {bad} is not a text playlist ({why}'), (args, err)
        assert err.rstrip().endswith('); nothing in the database was changed'), err
    assert table(db_url, tmp_path) == before
    assert process_json(cli, db_url, STK)['skipped'] == 'unchanged'     # the last import still stands


@pytest.mark.parametrize('content, why', [(bytes(range(256)) * 100, 'is not a text playlist'),
                                          (b'', 'no playlist entries in'),
                                          (b'\xef\xbb\xbf#EXTM3U\n', 'no playlist entries in'),
                                          (b'#EXTM3U\nhttp://h/1.mkv\n' * 1000, 'no playlist entries in'),
                                          ('#EXTM3U\n'.encode('utf-16'), 'no playlist entries in')],
                         ids=['binary', 'empty', 'header', 'bare-urls', 'utf16-header'])
def test_a_fresh_database_is_not_even_created_for_a_file_refused(cli, tmp_path, content, why):
    bad = tmp_path / 'bad.m3u'
    bad.write_bytes(content)
    for args in ((), ('--dry-run',)):
        code, out, err = process(cli, f'sqlite:///{tmp_path}/new.db', bad, *args)
        assert code == 2 and why in err and not (tmp_path / 'new.db').exists()


def test_a_stray_line_before_an_entry_url_loses_no_entry_and_marks_nothing_gone(cli, db_url, tmp_path):
    """A newcomer trial: `some text` between `#EXTINF:-1,Film (2020)` and its
    URL was taken as the link: the entry was lost, its real URL counted "URL
    without EXTINF", and its stored line marked gone. The stray line is
    counted malformed and named at -v (its line number, never its text)."""
    good = ('#EXTM3U\n#EXTINF:-1 group-title="Movies",Film (2020)\nhttp://host/movie/u/p/1.mkv\n'
            '#EXTINF:-1 group-title="Movies",Heat (1995)\nhttp://host/movie/u/p/2.mkv\n')
    playlist = tmp_path / 'p.m3u'
    playlist.write_text(good)
    process_json(cli, db_url, playlist)
    before = table(db_url, tmp_path)
    playlist.write_text(good.replace('Film (2020)\n', 'Film (2020)\nsome secret text\n'))
    code, out, err = cli('-v', '--db', db_url, 'process', playlist, '--json')
    assert code == 0, err
    summary = json.loads(out)
    assert (summary['entries'], summary['unchanged'], summary['disappeared'], summary['malformed']) == (2, 2, 0, 1)
    assert summary['malformed_samples'] == [
        {'line': 3, 'reason': 'not a usable URL, between an #EXTINF and its URL: skipped', 'related_line': 2}]
    assert 'playlist line 3 malformed: not a usable URL, between the #EXTINF on line 2' in err
    assert 'secret' not in out + err
    after = table(db_url, tmp_path)
    film = by_display(after, 'Film (2020)')[0]
    assert film['url'] == 'http://host/movie/u/p/1.mkv' and film['missing_since'] is None
    assert [r['id'] for r in after] == [r['id'] for r in before]


def test_messy_but_valid_playlist(cli, sqlite_url, tmp_path):
    content = ('\ufeff#EXTM3U\r\n\r\n'
               '#EXTINF:-1 tvg-name="Heat (1995)" group-title="Films, Action",Heat (1995)\r\n'
               '#EXTGRP:Films\r\n#EXTVLCOPT:http-user-agent=VLC\r\n'
               'http://h/movie/u/p/1.mkv\r\n'
               '#EXTINF:-1,No URL here\r\n'
               '#EXTINF:-1 group-title="Movies 2020" ,Bloodshot (2020)\r\n'
               'http://h/movie/u/p/2.mkv\r\n'
               'http://h/orphan.mkv\r\n').encode('utf-8')
    content += b'#EXTINF:-1,Caf\xe9 (2001)\nhttp://h/movie/u/p/3.mkv\n'   # Latin-1, not UTF-8
    playlist = tmp_path / 'messy.m3u'
    playlist.write_bytes(content)
    summary = process_json(cli, sqlite_url, playlist)
    assert summary['new'] == 3 and summary['malformed'] == 2
    assert (summary['encoding_fallbacks'], summary['decode_errors']) == (1, 0)
    rows = table(sqlite_url, tmp_path)
    heat = by_display(rows, 'Heat (1995)')[0]
    assert heat['group_title'] == 'Films, Action' and heat['year'] == 1995
    assert by_display(rows, 'Bloodshot (2020)')[0]['group_title'] == 'Movies 2020'
    cafe = by_display(rows, 'Café (2001)')[0]                 # the cp1252 line, read right
    assert (cafe['title'], cafe['match_key']) == ('Café', 'cafe')


def test_missing_header_is_a_warning(cli, sqlite_url, tmp_path):
    playlist = tmp_path / 'nohead.m3u'
    playlist.write_text('#EXTINF:-1,Heat (1995)\nhttp://h/movie/u/p/1.mkv\n', encoding='utf-8')
    code, out, err = process(cli, sqlite_url, playlist)
    assert code == 0 and 'no #EXTM3U header' in err


def test_missing_playlist(cli, sqlite_url, tmp_path):
    code, out, err = process(cli, sqlite_url, tmp_path / 'nope.m3u')
    assert code == 2 and 'playlist not found' in err
    code, out, err = cli('--db', sqlite_url, 'process')
    assert code == 2 and 'playlist.m3u' in err and 'm3u-download' in err


def test_a_directory_is_not_a_missing_playlist(cli, sqlite_url, tmp_path):
    (tmp_path / 'adir.m3u').mkdir()
    code, out, err = process(cli, sqlite_url, tmp_path / 'adir.m3u')
    assert code == 2 and 'is a folder' in err and 'not found' not in err


@pytest.mark.parametrize('encoding', ['utf-16', 'utf-16-le', 'utf-16-be', 'utf-32', 'utf-32-le', 'utf-32-be'])
def test_a_utf16_playlist_is_read_as_such(cli, sqlite_url, tmp_path, encoding):
    """trial-1213 F12: Windows Notepad's "Unicode" was 'URL without EXTINF' on
    every line. A UTF-32 file was read as UTF-16 (its mark starts with UTF-16's)."""
    text = ('#EXTM3U\r\n#EXTINF:-1 group-title="Movies",Amélie (2001)\r\nhttp://h/movie/u/p/1.mkv\r\n'
            '#EXTINF:-1 group-title="Movies",Heat (1995)\rhttp://h/movie/u/p/2.mkv\n')
    data = text.encode(encoding)
    if encoding != 'utf-16':                       # the BOM in the byte order of the file
        data = '\ufeff'.encode(encoding) + data
    playlist = tmp_path / 'utf16.m3u'
    playlist.write_bytes(data)
    code, out, err = process(cli, sqlite_url, playlist)
    assert code == 0, err
    assert 'malformed 0' in out and '2 entries' in out
    assert err == f'stalkeer: {playlist} is {encoding[:6].upper()} (it starts with a byte order mark): read as such\n'
    rows = table(sqlite_url, tmp_path)
    assert [r['display_title'] for r in rows] == ['Amélie (2001)', 'Heat (1995)']


def test_process_download_fetches_first(server, cli, sqlite_url, tmp_path):
    url = server.add('get.php', STK.read_bytes())
    ini = tmp_path / 's.ini'
    ini.write_text(f'[m3u]\nurl = {url}?username=alice&password=hunter22pw\n'
                   'file_path = pl.m3u\narchive_dir =\n', encoding='utf-8')
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'process', '--download')
    assert code == 0, err
    assert 'playlist saved' in out and '44 entries' in out and 'hunter22pw' not in out + err
    code, out, err = cli('--config', ini, '--db', sqlite_url, 'process', '--download', '--dry-run')
    assert code == 2 and 'cannot be combined' in err


def test_two_imports_at_once_do_not_collide(db_url, tmp_path):
    from conftest import start_stalkeer, subprocess_env
    procs = [start_stalkeer('--db', db_url, 'process', STK, '--json', env=subprocess_env())
             for _ in range(3)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    assert len(table(db_url, tmp_path)) == 44


# ---------------------------------------------------------------------------
# Providers' ways, end to end: the stored fields of each class
# ---------------------------------------------------------------------------

PROVIDER_LINES = [
    # (attributes, title, url)
    ('group-title="Séries"', 'The Office (US) S01E03', 'http://h/series/u/p/1.mkv'),
    ('group-title="Séries"', 'Shameless (US) (2011) S02E03', 'http://h/series/u/p/2.mkv'),
    ('group-title="Anime"', 'One Piece - 1071', 'http://h/series/u/p/3.mkv'),
    ('group-title="Anime"', 'One Piece S01E1170', 'http://h/series/u/p/4.mkv'),
    ('group-title="Talk"', 'The Daily Show 2020.03.11', 'http://h/series/u/p/5.mkv'),
    ('group-title="Séries"', 'Dark S01E01-E02', 'http://h/series/u/p/6.mkv'),
    ('group-title="Séries"', 'الهيبة الموسم ٢ الحلقة ١٢', 'http://h/series/u/p/7.mkv'),
    ('group-title="Movies"', 'Wonder Woman 1984 1080p', 'http://h/movie/u/p/8.mkv'),
    ('group-title="Movies"', "[VIP] Aliens Director's Cut (1986)", 'http://h/movie/u/p/9.mkv'),
    ('group-title="Movies"', 'The 100 S01E01', 'http://h/movie/u/p/10.mkv'),
    ('type="video"', 'Heat (1995)', 'https://cloud.example/download?resid=A1&authkey=k'),
    ('tvg-logo="x"', 'group-title="Movies &amp; Action",Fast &amp; Furious (2009)', 'http://h/movie/u/p/12.mkv'),
    ('group-title="Movies"', 'Movie.Name.2019.1080p.WEB-DL.x264-GRP', 'http://h/movie/u/p/13.mkv'),
]


def write_provider_playlist(path, sep='\n', extra=b''):
    lines = ['#EXTM3U']
    for attrs, title, url in PROVIDER_LINES:
        lines += [f'#EXTINF:-1 {attrs},{title}', url]
    path.write_bytes((sep.join(lines) + sep).encode() + extra)


def test_provider_classes_stored(cli, db_url, tmp_path):
    playlist = tmp_path / 'p.m3u'
    write_provider_playlist(playlist, extra='#EXTINF:-1,Amélie (2001)\nhttp://h/movie/u/p/14.mkv\n'.encode('cp1252'))
    summary = process_json(cli, db_url, playlist)
    assert summary['new'] == len(PROVIDER_LINES) + 1 and summary['malformed'] == 0
    assert (summary['encoding_fallbacks'], summary['entities_decoded'], summary['decode_errors']) == (1, 1, 0)
    rows = {r['line_number']: r for r in table(db_url, tmp_path)}
    fields = ('content_type', 'title', 'year', 'season', 'episode', 'episode_end', 'absolute_episode',
              'air_date', 'match_key', 'alt_key', 'edition', 'country')
    got = {n: tuple(rows[n][f] for f in fields) for n in rows}
    import datetime as dt
    assert got == {
        2: ('tvshows', 'The Office (US)', None, 1, 3, None, None, None, 'office us', 'office', None, 'US'),
        4: ('tvshows', 'Shameless (US)', 2011, 2, 3, None, None, None, 'shameless us', 'shameless', None, 'US'),
        6: ('tvshows', 'One Piece', None, None, 1071, None, 1071, None, 'one piece', None, None, None),
        8: ('tvshows', 'One Piece', None, 1, 1170, None, 1170, None, 'one piece', None, None, None),
        10: ('tvshows', 'The Daily Show', None, None, None, None, None, dt.date(2020, 3, 11), 'daily show',
             None, None, None),
        12: ('tvshows', 'Dark', None, 1, 1, 2, None, None, 'dark', None, None, None),
        14: ('tvshows', 'الهيبة', None, 2, 12, None, None, None, 'الهيبة', None, None, None),
        16: ('movies', 'Wonder Woman', 1984, None, None, None, None, None, 'wonder woman', 'wonder woman 1984',
             None, None),
        18: ('movies', 'Aliens', 1986, None, None, None, None, None, 'aliens', None, "Director's Cut", None),
        20: ('tvshows', 'The 100', None, 1, 1, None, None, None, '100', None, None, None),
        22: ('movies', 'Heat', 1995, None, None, None, None, None, 'heat', None, None, None),
        24: ('movies', 'Fast & Furious', 2009, None, None, None, None, None, 'fast and furious', None, None, None),
        26: ('movies', 'Movie Name', 2019, None, None, None, None, None, 'movie name', 'movie name 2019',
             None, None),
        28: ('movies', 'Amélie', 2001, None, None, None, None, None, 'amelie', None, None, None),
    }
    assert rows[24]['group_title'] == 'Movies & Action' and rows[24]['tvg_logo'] == 'x'
    assert rows[24]['display_title'] == 'Fast & Furious (2009)'
    assert rows[18]['display_title'] == "[VIP] Aliens Director's Cut (1986)"   # as the playlist has it
    assert rows[2]['languages'] is None                      # '(US)' is no language


def test_cr_only_playlist_and_the_text_summary(cli, sqlite_url, tmp_path):
    playlist = tmp_path / 'mac.m3u'
    write_provider_playlist(playlist, sep='\r', extra=b'#EXTINF:-1,Caf\xe9 (2001)\rhttp://h/movie/u/p/99.mkv\r')
    code, out, err = process(cli, sqlite_url, playlist)
    assert code == 0, err
    assert f'{len(PROVIDER_LINES) + 1} entries' in out and 'malformed 0' in out
    assert '1 lines not UTF-8 (read as cp1252)' in out and '1 lines with HTML entities decoded' in out
    code, out, err = process(cli, sqlite_url, STK)
    assert code == 0 and 'text:' not in out                  # nothing to say for a clean file


def test_old_database_gets_the_new_columns_and_is_reclassified(cli, db_url, tmp_path, monkeypatch):
    playlist = tmp_path / 'p.m3u'
    write_provider_playlist(playlist)
    # What the previous classifier stored: no new columns, '(US)' read as a language.
    monkeypatch.setattr(stalkeer, 'CLASSIFIER_VERSION', '1')
    process_json(cli, db_url, playlist)
    db = stalkeer.open_database(db_url, str(tmp_path))
    new_columns = ('episode_end', 'absolute_episode', 'air_date', 'alt_key', 'edition', 'country')
    with db.atomic():
        db.execute_sql('DROP INDEX IF EXISTS "processed_lines_content_type_alt_key"')
    for column in new_columns:
        db.execute_sql(f'ALTER TABLE "processed_lines" DROP COLUMN "{column}"')
    db.execute_sql("UPDATE \"processed_lines\" SET \"title\" = 'The Office', \"match_key\" = 'office', "
                   "\"languages\" = 'EN' WHERE \"line_number\" = 2")
    db.close()
    monkeypatch.undo()
    summary = process_json(cli, db_url, playlist)             # migrates, then re-classifies
    assert summary['updated'] == len(PROVIDER_LINES) and summary['new'] == 0
    db = stalkeer.open_database(db_url, str(tmp_path))
    assert set(new_columns) <= {c.name for c in db.get_columns('processed_lines')}
    assert 'processed_lines_content_type_alt_key' in {i.name for i in db.get_indexes('processed_lines')}
    office = PL.get(PL.line_number == 2)
    assert (office.title, office.match_key, office.country, office.languages) == (
        'The Office (US)', 'office us', 'US', None)
    db.close()
    assert process_json(cli, db_url, playlist)['unchanged'] == len(PROVIDER_LINES)


def test_alt_key_lookups_use_their_index(cli, db_url, tmp_path):
    playlist = tmp_path / 'p.m3u'
    write_provider_playlist(playlist)
    process_json(cli, db_url, playlist)
    db = stalkeer.open_database(db_url, str(tmp_path))
    query = (PL.select(PL.id).where((PL.content_type == 'movies') & PL.alt_key.in_(['wonder woman 1984', 'x'])
                                    & PL.missing_since.is_null()))
    sql, params = query.sql()
    if stalkeer.is_postgres(db):
        db.execute_sql('SET enable_seqscan = off')            # a tiny table: make the planner show its hand
        plan = ' '.join(r[0] for r in db.execute_sql('EXPLAIN ' + sql, params).fetchall())
        db.execute_sql('SET enable_seqscan = on')
    else:
        plan = ' '.join(str(r[-1]) for r in db.execute_sql('EXPLAIN QUERY PLAN ' + sql, params).fetchall())
    assert 'processed_lines_content_type_alt_key' in plan, plan
    assert [r.id for r in query] == [PL.get(PL.line_number == 16).id]
    db.close()


# ---- a re-run of an unchanged playlist skips the per-line work (issue 15) ----

def _no_per_line_work(monkeypatch):
    """Make every per-line step fail: a skipped re-run never reaches them."""
    def fail(*args, **kwargs):
        raise AssertionError('per-line work on a re-run of an unchanged playlist')
    for name in ('iter_playlist', 'classify', 'line_hash', 'entry_meta_hash'):
        monkeypatch.setattr(stalkeer, name, fail)


def test_identical_rerun_skips_the_per_line_work(cli, db_url, tmp_path, monkeypatch):
    playlist = tmp_path / 'p.m3u'
    playlist.write_bytes(STK.read_bytes())
    first = process_json(cli, db_url, playlist)
    before = table(db_url, tmp_path)
    with monkeypatch.context() as m:
        _no_per_line_work(m)
        second = process_json(cli, db_url, playlist)
        code, out, err = process(cli, db_url, playlist)
    first_line = out.splitlines()[0]
    assert code == 0 and first_line.startswith('playlist unchanged since ') and first_line.endswith(': nothing to do')
    assert f'unchanged {first["new"]}, duplicates' in out and 'movies 16, tvshows 28' in out
    assert set(second) == set(first)
    assert (second['new'], second['updated'], second['unchanged']) == (0, 0, first['new'])
    assert second['by_content_type'] == first['by_content_type'] and second['entries'] == first['entries']
    assert table(db_url, tmp_path) == before


def test_a_skipped_rerun_says_so_in_its_json(cli, db_url, tmp_path):
    """trial-17a F4: the skip's summary had the counts of a real run, nothing else."""
    first = process_json(cli, db_url, STK)
    assert (first['skipped'], first['unchanged_since']) == (None, None)
    second = process_json(cli, db_url, STK)
    db = stalkeer.open_database(db_url, str(tmp_path))
    completed = stalkeer.PlaylistImport.get(stalkeer.PlaylistImport.source == 'm3u').completed_at
    db.close()
    assert second['skipped'] == 'unchanged'
    assert second['unchanged_since'] == completed.isoformat() + 'Z'
    assert stalkeer.dt.datetime.fromisoformat(second['unchanged_since'].rstrip('Z')) == completed
    forced = process_json(cli, db_url, STK, '--force')              # read again: no skip
    assert (forced['skipped'], forced['unchanged_since']) == (None, None)
    code, out, err = process(cli, db_url, STK)
    assert code == 0 and out.startswith('playlist unchanged since '), err


def _rerun_does_work(cli, db_url, playlist, *args, config=None):
    """A re-run that must read every line: the summary, with classify counted."""
    pre = ('--config', config) if config else ()
    code, out, err = cli(*pre, '--db', db_url, 'process', '--json', playlist, *args)
    assert code == 0, err
    summary = json.loads(out)
    assert summary['new'] + summary['updated'] + summary['unchanged'] > 0
    return summary


def test_rerun_after_a_byte_change_is_not_skipped(cli, db_url, tmp_path, monkeypatch):
    playlist = tmp_path / 'p.m3u'
    playlist.write_bytes(STK.read_bytes())
    first = process_json(cli, db_url, playlist)
    playlist.write_bytes(STK.read_bytes() + b'\n')            # one byte more, same lines
    second = _rerun_does_work(cli, db_url, playlist)
    assert second['unchanged'] == first['new']
    with monkeypatch.context() as m:                           # and now it is the last import
        _no_per_line_work(m)
        assert process_json(cli, db_url, playlist)['unchanged'] == first['new']


def test_rerun_after_a_filter_change_is_not_skipped(cli, db_url, tmp_path):
    process_json(cli, db_url, STK)
    ini = write_filter_ini(tmp_path, 'group_title_exclude = ^AR:\n')
    second = _rerun_does_work(cli, db_url, STK, config=ini)
    assert second['filtered'] == 4
    third = _rerun_does_work(cli, db_url, STK)                  # back to no filter: not skipped either
    assert third['filtered'] == 0


def test_rerun_after_a_classifier_change_is_not_skipped(cli, db_url, monkeypatch):
    first = process_json(cli, db_url, STK)
    monkeypatch.setattr(stalkeer, 'CLASSIFIER_VERSION', stalkeer.CLASSIFIER_VERSION + '.test')
    assert _rerun_does_work(cli, db_url, STK)['updated'] == first['new']


def test_force_is_never_skipped(cli, db_url):
    first = process_json(cli, db_url, STK)
    # Every stored line classified again (none rewritten: nothing changed).
    assert _rerun_does_work(cli, db_url, STK, '--force')['reclassified'] == first['new']
    assert _rerun_does_work(cli, db_url, STK, '--force')['reclassified'] == first['new']


def test_dry_run_is_not_an_import(cli, db_url, tmp_path, monkeypatch):
    first = process_json(cli, db_url, STK)
    process_json(cli, db_url, MOCK)                             # the last import is another file
    dry = process_json(cli, db_url, STK, '--dry-run')
    assert dry['dry_run'] and dry['unchanged'] + dry['updated'] + dry['new'] == first['new']
    again = _rerun_does_work(cli, db_url, STK)                  # the dry run did not count
    assert again['reappeared'] == again['unchanged'] == first['new']


def test_import_of_another_file_in_between_is_not_skipped(cli, db_url, monkeypatch):
    first = process_json(cli, db_url, STK)
    process_json(cli, db_url, MOCK)
    again = _rerun_does_work(cli, db_url, STK)
    assert again['reappeared'] == first['new']


def test_limited_run_in_between_is_not_skipped(cli, db_url):
    first = process_json(cli, db_url, STK)
    process_json(cli, db_url, MOCK, '--limit', 5)
    assert _rerun_does_work(cli, db_url, STK)['unchanged'] == first['new']


def test_line_deleted_since_is_not_skipped(cli, db_url, tmp_path):
    first = process_json(cli, db_url, STK)
    db = stalkeer.open_database(db_url, str(tmp_path))
    PL.delete().where(PL.id == PL.select(stalkeer.peewee.fn.MIN(PL.id)).scalar()).execute()
    db.close()
    assert _rerun_does_work(cli, db_url, STK)['new'] == 1
    assert process_json(cli, db_url, STK)['unchanged'] == first['new']


def test_killed_import_is_not_skipped(db_url, tmp_path):
    """An import SIGKILLed after its first stored batch: the next run reads every line."""
    from conftest import run_stalkeer, subprocess_env
    code, out, err = run_stalkeer('--db', db_url, 'process', '--json', STK,
                                  env=subprocess_env(STALKEER_TEST_CRASH_AT='after_ingest_batch'))
    assert code == -9, err
    code, out, err = run_stalkeer('--db', db_url, 'process', '--json', STK, env=subprocess_env())
    assert code == 0, err
    summary = json.loads(out)
    assert summary['unchanged'] == 44 and summary['new'] == 0
    code, out, err = run_stalkeer('--db', db_url, 'process', STK, env=subprocess_env())
    assert code == 0 and 'playlist unchanged since' in out, err


def test_overlapping_import_clears_the_pointer(cli, db_url, tmp_path):
    """Another instance's import that started during ours and ends after it:
    ours may not mark itself complete, and theirs does not either."""
    process_json(cli, db_url, STK)
    db = stalkeer.open_database(db_url, str(tmp_path))
    try:
        ours = stalkeer.ImportPointer('m3u', 'a' * 64, 'f')
        theirs = stalkeer.ImportPointer('m3u', 'b' * 64, 'f')
        ours.begin()
        theirs.begin()
        summary = stalkeer.IngestSummary(playlist='x', entries=1, new=1)
        ours.finish(summary)
        theirs.finish(summary)
        assert stalkeer.PlaylistImport.get().completed_at is None
        ours, theirs = stalkeer.ImportPointer('m3u', 'a' * 64, 'f'), stalkeer.ImportPointer('m3u', 'b' * 64, 'f')
        ours.begin()
        theirs.begin()
        theirs.finish(summary)              # theirs ends first: complete ...
        ours.finish(summary)                # ... until ours, which wrote meanwhile, ends
        assert stalkeer.PlaylistImport.get().completed_at is None
        solo = stalkeer.ImportPointer('m3u', 'c' * 64, 'f')
        solo.begin()
        solo.finish(summary)
        assert stalkeer.PlaylistImport.get().completed_at is not None
        assert solo.unchanged() is not None
    finally:
        db.close()


def test_panel_ingest_taking_over_a_line_is_not_skipped(cli, db_url, tmp_path):
    """The episodes a sonarr run fetches from the panel may rewrite a playlist
    line in place (same tvg-name and URL: neither COUNT nor MAX(id) moves)."""
    first = process_json(cli, db_url, STK)
    db = stalkeer.open_database(db_url, str(tmp_path))
    try:
        row = PL.select().where(PL.content_type == 'tvshows').order_by(PL.id).get()
        display = row.tvg_name or row.display_title
        cls = stalkeer.Classification('tvshows', row.title, None, 1, 1, None, [], row.match_key)
        entry = stalkeer._EpisodeEntry(None, '', {'tvg-name': display, 'tvg-type': 'series'}, display,
                                       row.url, cls=cls, meta='panel', panel=('xtream', 1, 1, None, 'mkv'))
        ingest = stalkeer._EpisodeIngest()
        summary = stalkeer.IngestSummary(playlist='panel')
        ingest._flush([(stalkeer.line_hash(display, row.url), entry)], summary, stalkeer.collections.Counter())
        assert summary.updated == 1 and PL.get_by_id(row.id).source == 'xtream'
    finally:
        db.close()
    again = _rerun_does_work(cli, db_url, STK)
    assert again['updated'] == 1 and again['unchanged'] == first['new'] - 1


def test_an_interrupted_process_says_its_lines_are_kept(cli, sqlite_url, tmp_path, monkeypatch):
    """trial-15 F6: `process` pauses nothing, yet a SIGINT said "what was paused
    resumes on the next run". It says what it leaves: the stored lines."""
    import signal

    def interrupt(name):
        if name == 'after_ingest_batch':
            raise stalkeer.Interrupted(signal.SIGINT)
    monkeypatch.setattr(stalkeer, 'crash_point', interrupt)
    monkeypatch.setenv('STALKEER_M3U_PARSE_WORKER', 'false')
    code, out, err = process(cli, sqlite_url, STK)
    assert code == 130
    assert err.strip() == ('stalkeer: interrupted by SIGINT: stopped; the lines stored so far are kept; '
                           'run process again')
    assert 0 < len(table(sqlite_url, tmp_path)) <= 44
    monkeypatch.undo()
    assert process_json(cli, sqlite_url, STK)['entries'] == 44


@pytest.mark.parametrize('argv, tail', [
    (['process'], '; the lines stored so far are kept; run process again'),
    (['m3u-download'], '; the playlist in place is kept; run m3u-download again'),
    (['download', 'http://h/x', 'x'], '; what was paused resumes on the next run'),
    (['radarr'], '; what was paused resumes on the next run'),
    (['radarr', '--dry-run'], '; a dry run changes nothing'),
    (['resume-downloads'], '; what was paused resumes on the next run'),
    (['status'], ''), (['lines', 'heat'], ''), (['cleanup'], ''),
])
def test_the_interrupt_notice_fits_the_command(argv, tail):
    args = stalkeer.build_parser().parse_args(argv)
    assert stalkeer.interrupted_what_now(args) == tail


# ---- one import at a time (trial-15d F2) -----------------------------------------

class HeldImport:
    """A one-line playlist, and the database's import lock held as another
    instance's running import holds it, until release()."""

    def __init__(self, db_url, tmp_path):
        self.db_url, self.cwd = db_url, tmp_path
        self.playlist = tmp_path / 'p.m3u'
        self.playlist.write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Heat (1995)\n'
                                 'http://p.example/movie/u/p/1.mkv\n')
        self.db = stalkeer.open_database(db_url, str(tmp_path))
        self.held = contextlib.ExitStack()
        self.held.enter_context(stalkeer.import_lock(self.db))

    def start(self, *extra):
        return start_stalkeer('--db', self.db_url, 'process', self.playlist, *extra, cwd=self.cwd)

    def release(self):
        self.held.close()

    @staticmethod
    def until_waiting(proc, timeout=30) -> str:
        """What ``proc`` wrote to stderr up to its line saying it waits for the
        lock: from then on it is waiting, with its signal handlers in place. A
        fixed 1.5 s sleep was outlasted by a start under heavy load."""
        lines = []
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            for line in proc.stderr:
                lines.append(line)
                if 'waiting for it to finish' in line:
                    break
        finally:
            timer.cancel()
        return ''.join(lines)


@pytest.fixture
def held_import(db_url, tmp_path):
    held = HeldImport(db_url, tmp_path)
    yield held
    held.release()
    held.db.close()


def test_an_import_waits_for_the_one_running_then_runs(held_import):
    """Two overlapping imports of different playlists left the table a mix of
    both; the later now waits (saying so) until the earlier ends, then imports."""
    proc = held_import.start()
    try:
        before = held_import.until_waiting(proc)
        assert proc.poll() is None and stalkeer.ProcessedLine.select().count() == 0
    finally:
        held_import.release()
    out, err = proc.communicate(timeout=60)
    err = before + err
    assert proc.returncode == 0, err
    assert 'another instance is importing into this database: waiting for it to finish' in err
    assert stalkeer.ProcessedLine.select().count() == 1
    with stalkeer.import_lock(held_import.db):      # released: taken at once again
        pass


def test_a_dry_run_does_not_wait_for_an_import(held_import):
    out, err = held_import.start('--dry-run').communicate(timeout=30)
    assert 'dry run, nothing written' in out and 'new 1' in out and 'waiting' not in err


def test_ctrl_c_stops_a_wait_for_the_import_lock(held_import):
    proc = held_import.start()
    before = held_import.until_waiting(proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    err = before + err
    assert proc.returncode == 130 and 'interrupted by SIGINT' in err and 'Traceback' not in err
    assert stalkeer.ProcessedLine.select().count() == 0


def test_ctrl_c_stops_a_statement_waiting_for_a_postgresql_lock(tmp_path):
    """trial-16a F4: a statement waiting for a lock another session holds (LOCK
    TABLE … ACCESS EXCLUSIVE) is not ended by a signal (libpq waits on), so the
    first Ctrl-C waited as long as the lock did. The signal watcher cancels it
    (connection.cancel()) once the main thread has not heard the signal for
    STUCK_AFTER: the run stops as any first Ctrl-C does, within about a second."""
    from conftest import (PG_SKIP_REASON, PG_URL, _drop_pg_schema, _pg_schema_url, pg_connect,
                          subprocess_env, wait_for)
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    import secrets
    token = secrets.token_hex(4)
    schema, app_name = f'pglock_{os.getpid()}_{token}', f'stalkeer-pglock-{token}'
    url = f'{_pg_schema_url(PG_URL, schema)}&application_name={app_name}'
    env = subprocess_env()
    admin, holder = pg_connect(autocommit=True), None
    try:
        proc = start_stalkeer('--db', url, 'migrate', env=env)
        assert proc.wait(timeout=60) == 0
        proc.stdout.close(), proc.stderr.close()
        holder = pg_connect()                       # its transaction holds the lock until rollback
        with holder.cursor() as cur:
            cur.execute(f'LOCK TABLE "{schema}".processed_lines IN ACCESS EXCLUSIVE MODE')
        proc = start_stalkeer('--db', url, 'process', STK, env=env)

        def waiting_for_the_lock():
            with admin.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_stat_activity WHERE application_name = %s "
                            "AND wait_event_type = 'Lock'", (app_name,))
                return cur.fetchone()
        wait_for(waiting_for_the_lock, timeout=30, what='process waiting for the lock')
        time.sleep(0.3)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        took = time.monotonic() - started
        assert proc.returncode == 130 and took < 3, (proc.returncode, took, err)
        assert err == ('stalkeer: interrupted by SIGINT: stopped; the lines stored so far are kept; '
                       'run process again\n'), err
        assert waiting_for_the_lock() is None                 # no backend left waiting
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
        admin.close()
        _drop_pg_schema(schema)


@pytest.mark.parametrize('how', ['file', 'folder'])
def test_a_database_reached_through_a_symlink_waits_for_the_same_import_lock(tmp_path, how):
    """trial-17a F2: `ylink.db -> y.db` is one database (SQLite resolves the
    link), yet the lock was named after the link (ylink.db-import.lock) and two
    imports overlapped. The lock file is named after the real path: a second
    real process reaching the database through the link waits, and asking
    whether an import runs (import_running_elsewhere) through the link sees it."""
    (tmp_path / 'real').mkdir()
    held = HeldImport(f'sqlite:///{tmp_path / "real" / "y.db"}', tmp_path)
    if how == 'file':
        link = tmp_path / 'real' / 'ylink.db'
        link.symlink_to('y.db')
    else:
        (tmp_path / 'alias').symlink_to('real')
        link = tmp_path / 'alias' / 'y.db'
    try:
        via_link = stalkeer.open_database(f'sqlite:///{link}', str(tmp_path))
        try:
            assert stalkeer.import_running_elsewhere(via_link)
            assert stalkeer.import_lock_path(via_link) == str(tmp_path / 'real' / 'y.db-import.lock')
        finally:
            via_link.close()
            stalkeer.db_proxy.initialize(held.db)
        proc = start_stalkeer('--db', f'sqlite:///{link}', 'process', held.playlist, cwd=tmp_path)
        time.sleep(1.5)
        assert proc.poll() is None and stalkeer.ProcessedLine.select().count() == 0
    finally:
        held.release()
    out, err = proc.communicate(timeout=60)
    held.db.close()
    assert proc.returncode == 0, err
    assert 'another instance is importing into this database: waiting for it to finish' in err
    assert sorted(p.name for p in (tmp_path / 'real').glob('*-import.lock')) == ['y.db-import.lock']
    stalkeer.db_proxy.initialize(held.db)
    assert stalkeer.ProcessedLine.select().count() == 1
    held.db.close()


@pytest.mark.parametrize('planted, named', [
    ('folder', 'a folder'), ('symlink', 'a symbolic link'), ('dangling symlink', 'a symbolic link'),
    ('named pipe', 'a named pipe')])
def test_an_import_lock_that_is_not_a_file_stops_the_import(tmp_path, planted, named):
    """Something planted at DATABASE-import.lock would have switched the lock off
    (imports overlapping again: trial-15f F1): the run stops with one line
    naming the lock and what stands there (a symlink gave "Too many levels of
    symbolic links"; a named pipe was taken as the lock), exit 2, and a
    symlink's target is never opened."""
    db_path = tmp_path / 'stalkeer.db'
    lock = tmp_path / 'stalkeer.db-import.lock'
    target = tmp_path / 'elsewhere'
    target.write_text('kept')
    if planted == 'folder':
        lock.mkdir()
    elif planted == 'symlink':
        lock.symlink_to(target)
    elif planted == 'dangling symlink':
        lock.symlink_to(tmp_path / 'nowhere')
    else:
        os.mkfifo(lock)
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Heat (1995)\nhttp://p.example/movie/u/p/1.mkv\n')
    proc = start_stalkeer('--db', f'sqlite:///{db_path}', 'process', playlist, cwd=tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and len(err.splitlines()) == 1, err
    assert err == (f'stalkeer: error: cannot use the import lock {lock}: it is {named}, not a file '
                   'stalkeer created; remove it (the next import creates the file again)\n')
    assert 'levels of symbolic links' not in err
    assert target.read_text() == 'kept' and not (tmp_path / 'nowhere').exists()
    assert not stalkeer.os.path.exists(db_path) or _no_lines(db_path)


def test_a_named_pipe_at_the_import_lock_does_not_hang_the_question_of_a_running_import(tmp_path):
    """`status` asks whether an import runs (import_running_elsewhere) by
    opening the lock file: a named pipe there blocked that open forever."""
    db = stalkeer.open_database(f'sqlite:///{tmp_path / "s.db"}', str(tmp_path))
    try:
        os.mkfifo(stalkeer.import_lock_path(db))
        done = []
        thread = threading.Thread(target=lambda: done.append(stalkeer.import_running_elsewhere(db)),
                                  daemon=True)
        thread.start()
        thread.join(10)
        assert done == [False]
    finally:
        db.close()


def _no_lines(db_path):
    db = stalkeer.open_database(f'sqlite:///{db_path}', str(db_path.parent))
    try:
        return stalkeer.ProcessedLine.select().count() == 0
    finally:
        db.close()


@pytest.mark.parametrize('worker', ['false', 'true'])
def test_a_killed_postgresql_connection_is_named_by_its_real_cause(cli, tmp_path, monkeypatch, worker):
    """pg_terminate_backend() of the import's connection between two batches:
    the next batch fails on the dead connection, and then the savepoint's
    rollback, the index rebuild in ``finally`` and the pointer's update each
    meet it again with "connection already closed", the last of which was
    the one reported (trial-15d F6). The line names what broke it; exit 2."""
    from conftest import PG_SKIP_REASON, PG_URL, _drop_pg_schema, _pg_schema_url, pg_connect
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    import secrets
    token = secrets.token_hex(4)
    schema, app_name = f'kill_{os.getpid()}_{token}', f'stalkeer-kill-{token}'
    url = f'{_pg_schema_url(PG_URL, schema)}&application_name={app_name}'
    admin = pg_connect(autocommit=True)
    killed = []

    def kill_our_backend(name):
        if name == 'after_ingest_batch' and not killed:
            with admin.cursor() as cur:
                cur.execute('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s',
                            (app_name,))
                killed.extend(ok for (ok,) in cur.fetchall())
            time.sleep(0.2)            # the backend is gone before the next statement
    monkeypatch.setattr(stalkeer, 'crash_point', kill_our_backend)
    monkeypatch.setattr(stalkeer, 'INGEST_BATCH', 10)
    monkeypatch.setenv('STALKEER_M3U_PARSE_WORKER', worker)
    try:
        code, out, err = process(cli, url, STK)
    finally:
        database = stalkeer.db_proxy.obj
        if database is not None:
            with contextlib.suppress(Exception):
                database.close()
        admin.close()
        _drop_pg_schema(schema)
    assert killed and all(killed)
    assert code == 2, out + err
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1, err
    assert 'already closed' not in err
    assert re.search(r'database error: (server closed the connection unexpectedly'
                     r'|terminating connection due to administrator command)', err), err
    # What to do now, as after a Ctrl-C (trial-16a F9): the batches committed stay.
    assert err.endswith('; the lines stored so far are kept; run process again\n'), err


# ---- a removed import lock (trial-18a F1) -----------------------------------------

def test_a_waiter_takes_the_lock_at_the_path_not_a_removed_one(tmp_path):
    """A run waiting on the lock file, which is then removed (and a new import
    takes the new file at the path), got the removed file's lock when its
    holder ended and imported alongside the new one: it must wait for the
    file at the path."""
    db = stalkeer.open_database(f'sqlite:///{tmp_path / "s.db"}', str(tmp_path))
    path = stalkeer.import_lock_path(db)
    first, second = contextlib.ExitStack(), contextlib.ExitStack()
    entered = threading.Event()

    def waiter():
        with stalkeer.import_lock(db):
            entered.set()

    try:
        first_check = first.enter_context(stalkeer.import_lock(db))
        first_check()                                       # at its path: goes on
        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        time.sleep(0.3)                                     # waiting on the first file
        os.unlink(path)
        with pytest.raises(stalkeer.ImportLockLost, match='was removed or replaced'):
            first_check()
        second.enter_context(stalkeer.import_lock(db))      # a new file: taken at once
        first.close()
        assert not entered.wait(3 * stalkeer.IMPORT_LOCK_POLL + 0.5)   # waits for the new file's holder
        second.close()
        assert entered.wait(10)
        thread.join(10)
    finally:
        first.close()
        second.close()
        db.close()


def _present_lines(db_path):
    import sqlite3
    with contextlib.closing(sqlite3.connect(db_path)) as con:
        return {url for url, in con.execute('SELECT url FROM processed_lines WHERE missing_since IS NULL')}


def test_an_import_whose_lock_is_removed_stops_incomplete(tmp_path):
    """A running import's lock file removed (a tmp cleaner): a second import
    started at once and both wrote, the table ending up matching neither file,
    and `status` said "complete" with completed_at null. Now the first stops at
    its next batch, one line naming the lock, exit 2, recorded as not complete;
    `status` never says complete without a completion time; the next run
    repairs the table."""
    import sqlite3
    db_path = tmp_path / 'stalkeer.db'
    db_url = f'sqlite:///{db_path}'
    big, small = tmp_path / 'big.m3u', tmp_path / 'small.m3u'
    with open(big, 'w') as fh:
        fh.write('#EXTM3U\n')
        for i in range(150_000):
            fh.write(f'#EXTINF:-1 group-title="Movies",Film {i} ({1950 + i % 70})\n'
                     f'http://h.example/movie/u/p/{i}.mkv\n')
    small.write_text('#EXTM3U\n' + ''.join(f'#EXTINF:-1 group-title="Movies",Small {i} (2001)\n'
                                           f'http://s.example/movie/u/p/{i}.mkv\n' for i in range(20)))
    wanted = {f'http://s.example/movie/u/p/{i}.mkv' for i in range(20)}
    lock = tmp_path / 'stalkeer.db-import.lock'
    a = start_stalkeer('-q', '--db', db_url, 'process', big, cwd=tmp_path)

    def storing():
        assert a.poll() is None, a.communicate()
        if not db_path.exists():
            return False
        try:
            with contextlib.closing(sqlite3.connect(db_path, timeout=0.1)) as con:
                return con.execute('SELECT COUNT(*) FROM processed_lines').fetchone()[0] > 0
        except sqlite3.OperationalError:
            return False

    try:
        from conftest import wait_for
        wait_for(storing, timeout=120, interval=0.05, what='the first import storing lines')
        os.unlink(lock)
        b = start_stalkeer('-q', '--db', db_url, 'process', small, cwd=tmp_path)
        out_b, err_b = b.communicate(timeout=120)
        out_a, err_a = a.communicate(timeout=120)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    assert b.returncode in (0, 2) and 'Traceback' not in err_b, err_b
    assert a.returncode == 2, (out_a, err_a)
    assert err_a == (f'stalkeer: error: the import lock {lock} was removed or replaced while this import ran, '
                     'so another import may have run alongside: this import stopped and did not complete; '
                     'leave the lock file in place and run process again\n'), err_a
    imports = json.loads(run_stalkeer_json(db_url, tmp_path))
    for row in imports:
        assert row['status'] != 'completed' or row['completed_at'] is not None, imports
    if imports[0]['status'] == 'completed':     # the second began storing after the first stopped
        assert _present_lines(db_path) == wanted
    code, out, err = run_stalkeer_text(db_url, tmp_path)
    assert 'last import complete,' not in out, out
    # The next run of the playlist repairs it (read again: not "unchanged").
    proc = start_stalkeer('-q', '--db', db_url, 'process', small, cwd=tmp_path)
    proc.communicate(timeout=120)
    assert proc.returncode == 0 and _present_lines(db_path) == wanted


def run_stalkeer_json(db_url, cwd):
    proc = start_stalkeer('--db', db_url, 'status', '--json', cwd=cwd)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.dumps(json.loads(out)['imports'])


def run_stalkeer_text(db_url, cwd):
    proc = start_stalkeer('--db', db_url, 'status', cwd=cwd)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.mark.parametrize('planted, named', [
    ('folder', 'a folder'), ('symlink', 'a symbolic link'), ('named pipe', 'a named pipe')])
def test_status_says_when_the_import_lock_is_unusable(tmp_path, planted, named):
    """Every process stopped on it, while status said only "last import
    completed <old date>" (trial-18a F9): status and status --json say it."""
    db_path = tmp_path / 'stalkeer.db'
    db_url = f'sqlite:///{db_path}'
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1 group-title="Movies",Heat (1995)\nhttp://p.example/movie/u/p/1.mkv\n')
    proc = start_stalkeer('--db', db_url, 'process', playlist, cwd=tmp_path)
    assert proc.communicate(timeout=60) and proc.returncode == 0
    code, out, err = run_stalkeer_text(db_url, tmp_path)
    assert code == 0 and 'import lock' not in out
    assert json.loads(start_stalkeer('--db', db_url, 'status', '--json', cwd=tmp_path)
                      .communicate(timeout=60)[0])['import_lock_problem'] is None
    lock = tmp_path / 'stalkeer.db-import.lock'
    lock.unlink()
    if planted == 'folder':
        lock.mkdir()
    elif planted == 'symlink':
        lock.symlink_to(tmp_path / 'nowhere')
    else:
        os.mkfifo(lock)
    said = (f'imports cannot run: cannot use the import lock {lock}: it is {named}, not a file stalkeer '
            'created; remove it (the next import creates the file again)')
    code, out, err = run_stalkeer_text(db_url, tmp_path)
    assert code == 0 and said in out.splitlines(), out
    out = start_stalkeer('--db', db_url, 'status', '--json', cwd=tmp_path).communicate(timeout=60)[0]
    assert json.loads(out)['import_lock_problem'] == said
    assert not (tmp_path / 'nowhere').exists()


@pytest.mark.parametrize('content, why', [
    (bytes(range(256)) * 4000, 'is not a text playlist (binary data: '),
    (_gzip(STK.read_bytes()), 'is not a text playlist (gzip-compressed data: unpack it first'),
    (b'\xff\xfe', 'no playlist entries in {bad}: it holds only a UTF-16 byte order mark'),
    (b'\xef\xbb\xbf\r\n\r\n', 'no playlist entries in {bad}: it holds only blank lines'),
], ids=['binary', 'gzip', 'utf16-bom', 'bom-blank'])
@pytest.mark.parametrize('dry_run', [False, True], ids=['import', 'dry-run'])
def test_a_playlist_replaced_before_the_import_lock_is_judged_as_the_file_read(content, why, dry_run, cli,
                                                                              db_url, tmp_path, monkeypatch):
    """`process` judged the playlist's first bytes (read before the database was
    opened), then read the file it opened after the import lock: a file
    replaced by rename in between (m3u-download, `mv`) was read but judged and
    described as the old one, and a binary or gzip file went to the parser.
    The file opened is the one judged (its own first bytes), before anything
    is stored."""
    process_json(cli, db_url, STK)
    before, imports = table(db_url, tmp_path), imports_row(db_url, tmp_path)
    bad = tmp_path / 'p.m3u'
    bad.write_bytes(MOCK.read_bytes())
    replacement = tmp_path / 'new.m3u'
    replacement.write_bytes(content)

    def replaced(original):
        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            if replacement.exists():
                os.replace(replacement, bad)     # what m3u-download does
            return result
        return wrapper
    monkeypatch.setattr(stalkeer.App, 'lock_imports', replaced(stalkeer.App.lock_imports))
    monkeypatch.setattr(stalkeer, '_readable_db', replaced(stalkeer._readable_db))
    code, out, err = process(cli, db_url, bad, *(['--dry-run'] if dry_run else []))
    assert code == 2 and out == '', (out, err)
    assert err.splitlines() == [err.strip()], err
    assert err.startswith('stalkeer: error: ' + (why.format(bad=bad) if '{bad}' in why else f'{bad} {why}')), err
    assert err.rstrip().endswith('nothing in the database was changed'), err
    assert table(db_url, tmp_path) == before and imports_row(db_url, tmp_path) == imports
