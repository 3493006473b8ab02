# 003_hostile_input.pl: hostile input gets a clean ERROR, never a crash.
#
# Thousands of seeded random and mutated strings go through vector_in (as
# '...'::vector and '...'::vector(3)), and hundreds of binary COPY files with
# corrupted vector fields through vector_recv. Each one must either succeed
# (and then be a valid vector that reads back identically) or fail with an
# ERROR whose SQLSTATE is in the expected set. Afterwards the server must be
# up, no backend may have crashed, and a bystander table must be intact.
#
# The seed is VECDB_HOSTILE_SEED (default 3003), printed so a failure can be
# reproduced.
use strict;
use warnings;
use utf8;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $seed = $ENV{VECDB_HOSTILE_SEED} // 3003;
srand($seed);
note "seed $seed";
my $started = time();

my $n_strings = 10000;   # random and mutated text inputs
my $n_binary  = 2000;    # corrupted binary COPY files

# SQLSTATEs a bad input may raise.
my %text_ok = map { $_ => 1 } qw(
  22P02 22000 22003 54000);
my %binary_ok = map { $_ => 1 } qw(
  22P02 22000 22003 54000
  08P01 22P03 22023 22P04);
# 08P01 protocol_violation, 22P03 invalid_binary_representation: the field
# itself is malformed. 22023 invalid_parameter_value: pgvector's code for a
# non-zero reserved field. 22P04 bad_copy_file_format: the COPY framing
# around the field is broken.

# ---------------------------------------------------------------------------
# Text inputs

my @tokens = (
	'NaN', 'nan', '-NaN', 'Infinity', '-Infinity', 'inf', '-inf', 'INF',
	'1e39', '-1e39', '3.5e38', '1e-39', '1e-46', '1e-50', '0x1p128', '0x1p-150',
	'0x', '0x1.8p1', 'e', 'e5', '1e', '1e+', '+', '-', '--1', '+-1', '.', '..', '.5', '5.',
	',', ',,', '[', ']', '[[', ']]', ' ', "\t", "\n", "\r", "\f", "\x0b", '\\',
	'"', "'", '{', '}', '(', ')', '1_000', '١', "\x{e9}", "\x{2003}", "\x{fffd}",
	'9' x 60, '0.' . ('0' x 80) . '1', '1' . ('0' x 45), '-0', '+0', '0e0',
);
my @alphabet = split //, "0123456789.eE+-[], \t\nxXpPnNaAiIfFyY\\;{}()'\"";

sub random_number
{
	my $r = rand();
	return int(rand(1000)) - 500 if $r < 0.3;
	return sprintf('%.*g', 1 + int(rand(9)), (rand() - 0.5) * 10**(int(rand(20)) - 10)) if $r < 0.7;
	return sprintf('%.9e', (rand() - 0.5) * 10**(int(rand(80)) - 40)) if $r < 0.85;
	return $tokens[ int(rand(@tokens)) ];
}

sub random_vector_text
{
	my ($dims) = @_;
	my @sp = ('', '', '', ' ', "\t", '  ', "\n");
	my $s = $sp[ rand @sp ] . '[';
	for my $i (1 .. $dims)
	{
		$s .= ',' if $i > 1;
		$s .= $sp[ rand @sp ] . random_number() . $sp[ rand @sp ];
	}
	return $s . ']' . $sp[ rand @sp ];
}

sub valid_vector_text
{
	my ($dims) = @_;
	return '[' . join(',', map { sprintf('%.6g', (rand() - 0.5) * 100) } 1 .. $dims) . ']';
}

sub mutate
{
	my ($s) = @_;
	for (1 .. 1 + int(rand(4)))
	{
		my $len = length($s);
		my $pos = int(rand($len + 1));
		my $op  = int(rand(7));
		if ($op == 0)
		{
			substr($s, $pos, 0) = $alphabet[ rand @alphabet ];
		}
		elsif ($op == 1 && $len)
		{
			substr($s, $pos, 1) = '';
		}
		elsif ($op == 2 && $len)
		{
			substr($s, $pos, 1) = $alphabet[ rand @alphabet ];
		}
		elsif ($op == 3)
		{
			substr($s, $pos, 0) = $tokens[ rand @tokens ];
		}
		elsif ($op == 4)
		{
			$s = substr($s, 0, $pos);
		}
		elsif ($op == 5 && $len)
		{
			my $piece = substr($s, $pos, 1 + int(rand(10)));
			substr($s, $pos, 0) = $piece x (1 + int(rand(5)));
		}
		else
		{
			$s = reverse($s) if rand() < 0.1;
		}
	}
	return $s;
}

