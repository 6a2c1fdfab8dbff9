#!/usr/bin/env python3
"""Build the IPTC Media Topics tables that wirefeed embeds.

Inputs
  * the IPTC Media Topics vocabulary in English (`mediatopics-en.json`: qcode, label,
    definition, broader), published by IPTC under CC BY 4.0;
  * `config/topics/keywords.txt`, the hand-curated, weighted keyword and phrase lists.

Outputs (in `config/topics/`)
  * `concepts.tsv`: qcode, broader qcode, label for every current concept;
  * `lexicon.tsv`: term, case mode, qcode, weight: the curated terms plus terms mined from the
    concept labels (label phrases and their parts) and from the definitions (words that only
    ever occur under one top-level topic).

Curated terms win: a term listed in keywords.txt keeps only its curated senses, so the lists
can correct the vocabulary (e.g. "software" sits under economy in IPTC, but a story about
software is first of all science and technology).

Python 3 standard library only. Usage:
  scripts/build_topics.py [--mediatopics PATH] [--keywords PATH] [--out-dir DIR]
"""

import argparse
import json
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Label words too generic to signal their concept on their own.
GENERIC = {
    "other", "people", "process", "series", "party", "trend", "values", "mankind",
    "communities", "pool", "metal", "game", "transfer", "court", "justice", "law",
    "government", "media", "culture", "lifestyle", "leisure", "economy", "environment",
    "health", "society", "weather", "politics", "sport", "education", "labour",
    "religion", "belief", "science", "technology", "business", "information", "service",
    "services", "system", "development", "policy", "activity", "issue", "condition",
    "problem", "event", "events", "organisation", "organisations", "institution",
    "material", "materials", "product", "products", "industry", "goods", "good", "sector",
    "market", "action", "use", "abuse", "general", "discipline", "competition", "venue",
    "facilities", "facility", "relations", "affairs", "measures", "security", "standards",
    "treatment", "staff", "profession", "specialisation", "procedure", "test", "adults",
    "children", "gender", "family", "plant", "animal", "accomplishment", "ceremony",
    "anniversary", "birthday", "design", "drama", "fiction", "language", "prices",
    "water", "land", "resources", "growth", "cartoon", "running", "jumping", "arts",
    "appeal", "fine", "prison", "series", "recall", "interest", "games", "work",
    "entertainment", "crime", "disaster", "emergency", "accident", "incident", "war",
    "peace", "conflict", "finance", "employment", "performance", "instrument", "genre",
    "equipment", "component", "components", "active", "engineering", "enthusiasm",
    "income", "investing", "personal", "public", "private", "international",
    "national", "regional", "local", "continental", "world", "social", "political",
    "cultural", "economic", "environmental", "medical", "religious", "scientific",
    "mass", "high", "middle", "elementary", "further", "independent", "special",
    "annual", "new", "human", "natural", "sports", "sporting", "free", "technical",
    "routine", "shooting", "diving", "surfing", "skating", "bowling", "climbing",
    "racing", "dancing", "riding", "roping", "baseball", "policy", "reform",
}

STOPWORDS = set("""
a about above after again against all also an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our out over own same she should so some such than
that the their them then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your including include
includes such various related relating regarding concerning matters matter aspects issues
forms form kinds kind types type example examples well used using within without among other
others different specific general particular part parts major minor level levels certain
person persons people group groups things thing activities activity area areas field fields
stories story news coverage term terms either whether often usually generally especially
""".split())

WORD = re.compile(r"[a-z][a-z'-]+")


def qcode_of(uri_or_qcode):
    if uri_or_qcode.startswith("http"):
        return "medtop:" + uri_or_qcode.rstrip("/").rsplit("/", 1)[1]
    return uri_or_qcode


def load_concepts(path):
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    concepts = {}
    for c in raw:
        broader = [qcode_of(b) for b in c.get("broader") or []]
        concepts[c["qcode"]] = {
            "label": c["label"].strip(),
            "definition": (c.get("definition") or "").strip(),
            "broader": broader[0] if broader else "",
        }
    for q, c in concepts.items():
        if c["broader"] and c["broader"] not in concepts:
            sys.exit(f"{q}: broader concept {c['broader']} is not in the vocabulary")
    return concepts


def top_of(concepts, q):
    seen = set()
    while concepts[q]["broader"]:
        if q in seen:
            sys.exit(f"cycle in broader chain at {q}")
        seen.add(q)
        q = concepts[q]["broader"]
    return q


