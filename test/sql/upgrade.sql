--
-- ALTER EXTENSION bulk_status UPDATE from 0.2.0 to 0.3.0 with a job and a
-- cursor in place: both survive, the job gains the new option (NULL, so
-- "auto") and figures, and can still be controlled; then to 0.4.0, where
-- a cursor keeps its position and becomes a cursor of one part.  (There is
-- no 0.4.0 install script: CREATE EXTENSION runs 0.1.0 and each upgrade in
-- turn, so a fresh install and an upgraded one are made by the same
-- scripts.)
-- This test drops the regression database's extension and creates it again.
--
SET client_min_messages = warning;
DROP EXTENSION bulk_status;
CREATE EXTENSION bulk_status VERSION '0.2.0';
CREATE TABLE upg_files (id bigint PRIMARY KEY, status text NOT NULL);
INSERT INTO upg_files SELECT g, 'SYNCED' FROM generate_series(1, 1000) g;
SELECT bulk_status.submit('upg_files', 'SYNCED', 'DONE', batch_size => 100) > 0 AS submitted;
SELECT bulk_status.cursor_open('upg_cursor', 'upg_files');
SELECT count(*) FROM bulk_status.cursor_fetch('upg_cursor', NULL::upg_files, 10);

ALTER EXTENSION bulk_status UPDATE TO '0.3.0';
SELECT extversion FROM pg_extension WHERE extname = 'bulk_status';
SELECT kind, state, batch_size, vacuum_threshold IS NULL AS vacuum_auto
  FROM bulk_status.job_state;
SELECT state, rows_done, vacuum_passes, vacuum_time FROM bulk_status.jobs;
SELECT part, state, vacuum_passes, vacuum_time, vacuum_note FROM bulk_status.job_parts;
SELECT count(bulk_status.cancel(id)) AS cancelled FROM bulk_status.jobs;
SELECT state FROM bulk_status.jobs;
SELECT min(id), max(id) FROM bulk_status.cursor_fetch('upg_cursor', NULL::upg_files, 10);
SELECT bulk_status.cursor_close('upg_cursor');

-- the new option, at 0.3.0
SELECT bulk_status.submit('upg_files', 'SYNCED', 'DONE', vacuum_threshold => 0) > 0 AS submitted;
SELECT vacuum_threshold FROM bulk_status.job_state WHERE state = 'queued';
SELECT count(bulk_status.cancel(id)) AS cancelled FROM bulk_status.jobs WHERE state = 'queued';

-- 0.3.0 to 0.4.0: a cursor keeps its position and count, and becomes a
-- cursor of one part
SELECT bulk_status.cursor_open('upg_cursor', 'upg_files');
SELECT count(*) FROM bulk_status.cursor_fetch('upg_cursor', NULL::upg_files, 10);
ALTER EXTENSION bulk_status UPDATE TO '0.4.0';
SELECT extversion FROM pg_extension WHERE extname = 'bulk_status';
SELECT name, position, rows_fetched, parts FROM bulk_status.cursors;
SELECT name, part, parts, lower_bound, upper_bound, position FROM bulk_status.cursor_parts;
SELECT min(id), max(id) FROM bulk_status.cursor_fetch('upg_cursor', NULL::upg_files, 10);
SELECT bulk_status.cursor_close('upg_cursor');
SELECT bulk_status.cursor_open('upg_cursor', 'upg_files', parts => 2);
SELECT count(*) FROM bulk_status.cursor_parts WHERE name = 'upg_cursor';
SELECT bulk_status.cursor_close('upg_cursor');

DROP TABLE upg_files;
DROP EXTENSION bulk_status;
CREATE EXTENSION bulk_status;
