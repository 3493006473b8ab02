# 037_tier_scans_during_merges.pl: scans that run while rows move from the
# hot tier into the cold structure (issue 11).
#
# A scan reads the hot pages first, then the cold structure; a merge moves
# rows from the one to the other and reuses the pages it retires, possibly
# under a scan that still holds a link to one (src/tier/tier.h). Neither
# may make a scan miss a row or return one twice. Here pgbench inserts from
# two clients and merges the hot tier from a third as fast as it can, while
# the test runs scans that can return every row: ivfpq with every list
# probed and iterative scans on, so that the index scan is exact, in a
# REPEATABLE READ transaction that also counts the table. Each scan must
# return every row its snapshot sees, each once, for as long as pgbench
# runs. Afterwards
# vecdb_index_check finds nothing, and a last merge empties the tier.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(find_pgbench);

my $dims = 8;

my $node = PostgreSQL::Test::Cluster->new('tier_scans');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;

my $random_vector = "ARRAY(SELECT random() FROM generate_series(1, $dims))::real[]::vector";
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE t (id bigserial PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres',
	"SELECT setseed(0.037); INSERT INTO t (v) SELECT $random_vector FROM generate_series(1, 2000)");
$node->safe_psql('postgres', 'CREATE INDEX idx ON t USING ivfpq (v vector_l2_ops) WITH (lists = 4)');

my $tmp = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$tmp/insert.sql",
	"INSERT INTO t (v) SELECT $random_vector;\n");
PostgreSQL::Test::Utils::append_to_file("$tmp/merge.sql", "SELECT vecdb_merge('idx');\n");

local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGDATABASE} = 'postgres';
my $seconds = 30;
my ($ins_out, $ins_err, $mrg_out, $mrg_err) = ('', '', '', '');
my $inserts = IPC::Run::start(
	[ find_pgbench(), '-n', '-c', '2', '-T', $seconds, '-f', "$tmp/insert.sql" ],
	'>', \$ins_out, '2>', \$ins_err);
my $merges = IPC::Run::start(
	[ find_pgbench(), '-n', '-c', '1', '-T', $seconds, '-f', "$tmp/merge.sql" ],
	'>', \$mrg_out, '2>', \$mrg_err);

my $query = q{
	BEGIN ISOLATION LEVEL REPEATABLE READ;
	SET LOCAL enable_seqscan = off;
	SET LOCAL vecdb.ivfpq_probes = 4;
	SET LOCAL vecdb.ivfpq_iterative_scan = relaxed_order;
	SELECT (SELECT count(*) FROM t) || ' ' || count(*) || ' ' || count(DISTINCT id)
	FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10000000) s;
	COMMIT;
};
my ($bad, $done, $first_bad) = (0, 0, '');
# scans for as long as the inserts and merges run
my $end = time() + $seconds - 1;
for (my $i = 1; time() < $end; $i++)
{
	my $got = $node->safe_psql('postgres', $query);
	my ($total, $returned, $distinct) = split / /, $got;
	$done++;
	if ($total != $returned || $returned != $distinct)
	{
		$bad++;
		$first_bad ||= "scan $i: table $total rows, scan returned $returned, $distinct distinct";
	}
}
$inserts->finish;
$merges->finish;
note "pgbench inserts:\n$ins_out";
note "pgbench merges:\n$mrg_out";
like($ins_out, qr/^number of failed transactions: 0 \(/m, 'the inserts all committed');
like($mrg_out, qr/^number of failed transactions: 0 \(/m, 'the merges all succeeded');
cmp_ok($done, '>', 0, "scans ran during the merges ($done)");
is($bad, 0, "each of $done scans during merges returned every row it sees, once")
  or diag $first_bad;

my $merged = $node->safe_psql('postgres', "SELECT merged FROM vecdb_hot_tier('idx')");
cmp_ok($merged, '>', 0, "the merges moved rows while the scans ran ($merged)");
is($node->safe_psql('postgres', "SELECT count(*) FROM vecdb_index_check('idx')"),
	'0', 'vecdb_index_check finds nothing');
$node->safe_psql('postgres', "SELECT vecdb_merge('idx')");
is($node->safe_psql('postgres', "SELECT rows FROM vecdb_hot_tier('idx')"), '0',
	'a last merge empties the tier');

$node->stop;
done_testing();
