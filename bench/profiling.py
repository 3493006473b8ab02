"""bench/profiling.py: bench/run profile, where an HNSW search's time goes
(issue 12's "Measure first"; see bench/README.md, "Profile").

For each data set and each ef: vecdb's hnsw index and hnswlib (same m and
ef_construction, one thread) answer the same queries; for each it reports
recall@k, QPS, the CPU time a query, the elements visited a query (distances
computed: vecdb_backend_counters() for vecdb, a replay of the saved graph for
hnswlib, bench/hnswlib_replay.py) and their quotient, the cycles a visited
element. Cycles are CPU time x the clock that /proc/cpuinfo reports: this
machine kind has no hardware counters. Then the cycles of one distance at the
data's dimensions (vecdb's kernels from build/bench_kernels, hnswlib's own
through its BFIndex), and perf's breakdown of a vecdb search by symbol.

Not named profile.py: that would shadow Python's own profile module, which
cProfile imports, for every program run from bench/.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

import datasets
import hnswlib_replay
import report
import suite

log = suite.log

DEFAULT_INDEX = "CREATE INDEX ON items USING hnsw (v {opclass}) WITH (m = 16, ef_construction = 64)"
SMOKE_INDEX = "CREATE INDEX ON items USING hnsw (v {opclass}) WITH (m = 8, ef_construction = 32)"
SMOKE_DATASET = "synthetic:n=4000,d=32,centres=20,queries=100,seed=7"
# the kernel a graph search calls for each metric (src/core/metric.cpp's
# ranking_distance: cosine and inner product rank by the inner product of
# the stored unit vectors)
KERNEL = {"l2": "l2_squared", "cosine": "inner_product", "ip": "inner_product", "l1": "l1"}
CYCLES = "cycles (CPU time x clock)"


# ---------------------------------------------------------------------------
# The machine


def clock_mhz() -> float:
    """The CPU clock /proc/cpuinfo reports (the mean over CPUs). On a VM
    that is the host's nominal (TSC) rate; a core that boosts runs more
    cycles in the same CPU time, for vecdb and hnswlib alike."""
    mhz = []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    mhz.append(float(line.split(":", 1)[1]))
    except (OSError, ValueError):
        pass
    return sum(mhz) / len(mhz) if mhz else None


def process_cpu_ns(pid: int) -> int:
    """CPU time (user + system) of process pid so far, in ns: the
    scheduler's sum_exec_runtime (ns resolution) when the kernel has
    /proc/PID/sched, else utime + stime of /proc/PID/stat (clock ticks)."""
    try:
        with open(f"/proc/{pid}/sched") as f:
            for line in f:
                if line.startswith("se.sum_exec_runtime"):
                    return int(round(float(line.split(":", 1)[1]) * 1e6))
    except OSError:
        pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def cpu_source(pid: int) -> str:
    return "/proc/PID/sched sum_exec_runtime" if os.path.exists(f"/proc/{pid}/sched") else "/proc/PID/stat ticks"


# ---------------------------------------------------------------------------
# vecdb


def counters(conn):
    row = conn.execute("SELECT hnsw_scans, hnsw_visited FROM vecdb_backend_counters()").fetchone()
    return int(row[0]), int(row[1])


def has_counters(conn) -> bool:
    return conn.execute("SELECT to_regproc('vecdb_backend_counters') IS NOT NULL").fetchone()[0]


def vecdb_point(conn, v, nq: int, ef: int, index_names, repeat: int, warmup: int) -> dict:
    """One ef: the one-statement run repeat times; for each the wall time,
    the backend's CPU time and the counters' delta."""
    conn.execute("SELECT set_config('vecdb.hnsw_ef_search', %s, false)", [str(ef)])
    sql = suite.one_statement_sql(v.op, v.k)
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (COSTS OFF) " + sql).fetchall())
    uses_index = any(n in plan for n in index_names)
    forced = None
    if not uses_index:
        # The planner can price a sequential scan and a sort below the
        # index at a large ef (Fashion-MNIST at ef 160); this mode measures
        # the index, so it takes the sort away, and says so.
        conn.execute("SET enable_sort = off")
        forced = "enable_sort = off (the planner chose a sequential scan and a sort)"
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (COSTS OFF) " + sql).fetchall())
        uses_index = any(n in plan for n in index_names)
        log(f"vecdb ef={ef}: the plan does not use the index; with enable_sort = off it "
            + ("does" if uses_index else "still does not: not measured"))
        if not uses_index:
            conn.execute("RESET enable_sort")
            conn.execute("RESET vecdb.hnsw_ef_search")
            return None
    conn.execute(suite.one_statement_sql(v.op, v.k, f" WHERE qid < {max(1, min(warmup, nq))}")).fetchall()
    pid = conn.info.backend_pid
    counted = has_counters(conn)
    runs, found = [], None
    for _ in range(repeat):
        c0 = counters(conn) if counted else (None, None)
        cpu0 = process_cpu_ns(pid)
        t0 = time.perf_counter()
        rows = conn.execute(sql).fetchall()
        wall = time.perf_counter() - t0
        cpu1 = process_cpu_ns(pid)
        c1 = counters(conn) if counted else (None, None)
        runs.append({"seconds": wall, "cpu_ns": cpu1 - cpu0,
                     "scans": None if c0[0] is None else c1[0] - c0[0],
                     "visited": None if c0[1] is None else c1[1] - c0[1]})
        if found is None:
            got = dict(rows)
            found = [got.get(i) for i in range(nq)]
    conn.execute("RESET vecdb.hnsw_ef_search")
    conn.execute("RESET enable_sort")
    best = min(runs, key=lambda r: r["seconds"])
    cpu = min(r["cpu_ns"] for r in runs)
    visited = runs[0]["visited"]
    p = {"ef": ef, "queries": nq, "seconds": best["seconds"], "qps": nq / best["seconds"], "cpu_ns": cpu,
         "cpu_ns_per_query": cpu / nq, "visited_per_query": None if visited is None else visited / nq,
         "scans": runs[0]["scans"], "runs": runs, "uses_index": uses_index, "forced": forced, **v.score(found)}
    if any(r["visited"] != visited for r in runs):
        p["note"] = "the visited count differed between repeats"
    return p


def perf_breakdown(conn, v, nq: int, ef: int, seconds: float, top: int, outdir: str) -> dict:
    """perf record -e cpu-clock -g of the backend while it runs the
    one-statement batch at ef over and over for about `seconds`; then perf
    report's self time by symbol and by DSO (shared object)."""
    perf = shutil.which("perf")
    if not perf:
        return {"skipped": "perf is not installed (linux-perf)"}
    pid = conn.info.backend_pid
    data = os.path.join(outdir, f"perf-{v.data.name}-ef{ef}.data")
    conn.execute("SELECT set_config('vecdb.hnsw_ef_search', %s, false)", [str(ef)])
    sql = suite.one_statement_sql(v.op, v.k)
    conn.execute(sql).fetchall()
    proc = subprocess.Popen([perf, "record", "-e", "cpu-clock", "-F", "2000", "-g", "-p", str(pid), "-o", data],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # attached
    t0, batches = time.perf_counter(), 0
    try:
        while proc.poll() is None and (time.perf_counter() - t0 < seconds or batches == 0):
            conn.execute(sql).fetchall()
            batches += 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        conn.execute("RESET vecdb.hnsw_ef_search")
    if proc.returncode not in (0, -signal.SIGINT) or not os.path.exists(data):
        return {"skipped": f"perf record failed (exit {proc.returncode}): {err.strip()[-300:]}"}
    out = {"ef": ef, "batches": batches, "queries": batches * nq, "seconds": time.perf_counter() - t0,
           "event": "cpu-clock", "frequency": 2000, "file": os.path.basename(data)}
    out.update(perf_report(perf, data, top))
    if not out["symbols"]:
        out["skipped"] = "perf report found no samples"
    return out


def perf_report(perf: str, data: str, top: int) -> dict:
    """perf report's self time of a perf.data file, by symbol (the top
    ones), by DSO, and by PERF_GROUPS (over every symbol)."""
    out = {}
    for key, sort in (("symbols", "symbol"), ("dsos", "dso")):
        rep = subprocess.run([perf, "report", "-i", data, "--no-children", "--sort", sort, "--stdio", "-g", "none",
                              "--percent-limit", "0"], capture_output=True, text=True)
        rows = []
        for line in rep.stdout.splitlines():
            # "  12.34%  [.] symbol   -   -" (the dashes: perf's empty callchain columns)
            m = re.match(r"\s*([\d.]+)%\s+(?:\[\.\]\s+)?(.*?)(?:\s+-\s+-)?\s*$", line)
            if m:
                rows.append({"percent": float(m.group(1)), "name": m.group(2)})
        samples = re.search(r"# Samples: (\S+)", rep.stdout)
        out["samples"] = samples.group(1) if samples else None
        out[key] = rows[: top if key == "symbols" else 10]
        if key == "symbols":
            out["groups"] = perf_groups(rows)
    return out


# perf's symbols by what they do, first match wins (names as perf shows
# them: postgres's exported functions, vecdb's demangled C++; "[k]" is the
# kernel's). A rough map for reading the breakdown, not a measurement.
PERF_GROUPS = [
    ("distance kernel", r"^vecdb::core::simd::|distance_(sse2|avx2|avx512|scalar)|negative_inner_product"),
    ("vecdb graph search and page access", r"^vecdb::"),
    ("buffer manager (pin, lock, lookup)", r"^(ReadBuffer|ReadRecentBuffer|ReleaseBuffer|LockBuffer|LockBufHdr|"
                                           r"UnlockBufHdr|PinBuffer|UnpinBuffer|BufTableLookup|BufTableHashCode|"
                                           r"hash_search_with_hash_value|get_hash_value|hash_bytes|LWLock|ResourceOwner|"
                                           r"IncrBufferRefCount|BufferGetBlockNumber|ReadBufferExtended|"
                                           r"ReadBuffer_common|StrategyGetBuffer|GetPrivateRefCount)"),
    ("heap, TOAST and btree (result rows)", r"^(heap_|heapam_|toast_|detoast|pg_detoast|_bt_|bt|index_fetch|"
                                            r"index_getnext|table_index_fetch|HeapTuple|ExecStoreBuffer|"
                                            r"heap_hot_search)"),
    ("kernel", r"^\[k\]"),
]


def perf_groups(rows) -> list:
    shares = {name: 0.0 for name, _ in PERF_GROUPS}
    shares["other (executor, memory, libc, unnamed)"] = 0.0
    for r in rows:
        for name, pattern in PERF_GROUPS:
            if re.search(pattern, r["name"]):
                shares[name] += r["percent"]
                break
        else:
            shares["other (executor, memory, libc, unnamed)"] += r["percent"]
    return [{"name": k, "percent": v} for k, v in shares.items()]


# ---------------------------------------------------------------------------
# hnswlib


def hnswlib_run(data, nq: int, k: int, m: int, efc: int, efs, repeat: int, replay_queries: int, score,
                tmpdir: str) -> dict:
    """hnswlib built as bench/references.py builds it; at each ef the batch
    of nq queries, one thread, timed by this thread's CPU clock (knn_query
    with num_threads=1 runs in the calling thread), best of repeat; then
    the replay of the saved graph on replay_queries of them: distances a
    query, and whether its answers are knn_query's."""
    import hnswlib

    space = {"l2": "l2", "ip": "ip", "cosine": "cosine"}.get(data.metric)
    if space is None:
        return {"skipped": f"hnswlib has no {data.metric} space"}
    n, d = data.base.shape
    index = hnswlib.Index(space=space, dim=d)
    t0 = time.perf_counter()
    index.init_index(max_elements=n, M=m, ef_construction=efc, random_seed=100)
    index.set_num_threads(1)
    index.add_items(data.base, np.arange(n), num_threads=1)
    build = time.perf_counter() - t0
    path = os.path.join(tmpdir, "hnswlib.bin")
    index.save_index(path)
    saved = hnswlib_replay.read_index(path, d)
    replay = hnswlib_replay.Replay(saved, space)
    log(f"hnswlib: built m={m} ef_construction={efc} in {build:.1f} s (1 thread); saved graph read back "
        f"({saved.count} elements, {saved.maxlevel + 1} levels)")
    queries = np.ascontiguousarray(data.queries[:nq], dtype=np.float32)
    rq = min(replay_queries, nq)
    points = []
    for ef in efs:
        index.set_ef(max(ef, k))
        runs, labels = [], None
        for _ in range(repeat):
            c0, t0 = time.thread_time_ns(), time.perf_counter()
            labels, _ = index.knn_query(queries, k=k, num_threads=1)
            runs.append({"seconds": time.perf_counter() - t0, "cpu_ns": time.thread_time_ns() - c0})
        best = min(runs, key=lambda r: r["seconds"])
        cpu = min(r["cpu_ns"] for r in runs)
        t0 = time.perf_counter()
        computed, agree, first_bad = 0, 0, None
        for i in range(rq):
            ids, c = replay.search(queries[i], k, ef)
            computed += c
            if ids == labels[i].tolist():
                agree += 1
            elif first_bad is None:
                first_bad = {"query": i, "replay": ids, "knn_query": labels[i].tolist()}
        p = {"ef": ef, "queries": nq, "seconds": best["seconds"], "qps": nq / best["seconds"], "cpu_ns": cpu,
             "cpu_ns_per_query": cpu / nq, "visited_per_query": computed / rq if rq else None, "runs": runs,
             "replay": {"queries": rq, "agree": agree, "seconds": time.perf_counter() - t0, "first_mismatch": first_bad},
             **score(labels.tolist())}
        points.append(p)
    return {"build_seconds": build, "params": {"m": m, "ef_construction": efc, "space": space, "threads": 1,
                                               "random_seed": 100},
            "version": _hnswlib_version(), "levels": saved.maxlevel + 1, "points": points}


def _hnswlib_version():
    return suite._run(["dpkg-query", "-W", "-f=${Version}", "python3-hnswlib"]) or None


def hnswlib_distance_ns(d: int, metric: str, repeat: int = 5) -> dict:
    """CPU ns of one hnswlib distance at d dims: hnswlib's BFIndex computes
    the query's distance to every element it holds, so the difference of
    two sizes of it (both a few hundred KiB at most: in L2) over their
    difference is the cost of one distance with the per-query overhead
    taken out; one thread, best of repeat."""
    import hnswlib

    space = {"l2": "l2", "ip": "ip", "cosine": "cosine"}.get(metric)
    if space is None:
        return None
    hi = int(max(16, min(256, (256 << 10) // (4 * d))))
    lo = max(4, hi // 4)
    rng = np.random.default_rng(3)
    nq = max(1000, min(100_000, 800_000_000 // (hi * d)))  # about 0.2 s of distances a run
    queries = rng.standard_normal((nq, d)).astype(np.float32)
    per_query = {}
    for size in (lo, hi):
        bf = hnswlib.BFIndex(space=space, dim=d)
        bf.init_index(max_elements=size)
        bf.add_items(rng.standard_normal((size, d)).astype(np.float32), np.arange(size))
        best = None
        for _ in range(repeat):
            c0 = time.thread_time_ns()
            bf.knn_query(queries, k=1)
            t = time.thread_time_ns() - c0
            best = t if best is None else min(best, t)
        per_query[size] = best / nq
    return {"ns": (per_query[hi] - per_query[lo]) / (hi - lo), "sizes": [lo, hi], "queries": nq,
            "how": "hnswlib.BFIndex knn_query, (CPU per query at the larger size - at the smaller) / (difference)"}


# ---------------------------------------------------------------------------
# vecdb's kernels


def vecdb_distance_ns(d: int, metric: str, build: bool, min_time: float) -> dict:
    """CPU ns of one call of vecdb's kernel for the metric at d dims, data
    in L1 (bench/kernels.cpp's "hot" case): the entry point vecdb uses
    ("best": kernels(), the CPU's best table) and the SSE2 table (the ISA
    of Debian's hnswlib build). Builds build/bench_kernels if missing and
    build is set."""
    exe = os.path.join(suite.ROOT, "build", "bench_kernels")
    if build:
        pg_config = os.path.join(os.environ["PG_BIN"], "pg_config") if os.environ.get("PG_BIN") else "pg_config"
        r = subprocess.run(["make", "-C", suite.ROOT, "-s", "build/bench_kernels", f"PG_CONFIG={pg_config}"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return {"skipped": f"make build/bench_kernels failed: {(r.stderr or r.stdout).strip()[-300:]}"}
    if not os.path.exists(exe):
        return {"skipped": "build/bench_kernels not built (make bench-kernels)"}
    kernel = KERNEL.get(metric, "l2_squared")
    env = dict(os.environ, VECDB_BENCH_DIMS=str(d))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kernels.json")
        r = subprocess.run([exe, f"--benchmark_filter=^{kernel}/(sse2|avx2|avx512|best)/{d}/hot$",
                            f"--benchmark_min_time={min_time}", "--benchmark_repetitions=3",
                            "--benchmark_report_aggregates_only=true", f"--benchmark_out={path}",
                            "--benchmark_out_format=json"], capture_output=True, text=True, env=env)
        if r.returncode != 0 or not os.path.exists(path):
            return {"skipped": f"bench_kernels failed: {r.stderr.strip()[-300:]}"}
        with open(path) as f:
            body = f.read()
    isa = re.search(r"kernels\(\): (\w+)", r.stdout)
    out = {"kernel": kernel, "isa": isa.group(1) if isa else None, "ns": {},
           "how": "build/bench_kernels, hot data (4 vectors in L1), median CPU time of 3"}
    for b in json.loads(body).get("benchmarks", []):
        if b.get("aggregate_name") == "median":
            variant = b["run_name"].split("/")[1]
            scale = {"ns": 1, "us": 1e3, "ms": 1e6}.get(b.get("time_unit", "ns"), 1)
            out["ns"][variant] = b["cpu_time"] * scale
    return out


# ---------------------------------------------------------------------------
# One data set


def fit(points, who: str):
    """cycles a query = fixed + marginal x visited a query, least squares
    over the efs: the cost of one more visited element, and of a query
    that visits none (executor, result rows, heaps)."""
    xs = [p[who]["visited_per_query"] for p in points if p.get(who) and p[who].get("visited_per_query")]
    ys = [p[who]["cycles_per_query"] for p in points if p.get(who) and p[who].get("visited_per_query")]
    if len(xs) < 3 or max(xs) - min(xs) <= 0:
        return None
    slope, intercept = np.polyfit(xs, ys, 1)
    return {"cycles_per_visited": float(slope), "cycles_per_query_fixed": float(intercept)}


def profile_dataset(args, spec: str, conn, mhz: float, outdir: str) -> dict:
    t_start = time.perf_counter()
    data = datasets.from_spec(spec)
    n, d = data.base.shape
    nq = min(args.queries, len(data.queries))
    load0 = os.getloadavg()
    log(f"=== profile {data.name}: {n} x {d}, {data.metric}, {nq} queries, k={args.k}, ef {args.ef} "
        f"(load average {load0[0]:.2f}) ===")
    gt_ids, gt_dist = datasets.ground_truth(data, nq, args.k, suite.CACHE, log=log)
    ns = argparse.Namespace(settings=[], k=args.k, storage=args.storage, queries=nq)
    v = suite.Vecdb(ns, data, gt_ids, gt_dist)
    ds = {"name": data.name, "spec": spec, "n": n, "d": d, "metric": data.metric, "k": args.k, "queries": nq,
          "sql": suite.one_statement_sql(v.op, args.k), "clock_mhz": mhz}

    def score(found):
        return datasets.recall_at_k(data.base, data.queries[: len(found)], found, gt_ids[: len(found)],
                                    gt_dist[: len(found)], args.k, data.metric)

    # vecdb
    ds["load"] = v.load(conn)
    b = v.build_index(conn, args.index)
    if b["am"] != "hnsw":
        raise SystemExit(f"bench/run profile measures hnsw indexes; this SQL made a {b['am']} index")
    suite.load_queries(conn, data.queries[:nq], args.storage)
    suite.prewarm(conn, ["items"] + b["names"])
    ds["index"] = {k: b[k] for k in ("sql", "names", "options", "build_seconds", "index_bytes")}
    if not has_counters(conn):
        log("WARNING: the installed vecdb has no vecdb_backend_counters(): no visited counts for vecdb")
    ds["cpu_source"] = cpu_source(conn.info.backend_pid)
    vpoints = []
    for ef in args.ef:
        p = vecdb_point(conn, v, nq, ef, b["names"], args.repeat, args.warmup)
        if p is None:
            continue
        vpoints.append(p)
        log(f"vecdb ef={ef:<4} recall@{args.k} {p['recall']:.4f} {p['qps']:9.1f} QPS, CPU "
            f"{p['cpu_ns_per_query'] / 1e3:.1f} us/query, visited {_f(p['visited_per_query'])}/query"
            + ("" if p["uses_index"] else "  WARNING: the plan does not use the index"))
    perf = {"skipped": "--no-perf"}
    if not args.no_perf:
        pef = args.perf_ef or (40 if 40 in args.ef else args.ef[len(args.ef) // 2])
        perf = perf_breakdown(conn, v, nq, pef, args.perf_seconds, args.perf_top, outdir)
        if perf.get("skipped"):
            log(f"perf: {perf['skipped']}")
        else:
            log(f"perf at ef={pef}: {perf['samples']} samples over {perf['batches']} batches; top: "
                + ", ".join(f"{s['name']} {s['percent']:.1f}%" for s in perf["symbols"][:5]))
    ds["perf"] = perf
    for name in b["names"]:
        conn.execute(f"DROP INDEX {name}")

    # hnswlib
    m, efc = int(b["options"].get("m", 16)), int(b["options"].get("ef_construction", 64))
    m, efc = args.m or m, args.ef_construction or efc
    with tempfile.TemporaryDirectory() as tmp:
        href = hnswlib_run(data, nq, args.k, m, efc, args.ef, args.repeat,
                           nq if args.replay_queries is None else args.replay_queries, score, tmp)
    ds["hnswlib"] = {k: val for k, val in href.items() if k != "points"}
    hpoints = {p["ef"]: p for p in href.get("points", [])}
    for p in hpoints.values():
        r = p["replay"]
        log(f"hnswlib ef={p['ef']:<4} recall@{args.k} {p['recall']:.4f} {p['qps']:9.1f} QPS, CPU "
            f"{p['cpu_ns_per_query'] / 1e3:.1f} us/query, visited {_f(p['visited_per_query'])}/query; replay "
            f"{r['agree']}/{r['queries']} answers identical to knn_query ({r['seconds']:.1f} s)")

    # per distance
    ds["distance"] = {"vecdb": vecdb_distance_ns(d, data.metric, not args.no_build, args.kernel_min_time),
                      "hnswlib": hnswlib_distance_ns(d, data.metric, 2 if args.smoke else 5)}

    ds["points"] = [{"ef": vp["ef"], "vecdb": vp, "hnswlib": hpoints.get(vp["ef"])} for vp in vpoints]
    derive(ds)
    ds["replay_agree"] = all(p["replay"]["agree"] == p["replay"]["queries"] for p in hpoints.values())
    ds["load_average"] = {"start": load0, "end": os.getloadavg()}
    ds["seconds"] = time.perf_counter() - t_start
    return ds


def derive(ds) -> None:
    """The figures computed from the measured ones (cycles, ratios, the
    fit), in place: again by bench/run profile report."""
    mhz = ds.get("clock_mhz")
    for row in ds["points"]:
        vp, hp = row["vecdb"], row.get("hnswlib")
        for p in (vp, hp):
            if not p:
                continue
            p["cycles_per_query"] = p["cpu_ns_per_query"] * mhz / 1e3 if mhz else None
            p["cycles_per_visited"] = (p["cycles_per_query"] / p["visited_per_query"]
                                       if p["cycles_per_query"] and p["visited_per_query"] else None)
        if hp:
            row["qps_ratio"] = vp["qps"] / hp["qps"]
            # the same from CPU time: less moved by other load than the wall clock
            row["cpu_ratio"] = hp["cpu_ns_per_query"] / vp["cpu_ns_per_query"]
            row["visited_ratio"] = (vp["visited_per_query"] / hp["visited_per_query"]
                                    if vp["visited_per_query"] and hp["visited_per_query"] else None)
            row["cycles_per_visited_ratio"] = (vp["cycles_per_visited"] / hp["cycles_per_visited"]
                                               if vp.get("cycles_per_visited") and hp.get("cycles_per_visited")
                                               else None)
    ds["fit"] = {who: fit(ds["points"], who) for who in ("vecdb", "hnswlib")}
    dist = ds.get("distance") or {}
    if mhz and dist:
        vk = (dist.get("vecdb") or {}).get("ns", {})
        dist["cycles"] = {f"vecdb {k}": ns_ * mhz / 1e3 for k, ns_ in vk.items()}
        if dist.get("hnswlib"):
            dist["cycles"]["hnswlib"] = dist["hnswlib"]["ns"] * mhz / 1e3


def rereport(outdir: str) -> int:
    """bench/run profile report DIR: derive again and rewrite results.md
    (perf's tables again from the perf data file, where it is kept)."""
    res = report.load(outdir)
    perf = shutil.which("perf")
    for ds in res["datasets"]:
        derive(ds)
        pf = ds.get("perf") or {}
        path = os.path.join(outdir, pf.get("file") or "-")
        if perf and pf.get("symbols") and os.path.exists(path):
            pf.update(perf_report(perf, path, len(pf["symbols"])))
    report.write_json(res, os.path.join(outdir, "result.json"))
    md = markdown(res)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


def _f(x, fmt="{:.0f}"):
    return "–" if x is None else fmt.format(x)


# ---------------------------------------------------------------------------
# The report


def dataset_markdown(ds) -> str:
    idx, h = ds["index"], ds.get("hnswlib") or {}
    hp = h.get("params") or {}
    lines = [f"## {ds['name']}: {ds['n']} x {ds['d']}, {ds['metric']}, {ds['queries']} queries, k = {ds['k']}", "",
             f"- vecdb: `{idx['sql']}`, built in {idx['build_seconds']:.1f} s, {idx['index_bytes'] / 2**20:.1f} MiB; "
             f"{ds['queries']} queries in one statement, best of the runs; CPU time of the backend "
             f"({ds.get('cpu_source', '?')})",
             f"- hnswlib {h.get('version') or '?'}: m = {hp.get('m')}, ef_construction = {hp.get('ef_construction')}, "
             f"built in {_f(h.get('build_seconds'), '{:.1f}')} s (1 thread); knn_query with num_threads = 1, "
             "CPU time of the calling thread",
             f"- {CYCLES}: the clock is {_f(ds.get('clock_mhz'), '{:.0f}')} MHz (/proc/cpuinfo); visited = distances "
             "computed (vecdb: vecdb_backend_counters().hnsw_visited; hnswlib: the replay of its saved graph)",
             f"- load average {ds['load_average']['start'][0]:.2f} -> {ds['load_average']['end'][0]:.2f}; "
             f"{ds['seconds']:.0f} s", ""]
    rows = []
    for p in ds["points"]:
        v, r = p["vecdb"], p.get("hnswlib") or {}
        rows.append([f"{p['ef']}" + (" *" if v.get("forced") else ""), _f(v["recall"], "{:.3f}"), _f(r.get("recall"), "{:.3f}"), _f(v["qps"]),
                     _f(r.get("qps")), _f(p.get("qps_ratio"), "{:.2f}"), _f(p.get("cpu_ratio"), "{:.2f}"),
                     _f(v["visited_per_query"]),
                     _f(r.get("visited_per_query")), _f(v["cpu_ns_per_query"] / 1e3, "{:.1f}"),
                     _f(r["cpu_ns_per_query"] / 1e3 if r else None, "{:.1f}"), _f(v.get("cycles_per_visited")),
                     _f(r.get("cycles_per_visited")), _f(p.get("cycles_per_visited_ratio"), "{:.2f}")])
    lines.append(report._table(
        ["ef", "recall vecdb", "recall hnswlib", "QPS vecdb", "QPS hnswlib", "QPS ratio", "CPU ratio",
         "visited/q vecdb",
         "visited/q hnswlib", "CPU us/q vecdb", "CPU us/q hnswlib", "cycles/visited vecdb",
         "cycles/visited hnswlib", "ratio"], rows))
    lines.append("")
    forced = [p["ef"] for p in ds["points"] if p["vecdb"].get("forced")]
    if forced:
        lines += [f"\\* ef {', '.join(map(str, forced))}: the planner chose a sequential scan and a sort over the "
                  "index; measured with `enable_sort = off`.", ""]
    fits = ds.get("fit") or {}
    parts = [f"{who}: {_f(f['cycles_per_visited'])} cycles per visited element + {_f(f['cycles_per_query_fixed'])} "
             "a query" for who, f in fits.items() if f]
    if parts:
        lines += ["Fitted over the efs (cycles a query = fixed + marginal x visited): " + "; ".join(parts) + ".", ""]
    dist = ds.get("distance") or {}
    cyc = dist.get("cycles") or {}
    vk = dist.get("vecdb") or {}
    if cyc:
        kernel = vk.get("kernel", "?")
        items = [f"{k} {c:.0f}" for k, c in cyc.items()]
        lines.append(f"One distance ({kernel}, d = {ds['d']}, both vectors in cache), {CYCLES}: " + ", ".join(items)
                     + f" (vecdb: {vk.get('how', vk.get('skipped', '?'))}, kernels() = {vk.get('isa')}; hnswlib: "
                     f"{(dist.get('hnswlib') or {}).get('how', '?')}; Debian's hnswlib is an SSE build).")
        best = cyc.get("vecdb best")
        rows = []
        for p in ds["points"]:
            vv, hh = p["vecdb"].get("cycles_per_visited"), (p.get("hnswlib") or {}).get("cycles_per_visited")
            hd = cyc.get("hnswlib")
            rows.append([p["ef"], _f(vv - best if vv and best else None), _f(hh - hd if hh and hd else None),
                         _f(100 * best / vv if vv and best else None, "{:.0f} %"),
                         _f(100 * hd / hh if hh and hd else None, "{:.0f} %")])
        lines += ["", "Cycles a visited element beyond one distance in cache (cycles/visited - the line above), and "
                  "that distance's share of a visited element (in a search the vector usually comes from memory: "
                  "perf's kernel share below says what it costs there):", "",
                  report._table(["ef", "vecdb beyond", "hnswlib beyond", "vecdb distance share",
                                 "hnswlib distance share"], rows)]
    elif vk.get("skipped"):
        lines.append(f"One distance: vecdb's kernel not timed ({vk['skipped']}).")
    lines.append("")
    agree = [(p["ef"], p["hnswlib"]["replay"]) for p in ds["points"] if p.get("hnswlib")]
    if agree:
        bad = [f"ef {ef}: {r['agree']}/{r['queries']}" for ef, r in agree if r["agree"] != r["queries"]]
        lines.append(f"Replay of hnswlib's search: {agree[0][1]['queries']} queries at each ef, answers identical "
                     "to knn_query's: " + ("all" if not bad else "**NOT all**: " + ", ".join(bad)) + ".")
        lines.append("")
    perf = ds.get("perf") or {}
    if perf.get("skipped"):
        lines.append(f"perf: {perf['skipped']}.")
    else:
        lines += [f"### perf: a vecdb search at ef = {perf['ef']}", "",
                  f"`perf record -e cpu-clock -F {perf['frequency']} -g -p BACKEND` over {perf['batches']} batches "
                  f"of {ds['queries']} queries ({perf['seconds']:.1f} s, {perf['samples']} samples); "
                  "`perf report --no-children --sort symbol` (self time; postgres's own binary is stripped: "
                  "its exported functions have names, its static ones show as addresses):", "",
                  report._table(["share", "symbol"], [[f"{s['percent']:.1f} %", f"`{s['name']}`"]
                                                      for s in perf["symbols"]]), "",
                  "By shared object: " + ", ".join(f"{s['name']} {s['percent']:.1f} %" for s in perf["dsos"]) + "."]
        groups = perf.get("groups") or []
        at = next((p["vecdb"] for p in ds["points"] if p["ef"] == perf["ef"]), None)
        cpv = (at or {}).get("cycles_per_visited")
        if groups:
            lines += ["", "By what the symbols do (bench/profiling.py's PERF_GROUPS: a rough map), and as cycles a "
                      f"visited element at ef = {perf['ef']}" + (f" ({cpv:.0f} in all)" if cpv else "") + ":", "",
                      report._table(["group", "share", "cycles/visited"],
                                    [[g["name"], f"{g['percent']:.1f} %",
                                      _f(cpv * g["percent"] / 100 if cpv else None)] for g in groups])]
    lines.append("")
    return "\n".join(lines)


def markdown(result) -> str:
    m = result.get("machine", {})
    srv = result.get("server") or {}
    lines = [f"# vecdb profile: {result['label']}", "",
             f"- command: `{result['command']}` ({result.get('seconds', 0):.0f} s)",
             f"- when: {result['created']}; git {((result.get('git') or {}).get('commit') or '?')[:12]}"
             + (" (with uncommitted changes)" if (result.get("git") or {}).get("dirty") else ""),
             f"- machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory', '?')}; "
             f"ISA {' '.join(m.get('isa', []))}; clock {_f(result.get('clock_mhz'), '{:.0f}')} MHz"]
    if srv:
        lines.append(f"- server: {srv['version'].split(',')[0]}, vecdb {srv['vecdb']}; "
                     + ", ".join(f"{k} = {val}" for k, val in sorted(srv["settings"].items())))
    lines.append("")
    for ds in result["datasets"]:
        lines.append(dataset_markdown(ds))
    return "\n".join(lines)


def check(outdir: str, ok) -> None:
    """The profile checks for bench/run check (ok(cond, what, detail))."""
    try:
        res = report.load(outdir)
    except (OSError, ValueError) as e:
        ok(False, "profile: result.json written and readable", str(e))
        return
    dss = res.get("datasets") or []
    ok(dss and all(ds.get("points") for ds in dss), "profile: result.json written, with its points")
    for ds in dss:
        pts = ds.get("points") or []
        ok(pts and all(p["vecdb"].get("visited_per_query") and p["vecdb"]["uses_index"] for p in pts),
           f"profile {ds['name']}: vecdb's searches use the index and count visited elements")
        ok(pts and all(p["vecdb"]["visited_per_query"] >= ds["k"] for p in pts)
           and all(a["vecdb"]["visited_per_query"] <= b["vecdb"]["visited_per_query"] for a, b in zip(pts, pts[1:])),
           f"profile {ds['name']}: vecdb visits at least k elements a query, and more at a larger ef")
        hp = [p.get("hnswlib") for p in pts]
        ok(all(hp) and all(h["visited_per_query"] and h["replay"]["queries"] > 0 for h in hp),
           f"profile {ds['name']}: hnswlib's search replayed at every ef")
        bad = [f"ef {h['ef']}: {h['replay']['agree']}/{h['replay']['queries']}" for h in hp if h
               and h["replay"]["agree"] != h["replay"]["queries"]]
        ok(all(hp) and not bad, f"profile {ds['name']}: the replay's answers are knn_query's, every query",
           "; ".join(bad))
        ok(all(p["vecdb"].get("cycles_per_visited") and (p.get("hnswlib") or {}).get("cycles_per_visited")
               for p in pts), f"profile {ds['name']}: cycles per visited element for both")
        perf = ds.get("perf") or {}
        ok(perf.get("symbols") or perf.get("skipped"), f"profile {ds['name']}: a perf breakdown, or why not",
           json.dumps(perf)[:200])
        dist = ds.get("distance") or {}
        ok((dist.get("hnswlib") or {}).get("ns", 0) > 0 and (dist.get("vecdb") or {}).get("ns", {}).get("best", 0) > 0
           or (dist.get("vecdb") or {}).get("skipped"), f"profile {ds['name']}: one distance's cost timed")
    try:
        with open(os.path.join(outdir, "results.md")) as f:
            md = f.read()
        ok("| ef | recall vecdb |" in md and "cycles/visited vecdb" in md, "profile: results.md written, with its table")
    except OSError as e:
        ok(False, "profile: results.md written", str(e))


# ---------------------------------------------------------------------------
# The command


def parser():
    ap = argparse.ArgumentParser(
        prog="bench/run profile",
        description="Where an HNSW search's time goes: vecdb beside hnswlib on the same data, per ef: recall, QPS, "
                    "visited elements a query, CPU time and cycles (CPU time x clock) a query and a visited element, "
                    "one distance's cycles, and perf's breakdown of a vecdb search (bench/README.md, \"Profile\").")
    ap.add_argument("--dataset", action="append", default=[], metavar="SPEC",
                    help="a data set as bench/run takes it (repeatable; default fashion-mnist)")
    ap.add_argument("--index", default=DEFAULT_INDEX, metavar="SQL",
                    help="the hnsw index ({opclass}: the data set's; default: m = 16, ef_construction = 64); hnswlib "
                         "gets its m and ef_construction")
    ap.add_argument("--ef", type=suite.int_list, default=[10, 20, 40, 80, 160],
                    help="vecdb.hnsw_ef_search values, and hnswlib's ef (default 10,20,40,80,160)")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--queries", type=int, default=1000, help="queries a batch (one statement; one knn_query)")
    ap.add_argument("--repeat", type=int, default=5,
                    help="timed batches at each ef; the best wall time and the least CPU time count (default 5)")
    ap.add_argument("--warmup", type=int, default=50, help="queries of vecdb's warm-up statement before each ef")
    ap.add_argument("--replay-queries", type=int,
                    help="queries of hnswlib's search to replay at each ef for its visited count (default: all)")
    ap.add_argument("--perf-ef", type=int, help="the ef of perf's breakdown (default 40 if swept, else the middle)")
    ap.add_argument("--perf-seconds", type=float, default=10, help="how long perf records (default 10)")
    ap.add_argument("--perf-top", type=int, default=15, help="symbols in the breakdown (default 15)")
    ap.add_argument("--no-perf", action="store_true", help="no perf breakdown")
    ap.add_argument("--no-build", action="store_true", help="do not make build/bench_kernels if it is missing")
    ap.add_argument("--kernel-min-time", type=float, default=0.5,
                    help="Google Benchmark's --benchmark_min_time for the kernel timing (seconds)")
    ap.add_argument("--m", type=int, help="hnswlib's m (default: the index's)")
    ap.add_argument("--ef-construction", type=int, help="hnswlib's ef_construction (default: the index's)")
    ap.add_argument("--storage", choices=["plain", "main", "external", "extended"],
                    help="storage mode of the vector columns (default: the vector type's own)")
    ap.add_argument("--server", action="store_true",
                    help="use the server the PG* environment variables name (schema vecdb_bench, dropped at the end)")
    ap.add_argument("--conf", action="append", default=[], type=suite.parse_set, metavar="NAME=VALUE",
                    help="another postgresql.conf setting for the throwaway cluster (repeatable)")
    ap.add_argument("--keep-cluster", action="store_true", help="keep the throwaway cluster's files")
    ap.add_argument("--out", help="results folder (default bench/results/DATE-profile-LABEL)")
    ap.add_argument("--label", help="a name for this run")
    ap.add_argument("--smoke", action="store_true",
                    help=f"a small run that checks the harness (the replay above all): {SMOKE_DATASET}, m = 8, "
                         "ef 10,40, 100 queries, 2 s of perf")
    return ap


def main(argv) -> int:
    if argv and argv[0] == "report":
        if len(argv) != 2:
            print("usage: bench/run profile report RESULTS_DIR", file=sys.stderr)
            return 2
        return rereport(argv[1])
    ap = parser()
    if "--smoke" in argv:
        ap.set_defaults(dataset=[SMOKE_DATASET], index=SMOKE_INDEX, ef=[10, 40], queries=100, repeat=1, warmup=5,
                        perf_seconds=2, kernel_min_time=0.05)
    args = ap.parse_args(argv)
    if not args.dataset:
        args.dataset = ["fashion-mnist"]
    if not args.ef or min(args.ef) < 1 or min(args.k, args.queries, args.repeat) < 1:
        ap.error("--ef, -k, --queries and --repeat must be positive")
    args.ef = sorted(set(args.ef))
    label = args.label or ("smoke" if args.smoke else "-".join(datasets._safe_name(s.split(":")[0])
                                                                 for s in args.dataset))
    out = args.out or os.path.join(suite.RESULTS, datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + "-profile-"
                                   + label)
    os.makedirs(out, exist_ok=True)
    mhz = clock_mhz()
    result = {"format": 1, "kind": "profile", "label": label,
              "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
              "command": " ".join(["bench/run", "profile"] + [shlex.quote(a) for a in argv]),
              "options": vars(args), "clock_mhz": mhz, "datasets": []}
    result.update(suite.environment())
    cluster = conn = None
    t0 = time.perf_counter()
    try:
        if args.server:
            log(f"using the server at PGHOST={os.environ.get('PGHOST', '')} PGPORT={os.environ.get('PGPORT', '')}")
        else:
            conf = dict(suite.SMOKE_CONF if args.smoke else suite.FULL_CONF, fsync="off")
            conf.update(dict(args.conf))
            cluster = suite.Cluster(conf, keep=args.keep_cluster)
            cluster.start()
            suite.OWN_CLUSTER = True
        conn = suite.connect({"max_parallel_workers_per_gather": "0"})
        conn.execute("CREATE EXTENSION IF NOT EXISTS vecdb")
        result["server"] = suite.server_info(conn)
        log(f"{result['server']['version'].split(',')[0]}, vecdb {result['server']['vecdb']}; backend pid "
            f"{conn.info.backend_pid}; clock {_f(mhz, '{:.0f}')} MHz")
        for spec in args.dataset:
            result["datasets"].append(profile_dataset(args, spec, conn, mhz, out))
            report.write_json(result, os.path.join(out, "result.json"))
        if args.server:
            conn.execute(f"DROP SCHEMA IF EXISTS {suite.SCHEMA} CASCADE")
    finally:
        if conn is not None:
            conn.close()
        if cluster:
            cluster.stop()
    result["seconds"] = time.perf_counter() - t0
    report.write_json(result, os.path.join(out, "result.json"))
    md = markdown(result)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    print()
    print(md)
    log(f"wrote result.json and results.md in {out} ({result['seconds']:.0f} s)")
    if not all(ds["replay_agree"] for ds in result["datasets"]):
        log("ERROR: the replay of hnswlib's search did not return knn_query's answers for every query: its "
            "visited counts are not hnswlib's (see results.md)")
        return 1
    return 0
