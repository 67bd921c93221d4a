
# Both sync cycles of the README, each phase interrupted by a crash and
# rerun.
#
# files holds 20,000 rows and an AFTER UPDATE trigger that writes one audit
# row per updated row (id, old and new status, old and new sync_gen), in the
# same transaction as the update.  Each interrupted phase runs in a
# background psql (batches of 500, 50 ms apart); once some batches have
# committed, its backend is killed with SIGKILL, the postmaster restarts
# every backend and recovers, and the phase is run again.
#
# (a) The three-pass cycle.  Prepare (SYNCED -> TEMP_DELETED) is killed and
#     rerun; the client records the files it sees (id % 3 <> 0) in an
#     UNLOGGED staging table and marks them back (TEMP_DELETED -> SYNCED,
#     source => the staging table), which is killed and rerun; finalize
#     (TEMP_DELETED -> DELETED).  Crash recovery empties an unlogged table,
#     so the staging table is filled after the prepare crash, and filled
#     again after the crash of the mark phase, before its rerun (a rerun on
#     the emptied table would mark nothing, and the finalize would then
#     delete every file).  Expected: seen files SYNCED, the others DELETED;
#     the audit shows each row changed exactly once per phase.
#
# (b) The generation cycle.  generation_begin; the client's staging table
#     (a regular one this time, which survives the crashes) names the files
#     it sees (id % 4 <> 0); stamp from it, killed and rerun: after the
#     restart generation_begin returns the same generation (with a NOTICE)
#     and the rerun stamps only the rest; a file first seen after the crash
#     is inserted with the generation from the column's DEFAULT; finalize
#     (SYNCED -> DELETED, filter sync_gen < g), killed and rerun;
#     generation_end.  Expected: seen files SYNCED with sync_gen g, the
#     others DELETED with their old stamp; each row stamped exactly once and
#     finalized at most once (only unseen rows, each once).
#
# After every crash: the rows changed are exactly the audited ones, each
# audited once (committed batches stayed committed, nothing half-done
# survived), some but not all of the phase's rows; the rerun changes exactly
# the rest.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BulkStatusTest;

my $total = 20000;
my $batch = 500;

my $node = start_crash_node('sync_cycle_crash');

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION bulk_status;
	CREATE TABLE files (
		id       int PRIMARY KEY,
		status   text NOT NULL,
		sync_gen bigint NOT NULL DEFAULT bulk_status.current_generation('tap_cycle'),
		payload  text);
	CREATE TABLE files_audit (id int NOT NULL, old_status text, new_status text,
	                          old_gen bigint, new_gen bigint);
	CREATE FUNCTION files_audit_row() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		INSERT INTO files_audit
			VALUES (OLD.id, OLD.status, NEW.status, OLD.sync_gen, NEW.sync_gen);
		RETURN NULL;
	END
	\$\$;
	CREATE TRIGGER files_audit_row AFTER UPDATE ON files
		FOR EACH ROW EXECUTE FUNCTION files_audit_row();
});

# After a crash: the rows in state $now_sql (a condition on files) are
# exactly the rows audited with $audit_sql (a condition on files_audit),
# each once, some but fewer than $phase_total.  Returns their number.
sub check_after_crash
{
	my ($what, $now_sql, $audit_sql, $phase_total) = @_;
	my ($now, $audited, $audited_ids, $same) = split /\|/,
	  $node->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM files WHERE $now_sql),
		       count(*), count(DISTINCT id),
		       (SELECT count(*) FROM files f JOIN files_audit a USING (id)
		         WHERE ($now_sql) AND ($audit_sql))
		  FROM files_audit WHERE $audit_sql});
	note "$what: $now of $phase_total rows changed before the crash";
	cmp_ok($now, '>', 0, "$what: committed batches survived");
	cmp_ok($now, '<', $phase_total, "$what: the CALL did not finish");
	is($audited, $now,
		"$what: every changed row is audited, no half batch survived");
	is($audited_ids, $audited, "$what: no row audited twice");
	is($same, $now, "$what: the audited rows are the changed ones");
	return $now;
}

# The background runs pause 50 ms after each batch, so that the crash
# comes mid-way; the reruns do not.
sub slow
{
	my ($call) = @_;
	return sprintf($call, ', sleep_ms => 50');
}

# Run $call (without the pause) in the foreground; returns rows_changed.
sub run_call
{
	my ($call) = @_;
	return $node->safe_psql('postgres',
		"SET bulk_status.progress_interval = 0;\n" . sprintf($call, ''));
}

my $t0 = time;

