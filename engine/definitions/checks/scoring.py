"""The classification rule: it names real stages and gives every score a class."""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from .corpus import Corpus, suggest


def check(corpus: Corpus) -> Iterator[Finding]:
    for doc in corpus:
        sc = doc.data.get("scoring")
        if sc is None:
            continue
        ids = Corpus.stage_ids(doc)
        refs = [(("scoring", "stage"), sc["stage"])]
        refs += [(("scoring", "criteria", i, "stage"), c["stage"])
                 for i, c in enumerate(sc["criteria"]) if "stage" in c]
        outputs = {f for s in doc.data["stages"] for f in s.get("outputs", [])}
        for i, c in enumerate(sc["criteria"]):
            for kind, spec in (c.get("measure") or {}).items():
                form = spec.get("form")
                if form is not None and form not in outputs:
                    yield doc.error(("scoring", "criteria", i, "measure", kind, "form"),
                                    "unknown-form",
                                    f"penilaian memakai formulir '{form}' yang bukan keluaran tahap "
                                    f"mana pun di tingkat {doc.data['level']}{suggest(form, outputs)}")
        for path, sid in refs:
            if sid not in ids:
                yield doc.error(path, "unknown-stage",
                                f"penilaian memakai tahap '{sid}' yang tidak ada di tingkat "
                                f"{doc.data['level']}{suggest(sid, ids)}")
        if not any(b["min"] == 0 for b in sc["bands"]):
            lowest = min(b["min"] for b in sc["bands"])
            yield doc.warning(("scoring", "bands"), "scoring-bands",
                              f"tidak ada kelas dengan min 0: wilayah dengan nilai di bawah "
                              f"{lowest} tidak mendapat klasifikasi")
