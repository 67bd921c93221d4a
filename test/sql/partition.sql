--
-- partition: scans, cursors and transitions on partitioned tables
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA partition_test;
SET search_path = partition_test, public;

-- Range partitions created out of bound order; one attached with another
-- column order and a dropped column; one sub-partitioned by hash; an empty
-- one; a default partition holding both the lowest and the highest keys.
CREATE TABLE p (id int, status text, note text, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE p_hi PARTITION OF p FOR VALUES FROM (600) TO (900);
CREATE TABLE p_lo PARTITION OF p FOR VALUES FROM (1) TO (300);
CREATE TABLE p_mid (note text, junk int, status text, id int NOT NULL);
ALTER TABLE p_mid DROP COLUMN junk;
ALTER TABLE p ATTACH PARTITION p_mid FOR VALUES FROM (300) TO (600);
CREATE TABLE p_sub PARTITION OF p FOR VALUES FROM (900) TO (1200) PARTITION BY HASH (id);
CREATE TABLE p_sub0 PARTITION OF p_sub FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE p_sub1 PARTITION OF p_sub FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE p_empty PARTITION OF p FOR VALUES FROM (5000) TO (6000);
CREATE TABLE p_def PARTITION OF p DEFAULT;
INSERT INTO p SELECT g, CASE WHEN g % 4 = 0 THEN 'NEW' ELSE 'SYNCED' END, 'n' || g
  FROM generate_series(1300, 1, -1) g;
INSERT INTO p VALUES (-5, 'SYNCED', 'neg'), (0, 'NEW', 'zero');
SELECT tableoid::regclass AS leaf, count(*), min(id), max(id) FROM p GROUP BY 1 ORDER BY tableoid::regclass::text;

-- scan: every row once, in key order across partitions
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::p, 'id < 3 OR id BETWEEN 299 AND 301 OR id > 1298', 2) AS f) s;
SELECT bs,
       (SELECT count(*) FROM (SELECT bulk_status.scan(NULL::p, NULL, bs) AS f) s) AS n,
       (SELECT array_agg((f).id) FROM (SELECT bulk_status.scan(NULL::p, NULL, bs) AS f) s)
       = (SELECT array_agg(id ORDER BY id) FROM p) AS in_key_order
  FROM unnest(ARRAY[1, 7, 300, 5000]) bs;
SELECT count(*) AS mismatches
  FROM (SELECT bulk_status.scan(NULL::p, NULL, 50) AS f) s
  JOIN p ON p.id = (s.f).id
 WHERE (s.f)::text IS DISTINCT FROM p::text;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::p, 'status = ''NEW''', 9) AS f) s;
-- a leaf (with its own column order) and a sub-partitioned partition
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::p_mid, 'id < 303', 2) AS f) s;
SELECT count(*), array_agg((f).id) = (SELECT array_agg(id ORDER BY id) FROM p_sub) AS in_key_order
  FROM (SELECT bulk_status.scan(NULL::p_sub, NULL, 11) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::p_empty, NULL, 11) AS f) s;

-- hash partitioning: key order is not partition order
CREATE TABLE h (id int PRIMARY KEY, status text) PARTITION BY HASH (id);
CREATE TABLE h0 PARTITION OF h FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE h1 PARTITION OF h FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE h2 PARTITION OF h FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO h SELECT g, 'a' FROM generate_series(1, 300) g;
SELECT (f).id FROM (SELECT bulk_status.scan(NULL::h, 'id <= 6', 2) AS f) s;
SELECT count(*), array_agg((f).id) = (SELECT array_agg(id ORDER BY id) FROM h) AS in_key_order
  FROM (SELECT bulk_status.scan(NULL::h, NULL, 8) AS f) s;

