"""`process` stores the same rows whichever path it takes (issue 15).

A generated playlist (bench/gen_playlist.py) is imported, re-run, forced,
changed and restored; after each step processed_lines must equal what a
plain reference derives line by line from the parser and the classifier:
the first occurrence of each line_hash, ids in order of first appearance,
lines gone from the playlist kept with ``missing_since`` set. Every column is
compared except the timestamps (created_at, updated_at, first_seen_at; for
missing_since only whether it is set). The bulk paths of the ingest (bulk
inserts, skipped unchanged rows, the one-scan lookups) must not change a value.
"""

import datetime
import io
import json
import random
import re
import sys
import threading
import time

import pytest

import stalkeer
from conftest import ROOT

sys.path.insert(0, str(ROOT / 'bench'))
from gen_playlist import generate  # noqa: E402

PL = stalkeer.ProcessedLine
TIMESTAMPS = {'created_at', 'updated_at', 'first_seen_at', 'missing_since',
              'panel_info_at'}     # set by radarr/sonarr runs (get_vod_info, get_series_info), never by process
ENTRIES = 2500


def reference_rows(data: bytes) -> dict:
    """line_hash -> the columns a fresh import stores, from the pure parse and classify."""
    rows = {}
    for entry in stalkeer.iter_playlist(io.BytesIO(data), stalkeer.ParseStats()):
        digest = stalkeer.line_hash(entry.tvg_name or entry.display_title, entry.url)
        if digest in rows:
            continue
        values = stalkeer._line_values(entry, stalkeer.classify(entry), digest,
                                       stalkeer.entry_meta_hash(entry), None)
        row = dict(zip(stalkeer._LINE_COLUMNS, values))
        row.update(state='processed', download_info=None)
        rows[digest] = row
    return rows


class Reference:
    """What processed_lines holds after each import, kept without a database."""

    def __init__(self):
        self.rows = {}          # line_hash -> row, in id order

    def apply(self, data: bytes, force=False):
        current = reference_rows(data)
        for digest, row in self.rows.items():
            if digest not in current:
                row['missing_since'] = True
            elif force or row['meta_hash'] != current[digest]['meta_hash']:
                row.update(current[digest], missing_since=None)
            else:       # unchanged metadata: not rewritten, but its line_number follows the line
                row.update(missing_since=None, line_number=current[digest]['line_number'])
        for digest, row in current.items():
            if digest not in self.rows:
                self.rows[digest] = dict(row, missing_since=None)
        return self

    def expected(self):
        out = []
        for row_id, row in enumerate(self.rows.values(), start=1):
            out.append(dict(_comparable(row), id=row_id))
        return out


def _comparable(row):
    out = {k: v for k, v in row.items() if k not in TIMESTAMPS}
    out['missing'] = bool(row.get('missing_since'))
    if out.get('air_date') is not None:
        out['air_date'] = str(out['air_date'])
    out.pop('updated_at', None)
    return out


def stored(db_url, tmp_path):
    db = stalkeer.open_database(db_url, str(tmp_path))
    rows = [_comparable(r) for r in PL.select().order_by(PL.id).dicts()]
    db.close()
    first_id = rows[0]['id'] if rows else 1
    for r in rows:          # PostgreSQL's sequence and SQLite's rowid both count from 1
        r['id'] -= first_id - 1
    return rows


def changed_copy(data: bytes) -> bytes:
    """Drop every 7th entry, retitle every 11th (same URL: a new line_hash when
    tvg-name is blank, else the same line with new metadata), add 50 entries."""
    lines = data.decode('utf-8').split('\n')
    out, entry = [], 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('#EXTINF') and i + 1 < len(lines):
            block = [line]
            j = i + 1
            while j < len(lines) and lines[j].startswith('#') and not lines[j].startswith('#EXTINF'):
                block.append(lines[j])
                j += 1
            block.append(lines[j] if j < len(lines) else '')
            entry += 1
            i = j + 1
            if entry % 7 == 0:
                continue
            if entry % 11 == 0:
                block[0] = block[0] + ' (Director\'s Cut)'
            out.extend(block)
            continue
        out.append(line)
        i += 1
    for n in range(50):
        out += [f'#EXTINF:-1 tvg-name="Added Film {n} (2021)" group-title="VOD | New",Added Film {n} (2021)',
                f'http://provider.example:8080/movie/u/p/{900000 + n}.mkv']
    return '\n'.join(out).encode('utf-8')


@pytest.fixture(scope='module')
def playlists(tmp_path_factory):
    folder = tmp_path_factory.mktemp('generated')
    first = folder / 'first.m3u'
    generate(str(first), entries=ENTRIES, seed=15)
    with first.open('a', encoding='utf-8') as fh:     # what PostgreSQL's COPY text format escapes
        fh.write('#EXTINF:-1 tvg-name="Back\\slash (2020)" group-title="VOD",Back\\slash (2020)\n'
                 'http://provider.example:8080/movie/u/p/1.mkv\n'
                 '#EXTINF:-1 tvg-name="\\N" group-title="A\tB",\\N\nhttp://provider.example:8080/movie/u/p/2.mkv\n')
    second = folder / 'second.m3u'
    second.write_bytes(changed_copy(first.read_bytes()))
    return first, second


def run_process(cli, db_url, playlist, *extra):
    code, out, err = cli('--db', db_url, '-q', 'process', str(playlist), *extra)
    assert code == 0, err


