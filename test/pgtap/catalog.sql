-- catalog.sql: the catalogue holds pgvector's SQL surface, and bad input
-- fails the way pgvector's does (same SQLSTATE, same message).
--
-- Run by test/run with pg_prove against a database where pgtap and vecdb
-- are installed.

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(167);

-- ---------------------------------------------------------------------------
-- the extension and the type

SELECT has_extension('vecdb', 'extension vecdb is installed');
SELECT has_type('vector', 'type vector exists');
SELECT is(
	(SELECT typstorage::text FROM pg_type WHERE typname = 'vector'),
	'e',
	'vector has STORAGE external');
SELECT is(
	(SELECT ARRAY[typinput::text, typoutput::text, typmodin::text, typreceive::text, typsend::text]
	   FROM pg_type WHERE typname = 'vector'),
	ARRAY['vector_in', 'vector_out', 'vector_typmod_in', 'vector_recv', 'vector_send'],
	'vector has its I/O, typmod, receive and send functions');
SELECT is(format_type('vector'::regtype, 3), 'vector(3)', 'format_type shows vector(3)');

-- ---------------------------------------------------------------------------
-- operators: left, name, right, result

SELECT has_operator('vector'::name, '<->'::name, 'vector'::name, 'double precision'::name, 'operator vector <-> vector returns double precision'::text);
SELECT has_operator('vector'::name, '<#>'::name, 'vector'::name, 'double precision'::name, 'operator vector <#> vector returns double precision'::text);
SELECT has_operator('vector'::name, '<=>'::name, 'vector'::name, 'double precision'::name, 'operator vector <=> vector returns double precision'::text);
SELECT has_operator('vector'::name, '<+>'::name, 'vector'::name, 'double precision'::name, 'operator vector <+> vector returns double precision'::text);
SELECT has_operator('vector'::name, '+'::name, 'vector'::name, 'vector'::name, 'operator vector + vector returns vector'::text);
SELECT has_operator('vector'::name, '-'::name, 'vector'::name, 'vector'::name, 'operator vector - vector returns vector'::text);
SELECT has_operator('vector'::name, '*'::name, 'vector'::name, 'vector'::name, 'operator vector * vector returns vector'::text);
SELECT has_operator('vector'::name, '||'::name, 'vector'::name, 'vector'::name, 'operator vector || vector returns vector'::text);
SELECT has_operator('vector'::name, '='::name, 'vector'::name, 'boolean'::name, 'operator vector = vector returns boolean'::text);
SELECT has_operator('vector'::name, '<>'::name, 'vector'::name, 'boolean'::name, 'operator vector <> vector returns boolean'::text);
SELECT has_operator('vector'::name, '<'::name, 'vector'::name, 'boolean'::name, 'operator vector < vector returns boolean'::text);
SELECT has_operator('vector'::name, '<='::name, 'vector'::name, 'boolean'::name, 'operator vector <= vector returns boolean'::text);
SELECT has_operator('vector'::name, '>'::name, 'vector'::name, 'boolean'::name, 'operator vector > vector returns boolean'::text);
SELECT has_operator('vector'::name, '>='::name, 'vector'::name, 'boolean'::name, 'operator vector >= vector returns boolean'::text);
SELECT has_operator('bit'::name, '<~>'::name, 'bit'::name, 'double precision'::name, 'operator bit <~> bit returns double precision'::text);
SELECT has_operator('bit'::name, '<%>'::name, 'bit'::name, 'double precision'::name, 'operator bit <%> bit returns double precision'::text);

-- ---------------------------------------------------------------------------
-- functions: name, argument types, result type

SELECT function_returns('l2_distance', ARRAY['vector', 'vector'], 'double precision');
SELECT function_returns('inner_product', ARRAY['vector', 'vector'], 'double precision');
SELECT function_returns('cosine_distance', ARRAY['vector', 'vector'], 'double precision');
SELECT function_returns('l1_distance', ARRAY['vector', 'vector'], 'double precision');
SELECT function_returns('vector_dims', ARRAY['vector'], 'integer');
SELECT function_returns('vector_norm', ARRAY['vector'], 'double precision');
SELECT function_returns('l2_normalize', ARRAY['vector'], 'vector');
SELECT function_returns('subvector', ARRAY['vector', 'integer', 'integer'], 'vector');
SELECT function_returns('binary_quantize', ARRAY['vector'], 'bit');
SELECT has_type('halfvec', 'type halfvec exists');
SELECT is((SELECT typstorage::text FROM pg_type WHERE typname = 'halfvec'), 'e',
	'halfvec has STORAGE external');
