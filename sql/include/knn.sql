-- knn.sql: nearest-neighbour helpers shared by the hnsw regression tests,
-- included with \i (tables with id int and v vector; query tables with
-- qid int and q vector).

-- The ids of the 10 rows of tbl nearest to q by op: from the index when
-- use_index (an error unless the plan is an index scan returning 10
-- distinct rows, and with in_order, in order of their exact distances),
-- else exact, from a sequential scan and a sort.
CREATE FUNCTION knn_ids(tbl regclass, op text, q vector, use_index bool,
	in_order bool DEFAULT false) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT id, v %s %L::vector AS d FROM %s ORDER BY v %s %L::vector LIMIT 10',
						 op, q, tbl, op, q);
	line text;
	plan text := '';
	ids int[];
	ds float8[];
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN use_index THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN use_index THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		plan := plan || line || E'\n';
	END LOOP;
	IF (plan LIKE '%Index Scan using%') <> use_index THEN
		RAISE EXCEPTION 'unexpected plan for %: %', query, plan;
	END IF;
	EXECUTE format('SELECT array_agg(id ORDER BY n), array_agg(d ORDER BY n)
					FROM (SELECT id, d, row_number() OVER () n FROM (%s) s) r', query) INTO ids, ds;
	IF cardinality(ids) IS DISTINCT FROM 10
		OR (SELECT count(DISTINCT x) FROM unnest(ids) x) <> 10 THEN
		RAISE EXCEPTION '% returned %', query, ids;
	END IF;
	IF in_order AND EXISTS (SELECT FROM generate_series(1, 9) i WHERE ds[i] > ds[i + 1]) THEN
		RAISE EXCEPTION '% returned rows out of order: %', query, ds;
	END IF;
	RETURN ids;
END $$;

-- Recall@10 of tbl's index for op over the queries in qtbl.
CREATE FUNCTION knn_recall(tbl regclass, op text, qtbl regclass, in_order bool DEFAULT false)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	q vector;
	hits int := 0;
	n int := 0;
BEGIN
	FOR q IN EXECUTE format('SELECT q FROM %s ORDER BY qid', qtbl) LOOP
		hits := hits + cardinality(ARRAY(SELECT unnest(knn_ids(tbl, op, q, true, in_order))
			INTERSECT SELECT unnest(knn_ids(tbl, op, q, false))));
		n := n + 1;
	END LOOP;
	RETURN hits::float8 / (10 * n);
END $$;

-- Rows of tbl with id > after that an index scan for their own vector
-- does not return first (at distance 0).
CREATE FUNCTION knn_lost(tbl regclass, after int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	lost bigint;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	EXECUTE format('SELECT count(*) FROM %1$s t WHERE t.id > %2$s AND (SELECT u.v <-> t.v
		FROM %1$s u ORDER BY u.v <-> t.v LIMIT 1) <> 0', tbl, after) INTO lost;
	RETURN lost;
END $$;
