"""What changed between two definition sets, in a policy owner's words.

    >>> for change in diff(load(old_dir), load(new_dir)):
    ...     print(change.level, change.text)
    kecamatan tenggat Analisis Situasi pindah dari 15 Januari ke 31 Januari

Each `Change` has the level, the stage id (None for what concerns the whole level), a
stable ``kind``, the old and new values (JSON-ready, as the YAML spells them) and a
sentence in Bahasa Indonesia that names stages, roles, groups and bands by their YAML
names. Definitions are compared as frozen (defaults filled in), so a changed default
reminder shows on every stage that uses it: what each stage will actually do.

Where a stage's roles come from is `stage_roles`, the one function to adapt when a stage
can override who fires a trigger. A level whose content hash differs with nothing listed
here (a description, a key order, a block this module does not know) gets one ``other``
change, so a difference is never silent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from .model import SYSTEM, Definition, DefinitionSet, Notice, RoleRef, Stage


@dataclass(frozen=True, slots=True)
class Change:
    level: str
    stage: str | None  # stage id; None: the level as a whole
    kind: str
    old: Any
    new: Any
    text: str  # Bahasa Indonesia

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "stage": self.stage, "kind": self.kind,
                "old": self.old, "new": self.new, "text": self.text}


def diff(old: DefinitionSet, new: DefinitionSet) -> list[Change]:
    """Every difference from ``old`` to ``new``, level by level (top tier first)."""
    changes: list[Change] = []
    for level in _levels(old, new):
        before, after = old.definitions.get(level), new.definitions.get(level)
        if before is None:
            changes.append(Change(level, None, "level-added", None, after.version,
                                  f"tingkat baru {level} ({after.title}, versi {after.version})"))
        elif after is None:
            changes.append(Change(level, None, "level-removed", before.version, None,
                                  f"tingkat {level} ({before.title}) dihapus"))
        elif before.content_hash != after.content_hash:
            found = list(_level_changes(Pair(old, new, before, after)))
            changes += found or [Change(level, None, "other", before.content_hash,
                                        after.content_hash,
                                        "definisi berubah di bagian lain (mis. keterangan, "
                                        "urutan, atau aturan tindakan)")]
    return changes


def stage_roles(definitions: DefinitionSet, definition: Definition,
                stage: Stage) -> dict[str, tuple[str, ...]]:
    """Trigger id -> who may fire it on ``stage`` (role references as written, sorted).

    Today a trigger's ``by`` holds for every stage; a per-stage override goes here."""
    del definitions, stage  # the stage-specific sources of roles plug in here
    return {t.id: tuple(sorted(str(r) for r in t.by))
            for t in definition.lifecycle.triggers.values()}


# --- plumbing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One level on both sides, with the sets around it (to name other levels' roles)."""

    old_set: DefinitionSet
    new_set: DefinitionSet
    old: Definition
    new: Definition

    @property
    def level(self) -> str:
        return self.new.level

    def change(self, kind: str, old: Any, new: Any, text: str,
               stage: str | None = None) -> Change:
        return Change(self.level, stage, kind, old, new, text)

    def stage_name(self, stage_id: str) -> str:
        for d in (self.new, self.old):
            found = next((s.name for s in d.stages if s.id == stage_id), None)
            if found is not None:
                return found
        return stage_id

    def role_names(self, refs: Iterable[str], old: bool = False) -> str:
        """The roles' YAML names, in the order the level declares its roles (others after)."""
        side, definition = (self.old_set, self.old) if old else (self.new_set, self.new)
        order = {rid: i for i, rid in enumerate(definition.roles)}
        refs = sorted(refs, key=lambda r: (order.get(r, len(order)), r))
        return join([_role_name(side, definition, RoleRef.parse(r)) for r in refs])


def _levels(old: DefinitionSet, new: DefinitionSet) -> list[str]:
    tiers = {d.level: d.tier for d in old} | {d.level: d.tier for d in new}
    return sorted(tiers, key=lambda level: (tiers[level], level))


def _role_name(side: DefinitionSet, definition: Definition, ref: RoleRef) -> str:
    if ref.role == SYSTEM and ref.level is None:
        return "sistem"
    try:
        target = side.resolve(definition.level, ref)
    except KeyError:
        target = None
    if target is None or ref.role not in target[0].roles:
        return str(ref)
    name = target[0].roles[ref.role].name
    return name if target[0].level == definition.level else f"{name} ({target[0].level})"


