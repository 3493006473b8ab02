# 040_hnsw_parallel_build.pl: which hnsw builds ask for parallel workers.
#
# PostgreSQL sizes a parallel CREATE INDEX by the table's main fork, but a
# column of vectors past about 500 dims lives in the TOAST table, so a big
# table of wide vectors looks tiny to it (index/vector_index.h,
# build_workers). The build says at DEBUG1 how many workers it asked for and
# got ("hnsw build of ...: L of R parallel workers launched"); a serial
# build says nothing of the kind.
#
#   1. 12,000 rows of 600 dims (2,400 bytes a vector: TOASTed; a main fork
#      of 80 kB, under min_parallel_table_scan_size, TOAST 30 MB over it):
#      the build asks for one worker, and the index it builds finds the
#      exact top 10 (recall >= 0.95 over 20 queries) and is sound
#      (vecdb_index_check also reports any row the index lacks).
#   2. The same table with max_parallel_maintenance_workers = 0, or with the
#      table's parallel_workers = 0, or with min_parallel_table_scan_size
#      above the two forks together: a serial build, as PostgreSQL decides
#      for any table.
#   3. An index with a predicate: what PostgreSQL says stands (its parallel
#      safety is the planner's to judge), so no worker.
#   4. A parallel build past maintenance_work_mem (20,000 rows of 100 dims,
#      a table with parallel_workers = 1 and 4 MB: the graph holds some
#      7,000): it says so (NOTICE), the leader and the worker both go on
#      inserting on pages, and the index holds every row (vecdb_index_check)
#      and finds the exact top 10 (recall >= 0.95 over 20 queries), as the
#      serial build past maintenance_work_mem does, in an index no larger
#      than the serial build's.
#   5. The same with CREATE INDEX CONCURRENTLY.
#   6. Vectors stored out of line (2,000 dims), 10,500 rows, 16 MB: both
#      participants write vector chunks and elements on pages at once; the
#      index is sound and finds the exact top 10. A statement_timeout that
#      strikes mid-build (at half the build's time, on pages by then)
#      gives the ERROR a cancel gives, no backend dies, and the next build
#      succeeds and is sound.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('parallel_build');
$node->init;
$node->append_conf('postgresql.conf', q{
max_worker_processes = 8
max_parallel_workers = 8
max_parallel_maintenance_workers = 1
maintenance_work_mem = '256MB'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');

# Seeded. Points near a 3-dimensional surface in 600 dims, as embeddings
# lie near low-dimensional ones: uniform noise in 600 dims has no near
# neighbours worth the name, and recall there says nothing of the build.
$node->safe_psql('postgres', q{
	SELECT setseed(0.4);
	CREATE TABLE wide (id int PRIMARY KEY, v vector(600));
	INSERT INTO wide SELECT i, ARRAY(SELECT z1 * cos(j * 0.1) + z2 * sin(j * 0.37)
		+ z3 * cos(j * 0.05 + 1) + 0.05 * (random() - 0.5) FROM generate_series(1, 600) j)::real[]::vector
	FROM (SELECT i, random() z1, random() z2, random() z3 FROM generate_series(1, 12000) i) r;
	CREATE TABLE queries AS SELECT id AS qid, v AS q FROM wide WHERE id % 600 = 0;
	VACUUM ANALYZE wide});

my ($main, $toast, $threshold) = split /\|/, $node->safe_psql('postgres', q{
	SELECT pg_relation_size('wide'), pg_relation_size(reltoastrelid),
	       (SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'min_parallel_table_scan_size')
	FROM pg_class WHERE oid = 'wide'::regclass});
cmp_ok($main, '<', $threshold, "the main fork ($main bytes) is under min_parallel_table_scan_size");
cmp_ok($toast, '>', $threshold, "the TOAST table ($toast bytes) is over it");

# CREATE INDEX with settings first; its DEBUG1 lines (stderr) and whether
# it succeeded.
sub build
{
	my ($settings, $create) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SET client_min_messages = debug1; $settings
		$create});
	is($ret, 0, "builds: $create ($settings)");
	return $err;
}

my $launched = qr/hnsw build of "wide_v": (\d+) of (\d+) parallel workers launched/;

