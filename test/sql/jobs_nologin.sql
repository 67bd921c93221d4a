--
-- A job owned by a role without LOGIN.  A job's worker connects as its
-- owner; PostgreSQL 17 and later let a background worker connect as a
-- NOLOGIN role (a group role, say), earlier majors do not.  So on 15 and
-- 16 submit refuses it at once (28000, expected/jobs_nologin_1.out), and
-- on 17 and later it is queued like any other (expected/jobs_nologin.out;
-- TAP test 009 runs it to the end).  The first query says which side this
-- server is on, so that neither output can pass on the wrong major.
--
SET client_min_messages = warning;
SELECT current_setting('server_version_num')::int >= 170000 AS nologin_owners_allowed;
CREATE TABLE jobs_nologin_files (id bigint PRIMARY KEY, status text NOT NULL);
INSERT INTO jobs_nologin_files SELECT g, 'SYNCED' FROM generate_series(1, 100) g;
CREATE ROLE jobs_nologin NOLOGIN;
GRANT SELECT, UPDATE ON jobs_nologin_files TO jobs_nologin;

SET ROLE jobs_nologin;
SELECT bulk_status.submit('jobs_nologin_files', 'SYNCED', 'X') > 0 AS submitted;
SELECT owner, state FROM bulk_status.jobs;
RESET ROLE;

SELECT count(bulk_status.cancel(id)) AS cancelled FROM bulk_status.jobs
 WHERE owner = 'jobs_nologin'::regrole;
DELETE FROM bulk_status.job_state WHERE owner = 'jobs_nologin'::regrole;
DROP TABLE jobs_nologin_files;
DROP ROLE jobs_nologin;