def join(items: Iterable[str]) -> str:
    """"A", "A dan B", "A, B, dan C"; "tidak ada" for none."""
    items = list(items)
    if not items:
        return "tidak ada"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + (" dan " if len(items) == 2 else ", dan ") + items[-1]


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _level_changes(p: Pair) -> Iterator[Change]:
    for part in (_header, _roles, _lifecycle, _stages, _notices, _trigger_roles, _scoring,
                 _forms):
        yield from part(p)


# --- the level as a whole ------------------------------------------------------------------


def _header(p: Pair) -> Iterator[Change]:
    for attr, label in (("version", "versi"), ("title", "judul"), ("tier", "tingkatan (tier)"),
                        ("source", "sumber")):
        a, b = getattr(p.old, attr), getattr(p.new, attr)
        if a != b:
            yield p.change(attr, a, b, f"{label} berubah dari {a} menjadi {b}")


def _roles(p: Pair) -> Iterator[Change]:
    old, new = p.old.roles, p.new.roles
    for rid in new.keys() - old.keys():
        yield p.change("role-added", None, rid, f"peran baru {new[rid].name}")
    for rid in old.keys() - new.keys():
        yield p.change("role-removed", rid, None, f"peran {old[rid].name} dihapus")
    for rid in (r for r in new if r in old):
        a, b = old[rid], new[rid]
        if a.name != b.name:
            yield p.change("role-name", a.name, b.name,
                           f"peran {a.name} berganti nama menjadi {b.name}")
        if a.units != b.units:
            yield p.change("role-units", list(a.units), list(b.units),
                           f"unit peran {b.name} berubah dari {join(a.units)} "
                           f"menjadi {join(b.units)}")
        if a.count != b.count:
            yield p.change("role-count", a.count, b.count,
                           f"jumlah orang peran {b.name} berubah dari {a.count or '-'} "
                           f"menjadi {b.count or '-'}")
        if a.supervises != b.supervises:
            yield p.change("role-supervises", a.supervises, b.supervises,
                           f"peran {b.name} " + ("kini" if b.supervises else "tidak lagi")
                           + " mengawasi wilayah di bawahnya")


def _lifecycle(p: Pair) -> Iterator[Change]:
    old, new = p.old.lifecycle, p.new.lifecycle
    for sid in new.states.keys() - old.states.keys():
        yield p.change("state-added", None, sid, f"status baru {new.states[sid].name}")
    for sid in old.states.keys() - new.states.keys():
        yield p.change("state-removed", sid, None, f"status {old.states[sid].name} dihapus")
    for tid in new.triggers.keys() - old.triggers.keys():
        t = new.triggers[tid]
        yield p.change("trigger-added", None, tid,
                       f"tindakan baru {t.name}: dari {_states(new, t.sources)} ke "
                       f"{new.states[t.dest].name}, oleh {p.role_names(str(r) for r in t.by)}")
    for tid in old.triggers.keys() - new.triggers.keys():
        yield p.change("trigger-removed", tid, None,
                       f"tindakan {old.triggers[tid].name} dihapus")
    for tid in (t for t in new.triggers if t in old.triggers):
        a, b = old.triggers[tid], new.triggers[tid]
        if (a.sources, a.dest) != (b.sources, b.dest):
            yield p.change("trigger-path", {"from": list(a.sources), "to": a.dest},
                           {"from": list(b.sources), "to": b.dest},
                           f"tindakan {b.name} kini dari {_states(new, b.sources)} ke "
                           f"{new.states[b.dest].name} (sebelumnya dari "
                           f"{_states(old, a.sources)} ke {old.states[a.dest].name})")


def _states(lifecycle, ids: Iterable[str]) -> str:
    return join(lifecycle.states[s].name if s in lifecycle.states else s for s in ids)


# --- stages --------------------------------------------------------------------------------


