# 010_unlogged_indexes.pl: hnsw and ivfpq indexes of unlogged tables
# survive a crash and a standby's promotion (issue 10, item 4).
#
# An unlogged table's indexes are reset to their init forks after a crash
# and when a standby is promoted, so ambuildempty must WAL-log the init fork
# (pg/init_fork.h). The indexes are created after the last checkpoint and
# after the standby is up, so that their init forks reach the restarted
# primary and the standby only through WAL. Then, on the primary after
# `pg_ctl stop -m immediate` and a restart, and on the standby once it is
# promoted, for each of an hnsw and an ivfpq index:
#
#   - the table is empty (it was reset) and INSERT works (before the fix,
#     hnsw failed with 'index "u_hnsw_v" is not an hnsw index' after the
#     crash and with "could not read block 0" on the promoted standby);
#   - an ORDER BY ... LIMIT query, whose plan is checked to be the index's
#     scan, returns the rows just inserted;
#   - vecdb_index_check finds no problem.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my %index_of = (u_hnsw => 'u_hnsw_v', u_ivfpq => 'u_ivfpq_v');
my %method_of = (u_hnsw => 'hnsw', u_ivfpq => 'ivfpq');

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# Buffers enough that none of the init forks' is evicted (and so written)
# before the crash: the test must not pass by luck of eviction.
$primary->append_conf('postgresql.conf', "autovacuum = off\nshared_buffers = 32MB\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecdb');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# No checkpoint from here on until the crash: the init forks are only in
# shared buffers and in WAL.
for my $t (sort keys %index_of)
{
	$primary->safe_psql('postgres', qq{
CREATE UNLOGGED TABLE $t (id int, v vector(3));
INSERT INTO $t SELECT i, ARRAY[i, i % 7, 1]::real[]::vector FROM generate_series(1, 200) i;
CREATE INDEX $index_of{$t} ON $t USING $method_of{$t} (v vector_l2_ops);
});
}
$primary->wait_for_catchup($standby);

# INSERT 50 rows into each table, then the checks above, on $node.
sub check_usable
{
	my ($node, $when) = @_;
	for my $t (sort keys %index_of)
	{
		is($node->safe_psql('postgres', "SELECT count(*) FROM $t"),
			'0', "$when: $t was reset to empty");
		my ($ret, $out, $err) = $node->psql('postgres',
			"INSERT INTO $t SELECT i, ARRAY[i, i % 7, 1]::real[]::vector FROM generate_series(1, 50) i"
		);
		is($ret, 0, "$when: INSERT into $t works") or diag($err);

		my $query = "SELECT id FROM $t ORDER BY v <-> '[10, 3, 1]' LIMIT 5";
		my $settings = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
		like(
			$node->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) $query"),
			qr/Index Scan using $index_of{$t}/,
			"$when: $t is searched through its $method_of{$t} index");
		($ret, $out, $err) = $node->psql('postgres', "$settings SELECT count(*) FROM ($query) s");
		is($out, '5', "$when: the $method_of{$t} index scan of $t returns the rows")
		  or diag($err);
		is($node->safe_psql('postgres', "SELECT count(*) FROM vecdb_index_check('$index_of{$t}')"),
			'0', "$when: vecdb_index_check finds $index_of{$t} sound");
	}
}

# --- the primary, crashed and restarted
$primary->stop('immediate');
$primary->start;
check_usable($primary, 'after a crash');

# --- the standby, promoted: its unlogged tables reset to their init forks
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not leave recovery';
check_usable($standby, 'on the promoted standby');

$primary->stop;
$standby->stop;
done_testing();
