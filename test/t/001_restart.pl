# 001_restart.pl: vectors survive a clean restart and a crash.
#
# A table of vectors of several sizes, some large enough to be TOASTed
# (STORAGE external, so 2000 dims = 8 kB goes out of line), must read back
# bit for bit after a fast restart, and after an immediate-mode stop (a
# crash: recovery replays WAL) of rows written after the last checkpoint.
# Every row is checked against the bits this script meant to store.
use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(random_float_bits);

srand(1001);

my @special = (0x00000000, 0x80000000, 0x00000001, 0x007fffff, 0x00800000,
	0x7f7fffff, 0xff7fffff, 0x3eaaaaab, 0x3f800000);

# A vector as [text, expected md5 of vector_send()].
sub make_vector
{
	my ($dims) = @_;
	my @bits = map { random_float_bits() } 1 .. $dims;
	# sprinkle the special values in
	$bits[ int(rand($dims)) ] = $special[ int(rand(@special)) ] for 1 .. ($dims > 4 ? 4 : 1);
	my @floats = map { unpack('f>', pack('N', $_)) } @bits;
	my $text = '[' . join(',', map { sprintf('%.9g', $_) } @floats) . ']';
	my $binary = pack('n n', $dims, 0) . pack('N*', @bits);
	return ($text, md5_hex($binary));
}

my %expected;    # id => md5 of vector_send
my $next_id = 1;

# Insert rows of the given sizes; return the SQL and update %expected.
sub insert_sql
{
	my @dims = @_;
	my @values;
	for my $d (@dims)
	{
		my ($text, $md5) = make_vector($d);
		my $id = $next_id++;
		$expected{$id} = $md5;
		push @values, "($id, $d, '$text')";
	}
	return 'INSERT INTO items (id, dims, v) VALUES ' . join(",\n", @values) . ";\n";
}

my @sizes = (1, 2, 3, 17, 300, 1000, 2000, 2000, 4000, 16000);

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres',
	'CREATE TABLE items (id int PRIMARY KEY, dims int NOT NULL, v vector NOT NULL)');
$node->safe_psql('postgres',
	'CREATE TABLE small (id int PRIMARY KEY, v vector(3) NOT NULL)');
$node->safe_psql('postgres', 'CREATE INDEX small_v ON small (v)');

$node->safe_psql('postgres', insert_sql((@sizes) x 3));
$node->safe_psql('postgres',
	"INSERT INTO small SELECT i, ARRAY[i, -i, i / 3.0]::real[]::vector FROM generate_series(1, 500) i"
);

# id => md5 of vector_send, as the server has it
sub stored
{
	my %got;
	my $out = $node->safe_psql('postgres',
		'SELECT id, md5(vector_send(v)), vector_dims(v) = dims FROM items ORDER BY id');
	for my $line (split /\n/, $out)
	{
		my ($id, $md5, $dims_ok) = split /\|/, $line;
		$got{$id} = $dims_ok eq 't' ? $md5 : "wrong dims: $md5";
	}
	return \%got;
}

sub fingerprint
{
	return $node->safe_psql('postgres',
		q{SELECT count(*), md5(string_agg(v::text, ';' ORDER BY id)),
		         md5(string_agg(vector_send(v)::text, ';' ORDER BY id))
		  FROM items});
}

sub small_ok
{
	my ($when) = @_;
	my $seq = $node->safe_psql('postgres',
		'SELECT count(*), md5(string_agg(v::text, \';\' ORDER BY id)) FROM small');
	is($seq, '500|' . $node->safe_psql('postgres',
			"SELECT md5(string_agg(ARRAY[i, -i, i / 3.0]::real[]::vector::text, ';' ORDER BY i)) FROM generate_series(1, 500) i"),
		"vector(3) table intact $when");
	my $idx = $node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*) FROM generate_series(1, 500) i
		WHERE EXISTS (SELECT 1 FROM small WHERE v = ARRAY[i, -i, i / 3.0]::real[]::vector)});
	is($idx, '500', "btree index finds every vector(3) row $when");
}

is_deeply(stored(), \%expected, 'vectors read back with the bits that were written');

my $toasted = $node->safe_psql('postgres', q{
	SELECT count(*) FROM items WHERE pg_column_size(v) < vector_dims(v) * 4});
is($toasted, '0', 'no vector is compressed (STORAGE external)');
my $toast_rows = $node->safe_psql('postgres', q{
	SELECT (SELECT reltoastrelid FROM pg_class WHERE relname = 'items')::regclass::text});
isnt($toast_rows, '', 'items has a TOAST table');
my $toast_count = $node->safe_psql('postgres', "SELECT count(*) FROM $toast_rows");
cmp_ok($toast_count, '>', 0, 'large vectors are stored out of line');

my $before = fingerprint();
small_ok('before restart');

# --- clean restart
$node->restart;
is(fingerprint(), $before, 'same vectors after a clean restart');
is_deeply(stored(), \%expected, 'same bits after a clean restart');
small_ok('after a clean restart');

# --- changes after a checkpoint, then a crash
$node->safe_psql('postgres', 'CHECKPOINT');
$node->safe_psql('postgres', insert_sql(@sizes));

# updates: new values for some rows (new TOAST values), deletes of others
my @update_ids = (2, 7, 15);
my $updates = '';
for my $id (@update_ids)
{
	my $dims = $sizes[ ($id - 1) % @sizes ];
	my ($text, $md5) = make_vector($dims);
	$expected{$id} = $md5;
	$updates .= "UPDATE items SET v = '$text' WHERE id = $id;\n";
}
$node->safe_psql('postgres', $updates);
$node->safe_psql('postgres', 'DELETE FROM items WHERE id IN (5, 9, 10)');
delete @expected{ 5, 9, 10 };

my $before_crash = fingerprint();
$node->stop('immediate');
$node->start;

is(fingerprint(), $before_crash, 'same vectors after a crash and recovery');
is_deeply(stored(), \%expected, 'same bits after a crash and recovery');
small_ok('after a crash and recovery');

# the table still takes writes and the recovered rows still compare
$node->safe_psql('postgres', insert_sql(2000, 3));
is_deeply(stored(), \%expected, 'writes after recovery land with the right bits');

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed');

$node->stop;
done_testing();
