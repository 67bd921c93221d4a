--
-- errors_transition: every bad input to bulk_status.transition, with its
-- SQLSTATE; a failing batch changes nothing and earlier batches stay
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

-- roles outlive the test database: drop any left by an interrupted run
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_bs_errs_tr;
RESET client_min_messages;

CREATE SCHEMA errs_tr;
SET search_path = errs_tr, public;

CREATE TABLE t (id int PRIMARY KEY, status text, note text);
INSERT INTO t SELECT g, 'a', 'n' || g FROM generate_series(1, 100) g;

-- NULL for a required argument
CALL bulk_status.transition(NULL, 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', NULL, 'b');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', status_column => NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', batch_size => NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', strategy => NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', sleep_ms => NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', lock_timeout_ms => NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', max_retries => NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', skip_locked => NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', dry_run => NULL);
\echo :LAST_ERROR_SQLSTATE

-- relations
CALL bulk_status.transition('nosuch', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition(12345678::regclass, 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition(0::regclass, 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW v AS SELECT * FROM t;
CALL bulk_status.transition('v', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t;
CALL bulk_status.transition('mv', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CREATE SEQUENCE seq;
CALL bulk_status.transition('seq', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN DATA WRAPPER errs_tr_dummy;
CREATE SERVER errs_tr_srv FOREIGN DATA WRAPPER errs_tr_dummy;
CREATE FOREIGN TABLE ft (id int, status text) SERVER errs_tr_srv;
CALL bulk_status.transition('ft', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t_pkey', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CREATE TYPE pair AS (id int, status text);
CALL bulk_status.transition('pair', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE

-- the status column
CALL bulk_status.transition('t', 'a', 'b', status_column => 'nosuch');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', status_column => 'Status');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', status_column => 'ctid');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', status_column => '');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE t ADD COLUMN dropme text;
ALTER TABLE t DROP COLUMN dropme;
CALL bulk_status.transition('t', 'a', 'b', status_column => 'dropme');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE gen (id int PRIMARY KEY, base text,
                  status text GENERATED ALWAYS AS (upper(base)) STORED);
INSERT INTO gen VALUES (1, 'a');
CALL bulk_status.transition('gen', 'A', 'B');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM gen;

-- from = to
CALL bulk_status.transition('t', 'a', 'a');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'a', dry_run => true);
\echo :LAST_ERROR_SQLSTATE

-- numeric options out of range, unknown strategy
CALL bulk_status.transition('t', 'a', 'b', batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', batch_size => -1);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', sleep_ms => -1);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', lock_timeout_ms => -1);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', max_retries => -1);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', vacuum_threshold => -1);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', strategy => 'fast');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', strategy => '');
\echo :LAST_ERROR_SQLSTATE

-- range and limit need a key
CREATE TABLE nokey (id int, status text);
INSERT INTO nokey SELECT g, 'a' FROM generate_series(1, 10) g;
CALL bulk_status.transition('nokey', 'a', 'b', strategy => 'range');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('nokey', 'a', 'b', strategy => 'limit');
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*) FROM nokey GROUP BY 1;

-- filters
CALL bulk_status.transition('t', 'a', 'b', filter => 'id >');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'true; drop table t');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'true; update t set note = null');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'true) or (true');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'id > 1) or (status = ''b''');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'true)');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'true /*');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'true returning *');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => '');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => '1');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'note');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'nosuch = 1');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', filter => 'id > 1', strategy => 'ctid', dry_run => true, batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
-- nothing was changed by any of the above; the table is still there
SELECT status, count(*), count(note) FROM t GROUP BY 1;

