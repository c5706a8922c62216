#!/usr/bin/python3
"""Builds the keyword-search benchmark corpus and its query sets (issue 14).

  keyword-corpus.py corpus OUT.jsonl [--chunk-words 100] [--jobs 2] [--exclude GLOB ...] [--files LIST]
  keyword-corpus.py queries CORPUS.jsonl OUT.json --stopwords FILE [--seed 14] [--n 200]

corpus writes one JSON object per line, {"key", "title", "text"}:

  fortunes   every quote of the text files in /usr/share/games/fortunes (the
             .dat indexes and the .u8 links are skipped), key
             "fortune/<file>#<n>", title the file's name;
  man pages  every page under /usr/share/man/man1 .. man8 (links and ".so"
             redirects are skipped: they repeat another page), rendered to
             plain text by man-db ("man -l", one paragraph a line) and cut
             into chunks of about --chunk-words words, breaking at paragraph
             ends, else at sentence ends; key "man/<page>.<section>#<n>",
             title "<page>(<section>)".

Files are read in sorted order and rendered pages are written in that order
whatever --jobs is, so the output depends only on the installed packages.

queries samples, with a fixed seed, words of lower-cased documents that are
3 to 20 letters long and not stop words: "one" (single words), "two" and
"three" (distinct words of one document, separated by a space) and "phrase"
(two or three consecutive such words of one document, verbatim, in double
quotes). Standard library only; run it with /usr/bin/python3.
"""

import argparse
import bz2
import concurrent.futures
import fnmatch
import gzip
import json
import lzma
import os
import random
import re
import subprocess
import sys

FORTUNES = "/usr/share/games/fortunes"
MANROOT = "/usr/share/man"
COMPRESSED = (".gz", ".bz2", ".xz", ".lzma", ".zst", ".Z")

OVERSTRIKE = re.compile(r".\x08")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def clean(s):
    return ANSI.sub("", OVERSTRIKE.sub("", s))


# ---------------------------------------------------------------- fortunes


def fortune_docs():
    for name in sorted(os.listdir(FORTUNES)):
        path = os.path.join(FORTUNES, name)
        if name.endswith((".dat", ".u8")) or os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = clean(f.read().decode("utf-8", errors="replace"))
        n = 0
        for quote in re.split(r"^%[ \t]*$", data, flags=re.M):
            quote = "\n".join(line.rstrip() for line in quote.strip("\n").splitlines()).strip()
            if not quote:
                continue
            n += 1
            yield {"key": "fortune/%s#%d" % (name, n), "title": name, "text": quote}


# --------------------------------------------------------------- man pages


def man_pages(excludes):
    """Yields (path, page, section) for every real page, sorted."""
    for d in ["man%d" % i for i in range(1, 9)]:
        top = os.path.join(MANROOT, d)
        if not os.path.isdir(top):
            continue
        for name in sorted(os.listdir(top)):
            path = os.path.join(top, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            if any(fnmatch.fnmatchcase(name, g) for g in excludes):
                continue
            base = name
            for ext in COMPRESSED:
                if base.endswith(ext):
                    base = base[: -len(ext)]
                    break
            page, dot, section = base.rpartition(".")
            if not dot or not page or not section:
                continue
            yield path, page, section


def read_page(path):
    """Returns the page's roff source, decompressed."""
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".lzma": lzma.open}.get(os.path.splitext(path)[1], open)
    with opener(path, "rb") as f:
        return f.read()


def render(path):
    """Returns the page as plain text, or None for a ".so" redirect or a page
    man cannot format. The line width is so large that a paragraph stays on
    one line (and no word is hyphenated at a line break)."""
    env = dict(os.environ, MANWIDTH="4000", LC_ALL="C.UTF-8")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    env.pop("MAN_KEEP_FORMATTING", None)
    try:
        raw = read_page(path)
    except (OSError, EOFError, ValueError):
        return None
    for line in raw.splitlines():
        if line.startswith((b'.\\"', b"'\\\"")) or not line.strip():
            continue
        if line.startswith(b".so "):
            return None
        break
    r = subprocess.run(["man", "-l", path], capture_output=True, env=env, cwd=MANROOT)
    if r.returncode != 0 or not r.stdout.strip():
        return None
    return clean(r.stdout.decode("utf-8", errors="replace"))


def paragraphs(text):
    """Splits rendered man output into paragraphs (lists of words), dropping
    the header and footer lines. A line at column 0 (a section heading) is a
    paragraph of its own; a blank line ends one."""
    lines = text.splitlines()
    nonblank = [i for i, l in enumerate(lines) if l.strip()]
    if len(nonblank) < 3:
        return []
    paras, cur = [], []
    for line in lines[nonblank[0] + 1 : nonblank[-1]]:
        if not line.strip():
            if cur:
                paras.append(cur)
            cur = []
            continue
        if not line[0].isspace():
            if cur:
                paras.append(cur)
            paras.append(line.split())
            cur = []
            continue
        cur.extend(line.split())
    if cur:
        paras.append(cur)
    return paras