def _stages(p: Pair) -> Iterator[Change]:
    old = {s.id: s for s in p.old.stages}
    new = {s.id: s for s in p.new.stages}
    for s in p.new.stages:
        if s.id not in old:
            yield p.change("stage-added", None, s.id,
                           f"tahap baru {s.name} (kelompok {p.new.groups.get(s.group, s.group)}, "
                           f"dibuka {s.opens}, tenggat {s.due})", stage=s.id)
        else:
            for compare in STAGE_FIELDS:
                yield from compare(p, old[s.id], s)
    for s in p.old.stages:
        if s.id not in new:
            yield p.change("stage-removed", s.id, None, f"tahap {s.name} dihapus", stage=s.id)


def _dates(p: Pair, a: Stage, b: Stage) -> Iterator[Change]:
    for attr, label in (("opens", "tanggal buka"), ("due", "tenggat")):
        x, y = getattr(a, attr), getattr(b, attr)
        if x != y:
            yield p.change(attr, x.spec(), y.spec(),
                           f"{label} {b.name} pindah dari {x} ke {y}", stage=b.id)
    if a.roll != b.roll:
        yield p.change("roll", a.roll, b.roll,
                       f"tenggat {b.name} yang jatuh pada hari libur "
                       + ("kini mundur ke hari kerja berikutnya" if b.roll
                          else "tidak lagi mundur ke hari kerja berikutnya"), stage=b.id)


def _naming(p: Pair, a: Stage, b: Stage) -> Iterator[Change]:
    if a.name != b.name:
        yield p.change("stage-name", a.name, b.name,
                       f"tahap {a.name} berganti nama menjadi {b.name}", stage=b.id)
    if a.group != b.group:
        yield p.change("group", a.group, b.group,
                       f"tahap {b.name} pindah kelompok dari "
                       f"{p.old.groups.get(a.group, a.group)} ke "
                       f"{p.new.groups.get(b.group, b.group)}", stage=b.id)
    if a.kind != b.kind:
        yield p.change("kind", a.kind, b.kind,
                       f"jenis tahap {b.name} berubah dari aksi {a.kind} menjadi aksi {b.kind}",
                       stage=b.id)
    if a.description != b.description:
        yield p.change("description", a.description, b.description,
                       f"keterangan tahap {b.name} berubah", stage=b.id)


def _order(p: Pair, a: Stage, b: Stage) -> Iterator[Change]:
    if set(a.after) != set(b.after):
        yield p.change("after", list(a.after), list(b.after),
                       f"tahap {b.name} kini menunggu {join(p.stage_name(s) for s in b.after)} "
                       f"(sebelumnya: {join(p.stage_name(s) for s in a.after)})", stage=b.id)
    if a.waits_for != b.waits_for:
        yield p.change("waits-for", _waits_dict(a), _waits_dict(b),
                       f"tahap {b.name} kini menunggu wilayah anak: {_waits_text(p.new_set, b)} "
                       f"(sebelumnya: {_waits_text(p.old_set, a)})", stage=b.id)


def _waits_dict(s: Stage) -> dict | None:
    w = s.waits_for
    return None if w is None else {"level": w.level, "stage": w.stage, "state": w.state,
                                   "quorum": w.quorum_percent}


def _waits_text(side: DefinitionSet, s: Stage) -> str:
    w = s.waits_for
    if w is None:
        return "tidak ada"
    child = side.definitions.get(w.level)
    stage = next((c.name for c in child.stages if c.id == w.stage), w.stage) if child else w.stage
    state = child.lifecycle.states[w.state].name if child and w.state in \
        child.lifecycle.states else w.state
    share = "semua" if w.needs_all else f"{w.quorum_percent}%"
    return f"{stage} berstatus {state} di {share} wilayah {w.level}"


def _work(p: Pair, a: Stage, b: Stage) -> Iterator[Change]:
    if a.outputs != b.outputs:
        yield p.change("outputs", list(a.outputs), list(b.outputs),
                       f"formulir tahap {b.name} berubah dari {join(a.outputs)} "
                       f"menjadi {join(b.outputs)}", stage=b.id)
    if a.parts != b.parts:
        yield p.change("parts", list(a.parts), list(b.parts),
                       f"pembagian tahap {b.name} per unit berubah dari {join(a.parts)} "
                       f"menjadi {join(b.parts)}", stage=b.id)


STAGE_FIELDS: tuple[Callable[[Pair, Stage, Stage], Iterator[Change]], ...] = (
    _naming, _dates, _order, _work)


