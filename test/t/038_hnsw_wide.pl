# 038_hnsw_wide.pl: hnsw indexes whose vectors are stored out of line, in
# chunks on vector pages (3,072 dims: src/hnsw/hnsw.h), on a replica, through
# a crash, and damaged.
#
#   1. A primary and a streaming replica; a 3,072-d index built after the
#      replica is up (it gets the index only through WAL), then inserts,
#      DELETE, VACUUM and inserts that reuse the freed slots:
#      the replica answers the same top-10 lists as the primary for 10
#      queries (index scans forced), finds the new rows by their own
#      vectors, and vecdb_index_check is clean on both.
#   2. More inserts and a VACUUM, then an immediate stop of the primary and a restart:
#      recovery leaves the index sound and answering as it did.
#   3. Damaged chunk pages, patched in the index file with the server
#      stopped, as 007 does: a chunk's next pointer (out of the index, to
#      itself, ended early), its float count, its page's flags, and an
#      element's chunk address. vecdb_index_check reports each; a scan
#      that reaches every element gives a clean ERROR (index corrupted);
#      INSERT and VACUUM give a result or a clean ERROR; no backend dies.
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

my $dims = 3072;
my $BLCKSZ = 8192;
my $n_queries = 10;

# hnsw.h's layout
my $special_flags = $BLCKSZ - 8 + 4;    # PageOpaque::flags
my $page_elements = 1 << 1;
my $page_vectors = 1 << 2;
my $element_header = 24;                # offsetof(ElementTuple, vector): the chunk address

sub vector_sql
{
	my ($corr) = @_;
	return "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) WHERE $corr IS NOT NULL)::real[]::vector";
}

# The top-10 ids of every query, index scans forced, one line per query.
sub top10
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET vecdb.hnsw_ef_search = 100;
		SELECT qid, ARRAY(SELECT id FROM items ORDER BY v <-> q LIMIT 10)
		FROM queries ORDER BY qid});
}

# Rows with id > after that a search for their own vector misses.
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
$primary->safe_psql('postgres', 'SELECT setseed(0.038); INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(1, 800) i');
$primary->safe_psql('postgres', 'INSERT INTO queries SELECT q, '
	  . vector_sql('q') . " FROM generate_series(1, $n_queries) q");

$primary->backup('base');
my $replica = PostgreSQL::Test::Cluster->new('replica');
$replica->init_from_backup($primary, 'base', has_streaming => 1);
$replica->start;
$primary->wait_for_catchup($replica);

$primary->safe_psql('postgres', 'CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops)');
$primary->wait_for_catchup($replica);
like(
	$replica->safe_psql('postgres', q{SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> (SELECT q FROM queries LIMIT 1) LIMIT 10}),
	qr/Index Scan using items_v/,
	'the replica scans the index it got through WAL');
my $before = top10($primary);
is(top10($replica), $before, 'after the build, the replica answers as the primary');
is(check_rows($replica), '', 'the replica\'s index is sound after the build');

$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(801, 900) i');
is($primary->safe_psql('postgres', q{SELECT rows FROM vecdb_hot_tier('items_v')}), '0',
	'3,072-d inserts go to the graph, not the hot tier');
# Inserts' pruning can leave an element no list names; every VACUUM links
# those again (vacuum.cpp), so the checks below follow one.
$primary->safe_psql('postgres', 'VACUUM items');
$primary->wait_for_catchup($replica);
my $after_inserts = top10($primary);
is(top10($replica), $after_inserts, 'after inserts, the replica answers as the primary');
is(lost($replica, 800), '0', 'the replica finds the inserted rows by their own vectors');
is(check_rows($primary), '', 'the primary\'s index is sound after inserts');
is(check_rows($replica), '', 'the replica\'s index is sound after inserts');

# DELETE, VACUUM and inserts reusing the freed slots, replayed too
$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 4 = 0; VACUUM items');
$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(901, 1100) i');
$primary->safe_psql('postgres', 'VACUUM items');
$primary->wait_for_catchup($replica);
is(top10($replica), top10($primary), 'after VACUUM and reuse, the replica answers as the primary');
is(lost($replica, 900), '0', 'the replica finds the rows that reused freed slots');
is(check_rows($replica), '', 'the replica\'s index is sound after reuse');
$replica->stop;

# ---------------------------------------------------------------------------
# 2. an immediate stop

$primary->safe_psql('postgres', 'CHECKPOINT');
$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(1101, 1200) i; VACUUM items');
my $before_crash = top10($primary);
$primary->stop('immediate');
$primary->start;
is(check_rows($primary), '', 'after an immediate stop, the index is sound');
is(top10($primary), $before_crash, 'after an immediate stop, the index answers as before');
is(lost($primary, 1100), '0', 'rows inserted before the stop are found after it');
$primary->stop;

# ---------------------------------------------------------------------------
# 3. damaged chunks

