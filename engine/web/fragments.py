"""A large part of a page compressed once, and pages served around it without compressing
it again.

The stage page of a large kecamatan is ~600 KB of HTML, ~95 % of it the form
(engine/web/form_page.py keeps that rendered, per stamp of the stage's data). Compressing
the whole page on every request would cost more than building it. So the form is kept as
a `Fragment`: its bytes, and the same bytes as raw DEFLATE blocks compressed once (at the
highest level: paid once per change of the data, it makes the page smaller too), ended by
a sync flush (byte-aligned, not final) and referring to nothing before their start.

`gzip_around` then writes a gzip stream (RFC 1952) for a page: the part before the
fragment and the part after are compressed now, each by a fresh compressor ending the same
way, the fragment's blocks are copied in between, an empty final block closes the DEFLATE
stream (RFC 1951 permits any number of blocks, and a block may be copied as long as it
refers to nothing before it), and the trailer carries the CRC-32 and length of the whole
page. The CRC of the fragment is not recomputed: CRC-32 is linear, so the CRC of
``before + fragment`` is ``shift(crc(before)) ^ crc(fragment)``, where ``shift`` multiplies
by x^(8 * len(fragment)) modulo the CRC polynomial, a 32x32 bit matrix the fragment
carries (zlib's crc32_combine, computed once per fragment).

Any gzip decoder reads the result (it is what a server streaming with flushes sends);
the tests decompress it with the standard library and in chromium.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from flask import Response, request

_FRAGMENT_LEVEL = 9
_PAGE_LEVEL = 6
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, OS unknown
_FINAL_BLOCK = b"\x03\x00"  # an empty final block with fixed Huffman codes
_POLY = 0xEDB88320  # CRC-32, reflected


def _times(matrix: list[int], vector: int) -> int:
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, matrix[i]) for i in range(32)]


def shift_matrix(length: int) -> list[int]:
    """The 32x32 bit matrix (column i: the image of bit i) that takes the CRC-32 of any
    data to the CRC state after ``length`` more zero bytes, as zlib's crc32_combine."""
    one_bit = [_POLY] + [1 << i for i in range(31)]  # one zero bit
    two = _square(one_bit)  # two zero bits
    four = _square(two)  # four zero bits
    result = [1 << i for i in range(32)]  # identity
    power = four
    n = length
    while n:
        power = _square(power)  # 8, 16, 32, ... zero bits: 1, 2, 4, ... bytes
        if n & 1:
            result = [_times(power, column) for column in result]
        n >>= 1
    return result


def crc32_combine(crc1: int, crc2: int, matrix: list[int]) -> int:
    """The CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``shift_matrix(len(b))``."""
    return _times(matrix, crc1) ^ crc2


def _deflated(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


@dataclass(frozen=True)
class Fragment:
    """Some HTML, as bytes and as DEFLATE blocks that can be copied into a gzip stream."""

    raw: bytes
    deflated: bytes
    crc: int
    shift: tuple[int, ...]  # shift_matrix(len(raw))

    @classmethod
    def of(cls, text: str) -> "Fragment":
        raw = text.encode()
        return cls(raw, _deflated(raw, _FRAGMENT_LEVEL), zlib.crc32(raw),
                   tuple(shift_matrix(len(raw))))

    @property
    def size(self) -> int:
        """About the bytes keeping it takes."""
        return len(self.raw) + len(self.deflated) + 32 * 8 + 64


def gzip_around(before: bytes, fragment: Fragment, after: bytes) -> bytes:
    """``before + fragment.raw + after`` as one gzip member, the fragment's blocks copied."""
    crc = crc32_combine(zlib.crc32(before), fragment.crc, list(fragment.shift))
    crc = zlib.crc32(after, crc)
    length = len(before) + len(fragment.raw) + len(after)
    return b"".join((_GZIP_HEADER, _deflated(before, _PAGE_LEVEL), fragment.deflated,
                     _deflated(after, _PAGE_LEVEL), _FINAL_BLOCK,
                     struct.pack("<II", crc, length & 0xFFFFFFFF)))


# -- pages around a fragment --------------------------------------------------------------------

# Where a template writes a fragment: a comment no escaped value can contain ("<" is escaped).
MARKER = "<!--aksi:fragment-->"


def page_response(html: str, fragment: Fragment, status: int = 200) -> Response:
    """The page ``html`` with ``fragment`` in place of its `MARKER`: gzip-encoded by
    `gzip_around` when the browser takes gzip (whatever else it also takes: the fragment
    is compressed already), else plain (the app's compression may still encode it)."""
    before, found, after = html.partition(MARKER)
    if not found:  # the template did not show it
        return Response(html, status, mimetype="text/html")
    head, tail = before.encode(), after.encode()
    if request.accept_encodings["gzip"] > 0:
        response = Response(gzip_around(head, fragment, tail), status, mimetype="text/html")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(b"".join((head, fragment.raw, tail)), status, mimetype="text/html")
    response.vary.add("Accept-Encoding")
    return response
