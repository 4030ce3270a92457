-- stalkeer database schema: the same tables `python stalkeer.py migrate` creates.
-- Works as it is with both engines:
--     sqlite3 stalkeer.db < schema.sql
--     psql -d stalkeer -f schema.sql
-- tests/test_schema.py checks this file against the peewee models on both.
--
-- All timestamps are UTC. The only difference between the engines is the
-- auto-increment key, written as  id /* /* */ INTEGER -- */ SERIAL
-- PostgreSQL nests block comments, so it reads "id SERIAL"; SQLite does not,
-- so it reads "id INTEGER" and then a line comment. (INTEGER PRIMARY KEY is
-- SQLite's auto-increment rowid.)

-- One row per download: its lease (locked_by/locked_at), progress and outcome.
-- status: pending, downloading, paused, completed, failed, retrying.
CREATE TABLE IF NOT EXISTS "download_info" (
    "id" /* /* */ INTEGER -- */ SERIAL
        NOT NULL PRIMARY KEY,
    "url" TEXT NOT NULL,                       -- the real URL (credentials included): never printed
    "title" TEXT,                              -- a name for status output
    "destination" TEXT NOT NULL,               -- the path that was asked for (one row per destination)
    "part_path" TEXT,                          -- where the bytes so far are kept
    "status" VARCHAR(16) NOT NULL DEFAULT 'pending',
    "download_path" TEXT,                      -- the final file, set on completion
    "file_size" BIGINT,
    "bytes_downloaded" BIGINT NOT NULL DEFAULT 0,
    "total_bytes" BIGINT,
    "resume_token" TEXT,                       -- strong ETag or Last-Modified, sent as If-Range
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "last_retry_at" TIMESTAMP,
    "locked_at" TIMESTAMP,                     -- lease heartbeat (database clock)
    "locked_by" VARCHAR(255),                  -- hostname-pid-random of the holder
    "started_at" TIMESTAMP,
    "completed_at" TIMESTAMP,
    "error_message" TEXT,
    "created_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "service" VARCHAR(16),                     -- radarr / sonarr, when it fills a missing item
    "service_item_id" INTEGER,                 -- the movie id / episode id there
    "service_parent_id" INTEGER,               -- the series id (Sonarr)
    "lease_token" VARCHAR(32),                 -- fencing token of the current lease, new at every claim
    "force" /* /* */ INTEGER -- */ BOOLEAN
        NOT NULL DEFAULT FALSE,                -- --force given: the finished file may replace one
    "rescan_pending" /* /* */ INTEGER -- */ BOOLEAN
        NOT NULL DEFAULT FALSE,                -- completed; Radarr/Sonarr not yet told to rescan
    "session_started_at" TIMESTAMP,            -- when the current transfer started or resumed
    "session_start_bytes" BIGINT,              -- bytes_downloaded then: speed and ETA count from here
    "part_inode" TEXT,                         -- inode of the .part this download created: only it is reopened
    "library_root" TEXT                        -- folder of the movie/series folders: no symlink below it is followed
);
CREATE UNIQUE INDEX IF NOT EXISTS "download_info_destination" ON "download_info" ("destination");
CREATE INDEX IF NOT EXISTS "download_info_status" ON "download_info" ("status");
CREATE INDEX IF NOT EXISTS "download_info_locked_at" ON "download_info" ("locked_at");
CREATE INDEX IF NOT EXISTS "download_info_updated_at" ON "download_info" ("updated_at");
CREATE INDEX IF NOT EXISTS "download_info_service_service_item_id" ON "download_info" ("service", "service_item_id");

-- Playlist lines, classified by `process`; state: processed, pending, downloading,
-- organizing, downloaded, failed (mirrors the linked download).
CREATE TABLE IF NOT EXISTS "processed_lines" (
    "id" /* /* */ INTEGER -- */ SERIAL
        NOT NULL PRIMARY KEY,
    "line_hash" VARCHAR(40),                   -- sha1 of tvg-name + URL: a line's identity across imports
    "state" VARCHAR(16) NOT NULL DEFAULT 'processed',
    "download_info_id" INTEGER,
    "content_type" VARCHAR(16),                -- movies, tvshows, channels, uncategorized
    "title" TEXT,                              -- clean title (the series title for episodes)
    "year" INTEGER,
    "season" INTEGER,
    "episode" INTEGER,
    "resolution" VARCHAR(8),                   -- 2160p, 1080p, 720p, 480p
    "languages" VARCHAR(255),                  -- comma-separated tags: FR, MULTI, VOSTFR...
    "match_key" TEXT,                          -- normalised title, looked up by the matching
    "episode_end" INTEGER,                     -- last episode of a multi-episode line (S01E01-E03: 3)
    "absolute_episode" INTEGER,                -- absolute number: "One Piece - 1071", "Show - Episode 3", S01E1170
    "air_date" DATE,                           -- daily shows: "Show 2020 03 11"
    "alt_key" TEXT,                            -- match_key of the other reading: "death race 2000", "office" of "The Office (US)"
    "edition" VARCHAR(64),                     -- Director's Cut, Extended... (not in title or match_key)
    "country" VARCHAR(8),                      -- US of "The Office (US)": part of the title's identity
    "display_title" TEXT,                      -- the title as the playlist has it (HTML entities decoded)
    "tvg_id" VARCHAR(255),
    "tvg_name" TEXT,
    "tvg_logo" TEXT,
    "group_title" TEXT,
    "tvg_type" VARCHAR(64),
    "url" TEXT,                                -- the real URL (credentials included): never printed
    "line_number" INTEGER,
    "meta_hash" VARCHAR(40),                   -- unchanged hash: the line is not rewritten
    "first_seen_at" TIMESTAMP,
    "missing_since" TIMESTAMP,                 -- set when the line left the playlist; NULL while present
    "created_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "source" VARCHAR(16) DEFAULT 'm3u',        -- m3u, xtream (player_api.php of an Xtream Codes panel)
    "stream_id" INTEGER,                       -- the panel's VOD stream_id (episode lines: the episode id)
    "series_id" INTEGER,                       -- the panel's series_id (series and their episodes)
    "tmdb_id" INTEGER,                         -- TMDB id, where the panel has one
    "container_extension" VARCHAR(8),          -- mkv, mp4... as the panel serves the file
    "panel_info_at" TIMESTAMP,                 -- when get_series_info / get_vod_info was last asked
    FOREIGN KEY ("download_info_id") REFERENCES "download_info" ("id") ON DELETE SET NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS "processed_lines_line_hash" ON "processed_lines" ("line_hash");
CREATE INDEX IF NOT EXISTS "processed_lines_download_info_id" ON "processed_lines" ("download_info_id");
CREATE INDEX IF NOT EXISTS "processed_lines_tvg_id" ON "processed_lines" ("tvg_id");
CREATE INDEX IF NOT EXISTS "processed_lines_tmdb_id" ON "processed_lines" ("tmdb_id");
CREATE INDEX IF NOT EXISTS "processed_lines_content_type_match_key" ON "processed_lines" ("content_type", "match_key");
CREATE INDEX IF NOT EXISTS "processed_lines_content_type_alt_key" ON "processed_lines" ("content_type", "alt_key") WHERE ("alt_key" IS NOT NULL);

-- What an Xtream panel's player_api.php (no action) said of the account at the
-- last run that asked (user_info). panel: the base URL, without the account.
CREATE TABLE IF NOT EXISTS "panel_accounts" (
    "id" /* /* */ INTEGER -- */ SERIAL
        NOT NULL PRIMARY KEY,
    "panel" TEXT NOT NULL,
    "status" VARCHAR(32),                      -- Active, Banned, Disabled, Expired...
    "exp_date" TIMESTAMP,                      -- UTC; NULL: never expires
    "is_trial" /* /* */ INTEGER -- */ BOOLEAN
        ,                                      -- a trial account
    "active_cons" INTEGER,                     -- connections open then
    "max_connections" INTEGER,                 -- the account's limit
    "checked_at" TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS "panel_accounts_panel" ON "panel_accounts" ("panel");

-- The last `process` import of each playlist source: a re-run of a byte-identical
-- file with the same classifier and [filter] skips the per-line work when the
-- previous import completed and nothing imported or removed lines since.
CREATE TABLE IF NOT EXISTS "playlist_imports" (
    "id" /* /* */ INTEGER -- */ SERIAL
        NOT NULL PRIMARY KEY,
    "source" VARCHAR(16) NOT NULL,             -- m3u, or xtream (a panel's catalogue)
    "digest" VARCHAR(64) NOT NULL,             -- SHA-256 of the playlist file (xtream: of the panel's URL), hex
    "classifier_version" VARCHAR(16) NOT NULL, -- CLASSIFIER_VERSION of that import
    "filter_key" VARCHAR(64) NOT NULL,         -- SHA-256 of the [filter] patterns
    "run_id" VARCHAR(32) NOT NULL,             -- the import that wrote this row
    "epoch" INTEGER NOT NULL,                  -- import starts and ends in this database
    "lines" INTEGER NOT NULL,                  -- entries stored by that import
    "line_count" INTEGER,                      -- processed_lines COUNT(*) when it completed
    "max_line_id" INTEGER,                     -- processed_lines MAX(id) when it completed
    "counts" TEXT,                             -- JSON: that import's summary counts
    "started_at" TIMESTAMP NOT NULL,
    "completed_at" TIMESTAMP                   -- NULL: running, interrupted or overlapped
);
CREATE UNIQUE INDEX IF NOT EXISTS "playlist_imports_source" ON "playlist_imports" ("source");

-- Radarr movie/lookup and Sonarr series/lookup answers, one per title, kept
-- [matching] lookup_cache_days: is there another film or series of that name?
CREATE TABLE IF NOT EXISTS "arr_lookups" (
    "id" /* /* */ INTEGER -- */ SERIAL
        NOT NULL PRIMARY KEY,
    "service" VARCHAR(16) NOT NULL,            -- radarr / sonarr
    "term_key" TEXT NOT NULL,                  -- match_key of the term
    "term" TEXT NOT NULL,                      -- the title as sent
    "answer" TEXT NOT NULL,                    -- JSON: ids, titles, years, runtime, language, network of each result
    "looked_up_at" TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS "arr_lookups_service_term_key" ON "arr_lookups" ("service", "term_key");

-- What a line's container header says (Matroska Segment Info, MP4 mvhd/tkhd),
-- read with a few small Range requests before a title-matched download.
CREATE TABLE IF NOT EXISTS "line_probes" (
    "id" /* /* */ INTEGER -- */ SERIAL
        NOT NULL PRIMARY KEY,
    "line_id" INTEGER NOT NULL,
    "duration_seconds" REAL,                   -- NULL: unknown (see note)
    "width" INTEGER,
    "height" INTEGER,
    "resolution" VARCHAR(8),                   -- from the frame size: 2160p, 1080p, 720p, 480p
    "container" VARCHAR(16),                   -- matroska, mp4
    "note" TEXT,                               -- why the duration is unknown
    "probed_at" TIMESTAMP NOT NULL,
    FOREIGN KEY ("line_id") REFERENCES "processed_lines" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "line_probes_line_id" ON "line_probes" ("line_id");

-- The further Radarr/Sonarr items one download fills beyond its own
-- service_item_id: the second episode of "Show - S01E01-E02.mkv".
CREATE TABLE IF NOT EXISTS "download_items" (
    "id" /* /* */ INTEGER -- */ SERIAL
        NOT NULL PRIMARY KEY,
    "download_info_id" INTEGER NOT NULL,
    "service" VARCHAR(16) NOT NULL,
    "item_id" INTEGER NOT NULL,                -- the episode id in Sonarr
    FOREIGN KEY ("download_info_id") REFERENCES "download_info" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "download_items_download_info_id" ON "download_items" ("download_info_id");
CREATE UNIQUE INDEX IF NOT EXISTS "download_items_service_item_id_download_info_id" ON "download_items" ("service", "item_id", "download_info_id");
