--
-- identifiers: schema, table and column names that need quoting work
-- everywhere (quotes, spaces, semicolons, capitals, maximum length)
--
SET bulk_status.progress_interval = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."odd ""name""; x" (
    "key col" int PRIMARY KEY,
    "the status" text,
    "Status" text,
    status text,
    "select" text
);
INSERT INTO "My Schema"."odd ""name""; x"
SELECT g, 'SYNCED', 'UPPER', 'plain', 's' || g FROM generate_series(40, 1, -1) g;

-- transition, with the schema not on the search_path
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'SYNCED', 'TEMP_DELETED',
                            status_column => 'the status', batch_size => 6);
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'TEMP_DELETED', 'SYNCED',
                            filter => '"key col" > 30 AND "select" LIKE ''s%''',
                            status_column => 'the status', batch_size => 6, strategy => 'limit');
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'TEMP_DELETED', 'MID',
                            status_column => 'the status', batch_size => 1, strategy => 'ctid');
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'MID', 'SYNCED',
                            status_column => 'the status', batch_size => 4, strategy => 'range');
-- "Status" and status are different columns
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'UPPER', 'lower',
                            status_column => 'Status', filter => '"key col" <= 10', batch_size => 3);
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'plain', 'fancy',
                            filter => '"key col" > 35', batch_size => 3);
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 's1', 'x',
                            status_column => 'select');
SELECT "the status", "Status", status, count(*)
  FROM "My Schema"."odd ""name""; x" GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT "select" FROM "My Schema"."odd ""name""; x" WHERE "key col" = 1;
-- the status column is not a quoted identifier; these columns do not exist
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'a', 'b', status_column => '"the status"');
\echo :LAST_ERROR_SQLSTATE
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'a', 'b', status_column => 'The Status');
\echo :LAST_ERROR_SQLSTATE
SET client_min_messages = warning;
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'SYNCED', 'X',
                            status_column => 'the status', dry_run => true);
RESET client_min_messages;

-- scan
SELECT (f).* FROM (SELECT bulk_status.scan(NULL::"My Schema"."odd ""name""; x", '"key col" <= 3', 2) AS f) s;
SELECT count(*),
       array_agg((f)."key col") = (SELECT array_agg("key col" ORDER BY "key col") FROM "My Schema"."odd ""name""; x") AS in_key_order
  FROM (SELECT bulk_status.scan(NULL::"My Schema"."odd ""name""; x", NULL, 7) AS f) s;

-- cursors
SELECT bulk_status.cursor_open('ident cursor', '"My Schema"."odd ""name""; x"', '"Status" = ''lower''', 4);
SELECT name, relation, filter, key_columns, position FROM bulk_status.cursors WHERE name = 'ident cursor';
SELECT (f)."key col", (f)."Status" FROM (SELECT bulk_status.cursor_fetch('ident cursor', NULL::"My Schema"."odd ""name""; x") AS f) s;
SELECT (f)."key col" FROM (SELECT bulk_status.cursor_fetch('ident cursor', NULL::"My Schema"."odd ""name""; x") AS f) s;
SELECT (f)."key col" FROM (SELECT bulk_status.cursor_fetch('ident cursor', NULL::"My Schema"."odd ""name""; x") AS f) s;
SELECT name, relation, key_columns, position, rows_fetched FROM bulk_status.cursors WHERE name = 'ident cursor';
SELECT bulk_status.cursor_close('ident cursor');

-- the same table name in two schemas: the one asked for is used
CREATE SCHEMA ident_other;
CREATE TABLE ident_other."odd ""name""; x" ("key col" int PRIMARY KEY, "the status" text);
INSERT INTO ident_other."odd ""name""; x" VALUES (1, 'SYNCED');
SET search_path = ident_other, public;
CALL bulk_status.transition('"My Schema"."odd ""name""; x"', 'SYNCED', 'Z', status_column => 'the status');
CALL bulk_status.transition('"odd ""name""; x"', 'SYNCED', 'Z', status_column => 'the status');
RESET search_path;
SELECT "the status", count(*) FROM "My Schema"."odd ""name""; x" GROUP BY 1;
SELECT "the status", count(*) FROM ident_other."odd ""name""; x" GROUP BY 1;

-- a composite key and a unique key whose columns need quoting, an enum with
-- an odd name, capitals in every name
CREATE TYPE "My Schema"."Life Cycle" AS ENUM ('Alive', 'Dead; really');
CREATE TABLE "My Schema"."Comp" ("A b" int, "C;d" text COLLATE "C", "St" "My Schema"."Life Cycle",
                                 PRIMARY KEY ("A b", "C;d"));
