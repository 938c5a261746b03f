"""Figure 4b: does the FROM-value structure change the best rule? (issue 13, exploration)

Beside the report's rule search (pipeline/report/fig4.py, 45 candidates) this tries the
structural choices the study may have made, for every label-column choice and keyword
source of the report: which of temp's duplicate rows of a name count (union, first, last,
last non-blank), what temp is looked up by (the base name, the whole FROM value, either),
what the type keywords are matched on (the whole FROM value, the base name), the
Variable marker, and the counting unit (repository, Dockerfile, distinct FROM value of a
Dockerfile, sheet row). Each is scored like the report, on the published type totals.
Run: .venv/bin/python scripts/fig4b_structure_search.py (after ingest; about a minute).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path

import pandas as pd

from pipeline.config import Paths
from pipeline.report import fig4 as F4
from pipeline.report.targets import load_spec
from pipeline.taxonomy import read_yaml

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("1", "2", "3", "last")
DUPES = ("union", "first", "last", "nonblank")


def name_types(temp: pd.DataFrame, merge: dict[str, list[str]], columns: str,
               dupes: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in temp.itertuples():
        key = str(row.base).strip().lower()
        vals = [v.strip() for v in (getattr(row, c) for c in F4.LABEL_COLUMNS)
                if isinstance(v, str) and v.strip()]
        vals = vals[-1:] if columns == "last" else vals[:int(columns)]
        if key in out and (dupes == "first" or (dupes == "nonblank" and not vals)):
            continue
        if key in out and dupes == "last":
            out[key] = set()
        for v in vals:
            out.setdefault(key, set()).update(merge.get(v, []))
        out.setdefault(key, set())
    return out


def main() -> None:
    p = Paths(ROOT)
    sheet = pd.read_csv(p.interim / "package_base_images.csv")
    temp = pd.read_csv(p.interim / "package_base_types.csv")
    doc = F4.load_fig4(p.taxonomy)
    types_doc = read_yaml(p.taxonomy / "base_image_types.yaml")["entries"]
    target = F4.paper_type_targets(load_spec(p), {" ".join(e["paper_label"].split()): e["id"]
                                                  for e in types_doc})
    base = sheet["base"].fillna("").astype(str).str.strip().str.lower().tolist()
    full = sheet["baseimage"].fillna("").astype(str).str.lower().tolist()
    units = {"repository": list(sheet["repo"]),
             "dockerfile": list(zip(sheet["repo"], sheet["dockerfile"], strict=True)),
             "from value": list(zip(sheet["repo"], sheet["dockerfile"], full, strict=True)),
             "row": list(range(len(sheet)))}
    scored = []
    for columns, dupes, kw_src in itertools.product(COLUMNS, DUPES, tuple(F4.KEYWORD_SOURCES)):
        types = name_types(temp, doc["figure4b_merge"], columns, dupes)
        bars = F4.rule_bars(kw_src, doc["figure4a"], doc.get("python_closest"))
        kws = F4.type_keywords(types, kw_src, bars)
        for lookup, match_on, variable in itertools.product(
                ("base", "full", "either"), ("full", "base"), ("", "$", "${")):
            typed = []
            for b, f in zip(base, full, strict=True):
                ts = set(types.get(b, ())) if lookup != "full" else set()
                if lookup != "base":
                    ts |= types.get(f.strip(), set())
                s = f if match_on == "full" else b
                ts |= {t for t, ws in kws.items() if any(w in s for w in ws)}
                if variable and variable in f:
                    ts.add("variable")
                typed.append(ts)
            for unit, ids in units.items():
                got: dict[str, set[object]] = defaultdict(set)
                for u, ts in zip(ids, typed, strict=True):
                    for t in ts:
                        got[t].add(u)
                res = [abs(len(got.get(t, ())) - v) for t, v in target.items()]
                scored.append((sum(r == 0 for r in res), sum(res),
                               (columns, dupes, kw_src, lookup, match_on, variable, unit)))
    scored.sort(key=lambda x: (-x[0], x[1]))
    print(f"{len(scored)} structural variants; best 10 (types exact, abs. residual, rule):")
    for exact, residual, rule in scored[:10]:
        print(exact, residual, rule)


if __name__ == "__main__":
    main()
