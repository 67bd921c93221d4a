--
-- transition: commit-per-batch status changes on a text status column
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA transition_test;
SET search_path = transition_test, public;

-- 1000 rows: 900 SYNCED, 90 NEW, 10 NULL; inserted out of key order
CREATE TABLE files (id int PRIMARY KEY, path text, status text);
INSERT INTO files
SELECT g, '/f/' || g,
       CASE WHEN g % 100 = 0 THEN NULL WHEN g % 10 = 0 THEN 'NEW' ELSE 'SYNCED' END
  FROM generate_series(1000, 1, -1) g;
CREATE INDEX ON files (status);

CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => 37);
SELECT status, count(*) FROM files GROUP BY status ORDER BY status;
SELECT kind, rows, batches > 1 AS several_batches, engine_peak_bytes > 0 AS engine_peak,
       backend_peak_bytes > 0 AS backend_peak, elapsed_ms >= 0 AS elapsed
  FROM bulk_status.last_run();
-- nothing left to change
CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => 37);
SELECT kind, rows FROM bulk_status.last_run();
-- a status nobody has
CALL bulk_status.transition('files', 'NOPE', 'TEMP_DELETED');
-- back, with the defaults, and positional arguments
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED');
CALL bulk_status.transition('files', 'NEW', 'SYNCED', 'id > 500', 'status', 7);
SELECT status, count(*) FROM files GROUP BY status ORDER BY status;
-- the INOUT argument's input value is ignored
CALL bulk_status.transition('files', 'SYNCED', 'NEW', 'id > 500 AND id % 10 = 0', rows_changed => 12345);
SELECT status, count(*) FROM files GROUP BY status ORDER BY status;

-- a filter
CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', filter => 'id % 3 = 0 AND path LIKE ''/f/1%''', batch_size => 10);
SELECT count(*) FROM files WHERE status = 'TEMP_DELETED';
SELECT count(*) AS wrong FROM files
 WHERE (status IS NOT DISTINCT FROM 'TEMP_DELETED')
       <> (id % 3 = 0 AND path LIKE '/f/1%' AND id % 10 <> 0);
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', filter => 'false');
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', filter => 'id IN (SELECT g FROM generate_series(1, 100) g)');
-- a filter on the status column itself
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', filter => 'status = ''NEW''');
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', filter => 'status IS NOT NULL');
SELECT status, count(*) FROM files GROUP BY status ORDER BY status;

-- a filter may name the table; tables named like aliases a query might use
CREATE TABLE t (id int PRIMARY KEY, status text);
CREATE TABLE b (id int PRIMARY KEY, status text);
CREATE TABLE u (x int);
INSERT INTO t SELECT g, 'a' FROM generate_series(1, 10) g;
INSERT INTO b SELECT g, 'a' FROM generate_series(1, 10) g;
INSERT INTO u VALUES (5), (6);
CALL bulk_status.transition('t', 'a', 'b', filter => 't.id > 3', batch_size => 3, strategy => 'range');
CALL bulk_status.transition('t', 'b', 'a', filter => 't.id > 3', batch_size => 3, strategy => 'limit');
CALL bulk_status.transition('t', 'a', 'b', filter => 'transition_test.t.id > 3', batch_size => 3, strategy => 'ctid');
CALL bulk_status.transition('b', 'a', 'b', filter => 'b.id > 3', batch_size => 3, strategy => 'limit');
CALL bulk_status.transition('b', 'b', 'c', filter => 'id IN (SELECT x FROM u)', batch_size => 3, strategy => 'limit');
CALL bulk_status.transition('t', 'b', 'c', filter => 'id IN (SELECT id FROM b WHERE b.status = ''b'')', batch_size => 3, strategy => 'limit');
CALL bulk_status.transition('t', 'b', 'd', filter => 'EXISTS (SELECT FROM u WHERE u.x = t.id)', batch_size => 3, strategy => 'range');
CALL bulk_status.transition('t', 'd', 'e', filter => 'EXISTS (SELECT FROM u WHERE u.x = t.id)', batch_size => 3, strategy => 'ctid');
SELECT t.id, t.status, b.status FROM t JOIN b USING (id) ORDER BY id;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 't.id > 3 AND EXISTS (SELECT FROM b WHERE b.id = t.id)', 3) AS f) s;

