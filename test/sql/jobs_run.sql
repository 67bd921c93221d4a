--
-- A background job runs to its end on this server (the other regression
-- tests keep bulk_status.max_workers = 0, so their jobs stay queued).
-- Every wait is bounded: a job that never starts fails this test, it does
-- not hang it.  Rows are checked afterwards, each changed once.
--
SET client_min_messages = warning;
CREATE TABLE jobs_run_files (id bigint PRIMARY KEY, status text NOT NULL);
INSERT INTO jobs_run_files SELECT g, 'SYNCED' FROM generate_series(1, 5000) g;
CREATE TABLE jobs_run_audit (id bigint NOT NULL);
CREATE FUNCTION jobs_run_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO jobs_run_audit VALUES (NEW.id);
  RETURN NEW;
END $$;
CREATE TRIGGER jobs_run_audit AFTER UPDATE ON jobs_run_files
  FOR EACH ROW EXECUTE FUNCTION jobs_run_audit();

-- Let one worker run, and wait (at most 60 s) until new processes see it.
ALTER SYSTEM SET bulk_status.max_workers = 1;
SELECT pg_reload_conf();
DO $$
BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN current_setting('bulk_status.max_workers') = '1';
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SHOW bulk_status.max_workers;

SELECT bulk_status.submit('jobs_run_files', 'SYNCED', 'TEMP_DELETED', batch_size => 700) AS job \gset
SELECT bulk_status.wait(:job, '60 s') AS state;
SELECT state, rows_done, batches, error FROM bulk_status.jobs WHERE id = :job;
SELECT part, state, rows_done, batches, attempts FROM bulk_status.job_parts WHERE job = :job;
SELECT status, count(*) FROM jobs_run_files GROUP BY status;
SELECT count(*) AS audited, count(DISTINCT id) AS distinct_rows FROM jobs_run_audit;

-- Two workers' worth of parts, run by the one worker in turn.
SELECT bulk_status.submit('jobs_run_files', 'TEMP_DELETED', 'SYNCED', workers => 2) AS job2 \gset
SELECT bulk_status.wait(:job2, '60 s') AS state;
SELECT count(*) AS parts, sum(rows_done) AS rows_done, bool_and(state = 'done') AS all_done
  FROM bulk_status.job_parts WHERE job = :job2;
SELECT status, count(*) FROM jobs_run_files GROUP BY status;

ALTER SYSTEM RESET bulk_status.max_workers;
SELECT pg_reload_conf();
DELETE FROM bulk_status.job_state WHERE id IN (:job, :job2);
DROP TABLE jobs_run_files, jobs_run_audit;
DROP FUNCTION jobs_run_audit();
