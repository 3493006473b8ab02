-- ivfpq index: options and their validation (with their SQLSTATEs), the
-- automatic lists and m, settings, the operator class and dimensions
-- checks, an empty table, NULLs and zero vectors, an expression index,
-- REINDEX and CREATE INDEX CONCURRENTLY, vecdb_ivfpq_info/_lists and
-- vecdb_index_check.

-- The SQLSTATE of stmt's error, followed by its message if that does not
-- match pattern; 'no error' if stmt succeeds (its effects are undone then).
CREATE FUNCTION ivfpq_error(stmt text, pattern text DEFAULT '%') RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE stmt;
		RAISE SQLSTATE 'VT000';
	EXCEPTION WHEN OTHERS THEN
		IF SQLSTATE = 'VT000' THEN
			RETURN 'no error';
		END IF;
		RETURN SQLSTATE || CASE WHEN SQLERRM LIKE pattern THEN '' ELSE ' (message: ' || SQLERRM || ')' END;
	END;
END $$;

-- Whether the index scan of "ORDER BY expr op q LIMIT k" on tbl (an error
-- unless the plan is an index scan) returns rows whose distances, in the
-- order returned, are the exact top-k distances of a sequential scan and a
-- sort: the exact answer up to the order of equally distant rows.
CREATE FUNCTION ivfpq_is_exact(tbl text, op text, q vector, k int, expr text DEFAULT 'v') RETURNS bool
LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT %s %s %L::vector AS d FROM %s ORDER BY %s %s %L::vector LIMIT %s',
		expr, op, q, tbl, expr, op, q, k);
	line text;
	plan text := '';
	a float8[];
	e float8[];
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('enable_indexscan', 'on', true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		plan := plan || line || E'\n';
	END LOOP;
	IF plan NOT LIKE '%Index Scan using%' THEN
		RAISE EXCEPTION 'unexpected plan for %: %', query, plan;
	END IF;
	EXECUTE format('SELECT array_agg(d) FROM (%s) s', query) INTO a;
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'off', true);
	EXECUTE format('SELECT array_agg(d) FROM (%s) s', query) INTO e;
	IF a IS DISTINCT FROM e THEN
		RAISE NOTICE '% returned distances %, exact %', query, a, e;
	END IF;
	RETURN a IS NOT DISTINCT FROM e;
END $$;

CREATE TABLE ivfpq_opt (id int PRIMARY KEY, v vector(8));
INSERT INTO ivfpq_opt
	SELECT i, ARRAY[i % 7, i % 11, i % 13, i % 17, i % 19, i % 23, i % 29, i % 31]
	FROM generate_series(1, 100) i;

-- options: m must divide the dimensions (8)
SELECT ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (m = 3)', '%does not divide%') AS m_3,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (m = 5)', '%does not divide%') AS m_5,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (m = 16)', '%does not divide%') AS m_16;
-- lists at most the number of rows (100), and in 1 .. 100000 (0 = automatic)
SELECT ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (lists = 101)', '%lists%') AS lists_101,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (lists = 1000)', '%lists%') AS lists_1000,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (lists = -1)', '%lists%') AS lists_neg,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (lists = 100001)', '%lists%') AS lists_100001;
-- nbits: only 8
SELECT ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (nbits = 4)') AS nbits_4,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (nbits = 16)') AS nbits_16,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (nbits = 0)') AS nbits_0,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (nbits = -8)') AS nbits_neg;
-- other values out of range, unknown options, values that are not numbers
SELECT ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (m = -1)') AS m_neg,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (training_sample = -1)') AS sample_neg,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (foo = 1)', '%foo%') AS foo,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v) WITH (lists = ''many'')') AS lists_many;
-- (none of them left an index behind)
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'ivfpq_opt'::regclass;
-- the operator class must fit the column; no multicolumn indexes
SELECT ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (id vector_l2_ops)') AS int_with_opclass,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (id)') AS int_column,
	ivfpq_error('CREATE INDEX ON ivfpq_opt USING ivfpq (v vector_l2_ops, v vector_ip_ops)') AS two_columns;

