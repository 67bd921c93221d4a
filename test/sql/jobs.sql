--
-- Background jobs: the SQL surface.  This cluster preloads bulk_status but
-- runs no job worker (bulk_status.max_workers = 0), so jobs stay queued and
-- the output is deterministic; the TAP tests (test/t/008-011) run them.
--
SET client_min_messages = warning;
CREATE TABLE jobs_files (id bigint PRIMARY KEY, name text NOT NULL, status text NOT NULL);
INSERT INTO jobs_files SELECT g, 'f' || g, 'SYNCED' FROM generate_series(1, 3000) g;
CREATE TABLE jobs_nokey (name text, status text NOT NULL);
INSERT INTO jobs_nokey SELECT 'f' || g, 'SYNCED' FROM generate_series(1, 3000) g;
ANALYZE jobs_files, jobs_nokey;
\set VERBOSITY sqlstate

SHOW bulk_status.max_workers;

-- Every check of CALL transition, with its SQLSTATE, before any job exists.
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'SYNCED');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', status_column => 'nope');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', batch_size => 0);
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', strategy => 'sideways');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', filter => 'nope > 1');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', filter => 'true; DROP TABLE jobs_files');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', sleep_ms => -1);
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', max_batch_size => 10, min_batch_size => 20);
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', max_replication_lag => '0 s');
SELECT bulk_status.submit('jobs_files', NULL, 'X');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', workers => 0);
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', vacuum_threshold => -5);
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', workers => NULL);
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', workers => 65);
SELECT bulk_status.submit('jobs_nokey', 'SYNCED', 'X', strategy => 'range');
SELECT bulk_status.submit(0, 'SYNCED', 'X');
SELECT bulk_status.submit('pg_class', 'SYNCED', 'X');
SELECT bulk_status.submit_purge('jobs_files', 'DELETED', status_column => 'nope');
SELECT bulk_status.submit_stamp('jobs_files', 'nope', 'x');

-- A filter the caller could not run is refused at submit (42501), as CALL
-- refuses it at its first batch: a table it may not read, a function it
-- may not execute, a column it may not select.
CREATE TABLE jobs_secret (id bigint);
CREATE FUNCTION jobs_secret_fn(bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
REVOKE EXECUTE ON FUNCTION jobs_secret_fn(bigint) FROM PUBLIC;
CREATE ROLE jobs_filter LOGIN;
GRANT SELECT (id, status), UPDATE (status) ON jobs_files TO jobs_filter;
SET ROLE jobs_filter;
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', filter => 'id IN (SELECT id FROM jobs_secret)');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', filter => 'jobs_secret_fn(id)');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', filter => $$name <> 'x'$$);
SELECT bulk_status.submit_stamp('jobs_files', 'status', 'X', filter => 'jobs_secret_fn(id)');
RESET ROLE;
DROP TABLE jobs_secret;
DROP FUNCTION jobs_secret_fn(bigint);
REVOKE ALL ON jobs_files FROM jobs_filter;
DROP ROLE jobs_filter;

-- A temporary table (or source) is refused (0A000): the worker's session
-- could not see it.
CREATE TEMPORARY TABLE jobs_temp (id bigint PRIMARY KEY, status text NOT NULL);
SELECT bulk_status.submit('jobs_temp', 'SYNCED', 'X');
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X', source => 'jobs_temp');
SELECT bulk_status.submit_purge('jobs_temp', 'SYNCED');
DROP TABLE jobs_temp;
SELECT count(*) AS no_jobs FROM bulk_status.jobs;

-- (A NOLOGIN owner: jobs_nologin, whose answer depends on the major.)

\set VERBOSITY default
-- A job: queued with its arguments, one part covering everything.
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'TEMP_DELETED', batch_size => 500) AS job1 \gset
SELECT id = :job1 AS same_id, owner, database = current_database() AS here, relation, kind,
       from_status, to_status, state, phase, requested, rows_done, batches, position, parts,
       parts_done, rows_estimated, eta, error, started, finished, pids
  FROM bulk_status.jobs WHERE id = :job1;
SELECT part, state, range_lo, range_hi, block_lo, block_hi, rows_done, attempts
  FROM bulk_status.job_parts WHERE job = :job1;

-- Three workers: three key ranges that meet without overlapping.
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'TEMP_DELETED', workers => 3) AS job3 \gset
SELECT part, range_lo IS NULL AS from_start, range_hi IS NULL AS to_end,
       range_hi = lead(range_lo) OVER (ORDER BY part) AS meets_next
  FROM bulk_status.job_parts WHERE job = :job3 ORDER BY part;
