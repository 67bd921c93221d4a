--
-- cursor: durable named cursors whose position advances in the caller's
-- transaction
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA cursor_test;
SET search_path = cursor_test, public;

CREATE TABLE t (id int PRIMARY KEY, status text);
INSERT INTO t SELECT g, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END
  FROM generate_series(25, 1, -1) g;

CREATE VIEW my_cursors AS
SELECT name, owner::text = current_user AS own, relation, filter, batch_size, key_columns, position,
       rows_fetched, created IS NOT NULL AS has_created,
       last_fetch IS NOT NULL AS has_last_fetch
  FROM bulk_status.cursors
 WHERE name LIKE 'cur\_%'
 ORDER BY name;

-- open: the position starts before the first row
SELECT bulk_status.cursor_open('cur_a', 't', NULL, 10);
SELECT * FROM my_cursors;

-- the default count is the cursor's batch_size
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('cur_a', NULL::t) AS f) s;
SELECT * FROM my_cursors;
-- an explicit count; NULL means the default
SELECT bulk_status.cursor_fetch('cur_a', NULL::t, 3);
SELECT bulk_status.cursor_fetch('cur_a', NULL::t, NULL);
SELECT name, position, rows_fetched FROM my_cursors;
-- a count beyond the end returns what is left, then nothing
SELECT bulk_status.cursor_fetch('cur_a', NULL::t, 100);
SELECT bulk_status.cursor_fetch('cur_a', NULL::t, 100);
SELECT bulk_status.cursor_fetch('cur_a', NULL::t);
SELECT name, position, rows_fetched FROM my_cursors;
-- rows added after the position are seen later; rows added before are not
INSERT INTO t VALUES (0, 'before'), (26, 'after'), (27, 'after');
SELECT bulk_status.cursor_fetch('cur_a', NULL::t, 1);
SELECT bulk_status.cursor_fetch('cur_a', NULL::t);
SELECT name, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_close('cur_a');
SELECT count(*) FROM my_cursors;
DELETE FROM t WHERE id NOT BETWEEN 1 AND 25;

-- the position advances in the caller's transaction
SELECT bulk_status.cursor_open('cur_tx', 't', NULL, 4);
BEGIN;
SELECT bulk_status.cursor_fetch('cur_tx', NULL::t);
SELECT name, position, rows_fetched FROM my_cursors;
ROLLBACK;
SELECT name, position, rows_fetched FROM my_cursors;
-- same rows again
BEGIN;
SELECT bulk_status.cursor_fetch('cur_tx', NULL::t);
COMMIT;
SELECT name, position, rows_fetched FROM my_cursors;
-- savepoints
BEGIN;
SELECT bulk_status.cursor_fetch('cur_tx', NULL::t, 2);
SAVEPOINT s1;
SELECT bulk_status.cursor_fetch('cur_tx', NULL::t, 2);
ROLLBACK TO SAVEPOINT s1;
SELECT bulk_status.cursor_fetch('cur_tx', NULL::t, 2);
RELEASE SAVEPOINT s1;
COMMIT;
SELECT name, position, rows_fetched FROM my_cursors;
-- a transaction that fails after the fetch rolls the position back
BEGIN;
SELECT bulk_status.cursor_fetch('cur_tx', NULL::t, 2);
SELECT 1 / 0;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT bulk_status.cursor_fetch('cur_tx', NULL::t, 2);
-- the consumer's work and the position commit together
CREATE TABLE processed (id int PRIMARY KEY);
BEGIN;
INSERT INTO processed SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_tx', NULL::t, 3) AS f) s;
COMMIT;
BEGIN;
INSERT INTO processed SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_tx', NULL::t, 3) AS f) s;
ROLLBACK;
INSERT INTO processed SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_tx', NULL::t, 100) AS f) s;
SELECT count(*), min(id), max(id) FROM processed;
SELECT name, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_close('cur_tx');

-- the cursor survives the session
SELECT bulk_status.cursor_open('cur_dur', 't', 'id > 20', 2);
SELECT bulk_status.cursor_fetch('cur_dur', NULL::t);
\connect -
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never
SET search_path = cursor_test, public;
SELECT name, filter, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_fetch('cur_dur', NULL::t);
SELECT bulk_status.cursor_fetch('cur_dur', NULL::t);
SELECT bulk_status.cursor_fetch('cur_dur', NULL::t);
SELECT bulk_status.cursor_close('cur_dur');

