-- sparsevec: pgvector's sparse vector. Text and binary I/O, the modifier,
-- every function, operator and cast, the btree opclass, and the error
-- paths, with pgvector's messages; distances checked against the same
-- vectors made dense.

-- input: 1-based indices in any order, zeros dropped, whitespace anywhere
SELECT '{1:1.5,3:2}/5'::sparsevec, ' { 3 : 2 , 1:1.5, 2:0 } / 5 '::sparsevec, '{}/3'::sparsevec;
SELECT '{1:-0,2:1e-40}/2'::sparsevec, '{1000000000:1}/1000000000'::sparsevec;
SELECT '{1:1}/3'::sparsevec(3), '{"{1:1}/3","{}/2"}'::sparsevec[];
-- malformed text: pgvector's message and detail
SELECT '[1:1]/3'::sparsevec;
SELECT '{1:1}'::sparsevec;
SELECT '{1:1}/3 x'::sparsevec;
SELECT '{1:1,}/3'::sparsevec;
SELECT '{1 1}/3'::sparsevec;
SELECT '{1:}/3'::sparsevec;
SELECT '{:1}/3'::sparsevec;
SELECT '{1:1}/'::sparsevec;
SELECT ''::sparsevec;
-- values and indices
SELECT '{1:NaN}/3'::sparsevec;
SELECT '{1:-Infinity}/3'::sparsevec;
SELECT '{1:1e39}/3'::sparsevec;
SELECT '{1:1e-50}/3'::sparsevec;
SELECT '{0:1}/3'::sparsevec;
SELECT '{4:1}/3'::sparsevec;
SELECT '{-1:1}/3'::sparsevec;
SELECT '{99999999999999999999:1}/3'::sparsevec;
SELECT '{2:1,2:3}/3'::sparsevec;
-- dimensions
SELECT '{}/0'::sparsevec;
SELECT '{}/-5'::sparsevec;
SELECT '{}/1000000001'::sparsevec;
SELECT '{}/99999999999999999999'::sparsevec;
SELECT '{1:1}/3'::sparsevec(4);
SELECT '{1:1}/3'::sparsevec(0);
SELECT '{1:1}/3'::sparsevec(1000000001);
SELECT '{1:1}/3'::sparsevec(3, 2);
-- at most 16,000 non-zeros; zeros do not count
SELECT l2_norm(('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec)
FROM generate_series(1, 16000) i;
SELECT ('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec
FROM generate_series(1, 16001) i;
SELECT ('{' || string_agg(i || ':0', ',') || '}/20000')::sparsevec
FROM generate_series(1, 16001) i;

-- binary I/O round trips every value exactly (sparsevec_send, sparsevec_recv)
CREATE TABLE sparse (id int, s sparsevec);
INSERT INTO sparse VALUES (1, '{1:1.5,3:-2,1000:3.4028235e38}/1000'), (2, '{}/7'),
	(3, '{1:0.1}/1');
COPY sparse TO '/tmp/vecdb_sparsevec_regress.bin' WITH (FORMAT binary);
CREATE TABLE sparse_back (id int, s sparsevec);
COPY sparse_back FROM '/tmp/vecdb_sparsevec_regress.bin' WITH (FORMAT binary);
SELECT a.id, a.s::text, a.s = b.s AS same FROM sparse a JOIN sparse_back b USING (id) ORDER BY 1;
-- int32 dims, int32 nnz, int32 0, the indices from 0, the values
SELECT sparsevec_send('{2:1,4:2}/4');

-- distances, each against the dense vectors' value
CREATE TABLE sparse_pairs (a sparsevec, b sparsevec);
INSERT INTO sparse_pairs VALUES ('{1:3}/3', '{2:4}/3'), ('{1:1,2:2,3:3}/3', '{1:1,3:-1}/3'),
	('{}/3', '{2:1}/3'), ('{2:0.5}/3', '{2:0.5}/3'), ('{1:1}/3', '{1:1,3:2}/3');
SELECT a, b, a <-> b AS l2, a <#> b AS nip, a <=> b AS cos, a <+> b AS l1,
	a <-> b = a::vector <-> b::vector AS l2_same,
	a <#> b = a::vector <#> b::vector AS ip_same,
	a <=> b IS NOT DISTINCT FROM a::vector <=> b::vector AS cos_same,
	a <+> b = a::vector <+> b::vector AS l1_same
FROM sparse_pairs;
SELECT l2_distance(a, b), inner_product(a, b), cosine_distance(a, b), l1_distance(a, b),
	sparsevec_l2_squared_distance(a, b), sparsevec_negative_inner_product(a, b)
FROM sparse_pairs LIMIT 2;
SELECT '{1:1}/3'::sparsevec <-> '{1:1}/4';
SELECT inner_product('{1:1}/3'::sparsevec, '{1:1}/4');
SELECT cosine_distance('{1:1}/3'::sparsevec, '{1:1}/4');
SELECT l1_distance('{1:1}/3'::sparsevec, '{1:1}/4');

-- norms
SELECT l2_norm('{1:3,5:4}/5'::sparsevec), l2_norm('{}/5'::sparsevec),
	l2_normalize('{1:3,5:4}/5'::sparsevec), l2_normalize('{}/5'::sparsevec),
	l2_normalize('{1:1e-30,2:1e30}/2'::sparsevec);

-- casts: implicit from vector and halfvec, assignment to them and from arrays
SELECT '[0,1,0,2]'::vector::sparsevec, '[0,1,0,2]'::halfvec::sparsevec,
	'{2:1,4:2}/4'::sparsevec::vector, '{2:1,4:2}/4'::sparsevec::halfvec;
SELECT '[0,1]'::vector::sparsevec(3);
SELECT '{2:1}/4'::sparsevec::vector(3);
SELECT '{2:100000}/4'::sparsevec::halfvec;
SELECT '{2:1}/16001'::sparsevec::vector;
SELECT ARRAY[0,1,0]::sparsevec, ARRAY[0,1.5,0]::real[]::sparsevec(3),
	ARRAY[0,2.5]::float8[]::sparsevec, ARRAY[0,3.25]::numeric[]::sparsevec;
SELECT ARRAY[1,2]::sparsevec(3);
SELECT ARRAY[1,NULL]::sparsevec;
SELECT ARRAY[[1,2]]::sparsevec;
SELECT ARRAY[1e39]::float8[]::sparsevec;
SELECT ARRAY[]::real[]::sparsevec;
SELECT vector_dims(array_fill(0, ARRAY[20000])::sparsevec::sparsevec(20000)::text::sparsevec::vector);
CREATE TABLE sparse_assign (s sparsevec(3));
INSERT INTO sparse_assign VALUES ('[1,0,2]'::vector), ('[0,0,1]'::halfvec), (ARRAY[4,0,0]);
INSERT INTO sparse_assign VALUES ('[1,0]'::vector);
SELECT s FROM sparse_assign;

-- order: as the dense forms compare element by element, then by length
SELECT a, b, a < b AS lt, a <= b AS le, a = b AS eq, a <> b AS ne, a >= b AS ge, a > b AS gt,
	sparsevec_cmp(a, b) AS cmp,
	sparsevec_cmp(a, b) = sign(array_cmp_dense) AS same_as_dense
FROM (VALUES ('{1:1}/3'::sparsevec, '{2:1}/3'::sparsevec), ('{1:-1}/3', '{}/3'),
	('{}/3', '{}/4'), ('{3:1}/3', '{}/4'), ('{1:1,2:2}/2', '{1:1,2:2}/2'),
	('{2:-5}/3', '{3:-5}/3')) v(a, b),
	LATERAL (SELECT CASE WHEN a::vector::real[] < b::vector::real[] THEN -1
		WHEN a::vector::real[] > b::vector::real[] THEN 1 ELSE 0 END AS array_cmp_dense) d;
CREATE TABLE sparse_sorted (s sparsevec);
INSERT INTO sparse_sorted SELECT ('{' || (i % 5 + 1) || ':' || (i % 3 - 1) || '}/5')::sparsevec
FROM generate_series(1, 30) i;
CREATE INDEX ON sparse_sorted (s);
SET enable_seqscan = off;
SELECT count(*) FROM sparse_sorted WHERE s = '{2:1}/5';
SELECT DISTINCT s FROM sparse_sorted ORDER BY s;
RESET enable_seqscan;

-- exact search by each distance
CREATE TABLE sparse_docs (id int, s sparsevec(1000));
INSERT INTO sparse_docs SELECT i, ('{' || i || ':1,' || (i + 1) || ':' || i || '}/1000')::sparsevec
FROM generate_series(1, 50) i;
SELECT id FROM sparse_docs ORDER BY s <-> '{10:1,11:10}/1000' LIMIT 3;
SELECT id FROM sparse_docs ORDER BY s <#> '{10:1,11:10}/1000' LIMIT 3;
SELECT id FROM sparse_docs ORDER BY s <=> '{10:1,11:10}/1000' LIMIT 3;
SELECT id FROM sparse_docs ORDER BY s <+> '{10:1,11:10}/1000' LIMIT 3;
