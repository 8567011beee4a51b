"""Reading pictures: a file, bytes or array decoded once into a `Picture`, with limits on what we decode.

`read_picture` is the one decoder. It opens only the formats we list (FORMATS), refuses from
the header alone what would take too much memory to decode (MAX_DECODED_BYTES), decodes JPEG
at a reduced scale and shrinks everything else in strips, so that what it keeps is never
larger than needed: the long side is at most MAX_SIDE (the jury works at 256 px, the feedback
store keeps STORED_SIDE; the limits are in digit/config.py). The Picture keeps the pixels as sent (uint8 L, RGB or RGBA, upright, 16-bit
scaled to 8-bit, palette and grey+alpha as RGBA, the first frame of an animation) and what we
learned on the way (format, original size): the app decodes once per request and passes it on.

`load_image` turns any input into one grey image: transparent pixels are composited on white
(the colour under alpha 0 is arbitrary). Anything that is not a picture raises BadImage with a
message for people.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import os
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import cv2
import numpy as np
import pyspng
from PIL import ExifTags, Image, UnidentifiedImageError

from digit.config import MAX_DECODED_BYTES, MAX_FILE_BYTES, MAX_PIXELS, MAX_SIDE

# A progressive JPEG has ~10 scans (libjpeg's default script; mozjpeg's 6-20), and libjpeg walks
# every block of the image at each scan: a few bytes a scan, repeated, make a 700 KB file that
# takes 20 s to decode. The scans are counted in the file (its SOS markers) before anything is
# decoded; pixels x scans bounds the time (~0.4 ns each: 1e9 is ~0.4 s, a 40 MP photo in 25 scans).
MAX_JPEG_SCANS = 100
MAX_JPEG_SCAN_PIXELS = 1_000_000_000
ROW_BYTES = 8  # Pillow keeps a pointer to each row of an image: 1 x 40,000,000 pixels is 320 MB of them

# Pillow's ids of the formats we open; any other (EPS, PDF, PSD, ICO, TIFF, TGA, XBM...) is refused
# before any of its plugin's code runs. JPEG includes MPO: many phones' JPEGs carry a second image
# (a depth map, a preview) and Pillow's JPEG opener returns them as MPO. No TIFF: browsers cannot
# show it (the upload preview would be blank), scanners and phones offer PNG or JPEG as well, and
# libtiff is the largest decoder Pillow carries (every compression scheme, tiles, many pages).
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
FORMAT_NAMES = "PNG, JPEG, WebP, BMP or GIF"

_STRIP_BYTES = 4 * 2**20  # shrinking converts and reduces this much of the decoded image at a time
_ORIENTATION = ExifTags.Base.Orientation
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
# What some files we do not read start with, to say what they are.
_SIGNATURES = (
    (b"%PDF", "a PDF document"), (b"%!PS", "a PostScript/EPS file"), (b"\xc5\xd0\xd3\xc6", "an EPS file"),
    (b"8BPS", "a Photoshop (PSD) file"), (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
    (b"\x00\x00\x01\x00", "an icon (ICO)"), (b"\x00\x00\x02\x00", "a cursor (CUR)"),
    (b"<svg", "an SVG drawing"), (b"<?xml", "an XML file"),
)


class BadImage(ValueError):
    """The input cannot be read as a picture of a digit; the message says why, for people."""


class NoDigit(BadImage):
    """The picture was read but holds no digit (an empty canvas, a white page, noise)."""


@dataclass(frozen=True, eq=False)
class Picture:
    """A picture decoded once: its pixels as sent, at most MAX_SIDE on the long side, and what we learned.

    pixels: uint8, read-only; (h, w) grey, (h, w, 3) RGB or (h, w, 4) RGBA; upright (EXIF applied).
    format: Pillow's name of the file format ("PNG", "JPEG", "MPO", ...), "array" or "PIL" for
    pictures made in memory. original_size: (width, height) of the upright image before it was
    shrunk. original_mode: the mode Pillow decoded (e.g. "I;16", "P", "LA", "CMYK").
    """

    pixels: np.ndarray
    format: str
    original_size: tuple[int, int]
    original_mode: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the pixels kept."""
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def mode(self) -> str:
        """"L", "RGB" or "RGBA"."""
        return _mode_of(self.pixels)

    @property
    def scale(self) -> float:
        """How many original pixels one kept pixel spans (1.0: kept at full size)."""
        return max(self.original_size) / max(self.size)

    def capped(self, max_side: int) -> Picture:
        """This picture with its long side at most max_side (itself when it already is)."""
        if max(self.size) <= max_side:
            return self
        pixels = _pixels(_shrink(Image.fromarray(self.pixels), max_side))
        return Picture(pixels, self.format, self.original_size, self.original_mode)

    @classmethod
    def from_array(cls, array: np.ndarray, max_side: int = MAX_SIDE) -> Picture:
        """An array as sent: uint8 kept, 16-bit and 0..1 floats scaled to 8 bits, grey+alpha as RGBA."""
        array = np.asarray(array)
        if array.ndim not in (2, 3) or array.size == 0 or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
            raise BadImage(f"not an image: array of shape {array.shape}")
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[..., 0]
        array = _to_uint8(array)
        if array.ndim == 3 and array.shape[2] == 2:
            array = np.dstack([array[..., 0]] * 3 + [array[..., 1]])
        height, width = array.shape[:2]
        return cls(_frozen(array.copy()), "array", (width, height), _mode_of(array)).capped(max_side)


