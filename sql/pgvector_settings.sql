-- pgvector's setting names: an application written for pgvector sets
-- hnsw.ef_search, hnsw.iterative_scan, hnsw.max_scan_tuples and
-- hnsw.scan_mem_multiplier; vecdb reads them as aliases of its own
-- (src/index/pgvector_names.h). Only relations are printed: how many
-- elements a search visits depends on the graph's random levels, but one
-- search of one graph always visits the same number.

CREATE TABLE aliased (id int PRIMARY KEY, v vector(8));
INSERT INTO aliased
	SELECT i, ARRAY(SELECT sin(i * 7 + j)::real FROM generate_series(1, 8) j)
	FROM generate_series(1, 2000) i;
CREATE INDEX aliased_hnsw ON aliased USING hnsw (v vector_l2_ops) WITH (streaming = off);
SET enable_seqscan = off;

-- the elements one statement's hnsw scans visit
CREATE FUNCTION visited_by(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	before bigint;
	after bigint;
BEGIN
	SELECT hnsw_visited INTO before FROM vecdb_backend_counters();
	EXECUTE query;
	SELECT hnsw_visited INTO after FROM vecdb_backend_counters();
	RETURN after - before;
END $$;
CREATE FUNCTION knn_visited() RETURNS bigint LANGUAGE sql AS $$
	SELECT visited_by('SELECT id FROM aliased ORDER BY v <-> ''[1,0,0,0,0,0,0,0]'' LIMIT 10')
$$;

-- vecdb's own name at 10 and 200, then pgvector's at the same values
SET vecdb.hnsw_ef_search = 10;
CREATE TABLE own AS SELECT knn_visited() AS narrow;
SET vecdb.hnsw_ef_search = 200;
ALTER TABLE own ADD wide bigint;
UPDATE own SET wide = knn_visited();
RESET vecdb.hnsw_ef_search;
SELECT narrow < wide AS wider_visits_more FROM own;
SET hnsw.ef_search = 10;
SELECT knn_visited() = narrow AS alias_10_is_own_10 FROM own;
SET hnsw.ef_search = 200;
SELECT knn_visited() = wide AS alias_200_is_own_200 FROM own;
SET hnsw.ef_search = '10';
SELECT knn_visited() = narrow AS quoted_value FROM own;

-- a pgvector name that is set wins over vecdb's own; RESET gives it back
SET hnsw.ef_search = 200;
SET vecdb.hnsw_ef_search = 10;
SELECT knn_visited() = wide AS pgvector_name_wins FROM own;
RESET hnsw.ef_search;
SELECT knn_visited() = narrow AS own_after_reset FROM own;
RESET vecdb.hnsw_ef_search;

-- SET LOCAL lasts its transaction; set_config() works as SET does
BEGIN;
SET LOCAL hnsw.ef_search = 200;
SELECT knn_visited() = wide AS set_local FROM own;
COMMIT;
SET vecdb.hnsw_ef_search = 10;
SELECT knn_visited() = narrow AS local_gone FROM own;
SELECT set_config('hnsw.ef_search', '200', false) IS NOT NULL AS set_config;
SELECT knn_visited() = wide AS through_set_config FROM own;
RESET hnsw.ef_search;
RESET vecdb.hnsw_ef_search;

-- ALTER DATABASE ... SET, as pgvector's documentation suggests, reaches
-- new sessions
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET hnsw.ef_search = 200;
\c
SET enable_seqscan = off;
SELECT knn_visited() = wide AS from_alter_database FROM own;
ALTER DATABASE :"db" RESET hnsw.ef_search;
\c
SET enable_seqscan = off;

-- iterative scans under pgvector's names: a filter that 1 row in 100
-- passes, ef_search 10
SET hnsw.ef_search = 10;
SELECT count(*) AS off_rows
FROM (SELECT id FROM aliased WHERE id % 100 = 0 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) AS relaxed_rows
FROM (SELECT id FROM aliased WHERE id % 100 = 0 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
SET hnsw.iterative_scan = STRICT_ORDER;
SELECT count(*) AS strict_rows, bool_and(d >= lag_d OR lag_d IS NULL) AS sorted
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS lag_d
	  FROM (SELECT row_number() OVER () AS n, v <-> '[1,0,0,0,0,0,0,0]' AS d
			FROM (SELECT v FROM aliased WHERE id % 100 = 0
				  ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s) t) u;
-- hnsw.max_scan_tuples bounds the iterative scan: the visited count
-- stops near it where the unbounded scan went far past
SELECT visited_by('SELECT id FROM aliased WHERE id % 100 = 0 ORDER BY v <-> ''[1,0,0,0,0,0,0,0]'' LIMIT 10') > 300
	AS unbounded_goes_far;
SET hnsw.max_scan_tuples = 50;
SELECT visited_by('SELECT id FROM aliased WHERE id % 100 = 0 ORDER BY v <-> ''[1,0,0,0,0,0,0,0]'' LIMIT 10') < 300
	AS bounded_stops;
RESET hnsw.max_scan_tuples;
SET hnsw.iterative_scan = off;
SET vecdb.hnsw_iterative_scan = relaxed_order;
SELECT count(*) AS off_wins_over_own_relaxed
FROM (SELECT id FROM aliased WHERE id % 100 = 0 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
RESET hnsw.iterative_scan;
RESET vecdb.hnsw_iterative_scan;
RESET hnsw.ef_search;

-- bad values: PostgreSQL's messages for SET of pgvector's settings, at
-- the first query that plans or scans a vecdb index, and nothing else
-- fails
SET hnsw.ef_search = 0;
SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
SELECT count(*) FROM aliased;
DO $$
BEGIN
	PERFORM id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
EXCEPTION WHEN invalid_parameter_value THEN
	RAISE NOTICE 'SQLSTATE %', SQLSTATE;
END $$;
SET hnsw.ef_search = 1001;
SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
SET hnsw.ef_search = 'forty';
EXPLAIN (COSTS OFF) SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
SET hnsw.ef_search = '1e10';
SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
SET hnsw.ef_search = 1000;
SELECT count(*) FROM (SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1) s;
RESET hnsw.ef_search;
SET hnsw.iterative_scan = 'on';
SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
RESET hnsw.iterative_scan;
SET hnsw.max_scan_tuples = 0;
SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
SET hnsw.max_scan_tuples = 2147483648;
SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
RESET hnsw.max_scan_tuples;
SET hnsw.scan_mem_multiplier = 0.5;
SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
SET hnsw.scan_mem_multiplier = 'NaN';
SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1;
SET hnsw.scan_mem_multiplier = 2.5;
SELECT count(*) FROM (SELECT id FROM aliased ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 1) s;
RESET hnsw.scan_mem_multiplier;

-- vecdb's own names stay reserved: a typo there is refused by SET
SET vecdb.hnsw_ef_serch = 10;

DROP TABLE aliased, own;
DROP FUNCTION knn_visited();
DROP FUNCTION visited_by(text);
