
# DDL on the table while a commit-per-batch transition runs.
#
# No lock is held between batches, so another session can rename, move or
# drop the table while a CALL bulk_status.transition sleeps between two
# batches.  The next batch must notice and stop with an error, instead of
# running its kept statements against whatever the old name now means:
#   - renamed (ALTER TABLE ... RENAME TO), and a new table created under the
#     old name in the same transaction: SQLSTATE 55000, the new table is
#     left alone;
#   - moved to another schema (ALTER TABLE ... SET SCHEMA): SQLSTATE 55000;
#   - dropped: SQLSTATE 42P01; also when a new table of the same name is
#     created in the same transaction, which is left alone.
# Each time the batches committed before the DDL stay committed: whole
# batches of 100 rows, a prefix of the key order, exactly the audited rows,
# and what last_run() reports for the failed run.
#
# A partitioned table pt, leaves pt1 [0,1000) and pt2 [1000,2000), is walked
# leaf by leaf; while the CALL is still in pt1:
#   - pt2 is detached (ALTER TABLE pt DETACH PARTITION pt2): the CALL
#     succeeds and reports pt1's 1000 rows; pt2, no longer a partition of
#     pt, is left alone, as an UPDATE of pt would leave it;
#   - pt is dropped: SQLSTATE 42P01 and no result, not a successful run
#     (pt1 and pt2 went with it).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BulkStatusTest;

my $total = 5000;
my $batch = 100;

my $node = PostgreSQL::Test::Cluster->new('transition_ddl');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION bulk_status;
	CREATE SCHEMA elsewhere;
});
create_audit($node);

# A fresh table t with $total SYNCED rows, and an empty audit.
sub create_table
{
	$node->safe_psql('postgres', 'TRUNCATE audit');
	create_filled_table($node, 't', $total);
	return;
}

# The slow CALL on t, and whether a few of its batches have committed.
my $t_call =
  "CALL bulk_status.transition('t', 'SYNCED', 'TEMP_DELETED', batch_size => $batch, sleep_ms => 200)";
my $progress_sql = "SELECT count(*) >= 3 * $batch FROM audit";

# What check_committed needs to know of the CALL on t: its batches walk
# the key, so they are whole batches and a prefix of the key order.
my @t_committed = (
	to => 'TEMP_DELETED',
	total => $total,
	batch => $batch,
	keyed => 1);

# A table t, not the one the CALL started on, with $total SYNCED rows:
# created in the same transaction as the DDL given.
sub ddl_and_decoy
{
	my ($ddl) = @_;
	$node->safe_psql(
		'postgres', qq{
		BEGIN;
		$ddl;
		CREATE TABLE t (id int PRIMARY KEY, status text NOT NULL);
		INSERT INTO t SELECT g, 'SYNCED' FROM generate_series(1, $total) g;
		COMMIT;
	});
	return;
}

# 1. renamed while the CALL sleeps between batches; another t appears
create_table();
my ($session) = start_transition($node, $t_call, $progress_sql);
ddl_and_decoy('ALTER TABLE t RENAME TO t_renamed');
my ($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '55000', 'rename: the CALL fails with SQLSTATE 55000');
like($stderr, qr/relation public\.t was renamed or moved during the transition/,
	'rename: the error says so');
my $done = check_committed($node, 'rename', $last_run, @t_committed);
is( $node->safe_psql(
		'postgres',
		"SELECT status, count(*), min(id), max(id) FROM t_renamed GROUP BY 1 ORDER BY 1"),
	"SYNCED|" . ($total - $done) . "|" . ($done + 1) . "|$total\n"
	  . "TEMP_DELETED|$done|1|$done",
	'rename: the table holds exactly the committed batches');
is($node->safe_psql('postgres', "SELECT status, count(*) FROM t GROUP BY 1"),
	"SYNCED|$total", 'rename: the new table under the old name is left alone');
$node->safe_psql('postgres', 'DROP TABLE t');
# under its new name, a new CALL finishes the job
is( $node->safe_psql(
		'postgres', qq{
		SET bulk_status.progress_interval = 0;
		CALL bulk_status.transition('t_renamed', 'SYNCED', 'TEMP_DELETED', batch_size => 1000);
	}),
	$total - $done,
	'rename: a CALL under the new name changes the rest');
$node->safe_psql('postgres', 'DROP TABLE t_renamed');

# 2. moved to another schema
create_table();
($session) = start_transition($node, $t_call, $progress_sql);
$node->safe_psql('postgres', 'ALTER TABLE t SET SCHEMA elsewhere');
($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '55000', 'set schema: the CALL fails with SQLSTATE 55000');
like($stderr, qr/It is now elsewhere\.t\./, 'set schema: the error names the new place');
$done = check_committed($node, 'set schema', $last_run, @t_committed);
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM elsewhere.t WHERE status = 'TEMP_DELETED'"),
	$done, 'set schema: the table holds exactly the committed batches');
$node->safe_psql('postgres', 'DROP TABLE elsewhere.t');

