\echo Use "CREATE EXTENSION bulk_status" to load this file. \quit

--
-- Streaming scans
--

-- Every row of the table whose row type is given, in key order, read
-- batch_size rows at a time.  Call it in the select list to stream.
CREATE FUNCTION bulk_status.scan(rowtype anyelement,
                                 filter text DEFAULT NULL,
                                 batch_size integer DEFAULT 10000)
RETURNS SETOF anyelement
AS 'MODULE_PATHNAME', 'bulk_status_scan'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- Durable named cursors
--

-- One row per open cursor.  Only the extension's functions touch it; they
-- check ownership themselves.  pg_dump keeps its contents (regrole and
-- regclass are dumped as names, so a restore maps them to the new OIDs).
CREATE TABLE bulk_status.cursor_state (
    name         text PRIMARY KEY,
    owner        regrole NOT NULL,
    relid        regclass NOT NULL,
    filter       text,
    search_path  text NOT NULL,
    batch_size   integer NOT NULL CHECK (batch_size > 0),
    key_columns  name[] NOT NULL,
    position     text[],
    rows_fetched bigint NOT NULL DEFAULT 0,
    created      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_fetch   timestamptz
);
REVOKE ALL ON bulk_status.cursor_state FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('bulk_status.cursor_state', '');

-- A security barrier: a caller's own functions in a WHERE clause cannot see
-- other roles' rows before the ownership test removes them.
CREATE VIEW bulk_status.cursors WITH (security_barrier) AS
SELECT c.name,
       c.owner              AS owner,
       c.relid              AS relation,
       c.filter,
       c.batch_size,
       c.key_columns,
       c.position,
       c.rows_fetched,
       c.created,
       c.last_fetch
  FROM bulk_status.cursor_state c
 WHERE pg_catalog.pg_has_role(c.owner, 'USAGE');
GRANT SELECT ON bulk_status.cursors TO PUBLIC;

-- Open a named cursor over rel; its position starts before the first row.
CREATE FUNCTION bulk_status.cursor_open(name text,
                                        rel regclass,
                                        filter text DEFAULT NULL,
                                        batch_size integer DEFAULT 10000)
RETURNS void
AS 'MODULE_PATHNAME', 'bulk_status_cursor_open'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The next max_rows rows (default: the cursor's batch_size) after the
-- cursor's position; the position advances in the caller's transaction.
CREATE FUNCTION bulk_status.cursor_fetch(name text,
                                         rowtype anyelement,
                                         max_rows integer DEFAULT NULL)
RETURNS SETOF anyelement
AS 'MODULE_PATHNAME', 'bulk_status_cursor_fetch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Forget a cursor.
CREATE FUNCTION bulk_status.cursor_close(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'bulk_status_cursor_close'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- Commit-per-batch status transitions
--

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
                                        INOUT rows_changed bigint DEFAULT NULL)
AS 'MODULE_PATHNAME', 'bulk_status_transition'
LANGUAGE C;

-- Delete the rows with a status, in batches, committed per batch, with the
-- options of a transition: retention of DELETED rows, say.
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
                                   INOUT rows_deleted bigint DEFAULT NULL)
AS 'MODULE_PATHNAME', 'bulk_status_purge'
LANGUAGE C;

-- Set a column to a value, in batches, wherever it has any other value (on
-- the rows of source, and matching filter): the batched write of a
-- generation-based sync cycle.
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
                                   INOUT rows_changed bigint DEFAULT NULL)
AS 'MODULE_PATHNAME', 'bulk_status_stamp'
LANGUAGE C;

--
-- Generations of sync cycles
--

-- One row per cycle.  Only the extension's functions touch it; they check
-- ownership themselves.  pg_dump keeps its contents.
CREATE TABLE bulk_status.generation_state (
    cycle      text PRIMARY KEY,
    owner      regrole NOT NULL,
    generation bigint NOT NULL CHECK (generation > 0),
    running    boolean NOT NULL,
    started    timestamptz NOT NULL,
    finished   timestamptz
);
REVOKE ALL ON bulk_status.generation_state FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('bulk_status.generation_state', '');

CREATE VIEW bulk_status.generations WITH (security_barrier) AS
SELECT g.cycle, g.owner, g.generation, g.running, g.started, g.finished
  FROM bulk_status.generation_state g
 WHERE pg_catalog.pg_has_role(g.owner, 'USAGE');
GRANT SELECT ON bulk_status.generations TO PUBLIC;

-- The next generation of cycle; the same one again while it has not ended.
CREATE FUNCTION bulk_status.generation_begin(cycle text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bulk_status_generation_begin'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- End the running generation of cycle.
CREATE FUNCTION bulk_status.generation_end(cycle text, generation bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'bulk_status_generation_end'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The running (else the last) generation of cycle, 0 before the first: the
-- DEFAULT of a stamp column.
CREATE FUNCTION bulk_status.current_generation(cycle text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bulk_status_current_generation'
LANGUAGE C STABLE STRICT PARALLEL UNSAFE;

--
-- What the engine measured in this session's last scan or transition
--

CREATE FUNCTION bulk_status.last_run(OUT kind text,
                                     OUT rows bigint,
                                     OUT batches bigint,
                                     OUT engine_peak_bytes bigint,
                                     OUT backend_peak_bytes bigint,
                                     OUT elapsed_ms double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'bulk_status_last_run'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

GRANT USAGE ON SCHEMA bulk_status TO PUBLIC;
