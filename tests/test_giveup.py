"""A download that failed for good says so truthfully, with real processes, the
real local HTTP server and both engines: a give-up is not counted as retries it
never made and no `resume-downloads` tries it again; a person's explicit
`download` of it is a new attempt judged by the config as it is now; a file
already at DEST is bad input (exit 2, nothing stored); a pause never says '?'."""

import datetime
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
    return {}, f'is out of reach ({dest.parent} on the way is a file)'    # the folder rule's words


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
        assert any(f'#{row_id} Perm (2001): ' in line and says in line for line in out.splitlines())
        assert f'stalkeer retry {row_id}' in out
    assert len(server.requests) == requests                  # nothing was tried
    row = DI.get_by_id(row_id)
    assert row.retry_count == 0 and row.status == 'failed'
    code, out, err = run_stalkeer('status', '--db', db_url, env=env)
    assert f'gave up: {stalkeer.PERMANENT_MARK}' in out and 'gave up after' not in out, out
    # A dry run names them as the run does, and exits 0: it tried and changed
    # nothing, so nothing of it failed (README, Exit codes).
    code, out, err = run_stalkeer('resume-downloads', '--dry-run', '--db', db_url, env=env)
    assert code == 0 and 'would resume' not in out and '1 gave up' in out, out
    assert len(server.requests) == requests and DI.get_by_id(row_id).updated_at == row.updated_at


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


# -- one state, every command ---------------------------------------------------------------
# A download's state is honoured the same way by every command: what resume-downloads
# does not resume (it gave up) no radarr/sonarr run tries either, and `retry ID`
# takes what gave up or failed, never a pause (that is resume-downloads' job).

def _arr_world(server, tmp_path, db_url):
    """Radarr with one missing movie, a playlist with its one line (served by the
    loopback server), a config with max_retry_attempts = 2; the movie's download
    row made by a real radarr run that failed (HTTP 503, counted as no retry)."""
    from fakearr import FakeArr
    from conftest import arr_sections
    data = payload(200_000, seed=11)
    url = server.add('movie/u/p/heat.mkv', data)
    playlist = tmp_path / 'playlist.m3u'
    playlist.write_text(f'#EXTM3U\n#EXTINF:-1 group-title="Movies",Heat (1995)\n{url}\n', encoding='utf-8')
    radarr, sonarr = FakeArr('radarr'), FakeArr('sonarr')
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)')
    lib = tmp_path / 'lib'
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'[database]\nurl = {db_url}\n[m3u]\nfile_path = {playlist}\n[downloads]\n'
                   'min_free_space_mb = 0\nretry_attempts = 1\nretry_backoff_seconds = 0.01\n'
                   f'max_retry_attempts = 2\n{arr_sections(radarr, sonarr, lib)}', encoding='utf-8')
    env = subprocess_env()
    assert run_stalkeer('--config', ini, 'process', env=env)[0] == 0
    server.fault('movie/u/p/heat.mkv', status=503)
    code, out, err = run_stalkeer('--config', ini, 'radarr', env=env)
    assert code == 1 and 'failed: #1' in out, out + err
    server.clear_faults('movie/u/p/heat.mkv')
    w = type('ArrWorld', (), dict(ini=ini, env=env, data=data, radarr=radarr, sonarr=sonarr,
                                   dest=lib / 'movies' / 'Heat (1995)' / 'Heat (1995).mkv'))
    return w


def _put_in(state):
    """The row's fields for ``state`` (max_retry_attempts = 2 in _arr_world)."""
    return {
        'failed, retries left': dict(status='failed', retry_count=1, error_message='HTTP 503'),
        'paused': dict(status='paused', retry_count=0, error_message='paused by a signal'),
        'retries used up': dict(status='failed', retry_count=2, error_message='HTTP 503'),
        'paused, retries used up': dict(status='paused', retry_count=2, error_message='paused by a signal'),
        'no retry can fix it': dict(status='failed', retry_count=0,
                                    error_message=f'x is a file — {stalkeer.PERMANENT_MARK}: once it is put '
                                                  'right, run `stalkeer retry 1`'),
    }[state]


GAVE_UP = {'retries used up': 'retries used up 1', 'paused, retries used up': 'retries used up 1',
           'no retry can fix it': 'needs attention 1'}
STATES = ['failed, retries left', 'paused', *GAVE_UP]


def _world_in(state, server, tmp_path, db_url):
    w = _arr_world(server, tmp_path, db_url)
    DI.update(**_put_in(state)).where(DI.id == 1).execute()
    w.requests = len(server.gets('movie/u/p/heat.mkv'))
    return w


