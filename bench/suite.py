"""bench/suite.py: vecdb's benchmark suite (run it as bench/run; see bench/README.md).

For each data set: load it into a table, measure exact search (no index),
build each index given as SQL and sweep a search setting, measure single-row
INSERT rates with and without the index, run the in-memory references
(bench/references.py) on the same data, then write result.json, results.md
and one PNG a data set (bench/report.py).
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import itertools
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("VECDB_BENCH_CACHE") or os.path.join(HERE, "cache")
RESULTS = os.path.join(HERE, "results")
LIB_SH = os.path.join(ROOT, "scripts", "lib.sh")
sys.path.insert(0, HERE)

import datasets  # noqa: E402
import references  # noqa: E402
import report  # noqa: E402

SCHEMA = "vecdb_bench"
OWN_CLUSTER = False  # set by main when it starts a throwaway cluster
WORKER = None  # the background merge worker (Worker), set by main once connected

# targets.md's server settings; the smoke mode's are small.
FULL_CONF = {
    "shared_buffers": "4GB",
    "maintenance_work_mem": "4GB",
    "max_parallel_maintenance_workers": "1",
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
}
SMOKE_CONF = dict(FULL_CONF, shared_buffers="128MB", maintenance_work_mem="256MB", max_wal_size="1GB")


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


# ---------------------------------------------------------------------------
# The server


class Cluster:
    """A throwaway PostgreSQL cluster, started and stopped with scripts/lib.sh
    (as the postgres user when we are root), in a private temporary folder."""

    def __init__(self, conf: dict, keep: bool = False):
        self.conf = conf
        self.keep = keep
        self.dir = None

    def _lib(self, script: str, *args: str, capture: bool = False):
        cmd = ["bash", "-c", f'source "$0"; {script}', LIB_SH, *args]
        return subprocess.run(cmd, cwd=self.dir, check=True, text=True,
                              stdout=subprocess.PIPE if capture else None)

    def start(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="vecdb-bench.", dir=os.environ.get("TMPDIR") or "/tmp")
        os.chmod(self.dir, 0o755)
        lines = [f"{k} = '{v}'" for k, v in self.conf.items()]
        out = self._lib('vecdb_cluster_start "$@" >&2 && printf "%s\\n" "$PGHOST" "$PGPORT" "$PGUSER" "$PGDATABASE"',
                        self.dir, *lines, capture=True).stdout.split("\n")
        for name, value in zip(("PGHOST", "PGPORT", "PGUSER", "PGDATABASE"), out):
            os.environ[name] = value
        log(f"PostgreSQL started in {self.dir} (port {os.environ['PGPORT']})")

    def stop(self) -> None:
        if not self.dir:
            return
        try:
            self._lib('vecdb_cluster_stop "$1"', self.dir)
        except subprocess.CalledProcessError as e:
            log(f"stopping the cluster failed: {e}")
        if self.keep:
            log(f"cluster files kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def connect(settings: dict = None):
    import psycopg

    conn = psycopg.connect(autocommit=True, options=f"-c search_path={SCHEMA},public")
    # No automatic server-side preparing (psycopg's default prepares a query
    # after 5 runs): PostgreSQL does not re-plan a prepared statement when a
    # setting changes, so a sweep's later points would run the plan of an
    # earlier one while EXPLAIN shows another. Where preparing is wanted
    # (the client runs, the INSERTs) it is asked for with prepare=True.
    conn.prepare_threshold = None
    for name, value in (settings or {}).items():
        conn.execute("SELECT set_config(%s, %s, false)", [name, str(value)])
    return conn


def server_info(conn) -> dict:
    names = ["shared_buffers", "maintenance_work_mem", "max_parallel_maintenance_workers",
             "max_parallel_workers_per_gather", "jit", "fsync", "synchronous_commit", "work_mem",
             "shared_preload_libraries", "max_wal_size"]
    settings = dict(conn.execute(
        "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", [names]).fetchall())
    return {
        "version": conn.execute("SELECT version()").fetchone()[0],
        "vecdb": conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vecdb'").fetchone()[0],
        "settings": settings,
        "host": conn.info.host,
        "port": conn.info.port,
    }


# ---------------------------------------------------------------------------
# The environment, for the result file


def _run(cmd) -> str:
    try:
        return subprocess.run(cmd, check=True, text=True, capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def environment() -> dict:
    cpu = ""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not cpu:
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    # what the dynamic linker gives for libblas.so.3 (Debian's alternatives),
    # and what this process has loaded (numpy and faiss are imported by now)
    blas_links = {p: os.path.realpath(p) for p in sorted(glob.glob("/usr/lib/*/libblas.so.3"))}
    loaded = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if re.search(r"blas|lapack", os.path.basename(path)):
                    loaded.add(path)
    except OSError:
        pass
    pkgs = {}
    for pkg in ("postgresql-15", "python3-faiss", "python3-hnswlib", "python3-numpy", "python3-psycopg",
                "python3-matplotlib", "libblas3", "libopenblas0-pthread"):
        v = _run(["dpkg-query", "-W", "-f=${Version}", pkg])
        pkgs[pkg] = v or None
    git = {"commit": _run(["git", "-C", ROOT, "rev-parse", "HEAD"]) or None,
           "dirty": bool(_run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]))}
    return {
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
                    "isa": sorted(flags & {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl"})},
        "blas": {"libblas.so.3": blas_links, "loaded": sorted(loaded)},
        "threads": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        "packages": pkgs,
        "python": sys.executable + " " + platform.python_version(),
        "git": git,
    }


# ---------------------------------------------------------------------------
# vecdb


def one_statement_sql(op: str, k: int, where: str = "") -> str:
    """targets.md's statement: all queries, one SQL statement."""
    return (f"SELECT qid, (SELECT array_agg(id) FROM "
            f"(SELECT id FROM items ORDER BY v {op} queries.q LIMIT {k}) s) FROM queries{where}")


def load_queries(conn, queries: np.ndarray, storage) -> None:
    d = queries.shape[1]
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS queries")
        conn.execute(f"CREATE TABLE queries (qid int PRIMARY KEY, q vector({d}))")
        if storage:
            conn.execute(f"ALTER TABLE queries ALTER COLUMN q SET STORAGE {storage}")
        datasets.copy_vectors(conn, "queries", queries, id_column="qid", vector_column="q")
    conn.execute("ANALYZE queries")


def relation_sizes(conn, rel: str) -> dict:
    row = conn.execute(
        "SELECT pg_relation_size(c.oid), pg_table_size(c.oid), coalesce(pg_relation_size(c.reltoastrelid), 0) "
        "FROM pg_class c WHERE c.oid = %s::regclass", [rel]).fetchone()
    return {"relation_bytes": row[0], "table_bytes": row[1], "toast_bytes": row[2]}


def prewarm(conn, rels) -> None:
    """Read relations into shared buffers with pg_prewarm, so that a sweep's
    first point does not pay for the disk. A throwaway cluster gets the
    extension; an existing server is only used if it has it already."""
    have = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'").fetchone()
    if not have:
        if OWN_CLUSTER:
            try:
                conn.execute("CREATE EXTENSION pg_prewarm SCHEMA public")
            except Exception:  # noqa: BLE001 (not installed: the warm-up queries do it)
                return
        else:
            return
    for rel in rels:
        conn.execute("SELECT pg_prewarm(%s::regclass)", [rel])
        toast = conn.execute("SELECT reltoastrelid FROM pg_class WHERE oid = %s::regclass", [rel]).fetchone()[0]
        if toast:
            conn.execute("SELECT pg_prewarm(%s::oid::regclass)", [toast])


def checkpoint(conn) -> None:
    """Flush dirty buffers between phases, so one phase's writes are not
    charged to the next (needs superuser or pg_checkpoint: else skipped)."""
    try:
        conn.execute("CHECKPOINT")
    except Exception:  # noqa: BLE001
        pass


