-- halfvec: pgvector's half-precision vector. Input and output, the
-- modifier, binary I/O, every function, operator, cast and aggregate, and
-- the error paths, with pgvector's messages.

-- input: as vector's, each value rounded to the nearest half
SELECT '[1,2,3]'::halfvec, '[-1,-2,-3]'::halfvec, '[1.,2.,3.]'::halfvec, ' [ 1,  2 ,    3  ] '::halfvec;
SELECT '[1.23456]'::halfvec, '[65519,-65519]'::halfvec, '[1e-8,-1e-8]'::halfvec, '[1e-46,1]'::halfvec;
SELECT '[65520,-65520]'::halfvec;
SELECT '[1,-1e5]'::halfvec;
SELECT '[4e38,1]'::halfvec;
SELECT '[NaN,1]'::halfvec;
SELECT '[Infinity,1]'::halfvec;
SELECT '[hello,1]'::halfvec;
SELECT '[]'::halfvec;
SELECT '[1,2,3'::halfvec;
SELECT '[1,2,3]'::halfvec(3), '{"[1,2,3]","[4,5,6]"}'::halfvec[];
SELECT '[1,2,3]'::halfvec(2);
SELECT '[1,2,3]'::halfvec(3, 2);
SELECT '[1,2,3]'::halfvec(0);
SELECT '[1,2,3]'::halfvec(16001);
SELECT vector_dims(array_fill(1, ARRAY[16000])::halfvec);
SELECT array_fill(1, ARRAY[16001])::halfvec;

-- binary I/O round trips every value exactly (halfvec_send, halfvec_recv)
CREATE TABLE halves (id int, h halfvec);
INSERT INTO halves VALUES (1, '[1,-2.5,65504,0.000061035156,-0,5.9604645e-8]'), (2, '[0.1,0.2,0.3]');
COPY halves TO '/tmp/vecdb_halfvec_regress.bin' WITH (FORMAT binary);
CREATE TABLE halves_back (id int, h halfvec);
COPY halves_back FROM '/tmp/vecdb_halfvec_regress.bin' WITH (FORMAT binary);
SELECT a.id, a.h::text, a.h = b.h AS same FROM halves a JOIN halves_back b USING (id) ORDER BY 1;
SELECT halfvec_send('[1,-2]'::halfvec);

-- distances
SELECT l2_distance('[0,0]'::halfvec, '[3,4]'), '[0,0]'::halfvec <-> '[3,4]',
	inner_product('[1,2]'::halfvec, '[3,4]'), '[1,2]'::halfvec <#> '[3,4]',
	inner_product('[65504]'::halfvec, '[65504]'),
	cosine_distance('[1,2]'::halfvec, '[2,4]'), '[1,0]'::halfvec <=> '[0,2]',
	cosine_distance('[1,2]'::halfvec, '[0,0]'),
	l1_distance('[0,0]'::halfvec, '[3,4]'), '[0,0]'::halfvec <+> '[3,4]';
SELECT l2_distance('[1,2]'::halfvec, '[3]');
SELECT '[1,2]'::halfvec <=> '[3]';
SELECT halfvec_l2_squared_distance('[0,0]', '[3,4]'), halfvec_negative_inner_product('[1,2]', '[3,4]');

-- functions
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec), l2_normalize('[3,4]'::halfvec),
	l2_normalize('[0,0]'::halfvec), binary_quantize('[1,0,-1]'::halfvec);
SELECT subvector('[1,2,3,4,5]'::halfvec, 1, 3), subvector('[1,2,3,4,5]'::halfvec, 3, 9),
	subvector('[1,2,3,4,5]'::halfvec, -1, 3);
SELECT subvector('[1,2,3,4,5]'::halfvec, 1, 0);
SELECT subvector('[1,2,3,4,5]'::halfvec, 6, 2);

