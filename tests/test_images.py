"""Reading pictures: decoded once, no larger than needed, only the formats we list, refused
from the header when decoding would cost too much; and the page decodes an upload once."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib

import gradio as gr
import numpy as np
import pytest
from gradio.components.image import ImageData
from PIL import Image, ImageFile, JpegImagePlugin, PsdImagePlugin

from digit.feedback import FeedbackStore
from digit.config import MAX_DECODED_BYTES, MAX_SIDE
from digit.reading.images import (ROW_BYTES, BadImage, Picture, _plain_png, decoded_bytes,
                          read_picture)
from digit.page import actions, state
from digit.page.components import UploadedImage
from digit.page.flagging import FeedbackFlagging
from digit.reading.preprocess import normalize
from testing.crafted import broken_ihdr_png, scan_bomb_jpeg, tall_png
from testing.pictures import big_png, phone_jpeg
from testing.renderings import draw_strokes


def encoded(image: Image.Image, kind: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **({"compress_level": 1} if kind == "PNG" else {}), **options)
    return buffer.getvalue()


def png_header(width: int, height: int, colour_type: int, depth: int = 8) -> bytes:
    """A PNG's header and an empty IDAT: all Image.open reads before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"")


def hidden_colours(size: tuple[int, int] = (400, 400), digit: int = 3) -> np.ndarray:
    """A transparent sketch whose transparent pixels hide random colours, as browsers may leave them."""
    sketch = draw_strokes(digit, canvas=size)
    hidden = sketch[..., 3] == 0
    sketch[hidden, :3] = np.random.default_rng(4).integers(0, 256, (int(hidden.sum()), 3))
    return sketch


@pytest.fixture
def opens(monkeypatch):
    """Every Image.open call made, by anyone, during the test."""
    calls = []
    original = Image.open

    def counted(*arguments, **options):
        calls.append(arguments[0])
        return original(*arguments, **options)

    monkeypatch.setattr(Image, "open", counted)
    return calls


def test_the_issue_file_is_refused_from_its_header_before_any_decoding(tmp_path, monkeypatch):
    path = big_png(tmp_path / "big.png")  # 16-bit RGBA, 6300 x 6300, ~400 KB
    assert path.stat().st_size < 600_000
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    start = time.perf_counter()
    with pytest.raises(BadImage, match=r"image too large: 6300 x 6300 pixels .* 151 MB to decode \(limit 64 MB\)"):
        read_picture(path)
    assert time.perf_counter() - start < 0.3


def test_a_12mp_phone_photo_is_decoded_at_half_scale_and_kept_at_1024(tmp_path, monkeypatch):
    decoded = []
    original = JpegImagePlugin.JpegImageFile.load

    def load(self):
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    picture = read_picture(phone_jpeg(tmp_path / "phone.jpg"))
    assert set(decoded) == {(2000, 1500)}  # the smallest DCT scale at least 1024 px long (later calls: no-ops)
    assert (picture.format, picture.original_size, picture.size, picture.mode) == ("JPEG", (4000, 3000),
                                                                                    (1024, 768), "RGB")
    assert picture.scale == pytest.approx(4000 / 1024)


@pytest.mark.parametrize("subsampling, read", [(2, True), (0, False)], ids=["4:2:0", "4:4:4"])
def test_a_progressive_jpeg_counts_its_full_size_coefficients(tmp_path, subsampling, read):
    """libjpeg keeps every DCT coefficient of a progressive JPEG, whatever the scale it outputs."""
    rgb = np.full((3000, 4000, 3), 200, np.uint8)
    data = encoded(Image.fromarray(rgb), "JPEG", progressive=True, subsampling=subsampling)
    with Image.open(io.BytesIO(data)) as image:
        coefficients = 2 * 4000 * 3000 * (1.5 if subsampling == 2 else 3)
        assert decoded_bytes(image) == 2000 * 1500 * 4 + coefficients + ROW_BYTES * 1500
    if read:
        assert read_picture(data).size == (1024, 768)
    else:
        with pytest.raises(BadImage, match="image too large: 4000 x 3000"):
            read_picture(data)


def test_a_jpeg_whose_scans_would_take_seconds_is_refused_in_a_moment_before_decoding(monkeypatch):
    bomb = scan_bomb_jpeg()  # ~1 MB, 4000 x 4000 grey, 20,000 scans: ~20 s of libjpeg
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    start = time.perf_counter()
    with pytest.raises(BadImage, match=r"4000 x 4000 pixels in 20006 scans would take too long to decode"):
        read_picture(bomb)
    assert time.perf_counter() - start < 0.5


def test_a_progressive_jpeg_of_ordinary_scans_is_read():
    photo = encoded(Image.fromarray(np.full((3000, 4000), 200, np.uint8)), "JPEG", progressive=True)
    assert 5 <= photo.count(b"\xff\xda") <= 10
    assert read_picture(photo).size == (1024, 768)
    # the same scans on a small picture, repeated a few times, cost little: the bound is scans x pixels
    assert read_picture(scan_bomb_jpeg(scans=50, side=400)).size == (400, 400)


