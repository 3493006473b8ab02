-- ivfpq index: recall@10 against exact search for each operator class, as
-- vecdb.ivfpq_probes and vecdb.ivfpq_rerank grow; results re-ranked by exact
-- distance (sorted, and identical to exact search once every list is probed
-- and every candidate re-ranked); the planner's use of the index; rows
-- inserted after the build; DELETE and VACUUM; vecdb_ivfpq_lists,
-- vecdb_ivfpq_info and vecdb_index_check. Only integers fixed by the data
-- (row and list counts) and booleans are printed, never recalls or distances.

SELECT setseed(0.125);
-- 20 cluster centres uniform in [-1, 1)^32; 3,000 rows, 150 per centre, each
-- the centre plus uniform noise of width 0.3 in every coordinate
CREATE TABLE ivfpq_centres (c int PRIMARY KEY, a float8[]);
INSERT INTO ivfpq_centres
	SELECT c, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 32) WHERE c >= 0)
	FROM generate_series(0, 19) c;
CREATE TABLE ivfpq_items (id int PRIMARY KEY, v vector(32));
INSERT INTO ivfpq_items
	SELECT i, ARRAY(SELECT ctr[d] + 0.3 * (random() - 0.5) FROM generate_series(1, 32) d)::vector
	FROM (SELECT i, (SELECT a FROM ivfpq_centres WHERE c = i % 20) AS ctr
		FROM generate_series(1, 3000) i) s;
-- 20 query vectors drawn the same way, one per cluster
CREATE TABLE ivfpq_queries (qid int PRIMARY KEY, q vector(32));
INSERT INTO ivfpq_queries
	SELECT qid, ARRAY(SELECT ctr[d] + 0.3 * (random() - 0.5) FROM generate_series(1, 32) d)::vector
	FROM (SELECT qid, (SELECT a FROM ivfpq_centres WHERE c = qid % 20) AS ctr
		FROM generate_series(1, 20) qid) s;

-- the operator classes, their operators and indexes
CREATE TABLE ivfpq_ops (ord int PRIMARY KEY, opclass text, op text, idx text);
INSERT INTO ivfpq_ops VALUES (1, 'l2', '<->', 'ivfpq_items_l2'), (2, 'ip', '<#>', 'ivfpq_items_ip'),
	(3, 'cosine', '<=>', 'ivfpq_items_cos'), (4, 'l1', '<+>', 'ivfpq_items_l1');

-- The ids of the k rows of ivfpq_items nearest to q by op, in the order
-- returned: from the ivfpq index with the given probes and rerank when
-- use_index (an error unless the plan is an ivfpq index scan), else exact,
-- from a sequential scan and a sort. An error too if the rows returned are
-- not distinct or not in non-decreasing exact distance. (Fewer than k rows
-- are possible: with probes 1 a list may hold fewer.)
CREATE FUNCTION ivfpq_knn(op text, q vector, use_index bool, probes int DEFAULT 10,
	rerank int DEFAULT 100, k int DEFAULT 10) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT id, v %s %L::vector AS d FROM ivfpq_items ORDER BY v %s %L::vector LIMIT %s',
		op, q, op, q, k);
	line text;
	plan text := '';
	r record;
	prev float8;
	ids int[] := '{}';
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN use_index THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN use_index THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	PERFORM set_config('vecdb.ivfpq_probes', probes::text, true);
	PERFORM set_config('vecdb.ivfpq_rerank', rerank::text, true);
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		plan := plan || line || E'\n';
	END LOOP;
	IF (plan LIKE '%Index Scan using ivfpq_items_%') <> use_index THEN
		RAISE EXCEPTION 'unexpected plan for %: %', query, plan;
	END IF;
	FOR r IN EXECUTE query LOOP
		IF r.d < prev THEN
			RAISE EXCEPTION 'not in distance order (probes %, rerank %): % after %', probes, rerank, r.d, prev;
		END IF;
		prev := r.d;
		ids := ids || r.id;
	END LOOP;
	IF cardinality(ids) > k OR (SELECT count(DISTINCT x) FROM unnest(ids) x) <> cardinality(ids) THEN
		RAISE EXCEPTION '% (probes %, rerank %) returned %', query, probes, rerank, ids;
	END IF;
	RETURN ids;
END $$;

