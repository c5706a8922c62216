#!/usr/bin/env bash
# Builds the keyword-search benchmark corpus (issue 14) from Debian packages
# into OUTDIR:
#
#   corpus.jsonl    {"key","title","text"} a line: every fortune (fortunes,
#                   fortunes-min) and every man page under /usr/share/man/man1-8
#                   rendered by man-db and cut into chunks of about 100 words
#                   (60 when that gives under 50,000 documents)
#   stopwords.txt   bleve's English stop list (the one Rosetta's "en" analysis
#                   uses), which the Xapian peer stops too and queries avoid
#   queries.json    200 queries a class: one, two and three words, and phrases
#   manifest.txt    what went in: packages and versions, counts, options
#
# Installs what it needs with apt-get when missing: fortunes fortunes-min
# manpages manpages-dev man-db groff-base, and python3-xapian for
# scripts/keyword-xapian.py. Output depends only on the installed packages
# (files are read in sorted order, the query seed is fixed).
#
# Environment: KEYWORD_JOBS (pages rendered at once, default 2),
# KEYWORD_SEED (default 14), KEYWORD_MAN_EXCLUDE (space-separated globs of
# man page files to skip, default "gcloud*": Google Cloud's CLI reference,
# from a non-Debian package where installed, is 16,000 generated pages that
# would be nine tenths of the corpus; set it empty to keep them).
set -euo pipefail
out=${1:?usage: keyword-corpus.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
py=/usr/bin/python3
jobs=${KEYWORD_JOBS:-2}
seed=${KEYWORD_SEED:-14}
exclude=${KEYWORD_MAN_EXCLUDE-gcloud*}
mkdir -p "$out"

pkgs="fortunes fortunes-min manpages manpages-dev man-db groff-base python3-xapian"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing:$missing" >&2
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
    { $sudo apt-get update >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null; }
fi

(cd "$root" && go run ./bench/keywordpeers/bleve --stopwords) >"$out/stopwords.txt.tmp"
mv "$out/stopwords.txt.tmp" "$out/stopwords.txt"

excl=()
for g in $exclude; do excl+=(--exclude "$g"); done
chunk=100
n=$("$py" "$here/keyword-corpus.py" corpus "$out/corpus.jsonl" --chunk-words "$chunk" --jobs "$jobs" --files "$out/files.tmp" "${excl[@]}")
if [ "$n" -lt 50000 ]; then
  echo "only $n documents with $chunk-word chunks; cutting man pages into 60-word chunks" >&2
  chunk=60
  n=$("$py" "$here/keyword-corpus.py" corpus "$out/corpus.jsonl" --chunk-words "$chunk" --jobs "$jobs" --files "$out/files.tmp" "${excl[@]}")
fi
"$py" "$here/keyword-corpus.py" queries "$out/corpus.jsonl" "$out/queries.json" --stopwords "$out/stopwords.txt" --seed "$seed"

{
  echo "documents: $n"
  echo "fortunes: $(grep -c '^{"key": "fortune/' "$out/corpus.jsonl")"
  echo "man-page chunks: $(grep -c '^{"key": "man/' "$out/corpus.jsonl") (about $chunk words each)"
  echo "man pages excluded: ${exclude:-none}"
  echo "query seed: $seed"
  echo "sha256 corpus.jsonl: $(sha256sum "$out/corpus.jsonl" | cut -d' ' -f1)"
  echo "sha256 queries.json: $(sha256sum "$out/queries.json" | cut -d' ' -f1)"
  echo "packages whose files went in:"
  # shellcheck disable=SC2016 # dpkg-query's format, not the shell's
  { xargs -r dpkg -S <"$out/files.tmp" 2>/dev/null || true; } | grep -v '^diversion ' | cut -d: -f1 | tr ',' '\n' |
    sed 's/^ *//' | sort -u | { xargs -r dpkg-query -W -f='  ${Package} ${Version}\n' 2>/dev/null || true; }
} >"$out/manifest.txt"
rm -f "$out/files.tmp"
echo "$out: $n documents ($(du -h "$out/corpus.jsonl" | cut -f1)), queries.json, stopwords.txt, manifest.txt" >&2