# 3. dropped
create_table();
($session) = start_transition($node, $t_call, $progress_sql);
$node->safe_psql('postgres', 'DROP TABLE t');
($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '42P01', 'drop: the CALL fails with SQLSTATE 42P01');
like($stderr, qr/relation public\.t was dropped during the transition/,
	'drop: the error says so');
check_committed($node, 'drop', $last_run, @t_committed);

# 4. dropped, and another t created at once
create_table();
($session) = start_transition($node, $t_call, $progress_sql);
ddl_and_decoy('DROP TABLE t');
($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '42P01', 'drop and create: the CALL fails with SQLSTATE 42P01');
check_committed($node, 'drop and create', $last_run, @t_committed);
is($node->safe_psql('postgres', "SELECT status, count(*) FROM t GROUP BY 1"),
	"SYNCED|$total", 'drop and create: the new table is left alone');

# A fresh partitioned table pt: leaves pt1 [0,1000) and pt2 [1000,2000),
# 1000 'A' rows each, audited by a row trigger (cloned onto the leaves).
sub create_partitioned
{
	$node->safe_psql(
		'postgres', q{
		TRUNCATE audit;
		CREATE TABLE pt (id int PRIMARY KEY, status text) PARTITION BY RANGE (id);
		CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (1000);
		CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (1000) TO (2000);
		CREATE TRIGGER pt_audit AFTER UPDATE OF status ON pt
			FOR EACH ROW EXECUTE FUNCTION audit_row();
		INSERT INTO pt SELECT g, 'A' FROM generate_series(0, 1999) g;
		VACUUM ANALYZE pt;
	});
	return;
}

# pt1 takes 10 batches of 100 keys, 200 ms apart: about 2 s, so the DDL
# below (once 3 batches are in) lands while the CALL is still in pt1.
# DEBUG1 says whether the CALL walks the leaves one at a time.
my $pt_call =
  "CALL bulk_status.transition('pt', 'A', 'B', batch_size => $batch, sleep_ms => 200, strategy => 'range')";
my $pt_settings =
  'SET bulk_status.progress_interval = 0; SET client_min_messages = debug1';

# Audited rows now; below 1000 means the CALL has not left pt1.
sub audited_now
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM audit');
}

# 5. a leaf not yet walked is detached
create_partitioned();
($session) = start_transition($node, $pt_call, $progress_sql, settings => $pt_settings);
$node->safe_psql('postgres', 'ALTER TABLE pt DETACH PARTITION pt2');
cmp_ok(audited_now(), '<', 1000, 'detach: pt2 was detached while the CALL was in pt1');
# the CALL's own output (rows_changed), then its SQLSTATE
my $out;
($out, $stderr, $last_run) = finish_transition($session);
like($stderr, qr/walking 2 partitions of public\.pt one at a time/,
	'detach: the CALL walks the leaves one at a time');
is($out, "1000\n00000",
	'detach: the CALL succeeds and reports the 1000 rows of pt1 alone');
unlike($stderr, qr/ERROR/, 'detach: no error');
is((split /\|/, $last_run)[0], 1000, 'detach: last_run() reports 1000 rows');
is($node->safe_psql('postgres', 'SELECT status, count(*) FROM pt1 GROUP BY 1'),
	'B|1000', 'detach: pt1 is all B');
is( $node->safe_psql(
		'postgres', 'SELECT status, count(*), min(id), max(id) FROM pt2 GROUP BY 1'),
	'A|1000|1000|1999',
	'detach: the detached pt2 keeps its 1000 A rows');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pt'),
	'1000', 'detach: pt holds pt1 alone');
is( $node->safe_psql(
		'postgres', 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM audit'),
	'1000|1000|0|999',
	'detach: exactly the rows of pt1 were updated, each once');
$node->safe_psql('postgres', 'DROP TABLE pt, pt2');

# 6. the partitioned table is dropped (with its leaves) during pt1
create_partitioned();
($session) = start_transition($node, $pt_call, $progress_sql, settings => $pt_settings);
$node->safe_psql('postgres', 'DROP TABLE pt');
($out, $stderr, $last_run) = finish_transition($session);
like($stderr, qr/walking 2 partitions of public\.pt one at a time/,
	'drop partitioned: the CALL walks the leaves one at a time');
is($out, '42P01',
	'drop partitioned: the CALL fails with SQLSTATE 42P01, no rows_changed');
like($stderr, qr/ERROR:  relation public\.pt was dropped during the transition/,
	'drop partitioned: the error names the partitioned table');
my ($audited, $ids, $max) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT count(*), count(DISTINCT id), max(id) FROM audit WHERE new_status = 'B'");
note "drop partitioned: $audited rows changed before the CALL stopped";
cmp_ok($audited, '>=', 3 * $batch, 'drop partitioned: the earlier batches stay committed');
cmp_ok($audited, '<', 1000, 'drop partitioned: pt was dropped while the CALL was in pt1');
is($audited % $batch, 0, "drop partitioned: whole batches of $batch");
is($ids, $audited, 'drop partitioned: no row changed twice');
is($max, $audited - 1, 'drop partitioned: a prefix of pt1\'s key order');
is((split /\|/, $last_run)[0], $audited,
	'drop partitioned: last_run() reports the committed rows');

$node->stop;
done_testing();
