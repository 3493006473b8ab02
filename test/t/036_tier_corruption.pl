# 036_tier_corruption.pl: every reader of the hot tier's pages treats them
# as hostile: a damaged tier gives clean ERRORs, never a crash, a hang or a
# silently lost insert, and vecdb_index_check sees the damage.
#
# Two tables of 3000 seeded 16-dimension vectors, th with an hnsw index ih
# and tq with an ivfpq index iq (lists = 8, m = 8). After the build, each
# table gets 800 more rows (hot), vecdb_merge (the tier's pages retire onto
# its free stack) and 350 more (hot again, on pages taken back from the
# stack): each index ends with a chain of hot pages and retired pages on its
# free stack. The node is stopped cleanly and every fork of both tables and
# indexes is saved. Then, round after round: stop the node, put the
# pristine files back, damage one index's main fork where src/tier lays the
# tier out (tier.h, pages.h, index/page.h): the TierMeta in the meta page
# (head, tail, free_head, pages, head_seq, next_seq, rows, ...), tier page
# headers (pd_lower off the item boundaries, pd_upper, pd_special), the
# PageOpaque of tier pages (next: cycles, skips, cuts, blocks out of range,
# links into an element or list page or the meta page; flags; id), the
# TierPage header (seq, free_next, item_size), the items (heap TIDs: 0,
# InvalidBlockNumber, past the table, another row's; flags; NaN and Inf
# vector floats) and random bytes; start the node, and run, each in its own
# session:
#
#   (a) vecdb_index_check(idx)
#   (b) an index scan (enable_seqscan off), its query a hot row's vector
#   (c) vecdb_hot_tier(idx)
#   (d) an INSERT of 1 or 120 rows (120: past a page, so the tail moves on
#       to a page from the free stack; the rounds that damage the stack's
#       top insert 120 or 240, so that an append reads it)
#   (e) if the INSERT succeeded: an exact look-up of each new row through
#       the index
#   (f) vecdb_merge(idx)
#   (g) a DELETE of a few rows (some hot, on the damaged page), VACUUM
#   (h) the look-up of (e) again, with vecdb.hnsw_ef_search = 1000 (or
#       every ivfpq list probed and 300 rows re-ranked)
#   (i) vecdb_hot_tier(idx), (j) vecdb_index_check(idx) again
#
# Each must succeed or fail with a clean ERROR (any SQLSTATE but a lost
# connection, a statement timeout or a shutdown); no server process may die
# (no "terminated by signal", no PANIC, no TRAP, no reinitialisation in the
# log); a statement that does not finish within its timeout is a hang: its
# backend is cancelled, or killed if it ignores the cancel, and the test
# fails. An INSERT into a damaged index fails or loses nothing: a look-up
# (e, h) that succeeds finds every new row. A bystander table stays intact.
#
# vecdb_index_check must not be blind: the pristine files give no row; the
# targeted rounds whose damage it is bound to see report the matching
# problem; and at least 80% of the random rounds whose damage it is bound to
# see report a problem (or an ERROR). It is bound to see: a TierMeta field
# that disagrees with the chain (head, tail, pages, head_seq, next_seq,
# rows; free_head, unless cut or moved down the stack); a chain page whose
# header, id, flags, item_size, seq or next link is wrong; a retired page
# on the free stack that is no longer a sound retired tier page, or a
# free_next that leaves the index, loops, or names a hot page; a hot item
# whose flags, heap TID or vector (non-finite) changed (a changed TID or a
# merged/dead flag leaves its heap row missing from the index). It is not
# bound to see a retired page's stale items, seq or next link, a free stack
# cut short or moved down (the pages leak, nothing else), a finite vector
# changed, the statistics (merged, last_merge), a chain page's flags gaining
# bits beside the tier's, or pd_upper moved within bounds.
#
# The rounds: 53 targeted ones (the pristine files first, then one or two
# of each damage above, most with the problem the check must report), then
# VECDB_CORRUPTION_ROUNDS (default 24) drawn at random, by weight, from the
# same kinds of damage and random bytes, regions and whole pages.
#
# Reproducing: VECDB_CORRUPTION_SEED (default 3636) seeds everything; round
# r draws its damage from srand(seed * 1000 + r) alone, so
# VECDB_CORRUPTION_ONLY=r1,r2 replays just those rounds (with the pristine
# rounds 0 and 1). VECDB_CORRUPTION_ROUNDS sets the number of random rounds
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
  damage_test_node psql_outcome is_clean_outcome random_bytes_patches region_patch);