class Vecdb:
    """Measurements of vecdb on one data set, in schema vecdb_bench."""

    def __init__(self, args, data, gt_ids, gt_dist):
        self.args = args
        self.data = data
        self.gt_ids = gt_ids
        self.gt_dist = gt_dist
        self.k = args.k
        self.op = datasets.OPERATORS[data.metric]
        self.n, self.d = data.base.shape
        self.fixed = dict(args.settings)

    def score(self, found) -> dict:
        nq = len(found)
        return datasets.recall_at_k(self.data.base, self.data.queries[:nq], found, self.gt_ids[:nq],
                                    self.gt_dist[:nq], self.k, self.data.metric)

    # -- loading

    def load(self, conn) -> dict:
        a = self.args
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        t0 = time.perf_counter()
        with conn.transaction():
            conn.execute(f"CREATE TABLE items (id int NOT NULL, v vector({self.d}))")
            if a.storage:
                conn.execute(f"ALTER TABLE items ALTER COLUMN v SET STORAGE {a.storage}")
            datasets.copy_vectors(conn, "items", self.data.base, vector_column="v")
        copy = time.perf_counter() - t0
        conn.execute("VACUUM (ANALYZE) items")
        checkpoint(conn)
        storage = conn.execute("SELECT attstorage FROM pg_attribute WHERE attrelid = 'items'::regclass "
                               "AND attname = 'v'").fetchone()[0]
        sizes = relation_sizes(conn, "items")
        info = {"rows": self.n, "dims": self.d, "copy_seconds": copy,
                "storage": {"p": "plain", "m": "main", "e": "external", "x": "extended"}.get(storage, storage),
                "raw_vector_bytes": self.n * self.d * 4, **sizes}
        log(f"loaded {self.n} x {self.d} into items with COPY in {copy:.1f} s; storage {info['storage']}, "
            f"table {sizes['relation_bytes'] / 2**20:.1f} MiB + TOAST {sizes['toast_bytes'] / 2**20:.1f} MiB")
        return info

    # -- one sweep point

    def clients(self, nclients: int, nqueries: int, settings: dict) -> dict:
        """nqueries queries, one a round trip, spread over nclients threads,
        each with its own connection; latencies as the client sees them."""
        sql = f"SELECT id FROM items ORDER BY v {self.op} %s::vector LIMIT {self.k}"
        lits = [datasets.vector_literal(q) for q in self.data.queries[:nqueries]]
        conns = [connect(settings) for _ in range(nclients)]
        for c in conns:  # prepare, and touch the plan once
            c.execute(sql, [lits[0]], prepare=True).fetchall()
        lat = [[] for _ in range(nclients)]
        found = [None] * nqueries
        errors = []
        barrier = threading.Barrier(nclients + 1)

        def work(t):
            try:
                barrier.wait()
                conn = conns[t]
                for i in range(t, nqueries, nclients):
                    t0 = time.perf_counter()
                    rows = conn.execute(sql, [lits[i]], prepare=True).fetchall()
                    lat[t].append(time.perf_counter() - t0)
                    found[i] = [r[0] for r in rows]
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(nclients)]
        for th in threads:
            th.start()
        barrier.wait()
        t0 = time.perf_counter()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        for c in conns:
            c.close()
        if errors:
            raise errors[0]
        ms = np.array([x for part in lat for x in part]) * 1000
        scored = self.score(found)
        return {"clients": nclients, "queries": nqueries, "seconds": wall, "qps": nqueries / wall,
                "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
                "mean_ms": float(ms.mean()), "recall": scored["recall"]}

    def point(self, conn, nq: int, combo, index_names, repeat: int, clients: bool = True, extra=None) -> dict:
        """One sweep point: combo is a list of (setting, value) pairs (empty:
        the defaults), set for this point and reset after it. clients: also
        the client-side runs; extra(found) -> dict: more fields from the
        answers (the streaming phase's recall of the hot rows)."""
        a = self.args
        settings = dict(self.fixed)
        for name, value in combo:
            settings[name] = value
            conn.execute("SELECT set_config(%s, %s, false)", [name, str(value)])
        sql = one_statement_sql(self.op, self.k)
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (COSTS OFF) " + sql).fetchall())
        uses_index = any(name in plan for name in index_names) if index_names else False
        warm = max(1, min(a.warmup, nq // 5))
        conn.execute(one_statement_sql(self.op, self.k, f" WHERE qid < {warm}")).fetchall()
        times, found = [], None
        for _ in range(repeat):
            t0 = time.perf_counter()
            rows = conn.execute(sql).fetchall()
            times.append(time.perf_counter() - t0)
            if found is None:
                got = dict(rows)
                found = [got.get(i) for i in range(nq)]
        best = min(times)
        # "setting" and "value": the one swept setting and its value, as
        # before grids; a grid point has the names joined with " x " and the
        # values with "/" (e.g. "8/40"), and every point has "settings"
        if not combo:
            setting, value = None, None
            label = "exact" if not index_names else "default"
        elif len(combo) == 1:
            setting, value = combo[0]
            label = f"{setting}={value}"
        else:
            setting = " x ".join(n for n, _ in combo)
            value = "/".join(str(v) for _, v in combo)
            label = " ".join(f"{n}={v}" for n, v in combo)
        p = {"label": label, "setting": setting, "value": value, "settings": dict(combo), "queries": nq,
             "seconds": best, "all_seconds": times, "qps": nq / best, **self.score(found), "uses_index": uses_index,
             "plan": plan, "clients": []}
        if extra is not None:
            p.update(extra(found))
        msg = (f"{p['label']}: recall@{self.k} {p['recall']:.4f}  {p['qps']:9.1f} QPS (one statement, {nq} queries, "
               f"best of {repeat})")
        if "hot_recall" in p and p["hot_recall"] is not None:
            msg += f"; hot rows' recall {p['hot_recall']:.4f}"
        if index_names and not uses_index:
            msg += "  WARNING: the plan does not use the index"
        log(msg)
        for c in (a.clients if clients else []):
            cq = min(a.client_queries, nq)
            r = self.clients(c, cq, settings)
            p["clients"].append(r)
            log(f"  {c} client(s), {cq} queries one a round trip: {r['qps']:8.1f} QPS, p50 {r['p50_ms']:.2f} ms, "
                f"p99 {r['p99_ms']:.2f} ms, recall {r['recall']:.4f}")
        for name, _ in combo:
            conn.execute(f"RESET {name}")  # a checked name (parse_sweep)
        return p

    def sweep_points(self, conn, nq: int, sweep, index_names, repeat: int, **kw) -> list:
        """Every combination of a sweep's settings (a grid when it has more
        than one), the first setting varying slowest."""
        dims = sweep or []
        return [self.point(conn, nq, list(zip([n for n, _ in dims], combo)), index_names, repeat, **kw)
                for combo in itertools.product(*[values for _, values in dims])]

    # -- runs

    def exact_run(self, conn, sweep) -> dict:
        """No index; swept only when no index is given (the smoke test
        sweeps this way to exercise the sweep)."""
        nq = min(self.args.exact_queries, len(self.data.queries))
        load_queries(conn, self.data.queries[:nq], self.args.storage)
        prewarm(conn, ["items"])
        fewer = min(self.args.queries, len(self.data.queries))
        log(f"exact search (no index): {nq} queries" + (
            f" (--exact-queries: the exact scan is slow, so fewer than the {fewer} of the index runs and the "
            f"references)" if nq < fewer else ""))
        points = self.sweep_points(conn, nq, sweep, [], self.args.exact_repeat)
        return {"name": "exact", "index_sql": None, "am": None, **sweep_fields(sweep), "points": points}

    def build_index(self, conn, sql: str) -> dict:
        """CREATE INDEX as given ({opclass} replaced), timed: the new
        indexes' names, access method, WITH options, build time and size."""
        sql = sql.replace("{opclass}", datasets.OPCLASSES[self.data.metric])
        before = {r[0] for r in conn.execute("SELECT indexrelid FROM pg_index WHERE indrelid = 'items'::regclass")}
        log(f"building: {sql}")
        t0 = time.perf_counter()
        conn.execute(sql)
        build = time.perf_counter() - t0
        rows = conn.execute(
            "SELECT i.indexrelid, i.indexrelid::regclass::text, am.amname, c.reloptions "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE i.indrelid = 'items'::regclass").fetchall()
        new = [r for r in rows if r[0] not in before]
        if not new:
            raise SystemExit(f"the index SQL made no index on items: {sql}")
        names = [r[1] for r in new]
        options = {}
        for opt in new[0][3] or []:
            key, _, value = opt.partition("=")
            options[key] = value
        index_bytes = sum(conn.execute("SELECT pg_relation_size(%s::regclass)", [n]).fetchone()[0] for n in names)
        checkpoint(conn)
        log(f"built {', '.join(names)} ({new[0][2]}) in {build:.1f} s: {index_bytes / 2**20:.1f} MiB "
            f"(the vectors alone: {self.n * self.d * 4 / 2**20:.1f} MiB)")
        return {"sql": sql, "names": names, "am": new[0][2], "options": options, "build_seconds": build,
                "index_bytes": index_bytes}

    def index_run(self, conn, sql: str, sweep) -> dict:
        nq = min(self.args.queries, len(self.data.queries))
        b = self.build_index(conn, sql)
        names, am = b["names"], b["am"]
        load_queries(conn, self.data.queries[:nq], self.args.storage)
        prewarm(conn, ["items"] + names)
        info = ivfpq_info(conn, names[0]) if am == "ivfpq" else None
        points = self.sweep_points(conn, nq, sweep, names, self.args.repeat)
        run = {"name": am, "index_sql": b["sql"], "index_names": names, "am": am, "options": b["options"],
               "build_seconds": b["build_seconds"], "index_bytes": b["index_bytes"],
               "table": relation_sizes(conn, "items"), **sweep_fields(sweep), "points": points,
               # whether the index has a hot tier (vecdb_hot_tier answers for it)
               "hot_tier": hot_tier(conn, names[0]) is not None}
        if info is not None:
            run["ivfpq_info"] = info
        if self.args.inserts:
            run.update(self.index_inserts(conn, names, run["hot_tier"]))
        for n in names:
            conn.execute(f"DROP INDEX {n}")
        return run

    def insert_vectors(self, count: int) -> np.ndarray:
        """Vectors like the base's, in neither base nor the measured queries."""
        data, nq = self.data, self.args.queries
        if data.extra is not None and len(data.extra) >= count:
            return data.extra[:count]
        spare = data.queries[nq:]
        if len(spare) >= count:
            return spare[:count]
        rng = np.random.default_rng(1)
        src = data.queries[rng.integers(0, len(data.queries), size=count)]
        scale = float(np.std(data.base[: min(len(data.base), 10000)])) * 0.01
        out = (src + rng.standard_normal(src.shape, dtype=np.float32) * scale).astype(np.float32)
        if data.metric in ("cosine", "ip") and data.params.get("normalize"):
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-30)
        return out

    def insert_settings(self) -> dict:
        s = dict(self.fixed)
        if self.args.hot_tier_max_rows:
            s["vecdb.hot_tier_max_rows"] = str(self.args.hot_tier_max_rows)
        return s

    def inserts(self, conn, what: str) -> dict:
        """Single-row INSERTs, each its own transaction (autocommit), one
        client, prepared; the rows are deleted afterwards."""
        count = self.args.inserts
        vecs = self.insert_vectors(count)
        lits = [datasets.vector_literal(v) for v in vecs]
        first = self.n + 1000
        sql = "INSERT INTO items (id, v) VALUES (%s, %s::vector)"
        with connect(self.fixed) as c:
            t0 = time.perf_counter()
            for i, lit in enumerate(lits):
                c.execute(sql, [first + i, lit], prepare=True)
            secs = time.perf_counter() - t0
        conn.execute("DELETE FROM items WHERE id >= %s", [self.n])
        conn.execute("VACUUM items")
        r = {"rows": count, "seconds": secs, "rows_per_second": count / secs}
        log(f"INSERT {what}: {count} rows, one a transaction: {r['rows_per_second']:.0f} rows/s")
        return r

    # -- INSERTs, interleaved with a twin table without an index

    def ensure_twin(self, conn) -> None:
        """items_plain: a copy of items (same rows, same storage) without an
        index, the no-index reference that the INSERT rates with an index
        are measured against block by block, in the same minutes."""
        if conn.execute("SELECT to_regclass('items_plain')").fetchone()[0]:
            return
        t0 = time.perf_counter()
        conn.execute("CREATE TABLE items_plain (LIKE items INCLUDING STORAGE)")
        conn.execute("INSERT INTO items_plain SELECT * FROM items")
        conn.execute("VACUUM (ANALYZE) items_plain")
        checkpoint(conn)
        log(f"items_plain: a copy of items without an index, for the INSERT references "
            f"({time.perf_counter() - t0:.1f} s)")

    def interleaved_inserts(self, conn, modes, rounds: int) -> dict:
        """Single-row INSERTs, each its own transaction (autocommit), one
        client, prepared. modes: dicts with name, table, ids, lits (vector
        literals) and optionally before/after (run on conn around each of
        the mode's blocks). The rows are cut into rounds blocks; each round
        inserts one block of every mode, the order rotating, so that every
        mode meets the same machine load. {name: {rows, seconds,
        rows_per_second, blocks}}."""
        out = {m["name"]: {"rows": 0, "seconds": 0.0, "blocks": 0, "wal_bytes": 0} for m in modes}
        lsn = "SELECT pg_current_wal_insert_lsn()"
        with connect(self.insert_settings()) as c:
            cap = c.execute("SELECT current_setting('vecdb.hot_tier_max_rows', true)").fetchone()[0]
            for r in range(rounds):
                k = r % len(modes)
                for m in modes[k:] + modes[:k]:
                    n = len(m["ids"])
                    lo, hi = n * r // rounds, n * (r + 1) // rounds
                    if hi <= lo:
                        continue
                    sql = f"INSERT INTO {m['table']} (id, v) VALUES (%s, %s::vector)"
                    if m.get("before"):
                        m["before"]()
                    lsn0 = c.execute(lsn).fetchone()[0]
                    t0 = time.perf_counter()
                    for i in range(lo, hi):
                        c.execute(sql, [int(m["ids"][i]), m["lits"][i]], prepare=True)
                    out[m["name"]]["seconds"] += time.perf_counter() - t0
                    # the WAL the block wrote (the server's, all sessions':
                    # nothing else writes on the benchmark's own cluster)
                    out[m["name"]]["wal_bytes"] += int(c.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), "
                                                                 "%s::pg_lsn)", [lsn0]).fetchone()[0])
                    out[m["name"]]["rows"] += hi - lo
                    out[m["name"]]["blocks"] += 1
                    if m.get("after"):
                        m["after"]()
        for r in out.values():
            r["rows_per_second"] = r["rows"] / r["seconds"] if r["seconds"] else None
            r["wal_bytes_per_row"] = r["wal_bytes"] / r["rows"] if r["rows"] else None
            r["hot_tier_max_rows"] = int(cap) if cap is not None else None
        return out

    def index_inserts(self, conn, names, tiered: bool) -> dict:
        """--inserts single-row INSERTs into items with the index, and as
        many into items_plain (no index), interleaved; for an index with a
        hot tier, on the streaming path (the default) and, as many again,
        on the synchronous path (ALTER INDEX ... SET (streaming = off) around
        its blocks). The hot tier is read before and after: the streaming
        rows must be in it, and a merge meanwhile (back-pressure past
        vecdb.hot_tier_max_rows, or the worker) is recorded, not hidden.
        The rows are deleted afterwards."""
        count = self.args.inserts
        self.ensure_twin(conn)
        vecs = self.insert_vectors(2 * count if tiered else count)
        lits = [datasets.vector_literal(v) for v in vecs]
        first = self.n + 1000
        ids = np.arange(first, first + len(lits))
        idx = names[0]
        modes = [{"name": "index", "table": "items", "ids": ids[:count], "lits": lits[:count]},
                 {"name": "plain", "table": "items_plain", "ids": ids[:count], "lits": lits[:count]}]
        if tiered:
            modes.append({"name": "sync", "table": "items", "ids": ids[count:], "lits": lits[count:],
                          "before": lambda: conn.execute(f"ALTER INDEX {idx} SET (streaming = off)"),
                          "after": lambda: conn.execute(f"ALTER INDEX {idx} RESET (streaming)")})
        before = hot_tier(conn, idx) if tiered else None
        rounds = max(1, min(10, count // 100))
        res = self.interleaved_inserts(conn, modes, rounds)
        after = hot_tier(conn, idx) if tiered else None
        out = {"insert": res["index"], "insert_plain": res["plain"]}
        what = f"with {', '.join(names)}"
        if tiered:
            ins = res["index"]
            ins["path"] = "streaming"
            ins.update(tier_delta(before, after, count))
            res["sync"]["path"] = "synchronous (streaming = off)"
            out["insert_sync"] = res["sync"]
            what += f" (streaming; hot tier {before['rows']} -> {after['rows']} rows" + (
                f", {ins['merged_during']} rows merged meanwhile: back-pressure or the worker" if ins["merged_during"]
                else ", nothing merged meanwhile") + ")"
            if ins["hot_tier_max_rows"] is not None and count > ins["hot_tier_max_rows"]:
                log(f"NOTE: --inserts {count} is more than vecdb.hot_tier_max_rows {ins['hot_tier_max_rows']}: "
                    "back-pressure merges are part of this measurement")
        p = res["plain"]["rows_per_second"]
        log(f"INSERT {what}: {count} rows, one a transaction, {rounds} blocks interleaved with items_plain: "
            f"{res['index']['rows_per_second']:.0f} rows/s, without an index {p:.0f} rows/s "
            f"({res['index']['rows_per_second'] / p:.2f})")
        if tiered:
            log(f"INSERT with {idx} on the synchronous path (streaming = off): "
                f"{res['sync']['rows_per_second']:.0f} rows/s ({res['sync']['rows_per_second'] / p:.2f} of "
                "without)")
        conn.execute("DELETE FROM items WHERE id >= %s", [self.n])
        conn.execute("DELETE FROM items_plain WHERE id >= %s", [self.n])
        conn.execute("VACUUM items")
        conn.execute("VACUUM items_plain")
        if tiered:
            left = hot_tier(conn, idx)
            out["insert"]["hot_tier_after_vacuum"] = left
        return out

    # -- the streaming tier

    def held_rows(self, conn, count: int) -> np.ndarray:
        """Hold count base rows back (seeded, uniformly chosen): deleted from
        items and items_plain, and kept in table held_rows, so that the
        streaming runs build on the rest and insert them back; the ground
        truth stays the full base's, so the queries' truth includes them."""
        rng = np.random.default_rng(self.args.streaming_seed)
        held = np.sort(rng.choice(self.n, size=count, replace=False))
        self.ensure_twin(conn)
        conn.execute("DELETE FROM items WHERE id = ANY(%s)", [held.tolist()])
        conn.execute("DELETE FROM items_plain WHERE id = ANY(%s)", [held.tolist()])
        conn.execute("VACUUM items")
        conn.execute("VACUUM items_plain")
        with conn.transaction():
            conn.execute("DROP TABLE IF EXISTS held_rows")
            conn.execute(f"CREATE TABLE held_rows (id int NOT NULL, v vector({self.d}))")
            if self.args.storage:
                conn.execute(f"ALTER TABLE held_rows ALTER COLUMN v SET STORAGE {self.args.storage}")
            datasets.copy_vectors(conn, "held_rows", self.data.base[held], ids=held, vector_column="v")
        conn.execute("VACUUM (ANALYZE) held_rows")
        checkpoint(conn)
        log(f"streaming: {count} of the {self.n} rows held back (table held_rows); items keeps {self.n - count}")
        return held

    def hot_scorer(self, held: np.ndarray, nq: int):
        """extra() for point(): of the queries' true neighbours that are
        held-back rows, the share returned (hot_recall), and how many of
        the true neighbours are held-back rows (hot_share)."""
        held_set = set(held.tolist())
        truth = self.gt_ids[:nq, :self.k]

        def extra(found):
            want = got = 0
            for i in range(nq):
                hot = [int(x) for x in truth[i] if int(x) in held_set]
                want += len(hot)
                mine = set(found[i] or [])
                got += sum(1 for x in hot if x in mine)
            return {"hot_recall": got / want if want else None, "hot_truth": want,
                    "hot_share": want / truth.size if truth.size else None}
        return extra

    def drop_and_restore(self, conn, names, held) -> None:
        """Drop the index and take the held-back rows out again."""
        for n in names:
            conn.execute(f"DROP INDEX {n}")
        conn.execute("DELETE FROM items WHERE id = ANY(%s)", [held.tolist()])
        conn.execute("DELETE FROM items_plain WHERE id = ANY(%s)", [held.tolist()])
        conn.execute("VACUUM items")
        conn.execute("VACUUM items_plain")

    def streaming_run(self, conn, sql: str, sweep, held: np.ndarray, worker) -> dict:
        """For one index SQL, on items without the held-back rows:
         1. build; insert the held-back rows one a transaction on the
            streaming path (interleaved with items_plain): the tier now holds
            them all (back-pressure, if any, is recorded);
         2. sweep with the tier full; 3. vecdb_merge, timed; 4. the same
            sweep after it;
         5. build again, streaming = off, insert the same rows on the
            synchronous path (interleaved with items_plain), the same sweep;
         6. with the background worker: build again, insert the rows as one
            burst (INSERT ... SELECT) and time until the worker has merged
            them all (vecdb_hot_tier polled)."""
        a = self.args
        nq = min(a.queries, len(self.data.queries))
        count = len(held)
        lits = [datasets.vector_literal(v) for v in self.data.base[held]]
        extra = self.hot_scorer(held, nq)
        out = {"index_sql": None, "rows": count, "table_rows": self.n - count, **sweep_fields(sweep)}

        def sweep_now(state):
            log(f"streaming, {state}:")
            return self.sweep_points(conn, nq, sweep, names, a.streaming_repeat, clients=False, extra=extra)

        # 1. the streaming path
        b = self.build_index(conn, sql)
        names, idx = b["names"], b["names"][0]
        out.update({"index_sql": b["sql"], "am": b["am"], "name": b["am"], "index_names": names,
                    "build_seconds": b["build_seconds"]})
        if hot_tier(conn, idx) is None:
            log(f"streaming: {idx} has no hot tier (vecdb_hot_tier does not answer for it): skipped")
            for n in names:
                conn.execute(f"DROP INDEX {n}")
            return None
        load_queries(conn, self.data.queries[:nq], a.storage)
        prewarm(conn, ["items", "items_plain"] + names)
        before = hot_tier(conn, idx)
        rounds = max(1, min(10, count // 200))
        modes = [{"name": "index", "table": "items", "ids": held, "lits": lits},
                 {"name": "plain", "table": "items_plain", "ids": held, "lits": lits}]
        res = self.interleaved_inserts(conn, modes, rounds)
        full = hot_tier(conn, idx)
        ins = dict(res["index"], path="streaming", **tier_delta(before, full, count))
        out["insert"], out["insert_plain"] = ins, res["plain"]
        out["hot_tier_full"] = full
        log(f"streaming: {count} single-row INSERTs into {idx}: {ins['rows_per_second']:.0f} rows/s, into "
            f"items_plain {res['plain']['rows_per_second']:.0f} rows/s "
            f"({ins['rows_per_second'] / res['plain']['rows_per_second']:.2f}); hot tier {full['rows']} rows, "
            f"{full['pages']} pages" + (f"; {ins['merged_during']} rows merged meanwhile (back-pressure at "
                                        f"vecdb.hot_tier_max_rows = {ins['hot_tier_max_rows']}, or the worker)"
                                        if ins["merged_during"] else ""))
        # 2.-4. recall with the tier full, the merge, recall after it
        out["points_full"] = sweep_now(f"{full['rows']} rows hot")
        lsn0 = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        t0 = time.perf_counter()
        merged = conn.execute("SELECT vecdb_merge(%s::regclass)", [idx]).fetchone()[0]
        secs = time.perf_counter() - t0
        wal = int(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s::pg_lsn)",
                               [lsn0]).fetchone()[0])
        after = hot_tier(conn, idx)
        out["merge"] = {"rows": merged, "seconds": secs, "rows_per_second": merged / secs if secs else None,
                        "wal_bytes": wal, "wal_bytes_per_row": wal / merged if merged else None,
                        "hot_tier_after": after}
        log(f"streaming: vecdb_merge({idx}) merged {merged} rows in {secs:.2f} s: "
            f"{out['merge']['rows_per_second']:.0f} rows/s; hot tier {after['rows']} rows left")
        checkpoint(conn)
        out["points_merged"] = sweep_now("after vecdb_merge")
        out["index_bytes_merged"] = conn.execute("SELECT pg_relation_size(%s::regclass)", [idx]).fetchone()[0]
        self.drop_and_restore(conn, names, held)

        # 5. the synchronous path
        b = self.build_index(conn, sql)
        names, idx = b["names"], b["names"][0]
        conn.execute(f"ALTER INDEX {idx} SET (streaming = off)")
        prewarm(conn, ["items", "items_plain"] + names)
        before = hot_tier(conn, idx)
        res = self.interleaved_inserts(conn, modes, rounds)
        after = hot_tier(conn, idx)
        sync = dict(res["index"], path="synchronous (streaming = off)", **tier_delta(before, after, 0))
        out["insert_sync"], out["insert_plain_sync"] = sync, res["plain"]
        log(f"streaming: {count} single-row INSERTs into {idx} with streaming = off: "
            f"{sync['rows_per_second']:.0f} rows/s, into items_plain {res['plain']['rows_per_second']:.0f} rows/s "
            f"({sync['rows_per_second'] / res['plain']['rows_per_second']:.2f}); hot tier {after['rows']} rows")
        out["points_sync"] = sweep_now("after synchronous inserts")
        out["index_bytes_sync"] = conn.execute("SELECT pg_relation_size(%s::regclass)", [idx]).fetchone()[0]
        self.drop_and_restore(conn, names, held)

        # 6. the background worker
        out["worker"] = self.worker_burst(conn, sql, held, worker)
        return out

    def worker_burst(self, conn, sql: str, held: np.ndarray, worker) -> dict:
        """The time until the background worker has merged a burst of
        --worker-burst rows, inserted by one INSERT ... SELECT: the hot
        tier polled every 50 ms from the burst's commit."""
        a = self.args
        burst = min(a.worker_burst, len(held))
        ok, why = worker.usable()
        if not burst or not ok:
            why = why if not ok else "--worker-burst 0"
            log(f"streaming: the worker's burst SKIPPED: {why}")
            return {"skipped": why, "rows": burst}
        b = self.build_index(conn, sql)
        names, idx = b["names"], b["names"][0]
        ids = held[:burst].tolist()
        # a tier below vecdb.merge_threshold is left alone: a burst smaller
        # than it (the smoke's) gets a threshold of its own size
        threshold = worker.threshold if worker.threshold and burst < worker.threshold else None
        if threshold:
            log(f"streaming: the burst of {burst} rows is below vecdb.merge_threshold {worker.threshold}: "
                f"the threshold is {burst} for it")
            threshold = burst
        worker.resume(conn, threshold)
        res = {"rows": burst, "settings": worker.settings(conn)}
        try:
            with connect(self.fixed) as c:
                # the burst's own session may not merge: past the cap it would
                c.execute("SELECT set_config('vecdb.hot_tier_max_rows', %s, false)",
                          [str(max(2 * burst, 10))])
                start = hot_tier(conn, idx)
                t0 = time.perf_counter()
                c.execute("INSERT INTO items SELECT id, v FROM held_rows WHERE id = ANY(%s)", [ids])
                t_commit = time.perf_counter()
            res["insert_seconds"] = t_commit - t0
            first = None
            deadline = t_commit + a.worker_timeout
            with connect() as poll:
                while True:
                    t = hot_tier(poll, idx)
                    now = time.perf_counter()
                    if first is None and t["merged"] > start["merged"]:
                        first = now
                    if t["rows"] == 0 or now > deadline:
                        break
                    time.sleep(0.05)
            res.update({"hot_tier_at_commit_start": start, "hot_tier_end": t,
                        "seconds_to_first_merge": None if first is None else first - t_commit,
                        "seconds_to_empty": (now - t_commit) if t["rows"] == 0 else None,
                        "timed_out": t["rows"] != 0})
            if t["rows"] == 0 and first is not None and now > first:
                res["merge_rows_per_second_after_start"] = burst / (now - first)
        finally:
            worker.pause(conn)
        if res["timed_out"]:
            log(f"streaming: the worker left {t['rows']} of {burst} rows hot after --worker-timeout "
                f"{a.worker_timeout} s")
        else:
            log(f"streaming: the worker merged a burst of {burst} rows in {res['seconds_to_empty']:.2f} s after its "
                f"commit (first merge after {res['seconds_to_first_merge'] or 0:.2f} s; "
                f"vecdb.merge_naptime {res['settings'].get('vecdb.merge_naptime')}, "
                f"vecdb.merge_threshold {res['settings'].get('vecdb.merge_threshold')})")
        self.drop_and_restore(conn, names, held)
        return res


def hot_tier(conn, index: str):
    """vecdb_hot_tier(index) as a dict (rows, pages, merged, last_merge), or
    None when it does not answer (not a vecdb index, or a vecdb without the
    tier)."""
    try:
        row = conn.execute("SELECT rows, pages, merged, last_merge FROM vecdb_hot_tier(%s::regclass)",
                           [index]).fetchone()
    except Exception:  # noqa: BLE001
        return None
    return {"rows": row[0], "pages": row[1], "merged": row[2],
            "last_merge": row[3].isoformat() if row[3] is not None else None}


def tier_delta(before, after, inserted: int) -> dict:
    """What a run of inserts did to a hot tier: the hot rows it added, the
    rows merged meanwhile (back-pressure, or the worker), and whether every
    row inserted is in the tier or was merged from it (streamed)."""
    if before is None or after is None:
        return {"hot_tier_before": before, "hot_tier_after": after}
    merged = after["merged"] - before["merged"]
    added = after["rows"] - before["rows"]
    return {"hot_tier_before": before, "hot_tier_after": after, "hot_rows_added": added, "merged_during": merged,
            "back_pressure": merged > 0, "streamed": added + merged == inserted}


class Worker:
    """vecdb's background merge worker as the benchmark sees it, and steers
    it on its own cluster: paused (vecdb.merge_threshold at its maximum,
    through ALTER SYSTEM) while INSERT rates and recall with a full tier are
    measured, so that those measure what they say; resumed for the burst
    measurement only."""

    NAMES = ("vecdb.merge_naptime", "vecdb.merge_threshold", "vecdb.max_merge_workers")
    PAUSED = "2147483647"

    def __init__(self, conn, own_cluster: bool, naptime=None):
        # the worker's settings exist once the library is loaded: a session
        # on a server whose extension already existed has not loaded it yet
        try:
            conn.execute("SELECT '[1]'::vector")
        except Exception:  # noqa: BLE001 (no vector type in the search path: then the settings say)
            pass
        self.present = conn.execute("SELECT current_setting('vecdb.merge_naptime', true)").fetchone()[0] is not None
        libs = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
        self.preloaded = "vecdb" in [x.strip().strip('"') for x in libs.split(",")]
        self.steerable = own_cluster
        self.naptime = naptime
        self.paused = False
        self.threshold = None  # the server's vecdb.merge_threshold, read before pausing

    def usable(self):
        if not self.present:
            return False, ("this vecdb has no background merge worker (vecdb.merge_naptime is not defined: the "
                           "worker, branch h/worker, is not on main yet)")
        if not self.preloaded:
            return False, "vecdb is not in the server's shared_preload_libraries (--no-preload): no worker runs"
        if not self.steerable:
            return False, "--server: the benchmark does not change an existing server's worker settings"
        return True, ""

    def settings(self, conn) -> dict:
        if not self.present:
            return {}
        return dict(conn.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                                 [list(self.NAMES)]).fetchall())

    def processes(self, conn) -> int:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'vecdb merge%'"
                            ).fetchone()[0]

    def _set(self, conn, name: str, value) -> None:
        if value is None:
            conn.execute(f"ALTER SYSTEM RESET {name}")
        else:
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        conn.execute("SELECT pg_reload_conf()")
        # the postmaster passes the reload on asynchronously: wait until a
        # new session sees it (pg_settings.setting: in the setting's own
        # unit, e.g. ms, as value is given)
        for _ in range(100):
            with connect() as c:
                now, boot = c.execute("SELECT setting, boot_val FROM pg_settings WHERE name = %s", [name]).fetchone()
            if now == (boot if value is None else str(value)):
                return
            time.sleep(0.05)
        log(f"WARNING: {name} did not become {value} after pg_reload_conf()")

    def start(self, conn) -> dict:
        """At the start of a run: the worker's state; on our own cluster, the
        naptime asked for and the worker paused."""
        info = {"present": self.present, "preloaded": self.preloaded, "steered": False}
        ok, why = self.usable()
        if ok:
            if self.naptime:
                self._set(conn, "vecdb.merge_naptime", self.naptime)
            self.threshold = int(conn.execute("SELECT current_setting('vecdb.merge_threshold')").fetchone()[0])
            self.pause(conn)
            info["steered"] = True
        else:
            info["not_steered"] = why
        info["settings"] = self.settings(conn)
        info["processes"] = self.processes(conn) if self.present else 0
        log("worker: " + (f"paused outside its burst measurement ({', '.join(f'{k}={v}' for k, v in info['settings'].items())})"
                          if ok else why))
        return info

    def pause(self, conn) -> None:
        if self.usable()[0]:
            self._set(conn, "vecdb.merge_threshold", self.PAUSED)
            # a pass already running finishes its batch (each pass is short)
            for _ in range(200):
                busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                                    "'vecdb merge worker' AND datname = current_database()").fetchone()[0]
                if not busy:
                    break
                time.sleep(0.05)
            self.paused = True

    def resume(self, conn, threshold=None) -> None:
        """The server's vecdb.merge_threshold back (or threshold)."""
        if self.usable()[0]:
            self._set(conn, "vecdb.merge_threshold", threshold)
            self.paused = False


SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def parse_sweep(text: str):
    """NAME=V1,V2,... or, for a grid, several of them separated by ";"
    (NAME=V1,V2;NAME2=W1,W2: every combination); a list of (name, values)."""
    dims = []
    for part in text.split(";"):
        if not part.strip():
            continue
        name, eq, values = part.partition("=")
        name = name.strip()
        if not eq or not name or not values.strip():
            raise argparse.ArgumentTypeError(f"--sweep wants NAME=V1,V2,...[;NAME2=W1,W2,...]; got {text!r}")
        if not SETTING_NAME.match(name):
            raise argparse.ArgumentTypeError(f"--sweep: {name!r} is not a setting name")
        if name in (n for n, _ in dims):
            raise argparse.ArgumentTypeError(f"--sweep: {name!r} twice in {text!r}")
        dims.append((name, [v.strip() for v in values.split(",") if v.strip()]))
    if not dims:
        raise argparse.ArgumentTypeError(f"--sweep wants NAME=V1,V2,...; got {text!r}")
    return dims


def sweep_fields(sweep) -> dict:
    """A run's record of its sweep: "sweep_setting" (the name, or the names
    joined with " x " for a grid; None without a sweep) and "sweep" (a list
    of [name, values])."""
    dims = sweep or []
    return {"sweep_setting": " x ".join(n for n, _ in dims) or None, "sweep": [[n, list(v)] for n, v in dims]}


