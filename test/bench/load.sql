-- bulk_status benchmark: the table of test/bench/bench.sh, loaded once per
-- row count into a template database (bench_<rows>) that every run clones.
-- psql variable: rows.  The same generator as test/demo.sh:
--   files(path text PRIMARY KEY, size bigint, mtime timestamptz, etag text,
--         status text NOT NULL), indexed on status;
--   paths of ~70 bytes, runs of 1000 files share a directory, directories
--   spread over 50 projects; inserted in key order; 98% SYNCED, 2% NEW.
-- bench.sh regenerates a template when this file changes (its md5 is kept
-- in the database's comment).
SET maintenance_work_mem = '1GB';
CREATE TABLE files (
    path   text,
    size   bigint,
    mtime  timestamptz,
    etag   text,
    status text NOT NULL
);
INSERT INTO files (path, size, mtime, etag, status)
SELECT format('/data/projects/p%s/shared/archive/2024/dir%s/file-%s.dat',
              lpad(((i / 1000) % 50)::text, 4, '0'),
              lpad((i / 1000)::text, 6, '0'),
              lpad(i::text, 9, '0')),
       (i::bigint * 2654435761) % 100000000,
       timestamptz '2024-01-01 00:00:00+00' + (i % 31536000) * interval '1 second',
       md5(i::text),
       CASE WHEN i % 50 = 0 THEN 'NEW' ELSE 'SYNCED' END
  FROM generate_series(1, :rows) AS i;
-- Indexes after the load (faster than maintaining them row by row).
ALTER TABLE files ADD PRIMARY KEY (path);
CREATE INDEX files_status_idx ON files (status);
-- FREEZE as well, so that no run pays for setting hint bits or freezing.
VACUUM (FREEZE, ANALYZE) files;