def parse_keywords(path, concepts):
    """Sections `@ medtop:NNNNNNNN`, then lines `WEIGHT term, term, ...`.

    Term prefixes: `=` matches the exact case only ("=Labour"), `~` only in lower case
    ("~labour"); otherwise ASCII case is ignored."""
    senses = []
    current = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("@"):
                current = line[1:].split()[0]
                if current not in concepts:
                    sys.exit(f"{path}:{n}: unknown concept {current}")
                continue
            if current is None:
                sys.exit(f"{path}:{n}: term line before the first @ section")
            weight_text, _, rest = line.partition(" ")
            try:
                weight = float(weight_text)
            except ValueError:
                sys.exit(f"{path}:{n}: expected a weight first, got {weight_text!r}")
            for term in rest.split(","):
                term = " ".join(term.split())
                if not term:
                    continue
                mode = "i"
                if term[0] in "=~":
                    mode = "c" if term[0] == "=" else "l"
                    term = term[1:]
                if mode == "i":
                    term = term.lower()
                if mode == "l" and term != term.lower():
                    sys.exit(f"{path}:{n}: lower-case-only term {term!r} has capitals")
                senses.append((term, mode, current, weight))
    return senses


def label_terms(label):
    """The label itself and its parts ("patent, copyright and trademark" -> each noun)."""
    label = re.sub(r"\s*\([^)]*\)", "", label).strip()
    out = []
    whole = label.lower()
    if whole and "," not in whole and " and " not in whole and "/" not in whole:
        out.append((whole, 1.5 if " " in whole else 1.2))
    parts = re.split(r",\s*|\s+and\s+|\s+or\s+|/", whole)
    if len(parts) > 1:
        for p in parts:
            p = p.strip()
            if p:
                out.append((p, 1.0 if " " in p else 0.8))
    result = []
    for term, w in out:
        if term in GENERIC or len(term) < 3:
            continue
        result.append((term, w))
        # A plural label also matches its singular ("stocks" -> "stock"); the matcher
        # already accepts a plural after a singular term.
        if " " not in term and re.search(r"[^su]s$", term) and not term.endswith("ics"):
            result.append((term[:-1], w))
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mediatopics", default=os.path.join(
        ROOT, "..", "shared", "data", "iptc-mediatopics", "mediatopics-en.json"))
    ap.add_argument("--keywords", default=os.path.join(ROOT, "config", "topics", "keywords.txt"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "config", "topics"))
    args = ap.parse_args()

    concepts = load_concepts(args.mediatopics)
    curated = parse_keywords(args.keywords, concepts)
    curated_terms = {t.lower() for t, _, _, _ in curated}

    mined = {}  # (term, qcode) -> weight

    def add(term, q, w):
        if term in curated_terms:
            return
        key = (term, q)
        mined[key] = max(mined.get(key, 0.0), w)

    for q, c in concepts.items():
        if not c["broader"]:
            continue  # top-level labels are too broad; the curated lists cover them
        for term, w in label_terms(c["label"]):
            add(term, q, w)

    # Definition words that only ever occur under one top-level topic, in three or more
    # concepts: weak evidence for that top-level topic.
    word_tops = defaultdict(set)
    word_count = defaultdict(int)
    for q, c in concepts.items():
        top = top_of(concepts, q)
        words = set(WORD.findall((c["definition"] + " " + c["label"]).lower()))
        for w in words:
            if len(w) >= 5 and w not in STOPWORDS and w not in GENERIC:
                word_tops[w].add(top)
                word_count[w] += 1
    for w, tops in word_tops.items():
        if len(tops) == 1 and word_count[w] >= 3:
            add(w, next(iter(tops)), 0.25)

    # A mined term that names several concepts keeps them all, but with less weight each.
    per_term = defaultdict(list)
    for (term, q), w in mined.items():
        per_term[term].append((q, w))

    rows = []
    for term, mode, q, w in curated:
        rows.append((term, mode, q, w))
    for term, senses in per_term.items():
        share = 1.0 if len(senses) == 1 else 0.7
        for q, w in senses:
            rows.append((term, "i", q, round(w * share, 2)))
    rows.sort(key=lambda r: (r[0].lower(), r[1], r[2]))

    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "concepts.tsv"), "w", encoding="utf-8") as f:
        f.write("# IPTC Media Topics (CC BY 4.0, see LICENSE-NOTICE.md): qcode, broader, label.\n")
        f.write("# Generated by scripts/build_topics.py; do not edit by hand.\n")
        for q in sorted(concepts):
            c = concepts[q]
            f.write(f"{q}\t{c['broader']}\t{c['label']}\n")
    with open(os.path.join(args.out_dir, "lexicon.tsv"), "w", encoding="utf-8") as f:
        f.write("# Topic lexicon: term, case mode (i any case, c exact case, l lower case only),\n")
        f.write("# qcode, weight. Generated by scripts/build_topics.py from keywords.txt and the\n")
        f.write("# IPTC Media Topics labels and definitions; do not edit by hand.\n")
        for term, mode, q, w in rows:
            f.write(f"{term}\t{mode}\t{q}\t{w:g}\n")
    n_curated = len(curated)
    print(f"{len(concepts)} concepts, {len(rows)} lexicon rows "
          f"({n_curated} curated, {len(rows) - n_curated} mined)")


if __name__ == "__main__":
    main()
