# 015_ivfpq_concurrent_append.pl: 16 clients inserting at once into one-list
# ivfpq indexes (issue 10, item 5).
#
# Every insert appends to the same list's tail page; when it is full one
# insert adds a page and links it. An insert that read the index's size
# before that page was added then followed the link to a block past the
# size it had read, and raised "damaged page ... REINDEX it". Two indexes
# on one table: idx_untrained, built on the empty table (one list, 6-byte
# entries: a new page every 1360 rows), and idx_wide, trained on 20 rows
# with lists = 1 and m = 512 (522-byte entries: 15 a page, so its tail
# gets a new page every 15 rows and the race comes often). Both keep
# streaming off: this is the synchronous append (a merge of the hot tier
# appends the same way, test/t/033). A third, idx_hot, is idx_wide with
# streaming on: its inserts append to the hot tier's tail page (2056-byte
# entries: 3 a page, so a new tail page every 3 rows), the same race on the
# tier's chain. pgbench runs 16
# clients, a fixed number of inserts each. Then:
#
#   - pgbench exits 0, with no failed transaction and nothing on stderr;
#   - the table holds exactly the rows seeded plus those inserted;
#   - vecdb_index_check finds no problem in any index; idx_untrained and
#     idx_wide have one list entry a row (vecdb_ivfpq_lists), idx_hot one
#     hot row a row inserted after its build (vecdb_hot_tier);
#   - every row is returned once through each index (a NULL query returns
#     every entry).
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(find_pgbench);

my $dims = 512;
my $clients = 16;
my $per_client = 150;
my $seeded = 20;


my $node = PostgreSQL::Test::Cluster->new('ivfpq_append');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nautovacuum = off\n");
$node->start;

my $random_vector = "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims))::real[]::vector";
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE t (id bigserial PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', 'CREATE INDEX idx_untrained ON t USING ivfpq (v vector_l2_ops) WITH (streaming = off)');
$node->safe_psql('postgres', "SELECT setseed(0.015); INSERT INTO t (v) SELECT "
	  . "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) WHERE i > 0)::real[]::vector"
	  . " FROM generate_series(1, $seeded) i");
$node->safe_psql('postgres',
	"CREATE INDEX idx_wide ON t USING ivfpq (v vector_l2_ops) WITH (lists = 1, m = $dims, streaming = off)");
$node->safe_psql('postgres',
	"CREATE INDEX idx_hot ON t USING ivfpq (v vector_l2_ops) WITH (lists = 1, m = $dims)");
is( $node->safe_psql('postgres',
		q{SELECT string_agg(format('%s %s %s', c.relname, i.lists, coalesce(i.m, 0)), ', ' ORDER BY c.relname)
		  FROM pg_class c, vecdb_ivfpq_info(c.oid) i WHERE c.relname IN ('idx_untrained', 'idx_wide')}),
	"idx_untrained 1 0, idx_wide 1 $dims",
	'one list each: idx_untrained untrained, idx_wide with m = 512');

my $tmp = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$tmp/insert.sql", "INSERT INTO t (v) SELECT $random_vector;\n");
my @cmd = (find_pgbench(), '-n', '-c', $clients, '-j', '2', '-t', $per_client, '-f', "$tmp/insert.sql");
note 'running ' . join(' ', @cmd);
my ($out, $err) = ('', '');
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = 'postgres';
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
}
my $status = $? >> 8;
note "pgbench output:\n$out";
is($status, 0, 'pgbench exits 0') or diag "pgbench stderr:\n$err";
is($err, '', 'pgbench prints nothing on stderr');
like($out, qr/^number of failed transactions: 0 \(/m, 'pgbench counts no failed transaction');
like($out, qr/^number of transactions actually processed: \Q${\($clients * $per_client)}\E\//m,
	'every client ran all its inserts');

my $rows = $seeded + $clients * $per_client;
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), $rows, "the table holds the $rows rows");

for my $idx (qw(idx_untrained idx_wide idx_hot))
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecdb_index_check('$idx')"),
		'0', "$idx: vecdb_index_check finds no problem")
	  or diag $node->safe_psql('postgres',
		"SELECT blkno, offnum, problem FROM vecdb_index_check('$idx') LIMIT 20");
	next if $idx eq 'idx_hot';
	my ($entries, $pages) = split /\|/, $node->safe_psql('postgres',
		"SELECT entries, pages FROM vecdb_ivfpq_lists('$idx')");
	is($entries, $rows, "$idx: one entry a row");
	note "$idx: $pages list pages";
}
my ($hot, $hot_pages) = split /\|/, $node->safe_psql('postgres', "SELECT rows, pages FROM vecdb_hot_tier('idx_hot')");
is($hot, $clients * $per_client, 'idx_hot: one hot row a row inserted');
cmp_ok($hot_pages, '>=', int($clients * $per_client / 3), 'idx_hot: its tier grew page by page (3 rows a page)');
cmp_ok((split /\|/, $node->safe_psql('postgres', q{SELECT pages FROM vecdb_ivfpq_lists('idx_wide')}))[0],
	'>=', int($rows / 15), 'idx_wide: its list grew page by page (15 entries a page)');

# each index returns every row to a NULL query (only one index is usable
# at a time: the others are dropped in a transaction rolled back)
for my $idx (qw(idx_untrained idx_wide idx_hot))
{
	my $others = join(', ', grep { $_ ne $idx } qw(idx_untrained idx_wide idx_hot));
	my $res = $node->safe_psql('postgres', qq{
		BEGIN;
		DROP INDEX $others;
		SET LOCAL enable_seqscan = off;
		SELECT count(*), count(DISTINCT id) FROM
			(SELECT id FROM t ORDER BY v <-> (SELECT NULL::vector) LIMIT 100000) s;
		ROLLBACK;});
	is($res, "$rows|$rows", "$idx: an index scan returns every row once");
}

my $log = slurp_file($node->logfile);
unlike($log, qr/damaged page/, 'no insert saw a damaged page');
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed');

$node->stop;
done_testing();
