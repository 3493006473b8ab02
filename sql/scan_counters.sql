-- vecdb_backend_counters(): this session's index scans, counted as they end.
-- Only relations are printed (the graph depends on random level draws):
-- a scan through each index moves its access method's counters and no
-- other; a sequential scan moves none; the counts are bounded by the work
-- the scan could have done.

CREATE TABLE counted (id int PRIMARY KEY, v vector(8));
INSERT INTO counted
	SELECT i, ARRAY(SELECT sin(i * 7 + j)::real FROM generate_series(1, 8) j)
	FROM generate_series(1, 2000) i;
CREATE INDEX counted_hnsw ON counted USING hnsw (v vector_l2_ops) WITH (streaming = off);
CREATE TABLE counted_q (id int PRIMARY KEY, v vector(8));
INSERT INTO counted_q SELECT id, v FROM counted;
CREATE INDEX counted_ivfpq ON counted_q USING ivfpq (v vector_l2_ops) WITH (lists = 4, m = 4);

CREATE TEMP TABLE before AS SELECT * FROM vecdb_backend_counters();

-- a sequential scan: nothing counted
SET enable_indexscan = off;
SELECT count(*) FROM (SELECT id FROM counted ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 5) s;
RESET enable_indexscan;
SELECT c.hnsw_scans = b.hnsw_scans AS no_hnsw_scan, c.ivfpq_scans = b.ivfpq_scans AS no_ivfpq_scan
FROM vecdb_backend_counters() c, before b;

-- one hnsw scan at ef_search 40: at least 10 elements, at most the table
SET enable_seqscan = off;
SET vecdb.hnsw_ef_search = 40;
SELECT count(*) FROM (SELECT id FROM counted ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
SELECT c.hnsw_scans - b.hnsw_scans AS hnsw_scans,
	c.hnsw_visited - b.hnsw_visited BETWEEN 40 AND 2000 AS visited_in_bounds,
	c.ivfpq_scans = b.ivfpq_scans AS no_ivfpq_scan
FROM vecdb_backend_counters() c, before b;

-- a wider search visits more
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM vecdb_backend_counters();
SET vecdb.hnsw_ef_search = 200;
SELECT count(*) FROM (SELECT id FROM counted ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
CREATE TEMP TABLE narrow AS SELECT * FROM vecdb_backend_counters();
SET vecdb.hnsw_ef_search = 10;
SELECT count(*) FROM (SELECT id FROM counted ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
SELECT n.hnsw_visited - b.hnsw_visited > c.hnsw_visited - n.hnsw_visited AS wider_visits_more
FROM vecdb_backend_counters() c, narrow n, before b;
RESET vecdb.hnsw_ef_search;

-- one ivfpq scan over every list: each row estimated once, rerank re-ranked
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM vecdb_backend_counters();
SET vecdb.ivfpq_probes = 4;
SET vecdb.ivfpq_rerank = 30;
SELECT count(*) FROM (SELECT id FROM counted_q ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
SELECT c.ivfpq_scans - b.ivfpq_scans AS ivfpq_scans,
	c.ivfpq_estimated - b.ivfpq_estimated AS estimated,
	c.ivfpq_reranked - b.ivfpq_reranked AS reranked,
	c.hnsw_scans = b.hnsw_scans AS no_hnsw_scan
FROM vecdb_backend_counters() c, before b;
RESET ALL;

DROP TABLE counted, counted_q;
