# 030_merge_worker.pl: the background merge worker (src/worker): with vecdb
# in shared_preload_libraries, hot tiers get merged without anyone asking;
# without it, nothing runs in the background.
#
# A primary with vecdb preloaded, vecdb.merge_naptime = 200ms, autovacuum
# off (VACUUM merges too: only the worker may have merged here):
#
#   - one launcher runs, and starts a worker for each database it may
#     connect to (postmaster DEBUG1 lines, logged for a while);
#   - with vecdb.merge_threshold raised past a burst (a reload: the worker
#     honours SIGHUP settings), the burst stays hot; top-10 answers of an
#     hnsw and an ivfpq index (searches made exact: ef_search, probes and
#     rerank past the row count) are taken; the threshold is lowered, the
#     worker empties both tiers, and the answers are the same;
#   - it survives DROP INDEX and DROP TABLE of indexes it is merging (seen
#     merging them in pg_stat_activity), DROP DATABASE of a database it is
#     merging (the DROP succeeds), pg_terminate_backend of a per-database
#     worker mid-merge (the index is sound after) and of the launcher (a new
#     one comes); after each, a new burst is still merged;
#   - a streaming standby never runs a launcher or a worker, yet its tiers
#     are merged (through WAL); promoted, it starts a launcher;
#   - after a backend is killed with SIGKILL (crash restart), the launcher
#     is back and merges again.
#
# A second node without preloading: no worker; rows stay hot until VACUUM.
#
# Every wait is a poll with PostgreSQL::Test::Utils' default timeout; no
# assertion is about speed.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $dims = 16;
# Rows of a burst that keeps a worker merging long enough to be seen at it
# (seconds here: hnsw merges a few thousand rows a second or less).
my $big_burst = 3000;

my $node = PostgreSQL::Test::Cluster->new('merge_worker');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecdb'
vecdb.merge_naptime = 200
vecdb.merge_threshold = 10
vecdb.max_merge_workers = 2
autovacuum = off
restart_after_crash = on
});
$node->start;

# SQL for $n rows of random vectors with ids from $first, all kept in the
# hot tier (no back-pressure merge by the inserting session).
sub burst_sql
{
	my ($table, $first, $n) = @_;
	my $last = $first + $n - 1;
	return "SET vecdb.hot_tier_max_rows = 100000000; INSERT INTO $table SELECT i, ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) "
	  . "WHERE i IS NOT NULL)::real[]::vector FROM generate_series($first, $last) i";
}

sub hot_rows
{
	my ($n, $db, $index) = @_;
	return $n->safe_psql($db, "SELECT rows FROM vecdb_hot_tier('$index')");
}

sub wait_tier_empty
{
	my ($n, $db, $index, $what) = @_;
	ok($n->poll_query_until($db, "SELECT rows = 0 FROM vecdb_hot_tier('$index')"),
		"$what: the hot tier of $index is emptied");
}

sub launcher_pids
{
	my ($n) = @_;
	return $n->safe_psql('postgres',
		q{SELECT string_agg(pid::text, ',') FROM pg_stat_activity
		  WHERE backend_type = 'vecdb merge launcher'});
}

sub wait_for_launcher
{
	my ($n, $what, $not_pid) = @_;
	$not_pid //= 0;
	ok( $n->poll_query_until('postgres',
			qq{SELECT count(*) = 1 AND bool_and(pid <> $not_pid) FROM pg_stat_activity
			   WHERE backend_type = 'vecdb merge launcher'}),
		"$what: one launcher runs");
}

# Set a setting with ALTER SYSTEM and reload; return once every worker
# still running was started after the postmaster took the new value (a
# new session shows it), so that the ones to come all have it.
sub set_and_reload
{
	my ($n, $name, $value) = @_;
	$n->safe_psql('postgres', "ALTER SYSTEM SET $name = '$value'; SELECT pg_reload_conf()");
	$n->poll_query_until('postgres', "SELECT current_setting('$name') = '$value'")
	  or die "$name never became $value";
	my $since = $n->safe_psql('postgres', 'SELECT now()');
	$n->poll_query_until('postgres',
		qq{SELECT count(*) = 0 FROM pg_stat_activity
		   WHERE backend_type = 'vecdb merge worker' AND backend_start < '$since'})
	  or die 'workers started before the reload did not end';
}

