-- avg(vector) and sum(vector), serial and parallel.

SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::vector), ('[3,4,5]'), ('[5,0,-2]')) t(v);
SELECT avg(v), sum(v) FROM (VALUES (NULL::vector)) t(v);
SELECT avg(v), sum(v) FROM (SELECT '[1]'::vector AS v WHERE false) t;
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), (NULL), ('[3,4]')) t(v);
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);
-- the average of large values is fine even when their sum is not a float4
SELECT avg(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);

-- a direct call never scribbles on its argument
SELECT vector_accum(s, '[1,2]'), s FROM (SELECT '{1,10,20}'::float8[] AS s) t;

-- parallel: partial states combine to the serial answer (the values keep
-- every float4 sum exact, so the order workers add in cannot show)
CREATE TABLE agg_t (g int, v vector(3));
INSERT INTO agg_t SELECT i % 3, ARRAY[i % 100, i % 7, -(i % 50)]::vector FROM generate_series(1, 30000) i;
ANALYZE agg_t;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM agg_t;
SELECT avg(v), sum(v) FROM agg_t;
SELECT g, avg(v), sum(v) FROM agg_t GROUP BY g ORDER BY g;
RESET ALL;
SELECT avg(v), sum(v) FROM agg_t;
DROP TABLE agg_t;