@pytest.mark.parametrize('force', [False, True], ids=['plain', 'force'])
@pytest.mark.parametrize('state', STATES)
def test_radarr_tries_again_exactly_what_resume_downloads_would(state, force, server, tmp_path,
                                                                   db_url, db):
    """A radarr run skips a download that gave up, its retries used up or no
    retry able to fix it (counted, `-v` naming `stalkeer retry 1`), --force or
    not: --force replaces files, it does not overrule a give-up. What has not
    given up it tries, as resume-downloads would."""
    w = _world_in(state, server, tmp_path, db_url)
    code, out, err = run_stalkeer('--config', w.ini, 'radarr', '-v', *(['--force'] if force else []),
                                  env=w.env)
    tried = len(server.gets('movie/u/p/heat.mkv')) > w.requests
    if state in GAVE_UP:
        assert code == 0 and not tried and GAVE_UP[state] in out and 'failed' not in out.replace(
            'failed 0', ''), out + err
        # Named with the way out without -v too, in resume-downloads' words.
        assert '`stalkeer retry 1`' in out + err, out + err
        code, out, err = run_stalkeer('--config', w.ini, 'radarr', *(['--force'] if force else []),
                                      env=w.env)
        assert code == 0 and '1 gave up (' in out and 'run `stalkeer retry ID` to try again (IDs 1)' \
            in out, out + err
        assert not w.dest.exists() and DI.get_by_id(1).retry_count == _put_in(state)['retry_count']
    else:
        assert code == 0 and tried and f'completed: {w.dest}' in out, out + err
        assert sha256(w.dest) == sha256(w.data)
    w.radarr.close()
    w.sonarr.close()


@pytest.mark.parametrize('state', STATES)
def test_resume_downloads_agrees_with_radarr(state, server, tmp_path, db_url, db):
    w = _world_in(state, server, tmp_path, db_url)
    code, out, err = run_stalkeer('--config', w.ini, 'resume-downloads', env=w.env)
    tried = len(server.gets('movie/u/p/heat.mkv')) > w.requests
    if state in GAVE_UP:
        assert code == 1 and not tried and '1 gave up' in out and 'stalkeer retry 1' in out, out + err
    else:
        assert code == 0 and tried and sha256(w.dest) == sha256(w.data), out + err
    w.radarr.close()
    w.sonarr.close()


NOT_FAILED = {'paused': '#1 is paused, not failed: `stalkeer resume-downloads`',
              'downloading, its holder gone': '#1 is downloading, not failed: `stalkeer resume-downloads`',
              'downloading, held live': '#1 is being downloaded by other-host-1-abc now'}


@pytest.mark.parametrize('state', STATES + list(NOT_FAILED)[1:])
def test_retry_id_takes_what_failed_and_refuses_a_pause(state, server, tmp_path, db_url, db):
    """`retry ID` puts back what failed or gave up (retry_count 0, the error kept
    as history), after which radarr downloads it; a pause (or a download whose
    holder is gone) has not failed: one line naming resume-downloads, exit 2, the
    row untouched; a download held live is refused likewise."""
    if state.startswith('downloading'):
        w = _arr_world(server, tmp_path, db_url)
        DI.update(status='downloading', locked_by='other-host-1-abc', lease_token='t',
                  locked_at=stalkeer.db_now() if state.endswith('live') else datetime.datetime(2000, 1, 1)
                  ).where(DI.id == 1).execute()
    else:
        w = _world_in(state, server, tmp_path, db_url)
    before = DI.get_by_id(1)
    code, out, err = run_stalkeer('--config', w.ini, 'retry', '1', env=w.env)
    if state in NOT_FAILED:
        assert code == 2 and out == '' and err.count('\n') == 1, out + err
        assert NOT_FAILED[state] in err, err
        if not state.endswith('live'):      # a radarr item: its run continues it too
            assert err.rstrip().endswith('(so does the next `stalkeer radarr` run of its item)'), err
        after = DI.get_by_id(1)
        assert (after.status, after.retry_count, after.updated_at) == (
            before.status, before.retry_count, before.updated_at)
        if state.endswith('live'):
            w.radarr.close()
            w.sonarr.close()
            return
    else:
        assert code == 0 and '1 download(s) back to pending' in out, out + err
        row = DI.get_by_id(1)
        assert row.status == 'pending' and row.retry_count == 0 and row.error_message
    code, out, err = run_stalkeer('--config', w.ini, 'radarr', env=w.env)
    assert code == 0 and sha256(w.dest) == sha256(w.data), out + err
    w.radarr.close()
    w.sonarr.close()


