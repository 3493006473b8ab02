-- Binary quantization over PostgreSQL's bit type: binary_quantize(vector),
-- hamming_distance (<~>) and jaccard_distance (<%>), with pgvector's values
-- and messages, checked against PostgreSQL's own bit operators.

SELECT hamming_distance(B'111', B'111'), hamming_distance(B'111', B'110'),
	hamming_distance(B'111', B'100'), hamming_distance(B'111', B'000');
SELECT jaccard_distance(B'1111', B'1111'), jaccard_distance(B'1111', B'1110'),
	jaccard_distance(B'1111', B'1100'), jaccard_distance(B'1111', B'1000'),
	jaccard_distance(B'1111', B'0000'), jaccard_distance(B'1100', B'1000');
SELECT B'1010' <~> B'0110' AS hamming, B'1010' <%> B'0110' AS jaccard;

-- empty and all-zero strings: no bit in common is distance 1
SELECT hamming_distance(B'', B''), jaccard_distance(B'', B''),
	jaccard_distance(B'000', B'000'), hamming_distance(B'000', B'000');

-- bit varying, and a bit(n) column, are accepted
SELECT hamming_distance(B'1011'::varbit, B'0011'::varbit),
	jaccard_distance('1011'::bit varying(10), '0011'::bit varying(10));

-- lengths must match: pgvector's message and SQLSTATE 22000
SELECT hamming_distance(B'111', B'00');
SELECT jaccard_distance(B'1111', B'000');
SELECT B'1' <~> B'';
DO $$
BEGIN
	PERFORM hamming_distance(B'1', B'11');
EXCEPTION WHEN data_exception THEN
	RAISE NOTICE 'SQLSTATE %', SQLSTATE;
END $$;
SELECT hamming_distance(NULL, B'1') IS NULL AS strict;

-- every length from 0 to 700 bits (every word and 64-byte tail), dense
-- and sparse, against bit_count() of PostgreSQL's own # & | operators
SELECT setseed(0.5);
CREATE TABLE bitpairs AS
SELECT n,
	(SELECT coalesce(string_agg(c, ''), '') FROM
		(SELECT CASE WHEN random() < p THEN '1' ELSE '0' END AS c FROM generate_series(1, n)) x
	)::varbit AS a,
	(SELECT coalesce(string_agg(c, ''), '') FROM
		(SELECT CASE WHEN random() < 1 - p THEN '1' ELSE '0' END AS c FROM generate_series(1, n)) x
	)::varbit AS b
FROM generate_series(0, 700) n, (VALUES (0.1), (0.5), (0.9)) ps(p);
SELECT count(*) AS pairs,
	count(*) FILTER (WHERE hamming_distance(a, b) <> bit_count(a # b)) AS hamming_wrong,
	count(*) FILTER (WHERE jaccard_distance(a, b) <> CASE WHEN bit_count(a & b) = 0 THEN 1
		ELSE 1 - bit_count(a & b)::float8 / bit_count(a | b) END) AS jaccard_wrong
FROM bitpairs;
-- and the pairs are not degenerate: as many ones as zeros, overall
SELECT round(sum(bit_count(a))::numeric / sum(length(a)), 1) AS ones_share FROM bitpairs;
DROP TABLE bitpairs;

-- binary_quantize: a 1 for each positive coordinate, first coordinate first
SELECT binary_quantize('[1,-2,3,0,0.5]'::vector);
SELECT binary_quantize('[0]'::vector), binary_quantize('[-0.0,1e-38]'::vector);
SELECT length(binary_quantize(array_fill(1, ARRAY[16000])::vector)) AS len16000,
	bit_count(binary_quantize(array_fill(1, ARRAY[16000])::vector)) AS ones;
-- an explicit cast to bit(n) pads or truncates, as PostgreSQL's casts do
SELECT binary_quantize('[1,2,3]'::vector)::bit(3) AS fits, binary_quantize('[1,2,3]'::vector)::bit(4) AS padded;
SELECT binary_quantize(NULL::vector) IS NULL AS strict;

-- re-ranking, as pgvector users write it: the nearest by hamming distance
-- of the codes, then by exact distance
CREATE TABLE quantized (id int, v vector(4));
INSERT INTO quantized VALUES (1, '[1,1,1,1]'), (2, '[1,1,1,-1]'), (3, '[-1,-1,-1,-1]'),
	(4, '[2,2,2,2]'), (5, '[1,-1,1,-1]');
SELECT id, binary_quantize(v) <~> binary_quantize('[1,1,1,1]'::vector) AS hamming
FROM quantized ORDER BY hamming, id;
SELECT id FROM (
	SELECT id, v FROM quantized
	ORDER BY binary_quantize(v)::bit(4) <~> binary_quantize('[1,1,1,0.5]'::vector), id LIMIT 3) c
ORDER BY v <-> '[1,1,1,0.5]' LIMIT 2;
DROP TABLE quantized;

-- the operators' commutators, as the planner sees them
SELECT oprname, oprcom::regoperator FROM pg_operator
WHERE oprname IN ('<~>', '<%>') ORDER BY oprname;
