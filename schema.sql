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
    "updated_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX IF NOT EXISTS "download_info_destination" ON "download_info" ("destination");
CREATE INDEX IF NOT EXISTS "download_info_status" ON "download_info" ("status");
CREATE INDEX IF NOT EXISTS "download_info_locked_at" ON "download_info" ("locked_at");
CREATE INDEX IF NOT EXISTS "download_info_updated_at" ON "download_info" ("updated_at");

-- Playlist lines; state: processed, pending, downloading, organizing, downloaded, failed.
CREATE TABLE IF NOT EXISTS "processed_lines" (
    "id" /* /* */ INTEGER -- */ SERIAL
        NOT NULL PRIMARY KEY,
    "state" VARCHAR(16) NOT NULL DEFAULT 'processed',
    "download_info_id" INTEGER,
    "created_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY ("download_info_id") REFERENCES "download_info" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "processed_lines_state" ON "processed_lines" ("state");
CREATE INDEX IF NOT EXISTS "processed_lines_download_info_id" ON "processed_lines" ("download_info_id");
