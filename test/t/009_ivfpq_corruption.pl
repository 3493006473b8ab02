# 009_ivfpq_corruption.pl: a damaged ivfpq index gives clean ERRORs, never a
# crash nor a hang, and vecdb_index_check sees the damage.
#
# Three ivfpq indexes: on t (2000 seeded 16-dimension vectors) idx_l2
# (vector_l2_ops, lists = 6, m = 16: chains of one or two list pages) and
# idx_cos (vector_cosine_ops, default options: some 45 one-page lists); on u
# idx_untrained, built on the empty table (untrained: one list, entries of a
# bare heap TID) and then filled by 3000 inserts. The node is stopped cleanly
# and every fork of both tables and the three indexes is saved. Then, round
# after round: stop the node (fast), put the pristine files back, damage one
# index's main fork, laid out as src/ivfpq/ivfpq.h says (random bytes
# anywhere, a random field or region, a whole page; targeted hits on the
# meta page's fields, page headers (pd_lower, pd_upper, pd_special), the
# special space (next links: cycles, shared pages, blocks out of range or
# not list pages; flags; page id), the directory's heads and tails, the
# float pages (NaN, Inf, any bits) and the entries (heap TIDs, the distance
# offset, the code bytes)), start the node, and run, each in its own
# session:
#
#   (a) SELECT ... FROM vecdb_index_check(idx)
#   (b) vecdb_ivfpq_lists(idx), (c) vecdb_ivfpq_info(idx)
#   (d) an index scan at the default settings, its query the centroid of a
#       damaged list (or the vector of a damaged entry's row)
#   (e) an index scan at random settings: vecdb.ivfpq_probes, _rerank,
#       _iterative_scan (off, relaxed_order, strict_order), _max_probes
#   (f) an INSERT of 1 or 30 rows aimed at the damaged list (its centroid)
#   (g) a DELETE of a few rows (some of them on the damaged page), VACUUM
#   (h) vecdb_index_check again
#
# Each must succeed or fail with a clean ERROR (any SQLSTATE but a lost
# connection, a statement timeout or a shutdown); no server process may die
# (no "terminated by signal", no PANIC, no TRAP in the log); a statement
# that does not finish within its timeout is a hang: its backend is killed
# (SIGKILL, once it ignores a cancel) so that the rounds go on, and the
# test fails. The server must answer after every round and a bystander
# table must be intact. The cluster has no data checksums, so what reaches
# the access method is the damage itself.
#
# vecdb_index_check must not be blind: the pristine files give no row on
# each index; the targeted rounds whose damage it is bound to see (meta page
# fields, an out-of-bounds directory head, a cycle, a pd_lower that is not
# whole entries, a bad heap TID, a NaN in the model, ...) must each report
# the matching problem; and at least 80% of the random rounds whose damage
# the check is bound to see must report a problem (or an ERROR).
#
# Reproducing: VECDB_CORRUPTION_SEED (default 9009) seeds everything; round
# r draws its damage from srand(seed * 1000 + r) alone, so
# VECDB_CORRUPTION_ONLY=r1,r2 replays just those rounds (with the pristine
# rounds 0 .. 2). VECDB_CORRUPTION_ROUNDS sets the number of random rounds
# after the targeted ones.
use strict;
use warnings;

use File::Copy qw(copy);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(random_float_bits pick random_vector_text field_patch patched_bytes restore_files
  damage_test_node psql_outcome is_clean_outcome random_bytes_patches random_u16_patch region_patch);

my $seed = $ENV{VECDB_CORRUPTION_SEED} // 9009;
my $n_random = $ENV{VECDB_CORRUPTION_ROUNDS} // 40;
my %only = map { $_ => 1 } split /,/, ($ENV{VECDB_CORRUPTION_ONLY} // '');
srand($seed);
note "seed $seed, $n_random random rounds (VECDB_CORRUPTION_SEED, VECDB_CORRUPTION_ROUNDS)";
my $started = time();

my $dims = 16;
my $n_rows = 2000;
my $n_untrained_rows = 3000;
my $BLCKSZ = 8192;
my $statement_timeout = 5;    # seconds
my $psql_timeout = 10;        # seconds: past it, the statement hangs

# ivfpq.h's layout
my $meta_magic = 0x56495650;
my $page_id = 0xFF92;
my $contents = 24;                       # MAXALIGN(SizeOfPageHeaderData)
my $special = $BLCKSZ - 8;               # MAXALIGN(sizeof(PageOpaque))
my $floats_per_page = ($special - $contents) / 4;
my $heads_per_page = ($special - $contents) / 8;
my $invalid_block = 0xffffffff;
my %kind_flag = (meta => 1, floats => 2, directory => 4, list => 8);
my %meta_field = (                       # name => [offset in page, pack code]
	magic => [ $contents + 0, 'V' ],
	version => [ $contents + 4, 'V' ],
	dims => [ $contents + 8, 'V' ],
	lists => [ $contents + 12, 'V' ],
	m => [ $contents + 16, 'v' ],
	nbits => [ $contents + 18, 'C' ],
	metric => [ $contents + 19, 'C' ],
	flags => [ $contents + 20, 'C' ],
	build_id => [ $contents + 24, 'Q<' ],
	centroids_blkno => [ $contents + 32, 'V' ],
	codebooks_blkno => [ $contents + 36, 'V' ],
	directory_blkno => [ $contents + 40, 'V' ],
	directory_pages => [ $contents + 44, 'V' ],
	built_entries => [ $contents + 48, 'q<' ],
	trained_rows => [ $contents + 56, 'q<' ],
);
my %header_field = (                     # PageHeaderData: name => [offset, size]
	pd_lsn => [ 0, 8 ],
	pd_checksum => [ 8, 2 ],
	pd_flags => [ 10, 2 ],
	pd_lower => [ 12, 2 ],
	pd_upper => [ 14, 2 ],
	pd_special => [ 16, 2 ],
	pd_pagesize_version => [ 18, 2 ],
	pd_prune_xid => [ 20, 4 ],
);
my @nasty_floats = (0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f800001, 0x7f7fffff,
	0xff7fffff, 0x00000001, 0x80000000);

sub vector_text { return '[' . join(',', map { sprintf('%.9g', $_) } @_) . ']'; }

# ---------------------------------------------------------------------------
# The tables, the indexes, the bystander

my $node = damage_test_node('ivfpq_corruption');
my $tmp = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE t (id int NOT NULL, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', 'INSERT INTO t VALUES '
	  . join(",\n", map { "($_, '" . random_vector_text($dims) . "')" } 1 .. $n_rows));
$node->safe_psql('postgres',
	'CREATE INDEX idx_l2 ON t USING ivfpq (v vector_l2_ops) WITH (lists = 6, m = 16)');
$node->safe_psql('postgres', 'CREATE INDEX idx_cos ON t USING ivfpq (v vector_cosine_ops)');
$node->safe_psql('postgres', "CREATE TABLE u (id int NOT NULL, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', 'CREATE INDEX idx_untrained ON u USING ivfpq (v vector_l2_ops) WITH (streaming = off)');
$node->safe_psql('postgres', 'INSERT INTO u VALUES '
	  . join(",\n", map { "($_, '" . random_vector_text($dims) . "')" } 1 .. $n_untrained_rows));
$node->safe_psql('postgres', q{
	CREATE TABLE bystander (id int PRIMARY KEY, v vector(4));
	INSERT INTO bystander SELECT i, ARRAY[i, i * 0.5, -i, 1.0 / i]::real[]::vector
	FROM generate_series(1, 3000) i;
	VACUUM ANALYZE t; VACUUM ANALYZE u; VACUUM bystander; CHECKPOINT});
my $bystander_sql =
  q{SELECT count(*), md5(string_agg(vector_send(v)::text, ';' ORDER BY id)) FROM bystander};
my $bystander_before = $node->safe_psql('postgres', $bystander_sql);

my @indexes = (
	{ name => 'idx_l2', table => 't', op => '<->', metric => 0, trained => 1 },
	{ name => 'idx_cos', table => 't', op => '<=>', metric => 2, trained => 1 },
	{ name => 'idx_untrained', table => 'u', op => '<->', metric => 0, trained => 0 },
);
my %index_named = map { $_->{name} => $_ } @indexes;

my %table;    # name => {path, blocks, id_of (ctid => id), vec_of (ctid => vector text)}
for my $name ('t', 'u')
{
	my ($path, $blocks) = split /\|/, $node->safe_psql('postgres',
		"SELECT pg_relation_filepath('$name'), "
		  . "pg_relation_size('$name') / current_setting('block_size')::int");
	my %tb = (path => $path, blocks => $blocks);
	for my $line (split /\n/, $node->safe_psql('postgres', "SELECT ctid, id, v FROM $name"))
	{
		my ($ctid, $id, $v) = split /\|/, $line;
		$tb{id_of}{$ctid} = $id;
		$tb{vec_of}{$ctid} = $v;
	}
	$table{$name} = \%tb;
}

for my $ix (@indexes)
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecdb_index_check('$ix->{name}')"),
		'0', "the fresh $ix->{name} passes vecdb_index_check");
	like(
		$node->safe_psql('postgres',
			"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM $ix->{table} "
			  . "ORDER BY v $ix->{op} '"
			  . random_vector_text($dims) . "' LIMIT 10"),
		qr/Index Scan using $ix->{name} on $ix->{table}/,
		"the query uses $ix->{name}");
	($ix->{path}, $ix->{blocks}) = split /\|/, $node->safe_psql('postgres',
		"SELECT pg_relation_filepath('$ix->{name}'), "
		  . "pg_relation_size('$ix->{name}') / current_setting('block_size')::int");
	note "$ix->{name}: $ix->{path}, $ix->{blocks} blocks";
}

