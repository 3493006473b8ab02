# VecdbTest.pm: helpers shared by vecdb's TAP tests.
package VecdbTest;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(random_float_bits pick random_vector_text field_patch patched_bytes
  restore_files damage_test_node psql_outcome is_clean_outcome random_bytes_patches
  random_u16_patch region_patch find_pgbench save_relation_files hnsw_replica_and_crash
  hnsw_damage_outcomes hnsw_top10 hnsw_lost hnsw_problems);

use File::Copy qw(copy);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $BLCKSZ = 8192;

# pgbench: on the PATH (test/run puts PostgreSQL's bin directory there), or
# in pg_config's bin directory.
sub find_pgbench
{
	for my $dir (split /:/, $ENV{PATH} // '')
	{
		return "$dir/pgbench" if $dir ne '' && -x "$dir/pgbench";
	}
	my $bindir = `pg_config --bindir`;
	chomp $bindir;
	return "$bindir/pgbench" if $bindir ne '' && -x "$bindir/pgbench";
	return '/usr/lib/postgresql/15/bin/pgbench';
}

# A random float4, as its 32 bits: half the time any finite bit pattern
# (denormals, -0, the extremes), half the time a modest value. Callers seed
# rand() themselves so that each test is reproducible.
sub random_float_bits
{
	if (rand() < 0.5)
	{
		while (1)
		{
			my $bits = int(rand(2**32));
			next if (($bits >> 23) & 0xff) == 0xff;    # NaN or Infinity
			return $bits;
		}
	}
	return unpack('N', pack('f>', (rand() - 0.5) * 10**(int(rand(9)) - 4)));
}

# ---------------------------------------------------------------------------
# For the tests that damage index files (007, 009). Their randomness is
# rand(), seeded by the caller; each helper draws in a fixed order, so that
# a seed replays the same damage.

sub pick { return $_[ int(rand(@_)) ]; }

# A random vector of dims elements in [-1, 1), as text.
sub random_vector_text
{
	my ($dims) = @_;
	return '[' . join(',', map { sprintf('%.5f', rand() * 2 - 1) } 1 .. $dims) . ']';
}

# A patch: [file offset, new bytes].
sub field_patch
{
	my ($at, $code, $value) = @_;
	return [ $at, pack($code, $value) ];
}

# The pristine bytes with the patches applied (those past the end dropped
# or cut short).
sub patched_bytes
{
	my ($bytes, $patches) = @_;
	for my $p (@$patches)
	{
		my ($at, $new) = @$p;
		next if $at < 0 || $at >= length $bytes;
		$new = substr($new, 0, length($bytes) - $at);
		substr($bytes, $at, length $new) = $new;
	}
	return $bytes;
}

# Put each relation fork under $data back as saved (%$saved by path and
# fork), removing a fork that was not there.
sub restore_files
{
	my ($data, $paths, $forks, $saved) = @_;
	for my $path (@$paths)
	{
		for my $fork (@$forks)
		{
			my $file = "$data/$path$fork";
			my $copy = $saved->{"$path$fork"};
			if (defined $copy) { copy($copy, $file) or die "restore $file: $!"; }
			elsif (-e $file)   { unlink $file or die "unlink $file: $!"; }
		}
	}
}

# A started node that survives its backends' crashes and leaves the
# damaged indexes to the test: no autovacuum.
sub damage_test_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
autovacuum = off
restart_after_crash = on
log_statement = none
});
	$node->start;
	return $node;
}

# Run a script; its outcome {state, message, out, err}: state is ok, an
# SQLSTATE, 'hang' (past timeout; on_hang, if given, is called and may add
# to err), 'crash', or what went wrong.
sub psql_outcome
{
	my ($node, $sql, %opt) = @_;
	my $timed_out = 0;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSET statement_timeout = '$opt{statement_timeout}s';\n$sql",
		timeout => $opt{timeout},
		timed_out => \$timed_out);
	my %r = (out => $out // '', err => $err // '');
	if ($timed_out)
	{
		$r{state} = 'hang';
		$r{err} .= $opt{on_hang}->() if $opt{on_hang};
	}
	elsif ($ret == 0) { $r{state} = 'ok'; }
	elsif ($r{err} =~ /server closed the connection|connection to server .*(lost|failed)|no connection to the server/)
	{
		$r{state} = 'crash';
	}
	elsif ($r{err} =~ /ERROR:\s+([0-9A-Z]{5}):\s*([^\n]*)/)
	{
		$r{state} = $1;
		$r{message} = $2;
	}
	else { $r{state} = "psql exit $ret"; }
	return \%r;
}

# SQLSTATEs that are not a clean ERROR: the statement ran out of time (a
# hang), or the server shut down or crashed under it.
my %not_clean = map { $_ => 1 } qw(57014 57P01 57P02 57P03 08000 08003 08006);

