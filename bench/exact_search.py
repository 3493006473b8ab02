#!/usr/bin/env python3
"""bench/exact_search.py: vecdb's exact search against faiss IndexFlatL2.

Fashion-MNIST's 60,000 train images are the base (table items, reused when
already loaded), its first N t10k images the queries (table queries). All N
queries run in ONE SQL statement, as targets.md prescribes, with no index:

    SELECT qid, (SELECT array_agg(id) FROM
      (SELECT id FROM items ORDER BY embedding <-> queries.q LIMIT 10) s)
    FROM queries;

The answers must have recall 1.0 against a numpy brute force (float64), and
vecdb's QPS is compared with faiss IndexFlatL2 on one thread, same queries,
same run. Target: vecdb >= 0.8 x faiss.

Connects with the standard PG* environment variables; --start (or
bench/exact_search.sh) runs it against a throwaway cluster of its own.
"""

import os

# One thread everywhere: faiss (OpenMP) and whatever BLAS numpy/faiss load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "cache")


def ground_truth(data, nq, k):
    """numpy brute force in float64, cached in bench/cache/ (it takes
    seconds per hundred queries with the reference BLAS)."""
    path = os.path.join(CACHE, f"fashion-mnist-l2-gt-{nq}-k{k}.npz")
    if os.path.exists(path):
        z = np.load(path)
        return z["ids"], z["dist"]
    ids, dist = datasets.exact_knn(data.base, data.queries[:nq], k)
    os.makedirs(CACHE, exist_ok=True)
    np.savez(path, ids=ids, dist=dist)
    return ids, dist


def recall(results, gt_ids, gt_dist, base, queries, k):
    """Recall@k, counting ties: a returned id is right if it is one of the
    true k nearest, or lies at exactly the distance of the k-th (integer
    pixel data has ties, and any of the tied ids is a correct answer)."""
    hits = 0
    strict = 0
    for qi, got in enumerate(results):
        got = list(got or [])[:k]
        truth = set(gt_ids[qi].tolist())
        strict += len(truth.intersection(got))
        if not got:
            continue
        diff = base[got].astype(np.float64) - queries[qi].astype(np.float64)
        d2 = np.einsum("ij,ij->i", diff, diff)
        kth = gt_dist[qi, k - 1]
        hits += int(np.sum(d2 <= kth * (1 + 1e-9) + 1e-9))
    n = len(results) * k
    return hits / n, strict / n


def run_vecdb(conn, nq, k, repeat, column, table):
    sql = (
        f"SELECT qid, (SELECT array_agg(id) FROM "
        f"(SELECT id FROM {table} ORDER BY {column} <-> queries.q LIMIT {k}) s) "
        f"FROM queries ORDER BY qid"
    )
    times = []
    results = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = conn.execute(sql).fetchall()
        times.append(time.perf_counter() - t0)
        results = [r[1] for r in rows]
    return sql, times, results