SELECT has_type('sparsevec', 'type sparsevec exists');
SELECT is((SELECT typstorage::text FROM pg_type WHERE typname = 'sparsevec'), 'e',
	'sparsevec has STORAGE external');
SELECT is(format_type('sparsevec'::regtype, 30522), 'sparsevec(30522)',
	'format_type shows sparsevec(30522)');
SELECT has_operator('sparsevec'::name, '<->'::name, 'sparsevec'::name, 'double precision'::name, 'operator sparsevec <-> sparsevec returns double precision'::text);
SELECT has_operator('sparsevec'::name, '<#>'::name, 'sparsevec'::name, 'double precision'::name, 'operator sparsevec <#> sparsevec returns double precision'::text);
SELECT has_operator('sparsevec'::name, '<=>'::name, 'sparsevec'::name, 'double precision'::name, 'operator sparsevec <=> sparsevec returns double precision'::text);
SELECT has_operator('sparsevec'::name, '<+>'::name, 'sparsevec'::name, 'double precision'::name, 'operator sparsevec <+> sparsevec returns double precision'::text);
SELECT function_returns('l2_normalize', ARRAY['sparsevec'], 'sparsevec');
SELECT cast_context_is('vector', 'sparsevec', 'implicit');
SELECT cast_context_is('halfvec', 'sparsevec', 'implicit');
SELECT cast_context_is('sparsevec', 'vector', 'assignment');
SELECT cast_context_is('sparsevec', 'halfvec', 'assignment');
SELECT cast_context_is('real[]', 'sparsevec', 'assignment');
SELECT is((SELECT opc.opcname::text FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
	WHERE am.amname = 'btree' AND opc.opcdefault AND opc.opcintype = 'sparsevec'::regtype),
	'sparsevec_ops', 'sparsevec_ops is the default btree opclass for sparsevec');
SELECT throws_ok($$SELECT '{1:1,1:2}/3'::sparsevec$$, '22000',
	'sparsevec indices must not contain duplicates', 'duplicate sparsevec index: 22000');
SELECT throws_ok($$SELECT '{1:1}/3'::sparsevec <-> '{1:1}/4'$$, '22000',
	'different sparsevec dimensions 3 and 4', 'sparsevec dimension mismatch: 22000');
SELECT has_operator('halfvec'::name, '<->'::name, 'halfvec'::name, 'double precision'::name, 'operator halfvec <-> halfvec returns double precision'::text);
SELECT function_returns('l2_norm', ARRAY['halfvec'], 'double precision');
SELECT is((SELECT count(*)::int FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	WHERE c.opcname LIKE 'halfvec\_%\_ops' AND a.amname IN ('hnsw', 'ivfflat', 'ivfpq')), 12,
	'halfvec_{l2,ip,cosine,l1}_ops for hnsw, ivfflat and ivfpq');
SELECT is((SELECT array_agg(c.opcname::text ORDER BY c.opcname) FROM pg_opclass c
	JOIN pg_am a ON a.oid = c.opcmethod WHERE a.amname = 'hnsw' AND c.opcintype = 'bit'::regtype),
	ARRAY['bit_hamming_ops', 'bit_jaccard_ops'], 'hnsw has pgvector''s two opclasses for bit');
SELECT is((SELECT bool_and(amvalidate(c.oid)) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	WHERE a.amname IN ('hnsw', 'ivfflat', 'ivfpq')), true,
	'every vecdb opclass has its support function 2');
