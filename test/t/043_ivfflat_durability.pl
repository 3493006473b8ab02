# 043_ivfflat_durability.pl: 008's restarts, crash recovery, pg_dump /
# pg_restore and streaming replica, for ivfflat indexes (issue 13): the
# same file, run with the access method set to ivfflat.
use strict;
use warnings;

# loaded here, at compile time, so that their INIT blocks run (the
# cluster module picks its first port there)
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;

our $am = 'ivfflat';
my $file = "$FindBin::RealBin/008_ivfpq_durability.pl";
unless (my $done = do $file)
{
	die "cannot run $file: $@" if $@;
}
