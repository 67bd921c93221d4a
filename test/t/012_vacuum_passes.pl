
# Vacuum passes behind a run (src/vacuum.c): when a run has left
# vacuum_threshold rows dead on the table it walks, a helper background
# worker vacuums that table (the leaf, for a partitioned table walked leaf
# by leaf) as the run's role, while the run goes on.  Autovacuum is off on
# this node, so every vacuum counted below is one of the run's.
#
#   1. CALL on two identical key-ordered tables, a dense transition of
#      60,000 rows: with vacuum_threshold => 6000 the table is vacuumed
#      during the run and grows less than half as much as with
#      vacuum_threshold => 0, which doubles it and is never vacuumed.
#   2. A partitioned table walked leaf by leaf: each leaf is vacuumed.
#   3. A role that may not vacuum the table (not its owner, no MAINTAIN):
#      its CALL says once why there are no passes, and changes every row;
#      from PostgreSQL 17 on, with MAINTAIN granted, its passes run.
#   4. A job: bulk_status.jobs shows its passes and their time; the job of
#      that role ends done, and job_parts.vacuum_note says why it had none.
#   5. Cancel while a (slowed) vacuum pass runs: the job is cancelled within
#      2 s.
#   6. Exactly once with passes: the job's worker is killed (SIGKILL) mid-
#      job; after the crash restart the job resumes and ends done, with
#      every row changed exactly once (audit trigger).
#   7. This library with the extension at 0.2.0 (before ALTER EXTENSION
#      UPDATE): a job runs, survives the update and ends done, exactly once.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BulkStatusTest;

my $node = PostgreSQL::Test::Cluster->new('vacuum_passes');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'bulk_status'
max_worker_processes = 16
autovacuum = off
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION bulk_status');

# A key-ordered table of $rows rows, all 'A', vacuumed (so its visibility
# map is set, as a table that has been there a while).
sub make_table
{
	my ($table, $rows) = @_;
	$node->safe_psql(
		'postgres', qq{
		DROP TABLE IF EXISTS $table;
		CREATE TABLE $table (id int PRIMARY KEY, status text NOT NULL, pad text);
		CREATE INDEX ON $table (status);
		INSERT INTO $table SELECT g, 'A', repeat('x', 40) FROM generate_series(1, $rows) g;
		VACUUM ANALYZE $table;
	});
	return;
}

# Manual vacuums of $table so far (what the helpers did), once every
# helper has ended and reported.
sub vacuums
{
	my ($table) = @_;
	$node->poll_query_until('postgres',
		"SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'bulk_status vacuum')"
	) or die 'a vacuum helper did not end';
	return $node->safe_psql('postgres',
		"SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = '$table'");
}

# 1. CALL with and without passes.
make_table('with_passes', 60000);
make_table('without_passes', 60000);
my (%growth, %passes);
for my $case ([ 'with_passes', 6000 ], [ 'without_passes', 0 ])
{
	my ($table, $threshold) = @$case;
	my $before = $node->safe_psql('postgres', "SELECT pg_relation_size('$table')");
	my $vacuums = vacuums($table);
	$node->safe_psql('postgres',
		"CALL bulk_status.transition('$table', 'A', 'B', batch_size => 1000, sleep_ms => 20, vacuum_threshold => $threshold)"
	);
	my $after = $node->safe_psql('postgres', "SELECT pg_relation_size('$table')");
	$growth{$table} = ($after - $before) / $before;
	$passes{$table} = vacuums($table) - $vacuums;
	note sprintf('%s: heap %d -> %d bytes (%+.0f%%), %d vacuums',
		$table, $before, $after, 100 * $growth{$table}, $passes{$table});
	is($node->safe_psql('postgres', "SELECT count(*) FROM $table WHERE status = 'B'"),
		'60000', "call $table: every row changed");
}
cmp_ok($passes{with_passes}, '>=', 2, 'call: the table was vacuumed during the run');
is($passes{without_passes}, 0, 'call: vacuum_threshold => 0 starts no pass');
cmp_ok($growth{without_passes}, '>', 0.8, 'call: without passes the heap about doubles');
cmp_ok($growth{with_passes}, '<', $growth{without_passes} / 2,
	'call: with passes it grows less than half as much');

