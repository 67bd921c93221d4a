
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

my $total = 5000;
my $batch = 100;

my $node = PostgreSQL::Test::Cluster->new('source_ddl');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION bulk_status;
	CREATE TABLE audit (id int NOT NULL, new_status text);
	CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.audit VALUES (NEW.id, NEW.status);
		RETURN NULL;
	END
	$$;
});

# A fresh table t with $total 'A' rows, a source s naming all of them (a
# plain table, analyzed, so that its batches are a block or so each), and an
# empty audit.
sub create_tables
{
	$node->safe_psql(
		'postgres', qq{
		TRUNCATE audit;
		CREATE TABLE t (id int PRIMARY KEY, status text NOT NULL);
		CREATE TRIGGER t_audit AFTER UPDATE OF status ON t
			FOR EACH ROW EXECUTE FUNCTION audit_row();
		INSERT INTO t SELECT g, 'A' FROM generate_series(1, $total) g;
		CREATE TABLE s (id int);
		INSERT INTO s SELECT g FROM generate_series(1, $total) g;
		VACUUM ANALYZE t, s;
	});
	return;
}

# Start a slow CALL with source => 's' in a background psql; return once
# some batches have committed.
sub start_transition
{
	my $call =
	  "CALL bulk_status.transition('t', 'A', 'B', source => 's', batch_size => $batch, sleep_ms => 200)";
	my $session = $node->background_psql('postgres', on_error_stop => 0);
	$session->query_safe('SET bulk_status.progress_interval = 0');
	# \echo comes back before the CALL starts, so we do not wait for it.
	$session->query_until(qr/started/, "\\echo started\n$call;\n");
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

# The rows changed before the DDL: exactly the audited rows, fewer than all.
sub check_committed
{
	my ($how, $last_run) = @_;
	my ($audited, $ids) = split /\|/,
	  $node->safe_psql('postgres',
		"SELECT count(*), count(DISTINCT id) FROM audit WHERE new_status = 'B'");
	note "$how: $audited rows changed before the CALL stopped ($last_run)";
	cmp_ok($audited, '>=', 3 * $batch, "$how: the earlier batches stay committed");
	cmp_ok($audited, '<', $total, "$how: the CALL stopped early");
	is($ids, $audited, "$how: no row changed twice");
	is( $node->safe_psql(
			'postgres', q{
			SELECT count(*) FROM audit a FULL JOIN (SELECT id FROM t WHERE status = 'B') b
				USING (id) WHERE a.id IS NULL OR b.id IS NULL}),
		'0',
		"$how: the 'B' rows are exactly the audited rows");
	is( $node->safe_psql('postgres', "SELECT status, count(*) FROM t GROUP BY 1 ORDER BY 1"),
		"A|" . ($total - $audited) . "\nB|$audited",
		"$how: the other rows are still 'A'");
	my ($rows, $batches) = split /\|/, $last_run;
	is($rows, $audited, "$how: last_run() reports the committed rows");
	cmp_ok($batches, '>=', 2, "$how: several batches committed");
	return $audited;
}

# 1. the source is renamed while the CALL sleeps between batches
create_tables();
my $session = start_transition();
$node->safe_psql('postgres', 'ALTER TABLE s RENAME TO s_old');
my ($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '55000', 'rename: the CALL fails with SQLSTATE 55000');
like($stderr, qr/source relation public\.s was renamed or moved during the transition/,
	'rename: the error says so');
check_committed('rename', $last_run);
$node->safe_psql('postgres', 'DROP TABLE t, s_old');

# 2. the source is dropped while the CALL sleeps between batches
create_tables();
$session = start_transition();
$node->safe_psql('postgres', 'DROP TABLE s');
($sqlstate, $stderr, $last_run) = finish_transition($session);
is($sqlstate, '42P01', 'drop: the CALL fails with SQLSTATE 42P01');
like($stderr, qr/source relation public\.s was dropped during the transition/,
	'drop: the error says so');
check_committed('drop', $last_run);

$node->stop;
done_testing();
