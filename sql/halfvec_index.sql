-- halfvec in hnsw, ivfflat and ivfpq indexes: pgvector's operator class
-- names; hnsw keeps the values as halves, ivfflat and ivfpq as floats.
-- Recall against exact search
-- (the operators of halfvec compute in float too, so both rank alike),
-- inserts, the hot tier, vecdb_index_check, and the widest halfvec.
-- Only counts and booleans are printed.
\i sql/include/knn.sql

SELECT setseed(0.5);
CREATE TABLE half_centres (c int PRIMARY KEY, a float8[]);
INSERT INTO half_centres
	SELECT c, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 24) WHERE c >= 0)
	FROM generate_series(0, 19) c;
CREATE TABLE half_items (id int PRIMARY KEY, v halfvec(24));
INSERT INTO half_items
	SELECT i, ARRAY(SELECT ctr[d] + 0.4 * (random() - 0.5) FROM generate_series(1, 24) d)::halfvec
	FROM (SELECT i, (SELECT a FROM half_centres WHERE c = i % 20) AS ctr
		FROM generate_series(1, 2000) i) s;
CREATE TABLE half_queries (qid int PRIMARY KEY, q vector(24));
INSERT INTO half_queries
	SELECT qid, ARRAY(SELECT ctr[d] + 0.4 * (random() - 0.5) FROM generate_series(1, 24) d)::vector
	FROM (SELECT qid, (SELECT a FROM half_centres WHERE c = qid % 20) AS ctr
		FROM generate_series(1, 20) qid) s;

-- hnsw, the four operator classes
CREATE INDEX half_l2 ON half_items USING hnsw (v halfvec_l2_ops) WITH (streaming = off);
SELECT knn_recall('half_items', '<->', 'half_queries', true) >= 0.95 AS hnsw_l2;
DROP INDEX half_l2;
CREATE INDEX half_ip ON half_items USING hnsw (v halfvec_ip_ops);
SELECT knn_recall('half_items', '<#>', 'half_queries', true) >= 0.95 AS hnsw_ip;
DROP INDEX half_ip;
CREATE INDEX half_cos ON half_items USING hnsw (v halfvec_cosine_ops);
SELECT knn_recall('half_items', '<=>', 'half_queries', true) >= 0.95 AS hnsw_cosine;
DROP INDEX half_cos;
CREATE INDEX half_l1 ON half_items USING hnsw (v halfvec_l1_ops) WITH (m = 8);
SELECT knn_recall('half_items', '<+>', 'half_queries', true) >= 0.95 AS hnsw_l1;
-- rows inserted after the build (through the hot tier), found by their
-- own values; the index sound
INSERT INTO half_items
	SELECT i, ARRAY(SELECT 3 + random() FROM generate_series(1, 24) WHERE i > 0)::halfvec
	FROM generate_series(2001, 2050) i;
SET enable_seqscan = off;
SELECT count(*) AS found_by_own_value FROM half_items t
WHERE t.id > 2000 AND (SELECT u.id FROM half_items u ORDER BY u.v <+> t.v LIMIT 1) = t.id;
RESET enable_seqscan;
SELECT count(*) AS problems FROM vecdb_index_check('half_l1');
DROP INDEX half_l1;

-- hnsw keeps halves: the index of the same rows as vector is larger by
-- the vectors' other two bytes a value
CREATE TABLE half_as_floats AS SELECT id, v::vector(24) AS v FROM half_items;
CREATE INDEX half_floats_l2 ON half_as_floats USING hnsw (v vector_l2_ops) WITH (streaming = off);
CREATE INDEX half_halves_l2 ON half_items USING hnsw (v halfvec_l2_ops) WITH (streaming = off);
SELECT pg_relation_size('half_halves_l2') < 0.85 * pg_relation_size('half_floats_l2') AS halves_smaller;
-- pgvector's way to halve an index of a vector column: an expression
CREATE INDEX half_expr ON half_as_floats USING hnsw ((v::halfvec(24)) halfvec_cosine_ops);
SET enable_seqscan = off;
SELECT count(*) AS expression_found_own FROM (SELECT id, v FROM half_as_floats WHERE id <= 200) t
WHERE (SELECT u.id FROM half_as_floats u ORDER BY u.v::halfvec(24) <=> t.v::halfvec(24) LIMIT 1) = t.id;
RESET enable_seqscan;
SELECT count(*) AS problems FROM vecdb_index_check('half_expr');
DROP TABLE half_as_floats;
DROP INDEX half_halves_l2;
-- an odd count of halves pads its last slot
CREATE TABLE half_odd (id int PRIMARY KEY, v halfvec(3));
INSERT INTO half_odd SELECT i, ARRAY[i, -i, i % 7]::halfvec FROM generate_series(1, 300) i;
CREATE INDEX ON half_odd USING hnsw (v halfvec_l2_ops);
SET enable_seqscan = off;
SELECT count(*) AS odd_found_own FROM half_odd t
WHERE (SELECT u.id FROM half_odd u ORDER BY u.v <-> t.v LIMIT 1) = t.id;
RESET enable_seqscan;
DROP TABLE half_odd;

-- ivfflat with every list probed, and ivfpq with every list and every
-- candidate re-ranked: the exact answer, in order
CREATE INDEX half_flat ON half_items USING ivfflat (v halfvec_l2_ops) WITH (lists = 10);
SET ivfflat.probes = 10;
SELECT knn_recall('half_items', '<->', 'half_queries', true) AS ivfflat_l2;
RESET ivfflat.probes;
SELECT count(*) AS problems FROM vecdb_index_check('half_flat');
DROP INDEX half_flat;
CREATE INDEX half_pq ON half_items USING ivfpq (v halfvec_cosine_ops) WITH (lists = 10, m = 6);
SET vecdb.ivfpq_probes = 10;
SET vecdb.ivfpq_rerank = 10000;
SELECT knn_recall('half_items', '<=>', 'half_queries', true) AS ivfpq_cosine;
RESET vecdb.ivfpq_probes;
RESET vecdb.ivfpq_rerank;
SELECT count(*) AS problems FROM vecdb_index_check('half_pq');
DROP INDEX half_pq;

-- the widest halfvec: 16,000 dimensions, each row found by its own value
CREATE TABLE half_wide (id int PRIMARY KEY, v halfvec(16000));
INSERT INTO half_wide SELECT i, array_fill(i::real / 10, ARRAY[16000])::halfvec FROM generate_series(1, 20) i;
CREATE INDEX ON half_wide USING hnsw (v halfvec_l2_ops) WITH (streaming = off);
SET enable_seqscan = off;
SELECT count(*) AS wide_found FROM half_wide t
WHERE (SELECT u.id FROM half_wide u ORDER BY u.v <-> t.v LIMIT 1) = t.id;
RESET enable_seqscan;
-- a halfvec index on a vector column is an opclass mismatch
CREATE TABLE half_mismatch (v vector(3));
CREATE INDEX ON half_mismatch USING hnsw (v halfvec_l2_ops);

DROP TABLE half_items, half_queries, half_centres, half_wide, half_mismatch;
DROP FUNCTION knn_ids, knn_recall, knn_lost;
