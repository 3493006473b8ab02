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

-- binary round trip through the recv function (as binary COPY and the
-- extended protocol use it)
CREATE TABLE binary_t (id int, v vector);
INSERT INTO binary_t VALUES (1, '[1,2,3]'), (2, '[1e-38,-0,3.4e38]'), (3, '[0.33333334]');
COPY binary_t TO '/tmp/vecdb_regress_binary.copy' WITH (FORMAT binary);
CREATE TABLE binary_t2 (LIKE binary_t);
COPY binary_t2 FROM '/tmp/vecdb_regress_binary.copy' WITH (FORMAT binary);
SELECT a.id, a.v = b.v AS same, vector_send(a.v) = vector_send(b.v) AS same_bits
	FROM binary_t a JOIN binary_t2 b USING (id) ORDER BY id;
CREATE TABLE binary_t3 (id int, v vector(2));
COPY binary_t3 FROM '/tmp/vecdb_regress_binary.copy' WITH (FORMAT binary);
DROP TABLE binary_t, binary_t2, binary_t3;

-- storage: float data never compresses
SELECT typstorage FROM pg_type WHERE typname = 'vector';