@pytest.fixture(params=['worker', 'worker, small batches', 'one process'])
def parse_path(request, monkeypatch):
    """Both ways `process` parses: in the forked _ParseWorker (what a first
    import and --force do when a second CPU is free; [m3u] parse_worker = true
    here, whatever the machine's load) and in the process itself
    (parse_worker = false). The parent classifies the tail of every batch the
    worker sends (_ParseWorker.worker_share); with small batches the playlist
    makes many (the test playlists are smaller than one INGEST_BATCH). Yields
    the list of worker pids started."""
    started, finished = [], []
    init, finish = stalkeer._ParseWorker.__init__, stalkeer._ParseWorker._finish
    worker = request.param.startswith('worker')

    def counting(self, *args):
        init(self, *args)
        started.append(self.pid)

    def finishing(self, entries, now):
        finished.append(len(entries))
        return finish(self, entries, now)
    monkeypatch.setattr(stalkeer._ParseWorker, '__init__', counting)
    monkeypatch.setattr(stalkeer._ParseWorker, '_finish', finishing)
    if request.param == 'worker, small batches':
        monkeypatch.setattr(stalkeer, 'INGEST_BATCH', 500)
        monkeypatch.setattr(stalkeer._ParseWorker, 'FIRST_BATCH', 100)
    monkeypatch.setenv('STALKEER_M3U_PARSE_WORKER', 'true' if worker else 'false')
    yield request.param, started
    assert bool(started) == worker
    if request.param == 'worker, small batches':
        assert len(finished) > 5            # the parent classified the tail of many batches
    elif not worker:
        assert not finished


def test_every_import_path_stores_what_the_reference_derives(cli, db_url, tmp_path, playlists, parse_path):
    first, second = playlists
    ref = Reference().apply(first.read_bytes())
    expected_first = ref.expected()
    assert len(expected_first) > 2000 and any(r['alt_key'] for r in expected_first)

    run_process(cli, db_url, first)                         # first import: bulk path (COPY on PostgreSQL)
    assert stored(db_url, tmp_path) == expected_first
    assert any(r['display_title'] == '\\N' for r in expected_first)
    assert any('\t' in (r['group_title'] or '') for r in expected_first)
    run_process(cli, db_url, first)                         # re-run: nothing changes
    assert stored(db_url, tmp_path) == expected_first
    run_process(cli, db_url, first, '--force')              # --force: reclassified, same values
    assert stored(db_url, tmp_path) == expected_first

    expected_second = ref.apply(second.read_bytes()).expected()
    run_process(cli, db_url, second)                        # changed, gone, new lines
    got = stored(db_url, tmp_path)
    assert sum(r['missing'] for r in got) > 100
    assert got == expected_second

    expected_back = ref.apply(first.read_bytes(), force=True).expected()
    run_process(cli, db_url, first, '--force')              # gone lines return, --force on a mixed table
    assert stored(db_url, tmp_path) == expected_back
    run_process(cli, db_url, first)
    assert stored(db_url, tmp_path) == expected_back

    reordered = tmp_path / 'reordered.m3u'                  # every line moved, none changed (trial-15c F1)
    reordered.write_bytes(reordered_copy(first.read_bytes()))
    expected_moved = ref.apply(reordered.read_bytes()).expected()
    assert [r['line_number'] for r in expected_moved] != [r['line_number'] for r in expected_back]
    run_process(cli, db_url, reordered)
    assert stored(db_url, tmp_path) == expected_moved


def test_force_rewrites_only_the_rows_whose_values_change(cli, db_url, tmp_path, playlists, parse_path):
    first, _ = playlists
    run_process(cli, db_url, first)
    db = stalkeer.open_database(db_url, str(tmp_path))
    mark = '%s' if stalkeer.is_postgres(db) else '?'
    db.execute_sql(f'UPDATE "processed_lines" SET "updated_at" = {mark}, "title" = {mark} WHERE "id" = 5',
                   ('2001-01-01 00:00:00', 'x'))
    db.execute_sql(f'UPDATE "processed_lines" SET "updated_at" = {mark} WHERE "id" <> 5',
                   ('2000-01-01 00:00:00',))
    db.close()
    run_process(cli, db_url, first, '--force')
    db = stalkeer.open_database(db_url, str(tmp_path))
    rewritten = [r.id for r in PL.select(PL.id).where(PL.updated_at > datetime.datetime(2002, 1, 1))]
    db.close()
    assert rewritten == [5]                 # the one row whose stored title was not what classify says
    assert stored(db_url, tmp_path) == Reference().apply(first.read_bytes()).expected()


def test_force_reads_every_compared_column_once():
    """--force's lookup reads every value it compares, and each once: the
    lookup's own columns were read a second time among the compared ones, a
    quarter of the fetch's CPU (bench/RESULTS.md)."""
    head = stalkeer.PlaylistIngest(force=True)._select_head()
    read = re.findall(r'"(\w+)"', head.split(' FROM ')[0])
    assert len(read) == len(set(read))
    assert set(read) == {'id'} | set(stalkeer._LINE_COLUMNS) - {'updated_at'}
    assert tuple(read[2:]) == stalkeer._COMPARED
    assert read[:2 + 4] == re.findall(r'"(\w+)"', stalkeer.PlaylistIngest()._select_head().split(' FROM ')[0])


def test_a_first_import_builds_every_index_again(cli, db_url, tmp_path, playlists):
    first, _ = playlists
    db = stalkeer.open_database(db_url, str(tmp_path))
    before = {i.name: (i.columns, i.unique) for i in db.get_indexes('processed_lines')}
    db.close()
    run_process(cli, db_url, first)
    db = stalkeer.open_database(db_url, str(tmp_path))
    assert {i.name: (i.columns, i.unique) for i in db.get_indexes('processed_lines')} == before
    assert before['processed_lines_line_hash'][1] is True
    db.close()


def test_lines_stored_twice_by_overlapping_first_imports_are_folded(db):
    """Two first imports at once each insert without the unique index (built at
    the end): the later copy of a line goes, then the index is built."""
    for name in [i.name for i in db.get_indexes('processed_lines') if i.columns != ['id']]:
        db.execute_sql(f'DROP INDEX "{name}"')
    for line_hash in ('a', 'b', 'a', 'c', 'b'):
        PL.create(line_hash=line_hash, url='http://x/' + line_hash)
    stalkeer.create_line_indexes(db)
    assert [(r.id, r.line_hash) for r in PL.select().order_by(PL.id)] == [(1, 'a'), (2, 'b'), (4, 'c')]
    assert 'processed_lines_line_hash' in {i.name for i in db.get_indexes('processed_lines')}


def _plan(db, sql, params):
    if stalkeer.is_postgres(db):
        db.execute_sql('SET enable_seqscan = off')            # a small table: make the planner show its hand
        try:
            return ' '.join(r[0] for r in db.execute_sql('EXPLAIN ' + sql, params).fetchall())
        finally:
            db.execute_sql('SET enable_seqscan = on')
    return ' '.join(str(r[-1]) for r in db.execute_sql('EXPLAIN QUERY PLAN ' + sql, params).fetchall())