-- status values are data, not SQL
CALL bulk_status.transition('files', 'SYNCED', 'it''s; DROP TABLE files; --', filter => 'id <= 3');
SELECT id, status FROM files WHERE id <= 4 ORDER BY id;
CALL bulk_status.transition('files', 'it''s; DROP TABLE files; --', 'SYNCED');
-- the empty string is a status like any other
CALL bulk_status.transition('files', 'SYNCED', '', filter => 'id <= 2');
CALL bulk_status.transition('files', '', 'SYNCED');

-- a sparse match: only 3 rows match, most batches change nothing
CALL bulk_status.transition('files', 'SYNCED', 'X', filter => 'id IN (1, 555, 999)', batch_size => 10);
CALL bulk_status.transition('files', 'X', 'SYNCED', batch_size => 10, strategy => 'range');
CALL bulk_status.transition('files', 'SYNCED', 'X', filter => 'id IN (1, 555, 999)', batch_size => 10, strategy => 'limit');
CALL bulk_status.transition('files', 'X', 'SYNCED', batch_size => 1, strategy => 'ctid');
CALL bulk_status.transition('files', 'SYNCED', 'X', filter => 'id IN (1, 555, 999)', batch_size => 1, strategy => 'ctid');
CALL bulk_status.transition('files', 'X', 'SYNCED', batch_size => 2, strategy => 'limit');

-- the largest values of the options
CALL bulk_status.transition('files', 'SYNCED', 'A', filter => 'id <= 50', batch_size => 2147483647);
CALL bulk_status.transition('files', 'A', 'SYNCED', batch_size => 2147483647, strategy => 'limit',
                            lock_timeout_ms => 2147483647, max_retries => 2147483647);
CALL bulk_status.transition('files', 'SYNCED', 'A', filter => 'id <= 50', batch_size => 2147483647, strategy => 'ctid');
-- (no sleep after the last batch; the timeout only guards the suite)
SET statement_timeout = '60s';
CALL bulk_status.transition('files', 'A', 'SYNCED', batch_size => 2147483647, sleep_ms => 2147483647);
RESET statement_timeout;

-- options that do not change the result
CALL bulk_status.transition('files', 'SYNCED', 'A', filter => 'id <= 50', batch_size => 10, sleep_ms => 1);
CALL bulk_status.transition('files', 'A', 'B', batch_size => 10, lock_timeout_ms => 100, max_retries => 0);
CALL bulk_status.transition('files', 'B', 'C', batch_size => 10, skip_locked => true);
CALL bulk_status.transition('files', 'C', 'SYNCED', batch_size => 10, dry_run => false, max_retries => 100);
SELECT status, count(*) FROM files GROUP BY status ORDER BY status;

-- dry_run: counts, changes nothing (its NOTICEs are hidden here; see below)
SET client_min_messages = warning;
CALL bulk_status.transition('files', 'SYNCED', 'GONE', dry_run => true);
CALL bulk_status.transition('files', 'SYNCED', 'GONE', filter => 'id <= 100', batch_size => 7, dry_run => true);
CALL bulk_status.transition('files', 'NEW', 'GONE', batch_size => 7, strategy => 'limit', dry_run => true);
CALL bulk_status.transition('files', 'NEW', 'GONE', batch_size => 7, strategy => 'ctid', dry_run => true);
RESET client_min_messages;
SELECT status, count(*) FROM files GROUP BY status ORDER BY status;
-- the dry run's NOTICEs: the count and the plan of the first batch (plans
-- depend on statistics; only index scans are allowed here to keep it stable)
CREATE TABLE dry (id int PRIMARY KEY, status text);
INSERT INTO dry SELECT g, 'a' FROM generate_series(1, 100) g;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
CALL bulk_status.transition('dry', 'a', 'b', batch_size => 7, dry_run => true);
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT status, count(*) FROM dry GROUP BY 1;

