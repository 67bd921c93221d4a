
# Background jobs: a transactional submit, the jobs view while a job runs,
# and exactly-once resume after crashes and restarts.
#
# files holds SYNCED rows owned by alice (a LOGIN role that is not a
# superuser), with an AFTER UPDATE trigger that writes one audit row per
# status change in the same transaction as the change.  alice submits
# transitions to TEMP_DELETED as background jobs.  What is proved:
#   1. A job submitted in an open transaction does not exist for anyone
#      else and changes nothing while that transaction stays open; once it
#      commits, the job runs and ends done, every row changed and audited
#      exactly once.
#   2. A submit that rolls back, directly or with a savepoint rolled back
#      before a COMMIT, leaves no job and changes nothing.
#   3. While a job runs, bulk_status.jobs shows it running with growing
#      rows_done, a rate, an ETA and its worker's pid, and pg_stat_activity
#      shows that worker as a 'bulk_status job' process of alice whose
#      query names the job; once it ended the view has the final figures.
#   4. A job (20,000 rows, batches of 500, 50 ms apart) interrupted by
#      kill -9 of its worker, by an immediate shutdown and by a fast
#      restart resumes by itself and ends done, every row changed exactly
#      once; when the server is back, the part's committed rows_done is the
#      number of audited rows.  The kill -9 once more with
#      bulk_status.max_workers = 0, so that nothing resumes it: the part
#      stays running without a worker, its rows_done and position match
#      the audited rows exactly (no half batch survived), and once
#      max_workers is back to 4 the job resumes without being asked.  A
#      part held back by max_workers = 0 stays queued however many sweeps
#      pass: they are not failed starts.
#   5. workers => 3 on a keyed table: three parts with key ranges that meet
#      without overlapping; kill -9 of one worker mid-run crashes the
#      server, every part resumes and ends done, each part changed exactly
#      the rows of its range, every row once.
#   6. Jobs run in every database that has the extension; a database
#      without it is swept harmlessly.
#   7. Without shared_preload_libraries, submit fails with 55000 and a hint
#      naming shared_preload_libraries, while CALL bulk_status.transition,
#      bulk_status.scan and durable cursors still work.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BulkStatusTest;

my $total = 20000;
my $batch = 500;

my $node = PostgreSQL::Test::Cluster->new('job_submit_resume');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'bulk_status'
max_worker_processes = 16
restart_after_crash = on
});
$node->start;

# From PostgreSQL 18 on the module's magic block names it and its version,
# which must be the one bulk_status.control gives.
if ($node->pg_version >= 18)
{
	my ($version) =
	  slurp_file('bulk_status.control') =~ /^default_version\s*=\s*'([^']+)'/m;
	is( $node->safe_psql(
			'postgres',
			"SELECT module_name || ' ' || version FROM pg_get_loaded_modules()"
			  . " WHERE file_name = 'bulk_status.so'"),
		"bulk_status $version",
		'PostgreSQL 18: pg_get_loaded_modules() shows bulk_status and its version');
}

# The extension, and files of alice with its audit trigger, in a database.
sub setup_database
{
	my ($db) = @_;
	$node->safe_psql($db, 'CREATE EXTENSION bulk_status');
	create_audited_table($node, 'files', db => $db, payload => 1);
	$node->safe_psql(
		$db, q{
		ALTER TABLE files OWNER TO alice;
		ALTER TABLE files_audit OWNER TO alice;
	});
	return;
}

$node->safe_psql('postgres', 'CREATE ROLE alice LOGIN');
setup_database('postgres');

# Submit the transition of files as alice; returns the job's id.
sub submit_files
{
	my ($db, $options) = @_;
	return submit(
		$node, "'files', 'SYNCED', 'TEMP_DELETED', $options",
		role => 'alice',
		db => $db);
}

# "audited rows|distinct audited ids"
sub audit
{
	my ($db) = @_;
	return $node->safe_psql($db,
		"SELECT count(*), count(DISTINCT id) FROM files_audit WHERE new_status = 'TEMP_DELETED'"
	);
}

