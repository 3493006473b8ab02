# 034_tier_old_format.pl: an index in the format before the hot tier is
# refused with an ERROR whose HINT says REINDEX, and REINDEX repairs it
# (issue 11).
#
# The hot tier's pointers and counts live in the meta page, with the
# format version raised from 1 to 2. An hnsw and an ivfpq index are built
# (format 2: checked in the file), then, with the node stopped, the 4-byte
# version field of each meta page (block 0; the MetaPage, which begins with
# uint32 magic and uint32 version, starts at byte 24, after the page
# header) is set back to 1. Then, for each index:
#
#   - a query the planner answers with the index, and an INSERT into the
#     table, fail with an ERROR whose HINT mentions REINDEX; the INSERT
#     leaves the table as it was; vecdb_hot_tier and vecdb_merge fail the
#     same way; a query that needs no index still runs;
#   - no server process crashes;
#   - REINDEX (INDEX for hnsw, INDEX CONCURRENTLY for ivfpq) writes format
#     2 again; after it the query returns the exact answer's rows, an
#     INSERT succeeds and is found (hot), and vecdb_index_check finds
#     nothing wrong.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(field_patch patched_bytes);

my $contents = 24;    # MAXALIGN(SizeOfPageHeaderData): the MetaPage starts here
my %magic = (hnsw => 0x56484e53, ivfpq => 0x56495650);
my $new_version = 2;
my $old_version = 1;

my $node = PostgreSQL::Test::Cluster->new('tier_old_format');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');

my %table_of = (hnsw => 'th', ivfpq => 'ti');
my %index_of = (hnsw => 'th_idx', ivfpq => 'ti_idx');
my @ams = sort keys %table_of;
for my $am (@ams)
{
	my $t = $table_of{$am};
	$node->safe_psql('postgres', qq{
		CREATE TABLE $t (id int PRIMARY KEY, v vector(8));
		SELECT setseed(0.34);
		INSERT INTO $t SELECT i, ARRAY(SELECT random() * 4 FROM generate_series(1, 8) WHERE i > 0)::real[]::vector
			FROM generate_series(1, 600) i});
}
$node->safe_psql('postgres', 'CREATE INDEX th_idx ON th USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', 'CREATE INDEX ti_idx ON ti USING ivfpq (v vector_l2_ops) WITH (lists = 4, m = 2)');
# some rows hot, so that the meta page's tier pointers are in use
for my $am (@ams)
{
	$node->safe_psql('postgres', "INSERT INTO $table_of{$am} SELECT i, ARRAY(SELECT random() * 4 FROM generate_series(1, 8) WHERE i > 0)::real[]::vector"
		  . ' FROM generate_series(601, 650) i');
}
$node->safe_psql('postgres', 'VACUUM ANALYZE th, ti; CHECKPOINT');
$node->safe_psql('postgres', "INSERT INTO $table_of{$_} SELECT i, ARRAY(SELECT random() * 4 FROM generate_series(1, 8) WHERE i > 0)::real[]::vector"
	  . ' FROM generate_series(651, 670) i') for @ams;
$node->safe_psql('postgres', 'CHECKPOINT');

my $q = '[1,2,3,1,1,2,3,2]';
sub query_sql
{
	my ($t) = @_;
	return "SELECT id FROM $t ORDER BY v <-> '$q' LIMIT 5";
}
my %exact;
for my $am (@ams)
{
	my $t = $table_of{$am};
	$exact{$am} = $node->safe_psql('postgres', 'SET enable_indexscan = off; SET enable_bitmapscan = off; '
		  . "SELECT string_agg(id::text, ',' ORDER BY id) FROM (" . query_sql($t) . ') s');
	like($node->safe_psql('postgres', 'SET enable_seqscan = off; EXPLAIN (COSTS OFF) ' . query_sql($t)),
		qr/Index Scan using $index_of{$am}/, "$am: the query uses the index");
}

sub meta_file
{
	my ($am) = @_;
	return $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$index_of{$am}')");
}

sub meta_fields
{
	my ($file) = @_;
	open my $fh, '<:raw', $file or die "open $file: $!";
	my $bytes;
	read($fh, $bytes, $contents + 8) == $contents + 8 or die "short read of $file";
	close $fh;
	return unpack('VV', substr($bytes, $contents, 8));
}

my %file = map { $_ => meta_file($_) } @ams;
$node->stop('fast');
for my $am (@ams)
{
	my ($magic, $version) = meta_fields($file{$am});
	is(sprintf('%08x', $magic), sprintf('%08x', $magic{$am}), "$am: the meta page begins with the magic");
	is($version, $new_version, "$am: a new index is written in format $new_version");
	my $bytes = slurp_file($file{$am});
	open my $fh, '>:raw', $file{$am} or die "open $file{$am}: $!";
	print $fh patched_bytes($bytes, [ field_patch($contents + 4, 'V', $old_version) ]);
	close $fh;
	is((meta_fields($file{$am}))[1], $old_version, "$am: the meta page says format $old_version now");
}
$node->start;