def chunk(paras, target):
    """Cuts paragraphs into chunks of about target words: a chunk ends at the
    first paragraph end at or past 0.8 × target words, or before a sentence that
    would take it past 1.5 × target; a sentence longer than that is cut every
    target words. A last chunk under a quarter of target joins the one before.
    Returns each chunk as text, paragraphs separated by a blank line."""
    least, most = target * 4 // 5, target * 3 // 2
    chunks, cur, n = [], [], 0  # cur: paragraphs, each a list of sentences

    def flush():
        nonlocal cur, n
        if n:
            chunks.append((n, cur))
        cur, n = [], 0

    for words in paras:
        units = []
        for s in SENTENCE_END.split(" ".join(words)):
            w = s.split()
            while len(w) > most:
                units.append(w[:target])
                w = w[target:]
            if w:
                units.append(w)
        new_para = True
        for i, w in enumerate(units):
            if n and n + len(w) > most:
                flush()
                new_para = True
            if new_para or not cur:
                cur.append([])
                new_para = False
            cur[-1].append(" ".join(w))
            n += len(w)
            if i == len(units) - 1 and n >= least:
                flush()
    if n and chunks and n < target // 4 and chunks[-1][0] + n <= 2 * target:
        m, prev = chunks.pop()
        chunks.append((m + n, prev + cur))
    else:
        flush()
    return ["\n\n".join(" ".join(p) for p in c) for _, c in chunks]


def man_docs(target, jobs, excludes, stats):
    pages = list(man_pages(excludes))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        # map keeps the input order; pages are rendered jobs at a time.
        for (path, page, section), text in zip(pages, ex.map(lambda p: render(p[0]), pages)):
            if text is None:
                stats["skipped"] += 1
                continue
            chunks = chunk(paragraphs(text), target)
            if not chunks:
                stats["skipped"] += 1
                continue
            stats["pages"] += 1
            stats["files"].append(path)
            for i, c in enumerate(chunks, 1):
                yield {"key": "man/%s.%s#%d" % (page, section, i), "title": "%s(%s)" % (page, section), "text": c}


def cmd_corpus(a):
    stats = {"pages": 0, "skipped": 0, "files": []}
    counts = {"fortune": 0, "man": 0}
    words = 0
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for kind, docs in (("fortune", fortune_docs()), ("man", man_docs(a.chunk_words, a.jobs, a.exclude, stats))):
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
                counts[kind] += 1
                words += len(d["text"].split())
    os.replace(tmp, a.out)
    if a.files:
        with open(a.files, "w", encoding="utf-8") as f:
            for name in sorted(os.listdir(FORTUNES)):
                path = os.path.join(FORTUNES, name)
                if not name.endswith((".dat", ".u8")) and os.path.isfile(path) and not os.path.islink(path):
                    f.write(path + "\n")
            f.writelines(p + "\n" for p in stats["files"])
    total = counts["fortune"] + counts["man"]
    print(
        "%s: %d docs (%d fortunes, %d man-page chunks of %d pages, %d pages skipped), %.0f words/doc"
        % (a.out, total, counts["fortune"], counts["man"], stats["pages"], stats["skipped"], words / max(total, 1)),
        file=sys.stderr,
    )
    print(total)


# ----------------------------------------------------------------- queries

WORD = re.compile(r"[a-z]{3,20}")
EDGE_PUNCT = "\"'`()[]{}<>,.;:!?*"


def load_stopwords(path):
    with open(path, encoding="utf-8") as f:
        return {w.strip().lower() for w in f if w.strip()}


def cmd_queries(a):
    stop = load_stopwords(a.stopwords)
    docs = []
    with open(a.corpus, encoding="utf-8") as f:
        for line in f:
            docs.append(json.loads(line)["text"].lower())
    rng = random.Random(a.seed)

    def eligible(tok):
        return WORD.fullmatch(tok) is not None and tok not in stop

    def words_of(text):
        out = []
        for tok in text.split():
            tok = tok.strip(EDGE_PUNCT)
            if eligible(tok):
                out.append(tok)
        return out

    def sample(make):
        seen, out, tries = set(), [], 0
        while len(out) < a.n:
            tries += 1
            if tries > 1000 * a.n:
                sys.exit("queries: cannot find %d distinct queries (got %d)" % (a.n, len(out)))
            q = make(docs[rng.randrange(len(docs))])
            if q is not None and q not in seen:
                seen.add(q)
                out.append(q)
        return out

    def words(count):
        def make(text):
            ws = sorted(set(words_of(text)))
            if len(ws) < count:
                return None
            return " ".join(rng.sample(ws, count))

        return make

    def phrase(text):
        toks = text.split()
        length = rng.choice((2, 3))
        starts = []
        for i in range(len(toks) - length + 1):
            run = toks[i : i + length]
            run[-1] = run[-1].rstrip(".,;:!?")  # a phrase may end a clause
            if all(eligible(t) for t in run):
                starts.append(" ".join(run))
        if not starts:
            return None
        return '"%s"' % rng.choice(starts)

    out = {"one": sample(words(1)), "two": sample(words(2)), "three": sample(words(3)), "phrase": sample(phrase)}
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, a.out)
    print("%s: %s queries (seed %d)" % (a.out, ", ".join("%d %s" % (len(v), k) for k, v in out.items()), a.seed), file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus", help="write the corpus as JSON lines")
    c.add_argument("out")
    c.add_argument("--chunk-words", type=int, default=100, help="words per man-page chunk (about)")
    c.add_argument("--jobs", type=int, default=2, help="man pages rendered at once")
    c.add_argument("--files", help="also write the source files that went in, one a line, to this file")
    c.add_argument("--exclude", action="append", default=[], help="skip man page files matching this glob (repeatable)")
    q = sub.add_parser("queries", help="sample the query sets from a corpus")
    q.add_argument("corpus")
    q.add_argument("out")
    q.add_argument("--stopwords", required=True, help="stop words, one a line (never drawn)")
    q.add_argument("--seed", type=int, default=14)
    q.add_argument("--n", type=int, default=200, help="queries per class")
    a = p.parse_args()
    if a.cmd == "corpus":
        if a.chunk_words < 8 or a.jobs < 1:
            p.error("--chunk-words must be at least 8 and --jobs at least 1")
        cmd_corpus(a)
    else:
        cmd_queries(a)


if __name__ == "__main__":
    main()
