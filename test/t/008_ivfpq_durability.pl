# 008_ivfpq_durability.pl: ivfpq indexes survive restarts and crashes,
# come back from pg_dump/pg_restore, and answer on a streaming replica as
# on the primary.
#
# Data: 3000 seeded 32-dimension vectors in 20 clusters (each a random
# centre plus uniform noise), 12 query vectors drawn the same way, and
# ivfpq indexes with 30 lists. "Full" settings probe every list and re-rank
# every row, where an ivfpq scan must give the exact answer; the default
# settings give an approximate one, which must be the same wherever the
# index pages are the same (after a restart, after crash recovery, on a
# replica). Every top-10 comparison is of the id lists, in order.
#
# (a) restart and crash: the top-10s and vecdb_ivfpq_lists are identical
#     after a clean restart; then, after a CHECKPOINT, inserts, deletes,
#     updates and a new index build (its pages reach disk only through
#     WAL), an immediate-mode stop: after recovery the same top-10s and
#     lists as before the crash, the inserted rows found by their own
#     vectors, vecdb_index_check clean, and VACUUM leaves exactly the live
#     rows in the lists.
# (b) pg_dump -Fc / pg_restore into a new database: the indexes are rebuilt
#     with their options, the full settings give the same top-10s as in the
#     source (and as exact search), and recall@10 (rerank 300) is at least
#     0.9 and no worse than the source index's.
# (c) a streaming replica from a base backup taken after one index was
#     built; a second index built after the backup (so it reaches the
#     replica through WAL only); rounds of INSERT, DELETE/UPDATE and VACUUM
#     on the primary: after each, once the replica has replayed it, the same
#     top-10s (default and full settings) and vecdb_ivfpq_lists on both,
#     vecdb_index_check clean on both, new rows found on the replica.
#
# test/t/043_ivfflat_durability.pl runs this file again for ivfflat (its
# lists hold vectors: full settings probe every list, nothing to re-rank).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dims = 32;
my $n_rows = 3000;
my $n_queries = 12;
my $lists = 30;
# the access method under test (043 sets ivfflat), and its options
our $am;
$am //= 'ivfpq';
my $flat = $am eq 'ivfflat';
my $m8 = $flat ? '' : ', m = 8';
# probes and rerank that search every list and re-rank every row
my $full = $flat ? "SET vecdb.ivfflat_probes = $lists;"
  : "SET vecdb.ivfpq_probes = $lists; SET vecdb.ivfpq_rerank = 10000;";
# recall is measured with 300 candidates re-ranked (cosine recall at the
# default 100 is only about 0.93 on this data, too close to the bar); a
# flat index's with 5 lists of 30 (its default is pgvector's 1)
my $recall_settings = $flat ? 'SET vecdb.ivfflat_probes = 5;' : 'SET vecdb.ivfpq_rerank = 300;';
my $min_recall = 0.9;
my $min_found = 0.98;

# SQL for rows $lo .. $hi of the table $table: a cluster centre (i % 20)
# plus uniform noise.
sub rows_sql
{
	my ($table, $key, $lo, $hi) = @_;
	return "INSERT INTO $table SELECT $key, ARRAY(SELECT ctr[d] + 0.3 * (random() - 0.5) "
	  . "FROM generate_series(1, $dims) d)::vector FROM (SELECT $key, "
	  . "(SELECT a FROM centres WHERE c = $key % 20) AS ctr FROM generate_series($lo, $hi) $key) s";
}

my $load_sql = join(";\n",
	'CREATE EXTENSION vecdb',
	'SELECT setseed(0.008)',
	'CREATE TABLE centres (c int PRIMARY KEY, a float8[])',
	"INSERT INTO centres SELECT c, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, $dims) "
	  . 'WHERE c >= 0) FROM generate_series(0, 19) c',
	"CREATE TABLE items (id int PRIMARY KEY, v vector($dims) NOT NULL)",
	rows_sql('items', 'i', 1, $n_rows),
	"CREATE TABLE queries (qid int PRIMARY KEY, v vector($dims) NOT NULL)",
	rows_sql('queries', 'q', 1, $n_queries),
	'ANALYZE');