-- every strategy gives the same result
CREATE TABLE strat_result (strategy text, id int, status text);
CREATE PROCEDURE run_strategy(s text, bs int)
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  TRUNCATE transition_test.files;
  INSERT INTO transition_test.files
  SELECT g, '/f/' || g,
         CASE WHEN g % 100 = 0 THEN NULL WHEN g % 10 = 0 THEN 'NEW' ELSE 'SYNCED' END
    FROM generate_series(1000, 1, -1) g;
  COMMIT;
  CALL bulk_status.transition('transition_test.files', 'SYNCED', 'TEMP_DELETED',
                              filter => 'id % 7 <> 0 AND id > 20', batch_size => bs,
                              strategy => s, rows_changed => n);
  CALL bulk_status.transition('transition_test.files', 'NEW', 'SYNCED',
                              batch_size => bs, strategy => s, rows_changed => n);
  INSERT INTO transition_test.strat_result
  SELECT s || '/' || bs, id, status FROM transition_test.files;
END
$$;
CALL run_strategy('auto', 13);
CALL run_strategy('range', 13);
CALL run_strategy('limit', 13);
CALL run_strategy('ctid', 13);
CALL run_strategy('range', 1);
CALL run_strategy('limit', 1);
CALL run_strategy('ctid', 1);
CALL run_strategy('auto', 100000);
SELECT strategy, count(*) FILTER (WHERE status = 'TEMP_DELETED') AS temp_deleted,
       count(*) FILTER (WHERE status = 'SYNCED') AS synced,
       count(*) FILTER (WHERE status = 'NEW') AS new,
       count(*) FILTER (WHERE status IS NULL) AS null_status,
       md5(string_agg(id || '=' || coalesce(status, '-'), ',' ORDER BY id)) =
       (SELECT md5(string_agg(id || '=' || coalesce(status, '-'), ',' ORDER BY id))
          FROM strat_result WHERE strategy = 'auto/13') AS same_as_auto
  FROM strat_result GROUP BY strategy ORDER BY strategy;
-- what a single UPDATE would have done
SELECT count(*) AS differences FROM strat_result r
 WHERE r.strategy = 'auto/13'
   AND r.status IS DISTINCT FROM
       CASE WHEN r.id % 100 = 0 THEN NULL
            WHEN r.id % 10 = 0 THEN 'SYNCED'
            WHEN r.id % 7 <> 0 AND r.id > 20 THEN 'TEMP_DELETED'
            ELSE 'SYNCED' END;

-- the rows_changed argument comes back to the caller
DO $$
DECLARE
  n bigint;
BEGIN
  CALL bulk_status.transition('transition_test.files', 'TEMP_DELETED', 'SYNCED', batch_size => 50, rows_changed => n);
  RAISE NOTICE 'rows_changed = %', n;
  CALL bulk_status.transition('transition_test.files', 'TEMP_DELETED', 'SYNCED', rows_changed => n);
  RAISE NOTICE 'rows_changed = %', n;
END
$$;

SELECT status, count(*) FROM files GROUP BY status ORDER BY status;

-- extreme and sparse key values, range strategy
CREATE TABLE sparse (id bigint PRIMARY KEY, status text);
INSERT INTO sparse VALUES (-9223372036854775808, 'a'), (-5, 'a'), (0, 'a'), (7, 'b'),
                          (1000000, 'a'), (9223372036854775807, 'a');
CALL bulk_status.transition('sparse', 'a', 'z', batch_size => 1, strategy => 'range');
CALL bulk_status.transition('sparse', 'z', 'a', batch_size => 2, strategy => 'limit');
CALL bulk_status.transition('sparse', 'a', 'z', batch_size => 4);
SELECT * FROM sparse ORDER BY id;

