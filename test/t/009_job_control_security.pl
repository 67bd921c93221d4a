
# Background jobs: control (cancel, pause, resume, wait, the worker cap,
# lock timeouts) and who may do what, on one node with bulk_status preloaded.
#
# Control, on a table t with an audit trigger (one row per status change, in
# the changing transaction, so committed changes are exactly the audit):
#   1. wait(job, '1 s') on a long job returns 'running' after about 1 s.
#      cancel of a running job ends it within 2 s: wait() says 'cancelled',
#      its worker leaves pg_stat_activity, the rows changed are exactly the
#      job's rows_done (each once), the others untouched.  The same holds
#      ten times out of ten for jobs that sleep between small batches (the
#      cancel then finds the worker asleep).
#   2. cancel of a job whose batch waits for a row lock held by another
#      session ends it within 2 s as well: the batch rolls back, its worker
#      holds no lock afterwards, the lock holder updates the batch's rows at
#      once; only the batches before the locked row stay changed.
#   3. pause: wait() says 'paused', the worker goes, rows_done stops growing
#      (1.5 s); resume: the job ends 'done', every row changed exactly once.
#   4. bulk_status.max_workers = 0: a submitted job stays queued (however
#      often the database is swept) and never gets a worker; cancel ends it
#      'cancelled' with no worker ever started.
#   5. bulk_status.max_workers = 1, three jobs: never two job workers at once
#      (pg_stat_activity sampled while they run), they start in submission
#      order, each after the previous ended, and all end 'done'.
#   6. lock_timeout_ms => 100, max_retries => 2 against a row lock held for
#      longer: the job ends 'failed' with error_sqlstate 55P03; the batches
#      before the locked row stay committed.
# Security (alice, bob: LOGIN; carol: NOLOGIN; mon: pg_monitor; sig:
# pg_signal_backend):
#   7. alice without UPDATE on the table: submit fails with 42501, no job.
#   8. row-level security lets alice update only rows named 'alice/%': her
#      job changes exactly those rows, each once, and its trigger runs in a
#      session of alice.
#   9. bob does not see alice's job, and cancel, pause, resume and wait of
#      it say 42704 (it does not exist for him).
#  10. mon (pg_monitor) sees it, but cancel and pause say 42501.
#  11. sig (pg_signal_backend) cancels alice's job; a superuser's job does
#      not exist for sig (42704) and keeps running.
#  12. SET ROLE carol (NOLOGIN), submit: on 17 and later her job runs to
#      its end, each row changed once in a session of carol; on 15 and 16
#      28000 with a hint, no job.
#  13. the worker of alice's job is a session of alice in pg_stat_activity.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BulkStatusTest;

my $node = PostgreSQL::Test::Cluster->new('job_control_security');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'bulk_status'
max_worker_processes = 16
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION bulk_status');
create_audited_table($node, 't');

#
# Helpers
#

# Run SQL as a role that must fail; returns the SQLSTATE of its error
# ('none' if it succeeded) and psql's stderr.
sub sqlstate_as
{
	my ($role, $sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $role ],
		on_error_stop => 1);
	my ($state) = $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/;
	return ($state // 'none', $stderr);
}

# Columns of a job in bulk_status.jobs, as seen by the superuser.
sub job
{
	my ($id, $cols) = @_;
	return $node->safe_psql('postgres',
		"SELECT $cols FROM bulk_status.jobs WHERE id = $id");
}

# The pid of a job's worker, once it runs.
sub worker_pid
{
	my ($id) = @_;
	my $q =
	  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'bulk_status job' AND application_name = 'bulk_status job $id'";
	$node->poll_query_until('postgres', "SELECT EXISTS ($q)")
	  or die "job $id never got a worker";
	return $node->safe_psql('postgres', $q);
}

# Wait until a job has committed at least $rows rows.
sub wait_rows
{
	my ($id, $rows) = @_;
	$node->poll_query_until('postgres',
		"SELECT rows_done >= $rows FROM bulk_status.jobs WHERE id = $id")
	  or die "job $id never reached $rows rows";
	return;
}