# 2. A partitioned table, walked leaf by leaf.
$node->safe_psql(
	'postgres', q{
	CREATE TABLE pt (id int PRIMARY KEY, status text NOT NULL) PARTITION BY RANGE (id);
	CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (20001);
	CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (20001) TO (40001);
	INSERT INTO pt SELECT g, 'A' FROM generate_series(1, 40000) g;
	VACUUM ANALYZE pt;
});
my $pt_before = vacuums('pt1') . ',' . vacuums('pt2');
$node->safe_psql('postgres',
	"CALL bulk_status.transition('pt', 'A', 'B', batch_size => 1000, sleep_ms => 10, vacuum_threshold => 4000)"
);
my ($pt1, $pt2) = (vacuums('pt1'), vacuums('pt2'));
note "partitioned: leaf vacuums before $pt_before, after $pt1,$pt2";
cmp_ok($pt1, '>', (split /,/, $pt_before)[0], 'partitioned: leaf pt1 was vacuumed');
cmp_ok($pt2, '>', (split /,/, $pt_before)[1], 'partitioned: leaf pt2 was vacuumed');

# 3. A role that may not vacuum the table.
$node->safe_psql(
	'postgres', q{
	CREATE ROLE vera LOGIN;
	CREATE TABLE vt (id int PRIMARY KEY, status text NOT NULL);
	INSERT INTO vt SELECT g, 'A' FROM generate_series(1, 20000) g;
	GRANT SELECT, UPDATE ON vt TO vera;
});
my ($ret, $stdout, $stderr) = $node->psql(
	'postgres',
	"CALL bulk_status.transition('vt', 'A', 'B', batch_size => 1000, vacuum_threshold => 2000)",
	extra_params => [ '-U', 'vera' ]);
is($ret, 0, 'no rights: the CALL succeeds');
my @notes = $stderr =~ /NOTICE:\s+no vacuum passes on public\.vt: ([^\n]*)/g;
is(scalar(@notes), 1, 'no rights: the CALL says once why there are no passes');
note "no rights: $notes[0]" if @notes;
is(vacuums('vt'), '0', 'no rights: no pass ran');
is($node->safe_psql('postgres', "SELECT count(*) FROM vt WHERE status = 'B'"),
	'20000', 'no rights: every row changed');

# From PostgreSQL 17 on, MAINTAIN on the table is enough.
if ($node->pg_version >= 17)
{
	$node->safe_psql('postgres', "GRANT MAINTAIN ON vt TO vera; UPDATE vt SET status = 'A'");
	my $before = vacuums('vt');
	($ret, $stdout, $stderr) = $node->psql(
		'postgres',
		"CALL bulk_status.transition('vt', 'A', 'B', batch_size => 1000, sleep_ms => 10, vacuum_threshold => 2000)",
		extra_params => [ '-U', 'vera' ]);
	is($ret, 0, 'MAINTAIN (17+): the CALL succeeds');
	unlike($stderr, qr/no vacuum passes/, 'MAINTAIN (17+): no note');
	cmp_ok(vacuums('vt') - $before, '>=', 1, 'MAINTAIN (17+): passes ran as vera');
	$node->safe_psql('postgres', 'REVOKE MAINTAIN ON vt FROM vera');
}

# 4. Jobs.
make_table('jt', 60000);
my $jt_vacuums = vacuums('jt');
my $job = submit($node,
	"'jt', 'A', 'B', batch_size => 1000, sleep_ms => 10, vacuum_threshold => 6000");
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '120 s')"),
	'done', 'job: done');
my ($passes, $vtime) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT vacuum_passes, extract(epoch FROM vacuum_time) > 0 FROM bulk_status.jobs WHERE id = $job");
cmp_ok($passes, '>=', 2, 'job: bulk_status.jobs shows its vacuum passes');
is($vtime, 't', 'job: and the time they took');
cmp_ok(vacuums('jt') - $jt_vacuums, '>=', 2, 'job: the table was vacuumed');

