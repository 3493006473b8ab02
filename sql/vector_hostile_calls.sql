-- Functions that PostgreSQL calls for an aggregate, or that read an index,
-- called by hand with hostile arguments: an ERROR each, never a crash, and
-- never a vector outside 1..16000 dimensions.
SET client_min_messages = warning;

-- A hand-made avg() state of 40000 sums: no vector of 40000 (or, wrapped
-- through int16, -25536) dimensions comes out of it.
SELECT vector_avg(array_fill(1::float8, ARRAY[40001]));
SELECT a <-> a FROM (SELECT vector_avg(array_fill(1::float8, ARRAY[40001])) a) s;
SELECT vector_accum(array_fill(1::float8, ARRAY[40001]), '[1]');
SELECT vector_combine(array_fill(1::float8, ARRAY[40001]), array_fill(1::float8, ARRAY[40001]));
-- the largest legal state still works
SELECT vector_dims(vector_avg(array_fill(1::float8, ARRAY[16001])));

-- States that are not states, in pgvector's words
SELECT vector_accum('{}', '[1]');
SELECT vector_accum('{{1,2},{3,4}}', '[1]');
SELECT vector_accum('{1,NULL}', '[1]');
SELECT vector_combine('{}', '{0}');
SELECT vector_combine('{0}', '{NULL}');
SELECT vector_avg('{}');
-- a count without sums has no dimensions to average
SELECT vector_avg('{1}');
SELECT vector_avg('{0}');
-- two states that have seen no vector combine to one: an empty parallel avg
SELECT vector_combine('{0}', '{0}');
SELECT vector_combine('{1,2}', '{1,2,3}');
SELECT vector_accum('{1,2}', '[1,2]');
SELECT vector_avg('{1,NaN}');
SELECT vector_avg('{1,Infinity}');
SELECT vector_avg('{1e-300,1e300}');
SELECT vector_combine('{1,1e308}', '{1,1e308}');
-- what the states are for
SELECT vector_avg(vector_combine(vector_accum('{0}', '[1,2]'), vector_accum('{0}', '[3,4]')));
SELECT vector_accum('{2,4,6}', '[1,1]'), vector_combine('{0}', '{2,4,6}');
-- the state passed in is not changed by a direct call
WITH s(a) AS (SELECT '{1,1,1}'::float8[]) SELECT vector_accum(a, '[1,1]'), a FROM s;

-- A parallel avg() over no rows combines empty states
CREATE TABLE agg_empty (v vector(2));
INSERT INTO agg_empty SELECT '[1,2]' FROM generate_series(1, 1000);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM agg_empty WHERE v IS NULL;
SELECT avg(v), sum(v) FROM agg_empty WHERE v IS NULL;
SELECT avg(v), sum(v) FROM agg_empty;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE agg_empty;

-- Dimensions past the limit, on every path that builds a vector
SELECT vector_dims(array_fill(1::real, ARRAY[16000])::vector || '[1]');
SELECT array_fill(1::real, ARRAY[16001])::vector;
SELECT subvector('[1,2,3]'::vector, 2, 0);
SELECT subvector('[1,2,3]'::vector, 4, 1);
SELECT subvector('[1,2,3]'::vector, -2147483648, 2147483647);
SELECT subvector('[1,2,3]'::vector, 2147483647, 2147483647);

-- vecdb_index_check and the ivfpq reports: OIDs that are not indexes
SELECT * FROM vecdb_index_check(0);
SELECT * FROM vecdb_index_check(4294967295);
SELECT * FROM vecdb_index_check('pg_class');
SELECT * FROM vecdb_index_check('pg_class_oid_index');
SELECT * FROM vecdb_ivfpq_info(0);
SELECT * FROM vecdb_ivfpq_lists('pg_class');

-- A partitioned index has no pages of its own to check
CREATE TABLE part_items (id int, v vector(2)) PARTITION BY RANGE (id);
CREATE TABLE part_items_1 PARTITION OF part_items FOR VALUES FROM (0) TO (10);
INSERT INTO part_items VALUES (1, '[1,2]'), (2, '[2,3]');
CREATE INDEX part_items_v_idx ON part_items USING hnsw (v vector_l2_ops);
SELECT * FROM vecdb_index_check('part_items_v_idx');
SELECT count(*) FROM vecdb_index_check('part_items_1_v_idx');
DROP TABLE part_items;