# Cancel a job and wait for its end (at most $timeout, 5 s by default), as
# the superuser; returns what wait() answered (or "error SQLSTATE" if the cancel failed) and the seconds from
# the cancel to that answer.
sub cancel_and_wait
{
	my ($id, $timeout) = @_;
	$timeout //= '5 s';
	my $start = time;
	my ($ret, $stdout, $stderr) = $node->psql(
		'postgres', qq{
		\\set VERBOSITY verbose
		SELECT FROM bulk_status.cancel($id);
		SELECT bulk_status.wait($id, '$timeout');
	}, on_error_stop => 1);
	my $took = time - $start;
	return ("error $1", $took) if $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/;
	my @lines = split /\n/, $stdout;
	return ($lines[-1] // '', $took);
}

# "changed|audited|audited ids" for status $to in t.
sub changed
{
	my ($to) = @_;
	return $node->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM t WHERE status = '$to'),
		       count(*), count(DISTINCT id)
		  FROM t_audit WHERE new_status = '$to'});
}

#
# 1. wait with a timeout, then cancel of a running job.
#
reset_table($node, 't', 10000, status => 'A');
my $job = submit($node,
	"'t', 'A', 'B', batch_size => 200, sleep_ms => 100", role => 'postgres');
my $start = time;
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '1 s')"),
	'running', 'wait: on a long job, wait(job, 1 s) says running');
my $elapsed = time - $start;
note sprintf('wait(job, 1 s) took %.2f s', $elapsed);
cmp_ok($elapsed, '>=', 0.9, 'wait: it waited the second');
cmp_ok($elapsed, '<', 3, 'wait: and not much longer');

wait_rows($job, 400);
my $pid = worker_pid($job);
my ($state, $took) = cancel_and_wait($job);
note sprintf('cancel: the job ended %.2f s after the cancel', $took);
is($state, 'cancelled', 'cancel: wait() says cancelled');
cmp_ok($took, '<', 2, 'cancel: within 2 s');
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"),
	'cancel: the worker leaves pg_stat_activity');
my ($rows_done, $phase, $pids, $finished) = split /\|/,
  job($job, "rows_done, phase IS NULL, pids IS NULL, finished IS NOT NULL");
note "cancel: $rows_done rows done";
cmp_ok($rows_done, '>=', 400, 'cancel: the batches before it stay committed');
cmp_ok($rows_done, '<', 10000, 'cancel: the job stopped before its end');
is("$phase|$pids|$finished", 't|t|t',
	'cancel: no phase, no live worker, a finish time');
is(changed('B'), "$rows_done|$rows_done|$rows_done",
	'cancel: the rows changed are the rows_done, each audited once');
is( $node->safe_psql('postgres', "SELECT count(*) FROM t WHERE status = 'A'"),
	10000 - $rows_done,
	'cancel: every other row is untouched');

# The same, ten times, with a job that spends its time sleeping between
# small batches: a cancel that finds the worker asleep ends the job at
# once too, every time.
reset_table($node, 't', 10000, status => 'A');
my @slow;
my $rows_total = 0;
for my $i (1 .. 10)
{
	my $id = submit($node,
		"'t', 'A', 'B', batch_size => 10, sleep_ms => 100", role => 'postgres');
	wait_rows($id, 10);
	($state, $took) = cancel_and_wait($id, '3 s');
	push @slow, sprintf('job %d: %s after %.2f s', $id, $state, $took)
	  if $state ne 'cancelled' || $took >= 2;
	$rows_total += job($id, 'rows_done');
}
note "sleeping cancels: $_" for @slow;
is(scalar(@slow), 0,
	'cancel between batches: ten jobs out of ten cancelled within 2 s');
is(changed('B'), "$rows_total|$rows_total|$rows_total",
	'cancel between batches: the rows changed are the jobs\' rows_done, each once');

#
# 2. cancel of a job whose batch waits for a row lock.
#
reset_table($node, 't', 10000, status => 'A');
# Row 3100 is in the 16th batch of 200 (rows 3001-3200).
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN');
is($locker->query_safe('SELECT id FROM t WHERE id = 3100 FOR UPDATE'),
	'3100', 'lock wait: another session locks row 3100');