my %index_of = ('<->' => 'items_l2', '<=>' => 'items_cos', '<+>' => 'items_l1');

# The top-10 query, one line per query vector: "qid|{id,...}".
sub topk_sql
{
	my ($op) = @_;
	return "SELECT q.qid, ARRAY(SELECT i.id FROM items i ORDER BY i.v $op q.v LIMIT 10) FROM queries q ORDER BY q.qid";
}

# qid => [ids] on $node in $db: by index scans (at the default settings,
# or every list and row with full => 1, or the recall settings with
# recall => 1), or exact with exact => 1.
sub topk
{
	my ($node, $db, $op, %opt) = @_;
	my $settings = $opt{exact}
	  ? 'SET enable_indexscan = off; SET enable_bitmapscan = off;'
	  : 'SET enable_seqscan = off;';
	$settings .= " $full" if $opt{full};
	$settings .= " $recall_settings" if $opt{recall};
	unless ($opt{exact})
	{
		my $plan = $node->safe_psql($db, "$settings EXPLAIN (COSTS OFF) " . topk_sql($op));
		die "not an ivfpq index scan: $plan" unless $plan =~ /Index Scan using $index_of{$op} on items/;
	}
	my $out = $node->safe_psql($db, "$settings " . topk_sql($op));
	my %res;
	for my $line (split /\n/, $out)
	{
		my ($qid, $ids) = split /\|/, $line;
		$ids =~ s/[{}]//g;
		$res{$qid} = [ split /,/, $ids ];
	}
	die "expected $n_queries queries, got: $out" unless keys %res == $n_queries;
	for my $qid (keys %res)
	{
		die "query $qid returned " . scalar(@{ $res{$qid} }) . ' rows' unless @{ $res{$qid} } == 10;
	}
	return \%res;
}