$node->stop('fast');

# Every fork of the tables and indexes, as they are now.
my $data = $node->data_dir;
my @forks = ('', '_fsm', '_vm', '_init', '.1');
my @paths = (map({ $table{$_}{path} } sort keys %table), map({ $_->{path} } @indexes));
my %saved;    # "$path$fork" => saved copy, or undef when the fork does not exist
mkdir "$tmp/pristine" or die $!;
for my $path (@paths)
{
	for my $fork (@forks)
	{
		my $file = "$data/$path$fork";
		(my $name = "$path$fork") =~ s{/}{_}g;
		if (-e $file)
		{
			copy($file, "$tmp/pristine/$name") or die "copy $file: $!";
			$saved{"$path$fork"} = "$tmp/pristine/$name";
		}
		else { $saved{"$path$fork"} = undef; }
	}
}

# ---------------------------------------------------------------------------
# The pristine indexes, parsed

sub u16 { my ($ix, $at) = @_; return unpack('v', substr($ix->{pristine}, $at, 2)); }
sub u32 { my ($ix, $at) = @_; return unpack('V', substr($ix->{pristine}, $at, 4)); }
sub f32 { my ($ix, $at) = @_; return unpack('f<', substr($ix->{pristine}, $at, 4)); }

for my $ix (@indexes)
{
	die "$ix->{name} has a second segment" if defined $saved{"$ix->{path}.1"};
	$ix->{pristine} = slurp_file("$data/$ix->{path}");
	my $nblocks = $ix->{blocks};
	is(length($ix->{pristine}), $nblocks * $BLCKSZ, "$ix->{name}: file is as long as its block count");

	my %meta = map {
		my ($at, $code) = @{ $meta_field{$_} };
		$_ => unpack($code, substr($ix->{pristine}, $at, 8))
	} keys %meta_field;
	$ix->{meta} = \%meta;
	is( sprintf('%08x %d %d %d %d', $meta{magic}, $meta{version}, $meta{dims}, $meta{metric},
			$meta{flags} & 1),
		sprintf('%08x 2 %d %d %d', $meta_magic, $dims, $ix->{metric}, $ix->{trained}),
		"$ix->{name}: meta page reads as ivfpq.h lays it out");
	my $m = $meta{m};
	my $lists = $meta{lists};
	$ix->{entry_size} = 6 + ($ix->{trained} ? 4 + $m : 0);

	# every page: header, special space, kind
	for my $blk (0 .. $nblocks - 1)
	{
		my $base = $blk * $BLCKSZ;
		my %p = (
			lower => u16($ix, $base + 12),
			upper => u16($ix, $base + 14),
			special => u16($ix, $base + 16),
			next => u32($ix, $base + $special),
			flags => u16($ix, $base + $special + 4),
			id => u16($ix, $base + $special + 6),
		);
		($p{kind}) = grep { $p{flags} == $kind_flag{$_} } sort keys %kind_flag;
		die "$ix->{name} block $blk: page id $p{id}, flags $p{flags}"
		  unless $p{id} == $page_id && defined $p{kind};
		$ix->{page}[$blk] = \%p;
		push @{ $ix->{pages_of}{ $p{kind} } }, $blk;
	}

	# the directory, and each list's chain and entries
	my ($entries, $list_pages) = (0, 0);
	for my $list (0 .. $lists - 1)
	{
		my $dirblk = $meta{directory_blkno} + int($list / $heads_per_page);
		my $at = $dirblk * $BLCKSZ + $contents + 8 * ($list % $heads_per_page);
		my %l = (list => $list, dirblk => $dirblk, head_at => $at, tail_at => $at + 4,
			head => u32($ix, $at), tail => u32($ix, $at + 4), chain => []);
		my $blk = $l{head};
		while ($blk != $invalid_block)
		{
			die "$ix->{name} list $list: bad chain" if $blk >= $nblocks || @{ $l{chain} } > $nblocks;
			push @{ $l{chain} }, $blk;
			my $p = $ix->{page}[$blk];
			$p->{list} = $list;
			my $n = ($p->{lower} - $contents) / $ix->{entry_size};
			die "$ix->{name} block $blk: not whole entries" if $n != int($n);
			$p->{entries} = [
				map {
					my $e = $blk * $BLCKSZ + $contents + $_ * $ix->{entry_size};
					{
						at => $e,
						ctid => sprintf('(%d,%d)',
							(u16($ix, $e) << 16) | u16($ix, $e + 2), u16($ix, $e + 4)),
					}
				} 0 .. $n - 1
			];
			$entries += $n;
			$list_pages++;
			$blk = $p->{next};
		}
		die "$ix->{name} list $list ends at $l{chain}[-1], not its tail $l{tail}"
		  if @{ $l{chain} } && $l{chain}[-1] != $l{tail};
		push @{ $ix->{lists} }, \%l;
	}
	is($entries, $ix->{table} eq 't' ? $n_rows : $n_untrained_rows,
		"$ix->{name}: the lists hold one entry per row");
	is($list_pages, scalar(@{ $ix->{pages_of}{list} }), "$ix->{name}: every list page is in a list");
	$ix->{multi_page_lists} = [ grep { @{ $_->{chain} } > 1 } @{ $ix->{lists} } ];
	$ix->{nonempty_lists} = [ grep { @{ $_->{chain} } > 0 } @{ $ix->{lists} } ];

	# the model's float runs: [file offset of each float used]
	if ($ix->{trained})
	{
		for my $run ([ centroids => $lists * $dims ], [ codebooks => 256 * $dims ])
		{
			my ($what, $count) = @$run;
			my @at;
			my $blk = $meta{"${what}_blkno"};
			while (@at < $count)
			{
				my $n = ($ix->{page}[$blk]{lower} - $contents) / 4;
				$n = $count - @at if $n > $count - @at;
				push @at, map { $blk * $BLCKSZ + $contents + 4 * $_ } 0 .. $n - 1;
				$blk++;
			}
			$ix->{floats}{$what} = \@at;
		}
		$ix->{centroid} = [
			map {
				my $l = $_;
				[ map { f32($ix, $ix->{floats}{centroids}[ $l * $dims + $_ ]) } 0 .. $dims - 1 ]
			} 0 .. $lists - 1
		];
	}
	note sprintf('%s: %d lists, m %d, entry %d bytes, pages: %s; chains of %s pages',
		$ix->{name}, $lists, $m, $ix->{entry_size},
		join(', ', map { "$_ " . scalar(@{ $ix->{pages_of}{$_} }) } sort keys %{ $ix->{pages_of} }),
		join(',', sort { $a <=> $b } map { scalar(@{ $_->{chain} }) } @{ $ix->{lists} }));
}
ok(scalar(@{ $index_named{idx_l2}{multi_page_lists} }) > 0, 'idx_l2 has lists of several pages');
ok(scalar(@{ $index_named{idx_untrained}{multi_page_lists} }) == 1,
	'idx_untrained has its one list on several pages');

