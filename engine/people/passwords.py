"""The password policy for passwords people choose (`aksi users add|passwd|import`).

As NIST SP 800-63B advises: a minimum length, no composition rules, and a refusal of
passwords known to be common or guessable from the account (its username, the region
code). The list of common passwords (common_passwords.txt) is short and local on purpose (this machine's
registries are the only network): the most used passwords worldwide and their Indonesian
counterparts, each also with the digits people append. Refusals say why, never echo the
password.
"""

from __future__ import annotations

from importlib import resources

MIN_LENGTH = 10
MAX_LENGTH = 1000  # the sign-in form's limit (engine/web/edge.py)

_SUFFIXES = ("", "1", "12", "123", "1234", "12345", "123456", "!", "2024", "2025", "2026",
             "2027", "01", "00")


def _common() -> frozenset[str]:
    """The blocklist (common_passwords.txt beside this module): each word with every
    suffix, and the lines starting with ``=`` as they are."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    out: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("="):
            out.add(line[1:])
        else:
            out.update(line + suffix for suffix in _SUFFIXES)
    return frozenset(out)


COMMON = _common()


def password_problem(password: str, *, username: str = "", region: str = "") -> str | None:
    """Why ``password`` may not be chosen (Bahasa Indonesia), or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"kata sandi terlalu pendek: paling sedikit {MIN_LENGTH} karakter"
    if len(password) > MAX_LENGTH:
        return f"kata sandi terlalu panjang: paling banyak {MAX_LENGTH} karakter"
    folded = password.casefold()
    if folded in COMMON or len(set(folded)) <= 2:
        return "kata sandi terlalu umum dan mudah ditebak; pilih yang lain"
    for own in (username, region):
        if own and len(own) >= 3 and own.casefold() in folded:
            return "kata sandi tidak boleh memuat nama pengguna atau kode wilayah"
    return None