# Wait until a per-database worker of $db is seen merging $index; its pid.
sub wait_merging
{
	my ($n, $db, $index) = @_;
	my $pid = '';
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		$pid = $n->safe_psql('postgres',
			qq{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vecdb merge worker'
			   AND datname = '$db' AND query = 'vecdb merge of index "$index"' LIMIT 1});
		last if $pid ne '';
		usleep(20_000);
	}
	return $pid;
}

# Whether the log holds a crash or an assertion failure since $offset.
sub log_has_crash
{
	my ($n, $offset) = @_;
	my $log = slurp_file($n->logfile);
	$log = substr($log, $offset);
	return $log =~ /was terminated by signal|TRAP:|PANIC:|terminating any other active server processes/;
}

# --- the launcher, and a worker for each database
wait_for_launcher($node, 'at start');
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('postgres', 'CREATE DATABASE noconn; ALTER DATABASE noconn ALLOW_CONNECTIONS false');
my %oid = map { $_ => $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = '$_'") }
  qw(postgres other noconn template1);
my $offset = -s $node->logfile;
$node->append_conf('postgresql.conf', 'log_min_messages = debug1');
$node->reload;
for my $db (qw(postgres other))
{
	my $start = qr/starting background worker process "vecdb merge worker for database $oid{$db}"/;
	my $end = $node->wait_for_log($start, $offset);
	# and again a naptime later
	$node->wait_for_log($start, $end);
	pass("workers are started for database $db, pass after pass");
}
$node->append_conf('postgresql.conf', 'log_min_messages = warning');
$node->reload;
my $log = substr(slurp_file($node->logfile), $offset);
for my $db (qw(noconn template1))
{
	unlike($log, qr/vecdb merge worker for database $oid{$db}"/, "no worker for database $db");
}
unlike($log, qr/vecdb merge worker" \(PID \d+\) exited with exit code [^0]/,
	'workers in databases without vecdb exit cleanly');

# --- a burst kept hot, then merged by the worker; answers unchanged
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE h (id int PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', "CREATE TABLE q (id int PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', "CREATE TABLE queries (qid int PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', 'SELECT setseed(0.3); ' . burst_sql('h', 1, 400));
$node->safe_psql('postgres', 'SELECT setseed(0.4); ' . burst_sql('q', 1, 400));
$node->safe_psql('postgres', 'SELECT setseed(0.5); ' . burst_sql('queries', 1, 8));
$node->safe_psql('postgres', 'CREATE INDEX h_v ON h USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', 'CREATE INDEX q_v ON q USING ivfpq (v vector_l2_ops) WITH (lists = 4)');

set_and_reload($node, 'vecdb.merge_threshold', '1000000');
$node->safe_psql('postgres', 'SELECT setseed(0.6); ' . burst_sql('h', 401, 600));
$node->safe_psql('postgres', 'SELECT setseed(0.7); ' . burst_sql('q', 401, 600));
is(hot_rows($node, 'postgres', 'h_v'), '600', 'below the threshold, the hnsw burst stays hot');
is(hot_rows($node, 'postgres', 'q_v'), '600', 'below the threshold, the ivfpq burst stays hot');

# One line per query: "qid|{ids}", the index forced and its search exact.
sub topk
{
	my ($table) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET vecdb.hnsw_ef_search = 1000;
		SET vecdb.ivfpq_probes = 4; SET vecdb.ivfpq_rerank = 100000;
		SELECT qid, ARRAY(SELECT id FROM $table ORDER BY $table.v <-> queries.v LIMIT 10)
		FROM queries ORDER BY qid});
}
my %before = (h => topk('h'), q => topk('q'));
like($before{h}, qr/^(?:\d+\|\{\d+(?:,\d+){9}\}\n?){8}$/, 'hnsw: ten rows for each query');

set_and_reload($node, 'vecdb.merge_threshold', '10');
wait_tier_empty($node, 'postgres', 'h_v', 'threshold lowered');
wait_tier_empty($node, 'postgres', 'q_v', 'threshold lowered');
ok($node->safe_psql('postgres', q{SELECT merged >= 600 AND last_merge IS NOT NULL FROM vecdb_hot_tier('h_v')}) eq 't',
	'the hnsw rows were merged');
is(topk('h'), $before{h}, 'hnsw: the same top-10 after the merge');
is(topk('q'), $before{q}, 'ivfpq: the same top-10 after the merge');
for my $index (qw(h_v q_v))
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecdb_index_check('$index')"),
		'0', "$index is sound after the worker's merge");
}

