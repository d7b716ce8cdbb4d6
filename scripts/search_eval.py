#!/usr/bin/env python3
"""The address search's evaluation set, and its precision@1.

  search_eval.py generate DATABASE_URL > bench/search-eval.json
      Draws households from a register seeded with the full demo profile (synthetic) whose
      house number, street and ward together name one household, and writes queries for them
      as people type them: as written; without diacritics; abbreviated (Đ., P., số); words
      reordered; one typo in a word of 4 letters or more; the ward's pre-2025 name.
  search_eval.py score BASE_URL bench/search-eval.json
      Asks GET /v1/addresses?q= for every query and prints precision@1 (the first result is
      the household meant: same Vpostcode and house number), by kind and in all, as JSON.
"""
import json
import random
import subprocess
import sys
import unicodedata
import urllib.parse
import urllib.request

KINDS = ["as_written", "no_diacritics", "abbreviated", "reordered", "one_typo", "old_ward_name"]
PER_KIND = 90  # 540 queries


def fold(text):
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def psql(url, sql):
    out = subprocess.run(["psql", url, "-AtXF", "\t", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def typo(word, rng):
    """One edit (swap, drop or change a letter) inside a word of 4+ letters."""
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(["swap", "drop", "change"])
    if edit == "swap":
        return word[: i] + word[i + 1] + word[i] + word[i + 2:]
    if edit == "drop":
        return word[:i] + word[i + 1:]
    letters = "abcdeghiklmnopqrstuvxy"
    return word[:i] + rng.choice([c for c in letters if c != word[i]]) + word[i + 1:]


def query(kind, h, rng):
    house, street, ward, old = h["house_number"], h["street"], h["ward_name"], h["old_name"]
    if kind == "as_written":
        return f"{house} {street}, {ward}"
    if kind == "no_diacritics":
        return fold(f"{house} {street} {ward}").lower()
    if kind == "abbreviated":
        return f"số {house} {street.replace('Đường ', 'Đ. ')}, {ward.replace('Phường ', 'P. ').replace('Xã ', 'X. ')}"
    if kind == "reordered":
        return f"{ward} {street} {house}"
    if kind == "one_typo":
        words = street.split()
        long = [i for i, w in enumerate(words) if len(fold(w)) >= 4 and not any(c.isdigit() for c in w)]
        i = rng.choice(long)
        words[i] = typo(fold(words[i]).lower(), rng)
        return f"{house} {' '.join(words)} {fold(ward).lower()}"
    if kind == "old_ward_name":
        return f"{house} {street} {old}"
    raise ValueError(kind)


def generate(url):
    rows = psql(url, """
        SELECT a.house_number, a.street, w.name,
               substr(a.vpostcode, 1, 5) || ' ' || substr(a.vpostcode, 6, 4) || '+' || substr(a.vpostcode, 10),
               coalesce((SELECT string_agg(p.name, '|' ORDER BY p.name) FROM unit_succession s
                         JOIN admin_unit p ON p.id = s.predecessor_id AND p.level = 'ward'
                         WHERE s.successor_id = w.id AND p.name <> w.name), '')
        FROM address a JOIN admin_unit w ON w.code = a.ward_code AND w.level = 'ward' AND w.valid_to IS NULL
        WHERE a.status = 'verified' AND a.street IS NOT NULL AND a.house_number IS NOT NULL
          AND (SELECT count(*) FROM address b WHERE b.status = 'verified' AND b.ward_code = a.ward_code
               AND b.street = a.street AND b.house_number = a.house_number) = 1
        ORDER BY a.id""")
    households = [dict(house_number=r[0], street=r[1], ward_name=r[2], vpostcode=r[3], old_names=[n for n in r[4].split("|") if n])
                  for r in rows]
    rng = random.Random(20_251_130)
    out = []
    for kind in KINDS:
        pool = households
        if kind == "old_ward_name":
            pool = [h for h in households if h["old_names"]]
        if kind == "one_typo":
            pool = [h for h in households if any(len(fold(w)) >= 4 and not any(c.isdigit() for c in w) for w in h["street"].split())]
        for h in rng.sample(pool, PER_KIND):
            h = dict(h, old_name=rng.choice(h["old_names"]) if h["old_names"] else h["ward_name"])
            out.append({"kind": kind, "q": query(kind, h, rng), "vpostcode": h["vpostcode"], "house_number": h["house_number"]})
    json.dump({"about": __doc__.strip().splitlines()[0] + " Synthetic households (demo profile full, seed 20250701).",
               "queries": out}, sys.stdout, ensure_ascii=False, indent=1)
    print()


def score(base, path):
    queries = json.load(open(path, encoding="utf-8"))["queries"]
    right, by_kind, misses = 0, {}, []
    for item in queries:
        url = f"{base}/v1/addresses?limit=1&q={urllib.parse.quote(item['q'])}"
        with urllib.request.urlopen(url) as response:
            results = json.load(response)["results"]
        ok = bool(results) and results[0]["vpostcode"] == item["vpostcode"] and results[0]["house_number"] == item["house_number"]
        right += ok
        kind = by_kind.setdefault(item["kind"], [0, 0])
        kind[0] += ok
        kind[1] += 1
        if not ok:
            misses.append({"q": item["q"], "first": results[0]["house_number"] + " " + (results[0]["street"] or "") if results else None})
    print(json.dumps({"queries": len(queries), "precision_at_1": right / len(queries),
                      "by_kind": {k: v[0] / v[1] for k, v in by_kind.items()}, "misses": misses[:15]},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    {"generate": generate, "score": score}[sys.argv[1]](*sys.argv[2:])
