"""A download that failed for good says so truthfully, with real processes, the
real local HTTP server and both engines: a give-up is not counted as retries it
never made and no `resume-downloads` tries it again; a person's explicit
`download` of it is a new attempt judged by the config as it is now; a file
already at DEST is bad input (exit 2, nothing stored); a pause never says '?'."""

import os
import signal

import pytest

import stalkeer
from conftest import payload, run_stalkeer, sha256, start_stalkeer, subprocess_env, wait_for

DI = stalkeer.DownloadInfo
QUICK = dict(STALKEER_DOWNLOADS_MIN_FREE_SPACE_MB='0',
             STALKEER_DOWNLOADS_RETRY_BACKOFF_SECONDS='0.05',
             STALKEER_DOWNLOADS_PROGRESS_INTERVAL_MB='0.1')


def _file_as_folder(tmp_path, dest):
    dest.parent.parent.mkdir(parents=True, exist_ok=True)
    dest.parent.write_bytes(b'a file where the folder must be')
    return {}, f'{dest.parent} is a file, not a folder'


def _existing_file(tmp_path, dest):
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b'the user\'s own file')
    return {}, f'refusing to overwrite existing file {dest}'


def _put_right(tmp_path, dest):
    """What a person does: temp_dir set to a real folder, the file in the way removed."""
    if dest.parent.is_file():
        dest.parent.unlink()
    if dest.is_file():
        dest.unlink()
    (tmp_path / 'real-temp').mkdir(exist_ok=True)
    return {'STALKEER_DOWNLOADS_TEMP_DIR': str(tmp_path / 'real-temp')}


# Every failure that no retry can fix, as a person meets it. (A temp_dir that
# is a dangling symlink is no longer one: every command refuses it at start,
# in config --check's words: tests/test_file_types.py.)
GIVE_UPS = {
    'a file where the folder must be': _file_as_folder,
    'a file already at the destination': _existing_file,
}


def _given_up(server, tmp_path, db_url, reason, name):
    """A download of ``name`` that gave up for ``reason`` in a real
    `resume-downloads`; returns (row id, dest, data, url, what it says, env)."""
    data = payload(300_000, seed=len(name))
    url = server.add(name, data)
    dest = tmp_path / 'lib' / 'Perm (2001)' / 'Perm (2001).mkv'
    extra, says = GIVE_UPS[reason](tmp_path, dest)
    info = stalkeer.StateManager(owner='seed').get_or_create(url, str(dest), 'Perm (2001)')
    env = subprocess_env(**QUICK, **extra)
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert code == 1 and says in out and stalkeer.PERMANENT_MARK in out, out + err
    return info.id, dest, data, url, says, env


@pytest.mark.parametrize('reason', GIVE_UPS)
def test_a_give_up_is_no_retry_and_no_run_retries_it(reason, server, tmp_path, db_url, db):
    """(b) The give-up is the row's mark, retry_count the retries really made
    (none); every later resume-downloads names it as given up, exit 1, with no
    request and no attempt; status says why, not 'after 5 retries'."""
    row_id, dest, _data, url, says, env = _given_up(server, tmp_path, db_url, reason,
                                                    f'b/{len(reason)}.mkv')
    row = DI.get_by_id(row_id)
    assert row.status == 'failed' and row.retry_count == 0, (row.status, row.retry_count)
    requests = len(server.requests)
    for _ in range(2):
        code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
        assert code == 1 and 'failed: #' not in out and '1 gave up' in out, out + err
        assert f'#{row_id} Perm (2001): {says}' in out and f'stalkeer retry {row_id}' in out
    assert len(server.requests) == requests                  # nothing was tried
    row = DI.get_by_id(row_id)
    assert row.retry_count == 0 and row.status == 'failed'
    code, out, err = run_stalkeer('status', '--db', db_url, env=env)
    assert f'gave up: {stalkeer.PERMANENT_MARK}' in out and 'gave up after' not in out, out
    code, out, err = run_stalkeer('resume-downloads', '--dry-run', '--db', db_url, env=env)
    assert 'would resume' not in out and '1 gave up' in out, out


