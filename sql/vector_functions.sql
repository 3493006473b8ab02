-- Distances, arithmetic, and the small functions, with their error paths.

-- distances
SELECT l2_distance('[0,0]'::vector, '[3,4]');
SELECT '[0,0]'::vector <-> '[3,4]';
SELECT vector_l2_squared_distance('[0,0]', '[3,4]');
SELECT inner_product('[1,2]'::vector, '[3,4]');
SELECT '[1,2]'::vector <#> '[3,4]';
SELECT cosine_distance('[1,2]'::vector, '[2,4]');
SELECT cosine_distance('[1,1]'::vector, '[-1,-1]');
SELECT cosine_distance('[1,0]'::vector, '[0,2]');
SELECT '[1,2]'::vector <=> '[0,0]';
SELECT cosine_distance('[0,0]'::vector, '[0,0]');
SELECT l1_distance('[0,0]'::vector, '[3,-4]');
SELECT '[0,0]'::vector <+> '[3,-4]';
SELECT l2_distance('[1,2]'::vector, '[1,2,3]');
SELECT '[1,2]'::vector <#> '[1,2,3]';
SELECT '[1,2]'::vector <=> '[1,2,3]';
SELECT '[1,2]'::vector <+> '[1,2,3]';

-- distances are float4 sums, as in pgvector: far apart values give Infinity, not an ERROR
SELECT l2_distance('[3e38]'::vector, '[-3e38]') > 1e38 AS huge;
SELECT inner_product('[3e38]'::vector, '[3e38]');

-- the kernels agree with a plain SQL computation on odd lengths
WITH pairs AS (
	SELECT n, array_agg(sin(i * 1.1 + n)::real ORDER BY i) AS a,
			array_agg(cos(i * 0.7 - n)::real ORDER BY i) AS b
	FROM generate_series(1, 67, 11) n, generate_series(1, n) i GROUP BY n
), exact AS (
	SELECT n, a::vector AS va, b::vector AS vb,
		(SELECT sum((x - y)::float8 ^ 2) FROM unnest(a, b) u(x, y)) AS l2sq,
		(SELECT sum(x::float8 * y) FROM unnest(a, b) u(x, y)) AS ip,
		(SELECT sum(abs(x::float8 - y)) FROM unnest(a, b) u(x, y)) AS l1,
		(SELECT sqrt(sum(x::float8 * x)) FROM unnest(a) x) AS na,
		(SELECT sqrt(sum(y::float8 * y)) FROM unnest(b) y) AS nb
	FROM pairs
)
SELECT n,
	abs((va <-> vb) - sqrt(l2sq)) < 1e-5 AS l2_ok,
	abs((va <#> vb) + ip) < 1e-5 AS ip_ok,
	abs((va <=> vb) - (1 - ip / (na * nb))) < 1e-5 AS cosine_ok,
	abs((va <+> vb) - l1) < 1e-4 AS l1_ok,
	abs(vector_norm(va) - na) < 1e-9 AS norm_ok
FROM exact ORDER BY n;

-- arithmetic
SELECT '[1,2,3]'::vector + '[4,5,6]';
SELECT '[1,2,3]'::vector - '[4,5,6]';
SELECT '[1,2,3]'::vector * '[4,5,6]';
SELECT '[1,2]'::vector + '[1,2,3]';
SELECT '[1,2]'::vector - '[1,2,3]';
SELECT '[1,2]'::vector * '[1,2,3]';
SELECT '[3e38]'::vector + '[3e38]';
SELECT '[-3e38]'::vector - '[3e38]';
SELECT '[1e38]'::vector * '[1e38]';
SELECT '[1e-38]'::vector * '[1e-38]';
SELECT '[1,2]'::vector || '[3]';
SELECT vector_dims(array_fill(1, ARRAY[8000])::vector || array_fill(1, ARRAY[8000])::vector);
SELECT array_fill(1, ARRAY[8000])::vector || array_fill(1, ARRAY[8001])::vector;

-- small functions
SELECT vector_dims('[1,2,3]'::vector);
SELECT vector_norm('[3,4]');
SELECT vector_norm('[0,0]');
SELECT l2_normalize('[3,4]'::vector);
SELECT l2_normalize('[0,0]'::vector);
SELECT vector_norm(l2_normalize('[1,2,3,4,5]'::vector)) BETWEEN 0.9999999 AND 1.0000001 AS unit;
SELECT l2_normalize('[3e38,3e38]'::vector);
SELECT subvector('[1,2,3,4,5]'::vector, 1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 2);
SELECT subvector('[1,2,3,4,5]'::vector, 4, 10);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 0);
SELECT subvector('[1,2,3,4,5]'::vector, 6, 1);
SELECT subvector('[1,2,3,4,5]'::vector, -5, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 2147483647, 2147483647);

-- NULLs pass through (every function is strict)
SELECT l2_distance(NULL::vector, '[1]'), vector_dims(NULL::vector), '[1]'::vector + NULL;

-- pgvector's spherical distance: the angle between unit vectors over pi
SELECT vector_spherical_distance('[1,0]', '[0,1]'), vector_spherical_distance('[1,0]', '[-1,0]'),
	vector_spherical_distance('[1,0]', '[1,0]'), halfvec_spherical_distance('[0.6,0.8]', '[0.8,0.6]');
SELECT vector_spherical_distance('[1,0]', '[1,0,0]');
