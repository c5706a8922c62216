#!/usr/bin/python3
"""The Xapian peer of `rosetta bench keyword` (issue 14).

  keyword-xapian.py CORPUS.jsonl QUERIES.json [--k 10] [--passes 1] [--json OUT]
                    [--stopwords FILE] [--dir TMP]

Indexes the keyword corpus (scripts/keyword-corpus.sh) with Xapian's Python
bindings (Debian's python3-xapian; run with /usr/bin/python3) into a glass
database in a temporary directory, and times the query sets against it,
reporting the figures `rosetta bench keyword` and the bleve peer report, in
the same JSON (see bench/keywordset):

  indexing   documents/s, single thread, from the first add_document to the
             end of the final commit (the corpus is read beforehand); bytes
             per document on disk after the database is closed
  queries    p50, p99 and mean latency in microseconds of one search: parse
             with QueryParser (default operator OR, FLAG_DEFAULT|FLAG_PHRASE,
             English stemmer, STEM_SOME) and enquire.get_mset(0, k), after
             one untimed pass over every query; a percentile p of n sorted
             latencies is the one at min(n-1, floor(p*n))

Each document is its title and its text through one TermGenerator (English
Snowball stemmer, STEM_SOME, positions kept so phrases work, a gap between
title and text), into the unprefixed term space an unfielded query searches.
Stop words (bleve's English list, from stopwords.txt beside the query file
unless --stopwords names another) are not indexed at all (STOP_ALL) and are
dropped from queries, as bleve's "en" analysis drops them. Weighting is
BM25Weight(k1=1.2, k2=0, k3=1, b=0.75, min_normlen=0.5).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

try:
    import xapian
except ImportError:
    sys.exit("keyword-xapian: no xapian module; apt-get install python3-xapian and run with /usr/bin/python3")

CLASSES = ("one", "two", "three", "phrase")


def machine():
    cpu = os.uname().machine
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k.strip() == "model name":
                    cpu = v.strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count()}


def dir_size(path):
    n = 0
    for top, _, files in os.walk(path):
        for f in files:
            p = os.path.join(top, f)
            if os.path.isfile(p) and not os.path.islink(p):
                n += os.path.getsize(p)
    return n


def summarize(cls, lat_ns, with_hits, hits):
    lat = sorted(lat_ns)
    n = len(lat)
    pct = lambda p: lat[min(n - 1, int(p * n))] / 1e3
    return {
        "class": cls,
        "queries": n,
        "p50_us": pct(0.5),
        "p99_us": pct(0.99),
        "mean_us": sum(lat) / n / 1e3,
        "hit_rate": with_hits / n,
        "mean_hits": hits / n,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus")
    p.add_argument("queries")
    p.add_argument("--k", type=int, default=10, help="hits per search")
    p.add_argument("--passes", type=int, default=1, help="timed passes over each query class")
    p.add_argument("--stopwords", help="stop words, one a line (default: stopwords.txt beside QUERIES)")
    p.add_argument("--dir", help="parent directory for the database (default $TMPDIR); removed at the end")
    p.add_argument("--json", help="write the report as JSON to this file")
    a = p.parse_args()
    if a.k < 1 or a.passes < 1:
        p.error("--k and --passes must be positive")

    docs = []
    with open(a.corpus, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                docs.append((d.get("title", ""), d["text"]))
    with open(a.queries, encoding="utf-8") as f:
        queries = json.load(f)
    for c in CLASSES:
        if not queries.get(c):
            sys.exit("keyword-xapian: %s has no %r queries" % (a.queries, c))
    stopfile = a.stopwords or os.path.join(os.path.dirname(os.path.abspath(a.queries)), "stopwords.txt")
    stopper = xapian.SimpleStopper()
    nstop = 0
    with open(stopfile, encoding="utf-8") as f:
        for w in f:
            if w.strip():
                stopper.add(w.strip())
                nstop += 1
    stem = xapian.Stem("english")

    tmp = tempfile.mkdtemp(prefix="keyword-xapian-", dir=a.dir)
    try:
        path = os.path.join(tmp, "db")
        print("xapian: indexing %d docs, 1 thread" % len(docs), file=sys.stderr)
        tg = xapian.TermGenerator()
        tg.set_stemmer(stem)
        tg.set_stemming_strategy(xapian.TermGenerator.STEM_SOME)
        tg.set_stopper(stopper)
        tg.set_stopper_strategy(xapian.TermGenerator.STOP_ALL)
        start = time.perf_counter()
        db = xapian.WritableDatabase(path, xapian.DB_CREATE_OR_OVERWRITE)
        for title, text in docs:
            doc = xapian.Document()
            tg.set_document(doc)
            tg.index_text(title)
            tg.increase_termpos()
            tg.index_text(text)
            db.add_document(doc)
        db.commit()
        took = time.perf_counter() - start
        db.close()
        size = dir_size(path)

        db = xapian.Database(path)
        if db.get_doccount() != len(docs):
            sys.exit("keyword-xapian: database holds %d docs, want %d" % (db.get_doccount(), len(docs)))
        qp = xapian.QueryParser()
        qp.set_database(db)
        qp.set_stemmer(stem)
        qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
        qp.set_stopper(stopper)
        qp.set_default_op(xapian.Query.OP_OR)
        flags = xapian.QueryParser.FLAG_DEFAULT | xapian.QueryParser.FLAG_PHRASE
        enquire = xapian.Enquire(db)
        enquire.set_weighting_scheme(xapian.BM25Weight(1.2, 0, 1, 0.75, 0.5))
        k = a.k

        def search(q):
            enquire.set_query(qp.parse_query(q, flags))
            return enquire.get_mset(0, k).size()

        print("xapian: %.0f docs/s; timing queries" % (len(docs) / took), file=sys.stderr)
        for c in CLASSES:
            for q in queries[c]:
                search(q)
        results = []
        clock = time.perf_counter_ns
        for c in CLASSES:
            lat, with_hits, hits = [], 0, 0
            for _ in range(a.passes):
                for q in queries[c]:
                    t = clock()
                    n = search(q)
                    lat.append(clock() - t)
                    hits += n
                    with_hits += n > 0
            results.append(summarize(c, lat, with_hits, hits))
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rep = {
        "engine": "xapian",
        "version": xapian.version_string(),
        "scoring": "bm25 k1=1.2 b=0.75 (BM25Weight k2=0 k3=1 min_normlen=0.5)",
        "size": "on disk",
        "corpus": a.corpus,
        "docs": len(docs),
        "k": a.k,
        "passes": a.passes,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "index": [
            {
                "threads": 1,
                "docs": len(docs),
                "seconds": took,
                "docs_per_sec": len(docs) / took,
                "bytes_per_doc": size / len(docs),
            }
        ],
        "queries": results,
        "notes": [
            "glass database on disk; time includes the final commit; %d stop words from %s (STOP_ALL)" % (nstop, stopfile),
            "latency is QueryParser.parse_query + get_mset(0, k) through the Python bindings",
        ],
    }
    write_table(rep, sys.stdout)
    if a.json:
        tmpf = a.json + ".tmp"
        with open(tmpf, "w") as f:
            json.dump(rep, f, indent=2)
            f.write("\n")
        os.replace(tmpf, a.json)


def write_table(r, w):
    w.write("\n%s %s (%s) — %d docs from %s, k=%d, %d timed pass(es)\n" % (r["engine"], r["version"], r["scoring"], r["docs"], r["corpus"], r["k"], r["passes"]))
    w.write("machine: %s, %d cores, %s\n\n" % (r["machine"]["cpu"], r["machine"]["cores"], r["date"]))
    rows = [("threads", "docs", "seconds", "docs/s", "bytes/doc (%s)" % r["size"])]
    for x in r["index"]:
        rows.append((str(x["threads"]), str(x["docs"]), "%.2f" % x["seconds"], "%.0f" % x["docs_per_sec"], "%.0f" % x["bytes_per_doc"]))
    rows.append(None)
    rows.append(("class", "searches", "p50 µs", "p99 µs", "mean µs", "hit rate", "hits/search"))
    for c in r["queries"]:
        rows.append((c["class"], str(c["queries"]), "%.1f" % c["p50_us"], "%.1f" % c["p99_us"], "%.1f" % c["mean_us"], "%.3f" % c["hit_rate"], "%.2f" % c["mean_hits"]))
    # two right-aligned tables, like the Go reports' tabwriter output
    blocks, cur = [], []
    for row in rows:
        if row is None:
            blocks.append(cur)
            cur = []
        else:
            cur.append(row)
    blocks.append(cur)
    for i, b in enumerate(blocks):
        width = [max(len(row[j]) for row in b if j < len(row)) for j in range(max(len(row) for row in b))]
        if i:
            w.write("\n")
        for row in b:
            w.write("".join(cell.rjust(width[j]) + "  " for j, cell in enumerate(row)).rstrip() + "\n")
    for n in r["notes"]:
        w.write("note: %s\n" % n)


if __name__ == "__main__":
    main()
