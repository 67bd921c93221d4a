--
-- transition_types: status columns of type enum, varchar(n), integer,
-- smallint, char(n) and a domain; status literals are converted to the
-- column's own type and rejected with that type's own error
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA types_test;
SET search_path = types_test, public;

-- enum
CREATE TYPE sync_status AS ENUM ('SYNCED', 'TEMP_DELETED', 'DELETED', 'NEW', 'MODIFIED');
CREATE TABLE e (id int PRIMARY KEY, status sync_status NOT NULL);
INSERT INTO e SELECT g, CASE WHEN g % 5 = 0 THEN 'NEW' ELSE 'SYNCED' END::sync_status
  FROM generate_series(1, 200) g;
CREATE INDEX ON e (status);
CALL bulk_status.transition('e', 'SYNCED', 'TEMP_DELETED', batch_size => 15);
CALL bulk_status.transition('e', 'TEMP_DELETED', 'DELETED', batch_size => 15, strategy => 'limit');
CALL bulk_status.transition('e', 'DELETED', 'SYNCED', batch_size => 15, strategy => 'ctid');
CALL bulk_status.transition('e', 'NEW', 'MODIFIED', filter => 'status > ''SYNCED''', batch_size => 15);
SELECT status, count(*) FROM e GROUP BY status ORDER BY status;
-- a value that is not a label of the enum (labels are case-sensitive)
CALL bulk_status.transition('e', 'SYNCED', 'GONE');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('e', 'GONE', 'SYNCED');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('e', 'SYNCED', 'synced');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('e', 'SYNCED', 'GONE', dry_run => true);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('e', 'SYNCED', 'SYNCED');
\echo :LAST_ERROR_SQLSTATE
-- nothing changed by the failed calls
SELECT status, count(*) FROM e GROUP BY status ORDER BY status;
-- an enum in another schema, with a quoted name
CREATE SCHEMA "Other Types";
CREATE TYPE "Other Types"."State ""X""" AS ENUM ('on', 'off');
CREATE TABLE e2 (id int PRIMARY KEY, state "Other Types"."State ""X""");
INSERT INTO e2 SELECT g, 'on' FROM generate_series(1, 10) g;
CALL bulk_status.transition('e2', 'on', 'off', status_column => 'state', batch_size => 3);
SELECT state, count(*) FROM e2 GROUP BY 1;

-- varchar(5)
CREATE TABLE v (id int PRIMARY KEY, status varchar(5));
INSERT INTO v SELECT g, 'new' FROM generate_series(1, 50) g;
CALL bulk_status.transition('v', 'new', 'done', batch_size => 7);
CALL bulk_status.transition('v', 'done', 'abcde', filter => 'id <= 10', batch_size => 7);
-- trailing spaces beyond the limit are dropped, as in an assignment
CALL bulk_status.transition('v', 'abcde', 'xyz      ', filter => 'id <= 2', batch_size => 7);
SELECT status, length(status), count(*) FROM v GROUP BY 1, 2 ORDER BY 1;
-- too long: an error, never a silent truncation
CALL bulk_status.transition('v', 'done', 'abcdef');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('v', 'toolong', 'done');
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*) FROM v GROUP BY 1 ORDER BY 1;
-- varchar without a length
CREATE TABLE v2 (id int PRIMARY KEY, status varchar);
INSERT INTO v2 SELECT g, 'a' FROM generate_series(1, 10) g;
CALL bulk_status.transition('v2', 'a', repeat('b', 300), batch_size => 4);
SELECT length(status), count(*) FROM v2 GROUP BY 1;

-- char(3): values are compared as char(3)
CREATE TABLE c (id int PRIMARY KEY, status char(3));
INSERT INTO c SELECT g, 'a' FROM generate_series(1, 10) g;
CALL bulk_status.transition('c', 'a  ', 'b', batch_size => 4);
SELECT status, count(*) FROM c GROUP BY 1;
CALL bulk_status.transition('c', 'b', 'b  ');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('c', 'b', 'long');
\echo :LAST_ERROR_SQLSTATE

-- integer
CREATE TABLE i (id int PRIMARY KEY, status integer);
INSERT INTO i SELECT g, g % 3 FROM generate_series(1, 90) g;
CALL bulk_status.transition('i', '1', '10', batch_size => 8);
CALL bulk_status.transition('i', ' 2 ', '-20', batch_size => 8, strategy => 'limit');
CALL bulk_status.transition('i', '0', '+3', filter => 'id > 45', batch_size => 8, strategy => 'ctid');
SELECT status, count(*) FROM i GROUP BY 1 ORDER BY 1;
CALL bulk_status.transition('i', '1', 'abc');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('i', 'abc', '1');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('i', '1.5', '1');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('i', '', '1');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('i', '1', '99999999999');
\echo :LAST_ERROR_SQLSTATE
-- equal after conversion
CALL bulk_status.transition('i', '1', '01');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('i', '10', ' +10');
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*) FROM i GROUP BY 1 ORDER BY 1;

-- smallint
CREATE TABLE s (id int PRIMARY KEY, status smallint);
INSERT INTO s SELECT g, 1 FROM generate_series(1, 30) g;
CALL bulk_status.transition('s', '1', '32767', batch_size => 4);
CALL bulk_status.transition('s', '32767', '-32768', batch_size => 4, strategy => 'limit');
SELECT status, count(*) FROM s GROUP BY 1;
CALL bulk_status.transition('s', '-32768', '40000');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('s', 'x', '1');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('s', '-32768', '-032768');
\echo :LAST_ERROR_SQLSTATE

-- bigint
CREATE TABLE b (id int PRIMARY KEY, status bigint);
INSERT INTO b SELECT g, 5000000000 FROM generate_series(1, 12) g;
CALL bulk_status.transition('b', '5000000000', '-1', batch_size => 5);
SELECT status, count(*) FROM b GROUP BY 1;

-- a domain with a CHECK: the domain's rules apply to the literal
CREATE DOMAIN st AS text CHECK (VALUE IN ('a', 'b', 'c'));
CREATE TABLE d (id int PRIMARY KEY, status st);
INSERT INTO d SELECT g, 'a' FROM generate_series(1, 10) g;
CALL bulk_status.transition('d', 'a', 'b', batch_size => 3);
SELECT status, count(*) FROM d GROUP BY 1;
CALL bulk_status.transition('d', 'b', 'z');
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*) FROM d GROUP BY 1;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA types_test CASCADE;
DROP SCHEMA "Other Types" CASCADE;
