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
downloader, commands, main.
"""

# ==== imports =================================================================

from __future__ import annotations

import argparse
import configparser
import dataclasses
import datetime as dt
import email.utils
import errno
import logging
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable, Iterable, Iterator

import peewee
import requests
import urllib3

# ==== optional dependencies ===================================================

try:  # the progress bar is nice to have; cron runs never need it
    from tqdm import tqdm
except ImportError:  # pragma: no cover - tqdm is in requirements.txt
    tqdm = None

try:  # only needed for postgresql:// database URLs
    import psycopg2  # noqa: F401
except ImportError:  # pragma: no cover - depends on the box
    psycopg2 = None

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

# Read size for the body. Large so Python is not the bottleneck; read1() returns
# whatever the socket has, so a slow server still gives us frequent heartbeats.
CHUNK_SIZE = 1 * MiB
# With no validator to send in If-Range we re-fetch this much of what we already
# have and compare it before appending, so a changed file is never spliced.
RESUME_OVERLAP = 64 * 1024
# How often progress hooks are called at most (the tqdm bar and the log line).
HOOK_INTERVAL = 0.2

MEDIA_EXTENSIONS = frozenset(
    '.mkv .mp4 .avi .m4v .mov .wmv .mpg .mpeg .ts .m2ts .webm .flv .ogv .3gp .divx .vob'.split())
CONTENT_TYPE_EXTENSIONS = {
    'video/x-matroska': '.mkv', 'video/mp4': '.mp4', 'video/x-msvideo': '.avi',
    'video/avi': '.avi', 'video/quicktime': '.mov', 'video/webm': '.webm',
    'video/mp2t': '.ts', 'video/mpeg': '.mpg', 'video/x-m4v': '.m4v',
    'video/x-flv': '.flv', 'video/x-ms-wmv': '.wmv',
}
DEFAULT_EXTENSION = '.mkv'

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


class DatabaseError(StalkeerError):
    """The database cannot be opened or answered with an error."""


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
    """The body ended before Content-Length bytes arrived."""


class RestartDownload(RetryableDownloadError):
    """What we have on disk cannot be continued: start again from byte 0."""


class DiskSpaceError(DownloadError):
    """Not enough room (checked up front) or the disk filled up mid-transfer."""


class PlaylistError(StalkeerError):
    """The playlist cannot be fetched, read or parsed at all."""


class LeaseLost(StalkeerError):
    """Our lock on a download row was taken over; we must stop touching it."""
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


def utcnow() -> dt.datetime:
    """Naive UTC timestamp: what every timestamp column stores."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


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


# ---- redaction ---------------------------------------------------------------
# Xtream-style playlist URLs carry the account in the path (/movie/USER/PASS/1.mkv)
# or the query (get.php?username=..&password=..); API keys and database passwords
# are secrets too. Everything printed or logged goes through redact().

_XTREAM_PREFIXES = ('movie', 'movies', 'series', 'live', 'timeshift', 'vod')
_SECRET_QUERY_KEYS = frozenset({
    'username', 'password', 'user', 'pass', 'passwd', 'pwd', 'token', 'apikey',
    'api_key', 'key', 'auth', 'secret'})
_URL_IN_TEXT = re.compile(r'''\b(?:https?|rtmps?|rtsp|postgres(?:ql)?)://[^\s'"<>]+''', re.I)
# Path-only forms, as requests puts them into its exception texts ("url: /movie/u/p/1.mkv").
_XTREAM_PATH_IN_TEXT = re.compile(
    r'(/(?:%s)/)[^/\s]+/[^/\s]+(?=/)' % '|'.join(_XTREAM_PREFIXES), re.I)
_SECRET_QUERY_IN_TEXT = re.compile(
    r'([?&](?:%s)=)[^&#\s\'"]+' % '|'.join(sorted(_SECRET_QUERY_KEYS)), re.I)


class Redactor:
    """Knows the secrets of this run and masks them in any text."""

    def __init__(self):
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret) -> None:
        # Very short strings would mangle ordinary words; they are masked
        # through the URL patterns instead.
        if secret and len(str(secret)) >= 4:
            with self._lock:
                self._secrets.add(str(secret))

    def __call__(self, text) -> str:
        if text is None:
            return ''
        text = str(text)
        text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
        text = _XTREAM_PATH_IN_TEXT.sub(r'\1***/***', text)
        text = _SECRET_QUERY_IN_TEXT.sub(r'\1***', text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, '***')
        return text


redact = Redactor()


def redact_url(url: str) -> str:
    """Mask credentials in one URL: userinfo, Xtream path segments, query values."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return '<unparsable url>'
    if parts.scheme.lower() == 'sqlite':
        return url   # a file path, nothing secret
    netloc = parts.netloc
    if '@' in netloc:
        userinfo, host = netloc.rsplit('@', 1)
        user = userinfo.split(':', 1)[0]
        netloc = (f'{user}:***@{host}' if ':' in userinfo else f'***@{host}')
    segments = parts.path.split('/')
    # ['', 'movie', 'USER', 'PASS', '1.mkv']
    if len(segments) >= 5 and segments[1].lower() in _XTREAM_PREFIXES:
        segments[2] = segments[3] = '***'
    # Live streams without a prefix: /USER/PASS/12345 (optionally with an extension)
    elif len(segments) == 4 and re.fullmatch(r'\d+(?:\.\w{1,5})?', segments[3]):
        segments[1] = segments[2] = '***'
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = '&'.join(
            f'{k}=***' if k.lower() in _SECRET_QUERY_KEYS else
            (f'{k}={v}' if v or '=' in query else k)
            for k, v in pairs)
    return urllib.parse.urlunsplit((parts.scheme, netloc, '/'.join(segments), query, parts.fragment))


def register_url_secrets(url: str) -> None:
    """Remember the credentials inside a URL so they are masked wherever they show up."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return
    if parts.password:
        redact.add(urllib.parse.unquote(parts.password))
    segments = parts.path.split('/')
    if len(segments) >= 5 and segments[1].lower() in _XTREAM_PREFIXES:
        redact.add(segments[3])
        redact.add(segments[2])
    for key, value in urllib.parse.parse_qsl(parts.query):
        if key.lower() in _SECRET_QUERY_KEYS:
            redact.add(value)


class RedactingFormatter(logging.Formatter):
    def format(self, record):
        return redact(super().format(record))


# ---- files and paths -----------------------------------------------------------


def detect_extension(url: str, content_type: str | None = None) -> str:
    """Extension from the URL path (or an XUI ``#.mkv`` fragment), else Content-Type, else .mkv."""
    parts = urllib.parse.urlsplit(url)
    for candidate in (parts.path, parts.fragment):
        ext = os.path.splitext(candidate)[1].lower()
        if ext in MEDIA_EXTENSIONS:
            return ext
    if content_type:
        ext = CONTENT_TYPE_EXTENSIONS.get(content_type.split(';')[0].strip().lower())
        if ext:
            return ext
    return DEFAULT_EXTENSION