-- inside a transaction block
BEGIN;
CALL bulk_status.transition('t', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- inside a function (an atomic context)
CREATE FUNCTION call_it() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  CALL bulk_status.transition('errs_tr.t', 'a', 'b', rows_changed => n);
  RETURN n;
END $$;
SELECT call_it();
\echo :LAST_ERROR_SQLSTATE
-- a DO block inside a transaction block
BEGIN;
DO $$
DECLARE
  n bigint;
BEGIN
  CALL bulk_status.transition('errs_tr.t', 'a', 'b', rows_changed => n);
END $$;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- a dry run changes nothing, so it may run inside a transaction block
BEGIN;
SET LOCAL client_min_messages = warning;
CALL bulk_status.transition('t', 'a', 'b', filter => 'id > 90', dry_run => true);
ROLLBACK;
SELECT status, count(*) FROM t GROUP BY 1;

-- privileges
CREATE ROLE regress_bs_errs_tr NOLOGIN;
GRANT USAGE ON SCHEMA errs_tr TO regress_bs_errs_tr;
SET ROLE regress_bs_errs_tr;
CALL bulk_status.transition('t', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', dry_run => true);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON t TO regress_bs_errs_tr;
SET ROLE regress_bs_errs_tr;
CALL bulk_status.transition('t', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE SELECT ON t FROM regress_bs_errs_tr;
GRANT UPDATE ON t TO regress_bs_errs_tr;
SET ROLE regress_bs_errs_tr;
CALL bulk_status.transition('t', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON t TO regress_bs_errs_tr;
SET ROLE regress_bs_errs_tr;
CALL bulk_status.transition('t', 'a', 'b', filter => 'id <= 10', batch_size => 3);
RESET ROLE;
SELECT status, count(*) FROM t GROUP BY 1 ORDER BY 1;
UPDATE t SET status = 'a';
REVOKE ALL ON t FROM regress_bs_errs_tr;
REVOKE ALL ON SCHEMA errs_tr FROM regress_bs_errs_tr;
DROP ROLE regress_bs_errs_tr;

-- nothing half-done: batch 3 fails on one row; batches 1 and 2 stay
-- committed, batch 3 changed nothing, the error reaches the caller
CREATE FUNCTION fail_on_25() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id = 25 THEN
    RAISE EXCEPTION 'row % refused', NEW.id USING ERRCODE = 'P0001';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fail_on_25 BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION fail_on_25();
CALL bulk_status.transition('t', 'a', 'b', batch_size => 10);
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*), min(id), max(id) FROM t GROUP BY 1 ORDER BY 1;
-- last_run() describes the failed run: two committed batches
SELECT kind, rows FROM bulk_status.last_run();
UPDATE t SET status = 'a' WHERE id <> 25;
CALL bulk_status.transition('t', 'a', 'b', batch_size => 10, strategy => 'limit');
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*), min(id), max(id) FROM t GROUP BY 1 ORDER BY 1;
UPDATE t SET status = 'a' WHERE id <> 25;
-- with ctid the batches are made of blocks: the rows of the failing batch
-- stay unchanged, every committed row comes before them
CREATE TABLE tc (id int, status text, pad text);
INSERT INTO tc SELECT g, 'a', repeat('x', 500) FROM generate_series(1, 100) g;
CREATE TRIGGER fail_on_25 BEFORE UPDATE ON tc FOR EACH ROW EXECUTE FUNCTION fail_on_25();
CALL bulk_status.transition('tc', 'a', 'b', batch_size => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FILTER (WHERE status = 'b') BETWEEN 1 AND 24 AS some_changed,
       max(id) FILTER (WHERE status = 'b') < 25 AS all_changed_before_25,
       count(*) FILTER (WHERE status = 'b') = max(id) FILTER (WHERE status = 'b') AS no_gaps
  FROM tc;
DROP TRIGGER fail_on_25 ON t;
UPDATE t SET status = 'a';
-- a CHECK constraint that rejects the new value from id 25 on
ALTER TABLE t ADD CONSTRAINT only_low_b CHECK (status <> 'b' OR id < 25);
CALL bulk_status.transition('t', 'a', 'b', batch_size => 10);
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*), min(id), max(id) FROM t GROUP BY 1 ORDER BY 1;
ALTER TABLE t DROP CONSTRAINT only_low_b;
UPDATE t SET status = 'a';
-- an AFTER trigger that fails
CREATE FUNCTION fail_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id = 45 THEN
    RAISE EXCEPTION 'after trigger refused row %', NEW.id USING ERRCODE = 'P0002';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER fail_after AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION fail_after();
CALL bulk_status.transition('t', 'a', 'b', batch_size => 20);
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*), min(id), max(id) FROM t GROUP BY 1 ORDER BY 1;
DROP TRIGGER fail_after ON t;
-- an error raised by the filter in a later batch
UPDATE t SET status = 'a';
CALL bulk_status.transition('t', 'a', 'b', filter => '1 / (id - 35) IS NOT NULL', batch_size => 10);
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*), min(id), max(id) FROM t GROUP BY 1 ORDER BY 1;
-- the session is usable afterwards and the run can be resumed
CALL bulk_status.transition('t', 'a', 'b', batch_size => 10);
SELECT status, count(*) FROM t GROUP BY 1 ORDER BY 1;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA errs_tr CASCADE;
DROP SERVER errs_tr_srv;
DROP FOREIGN DATA WRAPPER errs_tr_dummy;