# Wait for the job to end; check that it is done and complete.
sub check_done
{
	my ($how, $db, $job, $n) = @_;
	my $start = time;
	is( sql_as(
			$node, 'alice', "SELECT bulk_status.wait($job, '60 s')",
			db => $db),
		'done',
		"$how: the job ends done");
	note sprintf('%s: the job ended %.1f s after we started waiting',
		$how, time - $start);
	is(audit($db), "$n|$n", "$how: every row audited exactly once");
	is( $node->safe_psql(
			$db, 'SELECT status, count(*) FROM files GROUP BY status'),
		"TEMP_DELETED|$n",
		"$how: every row changed, none left SYNCED");
	is( sql_as(
			$node, 'alice', qq{
		SELECT state, rows_done, parts = parts_done, finished IS NOT NULL,
		       error IS NULL, pids IS NULL
		  FROM bulk_status.jobs WHERE id = $job}, db => $db),
		"done|$n|t|t|t|t",
		"$how: the view shows the job done with $n rows and no worker");
	return;
}

my $job;

# 1. Submit in an open transaction: nothing exists before COMMIT.
reset_table($node, 'files', $total, payload => 1);
my $session = $node->background_psql('postgres',
	extra_params => [ '-U', 'alice' ]);
$session->query_safe('BEGIN');
$job = $session->query_safe(
	"SELECT bulk_status.submit('files', 'SYNCED', 'TEMP_DELETED', batch_size => $batch)"
);
like($job, qr/^\d+$/, 'begin: submit returns a job id');
is($session->query_safe("SELECT state FROM bulk_status.jobs WHERE id = $job"),
	'queued', 'begin: the submitting transaction sees its job queued');
is( $node->safe_psql(
		'postgres', q{
	SELECT (SELECT count(*) FROM bulk_status.jobs),
	       (SELECT count(*) FROM bulk_status.job_state),
	       (SELECT count(*) FROM bulk_status.job_part_state)}),
	'0|0|0',
	'begin: another session (a superuser) sees no job and no part');
sleep 2;
is(audit('postgres'), '0|0', 'begin: no row audited after 2 s');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM files WHERE status = 'SYNCED'"),
	$total,
	'begin: no row changed after 2 s');
is(job_workers($node), '0', 'begin: no job process runs');
$session->query_safe('COMMIT');
$session->quit;
check_done('begin', 'postgres', $job, $total);

# 2. Submits that roll back leave nothing.
reset_table($node, 'files', $total, payload => 1);
my ($rolled_back, $in_savepoint) = split /\n/, sql_as(
	$node, 'alice', q{
	BEGIN;
	SELECT bulk_status.submit('files', 'SYNCED', 'TEMP_DELETED', batch_size => 500);
	ROLLBACK;
	BEGIN;
	SAVEPOINT s1;
	SELECT bulk_status.submit('files', 'SYNCED', 'TEMP_DELETED', batch_size => 500);
	ROLLBACK TO SAVEPOINT s1;
	COMMIT;
});
like($rolled_back, qr/^\d+$/, 'rollback: submit returned an id');
like($in_savepoint, qr/^\d+$/, 'savepoint: submit returned an id');
# The COMMIT after the savepoint woke the launcher: give a sweep time.
sleep 2;
is( $node->safe_psql(
		'postgres', qq{
	SELECT (SELECT count(*) FROM bulk_status.job_state WHERE id IN ($rolled_back, $in_savepoint)),
	       (SELECT count(*) FROM bulk_status.job_part_state WHERE job IN ($rolled_back, $in_savepoint)),
	       (SELECT count(*) FROM bulk_status.jobs WHERE state <> 'done')}),
	'0|0|0',
	'rollback, savepoint: no job and no part was left');
is(audit('postgres'), '0|0', 'rollback, savepoint: no row audited');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM files WHERE status = 'SYNCED'"),
	$total,
	'rollback, savepoint: no row changed');
