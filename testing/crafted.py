"""Crafted pictures a hostile visitor sends: small files that cost much to decode, made here.

Shared by the tests (tests/hostile.py, tests/test_images.py) and the benchmark (bench/hostile.py).
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tall_png(height: int = 39_999_999) -> bytes:
    """A 1-bit grey PNG one pixel wide and `height` rows tall (78 KB for 40 million rows): within
    the pixel limit, but Pillow keeps a pointer a row (320 MB here)."""
    rows = zlib.compress(b"\0\0" * height, 9)  # each row: filter type 0, one byte holding the pixel
    header = struct.pack(">IIBBBBB", 1, height, 1, 0, 0, 0, 0)
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def broken_ihdr_png() -> bytes:
    """A good PNG whose header chunk (IHDR) has a wrong checksum."""
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[29] ^= 0xFF  # the last byte of IHDR's CRC (8 signature + 8 length and type + 13 data)
    return bytes(data)


def jpeg_segments(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """A JPEG split as (what comes before the first scan, each scan with the tables just before it, the end)."""
    position, head, units, pending = 2, b"\xff\xd8", [], b""
    while True:
        marker = data[position + 1]
        if marker == 0xD9:  # EOI
            return head, units, data[position:]
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        segment_end = position + 2 + length
        if marker != 0xDA:  # a table or a header: kept with the next scan once scans have begun
            if units or pending or marker == 0xC4:
                pending += data[position:segment_end]
            else:
                head += data[position:segment_end]
            position = segment_end
            continue
        end = segment_end  # the scan's coded data runs to the next marker that is not 00 or a restart
        while True:
            end = data.index(b"\xff", end)
            if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end += 2
                continue
            break
        units.append(pending + data[position:end])
        pending, position = b"", end


def scan_bomb_jpeg(scans: int = 20_000, side: int = 4000) -> bytes:
    """A grey progressive JPEG side x side whose AC scan (a few dozen bytes: one end-of-band run
    covers every block of a blank image) is repeated `scans` times: libjpeg walks every block of
    the image at each one (~700 KB for 20,000 scans of 4000 x 4000, ~20 s to decode)."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 200).save(buffer, format="JPEG", progressive=True, quality=90)
    head, units, end = jpeg_segments(buffer.getvalue())
    repeated = min(units[1:], key=len)  # the smallest AC scan
    return head + units[0] + repeated * scans + b"".join(units[1:]) + end
