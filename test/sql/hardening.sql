--
-- hardening: regressions for the review findings -- cursors read as their
-- owner, the cursors view leaks nothing, positions that do not depend on
-- session settings, which indexes are keys, UPDATE rules, status equality,
-- inheritance parents
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

-- roles outlive the test database: drop any left by an interrupted run
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_bs_hard_alice;
DROP ROLE IF EXISTS regress_bs_hard_bob;
RESET client_min_messages;

CREATE ROLE regress_bs_hard_alice NOLOGIN;
CREATE ROLE regress_bs_hard_bob NOLOGIN;
CREATE SCHEMA hardening;
CREATE SCHEMA hard_alice AUTHORIZATION regress_bs_hard_alice;
CREATE SCHEMA hard_bob AUTHORIZATION regress_bs_hard_bob;
GRANT USAGE ON SCHEMA hardening TO regress_bs_hard_alice, regress_bs_hard_bob;
SET search_path = hardening, public;

-- who ran a filter: alice's filter functions write current_user here
CREATE TABLE seen (who text, via text);
GRANT INSERT ON seen TO PUBLIC;

--
-- 1. a cursor's rows are read as its owner, under the search_path it was
-- opened with, and its filter is checked again at every fetch
--
SET ROLE regress_bs_hard_alice;
CREATE TABLE hard_alice.items (id int PRIMARY KEY, v text);
INSERT INTO hard_alice.items SELECT g, 'v' || g FROM generate_series(1, 6) g;
-- true only when it runs as alice
CREATE FUNCTION hard_alice.is_alice(via text) RETURNS boolean LANGUAGE sql VOLATILE AS $$
  INSERT INTO hardening.seen VALUES (current_user, via)
  RETURNING current_user = 'regress_bs_hard_alice'
$$;
SELECT bulk_status.cursor_open('hard_owner', 'hard_alice.items',
                               $$hard_alice.is_alice('fetch')$$, 2);
RESET ROLE;
-- a superuser fetching alice's cursor runs her filter as alice: it is true
SELECT current_user;
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('hard_owner', NULL::hard_alice.items) AS f) s;
SELECT current_user;
SELECT who, via, count(*) > 0 AS seen FROM seen GROUP BY 1, 2 ORDER BY 1, 2;

-- a table alice could read when she opened the cursor, but no longer can:
-- the superuser's fetch reads it as alice and fails
CREATE TABLE shared (id int PRIMARY KEY, v text);
INSERT INTO shared SELECT g, 's' || g FROM generate_series(1, 4) g;
GRANT SELECT ON shared TO regress_bs_hard_alice;
SET ROLE regress_bs_hard_alice;
SELECT bulk_status.cursor_open('hard_shared', 'hardening.shared', NULL, 2);
RESET ROLE;
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('hard_shared', NULL::shared) AS f) s;
REVOKE SELECT ON shared FROM regress_bs_hard_alice;
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('hard_shared', NULL::shared) AS f) s;
\echo :LAST_ERROR_SQLSTATE
-- the failed fetch gave the caller back its identity, and did not move the cursor
SELECT current_user;
SELECT name, position, rows_fetched FROM bulk_status.cursors WHERE name = 'hard_shared';
GRANT SELECT ON shared TO regress_bs_hard_alice;

-- the filter is checked again, as alice: a function she may no longer
-- execute stops the superuser's fetch too
CREATE FUNCTION allowed(id int) RETURNS boolean LANGUAGE sql AS 'SELECT $1 % 2 = 1';
REVOKE EXECUTE ON FUNCTION allowed(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION allowed(int) TO regress_bs_hard_alice;
SET ROLE regress_bs_hard_alice;
SELECT bulk_status.cursor_open('hard_exec', 'hardening.shared', 'hardening.allowed(id)', 10);
RESET ROLE;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('hard_exec', NULL::shared, 1) AS f) s;
REVOKE EXECUTE ON FUNCTION allowed(int) FROM regress_bs_hard_alice;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('hard_exec', NULL::shared, 1) AS f) s;
\echo :LAST_ERROR_SQLSTATE

-- the filter's unqualified names resolve in the search_path of cursor_open,
-- whatever the fetching session's search_path holds
SET ROLE regress_bs_hard_alice;
CREATE FUNCTION hard_alice.pick(id int) RETURNS boolean LANGUAGE sql AS 'SELECT $1 % 2 = 0';
SET search_path = hard_alice;
SELECT bulk_status.cursor_open('hard_path', 'hard_alice.items', 'pick(id)', 2);
RESET ROLE;
SET search_path = hardening, public;
-- hardening.pick would let every row through
CREATE FUNCTION pick(id int) RETURNS boolean LANGUAGE sql AS 'SELECT true';
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('hard_path', NULL::hard_alice.items) AS f) s;
-- a search_path without any pick()
SET search_path = public;
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('hard_path', NULL::hard_alice.items) AS f) s;
SHOW search_path;
SET search_path = hardening, public;