def test_a_radarr_run_uses_up_the_retries_then_skips(server, tmp_path, db_url, db):
    """The example, as cron meets it: every run fails the one line (HTTP 404)
    until max_retry_attempts (2) is used up; from then on the run skips it,
    exit 0, with no request, and says how to try it again."""
    w = _arr_world(server, tmp_path, db_url)
    server.fault('movie/u/p/heat.mkv', status=404)
    counts = []
    for _ in range(2):
        code, out, err = run_stalkeer('--config', w.ini, 'radarr', env=w.env)
        assert code == 1 and 'failed: #1' in out, out + err
        counts.append(DI.get_by_id(1).retry_count)
    assert counts == [1, 2]
    requests = len(server.requests)
    for _ in range(2):
        code, out, err = run_stalkeer('--config', w.ini, 'radarr', '-v', env=w.env)
        assert code == 0 and 'retries used up 1' in out and 'failed 0' in out, out + err
        assert '1 gave up (' in out and '(IDs 1)' in out, out + err
        assert ('Heat (1995): skipped, retries used up (gave up after 2 retries — run '
                '`stalkeer retry 1`)') in err, out + err                  # -v, per item
    assert not [r for r in server.requests[requests:] if 'heat' in r.name]
    assert DI.get_by_id(1).retry_count == 2
    w.radarr.close()
    w.sonarr.close()


@pytest.mark.parametrize('state', [s for s in STATES if s in GAVE_UP])
def test_a_download_that_gave_up_since_the_plan_is_not_tried(state, server, tmp_path, make_downloader):
    """The plan of a run (or resume-downloads' query) is older than the row: a
    download that gave up meanwhile, in another instance's run, is skipped by
    the downloader itself, lease released, no request; a person's `download`
    (anew) and a new URL for it are new attempts."""
    url = server.add('late.mkv', payload(80_000, seed=5))
    dest = tmp_path / 'dl' / 'late.mkv'
    downloader = make_downloader(max_retry_attempts=2)
    info = downloader.state.get_or_create(url, str(dest), 'Late')
    DI.update(**_put_in(state)).where(DI.id == info.id).execute()
    result = downloader.run(DI.get_by_id(info.id))
    assert result.status == 'skipped' and result.gave_up and 'stalkeer retry' in result.message
    assert stalkeer.skip_reason_of(result) == GAVE_UP[state].rsplit(' ', 1)[0]
    assert server.gets('late.mkv') == [] and DI.get_by_id(info.id).locked_by is None
    result = downloader.download(url, str(dest), anew=True)
    assert result.status == 'completed' and DI.get_by_id(info.id).retry_count == 0


# -- an empty .part where temp_dir no longer points ---------------------------------------------

def _empty_part_at(server, tmp_path, db_url, name):
    """A `download` whose server stalls before the first byte: it fails with an
    empty .part in temp_dir A (its inode recorded). Returns (url, dest, data,
    the .part, env with temp_dir B)."""
    data = payload(150_000, seed=len(name))
    url = server.add(name, data)
    server.fault(name, stall_after=0, stall_seconds=5)
    (tmp_path / 'A').mkdir()
    (tmp_path / 'B').mkdir()
    dest = tmp_path / 'dl' / 'moved.mkv'
    env = subprocess_env(**QUICK, STALKEER_DOWNLOADS_TEMP_DIR=str(tmp_path / 'A'),
                         STALKEER_DOWNLOADS_READ_TIMEOUT='1', STALKEER_DOWNLOADS_RETRY_ATTEMPTS='1')
    code, out, err = run_stalkeer('download', url, dest, '--db', db_url, env=env)
    assert code == 1 and 'stalled' in out, out + err
    [part] = (tmp_path / 'A').iterdir()
    assert part.stat().st_size == 0
    server.clear_faults(name)
    return url, dest, data, part, subprocess_env(**QUICK, STALKEER_DOWNLOADS_TEMP_DIR=str(tmp_path / 'B'))


@pytest.mark.parametrize('command', ['download', 'resume-downloads'])
def test_an_empty_part_of_ours_at_the_old_temp_dir_is_removed(command, server, tmp_path, db_url, db):
    """temp_dir changed from A to B after a download left an empty .part in A:
    the next attempt removes it (ours by the inode its row recorded, empty) and
    writes its .part in B; A is left empty, the file byte-exact."""
    url, dest, data, part, env = _empty_part_at(server, tmp_path, db_url, 'e/empty.mkv')
    argv = ('download', url, dest) if command == 'download' else ('resume-downloads',)
    code, out, err = run_stalkeer(*argv, '--db', db_url, env=env)
    assert code == 0 and sha256(dest) == sha256(data), out + err
    assert list((tmp_path / 'A').iterdir()) == [] and list((tmp_path / 'B').iterdir()) == []
    assert DI.get(DI.destination == str(dest)).part_path.startswith(str(tmp_path / 'B'))