my $seed = $ENV{VECDB_CORRUPTION_SEED} // 3636;
my $n_random = $ENV{VECDB_CORRUPTION_ROUNDS} // 24;
my %only = map { $_ => 1 } split /,/, ($ENV{VECDB_CORRUPTION_ONLY} // '');
srand($seed);
note "seed $seed, $n_random random rounds (VECDB_CORRUPTION_SEED, VECDB_CORRUPTION_ROUNDS)";
my $started = time();

my $dims = 16;
my $n_rows = 3000;
my $BLCKSZ = 8192;
# A statement here takes well under a second (the slowest, a merge, 0.26 s
# on a quiet machine; a round notes those over 1 s, the end the slowest);
# the timeouts leave room for a slow, shared CI machine, since a statement
# past them fails.
my $statement_timeout = 20;    # seconds
my $psql_timeout = 40;         # seconds: past it, the statement hangs

# the layout (index/page.h, tier/tier.h)
my $contents = 24;                    # MAXALIGN(SizeOfPageHeaderData)
my $special = $BLCKSZ - 8;            # PageOpaque: next (V), flags (v), id (v)
my $invalid_block = 0xffffffff;
my $flag_meta = 0x1;
my $flag_tier = 0x100;
my $flag_retired = 0x200;
my $items_at = $contents + 16;        # MAXALIGN(sizeof(TierPage))
my $item_size = 8 + 4 * $dims;        # TID, flags, unused, floats
my %tier_meta_field = (               # name => [offset in TierMeta, pack code]
	head => [ 0, 'V' ],
	tail => [ 4, 'V' ],
	free_head => [ 8, 'V' ],
	pages => [ 12, 'V' ],
	head_seq => [ 16, 'Q<' ],
	next_seq => [ 24, 'Q<' ],
	rows => [ 32, 'q<' ],
	merged => [ 40, 'q<' ],
	last_merge => [ 48, 'q<' ],
);
my %header_field = (pd_lower => 12, pd_upper => 14, pd_special => 16);
my @nasty_floats = (0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f800001);

# ---------------------------------------------------------------------------
# The tables, the indexes, the bystander

my $node = damage_test_node('tier_corruption');
# enable_seqscan = off prices every plan past JIT's thresholds: compiling
# each look-up would cost more than running it
$node->append_conf('postgresql.conf', 'jit = off');
$node->reload;
my $tmp = PostgreSQL::Test::Utils::tempdir;

my @indexes = (
	{
		name => 'ih', table => 'th', am => 'hnsw', page_id => 0xFF91, meta_at => $contents + 32,
		cold => { elements => 0x2 }, with => '',
		exact => 'SET vecdb.hnsw_ef_search = 1000;',
	},
	{
		name => 'iq', table => 'tq', am => 'ivfpq', page_id => 0xFF92, meta_at => $contents + 64,
		cold => { floats => 0x2, directory => 0x4, list => 0x8 }, with => 'WITH (lists = 8, m = 8)',
		exact => 'SET vecdb.ivfpq_probes = 8; SET vecdb.ivfpq_rerank = 300;',
	},
);
my %index_named = map { $_->{name} => $_ } @indexes;

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
for my $ix (@indexes)
{
	my $t = $ix->{table};
	$node->safe_psql('postgres', "CREATE TABLE $t (id int NOT NULL, v vector($dims) NOT NULL)");
	$node->safe_psql('postgres', "INSERT INTO $t VALUES "
		  . join(",\n", map { "($_, '" . random_vector_text($dims) . "')" } 1 .. $n_rows));
	$node->safe_psql('postgres',
		"CREATE INDEX $ix->{name} ON $t USING $ix->{am} (v vector_l2_ops) $ix->{with}");
	$node->safe_psql('postgres', "VACUUM ANALYZE $t");
	# hot rows, merged: their pages retire onto the free stack; then hot
	# rows again, some on pages taken back from it
	$node->safe_psql('postgres', "INSERT INTO $t VALUES "
		  . join(",\n", map { "($_, '" . random_vector_text($dims) . "')" } $n_rows + 1 .. $n_rows + 800));
	is($node->safe_psql('postgres', "SELECT vecdb_merge('$ix->{name}')"), '800', "$ix->{name}: 800 rows merged");
	$node->safe_psql('postgres', "INSERT INTO $t VALUES "
		  . join(",\n", map { "($_, '" . random_vector_text($dims) . "')" } $n_rows + 801 .. $n_rows + 1150));
}
$node->safe_psql('postgres', q{
	CREATE TABLE bystander (id int PRIMARY KEY, v vector(4));
	INSERT INTO bystander SELECT i, ARRAY[i, i * 0.5, -i, 1.0 / i]::real[]::vector
	FROM generate_series(1, 3000) i;
	VACUUM bystander; CHECKPOINT});
my $bystander_sql =
  q{SELECT count(*), md5(string_agg(vector_send(v)::text, ';' ORDER BY id)) FROM bystander};
my $bystander_before = $node->safe_psql('postgres', $bystander_sql);

# the look-up of new rows: each found by an index scan for its own vector
sub lookup_sql
{
	my ($ix, $from, $to, $exact) = @_;
	my $t = $ix->{table};
	return "SET enable_seqscan = off; " . ($exact ? $ix->{exact} : '') . "\n"
	  . "SELECT count(*) FROM $t n WHERE n.id BETWEEN $from AND $to "
	  . "AND n.id IN (SELECT id FROM $t x ORDER BY x.v <-> n.v LIMIT 3)";
}

my %table;    # name => {path, blocks, vec_of (ctid => vector text)}
for my $ix (@indexes)
{
	my ($idx, $t) = ($ix->{name}, $ix->{table});
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecdb_index_check('$idx')"),
		'0', "the fresh $idx passes vecdb_index_check");
	is($node->safe_psql('postgres', "SELECT rows FROM vecdb_hot_tier('$idx')"),
		'350', "$idx holds 350 hot rows");
	like(
		$node->safe_psql('postgres',
			"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM $t ORDER BY v <-> '"
			  . random_vector_text($dims) . "' LIMIT 10"),
		qr/Index Scan using $idx on $t/,
		"the query uses $idx");
	like($node->safe_psql('postgres', lookup_sql($ix, 1, 10, 0) =~ s/\nSELECT/\nEXPLAIN (COSTS OFF) SELECT/r),
		qr/Index Scan using $idx on $t x/, "the look-up of new rows uses $idx");
	is($node->safe_psql('postgres', lookup_sql($ix, 3801, 4150, 0)), '350', "$idx: the look-up finds the hot rows");
	is($node->safe_psql('postgres', lookup_sql($ix, 2901, 3100, 1)), '200',
		"$idx: the exact look-up finds built and merged rows");
	($ix->{path}, $ix->{blocks}) = split /\|/, $node->safe_psql('postgres',
		"SELECT pg_relation_filepath('$idx'), "
		  . "pg_relation_size('$idx') / current_setting('block_size')::int");
	my ($path, $blocks) = split /\|/, $node->safe_psql('postgres',
		"SELECT pg_relation_filepath('$t'), "
		  . "pg_relation_size('$t') / current_setting('block_size')::int");
	my %tb = (path => $path, blocks => $blocks);
	for my $line (split /\n/, $node->safe_psql('postgres', "SELECT ctid, id, v FROM $t"))
	{
		my ($ctid, $id, $v) = split /\|/, $line;
		$tb{id_of}{$ctid} = $id;
		$tb{vec_of}{$ctid} = $v;
	}
	$table{$t} = \%tb;
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
sub u64 { my ($ix, $at) = @_; return unpack('Q<', substr($ix->{pristine}, $at, 8)); }

for my $ix (@indexes)
{
	die "$ix->{name} has a second segment" if defined $saved{"$ix->{path}.1"};
	$ix->{pristine} = slurp_file("$data/$ix->{path}");
	my $nblocks = $ix->{blocks};
	is(length($ix->{pristine}), $nblocks * $BLCKSZ, "$ix->{name}: file is as long as its block count");
	my %m = map {
		my ($off, $code) = @{ $tier_meta_field{$_} };
		$_ => unpack($code, substr($ix->{pristine}, $ix->{meta_at} + $off, 8))
	} keys %tier_meta_field;
	$ix->{tier} = \%m;

	for my $blk (0 .. $nblocks - 1)
	{
		my $base = $blk * $BLCKSZ;
		my %p = (
			lower => u16($ix, $base + 12),
			upper => u16($ix, $base + 14),
			next => u32($ix, $base + $special),
			flags => u16($ix, $base + $special + 4),
			id => u16($ix, $base + $special + 6),
		);
		die "$ix->{name} block $blk: page id $p{id}" unless $p{id} == $ix->{page_id};
		my %cold = %{ $ix->{cold} };
		($p{kind}) =
		    $p{flags} & $flag_tier ? ($p{flags} & $flag_retired ? 'retired' : 'hot')
		  : $p{flags} == $flag_meta ? 'meta'
		  : grep { $p{flags} == $cold{$_} } sort keys %cold;
		die "$ix->{name} block $blk: flags $p{flags}" unless defined $p{kind};
		if ($p{flags} & $flag_tier)
		{
			$p{seq} = u64($ix, $base + $contents);
			$p{free_next} = u32($ix, $base + $contents + 8);
			die "$ix->{name} block $blk: item_size" if u16($ix, $base + $contents + 12) != $item_size;
			my $n = ($p{lower} - $items_at) / $item_size;
			die "$ix->{name} block $blk: not whole items" if $n != int($n);
			$p{items} = [
				map {
					my $at = $base + $items_at + $_ * $item_size;
					{
						at => $at,
						ctid => sprintf('(%d,%d)',
							(u16($ix, $at) << 16) | u16($ix, $at + 2), u16($ix, $at + 4)),
						flags => unpack('C', substr($ix->{pristine}, $at + 6, 1)),
					}
				} 0 .. $n - 1
			];
		}
		$ix->{page}[$blk] = \%p;
		push @{ $ix->{pages_of}{ $p{kind} } }, $blk;
	}

	# the chain, head to tail, and the free stack
	my @chain;
	for (my $blk = $m{head}; $blk != $invalid_block; $blk = $ix->{page}[$blk]{next})
	{
		die "$ix->{name}: bad chain" if $blk >= $nblocks || @chain > $nblocks;
		die "$ix->{name}: chain block $blk is not hot" if $ix->{page}[$blk]{kind} ne 'hot';
		die "$ix->{name}: chain block $blk: seq" if $ix->{page}[$blk]{seq} != $m{head_seq} + @chain;
		push @chain, $blk;
	}
	die "$ix->{name}: the chain ends at $chain[-1], not at its tail" if $chain[-1] != $m{tail};
	my @stack;
	for (my $blk = $m{free_head}; $blk != $invalid_block; $blk = $ix->{page}[$blk]{free_next})
	{
		die "$ix->{name}: bad free stack" if $blk >= $nblocks || @stack > $nblocks;
		die "$ix->{name}: free block $blk is not retired" if $ix->{page}[$blk]{kind} ne 'retired';
		push @stack, $blk;
	}
	$ix->{chain} = \@chain;
	$ix->{stack} = \@stack;
	$ix->{tier_pages} = [ @chain, @stack ];
	$ix->{hot_items} = [ map { my $b = $_; map { [ $b, $_ ] } @{ $ix->{page}[$b]{items} } } @chain ];
	my $rows = scalar(@{ $ix->{hot_items} });
	is(join(' ', $m{pages}, $m{rows}, $m{next_seq} - $m{head_seq}, $rows),
		join(' ', scalar(@chain), 350, scalar(@chain), 350),
		"$ix->{name}: the tier meta page agrees with the chain");
	ok(@chain >= 3 && @stack >= 3, "$ix->{name}: several hot pages and several retired ones")
	  or diag("chain @chain, stack @stack");
	ok(!grep({ $_->[1]{flags} != 0 } @{ $ix->{hot_items} }), "$ix->{name}: every chain item is hot");
	note sprintf('%s: %d blocks; chain %s (seq %d..%d); free stack %s; %s', $ix->{name}, $nblocks,
		join(',', @chain), $m{head_seq}, $m{next_seq} - 1, join(',', @stack),
		join(', ', map { "$_ " . scalar(@{ $ix->{pages_of}{$_} }) } sort keys %{ $ix->{pages_of} }));
}

# ---------------------------------------------------------------------------
# Damage: each returns {what, patches => [[file offset, bytes], ...], page
# (the damaged block), meaningful (the check is bound to see it), expect (a
# regex the check's problems must match)}

sub cold_pages
{
	my ($ix) = @_;
	return map { @{ $ix->{pages_of}{$_} // [] } } sort keys %{ $ix->{cold} };
}

sub random_hot_page { my ($ix) = @_; return pick(@{ $ix->{chain} }); }
sub random_tier_page { my ($ix) = @_; return pick(@{ $ix->{tier_pages} }); }

# Where a link may point to: name => block
sub link_targets
{
	my ($ix, $blk) = @_;
	my @chain = @{ $ix->{chain} };
	my @others = grep { $_ != $blk } @chain;
	return (
		self => $blk,
		head => $chain[0],
		tail => $chain[-1],
		other_hot => pick(@others ? @others : @chain),
		retired => pick(@{ $ix->{stack} }),
		cold => pick(cold_pages($ix)),
		meta => 0,
		past_end => $ix->{blocks},
		far_past_end => pick(0xfffffffe, $ix->{blocks} + 1000, 0x80000000),
		invalid => $invalid_block,
		random => int(rand(2**32)),
	);
}

sub meta_damage
{
	my ($ix, $field, $value) = @_;
	$field //= pick(sort keys %tier_meta_field);
	my ($off, $code) = @{ $tier_meta_field{$field} };
	my $m = $ix->{tier};
	my $orig = $m->{$field};
	if (!defined $value)
	{
		if ($field =~ /^(head|tail|free_head)$/)
		{
			my %to = link_targets($ix, $orig);
			$value = $to{ pick(sort keys %to) };
		}
		else
		{
			my %values = (
				pages => [ 0, 1, $orig - 1, $orig + 1, 0xffffffff ],
				head_seq => [ 0, 1, $orig - 1, $orig + 1, 2**63 ],
				next_seq => [ 0, 1, $orig - 1, $orig + 1, $m->{head_seq}, 2**63 ],
				rows => [ 0, -1, $orig - 1, $orig + 1, 2**40, -(2**62) ],
				merged => [ 0, -1, 2**40 ],
				last_merge => [ 0, -1, 2**62 ],
			);
			$value = pick(@{ $values{$field} });
		}
	}
	my $meaningful = $value != $orig && $field !~ /^(merged|last_merge)$/;
	# a free stack cut or started lower down leaks pages, no more
	$meaningful = 0
	  if $field eq 'free_head' && ($value == $invalid_block || grep { $_ == $value } @{ $ix->{stack} });
	return {
		what => "tier meta $field $orig -> $value",
		patches => [ field_patch($ix->{meta_at} + $off, $code, $value) ],
		meaningful => $meaningful,
		page => 0,
	};
}

sub header_damage
{
	my ($ix, $blk, $field, $value) = @_;
	$blk //= random_tier_page($ix);
	$field //= pick(sort keys %header_field);
	my $p = $ix->{page}[$blk];
	my $at = $blk * $BLCKSZ + $header_field{$field};
	my $orig = u16($ix, $at);
	$value //= pick(0, 1, 23, 24, 39, 40, $orig - 1, $orig + 1, $orig - int($item_size / 2),
		$orig - $item_size, $orig + $item_size, $p->{upper}, $p->{upper} + 1, 8184, 8192, 0xffff,
		int(rand(65536)));
	$value &= 0xffff;
	my %new = (pd_lower => $p->{lower}, pd_upper => $p->{upper}, pd_special => $special);
	$new{$field} = $value;
	my $sound = $new{pd_lower} >= $items_at && $new{pd_lower} <= $new{pd_upper}
	  && $new{pd_upper} <= $new{pd_special} && $new{pd_special} == $special
	  && ($new{pd_lower} - $items_at) % $item_size == 0;
	# an unsound page, or a chain page whose items change
	my $meaningful = $value != $orig && (!$sound || ($field eq 'pd_lower' && $p->{kind} eq 'hot'));
	return {
		what => "block $blk ($p->{kind}) $field $orig -> $value",
		patches => [ field_patch($at, 'v', $value) ],
		meaningful => $meaningful,
		expect => $meaningful && !$sound ? qr/is not a (hot|retired) tier page|invalid page/ : undef,
		page => $blk,
	};
}

# pd_lower of a tier page, not whole items
sub partial_item_damage
{
	my ($ix, $blk) = @_;
	$blk //= random_tier_page($ix);
	my $lower = $ix->{page}[$blk]{lower};
	return header_damage($ix, $blk, 'pd_lower', $lower + pick(-1, 1, -int($item_size / 2), 4 - $lower % 8));
}

sub next_damage
{
	my ($ix, $how, $blk) = @_;
	$how //= pick(qw(self head tail other_hot retired cold meta past_end far_past_end invalid random));
	$blk //= $how eq 'head' ? pick(@{ $ix->{chain} }[ 1 .. $#{ $ix->{chain} } ]) : random_hot_page($ix);
	my %to = link_targets($ix, $blk);
	my $value = $to{$how};
	my $orig = $ix->{page}[$blk]{next};
	return {
		what => "block $blk (hot) next $orig -> $value ($how)",
		patches => [ field_patch($blk * $BLCKSZ + $special, 'V', $value) ],
		meaningful => $value != $orig,
		page => $blk,
	};
}

sub opaque_damage
{
	my ($ix, $blk) = @_;
	$blk //= random_tier_page($ix);
	my $p = $ix->{page}[$blk];
	if (rand() < 0.5)
	{
		my $value = pick(0, 0x2, 0x8, 0x100 | 0x2, 0x100 | 0x8, 0x100, 0x300, 0x1, 0xffff,
			int(rand(65536)));
		my $hot = $p->{kind} eq 'hot';
		# seen: a chain page that is no longer a hot tier page, a stacked
		# one no longer retired; bits beside these are not
		my $now_tier = $value & $flag_tier;
		my $now_retired = $value & $flag_retired;
		return {
			what => "block $blk ($p->{kind}) flags $p->{flags} -> $value",
			patches => [ field_patch($blk * $BLCKSZ + $special + 4, 'v', $value) ],
			meaningful => !$now_tier || ($hot ? $now_retired : !$now_retired),
			page => $blk,
		};
	}
	my $value = pick(0, 0xFF91, 0xFF92, 0xffff, int(rand(65536)));
	return {
		what => "block $blk ($p->{kind}) page id $p->{id} -> $value",
		patches => [ field_patch($blk * $BLCKSZ + $special + 6, 'v', $value) ],
		meaningful => $value != $p->{id},
		expect => $value != $p->{id} ? qr/is not a (hot|retired) tier page/ : undef,
		page => $blk,
	};
}

sub tierpage_damage
{
	my ($ix, $field, $blk) = @_;
	$field //= pick('seq', 'free_next', 'item_size');
	$blk //= $field eq 'free_next' ? pick(@{ $ix->{stack} }) : random_tier_page($ix);
	my $p = $ix->{page}[$blk];
	my $base = $blk * $BLCKSZ + $contents;
	if ($field eq 'seq')
	{
		my $value = pick(0, 1, $p->{seq} - 1, $p->{seq} + 1, $p->{seq} + 1000, 2**63);
		return {
			what => "block $blk ($p->{kind}) seq $p->{seq} -> $value",
			patches => [ field_patch($base, 'Q<', $value) ],
			meaningful => $p->{kind} eq 'hot' && $value != $p->{seq},
			expect => $p->{kind} eq 'hot' && $value != $p->{seq} ? qr/has number/ : undef,
			page => $blk,
		};
	}
	if ($field eq 'free_next')
	{
		my %to = link_targets($ix, $blk);
		my $how = pick(sort keys %to);
		my $value = $to{$how};
		my %on_stack = map { $_ => 1 } @{ $ix->{stack} };
		# a cut (invalid) or a skip to a page lower in the stack leaks
		# pages, no more; one higher up (or itself) loops
		my @stack = @{ $ix->{stack} };
		my ($pos) = grep { $stack[$_] == $blk } 0 .. $#stack;
		my ($to_pos) = grep { $stack[$_] == $value } 0 .. $#stack;
		my $meaningful = $p->{kind} eq 'retired' && $value != $p->{free_next}
		  && $value != $invalid_block && !(defined $to_pos && $to_pos > $pos);
		return {
			what => "block $blk ($p->{kind}) free_next $p->{free_next} -> $value ($how)",
			patches => [ field_patch($base + 8, 'V', $value) ],
			meaningful => $meaningful,
			expect => $meaningful ? qr/free stack/ : undef,
			page => $blk,
		};
	}
	my $value = pick(0, 1, 8, $item_size - 1, $item_size + 1, $item_size + 4, 0xffff);
	return {
		what => "block $blk ($p->{kind}) item_size $item_size -> $value",
		patches => [ field_patch($base + 12, 'v', $value) ],
		meaningful => 1,
		expect => qr/is not a (hot|retired) tier page/,
		page => $blk,
	};
}

sub random_hot_item
{
	my ($ix) = @_;
	return @{ pick(@{ $ix->{hot_items} }) };
}

sub tid_damage
{
	my ($ix, $tid) = @_;
	my ($blk, $item) = random_hot_item($ix);
	my $tb = $table{ $ix->{table} };
	my $heap_blocks = $tb->{blocks};
	my $other = pick(keys %{ $tb->{id_of} });
	my @other = $other =~ /\((\d+),(\d+)\)/;
	$tid //= pick([ $invalid_block, 1 ], [ $heap_blocks + 1000, 1 ], [ 0, 0 ], [ 0, 0xffff ],
		[ 0, 1 ], \@other, [ int(rand(2**32)), int(rand(65536)) ]);
	my ($b, $o) = @$tid;
	my $new = sprintf('(%d,%d)', $b, $o);
	my $invalid = $b == $invalid_block || $o == 0;
	return {
		what => "block $blk item $item->{ctid} heap TID -> $new",
		patches => [ [ $item->{at}, pack('v v v', $b >> 16, $b & 0xffff, $o) ] ],
		meaningful => $new ne $item->{ctid},
		expect => $invalid ? qr/invalid heap TID/
		  : $new ne $item->{ctid} ? qr/missing from the index|hot twice/
		  : undef,
		page => $blk,
		item => $item,
	};
}

sub item_flags_damage
{
	my ($ix, $value) = @_;
	my ($blk, $item) = random_hot_item($ix);
	$value //= pick(1, 2, 3, 4, 0x80, 0xff, int(rand(256)));
	return {
		what => "block $blk item $item->{ctid} flags -> $value",
		patches => [ [ $item->{at} + 6, chr($value) ] ],
		meaningful => $value != 0,
		expect => $value & ~3 ? qr/unknown flags/ : $value ? qr/missing from the index/ : undef,
		page => $blk,
		item => $item,
	};
}

sub float_damage
{
	my ($ix, $bits, $count) = @_;
	my ($blk, $item) = random_hot_item($ix);
	$count //= pick(1, 1, 3, $dims);
	my @patches;
	my $nonfinite = 0;
	for (1 .. $count)
	{
		my $b = $bits // (rand() < 0.7 ? pick(@nasty_floats) : random_float_bits());
		$nonfinite = 1 if (($b >> 23) & 0xff) == 0xff;
		push @patches, [ $item->{at} + 8 + 4 * int(rand($dims)), pack('V', $b) ];
	}
	return {
		what => sprintf('block %d item %s: %d floats%s', $blk, $item->{ctid}, $count,
			defined $bits ? sprintf(' -> %08x', $bits) : ''),
		patches => \@patches,
		meaningful => $nonfinite,
		expect => $nonfinite ? qr/non-finite/ : undef,
		page => $blk,
		item => $item,
	};
}

sub random_bytes_damage
{
	my ($ix) = @_;
	# mostly on tier pages; sometimes anywhere
	my @patches;
	if (rand() < 0.8)
	{
		my $blk = random_tier_page($ix);
		@patches = map { [ $_->[0] % $BLCKSZ + $blk * $BLCKSZ, $_->[1] ] }
		  random_bytes_patches(substr($ix->{pristine}, 0, $BLCKSZ), 8);
	}
	else { @patches = random_bytes_patches($ix->{pristine}, 8); }
	return {
		what => 'random bytes at ' . join(',', map { $_->[0] } @patches),
		patches => \@patches,
		page => int($patches[0][0] / $BLCKSZ),
	};
}

sub region_damage
{
	my ($ix) = @_;
	my $blk = random_tier_page($ix);
	my ($patch, $what) = region_patch($ix->{pristine}, $blk, sub { random_tier_page($ix) });
	return { what => "$what ($ix->{page}[$blk]{kind})", patches => [$patch], page => $blk };
}

sub page_damage
{
	my ($ix) = @_;
	my $blk = random_tier_page($ix);
	my $src = pick(@{ $ix->{tier_pages} }, cold_pages($ix), 0);
	my $how = pick('zeroed', "copy of block $src");
	my $bytes = $how eq 'zeroed' ? "\0" x $BLCKSZ : substr($ix->{pristine}, $src * $BLCKSZ, $BLCKSZ);
	return {
		what => "block $blk ($ix->{page}[$blk]{kind}) $how",
		patches => [ [ $blk * $BLCKSZ, $bytes ] ],
		# a zeroed chain page breaks the chain; a copy of another kind is
		# no tier page of its place
		meaningful => $ix->{page}[$blk]{kind} eq 'hot' && $src != $blk,
		page => $blk,
	};
}

my @kinds = (
	[ \&meta_damage, 3 ],
	[ \&header_damage, 2 ],
	[ \&partial_item_damage, 0.5 ],
	[ \&next_damage, 2.5 ],
	[ \&opaque_damage, 1.5 ],
	[ \&tierpage_damage, 2 ],
	[ \&tid_damage, 1.5 ],
	[ \&item_flags_damage, 1 ],
	[ \&float_damage, 1 ],
	[ \&random_bytes_damage, 2 ],
	[ \&region_damage, 1 ],
	[ \&page_damage, 0.5 ],
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

my ($H, $Q) = @index_named{qw(ih iq)};

# A damage the check is bound to see, as a problem matching $re.
sub expecting
{
	my ($re, $d) = @_;
	$d->{expect} = $re;
	$d->{meaningful} = 1;
	return $d;
}

sub pristine { return { what => 'pristine', patches => [] }; }

# One field of block blk, at offset at in the page, set to value.
sub patch_at
{
	my ($what, $blk, $at, $code, $value) = @_;
	return { what => $what, page => $blk, patches => [ field_patch($blk * $BLCKSZ + $at, $code, $value) ] };
}
my $flags_at = $special + 4;
my $id_at = $special + 6;
my $free_next_at = $contents + 8;

# A damage whose round INSERTs n rows.
sub inserting
{
	my ($n, $d) = @_;
	$d->{insert} = $n;
	return $d;
}

sub mid_hot { my ($ix) = @_; return $ix->{chain}[1]; }
sub last_hot { my ($ix) = @_; return $ix->{chain}[-1]; }

# The rounds that always run, first: [index, damage].
my @targeted = (
	[ $H, \&pristine ],
	[ $Q, \&pristine ],
	# the TierMeta
	[ $H, sub { expecting(qr/leaves the index/, meta_damage($H, 'head', $H->{blocks})) } ],
	[ $Q, sub { expecting(qr/not a hot tier page/, meta_damage($Q, 'head', $Q->{stack}[0])) } ],
	[ $H, sub { expecting(qr/has number/, meta_damage($H, 'head', mid_hot($H))) } ],
	[ $H, sub { expecting(qr/a head or a tail, not both/, meta_damage($H, 'head', $invalid_block)) } ],
	[ $Q, sub { expecting(qr/a head or a tail, not both/, meta_damage($Q, 'tail', $invalid_block)) } ],
	[ $H, sub { expecting(qr/counts N pages/, meta_damage($H, 'tail', mid_hot($H))) } ],
	[ $Q, sub { expecting(qr/does not reach its tail/, meta_damage($Q, 'tail', $Q->{stack}[0])) } ],
	# the free stack's top: the tail page, a hot page, the meta page, a
	# cold page, a page past the end
	[ $H, sub { inserting(120, expecting(qr/free stack/, meta_damage($H, 'free_head', last_hot($H)))) } ],
	[ $Q, sub { inserting(120, expecting(qr/free stack/, meta_damage($Q, 'free_head', last_hot($Q)))) } ],
	[ $Q, sub { expecting(qr/free stack/, meta_damage($Q, 'free_head', $Q->{chain}[0])) } ],
	[ $Q, sub { expecting(qr/free stack/, meta_damage($Q, 'free_head', pick(cold_pages($Q)))) } ],
	[ $H, sub { expecting(qr/counts N pages/, meta_damage($H, 'pages', 0)) } ],
	[ $H, sub { expecting(qr/has number/, meta_damage($H, 'head_seq', $H->{tier}{head_seq} + 1)) } ],
	[ $H, sub { expecting(qr/next page number/, meta_damage($H, 'next_seq', $H->{tier}{head_seq})) } ],
	[ $H, sub { expecting(qr/counts N rows/, meta_damage($H, 'rows', 2**40)) } ],
	[ $Q, sub { expecting(qr/counts N rows/, meta_damage($Q, 'rows', 0)) } ],
	# tier page headers
	[ $H, sub { partial_item_damage($H, mid_hot($H)) } ],
	[ $Q, sub { partial_item_damage($Q, $Q->{stack}[0]) } ],
	[ $H, sub { expecting(qr/not a hot tier page/, header_damage($H, mid_hot($H), 'pd_lower', 0)) } ],
	[ $Q, sub { expecting(qr/not a hot tier page/, header_damage($Q, last_hot($Q), 'pd_special', 8192)) } ],
	[ $H, sub { expecting(qr/invalid heap TID/, header_damage($H, last_hot($H), 'pd_lower', $H->{page}[ last_hot($H) ]{lower} + $item_size)) } ],
	[ $Q, sub { expecting(qr/missing from the index/, header_damage($Q, mid_hot($Q), 'pd_lower', $Q->{page}[ mid_hot($Q) ]{lower} - $item_size)) } ],
	# the tail full: pd_upper down on pd_lower, the INSERT must take a page
	[ $H, sub { header_damage($H, last_hot($H), 'pd_upper', $H->{page}[ last_hot($H) ]{lower}) } ],
	# chain links
	[ $H, sub { expecting(qr/tail has a next page/, next_damage($H, 'head', last_hot($H))) } ],
	[ $Q, sub { expecting(qr/has number/, next_damage($Q, 'self', mid_hot($Q))) } ],
	[ $H, sub { expecting(qr/has number/, next_damage($H, 'tail', $H->{chain}[0])) } ],
	[ $Q, sub { expecting(qr/does not reach its tail/, next_damage($Q, 'invalid', $Q->{chain}[0])) } ],
	[ $H, sub { expecting(qr/not a hot tier page/, next_damage($H, 'cold', $H->{chain}[0])) } ],
	[ $H, sub { expecting(qr/leaves the index/, next_damage($H, 'meta', mid_hot($H))) } ],
	[ $H, sub { expecting(qr/not a hot tier page/, next_damage($H, 'retired', mid_hot($H))) } ],
	[ $Q, sub { expecting(qr/tail has a next page/, next_damage($Q, 'past_end', last_hot($Q))) } ],
	# flags and ids of tier pages
	[ $H, sub { expecting(qr/not a hot tier page/, patch_at('chain page retired', mid_hot($H), $flags_at, 'v', 0x300)) } ],
	[ $Q, sub { expecting(qr/free stack/, patch_at('stacked page hot again', $Q->{stack}[0], $flags_at, 'v', 0x100)) } ],
	[ $H, sub { expecting(qr/not a hot tier page/, patch_at('chain page an element page', mid_hot($H), $flags_at, 'v', 0x2)) } ],
	[ $Q, sub { patch_at('chain page also a list page', mid_hot($Q), $flags_at, 'v', 0x108) } ],
	[ $Q, sub { expecting(qr/not a hot tier page/, patch_at('chain page with hnsw page id', last_hot($Q), $id_at, 'v', 0xFF91)) } ],
	# the TierPage header
	[ $H, sub { tierpage_damage($H, 'seq', mid_hot($H)) } ],
	[ $H, sub { tierpage_damage($H, 'item_size', $H->{chain}[0]) } ],
	[ $Q, sub { tierpage_damage($Q, 'item_size', $Q->{stack}[0]) } ],
	# the free stack: a loop, a hot page, the tail, a cold page
	[ $H, sub { expecting(qr/free stack/, patch_at('free_next loops', $H->{stack}[-1], $free_next_at, 'V', $H->{stack}[0])) } ],
	[ $Q, sub { expecting(qr/free stack/, patch_at('free_next to the tail', $Q->{stack}[0], $free_next_at, 'V', last_hot($Q))) } ],
	# (the stack's top, reused by an INSERT of two pages, is the tail
	# when the INSERT takes the next page)
	[ $Q, sub { inserting(240, expecting(qr/free stack/, patch_at('free_next loops on the top', $Q->{stack}[0], $free_next_at, 'V', $Q->{stack}[0]))) } ],
	[ $H, sub { expecting(qr/free stack/, patch_at('free_next to a cold page', $H->{stack}[1], $free_next_at, 'V', pick(cold_pages($H)))) } ],
	# items
	[ $H, sub { tid_damage($H, [ $invalid_block, 1 ]) } ],
	[ $Q, sub { tid_damage($Q, [ 0, 0 ]) } ],
	[ $H, sub { tid_damage($H, [ $table{th}{blocks} + 1000, 1 ]) } ],
	[ $Q, sub { item_flags_damage($Q, 1) } ],
	[ $H, sub { item_flags_damage($H, 2) } ],
	[ $H, sub { item_flags_damage($H, 0x84) } ],
	[ $H, sub { float_damage($H, 0x7fc00000, 1) } ],
	[ $Q, sub { float_damage($Q, 0x7f800000, $dims) } ],
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
# SIGKILL those that ignore it (a loop without CHECK_FOR_INTERRUPTS, a
# buffer lock waited for forever).
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
my @slowest = (0, 'none');    # the slowest statement, its seconds and name
my ($meaningful, $detected) = (0, 0);
my @undetected;
my $log_offset = -s $node->logfile;
my @order = qw(check scan stats insert lookup merge vacuum lookup_after stats_after check_after);

my $n_rounds = @targeted + $n_random;
my @plan = (0 .. $n_rounds - 1);
@plan = grep { $_ < 2 || $only{$_} } @plan if %only;
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
	my ($idx, $t) = ($ix->{name}, $ix->{table});
	my $tb = $table{$t};
	my $what = "round $round: $idx: $damage->{what}";

	$node->stop('fast');
	my $changed = restore_and_damage($ix, $damage);
	$node->start;

	# the scan's query: a hot row of the damaged page (its vector as the
	# table holds it), or one of any chain page
	my $dpage = defined $damage->{page} ? $ix->{page}[ $damage->{page} ] : undef;
	my @near = $dpage && $dpage->{kind} eq 'hot' && @{ $dpage->{items} } ? @{ $dpage->{items} }
	  : map { $_->[1] } @{ $ix->{hot_items} };
	my $query_item = $damage->{item} // pick(@near);
	my $query = $tb->{vec_of}{ $query_item->{ctid} };
	# the rows to delete: a few anywhere, some hot ones of the damaged page
	my @ctids = sort keys %{ $tb->{id_of} };
	my @delete = map { $tb->{id_of}{ pick(@ctids) } } 1 .. 3;
	push @delete, map { $tb->{id_of}{ pick(@near)->{ctid} } // () } 1 .. 3;
	my $n_insert = rand() < 0.5 ? 1 : 120;
	$n_insert = $damage->{insert} if $damage->{insert};
	my $first_id = 100000 + 1000 * $round;
	my $last_id = $first_id + $n_insert - 1;
	my $insert = join(', ',
		map { "($_, '" . random_vector_text($dims) . "')" } $first_id .. $last_id);

	my %res;
	my $failures_before = @failures;
	my $run = sub {
		my ($name, $sql) = @_;
		my $t0 = time();
		$res{$name} = run_sql($sql, "$what: $name");
		my $took = time() - $t0;
		note sprintf('%s: %s took %.1f s', $what, $name, $took) if $took > 1;
		@slowest = ($took, "$what: $name") if $took > $slowest[0];
		$node->poll_query_until('postgres', 'SELECT true') if $res{$name}{state} eq 'crash';
		return $res{$name};
	};
	my $check_sql = qq{SELECT count(*), coalesce(string_agg(DISTINCT
		regexp_replace(problem, '[0-9]+', 'N', 'g'), ' | '), '') FROM vecdb_index_check('$idx')};
	$run->(check => $check_sql);
	$run->(scan => "SET enable_seqscan = off;\nSELECT id FROM $t ORDER BY v <-> '$query' LIMIT 10");
	$run->(stats => "SELECT * FROM vecdb_hot_tier('$idx')");
	$run->(insert => "INSERT INTO $t VALUES $insert");
	my $inserted = $res{insert}{state} eq 'ok';
	$run->(lookup => lookup_sql($ix, $first_id, $last_id, 0)) if $inserted;
	$run->(merge => "SELECT vecdb_merge('$idx')");
	$run->(vacuum => "DELETE FROM $t WHERE id IN (" . join(',', @delete) . ");\nVACUUM $t");
	$run->(lookup_after => lookup_sql($ix, $first_id, $last_id, 1)) if $inserted;
	$run->(stats_after => "SELECT * FROM vecdb_hot_tier('$idx')");
	$run->(check_after => "SELECT count(*) FROM vecdb_index_check('$idx')");

	for my $stmt (grep { $res{$_} } @order)
	{
		my $r = $res{$stmt};
		$tally{$stmt}{ $r->{state} }++;
		if ($r->{message})
		{
			(my $m = $r->{message}) =~ s{[0-9]+}{N}g;
			$sqlstates{"$stmt $r->{state} $m"}++;
		}
		next if is_clean_outcome($r);
		my $err = $r->{err};
		$err = substr($err, 0, 600) . '...' if length($err) > 600;
		push @failures, "$what: $stmt gave $r->{state}: $err";
	}
	# an INSERT that succeeded lost nothing: a look-up that works finds
	# every new row
	for my $stmt (qw(lookup lookup_after))
	{
		my $r = $res{$stmt} or next;
		push @failures, "$what: $stmt found $r->{out} of the $n_insert new rows"
		  if $r->{state} eq 'ok' && $r->{out} ne $n_insert;
	}

	$node->poll_query_until('postgres', 'SELECT true')
	  or push @failures, "$what: server does not answer";
	my $log = slurp_file($node->logfile, $log_offset);
	$log_offset += length $log;
	for my $line ($log =~
		/^.*(?:terminated by signal|was terminated by|exited with exit code|PANIC:|TRAP:|reinitializing).*$/mg)
	{
		next if $line =~ /PID (\d+)\) was terminated by signal 9/ && $killed_pid{$1};
		next if $line =~ /exited with exit code ([01])$/;    # a normal exit, a FATAL
		next if $line =~ /reinitializing/ && %killed_pid;    # after such a kill
		push @failures, "$what: server log: $line";
	}
	my $bystander = $node->safe_psql('postgres', $bystander_sql);
	push @failures, "$what: bystander table changed" if $bystander ne $bystander_before;

	# each failure also in the round's notes, beside the damage that caused
	# it (the summary below comes after every round's output)
	note "FAILED: $_" for @failures[ $failures_before .. $#failures ];
	my $check = $res{check};
	my ($problems, $kinds) = $check->{state} eq 'ok' ? split(/\|/, $check->{out}, 2) : (undef, '');
	$kinds //= '';
	my $saw = $check->{state} ne 'ok' ? "ERROR $check->{state} " . ($check->{message} // '')
	  : $problems > 0 ? "$problems problems: $kinds" : 'no problem';
	note "$what: "
	  . ($changed ? '' : '(no byte changed) ')
	  . "check: $saw; "
	  . join(', ', map { "$_ $res{$_}{state}" . ($res{$_}{state} eq 'ok' ? '' : " ($res{$_}{message})") }
		  grep { $_ ne 'check' && $res{$_} } @order);
	if ($changed && $damage->{meaningful} && $round >= @targeted)
	{
		$meaningful++;
		if ($check->{state} ne 'ok' || $problems > 0) { $detected++; }
		else { push @undetected, $what; }
	}
	if (!@{ $damage->{patches} })
	{
		is($check->{state} . '/' . ($problems // ''), 'ok/0', "$what: vecdb_index_check gives no row");
		is(join(',', map { $res{$_}{state} } grep { $res{$_} } @order),
			join(',', ('ok') x @order), "$what: every statement succeeds");
		is(scalar(split /\n/, $res{scan}{out}), 10, "$what: the scan returns 10 rows");
		is($res{check_after}{out}, '0', "$what: the check after it all gives no row");
	}
	elsif ($damage->{expect})
	{
		# (PostgreSQL's own page check may refuse the page first)
		ok(($check->{state} eq 'ok' ? $kinds : $check->{message} // '') =~ $damage->{expect},
			"$what: vecdb_index_check reports it")
		  or diag("check gave: $saw");
	}
	elsif ($round < @targeted && $damage->{meaningful})
	{
		ok($check->{state} ne 'ok' || $problems > 0, "$what: vecdb_index_check reports a problem")
		  or diag("check gave: $saw");
	}
}

is_deeply(\@failures, [], 'every statement succeeded or raised a clean ERROR; no crash, no hang, no lost insert')
  or diag(join("\n", @failures));
for my $stmt (grep { $tally{$_} } @order)
{
	note "$stmt: " . join(', ', map { "$_ x$tally{$stmt}{$_}" } sort keys %{ $tally{$stmt} });
}
note "ERROR $_ x$sqlstates{$_}" for sort keys %sqlstates;
note sprintf('the slowest statement took %.2f s: %s', @slowest);
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
note sprintf('took %.1f s', $elapsed);

$node->stop;
done_testing();
