"""Many instances at once, on SQLite and PostgreSQL: real processes racing."""

import os
import sqlite3
import subprocess
import sys

import pytest

import stalkeer
from conftest import ROOT, payload, sha256, start_stalkeer, subprocess_env, wait_for
from fakearr import FakeArr

DI = stalkeer.DownloadInfo
RACE_ENV = dict(STALKEER_DOWNLOADS_MIN_FREE_SPACE_MB='0',
                STALKEER_DOWNLOADS_MAX_CONNECTIONS_PER_HOST='16',
                STALKEER_DOWNLOADS_PROGRESS_INTERVAL_MB='0.05',
                STALKEER_DOWNLOADS_RETRY_BACKOFF_SECONDS='0.05')


def run_all(argv_list, env, timeout=120):
    """Start every command at once; (exit code, stdout, stderr) of each."""
    procs = [start_stalkeer(*argv, env=env) for argv in argv_list]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append((proc.returncode, out, err))
    return results


def test_six_processes_forty_downloads_each_fetched_once(server, tmp_path, db_url, db):
    state = stalkeer.StateManager(owner='seed')
    datas = {}
    for i in range(40):
        datas[i] = payload(120_000 + i, seed=100 + i)
        url = server.add(f'race/{i}.mkv', datas[i])
        server.fault(f'race/{i}.mkv', throttle_bps=2_000_000)    # transfers overlap for real
        state.get_or_create(url, str(tmp_path / 'lib' / f'{i}.mkv'), f'Race {i}')
    db.close()
    results = run_all([('-q', '--db', db_url, 'resume-downloads', '--parallel', '2')] * 6,
                      subprocess_env(**RACE_ENV))
    errors = ''.join(err for _, _, err in results)
    assert [code for code, _, _ in results] == [0] * 6, errors
    assert 'database is locked' not in errors and 'Traceback' not in errors
    for i in range(40):
        assert server.full_gets(f'race/{i}.mkv') == 1, f'file {i} fetched {server.full_gets(f"race/{i}.mkv")} times'
        assert len(server.gets(f'race/{i}.mkv')) == 1
        assert sha256(tmp_path / 'lib' / f'{i}.mkv') == sha256(datas[i])
    assert {r.status for r in DI.select()} == {'completed'}
    assert all(r.locked_by is None for r in DI.select())


def test_four_radarr_runs_at_once(server, tmp_path, db_url):
    playlist = tmp_path / 'p.m3u'
    text = '#EXTM3U\n'
    datas = {}
    with FakeArr('radarr') as radarr:
        for i in range(8):
            title = f'Race Film {chr(65 + i)}'
            datas[i] = payload(150_000, seed=200 + i)
            url = server.add(f'movie/u/p/{i}.mkv', datas[i])
            server.fault(f'movie/u/p/{i}.mkv', throttle_bps=1_500_000)
            text += f'#EXTINF:-1 group-title="Movies",{title} (2001)\n{url}\n'
            radarr.add_movie(title, 2001, path=f'/movies/{title} (2001)')
        playlist.write_text(text, encoding='utf-8')
        ini = tmp_path / 's.ini'
        ini.write_text(f'[radarr]\nurl = {radarr.base_url}\napi_key = {radarr.api_key}\n'
                       f'path_map = /movies={tmp_path}/lib\n[m3u]\nfile_path = {playlist}\n')
        env = subprocess_env(**RACE_ENV)
        first = run_all([('--config', ini, '--db', db_url, 'process')], env)
        assert first[0][0] == 0, first
        results = run_all([('-q', '--config', ini, '--db', db_url, 'radarr', '--parallel', '2')] * 4, env)
        errors = ''.join(err for _, _, err in results)
        assert [code for code, _, _ in results] == [0] * 4, errors
        assert 'database is locked' not in errors
        for i in range(8):
            assert server.full_gets(f'movie/u/p/{i}.mkv') == 1
            title = f'Race Film {chr(65 + i)}'
            assert sha256(tmp_path / 'lib' / f'{title} (2001)' / f'{title} (2001).mkv') == sha256(datas[i])
        # Each movie rescanned once, by whichever run downloaded it.
        assert sorted(c['movieId'] for c in radarr.commands) == list(range(1, 9))


