-- hnsw index: options and their validation, settings, NULLs and zero vectors,
-- dimensions, empty tables, vecdb_index_check, REINDEX, CREATE INDEX
-- CONCURRENTLY, and a build larger than maintenance_work_mem.

CREATE TABLE hnsw_opt (id int PRIMARY KEY, v vector(3));
INSERT INTO hnsw_opt SELECT i, ARRAY[i % 7, i % 11, i % 13] FROM generate_series(1, 100) i;

-- options: m in 2..100, ef_construction in 4..1000 and at least 2 * m
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 1);
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 101);
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (ef_construction = 3);
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (ef_construction = 1001);
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 31);
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 40);
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (foo = 1);
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 'many');
-- the boundaries themselves are accepted
CREATE INDEX hnsw_opt_min ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 2, ef_construction = 4);
CREATE INDEX hnsw_opt_max ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 100, ef_construction = 1000);
CREATE INDEX hnsw_opt_eq ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 32);
CREATE INDEX hnsw_opt_def ON hnsw_opt USING hnsw (v vector_l2_ops);
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'hnsw_opt\_%' ORDER BY relname;
SELECT (SELECT count(*) FROM vecdb_index_check('hnsw_opt_min')) = 0 AS sound_min,
	(SELECT count(*) FROM vecdb_index_check('hnsw_opt_max')) = 0 AS sound_max,
	(SELECT count(*) FROM vecdb_index_check('hnsw_opt_eq')) = 0 AS sound_eq,
	(SELECT count(*) FROM vecdb_index_check('hnsw_opt_def')) = 0 AS sound_def;
-- With ef_search at least the number of rows a search visits the whole
-- graph, so on these small tables the index answer is exact and stable:
-- each index, alone, returns all 100 rows
SET vecdb.hnsw_ef_search = 1000;
SET enable_seqscan = off;
DROP INDEX hnsw_opt_max, hnsw_opt_eq, hnsw_opt_def;
SELECT count(*) AS rows_min FROM (SELECT id FROM hnsw_opt ORDER BY v <-> '[3,3,3]' LIMIT 1000) s;
DROP INDEX hnsw_opt_min;
CREATE INDEX hnsw_opt_max ON hnsw_opt USING hnsw (v vector_l2_ops) WITH (m = 100, ef_construction = 1000);
SELECT count(*) AS rows_max FROM (SELECT id FROM hnsw_opt ORDER BY v <-> '[3,3,3]' LIMIT 1000) s;
DROP INDEX hnsw_opt_max;
CREATE INDEX hnsw_opt_def ON hnsw_opt USING hnsw (v vector_l2_ops);
SELECT count(*) AS rows_def FROM (SELECT id FROM hnsw_opt ORDER BY v <-> '[3,3,3]' LIMIT 1000) s;
RESET enable_seqscan;
RESET vecdb.hnsw_ef_search;
-- the operator class must fit the column; the access method needs an operator class for it
CREATE INDEX ON hnsw_opt USING hnsw (id vector_l2_ops);
CREATE INDEX ON hnsw_opt USING hnsw (id);
CREATE INDEX ON hnsw_opt USING hnsw (v vector_l2_ops, v vector_ip_ops);

-- settings
SHOW vecdb.hnsw_ef_search;
SHOW vecdb.hnsw_iterative_scan;
SHOW vecdb.hnsw_max_scan_tuples;
SET vecdb.hnsw_ef_search = 0;
SET vecdb.hnsw_ef_search = 1001;
SET vecdb.hnsw_ef_search = 'forty';
SET vecdb.hnsw_ef_search = 1;
SHOW vecdb.hnsw_ef_search;
SET vecdb.hnsw_ef_search = 1000;
SHOW vecdb.hnsw_ef_search;
SET vecdb.hnsw_iterative_scan = on;
SET vecdb.hnsw_iterative_scan = 'strict';
SET vecdb.hnsw_iterative_scan = relaxed_order;
SHOW vecdb.hnsw_iterative_scan;
SET vecdb.hnsw_iterative_scan = strict_order;
SHOW vecdb.hnsw_iterative_scan;
SET vecdb.hnsw_iterative_scan = off;
SHOW vecdb.hnsw_iterative_scan;
SET vecdb.hnsw_max_scan_tuples = 0;
SET vecdb.hnsw_max_scan_tuples = -1;
SET vecdb.hnsw_max_scan_tuples = 50;
SHOW vecdb.hnsw_max_scan_tuples;
RESET vecdb.hnsw_ef_search;
RESET vecdb.hnsw_iterative_scan;
RESET vecdb.hnsw_max_scan_tuples;
SHOW vecdb.hnsw_ef_search;
SHOW vecdb.hnsw_iterative_scan;
SHOW vecdb.hnsw_max_scan_tuples;
-- (the settings are visible in pg_settings with their ranges)
SELECT name, setting, vartype, min_val, max_val, enumvals FROM pg_settings
	WHERE name LIKE 'vecdb.hnsw%' ORDER BY name;

