# 017_ivfpq_damaged_meta_plan.pl: a damaged ivfpq meta page does not make
# planning fail (issue 10, item 11b).
#
# The cost estimate read the meta page with read_meta, whose ERROR ("is not
# an ivfpq index", "format version", ...) made the planning of every
# ORDER BY on the table fail, a sequential scan's included. Now the index
# costs disable_cost and the error is left to a scan that uses it anyway.
#
# For each damage to the meta page (its magic, its format version, its
# special space's size: a header the buffer manager accepts and the access
# method does not), with the node stopped and the pristine file put back
# between rounds:
#   - EXPLAIN of ORDER BY v <-> q LIMIT 5 plans, a sequential scan;
#   - the query returns its 5 rows;
#   - with sequential scans disabled, the query either plans another way
#     or fails with a clean "index corrupted" ERROR (XX002), or for the
#     format version the "other format, REINDEX" one (55000), not a crash;
#   - vecdb_index_check reports the meta page.
# What it does not cover: a page header so broken that the buffer manager
# itself refuses to read the page ("invalid page in block 0"): that ERROR
# comes from PostgreSQL's read, before the access method sees the page
# (btree's planning, which reads its meta page too, fails the same way).
use strict;
use warnings;

use File::Copy qw(copy);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(field_patch patched_bytes psql_outcome);

my $BLCKSZ = 8192;
my $contents = 24;    # MAXALIGN(SizeOfPageHeaderData): the MetaPage starts here

my $node = PostgreSQL::Test::Cluster->new('ivfpq_damaged_meta');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', q{
	CREATE TABLE t (id int, v vector(4));
	INSERT INTO t SELECT i, ARRAY[i % 17, i % 5, -i % 11, 1]::real[]::vector FROM generate_series(1, 500) i;
	CREATE INDEX idx ON t USING ivfpq (v) WITH (lists = 4);
	VACUUM ANALYZE t; CHECKPOINT});

my $query = q{SELECT id FROM t ORDER BY v <-> '[1,2,3,4]' LIMIT 5};
like($node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $query"),
	qr/Index Scan using idx/, 'the pristine index serves the query');

my $file = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('idx')});
$node->stop('fast');
my $pristine = slurp_file($file);
my $saved = PostgreSQL::Test::Utils::tempdir . '/idx.pristine';
copy($file, $saved) or die "copy $file: $!";

my @damages = (
	[ 'magic', [ field_patch($contents + 0, 'V', 0x12345678) ] ],
	[ 'format version', [ field_patch($contents + 4, 'V', 99) ] ],
	# pd_upper and pd_special: 16 bytes of special space, not the 8 of
	# ivfpq's (a header in order for the buffer manager)
	[ 'special space size', [ field_patch(14, 'v', $BLCKSZ - 16), field_patch(16, 'v', $BLCKSZ - 16) ] ],
);
for my $d (@damages)
{
	my ($what, $patches) = @$d;
	open my $fh, '>:raw', $file or die "open $file: $!";
	print $fh patched_bytes($pristine, $patches);
	close $fh;
	$node->start;

	my ($ret, $plan, $err) = $node->psql('postgres', "EXPLAIN (COSTS OFF) $query");
	is($ret, 0, "$what: EXPLAIN plans the query") or diag $err;
	like($plan, qr/Seq Scan on t/, "$what: with a sequential scan");
	unlike($plan, qr/idx/, "$what: not with the damaged index");
	($ret, my $out, $err) = $node->psql('postgres', $query);
	is($ret, 0, "$what: the query runs") or diag $err;
	is(scalar(() = $out =~ /^\d+$/mg), 5, "$what: and returns 5 rows");

	# A format version not this vecdb's is refused as another format (55000,
	# with a hint to REINDEX), not as damage.
	my $r = psql_outcome($node, "SET enable_seqscan = off; $query", statement_timeout => 30, timeout => 60);
	ok($r->{state} eq 'ok' || $r->{state} eq 'XX002' || ($what eq 'format version' && $r->{state} eq '55000'),
		"$what: forced off sequential scans, a result or a clean index-corrupted (or wrong-format) ERROR ($r->{state})")
	  or diag $r->{err};

	cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM vecdb_index_check('idx') WHERE blkno = 0}),
		'>', 0, "$what: vecdb_index_check reports the meta page");

	$node->stop('fast');
	copy($saved, $file) or die "restore $file: $!";
}

$node->start;
like($node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $query"),
	qr/Index Scan using idx/, 'restored, the index serves the query again');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed');
$node->stop;
done_testing();
