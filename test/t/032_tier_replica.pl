# 032_tier_replica.pl: a streaming standby answers like the primary while
# rows are hot and after they are merged (issue 11).
#
# A primary with 2000 seeded 16-dimension vectors, an hnsw index
# (vector_l2_ops) and an ivfpq index (vector_cosine_ops, 16 lists), both
# streaming, built before the base backup. Then, each step followed by
# waiting for the standby to replay it:
#
#   1. 600 rows inserted: hot in both indexes;
#   2. vecdb_merge of both: the rows move into the graph and the lists;
#   3. 400 more rows (hot), a DELETE of hot and cold rows, an UPDATE that
#      moves hot rows, then VACUUM (which merges and removes dead TIDs);
#   4. 500 single-row INSERTs with vecdb.hot_tier_max_rows = 40: inserts
#      merge batches themselves (back-pressure);
#   5. an index created after the standby is up, with rows hot in it.
#
# After each step:
#   - vecdb_hot_tier (rows, pages, merged) is the same on both nodes, and
#     the tiers hold rows or not as the step says;
#   - the top-10 ids of 15 query vectors through each index, index scans
#     forced, are the same lists on the standby as on the primary, and
#     EXPLAIN on the standby shows the index;
#   - an index scan run to its end returns every row of the table exactly
#     once on the standby;
#   - the rows the step inserted are found on the standby by their own
#     vector;
#   - vecdb_index_check finds no problem on either node.
# And vecdb_merge on the standby is a clean ERROR, not a crash.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dims = 16;
my $n_queries = 15;

sub random_vector_sql
{
	my ($corr) = @_;
	return "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) WHERE $corr IS NOT NULL)::real[]::vector";
}

my $primary = PostgreSQL::Test::Cluster->new('tier_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "autovacuum = off\n");
$primary->start;

$primary->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$primary->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dims) NOT NULL)");
$primary->safe_psql('postgres', "CREATE TABLE queries (qid int PRIMARY KEY, v vector($dims) NOT NULL)");
$primary->safe_psql('postgres', 'SELECT setseed(0.032); INSERT INTO items SELECT i, '
	  . random_vector_sql('i') . ' FROM generate_series(1, 2000) i');
$primary->safe_psql('postgres', 'SELECT setseed(-0.32); INSERT INTO queries SELECT q, '
	  . random_vector_sql('q') . " FROM generate_series(1, $n_queries) q");
$primary->safe_psql('postgres', 'CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops)');
$primary->safe_psql('postgres',
	'CREATE INDEX items_ivfpq ON items USING ivfpq (v vector_cosine_ops) WITH (lists = 16, m = 4)');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('tier_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is a standby');

my %index_of = ('<->' => 'items_hnsw', '<=>' => 'items_ivfpq');
my $scan_settings = 'SET enable_seqscan = off; SET enable_bitmapscan = off; '
  . 'SET vecdb.hnsw_ef_search = 60; SET vecdb.ivfpq_probes = 4;';
my $all_settings = $scan_settings
  . ' SET vecdb.hnsw_iterative_scan = relaxed_order; SET vecdb.hnsw_max_scan_tuples = 1000000;'
  . ' SET vecdb.ivfpq_iterative_scan = relaxed_order; SET vecdb.ivfpq_probes = 16;';

sub topk_sql
{
	my ($op) = @_;
	return "SELECT q.qid, ARRAY(SELECT i.id FROM items i ORDER BY i.v $op q.v LIMIT 10) FROM queries q ORDER BY q.qid";
}

sub tier_state
{
	my ($node, $index) = @_;
	return $node->safe_psql('postgres', "SELECT rows, pages, merged FROM vecdb_hot_tier('$index')");
}

# Run a step; if a query in it fails, count that as a failed test and go
# on, so that one broken step does not hide the others' results.
sub step
{
	my ($name, $code) = @_;
	eval { $code->(); 1 } or fail("$name: $@");
}

# $hot: for each index, whether its tier holds rows ('hot'), none ('empty')
# or either (undef); $lo..$hi: the ids the step inserted
sub compare_nodes
{
	my ($when, $hot, $lo, $hi) = @_;
	$primary->wait_for_catchup($standby);
	for my $op (sort keys %index_of)
	{
		my $index = $index_of{$op};
		my $state = tier_state($primary, $index);
		is(tier_state($standby, $index), $state, "$when: $index: vecdb_hot_tier is the same on the standby ($state)");
		my ($rows) = split /\|/, $state;
		if (defined $hot->{$index})
		{
			if ($hot->{$index} eq 'hot') { cmp_ok($rows, '>', 0, "$when: $index has hot rows"); }
			else { is($rows, '0', "$when: $index has no hot row"); }
		}

		like($standby->safe_psql('postgres', "$scan_settings EXPLAIN (COSTS OFF) " . topk_sql($op)),
			qr/Index Scan using $index on items/, "$when: the standby's plan uses $index");
		my $on_primary = $primary->safe_psql('postgres', "$scan_settings " . topk_sql($op));
		my $on_standby = $standby->safe_psql('postgres', "$scan_settings " . topk_sql($op));
		is(scalar(() = $on_primary =~ /\{(?:\d+,){9}\d+\}/g), $n_queries,
			"$when: $index returns 10 rows for each query on the primary");
		is($on_standby, $on_primary, "$when: $index gives the same top-10 lists on the standby");

		my $res = $standby->safe_psql('postgres', qq{$all_settings
			SELECT count(*), count(DISTINCT id), (SELECT count(*) FROM items) FROM
			(SELECT id FROM items ORDER BY v $op (SELECT v FROM queries WHERE qid = 1) LIMIT 1000000) s});
		my ($n, $distinct, $total) = split /\|/, $res;
		ok($n == $total && $distinct == $total,
			"$when: $index returns every row once on the standby ($n returned, $distinct distinct, $total rows)");

		if (defined $lo)
		{
			$res = $standby->safe_psql('postgres', qq{$scan_settings
				SELECT count(*), count(*) FILTER (WHERE
					(SELECT i.id FROM items i ORDER BY i.v $op n.v LIMIT 1) = n.id)
				FROM items n WHERE n.id BETWEEN $lo AND $hi});
			my ($rows_new, $found) = split /\|/, $res;
			cmp_ok($rows_new, '>', 0, "$when: rows to look for");
			is($found, $rows_new, "$when: the standby's $index finds each new row by its own vector");
		}
	}
	for my $index (sort values %index_of)
	{
		for my $node ($primary, $standby)
		{
			is($node->safe_psql('postgres',
					"SELECT blkno, offnum, problem FROM vecdb_index_check('$index') LIMIT 10"),
				'', "$when: vecdb_index_check('$index') finds no problem on " . $node->name);
		}
	}
}

