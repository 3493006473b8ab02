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


def vecdb_runs(ds):
    return (ds.get("vecdb") or {}).get("runs", [])


def refs_by_name(ds):
    return {r["name"]: r for r in ds.get("references", [])}


def analyze_dataset(ds) -> None:
    """Adds each vecdb point's ratios to every reference and ds["targets"]."""
    refs = refs_by_name(ds)
    for run in vecdb_runs(ds):
        for p in run["points"]:
            p["ratios"] = {}
            for name, ref in refs.items():
                q, kind = qps_at(ref["points"], p["recall"])
                p["ratios"][name] = {"ref_qps": q, "kind": kind, "ratio": p["qps"] / q if q else None}
    ds["targets"] = targets(ds)


def _status(ok):
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def targets(ds) -> list:
    """targets.md's rows that this result can speak to."""
    out = []
    refs = refs_by_name(ds)
    v = ds.get("vecdb") or {}
    raw = ds["n"] * ds["d"] * 4
    plain = (v.get("insert_plain") or {}).get("rows_per_second")
    hnsw_build = None
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
        if am == "hnsw":
            hnsw_build = run["build_seconds"]
        ref_name = {"hnsw": "hnswlib", "ivfpq": "faiss-ivfpq"}.get(am)
        floor = {"hnsw": 0.6, "ivfpq": 0.5}.get(am)
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
                        "target": "<= 0.6", "status": _status(ratio <= 0.6),
                        "note": f"{run['build_seconds']:.1f} s vs {refs['hnswlib']['build_seconds']:.1f} s"})
        if am == "hnsw":
            m = int(run["options"].get("m", 16))
            bound = 1.1 * raw + ds["n"] * 2 * m * LINK_BYTES
            out.append({"what": f"hnsw index size / (1.1 x raw vectors + 2m {LINK_BYTES}-byte links a row)",
                        "value": run["index_bytes"] / bound, "target": "<= 1.0",
                        "status": _status(run["index_bytes"] <= bound),
                        "note": f"{run['index_bytes'] / 2**20:.1f} MiB; raw vectors {raw / 2**20:.1f} MiB"})
        if am == "ivfpq":
            best = max(p["recall"] for p in run["points"])
            out.append({"what": "ivfpq recall@k reachable by a setting", "value": best, "target": ">= 0.95",
                        "status": _status(best >= 0.95), "note": ""})
            own, kind = qps_at(run["points"], 0.95)
            if "faiss-ivfpq" in refs and own is not None and kind == "interpolated":
                ref, rkind = qps_at(refs["faiss-ivfpq"]["points"], 0.95)
                if ref:
                    out.append({"what": "ivfpq QPS at recall 0.95 / faiss IVFPQ+refine's", "value": own / ref,
                                "target": ">= 0.5", "status": _status(own / ref >= 0.5) if rkind == "interpolated" else "n/a",
                                "note": f"{own:.0f} vs {ref:.0f} QPS"})
            out.append({"what": "ivfpq index size / raw vectors", "value": run["index_bytes"] / raw, "target": "<= 0.2",
                        "status": _status(run["index_bytes"] / raw <= 0.2), "note": ""})
            if hnsw_build:
                ratio = run["build_seconds"] / hnsw_build
                out.append({"what": "ivfpq build / vecdb hnsw build (same run)", "value": ratio, "target": "<= 0.25",
                            "status": _status(ratio <= 0.25), "note": ""})
        ins = run.get("insert")
        if ins and plain:
            streaming = am in ("hnsw", "ivfpq")
            ratio = ins["rows_per_second"] / plain
            out.append({"what": f"single-row INSERT rate with the {am} index / without", "value": ratio,
                        "target": ">= 0.8" if streaming else "(for information: not a vecdb index)",
                        "status": _status(ratio >= 0.8) if streaming else "",
                        "note": f"{ins['rows_per_second']:.0f} vs {plain:.0f} rows/s"})
    return out


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
    return f"{p['setting']}={p['value']}"


