-- The streaming hot tier of both access methods (issue 11), without the
-- background worker (vecdb is not preloaded here): INSERTs append to the
-- tier; scans return the cold structure's answer merged by distance with an
-- exact scan of the tier; vecdb_merge(), VACUUM and back-pressure past
-- vecdb.hot_tier_max_rows move hot rows into the graph or the lists.
--
--   (a) recall@10 of every operator class of both access methods with 1,200
--       rows hot, then after vecdb_merge; queries whose true neighbours are
--       all hot rows; every row returned once by a scan run to its end;
--       vecdb_hot_tier before and after; EXPLAIN
--   (b) filtered queries with iterative scans over hot rows
--   (c) DELETE and UPDATE of hot rows, then VACUUM (which merges)
--   (d) streaming = off, at CREATE INDEX and by ALTER INDEX
--   (e) back-pressure with a small vecdb.hot_tier_max_rows
--   (f) who may call vecdb_merge and vecdb_hot_tier, and on what
--
-- Every table has autovacuum off, so that rows stay hot until the test
-- merges them. Only booleans and integers fixed by the data are printed:
-- the graph of a merge depends on random level draws.

SELECT setseed(0.375);
-- Each access method gets data it is meant for, as in hnsw_recall and
-- ivfpq_recall: for hnsw, uniform in [-0.5, 0.5)^24 (on clustered data
-- hnsw's inner-product graph leaves elements unreachable, tier or not);
-- for ivfpq, 20 cluster centres uniform in [-1, 1)^24, each row a centre
-- plus uniform noise of width 0.3 in every coordinate.
CREATE TABLE tier_centres (c int PRIMARY KEY, a float8[]);
INSERT INTO tier_centres
	SELECT c, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 24) WHERE c >= 0)
	FROM generate_series(0, 19) c;
CREATE FUNCTION tier_point(am text, i int) RETURNS vector LANGUAGE sql VOLATILE AS $$
	SELECT CASE WHEN am = 'hnsw'
		THEN ARRAY(SELECT random() - 0.5 FROM generate_series(1, 24) WHERE i IS NOT NULL)::vector
		ELSE (SELECT ARRAY(SELECT a[d] + 0.3 * (random() - 0.5) FROM generate_series(1, 24) d)::vector
			FROM tier_centres WHERE c = i % 20) END
$$;
-- 30 query vectors drawn the same way, for each; queries 21 to 30 are
-- "planted": the hot rows will hold, for each, 10 rows within 0.0025 of q
-- in every coordinate (its nearest under L2, L1 and cosine) and 10 near 4q
-- (its largest inner products, and as near as those under cosine)
CREATE TABLE tier_qdata (am text, qid int, q vector(24), planted bool, PRIMARY KEY (am, qid));
INSERT INTO tier_qdata SELECT am, qid, tier_point(am, qid), qid > 20
	FROM unnest(ARRAY['hnsw', 'ivfpq']) am, generate_series(1, 30) qid;
-- 4,200 rows: 1 to 3,000 are built into the indexes, 3,001 to 4,000 (drawn
-- like them) and the 200 planted ones, 4,001 to 4,200, are inserted later
CREATE TABLE tier_data (am text, id int, v vector(24), PRIMARY KEY (am, id));
INSERT INTO tier_data SELECT am, i, tier_point(am, i)
	FROM unnest(ARRAY['hnsw', 'ivfpq']) am, generate_series(1, 4000) i;
INSERT INTO tier_data
	SELECT am, 4001 + (qid - 21) * 20 + j,
		ARRAY(SELECT CASE WHEN j < 10 THEN x ELSE 4 * x END + 0.005 * (random() - 0.5)
			FROM unnest(q::real[]) x)::vector
	FROM tier_qdata, generate_series(0, 19) j WHERE planted;
-- (b) to (d) use the clustered rows and queries
CREATE VIEW tier_rows AS SELECT id, v FROM tier_data WHERE am = 'ivfpq';
CREATE VIEW tier_queries AS SELECT qid, q, planted FROM tier_qdata WHERE am = 'ivfpq';

-- A table for each access method, so that each operator has one index to
-- use; and for ivfpq a twin whose indexes have streaming = off: its merge
-- is deterministic (nearest list, PQ codes), so after it the two must
-- answer alike
CREATE TABLE tier_hnsw (id int PRIMARY KEY, v vector(24)) WITH (autovacuum_enabled = off);
CREATE TABLE tier_ivfpq (id int PRIMARY KEY, v vector(24)) WITH (autovacuum_enabled = off);
CREATE TABLE tier_ivfpq_sync (id int PRIMARY KEY, v vector(24)) WITH (autovacuum_enabled = off);
INSERT INTO tier_hnsw SELECT id, v FROM tier_data WHERE am = 'hnsw' AND id <= 3000;
INSERT INTO tier_ivfpq SELECT id, v FROM tier_data WHERE am = 'ivfpq' AND id <= 3000;
INSERT INTO tier_ivfpq_sync SELECT * FROM tier_ivfpq;

-- the indexes, one for each operator class and access method
CREATE TABLE tier_ops (ord int PRIMARY KEY, am text, opclass text, op text, idx text);
INSERT INTO tier_ops VALUES
	(1, 'hnsw', 'l2', '<->', 'tier_hnsw_l2'), (2, 'hnsw', 'ip', '<#>', 'tier_hnsw_ip'),
	(3, 'hnsw', 'cosine', '<=>', 'tier_hnsw_cos'), (4, 'hnsw', 'l1', '<+>', 'tier_hnsw_l1'),
	(5, 'ivfpq', 'l2', '<->', 'tier_ivfpq_l2'), (6, 'ivfpq', 'ip', '<#>', 'tier_ivfpq_ip'),
	(7, 'ivfpq', 'cosine', '<=>', 'tier_ivfpq_cos'), (8, 'ivfpq', 'l1', '<+>', 'tier_ivfpq_l1');
