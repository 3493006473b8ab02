-- ivfpq index with a WHERE filter: vecdb.ivfpq_iterative_scan off (only the
-- vecdb.ivfpq_probes nearest lists are searched, so a selective filter
-- leaves fewer rows than LIMIT), relaxed_order and strict_order (the scan
-- goes on to further lists until LIMIT rows pass the filter; strict_order
-- in exact distance order), and vecdb.ivfpq_max_probes bounding it. Only
-- counts and booleans are printed.

SELECT setseed(0.625);
-- 10,000 rows in 19 clusters (i % 19): a centre uniform in [-1, 1)^16 plus
-- uniform noise of width 0.3. "rare" has 500 values of 20 rows each (0.2%),
-- "common" 50 values of 200 rows each (2%), both independent of the cluster.
CREATE TABLE ivfpq_cat_centres (c int PRIMARY KEY, a float8[]);
INSERT INTO ivfpq_cat_centres
	SELECT c, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 16) WHERE c >= 0)
	FROM generate_series(0, 18) c;
CREATE TABLE ivfpq_cat (id int PRIMARY KEY, rare int, common int, v vector(16));
INSERT INTO ivfpq_cat
	SELECT i, i % 500, i % 50, ARRAY(SELECT ctr[d] + 0.3 * (random() - 0.5) FROM generate_series(1, 16) d)::vector
	FROM (SELECT i, (SELECT a FROM ivfpq_cat_centres WHERE c = i % 19) AS ctr
		FROM generate_series(1, 10000) i) s;
-- 20 query vectors drawn the same way
CREATE TABLE ivfpq_cat_q (qid int PRIMARY KEY, q vector(16));
INSERT INTO ivfpq_cat_q
	SELECT qid, ARRAY(SELECT ctr[d] + 0.3 * (random() - 0.5) FROM generate_series(1, 16) d)::vector
	FROM (SELECT qid, (SELECT a FROM ivfpq_cat_centres WHERE c = qid % 19) AS ctr
		FROM generate_series(1, 20) qid) s;
CREATE INDEX ivfpq_cat_l2 ON ivfpq_cat USING ivfpq (v vector_l2_ops) WITH (lists = 100, m = 4);
CREATE INDEX ivfpq_cat_cos ON ivfpq_cat USING ivfpq (v vector_cosine_ops) WITH (lists = 100, m = 4);
ANALYZE ivfpq_cat;
SELECT lists, entries FROM vecdb_ivfpq_info('ivfpq_cat_l2');

-- The ids of the 10 rows with col = val nearest to q by op, in the order
-- returned: from the index (the plan must be an ivfpq index scan), or exact.
CREATE FUNCTION ivfpq_cat_knn(op text, col text, val int, q vector, use_index bool) RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT id FROM ivfpq_cat WHERE %I = %s ORDER BY v %s %L::vector LIMIT 10',
		col, val, op, q);
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
	IF (plan LIKE '%Index Scan using ivfpq_cat_%') <> use_index THEN
		RAISE EXCEPTION 'unexpected plan for %: %', query, plan;
	END IF;
	EXECUTE format('SELECT array_agg(id) FROM (%s) s', query) INTO ids;
	RETURN coalesce(ids, '{}');
END $$;

-- How many rows the index scan of query passed to its filter, from EXPLAIN ANALYZE.
CREATE FUNCTION ivfpq_scanned(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	line text;
	n int := 0;
	seen bool := false;
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
		IF line ~ 'Index Scan using ivfpq_cat_' THEN
			n := n + substring(line FROM 'rows=(\d+)')::int;
			seen := true;
		ELSIF line ~ 'Rows Removed by Filter' THEN
			n := n + substring(line FROM 'Rows Removed by Filter: (\d+)')::int;
		END IF;
	END LOOP;
	IF NOT seen THEN
		RAISE EXCEPTION 'no ivfpq index scan in the plan of %', query;
	END IF;
	RETURN n;
END $$;

-- The entries of the n largest lists of the l2 index: an upper bound on
-- what a scan that searches n lists can return.
CREATE FUNCTION ivfpq_largest(n int) RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(entries)::bigint FROM (SELECT entries FROM vecdb_ivfpq_lists('ivfpq_cat_l2')
		ORDER BY entries DESC LIMIT n) s
$$;

\set q '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]'
-- on 10,000 rows the planner takes the index by itself for ORDER BY ... LIMIT
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_cat ORDER BY v <-> :'q' LIMIT 10;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_cat WHERE rare = 3 ORDER BY v <-> :'q' LIMIT 10;

-- iterative scan off: only the 10 nearest of the 100 lists are searched
-- (about 1,000 rows, two clusters), so of the 20 rows of a rare value only
-- a few pass
SHOW vecdb.ivfpq_iterative_scan;
SELECT bool_and(cardinality(a) < 10) AS fewer_than_10,
	bool_and(coalesce((SELECT bool_and(rare = 7) FROM ivfpq_cat WHERE id = ANY (a)), true)) AS rare_7
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<->', 'rare', 7, q, true) AS a) s;
SELECT ivfpq_scanned($$SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) <= ivfpq_largest(10) AS at_most_10_lists;
SET vecdb.ivfpq_probes = 3;
SELECT ivfpq_scanned($$SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) <= ivfpq_largest(3) AS at_most_3_lists;
RESET vecdb.ivfpq_probes;

-- relaxed_order: always 10 rows, all of the value asked for; close to the
-- exact answer for a common value (whose 10 nearest rows are in the query's
-- cluster)
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SELECT bool_and(cardinality(a) = 10) AS ten_rows,
	bool_and((SELECT count(DISTINCT id) = 10 AND bool_and(rare = 7) FROM ivfpq_cat WHERE id = ANY (a))) AS rare_7,
	avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<->', 'rare', 7, q, true) AS a,
		ivfpq_cat_knn('<->', 'rare', 7, q, false) AS e) s;
