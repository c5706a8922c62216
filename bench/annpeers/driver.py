"""Peer baselines for `rosetta bench ann --baseline`: Debian's hnswlib and
faiss run on the files the Go harness wrote, timed the same way on both
sides (one thread, the whole query set per pass, repeated until
min_seconds). The harness computes recall from the ids this driver returns.

Input: a JSON spec (argv[1]) naming base/query .fvecs files, the metric
("ip" for cosine on normalised vectors, or "l2"), k, M, efConstruction, ef
values, build thread counts, filters (allow-list files of uint64 ids) and
the peers to run. Output: one JSON document on one line of stdout. Then,
with every index still built, it answers "time N" lines on stdin with the
single-thread QPS of row N timed again (the harness's interleaved rounds),
until stdin closes.
"""

import json
import os
import sys
import time

import numpy as np


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    return raw.reshape(-1, dim + 1)[:, 1:].copy().view(np.float32)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed_passes(run, min_seconds):
    done, t0 = 0, time.perf_counter()
    while True:
        run()
        done += 1
        el = time.perf_counter() - t0
        if el >= min_seconds:
            return done, el


class HNSWLib:
    name, storage = "hnswlib", "float32"

    def __init__(self, spec, base):
        import hnswlib
        self.mod = hnswlib
        self.spec, self.base = spec, base

    def build(self, threads):
        sp = "ip" if self.spec["metric"] == "ip" else "l2"
        ix = self.mod.Index(space=sp, dim=self.base.shape[1])
        ix.init_index(max_elements=len(self.base), M=self.spec["m"], ef_construction=self.spec["ef_construction"], random_seed=42)
        ix.add_items(self.base, np.arange(len(self.base)), num_threads=threads)
        self.ix = ix

    def search(self, q, k, ef, allow):
        if allow is not None:
            return None  # hnswlib 0.6.2's Python binding has no filter
        self.ix.set_ef(ef)
        ids, _ = self.ix.knn_query(q, k=k, num_threads=1)
        return ids, -1.0

    def sweep(self):
        return [("ef", ef) for ef in self.spec["ef"]]


class FaissBase:
    def __init__(self, spec, base):
        import faiss
        self.faiss = faiss
        self.spec, self.base = spec, base
        self.metric = faiss.METRIC_INNER_PRODUCT if spec["metric"] == "ip" else faiss.METRIC_L2

    def search(self, q, k, ef, allow):
        f = self.faiss
        params = self.params(ef)
        if allow is not None:
            if params is None:
                return None
            # The selector keeps a pointer into the id array: hold both.
            self.allow_ids = allow.astype(np.int64)
            self.sel = f.IDSelectorBatch(len(self.allow_ids), f.swig_ptr(self.allow_ids))
            params.sel = self.sel
        stats = self.stats()
        stats.reset()
        if params is None:
            _, ids = self.ix.search(q, k)
        else:
            _, ids = self.ix.search(q, k, params=params)
        return ids, stats.ndis / len(q) if self.counts else -1.0


class FaissHNSWFlat(FaissBase):
    name, storage, counts = "faiss-hnsw-flat", "float32", True

    def build(self, threads):
        f = self.faiss
        f.omp_set_num_threads(threads)
        ix = f.IndexHNSWFlat(self.base.shape[1], self.spec["m"], self.metric)
        ix.hnsw.efConstruction = self.spec["ef_construction"]
        ix.add(self.base)
        self.ix = ix
        f.omp_set_num_threads(1)

    def params(self, ef):
        p = self.faiss.SearchParametersHNSW()
        p.efSearch = ef
        return p

    def stats(self):
        return self.faiss.cvar.hnsw_stats

    def sweep(self):
        return [("ef", ef) for ef in self.spec["ef"]]


