
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

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $total = 5000;
my $batch = 100;

my $node = PostgreSQL::Test::Cluster->new('transition_ddl');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION bulk_status;
	CREATE SCHEMA elsewhere;
	CREATE TABLE audit (id int NOT NULL, new_status text);
	CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.audit VALUES (NEW.id, NEW.status);
		RETURN NULL;
	END
	$$;
});

# A fresh table t with $total SYNCED rows, and an empty audit.
sub create_table
{
	$node->safe_psql(
		'postgres', qq{
		TRUNCATE audit;
		CREATE TABLE t (id int PRIMARY KEY, status text NOT NULL);
		CREATE TRIGGER t_audit AFTER UPDATE OF status ON t
			FOR EACH ROW EXECUTE FUNCTION audit_row();
		INSERT INTO t SELECT g, 'SYNCED' FROM generate_series(1, $total) g;
		VACUUM ANALYZE t;
	});
	return;
}

# Start a slow CALL in a background psql; return once a few batches have
# committed.
sub start_transition
{
	my $session = $node->background_psql('postgres', on_error_stop => 0);
	$session->query_safe('SET bulk_status.progress_interval = 0');
	# \echo comes back before the CALL starts, so we do not wait for it.
	$session->query_until(qr/started/,
		"\\echo started\nCALL bulk_status.transition('t', 'SYNCED', 'TEMP_DELETED', batch_size => $batch, sleep_ms => 200);\n"
	);
	ok( $node->poll_query_until(
			'postgres', "SELECT count(*) >= 3 * $batch FROM audit"),
		'some batches committed while the CALL runs');
	return $session;
}

# Wait for the CALL to end; return its SQLSTATE, its error message and
# what last_run() says it did ("rows|batches").
sub finish_transition
{
	my ($session) = @_;
	my $sqlstate = $session->query('\echo :LAST_ERROR_SQLSTATE');
	my $stderr = $session->{stderr};
	my $last_run =
	  $session->query('SELECT rows || \'|\' || batches FROM bulk_status.last_run()');
	$session->quit;
	return ($sqlstate, $stderr, $last_run);
}

# The rows changed before the DDL, from the audit (the table may be gone).
sub check_committed
{
	my ($how, $last_run) = @_;
	my ($audited, $ids, $max) = split /\|/,
	  $node->safe_psql('postgres',
		"SELECT count(*), count(DISTINCT id), max(id) FROM audit WHERE new_status = 'TEMP_DELETED'"
	  );
	note "$how: $audited rows changed before the CALL stopped";
	cmp_ok($audited, '>=', 3 * $batch, "$how: the earlier batches stay committed");
	cmp_ok($audited, '<', $total, "$how: the CALL stopped early");
	is($audited % $batch, 0, "$how: whole batches of $batch, no partial one");
	is($ids, $audited, "$how: no row changed twice");
	is($max, $audited, "$how: the changed rows are a prefix of the key order");
	my ($rows) = split /\|/, $last_run;
	is($rows, $audited, "$how: last_run() reports the committed rows");
	return $audited;
}

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
my $session = start_transition();
ddl_and_decoy('ALTER TABLE t RENAME TO t_renamed');
my ($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '55000', 'rename: the CALL fails with SQLSTATE 55000');
like($stderr, qr/relation public\.t was renamed or moved during the transition/,
	'rename: the error says so');
my $done = check_committed('rename', $last_run);
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
$session = start_transition();
$node->safe_psql('postgres', 'ALTER TABLE t SET SCHEMA elsewhere');
($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '55000', 'set schema: the CALL fails with SQLSTATE 55000');
like($stderr, qr/It is now elsewhere\.t\./, 'set schema: the error names the new place');
$done = check_committed('set schema', $last_run);
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM elsewhere.t WHERE status = 'TEMP_DELETED'"),
	$done, 'set schema: the table holds exactly the committed batches');
$node->safe_psql('postgres', 'DROP TABLE elsewhere.t');

# 3. dropped
create_table();
$session = start_transition();
$node->safe_psql('postgres', 'DROP TABLE t');
($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '42P01', 'drop: the CALL fails with SQLSTATE 42P01');
like($stderr, qr/relation public\.t was dropped during the transition/,
	'drop: the error says so');
check_committed('drop', $last_run);

# 4. dropped, and another t created at once
create_table();
$session = start_transition();
ddl_and_decoy('DROP TABLE t');
($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '42P01', 'drop and create: the CALL fails with SQLSTATE 42P01');
check_committed('drop and create', $last_run);
is($node->safe_psql('postgres', "SELECT status, count(*) FROM t GROUP BY 1"),
	"SYNCED|$total", 'drop and create: the new table is left alone');

$node->stop;
done_testing();