--
-- 2. bulk_status.cursors is a security barrier: a cheap function of the
-- caller's in WHERE does not see other roles' cursors
--
SET ROLE regress_bs_hard_bob;
CREATE TABLE hard_bob.mine (id int PRIMARY KEY);
SELECT bulk_status.cursor_open('hard_bob_cur', 'hard_bob.mine', 'id > 0');
CREATE FUNCTION hard_bob.leak(text) RETURNS boolean COST 0.0000001 LANGUAGE plpgsql AS
  $$BEGIN RAISE NOTICE 'saw %', $1; RETURN true; END$$;
SELECT name FROM bulk_status.cursors WHERE hard_bob.leak(filter) ORDER BY name;
SELECT name FROM bulk_status.cursors WHERE hard_bob.leak(name) ORDER BY name;
SELECT bulk_status.cursor_close('hard_bob_cur');
RESET ROLE;

-- a member of alice's role uses her cursor, and it still reads as alice
GRANT regress_bs_hard_alice TO regress_bs_hard_bob;
TRUNCATE seen;
SET ROLE regress_bs_hard_bob;
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('hard_owner', NULL::hard_alice.items) AS f) s;
RESET ROLE;
SELECT who, via, count(*) > 0 AS seen FROM seen GROUP BY 1, 2 ORDER BY 1, 2;
REVOKE regress_bs_hard_alice FROM regress_bs_hard_bob;

SET ROLE regress_bs_hard_alice;
SELECT bulk_status.cursor_close('hard_owner');
SELECT bulk_status.cursor_close('hard_shared');
SELECT bulk_status.cursor_close('hard_exec');
SELECT bulk_status.cursor_close('hard_path');
RESET ROLE;

--
-- 3. a cursor's position means the same key whatever the settings of the
-- sessions that fetch from it: every row once, in order, then nothing
--
-- timestamptz: days above 12 read differently under DMY and MDY
SET TimeZone = 'UTC';
CREATE TABLE ts_keyed (t timestamptz PRIMARY KEY, n int);
INSERT INTO ts_keyed VALUES ('2024-01-13 10:00:00.25+00', 1), ('2024-01-14 09:00+00', 2),
                            ('2024-02-15 23:30+00', 3), ('2024-03-20 00:00+00', 4);
SELECT bulk_status.cursor_open('hard_ts', 'ts_keyed', NULL, 1);
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Kolkata';
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_ts', NULL::ts_keyed) AS f) s;
SELECT position FROM bulk_status.cursors WHERE name = 'hard_ts';
SET DateStyle = 'SQL, MDY';
SET TimeZone = 'America/New_York';
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_ts', NULL::ts_keyed) AS f) s;
SET DateStyle = 'German';
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_ts', NULL::ts_keyed) AS f) s;
SET DateStyle = 'Postgres, DMY';
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_ts', NULL::ts_keyed) AS f) s;
SET DateStyle = 'SQL, MDY';
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_ts', NULL::ts_keyed) AS f) s;
-- the session's own settings are untouched
SHOW DateStyle;
SHOW TimeZone;
SELECT rows_fetched FROM bulk_status.cursors WHERE name = 'hard_ts';
SELECT bulk_status.cursor_close('hard_ts');
RESET DateStyle;
RESET TimeZone;

-- float8: 0.3 and 0.30000000000000004 print alike with extra_float_digits = 0
CREATE TABLE fl_keyed (k float8 PRIMARY KEY, n int);
INSERT INTO fl_keyed VALUES (0.4, 3), (0.30000000000000004, 2), (0.3, 1);
SELECT bulk_status.cursor_open('hard_fl', 'fl_keyed', NULL, 1);
SET extra_float_digits = 0;
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_fl', NULL::fl_keyed) AS f) s;
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_fl', NULL::fl_keyed) AS f) s;
SET extra_float_digits = -10;
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_fl', NULL::fl_keyed) AS f) s;
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_fl', NULL::fl_keyed) AS f) s;
SHOW extra_float_digits;
RESET extra_float_digits;
SELECT rows_fetched FROM bulk_status.cursors WHERE name = 'hard_fl';
SELECT bulk_status.cursor_close('hard_fl');

