-- Text and binary input and output, the vector(n) modifier, and every way
-- input can be wrong.

-- text form
SELECT '[1,2,3]'::vector;
SELECT ' [ 1 , -2.5 ,3e-2 ] '::vector;
SELECT '[1.5e+10,-0,0.1]'::vector;
SELECT '[0.1,0.2,0.3]'::vector::text;
SELECT '[1e-45,3.4028235e38,-3.4028235e38]'::vector;
SELECT '[0x1p3]'::vector;

-- the modifier
SELECT '[1,2,3]'::vector(3);
SELECT '[1,2]'::vector(3);
SELECT '[1,2,3]'::vector(0);
SELECT '[1,2,3]'::vector(16001);
SELECT '[1,2,3]'::vector(3, 2);
CREATE TABLE typmod_t (v vector(2));
INSERT INTO typmod_t VALUES ('[1,2]');
INSERT INTO typmod_t VALUES ('[1,2,3]');
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 'typmod_t'::regclass AND attname = 'v';
DROP TABLE typmod_t;

-- malformed text
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT ''::vector;
SELECT '1,2,3'::vector;
SELECT '[1,2,3'::vector;
SELECT '[1,,2]'::vector;
SELECT '[1 2]'::vector;
SELECT '[1,2],'::vector;
SELECT '[1,2]]'::vector;
SELECT '[a]'::vector;
SELECT '[1,2,3]x'::vector;
SELECT '[,1]'::vector;
SELECT '[1,]'::vector;

-- values a vector cannot hold
SELECT '[1,NaN]'::vector;
SELECT '[nan]'::vector;
SELECT '[1,Infinity]'::vector;
SELECT '[-inf]'::vector;
SELECT '[1e39]'::vector;
SELECT '[1,-1e39]'::vector;
SELECT '[1e-50]'::vector;

-- size limits
SELECT vector_dims(array_fill(1, ARRAY[16000])::vector);
SELECT array_fill(1, ARRAY[16001])::vector;
SELECT ('[' || repeat('1,', 16000) || '1]')::vector;

-- binary output is pgvector's: int16 dims, int16 0, float4s, network order
SELECT vector_send('[1,2,3]');
SELECT vector_send('[-0,0.5]');

-- (binary input through vector_recv, by binary COPY round trips and hostile
-- binary COPY files, is tested in test/t/002_dump_restore.pl and
-- test/t/003_hostile_input.pl, which own their server and its files)

-- storage: float data never compresses
SELECT typstorage FROM pg_type WHERE typname = 'vector';
