--
-- errors_scan: every bad input to bulk_status.scan, with its SQLSTATE
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

-- roles outlive the test database: drop any left by an interrupted run
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_bs_errs_scan;
RESET client_min_messages;

CREATE SCHEMA errs_scan;
SET search_path = errs_scan, public;

CREATE TABLE t (id int PRIMARY KEY, status text);
INSERT INTO t SELECT g, 'a' FROM generate_series(1, 20) g;

-- NULL batch_size
SELECT bulk_status.scan(NULL::t, NULL, NULL);
\echo :LAST_ERROR_SQLSTATE

-- batch_size <= 0
SELECT bulk_status.scan(NULL::t, NULL, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, NULL, -1);
\echo :LAST_ERROR_SQLSTATE

-- a row type that is not a table's row type
SELECT bulk_status.scan(NULL::int);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::text, 'true', 5);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(ROW(1, 2));
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(ARRAY[NULL::t]);
\echo :LAST_ERROR_SQLSTATE
CREATE TYPE pair AS (id int, status text);
SELECT bulk_status.scan(NULL::pair);
\echo :LAST_ERROR_SQLSTATE

-- relations that are not tables
CREATE VIEW v AS SELECT * FROM t;
SELECT bulk_status.scan(NULL::v);
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t;
CREATE UNIQUE INDEX ON mv (id);
SELECT bulk_status.scan(NULL::mv);
\echo :LAST_ERROR_SQLSTATE
-- (a sequence has no row type, so NULL::seq is rejected by PostgreSQL itself)
CREATE SEQUENCE seq;
SELECT bulk_status.scan(NULL::seq);
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN DATA WRAPPER errs_scan_dummy;
CREATE SERVER errs_scan_srv FOREIGN DATA WRAPPER errs_scan_dummy;
CREATE FOREIGN TABLE ft (id int NOT NULL, status text) SERVER errs_scan_srv;
SELECT bulk_status.scan(NULL::ft);
\echo :LAST_ERROR_SQLSTATE

-- a table without a key: no primary key, no unique index on NOT NULL columns
CREATE TABLE nokey (id int, status text);
INSERT INTO nokey VALUES (1, 'a');
SELECT bulk_status.scan(NULL::nokey);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE nullable_uniq (id int UNIQUE, status text);
SELECT bulk_status.scan(NULL::nullable_uniq);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE partial_uniq (id int NOT NULL, status text);
CREATE UNIQUE INDEX ON partial_uniq (id) WHERE status = 'a';
SELECT bulk_status.scan(NULL::partial_uniq);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE expr_uniq (id int NOT NULL, status text);
CREATE UNIQUE INDEX ON expr_uniq ((id + 1));
SELECT bulk_status.scan(NULL::expr_uniq);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE nonunique (id int NOT NULL, status text);
CREATE INDEX ON nonunique (id);
SELECT bulk_status.scan(NULL::nonunique);
\echo :LAST_ERROR_SQLSTATE

-- filters
SELECT bulk_status.scan(NULL::t, 'id >');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'id = = 1');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'true; drop table t');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'true; select 1');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'true) or (true');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'id < 3) or (true');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'true)');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, '(true');
\echo :LAST_ERROR_SQLSTATE
-- a trailing comment is harmless: it cannot hide what follows the filter
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'id > 10 --', 4) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'id > 10 -- ) OR (true', 4) AS f) s;
SELECT bulk_status.scan(NULL::t, 'true /*');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'true order by 1');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'true limit 1');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, '');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, '1');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'status');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'nosuch = 1');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'count(*) > 0');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.scan(NULL::t, 'generate_series(1, 2) > 0');
\echo :LAST_ERROR_SQLSTATE
-- the table is still there and intact
SELECT count(*) FROM t;
-- an error raised while the filter runs, in a later batch
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, '1 / (id - 15) IS NOT NULL', 4) AS f) s;
\echo :LAST_ERROR_SQLSTATE
-- the session is fine afterwards
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, NULL, 4) AS f) s;

-- no SELECT privilege
CREATE ROLE regress_bs_errs_scan NOLOGIN;
GRANT USAGE ON SCHEMA errs_scan TO regress_bs_errs_scan;
SET ROLE regress_bs_errs_scan;
SELECT bulk_status.scan(NULL::t);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- SELECT on only some columns is not enough to read whole rows
GRANT SELECT (id) ON t TO regress_bs_errs_scan;
SET ROLE regress_bs_errs_scan;
SELECT bulk_status.scan(NULL::t);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON t TO regress_bs_errs_scan;
SET ROLE regress_bs_errs_scan;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, NULL, 3) AS f) s;
RESET ROLE;
REVOKE ALL ON t FROM regress_bs_errs_scan;
REVOKE ALL ON SCHEMA errs_scan FROM regress_bs_errs_scan;
DROP ROLE regress_bs_errs_scan;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA errs_scan CASCADE;
DROP SERVER errs_scan_srv;
DROP FOREIGN DATA WRAPPER errs_scan_dummy;
