--
-- security: privileges and row-level security of the caller apply; cursors
-- belong to their owner; nothing runs with more rights than the caller
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

-- roles outlive the test database: drop any left by an interrupted run
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_bs_sec_alice;
DROP ROLE IF EXISTS regress_bs_sec_bob;
DROP ROLE IF EXISTS regress_bs_sec_owner;
RESET client_min_messages;

CREATE ROLE regress_bs_sec_alice NOLOGIN;
CREATE ROLE regress_bs_sec_bob NOLOGIN;
CREATE ROLE regress_bs_sec_owner NOLOGIN;
CREATE SCHEMA sec_test;
GRANT USAGE ON SCHEMA sec_test TO regress_bs_sec_alice, regress_bs_sec_bob, regress_bs_sec_owner;
GRANT CREATE ON SCHEMA sec_test TO regress_bs_sec_owner;
SET search_path = sec_test, public;

-- who ran what: filters and triggers write current_user here
CREATE TABLE whoami (seen_by text, via text);
GRANT INSERT ON whoami TO PUBLIC;
CREATE FUNCTION note_user(via text) RETURNS boolean LANGUAGE sql VOLATILE AS $$
  INSERT INTO sec_test.whoami VALUES (current_user, via) RETURNING true
$$;

-- row-level security
SET ROLE regress_bs_sec_owner;
CREATE TABLE docs (id int PRIMARY KEY, owner text NOT NULL, status text);
INSERT INTO docs SELECT g, CASE WHEN g % 3 = 0 THEN 'regress_bs_sec_alice'
                                WHEN g % 3 = 1 THEN 'regress_bs_sec_bob'
                                ELSE 'nobody' END, 'SYNCED'
  FROM generate_series(1, 300) g;
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON docs USING (owner = current_user);
CREATE POLICY no_forbidden ON docs AS RESTRICTIVE FOR UPDATE
  USING (true) WITH CHECK (status <> 'FORBIDDEN');
GRANT SELECT, UPDATE ON docs TO regress_bs_sec_alice, regress_bs_sec_bob;
CREATE FUNCTION docs_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sec_test.note_user('trigger');
  RETURN NEW;
END $$;
CREATE TRIGGER docs_trigger BEFORE UPDATE ON docs FOR EACH ROW EXECUTE FUNCTION docs_trigger();
RESET ROLE;

SET ROLE regress_bs_sec_alice;
-- scans see only the caller's rows
SELECT count(*), count(*) FILTER (WHERE (f).owner = current_user) AS own
  FROM (SELECT bulk_status.scan(NULL::docs, NULL, 7) AS f) s;
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::docs, 'id <= 10', 2) AS f) s;
-- transitions change only the caller's rows
CALL bulk_status.transition('docs', 'SYNCED', 'TEMP_DELETED', batch_size => 9);
CALL bulk_status.transition('docs', 'TEMP_DELETED', 'SYNCED', batch_size => 9, strategy => 'limit');
CALL bulk_status.transition('docs', 'SYNCED', 'TEMP_DELETED', batch_size => 9, strategy => 'ctid');
SET client_min_messages = warning;
CALL bulk_status.transition('docs', 'TEMP_DELETED', 'X', dry_run => true);
RESET client_min_messages;
-- the WITH CHECK policy rejects the new value
CALL bulk_status.transition('docs', 'TEMP_DELETED', 'FORBIDDEN', batch_size => 9);
\echo :LAST_ERROR_SQLSTATE
-- cursors see only the caller's rows
SELECT bulk_status.cursor_open('sec_alice_1', 'docs', NULL, 4);
SELECT (f).id, (f).owner FROM (SELECT bulk_status.cursor_fetch('sec_alice_1', NULL::docs) AS f) s;
RESET ROLE;
SELECT owner, status, count(*) FROM docs GROUP BY 1, 2 ORDER BY 1, 2;

