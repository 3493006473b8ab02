# 025_check_privileges.pl: a role that may not check an index cannot use
# vecdb_index_check() or the ivfpq reports to lock its table.
#
# The owner holds ACCESS EXCLUSIVE on the table in an open transaction; a
# stranger, with lock_timeout set, calls each function. The privilege check
# comes before any lock, so the stranger gets "must be owner" or
# "permission denied" at once, never a lock timeout; and the owner's own
# check, in the same situation, does wait (its lock timeout shows the test
# would notice a lock being taken).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('privileges');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION vecdb;
	CREATE ROLE owner_role LOGIN;
	CREATE ROLE stranger LOGIN;
	GRANT CREATE ON SCHEMA public TO owner_role;
	SET ROLE owner_role;
	CREATE TABLE items (id int, v vector(4));
	INSERT INTO items SELECT i, ARRAY[i, 1, 2, 3]::vector FROM generate_series(1, 100) i;
	CREATE INDEX items_hnsw ON items USING hnsw (v);
	CREATE INDEX items_ivfpq ON items USING ivfpq (v) WITH (lists = 2, m = 2);
});

my $holder = $node->background_psql('postgres', on_error_stop => 1);
$holder->query_safe(q{SET ROLE owner_role; BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE;});

my @calls = (
	[ q{SELECT count(*) FROM vecdb_index_check('items_hnsw')}, qr/must be owner of table items/ ],
	[ q{SELECT count(*) FROM vecdb_index_check('items_ivfpq')}, qr/must be owner of table items/ ],
	[ q{SELECT lists FROM vecdb_ivfpq_info('items_ivfpq')}, qr/permission denied for table items/ ],
	[ q{SELECT count(*) FROM vecdb_ivfpq_lists('items_ivfpq')}, qr/permission denied for table items/ ],
);
for my $call (@calls)
{
	my ($sql, $expected) = @$call;
	my ($rc, $out, $err) = $node->psql('postgres', "SET lock_timeout = '3s'; $sql",
		extra_params => [ '-U', 'stranger' ]);
	isnt($rc, 0, "stranger: $sql fails");
	like($err, $expected, "stranger: $sql is refused before any lock");
	unlike($err, qr/lock timeout/, "stranger: $sql never waited for the lock");
}

# The owner's call does take the lock, so it times out behind the holder.
my ($rc, $out, $err) = $node->psql('postgres',
	q{SET lock_timeout = '1s'; SELECT count(*) FROM vecdb_index_check('items_hnsw')},
	extra_params => [ '-U', 'owner_role' ]);
like($err, qr/lock timeout/, 'the owner\'s check waits for the lock, as it should');

$holder->query_safe('COMMIT');
$holder->quit;

is($node->safe_psql('postgres', q{SELECT count(*) FROM vecdb_index_check('items_hnsw')},
	extra_params => [ '-U', 'owner_role' ]), '0', 'once the lock is gone, the owner checks clean');

$node->stop;
done_testing();