# 1
my $err = build('', 'CREATE INDEX wide_v ON wide USING hnsw (v vector_l2_ops)');
like($err, $launched, 'a TOASTed table gets a parallel build');
my ($got, $asked) = $err =~ $launched;
is($asked, 1, 'asking for max_parallel_maintenance_workers');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM vecdb_index_check('wide_v')}), '0', 'the parallel build is sound');
# recall@10 of the index on table for the queries in queries(qid, q), at
# ef_search 80, against a sequential scan's answers
sub recall
{
	my ($table, $queries) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET vecdb.hnsw_ef_search = 80;
		CREATE TEMP TABLE found AS
			SELECT qid, ARRAY(SELECT id FROM $table ORDER BY v <-> q LIMIT 10) ids FROM $queries;
		RESET enable_seqscan; SET enable_indexscan = off;
		SELECT sum(cardinality(ARRAY(SELECT unnest(f.ids) INTERSECT
			SELECT id FROM (SELECT id FROM $table ORDER BY v <-> q.q LIMIT 10) e)))::float8
			/ (10 * count(*))
		FROM found f JOIN $queries q USING (qid)});
}

# The rows of index's two participants inserted on pages, from a build's
# DEBUG1 lines: { leader => N, worker => N }.
sub on_pages
{
	my ($err, $index) = @_;
	my %rows;
	while ($err =~ /hnsw build of "$index": the (leader|worker) indexed \d+ rows, (\d+) on pages/g)
	{
		$rows{$1} += $2;
	}
	return \%rows;
}

# index is sound and lacks no row, and finds the exact top 10 of table for
# the queries; then it is dropped
sub sound_and_found
{
	my ($index, $table, $queries, $how) = @_;
	is($node->safe_psql('postgres', qq{
		SELECT string_agg(problem, '; ') FROM vecdb_index_check('$index')}), '',
		"$how: the index is sound and lacks no row");
	my $r = recall($table, $queries);
	cmp_ok($r, '>=', 0.95, "$how: recall\@10 against exact answers ($r)");
	$node->safe_psql('postgres', "DROP INDEX $index");
}

my $recall = recall('wide', 'queries');
cmp_ok($recall, '>=', 0.95, "recall\@10 of the parallel build against exact answers ($recall)");
$node->safe_psql('postgres', 'DROP INDEX wide_v');

# 2
$err = build('SET max_parallel_maintenance_workers = 0;',
	'CREATE INDEX wide_v ON wide USING hnsw (v vector_l2_ops)');
unlike($err, $launched, 'max_parallel_maintenance_workers = 0: serial');
$node->safe_psql('postgres', 'DROP INDEX wide_v');

$node->safe_psql('postgres', 'ALTER TABLE wide SET (parallel_workers = 0)');
$err = build('', 'CREATE INDEX wide_v ON wide USING hnsw (v vector_l2_ops)');
unlike($err, $launched, "the table's parallel_workers = 0: serial");
$node->safe_psql('postgres', 'DROP INDEX wide_v; ALTER TABLE wide RESET (parallel_workers)');

my $above = int(($main + $toast) / 8192) + 1;
$err = build("SET min_parallel_table_scan_size = $above;",
	'CREATE INDEX wide_v ON wide USING hnsw (v vector_l2_ops)');
unlike($err, $launched, 'min_parallel_table_scan_size above both forks: serial');
$node->safe_psql('postgres', 'DROP INDEX wide_v');

# 3
$err = build('', 'CREATE INDEX wide_v ON wide USING hnsw (v vector_l2_ops) WHERE id > 0');
unlike($err, $launched, 'a partial index: as PostgreSQL decides (serial here)');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM vecdb_index_check('wide_v')}), '0', 'and it is sound');

# 4
$node->safe_psql('postgres', q{
	SELECT setseed(0.7);
	CREATE TABLE narrow (id int PRIMARY KEY, v vector(100)) WITH (parallel_workers = 1);
	INSERT INTO narrow SELECT i, ARRAY(SELECT z1 * cos(j * 0.1) + z2 * sin(j * 0.37)
		+ z3 * cos(j * 0.05 + 1) + 0.05 * (random() - 0.5) FROM generate_series(1, 100) j)::real[]::vector
	FROM (SELECT i, random() z1, random() z2, random() z3 FROM generate_series(1, 20000) i) r;
	CREATE TABLE narrow_queries AS SELECT id AS qid, v AS q FROM narrow WHERE id % 1000 = 0;
	VACUUM ANALYZE narrow});
