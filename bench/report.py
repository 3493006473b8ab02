"""bench/report.py: what bench/run writes and prints.

    analyze_dataset(ds)    ratios to the references at equal recall, and targets.md's checks
    markdown(result)       results.md
    plots(result, dir)     one PNG a data set: recall@k on x, QPS on a log y axis
    compare(a, b)          two result files side by side
    check(dir)             the smoke checks of test/run, as TAP lines

Equal recall: a reference's QPS at vecdb's recall r is read off the
reference's curve (its Pareto frontier: the best QPS at each recall),
interpolating log QPS linearly in recall between the two points around r.
If the reference's lowest recall is above r, its QPS there is a lower bound
of its QPS at r, so the ratio is an upper bound (shown as "<=x"); if the
reference never reaches r, there is no ratio ("above").
"""

from __future__ import annotations

import json
import math
import os

REF_ORDER = ("hnswlib", "faiss-ivfpq", "faiss-flat", "faiss-flat-1by1")
# targets.md's link size assumption for the HNSW size bound: a heap TID
LINK_BYTES = 6


# ---------------------------------------------------------------------------
# Equal-recall ratios


def frontier(points):
    """(recall, qps) pairs of the points no other point beats on both."""
    pts = sorted(((p["recall"], p["qps"]) for p in points), key=lambda x: (-x[0], -x[1]))
    out, best = [], -1.0
    for r, q in pts:
        if q > best:
            out.append((r, q))
            best = q
    return sorted(out)


def qps_at(points, recall, eps=1e-9):
    """A reference's QPS at this recall: (qps, "interpolated" | "bound"),
    or (None, "above") when the reference never reaches it."""
    f = frontier(points)
    if not f:
        return None, "none"
    if recall > f[-1][0] + eps:
        return None, "above"
    if recall < f[0][0] - eps:
        return f[0][1], "bound"
    for (r0, q0), (r1, q1) in zip(f, f[1:]):
        if r0 - eps <= recall <= r1 + eps:
            if r1 - r0 < eps:
                return max(q0, q1), "interpolated"
            t = min(1.0, max(0.0, (recall - r0) / (r1 - r0)))
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0))), "interpolated"
    return f[-1][1] if abs(recall - f[-1][0]) <= eps else f[0][1], "interpolated"


def frontier_points(points):
    """The points (dicts) on the frontier, by recall."""
    best = set(frontier(points))
    return sorted((p for p in points if (p["recall"], p["qps"]) in best), key=lambda p: (p["recall"], p["qps"]))


TARGET_RECALL = 0.95


def at_recall(points, recall=TARGET_RECALL) -> dict:
    """A curve's QPS at this recall, read off its frontier: {"recall",
    "qps", "kind"}, kind "interpolated", "bound" (the curve's lowest
    recall is above: qps is its QPS there, a lower bound of its QPS at
    this recall) or "above" (the curve never reaches it; qps None)."""
    q, kind = qps_at(points, recall)
    return {"recall": recall, "qps": q, "kind": kind}


def ratio_at(own: dict, ref: dict):
    """own / ref at the same recall from two at_recall() results: (ratio,
    kind) with kind "interpolated", ">=" (a lower bound: own's curve starts
    above the recall), "<=" (an upper bound: ref's does) or None."""
    if own["qps"] is None or ref["qps"] is None:
        return None, None
    r = own["qps"] / ref["qps"]
    ob, rb = own["kind"] == "bound", ref["kind"] == "bound"
    if ob and rb:
        return r, None
    return r, ">=" if ob else "<=" if rb else "interpolated"


def index_points(run) -> list:
    """An index run's points whose plan used the index (all of them if none
    did, e.g. the smoke's btree): a point the planner answered with a
    sequential scan says nothing about the index, so it is left out of the
    run's curve, its QPS at 0.95 and its best recall."""
    pts = run["points"]
    if run.get("am"):
        used = [p for p in pts if p.get("uses_index", True)]
        return used or pts
    return pts


def _is_grid(run) -> bool:
    return len(run.get("sweep") or []) > 1


def vecdb_runs(ds):
    return (ds.get("vecdb") or {}).get("runs", [])


def refs_by_name(ds):
    return {r["name"]: r for r in ds.get("references", [])}


def _ordered(names) -> list:
    """Reference names in REF_ORDER's order (faiss-ivfpq-2 after faiss-ivfpq)."""
    def key(n):
        base = "faiss-ivfpq" if n.startswith("faiss-ivfpq") else n
        return (REF_ORDER.index(base) if base in REF_ORDER else len(REF_ORDER), n)
    return sorted(names, key=key)


def analyze_dataset(ds) -> None:
    """Adds each vecdb point's ratios to every reference; each curve's
    (vecdb run's and reference's) frontier marks ("on_frontier") and QPS at
    recall 0.95 ("at_0.95"); ds["ivfpq"], the ivfpq runs' figures against
    their targets; and ds["targets"]."""
    refs = refs_by_name(ds)
    for curve in vecdb_runs(ds) + ds.get("references", []):
        pts = index_points(curve) if any(curve is r for r in vecdb_runs(ds)) else curve["points"]
        best = set(frontier(pts))
        for p in curve["points"]:
            p["on_frontier"] = any(p is x for x in pts) and (p["recall"], p["qps"]) in best
        curve["at_0.95"] = at_recall(pts)
    for run in vecdb_runs(ds):
        for p in run["points"]:
            p["ratios"] = {}
            for name, ref in refs.items():
                q, kind = qps_at(ref["points"], p["recall"])
                p["ratios"][name] = {"ref_qps": q, "kind": kind, "ratio": p["qps"] / q if q else None}
    ds["ivfpq"] = ivfpq_summary(ds)
    ds["streaming"] = streaming_summary(ds)
    ds["targets"] = targets(ds)


def _hnsw_run(ds):
    return next((run for run in vecdb_runs(ds) if run["am"] == "hnsw"), None)


def ivfpq_summary(ds) -> list:
    """For each ivfpq run: its shape (vecdb_ivfpq_info), size / raw
    vectors, best recall, QPS at recall 0.95 beside its faiss-ivfpq
    reference's (same nlist and m) and their ratio, and build time beside
    the run's (first) hnsw build."""
    out = []
    refs = refs_by_name(ds)
    raw = ds["n"] * ds["d"] * 4
    hnsw = _hnsw_run(ds)
    for run in vecdb_runs(ds):
        if run["am"] != "ivfpq":
            continue
        own = run.get("at_0.95") or at_recall(index_points(run))
        ref_name = run.get("faiss_reference", "faiss-ivfpq")
        ref = refs.get(ref_name)
        s = {"index": run["index_names"][0] if run.get("index_names") else run["name"],
             "index_sql": run["index_sql"], "info": run.get("ivfpq_info"),
             "index_bytes": run["index_bytes"], "raw_vector_bytes": raw, "size_ratio": run["index_bytes"] / raw,
             "max_recall": max(p["recall"] for p in index_points(run)), "qps_at_0.95": own,
             "points_without_index": sum(1 for p in run["points"] if not p.get("uses_index", True)),
             "build_seconds": run["build_seconds"], "reference": ref_name if ref else None}
        if ref:
            rat = ref.get("at_0.95") or at_recall(ref["points"])
            ratio, kind = ratio_at(own, rat)
            s.update({"reference_params": ref.get("params"), "reference_qps_at_0.95": rat,
                      "reference_build_seconds": ref["build_seconds"], "reference_bytes": ref.get("index_bytes"),
                      "qps_ratio_at_0.95": ratio, "qps_ratio_kind": kind})
        if hnsw:
            s.update({"hnsw_index_sql": hnsw["index_sql"], "hnsw_build_seconds": hnsw["build_seconds"],
                      "build_ratio_vs_hnsw": run["build_seconds"] / hnsw["build_seconds"]})
        out.append(s)
    return out