-- interval: '-1 2:00:00' is -1 day -2 hours in sql_standard style, but
-- -1 day +2 hours in postgres style
CREATE TABLE iv_keyed (k interval PRIMARY KEY, n int);
INSERT INTO iv_keyed VALUES ('-1 day -2 hours', 1), ('-1 day', 2), ('-1 day +2 hours', 3);
SELECT bulk_status.cursor_open('hard_iv', 'iv_keyed', NULL, 1);
SET IntervalStyle = 'sql_standard';
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_iv', NULL::iv_keyed) AS f) s;
SET IntervalStyle = 'postgres';
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_iv', NULL::iv_keyed) AS f) s;
SET IntervalStyle = 'sql_standard';
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_iv', NULL::iv_keyed) AS f) s;
SELECT (f).n FROM (SELECT bulk_status.cursor_fetch('hard_iv', NULL::iv_keyed) AS f) s;
RESET IntervalStyle;
SELECT bulk_status.cursor_close('hard_iv');

--
-- 4. only indexes with the columns' own collations and default operator
-- classes are keys
--
CREATE TABLE coll_key (path text NOT NULL, status text);
CREATE UNIQUE INDEX coll_key_c ON coll_key (path COLLATE "C");
CREATE TABLE ops_key (path text NOT NULL, status text);
CREATE UNIQUE INDEX ops_key_pattern ON ops_key (path text_pattern_ops);
INSERT INTO coll_key SELECT 'p' || g, 'a' FROM generate_series(1, 30) g;
INSERT INTO ops_key SELECT 'p' || g, 'a' FROM generate_series(1, 30) g;
-- no key: scans, cursors and the key strategies refuse them
SELECT bulk_status.scan(NULL::coll_key);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::ops_key);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('hard_coll', 'coll_key');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('hard_ops', 'ops_key');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('coll_key', 'a', 'b', strategy => 'range');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('ops_key', 'a', 'b', strategy => 'limit');
\echo :LAST_ERROR_SQLSTATE
-- auto walks them by blocks, and changes every row
CALL bulk_status.transition('coll_key', 'a', 'b', batch_size => 10, dry_run => true);
CALL bulk_status.transition('ops_key', 'a', 'b', batch_size => 10, dry_run => true);
CALL bulk_status.transition('coll_key', 'a', 'b', batch_size => 10);
CALL bulk_status.transition('ops_key', 'a', 'b', batch_size => 10);
SELECT 'coll_key' AS t, status, count(*) FROM coll_key GROUP BY 1, 2
UNION ALL
SELECT 'ops_key', status, count(*) FROM ops_key GROUP BY 1, 2 ORDER BY 1, 2;
-- a usable index is chosen over a narrower unusable one
CREATE UNIQUE INDEX coll_key_ok ON coll_key (path, status);
ALTER TABLE coll_key ALTER status SET NOT NULL;
SELECT bulk_status.cursor_open('hard_coll', 'coll_key', NULL, 3);
SELECT key_columns FROM bulk_status.cursors WHERE name = 'hard_coll';
SELECT (f).path FROM (SELECT bulk_status.cursor_fetch('hard_coll', NULL::coll_key) AS f) s;
SELECT bulk_status.cursor_close('hard_coll');