ImageInput = Union[str, os.PathLike, bytes, Image.Image, np.ndarray, Picture]


def data_url_bytes(url: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes a base64 data URL carries ("data:image/png;base64,..."), as sent: not decoded
    as a picture yet (read_picture does that). Refused from its length alone, before anything is
    decoded, when it carries more than limit bytes."""
    header, comma, data = url.partition(",")
    if not header.startswith("data:") or not comma:
        raise BadImage("not an image: expected a data URL (data:image/png;base64,...)")
    if len(data) > limit * 4 // 3 + 4:
        raise BadImage(f"file too large (limit {_megabytes(limit)})")
    if not header.endswith(";base64"):
        raise BadImage("not an image: the data URL is not base64")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadImage("not an image: the data URL is not valid base64") from None


def _megabytes(count: int) -> str:
    return f"{count / 2**20:g} MB" if count >= 2**20 else f"{count // 1024} KB"


def read_picture(source: ImageInput, max_side: int = MAX_SIDE) -> Picture:
    """Decode any supported input once, no larger than max_side; BadImage says what is wrong.

    A Picture is returned as it is (capped to max_side); an array or a PIL image is taken as
    already decoded; a file or bytes passes the limits (file size, format, pixels, decoded
    memory) and is decoded at a reduced scale where the format allows it (JPEG).
    """
    if isinstance(source, Picture):
        return source.capped(max_side)
    if isinstance(source, np.ndarray):
        return Picture.from_array(source, max_side)
    if isinstance(source, Image.Image):
        return _decode(source, max_side, source.format or "PIL")
    with _refusals():
        with _open(source) as image:
            _check_cost(image, max_side)
            if image.format in ("JPEG", "MPO"):
                _check_scans(source, image.size)
            if image.format == "PNG" and (pixels := _plain_png(source, image)) is not None:
                return _decode_array(pixels, max_side, image)
            if image.format in ("JPEG", "MPO") and (step := _jpeg_step(image.size, max_side)) > 1:
                full_size = image.size
                image.draft(None, (image.size[0] // step, image.size[1] // step))  # DCT scaling: 1/2, 1/4, 1/8
                return _decode(image, max_side, image.format, full_size)
            return _decode(image, max_side, image.format)


def load_image(source: ImageInput) -> np.ndarray:
    """Read any supported input into a uint8 grey image, dark ink or light ink.

    Transparent pixels are composited on white, EXIF rotation is applied, animations
    contribute their first frame, 16-bit images are scaled to 8 bits.
    """
    if isinstance(source, np.ndarray):
        return _array_to_grey(source)
    return _array_to_grey(read_picture(source).pixels)


def decoded_bytes(image: Image.Image, max_side: int = MAX_SIDE) -> int:
    """What decoding this opened (not yet loaded) image will allocate, from its header alone.

    Pillow keeps 1 byte a pixel for 1-bit, grey and palette images, 2 for 16-bit grey, 4 for
    everything else (RGB included), and a pointer to each row (ROW_BYTES). JPEG is decoded at a
    reduced scale (draft), but a progressive JPEG makes libjpeg hold every DCT coefficient of the
    full image (2 bytes per sample of each component). WebP goes through libwebp's animation decoder: two RGBA canvases, a copy handed
    to Pillow and Pillow's image. bench/decode_cost.py prints it next to the measured peak.
    """
    width, height = image.size
    per_pixel = 1 if image.mode in ("1", "L", "P") else 2 if image.mode.startswith("I;16") else 4
    if image.format in ("JPEG", "MPO"):
        step = _jpeg_step(image.size, max_side)
        total = math.ceil(width / step) * math.ceil(height / step) * per_pixel + ROW_BYTES * math.ceil(height / step)
        if image.info.get("progressive") or image.info.get("progression"):
            # Components with their sampling factors (h, v): 4:2:0 is 1.5 samples a pixel, 4:4:4 is 3.
            layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * 3
            samples = sum(h * v for _, h, v, _ in layers) / (max(h for _, h, _, _ in layers)
                                                              * max(v for _, _, v, _ in layers))
            total += int(2 * width * height * samples)
        return total
    if image.format == "WEBP":
        return 16 * width * height + ROW_BYTES * height
    return per_pixel * width * height + ROW_BYTES * height


# -- opening and checking -------------------------------------------------------------------------

@contextmanager
def _refusals():
    """Pillow's errors on bad data as BadImage, with a message for people."""
    try:
        yield
    except BadImage:
        raise
    except Image.DecompressionBombError:
        raise BadImage("image too large: refused as a decompression bomb") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # truncated, corrupt, a header that lies
        raise BadImage(f"broken image: {error}") from None


def _open(source: str | os.PathLike | bytes) -> Image.Image:
    """Open a file or bytes with Pillow (header only) in the formats we read."""
    if isinstance(source, bytes):
        size, opener = len(source), io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise BadImage(f"no such file: {path}")
        size, opener = path.stat().st_size, path
    if size == 0:
        raise BadImage("empty file")
    if size > MAX_FILE_BYTES:
        raise BadImage(f"file too large: {size / 2**20:.1f} MB (limit {MAX_FILE_BYTES / 2**20:.0f} MB)")
    try:
        return Image.open(opener, formats=FORMATS)
    except UnidentifiedImageError:
        _broken(source)
        raise BadImage(f"not an image we read: {_what(source)}; send {FORMAT_NAMES}") from None


def _broken(source: str | os.PathLike | bytes) -> None:
    """Raise BadImage("broken image: ...") for a file that starts as one of our formats but that its
    opener refused (a PNG whose header checksum is wrong): Image.open only says it found no format."""
    head = _head(source, 16)
    for name in FORMATS:
        opener, accept = Image.OPEN[name]
        if accept is None or not accept(head):
            continue
        try:
            with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as handle:
                opener(handle).close()
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as error:
            raise BadImage(f"broken image: {error}") from None


def _head(source: str | os.PathLike | bytes, count: int) -> bytes:
    if isinstance(source, bytes):
        return source[:count]
    with open(source, "rb") as handle:
        return handle.read(count)


def _what(source: str | os.PathLike | bytes) -> str:
    """What a file we do not read seems to be, from its first bytes, for the message."""
    head = _head(source, 64)
    stripped = head.lstrip()
    for signature, name in _SIGNATURES:
        if stripped.startswith(signature):
            return name
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return "a HEIC photo (share it as JPEG: most phones offer it)"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "an AVIF image"
    return "unknown file type"


def _check_cost(image: Image.Image, max_side: int) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise BadImage(f"image too large: {width} x {height} pixels (limit {MAX_PIXELS // 1_000_000} megapixels)")
    cost = decoded_bytes(image, max_side)
    if cost > MAX_DECODED_BYTES:
        raise BadImage(f"image too large: {width} x {height} pixels ({image.format}, {image.mode}) would take "
                       f"{cost / 2**20:.0f} MB to decode (limit {MAX_DECODED_BYTES // 2**20} MB); "
                       "send it at a smaller size")


def _check_scans(source: str | os.PathLike | bytes, size: tuple[int, int]) -> None:
    """Refuse a JPEG with too many scans for its size (MAX_JPEG_SCANS, MAX_JPEG_SCAN_PIXELS). An SOS
    marker (FF DA) cannot appear inside a scan's coded data (an FF there is followed by 00 or a
    restart marker), so a plain count finds them all (and those of an embedded thumbnail or a
    second MPO image, which are few)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    scans = data.count(b"\xff\xda")
    if scans > MAX_JPEG_SCANS or scans * size[0] * size[1] > MAX_JPEG_SCAN_PIXELS:
        raise BadImage(f"image refused: a JPEG of {size[0]} x {size[1]} pixels in {scans} scans would take too "
                       "long to decode; save it again as an ordinary JPEG")


def _jpeg_step(size: tuple[int, int], max_side: int) -> int:
    """The JPEG scale (1, 2, 4 or 8) whose image is the smallest with a long side >= max_side."""
    for step in (8, 4, 2):
        if max(size) // step >= max_side:
            return step
    return 1


# -- decoding ------------------------------------------------------------------------------------

def _decode(image: Image.Image, max_side: int, file_format: str,
            full_size: tuple[int, int] | None = None) -> Picture:
    """Decode an image (its first frame), shrink it, turn it upright. full_size: a drafted JPEG's."""
    image.load()
    orientation = image.getexif().get(_ORIENTATION, 1)  # after load: a PNG may keep EXIF after its pixels
    shrunk = _shrink(image, max_side)
    width, height = full_size or image.size
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        shrunk = shrunk.transpose(method)
        if orientation >= 5:  # a quarter turn: the upright picture is height x width
            width, height = height, width
    return Picture(_pixels(shrunk), file_format, (width, height), image.mode)


def _plain_png(source: str | os.PathLike | bytes, image: Image.Image) -> np.ndarray | None:
    """The pixels of an 8-bit RGB or RGBA PNG, as a canvas or a screenshot exports it, decoded
    by libspng (pyspng): about twice as fast as Pillow's decoder on an 800x800 sketch, which is
    most of what reading one costs. None for anything else (palette, grey, 16-bit, interlaced,
    a transparent colour, EXIF, a file libspng refuses): Pillow decodes those, as before."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    header = data[12:29]  # the IHDR chunk always comes first: type, width, height, depth, colour, ..., interlace
    if (image.mode not in ("RGB", "RGBA") or len(header) < 17 or header[:4] != b"IHDR" or header[12] != 8
            or header[13] not in (2, 6) or header[16] != 0 or "transparency" in image.info or b"eXIf" in data):
        return None
    try:
        pixels = pyspng.load(data, format=image.mode)
    except Exception:  # noqa: BLE001 - whatever libspng refuses, Pillow reads or explains
        return None
    return pixels if pixels.shape[:2] == image.size[::-1] else None


def _decode_array(pixels: np.ndarray, max_side: int, image: Image.Image) -> Picture:
    """A Picture from pixels decoded whole (an image with no EXIF: upright as it is)."""
    if max(pixels.shape[:2]) > max_side:
        return Picture(_pixels(_shrink(Image.fromarray(pixels, image.mode), max_side)), image.format, image.size,
                       image.mode)
    return Picture(_frozen(pixels), image.format, image.size, image.mode)


def _work_mode(mode: str) -> tuple[str, str]:
    """(mode we reduce in, mode we keep) for a mode Pillow decoded."""
    if mode in ("1", "L"):
        return "L", "L"
    if mode in ("I", "F") or mode.startswith("I;16"):
        return "I", "L"  # 16-bit grey: reduced in 32 bits, scaled to 8 at the end
    if mode in ("RGBA", "LA", "PA", "P", "La", "RGBa"):
        return "RGBa", "RGBA"  # alpha premultiplied while averaging: hidden colours do not bleed
    return "RGB", "RGB"


def _convert(image: Image.Image, mode: str) -> Image.Image:
    if image.mode == mode:
        return image
    if mode == "RGBa" and image.mode != "RGBA":
        image = image.convert("RGBA")
    if mode == "I" and image.mode == "F":
        return image.convert("I")
    return image.convert(mode)


def _shrink(image: Image.Image, max_side: int) -> Image.Image:
    """The decoded image as L, RGB or RGBA with its long side at most max_side.

    Box averages over whole factors first, a strip of rows at a time, so that no full-size
    copy (a mode conversion, a premultiplied alpha) is ever made; then one resize to the cap.
    """
    work, keep = _work_mode(image.mode)
    width, height = image.size
    factor = max(1, max(width, height) // max_side)
    if factor == 1:
        # No more than twice the cap: converting it whole is cheap.
        if max(width, height) <= max_side and work != "I":
            return image.convert(keep) if image.mode != keep else image
        reduced = _convert(image, work)
    else:
        rows = max(1, _STRIP_BYTES // (4 * width * factor)) * factor
        reduced = Image.new(work, (math.ceil(width / factor), math.ceil(height / factor)))
        for top in range(0, height, rows):
            strip = _convert(image.crop((0, top, width, min(height, top + rows))), work)
            reduced.paste(strip.reduce(factor), (0, top // factor))
    if max(reduced.size) > max_side:
        ratio = max_side / max(reduced.size)
        size = (max(1, round(reduced.size[0] * ratio)), max(1, round(reduced.size[1] * ratio)))
        reduced = reduced.resize(size, Image.Resampling.BOX)
    if work == "I":
        return Image.fromarray(_sixteen_to_eight(np.asarray(reduced), image))
    return reduced.convert(keep) if reduced.mode != keep else reduced


def _sixteen_to_eight(array: np.ndarray, original: Image.Image) -> np.ndarray:
    """16-bit grey to 8 bits; a 16-bit file holding only 0..255 is kept as it is."""
    low, high = original.getextrema()
    top = 65535.0 if high > 255 else 255.0
    return np.clip(array.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)


def _mode_of(pixels: np.ndarray) -> str:
    return "L" if pixels.ndim == 2 else {3: "RGB", 4: "RGBA"}[pixels.shape[2]]


def _pixels(image: Image.Image) -> np.ndarray:
    return _frozen(np.asarray(image))


def _frozen(array: np.ndarray) -> np.ndarray:
    """Read-only: a Picture's pixels stay as they were read, whoever holds it."""
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (array // 257).astype(np.uint8)
    if array.dtype.kind == "f" and array.max(initial=0) <= 1.0:
        array = array * 255.0
    return np.clip(array, 0, 255).astype(np.uint8)


def _array_to_grey(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim not in (2, 3) or array.size == 0 or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise BadImage(f"not an image: array of shape {array.shape}")
    array = np.ascontiguousarray(_to_uint8(array))
    if array.ndim == 2:
        return array
    channels = array.shape[2]
    if channels == 1:
        return np.ascontiguousarray(array[..., 0])
    if channels == 2:
        grey, alpha = np.ascontiguousarray(array[..., 0]), np.ascontiguousarray(array[..., 1])
    elif channels == 3:
        grey, alpha = cv2.cvtColor(array, cv2.COLOR_RGB2GRAY), None
    else:
        grey, alpha = cv2.cvtColor(array, cv2.COLOR_RGBA2GRAY), cv2.extractChannel(array, 3)
    if alpha is not None:
        # The colour under transparent pixels is arbitrary: only alpha says where ink is.
        # Composite on white: darkness scales with opacity.
        grey = 255 - cv2.multiply(255 - grey, alpha, scale=1 / 255)
    return grey
