# 007_hnsw_corruption.pl: a damaged hnsw index gives clean ERRORs, never a
# crash, and vecdb_index_check sees the damage.
#
# 2000 seeded 16-dimension vectors and an hnsw index (vector_l2_ops). The
# node is stopped cleanly and the table's and the index's files (every fork)
# are saved. Then, round after round: stop the node (fast: its shutdown
# checkpoint leaves nothing to replay), put the pristine files back, damage
# the index's main fork (random bytes, a random 2-byte field, a random
# region, or a targeted hit on the meta page, a page header or special space,
# a line pointer, an element's header, heap TIDs, vector or links, laid out
# as src/hnsw/hnsw.h says), start the node, and run:
#
#   (a) SELECT ... FROM vecdb_index_check('idx')
#   (b) an index scan: SET enable_seqscan = off; ORDER BY v <-> '...' LIMIT 10
#       (half the rounds with vecdb.hnsw_iterative_scan = relaxed_order)
#   (c) an INSERT
#   (d) a DELETE of a few rows (some of them on the damaged page), then VACUUM
#
# Each must succeed or fail with a clean ERROR (any SQLSTATE but a lost
# connection, a statement timeout or a shutdown); no server process may die
# (no "terminated by signal", no PANIC in the log); the server must answer
# afterwards and a bystander table must be intact. The scan must not write:
# the table is as long afterwards as before. The cluster has no data
# checksums (PostgreSQL::Test::Cluster's default), so what reaches the
# access method is the damage itself, not a checksum failure.
#
# Nothing is lost: in the targeted rounds that point inserts at a damaged
# page (the meta page as insert page; a meta page with pd_lower 0; pd_upper
# past the insert page's elements: PostgreSQL's own page check lets the last
# two through), the INSERT, whether it fails or not, must leave
# vecdb_index_check with no more rows than before it, and a scan that worked
# before it must still work.
#
# vecdb_index_check must not be blind: the pristine files give no row,
# zeroing the meta page's magic gives a row about the magic, a link to a
# block past the end gives a row "... which is not an element", and at
# least 80% of the rounds whose damage the check is bound to see (meta magic,
# version, dims, m; the page id; a link out of range; an element's level; a
# line pointer's length; a zeroed page) report a problem or an ERROR.
#
# Reproducing: VECDB_CORRUPTION_SEED (default 7007) seeds everything;
# round r draws its damage from srand(seed * 1000 + r) alone, so
# VECDB_CORRUPTION_ONLY=r1,r2 replays just those rounds (the targeted rounds
# 0 .. 13 always run). VECDB_CORRUPTION_ROUNDS sets the number of rounds.
use strict;
use warnings;

use File::Copy qw(copy);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use FindBin;
use lib $FindBin::RealBin;
use VecdbTest qw(random_float_bits pick random_vector_text field_patch patched_bytes restore_files
  damage_test_node psql_outcome is_clean_outcome random_bytes_patches random_u16_patch region_patch);

