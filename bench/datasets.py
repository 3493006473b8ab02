"""bench/datasets.py: the data the demo and the benchmarks load into vecdb.

Readers and generators return float32 numpy arrays, one vector a row:

    fashion_mnist()            Fashion-MNIST from Debian's dataset-fashion-mnist
    gaussian_mixture(...)      a seeded synthetic mixture (optionally normalized)
    read_fvecs/ivecs/bvecs     the TEXMEX formats (SIFT, GIST, ...)

and a loader that streams vectors into a table with COPY:

    copy_vectors(conn, "items", vectors, ids=..., columns={"label": labels})
    load_fashion_mnist_items(conn)   items(id, label, embedding vector(784))

Only numpy and psycopg 3 are needed (python3-numpy, python3-psycopg).
"""

from __future__ import annotations

import gzip
import os
import struct
import time
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

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


@dataclass
class Dataset:
    base: np.ndarray  # (n, d) float32
    queries: np.ndarray  # (nq, d) float32
    base_labels: Optional[np.ndarray] = None  # (n,) int, where the data has labels
    query_labels: Optional[np.ndarray] = None
    label_names: Sequence[str] = ()
    metric: str = "l2"


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
) -> Dataset:
    """A mixture of `centres` isotropic Gaussians in d dimensions.

    Centres are drawn from N(0, 1); each point is a uniformly chosen centre
    plus N(0, spread^2) noise. Queries come from the same mixture (same
    centres, their own draws), so they look like the base data. With
    normalize=True every vector is scaled to unit length, for cosine and
    inner-product benchmarks. The same arguments give the same arrays.
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
    return Dataset(base=base, queries=q, metric="cosine" if normalize else "l2")


# ---------------------------------------------------------------------------
# Ground truth


def exact_knn(base: np.ndarray, queries: np.ndarray, k: int, block: int = 256):
    """Exact k nearest neighbours by squared L2, computed in float64.

    Returns (ids, squared distances), each (nq, k), nearest first."""
    base64 = base.astype(np.float64)
    norms = np.einsum("ij,ij->i", base64, base64)
    ids = np.empty((len(queries), k), dtype=np.int64)
    dist = np.empty((len(queries), k), dtype=np.float64)
    for start in range(0, len(queries), block):
        q = queries[start : start + block].astype(np.float64)
        d2 = norms[None, :] - 2.0 * (q @ base64.T) + np.einsum("ij,ij->i", q, q)[:, None]
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        pd = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(pd, axis=1, kind="stable")
        ids[start : start + block] = np.take_along_axis(part, order, axis=1)
        dist[start : start + block] = np.maximum(np.take_along_axis(pd, order, axis=1), 0)
    return ids, dist


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