def _status(ok):
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def targets(ds) -> list:
    """targets.md's rows that this result can speak to."""
    out = []
    refs = refs_by_name(ds)
    v = ds.get("vecdb") or {}
    raw = ds["n"] * ds["d"] * 4
    plain = (v.get("insert_plain") or {}).get("rows_per_second")
    ivfpq = {s["index_sql"]: s for s in (ds.get("ivfpq") or ivfpq_summary(ds))}
    for run in vecdb_runs(ds):
        if run["am"] is None:
            for p in run["points"]:
                r = p["ratios"].get("faiss-flat")
                if r and r["ratio"] is not None:
                    out.append({"what": f"exact scan QPS / faiss IndexFlat (batch, 1 thread) [{p['label']}]",
                                "value": r["ratio"], "target": ">= 0.8", "status": _status(r["ratio"] >= 0.8),
                                "note": f"{p['qps']:.1f} vs {r['ref_qps']:.1f} QPS"})
                r1 = p["ratios"].get("faiss-flat-1by1")
                if r1 and r1["ratio"] is not None:
                    out.append({"what": f"exact scan QPS / faiss IndexFlat (one query a search() call) [{p['label']}]",
                                "value": r1["ratio"], "target": ">= 0.8 (if the target means this reading)",
                                "status": _status(r1["ratio"] >= 0.8),
                                "note": f"{p['qps']:.1f} vs {r1['ref_qps']:.1f} QPS"})
                out.append({"what": "exact run's recall (harness check)", "value": p["recall"], "target": "= 1.0",
                            "status": _status(p["recall"] >= 1.0 - 1e-12), "note": ""})
            continue
        am = run["am"]
        ref_name = {"hnsw": "hnswlib"}.get(am)
        floor = {"hnsw": 0.6}.get(am)
        if ref_name and ref_name in refs:
            good = [p for p in run["points"] if p["recall"] >= 0.95]
            vals = [p["ratios"][ref_name] for p in good]
            exact = [x["ratio"] for x in vals if x["kind"] == "interpolated"]
            if good:
                worst = min(x["ratio"] for x in vals if x["ratio"] is not None) if any(
                    x["ratio"] is not None for x in vals) else None
                ok = None if worst is None else (worst >= floor if len(exact) == len(vals) else
                                                 (False if worst < floor else None))
                out.append({"what": f"{am} QPS / {ref_name}'s at equal recall (points with recall >= 0.95)",
                            "value": worst, "target": f">= {floor}", "status": _status(ok),
                            "note": ", ".join(f"{p['label']}: {_fmt_ratio(x)}" for p, x in zip(good, vals))})
            else:
                out.append({"what": f"{am} recall >= 0.95 reachable", "value": max(p["recall"] for p in run["points"]),
                            "target": ">= 0.95", "status": "NOT met", "note": "no point of the sweep reaches it"})
        if am == "hnsw" and "hnswlib" in refs:
            ratio = run["build_seconds"] / refs["hnswlib"]["build_seconds"]
            out.append({"what": "hnsw build time / hnswlib's (1 thread, same m, ef_construction)", "value": ratio,
                        "target": "<= 0.5", "status": _status(ratio <= 0.5),
                        "note": f"{run['build_seconds']:.1f} s vs {refs['hnswlib']['build_seconds']:.1f} s"})
        if am == "hnsw":
            m = int(run["options"].get("m", 16))
            bound = 1.1 * raw + ds["n"] * 2 * m * LINK_BYTES
            # targets.md: with compressed storage, half the bound
            limit = 0.5 if str(run["options"].get("quantization", "none")).strip("'") != "none" else 1.0
            out.append({"what": f"hnsw index size / (1.1 x raw vectors + 2m {LINK_BYTES}-byte links a row)",
                        "value": run["index_bytes"] / bound, "target": f"<= {limit}",
                        "status": _status(run["index_bytes"] <= limit * bound),
                        "note": f"{run['index_bytes'] / 2**20:.1f} MiB; raw vectors {raw / 2**20:.1f} MiB"})
        if am == "ivfpq":
            out += _ivfpq_targets(ivfpq.get(run["index_sql"]) or {})
        ins = run.get("insert")
        # the no-index rate measured block by block beside this index's
        # (items_plain), else the data set's, measured after the index runs
        ref = (run.get("insert_plain") or {}).get("rows_per_second") or plain
        if ins and ref:
            streaming = am in ("hnsw", "ivfpq")
            ratio = ins["rows_per_second"] / ref
            path = f" ({ins['path']})" if ins.get("path") else ""
            out.append({"what": f"single-row INSERT rate with the {am} index{path} / without", "value": ratio,
                        "target": ">= 0.8" if streaming else "(for information: not a vecdb index)",
                        "status": _status(ratio >= 0.8) if streaming else "",
                        "note": f"{ins['rows_per_second']:.0f} vs {ref:.0f} rows/s, {ins['rows']} rows"
                                + (" interleaved with the table without an index" if run.get("insert_plain") else "")
                                + _merge_note(ins)})
        sync = run.get("insert_sync")
        if sync and ref:
            out.append({"what": f"single-row INSERT rate with the {am} index ({sync['path']}) / without",
                        "value": sync["rows_per_second"] / ref, "target": "(for information: the path streaming "
                        "replaces)", "status": "", "note": f"{sync['rows_per_second']:.0f} vs {ref:.0f} rows/s"})
    for sm in ds.get("streaming") or streaming_summary(ds):
        out += _streaming_targets(sm)
    return out


def _merge_note(ins) -> str:
    """What an INSERT measurement on the streaming path says about merges
    during it: none, or how many rows back-pressure (or the worker) merged."""
    if "merged_during" not in ins:
        return ""
    cap = ins.get("hot_tier_max_rows")
    if ins["merged_during"]:
        return (f"; BACK-PRESSURE: {ins['merged_during']} rows merged during the measurement "
                f"(vecdb.hot_tier_max_rows = {cap}, or the worker)")
    return f"; no merge during it (vecdb.hot_tier_max_rows = {cap})"


# ---------------------------------------------------------------------------
# The streaming tier


def streaming_runs(ds):
    return ((ds.get("vecdb") or {}).get("streaming") or {}).get("runs") or []


def _by_label(points):
    return {p["label"]: p for p in points or []}


def streaming_summary(ds) -> list:
    """For each streaming run (suite.py's Vecdb.streaming_run): the INSERT
    rates against the no-index table's measured beside them, the recall
    with the tier full against after vecdb_merge (and after synchronous
    inserts) at each setting, the merge's rows/s against the synchronous
    path's, and the worker's time to merge a burst."""
    out = []
    for run in streaming_runs(ds):
        ins, plain = run.get("insert") or {}, run.get("insert_plain") or {}
        sync, plain_sync = run.get("insert_sync") or {}, run.get("insert_plain_sync") or {}
        merge = run.get("merge") or {}
        full, merged, synced = (_by_label(run.get(k)) for k in ("points_full", "points_merged", "points_sync"))
        points = []
        for label, p in full.items():
            m, y = merged.get(label), synced.get(label)
            points.append({"label": label, "value": p.get("value"), "settings": p.get("settings"),
                           "recall_full": p["recall"], "qps_full": p["qps"], "hot_recall_full": p.get("hot_recall"),
                           "hot_share": p.get("hot_share"),
                           "recall_merged": m and m["recall"], "qps_merged": m and m["qps"],
                           "hot_recall_merged": m and m.get("hot_recall"),
                           "recall_sync": y and y["recall"], "qps_sync": y and y["qps"],
                           "uses_index": p.get("uses_index") and (m or {}).get("uses_index", True)})
        diffs = [x["recall_full"] - x["recall_merged"] for x in points if x["recall_merged"] is not None]

        def rate(x):
            return x.get("rows_per_second")

        def ratio(a, b):
            return rate(a) / rate(b) if rate(a) and rate(b) else None

        sm = {"am": run.get("am"), "index": (run.get("index_names") or ["?"])[0], "index_sql": run.get("index_sql"),
              "rows": run.get("rows"), "table_rows": run.get("table_rows"),
              "insert_rps": rate(ins), "plain_rps": rate(plain), "insert_ratio": ratio(ins, plain),
              "wal_per_row": {k: x.get("wal_bytes_per_row") for k, x in
                              (("streaming", ins), ("plain", plain), ("sync", sync), ("plain_sync", plain_sync),
                               ("merge", merge))},
              "streamed": ins.get("streamed"), "merged_during": ins.get("merged_during"),
              "hot_tier_max_rows": ins.get("hot_tier_max_rows"), "hot_rows_full": (run.get("hot_tier_full") or {}).get("rows"),
              "sync_rps": rate(sync), "plain_sync_rps": rate(plain_sync), "sync_ratio": ratio(sync, plain_sync),
              "merge_rows": merge.get("rows"), "merge_seconds": merge.get("seconds"), "merge_rps": rate(merge),
              "hot_rows_after_merge": (merge.get("hot_tier_after") or {}).get("rows"),
              "merge_vs_sync": ratio(merge, sync),
              "points": points, "min_recall_gain": min(diffs) if diffs else None,
              "worker": run.get("worker") or {"skipped": "not measured"}}
        # the index's own work a row: a synchronous INSERT's time less the
        # no-index table's, against the merge's time a row
        if rate(sync) and rate(plain_sync) and rate(merge):
            sm["sync_index_ms_per_row"] = 1000 * (1 / rate(sync) - 1 / rate(plain_sync))
            sm["merge_ms_per_row"] = 1000 / rate(merge)
        out.append(sm)
    return out