def has_media_extension(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in MEDIA_EXTENSIONS


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
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


_CONTENT_RANGE = re.compile(r'bytes\s+(\d+)-(\d+)/(\d+|\*)', re.I)
_CONTENT_RANGE_UNSATISFIED = re.compile(r'bytes\s+\*/(\d+)', re.I)


def parse_content_range(value):
    """``bytes 0-99/1234`` -> (0, 99, 1234); total None when ``*``."""
    m = _CONTENT_RANGE.match(value or '')
    if not m:
        return None
    total = None if m.group(3) == '*' else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), total


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
    },
    'm3u': {
        'url': '',
        'file_path': 'playlist.m3u',
        'archive_dir': 'm3u_archive',
        'retention_count': '7',
        'max_file_size_mb': '500',
    },
    'logging': {
        'level': 'INFO',
        'file': '',
        'progress_log_seconds': '30',
    },
}


class Config:
    """stalkeer.ini plus environment overrides, with typed, validated getters.

    Precedence for a key: ``STALKEER_<SECTION>_<KEY>`` in the environment, then
    the file, then DEFAULTS. For the database URL: ``--db``, then
    ``DATABASE_URL``, then ``STALKEER_DATABASE_URL``/the file.
    """

    def __init__(self, path: str | None = None, env=None, db_url: str | None = None):
        self.path = path
        self.env = os.environ if env is None else env
        self.base_dir = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
        self.parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
        self.parser.read_dict(DEFAULTS)
        if path:
            try:
                with open(path, encoding='utf-8') as fh:
                    self.parser.read_file(fh, source=path)
            except OSError as exc:
                raise ConfigError(f'cannot read config file {path}: {exc.strerror}') from None
            except configparser.Error as exc:
                first = str(exc).strip().splitlines()[0]
                raise ConfigError(f'config file {path} is not valid: {first}') from None
        self.db_url_override = db_url

    @classmethod
    def discover(cls, explicit: str | None = None, env=None, db_url: str | None = None) -> 'Config':
        """--config FILE, else $STALKEER_CONFIG, else ./stalkeer.ini, else beside stalkeer.py."""
        env = os.environ if env is None else env
        if explicit:
            if not os.path.isfile(explicit):
                raise ConfigError(f'config file not found: {explicit}')
            return cls(explicit, env, db_url)
        if env.get('STALKEER_CONFIG'):
            path = env['STALKEER_CONFIG']
            if not os.path.isfile(path):
                raise ConfigError(f'config file not found: {path} (from $STALKEER_CONFIG)')
            return cls(path, env, db_url)
        for candidate in (os.path.join(os.getcwd(), 'stalkeer.ini'), str(HERE / 'stalkeer.ini')):
            if os.path.isfile(candidate):
                return cls(candidate, env, db_url)
        return cls(None, env, db_url)

    # -- raw access ---------------------------------------------------------
    def _source(self, section, key):
        env_name = f'STALKEER_{section}_{key}'.upper()
        if env_name in self.env:
            return self.env[env_name], f'{env_name} (environment)'
        if self.parser.has_option(section, key):
            return self.parser.get(section, key), f'[{section}] {key}'
        return None, f'[{section}] {key}'

    def get(self, section, key, default=None) -> str | None:
        value, _ = self._source(section, key)
        if value is None:
            return default
        return value.strip()

    def getint(self, section, key, minimum=None) -> int:
        value, where = self._source(section, key)
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            raise ConfigError(f'{where} must be a whole number, got {value!r}') from None
        if minimum is not None and number < minimum:
            raise ConfigError(f'{where} must be at least {minimum}, got {number}')
        return number

    def getfloat(self, section, key, minimum=None) -> float:
        value, where = self._source(section, key)
        try:
            number = float(str(value).strip())
        except (TypeError, ValueError):
            raise ConfigError(f'{where} must be a number, got {value!r}') from None
        if number != number or (minimum is not None and number < minimum):
            raise ConfigError(f'{where} must be a number of at least {minimum}, got {value!r}')
        return number

    def getbool(self, section, key) -> bool:
        value, where = self._source(section, key)
        lowered = str(value).strip().lower()
        if lowered in ('1', 'yes', 'true', 'on'):
            return True
        if lowered in ('0', 'no', 'false', 'off', ''):
            return False
        raise ConfigError(f'{where} must be true or false, got {value!r}')

    def getpath(self, section, key) -> str | None:
        """A path; relative ones are resolved against the config file's folder."""
        value = self.get(section, key)
        if not value:
            return None
        value = os.path.expanduser(value)
        return value if os.path.isabs(value) else os.path.join(self.base_dir, value)

    # -- derived --------------------------------------------------------------
    @property
    def database_url(self) -> str:
        if self.db_url_override:
            return self.db_url_override
        if self.env.get('DATABASE_URL'):
            return self.env['DATABASE_URL']
        return self.get('database', 'url')

    @property
    def database_url_source(self) -> str:
        if self.db_url_override:
            return '--db'
        if self.env.get('DATABASE_URL'):
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
            connect_timeout=cfg.getfloat(s, 'connect_timeout', minimum=0.1),
            read_timeout=cfg.getfloat(s, 'read_timeout', minimum=0.1),
            retry_attempts=cfg.getint(s, 'retry_attempts', minimum=1),
            max_retry_attempts=cfg.getint(s, 'max_retry_attempts', minimum=0),
            backoff_base=cfg.getfloat(s, 'retry_backoff_seconds', minimum=0),
            backoff_max=cfg.getfloat(s, 'retry_backoff_max_seconds', minimum=0),
            progress_interval_bytes=int(cfg.getfloat(s, 'progress_interval_mb', minimum=0) * MiB),
            progress_interval_seconds=cfg.getfloat(s, 'progress_interval_seconds', minimum=0),
            lock_timeout=cfg.getfloat(s, 'lock_timeout_seconds', minimum=1),
            min_free_space=int(cfg.getfloat(s, 'min_free_space_mb', minimum=0) * MiB),
            user_agent=cfg.get(s, 'user_agent') or f'stalkeer/{__version__}',
        )
        if settings.progress_interval_seconds >= settings.lock_timeout:
            raise ConfigError(
                '[downloads] progress_interval_seconds must be smaller than lock_timeout_seconds '
                '(every progress save renews the lock)')
        return settings


# ==== models and database ======================================================

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

    class Meta:
        table_name = 'download_info'

    @property
    def percent(self) -> float | None:
        if not self.total_bytes:
            return None
        return 100.0 * (self.bytes_downloaded or 0) / self.total_bytes


class ProcessedLine(BaseModel):
    """A playlist line stalkeer knows about; ``state`` mirrors its download."""
    state = peewee.CharField(max_length=16, default='processed', index=True,
                             constraints=_default("'processed'"))
    download_info = peewee.ForeignKeyField(
        DownloadInfo, null=True, column_name='download_info_id', on_delete='SET NULL',
        backref='lines')
    created_at = peewee.DateTimeField(default=utcnow, constraints=_default('CURRENT_TIMESTAMP'))
    updated_at = peewee.DateTimeField(default=utcnow, constraints=_default('CURRENT_TIMESTAMP'))

    class Meta:
        table_name = 'processed_lines'


MODELS = (DownloadInfo, ProcessedLine)