def ivfpq_info(conn, index: str):
    """vecdb_ivfpq_info(index) as a dict (lists, m, nbits, dims, entries,
    ...), or None if the function is missing or fails."""
    try:
        cur = conn.execute("SELECT * FROM vecdb_ivfpq_info(%s::regclass)", [index])
        row = cur.fetchone()
        info = {d.name: (float(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, (int, float)) else v)
                for d, v in zip(cur.description, row)}
    except Exception as e:  # noqa: BLE001
        log(f"vecdb_ivfpq_info({index}) failed: {e}")
        return None
    log(f"vecdb_ivfpq_info({index}): " + ", ".join(f"{k}={v}" for k, v in info.items()))
    return info


def parse_set(text: str):
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"--set wants NAME=VALUE; got {text!r}")
    return name.strip(), value.strip()


def int_list(text: str):
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


# ---------------------------------------------------------------------------
# One data set


def bench_dataset(args, spec: str, conn) -> dict:
    t_start = time.perf_counter()
    data = datasets.from_spec(spec, extra=2 * args.inserts)  # --inserts rows a path (streaming, synchronous)
    n, d = data.base.shape
    nq = min(args.queries, len(data.queries))
    nq_all = max(nq, min(args.exact_queries, len(data.queries)))
    load_start = os.getloadavg()
    log(f"=== {data.name}: {n} x {d}, {data.metric}, {len(data.queries)} queries available, k={args.k} "
        f"(load average {load_start[0]:.2f}) ===")
    gt_ids, gt_dist = datasets.ground_truth(data, nq_all, args.k, CACHE, log=log)
    result = {"name": data.name, "spec": spec, "params": data.params, "n": n, "d": d, "metric": data.metric,
              "operator": datasets.OPERATORS[data.metric], "k": args.k, "queries": nq,
              "exact_queries": min(args.exact_queries, len(data.queries)),
              "sql": one_statement_sql(datasets.OPERATORS[data.metric], args.k)}

    if not args.no_vecdb:
        v = Vecdb(args, data, gt_ids, gt_dist)
        vres = {"load": v.load(conn), "runs": []}
        sweeps = list(args.sweep)
        if args.exact:
            vres["runs"].append(v.exact_run(conn, sweeps[0] if sweeps and not args.index else None))
        for i, sql in enumerate(args.index):
            sweep = sweeps[i] if i < len(sweeps) else (sweeps[-1] if sweeps else None)
            vres["runs"].append(v.index_run(conn, sql, sweep))
        if args.inserts:
            vres["insert_plain"] = v.inserts(conn, "without an index")
        vres["streaming"] = streaming_phase(args, v, conn, vres["runs"])
        result["vecdb"] = vres

    refs = []
    if args.references:
        def score(found):
            m = len(found)
            return datasets.recall_at_k(data.base, data.queries[:m], found, gt_ids[:m], gt_dist[:m], args.k,
                                        data.metric)

        queries = data.queries[:nq]
        if "faiss-flat" in args.references:
            refs += references.run_faiss_flat(data.base, queries, args.k, data.metric, score, repeat=args.repeat,
                                              log=lambda m: log(m))
        if "hnswlib" in args.references:
            m, efc = hnsw_params(args, result.get("vecdb"))
            efs = set(args.hnswlib_ef)
            for run in (result.get("vecdb") or {}).get("runs", []):
                for p in run["points"]:
                    for name, value in p["settings"].items():
                        if re.search(r"(^|[._])ef(_search)?$", name) and str(value).isdigit():
                            efs.add(int(value))
            r = references.run_hnswlib(data.base, queries, args.k, data.metric, score, m=m, ef_construction=efc,
                                       efs=sorted(efs), repeat=args.repeat, log=lambda m: log(m))
            if r:
                refs.append(r)
        if "faiss-ivfpq" in args.references:
            for cfg in ivfpq_configs(args, result.get("vecdb"), n, d):
                r = references.run_faiss_ivfpq(data.base, queries, args.k, data.metric, score, nlist=cfg["nlist"],
                                               m=cfg["m"], nbits=cfg["nbits"], k_factors=cfg["k_factors"],
                                               nprobes=cfg["nprobes"], repeat=args.repeat, name=cfg["name"],
                                               log=lambda m: log(m))
                if r:
                    r["params"]["configured_from"] = cfg["source"]
                    refs.append(r)
    result["references"] = refs
    result["seconds"] = time.perf_counter() - t_start
    # other work on the machine skews everything: the 1, 5 and 15 minute
    # load averages (this run itself adds about 1)
    result["load_average"] = {"start": list(load_start), "end": list(os.getloadavg())}
    return result


