"""YAML that cannot explode: alias bombs, deep nesting and huge files are findings, not crashes.

Nothing here times anything: "fast" is shown by how few nodes the loader composes
before it refuses, and "small" by tracemalloc's peak, both deterministic.
"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import yaml

from engine import safeyaml
from engine.definitions import Severity, check, source
from helpers import codes, locate, only
from webhooks import ConfigError, load_subscriptions

AKSI = str(Path(sys.executable).with_name("aksi"))  # the console script beside this Python
LOL = "lol"


def billion_laughs(levels: int = 9) -> str:
    """The classic: ``a`` is nine strings, each next line nine aliases of the line before."""
    names = "abcdefghijklmnop"[:levels]
    lines = [f"a: &a [{','.join([LOL] * 9)}]"]
    lines += [f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]" for p, n in zip(names, names[1:])]
    return "\n".join(lines) + "\n"


def first_alias_over_the_bound(text: str) -> tuple[int, int]:
    """(line, column) of the alias at which the expanded document first exceeds MAX_NODES.

    Counted from the text's shape alone: the root mapping, then per line a key, a list
    and nine items, each item one string or an alias standing for the previous list.
    """
    total, size = 1, 0  # the root mapping; the expanded size of the previous line's list
    for number, line in enumerate(text.splitlines(), start=1):
        total += 2  # the key and its list
        item = 1 if size == 0 else size
        for k in range(9):
            total += item
            if total > safeyaml.MAX_NODES:
                return number, locate(line, "*", occurrence=k)[1]
        size = 1 + 9 * item
    raise AssertionError("the bomb stays inside the bound")


class CountingLoader(safeyaml.Loader):
    """The bounded loader, counting the nodes it composes (aliases included)."""

    composed = 0

    def compose_node(self, parent, index):
        CountingLoader.composed += 1
        return super().compose_node(parent, index)


def peak_bytes(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- the bounds -----------------------------------------------------------------------------

def test_billion_laughs_is_a_finding_at_the_alias(tmp_path):
    text = billion_laughs()
    assert len(text.encode()) < 400
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    [f] = [f for f in check([tmp_path]) if f.file == str(path)]
    assert (f.severity, f.code) == (Severity.ERROR, "yaml-limit")
    assert (f.line, f.column) == first_alias_over_the_bound(text)
    assert text.splitlines()[f.line - 1][f.column - 1] == "*"  # it points at an alias
    assert "bom alias" in f.message and f"lebih dari {safeyaml.MAX_NODES:,} nilai".replace(
        ",", ".") in f.message


def test_billion_laughs_is_refused_after_composing_only_what_is_written(tmp_path):
    text = billion_laughs()
    written = text.count("lol") + text.count("*") + 2 * text.count("\n") + 1
    CountingLoader.composed = 0
    with pytest.raises(safeyaml.LimitExceeded):
        yaml.compose(text, Loader=CountingLoader)
    assert 0 < CountingLoader.composed <= written  # never walks an expansion

    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    result: list = []
    assert peak_bytes(lambda: result.append(source.read(path))) < 1_000_000
    doc, [finding] = result[0]
    assert doc is None and finding.code == "yaml-limit"


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path):
    path = tmp_path / "self.yaml"
    path.write_text("level: x\nloop: &loop [1, *loop]\n", encoding="utf-8")
    doc, [f] = source.read(path)
    assert doc is None and f.code == "yaml-limit"
    assert (f.line, f.column) == locate(path.read_text(), "*loop")
    assert "alias *loop" in f.message


# Refused at the first node one level past the bound: the next "[" of nested lists; in
# nested mappings the key "a" of the deepest mapping allowed (keys sit one level below).
@pytest.mark.parametrize("opening, closing, column", [
    ("[", "]", safeyaml.MAX_DEPTH + 1),
    ('{"a": ', "}", (safeyaml.MAX_DEPTH - 1) * len('{"a": ') + 2),
])
def test_deep_nesting_is_a_finding_not_a_recursion_error(tmp_path, opening, closing, column):
    path = tmp_path / "deep.yaml"
    path.write_text(opening * 10_000 + "1" + closing * 10_000 + "\n", encoding="utf-8")
    result: list = []
    assert peak_bytes(lambda: result.append(source.read(path))) < 1_000_000
    doc, [f] = result[0]
    assert doc is None and (f.code, f.severity) == ("yaml-limit", Severity.ERROR)
    assert (f.line, f.column) == (1, column)
    assert f"lebih dari {safeyaml.MAX_DEPTH} tingkat" in f.message


def test_nesting_up_to_the_bound_loads():
    depth = safeyaml.MAX_DEPTH - 1  # lists around one scalar: the scalar is the last level
    assert safeyaml.load("[" * depth + "1" + "]" * depth) == eval("[" * depth + "1" + "]" * depth)


def test_too_large_file_is_a_finding_and_is_not_read_whole(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("level: x\n" + "# padding\n" * safeyaml.MAX_CHARS, encoding="utf-8")
    result: list = []
    peak = peak_bytes(lambda: result.append(source.read(path)))
    assert peak < 3 * safeyaml.MAX_CHARS < path.stat().st_size  # a tenth of the file at most
    doc, [f] = result[0]
    assert doc is None and (f.code, f.line, f.column) == ("yaml-limit", 1, 1)
    assert "2.000.000 karakter" in f.message


def test_size_bound_is_exact():
    fits = "a: 1\n" + "#" * (safeyaml.MAX_CHARS - 6) + "\n"
    assert len(fits) == safeyaml.MAX_CHARS and safeyaml.load(fits) == {"a": 1}
    with pytest.raises(safeyaml.LimitExceeded):
        safeyaml.load(fits + " ")


def test_values_count_without_aliases_too(monkeypatch):
    monkeypatch.setattr(safeyaml, "MAX_NODES", 1_000)  # PyYAML is slow; the rule is the same
    items = safeyaml.MAX_NODES  # the list itself is one more
    with pytest.raises(safeyaml.LimitExceeded, match="lebih dari 1.000 nilai"):
        safeyaml.load("[" + "1," * items + "]")
    assert len(safeyaml.load("[" + "1," * (items - 1) + "]")) == items - 1


def test_aliases_and_merge_keys_still_work(tmp_path):
    path = tmp_path / "shared.yaml"
    path.write_text("base: &base {before: 7, to: [operator]}\n"
                    "one: {<<: *base, after: 3}\n"
                    "two: *base\n", encoding="utf-8")
    doc, findings = source.read(path)
    assert findings == []
    assert doc.data == {"base": {"before": 7, "to": ["operator"]},
                        "one": {"before": 7, "to": ["operator"], "after": 3},
                        "two": {"before": 7, "to": ["operator"]}}


# --- every YAML the project reads -----------------------------------------------------------

def test_bomb_in_a_forms_rules_file_is_a_finding_there(toy):
    rules = toy.forms / "district_plan.rules.yaml"
    text = "form: district_plan\n" + billion_laughs()
    rules.write_text(text, encoding="utf-8")
    f = only(toy.check(), "yaml-limit")
    assert f.file == str(rules)
    assert text.splitlines()[f.line - 1][f.column - 1] == "*"


def test_bomb_in_a_definition_stops_only_that_file(toy):
    toy.write("district", toy.text("district") + billion_laughs())
    findings = toy.check()
    assert codes(findings, toy.file("district")) == ["yaml-limit"]


def test_bomb_in_webhooks_config_is_a_config_error(tmp_path):
    path = tmp_path / "webhooks.yaml"
    text = billion_laughs()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(path, environ={})
    assert caught.value.line == first_alias_over_the_bound(text)[0]
    assert "bom alias" in str(caught.value)


def test_deep_webhooks_config_is_a_config_error(tmp_path):
    path = tmp_path / "webhooks.yaml"
    path.write_text("subscriptions: " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="tingkat"):
        load_subscriptions(path, environ={})


# --- the command ----------------------------------------------------------------------------

def test_aksi_check_reports_bomb_and_nesting_without_traceback(tmp_path):
    bomb, deep = tmp_path / "bomb.yaml", tmp_path / "deep.yaml"
    bomb.write_text(billion_laughs(), encoding="utf-8")
    deep.write_text("[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    done = subprocess.run([AKSI, "check", str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    line, column = first_alias_over_the_bound(billion_laughs())
    assert f"{bomb}:{line}:{column}: error yaml-limit: " in done.stdout
    assert f"{deep}:1:{safeyaml.MAX_DEPTH + 1}: error yaml-limit: " in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def _marks(node: yaml.Node, out: list) -> list:
    out.append((type(node).__name__, node.tag, node.start_mark.line, node.start_mark.column))
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            _marks(k, out)
            _marks(v, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _marks(item, out)
    else:
        out.append(node.value)
    return out


SHIPPED = sorted([*Path(__file__).resolve().parents[1].glob("workflows/*.yaml"),
                  *Path(__file__).resolve().parents[1].glob("forms/*")])


def test_libyaml_composes_the_shipped_files_as_python_does():
    """`FastLoader` (libyaml's parser) gives every node of every shipped file the tag,
    value, line and column the pure-Python loader gives it: positions in findings do not
    depend on which one ran."""
    assert safeyaml.FastLoader is not safeyaml.Loader, "PyYAML was built without libyaml"
    assert len(SHIPPED) > 40
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        fast = _marks(yaml.compose(text, Loader=safeyaml.FastLoader), [])
        slow = _marks(yaml.compose(text, Loader=safeyaml.Loader), [])
        assert fast == slow, path


def test_a_mistake_is_reported_in_pythons_words_whichever_loader_reads():
    with pytest.raises(yaml.MarkedYAMLError) as fast:
        yaml.compose("a:\n  b: c: d\n", Loader=safeyaml.FastLoader)
    assert "mapping values are not allowed in this context" in str(fast.value)  # libyaml
    with pytest.raises(yaml.MarkedYAMLError) as read:
        safeyaml.compose("a:\n  b: c: d\n")
    assert read.value.problem == "mapping values are not allowed here"
    assert (read.value.problem_mark.line, read.value.problem_mark.column) == (1, 6)
