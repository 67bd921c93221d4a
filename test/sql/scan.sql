--
-- scan: batched keyset scans return every row once, in key order
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

-- nothing has run yet in this session
SELECT * FROM bulk_status.last_run();

CREATE SCHEMA scan_test;
SET search_path = scan_test, public;

-- Rows are inserted in reverse key order and some are updated afterwards, so
-- the heap order is not the key order.
CREATE TABLE t (id int PRIMARY KEY, status text, payload text);
INSERT INTO t SELECT g, CASE WHEN g % 10 = 0 THEN 'NEW' ELSE 'SYNCED' END,
                     'p' || g
  FROM generate_series(1000, 1, -1) g;
UPDATE t SET payload = payload || '!' WHERE id % 7 = 0;

-- a small scan, printed
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::t, 'id <= 5', 2) AS f) s;
SELECT bulk_status.scan(NULL::t, 'id > 997');
SELECT (f).id FROM (SELECT bulk_status.scan(NULL::t, 'id BETWEEN 10 AND 13', 1) AS f) s;

-- every row, once, in key order, whatever the batch size
SELECT bs,
       (SELECT count(*)
          FROM (SELECT bulk_status.scan(NULL::t, NULL, bs) AS f) s) AS n,
       (SELECT array_agg((f).id)
          FROM (SELECT bulk_status.scan(NULL::t, NULL, bs) AS f) s)
       = (SELECT array_agg(id ORDER BY id) FROM t) AS in_key_order
  FROM unnest(ARRAY[1, 3, 7, 100, 999, 1000, 1001, 10000]) bs;

-- the largest batch size
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, NULL, 2147483647) AS f) s;

-- the defaults (no filter, batch_size 10000)
SELECT count(*), array_agg((f).id) = (SELECT array_agg(id ORDER BY id) FROM t) AS in_key_order
  FROM (SELECT bulk_status.scan(NULL::t) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, NULL) AS f) s;

-- whole rows are returned unchanged
SELECT count(*) AS mismatches
  FROM (SELECT bulk_status.scan(NULL::t, NULL, 64) AS f) s
  JOIN t ON t.id = (s.f).id
 WHERE (s.f)::text IS DISTINCT FROM t::text;

-- the value of the row-type argument does not matter, only its type
SELECT (f).id FROM (SELECT bulk_status.scan(ROW(0, 'x', 'y')::t, 'id < 3') AS f) s;

-- filters
SELECT count(*), array_agg((f).id) = (SELECT array_agg(id ORDER BY id) FROM t WHERE status = 'NEW') AS ok
  FROM (SELECT bulk_status.scan(NULL::t, 'status = ''NEW''', 7) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'id % 3 = 0 AND payload LIKE ''%!''', 5) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'false', 5) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'NULL', 5) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'id IN (SELECT g FROM generate_series(1, 50) g)', 9) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, '(id > 10) AND (id <= 20)', 4) AS f) s;
-- semicolons, parentheses and comment markers inside literals and comments
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'payload <> '';'' AND payload <> '')''', 50) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'payload NOT IN ($$;$$, $$) OR (true$$, ''--'')', 50) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'id <= 10 /* ) OR (true */', 50) AS f) s;
-- the filter may name the table; it sees no parameters of the engine
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 't.id <= 10 AND scan_test.t.status = ''NEW''', 4) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'EXISTS (SELECT FROM scan_test.t x WHERE x.id = t.id + 999)', 4) AS f) s;
SELECT bulk_status.scan(NULL::t, 'id > $1');
\echo :LAST_ERROR_SQLSTATE
-- a filter that only matches rows far apart (most batches are empty)
SELECT (f).id FROM (SELECT bulk_status.scan(NULL::t, 'id IN (1, 500, 1000)', 10) AS f) s;

-- last_run describes this session's last scan
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, NULL, 100) AS f) s;
SELECT kind, rows, batches >= 10 AS many_batches, engine_peak_bytes > 0 AS engine_peak,
       backend_peak_bytes > 0 AS backend_peak, elapsed_ms >= 0 AS elapsed
  FROM bulk_status.last_run();
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'id <= 10', 3) AS f) s;
SELECT kind, rows, batches >= 4 AS several_batches FROM bulk_status.last_run();

-- an empty table
CREATE TABLE empty_t (id int PRIMARY KEY, status text);
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::empty_t, NULL, 3) AS f) s;
SELECT kind, rows FROM bulk_status.last_run();

-- a scan that is not read to the end, then another scan
SELECT (f).id FROM (SELECT bulk_status.scan(NULL::t, NULL, 4) AS f) s LIMIT 3;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, NULL, 4) AS f) s;

-- the scan feeding an ordered or DISTINCT aggregate, a sort, a join
SELECT array_agg((f).id ORDER BY (f).id DESC) FROM (SELECT bulk_status.scan(NULL::t, 'id <= 5', 2) AS f) s;
SELECT count(DISTINCT (f).status) FROM (SELECT bulk_status.scan(NULL::t, NULL, 30) AS f) s;
SELECT string_agg((f).status, ',' ORDER BY (f).id) FROM (SELECT bulk_status.scan(NULL::t, 'id % 100 = 1', 3) AS f) s;
SELECT (f).id FROM (SELECT bulk_status.scan(NULL::t, 'id <= 4', 3) AS f) s ORDER BY (f).id DESC;
SELECT (f).id, t.payload FROM (SELECT bulk_status.scan(NULL::t, 'id <= 3', 2) AS f) s
  JOIN t ON t.id = (f).id ORDER BY 1;