-- a filter, and several cursors at once (interleaved)
SELECT bulk_status.cursor_open('cur_even', 't', 'status = ''even''', 3);
SELECT bulk_status.cursor_open('cur_odd', 't', 'status = ''odd'' AND id > 10', 3);
SELECT name, filter, batch_size, key_columns FROM my_cursors;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_even', NULL::t) AS f) s;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_odd', NULL::t) AS f) s;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_even', NULL::t) AS f) s;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_odd', NULL::t, 10) AS f) s;
SELECT name, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_close('cur_even');
SELECT bulk_status.cursor_close('cur_odd');

-- rows deleted or changed ahead of the position, and the row at the position
SELECT bulk_status.cursor_open('cur_del', 't', 'status <> ''gone''', 5);
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_del', NULL::t) AS f) s;
DELETE FROM t WHERE id IN (5, 6, 8);
UPDATE t SET status = 'gone' WHERE id = 9;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_del', NULL::t) AS f) s;
SELECT bulk_status.cursor_close('cur_del');

-- a name can be reused after close; names are any text
SELECT bulk_status.cursor_open('cur_del', 't', NULL, 1);
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_del', NULL::t) AS f) s;
SELECT bulk_status.cursor_close('cur_del');
SELECT bulk_status.cursor_open('cur_ odd name; '' "x"', 't', NULL, 2);
SELECT name, position FROM my_cursors;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_ odd name; '' "x"', NULL::t) AS f) s;
SELECT bulk_status.cursor_close('cur_ odd name; '' "x"');

-- the largest batch size and count
SELECT bulk_status.cursor_open('cur_max', 't', NULL, 2147483647);
SELECT count(*) FROM (SELECT bulk_status.cursor_fetch('cur_max', NULL::t) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.cursor_fetch('cur_max', NULL::t, 2147483647) AS f) s;
SELECT bulk_status.cursor_close('cur_max');

-- a cursor over an empty result
SELECT bulk_status.cursor_open('cur_none', 't', 'false', 5);
SELECT count(*) FROM (SELECT bulk_status.cursor_fetch('cur_none', NULL::t) AS f) s;
SELECT name, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_close('cur_none');

-- composite key (a int, b text)
CREATE TABLE comp (a int, b text COLLATE "C", v int, PRIMARY KEY (a, b));
INSERT INTO comp SELECT g % 3, 'k' || (g % 4), g FROM generate_series(1, 12) g;
SELECT bulk_status.cursor_open('cur_comp', 'comp', NULL, 5);
SELECT name, key_columns, position FROM my_cursors;
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('cur_comp', NULL::comp) AS f) s;
SELECT name, key_columns, position FROM my_cursors;
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('cur_comp', NULL::comp) AS f) s;
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('cur_comp', NULL::comp) AS f) s;
SELECT name, key_columns, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_close('cur_comp');

-- a unique index on NOT NULL columns is a key; a text key with quotes
CREATE TABLE uniq (v int, code text COLLATE "C" NOT NULL);
CREATE UNIQUE INDEX uniq_code ON uniq (code);
INSERT INTO uniq VALUES (1, 'it''s'), (2, 'a,b'), (3, '{x}'), (4, '"q"'), (5, 'NULL'), (6, '');
SELECT bulk_status.cursor_open('cur_uniq', 'uniq', NULL, 1);
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('cur_uniq', NULL::uniq) AS f) s;
SELECT position FROM my_cursors WHERE name = 'cur_uniq';
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('cur_uniq', NULL::uniq) AS f) s;
SELECT position FROM my_cursors WHERE name = 'cur_uniq';
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('cur_uniq', NULL::uniq, 10) AS f) s;
SELECT name, key_columns, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_close('cur_uniq');

-- a cursor reads every row once in key order over many fetches
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT g, md5(g::text) FROM generate_series(500, 1, -1) g;
CREATE TABLE seen (n serial, id int);
SELECT bulk_status.cursor_open('cur_big', 'big', NULL, 7);
DO $$
DECLARE
  got int;
BEGIN
  LOOP
    INSERT INTO cursor_test.seen (id)
    SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('cur_big', NULL::cursor_test.big) AS f) s;
    GET DIAGNOSTICS got = ROW_COUNT;
    EXIT WHEN got = 0;
  END LOOP;
END
$$;
SELECT count(*), count(DISTINCT id),
       array_agg(id ORDER BY n) = (SELECT array_agg(id ORDER BY id) FROM big) AS in_key_order
  FROM seen;
SELECT name, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_close('cur_big');