# ---------------------------------------------------------------------------
# Damage: each returns {what, index, patches => [[file offset, bytes], ...],
# page (the damaged block), list (the damaged list), entry, meaningful (the
# check is bound to see it), expect (a regex the check's problems match)}

sub random_list
{
	my ($ix, %opt) = @_;
	my @from = $opt{multi} && @{ $ix->{multi_page_lists} } ? @{ $ix->{multi_page_lists} }
	  : @{ $ix->{nonempty_lists} };
	return pick(@from);
}

sub random_list_page { my ($ix) = @_; return pick(@{ $ix->{pages_of}{list} }); }

sub random_entry
{
	my ($ix) = @_;
	my $blk = random_list_page($ix);
	return ($blk, pick(@{ $ix->{page}[$blk]{entries} }));
}

sub meta_damage
{
	my ($ix, $field, $value) = @_;
	my @fields = sort keys %meta_field;
	$field //= pick(@fields);
	my ($at, $code) = @{ $meta_field{$field} };
	my $meta = $ix->{meta};
	my $orig = $meta->{$field};
	my $nblocks = $ix->{blocks};
	my %values = (
		magic => [ 0, int(rand(2**32)), $orig ^ (1 << int(rand(32))) ],
		version => [ 0, 2, 0xffffffff ],
		dims => [ 0, 1, 8, 15, 17, 32, 16000, 16001, 0xffffffff, 0x80000000 ],
		lists => [ 0, 1, $orig - 1, $orig + 1, 1020, 1021, 100000, 100001, 0xffffffff ],
		m => [ 0, 1, 2, 3, 4, 8, 16, 17, 32, 0xffff ],
		nbits => [ 0, 4, 7, 9, 16, 255 ],
		metric => [ 0, 1, 2, 3, 4, 255 ],
		flags => [ 0, 1, 2, 0xff ],
		build_id => [ 0, int(rand(2**32)) ],
		centroids_blkno => [ 0, 1, $meta->{codebooks_blkno}, $nblocks - 1, $nblocks, 0xfffffff0,
			0xffffffff ],
		codebooks_blkno => [ 0, 1, $meta->{centroids_blkno}, $meta->{codebooks_blkno} + 1,
			$nblocks - 1, $nblocks, 0xffffffff ],
		directory_blkno => [ 0, 1, $orig - 1, $nblocks - 1, $nblocks, $nblocks + 10, 0xfffffffe,
			0xffffffff ],
		directory_pages => [ 0, 2, 3, 0xffffffff ],
		built_entries => [ 0, -1, 2**40 ],
		trained_rows => [ 0, -1, 2**40 ],
	);
	$value //= pick(grep { defined } @{ $values{$field} });
	my $trained = $meta->{flags} & 1;
	my $meaningful = 0;
	if ($value != $orig)
	{
		my %bound = map { $_ => 1 } qw(magic version dims lists metric directory_blkno
		  directory_pages);
		$meaningful = 1 if $bound{$field};
		$meaningful = 1
		  if $field eq 'm' && $trained && ($value < 1 || $value > $dims || $dims % $value);
		$meaningful = 1 if $field eq 'nbits' && $trained;
		$meaningful = 1 if $field eq 'flags' && (($value & 1) != $trained);
		$meaningful = 1
		  if $field =~ /^(centroids|codebooks)_blkno$/ && $trained
		  && ($value >= $nblocks || !grep { $_ == $value } @{ $ix->{pages_of}{floats} });
	}
	return {
		what => "meta $field $orig -> $value",
		patches => [ field_patch($at, $code, $value) ],
		meaningful => $meaningful,
		page => 0,
	};
}

