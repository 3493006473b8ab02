-- test/sqlsmith/schema.sql: the database sqlsmith's random queries run
-- against (test/run's sqlsmith suite). It runs as the database's owner, a
-- role without superuser, so CREATE EXTENSION takes the trusted path.
--
-- sqlsmith builds its queries from the catalog: every table column below
-- is a typed value it can feed to vecdb's functions and operators, and every
-- index is one that its INSERT, UPDATE and MERGE statements (rolled back)
-- write to. So the tables hold what is hard to handle: NULLs, zero vectors,
-- float4's extremes and denormals, -0, 1 dimension and many, and arrays
-- that are not vectors' shapes. Keep it deterministic: no random() here.
\set ON_ERROR_STOP 1
CREATE EXTENSION vecdb;

-- vector(3): rows for every opclass of both access methods
CREATE TABLE v3 (id int PRIMARY KEY, v vector(3), note text);
INSERT INTO v3
SELECT i, format('[%s,%s,%s]', sin(i) * 10, cos(i * 7) * 10, (i % 13) - 6)::vector, 'grid'
FROM generate_series(1, 300) AS i;
INSERT INTO v3 VALUES
	(1001, NULL, 'null'),
	(1002, '[0,0,0]', 'zero'),
	(1003, '[-0,0,-0]', 'negative zero'),
	(1004, '[3.4028235e38,-3.4028235e38,3.4028235e38]', 'float4 extremes'),
	(1005, '[1.17549435e-38,-1.17549435e-38,1e-45]', 'smallest normal and denormal'),
	(1006, '[1e-45,1e-45,1e-45]', 'denormals'),
	(1007, '[1e38,1e38,1e38]', 'large: squares overflow float4'),
	(1008, '[1,1,1]', 'duplicate'),
	(1009, '[1,1,1]', 'duplicate'),
	(1010, '[-1e-30,1e30,0]', 'mixed scales'),
	(1011, NULL, 'null');
CREATE INDEX v3_hnsw_l2 ON v3 USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 8);
CREATE INDEX v3_hnsw_ip ON v3 USING hnsw (v vector_ip_ops) WITH (m = 4, ef_construction = 8);
CREATE INDEX v3_hnsw_cos ON v3 USING hnsw (v vector_cosine_ops) WITH (m = 4, ef_construction = 8);
CREATE INDEX v3_hnsw_l1 ON v3 USING hnsw (v vector_l1_ops) WITH (m = 4, ef_construction = 8);
CREATE INDEX v3_ivfpq_l2 ON v3 USING ivfpq (v vector_l2_ops) WITH (lists = 4, m = 3);
CREATE INDEX v3_ivfpq_ip ON v3 USING ivfpq (v vector_ip_ops) WITH (lists = 4, m = 1);
CREATE INDEX v3_ivfpq_cos ON v3 USING ivfpq (v vector_cosine_ops) WITH (lists = 2, m = 3);
CREATE INDEX v3_ivfpq_l1 ON v3 USING ivfpq (v vector_l1_ops) WITH (lists = 3, m = 1);
CREATE INDEX v3_btree ON v3 (v);

-- vector(1): one dimension, where m = dims and every sub-vector is a scalar
CREATE TABLE v1 (id int PRIMARY KEY, v vector(1));
INSERT INTO v1 SELECT i, format('[%s]', (i % 17) - 8)::vector FROM generate_series(1, 60) AS i;
INSERT INTO v1 VALUES (101, NULL), (102, '[0]'), (103, '[-3.4028235e38]'), (104, '[1e-45]');
CREATE INDEX v1_hnsw_l2 ON v1 USING hnsw (v vector_l2_ops) WITH (m = 2, ef_construction = 4);
CREATE INDEX v1_hnsw_cos ON v1 USING hnsw (v vector_cosine_ops);
CREATE INDEX v1_ivfpq_ip ON v1 USING ivfpq (v vector_ip_ops) WITH (lists = 2, m = 1);
CREATE INDEX v1_ivfpq_l1 ON v1 USING ivfpq (v vector_l1_ops);