my @strings = (
	# edge cases, deterministic
	'', ' ', '[', ']', '[]', '[ ]', '[,]', '[1,]', '[,1]', '[1,,2]', '[1 2]', '[1]]', '[[1]]',
	'1,2,3', '{1,2,3}', '(1,2,3)', '[1,2,3', '1,2,3]', '[1,2,3]x', 'x[1,2,3]', '[1;2;3]',
	'[1,2,3]', ' [ 1 , 2 , 3 ] ', '[1,2]', '[0x10]', '[1e39]', '[-1e39]', '[1e-50]', '[NaN]', '[1,NaN]',
	'[Infinity]', '[-inf]', '[3.4028235e38]', '[3.4028236e38]', '[1.4e-45]', '[7e-46]',
	'[' . join(',', (1) x 16000) . ']',
	'[' . join(',', (1) x 16001) . ']',
	'[' . join(',', (1) x 20000) . ']',
	'[' . join(',', (1) x 16000) . ',]',
	'[' x 5000, ']' x 5000, ',' x 20000, '[' . ('1' x 10000) . ']',
	'[' . ('9' x 400) . ']', '[0.' . ('0' x 400) . '1]', '[' . (' ' x 10000) . '1]',
	'[1,2,3]' . (' ' x 1000), "[1,\x{e9}]", "[\x{2003}1]",
);
push @strings, valid_vector_text(3) for 1 .. 50;    # must succeed
my $n_valid_fixed = 50;
while (@strings < $n_strings)
{
	my $r = rand();
	if ($r < 0.45)
	{
		push @strings, mutate(valid_vector_text(1 + int(rand(6))));
	}
	elsif ($r < 0.75)
	{
		push @strings, random_vector_text(1 + int(rand(5)));
	}
	elsif ($r < 0.9)
	{
		push @strings, join('', map { $alphabet[ rand @alphabet ] } 1 .. int(rand(30)));
	}
	else
	{
		push @strings, mutate(random_vector_text(1 + int(rand(40))));
	}
}

my $node = PostgreSQL::Test::Cluster->new('hostile');
$node->init;
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');

# A bystander: must come through untouched.
$node->safe_psql('postgres', q{
	CREATE TABLE bystander (id int PRIMARY KEY, v vector(4));
	INSERT INTO bystander SELECT i, ARRAY[i, i * 0.5, -i, 1.0 / i]::real[]::vector
	FROM generate_series(1, 2000) i});
my $bystander_before = $node->safe_psql('postgres',
	q{SELECT count(*), md5(string_agg(vector_send(v)::text, ';' ORDER BY id)) FROM bystander});