# Whether an outcome is a result or a clean ERROR.
sub is_clean_outcome
{
	my ($r) = @_;
	return $r->{state} eq 'ok' || ($r->{state} =~ /^[0-9A-Z]{5}$/ && !$not_clean{ $r->{state} });
}

# 1 to max_count single random bytes anywhere in the file.
sub random_bytes_patches
{
	my ($bytes, $max_count) = @_;
	my @patches;
	for (1 .. 1 + int(rand($max_count)))
	{
		push @patches, [ int(rand(length $bytes)), chr(int(rand(256))) ];
	}
	return @patches;
}

# Two bytes of block blk set to a telling value (0, 0xffff, random, one off
# what was there, the sign bit): (patch, file offset, value).
sub random_u16_patch
{
	my ($bytes, $blk) = @_;
	my $at = $blk * $BLCKSZ + 2 * int(rand($BLCKSZ / 2));
	my $orig = unpack('v', substr($bytes, $at, 2));
	my $value = pick(0, 0xffff, int(rand(65536)), ($orig + 1) & 0xffff, ($orig - 1) & 0xffff, 0x8000);
	return (field_patch($at, 'v', $value), $at, $value);
}

# A run of block blk overwritten with zeros, ones, random bytes or the same
# run of the block copy_block->() names: (patch, description).
sub region_patch
{
	my ($bytes, $blk, $copy_block) = @_;
	my $len = 16 + int(rand(1000));
	my $start = int(rand($BLCKSZ - 16));
	$len = $BLCKSZ - $start if $start + $len > $BLCKSZ;
	my $fill = pick('zeros', 'ones', 'random', 'copy');
	my $new =
	    $fill eq 'zeros' ? "\0" x $len
	  : $fill eq 'ones' ? "\xff" x $len
	  : $fill eq 'random' ? join('', map { chr(int(rand(256))) } 1 .. $len)
	  : substr($bytes, $copy_block->() * $BLCKSZ + $start, $len);
	return ([ $blk * $BLCKSZ + $start, $new ], "block $blk bytes $start..+$len $fill");
}

# Copies of the files of paths (relative to data, each with its forks that
# exist) in a new temporary directory, for restore_files.
sub save_relation_files
{
	my ($data, $paths, $forks) = @_;
	my $tmp = PostgreSQL::Test::Utils::tempdir;
	my %saved;
	for my $path (@$paths)
	{
		for my $fork (@$forks)
		{
			my $file = "$data/$path$fork";
			next unless -e $file;
			(my $name = "$path$fork") =~ s{/}{_}g;
			copy($file, "$tmp/$name") or die $!;
			$saved{"$path$fork"} = "$tmp/$name";
		}
	}
	return \%saved;
}

# The top-10 ids of every query of table queries (qid, q) in items (id, v)
# by <->, index scans forced, one line per query.
sub hnsw_top10
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET vecdb.hnsw_ef_search = 100;
		SELECT qid, ARRAY(SELECT id FROM items ORDER BY v <-> q LIMIT 10)
		FROM queries ORDER BY qid});
}

# Rows of items with id > after that a search for their own vector misses.
sub hnsw_lost
{
	my ($node, $after) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SELECT count(*) FROM items t WHERE t.id > $after
		  AND (SELECT u.v <-> t.v FROM items u ORDER BY u.v <-> t.v LIMIT 1) <> 0});
}

# vecdb_index_check('items_v')'s problems on one line; '' when sound.
sub hnsw_problems
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{SELECT string_agg(format('%s %s %s', blkno, offnum, problem), '; ')
		FROM vecdb_index_check('items_v')});
}

