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
#      (1 and 2: VecdbTest::hnsw_replica_and_crash, which 039 shares.)
#   3. Damaged chunk pages, patched in the index file with the server
#      stopped, as 007 does: a chunk's next pointer (out of the index, to
#      itself, ended early), its float count, its page's flags, and an
#      element's chunk address. vecdb_index_check reports each; a scan
#      that reaches every element gives a clean ERROR (index corrupted);
#      INSERT and VACUUM give a result or a clean ERROR; no backend dies.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(field_patch patched_bytes damage_test_node is_clean_outcome save_relation_files
  hnsw_replica_and_crash hnsw_damage_outcomes hnsw_problems);

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

# 1. the replica, 2. an immediate stop
hnsw_replica_and_crash(
	vector_sql => \&vector_sql,
	dims => $dims,
	rows => 800,
	batches => [ 100, 200, 100 ],
	queries => $n_queries,
	seed => 0.038,
	index_sql => 'CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops)',
	after_inserts => sub {
		my ($primary) = @_;
		is($primary->safe_psql('postgres', q{SELECT rows FROM vecdb_hot_tier('items_v')}), '0',
			'3,072-d inserts go to the graph, not the hot tier');
	});

# ---------------------------------------------------------------------------
# 3. damaged chunks

my $node = damage_test_node('wide_damage');
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', 'SELECT setseed(-0.038); INSERT INTO items SELECT i, '
	  . vector_sql('i') . ' FROM generate_series(1, 300) i');
$node->safe_psql('postgres', 'CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', 'VACUUM items; CHECKPOINT');
is(hnsw_problems($node), '', 'the index to damage is sound');
my ($heap_path, $index_path) =
  split /\|/, $node->safe_psql('postgres', q{SELECT pg_relation_filepath('items'), pg_relation_filepath('items_v')});
$node->stop('fast');

my $data = $node->data_dir;
my @forks = ('', '_fsm', '_vm', '_init');
my $saved = save_relation_files($data, [ $heap_path, $index_path ], \@forks);
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
	my $r = hnsw_damage_outcomes(node => $node, paths => [ $heap_path, $index_path ], forks => \@forks,
		saved => $saved, index_path => $index_path, pristine => $pristine, patches => $patches,
		query => '(SELECT v FROM items WHERE id = 1)', vector_sql => \&vector_sql);
	my $check = $r->{check};
	ok(is_clean_outcome($check) && ($check->{state} ne 'ok' || $check->{out} =~ /^[1-9]/),
		"$what: vecdb_index_check reports it ($check->{state} $check->{out})");
	is($r->{scan}{state}, 'XX002', "$what: a scan gives a clean ERROR ($r->{scan}{state} "
		  . ($r->{scan}{message} // '') . ')');
	ok(is_clean_outcome($r->{insert}), "$what: INSERT gives a result or a clean ERROR ($r->{insert}{state})");
	ok(is_clean_outcome($r->{vacuum}), "$what: VACUUM gives a result or a clean ERROR ($r->{vacuum}{state})");
	is($r->{alive}, '1', "$what: the server still answers");
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC/, 'no server process died');

done_testing();
