\echo Use "ALTER EXTENSION bulk_status UPDATE TO '0.2.0'" to load this file. \quit

--
-- Background jobs (needs bulk_status in shared_preload_libraries)
--

-- One row per job: what was asked, by whom, and how it ended.  Only the
-- extension's functions and workers touch it, as its owner, with fixed
-- statements; they check the caller's rights themselves.  It is not dumped
-- by pg_dump: a restored "running" job would start again on restored data.
CREATE TABLE bulk_status.job_state (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('transition', 'purge', 'stamp')),
    owner               regrole NOT NULL,
    relid               regclass NOT NULL,
    from_status         text,
    to_status           text,
    filter              text,
    status_column       name NOT NULL,
    batch_size          integer NOT NULL,
    strategy            text NOT NULL,
    sleep_ms            integer NOT NULL,
    lock_timeout_ms     integer NOT NULL,
    max_retries         integer NOT NULL,
    skip_locked         boolean NOT NULL,
    max_rows_per_sec    integer NOT NULL,
    target_batch_ms     integer NOT NULL,
    min_batch_size      integer NOT NULL,
    max_batch_size      integer NOT NULL,
    max_replication_lag_ms bigint NOT NULL,
    source              regclass,
    workers             integer NOT NULL,
    search_path         text NOT NULL,
    state               text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
    requested           text CHECK (requested IN ('pause', 'cancel')),
    rows_estimated      bigint,
    error_sqlstate      text,
    error               text,
    submitted           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    started             timestamptz,
    finished            timestamptz
);
CREATE INDEX ON bulk_status.job_state (finished) WHERE finished IS NOT NULL;
CREATE INDEX ON bulk_status.job_state (id) WHERE state IN ('queued', 'running');
REVOKE ALL ON bulk_status.job_state FROM PUBLIC;

-- One row per part of a job (one per worker): what it covers, and where it
-- is.  A worker writes its part's row in the transaction of every batch,
-- so the position always matches the committed batches.
CREATE TABLE bulk_status.job_part_state (
    job            bigint NOT NULL REFERENCES bulk_status.job_state ON DELETE CASCADE,
    part           integer NOT NULL,
    range_lo       text[],          -- key parts: after this key ...
    range_hi       text[],          -- ... up to and including this one
    block_lo       bigint,          -- block parts: [block_lo, block_hi)
    block_hi       bigint,
    state          text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
    target         regclass,        -- the relation being walked
    target_index   integer,         -- its place in the walk
    strategy       text,
    pass           integer,         -- 2: skip_locked's second pass
    position       text[],          -- last key done
    position_block bigint,          -- next block to do
    retry_position text[],          -- skip_locked: where the second pass starts
    retry_block    bigint,
    skipped        boolean NOT NULL DEFAULT false,
    rows_done      bigint NOT NULL DEFAULT 0,
    batches        bigint NOT NULL DEFAULT 0,
    batch_size     integer,
    engine_peak    bigint,
    attempts       integer NOT NULL DEFAULT 0,
    pid            integer,
    error          text,
    started        timestamptz,
    updated        timestamptz,
    finished       timestamptz,
    PRIMARY KEY (job, part)
) WITH (fillfactor = 50);
REVOKE ALL ON bulk_status.job_part_state FROM PUBLIC;