my $node = damage_test_node('wide_damage');
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', 'SELECT setseed(-0.038); INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(1, 300) i');
$node->safe_psql('postgres', 'CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', 'VACUUM items; CHECKPOINT');
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

# Items of a page: [offset in page, length].
sub items_of
{
	my ($blk) = @_;
	my $page = substr($pristine, $blk * $BLCKSZ, $BLCKSZ);
	my $lower = unpack('v', substr($page, 12, 2));
	my @items;
	for (my $at = 24; $at + 4 <= $lower; $at += 4)
	{
		my $lp = unpack('V', substr($page, $at, 4));
		push @items, [ $lp & 0x7fff, ($lp >> 17) & 0x7fff ];
	}
	return @items;
}

sub flags_of
{
	my ($blk) = @_;
	return unpack('v', substr($pristine, $blk * $BLCKSZ + $special_flags, 2));
}

my $nblocks = length($pristine) / $BLCKSZ;
my (@vector_pages, @element_pages);
for my $blk (1 .. $nblocks - 1)
{
	push @vector_pages, $blk if flags_of($blk) & $page_vectors;
	push @element_pages, $blk if flags_of($blk) & $page_elements;
}
ok(@vector_pages > 300, 'the index has vector pages (' . scalar(@vector_pages) . ')');

# A chunk that is not its vector's last: one whose next pointer is valid.
my ($chunk_blk, $chunk_at, $chunk_next_blk, $self_off);
for my $blk (@vector_pages)
{
	my @items = items_of($blk);
	for my $i (0 .. $#items)
	{
		my $at = $blk * $BLCKSZ + $items[$i]->[0];
		my ($hi, $lo, $off) = unpack('vvv', substr($pristine, $at, 6));
		next if $off == 0;
		($chunk_blk, $chunk_at, $chunk_next_blk, $self_off) = ($blk, $at, ($hi << 16) | $lo, $i + 1);
		last;
	}
	last if defined $chunk_at;
}
ok(defined $chunk_at, 'found a chunk with a successor');
my $count = unpack('v', substr($pristine, $chunk_at + 6, 2));
my $element_at = $element_pages[0] * $BLCKSZ + (items_of($element_pages[0]))[0]->[0];

sub vvv_patch
{
	my ($at, @values) = @_;
	return [ $at, pack('vvv', @values) ];
}

my @damages = (
	[ 'next pointer past the index', [ vvv_patch($chunk_at, 0, 0x7fff, 1) ] ],
	[ 'next pointer to the meta page', [ vvv_patch($chunk_at, 0, 0, 1) ] ],
	[ 'next pointer to itself (a loop)',
		[ vvv_patch($chunk_at, $chunk_blk >> 16, $chunk_blk & 0xffff, $self_off) ] ],
	[ 'next pointer to an offset past the page\'s items',
		[ vvv_patch($chunk_at, $chunk_next_blk >> 16, $chunk_next_blk & 0xffff, 300) ] ],
	[ 'chain ended early', [ vvv_patch($chunk_at, 0xffff, 0xffff, 0) ] ],
	[ 'float count one more', [ field_patch($chunk_at + 6, 'v', $count + 1) ] ],
	[ 'float count zero', [ field_patch($chunk_at + 6, 'v', 0) ] ],
	[ 'float count 0xffff', [ field_patch($chunk_at + 6, 'v', 0xffff) ] ],
	[ 'vector page flagged as an element page',
		[ field_patch($chunk_blk * $BLCKSZ + $special_flags, 'v', $page_elements) ] ],
	[ 'vector page with no kind', [ field_patch($chunk_blk * $BLCKSZ + $special_flags, 'v', 0) ] ],
	[ 'element names an element page as its chunk',
		[ vvv_patch($element_at + $element_header, 0, $element_pages[0], 1) ] ],
);

for my $d (@damages)
{
	my ($what, $patches) = @$d;
	restore_files($data, [ $heap_path, $index_path ], \@forks, \%saved);
	open my $fh, '+<', "$data/$index_path" or die $!;
	binmode $fh;
	print $fh patched_bytes($pristine, $patches);
	close $fh;
	$node->start;

	my $check = psql_outcome($node,
		q{SELECT count(*) FROM vecdb_index_check('items_v')}, timeout => 120, statement_timeout => 100);
	ok(is_clean_outcome($check) && ($check->{state} ne 'ok' || $check->{out} =~ /^[1-9]/),
		"$what: vecdb_index_check reports it ($check->{state} $check->{out})");
	my $scan = psql_outcome($node, q{SET enable_seqscan = off; SET vecdb.hnsw_ef_search = 1000;
		SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 1) LIMIT 1000) s},
		timeout => 120, statement_timeout => 100);
	is($scan->{state}, 'XX002', "$what: a scan gives a clean ERROR ($scan->{state} "
		  . ($scan->{message} // '') . ')');
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
