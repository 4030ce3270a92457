"""`process`: playlist ingest into processed_lines, on both backends."""

import json
import os
import time

import pytest

import stalkeer
from conftest import SHARED

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


def test_force_reclassifies_everything(cli, db_url):
    process_json(cli, db_url, STK)
    summary = process_json(cli, db_url, STK, '--force')
    assert summary['updated'] == 44 and summary['unchanged'] == 0


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


def test_limit_stops_early_and_marks_nothing_gone(cli, db_url, tmp_path):
    process_json(cli, db_url, STK)
    summary = process_json(cli, db_url, STK, '--limit', '10')
    assert summary['limited'] and summary['unchanged'] == 10 and summary['disappeared'] == 0
    assert all(r['missing_since'] is None for r in table(db_url, tmp_path))


def test_json_summary_keys(cli, sqlite_url):
    summary = process_json(cli, sqlite_url, STK)
    assert {'lines_read', 'entries', 'new', 'updated', 'unchanged', 'duplicates', 'filtered',
            'malformed', 'decode_errors', 'by_content_type', 'elapsed_seconds',
            'disappeared', 'header_missing'} <= set(summary)


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


@pytest.mark.parametrize('content, why', [
    (b'', 'empty'),
    (bytes(range(256)) * 4000, 'binary garbage'),
    (b'http://h/1.mkv\nhttp://h/2.mkv\nhttp://h/3.mkv\n', 'bare URLs'),
    (b'#EXTM3U\n#EXTINF:-1,' + b'A' * (10 * 1024 * 1024) + b'\nhttp://h/1.mkv\n', 'a 10 MB line'),
])
def test_bad_playlists_lose_nothing(content, why, cli, db_url, tmp_path):
    process_json(cli, db_url, STK)
    before = table(db_url, tmp_path)
    bad = tmp_path / 'bad.m3u'
    bad.write_bytes(content)
    started = time.monotonic()
    code, out, err = process(cli, db_url, bad)
    assert time.monotonic() - started < 10
    assert code == 2 and 'no playlist entries found' in err and 'Traceback' not in err
    assert 'entries' in out                    # the summary says what was read
    assert table(db_url, tmp_path) == before   # nothing marked gone, nothing lost


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