-- arithmetic: in float, each result checked to fit a half
SELECT '[1,2,3]'::halfvec + '[4,5,6]', '[1,2,3]'::halfvec - '[4,5,6]', '[1,2,3]'::halfvec * '[4,5,6]',
	'[1,2]'::halfvec || '[3]'::halfvec;
SELECT '[65504]'::halfvec + '[65504]';
SELECT '[-65504]'::halfvec - '[65504]';
SELECT '[65504]'::halfvec * '[2]';
SELECT '[1e-4]'::halfvec * '[1e-4]';
SELECT '[1,2]'::halfvec + '[3]';
SELECT array_fill(1, ARRAY[16000])::halfvec || '[1]'::halfvec;

-- comparisons and the btree class: sort, group, unique
SELECT '[1,2,3]'::halfvec < '[1,2,4]', '[1,2,3]'::halfvec <= '[1,2,3]', '[1,2,3]'::halfvec = '[1,2,3]',
	'[1,2,3]'::halfvec <> '[1,2]', '[1,2,3]'::halfvec >= '[1,2]', '[1,2]'::halfvec > '[1,2,3]',
	halfvec_cmp('[1,2]', '[1,2,0]');
SELECT '[0.1]'::halfvec = '[0.10001]'::halfvec AS same_half;
CREATE TABLE sorted (h halfvec UNIQUE);
INSERT INTO sorted VALUES ('[3,1]'), ('[1,2,3]'), ('[1,2]'), ('[-1,5]');
INSERT INTO sorted VALUES ('[1,2]');
SELECT h FROM sorted ORDER BY h;
SELECT h, count(*) FROM (VALUES ('[1,1]'::halfvec), ('[1,1]'), ('[2,2]')) v(h) GROUP BY h ORDER BY h;

-- aggregates
SELECT avg(h), sum(h) FROM (VALUES ('[1,2,3]'::halfvec), ('[3,4,5]'), (NULL)) v(h);
SELECT avg(h) IS NULL, sum(h) IS NULL FROM (SELECT NULL::halfvec h) v;
SELECT sum(h) FROM (VALUES ('[65504]'::halfvec), ('[65504]')) v(h);
SELECT avg(h) FROM (VALUES ('[1,2]'::halfvec), ('[1,2,3]')) v(h);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- (sums small enough to be exact in a half: sum's running total is a
-- halfvec, as in pgvector)
CREATE TABLE many_halves AS SELECT ARRAY[i % 10, 1]::halfvec AS h FROM generate_series(1, 200) i;
SELECT avg(h), sum(h) FROM many_halves;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- casts, with pgvector's contexts
SELECT '[1,2,3]'::vector::halfvec, '[1.5,2]'::halfvec::vector, '[1,2]'::halfvec::real[],
	'{1,2,3}'::int[]::halfvec, '{1.5,2}'::real[]::halfvec, '{1.5,2}'::float8[]::halfvec,
	'{1.5,2}'::numeric[]::halfvec;
SELECT '[65520]'::vector::halfvec;
SELECT '{1e6}'::float8[]::halfvec;
SELECT '{1e40}'::float8[]::halfvec;
SELECT '{NULL}'::real[]::halfvec;
SELECT '{{1}}'::real[]::halfvec;
SELECT '{}'::real[]::halfvec;
SELECT '[1,2,3]'::halfvec::vector(2);
SELECT '[1,2,3]'::vector::halfvec(2);
CREATE TABLE assigned (v vector(3), h halfvec(3));
INSERT INTO assigned VALUES ('[1,2,3]'::halfvec, '[4,5,6]'::vector);
INSERT INTO assigned (h) VALUES ('{1,2,3}'::int[]);
SELECT * FROM assigned;
-- an exact search over halfvec
SELECT h FROM (VALUES ('[3,1]'::halfvec), ('[1,2]'), ('[-1,5]'), ('[1,2.5]')) v(h)
ORDER BY h <-> '[1,2]' LIMIT 2;

DROP TABLE halves, halves_back, sorted, many_halves, assigned;
