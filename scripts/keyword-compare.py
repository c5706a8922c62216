#!/usr/bin/python3
"""Compares keyword-benchmark reports (issue 14): Rosetta against Xapian and bleve.

  keyword-compare.py [--json OUT] REPORT.json ...

Reads the JSON reports of `rosetta bench keyword`, scripts/keyword-xapian.py
and bench/keywordpeers/bleve (any number of rounds of each; the engine is the
report's "engine" field) and prints, per query class, every engine's p99
latency and the ratios Rosetta p99 / Xapian p99 and Rosetta p99 / bleve p99,
and the same for indexing rate (single-thread builds, and Rosetta's other
thread counts against bleve's) and size per document. A figure is the median
over an engine's rounds; each round's Rosetta / Xapian ratio (round i of
Rosetta against round i of Xapian) is printed too, to show the spread.
"""

import argparse
import json
import statistics
import sys

CLASSES = ("one", "two", "three", "phrase")


def load(paths):
    by = {}
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        by.setdefault(r["engine"], []).append(r)
    return by


def qfig(r, cls, key):
    for c in r["queries"]:
        if c["class"] == cls:
            return c[key]
    return None


def ifig(r, threads, key):
    for x in r["index"]:
        if x["threads"] == threads:
            return x[key]
    return None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reports", nargs="+")
    p.add_argument("--json", help="write the summary as JSON to this file")
    a = p.parse_args()
    by = load(a.reports)
    if "rosetta" not in by:
        sys.exit("keyword-compare: no rosetta report among %s" % " ".join(a.reports))
    ros, xap, blv = by.get("rosetta", []), by.get("xapian", []), by.get("bleve", [])
    docs = {r["docs"] for rs in by.values() for r in rs}
    if len(docs) != 1:
        sys.exit("keyword-compare: the reports are of different corpora (%s docs)" % sorted(docs))
    summary = {"docs": docs.pop(), "rounds": {e: len(rs) for e, rs in by.items()}, "classes": {}, "index": {}}

    print("\nkeyword search, %d docs; medians over rounds (%s)" % (summary["docs"], ", ".join("%s %d" % kv for kv in sorted(summary["rounds"].items()))))
    rows = [("class", "rosetta p99 µs", "xapian p99 µs", "bleve p99 µs", "rosetta/xapian", "rosetta/bleve", "rosetta/xapian by round", "hit rate r/x/b")]
    for c in CLASSES:
        rp, xp, bp = (med(qfig(r, c, "p99_us") for r in rs) for rs in (ros, xap, blv))
        rounds = [ratio(qfig(r, c, "p99_us"), qfig(x, c, "p99_us")) for r, x in zip(ros, xap)]
        hits = [med(qfig(r, c, "hit_rate") for r in rs) for rs in (ros, xap, blv)]
        summary["classes"][c] = {
            "rosetta_p99_us": rp, "xapian_p99_us": xp, "bleve_p99_us": bp,
            "rosetta_over_xapian_p99": ratio(rp, xp), "rosetta_over_bleve_p99": ratio(rp, bp),
            "rosetta_over_xapian_p99_by_round": rounds,
            "rosetta_p50_us": med(qfig(r, c, "p50_us") for r in ros),
            "xapian_p50_us": med(qfig(r, c, "p50_us") for r in xap),
            "bleve_p50_us": med(qfig(r, c, "p50_us") for r in blv),
        }
        rows.append((c, fmt(rp), fmt(xp), fmt(bp), fmt(ratio(rp, xp), "%.2f"), fmt(ratio(rp, bp), "%.2f"),
                     " ".join(fmt(v, "%.2f") for v in rounds) or "-", "/".join(fmt(h, "%.2f") for h in hits)))
    table(rows)

    rows = [("indexing", "rosetta", "xapian", "bleve", "rosetta/xapian", "rosetta/bleve")]
    threads = sorted({x["threads"] for r in ros for x in r["index"]})
    xr = med(ifig(r, 1, "docs_per_sec") for r in xap)
    for t in threads:
        rr = med(ifig(r, t, "docs_per_sec") for r in ros)
        br = med(ifig(r, t, "docs_per_sec") for r in blv)
        x = xr if t == 1 else None  # the Xapian peer is single-threaded
        summary["index"]["docs_per_sec_%dt" % t] = {"rosetta": rr, "xapian": x, "bleve": br,
                                                    "rosetta_over_xapian": ratio(rr, x), "rosetta_over_bleve": ratio(rr, br)}
        rows.append(("docs/s, %d thread%s" % (t, "s" if t > 1 else ""), fmt(rr, "%.0f"), fmt(x, "%.0f"), fmt(br, "%.0f"),
                     fmt(ratio(rr, x), "%.2f"), fmt(ratio(rr, br), "%.2f")))
    rb = med(r["index"][-1]["bytes_per_doc"] for r in ros)
    rs = med(r["index"][-1].get("snapshot_bytes_per_doc") for r in ros)
    xb = med(r["index"][-1]["bytes_per_doc"] for r in xap)
    bb = med(r["index"][-1]["bytes_per_doc"] for r in blv)
    summary["index"]["bytes_per_doc"] = {"rosetta_memory": rb, "rosetta_snapshot": rs, "xapian_disk": xb, "bleve_disk": bb}
    rows.append(("bytes/doc (r: memory)", fmt(rb, "%.0f"), fmt(xb, "%.0f"), fmt(bb, "%.0f"), fmt(ratio(rb, xb), "%.2f"), fmt(ratio(rb, bb), "%.2f")))
    rows.append(("bytes/doc (r: snapshot)", fmt(rs, "%.0f"), fmt(xb, "%.0f"), fmt(bb, "%.0f"), fmt(ratio(rs, xb), "%.2f"), fmt(ratio(rs, bb), "%.2f")))
    print()
    table(rows)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")


def table(rows):
    width = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    for r in rows:
        print("  ".join([r[0].ljust(width[0])] + [c.rjust(width[j + 1]) for j, c in enumerate(r[1:])]))


if __name__ == "__main__":
    main()