is(job_workers($node), '0', 'rollback, savepoint: no job process runs');

# 3. The jobs view and pg_stat_activity while a job runs: 40 batches 100 ms
# apart, about 4 s.
$job = submit_files('postgres', "batch_size => $batch, sleep_ms => 100");
ok( $node->poll_query_until(
		'postgres', qq{
	SELECT state = 'running' AND rows_done > 0 AND rows_per_sec > 0
	  FROM bulk_status.jobs WHERE id = $job}),
	'view: the job runs and has changed rows');
my ($rows_seen, $view) = split /\|/, sql_as(
	$node, 'alice', qq{
	SELECT rows_done,
	       concat_ws(',', owner, relation, kind, from_status, to_status, state,
	                 phase IN ('running', 'sleeping'), parts, parts_done, rows_per_sec > 0, rows_estimated,
	                 eta IS NOT NULL, cardinality(pids), started IS NOT NULL,
	                 finished IS NULL, database = current_database())
	  FROM bulk_status.jobs WHERE id = $job}), 2;
is($view,
	"alice,files,transition,SYNCED,TEMP_DELETED,running,t,1,0,t,$total,t,1,t,t,t",
	'view: alice sees her job running, with a rate, an ETA and one pid');
cmp_ok($rows_seen, '<', $total, 'view: seen before the end');
ok( $node->poll_query_until(
		'postgres', qq{
	SELECT rows_done > $rows_seen AND state = 'running'
	  FROM bulk_status.jobs WHERE id = $job}),
	'view: rows_done grows while the job runs');
ok( $node->poll_query_until(
		'postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity a
	 WHERE a.backend_type = 'bulk_status job'
	   AND a.usename = 'alice'
	   AND a.datname = 'postgres'
	   AND a.application_name = 'bulk_status job $job'
	   AND a.query LIKE 'bulk_status job $job part 0: transition of files,%'
	   AND a.pid = (SELECT pids[1] FROM bulk_status.jobs WHERE id = $job)}),
	'view: pg_stat_activity shows the job worker, as alice, naming the job');
is( $node->safe_psql(
		'postgres', qq{
	SELECT count(*) FROM bulk_status.job_parts
	 WHERE job = $job AND state = 'running'
	   AND pid = (SELECT pids[1] FROM bulk_status.jobs WHERE id = $job)}),
	'1',
	'view: job_parts has the running part with the same pid');
check_done('view', 'postgres', $job, $total);
is( sql_as(
		$node, 'alice', qq{
	SELECT rows_per_sec > 0, finished >= started, eta IS NULL, phase IS NULL,
	       batches >= $total / $batch
	  FROM bulk_status.jobs WHERE id = $job}),
	't|t|t|t|t',
	'view: after the end, an average rate and no ETA, phase or live figures');

# 4. Exactly-once resume after an interruption.  The job (40 batches 50 ms
# apart, about 3 s) is interrupted once some batches committed.

# Submit the job and wait until some batches committed; returns the job's
# id and its worker's pid.
sub start_job
{
	my ($how) = @_;
	reset_table($node, 'files', $total, payload => 1);
	my $id = submit_files('postgres', "batch_size => $batch, sleep_ms => 50");
	ok( $node->poll_query_until(
			'postgres',
			"SELECT count(*) >= 2 * $batch FROM files_audit"),
		"$how: some batches committed");
	my $pid = $node->safe_psql(
		'postgres', qq{
		SELECT pid FROM pg_stat_activity
		 WHERE backend_type = 'bulk_status job'
		   AND application_name = 'bulk_status job $id'});
	like($pid, qr/^\d+$/, "$how: the job's worker runs");
	return ($id, $pid);
}