CREATE INDEX tier_hnsw_l2 ON tier_hnsw USING hnsw (v vector_l2_ops);
CREATE INDEX tier_hnsw_ip ON tier_hnsw USING hnsw (v vector_ip_ops);
CREATE INDEX tier_hnsw_cos ON tier_hnsw USING hnsw (v vector_cosine_ops);
CREATE INDEX tier_hnsw_l1 ON tier_hnsw USING hnsw (v vector_l1_ops);
CREATE INDEX tier_ivfpq_l2 ON tier_ivfpq USING ivfpq (v vector_l2_ops) WITH (lists = 20, m = 8);
CREATE INDEX tier_ivfpq_ip ON tier_ivfpq USING ivfpq (v vector_ip_ops) WITH (lists = 20, m = 8);
CREATE INDEX tier_ivfpq_cos ON tier_ivfpq USING ivfpq (v vector_cosine_ops) WITH (lists = 20, m = 8);
CREATE INDEX tier_ivfpq_l1 ON tier_ivfpq USING ivfpq (v vector_l1_ops) WITH (lists = 20, m = 8);
CREATE INDEX tier_ivfpq_sync_l2 ON tier_ivfpq_sync USING ivfpq (v vector_l2_ops) WITH (lists = 20, m = 8, streaming = off);
CREATE INDEX tier_ivfpq_sync_ip ON tier_ivfpq_sync USING ivfpq (v vector_ip_ops) WITH (lists = 20, m = 8, streaming = off);
CREATE INDEX tier_ivfpq_sync_cos ON tier_ivfpq_sync USING ivfpq (v vector_cosine_ops) WITH (lists = 20, m = 8, streaming = off);
CREATE INDEX tier_ivfpq_sync_l1 ON tier_ivfpq_sync USING ivfpq (v vector_l1_ops) WITH (lists = 20, m = 8, streaming = off);

-- The ids of the k rows of tbl (where filter holds) nearest to q by op, in
-- the order returned: from tbl's index when use_index (an error unless the
-- plan is an index scan of one of tbl's indexes), else exact, from a
-- sequential scan and a sort. An error too if a row comes twice, if the
-- rows are not in non-decreasing exact distance (unless ordered is false:
-- relaxed_order), or if fewer than k come and exactly is set. The indexes
-- rank by float4 kernels, the SQL operators compute in float8: the order
-- is checked to 1e-6 + 1e-5 of the distance (the planted rows' cosine
-- distances are about 1e-7).
CREATE FUNCTION tier_knn(tbl regclass, op text, q vector, use_index bool, k int DEFAULT 10,
	filter text DEFAULT 'true', ordered bool DEFAULT true, exactly bool DEFAULT true)
RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT id, v %s %L::vector AS d FROM %s WHERE %s ORDER BY v %s %L::vector LIMIT %s',
		op, q, tbl, filter, op, q, k);
	line text;
	plan text := '';
	r record;
	prev float8;
	ids int[] := '{}';
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN use_index THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN use_index THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		plan := plan || line || E'\n';
	END LOOP;
	IF (plan LIKE '%Index Scan using ' || tbl || '_%') <> use_index THEN
		RAISE EXCEPTION 'unexpected plan for %: %', query, plan;
	END IF;
	FOR r IN EXECUTE query LOOP
		IF ordered AND r.d < prev - 1e-6 - 1e-5 * abs(prev) THEN
			RAISE EXCEPTION '% not in distance order: % after %', query, r.d, prev;
		END IF;
		prev := r.d;
		ids := ids || r.id;
	END LOOP;
	IF (SELECT count(DISTINCT x) FROM unnest(ids) x) <> cardinality(ids) THEN
		RAISE EXCEPTION '% returned a row twice: %', query, ids;
	END IF;
	IF exactly AND cardinality(ids) <> k THEN
		RAISE EXCEPTION '% returned % rows: %', query, cardinality(ids), ids;
	END IF;
	RETURN ids;
END $$;

-- Every id an index scan of tbl by op from q returns, run to its end (the
-- caller sets an iterative scan, or probes every list).
CREATE FUNCTION tier_all(tbl regclass, op text, q vector) RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY SELECT unnest(tier_knn(tbl, op, q, true, 100000, ordered => false, exactly => false));
END $$;

-- the exact top-10 of every query for every operator class, once every row
-- is in (the rows are the same before and after a merge)
CREATE TABLE tier_truth (am text, op text, qid int, ids int[], PRIMARY KEY (am, op, qid));
-- the hits (query, row pairs of the exact top-10s found) of every index
CREATE TABLE tier_hits (ord int, phase text, hits int, planted_hits int, PRIMARY KEY (ord, phase));
CREATE FUNCTION tier_measure(phase text) RETURNS void LANGUAGE sql AS $$
	INSERT INTO tier_hits
		SELECT o.ord, phase,
			sum(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(t.ids)))) FILTER (WHERE NOT q.planted),
			sum(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(t.ids)))) FILTER (WHERE q.planted)
		FROM tier_ops o JOIN tier_qdata q ON q.am = o.am
			JOIN tier_truth t ON t.am = o.am AND t.op = o.op AND t.qid = q.qid,
			LATERAL (SELECT tier_knn(('tier_' || o.am)::regclass, o.op, q.q, true) AS a) s
		GROUP BY o.ord;
$$;

-- ef_search 100 for a margin, as in hnsw_recall; ivfpq probes 5 of its 20
-- lists (one a cluster) and re-ranks 100
SET vecdb.hnsw_ef_search = 100;
SET vecdb.ivfpq_probes = 5;
SET vecdb.ivfpq_rerank = 100;

-- (a) The built indexes hold no hot row and have never merged
SELECT o.am, o.opclass, h.rows, h.pages, h.merged, h.last_merge IS NULL AS never_merged
	FROM tier_ops o, LATERAL vecdb_hot_tier(o.idx::regclass) h ORDER BY o.ord;
-- 1,200 rows inserted, in two statements: they stay hot in every index
INSERT INTO tier_hnsw SELECT id, v FROM tier_data WHERE am = 'hnsw' AND id > 3000 AND id <= 4000;
INSERT INTO tier_hnsw SELECT id, v FROM tier_data WHERE am = 'hnsw' AND id > 4000;
INSERT INTO tier_ivfpq SELECT id, v FROM tier_data WHERE am = 'ivfpq' AND id > 3000 AND id <= 4000;
INSERT INTO tier_ivfpq SELECT id, v FROM tier_data WHERE am = 'ivfpq' AND id > 4000;
INSERT INTO tier_ivfpq_sync SELECT * FROM tier_ivfpq WHERE id > 3000;
ANALYZE tier_hnsw, tier_ivfpq, tier_ivfpq_sync;
-- An entry holds at least its 96 bytes of vector and a 6-byte heap TID, so
-- a page holds at most 80 of them; and at least 30 (a quarter page each)
SELECT o.am, o.opclass, h.rows, h.pages BETWEEN 1200 / 80 AND 1200 / 30 AS pages_ok, h.merged,
	h.last_merge IS NULL AS never_merged
	FROM tier_ops o, LATERAL vecdb_hot_tier(o.idx::regclass) h ORDER BY o.ord;
SELECT o.am, o.opclass, (SELECT count(*) FROM vecdb_index_check(o.idx::regclass)) = 0 AS sound
	FROM tier_ops o ORDER BY o.ord;

-- the planner still uses the indexes, with rows hot
\set q '[0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25,0.5,-0.5,0.25,-0.25]'
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM tier_hnsw ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM tier_hnsw ORDER BY v <#> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM tier_ivfpq ORDER BY v <=> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM tier_ivfpq ORDER BY v <+> :'q' LIMIT 10;
RESET enable_seqscan;