def _streaming_targets(sm) -> list:
    out = []
    am, n = sm["am"], sm["rows"]
    if sm.get("insert_ratio") is not None:
        note = (f"{sm['insert_rps']:.0f} vs {sm['plain_rps']:.0f} rows/s, interleaved with the table without an index"
                + ("" if sm.get("streamed") else "; NOT all rows went to the hot tier")
                + _merge_note({"merged_during": sm.get("merged_during"), "hot_tier_max_rows": sm.get("hot_tier_max_rows")}))
        out.append({"what": f"streaming: {n} single-row INSERTs into the {am} index's filling hot tier / without",
                    "value": sm["insert_ratio"], "target": ">= 0.8", "status": _status(sm["insert_ratio"] >= 0.8),
                    "note": note})
    if sm.get("min_recall_gain") is not None:
        worst = min((p for p in sm["points"] if p["recall_merged"] is not None),
                    key=lambda p: p["recall_full"] - p["recall_merged"])
        out.append({"what": f"streaming: {am} recall@k with {sm['hot_rows_full']} rows hot - after vecdb_merge "
                            "(the worst setting)",
                    "value": sm["min_recall_gain"], "target": ">= 0 (no lower)",
                    "status": _status(sm["min_recall_gain"] >= -1e-9),
                    "note": f"{worst['label']}: {worst['recall_full']:.4f} vs {worst['recall_merged']:.4f}; "
                            + ", ".join(f"{p['value'] if p['value'] is not None else p['label']}: "
                                        f"{p['recall_full']:.4f} / {p['recall_merged']:.4f}" for p in sm["points"]
                                        if p["recall_merged"] is not None)})
    if sm.get("merge_vs_sync") is not None:
        out.append({"what": f"streaming: {am} vecdb_merge rows/s / synchronous INSERT rows/s (streaming = off)",
                    "value": sm["merge_vs_sync"], "target": "(for information)", "status": "",
                    "note": f"{sm['merge_rps']:.0f} vs {sm['sync_rps']:.0f} rows/s; index work a row "
                            f"{sm.get('merge_ms_per_row', 0):.3f} ms merged vs {sm.get('sync_index_ms_per_row', 0):.3f} ms "
                            "synchronous (its INSERT less the no-index table's)"})
    w = sm.get("worker") or {}
    if w.get("skipped"):
        out.append({"what": f"streaming: seconds until the worker has merged a burst of rows ({am})", "value": None,
                    "target": "(for information)", "status": "skipped", "note": w["skipped"]})
    elif w:
        st = w.get("settings") or {}
        out.append({"what": f"streaming: seconds until the worker has merged a burst of {w['rows']} rows ({am})",
                    "value": w.get("seconds_to_empty"), "target": "(for information)",
                    "status": "timed out" if w.get("timed_out") else "",
                    "note": f"first merge after {_f(w.get('seconds_to_first_merge'), '{:.2f}')} s; "
                            f"vecdb.merge_naptime {st.get('vecdb.merge_naptime')}, vecdb.merge_threshold "
                            f"{st.get('vecdb.merge_threshold')}"})
    return out


def _ivfpq_targets(sm) -> list:
    """targets.md's four ivfpq rows, from an ivfpq_summary() entry."""
    if not sm:
        return []
    out = []
    best = sm["max_recall"]
    out.append({"what": "ivfpq recall@k reachable by a setting", "value": best, "target": ">= 0.95",
                "status": _status(best >= 0.95),
                "note": "the best point of the sweep" + (
                    f" whose plan used the index ({sm['points_without_index']} point(s) planned as a sequential "
                    "scan left out)" if sm.get("points_without_index") else "")})
    own = sm["qps_at_0.95"]
    if sm.get("reference"):
        ref = sm["reference_qps_at_0.95"]
        ratio, kind = sm.get("qps_ratio_at_0.95"), sm.get("qps_ratio_kind")
        prm = sm.get("reference_params") or {}
        if ratio is None:
            status = "NOT met" if own["kind"] == "above" else "n/a"
            note = ("ivfpq never reaches recall 0.95" if own["kind"] == "above" else
                    f"{sm['reference']} never reaches recall 0.95" if ref["kind"] == "above" else "")
        else:
            status = (_status(ratio >= 0.5) if kind == "interpolated" else
                      "met" if kind == ">=" and ratio >= 0.5 else "NOT met" if kind == "<=" and ratio < 0.5 else "n/a")
            note = (f"{_qps_text(own)} vs {_qps_text(ref)} QPS (frontiers, log QPS interpolated at recall 0.95); "
                    f"faiss nlist={prm.get('nlist')}, m={prm.get('m')}, nbits={prm.get('nbits')}"
                    + ("" if kind == "interpolated" else f"; ratio {kind or 'unknown: both curves start above 0.95'}"))
        out.append({"what": f"ivfpq QPS at recall 0.95 / {sm['reference']}'s (IVFPQ+refine, same nlist and m)",
                    "value": ratio, "target": ">= 0.5", "status": status, "note": note})
    out.append({"what": "ivfpq index size / raw vectors", "value": sm["size_ratio"], "target": "<= 0.2",
                "status": _status(sm["size_ratio"] <= 0.2),
                "note": f"{sm['index_bytes'] / 2**20:.1f} MiB vs {sm['raw_vector_bytes'] / 2**20:.1f} MiB"})
    if sm.get("build_ratio_vs_hnsw") is not None:
        out.append({"what": "ivfpq build / vecdb hnsw build (same run)", "value": sm["build_ratio_vs_hnsw"],
                    "target": "<= 0.25", "status": _status(sm["build_ratio_vs_hnsw"] <= 0.25),
                    "note": f"{sm['build_seconds']:.1f} s vs {sm['hnsw_build_seconds']:.1f} s"})
    return out


def _qps_text(a) -> str:
    if a is None or a.get("qps") is None:
        return "–" if not a or a.get("kind") != "above" else "above"
    return (">=" if a["kind"] == "bound" else "") + f"{a['qps']:,.0f}"


def _frontier_text(points) -> str:
    return ", ".join(f"{r:.3f} / {q:,.0f}" for r, q in frontier(points))


def _fmt_ratio(x) -> str:
    if not x or x["ratio"] is None:
        return "–" if not x or x["kind"] != "above" else "above"
    r = x["ratio"]
    text = f"{r:.0f}" if r >= 10 else f"{r:.2f}" if r >= 0.1 else f"{r:.3f}" if r >= 0.001 else f"{r:.1e}"
    return ("<=" if x["kind"] == "bound" else "") + text


# ---------------------------------------------------------------------------
# Files


def _plain(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def write_json(result, path) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1, default=_plain)
    os.replace(tmp, path)


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "result.json")
    with open(path) as f:
        return json.load(f)


# ---------------------------------------------------------------------------
# Markdown


def _mib(b):
    return "–" if b is None else f"{b / 2**20:.1f}"


def _f(x, fmt="{:.1f}"):
    return "–" if x is None else fmt.format(x)


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _setting_label(run, p):
    if p["setting"] is None:
        return "–" if run["am"] is None else "(defaults)"
    if len(p.get("settings") or {}) > 1:
        return p["label"]
    return f"{p['setting']}={p['value']}"