# What survived, in one snapshot: "audited rows|distinct audited ids|
# SYNCED rows|last changed key|the part's rows_done|the part's position|
# the part's state|the job's state|whether the job has no live worker".
sub survivors
{
	my ($id) = @_;
	return $node->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM files_audit),
		       (SELECT count(DISTINCT id) FROM files_audit),
		       (SELECT count(*) FROM files WHERE status = 'SYNCED'),
		       (SELECT coalesce(max(id), 0) FROM files WHERE status = 'TEMP_DELETED'),
		       p.rows_done, p.position[1], p.state, j.state, j.pids IS NULL
		  FROM bulk_status.job_parts p JOIN bulk_status.jobs j ON j.id = p.job
		 WHERE p.job = $id});
}

# kill -9 of a job worker; returns once the server is back.
sub kill_worker
{
	my ($how, $pid) = @_;
	my $log_offset = -s $node->logfile;
	ok(kill('KILL', $pid), "$how: killed the job worker");
	wait_for_crash_restart($node, $log_offset);
	ok( $node->log_contains(
			qr/background worker "bulk_status job" \(PID $pid\) was terminated by signal 9/,
			$log_offset),
		"$how: the postmaster saw the worker die and reinitialized");
	return;
}

# 4a. The job resumes by itself after each interruption.  Right after the
# server is back (the job may already have resumed), the committed rows and
# the part's committed rows_done agree, in one snapshot.
sub interrupted_job
{
	my ($how, $interrupt) = @_;
	my ($id, $pid) = start_job($how);

	$interrupt->($pid);

	my ($audited, $distinct, $synced, $max_id, $rows_done) = split /\|/,
	  survivors($id);
	note "$how: $audited rows changed when the server was back";
	cmp_ok($audited, '>=', 2 * $batch, "$how: committed batches survived");
	is($distinct, $audited, "$how: no row audited twice");
	is($synced, $total - $audited, "$how: every other row is still SYNCED");
	is($rows_done, $audited,
		"$how: the part's rows_done is the number of audited rows");
	check_done($how, 'postgres', $id, $total);
	return;
}

interrupted_job('kill -9', sub { kill_worker('kill -9', $_[0]); });
interrupted_job(
	'immediate stop',
	sub {
		$node->stop('immediate');
		$node->start;
	});
interrupted_job('restart', sub { $node->restart; });

# 4b. The same crash with bulk_status.max_workers = 0 meanwhile, so that
# nothing restarts the job before we looked at exactly what survived.
my ($held, $held_pid) = start_job('held');
set_max_workers($node, 0);
kill_worker('held', $held_pid);
my $first = survivors($held);
sleep 1;
my $second = survivors($held);
is($second, $first, 'held: nothing changed while no worker may run');
is(job_workers($node), '0', 'held: no job process runs');
my ($audited, $distinct, $synced, $max_id, $rows_done, $position,
	$part_state, $job_state, $no_pid)
  = split /\|/, $second;
note "held: $audited rows changed before the crash";
cmp_ok($audited, '>=', 2 * $batch, 'held: committed batches survived');
cmp_ok($audited, '<', $total, 'held: the job did not finish');
is($distinct, $audited, 'held: no row audited twice');
is($synced, $total - $audited, 'held: every other row is still SYNCED');
is($rows_done, $audited,
	"held: the part's rows_done is the number of audited rows");
is($position, $max_id, "held: the part's position is the last changed key");
is("$part_state|$job_state|$no_pid", 'running|running|t',
	'held: the part and the job are still running, without a worker');

# Workers allowed again: the interrupted part should start without anyone
# asking (it needs about 2 s to finish).
set_max_workers($node, 4);
my $state = sql_as($node, 'alice', "SELECT bulk_status.wait($held, '10 s')");
is($state, 'done',
	'held: once max_workers allows it again, the job resumes by itself');
if ($state ne 'done')
{
	# Ask for a sweep of the database (resume of a running job does
	# nothing else), so that the rest of the test can go on.
	diag "held: the job is still '$state' 10 s after max_workers went back to 4";
	sql_as($node, 'alice', "SELECT bulk_status.resume($held)");
}
check_done('held', 'postgres', $held, $total);