$job = submit($node, "'t', 'A', 'B', batch_size => 200", role => 'postgres');
ok( $node->poll_query_until(
		'postgres', qq{
	SELECT wait_event_type = 'Lock' FROM pg_stat_activity
	 WHERE application_name = 'bulk_status job $job'}),
	'lock wait: the job waits for the lock');
$pid = worker_pid($job);
($state, $took) = cancel_and_wait($job);
note sprintf('lock wait: the job ended %.2f s after the cancel', $took);
is($state, 'cancelled', 'lock wait: wait() says cancelled');
cmp_ok($took, '<', 2, 'lock wait: within 2 s');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE pid = $pid"),
	'0', 'lock wait: the worker holds no lock once the job is cancelled');
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"),
	'lock wait: the worker is gone');
# The holder updates the whole locked batch's range, without waiting.
$start = time;
is( $locker->query_safe(
		q{SET lock_timeout = '200ms';
	WITH u AS (UPDATE t SET status = 'L' WHERE id BETWEEN 3001 AND 3200 RETURNING 1)
	SELECT count(*) FROM u}),
	'200',
	'lock wait: the lock holder then updates the batch\'s rows at once');
note sprintf('lock wait: the holder\'s update took %.3f s', time - $start);
$locker->query_safe('ROLLBACK');
$locker->quit;
is(job($job, 'rows_done'), '3000',
	'lock wait: the job did the 15 batches before the locked row');
is(changed('B'), '3000|3000|3000',
	'lock wait: those rows changed and audited once, the locked batch not');
is( $node->safe_psql(
		'postgres', "SELECT min(id), max(id) FROM t WHERE status = 'B'"),
	'1|3000',
	'lock wait: the changed rows are the first 3000 keys');

#
# 3. pause and resume.
#
reset_table($node, 't', 10000, status => 'A');
$job = submit($node,
	"'t', 'A', 'B', batch_size => 200, sleep_ms => 100", role => 'postgres');
wait_rows($job, 400);
$node->safe_psql('postgres', "SELECT bulk_status.pause($job)");
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '30 s')"),
	'paused', 'pause: wait() says paused');
ok( $node->poll_query_until(
		'postgres', qq{
	SELECT count(*) = 0 FROM pg_stat_activity
	 WHERE backend_type = 'bulk_status job' AND application_name = 'bulk_status job $job'}),
	'pause: the worker is gone');
my $paused_rows = job($job, 'rows_done');
note "pause: $paused_rows rows done when paused";
is(changed('B'), "$paused_rows|$paused_rows|$paused_rows",
	'pause: the rows changed are the rows_done');
usleep(1_500_000);
is(job($job, 'state || \'|\' || rows_done'),
	"paused|$paused_rows", 'pause: 1.5 s later still paused, rows_done unchanged');
is(changed('B'), "$paused_rows|$paused_rows|$paused_rows",
	'pause: and no row changed meanwhile');
is(job_workers($node, $job), '0', 'pause: no worker came back');
cmp_ok($paused_rows, '<', 10000, 'pause: the job stopped before its end');

$node->safe_psql('postgres', "SELECT bulk_status.resume($job)");
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '60 s')"),
	'done', 'resume: the job ends done');
is(job($job, 'rows_done'), '10000', 'resume: rows_done counts every row');
is(changed('B'), '10000|10000|10000',
	'resume: every row changed and audited exactly once');

#
# 4. A queued job (no worker allowed) and its cancel.
#
set_max_workers($node, 0);
reset_table($node, 't', 2000, status => 'A');
my $queued =
  submit($node, "'t', 'A', 'B', batch_size => 200", role => 'postgres');
usleep(500_000);
is(job_workers($node), '0', 'queued: no job worker runs');
is(job($queued, "state || '|' || (started IS NULL)::text"),
	'queued|true', 'queued: the job is queued, not started');
($state, $took) = cancel_and_wait($queued);
is($state, 'cancelled', 'queued: cancel ends it cancelled');
cmp_ok($took, '<', 2, 'queued: at once');
is( job($queued, "(started IS NULL)::text || '|' || (finished IS NOT NULL)::text"),
	'true|true', 'queued: it never started, and it is finished');
is( $node->safe_psql(
		'postgres',
		"SELECT state, pid IS NULL, started IS NULL FROM bulk_status.job_parts WHERE job = $queued"
	),
	'cancelled|t|t',
	'queued: its part never had a worker');