###########################################################################
# (a) The three-pass cycle.
###########################################################################
# $total SYNCED rows (sync_gen 0: no generation yet), no audit.
reset_table($node, 'files', $total, payload => 1);
my $seen_a = $node->safe_psql('postgres',
	"SELECT count(*) FROM generate_series(1, $total) g WHERE g % 3 <> 0");

# 1. prepare, killed mid-way, rerun
my $prepare = "CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => $batch%s)";
my ($session, $pid) = start_transition(
	$node, slow($prepare),
	"SELECT count(*) >= 2 * $batch FROM files_audit WHERE new_status = 'TEMP_DELETED'",
	what => 'prepare',
	running => 1);
kill_backend($node, $session, $pid, 'prepare');
my $done = check_after_crash(
	'prepare', "status = 'TEMP_DELETED'",
	"old_status = 'SYNCED' AND new_status = 'TEMP_DELETED'", $total);
is( $node->safe_psql(
		'postgres', "SELECT max(id) FROM files WHERE status = 'TEMP_DELETED'"),
	$done,
	'prepare: the changed rows are a prefix of the key order');
is(run_call($prepare), $total - $done,
	'prepare: the rerun changed exactly the remaining rows');
is($node->safe_psql('postgres', 'SELECT status, count(*) FROM files GROUP BY 1'),
	"TEMP_DELETED|$total", 'prepare: every row is TEMP_DELETED');

# 2. the client records what it sees, after the crash: crash recovery
# would have emptied the unlogged table
$node->safe_psql(
	'postgres', qq{
	CREATE UNLOGGED TABLE seen (id int);
	INSERT INTO seen SELECT g FROM generate_series(1, $total) g WHERE g % 3 <> 0;
});
my $mark = "CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', source => 'seen', batch_size => $batch%s)";
($session, $pid) = start_transition(
	$node, slow($mark),
	"SELECT count(*) >= 2 * $batch FROM files_audit WHERE old_status = 'TEMP_DELETED' AND new_status = 'SYNCED'",
	what => 'mark back',
	running => 1);
kill_backend($node, $session, $pid, 'mark back');
$done = check_after_crash(
	'mark back', "status = 'SYNCED'",
	"old_status = 'TEMP_DELETED' AND new_status = 'SYNCED'", $seen_a);
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM files WHERE status = 'SYNCED' AND id % 3 = 0"),
	'0',
	'mark back: only seen files were marked back');
is($node->safe_psql('postgres', 'SELECT count(*) FROM seen'),
	'0', 'mark back: crash recovery emptied the unlogged staging table');
$node->safe_psql('postgres',
	"INSERT INTO seen SELECT g FROM generate_series(1, $total) g WHERE g % 3 <> 0"
);
is(run_call($mark), $seen_a - $done,
	'mark back: the rerun (staging table filled again) changed exactly the remaining rows');

# 3. finalize
is( run_call(
		"CALL bulk_status.transition('files', 'TEMP_DELETED', 'DELETED', batch_size => $batch%s)"
	),
	$total - $seen_a,
	'finalize: changed every file not seen');

is( $node->safe_psql(
		'postgres', q{
		SELECT count(*) FROM files
		 WHERE status <> CASE WHEN id % 3 <> 0 THEN 'SYNCED' ELSE 'DELETED' END}),
	'0',
	'three-pass: seen files are SYNCED, the others DELETED');
is( $node->safe_psql(
		'postgres', q{
		SELECT old_status, new_status, count(*), count(DISTINCT id),
		       count(*) FILTER (WHERE id % 3 <> 0)
		  FROM files_audit GROUP BY 1, 2 ORDER BY 1, 2}),
	"SYNCED|TEMP_DELETED|$total|$total|$seen_a\n"
	  . "TEMP_DELETED|DELETED|"
	  . ($total - $seen_a) . '|'
	  . ($total - $seen_a) . "|0\n"
	  . "TEMP_DELETED|SYNCED|$seen_a|$seen_a|$seen_a",
	'three-pass: each row changed exactly once per phase, nothing else');
note sprintf('three-pass cycle done after %d s', time - $t0);

###########################################################################
# (b) The generation cycle.
###########################################################################
reset_table($node, 'files', $total, payload => 1);
my $seen_b = $node->safe_psql('postgres',
	"SELECT count(*) FROM generate_series(1, $total) g WHERE g % 4 <> 0");
my $g = $node->safe_psql('postgres',
	"SELECT bulk_status.generation_begin('tap_cycle')");
is($g, '1', 'generation: the first generation of a new cycle is 1');
$node->safe_psql(
	'postgres', qq{
	CREATE TABLE seen_gen (id int);
	INSERT INTO seen_gen SELECT g FROM generate_series(1, $total) g WHERE g % 4 <> 0;
});