sub overlap
{
	my ($got, $want) = @_;
	my ($hits, $total) = (0, 0);
	for my $qid (keys %$want)
	{
		my %w = map { $_ => 1 } @{ $want->{$qid} };
		$total += @{ $want->{$qid} };
		$hits += grep { $w{$_} } @{ $got->{$qid} // [] };
	}
	return $total ? $hits / $total : 0;
}

# Everything an index answers with: the top-10s at default and full
# settings for each operator of @ops, and its lists.
sub snapshot
{
	my ($node, $db, @ops) = @_;
	my %snap;
	for my $op (@ops)
	{
		$snap{"default $op"} = topk($node, $db, $op);
		$snap{"full $op"} = topk($node, $db, $op, full => 1);
		$snap{"lists $index_of{$op}"} = $node->safe_psql($db,
			"SELECT string_agg(list || ':' || entries || ':' || pages, ',' ORDER BY list) "
			  . "FROM vecdb_ivfpq_lists('$index_of{$op}')");
	}
	return \%snap;
}

sub index_sound
{
	my ($node, $db, $index, $when) = @_;
	is($node->safe_psql($db, "SELECT count(*) FROM vecdb_index_check('$index')"),
		'0', "$when: vecdb_index_check('$index') finds no problem on " . $node->name)
	  or diag $node->safe_psql($db,
		"SELECT blkno, offnum, problem FROM vecdb_index_check('$index') LIMIT 20");
}

# With the full settings the index scans are the exact answer.
sub full_is_exact
{
	my ($node, $db, $op, $when) = @_;
	is_deeply(topk($node, $db, $op, full => 1), topk($node, $db, $op, exact => 1),
		"$when: $index_of{$op} with every list probed gives the exact top-10s on " . $node->name);
}

# Rows $lo .. $hi are each the nearest neighbour of their own vector
# through the index of $op: at least $min_found of them at the default
# settings, all of them with the full settings.
sub rows_found
{
	my ($node, $db, $op, $lo, $hi, $when) = @_;
	my $sql = "SELECT count(*), count(*) FILTER (WHERE (SELECT i.id FROM items i ORDER BY i.v $op n.v LIMIT 1) = n.id) "
	  . "FROM items n WHERE n.id BETWEEN $lo AND $hi";
	my ($rows, $found) = split /\|/, $node->safe_psql($db, "SET enable_seqscan = off; $sql");
	cmp_ok($rows, '>', 0, "$when: rows $lo .. $hi to look for");
	cmp_ok($found, '>=', $min_found * $rows,
		"$when: $index_of{$op} finds $found of $rows rows by their own vector on " . $node->name);
	my (undef, $found_full) = split /\|/, $node->safe_psql($db, "SET enable_seqscan = off; $full $sql");
	is($found_full, $rows, "$when: with every list probed $index_of{$op} finds all $rows rows on " . $node->name);
}

# The lists hold exactly the live rows (after a VACUUM).
sub entries_are_rows
{
	my ($node, $db, $index, $when) = @_;
	my $rows = $node->safe_psql($db, 'SELECT count(*) FROM items');
	is($node->safe_psql($db, "SELECT sum(entries) FROM vecdb_ivfpq_lists('$index')"),
		$rows, "$when: the lists of $index hold the $rows rows on " . $node->name);
	is($node->safe_psql($db, "SELECT entries FROM vecdb_ivfpq_info('$index')"),
		$rows, "$when: vecdb_ivfpq_info('$index') counts $rows entries on " . $node->name);
}

# Run a step; if a query in it fails, count that as a failed test and go
# on, so that one broken step does not hide the others' results.
sub step
{
	my ($name, $code) = @_;
	eval { $code->(); 1 } or fail("$name: $@");
}

# ---------------------------------------------------------------------------
# (a) restart and crash

my $node = PostgreSQL::Test::Cluster->new($am);
$node->init;
$node->start;
$node->safe_psql('postgres', $load_sql);
$node->safe_psql('postgres',
	"CREATE INDEX items_l2 ON items USING $am (v vector_l2_ops) WITH (lists = $lists$m8)");
$node->safe_psql('postgres',
	"CREATE INDEX items_cos ON items USING $am (v vector_cosine_ops) WITH (lists = $lists)");

my $before;
step('after the build', sub {
	is($node->safe_psql('postgres', q{SELECT lists, m, nbits, dims, entries FROM vecdb_ivfpq_info('items_l2')}),
		"$lists|" . ($flat ? 0 : 8) . "|8|$dims|$n_rows", 'vecdb_ivfpq_info describes the l2 index');
	for my $op ('<->', '<=>')
	{
		index_sound($node, 'postgres', $index_of{$op}, 'after the build');
		full_is_exact($node, 'postgres', $op, 'after the build');
		my $r = overlap(topk($node, 'postgres', $op, recall => 1), topk($node, 'postgres', $op, exact => 1));
		cmp_ok($r, '>=', $min_recall,
			sprintf('after the build: recall@10 of %s is %.3f', $index_of{$op}, $r));
	}
	$before = snapshot($node, 'postgres', '<->', '<=>');
});

$node->restart;
step('after a clean restart', sub {
	is_deeply(snapshot($node, 'postgres', '<->', '<=>'), $before,
		'after a clean restart: the same top-10s and lists');
	index_sound($node, 'postgres', $_, 'after a clean restart') for qw(items_l2 items_cos);
});

# changes after a checkpoint, then a crash
my $crash_lo = $n_rows + 1;
my $crash_hi = $n_rows + 300;
my $before_crash;
step('before the crash', sub {
	$node->safe_psql('postgres', 'CHECKPOINT');
	$node->safe_psql('postgres', 'SELECT setseed(0.18); ' . rows_sql('items', 'i', $crash_lo, $crash_hi));
	$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 10 = 1 AND id <= 3000');
	# updates move rows to another cluster's neighbourhood
	$node->safe_psql('postgres', 'SELECT setseed(0.28); UPDATE items SET v = ARRAY(SELECT '
		  . '(SELECT a FROM centres WHERE c = (items.id + 7) % 20)[d] + 0.3 * (random() - 0.5) '
		  . "FROM generate_series(1, $dims) d)::vector WHERE id % 10 = 5 AND id <= 3000");
	# an index whose build only WAL brings back
	$node->safe_psql('postgres',
		"CREATE INDEX items_l1 ON items USING $am (v vector_l1_ops) WITH (lists = $lists)");
	$node->safe_psql('postgres', 'SELECT setseed(0.38); ' . rows_sql('items', 'i', $crash_hi + 1, $crash_hi + 50));
	$crash_hi += 50;
	$before_crash = snapshot($node, 'postgres', '<->', '<=>', '<+>');
});

$node->stop('immediate');
$node->start;

step('after crash recovery', sub {
	is($node->safe_psql('postgres', "SELECT count(*) FROM items WHERE id BETWEEN $crash_lo AND $crash_hi"),
		$crash_hi - $crash_lo + 1, 'after crash recovery: the committed inserts are there');
	is_deeply(snapshot($node, 'postgres', '<->', '<=>', '<+>'), $before_crash,
		'after crash recovery: the same top-10s and lists as before the crash');
	for my $op ('<->', '<=>', '<+>')
	{
		index_sound($node, 'postgres', $index_of{$op}, 'after crash recovery');
		rows_found($node, 'postgres', $op, $crash_lo, $crash_hi, 'after crash recovery');
		full_is_exact($node, 'postgres', $op, 'after crash recovery');
	}
});

step('VACUUM after recovery', sub {
	$node->safe_psql('postgres', 'VACUUM items');
	for my $op ('<->', '<=>', '<+>')
	{
		entries_are_rows($node, 'postgres', $index_of{$op}, 'VACUUM after recovery');
		index_sound($node, 'postgres', $index_of{$op}, 'VACUUM after recovery');
		full_is_exact($node, 'postgres', $op, 'VACUUM after recovery');
	}
});

# ---------------------------------------------------------------------------
# (b) pg_dump / pg_restore

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dump = "$tmp/ivfpq.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-d', 'postgres', '-f', $dump ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'restored', $dump ], 'pg_restore');

step('after pg_restore', sub {
	my $defs = q{SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes
		WHERE tablename = 'items' AND indexdef LIKE '%} . $am . q{%'};
	is($node->safe_psql('restored', $defs), $node->safe_psql('postgres', $defs),
		"pg_restore: the same $am index definitions");
	my $opts = $flat ? "lists='$lists'" : "lists='$lists', m='8'";
	like($node->safe_psql('restored', $defs), qr/items_l2 ON public\.items USING $am \(v\) WITH \($opts\)/,
		'pg_restore: the l2 index keeps its options');
	my $info = q{SELECT lists, m, nbits, dims, entries FROM vecdb_ivfpq_info('items_l2')};
	is($node->safe_psql('restored', $info), $node->safe_psql('postgres', $info),
		'pg_restore: vecdb_ivfpq_info of the rebuilt index matches the source');
	for my $op ('<->', '<=>', '<+>')
	{
		index_sound($node, 'restored', $index_of{$op}, 'after pg_restore');
		entries_are_rows($node, 'restored', $index_of{$op}, 'after pg_restore');
		my $src_full = topk($node, 'postgres', $op, full => 1);
		is_deeply(topk($node, 'restored', $op, full => 1), $src_full,
			"pg_restore: $index_of{$op} gives the source's top-10s with every list probed");
		is_deeply(topk($node, 'restored', $op, exact => 1), $src_full,
			"pg_restore: ... which are the exact top-10s");
		# the rebuilt index is as good as the source's (the same rows in
		# another heap order may train other centroids, so the approximate
		# answers need not be identical)
		my $r = overlap(topk($node, 'restored', $op, recall => 1), $src_full);
		my $src_r = overlap(topk($node, 'postgres', $op, recall => 1), $src_full);
		cmp_ok($r, '>=', $min_recall,
			sprintf('pg_restore: recall@10 of the rebuilt %s is %.3f', $index_of{$op}, $r));
		cmp_ok($r, '>=', $src_r - 0.05,
			sprintf('pg_restore: ... at most 0.05 below the source index\'s %.3f', $src_r));
	}
});

unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed on ' . $node->name);
$node->stop;

# ---------------------------------------------------------------------------
# (c) streaming replica

my $primary = PostgreSQL::Test::Cluster->new("${am}_primary");
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', $load_sql);
$primary->safe_psql('postgres',
	"CREATE INDEX items_l2 ON items USING $am (v vector_l2_ops) WITH (lists = $lists$m8)");

$primary->backup('base');
my $replica = PostgreSQL::Test::Cluster->new("${am}_replica");
$replica->init_from_backup($primary, 'base', has_streaming => 1);
$replica->start;
$primary->wait_for_catchup($replica);

# the cosine index reaches the replica through WAL only
$primary->safe_psql('postgres',
	"CREATE INDEX items_cos ON items USING $am (v vector_cosine_ops) WITH (lists = $lists)");
$primary->wait_for_catchup($replica);
is($replica->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the replica is a standby');

# Primary and replica answer alike, and both indexes check clean on both.
sub compare_nodes
{
	my ($when) = @_;
	is_deeply(snapshot($replica, 'postgres', '<->', '<=>'), snapshot($primary, 'postgres', '<->', '<=>'),
		"$when: the replica gives the primary's top-10s and lists");
	is($replica->safe_psql('postgres', 'SELECT count(*) FROM items'),
		$primary->safe_psql('postgres', 'SELECT count(*) FROM items'), "$when: the replica has the primary's rows");
	for my $index ('items_l2', 'items_cos')
	{
		index_sound($_, 'postgres', $index, $when) for ($primary, $replica);
	}
}

step('after the builds', sub {
	compare_nodes('after the builds');
	full_is_exact($replica, 'postgres', $_, 'after the builds') for ('<->', '<=>');
});

my $next_id = $n_rows + 1;
for my $round (1 .. 2)
{
	step("round $round", sub {
		my ($lo, $hi) = ($next_id, $next_id + 299);
		$next_id += 300;
		$primary->safe_psql('postgres', "SELECT setseed(0.$round); " . rows_sql('items', 'i', $lo, $hi));
		$primary->wait_for_catchup($replica);
		compare_nodes("round $round, after INSERT");
		rows_found($replica, 'postgres', $_, $lo, $hi, "round $round, after INSERT") for ('<->', '<=>');

		$primary->safe_psql('postgres', "DELETE FROM items WHERE id % 7 = $round");
		$primary->safe_psql('postgres', "SELECT setseed(-0.$round); UPDATE items SET v = "
			  . "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) WHERE id > 0)::vector WHERE id % 11 = $round");
		$primary->safe_psql('postgres', 'VACUUM items');
		$primary->wait_for_catchup($replica);
		compare_nodes("round $round, after DELETE, UPDATE and VACUUM");
		for my $op ('<->', '<=>')
		{
			entries_are_rows($replica, 'postgres', $index_of{$op}, "round $round, after VACUUM");
			full_is_exact($replica, 'postgres', $op, "round $round, after VACUUM");
		}
	});
}

for my $n ($primary, $replica)
{
	my $log = slurp_file($n->logfile);
	unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed on ' . $n->name);
}

$replica->stop;
$primary->stop;
done_testing();