-- cursors over a partitioned table
SELECT bulk_status.cursor_open('part_cur', 'p', 'id % 100 = 0 OR id <= 0', 3);
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('part_cur', NULL::p) AS f) s;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('part_cur', NULL::p, 5) AS f) s;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('part_cur', NULL::p, 100) AS f) s;
SELECT name, relation, key_columns, position, rows_fetched FROM bulk_status.cursors WHERE name = 'part_cur';
SELECT bulk_status.cursor_close('part_cur');
SELECT bulk_status.cursor_open('part_cur_h', 'h', NULL, 4);
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('part_cur_h', NULL::h) AS f) s;
SELECT (f).id FROM (SELECT bulk_status.cursor_fetch('part_cur_h', NULL::h) AS f) s;
SELECT bulk_status.cursor_close('part_cur_h');

-- transitions, leaf by leaf; a trigger on the parent fires for every row
CREATE TABLE p_audit (leaf text, id int);
CREATE FUNCTION p_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO partition_test.p_audit VALUES (TG_TABLE_NAME, NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER p_audit AFTER UPDATE ON p FOR EACH ROW EXECUTE FUNCTION p_audit_fn();
CALL bulk_status.transition('p', 'SYNCED', 'TEMP_DELETED', batch_size => 40);
SELECT leaf, count(*) FROM p_audit GROUP BY 1 ORDER BY 1;
SELECT tableoid::regclass AS leaf, status, count(*) FROM p GROUP BY 1, 2 ORDER BY tableoid::regclass::text, 2;
SELECT kind, rows FROM bulk_status.last_run();
CALL bulk_status.transition('p', 'TEMP_DELETED', 'SYNCED', filter => 'id BETWEEN 250 AND 950', batch_size => 40, strategy => 'limit');
CALL bulk_status.transition('p', 'TEMP_DELETED', 'SYNCED', filter => 'note LIKE ''n1%''', batch_size => 40, strategy => 'range');
CALL bulk_status.transition('p', 'TEMP_DELETED', 'SYNCED', batch_size => 3, strategy => 'ctid');
SELECT status, count(*) FROM p GROUP BY 1 ORDER BY 1;
SET client_min_messages = warning;
CALL bulk_status.transition('p', 'NEW', 'X', dry_run => true);
RESET client_min_messages;
SELECT status, count(*) FROM p GROUP BY 1 ORDER BY 1;
-- a leaf directly, and a sub-partitioned partition
CALL bulk_status.transition('p_mid', 'NEW', 'X', batch_size => 10);
CALL bulk_status.transition('p_sub', 'NEW', 'X', batch_size => 10);
SELECT tableoid::regclass AS leaf, count(*) FROM p WHERE status = 'X' GROUP BY 1 ORDER BY tableoid::regclass::text;
CALL bulk_status.transition('p', 'X', 'NEW', batch_size => 10);

-- every strategy gives the same result on a partitioned table
CREATE TABLE strat_result (strategy text, id int, status text);
CREATE PROCEDURE run_strategy(s text)
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  UPDATE partition_test.p SET status = CASE WHEN id % 4 = 0 THEN 'NEW' ELSE 'SYNCED' END;
  COMMIT;
  CALL bulk_status.transition('partition_test.p', 'SYNCED', 'TEMP_DELETED',
                              filter => 'id % 3 <> 0', batch_size => 17,
                              strategy => s, rows_changed => n);
  INSERT INTO partition_test.strat_result SELECT s, id, status FROM partition_test.p;
END
$$;
CALL run_strategy('auto');
CALL run_strategy('range');
CALL run_strategy('limit');
CALL run_strategy('ctid');
SELECT strategy, count(*) FILTER (WHERE status = 'TEMP_DELETED') AS temp_deleted,
       md5(string_agg(id || status, ',' ORDER BY id)) =
       (SELECT md5(string_agg(id || status, ',' ORDER BY id)) FROM strat_result WHERE strategy = 'auto') AS same
  FROM strat_result GROUP BY 1 ORDER BY 1;
SELECT count(*) AS differences FROM strat_result
 WHERE strategy = 'auto'
   AND status <> CASE WHEN id % 4 = 0 THEN 'NEW' WHEN id % 3 <> 0 THEN 'TEMP_DELETED' ELSE 'SYNCED' END;

-- a partitioned table without a key, where one leaf has a key and one has none
CREATE TABLE q (id int, region text, status text) PARTITION BY LIST (region);
CREATE TABLE q_eu PARTITION OF q FOR VALUES IN ('eu');
ALTER TABLE q_eu ADD PRIMARY KEY (id);
CREATE TABLE q_us PARTITION OF q FOR VALUES IN ('us');
CREATE TABLE q_none PARTITION OF q FOR VALUES IN ('none');
INSERT INTO q SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, 'a' FROM generate_series(1, 400) g;
INSERT INTO q SELECT id, region, status FROM q WHERE region = 'us' AND id < 50;
CALL bulk_status.transition('q', 'a', 'b', batch_size => 9);
SELECT tableoid::regclass AS leaf, status, count(*) FROM q GROUP BY 1, 2 ORDER BY tableoid::regclass::text, 2;
-- leaf by leaf: q_eu alone (200 rows) takes at least 200 / 9 batches
SELECT kind, rows, batches >= 23 AS leaf_by_leaf FROM bulk_status.last_run();
CALL bulk_status.transition('q', 'b', 'a', batch_size => 9, strategy => 'ctid');
SET client_min_messages = warning;
CALL bulk_status.transition('q', 'a', 'b', filter => 'id > 300', batch_size => 9, dry_run => true);
RESET client_min_messages;
SELECT status, count(*) FROM q GROUP BY 1 ORDER BY 1;
-- leaves of very different sizes, a small batch
CREATE TABLE q2 (id int, region text, status text) PARTITION BY LIST (region);
CREATE TABLE q2_big PARTITION OF q2 FOR VALUES IN ('big');
CREATE TABLE q2_small PARTITION OF q2 FOR VALUES IN ('small');
CREATE TABLE q2_keyed PARTITION OF q2 FOR VALUES IN ('keyed');
ALTER TABLE q2_keyed ADD PRIMARY KEY (id);
INSERT INTO q2 SELECT g, 'big', 'a' FROM generate_series(1, 5000) g;
INSERT INTO q2 SELECT g, 'small', 'a' FROM generate_series(1, 3) g;
INSERT INTO q2 SELECT g, 'keyed', 'a' FROM generate_series(1, 700) g;
DELETE FROM q2 WHERE region = 'big' AND id BETWEEN 1000 AND 3000;
CALL bulk_status.transition('q2', 'a', 'b', batch_size => 50);
CALL bulk_status.transition('q2', 'b', 'a', batch_size => 1, strategy => 'ctid');
CALL bulk_status.transition('q2', 'a', 'b', filter => 'id % 2 = 0', batch_size => 100);
SELECT tableoid::regclass AS leaf, status, count(*) FROM q2 GROUP BY 1, 2 ORDER BY tableoid::regclass::text, 2;
-- many small leaves without a key: a batch never spans several leaves, so
-- there is at least one batch per leaf
CREATE TABLE pl (id int, status text) PARTITION BY RANGE (id);
SELECT format('CREATE TABLE partition_test.pl_%s PARTITION OF partition_test.pl FOR VALUES FROM (%s) TO (%s)',
              i, i * 100, i * 100 + 100)
  FROM generate_series(0, 19) i \gexec
INSERT INTO pl SELECT g, 'a' FROM generate_series(0, 1999) g;
CALL bulk_status.transition('pl', 'a', 'b', batch_size => 10);
SELECT kind, rows, batches >= 20 AS leaf_by_leaf FROM bulk_status.last_run();

-- range and limit need a key on every leaf; nothing is changed
CALL bulk_status.transition('q', 'a', 'b', strategy => 'range');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('q', 'a', 'b', strategy => 'limit');
\echo :LAST_ERROR_SQLSTATE
SELECT status, count(*) FROM q GROUP BY 1 ORDER BY 1;
-- a scan needs a key on the table itself
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::q) AS f) s;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::q_eu, NULL, 50) AS f) s;

