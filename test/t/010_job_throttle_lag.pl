# The pacing options of a background job (bulk_status.submit): a cap on
# rows per second, a batch size that adapts to a target batch duration, and
# a wait while a streaming standby's replay lag exceeds a cap.
#
# Every table has an AFTER UPDATE trigger that writes one audit row per
# status change with the changing transaction's id and the time: each job
# must change every row exactly once (count = count(DISTINCT) = rows), and
# the audit rows of one transaction are one batch, so the batches can be
# measured exactly.
#   1. max_rows_per_sec => 2000 on 10,000 rows: the job takes at least 4.5 s
#      from started to finished, and no batch starts before the rows of the
#      batches before it were allowed by the rate; it ends done.
#   2. target_batch_ms => 50, min_batch_size 100, max_batch_size 5000:
#      a. fast batches: job_parts.batch_size, sampled while the job runs,
#         grows from the initial 500 and stays within [100, 5000]; so does
#         every committed batch;
#      b. slow batches (a statement trigger sleeps 150 ms per batch): the
#         batch size shrinks from the initial 400 down to min_batch_size
#         and never below it.
#      Both end done.
#   3. max_replication_lag => '2s' with a real streaming standby whose
#      replay is paused: the job commits its first batch, then its phase is
#      'lag_wait' and rows_done does not move for 3 s, the standby having
#      applied none of it.  Replay resumed, the job ends done and, once the
#      standby has caught up, it sees every row changed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use BulkStatusTest;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'bulk_status'
max_worker_processes = 16
});
$primary->start;
$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION bulk_status;
	-- one row per status change: which row, in which transaction, when
	CREATE TABLE audit (tab text NOT NULL, id int NOT NULL,
		xid bigint NOT NULL, at timestamptz NOT NULL);
	CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO audit VALUES (TG_TABLE_NAME, OLD.id, txid_current(), clock_timestamp());
		RETURN NULL;
	END
	$$;
	CREATE FUNCTION sample_batch_size(job_id bigint) RETURNS text
	LANGUAGE plpgsql AS $$
	DECLARE
		seen int[] := '{}';
		st text;
		size int;
		deadline timestamptz := clock_timestamp() + interval '60 s';
	BEGIN
		LOOP
			SELECT j.state, p.batch_size INTO st, size
			  FROM bulk_status.jobs j
			  LEFT JOIN bulk_status.job_parts p ON p.job = j.id
			 WHERE j.id = job_id;
			IF size IS NOT NULL AND size IS DISTINCT FROM seen[cardinality(seen)] THEN
				seen := seen || size;
			END IF;
			EXIT WHEN st NOT IN ('queued', 'running') OR clock_timestamp() > deadline;
			PERFORM pg_sleep(0.02);
		END LOOP;
		RETURN array_to_string(seen, ' ');
	END
	$$;
});

# The job ends done, every row of $table changed, each audited exactly once.
sub check_done
{
	my ($job, $table, $rows, $what) = @_;
	is($primary->safe_psql('postgres', "SELECT bulk_status.wait($job, '60s')"),
		'done', "$what: the job ends done");
	is( $primary->safe_psql(
			'postgres',
			"SELECT rows_done, error FROM bulk_status.jobs WHERE id = $job"),
		"$rows|",
		"$what: the job reports $rows rows and no error");
	is(statuses($primary, $table), "TEMP_DELETED|$rows",
		"$what: every row changed");
	is( $primary->safe_psql(
			'postgres',
			"SELECT count(*), count(DISTINCT id) FROM audit WHERE tab = '$table'"),
		"$rows|$rows",
		"$what: every row changed exactly once");
	return;
}

# The sizes of the committed batches of $table, in commit order (the audit
# rows of a transaction are one batch).
sub batch_sizes
{
	my ($table) = @_;
	return split /\n/,
	  $primary->safe_psql(
		'postgres', qq{
		SELECT count(*) FROM audit WHERE tab = '$table'
		 GROUP BY xid ORDER BY min(at)});
}

# Sample job_parts.batch_size of job $job every 20 ms until it is no
# longer queued or running; returns the values seen, in order, without
# repeats.  The sampling loop runs in the server (each statement of a
# PL/pgSQL function sees what has committed by then).
sub sample_batch_size
{
	my ($job) = @_;
	return split / /,
	  $primary->safe_psql('postgres', "SELECT sample_batch_size($job)");
}

# 1. max_rows_per_sec => 2000 on 10,000 rows.
my $rate = 2000;
my $rows = 10000;
create_filled_table($primary, 'rated', $rows);
my $job = submit($primary,
	"'rated', 'SYNCED', 'TEMP_DELETED', batch_size => 500, max_rows_per_sec => $rate"
);
check_done($job, 'rated', $rows, 'rate');
my $secs = $primary->safe_psql('postgres',
	"SELECT extract(epoch FROM finished - started) FROM bulk_status.jobs WHERE id = $job");
note "rate: the job ran for $secs s";
cmp_ok($secs, '>=', 4.5,
	"rate: $rows rows at $rate rows/s take at least 4.5 s");
cmp_ok($secs, '<', 30, 'rate: and not forever');
# Batch k may start only once the rows of batches 1 .. k-1 are allowed:
# (its first change - the first batch's) >= rows before it / rate, with
# 50 ms of slack for the clocks.
is( $primary->safe_psql(
		'postgres', qq{
		WITH b AS (SELECT xid, min(at) AS first, count(*) AS n
		             FROM audit WHERE tab = 'rated' GROUP BY xid),
		     c AS (SELECT first, sum(n) OVER (ORDER BY first) - n AS before,
		                  min(first) OVER () AS t0 FROM b)
		SELECT count(*) FROM c
		 WHERE extract(epoch FROM first - t0) < before::float8 / $rate - 0.05}),
	'0',
	'rate: no batch started ahead of the rate');