my %size;
for my $workers (1, 0)
{
	my $how = $workers ? 'parallel' : 'serial';
	$err = build("SET maintenance_work_mem = '4MB'; SET max_parallel_maintenance_workers = $workers;",
		'CREATE INDEX narrow_v ON narrow USING hnsw (v vector_l2_ops)');
	my ($in_memory) = $err =~ /no longer fits into maintenance_work_mem after (\d+) tuples/;
	ok(defined $in_memory && $in_memory < 10000,
		"$how: the graph outgrew 4 MB after " . ($in_memory // 'no NOTICE') . ' rows');
	if ($workers)
	{
		like($err, qr/hnsw build of "narrow_v": 1 of 1 parallel workers launched/, 'a worker helped');
		my $rows = on_pages($err, 'narrow_v');
		cmp_ok($rows->{leader} // 0, '>', 0, 'the leader inserted rows on pages');
		cmp_ok($rows->{worker} // 0, '>', 0, 'and so did the worker, at the same time');
		is(($rows->{leader} // 0) + ($rows->{worker} // 0) + $in_memory, 20000,
			'the graph and the pages hold every row once');
	}
	$size{$how} = $node->safe_psql('postgres', q{SELECT pg_relation_size('narrow_v')});
	sound_and_found('narrow_v', 'narrow', 'narrow_queries', $how);
}
# 5
$err = build("SET maintenance_work_mem = '4MB';",
	'CREATE INDEX CONCURRENTLY narrow_v ON narrow USING hnsw (v vector_l2_ops)');
like($err, qr/no longer fits into maintenance_work_mem/, 'CONCURRENTLY: on pages too');
like($err, qr/hnsw build of "narrow_v": 1 of 1 parallel workers launched/, 'CONCURRENTLY: in parallel');
sound_and_found('narrow_v', 'narrow', 'narrow_queries', 'CONCURRENTLY');

# 6: rows that differ in their first 20 dims, then a shared tail: cheap to
# make, and stored out of line all the same
$node->safe_psql('postgres', q{
	SELECT setseed(0.9);
	CREATE TABLE xwide (id int PRIMARY KEY, v vector(2000)) WITH (parallel_workers = 1);
	INSERT INTO xwide SELECT i, ARRAY(SELECT z1 * cos(j * 0.1) + z2 * sin(j * 0.37)
		+ z3 * cos(j * 0.05 + 1) + 0.05 * (random() - 0.5) FROM generate_series(1, 20) j)::real[]::vector
		|| (SELECT ARRAY(SELECT sin(j) FROM generate_series(1, 1980) j)::real[]::vector)
	FROM (SELECT i, random() z1, random() z2, random() z3 FROM generate_series(1, 10500) i) r;
	CREATE TABLE xwide_queries AS SELECT id AS qid, v AS q FROM xwide WHERE id % 500 = 0;
	VACUUM ANALYZE xwide});
my $started = time();
$err = build("SET maintenance_work_mem = '16MB';",
	'CREATE INDEX xwide_v ON xwide USING hnsw (v vector_l2_ops)');
my $took = time() - $started;
like($err, qr/no longer fits into maintenance_work_mem/, 'out of line: on pages');
my $wide_rows = on_pages($err, 'xwide_v');
ok(($wide_rows->{leader} // 0) > 0 && ($wide_rows->{worker} // 0) > 0,
	'out of line: the leader and the worker both inserted on pages ('
	  . join(', ', map { "$_ $wide_rows->{$_}" } sort keys %$wide_rows) . ')');
sound_and_found('xwide_v', 'xwide', 'xwide_queries', 'out of line');

# half the uncancelled build's time (whole seconds made it 2,800 ms for a
# 2.8 s build once, which then finished first)
my $timeout_ms = int(500 * $took);
my ($ret, $out);
($ret, $out, $err) = $node->psql('postgres', qq{
	SET maintenance_work_mem = '16MB'; SET statement_timeout = $timeout_ms;
	CREATE INDEX xwide_v ON xwide USING hnsw (v vector_l2_ops)});
like($err, qr/canceling statement due to statement timeout/,
	"a statement_timeout of $timeout_ms ms cancels the build cleanly");
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up');
$err = build("SET maintenance_work_mem = '16MB';",
	'CREATE INDEX xwide_v ON xwide USING hnsw (v vector_l2_ops)');
is($node->safe_psql('postgres', q{
	SELECT string_agg(problem, '; ') FROM vecdb_index_check('xwide_v')}), '',
	'the build after the cancelled one is sound');
unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated|PANIC/,
	'no server process died');

# Two backends inserting at once each added a page whenever the insert
# page filled, so that the index came out 45% larger (src/hnsw/insert.cpp,
# place)
cmp_ok($size{parallel}, '<=', 1.05 * $size{serial},
	"the parallel build's index ($size{parallel} bytes) is no larger than the serial one's ($size{serial})");

$node->stop;
done_testing();