FAKE_CLOCK = '''
import datetime, sys, time
sys.path.insert(0, {root!r})
offset = float(sys.argv.pop(1))
real_time = time.time
time.time = lambda: real_time() + offset            # faketime-style: this process only
import stalkeer
real_utcnow = stalkeer.utcnow
stalkeer.utcnow = lambda: real_utcnow() + datetime.timedelta(seconds=offset)
sys.exit(stalkeer.main(sys.argv[1:]))
'''


def run_with_clock_offset(offset, *argv, env):
    proc = subprocess.run([sys.executable, '-c', FAKE_CLOCK.format(root=str(ROOT)), str(offset),
                           *map(str, argv)], env=env, capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def test_a_skewed_clock_neither_steals_nor_keeps_a_lease(server, tmp_path, db_url, db):
    data = payload(400_000)
    url = server.add('skew.mkv', data)
    server.fault('skew.mkv', throttle_bps=100_000)           # ~4 s
    env = subprocess_env(STALKEER_DOWNLOADS_LOCK_TIMEOUT_SECONDS='60', **RACE_ENV)
    dest = tmp_path / 'skew.mkv'
    proc = start_stalkeer('download', url, dest, '--db', db_url, env=env)
    wait_for(lambda: (r := DI.get_or_none(DI.destination == str(dest))) and r.status == 'downloading',
             what='the download to start')
    # A host ten minutes ahead must not see this fresh lease as stale.
    code, out, err = run_with_clock_offset(600, 'resume-downloads', '--db', db_url, env=env)
    assert code == 0 and 'nothing to resume' in out, out + err
    assert proc.wait(timeout=30) == 0
    assert server.full_gets('skew.mkv') == 1 and sha256(dest) == sha256(data)

    # A dead lease (no heartbeat for 2 minutes by the database's clock) is taken
    # over even by a host whose clock is ten minutes behind.
    state = stalkeer.StateManager(owner='dead-host-1-abc')
    other = state.get_or_create(server.add('dead.mkv', data), str(tmp_path / 'dead.mkv'), 'Dead')
    state.acquire(other.id)
    DI.update(status='downloading', locked_at=stalkeer.db_now(-120)).where(DI.id == other.id).execute()
    server.clear_faults('skew.mkv')
    code, out, err = run_with_clock_offset(-600, 'resume-downloads', '--db', db_url, env=env)
    assert code == 0 and '1 completed' in out, out + err
    assert sha256(tmp_path / 'dead.mkv') == sha256(data)


def test_network_filesystem_falls_back_to_a_rollback_journal(tmp_path, monkeypatch, caplog):
    db = stalkeer.open_database(f'sqlite:///{tmp_path}/local.db', str(tmp_path))
    assert db.execute_sql('PRAGMA journal_mode').fetchone()[0] == 'wal'
    # SQLite's own wait is a slice (Ctrl-C is heard between slices); stalkeer
    # waits on in slices for as long as the busy timeout used to be.
    assert db.execute_sql('PRAGMA busy_timeout').fetchone()[0] <= 250
    assert stalkeer.SQLITE_LOCK_WAIT == 15
    db.close()
    monkeypatch.setattr(stalkeer, 'filesystem_type', lambda path: 'nfs4')
    with caplog.at_level('WARNING', logger='stalkeer'):
        db = stalkeer.open_database(f'sqlite:///{tmp_path}/nas.db', str(tmp_path))
    assert db.execute_sql('PRAGMA journal_mode').fetchone()[0] == 'delete'
    assert 'network filesystem (nfs4)' in caplog.text and 'PostgreSQL' in caplog.text
    db.close()


def test_filesystem_type_reads_the_mount_table():
    assert stalkeer.filesystem_type('/proc') == 'proc'
    assert stalkeer.filesystem_type('/') is not None


def test_sqlite_transactions_take_the_write_lock_up_front(tmp_path):
    db = stalkeer.open_database(f'sqlite:///{tmp_path}/s.db', str(tmp_path))
    other = sqlite3.connect(tmp_path / 's.db', timeout=0)
    with db.atomic():
        # BEGIN IMMEDIATE: another writer is refused at once, before we even wrote.
        with pytest.raises(sqlite3.OperationalError, match='locked'):
            other.execute('BEGIN IMMEDIATE')
    other.execute('BEGIN IMMEDIATE')
    other.rollback()
    db.close()