my $next_id = 1001;
# A burst into h, merged by the worker.
sub burst_merged
{
	my ($what) = @_;
	$node->safe_psql('postgres', burst_sql('h', $next_id, 300));
	$next_id += 300;
	wait_tier_empty($node, 'postgres', 'h_v', $what);
}

# --- DROP INDEX and DROP TABLE while it merges them
$offset = -s $node->logfile;
for my $case ('DROP INDEX d1_v', 'DROP TABLE d2')
{
	my ($table) = $case =~ /(d\d)/;
	$node->safe_psql('postgres', "CREATE TABLE $table (id int, v vector($dims))");
	$node->safe_psql('postgres', "CREATE INDEX ${table}_v ON $table USING hnsw (v vector_l2_ops)");
	$node->safe_psql('postgres', burst_sql($table, 1, $big_burst));
	isnt(wait_merging($node, 'postgres', "${table}_v"), '', "$case: the worker is seen merging ${table}_v");
	$node->safe_psql('postgres', $case);
	pass("$case while the worker merges it");
	burst_merged("after $case");
}
ok(!log_has_crash($node, $offset), 'no server process crashed with the drops');

# --- DROP DATABASE of a database it is merging
$node->safe_psql('other', 'CREATE EXTENSION vecdb');
$node->safe_psql('other', "CREATE TABLE t (id int, v vector($dims))");
$node->safe_psql('other', 'CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops)');
$node->safe_psql('other', burst_sql('t', 1, $big_burst));
isnt(wait_merging($node, 'other', 't_v'), '', 'the worker is seen merging in database other');
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE other');
is($ret, 0, 'DROP DATABASE of a database the worker is merging succeeds');
diag($err) if $ret;
burst_merged('after DROP DATABASE');

# --- pg_terminate_backend of a per-database worker mid-merge, and of the launcher
$node->safe_psql('postgres', "CREATE TABLE big (id int, v vector($dims))");
$node->safe_psql('postgres', 'CREATE INDEX big_v ON big USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', burst_sql('big', 1, $big_burst));
my $worker = wait_merging($node, 'postgres', 'big_v');
isnt($worker, '', 'a worker is seen merging big_v');
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($worker)"), 't',
	'pg_terminate_backend of the worker');
wait_tier_empty($node, 'postgres', 'big_v', 'after the worker was terminated');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vecdb_index_check('big_v')}),
	'0', 'big_v is sound after its merge was interrupted');
is($node->safe_psql('postgres', 'SELECT count(*) FROM big'), $big_burst, 'big still has every row');
$node->safe_psql('postgres', 'DROP TABLE big');

my $launcher = launcher_pids($node);
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)"), 't',
	'pg_terminate_backend of the launcher');
wait_for_launcher($node, 'after the launcher was terminated', $launcher);
burst_merged('after the launcher was terminated');

# --- watched while it merges. vecdb_hot_tier, called without pause while
# merges retire the pages it counts, counts under the merge lock, and the
# worker finds the index busy. It used to give the index up for the pass
# then, and the next pass, seeing fewer hot rows than the threshold, left
# them hot until the next burst or VACUUM. So: a burst of 6,000 wide
# vectors (two a tier page, so that a count takes a while and batches
# retire pages often), inserted in one quick statement while the threshold
# is out of reach (a worker merging during a slow INSERT would rightly
# leave its last rows, fewer than the threshold, hot); then a threshold of
# 1,000, and a session that calls vecdb_hot_tier every 5 ms until the tier
# is empty, for 120 s at most. Three rounds: the old code left rows hot in
# five of six such rounds by hand.
my $wide = 784;
$node->safe_psql('postgres', "CREATE TABLE w (id int, v vector($wide))");
$node->safe_psql('postgres',
	"SELECT setseed(0.8); CREATE TABLE w_src AS SELECT i AS id, ARRAY(SELECT random() FROM "
	  . "generate_series(1, $wide) WHERE i IS NOT NULL)::real[]::vector AS v FROM generate_series(1, 6000) i");