# 1. stamp, killed mid-way; the same generation again; rerun
my $stamp = "CALL bulk_status.stamp('files', 'sync_gen', '$g', source => 'seen_gen', batch_size => $batch%s)";
($session, $pid) = start_transition(
	$node, slow($stamp),
	"SELECT count(*) >= 2 * $batch FROM files_audit WHERE new_gen = $g",
	what => 'stamp',
	running => 1);
kill_backend($node, $session, $pid, 'stamp');
$done = check_after_crash(
	'stamp', "sync_gen = $g",
	"old_gen = 0 AND new_gen = $g AND old_status = 'SYNCED' AND new_status = 'SYNCED'",
	$seen_b);
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM files WHERE sync_gen = $g AND id % 4 = 0"),
	'0',
	'stamp: only seen files were stamped');

my ($out, $err);
$node->psql(
	'postgres',
	"SELECT bulk_status.generation_begin('tap_cycle')",
	stdout => \$out,
	stderr => \$err,
	on_error_die => 1);
is($out, $g, 'generation_begin after the crash returns the same generation');
like(
	$err,
	qr/NOTICE:  resuming generation $g of sync cycle "tap_cycle", which did not end/,
	'generation_begin says that it resumes');
is( $node->safe_psql(
		'postgres',
		"SELECT generation, running FROM bulk_status.generations WHERE cycle = 'tap_cycle'"
	),
	"$g|t",
	'the generation is still running');

is(run_call($stamp), $seen_b - $done,
	'stamp: the rerun stamped exactly the remaining rows');
# a file first seen now gets the running generation from the DEFAULT
$node->safe_psql('postgres',
	"INSERT INTO files (id, status) VALUES ($total + 1, 'SYNCED')");

# 2. finalize, killed mid-way, rerun
my $finalize = "CALL bulk_status.transition('files', 'SYNCED', 'DELETED', filter => 'sync_gen < $g', batch_size => $batch%s)";
($session, $pid) = start_transition(
	$node, slow($finalize),
	"SELECT count(*) >= $batch / 2 FROM files_audit WHERE new_status = 'DELETED'",
	what => 'generation finalize',
	running => 1);
kill_backend($node, $session, $pid, 'generation finalize');
$done = check_after_crash(
	'generation finalize', "status = 'DELETED'",
	"old_status = 'SYNCED' AND new_status = 'DELETED'",
	$total - $seen_b);
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM files WHERE status = 'DELETED' AND id % 4 <> 0"),
	'0',
	'generation finalize: only unseen files were deleted');
is( $node->safe_psql(
		'postgres', "SELECT bulk_status.generation_begin('tap_cycle')"),
	$g,
	'generation_begin after the second crash still returns the same generation');
is(run_call($finalize), $total - $seen_b - $done,
	'generation finalize: the rerun changed exactly the remaining rows');
$node->safe_psql('postgres',
	"SELECT bulk_status.generation_end('tap_cycle', $g)");
is( $node->safe_psql(
		'postgres',
		"SELECT generation, running, finished IS NOT NULL FROM bulk_status.generations WHERE cycle = 'tap_cycle'"
	),
	"$g|f|t",
	'generation_end ended the generation');

is( $node->safe_psql(
		'postgres', qq{
		SELECT count(*) FROM files
		 WHERE (status, sync_gen) IS DISTINCT FROM
		       (CASE WHEN id % 4 <> 0 OR id > $total THEN 'SYNCED' ELSE 'DELETED' END,
		        CASE WHEN id % 4 <> 0 OR id > $total THEN $g ELSE 0 END)}),
	'0',
	'generations: seen files are SYNCED with the generation, the others DELETED');
is($node->safe_psql('postgres', 'SELECT count(*) FROM files'),
	$total + 1, 'generations: no row lost');
is( $node->safe_psql(
		'postgres', q{
		SELECT old_status, new_status, old_gen, new_gen, count(*), count(DISTINCT id),
		       count(*) FILTER (WHERE id % 4 <> 0)
		  FROM files_audit GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4}),
	"SYNCED|DELETED|0|0|"
	  . ($total - $seen_b) . '|'
	  . ($total - $seen_b) . "|0\n"
	  . "SYNCED|SYNCED|0|$g|$seen_b|$seen_b|$seen_b",
	'generations: each seen row stamped exactly once, each unseen row finalized once, nothing else'
);
note sprintf('both cycles done after %d s', time - $t0);

$node->stop;
done_testing();