def _m3u(*titles) -> str:
    return '#EXTM3U\n' + ''.join(f'#EXTINF:-1 group-title="Movies",{t}\nhttp://p.example/movie/u/p/{abs(hash(t)) % 10**9}.mkv\n'
                                  for t in titles)


def _gone(db_url, tmp_path) -> dict:
    db = stalkeer.open_database(db_url, str(tmp_path))
    rows = {r.display_title: r.missing_since is not None for r in PL.select()}
    db.close()
    return rows


@pytest.mark.parametrize('force', [False, True])
def test_the_worker_classifies_the_head_of_each_batch_and_the_parent_the_tail(
        sqlite_url, tmp_path, monkeypatch, force):
    """Every batch is split by _ParseWorker.worker_share (the parent's part the
    batch's tail), the first batch is FIRST_BATCH lines so the parent starts
    early, and the rows are stored in playlist order (ids follow the file, which
    the re-run's ordered read relies on: _StoredLineScan)."""
    path = tmp_path / 'p.m3u'
    generate(str(path), entries=1250, seed=3)
    monkeypatch.setattr(stalkeer, 'INGEST_BATCH', 500)
    monkeypatch.setattr(stalkeer._ParseWorker, 'FIRST_BATCH', 100)
    monkeypatch.setattr(stalkeer._ParseWorker, 'WORKER_SHARE', 0.5)
    monkeypatch.setattr(stalkeer._ParseWorker, 'WORKER_SHARE_FORCE', 0.3)
    parent, batches = [], []
    finish, flush = stalkeer._ParseWorker._finish, stalkeer.PlaylistIngest._flush_values

    def finishing(self, unclassified, now):
        parent.append([line_no for _, _, line_no, *_ in unclassified])
        return finish(self, unclassified, now)

    def flushing(self, rows, summary, by_type):
        batches.append([values[stalkeer._LINE_COLUMNS.index('line_number')] for values in rows])
        return flush(self, rows, summary, by_type)

    monkeypatch.setattr(stalkeer._ParseWorker, '_finish', finishing)
    monkeypatch.setattr(stalkeer.PlaylistIngest, '_flush_values', flushing)
    stalkeer.open_database(sqlite_url, str(tmp_path))
    if force:
        stalkeer.PlaylistIngest(parse_worker='false').run(str(path))
    summary = stalkeer.PlaylistIngest(force=force, parse_worker='true').run(str(path))
    share = 0.3 if force else 0.5
    sizes = [len(batch) for batch in batches]
    assert sizes[0] == 100 and set(sizes[1:-1]) == {500} and sum(sizes) == summary.entries
    for batch, tail in zip(batches, parent):
        head = round((100 if batch is batches[0] else 500) * share)
        assert tail == batch[head:], 'the parent classifies the tail of each batch'
    assert len(parent) == len(batches) - (len(batches[-1]) <= round(500 * share))
    lines = [line for batch in batches for line in batch]
    assert lines == sorted(lines)
    ordered = [n for n, in PL.select(PL.line_number).order_by(PL.id).tuples()]
    assert ordered == sorted(ordered) and len(ordered) == summary.entries


@pytest.mark.parametrize('parse_path', ['worker', 'one process'], indirect=True)
def test_force_marks_gone_exactly_the_stored_lines_it_did_not_read(cli, db_url, tmp_path, parse_path):
    """Whichever way --force reads (the worker marks by the ids of the rows its
    lines found, one process by the lines' hashes): a stored line the playlist
    no longer holds is gone, one it holds or adds is not, a line of the panel's
    is not the playlist's to mark, and a playlist of only new lines marks every
    stored one gone."""
    path = tmp_path / 'p.m3u'
    path.write_text(_m3u('Heat (1995)', 'Alien (1979)', 'Up (2009)', 'Fargo (1996)'))
    run_process(cli, db_url, path)
    db = stalkeer.open_database(db_url, str(tmp_path))
    PL.create(line_hash='panel-line', url='http://p.example/movie/u/p/9.mkv', display_title='Panel (2001)',
              source='xtream')
    db.close()
    path.write_text(_m3u('Up (2009)', 'Heat (1995)', 'Brazil (1985)'))
    run_process(cli, db_url, path, '--force')
    assert _gone(db_url, tmp_path) == {'Heat (1995)': False, 'Alien (1979)': True, 'Up (2009)': False,
                                       'Fargo (1996)': True, 'Panel (2001)': False, 'Brazil (1985)': False}
    path.write_text(_m3u('Alien (1979)', 'Jaws (1975)'))            # one back, one new
    run_process(cli, db_url, path, '--force')
    assert _gone(db_url, tmp_path) == {'Heat (1995)': True, 'Alien (1979)': False, 'Up (2009)': True,
                                       'Fargo (1996)': True, 'Panel (2001)': False, 'Brazil (1985)': True,
                                       'Jaws (1975)': False}
    path.write_text(_m3u('Ran (1985)'))                              # nothing stored is read
    run_process(cli, db_url, path, '--force')
    gone = _gone(db_url, tmp_path)
    assert gone.pop('Ran (1985)') is False and gone.pop('Panel (2001)') is False
    assert all(gone.values()), gone


