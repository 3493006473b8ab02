# 011_hnsw_vacuum_inserts.pl: INSERTs proceed while VACUUM repairs an hnsw
# index (issue 10, item 6).
#
# VACUUM of an hnsw index drops dead heap TIDs, then repairs the graph
# around the deleted elements, then frees them. It used to hold the
# index's update lock exclusively through the whole repair, naps of
# vacuum_delay_point() included, and every INSERT takes that lock in share
# mode: inserts waited for the repair to end. A VACUUM made slow with
# vacuum_cost_delay and vacuum_cost_limit = 1 (it naps at every page)
# runs in a background session over an index with half its rows deleted.
#
#  1. One session inserts rows one at a time with lock_timeout = 2s, for
#     as long as the VACUUM is in its 'vacuuming indexes' phase (seen in
#     pg_stat_progress_vacuum before and after each INSERT). Every INSERT
#     must succeed. Before the fix the repair, longer than lock_timeout,
#     made an INSERT fail with "canceling statement due to lock timeout".
#  2. pgbench, 4 clients with the same lock_timeout, inserts during a
#     second slow VACUUM: no transaction may fail.
#
# After each VACUUM vecdb_index_check must find the index sound (every
# link names a live element, every live element is reachable, every row
# of the table is in the index) and the table must hold every row
# inserted. No timing is asserted except through lock_timeout.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $dims = 8;
# A random vector; each row of a multi-row INSERT gets its own through the
# reference to the outer query's i.
my $vector = "ARRAY(SELECT random() FROM generate_series(1, $dims) WHERE i > 0)::real[]::vector";

my $node = PostgreSQL::Test::Cluster->new('node');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', qq{
CREATE EXTENSION vecdb;
CREATE TABLE t (id serial PRIMARY KEY, v vector($dims) NOT NULL);
SELECT setseed(0.11);
INSERT INTO t (v) SELECT $vector FROM generate_series(1, 3000) i;
CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops);
});

# Start a slow VACUUM of t in a session of its own; returns the session
# and the VACUUM's pid once it is vacuuming the index.
sub start_slow_vacuum
{
	my $vacuum = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $vacuum->query_safe('SELECT pg_backend_pid()');
	$vacuum->query_safe("SET vacuum_cost_delay = '10ms'; SET vacuum_cost_limit = 1");
	$vacuum->{stdin} .= "VACUUM t;\n";
	$vacuum->{run}->pump_nb();
	$node->poll_query_until('postgres',
		"SELECT phase = 'vacuuming indexes' FROM pg_stat_progress_vacuum WHERE pid = $pid")
	  or die 'VACUUM never reached its index phase';
	return ($vacuum, $pid);
}

# Wait for the VACUUM of start_slow_vacuum to end; its stderr.
sub finish_vacuum
{
	my ($vacuum) = @_;
	$vacuum->query('SELECT 1');
	my $err = $vacuum->{stderr};
	$vacuum->quit;
	return $err;
}

sub check_sound
{
	my ($when, $rows) = @_;
	is($node->safe_psql('postgres', q{SELECT count(*) FROM vecdb_index_check('t_v')}),
		'0', "$when: vecdb_index_check finds the index sound");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), $rows, "$when: no row is lost");
}

# --- 1. one inserting session during a slow VACUUM
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 2 = 0');
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
my ($vacuum, $pid) = start_slow_vacuum();

my $insert = $node->background_psql('postgres', on_error_stop => 0);
$insert->query_safe("SET lock_timeout = '2s'");
my $phase_sql = "SELECT coalesce((SELECT phase FROM pg_stat_progress_vacuum WHERE pid = $pid), 'done')";
my ($during, $error) = (0, '');
while (1)
{
	my ($out, $failed) = $insert->query("$phase_sql; INSERT INTO t (v) SELECT $vector FROM (VALUES (1)) s(i); $phase_sql");
	if ($failed)
	{
		$error = $insert->{stderr};
		last;
	}
	$rows++;
	my @phases = split /\n/, $out;
	$during++ if $phases[0] eq 'vacuuming indexes' && $phases[-1] eq 'vacuuming indexes';
	last if $phases[-1] ne 'vacuuming indexes';
	usleep(50_000);    # a few hundred rows, not thousands, for the VACUUM to meet
}
is($error, '', 'every INSERT during the VACUUM succeeds within lock_timeout');
cmp_ok($during, '>', 0, "INSERTs ran while VACUUM vacuumed the index ($during of them)");
$insert->quit;
is(finish_vacuum($vacuum), '', 'the VACUUM succeeds');
check_sound('after VACUUM with one inserting session', $rows);

# --- 2. pgbench inserting during a second slow VACUUM
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 3 = 0');
$rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
($vacuum, $pid) = start_slow_vacuum();
$node->pgbench(
	'-n -c 4 -j 2 -t 40',
	0,
	[qr/number of failed transactions: 0 \(0\.000%\)/],
	[qr/^$/],
	'pgbench inserts during the VACUUM with no failed transaction',
	{ 'insert' => "SET lock_timeout = '2s';\nINSERT INTO t (v) SELECT $vector FROM (VALUES (1)) s(i);\n" });
$rows += 160;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_progress_vacuum WHERE pid = $pid"),
	'1', 'the VACUUM was still running when pgbench ended');
is(finish_vacuum($vacuum), '', 'the second VACUUM succeeds');
check_sound('after VACUUM with pgbench inserting', $rows);

# --- and a plain VACUUM afterwards finds nothing left to repair wrongly
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 5 = 0');
$rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
$node->safe_psql('postgres', 'VACUUM t');
check_sound('after a third VACUUM', $rows);

$node->stop;
done_testing();