my $seed = $ENV{VECDB_CORRUPTION_SEED} // 7007;
my $n_rounds = $ENV{VECDB_CORRUPTION_ROUNDS} // 180;
my %only = map { $_ => 1 } split /,/, ($ENV{VECDB_CORRUPTION_ONLY} // '');
srand($seed);
note "seed $seed, $n_rounds rounds";
my $started = time();

my $dims = 16;
my $n_rows = 2000;
my $BLCKSZ = 8192;

# hnsw.h's layout
my $meta_magic = 0x56484e53;
my $page_id = 0xFF91;
my $contents = 24;                      # MAXALIGN(SizeOfPageHeaderData)
my $special = $BLCKSZ - 8;              # MAXALIGN(sizeof(PageOpaque)): next, flags, id
my $special_flags = 4;                  # offsetof(PageOpaque, flags)
my $special_id = 6;                     # offsetof(PageOpaque, id)
my $element_header = 24;                # offsetof(ElementTuple, vector)
my $links_at = $element_header + 4 * $dims;
my %meta_field = (                      # name => [offset in page, pack code]
	magic => [ $contents + 0, 'V' ],
	version => [ $contents + 4, 'V' ],
	dims => [ $contents + 8, 'V' ],
	m => [ $contents + 12, 'v' ],
	ef_construction => [ $contents + 14, 'v' ],
	metric => [ $contents + 16, 'C' ],
	entry_level => [ $contents + 18, 'v' ],
	entry_blkno => [ $contents + 20, 'V' ],
	entry_offno => [ $contents + 24, 'v' ],
	insert_blkno => [ $contents + 28, 'V' ],
);
my %header_field = (                    # PageHeaderData: name => [offset, size]
	pd_lsn => [ 0, 8 ],
	pd_checksum => [ 8, 2 ],
	pd_flags => [ 10, 2 ],
	pd_lower => [ 12, 2 ],
	pd_upper => [ 14, 2 ],
	pd_special => [ 16, 2 ],
	pd_pagesize_version => [ 18, 2 ],
	pd_prune_xid => [ 20, 4 ],
);

# ---------------------------------------------------------------------------
# The table, the index, the bystander

my $node = damage_test_node('corruption');
my $tmp = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE t (id int NOT NULL, v vector($dims) NOT NULL)");
$node->safe_psql('postgres', 'INSERT INTO t VALUES '
	  . join(",\n", map { "($_, '" . random_vector_text($dims) . "')" } 1 .. $n_rows));
$node->safe_psql('postgres', 'CREATE INDEX idx ON t USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', q{
	CREATE TABLE bystander (id int PRIMARY KEY, v vector(4));
	INSERT INTO bystander SELECT i, ARRAY[i, i * 0.5, -i, 1.0 / i]::real[]::vector
	FROM generate_series(1, 3000) i;
	VACUUM t; VACUUM bystander; CHECKPOINT});
my $bystander_sql =
  q{SELECT count(*), md5(string_agg(vector_send(v)::text, ';' ORDER BY id)) FROM bystander};
my $bystander_before = $node->safe_psql('postgres', $bystander_sql);

is($node->safe_psql('postgres', 'SELECT count(*) FROM vecdb_index_check(\'idx\')'),
	'0', 'the fresh index passes vecdb_index_check');
like(
	$node->safe_psql('postgres',
		"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '"
		  . random_vector_text($dims) . "' LIMIT 10"),
	qr/Index Scan using idx on t/,
	'the query uses the hnsw index');

my ($heap_path, $index_path, $index_blocks) = split /\|/, $node->safe_psql('postgres',
	q{SELECT pg_relation_filepath('t'), pg_relation_filepath('idx'),
	         pg_relation_size('idx') / current_setting('block_size')::int});
my %id_of;    # heap ctid "(b,o)" => id
for my $line (split /\n/, $node->safe_psql('postgres', 'SELECT ctid, id FROM t'))
{
	my ($ctid, $id) = split /\|/, $line;
	$id_of{$ctid} = $id;
}
my $heap_blocks = $node->safe_psql('postgres',
	q{SELECT pg_relation_size('t') / current_setting('block_size')::int});
note "heap $heap_path ($heap_blocks blocks), index $index_path ($index_blocks blocks)";

$node->stop('fast');

# Every fork of both relations, as they are now.
my $data = $node->data_dir;
my @forks = ('', '_fsm', '_vm', '_init', '.1');
my %saved;    # "$path$fork" => saved copy, or undef when the fork does not exist
mkdir "$tmp/pristine" or die $!;
for my $path ($heap_path, $index_path)
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
		else
		{
			$saved{"$path$fork"} = undef;
		}
	}
}
die 'the index has a second segment' if defined $saved{"$index_path.1"};
my $pristine = slurp_file("$data/$index_path");
is(length($pristine), $index_blocks * $BLCKSZ, 'index file is as long as its block count');

# ---------------------------------------------------------------------------
# The pristine index, parsed

sub u16 { return unpack('v', substr($pristine, $_[0], 2)); }
sub u32 { return unpack('V', substr($pristine, $_[0], 4)); }

my %meta = map { $_ => unpack($meta_field{$_}[1], substr($pristine, $meta_field{$_}[0], 4)) }
  keys %meta_field;
is(sprintf('%08x %d %d %d', $meta{magic}, $meta{dims}, $meta{m}, $meta{metric}),
	sprintf('%08x %d 16 0', $meta_magic, $dims), 'meta page reads as hnsw.h lays it out');
my $m = $meta{m};
my $insert_page = $meta{insert_blkno};

