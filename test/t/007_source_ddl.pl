
# DDL on the source relation while a commit-per-batch transition runs.
#
# With source => a CALL bulk_status.transition changes only the rows whose
# key is in the source, and its batches are block ranges of the source.  No
# lock is held between batches, so another session can rename or drop the
# source while the CALL sleeps between two batches.  The next batch must
# notice and stop with an error, instead of running its kept statements
# against whatever the old name now means:
#   - renamed (ALTER TABLE ... RENAME TO): SQLSTATE 55000;
#   - dropped: SQLSTATE 42P01.
# Each time the batches committed before the DDL stay committed: the audited
# rows are exactly the changed rows, fewer than all, each changed once, and
# what last_run() reports for the failed run.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BulkStatusTest;

my $total = 5000;
my $batch = 100;

my $node = PostgreSQL::Test::Cluster->new('source_ddl');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION bulk_status');
create_audit($node);

# A fresh table t with $total 'A' rows, a source s naming all of them (a
# plain table, analyzed, so that its batches are a block or so each), and an
# empty audit.
sub create_tables
{
	$node->safe_psql('postgres', 'TRUNCATE audit');
	create_filled_table($node, 't', $total, 'A');
	$node->safe_psql(
		'postgres', qq{
		CREATE TABLE s (id int);
		INSERT INTO s SELECT g FROM generate_series(1, $total) g;
		VACUUM ANALYZE s;
	});
	return;
}

# The slow CALL with source => 's', and whether some of its batches have
# committed.
my $call =
  "CALL bulk_status.transition('t', 'A', 'B', source => 's', batch_size => $batch, sleep_ms => 200)";
my $progress_sql = "SELECT count(*) >= 3 * $batch FROM audit";

# What check_committed needs to know of the CALL: the rows it changed are
# exactly the audited rows, fewer than all.
my @committed = (
	to => 'B',
	from => 'A',
	table => 't',
	total => $total,
	batch => $batch);

# 1. the source is renamed while the CALL sleeps between batches
create_tables();
my ($session) = start_transition($node, $call, $progress_sql);
$node->safe_psql('postgres', 'ALTER TABLE s RENAME TO s_old');
my ($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '55000', 'rename: the CALL fails with SQLSTATE 55000');
like($stderr, qr/source relation public\.s was renamed or moved during the transition/,
	'rename: the error says so');
check_committed($node, 'rename', $last_run, @committed);
$node->safe_psql('postgres', 'DROP TABLE t, s_old');

# 2. the source is dropped while the CALL sleeps between batches
create_tables();
($session) = start_transition($node, $call, $progress_sql);
$node->safe_psql('postgres', 'DROP TABLE s');
($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '42P01', 'drop: the CALL fails with SQLSTATE 42P01');
like($stderr, qr/source relation public\.s was dropped during the transition/,
	'drop: the error says so');
check_committed($node, 'drop', $last_run, @committed);

$node->stop;
done_testing();
