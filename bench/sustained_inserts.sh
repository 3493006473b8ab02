#!/bin/bash
# bench/sustained_inserts.sh: a steady stream of single-row INSERTs, with
# pgbench, into a table without an index, with an hnsw and with an ivfpq
# index, each streaming (the hot tier) and with streaming = off. It shows
# what bench/run's INSERT measurements do not: once the hot tier reaches
# vecdb.hot_tier_max_rows, inserts go no faster than the merge.
#
#   PGHOST=... PGPORT=... bench/sustained_inserts.sh [SECONDS] [CLIENTS...]
#
# against a running server (preload vecdb to have the merge worker), in
# the database PGDATABASE (default postgres), where it creates and drops
# tables si_*. Defaults: 20 s a run, 1 and 4 clients. The vectors are 100
# random dimensions; each table starts with 50,000 rows.
set -euo pipefail

seconds=${1:-20}
shift $(($# > 0 ? 1 : 0))
clients=("$@")
[ ${#clients[@]} -eq 0 ] && clients=(1 4)
psql_() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

setup()
{
	psql_ <<-'SQL'
		CREATE EXTENSION IF NOT EXISTS vecdb;
		DROP TABLE IF EXISTS si_src, si_none, si_hnsw, si_ivfpq;
		CREATE TABLE si_src (id int PRIMARY KEY, v vector(100));
		SELECT setseed(0.25);
		INSERT INTO si_src SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 100)
			WHERE i > 0)::real[]::vector FROM generate_series(1, 100000) i;
		CREATE TABLE si_none (v vector(100)) WITH (autovacuum_enabled = off);
		CREATE TABLE si_hnsw (v vector(100)) WITH (autovacuum_enabled = off);
		CREATE TABLE si_ivfpq (v vector(100)) WITH (autovacuum_enabled = off);
		INSERT INTO si_none SELECT v FROM si_src WHERE id <= 50000;
		INSERT INTO si_hnsw SELECT v FROM si_src WHERE id <= 50000;
		INSERT INTO si_ivfpq SELECT v FROM si_src WHERE id <= 50000;
		CREATE INDEX si_hnsw_v ON si_hnsw USING hnsw (v vector_l2_ops);
		CREATE INDEX si_ivfpq_v ON si_ivfpq USING ivfpq (v vector_l2_ops);
	SQL
}

# rows/s of single-row INSERTs into table $1 by $2 clients
rate()
{
	printf '\\set id random(1, 100000)\nINSERT INTO %s (v) SELECT v FROM si_src WHERE id = :id;\n' "$1" \
		>"$work/insert.sql"
	pgbench -n -c "$2" -j "$(($2 < 2 ? 1 : 2))" -T "$seconds" -f "$work/insert.sql" 2>&1 |
		sed -n 's/^tps = \([0-9]*\).*/\1/p'
}

setup
echo "preloaded: $(psql_ -c "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'vecdb merge launcher'")"
echo "vecdb.hot_tier_max_rows: $(psql_ -c 'SHOW vecdb.hot_tier_max_rows')"
echo
echo "| rows/s | $(printf 'clients: %s | ' "${clients[@]}")"
echo "| --- | $(printf -- '--- | %.0s' "${clients[@]}")"
for mode in on off; do
	psql_ -c "ALTER INDEX si_hnsw_v SET (streaming = $mode)" -c "ALTER INDEX si_ivfpq_v SET (streaming = $mode)" \
		-c "SELECT vecdb_merge('si_hnsw_v') + vecdb_merge('si_ivfpq_v')" >/dev/null
	for table in si_none si_hnsw si_ivfpq; do
		[ "$mode" = off ] && [ "$table" = si_none ] && continue
		row="| ${table#si_}$([ "$table" = si_none ] || echo ", streaming = $mode") |"
		for c in "${clients[@]}"; do
			row="$row $(rate "$table" "$c") |"
		done
		echo "$row"
	done
done
psql_ -c 'DROP TABLE si_src, si_none, si_hnsw, si_ivfpq'
