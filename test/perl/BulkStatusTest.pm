
# BulkStatusTest: the helpers that more than one TAP test of bulk_status
# (test/t/*.pl) uses, kept here once.  Each takes the
# PostgreSQL::Test::Cluster node it works on as an argument; the test names
# of the checks it makes are those the tests always had.  A helper that only
# one test uses stays in that test.

package BulkStatusTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use Test::More;

our @EXPORT = qw(
  create_audited_table
  reset_table
  create_audit
  create_filled_table
  background_call
  start_transition
  finish_transition
  check_committed
  start_crash_node
  wait_for_crash_restart
  kill_backend
  sql_as
  submit
  job_workers
  set_max_workers
  statuses
  start_standby
);

# Create $table and ${table}_audit, one row per status change, by trigger.
sub create_audited_table
{
	# Columns id, status (opt payload: and payload); opt db: the database.
	my ($node, $table, %opt) = @_;
	my $db = $opt{db} // 'postgres';
	my $payload = $opt{payload} ? ', payload text' : '';
	$node->safe_psql(
		$db, qq{
		CREATE TABLE $table (id int PRIMARY KEY, status text NOT NULL$payload);
		CREATE TABLE ${table}_audit (id int NOT NULL, old_status text, new_status text);
		CREATE FUNCTION ${table}_audit_row() RETURNS trigger LANGUAGE plpgsql AS \$\$
		BEGIN
			INSERT INTO ${table}_audit VALUES (OLD.id, OLD.status, NEW.status);
			RETURN NULL;
		END
		\$\$;
		CREATE TRIGGER ${table}_audit_status AFTER UPDATE OF status ON $table
			FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
			EXECUTE FUNCTION ${table}_audit_row();
	});
	return;
}

# Fill $table with $rows rows of one status, and empty ${table}_audit.
sub reset_table
{
	# opt status: the status (SYNCED); payload: fill that column too; db.
	my ($node, $table, $rows, %opt) = @_;
	my $db = $opt{db} // 'postgres';
	my $status = $opt{status} // 'SYNCED';
	my ($columns, $values) =
	  $opt{payload}
	  ? ('id, status, payload', "g, '$status', repeat('x', 60)")
	  : ('id, status', "g, '$status'");
	$node->safe_psql(
		$db, qq{
		TRUNCATE $table, ${table}_audit;
		INSERT INTO $table ($columns)
			SELECT $values FROM generate_series(1, $rows) g;
		VACUUM ANALYZE $table;
	});
	return;
}

# Create the table audit (id, new_status) and audit_row(), which fills it.
sub create_audit
{
	my ($node) = @_;
	$node->safe_psql(
		'postgres', q{
		CREATE TABLE audit (id int NOT NULL, new_status text);
		CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO public.audit VALUES (NEW.id, NEW.status);
			RETURN NULL;
		END
		$$;
	});
	return;
}

# Create $table of $rows rows of one status; its changes call audit_row().
sub create_filled_table
{
	# $status: the rows' status (SYNCED).  audit_row() is the test's own
	# (create_audit's, or one of the test's making).
	my ($node, $table, $rows, $status) = @_;
	$status //= 'SYNCED';
	$node->safe_psql(
		'postgres', qq{
		CREATE TABLE $table (id int PRIMARY KEY, status text NOT NULL);
		INSERT INTO $table SELECT g, '$status' FROM generate_series(1, $rows) g;
		CREATE TRIGGER ${table}_audit AFTER UPDATE OF status ON $table
			FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
			EXECUTE FUNCTION audit_row();
		VACUUM ANALYZE $table;
	});
	return;
}

# Start $call in a background psql without waiting; returns session, pid.
sub background_call
{
	# $settings run first; by default no progress NOTICEs.
	my ($node, $call, $settings) = @_;
	$settings //= 'SET bulk_status.progress_interval = 0';
	my $session = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_safe($settings);
	# \echo comes back before the CALL starts, so we do not wait for it.
	$session->query_until(qr/started/, "\\echo started\n$call;\n");
	return ($session, $pid);
}

# Start a slow CALL, check that $progress (a boolean query) comes true.
sub start_transition
{
	my ($node, $call, $progress, %opt) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	# opt what: a prefix of the test names; settings: as background_call's;
	# running: check that the CALL is still running, too.  Returns the
	# session and the backend's pid.
	my $what = defined $opt{what} ? "$opt{what}: " : '';
	my ($session, $pid) = background_call($node, $call, $opt{settings});
	ok($node->poll_query_until('postgres', $progress),
		"${what}some batches committed while the CALL runs");
	if ($opt{running})
	{
		is( $node->safe_psql(
				'postgres',
				"SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND query LIKE 'CALL bulk_status%'"
			),
			'1',
			"${what}the CALL is still running");
	}
	return ($session, $pid);
}

# Wait for a background CALL to end; returns SQLSTATE, stderr, last_run.
sub finish_transition
{
	# last_run: what bulk_status.last_run() says it did, "rows|batches".
	my ($session) = @_;
	my $sqlstate = $session->query('\echo :LAST_ERROR_SQLSTATE');
	my $stderr = $session->{stderr};
	my $last_run =
	  $session->query('SELECT rows || \'|\' || batches FROM bulk_status.last_run()');
	$session->quit;
	return ($sqlstate, $stderr, $last_run);
}