-- the exact answers: a planted query's 10 nearest are all planted rows
INSERT INTO tier_truth SELECT o.am, o.op, q.qid, tier_knn(('tier_' || o.am)::regclass, o.op, q.q, false)
	FROM tier_ops o JOIN tier_qdata q ON q.am = o.am;
SELECT am, op, bool_and(ids <@ ARRAY(SELECT generate_series(4001 + (qid - 21) * 20, 4020 + (qid - 21) * 20)))
		AS planted_are_nearest
	FROM tier_truth WHERE qid > 20 GROUP BY am, op ORDER BY am, op;

-- Recall with 1,200 rows hot. Of the 200 pairs of the 20 drawn queries'
-- exact top-10s, about a quarter are hot rows (for inner product nearly
-- all: the planted 4q rows; counted below): an index that missed the hot
-- tier would find at most 153 of them, and so would one whose merge lost
-- its rows. The hot tier is scanned exactly, so every planted query finds
-- all of its 10 rows.
SELECT tier_measure('hot');
SELECT o.am, o.opclass, h.hits >= 190 AS recall_095, h.planted_hits AS planted_hits
	FROM tier_ops o JOIN tier_hits h ON h.ord = o.ord AND h.phase = 'hot' ORDER BY o.ord;
-- Of the drawn queries' exact top-10s, how many rows are hot (fixed by the data)
SELECT am, op, sum((SELECT count(*) FROM unnest(ids) x WHERE x > 3000)) AS hot_pairs
	FROM tier_truth WHERE qid <= 20 GROUP BY am, op ORDER BY am, op;

-- An iterative scan run to its end (every list probed) returns every row
-- once, hot and cold alike
SET enable_seqscan = off;
SET vecdb.hnsw_iterative_scan = relaxed_order;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SET vecdb.ivfpq_probes = 20;
SELECT o.am, o.opclass, x.n, x.n_distinct, x.hot
	FROM tier_ops o, LATERAL (SELECT count(*) AS n, count(DISTINCT id) AS n_distinct,
		count(*) FILTER (WHERE id > 3000) AS hot
		FROM tier_all(('tier_' || o.am)::regclass, o.op, :'q') AS a(id)) x ORDER BY o.ord;
-- and so does strict_order, in distance order
SET vecdb.hnsw_iterative_scan = strict_order;
SET vecdb.ivfpq_iterative_scan = strict_order;
SELECT o.am, o.opclass, cardinality(tier_knn(('tier_' || o.am)::regclass, o.op, :'q', true, 500)) AS n
	FROM tier_ops o ORDER BY o.ord;
RESET vecdb.hnsw_iterative_scan;
RESET vecdb.ivfpq_iterative_scan;
SET vecdb.ivfpq_probes = 5;
RESET enable_seqscan;

-- vecdb_merge merges every hot row and says how many; the tier is empty
-- after it, and a second call has nothing to merge
SELECT clock_timestamp() AS before_merge \gset
SELECT o.am, o.opclass, vecdb_merge(o.idx::regclass) AS merged FROM tier_ops o ORDER BY o.ord;
SELECT o.am, o.opclass, h.rows, h.pages <= 1 AS pages_ok, h.merged,
	h.last_merge BETWEEN :'before_merge' AND clock_timestamp() AS last_merge_ok
	FROM tier_ops o, LATERAL vecdb_hot_tier(o.idx::regclass) h ORDER BY o.ord;
SELECT o.am, o.opclass, vecdb_merge(o.idx::regclass) AS merged_again FROM tier_ops o ORDER BY o.ord;
SELECT o.am, o.opclass, h.rows, h.merged FROM tier_ops o, LATERAL vecdb_hot_tier(o.idx::regclass) h
	ORDER BY o.ord;
SELECT o.am, o.opclass, (SELECT count(*) FROM vecdb_index_check(o.idx::regclass)) = 0 AS sound
	FROM tier_ops o ORDER BY o.ord;
-- the ivfpq lists hold every row now
SELECT o.opclass, i.entries, l.entries AS list_entries
	FROM tier_ops o, LATERAL vecdb_ivfpq_info(o.idx::regclass) i,
	LATERAL (SELECT sum(entries) AS entries FROM vecdb_ivfpq_lists(o.idx::regclass)) l
	WHERE o.am = 'ivfpq' ORDER BY o.ord;

-- After the merge, ivfpq answers exactly as the twin whose rows took the
-- synchronous path: same ids, same order, for every query and opclass
SELECT o.opclass, bool_and(tier_knn('tier_ivfpq', o.op, q.q, true) = tier_knn('tier_ivfpq_sync', o.op, q.q, true))
		AS same_as_synchronous
	FROM tier_ops o JOIN tier_qdata q ON q.am = o.am WHERE o.am = 'ivfpq' GROUP BY o.ord, o.opclass ORDER BY o.ord;
-- Recall after the merge: no higher than with the rows hot, and above the
-- same bar, but for ivfpq's inner product: the planted 4q rows lie far
-- from every centroid, their PQ codes rank them poorly, and re-ranking 100
-- candidates recovers only some (the synchronous path does no better, as
-- shown above); still far above the 30 pairs a merge that lost the hot rows
-- would leave. ivfpq's merge is deterministic, so its recall with the rows
-- hot is at least that after the merge; hnsw's graph after the merge
-- depends on random levels and may, by chance, find a pair or two (of
-- 200) the smaller graph missed: 1% of slack for it.
SELECT tier_measure('merged');
SELECT o.am, o.opclass, m.hits >= CASE o.ord WHEN 6 THEN 140 ELSE 190 END AS recall_ok,
	m.planted_hits >= 95 AS planted_095,
	CASE o.am WHEN 'ivfpq' THEN h.hits >= m.hits ELSE h.hits >= m.hits - 2 END AS hot_no_lower,
	h.planted_hits >= m.planted_hits AS planted_no_lower
	FROM tier_ops o JOIN tier_hits h ON h.ord = o.ord AND h.phase = 'hot'
		JOIN tier_hits m ON m.ord = o.ord AND m.phase = 'merged' ORDER BY o.ord;
-- still every row once, from the cold structure alone now
SET enable_seqscan = off;
SET vecdb.hnsw_iterative_scan = relaxed_order;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SET vecdb.ivfpq_probes = 20;
SELECT o.am, o.opclass, x.n, x.n_distinct
	FROM tier_ops o, LATERAL (SELECT count(*) AS n, count(DISTINCT id) AS n_distinct
		FROM tier_all(('tier_' || o.am)::regclass, o.op, :'q') AS a(id)) x ORDER BY o.ord;
RESET vecdb.hnsw_iterative_scan;
RESET vecdb.ivfpq_iterative_scan;
SET vecdb.ivfpq_probes = 5;
RESET enable_seqscan;

