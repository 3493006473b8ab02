-- hnsw hardening (issue 10): a query vector that ranks nothing returns rows
-- through the index as it does through a sequential scan (item 8), and the
-- index's row count is right after a VACUUM of several passes (item 11a).

-- Item 8. A NULL query vector (a generic plan's $1, an initplan) or a zero
-- query under cosine has no nearest rows: every distance is NULL or NaN.
-- A sequential scan returns rows in no order; so must the index (as
-- pgvector does). The plans are shown to be index scans.
CREATE TABLE hh_query (id int, v vector(3));
INSERT INTO hh_query SELECT i, ARRAY[i, i % 11, 1] FROM generate_series(1, 100) i;
CREATE INDEX hh_query_l2 ON hh_query USING hnsw (v vector_l2_ops);
CREATE INDEX hh_query_cos ON hh_query USING hnsw (v vector_cosine_ops);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hh_query ORDER BY v <-> (SELECT NULL::vector) LIMIT 5;
SELECT count(*) AS null_l2 FROM (SELECT id FROM hh_query ORDER BY v <-> (SELECT NULL::vector) LIMIT 5) s;
EXPLAIN (COSTS OFF) SELECT id FROM hh_query ORDER BY v <=> (SELECT NULL::vector) LIMIT 5;
SELECT count(*) AS null_cos FROM (SELECT id FROM hh_query ORDER BY v <=> (SELECT NULL::vector) LIMIT 5) s;
EXPLAIN (COSTS OFF) SELECT id FROM hh_query ORDER BY v <=> '[0,0,0]' LIMIT 5;
SELECT count(*) AS zero_cos FROM (SELECT id FROM hh_query ORDER BY v <=> '[0,0,0]' LIMIT 5) s;
-- a generic plan, planned before $1 is known, run with NULL
SET plan_cache_mode = force_generic_plan;
PREPARE hh_l2(vector) AS SELECT id FROM hh_query ORDER BY v <-> $1 LIMIT 5;
PREPARE hh_cos(vector) AS SELECT id FROM hh_query ORDER BY v <=> $1 LIMIT 5;
EXPLAIN (COSTS OFF) EXECUTE hh_l2(NULL);
EXPLAIN (COSTS OFF) EXECUTE hh_cos(NULL);
CREATE TEMP TABLE hh_rows AS EXECUTE hh_l2(NULL);
SELECT count(*) AS generic_null_l2 FROM hh_rows;
DROP TABLE hh_rows;
CREATE TEMP TABLE hh_rows AS EXECUTE hh_cos(NULL);
SELECT count(*) AS generic_null_cos FROM hh_rows;
DROP TABLE hh_rows;
CREATE TEMP TABLE hh_rows AS EXECUTE hh_cos('[0,0,0]');
SELECT count(*) AS generic_zero_cos FROM hh_rows;
DROP TABLE hh_rows;
RESET plan_cache_mode;
-- a LIMIT past ef_search: ef_search rows (the 100 vectors are distinct,
-- one row an element), or all of them iteratively, each once
SET vecdb.hnsw_ef_search = 10;
SELECT count(*) AS null_ef_search FROM (SELECT id FROM hh_query ORDER BY v <-> (SELECT NULL::vector) LIMIT 1000) s;
SET vecdb.hnsw_iterative_scan = relaxed_order;
SELECT count(*) AS null_iterative, count(DISTINCT id) AS distinct_ids
	FROM (SELECT id FROM hh_query ORDER BY v <-> (SELECT NULL::vector) LIMIT 1000) s;
SELECT count(*) AS zero_cos_iterative, count(DISTINCT id) AS distinct_ids
	FROM (SELECT id FROM hh_query ORDER BY v <=> '[0,0,0]' LIMIT 1000) s;
RESET vecdb.hnsw_iterative_scan;
RESET vecdb.hnsw_ef_search;
-- the sequential scan's answers, for comparison
SET enable_seqscan = on;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hh_query ORDER BY v <-> (SELECT NULL::vector) LIMIT 5;
SELECT count(*) AS seq_null_l2 FROM (SELECT id FROM hh_query ORDER BY v <-> (SELECT NULL::vector) LIMIT 5) s;
SELECT count(*) AS seq_null_cos FROM (SELECT id FROM hh_query ORDER BY v <=> (SELECT NULL::vector) LIMIT 5) s;
SELECT count(*) AS seq_zero_cos FROM (SELECT id FROM hh_query ORDER BY v <=> '[0,0,0]' LIMIT 5) s;
RESET enable_indexscan;
RESET enable_bitmapscan;
DEALLOCATE hh_l2;
DEALLOCATE hh_cos;
DROP TABLE hh_query;

-- Item 11a. VACUUM calls ambulkdelete once per batch of dead TIDs that
-- fits maintenance_work_mem: 1MB holds about 174,000 TIDs of 6 bytes, and
-- 200,000 rows are deleted, so this VACUUM makes two passes. Most rows
-- have a NULL vector, which the index does not hold, so the index stays
-- small; 500 of its 1000 rows are deleted, spread over both passes. The
-- index's reltuples, which VACUUM sets from the last pass's count, must be
-- the 500 rows left, not a sum over the passes.
CREATE TABLE hh_vacuum (id int, v vector(2)) WITH (autovacuum_enabled = off);
INSERT INTO hh_vacuum SELECT i, CASE WHEN i % 200 = 0 THEN ARRAY[i, i % 13]::vector END
	FROM generate_series(1, 200000) i;
CREATE INDEX hh_vacuum_v ON hh_vacuum USING hnsw (v vector_l2_ops);
SELECT count(*) AS indexed FROM hh_vacuum WHERE v IS NOT NULL;
DELETE FROM hh_vacuum WHERE id % 400 <> 0;
SET maintenance_work_mem = '1MB';
VACUUM hh_vacuum;
RESET maintenance_work_mem;
SELECT reltuples AS index_reltuples FROM pg_class WHERE relname = 'hh_vacuum_v';
SELECT count(*) AS live_indexed FROM hh_vacuum WHERE v IS NOT NULL;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hh_vacuum_v');
DROP TABLE hh_vacuum;

-- An element (vector and links) that fits a page keeps its vector inline:
-- the widest such (1,984 dims at m 16) builds and checks clean. One more
-- dimension, or 16,000 at m 2, and the vectors go out of line
-- (hnsw_wide.sql tests those at length): still no ERROR.
CREATE TABLE hnsw_h_wide (v vector(1985));
INSERT INTO hnsw_h_wide SELECT array_fill(i::real, ARRAY[1985])::vector FROM generate_series(1, 3) i;
CREATE INDEX hnsw_h_wide_idx ON hnsw_h_wide USING hnsw (v);
SELECT count(*) FROM vecdb_index_check('hnsw_h_wide_idx');
DROP TABLE hnsw_h_wide;
CREATE TABLE hnsw_h_wide (v vector(16000));
INSERT INTO hnsw_h_wide SELECT array_fill(i::real, ARRAY[16000])::vector FROM generate_series(1, 3) i;
CREATE INDEX hnsw_h_wide_idx ON hnsw_h_wide USING hnsw (v) WITH (m = 2, ef_construction = 4);
SELECT count(*) FROM vecdb_index_check('hnsw_h_wide_idx');
DROP TABLE hnsw_h_wide;
CREATE TABLE hnsw_h_wide (v vector(1984));
INSERT INTO hnsw_h_wide SELECT array_fill(i::real, ARRAY[1984])::vector FROM generate_series(1, 3) i;
CREATE INDEX hnsw_h_wide_idx ON hnsw_h_wide USING hnsw (v);
INSERT INTO hnsw_h_wide SELECT array_fill(i::real, ARRAY[1984])::vector FROM generate_series(4, 6) i;
SELECT count(*) FROM vecdb_index_check('hnsw_h_wide_idx');
DROP TABLE hnsw_h_wide;

-- A query without ORDER BY never goes to the index, not even with
-- sequential scans disabled: its scan could only raise an ERROR.
CREATE TABLE hnsw_h_count (id int, v vector(3));
INSERT INTO hnsw_h_count SELECT i, ARRAY[i, i % 5, 1] FROM generate_series(1, 200) i;
CREATE INDEX ON hnsw_h_count USING hnsw (v);
SET enable_seqscan = off;
SELECT count(*) FROM hnsw_h_count;
SELECT count(*) FROM hnsw_h_count WHERE v = '[7,2,1]';
EXPLAIN (COSTS OFF) SELECT count(*) FROM hnsw_h_count;
RESET enable_seqscan;
DROP TABLE hnsw_h_count;