INSERT INTO "My Schema"."Comp" SELECT g % 3, 'v''' || g, 'Alive' FROM generate_series(1, 30) g;
CALL bulk_status.transition('"My Schema"."Comp"', 'Alive', 'Dead; really', status_column => 'St', batch_size => 4);
CALL bulk_status.transition('"My Schema"."Comp"', 'Dead; really', 'Alive', status_column => 'St', batch_size => 4, strategy => 'limit');
CALL bulk_status.transition('"My Schema"."Comp"', 'Alive', 'Dead; really', filter => '"A b" = 1', status_column => 'St', batch_size => 4, strategy => 'range');
SELECT "A b", "St", count(*) FROM "My Schema"."Comp" GROUP BY 1, 2 ORDER BY 1, 2;
SELECT bulk_status.cursor_open('ident comp', '"My Schema"."Comp"', NULL, 4);
SELECT (f).* FROM (SELECT bulk_status.cursor_fetch('ident comp', NULL::"My Schema"."Comp") AS f) s;
SELECT name, relation, key_columns, position FROM bulk_status.cursors WHERE name = 'ident comp';
SELECT count(*) FROM (SELECT bulk_status.cursor_fetch('ident comp', NULL::"My Schema"."Comp", 100) AS f) s;
SELECT bulk_status.cursor_close('ident comp');
SELECT count(*),
       array_agg(ROW((f)."A b", (f)."C;d")::text) =
       (SELECT array_agg(ROW("A b", "C;d")::text ORDER BY "A b", "C;d") FROM "My Schema"."Comp") AS in_key_order
  FROM (SELECT bulk_status.scan(NULL::"My Schema"."Comp", NULL, 4) AS f) s;

CREATE TABLE "My Schema"."UNIQ" ("Code Name" text NOT NULL, "STATUS" text);
CREATE UNIQUE INDEX "uniq idx" ON "My Schema"."UNIQ" ("Code Name");
INSERT INTO "My Schema"."UNIQ" SELECT 'c' || g, 'on' FROM generate_series(1, 20) g;
CALL bulk_status.transition('"My Schema"."UNIQ"', 'on', 'off', status_column => 'STATUS', batch_size => 3);
CALL bulk_status.transition('"My Schema"."UNIQ"', 'off', 'on', status_column => 'STATUS', batch_size => 3, strategy => 'limit');
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::"My Schema"."UNIQ", '"STATUS" = ''on''', 3) AS f) s;

-- a table without a key, with a name that needs quoting
CREATE TABLE "My Schema"."No Key; here" ("Val" int, "the status" text);
INSERT INTO "My Schema"."No Key; here" SELECT g, 'a' FROM generate_series(1, 50) g;
CALL bulk_status.transition('"My Schema"."No Key; here"', 'a', 'b', status_column => 'the status', batch_size => 4);
CALL bulk_status.transition('"My Schema"."No Key; here"', 'b', 'a', filter => '"Val" > 25', status_column => 'the status', batch_size => 4);

-- names of the maximum length (63 bytes)
CREATE TABLE "My Schema"."t234567890123456789012345678901234567890123456789012345678901 3" (
    "k234567890123456789012345678901234567890123456789012345678901 3" int PRIMARY KEY,
    "s234567890123456789012345678901234567890123456789012345678901 3" text);
INSERT INTO "My Schema"."t234567890123456789012345678901234567890123456789012345678901 3"
SELECT g, 'a' FROM generate_series(1, 10) g;
CALL bulk_status.transition('"My Schema"."t234567890123456789012345678901234567890123456789012345678901 3"', 'a', 'b',
                            status_column => 's234567890123456789012345678901234567890123456789012345678901 3',
                            batch_size => 3);
SELECT count(*) FROM (SELECT bulk_status.scan(NULL::"My Schema"."t234567890123456789012345678901234567890123456789012345678901 3", NULL, 3) AS f) s;

-- a partitioned table and its partitions, all with odd names
CREATE TABLE "My Schema"."Parted ""P""" ("key col" int PRIMARY KEY, "the status" text) PARTITION BY RANGE ("key col");
CREATE TABLE "My Schema"."Part; 1" PARTITION OF "My Schema"."Parted ""P""" FOR VALUES FROM (MINVALUE) TO (10);
CREATE TABLE "My Schema"."Part; 2" PARTITION OF "My Schema"."Parted ""P""" FOR VALUES FROM (10) TO (MAXVALUE);
INSERT INTO "My Schema"."Parted ""P""" SELECT g, 'a' FROM generate_series(1, 20) g;
CALL bulk_status.transition('"My Schema"."Parted ""P"""', 'a', 'b', status_column => 'the status', batch_size => 3);
SELECT (f)."key col" FROM (SELECT bulk_status.scan(NULL::"My Schema"."Parted ""P""", '"key col" BETWEEN 8 AND 11', 1) AS f) s;

SET client_min_messages = warning;
DROP SCHEMA "My Schema" CASCADE;
DROP SCHEMA ident_other CASCADE;
