--
-- source: transitions limited to the rows whose key is in a source
-- relation (a staging table of the keys a sync client saw)
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA source_test;
SET search_path = source_test, public;

CREATE TABLE files (path text PRIMARY KEY, size bigint, status text NOT NULL);
INSERT INTO files SELECT '/f/' || g, g, 'TEMP_DELETED' FROM generate_series(1, 1000) g;
-- the staging table: no index, keys in random order, duplicates, and keys
-- that are not in files
CREATE UNLOGGED TABLE seen (path text, seen_at timestamptz DEFAULT now());
INSERT INTO seen (path)
  SELECT '/f/' || g FROM generate_series(1, 1000) g WHERE g % 5 <> 0 ORDER BY md5(g::text);
INSERT INTO seen (path) SELECT '/f/' || g FROM generate_series(1, 100) g;
INSERT INTO seen (path) SELECT '/gone/' || g FROM generate_series(1, 50) g;

-- the rows an UPDATE joined to seen would change
CREATE TABLE expected AS
  SELECT path FROM files f
   WHERE status = 'TEMP_DELETED' AND EXISTS (SELECT FROM seen s WHERE s.path = f.path);

CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', source => 'seen', batch_size => 50);
SELECT kind, rows, batches > 3 AS several_batches FROM bulk_status.last_run();
-- exactly those rows changed
SELECT (SELECT count(*) FROM files WHERE status = 'SYNCED') AS synced,
       (SELECT count(*) FROM expected) AS expected,
       NOT EXISTS (SELECT path FROM files WHERE status = 'SYNCED'
                   EXCEPT SELECT path FROM expected) AS none_extra,
       NOT EXISTS (SELECT path FROM expected
                   EXCEPT SELECT path FROM files WHERE status = 'SYNCED') AS none_missed;

-- rerunning changes nothing; with a filter, only matching rows change
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', source => 'seen');
CALL bulk_status.transition('files', 'SYNCED', 'NEW', source => 'seen', filter => 'size <= 10');
SELECT status, count(*) FROM files GROUP BY 1 ORDER BY 1;

-- skip_locked, a dry run, a varchar source for a text key
CALL bulk_status.transition('files', 'NEW', 'SYNCED', source => 'seen', skip_locked => true);
\set VERBOSITY terse
CALL bulk_status.transition('files', 'SYNCED', 'X', source => 'seen', dry_run => true);
\set VERBOSITY default
CREATE TABLE seen_v (path varchar(20));
INSERT INTO seen_v VALUES ('/f/105'), ('/f/110');
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', source => 'seen_v');
SELECT status, count(*) FROM files GROUP BY 1 ORDER BY 1;

-- a composite key, matched by column name whatever the source's column order
CREATE TABLE objs (bucket text, name text, status text NOT NULL, PRIMARY KEY (bucket, name));
INSERT INTO objs SELECT 'b' || (g % 3), 'o' || g, 'old' FROM generate_series(1, 300) g;
CREATE TABLE objs_seen (note text, name text, bucket text);
INSERT INTO objs_seen SELECT 'x', 'o' || g, 'b' || (g % 3) FROM generate_series(1, 300, 2) g;
INSERT INTO objs_seen VALUES ('x', 'o2', 'b0');   -- o2 is in b2: no match
CALL bulk_status.transition('objs', 'old', 'new', source => 'objs_seen', batch_size => 20);
SELECT status, count(*) FROM objs GROUP BY 1 ORDER BY 1;

-- a partitioned table
CREATE TABLE pfiles (path text PRIMARY KEY, status text NOT NULL) PARTITION BY HASH (path);
CREATE TABLE pfiles0 PARTITION OF pfiles FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE pfiles1 PARTITION OF pfiles FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO pfiles SELECT path, 'TEMP_DELETED' FROM files;
CALL bulk_status.transition('pfiles', 'TEMP_DELETED', 'SYNCED', source => 'seen', batch_size => 100);
SELECT status, count(*) FROM pfiles GROUP BY 1 ORDER BY 1;