-- rows inserted after a merge are hot again, and are found; a merge counts on
SELECT setseed(0.5);
INSERT INTO tier_hnsw SELECT 5000 + i, tier_point('hnsw', i) FROM generate_series(1, 50) i;
INSERT INTO tier_ivfpq SELECT 5000 + i, tier_point('ivfpq', i) FROM generate_series(1, 50) i;
SELECT o.am, o.opclass, h.rows, h.merged FROM tier_ops o, LATERAL vecdb_hot_tier(o.idx::regclass) h
	ORDER BY o.ord;
SELECT o.am, o.opclass, bool_and(tier_knn(('tier_' || o.am)::regclass, o.op, r.v, true, 1) = ARRAY[r.id]) AS self
	FROM tier_ops o, LATERAL (SELECT id, v FROM tier_hnsw WHERE o.am = 'hnsw' UNION ALL
		SELECT id, v FROM tier_ivfpq WHERE o.am = 'ivfpq') r
	WHERE r.id > 5000 AND o.op <> '<#>' GROUP BY o.ord, o.am, o.opclass ORDER BY o.ord;
SELECT o.am, o.opclass, vecdb_merge(o.idx::regclass) AS merged FROM tier_ops o ORDER BY o.ord;
SELECT o.am, o.opclass, h.rows, h.merged FROM tier_ops o, LATERAL vecdb_hot_tier(o.idx::regclass) h
	ORDER BY o.ord;

DROP TABLE tier_hnsw, tier_ivfpq, tier_ivfpq_sync, tier_truth, tier_hits;
DROP FUNCTION tier_measure;

-- (b) Filtered queries over hot rows. 3,000 rows built in, in 50 categories
-- (id % 50) of 60 rows; then 1,000 hot rows, 20 more to each category, and
-- 15 hot rows in a category of their own (100). An hnsw index for L2, an
-- ivfpq one for cosine.
CREATE TABLE tier_cat (id int PRIMARY KEY, category int, v vector(24)) WITH (autovacuum_enabled = off);
INSERT INTO tier_cat SELECT id, id % 50, v FROM tier_rows WHERE id <= 3000;
CREATE INDEX tier_cat_l2 ON tier_cat USING hnsw (v vector_l2_ops);
CREATE INDEX tier_cat_cos ON tier_cat USING ivfpq (v vector_cosine_ops) WITH (lists = 20, m = 8);
INSERT INTO tier_cat SELECT id, id % 50, v FROM tier_rows WHERE id > 3000 AND id <= 4000;
UPDATE tier_cat SET category = 100 WHERE id IN (SELECT 3000 + 67 * i FROM generate_series(1, 14) i);
INSERT INTO tier_cat SELECT 4001, 100, v FROM tier_rows WHERE id = 4001;
ANALYZE tier_cat;
SELECT h.rows >= 1001 AS hot, h.merged FROM vecdb_hot_tier('tier_cat_l2') h;
SELECT h.rows >= 1001 AS hot, h.merged FROM vecdb_hot_tier('tier_cat_cos') h;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM tier_cat WHERE category = 7 ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM tier_cat WHERE category = 7 ORDER BY v <=> :'q' LIMIT 10;
RESET enable_seqscan;

-- Recall of the 20 drawn queries in category 7 (60 cold rows and 20 hot):
-- always 10 rows of category 7; relaxed_order and strict_order; strict in
-- exact distance order (tier_knn checks)
CREATE FUNCTION tier_cat_recall(op text, cat int, ordered bool) RETURNS float8 LANGUAGE sql AS $$
	SELECT avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e))))::float8 / 10
	FROM tier_queries q, LATERAL (SELECT
		tier_knn('tier_cat', op, q.q, true, 10, 'category = ' || cat, ordered) AS a,
		tier_knn('tier_cat', op, q.q, false, 10, 'category = ' || cat) AS e) s
	WHERE NOT q.planted
$$;
SET vecdb.hnsw_iterative_scan = relaxed_order;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SELECT tier_cat_recall('<->', 7, false) >= 0.9 AS hnsw_relaxed, tier_cat_recall('<=>', 7, false) >= 0.9 AS ivfpq_relaxed;
SET vecdb.hnsw_iterative_scan = strict_order;
SET vecdb.ivfpq_iterative_scan = strict_order;
SELECT tier_cat_recall('<->', 7, true) >= 0.9 AS hnsw_strict, tier_cat_recall('<=>', 7, true) >= 0.9 AS ivfpq_strict;
-- the hot rows of the category are among those found: of the 20 queries'
-- exact answers, every hot pair is found (the tier is scanned exactly)
SET vecdb.hnsw_iterative_scan = relaxed_order;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SELECT sum(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT x FROM unnest(e) x WHERE x > 3000)))
	= sum((SELECT count(*) FROM unnest(e) x WHERE x > 3000)) AS hot_found,
	sum((SELECT count(*) FROM unnest(e) x WHERE x > 3000)) > 0 AS some_hot
	FROM tier_queries, LATERAL (VALUES ('<->'), ('<=>')) o(op),
	LATERAL (SELECT tier_knn('tier_cat', o.op, q, false, 10, 'category = 7') AS e,
		tier_knn('tier_cat', o.op, q, true, 10, 'category = 7', false) AS a) s
	WHERE NOT planted;
-- a category only hot rows have: every one of them, in both orders, with
-- both access methods (the cold search finds none and runs to its end)
CREATE FUNCTION tier_cat_ids(op text, cat int, k int, ordered bool) RETURNS int[] LANGUAGE sql AS $$
	SELECT array_agg(id ORDER BY id) FROM unnest(tier_knn('tier_cat', op, (SELECT q FROM tier_queries WHERE qid = 1), true, k,
		'category = ' || cat, ordered, false)) id
$$;
SELECT tier_cat_ids('<->', 100, 20, false) AS hnsw_relaxed, tier_cat_ids('<=>', 100, 20, false) AS ivfpq_relaxed;
SET vecdb.hnsw_iterative_scan = strict_order;
SET vecdb.ivfpq_iterative_scan = strict_order;
SELECT tier_cat_ids('<->', 100, 20, true) AS hnsw_strict, tier_cat_ids('<=>', 100, 20, true) AS ivfpq_strict;
-- a category no row has: nothing, and the scan ends
SELECT cardinality(tier_knn('tier_cat', '<->', :'q', true, 10, 'category = 1000', true, false)) AS hnsw,
	cardinality(tier_knn('tier_cat', '<=>', :'q', true, 10, 'category = 1000', true, false)) AS ivfpq;
-- more rows than ef_search, unfiltered, with strict_order: as many as LIMIT, in order
SELECT cardinality(tier_knn('tier_cat', '<->', :'q', true, 300)) AS hnsw,
	cardinality(tier_knn('tier_cat', '<=>', :'q', true, 300)) AS ivfpq;
