-- bulk_status benchmark: wait for a background job from the measuring
-- session without holding back vacuum.  A function such as
-- bulk_status.wait() keeps its statement's snapshot for as long as it waits,
-- so no row the job updates could be pruned meanwhile; this procedure
-- commits between polls, so its snapshot is never older than one poll.
-- It waits at most timeout (a job that never starts fails the run rather
-- than hang it) and returns the job's state then.
CREATE PROCEDURE bench_wait_job(job bigint, INOUT state text DEFAULT NULL,
                                timeout interval DEFAULT '2 hours')
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout;
BEGIN
    LOOP
        SELECT j.state INTO state FROM bulk_status.jobs j WHERE j.id = job;
        EXIT WHEN state IS NULL OR state IN ('done', 'failed', 'cancelled', 'paused')
              OR clock_timestamp() > deadline;
        COMMIT;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
