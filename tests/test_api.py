"""The `classify` endpoint through gradio_client, against the real running app."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from training.synthetic import draw_strokes, photo_from_mnist


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server["url"], verbose=False)


def test_classify_is_listed_on_the_api_page(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/classify" in endpoints


def test_classify_returns_the_label_confidences(client, tmp_path, validation_digits):
    image, label = validation_digits[0][1], int(validation_digits[1][1])
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo_from_mnist(image, np.random.default_rng(2)))
    result = client.predict(handle_file(str(path)), api_name="/classify")
    assert result["label"] == str(label)
    confidences = {item["label"]: item["confidence"] for item in result["confidences"]}
    assert set(confidences) == {str(d) for d in range(10)}
    assert abs(sum(confidences.values()) - 1) < 1e-3


def test_classify_reads_a_sketch_with_transparent_background(client, tmp_path):
    path = tmp_path / "sketch.png"
    Image.fromarray(draw_strokes(3, canvas=(600, 600), box=(50, 300, 160, 240), width=12)).save(path)
    assert client.predict(handle_file(str(path)), api_name="/classify")["label"] == "3"


def test_classify_refuses_a_file_that_is_not_an_image_and_keeps_serving(client, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("<html>not a picture</html>")
    with pytest.raises(Exception, match="not an image|Not an image"):
        client.predict(handle_file(str(bad)), api_name="/classify")
    good = tmp_path / "one.png"
    Image.fromarray(draw_strokes(1)).save(good)
    assert client.predict(handle_file(str(good)), api_name="/classify")["label"] == "1"


def test_blank_image_gets_the_no_ink_message(client, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    with pytest.raises(Exception, match="No ink found"):
        client.predict(handle_file(str(blank)), api_name="/classify")