class StalkeerSqliteDatabase(peewee.SqliteDatabase):
    """SQLite tuned for several processes: WAL, a long busy timeout and
    ``BEGIN IMMEDIATE`` for every transaction, so a read-then-write never dies
    with "database is locked" halfway (the write lock is taken up front)."""


class StalkeerPostgresqlDatabase(peewee.PostgresqlDatabase):
    """PostgreSQL with the session in UTC, so timestamps mean the same everywhere."""

    def _initialize_connection(self, conn):
        with conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            if getattr(self, 'stalkeer_schema', None):
                cur.execute('CREATE SCHEMA IF NOT EXISTS "%s"' % self.stalkeer_schema)
                cur.execute('SET search_path TO "%s"' % self.stalkeer_schema)
        conn.commit()


def is_postgres(db) -> bool:
    db = db.obj if isinstance(db, peewee.DatabaseProxy) else db
    return isinstance(db, peewee.PostgresqlDatabase)


def parse_database_url(url: str, base_dir: str, source: str = '[database] url') -> dict:
    """Split a database URL into what the driver needs. Raises ConfigError."""
    if not url:
        raise ConfigError(f'{source} is empty; use sqlite:///stalkeer.db or postgresql://user@host/db')
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == 'sqlite':
        # sqlite:///relative.db -> 'relative.db'; sqlite:////abs.db -> '/abs.db'
        path = urllib.parse.unquote(url.split('://', 1)[1])
        if path.startswith('/'):
            path = path[1:]
        if not path:
            raise ConfigError(f'{source}: no file name in {url!r}')
        if path != ':memory:' and not os.path.isabs(path):
            path = os.path.join(base_dir, os.path.expanduser(path))
        return {'kind': 'sqlite', 'path': path}
    if scheme in ('postgresql', 'postgres', 'postgresql+psycopg2'):
        params = dict(urllib.parse.parse_qsl(parts.query))
        schema = params.pop('schema', None)
        if schema and not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]{0,62}', schema):
            raise ConfigError(f'{source}: schema must be a plain identifier, got {schema!r}')
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f'{source}: the port is not a number') from None
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
    shown = scheme or url
    raise ConfigError(f'{source}: unknown database scheme {shown!r}; '
                      'use sqlite:///path/to/stalkeer.db or postgresql://user:pass@host/db')


def open_database(url: str, base_dir: str, source: str = '[database] url', migrate=True):
    """Open (and by default create/upgrade) the database behind ``url``; binds the models."""
    spec = parse_database_url(url, base_dir, source)
    if spec['kind'] == 'sqlite':
        path = spec['path']
        journal = 'wal'
        if path != ':memory:':
            folder = os.path.dirname(path) or '.'
            if not os.path.isdir(folder):
                raise DatabaseError(f'cannot open database {path}: folder {folder} does not exist')
            fstype = filesystem_type(folder)
            if fstype in NETWORK_FILESYSTEMS:
                journal = 'delete'
                log.warning('database %s is on a network filesystem (%s): WAL is unsafe there, '
                            'using a rollback journal; for several machines use PostgreSQL',
                            path, fstype)
        db = StalkeerSqliteDatabase(
            path, timeout=15, lock_type='IMMEDIATE',
            pragmas={'journal_mode': journal, 'busy_timeout': 15000,
                     'synchronous': 'normal', 'foreign_keys': 1})
    else:
        if psycopg2 is None:
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
        raise DatabaseError(f'cannot open database {redact_url(url)}: {first_line(exc)}') from None
    if migrate:
        migrate_schema(db)
    return db


def first_line(exc) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return redact(text.splitlines()[0])


def migrate_schema(db) -> list[str]:
    """Create missing tables, add missing columns and indexes. Idempotent and
    safe to run from several processes at once. Returns what it changed."""
    from playhouse.migrate import migrate as run_migrations, SchemaMigrator
    changes = []
    try:
        with db.atomic():
            if is_postgres(db):
                # Concurrent CREATE TABLE IF NOT EXISTS can still collide in
                # PostgreSQL's catalog; serialise schema changes.
                db.execute_sql('SELECT pg_advisory_xact_lock(741852963)')
            existing_tables = set(db.get_tables())
            migrator = SchemaMigrator.from_database(db)
            for model in MODELS:
                table = model._meta.table_name
                if table not in existing_tables:
                    changes.append(f'created table {table}')
                    continue
                have = {c.name for c in db.get_columns(table)}
                for field in model._meta.sorted_fields:
                    if field.column_name not in have:
                        run_migrations(migrator.add_column(table, field.column_name, field))
                        changes.append(f'added column {table}.{field.column_name}')
            db.create_tables(MODELS, safe=True)
    except peewee.PeeweeException as exc:
        raise DatabaseError(f'cannot create or upgrade the tables: {first_line(exc)}') from None
    for change in changes:
        log.info('migrate: %s', change)
    return changes


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