my @elements;    # {blk, off, at (file offset), lp (file offset of its line pointer), ...}
my %on_page;     # blk => [element indexes]
my %maxoff;      # blk => max offset number
for my $blk (1 .. $index_blocks - 1)
{
	my $base = $blk * $BLCKSZ;
	my $maxoff = int((u16($base + 12) - 24) / 4);
	$maxoff{$blk} = $maxoff;
	for my $off (1 .. $maxoff)
	{
		my $lp = $base + 24 + 4 * ($off - 1);
		my $itemid = u32($lp);
		next unless (($itemid >> 15) & 3) == 1;
		my $at = $base + ($itemid & 0x7fff);
		my %e = (
			blk => $blk,
			off => $off,
			at => $at,
			lp => $lp,
			len => $itemid >> 17,
			level => ord(substr($pristine, $at, 1)),
			slot_level => ord(substr($pristine, $at + 1, 1)),
			flags => ord(substr($pristine, $at + 2, 1)),
			ntids => ord(substr($pristine, $at + 3, 1)),
		);
		$e{tids} = [
			map {
				my $p = $at + 4 + 6 * $_;
				sprintf('(%d,%d)', (u16($p) << 16) | u16($p + 2), u16($p + 4))
			} 0 .. $e{ntids} - 1
		];
		# links: level 0 first (2m), then m per level; count the valid ones
		for my $l (0 .. $e{level})
		{
			my $start = $at + $links_at + 6 * ($l == 0 ? 0 : 2 * $m + ($l - 1) * $m);
			my $room = $l == 0 ? 2 * $m : $m;
			my $n = 0;
			$n++ while $n < $room && u16($start + 6 * $n + 4) != 0;
			$e{links}[$l] = [ $start, $n ];
		}
		push @{ $on_page{$blk} }, scalar(@elements);
		push @elements, \%e;
	}
}
is(scalar(@elements), $n_rows, 'one element per row (no two vectors are equal)');
my @element_pages = sort { $a <=> $b } keys %on_page;

# ---------------------------------------------------------------------------
# Damage

sub random_element { return $elements[ int(rand(@elements)) ]; }

sub meta_damage
{
	my ($field) = @_;
	$field //= pick(sort keys %meta_field);
	my ($at, $code) = @{ $meta_field{$field} };
	my $orig = $meta{$field};
	my %values = (
		magic => [ 0, int(rand(2**32)), $orig ^ (1 << int(rand(32))) ],
		version => [ 0, 2, 0xffffffff ],
		dims => [ 0, 1, 15, 17, 16000, 16001, 0xffffffff, 0x80000000 ],
		m => [ 0, 1, 2, 15, 17, 100, 101, 0xffff ],
		ef_construction => [ 0, 1, 3, 4, 1000, 0xffff ],
		metric => [ 1, 2, 3, 4, 255 ],
		entry_level => [ 0xfffe, 0xffff, 0, 1, $orig + 1, 14, 15, 16, 0x7fff, 0x8000 ],
		entry_blkno => [ 0, $index_blocks - 1, $index_blocks, $index_blocks + 1000, 0xffffffff,
			int(rand(2**32)) ],
		entry_offno => [ 0, 1, 2, 500, 0xffff ],
		insert_blkno => [ 0, 1, $index_blocks - 2, $index_blocks, 0xfffffffe, 0xffffffff ],
	);
	my $value = pick(@{ $values{$field} });
	my $meaningful = ($field =~ /^(magic|version|dims|m)$/) ? 1 : 0;
	return {
		what => "meta $field $orig -> $value",
		patches => [ field_patch($at, $code, $value) ],
		meaningful => $meaningful,
		page => 0,
	};
}

sub header_damage
{
	my $r = rand();
	my $blk = $r < 0.1 ? 0 : $r < 0.4 ? $insert_page : pick(@element_pages);
	my $field = pick(sort keys %header_field);
	my ($off, $size) = @{ $header_field{$field} };
	my $at = $blk * $BLCKSZ + $off;
	my $bytes;
	if ($size == 2)
	{
		my $orig = u16($at);
		$bytes = pack('v', pick(0, 1, 16, 23, 24, 28, $orig - 4, $orig + 4, $orig - 8, $orig + 8,
				$orig - 1, 8184, 8192, 0xffff, int(rand(65536))) & 0xffff);
	}
	else
	{
		$bytes = pick("\xff" x $size, "\0" x $size, join('', map { chr(int(rand(256))) } 1 .. $size));
	}
	return { what => "block $blk $field", patches => [ [ $at, $bytes ] ], page => $blk };
}

