"""Subscriptions, read from a YAML file and frozen.

    # webhooks.yaml
    subscriptions:                      # or the list itself at the top level
      - name: bappeda-sync              # unique; letters, digits, '.', '_', '-'
        url: https://bappeda.example.go.id/hooks/aksi
        secret_env: AKSI_HOOK_BAPPEDA   # or `secret: ...` written in the file
        events: [approve, deadline_extended]   # event kinds, or ["*"] for all
        regions: ["19", "32.04"]        # region code prefixes; omit or [] for all
        timeout: 10                     # seconds per request (default 10)
        max_attempts: 8                 # then the delivery is dead (default 8)

The file is ``$AKSI_WEBHOOKS`` or else ``./webhooks.yaml``. When the default file
does not exist there are no subscriptions; a file named explicitly (argument or
environment) must exist. Every problem is reported as ``file:line: reason``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import httpx
import yaml

from engine import safeyaml

from .errors import ConfigError

ENV_VAR = "AKSI_WEBHOOKS"
DEFAULT_PATH = Path("webhooks.yaml")
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = 8

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # fits webhook_deliveries.subscription
_REGION = re.compile(r"^\d+(\.\d+)*$")
_KIND = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")  # fits events.kind
_KEYS = ("name", "url", "secret", "secret_env", "events", "regions", "timeout", "max_attempts")


@dataclass(frozen=True)
class Subscription:
    """Where to send which events, and how hard to try."""

    name: str
    url: str
    secret: str
    events: tuple[str, ...] = ("*",)  # kinds, or ("*",) for every kind
    regions: tuple[str, ...] = ()  # region code prefixes; () for every region
    timeout: float = DEFAULT_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __repr__(self) -> str:  # never print the secret
        return (f"Subscription(name={self.name!r}, url={self.url!r}, events={self.events!r}, "
                f"regions={self.regions!r}, timeout={self.timeout!r}, "
                f"max_attempts={self.max_attempts!r})")

    @property
    def all_kinds(self) -> bool:
        return "*" in self.events

    def matches(self, kind: str, region_code: str | None) -> bool:
        """Whether an event of ``kind`` in ``region_code`` is for this subscription.

        A region prefix covers the region itself and everything below it:
        ``19.01`` covers ``19.01`` and ``19.01.02`` but not ``19.010``. Events without
        a region only go to subscriptions that do not filter on regions.
        """
        if not self.all_kinds and kind not in self.events:
            return False
        if not self.regions:
            return True
        if region_code is None:
            return False
        return any(region_code == p or region_code.startswith(p + ".") for p in self.regions)


def default_path(environ: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The subscriptions file and whether it was named explicitly (by the environment)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]), True
    return DEFAULT_PATH, False


def load_subscriptions(path: Path | str | None = None, *,
                       environ: Mapping[str, str] | None = None) -> tuple[Subscription, ...]:
    """The subscriptions of ``path`` (default: ``$AKSI_WEBHOOKS``, else ``./webhooks.yaml``).

    Raises `ConfigError` for an unreadable or invalid file, or for a file named
    explicitly that does not exist. ``environ`` (default ``os.environ``) is where
    ``secret_env`` and ``AKSI_WEBHOOKS`` are looked up.
    """
    env = os.environ if environ is None else environ
    if path is None:
        path, explicit = default_path(env)
    else:
        path, explicit = Path(path), True
    try:
        text = safeyaml.read_text(path)
    except FileNotFoundError:
        if explicit:
            raise ConfigError("berkas langganan webhook tidak ada", path=path) from None
        return ()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"tidak dapat dibaca: {exc}", path=path) from None
    return parse_subscriptions(text, path=path, environ=env)


def parse_subscriptions(text: str, *, path: Path | str = "<webhooks>",
                        environ: Mapping[str, str] | None = None) -> tuple[Subscription, ...]:
    """Validate the YAML ``text`` of a subscriptions file (``path`` only names it in errors)."""
    env = os.environ if environ is None else environ
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(exc.reason, path=path, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"YAML tidak sah: {problem}", path=path,
                          line=mark.line + 1 if mark else None) from None
    if data is None:
        return ()
    items: Any = data
    if isinstance(data, dict):
        extra = [k for k in data if k != "subscriptions"]
        if extra:
            raise ConfigError(f"kunci tidak dikenal {extra[0]!r} (yang dikenal: subscriptions)",
                              path=path, line=data.key_lines.get(extra[0], data.line))
        items = data.get("subscriptions")
        if items is None:
            return ()
    if not isinstance(items, list):
        raise ConfigError("harus berupa daftar langganan (atau `subscriptions:` berisi daftar)",
                          path=path, line=getattr(data, "line", 1))
    subscriptions: list[Subscription] = []
    seen: dict[str, int] = {}
    lines = getattr(items, "item_lines", None) or [None] * len(items)
    for index, item in enumerate(items):
        line = lines[index]
        sub = _subscription(item, index, path, env, line)
        if sub.name in seen:
            raise ConfigError(f"nama langganan {sub.name!r} dipakai dua kali "
                              f"(juga di baris {seen[sub.name]})", path=path, line=line)
        seen[sub.name] = line or 0
        subscriptions.append(sub)
    return tuple(subscriptions)


class _Mapping(dict):
    """A YAML mapping that remembers its line and the line of each of its keys."""

    line: int = 1
    key_lines: dict


class _Sequence(list):
    line: int = 1
    item_lines: list


class _Loader(safeyaml.Loader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode):
    data = _Mapping()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise ConfigError(f"kunci harus berupa teks, bukan {key!r}",
                              line=key_node.start_mark.line + 1)
        if key in data:
            raise ConfigError(f"kunci {key!r} ditulis dua kali", line=key_node.start_mark.line + 1)
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode):
    data = _Sequence()
    data.line = node.start_mark.line + 1
    data.item_lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def _subscription(item: Any, index: int, path: Path | str, env: Mapping[str, str],
                  line: int | None) -> Subscription:
    if not isinstance(item, _Mapping):
        raise ConfigError(f"langganan ke-{index + 1} harus berupa pemetaan (name, url, ...)",
                          path=path, line=line)

    label = f"langganan ke-{index + 1}"

    def fail(key: str | None, reason: str) -> ConfigError:
        line = item.key_lines.get(key, item.line) if key else item.line
        return ConfigError(f"{label}: {reason}", path=path, line=line)

    unknown = [k for k in item if k not in _KEYS]
    if unknown:
        raise fail(unknown[0], f"kunci tidak dikenal {unknown[0]!r} (yang dikenal: "
                               f"{', '.join(_KEYS)})")
    for key in ("name", "url", "events"):
        if key not in item:
            raise fail(None, f"kunci {key!r} wajib ada")

    name = item["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", f"nama {name!r} tidak sah: 1-100 huruf, angka, '.', '_' atau '-'")
    label = f"langganan {name!r}"

    url = item["url"]
    if not isinstance(url, str):
        raise fail("url", "url harus berupa teks")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise fail("url", f"url {url!r} tidak sah: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise fail("url", f"url {url!r} harus berupa alamat http:// atau https:// lengkap")

    has_secret, has_env = "secret" in item, "secret_env" in item
    if has_secret == has_env:
        raise fail(None, "tulis tepat satu dari 'secret' atau 'secret_env'")
    if has_secret:
        secret = item["secret"]
        if not isinstance(secret, str) or not secret:
            raise fail("secret", "secret harus berupa teks yang tidak kosong")
    else:
        var = item["secret_env"]
        if not isinstance(var, str) or not var:
            raise fail("secret_env", "secret_env harus berupa nama variabel lingkungan")
        secret = env.get(var, "")
        if not secret:
            raise fail("secret_env", f"variabel lingkungan {var} kosong atau tidak ada")

    events = _strings(item["events"], lambda r: fail("events", r), "events")
    if not events:
        raise fail("events", "events tidak boleh kosong (pakai [\"*\"] untuk semua jenis)")
    for kind in events:
        if kind != "*" and not _KIND.match(kind):
            raise fail("events", f"jenis peristiwa {kind!r} tidak sah")

    regions = _strings(item.get("regions") or [], lambda r: fail("regions", r), "regions")
    for code in regions:
        if not _REGION.match(code):
            raise fail("regions", f"kode wilayah {code!r} tidak sah (contoh: \"19\", \"19.01\")")

    timeout = item.get("timeout", DEFAULT_TIMEOUT)
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout) or not 0 < timeout <= 300):
        raise fail("timeout", f"timeout {timeout!r} harus berupa angka detik, > 0 dan <= 300")

    max_attempts = item.get("max_attempts", DEFAULT_MAX_ATTEMPTS)
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) \
            or not 1 <= max_attempts <= 100:
        raise fail("max_attempts", f"max_attempts {max_attempts!r} harus bilangan bulat 1-100")

    return Subscription(name=name, url=url, secret=secret, events=_unique(events),
                        regions=_unique(regions), timeout=float(timeout),
                        max_attempts=max_attempts)


def _strings(value: Any, fail, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        # Region codes written without quotes (19, 19.01) arrive as numbers: say so.
        raise fail(f"{key} harus berupa daftar teks (tulis kode wilayah dalam tanda kutip)")
    return value


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