sub header_damage
{
	my ($ix, $blk, $field, $value) = @_;
	$blk //= pick(0, map { pick(@{ $ix->{pages_of}{$_} }) } sort keys %{ $ix->{pages_of} });
	$field //= pick(sort keys %header_field);
	my ($off, $size) = @{ $header_field{$field} };
	my $at = $blk * $BLCKSZ + $off;
	my $p = $ix->{page}[$blk];
	my $bytes;
	my $meaningful = 0;
	if ($size == 2)
	{
		my $orig = u16($ix, $at);
		my $es = $ix->{entry_size};
		$value //= pick(0, 1, 16, 23, 24, 25, $orig - 1, $orig + 1, $orig - $es, $orig + $es,
			$orig - 4, $orig + 4, $p->{upper}, $p->{upper} + 1, 8184, 8192, 0xffff,
			int(rand(65536)));
		$value &= 0xffff;
		$bytes = pack('v', $value);
		my %new = (lower => $p->{lower}, upper => $p->{upper}, special => $p->{special});
		$new{lower} = $value if $field eq 'pd_lower';
		$new{upper} = $value if $field eq 'pd_upper';
		$new{special} = $value if $field eq 'pd_special';
		my $sound = $new{upper} != 0 && $new{lower} >= 24 && $new{lower} <= $new{upper}
		  && $new{upper} <= $new{special} && $new{special} == $special;
		# an unsound header on any page, or a list page whose contents change
		$meaningful = 1 if !$sound && $field =~ /^pd_(lower|upper|special)$/;
		$meaningful = 1 if $field eq 'pd_lower' && $p->{kind} eq 'list' && $value != $orig;
		$field .= " $orig -> $value";
	}
	else
	{
		$bytes = pick("\xff" x $size, "\0" x $size, join('', map { chr(int(rand(256))) } 1 .. $size));
		$field .= ' -> ' . unpack('H*', $bytes);
	}
	return {
		what => "block $blk ($p->{kind}) $field",
		patches => [ [ $at, $bytes ] ],
		meaningful => $meaningful,
		page => $blk,
		list => $p->{list},
	};
}

# pd_lower of a list page, not whole entries
sub partial_entry_damage
{
	my ($ix) = @_;
	my $blk = random_list_page($ix);
	my $p = $ix->{page}[$blk];
	my $value = $p->{lower}
	  + pick(grep { $p->{lower} + $_ <= $p->{upper} } -1, 1, -int($ix->{entry_size} / 2));
	my $d = header_damage($ix, $blk, 'pd_lower', $value);
	$d->{expect} = qr/not whole entries/;
	return $d;
}

sub special_damage
{
	my ($ix) = @_;
	my $kind = pick(sort keys %{ $ix->{pages_of} });
	my $blk = pick(@{ $ix->{pages_of}{$kind} });
	my $p = $ix->{page}[$blk];
	my $at = $blk * $BLCKSZ + $special;
	my $r = rand();
	if ($r < 0.3)
	{
		my $value = pick(0, 0xff91, 0xffff, int(rand(65536)), $page_id ^ (1 << int(rand(16))));
		return {
			what => "block $blk ($kind) page id -> $value",
			patches => [ field_patch($at + 6, 'v', $value) ],
			meaningful => $value != $page_id ? 1 : 0,
			page => $blk,
			list => $p->{list},
		};
	}
	if ($r < 0.6)
	{
		my $value = pick(0, 1, 2, 4, 8, 15, 0xffff, int(rand(65536)));
		return {
			what => "block $blk ($kind) page flags -> $value",
			patches => [ field_patch($at + 4, 'v', $value) ],
			meaningful => ($value & $kind_flag{$kind}) ? 0 : 1,
			page => $blk,
			list => $p->{list},
		};
	}
	return next_damage($ix);
}

# A list page's next link: a cycle, a shared page, out of range, ...
sub next_damage
{
	my ($ix, $how, $l) = @_;
	$how //= pick(qw(cycle_to_head self shared past_end far_past_end meta float directory
	  truncate random));
	$l //= random_list($ix, multi => ($how eq 'cycle_to_head' || $how eq 'truncate'));
	my @chain = @{ $l->{chain} };
	my $i = $how eq 'cycle_to_head' ? $#chain
	  : $how eq 'truncate' ? ($#chain > 0 ? int(rand($#chain)) : 0)
	  : int(rand(@chain));
	my $blk = $chain[$i];
	my $orig = $ix->{page}[$blk]{next};
	my $nblocks = $ix->{blocks};
	my $other = pick(grep { $_ != $l->{list} } map { $_->{list} } @{ $ix->{nonempty_lists} });
	my %to = (
		cycle_to_head => $chain[0],
		self => $blk,
		shared => defined $other ? $ix->{lists}[$other]{chain}[0] : $blk,
		past_end => $nblocks,
		far_past_end => pick(0xfffffffe, $nblocks + 1000, 0x80000000),
		meta => 0,
		float => $ix->{pages_of}{floats} ? pick(@{ $ix->{pages_of}{floats} }) : $ix->{meta}{directory_blkno},
		directory => $ix->{meta}{directory_blkno},
		truncate => $invalid_block,
		random => int(rand(2**32)),
	);
	my $value = $to{$how};
	my $expect = $how =~ /^(cycle_to_head|self|shared)$/ ? qr/already in a list/
	  : $how =~ /past_end|meta/ ? qr/out of bounds/
	  : $how =~ /^(float|directory)$/ ? qr/damaged page/
	  : $how eq 'truncate' && $value != $orig ? qr/ends at block/
	  : undef;
	return {
		what => "list $l->{list} block $blk ($i/" . scalar(@chain) . ") next $orig -> $value ($how)",
		patches => [ field_patch($blk * $BLCKSZ + $special, 'V', $value) ],
		meaningful => $value != $orig ? 1 : 0,
		expect => $value != $orig ? $expect : undef,
		page => $blk,
		list => $l->{list},
	};
}