# pd_lower below the page header on the page inserts go to
sub insert_page_lower_damage
{
	my $value = pick(0, 4, 23);
	return {
		what => "insert page $insert_page pd_lower -> $value",
		patches => [ field_patch($insert_page * $BLCKSZ + 12, 'v', $value) ],
		page => $insert_page,
	};
}

sub special_damage
{
	my $blk = rand() < 0.2 ? 0 : pick(@element_pages);
	my $at = $blk * $BLCKSZ + $special;
	if (rand() < 0.5)
	{
		my $value = pick(0, 0xfe90, 0xffff, int(rand(65536)), $page_id ^ (1 << int(rand(16))));
		return {
			what => "block $blk page id -> $value",
			patches => [ field_patch($at + $special_id, 'v', $value) ],
			meaningful => 1,
			page => $blk,
		};
	}
	my $value = pick(0, 1, 2, 3, 4, 0xffff, int(rand(65536)));
	return { what => "block $blk page flags -> $value", patches => [ field_patch($at + $special_flags, 'v', $value) ],
		page => $blk };
}

sub itemid_damage
{
	my $e = random_element();
	my $itemid = u32($e->{lp});
	my ($lp_off, $flags, $len) = ($itemid & 0x7fff, ($itemid >> 15) & 3, $itemid >> 17);
	my $what;
	my $meaningful = 0;
	my $r = int(rand(4));
	if ($r == 0)
	{
		$flags = pick(0, 2, 3);
		$what = "flags $flags";
	}
	elsif ($r == 1)
	{
		$lp_off = pick(0, 4, 8, 20, 24, $lp_off - 2, $lp_off + 2, $lp_off - 8, $lp_off + 8,
			$lp_off + 280, 8184, 8191, int(rand(0x8000))) & 0x7fff;
		$what = "lp_off $lp_off";
	}
	elsif ($r == 2)
	{
		my $new = pick(0, 1, 23, 24, $len - 6, $len + 6, $len + 280, int(rand(0x8000)), 0x7fff) & 0x7fff;
		$meaningful = $new != $len ? 1 : 0;
		$len = $new;
		$what = "lp_len $len";
	}
	else
	{
		my $v = int(rand(2**32));
		($lp_off, $flags, $len) = ($v & 0x7fff, ($v >> 15) & 3, $v >> 17);
		$what = "random ($lp_off, $flags, $len)";
	}
	return {
		what => "($e->{blk},$e->{off}) line pointer $what",
		patches => [ field_patch($e->{lp}, 'V', $lp_off | ($flags << 15) | ($len << 17)) ],
		meaningful => $meaningful,
		page => $e->{blk},
		element => $e,
	};
}

sub element_header_damage
{
	my $e = random_element();
	my @names = qw(level slot_level flags heaptid_count);
	my $i = int(rand(4));
	my $orig = ord(substr($pristine, $e->{at} + $i, 1));
	my $value = pick(0, 1, 2, 3, 4, 15, 16, 255, $orig + 1, int(rand(256))) & 0xff;
	return {
		what => "($e->{blk},$e->{off}) $names[$i] $orig -> $value",
		patches => [ [ $e->{at} + $i, chr($value) ] ],
		meaningful => ($i <= 1 && $value != $orig) ? 1 : 0,
		page => $e->{blk},
		element => $e,
	};
}

sub itemptr { my ($blk, $off) = @_; return pack('v v v', $blk >> 16, $blk & 0xffff, $off); }

