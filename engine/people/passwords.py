"""The password policy for passwords people choose (`aksi users add|passwd|import`).

As NIST SP 800-63B advises: a minimum length, no composition rules, and a refusal of
passwords known to be common or guessable from the account (its username, the region
code). The list of common passwords is short and local on purpose (this machine's
registries are the only network): the most used passwords worldwide and their Indonesian
counterparts, each also with the digits people append. Refusals say why, never echo the
password.
"""

from __future__ import annotations

MIN_LENGTH = 10
MAX_LENGTH = 1000  # the sign-in form's limit (engine/web/edge.py)

_WORDS = (
    "password", "passw0rd", "qwerty", "qwertyuiop", "asdfghjkl", "zxcvbnm", "letmein",
    "welcome", "admin", "administrator", "iloveyou", "monkey", "dragon", "football",
    "sunshine", "princess", "abc", "abcdef", "abcdefgh", "default", "master", "login",
    "user", "test", "secret", "changeme",
    # Indonesian: "secret", "password", "my password", Indonesia, greetings, the work
    "rahasia", "katasandi", "sandi", "sandisaya", "indonesia", "merdeka", "bismillah",
    "sayang", "cinta", "sayangku", "bandung", "jakarta", "surabaya", "garuda",
    "pemerintah", "kecamatan", "kabupaten", "provinsi", "stunting", "aksi", "posyandu",
    "puskesmas", "operator", "verifikator", "camat", "bappeda", "demo",
)
_SUFFIXES = ("", "1", "12", "123", "1234", "12345", "123456", "!", "2024", "2025", "2026",
             "2027", "01", "00")
COMMON = frozenset(
    {w + s for w in _WORDS for s in _SUFFIXES}
    | {"1234567890", "12345678", "123456789", "0123456789", "1111111111", "0000000000",
       "1234512345", "1q2w3e4r5t", "qwe123qwe123", "aaaaaaaaaa", "987654321", "9876543210"})


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