$node->safe_psql('postgres', "UPDATE vt SET status = 'A'");
$job = submit($node, "'vt', 'A', 'B', batch_size => 1000, vacuum_threshold => 2000",
	role => 'vera');
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '120 s')"),
	'done', 'job, no rights: done');
like(
	$node->safe_psql('postgres', "SELECT vacuum_note FROM bulk_status.job_parts WHERE job = $job"),
	qr/^no vacuum passes on public\.vt: \S/,
	'job, no rights: job_parts.vacuum_note says why there were no passes');

# 5. Cancel while a vacuum pass runs (slowed down for vera's helpers).
$node->safe_psql(
	'postgres', q{
	ALTER TABLE vt OWNER TO vera;
	ALTER ROLE vera SET vacuum_cost_delay = '100ms';
	ALTER ROLE vera SET vacuum_cost_limit = 1;
	UPDATE vt SET status = 'A';
});
$job = submit($node,
	"'vt', 'A', 'B', batch_size => 500, sleep_ms => 100, vacuum_threshold => 1000",
	role => 'vera');
ok( $node->poll_query_until(
		'postgres',
		"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'bulk_status vacuum')"),
	'cancel: a vacuum pass runs');
my $start = time;
$node->safe_psql('postgres', "SELECT bulk_status.cancel($job)");
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '10 s')"),
	'cancelled', 'cancel: the job is cancelled');
my $took = time - $start;
cmp_ok($took, '<', 2, 'cancel: within 2 s');
note sprintf('cancel took %.2f s', $took);
$node->safe_psql(
	'postgres', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'bulk_status vacuum';
	ALTER ROLE vera RESET ALL;
});

# 6. Exactly once across a crash, with passes.
create_audited_table($node, 'ct');
reset_table($node, 'ct', 40000);
$job = submit($node,
	"'ct', 'SYNCED', 'DONE', batch_size => 500, sleep_ms => 20, vacuum_threshold => 2000");
ok( $node->poll_query_until(
		'postgres',
		"SELECT vacuum_passes >= 1 AND rows_done >= 10000 FROM bulk_status.jobs WHERE id = $job"),
	'crash: the job ran batches and vacuum passes');
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'bulk_status job'");
my $log_offset = -s $node->logfile;
ok(kill('KILL', $pid), 'crash: killed the job worker');
wait_for_crash_restart($node, $log_offset);
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '120 s')"),
	'done', 'crash: the job resumed and ended done');
is( $node->safe_psql(
		'postgres', "SELECT count(*), count(DISTINCT id) FROM ct_audit WHERE new_status = 'DONE'"),
	'40000|40000',
	'crash: every row changed exactly once');
is($node->safe_psql('postgres', "SELECT count(*) FROM ct WHERE status = 'DONE'"),
	'40000', 'crash: none left behind');

# 7. This library with the extension still at 0.2.0 (installed, but before
# ALTER EXTENSION bulk_status UPDATE): a job runs to its end, with the
# options and columns 0.2.0 has, and keeps running across the update.
$node->safe_psql(
	'postgres', q{
	DROP EXTENSION bulk_status;
	CREATE EXTENSION bulk_status VERSION '0.2.0';
});
reset_table($node, 'ct', 20000);
$job = submit($node, "'ct', 'SYNCED', 'DONE', batch_size => 500, sleep_ms => 20");
ok( $node->poll_query_until(
		'postgres', "SELECT rows_done >= 5000 FROM bulk_status.jobs WHERE id = $job"),
	'0.2.0: the job runs');
$node->safe_psql('postgres', "ALTER EXTENSION bulk_status UPDATE TO '0.3.0'");
is($node->safe_psql('postgres', "SELECT bulk_status.wait($job, '120 s')"),
	'done', '0.2.0: the job ends done after ALTER EXTENSION UPDATE');
is( $node->safe_psql(
		'postgres', "SELECT count(*), count(DISTINCT id) FROM ct_audit WHERE new_status = 'DONE'"),
	'20000|20000',
	'0.2.0: every row changed exactly once');

$node->stop;
done_testing();