-- vecdb.hnsw_max_scan_tuples and vecdb.ivfpq_max_probes still bound the
-- cold search; the hot rows of the category are found all the same
SET vecdb.hnsw_iterative_scan = relaxed_order;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SET vecdb.hnsw_max_scan_tuples = 100;
SET vecdb.ivfpq_probes = 1;
SET vecdb.ivfpq_max_probes = 2;
SELECT tier_cat_ids('<->', 100, 20, false) AS hnsw_bounded, tier_cat_ids('<=>', 100, 20, false) AS ivfpq_bounded;
RESET vecdb.hnsw_max_scan_tuples;
RESET vecdb.ivfpq_max_probes;
SET vecdb.ivfpq_probes = 5;
-- after a merge, the same rows of category 100 are found from the cold
-- structure alone
SELECT vecdb_merge('tier_cat_l2') >= 1001 AS hnsw_merged, vecdb_merge('tier_cat_cos') >= 1001 AS ivfpq_merged;
SELECT tier_cat_ids('<->', 100, 20, false) AS hnsw_merged, tier_cat_ids('<=>', 100, 20, false) AS ivfpq_merged;
SELECT (SELECT count(*) FROM vecdb_index_check('tier_cat_l2')) = 0 AS hnsw_sound,
	(SELECT count(*) FROM vecdb_index_check('tier_cat_cos')) = 0 AS ivfpq_sound;
-- and now the bounds do bound: the 15 rows, scattered over the graph and
-- the lists, are no longer all found within them
SET vecdb.hnsw_max_scan_tuples = 100;
SET vecdb.ivfpq_probes = 1;
SET vecdb.ivfpq_max_probes = 2;
SELECT coalesce(cardinality(tier_cat_ids('<->', 100, 20, false)), 0) < 15 AS hnsw_bounded,
	coalesce(cardinality(tier_cat_ids('<=>', 100, 20, false)), 0) < 15 AS ivfpq_bounded;
RESET vecdb.hnsw_max_scan_tuples;
RESET vecdb.ivfpq_max_probes;
SET vecdb.ivfpq_probes = 5;
SELECT tier_cat_recall('<->', 7, false) >= 0.9 AS hnsw_relaxed, tier_cat_recall('<=>', 7, false) >= 0.9 AS ivfpq_relaxed;
RESET vecdb.hnsw_iterative_scan;
RESET vecdb.ivfpq_iterative_scan;
SET vecdb.ivfpq_probes = 5;
DROP TABLE tier_cat;
DROP FUNCTION tier_cat_recall, tier_cat_ids;

-- (c) DELETE and UPDATE of hot rows. 2,000 rows built in, 500 inserted hot;
-- an hnsw index for L2, an ivfpq one for cosine.
CREATE TABLE tier_dml (id int PRIMARY KEY, tag int, v vector(24)) WITH (autovacuum_enabled = off);
INSERT INTO tier_dml SELECT id, 0, v FROM tier_rows WHERE id <= 2000;
CREATE INDEX tier_dml_l2 ON tier_dml USING hnsw (v vector_l2_ops);
CREATE INDEX tier_dml_cos ON tier_dml USING ivfpq (v vector_cosine_ops) WITH (lists = 20, m = 8);
INSERT INTO tier_dml SELECT id, 0, v FROM tier_rows WHERE id > 3000 AND id <= 3500;
SELECT h.rows, h.merged FROM vecdb_hot_tier('tier_dml_l2') h;
SELECT h.rows, h.merged FROM vecdb_hot_tier('tier_dml_cos') h;
-- every fifth hot row, and every seventh cold one, deleted; the deleted
-- rows' vectors kept
CREATE TABLE tier_gone AS SELECT id, v FROM tier_dml WHERE (id > 3000 AND id % 5 = 0) OR (id <= 2000 AND id % 7 = 0);
DELETE FROM tier_dml WHERE id IN (SELECT id FROM tier_gone);
-- an UPDATE of the vector of hot rows (id % 5 = 1) and of cold ones (id %
-- 7 = 1): the new versions are hot, their vector a new one drawn from
-- another cluster; and an UPDATE of another column of hot rows (id % 5 =
-- 2), which the heap may do as a HOT update (no new index entry)
CREATE TABLE tier_moved AS SELECT id, v AS old_v, tier_point('ivfpq', id + 7) AS new_v
	FROM tier_dml WHERE (id > 3000 AND id % 5 = 1) OR (id <= 2000 AND id % 7 = 1) ORDER BY id;
UPDATE tier_dml d SET v = m.new_v FROM tier_moved m WHERE m.id = d.id;
UPDATE tier_dml SET tag = 1 WHERE id > 3000 AND id % 5 = 2;
SELECT (SELECT count(*) FROM tier_gone) AS deleted, (SELECT count(*) FROM tier_moved) AS moved,
	(SELECT count(*) FROM tier_dml) AS rows;
-- the new versions of the moved rows are appended: at least 500 + 386 hot
SELECT h.rows >= 886 AS hot FROM vecdb_hot_tier('tier_dml_l2') h;
SELECT h.rows >= 886 AS hot FROM vecdb_hot_tier('tier_dml_cos') h;

-- The checks, run with the rows hot, after VACUUM, and after more inserts:
-- a deleted row is never returned, not even for its own vector; a moved row
-- is found first by its new vector, and is not among the 10 nearest of its
-- old one; a row updated in place is found first by its vector; a scan run
-- to its end returns every row once
CREATE FUNCTION tier_dml_check(OUT op text, OUT deleted_returned bigint, OUT moved_found bool,
	OUT moved_not_at_old bool, OUT tagged_found bool, OUT n bigint, OUT n_distinct bigint)
RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN
	FOR op IN SELECT unnest(ARRAY['<->', '<=>']) LOOP
		SELECT count(*) INTO deleted_returned FROM tier_gone g,
			LATERAL unnest(tier_knn('tier_dml', op, g.v, true)) x WHERE x IN (SELECT id FROM tier_gone);
		SELECT bool_and(tier_knn('tier_dml', op, m.new_v, true, 1) = ARRAY[m.id]),
			bool_and(NOT m.id = ANY (tier_knn('tier_dml', op, m.old_v, true)))
			INTO moved_found, moved_not_at_old FROM tier_moved m;
		SELECT bool_and(tier_knn('tier_dml', op, d.v, true, 1) = ARRAY[d.id]) INTO tagged_found
			FROM tier_dml d WHERE d.tag = 1;
		PERFORM set_config('vecdb.hnsw_iterative_scan', 'relaxed_order', true);
		PERFORM set_config('vecdb.ivfpq_iterative_scan', 'relaxed_order', true);
		PERFORM set_config('vecdb.ivfpq_probes', '20', true);
		SELECT count(*), count(DISTINCT id) INTO n, n_distinct
			FROM tier_all('tier_dml', op, (SELECT q FROM tier_queries WHERE qid = 1)) AS a(id);
		PERFORM set_config('vecdb.hnsw_iterative_scan', 'off', true);
		PERFORM set_config('vecdb.ivfpq_iterative_scan', 'off', true);
		PERFORM set_config('vecdb.ivfpq_probes', '5', true);
		RETURN NEXT;
	END LOOP;
