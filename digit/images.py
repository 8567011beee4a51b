"""Reading pictures: any file, bytes or array into one grey image, with limits on what we decode.

Transparent pixels are composited on white (the colour under alpha 0 is arbitrary), EXIF
rotation is applied, 16-bit images become 8-bit. Anything that is not a picture raises
BadImage with a message for people.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_FILE_BYTES = 20 * 1024 * 1024  # larger uploads are refused before decoding
MAX_PIXELS = 40_000_000  # ~6300x6300; above this decoding alone costs too much memory

ImageInput = Union[str, os.PathLike, bytes, Image.Image, np.ndarray]


class BadImage(ValueError):
    """The input cannot be read as a picture of a digit; the message says why, for people."""


class NoDigit(BadImage):
    """The picture was read but holds no digit (an empty canvas, a white page, noise)."""


def load_image(source: ImageInput) -> np.ndarray:
    """Read any supported input into a uint8 grey image, dark ink or light ink.

    Transparent pixels are composited on white, EXIF rotation is applied, animations
    contribute their first frame, 16-bit images are scaled to 8 bits.
    """
    if isinstance(source, np.ndarray):
        return _array_to_grey(source)
    image = open_image(source) if not isinstance(source, Image.Image) else source
    return _pil_to_grey(image)


def open_image(source: str | os.PathLike | bytes) -> Image.Image:
    """Decode a file or bytes with limits on size; BadImage says what is wrong."""
    try:
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
        image = Image.open(opener)
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise BadImage(f"image too large: {width}x{height} pixels (limit {MAX_PIXELS // 1_000_000} megapixels)")
        image.load()
        return image
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("not an image: cannot identify image file") from None
    except Image.DecompressionBombError:
        raise BadImage("image too large: refused as a decompression bomb") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt data
        raise BadImage(f"broken image: {error}") from None


def _pil_to_grey(image: Image.Image) -> np.ndarray:
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float32)
        top = 65535.0 if array.max() > 255 else 255.0
        return np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    return _array_to_grey(np.asarray(image))


def _array_to_grey(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim not in (2, 3) or array.size == 0 or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise BadImage(f"not an image: array of shape {array.shape}")
    if array.dtype == np.uint16:
        array = array // 257
    elif array.dtype.kind == "f" and array.max(initial=0) <= 1.0:
        array = array * 255.0
    array = np.ascontiguousarray(np.clip(array, 0, 255).astype(np.uint8) if array.dtype != np.uint8 else array)
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


