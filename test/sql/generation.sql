--
-- generation: a sync cycle that stamps what it sees with the run's
-- generation and changes what was not stamped, instead of a prepare pass
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA generation_test;
SET search_path = generation_test, public;

-- before the first generation, the current one is 0
SELECT bulk_status.current_generation('gen_files');

CREATE TABLE files (
    path     text PRIMARY KEY,
    status   text NOT NULL,
    sync_gen bigint NOT NULL DEFAULT bulk_status.current_generation('gen_files')
);
INSERT INTO files SELECT '/f/' || g, 'SYNCED' FROM generate_series(1, 1000) g;

-- generation 1: the client saw every file but 10, 20, ...
SELECT bulk_status.generation_begin('gen_files') AS g \gset
SELECT :g AS generation;
CREATE UNLOGGED TABLE seen (path text);
INSERT INTO seen SELECT '/f/' || g FROM generate_series(1, 1000) g WHERE g % 10 <> 0;
CALL bulk_status.stamp('files', 'sync_gen', :'g', source => 'seen', batch_size => 100);
-- a file first seen during the run gets the running generation
INSERT INTO files (path, status) VALUES ('/f/new', 'NEW');
CALL bulk_status.transition('files', 'SYNCED', 'DELETED', filter => format('sync_gen < %s', :g));
SELECT bulk_status.generation_end('gen_files', :g);
SELECT status, sync_gen, count(*) FROM files GROUP BY 1, 2 ORDER BY 1, 2;
SELECT cycle, generation, running, finished IS NOT NULL AS finished FROM bulk_status.generations;

-- generation 2 crashes after stamping part of what it saw ...
SELECT bulk_status.generation_begin('gen_files') AS g \gset
TRUNCATE seen;
INSERT INTO seen SELECT '/f/' || g FROM generate_series(1, 1000) g WHERE g % 10 <> 0 AND g > 500;
CALL bulk_status.stamp('files', 'sync_gen', :'g', source => 'seen', filter => $$path < '/f/7'$$);
SELECT sync_gen, count(*) FROM files GROUP BY 1 ORDER BY 1;
-- ... and is resumed: the same generation, the steps repeated
SELECT bulk_status.generation_begin('gen_files') = :g AS same_generation;
CALL bulk_status.stamp('files', 'sync_gen', :'g', source => 'seen');
CALL bulk_status.stamp('files', 'sync_gen', :'g', source => 'seen');
CALL bulk_status.transition('files', 'SYNCED', 'DELETED', filter => format('sync_gen < %s', :g));
SELECT bulk_status.generation_end('gen_files', :g);
SELECT status, sync_gen, count(*) FROM files GROUP BY 1, 2 ORDER BY 1, 2;

-- stamp without a source: a filter, or the whole table; a dry run
CALL bulk_status.stamp('files', 'sync_gen', '7', filter => $$status = 'NEW'$$);
\set VERBOSITY terse
CALL bulk_status.stamp('files', 'sync_gen', '7', dry_run => true);
\set VERBOSITY default
SELECT count(*) FILTER (WHERE sync_gen = 7) AS stamped FROM files;

-- errors
SELECT bulk_status.generation_end('gen_files', :g);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.generation_begin('gen_files') AS g \gset
SELECT bulk_status.generation_end('gen_files', :g + 1);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.generation_end('gen_files', :g);
SELECT bulk_status.generation_end('no_such_cycle', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.generation_begin(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.generation_end('gen_files', NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.stamp('files', 'no_such_column', '1');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.stamp('files', 'sync_gen', 'abc');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.stamp('files', 'sync_gen', NULL);
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.stamp('files', 'sync_gen', '1', batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
BEGIN;
CALL bulk_status.stamp('files', 'sync_gen', '1');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE

-- a cycle belongs to the role that began it
DROP ROLE IF EXISTS regress_bs_gen;
CREATE ROLE regress_bs_gen NOLOGIN;
SET ROLE regress_bs_gen;
SELECT count(*) AS visible_cycles FROM bulk_status.generations;
SELECT bulk_status.generation_begin('gen_files');
\echo :LAST_ERROR_SQLSTATE
SELECT bulk_status.current_generation('gen_files') > 0 AS anyone_reads_the_number;
SELECT bulk_status.generation_begin('their_cycle');
SELECT cycle, generation, running FROM bulk_status.generations;
RESET ROLE;
SELECT cycle, owner, generation FROM bulk_status.generations ORDER BY cycle;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA generation_test CASCADE;
DELETE FROM bulk_status.generation_state WHERE cycle IN ('gen_files', 'their_cycle');
DROP ROLE regress_bs_gen;