-- a cursor in parts: disjoint key ranges that cover the table, each read
-- on its own; consumers of different parts interleave freely
CREATE TABLE grp (id int PRIMARY KEY, v text);
INSERT INTO grp SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
ANALYZE grp;
SELECT bulk_status.cursor_open('cur_grp', 'grp', 'id % 3 <> 0', 100, parts => 3);
SELECT name, parts, position, rows_fetched FROM bulk_status.cursors WHERE name = 'cur_grp';
SELECT part, parts, position = lower_bound OR (position IS NULL AND lower_bound IS NULL) AS at_start,
       (part = 1) = (lower_bound IS NULL) AS first_open, (part = 3) = (upper_bound IS NULL) AS last_open
  FROM bulk_status.cursor_parts WHERE name = 'cur_grp' ORDER BY part;
-- each part's upper bound is the next part's lower bound
SELECT count(*) AS chained
  FROM bulk_status.cursor_parts a JOIN bulk_status.cursor_parts b
    ON a.name = b.name AND b.part = a.part + 1 AND a.upper_bound = b.lower_bound
 WHERE a.name = 'cur_grp';
CREATE TABLE grp_seen (part int, id int);
DO $$
DECLARE
  got int;
  busy bool := true;
BEGIN
  WHILE busy LOOP
    busy := false;
    FOR p IN 1..3 LOOP
      INSERT INTO cursor_test.grp_seen
      SELECT p, (f).id FROM (SELECT bulk_status.cursor_fetch('cur_grp', NULL::cursor_test.grp, part => p) AS f) s;
      GET DIAGNOSTICS got = ROW_COUNT;
      busy := busy OR got > 0;
    END LOOP;
  END LOOP;
END
$$;
-- every row the filter keeps, once; parts disjoint and in key order within
SELECT count(*), count(DISTINCT id), bool_and(id % 3 <> 0) AS filtered,
       (SELECT count(*) FROM grp WHERE id % 3 <> 0) AS expected
  FROM grp_seen;
SELECT part, count(*) BETWEEN 300 AND 1100 AS about_a_third FROM grp_seen GROUP BY part ORDER BY part;
SELECT count(*) AS overlaps FROM grp_seen a JOIN grp_seen b ON a.part < b.part AND a.id >= b.id;
SELECT part, rows_fetched FROM bulk_status.cursor_parts WHERE name = 'cur_grp' ORDER BY part;
SELECT rows_fetched, position FROM my_cursors WHERE name = 'cur_grp';
-- a part that is done stays done; rows added later in its range are read
SELECT count(*) FROM bulk_status.cursor_fetch('cur_grp', NULL::grp, part => 2);
INSERT INTO grp VALUES (3001, 'late');
SELECT id FROM bulk_status.cursor_fetch('cur_grp', NULL::grp, part => 3);
SELECT bulk_status.cursor_close('cur_grp');
SELECT count(*) FROM bulk_status.cursor_parts WHERE name = 'cur_grp';
-- parts => 1 is a plain cursor; part => 1 may be given
SELECT bulk_status.cursor_open('cur_one', 'grp', parts => 1);
SELECT count(*) FROM bulk_status.cursor_fetch('cur_one', NULL::grp, 5, part => 1);
SELECT count(*) FROM bulk_status.cursor_fetch('cur_one', NULL::grp, 5);
SELECT parts, position, rows_fetched FROM bulk_status.cursors WHERE name = 'cur_one';
SELECT bulk_status.cursor_close('cur_one');

-- columns, not records: (scan(...)).* calls scan once
SELECT (bulk_status.scan(NULL::grp, 'id <= 3')).*;
EXPLAIN (COSTS OFF, VERBOSE) SELECT (bulk_status.scan(NULL::grp)).*;
-- rows older than an added column get its default; dropped columns stay out
ALTER TABLE grp ADD COLUMN w int DEFAULT 7;
INSERT INTO grp VALUES (0, 'new', 8);
SELECT (bulk_status.scan(NULL::grp, 'id <= 2')).*;
ALTER TABLE grp DROP COLUMN v;
SELECT (bulk_status.scan(NULL::grp, 'id <= 2')).*;
SELECT bulk_status.cursor_open('cur_cols', 'grp');
SELECT * FROM bulk_status.cursor_fetch('cur_cols', NULL::grp, 3);
SELECT bulk_status.cursor_close('cur_cols');

SELECT count(*) FROM my_cursors;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA cursor_test CASCADE;