-- two scans in one select list (run in lockstep) and a scan inside a scan
CREATE TABLE small (k int PRIMARY KEY);
INSERT INTO small VALUES (3), (1), (2);
SELECT (bulk_status.scan(NULL::small, NULL, 1)).k AS a,
       (bulk_status.scan(NULL::t, 'id <= 3', 2)).id AS b;
SELECT (f).k,
       (SELECT count(*) FROM (SELECT bulk_status.scan(NULL::t, 'id <= ' || (f).k * 10, 3) AS g) x) AS inner_count
  FROM (SELECT bulk_status.scan(NULL::small, NULL, 1) AS f) s;

-- the scan sees the caller's own uncommitted changes
BEGIN;
INSERT INTO small VALUES (0), (4);
DELETE FROM small WHERE k = 2;
SELECT (f).k FROM (SELECT bulk_status.scan(NULL::small, NULL, 2) AS f) s;
ROLLBACK;
SELECT (f).k FROM (SELECT bulk_status.scan(NULL::small, NULL, 2) AS f) s;

-- extreme key values
CREATE TABLE extremes (id int PRIMARY KEY, v text);
INSERT INTO extremes VALUES (2147483647, 'max'), (-2147483648, 'min'), (0, 'zero'),
                            (-1, 'minus one'), (1, 'one');
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::extremes, NULL, 2) AS f) s;

-- a composite key (a int, b text); the key is not the leading columns
CREATE TABLE comp (v int, a int, b text COLLATE "C", PRIMARY KEY (a, b));
INSERT INTO comp SELECT g, g % 5, 'x' || (g / 5)
  FROM generate_series(100, 1, -1) g;
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::comp, 'a = 1 AND v < 40', 2) AS f) s;
SELECT bs,
       (SELECT array_agg(ROW((f).a, (f).b)::text)
          FROM (SELECT bulk_status.scan(NULL::comp, NULL, bs) AS f) s)
       = (SELECT array_agg(ROW(a, b)::text ORDER BY a, b) FROM comp) AS in_key_order
  FROM unnest(ARRAY[1, 2, 3, 19, 20, 21, 100, 101]) bs;

-- a three-column key with mixed types
CREATE TABLE comp3 (x date, y bigint, z text COLLATE "C", w int,
                    PRIMARY KEY (x, y, z));
INSERT INTO comp3 SELECT date '2024-01-01' + (g % 3), g % 4, chr(97 + g % 5), g
  FROM generate_series(1, 60) g;
SELECT count(*),
       array_agg((f).w) = (SELECT array_agg(w ORDER BY x, y, z) FROM comp3) AS in_key_order
  FROM (SELECT bulk_status.scan(NULL::comp3, NULL, 4) AS f) s;

-- no primary key, but a unique index on NOT NULL columns
CREATE TABLE uniq (v int, code text COLLATE "C" NOT NULL, note text);
CREATE UNIQUE INDEX uniq_code ON uniq (code);
INSERT INTO uniq SELECT g, 'c' || g, NULL FROM generate_series(1, 30) g;
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::uniq, 'v IN (1, 2, 3, 10, 20, 30)', 2) AS f) s;
SELECT count(*),
       array_agg((f).code) = (SELECT array_agg(code ORDER BY code) FROM uniq) AS in_key_order
  FROM (SELECT bulk_status.scan(NULL::uniq, NULL, 7) AS f) s;

-- a text primary key; a nullable unique column next to it is not the key
CREATE TABLE files (path text COLLATE "C" PRIMARY KEY, alt int UNIQUE, status text);
INSERT INTO files SELECT '/data/' || g || '/f''' || g, 1000 - g, 'SYNCED'
  FROM generate_series(1, 200) g;
SELECT count(*),
       array_agg((f).path) = (SELECT array_agg(path ORDER BY path) FROM files) AS in_key_order
  FROM (SELECT bulk_status.scan(NULL::files, NULL, 13) AS f) s;
SELECT (f).path FROM (SELECT bulk_status.scan(NULL::files, 'path < ''/data/11''', 2) AS f) s;

-- dropped and added columns: the returned rows have the table's current shape
CREATE TABLE shape (a int, id int PRIMARY KEY, b text, c text);
INSERT INTO shape SELECT g, g, 'b' || g, 'c' || g FROM generate_series(1, 5) g;
ALTER TABLE shape DROP COLUMN a;
ALTER TABLE shape DROP COLUMN c;
ALTER TABLE shape ADD COLUMN d int DEFAULT 42;
INSERT INTO shape VALUES (6, 'b6', 7);
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::shape, NULL, 2) AS f) s;

-- wide rows (TOASTed values) come back intact
CREATE TABLE wide (id int PRIMARY KEY, body text);
INSERT INTO wide SELECT g, repeat(md5(g::text), 1000) FROM generate_series(1, 20) g;
SELECT count(*), sum(length((f).body)),
       bool_and((f).body = repeat(md5((f).id::text), 1000)) AS intact
  FROM (SELECT bulk_status.scan(NULL::wide, NULL, 3) AS f) s;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA scan_test CASCADE;