-- vector(768), a common embedding size: a few rows, each opclass once
CREATE TABLE v768 (id int PRIMARY KEY, v vector(768));
INSERT INTO v768
SELECT i, (SELECT array_agg(sin(i * 31 + j)::real ORDER BY j) FROM generate_series(1, 768) AS j)::vector
FROM generate_series(1, 40) AS i;
INSERT INTO v768 VALUES (101, NULL), (102, array_fill(0::real, ARRAY[768])::vector),
	(103, array_fill(3e38::real, ARRAY[768])::vector), (104, array_fill(-1e-40::real, ARRAY[768])::vector);
CREATE INDEX v768_hnsw_ip ON v768 USING hnsw (v vector_ip_ops) WITH (m = 8, ef_construction = 16);
CREATE INDEX v768_hnsw_l1 ON v768 USING hnsw (v vector_l1_ops) WITH (m = 8, ef_construction = 16);
CREATE INDEX v768_ivfpq_l2 ON v768 USING ivfpq (v vector_l2_ops) WITH (lists = 4, m = 192);
CREATE INDEX v768_ivfpq_cos ON v768 USING ivfpq (v vector_cosine_ops) WITH (lists = 2, m = 768);

-- vector(1900): near hnsw's limit for m = 16 (a vector and its links share
-- a page), and ivfpq with m = 1 (one sub-quantizer of 1900 dimensions)
CREATE TABLE v1900 (id int PRIMARY KEY, v vector(1900));
INSERT INTO v1900
SELECT i, (SELECT array_agg(cos(i + j * 0.01)::real ORDER BY j) FROM generate_series(1, 1900) AS j)::vector
FROM generate_series(1, 12) AS i;
INSERT INTO v1900 VALUES (101, NULL), (102, array_fill(0::real, ARRAY[1900])::vector);
CREATE INDEX v1900_hnsw_l2 ON v1900 USING hnsw (v vector_l2_ops);
CREATE INDEX v1900_hnsw_cos ON v1900 USING hnsw (v vector_cosine_ops);
CREATE INDEX v1900_ivfpq_ip ON v1900 USING ivfpq (v vector_ip_ops) WITH (lists = 2, m = 1);
CREATE INDEX v1900_ivfpq_l1 ON v1900 USING ivfpq (v vector_l1_ops) WITH (lists = 1, m = 19);

-- quantization = sq8: codes, re-ranked by the executor from lower bounds
-- the scan returns; the hostile rows of v3, and 768 dims
CREATE TABLE v3q AS SELECT * FROM v3;
CREATE INDEX v3q_hnsw_l2 ON v3q USING hnsw (v vector_l2_ops) WITH (m = 4, quantization = sq8);
CREATE INDEX v3q_hnsw_ip ON v3q USING hnsw (v vector_ip_ops) WITH (m = 4, quantization = sq8);
CREATE INDEX v3q_hnsw_cos ON v3q USING hnsw (v vector_cosine_ops) WITH (m = 4, quantization = sq8);
CREATE INDEX v3q_hnsw_l1 ON v3q USING hnsw (v vector_l1_ops) WITH (m = 4, quantization = sq8);
CREATE TABLE v768q AS SELECT * FROM v768;
CREATE INDEX v768q_hnsw_l2 ON v768q USING hnsw (v vector_l2_ops) WITH (quantization = sq8);
CREATE INDEX v768q_hnsw_cos ON v768q USING hnsw (v vector_cosine_ops) WITH (quantization = sq8);

-- an empty table: untrained ivfpq indexes and hnsw indexes without an entry
CREATE TABLE v_empty (id int, v vector(5));
CREATE INDEX v_empty_hnsw ON v_empty USING hnsw (v vector_cosine_ops);
CREATE INDEX v_empty_ivfpq ON v_empty USING ivfpq (v vector_l2_ops);

