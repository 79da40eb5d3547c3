"""YAML that cannot explode: the one loader every YAML file of the project goes through.

PyYAML composes aliases as shared nodes, so a 342-byte "billion laughs" file
(``b: &b [*a, *a, ...]`` nested nine levels) composes in microseconds; it explodes
only when something walks the tree as if each alias were a copy - and the
definition reader does exactly that to record every node's position. A deep
nesting (``[[[[...``) explodes differently: the composer recurses once per level
and hits Python's recursion limit. So the bounds sit in the composer, where
both are cheap to count before anything is built:

- ``MAX_NODES`` - nodes of the document *as if every alias were expanded*. Each
  anchored node remembers its expanded size; an alias adds that size at once,
  so a bomb is refused at the first alias that crosses the bound, with that
  alias's line and column, after composing only the few nodes actually written.
  Aliases themselves stay allowed (merge keys ``<<: *defaults`` are honoured).
  An alias to a node that contains it (``a: &a [*a]``) is refused too: its
  expansion is infinite.
- ``MAX_DEPTH`` - levels of nesting, far below the recursion limit of the
  composer and of the code that later walks the data.
- ``MAX_CHARS`` - characters of text; `read_text` stops one chunk past it.

The shipped files stay far inside: at most ~2,500 nodes, 17 levels and 66 kB. The
worst a file inside the bounds can cost is a second or two of parsing.
A breach raises `LimitExceeded`, a ``yaml.MarkedYAMLError``, so every caller's
existing handling of YAML errors reports it with its position. The callers:
``engine.definitions.source`` (definitions, form schemas, forms rules files: a
``yaml-limit`` finding), ``engine.definitions.loader`` (rules files when freezing)
and ``webhooks.config`` (a ``ConfigError``). New YAML readers use `read_text` and
`Loader` (or `load`) too.
"""

from __future__ import annotations

from pathlib import Path

import yaml

MAX_CHARS = 2_000_000  # about 2 MB
MAX_NODES = 25_000  # ten times the largest shipped file; pure-Python PyYAML takes ~1 s
MAX_DEPTH = 50
_CHUNK = 64 * 1024


class LimitExceeded(yaml.MarkedYAMLError):
    """The text breaks one of the bounds; ``problem`` says which, in Bahasa Indonesia."""

    def __init__(self, problem: str, mark: yaml.Mark):
        super().__init__(problem=problem, problem_mark=mark)


def read_text(path: Path) -> str:
    """The file's text, read no further than one chunk past ``MAX_CHARS``.

    The loader refuses the result when it is too long, so an over-large file is a
    finding at line 1 rather than gigabytes in memory. Chunks, because one
    ``read(MAX_CHARS + 1)`` allocates the whole bound even for a small file.
    """
    chunks: list[str] = []
    total = 0
    with open(path, encoding="utf-8") as f:
        while total <= MAX_CHARS and (chunk := f.read(_CHUNK)):
            chunks.append(chunk)
            total += len(chunk)
    return "".join(chunks)


def _count(n: int) -> str:
    return f"{n:,}".replace(",", ".")


class Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the bounds above; subclass it, or pass it to ``yaml.load``.
    All in Python: `compose` and `load` read with `FastLoader` and come here only to
    report a mistake."""

    def __init__(self, stream):
        if isinstance(stream, (str, bytes)) and len(stream) > MAX_CHARS:
            raise LimitExceeded(
                f"berkas lebih besar dari {_count(MAX_CHARS)} karakter (sekitar 2 MB), "
                f"batas ukuran berkas YAML", yaml.Mark("<berkas>", 0, 0, 0, None, None))
        super().__init__(stream)
        self._expanded = 0  # nodes so far, every alias counted as the copy it stands for
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size, once closed

    def compose_document(self):
        self._sizes = {}
        return super().compose_document()

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:
                raise LimitExceeded(f"alias *{event.anchor} merujuk ke bagian yang memuat alias "
                                    f"itu sendiri: isinya tidak pernah selesai", event.start_mark)
            self._add(size, event)
            return node
        if self._depth >= MAX_DEPTH:
            raise LimitExceeded(f"bersarang lebih dari {MAX_DEPTH} tingkat "
                                f"(batas kedalaman berkas YAML)", event.start_mark)
        self._add(1, event)
        before = self._expanded
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if event.anchor is not None:
            self._sizes[id(node)] = self._expanded - before + 1
        return node

    def _add(self, size: int, event: yaml.Event) -> None:
        self._expanded += size
        if self._expanded <= MAX_NODES:
            return
        if isinstance(event, yaml.AliasEvent):
            raise LimitExceeded(
                f"alias *{event.anchor} mengembang menjadi {_count(size)} nilai: berkas akan "
                f"berisi lebih dari {_count(MAX_NODES)} nilai bila semua alias dijabarkan "
                f"(batas yang mencegah 'bom alias')", event.start_mark)
        raise LimitExceeded(f"berkas berisi lebih dari {_count(MAX_NODES)} nilai "
                            f"(batas ukuran berkas YAML)", event.start_mark)


if yaml.__with_libyaml__:
    class FastLoader(Loader, yaml.cyaml.CParser):
        """`Loader` whose text is scanned and parsed by libyaml (C), composed in Python
        with the same bounds: scanning in Python was most of loading the definitions."""

        def __init__(self, stream):
            Loader.__init__(self, stream)  # the size bound, the counters, then the parts:
            yaml.cyaml.CParser.__init__(self, stream)  # the events come from libyaml

        # The composer's event methods are libyaml's, not PyYAML's Python parser's.
        check_event = yaml.cyaml.CParser.check_event
        peek_event = yaml.cyaml.CParser.peek_event
        get_event = yaml.cyaml.CParser.get_event
        dispose = yaml.cyaml.CParser.dispose
else:  # PyYAML built without libyaml
    FastLoader = Loader


def _read(read, text: str):
    """``read(text, Loader=...)`` with `FastLoader`; a mistake is read again by `Loader`,
    so that it is reported in PyYAML's words and at its position whichever loader runs."""
    try:
        return read(text, Loader=FastLoader)  # noqa: S506 - a SafeLoader subclass
    except LimitExceeded:
        raise
    except yaml.YAMLError:
        if FastLoader is Loader:
            raise
        return read(text, Loader=Loader)  # noqa: S506


def compose(text: str) -> yaml.Node | None:
    """The node tree of one YAML document (positions included), bounded."""
    return _read(yaml.compose, text)


def load(text: str):
    """The data of one YAML document, like ``yaml.safe_load`` but bounded."""
    return _read(yaml.load, text)
