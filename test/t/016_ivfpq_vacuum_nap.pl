# 016_ivfpq_vacuum_nap.pl: ivfpq VACUUM naps (vacuum_delay_point) between
# list pages, with no page locked (issue 10, item 7).
#
# It called vacuum_delay_point() holding the exclusive content lock of the
# list page it was cleaning, often the list's tail, where every insert
# into the list appends. Two ways that goes wrong: where the nap happens,
# each such insert waits, on an LWLock no timeout interrupts, for the
# whole nap; and on the PostgreSQL 15 builds here the nap does not happen
# at all (with an LWLock held, interrupts are held off and
# vacuum_delay_point returned at once: seen with a build that logged
# before and after the call), so the index's VACUUM ignored
# vacuum_cost_delay.
#
# Six ivfpq indexes built on the empty table (untrained: one list, 1360
# entries a page), then 200 rows, half of them deleted: one list page each,
# and no other index (the index phase's naps are all ivfpq's). One session
# inserts rows in a loop, 200 a second at most (a 5 ms sleep each), so
# that every insert appends to each index's only page, which does not fill
# during the test; another runs VACUUM with vacuum_cost_delay = 100ms and
# vacuum_cost_limit = 1, so that it naps before each list page. A third
# samples pg_stat_activity (one snapshot of both sessions a sample) until
# the VACUUM ends, and counts the samples where the VACUUM naps in its
# index phase (wait event VacuumDelay, phase "vacuuming indexes") and, of
# those, the ones where the inserting session waits for a buffer content
# lock (wait event BufferContent). The VACUUM must be seen napping there,
# and the inserter never blocked by a nap (the VACUUM holds no content lock
# while napping; the background writer and checkpoints, the other holders,
# are off).
#
# Before the fix, on these builds, the first assertion fails (no nap in the
# index phase); the second could fail only where vacuum_delay_point naps
# with a lock held, which these builds do not: it guards the fix.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $n_indexes = 6;

my $node = PostgreSQL::Test::Cluster->new('ivfpq_vacuum_nap');
$node->init;
$node->append_conf('postgresql.conf', qq{
autovacuum = off
bgwriter_lru_maxpages = 0
checkpoint_timeout = '1h'
max_wal_size = '4GB'
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', q{
	CREATE TABLE t (id serial, v vector(4) NOT NULL);
	CREATE TABLE stop_inserting ();});
for my $i (1 .. $n_indexes)
{
	$node->safe_psql('postgres', "CREATE INDEX idx$i ON t USING ivfpq (v) WITH (streaming = off)");
}
$node->safe_psql('postgres',
	'INSERT INTO t (v) SELECT ARRAY[i, i % 7, -i, 1]::real[]::vector FROM generate_series(1, 200) i');
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 2 = 0');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_class c, vecdb_ivfpq_lists(c.oid) l
		WHERE c.relname LIKE 'idx%' AND l.pages = 1}),
	$n_indexes, 'each index has one list of one page');

# the sampler: waits for the VACUUM to start, then samples until it ends
$node->safe_psql('postgres', q{
CREATE FUNCTION sample_naps(vpid int, ipid int,
	OUT samples int, OUT index_naps int, OUT blocked int, OUT inserter_waits text)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	started bool := false;
	waits text[] := '{}';
BEGIN
	samples := 0;
	index_naps := 0;
	blocked := 0;
	FOR n IN 1..20000 LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT v.state AS vstate, v.query AS vquery, v.wait_event AS vwait, p.phase,
			i.wait_event AS iwait
		INTO r
		FROM pg_stat_activity v JOIN pg_stat_activity i ON i.pid = ipid
			LEFT JOIN pg_stat_progress_vacuum p ON p.pid = v.pid
		WHERE v.pid = vpid;
		IF NOT started THEN
			started := r.vstate = 'active' AND r.vquery LIKE 'VACUUM%';
		ELSIF r.vstate IS DISTINCT FROM 'active' THEN
			EXIT;
		END IF;
		IF started THEN
			samples := samples + 1;
			IF r.vwait = 'VacuumDelay' AND r.phase = 'vacuuming indexes' THEN
				index_naps := index_naps + 1;
				waits := waits || coalesce(r.iwait, 'none');
				IF r.iwait = 'BufferContent' THEN
					blocked := blocked + 1;
				END IF;
			END IF;
		END IF;
		PERFORM pg_sleep(0.002);
	END LOOP;
	SELECT string_agg(w || ' ' || n, ', ' ORDER BY w) INTO inserter_waits
	FROM (SELECT w, count(*) AS n FROM unnest(waits) w GROUP BY w) c;
END $$;});

my $rows_before = $node->safe_psql('postgres', 'SELECT count(*) FROM t');

my $inserter = $node->background_psql('postgres');
my $ipid = $inserter->query_safe('SELECT pg_backend_pid()');
$inserter->query_until(qr/inserting/, q{
\echo inserting
DO $$
BEGIN
	FOR i IN 1..10000000 LOOP
		INSERT INTO t (v) VALUES (ARRAY[i, i % 5, i % 3, 2]::real[]::vector);
		PERFORM pg_sleep(0.005);
		EXIT WHEN i % 20 = 0 AND EXISTS (SELECT FROM stop_inserting);
	END LOOP;
END $$;
});

my $vacuum = $node->background_psql('postgres');
my $vpid = $vacuum->query_safe('SELECT pg_backend_pid()');
$vacuum->query_safe('SET vacuum_cost_delay = 100; SET vacuum_cost_limit = 1');
$vacuum->query_until(qr/vacuuming/, q{
\echo vacuuming
VACUUM t;
});

my ($samples, $index_naps, $blocked, $waits) =
  split /\|/, $node->safe_psql('postgres', "SELECT * FROM sample_naps($vpid, $ipid)");
note "samples of the VACUUM: $samples; napping in the index phase: $index_naps; "
  . "of those, the inserter waiting for a page lock: $blocked (its wait events then: $waits)";

$node->safe_psql('postgres', 'INSERT INTO stop_inserting DEFAULT VALUES');
my $rows_after = $inserter->query_safe('SELECT count(*) FROM t');
$inserter->quit;
$vacuum->quit;

cmp_ok($index_naps, '>', 0, 'the VACUUM was seen napping in its index phase');
is($blocked, 0, 'no sample shows an insert waiting for a list page lock while the VACUUM naps');
cmp_ok($rows_after, '>', $rows_before, 'the inserter inserted rows');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_class c, vecdb_ivfpq_lists(c.oid) l
		WHERE c.relname LIKE 'idx%' AND l.pages = 1}),
	$n_indexes, 'each index still has one list page: every insert appended to the page VACUUM cleaned');
for my $i (1 .. $n_indexes)
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecdb_index_check('idx$i')"),
		'0', "idx$i: vecdb_index_check finds no problem");
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed');

$node->stop;
done_testing();
