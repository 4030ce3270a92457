#!/usr/bin/env python3
"""stalkeer: fill the gaps in a Radarr/Sonarr library from an IPTV VOD playlist.

Reads an M3U playlist, asks Radarr and Sonarr what is missing, downloads the
matching playlist entries straight into the library and records every download
attempt in a database (SQLite by default, PostgreSQL optionally) so that nothing
is fetched twice, an interrupted download resumes where it stopped, and a
failure can be read back later.

One module on purpose: copy this file onto a small box, ``pip install -r
requirements.txt``, run ``python stalkeer.py --help``.

Sections, in order (grep for ``# ====``): imports, optional dependencies,
constants, exceptions, helpers, config, models and database, state manager,
downloader, playlist, arr clients, matching, commands, serve, main.
"""

# ==== imports =================================================================

from __future__ import annotations

import argparse
import codecs
import collections
import contextlib
import dataclasses
import datetime as dt
import errno
import functools
import gc
import io
import itertools
import json
import logging
import math
import operator
import os
import random
import re
import shlex
import shutil
import signal
import stat
import struct
import sys
import threading
import time
import unicodedata
import warnings
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:       # annotations only (they are never evaluated: `annotations` above);
    from typing import BinaryIO     # importing typing costs ~2 ms of every start

# ==== optional dependencies ===================================================
# peewee and requests (with its urllib3) are required, yet imported under a
# guard: on a box where they are missing, `python stalkeer.py --help` still
# works and every command says in one line what to install (main() reads
# MISSING_PACKAGES), instead of dying with ModuleNotFoundError.
#
# requests, urllib3, tqdm and psycopg2 are imported on first use (_Lazy): they
# cost ~45 ms of every start (measured in bench/RESULTS.md, "Start-up"), and
# `--version`, `status`, `lines` or a SQLite run never need some of them.
# Whether each is installed is still known at start (importlib.util.find_spec
# reads no module), so the missing-package message is the same as before.

MISSING_PACKAGES: list[str] = []


class _NotInstalled:
    """Stands in for a missing package so the module can still be loaded for
    --help; anything built from it is inert and no command runs (see main())."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return _NotInstalled


class _Lazy:
    """A module (or one attribute of it) imported on first use, then bound in
    this module's globals under ``alias`` so later uses cost nothing extra.
    Calling it calls the attribute (``tqdm(...)``)."""

    def __init__(self, module: str, alias: str, attribute: str | None = None):
        self._module, self._alias, self._attribute = module, alias, attribute

    def _load(self):
        import importlib
        value = importlib.import_module(self._module)
        if self._attribute:
            value = getattr(value, self._attribute)
        globals()[self._alias] = value
        return value

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return getattr(self._load(), name)

    def __call__(self, *args, **kwargs):
        return self._load()(*args, **kwargs)


def _installed(name: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _loads(alias: str) -> bool:
    """Whether the lazily imported module bound to ``alias`` imports: installed
    yet broken (a psycopg2 built without its libpq) counts as missing."""
    value = globals()[alias]
    if isinstance(value, _Lazy):
        try:
            value._load()
        except ImportError:
            return False
    return True


def _required(name: str, lazy: bool = False):
    if lazy and _installed(name):
        return _Lazy(name, name)
    try:
        return __import__(name)
    except ImportError:
        if __name__ != '__main__':     # imported as a library: the usual error
            raise
        MISSING_PACKAGES.append(name)
        return _NotInstalled()


# Standard modules only some commands reach: ~9 ms of every start together.
configparser = _Lazy('configparser', 'configparser')    # reading stalkeer.ini (Config)
difflib = _Lazy('difflib', 'difflib')
hashlib = _Lazy('hashlib', 'hashlib')       # with hmac: OpenSSL's _hashlib
hmac = _Lazy('hmac', 'hmac')
ipaddress = _Lazy('ipaddress', 'ipaddress')
secrets = _Lazy('secrets', 'secrets')
socket = _Lazy('socket', 'socket')

peewee = _required('peewee', lazy=True)
requests = _required('requests', lazy=True)
urllib3 = _required('urllib3', lazy=True)
# requests' encoder of a host name that is not ASCII (bücher.de): url_problem
# refuses what it would refuse mid-run. Installed with requests.
idna = _Lazy('idna', 'idna') if _installed('idna') else None

# the progress bar is nice to have; cron runs never need it
tqdm = _Lazy('tqdm', 'tqdm', 'tqdm') if _installed('tqdm') else None

# only needed for postgresql:// database URLs
psycopg2 = _Lazy('psycopg2', 'psycopg2') if _installed('psycopg2') else None

try:  # POSIX only: the lock that keeps two processes off one .part file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

# ==== constants ===============================================================

__version__ = '0.1.0'

log = logging.getLogger('stalkeer')

HERE = Path(__file__).resolve().parent
MiB = 1024 * 1024

# Exit codes: the README documents the same table.
EXIT_OK = 0
EXIT_FAILED = 1           # at least one item failed
EXIT_USAGE = 2            # usage, configuration or service error
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

# download_info.status
PENDING, DOWNLOADING, PAUSED = 'pending', 'downloading', 'paused'
COMPLETED, FAILED, RETRYING = 'completed', 'failed', 'retrying'
DOWNLOAD_STATUSES = (PENDING, DOWNLOADING, PAUSED, COMPLETED, FAILED, RETRYING)
RESUMABLE_STATUSES = (PENDING, DOWNLOADING, PAUSED, FAILED, RETRYING)

# processed_lines.state
LINE_STATES = ('processed', 'pending', 'downloading', 'organizing', 'downloaded', 'failed')
# processed_lines.content_type, as the playlist classifier assigns it; 'series' is
# a series of an Xtream panel's get_series (no URL: its episodes are separate lines)
LINE_CONTENT_TYPES = ('movies', 'tvshows', 'channels', 'uncategorized', 'series')
# processed_lines.source: the M3U playlist, or the panel's player_api.php
LINE_SOURCES = ('m3u', 'xtream')

# Read size for the body. Large so Python is not the bottleneck; read1() returns
# whatever the socket has, so a slow server still gives us frequent heartbeats.
CHUNK_SIZE = 1 * MiB
# With no validator to send in If-Range we re-fetch this much of what we already
# have and compare it before appending, so a changed file is never spliced.
RESUME_OVERLAP = 64 * 1024
# A URL without a port is at its scheme's default one (RFC 9110 4.2): the per-host
# cap counts http://h/ and http://h:80/ as one host.
_DEFAULT_PORTS = {'http': 80, 'https': 443}
# How often progress hooks are called at most (the tqdm bar and the log line).
HOOK_INTERVAL = 0.2
# Every this many bytes written to a .part, the kernel is asked to start writing
# them to disk without waiting (sync_file_range, Linux): the fsync before the
# rename then finds little left, instead of a whole GiB of dirty pages
# (bench/RESULTS.md, "download of 1 GiB").
WRITEBACK_WINDOW = 64 * MiB
# A plain-HTTP body of at least this size is moved from the socket to the .part
# with splice(2) through a pipe (Linux): the kernel copies each byte once, into
# the page cache, where recv() + pwrite() copy it twice and pass it through
# Python (bench/RESULTS.md: half the CPU of a GiB). Smaller bodies are not worth
# the pipe.
SPLICE_MIN_BYTES = 4 * MiB

MEDIA_EXTENSIONS = frozenset(
    '.mkv .mp4 .avi .m4v .mov .wmv .mpg .mpeg .ts .m2ts .webm .flv .ogv .3gp .divx .vob'.split())
CONTENT_TYPE_EXTENSIONS = {
    'video/x-matroska': '.mkv', 'video/mp4': '.mp4', 'video/x-msvideo': '.avi',
    'video/avi': '.avi', 'video/quicktime': '.mov', 'video/webm': '.webm',
    'video/mp2t': '.ts', 'video/mpeg': '.mpg', 'video/x-m4v': '.m4v',
    'video/x-flv': '.flv', 'video/x-ms-wmv': '.wmv',
}
DEFAULT_EXTENSION = '.mkv'
# The container names panels give HLS-only VOD: a list of segment URLs
# (HLS_REFUSAL), never offered as a movie file.
PLAYLIST_CONTAINERS = frozenset({'m3u8', 'm3u'})

# Path components are limited to 255 bytes (NAME_MAX of ext4, XFS, Btrfs, ZFS;
# 255 UTF-16 units on NTFS/exFAT, never fewer bytes of UTF-8 than that).
NAME_MAX_BYTES = 255
# A file name made from a title keeps room for the extension added at the end
# (the longest in MEDIA_EXTENSIONS/CONTENT_TYPE_EXTENSIONS, ".m2ts", is 5 bytes).
EXTENSION_RESERVE = 5

# The part of a lease kept in reserve: a holder stops writing once
# lock_timeout_seconds x (1 - LEASE_MARGIN) passed since its last renewal was
# sent, well before anyone else may see the lease as stale.
LEASE_MARGIN = 0.2

# Test-only: STALKEER_TEST_CRASH_AT=POINT kills this process with SIGKILL when
# it reaches the named point of the finish sequence (see crash_point()), so the
# tests can check that every crash point recovers. Unset in real use.
_TEST_CRASH_AT = os.environ.get('STALKEER_TEST_CRASH_AT', '')
# Test-only: STALKEER_TEST_STOP_AT=POINT stops this process with SIGSTOP the
# first time it reaches the point, so that a test changes the world (rewrites
# the playlist under its reader) at that exact step and then SIGCONTs it.
_TEST_STOP_AT = os.environ.get('STALKEER_TEST_STOP_AT', '')

# How Config.discover() found the configuration file: the value `config --json`
# gives as "found_by", and the words `config` prints for it.
CONFIG_FOUND_BY = {
    'option': '--config',
    'environment': '$STALKEER_CONFIG',
    'working_directory': 'the current directory',
    'script_directory': 'beside stalkeer.py',
}


class PathKind:
    """What stands at a path that cannot be the file or folder of its role
    (PathProblem.kind, from file_problem and folder_problem): callers branch
    on these, never on the words of the phrase."""
    NOTHING = 'nothing'                 # not found
    DANGLING = 'dangling link'          # a symbolic link to nothing
    LOOP = 'link loop'                  # a symbolic link that never leads anywhere
    FILE = 'file'
    FOLDER = 'folder'
    NAMED_PIPE = 'named pipe'
    SOCKET = 'socket'
    DEVICE = 'device'
    OTHER = 'other'                     # none of the above (or not a regular file)
    OUT_OF_REACH = 'out of reach'       # something on the way is no folder, or cannot be looked at
    DENIED = 'permission denied'
    LINK = 'symbolic link'              # the link itself (an lstat), never followed


# The file types, each once: (test of st_mode, PathKind, noun phrase). What
# stands at a path is judged (_mode_kind) and worded (_describe_mode) by this
# one table, first match wins; a mode none matches is PathKind.OTHER, 'not a
# regular file'.
FILE_TYPES = (
    (stat.S_ISREG, PathKind.FILE, 'a file'),
    (stat.S_ISLNK, PathKind.LINK, 'a symbolic link'),
    (stat.S_ISDIR, PathKind.FOLDER, 'a folder'),
    (stat.S_ISFIFO, PathKind.NAMED_PIPE, 'a named pipe'),
    (stat.S_ISSOCK, PathKind.SOCKET, 'a socket'),
    (stat.S_ISCHR, PathKind.DEVICE, 'a device'),
    (stat.S_ISBLK, PathKind.DEVICE, 'a device'),
)


# How much of one untrusted text (a title, an error, a URL) and of one output or
# log line is shown: a 400 MB title from a broken app is never written whole.
DISPLAY_FIELD_MAX = 300
DISPLAY_LINE_MAX = 1000

# Filesystems on which SQLite's WAL mode is unsafe (shared memory across hosts
# does not work) -- very common when the database sits on a NAS share.
NETWORK_FILESYSTEMS = frozenset({
    'nfs', 'nfs4', 'cifs', 'smb', 'smb3', 'smbfs', '9p', 'afs', 'ceph', 'glusterfs',
    'fuse.glusterfs', 'fuse.sshfs', 'fuse.rclone', 'davfs', 'fuse.davfs2', 'lustre'})

# ==== exceptions ==============================================================


class StalkeerError(Exception):
    """Base of every error stalkeer expects; main() turns it into one line."""
    exit_code = EXIT_USAGE


class ConfigError(StalkeerError):
    """A configuration file, key or value is wrong."""


class ConfigErrors(ConfigError):
    """Several mistakes found in one pass over a setting: ``problems`` holds
    each as one line. A command stops at the first (str() is that line);
    `config --check` names them all, so one run shows every one to fix."""

    def __init__(self, problems: list[str]):
        super().__init__(problems[0])
        self.problems = list(problems)


def raise_config_errors(problems: list[str]) -> None:
    """ConfigError for one problem, ConfigErrors for several; nothing for none."""
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigErrors(problems)


class DatabaseError(StalkeerError):
    """The database cannot be opened or answered with an error."""


class ImportLockLost(DatabaseError):
    """The import lock file this import holds is no longer at its path (removed
    or replaced): another import may run alongside, so this one stops,
    incomplete (import_lock)."""


class DownloadError(StalkeerError):
    """A download failed; ``retryable`` says whether trying again may help."""
    exit_code = EXIT_FAILED
    retryable = False

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class RetryableDownloadError(DownloadError):
    retryable = True


class IncompleteDownloadError(RetryableDownloadError):
    """The body ended before its end (Content-Length bytes, the last chunk);
    ``how``: a few words on how the connection ended it, or None."""

    def __init__(self, message, retry_after=None, how: str | None = None):
        super().__init__(message, retry_after)
        self.how = how


class RestartDownload(RetryableDownloadError):
    """What we have on disk cannot be continued: start again from byte 0."""


class DiskSpaceError(DownloadError):
    """Not enough room (checked up front) or the disk filled up mid-transfer."""


# In the error_message of a download that gave up at once (PermanentDownloadError).
PERMANENT_MARK = 'no retry can fix this'


class PermanentDownloadError(DownloadError):
    """No retry can fix it (a symlinked or file-in-the-way folder, a name too
    long, no permission): the download gives up at once and says what a person
    must do; `stalkeer retry ID` puts it back."""


# errnos of a folder or file that no retry will fix by itself.
_PERMANENT_ERRNOS = frozenset({errno.ELOOP, errno.ENOTDIR, errno.ENAMETOOLONG, errno.EACCES,
                               errno.EPERM, errno.EROFS, errno.EISDIR})


class PlaylistError(StalkeerError):
    """The playlist cannot be fetched, read or parsed at all."""


PLAYLIST_NOT_READ = ('the playlist has not been read yet (0 lines in the database): run '
                     '`stalkeer process --download` (or `stalkeer process FILE`) first')


class PlaylistNotRead(ConfigError):
    """No playlist line in the database at all: a step of the first run was
    skipped. Not "nothing matches": radarr/sonarr and lines stop on it (exit 2)
    rather than answer "not in the playlist" for everything."""

    def __init__(self):
        super().__init__(PLAYLIST_NOT_READ)


class PlaylistChanged(PlaylistError):
    """The playlist file changed while it was read (PlaylistFile): the reader
    stops before the bytes read after the change."""

    def __init__(self, path: str):
        super().__init__(f'the playlist {path} changed while it was read')


class LeaseLost(StalkeerError):
    """Our lock on a download row was taken over; we must stop touching it."""
    exit_code = EXIT_FAILED


class LeaseExpired(LeaseLost):
    """Our lease ran out: no renewal got through in time (the database was
    unreachable, or this process was stopped). Maybe nobody took the row over,
    but nothing may be written to the .part any more."""

    def __init__(self, download_id, cause: str | None):
        self.cause = (f'database unavailable: {cause}' if cause else
                      'no renewal for longer than lock_timeout_seconds (was this process stopped?)')
        super().__init__(f'download {download_id}: the lock ran out: {self.cause}')


class PartBusy(StalkeerError):
    """Another process still has this .part file open and locked."""
    exit_code = EXIT_FAILED


class DestinationError(StalkeerError):
    """A destination would not be a file inside the library; that item fails."""
    exit_code = EXIT_FAILED


class Interrupted(BaseException):
    """SIGINT/SIGTERM arrived. A BaseException so no ``except Exception`` eats it."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self):
        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT


# ==== helpers =================================================================


class _LazyPattern:
    """A regular expression compiled on first use: the ~80 module-level patterns
    below cost ~20 ms of re.compile on every start (bench/RESULTS.md,
    "Start-up"), and `--version`, `status` or a download use few of them. The
    first use compiles the pattern and binds the compiled ``re.Pattern`` in
    this module's globals in place of the stand-in, so later uses cost nothing
    extra. ``pattern`` (the source text) is readable without compiling."""

    __slots__ = ('pattern', '_flags', '_compiled')

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern, self._flags, self._compiled = pattern, flags, None

    def _compile(self) -> re.Pattern:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.pattern, self._flags)
            module = globals()
            # copy(): one C-level copy of the table. list(items()) iterates, and a
            # lazy import in another thread (_Lazy binds its module as a new global)
            # could make it raise "dictionary changed size during iteration" (twice
            # in the full test suite).
            for name, value in module.copy().items():
                if value is self:
                    module[name] = compiled
        return compiled

    def __getattr__(self, name):
        return getattr(self._compile(), name)



class StopRequest:
    """The run's stop request: the first SIGINT/SIGTERM (_SignalHandlers), or
    the main thread leaving parallel downloads on an error (Workers.map).

    The main thread hears a signal through its handler (an Interrupted raised
    where it is); a worker thread hears nothing, and waited for its lock, its
    lease keeper, a read or a backoff to end on its own: 15 s and more after
    the first Ctrl-C, with the main thread waiting for it. So every wait that
    may outlast a moment observes this: a wait for a lock gives up at the next
    slice (StalkeerSqliteDatabase), a sleep is :meth:`sleep`, a blocked read is
    cut by a callback (:meth:`cutting`). Once requested, a wait in any thread
    ends there: what could not be recorded is left as a kill leaves it, for the
    next run once the lease is stale. One per process (RUN_STOP), cleared when
    a run starts."""

    def __init__(self):
        self._event = threading.Event()
        # Reentrant: the main thread's signal handler calls request() and may run
        # while that thread is inside cutting() holding the lock.
        self._lock = threading.RLock()
        self._cuts: dict[int, Callable[[], None]] = {}
        self.signum: int | None = None
        # Downloads stopped without their pause recorded (the database did not
        # take it at once): the run's last line must not say "what was paused
        # resumes on the next run" of them (trial-18b L1).
        self.unrecorded = 0

    def request(self, signum: int | None = None) -> None:
        """Stop (``signum``: the signal that asked; none: the run is ending on
        an error, told to workers as SIGTERM) and cut what the waits block in."""
        with self._lock:
            if self._event.is_set():
                return
            self.signum = signum or signal.SIGTERM
            self._event.set()
            cuts = list(self._cuts.values())
        for cut in cuts:
            with contextlib.suppress(Exception):
                cut()

    def clear(self) -> None:
        with self._lock:
            self._event.clear()
            self.signum = None
            self.unrecorded = 0
            self._cuts.clear()

    def requested(self) -> bool:
        return self._event.is_set()

    def note_unrecorded(self) -> None:
        """One more download stopped without its pause recorded (``unrecorded``)."""
        with self._lock:
            self.unrecorded += 1

    def check(self) -> None:
        """Raise Interrupted when the stop is requested."""
        if self._event.is_set():
            raise Interrupted(self.signum)

    def sleep(self, seconds: float) -> None:
        """time.sleep that ends at the stop (raising Interrupted)."""
        if self._event.wait(seconds):
            raise Interrupted(self.signum)

    @contextlib.contextmanager
    def cutting(self, cut: Callable[[], None]):
        """Inside, ``cut`` is called on the stop (at once when it was requested
        already): it ends what a thread blocks in (shuts a socket down)."""
        key = id(cut)
        with self._lock:
            self._cuts[key] = cut
            late = self._event.is_set()
        try:
            if late:
                cut()
            yield
        finally:
            with self._lock:
                self._cuts.pop(key, None)


RUN_STOP = StopRequest()


def utcnow() -> dt.datetime:
    """Naive UTC timestamp: what every timestamp column stores."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def where_stopped(n) -> str:
    """'at 1.5 MiB', or 'before its first byte' when none was written (or it is
    not known): a pause or progress message never shows a '?' for a size."""
    return f'at {human_bytes(n)}' if n else 'before its first byte'


def human_bytes(n) -> str:
    if n is None:
        return '?'
    n = float(n)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(n) < 1024 or unit == 'TiB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1024
    return f'{n:.1f} TiB'  # pragma: no cover


def make_owner_id() -> str:
    """``hostname-pid-random``: unique per process run, readable in the DB."""
    return f'{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}'


_BOOTTIME = getattr(time, 'CLOCK_BOOTTIME', None)


@contextlib.contextmanager
def collector_paused():
    """The cyclic garbage collector off inside (as it was after): for work that
    makes many short-lived objects without cycles (records read from an app,
    what matching knows of each), where its passes over the heap only cost time.
    Anything cyclic made inside is collected after, by the next pass."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def lease_clock() -> float:
    """Seconds on a clock that keeps running while this process is stopped or the
    machine sleeps (Linux CLOCK_BOOTTIME; the monotonic clock elsewhere). Lease
    deadlines are kept on it, so a holder that was frozen knows, the moment it
    wakes, that its lease ran out meanwhile."""
    if _BOOTTIME is not None:
        return time.clock_gettime(_BOOTTIME)
    return time.monotonic()  # pragma: no cover - not Linux


def crash_point(name: str) -> None:
    """Test-only hook: SIGKILL this process here when STALKEER_TEST_CRASH_AT names
    ``name``. The points are the steps of the finish sequence (README, "How
    download tracking works"); a hook, rather than strace, kills at the exact
    step on any kernel and names each step where the code takes it. With
    STALKEER_TEST_STOP_AT naming it, SIGSTOP (once) instead."""
    global _TEST_STOP_AT
    if _TEST_CRASH_AT and _TEST_CRASH_AT == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if _TEST_STOP_AT and _TEST_STOP_AT == name:
        _TEST_STOP_AT = ''              # once
        os.kill(os.getpid(), signal.SIGSTOP)


# ---- redaction ---------------------------------------------------------------
# Xtream-style playlist URLs carry the account in the path (/movie/USER/PASS/1.mkv,
# /hls/USER/PASS/1.m3u8, /USER/PASS/1), in the query (get.php?username=..&password=..)
# or in the userinfo; API keys, database passwords and the serve token are secrets
# too. Everything printed, logged, served or sent goes through redact(), which
# masks with two nets:
#  1. by value: every secret known to this run -- the configured ones at start
#     (Config.register_secrets: [m3u] url, API keys, ...), and the account of
#     every URL stalkeer handles: downloads, stored rows it prints
#     (register_url_secrets) -- wherever it appears, whatever the path shape;
#  2. by pattern: the URL shapes below, for what was not learnt yet.

_XTREAM_PREFIXES = ('movie', 'movies', 'series', 'live', 'timeshift', 'vod', 'hls', 'vodstream')
# The last path segment of a stream: its numeric id, maybe with an extension.
# The two segments before it are the account (/USER/PASS/123, /hls/USER/PASS/123.m3u8).
_STREAM_ID = _LazyPattern(r'\d+(?:\.\w{1,5})?')
_LIVE_STREAM_ID = _LazyPattern(r'\d+(?:\.(?:ts|m3u8))?', re.I)
_SECRET_QUERY_KEYS = frozenset({
    'username', 'password', 'user', 'pass', 'passwd', 'pwd', 'token', 'apikey',
    'api_key', 'key', 'auth', 'secret'})
_URL_IN_TEXT = _LazyPattern(r'''\b(?:https?|rtmps?|rtsp|postgres(?:ql)?)://[^\s'"<>]+''', re.I)
# Path-only forms, as requests puts them into its exception texts ("url: /movie/u/p/1.mkv").
# Only there: a library folder (/lib/movies/AC/DC/) is a path, not an account.
_XTREAM_PATH_IN_TEXT = _LazyPattern(
    r'(\burl: /(?:%s)/)[^/\s]+/[^/\s]+(?=/)' % '|'.join(_XTREAM_PREFIXES), re.I)
_SECRET_QUERY_IN_TEXT = _LazyPattern(
    r'([?&](?:%s)=)[^&#\s\'"]+' % '|'.join(sorted(_SECRET_QUERY_KEYS)), re.I)


def distinctive_secret(secret: str) -> bool:
    """Whether a secret is long and odd enough to be masked by value wherever it
    appears: 8 characters or more, or 6 or more mixing letters, digits or signs.
    A short number (a year: password 1995) or a plain short word would hit
    ordinary text ("Heat (1995)") and, masked there, give itself away
    ("Heat (***)"); such a secret is masked only where it stands as a
    credential (a whole path segment, a query value, the userinfo's password),
    and `config --check` warns about it (weak_secret_notes)."""
    if len(secret) >= 8:
        return True
    return len(secret) >= 6 and not secret.isdigit() and not secret.isalpha()


# A weak (not distinctive) secret is masked only where it is bounded like a
# credential: after '/', '=' or the userinfo's ':', and before '/', '&', '#',
# '?', '@', a quote, a space or the end.
_WEAK_SECRET = r'(?<=[/=:])(?:%s)(?=[/&#?@\s\'"]|$)'


class Redactor:
    """Knows the secrets of this run and masks them in any text. Thread-safe
    (serve renders rows, and learns their accounts, in many threads).
    Distinctive secrets (distinctive_secret) are masked by value anywhere; the
    others only where they stand as a credential (_WEAK_SECRET)."""

    def __init__(self):
        self._secrets: set[str] = set()
        self._weak: set[str] = set()
        # What a secret is shown as when not '***' (a notification URL whole: its host kept).
        self._shown_as: dict[str, str] = {}
        self._lock = threading.Lock()
        self._pattern: re.Pattern | None = None

    def add(self, secret, shown_as: str = '***') -> None:
        """Mask ``secret`` wherever it shows up, as ``shown_as``."""
        secret = '' if secret is None else str(secret)
        # One or two characters are not even masked as a segment (/1/ is an id);
        # the URL patterns mask them where they are credentials.
        if len(secret) < 3 or secret in self._secrets or secret in self._weak \
                or secret.lower() in _XTREAM_PREFIXES:
            return
        with self._lock:
            if shown_as != '***':
                self._shown_as[secret] = shown_as
            (self._secrets if distinctive_secret(secret) else self._weak).add(secret)
            longest_first = lambda found: sorted(found, key=len, reverse=True)  # noqa: E731
            alternatives = [re.escape(s) for s in longest_first(self._secrets)]
            if self._weak:
                alternatives.append(_WEAK_SECRET % '|'.join(
                    re.escape(s) for s in longest_first(self._weak)))
            # One alternation, swapped in whole: readers never lock.
            self._pattern = re.compile('|'.join(alternatives))

    def __call__(self, text) -> str:
        if text is None:
            return ''
        text = str(text)
        # The known secrets first, each as one unit: a notification URL's whole
        # path and query is one ('http://host/***'); masked by the URL patterns
        # first, its query value was '***' and its path left in pieces around
        # other '***' that the whole no longer matched (trial-15e F8).
        pattern = self._pattern
        if pattern is not None:
            shown_as = self._shown_as
            text = pattern.sub((lambda m: shown_as.get(m.group(), '***')) if shown_as else '***', text)
        # URLs merely shown are not learnt from: an example in a message
        # ('postgresql://user:pass@host/db') would make 'user' a secret.
        # Each pattern only where the text has what it needs ('://', 'url: /', '='):
        # a scan less per pattern for most lines (issue 15: every plan line).
        if '://' in text:
            text = _redact_urls_in(text)
        if ': /' in text:
            text = _XTREAM_PATH_IN_TEXT.sub(r'\1***/***', text)
        if '=' in text:
            text = _SECRET_QUERY_IN_TEXT.sub(r'\1***', text)
        return text


redact = Redactor()

# The longest scheme _URL_IN_TEXT knows ('postgresql'): a URL starts at most this
# many characters before its '://'.
_URL_SCHEME_MAX = 10


def _redact_urls_in(text: str) -> str:
    """``_URL_IN_TEXT.sub(redact_url of each URL, text)``, its search started a
    scheme's length before each '://' rather than at every character of the text
    (issue 15: a plan line is ~150 characters for one URL). A search from a
    position still sees the character before it (``\b``)."""
    pieces, done = [], 0
    at = text.find('://')
    while at >= 0:
        m = _URL_IN_TEXT.search(text, max(done, at - _URL_SCHEME_MAX))
        if m is None:
            break
        pieces += (text[done:m.start()], redact_url(m.group(0)))
        done = m.end()
        at = text.find('://', done)
    if not pieces:
        return text
    pieces.append(text[done:])
    return ''.join(pieces)


# The usual playlist URL: http(s), an ASCII host[:port] without userinfo, a path,
# no query or fragment, no whitespace or control characters. For it urlsplit and
# urlunsplit change nothing, so redact_url splits it by hand (a dry run redacts
# every plan line's URL twice; tests compare both ways on the shared playlists).
# Its port is digits: in http://bob:Secret/x (the '@' forgotten) the "port" is
# the password, which _redact_url_split masks.
_PLAIN_URL = _LazyPattern(r"(https?://[A-Za-z0-9._~%!$&'()*+,;=-]+(?::[0-9]*)?)(/[^?#\x00-\x20\x7f]*)?")


def redact_url(url: str) -> str:
    """Mask credentials in one URL: userinfo, the account path pair, query values."""
    m = _PLAIN_URL.fullmatch(url) if '@' not in url else None
    if m is not None and not _bad_port_digits(m[1].rpartition(':')[2] if m[1].count(':') > 1 else ''):
        path = m[2]
        if not path:
            return url
        segments = path.split('/')
        account = _account_segments(segments)
        if not account:
            return url
        for i in account:
            segments[i] = '***'
        return m[1] + '/'.join(segments)
    return _redact_url_split(url)


def _redact_url_split(url: str, after_userinfo: bool = False, account_path: bool = False) -> str:
    """redact_url for any URL, through urllib.parse. ``after_userinfo``: ``url``
    is one whose userinfo was cut off (masked by the caller), so its host is
    no user whose '@' was forgotten. ``account_path``: the path it had before
    that held an account (/movie/a@b.com/PASS/1.mkv), all of whose segments
    but the last are masked."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return '<unparsable url>'
    if parts.scheme.lower() == 'sqlite':
        return url   # a file path, nothing secret
    userinfo, bare = (None, url) if _no_userinfo_to_mask(url, parts) else split_userinfo(url)
    if userinfo is not None:
        # The user is half of the account, as a query's username= is: masked
        # too; all of it up to the '@' that ends it (userinfo_end), whatever
        # '/', '?', '#' or '@' the password holds.
        # http://h/movie/a@b.com/PASS/1.mkv: urllib's path was an account's, and
        # what follows its '@' holds the rest of it (the password).
        masked = _redact_url_split(bare, after_userinfo=True,
                                   account_path='/' in userinfo and bool(_account_segments(parts.path.split('/'))))
        return masked.replace('://', '://***:***@' if ':' in userinfo else '://***@', 1)
    netloc = parts.netloc
    # A port that is no port (port_problem: no number, 0, above 65535) may be a
    # password whose '@' was forgotten (http://bob:Secret/x, http://bob:20240615/x:
    # trial-18a F4), its "host" the user: masked as userinfo is. A valid port
    # (http://bob:4242/x) cannot be told from one, and is shown.
    masked = _masked_port(netloc)
    if masked is not None:
        netloc = masked if after_userinfo else '***:***'
    segments = parts.path.split('/')
    for i in range(1, len(segments) - 1) if account_path else _account_segments(segments):
        segments[i] = '***'
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = '&'.join(
            f'{k}=***' if k.lower() in _SECRET_QUERY_KEYS else
            (f'{k}={v}' if v or '=' in query else k)
            for k, v in pairs)
    return urllib.parse.urlunsplit((parts.scheme, netloc, '/'.join(segments), query, parts.fragment))


def _no_userinfo_to_mask(url: str, parts) -> bool:
    """Whether every '@' of ``url`` after urllib's netloc (which holds none) is
    one the masking covers without reading a userinfo up to it, as requests
    sends the URL: inside the account segments of an Xtream path
    (``/movie/me@mail.example.com/PASS/101.mkv``, masked ``/movie/***/***/``),
    or inside the value of a secret query key (``?password=Pa@ss/Wd9&…``,
    masked ``password=***``). Read as a userinfo instead, the text after that
    '@' was shown: ``http://***:***@mail.example.com/***/101.mkv`` gave the
    account's domain and hid the host, ``http://***:***@ss/Wd9&type=…`` most of
    a password (newcomer trial 3). Any other '@' after the netloc keeps the
    masking's longer reading (userinfo_end)."""
    if '@' in parts.netloc:
        return False
    segments = parts.path.split('/')
    for i in _account_segments(segments):
        segments[i] = ''
    if '@' in '/'.join(segments) or '@' in parts.fragment:
        return False
    for pair in parts.query.split('&'):
        key, _, value = pair.partition('=')
        if '@' in key or ('@' in value and key.lower() not in _SECRET_QUERY_KEYS):
            return False
    return True


# What may follow the '@' that ends a userinfo: a host[:port] (or [IPv6]:port,
# or nothing), up to the path, query or fragment. An '@' that urllib finds in
# the query (?email=a@b&c=d) is followed by more query ('&', '='): no userinfo
# ends there.
_HOST_AFTER_AT = _LazyPattern(r"[^/?#@&=\s'\"<>]*(?=[/?#]|$)")
# Where urllib ends a URL's netloc: the first '/', '?' or '#' (or the end).
_NETLOC_END = _LazyPattern(r'[/?#]|$')
# What follows the '@' of a query value that is a mail address (?mail=a@b.org,
# the URL's last value): a dotted domain, no port, up to the end or a '#'. A
# host after a password's '@' comes with a port, a path or no dot (@nas/x).
_QUERY_ADDRESS = _LazyPattern(r"[^/?#@&=:\s'\"<>]*\.[^/?#@&=:\s'\"<>]*(?=#|$)")


def userinfo_end(url: str) -> int:
    """Index in ``url`` of the '@' that ends its userinfo, -1 when it has none.

    urllib ends the netloc at the first '/', '?' or '#', so a password holding
    one (``http://bob:Pw@123/x@nas/`` or ``http://bob:Sec?ret9@nas/``) was read
    as host '123' or port 'Sec' and the rest of the password shown as path or
    query. The userinfo ends at the LAST '@' that can end one: the last '@' of
    urllib's netloc, or an '@' after it that a host[:port] follows
    (_HOST_AFTER_AT), or -- when urllib's "port" is no port (the password's
    start) -- any '@' after it. Secrets first, the masking's rule only (what
    is refused is userinfo_problem's): whatever urllib's netloc holds, a
    user-only userinfo holding '/' (``http://bob/x@nas/``) as much as a path or
    query '@' (``http://h/movies/a@b.com/1.mkv``), so such a URL is masked
    as if that were userinfo (``http://***@b.com/1.mkv``): over-masked, a
    password is never shown in part (``?mail=a@b.org`` cannot be told from a
    password holding ``?a=b@``: userinfo_problem's one shape let through).
    _redact_url_split reads no userinfo where every '@' is one it masks
    otherwise (_no_userinfo_to_mask)."""
    scheme, sep, rest = url.partition('://')
    if not sep or scheme.lower() == 'sqlite':
        return -1
    start = len(scheme) + 3
    at = url.rfind('@', start)
    if at < 0:
        return at
    netloc_end = start + len(re.split(r'[/?#]', rest, maxsplit=1)[0])
    if at < netloc_end:
        return at
    netloc = url[start:netloc_end]
    any_at = '@' not in netloc and _no_port(_port_text(netloc)[1])
    while at >= netloc_end:
        if any_at or _HOST_AFTER_AT.match(url, at + 1):
            return at
        at = url.rfind('@', start, at)
    return at


def split_userinfo(url: str) -> tuple[str | None, str]:
    """(the userinfo of ``url`` as userinfo_end reads it, or None; ``url``
    without it and its '@')."""
    at = userinfo_end(url)
    if at < 0:
        return None, url
    scheme = url.partition('://')[0]
    return url[len(scheme) + 3:at], f'{scheme}://{url[at + 1:]}'


USERINFO_HINT = ("an '@', '/', '?' or '#' in the user or password: "
                 'write them as %40, %2F, %3F and %23')


def split_known_userinfo(url: str, written: bool = True) -> tuple[str | None, str]:
    """split_userinfo for learning secrets by value (register_url_secrets,
    register_secret_url): where the authority is unambiguous
    (userinfo_problem), the userinfo urllib reads, the one sent -- not the
    masking's longer reading, which took the host of
    ``http://127.0.0.1:9/x?mail=a@b.org`` for a user and so masked
    '127.0.0.1' in every message after; where it is ambiguous, the masking's,
    the whole of what may be a password. ``written=False``: a provider's URL
    (a playlist line's, a download's), judged by the playlist rule
    (userinfo_problem): an Xtream account that is an e-mail address,
    ``/movie/a@b.com/PASS/1.mkv``, is read as requests sends it. Read the
    masking's way, it taught the host '127.0.0.1' and '18871/movie/a' as
    secrets, and masking those first in a message broke the URL apart so that
    its password was shown (a newcomer trial)."""
    if userinfo_problem(url, database=url[:8].lower().startswith('postgres'), written=written):
        return split_userinfo(url)
    scheme, sep, _ = url.partition('://')
    if not sep:
        return None, url
    start = len(scheme) + 3
    at = url.rfind('@', start, _NETLOC_END.search(url, start).start())
    if at < 0:
        return None, url
    return url[start:at], f'{scheme}://{url[at + 1:]}'


def userinfo_problem(url: str, database: bool = False, written: bool = True) -> str:
    """Why the user or password of ``url`` cannot be given as written, or '':
    its authority is ambiguous, an unencoded '@', '/', '?' or '#' in the user
    or password being one reading of it (USERINFO_HINT). urllib and requests
    end the address at the first '/', '?' or '#' and read the host after the
    last '@' before it, so such a URL went to a host taken from the password
    (``connection to server at "123"``, ``http://bob:1234/x@nas/`` to host
    'bob' port 1234) or quoted its rest as a path, a query parameter's name or
    a port.

    Ambiguous: urllib's netloc (``scheme://`` to the first '/', '?' or '#')
    holds two '@' (``bob:a@b@nas``), or an '@' after it can end a userinfo --
    a host[:port] follows it up to a '/', '?', '#' or the end (_HOST_AFTER_AT;
    any '@' when urllib's "port" before it is no port, ``bob:Sec?ret9@nas``),
    whatever the netloc holds: ``http://bob/x@nas/`` (a user holding '/') is
    refused as ``http://h/movies/a@b.com/1.mkv`` is, which must be written
    ``a%40b.com``. Unambiguous, so accepted: an '@' in the query after a
    ``name=`` (``http://bob:pw@h/x?mail=a@b.org``,
    ``get.php?…&username=a@b.org``), a query value's when a dotted domain
    without a port follows it up to the end or a '#' (_QUERY_ADDRESS). The one
    shape so let through: a password that reads as a valid port or holds an
    '@', then '?', a '=' and its '@', before a dotted host with no port nor
    path (``http://bob:1234?a=b@nas.lan``). A database URL (``database``)
    holds no '@' after its host: any '@' that a host follows is refused, in
    its query too. Never quotes the URL. Runs on every playlist line that
    holds an '@' (url_problem caches it by the line's head).

    ``written=False``: a URL a provider wrote (a playlist line, a download made
    of one), not the user: an '@' after urllib's netloc is then taken as the
    part of the path or query it is there, as requests sends it. Xtream
    providers whose account names are e-mail addresses write
    ``http://h:8080/movie/a@b.com/PASS/1.mkv``: refusing those lines lost a
    whole provider's catalogue, while the user's own ``http://bob/x@nas/``
    stays refused (the user can encode it; no provider line is fixed by a
    hint). A netloc with no '@' is then judged by its port alone: an '@'
    after one whose "port" is no port (``bob:Sec?ret9@nas``) is refused. A
    netloc holding an '@' is judged as a written one: ``bob:Pw@123/x@nas``
    would be sent to host '123'."""
    scheme, sep, rest = url.partition('://')
    if not sep or scheme.lower() == 'sqlite':
        return ''
    start = len(scheme) + 3
    at = url.find('@', start)
    if at < 0:
        return ''
    netloc_end = _NETLOC_END.search(url, start).start()
    if at < netloc_end:
        if url.find('@', at + 1, netloc_end) >= 0:
            return USERINFO_HINT
        at = url.find('@', netloc_end)
        if at < 0:
            return ''
        any_at = False
    else:
        any_at = _no_port(_port_text(url[start:netloc_end])[1])
        if not written:
            return USERINFO_HINT if any_at else ''
    query = -1 if database else url.find('?', netloc_end)
    while at >= 0:
        if any_at:
            return USERINFO_HINT
        if _HOST_AFTER_AT.match(url, at + 1) and not (
                0 <= query < at and url.find('=', query, at) >= 0 and _QUERY_ADDRESS.match(url, at + 1)
        ) and not (0 <= query < at and _in_secret_query_value(url, query, at)):
            return USERINFO_HINT
        at = url.find('@', at + 1)
    return ''


def _in_secret_query_value(url: str, query: int, at: int) -> bool:
    """Whether the '@' at ``at`` lies in the value of a secret query key
    (_SECRET_QUERY_KEYS) of the query that starts at the '?' at ``query``:
    ``get.php?username=bob&password=Pa@ss/Wd9&type=m3u_plus`` is a provider's
    own URL, sent as written, its password masked whole as a query value
    (_no_userinfo_to_mask); refused as ambiguous, the refusal's masking also
    hid its host (a newcomer trial)."""
    start = max(url.rfind('&', query, at), query) + 1
    key, eq, _ = url[start:at].partition('=')
    return bool(eq) and key.lower() in _SECRET_QUERY_KEYS


def _port_text(netloc: str) -> tuple[bool, str, str]:
    """(a ':' follows the host, the port's text, all the text after that ':')
    of a URL's netloc, read as urllib reads the port (SplitResult._hostinfo):
    after the host's FIRST ':', after the ']' of an [IPv6] one. Read from the
    last ':', the '@' forgotten before a password that holds one
    (http://bob:Summer:2024/x) gave a port of digits that looked fine, and the
    password was shown (trial-18c N1)."""
    hostinfo = netloc.rpartition('@')[2]
    _, bracket, bracketed = hostinfo.partition('[')
    if bracket:
        hostinfo = bracketed.partition(']')[2]
    _, colon, after = hostinfo.partition(':')
    # A URL found in a message may end with the sentence's ':' ("cannot reach
    # the panel at http://h:8080: …"): that one is no part of the port.
    return bool(colon), after[:-1] if after.endswith(':') else after, after


def _masked_port(hostinfo: str) -> str | None:
    """``hostinfo`` (host[:port], what follows a netloc's '@') with all after
    the host's ':' masked when that is no port (_no_port), or None when the
    port is fine or absent. The one masking of redact_url and masked_secret_url.
    A '[' after the host's start (``bob:[::1]``: an '@' forgotten before a
    bracketed host) masks it all: urllib reads the host in the brackets, and
    the text before them is the user, maybe the password."""
    if not hostinfo.startswith('[') and ('[' in hostinfo or ']' in hostinfo):
        return '***'
    if _bare_ipv6_host(hostinfo):       # http://::1:8080/x: a host, no user:password
        return None
    # A '\' ends host:port as urllib3 (the WHATWG rule) reads it: in
    # http://h:8080\x the port is 8080, judged as http://h:8080/x is.
    head = hostinfo.partition('\\')[0]
    colon, port, after = _port_text(head)
    if not (colon and _no_port(port)):
        return None
    return head[:len(head) - len(after)] + '***'


def _bare_ipv6_host(hostinfo: str) -> bool:
    """Whether ``hostinfo`` (after a netloc's '@') is an IPv6 address written
    without its [ ], maybe with a :port after it (``::1:18931``, ``fe80::1``):
    a host, to be said so (_head_problem) and shown, not taken for user:password."""
    if hostinfo.count(':') < 2:
        return False
    address, _, port = hostinfo.rpartition(':')
    return _ipv6_address(hostinfo) or (port.isascii() and port.isdigit() and _ipv6_address(address))


def _bad_port_digits(port: str) -> bool:
    """A port's text of ASCII digits that is no TCP port: 0 or above 65535."""
    return port.isascii() and port.isdigit() and not 0 < int(port) <= 65535


def _no_port(port: str) -> bool:
    """A port's text (_port_text) is no TCP port (port_problem),
    so maybe a password with the '@' forgotten: masked. Not '' (no port) nor an
    IPv6 address's last group (``[::1]``)."""
    return bool(port) and ']' not in port and (not (port.isascii() and port.isdigit())
                                               or _bad_port_digits(port))


def _account_segments(segments: list[str]) -> tuple[int, ...]:
    """Indexes of the USER and PASS segments in a split URL path, or ()."""
    # ['', 'movie', 'USER', 'PASS', '1.mkv'] (and /timeshift/USER/PASS/60/when/1.ts)
    if len(segments) >= 5 and segments[1].lower() in _XTREAM_PREFIXES:
        return 2, 3
    # ['', 'USER', 'PASS', '123'], ['', 'any', 'USER', 'PASS', '123.m3u8'], ...
    if len(segments) >= 4 and _STREAM_ID.fullmatch(segments[-1]):
        return len(segments) - 3, len(segments) - 2
    return ()


def _learnable(value: str) -> bool:
    """Worth masking by value wherever it appears: not a short number (a year,
    an id: masked inside URLs by pattern only) and not a path word."""
    return not (value.isdigit() and len(value) < 6) and value.lower() not in _XTREAM_PREFIXES


def register_url_secrets(url: str, configured: bool = False) -> None:
    """Remember the account inside a URL so it is masked wherever it shows up.
    ``configured``: a URL from the configuration, whose account surely is one,
    so even a short number in it is masked by value, and whose userinfo is
    read as the user wrote it; else a provider's (a line's, a download's),
    read as requests sends it (split_known_userinfo ``written``)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return
    if parts.scheme.lower() == 'sqlite':
        return
    found = []
    # The userinfo as far as it goes (userinfo_end) where it is ambiguous:
    # urllib's password of http://bob:Pw@123/x@nas/ is 'Pw', of
    # http://bob:Sec?ret9@nas/ none (split_known_userinfo).
    userinfo, bare = split_known_userinfo(url, written=configured)
    if userinfo is not None:
        username, colon, password = userinfo.partition(':')
        with contextlib.suppress(ValueError):
            parts = urllib.parse.urlsplit(bare)
        if password:
            found.append(password)
        # The user too, as a query's username= is, but not a database's: a role such
        # as 'postgres' masked by value would mangle every 'postgresql://' shown
        # (redact_url masks it in the URL all the same).
        if username and not parts.scheme.lower().startswith('postgres'):
            found.append(username)
    segments = parts.path.split('/')
    account = _account_segments(segments)
    # Without a known prefix only the Xtream live shape /USER/PASS/123[.ts|.m3u8] is
    # learnt: /films/2019/123.mkv is a folder tree (masked in the URL all the same).
    if account and (segments[1].lower() in _XTREAM_PREFIXES or (
            len(segments) == 4 and _LIVE_STREAM_ID.fullmatch(segments[3]))):
        found += [segments[i] for i in account]
    found += [value for key, value in urllib.parse.parse_qsl(parts.query)
              if key.lower() in _SECRET_QUERY_KEYS]
    for value in found:
        for form in {value, urllib.parse.unquote(value)}:
            if configured or _learnable(form):
                redact.add(form)


def masked_secret_url(url: str) -> str:
    """A URL that is a key in itself (register_secret_url) as `config` shows it:
    an http(s) one keeps its host and port, its userinfo masked as redact_url
    masks it and all after the host as one ``/***``
    (``https://***:***@hc-ping.com/***``), as errors about it show it. Any
    other scheme (Apprise's ``tgram://TOKEN/CHAT``) holds its key where a host
    would be: ``scheme://***``."""
    if not has_url_scheme(url):
        return '***'
    scheme = url.partition('://')[0]
    # The userinfo as far as it goes (userinfo_end): a password holding '/',
    # '?', '#' or '@' is masked whole, never read as host, port or path.
    userinfo, bare = split_userinfo(url)
    try:
        parts = urllib.parse.urlsplit(bare)
        host = parts.netloc
    except ValueError:
        parts = host = None
    if parts is None or parts.scheme.lower() not in ('http', 'https') or not host:
        return f'{scheme}://***'
    masked = _masked_port(host)
    if masked is not None:
        host = '***:***' if userinfo is None else masked     # as redact_url
    if userinfo is not None:
        host = ('***:***@' if ':' in userinfo else '***@') + host
    rest = bare.split('://', 1)[1][len(parts.netloc):]
    return f'{parts.scheme}://{host}' + ('/***' if rest.strip('/') else '')


def register_secret_url(url: str) -> None:
    """A URL that is a key in itself (a webhook's path, a healthcheck UUID, an
    Apprise URL): all of it after the host (after ``scheme://`` for non-HTTP
    schemes), and each of its parts that looks like a token (8+ characters with
    a digit, not a host name), is masked by value wherever it shows up, as
    `config` shows it."""
    url = (url or '').strip()
    scheme, sep, rest = url.partition('://')
    if not sep:
        redact.add(url)
        return
    if scheme.lower() in ('http', 'https'):
        userinfo, bare = split_known_userinfo(url)
        netloc, _, rest = bare.partition('://')[2].partition('/')
        if userinfo is not None:
            # User and password each: shown as redact_url shows them (***:***@host),
            # the password to the '@' that ends it (userinfo_end).
            for part in userinfo.split(':', 1):
                for form in {part, urllib.parse.unquote(part)}:
                    redact.add(form)
    rest = rest.strip('/')
    # A short path ('hook') would mask that word in every message: the URL is masked
    # whole, shown as `config` shows it, its host kept. Nothing after the host: no key
    # but the userinfo (above).
    if len(rest) >= 8:
        redact.add(rest)
    elif rest:
        redact.add(url, masked_secret_url(url))
    for part in re.split(r'[/?&=#:@]+', rest):
        # A host name or address ('127.0.0.1') is no token: it would be masked everywhere.
        if len(part) >= 8 and any(c.isdigit() for c in part) and '.' not in part:
            redact.add(part)
    # Each query value as one unit, whatever it holds ('.', '-', '%2B'), as written,
    # decoded and encoded: a token=… shown on its own is masked whole, never in
    # pieces around the parts above (trial-15e F8). A short value of an ordinary
    # key (format=json) is no secret.
    query = rest.partition('?')[2].partition('#')[0]
    for pair in query.split('&'):
        key, _, value = pair.partition('=')
        if value and (key.lower() in _SECRET_QUERY_KEYS or len(value) >= 8):
            for form in {value, urllib.parse.unquote(value), urllib.parse.unquote_plus(value),
                         urllib.parse.quote(urllib.parse.unquote(value), safe='')}:
                redact.add(form)


# What a terminal or a log reader would act on instead of showing: C0/C1 controls
# (ESC starts OSC/CSI sequences that set titles, colours, even the clipboard; CR
# and BEL hide or overwrite text), line separators, bidirectional overrides.
# ``\n`` only separates lines of one message: a field (clip) escapes it too.
_TERMINAL_CONTROLS = _LazyPattern('[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]')
_FIELD_CONTROLS = _LazyPattern('[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]')


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f'\\x{code:02x}' if code < 0x100 else f'\\u{code:04x}'


def clip(text, limit: int = DISPLAY_FIELD_MAX) -> str:
    """``text`` (one field: a title, a path) cut to ``limit`` characters, an
    ellipsis marking the cut; control characters, newlines included, shown
    escaped (``\\x1b``, ``\\n`` as ``\\x0a``)."""
    text = '' if text is None else str(text)
    text = text if len(text) <= limit else text[:limit - 1] + '…'
    return _FIELD_CONTROLS.sub(_escaped, text)


def first_of(names, most: int, sep: str = ', ') -> str:
    """The first ``most`` of ``names`` (strings) joined by ``sep``, then
    ``and N more`` when there are more: a list shown in part says so, as
    clip()'s ellipsis does for a field."""
    names = list(names)
    rest = len(names) - most
    return sep.join(names[:most]) + (f' and {rest} more' if rest > 0 else '')


def shown(text, limit: int = DISPLAY_LINE_MAX) -> str:
    """What may be displayed of ``text``: redacted, each line clipped to ``limit``.

    Only a bounded head of a huge text is even looked at; a line cut there is
    dropped, so a secret split by that cut (and not recognisable any more) is
    never shown."""
    text = '' if text is None else str(text)
    head = max(64 * limit, 65536)
    if len(text) > head:
        text = text[:head]
        text = text[:text.rfind('\n')] if '\n' in text else text
    return '\n'.join(clip(line, limit) for line in redact(text).split('\n'))


def shown_tree(data, limit: int = DISPLAY_LINE_MAX):
    """A JSON-able document with every string in it passed through shown()."""
    if isinstance(data, str):
        return shown(data, limit)
    if isinstance(data, dict):
        return {key: shown_tree(value, limit) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [shown_tree(value, limit) for value in data]
    return data


class RedactingFormatter(logging.Formatter):
    """Log lines redacted and clipped (shown()), the message cut before formatting.
    The arguments are data (titles, paths, answers of remote apps): a newline in
    one is escaped, so that no argument can forge a log line of its own."""

    def format(self, record):
        record = logging.makeLogRecord(vars(record))    # other handlers keep theirs
        if isinstance(record.args, tuple):
            record.args = tuple(a.replace('\n', '\\x0a').replace('\r', '\\x0d')
                                if isinstance(a, str) else a for a in record.args)
        record.msg, record.args = record.getMessage()[:65536], None
        return shown(super().format(record))


# ---- files and paths -----------------------------------------------------------


def detect_extension(url: str, content_type: str | None = None) -> str:
    """Extension from the URL path (or an XUI ``#.mkv`` fragment), else Content-Type, else .mkv."""
    for candidate in _url_path_and_fragment(url):
        ext = os.path.splitext(candidate)[1].lower()
        if ext in MEDIA_EXTENSIONS:
            return ext
    if content_type:
        ext = CONTENT_TYPE_EXTENSIONS.get(content_type.split(';')[0].strip().lower())
        if ext:
            return ext
    return DEFAULT_EXTENSION


def _url_path_and_fragment(url: str) -> tuple[str, str]:
    """urlsplit's path and fragment ('', '' when it cannot split ``url``); the usual
    playlist URL (_PLAIN_URL: no query, no fragment) split by hand, as redact_url
    does (issue 15: every plan line of a dry run)."""
    m = _PLAIN_URL.fullmatch(url)
    if m is not None:
        return m[2] or '', ''
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return '', ''
    return parts.path, parts.fragment


def has_media_extension(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in MEDIA_EXTENSIONS


def url_path(url: str) -> str:
    """The path of ``url``, or '' when it cannot be parsed (``http://[::1`` is not a URL)."""
    try:
        return urllib.parse.urlsplit(url).path
    except ValueError:
        return ''


def utf8_truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` bytes of UTF-8, never inside a character.

    File names are limited in bytes, not characters (NAME_MAX_BYTES): 180
    accented characters are 360 bytes. Undecodable bytes a file name brought
    from the filesystem (surrogate escapes) are kept as they were."""
    try:
        data = text.encode('utf-8', 'surrogateescape')
    except UnicodeEncodeError:       # a lone surrogate, e.g. from JSON "\ud800"
        data = text.encode('utf-8', 'replace')
    if len(data) <= max_bytes:
        return data.decode('utf-8', 'surrogateescape')
    cut = max_bytes
    while cut > 0 and (data[cut] & 0xC0) == 0x80:    # a continuation byte: back to the start
        cut -= 1
    return data[:cut].decode('utf-8', 'surrogateescape')


_O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_O_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)


def _under(path: str, root: str | None) -> bool:
    return bool(root) and os.path.commonpath([path, root]) == root


def open_folder(path: str, root: str | None = None, create: bool = True) -> int:
    """An O_DIRECTORY descriptor of the absolute folder ``path``, creating what
    is missing (unless not ``create``: FileNotFoundError).

    Walked from ``/`` one component at a time, each opened relative to the one
    before. A folder stalkeer creates is opened with O_NOFOLLOW, as is everything
    below it, and so is every folder below ``root`` (the folder holding Radarr's
    movie folders or Sonarr's series folders: the movie, series and season
    folders are never followed through a link, existing or not). A symlink there
    is refused with ELOOP/ENOTDIR instead of being followed. Folders down to
    ``root`` belong to the user (a library on a symlinked disk is common) and
    are used as they are. ``.`` and ``..`` are refused. Raises OSError."""
    if not os.path.isabs(path):
        raise OSError(errno.EINVAL, 'not an absolute path', path)
    parts = [p for p in path.split('/') if p]
    if any(p in ('.', '..') for p in parts):
        raise OSError(errno.EINVAL, 'a path with . or .. in it', path)
    root = os.path.normpath(root) if root else None
    strict_from = len([p for p in root.split('/') if p]) if _under(path, root) else len(parts)
    fd = os.open('/', os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    created = False
    try:
        for index, part in enumerate(parts):
            flags = os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC
            if created or index >= strict_from:
                flags |= _O_NOFOLLOW
            following = None
            if not created:
                try:
                    following = os.open(part, flags, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
            if following is None:
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                    created = True
                except FileExistsError:
                    pass      # made meanwhile, or a dangling link: never followed below
                following = os.open(part, flags | _O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = following
        return fd
    except BaseException:
        os.close(fd)
        raise


def folder_refusal(path: str, exc: OSError, root: str | None = None, verb: str = 'create',
                   target: str | None = None) -> str:
    """Why :func:`open_folder` refused ``path``, naming the component in the
    way: a symbolic link below ``root`` (or planted in a folder stalkeer made),
    or a file (a named pipe, …) where a folder must be, in the folder rule's
    words that `config --check` and a `download` DEST use: 'TARGET is out of
    reach (/x on the way is a file)' (_folder_on_the_way), ``target`` being
    the file to be made in ``path`` (``path`` itself when not given)."""
    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
        return f'cannot {verb} {path}: {exc.strerror or exc}'
    parts = [p for p in path.split('/') if p]
    root = os.path.normpath(root) if root else None
    strict_from = len([p for p in root.split('/') if p]) if _under(path, root) else len(parts)
    for i in range(len(parts)):
        here = '/' + '/'.join(parts[:i + 1])
        try:
            st = os.stat(here, follow_symlinks=i < strict_from)
        except OSError:
            break
        if stat.S_ISLNK(st.st_mode):
            return _link_refusal(here, root)
        problem = not stat.S_ISDIR(st.st_mode) and _folder_on_the_way(here, 'create')
        if problem:
            return f'{target or path} is {problem}'
    return f'refusing to follow a symbolic link on the way to {path}'


def _link_refusal(link: str, root: str | None) -> str:
    """open_folder's refusal of the symbolic ``link`` below ``root``, in the
    words of the run (folder_refusal) and of the check (link_below_root)."""
    return f'refusing to follow the symbolic link {link} (below {root or "/"})'


def link_below_root(path: str, root: str | None) -> str | None:
    """The first symbolic link on the way to ``path`` (itself included) below
    ``root``, where open_folder follows none, or None (``path`` not below
    ``root``, or no link there). lstat only; a missing component ends the walk
    (open_folder creates it, never a link)."""
    if not _under(path, root):
        return None
    parts = [p for p in path.split('/') if p]
    for i in range(len([p for p in os.path.normpath(root).split('/') if p]), len(parts)):
        here = '/' + '/'.join(parts[:i + 1])
        try:
            st = os.lstat(here)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            return here
    return None


def private_opener(path, flags: int) -> int:
    """``open(..., opener=private_opener)``: a file created 0600 (whatever the
    umask): the database, the log and the playlist hold the provider account."""
    fd = os.open(path, flags | _O_CLOEXEC, 0o600)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)      # a leftover of a crashed run keeps no wider mode
    return fd


def create_private(path: str) -> None:
    """Create ``path`` empty and 0600 unless it exists (an existing file keeps
    the mode its owner gave it). Errors are left to whoever opens it next."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600))


class PathProblem(str):
    """file_problem's or folder_problem's noun phrase ('a named pipe', 'a
    symbolic link to /r, which is nothing (a dangling link)'), carrying what
    stands there as ``kind`` (PathKind: at the end of the link, if any) and
    whether a symbolic link at the path leads there (``linked``)."""
    kind: str
    linked: bool

    def __new__(cls, text: str, kind: str, linked: bool = False) -> 'PathProblem':
        problem = super().__new__(cls, text)
        problem.kind, problem.linked = kind, linked
        return problem


def _mode_kind(st: os.stat_result) -> str:
    """The PathKind of what ``st`` describes (FILE_TYPES; as _describe_mode words it)."""
    return next((kind for test, kind, _phrase in FILE_TYPES if test(st.st_mode)), PathKind.OTHER)


def _describe_mode(st: os.stat_result) -> str:
    """What ``st`` describes as a noun phrase ('a file', 'a named pipe', 'a
    device': FILE_TYPES; as _mode_kind judges it)."""
    return next((phrase for test, _kind, phrase in FILE_TYPES if test(st.st_mode)), 'not a regular file')


def _not_a_file(path: str) -> str:
    """Why ``path`` cannot be read as a file, for 'config file …: PATH'
    (file_problem, role 'read': a dangling link is not "not found")."""
    what = file_problem(path, 'read')
    if what is None:
        return 'is not a regular file'
    if what.kind == PathKind.NOTHING:
        return 'not found'
    return 'is a directory, not a file' if what.kind == PathKind.FOLDER and not what.linked \
        else f'is {what}, not a file'


# The roles a configured file plays (file_problem). 'read': read whole, and more
# than once (a playlist: its head, then every line), so only a regular file will
# do, reached through a symlink or not. 'write': created when missing, else
# replaced or opened (the playlist m3u-download saves, the SQLite database):
# the user's own file at a path they chose, so a symlink is followed
# to the regular file it leads to; a missing one's folder is created as
# folder_problem's role 'create' says (m3u-download's os.makedirs; the
# database's folder is judged first, role 'exist': database_folder_problem).
# 'append': the same, and also a character device (a terminal, /dev/null,
# /dev/full), which takes appended lines as a shell's `>> /dev/tty` does (the
# log: nothing there is replaced or read); its folder must exist (the log is
# opened at start-up, no folder made for it). (The
# import lock, a file only stalkeer makes, is never reached through a link:
# import_lock_file_problem.)
FILE_ROLES = ('read', 'write', 'append')


def file_problem(path: str, role: str) -> PathProblem | None:
    """What stands at ``path`` when it cannot be the file of ``role``
    (FILE_ROLES), as a PathProblem: its kind, and a noun phrase ('a named pipe', 'a folder', 'a symbolic
    link to /r, which is nothing (a dangling link)', 'nothing (not found)'),
    or None when it can: a regular file, a symlink to one, or nothing yet
    in a folder that will take it (not 'read'; 'out of reach (/x on the way
    is a named pipe)' otherwise). Every file type is judged: folder, named pipe,
    socket, device, each also at the end of a symlink, a dangling symlink, a
    symlink loop, and a file the user may not use as the role needs
    (_access_problem: read, write, its folder). Looked at with
    lstat/stat/access only: nothing is opened, so a named pipe never blocks.
    `config --check` and the commands both judge by this, so the run refuses
    nothing the check passed (file_setting_problem words it)."""
    try:
        st, link = _standing(path, 'a file')
    except FileNotFoundError:
        if role == 'read':
            return PathProblem('nothing (not found)', PathKind.NOTHING)
        # Created: in its folder, which a file to replace has made when missing
        # (m3u-download's os.makedirs) and the log has not (its open needs it).
        return _on_the_way(path) if role == 'write' else _folder_on_the_way(os.path.dirname(path) or '.', 'exist')
    if st is None:
        return link
    if not (stat.S_ISREG(st.st_mode) or role == 'append' and stat.S_ISCHR(st.st_mode)):
        return PathProblem(link + _describe_mode(st), _mode_kind(st), bool(link))
    return _access_problem(path, link, role) if stat.S_ISREG(st.st_mode) else None


def _access_problem(path: str, link: str, role: str) -> PathProblem | None:
    """What the user may not do with the regular file ``path`` (reached
    through ``link``, file_problem's prefix) that ``role`` needs, as a
    PathProblem of kind DENIED ending '(permission denied)', or None. 'read'
    reads it; 'write' opens it to read and write (SQLite) or replaces it
    through a new file beside it (m3u-download's '.stalkeer-download', which
    `process` then reads), so it needs both and its folder to create files
    in; 'append' only writes (the log is never read). Judged with access(2)
    as the user running stalkeer: root passes every mode bit, so only an
    unprivileged run sees it."""
    if role in ('read', 'write') and not os.access(path, os.R_OK):
        what = 'a file it may not read'
    elif role in ('write', 'append') and not os.access(path, os.W_OK):
        what = 'a file it may not write'
    elif role == 'write' and not os.access(folder := os.path.dirname(os.path.realpath(path)), os.W_OK | os.X_OK):
        what = f'a file in {folder}, a folder it may not create files in'
    else:
        return None
    return PathProblem(f'{link}{what} (permission denied)', PathKind.DENIED, bool(link))


def _standing(path: str, end: str) -> tuple[os.stat_result | None, str]:
    """What stands at ``path``, through a symbolic link: (its stat, '' or 'a
    symbolic link to T, which is '), or (None, the PathProblem) when nothing
    can be reached there (out of reach, a link to nothing or a loop that never
    reaches ``end``). FileNotFoundError when nothing is there."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:          # ENOTDIR (a file on the way), EACCES, ENAMETOOLONG
        return None, _out_of_reach(path, exc)
    return _link_target(path, end) if stat.S_ISLNK(st.st_mode) else (st, '')


def _link_target(path: str, end: str) -> tuple[os.stat_result | None, str]:
    """What the symbolic link ``path`` leads to: (its stat, 'a symbolic link to
    T, which is '), or (None, the whole PathProblem) when it leads nowhere (a
    dangling link, a loop that never reaches ``end``: 'a file', 'a folder')."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, PathProblem(f'a symbolic link that loops (it never leads to {end})', PathKind.LOOP, True)
        what = PathProblem('nothing (a dangling link)', PathKind.DANGLING) if exc.errno == errno.ENOENT \
            else _out_of_reach(path, exc)
        return None, PathProblem(f'a symbolic link to {os.path.realpath(path)}, which is {what}', what.kind, True)
    return st, f'a symbolic link to {os.path.realpath(path)}, which is '


def _out_of_reach(path: str, exc: OSError) -> PathProblem:
    """``path`` cannot be looked at (lstat's ``exc``): for ENOTDIR or ELOOP, the
    first component on the way that is no folder, in the folder rule's words
    ('out of reach (/x/f on the way is a file)': _folder_on_the_way, as for a
    missing path below it), for EACCES the folder on the way it may not look
    into (no search permission: 'Permission denied' named no folder), else
    the system's reason."""
    if exc.errno == errno.EACCES:
        for full in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
            parts = [p for p in full.split('/') if p]
            for i in range(len(parts)):
                here = '/' + '/'.join(parts[:i])
                if os.path.isdir(here) and not os.access(here, os.X_OK):
                    return PathProblem(f'out of reach ({here} on the way is a folder it may not look into '
                                       '(permission denied))', PathKind.OUT_OF_REACH)
    if exc.errno in (errno.ENOTDIR, errno.ELOOP):
        parts = [p for p in os.path.abspath(path).split('/') if p]
        for i in range(1, len(parts)):
            here = '/' + '/'.join(parts[:i])
            if not os.path.isdir(here):
                problem = _folder_on_the_way(here, 'create')
                if problem:
                    return problem
                break
    return PathProblem(f'out of reach ({exc.strerror})', PathKind.OUT_OF_REACH)


# The roles a configured folder plays (folder_problem). 'create': stalkeer
# creates files in it, and creates it (and what is missing above it) first, as
# open_folder and os.makedirs do (temp_dir, archive_dir, movies_path,
# tvshows_path): nothing yet will do. 'exist': stalkeer creates files in it but
# never the folder itself (the SQLite database's folder: a mistyped --db must
# not leave folders behind). Either way the user's own folder at a path they
# chose, so a symlink to a folder is followed (open_folder follows the folders
# down to the library root; os.makedirs and open() follow them too), and a
# link that leads to no folder is refused: open_folder refused a dangling one
# ("refusing to follow a symbolic link on the way to …") only once a download
# ran, os.makedirs raised "File exists" for it (trial: temp_dir, archive_dir).
FOLDER_ROLES = ('create', 'exist')


def folder_problem(path: str, role: str) -> PathProblem | None:
    """What stands at ``path`` when it cannot be the folder of ``role``
    (FOLDER_ROLES), as a PathProblem like file_problem's ('a named pipe', 'a
    file', 'a symbolic link to /r, which is nothing (a dangling link)',
    'nothing (not found)'), or None when it can: a folder stalkeer may create
    files in, a symlink to one, or nothing yet (role 'create'). Every file type
    is judged, each also at the end of a symlink; lstat/stat/access only, so a
    named pipe never blocks. `config --check` and the commands both judge by
    this (folder_setting_problem words it)."""
    try:
        st, link = _standing(path, 'a folder')
    except FileNotFoundError:
        problem = _on_the_way(path)
        return PathProblem('nothing (not found)', PathKind.NOTHING) if role == 'exist' and not problem else problem
    if st is None:
        return link
    if not stat.S_ISDIR(st.st_mode):
        return PathProblem(link + _describe_mode(st), _mode_kind(st), bool(link))
    if not os.access(path, os.W_OK | os.X_OK):
        return PathProblem(f'{link}a folder it may not create files in (permission denied)', PathKind.DENIED,
                           bool(link))
    return None


def _on_the_way(path: str) -> PathProblem | None:
    """None when the missing ``path`` can be created: the nearest thing above
    it that exists is a folder to create in (a dangling link or a file there
    made os.makedirs fail), else what stands there."""
    above = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(above):
        above = os.path.dirname(above)
    return _folder_on_the_way(above, 'create')


def _folder_on_the_way(folder: str, role: str) -> PathProblem | None:
    """'out of reach (FOLDER on the way is …)' when ``folder`` cannot be the
    folder of ``role`` (folder_problem) that a path below it needs, else None."""
    problem = folder_problem(folder, role)
    return problem and PathProblem(f'out of reach ({folder} on the way is {problem})', PathKind.OUT_OF_REACH)


def folder_setting_problem(where: str, path: str, role: str) -> str | None:
    """The one line refusing ``path`` (the value of ``where``: '[downloads]
    temp_dir') for ``role`` (folder_problem), or None when it will do. The same
    words from `config --check` and from the command."""
    what = folder_problem(path, role)
    if what is None:
        return None
    return f'{where} must be a folder, but {path} is {what}{_link_hint(what, "a folder")}'


def _link_hint(what: PathProblem, noun: str) -> str:
    """What to do about a symbolic link that leads to no ``noun`` ('a file')."""
    return f': point it at {noun}, or remove the link' if what.linked else ''


def file_setting_problem(where: str, path: str, role: str) -> str | None:
    """The one line refusing ``path`` (the value of ``where``: '[m3u] file_path',
    '--log-file', 'PLAYLIST') for ``role`` (file_problem), or None when it will
    do. The same words from `config --check` and from the command."""
    what = file_problem(path, role)
    if what is None:
        return None
    hint = ''
    if role == 'read' and what.kind == PathKind.NAMED_PIPE:       # process <(zcat playlist.m3u.gz)
        hint = ' (a playlist is read more than once: save it to a file first)'
    return f'{where} must be a file, but {path} is {what}{hint or _link_hint(what, "a file")}'


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def filesystem_type(path: str) -> str | None:
    """The fstype of the mount holding ``path`` (Linux /proc/mounts), or None."""
    try:
        with open('/proc/mounts', encoding='utf-8', errors='replace') as fh:
            mounts = [line.split()[:3] for line in fh if line.strip()]
    except OSError:
        return None
    real = os.path.realpath(path)
    best, best_type = '', None
    for _dev, mountpoint, fstype in (m for m in mounts if len(m) == 3):
        mountpoint = mountpoint.replace('\\040', ' ')
        if (real == mountpoint or real.startswith(mountpoint.rstrip('/') + '/')) \
                and len(mountpoint) >= len(best):
            best, best_type = mountpoint, fstype
    return best_type


# <linux/fs.h>: start writeback of the dirty pages in the range; do not wait
_SYNC_FILE_RANGE_WRITE = 2
_NOT_LOOKED_UP = object()
_sync_file_range_fn = _NOT_LOOKED_UP


def _load_sync_file_range():
    """libc's sync_file_range through ctypes, or None (not Linux, no such symbol,
    no ctypes). Looked up once, on the first window of the first large download."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        import ctypes
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (ImportError, OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    fn.restype = ctypes.c_int

    def sync_file_range(fd: int, offset: int, nbytes: int, flags: int) -> None:
        if fn(fd, offset, nbytes, flags) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    return sync_file_range


def start_writeback(fd: int, offset: int, nbytes: int) -> bool:
    """Ask the kernel to start writing ``nbytes`` from ``offset`` of ``fd`` to disk,
    without waiting for it (Linux sync_file_range(2), SYNC_FILE_RANGE_WRITE).

    Only a head start for a later fsync, never a durability promise: that stays
    the fsync's job. Returns False when this system has no such call; raises
    OSError as the call does (EINVAL or ESPIPE on some filesystems and files,
    ENOSYS under some emulators), which callers treat as "not here"."""
    global _sync_file_range_fn
    if _sync_file_range_fn is _NOT_LOOKED_UP:
        _sync_file_range_fn = _load_sync_file_range()
    if _sync_file_range_fn is None:
        return False
    _sync_file_range_fn(fd, offset, nbytes, _SYNC_FILE_RANGE_WRITE)
    return True


def close_quietly(*fds: int | None) -> None:
    """Close each descriptor that is not None, ignoring errors (nothing to save)."""
    for fd in fds:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def fsync_directory(path: str) -> None:
    """Make a rename durable (POSIX needs the directory entry flushed too)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def parse_retry_after(value) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils      # here: rare, and ~4 ms of every start at the top
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


_CONTENT_RANGE = _LazyPattern(r'bytes\s+(\d+)-(\d+)/(\d+|\*)', re.I)
_CONTENT_RANGE_UNSATISFIED = _LazyPattern(r'bytes\s+\*/(\d+)', re.I)


def parse_content_range(value):
    """``bytes 0-99/1234`` -> (0, 99, 1234); total None when ``*``."""
    m = _CONTENT_RANGE.match(value or '')
    if not m:
        return None
    total = None if m.group(3) == '*' else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), total


# ---- validating numbers and URLs ------------------------------------------------


def _plain(number) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


_NUMBER_TEXT = _LazyPattern(r'[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?', re.ASCII)


_URL_SCHEME = _LazyPattern(r'[A-Za-z][A-Za-z0-9+.-]{0,19}')


def has_url_scheme(text: str) -> bool:
    """Whether ``text`` starts with a ``scheme://`` the URL masking can read:
    urlsplit takes ``bob:pw@host`` as scheme ``bob``, and such text (maybe an
    API key pasted into a URL key) is shown nowhere."""
    scheme, sep, _ = text.partition('://')
    return bool(sep) and _URL_SCHEME.fullmatch(scheme) is not None


def continued_lines_note(more: str) -> str:
    """What an error or `config` says of the lines after a one-line value's
    first (``more``: those lines' text, joined by newlines): their count, never
    their text. An indented line continues the value above it in an ini file, so
    ``timeout = 10`` then an indented ``api_key = SECRET`` makes one value."""
    return (f'(and {more.count(chr(10)) + 1} more line(s), not shown: an indented line continues the '
            'value above it)')


def _split_comment(url: str) -> tuple[str, str]:
    """(the URL, what looks like an inline comment after it: ' ; mine') of a
    URL value (_INLINE_COMMENT), or (url, ''). Not split when what follows
    the mark holds what a URL's account is written with ('@', '/', '?', '&',
    '='): the ';' or '#' may then be in a password (http://bob:p ;w@h/) or
    before a path or query that redact_url must mask (/movie/USER/PASS/1.mkv)."""
    found = _INLINE_COMMENT.search(url)
    if not found or found.start() == 0 or any(c in url[found.start():] for c in '@/?&='):
        return url, ''
    return url[:found.start()], url[found.start():]


def quoted_url(text: str) -> str:
    """A setting's would-be URL as an error quotes it: a URL (``scheme://…``)
    with its secrets masked (redact_url, redact), in quotes; anything else is
    not quoted: text without a scheme is no URL that the masking could read
    (``bob:pw@host``, an API key pasted into a URL key) and may be a secret."""
    if has_url_scheme(text):
        base, comment = _split_comment(text)
        return repr(redact(redact_url(base)) + redact(comment))
    inner = text.strip(_VALUE_QUOTES)
    if inner != text and has_url_scheme(inner):       # '"http://…"', pasted in its quotes
        start = text.index(inner)
        return repr(text[:start] + redact(redact_url(inner)) + text[start + len(inner):])
    return 'text without a scheme:// (not shown: it may hold a secret)'


# What reads as an inline comment: ';' or '#' at the start of a value or after
# a space (Config.inline_comment, value_hint).
_INLINE_COMMENT = _LazyPattern(r'(?:^|\s)([;#])', re.M)
# Quotes a value is pasted in: ASCII, and the typographic ones of documents
# and chat (“…”, ‘…’, „…“, «…»).
_VALUE_QUOTES = '"\'\u201c\u201d\u2018\u2019\u201e\u00ab\u00bb'


def value_hint(value, in_file: bool = False) -> str:
    """What an error about a value adds when the value holds what was surely
    not meant as part of it, or '': quotes around it (pasted from docs as
    ``"http://…"``; a shell's inner quotes, a docker --env-file and an ini
    file keep them) or an inline comment (``http://h/p.m3u ; mine``). The one
    hint for a value whoever gave it: a key of the file or a STALKEER_*
    variable (Config.explained), an option or argument (http_url_error);
    ``in_file``: a file's comment can go on a line of its own. Never quotes
    the value."""
    text = ('' if value is None else str(value)).strip()
    if text and (text[0] in _VALUE_QUOTES or text[-1] in _VALUE_QUOTES):
        return ' (the quotes are part of the value: stalkeer takes a value as written; give it without them)'
    found = _INLINE_COMMENT.search(text)
    if not found:
        return ''
    return (f' (the {found.group(1)!r} {_HINT_COMMENT_WORDS}: stalkeer reads no comment '
            'after a value' + ('; put it on a line of its own)' if in_file else ')'))


# The words of value_hint's comment hint that HeldNotes knows it by.
_HINT_COMMENT_WORDS = 'and what follows are part of the value'



def in_quotes(text: str) -> bool:
    """Whether ``text`` (stripped) starts and ends with a quote (_VALUE_QUOTES):
    pasted with its quotes. Both ends: a file or folder name, a password or a
    token may start or end with one; hardly both."""
    text = text.strip()
    return len(text) > 1 and text[0] in _VALUE_QUOTES and text[-1] in _VALUE_QUOTES


def quoted_path_problem(where: str, path: str) -> str | None:
    """The one line refusing a path in quotes (``where`` names it: '[downloads]
    temp_dir', '--log-file', 'PLAYLIST', 'STALKEER_CONFIG (environment)', '--db:
    the sqlite file'), with value_hint's hint, or None. The one rule for a path
    whoever gave it: '"/srv/tmp"' made a folder named '"' beside the config
    file (a newcomer trial), '--log-file \'"x.log"\'' a file '"x.log"', and a
    missing folder above it an 'out of reach' line with one quote of the pair."""
    if not in_quotes(path):
        return None
    return f'{where} must be a path without quotes around it, got {quoted_value(path)}{value_hint(path)}'


def secret_value_note(where: str, value, api_key: bool = False) -> str | None:
    """What a secret key's value (``where`` names it) holds that was surely not
    meant as part of it, as one sentence, or None; never a character of the
    value: quotes around it (a password or a token may start or end with a
    quote, hardly both), and for an API key (``api_key``: Radarr and Sonarr
    generate 32 hex digits, no space) what looks like an inline comment (a
    password may hold ' ;' or ' #', so only an API key's is named)."""
    text = ('' if value is None else str(value)).strip()
    if in_quotes(text):
        return f'{where} starts and ends with a quote: stalkeer takes a value as written; remove the quotes'
    found = _INLINE_COMMENT.search(text) if api_key else None
    if found:
        return (f'{where} holds {found.group(1)!r} after a space, which looks like an inline comment: an '
                'API key holds no space, and stalkeer reads no comment after a value; put it on a line '
                'of its own')
    return None


# What an empty variable that cannot be empty is refused with (empty_variable_problem).
_EMPTY_VARIABLES = {
    'STALKEER_CONFIG': 'a configuration file',
}


def empty_variable_problem(name: str, value: str) -> str | None:
    """The one line refusing the variable ``name`` set to ``value`` when it is
    empty or blank and cannot be (_EMPTY_VARIABLES), or None. The one rule for
    the environment, as for the command line (empty_argument_problem): a
    variable that is set is given, even empty, never taken as unset;
    ``STALKEER_<SECTION>_<KEY>=`` means what ``key =`` in the file means. An
    empty database URL (DATABASE_URL, STALKEER_DATABASE_URL) is refused by
    parse_database_url, in its words."""
    if value.strip() or name not in _EMPTY_VARIABLES:
        return None
    return f'{name} (environment) is empty: give {_EMPTY_VARIABLES[name]}, or unset it'


def quoted_value(value, limit: int = 40) -> str:
    """A one-line setting's value as an error quotes it: its first line, clipped,
    in quotes. An indented line after a key continues its value in an ini file:
    ``timeout = 10`` then an indented ``api_key = SECRET`` makes ``10\\napi_key =
    SECRET`` of it; only the count of such lines is said, never their text."""
    first, _, more = str('' if value is None else value).strip().partition('\n')
    return repr(clip(first.strip(), limit)) + (f' {continued_lines_note(more)}' if more else '')


def parse_number(text, kind: type, minimum, maximum):
    """``text`` as an ``int`` or ``float`` in [minimum, maximum].

    The one rule for every number a user gives (config keys, command-line
    options, serve query parameters). Raises ValueError whose message says what
    was expected, e.g. "must be a whole number from 1 to 64, got '0'". nan and
    inf are refused: float() accepts them, a timeout of inf waits forever, and
    nan passes every comparison test by failing it."""
    what = 'a whole number' if kind is int else 'a number'
    expected = f'must be {what} from {_plain(minimum)} to {_plain(maximum)}, got {quoted_value(text)}'
    text = str(text).strip()
    # int()/float() also take '1_000' and other scripts' digits ('١٢'): a typo
    # like '1_0' would silently be 10. ASCII digits, one sign, one point, an exponent.
    if not _NUMBER_TEXT.fullmatch(text) or (kind is int and not text.lstrip('+-').isdigit()):
        raise ValueError(expected)
    try:
        number = kind(text)
    except (TypeError, ValueError):   # 5000 digits
        raise ValueError(expected) from None
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise ValueError(expected)
    return number


_CONTROL_CHARS = _LazyPattern(r'[\x00-\x1f\x7f]')
# scheme://host:port -> its problem ('' for none). A playlist has a handful of
# hosts: each is parsed once, and a line costs a dict lookup (bench/RESULTS.md).
_URL_HEADS: dict[str, str] = {}


def url_problem(url: str, written: bool = True) -> str | None:
    """Why ``url`` cannot be requested as it stands (a short reason), or None.

    Catches what urllib.parse refuses and requests would raise on mid-run (an
    unclosed IPv6 bracket as in ``http://[2001:db8::1:8080/…``, a port that is
    not a number from 1 to 65535: 0 is none), an http(s) URL without a host, and control
    characters (http.client refuses them), and any scheme but http and https
    ('ftp:', 'javascript:', 'rtmp:', a relative path): stalkeer downloads over HTTP
    only, so such a line would only fail later (trial-1213 F13). And what
    requests (urllib3.util.parse_url) cannot read or would send to no host a
    connection can reach: '[' ']' anywhere but around a whole IPv6 host
    (``http://bob:[::1]/x``: urlsplit took host ::1, urllib3 refused it mid-run),
    a '\\' inside the netloc, an '@', '/', '?' or '#' in the user or password
    (userinfo_problem), a host name that no lookup takes
    (_host_name_problem). The rule of what the run can use is here only: every
    URL setting, argument and playlist line asks it (tests/test_config.py runs
    it against requests over a corpus of odd URLs). The reason never quotes
    the URL (it may hold the account). ``written=False`` for a URL a provider
    wrote, a playlist line's (userinfo_problem): cached by its head, as it
    runs on every line."""
    if not url.isprintable():
        if _CONTROL_CHARS.search(url):
            return 'URL contains control characters'
        return _head_problem(url, written) or None
    if written:                 # a setting or an argument: a few per run
        return _head_problem(url, True) or None
    # Everything urlsplit checks is in scheme://netloc, which ends at the first
    # '/' after it ('?' or '#' before that stay in the key: harmless), and the
    # '@' of a password holding '@', '/', '?' or '#' (userinfo_problem) before its host.
    # The '/' itself too: whether a host after a query's '@' runs to the end
    # (?mail=a@b.org) or on to a path (a password's, ?a=b@nas/x) tells them apart.
    # (A conditional, not max(): a call costs more than the slice's '+ 1' on
    # every line.)
    at = url.rfind('@')
    end = url.find('/', at if at > 8 else 8)
    head = url if end < 0 else url[:end + 1]
    problem = _URL_HEADS.get(head)
    if problem is None:
        problem = _head_problem(head, False)
        if len(_URL_HEADS) > 10_000:
            _URL_HEADS.clear()
        _URL_HEADS[head] = problem
    return problem or None


def http_url_error(where: str, url: str, problem: str | None = None, argument: bool = False) -> str | None:
    """The one error for a URL stalkeer must fetch over HTTP that it cannot
    (url_problem, or ``problem`` a caller found besides): ``{where} must be an
    http:// or https:// URL, got '<URL, account masked>' (<why>)``, or None when
    it can be fetched. ``where`` names what gave it (the key, the STALKEER_*
    variable, the option or argument). The URL keys, `m3u-download --url`,
    the panel's address and `download URL` each had their wording of it.
    ``argument``: ``url`` is an option's or argument's, whose value_hint
    (quotes, a comment) is said here; a setting's is Config.explained's."""
    if not url.strip():
        return f'{where} is empty: give an http:// or https:// URL'
    # http://h:1 # mine: the URL before the comment is judged first, so that
    # the port is not "1 # mine" (not a number) but the space the comment brings.
    base, _ = _split_comment(url)
    problem = (url_problem(base) if base != url else None) or problem or url_problem(url)
    if not problem:
        return None
    hint = value_hint(url) if argument else ''
    return f'{where} must be an http:// or https:// URL, got {quoted_url(url)} ({problem}){hint}'


def _head_problem(url: str, written: bool) -> str:
    problem = userinfo_problem(url, written=written)
    if problem:
        # Before all else: urllib's host, port or query of such a URL is part of
        # the password, and what is said of it would give that away.
        return problem
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        return split_problem(exc, url)
    http = parts.scheme.lower() in ('http', 'https')
    host = parts.netloc.rpartition('@')[2]
    if http and _bare_ipv6_host(host):
        # http://::1/x was 'without a host', http://fe80::1/x 'the port is not a
        # number', and http://::1:18931/x (a port after it) 'without a host'.
        return 'an IPv6 host is written in [ ], as in http://[::1]:8080/'
    # The host before the port: in http://:0 the port is not what is missing
    # (trial-18a F8); urlsplit's hostname needs no valid port.
    if http and not parts.hostname:
        return 'URL without a host'
    # A '\' before the port is read: in http://h:8080\x urlsplit's port is
    # '8080\x', "not a number", where the cause is the '\'.
    problem = (http and _port_before_backslash(parts.netloc) and _backslash_problem(parts.netloc)) or \
        port_problem(parts)
    if problem:
        return problem
    if not http:
        return 'URL is not http/https' + _shown_scheme(url, parts.scheme)
    return _bracket_problem(parts.netloc) or _backslash_problem(parts.netloc) or \
        _host_name_problem(parts.netloc)


def _port_before_backslash(netloc: str) -> bool:
    """Whether the host of ``netloc`` has a '\\' after it and before it no
    port or a good one (``h:8080\\x``), as urllib3 reads it: the '\\' is then
    the cause. In ``bob:Secret\\x`` (an '@' forgotten) the port is no number."""
    hostport = netloc.rpartition('@')[2]
    head, backslash, _ = hostport.partition('\\')
    colon, port, _ = _port_text(head)
    return bool(backslash) and not (colon and _no_port(port))


def _backslash_problem(netloc: str) -> str:
    """Why a '\\' in an http(s) URL's netloc is wrong, or '': urllib3 ends the
    netloc there (the WHATWG rule: ``http://h\\x`` is host h, path /\\x),
    urlsplit does not. A database URL is split by urlsplit alone: its
    password may hold one."""
    userinfo, _, hostport = netloc.rpartition('@')
    if '\\' in userinfo:
        return "a '\\' in the user or password: write it as %5C"
    if '\\' in hostport:
        return "a '\\' before the path: a URL's path starts at '/'"
    return ''


def _netloc_text(url: str) -> str:
    """The text between ``scheme://`` and the first '/', '?' or '#' of ``url``
    (what urlsplit takes for its netloc), '' without a '://'."""
    _, sep, rest = url.partition('://')
    return re.split(r'[/?#]', rest, maxsplit=1)[0] if sep else ''


_UNBALANCED_BRACKETS = 'unparsable URL: unbalanced [ ] around the host'


def _bracket_problem(netloc: str) -> str:
    """Why the '[' ']' in a URL's netloc make it a URL that requests
    (urllib3.util.parse_url) cannot read or reads otherwise than urllib.parse,
    or ''. urlsplit takes ``http://bob:[::1]/x`` (an '@' forgotten, or a
    bracketed host after a ':') with host ::1; urllib3 refuses it, and the run
    failed with "redirected to an invalid address"; [database] url connected to
    ::1 as nobody. The reason never quotes the netloc (it may hold the account)."""
    userinfo, _, hostport = netloc.rpartition('@')
    if '[' in userinfo or ']' in userinfo:
        return "a '[' or ']' in the user or password: write them as %5B and %5D"
    if not hostport.startswith('['):
        if '[' in hostport or ']' in hostport:
            return ("'[' and ']' go around a whole IPv6 host only, as in [::1]:8080 "
                    "(an '@' forgotten before it?)")
        return ''
    address, close, after = hostport[1:].partition(']')
    if not close or '[' in address or ']' in after:
        return _UNBALANCED_BRACKETS
    if after and not after.startswith(':'):
        return "text after the ']' of an IPv6 host: only :port may follow it"
    if not _ipv6_address(address):
        return 'the host in [ ] is no IPv6 address'
    return ''


def _ipv6_address(text: str) -> bool:
    """Whether ``text`` (inside a URL's [ ]) is an IPv6 address, maybe with a
    zone (%25eth0, RFC 6874, or %eth0 as urllib3 also takes), as urllib3 reads it."""
    address, percent, zone = text.partition('%')
    if percent and not zone.removeprefix('25'):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


_HOST_NAME_CHAR = _LazyPattern(r'[A-Za-z0-9_.-]')


def _host_name_problem(netloc: str) -> str:
    """Why the host of an http(s) URL's netloc (no [IPv6] one) is no name or
    IPv4 address a connection can be made to, or ''. requests refuses a host
    that starts with '.' and a non-ASCII one idna cannot encode; it sends any
    other, and the name lookup failed mid-run (a '%', a space, a quote), or
    Python's 'idna' codec raised on an empty or 63+ character label. A
    character is named only when it is no letter or digit (the text may be a
    user whose '@' was forgotten)."""
    host = netloc.rpartition('@')[2]
    if host.startswith('['):
        return ''
    host = host.partition(':')[0]       # as urllib reads the port: after the first ':'
    if not host.isascii() and idna is not None:
        # As urllib3 encodes it (util.url._idna_encode), label by label: strict
        # IDNA 2008, so fullwidth 'ｈｏｓｔ' is refused, not mapped to 'host'.
        try:
            host = '.'.join(label if label.isascii() else
                            idna.encode(label.lower(), strict=True, std3_rules=True).decode('ascii')
                            for label in host.split('.'))
        except (ValueError, UnicodeError):      # idna.IDNAError is a UnicodeError
            return 'the host is no valid international (IDNA) name'
    for char in host:
        if not _HOST_NAME_CHAR.fullmatch(char):
            shown = 'a space' if char.isspace() else f'a {char!r}'
            return f'{shown} in the host: a host name holds letters, digits, \'-\', \'_\' and \'.\''
    labels = (host[:-1] if host.endswith('.') else host).split('.')
    if '' in labels:
        return "an empty part in the host name ('..', or a '.' first)"
    if any(len(label) > 63 for label in labels):
        return 'a part of the host name is longer than 63 characters'
    if all(label.isdigit() for label in labels) and not _ipv4_address(host):
        return 'the host is no IPv4 address: four numbers from 0 to 255'
    return ''


def _ipv4_address(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text.rstrip('.'))
    except ValueError:
        return False
    return True


# Schemes named when written without '//' (javascript:alert(1)); any other
# 'word:' may be the user of 'bob:pw@host' (urlsplit's scheme 'bob').
_SCHEMES_WITHOUT_SLASHES = frozenset({'javascript', 'data', 'mailto', 'file', 'about'})


def _shown_scheme(url: str, scheme: str) -> str:
    """' but ftp:' when a refusal may name the scheme of ``url``: written as
    ``scheme://`` or a known scheme (_SCHEMES_WITHOUT_SLASHES), else ''."""
    if scheme and _URL_SCHEME.fullmatch(scheme) and (
            url[len(scheme) + 1:].startswith('//') or scheme.lower() in _SCHEMES_WITHOUT_SLASHES):
        return f' but {scheme.lower()}:'
    return ''


def space_problem(url: str) -> str:
    """Why a URL setting holding a space or tab is refused, or '': no URL
    holds one (requests would send it as %20, the database driver would take
    it as part of the name). The one wording for the URL keys and [database]
    url; a playlist line's URL is not a setting and may hold one."""
    if re.search(r'\s', url):
        return 'a space in the URL: no URL holds one, a space in a name is written %20'
    return ''


def split_problem(exc: ValueError, url: str) -> str:
    """What urllib.parse.urlsplit's ValueError for ``url`` means, in the one
    wording every URL's error uses (_bracket_problem names a '[' in the
    password or around less than the host); never its text, which may quote
    the URL."""
    problem = _bracket_problem(_netloc_text(url))
    if problem:
        return problem
    if 'IPv6' in str(exc):      # 'Invalid IPv6 URL': an unclosed [ in the host
        return _UNBALANCED_BRACKETS
    return 'unparsable URL'


def port_problem(parts: urllib.parse.SplitResult) -> str:
    """Why the port of a split URL is no TCP port (1 to 65535), or '' for a
    good port or none. The one wording of this rule for every URL stalkeer
    reads (the URL keys, [database] url, each of [notify] apprise_urls, the
    `download` URL, playlist lines); each caller adds which URL it was.

    urllib takes port 0: no server listens there, the failure came later as
    "cannot reach", and the database driver took 0 for "no port": the default
    one. Its error for other ports quotes the port's text, which is never
    shown: in ``http://bob:Secret/x`` (the '@' forgotten) it is the password."""
    try:
        port = parts.port
    except ValueError:
        text = _port_text(parts.netloc)[1]          # as urllib read it (trial-18c N1)
        what = 'is above 65535' if text.isascii() and text.isdigit() else 'is not a number'
    else:
        if port != 0:
            return ''
        what = 'is 0'
    return _port_sentence(what)


def _port_sentence(what: str) -> str:
    """port_problem's words for a port that ``what`` ('is 0', 'is above 65535',
    'is not a number')."""
    return f'the port {what}; a port is a number from 1 to 65535'



# Apprise schemes whose authority is [user[:password]@]host[:port] (Apprise's
# wiki: Notify_Custom_JSON/XML/Form, Notify_ntfy, Notify_gotify), so a port that
# is no number is certainly wrong there. Any other scheme may hold a key where
# urlsplit sees host:port: a Telegram bot token is 123456789:AAH… (tgram://TOKEN/
# CHAT), which was refused as "the port is not a number" (trial-18a F0).
_APPRISE_HOST_PORT_SCHEMES = frozenset({
    'json', 'jsons', 'xml', 'xmls', 'form', 'forms',   # custom webhooks: host:port/path
    'ntfy', 'ntfys',            # ntfy://[user:pass@]host[:port]/topic (ntfy://topic: no ':')
    'gotify', 'gotifys',        # gotify://host[:port]/token
})


def apprise_url_problem(url: str) -> str:
    """Why one [notify] apprise_urls entry is certainly wrong, or ''. Apprise
    reads each scheme its own way, so only what no reading can make right is
    said: no scheme:// or nothing after it, a port of digits that is 0 or
    above 65535 (any scheme), or, where the scheme's authority is
    [user[:password]@]host:port (_APPRISE_HOST_PORT_SCHEMES), a port that is
    no number or a user or password holding '@', '/', '?' or '#'
    (userinfo_problem, its hint). urlsplit is not used: it refuses shapes
    Apprise takes (a '[' in a password). In port_problem's words; never the
    URL's text (it is a secret)."""
    scheme, sep, rest = url.partition('://')
    # '"json://…"' (pasted in quotes): Apprise knows no scheme '"json'.
    if not sep or not _URL_SCHEME.fullmatch(scheme):
        # Every Apprise URL is scheme://…; a word without one is no URL at all:
        # a `; comment` after a URL became three more "URLs" (trial-18c N4).
        return 'no scheme:// (every Apprise URL starts with one, as tgram:// or mailto:// do)'
    if not rest.strip('/'):
        return 'nothing after its scheme://'
    authority = re.split(r'[/?#]', rest, maxsplit=1)[0]
    host_port = scheme.lower() in _APPRISE_HOST_PORT_SCHEMES
    # json://bob:pa/ss@h/x: the authority is user:password@host as in any URL
    # setting, so an unencoded '/', '?', '#' or '@' in the password is said as
    # there (its "port" 'pa' was "not a number"); the other schemes may hold
    # an '@' in their path (sendgrid://KEY:from@example.com/to@example.com).
    if host_port and userinfo_problem(url):
        return userinfo_problem(url)
    if host_port and _bracket_problem(authority):
        return _bracket_problem(authority)      # json://bob:[::1]/x: as url_problem says it
    host = authority.rpartition('@')[2]
    if host.startswith('['):          # [IPv6]:port
        host = host.partition(']')[2]
    _, colon, port = host.rpartition(':')
    if not colon or not port:
        return ''
    if port.isascii() and port.isdigit():
        if not _bad_port_digits(port):
            return ''
        if '@' not in authority and '@' in rest[len(authority):]:
            # mailto://bob:99999/x@h: refused either way, and the password
            # '99999/x' is no port to fix.
            return USERINFO_HINT
        return _port_sentence('is 0' if int(port) == 0 else 'is above 65535')
    if host_port:
        return _port_sentence('is not a number')
    return ''


def one_of_problem(given: dict[str, bool], required: bool = False) -> str | None:
    """The one line refusing arguments of which one at most may be given
    (exactly one when ``required``), or None. ``given``: each argument as the
    usage writes it (``a download ID``, ``--failed``, ``?active=1``), in the
    usage's order, and whether it was given. Each names the one thing it acts
    on or shows, so a second one would be dropped without a word:
    ``give a download ID or --failed, not both``."""
    names = list(given)
    either = ' or '.join(names) if len(names) == 2 else f'one of {", ".join(names[:-1])} or {names[-1]}'
    chosen = [name for name, on in given.items() if on]
    if len(chosen) > 1:
        return f'give {either}, not {"both" if len(names) == 2 else " and ".join(chosen)}'
    if required and not chosen:
        return f'give {either}'
    return None


# ==== config ==================================================================

# Every key stalkeer reads, with its default. stalkeer.ini documents each one.
DEFAULTS = {
    'database': {
        'url': 'sqlite:///stalkeer.db',
    },
    'downloads': {
        'temp_dir': '',
        'connect_timeout': '10',
        'read_timeout': '60',
        'retry_attempts': '3',
        'max_retry_attempts': '5',
        'retry_backoff_seconds': '2',
        'retry_backoff_max_seconds': '60',
        'progress_interval_mb': '10',
        'progress_interval_seconds': '30',
        'lock_timeout_seconds': '300',
        'min_free_space_mb': '1024',
        'user_agent': f'stalkeer/{__version__}',
        'max_parallel': '3',
        'max_connections_per_host': '1',
        'movies_path': '',
        'tvshows_path': '',
    },
    'radarr': {
        'url': '',
        'api_key': '',
        'path_map': '',
        'rescan': 'true',
        'require_available': 'true',
        'timeout': '60',
    },
    'sonarr': {
        'url': '',
        'api_key': '',
        'path_map': '',
        'rescan': 'true',
        'timeout': '60',
    },
    'quality': {
        'preference': '1080p, 720p, 4K, 480p, unknown',
        'languages': '',
        'languages_only': 'false',
    },
    'matching': {
        'lookup': 'true',
        'lookups_per_run': '100',
        'lookup_cache_days': '30',
        'probe': 'true',
        'runtime_tolerance_percent': '15',
        'runtime_tolerance_minutes': '10',
    },
    'm3u': {
        'url': '',
        'file_path': 'playlist.m3u',
        'archive_dir': 'm3u_archive',
        'retention_count': '7',
        'max_file_size_mb': '500',
        'parse_worker': 'auto',
    },
    'xtream': {
        # auto: read the panel's player_api.php when one is configured (or derived
        # from a get.php [m3u] url) and it answers; true: always (an error is fatal);
        # false: never, the M3U playlist only.
        'enabled': 'auto',
        'url': '',
        'username': '',
        'password': '',
        'timeout': '120',
        'info_refresh_hours': '24',
    },
    'filter': {
        'group_title_include': '',
        'group_title_exclude': '',
        'tvg_name_include': '',
        # Empty: trailers and extras are kept, so `lines` shows them and a run can
        # say "only a trailer in the playlist"; the matching never takes them.
        'tvg_name_exclude': '',
    },
    'notify': {
        'webhook_url': '',
        'on': 'failure',
        'apprise_urls': '',
        'healthcheck_url': '',
    },
    'serve': {
        'token': '',
        'refresh_seconds': '3',
        'allowed_hosts': '',
    },
    'logging': {
        'level': 'INFO',
        'file': '',
        'progress_log_seconds': '30',
    },
}


# Every numeric key: (int or float, smallest, largest value). The getters take
# their bounds from here and Config.check() tries them all at start, so a bad
# value stops any command with one line naming the key. A minimum is the least
# value that still works; a maximum is far past any sane use and catches a typo
# (an extra zero or three) before it becomes a lock that never goes stale.
NUMBER_LIMITS = {
    ('downloads', 'connect_timeout'): (float, 0.1, 3600),
    ('downloads', 'read_timeout'): (float, 0.1, 86400),
    ('downloads', 'retry_attempts'): (int, 1, 100),
    ('downloads', 'max_retry_attempts'): (int, 0, 1000),
    ('downloads', 'retry_backoff_seconds'): (float, 0, 3600),
    ('downloads', 'retry_backoff_max_seconds'): (float, 0, 86400),
    ('downloads', 'progress_interval_mb'): (float, 0, 1024 * 1024),         # up to 1 TiB
    ('downloads', 'progress_interval_seconds'): (float, 0, 86400),
    ('downloads', 'lock_timeout_seconds'): (float, 1, 7 * 86400),
    ('downloads', 'min_free_space_mb'): (float, 0, 1024 * 1024 * 1024),    # up to 1 PiB
    ('downloads', 'max_parallel'): (int, 1, 64),
    ('downloads', 'max_connections_per_host'): (int, 1, 64),
    ('radarr', 'timeout'): (float, 1, 3600),
    ('sonarr', 'timeout'): (float, 1, 3600),
    ('matching', 'lookups_per_run'): (int, 0, 100000),
    ('matching', 'lookup_cache_days'): (float, 0, 3650),
    ('matching', 'runtime_tolerance_percent'): (float, 0, 1000),
    ('matching', 'runtime_tolerance_minutes'): (float, 0, 1440),
    ('m3u', 'retention_count'): (int, 0, 10000),
    ('m3u', 'max_file_size_mb'): (float, 0.001, 1024 * 1024),
    ('xtream', 'timeout'): (float, 1, 3600),
    ('xtream', 'info_refresh_hours'): (float, 0, 24 * 365),
    ('serve', 'refresh_seconds'): (float, 0.5, 3600),
    ('logging', 'progress_log_seconds'): (float, 0.1, 86400),
}

# How a boolean key may be spelled (case and surrounding spaces do not matter),
# as configparser's getboolean() takes them; empty is false.
_BOOL_SPELLINGS = {'1': True, 'yes': True, 'true': True, 'on': True,
                   '0': False, 'no': False, 'false': False, 'off': False, '': False}
# Keys read with Config.getbool(), getswitch() (a boolean or auto) and
# getheader(): Config.check() reads them all at start.
BOOL_CONFIG_KEYS = frozenset({('radarr', 'rescan'), ('radarr', 'require_available'),
                              ('sonarr', 'rescan'), ('quality', 'languages_only'),
                              ('matching', 'lookup'), ('matching', 'probe')})
SWITCH_CONFIG_KEYS = frozenset({('m3u', 'parse_worker'), ('xtream', 'enabled')})
HEADER_CONFIG_KEYS = frozenset({('downloads', 'user_agent'), ('radarr', 'api_key'),
                                ('sonarr', 'api_key')})
URL_CONFIG_KEYS = frozenset({('radarr', 'url'), ('sonarr', 'url'), ('m3u', 'url'), ('xtream', 'url'),
                             ('notify', 'webhook_url'), ('notify', 'healthcheck_url')})

# Environment variables named STALKEER_TEST_* belong to the test suite.
_ENV_PREFIX, _ENV_TEST_PREFIX = 'STALKEER_', 'STALKEER_TEST_'


# A section name a message may quote as written: a short word, as every known
# one is. Anything else (``[api_key=abc123]``, a pasted token) is named by its line.
_SECTION_NAME = _LazyPattern(r'[A-Za-z][A-Za-z0-9_-]{0,19}')
# Lines _read_ini set aside (a duplicate, a line before any header, an unclosed
# header's keys): named so that no file can hold them, dropped after the read.
_SET_ASIDE = '\x00'
# The most mistakes one read names; past them the file is too far from an ini file.
_READ_PROBLEMS_MAX = 100


def _plausible_section(name: str) -> bool:
    """Whether a section name may be quoted as written (shown_section)."""
    return name in DEFAULTS or bool(_SECTION_NAME.fullmatch(name)
                                    and not (len(name) >= 8 and any(c.isdigit() for c in name)))


def shown_section(name: str, line: int | None = None) -> str:
    """A ``[section]`` as messages name it: as written when it is a known one or
    a plausible name (a short word that does not look like a token: 8+
    characters with a digit), else ``the section at line N`` (its name is
    user text that may be a pasted secret), with the known section it is
    closest to when there is one."""
    if _plausible_section(name):
        return f'[{name}]'
    near = difflib.get_close_matches(name.lower(), list(DEFAULTS), n=1, cutoff=0.6)
    where = f'the section at line {line}' if line else 'a section'
    return f'{where} (name not shown' + (f'; did you mean [{near[0]}]?)' if near else ')')


def _header_lines(parser: configparser.ConfigParser, lines: list[str]) -> dict[int, re.Match]:
    """Line number -> header match of every line that is a ``[section]``
    header: one that starts with '['. An indented one may be a value's next
    line (a [filter] pattern ``  [Tt]railer``), so it is left out: a header is
    seldom indented, and this only names lines in messages."""
    found = {}
    for number, line in enumerate(lines, 1):
        match = parser.SECTCRE.match(line.rstrip()) if line.startswith('[') else None
        if match:
            found[number] = match
    return found


def _read_ini(parser: configparser.ConfigParser, text: str, path: str) -> tuple[list[str], dict]:
    """Read ``text`` into ``parser`` and return (problems, section lines):
    every mistake of the file as one plain line naming the file, the line and
    what is wrong (never the line's text, which may hold a secret), and the
    line of each section's header (for shown_section).

    configparser stops at a duplicate section or key and at a line before any
    header, and its own words were raw (``While reading from '…' [line  2]:
    section 'radarr' already exists``: trial-16a F9). Here each such line is
    set aside (its keys kept out of every section) and the file read again,
    so `config --check` names every mistake in one run; the lines configparser
    reads past (neither header nor key = value) are named too. An unclosed
    ``[radarr`` is said as such, and its keys are kept out of the section
    above, where they would be read as that section's."""
    lines = text.split('\n')        # as configparser counts them
    problems: dict[int, str] = {}

    def say(number: int, what: str) -> None:
        problems.setdefault(number, f'config file {path} line {number} is not valid: {what}')

    def unclosed(number: int) -> None:
        name = lines[number - 1].strip()[1:].strip()
        if ']' in name:     # '[]', '[ ]'
            say(number, 'a section header without a name')
        else:
            shown = f'[{name}' if _plausible_section(name) else 'a ['
            say(number, f'unclosed section header: {shown} without its ]')
        lines[number - 1] = f'[{_SET_ASIDE}{number}]'

    # A line that starts with '[' (not indented: no continuation of a value) is
    # meant as a header: '[api_key=x' would be read as the key '[api_key'.
    for number, line in enumerate(lines, 1):
        if line.startswith('[') and not parser.SECTCRE.match(line.strip()):
            unclosed(number)
    for _ in range(_READ_PROBLEMS_MAX):
        for section in parser.sections():
            parser.remove_section(section)
        try:
            parser.read_string('\n'.join(lines), source=path)
        except configparser.DuplicateSectionError as exc:
            say(exc.lineno, f'section {shown_section(exc.section, exc.lineno)} is given a second time; '
                            'merge the two')
            # Its keys are read as the first one's below (_merge_repeated_sections), so
            # that they are checked and listed too (trial-17b T17B-1: merging the two as
            # told brought out two more errors in the next run).
            lines[exc.lineno - 1] = f'[{_SET_ASIDE}{exc.lineno}{_SET_ASIDE}{exc.section}]'
            continue
        except configparser.DuplicateOptionError as exc:
            # The key only if it looks like a name: 'url http://USER:PASS@h' (a ':' read
            # as the delimiter) would be the key 'url http' and hold a password.
            key = exc.option if _KEY_NAME.fullmatch(exc.option) else 'a key'
            say(exc.lineno, f'{key} is given a second time in {shown_section(exc.section)}; keep one')
            line = lines[exc.lineno - 1]
            lines[exc.lineno - 1] = line[:len(line) - len(line.lstrip())] + f'{_SET_ASIDE}{exc.lineno} ='
            continue
        except configparser.MissingSectionHeaderError as exc:
            if lines[exc.lineno - 1].strip().startswith('['):
                unclosed(exc.lineno)
                continue
            say(exc.lineno, 'it comes before any [section] header; put one such as [radarr] above it')
            lines[exc.lineno - 1] = f'[{_SET_ASIDE}{exc.lineno}]'
            continue
        except configparser.ParsingError as exc:
            headers = [number for number, _ in exc.errors if lines[number - 1].strip().startswith('[')]
            for number, _ in exc.errors:
                if number not in headers:
                    problems.setdefault(number, _unparsable_line(path, number, lines[number - 1]))
            for number in headers:
                unclosed(number)
            if headers:
                continue
        break
    else:
        problems[len(lines) + 1] = (f'config file {path}: more mistakes than the {_READ_PROBLEMS_MAX} '
                                    'named: the rest is not checked')
    headers = _header_lines(parser, lines)
    for number, match in headers.items():
        after = lines[number - 1].strip()[match.end():].strip()
        if after and after[0] not in '#;':
            say(number, f'text after the {shown_section(match.group("header"), number)} header is '
                        'not read: put each key = value on a line of its own')
    _merge_repeated_sections(parser, lines, say)
    # What was set aside, and a key without a name ('= value'), are no settings.
    for section in parser.sections():
        if section.startswith(_SET_ASIDE):
            parser.remove_section(section)
            continue
        for key in parser.options(section):
            if not key or key.startswith(_SET_ASIDE):
                parser.remove_option(section, key)
    section_lines = {}
    for number, match in headers.items():
        section_lines.setdefault(match.group('header'), number)
    return [problems[number] for number in sorted(problems)], section_lines


def _merge_repeated_sections(parser: configparser.ConfigParser, lines: list[str], say) -> None:
    """Read the keys under a section's second header (set aside by _read_ini
    as ``[\0<line>\0<section>]``) as the first one's, the way the user is told
    to merge them; a key both set is named as given a second time (the first
    value stays)."""
    for aside in parser.sections():
        number, marker, section = aside[len(_SET_ASIDE):].partition(_SET_ASIDE)
        if not aside.startswith(_SET_ASIDE) or not marker or not parser.has_section(section):
            continue
        for key in parser.options(aside):
            if not key or key.startswith(_SET_ASIDE):
                continue
            if parser.has_option(section, key):
                shown = key if _KEY_NAME.fullmatch(key) else 'a key'
                say(_key_line(lines, int(number), key),
                    f'{shown} is given a second time in {shown_section(section)}; keep one')
            else:
                parser.set(section, key, parser.get(aside, key))


def _key_line(lines: list[str], header: int, key: str) -> int:
    """The number of the line under the header on line ``header`` that sets
    ``key`` (as configparser folds names: lower case), else the header's."""
    for number in range(header + 1, len(lines) + 1):
        line = lines[number - 1]
        if line.startswith('['):
            break
        if line[:1] not in ' \t' and re.split('[=:]', line, maxsplit=1)[0].strip().lower() == key:
            return number
    return header


def _closest_key(section: str, key: str) -> str | None:
    """The known ``[section] key`` a misspelled or misplaced one most likely
    means (difflib), or None."""
    sections = [section] if section in DEFAULTS else \
        difflib.get_close_matches(section, list(DEFAULTS), n=1, cutoff=0.6)
    for name in sections:
        if key in DEFAULTS[name]:
            return f'[{name}] {key}'
        close = difflib.get_close_matches(key, list(DEFAULTS[name]), n=1, cutoff=0.6)
        if close:
            return f'[{name}] {close[0]}'
        if name != section:
            return f'[{name}]'
    # The right key in the wrong section, when only one section has it.
    names = sorted({name for keys in DEFAULTS.values() for name in keys})
    for near in difflib.get_close_matches(key, names, n=1, cutoff=0.75):
        homes = [name for name, keys in DEFAULTS.items() if near in keys]
        if len(homes) == 1:
            return f'[{homes[0]}] {near}'
    return None


# What a message may quote of an ini key: a name, as every known key is one.
_KEY_NAME = _LazyPattern(r'[A-Za-z_][\w.-]{0,39}')


def shown_config_key(key: str) -> str:
    """An ini key as messages name it: its first word only. configparser takes
    ``url http://USER:PASS@h/…`` (no '=') as key ``url http`` split at the first
    ':', and ``api_key SECRET: x`` as ``api_key SECRET``: past the first word a
    key may be a value, and a key that is no name at all (``TOKEN/x?a = b``)
    is not quoted."""
    word, more = _key_words(key)
    if not _KEY_NAME.fullmatch(word):   # 'TOKEN/get.php?username' = x: no name, maybe a value
        return '(a key that is not a name, not shown)'
    return word + (' …' if more.strip() else '')


def config_key_name(key: str) -> str | None:
    """shown_config_key() as a value (`config --json`): the key's first word
    when it is a name, else None."""
    word, _ = _key_words(key)
    return word if _KEY_NAME.fullmatch(word) else None


def _key_words(key: str) -> tuple[str, str]:
    """An ini key's first word, and the rest (maybe a value: shown_config_key)."""
    word, _, more = key.strip().partition(' ')
    if not more and '\t' in word:
        word, _, more = word.partition('\t')
    return word, more


def _unparsable_line(path: str, number: int, line: str) -> str:
    """The error for an ini line that is neither ``[section]`` nor ``key = value``.
    It names the line number and at most the first word (the would-be key of
    ``api_key SECRET``, a forgotten '='), never the rest: that is likely the
    value, a secret perhaps (trial-16a F2). A line of one word (a value pasted
    alone?) or whose first word does not look like a key (a URL) is not quoted."""
    words = line.split()
    if len(words) > 1 and _KEY_NAME.fullmatch(words[0]):
        return (f'config file {path} line {number} is not valid: {words[0] + " …"!r} is neither '
                'a [section] nor key = value (its text is not shown: it may hold a secret)')
    return (f'config file {path} line {number} is not valid: it is neither a [section] '
            'nor key = value (its text is not shown: it may hold a secret)')


# A continuation line that reads like a setting of its own: ``api_key = ...``
# indented by mistake under the key above (trial-16b N1).
_MISPLACED_ASSIGNMENT = _LazyPattern(r'^[ \t]*([A-Za-z_][\w.-]*)[ \t]*=[ \t]*(\S.*?)[ \t]*$', re.M)
# Names that say a value is a secret, beyond the settings' own names.
_SECRET_NAME = _LazyPattern(r'(?i)key|token|pass|secret|auth|user|cred')


def misplaced_assignments(value: str) -> list[str]:
    """The values of the ``name = value`` lines after a value's first line whose
    name is a setting's or says secret (api_key, passwd, token...). An indented
    line continues the value above it (configparser), so a setting indented by
    mistake, maybe an API key, becomes part of path_map, a [filter] pattern or a
    path, and would be shown wherever that value is quoted (config, errors, the
    resolved path): each is masked by value instead. A path_map line such as
    ``tv=/mnt/tv`` is not a setting: it stays readable."""
    _, _, rest = (value or '').partition('\n')
    if not rest:                        # one line: nothing continues it (most values)
        return []
    settings = {key for keys in DEFAULTS.values() for key in keys}
    return [found for name, found in _MISPLACED_ASSIGNMENT.findall(rest)
            if name.lower() in settings or _SECRET_NAME.search(name)]


def error_key(message: str) -> tuple[str, str] | None:
    """The (section, key) an error about a key is about: its message starts
    with what Config.where calls it, ``[section] key`` (then a space, ':' or its
    end) or ``STALKEER_<SECTION>_<KEY> (environment)``."""
    if message.startswith('['):
        section, _, rest = message[1:].partition('] ')
        for key in DEFAULTS.get(section, ()):
            if rest.startswith(key) and rest[len(key):len(key) + 1] in ('', ' ', ':'):
                return section, key
    name, environment, _ = message.partition(' (environment)')
    if environment and name.startswith(_ENV_PREFIX):
        for section, keys in DEFAULTS.items():
            for key in keys:
                if f'{_ENV_PREFIX}{section}_{key}'.upper() == name:
                    return section, key
    return None


def _about(message: str, where: str) -> bool:
    """Whether an error ``message`` is about what ``where`` names ('--db',
    'PLAYLIST'): it starts with it, then ':' or a space."""
    return message.startswith(where) and message[len(where):len(where) + 1] in (':', ' ')


def commented_root_problem(where: str, path: str, value: str) -> str | None:
    """The refusal of a library root (``where``: movies_path, tvshows_path, a
    path_map LOCAL; ``path`` as resolved from ``value`` as written) that does
    not exist and looks like it holds an inline comment, or None: '/srv/lib ;
    mine' made a second library tree 'lib ; mine/…' beside the real one and
    asked Radarr to rescan a movie whose file was not in Radarr's folder
    (trial1 B). The comment hint is the caller's error's (Config.explained). A
    root that exists is taken as written (a folder name may hold ' ; '), and
    one without a comment is made as needed."""
    if not _INLINE_COMMENT.search(value) or os.path.lexists(path):
        return None
    return f'{where} {path} does not exist: a library root is a folder that holds the library'


# Why stalkeer keeps what looks like an inline comment, one reason per kind of
# value (comment_value_kind): a path's is a file name's, not a password's (trial1 D).
_COMMENT_KEPT_BECAUSE = {
    'path': "a file name may hold ' ; '",
    'secret': 'a password may hold ; or #',
    'text': 'a name or a pattern may hold ; or #',
}


def comment_value_kind(section: str | None, key: str | None, where: str = '', value: str = '') -> str:
    """The kind of value (_COMMENT_KEPT_BECAUSE) of a key, or of a value of the
    command line (``where``: '--db', 'DATABASE_URL', 'PLAYLIST'…, ``value``): a
    path key, a path_map or a path given ('path'); a URL or a secret key
    ('secret'; a database URL is a path when it is sqlite's); else 'text'."""
    if key is None:
        if where in ('--db', 'DATABASE_URL'):
            return 'path' if value.strip().lower().startswith('sqlite') else 'secret'
        return 'path'           # --config, $STALKEER_CONFIG, --log-file, PLAYLIST, DEST
    if (section, key) in _PATH_CONFIG_KEYS or key == 'path_map':
        return 'path'
    if (section, key) == ('database', 'url'):
        return comment_value_kind(None, None, '--db', value)
    if key == 'url' or 'url' in key or (section, key) in _SECRET_CONFIG_KEYS:
        return 'secret'
    return 'text'


def inline_comment_note(where: str, mark: str, in_file: bool, kind: str = 'secret') -> str:
    """The note for a value (``where`` names it) holding what looks like an
    inline comment (``mark``: ';' or '#'), whoever gave it; ``in_file``: a
    file's comment can go on a line of its own (value_hint); ``kind``: the
    value's (comment_value_kind), which says why it is kept."""
    return (f'{where}: {mark!r} in its value looks like an inline comment, which stalkeer reads as part '
            f'of the value ({_COMMENT_KEPT_BECAUSE[kind]})' + (': put comments on a line of their own'
                                                               if in_file else ''))


class Config:
    """stalkeer.ini plus environment overrides, with typed, validated getters.

    Precedence for a key: ``STALKEER_<SECTION>_<KEY>`` in the environment, then
    the file, then DEFAULTS. For the database URL: ``--db``, then
    ``DATABASE_URL``, then ``STALKEER_DATABASE_URL``/the file.
    """
    # How discover() found the file, a CONFIG_FOUND_BY key (`config --json`'s
    # "found_by"; the text says CONFIG_FOUND_BY's words); None: no file, or a
    # Config made with a path (as --config names one).
    found_by: str | None = None
    # The file's mistakes (_read_ini), each one line: a Config made with
    # tolerant=True (`config`, which names them all) holds the rest of the file.
    read_problems: list[str] = []
    section_lines: dict = {}

    def __init__(self, path: str | None = None, env=None, db_url: str | None = None,
                 tolerant: bool = False):
        self.path = path
        self.env = os.environ if env is None else env
        self.base_dir = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
        # Only what the file says; DEFAULTS fill in (see _source). A [DEFAULT]
        # section is an ordinary, unknown one: it must not leak into every section.
        self.parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None,
                                                default_section='\x00')
        if path:
            try:
                with open(path, 'rb') as fh:
                    data = fh.read()
            except OSError as exc:
                raise ConfigError(f'cannot read config file {path}: {exc.strerror}') from None
            try:
                text = data.decode('utf-8-sig')     # a BOM (Windows Notepad) is fine
            except UnicodeDecodeError as exc:
                line = data.count(b'\n', 0, exc.start) + 1
                raise ConfigError(f'config file {path} line {line} is not UTF-8 (byte '
                                  f'0x{data[exc.start]:02x}): save it as UTF-8') from None
            self.read_problems, self.section_lines = _read_ini(self.parser, text, path)
            if self.read_problems and not tolerant:
                raise_config_errors(self.read_problems)
        self.db_url_override = db_url

    @classmethod
    def discover(cls, explicit: str | None = None, env=None, db_url: str | None = None,
                 tolerant: bool = False) -> 'Config':
        """--config FILE, else $STALKEER_CONFIG, else ./stalkeer.ini, else beside stalkeer.py."""
        env = os.environ if env is None else env
        if explicit:
            if not os.path.isfile(explicit):
                raise ConfigError(f'config file {_not_a_file(explicit)}: {explicit}{value_hint(explicit)}')
            return cls(explicit, env, db_url, tolerant)._found('option')
        if 'STALKEER_CONFIG' in env:
            # Set is given, even empty: an empty one fell through to
            # ./stalkeer.ini, maybe another setup's file (empty_variable_problem).
            path = env['STALKEER_CONFIG']
            problem = (empty_variable_problem('STALKEER_CONFIG', path)
                       or quoted_path_problem('STALKEER_CONFIG (environment)', path))
            if problem:
                raise ConfigError(problem)
            if not os.path.isfile(path):
                raise ConfigError(f'config file {_not_a_file(path)}: {path} (from $STALKEER_CONFIG)'
                                  f'{value_hint(path)}')
            return cls(path, env, db_url, tolerant)._found('environment')
        for candidate, how in ((os.path.join(os.getcwd(), 'stalkeer.ini'), 'working_directory'),
                               (str(HERE / 'stalkeer.ini'), 'script_directory')):
            if os.path.isfile(candidate):
                return cls(candidate, env, db_url, tolerant)._found(how)
        return cls(None, env, db_url, tolerant)

    def _found(self, how: str) -> 'Config':
        self.found_by = how
        return self

    # -- raw access ---------------------------------------------------------
    def _source(self, section, key):
        env_name = f'STALKEER_{section}_{key}'.upper()
        if env_name in self.env:
            return self.env[env_name], f'{env_name} (environment)'
        if self.parser.has_option(section, key):
            return self.parser.get(section, key), f'[{section}] {key}'
        return DEFAULTS.get(section, {}).get(key), f'[{section}] {key}'

    def shown_section(self, name: str) -> str:
        """A section of the file as messages name it (shown_section)."""
        return shown_section(name, self.section_lines.get(name))

    def inline_comment(self, section, key) -> str | None:
        """The ';' or '#' of what looks like an inline comment in the value in
        force of a key, the file's or a STALKEER_* variable's (``timeout = 30 ;
        seconds``), or None. Such a comment is part of the value: configparser's
        default, kept because a password or an API key may hold ';' or '#'. The
        key's error and `config --check` say so; secret keys are left out (it
        would tell of their value): secret_note says what may be said of them."""
        if (section, key) in _SECRET_CONFIG_KEYS or self.origin(section, key) == 'default':
            return None
        found = _INLINE_COMMENT.search(self._source(section, key)[0] or '')
        return found.group(1) if found else None

    # What the command line gave (command_line_values): (what an error calls
    # it, the value), set by main(); each gets the hints a key of the file gets.
    given: list = []

    def given_values(self) -> list[tuple[str, str]]:
        """(what an error calls it, value) of each value in force that is no
        key's: --db or DATABASE_URL, $STALKEER_CONFIG, then the options and
        arguments (given)."""
        source = self.database_url_source
        database = [(source, self.database_url)] if source in ('--db', 'DATABASE_URL') else []
        if self.found_by == 'environment':          # the file $STALKEER_CONFIG names
            database.append(('STALKEER_CONFIG (environment)', self.env['STALKEER_CONFIG']))
        return database + [(where, value) for where, value in self.given if value is not None]

    def key_hint(self, section, key) -> str:
        """What an error about a key adds (value_hint) when its value in force,
        the file's or a STALKEER_* variable's, holds quotes around it or an
        inline comment; for a secret key only what secret_note says, which
        tells nothing of its value."""
        origin = self.origin(section, key)
        if origin == 'default':
            return ''
        if (section, key) in _SECRET_CONFIG_KEYS:
            note = self.secret_note(section, key)
            return f' ({note})' if note else ''
        return value_hint(self._source(section, key)[0], in_file=origin == 'file')

    def secret_note(self, section, key) -> str | None:
        """secret_value_note of a secret key (_SECRET_CONFIG_KEYS) whose value
        in force, the file's or a STALKEER_* variable's, starts and ends with a
        quote, or (an API key) looks like it holds an inline comment; else None."""
        if (section, key) not in _SECRET_CONFIG_KEYS or self.origin(section, key) == 'default':
            return None
        return secret_value_note(self.where(section, key), self._source(section, key)[0],
                                 api_key=key == 'api_key')

    def explained(self, message: str) -> str:
        """An error ``message`` as it is shown: when it is about a setting (it
        starts with ``[section] key``, ``STALKEER_… (environment)``, ``--db``,
        ``DATABASE_URL`` or what names an option or argument: given_values)
        whose value holds quotes around it or looks like it holds an inline
        comment, with value_hint's hint. Said here, where
        every error is shown (main(), `config --check`), so that each key has
        it whatever getter or section check refused it: per getter, [logging]
        level, [notify] on and [quality] preference had none; a STALKEER_*
        variable and --db had none at all."""
        found = error_key(message)
        if found:
            hint = self.key_hint(*found)
        else:
            hint = next((value_hint(value) for where, value in self.given_values()
                         if _about(message, where)), '')
        return message + hint if hint and hint not in message else message

    def inline_comment_notes(self, but=()) -> list[str]:
        """inline_comment_pairs' notes."""
        return [note for _where, _value, note in self.inline_comment_pairs(but)]

    def inline_comment_pairs(self, but=()) -> list[tuple[str, str]]:
        """One note per value in force that looks like it holds an inline
        comment, its value not quoted: each key of the file or of a STALKEER_*
        variable (inline_comment; a secret key's secret_note instead), --db, DATABASE_URL,
        $STALKEER_CONFIG and the command line's paths (given_values); a URL
        holding one is refused for its space. None for what an error
        of ``but`` (messages) is about: that error says it (explained).
        Each as (what an error about it starts with, its value, the note)."""
        keys_refused = {error_key(problem) for problem in but}
        notes = []
        for section, keys in DEFAULTS.items():
            for key in keys:
                if (section, key) in keys_refused:
                    continue
                where = self.where(section, key)
                value = self.get(section, key) or ''
                mark = self.inline_comment(section, key)
                if mark:
                    kind = comment_value_kind(section, key, value=value)
                    notes.append((where, value, inline_comment_note(
                        where, mark, self.origin(section, key) == 'file', kind)))
                # A secret's value is never matched against an error (HeldNotes.drop).
                notes.append((where, '\0', self.secret_note(section, key)))
        notes = [note for note in notes if note[2]]
        for where, value in self.given_values():
            found = _INLINE_COMMENT.search(value.strip())
            if found and not any(_about(problem, where) for problem in but):
                notes.append((where, value, inline_comment_note(where, found.group(1), False,
                                                                comment_value_kind(None, None, where, value))))
        return notes

    def origin(self, section, key) -> str:
        """Where the value in force comes from: ``default``, ``file`` or
        ``environment STALKEER_…`` (see database_url_source for the database URL)."""
        return ' '.join(filter(None, self.origin_parts(section, key)))

    def origin_parts(self, section, key) -> tuple[str, str | None]:
        """origin() as values: (``default`` | ``file`` | ``environment``, the
        variable's name or None), as `config --json` gives them."""
        env_name = f'STALKEER_{section}_{key}'.upper()
        if env_name in self.env:
            return 'environment', env_name
        return ('file' if (section, key) in self.file_options() else 'default'), None

    def where(self, section, key) -> str:
        """What an error about a key calls it: where its value comes from,
        ``STALKEER_<SECTION>_<KEY> (environment)`` or ``[section] key``."""
        return self._source(section, key)[1]

    def file_options(self) -> set:
        """The (section, key) pairs the file itself sets (the parser holds only the file)."""
        return {(section, key) for section in self.parser.sections()
                for key in self.parser.options(section)}

    def get(self, section, key, default=None) -> str | None:
        value, _ = self._source(section, key)
        if value is None:
            return default
        return value.strip()

    def getnumber(self, section, key) -> int | float:
        """A numeric key, within its NUMBER_LIMITS; ConfigError naming it otherwise."""
        kind, minimum, maximum = NUMBER_LIMITS[(section, key)]
        value, where = self._source(section, key)
        try:
            return parse_number(value, kind, minimum, maximum)
        except ValueError as exc:
            raise ConfigError(f'{where} {exc}') from None

    def getbool(self, section, key) -> bool:
        """A boolean key (BOOL_CONFIG_KEYS), spelled as _BOOL_SPELLINGS allows;
        empty is false. ConfigError naming the key otherwise."""
        value, where = self._source(section, key)
        lowered = str(value).strip().lower()
        if lowered in _BOOL_SPELLINGS:
            return _BOOL_SPELLINGS[lowered]
        raise ConfigError(f'{where} must be true or false (or yes/no, on/off, 1/0), got {quoted_value(value)}')

    def getswitch(self, section, key) -> str:
        """A key that is a boolean or ``auto`` (SWITCH_CONFIG_KEYS): 'auto',
        'true' or 'false', the true/false spellings as getbool() takes them;
        empty is auto. ConfigError naming the key otherwise."""
        value, where = self._source(section, key)
        lowered = str(value or '').strip().lower()
        if lowered in ('', 'auto'):
            return 'auto'
        if lowered in _BOOL_SPELLINGS:
            return 'true' if _BOOL_SPELLINGS[lowered] else 'false'
        raise ConfigError(f'{where} must be auto, true or false (or yes/no, on/off, 1/0), '
                          f'got {quoted_value(value)}')

    def getheader(self, section, key) -> str:
        """A value sent in an HTTP header (API key, User-Agent): printable ASCII
        only. HTTP/1.1 header values are bytes that requests encodes as Latin-1,
        and a control character would split the header (RFC 9110 5.5)."""
        value, where = self._source(section, key)
        value = (value or '').strip()
        bad = next((i for i, char in enumerate(value) if not ' ' <= char <= '~'), None)
        if bad is not None:
            raise ConfigError(f'{where} has a character that cannot be sent in an HTTP header '
                              f'(non-ASCII or control character at position {bad + 1}): '
                              'check it for a copy-paste slip')
        return value

    def getpath(self, section, key) -> str | None:
        """A path; relative ones are resolved against the config file's folder.
        ConfigError naming the key for a control character (NUL included),
        quotes around the path (value_hint says why), for
        a folder key (_FOLDER_CONFIG_KEYS) that names anything but a folder, a
        link to one or nothing yet (folder_setting_problem, role 'create': each
        folder key names a folder stalkeer creates and creates files in), and
        for a file key (_FILE_CONFIG_KEYS) that names anything but a regular
        file or nothing (file_setting_problem, role 'write': each file key names
        a file stalkeer creates, appends to or replaces)."""
        if (section, key) in self.unused_paths:     # wrong, and warned about at start (check)
            return None
        value, where = self._source(section, key)
        value = (value or '').strip()
        if not value:
            return None
        if '\n' in value:      # an indented line under it: not the path, maybe a secret
            first, more = value.split('\n', 1)
            raise ConfigError(f"{where} must be a path on one line, got '{clip(first.strip())}' "
                              f'{continued_lines_note(more)}')
        if _FIELD_CONTROLS.search(value):
            raise ConfigError(f"{where} must be a path without control characters, got '{clip(value)}'")
        problem = quoted_path_problem(where, value)
        if problem:
            raise ConfigError(problem)
        value = os.path.expanduser(value)
        path = value if os.path.isabs(value) else os.path.join(self.base_dir, value)
        if (section, key) in _FOLDER_CONFIG_KEYS:
            problem = folder_setting_problem(where, path, 'create')
            if not problem and (section, key) in _LIBRARY_ROOT_KEYS:
                problem = commented_root_problem(where, path, value)
            if not problem and (section, key) == ('downloads', 'temp_dir'):
                problem = self._temp_dir_link_problem(where, path)
        else:
            problem = file_setting_problem(where, path, 'append' if (section, key) in _APPEND_CONFIG_KEYS
                                           else 'write')
        if problem:
            raise ConfigError(problem)
        return path

    def _temp_dir_link_problem(self, where: str, path: str) -> str | None:
        """The run's refusal of a temp_dir inside a library root (movies_path,
        tvshows_path, a path_map LOCAL) with a symbolic link below the root on
        the way (link_below_root: a .part there is opened by open_folder with
        that root, which follows no link below it), or None. A root that is
        itself wrong is that key's own error, not this one's."""
        roots = []
        for section, key in (('downloads', 'movies_path'), ('downloads', 'tvshows_path')):
            with contextlib.suppress(ConfigError):
                roots.append(self.getpath(section, key))
        for section in ('radarr', 'sonarr'):
            with contextlib.suppress(ConfigError):
                roots += [local for _remote, local in self.getpathmap(section)]
        for root in filter(None, roots):
            link = link_below_root(os.path.normpath(path), os.path.normpath(root))
            if link:
                return (f'{where} must be a folder reached through no symbolic link below the library '
                        f'root {root}: {_link_refusal(link, root)}')
        return None

    # -- checks ---------------------------------------------------------------
    # Path keys whose value is wrong but that the run's command does not use
    # (COMMAND_PATH_SETTINGS): check() warned about each, getpath() reads it as unset.
    unused_paths: frozenset = frozenset()

    def check(self, command: str | None = None) -> list[str]:
        """Every numeric key valid, and every path key ``command`` uses
        (command_path_settings; None: every one), ConfigError otherwise:
        main() runs this before any command but `config`. A wrong path key the
        command does not use is no refusal (`status` over a temp_dir that is a
        named pipe: trial1 A); returns one warning per such key, each one line,
        and reads it as unset from then on (unused_paths)."""
        for section, key in NUMBER_LIMITS:
            self.getnumber(section, key)
        used = command_path_settings(command)
        for section, key in sorted(used):
            self.getpath(section, key)
        warnings, unused = [], set()
        for section, key in sorted(_PATH_CONFIG_KEYS - used):
            try:
                self.getpath(section, key)
            except ConfigError as exc:
                warnings.append(f'{self.explained(str(exc))} (ignored: `{command}` does not use it)')
                unused.add((section, key))
        self.unused_paths = frozenset(unused)
        return warnings

    def key_checks(self) -> list[tuple[tuple[str, str], Callable]]:
        """One check per key whose value stands on its own, read as the command
        that uses it reads it: ((section, key), check raising ConfigError).
        `config --check` runs them all, whether or not the section is in use
        (a [radarr] rescan = maybe is wrong before Radarr is configured); keys
        that depend on others (an app's url with its api_key, the [xtream]
        account, the [filter] regexes) are the sections' checks (config_checks)."""
        readers = [(NUMBER_LIMITS, self.getnumber), (_PATH_CONFIG_KEYS, self.getpath),
                   (BOOL_CONFIG_KEYS, self.getbool), (SWITCH_CONFIG_KEYS, self.getswitch),
                   (HEADER_CONFIG_KEYS, self.getheader), (URL_CONFIG_KEYS, self.geturl)]
        checks = [(key, functools.partial(read, *key)) for keys, read in readers for key in sorted(keys)]
        checks += [((section, 'path_map'), functools.partial(self.getpathmap, section))
                   for section in ('radarr', 'sonarr')]
        return checks

    def getpathmap(self, section) -> list[tuple[str, str]]:
        """[radarr]/[sonarr] path_map as parse_path_map() reads it (ConfigError)."""
        return parse_path_map(self.get(section, 'path_map') or '', section, self.where(section, 'path_map'))

    def geturl(self, section, key) -> str | None:
        """An http(s) URL key (URL_CONFIG_KEYS), or None when empty. ConfigError
        naming the key for another scheme or a URL that cannot be requested
        (url_problem); the account in it is never shown."""
        value, where = self._source(section, key)
        value = (value or '').strip()
        if not value:
            return None
        if '\n' in value:      # an indented line under it: not the URL, maybe a secret
            first, more = value.split('\n', 1)
            raise ConfigError(f'{where} must be one http:// or https:// URL, got '
                              f'{quoted_url(first.strip())} {continued_lines_note(more)}')
        # A space: most likely the start of an inline comment ('http://r:7878/ ;
        # my radarr'), which Config.explained then says.
        error = http_url_error(where, value, space_problem(value))
        if error:
            raise ConfigError(error)
        return value

    def unknown_keys(self) -> list[str]:
        """One warning per key of the file, and per STALKEER_* variable, that
        names no setting (a typo changes nothing, silently), each with the
        closest known one."""
        warnings = self.empty_unknown_sections()
        for section in self.parser.sections():
            for key in self.parser.options(section):
                if key in DEFAULTS.get(section, {}):
                    continue
                near = _closest_key(section, key)
                what = 'key' if section in DEFAULTS else 'section'
                warnings.append(f'{self.path}: {self.shown_section(section)} {shown_config_key(key)} is '
                                f'ignored: unknown {what}' + (f' (did you mean {near}?)' if near else ''))
        known = {f'{_ENV_PREFIX}{s}_{k}'.upper() for s, keys in DEFAULTS.items() for k in keys}
        known.add('STALKEER_CONFIG')
        for name in sorted(self.env):
            if name.upper().startswith(_ENV_PREFIX) and not name.upper().startswith(_ENV_TEST_PREFIX) \
                    and name.upper() not in known:
                near = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
                warnings.append(f'environment variable {clip(name, 80)} is not a stalkeer setting, '
                                f'ignored' + (f' (did you mean {near[0]}?)' if near else ''))
        return warnings

    def empty_unknown_sections(self) -> list[str]:
        """One warning per unknown section of the file that holds no key (a
        misspelt [radar] whose keys were forgotten, or a pasted line): it changes
        nothing, silently. Unknown sections with keys are named with their keys."""
        warnings = []
        for section in self.parser.sections():
            if section not in DEFAULTS and not self.parser.options(section):
                shown = self.shown_section(section)
                near = difflib.get_close_matches(section.lower(), list(DEFAULTS), n=1, cutoff=0.6)
                warnings.append(f'{self.path}: {shown} is ignored: unknown section' +
                                (f' (did you mean [{near[0]}]?)' if near and shown.startswith('[') else ''))
        return warnings

    def register_secrets(self) -> None:
        """Teach redact() every secret the configuration holds, before anything
        is printed: a command that never reads the playlist (status, serve)
        still masks the account of [m3u] url by value."""
        for url in (self.get('m3u', 'url'), self.get('xtream', 'url'), self.database_url):
            if url:
                register_url_secrets(url, configured=True)
        for url in (self.get('notify', 'webhook_url'), self.get('notify', 'healthcheck_url'),
                    *re.split(r'[\s,]+', self.get('notify', 'apprise_urls') or '')):
            if url:
                register_secret_url(url)
        for section, key in (('radarr', 'api_key'), ('sonarr', 'api_key'), ('serve', 'token')):
            redact.add(self.get(section, key))
        # The panel account, as the playlist URL's is: by value wherever it shows up
        # (an answer echoing user_info.username, an error holding the request URL).
        for key in ('username', 'password'):
            value = self.get('xtream', key)
            if value:
                for form in {value, urllib.parse.quote(value, safe='')}:
                    redact.add(form)
        for value in self._raw_values():
            for secret in misplaced_assignments(value):
                redact.add(secret)

    def _raw_values(self) -> Iterator[str]:
        """Every value the file and the STALKEER_* environment hold, as written."""
        for section in self.parser.sections():
            yield from self.parser[section].values()
        for name, value in self.env.items():
            if name.startswith('STALKEER_'):
                yield value

    def weak_secrets(self) -> list[str]:
        """Names of the configured secrets too short or plain to be masked by
        value (distinctive_secret): `config --check` notes each."""
        found = []
        accounts = [('[m3u] url', self.get('m3u', 'url'))]
        for label, url in accounts:
            entry = panel_from_playlist_url(url or '')
            if entry:
                found += [(f'{label} {key}', value) for key, value in zip(('username', 'password'), entry[1:])]
        found += [(f'[xtream] {key}', self.get('xtream', key)) for key in ('username', 'password')]
        found += [(f'[{section}] {key}', self.get(section, key))
                  for section, key in (('radarr', 'api_key'), ('sonarr', 'api_key'), ('serve', 'token'))]
        return [f'{label} is short or plain ({len(value)} characters): it is masked where it stands in '
                'a URL, not in other text (a password 1995 would turn every "Heat (1995)" into '
                '"Heat (***)" and so give itself away); a longer one is safer'
                for label, value in dict(found).items() if value and not distinctive_secret(value)]

    # -- derived --------------------------------------------------------------
    # An empty --db or DATABASE_URL is the value in force, refused as empty
    # (parse_database_url), as an empty STALKEER_DATABASE_URL is: it used to
    # fall through silently to the next source (trial-16a F7), so a run meant
    # for one database wrote into another.
    @property
    def database_url(self) -> str:
        if self.db_url_override is not None:
            return self.db_url_override
        if 'DATABASE_URL' in self.env:
            return self.env['DATABASE_URL']
        return self.get('database', 'url')

    @property
    def database_url_source(self) -> str:
        if self.db_url_override is not None:
            return '--db'
        if 'DATABASE_URL' in self.env:
            return 'DATABASE_URL'
        return self._source('database', 'url')[1]


@dataclasses.dataclass
class DownloadSettings:
    """The [downloads] section, validated."""
    temp_dir: str | None = None
    connect_timeout: float = 10
    read_timeout: float = 60
    retry_attempts: int = 3
    max_retry_attempts: int = 5
    backoff_base: float = 2
    backoff_max: float = 60
    progress_interval_bytes: int = 10 * MiB
    progress_interval_seconds: float = 30
    lock_timeout: float = 300
    min_free_space: int = 1024 * MiB
    user_agent: str = f'stalkeer/{__version__}'

    @classmethod
    def from_config(cls, cfg: Config) -> 'DownloadSettings':
        s = 'downloads'
        settings = cls(
            temp_dir=cfg.getpath(s, 'temp_dir'),
            connect_timeout=cfg.getnumber(s, 'connect_timeout'),
            read_timeout=cfg.getnumber(s, 'read_timeout'),
            retry_attempts=cfg.getnumber(s, 'retry_attempts'),
            max_retry_attempts=cfg.getnumber(s, 'max_retry_attempts'),
            backoff_base=cfg.getnumber(s, 'retry_backoff_seconds'),
            backoff_max=cfg.getnumber(s, 'retry_backoff_max_seconds'),
            progress_interval_bytes=int(cfg.getnumber(s, 'progress_interval_mb') * MiB),
            progress_interval_seconds=cfg.getnumber(s, 'progress_interval_seconds'),
            lock_timeout=cfg.getnumber(s, 'lock_timeout_seconds'),
            min_free_space=int(cfg.getnumber(s, 'min_free_space_mb') * MiB),
            user_agent=cfg.getheader(s, 'user_agent') or f'stalkeer/{__version__}',
        )
        if settings.progress_interval_seconds * 2 > settings.lock_timeout:
            # The lease is renewed every progress_interval_seconds, from a thread of
            # its own (not when bytes arrive): it must survive one missed renewal.
            raise ConfigError(
                f'{cfg.where(s, "progress_interval_seconds")} ({settings.progress_interval_seconds:g}) '
                f'must be at most half of {cfg.where(s, "lock_timeout_seconds")} '
                f'({settings.lock_timeout:g}): the lock is renewed that often and must outlive one '
                'missed renewal')
        return settings


# ==== models and database ======================================================

# SQLite waits for a lock another connection holds (the write lock, or on a
# rollback journal the readers a COMMIT must see leave) in slices of
# SQLITE_LOCK_SLICE, repeated by StalkeerSqliteDatabase up to SQLITE_LOCK_WAIT,
# saying so once the wait passes SQLITE_LOCK_NOTICE. Seconds.
SQLITE_LOCK_WAIT = 15
SQLITE_LOCK_SLICE = 0.25
SQLITE_LOCK_NOTICE = 1
SQLITE_BUSY = 5         # sqlite3.SQLITE_BUSY; the primary code of SQLITE_BUSY_* too


def sqlite_busy(exc) -> bool:
    """An SQLite "database is locked": another connection held the lock for the
    whole busy timeout (the driver's error, or peewee's wrapping it)."""
    code = getattr(_driver_error(exc), 'sqlite_errorcode', None)
    return code is not None and code & 0xff == SQLITE_BUSY


def define_models() -> None:
    """Build the peewee models and database classes (idempotent). Importing
    stalkeer as a module does it at once; `python stalkeer.py` does it in main()
    once the arguments are parsed, so `--help` and `--version` never import
    peewee (~15 ms with the psycopg2 it loads; bench/RESULTS.md, "Start-up")."""
    if 'MODELS' in globals():
        return
    global db_proxy, _default, BaseModel, DownloadInfo, ProcessedLine, ArrLookup
    global LineProbe, DownloadItem, MODELS, StalkeerSqliteDatabase, StalkeerPostgresqlDatabase, PanelAccount
    global PlaylistImport

    db_proxy = peewee.DatabaseProxy()


    def _default(sql: str):
        """A SQL DEFAULT, so rows inserted by hand (or by schema.sql users) get it too."""
        return [peewee.SQL(f'DEFAULT {sql}')]


    class BaseModel(peewee.Model):
        class Meta:
            database = db_proxy
            legacy_table_names = False


    class DownloadInfo(BaseModel):
        """One tracked download: the contract table of the design documents.

        ``destination`` (the path that was asked for), ``part_path`` and ``title``
        are stalkeer's additions, so that any later process can resume and finish
        a download it did not start.
        """
        url = peewee.TextField()
        title = peewee.TextField(null=True)
        destination = peewee.TextField(unique=True)
        part_path = peewee.TextField(null=True)
        status = peewee.CharField(max_length=16, default=PENDING, index=True,
                                  constraints=_default(f"'{PENDING}'"))
        download_path = peewee.TextField(null=True)
        file_size = peewee.BigIntegerField(null=True)
        bytes_downloaded = peewee.BigIntegerField(default=0, constraints=_default('0'))
        total_bytes = peewee.BigIntegerField(null=True)
        resume_token = peewee.TextField(null=True)
        retry_count = peewee.IntegerField(default=0, constraints=_default('0'))
        last_retry_at = peewee.DateTimeField(null=True)
        locked_at = peewee.DateTimeField(null=True, index=True)
        locked_by = peewee.CharField(max_length=255, null=True)
        started_at = peewee.DateTimeField(null=True)
        completed_at = peewee.DateTimeField(null=True)
        error_message = peewee.TextField(null=True)
        created_at = peewee.DateTimeField(default=utcnow, constraints=_default('CURRENT_TIMESTAMP'))
        updated_at = peewee.DateTimeField(default=utcnow, index=True,
                                          constraints=_default('CURRENT_TIMESTAMP'))
        # Which Radarr movie / Sonarr episode this download fills, so a run skips
        # what is done and a resumed download still triggers the right rescan.
        service = peewee.CharField(max_length=16, null=True)
        service_item_id = peewee.IntegerField(null=True)
        service_parent_id = peewee.IntegerField(null=True)
        # The fencing token of the current lease: new at every acquire, compared in
        # every statement the holder makes (heartbeats included).
        lease_token = peewee.CharField(max_length=32, null=True)
        # --force was given: an existing file at the destination may be replaced,
        # by whichever later run finishes the download.
        force = peewee.BooleanField(default=False, constraints=_default('FALSE'))
        # Completed, but Radarr/Sonarr has not yet accepted the rescan for it.
        rescan_pending = peewee.BooleanField(default=False, constraints=_default('FALSE'))
        # The current transfer session (set when a transfer starts or resumes), so
        # speed and ETA in `status` are not diluted by earlier runs and pauses.
        session_started_at = peewee.DateTimeField(null=True)
        session_start_bytes = peewee.BigIntegerField(null=True)
        # The inode number of the .part this download created (text: inode numbers
        # are unsigned 64-bit): only that file is ever reopened and written.
        part_inode = peewee.TextField(null=True)
        # The folder holding the Radarr movie folder / Sonarr series folder: no
        # symlink below it is followed when creating or removing files.
        library_root = peewee.TextField(null=True)

        class Meta:
            table_name = 'download_info'
            indexes = ((('service', 'service_item_id'), False),)

        @property
        def percent(self) -> float | None:
            if not self.total_bytes:
                return None
            return 100.0 * (self.bytes_downloaded or 0) / self.total_bytes


    class ProcessedLine(BaseModel):
        """A playlist entry, classified; ``state`` mirrors its download.

        ``line_hash`` (tvg-name + URL) identifies a line across imports;
        ``match_key`` is the normalised title the Radarr/Sonarr matching looks up
        through an index; ``missing_since`` is set when a line is no longer in the
        playlist (lines are never deleted: a download may point at them)."""
        line_hash = peewee.CharField(max_length=40, null=True, unique=True)
        # No index on state: nothing looks lines up by it, and 300k lines pay for
        # every index at each import.
        state = peewee.CharField(max_length=16, default='processed',
                                 constraints=_default("'processed'"))
        download_info = peewee.ForeignKeyField(
            DownloadInfo, null=True, column_name='download_info_id', on_delete='SET NULL',
            backref='lines')
        content_type = peewee.CharField(max_length=16, null=True)
        title = peewee.TextField(null=True)
        year = peewee.IntegerField(null=True)
        season = peewee.IntegerField(null=True)
        episode = peewee.IntegerField(null=True)
        resolution = peewee.CharField(max_length=8, null=True)
        languages = peewee.CharField(max_length=255, null=True)
        match_key = peewee.TextField(null=True)
        # The numbering a line gives, as written (see parse_title): the last episode of
        # 'S01E01-E03', the absolute number of 'One Piece - 1071' / 'S01E1170', a daily
        # show's air date; the other reading of the title ('Death Race 2000' keeping the
        # number that was split off as a year, or 'The Office' without its '(US)'), the
        # edition dropped from the title, and the country qualifier kept in it.
        episode_end = peewee.IntegerField(null=True)
        absolute_episode = peewee.IntegerField(null=True)
        air_date = peewee.DateField(null=True)
        alt_key = peewee.TextField(null=True)
        edition = peewee.CharField(max_length=64, null=True)
        country = peewee.CharField(max_length=8, null=True)
        display_title = peewee.TextField(null=True)
        tvg_id = peewee.CharField(max_length=255, null=True, index=True)
        tvg_name = peewee.TextField(null=True)
        tvg_logo = peewee.TextField(null=True)
        group_title = peewee.TextField(null=True)
        tvg_type = peewee.CharField(max_length=64, null=True)
        url = peewee.TextField(null=True)
        line_number = peewee.IntegerField(null=True)
        meta_hash = peewee.CharField(max_length=40, null=True)
        first_seen_at = peewee.DateTimeField(null=True)
        missing_since = peewee.DateTimeField(null=True)
        created_at = peewee.DateTimeField(default=utcnow, constraints=_default('CURRENT_TIMESTAMP'))
        updated_at = peewee.DateTimeField(default=utcnow, constraints=_default('CURRENT_TIMESTAMP'))
        # Where the line was read (LINE_SOURCES; rows older than the column: the M3U),
        # and what an Xtream panel's player_api.php says of it: the VOD stream_id (an
        # episode's id for episode lines), the series_id of a series and its episodes,
        # the TMDB id where the panel has one, the file's container_extension.
        source = peewee.CharField(max_length=16, null=True, constraints=_default("'m3u'"))
        stream_id = peewee.IntegerField(null=True)
        series_id = peewee.IntegerField(null=True)
        # Indexed: Radarr's tmdbId / a Sonarr series' tmdbId find the panel's lines by it.
        tmdb_id = peewee.IntegerField(null=True, index=True)
        container_extension = peewee.CharField(max_length=8, null=True)
        # When get_series_info (a series line) or get_vod_info (a movie line) was last
        # asked of the panel: answers are kept [xtream] info_refresh_hours.
        panel_info_at = peewee.DateTimeField(null=True)

        class Meta:
            table_name = 'processed_lines'
            indexes = (
                # The matching looks movies and episodes up by key within a type.
                (('content_type', 'match_key'), False),
            )


    # alt_key is looked up like match_key, within a type; most lines have none, so only
    # those that do are indexed (`alt_key IN (…)` implies NOT NULL on both engines).
    if not MISSING_PACKAGES:      # without peewee only --help can run (optional dependencies)
        ProcessedLine.add_index(ProcessedLine.index(ProcessedLine.content_type, ProcessedLine.alt_key,
                                                    where=ProcessedLine.alt_key.is_null(False)))


    class PanelAccount(BaseModel):
        """What an Xtream panel's ``player_api.php`` (no action) said of the account
        at the last run that asked: user_info's ``status``, ``exp_date`` (NULL: never
        expires), ``active_cons`` and ``max_connections``. ``panel`` is the panel's
        base URL without the account (the account itself is never stored here)."""
        panel = peewee.TextField(unique=True)
        status = peewee.CharField(max_length=32, null=True)
        exp_date = peewee.DateTimeField(null=True)
        is_trial = peewee.BooleanField(null=True)
        active_cons = peewee.IntegerField(null=True)
        max_connections = peewee.IntegerField(null=True)
        checked_at = peewee.DateTimeField(default=utcnow)

        class Meta:
            table_name = 'panel_accounts'


    class ArrLookup(BaseModel):
        """One answer of Radarr's ``movie/lookup`` or Sonarr's ``series/lookup`` for a
        title, kept ``[matching] lookup_cache_days``: whether another film or series of
        that name exists changes rarely, and each lookup costs the app a metadata search.
        ``answer`` is JSON: the few facts matching uses of each result (TitleFacts)."""
        service = peewee.CharField(max_length=16)
        term_key = peewee.TextField()               # match_key of the term
        term = peewee.TextField()                   # as sent
        answer = peewee.TextField()
        looked_up_at = peewee.DateTimeField(default=utcnow)

        class Meta:
            table_name = 'arr_lookups'
            indexes = ((('service', 'term_key'), True),)


    class LineProbe(BaseModel):
        """What a line's container header says (probe_media): duration and frame size,
        or why they are unknown. One row per line, so no line is probed twice."""
        line = peewee.ForeignKeyField(ProcessedLine, column_name='line_id', unique=True,
                                      on_delete='CASCADE')
        duration_seconds = peewee.FloatField(null=True)
        width = peewee.IntegerField(null=True)
        height = peewee.IntegerField(null=True)
        resolution = peewee.CharField(max_length=8, null=True)
        container = peewee.CharField(max_length=16, null=True)
        note = peewee.TextField(null=True)          # why the duration is unknown
        probed_at = peewee.DateTimeField(default=utcnow)

        class Meta:
            table_name = 'line_probes'


    class DownloadItem(BaseModel):
        """Each further Radarr/Sonarr item one download fills, beyond its own
        ``service_item_id``: the second and later episodes of a multi-episode file
        ('… - S01E01-E02.mkv'), so no run downloads them again."""
        download_info = peewee.ForeignKeyField(DownloadInfo, column_name='download_info_id',
                                               on_delete='CASCADE')
        service = peewee.CharField(max_length=16)
        item_id = peewee.IntegerField()

        class Meta:
            table_name = 'download_items'
            indexes = ((('service', 'item_id', 'download_info'), True),)


    class PlaylistImport(BaseModel):
        """The last `process` import of each source (``m3u``; ``xtream``, a panel's
        catalogue, whose ``digest`` is its base URL's and never skips a re-run):
        the file's SHA-256 and everything else that decides what an import stores (CLASSIFIER_VERSION,
        the [filter] patterns), so a re-run of a byte-identical playlist skips the
        per-line work (issue 15). ``completed_at`` NULL: running, interrupted or
        overlapped by another import. ``epoch`` counts import starts and ends in
        this database; ``run_id`` is the import that wrote the row. ``line_count``
        and ``max_line_id`` are processed_lines' COUNT(*) and MAX(id) when it
        completed: a line added or deleted since means it no longer holds."""
        source = peewee.CharField(max_length=16, unique=True)
        digest = peewee.CharField(max_length=64)
        classifier_version = peewee.CharField(max_length=16)
        filter_key = peewee.CharField(max_length=64)
        run_id = peewee.CharField(max_length=32)
        epoch = peewee.IntegerField(default=0)
        lines = peewee.IntegerField(default=0)
        line_count = peewee.IntegerField(null=True)
        max_line_id = peewee.IntegerField(null=True)
        counts = peewee.TextField(null=True)        # JSON: that import's IngestSummary counts
        started_at = peewee.DateTimeField(default=utcnow)
        completed_at = peewee.DateTimeField(null=True)

        class Meta:
            table_name = 'playlist_imports'


    MODELS = (DownloadInfo, ProcessedLine, ArrLookup, LineProbe, DownloadItem, PanelAccount, PlaylistImport)


    class StalkeerSqliteDatabase(peewee.SqliteDatabase):
        """SQLite tuned for several processes: WAL, ``BEGIN IMMEDIATE`` for every
        transaction, so a read-then-write never dies with "database is locked"
        halfway (the write lock is taken up front), and a wait for a lock that
        Ctrl-C ends and that says what it waits for.

        SQLite's busy handler waits in C: a 15 s busy_timeout kept the main
        thread there, silent, and deaf to the first Ctrl-C, for all of it
        (sqlite3_interrupt does not end a busy wait: trial-15e F5). The busy
        timeout is now one slice (SQLITE_LOCK_SLICE); a statement refused as
        busy is tried again here until SQLITE_LOCK_WAIT has passed, so the
        signal handler runs between slices, and a wait past SQLITE_LOCK_NOTICE
        is told once. Tried again: BEGIN and COMMIT (SQLite's docs: both may be
        repeated after SQLITE_BUSY) and a statement outside a transaction (it
        did nothing). One inside a transaction is not: after BEGIN IMMEDIATE it
        holds the write lock (a cache spill that cannot lock is skipped by
        SQLite), and one that still met SQLITE_BUSY there must roll back. The
        uncontended path costs nothing more: no statement, no clock read."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._lock_wait = threading.local()     # per connection: set_lock_wait
            self._told = threading.Lock()
            self._waits_told = 0        # waits being told now: one line for all threads
            self._wait_said = False     # a run says its first wait in full, the others with -v

        def set_lock_wait(self, seconds: float) -> None:
            """This thread's connection gives up on a lock after ``seconds``
            instead of SQLITE_LOCK_WAIT (a lease keeper: a slice of its lease)."""
            self._lock_wait.total = seconds
            if seconds < SQLITE_LOCK_SLICE:
                self._lock_wait.slice = seconds
                self.execute_sql(f'PRAGMA busy_timeout = {max(1, int(seconds * 1000))}')

        def begin(self, lock_type=None):
            try:
                super().begin(lock_type)
            except peewee.OperationalError as exc:
                self._wait_for_lock(exc, self._state.conn, super().begin, lock_type)

        def commit(self):
            try:
                super().commit()
            except peewee.OperationalError as exc:
                self._wait_for_lock(exc, self._state.conn, super().commit, committing=True)

        def execute_sql(self, sql, params=None):
            try:
                return super().execute_sql(sql, params)
            except peewee.OperationalError as exc:
                return self._wait_for_lock(exc, self._state.conn, super().execute_sql, sql, params)

        def _set_pragmas(self, conn):
            # At connect: journal_mode = wal on a database in another mode needs
            # the write lock, and waits as a statement does.
            cursor = conn.cursor()
            for pragma, value in self._pragmas:
                sql = f'PRAGMA {pragma} = {value};'
                try:
                    cursor.execute(sql)
                except peewee.sqlite3.OperationalError as exc:
                    self._wait_for_lock(exc, conn, cursor.execute, sql)
            cursor.close()

        def _wait_for_lock(self, exc, conn, retry, *args, committing=False):
            """``retry(*args)`` until it is not refused as busy or the wait has
            lasted this thread's SQLITE_LOCK_WAIT or the run is stopped
            (RUN_STOP); then the last refusal is raised, the same "database is
            locked" as before. ``exc``: the first
            refusal, raised at once when it is another error or comes from a
            statement inside a transaction."""
            if not sqlite_busy(exc) or conn is None or (conn.in_transaction and not committing):
                raise exc
            local = self._lock_wait
            total = getattr(local, 'total', SQLITE_LOCK_WAIT)
            # The first try waited a slice already: counted, so that the whole
            # wait is SQLITE_LOCK_WAIT, as the one busy timeout was.
            started = time.monotonic() - getattr(local, 'slice', SQLITE_LOCK_SLICE)
            told = False
            try:
                # The run's stop ends the wait at the slice, in every thread: a
                # worker hears no signal, and the main thread, once stopped, only
                # cleans up (RUN_STOP).
                while time.monotonic() - started < total and not RUN_STOP.requested():
                    if not told and time.monotonic() - started >= SQLITE_LOCK_NOTICE:
                        told = True
                        self._tell_wait(total, committing)
                    try:
                        return retry(*args)
                    except (peewee.OperationalError, peewee.sqlite3.OperationalError) as again:
                        if not sqlite_busy(again):
                            raise
                        exc = again
                raise exc
            finally:
                if told:
                    with self._told:
                        self._waits_told -= 1

        def _tell_wait(self, total: float, committing: bool) -> None:
            """One warning for a wait, none while another thread's wait is told
            (parallel downloads, a lease keeper: one line for one lock). A
            COMMIT on a rollback journal waits for readers to leave, not for
            a writer."""
            with self._told:
                self._waits_told += 1
                if self._waits_told > 1:
                    return
            holds = 'is reading it' if committing else 'holds its write lock'
            # Said in full once a run; a holder that takes the lock again and again
            # (a DB browser saving) made five same lines in one run (trial-17b T17B-3).
            # The path made absolute: a relative URL showed '…/s/../t6/…'.
            log.log(logging.INFO if self._wait_said else logging.WARNING,
                    'waiting for the database%s: another program %s (SQLite %s); giving up after %g s',
                    ' again' if self._wait_said else '', holds, os.path.abspath(self.database), total)
            self._wait_said = True

        def rollback(self):
            try:
                super().rollback()
            except peewee.OperationalError as exc:
                # SQLite rolls back by itself on SQLITE_FULL or an I/O error; ROLLBACK
                # then fails with "no transaction is active" and would hide the real
                # error ("database or disk is full") behind "cannot rollback".
                if 'no transaction is active' not in str(exc):
                    raise


    class StalkeerPostgresqlDatabase(peewee.PostgresqlDatabase):
        """PostgreSQL with the session in UTC, so timestamps mean the same everywhere.

        A statement waiting for a lock another session holds waits without end
        and hears no signal: once the run is stopped (RUN_STOP), one still
        running after a slice is cancelled (cancel_stuck_statements), in every
        thread, as a wait for SQLite's lock ends at the slice. So each thread's
        connection and when its statement started are noted."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.stalkeer_connections = {}     # thread ident -> its connection
            self.stalkeer_running = {}         # thread ident -> when its statement started

        def execute_sql(self, sql, params=None):
            key = threading.get_ident()
            self.stalkeer_running[key] = time.monotonic()
            try:
                return super().execute_sql(sql, params)
            finally:
                self.stalkeer_running.pop(key, None)

        def cancel_stuck_statements(self, within: float = 30.0) -> None:
            """From the stop on, for ``within`` seconds at most: cancel every
            statement that has run for a slice (SQLITE_LOCK_SLICE). The one
            cancelled raises a database error where it waited; a transition of
            a download then is not recorded (StateManager._retrying: Interrupted)."""
            ends = time.monotonic() + within
            while RUN_STOP.requested() and time.monotonic() < ends:
                now = time.monotonic()
                for key, since in list(self.stalkeer_running.items()):
                    conn = self.stalkeer_connections.get(key)
                    if now - since >= SQLITE_LOCK_SLICE and conn is not None and not conn.closed:
                        with contextlib.suppress(Exception):
                            conn.cancel()
                            log.debug('stop: cancelled a statement PostgreSQL kept waiting')
                time.sleep(SQLITE_LOCK_SLICE / 2)

        def rollback(self):
            conn = self._state.conn
            if conn is not None and conn.closed:
                return   # the connection broke (server restart, killed backend): keep that error
            super().rollback()

        def _initialize_connection(self, conn):
            schema = getattr(self, 'stalkeer_schema', None)
            if schema:
                try:
                    with conn.cursor() as cur:
                        # Asked first: PostgreSQL checks the right to create a schema
                        # before IF NOT EXISTS, so a user owning the schema but not
                        # allowed to create one could not connect (trial-15e F3).
                        cur.execute('SELECT 1 FROM pg_namespace WHERE nspname = %s', (schema,))
                        if cur.fetchone() is None:
                            cur.execute('CREATE SCHEMA IF NOT EXISTS "%s"' % schema)
                    conn.commit()
                except psycopg2.IntegrityError:
                    # Another process created it at the same instant (IF NOT EXISTS
                    # is not atomic in PostgreSQL's catalog): it exists, fine.
                    conn.rollback()
            with conn.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
                if schema:
                    cur.execute('SET search_path TO "%s"' % schema)
            conn.commit()
            self.stalkeer_connections[threading.get_ident()] = conn    # cancel_stuck_statements
            if threading.current_thread() is threading.main_thread():
                self.stalkeer_main_connection = conn     # for _SignalHandlers._cancel_wait


if __name__ != '__main__':     # imported as a module (tests, bench): build everything now
    define_models()


def is_postgres(db) -> bool:
    db = db.obj if isinstance(db, peewee.DatabaseProxy) else db
    return isinstance(db, peewee.PostgresqlDatabase)


# The database URLs every error about [database] url / --db gives as examples
# (one text: the empty and the not-a-URL errors showed two, trial1 E).
DATABASE_URL_EXAMPLES = 'sqlite:///path/to/stalkeer.db or postgresql://user:pass@host/db'


def parse_database_url(url: str, base_dir: str, source: str = '[database] url') -> dict:
    """Split a database URL into what the driver needs. Raises ConfigError."""
    if not url:
        raise ConfigError(f'{source} is empty; use {DATABASE_URL_EXAMPLES}')
    # First: urllib would take part of such a password for the host (the driver
    # then named it: connection to server at "123"), the port or a query
    # parameter's name, and every later check would quote it.
    problem = userinfo_problem(url, database=True)
    if problem:
        raise ConfigError(f'{source}: {problem}')
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f'{source}: {split_problem(exc, url)}') from None
    scheme = parts.scheme.lower()
    if scheme == 'sqlite':
        # sqlite:///relative.db -> 'relative.db'; sqlite:////abs.db -> '/abs.db'
        written = url.split('://', 1)[1]
        if '?' in written or '#' in written:
            # Taken as part of the name, sqlite:///x.db?schema=foo made a file
            # 'x.db?schema=foo' (trial-16a F7); SQLite takes no parameters here.
            raise ConfigError(f'{source}: an sqlite URL takes no ?query or #fragment (?schema= is '
                              'for PostgreSQL); a file name with ? or # in it is written %3F or %23')
        path = urllib.parse.unquote(written)
        if path.startswith('/'):
            path = path[1:]
        if not path:
            raise ConfigError(f'{source}: no file name in {url!r}')
        problem = quoted_path_problem(f'{source}: the sqlite file', path)
        if problem:         # sqlite:///"x.db": a file named '"x.db"'
            raise ConfigError(problem)
        if path != ':memory:' and not os.path.isabs(path):
            path = os.path.join(base_dir, os.path.expanduser(path))
        return {'kind': 'sqlite', 'path': path}
    if scheme in ('postgresql', 'postgres', 'postgresql+psycopg2'):
        space = space_problem(url)
        if space:
            # Most likely an inline comment (Config.explained says so), which went on
            # to 'database "test ; my db" does not exist' in every command while
            # config --check only noted it (trial-17b).
            raise ConfigError(f'{source}: {space}')
        params = _database_url_params(parts.query, source)
        schema = params.pop('schema', None)
        if schema and not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', schema):
            raise ConfigError(f'{source}: schema must be a plain identifier, got {schema!r}')
        if schema and len(schema) > 63:         # ASCII here: characters are bytes
            raise ConfigError(f'{source}: the schema name is {len(schema)} characters long; '
                              'PostgreSQL identifiers are at most 63 bytes')
        # A host name may be a socket folder (%2Fvar%2Frun%2Fpostgresql): the
        # brackets only. urlsplit takes postgresql://bob:[::1]/db for host ::1.
        problem = port_problem(parts) or _bracket_problem(parts.netloc)
        if problem:
            raise ConfigError(f'{source}: {problem}')
        port = parts.port
        database = urllib.parse.unquote(parts.path.lstrip('/'))
        if not database:
            raise ConfigError(f'{source}: no database name in {redact_url(url)!r}')
        if parts.password:
            redact.add(urllib.parse.unquote(parts.password))
        return {
            'kind': 'postgresql', 'database': database,
            'user': urllib.parse.unquote(parts.username) if parts.username else None,
            'password': urllib.parse.unquote(parts.password) if parts.password else None,
            'host': parts.hostname, 'port': port, 'schema': schema, 'params': params,
        }
    # The scheme only, and only when the text has a scheme:// ('bob:pw@db/x'
    # splits into scheme 'bob'): never the rest, which may hold the password.
    if url.lower().startswith(f'{scheme}://') and _URL_SCHEME.fullmatch(scheme):
        raise ConfigError(f'{source}: unknown database scheme {scheme!r}; '
                          f'use {DATABASE_URL_EXAMPLES}')
    raise ConfigError(f'{source}: not a database URL (no scheme://; not shown: it may hold a password); '
                      f'use {DATABASE_URL_EXAMPLES}')


def _database_url_params(query: str, source: str) -> dict[str, str]:
    """The ``?key=value&...`` of a PostgreSQL URL as a dict. A parameter given
    twice, or given with no value (``?schema=``, ``?sslmode``), raises
    ConfigError: parse_qsl kept the last of a repeated one and dropped blank
    ones, so ``?schema=`` silently meant public and ``?schema=a&schema=b`` b
    (trial-15e F6). Values are never shown: one may be a password."""
    params = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if not key:
            raise ConfigError(f'{source}: a query parameter has no name (=value without key=)')
        if key in params:
            raise ConfigError(f'{source}: the query parameter {key}= is given more than once; give it once')
        if not value:
            hint = (' (leave ?schema= out to use the default schema)' if key == 'schema' else
                    ' (leave it out to use the default)')
            raise ConfigError(f'{source}: the query parameter {key}= is empty{hint}')
        params[key] = value
    return params


# libpq's connection errors quote the role the URL names (role "X" does not
# exist; password authentication failed for user "X"): the URL's user is masked,
# so is its echo (trial-16b N3).
_PG_ROLE_IN_TEXT = _LazyPattern(r'\b((?:role|user) ")([^"]+)(")')


def open_database(url: str, base_dir: str, source: str = '[database] url', migrate=True):
    """Open (and by default create/upgrade) the database behind ``url``; binds the models."""
    spec = parse_database_url(url, base_dir, source)
    if spec['kind'] == 'sqlite':
        path = spec['path']
        journal = 'wal'
        # By the rule `config --check` names (sqlite_file_problems): a named
        # pipe there hung the open; a dangling link made a file where it led.
        problem = path != ':memory:' and (database_folder_problem(path)
                                          or file_setting_problem(source, path, 'write'))
        if problem:
            raise DatabaseError(problem)
        if path != ':memory:':
            # The folder the file really is in (a symlink may lead to another mount).
            fstype = filesystem_type(os.path.dirname(os.path.realpath(path)) or '.')
            if fstype in NETWORK_FILESYSTEMS:
                journal = 'delete'
                log.warning('database %s is on a network filesystem (%s): WAL is unsafe there, '
                            'using a rollback journal; for several machines use PostgreSQL',
                            path, fstype)
            create_private(path)       # SQLite gives its -wal/-shm/-journal the same mode
        db = StalkeerSqliteDatabase(
            path, timeout=SQLITE_LOCK_SLICE, lock_type='IMMEDIATE',
            pragmas={'journal_mode': journal, 'synchronous': 'normal', 'foreign_keys': 1})
    else:
        if psycopg2 is None or not _loads('psycopg2'):
            raise DatabaseError('PostgreSQL needs psycopg2: pip install psycopg2-binary')
        kwargs = {k: v for k, v in (('user', spec['user']), ('password', spec['password']),
                                     ('host', spec['host']), ('port', spec['port'])) if v}
        kwargs.update(spec['params'])
        kwargs.setdefault('connect_timeout', 10)
        db = StalkeerPostgresqlDatabase(spec['database'], **kwargs)
        db.stalkeer_schema = spec['schema']
    db_proxy.initialize(db)
    try:
        db.connect(reuse_if_open=True)
    except peewee.PeeweeException as exc:
        reason = _PG_ROLE_IN_TEXT.sub(r'\1***\3', first_line(exc))
        raise DatabaseError(f'cannot open database {redact_url(url)}: {reason}') from None
    if migrate:
        migrate_schema(db)
    return db


# An HLS (RFC 8216) playlist starts with '#EXTM3U': IPTV panels serve VOD as '.m3u8'
# too. It is a list of segment URLs, not the video; stalkeer downloads files only.
HLS_REFUSAL = 'the server sent an HLS playlist, not a file: stalkeer cannot download HLS'


def is_hls_playlist(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a body) is an M3U/HLS playlist."""
    return bytes(head[:64]).lstrip(b'\xef\xbb\xbf \t\r\n')[:7].upper() == b'#EXTM3U'


def first_line(exc) -> str:
    """The first line of ``exc``'s text, redacted; for a use of a database
    connection that had already broken, the first line of the error that broke
    it (see broken_connection_cause)."""
    exc = broken_connection_cause(exc)
    text = str(exc).strip() or exc.__class__.__name__
    return redact(text.splitlines()[0])


def _used_after_break(exc) -> bool:
    """psycopg2's "connection already closed" (InterfaceError, maybe wrapped
    by peewee): a statement, rollback or savepoint release on a connection that
    was already gone. It says nothing of why it went."""
    driver = sys.modules.get('psycopg2')       # not loaded: no PostgreSQL in this run
    return driver is not None and isinstance(exc, (peewee.InterfaceError, driver.InterfaceError)) \
        and 'connection already closed' in str(exc)


def broken_connection_cause(exc):
    """``exc``, unless it only says the connection was already closed: then the
    error raised before it, whose handling (a ROLLBACK TO SAVEPOINT, a
    ``finally``'s cleanup) met the dead connection — e.g. "server closed the
    connection unexpectedly" or "terminating connection due to administrator
    command" after pg_terminate_backend. Python keeps that earlier error as
    ``__context__``; the later one used to be reported instead (trial-15d F6)."""
    if not _used_after_break(exc):
        return exc
    seen, earlier = {id(exc)}, exc.__cause__ or exc.__context__
    while earlier is not None and id(earlier) not in seen:
        if not _used_after_break(earlier) and isinstance(earlier, database_errors()):
            return earlier
        seen.add(id(earlier))
        earlier = earlier.__cause__ or earlier.__context__
    return exc


def _driver_error(exc):
    """The DB-API exception peewee wrapped, else ``exc``. peewee 4 keeps it as
    ``orig`` (its first argument, which peewee 3 left in ``args``, is taken
    out): read from ``args`` only, the driver's code (pgcode, sqlite_errorcode)
    was never seen on a wrapped error."""
    inner = getattr(exc, 'orig', None)
    if inner is None:
        inner = exc.args[0] if exc.args else None
    return inner if isinstance(inner, BaseException) else exc


def db_error_cause(exc) -> str:
    """A short cause for a database error, "disk full" when it is one."""
    inner = _driver_error(exc)
    if getattr(inner, 'pgcode', None) == '53100' or 'disk is full' in str(exc).lower():
        return 'disk full (the database cannot grow)'
    if getattr(inner, 'pgcode', None) == '57014':
        # query_canceled: stalkeer cancels a statement still waiting for a lock
        # at the run's stop; the driver's "canceling statement due to user
        # request" read as if the user had done something to the database
        # (trial-18b L2). A server's statement_timeout says the same.
        return 'a statement waiting for the database was cancelled (another session holds a lock, or statement_timeout)'
    return first_line(exc)


def transient_db_error(exc) -> bool:
    """Worth retrying: SQLite busy or locked (another connection holds the write
    lock), or a PostgreSQL connection that broke or cannot be made (a restart, a
    killed backend). A full disk or a wrong query is not."""
    if not isinstance(exc, (peewee.OperationalError, peewee.InterfaceError)):
        return False
    if db_error_cause(exc).startswith('disk full'):
        return False
    if is_postgres(db_proxy):
        return True
    text = str(exc).lower()
    return 'locked' in text or 'busy' in text


def lost_lock_race(exc) -> bool:
    """PostgreSQL aborted the transaction to break a deadlock (SQLSTATE 40P01)
    or a serialization failure (40001); its docs advise running it again."""
    inner = _driver_error(exc)
    if getattr(inner, 'pgcode', None) in ('40P01', '40001'):
        return True
    extensions = sys.modules.get('psycopg2.extensions')
    return extensions is not None and isinstance(inner, extensions.TransactionRollbackError)


def reset_connection() -> None:
    """Drop this thread's database connection after it failed, so that the next
    statement connects afresh (PostgreSQL after a restart or a killed backend)."""
    db = db_proxy.obj
    if db is None or not is_postgres(db):
        return
    try:
        db.close()
    except Exception:      # half-dead connection: forget it
        db.dispose()


@contextlib.contextmanager
def schema_change(db):
    """A transaction for DDL that other instances may run at the same moment.

    Concurrent CREATE ... IF NOT EXISTS can still collide in PostgreSQL's
    catalog, so schema changes there take one advisory lock; SQLite's
    BEGIN IMMEDIATE already serialises them."""
    with db.atomic():
        if is_postgres(db):
            db.execute_sql('SELECT pg_advisory_xact_lock(741852963)')
        yield


# pg_advisory_lock keys of the import lock: this and the hash of the schema
# (one lock per ?schema=: imports into two schemas of one database have
# nothing to keep apart). schema_change's key is 741852963.
IMPORT_LOCK_KEY = 741852964
# How often a run waiting for another's import asks again, seconds (a blocking
# wait would not let Ctrl-C through).
IMPORT_LOCK_POLL = 0.5


def import_lock_path(db) -> str | None:
    """The SQLite database's import lock file: DATABASE-import.lock beside the
    file the database really is. A symlink to the database is the same database
    (SQLite resolves it for its -wal and -journal too), yet named after the link
    it got a lock of its own, and two imports overlapped (trial-17a F2). None:
    no lock (an in-memory database, or no flock here)."""
    if fcntl is None or not db.database or db.database == ':memory:':
        return None
    return _import_lock_file(db.database)


def _import_lock_file(database: str) -> str:
    """The import lock of the SQLite database file ``database`` (import_lock_path)."""
    return f'{os.path.realpath(database)}-import.lock'


def sqlite_file_problems(url: str, base_dir: str, source: str = '[database] url') -> list[str]:
    """What `config --check` says of the SQLite database's own files, in the
    words the commands refuse them with: the database file (role 'write', as
    open_database refuses it) and its import lock (import_lock_file_problem,
    as `process` refuses it); [] for PostgreSQL, :memory: or files that will do.
    ConfigError for a URL parse_database_url refuses."""
    spec = parse_database_url(url, base_dir, source)
    if spec['kind'] != 'sqlite' or spec['path'] == ':memory:':
        return []
    # Its folder first, as open_database judges it: a file in the folder's place
    # is one mistake, said once.
    problems = [database_folder_problem(spec['path']) or file_setting_problem(source, spec['path'], 'write')]
    if fcntl is not None:
        problems.append(import_lock_file_problem(_import_lock_file(spec['path'])))
    return [problem for problem in problems if problem]


def database_folder_problem(path: str) -> str | None:
    """Why the SQLite database file ``path`` cannot be made or opened in its
    folder (folder_problem, role 'exist': a mistyped --db leaves no folders
    behind), in the words open_database refuses it with; None when it can."""
    folder = os.path.dirname(path) or '.'
    what = folder_problem(folder, 'exist')
    if what is None:
        return None
    return f'cannot open database {path}: its folder {folder} is {what}{_link_hint(what, "a folder")}'


def _open_import_lock(path: str) -> int:
    """The import lock file at ``path``, opened (created when missing) for
    flock; never through a symlink. Anything but a regular file there (a
    folder, a symlink, a named pipe, a device), or a file it may not open,
    stops the run with DatabaseError: running without the lock would let
    imports overlap again (trial-15f F1). What is there is named, not the
    errno of the open: a symlink gave "Too many levels of symbolic links"."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        try:
            st = os.lstat(path)
        except OSError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise DatabaseError(_import_lock_message(path, st=st)) from None
        raise DatabaseError(_import_lock_message(path, strerror=exc.strerror)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):        # a named pipe or device opens fine
        os.close(fd)
        raise DatabaseError(_import_lock_message(path, st=st))
    return fd


def _lock_is_at_path(path: str, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (same device and
    inode; not followed if a symlink): a flock on a file that was unlinked or
    replaced guards nothing, since the next import creates a new file at the
    path and locks that one (trial-18a F1: a removed lock let two imports
    overlap)."""
    try:
        at_path = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return same_file(at_path, os.fstat(fd))


def _import_lock_message(path: str, *, st: os.stat_result | None = None, strerror: str = '') -> str:
    """Why the import lock at ``path`` cannot be used: ``st`` (lstat) of what
    stands there when it is no regular file, else the open's ``strerror``."""
    if st is not None:
        return (f'cannot use the import lock {path}: it is {_describe_mode(st)}, not a file stalkeer '
                'created; remove it (the next import creates the file again)')
    return (f'cannot use the import lock {path} ({strerror}); remove what is there if it is not '
            'a file stalkeer created')


@contextlib.contextmanager
def import_lock(db):
    """One import into a database at a time. Two overlapping imports of
    different playlists left the table a mix of both, batch by batch, until the
    next run (trial-15d F2); now the later waits for the earlier to finish,
    then runs (and finds the playlist unchanged when it is the same file).
    PostgreSQL: a session advisory lock, for every machine sharing the
    database's ?schema= (one schema's import does not hold up another's). SQLite: flock(2) on DATABASE-import.lock beside the file (the
    lock dies with the process), named after the file's real path (import_lock_path).
    Both are released at the run's end, or when the process or its connection dies.

    Yields ``check()``, which raises ImportLockLost once the lock no longer
    keeps other imports out; the holder calls it before each batch it stores
    (PlaylistIngest.check_lock). SQLite's lock is a file that anyone can
    remove (a tmp cleaner, a user deleting "stale" *.lock files), and the
    next import then created a new file and went ahead alongside (trial-18a
    F1): a lock taken is kept only when the path still names the locked
    file (else the file is opened again and locked anew), and the holder
    stops when its file left the path. PostgreSQL's advisory lock cannot be
    removed under its session: check() does nothing."""
    check = lambda: None  # noqa: E731
    if is_postgres(db):
        def take() -> bool:
            return bool(db.execute_sql('SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))',
                                       (IMPORT_LOCK_KEY,)).fetchone()[0])

        def release() -> None:
            with contextlib.suppress(Exception):     # a broken connection released it already
                db.execute_sql('SELECT pg_advisory_unlock(%s, hashtext(current_schema()))', (IMPORT_LOCK_KEY,))
    else:
        path = import_lock_path(db)
        if path is None:
            yield
            return
        fd = _open_import_lock(path)

        def take() -> bool:
            nonlocal fd
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                if _lock_is_at_path(path, fd):
                    return True
                # Removed or replaced while this run waited: the lock that
                # counts is the file at the path now.
                os.close(fd)
                fd = -1
                fd = _open_import_lock(path)

        def release() -> None:
            if fd >= 0:
                os.close(fd)

        def check() -> None:
            if not _lock_is_at_path(path, fd):
                raise ImportLockLost(
                    f'the import lock {path} was removed or replaced while this import ran, so '
                    'another import may have run alongside: this import stopped and did not complete; '
                    'leave the lock file in place and run process again')
    try:
        if not take():
            log.warning('another instance is importing into this database: waiting for it to finish')
            while not take():
                time.sleep(IMPORT_LOCK_POLL)
        yield check
    finally:
        release()


def import_running_elsewhere(db) -> bool:
    """Whether another process holds import_lock now; asked without taking it
    (PostgreSQL: pg_locks; SQLite: a shared flock tried and let go at once on
    the lock file, if there is one). Unsure (no such file, an error): False."""
    if is_postgres(db):
        # A two-key advisory lock shows as classid, objid (the keys as oids) and objsubid 2.
        return bool(db.execute_sql(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            'AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) '
            'AND classid::bigint = %s AND objsubid = 2 AND pid <> pg_backend_pid() '
            'AND objid::bigint = (hashtext(current_schema())::bigint & 4294967295))',
            (IMPORT_LOCK_KEY,)).fetchone()[0])
    path = import_lock_path(db)
    if path is None:
        return False
    try:
        # O_NONBLOCK: a named pipe planted there must not hang `status`.
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)        # releases the shared lock, if taken


def import_lock_problem(db) -> str | None:
    """Why no import can run here, when something other than a regular file
    stands at the SQLite import lock's path (a folder, a symlink, a named pipe:
    _open_import_lock refuses it), for `status`; None when imports can run
    (PostgreSQL, no file yet, a file). Every `process` stopped with one line
    while `status` said only "last import completed <old date>" (trial-18a F9).
    Looked at with lstat only: nothing there is opened or followed."""
    if is_postgres(db):
        return None
    path = import_lock_path(db)
    return None if path is None else import_lock_file_problem(path)


def import_lock_file_problem(path: str) -> str | None:
    """Why no import can run with the import lock at ``path``: anything there
    but nothing yet or a regular file itself (never through a symlink), as
    _open_import_lock refuses it; for `status` and `config --check`. None
    when imports can run."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return f'imports cannot run: {_import_lock_message(path, st=st)}'
    if not os.access(path, os.R_OK | os.W_OK):      # _open_import_lock's O_RDWR (a root run's lock)
        return f'imports cannot run: {_import_lock_message(path, strerror=os.strerror(errno.EACCES))}'
    return None


def _schema_gaps(db, models) -> list[tuple]:
    """What ``models`` describe that the database lacks, read from the catalog
    only: ``('table', model, None)``, ``('column', model, field)`` or
    ``('index', model, index)``; a missing table's columns and indexes are not
    listed (creating it makes them). Takes no lock on any table, so it never
    waits for an import's open transaction."""
    tables = set(db.get_tables())
    gaps = []
    for model in peewee.sort_models(models):
        table = model._meta.table_name
        if table not in tables:
            gaps.append(('table', model, None))
            continue
        have = {c.name for c in db.get_columns(table)}
        gaps += [('column', model, field) for field in model._meta.sorted_fields
                 if field.column_name not in have]
        have = {i.name for i in db.get_indexes(table)}
        gaps += [('index', model, index) for index in model._meta.fields_to_index()
                 if index._name not in have]
    return gaps


def migrate_schema(db) -> list[str]:
    """Create missing tables, add missing columns and indexes. Idempotent and
    safe to run from several processes at once. Returns what it changed, e.g.
    ``['added column processed_lines.title', 'created index ...']``.

    Every process runs this at start, so an up-to-date database gets no DDL
    and no transaction at all: CREATE INDEX IF NOT EXISTS takes a SHARE lock on
    its table even when the index exists, and so waited for any import's open
    batch transaction (PostgreSQL), as SQLite's BEGIN IMMEDIATE does
    (trial-15f F2). Raises DatabaseError."""
    from playhouse.migrate import migrate as run_migrations, SchemaMigrator
    changes = []
    try:
        gaps = _schema_gaps(db, MODELS)
        # A first import builds processed_lines' indexes at its end, over the
        # finished table (PlaylistIngest._drop_indexes): building them now would
        # wait for its batch and slow the rest of it. It builds them, or the next
        # import does (App.lock_imports) if it was killed.
        defer = any(_is_line_index(gap) for gap in gaps) and import_running_elsewhere(db)
        if not [gap for gap in gaps if not (defer and _is_line_index(gap))]:
            if defer:
                log.debug('migrate: processed_lines indexes are left to the import running')
            return changes
        with schema_change(db):
            migrator = SchemaMigrator.from_database(db)
            # Looked up again under the lock: another instance may have filled some.
            for kind, model, field in _schema_gaps(db, MODELS):
                if kind != 'column':
                    continue
                table = model._meta.table_name
                if _sqlite_needs_backfill(db, field):
                    # SQLite cannot ADD COLUMN with a non-constant default:
                    # add it plain and fill in the existing rows.
                    db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{field.column_name}" DATETIME')
                    db.execute_sql(f'UPDATE "{table}" SET "{field.column_name}" = CURRENT_TIMESTAMP')
                else:
                    run_migrations(migrator.add_column(table, field.column_name, field))
                changes.append(f'added column {table}.{field.column_name}')
            changes += create_line_indexes(db, MODELS, defer_line_indexes=defer)
    except peewee.PeeweeException as exc:
        raise DatabaseError(f'cannot create or upgrade the tables: {first_line(exc)}') from None
    for change in changes:
        log.debug('migrate: %s', change)
    return changes


def _is_line_index(gap) -> bool:
    return gap[0] == 'index' and gap[1] is ProcessedLine


def _create_missing(db, models, defer_line_indexes=False) -> list[str]:
    """Create the tables and indexes of ``models`` the catalog does not list
    (but processed_lines' indexes when ``defer_line_indexes``); issues no DDL
    for what exists (see migrate_schema). Returns what it made."""
    changes = []
    for kind, model, index in _schema_gaps(db, models):
        if defer_line_indexes and _is_line_index((kind, model)):
            continue
        if kind == 'table':
            model._schema.create_all(safe=True)
            changes.append(f'created table {model._meta.table_name}')
        elif kind == 'index':
            db.execute(model._schema._create_index(index, safe=True))
            changes.append(f'created index {index._name}')
    return changes


def create_line_indexes(db, models=None, defer_line_indexes=False) -> list[str]:
    """Create what is missing of ``models`` (by default processed_lines'
    indexes) inside schema_change; returns what it made (see _create_missing
    for ``defer_line_indexes``). A first import builds processed_lines'
    indexes after its rows (PlaylistIngest._drop_indexes); two first imports
    that overlapped can have stored a line twice, which the unique line_hash
    index refuses: the later copy of each line (seconds old) is dropped, then
    the indexes are built."""
    models = models or [ProcessedLine]
    try:
        with db.atomic():
            return _create_missing(db, models, defer_line_indexes)
    except peewee.IntegrityError:
        pass
    with db.atomic():
        if is_postgres(db):
            # Another first import may still be storing rows (it holds no schema lock while
            # it does): hold its inserts off until the unique index stands, or it stores new
            # copies between the DELETE and the CREATE. SQLite's BEGIN IMMEDIATE does this.
            db.execute_sql('LOCK TABLE "processed_lines" IN SHARE ROW EXCLUSIVE MODE')
        removed = db.execute_sql(
            'DELETE FROM "processed_lines" WHERE "line_hash" IS NOT NULL AND "id" NOT IN '
            '(SELECT MIN("id") FROM "processed_lines" WHERE "line_hash" IS NOT NULL GROUP BY "line_hash")'
        ).rowcount
        log.warning('processed_lines: %d lines stored twice by overlapping first imports were folded', removed)
        return _create_missing(db, models)


def build_missing_line_indexes(db) -> list[str]:
    """Build processed_lines' indexes that are missing (create_line_indexes,
    under schema_change); returns what it made. None missing: catalog reads
    only, no DDL and no transaction."""
    if not any(_is_line_index(gap) for gap in _schema_gaps(db, [ProcessedLine])):
        return []
    with schema_change(db):
        return create_line_indexes(db)


def _sqlite_needs_backfill(db, field) -> bool:
    if is_postgres(db):
        return False
    return any('CURRENT_TIMESTAMP' in getattr(c, 'sql', '') for c in field.constraints or ())


def db_now(offset_seconds: float = 0):
    """The database server's clock (UTC) as a SQL expression.

    Leases compare against this, never against the local clock: two machines
    sharing PostgreSQL disagree on the time, and a skewed host must neither
    steal a live lease nor keep a dead one.
    """
    if is_postgres(db_proxy):
        if offset_seconds:
            return peewee.SQL("((now() AT TIME ZONE 'UTC') + make_interval(secs => %s))",
                              (float(offset_seconds),))
        return peewee.SQL("(now() AT TIME ZONE 'UTC')")
    # Same text format peewee writes, so values compare as strings correctly.
    if offset_seconds:
        return peewee.fn.strftime('%Y-%m-%d %H:%M:%f', 'now', f'{float(offset_seconds):+.3f} seconds')
    return peewee.fn.strftime('%Y-%m-%d %H:%M:%f', 'now')


# ==== state manager =============================================================


def failed_for_good(info) -> bool:
    """The row failed in a way no retry can fix (StateManager.given_up_at_once,
    for a row in hand)."""
    return info.status == FAILED and PERMANENT_MARK in (info.error_message or '')


def row_gave_up(info, max_retry_attempts: int) -> bool:
    """No run resumes it again until `stalkeer retry ID`: its retries are used
    up, or no retry can fix it (the rule of StateManager.gave_up(), for a row
    in hand)."""
    return info.status in RESUMABLE_STATUSES and (
        (info.retry_count or 0) >= max_retry_attempts or failed_for_good(info))


class StateManager:
    """Download rows and their locks, with optimistic locking.

    A lock is a lease: ``locked_by`` (this process run), ``locked_at`` (renewed
    by a heartbeat, see :class:`LeaseKeeper`) and ``lease_token`` (new at every
    acquire). Taking it is one compare-and-set UPDATE whose row count decides; a
    lease is stale only when it stopped being renewed for ``lock_timeout``
    seconds (database clock). Every write we make to a row we hold is
    conditioned on ``locked_by = owner AND lease_token = our token`` in the same
    statement: if that matches no row the lease was lost and :class:`LeaseLost`
    is raised, so we never write again. Locally we also keep the time our last
    renewal was sent: until ``deadline()`` the lease is surely still ours.

    A database that is locked or went away is retried with backoff (and a new
    connection) until that deadline; then :class:`LeaseExpired` names the cause.
    One StateManager serves one worker thread and its lease keepers.
    """

    def __init__(self, lock_timeout: float = 300, max_retry_attempts: int = 5, owner=None):
        self.lock_timeout = lock_timeout
        self.max_retry_attempts = max_retry_attempts
        self.owner = owner or make_owner_id()
        self._tokens: dict[int, str] = {}      # download id -> token of the lease we hold
        self._renewed: dict[int, float] = {}   # download id -> lease_clock() of the last renewal sent
        # One statement at a time on the rows we hold: the transfer and its keeper thread.
        self.row_lock = threading.RLock()
        self.last_db_error: str | None = None     # the cause of the last database hiccup

    # -- rows -----------------------------------------------------------------
    def get_or_create(self, url: str, destination: str, title: str | None = None,
                      processed_line_id: int | None = None, service: str | None = None,
                      item_id: int | None = None, parent_id: int | None = None,
                      library_root: str | None = None) -> DownloadInfo:
        """The row for ``destination``, created if needed (race-free: unique key)."""
        now = utcnow()
        DownloadInfo.insert(url=url, destination=destination, title=title, status=PENDING,
                            service=service, service_item_id=item_id, service_parent_id=parent_id,
                            library_root=library_root,
                            created_at=now, updated_at=now).on_conflict_ignore().execute()
        info = DownloadInfo.get(DownloadInfo.destination == destination)
        if library_root and info.library_root != library_root:
            (DownloadInfo.update(library_root=library_root)
             .where(DownloadInfo.id == info.id).execute())
            info = DownloadInfo.get_by_id(info.id)
        if service and (info.service, info.service_item_id) != (service, item_id):
            (DownloadInfo.update(service=service, service_item_id=item_id,
                                 service_parent_id=parent_id)
             .where(DownloadInfo.id == info.id).execute())
            info = DownloadInfo.get_by_id(info.id)
        if processed_line_id is not None:
            (ProcessedLine.update(download_info=info.id, state='pending', updated_at=now)
             .where(ProcessedLine.id == processed_line_id).execute())
        return info

    def get(self, download_id: int) -> DownloadInfo:
        return DownloadInfo.get_by_id(download_id)

    def reload(self, download_id: int) -> DownloadInfo:
        """The row as stored now; a database hiccup is retried while we hold the lease."""
        found = []
        self._retrying(download_id, lambda: found.append(DownloadInfo.get_by_id(download_id)))
        return found[-1]

    # -- locking ----------------------------------------------------------------
    def stale(self):
        """SQL: the lease stopped beating for longer than the timeout (database clock)."""
        return DownloadInfo.locked_at < db_now(-self.lock_timeout)

    def free_or_stale(self):
        """SQL: nobody holds the row, or its holder stopped renewing the lease."""
        return DownloadInfo.locked_at.is_null() | self.stale()

    def live(self):
        """SQL: someone holds the row and renewed the lease recently."""
        return DownloadInfo.locked_at.is_null(False) & ~self.stale()

    @staticmethod
    def given_up_at_once():
        """SQL: a failure no retry can fix (Downloader._fail ``permanent``): its
        status is ``failed`` and its error_message carries PERMANENT_MARK. That
        mark, not ``retry_count``, says it gave up: ``retry_count`` counts only
        the retries that were really made. (NULL-safe: a row without an error is
        not one, and NOT of this is true for it.)"""
        return ((DownloadInfo.status == FAILED) & DownloadInfo.error_message.is_null(False)
                & DownloadInfo.error_message.contains(PERMANENT_MARK))

    def gave_up(self, max_retries: int | None = None):
        """SQL: an unfinished download that gave up: it used up its retries
        without progress (``retry_count`` reached ``max_retry_attempts``), or it
        failed in a way no retry can fix (:meth:`given_up_at_once`). No run
        resumes it any more until ``stalkeer retry ID`` puts it back (an explicit
        ``stalkeer download`` of it is a new attempt); `resume-downloads` reports
        such rows and exits 1, and `status`/`serve` can show them with this."""
        max_retries = self.max_retry_attempts if max_retries is None else max_retries
        return DownloadInfo.status.in_(RESUMABLE_STATUSES) & (
            (DownloadInfo.retry_count >= max_retries) | self.given_up_at_once())

    def is_live(self, download_id: int) -> bool:
        """Someone holds this row and renewed the lease recently."""
        return (DownloadInfo.select()
                .where((DownloadInfo.id == download_id) & self.live())
                .exists())

    def acquire(self, download_id: int) -> bool:
        """Take the lease with one compare-and-set; True when we hold it.

        Every acquire draws a new token, so whatever an earlier lease of ours on
        the row still tries (a keeper thread that has not stopped yet) is fenced."""
        token = secrets.token_hex(8)
        sent = lease_clock()
        updated = (DownloadInfo
                   .update(locked_by=self.owner, lease_token=token, locked_at=db_now(),
                           updated_at=db_now())
                   .where((DownloadInfo.id == download_id)
                          & (self.free_or_stale() | (DownloadInfo.locked_by == self.owner)))
                   .execute())
        if updated != 1:
            return False
        self._tokens[download_id] = token
        self._renewed[download_id] = sent
        return True

    def deadline(self, download_id: int) -> float:
        """The lease_clock() time until which our lease on the row is surely ours:
        the last renewal we sent, plus the lock timeout less LEASE_MARGIN. (The
        database stamped that renewal no earlier than we sent it, and judges
        staleness by that stamp.)"""
        sent = self._renewed.get(download_id)
        if sent is None or download_id not in self._tokens:
            return float('-inf')
        return sent + self.lock_timeout * (1 - LEASE_MARGIN)

    def holds(self, download_id: int) -> bool:
        """We hold the lease and it cannot have gone stale yet."""
        return lease_clock() < self.deadline(download_id)

    def release(self, download_id: int) -> bool:
        """Drop our own lease; someone else's is never touched (nor one we know
        we no longer hold: then no statement at all)."""
        token = self._forget(download_id)
        if token is None:
            return False
        return (DownloadInfo.update(locked_by=None, locked_at=None, lease_token=None,
                                    updated_at=db_now())
                .where((DownloadInfo.id == download_id) & (DownloadInfo.locked_by == self.owner)
                       & (DownloadInfo.lease_token == token))
                .execute()) == 1

    def abandon(self, download_id: int) -> None:
        """Let our lease on the row go without a statement (the run stops and the
        database does not answer): nothing more is written under it; it goes
        stale as a killed process's does."""
        self._forget(download_id)

    def _forget(self, download_id: int) -> str | None:
        self._renewed.pop(download_id, None)
        return self._tokens.pop(download_id, None)

    def clean_stale_locks(self) -> int:
        """Clear leases that stopped beating; a row left ``downloading`` becomes ``paused``."""
        stale = self.stale()
        with db_proxy.atomic():
            (DownloadInfo.update(status=PAUSED, updated_at=db_now(),
                                 error_message='interrupted: the process holding the lock stopped')
             .where(stale & (DownloadInfo.status == DOWNLOADING)).execute())
            cleared = (DownloadInfo.update(locked_by=None, locked_at=None, lease_token=None,
                                           updated_at=db_now())
                       .where(stale).execute())
        if cleared:
            log.debug('cleared %d stale lock(s)', cleared)     # the command says it
        return cleared

    # -- database hiccups ------------------------------------------------------------
    def _retrying(self, download_id: int, statement: Callable[[], None]) -> float:
        """Run ``statement`` (one transaction about a row we hold); returns the
        lease_clock() time the successful try was sent. A locked or vanished
        database is retried with backoff, on a new connection, for as long as
        our lease lasts; past it (one try is always made) LeaseExpired. Once
        the run is stopped (RUN_STOP) nothing is retried: Interrupted, the row
        left as a kill leaves it."""
        delay, warned = 0.05, False
        while True:
            sent = lease_clock()
            try:
                with self.row_lock:
                    statement()
                if warned:
                    log.warning('download %d: the database answers again', download_id)
                    self.last_db_error = None
                return sent
            except (peewee.OperationalError, peewee.InterfaceError) as exc:
                if not transient_db_error(exc):
                    raise
                cause = self.last_db_error = db_error_cause(exc)
                reset_connection()
                RUN_STOP.check()
                if lease_clock() + delay >= self.deadline(download_id):
                    raise LeaseExpired(download_id, cause) from None
                if not warned:
                    log.warning('download %d: database unavailable (%s); retrying while the lock '
                                'lasts', download_id, cause)
                    warned = True
                RUN_STOP.sleep(delay)
                delay = min(delay * 2, 1.0)

    # -- transitions (all conditioned on holding the lease) ----------------------
    def _owned_update(self, download_id: int, line_state: str | None = None, **fields) -> None:
        token = self._tokens.get(download_id)
        if token is None:
            raise LeaseLost(f'download {download_id}: we do not hold its lock')
        fields.setdefault('updated_at', db_now())

        def statement():
            with db_proxy.atomic():
                updated = (DownloadInfo.update(**fields)
                           .where((DownloadInfo.id == download_id)
                                  & (DownloadInfo.locked_by == self.owner)
                                  & (DownloadInfo.lease_token == token))
                           .execute())
                if updated != 1:
                    raise LeaseLost(f'download {download_id}: lost the lock to another instance')
                if line_state:
                    (ProcessedLine.update(state=line_state, updated_at=utcnow())
                     .where(ProcessedLine.download_info == download_id).execute())
        try:
            sent = self._retrying(download_id, statement)
        except LeaseExpired:
            raise           # the row may still be ours: a pause may yet be recorded
        except LeaseLost:
            self._forget(download_id)
            raise
        if 'locked_by' in fields and fields['locked_by'] is None:
            self._forget(download_id)
        elif 'locked_at' in fields and download_id in self._renewed:
            self._renewed[download_id] = max(self._renewed[download_id], sent)

    def start(self, info: DownloadInfo, part_path: str, url: str | None = None,
              force: bool = False, anew: bool = False) -> None:
        """-> downloading. Resuming a failed attempt counts as a retry (until it
        makes progress); ``force`` is stored so that a resumed download keeps it.
        The message of a pause or an earlier failure no longer applies.

        ``anew``: a person asked for this download again (`stalkeer download`),
        so a download that gave up starts over as after `stalkeer retry ID`
        (``retry_count`` 0: this attempt is the first of the new request). A new
        URL a person gives for the destination is a new download too: the
        retries of the old URL say nothing about it (trial: 'gave up after 6
        retries' of 5). Not so another candidate line of a radarr/sonarr item
        (not ``anew``): the item's retries go on counting, or two lines that fail
        in turn never used them up and every run tried both again."""
        fields = dict(status=DOWNLOADING, part_path=part_path,
                      started_at=peewee.fn.COALESCE(DownloadInfo.started_at, db_now()),
                      completed_at=None, error_message=None)
        if force:
            fields['force'] = True
        new_url = bool(url) and url != info.url
        if anew and (new_url or row_gave_up(info, self.max_retry_attempts)):
            fields.update(retry_count=0)
        elif info.status in (FAILED, RETRYING):
            fields.update(retry_count=DownloadInfo.retry_count + 1, last_retry_at=db_now())
        if new_url:
            fields.update(url=url, resume_token=None, bytes_downloaded=0, total_bytes=None)
        self._owned_update(info.id, line_state='downloading', **fields)

    def heartbeat(self, download_id: int, bytes_downloaded: int | None, total_bytes=None,
                  resume_token=None, session_start: bool = False, part_path: str | None = None,
                  part_inode: int | None = None) -> None:
        """Renew the lease and persist progress, in one statement; ``session_start``:
        the body starts here, so speed and ETA count from this point (``status``);
        ``part_path``/``part_inode``: the .part this download writes (PartFile)."""
        fields = dict(locked_at=db_now())
        if part_path is not None:
            fields.update(part_path=part_path, part_inode=str(part_inode))
        if bytes_downloaded is not None:
            fields['bytes_downloaded'] = bytes_downloaded
        if session_start:
            fields.update(session_started_at=db_now(), session_start_bytes=bytes_downloaded)
        if total_bytes is not None:
            fields['total_bytes'] = total_bytes
        if resume_token is not None:
            fields['resume_token'] = resume_token or None
        self._owned_update(download_id, **fields)

    def retrying(self, download_id: int, error: str, bytes_downloaded: int,
                 progressed: bool = False) -> None:
        """-> retrying. An attempt that moved the .part forward does not use up
        the retry budget: ``retry_count`` counts retries since the last progress."""
        count = 0 if progressed else DownloadInfo.retry_count + 1
        self._owned_update(download_id, status=RETRYING, error_message=error[:2000],
                           bytes_downloaded=bytes_downloaded, retry_count=count,
                           last_retry_at=db_now(), locked_at=db_now())

    def finishing(self, download_id: int, path: str, size: int) -> None:
        """Renew the lease right before the .part is linked or renamed into the
        library, recording where and how big the file will be: a run that dies
        before ``complete`` leaves what the next run needs to recognise it."""
        self._owned_update(download_id, download_path=path, file_size=size,
                           bytes_downloaded=size, total_bytes=size, locked_at=db_now())

    def complete(self, download_id: int, path: str, size: int) -> None:
        self._owned_update(download_id, line_state='downloaded', status=COMPLETED,
                           download_path=path, file_size=size, bytes_downloaded=size,
                           total_bytes=size, completed_at=db_now(), error_message=None,
                           force=False, rescan_pending=DownloadInfo.service.is_null(False),
                           locked_by=None, locked_at=None, lease_token=None)

    def fail(self, download_id: int, error: str, bytes_downloaded: int | None = None,
             counted: bool = False, give_up: bool = False) -> None:
        """-> failed. ``counted``: the attempt counts as a retry here (it failed
        before start() could count it); ``give_up``: no retry can fix it, so no
        run retries it (``error`` carries PERMANENT_MARK: given_up_at_once); the
        retries are not used up for it, ``retry_count`` stays the count made."""
        # Cut before the mark would be: a long error keeps its end, the mark.
        error = error if len(error) <= 2000 else error[:1000] + ' … ' + error[-990:]
        fields = dict(status=FAILED, error_message=error, locked_by=None, locked_at=None,
                      lease_token=None)
        if counted:
            fields.update(retry_count=DownloadInfo.retry_count + 1, last_retry_at=db_now())
        if bytes_downloaded is not None:
            fields['bytes_downloaded'] = bytes_downloaded
        self._owned_update(download_id, line_state='failed', **fields)

    def pause(self, download_id: int, bytes_downloaded: int | None, reason: str) -> None:
        fields = dict(status=PAUSED, error_message=reason[:2000], locked_by=None, locked_at=None,
                      lease_token=None)
        if bytes_downloaded is not None:
            fields['bytes_downloaded'] = bytes_downloaded
        self._owned_update(download_id, line_state='pending', **fields)

    def reset_for_force(self, download_id: int) -> None:
        self._owned_update(download_id, status=PENDING, bytes_downloaded=0, total_bytes=None,
                           resume_token=None, file_size=None, completed_at=None,
                           download_path=None, error_message=None)

    # -- queries -------------------------------------------------------------------
    def resumable(self, limit: int | None = None, max_retries: int | None = None,
                  service: str = 'all'):
        """Incomplete downloads that may be resumed now: not live-locked, under
        the retry cap, of one app's items or all; failed ones first, then oldest."""
        max_retries = self.max_retry_attempts if max_retries is None else max_retries
        query = (DownloadInfo.select()
                 .where(DownloadInfo.status.in_(RESUMABLE_STATUSES)
                        & (DownloadInfo.retry_count < max_retries)
                        & ~self.given_up_at_once()
                        & self.free_or_stale())
                 .order_by(peewee.Case(None, [(DownloadInfo.status == FAILED, 0)], 1),
                           DownloadInfo.created_at, DownloadInfo.id))
        if service != 'all':
            query = query.where(DownloadInfo.service == service)
        if limit:
            query = query.limit(limit)
        return list(query)

    def given_up(self, max_retries: int | None = None, service: str = 'all') -> list:
        """The rows of :meth:`gave_up`, oldest first."""
        query = (DownloadInfo.select().where(self.gave_up(max_retries))
                 .order_by(DownloadInfo.created_at, DownloadInfo.id))
        if service != 'all':
            query = query.where(DownloadInfo.service == service)
        return list(query)


# ==== downloader ===============================================================


@dataclasses.dataclass
class DownloadResult:
    """What happened to one download, for the command layer."""
    status: str              # completed | failed | skipped | lost | paused
    download_id: int | None
    message: str = ''
    path: str | None = None
    size: int | None = None
    held: bool = False       # skipped: another process holds it (not: already downloaded)
    gave_up: bool = False    # skipped: it gave up (row_gave_up); message says why, and the way out


class ProgressTracker:
    """Throttles hook calls and computes speed/ETA for them."""

    def __init__(self, hooks, base: dict, resumed_from: int, total: int | None):
        self.hooks = hooks
        self.base = base
        self.resumed_from = resumed_from
        self.total = total
        self.started = time.monotonic()
        self.last_call = 0.0

    def __call__(self, downloaded: int, status='downloading', force=False):
        if not self.hooks:
            return
        now = time.monotonic()
        if not force and now - self.last_call < HOOK_INTERVAL:
            return
        self.last_call = now
        elapsed = max(now - self.started, 1e-6)
        speed = (downloaded - self.resumed_from) / elapsed
        eta = (self.total - downloaded) / speed if self.total and speed > 0 else None
        info = dict(self.base, status=status, downloaded_bytes=downloaded,
                    total_bytes=self.total, resumed_from=self.resumed_from,
                    elapsed=elapsed, speed=speed, eta=eta)
        for hook in self.hooks:
            hook(info)


class LeaseKeeper:
    """Keeps the lease on one download alive, from a thread of its own.

    Every ``interval`` seconds (progress_interval_seconds; sooner when the
    transfer asks, every progress_interval_mb) it renews the lease and saves the
    progress the transfer reported, in one statement fenced by the lease token.
    The lease therefore lives while the transfer waits on the network, the disk
    or a backoff: a stall is ended by read_timeout, never by losing the lease.
    When a renewal finds the row taken over, or the database stays unavailable
    for as long as the lease lasts, the keeper records why and cuts the
    transfer's connection; the transfer calls :meth:`check` right before every
    write and before the finish, and stops there with what it had in hand
    unwritten. The thread uses its own database connection and closes it.
    """

    def __init__(self, state: StateManager, download_id: int, interval: float):
        self.state = state
        self.download_id = download_id
        self.interval = max(interval, 0.05)
        self.pos: int | None = None    # bytes in the .part, as the transfer last reported
        self.lost: LeaseLost | None = None
        self.interrupt: Callable[[], None] | None = None   # cuts the transfer's connection
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f'stalkeer-lease-{download_id}')

    def start(self) -> 'LeaseKeeper':
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            # At most one statement is in flight; a keeper stuck in a dead
            # connection is a daemon and its token no longer matches anything.
            self._thread.join(timeout=10)

    def progress(self, pos: int, save_now: bool = False) -> None:
        """The transfer reports the .part size; ``save_now`` persists it at once."""
        self.pos = pos
        if save_now:
            self._wake.set()

    def check(self) -> None:
        """Raise LeaseLost (or LeaseExpired) unless the lease is surely still ours."""
        if self.lost is not None:
            raise self.lost
        if not self.state.holds(self.download_id):
            raise LeaseExpired(self.download_id, self.state.last_db_error)

    def _run(self) -> None:
        db = db_proxy.obj
        connected = False      # a download shorter than one interval never connects
        try:
            while True:
                self._wake.wait(self.interval)
                self._wake.clear()
                if self._stopping or RUN_STOP.requested():
                    return
                if not connected and not is_postgres(db):
                    # Never block on a locked SQLite file for longer than a slice of
                    # the lease: retries (with backoff) decide, within the lease.
                    with contextlib.suppress(peewee.PeeweeException):
                        db.set_lock_wait(min(SQLITE_LOCK_WAIT, max(0.1, self.state.lock_timeout / 10)))
                connected = True
                try:
                    with self.state.row_lock:      # the position read and saved together
                        self.state.heartbeat(self.download_id, self.pos)
                except Interrupted:                # the run stops: so does its transfer
                    return
                except Exception as exc:           # LeaseLost, LeaseExpired or worse: stop
                    if self._stopping:
                        return
                    if not isinstance(exc, LeaseLost):
                        log.debug('lease keeper of download %d', self.download_id, exc_info=True)
                        exc = LeaseExpired(self.download_id, first_line(exc))
                    self.lost = exc
                    if self.interrupt is not None:
                        with contextlib.suppress(Exception):
                            self.interrupt()
                    return
        finally:
            if connected:
                with contextlib.suppress(Exception):
                    db.close()


def _cut_connection(response) -> None:
    """Shut the socket under a streamed response down, from another thread: a
    read blocked on it returns at once."""
    raw = getattr(response, 'raw', None)
    sock = getattr(getattr(raw, '_connection', None), 'sock', None)        # urllib3 2
    if sock is None:
        reader = getattr(getattr(raw, '_fp', None), 'fp', None)            # http.client
        sock = getattr(getattr(reader, 'raw', None), '_sock', None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# thread ident -> the urllib3 connection its request is on (_stoppable_session):
# what the run's stop shuts down while a request connects or waits for the
# answer's headers.
_REQUESTS_IN_FLIGHT: dict = {}
# thread ident -> the socket its request is connecting (before urllib3's
# connection holds it as .sock): the stop shuts it down too.
_CONNECTS_IN_FLIGHT: dict = {}


def _connect_noted(address, timeout, source_address, socket_options):
    """urllib3.util.connection.create_connection (its getaddrinfo loop, in
    urllib3 1.26 and 2), except that each socket is noted in
    _CONNECTS_IN_FLIGHT before its connect(): a host that drops the SYNs (a
    panel behind a firewall, a full accept queue) kept a stopped worker for
    connect_timeout (10 s). shutdown() from another thread ends a connect() in
    progress at once on Linux (it returns ECONNRESET)."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import connection as u3
    default_timeout = getattr(u3, '_DEFAULT_TIMEOUT', socket._GLOBAL_DEFAULT_TIMEOUT)     # urllib3 1.26
    host, port = address
    if host.startswith('['):
        host = host.strip('[]')
    try:
        host.encode('idna')
    except UnicodeError:
        raise LocationParseError(f"'{host}', label empty or too long") from None
    ident, err = threading.get_ident(), None
    for af, socktype, proto, _canonname, sa in socket.getaddrinfo(host, port, u3.allowed_gai_family(),
                                                                  socket.SOCK_STREAM):
        sock = None
        try:
            sock = socket.socket(af, socktype, proto)
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is not default_timeout:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            _CONNECTS_IN_FLIGHT[ident] = sock
            sock.connect(sa)
            return sock
        except OSError as exc:
            err = exc
            if sock is not None:
                sock.close()
        finally:
            _CONNECTS_IN_FLIGHT.pop(ident, None)
    if err is not None:
        raise err
    raise OSError('getaddrinfo returns an empty list')


@functools.cache
def _stoppable_adapter() -> type:
    """requests' HTTPAdapter whose pools note the connection each thread's
    request takes, and the socket it connects, so that the run's stop can shut
    it down: a server that accepts and then says nothing kept a stopped worker
    until read_timeout (60 s), as a body read did before it was cut, and one
    that never completes the connect until connect_timeout. The pools of an
    http(s) proxy (HTTP_PROXY, HTTPS_PROXY) are the same; a SOCKS proxy's keep
    urllib3's own (its connect goes through PySocks). Built on first use
    (requests is imported lazily)."""
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
    try:
        from urllib3.exceptions import NameResolutionError
    except ImportError:                     # urllib3 1.26: a NewConnectionError
        NameResolutionError = None

    def connecting(base):
        class Connection(base):
            def _new_conn(self):
                # urllib3's HTTPConnection._new_conn, connecting through _connect_noted.
                try:
                    sock = _connect_noted((self._dns_host, self.port), self.timeout, self.source_address,
                                          self.socket_options)
                except socket.gaierror as exc:
                    if NameResolutionError is None:
                        raise NewConnectionError(self, f'Failed to establish a new connection: {exc}') from exc
                    raise NameResolutionError(self.host, self, exc) from exc
                except socket.timeout as exc:
                    raise ConnectTimeoutError(self, f'Connection to {self.host} timed out. '
                                                    f'(connect timeout={self.timeout})') from exc
                except OSError as exc:
                    raise NewConnectionError(self, f'Failed to establish a new connection: {exc}') from exc
                sys.audit('http.client.connect', self, self.host, self.port)
                return sock
        Connection.__name__ = Connection.__qualname__ = base.__name__      # as urllib3's reprs name it
        return Connection

    def noting(base):
        class Pool(base):
            ConnectionCls = connecting(base.ConnectionCls)

            def _get_conn(self, timeout=None):
                conn = super()._get_conn(timeout)
                _REQUESTS_IN_FLIGHT[threading.get_ident()] = conn
                return conn
        Pool.__name__ = Pool.__qualname__ = base.__name__
        return Pool
    pools = {'http': noting(HTTPConnectionPool), 'https': noting(HTTPSConnectionPool)}

    class Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if not proxy.lower().startswith('socks'):
                manager.pool_classes_by_scheme = pools
            return manager
    return Adapter


def _stoppable_session() -> requests.Session:
    """A requests Session whose request in flight :func:`_cut_request` can end."""
    session = requests.Session()
    for prefix in ('http://', 'https://'):
        session.mount(prefix, _stoppable_adapter()())
    return session


def _cut_request(ident: int) -> None:
    """Shut down the socket the request of thread ``ident`` connects or waits
    on (from another thread): its connect or its wait for the headers ends at
    once."""
    for sock in (_CONNECTS_IN_FLIGHT.get(ident), getattr(_REQUESTS_IN_FLIGHT.get(ident), 'sock', None)):
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def stoppable_request():
    """Inside, the request this thread sends (on a _stoppable_session) ends at
    the run's stop (RUN_STOP): a requests error it then raises is Interrupted,
    not a failure to retry. Its connection is forgotten after."""
    ident = threading.get_ident()
    try:
        with RUN_STOP.cutting(lambda: _cut_request(ident)):
            try:
                yield
            except requests.exceptions.RequestException:
                RUN_STOP.check()        # a request the stop cut is no retry
                raise
    finally:
        _REQUESTS_IN_FLIGHT.pop(ident, None)


def special_file(path: str, dir_fd: int | None = None) -> str | None:
    """What stands at ``path`` (relative to ``dir_fd``, never through a
    symlink) when it is neither a regular file, a folder nor a symlink: 'a
    named pipe', 'a socket', 'a device'; None otherwise or when nothing is
    there. Such a name is never written to nor replaced, --force or not: no
    film goes into a pipe, and /dev/null is no file to overwrite (trials 15, 15b)."""
    try:
        st = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
        return None
    return _describe_mode(st)


def _lexists_at(name: str, dir_fd: int) -> bool:
    """Something (a file, a folder, a symlink, even a dangling one) has this name."""
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


class PartFile:
    """The ``.part`` file of one download, as this process holds it.

    Only the file this download created is ever written: a new one is made with
    O_CREAT|O_EXCL|O_NOFOLLOW, and its inode number is recorded in the row
    (``part_inode``); an existing one is reopened only when it is a regular
    file with that inode and a single link. Anything else at the name (a planted
    hard link or file, a symlink, another instance's ``.part`` in a shared
    temp_dir) is left alone and a fresh name is used (``fresh_path``). Its
    folder is opened as in :func:`open_folder`. While it is open it is locked
    with flock(LOCK_EX): no other stalkeer process writes to it, finishes it or
    deletes it meanwhile, not even one that took the database lease over
    because this one stalled or was frozen (the lock lives as long as the file
    is open; the successor skips the download instead of sharing the inode).
    Writes go straight to the descriptor, each after a lease check: there is no
    buffer that could be flushed after the lease is lost.
    """

    def __init__(self, path: str, inode: int | None = None, adopt: bool = False,
                 root: str | None = None, fresh_path: Callable[[], str] | None = None):
        self.path = path
        self.folder, self.name = os.path.split(path)
        self.inode = inode          # of the .part this download created, from the row
        self.adopt = adopt          # a row from before inodes were recorded, with bytes
        self.root = root
        self.fresh_path = fresh_path
        self.created = False        # this process made it (the row must record it)
        self.dir_fd: int | None = None
        self.fd: int | None = None
        self.writeback_from: int | None = None    # first byte not yet handed to writeback
        self.writeback = True       # False once this system or filesystem said no

    @property
    def is_open(self) -> bool:
        return self.fd is not None

    def ours(self, st: os.stat_result, linked: bool = False) -> bool:
        """``st`` is the .part this download created (``linked``: a second link,
        the library file of a finish that crashed after link(), is allowed)."""
        if not stat.S_ISREG(st.st_mode) or st.st_nlink > (2 if linked else 1):
            return False
        return st.st_ino == self.inode if self.inode is not None else self.adopt

    def open(self, create: bool, linked: bool = False) -> bool:
        """Open and lock the .part; create it when missing and ``create``.
        Returns whether it is open. Raises PartBusy, DownloadError."""
        if self.fd is not None:
            return True
        try:
            if self.dir_fd is None:
                try:    # a folder is created only for a transfer that starts
                    self.dir_fd = open_folder(self.folder, self.root, create=create)
                except FileNotFoundError:
                    if create:
                        raise
                    return False
            for _ in range(10):
                fd = self._open_once(create, linked)
                if fd is None:
                    return False
                if fd >= 0:
                    self.fd = fd
                    return True
        except OSError as exc:
            error = PermanentDownloadError if exc.errno in _PERMANENT_ERRNOS else DownloadError
            # Permission denied: the folder the user may not create files in
            # (or make: a series folder above 'Season 01'), in the folder
            # rule's words, when that is the cause; a .part of another's, the
            # open's own words.
            denied = exc.errno == errno.EACCES and folder_problem(self.folder, 'create')
            raise error(folder_refusal(self.folder, exc, self.root, 'open', self.path)
                        if exc.errno in (errno.ELOOP, errno.ENOTDIR)
                        else f'cannot open {self.path}: {self.folder} is {denied}' if denied
                        else f'cannot open {self.path}: {exc.strerror or exc}') from None
        raise DownloadError(f'{self.path} keeps being replaced; not touching it')

    def _step_aside(self, st: os.stat_result) -> None:
        """Something that is not ours holds the name: never touch it, use a new name."""
        if self.fresh_path is None:
            raise DownloadError(f'a file not created by this download is in the way at {self.path}')
        old, self.path = self.path, self.fresh_path()
        self.folder, self.name = os.path.split(self.path)
        self.inode, self.adopt = None, False
        log.warning('%s is %s not created by this download (planted, or another instance\'s); '
                    'leaving it alone and downloading to %s', old, _describe_mode(st), self.name)

    def _open_once(self, create: bool, linked: bool) -> int | None:
        """A locked descriptor; None when missing (and not ``create``); -1 to try again."""
        flags = os.O_RDWR | _O_NOFOLLOW | _O_CLOEXEC
        try:
            st = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None and not self.ours(st, linked):
            if not create:
                return None
            self._step_aside(st)
            return -1
        if st is None:
            if not create:
                return None
            try:
                fd = os.open(self.name, flags | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=self.dir_fd)
            except FileExistsError:
                return -1
            fresh = True
        else:
            try:    # O_NONBLOCK: a pipe swapped in since the stat must not hang the open
                fd = os.open(self.name, flags | os.O_NONBLOCK, dir_fd=self.dir_fd)
            except FileNotFoundError:
                return -1
            fresh = False
        try:
            opened = os.fstat(fd)
            if not fresh and not self.ours(opened, linked):
                os.close(fd)          # swapped between the stat and the open
                return -1
            self._lock(fd)
            # Unlinked or replaced while we opened and locked it (cleanup, a racing
            # process)? Then lock what the name is now.
            try:
                now = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                now = None
            if now is None or not same_file(now, opened):
                os.close(fd)
                return -1
            if fresh:
                self.created, self.inode, self.adopt = True, opened.st_ino, False
            elif self.inode is None:
                self.inode = opened.st_ino      # adopted: recorded from now on
                self.created = True
            return fd
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise

    def _lock(self, fd: int) -> None:
        if fcntl is None:   # pragma: no cover - not POSIX
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            raise PartBusy(f'{self.path} is still open in another process (a stalkeer that '
                           'stalled or was stopped after its lock ran out?); not touching it') from None
        except OSError as exc:
            # Filesystems without flock (some FUSE and SMB mounts): the lease alone fences.
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS,
                                 errno.EINVAL, errno.EBADF):
                raise
            log.debug('no file locks on %s (%s); relying on the lease alone', self.folder, exc.strerror)

    def size(self) -> int:
        return os.fstat(self.fd).st_size if self.fd is not None else 0

    def stat(self) -> os.stat_result:
        return os.fstat(self.fd)

    def write(self, data, pos: int, keeper: LeaseKeeper) -> None:
        """Write ``data`` at ``pos``, but only while the lease is surely ours."""
        keeper.check()
        begin = pos
        try:
            if isinstance(data, _PipedChunk):
                pos = data.move_to(self.fd, pos)     # spliced: the kernel copies it once
            else:
                view = memoryview(data)
                while view:
                    written = os.pwrite(self.fd, view, pos)
                    view, pos = view[written:], pos + written
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskSpaceError(f'disk full while writing {self.path}') from None
            raise DownloadError(f'cannot write {self.path}: {exc.strerror}') from None
        self._write_back(begin, pos)

    def _write_back(self, begin: int, end: int) -> None:
        """Once a window (WRITEBACK_WINDOW) of new bytes is written, start the
        kernel writing it to disk (:func:`start_writeback`), so the fsync of the
        finish has little left to do. It only moves bytes this holder wrote
        under its lease from the page cache to the disk, a step the fsync would
        take anyway: the file's content is not touched, so it needs no lease
        check of its own. Never fails a download: where the call is missing or
        refused, the fsync does all the work, as before."""
        if not self.writeback:
            return
        if self.writeback_from is None or begin < self.writeback_from:
            self.writeback_from = begin       # the first write, or a rewind
        if end - self.writeback_from < WRITEBACK_WINDOW:
            return
        try:
            self.writeback = start_writeback(self.fd, self.writeback_from, end - self.writeback_from)
        except OSError as exc:
            self.writeback = False
            log.debug('no early writeback for %s (%s); the fsync before the rename does it all',
                      self.name, exc.strerror or exc)
        self.writeback_from = end

    def read(self, size: int, pos: int) -> bytes:
        return os.pread(self.fd, size, pos)

    def truncate(self, size: int, keeper: LeaseKeeper) -> None:
        if self.fd is not None:
            keeper.check()
            os.ftruncate(self.fd, size)

    def fsync(self) -> None:
        os.fsync(self.fd)

    def unlink(self) -> None:
        """Remove the .part name, if it still names our file."""
        try:
            now = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if same_file(now, os.fstat(self.fd)):
            os.unlink(self.name, dir_fd=self.dir_fd)

    def let_go(self) -> None:
        """Opened, but not to be written (a second link to it appeared): close it
        and leave the name alone; the next open(create=True) uses a fresh name."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
        self.fd, self.inode, self.adopt = None, None, False

    def close(self) -> None:
        """Close (which drops the lock)."""
        close_quietly(self.fd, self.dir_fd)
        self.fd = self.dir_fd = None


class Downloader:
    """Tracked, resumable HTTP downloads (one at a time per instance).

    The flow of the design documents: get/create the row, take the lease,
    ``downloading``, stream into a ``.part`` file while a :class:`LeaseKeeper`
    renews the lease and saves progress every N MiB or S seconds, verify the
    size, fsync, link or rename it onto the destination, ``completed``; or
    ``failed`` with the error. Progress is reported to hooks (callables taking
    a status dict). Any error while handling the one download fails that
    download only (the row says why, the lock is released).
    """

    def __init__(self, settings: DownloadSettings, state: StateManager, hooks=(),
                 session: requests.Session | None = None, host_slot=None):
        self.settings = settings
        self.state = state
        self.hooks = list(hooks)
        # url -> a context manager holding one of its host's transfer slots
        # (HostLimiter) for the whole download, retries included: parallel
        # workers share the per-host cap. None: one download at a time anyway.
        self.host_slot = host_slot or (lambda url: contextlib.nullcontext())
        self.session = session or _stoppable_session()
        self.session.headers['User-Agent'] = settings.user_agent
        # Compression would make byte offsets meaningless for Range requests.
        self.session.headers['Accept-Encoding'] = 'identity'
        self.sleep = RUN_STOP.sleep        # a backoff ends at the run's stop
        self._content_changed = False

    # -- public ------------------------------------------------------------------
    def download(self, url: str, destination: str, *, title: str | None = None,
                 processed_line_id: int | None = None, force: bool = False,
                 service: str | None = None, item_id: int | None = None,
                 parent_id: int | None = None, library_root: str | None = None,
                 anew: bool = False) -> DownloadResult:
        """Download ``url`` to ``destination`` (tracked); see :meth:`run`.
        ``library_root``: no symlink below this folder is followed (open_folder);
        ``anew``: a person asked for it (`stalkeer download`), see :meth:`run`."""
        register_url_secrets(url)
        RUN_STOP.check()        # a worker the stop reached before it began starts nothing
        destination = os.path.abspath(destination)
        problem = _fetch_problem(url)
        if problem:     # nothing could ever be fetched: no row, no folder
            return DownloadResult('failed', None, f'{title or os.path.basename(destination)}: {problem}')
        info = self.state.get_or_create(url, destination, title, processed_line_id,
                                        service, item_id, parent_id, library_root)
        return self.run(info, force=force, url=url, anew=anew)

    def run(self, info: DownloadInfo, force: bool = False, url: str | None = None,
            anew: bool = False) -> DownloadResult:
        """Take the lease on ``info`` and bring it to completed or failed.

        ``force`` (or the force stored on the row by the run that started it)
        lets an existing file at the destination be replaced. ``anew``: a person
        asked for this download again, so one that gave up is a new attempt
        judged by the current config (StateManager.start), not skipped.
        Holds the host's slot (``host_slot``) from before the lease to the end:
        waiting for it holds no lease; its retries stay under the cap."""
        register_url_secrets(info.url)
        RUN_STOP.check()
        done = self._already_done(info, force, url)
        if done:
            return done
        with self.host_slot(url or info.url):
            return self._run_leased(info, force, url, anew)

    def _run_leased(self, info: DownloadInfo, force: bool, url: str | None,
                    anew: bool) -> DownloadResult:
        label = self._label(info)
        if not self.state.acquire(info.id):
            holder = DownloadInfo.get_by_id(info.id).locked_by
            return DownloadResult('skipped', info.id, f'{label}: being downloaded by {holder}',
                                  held=True)
        part = keeper = None
        started = retried = False
        try:
            info = self.state.reload(info.id)
            # It gave up (perhaps in another instance's run since this one planned):
            # only a person's `download` of it (``anew``, or ``force`` to replace
            # what stood in the way), or `stalkeer retry ID`, tries it again, the
            # rule resume-downloads and the arr runs' plan (--force or not:
            # ArrRun.skip_reasons) follow; another candidate line of the item
            # too, as its retries count across lines (StateManager.start).
            if not (anew or force) and row_gave_up(info, self.state.max_retry_attempts):
                return DownloadResult('skipped', info.id, f'{label}: {gave_up_text(info)}', gave_up=True)
            # A failed one tried again is a retry, unless a person asked anew for
            # one that gave up: that starts over as `stalkeer retry ID` does.
            retried = info.status in (FAILED, RETRYING) and not (
                anew and row_gave_up(info, self.state.max_retry_attempts))
            # Another instance may have finished it between our read and our lock.
            done = self._already_done(info, force, url)
            if done:
                return done
            force = force or info.force
            if force and info.status == COMPLETED:
                self.state.reset_for_force(info.id)
                info = self.state.reload(info.id)
            keeper = LeaseKeeper(self.state, info.id, self.settings.progress_interval_seconds).start()
            part = self._part_file(info)
            part.open(create=False)
            if url and url != info.url and part.is_open:
                part.truncate(0, keeper)   # bytes of another URL must never be continued
            part = self._empty_part_moved(info, part, keeper)
            self.state.start(info, part.path, url, force, anew)
            started = True
            info = self.state.reload(info.id)
            # Logged through the redacting formatter: credentials never reach the log.
            # The extension is the URL's; a Content-Type may still change it.
            log.info('downloading %s from %s to %s', label, info.url, self._final_path(info, None))
            return self._attempts(info, part, keeper, force)
        except PartBusy as exc:
            log.debug('%s: %s', label, exc)       # the command layer prints the outcome
            return DownloadResult('skipped', info.id, f'{label}: {exc}', held=True)
        except LeaseExpired as exc:
            if keeper is not None:
                keeper.stop()
            return self._pause_after_expiry(info, part, exc)
        except LeaseLost as exc:
            log.debug('%s', exc)        # the command layer prints the outcome
            return DownloadResult('lost', info.id, str(exc))
        except Interrupted:
            if keeper is not None:
                keeper.stop()
            self._pause_after_signal(info, part)
            raise
        except DownloadError as exc:
            return self._fail(info, part, str(exc), counted=retried and not started,
                              permanent=isinstance(exc, PermanentDownloadError))
        except Exception as exc:     # a bug or an input nobody foresaw: this item only
            return self._fail_unexpected(info, part, exc, counted=retried and not started)
        finally:
            if keeper is not None:
                keeper.stop()
            if part is not None:
                part.close()
            try:
                self.state.release(info.id)
            except peewee.PeeweeException:  # pragma: no cover - best effort
                pass

    # -- internals ---------------------------------------------------------------
    @staticmethod
    def _already_done(info: DownloadInfo, force: bool, url: str | None) -> DownloadResult | None:
        if info.status == COMPLETED and not force and url in (None, info.url) \
                and info.download_path and os.path.exists(info.download_path):
            return DownloadResult('skipped', info.id, f'already downloaded: {info.download_path}',
                                  info.download_path, info.file_size)
        return None

    def _part_file(self, info: DownloadInfo) -> PartFile:
        """The .part of ``info`` as the row knows it: its name, the inode it was
        created with (rows from before ``part_inode`` existed adopt a single-link
        regular file when they recorded bytes), the folder below which no link
        is followed."""
        stored = info.part_path
        if stored and not os.path.lexists(stored):
            # Nothing is kept there (a temp_dir since changed or put right, a .part
            # removed): nothing to continue, so the .part goes where the config
            # says now, not back under a path that may no longer be configured.
            stored = None
        inode = int(info.part_inode) if info.part_inode and stored else None
        adopt = inode is None and bool(stored) and (info.bytes_downloaded or 0) > 0
        return PartFile(stored or self._part_path(info), inode, adopt, info.library_root,
                        lambda: self._part_path(info, secrets.token_hex(4)))

    def _empty_part_moved(self, info: DownloadInfo, part: PartFile, keeper: LeaseKeeper) -> PartFile:
        """The .part this attempt writes. An empty one of ours kept where temp_dir
        no longer points (the user changed temp_dir, or set or cleared it) holds
        nothing to continue: it is removed and the attempt starts where temp_dir
        says now, so no empty .part is left behind where no `cleanup` looks. Ours
        is proven, not guessed: the inode the row recorded, a single link, our
        flock on it and our live lease (PartFile.open; the name never followed).
        A .part not provably ours (another instance's in a shared folder, one a
        killed run created before it could record its inode) is left alone, and
        one with bytes stays where it is, continued there."""
        now = self._part_path(info)
        if not part.is_open or part.size() or os.path.normpath(os.path.dirname(now)) == \
                os.path.normpath(part.folder):
            return part
        keeper.check()              # the lease invariant: only its live holder touches a .part
        part.unlink()
        part.close()
        log.info('removed the empty %s: temp_dir points to %s now', part.path, os.path.dirname(now))
        return PartFile(now, None, False, info.library_root,
                        lambda: self._part_path(info, secrets.token_hex(4)))

    def _part_path(self, info: DownloadInfo, tag: str | None = None) -> str:
        """``<destination name>.stalkeer-<id>.part`` (``-<tag>`` before ``.part`` when
        that name is taken by a file this download did not create), the name cut
        so that the whole stays within NAME_MAX_BYTES."""
        folder = self.settings.temp_dir or os.path.dirname(info.destination)
        suffix = f'.stalkeer-{info.id}-{tag}.part' if tag else f'.stalkeer-{info.id}.part'
        name = utf8_truncate(os.path.basename(info.destination), NAME_MAX_BYTES - len(suffix))
        return os.path.join(folder, name + suffix)

    @staticmethod
    def _copy_name(final_name: str, download_id: int) -> str:
        """The temporary name of a copy across filesystems, beside the final file."""
        suffix = f'.stalkeer-{download_id}.copy'
        return utf8_truncate(final_name, NAME_MAX_BYTES - len(suffix)) + suffix

    def _pause_after_signal(self, info, part):
        size = part.size() if part is not None and part.is_open else None
        try:
            self.state.pause(info.id, size, 'paused by a signal')
            # ERROR level so that even -q shows what was paused.
            log.error('paused #%d %s %s', info.id, self._label(info), where_stopped(size))
        except (Interrupted, LeaseExpired, peewee.PeeweeException):
            # The database did not take the pause at once (another program holds
            # its lock): the stop does not wait for it. The lease is let go here,
            # so nothing more is written nor tried; the row stays as a kill leaves
            # it, and the next run resumes the .part once the lease is stale.
            self.state.abandon(info.id)
            RUN_STOP.note_unrecorded()
            # The row still names this (now gone) process as its holder, fresh:
            # status shows it active and other runs skip it until the lock is
            # stale (trial-18b); only the user knows no run holds it any more.
            log.error('stopped #%d %s %s, not recorded as paused (%s): the next run '
                      'resumes it once its lock is stale (lock_timeout_seconds), or at once '
                      'after `stalkeer unlock --force %d`', info.id, self._label(info),
                      where_stopped(size), self.state.last_db_error or 'the database is busy', info.id)
        except LeaseLost:
            pass

    def _pause_after_expiry(self, info, part, exc: LeaseExpired) -> DownloadResult:
        """The lease ran out (the database stayed unreachable, or this process
        was stopped for that long): nothing more is written; the .part is kept,
        and the pause recorded if the row is still ours."""
        size = part.size() if part is not None and part.is_open else None
        message = f'{exc.cause}; the .part is kept and the next run resumes it'
        try:
            self.state.pause(info.id, size, message)
        except LeaseExpired as again:
            log.debug('could not record the pause of #%d: %s', info.id, again.cause)
        except LeaseLost:
            message = f'lost the lock to another instance: {exc.cause}'
            log.debug('%s: %s', self._label(info), message)
            return DownloadResult('lost', info.id, message)
        except peewee.PeeweeException as again:
            log.debug('could not record the pause of #%d: %s', info.id, first_line(again))
        log.debug('%s: %s', self._label(info), message)
        return DownloadResult('paused', info.id, message)

    def _fail(self, info: DownloadInfo, part, message: str, counted: bool = False,
              permanent: bool = False) -> DownloadResult:
        """Record the failure (the .part kept for a later resume) and say it.
        ``counted``: it happened before the attempt was counted (StateManager.start),
        so it counts now; ``permanent``: no retry can fix it, the download gives up
        at once and the message says so."""
        size = part.size() if part is not None and part.is_open else None
        if permanent:
            message = (f'{message} — {PERMANENT_MARK}: once it is put right, '
                       f'run `stalkeer retry {info.id}`')
        try:
            self.state.fail(info.id, message, size, counted=counted, give_up=permanent)
        except LeaseExpired as exc:
            message = f'{message}; the database could not record it: {exc.cause}'
        except LeaseLost as exc:
            log.debug('%s', exc)
            return DownloadResult('lost', info.id, str(exc))
        except peewee.PeeweeException as exc:
            message = f'{message}; the database could not record it: {db_error_cause(exc)}'
        log.debug('failed %s: %s', self._label(info), message)
        return DownloadResult('failed', info.id, message)

    def _fail_unexpected(self, info, part, exc, counted: bool = False) -> DownloadResult:
        if isinstance(exc, peewee.PeeweeException):
            message = f'database error: {db_error_cause(exc)}'
        elif isinstance(exc, OSError) and exc.strerror:
            message = f'{exc.strerror}: {exc.filename or ""}'.rstrip(': ')
        else:
            message = f'unexpected error: {exc.__class__.__name__}: {first_line(exc)}'
        log.debug('%s', message, exc_info=True)        # the traceback, with -v only
        try:
            return self._fail(info, part, message, counted=counted)
        except Exception:                              # the row cannot even be written
            log.debug('failed %s: %s', self._label(info), message)
            return DownloadResult('failed', info.id, message)

    def _attempts(self, info: DownloadInfo, part: PartFile, keeper: LeaseKeeper,
                  force: bool) -> DownloadResult:
        """Attempts until completed or out of retries. An attempt that moved the
        .part past the furthest point any earlier one reached is progress, not
        failure: it does not count against retry_attempts (this run) nor
        max_retry_attempts (across runs); only attempts without progress do."""
        s = self.settings
        finished = self._recover_finished(info, part)
        if finished:
            path, size = finished
            if part.is_open:
                part.unlink()
            self._remove_copy(info, path)
            self.state.complete(info.id, path, size)
            log.info('%s: %s was finished by a run that stopped before recording it',
                     self._label(info), path)
            return DownloadResult('completed', info.id, f'downloaded {path}', path, size)
        if part.is_open and part.stat().st_nlink > 1:
            part.let_go()       # a second link appeared: its bytes are not ours to append to
        final = self._final_path(info, None)
        special = special_file(final)
        if special:
            return self._fail(info, part, f'refusing to write {final}: it is {special}', permanent=True)
        if os.path.lexists(final) and not force:
            # Fail before fetching gigabytes we could not put anywhere. The file
            # stays until a person moves it or asks for --force: no retry helps.
            return self._fail(info, part, f'refusing to overwrite existing file {final} (use --force)',
                              permanent=True)
        furthest = part.size()
        without_progress = 0
        while True:
            # The previous attempt saved a validator and sizes: use the row as stored.
            info = self.state.reload(info.id)
            self._content_changed = False
            try:
                size, content_type = self._transfer(info, part, keeper)
                final = self._final_path(info, content_type)
                self._finish(info, part, keeper, final, size, force)
                self.state.complete(info.id, final, size)
                crash_point('after_complete')
                # Not logged here: the command prints 'completed: …' (and records it), once.
                return DownloadResult('completed', info.id, f'downloaded {final}', final, size)
            except RetryableDownloadError as exc:
                keeper.check()          # a connection cut because the lease was lost is no retry
                message, size = str(exc), part.size()
                if self._content_changed:
                    furthest = 0        # a new file on the server: progress counts from 0
                gained = size - furthest
                progressed = gained > 0
                furthest = max(furthest, size)
                without_progress = 0 if progressed else without_progress + 1
                if not progressed and (without_progress >= s.retry_attempts or
                                       self.state.reload(info.id).retry_count >= s.max_retry_attempts):
                    return self._fail(info, part, message)
                if gained >= 2 * RESUME_OVERLAP and exc.retry_after is None:
                    delay = 0.0         # a panel that cuts after a burst: reconnect at once
                else:
                    delay = backoff_delay(max(without_progress, 1), s.backoff_base, s.backoff_max,
                                          exc.retry_after)
                if progressed:
                    log.warning('%s: %s; now at %s, retrying in %.1fs', self._label(info), message,
                                human_bytes(size), delay)
                else:
                    log.warning('%s: %s; retrying in %.1fs (attempt %d of %d without progress)',
                                self._label(info), message, delay, without_progress + 1,
                                s.retry_attempts)
                self.state.retrying(info.id, message, size, progressed)
                if delay:
                    self.sleep(delay)
            except DownloadError as exc:
                return self._fail(info, part, str(exc),
                                  permanent=isinstance(exc, PermanentDownloadError))
            except OSError as exc:
                # A local filesystem problem nobody translated yet.
                message = f'{exc.strerror or exc}: {exc.filename or ""}'.rstrip(': ')
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    message = f'disk full: {message}'
                return self._fail(info, part, message)

    def _final_candidates(self, info) -> list[str]:
        if has_media_extension(info.destination):
            return [info.destination]
        return [self._final_path(info, None)] + \
            [info.destination + ext for ext in sorted(MEDIA_EXTENSIONS)]

    def _recover_finished(self, info, part: PartFile) -> tuple[str, int] | None:
        """A run that died in the finish sequence left the file in the library
        and the row unfinished. It is ours when the .part and the file are one
        inode (died between link() and unlink()); when the .part is gone and the
        file has the size recorded just before the link or rename; or, after a
        copy across filesystems, when both exist with that size and the same
        bytes. Returns (path, size) or None."""
        if part.is_open:
            held = part.stat()
        elif not part.open(create=False, linked=True):
            held = None
        else:
            held = part.stat()
        recorded = info.file_size          # recorded by StateManager.finishing()
        if recorded is None and info.total_bytes and info.bytes_downloaded == info.total_bytes:
            recorded = info.total_bytes    # rows from before finishing() existed
        # One inode with the .part only counts when it is complete: a link to a
        # partial .part planted at the destination is not a finished download.
        whole = info.file_size or info.total_bytes
        candidates = [info.download_path] if info.download_path else []
        candidates += [c for c in self._final_candidates(info) if c not in candidates]
        for final in candidates:
            try:
                found = os.stat(final, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(found.st_mode):
                continue
            if held is not None and same_file(held, found):
                if whole is not None and found.st_size == whole:
                    return final, found.st_size
                continue
            if recorded is None or found.st_size != recorded:
                continue
            if held is None:
                # Ours: the inode the .part had (linked or renamed), or a copy
                # on another filesystem than the .part's folder (temp_dir).
                if part.inode is None or found.st_ino == part.inode or (
                        part.dir_fd is not None and os.fstat(part.dir_fd).st_dev != found.st_dev):
                    return final, recorded
                continue
            if held.st_size == recorded and final == info.download_path \
                    and self._same_bytes(part, final, recorded):
                return final, recorded
        return None

    @staticmethod
    def _same_bytes(part: PartFile, path: str, size: int) -> bool:
        with open(path, 'rb') as fh:
            pos = 0
            while pos < size:
                ours = part.read(CHUNK_SIZE, pos)
                if not ours or fh.read(len(ours)) != ours:
                    return False
                pos += len(ours)
        return True

    def _remove_copy(self, info, final: str) -> None:
        """A copy across filesystems that a crash left beside the final file."""
        folder, name = os.path.split(final)
        with contextlib.suppress(OSError):
            copy = os.path.join(folder, self._copy_name(name, info.id))
            if stat.S_ISREG(os.stat(copy, follow_symlinks=False).st_mode):
                os.unlink(copy)

    @staticmethod
    def _label(info):
        return info.title or os.path.basename(info.destination)

    @staticmethod
    def _final_path(info: DownloadInfo, content_type: str | None) -> str:
        """The destination, plus the detected extension when it has none.

        Library names are full of dots ("Dr. Strangelove", "Mr.Robot"), so only
        a video extension, or the very extension of the URL, counts as one."""
        suffix = os.path.splitext(info.destination)[1].lower()
        url_suffix = os.path.splitext(url_path(info.url))[1].lower()
        if suffix in MEDIA_EXTENSIONS or (suffix and suffix == url_suffix):
            return info.destination
        return info.destination + detect_extension(info.url, content_type)

    def _request(self, url: str, headers: dict) -> requests.Response:
        s = self.settings
        problem = _fetch_problem(url)       # a stored URL nothing can request
        if problem:
            raise DownloadError(problem)
        try:
            with stoppable_request():
                return self.session.get(url, headers=headers, stream=True,
                                        timeout=(s.connect_timeout, s.read_timeout))
        except requests.exceptions.ConnectTimeout:
            raise RetryableDownloadError('connection timed out') from None
        except requests.exceptions.ReadTimeout:
            raise RetryableDownloadError(f'no answer within {s.read_timeout:g}s') from None
        except requests.exceptions.SSLError as exc:
            raise DownloadError(f'TLS error: {first_line(exc)}') from None
        except requests.exceptions.ConnectionError as exc:
            raise RetryableDownloadError(f'connection failed: {_connection_reason(exc)}') from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema):
            raise DownloadError('invalid URL') from None
        except requests.exceptions.RequestException as exc:
            raise DownloadError(f'request failed: {first_line(exc)}') from None

    def _transfer(self, info: DownloadInfo, part: PartFile, keeper: LeaseKeeper):
        """One HTTP attempt. Returns (size, content_type) with the .part complete."""
        RUN_STOP.check()
        offset = part.size()
        token = info.resume_token
        headers = {}
        overlap = 0
        if offset > 0:
            if token:
                headers['Range'] = f'bytes={offset}-'
                headers['If-Range'] = token
            else:
                overlap = min(RESUME_OVERLAP, offset)
                headers['Range'] = f'bytes={offset - overlap}-'
        response = self._request(info.url, headers)
        with response:
            start, total = self._check_response(response, offset, overlap, part, keeper, info)
            content_type = response.headers.get('Content-Type')
            new_token = _validator(response)
            if response.status_code == 200 and offset and token and new_token != token:
                self._content_changed = True
            if response.status_code == 200 or not token:
                token = new_token
            remaining = (total - start) if total is not None else 0
            self._check_free_space(part.folder, remaining)
            part.open(create=True)       # only now: nothing is created for a refused download
            keeper.progress(start)
            self.state.heartbeat(info.id, start, total, token or '', session_start=True,
                                 part_path=part.path, part_inode=part.inode)
            self._stream_body(info, response, part, keeper, start, overlap, total)
        size = part.size()
        if total is not None and size != total:
            raise IncompleteDownloadError(f'got {size} of {total} bytes')
        if size == 0:
            # A 200 with no body is what panels answer for an offline stream or an
            # account over its limit (trial-16b F9): never a finished film.
            raise RetryableDownloadError('the server sent an empty body (0 bytes), not a video')
        return size, content_type

    def _check_response(self, response, offset, overlap, part, keeper, info):
        """Decide where the body starts. Returns (start offset, total size or None)."""
        code = response.status_code
        if code == 416:
            # Range beyond the end: maybe we already have everything.
            m = _CONTENT_RANGE_UNSATISFIED.match(response.headers.get('Content-Range', ''))
            remote = int(m.group(1)) if m else None
            if remote is not None and offset == remote and offset > 0:
                return offset, remote
            part.truncate(0, keeper)
            raise RestartDownload('server refused the resume range; starting over')
        if code in (408, 429, 551) or 500 <= code < 600:
            # 551 is what many IPTV panels answer for "too many connections".
            raise RetryableDownloadError(
                f'HTTP {code} {response.reason or ""}'.strip(),
                retry_after=parse_retry_after(response.headers.get('Retry-After')))
        if code not in (200, 206):
            raise DownloadError(f'HTTP {code} {response.reason or ""}'.strip())
        ctype = (response.headers.get('Content-Type') or '').lower()
        if ctype.startswith('text/html'):
            raise DownloadError('the server sent an HTML page instead of a video '
                                '(expired subscription or wrong URL?)')
        if 'mpegurl' in ctype:                   # application/vnd.apple.mpegurl, audio/x-mpegurl
            raise DownloadError(HLS_REFUSAL)
        encoding = response.headers.get('Content-Encoding') or ''
        codings = [c.strip().lower() for c in encoding.split(',') if c.strip()]
        if any(c != 'identity' for c in codings):
            # We ask for Accept-Encoding: identity and read the raw body: a server
            # that compresses anyway would have gzip bytes stored as the film.
            raise DownloadError(f'the server sent the file encoded (Content-Encoding: '
                                f'{clip(encoding, 40)}) although stalkeer asks for it as is '
                                '(Accept-Encoding: identity); it is not stored')
        if code == 200:
            if offset:
                log.warning('%s: server ignored the range or the file changed; starting over',
                            self._label(info))
            length = response.headers.get('Content-Length')
            return 0, int(length) if length and length.isdigit() else None
        parsed = parse_content_range(response.headers.get('Content-Range'))
        if not parsed or parsed[0] != offset - overlap:
            part.truncate(0, keeper)
            raise RestartDownload('server answered an unexpected range; starting over')
        return parsed[0], parsed[2]

    def _check_free_space(self, folder: str, remaining: int) -> None:
        need = remaining + self.settings.min_free_space
        where = folder or '.'
        while not os.path.isdir(where) and os.path.dirname(where) != where:
            where = os.path.dirname(where)     # not created yet: its nearest existing parent
        free = shutil.disk_usage(where).free
        if free < need:
            raise DiskSpaceError(f'not enough free space in {folder}: need {human_bytes(need)} '
                                 f'({human_bytes(remaining)} + min_free_space_mb), '
                                 f'have {human_bytes(free)}')

    def _stream_body(self, info, response, part, keeper, start, overlap, total):
        raw = self._body_reader(response.raw)
        progress = ProgressTracker(self.hooks, {'id': info.id, 'title': self._label(info),
                                                'filename': info.destination},
                                   start + overlap, total)
        keeper.interrupt = lambda: _cut_connection(response)   # a lost lease ends a blocked read
        with RUN_STOP.cutting(keeper.interrupt):                # and so does the run's stop
            self._stream_into(info, raw, part, keeper, start, overlap, total, progress)

    def _stream_into(self, info, raw, part, keeper, start, overlap, total, progress):
        """The body from ``raw`` into the .part (the overlap checked first), each
        write after the lease check; a stop or a lost lease cuts the read."""
        s = self.settings
        try:
            if overlap:
                pos = self._verify_overlap(raw, part, keeper, start, overlap)
            else:
                part.truncate(start, keeper)
                pos = start
            saved_pos = pos
            keeper.progress(pos)
            progress(pos, force=True)
            while True:
                try:
                    chunk = self._read(raw)
                except IncompleteDownloadError as exc:
                    keeper.check()
                    raise IncompleteDownloadError(_cut_short(pos, total, exc.how)) from None
                if not chunk:
                    break
                RUN_STOP.check()        # the chunk in hand is dropped: the next run fetches it
                if pos == 0 and is_hls_playlist(chunk):
                    raise DownloadError(HLS_REFUSAL)     # whatever its Content-Type said
                part.write(chunk, pos, keeper)       # checks the lease first
                pos += len(chunk)
                progress(pos)
                save_now = pos - saved_pos >= s.progress_interval_bytes
                keeper.progress(pos, save_now)
                if save_now:
                    saved_pos = pos
            keeper.check()       # the end of the body may be the cut of a lost lease
        finally:
            keeper.interrupt = None
            close = getattr(raw, 'close', None)
            if close is not None:
                close()          # the splice pipe; bytes still in it were never ours to write
        progress(pos, status='finished' if total in (None, pos) else 'downloading', force=True)
        # No save here: the finish records the size (finishing), a retry or a
        # failure records what the .part holds.
        if total is not None and pos < total:
            raise IncompleteDownloadError(_cut_short(pos, total))

    @staticmethod
    def _body_reader(raw):
        """The cheapest way to read this response body (bench/RESULTS.md).

        urllib3's read1() costs about twice the CPU of the http.client response
        underneath it; and a fresh 1 MiB bytes object per read page-faults on
        every read. With a plain Content-Length body (no chunked framing to
        decode) we read straight from the socket into one reused buffer;
        otherwise http.client's read1() still handles the framing. The size is
        verified by us either way."""
        inner = getattr(raw, '_fp', None)            # http.client.HTTPResponse
        sock = getattr(inner, 'fp', None)            # its buffered socket reader
        if inner is not None and not getattr(inner, 'chunked', True) \
                and isinstance(getattr(inner, 'length', None), int) and hasattr(sock, 'readinto1'):
            conn = getattr(getattr(sock, 'raw', None), '_sock', None)   # socket.SocketIO's socket
            if inner.length >= SPLICE_MIN_BYTES and _can_splice(conn):
                return _SplicingBodyReader(sock, inner.length, conn)
            return _BufferedBodyReader(sock, inner.length)
        if inner is not None and hasattr(inner, 'read1'):
            return inner.read1
        return raw.read1

    def _read(self, read1) -> bytes:
        """One read of the body (read1, the splice or the buffered reader).
        Every way a connection can end a body short is an IncompleteDownloadError
        (retried) whose ``how`` says which: a reset, a chunked body cut before
        its last chunk (http.client's IncompleteRead), a malformed chunk-size
        line (ValueError, as is a socket another thread closed), urllib3's
        ProtocolError; a silence past read_timeout is a stall. A read the run's
        stop cut (RUN_STOP) is Interrupted, not a retry; so is its end of body."""
        import http.client                 # loaded with requests: a dict lookup
        try:
            chunk = read1(CHUNK_SIZE)
        except (urllib3.exceptions.ReadTimeoutError, socket.timeout, TimeoutError):
            RUN_STOP.check()
            raise RetryableDownloadError(
                f'stalled: no data for {self.settings.read_timeout:g}s') from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError,
                http.client.HTTPException, ConnectionError, OSError, ValueError) as exc:
            RUN_STOP.check()
            how = _cut_reason(exc)
            raise IncompleteDownloadError(f'connection closed ({how})' if how else 'connection closed',
                                          how=how) from None
        if not chunk:
            RUN_STOP.check()
        return chunk

    def _verify_overlap(self, raw, part, keeper, start, overlap) -> int:
        """No validator: compare re-fetched bytes with what we have before appending.

        Returns the file position after the bytes already read from the body."""
        remote = bytearray()
        while len(remote) < overlap:
            chunk = self._read(raw)
            if not chunk:
                raise IncompleteDownloadError('connection closed while checking the resume overlap')
            if isinstance(chunk, _PipedChunk):
                chunk = chunk.take()
            remote += chunk
        if remote[:overlap] != part.read(overlap, start):
            part.truncate(0, keeper)
            self._content_changed = True
            raise RestartDownload('the file changed on the server since the last attempt; starting over')
        part.truncate(start + overlap, keeper)
        part.write(memoryview(remote)[overlap:], start + overlap, keeper)
        return start + len(remote)

    # -- the finish sequence --------------------------------------------------------
    def _finish(self, info, part: PartFile, keeper: LeaseKeeper, final: str, size: int,
                force: bool) -> None:
        """Put the complete .part into the library (README, "the finish sequence").

        With the .part still open and locked: fsync it; renew the lease,
        recording path and size (StateManager.finishing); link() it onto the
        final name, which fails rather than replace anything, or with --force
        rename() it over; unlink() the .part name; fsync the folder. Across
        filesystems the bytes are copied to a temporary name beside the final
        one first. Names are resolved in descriptors of their folders, never
        through a symlink. The writing descriptor is never written after this:
        from the link on, the inode is the library file."""
        if part.size() != size:
            raise IncompleteDownloadError(f'{part.path} is not {size} bytes')
        folder, name = os.path.split(final)
        try:
            dir_fd = open_folder(folder, info.library_root)
        except OSError as exc:
            error = PermanentDownloadError if exc.errno in _PERMANENT_ERRNOS else DownloadError
            raise error(folder_refusal(folder, exc, info.library_root, target=final)) from None
        refusal = f'refusing to overwrite existing file {final} (use --force)'
        try:
            special = special_file(name, dir_fd)
            if special:     # the extension came from the Content-Type: known only now
                raise PermanentDownloadError(f'refusing to write {final}: it is {special}')
            if not force and _lexists_at(name, dir_fd):
                raise DownloadError(refusal)
            part.fsync()
            self.state.finishing(info.id, final, size)
            keeper.check()
            crash_point('before_link')
            try:
                if force:
                    os.replace(part.name, name, src_dir_fd=part.dir_fd, dst_dir_fd=dir_fd)
                    crash_point('after_rename')
                else:
                    _link_into_place(part.name, part.dir_fd, name, dir_fd, refusal)
                    crash_point('after_link')
                    part.unlink()
                    crash_point('after_unlink')
            except OSError as exc:
                if exc.errno == errno.EXDEV:
                    self._copy_into_place(info, part, keeper, dir_fd, final, size, force, refusal)
                elif exc.errno == errno.EEXIST:
                    raise DownloadError(refusal) from None
                elif exc.errno == errno.ENOSPC:
                    raise DiskSpaceError(f'disk full while moving the file into {folder}') from None
                else:
                    raise DownloadError(f'cannot move the file into {folder}: {exc.strerror}') from None
            with contextlib.suppress(OSError):
                os.fsync(dir_fd)     # the new name is durable (POSIX)
        finally:
            os.close(dir_fd)

    def _copy_into_place(self, info, part, keeper, dir_fd, final, size, force, refusal) -> None:
        """temp_dir on another filesystem: copy, fsync, check the size, then place
        the copy as _finish places a .part, and unlink the .part."""
        folder, name = os.path.split(final)
        copy = self._copy_name(name, info.id)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(copy, dir_fd=dir_fd)       # a crashed copy of ours (unlink never follows)
        try:
            out = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC,
                          0o644, dir_fd=dir_fd)
            try:
                pos = 0
                while pos < size:
                    chunk = part.read(CHUNK_SIZE, pos)
                    if not chunk:
                        break
                    keeper.check()
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(out, view):]
                    pos += len(chunk)
                os.fsync(out)
                if os.fstat(out).st_size != size:
                    raise DownloadError(f'copy to {final} came out the wrong size')
            finally:
                os.close(out)
            crash_point('after_copy')
            if force:
                os.replace(copy, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:
                _link_into_place(copy, dir_fd, name, dir_fd, refusal)
                crash_point('after_copy_link')
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskSpaceError(f'disk full while copying to {final}') from None
            if exc.errno == errno.EEXIST:
                raise DownloadError(refusal) from None
            raise DownloadError(f'cannot copy into {folder}: {exc.strerror}') from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(copy, dir_fd=dir_fd)
        part.unlink()
        crash_point('after_unlink')


def _fetch_problem(url: str) -> str | None:
    """Why the downloader can never fetch ``url`` (url_problem: naming its
    scheme, never the URL: it may hold the account), or None. Only http(s) is
    fetched."""
    problem = url_problem(url, written=False)
    return f'invalid URL ({problem})' if problem else None


def _link_into_place(src: str, src_dir_fd: int, name: str, dir_fd: int, refusal: str) -> None:
    """link() ``src`` to ``name`` and unlink ``src``: an existing file (or symlink)
    at ``name`` is never replaced, even one that appeared a moment ago."""
    try:
        os.link(src, name, src_dir_fd=src_dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        # Filesystems without hard links (FAT, some SMB shares): rename, checking first.
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if _lexists_at(name, dir_fd):
            raise DownloadError(refusal) from None
        os.rename(src, name, src_dir_fd=src_dir_fd, dst_dir_fd=dir_fd)


class _BufferedBodyReader:
    """read1()-alike over a socket reader: at most ``length`` bytes, each read
    into the same buffer. The returned view is valid until the next call."""

    def __init__(self, sock, length: int):
        self.sock = sock
        self.remaining = length
        self.buffer = memoryview(bytearray(CHUNK_SIZE))

    def __call__(self, size: int = CHUNK_SIZE):
        if self.remaining <= 0:
            return b''
        n = self.sock.readinto1(self.buffer[:min(size, CHUNK_SIZE, self.remaining)])
        self.remaining -= n
        return self.buffer[:n]


# splice(2) said "not for this descriptor": fall back to reading and writing
_SPLICE_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP})


def _can_splice(conn) -> bool:
    """A plain TCP socket on Linux (TLS bytes must be decrypted in user space)."""
    return (sys.platform.startswith('linux') and hasattr(os, 'splice')
            and conn is not None and type(conn) is socket.socket)


class _PipedChunk:
    """``size`` body bytes held in the reader's pipe, for :meth:`PartFile.write`
    to move into the .part (after its lease check) with :meth:`move_to`."""

    __slots__ = ('reader', 'size')

    def __init__(self, reader: '_SplicingBodyReader', size: int):
        self.reader = reader
        self.size = size

    def __len__(self) -> int:
        return self.size

    def take(self) -> bytes:
        """The bytes themselves (the resume overlap compares them in memory)."""
        data = bytearray()
        while len(data) < self.size:
            block = os.read(self.reader.pipe_r, self.size - len(data))
            if not block:
                raise OSError(errno.EIO, 'the splice pipe ran dry')
            data += block
        return bytes(data)

    def move_to(self, fd: int, pos: int) -> int:
        """Empty the pipe into ``fd`` at ``pos``; returns the position after.
        Raises OSError as the write does."""
        left, pipe = self.size, self.reader.pipe_r
        while left:
            if self.reader.splice_out:
                try:
                    n = os.splice(pipe, fd, left, offset_dst=pos)
                except OSError as exc:
                    if exc.errno not in _SPLICE_UNSUPPORTED:
                        raise
                    self.reader.splice_out = False     # this filesystem: through user space
                    continue
            else:
                data = memoryview(os.read(pipe, left))
                n = len(data)
                while data:
                    data = data[os.pwrite(fd, data, pos + n - len(data)):]
            if n <= 0:
                raise OSError(errno.EIO, 'the splice pipe ran dry')
            pos, left = pos + n, left - n
        return pos


class _SplicingBodyReader(_BufferedBodyReader):
    """A Content-Length body over plain TCP on Linux, moved by splice(2):
    socket → pipe here, pipe → .part in :meth:`PartFile.write`, after the lease
    check, so a lost lease still leaves the bytes unwritten (they die with the
    pipe). The first read goes through user space, for the HLS check at
    position 0; the second takes what the socket reader still buffers, which
    leaves the socket to splice alone. Where splice is refused (EINVAL, ENOSYS),
    the rest is read as :class:`_BufferedBodyReader` reads it. The socket's
    timeout (read_timeout) is kept by waiting in poll(); a connection cut
    from the lease keeper ends the splice at once (0 bytes: end of body)."""

    def __init__(self, sock, length: int, conn):
        super().__init__(sock, length)
        self.conn = conn
        self.reads = 0
        self.pipe_r: int | None = None
        self.pipe_w: int | None = None
        self.pipe_size = 0
        self.splice_out = True       # pipe → file: False once the filesystem refused
        self.spliced = False         # a splice from the socket has moved bytes

    def __call__(self, size: int = CHUNK_SIZE):
        if self.remaining <= 0:
            return b''
        self.reads += 1
        if self.reads == 1 or not self.splice_out:
            return super().__call__(size)
        if self.pipe_r is None:
            return self._hand_over()
        return self._splice_in()

    def _hand_over(self):
        """What the socket reader buffers (one raw read when nothing), then a pipe."""
        buffered = self.sock.peek(1)
        data = self.sock.read1(min(len(buffered), self.remaining)) if buffered else b''
        self.remaining -= len(data)
        try:
            self.pipe_r, self.pipe_w = os.pipe()
        except OSError:
            self.splice_out = False
            return data
        with contextlib.suppress(OSError, AttributeError):   # default 64 KiB otherwise
            fcntl.fcntl(self.pipe_w, fcntl.F_SETPIPE_SZ, CHUNK_SIZE)
        try:
            self.pipe_size = fcntl.fcntl(self.pipe_w, fcntl.F_GETPIPE_SZ)
        except (OSError, AttributeError):
            self.pipe_size = 64 * 1024
        return data if data else self._splice_in()

    def _splice_in(self):
        fd = self.conn.fileno()
        while True:
            try:
                n = os.splice(fd, self.pipe_w, min(self.pipe_size, self.remaining))
                break
            except BlockingIOError:          # a socket with a timeout is non-blocking
                self._wait_readable(fd)
            except OSError as exc:
                if exc.errno not in _SPLICE_UNSUPPORTED or self.spliced:
                    raise
                self.splice_out = False      # refused at the first try: nothing was moved
                return super().__call__(CHUNK_SIZE)
        self.remaining -= n
        self.spliced = True
        return _PipedChunk(self, n) if n else b''

    def _wait_readable(self, fd: int) -> None:
        """Wait up to the socket's timeout (read_timeout) for bytes or an end;
        poll(), not select(): a long-running serve may hold descriptors past 1024."""
        import select
        timeout = self.conn.gettimeout()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        if not poller.poll(None if timeout is None else max(0, math.ceil(timeout * 1000))):
            raise TimeoutError('timed out')

    def close(self) -> None:
        close_quietly(self.pipe_r, self.pipe_w)
        self.pipe_r = self.pipe_w = None


def _validator(response) -> str | None:
    """The validator to send in If-Range later: a strong ETag, else Last-Modified.

    Weak ETags must not be used with If-Range (RFC 9110 13.1.5).
    """
    etag = response.headers.get('ETag')
    if etag and not etag.startswith('W/'):
        return etag
    return response.headers.get('Last-Modified')


def _cut_short(pos: int, total: int | None, how: str | None = None) -> str:
    """The reason of a body that ended before its end: "connection closed after
    POS of TOTAL bytes" (TOTAL unknown for a chunked body), and how when known."""
    text = f'connection closed after {pos} of {total} bytes' if total is not None \
        else f'connection closed after {pos} bytes, before the end of the chunked body'
    return f'{text} ({how})' if how else text


def _cut_reason(exc) -> str | None:
    """How a read ended a body short, in a few words (None: the connection
    simply closed)."""
    import http.client
    if isinstance(exc, http.client.IncompleteRead):
        # A chunked body without its last chunk; http.client says the same of a
        # chunk-size line that is not hex.
        return None
    if isinstance(exc, http.client.HTTPException):
        return 'malformed chunked framing'  # a chunk-size line past 64 KiB (LineTooLong)
    if isinstance(exc, ValueError):
        return None                         # a read of a socket another thread closed
    if isinstance(exc, ConnectionResetError) or 'Connection reset' in str(exc):
        return 'connection reset'
    if isinstance(exc, urllib3.exceptions.ProtocolError) and 'IncompleteRead' in str(exc):
        return None
    return _connection_reason(exc)


def _connection_reason(exc) -> str:
    """A short, secret-free reason out of a requests/urllib3 connection error."""
    text = str(exc)
    for needle, reason in (('Connection refused', 'connection refused'),
                           ('Name or service not known', 'unknown host'),
                           ('Temporary failure in name resolution', 'unknown host'),
                           ('timed out', 'timed out'),
                           ('IncompleteRead', 'incomplete read'),
                           ('Connection reset', 'connection reset'),
                           ('Connection aborted', 'connection aborted'),
                           ('RemoteDisconnected', 'server closed the connection')):
        if needle in text:
            return reason
    return redact(text.splitlines()[0] if text else exc.__class__.__name__)[:200]


# ==== playlist =================================================================

# -- fetching the playlist ------------------------------------------------------


@dataclasses.dataclass
class PlaylistSettings:
    """The [m3u] section, validated."""
    url: str | None
    file_path: str
    archive_dir: str | None
    retention_count: int
    max_file_size: int
    connect_timeout: float = 10
    read_timeout: float = 60
    retry_attempts: int = 3
    backoff_base: float = 2
    backoff_max: float = 60
    user_agent: str = f'stalkeer/{__version__}'
    # Where url and max_file_size came from, as an error names them (an
    # environment variable is not the file's key: trial-15e F9).
    url_source: str = '[m3u] url'
    file_path_source: str = '[m3u] file_path'
    max_size_source: str = '[m3u] max_file_size_mb'

    @classmethod
    def from_config(cls, cfg: Config) -> 'PlaylistSettings':
        downloads = DownloadSettings.from_config(cfg)
        return cls(
            url=cfg.get('m3u', 'url') or None,
            url_source=cfg.where('m3u', 'url'),
            file_path_source=cfg.where('m3u', 'file_path'),
            max_size_source=cfg.where('m3u', 'max_file_size_mb'),
            file_path=cfg.getpath('m3u', 'file_path'),
            archive_dir=cfg.getpath('m3u', 'archive_dir'),
            retention_count=cfg.getnumber('m3u', 'retention_count'),
            max_file_size=int(cfg.getnumber('m3u', 'max_file_size_mb') * MiB),
            connect_timeout=downloads.connect_timeout, read_timeout=downloads.read_timeout,
            retry_attempts=downloads.retry_attempts, backoff_base=downloads.backoff_base,
            backoff_max=downloads.backoff_max, user_agent=downloads.user_agent)


@dataclasses.dataclass
class FetchResult:
    path: str
    size: int
    elapsed: float
    archived: str | None = None
    removed_archives: list = dataclasses.field(default_factory=list)


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (so parallel clients do not retry in step);
    a server's Retry-After wins, up to the cap."""
    if retry_after is not None:
        return min(retry_after, cap)
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


class PlaylistFetcher:
    """Downloads the provider's playlist and replaces the local copy atomically."""

    def __init__(self, settings: PlaylistSettings, session: requests.Session | None = None):
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers['User-Agent'] = settings.user_agent
        # Stored as sent, and its length checked against Content-Length.
        self.session.headers['Accept-Encoding'] = 'identity'
        self.sleep = time.sleep

    def fetch(self, url: str | None = None, archive: bool = True) -> FetchResult:
        s = self.settings
        # An empty --url is the value in force, refused as empty (http_url_error),
        # as an empty --db is: falling through to [m3u] url fetched another playlist.
        where = '--url' if url is not None else s.url_source
        url = s.url if url is None else url
        if where != '--url' and not url:
            raise ConfigError('no playlist URL: set [m3u] url (or STALKEER_M3U_URL), or pass --url')
        # The space rule of the URL keys: a space in --url was sent as %20 and came
        # back as HTTP 404 (trial-18a F7; 'URL ; comment' pasted from an ini file).
        error = http_url_error(where, url, space_problem(url), argument=where == '--url')
        if error:
            raise ConfigError(error)
        register_url_secrets(url)
        target = self._target()
        folder = os.path.dirname(target) or '.'
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise PlaylistError(f'cannot create {folder}: {exc.strerror}') from None
        tmp = f'{target}.stalkeer-download'
        started = time.monotonic()
        try:
            for attempt in range(1, s.retry_attempts + 1):
                try:
                    size = self._download_to(url, tmp)
                    break
                except RetryableDownloadError as exc:
                    if attempt >= s.retry_attempts:
                        raise PlaylistError(f'playlist download failed: {exc}{_KEPT}') from None
                    delay = backoff_delay(attempt, s.backoff_base, s.backoff_max, exc.retry_after)
                    log.warning('playlist download: %s; retrying in %.1fs', exc, delay)
                    self.sleep(delay)
                except DownloadError as exc:
                    raise PlaylistError(f'playlist download failed: {exc}{_KEPT}') from None
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise PlaylistError(f'cannot replace the playlist {target}: {exc.strerror}{_KEPT}') from None
            fsync_directory(folder)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        result = FetchResult(s.file_path, size, time.monotonic() - started)
        if archive and s.archive_dir:
            result.archived, result.removed_archives = self._archive()
        # The command prints "playlist saved"; this detail is for -v.
        log.debug('playlist saved to %s (%s) from %s', s.file_path, human_bytes(size), url)
        return result

    def _target(self) -> str:
        """The file the download replaces: ``file_path``, or, when that is a
        symbolic link (a playlist kept on another disk, linked to where the
        config points), the regular file it leads to, so that the link stays
        (renaming over it turned it into a file of its own: trial-18a F10).
        The playlist is the user's own file at a path they chose, not the
        library (where no link is followed). PlaylistError, before anything is
        downloaded, for anything but a regular file, a link to one, or nothing
        yet (file_setting_problem, role 'write', as Config.getpath judged it at
        start: a named pipe there was replaced by the download, a folder was a
        traceback after it, trial-18a F5)."""
        path = self.settings.file_path
        problem = file_setting_problem(self.settings.file_path_source, path, 'write')
        if problem:
            raise PlaylistError(problem)
        return os.path.realpath(path) if os.path.islink(path) else path

    def _download_to(self, url: str, tmp: str) -> int:
        s = self.settings
        try:
            response = self.session.get(url, stream=True, timeout=(s.connect_timeout, s.read_timeout))
        except requests.exceptions.Timeout:
            raise RetryableDownloadError('timed out') from None
        except requests.exceptions.ConnectionError as exc:
            raise RetryableDownloadError(f'cannot reach the provider: {_connection_reason(exc)}') from None
        except requests.exceptions.RequestException as exc:
            raise DownloadError(first_line(exc)) from None
        with response:
            code = response.status_code
            if code in (408, 429, 551) or code >= 500:
                raise RetryableDownloadError(f'HTTP {code}', parse_retry_after(
                    response.headers.get('Retry-After')))
            if code != 200:
                hint = ' (wrong username/password or expired subscription?)' if code in (401, 403) else ''
                raise DownloadError(f'HTTP {code} {response.reason or ""}'.strip() + hint)
            encoding = response.headers.get('Content-Encoding') or ''
            if any(c.strip().lower() not in ('', 'identity') for c in encoding.split(',')):
                # Asked for as is (Accept-Encoding: identity), as the downloader
                # does: decoded by requests, the body was checked against the
                # encoded Content-Length ("got 12196 of 1980 bytes", trial-18a F8).
                raise DownloadError(f'the server sent the playlist encoded (Content-Encoding: '
                                    f'{clip(encoding, 40)}) although stalkeer asks for it as is '
                                    '(Accept-Encoding: identity)')
            length = response.headers.get('Content-Length')
            if length and length.isdigit() and int(length) > s.max_file_size:
                raise DownloadError(f'the playlist is {human_bytes(int(length))}, over '
                                    f'{s.max_size_source} ({human_bytes(s.max_file_size)})')
            size = 0
            head = b''
            try:
                with open(tmp, 'wb', opener=private_opener) as fh:
                    for chunk in response.iter_content(CHUNK_SIZE):
                        if len(head) < _SNIFF_BYTES:
                            head += chunk[:_SNIFF_BYTES - len(head)]
                            # Binary data is refused as soon as its first block is in
                            # (process's first check, playlist_refusal), not downloaded whole.
                            if len(head) >= _SNIFF_BYTES and not_text(head):
                                raise DownloadError(_not_m3u_message(head, 'not text', ''))
                        size += len(chunk)
                        if size > s.max_file_size:
                            raise DownloadError(f'the playlist is larger than {s.max_size_source} '
                                                f'({human_bytes(s.max_file_size)})')
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
            except requests.exceptions.RequestException as exc:
                raise RetryableDownloadError(f'connection broken: {_connection_reason(exc)}') from None
            except OSError as exc:
                raise DownloadError(f'cannot write {tmp}: {exc.strerror}') from None
            if length and length.isdigit() and size != int(length):
                raise RetryableDownloadError(f'got {size} of {length} bytes')
            # What process would refuse (an HTML page, binary data, #EXTM3U alone,
            # #EXTINF lines without their URL) must not replace a good playlist:
            # judged by process's own rules, on the file as saved.
            refusal = playlist_refusal(head, tmp)
            if refusal is not None:
                raise DownloadError(_not_m3u_message(head, refusal[0], refusal[1]))
            return size

    def _archive(self):
        s = self.settings
        stem, suffix = os.path.splitext(os.path.basename(s.file_path))
        stamp = utcnow().strftime('%Y%m%dT%H%M%SZ')
        try:
            os.makedirs(s.archive_dir, exist_ok=True)
            target = os.path.join(s.archive_dir, f'{stem}-{stamp}{suffix or ".m3u"}')
            n = 1
            while os.path.exists(target):
                n += 1
                target = os.path.join(s.archive_dir, f'{stem}-{stamp}-{n}{suffix or ".m3u"}')
            with open(s.file_path, 'rb') as src, open(target, 'xb', opener=private_opener) as dst:
                shutil.copyfileobj(src, dst)
        except OSError as exc:
            # The new playlist is in place; a failed archive copy is not worth failing for.
            log.warning('could not archive the playlist in %s: %s', s.archive_dir, exc.strerror)
            return None, []
        return target, rotate_archives(s.archive_dir, s.file_path, s.retention_count)


# How every refusal of a downloaded playlist ends (the HTTP 500 one did not: trial-18a F8).
_KEPT = '; the current playlist was kept'


def _not_m3u_message(head: bytes, kind: str, why: str) -> str:
    """What m3u-download says of an answer playlist_refusal() refused (kind,
    why): process's reason, with what the answer is when that is plain (the
    login page or JSON error of an expired account). Without process's
    advice to the user of a file ("unpack it first", "save it as UTF-8"): the
    answer is the provider's."""
    if kind == 'not text':
        return f'the provider sent no text playlist ({not_text(head, advice=False) or why})'
    sample = head.lstrip(codecs.BOM_UTF8).lstrip()[:200].decode('utf-8', 'replace').lower()
    if '<html' in sample or '<!doctype' in sample:
        return f'the provider sent an HTML page, not an M3U playlist ({why})'
    if sample.startswith(('{', '[')):
        return f'the provider sent JSON, not an M3U playlist ({why})'
    return f'the provider sent no playlist entries ({why})'


def list_archives(archive_dir: str | None, file_path: str) -> list[tuple[str, int, float]]:
    """(path, size, mtime) of the archived playlists, newest first."""
    if not archive_dir or not os.path.isdir(archive_dir):
        return []
    stem, suffix = os.path.splitext(os.path.basename(file_path))
    pattern = re.compile(r'%s-\d{8}T\d{6}Z(?:-\d+)?%s\Z' % (re.escape(stem), re.escape(suffix or '.m3u')))
    found = []
    for name in os.listdir(archive_dir):
        if pattern.match(name):
            path = os.path.join(archive_dir, name)
            st = os.stat(path)
            found.append((path, st.st_size, st.st_mtime))
    # The timestamp in the name sorts correctly; mtime can be touched by backups.
    return sorted(found, key=lambda item: os.path.basename(item[0]), reverse=True)


def rotate_archives(archive_dir: str | None, file_path: str, keep: int) -> list[str]:
    """Delete all but the ``keep`` newest archived playlists; returns what was removed."""
    removed = []
    for path, _size, _mtime in list_archives(archive_dir, file_path)[keep:]:
        try:
            os.unlink(path)
            removed.append(path)
        except OSError as exc:
            log.warning('could not remove %s: %s', path, exc.strerror)
    return removed


# -- parsing and classifying (generated from the playlist section) --------------

# ---------------------------------------------------------------------------
# Streaming M3U parser
# ---------------------------------------------------------------------------

_M3U_MAX_LINE = 64 * 1024        # longer lines are malformed: never regex a 10 MB line
_M3U_PROGRESS_STEP = 1 << 20     # on_progress roughly every MiB
_M3U_MAX_SAMPLES = 10            # malformed examples kept for the summary
_TITLE_MAX_LEN = 512             # parse_title only looks at this much of a title


@dataclasses.dataclass(slots=True)
class ParseStats:
    lines_read: int = 0
    entries: int = 0
    malformed: int = 0
    encoding_fallbacks: int = 0  # lines that were not valid UTF-8, read as cp1252 instead
    decode_errors: int = 0      # lines with bytes neither UTF-8 nor cp1252 ('\ufffd' in their place)
    entities_decoded: int = 0   # EXTINF lines whose title or attributes held HTML entities
    header_missing: bool = False
    bytes_read: int = 0
    # The first _M3U_MAX_SAMPLES malformed lines, each {"line", "reason",
    # "related_line"} (malformed_sample(); malformed_text() gives its words).
    malformed_samples: list[dict] = dataclasses.field(default_factory=list)

    def uncount(self, entry: 'PlaylistEntry') -> None:
        """--limit stopped at ``entry`` (read, never considered): the counts are
        those of the lines before it (trial-15 F5: `--limit 10` said 11
        entries). Call once iter_playlist() is closed."""
        self.entries -= 1
        self.lines_read = min(self.lines_read, entry.line_no - 1)

    def add_malformed(self, line_no: int, reason: str, related_line: int | None = None) -> None:
        """Count a malformed line. ``line_no`` is the line that is wrong, by one
        rule for every reason: the URL line for a URL's problem (and a stray
        line, an orphan URL, a line too long: the line itself), the #EXTINF
        for an EXTINF's (no URL after it). ``reason`` is a fixed phrase or
        url_problem's, never the line's text (it may hold the account);
        ``related_line`` the other line a reason of _MALFORMED_WORDING names."""
        self.malformed += 1
        # Every one at -v, not only the samples: that is how the summary's
        # "… and N more malformed lines" are seen.
        if len(self.malformed_samples) < _M3U_MAX_SAMPLES:
            sample = malformed_sample(line_no, reason, related_line)
            self.malformed_samples.append(sample)
        elif log.isEnabledFor(logging.DEBUG):
            sample = malformed_sample(line_no, reason, related_line)
        else:
            return
        log.debug('playlist %s', malformed_text(sample, 'line {line} malformed: '))


# The malformed reasons that speak of a second line (a sample's related_line):
# the JSON gives the fixed phrase (the key), the text and -v these words, with
# that line's number in them. Any other reason is the same in both.
_MALFORMED_WORDING = {
    # A stray line, between an EXTINF and the http(s) URL after it (_stray_line).
    'not a usable URL, between an #EXTINF and its URL: skipped':
        'not a usable URL, between the #EXTINF on line {related_line} and its URL: skipped',
    # An EXTINF whose next line is text, no URL at all (_link_problem).
    'EXTINF without URL (the line after it is not a URL)':
        'EXTINF without URL (line {related_line} after it is not a URL)',
}


def malformed_sample(line_no: int, reason: str, related_line: int | None = None) -> dict:
    """One entry of malformed_samples, as `process --json` gives it:
    ``{"line": 3, "reason": "URL without EXTINF", "related_line": null}``."""
    return {'line': line_no, 'reason': reason, 'related_line': related_line}


def malformed_text(sample, prefix: str = 'line {line}: ') -> str:
    """A malformed_samples entry in the words `process` prints (``line 3: URL
    without EXTINF``). An import recorded before the samples were values kept
    that text itself (a string): it is returned as it is."""
    if isinstance(sample, str):
        return sample
    wording = _MALFORMED_WORDING.get(sample['reason'])
    reason = wording.format(**sample) if wording else sample['reason']
    return prefix.format(**sample) + reason


def stored_malformed_sample(sample) -> dict:
    """A malformed_samples entry from playlist_imports.counts: an import before
    the samples were values stored ``line N: reason`` (its text), read back
    here into the value (a reason of _MALFORMED_WORDING to its fixed phrase)."""
    if not isinstance(sample, str):
        return sample
    line, _, reason = sample.partition(': ')
    related = None
    for fixed, wording in _MALFORMED_WORDING.items():
        head, _, tail = wording.partition('{related_line}')
        if reason.startswith(head) and reason.endswith(tail) and reason[len(head):len(reason) - len(tail)].isdigit():
            reason, related = fixed, int(reason[len(head):len(reason) - len(tail)])
            break
    number = line.removeprefix('line ')
    return malformed_sample(int(number) if number.isdigit() else None, reason, related)


@dataclasses.dataclass(slots=True)
class PlaylistEntry:
    line_no: int                # 1-based line number of the #EXTINF line
    duration: str               # raw duration text: '-1', '966', '' if absent
    attrs: dict[str, str]       # every attribute, names lower-cased
    display_title: str          # text after the first comma outside quotes, stripped
    url: str

    @property
    def tvg_id(self) -> str: return self.attrs.get('tvg-id') or ''
    @property
    def tvg_name(self) -> str: return self.attrs.get('tvg-name') or ''
    @property
    def tvg_logo(self) -> str: return self.attrs.get('tvg-logo') or ''
    @property
    def group_title(self) -> str: return self.attrs.get('group-title') or ''
    @property
    def tvg_type(self) -> str: return self.attrs.get('tvg-type') or ''


# '#EXTINF:-1 …', '#EXTINF:966 …', '#EXTINF:0.000,' (S48 uses 0); duration may be absent.
_DURATION_RE = _LazyPattern(r'[ \t]*([-+]?\d+(?:\.\d+)?)?')
# Attribute part = everything up to the first comma OUTSIDE quotes: STK group-titles
# ("Action,  Aventure") and a PDM tvg-logo (CR0,4,380,562) hold commas.  Quoted
# strings allow backslash escapes (tvg-name="… \"Breaking Bad\" (AUDIO)").  Single
# quotes only open a value right after '=' (so an apostrophe elsewhere is a plain
# char).  Possessive quantifiers (3.11) keep this linear: no backtracking at all.
# Only used when the cheap quote-counting path below cannot decide.
_HEAD_RE = _LazyPattern(r'''(?:[^,"']++|"[^"\\]*+(?:\\.[^"\\]*+)*+"|(?<==)'[^'\\]*+(?:\\.[^'\\]*+)*+'|')*+,''')
# key="v" | key='v' | key=v (unquoted, e.g. tvg-id=123); any attribute name.
_ATTR_RE = _LazyPattern(r'''([^\s=,"']+)[ \t]*=[ \t]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|'([^'\\]*(?:\\.[^'\\]*)*)'|([^\s"]*))''')
# Fast path: the usual line of only key="value" pairs (no escapes, no single quotes) is
# split in one possessive (non-backtracking) match; anything else takes the slow path.
_EXTINF_SIMPLE_RE = _LazyPattern(r'#EXTINF:[ \t]*([-+]?\d+(?:\.\d+)?)?((?:[ \t]+[^\s="]+="[^"]*")*+)[ \t]*,(.*)', re.S)
_UNESCAPE_RE = _LazyPattern(r'''\\(["'\\])''')
# Attributes some generators write after the title comma: '#EXTINF:-1 tvg-logo="x",
# group-title="Movies",Heat (1995)'. Only a leading run of name="value", pairs is taken,
# so a title holding '=' ('E=mc2 (2023)') stays whole.
_TITLE_ATTR_RE = _LazyPattern(r'[ \t]*([A-Za-z][\w.-]*)[ \t]*=[ \t]*"([^"]*)"[ \t]*,')


def _pull_title_attrs(title: str, attrs: dict[str, str]) -> str:
    """Move leading name="value", pairs from the title into attrs (those before the comma win)."""
    pos = 0
    m = _TITLE_ATTR_RE.match(title)
    while m is not None:
        attrs.setdefault(m[1].lower(), m[2])
        pos = m.end()
        m = _TITLE_ATTR_RE.match(title, pos)
    return title[pos:].strip() if pos else title


def _cp1252_fallback(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as cp1252 (Windows-1252,
    a superset of the printable Latin-1), so a playlist saved by a Windows tool keeps its
    accents ('Am\\xe9lie' -> 'Amélie') while valid UTF-8 sequences on the same line stay
    UTF-8. The five bytes cp1252 leaves undefined become U+FFFD."""
    return exc.object[exc.start:exc.end].decode('cp1252', 'replace'), exc.end


codecs.register_error('stalkeer.cp1252', _cp1252_fallback)


def _html_unescape(text: str) -> str:
    global _html_unescape
    from html import unescape   # imported on first use: most playlists hold no entities
    _html_unescape = unescape
    return unescape(text)


def _decode_entities(attrs: dict[str, str], title: str) -> tuple[str, bool]:
    """HTML entities in the title and attribute values ('Fast &amp; Furious',
    'Ocean&#039;s Eleven') decoded in place, by HTML5's rules (html.unescape: a bare
    '&' as in 'Fast & Furious' stays). Returns (title, whether anything changed)."""
    changed = False
    if '&' in title:
        new = _html_unescape(title)
        changed = new != title
        title = new
    for key, value in attrs.items():
        if '&' in value:
            new = _html_unescape(value)
            if new != value:
                attrs[key] = new
                changed = True
    return title, changed


class _UniversalLineReader:
    """readline(limit) over a binary stream that ends a line at LF, CRLF or a lone CR.

    Old Mac tools write CR-only files, and concatenated playlists mix all three;
    buffered readline() only knows LF. Used only once a lone CR is seen, so the
    usual LF/CRLF file keeps the C readline. Lines keep their terminator and their
    bytes, so byte counts stay exact."""
    __slots__ = ('_readline', '_buf', '_pos', '_eof', '_cr', '_lf', '_empty')

    def __init__(self, readline, pending):
        self._readline = readline
        self._buf = pending
        self._pos = 0
        self._eof = False
        if isinstance(pending, bytes):
            self._cr, self._lf, self._empty = b'\r', b'\n', b''
        else:
            self._cr, self._lf, self._empty = '\r', '\n', ''

    def readline(self, limit: int):
        cr, lf = self._cr, self._lf
        buf, pos = self._buf, self._pos
        while True:
            i = buf.find(cr, pos)
            j = buf.find(lf, pos)
            end = -1
            if i >= 0 and (j < 0 or i < j):
                if i + 1 < len(buf) or self._eof:
                    end = i + 2 if buf[i + 1:i + 2] == lf else i + 1
            elif j >= 0:
                end = j + 1
            if end < 0 and len(buf) - pos > limit:
                end = pos + limit
            if end >= 0:
                end = min(end, pos + limit)
                self._pos = end
                return buf[pos:end]
            if self._eof:
                self._buf, self._pos = self._empty, 0
                return buf[pos:]
            more = self._readline(65536)
            if not more:
                self._eof = True
            buf = buf[pos:] + more
            pos = 0
            self._buf, self._pos = buf, 0


def _parse_extinf(line: str) -> tuple[str, dict[str, str], str]:
    """'#EXTINF:<duration> k="v" …,<title>' -> (duration, attrs, display_title)."""
    m = _EXTINF_SIMPLE_RE.match(line)
    if m is not None:              # head is exactly ' k1="v1" k2="v2"…': split on quotes
        parts = m[2].split('"')
        keys = ''.join(parts[0::2]).replace('=', ' ').lower().split()
        return m[1] or '', dict(zip(keys, parts[1::2])), m[3].strip()
    m = _DURATION_RE.match(line, 8)
    duration = m.group(1) or ''
    rest = line[m.end():]
    i = rest.find(',')
    if i < 0:
        head, title = rest, ''
    elif '"' not in rest[:i] and "'" not in rest[:i]:
        head, title = rest[:i], rest[i + 1:]          # '#EXTINF:-1,Title' / tvg-id=123,Title
    elif '\\' not in rest and "='" not in rest and "= '" not in rest:
        while i >= 0 and rest.count('"', 0, i) & 1:   # comma inside a quoted value
            i = rest.find(',', i + 1)
        if i < 0:                                     # unbalanced quote: first comma
            i = rest.find(',')
        head, title = rest[:i], rest[i + 1:]
    else:                                             # escapes or single quotes
        h = _HEAD_RE.match(rest)
        if h:
            head, title = rest[:h.end() - 1], rest[h.end():]
        else:
            head, title = rest[:i], rest[i + 1:]
    attrs: dict[str, str] = {}
    if '=' in head:
        for am in _ATTR_RE.finditer(head):
            v = am.group(am.lastindex)
            if '\\' in v:
                v = _UNESCAPE_RE.sub(r'\1', v)
            attrs[am.group(1).lower()] = v
    return duration, attrs, title.strip()


# What the first block of a playlist file is read for (not_text): one read, the
# parser's speed untouched; a file that turns to garbage further on has its
# lines counted malformed as before.
_SNIFF_BYTES = 64 * 1024
# C0 controls but tab, LF, VT, FF and CR, and DEL: no text playlist holds them
# (a stray one in a title is not 5% of a block); random or compressed bytes
# are ~11% of them.
_CONTROL_BYTES = bytes(range(0, 9)) + bytes(range(14, 32)) + b'\x7f'
_CONTROL_SHARE = 0.05
# What a playlist is sometimes packed in (stalkeer reads none of them).
_PACKED_MAGIC = ((b'\x1f\x8b', 'gzip'), (b'PK\x03\x04', 'zip'), (b'\xfd7zXZ\x00', 'xz'),
                 (tuple(b'BZh%d' % n for n in range(1, 10)), 'bzip2'),
                 (b'\x28\xb5\x2f\xfd', 'zstd'), (b"7z\xbc\xaf'\x1c", '7z'))


# The byte order marks a playlist file may start with, longest first (UTF-32
# LE's starts with UTF-16 LE's: a UTF-32 file was read as UTF-16, the
# newcomer trial): (mark, its name, the codec that reads the text after it). A
# UTF-8 mark is dropped and the bytes after it are read as any file's;
# UTF-16 (Windows Notepad's "Unicode") and UTF-32 text is decoded
# (bom_as_text). Every one of them is checked like a file without a mark: the
# text after it must be text (not_text).
_BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, 'UTF-32', 'utf-32-le'), (codecs.BOM_UTF32_BE, 'UTF-32', 'utf-32-be'),
                     (codecs.BOM_UTF8, 'UTF-8', 'utf-8'),
                     (codecs.BOM_UTF16_LE, 'UTF-16', 'utf-16-le'), (codecs.BOM_UTF16_BE, 'UTF-16', 'utf-16-be'))


_NOT_TEXT_CATEGORIES = frozenset(('Cc', 'Cs', 'Co', 'Cn'))


def byte_order_mark(head: bytes) -> tuple[bytes, str, str] | None:
    """(mark, name, codec) of the byte order mark ``head`` starts with, or None."""
    return next((bom for bom in _BYTE_ORDER_MARKS if head.startswith(bom[0])), None)


def not_text(head: bytes, advice: bool = True) -> str | None:
    """Why ``head``, the first bytes of a file, is no text playlist (a few words
    for "… is not a text playlist (WHY)"), or None when it may be one. Read as
    lines, random bytes were "URL without EXTINF" a thousand times over
    (trial-17a F5). After a byte order mark (_BYTE_ORDER_MARKS) it is the text
    the mark announces that is judged: a mark followed by NULs or random bytes
    disabled the check (a BOM and 40k NULs were read, exit 0)."""
    bom = byte_order_mark(head)
    if bom is not None:
        mark, name, codec = bom
        rest = head[len(mark):]
        if codec == 'utf-8':
            return _not_text_bytes(rest, after=' after a UTF-8 byte order mark', advice=advice)
        unit = 2 if name == 'UTF-16' else 4
        text = rest[:len(rest) - len(rest) % unit].decode(codec, 'replace')
        # Controls, and what random bytes decode to: surrogates, private use,
        # unassigned (~15% of random UTF-16; most of random UTF-32 is no
        # character at all, U+FFFD). Not format characters or odd spaces (an
        # Arabic title's right-to-left marks, NBSP).
        bad = sum(1 for c in text if c == '\ufffd' or c not in '\t\n\r\x0b\x0c'
                  and unicodedata.category(c) in _NOT_TEXT_CATEGORIES)
        if text and bad > len(text) * _CONTROL_SHARE:
            return (f'binary data after a {name} byte order mark: {bad * 100 // len(text)}% of its first '
                    f'{len(text):,} characters are control characters or no {name} text')
        return None
    return _not_text_bytes(head, advice=advice)


def _not_text_bytes(head: bytes, after: str = '', advice: bool = True) -> str | None:
    """not_text() of bytes that start with no byte order mark; ``after`` says
    what came before them (' after a UTF-8 byte order mark'), put in each
    reason where it reads right; ``advice`` False leaves out what to do with
    the file (a provider's answer is not the user's to unpack or save)."""
    if not head:
        return None
    for magic, name in _PACKED_MAGIC:
        if head.startswith(magic):
            todo = ': unpack it first' if advice else ''
            return f'{name}-compressed data{after}{todo}' if name != 'zip' else f'a zip archive{after}{todo}'
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls <= len(head) * _CONTROL_SHARE:
        return None
    # ASCII written as UTF-32 without its BOM: three NULs in every four bytes
    # (was "binary data: 75% … control characters", trial-18a F8).
    quarter = len(head) // 4
    if quarter:
        columns = sorted(head[i::4][:quarter].count(0) for i in range(4))
        if columns[1] > quarter * 0.9 and columns[0] < quarter * 0.1:
            return f'UTF-32{after or " without a byte order mark"}' + (': save it as UTF-8' if advice else '')
    # ASCII written as UTF-16 without its BOM: a NUL every other byte.
    nuls = sorted((head[0::2].count(0), head[1::2].count(0)))
    half = len(head) // 2
    if half and nuls[1] > half * 0.9 and nuls[0] < half * 0.1:
        return f'UTF-16{after or " without a byte order mark"}' + (': save it as UTF-8' if advice else '')
    return (f'binary data{after}: {controls * 100 // len(head)}% of its first {len(head):,} bytes '
            'are control characters')


def no_entries_reason(head: bytes, size: int, summary) -> str:
    """Why a read of a playlist file found no entry, for "no playlist entries
    in PATH: WHY": ``head`` its first bytes (read_head), ``size`` its size in
    bytes, ``summary`` what the read counted (IngestSummary or ParseStats)."""
    if size == 0:
        return 'the file is empty (0 bytes)'
    if summary.malformed:
        samples = summary.malformed_samples
        return (f'{summary.malformed} malformed line{"s" if summary.malformed != 1 else ""} and not one '
                'entry (an #EXTINF line, then its http(s) URL)'
                + (f' ({malformed_text(samples[0])}{", …" if summary.malformed > 1 else ""})'
                   if samples else ''))
    bom = byte_order_mark(head)
    rest = head[len(bom[0]):] if bom else head
    if size <= len(head) and not (rest.decode(bom[2], 'replace') if bom else rest).strip():
        return f'it holds only a {bom[1]} byte order mark' if bom and not rest else \
            'it holds only blank lines'
    if not summary.header_missing:
        return 'it holds the #EXTM3U header but no #EXTINF entry'
    return 'it holds no #EXTINF line, so it is not an M3U playlist'


def playlist_refusal(head: bytes, path: str, *, whole: bool = True) -> tuple[str, str, ParseStats] | None:
    """Why `process` refuses the playlist file at ``path`` before storing
    anything, or None when it may hold an entry: the one judgement `process`
    and `m3u-download` share (m3u-download refused UTF-16 files process reads,
    and saved over a good playlist one with #EXTINF lines but no entry that
    process then refused: trial-18a F2, F6). ``head`` is the file's first
    _SNIFF_BYTES (read_head). Returns (kind, why, stats): kind 'not text'
    ("is not a text playlist (WHY)", not_text) or 'no entries' ("no playlist
    entries: WHY", no_entries_reason: not one #EXTINF line followed by its
    http(s) URL); stats what the read counted. ``whole`` False judges only
    what the head settles (process: a larger file, or one with an #EXTINF,
    is left to the import's own read, which finds the same); True reads the
    file up to its first entry (all of it when there is none)."""
    why = not_text(head)
    if why:
        return 'not text', why, ParseStats()
    small = len(head) < _SNIFF_BYTES
    if not whole and not (small and not _has_extinf(head)):
        return None
    stats = ParseStats()
    try:
        with (io.BytesIO(head) if small else open(path, 'rb')) as raw:
            size = len(head) if small else os.fstat(raw.fileno()).st_size
            entries = iter_playlist(bom_as_text(io.BufferedReader(raw), path), stats)
            found = next(entries, None) is not None
            entries.close()
    except OSError as exc:
        raise PlaylistError(f'cannot read playlist {path}: {exc.strerror}') from None
    if found:
        return None
    return 'no entries', no_entries_reason(head, size, stats), stats


def _has_extinf(head: bytes) -> bool:
    """Whether ``head`` (read_head) holds '#EXTINF' in any case, in the
    encoding its byte order mark names."""
    bom = byte_order_mark(head)
    if bom is not None and bom[1] != 'UTF-8':
        return '#EXTINF' in head[len(bom[0]):].decode(bom[2], 'replace').upper()
    return b'#EXTINF' in head.upper()


def read_head(path: str) -> bytes:
    """The first _SNIFF_BYTES of a playlist file (PlaylistError when it cannot be read)."""
    try:
        with open(path, 'rb') as fh:
            return fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise PlaylistError(f'cannot read playlist {path}: {exc.strerror}') from None


class PlaylistFile(io.RawIOBase):
    """The playlist file as `process` reads it: opened once, so that its SHA-256
    up front (sha256(): the re-run skip, ImportPointer) and the lines are of
    the same file (a file m3u-download replaces by rename meanwhile is read
    whole as it was), and hashing the bytes the reader actually reads
    (read_digest()).

    Another program writing the file in place (curl -o, wget -O: truncate,
    then write as the bytes arrive) while it is read gave the reader a torn
    mix of old and new bytes, or a cut file, and the import was recorded as a
    complete read of the digest taken up front (trial-17a F1): every line it
    did not see was marked gone, and every later run skipped the "unchanged"
    file. So each raw read is followed by an fstat: once the size or mtime
    differ from those at open, PlaylistChanged is raised before the reader
    sees a byte of that read, so every line parsed came from bytes read
    before the change (no line cut or joined at the change is stored). A
    filesystem can miss that (coarse times, a network share's cached
    attributes, a write through mmap): the digest of the bytes read, compared
    with the one up front, is what decides that a read was of the whole
    file (PlaylistIngest.run).

    The reader is a BufferedReader of BUFFER bytes: ~55 raw reads (and fstats,
    and Python calls of readinto) for 55 MB, where open()'s buffer of the
    filesystem's block size (4 KiB) made ~13,000; parsing takes as long either
    way (measured on 200k entries)."""

    BUFFER = 1 << 20

    def __init__(self, path: str):
        super().__init__()
        self.path, self._file = path, None
        try:
            self._file = io.FileIO(path, 'r')
            st = os.fstat(self._file.fileno())
        except OSError as exc:
            self.close()
            raise PlaylistError(f'cannot read playlist {path}: {exc.strerror}') from None
        self.size = st.st_size
        self._state = (st.st_size, st.st_mtime_ns)
        self._read_hash = hashlib.sha256()
        self.changed = False          # a read saw the file changed (sticky: every later read raises)
        self.digest = None            # sha256(): of the whole file, read apart from the reader

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._file.fileno()

    def readinto(self, buffer) -> int:
        if self.changed:
            raise PlaylistChanged(self.path)
        n = self._file.readinto(buffer)
        st = os.fstat(self._file.fileno())
        if (st.st_size, st.st_mtime_ns) != self._state:
            self.changed = True
            raise PlaylistChanged(self.path)
        if n:
            self._read_hash.update(buffer[:n])
        return n

    def close(self) -> None:
        if self._file is not None and not self.closed:
            self._file.close()
        super().close()

    def head(self) -> bytes:
        """The first _SNIFF_BYTES of the file opened (as read_head, without
        moving the reader): what `process` judges it by."""
        try:
            return os.pread(self._file.fileno(), _SNIFF_BYTES, 0)
        except OSError as exc:
            raise PlaylistError(f'cannot read playlist {self.path}: {exc.strerror}') from None

    def sha256(self) -> str:
        """SHA-256 of the whole file, hex, read in BUFFER blocks before the
        reader's first read (it starts from the start again; not readinto: these
        reads are not the reader's): what the re-run skip compares."""
        h = hashlib.sha256()
        try:
            self._file.seek(0)
            while block := self._file.read(self.BUFFER):
                h.update(block)
            self._file.seek(0)
        except OSError as exc:
            raise PlaylistError(f'cannot read playlist {self.path}: {exc.strerror}') from None
        self.digest = h.hexdigest()
        return self.digest

    def read_digest(self) -> str:
        """SHA-256 of the bytes read through readinto so far (all of them, once
        the reader reached the end)."""
        return self._read_hash.hexdigest()

    def reader(self) -> io.BufferedReader:
        return io.BufferedReader(self, self.BUFFER)


def bom_as_text(fh, path: str):
    """``fh`` (a binary file), or a text reader of it when it starts with a
    UTF-16 or UTF-32 byte order mark (_BYTE_ORDER_MARKS; Windows Notepad's
    "Unicode" is UTF-16): iter_playlist reads text streams too. Read as UTF-8,
    such a file is a NUL every other byte (trial-1213 F12); a UTF-32 file was
    read as UTF-16 (its mark starts with UTF-16's). A UTF-8 mark is left to
    iter_playlist, which drops it."""
    try:
        bom = byte_order_mark(fh.peek(4)[:4])
    except (AttributeError, OSError):
        return fh
    if bom is None or bom[1] == 'UTF-8':
        return fh
    # 'utf-16'/'utf-32' read the mark, take the byte order from it and drop it.
    return io.TextIOWrapper(fh, encoding=bom[1].lower(), errors='replace', newline='')


def iter_playlist(stream: BinaryIO, stats: ParseStats,
                  on_progress: Callable[[int], None] | None = None) -> Iterator[PlaylistEntry]:
    """Yield PlaylistEntry objects from a binary M3U stream, reading line by line.

    Never raises on bad input: EXTINF without URL, URL without EXTINF, a line that
    is neither, a URL that cannot be requested (url_problem), over-long lines
    (> 64 KiB, drained in bounded chunks) are counted in `stats`, which is complete once the iterator is exhausted
    or closed. Lines end at LF, CRLF or a lone CR (old Mac files, mixed files). Each
    line is UTF-8 where it can be, and cp1252 where it is not (counted:
    encoding_fallbacks); HTML entities in the title and attributes are decoded
    (counted: entities_decoded); name="value", pairs written after the title comma
    are attributes. `on_progress(bytes_read)` is called about every MiB and at the end.
    """
    readline, max_line, parse_extinf, Entry = stream.readline, _M3U_MAX_LINE, _parse_extinf, PlaylistEntry
    universal = False              # switched to _UniversalLineReader (a lone CR was seen)
    p_line = 0                     # line number of the pending EXTINF (0: none pending)
    p_dur = p_title = ''
    # A line after the pending EXTINF that is no usable URL (held_problem: why):
    # its link, unless an http(s) URL follows before the next EXTINF; then it
    # was a stray line between the two, and the URL is the entry's.
    held_no, held_problem = 0, (0, '', None)      # add_malformed's arguments
    p_attrs: dict[str, str] = {}
    line_no = entries = 0
    nbytes = stats.bytes_read
    step = _M3U_PROGRESS_STEP if on_progress is not None else 1 << 62
    next_progress = nbytes + step
    try:
        while True:                # header: first non-blank line
            raw = readline(max_line + 1)
            if not raw:
                break
            line_no += 1
            nbytes += len(raw)
            if len(raw) > max_line or raw.strip():
                break
        # 13, not b'\r': `bytes in bytes` first tries the needle as an int and builds a
        # TypeError message before it searches (~2,000 instructions a line, callgrind).
        cr = 13 if isinstance(raw, bytes) else '\r'
        if cr in raw and raw.find(cr) != len(raw) - 2:
            nbytes -= len(raw)         # a lone CR: re-read this line the universal way
            readline = _UniversalLineReader(stream.readline, raw).readline
            universal = True
            raw = readline(max_line + 1)
            nbytes += len(raw)
        if not raw:
            stats.header_missing = True    # empty or blank-only file
        elif isinstance(raw, bytes):
            raw = raw.removeprefix(codecs.BOM_UTF8)
            if raw.startswith((b'#EXTM3U', b'#extm3u')):
                raw = b'\n'
        else:                      # tolerate a text stream
            raw = raw.lstrip('\ufeff')
            if raw.startswith(('#EXTM3U', '#extm3u')):
                raw = '\n'
        if raw.strip():
            stats.header_missing = True
        while raw:
            if nbytes >= next_progress:
                on_progress(nbytes)
                next_progress = nbytes + step
            if len(raw) > max_line:    # drain the rest of the line in bounded chunks
                while raw and raw[-1:] not in (b'\n', '\n', b'\r', '\r'):
                    raw = readline(max_line)
                    nbytes += len(raw)
                if held_no:            # the held line was its link after all
                    stats.add_malformed(*held_problem)
                    held_no = 0
                stats.add_malformed(line_no, f'line longer than {max_line} bytes')
                p_line = 0             # its entry is lost with the line; counted once
            else:
                try:
                    line = raw.decode('utf-8').strip()
                except UnicodeDecodeError:
                    stats.encoding_fallbacks += 1
                    line = raw.decode('utf-8', 'stalkeer.cp1252').strip()
                    if '\ufffd' in line:
                        stats.decode_errors += 1
                except AttributeError:  # str line from a text stream
                    line = raw.strip()
                if not line:
                    pass
                elif line[0] == '#':
                    if line.startswith('#EXTINF:') or line[:8].upper() == '#EXTINF:':
                        if held_no:    # the held line was the pending EXTINF's link
                            stats.add_malformed(*held_problem)
                            held_no = 0
                        elif p_line:
                            stats.add_malformed(p_line, 'EXTINF without URL')
                        p_line = line_no
                        p_dur, p_attrs, p_title = parse_extinf(line)
                        if '="' in p_title:
                            p_title = _pull_title_attrs(p_title, p_attrs)
                        # An escaping generator ends each entity with ';' ('&amp;'): a line
                        # with a bare '&' ('Tom & Jerry', 5% of titles) is left alone.
                        if '&' in line and ';' in line:
                            p_title, changed = _decode_entities(p_attrs, p_title)
                            stats.entities_decoded += changed
                    elif p_line and line[:8].upper() == '#EXTGRP:':
                        # S48 '#EXTGRP:Movie VOD' repeats the group; used when group-title is absent
                        group = line[8:].strip()
                        if '&' in group and ';' in group and 'group-title' not in p_attrs:
                            group, changed = _decode_entities({}, group)
                            stats.entities_decoded += changed
                        p_attrs.setdefault('group-title', group)
                    # other directives (#EXTM3U again, #EXTVLCOPT, #KODIPROP, comments) skipped
                elif p_line:
                    problem = url_problem(line, written=False)
                    if problem:        # it would fail every download, and resume, later
                        if held_no:    # two in a row: the first was a stray line
                            _stray_line(stats, held_no, p_line)
                        held_no, held_problem = line_no, _link_problem(line, line_no, p_line, problem)
                    else:
                        if held_no:
                            _stray_line(stats, held_no, p_line)
                            held_no = 0
                        entries += 1
                        yield Entry(p_line, p_dur, p_attrs, p_title, line)
                        p_line = 0
                else:          # a line neither directive nor URL is no orphan URL (trial-17a F5)
                    stats.add_malformed(line_no, 'URL without EXTINF' if _looks_like_url(line)
                                        else 'not an M3U line (no EXTINF, not a URL)')
            raw = readline(max_line + 1)
            if raw:
                line_no += 1
                nbytes += len(raw)
                if cr in raw and not universal and raw.find(cr) != len(raw) - 2:
                    nbytes -= len(raw)     # a lone CR: from here on, the universal reader
                    readline = _UniversalLineReader(stream.readline, raw).readline
                    universal = True
                    raw = readline(max_line + 1)
                    nbytes += len(raw)
        if held_no:
            stats.add_malformed(*held_problem)
        elif p_line:
            stats.add_malformed(p_line, 'EXTINF without URL at end of file')
    finally:
        stats.lines_read += line_no
        stats.entries += entries
        stats.bytes_read = nbytes
    if on_progress is not None:
        on_progress(nbytes)


def _looks_like_url(line: str) -> bool:
    """Whether a playlist line that is no directive is written as a URL
    (``scheme://…``, a path from '/', ``javascript:…``), so that a malformed
    reason may call it one: ``some text`` pasted under an #EXTINF is no URL."""
    return '://' in line or line[0] == '/' or \
        line.partition(':')[0].lower() in _SCHEMES_WITHOUT_SLASHES


def _link_problem(line: str, line_no: int, extinf_line: int, problem: str) -> tuple[int, str, int | None]:
    """add_malformed's arguments for the #EXTINF on ``extinf_line`` whose next
    line (``line``, number ``line_no``) is its link that cannot be requested
    (url_problem's ``problem``): that problem, at the URL's line, when the line
    is written as a URL; else that the EXTINF has none, at the EXTINF's line
    (ParseStats.add_malformed's rule). "URL is not http/https" of a stray line
    of text told of a URL nobody wrote. Never the line's text (it may hold the
    account)."""
    if _looks_like_url(line):
        return line_no, problem, None
    return extinf_line, 'EXTINF without URL (the line after it is not a URL)', line_no


def _stray_line(stats: ParseStats, line_no: int, extinf_line: int) -> None:
    """Count line ``line_no``, no usable URL, found between the #EXTINF on
    ``extinf_line`` and the URL after it. A line that is no comment is an
    entry's URI in M3U (and HLS), so a reader takes the first one after an
    EXTINF; but stalkeer only takes http(s) links, and with an http(s) URL
    still to come before the next EXTINF, that one is the entry's link:
    taking the stray line lost the entry, and the real URL was "URL without
    EXTINF" (a newcomer trial). Counted malformed, shown at -v; never quoted
    (it may hold the account)."""
    stats.add_malformed(line_no, 'not a usable URL, between an #EXTINF and its URL: skipped', extinf_line)


def line_hash(tvg_name: str, url: str) -> str:
    """Stable 40-char hex id of a playlist line: sha1(tvg_name + '\\n' + url)."""
    return hashlib.sha1(f'{tvg_name}\n{url}'.encode('utf-8', 'replace')).hexdigest()


# ---------------------------------------------------------------------------
# Title parsing
# ---------------------------------------------------------------------------

# Language tags, normalised upper-case.  Codes are kept as written (country-style
# IPTV prefixes like UK/US become EN; VF/FRENCH become FR).  Special tags:
# MULTI (multi-audio, also DUAL), VOSTFR (kept as one tag), SUBT (any subtitle
# marker: SUBT, SUB, SUBS, VOST, ST).  '(AUDIO)' is dropped: it only says the
# prefix language is the audio track.
_LANG_ALIAS = {
    'FR': 'FR', 'FRA': 'FR', 'FRE': 'FR', 'FRENCH': 'FR', 'TRUEFRENCH': 'FR',
    'VF': 'FR', 'VFF': 'FR', 'VFQ': 'FR', 'VFI': 'FR',
    'EN': 'EN', 'ENG': 'EN', 'ENGLISH': 'EN', 'UK': 'EN', 'US': 'EN', 'GB': 'EN',
    'ES': 'ES', 'ESP': 'ES', 'SPA': 'ES', 'CAST': 'ES', 'LAT': 'LAT', 'LATINO': 'LAT',
    'DE': 'DE', 'GER': 'DE', 'DEU': 'DE', 'IT': 'IT', 'ITA': 'IT', 'PT': 'PT',
    'POR': 'PT', 'BR': 'BR', 'NL': 'NL', 'TR': 'TR', 'TUR': 'TR', 'AR': 'AR',
    'ARA': 'AR', 'RU': 'RU', 'PL': 'PL', 'RO': 'RO', 'GR': 'GR', 'EL': 'GR',
    'SE': 'SE', 'SV': 'SE', 'NO': 'NO', 'DK': 'DK', 'FI': 'FI', 'CZ': 'CZ',
    'SK': 'SK', 'HU': 'HU', 'HR': 'HR', 'RS': 'RS', 'BG': 'BG', 'UA': 'UA',
    'AL': 'AL', 'ALB': 'AL', 'KU': 'KU', 'KUR': 'KU', 'FA': 'FA', 'IR': 'FA',
    'IN': 'IN', 'HI': 'HI', 'PK': 'PK', 'JP': 'JP', 'KR': 'KR', 'CN': 'CN',
    'EXYU': 'EXYU', 'AF': 'AF', 'PH': 'PH', 'TH': 'TH', 'VN': 'VN',
}
# Case-insensitive long tags (STK '(FHD MULTI)', issue '(Multi)', SWT '[TR SUB]').
_SPECIAL_TAG = {'MULTI': 'MULTI', 'DUAL': 'MULTI', 'VOSTFR': 'VOSTFR', 'SUBT': 'SUBT',
                'SUB': 'SUBT', 'SUBS': 'SUBT', 'SUBBED': 'SUBT', 'VOST': 'SUBT', 'ST': 'SUBT'}
# Dropped in brackets / after the year, no information kept.
_NOISE_TAG = {'AUDIO', 'HDR', 'HDR10', 'DV', 'HEVC', 'H264', 'H265', 'X264', 'X265', '10BIT',
              'WEB', 'WEBRIP', 'WEB-DL', 'BLURAY', 'REMUX', '3D', 'VO', 'DUB', 'DUBBED', 'CAM'}
# Codes that are also English words / real title prefixes ('IT: Welcome to Derry'):
# never taken from an un-piped 'XX:' title prefix.
_AMBIGUOUS_PREFIX = {'IT', 'IN', 'NO', 'EL', 'ST'}

_RES_LABEL = {4: '2160p', 3: '1080p', 2: '720p', 1: '480p'}
_RES_WORD = {'4K': 4, '8K': 4, '4k': 4, '8k': 4, 'UHD': 4, 'FHD': 3, 'QHD': 3, 'HD': 2,
             'SD': 1, 'SDTV': 1}
# Quality as a separate token only: '4Kurd HD' (IORG) is not 4K, 'HDR' is not HD,
# 'x264'/'H.264' are not 264p.  Words upper-case only ('SD'/'HD'), 4k/720p any case.
_RES_RE = _LazyPattern(r'(?<![\w.])(?:(\d{3,4})[pPiI]|([48][kK]|UHD|FHD|QHD|HD|SDTV|SD))(?!\w)')

# '|FR| Title', '|FR| Blindspot S01 |FR| Blindspot 01x12 - Super soldat' (S48).
_PIPE_TAG_RE = _LazyPattern(r'\|\s*([^|\s]{1,10})\s*\|')
# 'HD : Cabal 2020', 'SD : The Voice S18E06' (S48).
_QUALITY_PREFIX_RE = _LazyPattern(r'(4K|UHD|FHD|HD|SD)\s*[:|]\s*|(4K|UHD|FHD|HD|SD) - ')
# 'FR: Title', 'FR - Title', 'FR | Title' — upper-case whitelisted codes only.
_LANG_PREFIX_RE = _LazyPattern(r'([A-Z]{2,4}|MULTI|VOSTFR)\s*[:|]\s*|([A-Z]{2,4}|MULTI|VOSTFR) - ')
# '(FHD MULTI)', '[4K HDR]', '(ES)', '(720p)', '[Not 24/7]', '(2024)'.
_BRACKET_RE = _LazyPattern(r'[(\[]([^()\[\]]{1,40})[)\]]')
_BRACKET_SPLIT_RE = _LazyPattern(r'[\s,/+]+')
_TITLE_STATUS_RE = _LazyPattern(r'(?i)not\s*24/7|geo[- ]?blocked')   # IORG status tags
_BRACKET_YEAR_RE = _LazyPattern(r'(?:19|20)\d\d')
_TITLE_DIGIT_RE = _LazyPattern(r'\d')
_RES_HINT_RE = _LazyPattern(r'\d[pPiIkK]')     # cheap pre-check before _RES_RE (years are common)

_SEASON_WORDS = r'(?:season|saison|staffel|temporada|sezon|stagione|seizoen|säsong|sæson|الموسم|موسم)'
_EPISODE_WORDS = (r'(?:episode|épisode|episodio|episódio|capitulo|capítulo|folge|bölüm|bolum|aflevering'
                  r'|odcinek|الحلقة|حلقة|ep)')
# Episode markers (leftmost wins; a left word boundary is checked in code, which keeps
# the regexes prefix-scannable and fast):
# 'S01E02', 'S01 E02' (STK's spaced form), 'S1E2', 'S01.E02', 'S01EP02', 'S01 EP02',
# 'S02 - E06', year-numbered seasons 'S2014E18'; multi-episode lines keep their last
# episode: 'S01E01-E02' / 'S01E01E02' (group 3), 'S01E01-S01E02' (4: season, 5), 'S01E01-02' (6).
_SXE_RE = _LazyPattern(r'[Ss](\d{1,4})[ ._]?-?[ ._]?[Ee][Pp]?(\d{1,4})(?!\d)'
                      r'(?:-?[Ee][Pp]?(\d{1,4})(?!\d)|-[Ss](\d{1,4})[Ee][Pp]?(\d{1,4})(?!\d)|-(\d{1,3})(?!\w))?')
# '1x02', '01x12', multi '1x01-02' / '1x01-1x02' (group 3); '1920x1080' never matches (left
# boundary). A one-digit episode ('1x2', 'Series 1x1') is a weak marker, and the aspect
# ratios of MOCK's movie 'Broadcast Relic 4x3' ('4x3', '16x9', '21x9') are none at all.
_NXN_RE = _LazyPattern(r'(\d{1,2})[xX](\d{1,3})(?!\w)(?:-(?:\d{1,2}[xX])?(\d{1,3})(?!\w))?')
_ASPECT_RATIOS = frozenset({('4', '3'), ('16', '9'), ('21', '9')})
# Word forms: 'Season 1 Episode 2', 'Saison 1 Episode 2', 'Staffel 1 Folge 2', 'Temporada
# 1 Episodio 2', 'Sezon 1 Bölüm 1' (SWIFT), Arabic 'الموسم ٥ الحلقة ١٢' (Arabic-Indic digits
# are \d and int() reads them), 'Season 2' alone; season-less 'Episode 3' / 'Bölüm 4' (MOCK
# 'Learning IPTV - Episode 1 - Pilot') — digits only, so 'Star Wars Episode IV' is no
# marker; and the short Arabic 'ج3 ح12' (juz' = part/season, halqa = episode; groups 4, 5).
# Applied to lower-cased text (re.I here is ~5x slower).
_WORD_MARKER_RE = _LazyPattern(
    rf'{_SEASON_WORDS}[ ._-]*(\d{{1,3}})(?:[\s,.:-]*{_EPISODE_WORDS}\.?[ ]*(\d{{1,4}}))?(?!\d)'
    rf'|{_EPISODE_WORDS}\.?[ ]*(\d{{1,4}})(?![\w.])'
    r'|ج ?(\d{1,3}) ?ح ?(\d{1,4})(?!\d)')
_WORD_MARKER_I_RE = _LazyPattern(_WORD_MARKER_RE.pattern, re.I)  # rare: lower() changed length
# Spanish releases number 'Cap.408' = season 4, episode 08 (and 'Cap.1012' = S10E12); it
# wins over a 'Temporada 2' written beside it ('Temporada 2 [Cap.408]'). Lower-cased text.
_CAP_RE = _LazyPattern(r'cap\.? ?(\d{3,4})(?!\d)')
# Air dates of daily shows, year first with one kind of separator: 'Show 2020 03 11',
# 'Show 2020-03-11', 'Show.2020.03.11' (checked to be a real date).
_AIR_DATE_RE = _LazyPattern(r'((?:19|20)\d\d)([ ._-])(\d\d)\2(\d\d)(?!\d)')
# Absolute numbering without a season ('One Piece - 1071', '… - 1071 - Title', '… - 1071 [x]'),
# read only where the line is known to be an episode: a film can be 'Title - 2'.
_ABSOLUTE_RE = _LazyPattern(r'\s[-–—]\s*(\d{1,4})(?=\s*$|\s+[-–—]|\s*[(\[])')
# Strong markers only (SxxEyy, NxNN, Season N), on lower-cased text: decides whether a
# title on a live-looking URL is an episode.
_STRONG_MARKER_RE = _LazyPattern(rf's\d{{1,4}}[ ._]?-?[ ._]?ep?\d{{1,4}}(?!\d)|\d{{1,2}}x\d{{2,3}}(?!\w)'
                                rf'|{_SEASON_WORDS}[ ._-]*\d|ج ?\d{{1,3}} ?ح ?\d')
# Strong markers that name an episode: they beat a /movie/ URL segment or tvg-type=movie
# ('The 100 S01E01' filed under /movie/ is an episode). Lower-cased text.
_STRONG_EPISODE_RE = _LazyPattern(
    rf's\d{{1,4}}[ ._]?-?[ ._]?ep?\d{{1,4}}(?!\d)|\d{{1,2}}x\d{{2,3}}(?!\w)|cap\.? ?\d{{3,4}}(?!\d)'
    rf'|{_SEASON_WORDS}[ ._-]*\d{{1,3}}[\s,.:-]*{_EPISODE_WORDS}\.?[ ]*\d|ج ?\d{{1,3}} ?ح ?\d')
# Cheap pre-check before _STRONG_EPISODE_RE (which tries many words at every position):
# every strong episode marker has a digit right after one of these letters ('S01E02',
# '1x02', 'Cap.408', 'Episodio 2', 'Bölüm 4', 'Aflevering 2', 'ح12', 'الحلقة ١٢').
_EPISODE_HINT_RE = _LazyPattern(r'[SsxXeEoOmMgGkKpPةح][ .]?\d')
# A trailing bare 'S01' (S48 folder-style prefix '|FR| Blindspot S01 |FR| …').
_SEASON_ONLY_RE = _LazyPattern(r'[Ss](\d{1,2})$')
# Years: '(2024)', '[2025]' (last one wins: 'Blade Runner 2049 (2017)'), 'Title - 2017',
# bare trailing 'Cabal 2020', 'R.I.P.D. 1999' (not after ':' — 'Space: 1999'), and a bare
# year followed only by tags ('Movie Name 2019 1080p', 'Le grand bleu 1988 VF').
_YEAR_PAREN_RE = _LazyPattern(r'[(\[]\s*((?:19|20)\d\d)\s*[)\]]')
_YEAR_DASH_RE = _LazyPattern(r'\s[-–—]\s*((?:19|20)\d\d)$')
_YEAR_BARE_RE = _LazyPattern(r'(?<=[^\s:#№–—-])\s+((?:19|20)\d\d)$')
_YEAR_MID_RE = _LazyPattern(r'(?<=[^\s:#№–—-])\s+((?:19|20)\d\d)(?=\s+\S)')
_BARE_YEAR_MAX = 2039        # 'Blade Runner 2049' keeps its number
_TITLE_EDGE = ' -–—:|,/'
_TAG_SPLIT_RE = _LazyPattern(r'[^\w-]+')
# Last-token tags stripped from a title end (upper-case only: 'Main St', 'Johnny English' stay).
_TRAIL_TAGS = frozenset(_RES_WORD) | {'MULTI', 'VOSTFR', 'VOST', 'SUBT', 'VF', 'VFF', 'VFQ',
                                      'TRUEFRENCH', 'HDR', 'DUAL'}
# Release-name words that may follow a bare year ('Movie.Name.2019.1080p.WEB-DL.x264-GRP'):
# only a tail made of these and tags makes '2019' a year rather than part of the title.
_RELEASE_WORDS = frozenset('WEB WEBRIP WEB-DL WEBDL HDTV PDTV BLURAY BLU-RAY BDRIP BRRIP DVDRIP DVD '
                           'HDRIP REMUX X264 X265 H264 H265 HEVC AVC XVID DIVX AAC AC3 EAC3 DTS DDP '
                           'DDP5 DD5 DD ATMOS TRUEHD 10BIT 8BIT HDR HDR10 DV SDR PROPER REPACK '
                           'INTERNAL LIMITED AMZN NF DSNP HMAX ATVP HULU'.split())
# Editions: dropped from title and match_key, stored in `edition`, kept in display_title.
# At the end of the title, in brackets or after the year ('Aliens Director's Cut (1986)',
# 'Aliens (1986) Extended', 'Blade Runner (Final Cut) (1982)', 'Title: Director's Cut');
# 'DC' only in capitals ('DC League of Super-Pets' has it at the start anyway).
_EDITION = (r"(?:(?i:director['’]?s|directors)[ .](?i:cut|edition)|DC"
            r"|(?i:extended|theatrical|unrated)(?:[ .](?i:cut|edition|version))?"
            r"|(?i:uncut|uncensored|remastered)"
            r"|(?i:special|ultimate|collector['’]?s|definitive|anniversary)[ .](?i:edition)"
            r"|(?:\d+(?i:th|st|nd|rd)[ .])(?i:anniversary)[ .](?i:edition)"
            r"|(?i:ultimate|final)[ .](?i:cut)|(?i:imax)(?:[ .](?i:edition))?"
            r"|(?i:criterion)(?:[ .](?i:collection|edition))?)")
_EDITION_END_RE = _LazyPattern(rf"(?:^|[\s(\[:,–—-]+)({_EDITION})[)\]]?$")
_EDITION_ANY_RE = _LazyPattern(rf"(?:^|(?<=[\s(\[:,–—-]))({_EDITION})(?=$|[\s)\]:,–—-])")
# Last words an edition can end with, and their last letters: the cheap pre-checks before
# _EDITION_END_RE (a title's last word is looked up only when its last letter is one of these).
_EDITION_LAST = frozenset("cut edition version extended theatrical unrated uncut uncensored "
                           "remastered dc imax criterion collection".split())
_EDITION_LAST_CHARS = frozenset('tndlcxTNDLCX)]')
# Country qualifiers after a title are part of its identity ('The Office (US)', 'Shameless
# (US)', 'Shark Tank (AU)' are other series than 'The Office'), unlike language tags
# ('(ES)', '|EN|', 'EN -'): only codes that are no language code are read as countries.
_COUNTRY_CODES = frozenset('US UK GB AU NZ CA IE ZA'.split())
_COUNTRY_RE = _LazyPattern(r'\((US|UK|GB|AU|NZ|CA|IE|ZA)\)')
# Dotted / underscored release names with no space: 'Series.Title.S01E02.1080p.WEB'.
_RELEASE_SEP_RE = _LazyPattern(r'[._]')
# A leading '[VIP]' / '[Group]' tag (not a quality or language tag, handled elsewhere).
_LEADING_GROUP_RE = _LazyPattern(r'\[([^\[\]]{1,40})\][\s._-]*')
_BRACKETED_RE = _LazyPattern(r'[(\[][^()\[\]]*[)\]]')


@dataclasses.dataclass(slots=True)
class ParsedTitle:
    title: str                          # clean title; for episodes the series title
    year: int | None = None
    season: int | None = None
    episode: int | None = None          # the (first) episode, as the line numbers it
    episode_title: str = ''
    resolution: str | None = None
    languages: list[str] = dataclasses.field(default_factory=list)
    marker: str | None = None           # 'strong' | 'weak' episode marker used, else None
    alt_title: str | None = None        # 'Death Race 2000' when a bare year was split off;
    #                                     'The Office' when a country qualifier was kept
    episode_end: int | None = None      # last episode of a multi-episode line ('S01E01-E03' -> 3)
    absolute_episode: int | None = None  # 'One Piece - 1071', 'Show - Episode 3', 'S01E1170'
    air_date: dt.date | None = None     # daily shows: 'Show 2020 03 11'
    edition: str | None = None          # "Director's Cut", 'Extended', 'Remastered'…
    country: str | None = None          # 'US' of 'The Office (US)'


# token -> (kind, value); exact (upper) case for language codes and quality words
# ('(It)' is no tag), upper-cased lookup for the long tags ('(Multi)', 'French').
_TAG_EXACT = {**{k: ('lang', v) for k, v in _LANG_ALIAS.items()},
              **{k: ('drop', None) for k in _NOISE_TAG},
              **{k: ('lang', v) for k, v in _SPECIAL_TAG.items()},
              **{k: ('res', v) for k, v in _RES_WORD.items()}}
_TAG_ANYCASE = {**{k: ('lang', v) for k, v in _LANG_ALIAS.items() if len(k) > 4},
                **{k: ('drop', None) for k in _NOISE_TAG},
                **{k: ('lang', v) for k, v in _SPECIAL_TAG.items()}}


def _res_num_rank(num: str) -> int:
    n = int(num)
    return 4 if n >= 1500 else 3 if n >= 900 else 2 if n >= 700 else 1 if n >= 240 else 0


def _tag_info(tok: str) -> tuple[str, str | int | None] | None:
    """Classify one token: ('res', rank) | ('lang', code) | ('drop', None) | None."""
    t = _TAG_EXACT.get(tok)
    if t is None:
        t = _TAG_ANYCASE.get(tok.upper())
        if t is None:
            if tok[-1:] in ('p', 'P', 'i', 'I') and 3 <= len(tok) - 1 <= 4 and tok[:-1].isdigit():
                return 'res', _res_num_rank(tok[:-1])       # '720p', '1080i', '404p'
    return t


def _strip_trailing_tags(s: str, langs: list[str]) -> str:
    """'Jurassic Park 3 - 4K' -> 'Jurassic Park 3'; 'UltraVision 4K' -> 'UltraVision'."""
    for _ in range(4):
        i = s.rfind(' ')
        if i < 0:
            break
        tok = s[i + 1:].strip(_TITLE_EDGE)
        if tok in _TRAIL_TAGS:
            t = _TAG_EXACT[tok]
        elif tok[-1:] in ('p', 'P', 'i', 'I') and tok[:-1].isdigit():
            t = _tag_info(tok)
            if t is None:
                break
        else:
            break
        if t[0] == 'lang':
            langs.append(t[1])
        s = s[:i].rstrip(_TITLE_EDGE)
    return s


def _scan_tags(s: str, langs: list[str]) -> None:
    """Collect language tags from text that is known to be tags ('SUBT AR' after the year)."""
    for tok in _TAG_SPLIT_RE.split(s):
        if tok:
            t = _tag_info(tok)
            if t is not None and t[0] == 'lang':
                langs.append(t[1])


def _split_year(s: str) -> tuple[str, int | None, str, str | None]:
    """(title, year, text after the year, alt_title) of a non-empty stripped title."""
    if s[-1:] == ')' and s[-6:-5] == '(' and s[-5:-3] in ('19', '20') and s[-3:-1].isdigit():
        before, after, year = s[:-6], '', int(s[-5:-1])       # usual 'Title (2019)'
    else:
        last = None
        if '(' in s or '[' in s:
            for last in _YEAR_PAREN_RE.finditer(s):
                pass
        if last is None:
            if s[-4:].isdigit():
                m = _YEAR_DASH_RE.search(s)
                if m and s[:m.start()].strip(_TITLE_EDGE):   # 'Super Dark Times - 2017'
                    return s[:m.start()], int(m[1]), '', None
                m = _YEAR_BARE_RE.search(s)                  # 'Cabal 2020'; '1883' alone never
                if m and int(m[1]) <= _BARE_YEAR_MAX:
                    return s[:m.start()], int(m[1]), '', s
            elif ' 19' in s or ' 20' in s:                   # 'Movie Name 2019 1080p'
                for m in reversed(list(_YEAR_MID_RE.finditer(s))):
                    if int(m[1]) <= _BARE_YEAR_MAX and _is_tag_tail(s[m.end():]):
                        return s[:m.start()], int(m[1]), s[m.end():].lstrip(), s[:m.end()]
            return s, None, '', None
        before, after, year = s[:last.start()], s[last.end():], int(last[1])
    before = before.strip(_TITLE_EDGE)
    if before:
        return before, year, after, None
    after = after.strip(_TITLE_EDGE)
    if after:                                                # '(2019) Title'
        return after, year, '', None
    return s.strip('()[] '), None, '', None                  # '(2012)' alone: the title is the number


def _is_tag_tail(tail: str) -> bool:
    """True when the text after a bare year holds only tags, release words, an edition
    and a release group ('1080p WEB-DL x264-GRP', 'VF', "Director's Cut"), so the number
    was a year; a word ('Wonder Woman 1984 Returns') keeps it in the title."""
    m = _EDITION_ANY_RE.search(tail)
    if m is not None:
        tail = f'{tail[:m.start()]} {tail[m.end():]}'
    for tok in _TAG_SPLIT_RE.split(tail):
        if not tok or (len(tok) == 1 and tok.isdigit()):       # '5.1' audio
            continue
        if _tag_info(tok) is not None or tok.upper() in _RELEASE_WORDS:
            continue
        head = tok.split('-', 1)[0]                             # 'x264-GRP': release group
        if head != tok and (_tag_info(head) is not None or head.upper() in _RELEASE_WORDS):
            continue
        return False
    return True


def _take_edition(s: str, anywhere: bool = False) -> tuple[str, str | None]:
    """(text without the edition, the edition as written) — at the end of a title, or
    anywhere in text that is known to be tags (what follows the year)."""
    m = (_EDITION_ANY_RE if anywhere else _EDITION_END_RE).search(s)
    if m is None:
        return s, None
    rest = f'{s[:m.start()]} {s[m.end():]}'.strip(_TITLE_EDGE + '([')
    if not anywhere and (not rest or rest.lower() in _KEY_ARTICLES):
        return s, None                          # 'Director's Cut' / 'The Final Cut' is the title
    if rest[-4:].lower() == ' the':             # 'Blade Runner The Final Cut': the edition's article
        rest = rest[:-4].rstrip(_TITLE_EDGE)
    return rest, m[1].replace('.', ' ')


_AFTER_YEAR_CACHE: dict[str, tuple[list[str], str | None]] = {}


def _tags_after_year(after: str) -> tuple[list[str], str | None]:
    """(languages, edition) of the text after a year ('SUBT AR', '(ES)', 'HD', 'Extended').
    Cached: the same few tails repeat all over a playlist."""
    info = _AFTER_YEAR_CACHE.get(after)
    if info is None:
        rest, edition = _take_edition(after, anywhere=True)
        langs: list[str] = []
        _scan_tags(rest, langs)
        info = (langs, edition)
        if len(_AFTER_YEAR_CACHE) > 10_000:
            _AFTER_YEAR_CACHE.clear()
        _AFTER_YEAR_CACHE[after] = info
    return info


def _undot(s: str) -> str:
    """'Series.Title.S01E02.1080p.WEB' -> 'Series Title S01E02 1080p WEB'; single letters
    stay an acronym ('S.W.A.T.S01E01' -> 'S.W.A.T. S01E01'); 'D.O.A.' is left alone."""
    parts = _RELEASE_SEP_RE.split(s)
    if len(parts) < 3 or all(len(p) <= 1 for p in parts):
        return s
    words, letters = [], []
    for p in parts:
        if len(p) == 1 and p.isalpha():
            letters.append(p)
            continue
        if letters:
            words.append('.'.join(letters) + '.' if len(letters) > 1 else letters[0])
            letters = []
        if p:
            words.append(p)
    if letters:
        words.append('.'.join(letters) + '.' if len(letters) > 1 else letters[0])
    return ' '.join(words)


def _drop_leading_groups(s: str) -> str:
    """'[VIP] Heat (1995)' -> 'Heat (1995)'. A tag bracket ('[4K] …', '[FR] …') is left to
    the tag parsing, and so is a bracket with no real title after it ('[REC] (2007)')."""
    for _ in range(2):
        m = _LEADING_GROUP_RE.match(s)
        if m is None or _bracket_tags(m[1]) is not None:
            break
        rest = s[m.end():]
        if not any(c.isalpha() for c in _BRACKETED_RE.sub('', rest)):
            break
        s = rest
    return s


_BRACKET_CACHE: dict[str, tuple[str, list[str]] | None] = {}
_BRACKET_MISS = object()


def _bracket_tags(content: str) -> tuple[str, list[str]] | None:
    """(replacement, languages) when a bracket holds only tags, else None. Cached:
    the same few contents ('FHD MULTI', '720p', 'Not 24/7') repeat all over a list."""
    if content in _BRACKET_CACHE:
        return _BRACKET_CACHE[content]
    info = None
    c = content.strip()
    if _TITLE_STATUS_RE.fullmatch(c):
        info = (' ', [])
    else:
        found, year = [], None
        for tok in _BRACKET_SPLIT_RE.split(c):
            if not tok:
                continue
            if _BRACKET_YEAR_RE.fullmatch(tok):
                year = tok
                continue
            t = _tag_info(tok)
            if t is None:
                break
            if t[0] == 'lang':
                found.append(t[1])
        else:
            if c != year:                  # a plain '(2024)' is left for the year step
                info = (f' ({year}) ' if year else ' ', found)
    if len(_BRACKET_CACHE) > 10_000:
        _BRACKET_CACHE.clear()
    _BRACKET_CACHE[content] = info
    return info


def _strip_brackets(s: str, langs: list[str]) -> str:
    """Remove bracket groups made only of tags; '(FHD 2019)' becomes '(2019)'."""
    out, pos = [], 0
    for m in _BRACKET_RE.finditer(s):
        info = _bracket_tags(m[1])
        if info is not None:               # real words such as '(Bretagne)' stay
            out.append(s[pos:m.start()])
            out.append(info[0])
            langs.extend(info[1])
            pos = m.end()
    if not out:
        return s
    out.append(s[pos:])
    return ' '.join(''.join(out).split())


def _peel_brackets(s: str, langs: list[str]) -> str:
    """Remove tag-only bracket groups from the end (cheap rfind path of _strip_brackets)."""
    while s[-1:] == ')' or s[-1:] == ']':
        i = max(s.rfind('('), s.rfind('['))
        content = s[i + 1:-1]
        if i < 0 or not 0 < len(content) <= 40 or ')' in content or ']' in content:
            break
        info = _BRACKET_CACHE.get(content, _BRACKET_MISS)
        if info is _BRACKET_MISS:
            info = _bracket_tags(content)
        if info is None:
            break
        langs[0:0] = info[1]               # keep left-to-right order
        head, rep = s[:i].rstrip(), info[0].strip()
        s = f'{head} {rep}' if head and rep else head or rep
    return s


def _strip_pipes(s: str, langs: list[str]) -> str:
    """'|FR| Title' -> 'Title'; a repeated '|FR| Show S01 |FR| Show 01x12' keeps the last segment."""
    if s[0] == '|' and s.count('|') == 2:          # the usual single '|FR| Title' prefix
        j = s.find('|', 1)
        tag = s[1:j].strip()
        if 0 < len(tag) <= 10 and ' ' not in tag:
            t = _tag_info(tag)
            if t is not None and t[0] == 'lang':
                langs.append(t[1])
            s = s[j + 1:].strip()
            return s if s.strip(_TITLE_EDGE) else ''
    pieces, pos = [], 0
    for m in _PIPE_TAG_RE.finditer(s):
        t = _tag_info(m[1])
        if t is not None and t[0] == 'lang':
            langs.append(t[1])
        pieces.append(s[pos:m.start()])
        pos = m.end()
    if not pieces:
        return s
    pieces.append(s[pos:])
    return next((p.strip() for p in reversed(pieces) if p.strip(_TITLE_EDGE)), '')


def _strip_prefixes(s: str, langs: list[str]) -> str:
    """Leading 'HD :' / 'FR:' / 'FR - ' / 'FR | ' (whitelisted, unambiguous codes only)."""
    for _ in range(3):
        m = _QUALITY_PREFIX_RE.match(s)
        if m and s[m.end():].strip(_TITLE_EDGE):
            s = s[m.end():]
            continue
        m = _LANG_PREFIX_RE.match(s)
        code = m and (m[1] or m[2])
        if code and code not in _AMBIGUOUS_PREFIX and s[m.end():].strip(_TITLE_EDGE):
            t = _tag_info(code)
            if t is not None and t[0] == 'lang':
                langs.append(t[1])
                s = s[m.end():]
                continue
        break
    return s


def _first_at_word(rx: re.Pattern, s: str, dot: bool = False) -> re.Match | None:
    """First match of rx whose start is at a word boundary (not after a letter/digit)."""
    m = rx.search(s)
    if m is None:
        return None
    i = m.start()
    if i == 0 or not (s[i - 1].isalnum() or (dot and s[i - 1] == '.')):
        return m
    for m in rx.finditer(s, i + 1):
        i = m.start()
        if i == 0 or not (s[i - 1].isalnum() or (dot and s[i - 1] == '.')):
            return m
    return None


def _episode_end(first: int, last: str | None) -> int | None:
    """The last episode of a multi-episode marker, when it really comes after the first."""
    if last:
        n = int(last)
        if n > first:
            return n
    return None


def _find_nxn(s: str) -> re.Match | None:
    """First '1x02' marker at a word boundary (not after a letter, digit or dot) that is
    no aspect ratio."""
    for m in _NXN_RE.finditer(s):
        i = m.start()
        if (i == 0 or not (s[i - 1].isalnum() or s[i - 1] == '.')) and (m[1], m[2]) not in _ASPECT_RATIOS:
            return m
    return None


def _find_air_date(s: str) -> tuple[re.Match, dt.date] | None:
    """First year-month-day at a word boundary that is a real date."""
    for m in _AIR_DATE_RE.finditer(s):
        i = m.start()
        if i and s[i - 1].isalnum():
            continue
        try:
            return m, dt.date(int(m[1]), int(m[3]), int(m[4]))
        except ValueError:
            continue
    return None


# A marker: (start, end, season, episode, weak, episode_end, air_date).
_Marker = tuple[int, int, int | None, int | None, bool, int | None, dt.date | None]


def _find_marker(s: str, kind: str = 'auto') -> _Marker | None:
    """Leftmost episode marker in s. kind 'episode' also reads the season-less absolute
    'Show - 1071', which on a line not known to be an episode could be a film's number."""
    full = s
    best = None
    m = _first_at_word(_SXE_RE, s)
    if m:
        season, episode = int(m[1]), int(m[2])
        last = m[3] or (m[5] if m[4] is not None and int(m[4]) == season else None) or m[6]
        best = (m.start(), m.end(), season, episode, False, _episode_end(episode, last), None)
        s = s[:m.start()]          # other markers only matter if they come first
        if _TITLE_DIGIT_RE.search(s) is None:
            return best            # every marker needs a digit: 'Malcolm S01 E05'
    if 'x' in s or 'X' in s:
        m = _find_nxn(s)
        if m and (best is None or len(m[2]) > 1):     # a weak '2x4' never displaces an S01E01
            episode = int(m[2])
            best = (m.start(), m.end(), int(m[1]), episode, len(m[2]) == 1, _episode_end(episode, m[3]), None)
            s = s[:m.start()]
    if len(s) >= 10 and ('19' in s or '20' in s):
        found = _find_air_date(s)
        if found:
            m, date = found
            best = (m.start(), m.end(), None, None, False, None, date)
            s = s[:m.start()]
    low = s.lower()
    m = _first_at_word(_WORD_MARKER_RE, low) if len(low) == len(s) else _first_at_word(_WORD_MARKER_I_RE, s)
    if m:
        if m[3] is not None:
            if best is None:           # a weak 'Episode 3' never displaces a strong marker
                best = (m.start(), m.end(), None, int(m[3]), True, None, None)
        elif m[4] is not None:
            best = (m.start(), m.end(), int(m[4]), int(m[5]), False, None, None)
        else:
            best = (m.start(), m.end(), int(m[1]), int(m[2]) if m[2] else None, False, None, None)
    if (best is None or best[3] is None and best[6] is None) and ('ap' in full or 'AP' in full):
        flow = full.lower()
        m = _first_at_word(_CAP_RE, flow) if len(flow) == len(full) else None
        if m:                      # 'Temporada 2 [Cap.408]': S04E08
            n = int(m[1])
            start, end = (min(best[0], m.start()), max(best[1], m.end())) if best else m.span()
            if full[end:end + 1] in (')', ']'):
                end += 1
            return (start, end, n // 100, n % 100, False, None, None)
    if best is None and s[-1:].isdigit():
        m = _SEASON_ONLY_RE.search(s)
        if m and (m.start() == 0 or not s[m.start() - 1].isalnum()):
            best = (m.start(), m.end(), int(m[1]), None, False, None, None)
    if best is None and kind == 'episode':
        m = _ABSOLUTE_RE.search(s)
        if m and not (len(m[1]) == 4 and 1900 <= int(m[1]) <= _BARE_YEAR_MAX):
            best = (m.start(), m.end(), None, int(m[1]), True, None, None)
    return best


def _absolute(season: int | None, episode: int | None) -> int | None:
    """The absolute episode number a line gives: its episode when it names no season
    ('One Piece - 1071', 'Show - Episode 3'), or an episode of 100 or more in season 1 —
    providers file long anime as 'One Piece S01E1170'. Which one applies is the
    matcher's call (Sonarr's seriesType); season/episode are stored as written too."""
    if episode is None:
        return None
    if season is None or (season == 1 and episode >= 100):
        return episode
    return None


# Fast path: most titles are plain words with an optional trailing '(YYYY)' or ' S01E02'.
_SXE_TAIL_RE = _LazyPattern(r'\s[Ss](\d{1,3}) ?[Ee](\d{1,4})$')
# Words that send a plain title to the full parser: tags, countries, edition words in
# their usual casings (one set lookup instead of three checks on the hot path).
_PLAIN_BAIL_WORDS = _TRAIL_TAGS | _COUNTRY_CODES | {
    v for w in _EDITION_LAST for v in (w, w.capitalize(), w.upper())}


# The quality words the cheap path takes at the end of a title or after its year.
_PLAIN_RES = frozenset(('HD', 'FHD', 'UHD', 'SD', '4K'))


def _parse_plain(s: str, kind: str) -> ParsedTitle | None:
    """Cheap parse of titles with no tags, brackets or other digits but one trailing
    quality word ('Title (2019) HD', 'Title - HD (2019)', 'Channel HD'), optionally behind
    one '|FR| ' / 'FR: ' / 'FR - ' language prefix; None when the full parser is needed.
    Gives exactly what _parse_full gives (fuzz-tested)."""
    langs: list[str] = []
    head_seen = False                   # the start was checked for a prefix: it has none
    if s[:1] == '|':                    # one '|FR| ' pipe tag
        j = s.find('|', 1)
        if j < 0 or s.find('|', j + 1) >= 0:
            return None
        tag = s[1:j].strip()
        t = _tag_info(tag) if 0 < len(tag) <= 10 and ' ' not in tag else None
        if t is None or t[0] != 'lang':
            return None
        s = s[j + 1:].strip()
        langs.append(t[1])
    elif ':' in s[:9] or ' - ' in s[:9]:    # one 'FR: ' / 'FR - ' prefix (never 'HD :')
        m = _LANG_PREFIX_RE.match(s)
        if m is None:                   # no prefix at all ('Mother : Le Crime', 'Up - The
            if _QUALITY_PREFIX_RE.match(s):     # Movie'), which the full parser leaves as is
                return None
            head_seen = True
        else:
            code = m[1] or m[2]
            if code in _AMBIGUOUS_PREFIX or _QUALITY_PREFIX_RE.match(s):
                return None
            t = _tag_info(code)
            if t is None or t[0] != 'lang':
                return None
            s = s[m.end():]
            langs.append(t[1])
    if '|' in s or (not head_seen and (':' in s[:9] or ' - ' in s[:9])) \
            or (' ' not in s and ('.' in s or '_' in s)):
        return None                     # more pipe tags / prefixes, a dotted release name
    core, season, episode = s, None, None
    if s[-1:].isdigit():
        if kind == 'movie' or kind == 'channel':
            return None
        m = _SXE_TAIL_RE.search(s)
        if m is None:
            return None
        core, season, episode = s[:m.start()], int(m[1]), int(m[2])
    year = res = None
    if core[-1:] == 'D' or core[-1:] == 'K':    # 'Title (2019) HD': one quality word after the year
        i = core.rfind(' ')
        if core[i + 1:] in _PLAIN_RES and core[i - 1:i] == ')' and kind != 'channel':
            res, core = core[i + 1:], core[:i]
    if core[-1:] == ')':
        if kind == 'channel' or not (core[-6:-5] == '(' and core[-5:-3] in ('19', '20')
                                     and core[-3:-1].isdigit()):
            return None
        year, core = int(core[-5:-1]), core[:-6]
    core = core.strip(_TITLE_EDGE)
    if res is None and core[-1:] in ('D', 'K'):      # 'Title - HD (2019)', 'Channel HD'
        i = core.rfind(' ')
        if i >= 0:
            tok = core[i + 1:].strip(_TITLE_EDGE)
            if tok in _PLAIN_RES:
                res, core = tok, core[:i].rstrip(_TITLE_EDGE)
    if (not core or '(' in core or '[' in core or 'HD' in core or 'SD' in core
            or _TITLE_DIGIT_RE.search(core) is not None):
        return None
    if not _PLAIN_BAIL_WORDS.isdisjoint(core.split()):
        return None                     # tags, a country or an edition: full parser
    if res is not None:
        res = _RES_LABEL[_RES_WORD[res]]
    if season is None:
        return ParsedTitle(core, year, None, None, '', res, langs)
    return ParsedTitle(core, year, season, episode, '', res, langs, 'strong', None, None,
                       episode if season == 1 and episode >= 100 else None)


def parse_title(text: str, kind: str = 'auto') -> ParsedTitle:
    """Split a playlist (or Radarr/Sonarr) title into clean title, year, SxxEyy, tags.

    kind: 'auto' (episode markers used, but a weak 'Episode N'/'Bölüm N'/'1x2' marker is
    ignored when a '(YYYY)' is present: 'John Wick: Bölüm 4 - 4K (2023)' is a movie),
    'episode' (every marker used, and the season-less absolute 'Show - 1071'), 'movie' (no
    episode parsing: 'Broadcast Relic 4x3' keeps its name), 'channel' (no episode and no
    year parsing: 'Euro 2024' stays).
    Numbering is stored as the line writes it, never guessed: a season-less 'Show -
    Episode 3 - Title' gives season=None, episode=3, absolute_episode=3; 'S01E01-E02'
    gives episode=1, episode_end=2; 'Show 2020 03 11' gives air_date and no episode.
    An episode's year comes only from the series part ('Show (1968) S26 E14'), never from
    an air date after the marker ('… S01E01: Title (1962)' -> None).  Noise that is not
    the title is dropped from it: a leading '[VIP]' group, an edition (kept in
    `edition`), release-name dots.  A country qualifier ('The Office (US)') stays in the
    title and is also given in `country`; `alt_title` is then the title without it.
    Only the first 512 characters are looked at.
    """
    s = ' '.join(text[:_TITLE_MAX_LEN].split())
    res = _parse_plain(s, kind)
    return res if res is not None else _parse_full(s, kind)


def _res_rank(s: str, has_digit: bool) -> int:
    rank = 0
    if 'HD' in s or 'SD' in s or (has_digit and _RES_HINT_RE.search(s) is not None):
        for num, word in _RES_RE.findall(s):
            r = _RES_WORD[word] if word else _res_num_rank(num)
            if r > rank:
                rank = r
    return rank


def _parse_full(s: str, kind: str) -> ParsedTitle:
    langs: list[str] = []
    if ' ' not in s and ('.' in s or '_' in s):
        s = _undot(s)                      # 'Movie.Name.2019.1080p'
    if s[:1] == '[':
        s = _drop_leading_groups(s)        # '[VIP] Heat (1995)'
    has_digit = _TITLE_DIGIT_RE.search(s) is not None    # gates the resolution/marker/year regexes
    rank = _res_rank(s, has_digit)
    if '|' in s:
        s = _strip_pipes(s, langs)
    head = s[:9]
    if ':' in head or '|' in head or ' - ' in head:
        s = _strip_prefixes(s, langs)
    country = None
    if '(' in s:                           # 'The Office (US) S01E01': identity, not a tag
        m = _COUNTRY_RE.search(s)
        if m and s[:m.start()].strip(_TITLE_EDGE):
            country = m[1]
            s = f'{s[:m.start()].rstrip()} {s[m.end():].lstrip()}'.strip()
    tail: list[str] = []
    if s[-1:] == ')' or s[-1:] == ']':    # peel trailing tag groups: '(720p) [Not 24/7]'
        s = _peel_brackets(s, tail)
    n_open = s.count('(') + s.count('[')
    if n_open > 1 or (n_open == 1 and not (s[-1:] in (')', ']') and s[-5:-1].isdigit())):
        s = _strip_brackets(s, langs)      # tag groups elsewhere: 'Anemone [TR SUB] (2025)'
    if tail:
        langs.extend(tail)

    # Episode marker: series title before it, episode title after it.
    season = episode = episode_end = absolute = air_date = marker = year = alt = edition = None
    ep_title = ''
    if has_digit and (kind == 'auto' or kind == 'episode'):
        mk = _find_marker(s, kind)
        if mk is not None and not (mk[4] and kind == 'auto' and _YEAR_PAREN_RE.search(s)):
            start, end, season, episode, weak, episode_end, air_date = mk
            marker = 'weak' if weak else 'strong'
            absolute = _absolute(season, episode)
            if end < len(s):
                ep_title = _YEAR_PAREN_RE.sub('', s[end:]).strip(_TITLE_EDGE)
            s = s[:start]

    # Year, then the tags after it ('(2024) SUBT AR', '(2012) (ES)', '(2010) HD', '1988 VF').
    s = s.strip(_TITLE_EDGE)
    if has_digit and kind != 'channel' and s:
        s, year, after, alt = _split_year(s)
        if after:
            after_langs, edition = _tags_after_year(after)
            langs.extend(after_langs)
        if alt is not None:
            alt = _strip_trailing_tags(alt, []).strip(_TITLE_EDGE)
    title = _strip_trailing_tags(s, langs).strip(_TITLE_EDGE)
    if title and title[-1] in _EDITION_LAST_CHARS and edition is None and kind != 'channel' \
            and title[title.rfind(' ') + 1:].strip('()[]').lower() in _EDITION_LAST:
        title, edition = _take_edition(title)   # 'Aliens Director's Cut', 'Title: Director's Cut'
        if edition is not None:
            title = _strip_trailing_tags(title, langs).strip(_TITLE_EDGE)
    if country is not None and title:
        alt = title
        title = f'{title} ({country})'
    elif title[-3:-2] == ' ' and title[-2:] in _COUNTRY_CODES:
        country = title[-2:]                            # 'Shameless US S01E01'
        alt = title[:-3].strip(_TITLE_EDGE)
    if len(langs) > 1:
        langs = list(dict.fromkeys(langs))
    return ParsedTitle(title, year, season, episode, ep_title, _RES_LABEL.get(rank), langs, marker, alt,
                       episode_end, absolute, air_date, edition, country)


# ---------------------------------------------------------------------------
# match_key
# ---------------------------------------------------------------------------

_KEY_TRANS = str.maketrans({
    '’': "'", '‘': "'", 'ʼ': "'", '‛': "'", '`': "'", '´': "'", '′': "'",
    'ß': 'ss', 'ẞ': 'ss', 'æ': 'ae', 'Æ': 'ae', 'ø': 'o', 'Ø': 'o', 'ł': 'l', 'Ł': 'l',
    'đ': 'd', 'Đ': 'd', 'þ': 'th', 'Þ': 'th', 'œ': 'oe', 'Œ': 'oe', 'ı': 'i',
    '&': ' and ',
    # A superscript or subscript digit is a sequel number: 'Alien³' is TMDB's 'Alien 3'
    # ('alien 3', not NFKD's 'alien3'); 'Cube²' is 'Cube 2' (trial-1213 F6).
    **{c: f' {d}' for d, c in enumerate('⁰¹²³⁴⁵⁶⁷⁸⁹')}, **{c: f' {d}' for d, c in enumerate('₀₁₂₃₄₅₆₇₈₉')},
})
# UTF-8 read as cp1252 and saved again ('AmÃ©lie', 'â€™'): panel exports do it. The
# first characters such text shows; repaired only when the whole title then decodes
# as strict UTF-8, which text really written with them (Portuguese 'SÃO') never does.
_MOJIBAKE_HINTS = ('Ã', 'Â', 'â€', 'Å', 'Ä')


def repair_mojibake(text: str) -> str:
    """``text`` with a double encoding undone ('AmÃ©lie' -> 'Amélie'), else as it is."""
    try:
        fixed = text.encode('cp1252').decode('utf-8')
    except UnicodeError:                 # not cp1252-encodable, or not UTF-8 once encoded
        return text
    return fixed if fixed != text else text
_KEY_COMBINING_RE = _LazyPattern('[\u0300-\u036f]')        # Latin/Greek/Cyrillic diacritics only
# One translate() folds Latin-1/Latin Extended letters ('é' -> 'e', 'ĳ' -> 'ij'): same
# result as NFKD + dropping marks, ~5x cheaper; other scripts still take the NFKD path.
# (The marks are dropped here by range, as _KEY_COMBINING_RE does, so that building
# this table at start compiles no regular expression.)
_KEY_FOLD = {**{c: d for c in range(0xC0, 0x250)
                if (d := ''.join(m for m in unicodedata.normalize('NFKD', chr(c))
                                 if not '\u0300' <= m <= '\u036f')).isascii()
                and d != chr(c)},
             **_KEY_TRANS}
# 'D.O.A.' / 'S.W.A.T.' -> 'doa' / 'swat' so they equal the dot-less spelling.
_KEY_ACRONYM_RE = _LazyPattern(r'(?<![^\W_])(?:[^\W\d_]\.){2,}')
_KEY_PLUS_RE = _LazyPattern(r'(?<=\w)\s+\+\s+(?=\w)')       # 'Romeo + Juliet'
_KEY_STAR_RE = _LazyPattern(r'(?<=\w)\*(?=\w)')                # 'M*A*S*H' = 'MASH'
# Segment breaks (for the roman-numeral rule): ':' '(' ')' '[' ']' and ' - '.
_KEY_SEGMENT_RE = _LazyPattern(r'[:;()\[\]!?]|\s[-–—]\s')
# Everything that is not a letter/digit/combining mark becomes a space: ASCII and
# Latin-1 punctuation, general punctuation, arrows/symbols, CJK punctuation,
# Arabic punctuation, emoji.  Marks stay attached (Devanagari, Arabic harakat).
_KEY_PUNCT_RE = _LazyPattern(
    '[\\s!-/:-@\\[-`{-~\u00a1-\u00bf\u00d7\u00f7\u2000-\u206f\u2190-\u2bff'
    '\u3000-\u303f\u060c\u061b\u061f\u066a-\u066d\u06d4\ufe10-\ufe6f\uff01-\uff0f'
    '\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\U0001f000-\U0001faff]+')
_KEY_ASCII_WORD_RE = _LazyPattern(r'[a-z0-9]+')
_KEY_ARTICLES = frozenset('the a an le la les l el los las der die das il lo gli'.split())
_KEY_ROMAN = {r: i for i, r in enumerate(
    'i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx'.split(), 1)}
_KEY_SEQUEL_WORDS = frozenset('episode part chapter chapitre partie teil parte capitulo '
                          'vol volume book act season saison'.split())
_MATCH_KEY_CACHE: dict[str, str] = {}
_MATCH_KEY_CACHE_MAX = 20_000     # episodes repeat their series title; movies rarely repeat


def match_key(title: str) -> str:
    """Normalised comparison key: lower-case, accents folded, punctuation -> space,
    '&' -> 'and', apostrophes and stars between letters removed ('M*A*S*H' = 'MASH'),
    leading article dropped, sequel roman numerals -> digits, 'volume' -> 'vol'
    ('Kill Bill: Vol. 1' = 'Kill Bill Volume 1'). Year is NOT part of the key."""
    key = _MATCH_KEY_CACHE.get(title)
    if key is not None:
        return key
    s = title
    if not s.isascii() and any(h in s for h in _MOJIBAKE_HINTS):
        s = repair_mojibake(s)
    s = s.lower()
    if not s.isascii() or '&' in s or '`' in s:
        s = s.translate(_KEY_FOLD)
        if not s.isascii():
            s = unicodedata.normalize('NFKD', s)
            s = unicodedata.normalize('NFC', _KEY_COMBINING_RE.sub('', s)).lower()
    if '.' in s:
        s = _KEY_ACRONYM_RE.sub(lambda m: m.group().replace('.', ''), s)
    if "'" in s:
        if s.startswith("l'") and len(s) > 2:   # French elided article: "L'Odyssée"
            s = s[2:]
        s = s.replace("'", '')                  # "Director's" -> "directors"
    if '+' in s:
        s = _KEY_PLUS_RE.sub(' and ', s)
    if '*' in s:
        s = _KEY_STAR_RE.sub('', s)
    tokens = _KEY_ASCII_WORD_RE.findall(s) if s.isascii() else _KEY_PUNCT_RE.sub(' ', s).split()
    if not _KEY_ROMAN.keys().isdisjoint(tokens):
        tokens = _roman_to_digits(s)
    if 'volume' in s:
        tokens = ['vol' if t == 'volume' else t for t in tokens]
    if len(tokens) > 1 and tokens[0] in _KEY_ARTICLES:
        del tokens[0]
    key = ' '.join(tokens)
    if len(_MATCH_KEY_CACHE) >= _MATCH_KEY_CACHE_MAX:
        _MATCH_KEY_CACHE.clear()
    _MATCH_KEY_CACHE[title] = key
    return key


def _roman_to_digits(s: str) -> list[str]:
    """Tokens of s with sequel-position roman numerals turned into digits.

    A numeral II..XX converts when it is the last word of a title segment (segments end
    at ':' '(' ' - ' …: 'Rocky II', 'Final Fantasy VII: Advent Children') or follows
    episode/part/chapter/vol/… ('Star Wars Episode IV'); 'I' only after such a word.
    So 'V for Vendetta' and 'I, Robot' keep their letter.  Both sides of a comparison
    go through the same rule, so a false conversion ('Malcolm X' -> 'malcolm 10') is harmless.
    """
    tokens: list[str] = []
    for seg in _KEY_SEGMENT_RE.split(s):
        words = _KEY_PUNCT_RE.sub(' ', seg).split()
        last = len(words) - 1
        for i, w in enumerate(words):
            r = _KEY_ROMAN.get(w)
            if r is not None:
                prev = words[i - 1] if i else (tokens[-1] if tokens else '')
                if prev in _KEY_SEQUEL_WORDS or (i == last and r > 1 and (i or tokens)):
                    w = str(r)
            tokens.append(w)
    return tokens


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------

@dataclasses.dataclass(slots=True)
class Classification:
    content_type: str          # 'movies' | 'tvshows' | 'channels' | 'uncategorized'
    title: str                 # clean title; for episodes the SERIES title
    year: int | None
    season: int | None
    episode: int | None
    resolution: str | None     # '2160p' | '1080p' | '720p' | '480p' | None
    languages: list[str]       # title tags ('|FR|', 'FR:', '(ES)', 'SUBT AR', MULTI, VOSTFR) first,
    #                            then the group's prefix code ('FR: FILMS' -> FR) and its MULTI/SUBT/VOSTFR
    match_key: str
    alt_key: str | None = None  # match_key of the other reading of the title: with the bare
    #                             year kept ('Death Race 2000'), or without the country ('The Office')
    episode_end: int | None = None       # last episode of a multi-episode line
    absolute_episode: int | None = None  # ParsedTitle.absolute_episode
    air_date: dt.date | None = None      # daily shows
    edition: str | None = None           # "Director's Cut", 'Extended'…
    country: str | None = None           # 'US' of 'The Office (US)'


# Xtream-style type segment anywhere in the URL path: '/movie/u/p/1.mp4', STK '/movies/',
# '/series/', '/live/', M3UH '/api/stream/u/p/movie/tt…' and '/tvshow/tt…/1/1'.
_URL_TYPE_RE = _LazyPattern(r'/(movies?|series|tvshows?|live|timeshift|vod)/')
_URL_TYPE = {'movie': 'movies', 'movies': 'movies', 'series': 'tvshows', 'tvshow': 'tvshows',
             'tvshows': 'tvshows', 'live': 'channels', 'timeshift': 'channels', 'vod': 'vod'}
_VOD_EXT = frozenset('mkv mp4 avi mov m4v wmv mpg mpeg divx xvid webm flv ogv iso vob 3gp'.split())
_STREAM_EXT = frozenset('m3u8 m3u ts mpd mpegts php mp3 aac ogg'.split())
_XUI_FRAGMENT_RE = _LazyPattern(r'#\.([a-z0-9]{2,5})$')   # SWT: 'http://example.com/movie1#.mkv'
# tvg-type, or type= as some generators write it; 'video' is a VOD file (movie or episode).
_TVG_TYPE = {'movie': 'movies', 'movies': 'movies', 'film': 'movies', 'vod': 'movies', 'video': 'vod',
             'series': 'tvshows', 'serie': 'tvshows', 'tvshow': 'tvshows', 'tvshows': 'tvshows',
             'show': 'tvshows', 'episode': 'tvshows',
             'live': 'channels', 'channel': 'channels', 'channels': 'channels', 'livetv': 'channels'}
_IMDB_ID_RE = _LazyPattern(r'tt\d{5,}')        # S48/M3UH: tvg-name="tt8816194" is no title

# group-title words, compared after lower-casing and accent folding.
_GROUP_SERIES = frozenset('series serie serien seriale serials seriler tvshows shows dizi diziler '
                          'dizileri novelas telenovelas sitcoms сериалы сериал مسلسلات مسلسل'.split())
_GROUP_MOVIES = frozenset('films film movies movie peliculas pelicula filmes filme filmy '
                          'filmler filmleri cine фильмы кино أفلام افلام فيلم'.split())
_GROUP_LIVE = frozenset('live channels chaines canales kanale'.split())   # 'Live - World News Network'
_GROUP_TOKEN_RE = _LazyPattern(r'[^\W_]+')
_GROUP_PREFIX_RE = _LazyPattern(r'\|?([A-Z]{2,4})\|?\s*(?:[:|]|-\s)')   # 'FR: FILMS', 'ES:Movies', 'AR:SUBT …'
_GROUP_CACHE: dict[str, tuple[str | None, list[str]]] = {}
_VODISH = frozenset(('movies', 'tvshows', 'vod'))
_GROUP_TYPES = frozenset(('movies', 'tvshows', 'channels'))


def _group_info(group: str) -> tuple[str | None, list[str]]:
    """(kind, languages) of a group-title; kind: movies|tvshows|channels|vod|None. Cached."""
    info = _GROUP_CACHE.get(group)
    if info is not None:
        return info
    folded = group.lower()
    if not folded.isascii():
        folded = unicodedata.normalize('NFC', _KEY_COMBINING_RE.sub('', unicodedata.normalize('NFKD', folded)))
    toks = set(_GROUP_TOKEN_RE.findall(folded))
    series, movies = bool(toks & _GROUP_SERIES), bool(toks & _GROUP_MOVIES)
    if series and not movies:           # 'VOD - Demo Series' holds series
        kind = 'tvshows'
    elif movies and not series:
        kind = 'movies'
    elif series or 'vod' in toks:       # 'Films & Séries', 'VOD - Fantasy Epics'; 'TV VOD' (S48) = shows
        kind = 'tvshows' if 'tv' in toks and not series else 'vod'
    elif toks & _GROUP_LIVE:
        kind = 'channels'
    else:
        kind = None
    langs: list[str] = []
    m = _GROUP_PREFIX_RE.match(group)
    if m and m.group(1) in _LANG_ALIAS:
        langs.append(_LANG_ALIAS[m.group(1)])
    for tok in _GROUP_TOKEN_RE.findall(group):
        if tok.isupper() and tok in _SPECIAL_TAG:
            langs.append(_SPECIAL_TAG[tok])
    info = (kind, langs)
    if len(_GROUP_CACHE) > 50_000:
        _GROUP_CACHE.clear()
    _GROUP_CACHE[group] = info
    return info


_URL_DIR_CACHE: dict[str, str] = {}


def _url_kind(url: str) -> str | None:
    """movies|tvshows|channels (decisive path segment), 'vod' (video file / VOD path),
    'stream' (.m3u8/.ts/no extension: live-like) or None (unknown)."""
    q = url.find('?')
    if q >= 0:
        url = url[:q]
    frag = ''
    h = url.find('#')
    if h >= 0:
        url, frag = url[:h], url[h:]
    i = url.find('://')
    j = url.find('/', i + 3) if i >= 0 else url.find('/')
    if j < 0:
        return None                      # 'http://url' placeholder: no path at all
    k = url.rfind('/')
    folder = url[j:k + 1]                # '/movie/user/pass/' — shared by many entries: cached
    t = _URL_DIR_CACHE.get(folder)
    if t is None:
        m = _URL_TYPE_RE.search(folder.lower())
        t = _URL_TYPE[m[1]] if m else ''
        if len(_URL_DIR_CACHE) > 20_000:
            _URL_DIR_CACHE.clear()
        _URL_DIR_CACHE[folder] = t
    if t and t != 'vod':
        return t
    if frag:
        m = _XUI_FRAGMENT_RE.match(frag.lower())
        if m and m[1] in _VOD_EXT:
            return 'vod'                 # XUI '#.mkv' ending
    last = url[k + 1:]
    dot = last.rfind('.')
    ext = last[dot + 1:].lower() if dot >= 0 else ''
    if ext in _VOD_EXT or t:             # '.mkv' file or SWIFT '/vod/' path
        return 'vod'
    if ext in _STREAM_EXT or (last and dot < 0 and last != 'download'):   # '.m3u8', '.ts', '/<u>/<p>/<id>'
        return 'stream'
    return None                          # unknown, e.g. a cloud '/download?resid=…' link


# Precedence (first decisive signal wins):
#  1. URL type segment (/movie/, /movies/, /series/, /tvshow/, /live/, /timeshift/):
#     the server routes by it, so it beats everything ('Broadcast Relic 4x3' under
#     /movie/ is a movie, a .m3u8 under /movie/ stays a movie, 'TF1 Series Films'
#     under /live/ stays a channel).
#  2. tvg-type attribute (movie/movies, series/tvshows, live).
#  3. URL is a video file (.mkv/.mp4/…, XUI '#.mkv', '/vod/' path): tvshows if the
#     title has an episode marker or the group says series, else movies.
#  4. URL is a stream (.m3u8/.ts/no extension): channels — URL beats group, since a
#     group called 'Movies' can hold live channels — unless the title has a strong
#     episode marker (tvshows) or the group is VOD-like AND the title carries a year
#     or marker (then the group's type).
#  5. Unknown URL: episode marker -> tvshows; group kind; a year -> movies;
#     otherwise 'uncategorized'.
def classify(entry: PlaylistEntry) -> Classification:
    """Decide movies/tvshows/channels/uncategorized and extract title metadata."""
    attrs = entry.attrs
    text = entry.display_title
    if not text:
        name = attrs.get('tvg-name') or ''
        text = '' if _IMDB_ID_RE.fullmatch(name) else name
    group = attrs.get('group-title')
    if group:
        info = _GROUP_CACHE.get(group)
        gkind, glangs = info if info is not None else _group_info(group)
    else:
        gkind, glangs = None, None
    ukind = _url_kind(entry.url)
    pt = None
    if ukind == 'movies' or ukind == 'tvshows' or ukind == 'channels':
        ctype = ukind
    else:
        tvg_type = attrs.get('tvg-type') or attrs.get('type')
        ctype = _TVG_TYPE.get(tvg_type.strip().lower()) if tvg_type else None
        if ctype == 'vod':               # type="video": a file, whatever its URL looks like
            ctype, ukind = None, 'vod'
        if ctype is not None:
            pass
        elif ukind == 'stream' and gkind not in _VODISH:
            # live-like URL, non-VOD group: only a strong episode marker changes the verdict;
            # it survives the channel-mode parse, whose tag-free title is cheaper to check
            pt = parse_title(text, 'channel')
            t = pt.title
            if _TITLE_DIGIT_RE.search(t) is not None and _first_at_word(_STRONG_MARKER_RE, t.lower()):
                ctype, pt = 'tvshows', None
            else:
                ctype = 'channels'
        else:
            pt = parse_title(text)
            if ukind == 'vod':
                ctype = 'tvshows' if pt.marker or gkind == 'tvshows' else 'movies'
            elif ukind == 'stream':      # VOD-like group: a year or marker makes it VOD
                if pt.marker:
                    ctype = 'tvshows'
                elif pt.year:
                    ctype = 'tvshows' if gkind == 'tvshows' else 'movies'
                else:
                    ctype = 'channels'
            elif pt.marker:
                ctype = 'tvshows'
            elif gkind in _GROUP_TYPES:
                ctype = gkind
            elif pt.year or gkind == 'vod':
                ctype = 'movies'
            else:
                ctype = 'uncategorized'
    # Final parse in the decided mode (re-parse only when the auto parse disagrees).
    if ctype == 'movies':
        if pt is None:                   # the URL or tvg-type said movie, yet a strong episode
            pt = parse_title(text, 'movie')     # marker wins: 'The 100 S01E01' under /movie/.
            t = pt.title                 # The movie parse keeps markers in the (shorter) title.
            if _TITLE_DIGIT_RE.search(t) is not None and _EPISODE_HINT_RE.search(t) is not None \
                    and _first_at_word(_STRONG_EPISODE_RE, t.lower()) is not None:
                ctype, pt = 'tvshows', parse_title(text, 'episode')
        elif pt.marker:
            pt = parse_title(text, 'movie')
    elif ctype == 'tvshows':
        if pt is None or pt.marker is None:
            pt = parse_title(text, 'episode')
    elif ctype == 'channels':
        if pt is None or pt.marker or pt.year:
            pt = parse_title(text, 'channel')
    langs = pt.languages
    if glangs:
        langs = list(dict.fromkeys(langs + glangs))
    title = pt.title
    if not title and ctype == 'tvshows' and group:
        title = ' '.join(group.split()).strip(_TITLE_EDGE)   # 'S01E01 - Pilot' in group 'The Beverly Hillbillies'
    return Classification(ctype, title, pt.year, pt.season, pt.episode, pt.resolution,
                          langs, match_key(title),
                          match_key(pt.alt_title) if pt.alt_title else None,
                          pt.episode_end, pt.absolute_episode, pt.air_date, pt.edition, pt.country)


# -- end of parsing and classifying --------------------------------------------

# -- storing the playlist ---------------------------------------------------------

# Bump when classify()/match_key() change meaning: the next `process` then
# re-classifies every line instead of skipping the unchanged ones.
CLASSIFIER_VERSION = '3'     # 2: numbering schemes, editions, countries, alt_key, signals;
#                              3: superscript digits, mojibake, 'The' before an edition
# Lines per transaction. Large, because each transaction writes every index
# page it touched to the WAL once: 2,000 took 7.1 s to store 200k lines,
# 10,000 took 4.5 s (bench/RESULTS.md). Still well under a second per
# transaction, so other instances' heartbeats only wait briefly.
INGEST_BATCH = 10000
_SQL_IN_CHUNK = 900          # stay under SQLite's bound-variable limit


class LineFilter:
    """[filter] include/exclude regex lists for group-title and tvg-name.

    An include list, when set, keeps only lines matching one of its patterns;
    an exclude pattern drops a line. Case-insensitive; one pattern per line."""

    KEYS = ('group_title_include', 'group_title_exclude', 'tvg_name_include', 'tvg_name_exclude')

    def __init__(self, **patterns):
        self.patterns = {key: patterns.get(key, []) for key in self.KEYS}
        self.active = any(self.patterns.values())

    @classmethod
    def from_config(cls, cfg: Config) -> 'LineFilter':
        compiled, problems = {}, []
        for key in cls.KEYS:
            raw = cfg.get('filter', key) or ''
            where = cfg.where('filter', key)
            patterns = []
            for line in raw.splitlines():
                line = line.strip()
                if not line:
                    continue
                try:
                    with warnings.catch_warnings(record=True) as said:
                        warnings.simplefilter('always')
                        patterns.append(re.compile(line, re.IGNORECASE))
                    for warning in said:    # '[[:alpha:]]': "Possible nested set" (trial-15f F4)
                        log.warning('%s: regular expression %r: %s', where, line, warning.message)
                except (re.error, OverflowError, RecursionError) as exc:
                    # Not only re.error: a repeat past the engine's limit ('x{99999999999}')
                    # is OverflowError, thousands of nested groups RecursionError (trial-15e F1).
                    # Every bad pattern is named: `config --check` shows them all at once.
                    shown_line = line if len(line) <= 80 else line[:77] + '...'
                    problems.append(f'{where}: bad regular expression {shown_line!r}: {first_line(exc)}')
            compiled[key] = patterns
        raise_config_errors(problems)
        return cls(**compiled)

    def allows(self, entry) -> bool:
        group = entry.group_title
        name = entry.tvg_name or entry.display_title
        p = self.patterns
        if p['group_title_include'] and not any(r.search(group) for r in p['group_title_include']):
            return False
        if p['tvg_name_include'] and not any(r.search(name) for r in p['tvg_name_include']):
            return False
        if any(r.search(group) for r in p['group_title_exclude']):
            return False
        return not any(r.search(name) for r in p['tvg_name_exclude'])


@dataclasses.dataclass
class IngestSummary:
    """What one `process` read and stored; as_dict() is its ``--json``. Every
    field is a value (a path, a masked URL, a count, an enum, ISO 8601 or
    null), the same shape whichever ``source`` was read: ``playlist`` is the
    M3U file as an absolute path (os.path.abspath, links not resolved: given
    as `process p.m3u` or by [m3u] file_path alike; null for a panel);
    ``malformed_samples`` ParseStats's; ``panel`` the panel's base URL, credentials
    masked (null for a playlist). The human text is print_ingest_summary's."""
    playlist: str | None
    lines_read: int = 0
    entries: int = 0
    new: int = 0
    updated: int = 0                # stored lines rewritten (their values changed)
    unchanged: int = 0              # stored lines left as they were
    reclassified: int = 0           # --force: stored lines classified again, rewritten or not
    duplicates: int = 0
    filtered: int = 0
    malformed: int = 0
    encoding_fallbacks: int = 0     # lines not valid UTF-8, read as cp1252
    decode_errors: int = 0          # lines with bytes neither UTF-8 nor cp1252 could read
    entities_decoded: int = 0       # lines whose title/attributes held HTML entities
    header_missing: bool = False
    disappeared: int = 0
    reappeared: int = 0
    by_content_type: dict = dataclasses.field(default_factory=dict)
    malformed_samples: list = dataclasses.field(default_factory=list)
    elapsed_seconds: float = 0.0
    dry_run: bool = False
    limited: bool = False
    # The file changed while it was read (PlaylistFile): no line marked gone, not a complete import.
    changed_while_read: bool = False
    source: str = 'm3u'         # m3u: `playlist` is the file read; xtream: `panel` is the panel read
    panel: str | None = None    # XtreamSettings.panel: the base URL, its userinfo masked (redact_url)
    # A re-run of the playlist the last complete import read: 'unchanged', and
    # when that import completed (ISO 8601); None when the file was read. The
    # counts alone could not tell a skip from a real run (trial-17a F4).
    skipped: str | None = None
    unchanged_since: str | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def entry_meta_hash(entry) -> str:
    """Everything a line's stored fields derive from; unchanged hash, nothing to rewrite."""
    parts = [CLASSIFIER_VERSION, entry.display_title, entry.url]
    for key in sorted(entry.attrs):
        parts += (key, entry.attrs[key])
    return hashlib.sha1('\x1f'.join(parts).encode('utf-8', 'surrogatepass')).hexdigest()


# Columns `process` writes, in the order of the tuples it builds.
_LINE_COLUMNS = (
    'line_hash', 'meta_hash', 'url', 'line_number', 'display_title', 'tvg_id', 'tvg_name',
    'tvg_logo', 'group_title', 'tvg_type', 'content_type', 'title', 'year', 'season', 'episode',
    'resolution', 'languages', 'match_key', 'episode_end', 'absolute_episode', 'air_date',
    'alt_key', 'edition', 'country', 'missing_since', 'updated_at',
    'source', 'stream_id', 'series_id', 'tmdb_id', 'container_extension')
# What an M3U line knows of the panel columns: nothing (a new line is the
# playlist's; a line the panel's API wrote keeps them: update_columns).
_M3U_PANEL_VALUES = ('m3u', None, None, None, None)
# The columns a lookup of stored lines reads after line_hash and id (a re-run
# decides on them whether a line is unchanged, gone before, or moved).
_LOOKUP_COLUMNS = ('meta_hash', 'missing_since', 'content_type', 'line_number')
# The columns --force compares a re-classified line on (all it writes but the
# lookup key and the time), the lookup's first: --force reads them once, not a
# second time after the lookup's (the fetch of 200k rows' values was 1.9 s of
# CPU with the four read twice, 1.5 s without; bench/RESULTS.md). Their places
# in a _line_values tuple.
_COMPARED = _LOOKUP_COLUMNS + tuple(c for c in _LINE_COLUMNS
                                    if c not in ('line_hash', 'updated_at') + _LOOKUP_COLUMNS)
_COMPARED_AT = tuple(_LINE_COLUMNS.index(c) for c in _COMPARED)
# Those values of a row, in C: a generator per row was ~2 µs of --force's per-line work.
_compared_values = operator.itemgetter(*_COMPARED_AT)
_TMDB_AT = _LINE_COLUMNS.index('tmdb_id')
# A stored row as PlaylistIngest._existing gives it (the columns after
# line_hash): id, meta_hash, missing_since, content_type, line_number, and with
# --force the rest of _COMPARED after those four: the values of _COMPARED are
# the row from _STORED_COMPARED on.
_STORED_LINE_NUMBER = 4
_STORED_COMPARED = 1
_CONTENT_TYPE_AT = _LINE_COLUMNS.index('content_type')
_UPDATED_AT = _LINE_COLUMNS.index('updated_at')


def _line_values(entry, cls, digest: str, meta: str, now, panel=_M3U_PANEL_VALUES) -> tuple:
    return (digest, meta, entry.url or None, entry.line_no, entry.display_title[:1000],
            entry.tvg_id[:255] or None, entry.tvg_name[:1000] or None,
            entry.tvg_logo[:2000] or None, entry.group_title[:1000] or None,
            entry.tvg_type[:64] or None, cls.content_type, cls.title[:1000], cls.year,
            cls.season, cls.episode, cls.resolution, ','.join(cls.languages)[:255] or None,
            cls.match_key[:1000], cls.episode_end, cls.absolute_episode,
            cls.air_date.isoformat() if cls.air_date else None,     # text: same on both engines
            cls.alt_key[:1000] if cls.alt_key else None, cls.edition[:64] if cls.edition else None,
            cls.country, None, now) + panel


class BulkWriter:
    """Plain DB-API batches for the ingest hot path.

    Building 200,000 rows through peewee's query builder took about a minute
    (profiled); executemany/execute_values take a second or two. Only used
    inside an atomic() block, on tables and columns the models define."""

    def __init__(self, db):
        self.db = db
        self.pg = is_postgres(db)
        self.param = '%s' if self.pg else '?'

    def timestamp(self, value):
        return self.timestamp_of(value, self.pg)

    @staticmethod
    def timestamp_of(value, pg: bool):
        # sqlite3's datetime adapter is deprecated; store peewee's own text format.
        return value if pg or value is None else value.isoformat(' ')

    def insert_ignore(self, table: str, columns, rows) -> None:
        if not rows:
            return
        cols = ', '.join(f'"{c}"' for c in columns)
        cursor = self.db.cursor()
        if self.pg:
            from psycopg2.extras import execute_values
            execute_values(cursor, f'INSERT INTO "{table}" ({cols}) VALUES %s ON CONFLICT DO NOTHING',
                           rows, page_size=1000)
        else:
            marks = ', '.join('?' * len(columns))
            cursor.executemany(f'INSERT OR IGNORE INTO "{table}" ({cols}) VALUES ({marks})', rows)

    def copy_in(self, table: str, columns, rows) -> None:
        """PostgreSQL COPY ... FROM STDIN (text format) of rows into a table that
        has no unique index to conflict with (a first import: _drop_indexes).
        The execute_values INSERT made a PostgreSQL first import 2.8x SQLite's."""
        if not rows:
            return
        ncols = len(columns)
        buf = io.StringIO()
        for row in rows:
            fields = ['\\N' if v is None else str(v) for v in row]
            line = '\t'.join(fields)
            # Most lines hold no tab, newline or backslash: checked on the whole
            # line at once, and escaped field by field only when they do.
            if (line.count('\t') != ncols - 1 or '\n' in line or '\r' in line
                    or line.count('\\') != row.count(None)):
                line = '\t'.join('\\N' if v is None else str(v).translate(_COPY_ESCAPE) for v in row)
            buf.write(line)
            buf.write('\n')
        buf.seek(0)
        cols = ', '.join(f'"{c}"' for c in columns)
        self.db.cursor().copy_expert(f'COPY "{table}" ({cols}) FROM STDIN', buf)

    def update_by_id(self, table: str, columns, rows) -> None:
        """rows: tuples of the column values followed by the id."""
        if not rows:
            return
        sets = ', '.join(f'"{c}" = {self.param}' for c in columns)
        sql = f'UPDATE "{table}" SET {sets} WHERE "id" = {self.param}'
        cursor = self.db.cursor()
        if self.pg:
            from psycopg2.extras import execute_batch
            execute_batch(cursor, sql, rows, page_size=500)
        else:
            cursor.executemany(sql, rows)

    def set_by_id(self, table: str, column: str, rows, sql_type: str = 'integer') -> None:
        """Set one column of many rows: ``rows`` are (id, value) pairs, written in
        id order (so two runs lock the rows they share in the same order). A
        provider that adds one line at the top moves every line: 200k of these
        must cost well under a second. SQLite: executemany of the plain UPDATE;
        PostgreSQL: one UPDATE ... FROM (VALUES ...) per 1,000 rows (a statement
        per row, even batched by execute_batch, is several times slower)."""
        if not rows:
            return
        rows = sorted(rows)
        cursor = self.db.cursor()
        if self.pg:
            from psycopg2.extras import execute_values
            execute_values(cursor, f'UPDATE "{table}" AS p SET "{column}" = v.n FROM (VALUES %s) AS v(id, n) '
                                   'WHERE p."id" = v.id', rows,
                           template=f'(%s, CAST(%s AS {sql_type}))', page_size=1000)
        else:
            cursor.executemany(f'UPDATE "{table}" SET "{column}" = ? WHERE "id" = ?',
                               [(value, row_id) for row_id, value in rows])

    def select_in(self, sql_head: str, column: str, values):
        """Rows of ``sql_head WHERE column IN (...)``, in chunks."""
        for chunk in _chunks(values, _SQL_IN_CHUNK):
            marks = ', '.join([self.param] * len(chunk))
            yield from self.db.execute_sql(f'{sql_head} WHERE "{column}" IN ({marks})', chunk).fetchall()


# COPY's text format: backslash escapes (PostgreSQL docs, COPY, "Text Format").
_COPY_ESCAPE = str.maketrans({'\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r'})


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _last_line_id() -> int:
    """The id of the last processed_lines row stored (0 for none)."""
    return db_proxy.obj.execute_sql('SELECT MAX("id") FROM "processed_lines"').fetchone()[0] or 0


class _StoredLineScan:
    """Finds the stored rows of one batch of line hashes after another, the
    batches in playlist order: a merge of the playlist with processed_lines
    read in id order, a page at a time (keyset: ``id > last``, so no cursor
    is held open across the batches' writes).

    Why: a re-read playlist is mostly the lines of the last import in the same
    order, and an import stores them in that order, so ids follow the file.
    Reading the table in order costs a sequential scan; looking every hash up
    through the line_hash index (900 per IN) cost 1.6 s of 200k lines against
    0.9 s for the scan (bench/RESULTS.md, issue 15), most of a --force.

    A hash the pages read so far do not hold (a new line, a line moved
    elsewhere in the file, a line gone from an earlier playlist and back, a
    row evicted from the window) is looked up through the index as before, so
    the answer is always that of the lookups. The pages skip the rows of lines
    gone (``missing_since``: they pile up over the months and are rarely asked
    for). Bounds: a batch reads pages while it has read fewer than twice its
    size (the rows of other sources may sit between); the window of rows read
    but not yet asked for holds at most WINDOW rows (the oldest are dropped);
    when the pages stop answering (a reordered playlist: fewer than half the
    rows read were asked for), the scan stops and every lookup goes through
    the index. Rows added after the scan began (this run's own new lines) are
    past its end and never read."""

    PAGE = 5000
    WINDOW = 3 * INGEST_BATCH

    def __init__(self, writer: 'BulkWriter', select_head: str, end_id: int):
        """end_id: the last row to read (_last_line_id() when the run began)."""
        self.writer, self.head = writer, select_head
        self.window: dict = {}
        self.last_id = 0
        self.end_id = end_id
        self.rows_read = self.rows_used = 0
        self.page_sql = (f'{select_head} WHERE "id" > {writer.param} AND "id" <= {writer.param} '
                         f'AND "missing_since" IS NULL ORDER BY "id" LIMIT {self.PAGE}')

    @property
    def scanning(self) -> bool:
        if self.last_id >= self.end_id:
            return False
        # Stop when the pages stop answering (judged after a few pages).
        return self.rows_read < 4 * self.PAGE or 2 * self.rows_used >= self.rows_read

    def rows_for(self, hashes) -> dict:
        """line_hash -> the row's other columns, for the stored ones of ``hashes``."""
        found = {}
        wanted = self._take(hashes, found)
        ahead = 0
        while wanted and ahead < 2 * len(hashes) and self.scanning:
            page = self.writer.db.execute_sql(self.page_sql, (self.last_id, self.end_id)).fetchall()
            if not page:
                self.last_id = self.end_id
                break
            self.last_id = page[-1][1]
            ahead += len(page)
            self.rows_read += len(page)
            self.window.update({row[0]: row[1:] for row in page})     # ~10% faster than a generator
            wanted = self._take(wanted, found)
        window = self.window
        if len(window) > self.WINDOW:                # the oldest rows read go first
            for digest in list(itertools.islice(window, len(window) - self.WINDOW)):
                del window[digest]
        if wanted:
            found.update((row[0], row[1:]) for row in self.writer.select_in(self.head, 'line_hash', wanted))
        return found

    def _take(self, hashes, found: dict) -> list:
        """Move the rows of ``hashes`` the window holds into ``found``; the hashes it does not hold."""
        window, wanted = self.window, []
        for digest in hashes:
            row = window.pop(digest, None)
            if row is None:
                wanted.append(digest)
            else:
                found[digest] = row
        self.rows_used += len(hashes) - len(wanted)
        return wanted


class PlaylistIngest:
    """Streams a playlist into processed_lines: batched upserts, one short
    transaction per batch (other instances keep writing meanwhile), unchanged
    lines neither re-classified nor rewritten, vanished lines marked
    ``missing_since`` (never deleted)."""

    def __init__(self, line_filter: LineFilter | None = None, *, force=False, dry_run=False,
                 limit=None, can_read_db=True, parse_worker='false'):
        self.filter = line_filter or LineFilter()
        self.parse_worker = parse_worker     # [m3u] parse_worker (auto|true|false): _use_worker
        self.force = force
        self.dry_run = dry_run
        self.limit = limit
        self.can_read_db = can_read_db
        self._scan = None            # _existing's, made at its first batch of a run
        self._found_ids, self._worker_rows = None, 0
        # Called once, before the first batch is stored (process: ImportPointer.begin).
        # A read that finds no entry stores nothing, so the record of the last
        # complete import is still true and stays (an empty file cleared it).
        self.before_storing: Callable[[], None] | None = None
        # Called before each batch is stored and before lines are marked gone:
        # import_lock's check(), which stops an import whose lock was removed
        # (another import may be running alongside).
        self.check_lock: Callable[[], None] | None = None

    # processed_lines.source of the lines this ingest writes, and the present lines
    # of that source a complete read marks gone when it did not see them (rows
    # older than the column are the M3U's).
    source = 'm3u'
    # The panel import this ingest is, when `process` records it (playlist_imports):
    # its begin() cleared every pointer already and its end counts, so its own
    # batches do not invalidate them again (that would end it "overlapped").
    pointer: 'ImportPointer | None' = None
    # Whether _existing merges the batches with the table read in id order
    # (_StoredLineScan): for reads of a whole playlist or catalogue, whose
    # lines an import stored in that order; not for one series' episodes.
    merge_scan = True
    # The columns an update of a stored line writes (all but the lookup key). An
    # M3U line knows nothing of the panel columns: a line the panel wrote keeps
    # its source, ids and extension when the playlist lists its URL again (an
    # `auto` fallback to an old playlist file must not strip the ids matching uses).
    @property
    def update_columns(self) -> tuple:
        return _LINE_COLUMNS[1:-len(_M3U_PANEL_VALUES)] if self.source == 'm3u' else _LINE_COLUMNS[1:]

    def _source_lines(self):
        return ProcessedLine.source.is_null() | (ProcessedLine.source == 'm3u')

    def run(self, path: str, on_progress=None, playlist: PlaylistFile | None = None) -> IngestSummary:
        """Read ``playlist`` (opened from ``path`` when not given; when its
        sha256() was taken, the read must have had those bytes to count as
        complete) into processed_lines."""
        summary = IngestSummary(playlist=os.path.abspath(path), dry_run=self.dry_run)
        playlist = playlist or PlaylistFile(path)
        fh = playlist.reader()
        with contextlib.suppress(PlaylistChanged):      # sticky: _read's first line raises it again
            fh = bom_as_text(fh, path)
        stats = ParseStats()
        seen: set[str] = set()
        self._read_as = None
        self._ingest(summary, lambda by_type: self._read(fh, stats, seen, summary, by_type, on_progress,
                                                         playlist))
        # What was read: this process's reader, or the parse worker's (_read_as).
        read_digest, changed = self._read_as or (playlist.read_digest(), playlist.changed)
        if not (changed or summary.limited or playlist.digest is None):
            changed = read_digest != playlist.digest       # a change the fstats did not see
        summary.changed_while_read = changed
        summary.lines_read, summary.entries = stats.lines_read, stats.entries
        summary.malformed, summary.decode_errors = stats.malformed, stats.decode_errors
        summary.encoding_fallbacks, summary.entities_decoded = stats.encoding_fallbacks, stats.entities_decoded
        summary.header_missing = stats.header_missing
        summary.malformed_samples = list(stats.malformed_samples)
        # Only a complete, non-empty read of the file as it was says what is gone
        # from the playlist; and only a line stored before this run can be gone (a
        # first import skips the scan of every row it just wrote: ~0.25 s of 200k,
        # issue 15).
        whole = not (summary.limited or changed)
        if self._found_ids is not None:         # the parse worker's read: marked by id
            if whole and self._worker_rows and self.can_read_db:
                summary.disappeared = self._mark_disappeared(self._found_ids, self._source_lines(), by_id=True)
        elif whole and seen and self.can_read_db and self._lookups:
            summary.disappeared = self._mark_disappeared(seen, self._source_lines())
        summary.elapsed_seconds = round(time.monotonic() - self._started, 3)
        return summary

    def _ingest(self, summary: IngestSummary, read: Callable[[collections.Counter], None]) -> None:
        """Run ``read(by_type)``, which feeds _take(), with the database set for a
        bulk import; summary.by_content_type filled in."""
        self._started = time.monotonic()
        by_type = collections.Counter()
        # A first import needs no lookups: every line is new (a concurrent
        # import is still safe, inserts ignore conflicts).
        self._lookups = self.can_read_db and ProcessedLine.select().limit(1).exists()
        self._scan = None
        # The last row stored before this run: every row of a line this run
        # stores anew comes after it.
        self._end_id = _last_line_id() if self._lookups else 0
        self._found_ids, self._worker_rows = None, 0     # _read's, when the parse worker reads
        deferred = [] if self._lookups or self.dry_run else self._drop_indexes()
        # Hundreds of thousands of short-lived, acyclic objects: the cyclic
        # collector only costs time here (about 6%, bench/RESULTS.md).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            read(by_type)
        finally:
            if gc_was_enabled:
                gc.enable()
            if deferred:
                self._restore_indexes()
            summary.by_content_type = dict(sorted(by_type.items()))

    @staticmethod
    def _drop_indexes() -> list[str]:
        """First import into an empty table: index maintenance per row was a
        third of the storing time, and each batch's commit rewrote most of the
        random line_hash index into the WAL again (335k page writes for 200k
        lines, and worse than linear growth: bench/RESULTS.md). So every index
        is built once at the end, over the finished table. Lines are unique
        within a run (``seen``); only an overlapping first import by another
        instance can add a line twice, and _restore_indexes folds those."""
        db = db_proxy.obj
        with schema_change(db):
            names = [i.name for i in db.get_indexes(ProcessedLine._meta.table_name)
                     if i.columns != ['id']]       # PostgreSQL lists the primary key's too
            for name in names:
                db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
        return names

    @staticmethod
    def _restore_indexes() -> None:
        """Build the indexes _drop_indexes dropped. If we are killed before this,
        the next start's migrate builds them (and folds duplicates the same way),
        or the next import once it holds the import lock (App.lock_imports)."""
        build_missing_line_indexes(db_proxy.obj)

    def _read(self, fh, stats, seen, summary, by_type, on_progress, playlist):
        if self._use_worker():
            try:
                worker = _ParseWorker(self, fh, stats, summary, BulkWriter(db_proxy.obj).pg, playlist)
            except OSError as exc:          # no fork (a process limit): the one-process way
                log.info('parse worker not started (%s): parsing in this process', exc)
            else:
                if self._lookups:
                    self._found_ids = set()
                with fh, worker:
                    for values in worker.batches(on_progress):
                        self._flush_values(values, summary, by_type)
                self._read_as = worker.read_as
                return
        batch = []
        # Measured and dropped (bench/RESULTS.md, issue 15): a background thread
        # storing one batch (and looking up the next) while this one is
        # classified made every step 1.2-1.3x slower on the two shared vCPUs
        # (the GIL); a second process (_ParseWorker) is what overlaps them.
        with fh:
            entries = iter_playlist(fh, stats, on_progress)
            # PlaylistChanged: the file changed under the reader, which stopped
            # before the bytes read after the change; the lines read are stored.
            with contextlib.suppress(PlaylistChanged):
                for entry in entries:
                    if self.limit and len(seen) >= self.limit:
                        summary.limited = True
                        entries.close()
                        stats.uncount(entry)
                        break
                    if self.filter.active and not self.filter.allows(entry):
                        summary.filtered += 1
                        continue
                    digest = line_hash(entry.tvg_name or entry.display_title, entry.url)
                    batch = self._take(digest, entry, batch, seen, summary, by_type)
            self._flush(batch, summary, by_type)

    def _use_worker(self) -> bool:
        """Whether _ParseWorker parses: only where every line is classified anyway
        (a first import, --force; a re-run classifies only the changed lines),
        and under ``auto`` only when more than one CPU is usable (the affinity
        mask: on one, the two processes would only take turns, and the pickling
        between them is ~10% more CPU). It also wins on a busy box (measured at
        load 5-7 on two vCPUs: bench/RESULTS.md)."""
        if self.parse_worker == 'false' or not (self.force or not self._lookups) \
                or not hasattr(os, 'fork'):
            return False
        return self.parse_worker == 'true' or usable_cpus() > 1

    def _take(self, digest: str, entry, batch: list, seen: set, summary, by_type) -> list:
        """Add one entry to the batch (a duplicate is counted, not added); the
        batch to go on with (a new one after a full batch was stored)."""
        if digest in seen:
            summary.duplicates += 1
            return batch
        seen.add(digest)
        batch.append((digest, entry))
        if len(batch) >= INGEST_BATCH:
            self._flush(batch, summary, by_type)
            return []
        return batch

    # What a line's stored fields derive from, its classification and its row
    # values: the M3U's here, the panel's in XtreamIngest.
    def _meta(self, entry) -> str:
        return entry_meta_hash(entry)

    def _classify(self, entry) -> Classification:
        return classify(entry)

    def _values(self, entry, cls, digest, meta, now) -> tuple:
        return _line_values(entry, cls, digest, meta, now)

    def _existing(self, hashes):
        """line_hash -> (id, meta_hash, missing_since, content_type, line_number[,
        with --force the rest of _COMPARED's stored values]) of the stored lines among
        ``hashes`` (one batch, in playlist order): _StoredLineScan."""
        if not self._lookups:
            return {}
        if not self.merge_scan:
            return self._by_index(hashes)
        if self._scan is None:
            self._scan = _StoredLineScan(BulkWriter(db_proxy.obj), self._select_head(), self._end_id)
        return self._scan.rows_for(hashes)

    def _select_head(self) -> str:
        # With --force, every compared value: to skip the rows whose values the
        # re-classification does not change (a --force that rewrote all 200k rows
        # took 5.8 s; 1.4 s skipping them). air_date as text: what _line_values
        # stores, on both engines. The places of these columns in a stored row:
        # _STORED_LINE_NUMBER, _STORED_COMPARED.
        columns = _COMPARED if self.force else _LOOKUP_COLUMNS
        listed = ', '.join('CAST("air_date" AS TEXT)' if c == 'air_date' else f'"{c}"' for c in columns)
        return f'SELECT "line_hash", "id", {listed} FROM "processed_lines"'

    def _by_index(self, hashes) -> dict:
        rows = BulkWriter(db_proxy.obj).select_in(self._select_head(), 'line_hash', hashes)
        return {row[0]: row[1:] for row in rows}

    def _about_to_store(self) -> None:
        """Call before_storing, once: before the first batch's lookups (an Xtream
        read moves rows there) and writes."""
        if self.check_lock is not None and not self.dry_run:
            self.check_lock()
        if self.before_storing is not None and not self.dry_run:
            begin, self.before_storing = self.before_storing, None
            begin()

    def _flush(self, batch, summary, by_type):
        if not batch:
            return
        self._about_to_store()
        existing = self._existing([digest for digest, _ in batch])
        writer = BulkWriter(db_proxy.obj)
        now = writer.timestamp(utcnow())
        new_rows, updates, reappeared, cleared, renumbered = [], [], [], [], []
        for digest, entry in batch:
            meta = self._meta(entry)
            old = existing.get(digest)
            if old and old[1] == meta and not self.force:
                # Not rewritten; but a line that moved in the file (a line added
                # or dropped above it) gets its new line_number, and only that:
                # it is still unchanged (trial-15c F1: lines --json showed the
                # position of the import that last wrote the row).
                summary.unchanged += 1
                by_type[old[3] or 'uncategorized'] += 1
                if old[2] is not None:
                    reappeared.append(old[0])
                if old[_STORED_LINE_NUMBER] != entry.line_no:
                    renumbered.append((old[0], entry.line_no))
                continue
            self._sort(self._values(entry, self._classify(entry), digest, meta, now), old, now,
                       summary, by_type, new_rows, updates, cleared)
        self._store(writer, new_rows, updates, reappeared, cleared, summary, renumbered)

    def _flush_values(self, rows, summary, by_type):
        """Store one batch of _ParseWorker's rows (_line_values tuples of lines
        new in this run, each classified): a first import, or --force."""
        if rows:
            self._about_to_store()
        existing = self._existing([values[0] for values in rows])
        if self._found_ids is not None:
            # --force: what is gone is marked by the ids of the rows found, not by
            # the lines' hashes (1M of them held 130 MB more than 1M ids).
            self._found_ids.update(old[0] for old in existing.values())
            self._worker_rows += len(rows)
        writer = BulkWriter(db_proxy.obj)
        new_rows, updates, cleared = [], [], []
        if not existing:                       # a first import: every row is new
            summary.new += len(rows)
            by_type.update(values[_CONTENT_TYPE_AT] for values in rows)
            now = rows[0][_UPDATED_AT] if rows else None
            new_rows = [values + ('processed', now, now) for values in rows]
        else:
            for values in rows:
                now = values[_UPDATED_AT]
                self._sort(values, existing.get(values[0]), now, summary, by_type, new_rows, updates, cleared)
        self._store(writer, new_rows, updates, [], cleared, summary)

    def _sort(self, values, old, now, summary, by_type, new_rows, updates, cleared) -> None:
        """File one classified line: a new row, an update of row ``old``, or
        (--force) nothing when its stored values are what it derives."""
        by_type[values[_CONTENT_TYPE_AT]] += 1
        if old:
            if old[2] is not None:
                # Back after it was gone, whether rewritten or not (trial-15c F2:
                # only an unchanged line without --force counted).
                summary.reappeared += 1
            if self.force:
                summary.reclassified += 1
                if old[_STORED_COMPARED:] == _compared_values(values):
                    # Classified again to the same values: not rewritten, so not
                    # "updated" (trial-15 F4: --force said updated 50000).
                    summary.unchanged += 1
                    return
            summary.updated += 1        # rewritten
            # line_hash is the lookup key: the same by definition, and writing
            # it rewrote the unique index's entry of every row.
            updates.append(values[1:len(self.update_columns) + 1] + (old[0],))
            if values[_TMDB_AT] is None and 'tmdb_id' in self.update_columns:
                cleared.append(old[0])
        else:
            summary.new += 1
            new_rows.append(values + ('processed', now, now))

    def _store(self, writer, new_rows, updates, reappeared, cleared, summary, renumbered=()) -> None:
        """reappeared: the ids of unchanged rows back in the playlist (the
        rewritten ones _sort counted); renumbered: (id, line_number) of unchanged
        rows whose line moved."""
        summary.reappeared += len(reappeared)
        if self.dry_run:
            return
        if self.source != 'm3u' and self.pointer is None and (new_rows or updates or reappeared):
            # The panel's lines (also the episodes a sonarr run fetches) may take
            # over the playlist's: the next `process` of the playlist reads it again.
            ImportPointer.invalidate()
        self._write(writer, new_rows, updates, reappeared, not self._lookups, self.update_columns,
                    cleared, renumbered)

    # Times a batch is written when PostgreSQL aborts it to break a deadlock.
    WRITE_ATTEMPTS = 4

    @classmethod
    def _write(cls, writer, new_rows, updates, reappeared, first_import, update_columns, cleared=(),
               renumbered=()):
        """One batch, one transaction. On PostgreSQL every statement changes its
        rows in id order: two instances updating the same rows met them in their
        playlists' orders and deadlocked (trial-15c F3). New lines keep the
        playlist's order (their ids follow it, on both engines); a deadlock or
        serialization failure left (two runs inserting the same new lines in
        opposite orders) runs the batch again."""
        if writer.pg:
            updates = sorted(updates, key=operator.itemgetter(-1))
            reappeared, cleared = sorted(reappeared), sorted(cleared)
        for attempt in range(1, cls.WRITE_ATTEMPTS + 1):
            try:
                cls._write_once(writer, new_rows, updates, reappeared, first_import, update_columns, cleared,
                                renumbered)
                break
            except database_errors() as exc:
                if attempt == cls.WRITE_ATTEMPTS or not lost_lock_race(exc):
                    raise
                log.info('storing a batch: %s; trying again (%d of %d)', first_line(exc), attempt + 1,
                         cls.WRITE_ATTEMPTS)
                time.sleep(random.uniform(0.05, 0.25) * attempt)
        crash_point('after_ingest_batch')

    @staticmethod
    def _write_once(writer, new_rows, updates, reappeared, first_import, update_columns, cleared,
                    renumbered):
        columns = _LINE_COLUMNS + ('state', 'first_seen_at', 'created_at')
        with db_proxy.atomic():
            copied = False
            if first_import and writer.pg and new_rows:
                # No index to conflict with, unless an overlapping first import
                # built them already: then this batch goes the INSERT way.
                try:
                    with db_proxy.atomic():
                        writer.copy_in('processed_lines', columns, new_rows)
                    copied = True
                except (peewee.IntegrityError, psycopg2.IntegrityError):     # a raw cursor: not wrapped
                    pass
            if not copied:
                # Another instance may be importing the same playlist right now: ignore conflicts.
                writer.insert_ignore('processed_lines', columns, new_rows)
            writer.update_by_id('processed_lines', update_columns, updates)
            # A rewrite without a tmdb_id drops the one get_vod_info gave: the panel is
            # asked again, or a line it called another film would be taken by its title
            # (trial-16b F1b: a category change, process --force).
            for chunk in _chunks(cleared, _SQL_IN_CHUNK):
                (ProcessedLine.update(panel_info_at=None)
                 .where(ProcessedLine.id.in_(chunk) & ProcessedLine.panel_info_at.is_null(False)).execute())
            for chunk in _chunks(reappeared, _SQL_IN_CHUNK):
                (ProcessedLine.update(missing_since=None, updated_at=utcnow())
                 .where(ProcessedLine.id.in_(chunk)).execute())
            writer.set_by_id('processed_lines', 'line_number', renumbered)     # in id order too

    def _mark_disappeared(self, seen: set, where, by_id: bool = False) -> int:
        """Mark the present lines matching ``where`` that are not in ``seen``
        (line hashes; with ``by_id``, the ids of the stored rows this run's
        lines found) as gone; how many."""
        if self.check_lock is not None and not self.dry_run:
            self.check_lock()
        PL = ProcessedLine
        present = PL.missing_since.is_null() & PL.line_hash.is_null(False) & (where)
        # A plain cursor: building a peewee row per line was 1 s of a 2.4 s re-run.
        if by_id:
            # A line new in this run was stored after _end_id, so only a row up
            # to it can be one this run did not read.
            sql, params = PL.select(PL.id).where(present & (PL.id <= self._end_id)).sql()
            gone = [row_id for row_id, in db_proxy.obj.execute_sql(sql, params) if row_id not in seen]
        else:
            sql, params = PL.select(PL.id, PL.line_hash).where(present).sql()
            gone = [row_id for row_id, digest in db_proxy.obj.execute_sql(sql, params) if digest not in seen]
        if self.dry_run:
            return len(gone)
        if gone and self.source != 'm3u' and self.pointer is None:
            ImportPointer.invalidate()
        now = utcnow()
        gone.sort()                         # in id order, as every batch writes (_write)
        with db_proxy.atomic():
            for chunk in _chunks(gone, _SQL_IN_CHUNK):
                PL.update(missing_since=now, updated_at=now).where(PL.id.in_(chunk)).execute()
        return len(gone)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask: a container or
    `taskset` may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class _ParseWorker:
    """A forked child that parses, filters, hashes and classifies the playlist
    while the parent process stores the rows (issue 15: classifying is ~60% of
    a first import's CPU, storing ~40%; a thread could not overlap them, the
    GIL being held by both). The child classifies the head of each batch (its
    worker_share) and sends the tail unclassified, for the parent to classify:
    with all of it in the child, the child took 4.5 s of CPU for 200k lines and
    the parent 2.4 s, so the parent sat waiting for half the import (and with
    --force, which stores little, most of it).

    The child reads the file object the parent opened and writes pickled
    messages into a pipe: ('progress', bytes_read), ('batch', [_line_values
    tuple, ...], [(line_hash, meta_hash, PlaylistEntry fields), ...],
    timestamp) of up to INGEST_BATCH lines not seen before in this run (the
    first FIRST_BATCH), the classified ones first, both in playlist order; then
    ('done', ParseStats as a dict, duplicates, filtered, limited, (peak RSS
    KiB, CPU seconds), (SHA-256 of the bytes it read, whether the file
    changed under it: PlaylistFile)), or ('error', OSError | None, text). The
    file changing under the child ends its read as it ends the one-process
    read: the lines read are sent, then 'done'. The pipe holds 1 MiB
    (_widen_pipe), so the child runs at most a batch ahead of the storing
    (memory stays bounded). The child never touches the database and ends
    with os._exit (no atexit, no connection closed under the parent). It dies with the parent: the kernel
    SIGKILLs it when the parent dies (PR_SET_PDEATHSIG), and a write into the
    pipe of a dead parent fails anyway; when the child dies, the parent reads
    the end of the pipe and raises StalkeerError, having stored the batches
    before (each its own transaction, as a killed one-process import leaves
    them)."""

    # The share of each batch's lines the child classifies; the parent the
    # rest. Split inside every batch rather than by whole batches (every 2nd
    # to the parent, until issue 15's last round), so that both processes
    # take as long over each batch and neither waits for the other's turn.
    # Measured on 200k lines: bench/RESULTS.md.
    WORKER_SHARE = 0.5            # a first import: the parent also inserts every row
    # --force: the parent stores little. 0.35 since it reads each stored value
    # once (at 0.45 its CPU after the fork was ~1.5 s under the child's).
    WORKER_SHARE_FORCE = 0.35
    # The first batch is small, so that the parent has work while the child
    # parses on: a full first batch left the parent idle ~0.4 s.
    FIRST_BATCH = 1000

    @classmethod
    def worker_share(cls, ingest: 'PlaylistIngest') -> float:
        """The share (0..1) of each batch the child classifies for ``ingest``."""
        return cls.WORKER_SHARE_FORCE if ingest.force else cls.WORKER_SHARE

    def __init__(self, ingest: 'PlaylistIngest', fh, stats: ParseStats, summary, pg: bool,
                 playlist: PlaylistFile):
        self.stats, self.summary = stats, summary
        self.read_as = None                      # the child's (read_digest, changed), at its end
        self._classify, self._values = ingest._classify, ingest._values
        read_fd, write_fd = os.pipe()
        _widen_pipe(write_fd)
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            close_quietly(read_fd, write_fd)
            raise
        if pid == 0:                             # the child: never returns
            os.close(read_fd)
            code = 1
            try:
                self._child_setup(parent)
                with open(write_fd, 'wb', buffering=1 << 16) as out:
                    code = self._child(ingest, fh, playlist, out, pg)
            finally:
                os._exit(code)
        os.close(write_fd)
        self.pid = pid
        self.pipe = open(read_fd, 'rb', buffering=1 << 16)

    @staticmethod
    def _child_setup(parent: int) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)     # Ctrl-C stops both; so does the parent's end
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG (Linux)
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:               # the parent died before prctl took hold
            os._exit(1)

    @staticmethod
    def _child(ingest: 'PlaylistIngest', fh, playlist: PlaylistFile, out, pg: bool) -> int:
        import pickle

        def send(message):
            pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
            # No memo: a batch is flat tuples, dicts and strings, never an object
            # that refers to itself, and remembering each of its ~300,000 strings
            # was half the cost of pickling it (0.2 s -> 0.09 s for 100k rows).
            pickler.fast = True
            pickler.dump(message)
            out.flush()

        stats = ParseStats()
        seen: set[bytes] = set()
        rows, unclassified, duplicates, filtered, limited = [], [], 0, 0, False
        limit, line_filter = ingest.limit, ingest.filter
        meta_of, classify_, values_of = ingest._meta, ingest._classify, ingest._values
        # The first `mine` lines of each batch are classified here, the rest by the parent.
        share = _ParseWorker.worker_share(ingest)
        size = min(INGEST_BATCH, _ParseWorker.FIRST_BATCH)
        mine = round(size * share)
        try:
            now = BulkWriter.timestamp_of(utcnow(), pg)
            entries = iter_playlist(fh, stats, lambda done: send(('progress', done)))
            with contextlib.suppress(PlaylistChanged):      # as PlaylistIngest._read: the lines read are sent
                for entry in entries:
                    if limit and len(seen) >= limit:
                        limited = True
                        entries.close()
                        stats.uncount(entry)
                        break
                    if line_filter.active and not line_filter.allows(entry):
                        filtered += 1
                        continue
                    digest = line_hash(entry.tvg_name or entry.display_title, entry.url)
                    key = bytes.fromhex(digest)      # 53 bytes a line instead of 89: 36 MB less at 1M
                    if key in seen:
                        duplicates += 1
                        continue
                    seen.add(key)
                    if len(rows) < mine:
                        rows.append(values_of(entry, classify_(entry), digest, meta_of(entry), now))
                    else:
                        unclassified.append((digest, meta_of(entry), entry.line_no, entry.duration,
                                             entry.attrs, entry.display_title, entry.url))
                    if len(rows) + len(unclassified) >= size:
                        send(('batch', rows, unclassified, now))
                        crash_point('parse_worker_batch')
                        rows, unclassified = [], []
                        size = INGEST_BATCH
                        mine = round(size * share)
                        now = BulkWriter.timestamp_of(utcnow(), pg)
            if rows or unclassified:
                send(('batch', rows, unclassified, now))
            # ParseStats as a dict: pickle names a class by its module, and when
            # the script is run by another (`python -m cProfile stalkeer.py`),
            # __main__ is that one and holds no ParseStats. The digest of the
            # bytes this child read, for the parent's PlaylistIngest.run.
            send(('done', dataclasses.asdict(stats), duplicates, filtered, limited, _peak_rss_kib(),
                  (playlist.read_digest(), playlist.changed)))
            return 0
        except BrokenPipeError:                  # the parent is gone: nothing to tell
            return 1
        except Exception as exc:                 # noqa: BLE001 - told to the parent, which raises
            send(('error', exc if isinstance(exc, OSError) else None, first_line(exc)))
            return 1

    def batches(self, on_progress=None) -> Iterator[list]:
        """The child's batches of rows, in playlist order; stats and summary
        filled in at its end. PlaylistError for a file the child could not
        read, StalkeerError when the child died."""
        import pickle       # only here: the start of every other command stays lighter
        while True:
            try:
                message = pickle.load(self.pipe)
            except (EOFError, pickle.UnpicklingError):
                raise StalkeerError(f'the playlist parse worker (pid {self.pid}) {self._died()}: '
                                    'the lines stored so far are kept; run process again '
                                    '(or set [m3u] parse_worker = false)') from None
            kind = message[0]
            if kind == 'batch':
                rows, unclassified, now = message[1:]
                if unclassified:
                    rows.extend(self._finish(unclassified, now))
                yield rows
            elif kind == 'progress':
                if on_progress is not None:
                    on_progress(message[1])
            elif kind == 'done':
                stats, duplicates, filtered, limited, rss, self.read_as = message[1:]
                for name, value in stats.items():
                    setattr(self.stats, name, value)
                self.summary.duplicates += duplicates
                self.summary.filtered += filtered
                self.summary.limited = self.summary.limited or limited
                mine = _peak_rss_kib()
                log.debug('parse worker %d: peak RSS %.0f MiB, CPU %.2f s; this process so far: %.0f MiB, '
                          '%.2f s', self.pid, rss[0] / 1024, rss[1], mine[0] / 1024, mine[1])
                return
            else:
                exc, text = message[1:]
                if exc is not None:
                    raise PlaylistError(f'cannot read playlist: {exc.strerror or text}')
                raise StalkeerError(f'the playlist parse worker failed: {text}')

    def _finish(self, entries: list, now) -> list:
        """The row values of a batch the child left unclassified."""
        classify_, values_of, rows = self._classify, self._values, []
        for digest, meta, *fields in entries:
            entry = PlaylistEntry(*fields)
            rows.append(values_of(entry, classify_(entry), digest, meta, now))
        return rows

    def _died(self) -> str:
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if os.WIFSIGNALED(status):
            return f'was killed by signal {os.WTERMSIG(status)}'
        return f'stopped with exit status {os.waitstatus_to_exitcode(status)}'

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        """The pipe closed and the child reaped; a child still running (the
        parent failed storing) is killed first."""
        self.pipe.close()
        if self.pid:
            if exc_info[0] is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


def _widen_pipe(fd: int) -> None:
    """Let the pipe hold 1 MiB (Linux's default cap for a user, pipe-max-size)
    instead of 64 KiB: a batch of rows is ~3 MB, and each time the pipe runs full
    the writer sleeps until the reader is scheduled again. On a busy box that
    wake-up takes milliseconds, and 48 of them a batch made the worker path 1.5-2.8x
    slower than one process (bench/RESULTS.md)."""
    with contextlib.suppress(OSError, AttributeError):     # a smaller pipe only costs wake-ups
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


def _peak_rss_kib() -> tuple[int, float]:
    """(peak RSS in KiB, CPU seconds) of this process, for the debug log."""
    try:
        import resource
    except ImportError:
        return 0, 0.0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_maxrss, usage.ru_utime + usage.ru_stime


class ImportPointer:
    """The "last import" pointer of a database (playlist_imports): whether a
    re-run of a playlist may skip the per-line work (issue 15: a re-run of an
    unchanged 200k-line file took 0.40x the first import, all of it per-line
    work already at its floor).

    It may when the last import of this source read a file with the same SHA-256
    with the same CLASSIFIER_VERSION and [filter] patterns, completed (not
    interrupted, not --limit, not --dry-run), overlapped with no other import,
    and processed_lines has neither gained nor lost a row since. Every import
    (M3U or Xtream) bumps ``epoch`` when it starts storing (begin(), called
    before its first batch: PlaylistIngest.before_storing) and when it ends,
    and clears every ``completed_at`` when it starts storing; an import marks
    itself complete only if the epoch is still the one it started with, so
    another instance's import of any file in between (or still running)
    leaves the pointer cleared. An import that stores nothing (a file with no
    entry, refused) changes none of it (newcomer trial: an empty file cleared
    the last complete import's record). Lines that other commands change
    (state, download_info) are not what an import stores."""

    def __init__(self, source: str, digest: str, filter_key: str):
        self.source, self.digest, self.filter_key = source, digest, filter_key
        self.run_id = os.urandom(16).hex()
        self.epoch = None

    @staticmethod
    def _line_stats() -> tuple:
        row = db_proxy.obj.execute_sql('SELECT COUNT(*), MAX("id") FROM "processed_lines"').fetchone()
        return int(row[0]), row[1]

    def unchanged(self):
        """The PlaylistImport row that says this file needs no work, or None."""
        row = PlaylistImport.get_or_none(PlaylistImport.source == self.source)
        if (row is None or row.completed_at is None or row.digest != self.digest
                or row.classifier_version != CLASSIFIER_VERSION or row.filter_key != self.filter_key):
            return None
        if self._line_stats() != (row.line_count, row.max_line_id):
            return None
        return row

    @staticmethod
    def invalidate() -> None:
        """Another import starts or ends: no pointer holds across it."""
        PlaylistImport.update(completed_at=None, epoch=PlaylistImport.epoch + 1).execute()

    def begin(self) -> None:
        with db_proxy.atomic():
            self.invalidate()
            PI = PlaylistImport
            (PI.insert(source=self.source, digest=self.digest, classifier_version=CLASSIFIER_VERSION,
                       filter_key=self.filter_key, run_id=self.run_id, epoch=0, lines=0)
             .on_conflict_ignore().execute())
            PI.update(digest=self.digest, classifier_version=CLASSIFIER_VERSION,
                      filter_key=self.filter_key, run_id=self.run_id, lines=0, line_count=None,
                      max_line_id=None, started_at=utcnow(), completed_at=None
                      ).where(PI.source == self.source).execute()
            self.epoch = PI.get(PI.source == self.source).epoch

    def finish(self, summary: 'IngestSummary | None') -> None:
        """Mark this import complete (``summary``: what it read), or with None
        end it incomplete (interrupted, a --limit, a file changed while read).
        An import never begun (begin() is called before its first stored
        batch) stored nothing: ended incomplete it changes nothing (the last
        complete import's record stays); complete (every entry filtered out)
        it is begun and finished here."""
        if self.epoch is None:
            if summary is None:
                return
            self.begin()
        PI = PlaylistImport
        with db_proxy.atomic():
            done = 0
            if summary is not None:
                count, max_id = self._line_stats()
                lines = summary.new + summary.updated + summary.unchanged
                counts = {k: v for k, v in summary.as_dict().items() if k in _KEPT_COUNTS}
                done = (PI.update(completed_at=utcnow(), epoch=PI.epoch + 1, lines=lines,
                                  line_count=count, max_line_id=max_id,
                                  counts=json.dumps(counts, sort_keys=True))
                        .where((PI.source == self.source) & (PI.run_id == self.run_id)
                               & (PI.epoch == self.epoch)).execute())
            if not done:
                self.invalidate()
                # Its lines are stored, maybe over another import's (one that
                # overlapped): the record says "did not complete", never
                # "complete" with no completed_at (trial-18a F1).
                PI.update(line_count=None, max_line_id=None).where(PI.source == self.source).execute()


# What a skipped re-run reports as the last import read it: the same file gives
# the same counts (new/updated/disappeared/reappeared: 0, unchanged: every line).
_KEPT_COUNTS = ('lines_read', 'entries', 'duplicates', 'filtered', 'malformed', 'encoding_fallbacks',
                'decode_errors', 'entities_decoded', 'header_missing', 'by_content_type',
                'malformed_samples')


def filter_key(line_filter: LineFilter) -> str:
    """SHA-256 of the [filter] patterns: a changed filter stores other lines."""
    text = json.dumps({key: [r.pattern for r in patterns]
                       for key, patterns in sorted(line_filter.patterns.items())})
    return hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()


# ==== arr clients ===============================================================


class ArrError(StalkeerError):
    """Radarr/Sonarr cannot be reached or answered something unusable."""


@dataclasses.dataclass
class ArrSettings:
    """The [radarr] / [sonarr] section, validated."""
    section: str
    name: str
    url: str
    api_key: str
    path_map: list
    rescan: bool
    require_available: bool = True
    library_path: str | None = None
    timeout: float = 60
    # What may be said of api_key's value (Config.secret_note), or '': Radarr's
    # 401 alone said "rejected the API key" of a key pasted in its quotes.
    api_key_note: str = ''

    @classmethod
    def from_config(cls, cfg: Config, section: str) -> 'ArrSettings':
        name = section.capitalize()
        # Each mistake named, a wrong url not hiding a missing api_key (trial-18a
        # F3's pattern); a command stops at the first all the same.
        problems = []
        try:
            url = cfg.geturl(section, 'url')
        except ConfigError as exc:
            url, problems = None, [str(exc)]
        try:
            key = cfg.getheader(section, 'api_key')
        except ConfigError as exc:
            key = None
            problems.append(str(exc))
        if key:
            redact.add(key)     # first: the errors below mask it
        if url:
            parts = urllib.parse.urlsplit(url)
            if parts.query or parts.fragment or url.endswith(('?', '#')):
                # The API's paths are appended to it: /radarr?apikey=K/api/v3/... (trial-16b N4).
                problems.append(f'{cfg.where(section, "url")} is {name}\'s base URL and takes no ?query or '
                                f'#fragment, got {quoted_url(url)} (the API key goes in [{section}] api_key)')
        if not (cfg.get(section, 'url') and cfg.get(section, 'api_key')):    # as written
            problems.append(
                f'{name} is not configured: set [{section}] url and api_key '
                f'(or STALKEER_{section.upper()}_URL and STALKEER_{section.upper()}_API_KEY)')
        raise_config_errors(problems)
        return cls(section=section, name=name, url=url.rstrip('/'), api_key=key,
                   path_map=cfg.getpathmap(section),
                   rescan=cfg.getbool(section, 'rescan'),
                   require_available=(cfg.getbool(section, 'require_available')
                                      if section == 'radarr' else True),
                   library_path=cfg.getpath('downloads', 'movies_path' if section == 'radarr'
                                            else 'tvshows_path'),
                   timeout=cfg.getnumber(section, 'timeout'),
                   api_key_note=cfg.secret_note(section, 'api_key') or '')


def parse_path_map(text: str, section: str, where: str | None = None) -> list[tuple[str, str]]:
    """``REMOTE=LOCAL`` lines: where the app's paths (inside its container, or on
    Windows: ``D:\\Movies``, ``\\\\nas\\media``) are here. ConfigError (ConfigErrors:
    each bad line) naming ``where`` the text came from (default ``[section] path_map``). Each LOCAL
    is judged as a folder setting (folder_setting_problem, role 'create')."""
    where = where or f'[{section}] path_map'
    pairs, problems, seen = [], [], set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        remote, sep, local = line.partition('=')
        remote, local = remote.strip(), local.strip()
        shown = clip(line, 80)
        # Each refused here, not when an item meets it (trial-16a F5: `config
        # --check` passed lines that failed at run time, or mapped nothing):
        if in_quotes(line):     # '"/data/movies=/mnt/movies"' was called a bad REMOTE (trial1 F)
            whole = 'value' if len(text.strip().splitlines()) == 1 else 'line'
            problems.append(f'{where}: the whole {whole} is in quotes, got {shown!r}; expected REMOTE=LOCAL'
                            f'{value_hint(line)}')
        elif not sep or not remote or not local:
            problems.append(f'{where}: expected REMOTE=LOCAL, got {shown!r}')
        elif '=' in local:          # which = splits it is a guess
            problems.append(f'{where}: more than one = in {shown!r}; expected REMOTE=LOCAL')
        elif not (remote.startswith('/') or is_windows_path(remote)):    # no app folder starts so
            problems.append(f'{where}: REMOTE must be an absolute path as {section.capitalize()} '
                            f'reports it (/data/media, D:\\Movies, \\\\nas\\media), got {shown!r}')
        elif not local.startswith('/'):     # app_folder refuses every item it maps
            problems.append(f'{where}: LOCAL must be an absolute path on this machine, got {shown!r}')
        elif _path_map_key(remote) in seen:     # map_path would take either, unsaid
            problems.append(f'{where}: the REMOTE path is mapped twice, again in {shown!r}; map it once')
        elif refusal := (folder_setting_problem(f'{where} LOCAL', local, 'create')
                         or commented_root_problem(f'{where} LOCAL', local, local)):
            # A library root (or a folder above one): stalkeer makes the movie
            # and series folders in it, as in movies_path (folder_problem, role
            # 'create'), at start and in config --check alike; a dangling link
            # there failed every item.
            problems.append(refusal)
        else:
            seen.add(_path_map_key(remote))
            pairs.append((remote.rstrip('/') or '/', local.rstrip('/') or '/'))
    raise_config_errors(problems)
    # Longest prefix first, so /data/movies/4k wins over /data/movies.
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def _path_map_key(remote: str) -> str:
    """A path_map REMOTE as map_path compares it (Windows: either slash, any case)."""
    spelled, windows = _path_spelling(remote)
    return spelled.lower() if windows else spelled or '/'


# Radarr/Sonarr on Windows report D:\Movies\Heat (1995), d:/movies/..., or UNC
# shares \\nas\media\Movies\... (also //nas/media/...).
_WINDOWS_PATH = _LazyPattern(r'(?:[A-Za-z]:[\\/]|[\\/]{2}[^\\/])')


def is_windows_path(path: str) -> bool:
    return bool(_WINDOWS_PATH.match(path))


def _path_spelling(path: str) -> tuple[str, bool]:
    """(path with forward slashes and no trailing one, whether it is a Windows path).
    Windows compares paths without regard to case; we compare those lower-cased."""
    if is_windows_path(path):
        return path.replace('\\', '/').rstrip('/'), True
    return path.rstrip('/'), False


def map_path(path: str, path_map) -> str:
    """``path`` as seen from here through ``path_map`` (longest REMOTE first);
    unchanged when no REMOTE is a prefix of it. Windows paths match with either
    slash and in any case (drive letters, UNC shares); what follows the prefix
    keeps its case and gets forward slashes."""
    spelled, windows = _path_spelling(path)
    fold = str.lower if windows else (lambda text: text)
    for remote, local in path_map:
        prefix, remote_windows = _path_spelling(remote)
        if remote_windows != windows:
            continue
        if prefix == '' or fold(spelled) == fold(prefix) \
                or fold(spelled).startswith(fold(prefix) + '/'):     # prefix '': REMOTE "/"
            return (local.rstrip('/') + spelled[len(prefix):]) or '/'
    return path


# -- reading answers ----------------------------------------------------------------
# Answers are read as a stream, one record at a time, each checked and trimmed to
# the fields stalkeer reads: a Radarr that ignores pageSize and sends 300k records
# in one page, or a library of 100k movies, costs the trimmed records and no more
# (bench/RESULTS.md has the peak RSS).

ARR_PAGE_SIZE = 250
ARR_CHUNK = 64 * 1024
ARR_MAX_VALUE = 16 * MiB          # one record (or any other single value) of an answer
ARR_MAX_RECORDS = 1_000_000       # records of one listing, all pages together
ARR_WAIT_NOTICE = 5               # seconds before a run says it is waiting for the app
ARR_WARN_RECORDS = 5              # malformed records warned about one by one, per listing

_JSON_BLANK = _LazyPattern(r'[ \t\n\r]*')
_JSON_NUMBER_TAIL = _LazyPattern(r'[0-9.eE+-]*')
_JSON_DECODER = json.JSONDecoder()


class AnswerError(ValueError):
    """What is wrong with an answer, as the end of a sentence: "… answered X with <this>"."""


class JsonStream:
    """One JSON document read from byte chunks a value at a time.

    Each value is parsed by ``json.JSONDecoder.raw_decode`` (C speed); the buffer
    holds the value being read plus one chunk, so an answer of any size is read in
    bounded memory. A single value larger than ``max_value`` characters, text that
    is not UTF-8 or not JSON raise AnswerError."""

    def __init__(self, chunks: Iterable[bytes], max_value: int | None = None):
        self._chunks = iter(chunks)
        # utf-8-sig: a UTF-8 BOM before the JSON (PHP panels with a BOM in an
        # included file send one; RFC 8259 §8.1 lets a parser ignore it) is skipped.
        self._utf8 = codecs.getincrementaldecoder('utf-8-sig')()
        self.max_value = ARR_MAX_VALUE if max_value is None else max_value
        self.buf = ''
        self.pos = 0
        self.eof = False

    def _more(self, at_least: int = 1) -> None:
        """Append at least ``at_least`` characters (fewer at the end of the answer)."""
        self.buf = self.buf[self.pos:]
        self.pos = 0
        pieces, added = [self.buf], 0
        try:
            while added < at_least and not self.eof:
                chunk = next(self._chunks, None)
                if chunk is None:
                    pieces.append(self._utf8.decode(b'', final=True))
                    self.eof = True
                else:
                    pieces.append(self._utf8.decode(chunk))
                added += len(pieces[-1])
        except UnicodeDecodeError:
            raise AnswerError('text that is not UTF-8') from None
        self.buf = ''.join(pieces)

    def peek(self) -> str:
        """The next character that is not blank ('' at the end), not consumed."""
        while True:
            self.pos = _JSON_BLANK.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos:self.pos + 1]
            self._more()

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise AnswerError(f'something that is not JSON (expected {char!r}, found '
                              f'{found or "the end"!r})')
        self.pos += 1

    def value(self):
        """The next whole value (object, list, string, number, true/false/null)."""
        if not self.peek():
            raise AnswerError('JSON that ends too early')
        while True:
            try:
                value, end = _JSON_DECODER.raw_decode(self.buf, self.pos)
            except RecursionError:
                raise AnswerError('JSON nested too deeply') from None
            except json.JSONDecodeError as exc:
                if self.eof:
                    # A cut answer (a dropped connection, a panel's PHP timeout) breaks
                    # off inside a string or right at the end: say so.
                    if exc.msg.startswith('Unterminated string') or exc.pos >= len(self.buf.rstrip()):
                        raise AnswerError(f'something that is not JSON: it ends too early ({exc.msg})') from None
                    raise AnswerError(f'something that is not JSON ({exc.msg})') from None
                pending = len(self.buf) - self.pos
                if pending > self.max_value:
                    raise AnswerError(f'a value larger than {human_bytes(self.max_value)}') from None
                self._more(max(pending, ARR_CHUNK))     # doubling: each value parsed O(1) times
                continue
            if not self.eof and type(value) in (int, float) \
                    and _JSON_NUMBER_TAIL.fullmatch(self.buf, end):
                self._more()        # "12" or "12." may be the start of "12.5": read on first
                continue
            self.pos = end
            return value

    def items(self) -> Iterator:
        """The values of the list that starts here, one by one."""
        self.expect('[')
        if self.peek() == ']':
            self.pos += 1
            return
        decode = _JSON_DECODER.raw_decode
        while True:
            # The usual item (a record, an object, whole in the buffer, a ',' or ']'
            # right after it: the apps send compact JSON) without peek/_after's
            # pattern matches; anything else (blanks, the buffer's end, an error)
            # goes the general way, which reads it again. Issue 15: 20,000 records
            # in a 10k dry run.
            buf, pos = self.buf, self.pos
            if buf.startswith(' ', pos):        # Python's json.dumps writes ', '
                pos += 1
            if buf.startswith('{', pos):
                try:
                    value, end = decode(buf, pos)
                except (json.JSONDecodeError, RecursionError):
                    pass
                else:
                    after = buf[end:end + 1]
                    if after == ',' or after == ']':
                        self.pos = end + 1
                        yield value
                        if after == ']':
                            return
                        continue
            yield self.value()
            self._after(']')
            if self.buf[self.pos - 1] == ']':
                return

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller reads each value
        (value() or items()) before asking for the next key."""
        self.expect('{')
        if self.peek() == '}':
            self.pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise AnswerError('something that is not JSON (an object key that is not a string)')
            self.expect(':')
            yield key
            self._after('}')
            if self.buf[self.pos - 1] == '}':
                return

    def _after(self, closing: str) -> None:
        """Consume the ',' or ``closing`` that follows a list item or object member."""
        found = self.peek()
        if found not in (',', closing):
            raise AnswerError(f'something that is not JSON (expected , or {closing}, found '
                              f'{found or "the end"!r})')
        self.pos += 1

    def end(self) -> None:
        if self.peek():
            raise AnswerError('something that is not JSON (more data after the document)')


def json_kind(value) -> str:
    """'a JSON list', 'null', …: what a value is, for messages."""
    return {dict: 'a JSON object', list: 'a JSON list', str: 'a JSON string', bool: 'a boolean',
            type(None): 'null'}.get(type(value), 'a number')


# -- the shapes stalkeer reads ------------------------------------------------------------
# Per resource of the OpenAPI documents (../shared/contracts/): each field stalkeer
# reads and the JSON type it must have. A record is checked against its resource,
# trimmed to these fields (the rest is never kept in memory), and skipped with a
# warning when a field has the wrong type or a required one is missing: a record
# read wrong could send a download to the wrong film. A test checks every field
# and type against the documents.

ARR_RESOURCES = {
    'radarr': {
        'MovieResourcePagingResource': {'records': list, 'totalRecords': int},
        'MovieResource': {'id': int, 'title': str, 'originalTitle': str, 'alternateTitles': list,
                          'year': int, 'path': str, 'monitored': bool, 'hasFile': bool,
                          'isAvailable': bool, 'imdbId': str, 'tmdbId': int,
                          # matching: the dates that prove a year, the runtime, the language
                          'secondaryYear': int, 'inCinemas': str, 'digitalRelease': str,
                          'physicalRelease': str, 'runtime': int, 'originalLanguage': dict},
        'AlternativeTitleResource': {'title': str},
        'Language': {'name': str},
    },
    'sonarr': {
        'EpisodeResourcePagingResource': {'records': list, 'totalRecords': int},
        'EpisodeResource': {'id': int, 'seriesId': int, 'seasonNumber': int, 'episodeNumber': int,
                            'title': str, 'monitored': bool, 'hasFile': bool, 'series': dict,
                            # matching: runtime, daily and anime numbering
                            'runtime': int, 'airDate': str, 'absoluteEpisodeNumber': int,
                            'sceneAbsoluteEpisodeNumber': int},
        'SeriesResource': {'id': int, 'title': str, 'alternateTitles': list, 'year': int,
                           'path': str, 'seasonFolder': bool, 'imdbId': str, 'tvdbId': int,
                           'tmdbId': int,     # Sonarr v4: an Xtream panel's lines name it
                           # matching: the runtime, the country, the seasons it has
                           'runtime': int, 'originalLanguage': dict, 'network': str,
                           'seasons': list, 'seriesType': str, 'useSceneNumbering': bool},
        'SeasonResource': {'seasonNumber': int},
        'AlternateTitleResource': {'title': str},
        'Language': {'name': str},
    },
}
# Without these a record cannot be used at all (the rest may be absent or null).
_REQUIRED_FIELDS = {'MovieResource': ('id',), 'SeriesResource': ('id',),
                    'EpisodeResource': ('id', 'seriesId', 'seasonNumber', 'episodeNumber')}

# Fields stalkeer reads from the apps' JSON, per OpenAPI schema (the test of the
# contract reads this).
ARR_FIELDS_READ = {app: {schema: tuple(fields) for schema, fields in resources.items()}
                   for app, resources in ARR_RESOURCES.items()}


def _has_type(value, kind: type) -> bool:
    # JSON true/false are Python bools, which are ints too: never a count or an id.
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


# ARR_RESOURCES as (field, type) pairs, the order kept: check_record walks them per record.
_RESOURCE_FIELDS = {app: {schema: tuple(fields.items()) for schema, fields in resources.items()}
                    for app, resources in ARR_RESOURCES.items()}


def _record_label(record: dict) -> str:
    return f'record {record["id"]}' if _has_type(record.get('id'), int) else 'a record'


def check_record(app: str, schema: str, record, required: tuple | None = None
                 ) -> tuple[dict | None, str | None]:
    """``(trimmed record, None)`` or ``(None, what is wrong)`` for one record of
    ``schema`` (ARR_RESOURCES). Alternate titles that are not objects with a
    string title are dropped: the record stays usable without them."""
    if not isinstance(record, dict):
        return None, f'a record that is {json_kind(record)}, not an object'
    get = record.get
    for field in _REQUIRED_FIELDS.get(schema, ()) if required is None else required:
        if get(field) is None:
            return None, f'{_record_label(record)} without "{field}"'
    trimmed = {}
    for field, kind in _RESOURCE_FIELDS[app][schema]:
        value = get(field)
        if value is None:
            continue
        # The exact type first: what json gives is never a subclass (20,000 records
        # of a 10k dry run, issue 15); _has_type decides the rest (bool is no int).
        if type(value) is not kind and not _has_type(value, kind):
            return None, f'{_record_label(record)}: "{field}" is {json_kind(value)}'
        if kind is list and field == 'alternateTitles':   # Alternat(iv)eTitleResource: {'title': str}
            value = [{'title': alt['title']} for alt in value
                     if isinstance(alt, dict) and isinstance(alt.get('title'), str)]
        elif kind is dict and field == 'series':
            value, problem = check_record(app, 'SeriesResource', value)
            if problem:
                return None, f'{_record_label(record)}: "series" has {problem}'
        trimmed[field] = value
    return trimmed, None


def read_json_answer(response, read: Callable[[JsonStream], object],
                     html: Callable[[], Exception], empty: str):
    """``read(stream)`` of a JSON answer, checked to end after the document.
    Raises ``html()`` for an HTML page (by Content-Type or a leading '<'),
    AnswerError(``empty``) for an empty body; AnswerError and requests' errors
    of a broken answer pass through, for the caller to name its server."""
    if 'html' in response.headers.get('Content-Type', '').lower():
        raise html()
    stream = JsonStream(response.iter_content(ARR_CHUNK))
    first = stream.peek()
    if first == '<':
        raise html()
    if not first:
        raise AnswerError(empty)
    result = read(stream)
    stream.end()
    return result


def _redirect_problem(exc: Exception) -> Exception:
    """A requests error of following a redirect, as one secret-free line."""
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return requests.exceptions.TooManyRedirects('too many redirects')
    return requests.exceptions.InvalidURL(
        f'redirected to an invalid address ({clip(_connection_reason(exc), 120)})')


def retried_request(send: Callable[[], requests.Response], handle: Callable, attempts: int,
                    backoff: float, sleep: Callable[[float], None], *,
                    timed_out: Callable[[], Exception], unreachable: Callable[[Exception], Exception]):
    """``handle(response)`` of ``send()``, inside ``with response``. Connection errors
    and 5xx are tried ``attempts`` times, ``sleep``ing backoff_delay() between; a
    read timeout is not (the server is up, but busy: asking again only queues the
    same work) and raises ``timed_out()``; the last connection error raises
    ``unreachable(exc)``; the last 5xx goes to ``handle``. The run's stop
    (RUN_STOP) ends the wait for the answer (with a session of
    _stoppable_session), its reading and a backoff: Interrupted (a worker's
    rescan must not keep a stopped run; a rescan not asked stays pending)."""
    for attempt in range(1, attempts + 1):
        try:
            with stoppable_request():
                response = send()
        except requests.exceptions.ReadTimeout:
            raise timed_out() from None
        except (ValueError, requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema, requests.exceptions.TooManyRedirects) as exc:
            # A redirect to an address requests cannot even parse ('http://[::1':
            # ValueError from urlparse) or follow: asking again gets the same answer.
            raise unreachable(_redirect_problem(exc)) from None
        except requests.exceptions.RequestException as exc:
            if attempt < attempts:
                sleep(backoff_delay(attempt, backoff, 30))
                continue
            raise unreachable(exc) from None
        with response, RUN_STOP.cutting(lambda: _cut_connection(response)):
            if response.status_code >= 500 and attempt < attempts:
                sleep(backoff_delay(attempt, backoff, 30))
                continue
            try:
                return handle(response)
            except Exception:
                RUN_STOP.check()        # a read the stop cut
                raise
    raise AssertionError('unreachable')  # pragma: no cover


class ArrClient:
    """What Radarr and Sonarr share: sessions, errors, paging, commands.

    Every request waits at most ``[radarr] timeout`` seconds for each read (the
    connection: at most 10 s of it); connection errors and 5xx are tried
    ``attempts`` times, a timeout is not (the app is up, but busy: asking again
    only queues the same work). After ARR_WAIT_NOTICE seconds the run says on
    stderr what it is waiting for."""

    def __init__(self, settings: ArrSettings, session: requests.Session | None = None,
                 attempts: int = 3, backoff: float = 1.0):
        self.settings = settings
        self.name = settings.name
        self.app = settings.section
        self.session = session or _stoppable_session()
        self.session.headers.update({'X-Api-Key': settings.api_key, 'Accept': 'application/json',
                                     'User-Agent': f'stalkeer/{__version__}'})
        self.timeout = (min(10.0, settings.timeout), settings.timeout)
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = RUN_STOP.sleep
        self.wait_notice = ARR_WAIT_NOTICE

    @property
    def where(self) -> str:
        return f'{self.name} at {redact_url(self.settings.url)}'

    def request(self, method: str, path: str, params=None, json_body=None, allow_404=False,
                read: Callable[[JsonStream], object] | None = None):
        """Send one request; ``read(stream)`` consumes a 2xx JSON answer and
        what it returns is returned. Without ``read`` the answer is not read.
        None for a 404 when ``allow_404``. ArrError for everything else."""
        url = self.settings.url + path
        notice = threading.Timer(self.wait_notice, log.info, (
            'waiting for %s (%s %s; at most %gs per read, [%s] timeout)',
            self.where, method, path, self.settings.timeout, self.app))
        notice.daemon = True
        notice.start()
        try:
            return retried_request(
                lambda: self.session.request(method, url, params=params, json=json_body,
                                             timeout=self.timeout, stream=True),
                lambda response: self._answer(response, method, path, allow_404, read),
                self.attempts, self.backoff, self.sleep,
                timed_out=lambda: ArrError(
                    f'{self.where} did not answer {method} {path} within {self.settings.timeout:g}s '
                    f'(a large library may need a larger [{self.app}] timeout)'),
                unreachable=lambda exc: ArrError(f'cannot reach {self.where}: {_connection_reason(exc)}'))
        finally:
            notice.cancel()

    def _answer(self, response, method, path, allow_404, read):
        code, where = response.status_code, self.where
        if code == 401:
            note = f': {self.settings.api_key_note}' if self.settings.api_key_note else ''
            raise ArrError(f'{self.name} rejected the API key (check [{self.app}] api_key){note}')
        if code == 404:
            if allow_404:
                return None
            raise ArrError(f'{where} answered 404 for {path}: is the URL base right? '
                           f'(a {self.name} behind a reverse proxy needs it in the url, '
                           f'e.g. http://nas:{"7878/radarr" if self.app == "radarr" else "8989/sonarr"})')
        if code >= 400:
            raise ArrError(f'{where} answered HTTP {code} for {path}')
        if read is None:
            return None
        try:
            return read_json_answer(response, read, lambda: self._html(path),
                                    f'an empty body (HTTP {code}) where JSON was expected: a reverse '
                                    f'proxy answering for {self.name}?')
        except AnswerError as exc:
            raise ArrError(f'{where} answered {method} {path} with {exc}') from None
        except requests.exceptions.RequestException as exc:
            raise ArrError(f'{where}: the answer to {method} {path} broke off: '
                           f'{_connection_reason(exc)}') from None

    def _html(self, path) -> ArrError:
        return ArrError(f'{self.where} answered {path} with an HTML page instead of JSON '
                        f'(wrong URL, or a login page in front of {self.name}?)')

    # -- listings ----------------------------------------------------------------------
    def _collect(self, values: Iterable, schema: str, path: str, into: dict, tally: dict) -> None:
        """Check each record; good ones into ``into`` by id (a record sent twice
        counts once), bad ones skipped with a warning."""
        for raw in values:
            record, problem = check_record(self.app, schema, raw)
            if problem:
                tally['skipped'] += 1
                if tally['skipped'] <= ARR_WARN_RECORDS:
                    log.warning('%s: skipped a malformed record of %s: %s', self.name, path, problem)
            elif record['id'] not in into:
                into[record['id']] = record
                tally['new'] += 1
            if len(into) + tally['skipped'] > ARR_MAX_RECORDS:
                raise AnswerError(f'more than {ARR_MAX_RECORDS} records')

    def _warn_skipped(self, path: str, tally: dict) -> None:
        if tally['skipped'] > ARR_WARN_RECORDS:
            log.warning('%s: skipped %d malformed records of %s in all', self.name,
                        tally['skipped'], path)

    def listing(self, path: str, params: dict, schema: str) -> list[dict]:
        """An unpaged list of records (GET /api/v3/movie, /api/v3/series)."""
        records, tally = {}, collections.Counter()

        def read(stream: JsonStream):
            if stream.peek() != '[':
                raise AnswerError(f'{json_kind(stream.value())} where a list of records was expected')
            self._collect(stream.items(), schema, path, records, tally)

        self.request('GET', path, params, read=read)
        self._warn_skipped(path, tally)
        return list(records.values())

    def paged(self, path: str, params: dict, schema: str, allow_404=False) -> list[dict] | None:
        """Every record of a paged endpoint; None when the endpoint does not
        exist (404 on the first page, with ``allow_404``). Ends at totalRecords,
        at a page that brings no new usable record (a server ignoring ``page``:
        a warning), or refuses past ARR_MAX_RECORDS; a server ignoring
        ``pageSize`` is read in one page."""
        records, tally = {}, collections.Counter()
        page = 1
        while True:
            before = tally['new']
            total = self.request('GET', path, dict(params, page=page, pageSize=ARR_PAGE_SIZE),
                                 allow_404=allow_404 and page == 1,
                                 read=lambda stream: self._read_page(stream, path, schema,
                                                                     records, tally))
            if total is None:       # 404 on the first page, with allow_404
                return None
            fresh = tally['new'] - before
            done = len(records) + tally['skipped']
            if not fresh and total != -1 and done < total:
                log.warning('%s answered page %d of %s with no new usable record (does it '
                            'ignore "page"?): stopped after %d of %d', self.name, page, path,
                            done, total)
            if not fresh or (total != -1 and (done >= total or page * ARR_PAGE_SIZE >= total)) \
                    or (total == -1 and fresh < ARR_PAGE_SIZE):
                break
            page += 1
        self._warn_skipped(path, tally)
        return list(records.values())

    def _read_page(self, stream: JsonStream, path: str, schema: str, records: dict,
                   tally: dict) -> int:
        """Read one page object into ``records``; its totalRecords (-1 when absent)."""
        if stream.peek() != '{':
            raise AnswerError(f'{json_kind(stream.value())} where a page object '
                              '({"records": [...], "totalRecords": N}) was expected')
        total, has_records = -1, False
        for key in stream.members():
            if key == 'records':
                if stream.peek() != '[':
                    raise AnswerError(f'a page whose "records" is {json_kind(stream.value())}, '
                                      'not a list')
                has_records = True
                self._collect(stream.items(), schema, path, records, tally)
            elif key == 'totalRecords':
                value = stream.value()
                if not _has_type(value, int) or value < 0:
                    raise AnswerError(f'a page whose "totalRecords" is not a count: '
                                      f'{clip(json.dumps(value), 40)}')
                total = value
            else:
                stream.value()
        if not has_records:
            raise AnswerError('a page object without "records"')
        return total

    def command(self, body: dict) -> bool:
        """POST /api/v3/command; a failure is a warning, never fatal."""
        try:
            self.request('POST', '/api/v3/command', json_body=body)
            return True
        except ArrError as exc:
            log.warning('could not ask %s to %s: %s', self.name, body.get('name'), exc)
            return False


class RadarrClient(ArrClient):

    def missing_movies(self) -> list[dict]:
        """Monitored movies without a file, available or not (see ArrRun.wanted)."""
        # Radarr >= 5.6. The sort key must be qualified: 5.6-5.10.3 answer 500 to
        # keys of the joined movie metadata table without the table name.
        movies = self.paged('/api/v3/wanted/missing',
                            {'monitored': 'true', 'sortKey': 'movieMetadata.sortTitle',
                             'sortDirection': 'ascending'}, 'MovieResource', allow_404=True)
        if movies is None:
            log.info('%s has no wanted/missing endpoint (older than 5.6): reading the library',
                     self.name)
            movies = [m for m in self.library() if m.get('monitored') and not m.get('hasFile')]
        else:
            movies = [m for m in movies if m.get('monitored', True) and not m.get('hasFile')]
        # Unreleased ones (isAvailable false) too: the run counts them as "not available yet".
        return movies

    def library(self) -> list[dict]:
        if not hasattr(self, '_library'):
            self._library = self.listing('/api/v3/movie', {'excludeLocalCovers': 'true'},
                                         'MovieResource')
        return self._library

    def rescan(self, movie_id: int) -> bool:
        return self.command({'name': 'RescanMovie', 'movieId': movie_id})

    def lookup(self, term: str) -> list[dict]:
        """``GET /api/v3/movie/lookup?term=``: every film of that name Radarr's metadata
        source (TMDB) knows, in the library or not (MovieResource shapes)."""
        return _lookup_answer(self, '/api/v3/movie/lookup', term, 'MovieResource')


class SonarrClient(ArrClient):

    def missing_episodes(self, series_id: int | None = None) -> list[dict]:
        """Monitored episodes without a file, each with its series."""
        episodes = self.paged('/api/v3/wanted/missing',
                              {'includeSeries': 'true', 'monitored': 'true',
                               'sortKey': 'airDateUtc', 'sortDirection': 'descending'},
                              'EpisodeResource')
        series = self.all_series()
        result = []
        for ep in episodes:
            if ep.get('hasFile') or not ep.get('monitored', True):
                continue
            if series_id is not None and ep.get('seriesId') != series_id:
                continue
            # /api/v3/series has the full details (path, seasonFolder, alternateTitles).
            ep = dict(ep, series=series.get(ep.get('seriesId')) or ep.get('series') or {})
            result.append(ep)
        return result

    def series_episodes(self, series_id: int) -> list[dict]:
        """``GET /api/v3/episode?seriesId=``: every episode of a series, with a file or
        not, monitored or not (EpisodeResource shapes)."""
        return self.listing('/api/v3/episode', {'seriesId': series_id}, 'EpisodeResource')

    def all_series(self) -> dict:
        if not hasattr(self, '_series'):
            self._series = {s['id']: s for s in self.listing('/api/v3/series', {}, 'SeriesResource')}
        return self._series

    def rescan(self, series_id: int) -> bool:
        return self.command({'name': 'RescanSeries', 'seriesId': series_id})

    def lookup(self, term: str) -> list[dict]:
        """``GET /api/v3/series/lookup?term=``: every series of that name Sonarr's
        metadata source (TheTVDB) knows, in the library or not (SeriesResource shapes)."""
        return _lookup_answer(self, '/api/v3/series/lookup', term, 'SeriesResource')


def _lookup_answer(client: ArrClient, path: str, term: str, schema: str) -> list[dict]:
    """The records of a lookup, checked like the library's; a result that is not
    in the library has no id, so none is required. Malformed ones are left out."""
    found = []

    def read(stream: JsonStream):
        if stream.peek() != '[':
            raise AnswerError(f'{json_kind(stream.value())} where a list of records was expected')
        for raw in stream.items():
            record, problem = check_record(client.app, schema, raw, required=())
            if problem:
                log.debug('%s: left out a malformed lookup result: %s', client.name, problem)
            elif len(found) < ARR_MAX_RECORDS:
                found.append(record)

    client.request('GET', path, {'term': term}, read=read)
    return found


# ---- Xtream Codes panels ----------------------------------------------------------
# Xtream UI, XUI.one and their forks serve, beside the get.php playlist, a JSON API:
#   player_api.php?username=U&password=P                 -> {"user_info": {...}, "server_info": {...}}
#   …&action=get_vod_categories / get_series_categories  -> [{"category_id": "1", "category_name": …}]
#   …&action=get_vod_streams                             -> [{"stream_id": 12, "name": …, "tmdb": …,
#                                                            "container_extension": "mkv", …}]
#   …&action=get_series                                  -> [{"series_id": 3, "name": …, "tmdb": …}]
#   …&action=get_series_info&series_id=N                 -> {"info": …, "episodes": {"1": [...]}}
#   …&action=get_vod_info&vod_id=N                       -> {"info": …, "movie_data": …}
# The files are served at /movie/U/P/{stream_id}.{ext} and /series/U/P/{episode id}.{ext}.
# Panels differ in types (ids and counts as numbers or strings, "tmdb": "" for none,
# exp_date as a string of Unix seconds or null), so every field is read leniently
# and a record whose id cannot be read is skipped with a warning.

XTREAM_API = 'player_api.php'
XTREAM_WARN_RECORDS = 5          # malformed records warned about one by one, per action
XTREAM_EXPIRY_WARNING_DAYS = 7   # a run warns when the account expires sooner
XTREAM_MAX_REDIRECTS = 5
# The status panel_accounts keeps for an account the panel refused, followed by
# the reason in parentheses (keep_refusal; account_status_values reads it back).
REFUSED_STATUS = 'Refused'
_XTREAM_EXTENSION_RE = _LazyPattern(r'[A-Za-z0-9]{1,5}')
_XTREAM_LIVE_TYPES = frozenset({'live', 'created_live', 'radio_streams'})
_INT32_MAX = 2 ** 31 - 1         # processed_lines' INTEGER columns (PostgreSQL: 32 bits)


class PanelError(StalkeerError):
    """An Xtream panel that cannot be used: unreachable, not a panel, a bad answer."""


class PanelRefused(PanelError):
    """The panel answered, and refused the account (auth 0, HTTP 401/403);
    ``reason``: 'auth 0' or 'HTTP 403', kept as the account's status."""

    def __init__(self, message: str, reason: str = ''):
        super().__init__(message)
        self.reason = reason


def xtream_duration(value) -> int | None:
    """Seconds of get_vod_info's ``duration`` ("HH:MM:SS", older Xtream UI panels,
    or beside XUI's ``"duration_secs": 0``); None when it is not that shape or 0."""
    m = re.fullmatch(r'\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*', value) if isinstance(value, str) else None
    seconds = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) if m else 0
    return seconds or None


def xtream_int(value) -> int | None:
    """A positive id or count as panels write it: 12, "12", 12.0; None for "", null,
    0, "abc", booleans and values past 32 bits (stored in INTEGER columns)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and 0 < value <= _INT32_MAX else None


def xtream_count(value) -> int | None:
    """A count that may be 0 (active_cons: "0"); None when unreadable."""
    return 0 if value in (0, '0') else xtream_int(value)


# Lone UTF-16 surrogates ("\ud83d": a panel's JS layer cutting an emoji in half; valid
# JSON, but no UTF-8 encoder takes them) and control characters (ESC: a name that
# would colour or clear the reader's terminal) are not text. A half emoji is
# dropped (a U+FFFD left in 'Heat \ufffd (1995)' would keep the title from
# matching 'Heat'); a control character becomes a space.
_XTREAM_NOT_TEXT = _LazyPattern('[\ud800-\udfff]|[\x00-\x1f\x7f-\x9f]')


def xtream_text(value) -> str:
    """A name or category as text: numbers too (a film called 1917), '' otherwise;
    lone surrogates dropped, control characters made spaces."""
    if isinstance(value, str):
        if not value.isascii() or not value.isprintable():
            value = _XTREAM_NOT_TEXT.sub(lambda m: ' ' if m[0] < '\ud800' else '', value)
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ''


def xtream_year(value) -> int | None:
    """The year of a releaseDate / release_date ('2008-01-20', '2008')."""
    m = re.match(r'\s*((?:19|20)\d\d)\b', value) if isinstance(value, str) else None
    return int(m[1]) if m else None


class PanelEmpty(PanelError):
    """The account answered, but neither catalogue held a usable record."""


@dataclasses.dataclass
class XtreamSettings:
    """The [xtream] section: the panel's base URL (no trailing slash), the account,
    ``enabled`` (auto/true/false) and the read timeout in seconds. ``derived``:
    taken from a get.php [m3u] url. The ``*_source`` say where each value came
    from, as errors name it (Config.where: the file's key, a STALKEER_*
    variable, the [m3u] url holding the account): the panel's advice names
    the setting to fix, not an [xtream] key the user never wrote."""
    url: str | None
    username: str
    password: str
    enabled: str = 'auto'
    timeout: float = 120
    derived: bool = False
    info_refresh_hours: float = 24
    url_source: str = '[xtream] url'
    account_source: str = '[xtream] username and [xtream] password'
    enabled_source: str = '[xtream] enabled'
    timeout_source: str = '[xtream] timeout'
    # What may be said of the configured account's values (Config.secret_note),
    # or '': a password pasted in its quotes was refused as any wrong one.
    account_note: str = ''

    @classmethod
    def from_config(cls, cfg: Config) -> 'XtreamSettings':
        enabled = cfg.getswitch('xtream', 'enabled')
        username, password = cfg.get('xtream', 'username') or '', cfg.get('xtream', 'password') or ''
        derived = False
        # Each error names where the value came from: the file's key or STALKEER_XTREAM_*.
        url_where = cfg.where('xtream', 'url')
        account = f'{cfg.where("xtream", "username")} and {cfg.where("xtream", "password")}'
        given = ' and '.join(cfg.where('xtream', key) for key, value in
                             (('username', username), ('password', password)) if value)
        try:
            url = (cfg.geturl('xtream', 'url') or '').rstrip('/')
        except ConfigError as exc:
            # A wrong url does not hide a half account (trial-18a F3's pattern):
            # `config --check` names both.
            half = bool(username) != bool(password)
            raise_config_errors([str(exc)] + [f'{given} is set without the other: {account} go together'] * half)
        account_source = account
        if url:
            if not (username or password):
                account_source = f'the account in {url_where}'
            url, username, password = _panel_base(url, username, password, url_where)
        else:
            found = panel_from_playlist_url(cfg.get('m3u', 'url') or '')
            if found and (username or password):
                # The configured account, at the get.php URL's panel.
                if not (username and password):
                    raise ConfigError(f'{given} is set without the other: {account} go together '
                                      f'(set neither to use the account of the get.php '
                                      f'{cfg.where("m3u", "url")})')
                url, derived = found[0], True
            elif found:
                url, username, password = found
                derived = True
                account_source = f'the account in {cfg.where("m3u", "url")}'
            elif username or password:
                raise ConfigError(f'{given} {"are" if " and " in given else "is"} set without a '
                                  'panel: set [xtream] url '
                                  '(or a get.php?username=…&password=… [m3u] url)')
        if enabled == 'true' and not url:
            raise ConfigError(f'{cfg.where("xtream", "enabled")} = true needs a panel: set [xtream] url, '
                              'username and password (or a get.php?username=…&password=… [m3u] url)')
        if url:
            error = http_url_error(cfg.where('m3u', 'url') if derived else url_where, url)
            if error:
                # A panel taken from the get.php playlist URL is that setting's, and its
                # mistake is said as [m3u] url's own check says it: `config --check`
                # names it once (trial-16a F6).
                if derived:
                    cfg.geturl('m3u', 'url')
                raise ConfigError(error)
            if not (username and password):
                raise ConfigError(f'{url_where} is set without {account}')
        return cls(url or None, username, password, enabled, cfg.getnumber('xtream', 'timeout'), derived,
                   cfg.getnumber('xtream', 'info_refresh_hours'),
                   url_source=cfg.where('m3u', 'url') if derived else url_where,
                   account_source=account_source, enabled_source=cfg.where('xtream', 'enabled'),
                   timeout_source=cfg.where('xtream', 'timeout'),
                   account_note='; '.join(filter(None, (cfg.secret_note('xtream', key)
                                                         for key in ('username', 'password')))))

    @property
    def configured(self) -> bool:
        return bool(self.url) and self.enabled != 'false'

    @property
    def panel(self) -> str:
        """The base URL as it may be stored and shown (credentials masked)."""
        return redact_url(self.url or '')

    def stream_url(self, kind: str, stream_id: int, extension: str) -> str:
        """The URL a panel serves a file at: ``kind`` movie or series (an
        episode's id), e.g. http://host:8080/movie/U/P/12.mkv."""
        quote = lambda text: urllib.parse.quote(text, safe='')  # noqa: E731
        return f'{self.url}/{kind}/{quote(self.username)}/{quote(self.password)}/{stream_id}.{extension}'


def _panel_base(url: str, username: str, password: str,
                where: str = '[xtream] url') -> tuple[str, str, str]:
    """[xtream] url as the panel's base address: the player_api.php or get.php
    address a provider hands out (or a player app shows) is cut to its folder,
    and the account of its query taken when [xtream] sets none; any other query
    is a ConfigError (requests would send it on every call)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url, username, password        # url_problem() names it
    head, _, last = parts.path.rstrip('/').rpartition('/')
    if last.lower() not in ('player_api.php', 'get.php'):
        if parts.query:
            raise ConfigError(f'{where}: the panel\'s base address, without a query '
                              '(e.g. http://provider:8080)')
        return url, username, password
    query = dict(urllib.parse.parse_qsl(parts.query))
    if not (username or password):
        username, password = query.get('username', ''), query.get('password', '')
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, head, '', '')), username, password


def xtream_note(settings: XtreamSettings) -> str | None:
    """What `config --check` says of [xtream] when it is fine but not plain."""
    if not settings.url:
        return 'no panel (`process` reads the M3U playlist)'
    if settings.enabled == 'false':
        return 'a panel is configured, but enabled = false (`process` reads the M3U playlist)'
    if settings.derived:
        return f'the panel {settings.panel} of the get.php [m3u] url'
    return None


def panel_from_playlist_url(url: str) -> tuple[str, str, str] | None:
    """(base URL, username, password) of an Xtream playlist URL
    (http://host:8080/get.php?username=U&password=P&type=m3u_plus), else None."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    head, _, last = parts.path.rpartition('/')
    if last.lower() != 'get.php' or parts.scheme.lower() not in ('http', 'https'):
        return None
    query = dict(urllib.parse.parse_qsl(parts.query))
    if not (query.get('username') and query.get('password')):
        return None
    return (urllib.parse.urlunsplit((parts.scheme, parts.netloc, head, '', '')),
            query['username'], query['password'])


@dataclasses.dataclass
class PanelAccountInfo:
    """user_info of the account call: status ('Active', 'Banned', 'Disabled',
    'Expired'…), exp_date (UTC; None: never expires), the connections."""
    status: str | None
    exp_date: dt.datetime | None
    is_trial: bool | None
    active_cons: int | None
    max_connections: int | None
    exp_date_unread: str | None = None      # an exp_date that could not be read, as sent

    def warnings(self, now: dt.datetime | None = None) -> list[str]:
        """What a run says about the account: not Active, expired or expiring
        within XTREAM_EXPIRY_WARNING_DAYS days."""
        now = now or utcnow()
        found = []
        if not self.status:
            found.append('the panel did not say whether the account is active (no user_info.status)')
        elif self.status.lower() != 'active':
            found.append(f'the account is not active (status {clip(self.status, 40)!r})')
        if self.exp_date_unread:
            found.append(f'the account\'s expiry date cannot be read (exp_date {self.exp_date_unread!r})')
        if self.exp_date is not None:
            left = (self.exp_date - now).total_seconds()
            when = self.exp_date.strftime('%Y-%m-%d %H:%M UTC')
            if left <= 0:
                found.append(f'the account expired on {when}')
            elif left < XTREAM_EXPIRY_WARNING_DAYS * 86400:
                found.append(f'the account expires on {when} (in {_time_left(left)})')
        return found


_NEVER_EXPIRES = (None, '', '0', 0, 'null')
_EXP_DATE_FORMATS = ('%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d')


def _time_left(seconds: float) -> str:
    """'3.0 days'; under a day '5h00m' / '30s' ('0.0 days' said nothing)."""
    return f'{seconds / 86400:.1f} days' if seconds >= 86400 else format_duration(seconds)


def _exp_date(value) -> dt.datetime | None | str:
    """user_info.exp_date as a naive UTC datetime: Unix seconds (a number or a
    string, as XUI writes it), milliseconds (13 digits: some forks), or a UTC
    date 'YYYY-MM-DD HH:MM:SS' (forks and Stalker bridges); None for null, "",
    "0" or 0 (never expires); the value as text when it cannot be read (the run
    warns: unreadable is not "never")."""
    raw = value.strip() if isinstance(value, str) else value
    if raw in _NEVER_EXPIRES or raw == 0.0:
        return None
    number = None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        number = int(raw)
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool) and float(raw).is_integer():
        number = int(raw)
    if number is not None:
        if number >= 10 ** 12:         # milliseconds
            number //= 1000
        if 0 < number < 32503680000:   # (the year 3000)
            return dt.datetime.fromtimestamp(number, dt.timezone.utc).replace(tzinfo=None)
    elif isinstance(raw, str):
        for form in _EXP_DATE_FORMATS:
            try:
                return dt.datetime.strptime(raw, form)
            except ValueError:
                continue
    return clip(xtream_text(raw) or json.dumps(raw), 40)


def panel_where(panel: str) -> str:
    """What the human text calls a panel (``panel``: XtreamSettings.panel, masked):
    prose for people; ``--json`` gives the masked URL itself (IngestSummary.panel)."""
    return f'the Xtream panel at {panel}'


class XtreamClient:
    """player_api.php of one panel. Each read waits at most ``[xtream] timeout``
    seconds (the connection: at most 10 s of it); connection errors and 5xx are
    tried ``attempts`` times. Answers are read with JsonStream, a record at a
    time: a 100k-movie catalogue is never held whole. PanelError for an answer
    that cannot be used (one line naming the panel and what was wrong)."""

    def __init__(self, settings: XtreamSettings, session: requests.Session | None = None,
                 attempts: int = 3, backoff: float = 1.0, user_agent: str | None = None):
        self.settings = settings
        self.session = session or _stoppable_session()
        self.session.headers.update({'Accept': 'application/json',
                                     'User-Agent': user_agent or f'stalkeer/{__version__}'})
        # Every hop of a redirect chain is a player_api.php hit on an account that
        # panels ban for hammering (requests follows 30).
        self.session.max_redirects = XTREAM_MAX_REDIRECTS
        self.timeout = (min(10.0, settings.timeout), settings.timeout)
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = RUN_STOP.sleep
        self.requests_made = 0
        self.account_answered = False    # a 404 after it names the action, not "not a panel"

    @property
    def where(self) -> str:
        return panel_where(self.settings.panel)

    def request(self, action: str | None, read: Callable[[JsonStream], object], **params):
        """GET player_api.php with ``action`` (None: the account call); ``read(stream)``
        consumes the JSON answer and what it returns is returned."""
        query = {'username': self.settings.username, 'password': self.settings.password}
        if action:
            query['action'] = action
        query.update(params)
        what = action or 'the account call'
        url = f'{self.settings.url}/{XTREAM_API}'

        def send():
            self.requests_made += 1
            return self.session.get(url, params=query, timeout=self.timeout, stream=True)

        return retried_request(
            send, lambda response: self._answer(response, what, read),
            self.attempts, self.backoff, self.sleep,
            timed_out=lambda: PanelError(f'{self.where} did not answer {what} within '
                                         f'{self.settings.timeout:g}s ({self.settings.timeout_source})'),
            unreachable=lambda exc: PanelError(f'cannot reach {self.where}: {_connection_reason(exc)}'))

    def _answer(self, response, what: str, read):
        code = response.status_code
        if code in (401, 403):
            raise PanelRefused(f'{self.where} refused the account (HTTP {code}): check '
                               f'{self.settings.account_source}, or whether the account is banned'
                               f'{self._account_note}', f'HTTP {code}')
        if code == 404:
            if what != 'the account call' and self.account_answered:
                raise PanelError(f'{self.where} answered 404 for {what}')
            raise PanelError(f'{self.where} answered 404 for {XTREAM_API}: not an Xtream Codes '
                             f'panel, or not at this URL ({self.settings.url_source})')
        if code >= 400:
            raise PanelError(f'{self.where} answered HTTP {code} for {what}')
        try:
            return read_json_answer(response, read, lambda: self._html(what),
                                    'an empty body where JSON was expected')
        except AnswerError as exc:
            raise PanelError(f'{self.where} answered {what} with {exc}') from None
        except requests.exceptions.RequestException as exc:
            raise PanelError(f'{self.where}: the answer to {what} broke off: '
                             f'{_connection_reason(exc)}') from None

    def _html(self, what: str) -> PanelError:
        return PanelError(f'{self.where} answered {what} with an HTML page instead of JSON '
                          '(not an Xtream Codes panel, or a login page in front of it?)')

    @property
    def _account_note(self) -> str:
        """'; ' and what may be said of the account's values, or ''."""
        return f'; {self.settings.account_note}' if self.settings.account_note else ''

    # -- the account ---------------------------------------------------------------------
    def account(self) -> PanelAccountInfo:
        """user_info of the account call; PanelError when the panel refuses the
        account (auth 0) or the answer has no user_info."""
        def read(stream: JsonStream):
            document = stream.value()
            if not isinstance(document, dict):
                raise AnswerError(f'{json_kind(document)} where an object with "user_info" was '
                                  'expected')
            return document.get('user_info')

        info = self.request(None, read)
        self.account_answered = True
        if not isinstance(info, dict):
            raise PanelError(f'{self.where} answered the account call without "user_info" '
                             '(not an Xtream Codes panel?)')
        if xtream_count(info.get('auth')) != 1:
            raise PanelRefused(f'{self.where} refused the account (auth 0): check '
                               f'{self.settings.account_source}{self._account_note}', 'auth 0')
        status = xtream_text(info.get('status')) or None
        trial = xtream_count(info.get('is_trial'))
        expiry = _exp_date(info.get('exp_date'))
        return PanelAccountInfo(status=clip(status, 32) if status else None,
                                exp_date=expiry if isinstance(expiry, dt.datetime) else None,
                                exp_date_unread=expiry if isinstance(expiry, str) else None,
                                is_trial=None if trial is None else bool(trial),
                                active_cons=xtream_count(info.get('active_cons')),
                                max_connections=xtream_count(info.get('max_connections')))

    # -- catalogues ----------------------------------------------------------------------
    def categories(self, action: str) -> dict[str, str]:
        """{category_id: category_name} of get_vod_categories / get_series_categories."""
        found = {}

        def each(record):
            if isinstance(record, dict):
                key, name = xtream_text(record.get('category_id')), xtream_text(record.get('category_name'))
                if key and name:
                    found[key] = name

        self.each(action, each)
        return found

    def each(self, action: str, on_record: Callable[[object], None], **params) -> int:
        """Call ``on_record`` with every record of a list answer, as it is read
        (a panel answering an object keyed by id is read the same way); the
        number of records."""
        count = 0

        def read(stream: JsonStream):
            nonlocal count
            first = stream.peek()
            if first == '[':
                values = stream.items()
            elif first == '{':
                values = self._keyed_records(stream)
            else:
                raise AnswerError(f'{json_kind(stream.value())} where a list was expected')
            for record in values:
                count += 1
                on_record(record)

        self.request(action, read, **params)
        return count

    @staticmethod
    def _keyed_records(stream: JsonStream):
        """The records of an object keyed by id ({"12": {"stream_id": 12, …}}: some
        forks answer so). Any other object -- {} , {"user_info": {"auth": 0}} (XUI's
        answer to every action once it refuses the account), {"error": …} -- is not
        a catalogue: AnswerError, not an empty or one-record list."""
        count = 0
        for key in stream.members():
            value = stream.value()
            if not isinstance(value, dict) or key in ('user_info', 'error', 'auth', 'message'):
                raise AnswerError(f'an object where a list was expected (with {clip(key, 40)!r}: '
                                  f'{json_kind(value)}; the account refused?)')
            count += 1
            yield value
        if not count:
            raise AnswerError('an empty object where a list was expected')

    def _document(self, action: str, **params) -> dict:
        def read(stream: JsonStream):
            document = stream.value()
            if not isinstance(document, dict):
                raise AnswerError(f'{json_kind(document)} where an object was expected')
            return document
        return self.request(action, read, **params)

    def series_info(self, series_id: int) -> dict:
        """get_series_info: {"info": {...}, "seasons": [...], "episodes": {"1": [{"id": "501",
        "episode_num": 1, "season": 1, "container_extension": "mkv", "info": {...}}]}}
        as the panel sent it (one series: small)."""
        return self._document('get_series_info', series_id=series_id)

    def vod_info(self, vod_id: int) -> dict:
        """get_vod_info: {"info": {"tmdb_id": …, "duration_secs": …, "video": {...}},
        "movie_data": {"stream_id": …, "container_extension": …}} as the panel sent it."""
        return self._document('get_vod_info', vod_id=vod_id)


@dataclasses.dataclass(slots=True)
class PanelEntry(PlaylistEntry):
    """A record of get_vod_streams or get_series, dressed as a playlist entry
    (tvg-name: the name, tvg-logo: stream_icon/cover, group-title: the category
    name), so that it is filtered, classified and keyed exactly as the same line
    of the M3U playlist is. ``kind``: movie or series."""
    kind: str = 'movie'
    stream_id: int | None = None
    series_id: int | None = None
    tmdb_id: int | None = None
    container_extension: str | None = None
    year: int | None = None         # releaseDate of a series, when its name has no year
    group_unknown: bool = False     # its category_id is not in the categories answer, nor stored


def _panel_meta_hash(entry: PanelEntry) -> str:
    parts = [CLASSIFIER_VERSION, 'xtream', entry.kind, entry.display_title, entry.url,
             entry.group_title, entry.tvg_logo, str(entry.stream_id), str(entry.series_id),
             str(entry.tmdb_id), str(entry.container_extension), str(entry.year)]
    return hashlib.sha1('\x1f'.join(parts).encode('utf-8', 'surrogatepass')).hexdigest()


class XtreamIngest(PlaylistIngest):
    """Reads a panel's movies (get_vod_streams) and series (get_series) into
    processed_lines, as PlaylistIngest does the playlist: same filters, same
    classification and match_key, batched upserts, unchanged records not
    rewritten. A movie line's URL is the one the panel serves
    (/movie/U/P/{stream_id}.{ext}), so the same film read from the get.php
    playlist is the same row. A series is one line of content_type 'series'
    without a URL (its episodes come from get_series_info). Lines are marked
    gone only after a complete, non-empty read of their list."""

    source = 'xtream'

    def __init__(self, client: XtreamClient, line_filter: LineFilter | None = None, **kwargs):
        super().__init__(line_filter, **kwargs)
        self.client = client
        self.skipped = collections.Counter()
        self.unresolved = collections.Counter()     # per action: records of an unlisted category
        self._stream_ids: dict[str, tuple] = {}     # line_hash -> (stream_id, tvg_name) of the batch's movies
        self._stored_groups: dict[str, dict] = {}   # per kind: key -> stored group_title
        self._dry_adopted: set[str] = set()         # a dry run's: line_hash of the rows it would move

    def _existing(self, hashes):
        """PlaylistIngest._existing, and the panel's own movie rows found by
        stream_id and name when their URL holds another account: a changed
        password is the same catalogue, not a new one (the row's line_hash is
        moved to the new URL's, so the row is updated in place). A renamed
        record stays a new line, as in the playlist: a panel that gives a
        stream_id to another film must not inherit the old one's state."""
        found = super()._existing(hashes)
        ids = {self._stream_ids.pop(d): d for d in hashes if d in self._stream_ids and d not in found}
        if not ids or not self._lookups:
            return found
        PL = ProcessedLine
        prefix = f'{self.client.settings.url}/movie/'
        moved = {}
        for chunk in _chunks(sorted(ids), _SQL_IN_CHUNK):
            query = (PL.select(PL.id, PL.stream_id, PL.tvg_name, PL.url, PL.line_hash, PL.missing_since,
                               PL.line_number)
                     .where(PL.stream_id.in_([stream_id for stream_id, _name in chunk])
                            & PL.series_id.is_null() & (PL.source == 'xtream') & PL.url.startswith(prefix)))
            for row_id, stream_id, name, url, old_hash, missing_since, line_number in query.tuples():
                key = (stream_id, name or '')
                if key in ids and url.startswith(prefix) and url.count('/') == prefix.count('/') + 2:
                    moved[ids.pop(key)] = row_id, old_hash, missing_since, line_number
        if not moved:
            return found
        if self.dry_run:
            # What the real run finds after moving them (a stored row, as
            # _existing gives it: never unchanged, its URL is another), and the
            # hashes they hold now count as read (the real run moves them).
            self._dry_adopted.update(old_hash for _row_id, old_hash, _gone, _number in moved.values())
            adopted = {digest: (row_id, None, missing_since, 'movies', line_number)
                       for digest, (row_id, _old_hash, missing_since, line_number) in moved.items()}
            return {**found, **adopted}
        for digest, (row_id, *_rest) in moved.items():
            try:
                with db_proxy.atomic():
                    PL.update(line_hash=digest).where(PL.id == row_id).execute()
            except peewee.IntegrityError:       # an overlapping run stored that line already
                continue
        return {**found, **super()._existing(list(moved))}

    @staticmethod
    def _stored(kind: str) -> bool:
        """Whether present rows of the panel's ``kind`` are stored."""
        PL = ProcessedLine
        kind_rows = (PL.stream_id.is_null(False) & PL.series_id.is_null() if kind == 'movie'
                     else PL.content_type == 'series')
        return PL.select().where((PL.source == 'xtream') & PL.missing_since.is_null() & kind_rows).exists()

    def _stored_group(self, kind: str, key) -> str | None:
        """The group_title stored for a movie's URL / a series' id (None: none
        stored). Categories are a separate call, which a panel under load answers
        with [] or an error page: an unlisted category keeps the group the row
        has, instead of emptying it (and with it every [filter] on the group)."""
        if kind not in self._stored_groups:
            found = {}
            if self.can_read_db:
                PL = ProcessedLine
                if kind == 'movie':
                    prefix = f'{self.client.settings.url}/movie/'
                    query = (PL.select(PL.url, PL.group_title)
                             .where(PL.url.startswith(prefix) & (PL.group_title != '')))
                    found = {url: group for url, group in query.tuples() if url.startswith(prefix)}
                else:
                    query = (PL.select(PL.series_id, PL.group_title)
                             .where((PL.source == 'xtream') & (PL.content_type == 'series')
                                    & PL.series_id.is_null(False) & (PL.group_title != '')))
                    found = dict(query.tuples())
            self._stored_groups[kind] = found
        return self._stored_groups[kind].get(key)

    def run_panel(self) -> IngestSummary:
        client = self.client
        summary = IngestSummary(playlist=None, panel=client.settings.panel, dry_run=self.dry_run,
                                source='xtream')
        # The categories first: small, and the name of each record's group.
        vod_groups = client.categories('get_vod_categories')
        series_groups = client.categories('get_series_categories')
        seen: set[str] = set()
        usable = collections.Counter()      # per kind: records that could be read
        streams_only = collections.Counter()    # per action: HLS-only records, not offered

        def read_all(by_type):
            for kind, action, groups in (('movie', 'get_vod_streams', vod_groups),
                                         ('series', 'get_series', series_groups)):
                batch, count = [], 0

                def on_record(raw, kind=kind, action=action, groups=groups):
                    nonlocal batch, count
                    if self.limit and len(seen) >= self.limit:
                        summary.limited = True
                        return
                    count += 1
                    entry = self._entry(kind, action, raw, groups, count)
                    if entry is None:
                        summary.malformed += 1
                        return
                    usable[kind] += 1
                    summary.entries += 1
                    if entry.container_extension in PLAYLIST_CONTAINERS:
                        # HLS only: no file to download (what the panel serves at
                        # /movie/U/P/12.m3u8 is a list of segments).
                        summary.filtered += 1
                        streams_only[action] += 1
                        return
                    if (self.filter.active and not self.filter.allows(entry)) or (
                            entry.group_unknown and self.filter.patterns['group_title_exclude']):
                        # A record whose category cannot be told may be of an excluded
                        # one: wrong is worse than missing.
                        summary.filtered += 1
                        return
                    key = entry.url if kind == 'movie' else f'xtream-series:{client.settings.panel}/{entry.series_id}'
                    digest = line_hash(entry.tvg_name, key)
                    if kind == 'movie':
                        self._stream_ids[digest] = (entry.stream_id, entry.tvg_name)
                    batch = self._take(digest, entry, batch, seen, summary, by_type)

                listed = client.each(action, on_record)
                summary.lines_read += listed
                self._flush(batch, summary, by_type)
                if not listed and self.can_read_db and self._stored(kind):
                    log.warning('%s answered %s with no record, although its %s are stored: none '
                                'is marked gone', client.where, action,
                                'movies' if kind == 'movie' else 'series')
                if self.unresolved[action]:
                    log.warning('%s: %d records of %s name a category the panel did not list (%s '
                                'answered %d): their stored group titles are kept', client.where,
                                self.unresolved[action], action,
                                'get_vod_categories' if kind == 'movie' else 'get_series_categories',
                                len(groups))
                if streams_only[action]:
                    log.warning('%s: %d records of %s are only a streaming playlist (container_extension '
                                'm3u8): not offered for download (counted as filtered)', client.where,
                                streams_only[action], action)
                if self.skipped[action] > XTREAM_WARN_RECORDS:
                    log.warning('%s: skipped %d malformed records of %s in all', client.where,
                                self.skipped[action], action)

        self._dry_adopted.clear()
        self._ingest(summary, read_all)
        seen |= self._dry_adopted          # a dry run's rows a real run would have moved
        if summary.entries == 0:
            # '[]' for everything (or nothing readable): no catalogue, nothing to mark gone.
            raise PanelEmpty(f'{client.where} answered get_vod_streams and get_series with no usable '
                             f'record ({summary.lines_read} read, {summary.malformed} malformed): '
                             'nothing in the database was changed')
        PL = ProcessedLine
        if not summary.limited and self.can_read_db:
            # Only a list that held usable records says what is gone from it (a
            # panel that renamed its fields has every record skipped, not every film gone).
            if usable['movie']:
                # The panel's movies are its own rows and the M3U rows of its
                # /movie/U/P/ URLs (read from get.php before): one film, one row,
                # so a film the panel dropped -- or that a [filter] now drops --
                # is retired whichever read stored it. Episode lines are not:
                # get_series does not list them.
                prefix = client.settings.stream_url('movie', 0, '')[:-len('0.')]
                summary.disappeared += self._mark_disappeared(seen, (
                    (PL.source == 'xtream') & PL.stream_id.is_null(False) & PL.series_id.is_null())
                    | (PL.url.startswith(prefix) & (PL.source.is_null() | (PL.source == 'm3u'))))
            if usable['series']:
                summary.disappeared += self._mark_disappeared(
                    seen, (PL.source == 'xtream') & (PL.content_type == 'series'))
                summary.disappeared += self._retire_orphan_episodes()
        if self.can_read_db and not self.dry_run:
            self._sync_episode_tmdb()
        summary.elapsed_seconds = round(time.monotonic() - self._started, 3)
        return summary

    def _sync_episode_tmdb(self) -> int:
        """Give the episode lines (from get_series_info) their series' TMDB id as
        the series line has it now: a panel that corrects a series' id must not
        leave its episodes matched by the old one (trial-16b F10). One grouped read
        of each side, an update per changed series; how many lines changed."""
        PL = ProcessedLine
        now_of = dict(PL.select(PL.series_id, PL.tmdb_id).where(
            (PL.source == 'xtream') & (PL.content_type == 'series') & PL.missing_since.is_null()).tuples())
        stale = collections.defaultdict(list)
        for series_id, tmdb in (PL.select(PL.series_id, PL.tmdb_id)
                                .where((PL.source == 'xtream') & (PL.content_type == 'tvshows')
                                       & PL.series_id.is_null(False) & PL.missing_since.is_null())
                                .group_by(PL.series_id, PL.tmdb_id).tuples()):
            if series_id in now_of and now_of[series_id] != tmdb:
                stale[now_of[series_id]].append(series_id)
        changed = 0
        with db_proxy.atomic():
            for tmdb, series_ids in stale.items():
                for chunk in _chunks(sorted(set(series_ids)), _SQL_IN_CHUNK):
                    changed += PL.update(tmdb_id=tmdb).where(
                        (PL.source == 'xtream') & (PL.content_type == 'tvshows')
                        & PL.series_id.in_(chunk)).execute()
        return changed

    def _retire_orphan_episodes(self) -> int:
        """Mark gone the present episode lines (from get_series_info) of the series
        no longer in the panel; how many."""
        PL = ProcessedLine
        present = PL.select(PL.series_id).where((PL.source == 'xtream') & (PL.content_type == 'series')
                                                & PL.missing_since.is_null())
        orphans = ((PL.source == 'xtream') & (PL.content_type == 'tvshows') & PL.missing_since.is_null()
                   & PL.series_id.is_null(False) & PL.series_id.not_in(present))
        if self.dry_run:
            return PL.select().where(orphans).count()
        now = utcnow()
        with db_proxy.atomic():
            return PL.update(missing_since=now, updated_at=now).where(orphans).execute()

    def _entry(self, kind: str, action: str, raw, groups: dict, number: int) -> PanelEntry | None:
        """The entry of one record, or None (a warning) when it cannot be used."""
        problem = None
        if not isinstance(raw, dict):
            problem = f'a record that is {json_kind(raw)}, not an object'
        else:
            id_field = 'stream_id' if kind == 'movie' else 'series_id'
            the_id = xtream_int(raw.get(id_field))
            name = ' '.join(xtream_text(raw.get('name')).split())
            if the_id is None:
                problem = f'record {number} has no usable "{id_field}" ({clip(json.dumps(raw.get(id_field)), 40)})'
            elif not name:
                problem = f'record {id_field} {the_id} has no name'
            elif kind == 'movie' and xtream_text(raw.get('stream_type')).lower() in _XTREAM_LIVE_TYPES:
                problem = f'record stream_id {the_id} is a live stream, not a movie'
        if problem:
            self.skipped[action] += 1
            if self.skipped[action] <= XTREAM_WARN_RECORDS:
                log.warning('%s: skipped a malformed record of %s: %s', self.client.where, action, problem)
            return None
        category = xtream_text(raw.get('category_id'))
        if not category and isinstance(raw.get('category_ids'), list) and raw['category_ids']:
            category = xtream_text(raw['category_ids'][0])      # XUI.one: category_ids [3, 7]
        url, ext = '', None
        if kind == 'movie':
            # '.mkv', 'MKV ' (seen on some panels) are mkv.
            ext = xtream_text(raw.get('container_extension')).strip(' .').lower()
            ext = ext if _XTREAM_EXTENSION_RE.fullmatch(ext) else None
            # Without an extension the panel's usual one: it routes by the id.
            url = self.client.settings.stream_url('movie', the_id, ext or 'mp4')
        group, unknown = groups.get(category), False
        if group is None:
            group = ''
            if category:
                self.unresolved[action] += 1
                group = self._stored_group(kind, url if kind == 'movie' else the_id)
                unknown = group is None
                group = group or ''
        attrs = {'tvg-name': name[:1000], 'group-title': group,
                 'tvg-logo': xtream_text(raw.get('stream_icon' if kind == 'movie' else 'cover'))[:2000],
                 'tvg-type': kind}
        tmdb = xtream_int(raw.get('tmdb')) or xtream_int(raw.get('tmdb_id'))
        if kind == 'movie':
            return PanelEntry(number, '', attrs, name, url, kind='movie', stream_id=the_id,
                              tmdb_id=tmdb, container_extension=ext, group_unknown=unknown)
        year = xtream_year(raw.get('releaseDate')) or xtream_year(raw.get('release_date'))
        return PanelEntry(number, '', attrs, name, '', kind='series', series_id=the_id,
                          tmdb_id=tmdb, year=year, group_unknown=unknown)

    def _meta(self, entry: PanelEntry) -> str:
        return _panel_meta_hash(entry)

    def _classify(self, entry: PanelEntry) -> Classification:
        if entry.kind == 'movie':
            return classify(entry)      # the /movie/ URL decides, as for the playlist's line
        # A series: its title (and year, country, languages) the way an episode line's
        # series title is read, so that episode lines and the series share match_key.
        pt = parse_title(entry.display_title, 'episode')
        _kind, glangs = _group_info(entry.group_title) if entry.group_title else (None, [])
        langs = list(dict.fromkeys(pt.languages + glangs))
        return Classification('series', pt.title, pt.year or entry.year, None, None, pt.resolution,
                              langs, match_key(pt.title),
                              match_key(pt.alt_title) if pt.alt_title else None,
                              edition=pt.edition, country=pt.country)

    def _values(self, entry: PanelEntry, cls, digest, meta, now) -> tuple:
        return _line_values(entry, cls, digest, meta, now, (
            'xtream', entry.stream_id, entry.series_id, entry.tmdb_id, entry.container_extension))


def store_panel_account(panel: str, info: PanelAccountInfo, refused: bool = False) -> None:
    """Keep the account's state for `status` and /metrics (one row per panel).
    ``refused``: only the status ('Refused (auth 0)') and checked_at change (a
    refusal says nothing of the expiry or the connections)."""
    values = dict(status=info.status, exp_date=info.exp_date, is_trial=info.is_trial,
                  active_cons=info.active_cons, max_connections=info.max_connections,
                  checked_at=utcnow())
    if refused:
        values = dict(status=info.status, checked_at=values['checked_at'])
    with db_proxy.atomic():
        updated = PanelAccount.update(**values).where(PanelAccount.panel == panel).execute()
        if not updated:
            PanelAccount.insert(panel=panel, **values).on_conflict_ignore().execute()


def panel_name(cfg: Config) -> str | None:
    """panel_accounts.panel of the configured panel (None: none configured)."""
    try:
        settings = XtreamSettings.from_config(cfg)
    except ConfigError:
        return None
    return settings.panel if settings.url else None


def account_text(account: PanelAccount, now: dt.datetime) -> str:
    """'Active, expires 2026-12-01 (in 3.0 days), connections 0/2, checked 5m00s ago'."""
    parts = [clip(account.status or 'status unknown', 40)]
    if isinstance(account.exp_date, dt.datetime):
        left = (account.exp_date - now).total_seconds()
        when = account.exp_date.strftime('%Y-%m-%d %H:%M UTC')
        parts.append(f'expires {when} (in {_time_left(left)})' if left > 0 else f'expired {when}')
    else:
        parts.append('never expires')
    if account.max_connections is not None:
        parts.append(f'connections {account.active_cons if account.active_cons is not None else "?"}'
                     f'/{account.max_connections}')
    parts.append(f'checked {_age(now, account.checked_at)}')
    return ', '.join(parts)


# -- per-item details: get_series_info, get_vod_info ---------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class PanelEpisode:
    """One episode of a get_series_info answer: the panel's episode id, its season
    and episode numbers (the panel's own, never read from a title), the file's
    container_extension, its title ('' when none) and duration in seconds."""
    episode_id: int
    season: int
    episode: int
    extension: str
    title: str
    duration_seconds: int | None


def panel_episodes(document: dict) -> tuple[list[PanelEpisode], list[str]]:
    """The episodes of a get_series_info answer, and one problem for each record
    that cannot be used. Panels write ``episodes`` as {"1": [episode, …]} (season
    number -> list; XUI.one, Xtream UI), as a list of such lists, or as one flat
    list; numbers as numbers or strings ("id": "501"); an episode without
    ``season`` is of its season key's."""
    raw = document.get('episodes')
    problems, groups = [], []           # groups: (season of the key or None, records)
    if isinstance(raw, dict):
        for key, records in raw.items():
            if isinstance(records, list):
                groups.append((xtream_count(key), records))
            else:
                problems.append(f'season {clip(str(key), 20)!r} is {json_kind(records)}, not a list')
    elif isinstance(raw, list):
        groups = [(None, item) if isinstance(item, list) else (None, [item]) for item in raw]
    else:
        problems.append(f'"episodes" is {json_kind(raw)}, not an object or a list' if 'episodes' in document
                        else 'no "episodes" in the answer')
    found, ids = [], set()
    for key_season, records in groups:
        for record in records:
            if not isinstance(record, dict):
                problems.append(f'an episode that is {json_kind(record)}, not an object')
                continue
            episode_id = xtream_int(record.get('id'))
            season = xtream_count(record.get('season'))
            season = key_season if season is None else season
            number = xtream_int(record.get('episode_num'))
            if episode_id is None:
                problems.append(f'an episode without a usable "id" ({clip(json.dumps(record.get("id")), 40)})')
            elif season is None:
                problems.append(f'episode id {episode_id} has no usable "season"')
            elif number is None:
                problems.append(f'episode id {episode_id} has no usable "episode_num" '
                                f'({clip(json.dumps(record.get("episode_num")), 40)})')
            elif episode_id in ids:
                problems.append(f'episode id {episode_id} is listed twice')
            else:
                ids.add(episode_id)
                ext = xtream_text(record.get('container_extension'))
                info = record.get('info') if isinstance(record.get('info'), dict) else {}
                found.append(PanelEpisode(
                    episode_id, season, number,
                    ext.lower() if _XTREAM_EXTENSION_RE.fullmatch(ext) else 'mp4',
                    ' '.join(xtream_text(record.get('title')).split())[:1000],
                    xtream_int(info.get('duration_secs'))))
    return found, problems


@dataclasses.dataclass(slots=True)
class _EpisodeEntry(PlaylistEntry):
    """An episode line as the ingest stores it: already classified (``cls``)."""
    cls: Classification | None = None
    meta: str = ''
    panel: tuple = ()


class _EpisodeIngest(PlaylistIngest):
    """The upsert of one series' episode lines (PlaylistIngest's batches)."""
    source = 'xtream'
    merge_scan = False      # a few dozen lines stored anywhere in the table: the index finds them

    def __init__(self, dry_run: bool = False):
        super().__init__(dry_run=dry_run)
        self._lookups = True

    def _meta(self, entry: _EpisodeEntry) -> str:
        return entry.meta

    def _classify(self, entry: _EpisodeEntry) -> Classification:
        return entry.cls

    def _values(self, entry: _EpisodeEntry, cls, digest, meta, now) -> tuple:
        return _line_values(entry, cls, digest, meta, now, entry.panel)


_PanelSeries = collections.namedtuple('_PanelSeries', (
    'id', 'series_id', 'tmdb_id', 'display_title', 'title', 'year', 'languages', 'match_key',
    'alt_key', 'country', 'group_title', 'panel_info_at'))


class PanelDetails:
    """What a radarr/sonarr run asks the panel beyond its catalogue, only for what
    the app is missing, each answer kept ``[xtream] info_refresh_hours`` (the
    line's panel_info_at):

    - get_series_info of each panel series that is one Sonarr misses episodes of
      (its tmdb_id is the series' tmdbId; else its title): the episode lines;
    - get_vod_info of each panel movie line that a missing film's title finds and
      that has no tmdb_id: its TMDB id, and its duration and frame size (kept as
      its line_probes row, so the runtime check needs no request of the file).

    A bad answer fails that one series or film (a warning), never the run.
    ``calls``: the requests made."""

    def __init__(self, client: XtreamClient):
        self.client = client
        self.refresh = dt.timedelta(hours=client.settings.info_refresh_hours)
        self.calls = 0
        self._now = utcnow()

    def _due(self, fetched_at) -> bool:
        return fetched_at is None or self._now - fetched_at >= self.refresh

    def _ask(self, what: str, call, item_id: int):
        self.calls += 1
        try:
            return call(item_id)
        except PanelError as exc:
            log.warning('%s (%s %d); it is asked again next run', exc, what, item_id)
            return None

    # -- series --------------------------------------------------------------------------
    def series_episodes(self, series_list: list[dict]) -> int:
        """Refresh the episode lines of the panel's series that are Sonarr's
        ``series_list`` (SeriesResource): the series lines whose tmdb_id is the
        series' ``tmdbId``, else those its titles find (and whose tmdb_id, if
        any, is not another series'). Returns the number of series asked."""
        PL = ProcessedLine
        fields = [getattr(PL, name) for name in _PanelSeries._fields]
        base = (PL.source == 'xtream') & (PL.content_type == 'series') & PL.missing_since.is_null()
        by_tmdb, by_key = collections.defaultdict(list), collections.defaultdict(list)
        tmdb_ids = sorted({i for s in series_list if (i := _int_or_none(s.get('tmdbId')))})
        for chunk in _chunks(tmdb_ids, _SQL_IN_CHUNK):
            for row in PL.select(*fields).where(base & PL.tmdb_id.in_(chunk)).tuples():
                by_tmdb[row[2]].append(_PanelSeries._make(row))
        keys = sorted(set().union(*(TitleFacts.of_series(s).keys for s in series_list))) if series_list else []
        for column in (PL.match_key, PL.alt_key):
            for chunk in _chunks(keys, _SQL_IN_CHUNK):
                for row in PL.select(*fields).where(base & column.in_(chunk)).tuples():
                    by_key[row[7] if column is PL.match_key else row[8]].append(_PanelSeries._make(row))
        wanted = {}
        for series in series_list:
            tmdb = _int_or_none(series.get('tmdbId'))
            rows = by_tmdb.get(tmdb) if tmdb else None
            if not rows:
                rows = [row for key in TitleFacts.of_series(series).keys for row in by_key.get(key, ())
                        if not (tmdb and row.tmdb_id and row.tmdb_id != tmdb)]
            for row in rows:
                wanted[row.id] = row
        asked = 0
        for row in sorted(wanted.values(), key=lambda r: r.series_id):
            if not self._due(row.panel_info_at):
                continue
            asked += 1
            document = self._ask('get_series_info of series_id', self.client.series_info, row.series_id)
            if document is not None:
                self._store_series(row, document)
        return asked

    def _store_series(self, row: _PanelSeries, document: dict) -> None:
        where = f'{self.client.where}: get_series_info of series_id {row.series_id}'
        episodes, problems = panel_episodes(document)
        for problem in problems:
            log.warning('%s: skipped %s', where, problem)
        settings = self.client.settings
        ingest = _EpisodeIngest()
        ingest._started = time.monotonic()
        summary, by_type, seen, batch = (IngestSummary(playlist=None, panel=settings.panel, source='xtream'),
                                         collections.Counter(), set(), [])
        languages = (row.languages or '').split(',') if row.languages else []
        for ep in episodes:
            numbering = f'S{ep.season:02d}E{ep.episode:02d}'
            display = ep.title or f'{row.display_title} {numbering}'
            url = settings.stream_url('series', ep.episode_id, ep.extension)
            panel = ('xtream', ep.episode_id, row.series_id, row.tmdb_id, ep.extension)
            cls = Classification('tvshows', row.title or '', row.year, ep.season, ep.episode,
                                 parse_title(display, 'episode').resolution, languages,
                                 row.match_key or '', row.alt_key, country=row.country)
            meta = hashlib.sha1('\x1f'.join(map(str, (
                CLASSIFIER_VERSION, 'xtream-episode', display, url, row.group_title, *panel,
                *dataclasses.astuple(cls)))).encode('utf-8', 'surrogatepass')).hexdigest()
            entry = _EpisodeEntry(None, '', {'tvg-name': display, 'group-title': row.group_title or '',
                                             'tvg-type': 'series'}, display, url,
                                  cls=cls, meta=meta, panel=panel)
            batch = ingest._take(line_hash(display, url), entry, batch, seen, summary, by_type)
        ingest._flush(batch, summary, by_type)
        PL = ProcessedLine
        gone = 0
        if episodes:        # an answer with no usable episode retires none
            gone = ingest._mark_disappeared(seen, (PL.source == 'xtream') & (PL.content_type == 'tvshows')
                                            & (PL.series_id == row.series_id))
        PL.update(panel_info_at=self._now).where(PL.id == row.id).execute()
        log.info('%s: %d episode(s) (new %d, updated %d, gone %d)', where, len(episodes), summary.new,
                 summary.updated, gone)

    # -- movies --------------------------------------------------------------------------
    def movie_details(self, movies: list[dict]) -> int:
        """get_vod_info of the panel's movie lines that the titles of Radarr's
        ``movies`` (MovieResource) find and that have no tmdb_id: the TMDB id,
        duration and frame size it gives are stored. Returns the number asked."""
        PL = ProcessedLine
        keys = sorted(set().union(*(TitleFacts.of_movie(m).keys for m in movies))) if movies else []
        base = ((PL.source == 'xtream') & (PL.content_type == 'movies') & PL.missing_since.is_null()
                & PL.tmdb_id.is_null() & PL.stream_id.is_null(False))
        rows = {}
        for column in (PL.match_key, PL.alt_key):
            for chunk in _chunks(keys, _SQL_IN_CHUNK):
                for line_id, stream_id, fetched_at in PL.select(PL.id, PL.stream_id, PL.panel_info_at).where(
                        base & column.in_(chunk)).tuples():
                    rows[line_id] = (stream_id, fetched_at)
        asked = 0
        for line_id, (stream_id, fetched_at) in sorted(rows.items()):
            if not self._due(fetched_at):
                continue
            asked += 1
            document = self._ask('get_vod_info of vod_id', self.client.vod_info, stream_id)
            if document is not None:
                self._store_movie(line_id, stream_id, document)
        return asked

    def _store_movie(self, line_id: int, stream_id: int, document: dict) -> None:
        where = f'{self.client.where}: get_vod_info of vod_id {stream_id}'
        info = document.get('info')
        if not isinstance(info, dict):
            log.warning('%s: skipped, "info" is %s, not an object', where, json_kind(info))
            info = {}
        tmdb = xtream_int(info.get('tmdb_id')) or xtream_int(info.get('tmdb'))
        video = info.get('video') if isinstance(info.get('video'), dict) else {}
        duration = xtream_int(info.get('duration_secs')) or xtream_duration(info.get('duration'))
        media = MediaInfo(duration=duration, width=xtream_int(video.get('width')),
                          height=xtream_int(video.get('height')), note='get_vod_info')
        PL = ProcessedLine
        values = {PL.panel_info_at: self._now}
        if tmdb:
            values[PL.tmdb_id] = tmdb
        PL.update(values).where(PL.id == line_id).execute()
        if media.duration or media.resolution:
            # A file's own header, read earlier, is not replaced by what the panel says.
            LineProbe.insert(line=line_id, duration_seconds=media.duration, width=media.width,
                             height=media.height, resolution=media.resolution, note=media.note,
                             probed_at=self._now).on_conflict_ignore().execute()
        log.debug('%s: tmdb %s, %s', where, tmdb or 'none', describe_media(media))


# ==== matching ==================================================================

# Why a missing item was not downloaded, in the order the run summary names them.
SKIP_NOT_AVAILABLE = 'not available yet'         # Radarr's isAvailable ([radarr] require_available)
SKIP_NOT_IN_PLAYLIST = 'not in the playlist'
SKIP_ONLY_EXTRAS = 'only a trailer or extra in the playlist'
SKIP_OTHER_YEARS = 'only other years in the playlist'
SKIP_OTHER_COUNTRY = "only another country's version in the playlist"   # 'The Office (US)' for BBC's
SKIP_UNSURE = 'not sure it is the same'           # lines exist; the matching rules refused them
SKIP_AMBIGUOUS = 'another of that name could be meant'  # the app's lookup knows another film/series
SKIP_LOOKUP_LATER = 'lookup left for the next run'      # lookups_per_run used up, or the lookup failed
SKIP_RUNTIME = 'runtime does not fit'             # the probe measured another duration
SKIP_LANGUAGES = 'other languages only'           # [quality] languages_only
SKIP_DONE = 'already downloaded'
SKIP_HELD = 'held by another instance'
SKIP_LIMIT = 'over the limit'                     # --limit: left for a later run
# Its download failed in a way no retry fixes (Downloader._fail permanent) and gave
# up: every cron run would fail it again; `stalkeer retry ID` once it is put right.
SKIP_NEEDS_ATTENTION = 'needs attention'
# Its download used up max_retry_attempts retries without progress: resume-downloads
# no longer resumes it (StateManager.gave_up), so neither does a radarr/sonarr run;
# `stalkeer retry ID` puts it back. --force does not: it replaces files, not verdicts.
SKIP_RETRIES_USED_UP = 'retries used up'
SKIP_REASONS = (SKIP_NOT_AVAILABLE, SKIP_NOT_IN_PLAYLIST, SKIP_ONLY_EXTRAS, SKIP_OTHER_YEARS,
                SKIP_OTHER_COUNTRY, SKIP_UNSURE, SKIP_AMBIGUOUS, SKIP_LOOKUP_LATER, SKIP_RUNTIME, SKIP_LANGUAGES,
                SKIP_DONE, SKIP_HELD, SKIP_NEEDS_ATTENTION, SKIP_RETRIES_USED_UP, SKIP_LIMIT)
# When every line of an item was refused, the item is skipped for the refusal
# closest to a match (a lookup to come beats "another could be meant" beats …).
_REASON_RANK = {reason: i for i, reason in enumerate(
    (SKIP_LOOKUP_LATER, SKIP_AMBIGUOUS, SKIP_UNSURE, SKIP_OTHER_COUNTRY, SKIP_OTHER_YEARS,
     SKIP_ONLY_EXTRAS))}

QUALITY_ALIASES = {'4k': '2160p', 'uhd': '2160p', '2160p': '2160p', 'fhd': '1080p',
                   '1080p': '1080p', 'hd': '720p', '720p': '720p', 'sd': '480p', '480p': '480p',
                   'unknown': None}
# What a line may say besides the film's name that makes it something else than the
# film: never taken, unless the film's own title says so ('The Interview', 'The
# Collection'). Anywhere in the line: words after the year are not part of the title
# the matching compares (trial-1213 F5), so only these can stop 'Heat (1995) Bonus'.
_EXTRA_MARKERS = (
    (r'tr[aáà]ilers?|teasers?', "trailers; Spanish writes 'Tráiler'"),
    (r'bande[\s-]*annonce|fragman|vorschau|previews?', 'trailer in French, Turkish, German; previews'),
    (r'samples?', "release groups' short samples"),
    (r'making[\s-]*of|behind the scenes|featurettes?|extras?|bonus|deleted scenes|interviews?|'
     r'bloopers?|gag reel', 'bonus material of a disc, sold as its own VOD line'),
    (r'recap', "a 'story so far' before a sequel"),
    (r'soundtrack|(?-i:OST)', 'the music, not the film (OST in capitals only)'),
    (r'(?<!criterion )collection', "a box set; 'Criterion Collection' is an edition"),
)
_NOT_THE_FILM = _LazyPattern(r'\b(?:' + '|'.join(p for p, _ in _EXTRA_MARKERS) + r')\b', re.IGNORECASE)
# A part of a film split across files (older VOD lists): half a film is the wrong file.
# Only when outside the line's own title: 'Deathly Hallows Part 1' names a film.
_PART_MARKERS = (
    (r'cd\s?\d{1,2}|dis[ck]\s?\d{1,2}', "'CD2', 'Disc 1': one disc of a two-disc rip"),
    (r'(?:part|pt|parte|partie|teil)\.?\s?(?:\d{1,2}|[ivx]{1,4})',
     "'Alien (1979) Part 1', 'Pt 2', Spanish/Portuguese 'Parte', French 'Partie', German 'Teil'"),
)
_PART_OF_FILM = _LazyPattern(r'\b(?:' + '|'.join(p for p, _ in _PART_MARKERS) + r')\b', re.IGNORECASE)


@dataclasses.dataclass
class QualitySettings:
    preference: list        # resolutions best first; None = unknown
    languages: list
    languages_only: bool

    @classmethod
    def from_config(cls, cfg: Config) -> 'QualitySettings':
        prefs, unknown = [], []
        for item in (cfg.get('quality', 'preference') or '').split(','):
            item = item.strip().lower()
            if not item:
                continue
            if item not in QUALITY_ALIASES:
                unknown.append(clip(item, 40))      # all of them named at once
                continue
            prefs.append(QUALITY_ALIASES[item])
        if unknown:
            raise ConfigError(f'{cfg.where("quality", "preference")}: unknown '
                              f'quality {", ".join(map(repr, unknown))} (use 4K, 1080p, 720p, 480p, unknown)')
        langs = [x.strip().upper() for x in (cfg.get('quality', 'languages') or '').split(',') if x.strip()]
        return cls(prefs, langs, cfg.getbool('quality', 'languages_only'))

    def rank(self, line) -> tuple:
        """Sort key: preferred language first, then preferred resolution."""
        line_langs = set((line.languages or '').split(',')) - {''}
        lang_rank = min((i for i, lang in enumerate(self.languages) if lang in line_langs),
                        default=len(self.languages))
        res_rank = self.preference.index(line.resolution) if line.resolution in self.preference \
            else len(self.preference)
        return lang_rank, res_rank, line.id

    def allows(self, line) -> bool:
        if not self.languages_only or not self.languages:
            return True
        return bool(set((line.languages or '').split(',')) & set(self.languages))


@dataclasses.dataclass
class WantedItem:
    """A missing movie or episode and the playlist lines that may fill it."""
    service: str                  # radarr | sonarr
    item_id: int                  # movieId / episodeId
    parent_id: int | None         # seriesId (what RescanSeries needs)
    label: str                    # "Heat (1995)" / "Show - S01E02"
    destination: str              # without extension: the line's own is added
    candidates: list = dataclasses.field(default_factory=list)
    reason: str = ''              # why it was skipped, for the summary and -v
    detail: str = ''
    match: 'Match | None' = None  # every line considered and why (for -v and the runtime check)
    runtime: int | None = None    # minutes, from the app: what the probe compares with
    error: str = ''               # why it cannot be downloaded at all (its destination)
    item_ids: tuple = ()          # every episode one multi-episode file fills (item_id first)

    @property
    def count(self) -> int:
        """How many of the app's items this download fills (the run counts items)."""
        return len(self.item_ids) or 1


# -- lines as matching reads them --------------------------------------------------------

# Only the columns matching reads, as tuples: building model objects for 10k
# candidates was most of the matching time (issue 15's profile).
CandidateLine = collections.namedtuple('CandidateLine', (
    'id', 'url', 'content_type', 'title', 'display_title', 'year', 'season', 'episode',
    'resolution', 'languages', 'match_key', 'tvg_id', 'alt_key', 'country', 'episode_end',
    'absolute_episode', 'air_date', 'source', 'tmdb_id', 'series_id'))


# A line with an empty display title ('#EXTINF:-1 tvg-name="Heat (1995)",') is shown
# by its tvg-name, as the matching read it (trial-1213 F11).
_CANDIDATE_COLUMNS = {'display_title': """COALESCE(NULLIF("display_title", ''), "tvg_name")"""}
_CANDIDATE_SQL = ('SELECT ' + ', '.join(_CANDIDATE_COLUMNS.get(name, f'"{name}"')
                                        for name in CandidateLine._fields)
                  + ' FROM "processed_lines" WHERE {} AND "missing_since" IS NULL')


def line_query(column: str, values: list, content_type: str | None = None) -> tuple[str, list]:
    """(SQL, params) of the present lines whose ``column`` is one of ``values``.
    Written out rather than built by peewee: building a 900-value IN took 30 ms
    a chunk, most of matching 10k movies (bench/RESULTS.md)."""
    param = db_proxy.obj.param
    where = f'"{column}" IN ({", ".join([param] * len(values))})'
    params = list(values)
    if content_type is not None:
        where = f'"content_type" = {param} AND {where}'
        params.insert(0, content_type)
    return _CANDIDATE_SQL.format(where), params


def _lines_by(column: str, values, content_type: str | None, index: int, keep=None) -> dict:
    found = collections.defaultdict(list)
    make, execute = CandidateLine._make, db_proxy.obj.execute_sql
    for chunk in _chunks(sorted({v for v in values if v}), _SQL_IN_CHUNK):
        for row in execute(*line_query(column, chunk, content_type)).fetchall():
            if keep is None or row[2] == keep:
                found[row[index]].append(make(row))
    return found


def _lines_by_key(content_type: str, keys) -> dict:
    """Present playlist lines of a type whose match_key is one of ``keys``: index
    lookups on (content_type, match_key), 900 keys a query."""
    return _lines_by('match_key', keys, content_type, 10)


def _lines_by_alt_key(content_type: str, keys) -> dict:
    """Lines whose other reading (alt_key: 'death race 2000' of "Death Race 2000",
    'office' of "The Office (US)") is one of ``keys``: the partial (content_type,
    alt_key) index."""
    return _lines_by('alt_key', keys, content_type, 12)


def _lines_of(keys, by_key: dict, by_alt: dict) -> list:
    """The lines an item's keys find, each once: by its match_key as it is, else by
    its other reading (see _other_reading). A line has one match_key and one
    alt_key, so only the two readings of one line can meet."""
    lines = [line for key in keys for line in by_key.get(key, ())]
    alt = [line for key in keys for line in by_alt.get(key, ())] if by_alt else ()
    if alt:
        seen = {line.id for line in lines}
        lines += [_other_reading(line) for line in alt if line.id not in seen]
    return lines


def _other_reading(line):
    """The line read the other way (issue 12's alt_key): a film whose bare number
    was taken for its year ('Death Race 2000' -> 'Death Race', 2000) is 'Death Race
    2000' with no year; a title with a country qualifier ('The Office (US)', 'Heat
    (1986) (US)') is 'The Office', still from the US, its year kept (the alt_key of
    such a line is the title without the qualifier, never a number taken for a year:
    trial-1213 F4). The title becomes what a lookup asks for."""
    if line.content_type == 'movies' and not line.country:
        title = f'{line.title} {line.year}' if line.year else line.title
        return line._replace(match_key=line.alt_key, year=None, title=title)
    return line._replace(match_key=line.alt_key, title=_TITLE_COUNTRY_RE.sub('', line.title or ''))


def _lines_by_tvg_id(content_type: str, ids) -> dict:
    """Present lines whose tvg-id is one of ``ids``. The type is checked here, not in
    SQL: with it in the WHERE both engines pick the (content_type, match_key) index on
    its first column and scan every line of the type (issue 15: 3 s of 4.7)."""
    return _lines_by('tvg_id', ids, None, 11, keep=content_type)


def _lines_by_panel_tmdb(content_type: str, ids) -> dict:
    """tmdb_id -> present lines of a type whose TMDB id an Xtream panel gave
    (source 'xtream'; a tvg-id in an M3U line is no panel id). The type is checked
    here, as for tvg-id: TMDB numbers films and series apart (movie 1396 is not
    series 1396)."""
    found = _lines_by('tmdb_id', ids, None, 18, keep=content_type)
    noun = 'film' if content_type == 'movies' else 'series'
    return {key: kept for key, lines in found.items()
            if (kept := [line for line in lines if _panel_id_is(line, noun)])}


def _panel_id_is(line, noun: str) -> bool:
    """Whether the line's tmdb_id is a panel id of a ``noun`` ('film' or
    'series'). TMDB numbers films and TV shows apart (trial-16b F0): a VOD
    stream's id (get_vod_streams/get_vod_info, no series_id) is a movie id, even
    when its name reads as an episode; an episode line's id is its panel series'
    (get_series/get_series_info, series_id set). Only like is compared with like."""
    if line.source != 'xtream' or not line.tmdb_id:
        return False
    return (line.series_id is None) == (noun == 'film')


def _panel_says_other(line, tmdb: int | None, noun: str = 'film') -> int | None:
    """The TMDB id the panel gave a line when it is not ``tmdb`` (another film or
    series), else None; only a panel id of the same kind counts (_panel_id_is)."""
    if tmdb and _panel_id_is(line, noun) and line.tmdb_id != tmdb:
        return line.tmdb_id
    return None


def _is_extra(line, own_title: str) -> bool:
    """A trailer, bonus material or one part of a split film (the _EXTRA_MARKERS and
    _PART_MARKERS tables), not the film titled ``own_title``."""
    return is_extra_text(line.display_title or '', line.title or '', own_title)


def is_extra_text(display_title: str, title: str, own_title: str = '') -> bool:
    if _NOT_THE_FILM.search(display_title) or _NOT_THE_FILM.search(title):
        if not _NOT_THE_FILM.search(own_title):
            return True
    return bool(_PART_OF_FILM.search(display_title)) and not _PART_OF_FILM.search(title) \
        and not _PART_OF_FILM.search(own_title)


# -- what is known of a film or series ----------------------------------------------------

_SPELLING_DROP_RE = _LazyPattern(r"['’‘ʼ`´]")
_SPELLING_SPLIT_RE = _LazyPattern(r'[\W_]+')
_TITLE_YEAR_RE = _LazyPattern(r'\s*\((?:19|20)\d\d\)\s*$')
# Sonarr (TheTVDB) names country versions 'The Office (US)', 'Shameless (US)',
# 'Skins (UK)': the name without the qualifier is still one they answer to.
_TITLE_COUNTRY_RE = _LazyPattern(r'\s*\((US|UK|GB|AU|NZ|CA|IE|ZA)\)\s*$')


def spelling_key(title: str) -> str:
    """A title as written, for "is it exactly the app's title": case, punctuation and
    '&'/'and' do not count; accents, articles and numerals do ('Drácula' is not
    'Dracula', 'Rocky II' is not 'Rocky 2'; match_key folds all of those)."""
    if not title.isascii() and any(h in title for h in _MOJIBAKE_HINTS):
        title = repair_mojibake(title)
    text = _SPELLING_DROP_RE.sub('', title.casefold().replace('&', ' and '))
    return ' '.join(_SPELLING_SPLIT_RE.sub(' ', text).split())


def _date_year(value) -> int | None:
    """The year of an ISO 8601 date the apps serve ('2019-12-25T00:00:00Z')."""
    if isinstance(value, str) and value[4:5] == '-' and value[:4].isdigit():
        return int(value[:4])
    return None


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclasses.dataclass(slots=True)
class TitleFacts:
    """What matching knows of one film or series: from the app's own resource, or from
    one result of its lookup (MovieResource / SeriesResource shapes)."""
    ident: int | None            # tmdbId (Radarr) / tvdbId (Sonarr)
    title: str
    year: int | None
    titles: tuple                # the title, original and alternate titles as written
    keys: frozenset              # their match_key
    date_years: frozenset = frozenset()   # Radarr: secondaryYear, years of inCinemas/digital/physical
    secondary_year: int | None = None
    runtime: int | None = None   # minutes
    language: str | None = None  # originalLanguage.name
    network: str | None = None
    seasons: frozenset | None = None      # Sonarr: season numbers it has (None: not told)
    country: str | None = None   # Sonarr: of its title's qualifier, else of its network
    _spellings: frozenset | None = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def of_movie(cls, movie: dict) -> 'TitleFacts':
        titles = [movie.get('title') or '', movie.get('originalTitle') or '']
        titles += [a.get('title') or '' for a in movie.get('alternateTitles') or []
                   if isinstance(a, dict)]
        secondary = _int_or_none(movie.get('secondaryYear'))
        dates = {_date_year(movie.get('inCinemas')), _date_year(movie.get('digitalRelease')),
                 _date_year(movie.get('physicalRelease')), secondary}
        dates.discard(None)
        return cls(_int_or_none(movie.get('tmdbId')), movie.get('title') or '',
                   _int_or_none(movie.get('year')), tuple(titles), _keys_of(titles),
                   frozenset(dates), secondary, _int_or_none(movie.get('runtime')),
                   _language_name(movie))

    @classmethod
    def of_series(cls, series: dict) -> 'TitleFacts':
        title = series.get('title') or ''
        titles = [title, _TITLE_YEAR_RE.sub('', title), _TITLE_COUNTRY_RE.sub('', title)]
        titles += [a.get('title') or '' for a in series.get('alternateTitles') or []
                   if isinstance(a, dict)]
        seasons = series.get('seasons')
        numbers = frozenset(s['seasonNumber'] for s in seasons if isinstance(s, dict)
                            and isinstance(s.get('seasonNumber'), int)) if seasons else None
        network = series.get('network') if isinstance(series.get('network'), str) else None
        return cls(_int_or_none(series.get('tvdbId')), title, _int_or_none(series.get('year')),
                   tuple(titles), _keys_of(titles), frozenset(), None,
                   _int_or_none(series.get('runtime')), _language_name(series),
                   network, numbers or None, series_country(title, network))

    @property
    def spellings(self) -> frozenset:
        """spelling_key of each title: computed when a line of the right year asks."""
        if self._spellings is None:
            self._spellings = frozenset(k for k in map(spelling_key, self.titles) if k)
        return self._spellings

    @property
    def label(self) -> str:
        """'Crash (1996)'; 'The Flash (2014)' as Sonarr titles it already."""
        if not self.year or self.title.endswith(f'({self.year})'):
            return self.title
        return f'{self.title} ({self.year})'

    _SETS = ('keys', 'date_years', 'seasons')

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != '_spellings'}
        for name in self._SETS:
            data[name] = sorted(data[name]) if data[name] is not None else None
        data['titles'] = list(self.titles)
        return data

    @classmethod
    def from_json(cls, data: dict) -> 'TitleFacts':
        data = dict(data)
        for name in cls._SETS:
            data[name] = frozenset(data[name]) if data.get(name) is not None else \
                (None if name == 'seasons' else frozenset())
        data['titles'] = tuple(data.get('titles') or ())
        return cls(**data)


# Where a series comes from when its title carries no qualifier: its network,
# as TheTVDB names them. Only broadcasters tied to one country; global streamers
# (Netflix, Prime Video, Apple TV+, Disney+) say nothing.
NETWORK_COUNTRY = {
    **dict.fromkeys(('BBC One', 'BBC Two', 'BBC Three', 'BBC Four', 'BBC', 'BBC iPlayer', 'ITV',
                     'ITV1', 'ITV2', 'ITVX', 'Channel 4', 'E4', 'More4', 'Channel 5', 'Sky One',
                     'Sky1', 'Sky Max', 'Sky Atlantic', 'Dave', 'BritBox'), 'UK'),
    **dict.fromkeys(('NBC', 'CBS', 'ABC', 'ABC (US)', 'FOX', 'HBO', 'HBO Max', 'Max', 'Showtime',
                     'AMC', 'FX', 'FXX', 'The CW', 'Hulu', 'Starz', 'USA Network', 'TNT', 'TBS',
                     'Comedy Central', 'MTV', 'Syfy', 'Paramount+', 'Peacock', 'Cinemax',
                     'Freeform', 'Bravo', 'A&E', 'Lifetime', 'PBS', 'Adult Swim', 'Nickelodeon',
                     'Cartoon Network'), 'US'),
    **dict.fromkeys(('ABC (AU)', 'ABC TV', 'Nine Network', 'Seven Network', 'Network 10',
                     'Network Ten', 'SBS', 'Foxtel', 'Stan', 'Showcase (AU)'), 'AU'),
    **dict.fromkeys(('CBC', 'CBC Television', 'CTV', 'Global', 'Crave', 'Showcase'), 'CA'),
    **dict.fromkeys(('TVNZ', 'TVNZ 1', 'TVNZ 2', 'TV3 (NZ)', 'Three'), 'NZ'),
    **dict.fromkeys(('RTÉ One', 'RTÉ', 'RTÉ2', 'Virgin Media One', 'TG4'), 'IE'),
}


def series_country(title: str, network: str | None) -> str | None:
    """'US' of 'The Office (US)'; else the country of its network ('BBC Two' -> UK);
    else None. GB is UK."""
    m = _TITLE_COUNTRY_RE.search(title or '')
    country = m[1] if m else NETWORK_COUNTRY.get(network or '')
    return 'UK' if country == 'GB' else country


# Providers drop the hyphen of a joined name: '911' for '9-1-1', 'Spiderman' for
# 'Spider-Man' (trial-1213 F9). The app's titles also answer to that spelling; a line
# found so is spelled otherwise, so the lookup guard still decides it.
_HYPHEN_JOINED_RE = _LazyPattern(r'(?<=\w)-(?=\w)')


def _keys_of(titles) -> frozenset:
    keys = {match_key(t) for t in titles}
    keys.update(match_key(_HYPHEN_JOINED_RE.sub('', t)) for t in titles if '-' in t)
    keys.discard('')
    return frozenset(keys)


def _language_name(resource: dict) -> str | None:
    lang = resource.get('originalLanguage')
    return lang.get('name') if isinstance(lang, dict) and isinstance(lang.get('name'), str) else None


def movie_keys(movie: dict) -> tuple[str, set]:
    primary = match_key(movie.get('title') or '')
    keys = {primary, match_key(movie.get('originalTitle') or '')}
    keys |= {match_key(a.get('title') or '') for a in movie.get('alternateTitles') or []}
    keys.discard('')
    return primary, keys


# -- the lookup guard ---------------------------------------------------------------------

class TitleLookups:
    """"Is there another film (series) of that name?", asked of the user's own Radarr
    (``GET /api/v3/movie/lookup?term=``) or Sonarr (``series/lookup``): they search
    their metadata sources (TMDB, TheTVDB) with no key of ours. One lookup per title,
    answers kept in ``arr_lookups`` for ``max_age_days``, at most ``budget`` requests a
    run (the rest wait for the next run). ``write=False`` (a dry run) reads the
    cache and never writes it."""

    def __init__(self, client, service: str, budget: int = 100, max_age_days: float = 30,
                 write: bool = True, enabled: bool = True, use_cache: bool = True):
        self.client = client
        self.service = service
        self.budget = budget
        self.max_age = dt.timedelta(days=max_age_days)
        self.write = write
        self.enabled = enabled
        self.use_cache = use_cache
        self.answers: dict[str, list | None] = {}
        self.why_not: dict[str, str] = {}    # term key -> why there is no answer
        self.requests = 0

    @classmethod
    def from_config(cls, cfg: Config, client, service: str, write: bool, use_cache: bool):
        return cls(client, service, cfg.getnumber('matching', 'lookups_per_run'),
                   cfg.getnumber('matching', 'lookup_cache_days'), write,
                   cfg.getbool('matching', 'lookup'), use_cache)

    def load(self, keys) -> None:
        """Read the fresh cached answers for ``keys`` (one query per 900)."""
        keys = sorted({k for k in keys if k and k not in self.answers})
        if not keys or not self.use_cache:
            return
        AL, since = ArrLookup, utcnow() - self.max_age
        try:
            for chunk in _chunks(keys, _SQL_IN_CHUNK):
                query = (AL.select(AL.term_key, AL.answer)
                         .where((AL.service == self.service) & AL.term_key.in_(chunk)
                                & (AL.looked_up_at >= since)).tuples())
                for key, answer in query:
                    with contextlib.suppress(ValueError, TypeError):
                        self.answers[key] = [TitleFacts.from_json(x) for x in json.loads(answer)]
        except peewee.PeeweeException:
            # A dry run on a database older than the table (it never migrates).
            self.use_cache = False
            _after_failed_read()

    def get(self, key: str, term: str) -> list | None:
        """Everything of that name the app knows (TitleFacts), or None when it
        cannot be asked now (``why_not[key]`` says why)."""
        if key in self.answers:
            return self.answers[key]
        self.load([key])
        if key in self.answers:
            return self.answers[key]
        if not self.enabled:
            self.why_not[key] = 'lookups are off ([matching] lookup)'
            return None
        if self.requests >= self.budget:
            self.why_not[key] = f'{self.budget} lookups this run already ([matching] lookups_per_run)'
            return None
        self.requests += 1
        try:
            raw = self.client.lookup(term)
        except ArrError as exc:
            log.warning('could not ask %s about %r: %s', self.client.name, term, exc)
            self.why_not[key] = f'the lookup failed: {exc}'
            self.answers[key] = None
            return None
        of = TitleFacts.of_movie if self.service == 'radarr' else TitleFacts.of_series
        facts = [of(x) for x in raw if isinstance(x, dict)]
        self.answers[key] = facts
        log.debug('%s lookup %r: %s', self.client.name, term,
                  first_of((f.label for f in facts), 12, '; ') or 'nothing')
        if self.write:
            self._store(key, term, facts)
        return facts

    def _store(self, key, term, facts) -> None:
        AL = ArrLookup
        answer = json.dumps([f.to_json() for f in facts], ensure_ascii=False)
        try:
            (AL.insert(service=self.service, term_key=key, term=term, answer=answer,
                       looked_up_at=utcnow())
             .on_conflict(conflict_target=[AL.service, AL.term_key],
                          update={AL.term: term, AL.answer: answer, AL.looked_up_at: utcnow()})
             .execute())
        except peewee.PeeweeException as exc:    # a cache: the run goes on without it
            log.warning('could not keep the %s lookup of %r: %s', self.client.name, term,
                        first_line(exc))


def _after_failed_read() -> None:
    """After a read that failed (a missing table): PostgreSQL refuses every later
    statement of an aborted transaction until it is rolled back."""
    if is_postgres(db_proxy):
        with contextlib.suppress(Exception):
            db_proxy.obj.connection().rollback()


# -- the rules ------------------------------------------------------------------------------

# One line considered for one item: the ``line`` (a CandidateLine), whether it was
# ``taken`` (bool), and ``why`` (for -v). ``reason``: for a refused line, the
# summary's skip reason it stands for; ``probe``: for a taken line, None when no
# runtime check applies (an id match), else the runtimes (minutes) of other films it
# must NOT fit (usually none). A plain namedtuple: typing.NamedTuple would import
# typing at start.
Verdict = collections.namedtuple('Verdict', ('line', 'taken', 'why', 'reason', 'probe'),
                                 defaults=('', ()))


@dataclasses.dataclass(slots=True)
class Match:
    """The lines taken for one item (``lines``) and every line considered (``verdicts``)."""
    lines: list = dataclasses.field(default_factory=list)
    verdicts: list = dataclasses.field(default_factory=list)
    note: str = ''                # when no line was considered: what there is instead
    keys: frozenset = frozenset()  # the item's title keys (near misses)
    year: int | None = None        # the item's year (near misses)

    def add(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)
        if verdict.taken:
            self.lines.append(verdict.line)

    def refuse(self, line, why: str, reason: str = SKIP_UNSURE) -> None:
        """Take back a line taken earlier (multi-episode files, see ArrRun)."""
        self.lines = [x for x in self.lines if x.id != line.id]
        self.verdicts = [v for v in self.verdicts if v.line.id != line.id or not v.taken]
        self.verdicts.append(Verdict(line, False, why, reason))

    def probe_of(self, line_id: int) -> tuple | None:
        for v in self.verdicts:
            if v.taken and v.line.id == line_id:
                return v.probe
        return ()

    def skip_reason(self) -> tuple[str, str]:
        """(reason, detail) when nothing was taken: the refusal closest to a match."""
        refused = [v for v in self.verdicts if not v.taken]
        if not refused:
            return SKIP_NOT_IN_PLAYLIST, self.note
        best = min(refused, key=lambda v: _REASON_RANK.get(v.reason, len(_REASON_RANK)))
        if best.reason == SKIP_OTHER_YEARS:
            years = sorted({v.line.year for v in refused if v.reason == SKIP_OTHER_YEARS})
            return best.reason, ', '.join(map(str, years))
        if best.reason == SKIP_ONLY_EXTRAS:
            # Whole titles, never one cut part-way: the first few, and how many more.
            return best.reason, first_of(sorted({clip(v.line.display_title or '', 100) for v in refused}), 5, '; ')
        return best.reason, best.why


# Rests on / refusals -> how the lines needing a lookup are resolved.
_NEEDS_NO_YEAR, _NEEDS_NEAR_YEAR, _NEEDS_SPELLING = 'no year', 'near year', 'spelling'
_NEEDS_COUNTRY = 'country'


def _judge_title(facts: TitleFacts, line, noun: str, library_count: Callable[[], int]):
    """The identity of ``line`` against a film or series by title and year alone:
    a final Verdict, or what its identity rests on (a _NEEDS_* for the lookup)."""
    if line.year is not None and facts.year:
        if line.year == facts.year:
            if line.title in facts.titles or spelling_key(line.title or '') in facts.spellings:
                return Verdict(line, True, 'same title and year')
            return _NEEDS_SPELLING
        diff = abs(line.year - facts.year)
        if diff == 1 and line.year in facts.date_years:     # secondaryYear too: one off only
            return _NEEDS_NEAR_YEAR
        if diff == 1:
            says = (f"none of {_apps(noun)}'s dates says so ({', '.join(map(str, sorted(facts.date_years)))})"
                    if facts.date_years else f"{_apps(noun)} gives no other date")
            return Verdict(line, False, f'year {line.year} is one off {facts.year} and {says}',
                           SKIP_OTHER_YEARS)
        return Verdict(line, False, f'year {line.year}, the {noun} is {facts.year}', SKIP_OTHER_YEARS)
    if line.year is not None:
        return Verdict(line, False, f'year {line.year}, {_apps(noun)} gives no year', SKIP_UNSURE)
    count = library_count()
    if count > 1:
        return Verdict(line, False, f'no year, and your library has {count} {noun}s of that name',
                       SKIP_UNSURE)
    return _NEEDS_NO_YEAR


# Countries whose own series are in English: a German-language series is not "(US)".
_ENGLISH_ONLY_COUNTRIES = frozenset(('US', 'UK', 'AU', 'NZ', 'IE'))


def _country(code: str | None) -> str | None:
    return 'UK' if code == 'GB' else code


def _judge_country(f: TitleFacts, line):
    """A country qualifier is identity ('The Office (US)' is not BBC's 'The Office'):
    None when nothing stands against the line, a refusal when the line's country
    and the series' own (its title's qualifier, else its network; an original
    language other than English rules out US, UK, AU, NZ, IE) differ, or
    _NEEDS_COUNTRY when the line names one and nothing says the series' own. A line
    without one is judged by title and year: year-less, it needs the lookup to know
    no other series of that name (a country version is one) exists."""
    country = _country(line.country)
    if not country:
        return None
    if f.country is None and f.language and f.language != 'English' \
            and country in _ENGLISH_ONLY_COUNTRIES:
        return Verdict(line, False, f'it says {country}, the series is in {f.language}',
                       SKIP_OTHER_COUNTRY)
    if f.country is None:
        return _NEEDS_COUNTRY
    if country != f.country:
        return Verdict(line, False, f'it says {country}, the series is from {f.country}'
                                    + (f' ({f.network})' if f.network and f.network not in f.title else ''),
                       SKIP_OTHER_COUNTRY)
    return None


def _apps(noun: str) -> str:
    return 'Radarr' if noun == 'film' else 'Sonarr'


def _resolve(facts: TitleFacts, line, needs: str, answer: list | None, why_not: str,
             noun: str, season: int | None = None) -> Verdict:
    """Decide a line whose identity rests on a missing year, a near year or a
    spelling, from the lookup's ``answer`` (None: no answer this run)."""
    if answer is None:
        return Verdict(line, False, f'{needs}: cannot ask whether another {noun} of that name '
                                    f'exists ({why_not})', SKIP_LOOKUP_LATER)
    if not _lists_itself(facts, answer):
        # An empty or partial answer (a metadata source down, a term it does not index)
        # proves nothing about other films: only one that knows ours can (trial-1213 F3).
        return Verdict(line, False, f'{needs}: the lookup of {line.title!r} did not list the {noun} '
                                    f'itself, so it cannot say whether another has that name',
                       SKIP_UNSURE)
    others = [o for o in answer if o.ident != facts.ident and line.match_key in o.keys
              # a series without that season cannot be the one meant
              and (season is None or o.seasons is None or season in o.seasons)
              # nor one of another country than the line names
              and not (line.country and o.country and o.country != _country(line.country))]
    names = lambda found: first_of((o.label for o in found), 5)  # noqa: E731
    if needs == _NEEDS_COUNTRY:
        if others:
            return Verdict(line, False, f'it says {line.country}, nothing says where the series is '
                                        f'from, and another has that name: {names(others)}',
                           SKIP_AMBIGUOUS)
        return Verdict(line, True, f'it says {line.country}; the lookup knows no other series of '
                                   'that name')
    if needs == _NEEDS_NO_YEAR:
        if others:
            return Verdict(line, False, f'no year, and another {noun} has that name: {names(others)}',
                           SKIP_AMBIGUOUS)
        return Verdict(line, True, f'no year; the lookup knows no other {noun} of that name'
                                   + (f' from {_country(line.country)}' if line.country else ''))
    if needs == _NEEDS_NEAR_YEAR:
        near = [o for o in others if any(abs(y - line.year) <= 1 for y in {o.year or 0} | o.date_years)]
        if near:
            return Verdict(line, False, f'year {line.year} is near another {noun} of that name: '
                                        f'{names(near)}', SKIP_AMBIGUOUS)
        return Verdict(line, True, f'year {line.year} is one of {_apps(noun)}\'s dates for the {noun}; '
                                   f'no other {noun} of that name near it')
    twins = [o for o in others if o.year == line.year]
    if not twins:
        return Verdict(line, True, f'same year, title spelled {line.title!r}; no other {noun} '
                                   'of that name that year')
    spelled = spelling_key(line.title or '')
    theirs = [o for o in twins if spelled in o.spellings]
    if theirs and spelled not in facts.spellings:
        return Verdict(line, False, f'spelled as {names(theirs)}, another {noun} of the same year',
                       SKIP_AMBIGUOUS)
    return _twin_verdict(facts, line, twins, noun)


def _lists_itself(facts: TitleFacts, answer: list) -> bool:
    """Whether a lookup ``answer`` holds the film or series itself: by its tmdbId /
    tvdbId, or (when the app gives none) by a title key and the year."""
    if facts.ident:
        return any(o.ident == facts.ident for o in answer)
    return any(o.year == facts.year and o.keys & facts.keys for o in answer)


def _twin_verdict(facts: TitleFacts, line, twins: list, noun: str) -> Verdict:
    """Same name and year as another film: only the runtime can still tell them
    apart, when every runtime is known and ours differs from each of theirs."""
    names = ', '.join(o.label + (f' ({o.language})' if o.language else '') for o in twins[:5])
    runtimes = tuple(o.runtime for o in twins)
    if facts.runtime and all(runtimes) and all(
            not runtime_fits(r * 60, facts.runtime, RuntimeTolerance()) for r in runtimes):
        return Verdict(line, True, f'same title and year as {names}: taken only if its runtime '
                                   f'fits {facts.runtime} min and not {"/".join(map(str, runtimes))}',
                       probe=runtimes)
    return Verdict(line, False, f'same title and year as {names}, and nothing tells them apart',
                   SKIP_AMBIGUOUS)


def match_movies(movies: list[dict], library_keys: Callable[[], collections.Counter],
                 lookups: TitleLookups | None = None) -> dict[int, Match]:
    """movie id -> Match: the lines that are that film, and why each line was taken
    or refused. The rules (README "Matching") in order:

    0. a line whose TMDB id an Xtream panel gave (source 'xtream') is Radarr's
       tmdbId is the film, whatever its title; one whose panel id is another
       film's is never it (no lookup, no runtime check either way);
    1. an IMDb/TMDB id in the line's tvg-id corroborates a line whose own title and
       year agree (see _judge_id_line); it never overrides them, nor the runtime check;
    2. trailers, teasers, samples are never the film (unless its title says so);
    3. the same title (match_key of the title, original or an alternate title) and
       the same year, spelled as one of the app's titles: taken;
    4. otherwise the identity rests on something a lookup must confirm: a spelling
       that differs (is another film of that name from that year?), a year one off
       that Radarr's own dates give (secondaryYear, inCinemas, digitalRelease,
       physicalRelease: is another film of that name near it?), no year at all (the
       title unique in the library, and is another film of that name anywhere?).
    Only the best of these groups is used (exact before near before year-less).
    A title with a number read as its year ('Death Race 2000') is also tried with
    the number in the title and no year (alt_key)."""
    facts = {m['id']: TitleFacts.of_movie(m) for m in movies}
    keys = set().union(*(f.keys for f in facts.values())) if facts else set()
    by_key, by_alt = _lines_by_key('movies', keys), _lines_by_alt_key('movies', keys)
    ids = [m.get('imdbId') for m in movies] + [str(m['tmdbId']) for m in movies if m.get('tmdbId')]
    by_id = _lines_by_tvg_id('movies', ids)
    by_panel = _lines_by_panel_tmdb('movies', [f.ident for f in facts.values()])
    result, pending = {}, []
    for movie in movies:
        f = facts[movie['id']]
        match = result[movie['id']] = Match(keys=f.keys, year=f.year)
        own_title = movie.get('title') or ''
        if _take_panel_lines(match, by_panel.get(f.ident, ()), f.ident, 'film', own_title, f):
            for line in _lines_of(f.keys, by_key, by_alt):      # -v: what the ids ruled out
                if (other := _panel_says_other(line, f.ident)) is not None:
                    match.add(_other_film(line, other, f.ident))
            continue
        id_lines = [line for i in (movie.get('imdbId'), str(movie.get('tmdbId') or ''))
                    if i for line in by_id.get(i, []) if not _is_extra(line, own_title)]
        judged_ids = set()
        for line in id_lines:
            verdict = _judge_id_line(f, line) if line.id not in judged_ids else None
            if verdict is not None:
                judged_ids.add(line.id)
                match.add(verdict)
        if match.lines:
            continue
        films = []
        for line in _lines_of(f.keys, by_key, by_alt):
            if line.id in judged_ids:
                continue
            if (other := _panel_says_other(line, f.ident)) is not None:
                match.add(_other_film(line, other, f.ident))
            elif _is_extra(line, own_title):
                match.add(Verdict(line, False, 'a trailer or extra', SKIP_ONLY_EXTRAS))
            else:
                films.append(line)
        _judge_lines(f, match, films, 'film', library_keys, pending)
    _resolve_pending(pending, lookups, 'film')
    return result


def _other_film(line, other: int, tmdb: int) -> Verdict:
    return Verdict(line, False, f"the panel gives it TMDB id {other}, the film's is {tmdb}: another film",
                   SKIP_UNSURE)


def _take_panel_lines(match: Match, lines, tmdb: int | None, noun: str, own_title: str,
                      f: TitleFacts) -> bool:
    """Rule 0: a line whose TMDB id the panel gave is the app's ``tmdbId`` is the
    film (the series) with no lookup; the runtime check is skipped only when the
    line's title is one of the item's and its year is the item's or one off (a
    title that disagrees is taken but probed: panel ids are typed by hand). When
    the panel gives the id to lines of different titles, years or countries (a
    sequel's copy-pasted id, 'The Office (UK)' and '(US)'), the id cannot decide:
    False, and the title rules judge them (trial-16b F1/F2). Whether any was taken."""
    lines = list(lines)
    if not lines:           # most items: no panel line has their id (10,000 a 10k dry run)
        return False
    if noun == 'film':
        for line in [x for x in lines if _is_extra(x, own_title)]:
            match.add(Verdict(line, False, 'a trailer or extra', SKIP_ONLY_EXTRAS))
        lines = [x for x in lines if not _is_extra(x, own_title)]
    if len({(x.match_key, x.year, x.country) for x in lines}) > 1:
        log.debug('TMDB id %s: the panel gives it to %d differently titled %s lines; the titles decide',
                  tmdb, len(lines), noun)
        return False
    whose = "Radarr's tmdbId" if noun == 'film' else "the series' tmdbId in Sonarr"
    for line in lines:
        agrees = (line.match_key in f.keys or (line.alt_key and line.alt_key in f.keys)) \
            and (line.year is None or not f.year or abs(line.year - f.year) <= 1)
        if agrees:
            match.add(Verdict(line, True, f'its TMDB id from the panel, {tmdb}, is {whose}', probe=None))
        else:
            match.add(Verdict(line, True, f'its TMDB id from the panel, {tmdb}, is {whose}, but its title '
                                          f'or year is not the {noun}\'s: runtime checked', probe=()))
    return bool(lines)


def _judge_id_line(f: TitleFacts, line) -> Verdict | None:
    """A line whose tvg-id is the film's IMDb or TMDB id. Providers fill tvg-id with
    anything (panel stream ids, EPG numbers, counters), so an id there only
    corroborates: the line is taken when its own title is one of the film's and its
    year is the film's or one off (an IMDb 'tt…' id also vouches for a year-less
    line; a bare number does not: None, the line is judged by its title alone), and
    it still goes through the runtime check; a title or year that disagrees is
    refused, whatever the id says (trial-1213 F1: 'Cats (2019)' with tvg-id 1001 is
    not Heat (1995))."""
    said = f'its tvg-id {line.tvg_id} is the film\'s id'
    if line.match_key not in f.keys and (not line.alt_key or line.alt_key not in f.keys):
        return Verdict(line, False, f'{said}, but its title {line.title!r} is not the film\'s',
                       SKIP_UNSURE)
    if line.year is not None and f.year and abs(line.year - f.year) > 1 \
            and not (line.alt_key in f.keys and not line.country):
        return Verdict(line, False, f'{said}, but its year {line.year} is not the film\'s '
                                    f'({f.year})', SKIP_OTHER_YEARS)
    if line.year is None and not (line.tvg_id or '').startswith('tt'):
        return None
    return Verdict(line, True, f'{said} and its title agrees')


def _judge_lines(f: TitleFacts, match: Match, lines: list, noun: str,
                 library_keys: Callable[[], collections.Counter], pending: list,
                 season: int | None = None) -> None:
    """Judge each line by country, title and year into ``match``; the lines whose
    identity rests on a lookup wait in ``pending``, grouped by what they rest on."""
    groups = {_NEEDS_SPELLING: [], _NEEDS_COUNTRY: [], _NEEDS_NEAR_YEAR: [], _NEEDS_NO_YEAR: []}
    for line in lines:
        judged = _judge_country(f, line) if noun == 'series' else None
        if judged is None or judged == _NEEDS_COUNTRY:
            needs_country = judged
            judged = _judge_title(f, line, noun, lambda: library_keys()[line.match_key])
            if needs_country and isinstance(judged, Verdict) and judged.taken:
                judged = _NEEDS_COUNTRY         # the lookup below also settles the country
        if isinstance(judged, Verdict):
            match.add(judged)
        else:
            groups[judged].append(line)
    if any(groups.values()):
        pending.append((f, match, groups, season))


def _resolve_pending(pending: list, lookups: TitleLookups | None, noun: str) -> None:
    """Resolve the lines waiting for a lookup: those of the right year spelled
    otherwise always (they compete with the exact ones on quality), then the near
    year, then no year, each only when nothing closer was taken."""
    if lookups is not None:
        lookups.load({line.match_key for _, _, groups, _ in pending
                      for lines in groups.values() for line in lines})
    for f, match, groups, season in pending:
        for needs, lines in groups.items():
            if match.lines and needs not in (_NEEDS_SPELLING, _NEEDS_COUNTRY):
                for line in lines:
                    match.add(Verdict(line, False, f'{needs}: a closer line was taken', SKIP_UNSURE))
                continue
            for line in lines:
                answer = lookups.get(line.match_key, line.title or line.match_key) \
                    if lookups is not None else None
                why_not = lookups.why_not.get(line.match_key, '') if lookups is not None \
                    else 'no lookup in this context'
                match.add(_resolve(f, line, needs, answer, why_not, noun, season))


def match_episodes(episodes: list[dict], library_keys: Callable[[], collections.Counter] | None = None,
                   lookups: TitleLookups | None = None) -> dict[int, Match]:
    """episode id -> Match: the panel's lines of the series (their TMDB id is the
    series' tmdbId, Sonarr v4) that are that episode, when there are any; else the
    lines of the series (its title, an alternate title, the title without a
    trailing "(2005)" or country qualifier; or the line's own other reading,
    without its qualifier) that name that episode (episode_fit) and whose panel id,
    if any, is not another series', whose series identity holds by the same rules
    as films (country, year, spelling, lookup: a year-less "The Flash" is refused
    while another series of that name exists that has that season)."""
    facts, own = {}, collections.Counter()
    for ep in episodes:
        sid = ep.get('seriesId')
        if sid not in facts:
            facts[sid] = TitleFacts.of_series(ep.get('series') or {})
            own.update(facts[sid].keys)
    library_keys = library_keys or (lambda: own)
    keys = set().union(*(f.keys for f in facts.values())) if facts else set()
    by_key, by_alt = _lines_by_key('tvshows', keys), _lines_by_alt_key('tvshows', keys)
    tmdb_of = {sid: _int_or_none((ep.get('series') or {}).get('tmdbId'))
               for ep in episodes for sid in [ep.get('seriesId')]}
    by_panel = _lines_by_panel_tmdb('tvshows', tmdb_of.values())
    of_series = {}
    # An air date several episodes share names none of them (a double premiere, two
    # editions of a daily show one night): the line is at most one of them.
    same_day = collections.defaultdict(list)
    for ep in episodes:
        if ep.get('airDate'):
            same_day[ep.get('seriesId'), _air_date(ep['airDate'])].append(
                f'S{ep.get("seasonNumber") or 0:02d}E{ep.get("episodeNumber") or 0:02d}')
    result, pending = {}, []
    for ep in episodes:
        f = facts[ep.get('seriesId')]
        tmdb = tmdb_of[ep.get('seriesId')]
        match = result[ep['id']] = Match(keys=f.keys, year=f.year)
        if _take_panel_lines(match, [line for line in by_panel.get(tmdb, ()) if episode_fit(line, ep, f)],
                             tmdb, 'series', f.title, f):
            continue
        if ep.get('seriesId') not in of_series:
            of_series[ep.get('seriesId')] = _lines_of(f.keys, by_key, by_alt)
        series_lines = of_series[ep.get('seriesId')]
        lines = []
        for line in series_lines:
            if not episode_fit(line, ep, f):
                continue
            if (other := _panel_says_other(line, tmdb, 'series')) is not None:
                match.add(Verdict(line, False, f"the panel gives its series TMDB id {other}, Sonarr's "
                                               f'is {tmdb}: another series', SKIP_UNSURE))
            else:
                lines.append(line)
        if lines and len(same_day.get((ep.get('seriesId'), _air_date(ep.get('airDate'))), ())) > 1:
            lines = _refuse_shared_air_date(match, lines, same_day[ep.get('seriesId'),
                                                                    _air_date(ep.get('airDate'))])
        _judge_lines(f, match, lines, 'series', library_keys, pending, ep.get('seasonNumber'))
        if not lines and series_lines:
            match.note = _no_fit_note(series_lines, ep, f)
    _resolve_pending(pending, lookups, 'series')
    return result


def _refuse_shared_air_date(match: Match, lines: list, episodes: list) -> list:
    """The lines that do not name the episode by an air date it shares with other
    wanted episodes; those that do are refused into ``match`` (trial-1213 F2)."""
    kept = []
    for line in lines:
        if line.air_date:
            match.add(Verdict(line, False, f'air date {_air_date(line.air_date)} is '
                                           f'{" and ".join(episodes)}: cannot say which', SKIP_UNSURE))
        else:
            kept.append(line)
    return kept


def _no_fit_note(lines: list, ep: dict, f: TitleFacts) -> str:
    """Why no line of the series names the episode, for the summary's detail."""
    number = ep.get('episodeNumber')
    seasonless = [line for line in lines if line.season is None and line.air_date is None
                  and number in (line.episode, line.absolute_episode)]
    regular = sorted(n for n in f.seasons or () if n > 0)
    if seasonless and len(regular) != 1:
        return (f'the series is there, but its lines without a season ({seasonless[0].display_title!r}) '
                f'cannot say which of its {len(regular) or "unknown"} seasons'
                + ('' if (ep.get('series') or {}).get('seriesType') != 'anime'
                   else ' (and Sonarr gives no such absolute number)'))
    return f'the series is there, not S{ep.get("seasonNumber") or 0:02d}E{number or 0:02d}'


def _air_date(value) -> str:
    """'2020-03-11' of a date, or of the text SQLite or the apps give."""
    return str(value)[:10] if value else ''


def episode_fit(line, ep: dict, f: TitleFacts) -> str | None:
    """How ``line`` names Sonarr's episode ``ep`` (EpisodeResource), or None:
    - by air date ('Show 2020 03 11'), for daily shows and any other;
    - by season and episode, or a range of them ('S01E01-E02' names both);
    - by absolute number ('One Piece - 1071', 'S01E1170') for an anime series:
      ``absoluteEpisodeNumber``, or ``sceneAbsoluteEpisodeNumber`` when the series
      uses scene numbering;
    - by episode alone ('Show - Episode 3') in a series with one season (a
      miniseries): S01E03. Specials are S00Exx, as Sonarr numbers them."""
    season, number = ep.get('seasonNumber'), ep.get('episodeNumber')
    if line.air_date:
        return 'air date' if _air_date(line.air_date) == _air_date(ep.get('airDate')) else None
    if line.season is not None and line.season == season and line.episode is not None:
        if line.episode <= (number or 0) <= (line.episode_end or line.episode):
            return 'season and episode'
    series = ep.get('series') or {}
    if line.absolute_episode is not None and series.get('seriesType') == 'anime':
        scene = ep.get('sceneAbsoluteEpisodeNumber') if series.get('useSceneNumbering') else None
        if (scene or ep.get('absoluteEpisodeNumber')) == line.absolute_episode:
            return 'scene absolute number' if scene else 'absolute number'
    if line.season is None and line.episode is not None and season == 1 and number == line.episode \
            and f.seasons is not None and {n for n in f.seasons if n > 0} == {1}:
        return 'episode of a one-season series'
    return None


def near_misses(content_type: str, keys_of: dict, limit: int | None = None, years: dict | None = None) -> dict:
    """item -> lines whose title is the item's with one word less ('Lord of the Rings
    Fellowship of the Ring' for '… the Fellowship …') or with words more ('Amelie
    Poulain' for 'Amelie'): never taken, shown at -v so a user can add an alternate
    title in the app. A number is never the word less ('Alien' is not 'Alien 3'), and
    with ``years`` (item -> year) a line more than a year off is no near miss; a line
    with words more needs a year within one of the item's. At most ``limit`` lines
    an item (None: all, so that the caller counts what it does not show). Index
    lookups in batches."""
    years = years or {}
    variants_of = {item: {' '.join(words[:i] + words[i + 1:]) for key in keys
                          for words in [key.split()] if len(words) > 1
                          for i in range(len(words)) if not words[i].isdigit()} - set(keys)
                   for item, keys in keys_of.items()}
    found = _lines_by_key(content_type, set().union(*variants_of.values()) if variants_of else ())
    longer = _lines_with_prefixes(content_type, {k for item, keys in keys_of.items() if years.get(item)
                                                 for k in keys})
    result = {}
    for item, variants in variants_of.items():
        year = years.get(item)
        lines = [line for v in sorted(variants) for line in found.get(v, ())
                 if not (year and line.year and abs(line.year - year) > 1)]
        if year:
            lines += [line for key in sorted(keys_of[item]) for line in longer.get(key, ())
                      if line.year and abs(line.year - year) <= 1]
        result[item] = lines[:limit]
    return result


def _lines_with_prefixes(content_type: str, keys) -> dict:
    """key -> present lines whose match_key is ``key`` and words more: index ranges
    on (content_type, match_key), 200 keys a query (a LIKE scan on PostgreSQL under a
    language collation, where ranges do not follow code points)."""
    found = collections.defaultdict(list)
    keys = sorted(k for k in keys if k)
    if not keys:
        return found
    param, bytewise = db_proxy.obj.param, _bytewise_collation()
    for chunk in _chunks(keys, 200):
        if bytewise:
            where = ' OR '.join([f'("match_key" >= {param} AND "match_key" < {param})'] * len(chunk))
            params = [x for k in chunk for x in (k + ' ', k + ' ' + _PREFIX_END)]
        else:
            where = ' OR '.join([f"\"match_key\" LIKE {param} ESCAPE '\\'"] * len(chunk))
            params = [_like_escape(k) + ' %' for k in chunk]
        sql = _CANDIDATE_SQL.format(f'"content_type" = {param} AND ({where})')
        for row in db_proxy.obj.execute_sql(sql, [content_type, *params]).fetchall():
            line = CandidateLine._make(row)
            words = line.match_key.split()
            for n in range(1, len(words)):
                prefix = ' '.join(words[:n])
                if prefix in chunk:
                    found[prefix].append(line)
    return found


# -- the runtime check ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RuntimeTolerance:
    """How far a file's duration may be from the app's runtime and still be that
    film or episode: more than ``percent`` AND more than ``minutes`` refuses it.
    The minutes spare short episodes (credits, PAL speed-up: a 22-min episode at
    25 min is 14% off yet fine); the percent spares long films and their cuts."""
    percent: float = 15.0
    minutes: float = 10.0

    @classmethod
    def from_config(cls, cfg: Config) -> 'RuntimeTolerance':
        return cls(cfg.getnumber('matching', 'runtime_tolerance_percent'),
                   cfg.getnumber('matching', 'runtime_tolerance_minutes'))

    def allowed_minutes(self, runtime: float) -> float:
        return max(runtime * self.percent / 100, self.minutes)


def runtime_fits(duration_seconds: float, runtime_minutes: float, tolerance: RuntimeTolerance) -> bool:
    return abs(duration_seconds / 60 - runtime_minutes) <= tolerance.allowed_minutes(runtime_minutes)


def judge_runtime(info: 'MediaInfo', runtime: int | None, twins: tuple,
                  tolerance: RuntimeTolerance) -> tuple[bool, str]:
    """(take it?, why) for a probed candidate. Unknown duration or runtime: take it,
    unless the line is told from a same-name film only by its runtime (``twins``).
    An HLS playlist is never taken: it is no file (trial-1213 F14)."""
    if info.container == 'hls':
        return False, HLS_REFUSAL.removeprefix('the server sent ')
    if info.duration is None or not runtime:
        why = (f'duration unknown ({info.note or "?"})' if info.duration is None
               else f'runs {info.duration / 60:.0f} min; the app gives no runtime')
        if twins:
            return False, why + ': nothing else tells it from the other film of that name'
        return True, why
    minutes, allowed = info.duration / 60, tolerance.allowed_minutes(runtime)
    if not runtime_fits(info.duration, runtime, tolerance):
        return False, f'runs {minutes:.0f} min, the app says {runtime} min (±{allowed:.0f} min)'
    for other in twins:
        if runtime_fits(info.duration, other, tolerance):
            return False, f'runs {minutes:.0f} min: fits the other film of that name ({other} min) too'
    return True, f'runs {minutes:.0f} min, the app says {runtime} min'


# -- the media probe ------------------------------------------------------------------------

PROBE_CHUNK = 64 * 1024          # bytes per Range request
PROBE_MAX_REQUESTS = 4           # per file: the start, then a hop or two (MP4 moov at the end)


@dataclasses.dataclass
class MediaInfo:
    """Duration and frame size from a container header; None where unknown."""
    duration: float | None = None       # seconds
    width: int | None = None
    height: int | None = None
    container: str | None = None        # matroska | mp4
    note: str = ''                      # why the duration is unknown
    requests: int = 0

    @property
    def resolution(self) -> str | None:
        """The resolution class of the frame size, as the playlist labels them:
        by width too, so a 1920x800 scope film is 1080p."""
        w, h = self.width or 0, self.height or 0
        if not w or not h:
            return None
        if h >= 1500 or w >= 3000:
            return '2160p'
        if h >= 900 or w >= 1800:
            return '1080p'
        if h >= 650 or w >= 1200:
            return '720p'
        return '480p'


class ProbeLimit(Exception):
    """The probe would need more requests than it may make."""


class _RangeReader:
    """Random access to a remote file through a few ``Range: bytes=a-b`` requests
    (RFC 9110 14), ``PROBE_CHUNK`` bytes each, at most ``max_requests``. A server
    that ignores Range (200) gives the start of the file and nothing more."""

    def __init__(self, session, url: str, timeout, chunk: int, max_requests: int):
        self.session, self.url, self.timeout = session, url, timeout
        self.chunk, self.max_requests = chunk, max_requests
        self.chunks: list[tuple[int, bytes]] = []
        self.size: int | None = None
        self.requests = 0
        self.ranges = True

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer only at the end of the file)."""
        for start, data in self.chunks:
            if start <= offset and offset + length <= start + len(data):
                return data[offset - start:offset - start + length]
        for start, data in self.chunks:    # the end of the file is inside a chunk
            if start <= offset <= start + len(data) and self.size == start + len(data):
                return data[offset - start:]
        if self.size is not None and offset >= self.size:
            return b''
        if self.requests >= self.max_requests or not self.ranges:
            raise ProbeLimit('the header is further into the file than the probe reads')
        self._fetch(offset, max(length, self.chunk))
        return self.read(offset, length)

    def _fetch(self, offset: int, length: int) -> None:
        self.requests += 1
        headers = {'Range': f'bytes={offset}-{offset + length - 1}'}
        with self.session.get(self.url, headers=headers, stream=True, timeout=self.timeout) as r:
            if r.status_code == 200:
                self.ranges = False
                if offset:
                    raise ProbeLimit('the server ignores Range requests')
                total = r.headers.get('Content-Length')
                self.size = int(total) if total and total.isdigit() else None
            elif r.status_code == 206:
                m = re.match(r'bytes\s+(\d+)-(\d+)/(\d+|\*)', r.headers.get('Content-Range', ''))
                if not m or int(m[1]) != offset:
                    raise ProbeLimit('the server answered another range')
                if m[3] != '*':
                    self.size = int(m[3])
            elif r.status_code == 416:
                self.size = offset
                self.chunks.append((offset, b''))
                return
            else:
                raise ProbeLimit(f'HTTP {r.status_code}')
            data = r.raw.read(length, decode_content=False)
        expected = length if self.size is None else min(length, self.size - offset)
        if len(data) < expected:
            if r.status_code == 206 and self.size is None:
                self.size = offset + len(data)     # no total given: this is the end
            else:
                raise ProbeLimit(f'could not read it: the answer was cut after {len(data)} bytes')
        self.chunks.append((offset, data))


def probe_media(session, url: str, timeout=(10, 30), chunk: int = PROBE_CHUNK,
                max_requests: int = PROBE_MAX_REQUESTS) -> MediaInfo:
    """Duration and frame size of the video at ``url`` from its container header:
    Matroska/WebM (EBML Segment Info and Tracks, following the SeekHead when they
    are not at the start) or MP4/QuickTime (``moov``: ``mvhd`` and the tracks'
    ``tkhd``, found at either end of the file by hopping over the boxes before it).
    Never raises for what the server or the file does: an unknown duration says why."""
    reader = _RangeReader(session, url, timeout, chunk, max_requests)
    info = MediaInfo()
    try:
        head = reader.read(0, 12)
        if is_hls_playlist(head):
            info.container, info.note = 'hls', 'an HLS playlist, not a video file'
        elif head[:4] == b'\x1a\x45\xdf\xa3':
            info.container = 'matroska'
            _parse_matroska(reader, info)
        elif head[4:8] in _MP4_TOP_BOXES:
            info.container = 'mp4'
            _parse_mp4(reader, info)
        else:
            info.note = 'not a Matroska or MP4 file'
    except ProbeLimit as exc:
        info.note = str(exc)
    except requests.exceptions.RequestException as exc:   # before ValueError: InvalidSchema is one
        info.note = f'could not read it: {_connection_reason(exc)}'
    except (ValueError, IndexError, struct.error):
        info.note = 'the container header is damaged'
    except (urllib3.exceptions.HTTPError, OSError) as exc:    # cut while reading the body
        info.note = f'could not read it: {first_line(exc)}'
    if info.duration is not None and not (0 < info.duration < 100 * 3600):
        info.duration, info.note = None, info.note or 'no plausible duration in the header'
    elif info.duration is None and not info.note:
        info.note = 'the header gives no duration'
    if info.duration is not None:
        info.note = ''
    info.requests = reader.requests
    return info


# Matroska element ids (EBML, RFC 8794; Matroska, RFC 9559).
_MKV_SEGMENT, _MKV_SEEKHEAD, _MKV_INFO, _MKV_TRACKS = 0x18538067, 0x114D9B74, 0x1549A966, 0x1654AE6B
_MKV_CLUSTER, _MKV_SEEK, _MKV_SEEK_ID, _MKV_SEEK_POS = 0x1F43B675, 0x4DBB, 0x53AB, 0x53AC
_MKV_TIMESTAMP_SCALE, _MKV_DURATION = 0x2AD7B1, 0x4489
_MKV_TRACK_ENTRY, _MKV_TRACK_TYPE, _MKV_VIDEO = 0xAE, 0x83, 0xE0
_MKV_PIXEL_WIDTH, _MKV_PIXEL_HEIGHT = 0xB0, 0xBA


def _ebml_vint(reader, pos: int, keep_marker: bool) -> tuple[int | None, int]:
    """(value, length) of the variable-size integer at ``pos``; None for the
    reserved all-ones value (an unknown size)."""
    first = reader.read(pos, 1)
    if not first:
        raise ValueError('end of file inside an element header')
    b = first[0]
    length = 1
    while length <= 8 and not b & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError('bad EBML variable-size integer')
    data = reader.read(pos, length)
    value = int.from_bytes(data, 'big')
    if keep_marker:
        return value, length
    value &= (1 << (7 * length)) - 1
    return (None if value == (1 << (7 * length)) - 1 else value), length


def _ebml_children(reader, start: int, end: int | None):
    """(id, data offset, size) of each element from ``start`` to ``end``."""
    pos = start
    while end is None or pos < end:
        if reader.size is not None and pos >= reader.size:
            return
        eid, n = _ebml_vint(reader, pos, keep_marker=True)
        size, m = _ebml_vint(reader, pos + n, keep_marker=False)
        yield eid, pos + n + m, size
        if size is None:
            return                    # unknown size: nothing after it can be found
        pos += n + m + size


def _ebml_uint(reader, pos, size) -> int:
    return int.from_bytes(reader.read(pos, size), 'big') if size else 0


def _parse_matroska(reader, info: MediaInfo) -> None:
    segment = None
    for eid, pos, size in _ebml_children(reader, 0, None):
        if eid == _MKV_SEGMENT:
            segment = (pos, None if size is None else pos + size)
            break
    if segment is None:
        raise ValueError('no Segment')
    seek, seen = {}, set()
    for eid, pos, size in _ebml_children(reader, *segment):
        if eid == _MKV_SEEKHEAD:
            seek = _mkv_seek_positions(reader, pos, size)
        elif eid == _MKV_INFO:
            _mkv_info(reader, pos, size, info)
            seen.add(eid)
        elif eid == _MKV_TRACKS:
            _mkv_tracks(reader, pos, size, info)
            seen.add(eid)
        if eid == _MKV_CLUSTER or {_MKV_INFO, _MKV_TRACKS} <= seen:
            break
    for eid, parse in ((_MKV_INFO, _mkv_info), (_MKV_TRACKS, _mkv_tracks)):
        if eid not in seen and eid in seek:
            at = segment[0] + seek[eid]
            for found, pos, size in _ebml_children(reader, at, at + 16):
                if found == eid:
                    parse(reader, pos, size, info)
                break


def _mkv_seek_positions(reader, pos, size) -> dict:
    positions = {}
    for eid, p, s in _ebml_children(reader, pos, pos + size):
        if eid != _MKV_SEEK:
            continue
        target = where = None
        for cid, cp, cs in _ebml_children(reader, p, p + s):
            if cid == _MKV_SEEK_ID:
                target = _ebml_uint(reader, cp, cs)
            elif cid == _MKV_SEEK_POS:
                where = _ebml_uint(reader, cp, cs)
        if target is not None and where is not None:
            positions[target] = where
    return positions


def _mkv_info(reader, pos, size, info: MediaInfo) -> None:
    scale, duration = 1_000_000, None
    for eid, p, s in _ebml_children(reader, pos, pos + size):
        if eid == _MKV_TIMESTAMP_SCALE:
            scale = _ebml_uint(reader, p, s) or scale
        elif eid == _MKV_DURATION and s in (4, 8):
            duration = struct.unpack('>f' if s == 4 else '>d', reader.read(p, s))[0]
    if duration is not None:
        info.duration = duration * scale / 1e9


def _mkv_tracks(reader, pos, size, info: MediaInfo) -> None:
    for eid, p, s in _ebml_children(reader, pos, pos + size):
        if eid != _MKV_TRACK_ENTRY:
            continue
        kind, width, height = None, None, None
        for cid, cp, cs in _ebml_children(reader, p, p + s):
            if cid == _MKV_TRACK_TYPE:
                kind = _ebml_uint(reader, cp, cs)
            elif cid == _MKV_VIDEO:
                for vid, vp, vs in _ebml_children(reader, cp, cp + cs):
                    if vid == _MKV_PIXEL_WIDTH:
                        width = _ebml_uint(reader, vp, vs)
                    elif vid == _MKV_PIXEL_HEIGHT:
                        height = _ebml_uint(reader, vp, vs)
        if kind == 1 and width and height:
            info.width, info.height = width, height
            return


# Top-level boxes an ISO BMFF (MP4/QuickTime) file starts with (ISO/IEC 14496-12).
_MP4_TOP_BOXES = frozenset((b'ftyp', b'moov', b'mdat', b'free', b'skip', b'wide', b'pnot', b'styp'))


def _mp4_boxes(reader, start: int, end: int | None):
    """(type, data offset, end) of each box from ``start`` to ``end``."""
    pos = start
    while end is None or pos + 8 <= end:
        if reader.size is not None and pos + 8 > reader.size:
            return
        header = reader.read(pos, 8)
        if len(header) < 8:
            return
        size, kind = struct.unpack('>I4s', header)
        data = pos + 8
        if size == 1:
            size = struct.unpack('>Q', reader.read(pos + 8, 8))[0]
            data = pos + 16
        elif size == 0:
            size = (reader.size - pos) if reader.size is not None else None
        if size is not None and size < data - pos:
            raise ValueError('bad box size')
        box_end = None if size is None else pos + size
        yield kind, data, box_end
        if box_end is None:
            return
        pos = box_end


def _parse_mp4(reader, info: MediaInfo) -> None:
    moov = False
    for kind, pos, end in _mp4_boxes(reader, 0, None):
        if kind == b'moov':
            moov = True
            _mp4_moov(reader, pos, end, info)
            if info.duration is not None:
                return
        elif kind == b'sidx' and moov:
            # Fragmented, with a segment index (DASH, ffmpeg's global_sidx): the
            # sum of its subsegment durations is the whole (ISO/IEC 14496-12 8.16.3).
            version, timescale = reader.read(pos, 1)[0], struct.unpack('>I', reader.read(pos + 8, 4))[0]
            at = pos + (20 if version == 0 else 28)
            count = struct.unpack('>H', reader.read(at + 2, 2))[0]
            refs = reader.read(at + 4, 12 * count)
            total = sum(struct.unpack_from('>I', refs, 12 * i + 4)[0] for i in range(count))
            if timescale and total:
                info.duration = total / timescale
            return
        elif moov and kind in (b'moof', b'mdat'):
            return
    if not moov:
        raise ProbeLimit('no moov box')


def _mp4_moov(reader, pos, end, info: MediaInfo) -> None:
    timescale = None
    for kind, p, e in _mp4_boxes(reader, pos, end):
        if kind == b'mvhd':
            version = reader.read(p, 1)[0]
            if version == 1:
                timescale, duration = struct.unpack('>IQ', reader.read(p + 20, 12))
                unknown = duration == 0xFFFFFFFFFFFFFFFF
            else:
                timescale, duration = struct.unpack('>II', reader.read(p + 12, 8))
                unknown = duration == 0xFFFFFFFF
            if timescale and duration and not unknown:
                info.duration = duration / timescale
        elif kind == b'mvex' and info.duration is None and timescale:
            for sub, sp, _ in _mp4_boxes(reader, p, e):
                if sub == b'mehd':        # fragmented MP4: the whole duration is here
                    fmt = '>Q' if reader.read(sp, 1)[0] == 1 else '>I'
                    n = struct.calcsize(fmt)
                    info.duration = struct.unpack(fmt, reader.read(sp + 4, n))[0] / timescale or None
        elif kind == b'trak' and not info.height:
            for sub, sp, _ in _mp4_boxes(reader, p, e):
                if sub == b'tkhd':
                    skip = 88 if reader.read(sp, 1)[0] == 1 else 76   # width, height: 16.16
                    width, height = struct.unpack('>II', reader.read(sp + skip, 8))
                    if width and height:
                        info.width, info.height = width >> 16, height >> 16
                    break
        if info.duration is not None and info.height:
            return


_UNSAFE_CHARS = _LazyPattern(r'[\x00-\x1f\x7f/\\:*?"<>|]')
# A component safe_component leaves as it is: printable ASCII (one byte a character),
# none of _UNSAFE_CHARS, words apart by single spaces, not ending with a dot.
_CLEAN_COMPONENT = _LazyPattern(r'[!#-)+-.0-9;=@-\[\]-{}~]+(?: [!#-)+-.0-9;=@-\[\]-{}~]+)*(?<!\.)')


def safe_component(text: str, suffix: str = '', max_bytes: int = NAME_MAX_BYTES) -> str:
    """One path component from a title: no separators, reserved or control
    characters, no trailing dots/spaces (Windows/SMB), never '.' or '..'; at
    most ``max_bytes`` bytes of valid UTF-8, ``suffix`` (" (1995)", " - S01E02")
    kept whole and the title cut to make room."""
    if len(text) + len(suffix.encode('utf-8')) <= max_bytes and _CLEAN_COMPONENT.fullmatch(text):
        return text + suffix        # what the steps below would give unchanged (issue 15)
    text = text.encode('utf-8', 'replace').decode('utf-8')      # no lone surrogates
    text = _UNSAFE_CHARS.sub(lambda m: ' -' if m.group() == ':' else ' ', text)
    text = re.sub(r'\s+', ' ', text).strip().rstrip('. ')
    if not text or set(text) <= {'.'}:
        text = '_'
    text = utf8_truncate(text, max_bytes - len(suffix.encode('utf-8'))).rstrip('. ') or '_'
    return text + suffix


def url_file_name(url: str) -> str:
    """A file name from a URL's last path segment (percent-decoded, sanitised):
    ``/movie/u/p/1.mkv`` -> ``1.mkv``; ``..``, ``.`` or nothing -> ``download``."""
    segment = urllib.parse.unquote(url_path(url).rstrip('/').rsplit('/', 1)[-1])
    stem, ext = os.path.splitext(segment)
    if not re.fullmatch(r'\.\w{1,8}', ext):
        stem, ext = segment, ''
    if not stem.strip('. '):
        stem = 'download'
    return safe_component(stem, ext, NAME_MAX_BYTES - EXTENSION_RESERVE)


def contained_path(folder: str, *components: str) -> str:
    """``folder/components…``, refusing anything that would leave ``folder``."""
    folder = os.path.normpath(folder)
    path = os.path.normpath(os.path.join(folder, *components))
    # Inside for sure when the path starts with the folder and a '/' (both normalised;
    # a folder of '/' or one starting '//' left to commonpath): what commonpath
    # would say, without its splits and lists (issue 15: 10,000 a dry run).
    if path.startswith(folder + '/') and not folder.startswith('//'):
        return path
    if os.path.commonpath([folder, path]) != folder or path == folder:
        raise DestinationError(f'refusing a destination outside {folder}: {path}')
    return path


def _shown_folder(path: str) -> str:
    return f"'{clip(path)}'"


def app_folder(path, settings: ArrSettings, what: str) -> str:
    """The folder Radarr/Sonarr gives for an item, as a path on this machine:
    through [section] path_map, then absolute, POSIX, with no '.' or '..'.
    Raises DestinationError: that item fails, nothing is written."""
    if not isinstance(path, str):
        raise DestinationError(f'{settings.name} gave no usable folder for {what}: {path!r}')
    # The item's title starts the line that shows these: not repeated here. The path
    # is shown clipped (_shown_folder), only when refused (issue 15: every item).
    if _FIELD_CONTROLS.search(path):
        raise DestinationError(f'{settings.name} gave the folder {_shown_folder(path)}: '
                               'a path with control characters in it is refused')
    parts = path.replace('\\', '/').split('/') if is_windows_path(path) else path.split('/')
    if any(part in ('.', '..') for part in parts):
        raise DestinationError(f'{settings.name} gave the folder {_shown_folder(path)}: '
                               'a path with . or .. in it is refused')
    mapped = map_path(path, settings.path_map)
    if is_windows_path(mapped):
        parent = path[:max(path.rfind('/'), path.rfind('\\'))] or path
        raise DestinationError(
            f'{settings.name} gave the folder {_shown_folder(path)}, which is not a path on this '
            f'machine: map it in [{settings.section}] path_map (e.g. {parent}=/mnt/library)')
    if not mapped.startswith('/'):
        raise DestinationError(f'{settings.name} gave the folder {_shown_folder(path)}: '
                               'not an absolute path (map it with path_map)')
    return os.path.normpath(mapped)


def movie_label(movie: dict) -> str:
    """"Heat (1995)": how output names a Radarr movie."""
    return f'{clip(movie.get("title"))} ({movie.get("year")})' if movie.get('year') \
        else clip(movie.get('title'))


def movie_destination(movie: dict, settings: ArrSettings) -> str:
    title, year = movie.get('title') or f'movie {movie["id"]}', movie.get('year')
    name = safe_component(title, f' ({year})' if year else '', NAME_MAX_BYTES - EXTENSION_RESERVE)
    folder = movie.get('path')
    if folder:
        folder = app_folder(folder, settings, f'{title}')
    elif settings.library_path:
        folder = os.path.join(settings.library_path, safe_component(title, f' ({year})' if year else ''))
    else:
        raise DestinationError(f'{settings.name} gave no folder for {title} and [downloads] movies_path is not set')
    return contained_path(folder, name)


def library_root(destination: str, service: str) -> str | None:
    """The folder holding the item's folder: Radarr's ``{root}/{movie folder}/{file}``,
    Sonarr's ``{root}/{series folder}/[Season NN/]{file}``. Below it no symlink
    is followed (the movie, series and season folders); above it the library
    may sit on a disk mounted through a link."""
    if not destination:
        return None
    folder = os.path.dirname(destination)
    if service == 'sonarr' and _SEASON_FOLDER.fullmatch(os.path.basename(folder)):
        folder = os.path.dirname(folder)
    return os.path.dirname(folder)


# The season folders episode_destination makes.
_SEASON_FOLDER = _LazyPattern(r'Season \d{2,}|Specials')


def episode_destination(ep: dict, settings: ArrSettings, last: int | None = None) -> str:
    """``{series folder}/Season NN/{Series} - SNNENN`` (``-ENN`` up to ``last`` for a
    multi-episode file, as Sonarr names one); season 0 goes to ``Specials``."""
    series = ep.get('series') or {}
    title = series.get('title') or f'series {ep.get("seriesId")}'
    season, number = ep.get('seasonNumber') or 0, ep.get('episodeNumber') or 0
    span = f' - S{season:02d}E{number:02d}' + (f'-E{last:02d}' if last and last != number else '')
    name = safe_component(title, span, NAME_MAX_BYTES - EXTENSION_RESERVE)
    folder = series.get('path')
    if folder:
        folder = app_folder(folder, settings, f'{title}')
    elif settings.library_path:
        folder = os.path.join(settings.library_path, safe_component(title))
    else:
        raise DestinationError(f'{settings.name} gave no folder for {title} and [downloads] tvshows_path is not set')
    season_folder = 'Specials' if season == 0 else f'Season {season:02d}'
    parts = ([season_folder] if series.get('seasonFolder', True) else []) + [name]
    return contained_path(folder, *parts)


# ==== commands =================================================================


class HeldNotes:
    """The inline-comment notes of a run (Config.inline_comment_pairs), held
    until the first line the run writes, then said before it as warnings:
    "at start" for the reader. The error that refuses a value carries the hint
    itself (Config.explained), so when that error is the first line, the note
    about the same value is dropped: `process 'pl.m3u ; x'` said the hint
    twice, a warning then the error (trial1 C)."""

    def __init__(self):
        # (what the note is about, as errors name it; its value; the note)
        self.notes: list[tuple[str, str, str]] = []

    def hold(self, notes) -> None:
        self.notes = list(notes)

    def add(self, warning: str) -> None:
        """Another warning of the start, said with the notes, in order."""
        self.notes.append(('', '', warning))

    def drop(self, message: str) -> None:
        """Forget the notes about what ``message`` (an error or a warning) is
        about: it starts with what names the value (_about), or it quotes the
        value and carries value_hint's comment hint ('playlist not found:
        pl.m3u ; x (the ';' and what follows …)')."""
        def about(where, value):
            return where and (_about(message, where) or (
                value.strip() in message and _HINT_COMMENT_WORDS in message))
        self.notes = [(where, value, note) for where, value, note in self.notes if not about(where, value)]

    def release(self, before: str | None = None) -> None:
        """Log the notes held, once; those about what ``before`` (the error
        about to be printed) is about are dropped."""
        if before is not None:
            self.drop(before)
        notes, self.notes = self.notes, []
        for _where, _value, note in notes:
            log.warning('%s', note)


HELD_NOTES = HeldNotes()


class Console:
    """The only place that writes to stdout/stderr; everything is redacted.

    Each message is printed once. With ``record`` (commands that do work) it
    also goes to the log file, when there is one, so the file records how every
    run ended; errors always do."""

    def __init__(self, quiet=False, stdout=None, stderr=None, record=True):
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.record = record
        self._stdout_tty = None         # asked once: a dry run prints a line per item
        self.errors: list[str] = []     # as printed: a failed run's notification says the last
        # Why standard output could not be written (a full disk, an I/O error;
        # not a reader that left): the run goes on, main() ends it with exit 2.
        self.stdout_failure: str | None = None

    def _tty(self) -> bool:
        if self._stdout_tty is None:
            self._stdout_tty = stream_is_tty(self.stdout)
        return self._stdout_tty

    def out(self, message='', always=False) -> None:
        """Normal output; ``-q`` keeps only what is ``always`` (final summaries).
        Redacted, each line clipped to DISPLAY_LINE_MAX."""
        HELD_NOTES.release()
        message = shown(message)
        if always or not self.quiet:
            self._stdout_failed(write_line(self.stdout, message, self._tty()))
        if self.record:
            log_to_file(logging.INFO, message)

    def json(self, document, sort_keys=False) -> None:
        """One JSON document on one line (``--json``; not silenced by ``-q``),
        every string in it redacted and clipped (a line clip would break it)."""
        HELD_NOTES.release()
        text = json.dumps(shown_tree(document), ensure_ascii=False, sort_keys=sort_keys)
        self._stdout_failed(write_line(self.stdout, text))
        if self.record:
            log_to_file(logging.INFO, text)

    def _stdout_failed(self, exc: OSError | None) -> None:
        if exc is not None and not isinstance(exc, BrokenPipeError) and self.stdout_failure is None:
            self.stdout_failure = exc.strerror or type(exc).__name__

    def flush(self) -> None:
        """Flush standard output at the run's end: what went past write_line
        (argparse's --help/--version) would otherwise fail in Python's flush
        at exit, with "Exception ignored" and exit 120."""
        try:
            if self.stdout is not None:
                self.stdout.flush()
        except (OSError, ValueError) as exc:
            _discard_output(self.stdout)
            self._stdout_failed(exc if isinstance(exc, OSError) else None)

    def end(self, code: int) -> int:
        """The exit code of a run whose standard output failed: one line on
        stderr, and 2 unless the run had already failed (its code says more).
        Everything the command did is done and stored: only its report is lost."""
        self.flush()
        if self.stdout_failure is None:
            return code
        self.error(f'cannot write to standard output: {self.stdout_failure}')
        self.stdout_failure = None          # said once
        return code if code != EXIT_OK else EXIT_USAGE

    def error(self, message) -> None:
        HELD_NOTES.release(before=message)
        message = shown(message)
        self.errors.append(message)
        write_line(self.stderr, f'stalkeer: error: {message}')
        log_to_file(logging.ERROR, message)

    def notice(self, message) -> None:
        """A line on stderr that is not an error and that -q keeps (a stop someone
        asked for, the Xtream account about to expire)."""
        HELD_NOTES.release()
        message = shown(message)
        write_line(self.stderr, f'stalkeer: {message}')
        log_to_file(logging.WARNING, message)


def stream_is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def write_line(stream, text: str, tty: bool | None = None) -> OSError | None:
    """One line on a console stream; on a terminal above the progress bars
    (tqdm clears them, writes, and draws them again), never through them.
    ``tty``: whether ``stream`` is a terminal, when the caller knows.

    A stream that cannot be written is never a traceback (trial-17a F7):
    the line and all that follows go to /dev/null (_discard_output), the
    command runs on, and the error is returned for the caller to judge. A
    reader that left (BrokenPipeError: `stalkeer process | head -1`) is no
    error; a full disk or an I/O error under stdout is (Console.end); on
    stderr there is nowhere left to say it."""
    if stream is None:              # no such stream (see _standard_streams): nowhere to write
        return None
    try:
        if tqdm is not None and (stream_is_tty(stream) if tty is None else tty):
            tqdm.write(text, file=stream)
        else:
            stream.write(text + '\n')
        stream.flush()
    except (OSError, ValueError) as exc:     # ValueError: the stream was closed
        _discard_output(stream)
        return exc if isinstance(exc, OSError) else None
    return None


def _discard_output(stream) -> None:
    """``stream`` cannot be written (its reader closed it, its disk is full):
    point its descriptor at /dev/null (as Python's docs advise, "Note on
    SIGPIPE") so that what follows, and the flush at exit, go nowhere without
    a traceback. The command runs on to its own end (trial-15 F9: `process …
    | head -1` exited 1). What the stream still buffers is written to /dev/null."""
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _handler_failed(what: str, then: str = '') -> None:
    """One line on stderr for a log handler that failed (handleError), in place
    of logging's "--- Logging error ---" traceback, which prints the record's
    raw message and arguments past the masking, a secret among them
    (trial-17a F8). Names the error, never the record."""
    exc = sys.exc_info()[1]
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
        type(exc).__name__ if exc is not None else 'unknown error'
    write_line(sys.stderr, f'stalkeer: {shown(what)}: {reason}{then}')


class ConsoleLogHandler(logging.StreamHandler):
    """Log lines on stderr, written like every other console line (write_line,
    which never raises for a dead stderr)."""

    def emit(self, record):
        try:
            HELD_NOTES.release()
            write_line(self.stream, self.format(record))
        except RecursionError:  # pragma: no cover - as logging.StreamHandler does
            raise
        except Exception:
            self.handleError(record)

    def handleError(self, record):
        # A line that cannot be formatted (a bug of ours): said, without its text.
        _handler_failed('a log line could not be written')


class LogFileHandler(logging.FileHandler):
    """The log file ([logging] file, --log-file). The first write that fails
    (a full disk: ENOSPC, EIO) is said once on stderr, naming the file and the
    error, and the file is let go for the rest of the run, which goes on:
    Python's handleError printed a 24-line traceback per log line, quoting
    the record's unmasked arguments (trial-17a F8)."""

    dead = False

    def emit(self, record):
        if not self.dead:
            super().emit(record)

    def handleError(self, record):
        if not isinstance(sys.exc_info()[1], OSError):
            _handler_failed(f'a line could not be written to the log file {self.baseFilename}')
            return
        self.dead = True
        _handler_failed(f'cannot write the log file {self.baseFilename}',
                        '; not logging there for the rest of this run')
        stream, self.stream = self.stream, None
        with contextlib.suppress(Exception):    # closes the descriptor even when its flush fails
            stream.close()


def log_to_file(level: int, message: str) -> None:
    """Record a line the console printed in the log file only (not twice on screen)."""
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler) and getattr(handler, _LOG_HANDLER_TAG, False) \
                and level >= handler.level:
            handler.handle(log.makeRecord(log.name, level, __file__, 0, message, None, None))


class TerminalProgress:
    """On a terminal: one tqdm bar per active transfer, and an overall line.

    A progress hook shared by every worker thread (so it locks): each transfer
    gets the lowest free line under the overall one (tqdm ``position``), and
    gives it back when it ends. The overall line counts the items of the run
    and sums the speeds of the transfers under way."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self._lock = threading.RLock()
        self._bars = {}                  # download id -> tqdm bar
        self._positions = {}             # download id -> its line (tqdm position)
        self._speeds = {}                # download id -> bytes/s
        self._counts = collections.Counter()
        self.overall = None

    def begin(self, label: str, items: int) -> None:
        """Show the overall line for ``items`` downloads (again for a second phase)."""
        with self._lock:
            self._counts.clear()
            if self.overall is None:
                self.overall = tqdm(total=items, desc=label, position=0, file=self.stream,
                                    unit='item', dynamic_ncols=True, leave=False,
                                    bar_format='{desc}: {n_fmt}/{total_fmt} done{postfix}')
            else:
                self.overall.reset(total=items)
                self.overall.set_description_str(label, refresh=False)
            self._refresh_overall()

    def __call__(self, d: dict) -> None:
        with self._lock:
            bar = self._bars.get(d['id'])
            if bar is None:
                taken = set(self._positions.values())
                first = 1 if self.overall is not None else 0
                position = self._positions[d['id']] = next(
                    p for p in itertools.count(first) if p not in taken)
                bar = self._bars[d['id']] = tqdm(
                    total=d['total_bytes'], initial=d['resumed_from'], unit='B', unit_scale=True,
                    unit_divisor=1024, desc=redact(d['title'])[:40], file=self.stream,
                    position=position, dynamic_ncols=True, leave=False)
            if d['total_bytes'] and bar.total != d['total_bytes']:
                bar.total = d['total_bytes']
            bar.n = d['downloaded_bytes']
            bar.refresh()
            self._speeds[d['id']] = d.get('speed') or 0.0
            if d['status'] == 'finished':
                self._close(d['id'])
            self._refresh_overall()

    def item_done(self, result: 'DownloadResult') -> None:
        """An item of the run ended (completed, failed, skipped…): count it, drop its bar."""
        with self._lock:
            if result.download_id is not None:
                self._close(result.download_id)
            self._counts[result.status] += 1
            if self.overall is not None:
                self.overall.update(1)
            self._refresh_overall()

    def _close(self, download_id) -> None:
        bar = self._bars.pop(download_id, None)
        self._speeds.pop(download_id, None)
        self._positions.pop(download_id, None)
        if bar is not None:
            bar.close()

    def _refresh_overall(self) -> None:
        if self.overall is None:
            return
        parts = [f'{n} {status}' for status, n in sorted(self._counts.items()) if n]
        if self._bars:
            parts.append(f'{len(self._bars)} active at {human_bytes(sum(self._speeds.values()))}/s')
        self.overall.set_postfix_str(', '.join(parts), refresh=True)

    def close(self) -> None:
        with self._lock:
            for download_id in list(self._bars):
                self._close(download_id)
            if self.overall is not None:
                self.overall.close()
                self.overall = None


class LogProgressHook:
    """A log line every ``interval`` seconds: for cron, non-TTY output and ``-q``."""

    def __init__(self, interval: float = 30):
        self.interval = interval
        self.last = {}

    def __call__(self, d: dict) -> None:
        now = time.monotonic()
        first = d['id'] not in self.last
        if first:
            self.last[d['id']] = now
            if d['resumed_from']:
                log.info('%s: resuming at %s', d['title'], human_bytes(d['resumed_from']))
            return
        if d['status'] == 'finished':
            self.last.pop(d['id'], None)
            return
        if now - self.last[d['id']] < self.interval:
            return
        self.last[d['id']] = now
        total = d['total_bytes']
        pct = f'{100.0 * d["downloaded_bytes"] / total:.1f}% of {human_bytes(total)}' if total \
            else human_bytes(d['downloaded_bytes'])
        eta = f', ETA {format_duration(d["eta"])}' if d.get('eta') is not None else ''
        speed = f' at {human_bytes(d["speed"])}/s' if d.get('speed') is not None else ''
        log.info('%s: %s%s%s', d['title'], pct, speed, eta)


def format_duration(seconds) -> str:
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f'{hours}h{minutes:02d}m' if hours else (f'{minutes}m{secs:02d}s' if minutes else f'{secs}s')


_LOG_HANDLER_TAG = '_stalkeer_handler'


def progress_log_seconds(cfg: Config) -> float:
    """[logging] progress_log_seconds: how often LogProgressHook writes a line."""
    return cfg.getnumber('logging', 'progress_log_seconds')


def log_level(cfg: Config) -> int:
    """[logging] level as a logging level number. Raises ConfigError."""
    written = cfg.get('logging', 'level') or 'INFO'
    level = logging.getLevelName(written.upper())
    if not isinstance(level, int):
        raise ConfigError(f'{cfg.where("logging", "level")} must be DEBUG, INFO, WARNING or ERROR, '
                          f'got {quoted_value(written)}')
    return level


def setup_logging(cfg: Config, verbose: int = 0, quiet: bool = False, log_file: str | None = None,
                  stream=None, strict: bool = True) -> None:
    """Console handler (stderr) and an optional file handler, both redacting.
    ConfigError for a bad [logging] level or file; not ``strict`` (`config`),
    those fall back to INFO and no file, left for `config --check` to name
    along with every other mistake."""
    try:
        file_level = log_level(cfg)
    except ConfigError:
        if strict:
            raise
        file_level = logging.INFO
    for handler in list(log.handlers):
        if getattr(handler, _LOG_HANDLER_TAG, False):
            log.removeHandler(handler)
            handler.close()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    console = ConsoleLogHandler(stream or sys.stderr)
    console.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else min(file_level, logging.INFO))
    console.setFormatter(RedactingFormatter('stalkeer: %(message)s'))
    setattr(console, _LOG_HANDLER_TAG, True)
    log.addHandler(console)
    try:
        path = log_file or cfg.getpath('logging', 'file')
    except ConfigError:
        if strict:
            raise
        path = None
    # --log-file by the rule getpath judged [logging] file by: a named pipe
    # there blocked the open until something read it.
    problem = log_file and log_file_option_problem(log_file)
    if problem:
        if strict:
            raise ConfigError(problem)
        path = None         # `config` names it with the other mistakes (config_checks)
    if path:
        try:
            create_private(path)
            handler = LogFileHandler(path, encoding='utf-8')
        except OSError as exc:
            hint = value_hint(log_file) if log_file else cfg.key_hint('logging', 'file')
            raise ConfigError(f'cannot open log file {path}: {exc.strerror}{hint}') from None
        handler.setLevel(logging.DEBUG if verbose else file_level)
        handler.setFormatter(RedactingFormatter(
            '%(asctime)s %(levelname)s [' + str(os.getpid()) + '] %(message)s'))
        setattr(handler, _LOG_HANDLER_TAG, True)
        log.addHandler(handler)
    # The logger passes on only what some handler keeps: a log.debug() no handler
    # wants then costs one level check instead of a LogRecord (a 10k-item run
    # makes ~25k of them; bench/RESULTS.md, issue 15).
    log.setLevel(min(h.level for h in log.handlers) or logging.DEBUG)


def log_file_option_problem(log_file: str) -> str | None:
    """Why ``--log-file`` cannot be appended to, in one line, or None: in
    quotes (quoted_path_problem), else by the file rule of [logging] file
    (file_setting_problem, role 'append')."""
    return (quoted_path_problem('--log-file', log_file)
            or file_setting_problem('--log-file', log_file, 'append'))


class App:
    """What a command needs: parsed arguments, config, console, database."""

    def __init__(self, args, cfg: Config, console: Console):
        self.args = args
        self.cfg = cfg
        self.console = console
        self.db = None
        self.run_counts = {}        # what a command did, for notifications
        self.run_warnings = []      # outcome warnings (the account), for notifications
        self.notifier = None
        self._progress = None
        self._held = contextlib.ExitStack()     # what the run holds until it ends
        self._imports_locked = False
        self.import_lock_check = None   # import_lock's check(), once the lock is held

    def lock_imports(self) -> None:
        """Hold the database's import lock (import_lock) until the run ends;
        taken once, however many imports the run makes."""
        if not self._imports_locked:
            db = self.open_db()
            self.import_lock_check = self._held.enter_context(import_lock(db))
            self._imports_locked = True
            # An import killed with processed_lines' indexes down (a first
            # import's, PlaylistIngest._drop_indexes) while this run's start
            # left them to it (migrate_schema): built before this run imports.
            build_missing_line_indexes(db)

    def open_db(self, migrate=True):
        if self.db is None:
            self.db = open_database(self.cfg.database_url, self.cfg.base_dir,
                                    self.cfg.database_url_source, migrate=migrate)
        return self.db

    def close(self):
        if self._progress is not None:
            self._progress.close()
        self._held.close()
        if self.db is not None and not self.db.is_closed():
            self.db.close()

    def download_settings(self) -> DownloadSettings:
        return DownloadSettings.from_config(self.cfg)

    def state_manager(self, settings: DownloadSettings) -> StateManager:
        return StateManager(settings.lock_timeout, settings.max_retry_attempts)

    @property
    def progress(self) -> TerminalProgress | None:
        """The bars on a terminal (shared by all worker threads); None off a terminal or with -q."""
        if self._progress is None and tqdm is not None and not self.args.quiet \
                and stream_is_tty(sys.stderr) and stream_is_tty(sys.stdout):
            self._progress = TerminalProgress(sys.stderr)
        return self._progress

    def progress_hooks(self) -> list:
        """Bars on a terminal; elsewhere a log line every progress_log_seconds."""
        if self.progress is not None:
            return [self.progress]
        return [LogProgressHook(progress_log_seconds(self.cfg))]

    def downloader(self) -> Downloader:
        settings = self.download_settings()
        return Downloader(settings, self.state_manager(settings), self.progress_hooks())


def report_result(app: App, result: DownloadResult) -> None:
    """One line per finished item, on stdout (the library only logs details at -v)."""
    c = app.console
    if app.progress is not None:
        app.progress.item_done(result)
    if result.status == 'completed':
        c.out(f'completed: {result.path} ({human_bytes(result.size)})', always=True)
    elif result.status == 'skipped':
        c.out(f'skipped: {result.message}')
    else:
        info = DownloadInfo.get_or_none(DownloadInfo.id == result.download_id) \
            if result.download_id is not None else None
        title = f' {row_title(info)}' if info else ''
        number = f'#{result.download_id}{title}: ' if result.download_id is not None else ''
        c.out(f'{result.status}: {number}{result.message}', always=True)
        if app.notifier is not None and info is not None:
            app.notifier.download_failed(result.download_id, info.title, info.url,
                                         result.message, info.retry_count)


def cmd_migrate(app: App) -> int:
    """Create or upgrade the tables."""
    db = app.open_db(migrate=False)
    changes = migrate_schema(db)
    for change in changes:
        app.console.out(change)
    app.console.out(f'database ready: {redact_url(app.cfg.database_url)} '
                    f'({"no changes" if not changes else f"{len(changes)} change(s)"})', always=True)
    return EXIT_OK


# Keys whose whole value is a secret; URLs are shown through redact_url().
_SECRET_CONFIG_KEYS = frozenset({('radarr', 'api_key'), ('sonarr', 'api_key'), ('serve', 'token'),
                                 ('xtream', 'username'), ('xtream', 'password')})
# URLs that are secrets in themselves (a webhook's or a check's path is its key).
_SECRET_URL_KEYS = frozenset({('notify', 'webhook_url'), ('notify', 'healthcheck_url'),
                              ('notify', 'apprise_urls')})


# Keys whose value may span lines (one pattern, mapping or name a line); in any
# other an indented line is a slip that continues the value above it.
_MULTILINE_CONFIG_KEYS = frozenset({('radarr', 'path_map'), ('sonarr', 'path_map'),
                                    *(('filter', key) for key in LineFilter.KEYS),
                                    ('notify', 'apprise_urls'), ('serve', 'allowed_hosts'),
                                    ('quality', 'preference'), ('quality', 'languages')})


def masked_config_value(section: str, key: str, value: str | None) -> str:
    """A config value as `config` shows it: secrets masked, URL credentials too.
    Of a one-line key only the first line: what an indented line added to it
    (``  api_key = SECRET`` under ``timeout = 10``) is not its value and may be
    a secret (quoted_value says the same in errors)."""
    if not value:
        return value or ''
    if '\n' in value and (section, key) not in _MULTILINE_CONFIG_KEYS:
        first, more = value.split('\n', 1)
        return f'{masked_config_value(section, key, first.strip())}  {continued_lines_note(more)}'
    if (section, key) in _SECRET_CONFIG_KEYS or 'password' in key:
        return '***'
    if (section, key) in _SECRET_URL_KEYS:
        return ' '.join(masked_secret_url(u) for u in re.split(r'[\s,]+', value) if u)
    if key == 'url' or key.endswith('_url'):
        if not has_url_scheme(value):       # as quoted_url: maybe a secret
            return '(not a URL: not shown, it may hold a secret)'
        register_url_secrets(value)
        return redact_url(value)
    return value


# Keys read with Config.getpath(): relative values resolve against the config file's folder.
_PATH_CONFIG_KEYS = frozenset({('downloads', 'temp_dir'), ('downloads', 'movies_path'),
                               ('downloads', 'tvshows_path'), ('m3u', 'file_path'),
                               ('m3u', 'archive_dir'), ('logging', 'file')})
# Of those, the ones that name a folder.
_FOLDER_CONFIG_KEYS = frozenset({('downloads', 'temp_dir'), ('downloads', 'movies_path'),
                                 ('downloads', 'tvshows_path'), ('m3u', 'archive_dir')})
# The path keys each command uses (reads, writes or creates something at): a
# wrong one is refused at start; a wrong one it does not use is a warning at
# start (Config.check). [logging] file is every command's. A command missing
# here uses none but the log (status, serve, lines, unlock, retry, migrate…).
_LOG_PATH = frozenset({('logging', 'file')})
COMMAND_PATH_SETTINGS = {
    'download': {('downloads', 'temp_dir')},
    'cleanup': {('downloads', 'temp_dir')},
    # Resumed downloads of any kind, then Radarr's and Sonarr's rescans.
    'resume-downloads': {('downloads', 'temp_dir'), ('downloads', 'movies_path'),
                         ('downloads', 'tvshows_path')},
    'radarr': {('downloads', 'temp_dir'), ('downloads', 'movies_path')},
    'sonarr': {('downloads', 'temp_dir'), ('downloads', 'tvshows_path')},
    # --download fetches the playlist first, as m3u-download does.
    'process': {('m3u', 'file_path'), ('m3u', 'archive_dir')},
    # The archives are named after the playlist's file.
    'm3u-download': {('m3u', 'file_path'), ('m3u', 'archive_dir')},
    'm3u-list-archives': {('m3u', 'file_path'), ('m3u', 'archive_dir')},
    'm3u-cleanup-archives': {('m3u', 'file_path'), ('m3u', 'archive_dir')},
}


def command_path_settings(command: str | None) -> frozenset:
    """The path keys (section, key) ``command`` uses (COMMAND_PATH_SETTINGS);
    None: every one (`config --check` judges them all)."""
    if command is None:
        return _PATH_CONFIG_KEYS
    return _LOG_PATH | frozenset(COMMAND_PATH_SETTINGS.get(command, ()))


# And the ones that name a file: a folder there failed only when written to
# (m3u-download: a traceback after the whole download, trial-18a F5).
_FILE_CONFIG_KEYS = _PATH_CONFIG_KEYS - _FOLDER_CONFIG_KEYS
# Of those, the library roots (commented_root_problem; so is each path_map LOCAL).
_LIBRARY_ROOT_KEYS = frozenset({('downloads', 'movies_path'), ('downloads', 'tvshows_path')})
# Of those, the ones appended to (file_problem's role 'append'), not replaced.
_APPEND_CONFIG_KEYS = frozenset({('logging', 'file')})


def _resolved_path(cfg: Config, section: str, key: str, value: str) -> str | None:
    """The absolute path a relative path value stands for (None when nothing to
    add, and for a value in quotes: every command refuses it, quoted_path_problem,
    so it stands for no path; `config` showed '"/srv/tmp"' as a folder named so
    beside the config file, which read as where the downloads would go)."""
    if in_quotes(value):
        return None
    if (section, key) == ('database', 'url'):
        with contextlib.suppress(StalkeerError):
            spec = parse_database_url(value, cfg.base_dir)
            written = urllib.parse.unquote(value.split('://', 1)[1])[1:]
            if spec['kind'] == 'sqlite' and spec['path'] != written:
                return spec['path']
        return None
    if (section, key) not in _PATH_CONFIG_KEYS or not value:
        return None
    path = os.path.expanduser(value)
    return None if path == value and os.path.isabs(path) else os.path.join(cfg.base_dir, path)


def config_entries(cfg: Config, args) -> list[dict]:
    """Every key stalkeer reads (and any unknown one the file sets) with the
    value in force, masked, and where it came from: ``source`` ``default``,
    ``file``, ``environment`` or ``option``, ``source_name`` the variable or
    the option (else None), ``ignored`` (a key stalkeer does not know) and
    ``did_you_mean`` (the known key it most likely means, else None): values,
    as `config --json` gives them; config_source_text() says them in words."""
    entries = []
    overrides = {('logging', 'file'): ('--log-file', getattr(args, 'log_file', None))}
    for section, keys in DEFAULTS.items():
        for key in keys:
            value = cfg.get(section, key)
            source = cfg.origin_parts(section, key)
            if (section, key) == ('database', 'url'):
                value = cfg.database_url
                source = {'--db': ('option', '--db'), 'DATABASE_URL': ('environment', 'DATABASE_URL')}.get(
                    cfg.database_url_source, source)
            value = (value or '').strip()
            resolved = _resolved_path(cfg, section, key, value)
            option, option_value = overrides.get((section, key), (None, None))
            if option_value:        # as the option is used: relative to the working directory
                value, source = option_value, ('option', option)
                resolved = os.path.abspath(option_value) if option_value != os.path.abspath(
                    option_value) and not in_quotes(option_value) else None
            entries.append({'section': section, 'key': key, 'source': source[0], 'source_name': source[1],
                            'value': masked_config_value(section, key, value),
                            'resolved': resolved, 'ignored': False, 'did_you_mean': None})
    # A key stalkeer does not know has no known meaning, so no rule could tell
    # whether its value is a secret: a misspelt `apikey = …` or `passwd = …` is
    # most likely one (trial-16a F1). Its value is never shown (JSON: null), only
    # its name and the known key it most likely means.
    for section, key in sorted(cfg.file_options()):
        if key not in DEFAULTS.get(section, {}):
            # An unknown section's name is user text: shown when it is a plausible name
            # (JSON: null when not; section_text and key_text are the text's words).
            shown = cfg.shown_section(section)
            entries.append({'section': section if _plausible_section(section) else None,
                            'key': config_key_name(key),
                            'source': 'file', 'source_name': None, 'value': None,
                            'resolved': None, 'ignored': True, 'did_you_mean': _closest_key(section, key),
                            'section_text': shown[1:-1] if shown.startswith('[') else shown,
                            'key_text': shown_config_key(key)})
    return entries


# What `config --json` gives of a config_entries() entry: values only.
CONFIG_JSON_FIELDS = ('section', 'key', 'value', 'source', 'source_name', 'resolved', 'ignored', 'did_you_mean')


def config_source_text(entry: dict) -> str:
    """Where a config_entries() entry came from, as `config` prints it:
    ``default``, ``file``, ``environment STALKEER_…``, ``option --db``, or
    ``file, unknown key: ignored``."""
    if entry['ignored']:
        return f'{entry["source"]}, unknown key: ignored'
    return ' '.join(filter(None, (entry['source'], entry['source_name'])))


def _no_note(check: Callable) -> None:
    """Run a check for its ConfigError only."""
    check()


def config_checks(app: App) -> list[tuple[str, Callable]]:
    """Each section validated the way the commands read it: (section, check).
    A check raises StalkeerError, or returns a note."""
    cfg = app.cfg

    def arr(section):
        if not (cfg.get(section, 'url') or cfg.get(section, 'api_key')):
            return f'not configured (`{section}` will refuse to run)'
        ArrSettings.from_config(cfg, section)

    def log_file_option():
        log_file = getattr(app.args, 'log_file', None)
        raise_config_errors([problem] if log_file and (problem := log_file_option_problem(log_file)) else [])

    return [
        # Every key that stands on its own (numbers, paths, booleans, auto, header
        # values, URLs, path maps), each on its own: all mistakes are named. What
        # a key check returns is the value it read, never a note: shown as one,
        # it printed an API key that the masking could not know (trial 15b).
        *((f'[{section}] {key}', functools.partial(_no_note, check))
          for (section, key), check in cfg.key_checks()),
        ('[database]', lambda: raise_config_errors(sqlite_file_problems(
            cfg.database_url, cfg.base_dir, cfg.database_url_source))),
        ('[downloads]', lambda: Workers(app)),
        ('[downloads]', lambda: [cfg.getpath(*key) for key in sorted(_PATH_CONFIG_KEYS)] and None),
        ('[radarr]', lambda: arr('radarr')),
        ('[sonarr]', lambda: arr('sonarr')),
        ('[quality]', lambda: QualitySettings.from_config(cfg)),
        ('[m3u]', lambda: PlaylistSettings.from_config(cfg)),
        ('[xtream]', lambda: xtream_note(XtreamSettings.from_config(cfg))),
        ('[filter]', lambda: LineFilter.from_config(cfg)),
        ('[notify]', lambda: Notifier(cfg, 'config')),
        ('[serve]', lambda: serve_settings(cfg)),
        ('[logging]', lambda: log_level(cfg) and None),
        ('[logging]', lambda: progress_log_seconds(cfg) and None),
        # The option a run would log to: `config --log-file '"x.log"'` printed
        # nothing but the refusal, where the same mistake in the file is listed.
        ('--log-file', log_file_option),
    ]


def cmd_config(app: App) -> int:
    """Show the configuration file in force, then every key with its value and
    where it came from (default, file, environment, option), secrets masked,
    every section validated as the commands read it: the errors (exit 2) and
    notes. --check adds its closing line (``config check: ok``)."""
    cfg, args = app.cfg, app.args
    out = lambda text='': app.console.out(text, always=True)  # noqa: E731
    path = os.path.abspath(cfg.path) if cfg.path else None
    looked = f'./stalkeer.ini, {HERE / "stalkeer.ini"}'
    entries = config_entries(cfg, args)
    # The file's own mistakes (a line that is no setting, a duplicate), then
    # every value checked as the commands read it, with or without --check: a
    # `config` that showed a value every command refuses at start, and said
    # `"errors": null`, read as "no error" (the checks are local and cheap).
    # --check only adds its closing line. The values shown are what the rest
    # of the file says.
    problems, notes = list(cfg.read_problems), []
    for section, check in config_checks(app):
        try:
            note = check()
        except StalkeerError as exc:
            # Sections share keys ([m3u] reads [downloads] timeouts): each mistake once;
            # a check that found several (ConfigErrors) has each named.
            for problem in getattr(exc, 'problems', None) or [str(exc)]:
                problem = cfg.explained(problem)
                if problem not in problems:
                    problems.append(problem)
            continue
        if isinstance(note, str):
            notes.append(f'{section} {note}')
    notes += cfg.weak_secrets()
    # Unknown keys of the file are listed with the values; a misspelt
    # STALKEER_* variable is only seen here.
    notes += [w for w in cfg.unknown_keys() if w.startswith('environment variable')]
    notes += cfg.empty_unknown_sections()
    # A key whose error says it (Config.explained) gets no note besides.
    notes += cfg.inline_comment_notes(but=problems)
    if args.json:
        found_by = (cfg.found_by or 'option') if path else None
        app.console.json({'config_file': path, 'found_by': found_by, 'base_dir': cfg.base_dir,
                          'values': [{name: entry[name] for name in CONFIG_JSON_FIELDS} for entry in entries],
                          'errors': problems,
                          'notes': notes})
    else:
        out(f'config file: {path} (from {CONFIG_FOUND_BY[cfg.found_by or "option"]})' if path else
            f'config file: none, built-in defaults (looked for {looked})')
        out(f'relative paths are resolved against {cfg.base_dir}')
        section = None
        for entry in entries:
            if entry.get('section_text', entry['section']) != section:
                section = entry.get('section_text', entry['section'])
                out(section if ' ' in section else f'[{section}]')     # ' ': shown_section's words
            if entry['ignored']:            # an unknown key: its value is never shown
                near = f'; did you mean {entry["did_you_mean"]}?' if entry['did_you_mean'] else ''
                out(f'  {entry["key_text"]} (value not shown)  ({config_source_text(entry)}{near})')
                continue
            value = entry['value'].replace('\n', '\n      ')     # multi-line values stay indented
            resolved = f' -> {entry["resolved"]}' if entry.get('resolved') else ''
            out(f'  {entry["key"]} = {value}{resolved}  ({config_source_text(entry)})')
        for note in notes:
            out(f'note: {note}')
        for problem in problems:
            app.console.error(problem)
        if args.check:
            out(f'config check: {len(problems)} error(s)' if problems else 'config check: ok')
    return EXIT_USAGE if problems else EXIT_OK


def cmd_download(app: App) -> int:
    """One ad-hoc tracked download."""
    args = app.args
    error = http_url_error('download URL', args.url, space_problem(args.url), argument=True)   # as the URL keys
    if error:
        raise StalkeerError(error)
    register_url_secrets(args.url)
    given = destination = os.path.abspath(os.path.expanduser(args.dest))
    if os.path.isdir(destination) or args.dest.endswith(os.sep):
        # Sanitised, so '..' or '.' in the URL never leaves the folder.
        destination = os.path.join(destination, url_file_name(args.url))
    # And the name the downloader writes when DEST has no video extension (the
    # URL's; one from the Content-Type is checked by the downloader itself).
    import types
    named = Downloader._final_path(types.SimpleNamespace(destination=destination, url=args.url), None)
    refuse_destination_out_of_reach(named)
    for path in dict.fromkeys((given, destination, named)):
        refuse_special_destination(path)
    downloader = app.downloader()
    app.open_db()
    if not args.force:
        refuse_existing_destination(destination, named, args.url)
    # A person asked for it: a download of DEST that gave up is tried again,
    # judged by the config as it is now (Downloader.run ``anew``).
    result = downloader.download(args.url, destination, title=args.title, force=args.force,
                                 anew=True)
    app.run_counts = {result.status: 1}
    report_result(app, result)
    return EXIT_OK if result.status in ('completed', 'skipped') else EXIT_FAILED


def refuse_destination_out_of_reach(path: str) -> None:
    """StalkeerError (exit 2, no request, no row) when the folder ``path`` goes
    into cannot be made or used, judged by the rule [m3u] file_path is (a file
    made where nothing is: file_problem, role 'write', whose folder on the way
    is judged by folder_problem, role 'create') and said in its words: a dangling link, a link loop, a file, a named pipe or a socket on
    the way sent the request and stored a give-up (open_folder's refusal)."""
    problem = None if os.path.lexists(path) else file_problem(path, 'write')
    if problem:
        raise StalkeerError(f'DEST {path} is {problem}')


def refuse_special_destination(path: str) -> None:
    """StalkeerError (exit 2) when ``path`` exists and is neither a regular
    file, a folder nor a symlink (special_file): /dev/null would otherwise
    become /dev/null.mkv beside it (trial-15 F7). Symlinks are the
    downloader's (refused, or with --force replaced, never followed)."""
    special = special_file(path)
    if special:
        raise StalkeerError(f'DEST {path} is {special}: give a new file name, '
                            'a folder, or (with --force) a file to replace')


def refuse_existing_destination(destination: str, named: str, url: str) -> None:
    """StalkeerError (exit 2, nothing stored) when a file stands where the
    download would go and --force was not given: README's rule that an
    existing file is never replaced without --force is about the input, so it
    is said at once rather than stored as a failed download that runs retry.
    The file this very download finished (same URL) is left to the downloader,
    which says `already downloaded`."""
    if not os.path.lexists(named):
        return
    row = DownloadInfo.get_or_none(DownloadInfo.destination == destination)
    if row is not None and Downloader._already_done(row, False, url):
        return
    st, what = _standing(named, 'a file')
    if st is None:      # a dangling link or a loop: it is no file, say what it is
        # With --force the link itself is replaced (a rename over it), never
        # followed: nothing is written where it points.
        raise StalkeerError(f'DEST {named} is {what}: what stands there is never replaced without '
                            '--force (give another DEST, or --force to replace the link itself; '
                            'it is never followed)')
    raise StalkeerError(f'DEST {named} exists: an existing file is never replaced without '
                        '--force (give another DEST, or --force to replace it)')


def resume_downloads(app: App, workers: Workers, rescans: 'Rescanner', service: str = 'all',
                     limit: int | None = None, max_retries: int | None = None) -> dict:
    """Finish eligible incomplete downloads in parallel; a finished one that
    fills a Radarr/Sonarr item goes to ``rescans``. Downloads that used up
    their retries are not resumed but reported (``gave up``): they make the run
    fail until `stalkeer retry ID`. Returns counts."""
    state = StateManager(workers.settings.lock_timeout, workers.settings.max_retry_attempts)
    pending = state.resumable(limit, max_retries, service)
    counts = {'completed': 0, 'failed': 0, 'skipped': 0, 'lost': 0, 'paused': 0}
    if pending and app.progress is not None:
        app.progress.begin('resume', len(pending))

    def resume(info):
        try:
            return info, workers.downloader().run(info)
        except Exception as exc:       # never one item's error for the whole queue
            log.debug('resuming #%d', info.id, exc_info=True)
            return info, DownloadResult('failed', info.id,
                                        f'unexpected error: {exc.__class__.__name__}: {first_line(exc)}')
    for info, result in workers.map(resume, pending):
        counts[result.status] += 1
        report_result(app, result)
        if result.status == 'completed':
            rescans.add(info.service, info.service_item_id, info.service_parent_id, info.title,
                        info.id)
    given_up = state.given_up(max_retries, service)
    if given_up:
        counts['gave up'] = len(given_up)
        report_given_up(app, given_up)
    return counts


REPORT_GIVEN_UP_ROWS = 20     # given-up downloads named one by one (all at -v); the rest counted


def given_up_line(ids: list, most: int = REPORT_GIVEN_UP_ROWS) -> str:
    """The one line resume-downloads and a radarr/sonarr run give for downloads
    no run tries any more (the first ``most`` IDs, then how many more), with
    the command that would."""
    shown = first_of((str(i) for i in ids), most, ' ')
    return (f'{len(ids)} gave up (retries used up without progress, or {PERMANENT_MARK}): '
            f'run `stalkeer retry ID` to try again (IDs {shown})')


def report_given_up(app: App, rows: list) -> None:
    """Downloads no run resumes any more: say so, with the command that would."""
    most = len(rows) if app.args.verbose else REPORT_GIVEN_UP_ROWS     # -v: every one
    app.console.out(given_up_line([info.id for info in rows], most), always=True)
    for info in rows[:most]:
        # A failure no retry can fix already ends with what to do: said once.
        why = '' if failed_for_good(info) else f'; {gave_up_text(info)}'
        app.console.out(f'  #{info.id} {info.title or os.path.basename(info.destination)}: '
                        f'{info.error_message or "no error recorded"}{why}')
    if len(rows) > most:
        app.console.out(f'  … and {len(rows) - most} more: -v names every one')


class Rescanner:
    """Asks Radarr/Sonarr to import finished files: RescanMovie at once for each
    movie, RescanSeries once per series at flush(). Thread-safe.

    A completed download keeps ``rescan_pending`` until its app accepted the
    rescan, so one that a crash (or an app that was down) kept from being
    rescanned is rescanned by a later run: :meth:`add_pending` (at least once:
    a rescan that takes longer than the lock timeout may be asked twice)."""

    def __init__(self, app: App, enabled: bool, clients: dict | None = None):
        self.app = app
        self.enabled = enabled
        self.clients = dict(clients or {})
        self.series = {}             # series id -> download ids waiting on its rescan
        self._lock = threading.Lock()

    def _client(self, service: str):
        """The app's client (made from the config on first use); None when it is
        not configured or its rescan is off."""
        with self._lock:
            if service not in self.clients:
                try:
                    settings = ArrSettings.from_config(self.app.cfg, service)
                except ConfigError as exc:
                    log.warning('cannot ask %s to rescan: %s', service.capitalize(),
                                self.app.cfg.explained(str(exc)))
                    settings = None
                self.clients[service] = None if settings is None or not settings.rescan else \
                    (RadarrClient if service == 'radarr' else SonarrClient)(settings)
            return self.clients[service]

    def add(self, service: str | None, item_id: int | None, parent_id: int | None,
            label: str | None = None, download_id: int | None = None) -> None:
        """``label`` names the movie or episode in the log (the rescan is logged
        there); ``download_id``: its rescan_pending is cleared once the app took it."""
        if not self.enabled:
            return
        if service == 'radarr' and item_id:
            client = self._client('radarr')
            if client is not None and client.rescan(item_id):
                log.info('asked Radarr to rescan %s (movie %d)', label or 'a movie', item_id)
                self._done([download_id])
        elif service == 'sonarr' and parent_id:
            with self._lock:
                self.series.setdefault(parent_id, []).append(download_id)

    def add_pending(self, service: str = 'all', grace: float = 300) -> None:
        """Completed downloads whose rescan never got through (a crash right
        after the download, or the app was down). Those completed in the last
        ``grace`` seconds (lock_timeout_seconds) are left to the run that
        completed them, which is asking for their rescan right now."""
        if not self.enabled:
            return
        DI = DownloadInfo
        query = DI.select(DI.id, DI.service, DI.service_item_id, DI.service_parent_id,
                          DI.title).where(
            (DI.status == COMPLETED) & (DI.rescan_pending == True)  # noqa: E712 - SQL
            & (DI.completed_at < db_now(-grace)))
        if service != 'all':
            query = query.where(DI.service == service)
        for info in query:
            self.add(info.service, info.service_item_id, info.service_parent_id, info.title,
                     info.id)

    def flush(self) -> None:
        with self._lock:
            series, self.series = sorted(self.series.items()), {}
        client = self._client('sonarr') if series else None
        for series_id, download_ids in series if client is not None else ():
            if client.rescan(series_id):
                log.info('asked Sonarr to rescan series %d', series_id)
                self._done(download_ids)

    @staticmethod
    def _done(download_ids) -> None:
        ids = [i for i in download_ids if i is not None]
        if ids:
            with contextlib.suppress(peewee.PeeweeException):   # worst case: rescanned twice
                DownloadInfo.update(rescan_pending=False).where(DownloadInfo.id.in_(ids)).execute()


def cmd_resume_downloads(app: App) -> int:
    """Finish every eligible incomplete download from its .part file."""
    args = app.args
    workers = Workers(app, args.parallel)
    app.open_db()
    state = StateManager(workers.settings.lock_timeout, workers.settings.max_retry_attempts)
    if args.dry_run:
        pending = state.resumable(args.limit, args.max_retries, args.service)
        for info in pending:
            pct = f'{info.percent:.1f}%' if info.percent is not None else \
                where_stopped(info.bytes_downloaded)
            app.console.out(f'would resume #{info.id} {info.status} {pct} '
                            f'{info.title or info.destination}', always=True)
        if not pending:
            app.console.out('nothing to resume', always=True)
        given_up = state.given_up(args.max_retries, args.service)
        if given_up:
            report_given_up(app, given_up)
        return EXIT_OK
    if args.clean_stale_locks:
        cleared = state.clean_stale_locks()
        if cleared:
            app.console.out(f'cleared {cleared} stale lock(s)')
    rescans = Rescanner(app, not args.no_rescan)
    try:
        rescans.add_pending(args.service, workers.settings.lock_timeout)
        counts = resume_downloads(app, workers, rescans, args.service, args.limit, args.max_retries)
    finally:
        rescans.flush()
    app.run_counts = counts
    if not any(counts.values()):
        app.console.out('nothing to resume', always=True)
        return EXIT_OK
    app.console.out('resume-downloads: ' + ', '.join(
        f'{v} {k}' for k, v in counts.items() if v or k in ('completed', 'failed', 'skipped', 'lost')),
        always=True)
    bad = ('failed', 'lost', 'paused', 'gave up')
    return EXIT_FAILED if any(counts.get(key) for key in bad) else EXIT_OK



def _readable_db(app: App) -> bool:
    """For --dry-run: open the database only if it exists, and never create or migrate it."""
    spec = parse_database_url(app.cfg.database_url, app.cfg.base_dir, app.cfg.database_url_source)
    if spec['kind'] == 'sqlite' and spec['path'] != ':memory:' and not os.path.exists(spec['path']):
        return False
    db = app.open_db(migrate=False)
    try:
        return 'line_hash' in {c.name for c in db.get_columns(ProcessedLine._meta.table_name)}
    except peewee.PeeweeException:
        return False


def print_ingest_summary(app: App, summary: IngestSummary) -> None:
    out = lambda text: app.console.out(text, always=True)  # noqa: E731
    prefix = 'dry run, nothing written: ' if summary.dry_run else ''
    panel = summary.source == 'xtream'
    read = panel_where(summary.panel) if panel else summary.playlist
    out(f'{prefix}{read}: {summary.entries} entries in {summary.lines_read} {"records" if panel else "lines"} '
        f'({summary.elapsed_seconds:.1f}s)')
    out(f'  new {summary.new}, updated {summary.updated}, unchanged {summary.unchanged}, '
        f'duplicates {summary.duplicates}, filtered {summary.filtered}, malformed {summary.malformed}')
    text = [f'{n} {what}' for n, what in (
        (summary.encoding_fallbacks, 'lines not UTF-8 (read as cp1252)'),
        (summary.decode_errors, 'lines with undecodable bytes'),
        (summary.entities_decoded, 'lines with HTML entities decoded')) if n]
    if text:
        out('  text: ' + ', '.join(text))
    if summary.by_content_type:
        out('  ' + ', '.join(f'{k} {v}' for k, v in summary.by_content_type.items()))
    if summary.disappeared or summary.reappeared:
        where = "the panel's catalogue" if summary.source == 'xtream' else 'the playlist'
        out(f'  no longer in {where}: {summary.disappeared}, back again: {summary.reappeared}')
    if summary.reclassified:
        out(f'  --force: {summary.reclassified} stored lines classified again, '
            f'{summary.updated} of them rewritten (their values changed)')
    if summary.limited:
        out('  stopped at --limit: lines missing from this run were not marked as gone')
    # The very samples `--json` gives (malformed_samples), and how many more.
    for sample in summary.malformed_samples:
        app.console.out(f'  malformed {malformed_text(sample)}')
    more = summary.malformed - len(summary.malformed_samples)
    if summary.malformed_samples and more > 0:
        lines = f'{more:,} more malformed line{"s" if more != 1 else ""}'
        if app.args.verbose and not summary.skipped:
            # -v has just named every one (ParseStats.add_malformed); a skipped re-run parsed none.
            app.console.out(f'  … and {lines}, named above')
        else:
            app.console.out(f'  … and {lines}: `{malformed_lines_command(app, summary)}` names every one')


def malformed_lines_command(app: App, summary: IngestSummary) -> str:
    """The command that names every malformed line of what ``summary`` read,
    to be run as printed: the same playlist (PLAYLIST as given, else the
    [m3u] file_path read, absolute; shell-quoted), or the panel, with
    --dry-run, which parses the file even when it is unchanged and writes
    nothing (a plain re-run is skipped as unchanged, and `process -v` alone
    would read [m3u] file_path and mark the lines of another playlist gone)."""
    if summary.source == 'xtream':
        return 'stalkeer process --source xtream --dry-run -v'
    given = app.args.playlist or summary.playlist
    if given.startswith('-'):
        given = os.path.join(os.curdir, given)      # not read as an option
    return f'stalkeer process {shlex.quote(given)} --dry-run -v'


def choose_source(app: App) -> tuple[str, XtreamClient | None, PanelAccountInfo | None]:
    """('m3u' | 'xtream', the panel's client, its account) for `process --source`.
    auto: the panel when one is configured, [xtream] enabled is not false, no
    PLAYLIST asks for the M3U, and the account call answers; a panel that does
    not answer falls back to the M3U (a warning; with --download, a freshly
    downloaded one), unless [xtream] enabled = true; a refused account is an
    error either way. --download is for the M3U only: with a panel read, the
    playlist is not downloaded."""
    args, cfg = app.args, app.cfg
    if args.source == 'm3u':
        return 'm3u', None, None
    settings = XtreamSettings.from_config(cfg)
    if args.source == 'xtream':
        if not settings.url:
            raise ConfigError('--source xtream needs a panel: set [xtream] url, username and password '
                              '(or a get.php?username=…&password=… [m3u] url)')
    elif args.playlist or not settings.configured:
        return 'm3u', None, None
    client = XtreamClient(settings, user_agent=DownloadSettings.from_config(cfg).user_agent)
    try:
        account = client.account()
    except PanelRefused as exc:
        if not args.dry_run:
            app.open_db()
            keep_refusal(settings, exc)
        raise
    except PanelError as exc:
        if args.source == 'xtream' or settings.enabled == 'true':
            raise
        fall_back_to_m3u(app, exc)
        return 'm3u', None, None
    return 'xtream', client, account


def fall_back_to_m3u(app: App, exc: Exception) -> None:
    """Say that `auto` reads the M3U playlist instead of the panel, and how old
    the file it reads is (the fallback does not download it)."""
    path = PlaylistSettings.from_config(app.cfg).file_path
    try:
        age = f' (its file, {path}, is {format_duration(max(0.0, time.time() - os.path.getmtime(path)))} old)'
    except OSError:
        age = ''
    log.warning('%s; reading the M3U playlist instead (%s = auto)%s', exc,
                app.cfg.where('xtream', 'enabled'), age)


def keep_refusal(settings: XtreamSettings, exc: PanelRefused) -> None:
    """A refused account is what `status` and /metrics say from now on, not the
    last Active answer (the database is open)."""
    store_panel_account(settings.panel, PanelAccountInfo(
        f'{REFUSED_STATUS} ({exc.reason})', None, None, None, None), refused=True)


def announce_account(app: App, client: XtreamClient, account: PanelAccountInfo) -> None:
    """The account's warnings (not Active, expiring): outcome lines that -q keeps
    (cron mails them), and the run summary's "warnings" for the notifications."""
    for warning in account.warnings():
        app.console.notice(f'{client.where}: {warning}')
        app.run_warnings.append(f'{client.where}: {warning}')


def process_panel(app: App, client: XtreamClient, account: PanelAccountInfo,
                  line_filter: LineFilter) -> int:
    """`process` from the panel: the account kept and checked, then the catalogue."""
    args = app.args
    if args.dry_run:
        can_read_db = _readable_db(app)
    else:
        app.lock_imports()
        can_read_db = True
        store_panel_account(client.settings.panel, account)
    announce_account(app, client, account)
    ingest = XtreamIngest(client, line_filter, force=args.force, dry_run=args.dry_run, limit=args.limit,
                          can_read_db=can_read_db)
    ingest.check_lock = app.import_lock_check
    pointer = None
    if not args.dry_run:
        # Recorded as an M3U import is (playlist_imports, source "xtream"), so that
        # `status` and the page tell a panel user whether the last import completed.
        # Begun at the first stored batch, as the playlist's: its begin() clears the
        # playlist's pointer too (the panel's lines may replace the playlist's); a
        # catalogue refused as empty stored nothing and changes none of it. A
        # catalogue has no file digest: a re-run is never skipped as unchanged.
        pointer = ImportPointer('xtream', hashlib.sha256(client.settings.panel.encode()).hexdigest(),
                                filter_key(line_filter))
        ingest.pointer = pointer
        ingest.before_storing = pointer.begin
    summary = None
    try:
        summary = ingest.run_panel()
    finally:
        if pointer is not None:
            pointer.finish(summary if summary is not None and not summary.limited else None)
    app.run_counts = {k: getattr(summary, k) for k in ('entries', 'new', 'updated', 'malformed')}
    if args.json:
        app.console.json(summary.as_dict(), sort_keys=True)
    else:
        print_ingest_summary(app, summary)
    return EXIT_OK


def _report_unchanged(app: App, path: str, last, elapsed: float) -> int:
    """`process` of the playlist the last complete import read (ImportPointer)."""
    counts = json.loads(last.counts or '{}')
    counts['malformed_samples'] = [stored_malformed_sample(s) for s in counts.get('malformed_samples', ())]
    summary = IngestSummary(playlist=os.path.abspath(path), unchanged=last.lines, elapsed_seconds=round(elapsed, 3),
                            skipped='unchanged', unchanged_since=_iso(last.completed_at), **counts)
    app.run_counts = {k: getattr(summary, k) for k in ('entries', 'new', 'updated', 'malformed')}
    if app.args.json:
        app.console.json(summary.as_dict(), sort_keys=True)
    else:
        # Then what that import read (malformed lines and their samples stay visible).
        app.console.out(f'playlist unchanged since {last.completed_at:%Y-%m-%d %H:%M:%S} UTC: nothing to do',
                        always=True)
        print_ingest_summary(app, summary)
    return EXIT_OK


def _refuse_playlist_head(app: App, path: str, head: bytes) -> None:
    """PlaylistError, before anything is stored, when the playlist's first
    bytes ``head`` settle that it holds no entry (playlist_refusal, whole=False)."""
    refusal = playlist_refusal(head, path, whole=False)
    if refusal is None:
        return
    kind, why, stats = refusal
    if kind == 'not text':
        raise PlaylistError(f'{path} is not a text playlist ({why}); nothing in the database was changed')
    app.run_counts = {'entries': 0, 'new': 0, 'updated': 0, 'malformed': stats.malformed}
    raise PlaylistError(f'no playlist entries in {path}: {why}; nothing in the database was changed')


def cmd_process(app: App) -> int:
    """Read the playlist, or the Xtream panel's catalogue, into processed_lines."""
    args = app.args
    if args.download and args.dry_run:
        raise StalkeerError('--dry-run cannot be combined with --download (it would replace the playlist)')
    if args.playlist and args.source == 'xtream':
        raise StalkeerError('a PLAYLIST file cannot be read with --source xtream')
    if args.download and args.source == 'xtream':
        raise StalkeerError('--download fetches the M3U playlist, which --source xtream does not read')
    line_filter = LineFilter.from_config(app.cfg)
    parse_worker = app.cfg.getswitch('m3u', 'parse_worker')
    source, client, account = choose_source(app)
    if source == 'xtream':
        try:
            return process_panel(app, client, account, line_filter)
        except PanelEmpty as exc:
            # The account answers, the catalogue actions give nothing (API access to
            # VOD disabled by some resellers): under auto, the get.php playlist.
            if args.source == 'xtream' or client.settings.enabled == 'true':
                raise PanelError(f'{exc} ({client.settings.enabled_source} = auto or false reads '
                                 'the M3U playlist instead)') from None
            fall_back_to_m3u(app, exc)
    settings = PlaylistSettings.from_config(app.cfg)
    if args.download:
        result = PlaylistFetcher(settings).fetch()
        app.console.out(f'playlist saved: {result.path} ({human_bytes(result.size)})')
    path = args.playlist or settings.file_path
    # Not lexists(): False too below a folder it may not look into, which the
    # rule names (out of reach), not "not found".
    if getattr(file_problem(path, 'read'), 'kind', None) == PathKind.NOTHING:
        raise PlaylistError(f'playlist not found: {path}' + (
            value_hint(path) if args.playlist else
            ' (set [m3u] file_path, or run m3u-download first)' + app.cfg.key_hint('m3u', 'file_path')))
    # Read by the rule m3u-download saves it by and `config --check` names: a
    # named pipe (`process <(zcat x.gz)`) is refused, given or configured, since
    # the playlist is read more than once (its head, then its lines).
    problem = file_setting_problem('PLAYLIST' if args.playlist else settings.file_path_source, path, 'read')
    if problem:
        raise PlaylistError(problem)
    # A small file without any #EXTINF, whose whole is in hand and can hold no
    # entry (empty, a BOM, only #EXTM3U), is refused before the database is
    # opened, or even created. (One with an #EXTINF is left to the read: the
    # skip of an unchanged playlist parses no line.)
    head = read_head(path)
    _refuse_playlist_head(app, path, head)
    if args.dry_run:
        can_read_db = _readable_db(app)
    else:
        app.lock_imports()
        can_read_db = True
    pointer = None
    # Opened once, after the import lock: the digest up front and the lines read
    # are of one file, and the read is checked against that digest (PlaylistFile;
    # also by --dry-run, which counts what the import would do).
    with PlaylistFile(path) as playlist:
        started = time.monotonic()
        # The file opened is judged, not only the one whose head was read before
        # the lock: one replaced by rename in between (m3u-download, mv) was
        # parsed when binary, and its refusal described the old file.
        opened = playlist.head()
        if opened != head:
            head = opened
            _refuse_playlist_head(app, path, head)
        digest = playlist.sha256()
        if not args.dry_run:
            pointer = ImportPointer('m3u', digest, filter_key(line_filter))
            last = None if args.force or args.limit else pointer.unchanged()
            if last is not None:
                return _report_unchanged(app, path, last, time.monotonic() - started)
        bar = None
        on_progress = None
        if tqdm is not None and not args.quiet and not args.json and stream_is_tty(sys.stderr) \
                and stream_is_tty(sys.stdout):
            bar = tqdm(total=playlist.size, unit='B', unit_scale=True, unit_divisor=1024,
                       desc='process', file=sys.stderr, leave=False)
            on_progress = lambda done: bar.update(done - bar.n)  # noqa: E731
        summary = None
        ingest = PlaylistIngest(line_filter, force=args.force, dry_run=args.dry_run, limit=args.limit,
                                can_read_db=can_read_db, parse_worker=parse_worker)
        ingest.check_lock = app.import_lock_check
        if pointer is not None:
            # Begun when the first batch is stored, not before the read: a file
            # that turns out to hold no entry (empty, a BOM, only #EXTM3U) is
            # refused with nothing stored, so the last complete import's record
            # stays true and stays (`status`, the page, the re-run skip).
            ingest.before_storing = pointer.begin
        try:
            summary = ingest.run(path, on_progress, playlist)
        finally:
            if bar is not None:
                bar.close()
            if pointer is not None:
                complete = (summary is not None and summary.entries and not summary.limited
                            and not summary.changed_while_read)
                pointer.finish(summary if complete else None)
    app.run_counts = {k: getattr(summary, k) for k in ('entries', 'new', 'updated', 'malformed')}
    if summary.entries == 0:
        # A refusal: one line, no summary, exit 2; nothing stored (no line was
        # read, so none is marked gone; the pointer was never begun).
        if summary.changed_while_read:
            raise PlaylistError(f'the playlist {path} changed while it was read (another program writing '
                                'it in place?) before any entry was read; nothing in the database was '
                                'changed; run it again')
        raise PlaylistError(f'no playlist entries in {path}: {no_entries_reason(head, playlist.size, summary)}'
                            '; nothing in the database was changed')
    if args.json:
        app.console.json(summary.as_dict(), sort_keys=True)
    else:
        print_ingest_summary(app, summary)
    if summary.changed_while_read:
        # Bad input of a kind: the file was not one playlist from start to end
        # (trial-17a F1). Incomplete, so the next run reads the file again.
        kept = ('nothing was written, no line counted as gone; run it again' if args.dry_run else
                'the lines read are stored, none marked gone; run process again')
        app.console.error(f'the playlist {path} changed while it was read (another program writing it '
                          f'in place?): {kept}')
        return EXIT_USAGE
    bom = byte_order_mark(head)
    if bom is not None and bom[1] != 'UTF-8':     # said once it was read (a refusal is one line)
        log.info('%s is %s (it starts with a byte order mark): read as such', path, bom[1])
    if summary.header_missing:
        log.warning('%s has no #EXTM3U header; parsed it anyway', path)
    return EXIT_OK


@dataclasses.dataclass
class ArrRunSummary:
    """What a radarr/sonarr run did with each item the app lists as missing:
    downloaded, failed, or skipped for a named reason (``skipped``: reason -> count)."""
    missing: int = 0
    matched: int = 0
    planned: int = 0
    downloaded: int = 0
    failed: int = 0
    skipped: dict = dataclasses.field(default_factory=collections.Counter)
    resumed: int = 0
    looked_up: int = 0            # lookups asked of the app (not from the cache)
    panel_calls: int = 0          # get_series_info / get_vod_info asked of the panel
    probed: int = 0               # file headers read

    def skip(self, label: str, reason: str, detail: str = '', count: int = 1) -> None:
        """Count a skipped item (``count``: the episodes of a multi-episode file);
        -v names it, its reason and the detail."""
        self.skipped[reason] += count
        log.debug('%s: skipped, %s%s', label, reason, f' ({detail})' if detail else '')

    def line(self, service: str) -> str:
        """``radarr: missing 12, matched 9, downloaded 2, failed 0, skipped 10 (not
        available yet 1, …)``: every count is "words N", reasons in SKIP_REASONS order."""
        order = {reason: i for i, reason in enumerate(SKIP_REASONS)}
        reasons = sorted((item for item in self.skipped.items() if item[1]),
                         key=lambda item: (order.get(item[0], len(order)), item[0]))
        text = (f'{service}: missing {self.missing}, matched {self.matched}, downloaded '
                f'{self.downloaded}, failed {self.failed}, skipped {sum(self.skipped.values())}')
        if reasons:
            text += ' (' + ', '.join(f'{reason} {n}' for reason, n in reasons) + ')'
        for words, n in (('resumed', self.resumed), ('looked up', self.looked_up),
                         ('asked the panel', self.panel_calls), ('probed', self.probed)):
            text += f', {words} {n}' if n else ''
        return text


class _HostSlots(threading.Semaphore):
    """A host's transfer slots; a worker waiting for one ends its wait at the
    run's stop (RUN_STOP), raising Interrupted, instead of when a slot frees."""

    def __enter__(self):
        while not self.acquire(timeout=SQLITE_LOCK_SLICE):
            RUN_STOP.check()
        if RUN_STOP.requested():
            self.release()
            RUN_STOP.check()
        return self


class HostLimiter:
    """At most N transfers per host: IPTV accounts allow one stream at a time and
    answer a second with 551 or a cut connection. Every download of a run's
    workers takes its host's slot in Downloader.run (Workers.downloader), so no
    path that downloads can leave it out; the header probe takes it itself."""

    def __init__(self, per_host: int):
        self.per_host = per_host
        self._lock = threading.Lock()
        self._sems = {}
        self._caps = {}          # host -> a lower cap (cap())

    def __call__(self, url: str) -> threading.Semaphore:
        try:
            host = self._host(url)
        except ValueError:      # not a URL: the download will fail on its own
            host = ('', '', None)
        with self._lock:
            return self._sems.setdefault(host, _HostSlots(self._caps.get(host, self.per_host)))

    @staticmethod
    def _host(url: str) -> tuple:
        """(scheme, host, port): the host as the provider sees it, so every
        spelling of one counts against one cap: the scheme's default port when
        none is given (http://h/ is http://h:80/), host names in lower case
        without a final dot, an IPv6 address in one form ([::1] is
        [0:0::1]). ValueError for a port that is no number."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or '').rstrip('.')
        with contextlib.suppress(ValueError):
            host = ipaddress.ip_address(host).compressed
        return scheme, host, parts.port or _DEFAULT_PORTS.get(scheme)

    def cap(self, url: str, limit: int) -> None:
        """At most ``limit`` transfers to the host of ``url`` when that is fewer than
        ``per_host`` (an Xtream account's max_connections). Before the first transfer."""
        with self._lock:
            host = self._host(url)
            self._caps[host] = min(limit, self._caps.get(host, self.per_host))
            self._sems.pop(host, None)

    def limit_of(self, url: str) -> int:
        with self._lock:
            return self._caps.get(self._host(url), self.per_host)


class Workers:
    """Parallel downloads for one run: a Downloader (and lease owner) per
    thread and the per-host cap; the run's stop (RUN_STOP) ends them."""

    def __init__(self, app: App, parallel: int | None = None):
        cfg = app.cfg
        self.app = app
        self.settings = app.download_settings()
        self.parallel = parallel if parallel is not None else cfg.getnumber('downloads', 'max_parallel')
        self.limiter = HostLimiter(cfg.getnumber('downloads', 'max_connections_per_host'))
        self.owner = make_owner_id()
        self._local = threading.local()
        self._count = itertools.count(1)

    def downloader(self) -> Downloader:
        d = getattr(self._local, 'downloader', None)
        if d is None:
            s = self.settings
            # One owner per worker thread, so two threads never share a lease.
            state = StateManager(s.lock_timeout, s.max_retry_attempts,
                                 owner=f'{self.owner}-t{next(self._count)}')
            d = self._local.downloader = Downloader(s, state, self.app.progress_hooks(),
                                                    host_slot=self.limiter)
        return d

    def map(self, fn, items):
        """Yield fn(item) results as they complete; on a signal (or an error the
        main thread leaves with), stop every worker (RUN_STOP) and wait for them:
        each ends its waits at once and pauses its transfer."""
        import concurrent.futures   # here: only runs with parallel downloads import it
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.parallel,
                                                   thread_name_prefix='stalkeer-dl') as pool:
            futures = [pool.submit(fn, item) for item in items]
            try:
                for future in concurrent.futures.as_completed(futures):
                    yield future.result()
            except BaseException:
                # Inside the with: leaving it waits for the workers, so they must
                # be told first. They pause their downloads and release their locks;
                # queued items never start.
                RUN_STOP.request()
                for future in futures:
                    future.cancel()
                raise


class ArrRun:
    """One `radarr` or `sonarr` run: ask what is missing, match, download, rescan."""

    def __init__(self, app: App, service: str):
        self.app = app
        self.args = app.args
        self.service = service
        self.settings = ArrSettings.from_config(app.cfg, service)
        self.quality = QualitySettings.from_config(app.cfg)
        self.tolerance = RuntimeTolerance.from_config(app.cfg)
        self.workers = Workers(app, self.args.parallel)
        self.state = StateManager(self.workers.settings.lock_timeout,
                                  self.workers.settings.max_retry_attempts)
        self.client = (RadarrClient if service == 'radarr' else SonarrClient)(self.settings)
        self.rescans = Rescanner(app, self.settings.rescan and not self.args.no_rescan,
                                 {service: self.client})
        self.summary = ArrRunSummary()
        # A dry run plans fast: it reads no file header unless asked (--probe).
        self.probing = app.cfg.getbool('matching', 'probe') and (
            not self.args.dry_run or getattr(self.args, 'probe', False))
        self.probes: dict[int, MediaInfo] = {}      # line id -> what its header said
        self._probe_lock = threading.Lock()
        self._bad_destinations = {}
        # Downloads this run skipped because they gave up: as resume-downloads,
        # the run names them and fails (exit 1) until `stalkeer retry ID`.
        self.gave_up_ids = []
        self.panel: XtreamClient | None = None      # open_panel()

    def open_panel(self, write: bool) -> None:
        """The Xtream panel of this run, when one is configured ([xtream], or a
        get.php [m3u] url) and not disabled: its account is asked once (kept for
        `status` unless ``write`` is false), a run warns when it expires within 7
        days or is not Active, and its ``max_connections`` caps the transfers to
        its host unless [downloads] max_connections_per_host is lower. A panel
        that does not answer is a warning: the run goes on with the lines stored."""
        settings = XtreamSettings.from_config(self.app.cfg)
        if not settings.configured:
            return
        client = XtreamClient(settings, user_agent=self.workers.settings.user_agent)
        try:
            account = client.account()
        except PanelError as exc:
            if write and isinstance(exc, PanelRefused):
                keep_refusal(settings, exc)
            log.warning('%s; this run uses the lines already stored', exc)
            # ... and the account's limit stored beside them (trial-16b F5), where
            # there is a database: a first --dry-run opens none (trial-16b N2).
            stored = None
            if db_proxy.obj is not None:
                with contextlib.suppress(peewee.DatabaseError):
                    stored = (PanelAccount.select(PanelAccount.max_connections)
                              .where(PanelAccount.panel == settings.panel).scalar())
            self._cap_panel(client, settings, stored)
            return
        if write:
            store_panel_account(settings.panel, account)
        announce_account(self.app, client, account)
        self._cap_panel(client, settings, account.max_connections)
        self.panel = client

    def _cap_panel(self, client, settings, max_connections: int | None) -> None:
        """Cap the transfers to the panel's host at the account's max_connections
        (0/None: no cap) when [downloads] max_connections_per_host is higher."""
        limiter = self.workers.limiter
        if max_connections and max_connections < limiter.limit_of(settings.url):
            limiter.cap(settings.url, max_connections)
            log.info('%s: at most %d transfer(s) at a time, the account\'s max_connections',
                     client.where, max_connections)

    # -- planning ----------------------------------------------------------------
    def wanted(self, can_read_db: bool) -> list[WantedItem]:
        """The missing items with candidates, best first; every other one is
        counted in the summary under the reason it was left out."""
        lookups = TitleLookups.from_config(self.app.cfg, self.client, self.service,
                                           write=not self.args.dry_run, use_cache=can_read_db)
        details = PanelDetails(self.panel) if self.panel is not None and can_read_db \
            and not self.args.dry_run else None
        if self.service == 'radarr':
            movies = self.client.missing_movies()
            self.summary.missing = len(movies)
            if self.settings.require_available:
                # wanted/missing does not filter on it: unreleased films are not hunted.
                for m in movies:
                    if not m.get('isAvailable', True):
                        self.summary.skip(movie_label(m), SKIP_NOT_AVAILABLE,
                                          "Radarr's isAvailable is false; [radarr] require_available")
                movies = [m for m in movies if m.get('isAvailable', True)]
            if details is not None:
                details.movie_details(movies)
            matches = match_movies(movies, self._library_keys, lookups) if can_read_db else {}
            items = [WantedItem('radarr', m['id'], None, movie_label(m),
                                self._destination(movie_destination, m), match=matches.get(m['id']),
                                runtime=_int_or_none(m.get('runtime')))
                     for m in movies]
        else:
            episodes = self.client.missing_episodes(self.args.series_id)
            self.summary.missing = len(episodes)
            # Oldest first, so --limit fills a season in order.
            episodes.sort(key=episode_order)
            if details is not None:
                details.series_episodes(list({ep.get('seriesId'): ep.get('series') or {}
                                              for ep in episodes}.values()))
            matches = match_episodes(episodes, self._series_keys, lookups) if can_read_db else {}
            self._air_dates_shared(matches, episodes)
            items = [WantedItem('sonarr', ep['id'], ep.get('seriesId'), episode_label(ep),
                                self._destination(episode_destination, ep), match=matches.get(ep['id']),
                                runtime=_int_or_none(ep.get('runtime'))
                                or _int_or_none((ep.get('series') or {}).get('runtime')))
                     for ep in episodes]
            if can_read_db:
                items = self._multi_episodes(items, episodes)
        self.summary.looked_up = lookups.requests
        self.summary.panel_calls = details.calls if details is not None else 0
        if can_read_db:
            self._load_probes({line.id for item in items if item.match for line in item.match.lines})
        verbose = log.isEnabledFor(logging.DEBUG)
        unmatched = []
        for item in items:
            item.error = self._bad_destinations.get(item.item_id, '')
            match = item.match or Match()
            if verbose:
                self._explain(item, match)
            lines = [line for line in match.lines if self.quality.allows(line)]
            if verbose:
                for line in match.lines:
                    if line not in lines:
                        log.debug('%s: line #%d %r: refused, its languages (%s) are not in '
                                  '[quality] languages (languages_only)', item.label, line.id,
                                  line.display_title, line.languages or 'none')
            if match.lines and not lines:
                item.reason = SKIP_LANGUAGES
                self.summary.skip(item.label, SKIP_LANGUAGES, '[quality] languages_only: ' + ', '.join(
                    sorted({line.languages or '?' for line in match.lines})), item.count)
            elif not match.lines:
                reason, detail = match.skip_reason() if can_read_db else \
                    (SKIP_NOT_IN_PLAYLIST, 'no playlist in the database yet')
                item.reason = reason
                self.summary.skip(item.label, reason, detail, item.count)
                unmatched.append(item)
            item.candidates = sorted(lines, key=self._rank)
            if item.candidates:
                best = item.candidates[0]
                log.debug('%s: %d candidate(s), best %r (%s)', item.label, len(item.candidates),
                          best.display_title, self._resolution(best) or '?')
                if verbose and len(item.candidates) > 1:
                    log.debug('%s: in order of preference ([quality] languages, then preference): %s',
                              item.label, first_of((f'{line.display_title!r} [{line.languages or "-"}, '
                                                    f'{self._resolution(line) or "unknown"}]'
                                                    for line in item.candidates), 8, '; '))
        if verbose and can_read_db and unmatched:
            self._near_misses(unmatched)
        matched = [item for item in items if item.candidates]
        self.summary.matched = sum(item.count for item in matched)
        return matched

    def _air_dates_shared(self, matches: dict, episodes: list) -> None:
        """Refuse an air-date line taken for an episode when another episode of the
        series aired that day too: one with a file or not monitored, which
        wanted/missing does not list (match_episodes already refuses a date two
        wanted episodes share). One GET /api/v3/episode?seriesId= per series that
        has such a line (rare: most lines number their episodes). trial-1213 F2."""
        by_id = {ep['id']: ep for ep in episodes}
        known: dict = {}
        for eid, match in matches.items():
            for line in [x for x in match.lines if x.air_date]:
                sid, date = by_id[eid].get('seriesId'), _air_date(line.air_date)
                if sid not in known:
                    try:
                        known[sid] = self.client.series_episodes(sid)
                    except ArrError as exc:
                        log.warning('could not read the episodes of series %s from %s: %s', sid,
                                    self.client.name, exc)
                        known[sid] = None
                if known[sid] is None:
                    match.refuse(line, f'air date {date}: could not ask Sonarr which episodes aired '
                                       'that day', SKIP_LOOKUP_LATER)
                    continue
                same = sorted(f'S{e.get("seasonNumber") or 0:02d}E{e.get("episodeNumber") or 0:02d}'
                              for e in known[sid] if _air_date(e.get('airDate')) == date)
                if len(same) > 1:
                    match.refuse(line, f'air date {date} is {" and ".join(same)}: cannot say which')

    def _multi_episodes(self, items: list, episodes: list) -> list:
        """One item per multi-episode file. A line 'S01E01-E02' taken for each episode
        it holds fills them all with one download ('… - S01E01-E02.mkv'); it is left
        out when one of its episodes is not missing (it would bring that one again),
        or when every episode has a line of its own (one file each, as Sonarr names
        them). Items grouped by an earlier range keep out of later ones."""
        at = {(ep.get('seriesId'), ep.get('seasonNumber'), ep.get('episodeNumber')): i
              for i, ep in enumerate(episodes)}
        ranges = sorted({(ep.get('seriesId'), line.season, line.episode, line.episode_end)
                         for ep, item in zip(episodes, items) if item.match
                         for line in item.match.lines
                         if line.episode_end and line.season is not None
                         and line.episode_end > line.episode})
        grouped, groups = set(), {}
        for series_id, season, first, last in ranges:
            numbers = range(first, last + 1)
            members = [at.get((series_id, season, n)) for n in numbers]
            holders = [i for i in members if i is not None]
            span = f'S{season:02d}E{first:02d}-E{last:02d}'

            def refuse(why):
                for i in holders:
                    for line in list(items[i].match.lines):
                        if (line.season, line.episode, line.episode_end) == (season, first, last):
                            items[i].match.refuse(line, why)
            absent = [n for n, i in zip(numbers, members) if i is None]
            if absent:
                refuse(f'{span}: it also holds E{absent[0]:02d}, which Sonarr does not list as '
                       'missing (it has a file, is not monitored, or does not exist)')
                continue
            if all(any(not line.episode_end or line.episode_end == line.episode
                       for line in items[i].match.lines) for i in members):
                refuse(f'{span}: every episode it holds has a line of its own')
                continue
            if grouped & set(members):
                refuse(f'{span}: one of its episodes is already in another multi-episode file')
                continue
            grouped |= set(members)
            groups[members[0]] = members
        out = []
        for i, item in enumerate(items):
            if i in groups:
                out.append(self._episode_group([items[j] for j in groups[i]],
                                               [episodes[j] for j in groups[i]]))
            elif i not in grouped:
                out.append(item)
        return out

    def _episode_group(self, members: list, episodes: list) -> WantedItem:
        """The item of a multi-episode file: the first episode's, filling them all."""
        first, last = episodes[0], episodes[-1]
        span = (first.get('seasonNumber'), first.get('episodeNumber'), last.get('episodeNumber'))
        lines = [line for line in members[0].match.lines
                 if (line.season, line.episode, line.episode_end) == span]
        match = Match(lines=lines, keys=members[0].match.keys, verdicts=[
            Verdict(line, True, f'one file for {len(members)} episodes') for line in lines])
        label = f'{members[0].label}-E{span[2]:02d}'
        destination = self._destination(
            lambda ep, settings: episode_destination(ep, settings, last=span[2]), first)
        runtimes = [item.runtime for item in members]
        return WantedItem('sonarr', first['id'], first.get('seriesId'), label, destination,
                          match=match, runtime=sum(runtimes) if all(runtimes) else None,
                          item_ids=tuple(ep['id'] for ep in episodes))

    def _explain(self, item: WantedItem, match: Match) -> None:
        """-v: every line considered for the item, and why it was taken or refused."""
        for v in match.verdicts:
            log.debug('%s: line #%d %r: %s, %s', item.label, v.line.id, v.line.display_title,
                      'taken' if v.taken else 'refused', v.why)

    def _near_misses(self, items: list) -> None:
        """-v: lines close to an unmatched item (its title with one word less, or one
        year off with no date to prove it), so a user can add an alternate title."""
        found = near_misses('movies' if self.service == 'radarr' else 'tvshows',
                            {item.item_id: item.match.keys for item in items if item.match},
                            years={item.item_id: item.match.year for item in items if item.match})
        for item in items:
            verdicts = item.match.verdicts if item.match else ()
            off = [f'{v.line.display_title!r} ({v.why})' for v in verdicts
                   if v.reason == SKIP_OTHER_YEARS and 'one off' in v.why]
            if off:     # the title is the same already: an alternate title cannot help
                log.debug("%s: near misses one year off (if one is it, check %s's release dates "
                          'for the %s): %s', item.label, self.client.name,
                          'film' if self.service == 'radarr' else 'series', first_of(off, 8, '; '))
            close = [repr(line.display_title) for line in found.get(item.item_id, ())]
            if close:
                log.debug('%s: near misses (if one is it, add its title in %s as an alternate '
                          'title): %s', item.label, self.client.name, first_of(close, 5, '; '))

    def _destination(self, destination, record: dict) -> str:
        """``destination(record, settings)``; a destination that would leave the
        library fails that item only (kept in _bad_destinations, by item id)."""
        try:
            return destination(record, self.settings)
        except DestinationError as exc:
            self._bad_destinations[record.get('id')] = str(exc)
            return ''

    def _library_keys(self) -> collections.Counter:
        if not hasattr(self, '_keys_counter'):
            counter = collections.Counter()
            for movie in self.client.library():
                counter.update(movie_keys(movie)[1])
            self._keys_counter = counter
        return self._keys_counter

    def _series_keys(self) -> collections.Counter:
        if not hasattr(self, '_series_counter'):
            counter = collections.Counter()
            for series in self.client.all_series().values():
                counter.update(TitleFacts.of_series(series).keys)
            self._series_counter = counter
        return self._series_counter

    def _resolution(self, line) -> str | None:
        """The line's resolution: measured when its header was read, else its label."""
        info = self.probes.get(line.id)
        return info.resolution if info is not None and info.resolution else line.resolution

    def _rank(self, line) -> tuple:
        resolution = self._resolution(line)
        return self.quality.rank(line if resolution == line.resolution
                                 else line._replace(resolution=resolution))

    def skip_reasons(self, items: list[WantedItem]) -> dict:
        """item id -> (reason, detail) for the items already downloaded (unless
        --force), being downloaded by another instance, or whose download gave up
        (no retry can fix it, or its retries are used up: the rows resume-downloads
        does not resume either, StateManager.gave_up; --force or not): one query
        for the run."""
        DI, DIT = DownloadInfo, DownloadItem
        rows = collections.defaultdict(list)
        ids = sorted({i for item in items for i in item.item_ids or (item.item_id,)})
        # Gave up as no retry can fix it (Downloader._fail permanent), or after its
        # retries: both computed in SQL, the rule resume-downloads follows.
        fields = (DI.id, DI.service_item_id, DI.status, DI.download_path, DI.locked_by,
                  self.state.given_up_at_once(), self.state.gave_up(), DI.retry_count)
        # peewee writes the query once; the IN lists are written by hand: peewee
        # building them for 8,000 ids was ~5% of a 10k dry run (issue 15).
        head, params = DI.select(*fields).where(DI.service == self.service).sql()
        param = BulkWriter(db_proxy.obj).param
        for chunk in _chunks(ids, _SQL_IN_CHUNK):
            marks = ', '.join([param] * len(chunk))
            cursor = db_proxy.obj.execute_sql(
                f'{head} AND ("t1"."service_item_id" IN ({marks})) ORDER BY "t1"."id"', [*params, *chunk])
            for row in cursor.fetchall():
                rows[row[1]].append(row)
        if any(item.item_ids for item in items):         # episodes of multi-episode files
            for chunk in _chunks(ids, _SQL_IN_CHUNK):
                query = (DI.select(DIT.item_id, *fields[2:], DI.id).join(DIT, on=(DIT.download_info == DI.id))
                         .where((DIT.service == self.service) & DIT.item_id.in_(chunk)).tuples())
                for item_id, *values, row_id in query:
                    rows[item_id].append((row_id, item_id, *values))
        reasons = {}
        for item in items:
            for row_id, _, status, path, locked_by, gave_up_row, used_up, retries in (
                    row for i in item.item_ids or (item.item_id,) for row in rows.get(i, ())):
                if status == COMPLETED and not self.args.force and path and os.path.exists(path):
                    reasons[item.item_id] = (SKIP_DONE, path)
                    break
                if locked_by and not locked_by.startswith(self.workers.owner) \
                        and self.state.is_live(row_id):
                    reasons[item.item_id] = (SKIP_HELD, f'being downloaded by {locked_by}')
                    break
                if gave_up_row:
                    reasons[item.item_id] = (SKIP_NEEDS_ATTENTION, f'download #{row_id} gave up, '
                                             f'{PERMANENT_MARK} (`stalkeer status --failed`); '
                                             f'`stalkeer retry {row_id}` once it is put right')
                    self.gave_up_ids.append(row_id)
                    break
                if used_up:
                    reasons[item.item_id] = (SKIP_RETRIES_USED_UP, retries_used_up_text(row_id, retries))
                    self.gave_up_ids.append(row_id)
                    break
        return reasons

    # -- the runtime check ---------------------------------------------------------
    def _load_probes(self, line_ids) -> None:
        """What earlier runs measured of these lines (one query per 900)."""
        # Hand-written SQL: peewee building the IN lists of 10,000 ids was ~14% of a
        # 10k-item dry run (issue 15, bench/RESULTS.md). FloatField's coercion kept.
        try:
            for line_id, seconds, *rest in BulkWriter(db_proxy.obj).select_in(
                    'SELECT "line_id", "duration_seconds", "width", "height", "container", "note" '
                    'FROM "line_probes"', 'line_id', sorted(line_ids)):
                self.probes[line_id] = MediaInfo(None if seconds is None else float(seconds), *rest)
        except peewee.PeeweeException:      # a dry run on a database older than the table
            _after_failed_read()

    def probe(self, line) -> MediaInfo:
        """The header of the line's file: read once (under the per-host cap), kept in
        line_probes (not in a dry run)."""
        info = self.probes.get(line.id)
        if info is not None:
            return info
        s = self.workers.settings
        with self.workers.limiter(line.url), stoppable_request():
            info = probe_media(self.workers.downloader().session, line.url,
                               (s.connect_timeout, s.read_timeout))
        RUN_STOP.check()        # a read the stop cut says nothing of the file: not kept
        with self._probe_lock:
            self.probes[line.id] = info
            self.summary.probed += 1
        log.debug('read the header of line #%d %r: %s', line.id, line.display_title, describe_media(info))
        if not self.args.dry_run:
            store_probe(line.id, info)
        return info

    def candidates(self, item: WantedItem) -> Iterator:
        """The item's candidates best first, each once it passes the runtime check.
        A line's header may show another resolution than its label (a "4K" that is
        1080p): it then takes its real place in the order."""
        queue = list(item.candidates)
        while queue:
            line = queue.pop(0)
            twins = item.match.probe_of(line.id) if item.match else None
            if twins is not None and (self.probing or twins):
                if not self.probing:
                    item.reason, item.detail = SKIP_RUNTIME, \
                        'only its runtime could tell it from another film, and probing is off'
                    log.debug('%s: line #%d %r: refused, %s', item.label, line.id,
                              line.display_title, item.detail)
                    continue
                info = self.probe(line)
                ok, why = judge_runtime(info, item.runtime, twins, self.tolerance)
                log.debug('%s: line #%d %r: %s, %s', item.label, line.id, line.display_title,
                          'refused' if not ok else 'runtime fits' if info.duration is not None
                          and item.runtime else 'runtime not checked', why)
                if not ok:
                    item.reason, item.detail = SKIP_RUNTIME, why
                    continue
                if queue and self._rank(queue[0]) < self._rank(line):
                    queue.append(line)
                    queue.sort(key=self._rank)
                    continue
            yield line

    def choose(self, item: WantedItem):
        """The candidate a download would start with (for --dry-run)."""
        return next(iter(self.candidates(item)), None)

    # -- doing -------------------------------------------------------------------
    def fetch(self, item: WantedItem) -> DownloadResult | None:
        """Try the candidates in order of preference; the next one after a failure.
        None when the runtime check refused every one (item.reason says why).
        Whatever goes wrong fails this item only."""
        try:
            return self._fetch(item)
        except Exception as exc:
            message = f'unexpected error: {exc.__class__.__name__}: {first_line(exc)}'
            log.debug('%s: %s', item.label, message, exc_info=True)   # printed by run_arr
            return DownloadResult('failed', None, f'{item.label}: {message}')

    def _fetch(self, item: WantedItem) -> DownloadResult | None:
        result = failed = None
        for line in self.candidates(item):
            # Under the per-host cap: Downloader.run takes the host's slot.
            result = self.workers.downloader().download(
                line.url, item.destination, title=item.label, processed_line_id=line.id,
                force=self.args.force, service=item.service, item_id=item.item_id,
                parent_id=item.parent_id, library_root=library_root(item.destination, item.service))
            if len(item.item_ids) > 1 and result.download_id is not None:
                link_items(result.download_id, item.service, item.item_ids[1:])
            if result.gave_up and failed is not None:
                result = failed     # this run's failure used up the item's last retry: say it
                break
            if result.status in ('completed', 'skipped'):
                break
            failed = result
            log.warning('%s: candidate %r failed: %s', item.label, line.display_title, result.message)
        if result is not None and result.status == 'completed':
            self.rescans.add(item.service, item.item_id, item.parent_id, item.label,
                             result.download_id)
        return result

    def resume_first(self) -> None:
        """--resume: incomplete downloads of this service before new ones."""
        counts = resume_downloads(self.app, self.workers, self.rescans, service=self.service)
        self.summary.resumed = sum(n for key, n in counts.items() if key != 'gave up')
        self.summary.downloaded += counts['completed']
        self.summary.failed += counts['failed'] + counts['lost'] + counts['paused'] \
            + counts.get('gave up', 0)


def episode_order(ep: dict) -> tuple:
    """Series by title, then season and episode ascending: oldest first."""
    series = ep.get('series') or {}
    return ((series.get('sortTitle') or series.get('title') or '').casefold(), ep.get('seriesId') or 0,
            ep.get('seasonNumber') or 0, ep.get('episodeNumber') or 0)


def episode_label(ep: dict) -> str:
    return (f'{clip((ep.get("series") or {}).get("title"))} - '
            f'S{ep.get("seasonNumber", 0):02d}E{ep.get("episodeNumber", 0):02d}')


def link_items(download_id: int, service: str, item_ids) -> None:
    """Record the further items a download fills (DownloadItem); idempotent."""
    rows = [{'download_info': download_id, 'service': service, 'item_id': i} for i in item_ids]
    DownloadItem.insert_many(rows).on_conflict_ignore().execute()


def describe_media(info: MediaInfo) -> str:
    """'matroska, 1h45m, 1920x800 (1080p)' / 'duration unknown (HTTP 404)'."""
    parts = [info.container or 'unknown container']
    parts.append(format_duration(info.duration) if info.duration is not None
                 else f'duration unknown ({info.note or "?"})')
    if info.width and info.height:
        parts.append(f'{info.width}x{info.height} ({info.resolution})')
    return ', '.join(parts)


def store_probe(line_id: int, info: MediaInfo) -> None:
    """Keep what a probe measured (line_probes); a failure here is only a warning."""
    LP = LineProbe
    values = dict(duration_seconds=info.duration, width=info.width, height=info.height,
                  resolution=info.resolution, container=info.container, note=info.note or None,
                  probed_at=utcnow())
    try:
        (LP.insert(line=line_id, **values)
         .on_conflict(conflict_target=[LP.line], update={getattr(LP, k): v for k, v in values.items()})
         .execute())
    except peewee.PeeweeException as exc:
        log.warning('could not record the probe of line #%d: %s', line_id, first_line(exc))


def run_arr(app: App, service: str) -> int:
    run = ArrRun(app, service)
    args, console = app.args, app.console
    if args.dry_run:
        if args.resume:
            raise StalkeerError('--dry-run cannot be combined with --resume')
        can_read_db = _readable_db(app)
    else:
        app.open_db()
        can_read_db = True
    run.open_panel(write=not args.dry_run)
    if not args.dry_run:
        run.rescans.add_pending(service, run.workers.settings.lock_timeout)
        if args.resume:
            run.resume_first()
    # 20,000 records and what is known of each: ~10% of a 10k dry run was the
    # collector walking them (issue 15, bench/RESULTS.md).
    with collector_paused():
        items = run.wanted(can_read_db)
    # Not "not in the playlist" for everything: a step of the first run was skipped
    # (a dry run before any database exists included).
    if run.summary.missing and (not can_read_db or not ProcessedLine.select().limit(1).exists()):
        raise PlaylistNotRead()
    if run.summary.missing:         # "not in the playlist" may then be "not stored yet"
        incomplete_import_note(app)
    skips = run.skip_reasons(items) if can_read_db else {}
    plan = []
    for item in items:
        if item.error:
            # Failed like a download (stdout, webhook); no row: nothing was started.
            run.summary.failed += item.count
            console.out(f'failed: {item.label}: {item.error}', always=True)
            if app.notifier is not None and not args.dry_run:
                app.notifier.download_failed(None, item.label, None, item.error)
            continue
        if item.item_id in skips:
            run.summary.skip(item.label, *skips[item.item_id], item.count)
            continue
        plan.append(item)
    if args.limit is not None:
        for item in plan[args.limit:]:
            run.summary.skip(item.label, SKIP_LIMIT, f'--limit {args.limit}', item.count)
        plan = plan[:args.limit]
    run.summary.planned = len(plan)
    if args.dry_run:
        would = 0
        for item in plan:
            best = run.choose(item)
            if best is None:
                run.summary.skip(item.label, item.reason, item.detail, item.count)
                continue
            would += 1
            ext = '' if has_media_extension(item.destination) else detect_extension(best.url)
            console.out(f'{item.label}: {best.display_title} [{run._resolution(best) or "unknown"}] '
                        f'{redact_url(best.url)} -> {item.destination}{ext}', always=True)
        console.out(run.summary.line(service) + f', would download {would} (dry run)', always=True)
        return EXIT_OK
    if plan and app.progress is not None:
        app.progress.begin(service, len(plan))
    try:
        for item, result in run.workers.map(lambda item: (item, run.fetch(item)), plan):
            if result is None:
                run.summary.skip(item.label, item.reason, item.detail, item.count)
                if app.progress is not None:
                    app.progress.item_done(DownloadResult('skipped', None, item.detail))
                continue
            report_result(app, result)
            if result.status == 'completed':
                run.summary.downloaded += item.count
            elif result.status == 'skipped':
                # Taken or finished by another instance since the plan was made.
                run.summary.skip(item.label, skip_reason_of(result), result.message, item.count)
                if result.gave_up and result.download_id is not None:
                    run.gave_up_ids.append(result.download_id)
            else:
                run.summary.failed += item.count
    finally:
        if not args.dry_run:
            run.rescans.flush()
    console.out(run.summary.line(service), always=True)
    if run.gave_up_ids:
        # Named with the way out on every run, as resume-downloads names them, so
        # the summary's count is not all a user sees without -v. Still exit 0: like
        # every skip, it is no failure of this run; the run that gave up failed
        # (exit 1, a notification), and failing again every 30 minutes of cron until
        # someone acts only repeats that mail (trial F10; README, Exit codes).
        console.out(given_up_line(sorted(set(run.gave_up_ids))), always=True)
    app.run_counts = dict(dataclasses.asdict(run.summary), skipped=sum(run.summary.skipped.values()),
                          skip_reasons=dict(run.summary.skipped))
    return EXIT_FAILED if run.summary.failed else EXIT_OK


def skip_reason_of(result: DownloadResult) -> str:
    """The summary's reason for an item the download itself skipped, having
    found something the plan did not (another instance took, finished or gave
    up its download since)."""
    if result.gave_up:
        return SKIP_NEEDS_ATTENTION if PERMANENT_MARK in result.message else SKIP_RETRIES_USED_UP
    return SKIP_HELD if result.held else SKIP_DONE


def cmd_radarr(app: App) -> int:
    """Download the movies Radarr is missing."""
    return run_arr(app, 'radarr')


def cmd_sonarr(app: App) -> int:
    """Download the episodes Sonarr is missing."""
    return run_arr(app, 'sonarr')


def cmd_m3u_download(app: App) -> int:
    """Fetch the provider's playlist, replace the local copy, archive it."""
    result = PlaylistFetcher(PlaylistSettings.from_config(app.cfg)).fetch(
        app.args.url, archive=not app.args.no_archive)
    app.console.out(f'playlist saved: {result.path} ({human_bytes(result.size)} in '
                    f'{result.elapsed:.1f}s)', always=True)
    if result.archived:
        app.console.out(f'archived as {result.archived}')
    for path in result.removed_archives:
        app.console.out(f'removed old archive {path}')
    return EXIT_OK


def cmd_m3u_list_archives(app: App) -> int:
    """List the archived playlists in [m3u] archive_dir, newest first."""
    settings = PlaylistSettings.from_config(app.cfg)
    archives = list_archives(settings.archive_dir, settings.file_path)
    if not archives:
        app.console.out(f'no archived playlists in {settings.archive_dir}', always=True)
        return EXIT_OK
    for path, size, mtime in archives:
        when = dt.datetime.fromtimestamp(mtime, dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
        app.console.out(f'{when}  {human_bytes(size):>10}  {path}', always=True)
    return EXIT_OK


def cmd_m3u_cleanup_archives(app: App) -> int:
    """Delete archived playlists beyond the newest [m3u] retention_count."""
    settings = PlaylistSettings.from_config(app.cfg)
    keep = settings.retention_count if app.args.retention is None else app.args.retention
    removed = rotate_archives(settings.archive_dir, settings.file_path, keep)
    for path in removed:
        app.console.out(f'removed {path}')
    app.console.out(f'kept the {keep} newest archive(s), removed {len(removed)}', always=True)
    return EXIT_OK


def database_now() -> dt.datetime:
    """The database server's clock (UTC): heartbeat ages are measured against it."""
    if is_postgres(db_proxy):
        return db_proxy.obj.execute_sql("SELECT now() AT TIME ZONE 'UTC'").fetchone()[0]
    text = db_proxy.obj.execute_sql("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").fetchone()[0]
    return dt.datetime.fromisoformat(text)


# destination: planned_path(), the file the download becomes (or became), for
# every row; download_path only once it completed (a newcomer trial: a paused
# or failed row's JSON named no file, while its text did).
STATUS_JSON_FIELDS = ('id', 'status', 'url', 'download_path', 'destination', 'file_size',
                      'bytes_downloaded', 'total_bytes', 'retry_count', 'error_message', 'locked_by', 'started_at',
                      'completed_at', 'updated_at', 'title')


def _iso(value):
    """UTC timestamps as ISO 8601 with a Z, the same on both backends."""
    if isinstance(value, str):      # SQLite may hand back text for computed values
        return value
    return value.isoformat() + 'Z' if value else None


def row_title(info: DownloadInfo) -> str:
    """What a download is shown by (clipped). Learns the account in its URL
    first, so that it is masked by value in the row's error message too, even
    in a process that never read the playlist (status, serve)."""
    register_url_secrets(info.url)
    return clip(info.title or os.path.basename(info.destination))


def download_as_json(info: DownloadInfo) -> dict:
    """One row for ``status --json`` and /api/downloads (strings are redacted
    and clipped where the document is written: Console.json, _json_bytes)."""
    data = {}
    for name in STATUS_JSON_FIELDS:
        value = getattr(info, name)
        if name == 'destination':
            value = planned_path(info)
        elif name == 'url':
            register_url_secrets(value)     # first: error_message may hold the same account
            value = redact_url(value)
        elif name == 'title':
            value = clip(value) if value else value
        elif isinstance(value, dt.datetime):
            value = _iso(value)
        data[name] = value
    return data


def status_counts() -> dict:
    counts = dict.fromkeys(DOWNLOAD_STATUSES, 0)
    for status, n in (DownloadInfo.select(DownloadInfo.status, peewee.fn.COUNT(DownloadInfo.id))
                      .group_by(DownloadInfo.status).tuples()):
        counts[status] = n
    return counts


def _age(now, then) -> str:
    if not then:
        return '?'
    return format_duration(max(0.0, (now - then).total_seconds())) + ' ago'


def transfer_rate(info: DownloadInfo, now, live: bool = True) -> tuple[float | None, float | None]:
    """Speed of the current transfer session (bytes/s) and the ETA it gives (s).

    A session starts when a transfer starts or resumes (session_started_at,
    session_start_bytes); its speed runs to the last progress save (updated_at),
    so a pause before it never dilutes it. Only a downloading or retrying row
    has them, and an ETA only while its lease is ``live``."""
    if info.status not in (DOWNLOADING, RETRYING) or not info.session_started_at \
            or not info.updated_at:
        return None, None
    moved = (info.bytes_downloaded or 0) - (info.session_start_bytes or 0)
    elapsed = (info.updated_at - info.session_started_at).total_seconds()
    if moved <= 0 or elapsed <= 0:
        return None, None
    rate = moved / elapsed
    eta = None
    if live and info.total_bytes:
        since_save = max(0.0, (now - info.updated_at).total_seconds())
        eta = max(0.0, (info.total_bytes - info.bytes_downloaded) / rate - since_save)
    return rate, eta


def planned_path(info: DownloadInfo) -> str:
    """Where a download lands: its final file, or the destination with the
    extension its URL gives (a Content-Type may still change it)."""
    return info.download_path or Downloader._final_path(info, None)


def gave_up_text(info: DownloadInfo) -> str:
    """Why no run resumes it, with the command that would: a failure no retry
    can fix says so (its retry_count is the retries really made, often 0)."""
    if failed_for_good(info):
        return f'gave up: {PERMANENT_MARK} — once it is put right, run `stalkeer retry {info.id}`'
    return retries_used_up_text(info.id, info.retry_count)


def retries_used_up_text(download_id: int, retry_count: int) -> str:
    """The words of `status`, the page and a radarr/sonarr skip for a download
    whose retries are used up, with the command that tries it again."""
    return f'gave up after {retry_count} retries — run `stalkeer retry {download_id}`'


def _active_line(info: DownloadInfo, now, lock_timeout: float) -> str:
    pct = f'{info.percent:5.1f}%' if info.percent is not None else '    ?%'
    size = f'{human_bytes(info.bytes_downloaded)}/{human_bytes(info.total_bytes)}'
    rate, eta_seconds = transfer_rate(info, now, _live_lock(info, now, lock_timeout))
    speed = f'  at {human_bytes(rate)}/s' if rate is not None else ''
    eta = f'  ETA {format_duration(eta_seconds)}' if eta_seconds is not None else ''
    lock = f'  locked by {info.locked_by}, heartbeat {_age(now, info.locked_at)}' if info.locked_by else ''
    return f'  #{info.id} {row_title(info)}  {pct}  {size}{speed}{eta}{lock}'


STATUS_DEFAULT_LIMIT = 20


def status_query(status: str | None = None, active: bool = False, failed: bool = False):
    """Downloads, newest change first, with the filter of ``status`` (one at
    most: `status` and /api/downloads refuse more, one_of_problem)."""
    DI = DownloadInfo
    query = DI.select().order_by(DI.updated_at.desc(), DI.id.desc())
    if status:
        query = query.where(DI.status == status)
    elif active:
        query = query.where(DI.status.in_((DOWNLOADING, RETRYING)))
    elif failed:
        query = query.where(DI.status == FAILED)
    return query


def status_rows(status: str | None, active: bool, failed: bool, limit: int | None) -> tuple[list, int]:
    """(the downloads status_query selects, at most ``limit`` (None:
    STATUS_DEFAULT_LIMIT), the number it selects past them): the rows of
    `status --json` and of a filtered `status`, and their "… and N more"."""
    limit = limit or STATUS_DEFAULT_LIMIT
    query = status_query(status, active, failed)
    rows = list(query.limit(limit))
    return rows, (query.count() - limit if len(rows) == limit else 0)


def status_report(status: str | None = None, active: bool = False, failed: bool = False,
                  limit: int | None = None, panel: str | None = None) -> dict:
    """``{"summary": {status: count}, "downloads": [...], "imports": [...],
    "import_lock_problem", "account"}``: what ``status --json`` prints and
    ``serve`` answers on /api/downloads (URLs redacted); ``imports``:
    import_report(); ``import_lock_problem``: import_lock_problem();
    ``account``: account_report() of ``panel`` (panel_name()), null without
    one: the same keys whether the catalogue is a playlist's or a panel's."""
    rows, more = status_rows(status, active, failed, limit)
    return {'summary': status_counts(), 'downloads': [download_as_json(info) for info in rows],
            'more_downloads': more,
            'imports': import_report(), 'import_lock_problem': import_lock_problem(db_proxy.obj),
            'account': account_report(panel)}


def account_status_values(stored: str | None) -> tuple[str | None, str | None]:
    """A panel_accounts status as values: (the panel's user_info.status, or
    ``Refused``; why it was refused, ``auth_0``, ``http_401``, ``http_403``,
    else None). keep_refusal() stores a refusal as ``Refused (auth 0)``, the
    words `status` prints."""
    prefix = f'{REFUSED_STATUS} ('
    if stored and stored.startswith(prefix) and stored.endswith(')'):
        return REFUSED_STATUS, stored[len(prefix):-1].strip().lower().replace(' ', '_')
    return stored, None


def account_report(panel: str | None) -> dict | None:
    """The "account" of ``status --json`` and /api/downloads (None: no panel, or
    its account never read). ``status``: the panel's word, or ``Refused`` with
    ``refused_reason`` (account_status_values)."""
    account = PanelAccount.get_or_none(PanelAccount.panel == panel) if panel else None
    if account is None:
        return None
    status, refused_reason = account_status_values(account.status)
    return {'panel': account.panel, 'status': status, 'refused_reason': refused_reason,
            'exp_date': _iso(account.exp_date), 'is_trial': account.is_trial,
            'active_cons': account.active_cons, 'max_connections': account.max_connections,
            'checked_at': _iso(account.checked_at)}


def import_report() -> list[dict]:
    """The last import of each source (playlist_imports), for ``status`` and
    the page: ``{source, status: "completed"|"incomplete"|"running",
    started_at, completed_at, lines}``. After a killed or interrupted import
    nothing told that the stored playlist was partial, and `lines heat` looked
    like "the provider has no Heat" (trial-17a F6). An import that did not
    complete keeps ``line_count`` NULL (ImportPointer.begin); one that did keeps
    it, though a later import of another source clears its ``completed_at``.
    ``lines``: the entries it stored (completed only). One small query, and
    the import lock asked only when an import did not complete."""
    PI = PlaylistImport
    rows = list(PI.select(PI.source, PI.started_at, PI.completed_at, PI.line_count, PI.lines)
                .order_by(PI.source).dicts())
    running = None
    report = []
    for row in rows:
        status = 'completed'
        if row['line_count'] is None:
            if running is None:
                running = import_running_elsewhere(db_proxy.obj)
            status = 'running' if running else 'incomplete'
        report.append({'source': row['source'], 'status': status, 'started_at': _iso(row['started_at']),
                       'completed_at': _iso(row['completed_at']) if status == 'completed' else None,
                       'lines': row['lines'] if status == 'completed' else None})
    return report


def _utc_text(iso: str | None) -> str:
    return f'{iso[:10]} {iso[11:19]} UTC' if iso else '?'


def import_text(row: dict) -> str:
    """One line of ``status`` for an import_report() row."""
    what = 'playlist' if row['source'] == 'm3u' else f'{row["source"]} import'
    started = _utc_text(row['started_at'])
    if row['status'] == 'running':
        return f'{what}: an import is running (started {started})'
    if row['status'] == 'incomplete':
        whole = 'playlist' if row['source'] == 'm3u' else "panel's catalogue"     # trial-18b L3
        return (f'{what}: the last import did not complete (started {started}): the lines stored may be '
                f'only part of the {whole}; run `stalkeer process` again')
    if row['completed_at']:
        return f'{what}: last import completed {_utc_text(row["completed_at"])}, {row["lines"]} lines'
    return f'{what}: last import complete, {row["lines"]} lines (started {started})'


def incomplete_import_note(app: App) -> None:
    """One line on stderr when the stored playlist is only part of it (an
    import killed or interrupted, and none running): what `lines` finds, or
    does not, may be missing from the database rather than from the playlist."""
    try:
        report = import_report()
    except peewee.PeeweeException:      # a dry run on a database older than the table
        _after_failed_read()
        return
    for row in report:
        if row['status'] == 'incomplete':
            app.console.notice(import_text(row))


# Rows per list of `status` (None: all): what is moving and what went wrong
# stay on screen; --limit N sets every list to N.
STATUS_LIST_LIMITS = {'active': None, 'queued': 10, 'failures': 10, 'recent completions': 5}


def cmd_status(app: App) -> int:
    """Counts per status, then the active downloads (progress, speed and ETA of
    the current transfer, destination, lock), the queue, failures (those whose
    retries are used up say how to retry them) and the latest completions."""
    args = app.args
    # Each filter shows one list: a second one was dropped without a word.
    problem = one_of_problem({'--status': bool(args.status), '--active': args.active, '--failed': args.failed})
    if problem:
        raise StalkeerError(problem)
    app.open_db()
    DI = DownloadInfo
    settings = app.download_settings()
    panel = panel_name(app.cfg)
    account = PanelAccount.get_or_none(PanelAccount.panel == panel) if panel else None
    if args.json:
        app.console.json(status_report(args.status, args.active, args.failed,
                                       args.limit or STATUS_DEFAULT_LIMIT, panel))
        return EXIT_OK
    counts = status_counts()
    out = lambda text: app.console.out(text, always=True)  # noqa: E731
    now = database_now()
    active_line = lambda i: _active_line(i, now, settings.lock_timeout)  # noqa: E731

    def failure_line(i):
        why = gave_up_text(i) if row_gave_up(i, settings.max_retry_attempts) else f'retries {i.retry_count}'
        return f'  #{i.id} {row_title(i)}: {clip(i.error_message)} ' \
               f'({why}, {_age(now, i.updated_at)})'

    out('downloads: ' + ', '.join(f'{n} {s}' for s, n in counts.items() if n) if any(counts.values())
        else 'downloads: none yet')
    if account is not None:
        out(f'account: {account_text(account, now)}')
    for row in import_report():
        out(import_text(row))
    lock_problem = import_lock_problem(app.db)
    if lock_problem:
        out(lock_problem)
    if args.status or args.active or args.failed:
        rows, more = status_rows(args.status, args.active, args.failed, args.limit)
        for info in rows:
            line = failure_line(info) if info.status == FAILED else active_line(info) + (
                f'  error: {clip(info.error_message)}' if info.error_message else '')
            out(line)
        if more > 0:            # cut at --limit as status --json's downloads (more_downloads)
            which = f'--status {args.status}' if args.status else '--active' if args.active else '--failed'
            out(f'  … and {more} more (stalkeer status {which} --limit N)')
        return EXIT_OK
    # Each list, and the filters that show all of its rows (its "… and N more").
    sections = (
        ('active', DI.status.in_((DOWNLOADING, RETRYING)), DI.id, active_line, ['--active']),
        # A paused row waits in the queue too; said so, or a stopped run's
        # downloads looked merely queued (trial-18b L5). No one filter shows
        # both: each status with rows is named.
        ('queued', DI.status.in_((PENDING, PAUSED)), DI.id,
         lambda i: active_line(i) + ('  paused' if i.status == PAUSED else ''),
         [f'--status {s}' for s in (PENDING, PAUSED) if counts.get(s)]),
        ('failures', DI.status == FAILED, DI.updated_at.desc(), failure_line, [f'--status {FAILED}']),
        ('recent completions', DI.status == COMPLETED, DI.completed_at.desc(),
         lambda i: f'  #{i.id} {row_title(i)} -> {i.download_path} '
                   f'({human_bytes(i.file_size)}, {_age(now, i.completed_at)})', [f'--status {COMPLETED}']),
    )
    for heading, where, order, fmt, shows_all in sections:
        limit = args.limit or STATUS_LIST_LIMITS[heading]
        query = DI.select().where(where).order_by(order, DI.id.desc())
        rows = list(query.limit(limit) if limit else query)
        if not rows:
            continue
        out(f'{heading}:')
        for info in rows:
            out(fmt(info))
            if heading == 'active':
                out(f'      -> {planned_path(info)}')
        more = query.count() - len(rows)
        if more > 0:
            out(f'  … and {more} more (' + ', or '.join(f'stalkeer status {f} --limit N' for f in shows_all) + ')')
    return EXIT_OK


def _ids_or_all(app: App, where_all):
    DI = DownloadInfo
    if app.args.id is not None:
        info = DI.get_or_none(DI.id == app.args.id)
        if info is None:
            raise StalkeerError(f'no download with id {app.args.id}')
        return [info]
    return list(DI.select().where(where_all))


def cmd_unlock(app: App) -> int:
    """Clear a lock: stale ones always, a live one only with --force."""
    args = app.args
    problem = one_of_problem({'a download ID': args.id is not None, '--stale': args.stale}, required=True)
    if problem:
        raise StalkeerError(problem)
    app.open_db()
    settings = app.download_settings()
    state = StateManager(settings.lock_timeout, settings.max_retry_attempts)
    if args.stale:
        app.console.out(f'cleared {state.clean_stale_locks()} stale lock(s)', always=True)
        return EXIT_OK
    DI = DownloadInfo
    info = _ids_or_all(app, None)[0]
    if not info.locked_by:
        app.console.out(f'#{info.id} is not locked', always=True)
        return EXIT_OK
    if state.is_live(info.id) and not args.force:
        raise StalkeerError(f'#{info.id} is locked by {info.locked_by}, whose heartbeat is fresh: it is '
                            'probably still downloading (use --force to clear it anyway)')
    with db_proxy.atomic():
        DI.update(locked_by=None, locked_at=None, lease_token=None, updated_at=db_now()).where(
            DI.id == info.id).execute()
        DI.update(status=PAUSED, updated_at=db_now()).where(
            (DI.id == info.id) & (DI.status == DOWNLOADING)).execute()
    app.console.out(f'unlocked #{info.id} (was held by {info.locked_by})', always=True)
    return EXIT_OK


def cmd_retry(app: App) -> int:
    """Put failed downloads, and those that gave up (StateManager.gave_up: a
    paused one too once its retries are used up), back to pending for the next
    run (history kept). Anything else is refused in one line naming the command
    that does move it: a pause or a queued download has not failed, and
    resume-downloads (or the radarr/sonarr run of its item, when it has one)
    continues it as it is."""
    args = app.args
    problem = one_of_problem({'a download ID': args.id is not None, '--failed': args.failed}, required=True)
    if problem:
        raise StalkeerError(problem)
    app.open_db()
    DI = DownloadInfo
    settings = app.download_settings()
    state = StateManager(settings.lock_timeout, settings.max_retry_attempts)
    rows = _ids_or_all(app, (DI.status == FAILED) | state.gave_up())
    done = 0
    for info in rows:
        if info.status == COMPLETED:
            raise StalkeerError(f'#{info.id} is completed; use download --force to fetch it again')
        if args.id is not None and state.is_live(info.id):
            raise StalkeerError(f'#{info.id} is being downloaded by {info.locked_by} now (its lock is '
                                'live): nothing to retry')
        if info.status in (PAUSED, PENDING, DOWNLOADING) and not row_gave_up(info, settings.max_retry_attempts):
            # Not failed: continued from its .part as it is (a lock whose holder is
            # gone is cleared by resume-downloads first), not retried.
            # The app's run only for a row it fills (`download` makes rows of no item).
            also = (f' (so does the next `stalkeer {info.service}` run of its item)'
                    if info.service and info.service_item_id is not None else '')
            raise StalkeerError(f'#{info.id} is {info.status}, not failed: `stalkeer resume-downloads` '
                                f'continues it{also}')
        # The error and last_retry_at stay as history; retry_count starts over
        # so the next run does not skip it for having used up its retries.
        done += (DI.update(status=PENDING, retry_count=0, updated_at=db_now())
                 .where((DI.id == info.id) & state.free_or_stale()).execute())
    app.console.out(f'{done} download(s) back to pending', always=True)
    return EXIT_OK if done or not rows else EXIT_FAILED


_PART_NAME = _LazyPattern(r'\.stalkeer-(\d+)(?:-[0-9a-f]+)?\.(?:part|copy)\Z')


def remove_unlocked(path: str, root: str | None = None) -> bool:
    """Delete the file at ``path`` unless a process holds its flock (a live
    transfer: PartFile). The name is never followed, nor a folder below
    ``root`` (open_folder). False when it was kept."""
    folder, name = os.path.split(path)
    try:
        dir_fd = open_folder(folder, root, create=False)
    except OSError:
        return False
    try:
        fd = os.open(name, os.O_RDWR | _O_NOFOLLOW | os.O_NONBLOCK | _O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        os.close(dir_fd)
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (BlockingIOError, PermissionError):
                return False
            except OSError:
                pass     # no file locks on this filesystem: the other checks decide
        opened = os.fstat(fd)
        try:
            now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(opened.st_mode) or not same_file(now, opened):
            return False
        os.unlink(name, dir_fd=dir_fd)
        return True
    finally:
        os.close(fd)
        os.close(dir_fd)


def cmd_cleanup(app: App) -> int:
    """Delete .part files no unfinished download references; report space freed.

    Never one whose row holds a live lease, one a process has open (flock), or
    one modified within lock_timeout_seconds (another instance, with a database
    of its own, may be writing it); a download that gave up keeps its .part
    for `retry`."""
    args = app.args
    app.open_db()
    settings = app.download_settings()
    state = app.state_manager(settings)
    DI = DownloadInfo
    keep = {row.part_path for row in DI.select(DI.part_path).where(
        (DI.status.in_(RESUMABLE_STATUSES) | state.live()) & DI.part_path.is_null(False))}
    roots = {}          # folder -> the library_root below which no link is followed
    for part_path, destination, root in DI.select(DI.part_path, DI.destination,
                                                  DI.library_root).tuples():
        for path in (part_path, destination):
            if path:
                folder = os.path.dirname(path)
                roots[folder] = roots.get(folder) or (root if _under(folder, root) else None)
    if settings.temp_dir:
        roots.setdefault(settings.temp_dir, None)
    now = time.time()
    cutoff = min(now - (args.older_than or 0) * 86400, now - settings.lock_timeout)
    freed = removed = 0
    for folder in sorted(f for f in roots if f and os.path.isdir(f)):
        root = roots[folder]
        if root and os.path.realpath(folder) != os.path.normpath(os.path.join(
                os.path.realpath(root), os.path.relpath(folder, root))):
            app.console.out(f'skipped {folder}: a symbolic link below {root} is not followed')
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not _PART_NAME.search(name) or path in keep:
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_mtime > cutoff:
                continue
            if not args.dry_run and not remove_unlocked(path, root):
                app.console.out(f'kept {path}: a process has it open')
                continue
            app.console.out(f'{"would remove" if args.dry_run else "removed"} {path} ({human_bytes(st.st_size)})')
            freed += st.st_size
            removed += 1
    verb = 'would free' if args.dry_run else 'freed'
    app.console.out(f'{removed} orphaned .part file(s), {verb} {human_bytes(freed)}', always=True)
    return EXIT_OK


# ---- lines: what the provider offers ----------------------------------------------

LINES_DEFAULT_LIMIT = 50
# Above every character a match_key can hold: [key, key + this) is "starts with key"
# in code-point order (SQLite's BINARY collation, PostgreSQL's C collations).
_PREFIX_END = '\U0010ffff'


def _like(column, pattern: str):
    """``column LIKE pattern ESCAPE '\\'`` (SQLite has no default escape character)."""
    return peewee.NodeList((column, peewee.SQL('LIKE'), pattern, peewee.SQL("ESCAPE '\\'")))


def _like_escape(text: str) -> str:
    return text.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


def _bytewise_collation() -> bool:
    """Does ``match_key >= x`` compare code points? SQLite: always (BINARY). PostgreSQL:
    only under a C/POSIX collation; a language collation orders words differently."""
    if not is_postgres(db_proxy):
        return True
    collation = db_proxy.obj.execute_sql(
        'SELECT datcollate FROM pg_database WHERE datname = current_database()').fetchone()[0]
    return collation.split('.')[0] in ('C', 'POSIX')


def lines_query(key: str, types, contains: bool = False):
    """processed_lines whose match_key starts with ``key`` (an index range on
    (content_type, match_key)), or with ``contains``, hold every word of it
    anywhere (a scan, for when no title starts so)."""
    PL = ProcessedLine
    where = PL.content_type.in_(list(types))
    if contains:
        for word in key.split():
            where &= _like(PL.match_key, f'%{_like_escape(word)}%')
    elif _bytewise_collation():
        where &= (PL.match_key >= key) & (PL.match_key < key + _PREFIX_END)
    else:   # correct under any collation; PostgreSQL scans
        where &= _like(PL.match_key, f'{_like_escape(key)}%')
    columns = [getattr(PL, name) for name in _LINE_JSON_COLUMNS]
    # Plain rows (dicts): model objects across a join cost ten times the query.
    return (PL.select(*columns, DownloadInfo.status.alias('download_status'))
            .join(DownloadInfo, peewee.JOIN.LEFT_OUTER, on=(PL.download_info == DownloadInfo.id))
            .where(where)
            .order_by(PL.content_type, PL.match_key, PL.id)
            .dicts())


_LINE_JSON_COLUMNS = ('id', 'content_type', 'title', 'year', 'season', 'episode', 'resolution',
                      'languages', 'state', 'download_info', 'display_title', 'group_title',
                      'tvg_id', 'match_key', 'url', 'missing_since', 'line_number',
                      'source', 'stream_id', 'series_id', 'tmdb_id')


def line_as_json(row: dict) -> dict:
    """One processed_lines row (from lines_query) as `lines --json` shows it."""
    data = {name: row[name] for name in _LINE_JSON_COLUMNS}
    data['languages'] = [x for x in (row['languages'] or '').split(',') if x]
    data['download_info'] = {'id': row['download_info'], 'status': row['download_status']} \
        if row['download_info'] else None
    data['url'] = redact_url(row['url']) if row['url'] else None
    data['missing_since'] = _iso(row['missing_since'])
    result = {}
    for key, value in data.items():
        if key == 'download_info':
            # A trailer, teaser, "making of"…: the matching never takes it for the film.
            result['extra'] = is_extra_text(row['display_title'] or '', row['title'] or '')
            key = 'download'
        result[key] = value
    return result


def find_lines(query: str, content_type: str | None = None,
               limit: int = LINES_DEFAULT_LIMIT) -> dict:
    """Playlist lines whose title starts with ``query`` (accents, case and a
    leading article ignored, as the matching compares titles); when none does,
    those holding its words anywhere. What `lines --json` prints and
    /api/lines answers: ``{"query", "match_key", "match": "prefix"|"contains",
    "limit", "lines": [...]}``, URLs redacted. Raises StalkeerError
    (PlaylistNotRead when processed_lines holds no line at all)."""
    key = match_key(query or '')
    if not key:
        raise StalkeerError('the query has no letter or digit to search for')
    if content_type is not None and content_type not in LINE_CONTENT_TYPES:
        raise StalkeerError(f'type must be one of {", ".join(LINE_CONTENT_TYPES)}, got {content_type!r}')
    if limit < 1:
        raise StalkeerError(f'limit must be at least 1, got {limit}')
    types = [content_type] if content_type else LINE_CONTENT_TYPES
    match = 'prefix'
    lines = list(lines_query(key, types).limit(limit))
    if not lines:
        match = 'contains'
        lines = list(lines_query(key, types, contains=True).limit(limit))
    # No line at all is a skipped `process`, not "no match" (trial-17a F3).
    if not lines and not ProcessedLine.select().limit(1).exists():
        raise PlaylistNotRead()
    return {'query': query, 'match_key': key, 'match': match, 'limit': limit,
            'lines': [line_as_json(line) for line in lines]}


def _line_text(line: dict) -> list[str]:
    """Two lines of `lines` output: how the line was read, then what it says."""
    title = line['title'] or '?'
    if line['season'] is not None or line['episode'] is not None:
        title += f' S{line["season"] or 0:02d}E{line["episode"] or 0:02d}' \
            if line['season'] is not None else f' E{line["episode"]:02d}'
    elif line['year']:
        title += f' ({line["year"]})'
    read = [title, line['resolution'] or 'quality ?', ','.join(line['languages']) or 'language ?',
            line['state']]
    if line['extra']:
        read.append('a trailer or extra: never taken for the film')
    if line['download']:
        read.append(f'download #{line["download"]["id"]} {line["download"]["status"]}')
    if line['tmdb_id']:
        read.append(f'tmdb {line["tmdb_id"]}')
    if line['missing_since']:
        read.append(f'gone from the playlist since {line["missing_since"][:10]}')
    said = [json.dumps(line['display_title'] or '', ensure_ascii=False)]
    if line['group_title']:
        said.append(f'[{line["group_title"]}]')
    if line['url']:
        said.append(line['url'])
    return [f'#{line["id"]:<7} {line["content_type"] or "?":<13} ' + ' · '.join(read),
            ' ' * 22 + '  '.join(said)]


def cmd_lines(app: App) -> int:
    """Find playlist lines by the start of their title (accents and case do not
    matter; when no title starts so, titles holding the words anywhere) and show
    how each was read: type, title, year or season/episode, quality, languages,
    state, and the download that uses it. URLs are shown redacted."""
    args = app.args
    app.open_db()
    result = find_lines(args.query, args.type, args.limit)
    incomplete_import_note(app)
    if args.json:
        app.console.json(result)
        return EXIT_OK
    for line in result['lines']:
        for text in _line_text(line):
            app.console.out(text, always=True)
    n = len(result['lines'])
    how = 'starts with' if result['match'] == 'prefix' else 'holds the words'
    more = f' (the first {n}: --limit)' if n == result['limit'] else ''
    app.console.out(f'{n} line(s) whose title {how} "{result["match_key"]}"{more}', always=True)
    return EXIT_OK


# ---- notifications -------------------------------------------------------------


class Notifier:
    """[notify]: a webhook (JSON), Apprise, and healthchecks.io-style pings.

    Every failure here is logged and swallowed: a notification must never turn
    a good run into a failed one."""

    def __init__(self, cfg: Config, command: str, session: requests.Session | None = None):
        self.command = command
        for key in ('webhook_url', 'healthcheck_url'):
            register_secret_url(cfg.get('notify', key) or '')  # first: even the error masks it
        self.apprise_urls = [u.strip() for u in re.split(r'[\s,]+', cfg.get('notify', 'apprise_urls') or '')
                             if u.strip()]
        for url in self.apprise_urls:
            register_secret_url(url)            # first: even an error masks them
        # Every key's mistake, each named: `config --check` showed only the first,
        # a wrong webhook_url hiding the apprise_urls errors (trial-18a F3); a
        # command stops at the first all the same (ConfigErrors).
        problems = []
        self.on = (cfg.get('notify', 'on') or 'failure').lower()
        if self.on not in ('failure', 'always', 'never'):
            problems.append(f'{cfg.where("notify", "on")} must be failure, always or never, '
                            f'got {quoted_value(self.on)}')
        urls = {}
        for key in ('webhook_url', 'healthcheck_url'):
            try:
                urls[key] = cfg.geturl('notify', key)
            except ConfigError as exc:
                problems.append(str(exc))
        self.webhook = urls.get('webhook_url')
        self.healthcheck = (urls.get('healthcheck_url') or '').rstrip('/') or None
        for url in (self.webhook, self.healthcheck):
            if url:
                register_secret_url(url)
        # Apprise takes many schemes, each read its own way (tgram://, mailto://,
        # json://…): only what is certainly wrong (apprise_url_problem). Named by
        # its place: the URL is a secret. One line per problem, naming every URL
        # that has it: a comment after the value (`; my bot`) is one mistake, and
        # gave one "no scheme://" line per word.
        numbers_by_problem: dict[str, list[int]] = {}
        for number, url in enumerate(self.apprise_urls, 1):
            problem = apprise_url_problem(url)
            if problem:
                numbers_by_problem.setdefault(problem, []).append(number)
        for problem, numbers in numbers_by_problem.items():
            which = (f'URL {numbers[0]}' if len(numbers) == 1 else
                     f'URLs {", ".join(map(str, numbers[:-1]))} and {numbers[-1]}')
            problems.append(f'{cfg.where("notify", "apprise_urls")}: {which} of {len(self.apprise_urls)}: '
                            f'{problem}')
        raise_config_errors(problems)
        self._session = session
        self.timeout = 10
        self._apprise = None
        if self.apprise_urls and self.on != 'never':
            try:
                import apprise
                self._apprise = apprise.Apprise()
                for url in self.apprise_urls:
                    self._apprise.add(url)
            except ImportError:
                log.error('[notify] apprise_urls is set but the apprise package is not installed '
                          '(pip install apprise); Apprise notifications are off')

    @property
    def session(self) -> requests.Session:
        """Made when the first notification is sent: importing requests is ~0.08 s
        of the start of every run (issue 15), and most runs notify nothing."""
        if self._session is None:
            self._session = requests.Session()
        return self._session

    @property
    def enabled(self) -> bool:
        return self.on != 'never'

    def _post(self, url, what, suffix='', **kwargs):
        """POST to ``url`` with ``suffix`` (a healthcheck's /start, /fail) added to
        its path, before any query: appended to the URL, it became part of the
        last query value (``?token=…/start``)."""
        if suffix:
            parts = urllib.parse.urlsplit(url)
            target = urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip('/') + suffix))
        else:
            target = url
        try:
            # Redirects are not followed: requests turns a POST redirected by
            # 301/302/303 into a GET without the body (the notification lost while
            # the answer looked fine), and a redirect may take the summary to a
            # host the user never configured. Where it points is said instead, the
            # failure then being in the right place (it was "cannot reach" the
            # configured URL when the redirect's target was down).
            response = self.session.post(target, timeout=self.timeout, allow_redirects=False, **kwargs)
            if 300 <= response.status_code < 400 and response.headers.get('Location'):
                location = urllib.parse.urljoin(target, response.headers['Location'])
                log.warning('%s: %s answered HTTP %d, a redirect to %s: not followed (notifications '
                            'are sent to the configured URL only); set the URL it points to',
                            what, redact(url) + suffix, response.status_code,
                            redact(masked_secret_url(location)))
            elif response.status_code >= 300:
                # A 3xx without a Location (a 304, a broken proxy) delivered nothing
                # either (trial-17b T17B-2: it counted as sent).
                log.warning('%s: %s answered HTTP %d', what, redact(url) + suffix, response.status_code)
        except requests.exceptions.RequestException as exc:
            # redact(url), as configured, then the suffix: the URL's path and query
            # masked as one unit (register_secret_url), never in pieces. The reason
            # in brackets: a ':' right after the URL would read as part of its last
            # query value, and be masked with it.
            log.warning('%s: cannot reach %s (%s)', what, redact(url) + suffix, _connection_reason(exc))

    def _send(self, document: dict) -> None:
        document = shown_tree(document)     # redacted and clipped, whatever the caller passed
        if self.webhook:
            self._post(self.webhook, 'webhook', json=document)
        if self._apprise is not None:
            try:
                self._apprise.notify(title=f'stalkeer: {document["event"]}',
                                     body=json.dumps(document, ensure_ascii=False, indent=1))
            except Exception as exc:   # a third-party plugin: anything may go wrong
                log.warning('apprise: %s', first_line(exc))

    def start(self) -> None:
        if self.enabled and self.healthcheck:
            self._post(self.healthcheck, 'healthcheck', '/start')

    def download_failed(self, info_id, title, url, error, retry_count=None) -> None:
        if not self.enabled:
            return
        if url:
            register_url_secrets(url)
        self._send({'event': 'download_failed', 'command': self.command, 'host': socket.gethostname(),
                    'id': info_id, 'title': title, 'status': FAILED, 'error': redact(error),
                    'url': redact_url(url) if url else None, 'retry_count': retry_count})

    def finish(self, exit_code: int, counts: dict, warnings=()) -> None:
        """The run summary: ``counts`` (name -> number), and ``warnings`` (outcome
        warnings such as the account's expiry: in the webhook's "warnings" and
        the healthcheck's body)."""
        if not self.enabled:
            return
        if self.on == 'always' or (self.on == 'failure' and exit_code != EXIT_OK):
            document = {'event': 'run_summary', 'command': self.command, 'host': socket.gethostname(),
                        'status': 'ok' if exit_code == EXIT_OK else 'failed', 'exit_code': exit_code,
                        'counts': counts}
            if warnings:
                document['warnings'] = list(warnings)
            self._send(document)
        if self.healthcheck:
            summary = '; '.join([', '.join(f'{k} {v}' for k, v in counts.items()) or self.command,
                                 *warnings])
            suffix = '' if exit_code == EXIT_OK else '/fail'
            self._post(self.healthcheck, 'healthcheck', suffix, data=shown(summary).encode())


# Commands that do work worth a notification and a healthcheck ping.
NOTIFYING_COMMANDS = ('download', 'resume-downloads', 'radarr', 'sonarr', 'process', 'm3u-download')
# Commands that only read: their output is not copied into the log file.
QUERY_COMMANDS = ('status', 'lines', 'config', 'm3u-list-archives')


# ==== serve =====================================================================
# `stalkeer serve`: a read-only window on the database for people (a status
# page that refreshes itself), scripts (/api/downloads, the JSON of
# `status --json`) and Prometheus (/metrics). Standard library only: one
# ThreadingHTTPServer, one thread per request, each with its own database
# connection, closed when the request ends.

SERVE_REQUEST_TIMEOUT = 10       # seconds a client may take to send its request, in all
SERVE_LIST_LIMIT = 50            # rows per list on the status page
SERVE_MAX_LIMIT = 10_000         # rows /api/downloads answers at most (?limit=)
_LOOPBACK_NAMES = ('localhost', 'localhost.localdomain', 'ip6-localhost')


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


def _json_bytes(data) -> bytes:
    """JSON for HTTP answers: every string redacted and clipped (shown_tree);
    ``<``, ``>`` and ``&`` as \\u escapes, so an untrusted title can never read
    as markup, whatever sniffs the answer."""
    text = json.dumps(shown_tree(data), ensure_ascii=False)
    return (text.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')
            .encode('utf-8'))


def _live_lock(info: DownloadInfo, now, lock_timeout: float) -> bool:
    return bool(info.locked_by and info.locked_at
                and (now - info.locked_at).total_seconds() < lock_timeout)


def _page_row(info: DownloadInfo, now, lock_timeout: float, max_retry_attempts: int) -> dict:
    """One download as the status page shows it: raw values plus display texts."""
    pct = info.percent
    live = _live_lock(info, now, lock_timeout)
    rate, eta = transfer_rate(info, now, live)
    given_up = row_gave_up(info, max_retry_attempts)
    heartbeat = max(0.0, (now - info.locked_at).total_seconds()) if info.locked_at else None
    return {
        'id': info.id,
        'status': info.status,
        'title': row_title(info),
        'percent': round(pct, 1) if pct is not None else None,
        'percent_text': f'{pct:.1f}%' if pct is not None else '?',
        'bytes_downloaded': info.bytes_downloaded,
        'total_bytes': info.total_bytes,
        'size_text': f'{human_bytes(info.bytes_downloaded)} / {human_bytes(info.total_bytes)}',
        'speed_text': f'{human_bytes(rate)}/s' if rate is not None else '',
        'eta_text': format_duration(eta) if eta is not None else '',
        'locked_by': info.locked_by,
        'lock_live': live,
        'heartbeat_age_seconds': round(heartbeat, 1) if heartbeat is not None else None,
        'heartbeat_text': _age(now, info.locked_at) if info.locked_at else '',
        'retry_count': info.retry_count,
        'error_message': info.error_message,
        'updated_text': _age(now, info.updated_at),
        'completed_text': _age(now, info.completed_at) if info.completed_at else '',
        'file_size_text': human_bytes(info.file_size) if info.file_size is not None else '',
        'download_path': info.download_path,
        'destination': planned_path(info),
        'gave_up': given_up,
        'gave_up_text': gave_up_text(info) if given_up else '',
    }


def status_page_data(lock_timeout: float, refresh_seconds: float, max_retry_attempts: int = 5) -> dict:
    """Everything the status page shows, in one document (/api/page). Active
    and queued rows keep their order (by id) from one refresh to the next;
    failures and completions come newest first."""
    DI = DownloadInfo
    now = database_now()

    more = {}           # per list, its rows past SERVE_LIST_LIMIT: the page says "… and N more"

    def rows(name, where, *order):
        query = DI.select().where(where).order_by(*order)
        found = [_page_row(info, now, lock_timeout, max_retry_attempts)
                 for info in query.limit(SERVE_LIST_LIMIT)]
        more[name] = query.count() - len(found) if len(found) == SERVE_LIST_LIMIT else 0
        return found

    locked = DI.locked_by.is_null(False)
    page = {
        'generated_at': _iso(now),
        'refresh_seconds': refresh_seconds,
        'lock_timeout_seconds': lock_timeout,
        'version': __version__,
        'summary': status_counts(),
        'imports': [dict(row, text=import_text(row)) for row in import_report()],
        # Transferring (or about to): downloading, or retrying under a lock.
        'active': rows('active', (DI.status == DOWNLOADING) | ((DI.status == RETRYING) & locked), DI.id),
        'queue': rows('queue', DI.status.in_((PENDING, PAUSED)) | ((DI.status == RETRYING) & ~locked), DI.id),
        'failed': rows('failed', DI.status == FAILED, DI.updated_at.desc(), DI.id.desc()),
        'completed': rows('completed', DI.status == COMPLETED, DI.completed_at.desc(), DI.id.desc()),
    }
    page['more'] = more
    return page


def _metric_value(value) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(round(float(value), 3))


def prometheus_metrics(lock_timeout: float, panel: str | None = None) -> str:
    """The Prometheus text exposition format 0.0.4; the account of the Xtream
    ``panel`` (its panel_accounts row) when a run has read it."""
    DI = DownloadInfo
    now = database_now()
    counts = status_counts()
    total_bytes = DI.select(peewee.fn.COALESCE(peewee.fn.SUM(DI.bytes_downloaded), 0)).scalar() or 0
    live = [info for info in DI.select(DI.id, DI.status, DI.locked_by, DI.locked_at)
            .where(DI.locked_by.is_null(False))
            if _live_lock(info, now, lock_timeout)]
    active = sum(1 for info in live if info.status in (DOWNLOADING, RETRYING))
    oldest = max(((now - info.locked_at).total_seconds() for info in live), default=0.0)
    last = (DI.select(DI.completed_at).where(DI.completed_at.is_null(False))
            .order_by(DI.completed_at.desc()).first())
    last_success = last.completed_at.replace(tzinfo=dt.timezone.utc).timestamp() \
        if last and isinstance(last.completed_at, dt.datetime) else 0
    lines = []

    def family(name, help_text, samples):
        lines.append(f'# HELP {name} {help_text}')
        lines.append(f'# TYPE {name} gauge')
        for labels, value in samples:
            lines.append(f'{name}{labels} {_metric_value(value)}')

    family('stalkeer_downloads', 'Downloads per status.',
           [(f'{{status="{status}"}}', n) for status, n in counts.items()])
    family('stalkeer_bytes_downloaded', 'Sum of bytes_downloaded over all downloads.',
           [('', int(total_bytes))])
    family('stalkeer_failed_downloads', 'Downloads in status failed.', [('', counts[FAILED])])
    family('stalkeer_active_transfers',
           'Downloads downloading or retrying under a live lock.', [('', active)])
    family('stalkeer_oldest_heartbeat_age_seconds',
           'Age of the oldest live lock heartbeat (0 when none).', [('', max(0.0, oldest))])
    family('stalkeer_last_success_timestamp_seconds',
           'Unix time of the latest completed download (0 when none).', [('', last_success)])
    account = PanelAccount.get_or_none(PanelAccount.panel == panel) if panel else None
    if account is not None:
        family('stalkeer_account_active',
               'Whether the Xtream account was Active at the last check (1) or not (0).',
               [('', int((account.status or '').lower() == 'active'))])
        if isinstance(account.exp_date, dt.datetime):       # no sample: it never expires
            family('stalkeer_account_expiry_timestamp_seconds',
                   'Unix time the Xtream account expires.',
                   [('', int(account.exp_date.replace(tzinfo=dt.timezone.utc).timestamp()))])
        for name, value, text in (('active_connections', account.active_cons, 'open'),
                                  ('max_connections', account.max_connections, 'allowed')):
            if value is not None:
                family(f'stalkeer_account_{name}', f'Connections the Xtream account had {text} '
                       'at the last check.', [('', value)])
        if isinstance(account.checked_at, dt.datetime):
            family('stalkeer_account_checked_timestamp_seconds',
                   'Unix time a run last read the Xtream account.',
                   [('', int(account.checked_at.replace(tzinfo=dt.timezone.utc).timestamp()))])
    return '\n'.join(lines) + '\n'


def define_status_classes() -> None:
    """Build StatusServer and StatusRequestHandler (idempotent). http.server and
    the http.client and email modules it brings cost ~10 ms of every start, and
    only `serve` needs them: importing stalkeer as a module builds them at once,
    `python stalkeer.py serve` when it makes its server."""
    if 'StatusRequestHandler' not in globals():
        _define_status_server()
        _define_status_handler()


def _define_status_server() -> None:
    """Build StatusServer; see define_status_classes()."""
    import http.server
    global StatusServer

    class StatusServer(http.server.ThreadingHTTPServer):
        """The `serve` HTTP server: read-only, one daemon thread per request."""
        daemon_threads = True
        allow_reuse_address = True
        max_retry_attempts = 5          # [downloads] max_retry_attempts: past it a failure "gave up"
        panel: str | None = None        # the configured Xtream panel (panel_accounts.panel)

        def __init__(self, host: str, port: int, token: str = '', refresh_seconds: float = 3,
                     lock_timeout: float = 300, allowed_hosts: Iterable[str] = ()):
            if ':' in host:
                self.address_family = socket.AF_INET6
            self.token = token or ''
            self.refresh_seconds = refresh_seconds
            self.lock_timeout = lock_timeout
            try:
                super().__init__((host.strip('[]'), port), StatusRequestHandler)
            except OSError as exc:
                raise StalkeerError(f'cannot listen on {host}:{port}: {exc.strerror or exc}') from None
            bound = self.server_address[0]
            self.host_names = {name.strip().strip('[]').lower().rstrip('.')
                               for name in (host, bound, *allowed_hosts) if name.strip()}
            # Listening on every address: any address of this machine may be in Host.
            self.any_address = ipaddress.ip_address(bound).is_unspecified

        def host_allowed(self, values: list[str]) -> bool:
            """Whether the Host header names this server: the address it listens on,
            a loopback name or address, or [serve] allowed_hosts (a port is ignored).

            A web page that points its own name at 127.0.0.1 (DNS rebinding) makes
            the browser send that name: it gets 421. An address in Host cannot be
            rebound, so on 0.0.0.0/:: any address is fine. No Host at all (HTTP/1.0)
            is no browser either; two Host headers are refused (RFC 9112 3.2)."""
            if not values:
                return True
            if len(values) > 1:
                return False
            name = _host_name(values[0])
            if name is None:
                return False
            if name in self.host_names or _is_loopback(name):
                return True
            try:
                ipaddress.ip_address(name)
            except ValueError:
                return False
            return self.any_address

        def handle_error(self, request, client_address):
            log.debug('serve: error with a request from %s', client_address[0], exc_info=True)

        @property
        def url(self) -> str:
            host, port = self.server_address[:2]
            shown = f'[{host}]' if ':' in host else host
            return f'http://{shown}:{port}/'


def serve_settings(cfg: Config) -> tuple[str, float]:
    """[serve] token and refresh_seconds, validated (allowed_hosts too)."""
    token = cfg.get('serve', 'token') or ''
    redact.add(token)
    allowed_host_names(cfg)
    return token, cfg.getnumber('serve', 'refresh_seconds')


_HOST_NAME = _LazyPattern(r'[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]*:[0-9a-f:.]*', re.ASCII)


def allowed_host_names(cfg: Config) -> list[str]:
    """[serve] allowed_hosts as the names a Host header is compared with: a port
    or a URL around a name is dropped (``nas:8787``, ``http://nas`` -> ``nas``);
    what can never match a Host (``*``, ``.lan``, a non-ASCII name: browsers send
    its xn-- form) is a ConfigError naming the key, not a silent 421."""
    value, where = cfg._source('serve', 'allowed_hosts')
    names, problems = [], []
    for entry in re.split(r'[\s,]+', (value or '').strip()):
        if not entry:
            continue
        name = entry
        if '://' in name:
            try:
                name = urllib.parse.urlsplit(name).hostname or ''
            except ValueError:
                name = ''
        else:
            try:
                name = str(ipaddress.ip_address(name.strip('[]')))
            except ValueError:
                name = _host_name(name) or ''
        name = name.lower().rstrip('.')
        if not _HOST_NAME.fullmatch(name):
            problems.append(f"{where}: '{clip(entry, 80)}' can never match a Host header: host "
                            'names or addresses only (a port is ignored), no wildcard, no leading '
                            'dot, a non-ASCII name in its xn-- form')
            continue
        names.append(name)
    raise_config_errors(problems)
    return names


def make_status_server(cfg: Config, host: str = '127.0.0.1', port: int = 8787,
                       lock_timeout: float | None = None) -> StatusServer:
    """The server `serve` runs (the database must be open): checks the token rule."""
    token, refresh = serve_settings(cfg)
    if not token and not _is_loopback(host):
        raise ConfigError(f'serve: listening on {host} needs [serve] token '
                          '(or STALKEER_SERVE_TOKEN); without one only 127.0.0.1 is allowed')
    downloads = DownloadSettings.from_config(cfg)
    if lock_timeout is None:
        lock_timeout = downloads.lock_timeout
    allowed = allowed_host_names(cfg)
    define_status_classes()
    server = StatusServer(host, port, token, refresh, lock_timeout, allowed)
    server.max_retry_attempts = downloads.max_retry_attempts    # for "gave up" on the page
    server.panel = panel_name(cfg)                              # whose account /metrics shows
    return server


def _host_name(value: str) -> str | None:
    """The host of a Host header (``name``, ``name:port``, ``[v6]:port``), lower
    case, without a trailing dot; None when it is not that shape."""
    value = value.strip().lower()
    if value.startswith('['):
        name, bracket, rest = value[1:].partition(']')
        if not bracket or (rest and rest[0] != ':'):
            return None
        port = rest[1:]
    else:
        name, _, port = value.partition(':')
    if (port and not port.isdigit()) or not name:
        return None
    return name.rstrip('.')


class _DeadlineReader(io.RawIOBase):
    """The request side of a connection with one deadline for all of it: a
    client trickling its request line and headers (a line every 3 s) is cut when
    the deadline passes, however often it sends; a timeout per recv() would
    never fire on it."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('the request took too long to arrive')
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class _BadRequest(Exception):
    pass


def _flag(params: dict, name: str) -> bool:
    if name not in params:
        return False
    value = params[name].strip().lower()
    if value in ('', '1', 'true', 'yes', 'on'):
        return True
    if value in ('0', 'false', 'no', 'off'):
        return False
    raise _BadRequest(f'{name} must be 1 or 0, got {value!r}')


def downloads_params(params: dict) -> dict:
    """The query parameters of /api/downloads as status_report() arguments."""
    status = params.get('status') or None
    if status is not None and status not in DOWNLOAD_STATUSES:
        raise _BadRequest(f'status must be one of {", ".join(DOWNLOAD_STATUSES)}, got {status!r}')
    limit = None
    if params.get('limit'):
        try:
            limit = parse_number(params['limit'], int, 1, SERVE_MAX_LIMIT)
        except ValueError as exc:
            raise _BadRequest(f'limit {exc}') from None
    active, failed = _flag(params, 'active'), _flag(params, 'failed')
    problem = one_of_problem({'?status=': bool(status), '?active=1': active, '?failed=1': failed})
    if problem:
        raise _BadRequest(problem)
    return {'status': status, 'active': active, 'failed': failed, 'limit': limit}


def _define_status_handler() -> None:
    """Build StatusRequestHandler; see define_status_classes()."""
    import http.server
    global StatusRequestHandler

    class StatusRequestHandler(http.server.BaseHTTPRequestHandler):
        server: StatusServer
        server_version = f'stalkeer/{__version__}'
        sys_version = ''
        timeout = SERVE_REQUEST_TIMEOUT     # a slow client only ever holds its own thread
        _head = False

        def setup(self):
            super().setup()
            self.rfile.close()          # nothing was read from it yet
            self.rfile = io.BufferedReader(
                _DeadlineReader(self.connection, time.monotonic() + self.timeout))

        def parse_request(self) -> bool:
            ok = super().parse_request()
            self.connection.settimeout(self.timeout)    # the answer gets its own time to go out
            return ok

        def do_GET(self):
            self._dispatch(head=False)

        def do_HEAD(self):
            self._dispatch(head=True)

        def __getattr__(self, name):
            # Every other method (POST, PUT, DELETE, anything): 405, nothing is writable.
            if name.startswith('do_'):
                return self._not_allowed
            raise AttributeError(name)

        def _not_allowed(self):
            self._send(405, _json_bytes({'error': 'method not allowed: only GET and HEAD'}),
                       'application/json', {'Allow': 'GET, HEAD'})

        def _authorized(self, params: dict) -> bool:
            token = self.server.token
            if not token:
                return True
            expected = token.encode('utf-8')
            header = self.headers.get('Authorization', '')
            scheme, _, given = header.partition(' ')
            if scheme.lower() == 'bearer' and hmac.compare_digest(given.strip().encode('utf-8'), expected):
                return True
            return hmac.compare_digest(params.get('token', '').encode('utf-8'), expected)

        def _dispatch(self, head: bool):
            self._head = head
            try:
                parts = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
                route = {'/': self._page, '/api/page': self._api_page,
                         '/api/downloads': self._api_downloads, '/api/lines': self._api_lines,
                         '/metrics': self._metrics, '/health': self._health}.get(parts.path)
                if route is None:
                    return self._send(404, _json_bytes({'error': 'not found'}), 'application/json')
                if route != self._health and not self.server.host_allowed(self.headers.get_all('Host') or []):
                    return self._send(421, _json_bytes({
                        'error': 'this server does not answer to the host named in the Host header; '
                                 'add it to [serve] allowed_hosts'}), 'application/json')
                if route != self._health and not self._authorized(params):
                    return self._send(401, _json_bytes({'error': 'token required'}), 'application/json',
                                      {'WWW-Authenticate': 'Bearer realm="stalkeer"'})
                try:
                    route(params)
                except _BadRequest as exc:
                    self._send(400, _json_bytes({'error': str(exc)}), 'application/json')
                except peewee.PeeweeException as exc:
                    log.debug('serve: database error: %s', first_line(exc))
                    self._send(503, _json_bytes({'error': f'database error: {first_line(exc)}'}),
                               'application/json')
            except (BrokenPipeError, ConnectionResetError):
                pass
            except Exception as exc:     # a bug must not kill the server, nor leak a traceback
                log.error('serve: %s %s failed: %s', self.command, self.path, first_line(exc), exc_info=True)
                with contextlib.suppress(OSError):
                    self._send(500, _json_bytes({'error': 'internal error'}), 'application/json')
            finally:
                database = db_proxy.obj
                if database is not None and not database.is_closed():
                    database.close()       # peewee keeps one connection per thread

        def _send(self, code: int, body: bytes, content_type: str, headers: dict | None = None):
            self.send_response(code)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Cache-Control', 'no-store')
            self.send_header('X-Content-Type-Options', 'nosniff')
            self.send_header('Referrer-Policy', 'no-referrer')
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if not self._head:
                self.wfile.write(body)

        # -- routes --------------------------------------------------------------
        def _page(self, params):
            nonce = secrets.token_urlsafe(16)
            body = STATUS_PAGE_HTML.replace('__NONCE__', nonce).encode('utf-8')
            self._send(200, body, 'text/html; charset=utf-8', {
                'Content-Security-Policy': (
                    f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                    "frame-ancestors 'none'"),
                'X-Frame-Options': 'DENY'})

        def _api_page(self, params):
            data = status_page_data(self.server.lock_timeout, self.server.refresh_seconds,
                                    self.server.max_retry_attempts)
            self._send(200, _json_bytes(data), 'application/json')

        def _api_downloads(self, params):
            # Exactly status --json, the account included.
            report = status_report(**downloads_params(params), panel=self.server.panel)
            self._send(200, _json_bytes(report), 'application/json')

        def _api_lines(self, params):
            try:
                limit = int(params.get('limit') or LINES_DEFAULT_LIMIT)
            except ValueError:
                raise _BadRequest(f'limit must be a whole number, got {params["limit"]!r}') from None
            try:
                data = find_lines(params.get('q', ''), params.get('type') or None, min(limit, 500))
            except PlaylistNotRead as exc:
                # The request is fine; the database is not ready for it (the page shows the error).
                return self._send(409, _json_bytes({'error': str(exc)}), 'application/json')
            except StalkeerError as exc:
                raise _BadRequest(str(exc)) from None
            self._send(200, _json_bytes(data), 'application/json')

        def _metrics(self, params):
            body = prometheus_metrics(self.server.lock_timeout, self.server.panel).encode('utf-8')
            self._send(200, body, 'text/plain; version=0.0.4; charset=utf-8')

        def _health(self, params):
            try:
                db_proxy.obj.execute_sql('SELECT 1').fetchone()
            except Exception as exc:    # any failure to answer is "unhealthy"
                log.debug('serve: health check failed: %s', first_line(exc))
                return self._send(503, b'database unavailable\n', 'text/plain; charset=utf-8')
            self._send(200, b'ok\n', 'text/plain; charset=utf-8')

        def log_message(self, format, *args):
            log.debug('serve: %s %s', self.address_string(), format % args)


if __name__ != '__main__':     # imported as a module (tests, bench): build them now
    define_status_classes()


def cmd_serve(app: App) -> int:
    """Serve the status page, /api/page, /api/downloads, /api/lines, /metrics and
    /health over HTTP (read-only) until SIGINT/SIGTERM, which end it with exit 0."""
    args = app.args
    app.open_db()
    server = make_status_server(app.cfg, args.host, args.port, app.download_settings().lock_timeout)
    try:
        app.console.out(f'serving {server.url}', always=True)
        server.serve_forever()
    except Interrupted as exc:
        # SIGTERM/SIGINT is how a service manager or a person stops it: a normal end.
        app.console.out(f'serve: stopped by {signal.Signals(exc.signum).name}', always=True)
    finally:
        server.server_close()
    return EXIT_OK


STATUS_PAGE_HTML = r'''<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>stalkeer</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%232f6fed'/%3E%3Cpath d='M8 3v7M5 7l3 3 3-3M4 13h8' stroke='white' stroke-width='1.8' fill='none' stroke-linecap='round'/%3E%3C/svg%3E">
<style nonce="__NONCE__">
:root { --bg: #f6f7f9; --card: #fff; --text: #1d2330; --muted: #667085; --line: #e4e7ec;
        --accent: #2f6fed; --ok: #1a7f4b; --bad: #c0362c; --warn: #b7791f; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #12151b; --card: #1b2029; --text: #e6e9ef; --muted: #98a2b3; --line: #2b3240;
          --accent: #6c9cff; --ok: #4ac28a; --bad: #ff6b5e; --warn: #f0b35a; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem;
         padding: 1rem 1.25rem .5rem; }
header h1 { margin: 0; font-size: 1.35rem; }
#updated { color: var(--muted); font-size: .85rem; }
#updated.stale { color: var(--bad); }
main { padding: 0 1.25rem 2rem; max-width: 1400px; }
.counts { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: .6rem;
          margin: .5rem 0 1.25rem; }
.count { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
         padding: .6rem .8rem; }
.count .n { display: block; font-size: 1.6rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.count .label { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
.count.failed .n { color: var(--bad); }
.count.completed .n { color: var(--ok); }
.count.downloading .n { color: var(--accent); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
          margin-bottom: 1rem; overflow: hidden; }
section h2 { margin: 0; padding: .65rem .9rem; font-size: 1rem; border-bottom: 1px solid var(--line); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .5rem .9rem; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { color: var(--muted); font-size: .78rem; font-weight: 600; text-transform: uppercase; }
tr:last-child td { border-bottom: 0; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.title { font-weight: 560; overflow-wrap: anywhere; }
td.error { color: var(--bad); overflow-wrap: anywhere; }
td.path { color: var(--muted); font-size: .85rem; overflow-wrap: anywhere; }
.gave-up { color: var(--text); font-size: .85rem; margin-top: .2rem; }
.gave-up code { background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 0 .3rem; }
.search { display: flex; gap: .5rem; align-items: center; padding: .6rem .9rem;
          border-bottom: 1px solid var(--line); }
.search input { flex: 1; min-width: 0; font: inherit; padding: .4rem .6rem; border-radius: 8px;
                border: 1px solid var(--line); background: var(--bg); color: var(--text); }
#lines-note { color: var(--muted); font-size: .85rem; }
#imports { margin: -.5rem 0 1rem; }
.import { color: var(--muted); font-size: .85rem; }
.import.incomplete { color: var(--warn); font-weight: 600; }
.progress-cell { min-width: 9rem; }
.bar { height: .5rem; background: var(--line); border-radius: 99px; overflow: hidden; margin-bottom: .2rem; }
.bar > div { height: 100%; background: var(--accent); border-radius: 99px; transition: width .6s; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 99px; font-size: .78rem;
         border: 1px solid var(--line); color: var(--muted); white-space: nowrap; }
.badge.live { color: var(--ok); border-color: var(--ok); }
.badge.stale { color: var(--warn); border-color: var(--warn); }
.badge.failed { color: var(--bad); border-color: var(--bad); }
.muted { color: var(--muted); }
td.empty { color: var(--muted); font-style: italic; }
@media (max-width: 700px) {
  header, main { padding-left: .7rem; padding-right: .7rem; }
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { display: flex; flex-direction: column; padding: .5rem .8rem; border-bottom: 1px solid var(--line); }
  td.title { order: -1; }
  tr:last-child { border-bottom: 0; }
  td { border: 0; padding: .12rem 0; display: flex; gap: .75rem; }
  td::before { content: attr(data-label); flex: 0 0 6.5rem; color: var(--muted); font-size: .78rem;
               text-transform: uppercase; padding-top: .1rem; }
  td.empty::before, td.title::before { content: none; }
  td.title { font-size: 1.02rem; }
  td > .cell { flex: 1; min-width: 0; }
}
</style>
</head>
<body>
<header>
  <h1>stalkeer</h1>
  <span id="updated">loading…</span>
</header>
<main>
  <div class="counts" id="counts"></div>
  <div id="imports"></div>
  <section id="active-section"><h2>Active downloads</h2>
    <table id="active"><thead><tr><th>#</th><th>Title</th><th>Progress</th><th>Size</th>
      <th>Speed</th><th>ETA</th><th>Destination</th><th>Lock</th></tr></thead><tbody></tbody></table></section>
  <section id="queue-section"><h2>Queue</h2>
    <table id="queue"><thead><tr><th>#</th><th>Title</th><th>Status</th><th>Progress</th>
      <th>Retries</th><th>Updated</th></tr></thead><tbody></tbody></table></section>
  <section id="failed-section"><h2>Failures</h2>
    <table id="failed"><thead><tr><th>#</th><th>Title</th><th>Error</th><th>Retries</th>
      <th>Updated</th></tr></thead><tbody></tbody></table></section>
  <section id="completed-section"><h2>Recent completions</h2>
    <table id="completed"><thead><tr><th>#</th><th>Title</th><th>Size</th><th>Path</th>
      <th>Completed</th></tr></thead><tbody></tbody></table></section>
  <section id="lines-section"><h2>Search the playlist</h2>
    <div class="search"><input id="search" type="search" autocomplete="off"
      placeholder="the start of a title, e.g. heat" aria-label="search the playlist">
      <span id="lines-note"></span></div>
    <table id="lines"><thead><tr><th>#</th><th>Type</th><th>Read as</th><th>Quality</th>
      <th>Languages</th><th>State</th><th>Playlist line</th></tr></thead><tbody></tbody></table></section>
</main>
<script nonce="__NONCE__">
'use strict';
// Data is only ever written with textContent / createElement: titles come from
// the playlist, which is untrusted input.
const STATUSES = ['downloading', 'retrying', 'pending', 'paused', 'failed', 'completed'];
const token = new URLSearchParams(location.search).get('token');
const apiUrl = 'api/page' + (token ? '?token=' + encodeURIComponent(token) : '');
let refreshMs = 3000;
let lastOk = 0;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function cell(tr, label, cls, content) {
  const td = el('td', cls);
  td.dataset.label = label;
  const box = el('div', 'cell');
  if (content instanceof Node) box.appendChild(content); else box.textContent = content == null ? '' : String(content);
  td.appendChild(box);
  tr.appendChild(td);
  return td;
}

function progress(row) {
  const wrap = el('div');
  const bar = el('div', 'bar');
  const fill = el('div');
  fill.style.width = (row.percent == null ? 0 : Math.min(100, row.percent)) + '%';
  bar.appendChild(fill);
  wrap.appendChild(bar);
  wrap.appendChild(el('span', 'progress', row.percent_text));
  return wrap;
}

function lock(row) {
  const box = el('div');
  if (!row.locked_by) { box.appendChild(el('span', 'muted', 'no lock')); return box; }
  box.appendChild(el('span', 'badge ' + (row.lock_live ? 'live' : 'stale'), row.lock_live ? 'live' : 'stale'));
  box.appendChild(document.createTextNode(' '));
  box.appendChild(el('span', 'locked-by', row.locked_by));
  box.appendChild(el('div', 'heartbeat muted', 'heartbeat ' + row.heartbeat_text));
  return box;
}

const COLUMNS = {
  active: [['#', 'num id', r => r.id], ['Title', 'title', r => r.title],
           ['Progress', 'progress-cell', progress], ['Size', 'num', r => r.size_text],
           ['Speed', 'num speed', r => r.speed_text || '–'], ['ETA', 'num eta', r => r.eta_text || '–'],
           ['Destination', 'path destination', r => r.destination || ''], ['Lock', 'lock', lock]],
  queue: [['#', 'num id', r => r.id], ['Title', 'title', r => r.title],
          ['Status', 'status', r => el('span', 'badge', r.status)],
          ['Progress', 'progress-cell', progress], ['Retries', 'num retries', r => r.retry_count],
          ['Updated', 'num', r => r.updated_text]],
  failed: [['#', 'num id', r => r.id], ['Title', 'title', r => r.title],
           ['Error', 'error', r => r.error_message || '?'], ['Retries', 'num retries', retries],
           ['Updated', 'num', r => r.updated_text]],
  completed: [['#', 'num id', r => r.id], ['Title', 'title', r => r.title],
              ['Size', 'num', r => r.file_size_text], ['Path', 'path', r => r.download_path || ''],
              ['Completed', 'num', r => r.completed_text]],
};

function retries(row) {
  const box = el('div');
  box.appendChild(el('span', 'retry-count', row.retry_count));
  if (row.gave_up) {
    // "gave up after N retries — run `stalkeer retry ID`": the command as code.
    const note = el('div', 'gave-up');
    const [text, command] = row.gave_up_text.split('`');
    note.appendChild(document.createTextNode(text));
    note.appendChild(el('code', 'retry-command', command));
    box.appendChild(note);
  }
  return box;
}

function readAs(line) {
  let text = line.title || '?';
  if (line.season != null || line.episode != null) {
    const pad = n => String(n == null ? 0 : n).padStart(2, '0');
    text += line.season != null ? ' S' + pad(line.season) + 'E' + pad(line.episode) : ' E' + pad(line.episode);
  } else if (line.year) {
    text += ' (' + line.year + ')';
  }
  return text;
}

function lineState(line) {
  let text = line.state;
  if (line.extra) text += ' · trailer or extra';
  if (line.download) text += ' · download #' + line.download.id + ' ' + line.download.status;
  if (line.missing_since) text += ' · gone since ' + line.missing_since.slice(0, 10);
  return text;
}

const LINE_COLUMNS = [['#', 'num id', l => l.id], ['Type', 'type', l => l.content_type || '?'],
  ['Read as', 'title', readAs], ['Quality', 'num', l => l.resolution || '?'],
  ['Languages', 'languages', l => l.languages.join(', ') || '?'], ['State', 'state', lineState],
  ['Playlist line', 'path', l => (l.display_title || '') + (l.url ? '  ' + l.url : '')]];

function fillTable(name, rows, columns, more) {
  columns = columns || COLUMNS[name];
  const tbody = document.querySelector('#' + name + ' tbody');
  const fresh = [];
  if (!rows.length) {
    const tr = el('tr');
    const td = el('td', 'empty', 'nothing');
    td.colSpan = columns.length;
    tr.appendChild(td);
    fresh.push(tr);
  }
  for (const row of rows) {
    const tr = el('tr', 'status-' + row.status);
    tr.dataset.id = row.id;
    for (const [label, cls, make] of columns) cell(tr, label, cls, make(row));
    fresh.push(tr);
  }
  if (more > 0) {     // a list is cut at 50 rows: never silently
    const tr = el('tr');
    const td = el('td', 'more muted', '… and ' + more + ' more (stalkeer status --limit N lists them)');
    td.colSpan = columns.length;
    tr.appendChild(td);
    fresh.push(tr);
  }
  tbody.replaceChildren(...fresh);
}

function render(data) {
  const counts = document.getElementById('counts');
  const cards = [];
  for (const status of STATUSES) {
    const card = el('div', 'count ' + status);
    card.appendChild(el('span', 'n', data.summary[status] || 0)).id = 'count-' + status;
    card.appendChild(el('span', 'label', status));
    cards.push(card);
  }
  counts.replaceChildren(...cards);
  document.getElementById('imports').replaceChildren(
    ...(data.imports || []).map(row => el('div', 'import ' + row.status, row.text)));
  for (const name of Object.keys(COLUMNS)) fillTable(name, data[name] || [], null, (data.more || {})[name]);
  refreshMs = Math.max(500, (data.refresh_seconds || 3) * 1000);
}

function showUpdated(error) {
  const node = document.getElementById('updated');
  if (error) {
    node.className = 'stale';
    node.textContent = 'cannot refresh (' + error + ')' +
      (lastOk ? ', data from ' + new Date(lastOk).toLocaleString() : '');
  } else {
    node.className = '';
    node.textContent = 'updated ' + new Date(lastOk).toLocaleString() +
      ' · every ' + (refreshMs / 1000) + ' s';
  }
}

// The search box: /api/lines, a moment after the last keystroke; an answer to
// an older query never overwrites a newer one.
let searchTimer = null;
let searchSeq = 0;
async function searchLines() {
  const q = document.getElementById('search').value.trim();
  const note = document.getElementById('lines-note');
  const seq = ++searchSeq;
  if (!q) { fillTable('lines', [], LINE_COLUMNS); note.textContent = ''; return; }
  try {
    const url = 'api/lines?q=' + encodeURIComponent(q) + (token ? '&token=' + encodeURIComponent(token) : '');
    const answer = await fetch(url, {cache: 'no-store', headers: {'Accept': 'application/json'}});
    const data = await answer.json();
    if (seq !== searchSeq) return;
    if (!answer.ok) throw new Error(data.error || ('HTTP ' + answer.status));
    fillTable('lines', data.lines, LINE_COLUMNS);
    note.textContent = data.lines.length + (data.lines.length === data.limit ? '+' : '') + ' line(s) ' +
      (data.match === 'prefix' ? 'starting with' : 'holding') + ' “' + data.match_key + '”';
  } catch (err) {
    if (seq === searchSeq) note.textContent = 'search failed: ' + (err.message || String(err));
  }
}
document.getElementById('search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(searchLines, 250);
});

async function refresh() {
  try {
    const answer = await fetch(apiUrl, {cache: 'no-store', headers: {'Accept': 'application/json'}});
    if (!answer.ok) throw new Error('HTTP ' + answer.status);
    render(await answer.json());
    lastOk = Date.now();
    document.body.dataset.loaded = String(lastOk);
    showUpdated();
  } catch (err) {
    showUpdated(err.message || String(err));
  } finally {
    setTimeout(refresh, refreshMs);
  }
}
refresh();
</script>
</body>
</html>
'''

# ==== main =====================================================================


def _common_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options, accepted before and after the subcommand."""
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    parser.add_argument('--config', metavar='FILE', default=default(None),
                        help='configuration file (default: $STALKEER_CONFIG, ./stalkeer.ini, '
                             'or stalkeer.ini beside stalkeer.py)')
    parser.add_argument('--db', metavar='URL', default=default(None),
                        help='database URL, overrides DATABASE_URL and [database] url')
    parser.add_argument('-v', '--verbose', action='count', default=default(0),
                        help='more detail (debug logging)')
    parser.add_argument('-q', '--quiet', action='store_true', default=default(False),
                        help='only errors and the final summary')
    parser.add_argument('--log-file', metavar='FILE', default=default(None),
                        help='append log lines to FILE (overrides [logging] file)')


# Bounds of the numeric options (the matching config keys share theirs).
_COUNT_MAX = 1_000_000_000          # --limit: far past any library
_ID_MAX = 2 ** 63 - 1               # a database id (BIGINT)


def _number_arg(kind: type, minimum, maximum) -> Callable[[str], int | float]:
    """An argparse ``type``: parse_number() with these bounds, so every numeric
    option refuses nan, inf and out-of-range values in one line (exit 2)."""
    def parse(text):
        try:
            return parse_number(text, kind, minimum, maximum)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def _config_bounds(section: str, key: str) -> Callable[[str], int | float]:
    """The argparse type of an option that overrides a config key: its bounds."""
    return _number_arg(*NUMBER_LIMITS[(section, key)])


class _Parser(argparse.ArgumentParser):
    # What went wrong writing --help/--version to stdout (argparse drops it): main() tells it.
    stdout_failure: OSError | None = None

    def _print_message(self, message, file=None):
        if message:
            file = file or sys.stderr
            failed = write_line(file, message.rstrip('\n'), tty=False)
            if file is sys.stdout and self.stdout_failure is None:
                self.stdout_failure = failed

    def error(self, message):
        # One line and exit 2, like every other usage error of ours.
        self.exit(EXIT_USAGE, f'{self.prog}: error: {shown(message)}\n')


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog='stalkeer', description=__doc__.split('\n\n')[0], epilog=(
        'First run: `stalkeer config --check`, then `stalkeer process --download` and '
        '`stalkeer radarr --limit 5`; `stalkeer status` shows what happened. README.md '
        'explains the output, cron and upgrading.'))
    parser.add_argument('--version', action='version', version=f'stalkeer {__version__}')
    _common_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, suppress=True)
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', parser_class=_Parser,
                                title='commands (COMMAND --help for each)')

    p = sub.add_parser('migrate', parents=[common], help='create or upgrade the database tables')
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser('download', parents=[common], help='one tracked, resumable download')
    p.add_argument('url', metavar='URL', help='http(s) URL of the file')
    p.add_argument('dest', metavar='DEST',
                   help='destination file (the extension is added when missing) or folder')
    p.add_argument('--force', action='store_true', help='overwrite an existing file')
    p.add_argument('--title', help='a name for status output')
    p.set_defaults(func=cmd_download)

    p = sub.add_parser('resume-downloads', parents=[common],
                       help='finish incomplete downloads from their .part files')
    p.add_argument('--limit', type=_number_arg(int, 1, _COUNT_MAX), metavar='N',
                   help='at most N downloads')
    p.add_argument('--dry-run', action='store_true', help='list what would resume, change nothing')
    p.add_argument('--parallel', type=_config_bounds('downloads', 'max_parallel'), metavar='N',
                   help='downloads at once (default [downloads] max_parallel)')
    p.add_argument('--max-retries', type=_config_bounds('downloads', 'max_retry_attempts'), metavar='N',
                   help='skip downloads retried N times or more (default [downloads] max_retry_attempts)')
    p.add_argument('--clean-stale-locks', action=argparse.BooleanOptionalAction, default=True,
                   help='first clear locks whose holder stopped (default: on)')
    p.add_argument('--service', choices=('all', 'radarr', 'sonarr'), default='all',
                   help='only downloads for this app')
    p.add_argument('--no-rescan', action='store_true', help='do not ask Radarr/Sonarr to rescan')
    p.set_defaults(func=cmd_resume_downloads)

    for service, what in (('radarr', 'movies'), ('sonarr', 'episodes')):
        p = sub.add_parser(service, parents=[common],
                           help=f'download the {what} {service.capitalize()} is missing')
        p.add_argument('--limit', type=_number_arg(int, 1, _COUNT_MAX), metavar='N',
                       help=f'at most N {what} in this run')
        p.add_argument('--dry-run', action='store_true',
                       help='print the plan (item, line, quality, URL, destination), write nothing')
        p.add_argument('--parallel', type=_config_bounds('downloads', 'max_parallel'), metavar='N',
                       help='downloads at once (default [downloads] max_parallel)')
        p.add_argument('--force', action='store_true',
                       help='download again what was already downloaded; overwrite files')
        p.add_argument('--resume', action='store_true', help='finish incomplete downloads first')
        p.add_argument('--no-rescan', action='store_true',
                       help=f'do not ask {service.capitalize()} to rescan')
        p.add_argument('--probe', action='store_true',
                       help='with --dry-run: read the chosen files\' headers too (runtime, resolution)')
        if service == 'sonarr':
            p.add_argument('--series-id', type=_number_arg(int, 1, _ID_MAX), metavar='N',
                           help='only this series')
        p.set_defaults(func=cmd_radarr if service == 'radarr' else cmd_sonarr, series_id=None)

    p = sub.add_parser('process', parents=[common], help='read the playlist into the database')
    p.add_argument('playlist', nargs='?', metavar='PLAYLIST',
                   help='M3U file (default: [m3u] file_path)')
    p.add_argument('--limit', type=_number_arg(int, 1, _COUNT_MAX), metavar='N',
                   help='stop after N entries')
    p.add_argument('--force', action='store_true', help='re-classify every line, changed or not')
    p.add_argument('--dry-run', action='store_true', help='parse and report, write nothing')
    p.add_argument('--json', action='store_true', help='print the summary as JSON')
    p.add_argument('--download', action='store_true', help='run m3u-download first')
    p.add_argument('--source', choices=('auto', 'm3u', 'xtream'), default='auto',
                   help='read the M3U playlist or the Xtream panel\'s player_api.php (auto, the '
                        'default: the panel when one is configured and answers)')
    p.set_defaults(func=cmd_process)

    p = sub.add_parser('status', parents=[common], help='what is downloading, queued, failed, done')
    p.add_argument('--status', choices=DOWNLOAD_STATUSES, help='only downloads in this status')
    p.add_argument('--active', action='store_true', help='only downloads in progress')
    p.add_argument('--failed', action='store_true', help='only failed downloads')
    p.add_argument('--limit', type=_number_arg(int, 1, _COUNT_MAX), metavar='N',
                   help='at most N rows per list (default 20)')
    p.add_argument('--json', action='store_true', help='print {"summary": …, "downloads": […]}')
    p.set_defaults(func=cmd_status)

    p = sub.add_parser('unlock', parents=[common], help='clear a lock left by a dead process')
    p.add_argument('id', type=_number_arg(int, 1, _ID_MAX), nargs='?', metavar='ID',
                   help='the download (its # in status)')
    p.add_argument('--stale', action='store_true', help='clear every stale lock')
    p.add_argument('--force', action='store_true', help='clear a lock even if its heartbeat is fresh')
    p.set_defaults(func=cmd_unlock)

    p = sub.add_parser('retry', parents=[common], help='put failed downloads back to pending')
    p.add_argument('id', type=_number_arg(int, 1, _ID_MAX), nargs='?', metavar='ID',
                   help='the download (its # in status)')
    p.add_argument('--failed', action='store_true', help='every failed download')
    p.set_defaults(func=cmd_retry)

    p = sub.add_parser('cleanup', parents=[common],
                       help='delete .part files no resumable download references')
    p.add_argument('--older-than', type=_number_arg(float, 0, 36500), metavar='DAYS',
                   help='only files older than DAYS days')
    p.add_argument('--dry-run', action='store_true', help='list them, delete nothing')
    p.set_defaults(func=cmd_cleanup)

    p = sub.add_parser('m3u-download', parents=[common],
                       help='fetch the playlist from [m3u] url into [m3u] file_path')
    p.add_argument('--url', help='playlist URL (default: [m3u] url)')
    p.add_argument('--no-archive', action='store_true', help='do not keep a timestamped copy')
    p.set_defaults(func=cmd_m3u_download)

    p = sub.add_parser('m3u-list-archives', parents=[common], help='list archived playlists')
    p.set_defaults(func=cmd_m3u_list_archives)

    p = sub.add_parser('m3u-cleanup-archives', parents=[common],
                       help='delete archived playlists beyond the retention count')
    p.add_argument('--retention', type=_config_bounds('m3u', 'retention_count'), metavar='N',
                   help='keep the N newest (default: [m3u] retention_count)')
    p.set_defaults(func=cmd_m3u_cleanup_archives)

    p = sub.add_parser('serve', parents=[common],
                       help='read-only status page, JSON API and Prometheus metrics over HTTP')
    p.add_argument('--host', default='127.0.0.1',
                   help='address to listen on (default 127.0.0.1; any other needs [serve] token)')
    p.add_argument('--port', type=_number_arg(int, 0, 65535), default=8787, metavar='PORT',
                   help='port to listen on (default 8787; 0 picks a free one)')
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser('config', parents=[common],
                       help='show the configuration in force, where each value comes from, and its errors '
                            '(exit 2)')
    p.add_argument('--check', action='store_true',
                   help='end with the verdict: config check: ok, or the number of errors')
    p.add_argument('--json', action='store_true', help='print it as JSON')
    p.set_defaults(func=cmd_config)

    p = sub.add_parser('lines', parents=[common],
                       help='find playlist lines by title and show how each was read')
    p.add_argument('query', metavar='QUERY',
                   help='the start of a title (accents and case do not matter)')
    p.add_argument('--type', choices=LINE_CONTENT_TYPES, help='only lines of this type')
    p.add_argument('--limit', type=_number_arg(int, 1, _COUNT_MAX), default=LINES_DEFAULT_LIMIT,
                   metavar='N', help=f'at most N lines (default {LINES_DEFAULT_LIMIT})')
    p.add_argument('--json', action='store_true', help='print them as JSON')
    p.set_defaults(func=cmd_lines)

    # Each command's own --help opens with what it does: its function's docstring.
    for name, command in sub.choices.items():
        command.description = command.description or command.get_default('func').__doc__
    return parser


def missing_packages_message(missing: list[str]) -> str:
    """One line: which packages are missing and the command that installs them."""
    requirements = HERE / 'requirements.txt'
    what = f'-r {requirements}' if requirements.is_file() else 'requests tqdm peewee'
    if sys.prefix != sys.base_prefix:            # already in a virtual environment
        how = f'{sys.executable} -m pip install {what}'
    else:                                        # Debian/Ubuntu refuse a system-wide pip
        how = (f'python3 -m venv ~/stalkeer/venv && ~/stalkeer/venv/bin/pip install {what}, '
               f'then run ~/stalkeer/venv/bin/python {Path(__file__).resolve()}')
    return f'missing Python package(s) {", ".join(missing)}; install with: {how}'


class _SignalHandlers:
    """First SIGINT/SIGTERM: raise Interrupted where the main thread is (stops a
    blocked read at once); a second one: exit immediately.

    Python runs a handler only between bytecodes, and a main thread in C code
    hears the first signal only when it returns. SQLite's busy wait returns
    every SQLITE_LOCK_SLICE (StalkeerSqliteDatabase goes on waiting in Python;
    sqlite3_interrupt does not end a busy wait: trial-15e F5); other C code
    may take longer, so the second signal must not wait: a thread woken by
    every signal (signal.set_wakeup_fd) exits on the second itself. On
    PostgreSQL that thread also cancels a statement the first is stuck behind
    (_cancel_wait), which a signal does not end."""

    def __init__(self):
        self.previous = {}
        self.received = None
        self._wakeup = None         # (write fd, the wakeup fd it replaced)
        self._exiting = threading.Lock()    # held by whichever thread exits at once

    def __enter__(self):
        RUN_STOP.clear()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
            self._watch_start()
        return self

    # How long the main thread has to hear the first signal before a statement it
    # waits in is taken to be stuck there (a lock another session holds).
    STUCK_AFTER = 0.5

    def _handle(self, signum, frame):
        if self.received is not None:
            self._exit_at_once(signum)
        self.received = signum
        RUN_STOP.request(signum)        # the worker threads, which hear no signal
        database = db_proxy.obj
        if is_postgres(database):       # statements waiting for a lock, in every thread
            threading.Thread(target=database.cancel_stuck_statements, daemon=True,
                             name='stalkeer-stop').start()
        raise Interrupted(signum)

    def _exit_at_once(self, signum) -> None:
        """The second signal: one line on stderr and in the log file, then
        os._exit. Called from the watcher thread (or the main thread's
        handler, whichever hears it first: the other waits for the exit), so
        the line is written with os.write, bypassing the handlers' locks and
        buffers, which the main thread may hold mid-write. No notification:
        "at once" means no network wait (a healthcheck sees a /start without
        an end); the line holds only the signal's name, never a secret."""
        if not self._exiting.acquire(blocking=False):
            self._exiting.acquire(timeout=2)        # the other one is exiting
            os._exit(EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM)
        message = f'interrupted again by {signal.Signals(signum).name}: exiting at once'
        with contextlib.suppress(Exception):
            lead = '\n' if os.isatty(2) else ''    # not after a progress bar or ^C on its line
            os.write(2, f'{lead}stalkeer: {message}\n'.encode())
        for handler in list(log.handlers):
            if isinstance(handler, logging.FileHandler) and getattr(handler, _LOG_HANDLER_TAG, False):
                with contextlib.suppress(Exception):
                    record = log.makeRecord(log.name, logging.WARNING, __file__, 0, message, None, None)
                    os.write(handler.stream.fileno(), (handler.format(record) + '\n').encode())
        os._exit(EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM)

    def _watch_start(self) -> None:
        try:
            read_fd, write_fd = os.pipe()
            os.set_blocking(write_fd, False)
            previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        except (OSError, ValueError):       # no pipe: the handler alone, as before
            return
        self._wakeup = (write_fd, previous)
        threading.Thread(target=self._watch, args=(read_fd,), daemon=True,
                         name='stalkeer-signals').start()

    def _watch(self, read_fd: int) -> None:
        """Count SIGINT/SIGTERM as they arrive (each byte is a signal number), not
        as the main thread gets round to them; exit at the second."""
        seen = 0
        try:
            while True:
                data = os.read(read_fd, 64)
                if not data:                 # the write end closed: __exit__
                    return
                for signum in data:
                    if signum in (signal.SIGINT, signal.SIGTERM):
                        seen += 1
                        if seen >= 2:
                            self._exit_at_once(signum)
                        timer = threading.Timer(self.STUCK_AFTER, self._cancel_wait)
                        timer.daemon = True
                        timer.start()
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                os.close(read_fd)

    def _cancel_wait(self) -> None:
        """The first signal not heard after STUCK_AFTER: the main thread is in C
        code. On PostgreSQL that is a statement waiting (a lock another session
        holds: trial-16a F4), which a signal does not end (libpq retries on
        EINTR): cancel it, so that the main thread gets back to Python and the
        handler's Interrupted stops the run as usual. Only then: a cancel sent
        while it is not stuck could hit the statement that pauses a download.
        (SQLite's busy wait returns by itself within a slice: see the class docstring.)"""
        if self.received is not None:
            return
        database = db_proxy.obj
        conn = getattr(database, 'stalkeer_main_connection', None) if is_postgres(database) else None
        if conn is not None and not conn.closed:
            with contextlib.suppress(Exception):
                conn.cancel()
                log.debug('interrupt: cancelled the statement PostgreSQL kept waiting')

    def _record(self, signum, frame):
        """The handler while __exit__ undoes the others: the command has ended,
        so a signal stops nothing any more; raised there, Interrupted escaped
        main() as a traceback (a newcomer trial: SIGTERM as `download` exited)."""
        if self.received is None:
            self.received = signum

    def __exit__(self, *exc):
        for signum in self.previous:
            signal.signal(signum, self._record)
        if self._wakeup is not None:
            write_fd, previous = self._wakeup
            with contextlib.suppress(ValueError, OSError):
                signal.set_wakeup_fd(previous)
            os.close(write_fd)
            self._wakeup = None
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        RUN_STOP.clear()


def _standard_streams() -> None:
    """Started with stdin, stdout or stderr closed (`>&-`, `2>&-`): that
    descriptor is opened on /dev/null, and a closed sys.stdout/sys.stderr
    (None, which Python sets) writes there, so what would be printed is
    discarded and the run goes on (trial-17a F7: a traceback, exit 1, after
    `process` had stored everything). Left free, descriptor 1 or 2 would go
    to the next file opened (the log, a lock, a download), and a line meant
    for the screen into it."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:
            continue
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        else:
            os.set_inheritable(fd, True)
    for name, fd in (('stdout', 1), ('stderr', 2)):
        if getattr(sys, name) is None:
            with contextlib.suppress(OSError):
                setattr(sys, name, open(fd, 'w', encoding='utf-8', errors='backslashreplace',
                                        closefd=False))


# The options and arguments that are a path, and what an error calls each:
# their values get the hints a key's value gets (Config.given_values). --db is
# the database URL's source (Config.database_url_source); a --config that is
# no file is refused before there is a Config (Config.discover says its hint);
# a URL argument holding a comment holds a space, refused by http_url_error
# with the hint.
_GIVEN_PATHS = (('config', '--config'), ('log_file', '--log-file'), ('playlist', 'PLAYLIST'),
                ('dest', 'DEST'))


# What an empty option or argument is refused with: its name, what to give.
# Without one it was taken as not given: `process ''` read [m3u] file_path,
# `--config ''` the file found, `--log-file ''` [logging] file, `download URL
# ''` saved into the working folder. --db and a URL are refused by their own
# check, in its words (parse_database_url, http_url_error).
_EMPTY_ARGUMENTS = {
    'config': ('--config', 'a configuration file, or leave the option out'),
    'log_file': ('--log-file', 'a file to append log lines to, or leave the option out'),
    'playlist': ('PLAYLIST', 'a playlist file, or leave it out to read [m3u] file_path'),
    'dest': ('DEST', 'a file or a folder to save into'),
    'title': ('--title', 'a name, or leave the option out'),
    'query': ('QUERY', 'words to look for'),
    'host': ('--host', 'an address to listen on, as 127.0.0.1'),
}
_REFUSED_BY_THEIR_CHECK = frozenset({'db', 'url'})


def empty_argument_problem(args) -> str | None:
    """The one line refusing the first option or argument of ``args`` (parsed)
    given empty or blank, or None. Every text one is looked at, so that one
    added later is refused too (named by its dest until _EMPTY_ARGUMENTS has it)."""
    for dest, value in vars(args).items():
        if isinstance(value, str) and not value.strip() and dest not in _REFUSED_BY_THEIR_CHECK:
            where, what = _EMPTY_ARGUMENTS.get(dest, (dest.upper(), 'a value'))
            return f'{where} is empty: give {what}'
    return None


def quoted_argument_problem(args) -> str | None:
    """The one line refusing the first path option or argument of ``args``
    (parsed) given in quotes (quoted_path_problem: as a path key is), or None.
    Not `config`'s --log-file: `config` shows every value even when one is
    wrong, and names that one with the others (config_checks)."""
    return next(filter(None, (quoted_path_problem(where, value)
                              for where, value in command_line_values(args)
                              if not (args.command == 'config' and where == '--log-file'))), None)


def command_line_values(args) -> list[tuple[str, str]]:
    """(what an error calls it, value) of each path ``args`` (parsed) holds:
    '--config', '--log-file', 'PLAYLIST', 'DEST'."""
    return [(where, getattr(args, name)) for name, where in _GIVEN_PATHS
            if getattr(args, name, None) is not None]


def main(argv=None) -> int:
    """Entry point; returns the exit code (tests call it directly)."""
    _standard_streams()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # --help/--version went to stdout past the console: a full disk there is told too.
        console = Console()
        console._stdout_failed(parser.stdout_failure)
        return console.end(exc.code if isinstance(exc.code, int) else EXIT_USAGE)
    # What a query prints (status, lines, config…) is an answer, not an event for the log.
    console = Console(quiet=args.quiet, record=args.command not in QUERY_COMMANDS)
    if args.command is None:
        # `python stalkeer.py` alone: what it can do, not just "COMMAND is required".
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    empty = empty_argument_problem(args) or quoted_argument_problem(args)
    if empty:
        console.error(empty)
        return EXIT_USAGE
    if not _loads('peewee'):          # installed, yet its import fails
        MISSING_PACKAGES.append('peewee')
    if MISSING_PACKAGES:
        console.error(missing_packages_message(MISSING_PACKAGES))
        return EXIT_USAGE
    define_models()
    HELD_NOTES.hold(())         # main() may run more than once in a process (tests)
    run = _Run(console)
    cfg = None
    with _SignalHandlers(), _StrayErrorsLogged():
        try:
            # `config` reads past the file's mistakes and names them all (cmd_config).
            cfg = Config.discover(args.config, db_url=args.db, tolerant=args.command == 'config')
            cfg.register_secrets()
            cfg.given = command_line_values(args)
            setup_logging(cfg, args.verbose, args.quiet, args.log_file, strict=args.command != 'config')
            log.debug('config file: %s', cfg.path or 'none (built-in defaults)')
            # A dry run is a person trying things: it must not tell healthchecks a
            # cron run succeeded, nor post an empty summary. Started before the
            # other keys are checked, so that a bad value is a failure it reports
            # (trial-15d F4); a bad [notify] key itself leaves nobody to tell.
            if args.command in NOTIFYING_COMMANDS and not getattr(args, 'dry_run', False):
                run.notifier = Notifier(cfg, args.command)
                run.notifier.start()
            # `config` lists unknown keys itself, shows a broken configuration,
            # and --check says what is wrong with it.
            if args.command != 'config':
                for warning in cfg.unknown_keys():
                    log.warning('%s', warning)
                # Said before the run's first line, unless that line is the
                # error refusing the value, which says it (HeldNotes).
                HELD_NOTES.hold(cfg.inline_comment_pairs())
                for warning in cfg.check(args.command):
                    HELD_NOTES.drop(warning)        # it carries the hint
                    HELD_NOTES.add(warning)
            run.app = App(args, cfg, console)
            run.app.notifier = run.notifier
            code = args.func(run.app)
            HELD_NOTES.release()        # a run that wrote no line
            code = console.end(code)
            if code != EXIT_OK and console.errors:      # a command that said why and returned
                run.counts.setdefault('error', console.errors[-1])
            run.notify(code)
            return code
        except StalkeerError as exc:
            # `config` names every mistake found together; a command stops at the first.
            problems = getattr(exc, 'problems', None) if args.command == 'config' else None
            problems = [cfg.explained(p) if cfg else p for p in problems or [str(exc)]]
            for problem in problems[:-1]:
                console.error(problem)
            return run.failed(exc.exit_code, problems[-1])
        except database_errors() as exc:
            # peewee's, and the drivers' own from the bulk paths' raw cursors (a
            # PostgreSQL deadlock was a traceback: trial-15c F3). Told as one line,
            # and to the notifier (trial-15c F4: a run failing mid-import sent nothing).
            # `process` commits batch by batch: what to do now, as for a stop (trial-16a F9).
            after = interrupted_what_now(args) if args.command == 'process' else ''
            return run.failed(EXIT_USAGE, f'database error: {first_line(exc)}{after}')
        except Interrupted as exc:
            # Asked for (Ctrl-C, a service stop): said plainly, not as an error; a
            # cron run's healthcheck hears that it did not finish (trial-15d F3).
            stopped = f'interrupted by {signal.Signals(exc.signum).name}: stopped'
            console.notice(stopped + interrupted_what_now(args))
            run.counts.setdefault('error', stopped)
            code = console.end(exc.exit_code)
            run.notify(code)
            return code
        except BrokenPipeError:
            # `stalkeer ... | head`: the reader left during a write that did not
            # go through the console (write_line handles those, and the command
            # goes on). Python would print a traceback at exit when flushing
            # stdout; point it at /dev/null. The command was cut short here.
            _discard_output(sys.stdout)
            return EXIT_FAILED
        except Exception as exc:
            # A fault of stalkeer's own: its traceback is what a bug report needs,
            # but a cron run's healthcheck must hear of the failure first.
            run.counts.setdefault('error', redact(f'internal error: {type(exc).__name__}: {first_line(exc)}'))
            run.notify(EXIT_FAILED)
            raise
        finally:
            if run.app is not None:
                run.app.close()


class _Run:
    """main()'s one run: the App once it is made, the notifier once it is
    started; whatever ends the run tells the notifier once."""

    def __init__(self, console: Console):
        self.console = console
        self.app: App | None = None
        self.notifier: Notifier | None = None
        self._counts: dict = {}

    @property
    def counts(self) -> dict:
        """What the command did (App.run_counts), or what ended it before."""
        return self.app.run_counts if self.app is not None else self._counts

    def notify(self, code: int) -> None:
        if self.notifier is not None:
            warnings = self.app.run_warnings if self.app is not None else []
            self.notifier.finish(code, self.counts, warnings)
            self.notifier = None

    def failed(self, code: int, message: str) -> int:
        """A run that failed: one line on stderr, and the notifier told (with why)."""
        self.console.error(message)
        self.counts.setdefault('error', self.console.errors[-1])
        code = self.console.end(code)
        self.notify(code)
        return code


class _StrayErrorsLogged:
    """While a command runs, an exception that C code prints instead of raising
    (PyErr_Print: sys.excepthook; PyErr_WriteUnraisable: sys.unraisablehook)
    goes to the log as one redacted line, not to stderr: psycopg2's COPY
    printed eight lines of traceback, whose server context quoted a row of the
    playlist with its URL, when its connection was killed (trial-15d F1). The
    error that follows is raised as usual. Outside a command (a fault
    escaping main()), tracebacks print as before: _print_redacted."""

    def __enter__(self):
        self.previous = sys.excepthook, sys.unraisablehook
        sys.excepthook = lambda exc_type, exc, tb: self._log(exc if exc is not None else exc_type)
        sys.unraisablehook = lambda unraisable: self._log(unraisable.exc_value or unraisable.exc_type)
        return self

    @staticmethod
    def _log(exc) -> None:
        log.debug('an error printed past the command (%s): %s', type(exc).__name__, first_line(exc))

    def __exit__(self, *exc_info):
        sys.excepthook, sys.unraisablehook = self.previous


def _print_redacted(exc_type, exc, tb) -> None:
    """sys.excepthook of the script: a fault of stalkeer's own prints its
    traceback, as a bug report needs it, with secrets masked like any output."""
    import traceback
    with contextlib.suppress(OSError, ValueError, AttributeError):     # a dead stderr: nowhere to say it
        sys.stderr.write(redact(''.join(traceback.format_exception(exc_type, exc, tb))))
        sys.stderr.flush()


def database_errors() -> tuple:
    """The exception classes a database failure raises: peewee's, and those of
    the drivers loaded (BulkWriter's raw cursors are not wrapped by peewee)."""
    errors = [peewee.PeeweeException]
    for driver in ('sqlite3', 'psycopg2'):
        module = sys.modules.get(driver)
        if module is not None:
            errors.append(module.Error)
    return tuple(errors)


def interrupted_what_now(args) -> str:
    """What a command stopped by SIGINT/SIGTERM leaves, in the words that fit
    it (trial-15 F6: process, which pauses nothing, said "what was paused
    resumes"): '; …', or '' when there is nothing to add."""
    command = args.command
    if getattr(args, 'dry_run', False):
        return '; a dry run changes nothing'
    if command in ('download', 'radarr', 'sonarr', 'resume-downloads'):
        if RUN_STOP.unrecorded:
            # Their rows still name this run as a fresh holder (trial-18b L1).
            return ('; what was paused resumes on the next run, what could not be recorded as paused '
                    'once its lock is stale (lock_timeout_seconds)')
        return '; what was paused resumes on the next run'
    if command == 'process':
        return '; the lines stored so far are kept; run process again'
    if command == 'm3u-download':
        return '; the playlist in place is kept; run m3u-download again'
    return ''


if __name__ == '__main__':
    # Everything built so far (the module's functions, classes, tables and the
    # standard modules) lives as long as the process: moved out of the cyclic
    # collector's sight, no collection walks it again, including the full one
    # at exit (~3% of a `--version` run, ~8% with cached bytecode; bench/RESULTS.md).
    gc.freeze()
    sys.excepthook = _print_redacted
    sys.exit(main())