sub heaptid_damage
{
	my ($e, @tid) = @_;
	$e //= random_element();
	my $i = @tid ? 0 : int(rand(3));
	@tid = pick(
		[ 0xffffffff, 1 ], [ $heap_blocks + 5, 1 ], [ $heap_blocks, 1 ], [ 0, 0 ], [ 0, 0xffff ],
		[ int(rand($heap_blocks)), 300 ], [ int(rand(2**32)), int(rand(65536)) ],
		[ int(rand($heap_blocks)), 1 + int(rand(60)) ]) unless @tid;
	my @patches = ([ $e->{at} + 4 + 6 * $i, itemptr(@{ $tid[0] }) ]);
	my $count = '';
	if ($i >= $e->{ntids} && rand() < 0.7)
	{
		push @patches, [ $e->{at} + 3, chr($i + 1) ];
		$count = ', heaptid_count -> ' . ($i + 1);
	}
	return {
		what => "($e->{blk},$e->{off}) heap tid $i -> ($tid[0][0],$tid[0][1])$count",
		patches => \@patches,
		page => $e->{blk},
		element => $e,
	};
}

sub link_damage
{
	my ($kind) = @_;
	my $e = random_element();
	my $l = int(rand($e->{level} + 1));
	my ($start, $n) = @{ $e->{links}[$l] };
	my $room = $l == 0 ? 2 * $m : $m;
	my $i = int(rand($n < $room ? $n + 1 : $n));
	my $meaningful = 0;
	my @to;
	$kind //= pick(qw(past_end meta invalid_block offset_zero offset_past offset_ffff self
		  low_level end_list random));
	if ($kind eq 'past_end')
	{
		@to = ($index_blocks + int(rand(1000)), 1 + int(rand(20)));
		$meaningful = 1;
	}
	elsif ($kind eq 'meta')          { @to = (0, 1 + int(rand(3))); }
	elsif ($kind eq 'invalid_block') { @to = (0xffffffff, 1); }
	elsif ($kind eq 'offset_zero')   { @to = (pick(@element_pages), 0); }
	elsif ($kind eq 'offset_past')
	{
		my $blk = pick(@element_pages);
		@to = ($blk, $maxoff{$blk} + 1);
	}
	elsif ($kind eq 'offset_ffff') { @to = (pick(@element_pages), 0xffff); }
	elsif ($kind eq 'self')        { @to = ($e->{blk}, $e->{off}); }
	elsif ($kind eq 'low_level')
	{
		my $other = random_element();
		@to = ($other->{blk}, $other->{off});
		$l = $e->{level};    # only meaningful above level 0, but harmless anywhere
		($start, $n) = @{ $e->{links}[$l] };
		$i = 0;
	}
	elsif ($kind eq 'end_list') { @to = (0xffffffff, 0); }
	else                        { @to = (int(rand(2**32)), int(rand(65536))); }
	return {
		what => "($e->{blk},$e->{off}) level $l link $i/$n -> ($to[0],$to[1])",
		patches => [ [ $start + 6 * $i, itemptr(@to) ] ],
		meaningful => $meaningful,
		page => $e->{blk},
		element => $e,
	};
}

sub vector_damage
{
	my @nasty = (0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f800001, 0x7f7fffff,
		0xff7fffff, 0x00000001);
	my @patches;
	my $what;
	my $page;
	if (rand() < 0.5)
	{
		# NaN (or Inf) in every element of a few pages: the distances the
		# searches sort are NaN
		my @pages = map { pick(@element_pages) } 1 .. 1 + int(rand(6));
		my $bits = pick(0x7fc00000, 0x7f800000, 0xff800000);
		for my $blk (@pages)
		{
			for my $ei (@{ $on_page{$blk} })
			{
				my $e = $elements[$ei];
				push @patches, [ $e->{at} + $element_header + 4 * int(rand($dims)), pack('V', $bits) ];
			}
		}
		$page = $pages[0];
		$what = sprintf('float %08x in every element of blocks %s', $bits, join(',', @pages));
	}
	else
	{
		my $e = random_element();
		for (1 .. 1 + int(rand(4)))
		{
			push @patches, [ $e->{at} + $element_header + 4 * int(rand($dims)),
				pack('V', rand() < 0.6 ? pick(@nasty) : random_float_bits()) ];
		}
		$page = $e->{blk};
		$what = "($e->{blk},$e->{off}) vector floats";
		return { what => $what, patches => \@patches, page => $page, element => $e };
	}
	return { what => $what, patches => \@patches, page => $page };
}

sub random_bytes_damage
{
	my @patches = random_bytes_patches($pristine, 4);
	return {
		what => 'random bytes at ' . join(',', map { $_->[0] } @patches),
		patches => \@patches,
		page => int($patches[0][0] / $BLCKSZ),
	};
}

