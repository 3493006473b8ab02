-- vecdb 0.1.0 -> 0.2.0: binary quantization over PostgreSQL's bit type, and
-- the ivfflat access method, as pgvector has them. The 0.2.0 install script is this file appended to
-- 0.1.0's (the Makefile builds it), so a fresh install and an update end
-- with the same objects (test/t/041_extension_update.pl compares them).
--
-- Who may call what, as in 0.1.0's header:
--
--   binary_quantize    any vector (its dims are the bit string's length)
--   hamming_distance, jaccard_distance
--                      equal lengths (ERROR 22000 otherwise); any bit or
--                      bit varying value (bit_functions.sql)
--   ivfflat_handler    internal: only PostgreSQL can call it; lists and
--                      dimensions checked at CREATE INDEX, pages read as
--                      untrusted (ivfflat.sql, test/t/043_ivfflat.pl)

\echo Use "ALTER EXTENSION vecdb UPDATE TO '0.2.0'" to load this file. \quit

CREATE FUNCTION binary_quantize(vector) RETURNS bit
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION hamming_distance(bit, bit) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION jaccard_distance(bit, bit) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <~> (
	LEFTARG = bit, RIGHTARG = bit, FUNCTION = hamming_distance,
	COMMUTATOR = '<~>'
);

CREATE OPERATOR <%> (
	LEFTARG = bit, RIGHTARG = bit, FUNCTION = jaccard_distance,
	COMMUTATOR = '<%>'
);

COMMENT ON FUNCTION binary_quantize(vector) IS
	'a bit string with a 1 for each positive coordinate of the vector';
COMMENT ON FUNCTION hamming_distance(bit, bit) IS
	'the number of bits in which two bit strings of equal length differ';
COMMENT ON FUNCTION jaccard_distance(bit, bit) IS
	'1 - (bits set in both) / (bits set in either), or 1 when no bit is set in both';
COMMENT ON OPERATOR <~> (bit, bit) IS 'hamming distance';
COMMENT ON OPERATOR <%> (bit, bit) IS 'jaccard distance';

-- ivfflat index access method: pgvector's, on ivfpq's lists holding the
-- vectors themselves (src/ivfpq/ivfpq.h)

CREATE FUNCTION ivfflat_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD ivfflat TYPE INDEX HANDLER ivfflat_handler;

COMMENT ON ACCESS METHOD ivfflat IS
	'inverted file index of vectors, pgvector''s ivfflat';

CREATE OPERATOR CLASS vector_l2_ops
	DEFAULT FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector);

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector);

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 cosine_distance(vector, vector);

CREATE OPERATOR CLASS vector_l1_ops
	FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 l1_distance(vector, vector);
