"""bench/hnswlib_replay.py: how many distances one hnswlib search computes.

hnswlib's Python binding (python3-hnswlib 0.6.2) keeps its search counters to
itself, so bench/run profile saves the index (save_index), reads the file
here and replays the search in numpy, counting every distance computation:

    read_index(path)        the saved graph: levels, link lists, vectors, labels
    Replay(index, space)    .search(q, k, ef) -> (labels, distances computed)

The replay follows hnswlib's searchKnn for an index without deletions:

  1. one distance to the entry point;
  2. on each upper level, from the top down, a greedy walk (ef = 1): the
     current element's neighbours, in list order, each one distance, the
     walk moving to any that is nearer than the best so far, until a pass
     over the list moves nothing (no visited set: an element seen twice is
     computed twice, as hnswlib does);
  3. on level 0, searchBaseLayerST with ef = max(ef, k): the entry's
     distance once more, then the nearest unexpanded candidate's neighbours,
     each not yet visited one distance, until the nearest candidate is
     farther than the ef-th result.

Ties are broken as hnswlib's std::priority_queue of (distance, id) pairs
does, and the distances are computed in float32 in the order Debian's build
computes them (SSE, no AVX: checked from its machine code): four lanes, each
summing every fourth product in order, then lane 0 + 1 + 2 + 3; a tail of
fewer than 4 (16 for d > 16 not a multiple of 4) summed in order and added
to that; inner product and cosine return 1 - the sum. The distances are
then bit-identical to knn_query's, and the answers the same ids in the same
order, which bench/run profile checks on the queries it replays.

File layout (hnswalg.h saveIndex, 0.6.x): a header of offsetLevel0,
max_elements, cur_element_count, size_data_per_element, label_offset,
offsetData (size_t each), maxlevel (int), enterpoint_node (uint32), maxM,
maxM0, M (size_t), mult (double), ef_construction (size_t); then every
element's level-0 block (a uint32 whose low 16 bits are the link count,
maxM0 uint32 links, the d float32s, the size_t label); then for each
element a uint32 byte count and its upper-level lists (the same shape with
maxM links each), level 1 first.
"""

from __future__ import annotations

import heapq
import struct
from dataclasses import dataclass

import numpy as np

_HEADER = struct.Struct("<QQQQQQiIQQQdQ")


@dataclass
class SavedIndex:
    dims: int
    count: int
    maxlevel: int
    entry: int
    max_m: int
    max_m0: int
    m: int
    ef_construction: int
    vectors: np.ndarray  # (count, dims) float32, as stored (unit vectors for "cosine")
    labels: np.ndarray  # (count,) int64
    links0: np.ndarray  # (count, max_m0) int64, the first link_count0[i] valid
    count0: np.ndarray  # (count,)
    upper: list  # upper[i]: {level: np.ndarray of links} for element i (empty for level-0 elements)


