--
-- memory: the engine's memory does not grow with the number of batches
--
-- N = 20 batches and 20N = 400 batches of 100 rows, for a transition and
-- for a scan: the engine's peak and the backend's peak must be the same
-- (within 10%).  Only booleans are printed; the batch counts are shown to
-- prove that the runs really differ.
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA memory_test;
SET search_path = memory_test, public;

-- m has 20 times as many rows as m_small; neither size is a multiple of the
-- batch size, so the last batch is never empty.
CREATE TABLE m (id int PRIMARY KEY, path text, status text);
INSERT INTO m SELECT g, '/some/rather/long/path/to/file/' || g || '/' || md5(g::text), 'SYNCED'
  FROM generate_series(1, 39950) g;
CREATE TABLE m_small (LIKE m INCLUDING ALL);
INSERT INTO m_small SELECT * FROM m WHERE id <= 1950;
-- an AFTER ROW trigger: its event queue must not grow across batches either
CREATE FUNCTION m_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RETURN NULL;
END $$;
CREATE TRIGGER m_after AFTER UPDATE ON m FOR EACH ROW EXECUTE FUNCTION m_after();
CREATE TRIGGER m_after AFTER UPDATE ON m_small FOR EACH ROW EXECUTE FUNCTION m_after();
VACUUM ANALYZE m;
VACUUM ANALYZE m_small;

CREATE TABLE peaks (what text PRIMARY KEY, batches bigint, engine bigint, backend bigint);

-- transition, default strategy (range): warm up, then N batches (m_small),
-- then 20N batches (m)
CALL bulk_status.transition('m_small', 'SYNCED', 'WARM', batch_size => 100);
CALL bulk_status.transition('m_small', 'WARM', 'SYNCED', batch_size => 100);
CALL bulk_status.transition('m_small', 'SYNCED', 'TEMP_DELETED', batch_size => 100);
INSERT INTO peaks SELECT 'range N', batches, engine_peak_bytes, backend_peak_bytes FROM bulk_status.last_run();
CALL bulk_status.transition('m', 'SYNCED', 'TEMP_DELETED', batch_size => 100);
INSERT INTO peaks SELECT 'range 20N', batches, engine_peak_bytes, backend_peak_bytes FROM bulk_status.last_run();

-- transition, strategy limit: N batches (a filter on the key), then 20N
CALL bulk_status.transition('m', 'TEMP_DELETED', 'SYNCED', filter => 'id <= 1950', batch_size => 100, strategy => 'limit');
INSERT INTO peaks SELECT 'limit N', batches, engine_peak_bytes, backend_peak_bytes FROM bulk_status.last_run();
CALL bulk_status.transition('m', 'TEMP_DELETED', 'SYNCED', batch_size => 100, strategy => 'limit');
CALL bulk_status.transition('m', 'SYNCED', 'TEMP_DELETED', batch_size => 100, strategy => 'limit');
INSERT INTO peaks SELECT 'limit 20N', batches, engine_peak_bytes, backend_peak_bytes FROM bulk_status.last_run();

-- scan: warm up, N batches (a filter on the key), then 20N
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::m, 'id <= 1950', 100) AS f) s;
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::m, 'id <= 1950', 100) AS f) s;
INSERT INTO peaks SELECT 'scan N', batches, engine_peak_bytes, backend_peak_bytes FROM bulk_status.last_run();
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::m, NULL, 100) AS f) s;
INSERT INTO peaks SELECT 'scan 20N', batches, engine_peak_bytes, backend_peak_bytes FROM bulk_status.last_run();

-- the runs really differ
SELECT what, batches FROM peaks ORDER BY what;

-- the peaks were measured
SELECT what, engine > 0 AS engine_measured, backend > 0 AS backend_measured,
       engine <= backend AS engine_within_backend
  FROM peaks ORDER BY what;

-- flat memory
SELECT split_part(n.what, ' ', 1) AS run,
       w.engine = n.engine AS engine_peak_equal,
       w.engine BETWEEN n.engine * 0.9 AND n.engine * 1.1 AS engine_peak_within_10pct,
       w.backend BETWEEN n.backend * 0.9 AND n.backend * 1.1 AS backend_peak_within_10pct
  FROM peaks n JOIN peaks w ON w.what = split_part(n.what, ' ', 1) || ' 20N'
 WHERE n.what LIKE '% N'
 ORDER BY 1;

SELECT status, count(*) FROM m GROUP BY 1;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA memory_test CASCADE;