def test_ingest_lookups_use_their_indexes(cli, db_url, tmp_path, playlists, monkeypatch):
    """Every lookup a re-run and a --force make goes through an index: the pages
    of the merge (_StoredLineScan) through the primary key, the lookups of
    what the pages did not hold through the unique line_hash index (never a
    scan per chunk of 900 hashes); rows are rewritten by id."""
    first, _ = playlists
    run_process(cli, db_url, first)
    shuffled = tmp_path / 'shuffled.m3u'       # lines out of the stored order: lookups by line_hash
    shuffled.write_bytes(reordered_copy(first.read_bytes()))
    db = stalkeer.open_database(db_url, str(tmp_path))
    seen = []
    original = type(db).execute_sql

    def recording(self, sql, params=None, *args, **kwargs):
        if 'processed_lines' in sql and sql.lstrip().upper().startswith('SELECT'):
            seen.append((sql, tuple(params or ())))
        return original(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(type(db), 'execute_sql', recording)
    monkeypatch.setattr(stalkeer, 'INGEST_BATCH', 200)               # batches and pages of
    monkeypatch.setattr(stalkeer._StoredLineScan, 'PAGE', 100)       # a 2,500-line playlist
    monkeypatch.setattr(stalkeer._StoredLineScan, 'WINDOW', 300)
    for path in (first, shuffled):
        for force in (False, True):
            stalkeer.PlaylistIngest(force=force).run(str(path))
    monkeypatch.setattr(type(db), 'execute_sql', original)
    lookups = [(sql, params) for sql, params in seen if '"line_hash" IN' in sql]
    pages = [(sql, params) for sql, params in seen if 'ORDER BY "id" LIMIT' in sql]
    for found in (lookups, pages):      # plain and --force
        assert any('"title"' in sql for sql, _ in found) and any('"title"' not in sql for sql, _ in found)
    for sql, params in lookups:
        assert 'processed_lines_line_hash' in _plan(db, sql, params)
    for sql, params in pages:
        plan = _plan(db, sql, params)
        assert ('processed_lines_pkey' if stalkeer.is_postgres(db) else 'INTEGER PRIMARY KEY') in plan, plan
    mark = '%s' if stalkeer.is_postgres(db) else '?'        # BulkWriter.update_by_id's statement
    plan = _plan(db, f'UPDATE "processed_lines" SET "title" = {mark} WHERE "id" = {mark}', ('x', 1))
    assert ('processed_lines_pkey' if stalkeer.is_postgres(db) else 'INTEGER PRIMARY KEY') in plan, plan
    db.close()


def reordered_copy(data: bytes) -> bytes:
    """The playlist with its entries in another order (the header kept first)."""
    head, *chunks = data.split(b'#EXTINF')
    entries = [b'#EXTINF' + chunk for chunk in chunks]
    entries = entries[1::2][::-1] + entries[0::2]
    return head + b''.join(entries)


# ---- the merge of a batch with the stored rows (_StoredLineScan) ----------------------

SCAN_ROWS = 60


@pytest.fixture
def small_scan(db, monkeypatch):
    """SCAN_ROWS stored lines h000.. in id order; pages of 7 rows, a window of 20."""
    monkeypatch.setattr(stalkeer._StoredLineScan, 'PAGE', 7)
    monkeypatch.setattr(stalkeer._StoredLineScan, 'WINDOW', 20)
    PL.insert_many([{'line_hash': f'h{i:03d}', 'url': f'http://x/{i}', 'title': f't{i}'}
                    for i in range(SCAN_ROWS)]).execute()
    writer = stalkeer.BulkWriter(db)
    head = 'SELECT "line_hash", "id", "title", "missing_since" FROM "processed_lines"'
    lookups = []
    original = writer.select_in

    def select_in(*args):
        lookups.append(list(args[2]))
        return original(*args)

    writer.select_in = select_in

    def by_index(hashes):
        return {row[0]: row[1:] for row in original(head, 'line_hash', hashes)}

    return lambda: stalkeer._StoredLineScan(writer, head, stalkeer._last_line_id()), by_index, lookups


def _batches(hashes, size):
    return [hashes[i:i + size] for i in range(0, len(hashes), size)]


def _orders():
    stored = [f'h{i:03d}' for i in range(SCAN_ROWS)]
    shuffled = stored[:]
    random.Random(15).shuffle(shuffled)
    new = [f'n{i:03d}' for i in range(25)]
    return {
        'stored order': stored,
        'new lines among them': [h for pair in zip(stored, new + [''] * SCAN_ROWS) for h in pair if h],
        'lines gone': stored[::3],
        'only new lines': new,
        'reversed': stored[::-1],
        'shuffled': shuffled,
        'moved block': stored[30:] + stored[:30],
        'half asked, then the rest': stored[::2] + stored[1::2],
    }


@pytest.mark.parametrize('order', list(_orders()))
@pytest.mark.parametrize('size', [1, 5, 10, 33])
def test_the_scan_answers_what_the_index_answers(small_scan, order, size):
    """Whatever the order of the lines (kept, new, gone, moved, reversed), each
    batch gets exactly the rows the line_hash lookups give; the window of rows
    read ahead stays within its bound."""
    make, by_index, _lookups = small_scan
    scan = make()
    for batch in _batches(_orders()[order], size):
        assert scan.rows_for(batch) == by_index(batch)
        assert len(scan.window) <= scan.WINDOW
    assert scan.rows_read <= SCAN_ROWS


@pytest.mark.parametrize('size', [5, 10, 33])
def test_lines_in_the_stored_order_are_read_once_without_lookups(small_scan, size):
    make, _by_index, lookups = small_scan
    scan = make()
    for batch in _batches([f'h{i:03d}' for i in range(SCAN_ROWS)], size):
        scan.rows_for(batch)
    assert lookups == [] and scan.rows_read == SCAN_ROWS


def test_new_lines_are_looked_up_and_a_batch_reads_at_most_twice_its_size(small_scan):
    make, _by_index, lookups = small_scan
    scan = make()
    assert scan.rows_for(['n1', 'n2']) == {}
    assert lookups == [['n1', 'n2']] and scan.rows_read <= 2 * 2 + scan.PAGE - 1


def test_gone_lines_are_not_read_and_are_found_when_back(small_scan):
    """Rows of lines gone from the playlist are skipped by the pages (they
    pile up); a line back in the playlist is still found, through the index."""
    make, by_index, lookups = small_scan
    PL.update(missing_since=stalkeer.utcnow()).where(PL.line_hash.in_([f'h{i:03d}' for i in range(0, 60, 2)])).execute()
    scan = make()
    asked = [f'h{i:03d}' for i in range(SCAN_ROWS)]
    for batch in _batches(asked, 10):
        assert scan.rows_for(batch) == by_index(batch)
    assert scan.rows_read == SCAN_ROWS // 2
    assert sorted(sum(lookups, [])) == asked[::2]


def test_a_scan_that_stops_answering_stops_reading(small_scan):
    """Reversed lines: after a few pages hold almost nothing asked for, every
    lookup goes through the index and no more pages are read."""
    make, by_index, lookups = small_scan
    scan = make()
    reversed_lines = [f'h{i:03d}' for i in range(SCAN_ROWS)][::-1]
    for batch in _batches(reversed_lines, 5):
        assert scan.rows_for(batch) == by_index(batch)
    assert not scan.scanning and scan.rows_read < SCAN_ROWS
    assert sum(len(batch) for batch in lookups) > SCAN_ROWS // 2


def test_rows_stored_after_the_scan_began_are_looked_up(small_scan):
    """The scan ends at the last row stored when it began (this run's own new
    lines are past it); a row added later is still found, through the index."""
    make, by_index, lookups = small_scan
    scan = make()
    PL.insert(line_hash='late', url='http://x/late').execute()
    assert scan.rows_for(['h000', 'late']) == by_index(['h000', 'late'])
    assert lookups == [['late']]


# ---- the parse worker: killed, failing, not started ---------------------------------

BIG_ENTRIES = 2 * stalkeer.INGEST_BATCH + 3000       # three batches: a kill lands mid-import


@pytest.fixture(scope='module')
def big_playlist(tmp_path_factory):
    path = tmp_path_factory.mktemp('big') / 'big.m3u'
    generate(str(path), entries=BIG_ENTRIES, seed=16)
    return path


def _processes_reading(path) -> list[int]:
    """Pids of live processes whose command line names ``path`` (a forked
    worker has its parent's)."""
    import os
    pids = []
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open(f'/proc/{name}/cmdline', 'rb') as fh:
                    cmdline = fh.read()
                with open(f'/proc/{name}/stat', 'rb') as fh:
                    zombie = fh.read().rsplit(b')', 1)[1].split()[0] == b'Z'
            except OSError:
                continue
            if str(path).encode() in cmdline and not zombie:
                pids.append(int(name))
    return pids


@pytest.mark.parametrize('killed', ['parent', 'worker'])
def test_a_killed_import_keeps_whole_batches_and_the_next_run_completes(db_url, tmp_path, big_playlist, killed):
    """SIGKILL mid-import, of the process storing (after its first batch) or of
    the parse worker (after it sent its first batch): the stored batches are
    whole rows of the reference, the worker does not outlive its parent, and
    the next run stores exactly what the reference derives."""
    import time
    from conftest import run_stalkeer, subprocess_env
    point = 'after_ingest_batch' if killed == 'parent' else 'parse_worker_batch'
    code, out, err = run_stalkeer('--db', db_url, 'process', big_playlist,
                                  env=subprocess_env(STALKEER_TEST_CRASH_AT=point,
                                                     STALKEER_M3U_PARSE_WORKER='true'))
    if killed == 'parent':
        assert code == -9, err
    else:
        assert code == 2, err
        assert 'parse worker' in err and 'killed by signal 9' in err and 'Traceback' not in err, err
    deadline = time.monotonic() + 10
    while _processes_reading(big_playlist) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_reading(big_playlist) == []           # the worker died with its parent
    expected = Reference().apply(big_playlist.read_bytes()).expected()
    got = stored(db_url, tmp_path)
    # whole batches: the worker's first (FIRST_BATCH lines), then INGEST_BATCH each
    assert 0 < len(got) < len(expected)
    assert (len(got) - stalkeer._ParseWorker.FIRST_BATCH) % stalkeer.INGEST_BATCH == 0
    assert got == expected[:len(got)]
    code, out, err = run_stalkeer('--db', db_url, 'process', big_playlist, env=subprocess_env())
    assert code == 0, err
    assert stored(db_url, tmp_path) == expected


# ---- a playlist rewritten in place while it is read (trial-17a F1) -------------
# curl -o / wget -O truncate the file and write it again as the bytes arrive: an
# import reading it meanwhile reads a torn mix of old and new bytes, or a cut
# file. It was recorded as a complete read of the digest taken before it: every
# line it did not see was marked gone, and every later run skipped the
# "unchanged" file.

TORN_TAIL = ('changed while it was read (another program writing it in place?): the lines read are '
             'stored, none marked gone; run process again')


def _stopped_pid(parent: int) -> int | None:
    """The pid of ``parent`` or of a child of it that is stopped (SIGSTOP), or None."""
    import os
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open(f'/proc/{name}/stat', 'rb') as fh:
                    state, ppid = fh.read().rsplit(b')', 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            if state == b'T' and parent in (int(name), int(ppid)):
                return int(name)
    return None


def _process_while(path, db_url, point, worker, change, *extra):
    """`process PATH` stopped at crash point ``point`` (STALKEER_TEST_STOP_AT:
    the first batch stored, or sent by the parse worker, which is the reader),
    ``change(path)`` done, then resumed; (exit code, stdout, stderr)."""
    import os
    import signal
    from conftest import start_stalkeer, subprocess_env, wait_for
    proc = start_stalkeer('--db', db_url, 'process', path, *extra,
                          env=subprocess_env(STALKEER_TEST_STOP_AT=point, STALKEER_M3U_PARSE_WORKER=worker))
    try:
        stopped = wait_for(lambda: _stopped_pid(proc.pid) or proc.poll() is not None, timeout=60,
                           what=f'process to stop at {point}')
        assert stopped is not True, proc.communicate()
        change(path)
        os.kill(stopped, signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def _pointer_complete(db_url, tmp_path) -> bool:
    db = stalkeer.open_database(db_url, str(tmp_path))
    try:
        return stalkeer.PlaylistImport.get().completed_at is not None
    finally:
        db.close()


@pytest.mark.parametrize('before, worker', [
    ('nothing', 'false'),       # a first import, in one process
    ('nothing', 'true'),        # a first import, read by the parse worker
    ('yesterday', 'false'),     # the daily run: another file imported before (one process, whatever the setting)
    ('same file', 'false'),     # --force over a complete import of the same bytes
    ('same file', 'true'),      # the same, read by the parse worker (gone lines marked by id)
])
def test_a_playlist_rewritten_in_place_during_the_read_is_not_a_complete_read(db_url, tmp_path, big_playlist,
                                                                              before, worker):
    """The file truncated and written again with the same bytes while `process`
    reads it (the trial's curl -o cron line): the lines read are stored (whole
    lines of the file, none cut at the change), none is marked gone, the run
    says so in one line and exits 2, and is not complete: the next run reads
    the file again (no "unchanged" skip) and leaves what a clean import does."""
    from conftest import run_stalkeer, subprocess_env
    data = big_playlist.read_bytes()
    path = tmp_path / 'playlist.m3u'
    ref, extra = Reference(), ()
    if before != 'nothing':
        path.write_bytes(data if before == 'same file' else changed_copy(data))
        code, out, err = run_stalkeer('--db', db_url, 'process', path, env=subprocess_env())
        assert code == 0, err
        ref.apply(path.read_bytes())
        extra = ('--force',) if before == 'same file' else ()
    path.write_bytes(data)
    expected = ref.apply(data).expected()
    cut = len(data) // 3

    def curl_o(p):          # truncate, then the first third of the bytes "arrived" so far
        with open(p, 'r+b') as fh:
            fh.truncate(0)
            fh.write(data[:cut])

    point = 'parse_worker_batch' if worker == 'true' and before != 'yesterday' else 'after_ingest_batch'
    code, out, err = _process_while(path, db_url, point, worker, curl_o, *extra)
    assert code == 2, (out, err)
    assert err.splitlines() == [f'stalkeer: error: the playlist {path} {TORN_TAIL}'], err
    assert 'no longer in the playlist' not in out
    got = stored(db_url, tmp_path)
    assert not any(r['missing'] for r in got)                # nothing marked gone
    if before == 'nothing':                                  # whole lines of the file, in its order
        assert 0 < len(got) < len(expected) and got == expected[:len(got)]
    assert not _pointer_complete(db_url, tmp_path)
    with open(path, 'r+b') as fh:                            # the rest arrives: the same file again
        fh.seek(cut)
        fh.write(data[cut:])
    assert path.read_bytes() == data

    code, out, err = run_stalkeer('--db', db_url, 'process', path, env=subprocess_env())
    assert code == 0 and 'playlist unchanged' not in out, (out, err)
    assert stored(db_url, tmp_path) == expected
    code, out, err = run_stalkeer('--db', db_url, 'process', path, env=subprocess_env())
    assert code == 0 and 'playlist unchanged since' in out, (out, err)


def test_a_playlist_rewritten_in_place_during_a_dry_run_counts_nothing_gone(db_url, tmp_path, big_playlist):
    """--dry-run says the same (and counts no line gone); read by the parse
    worker here (a dry run stores no batch: its one-process read is in
    test_bytes_read_that_differ_from_the_digest_are_not_a_complete_read)."""
    from conftest import run_stalkeer, subprocess_env
    data = big_playlist.read_bytes()
    path = tmp_path / 'playlist.m3u'
    path.write_bytes(changed_copy(data))
    code, out, err = run_stalkeer('--db', db_url, 'process', path, env=subprocess_env())
    assert code == 0, err
    before = stored(db_url, tmp_path)
    path.write_bytes(data)

    def cut(p):
        with open(p, 'r+b') as fh:
            fh.truncate(len(data) // 3)
    code, out, err = _process_while(path, db_url, 'parse_worker_batch', 'true', cut, '--dry-run', '--force',
                                    '--json')
    assert code == 2, (out, err)
    assert err.splitlines() == [f'stalkeer: error: the playlist {path} changed while it was read (another '
                                'program writing it in place?): nothing was written, no line counted as '
                                'gone; run it again'], err
    summary = json.loads(out)
    assert summary['changed_while_read'] and summary['disappeared'] == 0 and summary['dry_run']
    assert stored(db_url, tmp_path) == before


def test_a_playlist_replaced_by_rename_during_the_read_is_read_whole(db_url, tmp_path, big_playlist):
    """What m3u-download does (a new file renamed over the old one): the import
    reads the file it opened, whole, and completes; the next run reads the new one."""
    from conftest import run_stalkeer, subprocess_env
    import os
    data = big_playlist.read_bytes()
    path = tmp_path / 'playlist.m3u'
    path.write_bytes(data)
    other = changed_copy(data)

    def replace(p):
        (tmp_path / 'new.m3u').write_bytes(other)
        os.replace(tmp_path / 'new.m3u', p)
    code, out, err = _process_while(path, db_url, 'after_ingest_batch', 'false', replace)
    assert code == 0 and err == '', (out, err)
    ref = Reference()
    assert stored(db_url, tmp_path) == ref.apply(data).expected()
    code, out, err = run_stalkeer('--db', db_url, 'process', path, env=subprocess_env())
    assert code == 0 and 'playlist unchanged' not in out, (out, err)
    assert stored(db_url, tmp_path) == ref.apply(other).expected()


@pytest.mark.parametrize('force, worker, dry_run', [
    (False, 'false', False), (True, 'true', False), (False, 'false', True), (True, 'true', True)])
def test_bytes_read_that_differ_from_the_digest_are_not_a_complete_read(db, tmp_path, playlists, monkeypatch,
                                                                        force, worker, dry_run):
    """A change the fstat after each read cannot see (same size, the mtime put
    back: coarse file times, a network share's cached attributes): the digest
    of the bytes read differs from the one taken up front, so nothing is marked
    gone either."""
    import os
    first, second = playlists
    path = tmp_path / 'playlist.m3u'
    path.write_bytes(first.read_bytes())
    stalkeer.PlaylistIngest().run(str(path))
    data = second.read_bytes()
    data = data[:path.stat().st_size].ljust(path.stat().st_size, b'\n')    # another file of the same size
    playlist = stalkeer.PlaylistFile(str(path))
    playlist.sha256()
    times = path.stat()
    with open(path, 'r+b') as fh:
        fh.write(data)
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
    summary = stalkeer.PlaylistIngest(force=force, dry_run=dry_run, parse_worker=worker).run(
        str(path), playlist=playlist)
    assert summary.changed_while_read and summary.disappeared == 0 and summary.entries > 2000
    assert not stalkeer.ProcessedLine.select().where(stalkeer.ProcessedLine.missing_since.is_null(False)).exists()
    # the same read of an unchanged file is complete and marks the lines it did not see
    playlist = stalkeer.PlaylistFile(str(path))
    playlist.sha256()
    summary = stalkeer.PlaylistIngest(force=force, dry_run=dry_run, parse_worker=worker).run(
        str(path), playlist=playlist)
    assert not summary.changed_while_read and summary.disappeared > 100


def test_the_worker_is_left_out_on_one_cpu_or_when_it_cannot_start(cli, db_url, tmp_path, playlists,
                                                                    monkeypatch):
    """parse_worker = auto: one usable CPU, and there is no fork at all; a fork
    that fails (a process limit): the import goes on in the one process. Same
    rows every time."""
    import errno
    first, _ = playlists
    forks = []

    def failing_fork():
        forks.append(1)
        raise OSError(errno.EAGAIN, 'Resource temporarily unavailable')
    monkeypatch.setattr(stalkeer.os, 'fork', failing_fork)
    monkeypatch.setattr(stalkeer.os, 'sched_getaffinity', lambda pid: {0})
    expected = Reference().apply(first.read_bytes()).expected()
    run_process(cli, db_url, first)
    assert forks == [] and stored(db_url, tmp_path) == expected
    monkeypatch.setattr(stalkeer.os, 'sched_getaffinity', lambda pid: {0, 1})
    run_process(cli, db_url, first, '--force')
    assert forks == [1] and stored(db_url, tmp_path) == expected
    run_process(cli, db_url, first)             # a re-run works in one process, whatever the CPUs
    assert forks == [1]


def test_parse_worker_setting_is_validated(cli, tmp_path, playlists, monkeypatch):
    monkeypatch.setenv('STALKEER_M3U_PARSE_WORKER', 'sometimes')
    code, out, err = cli('--db', f'sqlite:///{tmp_path}/x.db', 'process', str(playlists[0]))
    assert code == 2 and 'STALKEER_M3U_PARSE_WORKER (environment)' in err and 'auto, true or false' in err and 'Traceback' not in err


def test_the_worker_reports_what_one_process_reports(cli, tmp_path, playlists, monkeypatch):
    """The summary (counts, malformed samples, limited, filtered, duplicates,
    by content type) is the same whichever process parsed."""
    import json
    first, _ = playlists
    odd = tmp_path / 'odd.m3u'
    odd.write_bytes(first.read_bytes() + first.read_bytes()[:4000]        # duplicates
                    + b'\nhttp://orphan.example/1.mkv\n#EXTINF:-1,No URL\n#EXTINF:-1,Bad\nftp://x/y\n')
    (tmp_path / 'filter.ini').write_text('[filter]\ngroup_title_exclude = ^EN\n')

    def summaries(worker):
        monkeypatch.setenv('STALKEER_M3U_PARSE_WORKER', worker)
        db = f'sqlite:///{tmp_path}/{worker}.db'
        out = []
        for extra in ([], ['--force'], ['--limit', '700']):
            code, text, err = cli('--db', db, 'process', '--json', str(odd), *extra)
            assert code == 0, err
            out.append({k: v for k, v in json.loads(text).items() if k != 'elapsed_seconds'})
        code, text, err = cli('--config', str(tmp_path / 'filter.ini'), '--db', f'sqlite:///{tmp_path}/f{worker}.db',
                              'process', '--json', str(odd))
        assert code == 0, err
        out.append({k: v for k, v in json.loads(text).items() if k != 'elapsed_seconds'})
        return out

    worker, one = summaries('true'), summaries('false')
    assert worker == one
    assert worker[0]['duplicates'] > 0 and worker[0]['malformed'] >= 2 and worker[2]['limited']
    assert worker[3]['filtered'] > 0


def test_the_worker_path_works_when_another_module_runs_the_script(db_url, tmp_path, playlists):
    """`python -m cProfile stalkeer.py process` (how one profiles an import):
    __main__ is then cProfile's module, so nothing the worker sends may be an
    instance of one of stalkeer's classes (pickle names a class by its module).
    It was: the run failed with "Can't pickle <class '__main__.ParseStats'>"."""
    import subprocess
    import sys
    from conftest import ROOT, subprocess_env
    first, _ = playlists
    proc = subprocess.run([sys.executable, '-m', 'cProfile', '-o', str(tmp_path / 'prof'), str(ROOT / 'stalkeer.py'),
                           '--db', db_url, 'process', str(first)], capture_output=True, text=True, timeout=120,
                          env=subprocess_env(STALKEER_M3U_PARSE_WORKER='true'))
    # cProfile's runner exits 0 whatever the script's exit: read what it said
    assert proc.returncode == 0 and 'error' not in proc.stderr, proc.stderr
    assert ' entries in ' in proc.stdout, proc.stdout
    assert stored(db_url, tmp_path) == Reference().apply(first.read_bytes()).expected()


def test_one_series_episodes_are_found_through_the_index(small_scan, monkeypatch):
    """A sonarr run's episode lines of one series (_EpisodeIngest) are a few
    dozen rows anywhere in the table: looked up by line_hash, no page read."""
    _make, by_index, _lookups = small_scan
    statements = []
    original = type(stalkeer.db_proxy.obj).execute_sql

    def recording(self, sql, params=None, *args, **kwargs):
        statements.append(sql)
        return original(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(type(stalkeer.db_proxy.obj), 'execute_sql', recording)
    found = stalkeer._EpisodeIngest()._existing(['h042', 'h007', 'new'])
    assert {digest: row[0] for digest, row in found.items()} == {
        digest: row[0] for digest, row in by_index(['h042', 'h007']).items()}
    assert statements and not any('ORDER BY "id"' in sql for sql in statements)



# ---- two instances storing the same rows (trial-15c F3) -------------------------------

def _stored_titles(count):
    PL.insert_many([{'line_hash': f'h{i:03d}', 'url': f'http://x/{i}', 'title': 'old'}
                    for i in range(count)]).execute()
    return [row.id for row in PL.select(PL.id).order_by(PL.id)]


def test_a_batch_postgresql_aborted_to_break_a_deadlock_is_written_again(db, monkeypatch):
    import psycopg2.errors
    ids = _stored_titles(5)
    calls = []
    write_once = stalkeer.PlaylistIngest._write_once

    def losing_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise psycopg2.errors.DeadlockDetected('deadlock detected')
        return write_once(*args)
    monkeypatch.setattr(stalkeer.PlaylistIngest, '_write_once', staticmethod(losing_once))
    updates = [(f'new {i}', row_id) for i, row_id in enumerate(ids)]
    stalkeer.PlaylistIngest._write(stalkeer.BulkWriter(db), [], updates, [], False, ('title',))
    assert len(calls) == 2 and [r.title for r in PL.select().order_by(PL.id)] == [f'new {i}' for i in range(5)]
    calls.clear()                          # any other database error is not run again
    monkeypatch.setattr(stalkeer.PlaylistIngest, '_write_once',
                        staticmethod(lambda *a: calls.append(1) or (_ for _ in ()).throw(
                            stalkeer.peewee.IntegrityError('no'))))
    with pytest.raises(stalkeer.peewee.IntegrityError):
        stalkeer.PlaylistIngest._write(stalkeer.BulkWriter(db), [], updates, [], False, ('title',))
    assert len(calls) == 1


@pytest.mark.parametrize('db_url', ['postgresql'], indirect=True)    # PostgreSQL's locks
def test_a_real_deadlock_on_postgresql_costs_a_retry_not_the_run(db):
    """Another transaction holds the batch's last row and then waits for its
    first: PostgreSQL aborts one of the two (the one whose deadlock check runs
    first: the batch, which waited first). The batch is written again and wins."""
    ids = _stored_titles(6)
    holding, other = threading.Event(), {}

    def other_instance():
        try:
            with db.atomic():
                db.execute_sql('UPDATE "processed_lines" SET "title" = %s WHERE "id" = %s', ('other', ids[-1]))
                holding.set()
                time.sleep(0.4)           # the batch now waits for this row, holding the others
                db.execute_sql('UPDATE "processed_lines" SET "title" = %s WHERE "id" = %s', ('other', ids[0]))
            other['result'] = 'committed'
        except Exception as exc:          # noqa: BLE001 - PostgreSQL chose this one
            other['result'] = type(exc).__name__
        finally:
            db.close()
    thread = threading.Thread(target=other_instance)
    thread.start()
    assert holding.wait(10)
    updates = [(f'batch {row_id}', row_id) for row_id in ids[:1] + ids[:0:-1]]    # playlist order
    stalkeer.PlaylistIngest._write(stalkeer.BulkWriter(db), [], updates, [], False, ('title',))
    thread.join(30)
    assert other['result'] in ('committed', 'OperationalError', 'DeadlockDetected')
    assert [r.title for r in PL.select().order_by(PL.id)] == [f'batch {row_id}' for row_id in ids]


@pytest.mark.parametrize('db_url', ['postgresql'], indirect=True)    # PostgreSQL's locks
def test_batches_write_their_rows_in_one_order_on_postgresql(db, monkeypatch):
    """Updates in id order, so two instances never take the same rows' locks
    in opposite orders; new lines in playlist order (their ids follow it)."""
    ids = _stored_titles(4)
    seen = {}
    writer = stalkeer.BulkWriter(db)
    original_update, original_insert = writer.update_by_id, writer.insert_ignore
    writer.update_by_id = lambda table, columns, rows: (seen.__setitem__('updates', list(rows)),
                                                        original_update(table, columns, rows))
    writer.insert_ignore = lambda table, columns, rows: (seen.__setitem__('new', [r[0] for r in rows]),
                                                         original_insert(table, columns, rows))
    now = writer.timestamp(stalkeer.utcnow())
    row = dict.fromkeys(stalkeer._LINE_COLUMNS)
    new_rows = [tuple({**row, 'line_hash': h, 'url': 'http://x/' + h, 'content_type': 'movies',
                       'title': 't', 'match_key': 't', 'updated_at': now}.values()) + ('processed', now, now)
                for h in ('zz', 'aa', 'mm')]
    updates = [('t', row_id) for row_id in (ids[2], ids[0], ids[3], ids[1])]
    stalkeer.PlaylistIngest._write(writer, new_rows, updates, [], False, ('title',))
    assert [u[-1] for u in seen['updates']] == sorted(ids) and seen['new'] == ['zz', 'aa', 'mm']


def test_moved_lines_get_their_line_numbers_in_id_order_in_few_statements(db, monkeypatch):
    """BulkWriter.set_by_id, what a re-run writes of an unchanged line that
    moved (trial-15c F1: a line added at the top moves every line): the rows
    in id order, whatever order they come in (as every batch writes them);
    on PostgreSQL one statement per 1,000 rows, not one per row."""
    import re
    ids = _stored_titles(2500)
    pairs = [(row_id, 7 * row_id + 1) for row_id in ids]
    random.Random(15).shuffle(pairs)
    statements = []
    real_cursor = db.cursor

    class Recording:
        def __init__(self, cursor):
            self._cursor = cursor

        def __getattr__(self, name):
            return getattr(self._cursor, name)

        def execute(self, sql, params=None):
            statements.append((sql if isinstance(sql, str) else sql.decode(), params))
            return self._cursor.execute(sql) if params is None else self._cursor.execute(sql, params)

        def executemany(self, sql, rows):
            rows = list(rows)
            statements.append((sql, rows))
            return self._cursor.executemany(sql, rows)

    monkeypatch.setattr(db, 'cursor', lambda *a, **kw: Recording(real_cursor(*a, **kw)))
    with db.atomic():
        stalkeer.BulkWriter(db).set_by_id('processed_lines', 'line_number', pairs)
    monkeypatch.undo()
    statements = [(sql, params) for sql, params in statements if sql.startswith('UPDATE')]
    if stalkeer.is_postgres(db):
        assert len(statements) == 3 and all('FROM (VALUES' in sql for sql, _ in statements)
        written = [int(n) for sql, _ in statements for n in re.findall(r'\((\d+), CAST\(\d+ AS integer\)\)', sql)]
    else:
        assert len(statements) == 1
        written = [row_id for _value, row_id in statements[0][1]]
    assert written == sorted(ids)
    assert {r.id: r.line_number for r in PL.select()} == dict(pairs)
    assert {r.title for r in PL.select()} == {'old'}