SELECT is((SELECT count(*)::int FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	WHERE a.amname = 'ivfflat'), 8, 'ivfflat has the vector and halfvec operator classes');
SELECT function_returns('hamming_distance', ARRAY['bit', 'bit'], 'double precision');
SELECT function_returns('jaccard_distance', ARRAY['bit', 'bit'], 'double precision');
SELECT function_returns('vector_in', ARRAY['cstring', 'oid', 'integer'], 'vector');
SELECT function_returns('vector_out', ARRAY['vector'], 'cstring');
SELECT function_returns('vector_typmod_in', ARRAY['cstring[]'], 'integer');
SELECT function_returns('vector_recv', ARRAY['internal', 'oid', 'integer'], 'vector');
SELECT function_returns('vector_send', ARRAY['vector'], 'bytea');

-- ---------------------------------------------------------------------------
-- aggregates

SELECT is_aggregate('avg', ARRAY['vector'], 'avg(vector) is an aggregate');
SELECT function_returns('avg', ARRAY['vector'], 'vector');
SELECT is_aggregate('sum', ARRAY['vector'], 'sum(vector) is an aggregate');
SELECT function_returns('sum', ARRAY['vector'], 'vector');

-- ---------------------------------------------------------------------------
-- casts, and their contexts as pgvector declares them

SELECT has_cast('real[]', 'vector');
SELECT has_cast('double precision[]', 'vector');
SELECT has_cast('integer[]', 'vector');
SELECT has_cast('numeric[]', 'vector');
SELECT has_cast('vector', 'real[]');
SELECT cast_context_is('real[]', 'vector', 'assignment');
SELECT cast_context_is('double precision[]', 'vector', 'assignment');
SELECT cast_context_is('integer[]', 'vector', 'assignment');
SELECT cast_context_is('numeric[]', 'vector', 'assignment');
SELECT cast_context_is('vector', 'real[]', 'implicit');

-- ---------------------------------------------------------------------------
-- the btree operator class

SELECT has_opclass('vector_ops', 'operator class vector_ops exists');
SELECT is(
	(SELECT am.amname::text || ' default=' || opc.opcdefault::text
	   FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
	  WHERE opc.opcname = 'vector_ops' AND opc.opcintype = 'vector'::regtype),
	'btree default=true',
	'vector_ops is the default btree opclass for vector');

-- ---------------------------------------------------------------------------
-- bad input: pgvector's SQLSTATEs and messages

SELECT throws_ok(
	$$SELECT '[1,NaN]'::vector$$,
	'22000', 'NaN not allowed in vector',
	'NaN is rejected with 22000');
SELECT throws_ok(
	$$SELECT '[1,Infinity]'::vector$$,
	'22000', 'infinite value not allowed in vector',
	'Infinity is rejected with 22000');
SELECT throws_ok(
	$$SELECT '[-inf]'::vector$$,
	'22000', 'infinite value not allowed in vector',
	'-inf is rejected with 22000');
SELECT throws_ok(
	$$SELECT '[]'::vector$$,
	'22000', 'vector must have at least 1 dimension',
	'[] is rejected with 22000');
SELECT throws_ok(
	$$SELECT '[1,2]'::vector <-> '[1,2,3]'::vector$$,
	'22000', 'different vector dimensions 2 and 3',
	'distance between vectors of different dimensions is rejected');
SELECT throws_ok(
	$$SELECT '[1,2]'::vector + '[1,2,3]'::vector$$,
	'22000', 'different vector dimensions 2 and 3',
	'adding vectors of different dimensions is rejected');
SELECT throws_ok(
	$$SELECT '[1,2]'::vector(3)$$,
	'22000', 'expected 3 dimensions, not 2',
	'a vector(3) with 2 dimensions is rejected');
SELECT throws_ok(
	$$SELECT '[1e39]'::vector$$,
	'22003', '"1e39" is out of range for type vector',
	'a float4 overflow is rejected with 22003');
SELECT throws_ok(
	$$SELECT '[1,2'::vector$$,
	'22P02', 'invalid input syntax for type vector: "[1,2"',
	'malformed text is rejected with 22P02');
SELECT throws_ok(
	$$SELECT '1,2,3'::vector$$,
	'22P02', 'invalid input syntax for type vector: "1,2,3"',
	'text without brackets is rejected with 22P02');
