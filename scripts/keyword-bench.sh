#!/usr/bin/env bash
# Keyword-search benchmark (issue 14): Rosetta's textindex against Xapian and
# bleve on the corpus in OUTDIR (built by scripts/keyword-corpus.sh when
# OUTDIR/corpus.jsonl is missing), interleaved — Rosetta, Xapian, bleve,
# Rosetta, Xapian, bleve, ... — so that a slow spell of the machine hits all
# three. Each run's table goes to OUTDIR/results/<engine>-<round>.txt and its
# JSON to .json; the comparison (scripts/keyword-compare.py: p99 ratios per
# query class, indexing-rate and size ratios) is printed at the end and saved
# as OUTDIR/results/summary.{txt,json}.
#
# Environment: ROUNDS (default 2), K (10), PASSES (timed passes per query
# class, 1), ROSETTA_THREADS (builds to time, "1,2"), BLEVE_THREADS (1).
#
# To try it quickly on part of a corpus:
#   mkdir -p /tmp/kw-small && head -5000 /tmp/kw/corpus.jsonl >/tmp/kw-small/corpus.jsonl
#   cp /tmp/kw/queries.json /tmp/kw/stopwords.txt /tmp/kw-small/
#   bash scripts/keyword-bench.sh /tmp/kw-small
set -euo pipefail
out=${1:?usage: keyword-bench.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
py=/usr/bin/python3
rounds=${ROUNDS:-2}
k=${K:-10}
passes=${PASSES:-1}
rthreads=${ROSETTA_THREADS:-1,2}
bthreads=${BLEVE_THREADS:-1}

if [ ! -s "$out/corpus.jsonl" ]; then
  bash "$here/keyword-corpus.sh" "$out"
fi
for f in queries.json stopwords.txt; do
  [ -s "$out/$f" ] || { echo "keyword-bench: $out/$f is missing (scripts/keyword-corpus.sh writes it)" >&2; exit 1; }
done
"$py" -c 'import xapian' 2>/dev/null || { echo "keyword-bench: python3-xapian is missing (scripts/keyword-corpus.sh installs it)" >&2; exit 1; }

bin="$out/bin"
res="$out/results"
mkdir -p "$bin" "$res"
(cd "$root" && go build -o "$bin/rosetta" ./cmd/rosetta && go build -o "$bin/bleve" ./bench/keywordpeers/bleve)
corpus="$out/corpus.jsonl"
queries="$out/queries.json"
rm -f "$res"/*.json "$res"/*.txt

for r in $(seq 1 "$rounds"); do
  echo "== round $r of $rounds" >&2
  "$bin/rosetta" bench keyword --corpus "$corpus" --queries "$queries" --k "$k" --passes "$passes" \
    --threads "$rthreads" --json "$res/rosetta-$r.json" | tee "$res/rosetta-$r.txt"
  "$py" "$here/keyword-xapian.py" "$corpus" "$queries" --k "$k" --passes "$passes" \
    --stopwords "$out/stopwords.txt" --dir "$out" --json "$res/xapian-$r.json" | tee "$res/xapian-$r.txt"
  "$bin/bleve" --corpus "$corpus" --queries "$queries" --k "$k" --passes "$passes" \
    --threads "$bthreads" --dir "$out" --json "$res/bleve-$r.json" | tee "$res/bleve-$r.txt"
done

"$py" "$here/keyword-compare.py" --json "$res/summary.json" "$res"/rosetta-*.json "$res"/xapian-*.json "$res"/bleve-*.json |
  tee "$res/summary.txt"