def dataset_markdown(ds) -> str:
    k = ds["k"]
    out = [f"## {ds['name']}: {ds['n']:,} x {ds['d']}, {ds['metric']} (`{ds['operator']}`), k = {k}", ""]
    v = ds.get("vecdb")
    refs = refs_by_name(ds)
    ref_names = _ordered(refs)
    la = ds.get("load_average")
    if la:
        out += [f"Machine load average (1 min): {la['start'][0]:.2f} at the start, {la['end'][0]:.2f} at the end "
                f"(other work on the machine skews the figures).", ""]
    if v:
        out.append(f"{ds['queries']} queries for index runs and references; {ds['exact_queries']} for vecdb's exact "
                   f"(index-less) run. vecdb's QPS: all queries in one SQL statement:")
        out += ["", "```sql", ds["sql"], "```", ""]
    header = ["vecdb", "setting", f"recall@{k}", "QPS", "curve"] + [f"vs {r}" for r in ref_names]
    clients = sorted({c["clients"] for run in vecdb_runs(ds) for p in run["points"] for c in p["clients"]})
    for c in clients:
        header += [f"{c} client{'s' if c > 1 else ''}: QPS", "p50 / p99 ms"]
    rows = []
    for run in vecdb_runs(ds):
        for p in run["points"]:
            row = [run["name"] if run["am"] else "exact scan", _setting_label(run, p), f"{p['recall']:.4f}",
                   f"{p['qps']:.1f}", "*" if p.get("on_frontier") else ""]
            row += [_fmt_ratio(p["ratios"].get(r)) for r in ref_names]
            by = {c["clients"]: c for c in p["clients"]}
            for c in clients:
                x = by.get(c)
                row += ["–", "–"] if not x else [f"{x['qps']:.1f}", f"{x['p50_ms']:.2f} / {x['p99_ms']:.2f}"]
            if run["am"] and not p.get("uses_index"):
                row[1] += " (plan does not use the index)"
            rows.append(row)
    if rows:
        out += ["### vecdb: recall and throughput", "",
                "QPS: one statement for all queries. `curve` `*`: on the run's Pareto frontier (no other point of "
                "the run has both higher recall and higher QPS; a grid sweep's curve is its frontier). `vs X`: "
                "vecdb's QPS / X's QPS at the same recall (read off X's curve; `<=` an upper bound, X's lowest recall "
                "being higher; `above`: X never reaches that recall). Clients: one query a round trip, each client "
                "its own connection.", "", _table(header, rows), ""]
    rows = []
    for run in vecdb_runs(ds):
        if run["am"] and run.get("at_0.95"):
            rows.append([f"vecdb {run['name']}", run.get("sweep_setting") or "–", _qps_text(run["at_0.95"]),
                         _frontier_text(index_points(run))])
    for name in ref_names:
        if refs[name].get("at_0.95") and name.startswith(("hnswlib", "faiss-ivfpq")):
            rows.append([name, ", ".join(f"{a}={b}" for a, b in refs[name]["params"].items() if a in (
                "m", "ef_construction", "nlist", "nbits", "k_factor")), _qps_text(refs[name]["at_0.95"]),
                _frontier_text(refs[name]["points"])])
    if rows:
        out += [f"### QPS at recall@{k} {TARGET_RECALL}", "",
                f"Each curve's Pareto frontier, log QPS interpolated linearly in recall between the two frontier "
                f"points around {TARGET_RECALL} (`>=`: the curve's lowest recall is above it, the QPS there a lower "
                f"bound; `above`: never reached).", "",
                _table(["curve", "swept", f"QPS at {TARGET_RECALL}", "frontier (recall / QPS)"], rows), ""]
    if ds.get("ivfpq"):
        rows = []
        for sm in ds["ivfpq"]:
            info = sm.get("info") or {}
            prm = sm.get("reference_params") or {}
            ratio = sm.get("qps_ratio_at_0.95")
            kind = sm.get("qps_ratio_kind")
            rows.append([
                f"`{sm['index']}`: lists={info.get('lists', '?')}, m={info.get('m', '?')}, nbits={info.get('nbits', '?')}",
                f"{sm['size_ratio']:.3f}", f"{sm['max_recall']:.4f}",
                _qps_text(sm["qps_at_0.95"]),
                (f"{_qps_text(sm['reference_qps_at_0.95'])} (nlist={prm.get('nlist')}, m={prm.get('m')})"
                 if sm.get("reference") else "–"),
                "–" if ratio is None else ("" if kind in ("interpolated", None) else kind) + f"{ratio:.2f}",
                (f"{sm['build_seconds']:.1f} / {sm['hnsw_build_seconds']:.1f} = {sm['build_ratio_vs_hnsw']:.2f}"
                 if sm.get("build_ratio_vs_hnsw") is not None else f"{sm['build_seconds']:.1f} / –")])
        out += ["### ivfpq against targets.md", "",
                f"size: pg_relation_size of the index / raw vectors (n x d x 4 bytes; target <= 0.2); best recall@{k} "
                f"of the sweep (target: >= 0.95 reachable); QPS at recall {TARGET_RECALL} read off each frontier, "
                "vecdb's and faiss IndexIVFPQ + IndexRefineFlat's with the index's nlist and m (target: ratio >= "
                "0.5); build: ivfpq's CREATE INDEX / the same run's hnsw CREATE INDEX (target <= 0.25).", "",
                _table(["index", "size / raw", f"best recall@{k}", f"QPS at {TARGET_RECALL}",
                        f"faiss IVFPQ+refine QPS at {TARGET_RECALL}", "QPS ratio", "build s / hnsw build s"], rows), ""]
    rows = []
    for name in ref_names:
        best = set(frontier(refs[name]["points"]))
        for p in refs[name]["points"]:
            rows.append([name, p["label"], f"{p['recall']:.4f}", f"{p['qps']:.1f}", p["queries"],
                         "*" if (p["recall"], p["qps"]) in best else ""])
    if rows:
        out += ["### References (in memory, one thread)", "",
                "QPS: one search call for all queries (faiss-flat-1by1: one call a query). `*`: on the reference's "
                "curve (no other of its points has both higher recall and higher QPS); the ratios use these.", "",
                _table(["reference", "setting", f"recall@{k}", "QPS", "queries", "curve"], rows), ""]

    rows = []
    if v:
        load = v["load"]
        rows.append(["table items (COPY)", _f(load["copy_seconds"]), _mib(load["relation_bytes"]),
                     f"+ TOAST {_mib(load['toast_bytes'])}", f"{load['table_bytes'] / load['raw_vector_bytes']:.2f}"])
        for run in vecdb_runs(ds):
            if run["am"]:
                rows.append([f"vecdb {run['name']}: `{run['index_sql']}`", _f(run["build_seconds"]),
                             _mib(run["index_bytes"]), "", f"{run['index_bytes'] / load['raw_vector_bytes']:.2f}"])
    raw = ds["n"] * ds["d"] * 4
    for name in ref_names:
        r = refs[name]
        if name == "faiss-flat-1by1":
            continue
        params = ", ".join(f"{a}={b}" for a, b in r["params"].items())
        rows.append([f"{name} ({params})", _f(r["build_seconds"]), _mib(r.get("index_bytes")), "",
                     _f(r["index_bytes"] / raw, "{:.2f}") if r.get("index_bytes") else "–"])
    out += ["### Build and size", "",
            f"Raw vectors: {_mib(raw)} MiB (n x d x 4 bytes). Sizes are pg_relation_size; the references' are their "
            "in-memory structures (hnswlib: its saved file; faiss-ivfpq: the IVF-PQ part, without the refine "
            "step's copy of the vectors).", "",
            _table(["what", "build s", "MiB", "", "/ raw vectors"], rows), ""]

    if v and (v.get("insert_plain") or any(run.get("insert") for run in vecdb_runs(ds))):
        plain = (v.get("insert_plain") or {}).get("rows_per_second")
        rows = []
        for run in vecdb_runs(ds):
            ref = (run.get("insert_plain") or {}).get("rows_per_second") or plain
            for key in ("insert", "insert_sync"):
                i = run.get(key)
                if not i:
                    continue
                hot = ""
                if "hot_rows_added" in i:
                    hot = f"+{i['hot_rows_added']} hot" + (f", {i['merged_during']} merged (back-pressure)"
                                                           if i["merged_during"] else ", none merged")
                elif "hot_rows_added" in (run.get("insert") or {}):
                    hot = "–"
                rows.append([f"with the {run['name']} index" + (f", {i['path']}" if i.get("path") else ""), i["rows"],
                             f"{i['rows_per_second']:.0f}", _f(i["rows_per_second"] / ref, "{:.2f}") if ref else "–",
                             _f(i.get("wal_bytes_per_row"), "{:,.0f}"), hot])
            if run.get("insert_plain"):
                i = run["insert_plain"]
                rows.append([f"without an index (items_plain, beside the {run['name']} index's)", i["rows"],
                             f"{i['rows_per_second']:.0f}", "1.00", _f(i.get("wal_bytes_per_row"), "{:,.0f}"), ""])
        if plain:
            rows.append(["without an index (items, after the index runs)", v["insert_plain"]["rows"], f"{plain:.0f}",
                         "", "", ""])
        out += ["### Single-row INSERT", "",
                "Each INSERT its own transaction, one client, prepared. With an index, its rows are inserted in "
                "blocks interleaved with as many into items_plain, a copy of the table without an index (`/ "
                "without` divides by that); a vecdb index takes them on the streaming path (the default) and as "
                "many again with `streaming = off`. `hot tier`: what vecdb_hot_tier saw the rows do.", "",
                _table(["table", "rows", "rows/s", "/ without", "WAL bytes a row", "hot tier"], rows), ""]
    out += streaming_markdown(ds)

    if ds.get("targets"):
        rows = [[t["what"], _f(t["value"], "{:.3f}"), t["target"], t["status"], t["note"]] for t in ds["targets"]]
        out += ["### targets.md", "", _table(["what", "value", "target", "status", "note"], rows), ""]
    return "\n".join(out)


