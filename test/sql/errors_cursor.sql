--
-- errors_cursor: every bad input to the cursor functions, with its SQLSTATE
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

-- roles outlive the test database: drop any left by an interrupted run
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_bs_errs_cur_a;
DROP ROLE IF EXISTS regress_bs_errs_cur_b;
RESET client_min_messages;

CREATE SCHEMA errs_cur;
SET search_path = errs_cur, public;

CREATE TABLE t (id int PRIMARY KEY, status text);
INSERT INTO t SELECT g, 'a' FROM generate_series(1, 20) g;
CREATE TABLE other (id int PRIMARY KEY, status text);

CREATE VIEW my_cursors AS
SELECT name, owner::text = current_user AS own, relation, filter, batch_size, key_columns, position, rows_fetched
  FROM bulk_status.cursors WHERE name LIKE 'ec\_%' ORDER BY name;

-- NULL arguments
SELECT bulk_status.cursor_open(NULL, 't');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_fetch(NULL, NULL::t);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close(NULL);
\echo :LAST_ERROR_SQLSTATE

-- parts: between 1 and 1024, not NULL, no more than the rows; a cursor in
-- parts needs part => i, within 1..parts, and so does no other cursor
SELECT bulk_status.cursor_open('ec_x', 't', parts => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', parts => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', parts => 1025);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 'other', parts => 2);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', 'id > 19', parts => 3);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_p', 't', parts => 4);
SELECT bulk_status.cursor_fetch('ec_p', NULL::t);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_fetch('ec_p', NULL::t, part => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_fetch('ec_p', NULL::t, part => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_p', 't', parts => 2);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_p', 't');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close('ec_p');
SELECT bulk_status.cursor_open('ec_q', 't');
SELECT bulk_status.cursor_fetch('ec_q', NULL::t, part => 2);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close('ec_q');
SELECT count(*) FROM bulk_status.cursor_parts WHERE name LIKE 'ec\_%';

-- batch_size and max_rows must be positive
SELECT bulk_status.cursor_open('ec_x', 't', NULL, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', NULL, -5);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_a', 't', NULL, 5);
SELECT bulk_status.cursor_fetch('ec_a', NULL::t, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_fetch('ec_a', NULL::t, -1);
\echo :LAST_ERROR_SQLSTATE
-- the failed fetches did not move the cursor
SELECT * FROM my_cursors;

-- unknown cursor
SELECT bulk_status.cursor_fetch('ec_nosuch', NULL::t);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close('ec_nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close('ec_a');
SELECT bulk_status.cursor_close('ec_a');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_fetch('ec_a', NULL::t);
\echo :LAST_ERROR_SQLSTATE

-- duplicate name (also for another table); the first cursor is unchanged
SELECT bulk_status.cursor_open('ec_dup', 't', 'id > 3', 5);
SELECT bulk_status.cursor_open('ec_dup', 't');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_dup', 'other');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM my_cursors;

-- the wrong row type for the cursor's table
SELECT bulk_status.cursor_fetch('ec_dup', NULL::other);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_fetch('ec_dup', NULL::int);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_fetch('ec_dup', ROW(1, 'a'));
\echo :LAST_ERROR_SQLSTATE
CREATE TYPE pair AS (id int, status text);
SELECT bulk_status.cursor_fetch('ec_dup', NULL::pair);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM my_cursors;
SELECT bulk_status.cursor_fetch('ec_dup', NULL::t, 2);
SELECT bulk_status.cursor_close('ec_dup');

-- relations that cannot be opened
SELECT bulk_status.cursor_open('ec_x', 'nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 12345678::regclass);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 0::regclass);
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW v AS SELECT * FROM t;
SELECT bulk_status.cursor_open('ec_x', 'v');
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t;
CREATE UNIQUE INDEX ON mv (id);
SELECT bulk_status.cursor_open('ec_x', 'mv');
\echo :LAST_ERROR_SQLSTATE
CREATE SEQUENCE seq;
SELECT bulk_status.cursor_open('ec_x', 'seq');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN DATA WRAPPER errs_cur_dummy;
CREATE SERVER errs_cur_srv FOREIGN DATA WRAPPER errs_cur_dummy;
CREATE FOREIGN TABLE ft (id int NOT NULL, status text) SERVER errs_cur_srv;
SELECT bulk_status.cursor_open('ec_x', 'ft');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't_pkey');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 'pair');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE nokey (id int, status text);
SELECT bulk_status.cursor_open('ec_x', 'nokey');
\echo :LAST_ERROR_SQLSTATE

-- bad filters are rejected when the cursor is opened
SELECT bulk_status.cursor_open('ec_x', 't', 'id >');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', 'true; drop table t');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', 'true) or (true');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', '1');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_x', 't', 'nosuch > 0');
\echo :LAST_ERROR_SQLSTATE
-- none of the failed opens left a cursor behind
SELECT count(*) FROM my_cursors;