def test_a_png_one_pixel_wide_and_forty_million_rows_tall_is_refused_from_its_header(monkeypatch):
    tall = tall_png()  # 78 KB; Pillow would keep a pointer a row: 320 MB
    assert len(tall) < 100_000
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    start = time.perf_counter()
    with pytest.raises(BadImage, match=r"1 x 39999999 pixels \(PNG, 1\) would take 343 MB to decode"):
        read_picture(tall)
    assert time.perf_counter() - start < 0.5


def test_a_png_whose_header_checksum_is_wrong_is_called_broken_not_unknown():
    with pytest.raises(BadImage, match=r"^broken image: broken PNG file \(bad header checksum in b'IHDR'\)$"):
        read_picture(broken_ihdr_png())


def test_a_format_we_do_not_list_never_reaches_its_plugin(monkeypatch):
    psd = b"8BPS" + bytes.fromhex("0001 000000000000 0003 00000028 00000028 0008 0003") + bytes(14) + bytes(4800)
    with Image.open(io.BytesIO(psd)) as image:
        assert image.format == "PSD"  # Pillow, left to itself, would open it
    monkeypatch.setattr(PsdImagePlugin.PsdImageFile, "_open", lambda self: pytest.fail("PSD plugin ran"))
    with pytest.raises(BadImage, match="not an image we read: a Photoshop"):
        read_picture(psd)


def test_a_picture_keeps_the_pixels_as_sent():
    sketch = hidden_colours()
    picture = read_picture(encoded(Image.fromarray(sketch)))
    assert picture.mode == "RGBA" and picture.format == "PNG" and picture.scale == 1
    assert np.array_equal(picture.pixels, sketch)  # hidden colours included: nothing is lost below the cap
    with pytest.raises(ValueError):
        picture.pixels[0, 0] = 0  # read-only: whoever holds it sees what was read


def test_plain_8_bit_pngs_take_libspng_and_read_as_pillow_reads_them():
    sketch = hidden_colours()
    screenshot = np.ascontiguousarray(sketch[..., :3])
    rotated = Image.Exif()
    rotated[0x0112] = 6
    for pixels in (sketch, screenshot):
        data = encoded(Image.fromarray(pixels))
        with Image.open(io.BytesIO(data)) as image:
            assert np.array_equal(_plain_png(data, image), pixels)
            assert np.array_equal(read_picture(data).pixels, np.asarray(image))
    others = {"palette": encoded(Image.fromarray(sketch).quantize(8)), "grey": encoded(Image.fromarray(sketch[..., 0])),
              "16-bit": encoded(Image.fromarray(sketch[..., 0].astype(np.uint16) * 257)),
              "transparent colour": encoded(Image.fromarray(screenshot), transparency=(0, 0, 0)),
              "EXIF": encoded(Image.fromarray(sketch), exif=rotated)}  # may turn it: Pillow's way applies it
    for kind, data in others.items():
        with Image.open(io.BytesIO(data)) as image:
            assert _plain_png(data, image) is None, kind


def test_palette_grey_alpha_16_bit_and_animations_become_l_rgb_or_rgba():
    alpha = draw_strokes(7, canvas=(300, 300))[..., 3]
    palette = Image.fromarray(draw_strokes(7, canvas=(300, 300))).quantize(8)
    grey_alpha = Image.fromarray(np.dstack([np.zeros_like(alpha), alpha]), mode="LA")
    sixteen = Image.fromarray((255 - alpha).astype(np.uint16) * 257)
    frames = [Image.fromarray(255 - alpha), Image.new("L", (300, 300), 0)]
    animated = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert read_picture(encoded(palette)).mode == "RGBA"
    assert np.array_equal(read_picture(encoded(grey_alpha)).pixels[..., 3], alpha)
    eight = read_picture(encoded(sixteen))
    assert (eight.mode, eight.original_mode) == ("L", "I;16")
    assert np.abs(eight.pixels.astype(int) - (255 - alpha)).max() <= 1
    first = read_picture(animated)
    assert first.pixels.min() == 0 and first.pixels.max() == 255  # the 7, not the black second frame