SELECT bool_and(n BETWEEN 800 AND 1200) AS balanced
  FROM (SELECT p.part, count(f.id) AS n
          FROM bulk_status.job_parts p
          JOIN jobs_files f
            ON (p.range_lo IS NULL OR f.id > p.range_lo[1]::bigint)
           AND (p.range_hi IS NULL OR f.id <= p.range_hi[1]::bigint)
         WHERE p.job = :job3 GROUP BY p.part) s;
SELECT count(*) AS rows_in_no_part_or_two
  FROM jobs_files f
 WHERE (SELECT count(*) FROM bulk_status.job_parts p
         WHERE p.job = :job3
           AND (p.range_lo IS NULL OR f.id > p.range_lo[1]::bigint)
           AND (p.range_hi IS NULL OR f.id <= p.range_hi[1]::bigint)) <> 1;

-- A table without a key splits by blocks.
SELECT bulk_status.submit('jobs_nokey', 'SYNCED', 'X', workers => 2) AS jobb \gset
SELECT part, block_lo, block_hi IS NULL AS to_end, range_lo, range_hi
  FROM bulk_status.job_parts WHERE job = :jobb ORDER BY part;

-- Purge and stamp jobs.
SELECT bulk_status.submit_purge('jobs_files', 'DELETED') AS jobp \gset
SELECT bulk_status.submit_stamp('jobs_files', 'name', 'x', workers => 2) AS jobs \gset
SELECT kind, from_status, to_status, state, parts
  FROM bulk_status.jobs WHERE id IN (:jobp, :jobs) ORDER BY id;

-- A job submitted in a rolled-back transaction or savepoint never existed.
SELECT count(*) AS before FROM bulk_status.jobs \gset
BEGIN;
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X') > 0 AS submitted;
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X') > 0 AS submitted;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT count(*) - :before AS new_jobs FROM bulk_status.jobs;

-- wait: a queued job stays queued until the timeout; one submitted in the
-- same transaction cannot start before it commits.
SELECT bulk_status.wait(:job1, '50 ms');
BEGIN;
SELECT bulk_status.submit('jobs_files', 'SYNCED', 'X') AS jobt \gset
SELECT bulk_status.wait(:jobt, '1 s');
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT bulk_status.wait(:job1, '1 s');
ROLLBACK;
SELECT bulk_status.wait(:job1, '-1 s');

-- Control of a queued job.
SELECT bulk_status.pause(:job1);
SELECT state, requested FROM bulk_status.jobs WHERE id = :job1;
SELECT bulk_status.wait(:job1);
SELECT bulk_status.pause(:job1);
SELECT bulk_status.resume(:job1);
SELECT state, requested FROM bulk_status.jobs WHERE id = :job1;
SELECT bulk_status.cancel(:job1);
SELECT state, finished IS NOT NULL AS finished FROM bulk_status.jobs WHERE id = :job1;
SELECT part, state FROM bulk_status.job_parts WHERE job = :job1;
SELECT bulk_status.wait(:job1);
SELECT bulk_status.cancel(:job1);
SELECT bulk_status.pause(:job1);
SELECT bulk_status.resume(:job1);
SELECT bulk_status.cancel(-1);
SELECT bulk_status.cancel(NULL);

-- Other roles do not see the jobs, and cannot control them.
CREATE ROLE jobs_other LOGIN;
SET ROLE jobs_other;
SELECT count(*) AS visible FROM bulk_status.jobs;
SELECT count(*) AS visible FROM bulk_status.job_parts;
SELECT bulk_status.cancel(:job3);
SELECT bulk_status.wait(:job3, '1 s');
SELECT * FROM bulk_status.job_state;
RESET ROLE;
-- pg_monitor members see them, and still cannot control them.
GRANT pg_monitor TO jobs_other;
SET ROLE jobs_other;
SELECT count(*) > 0 AS visible FROM bulk_status.jobs;
SELECT bulk_status.cancel(:job3);
RESET ROLE;

-- Clean up: cancel what is left, so no later run starts it.
SELECT count(bulk_status.cancel(id)) >= 0 AS cancelled
  FROM bulk_status.jobs WHERE state IN ('queued', 'paused');
SELECT state, count(*) FROM bulk_status.jobs GROUP BY state ORDER BY state;
DROP TABLE jobs_files, jobs_nokey;
DROP ROLE jobs_other;