-- Live figures of the running parts, from shared memory.
CREATE FUNCTION bulk_status._job_live(OUT job bigint, OUT part integer,
                                      OUT pid integer, OUT phase text,
                                      OUT rows_done bigint, OUT batches bigint,
                                      OUT batch_size integer,
                                      OUT rows_per_sec double precision,
                                      OUT engine_peak bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bulk_status_job_live'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Jobs the caller may see: its own (and those of roles it is a member of);
-- every job for superusers and members of pg_monitor.
CREATE VIEW bulk_status.jobs WITH (security_barrier) AS
WITH parts AS (
    SELECT p.job,
           pg_catalog.count(*)::integer                           AS parts,
           pg_catalog.count(*) FILTER (WHERE p.state = 'done')::integer AS parts_done,
           pg_catalog.sum(p.rows_done)::bigint                    AS rows_done,
           pg_catalog.sum(p.batches)::bigint                      AS batches,
           pg_catalog.max(p.engine_peak)                          AS engine_peak,
           CASE WHEN pg_catalog.count(*) = 1 THEN pg_catalog.max(p.position::text) END AS position
      FROM bulk_status.job_part_state p
     GROUP BY p.job
), live AS (
    SELECT l.job,
           pg_catalog.string_agg(DISTINCT l.phase, ',')          AS phase,
           pg_catalog.sum(l.rows_per_sec)                         AS rows_per_sec,
           pg_catalog.max(l.engine_peak)                          AS engine_peak,
           pg_catalog.array_agg(l.pid ORDER BY l.part)            AS pids,
           pg_catalog.sum(l.rows_done)::bigint                    AS rows_done,
           pg_catalog.sum(l.batches)::bigint                      AS batches
      FROM bulk_status._job_live() l
     GROUP BY l.job
)
SELECT j.id,
       j.owner,
       pg_catalog.current_database()                              AS database,
       j.relid                                                    AS relation,
       j.kind,
       j.from_status,
       j.to_status,
       j.state,
       CASE WHEN j.state = 'running' THEN COALESCE(live.phase, 'starting') END AS phase,
       j.requested,
       GREATEST(p.rows_done, live.rows_done)           AS rows_done,
       GREATEST(p.batches, live.batches)               AS batches,
       p.position,
       p.parts,
       p.parts_done,
       CASE WHEN live.job IS NOT NULL THEN live.rows_per_sec
            WHEN j.finished > j.started
            THEN p.rows_done / pg_catalog.date_part('epoch', j.finished - j.started)
       END                                                        AS rows_per_sec,
       j.rows_estimated,
       CASE WHEN live.rows_per_sec > 0 AND j.rows_estimated IS NOT NULL
            THEN pg_catalog.make_interval(secs =>
                 GREATEST(j.rows_estimated - GREATEST(p.rows_done, live.rows_done), 0)
                 / live.rows_per_sec)
       END                                                        AS eta,
       j.error_sqlstate,
       j.error,
       j.submitted,
       j.started,
       j.finished,
       GREATEST(p.engine_peak, live.engine_peak)       AS engine_peak_bytes,
       live.pids
  FROM bulk_status.job_state j
  LEFT JOIN parts p ON p.job = j.id
  LEFT JOIN live ON live.job = j.id
 WHERE pg_catalog.pg_has_role(j.owner, 'USAGE')
    OR pg_catalog.pg_has_role('pg_monitor', 'USAGE');
GRANT SELECT ON bulk_status.jobs TO PUBLIC;

-- The parts of the jobs the caller may see.
CREATE VIEW bulk_status.job_parts WITH (security_barrier) AS
SELECT p.job, p.part, p.state, p.range_lo, p.range_hi, p.block_lo, p.block_hi,
       p.target, p.strategy, p.pass, p.position, p.position_block,
       p.rows_done, p.batches, p.batch_size, p.engine_peak AS engine_peak_bytes,
       p.attempts, p.pid, p.error, p.started, p.updated, p.finished
  FROM bulk_status.job_part_state p
  JOIN bulk_status.job_state j ON j.id = p.job
 WHERE pg_catalog.pg_has_role(j.owner, 'USAGE')
    OR pg_catalog.pg_has_role('pg_monitor', 'USAGE');
GRANT SELECT ON bulk_status.job_parts TO PUBLIC;

-- Run a transition as a background job; it starts when the calling
-- transaction commits.  Returns the job's id.
CREATE FUNCTION bulk_status.submit(rel regclass,
                                   from_status text,
                                   to_status text,
                                   filter text DEFAULT NULL,
                                   status_column name DEFAULT 'status',
                                   batch_size integer DEFAULT 10000,
                                   strategy text DEFAULT 'auto',
                                   sleep_ms integer DEFAULT 0,
                                   lock_timeout_ms integer DEFAULT 0,
                                   max_retries integer DEFAULT 5,
                                   skip_locked boolean DEFAULT false,
                                   max_rows_per_sec integer DEFAULT 0,
                                   target_batch_ms integer DEFAULT 0,
                                   min_batch_size integer DEFAULT 100,
                                   max_batch_size integer DEFAULT 100000,
                                   max_replication_lag interval DEFAULT NULL,
                                   source regclass DEFAULT NULL,
                                   workers integer DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bulk_status_submit'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A purge (batched DELETE of the rows with a status) as a background job.
CREATE FUNCTION bulk_status.submit_purge(rel regclass,
                                         status text,
                                         filter text DEFAULT NULL,
                                         status_column name DEFAULT 'status',
                                         batch_size integer DEFAULT 10000,
                                         strategy text DEFAULT 'auto',
                                         sleep_ms integer DEFAULT 0,
                                         lock_timeout_ms integer DEFAULT 0,
                                         max_retries integer DEFAULT 5,
                                         skip_locked boolean DEFAULT false,
                                         max_rows_per_sec integer DEFAULT 0,
                                         target_batch_ms integer DEFAULT 0,
                                         min_batch_size integer DEFAULT 100,
                                         max_batch_size integer DEFAULT 100000,
                                         max_replication_lag interval DEFAULT NULL,
                                         source regclass DEFAULT NULL,
                                         workers integer DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bulk_status_submit_purge'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A stamp (set a column to a value wherever it differs) as a background job.
CREATE FUNCTION bulk_status.submit_stamp(rel regclass,
                                         column_name name,
                                         value text,
                                         source regclass DEFAULT NULL,
                                         filter text DEFAULT NULL,
                                         batch_size integer DEFAULT 10000,
                                         sleep_ms integer DEFAULT 0,
                                         lock_timeout_ms integer DEFAULT 0,
                                         max_retries integer DEFAULT 5,
                                         skip_locked boolean DEFAULT false,
                                         max_rows_per_sec integer DEFAULT 0,
                                         max_replication_lag interval DEFAULT NULL,
                                         workers integer DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bulk_status_submit_stamp'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Control of a job: its owner, a superuser or a member of pg_signal_backend.
CREATE FUNCTION bulk_status.cancel(job bigint) RETURNS void
AS 'MODULE_PATHNAME', 'bulk_status_job_cancel'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bulk_status.pause(job bigint) RETURNS void
AS 'MODULE_PATHNAME', 'bulk_status_job_pause'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bulk_status.resume(job bigint) RETURNS void
AS 'MODULE_PATHNAME', 'bulk_status_job_resume'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Wait until the job is over (done, failed or cancelled) or paused, or the
-- timeout has passed (NULL: no limit); returns its state then.
CREATE FUNCTION bulk_status.wait(job bigint, timeout interval DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'bulk_status_job_wait'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