sub random_field_damage
{
	my $blk = rand() < 0.15 ? 0 : pick(@element_pages);
	my ($patch, $at, $value) = random_u16_patch($pristine, $blk);
	return { what => "block $blk 2 bytes at $at -> $value", patches => [$patch], page => $blk };
}

sub region_damage
{
	my $blk = rand() < 0.1 ? 0 : pick(@element_pages);
	my ($patch, $what) = region_patch($pristine, $blk, sub { pick(@element_pages) });
	return { what => $what, patches => [$patch], page => $blk };
}

sub page_damage
{
	my $blk = rand() < 0.15 ? 0 : pick(@element_pages);
	my $how = pick('zeroed', 'copy of another page', 'copy of the meta page', 'random');
	my $bytes =
	    $how eq 'zeroed' ? "\0" x $BLCKSZ
	  : $how eq 'copy of another page' ? substr($pristine, pick(@element_pages) * $BLCKSZ, $BLCKSZ)
	  : $how eq 'copy of the meta page' ? substr($pristine, 0, $BLCKSZ)
	  : join('', map { chr(int(rand(256))) } 1 .. $BLCKSZ);
	return {
		what => "block $blk $how",
		patches => [ [ $blk * $BLCKSZ, $bytes ] ],
		meaningful => ($how eq 'zeroed' && $blk > 0) ? 1 : 0,
		page => $blk,
	};
}

my @kinds = (
	[ \&random_bytes_damage, 3 ],
	[ \&random_field_damage, 2 ],
	[ \&region_damage, 2 ],
	[ \&page_damage, 1 ],
	[ \&meta_damage, 3 ],
	[ \&header_damage, 2 ],
	[ \&special_damage, 1 ],
	[ \&itemid_damage, 2 ],
	[ \&element_header_damage, 2 ],
	[ \&heaptid_damage, 1 ],
	[ \&link_damage, 3 ],
	[ \&vector_damage, 2 ],
	[ \&insert_page_lower_damage, 0.3 ],
);
my $total_weight = 0;
$total_weight += $_->[1] for @kinds;

sub random_damage
{
	my $x = rand($total_weight);
	for my $k (@kinds)
	{
		return $k->[0]->() if ($x -= $k->[1]) < 0;
	}
	return $kinds[0][0]->();
}

# The rounds that always run, first (the scan then looks for the damaged
# element when there is one).
my @targeted = (
	sub { return { what => 'pristine', patches => [] } },
	sub {
		return {
			what => 'meta magic zeroed',
			patches => [ field_patch($meta_field{magic}[0], 'V', 0) ],
			meaningful => 1,
			expect => qr/magic/,
			page => 0,
		};
	},
	sub { my $d = link_damage('past_end'); $d->{expect} = qr/which is not an element/; return $d; },
	# inserts go to the meta page
	sub {
		return {
			what => 'meta insert_blkno -> 0',
			patches => [ field_patch($meta_field{insert_blkno}[0], 'V', 0) ],
			page => 0,
			not_worse => 1,
		};
	},
	# ... whose header is damaged too
	sub {
		return {
			what => 'meta insert_blkno -> 0, meta pd_lower -> 0',
			patches => [ field_patch($meta_field{insert_blkno}[0], 'V', 0), field_patch(12, 'v', 0) ],
			page => 0,
			not_worse => 1,
		};
	},
	# a heap TID with block InvalidBlockNumber (P_NEW), found by the scan
	sub { my $d = heaptid_damage(random_element(), [ 0xffffffff, 1 ]); $d->{probe} = 1; return $d; },
	sub { return insert_page_lower_damage() },
	# a meta page header that PostgreSQL's page check passes: reads work,
	# and the inserts (enough of them to need a new page, so to update the
	# meta page) must not wipe the meta page
	sub {
		return {
			what => 'meta pd_lower -> 0, 40 rows inserted',
			patches => [ field_patch(12, 'v', 0) ],
			page => 0,
			not_worse => 1,
			insert_rows => 40,
		};
	},
	# pd_upper past the insert page's elements: PostgreSQL's page check
	# passes it, and a new element must not be written over old ones
	sub {
		my $at = $insert_page * $BLCKSZ + 14;
		my $upper = u16($at);
		my $value = $upper + 8 * int(($special - $upper) / 16);
		return {
			what => "insert page $insert_page pd_upper $upper -> $value",
			patches => [ field_patch($at, 'v', $value) ],
			page => $insert_page,
			not_worse => 1,
		};
	},
	sub { return meta_damage('entry_blkno') },
	sub { return meta_damage('dims') },
	sub { return meta_damage('m') },
	sub { return link_damage('invalid_block') },
	sub { return vector_damage() },
);

