"""bench/references.py: the in-memory references of targets.md, on one thread.

    hnswlib        (python3-hnswlib)  HNSW, same m and ef_construction as
                                      vecdb's index, swept over ef
    faiss-flat     (python3-faiss)    IndexFlat: exact search, all queries in
                                      one search() call (BLAS), and one query
                                      a call ("faiss-flat-1by1")
    faiss-ivfpq    (python3-faiss)    IndexIVFPQ wrapped in IndexRefineFlat
                                      (exact re-ranking of k_factor * k
                                      candidates), swept over nprobe for
                                      each k_factor: its curve is the best
                                      of that grid at each recall

Each run_* function returns a curve: a dict with the reference's name, its
build seconds, its parameters and its points, each point one setting with
recall@k and QPS, where QPS is the number of queries over the best of up to
`repeat` timed searches of all of them (searches that take over 10 seconds
are not repeated). Threads: the caller sets
OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1 before numpy and faiss are
loaded (bench/run does); here faiss.omp_set_num_threads(1) and hnswlib's
num_threads=1 make sure.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Callable, Iterable, Optional

import numpy as np

HNSWLIB_SPACES = {"l2": "l2", "ip": "ip", "cosine": "cosine"}
DEFAULT_HNSWLIB_EF = (10, 20, 40, 80, 160, 320, 640)
DEFAULT_NPROBE = (1, 2, 4, 8, 16, 32, 64, 128, 256)
DEFAULT_K_FACTORS = (1, 2, 4, 8, 16)

# found ids (a list a query, for the first len(found) queries) -> {"recall": ..., "strict_recall": ...}
Score = Callable[[list], dict]


def _timed(fn, repeat: int, long_enough: float = 10.0):
    """Run fn() up to repeat times, but only once more while a run takes
    under long_enough seconds (a long run's best-of gains little);
    return (best seconds, all seconds, last result)."""
    times, out = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if times[-1] >= long_enough:
            break
    return min(times), times, out


def _point(label: str, param: dict, nq: int, best: float, times, scored: dict) -> dict:
    return dict(label=label, param=param, queries=nq, seconds=best, all_seconds=times,
                qps=nq / best if best > 0 else float("inf"), **scored)


def _faiss():
    import faiss

    faiss.omp_set_num_threads(1)
    return faiss


def _faiss_metric(faiss, metric: str):
    return {"l2": faiss.METRIC_L2, "ip": faiss.METRIC_INNER_PRODUCT, "cosine": faiss.METRIC_INNER_PRODUCT,
            "l1": faiss.METRIC_L1}[metric]


def _prepared(base: np.ndarray, queries: np.ndarray, metric: str):
    """faiss has no cosine metric: inner product on unit vectors ranks the same."""
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if metric == "cosine":
        def unit(a):
            n = np.linalg.norm(a, axis=1, keepdims=True)
            n[n == 0] = 1
            return np.ascontiguousarray(a / n, dtype=np.float32)
        base, queries = unit(base), unit(queries)
    return base, queries


def run_hnswlib(base, queries, k, metric, score: Score, m: int = 16, ef_construction: int = 64,
                efs: Iterable[int] = DEFAULT_HNSWLIB_EF, repeat: int = 1, log=print) -> Optional[dict]:
    if metric not in HNSWLIB_SPACES:
        log(f"hnswlib: no {metric} space, skipped")
        return None
    import hnswlib

    n, d = base.shape
    index = hnswlib.Index(space=HNSWLIB_SPACES[metric], dim=d)
    t0 = time.perf_counter()
    index.init_index(max_elements=n, M=m, ef_construction=ef_construction, random_seed=100)
    index.set_num_threads(1)
    index.add_items(base, np.arange(n), num_threads=1)
    build = time.perf_counter() - t0
    size = None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "index.bin")
        index.save_index(path)
        size = os.path.getsize(path)
    log(f"hnswlib: built m={m} ef_construction={ef_construction} in {build:.1f} s (1 thread), {size / 2**20:.1f} MiB")
    points = []
    for ef in sorted(set(int(e) for e in efs)):
        index.set_ef(max(ef, k))
        best, times, (labels, _) = _timed(lambda: index.knn_query(queries, k=k, num_threads=1), repeat)
        p = _point(f"ef={ef}", {"ef": ef}, len(queries), best, times, score(labels.tolist()))
        points.append(p)
        log(f"hnswlib: ef={ef:<5} recall@{k} {p['recall']:.4f}  {p['qps']:9.1f} QPS")
    return dict(name="hnswlib", build_seconds=build, index_bytes=size,
                params={"m": m, "ef_construction": ef_construction, "threads": 1, "space": HNSWLIB_SPACES[metric]},
                points=points)


def run_faiss_flat(base, queries, k, metric, score: Score, repeat: int = 1, single_queries: Optional[int] = 200,
                   log=print) -> list:
    """Two curves of one point each: batch (one search() call for all
    queries) and one-by-one (a call a query, on single_queries of them)."""
    faiss = _faiss()
    b, q = _prepared(base, queries, metric)
    t0 = time.perf_counter()
    index = faiss.IndexFlat(b.shape[1], _faiss_metric(faiss, metric))
    index.add(b)
    build = time.perf_counter() - t0
    best, times, (_, ids) = _timed(lambda: index.search(q, k), repeat)
    batch = _point("batch", {"mode": "batch"}, len(q), best, times, score(ids.tolist()))
    log(f"faiss-flat: batch of {len(q)}: recall@{k} {batch['recall']:.4f}  {batch['qps']:9.1f} QPS")
    ns = min(len(q), single_queries or 200)

    def one_by_one():
        return np.vstack([index.search(q[i : i + 1], k)[1] for i in range(ns)])

    best1, times1, ids1 = _timed(one_by_one, repeat)
    single = _point("1by1", {"mode": "one query a call"}, ns, best1, times1, score(ids1.tolist()))
    log(f"faiss-flat: one by one, {ns} queries: {single['qps']:9.1f} QPS")
    common = dict(build_seconds=build, index_bytes=int(b.nbytes), params={"threads": 1, "metric": metric})
    return [dict(name="faiss-flat", points=[batch], **common),
            dict(name="faiss-flat-1by1", points=[single], **common)]


def ivfpq_defaults(n: int, d: int) -> dict:
    """nlist about 4 sqrt(n), but at least 39 training points a list (faiss's
    own floor); M = d/4 sub-quantizers when d/4 divides d (else the largest
    divisor of d at most d/4): codes of d bytes, 1/16 of the float32 vectors;
    8 bits a code, fewer when there are too few points to train 256
    centroids."""
    nlist = max(1, min(int(round(4 * np.sqrt(n))), n // 39))
    m = max(x for x in range(1, max(1, d // 4) + 1) if d % x == 0)
    nbits = 8 if n >= 39 * 256 else max(4, int(np.log2(max(16, n // 39))))
    return {"nlist": nlist, "m": m, "nbits": nbits}


def run_faiss_ivfpq(base, queries, k, metric, score: Score, nlist=None, m=None, nbits=None,
                    k_factors: Iterable[float] = DEFAULT_K_FACTORS, nprobes: Iterable[int] = DEFAULT_NPROBE,
                    repeat: int = 1, name: str = "faiss-ivfpq", log=print) -> Optional[dict]:
    """Build once, then for each k_factor sweep nprobe upwards until recall
    stops growing (by less than 0.0005, or 1.0 is reached). Every point is
    kept; report.py reads the curve off their Pareto frontier, i.e. the best
    (nprobe, k_factor) at each recall. bench/run passes the nlist, m and
    nbits of vecdb's ivfpq index (vecdb_ivfpq_info) when the run has one."""
    if metric == "l1":
        log(f"{name}: no L1 metric, skipped")
        return None
    faiss = _faiss()
    b, q = _prepared(base, queries, metric)
    n, d = b.shape
    dflt = ivfpq_defaults(n, d)
    nlist = nlist or dflt["nlist"]
    m = m or dflt["m"]
    nbits = nbits or dflt["nbits"]
    k_factors = sorted(set(float(x) for x in k_factors))
    if d % m:
        raise ValueError(f"faiss-ivfpq: m={m} does not divide d={d}")
    fm = _faiss_metric(faiss, metric)
    t0 = time.perf_counter()
    quantizer = faiss.IndexFlat(d, fm)
    ivf = faiss.IndexIVFPQ(quantizer, d, nlist, m, nbits, fm)
    ivf.verbose = False
    ivf.train(b)
    refine = faiss.IndexRefineFlat(ivf)
    refine.add(b)
    build = time.perf_counter() - t0
    code_bytes = int(faiss.serialize_index(ivf).nbytes)
    log(f"{name}: nlist={nlist} m={m} nbits={nbits}, refine: trained and added in {build:.1f} s (1 thread); "
        f"IVF-PQ part {code_bytes / 2**20:.1f} MiB (+ {b.nbytes / 2**20:.1f} MiB refine vectors)")
    points = []
    for kf in k_factors:
        refine.k_factor = kf
        last = -1.0
        for nprobe in sorted(set(int(x) for x in nprobes)):
            if nprobe > nlist:
                break
            ivf.nprobe = nprobe
            best, times, (_, ids) = _timed(lambda: refine.search(q, k), repeat)
            kf_text = f"{kf:g}"
            p = _point(f"nprobe={nprobe} k_factor={kf_text}", {"nprobe": nprobe, "k_factor": kf}, len(q), best,
                       times, score(ids.tolist()))
            points.append(p)
            log(f"{name}: k_factor={kf_text:<3} nprobe={nprobe:<4} recall@{k} {p['recall']:.4f}  "
                f"{p['qps']:9.1f} QPS")
            if p["recall"] >= 1.0 or p["recall"] < last + 0.0005:
                break
            last = p["recall"]
    return dict(name=name, build_seconds=build, index_bytes=code_bytes,
                params={"nlist": nlist, "m": m, "nbits": nbits, "k_factor": "/".join(f"{x:g}" for x in k_factors),
                        "threads": 1, "refine": "IndexRefineFlat"},
                points=points)
