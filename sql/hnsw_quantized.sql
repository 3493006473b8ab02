-- hnsw WITH (quantization = 'sq8'): elements keep a byte a dimension, the
-- search ranks by the codes, and the executor re-ranks from the heap by the
-- lower bounds the scan returns (xs_recheckorderby). Random level draws
-- shape the graph, so only booleans are printed, never ids or recalls.

SELECT setseed(0.25);
-- A vector of d dims from eight latent values: rows near an 8-dimensional
-- surface, as embeddings lie near theirs, plus a little noise.
CREATE FUNCTION hq_vector(d int, z float8[]) RETURNS vector LANGUAGE sql VOLATILE AS $$
	SELECT array_agg(z[1 + j % 8] * sin(j * 0.37 + z[1 + (j * 3) % 8]) + (random() - 0.5) * 0.05
		ORDER BY j)::vector
	FROM generate_series(1, d) j
$$;
CREATE FUNCTION hq_latent() RETURNS float8[] LANGUAGE sql VOLATILE AS $$
	SELECT array_agg(random() * 2 - 1) FROM generate_series(1, 8)
$$;
CREATE TABLE hq (id int PRIMARY KEY, v vector(256));
INSERT INTO hq SELECT i, hq_vector(256, hq_latent()) FROM generate_series(1, 3000) i;
CREATE TABLE hq_queries (qid int PRIMARY KEY, q vector(256));
INSERT INTO hq_queries SELECT i, hq_vector(256, hq_latent()) FROM generate_series(1, 25) i;

-- knn_ids, knn_recall (with in_order: rows in exact distance order)
\getenv abs_srcdir PG_ABS_SRCDIR
\set knn_sql :abs_srcdir '/sql/include/knn.sql'
\i :knn_sql

-- (a) Every metric: recall@10 >= 0.95, rows in exact order, an index at most
-- half the size of the plain one, and a clean vecdb_index_check.
SET vecdb.hnsw_ef_search = 80;
CREATE FUNCTION hq_metric(opclass text, op text) RETURNS TABLE (recall_ok bool, half_size bool,
	check_clean bool) LANGUAGE plpgsql AS $$
DECLARE
	plain bigint;
	quantized bigint;
	r float8;
BEGIN
	EXECUTE format('CREATE INDEX hq_plain ON hq USING hnsw (v %s)', opclass);
	plain := pg_relation_size('hq_plain');
	DROP INDEX hq_plain;
	EXECUTE format('CREATE INDEX hq_sq8 ON hq USING hnsw (v %s) WITH (quantization = sq8)', opclass);
	quantized := pg_relation_size('hq_sq8');
	r := knn_recall('hq', op, 'hq_queries', true);
	IF r < 0.95 THEN
		RAISE NOTICE '% recall %', opclass, r;
	END IF;
	recall_ok := r >= 0.95;
	half_size := quantized <= plain / 2;
	check_clean := NOT EXISTS (SELECT FROM vecdb_index_check('hq_sq8'));
	DROP INDEX hq_sq8;
	RETURN NEXT;
END $$;
SELECT * FROM hq_metric('vector_l2_ops', '<->');
SELECT * FROM hq_metric('vector_ip_ops', '<#>');
SELECT * FROM hq_metric('vector_cosine_ops', '<=>');
SELECT * FROM hq_metric('vector_l1_ops', '<+>');

-- (b) Inserts into the graph on pages (streaming off), into the hot tier
-- (streaming on) and a merge, deletes and VACUUM: recall holds throughout.
CREATE INDEX hq_sq8 ON hq USING hnsw (v vector_l2_ops)
	WITH (quantization = sq8, streaming = off);
