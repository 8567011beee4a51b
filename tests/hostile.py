"""A corpus of hostile and broken files, made here, each with what we must say about it.

expected: the exact error message (Pillow's own words after "broken image: "), or "digit:N" where the
file must be read as N.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from testing.crafted import broken_ihdr_png, scan_bomb_jpeg, tall_png
from testing.pictures import big_png, phone_jpeg
from testing.renderings import draw_strokes

REFUSED = "not an image we read: {}; send PNG, JPEG, WebP, BMP or GIF"
UNKNOWN = REFUSED.format("unknown file type")
NO_INK = "no ink found: draw a digit or upload a picture of one"


def _png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def _jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny compressed body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    body = zlib.compress(b"\0" * 4096)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def seven(size: int = 300) -> Image.Image:
    """A dark 7 on white paper."""
    alpha = draw_strokes(7, canvas=(size, size))[..., 3]
    return Image.fromarray(255 - alpha)


def corpus(folder: Path) -> dict[str, str]:
    """Write every file into folder; return name -> expected outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    good_png = _png(seven())
    good_jpeg = _jpeg(seven().convert("RGB"), quality=90)
    files: dict[str, tuple[bytes, str]] = {
        "empty.png": (b"", "empty file"),
        "truncated.png": (good_png[: len(good_png) // 2], "broken image: image file is truncated"),
        "truncated.jpg": (good_jpeg[: len(good_jpeg) // 3],
                          "broken image: image file is truncated (65 bytes not processed)"),
        "text_renamed.png": (b"just some notes, not a picture\n" * 20, UNKNOWN),
        "page.html": (b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", UNKNOWN),
        "drawing.svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
                        b'<text x="10" y="80" font-size="80">7</text></svg>', REFUSED.format("an SVG drawing")),
        "document.pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", REFUSED.format("a PDF document")),
        "bomb_30000.png": (_bomb_png(30000, 30000), "image too large: refused as a decompression bomb"),
        "one_pixel.png": (_png(Image.new("L", (1, 1), 0)), "the image is too small to hold a digit"),
        "all_white.png": (_png(Image.new("L", (300, 300), 255)), NO_INK),
        "all_black.png": (_png(Image.new("L", (300, 300), 0)), NO_INK),
        "noise.png": (_png(Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 300), np.uint8))),
                      "no clear digit: the image looks like noise or texture, not ink on a background"),
        "huge_file.png": (b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024), "file too large: 21.0 MB (limit 20 MB)"),
        "wide_strip.png": (_png(Image.new("L", (6000, 3), 255)), NO_INK),
        "cmyk.jpg": (_jpeg(seven().convert("CMYK"), quality=90), "digit:7"),
        "sixteen_bit.png": (_png(Image.fromarray((np.asarray(seven(), np.uint16) * 257))), "digit:7"),
        "palette_transparent.png": (_palette_with_transparency(), "digit:7"),
        "grey_alpha.png": (_png(_grey_alpha()), "digit:7"),
        "animated.gif": (_animated_gif(), "digit:7"),
        "exif_rotated.jpg": (_exif_rotated(), "digit:7"),
        "webp.webp": (_webp(), "digit:7"),
        "bmp.bmp": (_bmp(), "digit:7"),
        "tiny_digit_large_canvas.png": (_png(Image.fromarray(
            draw_strokes(7, canvas=(2000, 2000), box=(1500, 1500, 60, 90), width=8))), "digit:7"),
        # The file: ~400 KB that Pillow would decode into 150 MB (and we used to, three times).
        "sixteen_bit_rgba_40mp.png": (big_png(folder / "sixteen_bit_rgba_40mp.png").read_bytes(),
                                      "image too large: 6300 x 6300 pixels (PNG, RGBA) would take 151 MB to decode "
                                      "(limit 64 MB); send it at a smaller size"),
        # Small files that would cost much to decode, refused from their headers.
        "scan_bomb.jpg": (scan_bomb_jpeg(), "image refused: a JPEG of 4000 x 4000 pixels in 20006 scans would take "
                                            "too long to decode; save it again as an ordinary JPEG"),
        "tall.png": (tall_png(), "image too large: 1 x 39999999 pixels (PNG, 1) would take 343 MB to decode "
                                 "(limit 64 MB); send it at a smaller size"),
        "broken_ihdr.png": (broken_ihdr_png(), "broken image: broken PNG file (bad header checksum in b'IHDR')"),
        "phone_photo_12mp.jpg": (phone_jpeg(folder / "phone_photo_12mp.jpg").read_bytes(), "digit:3"),
        "phone_mpo.jpg": (_mpo(), "digit:7"),
        # Formats Pillow opens but we do not read: each would run one of its plugins.
        "postscript.eps": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n"
                           b"/Times-Roman findfont 80 scalefont setfont 10 20 moveto (7) show\nshowpage\n%%EOF\n",
                           REFUSED.format("a PostScript/EPS file")),
        "layers.psd": (_psd(), REFUSED.format("a Photoshop (PSD) file")),
        "icon.ico": (_saved(seven(64), "ICO"), REFUSED.format("an icon (ICO)")),
        "scan.tif": (_saved(seven(), "TIFF"), REFUSED.format("a TIFF image")),
        "targa_renamed.png": (_saved(seven(), "TGA"), UNKNOWN),
        "x_bitmap_text.png": (_saved(seven().convert("1"), "XBM"), UNKNOWN),  # text that Pillow would read
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: expected for name, (_, expected) in files.items()}


def _saved(image: Image.Image, kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def _mpo() -> bytes:
    """A JPEG with a second image after it (a phone's depth map or preview): Pillow opens it as MPO."""
    return _saved(seven().convert("RGB"), "MPO", save_all=True, append_images=[Image.new("RGB", (300, 300))])


def _psd() -> bytes:
    """A minimal Photoshop file: header, no colour data, no resources, no layers, raw RGB pixels."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 40, 40, 8, 3)
    return header + struct.pack(">IIIH", 0, 0, 0, 0) + b"\x80" * (40 * 40 * 3)


def _palette_with_transparency() -> bytes:
    rgba = Image.fromarray(draw_strokes(7, canvas=(300, 300), colour=(20, 20, 160)))
    return _png(rgba.convert("P", palette=Image.Palette.ADAPTIVE, colors=16) if False else rgba.quantize(16))


def _grey_alpha() -> Image.Image:
    alpha = draw_strokes(7, canvas=(300, 300))[..., 3]
    return Image.fromarray(np.dstack([np.zeros_like(alpha), alpha]), mode="LA")


def _animated_gif() -> bytes:
    frames = [seven(), Image.new("L", (300, 300), 255), seven().rotate(30, fillcolor=255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _exif_rotated() -> bytes:
    stored = seven().rotate(90, expand=True)  # stored turned left; EXIF says turn it back
    exif = Image.Exif()
    exif[0x0112] = 6
    return _jpeg(stored.convert("RGB"), quality=92, exif=exif)


def _webp() -> bytes:
    buffer = io.BytesIO()
    seven().convert("RGB").save(buffer, format="WEBP", quality=90)
    return buffer.getvalue()


def _bmp() -> bytes:
    buffer = io.BytesIO()
    seven().save(buffer, format="BMP")
    return buffer.getvalue()
