-- ivfflat: pgvector's access method, on ivfpq's lists holding the vectors
-- themselves. Options and their errors, recall@10 against exact search for
-- each operator class (1.0, in exact order, once every list is probed),
-- pgvector's settings (vecdb.ivfflat_* and ivfflat.*), iterative scans
-- with a filter, small and empty tables, inserts, VACUUM, and
-- vecdb_index_check. Only counts and booleans are printed.
\i sql/include/knn.sql

SELECT setseed(0.25);
-- 20 clusters of 100 rows in 24 dims, and 20 queries, one per cluster
CREATE TABLE flat_centres (c int PRIMARY KEY, a float8[]);
INSERT INTO flat_centres
	SELECT c, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 24) WHERE c >= 0)
	FROM generate_series(0, 19) c;
CREATE TABLE flat_items (id int PRIMARY KEY, v vector(24));
INSERT INTO flat_items
	SELECT i, ARRAY(SELECT ctr[d] + 0.4 * (random() - 0.5) FROM generate_series(1, 24) d)::vector
	FROM (SELECT i, (SELECT a FROM flat_centres WHERE c = i % 20) AS ctr
		FROM generate_series(1, 2000) i) s;
CREATE TABLE flat_queries (qid int PRIMARY KEY, q vector(24));
INSERT INTO flat_queries
	SELECT qid, ARRAY(SELECT ctr[d] + 0.4 * (random() - 0.5) FROM generate_series(1, 24) d)::vector
	FROM (SELECT qid, (SELECT a FROM flat_centres WHERE c = qid % 20) AS ctr
		FROM generate_series(1, 20) qid) s;

-- options: pgvector's lists, and nothing of ivfpq's
CREATE INDEX ON flat_items USING ivfflat (v vector_l2_ops) WITH (lists = 0);
CREATE INDEX ON flat_items USING ivfflat (v vector_l2_ops) WITH (lists = 32769);
CREATE INDEX ON flat_items USING ivfflat (v vector_l2_ops) WITH (m = 4);
CREATE INDEX ON flat_items USING ivfflat (v vector_l2_ops) WITH (nbits = 8);
CREATE INDEX ON flat_items USING ivfflat (v);
SELECT amname, (SELECT count(*) FROM vecdb_ivfpq_lists('flat_items_v_idx')) AS lists
FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = 'flat_items_v_idx';
DROP INDEX flat_items_v_idx;

-- the four operator classes, 20 lists
CREATE INDEX flat_l2 ON flat_items USING ivfflat (v vector_l2_ops) WITH (lists = 20);
CREATE INDEX flat_ip ON flat_items USING ivfflat (v vector_ip_ops) WITH (lists = 20);
CREATE INDEX flat_cos ON flat_items USING ivfflat (v vector_cosine_ops) WITH (lists = 20);
CREATE INDEX flat_l1 ON flat_items USING ivfflat (v vector_l1_ops) WITH (lists = 20);
SELECT indexrelid::regclass AS index, (SELECT count(*) FROM vecdb_index_check(indexrelid)) AS problems
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE indrelid = 'flat_items'::regclass AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'ivfflat')
ORDER BY 1;

-- every list probed: the exact answer, in order; one list (pgvector's
-- default): most of it, the queries being near their cluster's centre
SET vecdb.ivfflat_probes = 20;
SELECT op, knn_recall('flat_items', op, 'flat_queries', true) AS recall_all_lists
FROM (VALUES ('<->'), ('<#>'), ('<=>'), ('<+>')) o(op);
SET vecdb.ivfflat_probes = 1;
SELECT op, knn_recall('flat_items', op, 'flat_queries', true) >= 0.8 AS recall_one_list
FROM (VALUES ('<->'), ('<=>')) o(op);
-- pgvector's name for the setting; it wins over vecdb's
SET ivfflat.probes = 20;
SELECT knn_recall('flat_items', '<->', 'flat_queries', true) AS recall_ivfflat_probes_20;
RESET ivfflat.probes;
RESET vecdb.ivfflat_probes;

-- the scan reads only the probed lists: with one list, an exact query
-- of a row finds it first
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE (SELECT id FROM flat_items ORDER BY v <-> i.v LIMIT 1) = i.id) AS self_found
FROM flat_items i WHERE i.id <= 100;

-- iterative scans with a filter that 1 row in 100 passes: off stops at the
-- probed list, relaxed_order reads more lists until LIMIT rows pass, and
-- max_probes bounds it
SELECT count(*) AS off_rows FROM (SELECT id FROM flat_items WHERE id % 100 = 0
	ORDER BY v <-> (SELECT q FROM flat_queries WHERE qid = 1) LIMIT 10) s;
SET vecdb.ivfflat_iterative_scan = relaxed_order;
SELECT count(*) AS relaxed_rows FROM (SELECT id FROM flat_items WHERE id % 100 = 0
	ORDER BY v <-> (SELECT q FROM flat_queries WHERE qid = 1) LIMIT 10) s;