class StateManager:
    """Download rows and their locks, with optimistic locking.

    A lock is a lease: ``locked_by`` (this process run) and ``locked_at``
    (renewed on every progress save). Taking it is one compare-and-set UPDATE
    whose row count decides; a lease is stale only when it stopped being
    renewed for ``lock_timeout`` seconds. Every write we make to a row we hold
    is conditioned on ``locked_by = owner``: if that matches no row the lease
    was lost and :class:`LeaseLost` is raised, so we never write again.
    """

    def __init__(self, lock_timeout: float = 300, max_retry_attempts: int = 5, owner=None):
        self.lock_timeout = lock_timeout
        self.max_retry_attempts = max_retry_attempts
        self.owner = owner or make_owner_id()

    # -- rows -----------------------------------------------------------------
    def get_or_create(self, url: str, destination: str, title: str | None = None,
                      processed_line_id: int | None = None) -> DownloadInfo:
        """The row for ``destination``, created if needed (race-free: unique key)."""
        now = utcnow()
        DownloadInfo.insert(url=url, destination=destination, title=title, status=PENDING,
                            created_at=now, updated_at=now).on_conflict_ignore().execute()
        info = DownloadInfo.get(DownloadInfo.destination == destination)
        if processed_line_id is not None:
            (ProcessedLine.update(download_info=info.id, state='pending', updated_at=now)
             .where(ProcessedLine.id == processed_line_id).execute())
        return info

    def get(self, download_id: int) -> DownloadInfo:
        return DownloadInfo.get_by_id(download_id)

    # -- locking ----------------------------------------------------------------
    def _free_or_stale(self):
        return (DownloadInfo.locked_at.is_null()
                | (DownloadInfo.locked_at < db_now(-self.lock_timeout)))

    def acquire(self, download_id: int) -> bool:
        """Take the lease with one compare-and-set; True when we hold it."""
        updated = (DownloadInfo
                   .update(locked_by=self.owner, locked_at=db_now(), updated_at=db_now())
                   .where((DownloadInfo.id == download_id)
                          & (self._free_or_stale() | (DownloadInfo.locked_by == self.owner)))
                   .execute())
        return updated == 1

    def release(self, download_id: int) -> bool:
        """Drop our own lease; someone else's is never touched."""
        return (DownloadInfo.update(locked_by=None, locked_at=None, updated_at=db_now())
                .where((DownloadInfo.id == download_id) & (DownloadInfo.locked_by == self.owner))
                .execute()) == 1

    def clean_stale_locks(self) -> int:
        """Clear leases that stopped beating; a row left ``downloading`` becomes ``paused``."""
        stale = DownloadInfo.locked_at < db_now(-self.lock_timeout)
        with db_proxy.atomic():
            (DownloadInfo.update(status=PAUSED, updated_at=db_now(),
                                 error_message='interrupted: the process holding the lock stopped')
             .where(stale & (DownloadInfo.status == DOWNLOADING)).execute())
            cleared = (DownloadInfo.update(locked_by=None, locked_at=None, updated_at=db_now())
                       .where(stale).execute())
        if cleared:
            log.info('cleared %d stale lock(s)', cleared)
        return cleared

    # -- transitions (all conditioned on holding the lease) ----------------------
    def _owned_update(self, download_id: int, line_state: str | None = None, **fields) -> None:
        fields.setdefault('updated_at', db_now())
        with db_proxy.atomic():
            updated = (DownloadInfo.update(**fields)
                       .where((DownloadInfo.id == download_id)
                              & (DownloadInfo.locked_by == self.owner))
                       .execute())
            if updated != 1:
                raise LeaseLost(f'download {download_id}: lost the lock to another instance')
            if line_state:
                (ProcessedLine.update(state=line_state, updated_at=utcnow())
                 .where(ProcessedLine.download_info == download_id).execute())

    def start(self, info: DownloadInfo, part_path: str, url: str | None = None) -> None:
        """-> downloading. Resuming a failed attempt counts as a retry."""
        fields = dict(status=DOWNLOADING, part_path=part_path,
                      started_at=peewee.fn.COALESCE(DownloadInfo.started_at, db_now()),
                      completed_at=None)
        if info.status in (FAILED, RETRYING):
            fields.update(retry_count=DownloadInfo.retry_count + 1, last_retry_at=db_now())
        if url and url != info.url:
            fields.update(url=url, resume_token=None, bytes_downloaded=0, total_bytes=None)
        self._owned_update(info.id, line_state='downloading', **fields)

    def heartbeat(self, download_id: int, bytes_downloaded: int, total_bytes=None,
                  resume_token=None) -> None:
        """Persist progress and renew the lease in one statement."""
        fields = dict(bytes_downloaded=bytes_downloaded, locked_at=db_now())
        if total_bytes is not None:
            fields['total_bytes'] = total_bytes
        if resume_token is not None:
            fields['resume_token'] = resume_token or None
        self._owned_update(download_id, **fields)

    def retrying(self, download_id: int, error: str, bytes_downloaded: int) -> None:
        self._owned_update(download_id, status=RETRYING, error_message=error,
                           bytes_downloaded=bytes_downloaded,
                           retry_count=DownloadInfo.retry_count + 1, last_retry_at=db_now(),
                           locked_at=db_now())

    def complete(self, download_id: int, path: str, size: int) -> None:
        self._owned_update(download_id, line_state='downloaded', status=COMPLETED,
                           download_path=path, file_size=size, bytes_downloaded=size,
                           total_bytes=size, completed_at=db_now(), error_message=None,
                           locked_by=None, locked_at=None)

    def fail(self, download_id: int, error: str, bytes_downloaded: int | None = None) -> None:
        fields = dict(status=FAILED, error_message=error[:2000], locked_by=None, locked_at=None)
        if bytes_downloaded is not None:
            fields['bytes_downloaded'] = bytes_downloaded
        self._owned_update(download_id, line_state='failed', **fields)

    def pause(self, download_id: int, bytes_downloaded: int | None, reason: str) -> None:
        fields = dict(status=PAUSED, error_message=reason, locked_by=None, locked_at=None)
        if bytes_downloaded is not None:
            fields['bytes_downloaded'] = bytes_downloaded
        self._owned_update(download_id, line_state='pending', **fields)

    def reset_for_force(self, download_id: int) -> None:
        self._owned_update(download_id, status=PENDING, bytes_downloaded=0, total_bytes=None,
                           resume_token=None, file_size=None, completed_at=None,
                           download_path=None, error_message=None)

    # -- queries -------------------------------------------------------------------
    def resumable(self, limit: int | None = None, max_retries: int | None = None):
        """Incomplete downloads that may be resumed now: not live-locked, under
        the retry cap; failed ones first, then oldest."""
        max_retries = self.max_retry_attempts if max_retries is None else max_retries
        query = (DownloadInfo.select()
                 .where(DownloadInfo.status.in_(RESUMABLE_STATUSES)
                        & (DownloadInfo.retry_count < max_retries)
                        & self._free_or_stale())
                 .order_by(peewee.Case(None, [(DownloadInfo.status == FAILED, 0)], 1),
                           DownloadInfo.created_at, DownloadInfo.id))
        if limit:
            query = query.limit(limit)
        return list(query)


# ==== downloader ===============================================================


@dataclasses.dataclass
class DownloadResult:
    """What happened to one download, for the command layer."""
    status: str              # completed | failed | skipped | lost
    download_id: int | None
    message: str = ''
    path: str | None = None
    size: int | None = None


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