sub directory_damage
{
	my ($ix, $which, $how, $l) = @_;
	$which //= pick('head', 'tail');
	$how //= pick(qw(past_end far_past_end invalid meta float directory other_list within_list
	  random));
	$l //= random_list($ix);
	my $nblocks = $ix->{blocks};
	my $orig = $l->{$which};
	my $other = pick(grep { $_ != $l->{list} } map { $_->{list} } @{ $ix->{nonempty_lists} });
	my %to = (
		past_end => $nblocks,
		far_past_end => pick(0xfffffffe, $nblocks + 5, 0x7fffffff),
		invalid => $invalid_block,
		meta => 0,
		float => $ix->{pages_of}{floats} ? pick(@{ $ix->{pages_of}{floats} }) : 0,
		directory => $ix->{meta}{directory_blkno},
		other_list => defined $other ? pick(@{ $ix->{lists}[$other]{chain} }) : $orig,
		within_list => pick(@{ $l->{chain} }),
		random => int(rand(2**32)),
	);
	my $value = $to{$how};
	my $expect = $which eq 'head' && $how =~ /past_end|meta/ ? qr/out of bounds/
	  : $how eq 'invalid' ? qr/a head or a tail, not both/
	  : undef;
	return {
		what => "list $l->{list} directory $which $orig -> $value ($how)",
		patches => [ field_patch($l->{"${which}_at"}, 'V', $value) ],
		meaningful => $value != $orig ? 1 : 0,
		expect => $value != $orig ? $expect : undef,
		page => $l->{dirblk},
		list => $l->{list},
	};
}

sub float_damage
{
	my ($ix, $what, $bits, $count) = @_;
	return random_bytes_damage($ix) unless $ix->{trained};
	$what //= pick('centroids', 'codebooks');
	my $at = $ix->{floats}{$what};
	$count //= pick(1, 1, 3, 50, scalar(@$at));
	my @patches;
	my $nonfinite = 0;
	my %first;
	for (1 .. $count)
	{
		my $i = int(rand(@$at));
		my $b = $bits // (rand() < 0.7 ? pick(@nasty_floats) : random_float_bits());
		$nonfinite = 1 if (($b >> 23) & 0xff) == 0xff;
		push @patches, [ $at->[$i], pack('V', $b) ];
		$first{ int($i / $dims) } //= 1 if $what eq 'centroids';
	}
	my ($list) = keys %first;
	return {
		what => sprintf('%d %s floats%s', $count, $what,
			defined $bits ? sprintf(' -> %08x', $bits) : ''),
		patches => \@patches,
		meaningful => $nonfinite,
		expect => $nonfinite ? qr/not finite/ : undef,
		page => int($patches[0][0] / $BLCKSZ),
		list => $list,
	};
}

sub heaptid_damage
{
	my ($ix, $tid) = @_;
	my ($blk, $e) = random_entry($ix);
	my $heap_blocks = $table{ $ix->{table} }{blocks};
	$tid //= pick([ $invalid_block, 1 ], [ $heap_blocks + 5, 1 ], [ $heap_blocks, 1 ], [ 0, 0 ],
		[ 0, 0xffff ], [ 0, 1 ], [ int(rand($heap_blocks)), 1 + int(rand(100)) ],
		[ int(rand(2**32)), int(rand(65536)) ]);
	my ($b, $o) = @$tid;
	my $new = sprintf('(%d,%d)', $b, $o);
	my $bad = $b == $invalid_block || $o == 0 || $b >= $heap_blocks;
	return {
		what => "block $blk entry $e->{ctid} heap TID -> $new",
		patches => [ [ $e->{at}, pack('v v v', $b >> 16, $b & 0xffff, $o) ] ],
		meaningful => $new ne $e->{ctid} ? 1 : 0,
		expect => $bad ? qr/invalid heap TID/ : undef,
		page => $blk,
		list => $ix->{page}[$blk]{list},
		entry => $e,
	};
}

# an entry's distance offset (l2, cosine) or code bytes
sub entry_damage
{
	my ($ix) = @_;
	my ($blk, $e) = random_entry($ix);
	my @patches;
	my $what;
	my $nonfinite = 0;
	if ($ix->{trained} && rand() < 0.6)
	{
		my $b = rand() < 0.7 ? pick(@nasty_floats) : random_float_bits();
		$nonfinite = (($b >> 23) & 0xff) == 0xff;
		push @patches, [ $e->{at} + 6, pack('V', $b) ];
		$what = sprintf('offset -> %08x', $b);
	}
	else
	{
		my $len = $ix->{entry_size};
		my $start = int(rand($len));
		my $n = 1 + int(rand($len - $start));
		push @patches, [ $e->{at} + $start, join('', map { chr(int(rand(256))) } 1 .. $n) ];
		$what = "bytes $start..+$n random";
	}
	return {
		what => "block $blk entry $e->{ctid} $what",
		patches => \@patches,
		meaningful => $nonfinite,
		page => $blk,
		list => $ix->{page}[$blk]{list},
		entry => $e,
	};
}

sub random_bytes_damage
{
	my ($ix) = @_;
	my @patches = random_bytes_patches($ix->{pristine}, 8);
	my $blk = int($patches[0][0] / $BLCKSZ);
	return {
		what => 'random bytes at ' . join(',', map { $_->[0] } @patches),
		patches => \@patches,
		page => $blk,
		list => $ix->{page}[$blk]{list},
	};
}

sub random_field_damage
{
	my ($ix) = @_;
	my $blk = rand() < 0.15 ? 0 : int(rand($ix->{blocks}));
	my ($patch, $at, $value) = random_u16_patch($ix->{pristine}, $blk);
	return {
		what => "block $blk 2 bytes at $at -> $value",
		patches => [$patch],
		page => $blk,
		list => $ix->{page}[$blk]{list},
	};
}

sub region_damage
{
	my ($ix) = @_;
	my $blk = rand() < 0.1 ? 0 : int(rand($ix->{blocks}));
	my ($patch, $what) = region_patch($ix->{pristine}, $blk, sub { int(rand($ix->{blocks})) });
	return { what => $what, patches => [$patch], page => $blk, list => $ix->{page}[$blk]{list} };
}

sub page_damage
{
	my ($ix) = @_;
	my $blk = rand() < 0.15 ? 0 : int(rand($ix->{blocks}));
	my $src = int(rand($ix->{blocks}));
	my $how = pick('zeroed', "copy of block $src", 'copy of the meta page', 'random');
	my $bytes =
	    $how eq 'zeroed' ? "\0" x $BLCKSZ
	  : $how eq 'copy of the meta page' ? substr($ix->{pristine}, 0, $BLCKSZ)
	  : $how eq 'random' ? join('', map { chr(int(rand(256))) } 1 .. $BLCKSZ)
	  : substr($ix->{pristine}, $src * $BLCKSZ, $BLCKSZ);
	return {
		what => "block $blk ($ix->{page}[$blk]{kind}) $how",
		patches => [ [ $blk * $BLCKSZ, $bytes ] ],
		meaningful => $how eq 'zeroed' ? 1 : 0,
		page => $blk,
		list => $ix->{page}[$blk]{list},
	};
}