-- the table owner is subject to the policies once they are forced
SET ROLE regress_bs_sec_owner;
ALTER TABLE docs FORCE ROW LEVEL SECURITY;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::docs) AS f) s;
CALL bulk_status.transition('docs', 'TEMP_DELETED', 'SYNCED');
ALTER TABLE docs NO FORCE ROW LEVEL SECURITY;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::docs) AS f) s;
RESET ROLE;

-- filters and triggers run as the caller, for every entry point
TRUNCATE whoami;
SET ROLE regress_bs_sec_bob;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::docs, 'sec_test.note_user(''scan'')', 50) AS f) s;
CALL bulk_status.transition('docs', 'SYNCED', 'TEMP_DELETED', filter => 'sec_test.note_user(''transition'')', batch_size => 50);
SELECT bulk_status.cursor_open('sec_bob_1', 'docs', 'sec_test.note_user(''cursor'')', 50);
SELECT count(*) FROM (SELECT bulk_status.cursor_fetch('sec_bob_1', NULL::docs) AS f) s;
RESET ROLE;
SELECT seen_by, via, count(*) > 0 AS seen FROM whoami GROUP BY 1, 2 ORDER BY 2, 1;

-- a function the caller may not execute cannot be used in a filter
CREATE FUNCTION secret() RETURNS boolean LANGUAGE sql AS 'SELECT true';
REVOKE EXECUTE ON FUNCTION secret() FROM PUBLIC;
SET ROLE regress_bs_sec_bob;
SELECT bulk_status.scan(NULL::docs, 'sec_test.secret()');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('docs', 'TEMP_DELETED', 'SYNCED', filter => 'sec_test.secret()');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- cursors: each role sees only its own; the state table itself is private
SET ROLE regress_bs_sec_alice;
SELECT name, owner, relation, position, rows_fetched FROM bulk_status.cursors ORDER BY name;
SELECT count(*) FROM bulk_status.cursor_state;
\echo :LAST_ERROR_SQLSTATE
UPDATE bulk_status.cursor_state SET position = NULL;
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_fetch('sec_bob_1', NULL::docs);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_close('sec_bob_1');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.cursor_open('sec_bob_1', 'docs');
\echo :LAST_ERROR_SQLSTATE
SELECT name, part FROM bulk_status.cursor_parts ORDER BY name, part;
SET ROLE regress_bs_sec_bob;
SELECT name, owner, relation, position, rows_fetched FROM bulk_status.cursors ORDER BY name;
-- a cursor in parts: its parts are its owner's alone, and its split reads
-- only the rows its owner may see (row-level security applies)
SELECT bulk_status.cursor_open('sec_bob_parts', 'docs', parts => 2);
SELECT name, part, owner FROM bulk_status.cursor_parts ORDER BY name, part;
SELECT (SELECT count(*) FROM bulk_status.cursor_fetch('sec_bob_parts', NULL::docs, part => 1))
     + (SELECT count(*) FROM bulk_status.cursor_fetch('sec_bob_parts', NULL::docs, part => 2))
     = (SELECT count(*) FROM docs) AS all_visible_rows_once,
       (SELECT count(*) FROM docs) AS visible_to_bob;
