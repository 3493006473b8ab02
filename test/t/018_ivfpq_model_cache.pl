# 018_ivfpq_model_cache.pl: a long-lived session's cached ivfpq model goes
# when another session rebuilds or drops the index (issue 10, item 10).
#
# Each backend caches an index's trained model (about 8 x lists x dims
# bytes) in a memory context of its own ("vecdb ivfpq model"). It was kept
# for the backend's life: DROP INDEX and REINDEX left it behind in pooled
# connections. Now a relcache invalidation of the index drops it. Session A
# (a pooled connection, kept open) queries through the index; session B:
#   - REINDEXes it with other options and other rows: A holds no model
#     once it has taken the invalidation, and its next query, through the
#     rebuilt index, gives the exact answer of a sequential scan;
#   - invalidates the index while A is in the middle of a scan (a cursor):
#     the model A's scan uses stays until the scan ends, the fetches after
#     the invalidation return the same rows as an uninterrupted scan, and
#     the model is freed at COMMIT;
#   - drops it: A holds no model.
# Before the fix, the count of models after REINDEX and after DROP INDEX
# is 1, not 0; the cursor part guards the fix (a model freed under a
# running scan would be a use after free).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ivfpq_model_cache');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', q{
	CREATE TABLE t (id int, v vector(8));
	INSERT INTO t SELECT i, ARRAY(SELECT sin(i * 1.3 + j) FROM generate_series(1, 8) j)::real[]::vector
	FROM generate_series(1, 1000) i;
	CREATE INDEX idx ON t USING ivfpq (v) WITH (lists = 4);
	ANALYZE t;});

my $q = "'[0.5,0.1,-0.3,0.9,0,0.2,-0.7,0.4]'";
my $topk = "SELECT string_agg(id::text, ',' ORDER BY d, id) FROM "
  . "(SELECT id, v <-> $q AS d FROM t ORDER BY v <-> $q LIMIT 10) s";
my $models = q{SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'vecdb ivfpq model'};

my $a = $node->background_psql('postgres');
$a->query_safe('SET enable_seqscan = off; SET vecdb.ivfpq_probes = 100; SET vecdb.ivfpq_rerank = 2000');
like($a->query_safe("EXPLAIN (COSTS OFF) $topk"), qr/Index Scan using idx/, 'A queries through the index');
my $exact = $node->safe_psql('postgres', "SET enable_indexscan = off; $topk");
is($a->query_safe($topk), $exact, 'A: the exact answer');
is($a->query_safe($models), '1', 'A caches one model');

# REINDEX in B, with other rows and another number of lists
$node->safe_psql('postgres', q{
	DELETE FROM t WHERE id % 3 = 0;
	INSERT INTO t SELECT i, ARRAY(SELECT cos(i * 0.7 + j) FROM generate_series(1, 8) j)::real[]::vector
	FROM generate_series(2001, 2600) i;
	ALTER INDEX idx SET (lists = 11);
	REINDEX INDEX idx;});
is($a->query_safe($models), '0', 'after B rebuilt the index, A holds no model');
is($node->safe_psql('postgres', q{SELECT lists FROM vecdb_ivfpq_info('idx')}), '11', 'the rebuilt index has 11 lists');
$exact = $node->safe_psql('postgres', "SET enable_indexscan = off; $topk");
is($a->query_safe($topk), $exact, 'A, through the rebuilt index: the exact answer');
is($a->query_safe($models), '1', 'A caches the new model');

# an invalidation while A's scan is open: the scan keeps its model
my $all = "SELECT id FROM t ORDER BY v <-> $q";
my $uninterrupted = $a->query_safe(
	"SET vecdb.ivfpq_rerank = 10000; SELECT string_agg(id::text, ',') FROM ($all LIMIT 40) s");
$a->query_safe("BEGIN; SET LOCAL vecdb.ivfpq_rerank = 10000; DECLARE c CURSOR FOR $all");
my $first = $a->query_safe('FETCH 20 FROM c');
# B's VACUUM changes the index's pg_class row (reltuples), which invalidates it
$node->safe_psql('postgres', q{
	INSERT INTO t SELECT i, ARRAY(SELECT sin(i * 0.1 + j) FROM generate_series(1, 8) j)::real[]::vector
	FROM generate_series(5001, 5300) i;
	VACUUM t;});
is($a->query_safe($models), '1', 'during the scan, after the invalidation, the model it uses is still there');
my $second = $a->query_safe('FETCH 20 FROM c');
is(join(',', split(/\n/, "$first\n$second")), $uninterrupted,
	'the scan goes on as an uninterrupted one would');
$a->query_safe('COMMIT');
is($a->query_safe($models), '0', 'once the scan is over, the invalidated model is freed');
$a->query_safe('RESET vecdb.ivfpq_rerank');
like($a->query_safe($topk), qr/^\d+(,\d+){9}$/, 'A queries through the index again');
is($a->query_safe($models), '1', 'and caches the model again');

$node->safe_psql('postgres', 'DROP INDEX idx');
is($a->query_safe($models), '0', 'after B dropped the index, A holds no model');

$a->quit;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed');
$node->stop;
done_testing();