END $$;
SELECT * FROM tier_dml_check();
SELECT (SELECT count(*) FROM vecdb_index_check('tier_dml_l2')) = 0 AS hnsw_sound,
	(SELECT count(*) FROM vecdb_index_check('tier_dml_cos')) = 0 AS ivfpq_sound;

-- VACUUM merges every hot row (vecdb is not preloaded: no worker does) and
-- takes the dead ones out of the tier: the tier is empty after it, the
-- rows merged are at least the live hot ones (300 inserted and neither
-- deleted nor moved, 386 new versions) and at most every entry appended
-- (500, 386, and 100 if the tag UPDATE was not a HOT one)
VACUUM tier_dml;
SELECT h.rows, h.pages <= 1 AS pages_ok, h.merged BETWEEN 686 AND 986 AS merged_ok,
	h.last_merge IS NOT NULL AS merged_once FROM vecdb_hot_tier('tier_dml_l2') h;
SELECT h.rows, h.pages <= 1 AS pages_ok, h.merged BETWEEN 686 AND 986 AS merged_ok,
	h.last_merge IS NOT NULL AS merged_once FROM vecdb_hot_tier('tier_dml_cos') h;
SELECT (SELECT count(*) FROM vecdb_index_check('tier_dml_l2')) = 0 AS hnsw_sound,
	(SELECT count(*) FROM vecdb_index_check('tier_dml_cos')) = 0 AS ivfpq_sound;
-- the ivfpq lists hold exactly the live rows
SELECT sum(entries) AS list_entries FROM vecdb_ivfpq_lists('tier_dml_cos');
SELECT * FROM tier_dml_check();
-- rows inserted after the VACUUM reuse the freed heap slots: a dead row's
-- TID left in the tier or the cold structure would return a new row twice
-- or in the wrong place (tier_knn checks both)
INSERT INTO tier_dml SELECT 10000 + id, 0, v FROM tier_rows WHERE id > 3500 AND id <= 3800;
SELECT h.rows FROM vecdb_hot_tier('tier_dml_l2') h;
SELECT * FROM tier_dml_check();
VACUUM tier_dml;
SELECT h.rows FROM vecdb_hot_tier('tier_dml_l2') h;
SELECT h.rows FROM vecdb_hot_tier('tier_dml_cos') h;
SELECT * FROM tier_dml_check();
SELECT (SELECT count(*) FROM vecdb_index_check('tier_dml_l2')) = 0 AS hnsw_sound,
	(SELECT count(*) FROM vecdb_index_check('tier_dml_cos')) = 0 AS ivfpq_sound;
-- DELETE of every hot row before any merge: the scans return only the
-- cold rows, and VACUUM leaves an empty tier
INSERT INTO tier_dml SELECT 20000 + id, 2, v FROM tier_rows WHERE id > 3800 AND id <= 3900;
DELETE FROM tier_dml WHERE tag = 2;
SELECT count(*) AS returned FROM tier_queries q, LATERAL unnest(tier_knn('tier_dml', '<->', q.q, true)) x
	WHERE x >= 20000;
VACUUM tier_dml;
SELECT h.rows FROM vecdb_hot_tier('tier_dml_l2') h;
SELECT h.rows FROM vecdb_hot_tier('tier_dml_cos') h;
SELECT (SELECT count(*) FROM vecdb_index_check('tier_dml_l2')) = 0 AS hnsw_sound,
	(SELECT count(*) FROM vecdb_index_check('tier_dml_cos')) = 0 AS ivfpq_sound;
DROP TABLE tier_dml, tier_gone, tier_moved;
DROP FUNCTION tier_dml_check;

-- (d) streaming = off: inserts take the synchronous path and no row is ever
-- hot; the answers are the same. The option is a boolean.
CREATE TABLE tier_sync (id int PRIMARY KEY, v vector(24)) WITH (autovacuum_enabled = off);
INSERT INTO tier_sync SELECT * FROM tier_rows WHERE id <= 1000;
CREATE INDEX tier_sync_l2 ON tier_sync USING hnsw (v vector_l2_ops) WITH (streaming = off);
CREATE INDEX tier_sync_l1 ON tier_sync USING ivfpq (v vector_l1_ops) WITH (lists = 10, m = 8, streaming = off);
CREATE INDEX tier_sync_bad ON tier_sync USING hnsw (v vector_l2_ops) WITH (streaming = maybe);
CREATE INDEX tier_sync_bad ON tier_sync USING ivfpq (v vector_l2_ops) WITH (streaming = 2);
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'tier_sync_%' ORDER BY relname;
INSERT INTO tier_sync SELECT * FROM tier_rows WHERE id > 3000 AND id <= 3300;
INSERT INTO tier_sync SELECT * FROM tier_rows WHERE id > 4000;
SELECT h.rows, h.pages, h.merged, h.last_merge IS NULL AS never_merged FROM vecdb_hot_tier('tier_sync_l2') h;
SELECT h.rows, h.pages, h.merged, h.last_merge IS NULL AS never_merged FROM vecdb_hot_tier('tier_sync_l1') h;
SELECT vecdb_merge('tier_sync_l2') AS hnsw_merged, vecdb_merge('tier_sync_l1') AS ivfpq_merged;
SELECT (SELECT entries FROM vecdb_ivfpq_info('tier_sync_l1')) AS ivfpq_entries,
	(SELECT sum(entries) FROM vecdb_ivfpq_lists('tier_sync_l1')) AS list_entries;
-- recall of the drawn queries and the planted ones (all their nearest rows
-- were inserted): above the bars of (a)
SELECT avg(cardinality(ARRAY(SELECT unnest(tier_knn('tier_sync', '<->', q, true))
		INTERSECT SELECT unnest(tier_knn('tier_sync', '<->', q, false))))) >= 9.5 AS hnsw_recall_095,
	avg(cardinality(ARRAY(SELECT unnest(tier_knn('tier_sync', '<+>', q, true))
		INTERSECT SELECT unnest(tier_knn('tier_sync', '<+>', q, false))))) >= 9.5 AS ivfpq_recall_095
	FROM tier_queries;
