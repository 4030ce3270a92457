"""The per-host cap ([downloads] max_connections_per_host) holds on every path
that downloads with parallel workers: resume-downloads (rows made by
`download`, with no service, and by radarr), `radarr --resume`, the retries
inside a run; and every spelling of one host counts against one cap.

Real threaded HTTP servers on 127.0.0.1 (tests/fileserver.py) count the
requests in flight at once (peak_inflight); slow (throttled) bodies make
parallel workers overlap whenever the cap lets them."""

import pytest

import stalkeer
from conftest import arr_sections, payload, sha256
from fakearr import FakeArr
from fileserver import FileServer

SIZE = 150_000
THROTTLE = 150_000          # bytes/s: ~1 s a file, long enough to overlap
# Seconds a request that arrives while another is in flight waits for that one
# to be marked finished before it counts (fileserver.count_grace): well under a
# file's second, so two really at once still count as two, and well over the
# moment a busy box (a CI run beside other work) takes between a response's
# last byte and its handler's end: at 0.1 s one run counted a cap of 1 as 2.
COUNT_GRACE = 0.4


@pytest.fixture
def hosts(server):
    """Two providers: two hosts as a provider sees them (different ports)."""
    with FileServer() as other:
        for srv in (server, other):
            srv.count_grace = COUNT_GRACE   # a finished response is not "in flight" (fileserver)
        yield server, other


def _rows(db_url, tmp_path, hosts, service, item_ids=None):
    """Three incomplete downloads a host, as a stopped `download` (service None)
    or radarr run left them; returns {destination: bytes}."""
    db = stalkeer.open_database(db_url, str(tmp_path))
    state = stalkeer.StateManager()
    expected = {}
    n = 0
    for h, srv in enumerate(hosts):
        for i in range(3):
            data = payload(SIZE, seed=10 * h + i)
            name = f'movie/slow{h}{i}.mkv'
            url = srv.add(name, data)
            srv.fault(name, throttle_bps=THROTTLE)
            folder = tmp_path / 'lib' / 'movies' / f'Film {n}'
            dest = folder / f'Film {n}.mkv'
            state.get_or_create(url, str(dest), f'Film {n}', service=service,
                                item_id=item_ids[n] if item_ids else None,
                                library_root=str(tmp_path / 'lib' / 'movies') if service else None)
            expected[dest] = data
            n += 1
    # A cut once: the retry inside the run is under the cap too.
    hosts[0].fault('movie/slow00.mkv', throttle_bps=THROTTLE, drop_after=40_000, drop_times=1)
    db.close()
    return expected


def _ini(tmp_path, db_url, extra=''):
    ini = tmp_path / 'stalkeer.ini'
    ini.write_text(f'[database]\nurl = {db_url}\n[downloads]\nmin_free_space_mb = 0\n'
                   'retry_backoff_seconds = 0.01\nmax_connections_per_host = 1\n' + extra,
                   encoding='utf-8')
    return ini


def _check(hosts, expected):
    for path, data in expected.items():
        assert sha256(path) == sha256(data), path
    assert [srv.peak_inflight for srv in hosts] == [1, 1]       # never two at once on one host


def test_resume_downloads_keeps_the_per_host_cap(db_url, tmp_path, hosts, cli):
    expected = _rows(db_url, tmp_path, hosts, service=None)
    ini = _ini(tmp_path, db_url)
    code, out, err = cli('--config', ini, 'resume-downloads', '--parallel', '3')
    assert code == 0, err
    assert 'resume-downloads: 6 completed, 0 failed' in out
    _check(hosts, expected)
    assert len(hosts[0].gets('movie/slow00.mkv')) == 2          # cut once, resumed in the run


def test_radarr_resume_keeps_the_per_host_cap(db_url, tmp_path, hosts, cli):
    with FakeArr('radarr') as radarr, FakeArr('sonarr') as sonarr:
        ids = [radarr.add_movie(f'Film {n}', 2000 + n, path=f'/movies/Film {n}')['id']
               for n in range(6)]
        expected = _rows(db_url, tmp_path, hosts, service='radarr', item_ids=ids)
        playlist = tmp_path / 'playlist.m3u'
        playlist.write_text('#EXTM3U\n#EXTINF:-1,Another Film (1990)\nhttp://127.0.0.1:9/a.mkv\n',
                            encoding='utf-8')
        ini = _ini(tmp_path, db_url, f'[m3u]\nfile_path = {playlist}\n'
                   + arr_sections(radarr, sonarr, tmp_path / 'lib'))
        assert cli('--config', ini, 'process')[0] == 0
        code, out, err = cli('--config', ini, 'radarr', '--resume', '--parallel', '3')
        assert code == 0, err
        assert 'downloaded 6' in out
    _check(hosts, expected)


@pytest.mark.parametrize('a, b', [
    ('http://example.test/a.mkv', 'HTTP://Example.TEST:80/b.mkv'),
    ('https://example.test/a.mkv', 'https://example.test:443/b.mkv'),
    ('http://example.test./a.mkv', 'http://example.test/b.mkv'),
    ('http://[::1]/a.mkv', 'http://[0:0:0::1]:80/b.mkv'),
    ('http://[2001:DB8::1]:8080/a', 'http://[2001:db8:0::1]:8080/b'),
])
def test_one_host_however_spelled_is_one_cap(a, b):
    limiter = stalkeer.HostLimiter(3)
    assert limiter(a) is limiter(b)
    limiter.cap(a, 1)                   # an Xtream account's max_connections
    assert limiter.limit_of(b) == 1 and limiter(a) is limiter(b)


@pytest.mark.parametrize('a, b', [
    ('http://example.test/a.mkv', 'https://example.test/a.mkv'),      # another scheme
    ('http://example.test/a.mkv', 'http://example.test:8080/a.mkv'),  # another port
    ('http://127.0.0.1/a.mkv', 'http://[::1]/a.mkv'),
])
def test_other_hosts_have_caps_of_their_own(a, b):
    limiter = stalkeer.HostLimiter(1)
    assert limiter(a) is not limiter(b)
