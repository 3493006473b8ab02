-- hnsw on vectors too wide for an element tuple with its vector inline
-- (more than 1,984 dims at m 16): the vectors are stored out of line, in
-- chunks on vector pages. Random level draws shape the graph, so only
-- booleans are printed, never ids or exact recalls.

SELECT setseed(0.5);
-- A vector of d dims from six latent values z: rows lie near a
-- six-dimensional surface, as embeddings do near theirs.
CREATE FUNCTION hw_vector(d int, z float8[]) RETURNS vector LANGUAGE sql AS $$
	SELECT array_agg(z[1] * sin(j * 0.013) + z[2] * cos(j * 0.029) + z[3] * sin(j * 0.047 + 1)
		+ z[4] * cos(j * 0.071 + 2) + z[5] * sin(j * 0.11) + z[6] * cos(j * 0.17 + 3)
		ORDER BY j)::vector
	FROM generate_series(1, d) j
$$;
CREATE FUNCTION hw_latent() RETURNS float8[] LANGUAGE sql VOLATILE AS $$
	SELECT ARRAY[random() - 0.5, random() - 0.5, random() - 0.5, random() - 0.5,
		random() - 0.5, random() - 0.5]
$$;
CREATE TABLE hw3 (id int PRIMARY KEY, v vector(3072));
INSERT INTO hw3 SELECT i, hw_vector(3072, hw_latent()) FROM generate_series(1, 1500) i;
CREATE TABLE hw3_queries (qid int PRIMARY KEY, q vector(3072));
INSERT INTO hw3_queries SELECT i, hw_vector(3072, hw_latent()) FROM generate_series(1, 20) i;

-- knn_ids, knn_recall, knn_lost
\getenv abs_srcdir PG_ABS_SRCDIR
\set knn_sql :abs_srcdir '/sql/include/knn.sql'
\i :knn_sql

SET vecdb.hnsw_ef_search = 100;

-- (a) 3,072 dims, L2: the build, recall, a clean check, and the index
-- holds its vectors (more than 12 kB a row)
CREATE INDEX hw3_l2 ON hw3 USING hnsw (v vector_l2_ops);
ANALYZE hw3;
SELECT knn_recall('hw3', '<->', 'hw3_queries') >= 0.95 AS recall_l2;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hw3_l2');
SELECT pg_relation_size('hw3_l2') / 1500 BETWEEN 12288 AND 16384 AS size_per_row;

-- (b) inserts after the build go to the graph synchronously (the hot tier
-- cannot hold 3,072 dims), and each is found by its own vector
INSERT INTO hw3 SELECT i, hw_vector(3072, hw_latent()) FROM generate_series(1501, 1600) i;
SELECT rows = 0 AND pages = 0 AS nothing_hot FROM vecdb_hot_tier('hw3_l2');
-- (inserts' pruning can leave an element no list names; every VACUUM
-- links those again, so checks after inserts follow a VACUUM)
VACUUM hw3;
SELECT knn_lost('hw3', 1500) = 0 AS inserts_found;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hw3_l2');

-- (c) DELETE, VACUUM and as many inserts: the freed slots and their chunks
-- are reused, so the index grows by far less than 300 rows' vectors
SELECT pg_relation_size('hw3_l2') AS size_before \gset
DELETE FROM hw3 WHERE id % 5 = 0;
VACUUM hw3;
INSERT INTO hw3 SELECT i, hw_vector(3072, hw_latent()) FROM generate_series(2001, 2320) i;
SELECT pg_relation_size('hw3_l2') - :size_before < 320 * 12288 / 4 AS space_reused;
VACUUM hw3;
SELECT knn_lost('hw3', 2000) = 0 AS reinserts_found;
SELECT knn_recall('hw3', '<->', 'hw3_queries') >= 0.95 AS recall_after_churn;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hw3_l2');
DROP INDEX hw3_l2;

-- (d) cosine, built in 1 MB of maintenance_work_mem: the graph overflows
-- onto pages and the rest of the rows go through on-page inserts
SET maintenance_work_mem = '1MB';
CREATE INDEX hw3_cos ON hw3 USING hnsw (v vector_cosine_ops);
RESET maintenance_work_mem;
SELECT knn_recall('hw3', '<=>', 'hw3_queries') >= 0.95 AS recall_cosine;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hw3_cos');
DROP TABLE hw3, hw3_queries;

-- (e) 16,000 dims, the type's most: 8 chunks a vector
CREATE TABLE hw16 (id int PRIMARY KEY, v vector(16000));
INSERT INTO hw16 SELECT i, hw_vector(16000, hw_latent()) FROM generate_series(1, 300) i;
CREATE TABLE hw16_queries (qid int PRIMARY KEY, q vector(16000));
INSERT INTO hw16_queries SELECT i, hw_vector(16000, hw_latent()) FROM generate_series(1, 20) i;
CREATE INDEX hw16_l2 ON hw16 USING hnsw (v vector_l2_ops);
ANALYZE hw16;
SELECT knn_recall('hw16', '<->', 'hw16_queries') >= 0.95 AS recall_l2;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hw16_l2');
INSERT INTO hw16 SELECT i, hw_vector(16000, hw_latent()) FROM generate_series(301, 340) i;
VACUUM hw16;
SELECT knn_lost('hw16', 300) = 0 AS inserts_found;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hw16_l2');
DROP INDEX hw16_l2;
CREATE INDEX hw16_cos ON hw16 USING hnsw (v vector_cosine_ops) WITH (m = 8);
SELECT knn_recall('hw16', '<=>', 'hw16_queries') >= 0.95 AS recall_cosine;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hw16_cos');
DROP TABLE hw16, hw16_queries;

-- (f) an index built empty, then filled only by inserts
CREATE TABLE hw_empty (id int PRIMARY KEY, v vector(2500));
CREATE INDEX hw_empty_idx ON hw_empty USING hnsw (v vector_l2_ops);
INSERT INTO hw_empty SELECT i, hw_vector(2500, hw_latent()) FROM generate_series(1, 200) i;
VACUUM hw_empty;
SELECT knn_lost('hw_empty', 0) = 0 AS inserts_found;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hw_empty_idx');
DROP TABLE hw_empty;

DROP FUNCTION hw_vector, hw_latent, knn_ids, knn_recall, knn_lost;
RESET vecdb.hnsw_ef_search;