-- ALTER INDEX turns streaming on and off on an existing index: rows hot
-- while it was on stay found after it is turned off, and are merged
ALTER INDEX tier_sync_l2 SET (streaming = on);
ALTER INDEX tier_sync_l1 SET (streaming = on);
INSERT INTO tier_sync SELECT 10000 + id, v FROM tier_rows WHERE id > 3300 AND id <= 3400;
SELECT h.rows AS hnsw_hot FROM vecdb_hot_tier('tier_sync_l2') h;
SELECT h.rows AS ivfpq_hot FROM vecdb_hot_tier('tier_sync_l1') h;
ALTER INDEX tier_sync_l2 SET (streaming = off);
ALTER INDEX tier_sync_l1 RESET (streaming);
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'tier_sync_%' ORDER BY relname;
INSERT INTO tier_sync SELECT 20000 + id, v FROM tier_rows WHERE id > 3400 AND id <= 3450;
-- the hnsw index (off again) adds no row to its tier; ivfpq (reset: on) does
SELECT h.rows AS hnsw_hot FROM vecdb_hot_tier('tier_sync_l2') h;
SELECT h.rows AS ivfpq_hot FROM vecdb_hot_tier('tier_sync_l1') h;
SELECT bool_and(tier_knn('tier_sync', '<->', v, true, 1) = ARRAY[id]) AS hnsw_self,
	bool_and(tier_knn('tier_sync', '<+>', v, true, 1) = ARRAY[id]) AS ivfpq_self
	FROM tier_sync WHERE id >= 10000;
SELECT vecdb_merge('tier_sync_l2') AS hnsw_merged, vecdb_merge('tier_sync_l1') AS ivfpq_merged;
SELECT bool_and(tier_knn('tier_sync', '<->', v, true, 1) = ARRAY[id]) AS hnsw_self,
	bool_and(tier_knn('tier_sync', '<+>', v, true, 1) = ARRAY[id]) AS ivfpq_self
	FROM tier_sync WHERE id >= 10000;
SET enable_seqscan = off;
SET vecdb.hnsw_iterative_scan = relaxed_order;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SET vecdb.ivfpq_probes = 10;
SELECT (SELECT count(DISTINCT id) FROM tier_all('tier_sync', '<->', :'q') a(id)) AS hnsw_all,
	(SELECT count(DISTINCT id) FROM tier_all('tier_sync', '<+>', :'q') a(id)) AS ivfpq_all,
	(SELECT count(*) FROM tier_sync) AS rows;
RESET vecdb.hnsw_iterative_scan;
RESET vecdb.ivfpq_iterative_scan;
SET vecdb.ivfpq_probes = 5;
RESET enable_seqscan;
SELECT (SELECT count(*) FROM vecdb_index_check('tier_sync_l2')) = 0 AS hnsw_sound,
	(SELECT count(*) FROM vecdb_index_check('tier_sync_l1')) = 0 AS ivfpq_sound;
DROP TABLE tier_sync;

-- (e) Back-pressure: past vecdb.hot_tier_max_rows an INSERT merges a batch
-- itself (a quarter of the cap, rounded up to whole pages). 64 dimensions:
-- an entry holds at least its 256 bytes of vector and a 6-byte heap TID, so
-- a page holds at most 31 of them, and a batch of a cap of 100 is at most
-- 25 + 30 rows. With a cap of 100 the tier never holds more than 155 rows
-- after an INSERT has committed.
SHOW vecdb.hot_tier_max_rows;
SET vecdb.hot_tier_max_rows = 9;
SET vecdb.hot_tier_max_rows = 100;
SELECT setseed(0.875);
CREATE TABLE tier_bp_vectors AS SELECT i AS id, ARRAY(SELECT random() - 0.5 FROM generate_series(1, 64) WHERE i > 0)::vector AS v
	FROM generate_series(1, 800) i;
CREATE TABLE tier_bp_hnsw (id int PRIMARY KEY, v vector(64)) WITH (autovacuum_enabled = off);
CREATE TABLE tier_bp_ivfpq (id int PRIMARY KEY, v vector(64)) WITH (autovacuum_enabled = off);
INSERT INTO tier_bp_hnsw SELECT * FROM tier_bp_vectors WHERE id <= 200;
INSERT INTO tier_bp_ivfpq SELECT * FROM tier_bp_vectors WHERE id <= 200;
CREATE INDEX tier_bp_hnsw_l2 ON tier_bp_hnsw USING hnsw (v vector_l2_ops);
CREATE INDEX tier_bp_ivfpq_l2 ON tier_bp_ivfpq USING ivfpq (v vector_l2_ops) WITH (lists = 4, m = 8);
-- 600 single-row INSERTs, each committed, watching the tier after each
CREATE TABLE tier_bp_seen (idx text, inserts int, max_rows bigint);
CREATE PROCEDURE tier_bp_fill(tbl text, idx regclass, n int) LANGUAGE plpgsql AS $$
DECLARE
	r bigint;
	hi bigint := 0;
BEGIN
	FOR i IN 201 .. 200 + n LOOP
		EXECUTE format('INSERT INTO %I SELECT * FROM tier_bp_vectors WHERE id = %s', tbl, i);
		COMMIT;
		SELECT h.rows INTO r FROM vecdb_hot_tier(idx) h;
		hi := greatest(hi, r);
	END LOOP;
	INSERT INTO tier_bp_seen VALUES (idx::text, n, hi);
END $$;
CALL tier_bp_fill('tier_bp_hnsw', 'tier_bp_hnsw_l2', 600);
CALL tier_bp_fill('tier_bp_ivfpq', 'tier_bp_ivfpq_l2', 600);
-- the tier filled up to the cap and never held more than cap + a batch;
-- every row appended is hot or merged
SELECT s.idx, s.inserts, s.max_rows BETWEEN 100 AND 155 AS bounded, h.rows <= 155 AS rows_bounded,
	h.merged > 0 AS merged_some, h.rows + h.merged AS appended, h.last_merge IS NOT NULL AS merged_once
	FROM tier_bp_seen s, LATERAL vecdb_hot_tier(s.idx::regclass) h ORDER BY s.idx;
-- every row is found once, and is its own vector's nearest
SET enable_seqscan = off;
SET vecdb.hnsw_iterative_scan = relaxed_order;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SET vecdb.ivfpq_probes = 4;
SELECT (SELECT count(*) FROM tier_bp_hnsw) AS rows,
	(SELECT count(DISTINCT id) FROM unnest(tier_knn('tier_bp_hnsw', '<->',
		(SELECT v FROM tier_bp_hnsw WHERE id = 1), true, 100000, ordered => false, exactly => false)) id) AS hnsw_all,
	(SELECT count(DISTINCT id) FROM unnest(tier_knn('tier_bp_ivfpq', '<->',
		(SELECT v FROM tier_bp_ivfpq WHERE id = 1), true, 100000, ordered => false, exactly => false)) id) AS ivfpq_all;
