# 005_hnsw_crash.pl: an hnsw index survives a crash in the middle of
# concurrent inserts.
#
# 2000 seeded random 32-dimension vectors and an hnsw index (vector_l2_ops).
# Then four pgbench clients insert random vectors, each INSERT its own
# transaction, delete seeded rows now and then, and run an occasional
# VACUUM (which repairs the graph around the deleted elements), while one
# more session inserts rows one at a time and notes each id whose commit
# it saw acknowledged. The server is stopped in immediate mode (a crash:
# no shutdown checkpoint) while all of that runs, and restarted, so
# recovery replays the index's WAL. Then:
#
#   - vecdb_index_check finds no problem in the index, nor in an hnsw
#     bit_hamming_ops index over binary_quantize(v) beside it;
#   - every acknowledged row is in the table;
#   - each committed row (those acknowledged, plus a random sample of the
#     rest, most of them written by the crashed run) is the nearest
#     neighbour of its own vector through the index, and finds a code at
#     distance 0 through the bit index, for at least 98% of them, and no
#     such query fails;
#   - after more inserts, deletes and a VACUUM the same holds.
#
# Vectors are uniform random, so no two are equal and a row's own vector
# finds that row first.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(find_pgbench);
use Time::HiRes qw(time sleep);

my $dims = 32;
my $min_found = 0.98;
my $sample = 600;            # committed rows looked up, besides the acknowledged ones
my $run_seconds = 8;         # of concurrent inserts before the crash

my $random_vector = "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims))::real[]::vector";


my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres',
	"CREATE TABLE items (id bigserial PRIMARY KEY, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', "SELECT setseed(0.005); INSERT INTO items (v) SELECT "
	  . "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) WHERE i > 0)::real[]::vector"
	  . " FROM generate_series(1, 2000) i");
$node->safe_psql('postgres', 'CREATE INDEX idx ON items USING hnsw (v vector_l2_ops)');
# and pgvector's binary quantization beside it, WAL-logged the same way
$node->safe_psql('postgres',
	"CREATE INDEX idx_bits ON items USING hnsw ((binary_quantize(v)::bit($dims)) bit_hamming_ops)");
my $seeded_max = $node->safe_psql('postgres', 'SELECT max(id) FROM items');

# The self-lookup: for each row of ids, is it the nearest neighbour of its
# own vector? Errors are caught one query at a time and counted.
$node->safe_psql('postgres', q{
CREATE FUNCTION find_self(ids bigint[],
	OUT n_tried int, OUT n_found int, OUT n_errors int, OUT first_error text, OUT missed bigint[])
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	got bigint;
BEGIN
	n_tried := 0; n_found := 0; n_errors := 0; missed := '{}';
	FOR r IN SELECT id, v FROM items WHERE id = ANY (ids) ORDER BY id LOOP
		n_tried := n_tried + 1;
		BEGIN
			SELECT i.id INTO got FROM items i ORDER BY i.v <-> r.v LIMIT 1;
			-- and through the bit index: a code at distance 0, its own or an equal one
			IF (SELECT binary_quantize(i.v)::bit(32) <~> binary_quantize(r.v)::bit(32) FROM items i
				ORDER BY binary_quantize(i.v)::bit(32) <~> binary_quantize(r.v)::bit(32) LIMIT 1) <> 0 THEN
				got := NULL;
			END IF;
			IF got = r.id THEN
				n_found := n_found + 1;
			ELSE
				missed := missed || r.id;
			END IF;
		EXCEPTION WHEN OTHERS THEN
			n_errors := n_errors + 1;
			first_error := coalesce(first_error, SQLSTATE || ': ' || SQLERRM);
		END;
	END LOOP;
END
$$});

# --- the crash run
my $tmp = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$tmp/insert.sql",
	"INSERT INTO items (v) SELECT $random_vector;\n");
PostgreSQL::Test::Utils::append_to_file("$tmp/delete.sql",
	"DELETE FROM items WHERE id = (SELECT 1 + floor(random() * $seeded_max)::bigint);\n");
PostgreSQL::Test::Utils::append_to_file("$tmp/vacuum.sql", "VACUUM items;\n");

my ($bench_out, $bench_err) = ('', '');
my $bench = do
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = 'postgres';
	IPC::Run::start(
		[ find_pgbench(), '-n', '-c', '4', '-j', '2', '-T', '120', '-R', '800',
			'-f', "$tmp/insert.sql\@40", '-f', "$tmp/delete.sql\@4",
			'-f', "$tmp/vacuum.sql\@1" ],
		'>', \$bench_out, '2>', \$bench_err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
};

# One more session inserts rows one by one and keeps the ids whose commit
# was acknowledged. (pgbench's rate, and this session's pauses, keep the
# table small enough for the checks below to look up thousands of rows.)
my $session = $node->background_psql('postgres', on_error_stop => 0);
my @acked;
my $insert_error = '';
my $started = time();
while (time() - $started < $run_seconds)
{
	my ($id, $failed) = $session->query("INSERT INTO items (v) SELECT $random_vector RETURNING id");
	if ($failed)
	{
		$insert_error = $session->{stderr};
		last;
	}
	chomp $id;
	push @acked, $id if $id =~ /^\d+$/;
	sleep(0.002);
}
is($insert_error, '', 'the tracked inserts succeed until the crash');
my $rows_before = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
ok($bench->pumpable, 'pgbench still runs at the crash');
note "crashing with about $rows_before rows, " . scalar(@acked) . ' acknowledged by the tracked session';
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM items WHERE id > $seeded_max") - @acked,
	'>', 200, 'pgbench inserted rows before the crash');