class Downloader:
    """Tracked, resumable HTTP downloads (one at a time per instance).

    The flow of the design documents: get/create the row, take the lease,
    ``downloading``, stream into a ``.part`` file saving progress (and renewing
    the lease) every N MiB or S seconds, verify the size, fsync, rename
    atomically onto the destination, ``completed``; or ``failed`` with the
    error. Progress is reported to hooks (callables taking a status dict).
    """

    def __init__(self, settings: DownloadSettings, state: StateManager, hooks=(),
                 session: requests.Session | None = None):
        self.settings = settings
        self.state = state
        self.hooks = list(hooks)
        self.session = session or requests.Session()
        self.session.headers['User-Agent'] = settings.user_agent
        # Compression would make byte offsets meaningless for Range requests.
        self.session.headers['Accept-Encoding'] = 'identity'
        self.sleep = time.sleep

    # -- public ------------------------------------------------------------------
    def download(self, url: str, destination: str, *, title: str | None = None,
                 processed_line_id: int | None = None, force: bool = False) -> DownloadResult:
        """Download ``url`` to ``destination`` (tracked); see :meth:`run`."""
        register_url_secrets(url)
        destination = os.path.abspath(destination)
        info = self.state.get_or_create(url, destination, title, processed_line_id)
        return self.run(info, force=force, url=url)

    def run(self, info: DownloadInfo, force: bool = False, url: str | None = None) -> DownloadResult:
        """Take the lease on ``info`` and bring it to completed or failed."""
        register_url_secrets(info.url)
        label = info.title or os.path.basename(info.destination)
        if info.status == COMPLETED and not force and url in (None, info.url):
            if info.download_path and os.path.exists(info.download_path):
                return DownloadResult('skipped', info.id, f'already downloaded: {info.download_path}',
                                      info.download_path, info.file_size)
        if not self.state.acquire(info.id):
            holder = DownloadInfo.get_by_id(info.id).locked_by
            return DownloadResult('skipped', info.id, f'{label}: being downloaded by {holder}')
        part_path = None
        try:
            info = DownloadInfo.get_by_id(info.id)
            if force and info.status == COMPLETED:
                self.state.reset_for_force(info.id)
                info = DownloadInfo.get_by_id(info.id)
            part_path = info.part_path or self._part_path(info)
            if url and url != info.url and os.path.exists(part_path):
                os.unlink(part_path)   # bytes of another URL must never be continued
            self.state.start(info, part_path, url)
            info = DownloadInfo.get_by_id(info.id)
            # Logged through the redacting formatter: credentials never reach the log.
            log.info('downloading %s from %s to %s', label, info.url, info.destination)
            return self._attempts(info, part_path, force)
        except LeaseLost as exc:
            log.error('%s', exc)
            return DownloadResult('lost', info.id, str(exc))
        except Interrupted:
            self._pause_after_signal(info, part_path)
            raise
        finally:
            try:
                self.state.release(info.id)
            except peewee.PeeweeException:  # pragma: no cover - best effort
                pass

    # -- internals ---------------------------------------------------------------
    def _part_path(self, info: DownloadInfo) -> str:
        folder = self.settings.temp_dir or os.path.dirname(info.destination)
        return os.path.join(folder, f'{os.path.basename(info.destination)}.stalkeer-{info.id}.part')

    def _pause_after_signal(self, info, part_path):
        size = os.path.getsize(part_path) if part_path and os.path.exists(part_path) else None
        try:
            self.state.pause(info.id, size, 'paused by a signal')
            log.warning('paused %s at %s', info.title or os.path.basename(info.destination),
                        human_bytes(size))
        except (LeaseLost, peewee.PeeweeException):
            pass

    def _attempts(self, info: DownloadInfo, part_path: str, force: bool) -> DownloadResult:
        s = self.settings
        moved = self._moved_before_crash(info, part_path)
        if moved:
            self.state.complete(info.id, moved, info.total_bytes)
            return DownloadResult('completed', info.id, f'downloaded {moved}', moved, info.total_bytes)
        final = self._final_path(info, None)
        if os.path.exists(final) and not force:
            # Fail before fetching gigabytes we could not put anywhere.
            message = f'refusing to overwrite existing file {final} (use --force)'
            self.state.fail(info.id, message)
            return DownloadResult('failed', info.id, message)
        attempt = 0
        while True:
            attempt += 1
            # The previous attempt saved a validator and sizes: use the row as stored.
            info = DownloadInfo.get_by_id(info.id)
            try:
                size, content_type = self._transfer(info, part_path)
                final = self._final_path(info, content_type)
                self._move_into_place(part_path, final, size, force)
                self.state.complete(info.id, final, size)
                log.info('completed %s (%s)', final, human_bytes(size))
                return DownloadResult('completed', info.id, f'downloaded {final}', final, size)
            except RetryableDownloadError as exc:
                message = str(exc)
                current = DownloadInfo.get_by_id(info.id)
                if attempt >= s.retry_attempts or current.retry_count >= s.max_retry_attempts:
                    self.state.fail(info.id, message, self._part_size(part_path))
                    log.error('failed %s after %d attempt(s): %s', self._label(info), attempt, message)
                    return DownloadResult('failed', info.id, message)
                delay = backoff_delay(attempt, s.backoff_base, s.backoff_max, exc.retry_after)
                log.warning('%s: %s; retrying in %.1fs (attempt %d of %d)', self._label(info),
                            message, delay, attempt + 1, s.retry_attempts)
                self.state.retrying(info.id, message, self._part_size(part_path))
                self.sleep(delay)
            except (DownloadError, OSError) as exc:
                # OSError: a local filesystem problem nobody translated yet.
                message = str(exc) if isinstance(exc, DownloadError) else \
                    f'{exc.strerror or exc}: {exc.filename or ""}'.rstrip(': ')
                self.state.fail(info.id, message, self._part_size(part_path))
                log.error('failed %s: %s', self._label(info), message)
                return DownloadResult('failed', info.id, message)

    def _moved_before_crash(self, info, part_path) -> str | None:
        """A process that died between the rename and the final UPDATE left a
        complete file and no .part; recognise it instead of downloading again."""
        if os.path.exists(part_path) or not info.total_bytes \
                or info.bytes_downloaded != info.total_bytes:
            return None
        if has_media_extension(info.destination):
            candidates = [info.destination]
        else:
            candidates = [info.destination + ext for ext in sorted(MEDIA_EXTENSIONS)]
        for final in candidates:
            if os.path.isfile(final) and os.path.getsize(final) == info.total_bytes:
                return final
        return None

    @staticmethod
    def _label(info):
        return info.title or os.path.basename(info.destination)

    @staticmethod
    def _part_size(part_path):
        try:
            return os.path.getsize(part_path)
        except OSError:
            return 0


    def _final_path(self, info: DownloadInfo, content_type: str | None) -> str:
        """The destination, plus the detected extension when it has none.

        Library names are full of dots ("Dr. Strangelove", "Mr.Robot"), so only
        a video extension, or the very extension of the URL, counts as one."""
        suffix = os.path.splitext(info.destination)[1].lower()
        url_suffix = os.path.splitext(urllib.parse.urlsplit(info.url).path)[1].lower()
        if suffix in MEDIA_EXTENSIONS or (suffix and suffix == url_suffix):
            return info.destination
        return info.destination + detect_extension(info.url, content_type)

    def _request(self, url: str, headers: dict) -> requests.Response:
        s = self.settings
        try:
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
        except requests.exceptions.InvalidURL:
            raise DownloadError('invalid URL') from None
        except requests.exceptions.RequestException as exc:
            raise DownloadError(f'request failed: {first_line(exc)}') from None

    def _transfer(self, info: DownloadInfo, part_path: str):
        """One HTTP attempt. Returns (size, content_type) with the .part complete."""
        folder = os.path.dirname(part_path) or '.'
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f'cannot create folder {folder}: {exc.strerror}') from None
        offset = self._part_size(part_path)
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
            start, total = self._check_response(response, offset, overlap, part_path, info)
            content_type = response.headers.get('Content-Type')
            new_token = _validator(response)
            if response.status_code == 200 or not token:
                token = new_token
            remaining = (total - start) if total is not None else 0
            self._check_free_space(part_path, remaining)
            self.state.heartbeat(info.id, start, total, token or '')
            self._stream_body(info, response, part_path, start, overlap, total)
        size = self._part_size(part_path)
        if total is not None and size != total:
            raise IncompleteDownloadError(f'got {size} of {total} bytes')
        return size, content_type

    def _check_response(self, response, offset, overlap, part_path, info):
        """Decide where the body starts. Returns (start offset, total size or None)."""
        code = response.status_code
        if code == 416:
            # Range beyond the end: maybe we already have everything.
            m = _CONTENT_RANGE_UNSATISFIED.match(response.headers.get('Content-Range', ''))
            remote = int(m.group(1)) if m else None
            if remote is not None and offset == remote and offset > 0:
                return offset, remote
            self._truncate(part_path)
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
        if code == 200:
            if offset:
                log.warning('%s: server ignored the range or the file changed; starting over',
                            self._label(info))
            length = response.headers.get('Content-Length')
            return 0, int(length) if length and length.isdigit() else None
        parsed = parse_content_range(response.headers.get('Content-Range'))
        if not parsed or parsed[0] != offset - overlap:
            self._truncate(part_path)
            raise RestartDownload('server answered an unexpected range; starting over')
        return parsed[0], parsed[2]

    @staticmethod
    def _truncate(part_path):
        if os.path.exists(part_path):
            with open(part_path, 'r+b') as fh:
                fh.truncate(0)

    def _check_free_space(self, part_path: str, remaining: int) -> None:
        need = remaining + self.settings.min_free_space
        folder = os.path.dirname(part_path) or '.'
        free = shutil.disk_usage(folder).free
        if free < need:
            raise DiskSpaceError(f'not enough free space in {folder}: need {human_bytes(need)} '
                                 f'({human_bytes(remaining)} + min_free_space_mb), '
                                 f'have {human_bytes(free)}')

    def _stream_body(self, info, response, part_path, start, overlap, total):
        s = self.settings
        raw = self._body_reader(response.raw)
        progress = ProgressTracker(self.hooks, {'id': info.id, 'title': self._label(info),
                                                'filename': info.destination},
                                   start + overlap, total)
        mode = 'r+b' if os.path.exists(part_path) else 'wb'
        try:
            fh = open(part_path, mode)
        except OSError as exc:
            raise DownloadError(f'cannot write {part_path}: {exc.strerror}') from None
        with fh:
            if overlap:
                pos = self._verify_overlap(raw, fh, start, overlap)
            else:
                fh.seek(start)
                fh.truncate()
                pos = start
            saved_pos, saved_at = pos, time.monotonic()
            progress(pos, force=True)
            while True:
                try:
                    chunk = self._read(raw)
                except IncompleteDownloadError as exc:
                    raise IncompleteDownloadError(
                        f'{exc} after {pos} of {total if total is not None else "?"} bytes') from None
                if not chunk:
                    break
                try:
                    fh.write(chunk)
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:
                        raise DiskSpaceError(f'disk full while writing {part_path}') from None
                    raise DownloadError(f'cannot write {part_path}: {exc.strerror}') from None
                pos += len(chunk)
                progress(pos)
                now = time.monotonic()
                if (pos - saved_pos >= s.progress_interval_bytes
                        or now - saved_at >= s.progress_interval_seconds):
                    fh.flush()
                    # Raises LeaseLost if someone took the row: stop writing at once.
                    self.state.heartbeat(info.id, pos)
                    saved_pos, saved_at = pos, now
            fh.flush()
            os.fsync(fh.fileno())
        progress(pos, status='finished' if total in (None, pos) else 'downloading', force=True)
        self.state.heartbeat(info.id, pos)
        if total is not None and pos < total:
            raise IncompleteDownloadError(f'connection closed after {pos} of {total} bytes')

    @staticmethod
    def _body_reader(raw):
        """The fastest read1() available for this response body.

        urllib3's own read1() costs about twice the CPU of the http.client
        response underneath it (measured: bench/RESULTS.md); http.client still
        handles chunked framing and Content-Length, and we verify the size
        ourselves."""
        inner = getattr(raw, '_fp', None)
        if inner is not None and hasattr(inner, 'read1'):
            return inner.read1
        return raw.read1

    def _read(self, read1) -> bytes:
        try:
            return read1(CHUNK_SIZE)
        except (urllib3.exceptions.ReadTimeoutError, socket.timeout, TimeoutError):
            raise RetryableDownloadError(
                f'stalled: no data for {self.settings.read_timeout:g}s') from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError,
                ConnectionError, OSError) as exc:
            raise IncompleteDownloadError(f'connection broken: {_connection_reason(exc)}') from None

    def _verify_overlap(self, raw, fh, start, overlap) -> int:
        """No validator: compare re-fetched bytes with what we have before appending.

        Returns the file position after the bytes already read from the body."""
        remote = b''
        while len(remote) < overlap:
            chunk = self._read(raw)
            if not chunk:
                raise IncompleteDownloadError('connection closed while checking the resume overlap')
            remote += chunk
        fh.seek(start)
        if remote[:overlap] != fh.read(overlap):
            fh.seek(0)
            fh.truncate()
            raise RestartDownload('the file changed on the server since the last attempt; starting over')
        fh.seek(start + overlap)
        fh.truncate()
        fh.write(remote[overlap:])
        return start + len(remote)

    def _move_into_place(self, part_path: str, final: str, size: int, force: bool) -> None:
        """Atomic, never clobbering a file in the library unless ``force``."""
        folder = os.path.dirname(final) or '.'
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f'cannot create {folder}: {exc.strerror}') from None
        if os.path.exists(final) and not force:
            raise DownloadError(f'refusing to overwrite existing file {final} (use --force)')
        if os.path.getsize(part_path) != size:
            raise IncompleteDownloadError(f'{part_path} is not {size} bytes')
        try:
            _place(part_path, final, force)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                if exc.errno == errno.EEXIST:
                    raise DownloadError(f'refusing to overwrite existing file {final} (use --force)') from None
                raise DownloadError(f'cannot move the file into {folder}: {exc.strerror}') from None
            self._copy_across_filesystems(part_path, final, size, force)
        fsync_directory(folder)

    def _copy_across_filesystems(self, part_path, final, size, force):
        tmp = os.path.join(os.path.dirname(final), f'.{os.path.basename(final)}.stalkeer-copy')
        try:
            with open(part_path, 'rb') as src, open(tmp, 'wb') as dst:
                shutil.copyfileobj(src, dst, CHUNK_SIZE)
                dst.flush()
                os.fsync(dst.fileno())
            if os.path.getsize(tmp) != size:
                raise DownloadError(f'copy to {final} came out the wrong size')
            _place(tmp, final, force)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskSpaceError(f'disk full while copying to {final}') from None
            raise DownloadError(f'cannot copy into {os.path.dirname(final)}: {exc.strerror}') from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        os.unlink(part_path)