def test_exif_rotation_is_applied_and_the_original_size_is_upright():
    stored = Image.fromarray(np.full((3000, 4000, 3), 230, np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    picture = read_picture(encoded(stored, "JPEG", exif=exif))
    assert picture.original_size == (3000, 4000) and picture.size == (768, 1024)


def test_large_pictures_are_shrunk_in_strips_as_if_whole_with_premultiplied_alpha():
    rng = np.random.default_rng(0)
    sketch = np.zeros((2100, 3000, 4), np.uint8)
    sketch[..., :3] = np.kron(rng.integers(0, 256, (210, 300, 3), dtype=np.uint8), np.ones((10, 10, 1), np.uint8))
    sketch[400:1600, 1400:1460] = (20, 20, 20, 255)
    picture = read_picture(encoded(Image.fromarray(sketch)))
    whole = Image.fromarray(sketch).convert("RGBa").reduce(2).resize(picture.size, Image.Resampling.BOX)
    assert picture.size == (1024, 717) and picture.original_size == (3000, 2100)
    assert np.array_equal(picture.pixels, np.asarray(whole.convert("RGBA")))


def test_normalize_reports_the_ink_box_in_the_files_pixels():
    canvas = draw_strokes(7, canvas=(2400, 2400), box=(1600, 1500, 300, 450), width=20)
    x, y, width, height = normalize(encoded(Image.fromarray(canvas))).bbox
    assert abs(x - 1600) < 40 and abs(y - 1500) < 40 and abs(width - 300) < 60 and abs(height - 450) < 60


def test_arrays_are_copied_scaled_and_capped():
    array = np.zeros((2048, 1024, 2), np.uint16)
    array[..., 1] = 65535
    picture = Picture.from_array(array)
    assert picture.mode == "RGBA" and picture.size == (512, 1024) and picture.pixels[..., 3].min() == 255
    sketch = hidden_colours()
    picture = read_picture(sketch)
    sketch[:] = 0
    assert picture.pixels.any()  # a copy: the caller may reuse its array
    assert read_picture(picture) is picture and picture.capped(MAX_SIDE) is picture


def test_the_budget_admits_what_people_send():
    """A 12 MP RGB PNG, a 4K RGBA screenshot, a 36 MP grey scan; not a 40 MP 16-bit grey one."""
    for width, height, colour_type, depth in ((4000, 3000, 2, 8), (3840, 2160, 6, 8), (6000, 6000, 0, 8)):
        with Image.open(io.BytesIO(png_header(width, height, colour_type, depth))) as image:
            assert decoded_bytes(image) <= MAX_DECODED_BYTES, (width, height, image.mode)
    with pytest.raises(BadImage, match="6300 x 6300 pixels .* 76 MB"):
        read_picture(png_header(6300, 6300, 0, 16))


# -- the page: one decode per request -------------------------------------------------------------

@pytest.fixture
def page(tmp_path, monkeypatch):
    """The page's handlers with the shipped jury, a feedback store in tmp_path and an upload folder."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    (tmp_path / "uploads").mkdir()
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    flagging = FeedbackFlagging(store)
    monkeypatch.setattr(state, "flagging", lambda: flagging)
    state.model()  # loaded before counting
    yield store
    store.close()


def stored_pixels(store: FeedbackStore) -> np.ndarray:
    (record,) = store.records()
    return np.asarray(Image.open(io.BytesIO(store.images([record["id"]])[record["id"]])))


def test_reading_then_correcting_an_upload_decodes_it_once_and_stores_it_as_sent(page, tmp_path, opens):
    sketch = hidden_colours(digit=3)
    path = tmp_path / "uploads" / "three.png"
    Image.fromarray(sketch).save(path)
    *_, last = actions.show_upload(str(path))
    actions.correct(last, "8")
    assert opens == [path]
    assert np.array_equal(stored_pixels(page), sketch)  # RGBA, hidden colours and all


def test_a_large_upload_is_stored_capped_to_512_px(page, tmp_path, opens):
    path = phone_jpeg(tmp_path / "uploads" / "photo.jpg")
    *_, last = actions.show_upload(str(path))
    assert last.picture.size == (512, 384)  # what the session keeps until the next reading
    actions.confirm(last)
    assert len(opens) == 1
    stored = stored_pixels(page)
    with Image.open(path) as original:
        expected = np.asarray(original.convert("RGB").resize((512, 384), Image.Resampling.BOX))
    assert stored.shape == (384, 512, 3) and np.abs(stored.astype(int) - expected).mean() < 1.5


def test_the_api_flag_decodes_once(page, tmp_path, opens):
    path = tmp_path / "uploads" / "four.png"
    Image.fromarray(draw_strokes(4, canvas=(500, 500))).save(path)
    assert actions.flag({"path": str(path)}, 9).startswith("Saved as a 9")
    assert len(opens) == 1 and stored_pixels(page).shape == (500, 500, 4)


def test_the_upload_component_hands_over_the_uploaded_path_without_opening_it(page, tmp_path, opens):
    component = UploadedImage(type="filepath", image_mode=None)
    inside, outside = tmp_path / "uploads" / "x.png", tmp_path / "elsewhere.png"
    for path in (inside, outside):
        Image.fromarray(draw_strokes(1)).save(path)
    assert component.preprocess(ImageData(path=str(inside))) == str(inside.resolve())
    assert opens == []
    with pytest.raises(gr.Error, match="only uploaded files"):
        component.preprocess(ImageData(path=str(outside)))
    data = inside.read_bytes()
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert component.preprocess(ImageData(path=None, url=url)) == data  # as sent, not decoded and re-encoded
    assert opens == []
