# 019_ivfpq_serializable.pl: under SERIALIZABLE, an ivfpq scan's SSI locks
# cover the rows it returns, not the candidates it only re-ranked (issue 10,
# item 11d).
#
# Rows id 1..2000 with v = [id, 0], val; a table with room for HOT updates
# (fillfactor 50), a primary key, an ivfpq index. T1 asks for the row
# nearest [5.1, 0] (LIMIT 1, vecdb.ivfpq_rerank = 100): it returns id 5
# after re-ranking ids 6, 4, 7, ... too. T2 reads row 1500 by its key, then
# updates val (not the vector: a HOT update, no index entry) of one row;
# T1 updates row 1500; both commit. So T2 -> T1 (T2 read what T1 wrote),
# and the question is whether T1 -> T2:
#   - T2 updates row 6, which T1 only re-ranked: T1 did not read it as a
#     row of its result, no conflict, both commit. Before the fix T1 held
#     SSI locks on every re-ranked row (promoted to their pages), and one
#     of the two failed with a serialization failure;
#   - T2 updates row 5, which T1 returned: a real write skew, and one of
#     the two must fail (40001). This guards the fix: the returned rows
#     are still locked (by the executor's fetch).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ivfpq_serializable');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', q{
	CREATE TABLE t (id int PRIMARY KEY, v vector(2) NOT NULL, val int NOT NULL) WITH (fillfactor = 50);
	INSERT INTO t SELECT i, ARRAY[i, 0]::real[]::vector, 0 FROM generate_series(1, 2000) i;
	CREATE INDEX idx ON t USING ivfpq (v) WITH (lists = 2);
	VACUUM ANALYZE t;});

my $nearest = q{SELECT id FROM t ORDER BY v <-> '[5.1,0]' LIMIT 1};
my $settings = 'SET enable_seqscan = off; SET enable_bitmapscan = off; SET vecdb.ivfpq_rerank = 100;';
like($node->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) $nearest"),
	qr/Index Scan using idx/, 'the nearest-row query is an ivfpq index scan');

# Run the interleaving with T2 updating row $victim; the SQLSTATEs the two
# sessions got (none: both committed).
sub write_skew
{
	my ($victim) = @_;
	my @s = map { $node->background_psql('postgres', on_error_stop => 0) } 1 .. 2;
	my @errors = ('', '');
	my $run = sub {
		my ($i, $sql) = @_;
		my ($out) = $s[$i]->query("\\set VERBOSITY verbose\n$sql");
		$errors[$i] .= $s[$i]->{stderr};
		$s[$i]->{stderr} = '';
		return $out;
	};
	$run->($_, $settings) for 0, 1;
	$run->(0, 'BEGIN ISOLATION LEVEL SERIALIZABLE');
	$run->(1, 'BEGIN ISOLATION LEVEL SERIALIZABLE');
	my $got = $run->(0, $nearest);
	$run->(1, 'SELECT val FROM t WHERE id = 1500');
	$run->(1, "UPDATE t SET val = val + 1 WHERE id = $victim");
	$run->(0, 'UPDATE t SET val = val + 1 WHERE id = 1500');
	$run->(0, 'COMMIT');
	$run->(1, 'COMMIT');
	$_->quit for @s;
	my @states = map { /ERROR:\s+([0-9A-Z]{5})/ ? $1 : 'committed' } @errors;
	return ($got, @states);
}

my ($got, @states) = write_skew(6);
is($got, '5', 'T1 gets row 5');
is_deeply(\@states, [ 'committed', 'committed' ],
	'T2 updating a row T1 only re-ranked: no conflict, both commit');

$node->safe_psql('postgres', 'UPDATE t SET val = 0');
($got, @states) = write_skew(5);
is($got, '5', 'T1 gets row 5 again');
ok((grep { $_ eq '40001' } @states) == 1,
	"T2 updating the row T1 returned: one of the two fails to serialize (@states)");

$node->stop;
done_testing();