-- the boundaries and the other accepted values: lists = rows, lists = 1,
-- m = dims, m = 1, nbits = 8, a training sample
CREATE INDEX ivfpq_opt_a ON ivfpq_opt USING ivfpq (v) WITH (lists = 100, m = 8, nbits = 8);
CREATE INDEX ivfpq_opt_b ON ivfpq_opt USING ivfpq (v) WITH (lists = 1, m = 1);
CREATE INDEX ivfpq_opt_c ON ivfpq_opt USING ivfpq (v vector_cosine_ops) WITH (lists = 10, m = 4, training_sample = 50);
CREATE INDEX ivfpq_opt_d ON ivfpq_opt USING ivfpq (v vector_ip_ops) WITH (lists = 0, m = 0, training_sample = 0);
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'ivfpq_opt\__' ORDER BY relname;
SELECT c.relname, i.lists, i.m, i.nbits, i.dims, i.entries, i.built_entries,
	(SELECT sum(entries) FROM vecdb_ivfpq_lists(c.oid)) AS list_entries,
	(SELECT count(*) FROM vecdb_ivfpq_lists(c.oid)) AS list_rows,
	(SELECT count(*) FROM vecdb_index_check(c.oid)) = 0 AS sound
	FROM pg_class c, LATERAL vecdb_ivfpq_info(c.oid) i
	WHERE c.relname LIKE 'ivfpq_opt\__' ORDER BY c.relname;
-- automatic lists on 100 rows: about sqrt(100) = 10
SELECT lists BETWEEN 5 AND 20 AS auto_lists FROM vecdb_ivfpq_info('ivfpq_opt_d');

-- Small tables from here on: with probes above the number of lists and
-- rerank above the number of rows every answer is the exact one.
SET vecdb.ivfpq_probes = 200;
SET vecdb.ivfpq_rerank = 1000;
SET enable_seqscan = off;
-- each index, alone, answers exactly and returns every row
DROP INDEX ivfpq_opt_b, ivfpq_opt_c, ivfpq_opt_d;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_opt ORDER BY v <-> '[3,3,3,3,3,3,3,3]' LIMIT 5;
SELECT ivfpq_is_exact('ivfpq_opt', '<->', '[3,3,3,3,3,3,3,3]', 10) AS exact_a,
	ivfpq_is_exact('ivfpq_opt', '<->', '[30,0,12,3,0,0,7,1]', 10) AS exact_a2;
SELECT count(*) AS rows_a FROM (SELECT id FROM ivfpq_opt ORDER BY v <-> '[3,3,3,3,3,3,3,3]' LIMIT 1000) s;
DROP INDEX ivfpq_opt_a;
CREATE INDEX ivfpq_opt_b ON ivfpq_opt USING ivfpq (v) WITH (lists = 1, m = 1);
SELECT ivfpq_is_exact('ivfpq_opt', '<->', '[3,3,3,3,3,3,3,3]', 10) AS exact_b,
	ivfpq_is_exact('ivfpq_opt', '<->', '[30,0,12,3,0,0,7,1]', 10) AS exact_b2;