# Check what a CALL stopped early committed, per audit; returns its rows.
sub check_committed
{
	my ($node, $how, $last_run, %opt) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	# opt to, total, batch: the CALL's target status, rows and batch size.
	# keyed: its batches walk the key, so they are whole batches and a
	# prefix of the key order (checked from the audit alone: the table may
	# be gone).  Otherwise table, from: the rows of table now in status to
	# are the audited ones, the others still in status from, and last_run
	# counts several batches.
	my ($to, $total, $batch) = @opt{qw(to total batch)};
	my ($audited, $ids, $max) = split /\|/,
	  $node->safe_psql('postgres',
		"SELECT count(*), count(DISTINCT id), max(id) FROM audit WHERE new_status = '$to'"
	  );
	note "$how: $audited rows changed before the CALL stopped ($last_run)";
	cmp_ok($audited, '>=', 3 * $batch, "$how: the earlier batches stay committed");
	cmp_ok($audited, '<', $total, "$how: the CALL stopped early");
	is($audited % $batch, 0, "$how: whole batches of $batch, no partial one")
	  if $opt{keyed};
	is($ids, $audited, "$how: no row changed twice");
	if ($opt{keyed})
	{
		is($max, $audited, "$how: the changed rows are a prefix of the key order");
	}
	else
	{
		my ($table, $from) = @opt{qw(table from)};
		is( $node->safe_psql(
				'postgres', qq{
				SELECT count(*) FROM audit a FULL JOIN (SELECT id FROM $table WHERE status = '$to') b
					USING (id) WHERE a.id IS NULL OR b.id IS NULL}),
			'0',
			"$how: the '$to' rows are exactly the audited rows");
		is( statuses($node, $table),
			"$from|" . ($total - $audited) . "\n$to|$audited",
			"$how: the other rows are still '$from'");
	}
	my ($rows, $batches) = split /\|/, $last_run;
	is($rows, $audited, "$how: last_run() reports the committed rows");
	cmp_ok($batches, '>=', 2, "$how: several batches committed")
	  unless $opt{keyed};
	return $audited;
}

# A new node $name, started, whose server restarts after a backend crashes
# (PostgreSQL::Test::Cluster turns restart_after_crash off), for the tests
# that kill backends with kill_backend.
sub start_crash_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', 'restart_after_crash = on');
	$node->start;
	return $node;
}

# Wait until the server, crashed after $log_offset, accepts queries again.
sub wait_for_crash_restart
{
	my ($node, $log_offset) = @_;
	$node->wait_for_log(qr/all server processes terminated; reinitializing/,
		$log_offset);
	$node->poll_query_until('postgres', 'SELECT 1', '1')
	  or die 'the server did not come back after the crash';
	return;
}

# SIGKILL the backend of a background CALL and wait for the server again.
sub kill_backend
{
	my ($node, $session, $pid, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	# $what, if given, prefixes the test names.
	$what = defined $what ? "$what: " : '';
	my $log_offset = -s $node->logfile;
	ok(kill('KILL', $pid), "${what}killed the backend running the CALL");
	# The psql of the killed backend lost its server; just reap it.
	eval { $session->quit; };
	wait_for_crash_restart($node, $log_offset);
	ok( $node->log_contains(
			qr/(?:server process|client backend) \(PID $pid\) was terminated by signal 9/,
			$log_offset),
		"${what}the postmaster saw the backend die and restarted");
	return;
}

# Run $sql in a new session of $role (opt db: the database).
sub sql_as
{
	my ($node, $role, $sql, %opt) = @_;
	return $node->safe_psql($opt{db} // 'postgres',
		$sql, extra_params => [ '-U', $role ]);
}

# Submit a job, bulk_status.submit($args); returns its id.
sub submit
{
	# opt role: submit in a session of that role; db: in that database.
	# The job starts once this commits, i.e. at once.
	my ($node, $args, %opt) = @_;
	my $sql = "SELECT bulk_status.submit($args)";
	return sql_as($node, $opt{role}, $sql, db => $opt{db})
	  if defined $opt{role};
	return $node->safe_psql($opt{db} // 'postgres', $sql);
}

# How many job workers run now (of job $id, or of any job).
sub job_workers
{
	my ($node, $id) = @_;
	my $which = defined $id ? " AND application_name = 'bulk_status job $id'" : '';
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'bulk_status job'$which"
	);
}

# Set bulk_status.max_workers (undef: reset it) and wait until it applies.
sub set_max_workers
{
	my ($node, $n) = @_;
	my $set =
	  defined $n
	  ? "SET bulk_status.max_workers = $n"
	  : 'RESET bulk_status.max_workers';
	my $expected = $n // 4;
	$node->safe_psql('postgres', "ALTER SYSTEM $set");
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	# New processes are forked by the postmaster, so once one sees the
	# value the postmaster has reloaded.
	$node->poll_query_until('postgres', 'SHOW bulk_status.max_workers',
		$expected)
	  or die "bulk_status.max_workers did not become $expected";
	return;
}

# "status|count" lines of $table on a node, in status order.
sub statuses
{
	my ($node, $table) = @_;
	return $node->safe_psql('postgres',
		"SELECT status, count(*) FROM $table GROUP BY 1 ORDER BY 1");
}

# Start a streaming standby $name of $primary; returns it once caught up.
sub start_standby
{
	# From a new backup; it replies every second, without feedback.
	my ($primary, $name) = @_;
	$primary->backup('backup');
	my $standby = PostgreSQL::Test::Cluster->new($name);
	$standby->init_from_backup($primary, 'backup', has_streaming => 1);
	$standby->append_conf(
		'postgresql.conf', q{
wal_receiver_status_interval = 1s
hot_standby_feedback = off
});
	$standby->start;
	$primary->wait_for_catchup($standby);
	return $standby;
}

1;
