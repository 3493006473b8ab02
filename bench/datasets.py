"""bench/datasets.py: the data the demo and the benchmarks load into vecdb.

Readers and generators return float32 numpy arrays, one vector a row:

    fashion_mnist()            Fashion-MNIST from Debian's dataset-fashion-mnist
    gaussian_mixture(...)      a seeded synthetic mixture (optionally normalized)
    read_fvecs/ivecs/bvecs     the TEXMEX formats (SIFT, GIST, ...)
    vector_files(...)          base + queries (+ ground truth) from such files
    from_spec("synthetic:n=200000,d=128")   any of these, named by one string

exact answers, by each of vecdb's four distances, cached in bench/cache/:

    exact_knn(base, queries, k, metric)     numpy brute force in float64
    ground_truth(data, nq, k)               the same, or the files', cached
    recall_at_k(data, queries, found, truth_ids, truth_dist, k)

and a loader that streams vectors into a table with COPY:

    copy_vectors(conn, "items", vectors, ids=..., columns={"label": labels})
    load_fashion_mnist_items(conn)   items(id, label, embedding vector(784))

Only numpy and psycopg 3 are needed (python3-numpy, python3-psycopg).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

FASHION_MNIST_DIR = os.environ.get("VECDB_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")

FASHION_MNIST_LABELS = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# ---------------------------------------------------------------------------
# Readers


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (the MNIST container format), gzip'd or not.

    Header: two zero bytes, a type code, the number of dimensions, then one
    big-endian uint32 per dimension; the data follows in row-major order.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = data[2], data[3]
    if code not in dtypes:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    offset = 4 + 4 * ndim
    dtype = np.dtype(dtypes[code])
    count = int(np.prod(shape)) if shape else 0
    if len(data) - offset < count * dtype.itemsize:
        raise ValueError(f"{path}: truncated (header says {shape})")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape).astype(dtype.newbyteorder("="), copy=False)


# vecdb's distances: the SQL operator and the opclass of each.
METRICS = ("l2", "ip", "cosine", "l1")
OPERATORS = {"l2": "<->", "ip": "<#>", "cosine": "<=>", "l1": "<+>"}
OPCLASSES = {"l2": "vector_l2_ops", "ip": "vector_ip_ops", "cosine": "vector_cosine_ops", "l1": "vector_l1_ops"}


@dataclass
class Dataset:
    base: np.ndarray  # (n, d) float32
    queries: np.ndarray  # (nq, d) float32
    base_labels: Optional[np.ndarray] = None  # (n,) int, where the data has labels
    query_labels: Optional[np.ndarray] = None
    label_names: Sequence[str] = ()
    metric: str = "l2"
    name: str = ""  # short, file-name safe: "fashion-mnist", "synthetic-200000x128"
    params: dict = field(default_factory=dict)  # how it was made (for the result file)
    truth: Optional[np.ndarray] = None  # (nq, >=k) ground-truth ids, when the data comes with them
    extra: Optional[np.ndarray] = None  # vectors like the base's, in neither base nor queries


def fashion_mnist(directory: str = FASHION_MNIST_DIR) -> Dataset:
    """Fashion-MNIST: 60,000 train images as base, 10,000 t10k images as
    queries, each a 784-dim float32 vector of pixel values 0..255."""

    def images(name):
        a = read_idx(os.path.join(directory, f"{name}-images-idx3-ubyte.gz"))
        return a.reshape(a.shape[0], -1).astype(np.float32)

    def labels(name):
        return read_idx(os.path.join(directory, f"{name}-labels-idx1-ubyte.gz")).astype(np.int32)

    return Dataset(
        base=images("train"),
        queries=images("t10k"),
        base_labels=labels("train"),
        query_labels=labels("t10k"),
        label_names=FASHION_MNIST_LABELS,
        metric="l2",
        name="fashion-mnist",
        params={"source": directory, "base": "train (60,000)", "queries": "t10k (10,000)"},
    )


def _read_xvecs(path: str, dtype, limit: Optional[int] = None) -> np.ndarray:
    """Each record: int32 little-endian dimension d, then d values of dtype."""
    dtype = np.dtype(dtype)
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    if raw.size == 0:
        return np.zeros((0, 0), dtype=dtype)
    d = int(raw[:4].view("<i4")[0])
    record = 4 + d * dtype.itemsize
    if raw.size % record:
        raise ValueError(f"{path}: size {raw.size} is not a multiple of the record size {record}")
    n = raw.size // record
    if limit is not None:
        n = min(n, limit)
    rows = raw[: n * record].reshape(n, record)
    dims = rows[:, :4].copy().view("<i4").ravel()
    if (dims != d).any():
        raise ValueError(f"{path}: records of different dimensions")
    return rows[:, 4:].copy().view(dtype.newbyteorder("<")).astype(dtype, copy=False)


def read_fvecs(path: str, limit: Optional[int] = None) -> np.ndarray:
    return _read_xvecs(path, np.float32, limit)


def read_ivecs(path: str, limit: Optional[int] = None) -> np.ndarray:
    return _read_xvecs(path, np.int32, limit)


def read_bvecs(path: str, limit: Optional[int] = None) -> np.ndarray:
    """uint8 vectors (SIFT1B), returned as float32 like the other readers."""
    return _read_xvecs(path, np.uint8, limit).astype(np.float32)


# ---------------------------------------------------------------------------
# Synthetic data


def gaussian_mixture(
    n: int,
    d: int,
    centres: int = 1000,
    seed: int = 0,
    normalize: bool = False,
    queries: int = 0,
    spread: float = 0.5,
    extra: int = 0,
) -> Dataset:
    """A mixture of `centres` isotropic Gaussians in d dimensions.

    Centres are drawn from N(0, 1); each point is a uniformly chosen centre
    plus N(0, spread^2) noise. Queries come from the same mixture (same
    centres, their own draws), so they look like the base data. With
    normalize=True every vector is scaled to unit length, for cosine and
    inner-product benchmarks. The same arguments give the same arrays;
    `extra` more vectors (for insert tests) are drawn after the queries, so
    asking for them changes neither base nor queries.
    """
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((centres, d), dtype=np.float32)

    def draw(count):
        out = np.empty((count, d), dtype=np.float32)
        step = 65536
        for start in range(0, count, step):
            stop = min(count, start + step)
            which = rng.integers(0, centres, size=stop - start)
            noise = rng.standard_normal((stop - start, d), dtype=np.float32)
            out[start:stop] = mu[which] + np.float32(spread) * noise
        if normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            norms[norms == 0] = 1
            out /= norms
        return out

    base = draw(n)
    q = draw(queries)
    more = draw(extra) if extra else None
    params = {"n": n, "d": d, "centres": centres, "seed": seed, "normalize": normalize,
              "queries": queries, "spread": spread}
    name = f"synthetic-{n}x{d}" + ("-normalized" if normalize else "")
    return Dataset(base=base, queries=q, metric="cosine" if normalize else "l2",
                   name=name, params=params, extra=more)


def vector_files(base: str, queries: str, truth: Optional[str] = None, metric: str = "l2",
                 limit: Optional[int] = None, name: Optional[str] = None) -> Dataset:
    """Base and query vectors from .fvecs or .bvecs files, and optionally the
    true neighbours' ids from an .ivecs file (row i: query i's ids, nearest
    first). limit keeps the first rows of the base only (the given ground
    truth then no longer holds, so it is dropped)."""

    def read(path, lim=None):
        if path.endswith(".fvecs"):
            return read_fvecs(path, lim)
        if path.endswith(".bvecs"):
            return read_bvecs(path, lim)
        raise ValueError(f"{path}: expected a .fvecs or .bvecs file")

    b = read(base, limit)
    q = read(queries)
    if b.shape[1] != q.shape[1]:
        raise ValueError(f"{base} has {b.shape[1]} dimensions, {queries} {q.shape[1]}")
    gt = None
    if truth:
        if not truth.endswith(".ivecs"):
            raise ValueError(f"{truth}: expected an .ivecs file")
        if limit is not None and limit < _xvecs_rows(base, 4 if base.endswith(".fvecs") else 1):
            truth = None  # it answers for the whole base, not for the first rows
        else:
            gt = read_ivecs(truth).astype(np.int64)
            if len(gt) < len(q):
                raise ValueError(f"{truth}: {len(gt)} rows of ground truth for {len(q)} queries")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
    stem = name or os.path.splitext(os.path.basename(base))[0].replace("_base", "")
    return Dataset(base=b, queries=q, metric=metric, name=_safe_name(stem) + ("" if limit is None else f"-{len(b)}"),
                   params={"base": base, "queries": queries, "truth": truth, "limit": limit}, truth=gt)


def _xvecs_rows(path: str, itemsize: int) -> int:
    with open(path, "rb") as f:
        d = struct.unpack("<i", f.read(4))[0]
    return os.path.getsize(path) // (4 + d * itemsize)


def _safe_name(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in s).strip("-") or "data"


def _parse_value(v: str):
    low = v.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def from_spec(spec: str, extra: int = 0) -> Dataset:
    """A data set named by one string, KIND[:key=value,...]:

      fashion-mnist[:metric=l2]
      synthetic[:n=200000,d=128,centres=1000,seed=0,normalize=0,queries=1000,spread=0.5,metric=...]
      files:base=B.fvecs,queries=Q.fvecs[,truth=GT.ivecs,metric=l2,limit=N,name=NAME]

    synthetic's metric is l2, or cosine when normalize=1 (ip works too on
    normalized data). extra asks for that many vectors like the base's for
    insert tests (synthetic data draws them from its mixture; the others
    leave them to the caller)."""
    kind, _, rest = spec.partition(":")
    opts = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"{spec}: {item!r} is not key=value")
        opts[key.strip()] = value.strip()
    metric = opts.pop("metric", None)

    def num(key, default):
        return int(float(opts.pop(key, default)))

    if kind in ("fashion-mnist", "fashion_mnist", "fmnist"):
        data = fashion_mnist(opts.pop("dir", FASHION_MNIST_DIR))
    elif kind == "synthetic":
        normalize = bool(_parse_value(opts.pop("normalize", "0")))
        data = gaussian_mixture(
            n=num("n", 200000), d=num("d", 128), centres=num("centres", 1000), seed=num("seed", 0),
            normalize=normalize, queries=num("queries", 1000), spread=float(opts.pop("spread", 0.5)),
            extra=extra)
    elif kind == "files":
        if "base" not in opts or "queries" not in opts:
            raise ValueError(f"{spec}: files needs base=... and queries=...")
        limit = opts.pop("limit", None)
        data = vector_files(opts.pop("base"), opts.pop("queries"), opts.pop("truth", None) or opts.pop("gt", None),
                            metric=metric or "l2", limit=int(limit) if limit else None, name=opts.pop("name", None))
    else:
        raise ValueError(f"unknown data set {kind!r} (fashion-mnist, synthetic or files)")
    if opts:
        raise ValueError(f"{spec}: unknown option(s) {', '.join(sorted(opts))}")
    if metric:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
        if metric != data.metric and kind != "files":
            data.metric = metric
            data.name += f"-{metric}"
    data.params = dict(data.params, spec=spec, metric=data.metric)
    return data


# ---------------------------------------------------------------------------
# Ground truth
#
# Distances are "keys", monotone in the SQL operator's value, in float64:
#   l2      squared L2 distance                  (<-> is its square root)
#   ip      minus the inner product              (<#>)
#   cosine  1 - cosine similarity                (<=>)
#   l1      L1 distance                          (<+>)


def _unit(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    norms = np.linalg.norm(a, axis=-1, keepdims=True)
    norms[norms == 0] = 1
    return a / norms


def metric_keys(base: np.ndarray, queries: np.ndarray, ids: np.ndarray, metric: str = "l2") -> np.ndarray:
    """keys[i, j] = the distance key of queries[i] to base[ids[i, j]], computed
    directly in float64; +inf where ids[i, j] < 0 (no answer)."""
    ids = np.asarray(ids, dtype=np.int64)
    out = np.full(ids.shape, np.inf)
    valid = (ids >= 0) & (ids < len(base))
    for i in range(len(ids)):
        sel = ids[i][valid[i]]
        if not len(sel):
            continue
        b = base[sel].astype(np.float64)
        q = queries[i].astype(np.float64)
        if metric == "l2":
            diff = b - q
            key = np.einsum("ij,ij->i", diff, diff)
        elif metric == "ip":
            key = -(b @ q)
        elif metric == "cosine":
            key = 1.0 - _unit(b) @ _unit(q)
        elif metric == "l1":
            key = np.abs(b - q).sum(axis=1)
        else:
            raise ValueError(f"unknown metric {metric!r}")
        out[i][valid[i]] = key
    return out


def exact_knn(base: np.ndarray, queries: np.ndarray, k: int, block: Optional[int] = None, metric: str = "l2"):
    """Exact k nearest neighbours, computed in float64.

    Returns (ids, distance keys), each (nq, k), nearest first (see
    metric_keys; for l2, squared distances). Candidates are chosen with one
    matrix product per block of queries, then their keys are recomputed
    directly, so that near-ties are ordered exactly. block (queries at a
    time) defaults to what keeps the (block x n) float64 matrices near 1 GiB."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if block is None:
        block = max(8, min(256, 2**26 // max(1, len(base))))
    k = min(k, len(base))
    extra = min(len(base), k + 16)  # candidates kept before the exact re-sort
    if metric == "cosine":
        base64 = _unit(base)
    else:
        base64 = base.astype(np.float64)
    norms = np.einsum("ij,ij->i", base64, base64) if metric == "l2" else None
    ids = np.empty((len(queries), k), dtype=np.int64)
    dist = np.empty((len(queries), k), dtype=np.float64)
    for start in range(0, len(queries), block):
        q = queries[start : start + block]
        if metric == "l1":
            key = np.empty((len(q), len(base)))
            for i, row in enumerate(q.astype(np.float64)):
                for lo in range(0, len(base), 65536):
                    key[i, lo : lo + 65536] = np.abs(base64[lo : lo + 65536] - row).sum(axis=1)
        else:
            q64 = _unit(q) if metric == "cosine" else q.astype(np.float64)
            dot = q64 @ base64.T
            if metric == "l2":
                key = norms[None, :] - 2.0 * dot + np.einsum("ij,ij->i", q64, q64)[:, None]
            elif metric == "ip":
                key = -dot
            else:
                key = 1.0 - dot
        if extra < len(base):
            part = np.argpartition(key, extra - 1, axis=1)[:, :extra]
        else:
            part = np.broadcast_to(np.arange(len(base)), key.shape).copy()
        exact = metric_keys(base, q, part, metric)
        order = np.lexsort((part, exact), axis=1)[:, :k]  # by key, then by id
        ids[start : start + block] = np.take_along_axis(part, order, axis=1)
        dist[start : start + block] = np.take_along_axis(exact, order, axis=1)
    return ids, dist


def _fingerprint(data: Dataset, nq: int, k: int) -> str:
    h = hashlib.sha1()
    h.update(repr((data.base.shape, data.metric, nq, k)).encode())
    step = max(1, len(data.base) // 4096)
    h.update(np.ascontiguousarray(data.base[::step]).tobytes())
    h.update(np.ascontiguousarray(data.base[-1:]).tobytes())
    h.update(np.ascontiguousarray(data.queries[:nq]).tobytes())
    if data.truth is not None:
        h.update(np.ascontiguousarray(data.truth[:nq, :k]).tobytes())
    return h.hexdigest()[:12]


def ground_truth(data: Dataset, nq: int, k: int, cache_dir: Optional[str] = None, log=None) -> Tuple[np.ndarray, np.ndarray]:
    """The true k nearest neighbours of the first nq queries: (ids, keys).

    The data's own ground truth when it has one (its keys are computed here),
    else numpy's brute force; either way cached in cache_dir under a name
    that fingerprints the data, the queries, the metric and k."""
    path = None
    if cache_dir:
        n, d = data.base.shape
        path = os.path.join(cache_dir, f"gt-{data.name or 'data'}-{data.metric}-{n}x{d}-q{nq}-k{k}-"
                                       f"{_fingerprint(data, nq, k)}.npz")
        if os.path.exists(path):
            z = np.load(path)
            return z["ids"], z["dist"]
    t0 = time.perf_counter()
    if data.truth is not None:
        if data.truth.shape[1] < k:
            raise ValueError(f"the given ground truth has {data.truth.shape[1]} neighbours a query, fewer than k={k}")
        ids = data.truth[:nq, :k].astype(np.int64)
        dist = metric_keys(data.base, data.queries[:nq], ids, data.metric)
        source = "given"
    else:
        ids, dist = exact_knn(data.base, data.queries[:nq], k, metric=data.metric)
        source = "numpy brute force"
    if log:
        log(f"ground truth for {nq} queries ({source}, {data.metric}) in {time.perf_counter() - t0:.1f} s")
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = path + f".{os.getpid()}.tmp.npz"
        np.savez(tmp, ids=ids, dist=dist)
        os.replace(tmp, path)
    return ids, dist


# Two answers at distances that differ by less than this (relative to the
# k-th true distance) are ties: vecdb ranks by float32 sums, numpy by float64,
# and on integer-valued data (Fashion-MNIST) many distances tie exactly.
RECALL_RTOL = 1e-5


def recall_at_k(base: np.ndarray, queries: np.ndarray, found, truth_ids: np.ndarray, truth_dist: np.ndarray,
                k: int, metric: str = "l2", rtol: float = RECALL_RTOL) -> dict:
    """recall@k of found (one list of ids a query; None or short lists allowed).

    A returned id counts as correct when its distance is at most the k-th
    true distance (within rtol, and for the metrics whose distances can be
    0 or negative, within 1e-7 of the data's largest k-th distance): any of
    several ids tied at the k-th distance is a right answer. Duplicates count
    once. Also returns strict recall (ids among the ground truth's own k)."""
    nq = len(truth_ids)
    arr = np.full((nq, k), -1, dtype=np.int64)
    for i, got in enumerate(found[:nq]):
        seen = []
        for x in list(got or []):
            if x is not None and x not in seen:
                seen.append(int(x))
            if len(seen) == k:
                break
        arr[i, : len(seen)] = seen
    keys = metric_keys(base, queries[:nq], arr, metric)
    kth = truth_dist[:, k - 1]
    tol = rtol * np.abs(kth)
    if metric in ("ip", "cosine"):
        tol = tol + 1e-7 * float(np.max(np.abs(kth))) if nq else tol
    hits = (keys <= (kth + tol)[:, None]) & (arr >= 0)
    strict = sum(len(set(arr[i][arr[i] >= 0].tolist()) & set(truth_ids[i, :k].tolist())) for i in range(nq))
    total = nq * k
    return {"recall": float(hits.sum()) / total if total else 0.0,
            "strict_recall": strict / total if total else 0.0,
            "answered": float((arr >= 0).sum()) / total if total else 0.0}


# ---------------------------------------------------------------------------
# Loading into PostgreSQL


def vector_literal(v) -> str:
    """The text form of a vector: '[1,2.5,3]'."""
    a = np.asarray(v, dtype=np.float32)
    if np.all(a == np.round(a)) and np.all(np.abs(a) < 2**24):
        return "[" + ",".join(map(str, a.astype(np.int64).tolist())) + "]"
    return "[" + ",".join(["%.9g"] * len(a)) % tuple(a.tolist()) + "]"


# COPY format. Binary wins, on both ends:
#  - client: the whole binary payload of a chunk is one numpy structured array
#    (byte-swapped ints and float4s laid side by side), built without a Python
#    loop over values; text needs a Python-level format of every number.
#  - server: vector's receive function copies d float4s, while its input
#    function parses d decimal numbers.
# Fashion-MNIST (60,000 x 784) on the 2-core machine: building the payload
# takes 0.17 s in binary against 7.6 s in text; the whole COPY 7-8 s against
# 9-14 s (the server's TOAST writes dominate, and psycopg overlaps the
# client's formatting with them). Text stays available (fmt="text") for
# types without a binary receive function and for debugging.
COPY_FORMAT = "binary"

_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_PGCOPY_TRAILER = struct.pack("!h", -1)

# Binary COPY needs each column's exact wire type.
_SCALAR_WIRE = {
    "smallint": ">i2",
    "integer": ">i4",
    "bigint": ">i8",
    "real": ">f4",
    "double precision": ">f8",
}


def _column_types(conn, table: str, names: Sequence[str]) -> dict:
    rows = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, NULL)
             FROM pg_attribute a
            WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
        [table],
    ).fetchall()
    types = dict(rows)
    missing = [c for c in names if c not in types]
    if missing:
        raise ValueError(f"table {table} has no column {', '.join(missing)}")
    return {c: types[c] for c in names}


def _binary_chunk(columns, vector_column, vectors) -> bytes:
    """One COPY BINARY chunk (no header) for len(vectors) rows."""
    n, d = vectors.shape
    fields = [("nfields", ">i2")]
    for name, wire, _ in columns:
        fields += [(name + "_len", ">i4"), (name, wire)]
    fields += [("vec_len", ">i4"), ("vec_dim", ">i2"), ("vec_unused", ">i2"), ("vec", ">f4", (d,))]
    rec = np.empty(n, dtype=np.dtype(fields))  # packed: no alignment padding
    rec["nfields"] = len(columns) + 1
    for name, wire, values in columns:
        rec[name + "_len"] = np.dtype(wire).itemsize
        rec[name] = values
    rec["vec_len"] = 4 + 4 * d
    rec["vec_dim"] = d
    rec["vec_unused"] = 0
    rec["vec"] = vectors
    return rec.tobytes()


def _text_chunk(columns, vectors) -> str:
    integral = bool(np.all(vectors == np.round(vectors))) and bool(np.all(np.abs(vectors) < 2**24))
    if integral:
        rows = vectors.astype(np.int64).tolist()
        vec_text = ["[" + ",".join(map(str, r)) + "]" for r in rows]
    else:
        fmt = "[" + ",".join(["%.9g"] * vectors.shape[1]) + "]"
        vec_text = [fmt % tuple(r) for r in vectors.tolist()]
    cols = [[str(x) for x in values.tolist()] for _, _, values in columns]
    lines = ["\t".join(parts) for parts in zip(*cols, vec_text)] if cols else vec_text
    return "\n".join(lines) + "\n"


def copy_vectors(
    conn,
    table: str,
    vectors: np.ndarray,
    ids: Optional[np.ndarray] = None,
    columns: Optional[Mapping[str, np.ndarray]] = None,
    vector_column: str = "embedding",
    id_column: str = "id",
    fmt: str = COPY_FORMAT,
    chunk_rows: int = 8192,
) -> float:
    """COPY vectors (and ids and other numeric columns) into an existing table.

    ids defaults to 0..n-1; id_column=None leaves the id column out. columns
    maps other column names (integer or float types) to one value a row.
    Runs in the connection's current transaction (the caller commits) and
    returns the seconds the COPY took.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError("vectors must be a 2-d array")
    n = len(vectors)
    scalar = {}
    if id_column is not None:
        scalar[id_column] = np.arange(n) if ids is None else np.asarray(ids)
    for name, values in (columns or {}).items():
        scalar[name] = np.asarray(values)
    for name, values in scalar.items():
        if len(values) != n:
            raise ValueError(f"column {name}: {len(values)} values for {n} vectors")
    names = list(scalar) + [vector_column]
    ident = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
    collist = ", ".join(ident(c) for c in names)

    start = time.perf_counter()
    with conn.cursor() as cur:
        if fmt == "binary":
            types = _column_types(conn, table, list(scalar))
            cols = []
            for name, values in scalar.items():
                if types[name] not in _SCALAR_WIRE:
                    raise ValueError(f"binary COPY: column {name} has unsupported type {types[name]}")
                cols.append((name, _SCALAR_WIRE[types[name]], values))
            with cur.copy(f"COPY {table} ({collist}) FROM STDIN (FORMAT binary)") as copy:
                copy.write(_PGCOPY_HEADER)
                for lo in range(0, n, chunk_rows):
                    hi = min(n, lo + chunk_rows)
                    part = [(c, w, v[lo:hi]) for c, w, v in cols]
                    copy.write(_binary_chunk(part, vector_column, vectors[lo:hi]))
                copy.write(_PGCOPY_TRAILER)
        elif fmt == "text":
            cols = [(name, None, values) for name, values in scalar.items()]
            with cur.copy(f"COPY {table} ({collist}) FROM STDIN") as copy:
                for lo in range(0, n, chunk_rows):
                    hi = min(n, lo + chunk_rows)
                    part = [(c, w, v[lo:hi]) for c, w, v in cols]
                    copy.write(_text_chunk(part, vectors[lo:hi]))
        else:
            raise ValueError(f"unknown COPY format {fmt!r}")
    return time.perf_counter() - start


def table_rows(conn, table: str) -> Optional[int]:
    """Row count of table, or None if it does not exist."""
    if conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0] is None:
        return None
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def load_fashion_mnist_items(
    conn,
    table: str = "items",
    data: Optional[Dataset] = None,
    storage: Optional[str] = None,
    fmt: str = COPY_FORMAT,
    replace: bool = False,
    log=print,
) -> Dataset:
    """Create and fill `table`(id int primary key, label int, embedding
    vector(784)) with Fashion-MNIST's 60,000 train images, unless it already
    holds them (replace=True reloads). storage, if given, is the column's
    storage mode (plain, main, external, extended). Returns the data set."""
    data = data or fashion_mnist()
    n, d = data.base.shape
    if not replace and table_rows(conn, table) == n:
        log(f"{table}: reusing the {n} rows already loaded")
        return data
    with conn.transaction():
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, label int NOT NULL, embedding vector({d}))")
        if storage:
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE {storage}")
        # The primary key is built after the load: one sort instead of 60,000 inserts.
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        secs = copy_vectors(conn, table, data.base, columns={"label": data.base_labels}, fmt=fmt)
        conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
    autocommit = conn.autocommit
    conn.commit()
    conn.autocommit = True  # VACUUM cannot run inside a transaction block
    try:
        conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        conn.autocommit = autocommit
    log(f"{table}: loaded {n} x {d} Fashion-MNIST vectors with COPY ({fmt}) in {secs:.1f} s")
    return data