-- Every row id an index scan by op from the first query vector returns
-- with no LIMIT to speak of (the plan must be an ivfpq index scan).
CREATE FUNCTION ivfpq_knn_all(op text) RETURNS SETOF int LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT id FROM ivfpq_items ORDER BY v %s %L::vector LIMIT 100000',
		op, (SELECT q FROM ivfpq_queries WHERE qid = 1));
	line text;
	plan text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		plan := plan || line || E'\n';
	END LOOP;
	IF plan NOT LIKE '%Index Scan using ivfpq_items_%' THEN
		RAISE EXCEPTION 'unexpected plan for %: %', query, plan;
	END IF;
	RETURN QUERY EXECUTE query;
END $$;

-- the exact top-10 of every query for every operator, from sequential scans
CREATE TABLE ivfpq_truth (op text, qid int, ids int[], PRIMARY KEY (op, qid));
CREATE FUNCTION ivfpq_exact() RETURNS void LANGUAGE sql AS $$
	DELETE FROM ivfpq_truth;
	INSERT INTO ivfpq_truth SELECT o.op, q.qid, ivfpq_knn(o.op, q.q, false) FROM ivfpq_ops o, ivfpq_queries q;
$$;

-- Of the 200 (query, row) pairs of the exact top-10s, how many the index
-- scans of op find with these settings.
CREATE FUNCTION ivfpq_hits(op text, probes int, rerank int) RETURNS int LANGUAGE sql AS $$
	SELECT sum(cardinality(ARRAY(SELECT unnest(ivfpq_knn(op, q.q, true, probes, rerank))
		INTERSECT SELECT unnest(t.ids))))::int
	FROM ivfpq_queries q JOIN ivfpq_truth t ON t.op = ivfpq_hits.op AND t.qid = q.qid
$$;

-- (a) an index for each operator class over the full table: 40 lists and 8
-- sub-quantizers of 4 dimensions
CREATE INDEX ivfpq_items_l2 ON ivfpq_items USING ivfpq (v vector_l2_ops) WITH (lists = 40, m = 8);
CREATE INDEX ivfpq_items_ip ON ivfpq_items USING ivfpq (v vector_ip_ops) WITH (lists = 40, m = 8);
CREATE INDEX ivfpq_items_cos ON ivfpq_items USING ivfpq (v vector_cosine_ops) WITH (lists = 40, m = 8);
CREATE INDEX ivfpq_items_l1 ON ivfpq_items USING ivfpq (v vector_l1_ops) WITH (lists = 40, m = 8);
ANALYZE ivfpq_items;

-- what the build made: every row in one of the 40 lists; the largest list
-- is at least the average and what vecdb_ivfpq_lists says; imbalance is
-- lists * sum(entries^2) / sum(entries)^2, at least 1, and k-means over 20
-- clusters keeps it well below the 40 of a single list
SELECT o.opclass, i.lists, i.m, i.nbits, i.dims, i.entries, i.built_entries,
	i.largest_list = l.largest AS largest_ok, i.largest_list >= 75 AS largest_ge_avg,
	abs(i.imbalance - l.imbalance) < 1e-9 AS imbalance_ok, i.imbalance >= 1 AND i.imbalance < 3 AS balanced
	FROM ivfpq_ops o, LATERAL vecdb_ivfpq_info(o.idx::regclass) i,
	LATERAL (SELECT max(entries) AS largest,
		count(*) * sum(entries::float8 ^ 2) / sum(entries)::float8 ^ 2 AS imbalance
		FROM vecdb_ivfpq_lists(o.idx::regclass)) l
	ORDER BY o.ord;
SELECT o.opclass, count(*) AS lists, count(DISTINCT l.list) AS distinct_lists, sum(l.entries) AS entries,
	bool_and(l.entries >= 0) AS non_negative, bool_and(l.entries = 0 OR l.pages >= 1) AS pages_ok
	FROM ivfpq_ops o, LATERAL vecdb_ivfpq_lists(o.idx::regclass) l
	GROUP BY o.ord, o.opclass ORDER BY o.ord;
SELECT o.opclass, (SELECT count(*) FROM vecdb_index_check(o.idx::regclass)) = 0 AS sound
	FROM ivfpq_ops o ORDER BY o.ord;

-- The planner uses the index for ORDER BY distance LIMIT k, for each operator
\set q '[0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25]'
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_items ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_items ORDER BY v <#> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_items ORDER BY v <=> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_items ORDER BY v <+> :'q' LIMIT 10;
RESET enable_seqscan;

