
# Durable cursors across disconnects, a clean restart and a crash.
#
# A cursor's position lives in bulk_status.cursor_state and moves in the
# fetching transaction, so after any of these the next fetch continues after
# the last committed fetch: a fetch whose transaction was still open when the
# server crashed does not count.  A cursor whose table was dropped fails to
# fetch, and can still be closed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cursor_restart');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION bulk_status;
	CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL);
	INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g;
	SELECT bulk_status.cursor_open('c1', 'items', NULL, 10);
});

# One fetch of the cursor's batch, summarised as "first|last|count".
my $fetch_sql = q{
	SELECT min(id), max(id), count(*)
	  FROM bulk_status.cursor_fetch('c1', NULL::items)};

# What the cursors view says about c1, as "position|rows_fetched".
my $state_sql = q{
	SELECT position, rows_fetched FROM bulk_status.cursors WHERE name = 'c1'};

# Two fetches in one session, then disconnect.
my $session = $node->background_psql('postgres');
is($session->query_safe($fetch_sql), '1|10|10', 'first fetch');
is($session->query_safe($fetch_sql), '11|20|10', 'second fetch, same session');
$session->quit;

is($node->safe_psql('postgres', $fetch_sql),
	'21|30|10', 'a new session continues where the old one stopped');
is($node->safe_psql('postgres', $state_sql),
	'{30}|30', 'the view shows the position and the rows fetched');

# A fetch that rolls back does not move the cursor.
is( $node->safe_psql(
		'postgres', qq{
	BEGIN;
	$fetch_sql;
	ROLLBACK;
	$fetch_sql;
}),
	"31|40|10\n31|40|10",
	'a rolled-back fetch is fetched again');

$node->restart;
is($node->safe_psql('postgres', $fetch_sql),
	'41|50|10', 'the position survives a clean restart');

# Crash while a fetch is inside an open transaction: after recovery the
# cursor is at the last committed position.
$session = $node->background_psql('postgres', on_error_stop => 0);
$session->query_safe('BEGIN');
is($session->query_safe($fetch_sql),
	'51|60|10', 'fetch in a transaction that will never commit');
is($session->query_safe($state_sql),
	'{60}|60', 'the open transaction sees its own new position');
is($node->safe_psql('postgres', $state_sql),
	'{50}|50', 'other sessions still see the committed position');

$node->stop('immediate');
# The psql of the open transaction lost its server; just reap it.
eval { $session->quit; };
$node->start;

is($node->safe_psql('postgres', $state_sql),
	'{50}|50', 'after the crash the position is the last committed one');
is($node->safe_psql('postgres', $fetch_sql),
	'51|60|10', 'the uncommitted fetch is fetched again after the crash');

# Read to the end: the last batch, then nothing.
is( $node->safe_psql(
		'postgres', q{
	SELECT min(id), max(id), count(*)
	  FROM bulk_status.cursor_fetch('c1', NULL::items, 1000)}),
	'61|100|40',
	'max_rows fetches the rest');
is($node->safe_psql('postgres', $fetch_sql),
	'||0', 'an exhausted cursor returns no rows');
is($node->safe_psql('postgres', $state_sql),
	'{100}|100', 'every row was fetched exactly once');

# A cursor whose table is dropped: fetching fails, closing works.
$node->safe_psql(
	'postgres', q{
	CREATE TABLE doomed (id int PRIMARY KEY, payload text NOT NULL);
	INSERT INTO doomed SELECT g, 'doomed ' || g FROM generate_series(1, 10) g;
	SELECT bulk_status.cursor_open('c2', 'doomed', NULL, 5);
});
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM bulk_status.cursor_fetch('c2', NULL::doomed)}),
	'5',
	'fetch from the table before it is dropped');
$node->safe_psql('postgres', 'DROP TABLE doomed');

# Ask for the rows with the row type of a table that still exists: the
# cursor's own table is gone, so there is nothing it may return.
my ($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
	SELECT count(*) FROM bulk_status.cursor_fetch('c2', NULL::items)});
isnt($ret, 0, 'fetch from a cursor whose table was dropped fails');
like($stderr, qr/ERROR/, 'with an error');
note "error: $stderr";

$node->safe_psql('postgres', q{SELECT bulk_status.cursor_close('c2')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM bulk_status.cursors}),
	'1', 'the cursor of the dropped table can be closed');

# And the surviving cursor still survives a restart after all of this.
$node->restart;
is($node->safe_psql('postgres', $state_sql),
	'{100}|100', 'state intact after a second restart');

$node->stop;
done_testing();