def _place(src: str, final: str, force: bool) -> None:
    """Rename ``src`` onto ``final``. Without force, link()+unlink() so an
    existing file is never replaced even if it appeared a moment ago."""
    if force:
        os.replace(src, final)
        return
    try:
        os.link(src, final)
    except OSError as exc:
        # Filesystems without hard links (FAT, some SMB shares): best effort.
        if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            if os.path.exists(final):
                raise
            os.rename(src, final)
            return
        raise
    os.unlink(src)


def _validator(response) -> str | None:
    """The validator to send in If-Range later: a strong ETag, else Last-Modified.

    Weak ETags must not be used with If-Range (RFC 9110 13.1.5).
    """
    etag = response.headers.get('ETag')
    if etag and not etag.startswith('W/'):
        return etag
    return response.headers.get('Last-Modified')


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

    @classmethod
    def from_config(cls, cfg: Config) -> 'PlaylistSettings':
        downloads = DownloadSettings.from_config(cfg)
        return cls(
            url=cfg.get('m3u', 'url') or None,
            file_path=cfg.getpath('m3u', 'file_path'),
            archive_dir=cfg.getpath('m3u', 'archive_dir'),
            retention_count=cfg.getint('m3u', 'retention_count', minimum=0),
            max_file_size=int(cfg.getfloat('m3u', 'max_file_size_mb', minimum=0.001) * MiB),
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


def looks_like_m3u(head: bytes) -> bool:
    """A playlist starts with #EXTM3U (after a BOM/blank lines) or at least has #EXTINF lines.

    Providers answer an expired account with an HTML page or a JSON error and
    status 200; accepting that would wipe a good playlist."""
    text = head.lstrip(b'\xef\xbb\xbf').lstrip()
    return text[:7].upper() == b'#EXTM3U' or b'#EXTINF' in head


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
        self.sleep = time.sleep

    def fetch(self, url: str | None = None, archive: bool = True) -> FetchResult:
        s = self.settings
        url = url or s.url
        if not url:
            raise ConfigError('no playlist URL: set [m3u] url (or STALKEER_M3U_URL), or pass --url')
        if not re.match(r'(?i)https?://', url):
            raise ConfigError(f'[m3u] url must be an http(s) URL, got {redact(url)!r}')
        register_url_secrets(url)
        folder = os.path.dirname(s.file_path) or '.'
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise PlaylistError(f'cannot create {folder}: {exc.strerror}') from None
        tmp = f'{s.file_path}.stalkeer-download'
        started = time.monotonic()
        try:
            for attempt in range(1, s.retry_attempts + 1):
                try:
                    size = self._download_to(url, tmp)
                    break
                except RetryableDownloadError as exc:
                    if attempt >= s.retry_attempts:
                        raise PlaylistError(f'playlist download failed: {exc}') from None
                    delay = backoff_delay(attempt, s.backoff_base, s.backoff_max, exc.retry_after)
                    log.warning('playlist download: %s; retrying in %.1fs', exc, delay)
                    self.sleep(delay)
                except DownloadError as exc:
                    raise PlaylistError(f'playlist download failed: {exc}') from None
            os.replace(tmp, s.file_path)
            fsync_directory(folder)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        result = FetchResult(s.file_path, size, time.monotonic() - started)
        if archive and s.archive_dir:
            result.archived, result.removed_archives = self._archive()
        log.info('playlist saved to %s (%s) from %s', s.file_path, human_bytes(size), url)
        return result

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
            length = response.headers.get('Content-Length')
            if length and length.isdigit() and int(length) > s.max_file_size:
                raise DownloadError(f'the playlist is {human_bytes(int(length))}, over '
                                    f'[m3u] max_file_size_mb ({human_bytes(s.max_file_size)})')
            size = 0
            head = b''
            try:
                with open(tmp, 'wb') as fh:
                    for chunk in response.iter_content(CHUNK_SIZE):
                        if len(head) < 65536:
                            head += chunk[:65536 - len(head)]
                            if len(head) >= 65536 and not looks_like_m3u(head):
                                raise DownloadError(_not_m3u_message(head))
                        size += len(chunk)
                        if size > s.max_file_size:
                            raise DownloadError(f'the playlist is larger than [m3u] max_file_size_mb '
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
            if not looks_like_m3u(head):
                raise DownloadError(_not_m3u_message(head))
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
            shutil.copyfile(s.file_path, target)
        except OSError as exc:
            # The new playlist is in place; a failed archive copy is not worth failing for.
            log.warning('could not archive the playlist in %s: %s', s.archive_dir, exc.strerror)
            return None, []
        return target, rotate_archives(s.archive_dir, s.file_path, s.retention_count)


def _not_m3u_message(head: bytes) -> str:
    sample = head.lstrip()[:200].decode('utf-8', 'replace').lower()
    if '<html' in sample or '<!doctype' in sample:
        kind = 'an HTML page'
    elif sample.startswith(('{', '[')):
        kind = 'JSON'
    elif not sample.strip():
        kind = 'an empty file'
    else:
        kind = 'something else'
    return f'the provider sent {kind}, not an M3U playlist; the current playlist was kept'


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


# ==== commands =================================================================


class Console:
    """The only place that writes to stdout/stderr; everything is redacted."""

    def __init__(self, quiet=False, stdout=None, stderr=None):
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def out(self, message='', always=False) -> None:
        """Normal output; ``-q`` keeps only what is ``always`` (final summaries)."""
        if always or not self.quiet:
            print(redact(message), file=self.stdout, flush=True)

    def error(self, message) -> None:
        print(f'stalkeer: error: {redact(message)}', file=self.stderr, flush=True)


def stream_is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class TqdmProgressHook:
    """A tqdm bar per download: size, speed, ETA, starting at the resumed offset."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.bars = {}

    def __call__(self, d: dict) -> None:
        bar = self.bars.get(d['id'])
        if bar is None:
            bar = self.bars[d['id']] = tqdm(
                total=d['total_bytes'], initial=d['resumed_from'], unit='B', unit_scale=True,
                unit_divisor=1024, desc=redact(d['title'])[:40], file=self.stream,
                dynamic_ncols=True, leave=True)
        if d['total_bytes'] and bar.total != d['total_bytes']:
            bar.total = d['total_bytes']
        bar.update(d['downloaded_bytes'] - bar.n)
        if d['status'] == 'finished':
            bar.close()
            del self.bars[d['id']]


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
        log.info('%s: %s at %s/s%s', d['title'], pct, human_bytes(d['speed']), eta)


def format_duration(seconds) -> str:
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f'{hours}h{minutes:02d}m' if hours else (f'{minutes}m{secs:02d}s' if minutes else f'{secs}s')


_LOG_HANDLER_TAG = '_stalkeer_handler'


def setup_logging(cfg: Config, verbose: int = 0, quiet: bool = False, log_file: str | None = None,
                  stream=None) -> None:
    """Console handler (stderr) and an optional file handler, both redacting."""
    level_name = (cfg.get('logging', 'level') or 'INFO').upper()
    file_level = logging.getLevelName(level_name)
    if not isinstance(file_level, int):
        raise ConfigError(f'[logging] level must be DEBUG, INFO, WARNING or ERROR, got {level_name!r}')
    for handler in list(log.handlers):
        if getattr(handler, _LOG_HANDLER_TAG, False):
            log.removeHandler(handler)
            handler.close()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    console = logging.StreamHandler(stream or sys.stderr)
    console.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else min(file_level, logging.INFO))
    console.setFormatter(RedactingFormatter('stalkeer: %(message)s'))
    setattr(console, _LOG_HANDLER_TAG, True)
    log.addHandler(console)
    path = log_file or cfg.getpath('logging', 'file')
    if path:
        try:
            handler = logging.FileHandler(path, encoding='utf-8')
        except OSError as exc:
            raise ConfigError(f'cannot open log file {path}: {exc.strerror}') from None
        handler.setLevel(logging.DEBUG if verbose else file_level)
        handler.setFormatter(RedactingFormatter(
            '%(asctime)s %(levelname)s [' + str(os.getpid()) + '] %(message)s'))
        setattr(handler, _LOG_HANDLER_TAG, True)
        log.addHandler(handler)


class App:
    """What a command needs: parsed arguments, config, console, database."""

    def __init__(self, args, cfg: Config, console: Console):
        self.args = args
        self.cfg = cfg
        self.console = console
        self.db = None

    def open_db(self, migrate=True):
        if self.db is None:
            self.db = open_database(self.cfg.database_url, self.cfg.base_dir,
                                    self.cfg.database_url_source, migrate=migrate)
        return self.db

    def close(self):
        if self.db is not None and not self.db.is_closed():
            self.db.close()

    def download_settings(self) -> DownloadSettings:
        return DownloadSettings.from_config(self.cfg)

    def state_manager(self, settings: DownloadSettings) -> StateManager:
        return StateManager(settings.lock_timeout, settings.max_retry_attempts)

    def progress_hooks(self) -> list:
        if tqdm is not None and not self.args.quiet and stream_is_tty(sys.stderr) \
                and stream_is_tty(sys.stdout):
            return [TqdmProgressHook()]
        return [LogProgressHook(self.cfg.getfloat('logging', 'progress_log_seconds', minimum=0.1))]

    def downloader(self) -> Downloader:
        settings = self.download_settings()
        return Downloader(settings, self.state_manager(settings), self.progress_hooks())


def report_result(app: App, result: DownloadResult) -> None:
    c = app.console
    if result.status == 'completed':
        c.out(f'completed: {result.path} ({human_bytes(result.size)})', always=True)
    elif result.status == 'skipped':
        c.out(f'skipped: {result.message}')
    else:
        # The reason was already logged on stderr; stdout gets the outcome line.
        c.out(f'{result.status}: #{result.download_id}: {result.message}', always=True)


def cmd_migrate(app: App) -> int:
    """Create or upgrade the tables."""
    db = app.open_db(migrate=False)
    changes = migrate_schema(db)
    for change in changes:
        app.console.out(change)
    app.console.out(f'database ready: {redact_url(app.cfg.database_url)} '
                    f'({"no changes" if not changes else f"{len(changes)} change(s)"})', always=True)
    return EXIT_OK


def cmd_download(app: App) -> int:
    """One ad-hoc tracked download."""
    args = app.args
    if not re.match(r'(?i)https?://', args.url):
        raise StalkeerError(f'not an http(s) URL: {redact(args.url)}')
    register_url_secrets(args.url)
    destination = os.path.abspath(os.path.expanduser(args.dest))
    if os.path.isdir(destination) or args.dest.endswith(os.sep):
        name = os.path.basename(urllib.parse.urlsplit(args.url).path) or 'download'
        destination = os.path.join(destination, name)
    downloader = app.downloader()
    app.open_db()
    result = downloader.download(args.url, destination, title=args.title, force=args.force)
    report_result(app, result)
    return EXIT_OK if result.status in ('completed', 'skipped') else EXIT_FAILED


def cmd_resume_downloads(app: App) -> int:
    """Finish every eligible incomplete download from its .part file."""
    args = app.args
    downloader = app.downloader()
    app.open_db()
    state = downloader.state
    state.clean_stale_locks()
    pending = state.resumable(limit=args.limit)
    if not pending:
        app.console.out('nothing to resume', always=True)
        return EXIT_OK
    if args.dry_run:
        for info in pending:
            pct = f'{info.percent:.1f}%' if info.percent is not None else '?%'
            app.console.out(f'would resume #{info.id} {info.status} {pct} '
                            f'{info.title or info.destination}', always=True)
        return EXIT_OK
    counts = {'completed': 0, 'failed': 0, 'skipped': 0, 'lost': 0}
    for info in pending:
        result = downloader.run(info)
        counts[result.status] += 1
        report_result(app, result)
    app.console.out('resume-downloads: ' + ', '.join(f'{v} {k}' for k, v in counts.items()),
                    always=True)
    return EXIT_FAILED if counts['failed'] or counts['lost'] else EXIT_OK


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
    settings = PlaylistSettings.from_config(app.cfg)
    keep = settings.retention_count if app.args.retention is None else app.args.retention
    if keep < 0:
        raise StalkeerError('--retention must be 0 or more')
    removed = rotate_archives(settings.archive_dir, settings.file_path, keep)
    for path in removed:
        app.console.out(f'removed {path}')
    app.console.out(f'kept the {keep} newest archive(s), removed {len(removed)}', always=True)
    return EXIT_OK


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


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line and exit 2, like every other usage error of ours.
        self.exit(EXIT_USAGE, f'{self.prog}: error: {message}\n')


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog='stalkeer', description=__doc__.split('\n\n')[0])
    parser.add_argument('--version', action='version', version=f'stalkeer {__version__}')
    _common_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, suppress=True)
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', parser_class=_Parser)
    sub.required = True

    p = sub.add_parser('migrate', parents=[common], help='create or upgrade the database tables')
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser('download', parents=[common], help='one tracked, resumable download')
    p.add_argument('url', metavar='URL')
    p.add_argument('dest', metavar='DEST',
                   help='destination file (the extension is added when missing) or folder')
    p.add_argument('--force', action='store_true', help='overwrite an existing file')
    p.add_argument('--title', help='a name for status output')
    p.set_defaults(func=cmd_download)

    p = sub.add_parser('resume-downloads', parents=[common],
                       help='finish incomplete downloads from their .part files')
    p.add_argument('--limit', type=int, metavar='N', help='at most N downloads')
    p.add_argument('--dry-run', action='store_true', help='list what would resume, change nothing')
    p.set_defaults(func=cmd_resume_downloads)

    p = sub.add_parser('m3u-download', parents=[common],
                       help='fetch the playlist from [m3u] url into [m3u] file_path')
    p.add_argument('--url', help='playlist URL (default: [m3u] url)')
    p.add_argument('--no-archive', action='store_true', help='do not keep a timestamped copy')
    p.set_defaults(func=cmd_m3u_download)

    p = sub.add_parser('m3u-list-archives', parents=[common], help='list archived playlists')
    p.set_defaults(func=cmd_m3u_list_archives)

    p = sub.add_parser('m3u-cleanup-archives', parents=[common],
                       help='delete archived playlists beyond the retention count')
    p.add_argument('--retention', type=int, metavar='N',
                   help='keep the N newest (default: [m3u] retention_count)')
    p.set_defaults(func=cmd_m3u_cleanup_archives)
    return parser


class _SignalHandlers:
    """First SIGINT/SIGTERM: raise Interrupted where the main thread is (stops a
    blocked read at once); a second SIGINT: exit immediately."""

    def __init__(self):
        self.previous = {}
        self.received = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received is not None:
            os._exit(EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM)
        self.received = signum
        raise Interrupted(signum)

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def main(argv=None) -> int:
    """Entry point; returns the exit code (tests call it directly)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    console = Console(quiet=args.quiet)
    app = None
    with _SignalHandlers():
        try:
            cfg = Config.discover(args.config, db_url=args.db)
            setup_logging(cfg, args.verbose, args.quiet, args.log_file)
            app = App(args, cfg, console)
            return args.func(app)
        except StalkeerError as exc:
            console.error(exc)
            return exc.exit_code
        except peewee.PeeweeException as exc:
            console.error(f'database error: {first_line(exc)}')
            return EXIT_USAGE
        except Interrupted as exc:
            console.error('interrupted by ' + signal.Signals(exc.signum).name)
            return exc.exit_code
        finally:
            if app is not None:
                app.close()


if __name__ == '__main__':
    sys.exit(main())
