--
-- throttle: pacing options of transition (rows per second, adaptive batch
-- size, replication lag cap) and their bad values
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA throttle_test;
SET search_path = throttle_test, public;

CREATE TABLE t (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO t SELECT g, 'a' FROM generate_series(1, 5000) g;

-- bad values
CALL bulk_status.transition('t', 'a', 'b', max_rows_per_sec => -1);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', target_batch_ms => -1);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', min_batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', min_batch_size => 500, max_batch_size => 100);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', max_replication_lag => '0');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', max_replication_lag => '-1 s');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('t', 'a', 'b', max_rows_per_sec => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FILTER (WHERE status = 'b') AS changed_by_bad_calls FROM t;

-- a cap of 2000 rows per second: 5000 rows in batches of 500 cannot take
-- less than the 4500 rows before the last batch take at that rate (2.25 s)
CALL bulk_status.transition('t', 'a', 'b', batch_size => 500, max_rows_per_sec => 2000);
SELECT rows, batches, elapsed_ms >= 2250 AS paced FROM bulk_status.last_run();

-- a target batch duration far below what 1000 rows take: the batches
-- shrink (every 4 batches, down to min_batch_size), so there are more
-- than the 5 that batches of 1000 would make
CALL bulk_status.transition('t', 'b', 'a', batch_size => 1000, target_batch_ms => 1,
                            min_batch_size => 50);
SELECT rows, batches > 5 AS shrank FROM bulk_status.last_run();

-- a target far above what 10 rows take: the batches grow (up to
-- max_batch_size), so there are far fewer than the 500 of batches of 10
CALL bulk_status.transition('t', 'a', 'b', batch_size => 10, target_batch_ms => 60000,
                            max_batch_size => 2000);
SELECT rows, batches < 100 AS grew FROM bulk_status.last_run();

-- the same for the limit strategy
CALL bulk_status.transition('t', 'b', 'a', batch_size => 10, target_batch_ms => 60000,
                            max_batch_size => 2000, strategy => 'limit');
SELECT rows, batches < 100 AS grew FROM bulk_status.last_run();

-- the pauses hold between the leaves of a partitioned table too: 4 leaves
-- of 25 rows at 100 rows per second cannot take less than the 75 rows
-- before the last leaf take (0.75 s)
CREATE TABLE pt (id int PRIMARY KEY, status text NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (25);
CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (25) TO (50);
CREATE TABLE pt3 PARTITION OF pt FOR VALUES FROM (50) TO (75);
CREATE TABLE pt4 PARTITION OF pt FOR VALUES FROM (75) TO (100);
INSERT INTO pt SELECT g, 'a' FROM generate_series(0, 99) g;
CALL bulk_status.transition('pt', 'a', 'b', max_rows_per_sec => 100);
SELECT rows, batches, elapsed_ms >= 750 AS paced FROM bulk_status.last_run();

-- with no standby, a replication lag cap never waits
CALL bulk_status.transition('t', 'a', 'b', max_replication_lag => '1 ms');
SELECT status, count(*) FROM t GROUP BY 1;

-- adapting batches keep the engine's memory flat: a run whose batches
-- grow from 10 rows to 1000 has the same engine peak as one with batches
-- of 1000 throughout
CREATE TABLE m (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO m SELECT g, 'a' FROM generate_series(1, 20000) g;
CALL bulk_status.transition('m', 'a', 'b', batch_size => 1000);
CREATE TEMP TABLE peaks AS SELECT engine_peak_bytes AS fixed FROM bulk_status.last_run();
CALL bulk_status.transition('m', 'b', 'a', batch_size => 10, target_batch_ms => 60000,
                            max_batch_size => 1000);
SELECT batches < 200 AS resized, engine_peak_bytes = (SELECT fixed FROM peaks) AS same_peak
  FROM bulk_status.last_run();

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA throttle_test CASCADE;
