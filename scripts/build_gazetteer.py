#!/usr/bin/env python3
"""Build the country and city tables the country tagger embeds.

Reads (read-only):
  <data>/countries/countries.json     mledoze/countries, ODbL 1.0
  <data>/geonames/cities15000.txt.gz  GeoNames cities15000, CC BY 4.0

Writes:
  config/gazetteer/countries.tsv  code, kind, name   (names, official names, spellings, demonyms)
  config/gazetteer/cities.tsv     code, tier, population, name

`config/gazetteer/extra.tsv` is hand-written and is not touched here; the tagger lets it win
over both generated tables.

Usage: python3 scripts/build_gazetteer.py [--data ../shared/data] [--out config/gazetteer]
Python 3 standard library only. The output is sorted so that re-running it gives the same bytes.
"""

import argparse
import collections
import gzip
import json
import os
import unicodedata

# Cities at or above this population are matched anywhere in a story (as are capitals).
CITY_POPULATION = 250_000
# Cities at or above this population are matched only when they are the whole dateline place:
# a dateline is a slot that can only hold a place, so smaller cities are safe there.
DATELINE_POPULATION = 100_000
# A name shared by cities in several countries is kept only when its largest city is this many
# times larger than the largest one elsewhere (London GB vs London CA is kept, Valencia is not).
DOMINANCE = 3.0

# City names that are also common words or given names: matched in datelines only, never in
# running text ("Austin said", "Victoria", "Mobile phones", "Tours", "Male").
DATELINE_ONLY = {
    "arlington", "aurora", "austin", "bar", "bath", "batman", "charlotte", "columbus", "concord",
    "corona", "douglas", "florence", "garland", "hamilton", "independence", "irving", "jackson",
    "kingston", "lincoln", "madison", "male", "marks", "mary", "mercedes", "mobile", "nancy",
    "nice", "of", "orange", "reading", "sale", "split", "sur", "tours", "victoria", "york",
    "phoenix", "providence", "salem", "santa ana", "mesa", "norman", "eugene", "lafayette",
    "hollywood", "pasadena", "paterson", "buffalo", "temple", "bend", "hue", "leon",
    "nelson", "murray", "george", "kent", "warren", "troy", "dayton",
    "worcester", "winston-salem", "abilene", "richmond", "pau",
    "cherry hill", "sterling", "elizabeth", "hilton", "chester", "lancaster", "derby", "hull",
    "cambridge", "oxford", "wigan", "bristol", "manchester", "birmingham", "durham", "gary",
    "edison", "clifton", "denton", "camden", "carrollton", "fargo", "tyler", "odessa",
    "midland", "medina", "kobe", "kano", "china",
    "moron", "serra", "franca", "natal", "santos", "campos", "aral", "gaya", "van", "sakai",
    "yao", "aba", "jos", "nis", "laval", "surrey", "toyota", "bello", "palma", "mercin",
    "dayan", "kumi", "suzano", "tula", "orel", "parana", "salta", "guli", "teni", "nangi",
    "percut", "tanda", "xico", "owo", "iwo", "ondo", "santol", "budta", "hoko", "tenan",
    "safi", "turan", "kosti", "altona", "masina", "tonala", "sisli", "bali", "marion",
    "florida", "nevada", "colorado", "victoria", "ibague", "bauru", "canoas",
}

# ASCII-folded, lowercased key used to detect the same name in two places.
def key(name):
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(folded.lower().split())


def is_latin(name):
    folded = unicodedata.normalize("NFKD", name)
    return all(
        (c.isascii() and (c.isalnum() or c in " .'-")) or unicodedata.combining(c)
        for c in folded
    )


def ascii_fold(name):
    folded = unicodedata.normalize("NFKD", name)
    return "".join(c for c in folded if not unicodedata.combining(c))


