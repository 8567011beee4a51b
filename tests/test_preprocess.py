"""Preprocessing on inputs as people send them, generated here from MNIST validation digits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from digit.reading.images import BadImage, NoDigit
from digit.reading.preprocess import normalize
from testing.renderings import draw_strokes, light_on_dark, photo_from_mnist, sketch_from_mnist


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two 28x28 digits: 1 is the same picture."""
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def test_mnist_digit_is_left_almost_unchanged(validation_digits):
    images, _ = validation_digits
    for image in images[:20]:
        assert _agreement(normalize(image).pixels, image) > 0.9


def test_transparent_sketch_is_composited_on_white():
    # The digit is drawn off-centre on an 800x800 canvas whose transparent pixels hide random colours.
    sketch = draw_strokes(7, canvas=(800, 800), box=(520, 40, 200, 300), width=14, colour=(200, 30, 30))
    rng = np.random.default_rng(1)
    hidden = sketch[..., 3] == 0
    sketch[hidden, :3] = rng.integers(0, 256, size=(int(hidden.sum()), 3))
    result = normalize(sketch)
    x, y, w, h = result.bbox
    assert 530 <= x <= 550 and 40 <= y <= 60 and 150 <= w <= 185 and 260 <= h <= 300
    clean = normalize(draw_strokes(7, canvas=(280, 280), box=(70, 20, 140, 210), width=5))
    assert _agreement(result.pixels, clean.pixels) > 0.8


def test_centre_of_mass_is_moved_to_the_middle():
    result = normalize(draw_strokes(4, canvas=(800, 800), box=(20, 500, 150, 250)))
    ys, xs = np.mgrid[0:28, 0:28]
    mass = result.pixels.astype(float)
    assert abs((xs * mass).sum() / mass.sum() - 14) < 0.6
    assert abs((ys * mass).sum() / mass.sum() - 14) < 0.6
    assert max(np.ptp(np.nonzero(mass.any(0))[0]), np.ptp(np.nonzero(mass.any(1))[0])) in (19, 20, 21)


@pytest.mark.parametrize("render", [sketch_from_mnist, photo_from_mnist, light_on_dark],
                         ids=["transparent sketch", "dark digit photographed on grey paper", "light digit on black"])
def test_digits_rendered_as_people_send_them_are_read(validation_digits, classifier, render):
    images, labels = validation_digits
    rng = np.random.default_rng(3)
    right = sum(classifier.predict(render(image, rng)).digit == label
                for image, label in zip(images[:30], labels[:30]))
    assert right >= 28


def test_photo_with_strong_side_light_keeps_only_the_digit(validation_digits):
    image = validation_digits[0][0]
    photo = photo_from_mnist(image, np.random.default_rng(11))
    result = normalize(photo)
    assert _agreement(result.pixels, normalize(image).pixels) > 0.75


@pytest.mark.parametrize("shape, value", [((400, 400, 4), 0), ((300, 300), 255), ((300, 300), 0)])
def test_empty_canvas_and_plain_pages_hold_no_digit(shape, value):
    with pytest.raises(NoDigit, match="no ink"):
        normalize(np.full(shape, value, np.uint8))


def test_pure_noise_is_not_a_digit():
    noise = np.random.default_rng(0).integers(0, 256, size=(200, 200), dtype=np.uint8)
    with pytest.raises(NoDigit, match="noise"):
        normalize(noise)


def test_a_speck_of_dust_is_not_part_of_the_digit():
    sketch = draw_strokes(1, canvas=(400, 400), box=(150, 100, 100, 250), width=12)
    sketch[20:24, 20:24, 3] = 255  # a 4x4 dot far from the digit
    result = normalize(sketch)
    x, y, _, _ = result.bbox
    assert x > 100 and y > 50
    assert result.blobs == 1


def test_exif_rotation_is_applied(validation_digits):
    image = 255 - np.kron(validation_digits[0][0], np.ones((8, 8), np.uint8))  # dark on white, 224 px
    upright = normalize(image)
    stored = Image.fromarray(np.rot90(image, k=1))  # the camera stored it turned left...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and says: rotate 90 degrees clockwise to view
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif, quality=95)
    assert _agreement(normalize(buffer.getvalue()).pixels, upright.pixels) > 0.9


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"hello, not a picture", "not an image we read: unknown file type; send PNG, JPEG, WebP, BMP or GIF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "broken image: Truncated File Read"),  # Pillow's words
])
def test_files_that_are_not_images_raise_a_clear_error(data, message):
    with pytest.raises(BadImage) as error:
        normalize(data)
    assert str(error.value) == message