-- a composite key (a int, b text), all strategies
CREATE TABLE comp (a int, b text COLLATE "C", status text, PRIMARY KEY (a, b));
INSERT INTO comp SELECT g % 4, 'k' || g, 'old' FROM generate_series(1, 200) g;
CALL bulk_status.transition('comp', 'old', 'mid', filter => 'a <> 2', batch_size => 9, strategy => 'range');
CALL bulk_status.transition('comp', 'mid', 'new', batch_size => 9, strategy => 'limit');
CALL bulk_status.transition('comp', 'new', 'old', batch_size => 9, strategy => 'ctid');
CALL bulk_status.transition('comp', 'old', 'new', filter => 'b > ''k5''', batch_size => 9);
SELECT a, status, count(*) FROM comp GROUP BY a, status ORDER BY a, status;
SELECT count(*) AS wrong FROM comp WHERE (status = 'new') IS DISTINCT FROM (b > 'k5');

-- a unique index on NOT NULL columns is a key; a text key
CREATE TABLE uniq (code text COLLATE "C" NOT NULL, status text, note text);
CREATE UNIQUE INDEX ON uniq (code);
INSERT INTO uniq SELECT 'c' || g, 'old', NULL FROM generate_series(1, 100) g;
CALL bulk_status.transition('uniq', 'old', 'new', batch_size => 6, strategy => 'range');
CALL bulk_status.transition('uniq', 'new', 'old', batch_size => 6, strategy => 'limit');
SELECT status, count(*) FROM uniq GROUP BY status;

-- a table without any key uses ctid; duplicates are fine
CREATE TABLE heap (v int, status text);
INSERT INTO heap SELECT g % 10, CASE WHEN g % 3 = 0 THEN 'x' ELSE 'y' END
  FROM generate_series(1, 3000) g;
INSERT INTO heap SELECT v, status FROM heap WHERE v = 1;
CALL bulk_status.transition('heap', 'x', 'z', batch_size => 5);
CALL bulk_status.transition('heap', 'z', 'x', batch_size => 1, strategy => 'ctid');
CALL bulk_status.transition('heap', 'x', 'z', filter => 'v < 5');
SELECT status, count(*) FROM heap GROUP BY status ORDER BY status;
-- a nullable unique column is not a key either
CREATE TABLE nullable_uniq (id int UNIQUE, status text);
INSERT INTO nullable_uniq SELECT g, 'x' FROM generate_series(1, 20) g;
INSERT INTO nullable_uniq VALUES (NULL, 'x'), (NULL, 'x');
CALL bulk_status.transition('nullable_uniq', 'x', 'y', batch_size => 3);
-- an empty table
CREATE TABLE empty_t (id int PRIMARY KEY, status text);
CALL bulk_status.transition('empty_t', 'x', 'y');
CALL bulk_status.transition('empty_t', 'x', 'y', strategy => 'limit');
CALL bulk_status.transition('empty_t', 'x', 'y', strategy => 'ctid');
CREATE TABLE empty_heap (status text);
CALL bulk_status.transition('empty_heap', 'x', 'y');

-- another status column; the default column "status" is not touched
CREATE TABLE two (id int PRIMARY KEY, status text, state text);
INSERT INTO two SELECT g, 'a', 'a' FROM generate_series(1, 30) g;
CALL bulk_status.transition('two', 'a', 'b', status_column => 'state', batch_size => 4);
SELECT status, state, count(*) FROM two GROUP BY 1, 2;

-- triggers: BEFORE ROW changes the row, AFTER ROW writes an audit row,
-- statement triggers fire; everything as for an ordinary UPDATE
CREATE TABLE trg (id int PRIMARY KEY, status text, changes int DEFAULT 0);
INSERT INTO trg SELECT g, 'old' FROM generate_series(1, 100) g;
CREATE TABLE audit (id int, old_status text, new_status text, who text);
CREATE TABLE stmt_log (n serial, tg_when text);
CREATE FUNCTION trg_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.changes := OLD.changes + 1;
  RETURN NEW;