SELECT throws_ok(
	$$SELECT ('[' || repeat('1,', 16000) || '1]')::vector$$,
	'54000', 'vector cannot have more than 16000 dimensions',
	'16001 dimensions are rejected with 54000');
SELECT throws_ok(
	$$SELECT '[1]'::vector(16001)$$,
	'22023', 'dimensions for type vector cannot exceed 16000',
	'vector(16001) is rejected');
SELECT throws_ok(
	$$SELECT '[1]'::vector(0)$$,
	'22023', 'dimensions for type vector must be at least 1',
	'vector(0) is rejected');
SELECT throws_ok(
	$$SELECT ARRAY[1, NULL]::real[]::vector$$,
	'22004', 'array must not contain nulls',
	'an array with a NULL does not cast');

-- ---------------------------------------------------------------------------
-- a few values

SELECT lives_ok($$SELECT '[1,2,3]'::vector(3)$$, 'a vector(3) with 3 dimensions is accepted');
SELECT is(('[' || repeat('1,', 15999) || '1]')::vector::text = '[' || repeat('1,', 15999) || '1]', true,
	'16000 dimensions are accepted');
SELECT is(' [ 1.5 , -2 ,3e2 ] '::vector::text, '[1.5,-2,300]', 'whitespace is allowed; output is shortest form');
SELECT is('[0.1,-0,1e-45,3.4028235e38]'::vector::text, '[0.1,-0,1e-45,3.4028235e+38]',
	'output uses float4''s shortest exact form');