SET vecdb.ivfflat_max_probes = 2;
SELECT count(*) < 10 AS bounded_by_max_probes FROM (SELECT id FROM flat_items WHERE id % 100 = 0
	ORDER BY v <-> (SELECT q FROM flat_queries WHERE qid = 1) LIMIT 10) s;
RESET vecdb.ivfflat_max_probes;
RESET vecdb.ivfflat_iterative_scan;
SET ivfflat.iterative_scan = relaxed_order;
SELECT count(*) AS alias_relaxed_rows FROM (SELECT id FROM flat_items WHERE id % 100 = 0
	ORDER BY v <-> (SELECT q FROM flat_queries WHERE qid = 1) LIMIT 10) s;
RESET ivfflat.iterative_scan;
-- pgvector's ivfflat has no strict_order
SET vecdb.ivfflat_iterative_scan = strict_order;
SET ivfflat.iterative_scan = strict_order;
SELECT id FROM flat_items ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 1;
RESET ivfflat.iterative_scan;
SET ivfflat.probes = 0;
SELECT id FROM flat_items ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 1;
RESET ivfflat.probes;
RESET enable_seqscan;

-- inserts after the build, DELETE and VACUUM
INSERT INTO flat_items
	SELECT i, ARRAY(SELECT 3 + random() FROM generate_series(1, 24) WHERE i > 0)::vector
	FROM generate_series(2001, 2100) i;
SELECT knn_lost('flat_items', 2000) AS lost_inserts;
DELETE FROM flat_items WHERE id % 3 = 0;
VACUUM flat_items;
SET vecdb.ivfflat_probes = 20;
SELECT knn_recall('flat_items', '<->', 'flat_queries', true) AS recall_after_vacuum;
RESET vecdb.ivfflat_probes;
SELECT indexrelid::regclass AS index, (SELECT count(*) FROM vecdb_index_check(indexrelid)) AS problems
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE indrelid = 'flat_items'::regclass AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'ivfflat')
ORDER BY 1;

-- a table with fewer rows than lists: a NOTICE, as many lists as rows
CREATE TABLE flat_small (id int PRIMARY KEY, v vector(3));
INSERT INTO flat_small VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0,0,1]');
CREATE INDEX flat_small_v ON flat_small USING ivfflat (v vector_l2_ops) WITH (lists = 100);
SELECT count(*) AS lists FROM vecdb_ivfpq_lists('flat_small_v');
-- an empty table: one list, every row compared, then trained by REINDEX
CREATE TABLE flat_empty (id int PRIMARY KEY, v vector(3));
CREATE INDEX flat_empty_v ON flat_empty USING ivfflat (v vector_cosine_ops);
INSERT INTO flat_empty SELECT i, ARRAY[i, i % 7, 1] FROM generate_series(1, 500) i;
SET enable_seqscan = off;
SELECT count(*) AS found_untrained FROM (SELECT id FROM flat_empty ORDER BY v <=> '[1,1,1]' LIMIT 50) s;
REINDEX INDEX flat_empty_v;
SELECT count(*) AS lists_after_reindex FROM vecdb_ivfpq_lists('flat_empty_v');
-- one list of 100 holds few of 500 rows; all of them hold the 5 nearest
SELECT count(*) <= 5 AS one_list FROM (SELECT id FROM flat_empty ORDER BY v <=> '[1,1,1]' LIMIT 5) s;
SET ivfflat.probes = 100;
SELECT count(*) AS found_trained FROM (SELECT id FROM flat_empty ORDER BY v <=> '[1,1,1]' LIMIT 5) s;
RESET ivfflat.probes;
-- NULL and zero vectors: not indexed; a query that ranks nothing returns
-- every row, as a sequential scan and a sort would
INSERT INTO flat_empty VALUES (501, NULL), (502, '[0,0,0]');
SELECT count(*) AS unranked_rows FROM (SELECT id FROM flat_empty ORDER BY v <=> '[0,0,0]') s;
RESET enable_seqscan;

-- the dimensions an entry on a page holds (pgvector's limit is 2,000)
CREATE TABLE flat_wide (v vector(2038));
INSERT INTO flat_wide SELECT array_fill(i, ARRAY[2038])::vector FROM generate_series(1, 3) i;
CREATE INDEX ON flat_wide USING ivfflat (v vector_l2_ops) WITH (lists = 2);
SET enable_seqscan = off;
SET ivfflat.probes = 2;
SELECT count(*) AS wide_rows FROM (SELECT v FROM flat_wide ORDER BY v <-> array_fill(2, ARRAY[2038])::vector LIMIT 3) s;
RESET ivfflat.probes;
RESET enable_seqscan;
CREATE TABLE flat_wider (v vector(2039));
CREATE INDEX ON flat_wider USING ivfflat (v vector_l2_ops);
-- without ORDER BY the index answers nothing
SET enable_seqscan = off;
SELECT count(*) FROM flat_small WHERE v = '[1,0,0]';
RESET enable_seqscan;

DROP TABLE flat_items, flat_queries, flat_centres, flat_small, flat_empty, flat_wide, flat_wider;
DROP FUNCTION knn_ids, knn_recall, knn_lost;
