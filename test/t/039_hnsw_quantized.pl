# 039_hnsw_quantized.pl: hnsw WITH (quantization = sq8) (src/hnsw/hnsw.h,
# src/core/sq8.h) on a replica, through a crash, and damaged.
#
#   1. A primary and a streaming replica; the index is built after the
#      replica is up (it gets the index only through WAL), then inserts,
#      DELETE, VACUUM and inserts that reuse the freed slots: the replica
#      answers the same top-10 lists as the primary (index scans forced,
#      re-ranked from the heap by the executor), finds every new row by its
#      own vector at distance 0, and vecdb_index_check is clean on both.
#   2. More inserts, an immediate stop and a restart: recovery leaves the
#      index sound and answering as it did.
#   3. Damage, patched in the index file with the server stopped: the meta
#      page's quantization byte (none in format 3, unknown kinds, sq8 in
#      format 2) and an element's code header (lo, step and slack set to
#      NaN, infinity, negative or zero). vecdb_index_check reports what it
#      can see; scans, INSERT and VACUUM give a result or a clean ERROR;
#      no backend dies.
use strict;
use warnings;

use File::Copy qw(copy);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(field_patch patched_bytes restore_files damage_test_node psql_outcome
  is_clean_outcome);

my $dims = 256;
my $BLCKSZ = 8192;
my $n_queries = 10;

# hnsw.h's layout
my $meta_contents = 24;                 # the MetaPage, after the page header
my $meta_quantization = $meta_contents + 17;
my $special_flags = $BLCKSZ - 8 + 4;    # PageOpaque::flags
my $page_elements = 1 << 1;
my $code_offset = 12;                   # quantized_code_offset: the code's header

sub vector_sql
{
	my ($corr) = @_;
	return "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) WHERE $corr IS NOT NULL)::real[]::vector";
}

sub top10
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET vecdb.hnsw_ef_search = 100;
		SELECT qid, ARRAY(SELECT id FROM items ORDER BY v <-> q LIMIT 10)
		FROM queries ORDER BY qid});
}

# Rows with id > after that a search for their own vector misses: with
# re-ranking the nearest row's distance is exactly 0.
sub lost
{
	my ($node, $after) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SELECT count(*) FROM items t WHERE t.id > $after
		  AND (SELECT u.v <-> t.v FROM items u ORDER BY u.v <-> t.v LIMIT 1) <> 0});
}

sub check_rows
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{SELECT string_agg(format('%s %s %s', blkno, offnum, problem), '; ')
		FROM vecdb_index_check('items_v')});
}

# ---------------------------------------------------------------------------
# 1. the replica

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', 'autovacuum = off');
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$primary->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dims) NOT NULL)");
$primary->safe_psql('postgres', "CREATE TABLE queries (qid int PRIMARY KEY, q vector($dims) NOT NULL)");
$primary->safe_psql('postgres', 'SELECT setseed(0.039); INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(1, 2000) i');
$primary->safe_psql('postgres', 'INSERT INTO queries SELECT q, '
	  . vector_sql('q') . " FROM generate_series(1, $n_queries) q");

$primary->backup('base');
my $replica = PostgreSQL::Test::Cluster->new('replica');
$replica->init_from_backup($primary, 'base', has_streaming => 1);
$replica->start;
$primary->wait_for_catchup($replica);

$primary->safe_psql('postgres',
	'CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (quantization = sq8, streaming = off)');
$primary->wait_for_catchup($replica);
like(
	$replica->safe_psql('postgres', q{SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> (SELECT q FROM queries LIMIT 1) LIMIT 10}),
	qr/Index Scan using items_v/,
	'the replica scans the index it got through WAL');
is(top10($replica), top10($primary), 'after the build, the replica answers as the primary');
is(check_rows($replica), '', 'the replica\'s index is sound after the build');

$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(2001, 2300) i');
$primary->safe_psql('postgres', 'VACUUM items');
$primary->wait_for_catchup($replica);
is(top10($replica), top10($primary), 'after inserts, the replica answers as the primary');
is(lost($replica, 2000), '0', 'the replica finds the inserted rows by their own vectors');
is(check_rows($primary), '', 'the primary\'s index is sound after inserts');
is(check_rows($replica), '', 'the replica\'s index is sound after inserts');

$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 4 = 0; VACUUM items');
$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(2301, 2600) i');
$primary->safe_psql('postgres', 'VACUUM items');
$primary->wait_for_catchup($replica);
is(top10($replica), top10($primary), 'after VACUUM and reuse, the replica answers as the primary');
is(lost($replica, 2300), '0', 'the replica finds the rows that reused freed slots');
is(check_rows($replica), '', 'the replica\'s index is sound after reuse');
$replica->stop;

# ---------------------------------------------------------------------------
# 2. an immediate stop

$primary->safe_psql('postgres', 'CHECKPOINT');
$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(2601, 2800) i; VACUUM items');
my $before_crash = top10($primary);
$primary->stop('immediate');
$primary->start;
is(check_rows($primary), '', 'after an immediate stop, the index is sound');
is(top10($primary), $before_crash, 'after an immediate stop, the index answers as before');
is(lost($primary, 2600), '0', 'rows inserted before the stop are found after it');
$primary->stop;

# ---------------------------------------------------------------------------
# 3. damage

