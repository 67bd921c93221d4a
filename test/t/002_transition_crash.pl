
# A commit-per-batch transition interrupted by a crash.
#
# files holds 20,000 SYNCED rows and an AFTER UPDATE trigger that writes one
# audit row per status change, in the same transaction as the change.  A
# CALL bulk_status.transition (batches of 500, 50 ms apart) runs in the
# background; once some batches have committed, the server goes down hard:
# first by killing the backend that runs the CALL with SIGKILL (the
# postmaster then restarts every backend and recovers), then by an immediate
# shutdown.  After each crash:
#   - the rows now TEMP_DELETED are exactly the audited ones, each audited
#     once: committed batches stayed committed, nothing half-done survived;
#   - they are a prefix of the key order (batches walk the key in order);
# and running the CALL again finishes the job: every row transitioned and
# audited exactly once, none left behind.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BulkStatusTest;

my $total = 20000;
my $batch = 500;

my $node = start_crash_node('transition_crash');

$node->safe_psql('postgres', 'CREATE EXTENSION bulk_status');
create_audited_table($node, 'files', payload => 1);

# The slow CALL, and whether some of its batches have committed.
my $call_sql = qq{CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => $batch, sleep_ms => 50)};
my $progress_sql = "SELECT count(*) >= 2 * $batch FROM files_audit";

# The invariants after a crash; returns how many rows were transitioned.
sub check_after_crash
{
	my ($how) = @_;
	my ($transitioned, $audited, $audited_ids, $max_id) = split /\|/,
	  $node->safe_psql(
		'postgres', q{
		SELECT (SELECT count(*) FROM files WHERE status = 'TEMP_DELETED'),
		       count(*), count(DISTINCT id),
		       coalesce((SELECT max(id) FROM files WHERE status = 'TEMP_DELETED'), 0)
		  FROM files_audit WHERE new_status = 'TEMP_DELETED'});
	note "$how: $transitioned rows transitioned before the crash";
	cmp_ok($transitioned, '>', 0, "$how: committed batches survived");
	cmp_ok($transitioned, '<', $total, "$how: the CALL did not finish");
	is($audited, $transitioned,
		"$how: every transitioned row is audited, no half batch survived");
	is($audited_ids, $audited, "$how: no row audited twice");
	is($max_id, $transitioned,
		"$how: the transitioned rows are a prefix of the key order");
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM files WHERE status = 'SYNCED'"),
		$total - $transitioned,
		"$how: every other row is still SYNCED");
	return $transitioned;
}

# Run the CALL again to completion and check that the job is complete.
sub finish_and_check
{
	my ($how, $done_before) = @_;
	my $rows = $node->safe_psql(
		'postgres', qq{
		SET bulk_status.progress_interval = 0;
		CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => $batch);
	});
	is($rows, $total - $done_before,
		"$how: the second CALL changed exactly the remaining rows");
	is( $node->safe_psql(
			'postgres', q{
		SELECT count(*), count(DISTINCT id), min(id), max(id)
		  FROM files_audit WHERE new_status = 'TEMP_DELETED'}),
		"$total|$total|1|$total",
		"$how: every row transitioned exactly once");
	is( $node->safe_psql(
			'postgres',
			"SELECT status, count(*) FROM files GROUP BY status"),
		"TEMP_DELETED|$total",
		"$how: nothing left behind");
	return;
}

# 1. SIGKILL the backend running the CALL: the postmaster resets everything.
reset_table($node, 'files', $total, payload => 1);
my ($session, $pid) = start_transition($node, $call_sql, $progress_sql, running => 1);
kill_backend($node, $session, $pid);
my $done = check_after_crash('kill -9');
finish_and_check('kill -9', $done);

# 2. Immediate shutdown (no checkpoint, recovery from WAL at start).
reset_table($node, 'files', $total, payload => 1);
($session, $pid) = start_transition($node, $call_sql, $progress_sql, running => 1);
$node->stop('immediate');
eval { $session->quit; };
$node->start;
$done = check_after_crash('immediate stop');
finish_and_check('immediate stop', $done);

$node->stop;
done_testing();
