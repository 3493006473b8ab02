-- Who may read a vecdb index through vecdb_index_check() and the ivfpq
-- reports, and as whom the index's own functions then run.
SET client_min_messages = warning;
CREATE ROLE vecdb_owner;
CREATE ROLE vecdb_stranger;
CREATE ROLE vecdb_deputy IN ROLE vecdb_owner;
CREATE ROLE vecdb_reader;
CREATE ROLE vecdb_stats IN ROLE pg_stat_scan_tables;
GRANT CREATE ON SCHEMA public TO vecdb_owner;
RESET client_min_messages;

SET ROLE vecdb_owner;
-- Index expressions whose functions say whom they run as, and change a
-- setting for the rest of the session.
CREATE FUNCTION owner_probe(v vector) RETURNS vector
	LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RAISE NOTICE 'owner_probe runs as %', current_user;
	RETURN v;
END $$;
CREATE FUNCTION owner_settings(v vector) RETURNS vector
	LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	PERFORM set_config('vecdb.hnsw_ef_search', '7', false);
	RETURN v;
END $$;
CREATE TABLE owned (id int, v vector(2));
INSERT INTO owned VALUES (1, '[1,2]'), (2, '[2,1]');
CREATE INDEX owned_probe_idx ON owned USING hnsw ((owner_probe(v)::vector(2)) vector_l2_ops);
CREATE INDEX owned_settings_idx ON owned USING hnsw ((owner_settings(v)::vector(2)) vector_l2_ops);
CREATE INDEX owned_ivfpq_idx ON owned USING ivfpq (v) WITH (lists = 1, m = 1);
RESET ROLE;

-- A superuser's check runs the owner's function as the owner
SELECT count(*) FROM vecdb_index_check('owned_probe_idx');
-- and a setting the owner's function changes does not outlive the check
SHOW vecdb.hnsw_ef_search;
SELECT count(*) FROM vecdb_index_check('owned_settings_idx');
SHOW vecdb.hnsw_ef_search;

-- The owner and a member of the owner's role may check
SET ROLE vecdb_owner;
SELECT count(*) FROM vecdb_index_check('owned_probe_idx');
SET ROLE vecdb_deputy;
SELECT count(*) FROM vecdb_index_check('owned_ivfpq_idx');
-- anyone else may not, even with SELECT on the table
SET ROLE vecdb_stranger;
SELECT count(*) FROM vecdb_index_check('owned_probe_idx');
SELECT count(*) FROM vecdb_index_check('owned_ivfpq_idx');
RESET ROLE;
GRANT SELECT ON owned TO vecdb_reader;
SET ROLE vecdb_reader;
SELECT count(*) FROM vecdb_index_check('owned_ivfpq_idx');

-- The ivfpq reports read pages only: SELECT on the table suffices, as does
-- pg_stat_scan_tables; a stranger gets neither
SELECT lists, m, entries FROM vecdb_ivfpq_info('owned_ivfpq_idx');
SELECT count(*) FROM vecdb_ivfpq_lists('owned_ivfpq_idx');
SET ROLE vecdb_stats;
SELECT lists, m, entries FROM vecdb_ivfpq_info('owned_ivfpq_idx');
SET ROLE vecdb_stranger;
SELECT lists FROM vecdb_ivfpq_info('owned_ivfpq_idx');
SELECT count(*) FROM vecdb_ivfpq_lists('owned_ivfpq_idx');
RESET ROLE;

SET client_min_messages = warning;
DROP TABLE owned;
DROP FUNCTION owner_probe(vector);
DROP FUNCTION owner_settings(vector);
REVOKE CREATE ON SCHEMA public FROM vecdb_owner;
DROP ROLE vecdb_deputy;
DROP ROLE vecdb_owner;
DROP ROLE vecdb_stranger;
DROP ROLE vecdb_reader;
DROP ROLE vecdb_stats;
