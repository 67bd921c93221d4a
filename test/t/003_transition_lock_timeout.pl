
# CALL bulk_status.transition with lock_timeout_ms against a lock that is
# never released: each batch waits at most lock_timeout_ms, is retried
# max_retries times with backoff, and then the CALL fails with SQLSTATE 55P03
# (lock_not_available).  The batches before the locked row stay committed,
# and the caller's own lock_timeout setting is left as it was.  (The
# isolation spec transition_locked_rows shows the same from the outside; its
# output does not carry the SQLSTATE.)

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('transition_lock_timeout');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION bulk_status;
	CREATE TABLE t (id int PRIMARY KEY, status text NOT NULL);
	INSERT INTO t SELECT g, 'SYNCED' FROM generate_series(1, 100) g;
});

# Another session locks row 35 (in the fourth batch of 10) and keeps it.
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN');
is($locker->query_safe('SELECT id FROM t WHERE id = 35 FOR UPDATE'),
	'35', 'row 35 locked by another session');

my $start = time();
my ($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
	\set VERBOSITY verbose
	SET bulk_status.progress_interval = 0;
	SET lock_timeout = '7s';
	CALL bulk_status.transition('t', 'SYNCED', 'TEMP_DELETED', batch_size => 10,
	                            lock_timeout_ms => 50, max_retries => 2);
	SHOW lock_timeout;
}, on_error_stop => 0);
my $elapsed = time() - $start;
note "stderr: $stderr";
note sprintf('the failing CALL took %.3f s', $elapsed);

like($stderr, qr/ERROR:/, 'the CALL fails while the lock is held');
like($stderr, qr/ERROR:\s+55P03:/, 'with SQLSTATE 55P03');
cmp_ok($elapsed, '>=', 0.15,
	'after the first attempt and two retries of 50 ms each');
cmp_ok($elapsed, '<', 30, 'and not after waiting for the lock for good');
is($stdout, '7s', "the caller's lock_timeout is left as it was");

is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FILTER (WHERE status = 'TEMP_DELETED'),
	       max(id) FILTER (WHERE status = 'TEMP_DELETED')
	  FROM t}),
	'30|30',
	'the three batches before the locked row stay committed');

# Once the lock is gone, the same CALL finishes the rest.
$locker->query_safe('ROLLBACK');
$locker->quit;

is( $node->safe_psql(
		'postgres', q{
	SET bulk_status.progress_interval = 0;
	CALL bulk_status.transition('t', 'SYNCED', 'TEMP_DELETED', batch_size => 10,
	                            lock_timeout_ms => 50, max_retries => 2);
	SHOW lock_timeout;
}),
	"70\n0",
	'without the lock the CALL changes the other 70 rows and leaves lock_timeout alone');
is($node->safe_psql('postgres', q{SELECT count(*) FROM t WHERE status = 'TEMP_DELETED'}),
	'100', 'every row transitioned');

$node->stop;
done_testing();