-- Recall over two sweeps for each operator class: probes 1 .. 40 (= lists)
-- with every candidate re-ranked (rerank 4000 >= rows), where only the lists
-- probed limit recall; then rerank 10 .. 200 with every list probed, where
-- only the product quantizer's ranking does. Every scan returns 10 distinct
-- rows in exact distance order (ivfpq_knn checks). In both sweeps a larger
-- setting searches a superset, so recall never falls; it must rise from the
-- first step to the last, reach 0.95 (190 of 200) both with a quarter of
-- the lists probed (10, all re-ranked) and with 200 of the 3,000 rows
-- re-ranked (all lists probed), and be exact (200) with every list probed
-- and every row re-ranked.
SELECT ivfpq_exact();
CREATE TABLE ivfpq_curve (op text, sweep text, step int, probes int, rerank int, hits int);
INSERT INTO ivfpq_curve
	SELECT o.op, s.sweep, s.step, s.probes, s.rerank, ivfpq_hits(o.op, s.probes, s.rerank)
	FROM ivfpq_ops o, (VALUES ('probes', 1, 1, 4000), ('probes', 2, 2, 4000), ('probes', 3, 4, 4000),
		('probes', 4, 10, 4000), ('probes', 5, 40, 4000),
		('rerank', 1, 40, 10), ('rerank', 2, 40, 20), ('rerank', 3, 40, 50),
		('rerank', 4, 40, 100), ('rerank', 5, 40, 200)) s(sweep, step, probes, rerank);
SELECT o.opclass, c.sweep, bool_and(c.hits >= c.prev_hits) AS non_decreasing,
	max(c.hits) FILTER (WHERE c.step = 5) > max(c.hits) FILTER (WHERE c.step = 1) AS rises
	FROM ivfpq_ops o JOIN (SELECT *, lag(hits) OVER (PARTITION BY op, sweep ORDER BY step) AS prev_hits
		FROM ivfpq_curve) c ON c.op = o.op
	GROUP BY o.ord, o.opclass, c.sweep ORDER BY o.ord, c.sweep;
SELECT o.opclass, max(c.hits) FILTER (WHERE c.sweep = 'probes' AND c.probes = 10) >= 190 AS probes_10_095,
	max(c.hits) FILTER (WHERE c.sweep = 'rerank' AND c.rerank = 200) >= 190 AS rerank_200_095,
	max(c.hits) FILTER (WHERE c.sweep = 'probes' AND c.probes = 40) AS exact_hits
	FROM ivfpq_ops o JOIN ivfpq_curve c ON c.op = o.op
	GROUP BY o.ord, o.opclass ORDER BY o.ord;
-- the default settings (probes 10, rerank 100) reach 0.9 on this data
SELECT o.opclass, ivfpq_hits(o.op, 10, 100) >= 180 AS default_recall_09
	FROM ivfpq_ops o ORDER BY o.ord;

-- With every list probed and every row re-ranked the answer is the exact
-- one, in the same order (so with the same distances)
SELECT o.opclass, bool_and(ivfpq_knn(o.op, q.q, true, 40, 4000) = t.ids) AS same_as_exact
	FROM ivfpq_ops o, ivfpq_queries q JOIN ivfpq_truth t ON t.qid = q.qid
	WHERE t.op = o.op GROUP BY o.ord, o.opclass ORDER BY o.ord;
-- (b) rows inserted after the build. For each query, one row next to it
-- (its nearest under L2, L1 and cosine) and one at 3 times it (its largest
-- inner product, and a cosine distance of about 0); and 100 more rows like
-- the others.
INSERT INTO ivfpq_items
	SELECT 10000 + qid, ARRAY(SELECT x + 0.001 * (random() - 0.5) FROM unnest(q::real[]) x)::vector
	FROM ivfpq_queries;
INSERT INTO ivfpq_items
	SELECT 20000 + qid, ARRAY(SELECT 3 * x FROM unnest(q::real[]) x)::vector FROM ivfpq_queries;
INSERT INTO ivfpq_items
	SELECT i, ARRAY(SELECT ctr[d] + 0.3 * (random() - 0.5) FROM generate_series(1, 32) d)::vector
	FROM (SELECT i, (SELECT a FROM ivfpq_centres WHERE c = i % 20) AS ctr
		FROM generate_series(3001, 3100) i) s;
