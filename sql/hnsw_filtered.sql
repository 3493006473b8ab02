-- hnsw index with a WHERE filter: vecdb.hnsw_iterative_scan off (at most
-- ef_search rows come out of the index, so a selective filter can leave fewer
-- than LIMIT), relaxed_order and strict_order (the scan goes on until LIMIT
-- is met), and vecdb.hnsw_max_scan_tuples bounding it. Only counts and
-- booleans are printed: the graph depends on random level draws.

SELECT setseed(0.75);
-- 10,000 rows in 100 categories of 100 rows each
CREATE TABLE hnsw_cat (id int PRIMARY KEY, category int, v vector(16));
INSERT INTO hnsw_cat
	SELECT i, i % 100, ARRAY(SELECT random()::real - 0.5 FROM generate_series(1, 16) WHERE i > 0)
	FROM generate_series(1, 10000) i;
CREATE TABLE hnsw_cat_q (qid int PRIMARY KEY, q vector(16));
INSERT INTO hnsw_cat_q
	SELECT i, ARRAY(SELECT random()::real - 0.5 FROM generate_series(1, 16) WHERE i > 0)
	FROM generate_series(1, 20) i;
CREATE INDEX hnsw_cat_l2 ON hnsw_cat USING hnsw (v vector_l2_ops);
CREATE INDEX hnsw_cat_cos ON hnsw_cat USING hnsw (v vector_cosine_ops);
ANALYZE hnsw_cat;

-- The 10 ids of category cat nearest to q by op, in the order returned: from
-- the index (the plan must be an index scan), or exact.
CREATE FUNCTION hnsw_cat_knn(op text, cat int, q vector, use_index bool) RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT id FROM hnsw_cat WHERE category = %s ORDER BY v %s %L::vector LIMIT 10',
		cat, op, q);
	line text;
	plan text := '';
	ids int[];
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN use_index THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN use_index THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		plan := plan || line || E'\n';
	END LOOP;
	IF (plan LIKE '%Index Scan using%') <> use_index THEN
		RAISE EXCEPTION 'unexpected plan for %: %', query, plan;
	END IF;
	EXECUTE format('SELECT array_agg(id) FROM (%s) s', query) INTO ids;
	RETURN coalesce(ids, '{}');
END $$;