my $node = damage_test_node('quantized_damage');
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', 'SELECT setseed(-0.039); INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(1, 500) i');
$node->safe_psql('postgres',
	'CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (quantization = sq8, streaming = off)');
$node->safe_psql('postgres', 'CHECKPOINT');
is(check_rows($node), '', 'the index to damage is sound');
my ($heap_path, $index_path) =
  split /\|/, $node->safe_psql('postgres', q{SELECT pg_relation_filepath('items'), pg_relation_filepath('items_v')});
$node->stop('fast');

my $data = $node->data_dir;
my $tmp = PostgreSQL::Test::Utils::tempdir;
my @forks = ('', '_fsm', '_vm', '_init');
my %saved;
for my $path ($heap_path, $index_path)
{
	for my $fork (@forks)
	{
		my $file = "$data/$path$fork";
		next unless -e $file;
		(my $name = "$path$fork") =~ s{/}{_}g;
		copy($file, "$tmp/$name") or die $!;
		$saved{"$path$fork"} = "$tmp/$name";
	}
}
my $pristine = slurp_file("$data/$index_path");
is(unpack('V', substr($pristine, $meta_contents + 4, 4)), 3, 'a quantized index is written in format 3');
is(unpack('C', substr($pristine, $meta_quantization, 1)), 1, 'its meta page says sq8');

# The first element of the first element page.
my $element_at;
for my $blk (1 .. length($pristine) / $BLCKSZ - 1)
{
	next unless unpack('v', substr($pristine, $blk * $BLCKSZ + $special_flags, 2)) & $page_elements;
	my $lp = unpack('V', substr($pristine, $blk * $BLCKSZ + 24, 4));
	$element_at = $blk * $BLCKSZ + ($lp & 0x7fff);
	last;
}
ok(defined $element_at, 'found an element');
my $code_at = $element_at + $code_offset;    # Sq8Header: lo, step, slack

my $nan = pack('V', 0x7fc00000);
my $inf = pack('V', 0x7f800000);
my @damages = (
	[ 'meta: quantization none in format 3', 1, [ field_patch($meta_quantization, 'C', 0) ] ],
	[ 'meta: quantization 2', 1, [ field_patch($meta_quantization, 'C', 2) ] ],
	[ 'meta: quantization 255', 1, [ field_patch($meta_quantization, 'C', 255) ] ],
	[ 'meta: sq8 in format 2', 1, [ field_patch($meta_contents + 4, 'V', 2) ] ],
	[ 'code: lo NaN', 1, [ [ $code_at, $nan ] ] ],
	[ 'code: step infinite', 1, [ [ $code_at + 4, $inf ] ] ],
	[ 'code: step negative', 1, [ field_patch($code_at + 4, 'f<', -1) ] ],
	[ 'code: slack NaN', 1, [ [ $code_at + 8, $nan ] ] ],
	[ 'code: slack negative', 1, [ field_patch($code_at + 8, 'f<', -1) ] ],
	# a slack too small is not visible on the page: the executor may find
	# the bound above the exact distance and say so, cleanly
	[ 'code: slack zero', 0, [ field_patch($code_at + 8, 'f<', 0) ] ],
	[ 'code: codes all 255', 0, [ [ $code_at + 12, chr(255) x $dims ] ] ],
);

for my $d (@damages)
{
	my ($what, $visible, $patches) = @$d;
	restore_files($data, [ $heap_path, $index_path ], \@forks, \%saved);
	open my $fh, '+<', "$data/$index_path" or die $!;
	binmode $fh;
	print $fh patched_bytes($pristine, $patches);
	close $fh;
	$node->start;

	my $check = psql_outcome($node,
		q{SELECT count(*) FROM vecdb_index_check('items_v')}, timeout => 120, statement_timeout => 100);
	if ($visible)
	{
		ok(is_clean_outcome($check) && ($check->{state} ne 'ok' || $check->{out} =~ /^[1-9]/),
			"$what: vecdb_index_check reports it ($check->{state} $check->{out})");
	}
	else
	{
		ok(is_clean_outcome($check), "$what: vecdb_index_check gives a result ($check->{state})");
	}
	for my $query ('(SELECT v FROM items WHERE id = 1)', vector_sql(1))
	{
		my $scan = psql_outcome($node, qq{SET enable_seqscan = off; SET vecdb.hnsw_ef_search = 1000;
			SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> $query LIMIT 1000) s},
			timeout => 120, statement_timeout => 100);
		ok(is_clean_outcome($scan), "$what: a scan gives a result or a clean ERROR ($scan->{state} "
			  . ($scan->{message} // '') . ')');
	}
	my $insert = psql_outcome($node, 'INSERT INTO items SELECT i, ' . vector_sql('i')
		  . ' FROM generate_series(1001, 1010) i', timeout => 120, statement_timeout => 100);
	ok(is_clean_outcome($insert), "$what: INSERT gives a result or a clean ERROR ($insert->{state})");
	my $vacuum = psql_outcome($node, 'DELETE FROM items WHERE id % 7 = 0; VACUUM items',
		timeout => 120, statement_timeout => 100);
	ok(is_clean_outcome($vacuum), "$what: VACUUM gives a result or a clean ERROR ($vacuum->{state})");
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$what: the server still answers");
	$node->stop('fast');
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC/, 'no server process died');

done_testing();