-- the cursor's table was dropped (or dropped and created again)
CREATE TABLE doomed (id int PRIMARY KEY);
INSERT INTO doomed SELECT generate_series(1, 5);
SELECT bulk_status.cursor_open('ec_doomed', 'doomed', NULL, 2);
SELECT bulk_status.cursor_fetch('ec_doomed', NULL::doomed);
DROP TABLE doomed;
CREATE TABLE doomed (id int PRIMARY KEY);
SELECT bulk_status.cursor_fetch('ec_doomed', NULL::doomed);
\echo :LAST_ERROR_SQLSTATE
-- such a cursor can still be closed
SELECT bulk_status.cursor_close('ec_doomed');
SELECT count(*) FROM my_cursors;

-- the table lost its key after the cursor was opened
CREATE TABLE losing (id int CONSTRAINT losing_pk PRIMARY KEY);
INSERT INTO losing SELECT generate_series(1, 5);
SELECT bulk_status.cursor_open('ec_losing', 'losing', NULL, 2);
ALTER TABLE losing DROP CONSTRAINT losing_pk;
SELECT bulk_status.cursor_fetch('ec_losing', NULL::losing);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close('ec_losing');

-- an error raised while the filter runs does not move the cursor
SELECT bulk_status.cursor_open('ec_div', 't', '1 / (id - 7) IS NOT NULL', 4);
SELECT bulk_status.cursor_fetch('ec_div', NULL::t);
SELECT bulk_status.cursor_fetch('ec_div', NULL::t);
\echo :LAST_ERROR_SQLSTATE
SELECT name, position, rows_fetched FROM my_cursors;
SELECT bulk_status.cursor_close('ec_div');

-- another role's cursor, and privileges
CREATE ROLE regress_bs_errs_cur_a NOLOGIN;
CREATE ROLE regress_bs_errs_cur_b NOLOGIN;
GRANT USAGE ON SCHEMA errs_cur TO regress_bs_errs_cur_a, regress_bs_errs_cur_b;
GRANT SELECT ON t, my_cursors TO regress_bs_errs_cur_a, regress_bs_errs_cur_b;
SET ROLE regress_bs_errs_cur_a;
SELECT bulk_status.cursor_open('ec_of_a', 't', NULL, 3);
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('ec_of_a', NULL::t) AS f) s;
SET ROLE regress_bs_errs_cur_b;
SELECT bulk_status.cursor_fetch('ec_of_a', NULL::t);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close('ec_of_a');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('ec_of_a', 't');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM bulk_status.cursors WHERE name = 'ec_of_a';
-- no SELECT privilege on the table
RESET ROLE;
REVOKE SELECT ON t FROM regress_bs_errs_cur_b;
SET ROLE regress_bs_errs_cur_b;
SELECT bulk_status.cursor_open('ec_of_b', 't');
\echo :LAST_ERROR_SQLSTATE
-- privileges are checked again at every fetch
SET ROLE regress_bs_errs_cur_a;
SELECT name, own, position, rows_fetched FROM my_cursors;
RESET ROLE;
REVOKE SELECT ON t FROM regress_bs_errs_cur_a;
SET ROLE regress_bs_errs_cur_a;
SELECT bulk_status.cursor_fetch('ec_of_a', NULL::t);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close('ec_of_a');
RESET ROLE;
SELECT count(*) FROM my_cursors;
REVOKE ALL ON my_cursors FROM regress_bs_errs_cur_a, regress_bs_errs_cur_b;
REVOKE ALL ON SCHEMA errs_cur FROM regress_bs_errs_cur_a, regress_bs_errs_cur_b;
DROP ROLE regress_bs_errs_cur_a;
DROP ROLE regress_bs_errs_cur_b;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA errs_cur CASCADE;
DROP SERVER errs_cur_srv;
DROP FOREIGN DATA WRAPPER errs_cur_dummy;