def streaming_phase(args, v, conn, runs) -> dict:
    """--streaming N: for each index run whose index has a hot tier, the
    streaming runs (Vecdb.streaming_run) on items with N rows held back."""
    tiered = [(i, run) for i, run in enumerate(runs) if run.get("hot_tier")]
    if not args.streaming:
        return {"skipped": "--streaming 0"}
    if not tiered:
        return {"skipped": "no index of the run has a hot tier"}
    count = min(args.streaming, v.n // 2)
    if count < args.streaming:
        log(f"streaming: --streaming {args.streaming} is more than half the table: {count} rows held back")
    held = v.held_rows(conn, count)
    sweeps = list(args.streaming_sweep)
    out = {"rows": count, "seed": args.streaming_seed, "table_rows": v.n - count, "runs": []}
    for j, (i, run) in enumerate(tiered):
        sweep = sweeps[j] if j < len(sweeps) else (sweeps[-1] if sweeps else
                                                   [[n, list(vals)] for n, vals in run["sweep"]])
        r = v.streaming_run(conn, run["index_sql"], sweep, held, WORKER)
        if r is not None:
            out["runs"].append(r)
    conn.execute("INSERT INTO items SELECT * FROM held_rows")  # the table whole again
    conn.execute("DROP TABLE held_rows")
    return out


def hnsw_params(args, vres):
    """hnswlib gets vecdb's HNSW index's m and ef_construction (pgvector's
    defaults, 16 and 64, when not given), unless --m / --ef-construction say."""
    m, efc = 16, 64
    for run in (vres or {}).get("runs", []):
        if run.get("am") == "hnsw":
            m = int(run["options"].get("m", m))
            efc = int(run["options"].get("ef_construction", efc))
            break
    return args.m or m, args.ef_construction or efc


def ivfpq_configs(args, vres, n: int, d: int) -> list:
    """The faiss-ivfpq references to run: one a distinct (lists, m, nbits) of
    the run's ivfpq indexes, read from vecdb_ivfpq_info (else from the
    index's WITH options), so that faiss has vecdb's coarse and product
    quantizers' shapes; --nlist, --pq-m, --pq-bits override; without an
    ivfpq index, references.ivfpq_defaults. nprobe and k_factor sweeps get
    the values of vecdb's probes and rerank settings (rerank / k) added.
    The first reference is named faiss-ivfpq, the others faiss-ivfpq-2, ...;
    each ivfpq run records its reference's name in run["faiss_reference"]."""
    runs = [run for run in (vres or {}).get("runs", []) if run.get("am") == "ivfpq"]
    nprobes = set(args.nprobe)
    k_factors = {float(x) for x in args.refine_factor}
    for run in runs:
        for p in run["points"]:
            for name, value in p["settings"].items():
                try:
                    v = float(value)
                except ValueError:
                    continue
                if re.search(r"probes?$", name) and v >= 1:
                    nprobes.add(int(v))
                if re.search(r"rerank$", name) and v >= args.k:
                    k_factors.add(v / args.k)
    common = {"nprobes": sorted(nprobes), "k_factors": sorted(k_factors)}
    dflt = references.ivfpq_defaults(n, d)
    configs = {}
    for run in runs:
        info = run.get("ivfpq_info") or {}
        opts = run.get("options") or {}
        nlist = info.get("lists") or int(opts.get("lists", 0) or 0)
        m = info.get("m") or int(opts.get("m", 0) or 0)
        nbits = info.get("nbits") or int(opts.get("nbits", 0) or 0)
        source = "vecdb_ivfpq_info" if info else "the index's WITH options"
        if not info:
            log(f"faiss-ivfpq: no vecdb_ivfpq_info for {run['index_names'][0]}: lists/m from the WITH options "
                "where given, else faiss-ivfpq's defaults")
        if args.nlist or args.pq_m or args.pq_bits:
            source += " and --nlist/--pq-m/--pq-bits"
        cfg = (int(args.nlist or nlist or dflt["nlist"]), int(args.pq_m or m or dflt["m"]),
               int(args.pq_bits or nbits or dflt["nbits"]))
        if cfg not in configs:
            name = "faiss-ivfpq" if not configs else f"faiss-ivfpq-{len(configs) + 1}"
            configs[cfg] = {"name": name, "nlist": cfg[0], "m": cfg[1], "nbits": cfg[2], "source": source, **common}
        run["faiss_reference"] = configs[cfg]["name"]
    if not configs:
        return [{"name": "faiss-ivfpq", "nlist": args.nlist, "m": args.pq_m, "nbits": args.pq_bits,
                 "source": "--nlist/--pq-m/--pq-bits" if (args.nlist or args.pq_m or args.pq_bits) else "defaults",
                 **common}]
    return list(configs.values())


# ---------------------------------------------------------------------------
# Main


REFERENCES = ("hnswlib", "faiss-flat", "faiss-ivfpq")


def parser():
    ap = argparse.ArgumentParser(
        prog="bench/run",
        description="vecdb's benchmark: recall, QPS, latency, build time, size and insert rate, beside hnswlib and "
                    "faiss, on real and synthetic data. Also: bench/run compare A.json B.json; bench/run report DIR "
                    "(rewrite results.md and the PNGs from result.json); bench/run check DIR (test/run's checks).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--dataset", action="append", metavar="SPEC",
                    help="fashion-mnist | synthetic[:n=200000,d=128,centres=1000,seed=0,normalize=0,metric=l2] | "
                         "files:base=B.fvecs,queries=Q.fvecs[,truth=GT.ivecs,metric=l2]; repeatable "
                         "(default: fashion-mnist and synthetic)")
    ap.add_argument("--index", action="append", default=[], metavar="SQL",
                    help="an index to build, as SQL on table items, column v (e.g. \"CREATE INDEX ON items USING "
                         "hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 64)\"; {opclass} stands for the data "
                         "set's opclass); repeatable, each built, swept and dropped in turn")
    ap.add_argument("--sweep", action="append", default=[], type=parse_sweep, metavar="NAME=V1,V2,...[;NAME2=...]",
                    help="the search setting to sweep, and its values (e.g. vecdb.hnsw_ef_search=10,20,40,80); "
                         "several settings separated by ';' sweep a grid, every combination (e.g. "
                         "'vecdb.ivfpq_probes=1,2,4,8;vecdb.ivfpq_rerank=20,40,80': 12 points; the report draws and "
                         "interpolates its Pareto frontier); the i-th --sweep goes with the i-th --index (the last "
                         "one with the rest); with no --index, it sweeps the exact run")
    ap.add_argument("--set", dest="settings", action="append", default=[], type=parse_set, metavar="NAME=VALUE",
                    help="a setting for every query session (repeatable; max_parallel_workers_per_gather=0 unless "
                         "given)")
    ap.add_argument("-k", type=int, default=10, help="neighbours a query")
    ap.add_argument("--queries", type=int, default=1000, help="queries for the index runs and the references")
    ap.add_argument("--exact-queries", type=int, default=200,
                    help="queries for vecdb's exact (index-less) run, which scans the whole table for each")
    ap.add_argument("--no-exact", dest="exact", action="store_false", help="skip vecdb's exact run")
    ap.add_argument("--clients", type=int_list, default=[1, 2],
                    help="numbers of concurrent client connections for the latency measurement")
    ap.add_argument("--client-queries", type=int, default=200, help="queries a latency measurement (bounded)")
    ap.add_argument("--inserts", type=int, default=2000, help="single-row INSERTs a measurement (0: none)")
    ap.add_argument("--hot-tier-max-rows", type=int,
                    help="vecdb.hot_tier_max_rows for the INSERT sessions (default: the server's, 10000): past it an "
                         "insert merges a batch itself (back-pressure), which the results then record")
    ap.add_argument("--streaming", type=int, default=10000, metavar="N",
                    help="for each index with a hot tier: hold N base rows back, build on the rest, insert them one "
                         "a transaction (streaming, then synchronous), recall with them hot, after vecdb_merge and "
                         "after synchronous inserts, the merge's rows/s (0: none)")
    ap.add_argument("--streaming-sweep", action="append", default=[], type=parse_sweep,
                    metavar="NAME=V1,...[;NAME2=...]",
                    help="the settings of the streaming runs' recall measurements (the i-th goes with the i-th index "
                         "that has a hot tier; default: that index's --sweep)")
    ap.add_argument("--streaming-repeat", type=int, default=1,
                    help="timed runs of each streaming point (the best counts; recall needs one, and a full tier "
                         "makes each run slow: every query scans it)")
    ap.add_argument("--streaming-seed", type=int, default=11, help="which rows are held back")
    ap.add_argument("--worker-burst", type=int, default=10000,
                    help="rows of the burst (one INSERT ... SELECT of held-back rows) whose merging by the background "
                         "worker is timed (at most --streaming; 0: none)")
    ap.add_argument("--worker-timeout", type=float, default=300, help="seconds to wait for the worker's merge")
    ap.add_argument("--merge-naptime", type=int, metavar="MS",
                    help="vecdb.merge_naptime for the throwaway cluster's worker (default: the server's)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed runs of each one-statement measurement and each reference search; the best counts")
    ap.add_argument("--exact-repeat", type=int, default=2, help="the same for vecdb's (slow) exact run")
    ap.add_argument("--warmup", type=int, default=50, help="queries of the warm-up statement before each point")
    ap.add_argument("--storage", choices=["plain", "main", "external", "extended"],
                    help="storage mode of the vector columns (default: the vector type's own)")
    ap.add_argument("--references", default=",".join(REFERENCES),
                    help="comma-separated subset of " + ", ".join(REFERENCES) + ", or none")
    ap.add_argument("--no-vecdb", action="store_true", help="only the references (no server)")
    ap.add_argument("--m", type=int, help="hnswlib's m (default: the hnsw index's, else 16)")
    ap.add_argument("--ef-construction", type=int, help="hnswlib's ef_construction (default: the index's, else 64)")
    ap.add_argument("--hnswlib-ef", type=int_list, default=list(references.DEFAULT_HNSWLIB_EF),
                    help="hnswlib's ef sweep (a sweep of a setting named *ef* adds its values)")
    ap.add_argument("--nlist", type=int,
                    help="faiss-ivfpq lists (default: the ivfpq index's, from vecdb_ivfpq_info, when the run has one; "
                         "else about 4 sqrt(n))")
    ap.add_argument("--pq-m", type=int,
                    help="faiss-ivfpq sub-quantizers (default: the ivfpq index's m; else d/4, or a divisor of d below)")
    ap.add_argument("--pq-bits", type=int, help="faiss-ivfpq bits a code (default: the ivfpq index's nbits; else 8)")
    ap.add_argument("--refine-factor", type=int_list, default=list(references.DEFAULT_K_FACTORS),
                    help="faiss-ivfpq: the k_factors (re-rank k_factor * k candidates) to sweep nprobe for (plus "
                         "rerank / k for each value of a swept vecdb.ivfpq_rerank)")
    ap.add_argument("--nprobe", type=int_list, default=list(references.DEFAULT_NPROBE),
                    help="faiss-ivfpq nprobe sweep (for each k_factor, stopped once recall stops growing; plus the "
                         "values of a swept vecdb.ivfpq_probes)")
    ap.add_argument("--server", action="store_true",
                    help="use the server the PG* environment variables name (schema vecdb_bench, dropped at the "
                         "end) instead of a throwaway cluster of its own")
    ap.add_argument("--fsync", choices=["on", "off"], default="on",
                    help="the throwaway cluster's fsync (on: commits are durable, as a user's are)")
    ap.add_argument("--no-preload", dest="preload", action="store_false",
                    help="do not put vecdb in the throwaway cluster's shared_preload_libraries")
    ap.add_argument("--conf", action="append", default=[], type=parse_set, metavar="NAME=VALUE",
                    help="another postgresql.conf setting for the throwaway cluster (repeatable)")
    ap.add_argument("--keep-cluster", action="store_true", help="keep the throwaway cluster's files")
    ap.add_argument("--out", help="results folder (default bench/results/DATE-LABEL; bench/results/latest links to it)")
    ap.add_argument("--label", help="a name for this run (in the folder's name and the report)")
    ap.add_argument("--no-plots", action="store_true", help="no PNGs")
    ap.add_argument("--smoke", action="store_true",
                    help="a small, fast run that exercises everything: 4,000 x 32 synthetic rows, a btree index "
                         "(swept over work_mem), and a small hnsw and ivfpq index (ivfpq with a probes x rerank grid) "
                         "when the extension has these access methods; small server, few queries and inserts; "
                         "then bench/run profile --smoke into OUT/profile")
    ap.add_argument("--no-profile", dest="profile", action="store_false",
                    help="with --smoke: not the profile's smoke run (bench/run profile --smoke) after it")
    return ap


def apply_smoke(args) -> None:
    """--smoke's defaults: what the test command runs. Options given
    explicitly still win (they are applied before, see main)."""
    if not args.dataset:
        args.dataset = ["synthetic:n=4000,d=32,centres=20,queries=100,seed=7"]
    args.smoke_ams = []
    if not args.index:
        # A btree index (which the distance ORDER BY cannot use) exercises
        # the build, size, sweep and insert paths, and every answer must
        # still be exact; then each of vecdb's access methods that the
        # installed extension has (SMOKE_INDEXES, added once connected: see
        # add_smoke_indexes), small, with no assertion on speed or recall.
        args.index = ["CREATE INDEX ON items (id)"]
        args.smoke_ams = [am for am, _, _ in SMOKE_INDEXES]
    if not args.sweep:
        args.sweep = [[("work_mem", ["4MB", "16MB"])]]


# --smoke's indexes of vecdb's own access methods, each used only if the
# installed extension has the access method: (am, SQL, sweep).
SMOKE_INDEXES = [
    ("hnsw", "CREATE INDEX ON items USING hnsw (v {opclass}) WITH (m = 8, ef_construction = 32)",
     [("vecdb.hnsw_ef_search", ["10", "40"])]),
    ("ivfpq", "CREATE INDEX ON items USING ivfpq (v {opclass}) WITH (lists = 16, m = 8)",
     [("vecdb.ivfpq_probes", ["1", "4", "16"]), ("vecdb.ivfpq_rerank", ["20", "40"])]),
]


def add_smoke_indexes(args, conn) -> None:
    """The smoke run's vecdb indexes, for the access methods the extension
    has; their sweeps pair with them (the --sweep list is padded first)."""
    have = {r[0] for r in conn.execute("SELECT amname FROM pg_am WHERE amname = ANY(%s)",
                                       [list(args.smoke_ams)]).fetchall()}
    for am, sql, sweep in SMOKE_INDEXES:
        if am not in args.smoke_ams:
            continue
        if am not in have:
            log(f"smoke: the extension has no {am} access method: no {am} index in this run")
            continue
        while len(args.sweep) < len(args.index):
            args.sweep.append(args.sweep[-1] if args.sweep else None)
        args.index.append(sql)
        args.sweep.append(sweep)


def main(argv=None) -> int:
    global OWN_CLUSTER, WORKER
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "compare":
        if len(argv) != 3:
            print("usage: bench/run compare A.json B.json", file=sys.stderr)
            return 2
        print(report.compare(report.load(argv[1]), report.load(argv[2]), argv[1], argv[2]))
        return 0
    if argv and argv[0] == "report":
        if len(argv) != 2:
            print("usage: bench/run report RESULTS_DIR", file=sys.stderr)
            return 2
        res = report.load(argv[1])
        out = argv[1] if os.path.isdir(argv[1]) else os.path.dirname(argv[1]) or "."
        for ds in res["datasets"]:
            report.analyze_dataset(ds)
        md = report.markdown(res)
        with open(os.path.join(out, "results.md"), "w") as f:
            f.write(md)
        report.plots(res, out)
        print(md)
        return 0
    if argv and argv[0] == "profile":
        import profiling

        return profiling.main(argv[1:])
    if argv and argv[0] == "check":
        if len(argv) != 2:
            print("usage: bench/run check RESULTS_DIR", file=sys.stderr)
            return 2
        return report.check(argv[1])

    ap = parser()
    if "--smoke" in argv:
        smoke_defaults = {"repeat": 1, "exact_repeat": 1, "queries": 100, "exact_queries": 100, "client_queries": 40, "inserts": 200,
                          "streaming": 300, "worker_burst": 300, "merge_naptime": 100, "worker_timeout": 60,
                          "warmup": 5, "fsync": "off", "nprobe": [1, 2, 4, 8, 16, 32], "refine_factor": [2, 8],
                          "hnswlib_ef": [10, 20, 40, 80]}
        ap.set_defaults(**smoke_defaults)
    args = ap.parse_args(argv)
    if args.smoke:
        apply_smoke(args)
    if not args.dataset:
        args.dataset = ["fashion-mnist", "synthetic"]
    refs = [] if args.references.strip() in ("", "none") else [r.strip() for r in args.references.split(",")]
    bad = [r for r in refs if r not in REFERENCES]
    if bad:
        ap.error(f"unknown reference(s) {', '.join(bad)}")
    args.references = refs
    # one thread a query, like the references, on any server
    if not any(name == "max_parallel_workers_per_gather" for name, _ in args.settings):
        args.settings.insert(0, ("max_parallel_workers_per_gather", "0"))
    if args.no_vecdb:
        args.index, args.exact, args.inserts = [], False, 0
    if min(args.k, args.queries, args.exact_queries, args.repeat, args.exact_repeat, args.client_queries,
           args.streaming_repeat) < 1:
        ap.error("-k, --queries, --exact-queries, --client-queries, --repeat, --exact-repeat and --streaming-repeat "
                 "must be positive")
    if min(args.streaming, args.worker_burst, args.inserts) < 0:
        ap.error("--streaming, --worker-burst and --inserts cannot be negative")
    if len(args.sweep) > max(1, len(args.index)):
        ap.error("more --sweep than --index")

    label = args.label or ("smoke" if args.smoke else "-".join(
        [datasets._safe_name(s.split(":")[0]) for s in args.dataset]
        + ([re.sub(r".*USING\s+(\w+).*", r"\1", s, flags=re.S | re.I) if re.search(r"USING\s+\w+", s, re.I)
            else "index" for s in args.index] or ["exact"])))
    out = args.out or os.path.join(RESULTS, datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + label)
    os.makedirs(out, exist_ok=True)

    result = {
        "format": 1,
        "label": label,
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["bench/run"] + [shlex.quote(a) for a in argv]),
        "options": {k: v for k, v in vars(args).items()},
        "datasets": [],
    }
    import faiss  # noqa: F401  (loaded now, so environment() sees its BLAS)

    result.update(environment())
    blas = list(result["blas"]["libblas.so.3"].values())
    log(f"BLAS: libblas.so.3 -> {', '.join(blas) or '?'}; threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    if blas and all("openblas" not in b and "blis" not in b and "mkl" not in b for b in blas):
        log("WARNING: libblas.so.3 is the reference BLAS: faiss's batched searches run ~10x slower than with "
            "OpenBLAS (apt-get install libopenblas0-pthread)")

    cluster = None
    conn = None
    t0 = time.perf_counter()
    try:
        if not args.no_vecdb:
            if args.server:
                log(f"using the server at PGHOST={os.environ.get('PGHOST', '')} PGPORT={os.environ.get('PGPORT', '')}")
            else:
                conf = dict(SMOKE_CONF if args.smoke else FULL_CONF)
                conf["fsync"] = args.fsync
                if args.preload:
                    conf["shared_preload_libraries"] = "vecdb"
                conf.update(dict(args.conf))
                cluster = Cluster(conf, keep=args.keep_cluster)
                cluster.start()
                OWN_CLUSTER = True
            conn = connect()
            conn.execute("CREATE EXTENSION IF NOT EXISTS vecdb")
            if getattr(args, "smoke_ams", None):
                add_smoke_indexes(args, conn)
            result["server"] = server_info(conn)
            result["server"]["own_cluster"] = cluster is not None
            WORKER = Worker(conn, cluster is not None, args.merge_naptime)
            result["server"]["worker"] = WORKER.start(conn)
            log(f"{result['server']['version'].split(',')[0]}, vecdb {result['server']['vecdb']}; "
                + ", ".join(f"{k}={v}" for k, v in sorted(result["server"]["settings"].items())))
        for spec in args.dataset:
            if conn is not None:
                for name, value in args.settings:
                    conn.execute("SELECT set_config(%s, %s, false)", [name, value])
            ds = bench_dataset(args, spec, conn)
            report.analyze_dataset(ds)
            result["datasets"].append(ds)
            report.write_json(result, os.path.join(out, "result.json"))  # after each data set
        if conn is not None and args.server:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        if conn is not None:
            conn.close()
        if cluster:
            cluster.stop()
    result["seconds"] = time.perf_counter() - t0
    report.write_json(result, os.path.join(out, "result.json"))
    md = report.markdown(result)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    pngs = [] if args.no_plots else report.plots(result, out)
    if os.path.realpath(os.path.dirname(out)) == os.path.realpath(RESULTS):
        latest = os.path.join(RESULTS, "latest")
        try:
            if os.path.islink(latest) or os.path.exists(latest):
                os.remove(latest)
            os.symlink(os.path.basename(out), latest)
        except OSError:
            pass
    print()
    print(md)
    log(f"wrote {os.path.join(out, 'result.json')}, results.md" + "".join(", " + os.path.basename(p) for p in pngs)
        + f" in {out} ({result['seconds']:.0f} s)")
    if args.smoke and args.profile and not args.no_vecdb:
        # the profile mode's harness too (its replay of hnswlib above all),
        # on a cluster of its own; bench/run check DIR checks DIR/profile
        import profiling

        log("smoke: bench/run profile --smoke")
        return profiling.main(["--smoke", "--out", os.path.join(out, "profile")]
                              + (["--server"] if args.server else []))
    return 0