# 4c. A part that waits for a worker slot waits: sweeps that cannot start it
# (here each resume() commit asks for one) are not failed starts.
$node->safe_psql(
	'postgres', q{
	CREATE TABLE waiting (id int PRIMARY KEY, status text NOT NULL);
	INSERT INTO waiting SELECT g, 'A' FROM generate_series(1, 100) g;
	ALTER TABLE waiting OWNER TO alice;
});
set_max_workers($node, 0);
my $waiting = sql_as($node, 'alice',
	"SELECT bulk_status.submit('waiting', 'A', 'B')");
for my $i (1 .. 6)
{
	usleep(400_000);
	# (once the job has failed, resume() fails too: that is checked below)
	$node->psql('postgres', "SELECT bulk_status.resume($waiting)",
		extra_params => [ '-U', 'alice' ]);
}
usleep(400_000);
is( sql_as(
		$node, 'alice', qq{
	SELECT j.state, p.state, j.error_sqlstate IS NULL
	  FROM bulk_status.jobs j JOIN bulk_status.job_parts p ON p.job = j.id
	 WHERE j.id = $waiting}),
	'queued|queued|t',
	'waiting: a job held back by max_workers = 0 stays queued through 7 sweeps');
$node->safe_psql('postgres',
	"SELECT bulk_status.cancel($waiting) FROM bulk_status.jobs WHERE id = $waiting AND state = 'queued'"
);
set_max_workers($node, 4);

# 5. Three workers on 30,000 keyed rows, one of them killed mid-run.
my $total3 = 30000;
reset_table($node, 'files', $total3, payload => 1);
$job = submit_files('postgres',
	"batch_size => $batch, sleep_ms => 100, workers => 3");
is( $node->safe_psql(
		'postgres', qq{
	SELECT string_agg(concat_ws(',', part, range_lo IS NULL, range_hi IS NULL, meets_next),
	                  ';' ORDER BY part)
	  FROM (SELECT part, range_lo, range_hi,
	               range_hi = lead(range_lo) OVER (ORDER BY part) AS meets_next
	          FROM bulk_status.job_parts WHERE job = $job) p}),
	'0,t,f,t;1,f,f,t;2,f,t',
	'workers: three parts, each range starting where the previous one ends');
# Which part's range holds a key (ranges are (range_lo, range_hi]).
my $in_part = q{
	(p.range_lo IS NULL OR f.id > p.range_lo[1]::int)
	AND (p.range_hi IS NULL OR f.id <= p.range_hi[1]::int)};
is( $node->safe_psql(
		'postgres', qq{
	SELECT count(*) FROM files f
	 WHERE (SELECT count(*) FROM bulk_status.job_parts p
	         WHERE p.job = $job AND $in_part) <> 1}),
	'0',
	'workers: every key lies in exactly one part');
ok( $node->poll_query_until(
		'postgres', qq{
	SELECT (SELECT count(*) FROM pg_stat_activity
	         WHERE application_name = 'bulk_status job $job') = 3
	   AND (SELECT count(*) FROM files_audit) >= 6 * $batch}),
	'workers: three workers run and have committed batches');
my $victim = $node->safe_psql(
	'postgres', qq{
	SELECT pid FROM bulk_status.job_parts WHERE job = $job AND part = 1});
my $log_offset = -s $node->logfile;
ok(kill('KILL', $victim), 'workers: killed the worker of part 1');
wait_for_crash_restart($node, $log_offset);
my $audited_at_crash = $node->safe_psql('postgres',
	'SELECT count(*) FROM files_audit');
note "workers: $audited_at_crash rows changed before the crash";
cmp_ok($audited_at_crash, '<', $total3,
	'workers: the job had not finished at the crash');