-- (small tables from here on: ef_search 1000 makes the answers exact)
SET vecdb.hnsw_ef_search = 1000;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_opt ORDER BY v <-> '[3,3,3]' LIMIT 5;
SELECT id, v, v <-> '[3,3,3]' AS d FROM hnsw_opt ORDER BY v <-> '[3,3,3]', id LIMIT 5;
SELECT id, v, v <-> '[3,3,3]' AS d FROM hnsw_opt ORDER BY v <-> '[3,3,3]' LIMIT 1;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_opt_def');

-- REINDEX and REINDEX CONCURRENTLY rebuild it
REINDEX INDEX hnsw_opt_def;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_opt_def');
SELECT id, v <-> '[3,3,3]' AS d FROM hnsw_opt ORDER BY v <-> '[3,3,3]' LIMIT 1;
REINDEX INDEX CONCURRENTLY hnsw_opt_def;
SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = 'hnsw_opt_def'::regclass;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_opt_def');
SELECT id, v <-> '[3,3,3]' AS d FROM hnsw_opt ORDER BY v <-> '[3,3,3]' LIMIT 1;
REINDEX TABLE hnsw_opt;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_opt_def');
DROP INDEX hnsw_opt_def;

-- CREATE INDEX CONCURRENTLY, with options; then rows inserted afterwards
CREATE INDEX CONCURRENTLY hnsw_opt_cic ON hnsw_opt USING hnsw (v vector_cosine_ops)
	WITH (m = 8, ef_construction = 20);
SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = 'hnsw_opt_cic'::regclass;
SELECT reloptions FROM pg_class WHERE relname = 'hnsw_opt_cic';
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_opt_cic');
INSERT INTO hnsw_opt VALUES (101, '[100,1,1]');
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_opt ORDER BY v <=> '[1,0.01,0.01]' LIMIT 3;
SELECT id FROM hnsw_opt ORDER BY v <=> '[1,0.01,0.01]' LIMIT 1;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_opt_cic');
DROP TABLE hnsw_opt;

-- NULLs are not indexed, and do not disturb the index
CREATE TABLE hnsw_null (id int, v vector(3));
INSERT INTO hnsw_null SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY[i, i, i] END
	FROM generate_series(1, 30) i;
CREATE INDEX hnsw_null_l2 ON hnsw_null USING hnsw (v vector_l2_ops);
INSERT INTO hnsw_null VALUES (31, NULL), (32, '[32,32,32]'), (33, NULL);
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_null ORDER BY v <-> '[7,7,8]' LIMIT 5;
SELECT id FROM hnsw_null ORDER BY v <-> '[7,7,8]' LIMIT 5;
-- all 21 non-NULL rows, nearest first, and none of the NULLs
SELECT array_agg(id) FROM (SELECT id FROM hnsw_null ORDER BY v <-> '[0,0,0]' LIMIT 40) s;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_null_l2');
DELETE FROM hnsw_null WHERE id > 20;
VACUUM hnsw_null;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_null_l2');
SELECT array_agg(id) FROM (SELECT id FROM hnsw_null ORDER BY v <-> '[0,0,0]' LIMIT 40) s;
DROP TABLE hnsw_null;

-- A cosine index skips zero vectors (their cosine distance is NaN); the
-- other operator classes index them
CREATE TABLE hnsw_zero (id int, v vector(3));
INSERT INTO hnsw_zero SELECT i, CASE WHEN i % 4 = 0 THEN '[0,0,0]'::vector ELSE ARRAY[1, i, 0]::vector END
	FROM generate_series(1, 20) i;