# An hnsw index items_v on a replica and through a crash (tests 038, 039):
#
#   1. A primary and a streaming replica; the index (opt index_sql) built
#      after the replica is up, so that it gets the index only through
#      WAL; then a batch of inserts and a VACUUM (which links what their
#      pruning orphaned), DELETE, VACUUM and inserts that reuse the freed
#      slots: the replica answers the same top-10 lists as the primary for
#      the queries (index scans forced), finds the new rows by their own
#      vectors, and vecdb_index_check is clean on both.
#   2. More inserts and a VACUUM, then an immediate stop of the primary
#      and a restart: recovery leaves the index sound and answering as it
#      did.
#
# opt: vector_sql (a sub: SQL for a random vector, given a column to
# correlate with), dims, rows (the table's, before the index), batches
# ([inserts, reuse inserts, inserts before the crash]), queries, seed,
# after_inserts (a sub given the primary after the first batch, optional).
sub hnsw_replica_and_crash
{
	my (%opt) = @_;
	my ($vector_sql, $rows) = ($opt{vector_sql}, $opt{rows});
	my ($first, $reuse, $last) = @{ $opt{batches} };
	my $insert = sub {
		my ($node, $from, $count, $tail, $head) = @_;
		$node->safe_psql('postgres', ($head // '') . 'INSERT INTO items SELECT i, ' . $vector_sql->('i')
			  . ' FROM generate_series(' . $from . ', ' . ($from + $count - 1) . ') i' . ($tail // ''));
	};

	my $primary = PostgreSQL::Test::Cluster->new('primary');
	$primary->init(allows_streaming => 1);
	$primary->append_conf('postgresql.conf', 'autovacuum = off');
	$primary->start;
	$primary->safe_psql('postgres', 'CREATE EXTENSION vecdb');
	$primary->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($opt{dims}) NOT NULL)");
	$primary->safe_psql('postgres', "CREATE TABLE queries (qid int PRIMARY KEY, q vector($opt{dims}) NOT NULL)");
	$insert->($primary, 1, $rows, undef, "SELECT setseed($opt{seed}); ");
	$primary->safe_psql('postgres', 'INSERT INTO queries SELECT q, '
		  . $vector_sql->('q') . " FROM generate_series(1, $opt{queries}) q");

	$primary->backup('base');
	my $replica = PostgreSQL::Test::Cluster->new('replica');
	$replica->init_from_backup($primary, 'base', has_streaming => 1);
	$replica->start;
	$primary->wait_for_catchup($replica);

	$primary->safe_psql('postgres', $opt{index_sql});
	$primary->wait_for_catchup($replica);
	like(
		$replica->safe_psql('postgres', q{SET enable_seqscan = off;
			EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> (SELECT q FROM queries LIMIT 1) LIMIT 10}),
		qr/Index Scan using items_v/,
		'the replica scans the index it got through WAL');
	is(hnsw_top10($replica), hnsw_top10($primary), 'after the build, the replica answers as the primary');
	is(hnsw_problems($replica), '', 'the replica\'s index is sound after the build');

	$insert->($primary, $rows + 1, $first);
	$opt{after_inserts}->($primary) if $opt{after_inserts};
	$primary->safe_psql('postgres', 'VACUUM items');
	$primary->wait_for_catchup($replica);
	is(hnsw_top10($replica), hnsw_top10($primary), 'after inserts, the replica answers as the primary');
	is(hnsw_lost($replica, $rows), '0', 'the replica finds the inserted rows by their own vectors');
	is(hnsw_problems($primary), '', 'the primary\'s index is sound after inserts');
	is(hnsw_problems($replica), '', 'the replica\'s index is sound after inserts');

	my $next = $rows + $first;
	$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 4 = 0; VACUUM items');
	$insert->($primary, $next + 1, $reuse);
	$primary->safe_psql('postgres', 'VACUUM items');
	$primary->wait_for_catchup($replica);
	is(hnsw_top10($replica), hnsw_top10($primary), 'after VACUUM and reuse, the replica answers as the primary');
	is(hnsw_lost($replica, $next), '0', 'the replica finds the rows that reused freed slots');
	is(hnsw_problems($replica), '', 'the replica\'s index is sound after reuse');
	$replica->stop;

	$next += $reuse;
	$primary->safe_psql('postgres', 'CHECKPOINT');
	$insert->($primary, $next + 1, $last, '; VACUUM items');
	my $before_crash = hnsw_top10($primary);
	$primary->stop('immediate');
	$primary->start;
	is(hnsw_problems($primary), '', 'after an immediate stop, the index is sound');
	is(hnsw_top10($primary), $before_crash, 'after an immediate stop, the index answers as before');
	is(hnsw_lost($primary, $next), '0', 'rows inserted before the stop are found after it');
	$primary->stop;
}

# One damage of items_v (tests 038, 039): the pristine index file with the
# patches applied, the server started, then vecdb_index_check, a scan
# reaching every element by <-> from query, INSERT and VACUUM (vector_sql
# as for hnsw_replica_and_crash), each an outcome of psql_outcome; the
# server is stopped again. {check, scan, insert, vacuum, alive}.
sub hnsw_damage_outcomes
{
	my (%opt) = @_;
	my ($node, $data) = ($opt{node}, $opt{node}->data_dir);
	restore_files($data, $opt{paths}, $opt{forks}, $opt{saved});
	open my $fh, '+<', "$data/$opt{index_path}" or die $!;
	binmode $fh;
	print $fh patched_bytes($opt{pristine}, $opt{patches});
	close $fh;
	$node->start;
	my %limits = (timeout => 120, statement_timeout => 100);
	my %r;
	$r{check} = psql_outcome($node, q{SELECT count(*) FROM vecdb_index_check('items_v')}, %limits);
	$r{scan} = psql_outcome($node, qq{SET enable_seqscan = off; SET vecdb.hnsw_ef_search = 1000;
		SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> $opt{query} LIMIT 1000) s}, %limits);
	$r{insert} = psql_outcome($node, 'INSERT INTO items SELECT i, ' . $opt{vector_sql}->('i')
		  . ' FROM generate_series(1001, 1010) i', %limits);
	$r{vacuum} = psql_outcome($node, 'DELETE FROM items WHERE id % 7 = 0; VACUUM items', %limits);
	$r{alive} = $node->safe_psql('postgres', 'SELECT 1');
	$node->stop('fast');
	return \%r;
}

1;