# A queued job waits for a slot as long as it takes.  Every commit of a
# submit asks for a sweep of the database: after five more jobs, a moment
# apart, the first one has been swept six times without a free slot.
$queued =
  submit($node, "'t', 'A', 'B', batch_size => 200", role => 'postgres');
my @more;
for my $i (1 .. 5)
{
	usleep(300_000);
	push @more,
	  submit($node, "'t', 'A', 'B', batch_size => 200", role => 'postgres');
}
usleep(500_000);
is(job_workers($node), '0', 'queued: still no job worker runs');
is( job($queued,
		"state || '|' || (started IS NULL)::text || '|' || coalesce(error_sqlstate, '')"),
	'queued|true|',
	'queued: the job stays queued, however often the database is swept');
note 'queued job: '
  . $node->safe_psql('postgres',
	"SELECT state, attempts, error FROM bulk_status.job_parts WHERE job = $queued");
# Cancel what is still queued.
$node->safe_psql('postgres',
	"SELECT bulk_status.cancel(id) FROM bulk_status.jobs WHERE state IN ('queued', 'running', 'paused')"
);
is(job_workers($node), '0', 'queued: no job worker ever ran');
is(changed('B'), '0|0|0', 'queued: no row changed');

#
# 5. max_workers = 1: three jobs run one at a time, in order.
#
set_max_workers($node, 1);
reset_table($node, 't', 6000, status => 'A');
my @jobs;
for my $filter ('id <= 2000', 'id > 2000 AND id <= 4000', 'id > 4000')
{
	push @jobs,
	  submit($node,
		"'t', 'A', 'B', filter => '$filter', batch_size => 200, sleep_ms => 50",
		role => 'postgres');
}
my $ids = join(',', @jobs);
my ($max_seen, $samples, $busy) = (0, 0, 0);
my $deadline = time + 60;
while (time < $deadline)
{
	my ($running, $ended) = split /\|/,
	  $node->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'bulk_status job'),
		       (SELECT count(*) FROM bulk_status.jobs
		         WHERE id IN ($ids) AND state IN ('done', 'failed', 'cancelled'))});
	$samples++;
	$busy++ if $running > 0;
	$max_seen = $running if $running > $max_seen;
	last if $ended == 3;
	usleep(50_000);
}
note "one worker: $samples samples, $busy with a worker running";
cmp_ok($busy, '>=', 5, 'one worker: workers seen running in several samples');
is($max_seen, 1, 'one worker: never more than one job worker at once');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(state, ',' ORDER BY id) FROM bulk_status.jobs WHERE id IN ($ids)"),
	'done,done,done',
	'one worker: all three jobs end done');
is( $node->safe_psql(
		'postgres', qq{
	SELECT string_agg(id::text, ',' ORDER BY started) FROM bulk_status.jobs WHERE id IN ($ids)}),
	$ids,
	'one worker: they started in submission order');
is( $node->safe_psql(
		'postgres', qq{
	SELECT count(*) FROM bulk_status.jobs a JOIN bulk_status.jobs b ON b.id > a.id
	 WHERE a.id IN ($ids) AND b.id IN ($ids) AND b.started < a.finished}),
	'0',
	'one worker: each started after the one before it finished');
is(changed('B'), '6000|6000|6000',
	'one worker: every row changed and audited exactly once');
set_max_workers($node, undef);

#
# 6. lock_timeout_ms and max_retries against a lock held for longer.
#
reset_table($node, 't', 2000, status => 'A');
$locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN');
$locker->query_safe('SELECT id FROM t WHERE id = 1000 FOR UPDATE');
$job = submit($node,
	"'t', 'A', 'B', batch_size => 200, lock_timeout_ms => 100, max_retries => 2",
	role => 'postgres');
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '60 s')"),
	'failed', 'lock timeout: the job fails while the lock is held');
my ($sqlstate, $error) = split /\|/, job($job, 'error_sqlstate, error');
note "lock timeout: error: $error";
is($sqlstate, '55P03', 'lock timeout: error_sqlstate is 55P03');
like($error, qr/lock/, 'lock timeout: the error is about the lock');
is(changed('B'), '800|800|800',
	'lock timeout: the four batches before the locked row stay committed');