SELECT o.opclass, i.entries, i.built_entries, l.entries AS list_entries
	FROM ivfpq_ops o, LATERAL vecdb_ivfpq_info(o.idx::regclass) i,
	LATERAL (SELECT sum(entries) AS entries FROM vecdb_ivfpq_lists(o.idx::regclass)) l
	ORDER BY o.ord;
-- at the default settings, each query finds its inserted neighbour first
-- (L2, L1), or its two inserted rows first (cosine)
SELECT bool_and(ivfpq_knn('<->', q, true, 10, 100, 1) = ARRAY[10000 + qid]) AS l2,
	bool_and(ivfpq_knn('<+>', q, true, 10, 100, 1) = ARRAY[10000 + qid]) AS l1,
	bool_and(ivfpq_knn('<=>', q, true, 10, 100, 2) @> ARRAY[10000 + qid, 20000 + qid]) AS cosine
	FROM ivfpq_queries;
-- with every list probed and every row re-ranked, inner product finds 3q first
SELECT bool_and(ivfpq_knn('<#>', q, true, 40, 4000, 1) = ARRAY[20000 + qid]) AS ip
	FROM ivfpq_queries;
-- every in-distribution inserted row is found first by its own vector
SELECT count(*) AS rows, bool_and(ivfpq_knn('<->', v, true, 10, 100, 1) = ARRAY[id]) AS self_l2,
	bool_and(ivfpq_knn('<=>', v, true, 10, 100, 1) = ARRAY[id]) AS self_cosine,
	bool_and(ivfpq_knn('<+>', v, true, 10, 100, 1) = ARRAY[id]) AS self_l1
	FROM ivfpq_items WHERE id > 3000 AND id < 20000;
-- ... as are rows of the build
SELECT count(*) AS rows, bool_and(ivfpq_knn('<->', v, true, 10, 100, 1) = ARRAY[id]) AS self_l2,
	bool_and(ivfpq_knn('<=>', v, true, 10, 100, 1) = ARRAY[id]) AS self_cosine,
	bool_and(ivfpq_knn('<+>', v, true, 10, 100, 1) = ARRAY[id]) AS self_l1
	FROM ivfpq_items WHERE id % 50 = 7 AND id <= 3000;
-- and the inserted rows are in the exact answers the full search reproduces
SELECT ivfpq_exact();
SELECT o.opclass, bool_and(ivfpq_knn(o.op, q.q, true, 40, 4000) = t.ids) AS same_as_exact,
	bool_and(t.ids && ARRAY[10000 + q.qid, 20000 + q.qid]) AS inserted_in_exact
	FROM ivfpq_ops o, ivfpq_queries q JOIN ivfpq_truth t ON t.qid = q.qid
	WHERE t.op = o.op GROUP BY o.ord, o.opclass ORDER BY o.ord;
SELECT o.opclass, (SELECT count(*) FROM vecdb_index_check(o.idx::regclass)) = 0 AS sound
	FROM ivfpq_ops o ORDER BY o.ord;
-- The 140 rows above are still in the hot tier, which is searched exactly:
-- merged, they are in the lists, ranked by their PQ codes, and the same
-- holds
SELECT o.opclass, vecdb_merge(o.idx::regclass) AS merged FROM ivfpq_ops o ORDER BY o.ord;
SELECT o.opclass, i.entries, i.built_entries, l.entries AS list_entries
	FROM ivfpq_ops o, LATERAL vecdb_ivfpq_info(o.idx::regclass) i,
	LATERAL (SELECT sum(entries) AS entries FROM vecdb_ivfpq_lists(o.idx::regclass)) l
	ORDER BY o.ord;
SELECT bool_and(ivfpq_knn('<->', q, true, 10, 100, 1) = ARRAY[10000 + qid]) AS l2,
	bool_and(ivfpq_knn('<+>', q, true, 10, 100, 1) = ARRAY[10000 + qid]) AS l1,
	bool_and(ivfpq_knn('<=>', q, true, 10, 100, 2) @> ARRAY[10000 + qid, 20000 + qid]) AS cosine
	FROM ivfpq_queries;
SELECT bool_and(ivfpq_knn('<#>', q, true, 40, 4000, 1) = ARRAY[20000 + qid]) AS ip
	FROM ivfpq_queries;
