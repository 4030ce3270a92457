"""The media probe (matching section): duration and frame size from a container
header read over HTTP Range requests, and the runtime rule built on it.

The files in tests/media are real ones written by ffmpeg (see make_media.sh);
a few layouts ffmpeg does not write (Matroska with its Info after the clusters,
64-bit MP4 headers, an mehd box) are built here from those files or from the
ISO/IEC 14496-12 and RFC 9559 layouts, byte by byte, as the helpers say."""

import struct
from pathlib import Path

import pytest
import requests

import stalkeer
from conftest import payload

MEDIA = Path(__file__).resolve().parent / 'media'

# file -> (container, seconds, width, height, resolution) as ffmpeg reports them
REAL = {
    'film-1080p-faststart.mp4': ('mp4', 5700, 1920, 800, '1080p'),
    'film-720p-moov-at-end.mp4': ('mp4', 6240, 1280, 536, '720p'),
    'film-2160p.mkv': ('matroska', 4560, 3840, 1600, '2160p'),
    'episode-480p.webm': ('matroska', 2640, 854, 480, '480p'),
    'episode-720p-sidx.mp4': ('mp4', 2700, 1280, 720, '720p'),
}


def probe(server, name, data, **kw):
    url = server.add(name, data)
    return stalkeer.probe_media(requests.Session(), url, **kw)


@pytest.mark.parametrize('name', sorted(REAL))
def test_real_files_give_their_duration_and_frame_size_in_one_small_request(server, name):
    info = probe(server, name, (MEDIA / name).read_bytes())
    assert (info.container, info.duration, info.width, info.height, info.resolution) == REAL[name]
    assert info.note == '' and info.requests == 1
    [get] = server.gets(name)
    assert get.range == 'bytes=0-65535' and get.status == 206


def test_moov_at_the_end_of_a_large_file_costs_one_more_request(server):
    """The usual MP4 layout (mdat, then moov): hop over mdat by its size and read
    the moov at the end. 20 MB of extra mdat payload keeps the file valid (chunk
    offsets point at the start of mdat) and puts the moov far away."""
    data = (MEDIA / 'film-720p-moov-at-end.mp4').read_bytes()
    pos, pad = 0, 20 * 1024 * 1024
    while True:                                       # find mdat, grow it
        size, kind = struct.unpack('>I4s', data[pos:pos + 8])
        if kind == b'mdat':
            break
        pos += size
    big = data[:pos] + struct.pack('>I', size + pad) + data[pos + 4:pos + size] + bytes(pad) + data[pos + size:]
    info = probe(server, 'big.mp4', big)
    assert (info.duration, info.width, info.height, info.requests) == (6240, 1280, 536, 2)
    gets = server.gets('big.mp4')
    assert gets[0].range == 'bytes=0-65535' and gets[1].range.startswith(f'bytes={pos + size + pad}-')
    assert sum(g.bytes_sent for g in gets) < 200_000


def _vint_size(n):
    return bytes([0x01]) + n.to_bytes(7, 'big')      # the 8-byte EBML size form


def _element(eid: bytes, body: bytes) -> bytes:
    return eid + _vint_size(len(body)) + body


def _split(data, pos, end):
    """(id bytes, body) of each EBML element in data[pos:end] (RFC 8794 4)."""
    out = []
    while pos < end:
        n = 1
        while not data[pos] & (0x80 >> (n - 1)):
            n += 1
        eid = data[pos:pos + n]
        m = 1
        while not data[pos + n] & (0x80 >> (m - 1)):
            m += 1
        size = int.from_bytes(data[pos + n:pos + n + m], 'big') & ((1 << (7 * m)) - 1)
        out.append((eid, data[pos + n + m:pos + n + m + size]))
        pos += n + m + size
    return out