CREATE INDEX hnsw_zero_cos ON hnsw_zero USING hnsw (v vector_cosine_ops);
CREATE INDEX hnsw_zero_l2 ON hnsw_zero USING hnsw (v vector_l2_ops);
INSERT INTO hnsw_zero VALUES (21, '[0,0,0]'), (22, '[1,22,0]');
SELECT '[0,0,0]'::vector <=> '[1,2,3]' AS nan_distance;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_zero ORDER BY v <=> '[1,3,0]' LIMIT 5;
SELECT id FROM hnsw_zero ORDER BY v <=> '[1,3,0]' LIMIT 3;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM hnsw_zero ORDER BY v <=> '[1,3,0]' LIMIT 40) s;
-- a zero query vector: every distance is NaN, there is no meaningful answer,
-- but it must not fail
SELECT count(*) <= 40 AS ok FROM (SELECT id FROM hnsw_zero ORDER BY v <=> '[0,0,0]' LIMIT 40) s;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_zero ORDER BY v <-> '[0,0,0]' LIMIT 5;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM hnsw_zero ORDER BY v <-> '[0,0,0]' LIMIT 6) s;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_zero_cos');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_zero_l2');
DROP TABLE hnsw_zero;

-- identical vectors: every one of their rows is found
CREATE TABLE hnsw_dup (id int, v vector(3));
INSERT INTO hnsw_dup SELECT i, CASE WHEN i <= 10 THEN '[1,1,1]' ELSE ARRAY[i, 0, 0]::vector END
	FROM generate_series(1, 30) i;
CREATE INDEX hnsw_dup_l2 ON hnsw_dup USING hnsw (v vector_l2_ops);
INSERT INTO hnsw_dup SELECT i, '[1,1,1]' FROM generate_series(31, 35) i;
SELECT array_agg(id ORDER BY id), max(d) AS max_d FROM (SELECT id, v <-> '[1,1,1]' AS d FROM hnsw_dup
	ORDER BY v <-> '[1,1,1]' LIMIT 15) s;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM hnsw_dup ORDER BY v <-> '[1,1,1]' LIMIT 17) s;
DELETE FROM hnsw_dup WHERE id % 2 = 0 AND id <= 10 OR id = 33;
VACUUM hnsw_dup;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM hnsw_dup ORDER BY v <-> '[1,1,1]' LIMIT 9) s;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_dup_l2');
DROP TABLE hnsw_dup;

-- an empty table: the index works and finds nothing; later rows are found
CREATE TABLE hnsw_empty (id int, v vector(3));
CREATE INDEX hnsw_empty_l2 ON hnsw_empty USING hnsw (v vector_l2_ops);
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_empty_l2');
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT id FROM hnsw_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
INSERT INTO hnsw_empty VALUES (1, NULL);
SELECT id FROM hnsw_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
INSERT INTO hnsw_empty VALUES (2, '[1,2,4]'), (3, '[9,9,9]');
SELECT id FROM hnsw_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
-- emptied again by DELETE and VACUUM
DELETE FROM hnsw_empty;
VACUUM hnsw_empty;
SELECT id FROM hnsw_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_empty_l2');
INSERT INTO hnsw_empty VALUES (4, '[1,2,3]');
SELECT id FROM hnsw_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
-- and by TRUNCATE
TRUNCATE hnsw_empty;
SELECT id FROM hnsw_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_empty_l2');
INSERT INTO hnsw_empty VALUES (5, '[3,2,1]');
SELECT id FROM hnsw_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
DROP TABLE hnsw_empty;

-- dimensions: the indexed column needs a declared dimension
CREATE TABLE hnsw_dims (id int, v vector);
INSERT INTO hnsw_dims VALUES (1, '[1,2,3]'), (2, '[1,2]');
CREATE INDEX ON hnsw_dims USING hnsw (v vector_l2_ops);
DELETE FROM hnsw_dims WHERE id = 2;
CREATE INDEX ON hnsw_dims USING hnsw (v vector_l2_ops);
-- an expression index with a cast gives it one
CREATE INDEX hnsw_dims_l2 ON hnsw_dims USING hnsw ((v::vector(3)) vector_l2_ops);
INSERT INTO hnsw_dims VALUES (3, '[1,2,4]'), (4, NULL);
INSERT INTO hnsw_dims VALUES (5, '[1,2]');
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_dims ORDER BY v::vector(3) <-> '[1,2,3]' LIMIT 5;
SELECT id FROM hnsw_dims ORDER BY v::vector(3) <-> '[1,2,3]' LIMIT 5;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_dims_l2');
DROP TABLE hnsw_dims;
-- a query vector of another dimension is an error
CREATE TABLE hnsw_dims (id int, v vector(3));
INSERT INTO hnsw_dims VALUES (1, '[1,2,3]');
CREATE INDEX hnsw_dims_l2 ON hnsw_dims USING hnsw (v vector_l2_ops);
SELECT id FROM hnsw_dims ORDER BY v <-> '[1,2]' LIMIT 5;
SELECT id FROM hnsw_dims ORDER BY v <-> '[1,2,3,4]' LIMIT 5;
DROP TABLE hnsw_dims;
RESET enable_seqscan;
RESET vecdb.hnsw_ef_search;