SELECT count(*) AS rows_b FROM (SELECT id FROM ivfpq_opt ORDER BY v <-> '[3,3,3,3,3,3,3,3]' LIMIT 1000) s;
CREATE INDEX ivfpq_opt_c ON ivfpq_opt USING ivfpq (v vector_cosine_ops) WITH (lists = 10, m = 4, training_sample = 50);
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_opt ORDER BY v <=> '[1,2,3,4,5,6,7,8]' LIMIT 5;
SELECT ivfpq_is_exact('ivfpq_opt', '<=>', '[1,2,3,4,5,6,7,8]', 10) AS exact_c;
SELECT count(*) AS rows_c FROM (SELECT id FROM ivfpq_opt ORDER BY v <=> '[1,2,3,4,5,6,7,8]' LIMIT 1000) s;
CREATE INDEX ivfpq_opt_d ON ivfpq_opt USING ivfpq (v vector_ip_ops);
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_opt ORDER BY v <#> '[1,2,3,4,5,6,7,8]' LIMIT 5;
SELECT ivfpq_is_exact('ivfpq_opt', '<#>', '[1,2,3,4,5,6,7,8]', 10) AS exact_d;
SELECT count(*) AS rows_d FROM (SELECT id FROM ivfpq_opt ORDER BY v <#> '[1,2,3,4,5,6,7,8]' LIMIT 1000) s;
CREATE INDEX ivfpq_opt_e ON ivfpq_opt USING ivfpq (v vector_l1_ops) WITH (lists = 7);
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_opt ORDER BY v <+> '[1,2,3,4,5,6,7,8]' LIMIT 5;
SELECT ivfpq_is_exact('ivfpq_opt', '<+>', '[1,2,3,4,5,6,7,8]', 10) AS exact_e;
-- a query vector of another dimension is an error
SELECT ivfpq_error($$SELECT id FROM ivfpq_opt ORDER BY v <-> '[1,2,3]' LIMIT 5$$) AS query_3_dims;

-- REINDEX and REINDEX CONCURRENTLY rebuild the index with its options
REINDEX INDEX ivfpq_opt_b;
SELECT lists, m, entries, built_entries FROM vecdb_ivfpq_info('ivfpq_opt_b');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_opt_b');
REINDEX INDEX CONCURRENTLY ivfpq_opt_c;
SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = 'ivfpq_opt_c'::regclass;
SELECT lists, m, entries, built_entries FROM vecdb_ivfpq_info('ivfpq_opt_c');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_opt_c');
REINDEX TABLE ivfpq_opt;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_opt_d');
SELECT ivfpq_is_exact('ivfpq_opt', '<->', '[3,3,3,3,3,3,3,3]', 10) AS exact_b,
	ivfpq_is_exact('ivfpq_opt', '<=>', '[1,2,3,4,5,6,7,8]', 10) AS exact_c,
	ivfpq_is_exact('ivfpq_opt', '<#>', '[1,2,3,4,5,6,7,8]', 10) AS exact_d,
	ivfpq_is_exact('ivfpq_opt', '<+>', '[1,2,3,4,5,6,7,8]', 10) AS exact_e;
DROP INDEX ivfpq_opt_b, ivfpq_opt_c, ivfpq_opt_d, ivfpq_opt_e;

-- CREATE INDEX CONCURRENTLY, with options; then rows inserted afterwards
CREATE INDEX CONCURRENTLY ivfpq_opt_cic ON ivfpq_opt USING ivfpq (v vector_l2_ops) WITH (lists = 5, m = 2);
SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = 'ivfpq_opt_cic'::regclass;
SELECT lists, m, entries FROM vecdb_ivfpq_info('ivfpq_opt_cic');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_opt_cic');
INSERT INTO ivfpq_opt VALUES (101, '[100,1,1,1,1,1,1,1]');
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_opt ORDER BY v <-> '[99,1,1,1,1,1,1,1]' LIMIT 3;
SELECT id FROM ivfpq_opt ORDER BY v <-> '[99,1,1,1,1,1,1,1]' LIMIT 1;
SELECT ivfpq_is_exact('ivfpq_opt', '<->', '[3,3,3,3,3,3,3,3]', 10) AS exact;
SELECT entries, (SELECT sum(entries) FROM vecdb_ivfpq_lists('ivfpq_opt_cic')) AS list_entries
	FROM vecdb_ivfpq_info('ivfpq_opt_cic');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_opt_cic');
DROP TABLE ivfpq_opt;
RESET vecdb.ivfpq_probes;
RESET vecdb.ivfpq_rerank;
RESET enable_seqscan;

-- settings
SHOW vecdb.ivfpq_probes;
SHOW vecdb.ivfpq_rerank;
SHOW vecdb.ivfpq_iterative_scan;
SHOW vecdb.ivfpq_max_probes;
SELECT ivfpq_error('SET vecdb.ivfpq_probes = 0') AS probes_0,
	ivfpq_error('SET vecdb.ivfpq_probes = -1') AS probes_neg,
	ivfpq_error('SET vecdb.ivfpq_probes = ''ten''') AS probes_ten,
	ivfpq_error('SET vecdb.ivfpq_rerank = -1') AS rerank_neg,
	ivfpq_error('SET vecdb.ivfpq_rerank = ''all''') AS rerank_all;
SELECT ivfpq_error('SET vecdb.ivfpq_iterative_scan = on') AS iterative_on,
	ivfpq_error('SET vecdb.ivfpq_iterative_scan = strict') AS iterative_strict,
	ivfpq_error('SET vecdb.ivfpq_max_probes = -1') AS max_probes_neg,
	ivfpq_error('SET vecdb.ivfpq_max_probes = ''all''') AS max_probes_all;
SET vecdb.ivfpq_probes = 1;
SHOW vecdb.ivfpq_probes;
SET vecdb.ivfpq_probes = 1000;
SHOW vecdb.ivfpq_probes;
SET vecdb.ivfpq_rerank = 10;
SHOW vecdb.ivfpq_rerank;
SET vecdb.ivfpq_rerank = 5000;
SHOW vecdb.ivfpq_rerank;
SET vecdb.ivfpq_iterative_scan = relaxed_order;
SHOW vecdb.ivfpq_iterative_scan;
SET vecdb.ivfpq_iterative_scan = strict_order;
SHOW vecdb.ivfpq_iterative_scan;
SET vecdb.ivfpq_iterative_scan = off;
SHOW vecdb.ivfpq_iterative_scan;
SET vecdb.ivfpq_max_probes = 5;
SHOW vecdb.ivfpq_max_probes;
SET vecdb.ivfpq_max_probes = 0;
SHOW vecdb.ivfpq_max_probes;
RESET vecdb.ivfpq_probes;
RESET vecdb.ivfpq_rerank;
RESET vecdb.ivfpq_iterative_scan;
RESET vecdb.ivfpq_max_probes;
SHOW vecdb.ivfpq_probes;
SHOW vecdb.ivfpq_rerank;
SHOW vecdb.ivfpq_iterative_scan;
SHOW vecdb.ivfpq_max_probes;
-- (the settings are visible in pg_settings)
SELECT name, setting, vartype, min_val, enumvals FROM pg_settings
	WHERE name LIKE 'vecdb.ivfpq%' ORDER BY name;

-- automatic lists and m on a larger table: 2,500 rows of 24 dimensions ->
-- about sqrt(2500) = 50 lists, and an m that divides 24 near 24 / 4
SELECT setseed(0.375);
CREATE TABLE ivfpq_auto (id int PRIMARY KEY, v vector(24));
INSERT INTO ivfpq_auto
	SELECT i, ARRAY(SELECT random() - 0.5 FROM generate_series(1, 24) WHERE i > 0)::vector
	FROM generate_series(1, 2500) i;
CREATE INDEX ivfpq_auto_l2 ON ivfpq_auto USING ivfpq (v);
SELECT lists BETWEEN 25 AND 100 AS auto_lists, 24 % m = 0 AS m_divides, m BETWEEN 3 AND 12 AS m_near_6,
	nbits, dims, entries, built_entries FROM vecdb_ivfpq_info('ivfpq_auto_l2');
SELECT count(*) BETWEEN 25 AND 100 AS auto_lists, sum(entries) AS entries
	FROM vecdb_ivfpq_lists('ivfpq_auto_l2');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_auto_l2');
-- the rows are found by their own vectors
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_auto ORDER BY v <-> (SELECT v FROM ivfpq_auto WHERE id = 1) LIMIT 1;
SELECT count(*) AS rows, count(*) FILTER (WHERE (SELECT i.id FROM ivfpq_auto i ORDER BY i.v <-> a.v LIMIT 1) = a.id)
	AS found FROM ivfpq_auto a WHERE a.id % 25 = 0;
RESET enable_seqscan;
DROP TABLE ivfpq_auto;
-- dimensions without a divisor but 1 and themselves: m is 1 or 7
CREATE TABLE ivfpq_prime (id int, v vector(7));
INSERT INTO ivfpq_prime SELECT i, ARRAY[i, i % 2, i % 3, i % 5, i % 7, i % 11, i % 13] FROM generate_series(1, 200) i;
CREATE INDEX ivfpq_prime_l2 ON ivfpq_prime USING ivfpq (v);
SELECT m IN (1, 7) AS m_divides, dims, entries FROM vecdb_ivfpq_info('ivfpq_prime_l2');
SELECT ivfpq_error('CREATE INDEX ON ivfpq_prime USING ivfpq (v) WITH (m = 2)', '%does not divide%') AS m_2;
DROP TABLE ivfpq_prime;

-- an empty table: the index builds (untrained), works and finds nothing;
-- rows inserted later are found, exactly (an untrained index re-ranks every
-- entry), at the default settings. The build (and TRUNCATE's rebuild)
-- says with a NOTICE that the index is untrained.
SET enable_seqscan = off;
CREATE TABLE ivfpq_empty (id int, v vector(3));
CREATE INDEX ivfpq_empty_l2 ON ivfpq_empty USING ivfpq (v vector_l2_ops);
SELECT entries, built_entries, largest_list, coalesce(imbalance, 1) = 1 AS imbalance_null_or_1
	FROM vecdb_ivfpq_info('ivfpq_empty_l2');
SELECT coalesce(sum(entries), 0) AS list_entries FROM vecdb_ivfpq_lists('ivfpq_empty_l2');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_empty_l2');
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT id FROM ivfpq_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
INSERT INTO ivfpq_empty VALUES (1, NULL);
SELECT id FROM ivfpq_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
INSERT INTO ivfpq_empty VALUES (2, '[1,2,4]'), (3, '[9,9,9]');
SELECT id FROM ivfpq_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
-- 400 more rows: every answer is the exact one, at the default settings and
-- with a single list probed
INSERT INTO ivfpq_empty SELECT i, ARRAY[i % 17, i % 19, i % 23] FROM generate_series(4, 403) i;
SELECT entries, built_entries, (SELECT sum(entries) FROM vecdb_ivfpq_lists('ivfpq_empty_l2')) AS list_entries
	FROM vecdb_ivfpq_info('ivfpq_empty_l2');
SELECT count(*) AS queries, count(*) FILTER (WHERE ivfpq_is_exact('ivfpq_empty', '<->', ARRAY[j % 5, j % 7, j]::vector, 10))
	AS exact FROM generate_series(1, 20) j;
SET vecdb.ivfpq_probes = 1;
SELECT count(*) AS queries, count(*) FILTER (WHERE ivfpq_is_exact('ivfpq_empty', '<->', ARRAY[j % 5, j % 7, j]::vector, 10))
	AS exact FROM generate_series(1, 20) j;
RESET vecdb.ivfpq_probes;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_empty_l2');
-- those rows are hot, searched exactly; merged, they are in the untrained
-- index's list 0, and every answer is still exact
SELECT vecdb_merge('ivfpq_empty_l2') AS merged;
SELECT entries, built_entries, (SELECT sum(entries) FROM vecdb_ivfpq_lists('ivfpq_empty_l2')) AS list_entries
	FROM vecdb_ivfpq_info('ivfpq_empty_l2');
SET vecdb.ivfpq_probes = 1;
SELECT count(*) AS queries, count(*) FILTER (WHERE ivfpq_is_exact('ivfpq_empty', '<->', ARRAY[j % 5, j % 7, j]::vector, 10))
	AS exact FROM generate_series(1, 20) j;
RESET vecdb.ivfpq_probes;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_empty_l2');
-- emptied again by DELETE and VACUUM
DELETE FROM ivfpq_empty;
VACUUM ivfpq_empty;
SELECT entries, (SELECT coalesce(sum(entries), 0) FROM vecdb_ivfpq_lists('ivfpq_empty_l2')) AS list_entries
	FROM vecdb_ivfpq_info('ivfpq_empty_l2');
SELECT id FROM ivfpq_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_empty_l2');
INSERT INTO ivfpq_empty VALUES (404, '[1,2,3]');
SELECT id FROM ivfpq_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
-- and by TRUNCATE
TRUNCATE ivfpq_empty;
SELECT id FROM ivfpq_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT entries FROM vecdb_ivfpq_info('ivfpq_empty_l2');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_empty_l2');
INSERT INTO ivfpq_empty VALUES (405, '[3,2,1]');
SELECT id FROM ivfpq_empty ORDER BY v <-> '[1,2,3]' LIMIT 5;
DROP TABLE ivfpq_empty;
-- on an empty table, lists may exceed the (zero) rows; m must still divide
CREATE TABLE ivfpq_empty (id int, v vector(4));
CREATE INDEX ivfpq_empty_50 ON ivfpq_empty USING ivfpq (v) WITH (lists = 50, m = 2);
SELECT ivfpq_error('CREATE INDEX ON ivfpq_empty USING ivfpq (v) WITH (m = 3)', '%does not divide%') AS m_3;
INSERT INTO ivfpq_empty SELECT i, ARRAY[i, i, i, i] FROM generate_series(1, 10) i;
SELECT array_agg(id) FROM (SELECT id FROM ivfpq_empty ORDER BY v <-> '[4,4,4,4.4]' LIMIT 3) s;
SELECT entries FROM vecdb_ivfpq_info('ivfpq_empty_50');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_empty_50');
-- but a REINDEX now has 10 rows for 50 lists
SELECT ivfpq_error('REINDEX INDEX ivfpq_empty_50', '%lists%') AS reindex_lists_above_rows;
DROP INDEX ivfpq_empty_50;
CREATE INDEX ivfpq_empty_5 ON ivfpq_empty USING ivfpq (v) WITH (lists = 5, m = 2);
SELECT lists, entries, built_entries FROM vecdb_ivfpq_info('ivfpq_empty_5');
SELECT array_agg(id) FROM (SELECT id FROM ivfpq_empty ORDER BY v <-> '[4,4,4,4.4]' LIMIT 3) s;
DROP TABLE ivfpq_empty;

-- Small tables again: probes and rerank above their lists and rows make
-- every answer exact.
SET vecdb.ivfpq_probes = 200;
SET vecdb.ivfpq_rerank = 1000;

-- NULLs are not indexed, and do not disturb the index
CREATE TABLE ivfpq_null (id int, v vector(3));
INSERT INTO ivfpq_null SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY[i, i, i] END
	FROM generate_series(1, 30) i;
CREATE INDEX ivfpq_null_l2 ON ivfpq_null USING ivfpq (v vector_l2_ops) WITH (lists = 4);
SELECT entries, built_entries, (SELECT sum(entries) FROM vecdb_ivfpq_lists('ivfpq_null_l2')) AS list_entries
	FROM vecdb_ivfpq_info('ivfpq_null_l2');
INSERT INTO ivfpq_null VALUES (31, NULL), (32, '[32,32,32]'), (33, NULL);
SELECT entries FROM vecdb_ivfpq_info('ivfpq_null_l2');
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_null ORDER BY v <-> '[7,7,8]' LIMIT 5;
SELECT id FROM ivfpq_null ORDER BY v <-> '[7,7,8]' LIMIT 5;
-- all 21 non-NULL rows, nearest first, and none of the NULLs
SELECT array_agg(id) FROM (SELECT id FROM ivfpq_null ORDER BY v <-> '[0,0,0]' LIMIT 40) s;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_null_l2');
DELETE FROM ivfpq_null WHERE id > 20;
VACUUM ivfpq_null;
SELECT entries, (SELECT sum(entries) FROM vecdb_ivfpq_lists('ivfpq_null_l2')) AS list_entries
	FROM vecdb_ivfpq_info('ivfpq_null_l2');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_null_l2');
SELECT array_agg(id) FROM (SELECT id FROM ivfpq_null ORDER BY v <-> '[0,0,0]' LIMIT 40) s;
DROP TABLE ivfpq_null;

-- A cosine index skips zero vectors (their cosine distance is NaN); the
-- other operator classes index them
CREATE TABLE ivfpq_zero (id int, v vector(3));
INSERT INTO ivfpq_zero SELECT i, CASE WHEN i % 4 = 0 THEN '[0,0,0]'::vector ELSE ARRAY[1, i, 0]::vector END
	FROM generate_series(1, 20) i;
CREATE INDEX ivfpq_zero_cos ON ivfpq_zero USING ivfpq (v vector_cosine_ops) WITH (lists = 2);
CREATE INDEX ivfpq_zero_l2 ON ivfpq_zero USING ivfpq (v vector_l2_ops) WITH (lists = 2);
SELECT (SELECT entries FROM vecdb_ivfpq_info('ivfpq_zero_cos')) AS cos_entries,
	(SELECT sum(entries) FROM vecdb_ivfpq_lists('ivfpq_zero_cos')) AS cos_list_entries,
	(SELECT entries FROM vecdb_ivfpq_info('ivfpq_zero_l2')) AS l2_entries;
INSERT INTO ivfpq_zero VALUES (21, '[0,0,0]'), (22, '[1,22,0]');
SELECT (SELECT entries FROM vecdb_ivfpq_info('ivfpq_zero_cos')) AS cos_entries,
	(SELECT entries FROM vecdb_ivfpq_info('ivfpq_zero_l2')) AS l2_entries;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_zero ORDER BY v <=> '[1,3,0]' LIMIT 5;
SELECT id FROM ivfpq_zero ORDER BY v <=> '[1,3,0]' LIMIT 3;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM ivfpq_zero ORDER BY v <=> '[1,3,0]' LIMIT 40) s;
-- a zero query vector: every distance is NaN, there is no meaningful answer,
-- but it must not fail
SELECT count(*) <= 40 AS ok FROM (SELECT id FROM ivfpq_zero ORDER BY v <=> '[0,0,0]' LIMIT 40) s;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_zero ORDER BY v <-> '[0,0,0]' LIMIT 5;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM ivfpq_zero ORDER BY v <-> '[0,0,0]' LIMIT 6) s;
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_zero_cos');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_zero_l2');
DROP TABLE ivfpq_zero;