SELECT bool_and(cardinality(a) = 10) AS ten_rows,
	bool_and((SELECT bool_and(common = 3) FROM ivfpq_cat WHERE id = ANY (a))) AS common_3,
	avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<->', 'common', 3, q, true) AS a,
		ivfpq_cat_knn('<->', 'common', 3, q, false) AS e) s;
SELECT bool_and(cardinality(a) = 10) AS ten_rows,
	bool_and((SELECT bool_and(rare = 7) FROM ivfpq_cat WHERE id = ANY (a))) AS rare_7,
	avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<=>', 'rare', 7, q, true) AS a,
		ivfpq_cat_knn('<=>', 'rare', 7, q, false) AS e) s;

-- strict_order: the same, and in exact distance order
SET vecdb.ivfpq_iterative_scan = strict_order;
SELECT bool_and(cardinality(a) = 10) AS ten_rows,
	bool_and((SELECT count(DISTINCT id) = 10 AND bool_and(rare = 7) FROM ivfpq_cat WHERE id = ANY (a))) AS rare_7,
	avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<->', 'rare', 7, q, true) AS a,
		ivfpq_cat_knn('<->', 'rare', 7, q, false) AS e) s;
SELECT bool_and(cardinality(a) = 10) AS ten_rows,
	bool_and((SELECT bool_and(common = 3) FROM ivfpq_cat WHERE id = ANY (a))) AS common_3,
	avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<->', 'common', 3, q, true) AS a,
		ivfpq_cat_knn('<->', 'common', 3, q, false) AS e) s;
SELECT avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10 >= 0.9 AS recall
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<=>', 'common', 3, q, true) AS a,
		ivfpq_cat_knn('<=>', 'common', 3, q, false) AS e) s;
-- over every query vector, for L2 and cosine, rare and common values: 10
-- rows in non-decreasing distance
SELECT bool_and(n = 10) AS ten_rows, bool_and(ordered) AS non_decreasing FROM (
	SELECT count(*) AS n, coalesce(bool_and(d >= prev_d), true) AS ordered
	FROM ivfpq_cat_q, LATERAL (SELECT d, lag(d) OVER () AS prev_d FROM (
		SELECT v <-> q AS d FROM ivfpq_cat WHERE rare = 7 ORDER BY v <-> q LIMIT 10) s) w
	GROUP BY qid) x;
SELECT bool_and(n = 10) AS ten_rows, bool_and(ordered) AS non_decreasing FROM (
	SELECT count(*) AS n, coalesce(bool_and(d >= prev_d), true) AS ordered
	FROM ivfpq_cat_q, LATERAL (SELECT d, lag(d) OVER () AS prev_d FROM (
		SELECT v <=> q AS d FROM ivfpq_cat WHERE rare = 7 ORDER BY v <=> q LIMIT 10) s) w
	GROUP BY qid) x;
SELECT bool_and(n = 10) AS ten_rows, bool_and(ordered) AS non_decreasing FROM (
	SELECT count(*) AS n, coalesce(bool_and(d >= prev_d), true) AS ordered
	FROM ivfpq_cat_q, LATERAL (SELECT d, lag(d) OVER () AS prev_d FROM (
		SELECT v <-> q AS d FROM ivfpq_cat WHERE common = 3 ORDER BY v <-> q LIMIT 10) s) w
	GROUP BY qid) x;
EXPLAIN (COSTS OFF) SELECT v <-> q AS d FROM ivfpq_cat_q,
	LATERAL (SELECT v FROM ivfpq_cat WHERE rare = 7 ORDER BY v <-> q LIMIT 10) s;