-- partitioned by the status itself: changed rows move to another partition,
-- as with an ordinary UPDATE of the parent
CREATE TABLE ps (id int, status text, PRIMARY KEY (id, status)) PARTITION BY LIST (status);
CREATE TABLE ps_synced PARTITION OF ps FOR VALUES IN ('SYNCED');
CREATE TABLE ps_temp PARTITION OF ps FOR VALUES IN ('TEMP_DELETED');
CREATE TABLE ps_rest PARTITION OF ps DEFAULT;
INSERT INTO ps SELECT g, CASE WHEN g % 5 = 0 THEN 'NEW' ELSE 'SYNCED' END FROM generate_series(1, 500) g;
CALL bulk_status.transition('ps', 'SYNCED', 'TEMP_DELETED', batch_size => 30);
SELECT tableoid::regclass AS leaf, status, count(*) FROM ps GROUP BY 1, 2 ORDER BY tableoid::regclass::text, 2;
CALL bulk_status.transition('ps', 'TEMP_DELETED', 'SYNCED', batch_size => 30, strategy => 'limit');
CALL bulk_status.transition('ps', 'SYNCED', 'DELETED', filter => 'id <= 100', batch_size => 30, strategy => 'ctid');
CALL bulk_status.transition('ps', 'NEW', 'SYNCED', batch_size => 30, strategy => 'range');
SELECT tableoid::regclass AS leaf, status, count(*) FROM ps GROUP BY 1, 2 ORDER BY tableoid::regclass::text, 2;
SELECT count(*), array_agg((f).id ORDER BY (f).id) = (SELECT array_agg(id ORDER BY id) FROM ps) AS all_rows
  FROM (SELECT bulk_status.scan(NULL::ps, NULL, 33) AS f) s;