-- How many rows the index scan of query passed to its filter, from EXPLAIN ANALYZE.
CREATE FUNCTION hnsw_scanned(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	line text;
	n int := 0;
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
		IF line ~ 'Index Scan using' THEN
			n := n + substring(line FROM 'rows=(\d+)')::int;
		ELSIF line ~ 'Rows Removed by Filter' THEN
			n := n + substring(line FROM 'Rows Removed by Filter: (\d+)')::int;
		END IF;
	END LOOP;
	RETURN n;
END $$;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_cat WHERE category = 3
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10;

-- iterative scan off: at most ef_search (40) rows leave the index, so the
-- filter keeps only a few of them
SHOW vecdb.hnsw_iterative_scan;
SELECT bool_and(cardinality(hnsw_cat_knn('<->', 3, q, true)) <= 10) AS at_most_10,
	bool_and(cardinality(hnsw_cat_knn('<->', 3, q, true)) < 10) AS fewer_than_10
	FROM hnsw_cat_q;
SELECT hnsw_scanned($$SELECT id FROM hnsw_cat WHERE category = 3
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) <= 40 AS at_most_ef_search;
SET vecdb.hnsw_ef_search = 10;
SELECT hnsw_scanned($$SELECT id FROM hnsw_cat WHERE category = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) <= 10 AS at_most_ef_search;
RESET vecdb.hnsw_ef_search;

-- relaxed_order: always 10 rows, all of category 3, close to the exact answer
SET vecdb.hnsw_iterative_scan = relaxed_order;
SELECT bool_and(cardinality(a) = 10) AS ten_rows,
	bool_and((SELECT bool_and(category = 3) FROM hnsw_cat WHERE id = ANY (a))) AS category_3,
	avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM hnsw_cat_q, LATERAL (SELECT hnsw_cat_knn('<->', 3, q, true) AS a,
		hnsw_cat_knn('<->', 3, q, false) AS e) s;

-- strict_order: the same, and in exact distance order
SET vecdb.hnsw_iterative_scan = strict_order;
SELECT bool_and(cardinality(a) = 10) AS ten_rows,
	bool_and((SELECT bool_and(category = 3) FROM hnsw_cat WHERE id = ANY (a))) AS category_3,
	avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM hnsw_cat_q, LATERAL (SELECT hnsw_cat_knn('<->', 3, q, true) AS a,
		hnsw_cat_knn('<->', 3, q, false) AS e) s;
SELECT count(*) AS n, bool_and(category = 3) AS category_3,
	bool_and(d >= prev_d) AS non_decreasing
	FROM (SELECT category, d, lag(d) OVER () AS prev_d FROM (
		SELECT category, v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' AS d FROM hnsw_cat
		WHERE category = 3 ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s) w;
-- over every query vector, for L2 and cosine
SELECT bool_and(n = 10) AS ten_rows, bool_and(ordered) AS non_decreasing FROM (
	SELECT count(*) AS n, coalesce(bool_and(d >= prev_d), true) AS ordered
	FROM hnsw_cat_q, LATERAL (SELECT d, lag(d) OVER () AS prev_d FROM (
		SELECT v <-> q AS d FROM hnsw_cat WHERE category = 3 ORDER BY v <-> q LIMIT 10) s) w
	GROUP BY qid) x;
SELECT bool_and(n = 10) AS ten_rows, bool_and(ordered) AS non_decreasing FROM (
	SELECT count(*) AS n, coalesce(bool_and(d >= prev_d), true) AS ordered
	FROM hnsw_cat_q, LATERAL (SELECT d, lag(d) OVER () AS prev_d FROM (
		SELECT v <=> q AS d FROM hnsw_cat WHERE category = 3 ORDER BY v <=> q LIMIT 10) s) w
	GROUP BY qid) x;
EXPLAIN (COSTS OFF) SELECT v <=> q AS d FROM hnsw_cat_q,
	LATERAL (SELECT v FROM hnsw_cat WHERE category = 3 ORDER BY v <=> q LIMIT 10) s;
SELECT avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM hnsw_cat_q, LATERAL (SELECT hnsw_cat_knn('<=>', 3, q, true) AS a,
		hnsw_cat_knn('<=>', 3, q, false) AS e) s;
-- strict_order drops rows that a later batch finds closer than rows already
-- returned (to keep the order), so it may miss some; relaxed_order does not.
-- A category of just 7 rows: relaxed_order finds them all
SET vecdb.hnsw_iterative_scan = relaxed_order;
UPDATE hnsw_cat SET category = 100 WHERE id IN (5, 1234, 2500, 3001, 4444, 7777, 9999);
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM hnsw_cat WHERE category = 100
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
-- no row matches: the scan visits the whole graph and ends, empty
SELECT count(*) FROM (SELECT id FROM hnsw_cat WHERE category = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
SELECT hnsw_scanned($$SELECT id FROM hnsw_cat WHERE category = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) AS scanned;
SET vecdb.hnsw_iterative_scan = strict_order;
SELECT count(*) FROM (SELECT id FROM hnsw_cat WHERE category = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;

-- hnsw_max_scan_tuples bounds the work: with 50 the scan stops early, and
-- may return fewer than 10 rows
SET vecdb.hnsw_max_scan_tuples = 50;
SELECT bool_and(cardinality(hnsw_cat_knn('<->', 3, q, true)) <= 10) AS at_most_10 FROM hnsw_cat_q;
SELECT count(*) FROM (SELECT id FROM hnsw_cat WHERE category = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
SELECT hnsw_scanned($$SELECT id FROM hnsw_cat WHERE category = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) < 500 AS bounded;
SET vecdb.hnsw_iterative_scan = relaxed_order;
SELECT hnsw_scanned($$SELECT id FROM hnsw_cat WHERE category = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) < 500 AS bounded;
RESET vecdb.hnsw_max_scan_tuples;

-- a filter that keeps most rows: plain LIMIT semantics
SET vecdb.hnsw_iterative_scan = strict_order;
SELECT count(*) FROM (SELECT id FROM hnsw_cat WHERE category <> 3
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 100) s;

RESET vecdb.hnsw_iterative_scan;
RESET enable_seqscan;
DROP TABLE hnsw_cat, hnsw_cat_q;
DROP FUNCTION hnsw_cat_knn, hnsw_scanned;
