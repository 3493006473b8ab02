#!/usr/bin/python3
"""Compact hnsw indexes beside a plain one, in one run: halfvec and binary
quantization with re-ranking, as pgvector's users write them.

- halfvec: an expression index over v::halfvec(n) with halfvec_*_ops, whose
  elements keep halves;
- binary quantization: an index over binary_quantize(v)::bit(n) with
  bit_hamming_ops, whose nearest candidates are re-ranked by the exact
  distance.

Each is measured beside an hnsw index over the vectors themselves, on the
same rows and queries, against exact answers computed here with numpy:

    bench/compact.py --dsn "host=/tmp/x port=5499 dbname=postgres" \\
        --dataset synthetic:n=100000,d=100,normalize=1 --candidates 40,100,200

It needs a running server with vecdb installed (bench/run starts its own;
this script does not). Reported per plan: recall@k, queries a second from
one client, index size and build time. Ratios within one run are what to
compare: the machines are shared and noisy (../shared/targets.md).
"""
import argparse
import time

import numpy as np
import psycopg

import datasets

OPS = {"l2": ("<->", "vector_l2_ops"), "cosine": ("<=>", "vector_cosine_ops"),
       "ip": ("<#>", "vector_ip_ops")}


def text(v):
    return "[" + ",".join("%.7g" % x for x in v) + "]"


def exact_top(base, queries, metric, k):
    if metric == "cosine":
        b = base / np.linalg.norm(base, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        scores = -(q @ b.T)
    elif metric == "ip":
        scores = -(queries @ base.T)
    else:
        scores = (queries ** 2).sum(1)[:, None] - 2 * queries @ base.T + (base ** 2).sum(1)[None, :]
    return np.argsort(scores, axis=1, kind="stable")[:, :k]


def load(conn, base):
    dims = base.shape[1]
    conn.execute("DROP TABLE IF EXISTS bq_bench")
    conn.execute(f"CREATE TABLE bq_bench (id int, v vector({dims}))")
    with conn.cursor().copy("COPY bq_bench (id, v) FROM STDIN") as cp:
        for i, row in enumerate(base):
            cp.write_row((i, text(row)))
    conn.execute("VACUUM ANALYZE bq_bench")


def build(conn, sql):
    start = time.perf_counter()
    conn.execute(sql)
    return time.perf_counter() - start


def run(conn, sql, queries, truth, k, settings, uses=1):
    """recall@k and queries a second of sql, which names the query uses times."""
    for name, value in settings.items():
        conn.execute(f"SET {name} = '{value}'")
    params = [(text(q),) * uses for q in queries]
    for p in params[:20]:  # warm the cache
        conn.execute(sql, p).fetchall()
    hits = 0
    start = time.perf_counter()
    for i, p in enumerate(params):
        ids = [r[0] for r in conn.execute(sql, p).fetchall()]
        hits += len(set(ids) & set(truth[i].tolist()))
    elapsed = time.perf_counter() - start
    for name in settings:
        conn.execute(f"RESET {name}")
    return hits / (k * len(queries)), len(queries) / elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--dataset", default="synthetic:n=100000,d=100,normalize=1")
    ap.add_argument("--metric", choices=sorted(OPS), help="default: the dataset's")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--ef", type=int, default=40, help="the plain index's ef_search")
    ap.add_argument("--candidates", default="40,100,200",
                    help="candidates the bit index returns for re-ranking (its ef_search too)")
    args = ap.parse_args()

    data = datasets.from_spec(args.dataset)
    metric = args.metric or getattr(data, "metric", "l2")
    op, opclass = OPS[metric]
    base = np.asarray(data.base, dtype=np.float32)
    queries = np.asarray(data.queries[:args.queries], dtype=np.float32)
    truth = exact_top(base, queries, metric, args.k)
    dims = base.shape[1]

    conn = psycopg.connect(args.dsn, autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS vecdb")
    conn.execute("SET maintenance_work_mem = '2GB'")
    load(conn, base)
    rows = []
    half = f"v::halfvec({dims})"
    for name, key, query in (
            (f"hnsw {opclass}", f"v {opclass}", f"v {op} %s::vector"),
            (f"hnsw halfvec{opclass[6:]} on v::halfvec", f"({half}) halfvec{opclass[6:]}",
             f"{half} {op} %s::halfvec({dims})")):
        t = build(conn, f"CREATE INDEX bq_bench_i ON bq_bench USING hnsw ({key})")
        size = conn.execute("SELECT pg_relation_size('bq_bench_i')").fetchone()[0]
        recall, qps = run(conn, f"SELECT id FROM bq_bench ORDER BY {query} LIMIT {args.k}",
                          queries, truth, args.k, {"vecdb.hnsw_ef_search": args.ef})
        rows.append((f"{name}, ef_search {args.ef}", recall, qps, size, t))
        conn.execute("DROP INDEX bq_bench_i")

    bits = f"binary_quantize(v)::bit({dims})"
    t = build(conn, f"CREATE INDEX bq_bench_b ON bq_bench USING hnsw (({bits}) bit_hamming_ops)")
    size = conn.execute("SELECT pg_relation_size('bq_bench_b')").fetchone()[0]
    for c in [int(x) for x in args.candidates.split(",")]:
        sql = (f"SELECT id FROM (SELECT id, v FROM bq_bench ORDER BY {bits} <~> "
               f"binary_quantize(%s::vector)::bit({dims}) LIMIT {c}) candidates "
               f"ORDER BY v {op} %s::vector LIMIT {args.k}")
        recall, qps = run(conn, sql, queries, truth, args.k,
                          {"vecdb.hnsw_ef_search": min(max(c, 40), 1000)}, uses=2)
        rows.append((f"bit_hamming_ops, {c} candidates re-ranked", recall, qps, size, t))
    conn.execute("DROP TABLE bq_bench")

    print(f"{args.dataset}, {base.shape[0]} rows, {dims} dims, {metric}, "
          f"{len(queries)} queries, k {args.k}, one client\n")
    print("| plan | recall@%d | QPS | QPS / plain hnsw | index size | build |" % args.k)
    print("| --- | --- | --- | --- | --- | --- |")
    plain_qps = rows[0][2]
    for name, recall, qps, size, t in rows:
        print(f"| {name} | {recall:.3f} | {qps:,.0f} | {qps / plain_qps:.2f} | "
              f"{size / 2**20:.1f} MB | {t:.1f} s |")


if __name__ == "__main__":
    main()