$locker->query_safe('ROLLBACK');
$locker->quit;

#
# Security: roles and a table with row-level security.
#
$node->safe_psql(
	'postgres', q{
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE ROLE carol NOLOGIN;
	CREATE ROLE mon LOGIN IN ROLE pg_monitor;
	CREATE ROLE sig LOGIN IN ROLE pg_signal_backend;

	-- s: 1000 rows of alice and 1000 of bob, interleaved in key order.
	CREATE TABLE s (id int PRIMARY KEY, name text NOT NULL, status text NOT NULL);
	INSERT INTO s SELECT g, CASE WHEN g % 2 = 1 THEN 'alice/' ELSE 'bob/' END || g, 'A'
	  FROM generate_series(1, 2000) g;
	VACUUM ANALYZE s;
	CREATE TABLE s_audit (id int NOT NULL, new_status text, who name);
	-- The trigger writes the audit as its owner, with the session's role.
	CREATE FUNCTION s_audit_row() RETURNS trigger LANGUAGE plpgsql
		SECURITY DEFINER SET search_path = public AS $$
	BEGIN
		INSERT INTO s_audit VALUES (OLD.id, NEW.status, session_user);
		RETURN NULL;
	END
	$$;
	CREATE TRIGGER s_audit_status AFTER UPDATE OF status ON s
		FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
		EXECUTE FUNCTION s_audit_row();
	GRANT SELECT, UPDATE ON s TO alice, bob, carol;
	ALTER TABLE s ENABLE ROW LEVEL SECURITY;
	CREATE POLICY alice_rows ON s TO alice USING (name LIKE 'alice/%');

	-- n: alice may read it, not update it.
	CREATE TABLE n (id int PRIMARY KEY, status text NOT NULL);
	INSERT INTO n SELECT g, 'A' FROM generate_series(1, 100) g;
	GRANT SELECT ON n TO alice;
});

my $alice_jobs =
  "SELECT count(*) FROM bulk_status.job_state WHERE owner = 'alice'::regrole";

# 7. No UPDATE privilege.
($sqlstate) = sqlstate_as('alice', "SELECT bulk_status.submit('n', 'A', 'B')");
is($sqlstate, '42501', 'no privilege: submit fails with 42501');
is($node->safe_psql('postgres', $alice_jobs), '0', 'no privilege: no job row');

# 8, 9, 10, 13: alice's job under row-level security.
$job = submit($node, "'s', 'A', 'B', batch_size => 25, sleep_ms => 100",
	role => 'alice');
$pid = worker_pid($job);
is( $node->safe_psql(
		'postgres', "SELECT usename, backend_type FROM pg_stat_activity WHERE pid = $pid"),
	'alice|bulk_status job',
	'owner: the worker of alice\'s job runs as alice');

is(sql_as($node, 'bob', "SELECT count(*) FROM bulk_status.jobs WHERE id = $job"),
	'0', 'bob: does not see alice\'s job in bulk_status.jobs');
is(sql_as($node, 'bob', "SELECT count(*) FROM bulk_status.job_parts WHERE job = $job"),
	'0', 'bob: nor its parts');
for my $call ("cancel($job)", "pause($job)", "resume($job)", "wait($job, '1 s')")
{
	my ($st, $err) = sqlstate_as('bob', "SELECT bulk_status.$call");
	is($st, '42704', "bob: $call says 42704");
	like($err, qr/job $job does not exist/, "bob: $call says the job does not exist");
}

is( sql_as($node, 'mon', "SELECT owner, state FROM bulk_status.jobs WHERE id = $job"),
	'alice|running',
	'mon: sees alice\'s job running');
for my $call ("cancel($job)", "pause($job)")
{
	my ($st, $err) = sqlstate_as('mon', "SELECT bulk_status.$call");
	is($st, '42501', "mon: $call says 42501");
}
is(job($job, 'state'), 'running',
	'alice\'s job still runs after the attempts of bob and mon');

