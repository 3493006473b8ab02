# 031_tier_crash.pl: a crash at any point of a hot-tier merge loses no row
# and never returns a row twice (issue 11).
#
# Two small tables of 4-dimension vectors, one with an hnsw index and one
# with an ivfpq index (4 lists), both streaming, 300 seeded rows each built
# in. vecdb.hot_tier_max_rows is 20 for every session, so inserts run into
# back-pressure and merge batches themselves all the time. Each of 20
# rounds:
#
#   - pgbench (3 clients) inserts single rows into both tables, and now and
#     then deletes one of its own recent rows (hot ones, mostly);
#   - a second pgbench calls vecdb_merge on both indexes, and now and then
#     VACUUMs the tables (which merges too);
#   - one more session inserts rows one at a time into both tables and
#     notes each id whose commit it saw acknowledged;
#   - after a random time (seeded: the seed is printed) the server is
#     stopped in immediate mode, in the middle of all of that, and started
#     again: recovery replays the tier's WAL.
#
# Then, for each table:
#   - vecdb_index_check returns no row;
#   - an index scan that can return every row (hnsw: relaxed_order
#     iterative scan with no bound on the tuples it visits; ivfpq: every
#     list probed) returns each row of the table exactly once: the multiset
#     of ids it returns equals the set a sequential scan returns. So every
#     acknowledged row (all of them are in the table: checked) is found
#     exactly once, and a row whose INSERT was in flight is found at most
#     once (exactly once if it committed);
#   - the same after a vecdb_merge of what the crash left hot (a row merged
#     before the crash and still unmerged in the tier would come twice).
# And no server process crashed.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(find_pgbench);

my $rounds = 20;
my $dims = 4;
my $cap = 20;
my $seed = $ENV{VECDB_TEST_SEED} // 31031;
srand($seed);
note "seed $seed (VECDB_TEST_SEED replays a run)";

my $random_vector = "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims))::real[]::vector";

my $node = PostgreSQL::Test::Cluster->new('tier_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 30
autovacuum = off
vecdb.hot_tier_max_rows = $cap
log_min_messages = warning
});
$node->start;

my %index_of = (th => 'th_idx', ti => 'ti_idx');
my @tables = sort keys %index_of;
my %broken;    # tables found wrong: not checked again

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
for my $t (@tables)
{
	# src 1: the tracked session's rows (never deleted); 0: pgbench's
	$node->safe_psql('postgres',
		"CREATE TABLE $t (id bigserial PRIMARY KEY, src int NOT NULL DEFAULT 0, v vector($dims) NOT NULL)");
	$node->safe_psql('postgres', "SELECT setseed(0.31); INSERT INTO $t (v) SELECT "
		  . "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) WHERE i > 0)::real[]::vector"
		  . ' FROM generate_series(1, 300) i');
}
$node->safe_psql('postgres', 'CREATE INDEX th_idx ON th USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', 'CREATE INDEX ti_idx ON ti USING ivfpq (v vector_l2_ops) WITH (lists = 4, m = 2)');
is($node->safe_psql('postgres', q{SELECT string_agg(rows::text, ',') FROM
	(SELECT (vecdb_hot_tier(i)).rows FROM unnest('{th_idx,ti_idx}'::regclass[]) i) s}),
	'0,0', 'the built indexes have no hot row');

my $tmp = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$tmp/insert.sql",
	"INSERT INTO th (v) SELECT $random_vector;\nINSERT INTO ti (v) SELECT $random_vector;\n");
PostgreSQL::Test::Utils::append_to_file("$tmp/delete.sql",
	"DELETE FROM th WHERE id = (SELECT max(id) - 3 FROM th) AND src = 0;\n"
	  . "DELETE FROM ti WHERE id = (SELECT max(id) - 3 FROM ti) AND src = 0;\n");
PostgreSQL::Test::Utils::append_to_file("$tmp/merge.sql",
	"SELECT vecdb_merge('th_idx');\nSELECT vecdb_merge('ti_idx');\n");
PostgreSQL::Test::Utils::append_to_file("$tmp/vacuum.sql", "VACUUM th;\nVACUUM ti;\n");

sub start_pgbench
{
	my ($out, $err, @args) = @_;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = 'postgres';
	return IPC::Run::start([ find_pgbench(), '-n', '-T', '60', @args ],
		'>', $out, '2>', $err, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
}

# the ids an index scan of $t returns, run to its end, and those a
# sequential scan returns
sub scan_ids
{
	my ($t) = @_;
	my $index_ids = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SET vecdb.hnsw_iterative_scan = relaxed_order; SET vecdb.hnsw_max_scan_tuples = 2000000000;
		SET vecdb.ivfpq_probes = 4; SET vecdb.ivfpq_iterative_scan = relaxed_order;
		SELECT id FROM $t ORDER BY v <-> '[0,0,0,0]' LIMIT 100000000});
	my $plan = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM $t ORDER BY v <-> '[0,0,0,0]' LIMIT 100000000});
	die "not an index scan of $index_of{$t}: $plan" unless $plan =~ /Index Scan using $index_of{$t}/;
	my $heap_ids = $node->safe_psql('postgres', qq{
		SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT id FROM $t});
	return ([ split /\n/, $index_ids ], [ split /\n/, $heap_ids ]);
}

