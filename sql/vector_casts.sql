-- Casts between vector and arrays.

SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.5,2.5]::real[]::vector;
SELECT ARRAY[1.5,2.5]::double precision[]::vector;
SELECT ARRAY[1.5,2.5]::numeric[]::vector;
SELECT ARRAY[1,2,3]::vector(3);
SELECT ARRAY[1,2,3]::vector(2);
SELECT '[1,2,3]'::vector::real[];
SELECT '{1,2,3}'::real[]::vector::real[] = '{1,2,3}'::real[] AS round_trip;

-- assignment casts work in INSERT
CREATE TABLE cast_t (v vector(3));
INSERT INTO cast_t VALUES (ARRAY[1,2,3]), (ARRAY[1.5,2,3]::real[]), ('{4,5,6}'::float8[]);
SELECT * FROM cast_t;
DROP TABLE cast_t;

-- what an array cannot become
SELECT '{}'::real[]::vector;
SELECT '{{1,2},{3,4}}'::real[]::vector;
SELECT ARRAY[1,NULL,3]::vector;
SELECT ARRAY['NaN']::real[]::vector;
SELECT ARRAY['Infinity']::float8[]::vector;
SELECT ARRAY[1e39]::float8[]::vector;
SELECT ARRAY[1e39]::numeric[]::vector;
SELECT ARRAY['NaN']::numeric[]::vector;
SELECT array_fill(1.0::real, ARRAY[16001])::vector;

-- vector(n) between vectors
SELECT '[1,2]'::vector::vector(2);
SELECT '[1,2]'::vector::vector(3);