SELECT count(*) AS rows, bool_and(ivfpq_knn('<->', v, true, 10, 100, 1) = ARRAY[id]) AS self_l2,
	bool_and(ivfpq_knn('<=>', v, true, 10, 100, 1) = ARRAY[id]) AS self_cosine,
	bool_and(ivfpq_knn('<+>', v, true, 10, 100, 1) = ARRAY[id]) AS self_l1
	FROM ivfpq_items WHERE id > 3000 AND id < 20000;
SELECT o.opclass, bool_and(ivfpq_knn(o.op, q.q, true, 40, 4000) = t.ids) AS same_as_exact
	FROM ivfpq_ops o, ivfpq_queries q JOIN ivfpq_truth t ON t.qid = q.qid
	WHERE t.op = o.op GROUP BY o.ord, o.opclass ORDER BY o.ord;
SELECT o.opclass, (SELECT count(*) FROM vecdb_index_check(o.idx::regclass)) = 0 AS sound
	FROM ivfpq_ops o ORDER BY o.ord;

-- (c) DELETE a third of the rows, among them every inserted neighbour; after
-- VACUUM the lists hold exactly the remaining rows, deleted rows are never
-- returned, and the full search is exact again
DELETE FROM ivfpq_items WHERE id % 3 = 0 OR id BETWEEN 10001 AND 10020;
VACUUM ivfpq_items;
SELECT count(*) AS rows FROM ivfpq_items;
SELECT o.opclass, i.entries, l.entries AS list_entries, l.lists
	FROM ivfpq_ops o, LATERAL vecdb_ivfpq_info(o.idx::regclass) i,
	LATERAL (SELECT sum(entries) AS entries, count(*) AS lists FROM vecdb_ivfpq_lists(o.idx::regclass)) l
	ORDER BY o.ord;
SELECT o.opclass, (SELECT count(*) FROM vecdb_index_check(o.idx::regclass)) = 0 AS sound
	FROM ivfpq_ops o ORDER BY o.ord;
SELECT ivfpq_exact();
SELECT o.opclass, bool_and(ivfpq_knn(o.op, q.q, true, 40, 4000) = t.ids) AS same_as_exact,
	bool_and(NOT (ivfpq_knn(o.op, q.q, true, 10, 100) && ARRAY(SELECT 10000 + generate_series(1, 20))))
		AS no_deleted
	FROM ivfpq_ops o, ivfpq_queries q JOIN ivfpq_truth t ON t.qid = q.qid
	WHERE t.op = o.op GROUP BY o.ord, o.opclass ORDER BY o.ord;
SELECT o.opclass, ivfpq_hits(o.op, 10, 100) >= 180 AS default_recall_09
	FROM ivfpq_ops o ORDER BY o.ord;
-- an iterative scan run to its end returns every remaining row exactly once
SET enable_seqscan = off;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SELECT o.opclass, x.n, x.n_distinct FROM ivfpq_ops o, LATERAL (SELECT count(*) AS n, count(DISTINCT id) AS n_distinct
	FROM ivfpq_knn_all(o.op) AS k(id)) x ORDER BY o.ord;
RESET vecdb.ivfpq_iterative_scan;
RESET enable_seqscan;

-- rows inserted after the VACUUM (which may reuse the freed space) are found
INSERT INTO ivfpq_items
	SELECT i, ARRAY(SELECT ctr[d] + 0.3 * (random() - 0.5) FROM generate_series(1, 32) d)::vector
	FROM (SELECT i, (SELECT a FROM ivfpq_centres WHERE c = i % 20) AS ctr
		FROM generate_series(3101, 3200) i) s;
SELECT count(*) AS rows, bool_and(ivfpq_knn('<->', v, true, 10, 100, 1) = ARRAY[id]) AS self_l2,
	bool_and(ivfpq_knn('<=>', v, true, 10, 100, 1) = ARRAY[id]) AS self_cosine,
	bool_and(ivfpq_knn('<+>', v, true, 10, 100, 1) = ARRAY[id]) AS self_l1
	FROM ivfpq_items WHERE id > 3100 AND id <= 3200;
SELECT o.opclass, i.entries, (SELECT count(*) FROM vecdb_index_check(o.idx::regclass)) = 0 AS sound
	FROM ivfpq_ops o, LATERAL vecdb_ivfpq_info(o.idx::regclass) i ORDER BY o.ord;

DROP TABLE ivfpq_items, ivfpq_queries, ivfpq_centres, ivfpq_ops, ivfpq_truth, ivfpq_curve;
DROP FUNCTION ivfpq_hits, ivfpq_exact, ivfpq_knn, ivfpq_knn_all;
