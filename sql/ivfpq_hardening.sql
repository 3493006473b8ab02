-- ivfpq hardening (issue 10): an m whose entries cannot fit a page is an
-- ERROR at CREATE INDEX, and the largest that fits works (item 2); a NULL
-- or cosine-zero query returns rows through the index as a sequential scan
-- does (item 8); DROP INDEX and REINDEX evict the backend's cached model
-- (item 10); re-ranking takes SSI predicate locks only on returned rows
-- (item 11d).

-- The SQLSTATE and message of stmt's error; 'no error' if it succeeds.
CREATE FUNCTION ivfpq_h_error(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The models this backend caches (one memory context each).
CREATE FUNCTION ivfpq_h_models() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'vecdb ivfpq model'
$$;

-- A deterministic vector of dims elements, row i.
CREATE FUNCTION ivfpq_h_vec(i int, dims int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(sin(i * 7.31 + j * 1.17) + (i % 5) * 0.1 ORDER BY j)::real[]::vector
	FROM generate_series(1, dims) j
$$;

-- ---------------------------------------------------------------------------
-- Item 2: entries of 10 + m bytes (L2, cosine: heap TID, offset, code) or
-- 6 + m (inner product, L1) must fit a page's 8160 bytes.

-- (the builds' notice on a sample cut to maintenance_work_mem aside)
SET client_min_messages = warning;
CREATE TABLE ivfpq_h_wide (v vector(8192));
INSERT INTO ivfpq_h_wide SELECT ivfpq_h_vec(i, 8192) FROM generate_series(1, 3) i;
-- the statement of the issue: 8202-byte entries wrote past the buffer
CREATE INDEX ivfpq_h_wide_idx ON ivfpq_h_wide USING ivfpq (v) WITH (lists = 1, m = 8192);
-- also on an empty table (an untrained index), whose REINDEX would train it
CREATE TABLE ivfpq_h_wide_empty (v vector(8192));
CREATE INDEX ON ivfpq_h_wide_empty USING ivfpq (v) WITH (m = 8192);
-- the largest divisor that fits works, and the index is sound
CREATE INDEX ivfpq_h_wide_idx ON ivfpq_h_wide USING ivfpq (v) WITH (lists = 1, m = 4096);
INSERT INTO ivfpq_h_wide SELECT ivfpq_h_vec(i, 8192) FROM generate_series(4, 5) i;
SELECT count(*) AS problems FROM vecdb_index_check('ivfpq_h_wide_idx');
SELECT entries, m FROM vecdb_ivfpq_info('ivfpq_h_wide_idx');
DROP TABLE ivfpq_h_wide, ivfpq_h_wide_empty;

-- at the boundary: an 8160-byte entry fills a page exactly; one byte more
-- does not fit
CREATE TABLE ivfpq_h_edge (v vector(8150));
INSERT INTO ivfpq_h_edge SELECT ivfpq_h_vec(i, 8150) FROM generate_series(1, 3) i;
CREATE INDEX ivfpq_h_edge_idx ON ivfpq_h_edge USING ivfpq (v) WITH (lists = 1, m = 8150);
INSERT INTO ivfpq_h_edge SELECT ivfpq_h_vec(i, 8150) FROM generate_series(4, 5) i;
SELECT count(*) AS problems FROM vecdb_index_check('ivfpq_h_edge_idx');
SELECT entries, pages FROM vecdb_ivfpq_lists('ivfpq_h_edge_idx');
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT v FROM ivfpq_h_edge ORDER BY v <-> ivfpq_h_vec(2, 8150) LIMIT 5) s;
RESET enable_seqscan;
DROP TABLE ivfpq_h_edge;
CREATE TABLE ivfpq_h_edge (v vector(8151));
INSERT INTO ivfpq_h_edge SELECT ivfpq_h_vec(i, 8151) FROM generate_series(1, 3) i;
SELECT ivfpq_h_error('CREATE INDEX ON ivfpq_h_edge USING ivfpq (v) WITH (lists = 1, m = 8151)');
-- without the offset (inner product), up to 8154 code bytes fit
SELECT ivfpq_h_error('CREATE INDEX ON ivfpq_h_edge USING ivfpq (v vector_ip_ops) WITH (lists = 1, m = 8151)');
DROP TABLE ivfpq_h_edge;
RESET client_min_messages;

-- ---------------------------------------------------------------------------
-- Item 8: nothing is nearest to a NULL query, nor to a zero one under
-- cosine: every distance is NULL or NaN, and a sequential scan returns the
-- rows in any order. So must the index.

CREATE TABLE ivfpq_h_q (id int, v vector(8));
INSERT INTO ivfpq_h_q SELECT i, ivfpq_h_vec(i, 8) FROM generate_series(1, 300) i;
CREATE INDEX ivfpq_h_q_l2 ON ivfpq_h_q USING ivfpq (v vector_l2_ops) WITH (lists = 4);
CREATE INDEX ivfpq_h_q_cos ON ivfpq_h_q USING ivfpq (v vector_cosine_ops) WITH (lists = 4);
CREATE TABLE ivfpq_h_q_u (id int, v vector(8));
CREATE INDEX ivfpq_h_q_u_l2 ON ivfpq_h_q_u USING ivfpq (v vector_l2_ops);
INSERT INTO ivfpq_h_q_u SELECT * FROM ivfpq_h_q;

-- The rows "ORDER BY v op (SELECT q) LIMIT k" returns: their count, and whether they
-- are all the table's rows; through the index, then a sequential scan.
CREATE FUNCTION ivfpq_h_rows(tbl text, op text, q vector, k int, OUT plan text,
	OUT index_rows bigint, OUT seq_rows bigint, OUT index_all bool) LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT id FROM %s ORDER BY v %s (SELECT %L::vector) LIMIT %s', tbl, op, q, k);
	line text;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	plan := '';
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		IF line LIKE '%Scan%' THEN
			plan := plan || trim(line);
		END IF;
	END LOOP;
	EXECUTE format('SELECT count(*), count(*) = (SELECT count(*) FROM %s) FROM (%s) s', tbl, query)
		INTO index_rows, index_all;
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'off', true);
	EXECUTE format('SELECT count(*) FROM (%s) s', query) INTO seq_rows;
	PERFORM set_config('enable_indexscan', 'on', true);
END $$;

SELECT * FROM ivfpq_h_rows('ivfpq_h_q', '<->', NULL, 5);
SELECT * FROM ivfpq_h_rows('ivfpq_h_q', '<->', NULL, 1000);
SELECT * FROM ivfpq_h_rows('ivfpq_h_q', '<=>', '[0,0,0,0,0,0,0,0]', 5);
SELECT * FROM ivfpq_h_rows('ivfpq_h_q', '<=>', '[0,0,0,0,0,0,0,0]', 1000);
SELECT * FROM ivfpq_h_rows('ivfpq_h_q', '<=>', NULL, 1000);
SELECT * FROM ivfpq_h_rows('ivfpq_h_q_u', '<->', NULL, 1000);
-- an ordinary query still ranks
SELECT * FROM ivfpq_h_rows('ivfpq_h_q', '<->', ivfpq_h_vec(7, 8), 5);

-- (SELECT NULL::vector), and a generic plan given NULL for $1
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivfpq_h_q ORDER BY v <-> (SELECT NULL::vector) LIMIT 5;
SELECT count(*) FROM (SELECT id FROM ivfpq_h_q ORDER BY v <-> (SELECT NULL::vector) LIMIT 5) s;
PREPARE ivfpq_h_p(vector, int) AS
	SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM ivfpq_h_q ORDER BY v <-> $1 LIMIT $2) s;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE ivfpq_h_p(NULL, 5);