--
-- 5. tables with UPDATE rules are refused, even for a dry run
--
CREATE TABLE ruled (id int PRIMARY KEY, status text);
INSERT INTO ruled SELECT g, 'a' FROM generate_series(1, 5) g;
CREATE RULE ruled_nothing AS ON UPDATE TO ruled DO INSTEAD NOTHING;
CALL bulk_status.transition('ruled', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('ruled', 'a', 'b', dry_run => true);
\echo :LAST_ERROR_SQLSTATE
DROP RULE ruled_nothing ON ruled;
CREATE TABLE ruled_log (id int);
CREATE RULE ruled_also AS ON UPDATE TO ruled DO ALSO INSERT INTO ruled_log VALUES (NEW.id);
CALL bulk_status.transition('ruled', 'a', 'b', strategy => 'ctid');
\echo :LAST_ERROR_SQLSTATE
DROP RULE ruled_also ON ruled;
-- a rule for another event is no obstacle
CREATE RULE ruled_insert AS ON INSERT TO ruled DO ALSO INSERT INTO ruled_log VALUES (NEW.id);
CALL bulk_status.transition('ruled', 'a', 'b');
SELECT status, count(*) FROM ruled GROUP BY 1;
SELECT count(*) FROM ruled_log;

--
-- 6. from_status and to_status are compared with the type's own equality
--
CREATE TABLE num_status (id int PRIMARY KEY, status numeric NOT NULL);
INSERT INTO num_status SELECT g, 1.0 FROM generate_series(1, 5) g;
CALL bulk_status.transition('num_status', '1.0', '1.00');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('num_status', '1', '1.0', dry_run => true);
\echo :LAST_ERROR_SQLSTATE
SELECT status::text, count(*) FROM num_status GROUP BY 1;
CALL bulk_status.transition('num_status', '1.0', '1.01');
SELECT status::text, count(*) FROM num_status GROUP BY 1;
-- a case-insensitive collation: 'new' and 'NEW' are equal
CREATE COLLATION hard_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE ci_status (id int PRIMARY KEY, status text COLLATE hard_ci NOT NULL);
INSERT INTO ci_status SELECT g, 'new' FROM generate_series(1, 5) g;
CALL bulk_status.transition('ci_status', 'new', 'NEW');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('ci_status', 'NEW', 'done');
SELECT status, count(*) FROM ci_status GROUP BY 1;

--
-- 7. an inheritance parent: scans, cursors and every strategy act on its
-- own rows only, never on its children's
--
CREATE TABLE inh (id int PRIMARY KEY, status text NOT NULL);
CREATE TABLE inh_child (extra int) INHERITS (inh);
INSERT INTO inh SELECT g, 'a' FROM generate_series(1, 10) g;
-- the child repeats the parent's keys: they are not unique across the two
INSERT INTO inh_child SELECT g, 'a', g FROM generate_series(1, 20) g;
SELECT count(*), count(DISTINCT (f).id), max((f).id)
  FROM (SELECT bulk_status.scan(NULL::inh, NULL, 3) AS f) s;
SELECT bulk_status.cursor_open('hard_inh', 'inh', NULL, 100);
SELECT count(*), max((f).id) FROM (SELECT bulk_status.cursor_fetch('hard_inh', NULL::inh) AS f) s;
SELECT bulk_status.cursor_close('hard_inh');
SET client_min_messages = warning;
CALL bulk_status.transition('inh', 'a', 'b', batch_size => 3, dry_run => true);
RESET client_min_messages;
CALL bulk_status.transition('inh', 'a', 'b', batch_size => 3);
CALL bulk_status.transition('inh', 'b', 'c', batch_size => 3, strategy => 'limit');
CALL bulk_status.transition('inh', 'c', 'd', batch_size => 3, strategy => 'ctid');
CALL bulk_status.transition('inh', 'd', 'e', batch_size => 3, skip_locked => true);
SELECT tableoid::regclass AS rel, status, count(*) FROM inh GROUP BY 1, 2 ORDER BY 1, 2;

--
-- 8. a partition whose columns are in another order: a whole-row reference
-- in the filter must mean the partitioned table's row, so the table is
-- walked as a whole (an UPDATE of it changes both rows)
--
CREATE TABLE wr (id int PRIMARY KEY, a text, b text, status text) PARTITION BY RANGE (id);
CREATE TABLE wr1 PARTITION OF wr FOR VALUES FROM (0) TO (100);
CREATE TABLE wr2 (id int NOT NULL, b text, a text, status text);
ALTER TABLE wr ATTACH PARTITION wr2 FOR VALUES FROM (100) TO (200);
INSERT INTO wr VALUES (1, 'A', 'B', 'new'), (101, 'A', 'B', 'new');
CALL bulk_status.transition('wr', 'new', 'done', filter => $$wr::text LIKE '%,A,B,%'$$);
SELECT id, status FROM wr ORDER BY id;

--
-- 9. a dry run whose count gets a parallel plan: parallel workers receive
-- every parameter, so the bounds not in use must be NULL, not unset
--
CREATE TABLE par (path text PRIMARY KEY, status text NOT NULL);
INSERT INTO par SELECT 'p' || g, 'a' FROM generate_series(1, 2000) g;
ANALYZE par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET client_min_messages = warning;
CALL bulk_status.transition('par', 'a', 'b', dry_run => true);
CALL bulk_status.transition('par', 'a', 'b', dry_run => true, strategy => 'limit');
CALL bulk_status.transition('par', 'a', 'b', dry_run => true, strategy => 'ctid');
RESET client_min_messages;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

--
-- 10. strategy auto: limit when the statistics say few rows match, range
-- when many do, and range when there are no statistics to go by
--
CREATE TABLE au (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO au SELECT g, CASE WHEN g % 50 = 0 THEN 'rare' ELSE 'common' END
  FROM generate_series(1, 5000) g;
CREATE TABLE au_fresh (LIKE au INCLUDING ALL);
INSERT INTO au_fresh SELECT * FROM au;
ANALYZE au;
-- (terse: the strategy is in the message; counts and plans are in DETAILs)
\set VERBOSITY terse
CALL bulk_status.transition('au', 'rare', 'x', dry_run => true);
CALL bulk_status.transition('au', 'common', 'x', dry_run => true);
CALL bulk_status.transition('au_fresh', 'rare', 'x', dry_run => true);
-- statistics gathered before most rows changed are not trusted: after
-- 'common' became 'rare', the statistics still call 'rare' rare
CALL bulk_status.transition('au', 'common', 'rare');
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT analyze_count AS analyzed_before FROM pg_stat_user_tables WHERE relid = 'au'::regclass \gset
CALL bulk_status.transition('au', 'rare', 'x', dry_run => true);
-- the run refreshed them itself (the caller owns the table), once
SELECT pg_stat_clear_snapshot();
SELECT analyze_count = :analyzed_before + 1 AS refreshed_once
  FROM pg_stat_user_tables WHERE relid = 'au'::regclass;
\set VERBOSITY default

--
-- 11. a cursor's filter cannot leave settings behind in the fetching
-- session: whatever it SETs while running as the owner is undone
--
SET ROLE regress_bs_hard_alice;
CREATE FUNCTION hard_alice.plant() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.set_config('search_path', 'hard_alice, pg_catalog', false);
  PERFORM pg_catalog.set_config('bulk_status_test.planted', 'yes', false);
  RETURN true;
END $$;
CREATE TABLE hard_alice.plain (id int PRIMARY KEY);
INSERT INTO hard_alice.plain VALUES (1), (2);
SELECT bulk_status.cursor_open('hard_plant', 'hard_alice.plain', 'hard_alice.plant()');
RESET ROLE;
SET search_path = hardening, public;
SELECT count(*) FROM bulk_status.cursor_fetch('hard_plant', NULL::hard_alice.plain);
SHOW search_path;
SELECT current_setting('bulk_status_test.planted', true) IS DISTINCT FROM 'yes' AS nothing_planted;
SELECT bulk_status.cursor_close('hard_plant');

--
-- 12. the planner's estimate for auto uses the status column's full type:
-- char(6) and bit(3) values are not cut to one character
--
CREATE TABLE ch (id int PRIMARY KEY, status char(6) NOT NULL, flags bit(3) NOT NULL);
INSERT INTO ch SELECT g, CASE WHEN g % 50 = 0 THEN 'NEW' ELSE 'SYNCED' END,
                      CASE WHEN g % 50 = 0 THEN B'100' ELSE B'011' END
  FROM generate_series(1, 5000) g;
ANALYZE ch;
\set VERBOSITY terse
CALL bulk_status.transition('ch', 'SYNCED', 'DONE', dry_run => true);
CALL bulk_status.transition('ch', '011', '111', status_column => 'flags', dry_run => true);
\set VERBOSITY default

--
-- 13. batch statements run without JIT (it would compile anew for every
-- batch), and the session's own setting is left as it was
--
CREATE TABLE jt (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO jt SELECT g, 'a' FROM generate_series(1, 30) g;
CREATE TABLE jit_seen (setting text);
CREATE FUNCTION note_jit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO jit_seen VALUES (current_setting('jit'));
  RETURN NEW;
END $$;
CREATE TRIGGER note_jit BEFORE UPDATE ON jt FOR EACH ROW EXECUTE FUNCTION note_jit();
SET jit = on;
CALL bulk_status.transition('jt', 'a', 'b', batch_size => 10);
CALL bulk_status.transition('jt', 'b', 'c', batch_size => 10, strategy => 'limit');
SELECT setting, count(*) FROM jit_seen GROUP BY 1;
SHOW jit;
-- settings a trigger makes during a batch stay, as after an ordinary
-- UPDATE (only jit, which the engine turned off, goes back)
CREATE FUNCTION set_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('bulk_status_test.trigger_saw', 'yes', false);
  RETURN NEW;
END $$;
CREATE TRIGGER set_seen BEFORE UPDATE ON jt FOR EACH ROW EXECUTE FUNCTION set_seen();
CALL bulk_status.transition('jt', 'c', 'd', batch_size => 10);
SELECT current_setting('bulk_status_test.trigger_saw', true) AS trigger_setting_kept;
SHOW jit;

RESET jit;

-- clean up
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA hardening CASCADE;
DROP SCHEMA hard_alice CASCADE;
DROP SCHEMA hard_bob CASCADE;
DROP ROLE regress_bs_hard_alice;
DROP ROLE regress_bs_hard_bob;