# an ERROR with a HINT that mentions REINDEX
sub refused
{
	my ($sql, $what) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY default\n$sql");
	isnt($ret, 0, "$what fails");
	like($err, qr/ERROR:/, "$what: with an ERROR") or diag $err;
	like($err, qr/HINT:[^\n]*REINDEX/, "$what: whose HINT mentions REINDEX") or diag $err;
	unlike($err, qr/server closed the connection|terminat/, "$what: not a crash");
	return $err;
}

for my $am (@ams)
{
	my $t = $table_of{$am};
	my $index = $index_of{$am};
	my $rows = $node->safe_psql('postgres', "SELECT count(*) FROM $t");
	is($rows, '670', "$am: a query that needs no index runs");

	my $plan = $node->safe_psql('postgres', 'SET enable_seqscan = off; EXPLAIN (COSTS OFF) ' . query_sql($t));
	if ($plan =~ /Index Scan using $index/)
	{
		my $err = refused('SET enable_seqscan = off; ' . query_sql($t), "$am: an index scan");
		note "$am: $err";
	}
	else
	{
		# the planner may cost the refused index out, as ivfpq does a damaged
		# one (017): then the query must still give the exact answer
		note "$am: the planner does not pick the old index: $plan";
		is($node->safe_psql('postgres', 'SET enable_seqscan = off; '
				  . "SELECT string_agg(id::text, ',' ORDER BY id) FROM (" . query_sql($t) . ') s'),
			$exact{$am}, "$am: planned without the index, the query gives the exact answer");
	}
	my $err = refused("INSERT INTO $t VALUES (1000, '[1,1,1,1,1,1,1,1]')", "$am: an INSERT");
	note "$am: $err";
	is($node->safe_psql('postgres', "SELECT count(*) FROM $t"), $rows, "$am: the refused INSERT added no row");
	refused("SELECT * FROM vecdb_hot_tier('$index')", "$am: vecdb_hot_tier");
	refused("SELECT vecdb_merge('$index')", "$am: vecdb_merge");
	# vecdb_index_check says what is wrong, in a row or in the same ERROR
	my ($ret, $out, $cerr) = $node->psql('postgres', "SELECT blkno, problem FROM vecdb_index_check('$index')");
	ok(($ret == 0 && $out =~ /^0\|/m) || ($ret != 0 && $cerr =~ /HINT:[^\n]*REINDEX/),
		"$am: vecdb_index_check reports the meta page") or diag "$out $cerr";
}

# --- REINDEX repairs them
$node->safe_psql('postgres', 'REINDEX INDEX th_idx');
$node->safe_psql('postgres', 'REINDEX INDEX CONCURRENTLY ti_idx');
$node->safe_psql('postgres', 'CHECKPOINT');
for my $am (@ams)
{
	my $t = $table_of{$am};
	my $index = $index_of{$am};
	is((meta_fields(meta_file($am)))[1], $new_version, "$am: REINDEX writes format $new_version");
	like($node->safe_psql('postgres', 'SET enable_seqscan = off; EXPLAIN (COSTS OFF) ' . query_sql($t)),
		qr/Index Scan using $index/, "$am: after REINDEX the query uses the index");
	is($node->safe_psql('postgres', 'SET enable_seqscan = off; SET vecdb.ivfpq_probes = 4; SET vecdb.hnsw_ef_search = 100; '
			  . "SELECT string_agg(id::text, ',' ORDER BY id) FROM (" . query_sql($t) . ') s'),
		$exact{$am}, "$am: after REINDEX the index scan gives the exact answer");
	$node->safe_psql('postgres', "INSERT INTO $t VALUES (1000, '[50,50,50,50,50,50,50,50]')");
	is($node->safe_psql('postgres', "SELECT rows FROM vecdb_hot_tier('$index')"), '1',
		"$am: after REINDEX an INSERT goes to the hot tier");
	is($node->safe_psql('postgres', "SET enable_seqscan = off; SET vecdb.ivfpq_probes = 4; "
			  . "SELECT id FROM $t ORDER BY v <-> '[50,50,50,50,50,50,50,50]' LIMIT 1"),
		'1000', "$am: and is found");
	is($node->safe_psql('postgres', "SELECT blkno, offnum, problem FROM vecdb_index_check('$index')"),
		'', "$am: vecdb_index_check finds no problem after REINDEX");
}

unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC|TRAP:/, 'no server process crashed');
$node->stop;
done_testing();