@pytest.mark.parametrize('reason', GIVE_UPS)
def test_an_explicit_download_after_putting_it_right_is_a_new_attempt(reason, server, tmp_path,
                                                                       db_url, db):
    """(a) `download` of the same URL and DEST is a new attempt judged by the
    current config: it completes byte-exact, with no error of the old config;
    it is the first attempt of a new request, not a sixth retry."""
    row_id, dest, data, url, says, _env = _given_up(server, tmp_path, db_url, reason,
                                                    f'a/{len(reason)}.mkv')
    env = subprocess_env(**QUICK, **_put_right(tmp_path, dest))
    code, out, err = run_stalkeer('download', url, dest, '--db', db_url, env=env)
    assert code == 0 and f'completed: {dest}' in out and says not in out + err, out + err
    assert sha256(dest) == sha256(data)
    row = DI.get_by_id(row_id)
    assert row.status == 'completed' and row.retry_count == 0 and row.error_message is None
    assert not list((tmp_path / 'real-temp').iterdir())          # its .part went where it said


def test_download_again_after_fixing_temp_dir_is_tried_with_the_new_one(server, tmp_path, db_url, db):
    """The trial's steps: a dangling temp_dir, then a real one, the same
    command. The first is refused at start in one line (exit 2), with no request
    and no row; the second downloads."""
    data = payload(250_000, seed=7)
    url = server.add('movie.mkv', data)
    os.symlink(tmp_path / 'nothere', tmp_path / 'dangling')
    dest = tmp_path / 'dl' / 't.mkv'
    env = subprocess_env(**QUICK, STALKEER_DOWNLOADS_TEMP_DIR=str(tmp_path / 'dangling'))
    requests = len(server.requests)
    code, out, err = run_stalkeer('download', url, dest, '--db', db_url, env=env)
    assert code == 2 and out == '' and err.count('\n') == 1, out + err
    assert 'STALKEER_DOWNLOADS_TEMP_DIR (environment) must be a folder, but' in err and 'dangling link' in err, err
    assert len(server.requests) == requests and not DI.select().where(DI.destination == str(dest)).exists()
    (tmp_path / 'ft').mkdir()
    env = subprocess_env(**QUICK, STALKEER_DOWNLOADS_TEMP_DIR=str(tmp_path / 'ft'))
    code, out, err = run_stalkeer('download', url, dest, '--db', db_url, env=env)
    assert code == 0 and 'dangling' not in out + err, out + err
    assert sha256(dest) == sha256(data) and DI.get(DI.destination == str(dest)).retry_count == 0


def test_download_while_not_put_right_says_the_current_reason_once(server, tmp_path, db_url, db):
    """Asking again before putting it right: one line naming what stands in the
    way now, in the folder rule's words (the file on the way is the input's
    fault: refused at start, exit 2, no request; the row stays as it was)."""
    row_id, dest, _data, url, says, env = _given_up(server, tmp_path, db_url,
                                                    'a file where the folder must be', 'n/x.mkv')
    requests = len(server.requests)
    code, out, err = run_stalkeer('download', url, dest, '--db', db_url, env=env)
    assert code == 2 and out == '' and err == (f'stalkeer: error: DEST {dest} is out of reach '
                                               f'({dest.parent} on the way is a file)\n'), out + err
    assert len(server.requests) == requests
    row = DI.get_by_id(row_id)
    assert row.retry_count == 0 and says in row.error_message