def streaming_markdown(ds) -> list:
    st = (ds.get("vecdb") or {}).get("streaming") or {}
    if not st:
        return []
    if st.get("skipped"):
        return ["### Streaming tier", "", f"Not measured: {st['skipped']}.", ""]
    sms = ds.get("streaming") or streaming_summary(ds)
    if not sms:
        return []
    k = ds["k"]
    out = ["### Streaming tier", "",
           f"{st['rows']:,} rows of the base (seeded choice) held back: each index is built on the other "
           f"{st['table_rows']:,}, the held-back rows are inserted one a transaction (in blocks interleaved with as "
           "many into items_plain, no index), and the queries' ground truth is the whole base's, so it includes "
           "them. `hot`: recall with them all still in the hot tier; `merged`: after `vecdb_merge`; `sync`: a "
           "fresh build with `streaming = off` and the same inserts. `hot rows' recall`: of the true neighbours "
           "that are held-back rows, the share returned (the tier is scanned exactly).", ""]
    rows = []
    for sm in sms:
        w = sm["worker"]
        if w.get("skipped"):
            wtext = "skipped: " + w["skipped"].split(" (")[0]
        elif w.get("timed_out"):
            wtext = f"not merged after the timeout ({(w.get('hot_tier_end') or {}).get('rows')} rows left)"
        else:
            wtext = (f"{w['rows']:,} rows in {w['seconds_to_empty']:.1f} s (first merge after "
                     f"{_f(w.get('seconds_to_first_merge'), '{:.1f}')} s)")
        rows.append([f"{sm['am']}: `{sm['index_sql']}`",
                     f"{_f(sm['insert_rps'], '{:.0f}')} / {_f(sm['plain_rps'], '{:.0f}')} = "
                     f"**{_f(sm['insert_ratio'], '{:.2f}')}**"
                     + ("" if not sm.get("merged_during") else f" ({sm['merged_during']} rows merged by back-pressure)"),
                     f"{_f(sm['sync_rps'], '{:.0f}')} / {_f(sm['plain_sync_rps'], '{:.0f}')} = "
                     f"{_f(sm['sync_ratio'], '{:.2f}')}",
                     f"{sm['merge_rows']:,} in {sm['merge_seconds']:.2f} s = {_f(sm['merge_rps'], '{:,.0f}')}"
                     if sm.get("merge_rows") is not None else "–",
                     _f(sm.get("merge_vs_sync"), "{:.2f}"),
                     f"{_f(sm.get('merge_ms_per_row'), '{:.3f}')} / {_f(sm.get('sync_index_ms_per_row'), '{:.3f}')}",
                     " / ".join(_f(sm["wal_per_row"].get(k), "{:,.0f}") for k in ("streaming", "plain", "sync",
                                                                                     "merge")),
                     wtext])
    out += [_table(["index", "INSERT rows/s streaming / without", "streaming = off / without", "vecdb_merge rows/s",
                    "merge / sync rows/s", "index ms a row: merge / sync", "WAL bytes a row: INSERT streaming / no index / sync; merge",
                    "background worker"], rows), ""]
    rows = []
    for sm in sms:
        for p in sm["points"]:
            rows.append([sm["am"], p["label"] + ("" if p.get("uses_index") else " (plan does not use the index)"),
                         f"{p['recall_full']:.4f}", _f(p["recall_merged"], "{:.4f}"), _f(p["recall_sync"], "{:.4f}"),
                         _f(p["hot_recall_full"], "{:.4f}"), _f(p["hot_recall_merged"], "{:.4f}"),
                         _f(p["hot_share"], "{:.3f}"),
                         f"{p['qps_full']:.0f} / {_f(p['qps_merged'], '{:.0f}')} / {_f(p['qps_sync'], '{:.0f}')}"])
    out += [_table(["index", "setting", f"recall@{k} hot", "merged", "sync", "hot rows' recall: hot", "merged",
                    "share of the truth held back", "QPS hot / merged / sync"], rows), ""]
    return out


def markdown(result) -> str:
    srv = result.get("server") or {}
    m = result.get("machine", {})
    blas = ", ".join(sorted(set((result.get("blas") or {}).get("libblas.so.3", {}).values()))) or "?"
    lines = [f"# vecdb benchmark: {result['label']}", "",
             f"- command: `{result['command']}` ({result.get('seconds', 0):.0f} s)",
             f"- when: {result['created']}; git {((result.get('git') or {}).get('commit') or '?')[:12]}"
             + (" (with uncommitted changes)" if (result.get("git") or {}).get("dirty") else ""),
             f"- machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory', '?')}; "
             f"ISA {' '.join(m.get('isa', []))}"]
    if srv:
        lines.append(f"- server: {srv['version'].split(',')[0]}, vecdb {srv['vecdb']}, "
                     f"{'a throwaway cluster' if srv.get('own_cluster') else 'an existing server'}; "
                     + ", ".join(f"{k} = {v}" for k, v in sorted(srv["settings"].items())))
    lines.append(f"- references: one thread (OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1); libblas.so.3 -> {blas}")
    lines.append("")
    for ds in result["datasets"]:
        lines.append(dataset_markdown(ds))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Plots


def plots(result, outdir) -> list:
    """One PNG a data set (NAME.png), and for a data set with an ivfpq run
    one of ivfpq beside faiss IVFPQ+refine (NAME-ivfpq.png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for ds in result["datasets"]:
        paths.append(_plot(plt, ds, os.path.join(outdir, f"{ds['name']}.png"), vecdb_runs(ds),
                           ds.get("references", []), zoom_at=TARGET_RECALL, mark=False,
                           title=f"{ds['name']}: {ds['n']:,} x {ds['d']}, {ds['metric']}, k={ds['k']}, one thread"))
        ivf = [run for run in vecdb_runs(ds) if run["am"] == "ivfpq"]
        if ivf:
            names = {run.get("faiss_reference", "faiss-ivfpq") for run in ivf}
            refs = [r for r in ds.get("references", []) if r["name"] in names]
            paths.append(_plot(plt, ds, os.path.join(outdir, f"{ds['name']}-ivfpq.png"), ivf, refs, zoom_at=0.9,
                               mark=True, title=f"{ds['name']}: {ds['n']:,} x {ds['d']}, {ds['metric']}, k={ds['k']}: "
                                                f"vecdb ivfpq vs faiss IVFPQ+refine (same nlist, m), one thread"))
        sms = ds.get("streaming") or streaming_summary(ds)
        if sms:
            paths.append(_plot_streaming(plt, ds, sms, os.path.join(outdir, f"{ds['name']}-streaming.png")))
    return paths


_STREAMING_COLORS = ["tab:blue", "tab:red", "tab:purple", "tab:brown"]
_STATES = (("full", "-", "o", "{} rows hot"), ("merged", "--", "s", "after vecdb_merge"),
           ("sync", ":", "^", "streaming = off (synchronous inserts)"))


def _plot_streaming(plt, ds, sms, path):
    """NAME-streaming.png. Left: recall@k on x, QPS on a log y, for each
    index with its held-back rows hot, after vecdb_merge and after
    synchronous inserts, at the same settings (labelled with their values).
    Right: rows/s on a log x: single-row INSERTs without an index, on the
    streaming path and the synchronous one, vecdb_merge, and the worker
    (from its first merge of the burst to the empty tier)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 7), dpi=100)
    for i, sm in enumerate(sms):
        color = _STREAMING_COLORS[i % len(_STREAMING_COLORS)]
        for key, ls, marker, text in _STATES:
            pts = [{"recall": p[f"recall_{key}"], "qps": p[f"qps_{key}"], "value": p["value"], "label": p["label"]}
                   for p in sm["points"] if p.get(f"recall_{key}") is not None]
            if not pts:
                continue
            # a grid's points in sweep order zigzag: the line runs along the
            # state's frontier, every point drawn as a marker
            line = frontier_points(pts)
            left.plot([p["recall"] for p in pts], [p["qps"] for p in pts], linestyle="", marker=marker,
                      markersize=6, color=color, alpha=1.0 if key == "full" else 0.6)
            left.plot([p["recall"] for p in line], [p["qps"] for p in line], linestyle=ls, marker=marker,
                      linewidth=2.2 if key == "full" else 1.6, color=color, alpha=1.0 if key == "full" else 0.75,
                      label=f"vecdb {sm['am']}: " + text.format(f"{sm['hot_rows_full']:,}"))
            if key == "full":
                for p in pts:
                    left.annotate(str(p["value"] if p["value"] is not None else p["label"]), (p["recall"], p["qps"]),
                                  textcoords="offset points", xytext=(4, 6), fontsize=8, color=color)
    left.set_yscale("log")
    left.set_xlabel(f"recall@{ds['k']} (ground truth: the whole base, held-back rows included)")
    left.set_ylabel("queries per second (log scale)")
    left.set_title("recall with the hot tier full, after the merge, after synchronous inserts", fontsize=11)
    left.grid(True, which="major", alpha=0.4)
    left.grid(True, which="minor", alpha=0.15)

    bars = []  # (label, rows/s, color, hatch, ratio text)
    for i, sm in enumerate(sms):
        color = _STREAMING_COLORS[i % len(_STREAMING_COLORS)]
        am = sm["am"]
        if sm.get("plain_rps"):
            bars.append((f"{am}: INSERT, table without an index", sm["plain_rps"], "lightgray", "", "1.00"))
        if sm.get("insert_rps"):
            bars.append((f"{am}: INSERT, streaming (hot tier)", sm["insert_rps"], color, "",
                         f"{_f(sm.get('insert_ratio'), '{:.2f}')} x no index"))
        if sm.get("sync_rps"):
            bars.append((f"{am}: INSERT, streaming = off", sm["sync_rps"], color, "//",
                         f"{_f(sm.get('sync_ratio'), '{:.2f}')} x no index"))
        if sm.get("merge_rps"):
            bars.append((f"{am}: vecdb_merge of {sm['merge_rows']:,} hot rows", sm["merge_rps"], color, "..",
                         f"{_f(sm.get('merge_vs_sync'), '{:.2f}')} x streaming = off"))
        w = sm.get("worker") or {}
        if w.get("merge_rows_per_second_after_start"):
            bars.append((f"{am}: worker, burst of {w['rows']:,}", w["merge_rows_per_second_after_start"], color, "xx",
                         f"empty {w['seconds_to_empty']:.1f} s after the commit"))
    ys = list(range(len(bars)))[::-1]
    for y, (label, rate, color, hatch, note) in zip(ys, bars):
        right.barh(y, rate, color=color, hatch=hatch, edgecolor="black", alpha=0.85)
        right.annotate(f"{rate:,.0f}  ({note})", (rate, y), textcoords="offset points", xytext=(4, -3), fontsize=8)
    right.set_yticks(ys)
    right.set_yticklabels([b[0] for b in bars], fontsize=8)
    right.set_xscale("log")
    if bars:
        right.set_xlim(min(b[1] for b in bars) / 2, max(b[1] for b in bars) * 12)
    right.set_xlabel("rows per second (log scale); INSERTs one a transaction, one client")
    skipped = [sm for sm in sms if (sm.get("worker") or {}).get("skipped")]
    right.set_title("INSERT, merge" + (" (the background worker: not measured, see results.md)" if skipped
                                       else " and background worker") + " rows/s", fontsize=11)
    right.grid(True, axis="x", which="major", alpha=0.4)
    fig.suptitle(f"{ds['name']}: {ds['n']:,} x {ds['d']}, {ds['metric']}, k={ds['k']}: the streaming hot tier, "
                 f"{sms[0]['rows']:,} rows held back and inserted")
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def _plot(plt, ds, path, runs, refs, zoom_at, mark, title):
    """recall on x, QPS on a log y axis. When some point lies below recall
    zoom_at, a second panel zooms into zoom_at..1, where the targets are
    stated and the curves crowd. mark: grids' off-frontier points drawn
    faintly, and each curve's QPS at recall 0.95 marked."""
    recalls = [p["recall"] for run in runs for p in run["points"]]
    recalls += [p["recall"] for ref in refs for p in ref["points"]]
    zoom = bool(recalls) and min(recalls) < zoom_at
    fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(15 if zoom else 10, 7), dpi=100, squeeze=False)
    _draw(axes[0][0], ds, labels=(lambda r: r < zoom_at) if zoom else (lambda r: True), runs=runs, refs=refs,
          mark=mark)
    if zoom:
        _draw(axes[0][1], ds, labels=lambda r: True, xmin=zoom_at, runs=runs, refs=refs, mark=mark)
        axes[0][1].set_title("the same, recall@%d >= %g" % (ds["k"], zoom_at), fontsize=11)
    fig.suptitle(title)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3 if zoom else 2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