-- identical vectors: every one of their rows is found
CREATE TABLE ivfpq_dup (id int, v vector(3));
INSERT INTO ivfpq_dup SELECT i, CASE WHEN i <= 10 THEN '[1,1,1]' ELSE ARRAY[i, 0, 0]::vector END
	FROM generate_series(1, 30) i;
CREATE INDEX ivfpq_dup_l2 ON ivfpq_dup USING ivfpq (v vector_l2_ops) WITH (lists = 3);
INSERT INTO ivfpq_dup SELECT i, '[1,1,1]' FROM generate_series(31, 35) i;
SELECT array_agg(id ORDER BY id), max(d) AS max_d FROM (SELECT id, v <-> '[1,1,1]' AS d FROM ivfpq_dup
	ORDER BY v <-> '[1,1,1]' LIMIT 15) s;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM ivfpq_dup ORDER BY v <-> '[1,1,1]' LIMIT 17) s;
DELETE FROM ivfpq_dup WHERE id % 2 = 0 AND id <= 10 OR id = 33;
VACUUM ivfpq_dup;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM ivfpq_dup ORDER BY v <-> '[1,1,1]' LIMIT 9) s;
SELECT entries FROM vecdb_ivfpq_info('ivfpq_dup_l2');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_dup_l2');
DROP TABLE ivfpq_dup;

