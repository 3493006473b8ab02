# 044_ivfflat_damage.pl: a damaged ivfflat index gives clean ERRORs (or
# answers), never a crash or a hang (issue 13).
#
# An ivfflat index's list pages hold vectors (src/ivfpq/ivfpq.h), which
# its scan reads in place. 40 seeded rounds: the index file, pristine,
# with random damage (1 to 8 random bytes anywhere, or a run of a list
# page overwritten with zeros, ones, random bytes or another page's run, or
# a 16-bit field of the meta page or a list page set to a telling value),
# with the server stopped; then vecdb_index_check, scans at random probes
# and iterative settings, an INSERT and a VACUUM. Each must end in a result
# or an ERROR with an SQLSTATE that is not a crash or a timeout, and the
# server must answer afterwards. Every round restores the pristine file.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(pick patched_bytes restore_files damage_test_node psql_outcome is_clean_outcome
  random_bytes_patches random_u16_patch region_patch save_relation_files);

my $BLCKSZ = 8192;
srand(44);

my $node = damage_test_node('ivfflat_damage');
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', q{
	CREATE TABLE items (id int PRIMARY KEY, v vector(16));
	SELECT setseed(0.44);
	INSERT INTO items SELECT i, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 16) WHERE i > 0)::real[]::vector
		FROM generate_series(1, 2000) i;
	CREATE INDEX items_v ON items USING ivfflat (v vector_l2_ops) WITH (lists = 8, streaming = off);
	CHECKPOINT});
is($node->safe_psql('postgres', q{SELECT count(*) FROM vecdb_index_check('items_v')}), '0',
	'the pristine index is sound');
my $data = $node->data_dir;
my $index_path = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('items_v')});
my @paths = ($index_path, $node->safe_psql('postgres', q{SELECT pg_relation_filepath('items')}));
my @forks = ('', '_fsm', '_vm');
$node->stop('fast');
my $saved = save_relation_files($data, \@paths, \@forks);
open my $fh, '<', "$data/$index_path" or die $!;
binmode $fh;
my $pristine = do { local $/; <$fh> };
close $fh;
my $blocks = length($pristine) / $BLCKSZ;
cmp_ok($blocks, '>', 4, "the index has $blocks blocks");

my %limits = (timeout => 120, statement_timeout => 100);
my ($rounds, $unclean, $errors) = (40, 0, 0);
for my $round (1 .. $rounds)
{
	my $kind = pick('bytes', 'region', 'field');
	my @patches;
	if ($kind eq 'bytes') { @patches = random_bytes_patches($pristine, 8); }
	elsif ($kind eq 'region')
	{
		my ($p) = region_patch($pristine, 1 + int(rand($blocks - 1)), sub { int(rand($blocks)) });
		@patches = ($p);
	}
	else
	{
		my ($p) = random_u16_patch($pristine, pick(0, 1 + int(rand($blocks - 1))));
		@patches = ($p);
	}
	restore_files($data, \@paths, \@forks, $saved);
	open my $out, '+<', "$data/$index_path" or die $!;
	binmode $out;
	print $out patched_bytes($pristine, \@patches);
	close $out;
	$node->start;
	my $q = '[' . join(',', map { sprintf('%.3f', rand() * 2 - 1) } 1 .. 16) . ']';
	my %r = (
		check => psql_outcome($node, q{SELECT count(*) FROM vecdb_index_check('items_v')}, %limits),
		scan => psql_outcome($node,
			'SET enable_seqscan = off; SET vecdb.ivfflat_probes = ' . pick(1, 3, 8, 1000) . '; '
			  . 'SET vecdb.ivfflat_iterative_scan = ' . pick('off', 'relaxed_order') . '; '
			  . "SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '$q' LIMIT 50) s", %limits),
		insert => psql_outcome($node,
			"INSERT INTO items SELECT i, '$q' FROM generate_series(3001, 3010) i", %limits),
		vacuum => psql_outcome($node, 'DELETE FROM items WHERE id % 7 = 0; VACUUM items', %limits));
	my $alive = $node->safe_psql('postgres', 'SELECT 1');
	for my $step (sort keys %r)
	{
		$errors++ if $r{$step}{state} ne 'ok';
		next if is_clean_outcome($r{$step});
		$unclean++;
		diag("round $round ($kind): $step: $r{$step}{state} $r{$step}{err}");
	}
	$unclean++ unless $alive eq '1';
	$node->stop('fast');
}
is($unclean, 0, "$rounds rounds of damage: every step a result or a clean ERROR, the server up");
# the damage reaches the readers: some of it is noticed
cmp_ok($errors, '>', 5, "the damage was noticed: $errors steps ended in an ERROR");

$node->start;
restore_files($data, \@paths, \@forks, $saved);
done_testing();