-- the source's keys compare as the table's key does: converted to the key's
-- type, in the key's collation
CREATE TABLE ck (k char(8) PRIMARY KEY, status text NOT NULL);
INSERT INTO ck SELECT 'k' || g, 'old' FROM generate_series(1, 100) g;
CREATE TABLE ck_seen (k text);
INSERT INTO ck_seen SELECT 'k' || g FROM generate_series(1, 100, 2) g;
CALL bulk_status.transition('ck', 'old', 'new', source => 'ck_seen');
SELECT status, count(*) FROM ck GROUP BY 1 ORDER BY 1;
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE cs (k text PRIMARY KEY, status text NOT NULL);
INSERT INTO cs VALUES ('a', 'old'), ('A', 'old'), ('b', 'old');
CREATE TABLE cs_seen (k text COLLATE ci);
INSERT INTO cs_seen VALUES ('a');
CALL bulk_status.transition('cs', 'old', 'new', source => 'cs_seen');
SELECT k, status FROM cs ORDER BY k COLLATE "C";

-- a filter may name the key column without qualifying it
CALL bulk_status.transition('files', 'SYNCED', 'NEW', source => 'seen',
                            filter => $$path LIKE '/f/1%'$$);
SELECT status, count(*) FROM files GROUP BY 1 ORDER BY 1;

-- an inheritance parent as source: its children's rows count too
CREATE TABLE seen_parent (path text);
CREATE TABLE seen_child () INHERITS (seen_parent);
INSERT INTO seen_parent VALUES ('/f/205');
INSERT INTO seen_child VALUES ('/f/215');
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', source => 'seen_parent');
SELECT path, status FROM files WHERE path IN ('/f/205', '/f/215') ORDER BY path;

-- constant memory whatever the size: 20 and 400 batches, same engine peak
CREATE TABLE big (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO big SELECT g, 'a' FROM generate_series(1, 20000) g;
CREATE TABLE big_seen (id int);
INSERT INTO big_seen SELECT g FROM generate_series(1, 20000) g;
CREATE TABLE small_seen (id int);
INSERT INTO small_seen SELECT g FROM generate_series(1, 1000) g;
VACUUM ANALYZE big_seen;
VACUUM ANALYZE small_seen;
CALL bulk_status.transition('big', 'a', 'b', source => 'small_seen', batch_size => 50);
CREATE TEMP TABLE peaks AS SELECT batches, engine_peak_bytes FROM bulk_status.last_run();
CALL bulk_status.transition('big', 'a', 'b', source => 'big_seen', batch_size => 50);
SELECT p.batches AS n_batches, l.batches AS many_batches,
       l.engine_peak_bytes = p.engine_peak_bytes AS same_engine_peak
  FROM bulk_status.last_run() l, peaks p;

-- errors
CREATE TABLE seen_bad (file text);
CALL bulk_status.transition('files', 'SYNCED', 'X', source => 'seen_bad');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE seen_int (path int);
CALL bulk_status.transition('files', 'SYNCED', 'X', source => 'seen_int');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW seen_view AS SELECT path FROM seen;
CALL bulk_status.transition('files', 'SYNCED', 'X', source => 'seen_view');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('files', 'SYNCED', 'X', source => 'seen', strategy => 'range');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('files', 'SYNCED', 'X', source => 'no_such_table');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('files', 'SYNCED', 'X', source => '-');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE nokey (path text, status text);
CALL bulk_status.transition('nokey', 'SYNCED', 'X', source => 'seen');
\echo :LAST_ERROR_SQLSTATE
DROP ROLE IF EXISTS regress_bs_src;
CREATE ROLE regress_bs_src NOLOGIN;
GRANT USAGE ON SCHEMA source_test TO regress_bs_src;
GRANT SELECT, UPDATE ON files TO regress_bs_src;
SET ROLE regress_bs_src;
CALL bulk_status.transition('files', 'SYNCED', 'X', source => 'seen');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) FILTER (WHERE status = 'X') AS changed_by_errors FROM files;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA source_test CASCADE;
DROP ROLE regress_bs_src;