@pytest.mark.parametrize('what', ['a file', 'a symlink to a file', 'a dangling symlink'])
def test_download_onto_an_existing_file_is_bad_input(what, server, tmp_path, db_url, db):
    """README: an existing file is never replaced without --force. A DEST that
    exists is the input's fault: one line, exit 2, no request, no row (so no
    failed download for resume-downloads to retry); --force still replaces it."""
    data = payload(100_000, seed=3)
    url = server.add('e/movie.mkv', data)
    dest = tmp_path / 'dl' / 'exist.mkv'
    dest.parent.mkdir()
    if what == 'a file':
        dest.write_bytes(b'mine')
    elif what == 'a symlink to a file':
        (tmp_path / 'target').write_bytes(b'mine')
        os.symlink(tmp_path / 'target', dest)
    else:
        os.symlink(tmp_path / 'nothing', dest)
    env = subprocess_env(**QUICK)
    code, out, err = run_stalkeer('download', url, dest, '--db', db_url, env=env)
    assert code == 2 and out == '' and err.count('\n') == 1, out + err
    says = (f'{dest} is a symbolic link to {tmp_path}/nothing, which is nothing (a dangling link)'
            if what == 'a dangling symlink' else f'{dest} exists')
    assert says in err and '--force' in err and 'Traceback' not in err
    assert server.gets('e/movie.mkv') == [] and DI.select().count() == 0
    if what == 'a symlink to a file':
        assert (tmp_path / 'target').read_bytes() == b'mine'
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert code == 0 and 'nothing to resume' in out, out + err
    code, out, err = run_stalkeer('download', url, dest, '--force', '--db', db_url, env=env)
    assert code == 0 and sha256(dest) == sha256(data), out + err
    assert not dest.is_symlink() and not (tmp_path / 'nothing').exists()     # the link replaced, never followed


def test_its_own_finished_file_is_still_already_downloaded(server, tmp_path, db_url, db):
    url = server.add('own.mkv', payload(50_000))
    dest = tmp_path / 'own.mkv'
    env = subprocess_env(**QUICK)
    assert run_stalkeer('download', url, dest, '--db', db_url, env=env)[0] == 0
    code, out, err = run_stalkeer('download', url, dest, '--db', db_url, env=env)
    assert code == 0 and f'already downloaded: {dest}' in out, out + err


def test_a_pause_before_the_first_byte_says_so(server, tmp_path, sqlite_url):
    """(c) SIGINT while the server has not sent one byte of the body: the pause
    says 'before its first byte', never 'at ?'."""
    url = server.add('slow.mkv', payload(200_000))
    server.fault('slow.mkv', stall_after=0, stall_seconds=30)
    dest = tmp_path / 'slow.mkv'
    proc = start_stalkeer('download', url, dest, '--db', sqlite_url,
                          env=subprocess_env(STALKEER_DOWNLOADS_READ_TIMEOUT='60', **QUICK))
    wait_for(lambda: _downloading(tmp_path), timeout=20, what='the transfer to start')
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and 'paused #1 slow.mkv before its first byte' in err, out + err
    assert ' ?' not in err and 'at ?' not in out + err


def _downloading(tmp_path):
    import sqlite3
    conn = sqlite3.connect(tmp_path / 'stalkeer.db')
    try:
        return conn.execute("SELECT COUNT(*) FROM download_info WHERE status = 'downloading'"
                            ).fetchone()[0] == 1
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def test_retry_count_counts_the_retries_of_this_url_and_request(server, tmp_path, db_url, db):
    """The trial's 'gave up after 6 retries' of max_retry_attempts = 5: a failed
    `download` asked again is a retry until the retries are used up; asked once
    more it is a new request (retry_count 0), and so is another URL for the same
    DEST. retry_count never passes the cap."""
    bad = server.add('gone.mkv', b'x')
    server.fault('gone.mkv', status=404)
    data = payload(60_000, seed=9)
    good = server.add('good.mkv', data)
    dest = tmp_path / 'dl' / 'x.mkv'
    env = subprocess_env(**QUICK)
    counts = []
    for _ in range(7):
        code, out, err = run_stalkeer('download', bad, dest, '--db', db_url, env=env)
        assert code == 1 and 'HTTP 404' in out, out + err
        counts.append(DI.get(DI.destination == str(dest)).retry_count)
        if counts[-1] == 5:
            assert 'gave up after 5 retries' in run_stalkeer('status', '--db', db_url, env=env)[1]
    assert counts == [0, 1, 2, 3, 4, 5, 0]
    for _ in range(5):
        run_stalkeer('download', bad, dest, '--db', db_url, env=env)
    code, out, err = run_stalkeer('download', good, dest, '--db', db_url, env=env)
    assert code == 0 and sha256(dest) == sha256(data), out + err
    assert DI.get(DI.destination == str(dest)).retry_count == 0