def dataset_markdown(ds) -> str:
    k = ds["k"]
    out = [f"## {ds['name']}: {ds['n']:,} x {ds['d']}, {ds['metric']} (`{ds['operator']}`), k = {k}", ""]
    v = ds.get("vecdb")
    refs = refs_by_name(ds)
    ref_names = [r for r in REF_ORDER if r in refs]
    la = ds.get("load_average")
    if la:
        out += [f"Machine load average (1 min): {la['start'][0]:.2f} at the start, {la['end'][0]:.2f} at the end "
                f"(other work on the machine skews the figures).", ""]
    if v:
        out.append(f"{ds['queries']} queries for index runs and references; {ds['exact_queries']} for vecdb's exact "
                   f"(index-less) run. vecdb's QPS: all queries in one SQL statement:")
        out += ["", "```sql", ds["sql"], "```", ""]
    header = ["vecdb", "setting", f"recall@{k}", "QPS"] + [f"vs {r}" for r in ref_names]
    clients = sorted({c["clients"] for run in vecdb_runs(ds) for p in run["points"] for c in p["clients"]})
    for c in clients:
        header += [f"{c} client{'s' if c > 1 else ''}: QPS", "p50 / p99 ms"]
    rows = []
    for run in vecdb_runs(ds):
        for p in run["points"]:
            row = [run["name"] if run["am"] else "exact scan", _setting_label(run, p), f"{p['recall']:.4f}",
                   f"{p['qps']:.1f}"]
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
                "QPS: one statement for all queries. `vs X`: vecdb's QPS / X's QPS at the same recall (read off X's "
                "curve; `<=` an upper bound, X's lowest recall being higher; `above`: X never reaches that recall). "
                "Clients: one query a round trip, each client its own connection.", "", _table(header, rows), ""]
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
            if run.get("insert"):
                i = run["insert"]
                rows.append([f"with the {run['name']} index", i["rows"], f"{i['rows_per_second']:.0f}",
                             _f(i["rows_per_second"] / plain, "{:.2f}") if plain else "–"])
        if plain:
            rows.append(["without an index", v["insert_plain"]["rows"], f"{plain:.0f}", "1.00"])
        out += ["### Single-row INSERT", "", "Each INSERT its own transaction, one client, prepared.", "",
                _table(["table", "rows", "rows/s", "/ without"], rows), ""]

    if ds.get("targets"):
        rows = [[t["what"], _f(t["value"], "{:.3f}"), t["target"], t["status"], t["note"]] for t in ds["targets"]]
        out += ["### targets.md", "", _table(["what", "value", "target", "status", "note"], rows), ""]
    return "\n".join(out)


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
    """One PNG a data set. When some points lie below recall 0.95, a second
    panel zooms into 0.95..1, where the targets are stated and the curves
    crowd."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for ds in result["datasets"]:
        recalls = [p["recall"] for run in vecdb_runs(ds) for p in run["points"]]
        recalls += [p["recall"] for ref in ds.get("references", []) for p in ref["points"]]
        zoom = bool(recalls) and min(recalls) < 0.95
        fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(15 if zoom else 10, 7), dpi=100, squeeze=False)
        _draw(axes[0][0], ds, labels=(lambda r: r < 0.95) if zoom else (lambda r: True))
        if zoom:
            _draw(axes[0][1], ds, labels=lambda r: True, xmin=0.95)
            axes[0][1].set_title("the same, recall@%d >= 0.95" % ds["k"], fontsize=11)
        fig.suptitle(f"{ds['name']}: {ds['n']:,} x {ds['d']}, {ds['metric']}, k={ds['k']}, one thread")
        handles, names = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, names, loc="lower center", ncol=3 if zoom else 2, fontsize=9, frameon=False)
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        path = os.path.join(outdir, f"{ds['name']}.png")
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


_STYLES = {"hnswlib": ("tab:orange", "s", "-"), "faiss-ivfpq": ("tab:green", "^", "-"),
           "faiss-flat": ("tab:red", "X", ""), "faiss-flat-1by1": ("tab:purple", "P", "")}
_VECDB_COLORS = ["tab:blue", "tab:cyan", "tab:olive", "tab:brown", "tab:pink"]


def _ref_label(ref):
    params = ref.get("params", {})
    if ref["name"] == "hnswlib":
        return f"hnswlib (m={params.get('m')}, ef_construction={params.get('ef_construction')}), ef sweep"
    if ref["name"] == "faiss-ivfpq":
        return (f"faiss IVFPQ+refine (nlist={params.get('nlist')}, M={params.get('m')}), best of nprobe x k_factor "
                f"({params.get('k_factor')}); labels nprobe/k_factor")
    if ref["name"] == "faiss-flat":
        return "faiss IndexFlat, exact (batch)"
    if ref["name"] == "faiss-flat-1by1":
        return "faiss IndexFlat, exact (one query a call)"
    return ref["name"]


def _draw(ax, ds, labels, xmin=None):
    """recall on x, QPS on a log y; only points with recall >= xmin;
    setting values written beside the points whose recall labels(recall)
    (one curve's labels skip points too close to a labelled one)."""
    def keep(pts):
        return [p for p in pts if xmin is None or p["recall"] >= xmin - 1e-12]

    recalls, qps, notes = [], [], []  # notes: (curve, text, x, y, color, dy, size)
    for i, run in enumerate(vecdb_runs(ds)):
        color = _VECDB_COLORS[i % len(_VECDB_COLORS)]
        pts = keep(run["points"])
        xs, ys = [p["recall"] for p in pts], [p["qps"] for p in pts]
        recalls += xs
        qps += ys
        if run["am"] is None and len(run["points"]) == 1:
            ax.plot(xs, ys, marker="*", markersize=16, linestyle="", color="black",
                    label=f"vecdb exact scan, no index ({run['points'][0]['queries']} queries)")
            continue
        name = f"vecdb {run['name']}" + (f" ({run['sweep_setting']})" if run["sweep_setting"] else "")
        ax.plot(xs, ys, marker="o", linewidth=2.2, color=color, label=name)
        notes += [(name, str(p["value"]), p["recall"], p["qps"], color, 6, 8) for p in pts if p["value"] is not None]
    for ref in ds.get("references", []):
        color, marker, ls = _STYLES.get(ref["name"], ("gray", "d", "-"))
        pts = ref["points"]
        if ref["name"] == "faiss-ivfpq":  # a grid: draw its frontier
            best = set(frontier(pts))
            pts = [p for p in pts if (p["recall"], p["qps"]) in best]
        pts = keep(sorted(pts, key=lambda p: p["recall"]))
        xs, ys = [p["recall"] for p in pts], [p["qps"] for p in pts]
        recalls += xs
        qps += ys
        ax.plot(xs, ys, marker=marker, linestyle=ls or "", markersize=9 if not ls else 6, color=color, alpha=0.9,
                label=_ref_label(ref))
        if ls:
            notes += [(ref["name"], "/".join(f"{x:g}" if isinstance(x, float) else str(x) for x in p["param"].values()),
                       p["recall"], p["qps"], color, -11, 7) for p in pts]
    ax.set_yscale("log")
    ax.set_xlabel(f"recall@{ds['k']}")
    ax.set_ylabel("queries per second (log scale)")
    if recalls:
        lo = xmin if xmin is not None else max(0.0, min(min(recalls) - 0.02, 0.9))
        ax.set_xlim(lo - (1.0 - lo) * 0.02, 1.0 + (1.0 - lo) * 0.03)
    if qps:
        ax.set_ylim(min(qps) / 1.6, max(qps) * 1.6)
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
        pa = ((da.get("vecdb") or {}).get("insert_plain") or {}).get("rows_per_second")
        pb = ((db.get("vecdb") or {}).get("insert_plain") or {}).get("rows_per_second")
        if pa or pb:
            rows.append(["INSERT rows/s without an index", _f(pa, "{:.0f}"), _f(pb, "{:.0f}")])
        fa, fb = refs_by_name(da), refs_by_name(db)
        for name in [r for r in REF_ORDER if r in fa or r in fb]:
            rows.append([f"{name} build s", _f(fa.get(name, {}).get("build_seconds")),
                         _f(fb.get(name, {}).get("build_seconds"))])
        if rows:
            lines += [_table(["", "A", "B"], rows), ""]
    for name in bd:
        lines += [f"## {name}: only in B", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The smoke checks


def check(outdir) -> int:
    """TAP lines ("ok N - ..." / "not ok N - ...") for test/run; 0 if all pass."""
    results = []

    def ok(cond, what, detail=""):
        results.append((bool(cond), what, detail))

    path = os.path.join(outdir, "result.json")
    try:
        res = load(path)
    except (OSError, ValueError) as e:
        res = None
        ok(False, "result.json written and readable", str(e))
    if res is not None:
        dss = res.get("datasets") or []
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
    try:
        with open(os.path.join(outdir, "results.md")) as f:
            md = f.read()
        ok("| vecdb | setting | recall@" in md and "| reference | setting |" in md and "### targets.md" in md,
           "results.md written, with its tables")
    except OSError as e:
        ok(False, "results.md written", str(e))
    print(f"1..{len(results)}")
    for i, (good, what, detail) in enumerate(results, 1):
        print(f"{'ok' if good else 'not ok'} {i} - {what}" + (f"  # {detail}" if detail and not good else ""))
    return 0 if all(g for g, _, _ in results) else 1
