"""Variants of a definition set for exercising one concern alone.

`lifecycle_only` keeps every stage's lifecycle, dates and gates and drops what the forms
add (their schemas, rules and parts): the tests and benchmarks of gates, clock and the
action hot path walk stages with it, while the forms are tested on the real set.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_PARTS = re.compile(r"(?m)^    parts: .*\n")
_OUTPUTS = re.compile(r"(?m)^    outputs: \[(.*)\]")


def lifecycle_only(workflows: Path, root: Path) -> Path:
    """Write under ``root`` a copy of ``workflows`` whose output forms accept any object and
    whose stages have no parts; return the copy's workflows folder."""
    out, forms = root / "workflows", root / "forms"
    out.mkdir(parents=True)
    forms.mkdir()
    for path in sorted(Path(workflows).glob("*.yaml")):
        text = _PARTS.sub("", path.read_text(encoding="utf-8"))
        # Scoring by form data needs the forms: keep the stage criteria only.
        text = re.sub(r"(?m)^    - \{name: .*measure: .*\}\n", "", text)
        (out / path.name).write_text(text, encoding="utf-8")
        for names in _OUTPUTS.findall(text):
            for form in (n.strip() for n in names.split(",")):
                (forms / f"{form}.json").write_text(json.dumps(
                    {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}))
    return out