is(sql_as($node, 'alice', "SELECT bulk_status.wait($job, '60 s')"),
	'done', 'rls: alice\'s job ends done');
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*), count(*) FILTER (WHERE name LIKE 'alice/%') FROM s WHERE status = 'B'}),
	'1000|1000',
	'rls: it changed exactly the 1000 rows of alice');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM s WHERE name LIKE 'bob/%' AND status = 'A'}),
	'1000',
	'rls: none of bob\'s');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*), count(DISTINCT id), string_agg(DISTINCT who, ',') FROM s_audit"),
	'1000|1000|alice',
	'rls: each audited once, in a session of alice');
is(job($job, 'rows_done'), '1000', 'rls: rows_done is 1000');

# 11. pg_signal_backend: alice's job yes, a superuser's no.
my $su_job = submit($node,
	"'t', 'A', 'B', batch_size => 10, sleep_ms => 100", role => 'postgres');
$job = submit($node, "'s', 'B', 'A', batch_size => 25, sleep_ms => 100",
	role => 'alice');
worker_pid($su_job);
worker_pid($job);
($sqlstate, my $err) = sqlstate_as('sig', "SELECT bulk_status.cancel($job)");
note "sig cancel of alice's job: $err" if $sqlstate ne 'none';
is($sqlstate, 'none', 'sig: cancels alice\'s job');
is(sql_as($node, 'alice', "SELECT bulk_status.wait($job, '2 s')"),
	'cancelled', 'sig: alice\'s job is cancelled');
($sqlstate) = sqlstate_as('sig', "SELECT bulk_status.cancel($su_job)");
is($sqlstate, '42704', 'sig: a superuser\'s job does not exist for it (42704)');
is(job($su_job, 'state'), 'running', 'sig: the superuser\'s job keeps running');
($state) = cancel_and_wait($su_job);
is($state, 'cancelled', 'the superuser cancels its own job');
# Clean up alice's job if sig could not cancel it.
sql_as($node, 'alice',
	"SELECT bulk_status.cancel($job) FROM bulk_status.jobs WHERE id = $job AND state IN ('queued', 'running', 'paused')"
);

# 12. NOLOGIN.  From PostgreSQL 17 on a worker may connect as a role
# without LOGIN, so carol's job runs, as carol; before, submit refuses it.
$node->safe_psql(
	'postgres', q{
	CREATE TABLE c (id int PRIMARY KEY, status text NOT NULL);
	INSERT INTO c SELECT g, 'A' FROM generate_series(1, 500) g;
	CREATE TABLE c_who (id int NOT NULL, who name);
	CREATE FUNCTION c_who() RETURNS trigger LANGUAGE plpgsql
		SECURITY DEFINER SET search_path = public AS $$
	BEGIN
		INSERT INTO c_who VALUES (NEW.id, session_user);
		RETURN NEW;
	END $$;
	CREATE TRIGGER c_who AFTER UPDATE ON c FOR EACH ROW EXECUTE FUNCTION c_who();
	GRANT SELECT, UPDATE ON c TO carol;
});
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM bulk_status.job_state');
if ($node->pg_version >= 17)
{
	my $carol_job = $node->safe_psql('postgres',
		"SET ROLE carol;\nSELECT bulk_status.submit('c', 'A', 'B', batch_size => 100);");
	like($carol_job, qr/^\d+$/, 'nologin (17+): carol may submit');
	is($node->safe_psql('postgres', "SELECT bulk_status.wait($carol_job, '60 s')"),
		'done', 'nologin (17+): carol\'s job runs to its end');
	is(job($carol_job, 'owner'), 'carol', 'nologin (17+): owned by carol');
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*), count(DISTINCT id), string_agg(DISTINCT who, ',') FROM c_who"),
		'500|500|carol',
		'nologin (17+): every row changed once, in a session of carol');
}
else
{
	($sqlstate, $err) = sqlstate_as('postgres',
		"SET ROLE carol;\nSELECT bulk_status.submit('c', 'A', 'B');");
	is($sqlstate, '28000', 'nologin (15, 16): submit after SET ROLE carol fails with 28000');
	like($err, qr/HINT:\s+\S/, 'nologin (15, 16): with a hint');
	note "nologin: $err";
	is($node->safe_psql('postgres', 'SELECT count(*) FROM bulk_status.job_state'),
		$before, 'nologin (15, 16): no job row');
}

$node->stop;
done_testing();
