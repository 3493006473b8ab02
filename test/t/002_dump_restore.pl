# 002_dump_restore.pl: vectors leave and come back bit for bit.
#
#   - pg_dump -Fc + pg_restore into a fresh database;
#   - COPY TO / COPY FROM in text format and in binary format;
#   - a binary COPY file written from a query (COPY (SELECT ...) TO ...)
#     loads back into a table of vector columns.
#
# The values include the awkward ones: 1e-38 (denormal), the smallest
# denormal, -0, +/-3.4e38, 1/3, and random bit patterns.
use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(random_float_bits);

srand(1002);

sub to_text
{
	my @bits = @_;
	return '[' . join(',', map { sprintf('%.9g', unpack('f>', pack('N', $_))) } @bits) . ']';
}

sub to_md5
{
	my @bits = @_;
	return md5_hex(pack('n n', scalar(@bits), 0) . pack('N*', @bits));
}

my $third = unpack('N', pack('f>', 1 / 3));
my @rows = (
	# [id, bits of v, bits of v3 (or undef for NULL)]
	[ 1, [ unpack('N', pack('f>', 1e-38)) ], [ 0x80000000, 0, $third ] ],
	[ 2, [0x80000000], [ 0x7f7fffff, 0xff7fffff, 1 ] ],
	[ 3, [ unpack('N', pack('f>', 3.4e38)), unpack('N', pack('f>', -3.4e38)) ], undef ],
	[ 4, [ $third, 0x00000001, 0x007fffff, 0x00800000 ], [ $third, $third, $third ] ],
);
my $id = 5;
for my $dims (1, 2, 3, 5, 64, 300, 1000, 2000, 2000, 16000)
{
	push @rows,
	  [ $id++, [ map { random_float_bits() } 1 .. $dims ],
		[ map { random_float_bits() } 1 .. 3 ] ];
}

my %expected;    # id => "md5 of v|md5 of v3 or NULL"
my @values;
for my $r (@rows)
{
	my ($rid, $v, $v3) = @$r;
	$expected{$rid} = to_md5(@$v) . '|' . (defined $v3 ? to_md5(@$v3) : 'NULL');
	push @values, sprintf("(%d, '%s', %s)", $rid, to_text(@$v),
		defined $v3 ? "'" . to_text(@$v3) . "'" : 'NULL');
}
# a row with a NULL vector
push @values, "($id, NULL, NULL)";
$expected{$id} = 'NULL|NULL';

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

my $tmp = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION vecdb');
$node->safe_psql('src', 'CREATE TABLE t (id int PRIMARY KEY, v vector, v3 vector(3))');
$node->safe_psql('src', 'INSERT INTO t VALUES ' . join(",\n", @values));

# id => "md5|md5" for a table in a database
sub stored
{
	my ($db, $table) = @_;
	my %got;
	my $out = $node->safe_psql($db,
		"SELECT id, coalesce(md5(vector_send(v)), 'NULL') || '|' || coalesce(md5(vector_send(v3)), 'NULL') FROM $table ORDER BY id"
	);
	for my $line (split /\n/, $out)
	{
		my ($rid, $md5s) = split /\|/, $line, 2;
		$got{$rid} = $md5s;
	}
	return \%got;
}

sub text_of
{
	my ($db, $table) = @_;
	return $node->safe_psql($db,
		"SELECT md5(string_agg(id || ':' || coalesce(v::text, 'N') || ':' || coalesce(v3::text, 'N'), ';' ORDER BY id)) FROM $table"
	);
}

is_deeply(stored('src', 't'), \%expected, 'source table holds the intended bits');
my $src_text = text_of('src', 't');

# --- pg_dump -Fc / pg_restore
my $dump = "$tmp/src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-d', 'src', '-f', $dump ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'dst', $dump ], 'pg_restore');
is($node->safe_psql('dst', "SELECT extname FROM pg_extension WHERE extname = 'vecdb'"),
	'vecdb', 'the extension is restored');
is($node->safe_psql('dst', q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 't'::regclass AND attname = 'v3'}),
	'vector(3)', 'the vector(3) typmod is restored');
is_deeply(stored('dst', 't'), \%expected, 'pg_restore gives back the same bits');
is(text_of('dst', 't'), $src_text, 'pg_restore gives back the same text');

# --- plain-format dump too: text output must read back exactly
my $plain = "$tmp/src.sql";
$node->command_ok([ 'pg_dump', '-d', 'src', '-f', $plain ], 'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'dst_plain', '-f', $plain ],
	'plain dump loads');
is_deeply(stored('dst_plain', 't'), \%expected, 'plain dump gives back the same bits');

# --- COPY text and binary
for my $format ('text', 'binary')
{
	my $file = "$tmp/t.$format";
	$node->safe_psql('src', "COPY t TO '$file' (FORMAT $format)");
	$node->safe_psql('src', "CREATE TABLE t_$format (LIKE t INCLUDING ALL)");
	$node->safe_psql('src', "COPY t_$format FROM '$file' (FORMAT $format)");
	is_deeply(stored('src', "t_$format"), \%expected, "COPY $format round-trips the bits");
	is(text_of('src', "t_$format"), $src_text, "COPY $format round-trips the text");
}

# COPY text through psql's \copy (client side) as well
$node->safe_psql('src', "CREATE TABLE t_client (LIKE t)");
$node->safe_psql('src', "\\copy t TO '$tmp/client.txt'");
$node->safe_psql('src', "\\copy t_client FROM '$tmp/client.txt'");
is_deeply(stored('src', 't_client'), \%expected, '\copy text round-trips the bits');

# --- binary COPY of a query, into a table of vector columns only
my $qfile = "$tmp/query.bin";
$node->safe_psql('src', "COPY (SELECT v, v3 FROM t ORDER BY id) TO '$qfile' (FORMAT binary)");
$node->safe_psql('src', 'CREATE TABLE only_vectors (v vector, v3 vector(3))');
$node->safe_psql('src', "COPY only_vectors FROM '$qfile' (FORMAT binary)");
is( $node->safe_psql('src',
		q{SELECT md5(string_agg(coalesce(vector_send(v)::text, 'N') || coalesce(vector_send(v3)::text, 'N'), ';'
		  ORDER BY v::text COLLATE "C", v3::text COLLATE "C")) FROM only_vectors}),
	$node->safe_psql('src',
		q{SELECT md5(string_agg(coalesce(vector_send(v)::text, 'N') || coalesce(vector_send(v3)::text, 'N'), ';'
		  ORDER BY v::text COLLATE "C", v3::text COLLATE "C")) FROM t}),
	'binary COPY of a query loads back bit for bit');

# the binary file's vector fields are the send format: header int16 dims, int16 0
my $raw = slurp_file($qfile);
like($raw, qr/^PGCOPY\n\xff\r\n\0/, 'binary COPY file has the PGCOPY signature');

# a binary file from the query also loads into vector(3) when dims fit, and
# fails cleanly with a dimension error when they do not
my ($ret, $stdout, $stderr) = $node->psql('src',
	"CREATE TABLE wrong_dims (v3 vector(3), v vector(3)); COPY wrong_dims FROM '$qfile' (FORMAT binary)");
isnt($ret, 0, 'binary COPY into a vector(3) column with other dims fails');
like($stderr, qr/ERROR:.*dimensions/, '... with a dimension error');

$node->stop;
done_testing();