# Load the strings through a COPY text file (so no quoting games), then try
# each one in its own subtransaction.
sub copy_escape
{
	my ($s) = @_;
	$s =~ s/\\/\\\\/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/\r/\\r/g;
	return $s;
}
{
	open my $fh, '>:encoding(UTF-8)', "$tmp/strings.txt" or die $!;
	for my $i (0 .. $#strings)
	{
		print $fh "$i\t", copy_escape($strings[$i]), "\n";
	}
	close $fh;
}

$node->safe_psql('postgres', qq{
	CREATE TABLE inputs (id int PRIMARY KEY, s text NOT NULL);
	COPY inputs FROM '$tmp/strings.txt';
	CREATE TABLE outcomes (id int, target text, state text, detail text);

	CREATE FUNCTION try_text(target text) RETURNS void LANGUAGE plpgsql AS \$\$
	DECLARE
		r record;
		st text;
		detail text;
		dims int;
		same boolean;
	BEGIN
		FOR r IN SELECT id, s FROM inputs ORDER BY id LOOP
			detail := NULL;
			BEGIN
				EXECUTE format('SELECT vector_dims(x), vector_send(x::text::vector) = vector_send(x)
				                FROM (SELECT %L::%s AS x) q', r.s, target)
					INTO dims, same;
				st := 'ok';
				IF NOT same THEN
					st := 'bad'; detail := 'text output does not read back';
				ELSIF dims < 1 OR dims > 16000 OR (target = 'vector(3)' AND dims <> 3) THEN
					st := 'bad'; detail := 'accepted with ' || dims || ' dimensions';
				END IF;
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, detail = MESSAGE_TEXT;
			END;
			INSERT INTO outcomes VALUES (r.id, target, st, detail);
		END LOOP;
	END \$\$;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM inputs'), scalar(@strings),
	'all hostile strings loaded');

for my $target ('vector', 'vector(3)')
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT try_text('$target')");
	is($ret, 0, "every string tried as $target") or diag($err);
	my $bad = $node->safe_psql('postgres', qq{
		SELECT o.state, count(*), (array_agg(o.id ORDER BY o.id))[1],
		       left((array_agg(o.detail ORDER BY o.id))[1], 200)
		FROM outcomes o WHERE target = '$target' GROUP BY o.state ORDER BY o.state});
	my (%count, @unexpected);
	for my $line (split /\n/, $bad)
	{
		my ($state, $count, $example, $detail) = split /\|/, $line, 4;
		$count{$state} = $count;
		next if $state eq 'ok' || $text_ok{$state};
		my $s = $strings[$example];
		$s = substr($s, 0, 80) . '...' if length($s) > 80;
		push @unexpected, "$state x$count, e.g. input #$example '$s': $detail";
	}
	note "$target: " . join(', ', map { "$_ x$count{$_}" } sort keys %count);
	is_deeply(\@unexpected, [], "$target: every input succeeds or raises an expected SQLSTATE");
}

# Inputs whose fate is known.
my %must = (
	'[1,2,3]'       => [ 'ok',    'ok' ],
	' [ 1 , 2 , 3 ] ' => [ 'ok',  'ok' ],
	'[1,2]'         => [ 'ok',    '22000' ],
	'[]'            => [ '22000', '22000' ],
	'[1,NaN]'       => [ '22000', '22000' ],
	'[Infinity]'    => [ '22000', '22000' ],
	'[1e39]'        => [ '22003', '22003' ],
	'[1,2,3'        => [ '22P02', '22P02' ],
	'[1,,2]'        => [ '22P02', '22P02' ],
	''              => [ '22P02', '22P02' ],
	'[' . join(',', (1) x 16000) . ']' => [ 'ok',    '22000' ],
	'[' . join(',', (1) x 16001) . ']' => [ '54000', '54000' ],
);
my %index_of;
$index_of{ $strings[$_] } //= $_ for 0 .. $#strings;
my @wrong;
for my $s (sort keys %must)
{
	my $i = $index_of{$s};
	if (!defined $i) { push @wrong, "not tried: '$s'"; next; }
	for my $k (0, 1)
	{
		my $target = $k ? 'vector(3)' : 'vector';
		my $got = $node->safe_psql('postgres',
			"SELECT state FROM outcomes WHERE id = $i AND target = '$target'");
		my $shown = length($s) > 40 ? substr($s, 0, 40) . '...' : $s;
		push @wrong, "'$shown'::$target gave $got, not $must{$s}[$k]" if $got ne $must{$s}[$k];
	}
}
is_deeply(\@wrong, [], 'known inputs succeed or fail with pgvector\'s SQLSTATE');

is( $node->safe_psql('postgres',
		"SELECT count(*) FROM outcomes WHERE target = 'vector' AND state <> 'ok' AND id IN (SELECT id FROM inputs WHERE s ~ '^\\[-?[0-9]{1,20}(\\.[0-9]{1,20})?(,-?[0-9]{1,20}(\\.[0-9]{1,20})?)*\\]\$' AND length(s) < 200)"
	),
	'0',
	'plain well-formed vectors are all accepted');

# ---------------------------------------------------------------------------
# Binary COPY files with corrupted vector fields

sub copy_file
{
	my (@rows) = @_;    # each row: [int4 id, raw vector field bytes or undef]
	my $data = "PGCOPY\n\xff\r\n\0" . pack('N N', 0, 0);
	for my $r (@rows)
	{
		my ($id, $field, $field_len) = @$r;
		$data .= pack('n', 2) . pack('N', 4) . pack('N', $id);
		if (!defined $field)
		{
			$data .= pack('N', 0xffffffff);
		}
		else
		{
			$data .= pack('N', $field_len // length($field)) . $field;
		}
	}
	return $data . pack('n', 0xffff);
}

sub float_bits { return unpack('N', pack('f>', $_[0])) }

sub vector_field
{
	my ($dims, $reserved, @bits) = @_;
	return pack('n n', $dims & 0xffff, $reserved & 0xffff) . pack('N*', @bits);
}

sub random_field
{
	my $dims = 1 + int(rand(6));
	return vector_field($dims, 0, map { float_bits((rand() - 0.5) * 1000) } 1 .. $dims);
}

my @binary;    # [name, file contents, target table]
my $nan  = 0x7fc00000;
my $inf  = 0x7f800000;
my $ok3  = vector_field(3, 0, map { float_bits($_) } 1, 2, 3);
push @binary,
  [ 'valid',              copy_file([ 1, $ok3 ]),                                   'hb' ],
  [ 'valid vector(3)',    copy_file([ 1, $ok3 ]),                                   'hb3' ],
  [ 'NULL',               copy_file([ 1, undef ]),                                  'hb' ],
  [ 'dims 0',             copy_file([ 1, vector_field(0, 0) ]),                     'hb' ],
  [ 'dims -1',            copy_file([ 1, vector_field(-1, 0, 0) ]),                 'hb' ],
  [ 'dims -32768',        copy_file([ 1, vector_field(-32768, 0) ]),                'hb' ],
  [ 'dims 16001',         copy_file([ 1, vector_field(16001, 0, (0) x 16001) ]),    'hb' ],
  [ 'dims 32767 no data', copy_file([ 1, vector_field(32767, 0) ]),                 'hb' ],
  [ 'dims 16000',         copy_file([ 1, vector_field(16000, 0, (0) x 16000) ]),    'hb' ],
  [ 'reserved 1',         copy_file([ 1, vector_field(1, 1, 0) ]),                  'hb' ],
  [ 'reserved ffff',      copy_file([ 1, vector_field(1, 0xffff, 0) ]),             'hb' ],
  [ 'NaN',                copy_file([ 1, vector_field(2, 0, 0, $nan) ]),            'hb' ],
  [ 'signalling NaN',     copy_file([ 1, vector_field(1, 0, 0x7f800001) ]),         'hb' ],
  [ 'negative NaN',       copy_file([ 1, vector_field(1, 0, 0xffc00000) ]),         'hb' ],
  [ 'Infinity',           copy_file([ 1, vector_field(1, 0, $inf) ]),               'hb' ],
  [ '-Infinity',          copy_file([ 1, vector_field(1, 0, 0xff800000) ]),         'hb' ],
  [ 'short by 1',         copy_file([ 1, substr($ok3, 0, -1) ]),                    'hb' ],
  [ 'long by 1',          copy_file([ 1, $ok3 . "\0" ]),                            'hb' ],
  [ 'long by 4',          copy_file([ 1, $ok3 . "\0\0\0\0" ]),                      'hb' ],
  [ 'header only',        copy_file([ 1, vector_field(3, 0) ]),                     'hb' ],
  [ 'field length 0',     copy_file([ 1, '' ]),                                     'hb' ],
  [ 'field length 2',     copy_file([ 1, "\0\1" ]),                                 'hb' ],
  [ 'field length past end', copy_file([ 1, $ok3, 1000 ]),                          'hb' ],
  [ 'field length -2',    copy_file([ 1, $ok3, 0xfffffffe ]),                       'hb' ],
  [ 'wrong dims vector(3)', copy_file([ 1, vector_field(2, 0, 0, 0) ]),             'hb3' ],
  [ 'dims 16000 vector(3)', copy_file([ 1, vector_field(16000, 0, (0) x 16000) ]),  'hb3' ],
  [ 'truncated file',     substr(copy_file([ 1, $ok3 ]), 0, -7),                    'hb' ],
  [ 'good then bad',      copy_file([ 1, $ok3 ], [ 2, vector_field(3, 0, 0, $nan, 0) ]), 'hb' ];

# random corruption of valid fields
for my $n (1 .. $n_binary)
{
	my $field = random_field();
	my $len   = undef;
	my $what  = int(rand(6));
	if ($what == 0)    # flip random bytes anywhere in the field
	{
		for (1 .. 1 + int(rand(3)))
		{
			my $p = int(rand(length $field));
			substr($field, $p, 1) = chr(int(rand(256)));
		}
	}
	elsif ($what == 1)    # random dims
	{
		substr($field, 0, 2) = pack('n', int(rand(65536)));
	}
	elsif ($what == 2)    # random reserved field
	{
		substr($field, 2, 2) = pack('n', int(rand(65536)));
	}
	elsif ($what == 3)    # grow or shrink the field (length kept consistent)
	{
		if (rand() < 0.5) { $field = substr($field, 0, int(rand(length $field))); }
		else              { $field .= join('', map { chr(int(rand(256))) } 1 .. 1 + int(rand(9))); }
	}
	elsif ($what == 4)    # a NaN or Infinity pattern somewhere
	{
		my $dims = unpack('n', $field);
		my $p    = int(rand($dims));
		my @pat  = (0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f800001, 0x7fffffff,
			0xffffffff);
		substr($field, 4 + 4 * $p, 4) = pack('N', $pat[ rand @pat ]);
	}
	else    # a lying field length
	{
		$len = length($field) + int(rand(9)) - 4;
		$len = 0 if $len < 0;
	}
	push @binary, [ "random $n", copy_file([ 1, $field, $len ]), rand() < 0.8 ? 'hb' : 'hb3' ];
}

# halfvec's binary form (2-byte elements), corrupted the same ways, into
# table hh: every file must load valid halfvecs or raise an expected error
sub half_field
{
	my ($dims, $reserved, @bits) = @_;
	return pack('n n', $dims & 0xffff, $reserved & 0xffff) . pack('n*', @bits);
}
push @binary, [ 'valid halfvec', copy_file([ 1, half_field(3, 0, 0x3c00, 0x4000, 0xc200) ]), 'hh' ];
for my $n (1 .. $n_binary / 4)
{
	my $dims = 1 + int(rand(6));
	my $field = half_field($dims, 0, map { int(rand(65536)) & 0x7bff } 1 .. $dims);
	my $len = undef;
	my $what = int(rand(5));
	if ($what == 0) { substr($field, int(rand(length $field)), 1) = chr(int(rand(256))); }
	elsif ($what == 1) { substr($field, 0, 2) = pack('n', int(rand(65536))); }
	elsif ($what == 2) { substr($field, 2, 2) = pack('n', int(rand(65536))); }
	elsif ($what == 3)    # a NaN or infinity half somewhere
	{
		my @pat = (0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xffff);
		substr($field, 4 + 2 * int(rand($dims)), 2) = pack('n', $pat[ rand @pat ]);
	}
	else { $len = length($field) + int(rand(5)) - 2; $len = 0 if $len < 0; }
	push @binary, [ "random halfvec $n", copy_file([ 1, $field, $len ]), 'hh' ];
}

# sparsevec's binary form (int32 dims, nnz, 0, the indices from 0, the
# values), corrupted in each of its fields, into table hs
sub sparse_field
{
	my ($dims, $nnz, $unused, $indices, $values) = @_;
	return pack('N N N', $dims & 0xffffffff, $nnz & 0xffffffff, $unused & 0xffffffff)
	  . pack('N*', map { $_ & 0xffffffff } @$indices)
	  . pack('N*', map { float_bits($_) } @$values);
}
my %sparse_known = (
	'valid sparsevec'            => sparse_field(5, 2, 0, [ 1, 4 ], [ 1.5, -2 ]),
	'empty sparsevec'            => sparse_field(7, 0, 0, [], []),
	'sparsevec dims 0'           => sparse_field(0, 0, 0, [], []),
	'sparsevec dims -1'          => sparse_field(-1, 0, 0, [], []),
	'sparsevec nnz -1'           => sparse_field(5, -1, 0, [], []),
	'sparsevec nnz over dims'    => sparse_field(1, 2, 0, [ 0, 1 ], [ 1, 1 ]),
	'sparsevec nnz 16001'        => sparse_field(20000, 16001, 0, [], []),
	'sparsevec unused 1'         => sparse_field(5, 1, 1, [0], [1]),
	'sparsevec index 5 of 5'     => sparse_field(5, 1, 0, [5], [1]),
	'sparsevec index -1'         => sparse_field(5, 1, 0, [-1], [1]),
	'sparsevec unordered'        => sparse_field(5, 2, 0, [ 3, 1 ], [ 1, 1 ]),
	'sparsevec duplicate'        => sparse_field(5, 2, 0, [ 1, 1 ], [ 1, 1 ]),
	'sparsevec zero value'       => sparse_field(5, 2, 0, [ 1, 2 ], [ 1, 0 ]),
	'sparsevec NaN'              => sparse_field(5, 1, 0, [1], ['NaN']),
	'sparsevec nnz past the end' => sparse_field(5, 3, 0, [ 1, 2 ], [ 1, 1 ]),
);
push @binary, [ $_, copy_file([ 1, $sparse_known{$_} ]), 'hs' ] for sort keys %sparse_known;
for my $n (1 .. $n_binary / 4)
{
	my $dims = 1 + int(rand(40));
	my @idx = sort { $a <=> $b } keys %{ { map { int(rand($dims)) => 1 } 1 .. 1 + int(rand(4)) } };
	my $field = sparse_field($dims, scalar @idx, 0, \@idx, [ map { 1 + rand(9) } @idx ]);
	my $len = undef;
	my $what = int(rand(4));
	if ($what == 0) { substr($field, int(rand(length $field)), 1) = chr(int(rand(256))); }
	elsif ($what == 1) { substr($field, 4 * int(rand(3)), 4) = pack('N', int(rand(2**32))); }
	elsif ($what == 2) { substr($field, 12 + 4 * int(rand(@idx)), 4) = pack('N', int(rand(2**32))); }
	else { $len = length($field) + int(rand(9)) - 4; $len = 0 if $len < 0; }
	push @binary, [ "random sparsevec $n", copy_file([ 1, $field, $len ]), 'hs' ];
}

for my $i (0 .. $#binary)
{
	open my $fh, '>:raw', "$tmp/bin_$i.copy" or die $!;
	print $fh $binary[$i][1];
	close $fh;
}

$node->safe_psql('postgres', qq{
	CREATE TABLE hb (id int, v vector);
	CREATE TABLE hb3 (id int, v vector(3));
	CREATE TABLE hh (id int, v halfvec);
	CREATE TABLE hs (id int, v sparsevec);
	CREATE TABLE bin_outcomes (n int, state text, detail text);
	CREATE FUNCTION try_binary(n int, target text) RETURNS void LANGUAGE plpgsql AS \$\$
	DECLARE
		st text;
		detail text;
		bad int;
		typ text := CASE target WHEN 'hh' THEN 'halfvec' WHEN 'hs' THEN 'sparsevec' ELSE 'vector' END;
		-- a sparsevec has no vector_dims: its text round trip checks it
		dims_wrong text := CASE target WHEN 'hs' THEN 'false'
			WHEN 'hb3' THEN 'vector_dims(v) <> 3'
			ELSE 'vector_dims(v) NOT BETWEEN 1 AND 16000' END;
	BEGIN
		BEGIN
			EXECUTE format('COPY %I FROM %L (FORMAT binary)', target, '$tmp/bin_' || n || '.copy');
			EXECUTE format('SELECT count(*) FROM %I
			                WHERE v IS NOT NULL AND (%s
			                   OR %s_send(v::text::%s) <> %s_send(v))', target, dims_wrong, typ, typ, typ)
				INTO bad;
			st := CASE WHEN bad = 0 THEN 'ok' ELSE 'bad' END;
			detail := bad || ' invalid vectors loaded';
			EXECUTE format('DELETE FROM %I', target);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, detail = MESSAGE_TEXT;
		END;
		INSERT INTO bin_outcomes VALUES (n, st, detail);
	END \$\$;
});

my $calls = join(",\n", map { "($_, '$binary[$_][2]')" } 0 .. $#binary);
my ($bret, $bout, $berr) = $node->psql('postgres',
	"SELECT try_binary(n, t) FROM (VALUES $calls) AS c(n, t) ORDER BY n");
is($bret, 0, 'every binary COPY file tried') or diag($berr);

{
	my $out = $node->safe_psql('postgres', 'SELECT n, state, left(detail, 200) FROM bin_outcomes ORDER BY n');
	my (%count, @unexpected, %got);
	for my $line (split /\n/, $out)
	{
		my ($n, $state, $detail) = split /\|/, $line, 3;
		$got{ $binary[$n][0] } = $state;
		$count{$state}++;
		push @unexpected, "$binary[$n][0] ($binary[$n][2]): $state $detail"
		  unless $state eq 'ok' || $binary_ok{$state};
	}
	note 'binary: ' . join(', ', map { "$_ x$count{$_}" } sort keys %count);
	is_deeply(\@unexpected, [], 'binary: every file loads or raises an expected SQLSTATE');

	my %must_bin = (
		'valid'                => 'ok',
		'valid vector(3)'      => 'ok',
		'NULL'                 => 'ok',
		'dims 16000'           => 'ok',
		'dims 0'               => '22000',
		'dims 16001'           => '54000',
		'NaN'                  => '22000',
		'Infinity'             => '22000',
		'wrong dims vector(3)' => '22000',
		'valid halfvec'        => 'ok',
		'valid sparsevec'         => 'ok',
		'empty sparsevec'         => 'ok',
		'sparsevec dims 0'        => '22000',
		'sparsevec dims -1'       => '22000',
		'sparsevec nnz -1'        => '22000',
		'sparsevec nnz over dims' => '54000',
		'sparsevec nnz 16001'     => '54000',
		'sparsevec unused 1'      => '22000',
		'sparsevec index 5 of 5'  => '22000',
		'sparsevec index -1'      => '22000',
		'sparsevec unordered'     => '22000',
		'sparsevec duplicate'     => '22000',
		'sparsevec zero value'    => '22000',
		'sparsevec NaN'           => '22000',
		'sparsevec nnz past the end' => '08P01',
	);
	my @wrong_bin;
	for my $name (sort keys %must_bin)
	{
		my $g = $got{$name} // 'not tried';
		push @wrong_bin, "$name gave $g, not $must_bin{$name}" if $g ne $must_bin{$name};
	}
	for my $name ('dims -1', 'reserved 1', 'short by 1', 'long by 1', 'header only',
		'field length 0', 'good then bad')
	{
		my $g = $got{$name} // 'not tried';
		push @wrong_bin, "$name was accepted" if $g eq 'ok';
	}
	is_deeply(\@wrong_bin, [], 'binary: known files load or fail as pgvector does');
}

# ---------------------------------------------------------------------------
# Still standing?

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still answers');
is( $node->safe_psql('postgres',
		q{SELECT count(*), md5(string_agg(vector_send(v)::text, ';' ORDER BY id)) FROM bystander}),
	$bystander_before, 'bystander table intact');
is($node->safe_psql('postgres', 'SELECT count(*) FROM hb') . '/'
	  . $node->safe_psql('postgres', 'SELECT count(*) FROM hb3'),
	'0/0', 'failed COPYs left no rows behind');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:|server process .* was terminated/,
	'no backend crashed');

my $elapsed = time() - $started;
note sprintf('took %.1f s', $elapsed);
cmp_ok($elapsed, '<', 60, 'bounded: under 60 s');

$node->stop;
done_testing();