-- no typmod: vectors of mixed dimensions, including the largest (16,000)
CREATE TABLE v_any (id int, v vector);
INSERT INTO v_any VALUES (1, '[1]'), (2, '[1,2]'), (3, '[1,2,3]'), (4, '[0,0,0,0]'), (5, NULL),
	(6, array_fill(1::real, ARRAY[16000])::vector), (7, array_fill(-2.5e-38::real, ARRAY[15999])::vector),
	(8, '[3.4028235e38]'), (9, '[-1e-45,1e-45]');

-- arrays to cast and to hand to the aggregates' state functions: empty,
-- NULL elements, NaN and infinities, multi-dimensional, and longer than a
-- vector may be (16,001 and 40,001 elements)
CREATE TABLE arrays (id int, f8 float8[], f4 real[], i4 int[], num numeric[]);
INSERT INTO arrays VALUES
	(1, '{1,2,3}', '{1,2,3}', '{1,2,3}', '{1,2,3}'),
	(2, '{}', '{}', '{}', '{}'),
	(3, '{NULL,1}', '{1,NULL}', '{NULL}', '{NULL,NULL}'),
	(4, '{NaN,Infinity,-Infinity}', '{NaN}', '{2147483647,-2147483648}', '{1e400,-1e400}'),
	(5, '{{1,2},{3,4}}', '{{1},{2}}', '{{1,2,3}}', '{{0.5}}'),
	(6, '{0}', '{0}', '{0}', '{0}'),
	(7, '{3,1,2,3}', '{1e-45,3.4028235e38}', '{0,0,0}', '{1e-50}'),
	(8, '{1,1e308,-1e308}', '{-0}', '{-1}', '{NaN}'),
	(9, array_fill(1::float8, ARRAY[16001]), array_fill(1::real, ARRAY[16001]),
		array_fill(1, ARRAY[16001]), array_fill(1::numeric, ARRAY[2])),
	(10, array_fill(1::float8, ARRAY[40001]), array_fill(0::real, ARRAY[16000]),
		array_fill(7, ARRAY[16000]), NULL),
	(11, NULL, NULL, NULL, NULL);

-- relations by name, so that the index functions (vecdb_index_check,
-- vecdb_ivfpq_info ...) get vecdb indexes, other indexes, tables and NULL
CREATE TABLE rels (r regclass);
INSERT INTO rels
SELECT c.oid::regclass FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i');
INSERT INTO rels VALUES (NULL), ('pg_class'), ('pg_class_oid_index');

-- plain scalars for dimensions, typmods, subvector bounds and the like
CREATE TABLE knobs (i int, f float8, b bool);
INSERT INTO knobs VALUES (0, 0, false), (1, 1, true), (-1, -1, NULL), (3, 1e308, true),
	(16000, 'NaN', false), (16001, '-Infinity', true), (2147483647, 1e-308, NULL),
	(-2147483648, -0.0, false), (NULL, NULL, NULL);

-- The focused runs: sqlsmith reads the functions it may call from pg_proc,
-- unqualified, so with search_path = smith_focus, public, pg_catalog it
-- reads this view instead: vecdb's functions and aggregates, and the few
-- built-in ones that make their arguments (arrays, numbers), rather than
-- all three thousand of the catalog. The queries it writes name every
-- function with its schema, so the view changes nothing else.
CREATE SCHEMA smith_focus;
CREATE VIEW smith_focus.pg_proc AS
SELECT * FROM pg_catalog.pg_proc
WHERE pronamespace = 'public'::regnamespace
	OR (pronamespace = 'pg_catalog'::regnamespace AND proname IN (
		'array_fill', 'array_append', 'array_prepend', 'array_cat', 'array_remove',
		'array_replace', 'trim_array', 'array_length', 'cardinality', 'array_agg',
		'string_to_array', 'array_to_string', 'float4', 'float8',
		'numeric', 'int4', 'float8mul', 'float8div', 'power', 'float8_accum',
		'float8_combine'));

ANALYZE v3, v3q, v1, v768, v768q, v1900, v_empty, v_any, arrays, rels, knobs;