# --- what each stage inherits: notices and roles ---------------------------------------------


def _common(p: Pair) -> list[tuple[Stage, Stage]]:
    old = {s.id: s for s in p.old.stages}
    return [(old[s.id], s) for s in p.new.stages if s.id in old]


def _grouped(p: Pair, kind: str, per_stage: dict[str, tuple], total: int,
             text: Callable[[str, Any, Any], str], value: Callable[[Any], Any]) -> Iterator[Change]:
    """One change for the level when every one of its ``total`` common stages changed alike
    (e.g. a default reminder), else one per stage."""
    if per_stage and len(per_stage) == total and len(set(per_stage.values())) == 1:
        a, b = next(iter(per_stage.values()))
        yield p.change(kind, value(a), value(b), text("semua tahap", a, b))
        return
    for sid, (a, b) in per_stage.items():
        yield p.change(kind, value(a), value(b), text(f"tahap {p.stage_name(sid)}", a, b),
                       stage=sid)


def _notices(p: Pair) -> Iterator[Change]:
    common = _common(p)
    for attr, label, when in (("reminders", "pengingat", "sebelum"),
                              ("escalations", "eskalasi", "sesudah")):
        per_stage = {b.id: (_notice_key(getattr(a, attr)), _notice_key(getattr(b, attr)))
                     for a, b in common}
        per_stage = {sid: pair for sid, pair in per_stage.items() if pair[0] != pair[1]}
        yield from _grouped(
            p, attr, per_stage, len(common),
            lambda where, x, y, label=label, when=when: _notice_text(p, label, when, where, x, y),
            lambda key: [{"days": days, "to": list(to)} for days, to in key])


def _notice_key(notices: tuple[Notice, ...]) -> tuple:
    return tuple(sorted((n.days, tuple(sorted(str(r) for r in n.to))) for n in notices))


def _notice_text(p: Pair, label: str, when: str, where: str, old: tuple, new: tuple) -> str:
    gone = [n for n in old if n not in new]
    came = [n for n in new if n not in old]

    def one(n: tuple, side_old: bool) -> str:
        return f"{n[0]} hari {when} tenggat kepada {p.role_names(n[1], old=side_old)}"

    if len(gone) == len(came) == 1 and gone[0][1] == came[0][1]:
        return (f"{label} {where}: {one(gone[0], True)} kini {came[0][0]} hari {when} tenggat")
    if len(gone) == len(came) == 1 and gone[0][0] == came[0][0]:
        return (f"{label} {where}: {gone[0][0]} hari {when} tenggat kini kepada "
                f"{p.role_names(came[0][1])} (sebelumnya {p.role_names(gone[0][1], old=True)})")
    parts = ([f"ditambah {one(n, False)}" for n in came]
             + [f"dihapus {one(n, True)}" for n in gone])
    return f"{label} {where}: " + "; ".join(parts)


def _trigger_roles(p: Pair) -> Iterator[Change]:
    """Changed roles per trigger, per stage (`stage_roles`)."""
    common = _common(p)
    triggers = [t for t in p.new.lifecycle.triggers if t in p.old.lifecycle.triggers]
    per_trigger: dict[str, dict[str, tuple]] = {t: {} for t in triggers}
    for a, b in common:
        before = stage_roles(p.old_set, p.old, a)
        after = stage_roles(p.new_set, p.new, b)
        for t in triggers:
            if before.get(t, ()) != after.get(t, ()):
                per_trigger[t][b.id] = (before.get(t, ()), after.get(t, ()))
    for t, stages in per_trigger.items():
        name = p.new.lifecycle.triggers[t].name
        yield from _grouped(
            p, "roles", stages, len(common),
            lambda where, x, y, name=name: (f"yang boleh {name} di {where} berubah dari "
                                            f"{p.role_names(x, old=True)} menjadi "
                                            f"{p.role_names(y)}"),
            list)


# --- scoring -------------------------------------------------------------------------------


