-- Comparison operators and the btree opclass: sort, group, unique, index.

SELECT '[1,2,3]'::vector = '[1,2,3]', '[1,2,3]'::vector <> '[1,2,3]';
SELECT '[1,2,3]'::vector < '[1,2,4]', '[1,2]'::vector < '[1,2,3]', '[2]'::vector < '[1,2,3]';
SELECT '[1,2,3]'::vector <= '[1,2,3]', '[1,2,3]'::vector >= '[1,2,4]', '[1,3]'::vector > '[1,2,9]';
SELECT '[-0]'::vector = '[0]' AS zero_equal;
SELECT vector_cmp('[1,2]', '[1,3]'), vector_cmp('[1,2]', '[1,2]'), vector_cmp('[1,2,0]', '[1,2]');

CREATE TABLE btree_t (id int, v vector);
INSERT INTO btree_t VALUES (1, '[1,2,3]'), (2, '[1,2]'), (3, '[0,5]'), (4, '[1,2,3]'), (5, '[-1]');
SELECT v, count(*) FROM btree_t GROUP BY v ORDER BY v;
SELECT DISTINCT v FROM btree_t ORDER BY v DESC;
CREATE INDEX ON btree_t (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM btree_t WHERE v = '[1,2,3]';
SELECT id FROM btree_t WHERE v = '[1,2,3]' ORDER BY id;
SELECT id FROM btree_t WHERE v < '[1]' ORDER BY id;
RESET enable_seqscan;
CREATE UNIQUE INDEX ON btree_t (v);
DROP TABLE btree_t;
