# 041_extension_update.pl: ALTER EXTENSION vecdb UPDATE from 0.1.0 (issue 13).
#
# A database made with vecdb 0.1.0, with a table and an hnsw and an ivfpq
# index, is updated to 0.2.0. Then:
#
#   - the new objects work (binary_quantize, <~>, <%>);
#   - the old indexes answer exactly as they did before the update, take
#     new rows, and vecdb_index_check finds nothing wrong in them;
#   - the updated database has the same extension objects, with the same
#     definitions and comments, as one where 0.2.0 was installed fresh;
#   - there is no way back to 0.1.0 (no downgrade script).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('extension_update');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE updated');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

$node->safe_psql('updated', "CREATE EXTENSION vecdb VERSION '0.1.0'");
is($node->safe_psql('updated', "SELECT extversion FROM pg_extension WHERE extname = 'vecdb'"),
	'0.1.0', 'installed at 0.1.0');
my ($rc, $out, $err) = $node->psql('updated', "SELECT binary_quantize('[1,-1]'::vector)");
like($err, qr/function binary_quantize\(vector\) does not exist/,
	'0.1.0 has no binary_quantize');

$node->safe_psql('updated', q{
	CREATE TABLE items (id int PRIMARY KEY, v vector(8));
	SELECT setseed(0.41);
	INSERT INTO items SELECT i, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 8) WHERE i > 0)::real[]::vector
		FROM generate_series(1, 2000) i;
	CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops) WITH (streaming = off);
	CREATE INDEX items_ivfpq ON items USING ivfpq (v vector_cosine_ops) WITH (lists = 8, m = 4);
	ANALYZE items});

my @queries = ('[1,0,0,0,0,0,0,0]', '[-0.5,0.5,-0.5,0.5,0,0,0,0]', '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]');
sub answers
{
	my ($op) = @_;
	return join ';',
	  map {
		$node->safe_psql('updated',
			"SET enable_seqscan = off; SET vecdb.ivfpq_probes = 8;"
			  . " SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v $op '$_' LIMIT 10) s")
	  } @queries;
}
sub uses_index
{
	my ($op, $index) = @_;
	my $plan = $node->safe_psql('updated',
		"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v $op '$queries[0]' LIMIT 10");
	return $plan =~ /Index Scan using $index/;
}
ok(uses_index('<->', 'items_hnsw') && uses_index('<=>', 'items_ivfpq'), 'both indexes answer before the update');
my %before = ('<->' => answers('<->'), '<=>' => answers('<=>'));

$node->safe_psql('updated', 'ALTER EXTENSION vecdb UPDATE');
is($node->safe_psql('updated', "SELECT extversion FROM pg_extension WHERE extname = 'vecdb'"),
	'0.2.0', 'updated to 0.2.0');

# the new objects
is($node->safe_psql('updated',
	"SELECT binary_quantize('[1,-1,2]'::vector)::text || ' ' || (B'1010' <~> B'0110') || ' ' || (B'1111' <%> B'1100')"),
	'101 2 0.5', 'binary_quantize, <~> and <%> work after the update');
is($node->safe_psql('updated',
	'SELECT count(*) FROM items WHERE binary_quantize(v) <~> binary_quantize(v) = 0'),
	'2000', 'over the table\'s own vectors');

# the old indexes
ok(uses_index('<->', 'items_hnsw') && uses_index('<=>', 'items_ivfpq'), 'both indexes answer after the update');
is(answers('<->'), $before{'<->'}, 'hnsw answers as it did before the update');
is(answers('<=>'), $before{'<=>'}, 'ivfpq answers as it did before the update');
for my $index ('items_hnsw', 'items_ivfpq')
{
	is($node->safe_psql('updated', "SELECT count(*) FROM vecdb_index_check('$index')"),
		'0', "vecdb_index_check finds nothing wrong in $index");
}
$node->safe_psql('updated', q{INSERT INTO items VALUES (5000, '[9,9,9,9,9,9,9,9]')});
is($node->safe_psql('updated',
	"SET enable_seqscan = off; SELECT id FROM items ORDER BY v <-> '[9,9,9,9,9,9,9,9]' LIMIT 1"),
	'5000', 'hnsw finds a row inserted after the update');
is($node->safe_psql('updated',
	"SET enable_seqscan = off; SET vecdb.ivfpq_probes = 8; SELECT id FROM items ORDER BY v <=> '[9,9,9,9,9,9,9,9]' LIMIT 1"),
	'5000', 'ivfpq finds it too');

# the same objects as a fresh install
$node->safe_psql('fresh', 'CREATE EXTENSION vecdb');
is($node->safe_psql('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'vecdb'"),
	'0.2.0', 'a fresh install is 0.2.0');
my $objects = q{
	SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
		|| coalesce(' -- ' || obj_description(d.objid, c.relname::text), '')
	FROM pg_depend d JOIN pg_class c ON c.oid = d.classid
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vecdb')
	ORDER BY 1};
my $functions = q{
	SELECT format('%s %s %s%s%s %s', p.oid::regprocedure, p.prorettype::regtype,
		p.provolatile, p.proparallel, p.proisstrict, p.prosrc)
	FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vecdb')
	ORDER BY 1};
my $fresh_objects = $node->safe_psql('fresh', $objects);
cmp_ok(scalar(split /\n/, $fresh_objects), '>', 80, 'the fresh install lists its objects');
like($fresh_objects, qr/operator <~>\(bit,bit\) -- hamming distance/, 'with the new ones and their comments');
is($node->safe_psql('updated', $objects), $fresh_objects, 'the updated database has the same objects and comments');
is($node->safe_psql('updated', $functions), $node->safe_psql('fresh', $functions),
	'and the same function definitions');
# every operator class's support functions, 0.1.0's included: the
# update gives those their function 2, as a fresh install declares it
my $support = q{
	SELECT format('%s %s %s(%s,%s) %s', a.amname, f.opfname, p.amprocnum,
		p.amproclefttype::regtype, p.amprocrighttype::regtype, p.amproc::regprocedure)
	FROM pg_amproc p JOIN pg_opfamily f ON f.oid = p.amprocfamily JOIN pg_am a ON a.oid = f.opfmethod
	WHERE a.amname IN ('hnsw', 'ivfpq', 'ivfflat') ORDER BY 1};
my $fresh_support = $node->safe_psql('fresh', $support);
like($fresh_support, qr/^hnsw vector_l2_ops 2\(vector,vector\) vector_l2_support\(internal\)$/m,
	'a fresh install gives each class its support function 2');
is($node->safe_psql('updated', $support), $fresh_support,
	'and the updated database has the same support functions');

# no way back
($rc, $out, $err) = $node->psql('updated', "ALTER EXTENSION vecdb UPDATE TO '0.1.0'");
like($err, qr/no update path from version "0\.2\.0" to version "0\.1\.0"/, 'no downgrade to 0.1.0');

$node->stop;
done_testing();
