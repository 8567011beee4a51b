"""The `classify` and `flag` endpoints through gradio_client and plain HTTP, against the real running app."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from helpers import stored_samples
from testing.local_app import HttpApi
from testing.renderings import draw_strokes, photo_from_mnist


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


def test_flag_saves_the_sample_into_the_feedback_folder(client, app_server, tmp_path):
    path = tmp_path / "four.png"
    Image.fromarray(draw_strokes(4, canvas=(500, 500))).save(path)
    text = client.predict(handle_file(str(path)), 9, api_name="/flag")
    assert text.startswith("Saved as a 9")
    mine = [row for row in stored_samples(app_server["feedback"]) if row["label"] == 9 and row["source"] == "api"]
    assert len(mine) == 1 and mine[0]["predicted"] == 4


@pytest.mark.parametrize("digit", [10, -1, 3.5, 0.5, -0.4, 9.4, True, "seven", "3.5", [3], None])
def test_flag_refuses_anything_but_exactly_a_digit_and_says_why(client, app_server, tmp_path, digit):
    path = tmp_path / "two.png"
    Image.fromarray(draw_strokes(2)).save(path)
    before = len(stored_samples(app_server["feedback"]))
    with pytest.raises(Exception, match="0-9") as error:
        client.predict(handle_file(str(path)), digit, api_name="/flag")
    assert "None" not in str(error.value)  # a reason, not {"error": null}
    assert len(stored_samples(app_server["feedback"])) == before


@pytest.mark.parametrize("digit, saved, drawn", [("7", 7, 2), (7.0, 7, 5), (0, 0, 8)])
def test_flag_takes_a_digit_as_a_number_or_a_string(client, app_server, tmp_path, digit, saved, drawn):
    path = tmp_path / "drawn.png"  # a drawing of its own: the same one flagged twice is kept once
    Image.fromarray(draw_strokes(drawn)).save(path)
    assert client.predict(handle_file(str(path)), digit, api_name="/flag").startswith(f"Saved as a {saved}")


def test_flag_is_listed_on_the_api_page(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/classify", "/flag", "/next_correction", "/check"}


def test_the_documented_http_route_classifies_and_reports_errors(app_server, tmp_path):
    api = HttpApi(app_server["url"])
    good, bad = tmp_path / "seven.png", tmp_path / "bad.png"
    Image.fromarray(draw_strokes(7, canvas=(800, 800))).save(good)
    bad.write_text("<html>not a picture</html>")
    try:
        assert api.predict(good, api_name="classify")["label"] == "7"
        with pytest.raises(RuntimeError, match="(?i)not an image"):
            api.predict(bad, api_name="classify")
    finally:
        api.close()


def test_a_huge_label_is_refused_without_echoing_it(client, tmp_path):
    path = tmp_path / "three.png"
    Image.fromarray(draw_strokes(3)).save(path)
    with pytest.raises(Exception, match="0-9") as error:
        client.predict(handle_file(str(path)), "7" * 5_000_000, api_name="/flag")
    assert len(str(error.value)) < 200
