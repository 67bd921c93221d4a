
# A cursor in parts read by two consumers at once, exactly once, while the
# consumers are killed mid-batch and the server crashes and restarts.
#
# Each consumer batch is one transaction: fetch the part's next rows and
# insert their ids into "consumed", whose primary key refuses any id twice,
# then commit.  A batch whose transaction dies (its client killed, its
# backend killed and the server restarted) leaves nothing behind, and the
# part's position stays before it, so its rows are read again by the next
# consumer of that part.  At the end every id of the table is in "consumed"
# exactly once, with the part that read it, and each part's rows_fetched
# counts the committed batches only.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use BulkStatusTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = 20000;
my $batch = 500;

my $node = start_crash_node('cursor_parts');

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION bulk_status;
	CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL);
	INSERT INTO items SELECT g, repeat('x', 100) FROM generate_series(1, $rows) g;
	ANALYZE items;
	CREATE TABLE consumed (id int PRIMARY KEY, part int NOT NULL);
	SELECT bulk_status.cursor_open('grp', 'items', NULL, $batch, parts => 2);
});

# One consumer batch of part $p, committed: prints the rows it took.
sub batch_sql
{
	my ($p) = @_;
	return qq{
	BEGIN;
	WITH got AS (
	  INSERT INTO consumed
	  SELECT id, $p FROM bulk_status.cursor_fetch('grp', NULL::items, part => $p)
	  RETURNING 1)
	SELECT count(*) FROM got;
	COMMIT;};
}

# The same batch, left open: the rows are taken but not committed.
sub open_batch_sql
{
	my ($p) = @_;
	return qq{
	BEGIN;
	INSERT INTO consumed
	SELECT id, $p FROM bulk_status.cursor_fetch('grp', NULL::items, part => $p);};
}

# Committed progress: "rows consumed by part 1|by part 2|rows_fetched 1|2".
my $progress_sql = q{
	SELECT (SELECT count(*) FROM consumed WHERE part = 1),
	       (SELECT count(*) FROM consumed WHERE part = 2),
	       (SELECT rows_fetched FROM bulk_status.cursor_parts WHERE name = 'grp' AND part = 1),
	       (SELECT rows_fetched FROM bulk_status.cursor_parts WHERE name = 'grp' AND part = 2)};

# Two consumers, one per part, take turns batch by batch.
my $c1 = $node->background_psql('postgres', on_error_stop => 1);
my $c2 = $node->background_psql('postgres', on_error_stop => 1);
for (1 .. 3)
{
	is($c1->query_safe(batch_sql(1)), $batch, 'part 1: a full batch');
	is($c2->query_safe(batch_sql(2)), $batch, 'part 2: a full batch');
}
is($node->safe_psql('postgres', $progress_sql),
	join('|', 3 * $batch, 3 * $batch, 3 * $batch, 3 * $batch),
	'three batches of each part committed and counted');

# Consumer 1 dies mid-batch: its client is killed with the transaction
# open.  Consumer 2 goes on meanwhile, not waiting for part 1's lock.
my $victim = $node->background_psql('postgres', on_error_stop => 1);
my $victim_pid = $victim->query_safe('SELECT pg_backend_pid()');
$victim->query_safe(open_batch_sql(1));
is($c2->query_safe(batch_sql(2)), $batch, 'part 2 goes on while part 1 is held');
# (the consumer is psql: SIGKILL it, as a crashed client process)
my $log_offset = -s $node->logfile;
$victim->{run}->signal('KILL');
eval { $victim->{run}->finish; };
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $victim_pid"),
	'the killed client\'s backend went away');
ok( $node->log_contains(
		qr/unexpected EOF on client connection with an open transaction/, $log_offset),
	'with the batch\'s transaction open');
is($node->safe_psql('postgres', $progress_sql),
	join('|', 3 * $batch, 4 * $batch, 3 * $batch, 4 * $batch),
	'the killed batch left nothing: part 1 still at three batches');
is($c1->query_safe(batch_sql(1)), $batch, 'part 1: the next consumer takes the batch again');
$c1->quit;
$c2->quit;

# A backend killed mid-batch: the server restarts all sessions; committed
# batches stay, the open one is gone.
my $crash = $node->background_psql('postgres', on_error_stop => 1);
my $crash_pid = $crash->query_safe('SELECT pg_backend_pid()');
$crash->query_safe(open_batch_sql(2));
kill_backend($node, $crash, $crash_pid, 'mid-batch');
is($node->safe_psql('postgres', $progress_sql),
	join('|', 4 * $batch, 4 * $batch, 4 * $batch, 4 * $batch),
	'after the crash: the committed batches, not the open one');

# A clean restart in between, then both parts to the end, at once.
$node->restart;
my @consumers = map {
	my $p = $_;
	my $s = $node->background_psql('postgres', on_error_stop => 1);
	[ $p, $s ];
} (1, 2);
my %done;
my %taken = (1 => 0, 2 => 0);
while (keys %done < 2)
{
	foreach my $c (@consumers)
	{
		my ($p, $s) = @$c;
		next if $done{$p};
		my $n = $s->query_safe(batch_sql($p));
		$taken{$p} += $n;
		$done{$p} = 1 if $n == 0;
	}
}
$_->[1]->quit foreach @consumers;

is( $node->safe_psql(
		'postgres', q{
	SELECT count(*), count(DISTINCT id), min(id), max(id),
	       (SELECT count(*) FROM items i WHERE NOT EXISTS
	          (SELECT FROM consumed c WHERE c.id = i.id))
	  FROM consumed}),
	"$rows|$rows|1|$rows|0",
	'every row consumed exactly once');
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM consumed a JOIN consumed b
	    ON a.part = 1 AND b.part = 2 AND a.id >= b.id}),
	'0', 'part 1 read only keys below part 2\'s');
is( $node->safe_psql(
		'postgres', q{
	SELECT bool_and(rows_fetched = (SELECT count(*) FROM consumed c WHERE c.part = p.part))
	  FROM bulk_status.cursor_parts p WHERE name = 'grp'}),
	't', 'each part counted exactly its committed rows');
my ($p1) = $node->safe_psql('postgres',
	"SELECT count(*) FROM consumed WHERE part = 1");
cmp_ok(abs($p1 - $rows / 2), '<', $rows / 4,
	"the parts are of about equal size ($p1 of $rows in part 1)");

$node->stop;
done_testing();