# ---------------------------------------------------------------------------
# One round

# An element's vector, as the query that finds it first.
sub vector_of
{
	my ($e) = @_;
	return '['
	  . join(',',
		map { sprintf('%.9g', $_) } unpack("f<$dims", substr($pristine, $e->{at} + $element_header, 4 * $dims)))
	  . ']';
}

sub restore_and_damage
{
	my ($damage) = @_;
	restore_files($data, [ $heap_path, $index_path ], \@forks, \%saved);
	my $bytes = patched_bytes($pristine, $damage->{patches});
	open my $fh, '>:raw', "$data/$index_path" or die "write $index_path: $!";
	print $fh $bytes;
	close $fh or die $!;
	return $bytes ne $pristine;
}

# Run a script; its outcome: ok, an SQLSTATE, or what went wrong.
sub run_sql
{
	my ($sql) = @_;
	return psql_outcome($node, $sql, statement_timeout => 20, timeout => 60);
}

my (@failures, @made_worse, %tally);
my $check_sql = q{SELECT count(*), coalesce(string_agg(DISTINCT
	regexp_replace(problem, '[0-9]+', 'N', 'g'), ' | '), '') FROM vecdb_index_check('idx')};
my ($meaningful, $detected) = (0, 0);
my @undetected;
my $log_offset = -s $node->logfile;