# Each row of $t is returned once by the index scan; returns how many
# acknowledged rows are missing from the index's answer (and reports).
sub check_exactly_once
{
	my ($t, $acked, $when) = @_;
	my ($from_index, $from_heap) = scan_ids($t);
	my %count;
	$count{$_}++ for @$from_index;
	my %in_heap = map { $_ => 1 } @$from_heap;
	my @twice = grep { $count{$_} > 1 } sort { $a <=> $b } keys %count;
	my @missing = grep { !$count{$_} } sort { $a <=> $b } keys %in_heap;
	my @ghosts = grep { !$in_heap{$_} } sort { $a <=> $b } keys %count;
	my @acked_missing = grep { !$count{$_} } @$acked;
	my @acked_lost = grep { !$in_heap{$_} } @$acked;
	my $ok = @twice == 0 && @missing == 0 && @ghosts == 0 && @acked_missing == 0 && @acked_lost == 0;
	ok($ok, "$when: $t: the index returns each of its " . scalar(@$from_heap)
		  . ' rows exactly once (' . scalar(@$acked) . ' acknowledged)')
	  or diag "$t: returned twice: @twice[0 .. ($#twice < 20 ? $#twice : 19)]; "
	  . "not returned: @missing[0 .. ($#missing < 20 ? $#missing : 19)] (" . scalar(@missing) . '); '
	  . "not in the table: @ghosts[0 .. ($#ghosts < 20 ? $#ghosts : 19)]; "
	  . "acknowledged and lost from the table: @acked_lost; acknowledged, not returned: @acked_missing; "
	  . 'the newest id in the table: ' . $node->safe_psql('postgres', "SELECT max(id) FROM $t");
	return $ok;
}

sub check_sound
{
	my ($when) = @_;
	for my $t (grep { !$broken{$_} } @tables)
	{
		my $problems = $node->safe_psql('postgres',
			"SELECT blkno, offnum, problem FROM vecdb_index_check('$index_of{$t}') LIMIT 10");
		is($problems, '', "$when: vecdb_index_check('$index_of{$t}') finds no problem");
	}
}

my %acked = map { $_ => [] } @tables;
for my $round (1 .. $rounds)
{
	my ($ins_out, $ins_err, $mrg_out, $mrg_err) = ('', '', '', '');
	my $inserts = start_pgbench(\$ins_out, \$ins_err, '-c', '3', '-j', '3', '-R', '600',
		'-f', "$tmp/insert.sql\@20", '-f', "$tmp/delete.sql\@2");
	my $merges = start_pgbench(\$mrg_out, \$mrg_err, '-c', '1', '-R', '100',
		'-f', "$tmp/merge.sql\@10", '-f', "$tmp/vacuum.sql\@1");

	my $session = $node->background_psql('postgres', on_error_stop => 0);
	my $crash_after = 0.3 + rand(2.2);
	my $started = time();
	my $error = '';
	my $n = 0;
	while (time() - $started < $crash_after)
	{
		my $t = $tables[ $n++ % 2 ];
		my ($id, $failed) = $session->query("INSERT INTO $t (src, v) SELECT 1, $random_vector RETURNING id");
		if ($failed) { $error = $session->{stderr}; last; }
		chomp $id;
		push @{ $acked{$t} }, $id if $id =~ /^\d+$/;
	}
	is($error, '', "round $round: the tracked inserts succeed until the crash");
	ok($inserts->pumpable && $merges->pumpable, "round $round: pgbench still runs at the crash");
	my $hot = $node->safe_psql('postgres', q{SELECT string_agg(h.rows || '/' || h.merged, ' ') FROM
		unnest('{th_idx,ti_idx}'::regclass[]) i, LATERAL vecdb_hot_tier(i) h});
	note sprintf('round %d: crash after %.2f s; hot/merged: %s', $round, $crash_after, $hot);

	$node->stop('immediate');
	eval { $session->quit };
	for my $b ($inserts, $merges) { eval { $b->finish; 1 } or $b->kill_kill; }
	unlike($ins_err . $mrg_err, qr/ERROR:/, "round $round: no pgbench statement failed before the crash")
	  or diag "$ins_err\n$mrg_err";
	$node->start;

	check_sound("round $round, after recovery");
	for my $t (grep { !$broken{$_} } @tables)
	{
		$broken{$t} = 1 unless check_exactly_once($t, $acked{$t}, "round $round, after recovery");
	}
	# what the crash left hot is merged now, and each row is still once
	$node->safe_psql('postgres', "SELECT vecdb_merge('th_idx'), vecdb_merge('ti_idx')");
	is($node->safe_psql('postgres', q{SELECT string_agg(h.rows::text, ',') FROM
		unnest('{th_idx,ti_idx}'::regclass[]) i, LATERAL vecdb_hot_tier(i) h}),
		'0,0', "round $round: vecdb_merge after recovery empties both tiers");
	for my $t (grep { !$broken{$_} } @tables)
	{
		$broken{$t} = 1 unless check_exactly_once($t, $acked{$t}, "round $round, after a merge");
	}
	check_sound("round $round, after a merge");
	# a table found wrong stays wrong: later rounds check the other only
	last if keys %broken == @tables;
}
for my $t (@tables)
{
	ok(!$broken{$t}, "$t ($index_of{$t}): every round found every row exactly once");
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no server process crashed');
$node->stop;
done_testing();
