--
-- purge: batched DELETE of the rows with a status (retention of DELETED
-- rows), with the options and guarantees of a transition
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA purge_test;
SET search_path = purge_test, public;

CREATE TABLE files (path text PRIMARY KEY, deleted_at timestamptz, status text NOT NULL);
INSERT INTO files
  SELECT '/f/' || g,
         CASE WHEN g % 4 = 0 THEN '2026-01-01'::timestamptz + g * interval '1 hour' END,
         CASE WHEN g % 4 = 0 THEN 'DELETED' ELSE 'SYNCED' END
    FROM generate_series(1, 2000) g;
-- an audit of deletions: AFTER DELETE row triggers fire as for a DELETE
CREATE TABLE gone (path text);
CREATE FUNCTION note_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO gone VALUES (OLD.path);
  RETURN NULL;
END $$;
CREATE TRIGGER note_gone AFTER DELETE ON files FOR EACH ROW EXECUTE FUNCTION note_gone();

-- retention: only DELETED rows older than a date, in batches
CALL bulk_status.purge('files', 'DELETED', filter => $$deleted_at < '2026-02-01'$$, batch_size => 50);
SELECT kind, rows, batches > 1 AS batched FROM bulk_status.last_run();
SELECT status, count(*) FROM files GROUP BY 1 ORDER BY 1;
SELECT count(*) AS audited, count(DISTINCT path) AS distinct_audited FROM gone;

-- every strategy deletes exactly the same rows
CREATE TABLE copy_range AS SELECT * FROM files;
ALTER TABLE copy_range ADD PRIMARY KEY (path);
CREATE TABLE copy_limit AS SELECT * FROM files;
ALTER TABLE copy_limit ADD PRIMARY KEY (path);
CREATE TABLE copy_ctid AS SELECT * FROM files;
CALL bulk_status.purge('copy_range', 'DELETED', strategy => 'range', batch_size => 30);
CALL bulk_status.purge('copy_limit', 'DELETED', strategy => 'limit', batch_size => 30);
CALL bulk_status.purge('copy_ctid', 'DELETED', batch_size => 30);
CALL bulk_status.purge('files', 'DELETED', skip_locked => true, batch_size => 30);
SELECT (SELECT count(*) FROM copy_range) AS range_left, (SELECT count(*) FROM copy_limit) AS limit_left,
       (SELECT count(*) FROM copy_ctid) AS ctid_left, (SELECT count(*) FROM files) AS skip_locked_left,
       (SELECT count(*) FROM files WHERE status = 'DELETED') AS deleted_left;

-- from a source relation: only the rows it names
CREATE TABLE to_forget (path text);
INSERT INTO to_forget VALUES ('/f/1'), ('/f/2'), ('/f/3'), ('/f/nope');
CALL bulk_status.purge('files', 'SYNCED', source => 'to_forget');
SELECT count(*) FROM files WHERE path IN ('/f/1', '/f/2', '/f/3');

-- a dry run deletes nothing
\set VERBOSITY terse
CALL bulk_status.purge('files', 'SYNCED', dry_run => true);
\set VERBOSITY default
SELECT count(*) FROM files;

-- a foreign key refusing a deletion: that batch rolls back alone
CREATE TABLE parent (id int PRIMARY KEY, status text NOT NULL);
CREATE TABLE child (parent_id int REFERENCES parent);
INSERT INTO parent SELECT g, 'old' FROM generate_series(1, 100) g;
INSERT INTO child VALUES (55);
CALL bulk_status.purge('parent', 'old', batch_size => 10);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS left, min(id) FROM parent;

-- errors
CALL bulk_status.purge('files', NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.purge('files', 'SYNCED', batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.purge('files', 'SYNCED', status_column => 'nope');
\echo :LAST_ERROR_SQLSTATE
BEGIN;
CALL bulk_status.purge('files', 'SYNCED');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE ruled (id int PRIMARY KEY, status text);
CREATE RULE keep AS ON DELETE TO ruled DO INSTEAD NOTHING;
CALL bulk_status.purge('ruled', 'x');
\echo :LAST_ERROR_SQLSTATE
DROP ROLE IF EXISTS regress_bs_purge;
CREATE ROLE regress_bs_purge NOLOGIN;
GRANT USAGE ON SCHEMA purge_test TO regress_bs_purge;
GRANT SELECT, UPDATE ON files TO regress_bs_purge;
SET ROLE regress_bs_purge;
CALL bulk_status.purge('files', 'SYNCED');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) FROM files;

-- a purge that locks its rows first (limit, skip_locked) uses SELECT ...
-- FOR UPDATE: it needs the UPDATE privilege, and is refused under row-level
-- security (which would apply UPDATE policies); auto never chooses limit
CREATE TABLE p2 (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO p2 SELECT g, CASE WHEN g % 50 = 0 THEN 'DELETED' ELSE 'SYNCED' END
  FROM generate_series(1, 1000) g;
ANALYZE p2;
\set VERBOSITY terse
CALL bulk_status.purge('p2', 'DELETED', dry_run => true);
\set VERBOSITY default
DROP ROLE IF EXISTS regress_bs_purge2;
CREATE ROLE regress_bs_purge2 NOLOGIN;
GRANT USAGE ON SCHEMA purge_test TO regress_bs_purge2;
GRANT SELECT, DELETE ON p2 TO regress_bs_purge2;
SET ROLE regress_bs_purge2;
CALL bulk_status.purge('p2', 'DELETED', strategy => 'limit');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.purge('p2', 'DELETED', skip_locked => true);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.purge('p2', 'DELETED');
RESET ROLE;
ALTER TABLE p2 ENABLE ROW LEVEL SECURITY;
CALL bulk_status.purge('p2', 'SYNCED', strategy => 'limit');
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*) FROM p2 GROUP BY 1 ORDER BY 1;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA purge_test CASCADE;
DROP ROLE regress_bs_purge;
DROP ROLE regress_bs_purge2;