-- maintenance_work_mem too small for the graph: a NOTICE, and an index as
-- good as one built in memory
SELECT setseed(0.5);
CREATE TABLE hnsw_mem (id int PRIMARY KEY, v vector(32));
INSERT INTO hnsw_mem
	SELECT i, ARRAY(SELECT random()::real - 0.5 FROM generate_series(1, 32) WHERE i > 0)
	FROM generate_series(1, 8000) i;
CREATE TABLE hnsw_mem_q (qid int PRIMARY KEY, q vector(32));
INSERT INTO hnsw_mem_q
	SELECT i, ARRAY(SELECT random()::real - 0.5 FROM generate_series(1, 32) WHERE i > 0)
	FROM generate_series(1, 30) i;
-- recall@10 of the index scan on hnsw_mem against the exact answer
CREATE FUNCTION hnsw_mem_recall() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	hits int := 0;
	r record;
	a int[];
	e int[];
BEGIN
	FOR r IN SELECT q FROM hnsw_mem_q LOOP
		SET LOCAL enable_seqscan = off;
		SET LOCAL enable_indexscan = on;
		EXECUTE 'SELECT array_agg(id) FROM (SELECT id FROM hnsw_mem ORDER BY v <-> $1 LIMIT 10) s'
			INTO a USING r.q;
		SET LOCAL enable_seqscan = on;
		SET LOCAL enable_indexscan = off;
		EXECUTE 'SELECT array_agg(id) FROM (SELECT id FROM hnsw_mem ORDER BY v <-> $1 LIMIT 10) s'
			INTO e USING r.q;
		hits := hits + cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e)));
	END LOOP;
	RETURN hits / 300.0;
END $$;
SET vecdb.hnsw_ef_search = 100;
CREATE INDEX hnsw_mem_big ON hnsw_mem USING hnsw (v vector_l2_ops);
SELECT hnsw_mem_recall() AS big_recall \gset
SELECT :big_recall >= 0.9 AS big_ok;
DROP INDEX hnsw_mem_big;
SET maintenance_work_mem = '1MB';
CREATE INDEX hnsw_mem_small ON hnsw_mem USING hnsw (v vector_l2_ops);
RESET maintenance_work_mem;
SELECT hnsw_mem_recall() AS small_recall \gset
SELECT :small_recall >= 0.9 AS small_ok, abs(:small_recall - :big_recall) <= 0.05 AS same_recall;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('hnsw_mem_small');
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_mem ORDER BY v <-> (SELECT q FROM hnsw_mem_q WHERE qid = 1) LIMIT 10;
RESET vecdb.hnsw_ef_search;
DROP TABLE hnsw_mem, hnsw_mem_q;
DROP FUNCTION hnsw_mem_recall;

-- the planner and TOAST: vectors of 1,000 dimensions live out of line, so a
-- sequential scan is priced by a few heap pages though it reads every
-- vector; the index still wins for ORDER BY ... LIMIT at a wide ef_search,
-- and a selective btree still beats it
CREATE TABLE hnsw_toasted (id int PRIMARY KEY, v vector(1000));
INSERT INTO hnsw_toasted
	SELECT i, ARRAY(SELECT sin(i * 1000 + j)::real FROM generate_series(1, 1000) j)
	FROM generate_series(1, 2000) i;
CREATE INDEX hnsw_toasted_v ON hnsw_toasted USING hnsw (v vector_l2_ops);
ANALYZE hnsw_toasted;
SELECT c.relpages < i.relpages / 10 AS table_pages_few
	FROM pg_class c, pg_class i WHERE c.relname = 'hnsw_toasted' AND i.relname = 'hnsw_toasted_v';
SET vecdb.hnsw_ef_search = 200;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_toasted ORDER BY v <-> (SELECT v FROM hnsw_toasted WHERE id = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_toasted WHERE id = 7 ORDER BY v <-> (SELECT v FROM hnsw_toasted WHERE id = 1) LIMIT 10;
RESET vecdb.hnsw_ef_search;
DROP TABLE hnsw_toasted;