def read_index(path: str, dims: int) -> SavedIndex:
    with open(path, "rb") as f:
        raw = f.read()
    (off0, _max_elements, count, per_element, label_off, data_off, maxlevel, entry, max_m, max_m0, m, _mult,
     efc) = _HEADER.unpack_from(raw, 0)
    pos = _HEADER.size
    links0_bytes = 4 + 4 * max_m0
    # the layout this reader expects; anything else is another hnswlib
    if off0 != 0 or data_off != links0_bytes or label_off != data_off + 4 * dims or per_element != label_off + 8:
        raise ValueError(f"{path}: not an hnswlib 0.6 index of {dims} dims (offsets {off0}, {data_off}, "
                         f"{label_off}, {per_element})")
    block = np.frombuffer(raw, dtype=np.uint8, count=count * per_element, offset=pos).reshape(count, per_element)
    pos += count * per_element
    head = block[:, :links0_bytes].copy().view(np.uint32)
    count0 = (head[:, 0] & 0xFFFF).astype(np.int64)
    links0 = head[:, 1:].astype(np.int64)
    vectors = block[:, data_off:label_off].copy().view(np.float32)
    labels = block[:, label_off:].copy().view(np.uint64).ravel().astype(np.int64)
    list_bytes = 4 + 4 * max_m
    upper = []
    for _ in range(count):
        (size,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        levels = {}
        for lev in range(size // list_bytes):
            a = np.frombuffer(raw, dtype=np.uint32, count=1 + max_m, offset=pos + lev * list_bytes)
            levels[lev + 1] = a[1 : 1 + (int(a[0]) & 0xFFFF)].astype(np.int64)
        pos += size
        upper.append(levels)
    if pos != len(raw):
        raise ValueError(f"{path}: {len(raw) - pos} bytes left over after the link lists")
    return SavedIndex(dims, count, maxlevel, entry, max_m, max_m0, m, efc, vectors, labels, links0, count0, upper)


def _lanes(prod: np.ndarray) -> np.ndarray:
    """Sum each row of prod (rows x d, float32) as hnswlib's SSE kernels do."""
    rows, d = prod.shape
    if d % 16 == 0 or d % 4 == 0:
        simd = d
    elif d > 16:
        simd = d // 16 * 16
    elif d > 4:
        simd = d // 4 * 4
    else:
        simd = 0
    total = np.zeros(rows, dtype=np.float32)
    if simd:
        lanes = np.cumsum(prod[:, :simd].reshape(rows, simd // 4, 4), axis=1, dtype=np.float32)[:, -1, :]
        total = ((lanes[:, 0] + lanes[:, 1]) + lanes[:, 2]) + lanes[:, 3]
    if simd < d:
        tail = np.cumsum(prod[:, simd:], axis=1, dtype=np.float32)[:, -1]
        total = total + tail if simd else tail
    return total


class Replay:
    """hnswlib's search over a SavedIndex, counting distance computations.
    space: "l2", "ip" or "cosine" (the binding's names)."""

    def __init__(self, index: SavedIndex, space: str):
        if space not in ("l2", "ip", "cosine"):
            raise ValueError(f"no replay of hnswlib space {space!r}")
        self.ix = index
        self.space = space
        self.computed = 0

    def prepare(self, q: np.ndarray) -> np.ndarray:
        """The query as the binding passes it on: normalized for "cosine"
        (sum of squares in order, times 1 / (sqrt + 1e-30), in float32)."""
        q = np.ascontiguousarray(q, dtype=np.float32)
        if self.space != "cosine":
            return q
        norm = np.cumsum(q * q, dtype=np.float32)[-1]
        inv = np.float32(1.0) / (np.sqrt(norm, dtype=np.float32) + np.float32(1e-30))
        return (q * inv).astype(np.float32)

    def distances(self, q: np.ndarray, ids: np.ndarray) -> np.ndarray:
        self.computed += len(ids)
        v = self.ix.vectors[ids]
        if self.space == "l2":
            diff = v - q
            return _lanes(diff * diff)
        # InnerProduct: 1 - (the lanes' sum + the tail's sum in order)
        prod = v * q
        return np.float32(1.0) - _lanes(prod)

    def search(self, q: np.ndarray, k: int, ef: int):
        """(labels nearest first, distances computed) of one query."""
        ix = self.ix
        q = self.prepare(q)
        self.computed = 0
        cur = ix.entry
        cur_d = float(self.distances(q, np.array([cur]))[0])
        for level in range(ix.maxlevel, 0, -1):
            changed = True
            while changed:
                changed = False
                cand = ix.upper[cur].get(level)
                if cand is None or not len(cand):
                    continue
                ds = self.distances(q, cand)
                for c, dist in zip(cand.tolist(), ds.tolist()):
                    if dist < cur_d:
                        cur_d, cur, changed = dist, c, True
        found = self._base_layer(q, cur, max(ef, k))
        found.sort()
        return [int(ix.labels[i]) for _, i in found[:k]], self.computed

    def _base_layer(self, q, ep: int, ef: int) -> list:
        """searchBaseLayerST without deletions; returns [(distance, id)]."""
        ix = self.ix
        visited = {ep}
        d0 = float(self.distances(q, np.array([ep]))[0])
        # top: hnswlib's max-heap of (dist, id) as a heapq of (-dist, -id);
        # cand: its max-heap of (-dist, id), i.e. nearest first and the
        # larger id first on a tie, as a heapq of (dist, -id)
        top = [(-d0, -ep)]
        cand = [(d0, -ep)]
        lower = d0
        while cand:
            dist, neg = cand[0]
            if dist > lower:
                break
            heapq.heappop(cand)
            node = -neg
            links = ix.links0[node, : ix.count0[node]]
            new = [c for c in dict.fromkeys(links.tolist()) if c not in visited]
            if not new:
                continue
            visited.update(new)
            ds = self.distances(q, np.array(new, dtype=np.int64)).tolist()
            for c, dc in zip(new, ds):
                if len(top) < ef or lower > dc:
                    heapq.heappush(cand, (dc, -c))
                    heapq.heappush(top, (-dc, -c))
                    while len(top) > ef:
                        heapq.heappop(top)
                    lower = -top[0][0]
        return [(-nd, -ni) for nd, ni in top]