-- a single row matches: it is found (strict_order, then relaxed_order)
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_cat WHERE id + 0 = 12
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10;
SELECT count(*) AS n, bool_and(id = 12) AS id_12 FROM (SELECT id FROM ivfpq_cat WHERE id + 0 = 12
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
SELECT count(*) AS n, bool_and(id = 12) AS id_12 FROM (SELECT id FROM ivfpq_cat WHERE id + 0 = 12
	ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SELECT count(*) AS n, bool_and(id = 12) AS id_12 FROM (SELECT id FROM ivfpq_cat WHERE id + 0 = 12
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;

-- no row matches: a relaxed_order scan goes through every list and ends,
-- empty, having returned every one of the 10,000 rows to the filter once
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
SELECT ivfpq_scanned($$SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) AS scanned;
SELECT ivfpq_scanned($$SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) AS scanned;
-- and with no filter, it returns every row once
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM ivfpq_cat
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 20000) s;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM ivfpq_cat
	ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 20000) s;
-- strict_order ends empty too; with no filter it returns nearly every row
-- (one that a later list or candidate holds nearer than a row already
-- returned is dropped; its margins make that rare), each once, in
-- non-decreasing distance
SET vecdb.ivfpq_iterative_scan = strict_order;
SELECT count(*) FROM (SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
SELECT count(*) >= 9900 AS nearly_all, count(*) = count(DISTINCT id) AS once,
	coalesce(bool_and(d >= prev_d), true) AS non_decreasing
	FROM (SELECT id, d, lag(d) OVER () AS prev_d FROM (SELECT id, v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' AS d
		FROM ivfpq_cat ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 20000) s) w;

-- vecdb.ivfpq_max_probes bounds the lists an iterative scan searches: with
-- 5 (and probes 1) at most the entries of 5 lists reach the filter, so a
-- rare value is short of 10 rows
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SET vecdb.ivfpq_probes = 1;
SET vecdb.ivfpq_max_probes = 5;
SELECT bool_and(cardinality(a) < 10) AS fewer_than_10
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<->', 'rare', 7, q, true) AS a) s;
SELECT count(*) FROM (SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
SELECT scanned > 0 AS some, scanned <= ivfpq_largest(5) AS at_most_5_lists FROM (SELECT ivfpq_scanned(
	$$SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) AS scanned) s;
SET vecdb.ivfpq_iterative_scan = strict_order;
SELECT scanned > 0 AS some, scanned <= ivfpq_largest(5) AS at_most_5_lists FROM (SELECT ivfpq_scanned(
	$$SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) AS scanned) s;
-- with 30 lists (about 3,000 rows, 60 of them of a common value) a common
-- value has its 10 rows; a missing one stops short of all 10,000 rows
SET vecdb.ivfpq_max_probes = 30;
SELECT bool_and(cardinality(a) = 10) AS ten_rows
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<->', 'common', 3, q, true) AS a) s;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SELECT bool_and(cardinality(a) = 10) AS ten_rows
	FROM ivfpq_cat_q, LATERAL (SELECT ivfpq_cat_knn('<->', 'common', 3, q, true) AS a) s;
SELECT scanned > ivfpq_largest(5) AS more_than_5_lists, scanned <= ivfpq_largest(30) AS at_most_30_lists
	FROM (SELECT ivfpq_scanned($$SELECT id FROM ivfpq_cat WHERE rare = 1000
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10$$) AS scanned) s;
RESET vecdb.ivfpq_max_probes;
RESET vecdb.ivfpq_probes;

-- a filter that keeps most rows: plain LIMIT semantics
SET vecdb.ivfpq_iterative_scan = strict_order;
SELECT count(*) FROM (SELECT id FROM ivfpq_cat WHERE rare <> 3
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 100) s;
SET vecdb.ivfpq_iterative_scan = off;
SELECT count(*) FROM (SELECT id FROM ivfpq_cat WHERE rare <> 3
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 50) s;

-- rows inserted and deleted after the build take part in filtered scans:
-- 15 new rows of a new value, and half of the 20 rows of rare = 7 deleted
INSERT INTO ivfpq_cat SELECT 10000 + i, 777, 777, ARRAY(SELECT random() - 0.5 FROM generate_series(1, 16) WHERE i > 0)::vector
	FROM generate_series(1, 15) i;
DELETE FROM ivfpq_cat WHERE rare = 7 AND id % 1000 = 507;
VACUUM ivfpq_cat;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SELECT cardinality(a) AS n, (SELECT bool_and(rare = 777) FROM ivfpq_cat WHERE id = ANY (a)) AS all_777
	FROM (SELECT ivfpq_cat_knn('<->', 'rare', 777, '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', true) AS a) s;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM ivfpq_cat WHERE rare = 15 + 762
	ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 20) s;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM ivfpq_cat WHERE rare = 7
	ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 20) s;
SELECT (SELECT entries FROM vecdb_ivfpq_info('ivfpq_cat_l2')) AS l2_entries,
	(SELECT sum(entries) FROM vecdb_ivfpq_lists('ivfpq_cat_cos')) AS cos_list_entries;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_cat_l2');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_cat_cos');

RESET vecdb.ivfpq_iterative_scan;
RESET enable_seqscan;
DROP TABLE ivfpq_cat, ivfpq_cat_q, ivfpq_cat_centres;
DROP FUNCTION ivfpq_cat_knn, ivfpq_scanned, ivfpq_largest;