-- dimensions: the indexed column needs a declared dimension
CREATE TABLE ivfpq_dims (id int, v vector);
INSERT INTO ivfpq_dims SELECT i, ARRAY[i, i % 5, i % 7]::vector FROM generate_series(1, 50) i;
SELECT ivfpq_error('CREATE INDEX ON ivfpq_dims USING ivfpq (v vector_l2_ops)',
	'column does not have dimensions') AS no_dims;
-- an expression index with a cast gives it one
CREATE INDEX ivfpq_dims_l2 ON ivfpq_dims USING ivfpq ((v::vector(3)) vector_l2_ops) WITH (lists = 5);
SELECT lists, dims, entries FROM vecdb_ivfpq_info('ivfpq_dims_l2');
INSERT INTO ivfpq_dims VALUES (51, '[1,2,4]'), (52, NULL);
SELECT ivfpq_error($$INSERT INTO ivfpq_dims VALUES (53, '[1,2]')$$) AS wrong_dims;
SELECT entries FROM vecdb_ivfpq_info('ivfpq_dims_l2');
SELECT count(*) = 0 AS sound FROM vecdb_index_check('ivfpq_dims_l2');
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_dims ORDER BY v::vector(3) <-> '[1,2,3]' LIMIT 5;
SELECT id FROM ivfpq_dims ORDER BY v::vector(3) <-> '[1,2,3]' LIMIT 2;
SELECT ivfpq_is_exact('ivfpq_dims', '<->', '[1,2,3]', 10, 'v::vector(3)') AS exact;
DROP TABLE ivfpq_dims;
RESET vecdb.ivfpq_probes;
RESET vecdb.ivfpq_rerank;
RESET enable_seqscan;

-- the functions refuse what is not an ivfpq index
CREATE TABLE ivfpq_other (id int PRIMARY KEY, v vector(3));
SELECT ivfpq_error($$SELECT * FROM vecdb_ivfpq_info('ivfpq_other')$$) <> 'no error' AS info_table,
	ivfpq_error($$SELECT * FROM vecdb_ivfpq_info('ivfpq_other_pkey')$$) <> 'no error' AS info_btree,
	ivfpq_error($$SELECT * FROM vecdb_ivfpq_lists('ivfpq_other')$$) <> 'no error' AS lists_table,
	ivfpq_error($$SELECT * FROM vecdb_ivfpq_lists('ivfpq_other_pkey')$$) <> 'no error' AS lists_btree;
DROP TABLE ivfpq_other;

DROP FUNCTION ivfpq_error, ivfpq_is_exact;