my @plan = (0 .. $n_rounds - 1);
@plan = grep { $_ < @targeted || $only{$_} } @plan if %only;
for my $round (@plan)
{
	srand($seed * 1000 + $round);
	my $damage = $round < @targeted ? $targeted[$round]->() : random_damage();
	my $what = "round $round: $damage->{what}";

	$node->stop('fast');
	my $changed = restore_and_damage($damage);
	$node->start;

	# which rows to delete: a few anywhere, and some of the damaged page's
	my @delete = map { 1 + int(rand($n_rows)) } 1 .. 3;
	if (defined $damage->{page} && $on_page{ $damage->{page} })
	{
		my @here = @{ $on_page{ $damage->{page} } };
		for (1 .. 2)
		{
			my $e = $elements[ pick(@here) ];
			push @delete, grep { defined } map { $id_of{$_} } @{ $e->{tids} };
		}
	}

	my $query =
	  ($damage->{element} && ($damage->{probe} || rand() < 0.5))
	  ? vector_of($damage->{element})
	  : random_vector_text($dims);
	my $iterative = rand() < 0.5;
	my $insert = join(', ',
		map { '(' . (100000 + 100 * $round + $_) . ", '" . random_vector_text($dims) . "')" }
		  1 .. ($damage->{insert_rows} // 1));

	# one statement at a time; after a crash, wait for the crash restart
	my %res;
	my $run = sub {
		my ($name, $sql) = @_;
		$res{$name} = run_sql($sql);
		$node->poll_query_until('postgres', 'SELECT true') if $res{$name}{state} eq 'crash';
		return $res{$name};
	};
	$run->(check => $check_sql);
	my $scan_sql = ($iterative ? "SET vecdb.hnsw_iterative_scan = relaxed_order;\n" : '')
	  . "SET enable_seqscan = off;\nSELECT id FROM t ORDER BY v <-> '$query' LIMIT 10";
	$run->(scan => $scan_sql);
	# a scan only reads: the table is as long as it was
	my $heap_now = $node->safe_psql('postgres',
		q{SELECT pg_relation_size('t') / current_setting('block_size')::int});
	push @failures, "$what: the scan grew the table from $heap_blocks to $heap_now blocks"
	  if $heap_now != $heap_blocks;
	$run->(insert => "INSERT INTO t VALUES $insert");
	if ($damage->{not_worse})
	{
		# the INSERT either failed or succeeded, and either way left the
		# index no worse than it found it: no more problems, and a scan that
		# worked still works
		$run->(check_after => $check_sql);
		$run->(scan_after => $scan_sql);
		my ($before) = split /\|/, $res{check}{out};
		my ($after) = split /\|/, $res{check_after}{out};
		push @made_worse, "$what: vecdb_index_check gave $res{check}{state} "
		  . ($before // '') . " row(s) before the INSERT ($res{insert}{state}), "
		  . "$res{check_after}{state} " . ($after // '') . ' after'
		  if $res{check}{state} ne 'ok'
		  || $res{check_after}{state} ne 'ok'
		  || $after > $before;
		push @made_worse, "$what: the scan gave $res{scan}{state} before the INSERT "
		  . "($res{insert}{state}), $res{scan_after}{state}"
		  . ($res{scan_after}{message} ? " ($res{scan_after}{message})" : '') . ' after'
		  if $res{scan}{state} eq 'ok' && $res{scan_after}{state} ne 'ok';
	}
	$run->(vacuum => 'DELETE FROM t WHERE id IN (' . join(',', @delete) . ");\nVACUUM t");

	for my $stmt (grep { $res{$_} } qw(check scan insert check_after scan_after vacuum))
	{
		my $r = $res{$stmt};
		$tally{$stmt}{ $r->{state} }++;
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
	for my $line ($log =~ /^.*(?:terminated by signal|was terminated by|PANIC:|TRAP:).*$/mg)
	{
		push @failures, "$what: server log: $line";
	}
	my $bystander = $node->safe_psql('postgres', $bystander_sql);
	push @failures, "$what: bystander table changed" if $bystander ne $bystander_before;

	# Is the check blind?
	my $check = $res{check};
	my ($problems, $kinds) = $check->{state} eq 'ok' ? split(/\|/, $check->{out}, 2) : (undef, '');
	my $saw = $check->{state} ne 'ok' ? "ERROR $check->{state} $check->{message}"
	  : $problems > 0 ? "$problems problems: $kinds" : 'no problem';
	note "$what: "
	  . ($changed ? '' : '(no byte changed) ')
	  . "check: $saw; "
	  . join(', ', map { "$_ $res{$_}{state}" } qw(scan insert vacuum));
	if ($changed && $damage->{meaningful})
	{
		$meaningful++;
		if ($check->{state} ne 'ok' || $problems > 0) { $detected++; }
		else { push @undetected, $what; }
	}
	if ($round == 0)
	{
		is($check->{state} . '/' . ($problems // ''), 'ok/0', 'pristine copy: vecdb_index_check gives no row');
		is(join(',', map { $res{$_}{state} } qw(scan insert vacuum)), 'ok,ok,ok',
			'pristine copy: scan, insert and VACUUM succeed');
		is(scalar(split /\n/, $res{scan}{out}), 10, 'pristine copy: the scan returns 10 rows');
	}
	if ($damage->{expect})
	{
		ok($check->{state} eq 'ok' && $kinds =~ $damage->{expect},
			"$what: vecdb_index_check reports it") or diag("check gave: $saw");
	}
}

is_deeply(\@failures, [], 'every statement succeeded or raised a clean ERROR; no crash, no hang')
  or diag(join("\n", @failures));
is_deeply(\@made_worse, [], 'an INSERT into a damaged index fails or loses nothing')
  or diag(join("\n", @made_worse));
for my $stmt (grep { $tally{$_} } qw(check scan insert check_after scan_after vacuum))
{
	note "$stmt: " . join(', ', map { "$_ x$tally{$stmt}{$_}" } sort keys %{ $tally{$stmt} });
}
note "vecdb_index_check saw $detected of $meaningful damages it is bound to see";
note "missed: $_" for @undetected;
cmp_ok($detected, '>=', 0.8 * $meaningful, 'vecdb_index_check is not blind');

# ---------------------------------------------------------------------------
# Afterwards

$node->stop('fast');
restore_and_damage({ patches => [] });
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM vecdb_index_check(\'idx\')'),
	'0', 'pristine files back: the index passes the check again');
is($node->safe_psql('postgres', $bystander_sql), $bystander_before, 'bystander table intact');

my $elapsed = time() - $started;
# a note, not an assertion: a hang is caught by each statement's timeout
# above, and speed on a shared machine is no test's business
note sprintf('took %.1f s', $elapsed);

$node->stop;
done_testing();