def country_rows(path):
    data = json.load(open(path, encoding="utf-8"))
    # name key -> {code: (kind, name, un_member)}
    found = collections.defaultdict(dict)

    def add(code, kind, name, un):
        name = " ".join(name.split())
        if not name or not is_latin(name):
            return
        if len(name) <= 3 and not (name.isupper() and len(name) == 3):
            return  # two-letter codes and such: curated in extra.tsv where safe
        if not name[0].isupper():
            return
        for variant in {name, ascii_fold(name)}:
            k = key(variant)
            if code not in found[k]:
                found[k][code] = (kind, variant, un)

    for c in data:
        code = c["cca2"]
        un = bool(c.get("unMember"))
        add(code, "name", c["name"]["common"], un)
        add(code, "official", c["name"]["official"], un)
        for alt in c.get("altSpellings", []):
            if "," in alt or "(" in alt:
                continue  # "Korea, Republic of" index forms
            add(code, "alt", alt, un)
        eng = (c.get("demonyms") or {}).get("eng") or {}
        for form in {eng.get("m", ""), eng.get("f", "")}:
            for part in form.split(","):
                add(code, "demonym", part.strip(), un)

    rows = []
    for k, codes in found.items():
        if len(codes) > 1:
            members = {cc: v for cc, v in codes.items() if v[2]}
            if len(members) != 1:
                continue  # "Congolese", "Dominican": settled by hand in extra.tsv
            codes = members
        (code, (kind, name, _)), = codes.items()
        rows.append((code, kind, name))
    rows.sort()
    return rows


def city_rows(path, country_names):
    by_name = collections.defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 15:
                continue
            name, asciiname, fcode, cc = cols[1], cols[2], cols[7], cols[8]
            try:
                pop = int(cols[14] or 0)
            except ValueError:
                continue
            for n in {name, asciiname}:
                if n and is_latin(n):
                    by_name[key(n)].append((pop, cc, fcode, n))
    rows = []
    for k, entries in by_name.items():
        if k in country_names:
            continue  # "Kuwait", "Singapore", "Djibouti": the country table answers
        entries.sort(reverse=True)
        pop, cc, fcode, name = entries[0]
        elsewhere = [p for p, c, _, _ in entries if c != cc]
        if elsewhere and pop < DOMINANCE * max(elsewhere):
            continue
        capital = fcode == "PPLC"
        if pop >= CITY_POPULATION or capital:
            tier = "city"
        elif pop >= DATELINE_POPULATION:
            tier = "dateline"
        else:
            continue
        if k in DATELINE_ONLY:
            tier = "dateline"
        # Prefer the ASCII spelling as the table's display form; the tagger folds anyway.
        best = ascii_fold(name)
        rows.append((cc, tier, pop, best))
    rows.sort(key=lambda r: (r[0], r[3]))
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(root, "config", "gazetteer"))
    args = ap.parse_args()

    countries = country_rows(os.path.join(args.data, "countries", "countries.json"))
    names = {key(n) for _, _, n in countries}
    cities = city_rows(os.path.join(args.data, "geonames", "cities15000.txt.gz"), names)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "countries.tsv"), "w", encoding="utf-8") as f:
        f.write("# Derived from mledoze/countries (ODbL 1.0); see LICENSE-NOTICE.md.\n")
        f.write("# code\tkind\tname\n")
        for code, kind, name in countries:
            f.write(f"{code}\t{kind}\t{name}\n")
    with open(os.path.join(args.out, "cities.tsv"), "w", encoding="utf-8") as f:
        f.write("# Derived from GeoNames cities15000 (CC BY 4.0); see LICENSE-NOTICE.md.\n")
        f.write("# code\ttier\tpopulation\tname\n")
        for cc, tier, pop, name in cities:
            f.write(f"{cc}\t{tier}\t{pop}\t{name}\n")
    print(f"countries.tsv: {len(countries)} rows; cities.tsv: {len(cities)} rows")


if __name__ == "__main__":
    main()