# 2a. target_batch_ms => 50 with fast batches: the batch size grows.
create_filled_table($primary, 'fast', 40000);
$job = submit($primary,
	"'fast', 'SYNCED', 'TEMP_DELETED', batch_size => 500, target_batch_ms => 50, min_batch_size => 100, max_batch_size => 5000, sleep_ms => 20"
);
my @seen = sample_batch_size($job);
note 'fast: job_parts.batch_size seen: ' . join(' ', @seen);
cmp_ok(scalar(@seen), '>=', 2, 'fast: the batch size changed while running');
is(scalar(grep { $_ < 100 || $_ > 5000 } @seen),
	0, 'fast: every sampled batch size is within [100, 5000]');
cmp_ok((sort { $b <=> $a } @seen)[0], '>', 500,
	'fast: the batch size grew from 500');
check_done($job, 'fast', 40000, 'fast');
my @sizes = batch_sizes('fast');
note 'fast: committed batches: ' . join(' ', @sizes);
is(scalar(grep { $_ > 5000 } @sizes), 0, 'fast: no batch above 5000 rows');
cmp_ok((sort { $b <=> $a } @sizes)[0], '>', 500,
	'fast: batches of more than 500 rows committed');

# 2b. target_batch_ms => 50 with slow batches: it shrinks to 100, no lower.
create_filled_table($primary, 'slow', 3000);
$primary->safe_psql(
	'postgres', q{
	CREATE FUNCTION slow_batch() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM pg_sleep(0.15);
		RETURN NULL;
	END
	$$;
	CREATE TRIGGER slow_batch AFTER UPDATE ON slow
		FOR EACH STATEMENT EXECUTE FUNCTION slow_batch();
});
$job = submit($primary,
	"'slow', 'SYNCED', 'TEMP_DELETED', batch_size => 400, target_batch_ms => 50, min_batch_size => 100, max_batch_size => 5000"
);
@seen = sample_batch_size($job);
note 'slow: job_parts.batch_size seen: ' . join(' ', @seen);
cmp_ok(scalar(@seen), '>=', 2, 'slow: the batch size changed while running');
is(scalar(grep { $_ < 100 || $_ > 5000 } @seen),
	0, 'slow: every sampled batch size is within [100, 5000]');
is($seen[-1], 100, 'slow: the batch size ends at min_batch_size');
check_done($job, 'slow', 3000, 'slow');
@sizes = batch_sizes('slow');
note 'slow: committed batches: ' . join(' ', @sizes);
is($sizes[0], 400, 'slow: the first batch has the initial 400 rows');
# the last batch takes what is left: it may be smaller
is(scalar(grep { $_ < 100 || $_ > 400 } @sizes[ 0 .. $#sizes - 1 ]),
	0, 'slow: every batch but the last within [100, 400]');
is(scalar(grep { $_ == 100 } @sizes) >= 2, 1,
	'slow: several batches of min_batch_size');

# 3. max_replication_lag => '2s' with a streaming standby.
my $total = 20000;
my $batch = 1000;
create_filled_table($primary, 'lagged', $total);
my $standby = start_standby($primary, 'standby');
is(statuses($standby, 'lagged'), "SYNCED|$total", 'lag: the standby is in sync');

# Pause replay, then write some WAL the standby receives but does not
# apply: the replay lag the primary sees grows past 2 s.
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$primary->safe_psql('postgres',
	'CREATE TABLE filler AS SELECT g FROM generate_series(1, 1000) g');
ok( $primary->poll_query_until(
		'postgres',
		"SELECT replay_lag > interval '2 s' FROM pg_stat_replication WHERE application_name = 'standby'"
	),
	'lag: the replay lag exceeds 2 s');

# 20 batches 100 ms apart: about 2 s of work without the cap.
$job = submit($primary,
	"'lagged', 'SYNCED', 'TEMP_DELETED', batch_size => $batch, sleep_ms => 100, max_replication_lag => '2s'"
);
ok( $primary->poll_query_until(
		'postgres',
		"SELECT phase = 'lag_wait' FROM bulk_status.jobs WHERE id = $job"),
	"lag: the job's phase is lag_wait");
my $rows_sql = "SELECT rows_done FROM bulk_status.jobs WHERE id = $job";
my $before = $primary->safe_psql('postgres', $rows_sql);
sleep 3;
my $after = $primary->safe_psql('postgres', $rows_sql);
note "lag: rows_done $before, 3 s later $after";
cmp_ok($before, '>', 0, 'lag: the first batch committed');
is($after, $before, 'lag: rows_done does not grow for 3 s');
is($after % $batch, 0, "lag: whole batches of $batch");
is( $primary->safe_psql(
		'postgres',
		"SELECT state, phase FROM bulk_status.jobs WHERE id = $job"),
	'running|lag_wait',
	'lag: the job is still running and waiting for the standby');
is( $primary->safe_psql(
		'postgres', "SELECT count(*) FROM audit WHERE tab = 'lagged'"),
	$after, 'lag: the audit agrees with rows_done');
is(statuses($standby, 'lagged'), "SYNCED|$total",
	'lag: the standby has applied none of it');

# Resume replay: the lag goes away and the job finishes.
my $start = time;
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
check_done($job, 'lagged', $total, 'lag');
note sprintf('lag: the job ended %.1f s after replay resumed', time - $start);
$primary->wait_for_catchup($standby);
is(statuses($standby, 'lagged'), "TEMP_DELETED|$total",
	'lag: the standby has every row changed');

$standby->stop;
$primary->stop;
done_testing();