$node->safe_psql('postgres', 'INSERT INTO w SELECT id, v FROM w_src WHERE id <= 1000');
$node->safe_psql('postgres', 'CREATE INDEX w_v ON w USING ivfpq (v vector_l2_ops) WITH (lists = 4, m = 8)');
for my $round (1 .. 3)
{
	set_and_reload($node, 'vecdb.merge_threshold', '1000000');
	$node->safe_psql('postgres',
		"SET vecdb.hot_tier_max_rows = 100000000; INSERT INTO w SELECT id + 10000 * $round, v FROM w_src");
	is(hot_rows($node, 'postgres', 'w_v'), '6000', "round $round: the burst is hot");
	set_and_reload($node, 'vecdb.merge_threshold', '1000');
	my $watched = $node->safe_psql('postgres', q{
		DO $$
		DECLARE
			hot bigint;
			t0 timestamptz := clock_timestamp();
		BEGIN
			LOOP
				SELECT rows INTO hot FROM vecdb_hot_tier('w_v');
				EXIT WHEN hot = 0 OR clock_timestamp() - t0 > interval '120 s';
				PERFORM pg_sleep(0.005);
			END LOOP;
			RAISE NOTICE 'hot rows left: %', hot;
		END $$;
		SELECT rows FROM vecdb_hot_tier('w_v')});
	is($watched, '0', "round $round: the worker empties a tier that a session watches without pause");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM vecdb_index_check('w_v')}),
	'0', 'w_v is sound after the watched merges');
$node->safe_psql('postgres', 'DROP TABLE w, w_src');
set_and_reload($node, 'vecdb.merge_threshold', '10');

# --- a standby runs none, but gets the merges through WAL
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('merge_worker_standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
# the postmaster logs every background worker it starts at DEBUG1
$standby->append_conf('postgresql.conf', 'log_min_messages = debug1');
$standby->start;
burst_merged('with a standby');
$node->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is(hot_rows($standby, 'postgres', 'h_v'), '0', "the standby's tier is merged through WAL");
is($standby->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'vecdb merge%'}),
	'0', 'no launcher and no worker on the standby');
unlike(slurp_file($standby->logfile), qr/starting background worker process "vecdb merge/,
	'the standby never started a launcher or a worker');
$standby->promote;
wait_for_launcher($standby, 'promoted');
$standby->stop;

# --- a backend killed with SIGKILL: crash restart, and the launcher again
$launcher = launcher_pids($node);
my ($stdin, $stdout, $stderr) = ('', '', '');
my $sleeper = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', 'SELECT pg_sleep(600)' ],
	'<', \$stdin, '>', \$stdout, '2>', \$stderr);
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'})
  or die 'the sleeping backend did not appear';
my $victim = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'});
$offset = -s $node->logfile;
kill 'KILL', $victim;
$sleeper->finish;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
pass('the postmaster restarts after the crash');
wait_for_launcher($node, 'after the crash', $launcher);
burst_merged('after the crash');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vecdb_index_check('h_v')}),
	'0', 'h_v is sound after the crash');
$node->stop;

# --- without preloading: no worker, rows hot until VACUUM
my $plain = PostgreSQL::Test::Cluster->new('no_preload');
$plain->init;
$plain->append_conf('postgresql.conf', "autovacuum = off\nvecdb.merge_naptime = 200\n");
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$plain->safe_psql('postgres', "CREATE TABLE h (id int, v vector($dims))");
$plain->safe_psql('postgres', 'CREATE INDEX h_v ON h USING hnsw (v vector_l2_ops)');
$plain->safe_psql('postgres', burst_sql('h', 1, 300));
is($plain->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'vecdb merge%'}),
	'0', 'without preloading, no launcher and no worker');
$plain->safe_psql('postgres', burst_sql('h', 301, 300));
is(hot_rows($plain, 'postgres', 'h_v'), '600', 'without preloading, inserted rows stay hot');
$plain->safe_psql('postgres', 'VACUUM h');
is(hot_rows($plain, 'postgres', 'h_v'), '0', 'VACUUM merges them');
$plain->stop;

done_testing();