def run_faiss(base, queries, k, repeat):
    import faiss

    faiss.omp_set_num_threads(1)
    index = faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    batch = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        _, ids = index.search(queries, k)
        batch.append(time.perf_counter() - t0)
    single = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for i in range(len(queries)):
            index.search(queries[i : i + 1], k)
        single.append(time.perf_counter() - t0)
    return batch, single, ids


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--queries", type=int, default=100, help="number of queries (default 100)")
    ap.add_argument("-k", type=int, default=10, help="neighbours per query (default 10)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each; the best counts (default 3)")
    ap.add_argument("--table", default="items", help="base table (default items, as scripts/demo makes)")
    ap.add_argument("--storage", choices=["plain", "main", "external", "extended"],
                    help="storage mode of the embedding column when the table is (re)loaded "
                         "(default: the vector type's own)")
    ap.add_argument("--query-storage", choices=["plain", "main", "external", "extended"],
                    help="storage mode of the queries table's vector column (default: the type's own)")
    ap.add_argument("--reload", action="store_true", help="reload the base table even if present")
    ap.add_argument("--copy-format", choices=["binary", "text"], default=datasets.COPY_FORMAT)
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of one query")
    ap.add_argument("--start", action="store_true",
                    help="run against a throwaway cluster of its own (via bench/exact_search.sh)")
    args = ap.parse_args()

    if args.start:
        argv = [a for a in sys.argv[1:] if a != "--start"]
        os.execvp("bash", ["bash", os.path.join(HERE, "exact_search.sh"), *argv])

    import psycopg

    data = datasets.fashion_mnist()
    nq, k = args.queries, args.k
    if not 1 <= nq <= len(data.queries):
        ap.error(f"--queries must be 1..{len(data.queries)}")
    queries = data.queries[:nq]

    with psycopg.connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vecdb")
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vecdb'").fetchone()[0]
        settings = dict(conn.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
            "('shared_buffers', 'jit', 'max_parallel_workers_per_gather', 'work_mem')").fetchall())
        print(f"server: {conn.info.host}:{conn.info.port}, vecdb {version}, "
              + ", ".join(f"{n}={v}" for n, v in sorted(settings.items())))

        t0 = time.perf_counter()
        datasets.load_fashion_mnist_items(conn, args.table, data=data, storage=args.storage,
                                          fmt=args.copy_format, replace=args.reload)
        load = time.perf_counter() - t0
        storage = conn.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'embedding'",
            [args.table]).fetchone()[0]
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_table_size(%s::regclass)), "
            "pg_size_pretty(coalesce(pg_total_relation_size(reltoastrelid), 0)) "
            "FROM pg_class WHERE oid = %s::regclass", [args.table, args.table]).fetchone()
        names = {"p": "plain", "m": "main", "e": "external", "x": "extended"}
        print(f"base: {args.table}, {len(data.base)} x {data.base.shape[1]}, ready in {load:.1f} s; "
              f"embedding storage {names.get(storage, storage)}, table {sizes[0]} (TOAST {sizes[1]})")

        with conn.transaction():
            conn.execute("DROP TABLE IF EXISTS queries")
            conn.execute(f"CREATE TABLE queries (qid int PRIMARY KEY, q vector({data.base.shape[1]}))")
            if args.query_storage:
                conn.execute(f"ALTER TABLE queries ALTER COLUMN q SET STORAGE {args.query_storage}")
            datasets.copy_vectors(conn, "queries", queries, id_column="qid", vector_column="q",
                                  fmt=args.copy_format)
        conn.execute("ANALYZE queries")

        if args.explain:
            plan = conn.execute(
                f"EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM {args.table} ORDER BY embedding <-> "
                f"(SELECT q FROM queries WHERE qid = 0) LIMIT {k}").fetchall()
            print("\n".join("  " + r[0] for r in plan))

        # Warm the caches (shared buffers, OS) with a few queries first.
        conn.execute(
            f"SELECT (SELECT array_agg(id) FROM (SELECT id FROM {args.table} "
            f"ORDER BY embedding <-> queries.q LIMIT {k}) s) FROM queries WHERE qid < 2").fetchall()
        sql, vtimes, results = run_vecdb(conn, nq, k, args.repeat, "embedding", args.table)

    gt_ids, gt_dist = ground_truth(data, nq, k)
    rec, strict = recall(results, gt_ids, gt_dist, data.base, queries, k)

    fbatch, fsingle, fids = run_faiss(data.base, queries, k, args.repeat)
    frec, _ = recall(fids.tolist(), gt_ids, gt_dist, data.base, queries, k)

    vq = nq / min(vtimes)
    bq = nq / min(fbatch)
    sq = nq / min(fsingle)
    print()
    print(f"{nq} queries, k={k}, one SQL statement, no index:")
    print(f"  {sql}")
    print()
    print(f"  vecdb exact scan        {vq:9.1f} QPS  (best of {args.repeat}: {min(vtimes):.2f} s; "
          f"median {statistics.median(vtimes):.2f} s)  recall@{k} {rec:.4f} (ids exactly as numpy: {strict:.4f})")
    print(f"  faiss IndexFlatL2 batch {bq:9.1f} QPS  (all {nq} queries in one search() call, 1 thread)  "
          f"recall@{k} {frec:.4f}")
    print(f"  faiss IndexFlatL2 1-by-1{sq:9.1f} QPS  (one search() call per query, 1 thread)")
    print()
    print(f"  vecdb / faiss batch  = {vq / bq:.2f}   (target >= 0.8)")
    print(f"  vecdb / faiss 1-by-1 = {vq / sq:.2f}")
    ok = rec >= 1.0
    if not ok:
        print(f"  FAIL: vecdb's recall@{k} is {rec:.4f}, not 1.0", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