INSERT INTO hq SELECT i, hq_vector(256, hq_latent()) FROM generate_series(3001, 3600) i;
SELECT knn_recall('hq', '<->', 'hq_queries', true) >= 0.95 AS recall_after_inserts;
DELETE FROM hq WHERE id % 5 = 0;
VACUUM hq;
SELECT knn_recall('hq', '<->', 'hq_queries', true) >= 0.95 AS recall_after_vacuum;
SELECT count(*) AS problems FROM vecdb_index_check('hq_sq8');
ALTER INDEX hq_sq8 SET (streaming = on);
INSERT INTO hq SELECT i, hq_vector(256, hq_latent()) FROM generate_series(3601, 3800) i;
SELECT knn_recall('hq', '<->', 'hq_queries', true) >= 0.95 AS recall_with_hot_rows;
SELECT vecdb_merge('hq_sq8') > 0 AS merged;
SELECT knn_recall('hq', '<->', 'hq_queries', true) >= 0.95 AS recall_after_merge;
SELECT count(*) AS problems FROM vecdb_index_check('hq_sq8');

-- (c) Identical vectors each keep their own element, and all come back.
INSERT INTO hq SELECT 10000 + i, (SELECT v FROM hq WHERE id = 1) FROM generate_series(1, 4) i;
SET enable_seqscan = off;
SELECT count(*) AS copies FROM (SELECT id FROM hq ORDER BY v <-> (SELECT v FROM hq WHERE id = 1)
	LIMIT 5) s WHERE id = 1 OR id > 10000;
-- and the build keeps them apart too
REINDEX INDEX hq_sq8;
SELECT count(*) AS copies_after_reindex FROM (SELECT id FROM hq
	ORDER BY v <-> (SELECT v FROM hq WHERE id = 1) LIMIT 5) s WHERE id = 1 OR id > 10000;
SELECT count(*) AS problems FROM vecdb_index_check('hq_sq8');

-- (d) An iterative scan under a selective filter fills its LIMIT.
SET vecdb.hnsw_iterative_scan = relaxed_order;
SELECT count(*) AS filtered FROM (SELECT id FROM hq WHERE id % 10 = 3
	ORDER BY v <-> (SELECT q FROM hq_queries WHERE qid = 1) LIMIT 20) s;
RESET vecdb.hnsw_iterative_scan;
RESET enable_seqscan;
DROP INDEX hq_sq8;

-- (e) Hostile values: vectors near float's limits, tiny ones, constant ones,
-- and queries of the same kinds. Every answer is in exact order (or the
-- executor would raise "index returned tuples in wrong order"), none is lost.
CREATE TABLE hq_odd (id int, v vector(4));
INSERT INTO hq_odd VALUES (1, '[3e38,-3e38,1,0]'), (2, '[1e-38,-1e-38,0,1e-45]'),
	(3, '[0.5,0.5,0.5,0.5]'), (4, '[0,0,0,0]'), (5, '[1e19,1e19,-1e19,1]'),
	(6, '[1,2,3,4]'), (7, '[-1,-2,-3,-4]'), (8, '[1,2,3,4.000001]');
CREATE INDEX hq_odd_l2 ON hq_odd USING hnsw (v vector_l2_ops) WITH (quantization = sq8);
CREATE INDEX hq_odd_ip ON hq_odd USING hnsw (v vector_ip_ops) WITH (quantization = sq8);
CREATE INDEX hq_odd_cos ON hq_odd USING hnsw (v vector_cosine_ops) WITH (quantization = sq8);
CREATE INDEX hq_odd_l1 ON hq_odd USING hnsw (v vector_l1_ops) WITH (quantization = sq8);
CREATE TABLE hq_odd_queries (q vector(4));
INSERT INTO hq_odd_queries SELECT v FROM hq_odd;
INSERT INTO hq_odd_queries VALUES ('[3e38,3e38,3e38,3e38]'), ('[1,2,3,4.0000005]');
-- For each query: rows through the index, rows exactly, and whether the
-- index's came in order (NaN sorts last in float8, as ORDER BY has it).
CREATE FUNCTION hq_odd_check(op text) RETURNS TABLE (same_rows bool, in_order bool)
LANGUAGE plpgsql AS $$
DECLARE
	q vector;
	got float8[];
	want bigint;