class FaissHNSWSQ(FaissHNSWFlat):
    name, storage = "faiss-hnsw-sq8", "int8"

    def build(self, threads):
        f = self.faiss
        f.omp_set_num_threads(threads)
        ix = f.IndexHNSWSQ(self.base.shape[1], f.ScalarQuantizer.QT_8bit, self.spec["m"], self.metric)
        ix.hnsw.efConstruction = self.spec["ef_construction"]
        ix.train(self.base)
        ix.add(self.base)
        self.ix = ix
        f.omp_set_num_threads(1)


class FaissIVFPQ(FaissBase):
    """IVF with PQ codes (dim/8 bytes) re-ranked against the float32
    vectors (IndexRefineFlat, k_factor 4); the sweep is over nprobe."""
    name, storage, counts = "faiss-ivfpq-refine", "pq", False

    def build(self, threads):
        f = self.faiss
        f.omp_set_num_threads(threads)
        n, d = self.base.shape
        nlist = max(16, int(np.sqrt(n)))
        m = max(1, d // 8)
        while d % m:
            m -= 1
        quant = f.IndexFlat(d, self.metric)
        ivf = f.IndexIVFPQ(quant, d, nlist, m, 8, self.metric)
        ivf.train(self.base[: min(n, 40 * nlist)])
        ref = f.IndexRefineFlat(ivf)
        ref.k_factor = 4
        ref.add(self.base)
        self.ivf, self.ix, self.quant = ivf, ref, quant
        f.omp_set_num_threads(1)

    def params(self, nprobe):
        self.ivf.nprobe = nprobe
        return None

    def stats(self):
        return self.faiss.cvar.indexIVF_stats

    def sweep(self):
        return [("nprobe", p) for p in (1, 2, 4, 8, 16, 32, 64, 128)]


PEERS = {"hnswlib": [HNSWLib], "faiss": [FaissHNSWFlat, FaissHNSWSQ, FaissIVFPQ]}


def main():
    spec = json.load(open(sys.argv[1]))
    base = read_fvecs(spec["base"])
    queries = read_fvecs(spec["queries"])
    k = spec["k"]
    filters = [(f["selectivity"], np.fromfile(f["allow"], dtype=np.uint64)) for f in spec.get("filters") or []]
    out = {"builds": [], "rows": [], "notes": []}
    timers = []
    for peer in spec["peers"]:
        for cls in PEERS[peer]:
            p = cls(spec, base)
            for threads in spec["build_threads"]:
                p.ix = None
                r0 = rss_bytes()
                t0 = time.perf_counter()
                p.build(threads)
                secs = time.perf_counter() - t0
                out["builds"].append({"index": p.name, "storage": p.storage, "threads": threads, "seconds": secs,
                                      "inserts_per_sec": len(base) / secs,
                                      "rss_bytes_per_vector": (rss_bytes() - r0) / len(base)})
                print(f"{p.name}: build with {threads} threads {secs:.1f}s", file=sys.stderr, flush=True)
            for sel, allow in [(1.0, None)] + filters:
                for param, value in p.sweep():
                    if sel < 1 and param != "ef":
                        continue
                    if sel < 1 and value not in spec.get("filter_ef", []):
                        continue
                    got = p.search(queries, k, value, allow)
                    if got is None:
                        note = f"{p.name}: no filtered search in this version's Python binding"
                        if note not in out["notes"]:
                            out["notes"].append(note)
                        break
                    ids, evals = got
                    run = (lambda p, value, allow: lambda: p.search(queries, k, value, allow))(p, value, allow)
                    timers.append(run)
                    passes, el = timed_passes(run, spec["min_seconds"])
                    out["rows"].append({"index": p.name, "storage": p.storage, "param": param, "value": value,
                                        "selectivity": sel, "allow_size": 0 if allow is None else len(allow),
                                        "qps_1_thread": passes * len(queries) / el, "distance_evals_per_query": evals,
                                        "ids": ids.astype(np.int64).tolist()})
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    for line in sys.stdin:
        cmd = line.split()
        if len(cmd) == 2 and cmd[0] == "time":
            passes, el = timed_passes(timers[int(cmd[1])], spec["min_seconds"])
            print(passes * len(queries) / el, flush=True)


if __name__ == "__main__":
    main()