RESET vecdb.hnsw_iterative_scan;
RESET vecdb.ivfpq_iterative_scan;
SELECT bool_and(tier_knn('tier_bp_hnsw', '<->', v, true, 1) = ARRAY[id]) AS hnsw_self FROM tier_bp_hnsw;
SELECT bool_and(tier_knn('tier_bp_ivfpq', '<->', v, true, 1) = ARRAY[id]) AS ivfpq_self FROM tier_bp_ivfpq;
SET vecdb.ivfpq_probes = 5;
RESET enable_seqscan;
SELECT (SELECT count(*) FROM vecdb_index_check('tier_bp_hnsw_l2')) = 0 AS hnsw_sound,
	(SELECT count(*) FROM vecdb_index_check('tier_bp_ivfpq_l2')) = 0 AS ivfpq_sound;
-- the cap is per session: at the default, the same inserts stay hot
RESET vecdb.hot_tier_max_rows;
SELECT vecdb_merge('tier_bp_hnsw_l2') <= 155 AS hnsw_rest;
INSERT INTO tier_bp_hnsw SELECT id + 5000, v FROM tier_bp_vectors WHERE id <= 300;
SELECT h.rows FROM vecdb_hot_tier('tier_bp_hnsw_l2') h;
-- a cap SET in a new session before vecdb is loaded in it holds too
\c
SET vecdb.hot_tier_max_rows = 40;
INSERT INTO tier_bp_hnsw SELECT id + 6000, v FROM tier_bp_vectors WHERE id <= 100;
SHOW vecdb.hot_tier_max_rows;
SELECT h.rows <= 40 + 10 + 31 AS bounded, h.merged > 600 AS merged_more FROM vecdb_hot_tier('tier_bp_hnsw_l2') h;
-- (\c reset the session's settings)
SET vecdb.hnsw_ef_search = 100;
SET vecdb.ivfpq_probes = 5;
SET vecdb.ivfpq_rerank = 100;
DROP TABLE tier_bp_hnsw, tier_bp_ivfpq, tier_bp_seen, tier_bp_vectors;
DROP PROCEDURE tier_bp_fill;

-- (f) vecdb_merge: only the table's owner (or a member of the owner's
-- role, or a superuser); vecdb_hot_tier: whoever may SELECT the table.
-- Either on anything but a vecdb index: ERROR 42809.
SET client_min_messages = warning;
CREATE ROLE vecdb_tier_owner;
CREATE ROLE vecdb_tier_deputy IN ROLE vecdb_tier_owner;
CREATE ROLE vecdb_tier_reader;
CREATE ROLE vecdb_tier_stranger;
GRANT CREATE ON SCHEMA public TO vecdb_tier_owner;
RESET client_min_messages;
SET ROLE vecdb_tier_owner;
CREATE TABLE tier_priv (id int PRIMARY KEY, v vector(3)) WITH (autovacuum_enabled = off);
INSERT INTO tier_priv VALUES (1, '[1,0,0]'), (2, '[0,1,0]');
CREATE INDEX tier_priv_hnsw ON tier_priv USING hnsw (v vector_l2_ops);
CREATE INDEX tier_priv_ivfpq ON tier_priv USING ivfpq (v vector_cosine_ops) WITH (lists = 1, m = 1);
CREATE INDEX tier_priv_btree ON tier_priv (v);
INSERT INTO tier_priv SELECT i, ARRAY[i, -i, 1]::real[]::vector FROM generate_series(3, 12) i;
GRANT SELECT ON tier_priv TO vecdb_tier_reader;
RESET ROLE;
\set VERBOSITY sqlstate
-- a stranger may do neither
SET ROLE vecdb_tier_stranger;
SELECT vecdb_merge('tier_priv_hnsw');
SELECT vecdb_merge('tier_priv_ivfpq');
SELECT * FROM vecdb_hot_tier('tier_priv_hnsw');
SELECT * FROM vecdb_hot_tier('tier_priv_ivfpq');
-- a reader may look, not merge
SET ROLE vecdb_tier_reader;
SELECT rows, merged FROM vecdb_hot_tier('tier_priv_hnsw');
SELECT rows, merged FROM vecdb_hot_tier('tier_priv_ivfpq');
SELECT vecdb_merge('tier_priv_hnsw');
SELECT vecdb_merge('tier_priv_ivfpq');
RESET ROLE;
-- the refusals merged nothing
SELECT rows, merged FROM vecdb_hot_tier('tier_priv_hnsw');
-- the owner, a member of the owner's role and a superuser may merge
SET ROLE vecdb_tier_owner;
SELECT vecdb_merge('tier_priv_hnsw');
SET ROLE vecdb_tier_deputy;
SELECT vecdb_merge('tier_priv_ivfpq');
RESET ROLE;
INSERT INTO tier_priv VALUES (13, '[1,1,1]');
SELECT vecdb_merge('tier_priv_hnsw'), vecdb_merge('tier_priv_ivfpq');
-- not a vecdb index: a btree index, a table, a sequence, a view
CREATE SEQUENCE tier_priv_seq;
CREATE VIEW tier_priv_view AS SELECT * FROM tier_priv;
SELECT vecdb_merge('tier_priv_btree');
SELECT vecdb_merge('tier_priv_pkey');
SELECT vecdb_merge('tier_priv');
SELECT vecdb_merge('tier_priv_seq');
SELECT vecdb_merge('tier_priv_view');
SELECT * FROM vecdb_hot_tier('tier_priv_btree');
SELECT * FROM vecdb_hot_tier('tier_priv');
SELECT * FROM vecdb_hot_tier('tier_priv_view');
-- a relation that does not exist, and NULL
SELECT vecdb_merge(0);
SELECT * FROM vecdb_hot_tier(0);
SELECT vecdb_merge(NULL) IS NULL AS null_merge;
SELECT * FROM vecdb_hot_tier(NULL);
\set VERBOSITY default
-- the messages
SET ROLE vecdb_tier_reader;
SELECT vecdb_merge('tier_priv_hnsw');
RESET ROLE;
SELECT vecdb_merge('tier_priv_btree');
DROP VIEW tier_priv_view;
DROP TABLE tier_priv;
DROP SEQUENCE tier_priv_seq;
REVOKE CREATE ON SCHEMA public FROM vecdb_tier_owner;
DROP ROLE vecdb_tier_owner, vecdb_tier_deputy, vecdb_tier_reader, vecdb_tier_stranger;

RESET vecdb.hnsw_ef_search;
RESET vecdb.ivfpq_probes;
RESET vecdb.ivfpq_rerank;
DROP VIEW tier_rows, tier_queries;
DROP TABLE tier_data, tier_qdata, tier_centres, tier_ops;
DROP FUNCTION tier_knn, tier_all, tier_point;
