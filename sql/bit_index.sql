-- hnsw over bit strings: bit_hamming_ops (<~>) and bit_jaccard_ops (<%>),
-- pgvector's binary quantization. The index keeps the bits packed and
-- ranks by popcount; its answers are checked against exact ones.

SELECT setseed(0.25);
CREATE TABLE bq_items (id int, e vector(128));
INSERT INTO bq_items SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 128) WHERE i > 0)::vector
FROM generate_series(1, 3000) i;
CREATE TABLE bq (id int, b bit(128));
INSERT INTO bq SELECT id, binary_quantize(e)::bit(128) FROM bq_items;
CREATE INDEX bq_hamming ON bq USING hnsw (b bit_hamming_ops);
CREATE INDEX bq_jaccard ON bq USING hnsw (b bit_jaccard_ops) WITH (m = 16, ef_construction = 64);

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM bq ORDER BY b <~> B'1010' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM bq ORDER BY b <%> B'1010' LIMIT 10;

-- 20 queries from the table; distances tie often, so a result is right
-- when it is no farther than the exact 10th nearest
CREATE TABLE bq_queries AS SELECT id, b FROM bq WHERE id % 150 = 0;
SET enable_indexscan = off;
SET enable_seqscan = on;
CREATE TABLE bq_exact AS
SELECT q.id AS qid,
	(SELECT b <~> q.b FROM bq ORDER BY b <~> q.b LIMIT 1 OFFSET 9) AS hamming_10th,
	(SELECT b <%> q.b FROM bq ORDER BY b <%> q.b LIMIT 1 OFFSET 9) AS jaccard_10th
FROM bq_queries q;
RESET enable_indexscan;
SET enable_seqscan = off;
-- uniformly random bits are a hard set: ef_search 100, as a user would
SET vecdb.hnsw_ef_search = 100;
SELECT sum(h)::float / (10 * count(*)) >= 0.95 AS hamming_recall_ok,
	sum(j)::float / (10 * count(*)) >= 0.95 AS jaccard_recall_ok,
	min(hn) = 10 AND min(jn) = 10 AS ten_each
FROM (SELECT
	(SELECT count(*) FILTER (WHERE d <= e.hamming_10th) FROM
		(SELECT b <~> q.b AS d FROM bq ORDER BY b <~> q.b LIMIT 10) r) AS h,
	(SELECT count(*) FROM (SELECT 1 FROM bq ORDER BY b <~> q.b LIMIT 10) r) AS hn,
	(SELECT count(*) FILTER (WHERE d <= e.jaccard_10th + 1e-6) FROM
		(SELECT b <%> q.b AS d FROM bq ORDER BY b <%> q.b LIMIT 10) r) AS j,
	(SELECT count(*) FROM (SELECT 1 FROM bq ORDER BY b <%> q.b LIMIT 10) r) AS jn
	FROM bq_queries q JOIN bq_exact e ON e.qid = q.id) s;
RESET vecdb.hnsw_ef_search;
-- each query finds its own row first, at distance 0
SELECT count(*) FILTER (WHERE (SELECT id FROM bq ORDER BY b <~> q.b, id LIMIT 1) = q.id
	OR (SELECT b <~> q.b FROM bq ORDER BY b <~> q.b LIMIT 1) = 0) AS found_self
FROM bq_queries q;

-- new rows, then VACUUM after deletes: still found, and the index checks clean
INSERT INTO bq VALUES (100001, repeat('1', 128)::bit(128)), (100002, repeat('01', 64)::bit(128));
SELECT id FROM bq ORDER BY b <~> repeat('1', 128)::bit(128) LIMIT 1;
SELECT id FROM bq ORDER BY b <%> repeat('01', 64)::bit(128) LIMIT 1;
DELETE FROM bq WHERE id % 3 = 0 AND id < 100000;
VACUUM bq;
SELECT count(*) FROM (SELECT id FROM bq ORDER BY b <~> repeat('0', 128)::bit(128) LIMIT 20) r
WHERE id % 3 = 0 AND id < 100000;
SELECT * FROM vecdb_index_check('bq_hamming');
SELECT * FROM vecdb_index_check('bq_jaccard');
RESET enable_seqscan;

-- what is refused
SELECT id FROM bq ORDER BY b <~> B'101' LIMIT 1;
CREATE INDEX ON bq USING hnsw (b bit_hamming_ops) WITH (quantization = 'sq8');
CREATE INDEX ON bq USING ivfflat (b bit_hamming_ops);
CREATE TABLE bq_varying (b bit varying);
CREATE INDEX ON bq_varying USING hnsw (b bit_hamming_ops);

-- wide strings: a 3,072-d embedding's quantization, and past 16,000 bits
CREATE TABLE bq_wide (id int, b bit(3072));
INSERT INTO bq_wide SELECT i, (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
	FROM generate_series(1, 3072) WHERE i > 0)::bit(3072) FROM generate_series(1, 200) i;
CREATE INDEX ON bq_wide USING hnsw (b bit_hamming_ops);
CREATE TABLE bq_wider (id int, b bit(64000));
INSERT INTO bq_wider SELECT i, (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
	FROM generate_series(1, 64000) WHERE i > 0)::bit(64000) FROM generate_series(1, 20) i;
CREATE INDEX bq_wider_idx ON bq_wider USING hnsw (b bit_jaccard_ops);
-- the limit: 16,000 float slots of 32 bits
CREATE TABLE bq_widest (b bit(512001));
CREATE INDEX ON bq_widest USING hnsw (b bit_hamming_ops);
DROP TABLE bq_widest;
SET enable_seqscan = off;
SELECT count(*) FROM bq_wide w WHERE (SELECT id FROM bq_wide ORDER BY b <~> w.b LIMIT 1) = w.id;
SELECT count(*) FROM bq_wider w WHERE (SELECT id FROM bq_wider ORDER BY b <%> w.b LIMIT 1) = w.id;
SELECT * FROM vecdb_index_check('bq_wider_idx');
RESET enable_seqscan;
DROP TABLE bq_items, bq, bq_queries, bq_exact, bq_varying, bq_wide, bq_wider;
