-- Exact nearest-neighbour search (no index): ORDER BY distance LIMIT k gives
-- the same answer as ranking by distances computed in plain SQL.

CREATE TABLE items (id int PRIMARY KEY, v vector(24), a real[]);
INSERT INTO items
	SELECT i, a::vector, a FROM (
		SELECT i, array_agg(sin(i * 0.37 + j * 1.3)::real ORDER BY j) AS a
		FROM generate_series(1, 2000) i, generate_series(1, 24) j GROUP BY i) s;
-- large vectors, which live out of line in the TOAST table
CREATE TABLE wide (id int PRIMARY KEY, v vector(1000));
INSERT INTO wide SELECT i, array_agg(cos(i * 0.11 + j * 0.9)::real ORDER BY j)::vector
	FROM generate_series(1, 300) i, generate_series(1, 1000) j GROUP BY i;
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted FROM pg_class
	WHERE relname = 'wide';

CREATE FUNCTION sql_l2(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS
	$$ SELECT sqrt(sum((x - y)::float8 ^ 2)) FROM unnest(a, b) u(x, y) $$;
CREATE FUNCTION sql_ip(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS
	$$ SELECT sum(x::float8 * y) FROM unnest(a, b) u(x, y) $$;
CREATE FUNCTION sql_l1(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS
	$$ SELECT sum(abs(x::float8 - y)) FROM unnest(a, b) u(x, y) $$;

-- For several query rows, the top 10 by each operator equals the top 10 by
-- the SQL formula (ids compared as sets; ties are unlikely on this data).
WITH q AS (SELECT id AS qid, v AS qv, a AS qa FROM items WHERE id IN (7, 500, 1999))
SELECT qid,
	(SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM items ORDER BY v <-> qv LIMIT 10) s)
	= (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM items ORDER BY sql_l2(a, qa) LIMIT 10) s) AS l2,
	(SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM items ORDER BY v <#> qv LIMIT 10) s)
	= (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM items ORDER BY sql_ip(a, qa) DESC LIMIT 10) s) AS ip,
	(SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM items ORDER BY v <=> qv LIMIT 10) s)
	= (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM items
		ORDER BY 1 - sql_ip(a, qa) / sqrt(sql_ip(a, a) * sql_ip(qa, qa)) LIMIT 10) s) AS cosine,
	(SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM items ORDER BY v <+> qv LIMIT 10) s)
	= (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM items ORDER BY sql_l1(a, qa) LIMIT 10) s) AS l1
FROM q ORDER BY qid;

-- the nearest row to a stored vector is itself, at distance 0
SELECT id, v <-> (SELECT v FROM items WHERE id = 123) AS d FROM items
	ORDER BY v <-> (SELECT v FROM items WHERE id = 123) LIMIT 1;
SELECT id FROM wide ORDER BY v <-> (SELECT v FROM wide WHERE id = 42) LIMIT 3;
SELECT (SELECT array_agg(id) FROM (SELECT id FROM wide ORDER BY v <=> w.v LIMIT 1) s) = ARRAY[w.id] AS self
	FROM wide w WHERE id IN (1, 150, 300);

-- the plan is a plain sort over a sequential scan
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24]' LIMIT 5;
DROP TABLE items, wide;
DROP FUNCTION sql_l2, sql_ip, sql_l1;