check_done('workers', 'postgres', $job, $total3);
is( $node->safe_psql(
		'postgres', qq{
	SELECT string_agg(concat_ws(',', p.part, p.state, p.rows_done = s.n, p.finished IS NOT NULL),
	                  ';' ORDER BY p.part)
	  FROM bulk_status.job_parts p
	  JOIN LATERAL (SELECT count(*) AS n FROM files_audit f WHERE $in_part) s ON true
	 WHERE p.job = $job}),
	'0,done,t,t;1,done,t,t;2,done,t,t',
	'workers: each part is done and changed exactly the rows of its range');
cmp_ok(
	$node->safe_psql(
		'postgres', "SELECT min(rows_done) FROM bulk_status.job_parts WHERE job = $job"),
	'>', $total3 / 6,
	'workers: the parts shared the work');

# 6. Another database with the extension, and one without.
$node->safe_psql('postgres', 'CREATE DATABASE db2');
$node->safe_psql('postgres', 'CREATE DATABASE db3');
setup_database('db2');
reset_table($node, 'files', $total, db => 'db2', payload => 1);
$log_offset = -s $node->logfile;
$job = submit_files('db2', "batch_size => $batch");
check_done('db2', 'db2', $job, $total);
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM bulk_status.jobs WHERE database <> 'postgres'"),
	'0',
	'db2: the job is not in the jobs of another database');
# A full sweep of every database (db3 included) happens after a restart.
$node->restart;
reset_table($node, 'files', $total, db => 'db2', payload => 1);
$job = submit_files('db2', "batch_size => $batch");
check_done('db2 after a restart', 'db2', $job, $total);
ok( !$node->log_contains(
		qr/bulk_status (sweeper|launcher|job).*exited with exit code [^0]/,
		$log_offset),
	'db3: no bulk_status process failed, with or without the extension');

$node->stop;

# 7. A server without bulk_status in shared_preload_libraries.
my $plain = PostgreSQL::Test::Cluster->new('no_preload');
$plain->init;
$plain->start;
$plain->safe_psql(
	'postgres', q{
	CREATE EXTENSION bulk_status;
	CREATE TABLE t (id int PRIMARY KEY, status text NOT NULL);
	INSERT INTO t SELECT g, 'A' FROM generate_series(1, 1000) g;
	ANALYZE t;
});
my ($ret, $stdout, $stderr) = $plain->psql(
	'postgres', q{
	\set VERBOSITY verbose
	SELECT bulk_status.submit('t', 'A', 'B');
});
isnt($ret, 0, 'no preload: submit fails');
like(
	$stderr,
	qr/ERROR:  55000: bulk_status\.submit requires bulk_status in shared_preload_libraries/,
	'no preload: SQLSTATE 55000');
like($stderr, qr/HINT:  .*shared_preload_libraries/,
	'no preload: the hint names shared_preload_libraries');
is($plain->safe_psql('postgres', 'SELECT count(*) FROM bulk_status.job_state'),
	'0', 'no preload: no job recorded');
is( $plain->safe_psql(
		'postgres',
		"CALL bulk_status.transition('t', 'A', 'B', batch_size => 100)"),
	'1000',
	'no preload: CALL bulk_status.transition works');
is($plain->safe_psql('postgres', 'SELECT status, count(*) FROM t GROUP BY 1'),
	'B|1000', 'no preload: every row changed');
is( $plain->safe_psql(
		'postgres',
		'SELECT count(*), min(id), max(id) FROM bulk_status.scan(NULL::t, batch_size => 300)'
	),
	'1000|1|1000',
	'no preload: bulk_status.scan works');
is( $plain->safe_psql(
		'postgres', q{
	SELECT bulk_status.cursor_open('c', 't', NULL, 100);
	SELECT count(*), min(id), max(id) FROM bulk_status.cursor_fetch('c', NULL::t);
	SELECT count(*), min(id), max(id) FROM bulk_status.cursor_fetch('c', NULL::t);
}),
	"\n100|1|100\n100|101|200",
	'no preload: durable cursors work');
$plain->stop;

done_testing();