def _scoring(p: Pair) -> Iterator[Change]:
    a, b = p.old.scoring, p.new.scoring
    if a is None and b is None:
        return
    if a is None or b is None:
        yield p.change("scoring", a and a.stage, b and b.stage,
                       f"penilaian kini dihitung pada tahap {p.stage_name(b.stage)}" if b
                       else "penilaian dihapus")
        return
    if a.stage != b.stage:
        yield p.change("scoring-stage", a.stage, b.stage,
                       f"penilaian kini dihitung pada tahap {p.stage_name(b.stage)} "
                       f"(sebelumnya {p.stage_name(a.stage)})")
    yield from _criteria(p, a.criteria, b.criteria)
    yield from _bands(p, a.bands, b.bands)


def _criterion_key(c) -> str:
    return f"stage:{c.stage}" if c.stage else f"measure:{c.name}"


def _criterion_name(p: Pair, c) -> str:
    return f"tahap {p.stage_name(c.stage)}" if c.stage else f"kriteria {c.name}"


def _criterion_rule(c) -> str:
    if c.stage is None:
        return "diukur dari data formulir"
    return "dinilai bila selesai tepat waktu" if c.when == "on_time" else "dinilai bila selesai"


def _criteria(p: Pair, old: tuple, new: tuple) -> Iterator[Change]:
    before = {_criterion_key(c): c for c in old}
    after = {_criterion_key(c): c for c in new}
    for key, c in after.items():
        if key not in before:
            yield p.change("criterion-added", None, _criterion_dict(c),
                           f"kriteria penilaian baru: {_criterion_name(p, c)}, bobot "
                           f"{_number(c.weight)}, {_criterion_rule(c)}", stage=c.stage)
            continue
        o = before[key]
        if o.weight != c.weight:
            yield p.change("criterion-weight", o.weight, c.weight,
                           f"bobot penilaian {_criterion_name(p, c)} berubah dari "
                           f"{_number(o.weight)} menjadi {_number(c.weight)}", stage=c.stage)
        if o.when != c.when:
            yield p.change("criterion-when", o.when, c.when,
                           f"penilaian {_criterion_name(p, c)} kini {_criterion_rule(c)} "
                           f"(sebelumnya {_criterion_rule(o)})", stage=c.stage)
        if _plain(o.measure) != _plain(c.measure):
            yield p.change("criterion-measure", _plain(o.measure), _plain(c.measure),
                           f"cara mengukur {_criterion_name(p, c)} berubah", stage=c.stage)
    for key, c in before.items():
        if key not in after:
            yield p.change("criterion-removed", _criterion_dict(c), None,
                           f"kriteria penilaian {_criterion_name(p, c)} dihapus", stage=c.stage)


def _criterion_dict(c) -> dict:
    return {"stage": c.stage, "name": c.name or None, "weight": c.weight, "when": c.when,
            "measure": _plain(c.measure)}


def _plain(value: Any) -> Any:
    """A frozen mapping back into JSON-ready data."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _bands(p: Pair, old: tuple, new: tuple) -> Iterator[Change]:
    before = {b.name: b.min for b in old}
    after = {b.name: b.min for b in new}
    for name, low in after.items():
        if name not in before:
            yield p.change("band-added", None, {"name": name, "min": low},
                           f"kelas penilaian baru {name} (mulai skor {_number(low)})")
        elif before[name] != low:
            yield p.change("band-min", before[name], low,
                           f"batas bawah kelas {name} berubah dari skor {_number(before[name])} "
                           f"menjadi {_number(low)}")
    for name, low in before.items():
        if name not in after:
            yield p.change("band-removed", {"name": name, "min": low}, None,
                           f"kelas penilaian {name} dihapus")


# --- forms ---------------------------------------------------------------------------------


def _forms(p: Pair) -> Iterator[Change]:
    """Output forms both sides use whose schema or rules file changed."""
    for form in (f for f in p.new.forms if f in p.old.forms):
        for attr, label in (("forms", "isi formulir"),
                            ("form_rules", "aturan pemeriksaan formulir")):
            a, b = getattr(p.old, attr).get(form), getattr(p.new, attr).get(form)
            if _canonical(a) != _canonical(b):
                title = p.new.forms[form].get("title", form)
                yield p.change("form" if attr == "forms" else "form-rules", form, form,
                               f"{label} {form} ({title}) berubah")


def _canonical(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True, ensure_ascii=False)


__all__ = ["Change", "diff", "join", "stage_roles"]