def test_matroska_with_its_info_after_the_clusters_follows_the_seekhead(server):
    """Rebuilt from the real film-2160p.mkv: Segment = SeekHead (pointing at
    Info and Tracks), the clusters, 1 MiB of Void, then Info and Tracks: the
    layout of a file written live and finished at the end."""
    data = (MEDIA / 'film-2160p.mkv').read_bytes()
    [(ebml_id, ebml_body), (seg_id, seg_body)] = _split(data, 0, len(data))
    children = dict()
    rest = []
    for eid, body in _split(seg_body, 0, len(seg_body)):
        if eid in (b'\x15\x49\xa9\x66', b'\x16\x54\xae\x6b'):
            children[eid] = body
        elif eid == b'\x1f\x43\xb6\x75':
            rest.append(_element(eid, body))
    middle = b''.join(rest) + _element(b'\xec', bytes(1024 * 1024))

    def seekhead(info_at, tracks_at):
        seeks = b''.join(_element(b'\x4d\xbb', _element(b'\x53\xab', eid) + _element(b'\x53\xac', at.to_bytes(8, 'big')))
                         for eid, at in ((b'\x15\x49\xa9\x66', info_at), (b'\x16\x54\xae\x6b', tracks_at)))
        return _element(b'\x11\x4d\x9b\x74', seeks)
    head_len = len(seekhead(0, 0))
    info = _element(b'\x15\x49\xa9\x66', children[b'\x15\x49\xa9\x66'])
    segment = seekhead(head_len + len(middle), head_len + len(middle) + len(info)) + middle + info + \
        _element(b'\x16\x54\xae\x6b', children[b'\x16\x54\xae\x6b'])
    rebuilt = _element(ebml_id, ebml_body) + _element(seg_id, segment)
    got = probe(server, 'late.mkv', rebuilt)
    assert (got.container, got.duration, got.width, got.height) == ('matroska', 4560, 3840, 1600)
    assert got.requests == 2


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack('>I', 8 + len(body)) + kind + body


def test_64_bit_mp4_headers_and_a_fragmented_duration_in_mehd(server):
    """ISO/IEC 14496-12: mvhd and tkhd version 1 (64-bit times), and mvex/mehd."""
    ftyp = _box(b'ftyp', b'isom' + bytes(4))
    mvhd1 = _box(b'mvhd', b'\x01\x00\x00\x00' + bytes(16) + struct.pack('>IQ', 1000, 7_200_000) + bytes(80))
    tkhd1 = _box(b'tkhd', b'\x01\x00\x00\x03' + bytes(32) + bytes(8) + bytes(8) + bytes(36)
                 + struct.pack('>II', 3840 << 16, 2160 << 16))
    info = probe(server, 'v1.mp4', ftyp + _box(b'moov', mvhd1 + _box(b'trak', tkhd1)) + _box(b'mdat', bytes(100)))
    assert (info.duration, info.width, info.height, info.resolution) == (7200, 3840, 2160, '2160p')
    mvhd0 = _box(b'mvhd', b'\x00\x00\x00\x00' + bytes(8) + struct.pack('>II', 90000, 0) + bytes(80))
    mehd = _box(b'mehd', b'\x00\x00\x00\x00' + struct.pack('>I', 90000 * 2640))
    info = probe(server, 'frag.mp4', ftyp + _box(b'moov', mvhd0 + _box(b'mvex', mehd)))
    assert info.duration == 2640 and info.height is None and info.resolution is None


def test_a_fragmented_file_without_an_index_has_an_unknown_duration(server):
    info = probe(server, 'frag.mp4', (MEDIA / 'episode-720p-fragmented.mp4').read_bytes())
    assert info.duration is None and info.note == 'the header gives no duration'
    assert (info.width, info.height) == (1280, 720)


@pytest.mark.parametrize('fault, note', [
    (dict(status=404), 'HTTP 404'),
    (dict(html=True), 'not a Matroska or MP4 file'),
    (dict(drop_after=30, drop_times=None), 'could not read it'),
])
def test_what_the_server_does_wrong_gives_an_unknown_duration_never_an_error(server, fault, note):
    """(A connection cut once is simply read again by the next Range request.)"""
    url = server.add('film.mkv', (MEDIA / 'film-2160p.mkv').read_bytes())
    server.fault('film.mkv', **fault)
    info = stalkeer.probe_media(requests.Session(), url)
    assert info.duration is None and note in info.note


def test_not_media_and_damaged_headers(server):
    assert probe(server, 'x.avi', payload(100_000)).note == 'not a Matroska or MP4 file'
    data = bytearray((MEDIA / 'film-1080p-faststart.mp4').read_bytes())
    moov = data.index(b'moov') - 4
    data[moov + 8:moov + 12] = struct.pack('>I', 4)   # mvhd claims 4 bytes: less than its header
    info = probe(server, 'bad.mp4', bytes(data))
    assert info.duration is None and info.note == 'the container header is damaged'
    cut = (MEDIA / 'film-2160p.mkv').read_bytes()[:40]
    assert probe(server, 'cut.mkv', cut).duration is None


