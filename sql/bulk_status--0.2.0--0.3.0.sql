\echo Use "ALTER EXTENSION bulk_status UPDATE TO '0.3.0'" to load this file. \quit

--
-- 0.3.0: vacuum passes behind a run.  Every transition, purge and stamp,
-- and their submit variants, take vacuum_threshold: the dead rows the run
-- leaves on a table before it has a helper vacuum it (NULL: 2% of the
-- table's rows, at least 10,000; 0: never).  Jobs keep it, and show their
-- passes and the time they took.
--

ALTER TABLE bulk_status.job_state ADD COLUMN vacuum_threshold bigint;
ALTER TABLE bulk_status.job_part_state
    ADD COLUMN vacuum_passes integer NOT NULL DEFAULT 0,
    ADD COLUMN vacuum_ms double precision NOT NULL DEFAULT 0,
    ADD COLUMN vacuum_note text;

DROP PROCEDURE bulk_status.transition(regclass, text, text, text, name, integer, text, integer, integer, integer, boolean, boolean, integer, integer, integer, integer, interval, regclass, bigint);

CREATE PROCEDURE bulk_status.transition(rel regclass,
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
                                        dry_run boolean DEFAULT false,
                                        max_rows_per_sec integer DEFAULT 0,
                                        target_batch_ms integer DEFAULT 0,
                                        min_batch_size integer DEFAULT 100,
                                        max_batch_size integer DEFAULT 100000,
                                        max_replication_lag interval DEFAULT NULL,
                                        source regclass DEFAULT NULL,
                                        vacuum_threshold bigint DEFAULT NULL,
                                        INOUT rows_changed bigint DEFAULT NULL)
AS 'MODULE_PATHNAME', 'bulk_status_transition'
LANGUAGE C;


DROP PROCEDURE bulk_status.purge(regclass, text, text, name, integer, text, integer, integer, integer, boolean, boolean, integer, integer, integer, integer, interval, regclass, bigint);

CREATE PROCEDURE bulk_status.purge(rel regclass,
                                   status text,
                                   filter text DEFAULT NULL,
                                   status_column name DEFAULT 'status',
                                   batch_size integer DEFAULT 10000,
                                   strategy text DEFAULT 'auto',
                                   sleep_ms integer DEFAULT 0,
                                   lock_timeout_ms integer DEFAULT 0,
                                   max_retries integer DEFAULT 5,
                                   skip_locked boolean DEFAULT false,
                                   dry_run boolean DEFAULT false,
                                   max_rows_per_sec integer DEFAULT 0,
                                   target_batch_ms integer DEFAULT 0,
                                   min_batch_size integer DEFAULT 100,
                                   max_batch_size integer DEFAULT 100000,
                                   max_replication_lag interval DEFAULT NULL,
                                   source regclass DEFAULT NULL,
                                   vacuum_threshold bigint DEFAULT NULL,
                                   INOUT rows_deleted bigint DEFAULT NULL)
AS 'MODULE_PATHNAME', 'bulk_status_purge'
LANGUAGE C;


DROP PROCEDURE bulk_status.stamp(regclass, name, text, regclass, text, integer, integer, integer, integer, boolean, boolean, integer, interval, bigint);

CREATE PROCEDURE bulk_status.stamp(rel regclass,
                                   column_name name,
                                   value text,
                                   source regclass DEFAULT NULL,
                                   filter text DEFAULT NULL,
                                   batch_size integer DEFAULT 10000,
                                   sleep_ms integer DEFAULT 0,
                                   lock_timeout_ms integer DEFAULT 0,
                                   max_retries integer DEFAULT 5,
                                   skip_locked boolean DEFAULT false,
                                   dry_run boolean DEFAULT false,
                                   max_rows_per_sec integer DEFAULT 0,
                                   max_replication_lag interval DEFAULT NULL,
                                   vacuum_threshold bigint DEFAULT NULL,
                                   INOUT rows_changed bigint DEFAULT NULL)
AS 'MODULE_PATHNAME', 'bulk_status_stamp'
LANGUAGE C;


DROP FUNCTION bulk_status.submit(regclass, text, text, text, name, integer, text, integer, integer, integer, boolean, integer, integer, integer, integer, interval, regclass, integer);

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
                                   vacuum_threshold bigint DEFAULT NULL,
                                   workers integer DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bulk_status_submit'
LANGUAGE C VOLATILE PARALLEL UNSAFE;


DROP FUNCTION bulk_status.submit_purge(regclass, text, text, name, integer, text, integer, integer, integer, boolean, integer, integer, integer, integer, interval, regclass, integer);

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
                                         vacuum_threshold bigint DEFAULT NULL,
                                         workers integer DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bulk_status_submit_purge'
LANGUAGE C VOLATILE PARALLEL UNSAFE;


DROP FUNCTION bulk_status.submit_stamp(regclass, name, text, regclass, text, integer, integer, integer, integer, boolean, integer, interval, integer);

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
                                         vacuum_threshold bigint DEFAULT NULL,
                                         workers integer DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bulk_status_submit_stamp'
LANGUAGE C VOLATILE PARALLEL UNSAFE;


-- The views and the live figures gain the vacuum passes.
DROP VIEW bulk_status.jobs;
DROP VIEW bulk_status.job_parts;
DROP FUNCTION bulk_status._job_live();

CREATE FUNCTION bulk_status._job_live(OUT job bigint, OUT part integer,
                                      OUT pid integer, OUT phase text,
                                      OUT rows_done bigint, OUT batches bigint,
                                      OUT batch_size integer,
                                      OUT rows_per_sec double precision,
                                      OUT engine_peak bigint,
                                      OUT vacuum_passes integer,
                                      OUT vacuum_ms double precision)
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
           pg_catalog.sum(p.vacuum_passes)::integer               AS vacuum_passes,
           pg_catalog.sum(p.vacuum_ms)                            AS vacuum_ms,
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
           pg_catalog.sum(l.batches)::bigint                      AS batches,
           pg_catalog.sum(l.vacuum_passes)::integer               AS vacuum_passes,
           pg_catalog.sum(l.vacuum_ms)                            AS vacuum_ms
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
       live.pids,
       GREATEST(p.vacuum_passes, live.vacuum_passes)   AS vacuum_passes,
       pg_catalog.make_interval(secs => GREATEST(p.vacuum_ms, live.vacuum_ms) / 1000) AS vacuum_time
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
       p.attempts, p.pid, p.error, p.started, p.updated, p.finished,
       p.vacuum_passes, pg_catalog.make_interval(secs => p.vacuum_ms / 1000) AS vacuum_time,
       p.vacuum_note
  FROM bulk_status.job_part_state p
  JOIN bulk_status.job_state j ON j.id = p.job
 WHERE pg_catalog.pg_has_role(j.owner, 'USAGE')
    OR pg_catalog.pg_has_role('pg_monitor', 'USAGE');
GRANT SELECT ON bulk_status.job_parts TO PUBLIC;
