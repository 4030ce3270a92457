"""The tracked downloader against a real local HTTP server, on both backends."""

import os
import re
import signal
import socket
import stat
import threading
import time

import pytest

import stalkeer
from conftest import payload, sha256, wait_for

DI = stalkeer.DownloadInfo
SIZE = 1024 * 1024 + 12345   # not a multiple of any chunk size


def row(download_id):
    return DI.get_by_id(download_id)


def then_unavailable(server, name):
    """A progress hook: once bytes of ``name`` arrived, every later request gets
    503. A run with retry_attempts=1 then ends failed with a partial .part (the
    cut made progress and is retried; the 503 that follows is not progress)."""
    def hook(d):
        if d['downloaded_bytes'] > 0:
            server.fault(name, status=503)
    return hook


def test_happy_path_completes_and_updates_both_tables(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('movie/user/pass/42.mkv', data)
    line = stalkeer.ProcessedLine.create()
    dest = tmp_path / 'lib' / 'Film (2001).mkv'

    result = make_downloader().download(url, str(dest), title='Film', processed_line_id=line.id)

    assert result.status == 'completed'
    assert sha256(dest) == sha256(data)
    info = row(result.download_id)
    assert info.status == 'completed'
    assert info.file_size == SIZE == info.bytes_downloaded == info.total_bytes
    assert info.download_path == str(dest)
    assert info.completed_at is not None and info.started_at is not None
    assert info.locked_by is None and info.locked_at is None
    assert info.error_message is None
    assert info.url == url   # the database keeps the real URL
    assert stalkeer.ProcessedLine.get_by_id(line.id).state == 'downloaded'
    assert stalkeer.ProcessedLine.get_by_id(line.id).download_info_id == info.id
    assert not os.path.exists(info.part_path)
    get = server.gets('movie/user/pass/42.mkv')[0]
    assert get.accept_encoding == 'identity'
    assert get.user_agent.startswith('stalkeer/')


def test_existing_completed_download_is_not_fetched_twice(server, make_downloader, tmp_path, db):
    url = server.add('a.mkv', payload(1000))
    dest = str(tmp_path / 'a.mkv')
    assert make_downloader().download(url, dest).status == 'completed'
    second = make_downloader().download(url, dest)
    assert second.status == 'skipped' and 'already downloaded' in second.message
    assert len(server.gets('a.mkv')) == 1


def test_dropped_connections_resume_with_range_and_if_range(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('drop.mkv', data)
    server.fault('drop.mkv', drop_after=300_000, drop_times=2)
    dest = tmp_path / 'drop.mkv'

    result = make_downloader().download(url, str(dest))

    assert result.status == 'completed'
    assert sha256(dest) == sha256(data)
    gets = server.gets('drop.mkv')
    assert len(gets) == 3
    assert gets[0].range is None
    assert gets[1].status == 206 and gets[1].start == 300_000 and gets[1].if_range
    assert gets[2].status == 206 and gets[2].start == 600_000
    info = row(result.download_id)
    # Both cuts moved the .part forward: progress, not failure.
    assert info.retry_count == 0 and info.last_retry_at is not None


def test_short_body_is_never_completed_and_resumes_later(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('short.mkv', data)
    server.fault('short.mkv', drop_after=500_000, drop_times=1)
    dest = tmp_path / 'short.mkv'

    first = make_downloader(retry_attempts=1, hooks=[then_unavailable(server, 'short.mkv')]).download(
        url, str(dest))

    assert first.status == 'failed'
    info = row(first.download_id)
    assert info.status == 'failed' and '503' in info.error_message
    assert info.locked_by is None
    assert not dest.exists()
    assert os.path.getsize(info.part_path) == 500_000      # the .part survives
    server.clear_faults('short.mkv')

    second = make_downloader().run(info)
    assert second.status == 'completed'
    assert sha256(dest) == sha256(data)
    assert server.gets('short.mkv')[-1].start == 500_000
    assert row(first.download_id).retry_count == 1         # resuming a failed one is a retry


def test_server_ignoring_range_restarts_cleanly(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('norange.mkv', data)
    server.fault('norange.mkv', drop_after=400_000, drop_times=1, ignore_range=True)
    dest = tmp_path / 'norange.mkv'

    result = make_downloader().download(url, str(dest))

    assert result.status == 'completed'
    assert sha256(dest) == sha256(data)   # not 400 kB of the start spliced in front
    gets = server.gets('norange.mkv')
    assert gets[1].range and gets[1].status == 200 and gets[1].full_body


def test_changed_content_new_etag_is_never_spliced(server, make_downloader, tmp_path, db):
    old, new = payload(SIZE, seed=1), payload(SIZE + 999, seed=2)
    url = server.add('changed.mkv', old)
    server.fault('changed.mkv', drop_after=400_000, drop_times=1)
    dest = tmp_path / 'changed.mkv'
    downloader = make_downloader(retry_attempts=1, hooks=[then_unavailable(server, 'changed.mkv')])
    first = downloader.download(url, str(dest))
    assert first.status == 'failed'

    server.clear_faults('changed.mkv')
    server.change('changed.mkv', new)
    result = make_downloader().run(row(first.download_id))

    assert result.status == 'completed'
    assert sha256(dest) == sha256(new)
    last = server.gets('changed.mkv')[-1]
    assert last.if_range and last.status == 200   # If-Range did not match: whole new file


def test_last_modified_is_the_validator_without_etag(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('lm.mkv', data, etag=False)
    server.fault('lm.mkv', drop_after=200_000, drop_times=1)
    result = make_downloader().download(url, str(tmp_path / 'lm.mkv'))
    assert result.status == 'completed'
    resumed = server.gets('lm.mkv')[1]
    assert resumed.status == 206 and resumed.if_range and not resumed.if_range.startswith('"')


def test_weak_etag_is_not_used_for_if_range(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('weak.mkv', data, weak_etag=True, last_modified=False)
    server.fault('weak.mkv', drop_after=200_000, drop_times=1)
    result = make_downloader().download(url, str(tmp_path / 'weak.mkv'))
    assert result.status == 'completed'
    assert sha256(tmp_path / 'weak.mkv') == sha256(data)
    resumed = server.gets('weak.mkv')[1]
    assert resumed.if_range is None       # overlap check instead
    assert resumed.start == 200_000 - stalkeer.RESUME_OVERLAP


def test_no_validator_resume_checks_an_overlap(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('nov.mkv', data)
    server.fault('nov.mkv', drop_after=300_000, drop_times=1, no_validators=True)
    result = make_downloader().download(url, str(tmp_path / 'nov.mkv'))
    assert result.status == 'completed'
    assert sha256(tmp_path / 'nov.mkv') == sha256(data)
    resumed = server.gets('nov.mkv')[1]
    assert resumed.status == 206 and resumed.start == 300_000 - stalkeer.RESUME_OVERLAP


def test_no_validator_changed_content_restarts(server, make_downloader, tmp_path, db):
    old, new = payload(SIZE, seed=3), payload(SIZE, seed=4)
    url = server.add('nov2.mkv', old)
    server.fault('nov2.mkv', drop_after=300_000, drop_times=1, no_validators=True)
    first = make_downloader(retry_attempts=1, hooks=[then_unavailable(server, 'nov2.mkv')]).download(
        url, str(tmp_path / 'nov2.mkv'))
    assert first.status == 'failed'
    server.clear_faults('nov2.mkv')
    server.fault('nov2.mkv', no_validators=True)
    server.change('nov2.mkv', new)
    result = make_downloader().run(row(first.download_id))
    assert result.status == 'completed'
    assert sha256(tmp_path / 'nov2.mkv') == sha256(new)


def test_404_fails_fast_with_the_status(server, make_downloader, tmp_path, db):
    url = server.url('movie/u/p/missing.mkv')
    result = make_downloader().download(url, str(tmp_path / 'x.mkv'))
    assert result.status == 'failed'
    assert len(server.gets('movie/u/p/missing.mkv')) == 1   # no retries for a 404
    info = row(result.download_id)
    assert info.status == 'failed' and '404' in info.error_message
    assert info.retry_count == 0 and info.locked_by is None


def test_403_fails_fast(server, make_downloader, tmp_path, db):
    url = server.add('forbidden.mkv', b'x' * 100)
    server.fault('forbidden.mkv', status=403)
    result = make_downloader().download(url, str(tmp_path / 'f.mkv'))
    assert result.status == 'failed' and '403' in result.message
    assert len(server.gets('forbidden.mkv')) == 1


@pytest.mark.parametrize('status', [503, 551, 429, 408])
def test_retryable_statuses_are_retried(status, server, make_downloader, tmp_path, db):
    data = payload(50_000)
    url = server.add('busy.mkv', data)
    server.fault('busy.mkv', status=status, status_times=2)
    result = make_downloader().download(url, str(tmp_path / 'busy.mkv'))
    assert result.status == 'completed'
    assert len(server.gets('busy.mkv')) == 3
    assert row(result.download_id).retry_count == 2


def test_retry_after_is_honoured(server, make_downloader, tmp_path, db):
    url = server.add('ra.mkv', payload(10_000))
    server.fault('ra.mkv', status=503, status_times=1, retry_after=1)
    downloader = make_downloader(backoff_max=5)
    slept = []
    downloader.sleep = slept.append
    assert downloader.download(url, str(tmp_path / 'ra.mkv')).status == 'completed'
    assert slept == [1.0]


def test_gives_up_after_retry_attempts(server, make_downloader, tmp_path, db):
    url = server.add('down.mkv', payload(10_000))
    server.fault('down.mkv', status=503)
    result = make_downloader(retry_attempts=3).download(url, str(tmp_path / 'down.mkv'))
    assert result.status == 'failed' and '503' in result.message
    assert len(server.gets('down.mkv')) == 3
    info = row(result.download_id)
    assert info.status == 'failed' and info.retry_count == 2 and info.locked_by is None


def test_max_retry_attempts_caps_retries_across_runs(server, make_downloader, tmp_path, db):
    url = server.add('cap.mkv', payload(10_000))
    server.fault('cap.mkv', status=503)
    result = make_downloader(retry_attempts=10, max_retry_attempts=2).download(
        url, str(tmp_path / 'cap.mkv'))
    assert result.status == 'failed'
    assert row(result.download_id).retry_count == 2
    state = stalkeer.StateManager(30, max_retry_attempts=2)
    assert state.resumable() == []     # exhausted: not resumed any more


def test_stall_is_detected_and_retried(server, make_downloader, tmp_path, db):
    data = payload(300_000)
    url = server.add('stall.mkv', data)
    server.fault('stall.mkv', stall_after=100_000, stall_seconds=3)
    downloader = make_downloader(read_timeout=0.5)
    started = time.monotonic()
    first = downloader.download(url, str(tmp_path / 'stall.mkv'))
    server.clear_faults('stall.mkv')
    if first.status != 'completed':
        first = make_downloader().run(row(first.download_id))
    assert first.status == 'completed'
    assert sha256(tmp_path / 'stall.mkv') == sha256(data)
    assert time.monotonic() - started < 10


def test_html_instead_of_video_fails_clearly(server, make_downloader, tmp_path, db):
    url = server.add('login.mkv', b'whatever')
    server.fault('login.mkv', html=True)
    result = make_downloader().download(url, str(tmp_path / 'login.mkv'))
    assert result.status == 'failed' and 'HTML' in result.message
    assert not (tmp_path / 'login.mkv').exists()


HLS_MEDIA_PLAYLIST = (b'#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n'
                      b'seg0.ts\n#EXT-X-ENDLIST\n')


@pytest.mark.parametrize('content_type, body', [
    ('application/vnd.apple.mpegurl', HLS_MEDIA_PLAYLIST),          # as the panels answer .m3u8
    ('audio/x-mpegurl', HLS_MEDIA_PLAYLIST),
    ('video/x-matroska', HLS_MEDIA_PLAYLIST),                       # a lying Content-Type
    ('application/octet-stream', b'\xef\xbb\xbf\r\n#extm3u\n#EXTINF:-1,x\nhttp://h/1.ts\n'),
])
def test_an_hls_playlist_is_a_failure_never_a_finished_file(server, make_downloader, tmp_path, db,
                                                              content_type, body):
    """trial-1213 F14: an 87-byte '.m3u8' answer was saved as the film and completed."""
    url = server.add('7.m3u8', body, content_type=content_type)
    result = make_downloader().download(url, str(tmp_path / 'Heat (1995).mkv'))
    assert result.status == 'failed' and 'HLS playlist' in result.message, result
    assert not (tmp_path / 'Heat (1995).mkv').exists()
    assert row(result.download_id).status == 'failed'


def test_free_space_refusal(server, make_downloader, tmp_path, db):
    url = server.add('big.mkv', payload(10_000))
    result = make_downloader(min_free_space=10 ** 18).download(url, str(tmp_path / 'big.mkv'))
    assert result.status == 'failed' and 'not enough free space' in result.message
    assert not (tmp_path / 'big.mkv').exists()
    assert row(result.download_id).status == 'failed'


def test_never_overwrites_an_existing_library_file(server, make_downloader, tmp_path, db):
    url = server.add('keep.mkv', payload(10_000))
    dest = tmp_path / 'keep.mkv'
    dest.write_bytes(b'precious')
    result = make_downloader().download(url, str(dest))
    assert result.status == 'failed' and 'refusing to overwrite' in result.message
    assert dest.read_bytes() == b'precious'
    assert server.gets('keep.mkv') == []      # checked before fetching anything
    forced = make_downloader().download(url, str(dest), force=True)
    assert forced.status == 'completed' and dest.read_bytes() == payload(10_000)


def test_file_appearing_during_download_is_not_overwritten(server, make_downloader, tmp_path, db):
    url = server.add('race.mkv', payload(200_000))
    dest = tmp_path / 'race.mkv'
    downloader = make_downloader()

    def appear(d):
        if d['downloaded_bytes'] > 0 and not dest.exists():
            dest.write_bytes(b'someone else')
    downloader.hooks.append(appear)
    server.fault('race.mkv', throttle_bps=1_000_000)
    result = downloader.download(url, str(dest))
    assert result.status == 'failed' and 'refusing to overwrite' in result.message
    assert dest.read_bytes() == b'someone else'
    assert os.path.exists(row(result.download_id).part_path)


@pytest.mark.parametrize('name, content_type, dest, expected', [
    ('e1.mp4', 'application/octet-stream', 'Film (2001)', 'Film (2001).mp4'),
    ('e2', 'video/mp4', 'Film (2002)', 'Film (2002).mp4'),
    ('e3', 'application/octet-stream', 'Film (2003)', 'Film (2003).mkv'),
    ('e4.avi', 'video/x-msvideo', 'Film (2004).mkv', 'Film (2004).mkv'),
    ('e5.bin', 'application/octet-stream', 'data.bin', 'data.bin'),
    ('e6.mp4', 'video/mp4', 'Dr. Strangelove (1964)', 'Dr. Strangelove (1964).mp4'),
])
def test_extension_detection(name, content_type, dest, expected, server, make_downloader,
                             tmp_path, db):
    url = server.add(name, b'v' * 1000, content_type=content_type)
    result = make_downloader().download(url, str(tmp_path / dest))
    assert result.status == 'completed'
    assert result.path == str(tmp_path / expected) and os.path.exists(result.path)


def test_xui_fragment_extension():
    assert stalkeer.detect_extension('http://h/movie1#.mkv') == '.mkv'
    assert stalkeer.detect_extension('http://h/movie/u/p/1.mp4?x=1') == '.mp4'
    assert stalkeer.detect_extension('http://h/play', 'video/webm') == '.webm'


def test_416_with_a_complete_part_finishes(server, make_downloader, tmp_path, db):
    data = payload(100_000)
    url = server.add('done.mkv', data)
    downloader = make_downloader()
    info = downloader.state.get_or_create(url, str(tmp_path / 'done.mkv'))
    part = downloader._part_path(info)
    with open(part, 'wb') as fh:
        fh.write(data)
    # A previous run saved the validator and the size before dying.
    etag = server.gets  # noqa: keep server referenced
    DI.update(resume_token=None, total_bytes=len(data), bytes_downloaded=len(data),
              part_path=part).where(DI.id == info.id).execute()
    result = downloader.run(row(info.id))
    assert result.status == 'completed'
    assert sha256(tmp_path / 'done.mkv') == sha256(data)


def test_416_with_a_complete_part_and_validator(server, make_downloader, tmp_path, db):
    data = payload(100_000)
    url = server.add('done2.mkv', data)
    import requests
    token = requests.head(url).headers['ETag']
    downloader = make_downloader()
    info = downloader.state.get_or_create(url, str(tmp_path / 'done2.mkv'))
    part = downloader._part_path(info)
    with open(part, 'wb') as fh:
        fh.write(data)
    DI.update(resume_token=token, part_path=part, part_inode=str(os.stat(part).st_ino)) \
        .where(DI.id == info.id).execute()          # the .part this download created
    result = downloader.run(row(info.id))
    assert result.status == 'completed'
    assert server.gets('done2.mkv')[-1].status == 416
    assert sha256(tmp_path / 'done2.mkv') == sha256(data)


def test_progress_hooks_report_sizes(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('hooks.mkv', data)
    seen = []
    result = make_downloader(hooks=[seen.append]).download(url, str(tmp_path / 'h.mkv'), title='H')
    assert result.status == 'completed'
    assert seen[0]['downloaded_bytes'] == 0 and seen[0]['total_bytes'] == SIZE
    assert seen[-1]['status'] == 'finished' and seen[-1]['downloaded_bytes'] == SIZE
    assert {'speed', 'eta', 'elapsed', 'resumed_from', 'title', 'id'} <= set(seen[-1])


def test_progress_is_persisted_during_the_transfer(server, make_downloader, tmp_path, db):
    data = payload(600_000)
    url = server.add('slow.mkv', data)
    server.fault('slow.mkv', throttle_bps=600_000)   # about a second
    downloader = make_downloader(progress_interval_bytes=100_000, progress_interval_seconds=10)
    seen = []
    thread = threading.Thread(target=lambda: seen.append(
        downloader.download(url, str(tmp_path / 'slow.mkv'))))
    thread.start()
    # Another connection sees the saved progress while the download runs.
    mid = wait_for(lambda: DI.select().where((DI.bytes_downloaded > 0)
                                             & (DI.bytes_downloaded < len(data))).first(),
                   what='persisted progress')
    assert mid.status == 'downloading' and mid.locked_by == downloader.state.owner
    assert mid.total_bytes == len(data)
    thread.join(10)
    assert seen[0].status == 'completed'


def steal_mid_transfer(server, make_downloader, tmp_path, also_wait_for=None):
    """Start a throttled download, let another instance take its row over once
    progress was saved, and check nothing more was written."""
    data = payload(800_000)
    url = server.add('stolen.mkv', data)
    server.fault('stolen.mkv', throttle_bps=400_000)
    downloader = make_downloader(progress_interval_bytes=50_000)
    results = []
    thread = threading.Thread(target=lambda: results.append(
        downloader.download(url, str(tmp_path / 'stolen.mkv'))))
    thread.start()
    info = wait_for(lambda: DI.select().where(DI.bytes_downloaded > 0).first(), what='progress')
    if also_wait_for is not None:
        wait_for(also_wait_for, what='the transfer under test')
    # Another instance takes the row over (as if our lease had gone stale).
    DI.update(locked_by='thief', status='paused', error_message='mine now').where(
        DI.id == info.id).execute()
    thread.join(10)
    assert results[0].status == 'lost'
    after = row(info.id)
    assert after.locked_by == 'thief' and after.status == 'paused'
    assert after.error_message == 'mine now'
    size = os.path.getsize(after.part_path)
    time.sleep(0.3)
    assert os.path.getsize(after.part_path) == size < len(data)
    assert not (tmp_path / 'stolen.mkv').exists()


def test_lease_lost_stops_the_transfer_and_writes_nothing(server, make_downloader, tmp_path, db):
    steal_mid_transfer(server, make_downloader, tmp_path)


def test_long_download_keeps_its_lease(server, make_downloader, tmp_path, db):
    """A download lasting several lock timeouts is never taken over."""
    data = payload(500_000)
    url = server.add('long.mkv', data)
    server.fault('long.mkv', throttle_bps=100_000)     # ~5 s against a 1.5 s lease
    downloader = make_downloader(lock_timeout=1.5, progress_interval_seconds=0.3,
                                 progress_interval_bytes=10 ** 9)
    results = []
    thread = threading.Thread(target=lambda: results.append(
        downloader.download(url, str(tmp_path / 'long.mkv'))))
    thread.start()
    info = wait_for(lambda: DI.select().where(DI.status == 'downloading').first(), what='start')
    rival = stalkeer.StateManager(lock_timeout=1.5, owner='rival')
    attempts = 0
    while thread.is_alive():
        assert not rival.acquire(info.id), 'a live lease was taken over'
        assert rival.clean_stale_locks() == 0
        attempts += 1
        time.sleep(0.2)
    assert results[0].status == 'completed' and attempts > 15
    assert sha256(tmp_path / 'long.mkv') == sha256(data)
    assert server.full_gets('long.mkv') == 1


@pytest.fixture
def stop():
    """The run's stop request, cleared after the test (main() clears it per run)."""
    yield stalkeer.RUN_STOP
    stalkeer.RUN_STOP.clear()


def _in_thread(action):
    """Run ``action`` in a worker thread (which hears no signal); its result or
    the Interrupted it raised lands in the returned list."""
    outcome = []

    def run():
        try:
            outcome.append(action())
        except stalkeer.Interrupted as exc:
            outcome.append(exc)
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _stopped_within(stop, thread, outcome, seconds=0.6):
    sent = time.monotonic()
    stop.request(signal.SIGINT)
    thread.join(10)
    took = time.monotonic() - sent
    assert not thread.is_alive() and took < seconds, took
    assert isinstance(outcome[0], stalkeer.Interrupted) and outcome[0].exit_code == 130, outcome


def _listener_dropping_syns():
    """A listening socket on 127.0.0.1 whose accept queue is full (listen(0),
    one connection never accepted), so that the kernel drops every further SYN:
    a connect() to it waits for its timeout, as to a firewalled panel. The
    listener and the socket filling the queue, to close after."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(0)
    held = []
    while True:
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(listener.getsockname())
        except OSError:
            probe.close()
            return listener, held
        held.append(probe)
        assert len(held) < 8, 'the accept queue does not fill up'


@pytest.mark.parametrize('wait', ['connect', 'headers', 'body', 'backoff', 'proxy'])
def test_every_wait_of_a_worker_download_ends_at_the_runs_stop(wait, server, make_downloader,
                                                               tmp_path, db, stop, monkeypatch):
    """A worker thread hears no signal: a connect the host never completes
    (connect_timeout 30 s), a server (or an HTTP_PROXY) silent before its
    headers or in the body (read_timeout 30 s) and a 30 s backoff each kept a
    stopped parallel run waiting. Each ends at the stop now; the download is
    paused with what the .part holds, for the next run."""
    data = payload(300_000)
    silent, held = None, []
    if wait == 'connect':
        silent, held = _listener_dropping_syns()
        url = f'http://127.0.0.1:{silent.getsockname()[1]}/movie/u/p/7.mkv'
    elif wait in ('headers', 'proxy'):       # accepts (the kernel's backlog) and never answers
        silent = socket.socket()
        silent.bind(('127.0.0.1', 0))
        silent.listen(8)
        url = f'http://127.0.0.1:{silent.getsockname()[1]}/movie/u/p/7.mkv'
        if wait == 'proxy':                  # requests then asks the proxy, through its ProxyManager
            for name in ('NO_PROXY', 'no_proxy'):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv('HTTP_PROXY', url.split('/movie')[0])
            url = 'http://panel.invalid/movie/u/p/7.mkv'
    else:
        url = server.add('w.mkv', data)
        server.fault('w.mkv', **({'stall_after': 100_000, 'stall_seconds': 30} if wait == 'body'
                                 else {'status': 503, 'retry_after': 30}))
    downloader = make_downloader(connect_timeout=30, read_timeout=30, backoff_base=30, backoff_max=30)
    dest = tmp_path / 'W.mkv'
    thread, outcome = _in_thread(lambda: downloader.download(url, str(dest), title='W'))
    try:
        if wait in ('connect', 'headers', 'proxy'):
            wait_for(lambda: DI.select().where(DI.status == 'downloading').exists(), what='start')
            time.sleep(0.3)
        elif wait == 'body':
            part = f'{dest}.stalkeer-1.part'
            wait_for(lambda: os.path.exists(part) and os.path.getsize(part) == 100_000, what='the stall')
        else:
            wait_for(lambda: DI.select().where(DI.status == 'retrying').exists(), what='the backoff')
        _stopped_within(stop, thread, outcome)
    finally:
        for sock in [silent, *held]:
            if sock is not None:
                sock.close()
    info = DI.get(DI.destination == str(dest))
    assert (info.status, info.locked_by, info.error_message) == ('paused', None, 'paused by a signal')
    if wait == 'body':
        assert info.bytes_downloaded == os.path.getsize(info.part_path) == 100_000
        assert open(info.part_path, 'rb').read() == data[:100_000]
    else:
        assert not dest.exists() and (info.bytes_downloaded or 0) == 0


def test_a_wait_for_a_host_slot_ends_at_the_runs_stop(stop):
    """A worker waiting for its host's only slot ends its wait at the stop,
    instead of when the slot frees (and then starting a download)."""
    limiter = stalkeer.HostLimiter(1)
    limiter('http://panel/a.mkv').acquire()
    entered = []

    def take():
        with limiter('http://panel/b.mkv'):
            entered.append(True)
    thread, outcome = _in_thread(take)
    time.sleep(0.3)
    _stopped_within(stop, thread, outcome)
    assert entered == []


def test_a_download_asked_for_after_the_stop_starts_nothing(server, make_downloader, tmp_path, db, stop):
    url = server.add('late.mkv', payload(1000))
    stop.request(signal.SIGTERM)
    with pytest.raises(stalkeer.Interrupted) as stopped:
        make_downloader().download(url, str(tmp_path / 'late.mkv'))
    assert stopped.value.exit_code == 143
    assert server.gets('late.mkv') == [] and DI.select().count() == 0


def test_dest_folder_uses_url_file_name(server, cli, tmp_path, sqlite_url):
    url = server.add('series/u/p/77.mkv', b'z' * 5000)
    (tmp_path / 'folder').mkdir()
    code, out, err = cli('download', url, tmp_path / 'folder', '--db', sqlite_url)
    assert code == 0, err
    assert (tmp_path / 'folder' / '77.mkv').read_bytes() == b'z' * 5000


def _special(kind, path):
    import socket
    if kind == 'fifo':
        os.mkfifo(path)
    elif kind == 'socket':
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        return sock
    return None


@pytest.mark.parametrize('kind', ['device', 'fifo', 'socket', 'fifo-in-folder'])
@pytest.mark.parametrize('force', [False, True])
def test_a_special_file_as_dest_is_refused(kind, force, server, cli, tmp_path, sqlite_url):
    """trial-15 F7: `download URL /dev/null` wrote /dev/null.mkv (inside /dev);
    a device, named pipe or socket at DEST (or at the name in a DEST folder) is
    one line and exit 2, with --force too, before any request."""
    url = server.add('f1k.bin', b'x' * 1000)
    keep = None
    if kind == 'device':
        dest = '/dev/null'
    elif kind == 'fifo-in-folder':
        (tmp_path / 'folder').mkdir()
        _special('fifo', tmp_path / 'folder' / 'f1k.bin')
        dest = tmp_path / 'folder'
    else:
        dest = tmp_path / 'special'
        keep = _special(kind, dest)
    try:
        code, out, err = cli('--db', sqlite_url, 'download', url, dest, *(['--force'] if force else []))
    finally:
        if keep is not None:
            keep.close()
    assert code == 2, out + err
    what = {'device': 'a device', 'socket': 'a socket'}.get(kind, 'a named pipe')
    assert f'is {what}: give a new file name' in err and len(err.strip().splitlines()) == 1
    for ext in ('.bin', '.mkv'):
        assert not os.path.lexists(f'/dev/null{ext}') and not os.path.lexists(f'{tmp_path}/special{ext}')
    assert server.gets('f1k.bin') == []


@pytest.mark.parametrize('force', [False, True])
def test_a_special_file_at_the_name_with_the_added_extension_is_refused(force, server, cli, tmp_path,
                                                                         sqlite_url):
    """trial 15b F3: DEST without an extension gets the URL's, and a named pipe
    at that name (lib/film -> lib/film.mkv) was refused only as an existing
    file (exit 1, "use --force"), and with --force replaced."""
    url = server.add('film.mkv', b'x' * 1000)
    _special('fifo', tmp_path / 'film.mkv')
    code, out, err = cli('--db', sqlite_url, 'download', url, tmp_path / 'film', *(['--force'] if force else []))
    assert code == 2, out + err
    assert 'film.mkv is a named pipe: give a new file name' in err and len(err.strip().splitlines()) == 1
    assert stat.S_ISFIFO(os.lstat(tmp_path / 'film.mkv').st_mode)
    assert server.gets('film.mkv') == []


@pytest.mark.parametrize('force', [False, True])
def test_a_special_file_at_the_name_the_content_type_gives_is_never_written(force, server, make_downloader,
                                                                           tmp_path):
    """The extension may come from the Content-Type, known only after the
    request: the downloader itself refuses the name then, --force or not, and
    the pipe stays a pipe (nothing opened it for writing: that would block)."""
    url = server.add('stream/77', b'v' * 3000, content_type='video/mp4')
    _special('fifo', tmp_path / 'film.mp4')
    result = make_downloader().download(url, str(tmp_path / 'film'), force=force)
    assert result.status == 'failed' and 'film.mp4: it is a named pipe' in result.message, result
    assert stat.S_ISFIFO(os.lstat(tmp_path / 'film.mp4').st_mode)
    # The .part is kept for `stalkeer retry ID` once the name is put right; no other name was finished.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith('film')) in (
        ['film.mp4'], ['film.mp4', 'film.stalkeer-1.part'])


def test_tqdm_bar_starts_at_the_resumed_offset():
    import io
    stream = io.StringIO()
    hook = stalkeer.TerminalProgress(stream)
    base = dict(id=1, title='Film', total_bytes=1000, resumed_from=400, speed=0, eta=None,
                elapsed=0)
    hook(dict(base, status='downloading', downloaded_bytes=400))
    assert hook._bars[1].n == 400 and hook._bars[1].total == 1000
    hook(dict(base, status='downloading', downloaded_bytes=700))
    assert hook._bars[1].n == 700
    hook(dict(base, status='finished', downloaded_bytes=1000))
    assert hook._bars == {} and 'Film' in stream.getvalue()


def test_log_progress_hook_lines(caplog):
    hook = stalkeer.LogProgressHook(interval=0)
    base = dict(id=2, title='Film', total_bytes=1000, resumed_from=500, speed=1024.0,
                eta=0.5, elapsed=1)
    with caplog.at_level('INFO', logger='stalkeer'):
        hook(dict(base, status='downloading', downloaded_bytes=500))
        hook(dict(base, status='downloading', downloaded_bytes=750))
    assert 'Film: resuming at 500 B' in caplog.text
    assert 'Film: 75.0% of 1000 B at 1.0 KiB/s, ETA 0s' in caplog.text


def test_temp_dir_holds_the_part_file(server, make_downloader, tmp_path, db):
    data = payload(300_000)
    url = server.add('t.mkv', data)
    server.fault('t.mkv', drop_after=100_000, drop_times=1)
    temp = tmp_path / 'parts'
    result = make_downloader(temp_dir=str(temp), retry_attempts=1,
                             hooks=[then_unavailable(server, 't.mkv')]).download(
        url, str(tmp_path / 'lib' / 't.mkv'))
    assert result.status == 'failed'
    part = row(result.download_id).part_path
    assert os.path.dirname(part) == str(temp) and os.path.getsize(part) == 100_000
    server.clear_faults('t.mkv')
    assert make_downloader().run(row(result.download_id)).status == 'completed'
    assert sha256(tmp_path / 'lib' / 't.mkv') == sha256(data) and os.listdir(temp) == []


def test_move_across_filesystems_copies_and_verifies(server, make_downloader, tmp_path, db):
    other = '/dev/shm'
    if not os.path.isdir(other) or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip('needs a second filesystem (/dev/shm) to test a cross-device move')
    temp = os.path.join(other, f'stalkeer-test-{os.getpid()}')
    data = payload(400_000)
    url = server.add('x.mkv', data)
    try:
        result = make_downloader(temp_dir=temp).download(url, str(tmp_path / 'x.mkv'))
        assert result.status == 'completed'
        assert sha256(tmp_path / 'x.mkv') == sha256(data)
        assert os.listdir(temp) == []                    # the .part is gone
        assert not any(n.endswith('.stalkeer-copy') for n in os.listdir(tmp_path))
    finally:
        import shutil
        shutil.rmtree(temp, ignore_errors=True)


def test_full_disk_mid_transfer_fails_cleanly_and_keeps_the_row(server, make_downloader,
                                                                tiny_disk, db):
    # No Content-Length, so the up-front space check cannot know: the write fails.
    url = server.add('huge.mkv', payload(3_000_000))
    server.fault('huge.mkv', no_content_length=True)
    result = make_downloader().download(url, str(tiny_disk / 'huge.mkv'))
    assert result.status == 'failed' and 'disk full' in result.message
    info = row(result.download_id)
    assert info.status == 'failed' and info.locked_by is None
    assert not (tiny_disk / 'huge.mkv').exists()


def test_known_size_larger_than_the_disk_is_refused_up_front(server, make_downloader,
                                                            tiny_disk, db):
    url = server.add('big.mkv', payload(3_000_000))
    result = make_downloader().download(url, str(tiny_disk / 'big.mkv'))
    assert result.status == 'failed' and 'not enough free space' in result.message
    assert list(tiny_disk.iterdir()) == []       # refused before a byte was written


def test_a_download_finished_by_another_instance_meanwhile_is_skipped(server, make_downloader,
                                                                      tmp_path, db):
    """Read the row, someone else completes it, then take the lock: skip, not 'completed' again."""
    url = server.add('twice.mkv', payload(50_000))
    dest = str(tmp_path / 'twice.mkv')
    late = make_downloader(owner='late')
    stale_view = late.state.get_or_create(url, dest)           # still pending in our hands
    assert make_downloader(owner='early').download(url, dest).status == 'completed'
    result = late.run(stale_view)
    assert result.status == 'skipped' and 'already downloaded' in result.message
    assert len(server.gets('twice.mkv')) == 1


# -- planted links and files that are not ours ------------------------------------------------

def _planted(make_downloader, url, dest):
    """The row for ``dest`` (so its predictable .part name is known) and that name."""
    downloader = make_downloader()
    info = downloader.state.get_or_create(url, str(dest))
    return downloader, info, downloader._part_path(info)


def test_a_symlink_planted_at_the_part_name_is_never_followed(server, make_downloader, tmp_path, db):
    """The link is left as it was; the download goes to a .part of its own."""
    data = payload(200_000)
    url = server.add('planted.mkv', data)
    victim = tmp_path / 'victim.txt'
    victim.write_bytes(b'precious, not a video')
    (tmp_path / 'lib').mkdir()
    downloader, info, part = _planted(make_downloader, url, tmp_path / 'lib' / 'Planted.mkv')
    os.symlink(victim, part)

    result = downloader.run(row(info.id))

    assert result.status == 'completed'
    assert victim.read_bytes() == b'precious, not a video'
    assert os.path.islink(part) and os.readlink(part) == str(victim)    # left as it was
    final = tmp_path / 'lib' / 'Planted.mkv'
    assert sha256(final) == sha256(data) and os.stat(final).st_nlink == 1
    assert row(info.id).locked_by is None


@pytest.mark.parametrize('kind', ['fifo', 'directory', 'dangling symlink'])
def test_a_part_that_is_not_a_regular_file_is_refused(kind, server, make_downloader, tmp_path, db):
    url = server.add('odd.mkv', payload(50_000))
    (tmp_path / 'lib').mkdir()
    downloader, info, part = _planted(make_downloader, url, tmp_path / 'lib' / 'Odd.mkv')
    if kind == 'fifo':
        os.mkfifo(part)
    elif kind == 'directory':
        os.mkdir(part)
    else:
        os.symlink(tmp_path / 'nowhere', part)
    started = time.monotonic()
    result = downloader.run(row(info.id))
    assert result.status == 'completed'                          # in a .part of its own
    assert time.monotonic() - started < 5                        # a pipe never hangs it
    assert not (tmp_path / 'nowhere').exists()
    assert os.path.lexists(part) and not os.path.isfile(part)    # left as it was
    assert sha256(tmp_path / 'lib' / 'Odd.mkv') == sha256(payload(50_000))


def test_a_symlink_at_the_destination_is_never_followed(server, make_downloader, tmp_path, db):
    data = payload(100_000)
    url = server.add('dest.mkv', data)
    victim = tmp_path / 'victim.mkv'
    victim.write_bytes(b'not yours')
    (tmp_path / 'lib').mkdir()
    dest = tmp_path / 'lib' / 'Dest.mkv'
    os.symlink(victim, dest)
    result = make_downloader().download(url, str(dest))
    assert result.status == 'failed' and 'refusing to overwrite' in result.message
    assert victim.read_bytes() == b'not yours' and os.path.islink(dest)
    forced = make_downloader().download(url, str(dest), force=True)
    assert forced.status == 'completed'
    assert not os.path.islink(dest) and sha256(dest) == sha256(data)   # the link replaced
    assert victim.read_bytes() == b'not yours'                         # its target untouched


def test_a_dangling_symlink_at_the_destination_is_not_written_through(server, make_downloader,
                                                                      tmp_path, db):
    url = server.add('dangling.mkv', payload(100_000))
    (tmp_path / 'lib').mkdir()
    dest = tmp_path / 'lib' / 'Dangling.mkv'
    target = tmp_path / 'outside' / 'created.mkv'
    (tmp_path / 'outside').mkdir()
    os.symlink(target, dest)
    result = make_downloader().download(url, str(dest))
    assert result.status == 'failed' and 'refusing to overwrite' in result.message
    assert not target.exists()


def test_a_folder_stalkeer_creates_is_never_followed(server, make_downloader, tmp_path, db,
                                                     monkeypatch):
    """Someone swaps the folder stalkeer just made for a symlink (between its
    mkdir and its use): the download fails, nothing lands behind the link."""
    url = server.add('swap.mkv', payload(100_000))
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    real_mkdir = os.mkdir

    def mkdir_then_swap(path, mode=0o777, *, dir_fd=None):
        real_mkdir(path, mode, dir_fd=dir_fd) if dir_fd is not None else real_mkdir(path, mode)
        if os.fspath(path).endswith('Season 01'):
            os.rmdir(path, dir_fd=dir_fd) if dir_fd is not None else os.rmdir(path)
            os.symlink(elsewhere, path, dir_fd=dir_fd) if dir_fd is not None else \
                os.symlink(elsewhere, path)
    monkeypatch.setattr(stalkeer.os, 'mkdir', mkdir_then_swap)
    dest = tmp_path / 'lib' / 'Show' / 'Season 01' / 'Show - S01E01.mkv'
    result = make_downloader().download(url, str(dest))
    assert result.status == 'failed' and 'symbolic link' in result.message
    assert os.listdir(elsewhere) == []


# -- progress is not failure -------------------------------------------------------------------

def test_a_panel_that_cuts_every_256_kib_completes_in_one_run_with_defaults(server, tmp_path,
                                                                           sqlite_url):
    """2.5 MiB cut every 256 KiB, no ETag nor Last-Modified (each resume re-fetches
    a 64 KiB overlap): one `download` with default settings completes it,
    byte-exact, and no retry was counted (every attempt moved the .part on)."""
    from conftest import run_stalkeer, subprocess_env
    data = payload(int(2.5 * 1024 * 1024), seed=21)
    url = server.add('movie/u/p/cut.mkv', data, etag=False, last_modified=False)
    server.fault('movie/u/p/cut.mkv', drop_after=256 * 1024, drop_times=None)
    dest = tmp_path / 'Cut.mkv'
    started = time.monotonic()
    code, out, err = run_stalkeer('download', url, dest, '--db', sqlite_url, env=subprocess_env())
    assert code == 0, out + err
    assert sha256(dest) == sha256(data)
    assert time.monotonic() - started < 20          # no growing backoff between productive cuts
    gets = server.gets('movie/u/p/cut.mkv')
    assert len(gets) >= 12 and all(g.bytes_sent <= 256 * 1024 for g in gets)
    import sqlite3
    assert sqlite3.connect(tmp_path / 'stalkeer.db').execute(
        'SELECT status, retry_count FROM download_info').fetchone() == ('completed', 0)


def test_attempts_without_progress_still_end_a_hopeless_download(server, make_downloader,
                                                                 tmp_path, db):
    """A server that ignores ranges and cuts at 50 kB: after the first attempt no
    attempt gets further, so retry_attempts of them end it, and across runs
    max_retry_attempts does."""
    url = server.add('hopeless.mkv', payload(300_000))
    server.fault('hopeless.mkv', drop_after=50_000, drop_times=None, ignore_range=True)
    result = make_downloader(retry_attempts=3).download(url, str(tmp_path / 'hopeless.mkv'))
    assert result.status == 'failed'
    assert len(server.gets('hopeless.mkv')) == 1 + 3          # one with progress, three without
    info = row(result.download_id)
    assert info.retry_count == 2 and os.path.getsize(info.part_path) == 50_000
    queue = stalkeer.StateManager(30, max_retry_attempts=4)
    runs = 0
    while queue.resumable() and runs < 10:               # what resume-downloads does
        make_downloader(retry_attempts=3, max_retry_attempts=4).run(queue.resumable()[0])
        runs += 1
    assert runs == 1 and row(info.id).retry_count == 4 and row(info.id).status == 'failed'
    assert [r.id for r in queue.given_up()] == [info.id]


def test_progress_resets_the_retries_used(server, make_downloader, tmp_path, db):
    """Retries used without progress are forgiven once an attempt moves the .part on."""
    data = payload(600_000)
    url = server.add('forgive.mkv', data)
    downloader = make_downloader()
    info = downloader.state.get_or_create(url, str(tmp_path / 'forgive.mkv'))
    DI.update(status='failed', retry_count=4).where(DI.id == info.id).execute()
    server.fault('forgive.mkv', drop_after=200_000, drop_times=1)
    result = downloader.run(row(info.id))                 # max_retry_attempts = 5
    assert result.status == 'completed' and sha256(tmp_path / 'forgive.mkv') == sha256(data)
    assert len(server.gets('forgive.mkv')) == 2


# -- early writeback (issue 15: the fsync before the rename finds little left) ---------

def _record_finish_fsync(monkeypatch, calls):
    real_fsync = stalkeer.PartFile.fsync

    def fsync(part):
        calls.append(('fsync', None, None))
        return real_fsync(part)
    monkeypatch.setattr(stalkeer.PartFile, 'fsync', fsync)


def test_writeback_is_started_per_window_and_the_fsync_still_comes_before_the_rename(
        server, make_downloader, tmp_path, db, monkeypatch):
    data = payload(8 * 1024 * 1024 + 4321)
    url = server.add('wb.mkv', data)
    calls = []
    monkeypatch.setattr(stalkeer, 'WRITEBACK_WINDOW', 1024 * 1024)
    monkeypatch.setattr(stalkeer, '_sync_file_range_fn',
                        lambda fd, offset, nbytes, flags: calls.append((flags, offset, nbytes)))
    _record_finish_fsync(monkeypatch, calls)
    dest = tmp_path / 'wb.mkv'

    result = make_downloader().download(url, str(dest))

    assert result.status == 'completed' and sha256(dest) == sha256(data)
    windows = [(offset, nbytes) for flags, offset, nbytes in calls if flags != 'fsync']
    assert all(flags == stalkeer._SYNC_FILE_RANGE_WRITE for flags, *_ in calls[:-1])
    # Started during the download, at most once per MiB window (not once per
    # write); how many depends on how much each read brings (up to ~2 MiB
    # spliced at once under load: a count of 4 for 5 MiB failed once in CI).
    assert 2 <= len(windows) <= len(data) // (1024 * 1024)
    assert all(nbytes >= 1024 * 1024 for _, nbytes in windows)
    assert windows[0][0] == 0                      # contiguous from the start: nothing skipped
    assert all(a + n == b for (a, n), (b, _) in zip(windows, windows[1:]))
    assert calls[-1][0] == 'fsync'                 # the durable fsync is still the last word


@pytest.mark.parametrize('code', [stalkeer.errno.ENOSYS, stalkeer.errno.EINVAL,
                                  stalkeer.errno.ESPIPE, stalkeer.errno.EIO])
def test_a_refused_writeback_never_fails_the_download(code, server, make_downloader, tmp_path, db,
                                                      monkeypatch):
    data = payload(3 * 1024 * 1024 + 17)
    url = server.add('refused.mkv', data)
    calls = []

    def refuse(fd, offset, nbytes, flags):
        calls.append(offset)
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(stalkeer, 'WRITEBACK_WINDOW', 512 * 1024)
    monkeypatch.setattr(stalkeer, '_sync_file_range_fn', refuse)
    fsyncs = []
    _record_finish_fsync(monkeypatch, fsyncs)
    dest = tmp_path / 'refused.mkv'

    result = make_downloader().download(url, str(dest))

    assert result.status == 'completed' and sha256(dest) == sha256(data)
    assert calls == [0]           # asked once; after a refusal this file is not asked again
    assert fsyncs                 # the fsync before the rename did all the work


def test_no_writeback_call_on_this_system_still_downloads(server, make_downloader, tmp_path, db,
                                                          monkeypatch):
    data = payload(2 * 1024 * 1024 + 5)
    url = server.add('none.mkv', data)
    monkeypatch.setattr(stalkeer, 'WRITEBACK_WINDOW', 256 * 1024)
    monkeypatch.setattr(stalkeer, '_sync_file_range_fn', None)     # not Linux, or no ctypes
    dest = tmp_path / 'none.mkv'
    assert make_downloader().download(url, str(dest)).status == 'completed'
    assert sha256(dest) == sha256(data)


@pytest.mark.skipif(not stalkeer.sys.platform.startswith('linux'), reason='sync_file_range is Linux')
def test_the_real_sync_file_range_is_found_and_accepts_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr(stalkeer, '_sync_file_range_fn', stalkeer._NOT_LOOKED_UP)
    path = tmp_path / 'f.bin'
    path.write_bytes(payload(300_000))
    fd = os.open(path, os.O_RDWR)
    try:
        assert stalkeer.start_writeback(fd, 0, 300_000) is True
        with pytest.raises(OSError):
            stalkeer.start_writeback(-1, 0, 1)      # errors come back as OSError, never ctypes'
    finally:
        os.close(fd)
    assert callable(stalkeer._sync_file_range_fn)


# -- splice(2): socket → pipe → .part, the kernel copying each byte once (issue 15) -----

needs_splice = pytest.mark.skipif(not (stalkeer.sys.platform.startswith('linux')
                                       and hasattr(os, 'splice')), reason='splice(2) is Linux')


def _count_splices(monkeypatch, refuse=None):
    """Wrap os.splice: record (direction, bytes); ``refuse`` ('in' or 'out') gets EINVAL."""
    calls = []
    real = os.splice

    def splice(src, dst, count, *args, **kwargs):
        import stat as st
        direction = 'out' if st.S_ISREG(os.fstat(dst).st_mode) else 'in'
        if direction == refuse:
            calls.append((direction, 'refused'))
            raise OSError(stalkeer.errno.EINVAL, 'Invalid argument')
        n = real(src, dst, count, *args, **kwargs)
        calls.append((direction, n))
        return n
    monkeypatch.setattr(os, 'splice', splice)
    monkeypatch.setattr(stalkeer, 'SPLICE_MIN_BYTES', 64 * 1024)
    return calls


@needs_splice
def test_a_plain_http_body_is_spliced_into_the_part(server, make_downloader, tmp_path, db,
                                                    monkeypatch):
    data = payload(3 * 1024 * 1024 + 999)
    url = server.add('spliced.mkv', data)
    calls = _count_splices(monkeypatch)
    dest = tmp_path / 'spliced.mkv'

    result = make_downloader().download(url, str(dest))

    assert result.status == 'completed' and sha256(dest) == sha256(data)
    moved_in = sum(n for d, n in calls if d == 'in')
    moved_out = sum(n for d, n in calls if d == 'out')
    assert moved_in == moved_out > len(data) // 2       # most of the body never entered Python
    assert row(result.download_id).bytes_downloaded == len(data)


@needs_splice
def test_a_small_body_is_not_spliced(server, make_downloader, tmp_path, db, monkeypatch):
    data = payload(50_000)
    url = server.add('small.mkv', data)
    calls = _count_splices(monkeypatch)
    assert make_downloader().download(url, str(tmp_path / 'small.mkv')).status == 'completed'
    assert calls == [] and sha256(tmp_path / 'small.mkv') == sha256(data)


@needs_splice
@pytest.mark.parametrize('refuse', ['in', 'out'])
def test_a_refused_splice_falls_back_to_reading_and_writing(refuse, server, make_downloader,
                                                            tmp_path, db, monkeypatch):
    """Some filesystems (and some sockets) take no splice: EINVAL must not fail a download."""
    data = payload(2 * 1024 * 1024 + 3)
    url = server.add('refused.mkv', data)
    calls = _count_splices(monkeypatch, refuse=refuse)
    dest = tmp_path / 'refused.mkv'
    assert make_downloader().download(url, str(dest)).status == 'completed'
    assert sha256(dest) == sha256(data)
    assert calls.count((refuse, 'refused')) == 1       # tried once, then left alone


@needs_splice
def test_spliced_downloads_resume_after_cuts(server, make_downloader, tmp_path, db, monkeypatch):
    data = payload(SIZE)
    url = server.add('cut.mkv', data)
    server.fault('cut.mkv', drop_after=300_000, drop_times=2)
    calls = _count_splices(monkeypatch)
    dest = tmp_path / 'cut.mkv'
    assert make_downloader().download(url, str(dest)).status == 'completed'
    assert sha256(dest) == sha256(data) and any(d == 'out' for d, _ in calls)
    gets = server.gets('cut.mkv')
    assert [g.start for g in gets] == [0, 300_000, 600_000]   # nothing lost in the pipe
    assert [g.status for g in gets] == [200, 206, 206]


@needs_splice
def test_spliced_resume_without_validator_compares_the_overlap(server, make_downloader, tmp_path,
                                                               db, monkeypatch):
    data = payload(SIZE)
    url = server.add('nov.mkv', data)
    server.fault('nov.mkv', drop_after=300_000, drop_times=1, no_validators=True)
    _count_splices(monkeypatch)
    assert make_downloader().download(url, str(tmp_path / 'nov.mkv')).status == 'completed'
    assert sha256(tmp_path / 'nov.mkv') == sha256(data)


@needs_splice
def test_a_stall_while_splicing_is_detected_and_retried(server, make_downloader, tmp_path, db,
                                                        monkeypatch):
    data = payload(600_000)
    url = server.add('stall.mkv', data)
    server.fault('stall.mkv', stall_after=200_000, stall_seconds=3, stall_times=1)
    calls = _count_splices(monkeypatch)
    result = make_downloader(read_timeout=0.5).download(url, str(tmp_path / 'stall.mkv'))
    assert result.status == 'completed' and sha256(tmp_path / 'stall.mkv') == sha256(data)
    assert any(d == 'out' for d, _ in calls)
    assert len(server.gets('stall.mkv')) == 2        # the stall ended the first GET


@needs_splice
def test_an_hls_playlist_is_refused_even_where_bodies_are_spliced(server, make_downloader,
                                                                  tmp_path, db, monkeypatch):
    body = b'#EXTM3U\n#EXT-X-VERSION:3\n' + b'#EXTINF:10,\nseg.ts\n' * 20_000
    url = server.add('big.m3u8', body, content_type='video/mp4')
    _count_splices(monkeypatch)
    result = make_downloader().download(url, str(tmp_path / 'Heat (1995).mkv'))
    assert result.status == 'failed' and 'HLS playlist' in result.message
    assert not (tmp_path / 'Heat (1995).mkv').exists()


@needs_splice
def test_a_lost_lease_stops_a_spliced_transfer_and_writes_nothing(server, make_downloader,
                                                                  tmp_path, db, monkeypatch):
    calls = _count_splices(monkeypatch)
    steal_mid_transfer(server, make_downloader, tmp_path,
                       also_wait_for=lambda: any(d == 'out' for d, _ in calls))


BIG = stalkeer.SPLICE_MIN_BYTES + 123_457     # a Content-Length body this size is spliced


@pytest.mark.parametrize('size, knobs, reason', [
    (SIZE, {'chunked': True}, 'connection closed after 300000 bytes, before the end of the chunked body'),
    # http.client reads a chunk-size line that is not hex as a cut (IncompleteRead).
    (SIZE, {'chunked': True, 'bad_chunk': True},
     'connection closed after 300000 bytes, before the end of the chunked body'),
    # An RST drops what the client had not read yet: the cut is anywhere before.
    (SIZE, {'reset': True}, rf'connection closed after \d+ of {SIZE} bytes \(connection reset\)'),
    (BIG, {'reset': True}, rf'connection closed after \d+ of {BIG} bytes \(connection reset\)'),
    (BIG, {'chunked': True}, 'connection closed after 300000 bytes, before the end of the chunked body'),
    (BIG, {}, f'connection closed after 300000 of {BIG} bytes'),
], ids=['chunked-cut', 'chunked-framing', 'reset', 'reset-spliced', 'chunked-big', 'fin-spliced'])
def test_every_body_cut_short_is_retried_with_a_plain_reason(server, make_downloader, tmp_path, db,
                                                              caplog, size, knobs, reason):
    """trial-15 F3: a chunked body cut before its last chunk was 'unexpected
    error: IncompleteRead' and never retried; a reset, a malformed chunk-size
    line and a FIN on either read path (buffered, spliced) are the same failure:
    a retryable cut, said as the Content-Length case says it."""
    data = payload(size)
    url = server.add('cut.mkv', data)
    server.fault('cut.mkv', drop_after=300_000, drop_times=1, **knobs)
    dest = tmp_path / 'cut.mkv'

    with caplog.at_level('WARNING', logger='stalkeer'):
        result = make_downloader().download(url, str(dest))

    assert result.status == 'completed', result.message
    assert sha256(dest) == sha256(data)
    assert len(server.gets('cut.mkv')) == 2
    warnings = [r.getMessage() for r in caplog.records if 'retrying' in r.getMessage()]
    assert len(warnings) == 1 and (reason in warnings[0] or re.search(reason, warnings[0])), warnings
    assert 'unexpected' not in warnings[0] and 'Incomplete' not in warnings[0]


def test_a_body_cut_every_time_fails_plainly_after_its_retries(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('cut.mkv', data)
    server.fault('cut.mkv', drop_after=0, drop_times=None, chunked=True)
    result = make_downloader(retry_attempts=3).download(url, str(tmp_path / 'cut.mkv'))
    assert result.status == 'failed'
    assert result.message == 'connection closed after 0 bytes, before the end of the chunked body'
    assert len(server.gets('cut.mkv')) == 3
    assert not (tmp_path / 'cut.mkv').exists()


@pytest.mark.parametrize('encoding', ['gzip', 'br', 'identity, gzip'])
def test_an_encoded_body_is_refused_not_stored(server, make_downloader, tmp_path, db, encoding):
    """trial-15 F8: a server that compresses despite Accept-Encoding: identity
    had its gzip stream stored as the completed film."""
    import gzip
    data = gzip.compress(payload(SIZE))
    url = server.add('gz.mkv', data)
    server.fault('gz.mkv', content_encoding=encoding)
    dest = tmp_path / 'gz.mkv'
    result = make_downloader().download(url, str(dest))
    assert result.status == 'failed'
    assert f'Content-Encoding: {encoding}' in result.message and 'not stored' in result.message
    assert not dest.exists()
    info = row(result.download_id)
    assert info.status == 'failed' and 'Content-Encoding' in info.error_message
    assert len(server.gets('gz.mkv')) == 1     # it would answer the same again


def test_identity_content_encoding_is_fine(server, make_downloader, tmp_path, db):
    data = payload(SIZE)
    url = server.add('id.mkv', data)
    server.fault('id.mkv', content_encoding='identity')
    result = make_downloader().download(url, str(tmp_path / 'id.mkv'))
    assert result.status == 'completed' and sha256(tmp_path / 'id.mkv') == sha256(data)