-- an enum status on a partitioned table
CREATE TYPE pstate AS ENUM ('on', 'off');
CREATE TABLE pe (id int PRIMARY KEY, state pstate) PARTITION BY RANGE (id);
CREATE TABLE pe1 PARTITION OF pe FOR VALUES FROM (MINVALUE) TO (50);
CREATE TABLE pe2 PARTITION OF pe FOR VALUES FROM (50) TO (MAXVALUE);
INSERT INTO pe SELECT g, 'on' FROM generate_series(1, 100) g;
CALL bulk_status.transition('pe', 'on', 'off', status_column => 'state', batch_size => 7);
CALL bulk_status.transition('pe', 'off', 'maybe', status_column => 'state');
\echo :LAST_ERROR_SQLSTATE

-- a partitioned table without partitions
CREATE TABLE pz (id int PRIMARY KEY, status text) PARTITION BY RANGE (id);
CALL bulk_status.transition('pz', 'a', 'b');
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::pz) AS f) s;

-- When updating leaves directly could differ from an UPDATE of the
-- partitioned table, the partitioned table itself is updated batch by
-- batch, so its rules apply exactly.  With 50 rows per leaf and batches of
-- 40, a walk leaf by leaf takes 4 batches, a walk of the whole table 3.
CREATE TABLE pr (id int PRIMARY KEY, status text) PARTITION BY RANGE (id);
CREATE TABLE pr1 PARTITION OF pr FOR VALUES FROM (0) TO (50);
CREATE TABLE pr2 PARTITION OF pr FOR VALUES FROM (50) TO (100);
INSERT INTO pr SELECT g, 'a' FROM generate_series(0, 99) g;
DROP ROLE IF EXISTS regress_bs_part;
CREATE ROLE regress_bs_part NOLOGIN;
GRANT USAGE ON SCHEMA partition_test TO regress_bs_part;

-- nothing in the way: leaves one at a time
CALL bulk_status.transition('pr', 'a', 'b', batch_size => 40);
SELECT kind, rows, batches FROM bulk_status.last_run();
UPDATE pr SET status = 'a';

-- privileges granted on the partitioned table only (none on its leaves)
-- suffice, as for an UPDATE of the partitioned table
GRANT SELECT, UPDATE ON pr TO regress_bs_part;
SET ROLE regress_bs_part;
CALL bulk_status.transition('pr', 'a', 'b', batch_size => 40);
SELECT kind, rows, batches FROM bulk_status.last_run();
UPDATE pr1 SET status = 'c';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
UPDATE pr SET status = 'a';

