"""Big uploads made here, nothing downloaded: the 40-megapixel 16-bit PNG of the issue that compresses
to ~350 KB, and a 12 MP phone photo. tests/test_images.py reads them, the hostile corpus
(tests/hostile.py) sends them to the app, and bench/decode_cost.py measures what each costs.

Beside renderings.py rather than in it: those are digits and pen strokes at the sizes people draw;
these are whole files at the sizes cameras and attackers send.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from testing.renderings import draw_strokes

BIG_SIDE = 6300  # 6300 x 6300 = 39.7 megapixels


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def big_png(path: Path, side: int = BIG_SIDE) -> Path:
    """A 16-bit RGBA PNG, side x side, ~350 KB: a black 7 on white, made in a fraction of a second.

    Rows repeat (the 7 is drawn at a tenth of the size), so each distinct row is deflated once,
    ending in a full flush: the same row then always deflates to the same bytes, and the file is
    those bytes in row order with the zlib header and checksum around them."""
    scale = 10
    ink = draw_strokes(7, canvas=(side // scale, side // scale))[..., 3] > 127
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: header and checksum are ours
    deflated: dict[int, bytes] = {}
    rows: dict[int, bytes] = {}
    body, checksum = [b"\x78\xda"], 1
    for y in range(side):
        key = min(y // scale, ink.shape[0] - 1)
        if key not in rows:
            row = np.full((side, 4), 65535, ">u2")
            row[np.repeat(ink[key], scale)[:side].nonzero()[0], :3] = 0
            rows[key] = b"\0" + row.tobytes()  # filter type 0
            deflated[key] = compressor.compress(rows[key]) + compressor.flush(zlib.Z_FULL_FLUSH)
        body.append(deflated[key])
        checksum = zlib.adler32(rows[key], checksum)
    body += [compressor.flush(zlib.Z_FINISH), struct.pack(">I", checksum)]
    header = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)  # 16 bits, RGBA, no interlace
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(body))
                     + _chunk(b"IEND", b""))
    return path


def phone_jpeg(path: Path, size: tuple[int, int] = (4000, 3000), progressive: bool = False) -> Path:
    """A 12 MP photo of a dark 3 on lit, grainy paper, as phones save it (baseline JPEG, 4:2:0)."""
    width, height = size
    rng = np.random.default_rng(12)
    alpha = draw_strokes(3, canvas=(height // 4, height // 4), width=10)[..., 3]
    ink = np.zeros((height, width), np.uint8)
    top, left = (height - 4 * alpha.shape[0]) // 2, (width - 4 * alpha.shape[1]) // 2
    ink[top:top + 4 * alpha.shape[0], left:left + 4 * alpha.shape[1]] = np.kron(alpha, np.ones((4, 4), np.uint8))
    light = np.broadcast_to(np.linspace(230, 170, width).astype(np.uint8), (height, width))
    grain = np.tile(rng.integers(0, 9, (300, 400), dtype=np.uint8), (height // 300 + 1, width // 400 + 1))
    grey = cv2.subtract(cv2.add(light, grain[:height, :width]), cv2.multiply(light, ink, scale=0.8 / 255))
    rgb = cv2.merge([grey, cv2.multiply(grey, 0.97), cv2.multiply(grey, 0.9)])
    Image.fromarray(rgb).save(path, format="JPEG", quality=90, progressive=progressive)
    return path