BEGIN
	same_rows := true;
	in_order := true;
	FOR q IN SELECT * FROM hq_odd_queries LOOP
		PERFORM set_config('enable_seqscan', 'off', true);
		EXECUTE format('SELECT array_agg(d ORDER BY n) FROM (SELECT d, row_number() OVER () n
			FROM (SELECT v %s %L::vector d FROM hq_odd ORDER BY v %s %L::vector LIMIT 100) s) r',
			op, q, op, q) INTO got;
		PERFORM set_config('enable_seqscan', 'on', true);
		-- cosine leaves out the vectors it has no direction for (zero, or
		-- a norm whose square under- or overflows float), as plain does
		EXECUTE format('SELECT count(*) FROM hq_odd WHERE %L <> ''<=>'' OR v <=> v <> ''NaN''', op)
			INTO want;
		same_rows := same_rows AND cardinality(got) = want;
		in_order := in_order AND NOT EXISTS (SELECT FROM generate_series(1, cardinality(got) - 1) i
			WHERE got[i] > got[i + 1]);
	END LOOP;
	RETURN NEXT;
END $$;
SELECT op, c.* FROM unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op, hq_odd_check(op) c;
SET enable_seqscan = off;
SELECT id FROM hq_odd ORDER BY v <-> '[1,2,3,4]' LIMIT 3;
SELECT id FROM hq_odd ORDER BY v <-> NULL LIMIT 1;
RESET enable_seqscan;
SELECT count(*) AS problems FROM vecdb_index_check('hq_odd_l2');

-- (f) Options: a bad value, the widest codes that fit, and 3,072 dims.
CREATE INDEX ON hq USING hnsw (v vector_l2_ops) WITH (quantization = pq);
-- at m 16 an element holds 216 bytes besides its codes, and a page 8,152
CREATE TABLE hq_wide (id int, v vector(7937));
CREATE INDEX ON hq_wide USING hnsw (v vector_l2_ops) WITH (quantization = sq8);
CREATE TABLE hq_widest (id int, v vector(7936));
INSERT INTO hq_widest SELECT i, hq_vector(7936, hq_latent()) FROM generate_series(1, 20) i;
CREATE INDEX ON hq_widest USING hnsw (v vector_l2_ops) WITH (quantization = sq8);
SET enable_seqscan = off;
SELECT count(*) AS widest_rows FROM (SELECT id FROM hq_widest
	ORDER BY v <-> (SELECT v FROM hq_widest WHERE id = 7) LIMIT 5) s;
SELECT id AS nearest_to_7 FROM hq_widest ORDER BY v <-> (SELECT v FROM hq_widest WHERE id = 7) LIMIT 1;
RESET enable_seqscan;
CREATE TABLE hq_3072 (id int, v vector(3072));
INSERT INTO hq_3072 SELECT i, hq_vector(3072, hq_latent()) FROM generate_series(1, 300) i;
CREATE INDEX hq_3072_sq8 ON hq_3072 USING hnsw (v vector_cosine_ops) WITH (quantization = sq8);
CREATE INDEX hq_3072_plain ON hq_3072 USING hnsw (v vector_cosine_ops);
SELECT pg_relation_size('hq_3072_sq8') * 3 < pg_relation_size('hq_3072_plain') AS third_the_size;
DROP INDEX hq_3072_plain;
CREATE TABLE hq_3072_q (qid int PRIMARY KEY, q vector(3072));
INSERT INTO hq_3072_q SELECT i, hq_vector(3072, hq_latent()) FROM generate_series(1, 10) i;
SELECT knn_recall('hq_3072', '<=>', 'hq_3072_q', true) >= 0.95 AS recall_3072;

DROP FUNCTION knn_ids, knn_recall, knn_lost;