_STYLES = {"hnswlib": ("tab:orange", "s", "-"), "faiss-ivfpq": ("tab:green", "^", "-"),
           "faiss-flat": ("tab:red", "X", ""), "faiss-flat-1by1": ("tab:purple", "P", "")}
_VECDB_COLORS = ["tab:blue", "tab:cyan", "tab:olive", "tab:brown", "tab:pink"]


def _ref_kind(name: str) -> str:
    """faiss-ivfpq-2 -> faiss-ivfpq (a second faiss-ivfpq configuration)."""
    return "faiss-ivfpq" if name.startswith("faiss-ivfpq") else name


def _short(name: str) -> str:
    return name.split(".")[-1]


def _ref_label(ref):
    params = ref.get("params", {})
    kind = _ref_kind(ref["name"])
    if kind == "hnswlib":
        return f"hnswlib (m={params.get('m')}, ef_construction={params.get('ef_construction')}), ef sweep"
    if kind == "faiss-ivfpq":
        return (f"{ref['name'].replace('faiss-ivfpq', 'faiss IVFPQ+refine')} (nlist={params.get('nlist')}, "
                f"M={params.get('m')}), frontier of nprobe x k_factor ({params.get('k_factor')}); labels "
                f"nprobe/k_factor")
    if kind == "faiss-flat":
        return "faiss IndexFlat, exact (batch)"
    if kind == "faiss-flat-1by1":
        return "faiss IndexFlat, exact (one query a call)"
    return ref["name"]


def _draw(ax, ds, labels, xmin=None, runs=None, refs=None, mark=False):
    """recall on x, QPS on a log y; only points with recall >= xmin;
    setting values written beside the points whose recall labels(recall)
    (one curve's labels skip points too close to a labelled one). A grid
    sweep (vecdb's, or faiss-ivfpq's nprobe x k_factor) is drawn as its
    frontier; with mark, its other points faintly, a dotted line at recall
    0.95 and each curve's interpolated QPS there as a diamond."""
    runs = vecdb_runs(ds) if runs is None else runs
    refs = ds.get("references", []) if refs is None else refs

    def keep(pts):
        return [p for p in pts if xmin is None or p["recall"] >= xmin - 1e-12]

    def lead_in(pts):
        """A line's last point left of xmin, so that a zoomed line runs on
        from the panel's left edge (drawn, but not counted for the axes)."""
        left = [p for p in pts if xmin is not None and p["recall"] < xmin - 1e-12]
        return [max(left, key=lambda p: p["recall"])] if left else []

    recalls, qps, notes = [], [], []  # notes: (curve, text, x, y, color, dy, size)
    at95 = []  # (qps, color)

    def faint(pts, color, marker):
        if pts:
            ax.plot([p["recall"] for p in pts], [p["qps"] for p in pts], marker=marker, markersize=4,
                    linestyle="", color=color, alpha=0.35)

    for i, run in enumerate(runs):
        color = _VECDB_COLORS[vecdb_runs(ds).index(run) % len(_VECDB_COLORS)] if run in vecdb_runs(ds) else \
            _VECDB_COLORS[i % len(_VECDB_COLORS)]
        all_pts = keep(run["points"])
        recalls += [p["recall"] for p in all_pts]
        qps += [p["qps"] for p in all_pts]
        if run["am"] is None and len(run["points"]) == 1:
            ax.plot([p["recall"] for p in all_pts], [p["qps"] for p in all_pts], marker="*", markersize=16,
                    linestyle="", color="black",
                    label=f"vecdb exact scan, no index ({run['points'][0]['queries']} queries)")
            continue
        if _is_grid(run):
            front = keep(frontier_points(index_points(run)))
            if mark:
                faint([p for p in all_pts if p not in front], color, "o")
            names = "/".join(_short(n) for n, _ in run["sweep"])
            name = f"vecdb {run['name']} ({' x '.join(n for n, _ in run['sweep'])}), frontier; labels {names}"
            pts = front
        else:
            name = f"vecdb {run['name']}" + (f" ({run['sweep_setting']})" if run["sweep_setting"] else "")
            pts = all_pts
        line = lead_in(frontier_points(index_points(run)) if _is_grid(run) else run["points"]) + pts
        ax.plot([p["recall"] for p in line], [p["qps"] for p in line], marker="o", linewidth=2.2, color=color,
                label=name)
        notes += [(name, str(p["value"]), p["recall"], p["qps"], color, 6, 8) for p in pts if p["value"] is not None]
        if mark and (run.get("at_0.95") or {}).get("kind") == "interpolated":
            at95.append((run["at_0.95"]["qps"], color))
    for ref in refs:
        color, marker, ls = _STYLES.get(_ref_kind(ref["name"]), ("gray", "d", "-"))
        all_pts = keep(ref["points"])
        pts = all_pts
        if _ref_kind(ref["name"]) == "faiss-ivfpq":  # a grid: draw its frontier
            pts = keep(frontier_points(ref["points"]))
            if mark:
                faint([p for p in all_pts if p not in pts], color, marker)
                recalls += [p["recall"] for p in all_pts]
                qps += [p["qps"] for p in all_pts]
        pts = sorted(pts, key=lambda p: p["recall"])
        xs, ys = [p["recall"] for p in pts], [p["qps"] for p in pts]
        recalls += xs
        qps += ys
        if ls:
            line = lead_in(frontier_points(ref["points"]) if _ref_kind(ref["name"]) == "faiss-ivfpq" else
                           ref["points"]) + pts
            xs, ys = [p["recall"] for p in line], [p["qps"] for p in line]
        ax.plot(xs, ys, marker=marker, linestyle=ls or "", markersize=9 if not ls else 6, color=color, alpha=0.9,
                label=_ref_label(ref))
        if ls:
            notes += [(ref["name"], "/".join(f"{x:g}" if isinstance(x, float) else str(x) for x in p["param"].values()),
                       p["recall"], p["qps"], color, -11, 7) for p in pts]
        if mark and (ref.get("at_0.95") or {}).get("kind") == "interpolated":
            at95.append((ref["at_0.95"]["qps"], color))
    ax.set_yscale("log")
    ax.set_xlabel(f"recall@{ds['k']}")
    ax.set_ylabel("queries per second (log scale)")
    if recalls:
        lo = xmin if xmin is not None else max(0.0, min(min(recalls) - 0.02, 0.9))
        ax.set_xlim(lo - (1.0 - lo) * 0.02, 1.0 + (1.0 - lo) * 0.03)
    if qps:
        ax.set_ylim(min(qps) / 1.6, max(qps) * 1.6)
    if mark:
        ax.axvline(TARGET_RECALL, color="gray", linestyle=":", linewidth=1)
        # labels left of the line, the higher QPS above its diamond and the
        # lower below, so that two close ones do not overlap
        for j, (q, color) in enumerate(sorted(at95, reverse=True)):
            ax.plot([TARGET_RECALL], [q], marker="D", markersize=8, color=color, markeredgecolor="black")
            ax.annotate(f"{q:,.0f}", (TARGET_RECALL, q), textcoords="offset points",
                        xytext=(-8, 6 if j == 0 else -14), ha="right", fontsize=8, color=color, fontweight="bold")
    x0, x1 = ax.get_xlim()
    y0, y1 = (math.log10(v) for v in ax.get_ylim())
    placed = {}
    for curve, text, x, y, color, dy, size in notes:
        if not labels(x):
            continue
        fx, fy = (x - x0) / (x1 - x0), (math.log10(y) - y0) / max(1e-9, y1 - y0)
        mine = placed.setdefault(curve, [])
        if any(abs(fx - a) < 0.03 and abs(fy - b) < 0.03 for a, b in mine):
            continue
        mine.append((fx, fy))
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, dy), fontsize=size, color=color)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.15)