EXECUTE ivfpq_h_p(NULL, 5);
EXECUTE ivfpq_h_p(NULL, 1000);
EXECUTE ivfpq_h_p(ivfpq_h_vec(7, 8), 5);
-- rows deleted (not vacuumed yet) are not returned: the executor's fetch
-- hides them
DELETE FROM ivfpq_h_q WHERE id <= 30;
EXECUTE ivfpq_h_p(NULL, 1000);
RESET plan_cache_mode;
RESET enable_seqscan;
DEALLOCATE ivfpq_h_p;
DROP TABLE ivfpq_h_q, ivfpq_h_q_u;

-- ---------------------------------------------------------------------------
-- Item 10: the backend's cached model goes with its index (DROP INDEX) and
-- with its build (REINDEX), and a rebuilt index is searched with its new
-- model.

CREATE TABLE ivfpq_h_c (id int, v vector(8));
INSERT INTO ivfpq_h_c SELECT i, ivfpq_h_vec(i, 8) FROM generate_series(1, 500) i;
CREATE INDEX ivfpq_h_c_idx ON ivfpq_h_c USING ivfpq (v) WITH (lists = 4);
SET enable_seqscan = off;
SET vecdb.ivfpq_probes = 100;
SET vecdb.ivfpq_rerank = 1000;

-- Whether the index scan (an error if the plan is none) returns the exact
-- top 10 distances of a sequential scan and a sort.
CREATE FUNCTION ivfpq_h_exact(q vector) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT v <-> %L AS d FROM ivfpq_h_c ORDER BY v <-> %L LIMIT 10', q, q);
	plan text;
	a float8[];
	e float8[];
BEGIN
	FOR plan IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		EXIT WHEN plan LIKE '%Index Scan using ivfpq_h_c_idx%';
	END LOOP;
	IF plan NOT LIKE '%Index Scan using ivfpq_h_c_idx%' THEN
		RAISE EXCEPTION 'not an index scan: %', query;
	END IF;
	EXECUTE format('SELECT array_agg(d) FROM (%s) s', query) INTO a;
	PERFORM set_config('enable_indexscan', 'off', true);
	PERFORM set_config('enable_seqscan', 'on', true);
	EXECUTE format('SELECT array_agg(d) FROM (%s) s', query) INTO e;
	PERFORM set_config('enable_indexscan', 'on', true);
	PERFORM set_config('enable_seqscan', 'off', true);
	RETURN a = e;
