\echo Use "ALTER EXTENSION bulk_status UPDATE TO '0.4.0'" to load this file. \quit

--
-- 0.4.0: cursors in parts.  cursor_open(..., parts => n) splits a cursor's
-- keys into n ranges of about equal numbers of rows, each with a position
-- of its own, so that n consumers can read one table at once, each part
-- exactly once: cursor_fetch(..., part => i).  A cursor is now one row of
-- cursor_state per part; a cursor of one part keeps its single row.
--

ALTER TABLE bulk_status.cursor_state
    ADD COLUMN part integer NOT NULL DEFAULT 1,
    ADD COLUMN parts integer NOT NULL DEFAULT 1,
    ADD COLUMN lower_bound text[],
    ADD COLUMN upper_bound text[],
    ADD CHECK (part BETWEEN 1 AND parts);
ALTER TABLE bulk_status.cursor_state
    DROP CONSTRAINT cursor_state_pkey,
    ADD PRIMARY KEY (name, part);

DROP VIEW bulk_status.cursors;

-- One row per cursor (its first part's row), with its parts' progress
-- added up.
CREATE VIEW bulk_status.cursors WITH (security_barrier) AS
SELECT c.name,
       c.owner              AS owner,
       c.relid              AS relation,
       c.filter,
       c.batch_size,
       c.key_columns,
       CASE WHEN c.parts = 1 THEN c.position END AS position,
       p.rows_fetched,
       c.created,
       p.last_fetch,
       c.parts
  FROM bulk_status.cursor_state c
 CROSS JOIN LATERAL (SELECT sum(o.rows_fetched)::bigint AS rows_fetched,
                            max(o.last_fetch) AS last_fetch
                       FROM bulk_status.cursor_state o
                      WHERE o.name = c.name) p
 WHERE c.part = 1 AND pg_catalog.pg_has_role(c.owner, 'USAGE');
GRANT SELECT ON bulk_status.cursors TO PUBLIC;

-- One row per part of a cursor.
CREATE VIEW bulk_status.cursor_parts WITH (security_barrier) AS
SELECT c.name,
       c.part,
       c.parts,
       c.owner,
       c.relid        AS relation,
       c.lower_bound,
       c.upper_bound,
       c.position,
       c.rows_fetched,
       c.last_fetch
  FROM bulk_status.cursor_state c
 WHERE pg_catalog.pg_has_role(c.owner, 'USAGE');
GRANT SELECT ON bulk_status.cursor_parts TO PUBLIC;

DROP FUNCTION bulk_status.cursor_open(text, regclass, text, integer);
DROP FUNCTION bulk_status.cursor_fetch(text, anyelement, integer);

-- Open a named cursor over rel; its position starts before the first row.
-- With parts => n, the keys are split into n ranges of about equal numbers
-- of rows (from a sample), each read on its own with cursor_fetch(...,
-- part => i).
CREATE FUNCTION bulk_status.cursor_open(name text,
                                        rel regclass,
                                        filter text DEFAULT NULL,
                                        batch_size integer DEFAULT 10000,
                                        parts integer DEFAULT 1)
RETURNS void
AS 'MODULE_PATHNAME', 'bulk_status_cursor_open'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The next max_rows rows (default: the cursor's batch_size) after the
-- position of the cursor (of its part "part", for a cursor in parts); the
-- position advances in the caller's transaction.
CREATE FUNCTION bulk_status.cursor_fetch(name text,
                                         rowtype anyelement,
                                         max_rows integer DEFAULT NULL,
                                         part integer DEFAULT NULL)
RETURNS SETOF anyelement
AS 'MODULE_PATHNAME', 'bulk_status_cursor_fetch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