my @kinds = (
	[ \&random_bytes_damage, 3 ],
	[ \&random_field_damage, 1.5 ],
	[ \&region_damage, 1.5 ],
	[ \&page_damage, 1 ],
	[ \&meta_damage, 3 ],
	[ \&header_damage, 2 ],
	[ \&partial_entry_damage, 0.5 ],
	[ \&special_damage, 1 ],
	[ \&next_damage, 2.5 ],
	[ \&directory_damage, 2 ],
	[ \&float_damage, 1.5 ],
	[ \&heaptid_damage, 1.5 ],
	[ \&entry_damage, 1 ],
);
my $total_weight = 0;
$total_weight += $_->[1] for @kinds;

sub random_damage
{
	my ($ix) = @_;
	my $x = rand($total_weight);
	for my $k (@kinds)
	{
		return $k->[0]->($ix) if ($x -= $k->[1]) < 0;
	}
	return $kinds[0][0]->($ix);
}

my ($L2, $COS, $UNT) = @index_named{qw(idx_l2 idx_cos idx_untrained)};

# A damage the check is bound to see, as a problem matching $re.
sub expecting
{
	my ($re, $d) = @_;
	$d->{expect} = $re;
	$d->{meaningful} = 1;
	return $d;
}

sub pristine { return { what => 'pristine', patches => [] }; }

