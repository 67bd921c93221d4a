# bulk_status scheduled by the real pg_cron, in both of its ways of running
# a command.
#
# Two nodes, each with shared_preload_libraries = 'pg_cron,bulk_status' and
# cron.database_name = 'postgres':
#   - "bgw": cron.use_background_workers = on (pg_cron runs each command in
#     a background worker of its own);
#   - "libpq": cron.use_background_workers = off (pg_cron connects over
#     libpq; cron.host is the node's unix socket directory).
# On each, two tables fa and fb of 3,000 SYNCED rows with an audit trigger
# (one row per status change, with the transaction id), and two pg_cron
# jobs every minute:
#     SELECT bulk_status.submit('fa', 'SYNCED', 'TEMP_DELETED', ...)
#     CALL bulk_status.transition('fb', 'SYNCED', 'TEMP_DELETED', ...)
# Within ~130 s (pg_cron runs at minute boundaries) both commands have a
# 'succeeded' run in cron.job_run_details and none failed; the submitted
# job ends done; both tables have every row changed exactly once, in
# batches committed one by one (one transaction per batch: the CALL ran
# non-atomically under pg_cron).  Both cron jobs are then unscheduled.
#
# Skipped if pg_cron is not installed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use BulkStatusTest;

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
plan skip_all => "pg_cron is not installed in $pkglibdir"
  unless -f "$pkglibdir/pg_cron.so";

my $rows = 3000;
my $batch = 500;
my $batches = $rows / $batch;

my $submit_sql =
  "SELECT bulk_status.submit('fa', 'SYNCED', 'TEMP_DELETED', batch_size => $batch, sleep_ms => 20)";
my $call_sql =
  "CALL bulk_status.transition('fb', 'SYNCED', 'TEMP_DELETED', batch_size => $batch, sleep_ms => 20)";

# A node running pg_cron with or without background workers, the two
# tables, and both commands scheduled every minute.
sub make_node
{
	my ($name, $background_workers) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,bulk_status'
max_worker_processes = 20
cron.database_name = 'postgres'
cron.use_background_workers = $background_workers
});
	# Over libpq, pg_cron connects to cron.host (default localhost); the
	# test nodes listen on a unix socket only.
	$node->append_conf('postgresql.conf',
		"cron.host = '" . $node->host . "'")
	  if $background_workers eq 'off';
	$node->start;
	$node->safe_psql(
		'postgres', qq{
		CREATE EXTENSION pg_cron;
		CREATE EXTENSION bulk_status;
		CREATE TABLE audit (tab text NOT NULL, id int NOT NULL, xid bigint NOT NULL);
		CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS \$\$
		BEGIN
			INSERT INTO audit VALUES (TG_TABLE_NAME, OLD.id, txid_current());
			RETURN NULL;
		END
		\$\$;
	});
	create_filled_table($node, $_, $rows) for ('fa', 'fb');
	my $ids = $node->safe_psql(
		'postgres', qq{
		SELECT cron.schedule('* * * * *', \$cron\$$submit_sql\$cron\$);
		SELECT cron.schedule('* * * * *', \$cron\$$call_sql\$cron\$);
	});
	is(scalar(split /\n/, $ids), 2, "$name: both commands scheduled");
	return $node;
}

# Both nodes wait for the same minute boundary.
my %nodes = (
	bgw => make_node('bgw', 'on'),
	libpq => make_node('libpq', 'off'));

# Whether each scheduled command has a run that succeeded, or any run
# failed: "succeeded commands|failed runs".
my $runs_sql = q{
	SELECT count(DISTINCT d.jobid) FILTER (WHERE d.status = 'succeeded'),
	       count(*) FILTER (WHERE d.status = 'failed')
	  FROM cron.job_run_details d};

# Poll every node until both its commands succeeded or a run failed, for
# up to 130 s.
my (%runs, %over);
my $start = time;
while (time - $start < 130 && keys %over < keys %nodes)
{
	for my $name (grep { !$over{$_} } keys %nodes)
	{
		$runs{$name} = $nodes{$name}->safe_psql('postgres', $runs_sql);
		my ($succeeded, $failed) = split /\|/, $runs{$name};
		$over{$name} = 1 if $succeeded == 2 || $failed > 0;
	}
	sleep 1 if keys %over < keys %nodes;
}
note sprintf('pg_cron ran the commands within %.0f s', time - $start);

for my $name (sort keys %nodes)
{
	my $node = $nodes{$name};

	# Stop pg_cron from running them again before anything else.
	$node->safe_psql('postgres',
		'SELECT cron.unschedule(jobid) FROM cron.job ORDER BY jobid');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM cron.job'),
		'0', "$name: both commands unscheduled");

	note "$name: cron.job_run_details:\n"
	  . $node->safe_psql(
		'postgres', q{
		SELECT jobid, status, return_message, command
		  FROM cron.job_run_details ORDER BY runid});
	is($runs{$name}, '2|0',
		"$name: both commands have a succeeded run and no run failed");
	# Any failure, word for word (empty if none).
	is( $node->safe_psql(
			'postgres', q{
			SELECT string_agg(command || ': ' || return_message, E'\n')
			  FROM cron.job_run_details WHERE status = 'failed'}),
		'',
		"$name: no error from pg_cron");

	# The job submitted from pg_cron ends done (a later run, if one came
	# in before the unschedule, finds nothing left to do).
	my $job = $node->safe_psql('postgres',
		"SELECT min(id) FROM bulk_status.jobs WHERE relation = 'fa'::regclass");
	isnt($job, '', "$name: pg_cron submitted a job");
	is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '60s')"),
		'done', "$name: the submitted job ends done");
	is( $node->safe_psql(
			'postgres',
			"SELECT rows_done, error FROM bulk_status.jobs WHERE id = $job"),
		"$rows|",
		"$name: the job reports $rows rows and no error");
	is( $node->safe_psql(
			'postgres', q{
			SELECT string_agg(state, ',') FROM bulk_status.jobs
			 WHERE state <> 'done'}),
		'',
		"$name: every job submitted from pg_cron is done");

	# Every row changed exactly once, one transaction per batch.
	for my $table ('fa', 'fb')
	{
		is(statuses($node, $table), "TEMP_DELETED|$rows",
			"$name: every row of $table changed");
		is( $node->safe_psql(
				'postgres', qq{
				SELECT count(*), count(DISTINCT id), count(DISTINCT xid)
				  FROM audit WHERE tab = '$table'}),
			"$rows|$rows|$batches",
			"$name: each row of $table changed once, in $batches committed batches"
		);
	}
}

$_->stop for values %nodes;
done_testing();