END $$;
CREATE FUNCTION trg_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transition_test.audit VALUES (NEW.id, OLD.status, NEW.status, current_user);
  RETURN NULL;
END $$;
CREATE FUNCTION trg_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transition_test.stmt_log (tg_when) VALUES (TG_WHEN);
  RETURN NULL;
END $$;
CREATE TRIGGER b BEFORE UPDATE ON trg FOR EACH ROW EXECUTE FUNCTION trg_before();
CREATE TRIGGER a AFTER UPDATE ON trg FOR EACH ROW EXECUTE FUNCTION trg_after();
CREATE TRIGGER s AFTER UPDATE ON trg FOR EACH STATEMENT EXECUTE FUNCTION trg_stmt();
CALL bulk_status.transition('trg', 'old', 'new', filter => 'id <= 60', batch_size => 8);
SELECT status, changes, count(*) FROM trg GROUP BY 1, 2 ORDER BY 1, 2;
SELECT old_status, new_status, count(*), count(DISTINCT id) FROM audit GROUP BY 1, 2;
SELECT count(*) > 0 AS statement_triggers_fired FROM stmt_log;
-- a column-specific trigger and a WHEN condition
CREATE TRIGGER w AFTER UPDATE OF status ON trg FOR EACH ROW
  WHEN (NEW.status = 'done') EXECUTE FUNCTION trg_after();
CALL bulk_status.transition('trg', 'new', 'done', batch_size => 8, strategy => 'limit');
SELECT new_status, count(*) FROM audit GROUP BY 1 ORDER BY 1;
DROP TRIGGER w ON trg;

-- a BEFORE trigger that skips rows: they are not counted and stay unchanged,
-- even when whole batches are skipped
CREATE FUNCTION trg_skip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id BETWEEN 10 AND 40 OR NEW.id % 10 = 0 THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
UPDATE trg SET status = 'old';
CREATE TRIGGER c BEFORE UPDATE ON trg FOR EACH ROW EXECUTE FUNCTION trg_skip();
SET statement_timeout = '60s';
CALL bulk_status.transition('trg', 'old', 'new', batch_size => 5, strategy => 'range');
SELECT status, count(*) FROM trg GROUP BY 1 ORDER BY 1;
CALL bulk_status.transition('trg', 'new', 'old', batch_size => 5, strategy => 'limit');
SELECT status, count(*) FROM trg GROUP BY 1 ORDER BY 1;
CALL bulk_status.transition('trg', 'old', 'new', batch_size => 5, strategy => 'limit');
SELECT status, count(*) FROM trg GROUP BY 1 ORDER BY 1;
CALL bulk_status.transition('trg', 'new', 'old', batch_size => 1, strategy => 'ctid');
SELECT status, count(*) FROM trg GROUP BY 1 ORDER BY 1;
RESET statement_timeout;

-- a BEFORE trigger that changes the status to something else
DROP TRIGGER c ON trg;
CREATE FUNCTION trg_redirect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id % 2 = 0 THEN
    NEW.status := 'redirected';
  END IF;
  RETURN NEW;
END $$;
UPDATE trg SET status = 'old';
CREATE TRIGGER d BEFORE UPDATE ON trg FOR EACH ROW EXECUTE FUNCTION trg_redirect();
CALL bulk_status.transition('trg', 'old', 'new', batch_size => 7);
SELECT status, count(*) FROM trg GROUP BY 1 ORDER BY 1;

-- a CHECK constraint that the new value satisfies
CREATE TABLE chk (id int PRIMARY KEY, status text CHECK (status IN ('a', 'b')));
INSERT INTO chk SELECT g, 'a' FROM generate_series(1, 20) g;
CALL bulk_status.transition('chk', 'a', 'b', batch_size => 3);

-- rows_changed through a top-level DO block, which may commit
DO $$
DECLARE
  n bigint;
BEGIN
  CALL bulk_status.transition('transition_test.chk', 'b', 'a', batch_size => 3, rows_changed => n);
  RAISE NOTICE 'changed %', n;
END $$;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA transition_test CASCADE;
