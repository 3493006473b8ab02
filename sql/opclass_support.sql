-- Every operator class of a vecdb index hands it the type it indexes and
-- the metric it ranks by through its support function 2
-- (src/index/opclass.cpp). amvalidate checks that each has one, of the
-- signature it is called with; a class without one is refused when an
-- index would use it, unless it is one of vecdb 0.1.0's four.

SELECT a.amname, count(*) AS classes, bool_and(amvalidate(c.oid)) AS all_valid
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname IN ('hnsw', 'ivfpq', 'ivfflat')
GROUP BY 1 ORDER BY 1;

SELECT a.amname, c.opcname, p.amproc
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	JOIN pg_amproc p ON p.amprocfamily = c.opcfamily AND p.amprocnum = 2
WHERE a.amname = 'hnsw' ORDER BY 2;

-- a class with a distance but no support function 2
CREATE FUNCTION my_l2(vector, vector) RETURNS float8
	AS 'SELECT l2_distance($1, $2)' LANGUAGE sql IMMUTABLE STRICT;
CREATE OPERATOR <<->> (LEFTARG = vector, RIGHTARG = vector, FUNCTION = my_l2);
CREATE OPERATOR CLASS my_l2_ops FOR TYPE vector USING hnsw AS
	OPERATOR 1 <<->> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 my_l2(vector, vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'my_l2_ops';
CREATE TABLE opc (v vector(2));
INSERT INTO opc VALUES ('[1,2]'), ('[3,4]');
CREATE INDEX ON opc USING hnsw (v my_l2_ops);
-- a support function 2 of another signature
CREATE OPERATOR CLASS my_l2_ops2 FOR TYPE vector USING hnsw AS
	OPERATOR 1 <<->> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 my_l2(vector, vector),
	FUNCTION 2 my_l2(vector, vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'my_l2_ops2';
CREATE INDEX ON opc USING hnsw (v my_l2_ops2);
-- a class that names vecdb's support function is used as it says
CREATE OPERATOR CLASS my_l2_ops3 FOR TYPE vector USING hnsw AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector),
	FUNCTION 2 vector_l2_support(internal);
CREATE INDEX opc_idx ON opc USING hnsw (v my_l2_ops3);
SET enable_seqscan = off;
SELECT v FROM opc ORDER BY v <-> '[3,3]' LIMIT 1;
RESET enable_seqscan;
DROP TABLE opc;
DROP OPERATOR CLASS my_l2_ops USING hnsw;
DROP OPERATOR CLASS my_l2_ops2 USING hnsw;
DROP OPERATOR CLASS my_l2_ops3 USING hnsw;
DROP OPERATOR <<->> (vector, vector);
DROP FUNCTION my_l2(vector, vector);