# ---------------------------------------------------------------------------
# Compare


def _curves(ds):
    """(system, setting label) -> point, for vecdb's runs and the references."""
    out = {}
    for run in vecdb_runs(ds):
        for p in run["points"]:
            out[(f"vecdb {run['name']}", _setting_label(run, p))] = p
    for ref in ds.get("references", []):
        for p in ref["points"]:
            out[(ref["name"], p["label"])] = p
    return out


def compare(a, b, name_a="A", name_b="B") -> str:
    lines = [f"A: {name_a} ({a['created']}, `{a['command']}`)", f"B: {name_b} ({b['created']}, `{b['command']}`)", ""]
    bd = {ds["name"]: ds for ds in b["datasets"]}
    for da in a["datasets"]:
        db = bd.pop(da["name"], None)
        if db is None:
            lines += [f"## {da['name']}: only in A", ""]
            continue
        lines += [f"## {da['name']}", ""]
        ca, cb = _curves(da), _curves(db)
        rows = []
        for key in list(ca) + [k for k in cb if k not in ca]:
            pa, pb = ca.get(key), cb.get(key)
            rows.append([key[0], key[1],
                         _f(pa and pa["recall"], "{:.4f}"), _f(pa and pa["qps"]),
                         _f(pb and pb["recall"], "{:.4f}"), _f(pb and pb["qps"]),
                         _f(pb["qps"] / pa["qps"], "{:.2f}") if pa and pb else "–"])
        lines += [_table(["system", "setting", "A recall", "A QPS", "B recall", "B QPS", "B/A QPS"], rows), ""]
        rows = []
        ra, rb = {r["name"]: r for r in vecdb_runs(da)}, {r["name"]: r for r in vecdb_runs(db)}
        for name in list(ra) + [n for n in rb if n not in ra]:
            x, y = ra.get(name), rb.get(name)
            if not ((x and x["am"]) or (y and y["am"])):
                continue
            rows.append([f"vecdb {name} build s", _f(x and x["build_seconds"]), _f(y and y["build_seconds"])])
            rows.append([f"vecdb {name} index MiB", _mib(x and x["index_bytes"]), _mib(y and y["index_bytes"])])
            xi, yi = (x or {}).get("insert"), (y or {}).get("insert")
            rows.append([f"INSERT rows/s with {name}", _f(xi and xi["rows_per_second"], "{:.0f}"),
                         _f(yi and yi["rows_per_second"], "{:.0f}")])
        sa, sb = {x["am"]: x for x in streaming_summary(da)}, {x["am"]: x for x in streaming_summary(db)}
        for am in list(sa) + [x for x in sb if x not in sa]:
            x, y = sa.get(am, {}), sb.get(am, {})
            for key, what, fmt in (("insert_ratio", "streaming INSERT / without", "{:.2f}"),
                                   ("sync_ratio", "streaming = off INSERT / without", "{:.2f}"),
                                   ("merge_rps", "vecdb_merge rows/s", "{:.0f}"),
                                   ("min_recall_gain", "recall hot - merged (worst)", "{:+.4f}")):
                rows.append([f"{what} ({am})", _f(x.get(key), fmt), _f(y.get(key), fmt)])
            rows.append([f"worker: s to merge the burst ({am})",
                         _f((x.get("worker") or {}).get("seconds_to_empty")),
                         _f((y.get("worker") or {}).get("seconds_to_empty"))])
        pa = ((da.get("vecdb") or {}).get("insert_plain") or {}).get("rows_per_second")
        pb = ((db.get("vecdb") or {}).get("insert_plain") or {}).get("rows_per_second")
        if pa or pb:
            rows.append(["INSERT rows/s without an index", _f(pa, "{:.0f}"), _f(pb, "{:.0f}")])
        fa, fb = refs_by_name(da), refs_by_name(db)
        for name in _ordered({**fa, **fb}):
            rows.append([f"{name} build s", _f(fa.get(name, {}).get("build_seconds")),
                         _f(fb.get(name, {}).get("build_seconds"))])
        if rows:
            lines += [_table(["", "A", "B"], rows), ""]
    for name in bd:
        lines += [f"## {name}: only in B", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The smoke checks


def _check_streaming(res, outdir, ok) -> None:
    """The streaming tier's checks: only for data sets whose runs have a
    vecdb index with a hot tier. Nothing about speed: which path the INSERTs
    took, what the tier held, what the merge did, that hot rows are found."""
    worker = (res.get("server") or {}).get("worker") or {}
    for ds in res.get("datasets") or []:
        tiered = [run for run in vecdb_runs(ds) if run.get("hot_tier")]
        if not tiered:
            continue
        name = ds["name"]
        bad = []
        for run in tiered:
            i, y, pl = run.get("insert") or {}, run.get("insert_sync") or {}, run.get("insert_plain") or {}
            if not (i.get("streamed") and i.get("path") == "streaming" and y.get("rows_per_second")
                    and pl.get("rows_per_second") and i.get("rows") == y.get("rows") == pl.get("rows")):
                bad.append(f"{run['name']}: streamed {i.get('streamed')}, added {i.get('hot_rows_added')}, merged "
                           f"{i.get('merged_during')} of {i.get('rows')}; sync {y.get('rows_per_second')}; "
                           f"plain {pl.get('rows_per_second')}")
        ok(not bad, f"{name}: INSERTs measured on the streaming path (every row went to the hot tier), on the "
                    "synchronous path (none did) and into the table without an index, as many rows each", "; ".join(bad))
        if worker.get("steered") or not worker.get("present") or not worker.get("preloaded"):
            bad = [f"{run['name']}: {run['insert']['merged_during']} rows merged ({run['insert']['rows']} inserted, "
                   f"cap {run['insert'].get('hot_tier_max_rows')})" for run in tiered
                   if run["insert"].get("hot_tier_max_rows") and run["insert"]["rows"] <= run["insert"]["hot_tier_max_rows"]
                   and run["insert"].get("merged_during")]
            ok(not bad, f"{name}: below vecdb.hot_tier_max_rows, with no worker running, nothing was merged during "
                        "the INSERT measurements (no back-pressure)", "; ".join(bad))
        st = (ds.get("vecdb") or {}).get("streaming") or {}
        sms = streaming_summary(ds)
        ok(not st.get("skipped") and {r["am"] for r in tiered} <= {sm["am"] for sm in sms},
           f"{name}: a streaming run for each index with a hot tier", st.get("skipped", ""))
        for sm in sms:
            am, n = sm["am"], sm["rows"]
            run = next(r for r in streaming_runs(ds) if r.get("am") == am)
            sync = run.get("insert_sync") or {}
            ok(sm["streamed"] and sm["hot_rows_full"] == n and sm["merge_rows"] == n and sm["hot_rows_after_merge"] == 0
               and sync.get("hot_rows_added") == 0 and not sync.get("merged_during") and sm.get("insert_ratio")
               and sm.get("sync_ratio") and sm.get("merge_rps"),
               f"{name} {am}: {n} rows inserted one a transaction were all hot, vecdb_merge merged {n} and left "
               "none; with streaming = off none went to the tier; the rates were recorded",
               f"hot {sm['hot_rows_full']}, merged {sm['merge_rows']}, left {sm['hot_rows_after_merge']}, sync tier "
               f"+{sync.get('hot_rows_added')}")
            labels = [[p["label"] for p in run.get(k) or []] for k in ("points_full", "points_merged", "points_sync")]
            ok(labels[0] and labels[0] == labels[1] == labels[2] and all(p["uses_index"] for p in sm["points"]),
               f"{name} {am}: recall measured with the tier full, after the merge and after synchronous inserts, at "
               "the same settings, each plan using the index", str(labels))
            low = [f"{p['label']}: {p['hot_recall_full']}" for p in sm["points"]
                   if p["hot_recall_full"] is None or p["hot_recall_full"] < 0.99]
            ok(not low, f"{name} {am}: with the tier full, the held-back rows among the true neighbours are returned "
                        "(the tier is scanned exactly: hot rows' recall >= 0.99)", "; ".join(low))
            low = [f"{p['label']}: {p['recall_full']:.4f} vs {p['recall_merged']:.4f}" for p in sm["points"]
                   if p["recall_merged"] is not None and p["recall_full"] < p["recall_merged"] - 0.02]
            ok(not low, f"{name} {am}: recall with the tier full is not below recall after the merge (by more than "
                        "0.02)", "; ".join(low))
            w = sm["worker"]
            if worker.get("present") and worker.get("preloaded") and worker.get("steered"):
                ok(not w.get("skipped") and w.get("seconds_to_empty") is not None
                   and (w.get("hot_tier_end") or {}).get("rows") == 0,
                   f"{name} {am}: the background worker merged the burst of {w.get('rows')} rows (tier empty)",
                   w.get("skipped") or f"left {(w.get('hot_tier_end') or {}).get('rows')}")
            else:
                ok(w.get("skipped"), f"{name} {am}: the worker's burst is skipped, with the reason said "
                                     f"({w.get('skipped', '')[:60]}...)")
        png = os.path.join(outdir, f"{name}-streaming.png")
        ok(os.path.exists(png) and os.path.getsize(png) > 10000, f"plot {os.path.basename(png)} written")


def check(outdir) -> int:
    """TAP lines ("ok N - ..." / "not ok N - ...") for test/run; 0 if all pass.
    A profile's folder (bench/run profile) gets the profile's checks; a
    smoke run's folder those of its profile too (OUT/profile)."""
    import profiling

    results = []

    def ok(cond, what, detail=""):
        results.append((bool(cond), what, detail))

    try:
        kind = load(outdir).get("kind")
    except (OSError, ValueError):
        kind = None
    if kind == "profile":
        profiling.check(outdir, ok)
        return _tap(results)
    path = os.path.join(outdir, "result.json")
    try:
        res = load(path)
    except (OSError, ValueError) as e:
        res = None
        ok(False, "result.json written and readable", str(e))
    if res is not None:
        dss = res.get("datasets") or []
        for ds in dss:  # again (idempotent), so that a result file from before has every field
            analyze_dataset(ds)
        ok(dss and all(ds.get("vecdb", {}).get("runs") for ds in dss), "result.json written, with vecdb's runs")
        exact = [(ds["name"], run["name"], p) for ds in dss for run in vecdb_runs(ds) for p in run["points"]
                 if not p.get("uses_index")]
        bad = [f"{n}/{r}/{p['label']}: {p['recall']}" for n, r, p in exact if p["recall"] != 1.0]
        ok(exact and not bad, "recall is 1.0 wherever vecdb answers without an ANN index (one statement)",
           "; ".join(bad))
        bad = [f"{n}/{r}/{p['label']}/{c['clients']}: {c['recall']}" for n, r, p in exact for c in p["clients"]
               if c["recall"] != 1.0]
        ok(exact and all(p["clients"] for _, _, p in exact) and not bad,
           "recall is 1.0 for the client-side queries too, and latencies were measured", "; ".join(bad))
        idx = [run for ds in dss for run in vecdb_runs(ds) if run["am"]]
        ok(idx and all(r["build_seconds"] > 0 and r["index_bytes"] > 0 and len(r["points"]) >= 2 for r in idx),
           "index built from SQL, its build time and size recorded, a setting swept")
        ok(all(ds["vecdb"].get("insert_plain", {}).get("rows_per_second", 0) > 0 and
               all(r.get("insert", {}).get("rows_per_second", 0) > 0 for r in vecdb_runs(ds) if r["am"])
               for ds in dss), "single-row INSERT rates measured with and without the index")
        refs_ok = all({"hnswlib", "faiss-flat", "faiss-ivfpq"} <= set(refs_by_name(ds)) for ds in dss)
        flat_ok = all(p["recall"] == 1.0 for ds in dss for p in refs_by_name(ds).get("faiss-flat", {"points": []})["points"])
        ok(refs_ok and flat_ok, "hnswlib, faiss-flat (recall 1.0) and faiss-ivfpq curves in the same run")
        ratio_ok = all(any(t["what"].startswith("exact scan QPS / faiss") and t["value"] > 0 for t in ds["targets"])
                       for ds in dss)
        ok(ratio_ok, "ratios to the references computed (exact scan / faiss IndexFlat)")
        try:
            text = compare(res, res, "self", "self")
            ok("B/A QPS" in text and "1.00" in text, "bench/run compare runs on the result")
        except Exception as e:  # noqa: BLE001
            ok(False, "bench/run compare runs on the result", repr(e))
        for ds in dss:
            png = os.path.join(outdir, f"{ds['name']}.png")
            try:
                with open(png, "rb") as f:
                    head = f.read(8)
                good = head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 10000
            except OSError:
                good = False
            ok(good, f"plot {os.path.basename(png)} written")
        # only when the run has an ivfpq index (the smoke builds one if the
        # extension has the access method): its grid, shape and comparison
        # were recorded; nothing about its speed or recall
        for ds in dss:
            for run in vecdb_runs(ds):
                if run["am"] != "ivfpq":
                    continue
                info = run.get("ivfpq_info") or {}
                ref = refs_by_name(ds).get(run.get("faiss_reference", ""))
                prm = (ref or {}).get("params", {})
                sm = next((x for x in ds.get("ivfpq", []) if x["index_sql"] == run["index_sql"]), None)
                ok(run["points"] and run["points"][0]["uses_index"],
                   f"{ds['name']}: the ivfpq index answers the queries (the plan uses it at the sweep's first point)")
                ok(info.get("lists") and info.get("m") and ref and prm.get("nlist") == info["lists"]
                   and prm.get("m") == info["m"],
                   f"{ds['name']}: vecdb_ivfpq_info read; faiss-ivfpq configured with the index's lists and m",
                   f"info {info}, faiss {prm}")
                ok(sm and sm.get("size_ratio", 0) > 0 and "qps_at_0.95" in sm and
                   (len(run.get("sweep") or []) < 2 or len(run["points"]) == math.prod(len(v) for _, v in run["sweep"])),
                   f"{ds['name']}: ivfpq's grid swept, its frontier and figures at recall 0.95 recorded")
                png = os.path.join(outdir, f"{ds['name']}-ivfpq.png")
                ok(os.path.exists(png) and os.path.getsize(png) > 10000, f"plot {os.path.basename(png)} written")
                break
        if res is not None:
            _check_streaming(res, outdir, ok)
    try:
        with open(os.path.join(outdir, "results.md")) as f:
            md = f.read()
        ok("| vecdb | setting | recall@" in md and "| reference | setting |" in md and "### targets.md" in md,
           "results.md written, with its tables")
        if any(streaming_runs(ds) for ds in (res or {}).get("datasets", [])):
            ok("### Streaming tier" in md and "vecdb_merge rows/s" in md, "results.md has the streaming tier's tables")
    except OSError as e:
        ok(False, "results.md written", str(e))
    opts = (res or {}).get("options") or {}
    if os.path.isdir(os.path.join(outdir, "profile")) or (
            opts.get("smoke") and opts.get("profile", False) and not opts.get("no_vecdb")):
        profiling.check(os.path.join(outdir, "profile"), ok)
    return _tap(results)


def _tap(results) -> int:
    print(f"1..{len(results)}")
    for i, (good, what, detail) in enumerate(results, 1):
        print(f"{'ok' if good else 'not ok'} {i} - {what}" + (f"  # {detail}" if detail and not good else ""))
    return 0 if all(g for g, _, _ in results) else 1