SELECT is('[1,2,3]'::vector <-> '[3,2,1]'::vector, sqrt(8::float8), 'l2 distance');
SELECT is('[1,2,3]'::vector <#> '[4,5,6]'::vector, -32::float8, 'negative inner product');
SELECT is(inner_product('[1,2,3]'::vector, '[4,5,6]'), 32::float8, 'inner_product');
SELECT is('[1,0]'::vector <=> '[0,1]'::vector, 1::float8, 'cosine distance');
SELECT is('[1,2,3]'::vector <+> '[3,2,1]'::vector, 4::float8, 'l1 distance');
SELECT is('[1,2]'::vector || '[3]'::vector, '[1,2,3]'::vector, 'concatenation');
SELECT is('[1,2,3]'::vector * '[2,2,2]'::vector - '[1,1,1]'::vector + '[0,0,1]'::vector,
	'[1,3,6]'::vector, 'element-wise arithmetic');
SELECT is(ARRAY[1,2,3]::vector, '[1,2,3]'::vector, 'integer[] casts to vector');
SELECT is('[1,2,3]'::vector::real[], ARRAY[1,2,3]::real[], 'vector casts to real[]');
SELECT is(vector_dims('[1,2,3]'::vector), 3, 'vector_dims');
SELECT is(vector_norm('[3,4]'), 5::float8, 'vector_norm');
SELECT is(subvector('[1,2,3,4,5]'::vector, 2, 3), '[2,3,4]'::vector, 'subvector is 1-based');
SELECT is((SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[3,6]')) t(v)), '[2,4]'::vector, 'avg(vector)');
SELECT is((SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[3,6]')) t(v)), '[4,8]'::vector, 'sum(vector)');
SELECT ok('[1,2]'::vector < '[1,3]'::vector AND '[1,2]'::vector < '[1,2,0]'::vector
	AND '[2]'::vector > '[1,9]'::vector, 'btree order is element-wise, then by dimensions');

-- ---------------------------------------------------------------------------
-- the hnsw access method

SELECT ok(EXISTS (SELECT FROM pg_am WHERE amname = 'hnsw' AND amtype = 'i'), 'index AM hnsw exists');
SELECT is(
	(SELECT array_agg(opcname::text ORDER BY opcname) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	  WHERE a.amname = 'hnsw' AND c.opcintype = 'vector'::regtype),
	ARRAY['vector_cosine_ops', 'vector_ip_ops', 'vector_l1_ops', 'vector_l2_ops'],
	'hnsw has the four opclasses for vector');
SELECT is(
	(SELECT opcname::text FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	  WHERE a.amname = 'hnsw' AND c.opcdefault),
	'vector_l2_ops', 'vector_l2_ops is the default hnsw opclass');
SELECT is(current_setting('vecdb.hnsw_ef_search'), '40', 'vecdb.hnsw_ef_search defaults to 40');
SELECT is(current_setting('vecdb.hnsw_iterative_scan'), 'off', 'vecdb.hnsw_iterative_scan defaults to off');
SELECT is(current_setting('vecdb.hnsw_max_scan_tuples'), '20000', 'vecdb.hnsw_max_scan_tuples defaults to 20000');
SELECT throws_ok($$SET vecdb.hnsw_iterative_scan = 'sometimes'$$, '22023', NULL,
	'an unknown iterative scan mode is refused');
SELECT throws_ok($$SET vecdb.hnsw_ef_search = 0$$, '22023', NULL, 'ef_search below 1 is refused');
SELECT has_function('vecdb_index_check', ARRAY['regclass'], 'vecdb_index_check(regclass) exists');

CREATE TEMP TABLE hnsw_catalog (v vector(3));
SELECT throws_ok($$CREATE INDEX ON hnsw_catalog USING hnsw (v) WITH (m = 1)$$, '22023', NULL,
	'm below 2 is refused');
SELECT throws_ok($$CREATE INDEX ON hnsw_catalog USING hnsw (v) WITH (m = 16, ef_construction = 16)$$,
	'22023', 'ef_construction must be greater than or equal to 2 * m',
	'ef_construction below 2 * m is refused');
CREATE TEMP TABLE hnsw_nodims (v vector);
SELECT throws_ok($$CREATE INDEX ON hnsw_nodims USING hnsw (v)$$, '42611', 'column does not have dimensions',
	'a column without dimensions cannot be indexed');
CREATE INDEX hnsw_catalog_idx ON hnsw_catalog USING hnsw (v vector_l2_ops);
INSERT INTO hnsw_catalog VALUES ('[1,2,3]'), ('[4,5,6]'), (NULL);
SELECT is_empty($$SELECT * FROM vecdb_index_check('hnsw_catalog_idx')$$, 'a fresh index checks clean');
SELECT throws_ok($$SELECT * FROM vecdb_index_check('hnsw_catalog')$$, '42809', NULL,
	'vecdb_index_check refuses a table');
SELECT throws_ok($$INSERT INTO hnsw_catalog VALUES ('[1,2]')$$, '22000', NULL,
	'a vector of other dimensions is refused by the column');

-- ---------------------------------------------------------------------------
-- the ivfpq access method

SELECT ok(EXISTS (SELECT FROM pg_am WHERE amname = 'ivfpq' AND amtype = 'i'), 'index AM ivfpq exists');
SELECT is(
	(SELECT array_agg(opcname::text ORDER BY opcname) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	  WHERE a.amname = 'ivfpq' AND c.opcintype = 'vector'::regtype),
	ARRAY['vector_cosine_ops', 'vector_ip_ops', 'vector_l1_ops', 'vector_l2_ops'],
	'ivfpq has the four opclasses for vector');
SELECT is(
	(SELECT array_agg(opcname::text) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	  WHERE a.amname = 'ivfpq' AND c.opcdefault),
	ARRAY['vector_l2_ops'], 'vector_l2_ops is the default ivfpq opclass');
SELECT is(
	(SELECT array_agg(c.opcname::text || ' ' || o.amopopr::regoperator::text ORDER BY c.opcname)
	   FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	   JOIN pg_amop o ON o.amopfamily = c.opcfamily AND o.amoppurpose = 'o'
	  WHERE a.amname = 'ivfpq' AND c.opcintype = 'vector'::regtype),
	ARRAY['vector_cosine_ops <=>(vector,vector)', 'vector_ip_ops <#>(vector,vector)',
		'vector_l1_ops <+>(vector,vector)', 'vector_l2_ops <->(vector,vector)'],
	'each ivfpq opclass orders by its distance operator');
SELECT is(current_setting('vecdb.ivfpq_probes'), '10', 'vecdb.ivfpq_probes defaults to 10');
SELECT is(current_setting('vecdb.ivfpq_rerank'), '100', 'vecdb.ivfpq_rerank defaults to 100');
SELECT is(current_setting('vecdb.ivfpq_iterative_scan'), 'off', 'vecdb.ivfpq_iterative_scan defaults to off');
SELECT is(current_setting('vecdb.ivfpq_max_probes'), '0', 'vecdb.ivfpq_max_probes defaults to 0 (all lists)');
SELECT is(
	(SELECT enumvals FROM pg_settings WHERE name = 'vecdb.ivfpq_iterative_scan'),
	ARRAY['off', 'relaxed_order', 'strict_order'],
	'vecdb.ivfpq_iterative_scan is off, relaxed_order or strict_order');
SELECT throws_ok($$SET vecdb.ivfpq_probes = 0$$, '22023', NULL, 'probes below 1 are refused');
SELECT throws_ok($$SET vecdb.ivfpq_probes = 'ten'$$, '22023', NULL, 'probes that are not a number are refused');
SELECT throws_ok($$SET vecdb.ivfpq_rerank = -1$$, '22023', NULL, 'a negative rerank is refused');
SELECT throws_ok($$SET vecdb.ivfpq_iterative_scan = 'sometimes'$$, '22023', NULL,
	'an unknown ivfpq iterative scan mode is refused');
SELECT throws_ok($$SET vecdb.ivfpq_max_probes = -1$$, '22023', NULL, 'a negative max_probes is refused');
SELECT lives_ok($$SET LOCAL vecdb.ivfpq_probes = 1; SET LOCAL vecdb.ivfpq_rerank = 1000;
	SET LOCAL vecdb.ivfpq_iterative_scan = strict_order; SET LOCAL vecdb.ivfpq_max_probes = 5$$,
	'good values of the ivfpq settings are accepted');
SELECT has_function('vecdb_ivfpq_lists', ARRAY['regclass'], 'vecdb_ivfpq_lists(regclass) exists');
SELECT is(
	(SELECT array_agg(a.n || ' ' || format_type(a.t, NULL) ORDER BY a.o)
	   FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes::text[]) WITH ORDINALITY AS a(n, t, m, o)
	  WHERE p.oid = to_regprocedure('vecdb_ivfpq_lists(regclass)') AND a.m IN ('o', 't')),
	ARRAY['list integer', 'entries bigint', 'pages integer'],
	'vecdb_ivfpq_lists returns (list int, entries bigint, pages int)');
SELECT is((SELECT proretset FROM pg_proc WHERE oid = to_regprocedure('vecdb_ivfpq_lists(regclass)')), true,
	'vecdb_ivfpq_lists returns a set of rows');
SELECT has_function('vecdb_merge', ARRAY['regclass'], 'vecdb_merge(regclass) exists');
SELECT function_returns('vecdb_merge', ARRAY['regclass'], 'bigint', 'vecdb_merge returns bigint');
SELECT has_function('vecdb_hot_tier', ARRAY['regclass'], 'vecdb_hot_tier(regclass) exists');
SELECT has_function('vecdb_backend_counters', ARRAY[]::text[], 'vecdb_backend_counters() exists');
SELECT has_function('vecdb_ivfpq_info', ARRAY['regclass'], 'vecdb_ivfpq_info(regclass) exists');
SELECT is(
	(SELECT array_agg(a.n || ' ' || format_type(a.t, NULL) ORDER BY a.o)
	   FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes::text[]) WITH ORDINALITY AS a(n, t, m, o)
	  WHERE p.oid = to_regprocedure('vecdb_ivfpq_info(regclass)') AND a.m IN ('o', 't')),
	ARRAY['lists integer', 'm integer', 'nbits integer', 'dims integer', 'entries bigint',
		'built_entries bigint', 'largest_list bigint', 'imbalance double precision'],
	'vecdb_ivfpq_info returns (lists, m, nbits, dims, entries, built_entries, largest_list, imbalance)');

CREATE TEMP TABLE ivfpq_catalog (v vector(4));
INSERT INTO ivfpq_catalog SELECT ARRAY[i, i % 3, i % 5, i % 7] FROM generate_series(1, 20) i;
SELECT throws_ok($$CREATE INDEX ON ivfpq_catalog USING ivfpq (v) WITH (m = 3)$$, '22023', NULL,
	'm that does not divide the dimensions is refused');
SELECT throws_like($$CREATE INDEX ON ivfpq_catalog USING ivfpq (v) WITH (m = 3)$$, '%does not divide%',
	'... with a message that says so');
SELECT throws_ok($$CREATE INDEX ON ivfpq_catalog USING ivfpq (v) WITH (lists = 21)$$, '22023', NULL,
	'more lists than rows is refused');
SELECT throws_like($$CREATE INDEX ON ivfpq_catalog USING ivfpq (v) WITH (lists = 21)$$, '%lists%',
	'... with a message about lists');
SELECT throws_ok($$CREATE INDEX ON ivfpq_catalog USING ivfpq (v) WITH (nbits = 4)$$, '22023', NULL,
	'nbits other than 8 is refused');
SELECT throws_ok($$CREATE INDEX ON ivfpq_catalog USING ivfpq (v) WITH (lists = 100001)$$, '22023', NULL,
	'lists above 100000 is refused');
SELECT throws_ok($$CREATE INDEX ON ivfpq_catalog USING ivfpq (v) WITH (training_sample = -1)$$, '22023', NULL,
	'a negative training_sample is refused');
CREATE TEMP TABLE ivfpq_nodims (v vector);
SELECT throws_ok($$CREATE INDEX ON ivfpq_nodims USING ivfpq (v)$$, '42611', 'column does not have dimensions',
	'a column without dimensions cannot be indexed by ivfpq');
CREATE INDEX ivfpq_catalog_idx ON ivfpq_catalog USING ivfpq (v vector_l2_ops) WITH (lists = 4, m = 2);
INSERT INTO ivfpq_catalog VALUES ('[1,2,3,4]'), (NULL);
SELECT is((SELECT rows FROM vecdb_hot_tier('ivfpq_catalog_idx')), 1::bigint,
	'the row inserted after the build waits in the hot tier (the NULL is not indexed)');
SELECT is_empty($$SELECT * FROM vecdb_index_check('ivfpq_catalog_idx')$$,
	'an ivfpq index with a hot row checks clean');
SELECT is(vecdb_merge('ivfpq_catalog_idx'), 1::bigint, 'vecdb_merge merges the hot row');
SELECT is((SELECT ARRAY[rows, merged] FROM vecdb_hot_tier('ivfpq_catalog_idx')), ARRAY[0, 1]::bigint[],
	'vecdb_hot_tier counts it merged');
SELECT is_empty($$SELECT * FROM vecdb_index_check('ivfpq_catalog_idx')$$, 'a fresh ivfpq index checks clean');
SELECT is(
	(SELECT ARRAY[lists, m, nbits, dims, entries::int] FROM vecdb_ivfpq_info('ivfpq_catalog_idx')),
	ARRAY[4, 2, 8, 4, 21], 'vecdb_ivfpq_info describes a fresh ivfpq index');
SELECT is((SELECT sum(entries)::int FROM vecdb_ivfpq_lists('ivfpq_catalog_idx')), 21,
	'vecdb_ivfpq_lists counts every non-NULL row');
CREATE TEMP TABLE ivfpq_catalog_empty (v vector(4));
-- (the build's NOTICE that the index is untrained is not wanted here)
SET LOCAL client_min_messages = warning;
SELECT lives_ok($$CREATE INDEX ivfpq_catalog_empty_idx ON ivfpq_catalog_empty USING ivfpq (v)$$,
	'an ivfpq index builds on an empty table');
RESET client_min_messages;
SELECT is_empty($$SELECT * FROM vecdb_index_check('ivfpq_catalog_empty_idx')$$, 'an empty ivfpq index checks clean');
SELECT throws_ok($$SELECT * FROM vecdb_ivfpq_info('ivfpq_catalog')$$, NULL,
	'vecdb_ivfpq_info refuses a table');

SELECT * FROM finish();
ROLLBACK;