-- row-level security on the partitioned table binds the caller: only the
-- rows its policy lets the role update change
ALTER TABLE pr ENABLE ROW LEVEL SECURITY;
CREATE POLICY pr_all ON pr FOR SELECT USING (true);
CREATE POLICY pr_even ON pr FOR UPDATE USING (id % 2 = 0);
SET ROLE regress_bs_part;
CALL bulk_status.transition('pr', 'a', 'b', batch_size => 40);
RESET ROLE;
SELECT status, count(*), bool_and(id % 2 = 0) AS all_even FROM pr GROUP BY 1 ORDER BY 1;
ALTER TABLE pr DISABLE ROW LEVEL SECURITY;
UPDATE pr SET status = 'a';

-- a statement-level trigger on the partitioned table fires once per batch,
-- as it would for UPDATEs of the partitioned table
CREATE TABLE pr_statements (n int);
CREATE FUNCTION pr_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pr_statements VALUES (1);
  RETURN NULL;
END $$;
CREATE TRIGGER pr_count AFTER UPDATE ON pr FOR EACH STATEMENT EXECUTE FUNCTION pr_count();
CALL bulk_status.transition('pr', 'a', 'b', batch_size => 40);
SELECT (SELECT count(*) FROM pr_statements) AS statement_trigger_fired, batches
  FROM bulk_status.last_run();

-- A filter may qualify columns with the partitioned table's name, with
-- every strategy: each leaf's statements call the leaf by that name.
CREATE TABLE pq (id int PRIMARY KEY, status text, note text) PARTITION BY RANGE (id);
CREATE TABLE pq1 PARTITION OF pq FOR VALUES FROM (0) TO (50);
CREATE TABLE pq2 PARTITION OF pq FOR VALUES FROM (50) TO (100);
INSERT INTO pq SELECT g, 'a', CASE WHEN g % 2 = 0 THEN 'even' END FROM generate_series(0, 99) g;
CALL bulk_status.transition('pq', 'a', 'b', filter => $$pq.note = 'even' AND pq.id >= 0$$, batch_size => 10);
SELECT kind, rows, batches FROM bulk_status.last_run();
CALL bulk_status.transition('pq', 'b', 'c', filter => $$pq.note = 'even'$$, batch_size => 10, strategy => 'limit');
CALL bulk_status.transition('pq', 'c', 'd', filter => $$pq.note = 'even'$$, batch_size => 10, strategy => 'ctid');
CALL bulk_status.transition('pq', 'd', 'e', filter => $$pq.note = 'even'$$, batch_size => 10, skip_locked => true);
SET client_min_messages = warning;
CALL bulk_status.transition('pq', 'e', 'f', filter => $$pq.note = 'even'$$, dry_run => true);
RESET client_min_messages;
SELECT tableoid::regclass AS leaf, status, count(*) FROM pq GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::pq, $$pq.note = 'even'$$, 7) AS f) s;

-- Every leaf is set up before the first batch: a later leaf that the
-- requested strategy cannot walk (pk2 has no key) stops the run before any
-- batch of pk1 commits.
CREATE TABLE pk (id int NOT NULL, status text) PARTITION BY RANGE (id);
CREATE TABLE pk1 PARTITION OF pk FOR VALUES FROM (0) TO (50);
CREATE TABLE pk2 PARTITION OF pk FOR VALUES FROM (50) TO (100);
CREATE UNIQUE INDEX pk1_id ON pk1 (id);
INSERT INTO pk SELECT g, 'a' FROM generate_series(0, 99) g;
CALL bulk_status.transition('pk', 'a', 'b', batch_size => 10, strategy => 'range');
\echo :LAST_ERROR_SQLSTATE
SELECT tableoid::regclass AS leaf, status, count(*) FROM pk GROUP BY 1, 2 ORDER BY 1, 2;
-- auto walks pk1 by its key and pk2 by blocks
CALL bulk_status.transition('pk', 'a', 'b', batch_size => 10);
SELECT tableoid::regclass AS leaf, status, count(*) FROM pk GROUP BY 1, 2 ORDER BY 1, 2;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA partition_test CASCADE;
DROP ROLE regress_bs_part;