END $$;

SELECT ivfpq_h_models() AS before_any;
SELECT count(*) FROM (SELECT id FROM ivfpq_h_c ORDER BY v <-> ivfpq_h_vec(3, 8) LIMIT 5) s;
SELECT ivfpq_h_models() AS after_scan;
DROP INDEX ivfpq_h_c_idx;
SELECT ivfpq_h_models() AS after_drop;

CREATE INDEX ivfpq_h_c_idx ON ivfpq_h_c USING ivfpq (v) WITH (lists = 4);
SELECT ivfpq_h_exact(ivfpq_h_vec(3, 8)), ivfpq_h_models() AS models;
-- new data and new options: the rebuilt index has another model
DELETE FROM ivfpq_h_c WHERE id % 2 = 0;
INSERT INTO ivfpq_h_c SELECT i, ivfpq_h_vec(i, 8) FROM generate_series(1001, 1400) i;
ALTER INDEX ivfpq_h_c_idx SET (lists = 9);
REINDEX INDEX ivfpq_h_c_idx;
SELECT ivfpq_h_models() AS after_reindex;
SELECT lists FROM vecdb_ivfpq_info('ivfpq_h_c_idx');
SELECT ivfpq_h_exact(ivfpq_h_vec(3, 8)) AS q1, ivfpq_h_exact(ivfpq_h_vec(1200, 8)) AS q2,
	ivfpq_h_models() AS models;
DROP TABLE ivfpq_h_c;
SELECT ivfpq_h_models() AS after_drop_table;
RESET enable_seqscan;
RESET vecdb.ivfpq_probes;
RESET vecdb.ivfpq_rerank;

-- ---------------------------------------------------------------------------
-- Item 11d: a SERIALIZABLE scan that re-ranks 100 rows and returns one
-- holds an SSI lock on that row (and the lock on the whole index that an
-- access method without predicate locks gets), not on the 100.

CREATE TABLE ivfpq_h_ssi (id int, v vector(8));
INSERT INTO ivfpq_h_ssi SELECT i, ivfpq_h_vec(i, 8) FROM generate_series(1, 2000) i;
CREATE INDEX ivfpq_h_ssi_idx ON ivfpq_h_ssi USING ivfpq (v) WITH (lists = 2);
BEGIN ISOLATION LEVEL SERIALIZABLE;
SET LOCAL enable_seqscan = off;
SET LOCAL vecdb.ivfpq_rerank = 100;
SELECT count(*) FROM (SELECT id FROM ivfpq_h_ssi ORDER BY v <-> ivfpq_h_vec(11, 8) LIMIT 1) s;
SELECT relation::regclass, locktype, count(*) FROM pg_locks
WHERE pid = pg_backend_pid() AND mode = 'SIReadLock'
	AND relation IN ('ivfpq_h_ssi'::regclass, 'ivfpq_h_ssi_idx'::regclass)
GROUP BY 1, 2 ORDER BY 1, 2;
COMMIT;
-- the same with LIMIT 3: three rows locked
BEGIN ISOLATION LEVEL SERIALIZABLE;
SET LOCAL enable_seqscan = off;
SET LOCAL vecdb.ivfpq_rerank = 100;
SELECT count(*) FROM (SELECT id FROM ivfpq_h_ssi ORDER BY v <-> ivfpq_h_vec(11, 8) LIMIT 3) s;
SELECT relation::regclass, locktype, count(*) FROM pg_locks
WHERE pid = pg_backend_pid() AND mode = 'SIReadLock' AND relation = 'ivfpq_h_ssi'::regclass
GROUP BY 1, 2 ORDER BY 1, 2;
COMMIT;
DROP TABLE ivfpq_h_ssi;

DROP FUNCTION ivfpq_h_error, ivfpq_h_models, ivfpq_h_vec, ivfpq_h_rows, ivfpq_h_exact;

-- A query without ORDER BY never goes to the index, not even with
-- sequential scans disabled: its scan could only raise an ERROR.
CREATE TABLE ivfpq_h_count (id int, v vector(3));
INSERT INTO ivfpq_h_count SELECT i, ARRAY[i, i % 5, 1] FROM generate_series(1, 200) i;
CREATE INDEX ON ivfpq_h_count USING ivfpq (v);
SET enable_seqscan = off;
SELECT count(*) FROM ivfpq_h_count;
SELECT count(*) FROM ivfpq_h_count WHERE v = '[7,2,1]';
EXPLAIN (COSTS OFF) SELECT count(*) FROM ivfpq_h_count;
RESET enable_seqscan;
DROP TABLE ivfpq_h_count;
