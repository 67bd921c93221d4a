
# A transition that waits while a standby's replay lag exceeds
# max_replication_lag.
#
# A primary and a streaming standby (replies every second).  Replay is
# paused on the standby: it keeps receiving WAL but applies none, and the
# primary's walsender reports a replay lag that grows with the age of the
# oldest WAL not yet applied (pg_stat_replication.replay_lag).
#   - CALL bulk_status.transition(..., max_replication_lag => '1s') commits
#     its first batches, then waits once the lag exceeds 1 s: the changed
#     rows stop growing, whole batches, and it says so once in a NOTICE.
#     When replay resumes the lag goes away and the CALL finishes; the
#     standby then sees every row changed.
#   - The same CALL without max_replication_lag, replay paused again, runs
#     to the end without waiting.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use BulkStatusTest;

my $total = 20000;
my $batch = 1000;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql(
	'postgres', qq{
	CREATE EXTENSION bulk_status;
	CREATE TABLE t (id int PRIMARY KEY, status text NOT NULL);
	INSERT INTO t SELECT g, 'A' FROM generate_series(1, $total) g;
	VACUUM ANALYZE t;
});

my $standby = start_standby($primary, 'standby');

sub count_b
{
	return $primary->safe_psql('postgres',
		"SELECT count(*) FROM t WHERE status = 'B'");
}

# Whether the primary reports a replay lag of more than 1 s.
my $lag_over_1s =
  "SELECT replay_lag > interval '1 s' FROM pg_stat_replication WHERE application_name = 'standby'";

# 1. With max_replication_lag: it waits while replay is paused.
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');

# 20 batches 200 ms apart: the lag (the age of the first batch's WAL) passes
# 1 s after about 6 of them.  Without the cap the CALL would take about 4 s.
my ($session) = background_call(
	$primary,
	"CALL bulk_status.transition('t', 'A', 'B', batch_size => $batch, sleep_ms => 200, max_replication_lag => '1s')",
	'SET bulk_status.progress_interval = 1000');
my $start = time;
ok( pump_until(
		$session->{run}, $session->{timeout}, \$session->{stderr},
		qr/waiting while a standby's replay lag \(\d+ ms\) exceeds max_replication_lag \(1000 ms\)/
	),
	'lag: the CALL says it waits for the standby');
my ($notice_lag) = $session->{stderr} =~ /replay lag \((\d+) ms\)/;
cmp_ok($notice_lag, '>', 1000, 'lag: the NOTICE gives a lag above the cap');

my $before = count_b();
sleep 3;
my $after = count_b();
note sprintf('lag: %d rows changed before the wait, after %.1f s',
	$after, time - $start);
cmp_ok($before, '>', 0, 'lag: the first batches committed');
is($after, $before, 'lag: no batch committed in 3 s of waiting');
cmp_ok($after, '<', $total, 'lag: the CALL stopped before the end');
is($after % $batch, 0, "lag: whole batches of $batch");
is($primary->safe_psql('postgres', $lag_over_1s),
	't', 'lag: pg_stat_replication.replay_lag exceeds 1 s');
note 'replay_lag: '
  . $primary->safe_psql('postgres', 'SELECT replay_lag FROM pg_stat_replication');
is( $primary->safe_psql(
		'postgres',
		"SELECT state FROM pg_stat_activity WHERE query LIKE 'CALL bulk_status.transition%'"),
	'active',
	'lag: the CALL is still running');
is(statuses($standby, 't'), "A|$total", 'lag: the standby has applied none of it');
my $notices = () = $session->{stderr} =~ /waiting while/g;
is($notices, 1, 'lag: one NOTICE for the whole wait');

# Resume replay: the lag goes away, the CALL ends.
$start = time;
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
my $out = $session->query('\echo :LAST_ERROR_SQLSTATE');
note sprintf('lag: the CALL ended %.1f s after replay resumed', time - $start);
is($out, "$total\n00000", "lag: the CALL succeeds and reports $total rows");
$session->quit;
is(statuses($primary, 't'), "B|$total", 'lag: every row changed on the primary');
$primary->wait_for_catchup($standby);
is(statuses($standby, 't'), "B|$total", 'lag: and on the standby');

# 2. Without max_replication_lag: replay paused again, no waiting.
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$start = time;
my ($ret, $stdout, $stderr) = $primary->psql(
	'postgres', qq{
	SET bulk_status.progress_interval = 1000;
	CALL bulk_status.transition('t', 'B', 'A', batch_size => $batch, sleep_ms => 200);
});
note sprintf('no cap: the CALL took %.1f s', time - $start);
is($ret, 0, 'no cap: the CALL succeeds');
is($stdout, $total, "no cap: it reports $total rows");
unlike($stderr, qr/waiting while/, 'no cap: it never waits for the standby');
is(statuses($primary, 't'), "A|$total", 'no cap: every row changed on the primary');
is($primary->safe_psql('postgres', $lag_over_1s),
	't', 'no cap: meanwhile the replay lag went past 1 s');
is(statuses($standby, 't'), "B|$total", 'no cap: the standby has applied none of it');

$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$standby->stop;
$primary->stop;
done_testing();
