-- hnsw over sparsevec: pgvector's four sparsevec classes. vecdb keeps the
-- vectors dense, so a column of at most 16,000 dimensions; each class's
-- answers are checked against exact ones.

SELECT setseed(0.75);
CREATE TABLE sv (id int, s sparsevec(2000));
-- 12 non-zeros a row, at random places
INSERT INTO sv SELECT i, ('{' || (SELECT string_agg(d || ':' || round((random() * 2 - 1)::numeric, 3), ',')
	FROM (SELECT DISTINCT 1 + floor(random() * 2000)::int AS d FROM generate_series(1, 12) WHERE i > 0) x)
	|| '}/2000')::sparsevec FROM generate_series(1, 2000) i;
CREATE INDEX sv_l2 ON sv USING hnsw (s sparsevec_l2_ops);
CREATE INDEX sv_ip ON sv USING hnsw (s sparsevec_ip_ops);
CREATE INDEX sv_cosine ON sv USING hnsw (s sparsevec_cosine_ops);
CREATE INDEX sv_l1 ON sv USING hnsw (s sparsevec_l1_ops);

CREATE TABLE sv_queries AS SELECT id, s FROM sv WHERE id % 100 = 0;
-- exact top 10 of each query for each operator, by a sequential scan
SET enable_indexscan = off;
CREATE TABLE sv_exact AS
SELECT q.id AS qid, op,
	CASE op WHEN '<->' THEN ARRAY(SELECT id FROM sv ORDER BY s <-> q.s LIMIT 10)
		WHEN '<#>' THEN ARRAY(SELECT id FROM sv ORDER BY s <#> q.s LIMIT 10)
		WHEN '<=>' THEN ARRAY(SELECT id FROM sv ORDER BY s <=> q.s LIMIT 10)
		ELSE ARRAY(SELECT id FROM sv ORDER BY s <+> q.s LIMIT 10) END AS ids
FROM sv_queries q, (VALUES ('<->'), ('<#>'), ('<=>'), ('<+>')) o(op);
RESET enable_indexscan;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM sv ORDER BY s <#> '{1:1}/2000' LIMIT 10;
SELECT op, sum(cardinality(ARRAY(SELECT unnest(e.ids) INTERSECT SELECT unnest(got))))::float
	/ (10 * count(*)) >= 0.9 AS recall_ok
FROM sv_exact e JOIN sv_queries q ON q.id = e.qid,
	LATERAL (SELECT CASE e.op WHEN '<->' THEN ARRAY(SELECT id FROM sv ORDER BY s <-> q.s LIMIT 10)
		WHEN '<#>' THEN ARRAY(SELECT id FROM sv ORDER BY s <#> q.s LIMIT 10)
		WHEN '<=>' THEN ARRAY(SELECT id FROM sv ORDER BY s <=> q.s LIMIT 10)
		ELSE ARRAY(SELECT id FROM sv ORDER BY s <+> q.s LIMIT 10) END AS got) g
GROUP BY op ORDER BY op;
SELECT * FROM vecdb_index_check('sv_l2');
SELECT * FROM vecdb_index_check('sv_cosine');
-- a zero vector is not in a cosine index, as for vector
INSERT INTO sv VALUES (0, '{}/2000');
SELECT count(*) FROM (SELECT id FROM sv ORDER BY s <=> '{5:1}/2000' LIMIT 3000) r WHERE id = 0;
RESET enable_seqscan;

-- what is refused
SELECT id FROM sv ORDER BY s <-> '{1:1}/3' LIMIT 1;
CREATE TABLE sv_splade (s sparsevec(30522));
CREATE INDEX ON sv_splade USING hnsw (s sparsevec_ip_ops);
CREATE INDEX ON sv USING ivfflat (s sparsevec_l2_ops);
DROP TABLE sv, sv_queries, sv_exact, sv_splade;
