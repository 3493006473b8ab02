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
#      index sound and answering as it did. (1 and 2 are 038's, in
#      VecdbTest::hnsw_replica_and_crash.)
#   3. Damage, patched in the index file with the server stopped: the meta
#      page's quantization byte (none in format 3, unknown kinds, sq8 in
#      format 2) and an element's code header (lo, step and slack set to
#      NaN, infinity, negative or zero). vecdb_index_check reports what it
#      can see; scans, INSERT and VACUUM give a result or a clean ERROR;
#      no backend dies.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(field_patch damage_test_node is_clean_outcome save_relation_files
  hnsw_replica_and_crash hnsw_damage_outcomes hnsw_problems);

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

# 1. the replica, 2. an immediate stop
hnsw_replica_and_crash(
	vector_sql => \&vector_sql,
	dims => $dims,
	rows => 2000,
	batches => [ 300, 300, 200 ],
	queries => $n_queries,
	seed => 0.039,
	index_sql => 'CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) '
	  . 'WITH (quantization = sq8, streaming = off)');

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
is(hnsw_problems($node), '', 'the index to damage is sound');
my ($heap_path, $index_path) =
  split /\|/, $node->safe_psql('postgres', q{SELECT pg_relation_filepath('items'), pg_relation_filepath('items_v')});
$node->stop('fast');

my $data = $node->data_dir;
my @forks = ('', '_fsm', '_vm', '_init');
my $saved = save_relation_files($data, [ $heap_path, $index_path ], \@forks);
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
	my $r = hnsw_damage_outcomes(node => $node, paths => [ $heap_path, $index_path ], forks => \@forks,
		saved => $saved, index_path => $index_path, pristine => $pristine, patches => $patches,
		query => vector_sql(1), vector_sql => \&vector_sql);
	my $check = $r->{check};
	ok(is_clean_outcome($check) && (!$visible || $check->{state} ne 'ok' || $check->{out} =~ /^[1-9]/),
		"$what: vecdb_index_check " . ($visible ? 'reports it' : 'gives a result or a clean ERROR')
		  . " ($check->{state} $check->{out})");
	ok(is_clean_outcome($r->{scan}), "$what: a scan gives a result or a clean ERROR ($r->{scan}{state} "
		  . ($r->{scan}{message} // '') . ')');
	ok(is_clean_outcome($r->{insert}), "$what: INSERT gives a result or a clean ERROR ($r->{insert}{state})");
	ok(is_clean_outcome($r->{vacuum}), "$what: VACUUM gives a result or a clean ERROR ($r->{vacuum}{state})");
	is($r->{alive}, '1', "$what: the server still answers");
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC/, 'no server process died');

done_testing();