# The rounds that always run, first: [index, damage].
my @targeted = (
	[ $L2, \&pristine ],
	[ $COS, \&pristine ],
	[ $UNT, \&pristine ],
	# meta page fields
	[ $L2, sub { expecting(qr/damaged or not ivfpq/, meta_damage($L2, 'magic', 0)) } ],
	[ $COS, sub { expecting(qr/format version/, meta_damage($COS, 'version', 99)) } ],
	[ $UNT, sub { expecting(qr/format version/, meta_damage($UNT, 'version', 0)) } ],
	[ $L2, sub { expecting(qr/dimensions/, meta_damage($L2, 'dims', 17)) } ],
	[ $COS, sub { expecting(qr/dimensions/, meta_damage($COS, 'dims', 32)) } ],
	[ $COS, sub { expecting(qr/lists/, meta_damage($COS, 'lists', 0)) } ],
	[ $UNT, sub { expecting(qr/lists/, meta_damage($UNT, 'lists', 2)) } ],
	[ $L2, sub { expecting(qr/meta page's m = /, meta_damage($L2, 'm', 3)) } ],
	[ $UNT, sub { expecting(qr/meta page's m = /, meta_damage($UNT, 'flags', 1)) } ],
	[ $L2, sub { expecting(qr/metric/, meta_damage($L2, 'metric', 3)) } ],
	[ $COS, sub { expecting(qr/metric/, meta_damage($COS, 'metric', 9)) } ],
	[ $L2, sub { expecting(qr/directory .* out of bounds/, meta_damage($L2, 'directory_blkno', $L2->{blocks})) } ],
	[ $UNT, sub { expecting(qr/directory .* out of bounds/, meta_damage($UNT, 'directory_blkno', 0)) } ],
	[ $COS, sub { expecting(qr/directory .* out of bounds/, meta_damage($COS, 'directory_pages', 2)) } ],
	[ $L2, sub { expecting(qr/model blocks are out of bounds/, meta_damage($L2, 'centroids_blkno', 0xfffffff0)) } ],
	[ $COS, sub { expecting(qr/model blocks are out of bounds/, meta_damage($COS, 'codebooks_blkno', 0)) } ],
	# the meta page's header and special space (values PostgreSQL's own
	# page check lets through)
	[ $L2, sub { expecting(qr/damaged or not ivfpq/, header_damage($L2, 0, 'pd_lower', 0)) } ],
	[ $UNT, sub { expecting(qr/damaged or not ivfpq/, header_damage($UNT, 0, 'pd_special', 8192)) } ],
	[
		$COS,
		sub {
			expecting(qr/damaged or not ivfpq/,
				{ what => 'meta page id -> 0xff91', patches => [ field_patch($special + 6, 'v', 0xff91) ], page => 0 });
		}
	],
	# directory heads and tails
	[ $L2, sub { directory_damage($L2, 'head', 'past_end') } ],
	[ $COS, sub { directory_damage($COS, 'head', 'far_past_end') } ],
	[ $UNT, sub { directory_damage($UNT, 'head', 'meta') } ],
	[ $L2, sub { directory_damage($L2, 'tail', 'invalid') } ],
	[ $COS, sub { directory_damage($COS, 'tail', 'past_end') } ],
	[ $L2, sub { directory_damage($L2, 'tail', 'other_list') } ],
	# next links: cycles, a shared page, out of range, not a list page
	[ $L2, sub { next_damage($L2, 'cycle_to_head') } ],
	[ $COS, sub { next_damage($COS, 'self') } ],
	[ $UNT, sub { next_damage($UNT, 'cycle_to_head') } ],
	[ $L2, sub { next_damage($L2, 'shared') } ],
	[ $COS, sub { next_damage($COS, 'far_past_end') } ],
	[ $UNT, sub { next_damage($UNT, 'meta') } ],
	[ $L2, sub { next_damage($L2, 'truncate') } ],
	[ $L2, sub { next_damage($L2, 'float') } ],
	# a stale tail (the list's head, not its last page) and a full last
	# page: the INSERT must not go round and round
	[
		$L2,
		sub {
			my $l = random_list($L2, multi => 1);
			my $last = $l->{chain}[-1];
			return expecting(
				qr/ends at block|not whole entries/,
				{
					what => "list $l->{list} directory tail -> head $l->{chain}[0], "
					  . "last block $last pd_lower -> 8184 (full)",
					patches => [
						field_patch($l->{tail_at}, 'V', $l->{chain}[0]),
						field_patch($last * $BLCKSZ + 12, 'v', 8184)
					],
					page => $l->{dirblk},
					list => $l->{list},
				});
		}
	],
	# list pages' headers: pd_lower not whole entries, below the header;
	# pd_special past the special space
	[ $L2, sub { partial_entry_damage($L2) } ],
	[ $COS, sub { partial_entry_damage($COS) } ],
	[ $UNT, sub { partial_entry_damage($UNT) } ],
	[ $L2, sub { expecting(qr/damaged page/, header_damage($L2, random_list_page($L2), 'pd_lower', 23)) } ],
	[ $COS, sub { expecting(qr/damaged page/, header_damage($COS, random_list_page($COS), 'pd_special', 8192)) } ],
	# heap TIDs
	[ $L2, sub { heaptid_damage($L2, [ $invalid_block, 1 ]) } ],
	[ $COS, sub { heaptid_damage($COS, [ $table{t}{blocks} + 5, 1 ]) } ],
	[ $UNT, sub { heaptid_damage($UNT, [ 0, 0 ]) } ],
	[ $UNT, sub { heaptid_damage($UNT, [ 0, 0xffff ]) } ],
	# the model: NaN, Inf, an empty page
	[ $L2, sub { float_damage($L2, 'centroids', 0x7fc00000, 3) } ],
	[ $COS, sub { float_damage($COS, 'centroids', 0x7fc00000, 200) } ],
	[ $COS, sub { float_damage($COS, 'centroids', 0x7f800000, 40) } ],
	[ $L2, sub { float_damage($L2, 'codebooks', 0xff800000, 1) } ],
	[ $L2, sub { expecting(qr/codebook page is damaged/, header_damage($L2, $L2->{meta}{codebooks_blkno}, 'pd_lower', 24)) } ],
	# finite centroids whose distances to the query overflow to NaN
	# (+inf and -inf partial sums): lists that sort as NaN
	[
		$COS,
		sub {
			my @patches;
			for my $list (0 .. 29)
			{
				push @patches, map {
					[ $COS->{floats}{centroids}[ $list * $dims + $_ ], pack('V', $_ % 2 ? 0xff7fffff : 0x7f7fffff) ]
				} 0 .. $dims - 1;
			}
			return {
				what => 'centroids of lists 0..29 -> +-FLT_MAX',
				patches => \@patches,
				page => $COS->{meta}{centroids_blkno},
				query => vector_text((1) x $dims),
			};
		}
	],
	# an entry's distance offset
	[
		$L2,
		sub {
			my ($blk, $e) = random_entry($L2);
			return expecting(
				qr/offset is not finite/,
				{
					what => "block $blk entry $e->{ctid} offset NaN",
					patches => [ [ $e->{at} + 6, pack('V', 0x7fc00000) ] ],
					page => $blk,
					list => $L2->{page}[$blk]{list},
					entry => $e,
				});
		}
	],
);

# ---------------------------------------------------------------------------
# One round

sub restore_and_damage
{
	my ($ix, $damage) = @_;
	restore_files($data, \@paths, \@forks, \%saved);
	return 0 unless $ix;
	my $bytes = patched_bytes($ix->{pristine}, $damage->{patches});
	open my $fh, '>:raw', "$data/$ix->{path}" or die "write $ix->{path}: $!";
	print $fh $bytes;
	close $fh or die $!;
	return $bytes ne $ix->{pristine};
}

my %killed_pid;    # backends killed after a hang: their deaths in the log are expected

# Backends still running a statement other than ours: cancel them, then
# SIGKILL those that ignore it (a loop without CHECK_FOR_INTERRUPTS).
sub kill_hung_backends
{
	my ($what) = @_;
	my $list_sql = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'
		AND pid <> pg_backend_pid() AND state <> 'idle'};
	my @pids = split /\n/, $node->safe_psql('postgres', $list_sql);
	return () unless @pids;
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($_)") for @pids;
	my @left;
	for (1 .. 20)
	{
		my %now = map { $_ => 1 } split /\n/, $node->safe_psql('postgres', $list_sql);
		@left = grep { $now{$_} } @pids;
		last unless @left;
		select(undef, undef, undef, 0.1);
	}
	for my $pid (@left)
	{
		diag "$what: backend $pid ignores a cancel; SIGKILL";
		# where it loops, when gdb is at hand
		my $gdb = (grep { -x "$_/gdb" } split /:/, $ENV{PATH} // '')[0];
		if ($gdb)
		{
			my ($out, $err) = ('', '');
			eval {
				IPC::Run::run([ "$gdb/gdb", '-p', $pid, '-batch', '-ex', 'bt' ],
					'<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
			};
			diag "backtrace of $pid:\n" . join("\n", grep { /^#/ } split /\n/, $out);
		}
		$killed_pid{$pid} = 1;
		kill 'KILL', $pid;
	}
	$node->poll_query_until('postgres', 'SELECT true') if @left;
	return @left;
}

# Run a script; its outcome: ok, an SQLSTATE, or what went wrong.
sub run_sql
{
	my ($sql, $what) = @_;
	return psql_outcome(
		$node, $sql,
		statement_timeout => $statement_timeout,
		timeout => $psql_timeout,
		on_hang => sub {
			my @killed = kill_hung_backends($what);
			return @killed ? ' (backend ' . join(',', @killed) . ' killed)' : '';
		});
}

my (@failures, %tally, %sqlstates);
my ($meaningful, $detected) = (0, 0);
my @undetected;
my $log_offset = -s $node->logfile;
my @order = qw(check lists info scan scan2 insert vacuum check_after);

my $n_rounds = @targeted + $n_random;
my @plan = (0 .. $n_rounds - 1);
@plan = grep { $_ < 3 || $only{$_} } @plan if %only;
for my $round (@plan)
{
	srand($seed * 1000 + $round);
	my ($ix, $damage);
	if ($round < @targeted)
	{
		$ix = $targeted[$round][0];
		$damage = $targeted[$round][1]->();
	}
	else
	{
		$ix = pick(@indexes);
		$damage = random_damage($ix);
	}
	my $idx = $ix->{name};
	my $tb = $table{ $ix->{table} };
	my $what = "round $round: $idx: $damage->{what}";

	$node->stop('fast');
	my $changed = restore_and_damage($ix, $damage);
	$node->start;

	# which rows to delete: a few anywhere, and some of the damaged page's
	my @ctids = keys %{ $tb->{id_of} };
	my @delete = map { $tb->{id_of}{ pick(@ctids) } } 1 .. 3;
	my $dpage = defined $damage->{page} ? $ix->{page}[ $damage->{page} ] : undef;
	if ($dpage && $dpage->{entries} && @{ $dpage->{entries} })
	{
		push @delete, grep { defined } map { $tb->{id_of}{ pick(@{ $dpage->{entries} })->{ctid} } } 1 .. 3;
	}
	push @delete, $tb->{id_of}{ $damage->{entry}{ctid} } // () if $damage->{entry};

	# the damaged list: the scan's query and the inserts aim at it
	my $list = $damage->{list};
	my $centroid = ($ix->{trained} && defined $list) ? $ix->{centroid}[$list] : undef;
	my $query =
	    $damage->{query} ? $damage->{query}
	  : $damage->{entry} && $tb->{vec_of}{ $damage->{entry}{ctid} } && rand() < 0.7
	  ? $tb->{vec_of}{ $damage->{entry}{ctid} }
	  : $centroid ? vector_text(@$centroid)
	  : random_vector_text($dims);
	my $n_insert = rand() < 0.7 ? 1 : 30;
	my $insert = join(
		', ',
		map {
			my $v = $centroid ? vector_text(map { $_ + ($_ == 0 ? 0 : 1e-4 * (rand() - 0.5)) } @$centroid)
			  : random_vector_text($dims);
			'(' . (100000 + 100 * $round + $_) . ", '$v')"
		} 1 .. $n_insert);
	my $settings = join(' ',
		'SET vecdb.ivfpq_probes = ' . pick(1, 2, 3, 10, 1000) . ';',
		'SET vecdb.ivfpq_rerank = ' . pick(1, 5, 10, 100, 10000) . ';',
		'SET vecdb.ivfpq_iterative_scan = ' . pick('off', 'relaxed_order', 'strict_order') . ';',
		'SET vecdb.ivfpq_max_probes = ' . pick(0, 0, 1, 4) . ';');
	my $limit = pick(1, 10, 50, 500);

	# one statement at a time; after a crash, wait for the crash restart
	my %res;
	my $run = sub {
		my ($name, $sql) = @_;
		$res{$name} = run_sql($sql, "$what: $name");
		$node->poll_query_until('postgres', 'SELECT true') if $res{$name}{state} eq 'crash';
		return $res{$name};
	};
	my $check_sql = qq{SELECT count(*), coalesce(string_agg(DISTINCT
		regexp_replace(problem, '[0-9]+', 'N', 'g'), ' | '), '') FROM vecdb_index_check('$idx')};
	my $scan = "SET enable_seqscan = off;\nSELECT id FROM $ix->{table} ORDER BY v $ix->{op} '%s' LIMIT %d";
	$run->(check => $check_sql);
	$run->(lists => "SELECT count(*), sum(entries), sum(pages) FROM vecdb_ivfpq_lists('$idx')");
	$run->(info => "SELECT * FROM vecdb_ivfpq_info('$idx')");
	$run->(scan => sprintf($scan, $query, 10));
	$run->(scan2 => "$settings\n" . sprintf($scan, rand() < 0.5 ? $query : random_vector_text($dims), $limit));
	$run->(insert => "INSERT INTO $ix->{table} VALUES $insert");
	$run->(vacuum => "DELETE FROM $ix->{table} WHERE id IN (" . join(',', @delete) . ");\nVACUUM $ix->{table}");
	$run->(check_after => "SELECT count(*) FROM vecdb_index_check('$idx')");

	for my $stmt (grep { $res{$_} } @order)
	{
		my $r = $res{$stmt};
		$tally{$stmt}{ $r->{state} }++;
		if ($r->{message})
		{
			(my $m = $r->{message}) =~ s{[0-9]+}{N}g;
			$sqlstates{"$r->{state} $m"}++;
		}
		next if is_clean_outcome($r);
		my $err = $r->{err};
		$err = substr($err, 0, 600) . '...' if length($err) > 600;
		push @failures, "$what: $stmt gave $r->{state}: $err";
	}

	# Still standing? (after a crash, wait for the crash restart)
	$node->poll_query_until('postgres', 'SELECT true')
	  or push @failures, "$what: server does not answer";
	my $log = slurp_file($node->logfile, $log_offset);
	$log_offset += length $log;
	for my $line ($log =~ /^.*(?:terminated by signal|was terminated by|exited with exit code|PANIC:|TRAP:).*$/mg)
	{
		next if $line =~ /PID (\d+)\) was terminated by signal 9/ && $killed_pid{$1};
		next if $line =~ /exited with exit code ([01])$/;    # a normal exit, a FATAL
		push @failures, "$what: server log: $line";
	}
	my $bystander = $node->safe_psql('postgres', $bystander_sql);
	push @failures, "$what: bystander table changed" if $bystander ne $bystander_before;

	# Is the check blind?
	my $check = $res{check};
	my ($problems, $kinds) = $check->{state} eq 'ok' ? split(/\|/, $check->{out}, 2) : (undef, '');
	$kinds //= '';
	my $saw = $check->{state} ne 'ok' ? "ERROR $check->{state} " . ($check->{message} // '')
	  : $problems > 0 ? "$problems problems: $kinds" : 'no problem';
	note "$what: "
	  . ($changed ? '' : '(no byte changed) ')
	  . "check: $saw; "
	  . join(', ', map { "$_ $res{$_}{state}" } grep { $_ ne 'check' } @order);
	if ($changed && $damage->{meaningful} && $round >= @targeted)
	{
		$meaningful++;
		if ($check->{state} ne 'ok' || $problems > 0) { $detected++; }
		else { push @undetected, $what; }
	}
	if (!@{ $damage->{patches} })
	{
		is($check->{state} . '/' . ($problems // ''), 'ok/0', "$what: vecdb_index_check gives no row");
		is(join(',', map { $res{$_}{state} } @order), join(',', ('ok') x @order),
			"$what: every statement succeeds");
		is(scalar(split /\n/, $res{scan}{out}), 10, "$what: the scan returns 10 rows");
	}
	elsif ($damage->{expect})
	{
		ok($check->{state} eq 'ok' && $kinds =~ $damage->{expect}, "$what: vecdb_index_check reports it")
		  or diag("check gave: $saw");
	}
	elsif ($round < @targeted && $damage->{meaningful})
	{
		ok($check->{state} ne 'ok' || $problems > 0, "$what: vecdb_index_check reports a problem")
		  or diag("check gave: $saw");
	}
}

is_deeply(\@failures, [], 'every statement succeeded or raised a clean ERROR; no crash, no hang')
  or diag(join("\n", @failures));
for my $stmt (grep { $tally{$_} } @order)
{
	note "$stmt: " . join(', ', map { "$_ x$tally{$stmt}{$_}" } sort keys %{ $tally{$stmt} });
}
note "ERROR $_ x$sqlstates{$_}" for sort keys %sqlstates;
note "vecdb_index_check saw $detected of the $meaningful random damages it is bound to see";
note "missed: $_" for @undetected;
cmp_ok($detected, '>=', 0.8 * $meaningful, 'vecdb_index_check is not blind');

# ---------------------------------------------------------------------------
# Afterwards

$node->stop('fast');
restore_and_damage(undef, undef);
$node->start;
for my $ix (@indexes)
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecdb_index_check('$ix->{name}')"),
		'0', "pristine files back: $ix->{name} passes the check again");
}
is($node->safe_psql('postgres', $bystander_sql), $bystander_before, 'bystander table intact');

my $elapsed = time() - $started;
# a note, not an assertion: a hang is caught by each statement's timeout,
# and speed on a shared machine is no test's business
note sprintf('took %.1f s', $elapsed);

$node->stop;
done_testing();