def test_a_server_that_ignores_range_still_gives_the_start_of_the_file(server):
    url = server.add('front.mp4', (MEDIA / 'film-1080p-faststart.mp4').read_bytes())
    server.fault('front.mp4', ignore_range=True)
    assert stalkeer.probe_media(requests.Session(), url).duration == 5700
    data = (MEDIA / 'film-720p-moov-at-end.mp4').read_bytes()
    url = server.add('end.mp4', data)
    server.fault('end.mp4', ignore_range=True)
    info = stalkeer.probe_media(requests.Session(), url, chunk=1024)
    assert info.duration is None and info.note == 'the header is further into the file than the probe reads'
    assert len(server.gets('end.mp4')) == 1


@pytest.mark.parametrize('size, label', [
    ((3840, 2160), '2160p'), ((3840, 1600), '2160p'), ((1920, 1080), '1080p'), ((1920, 800), '1080p'),
    ((1440, 1080), '1080p'), ((1280, 720), '720p'), ((1280, 536), '720p'), ((720, 576), '480p'),
    ((640, 360), '480p'), ((0, 0), None)])
def test_resolution_classes_go_by_width_too(size, label):
    assert stalkeer.MediaInfo(width=size[0], height=size[1]).resolution == label


# -- the runtime rule ------------------------------------------------------------------------

@pytest.mark.parametrize('minutes, runtime, fits', [
    (95, 95, True), (104, 95, True),                  # within 10 min
    (120, 100, False), (80, 100, False),              # 20 min off: over both 15 min and 10 min
    (60, 50, True),                                   # 10 min off a 50-min runtime: the minutes
    (75, 104, False), (104, 75, False),               # Drácula vs Dracula (1931)
    (2, 120, False),                                  # a trailer
    (22, 45, False), (44, 45, True),                  # half an episode
    (178, 228, False), (228, 178, False),             # an extended cut 28% longer
    (195, 178, True),                                 # 17 min, under 15% of 178 (26.7)
])
def test_the_runtime_tolerance_is_15_percent_or_10_minutes_whichever_is_more(minutes, runtime, fits):
    tol = stalkeer.RuntimeTolerance()
    assert stalkeer.runtime_fits(minutes * 60, runtime, tol) is (
        abs(minutes - runtime) <= max(runtime * 0.15, 10))
    assert stalkeer.runtime_fits(minutes * 60, runtime, tol) is fits
    assert stalkeer.runtime_fits(minutes * 60, runtime, stalkeer.RuntimeTolerance(50, 0)) is (
        abs(minutes - runtime) <= runtime / 2)


def test_judge_runtime():
    tol = stalkeer.RuntimeTolerance()
    known = stalkeer.MediaInfo(duration=75 * 60)
    assert stalkeer.judge_runtime(known, 75, (), tol)[0] is True
    ok, why = stalkeer.judge_runtime(known, 104, (), tol)
    assert not ok and why == 'runs 75 min, the app says 104 min (±16 min)'
    unknown = stalkeer.MediaInfo(note='HTTP 404')
    assert stalkeer.judge_runtime(unknown, 104, (), tol) == (True, 'duration unknown (HTTP 404)')
    # Only the runtime tells this line from a film of the same name and year:
    assert stalkeer.judge_runtime(unknown, 75, (104,), tol)[0] is False
    assert stalkeer.judge_runtime(known, 75, (104,), tol)[0] is True
    assert stalkeer.judge_runtime(stalkeer.MediaInfo(duration=104 * 60), 75, (104,), tol)[0] is False
    assert stalkeer.judge_runtime(stalkeer.MediaInfo(duration=80 * 60), 75, (84,), tol)[0] is False
    assert stalkeer.judge_runtime(known, None, (), tol) == (True, 'runs 75 min; the app gives no runtime')


def test_an_hls_playlist_is_named_and_never_passes_the_runtime_check(server):
    """trial-1213 F14: '.m3u8' VOD answers were 'unknown container' and then taken."""
    info = probe(server, '7.m3u8', b'#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nseg0.ts\n#EXT-X-ENDLIST\n')
    assert info.container == 'hls' and info.duration is None and 'HLS playlist' in info.note
    ok, why = stalkeer.judge_runtime(info, 120, (), stalkeer.RuntimeTolerance())
    assert not ok and 'HLS' in why


def test_a_url_that_is_not_http_is_not_a_damaged_header():
    """trial-1213 F13/F11: nothing was read, so nothing is 'damaged'."""
    info = stalkeer.probe_media(requests.Session(), 'javascript:alert(1)')
    assert info.duration is None and 'damaged' not in info.note and info.note.startswith('could not read it')