my $log_before = slurp_file($node->logfile);

$node->stop('immediate');
eval { $session->quit };
eval { $bench->finish; 1 } or $bench->kill_kill;
note "pgbench after the crash: $bench_err";
unlike($bench_err, qr/ERROR:/, 'no pgbench transaction failed before the crash');
unlike($log_before, qr/ERROR:/, 'the server logged no error before the crash');

$node->start;

# Run a step; if a query in it fails, count that as a failed test and go
# on, so that one broken step does not hide the others' results.
sub step
{
	my ($name, $code) = @_;
	eval { $code->(); 1 } or fail("$name: $@");
}

# --- after recovery
# vecdb_index_check returns no row (the first problems are shown if not)
sub index_sound
{
	my ($when) = @_;
	for my $index ('idx', 'idx_bits')
	{
		is($node->safe_psql('postgres', qq{SELECT count(*) FROM vecdb_index_check('$index')}),
			'0', "vecdb_index_check($index) returns 0 rows $when")
		  or diag $node->safe_psql('postgres',
			"SELECT blkno, offnum, problem FROM vecdb_index_check('$index') LIMIT 20");
	}
}

step('index check after recovery', sub { index_sound('after recovery') });

my $acked_list = '{' . join(',', @acked) . '}';
is($node->safe_psql('postgres',
		"SELECT count(*) FROM items WHERE id = ANY ('$acked_list'::bigint[])"),
	scalar(@acked), 'every acknowledged insert survived the crash');

my $rows_after = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
cmp_ok($rows_after, '>=', $rows_before, 'no row seen before the crash is lost');

step('plan of the self-lookup', sub {
	like(
		$node->safe_psql('postgres', q{SET enable_seqscan = off;
			EXPLAIN (COSTS OFF) SELECT i.id FROM items i
			ORDER BY i.v <-> (SELECT v FROM items WHERE id = 1) LIMIT 1}),
		qr/Index Scan using idx on items/, 'the self-lookup is an index scan');
		like(
		$node->safe_psql('postgres', q{SET enable_seqscan = off;
			EXPLAIN (COSTS OFF) SELECT i.id FROM items i
			ORDER BY binary_quantize(i.v)::bit(32) <~> B'1' LIMIT 1}),
		qr/Index Scan using idx_bits on items/, 'and so is the bit one');
});

# ids to look up: the acknowledged ones, a random sample of the rows the
# crashed pgbench run committed, some of the seeded rows, and every row
# with an id above $newer_than (when given)
sub lookup_ids
{
	my ($newer_than) = @_;
	my $newer = defined $newer_than ? "UNION ALL (SELECT id FROM items WHERE id > $newer_than)" : '';
	my $ids = $node->safe_psql('postgres', qq{SELECT setseed(0.5);
		SELECT string_agg(id::text, ',') FROM (
			(SELECT id FROM items WHERE id = ANY ('$acked_list'::bigint[]))
			UNION ALL
			(SELECT id FROM items WHERE id > $seeded_max AND NOT id = ANY ('$acked_list'::bigint[])
			 ORDER BY random() LIMIT $sample * 3 / 4)
			UNION ALL
			(SELECT id FROM items WHERE id <= $seeded_max ORDER BY random() LIMIT $sample / 4)
			$newer) s});
	return "{$ids}";
}

# Look the rows up; return the ids missed.
sub check_found
{
	my ($ids, $min_tried, $when) = @_;
	my $res = $node->safe_psql('postgres',
		"SET enable_seqscan = off; SELECT n_tried, n_found, n_errors, coalesce(first_error, ''), missed FROM find_self('$ids')");
	my ($tried, $found, $errors, $first_error, $missed) = split /\|/, $res;
	cmp_ok($tried, '>=', $min_tried, "$when: looked up $tried committed rows");
	is($errors, '0', "$when: no self-lookup fails") or diag "first error: $first_error";
	my $fraction = $tried ? $found / $tried : 0;
	cmp_ok($fraction, '>=', $min_found,
		sprintf('%s: %d of %d committed rows (%.3f) found through the index by their own vector',
			$when, $found, $tried, $fraction))
	  or diag "missed ids (first ones): " . substr($missed, 0, 400);
	$missed =~ s/[{}]//g;
	return split /,/, $missed;
}

step('self-lookups after recovery', sub {
	my %missed = map { $_ => 1 } check_found(lookup_ids(), scalar(@acked) + $sample / 4, 'after recovery');
	my $acked_missed = grep { $missed{$_} } @acked;
	cmp_ok(1 - $acked_missed / (@acked || 1), '>=', $min_found,
		sprintf('%d of %d acknowledged rows found through the index by their own vector',
			@acked - $acked_missed, scalar(@acked)));
});

# --- the recovered index takes more work
step('more work after recovery', sub {
	my $max_id = $node->safe_psql('postgres', 'SELECT max(id) FROM items');
	$node->safe_psql('postgres', "INSERT INTO items (v) SELECT "
		  . "ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims) WHERE i > 0)::real[]::vector"
		  . " FROM generate_series(1, 300) i");
	$node->safe_psql('postgres', "DELETE FROM items WHERE id % 10 = 3 AND id <= $max_id");
	$node->safe_psql('postgres', 'VACUUM items');
	index_sound('after more inserts, deletes and VACUUM');
	check_found(lookup_ids($max_id), $sample / 2, 'after more inserts, deletes and VACUUM');
});

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed');

$node->stop;
done_testing();