SET ROLE regress_bs_sec_alice;
SELECT name, part FROM bulk_status.cursor_parts ORDER BY name, part;
SELECT bulk_status.cursor_fetch('sec_bob_parts', NULL::docs, part => 1);
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_bs_sec_bob;
SELECT bulk_status.cursor_close('sec_bob_parts');
SELECT bulk_status.cursor_close('sec_alice_1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a superuser sees every cursor
SELECT name, owner FROM bulk_status.cursors WHERE name LIKE 'sec\_%' ORDER BY name;

-- the caller's search_path cannot redirect the engine's own queries, and
-- nothing runs with more rights than the caller: alice shadows the state
-- table and the operators the engine might use, and logs who calls them
CREATE SCHEMA alice_s AUTHORIZATION regress_bs_sec_alice;
SET ROLE regress_bs_sec_alice;
CREATE TABLE alice_s.cursor_state (name text PRIMARY KEY, owner oid, relid oid, filter text,
                                   batch_size integer, key_columns name[], position text[],
                                   rows_fetched bigint DEFAULT 0, created timestamptz DEFAULT now(),
                                   last_fetch timestamptz);
CREATE VIEW alice_s.cursors AS SELECT * FROM alice_s.cursor_state;
GRANT ALL ON alice_s.cursor_state TO PUBLIC;
CREATE TABLE alice_s.calls (who text, op text);
GRANT INSERT ON alice_s.calls TO PUBLIC;
GRANT USAGE ON SCHEMA alice_s TO PUBLIC;
CREATE FUNCTION alice_s.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO alice_s.calls VALUES (current_user, 'text =');
  RETURN pg_catalog.texteq(a, b);
END $$;
CREATE OPERATOR alice_s.= (LEFTARG = text, RIGHTARG = text, FUNCTION = alice_s.text_eq);
CREATE FUNCTION alice_s.int_gt(a int, b int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO alice_s.calls VALUES (current_user, 'int >');
  RETURN pg_catalog.int4gt(a, b);
END $$;
CREATE OPERATOR alice_s.> (LEFTARG = int, RIGHTARG = int, FUNCTION = alice_s.int_gt);
CREATE FUNCTION alice_s.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO alice_s.calls VALUES (current_user, 'now()');
  RETURN pg_catalog.now();
END $$;
SET search_path = alice_s, pg_catalog, sec_test;
SELECT bulk_status.cursor_open('sec_alice_2', 'sec_test.docs', NULL, 5);
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('sec_alice_2', NULL::sec_test.docs) AS f) s;
SELECT bulk_status.cursor_close('sec_alice_2');
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::sec_test.docs, NULL, 10) AS f) s;
CALL bulk_status.transition('sec_test.docs', 'TEMP_DELETED', 'SYNCED', batch_size => 10);
CALL bulk_status.transition('sec_test.docs', 'SYNCED', 'TEMP_DELETED', batch_size => 10, strategy => 'limit');
SET search_path = sec_test, public;
SELECT count(*) FROM alice_s.cursor_state;
SELECT count(*) FROM alice_s.cursors;
SELECT count(*) AS calls_as_others FROM alice_s.calls WHERE who <> 'regress_bs_sec_alice';
RESET ROLE;

-- column privileges: SELECT on the key and the status, UPDATE on the
-- status is what an ordinary keyed UPDATE needs, and enough for auto
CREATE TABLE cols (id int PRIMARY KEY, status text, secret text);
INSERT INTO cols SELECT g, 'a', 's' FROM generate_series(1, 30) g;
GRANT SELECT (id, status), UPDATE (status) ON cols TO regress_bs_sec_bob;
SET ROLE regress_bs_sec_bob;
UPDATE cols SET status = 'b' WHERE id > 0 AND status = 'a';
UPDATE cols SET status = 'a' WHERE status = 'b';
CALL bulk_status.transition('cols', 'a', 'b', batch_size => 7);
-- a scan reads whole rows, which needs SELECT on every column
SELECT bulk_status.scan(NULL::cols);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT status, count(*) FROM cols GROUP BY 1;

-- clean up
SET ROLE regress_bs_sec_alice;
SELECT bulk_status.cursor_close('sec_alice_1');
SET ROLE regress_bs_sec_bob;
SELECT bulk_status.cursor_close('sec_bob_1');
RESET ROLE;
SELECT count(*) FROM bulk_status.cursors WHERE name LIKE 'sec\_%';
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA sec_test CASCADE;
DROP SCHEMA alice_s CASCADE;
DROP ROLE regress_bs_sec_alice;
DROP ROLE regress_bs_sec_bob;
DROP ROLE regress_bs_sec_owner;