def test_a_part_with_bytes_at_the_old_temp_dir_is_continued_there(server, tmp_path, db_url, db):
    """A .part of ours that holds bytes keeps them: continued where it is."""
    url, dest, data, part, env = _empty_part_at(server, tmp_path, db_url, 'e/bytes.mkv')
    with open(part, 'r+b') as f:                 # the same inode: the bytes a transfer wrote
        f.write(data[:40_000])
    DI.update(bytes_downloaded=40_000).where(DI.destination == str(dest)).execute()
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert code == 0 and sha256(dest) == sha256(data), out + err
    assert server.gets('e/bytes.mkv')[-1].start == 40_000          # continued, not restarted
    assert list((tmp_path / 'A').iterdir()) == [] and list((tmp_path / 'B').iterdir()) == []


def _replace_with_a_stranger(part, tmp_path):
    stranger = part.with_name('stranger')
    stranger.write_bytes(b'')               # made while ours exists: surely another inode
    os.replace(stranger, part)              # same name, not provably ours


def _replace_with_a_link(part, tmp_path):
    (tmp_path / 'target').write_bytes(b'')
    part.unlink()
    os.symlink(tmp_path / 'target', part)


@pytest.mark.parametrize('plant', [_replace_with_a_stranger, _replace_with_a_link],
                         ids=['another file', 'a symlink'])
def test_an_empty_part_not_provably_ours_is_left_alone(plant, server, tmp_path, db_url, db):
    url, dest, data, part, env = _empty_part_at(server, tmp_path, db_url, f'e/{plant.__name__}.mkv')
    plant(part, tmp_path)
    before = os.lstat(part)
    code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
    assert code == 0 and sha256(dest) == sha256(data), out + err
    after = os.lstat(part)
    assert (after.st_ino, after.st_size, after.st_mode) == (before.st_ino, before.st_size, before.st_mode)
    if os.path.islink(part):
        assert (tmp_path / 'target').read_bytes() == b''


def test_an_empty_part_another_process_holds_is_not_touched(server, tmp_path, db_url, db):
    """Its flock held (a stalkeer whose lease ran out but still has it open):
    the run skips the download and the .part stays."""
    import fcntl
    url, dest, data, part, env = _empty_part_at(server, tmp_path, db_url, 'e/held.mkv')
    fd = os.open(part, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        code, out, err = run_stalkeer('resume-downloads', '--db', db_url, env=env)
        assert part.exists() and not dest.exists() and 'still open in another process' in out + err, out + err
    finally:
        os.close(fd)


def test_two_lines_that_fail_in_turn_use_up_the_items_retries(server, tmp_path, db_url, db):
    """The retries of a radarr item count across its candidate lines: two lines
    that both fail (HTTP 404) gave 'failed' every run for ever, each new URL
    starting the count over. Now the item's retries are used up (2), every
    failure of the run that used them up is said, and later runs skip it."""
    from fakearr import FakeArr
    from conftest import arr_sections
    urls = [server.add(f'movie/u/p/{n}.mkv', payload(1000, seed=n)) for n in (1, 2)]
    for n in (1, 2):
        server.fault(f'movie/u/p/{n}.mkv', status=404)
    playlist = tmp_path / 'playlist.m3u'
    playlist.write_text('#EXTM3U\n' + ''.join(f'#EXTINF:-1,Heat (1995) {q}\n{u}\n'
                                              for q, u in zip(('FHD', 'SD'), urls)), encoding='utf-8')
    radarr, sonarr = FakeArr('radarr'), FakeArr('sonarr')
    radarr.add_movie('Heat', 1995, path='/movies/Heat (1995)')
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'[database]\nurl = {db_url}\n[m3u]\nfile_path = {playlist}\n[downloads]\n'
                   'min_free_space_mb = 0\nretry_attempts = 1\nretry_backoff_seconds = 0.01\n'
                   f'max_retry_attempts = 2\n{arr_sections(radarr, sonarr, tmp_path / "lib")}',
                   encoding='utf-8')
    env = subprocess_env()
    assert run_stalkeer('--config', ini, 'process', env=env)[0] == 0
    seen = []
    for _ in range(4):
        requests = len(server.requests)
        code, out, err = run_stalkeer('--config', ini, 'radarr', '-v', env=env)
        assert 'Traceback' not in err
        tried = len([r for r in server.requests[requests:] if r.name.startswith('movie/')])
        seen.append((code, tried > 0, DI.get_by_id(1).retry_count, 'failed: #1' in out,
                     'retries used up 1' in out))
    assert seen == [(1, True, 1, True, False), (1, True, 2, True, False),
                    (0, False, 2, False, True), (0, False, 2, False, True)], seen
    radarr.close()
    sonarr.close()