step('after the builds', sub {
	compare_nodes('after the builds', { items_hnsw => 'empty', items_ivfpq => 'empty' });
});

step('1: rows hot', sub {
	$primary->safe_psql('postgres', 'SELECT setseed(0.1); INSERT INTO items SELECT i, '
		  . random_vector_sql('i') . ' FROM generate_series(2001, 2600) i');
	compare_nodes('1: 600 rows hot', { items_hnsw => 'hot', items_ivfpq => 'hot' }, 2001, 2600);
});

step('2: merged', sub {
	is($primary->safe_psql('postgres', "SELECT vecdb_merge('items_hnsw'), vecdb_merge('items_ivfpq')"),
		'600|600', '2: vecdb_merge merges the 600 hot rows of each index');
	compare_nodes('2: merged', { items_hnsw => 'empty', items_ivfpq => 'empty' }, 2001, 2600);
});

step('3: DML and VACUUM', sub {
	$primary->safe_psql('postgres', 'SELECT setseed(0.2); INSERT INTO items SELECT i, '
		  . random_vector_sql('i') . ' FROM generate_series(2601, 3000) i');
	$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 9 = 0');
	$primary->safe_psql('postgres', 'SELECT setseed(0.3); UPDATE items SET v = '
		  . random_vector_sql('id') . ' WHERE id > 2600 AND id % 9 = 1');
	compare_nodes('3: 400 rows hot, some deleted or moved', { items_hnsw => 'hot', items_ivfpq => 'hot' },
		2601, 3000);
	$primary->safe_psql('postgres', 'VACUUM items');
	compare_nodes('3: after VACUUM', { items_hnsw => 'empty', items_ivfpq => 'empty' }, 2601, 3000);
});

step('4: back-pressure', sub {
	my %merged_before = map { $_ => (split /\|/, tier_state($primary, $_))[2] } qw(items_hnsw items_ivfpq);
	my $sql = "SET vecdb.hot_tier_max_rows = 40;\n";
	$sql .= "INSERT INTO items SELECT $_, " . random_vector_sql($_) . ";\n" for 3001 .. 3500;
	$primary->safe_psql('postgres', $sql);
	for my $index (qw(items_hnsw items_ivfpq))
	{
		my ($rows, $pages, $merged) = split /\|/, tier_state($primary, $index);
		cmp_ok($merged, '>', $merged_before{$index}, "4: back-pressure merged rows of $index");
		cmp_ok($rows, '<=', 40 + 10 + 100, "4: $index holds at most the cap and a batch (and a page): $rows");
	}
	compare_nodes('4: after back-pressure', {}, 3001, 3500);
});

step('5: an index created after the standby', sub {
	$primary->safe_psql('postgres', 'CREATE INDEX items_hnsw_ip ON items USING hnsw (v vector_ip_ops)');
	$primary->safe_psql('postgres', 'SELECT setseed(0.5); INSERT INTO items SELECT i, '
		  . random_vector_sql('i') . ' FROM generate_series(3501, 3700) i');
	$index_of{'<#>'} = 'items_hnsw_ip';
	compare_nodes('5: rows hot in a new index', { items_hnsw_ip => 'hot' });
	$primary->safe_psql('postgres', "SELECT vecdb_merge('items_hnsw_ip')");
	compare_nodes('5: merged', { items_hnsw_ip => 'empty' });
});

step('vecdb_merge on the standby', sub {
	my ($ret, $out, $err) = $standby->psql('postgres', "SELECT vecdb_merge('items_hnsw')");
	isnt($ret, 0, 'vecdb_merge on the standby fails');
	like($err, qr/ERROR:/, 'with an ERROR');
	is($standby->safe_psql('postgres', 'SELECT 1'), '1', 'and the standby still serves queries');
});

for my $node ($primary, $standby)
{
	unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC|TRAP:/,
		'no server process crashed on ' . $node->name);
}
$standby->stop;
$primary->stop;
done_testing();
