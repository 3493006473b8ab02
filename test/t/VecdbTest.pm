# VecdbTest.pm: helpers shared by vecdb's TAP tests.
package VecdbTest;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(random_float_bits pick random_vector_text field_patch patched_bytes
  restore_files damage_test_node psql_outcome is_clean_outcome random_bytes_patches
  random_u16_patch region_patch find_pgbench);

use File::Copy qw(copy);
use PostgreSQL::Test::Cluster;

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

1;
