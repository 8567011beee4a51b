"""What one picture costs to read: time and peak memory per kind of upload, printed as JSON.

`python -m bench.decode_cost` makes its inputs here (nothing downloaded): a 16-bit RGBA PNG of
39.7 megapixels that compresses to ~300 KB (the file from the issue), a 12 MP JPEG photo
(4000x3000, what phones send), an 800x800 RGBA sketch PNG, and crafted ones (testing/crafted.py):
a progressive JPEG of 20,000 scans, a 1 x 39,999,999 PNG and the tallest PNG still read. Each case runs in a fresh child
process: Pillow's and OpenCV's buffers are C memory that tracemalloc does not see, so the
figure is the child's peak resident memory (VmHWM) above what it held once the modules and
the jury were loaded. "flag" is what the app does when someone reads then flags a
picture: decode once, predict, make the stored copy.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from testing.crafted import scan_bomb_jpeg, tall_png
from testing.pictures import big_png, phone_jpeg
from testing.renderings import draw_strokes


def sketch_png(path: Path) -> Path:
    """An 800x800 RGBA sketch as the browser's canvas exports it: a black 5, transparent elsewhere."""
    sketch = draw_strokes(5, canvas=(800, 800), box=(200, 150, 300, 450), width=18)
    Image.fromarray(sketch).save(path)
    return path


def largest_admitted_png(path: Path) -> Path:
    """The costliest PNG we still decode: 4000 x 4000 RGBA, 61 MB decoded (the budget is 64 MB)."""
    canvas = np.zeros((4000, 4000, 4), np.uint8)  # a black 6 on a transparent canvas
    canvas[..., 3] = np.kron(draw_strokes(6, canvas=(400, 400))[..., 3], np.ones((10, 10), np.uint8))
    Image.fromarray(canvas).save(path, compress_level=1)
    return path


def make_inputs(folder: Path) -> dict[str, Path]:
    return {"png16_40mp": big_png(folder / "png16_40mp.png"), "jpeg_12mp": phone_jpeg(folder / "jpeg_12mp.jpg"),
            "sketch_800": sketch_png(folder / "sketch_800.png"),
            "png_rgba_16mp_largest_admitted": largest_admitted_png(folder / "png_rgba_16mp.png"),
            "jpeg_scan_bomb": _written(folder / "scan_bomb.jpg", scan_bomb_jpeg()),
            "png_1x39999999": _written(folder / "tall.png", tall_png()),
            "png_1x7000000_tallest_admitted": _written(folder / "tall_admitted.png", tall_png(7_000_000))}


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- one case per child process ----------------------------------------------------------------

def _flag(path: str, decode_only: bool = False) -> str:
    """What the app does to read an upload and keep it for the feedback: decode once, normalise
    once and predict, keep the sample (its picture capped) (with decode_only: read_picture alone)."""
    from digit.reading.images import BadImage, read_picture
    from digit.page.state import model
    from digit.reading.pool import read_one

    try:
        picture = read_picture(path)
        digit = "-"
        if not decode_only:
            digit = read_one(model().classifier, picture, keep="upload")[1].digit
        return f"read as {digit} ({picture.format} {picture.original_size[0]}x{picture.original_size[1]} -> "\
               f"{picture.size[0]}x{picture.size[1]})"
    except BadImage as error:
        return f"refused: {error}"


def _memory_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def child(path: str, threads: int, repeats: int, decode_only: bool) -> dict:
    """Run one case here; memory is the peak resident size above what this process held once ready.

    Loading the jury peaks higher than it settles, so the peak is reset first (Linux: writing 5 to
    /proc/self/clear_refs sets VmHWM to the current VmRSS)."""
    from digit.page.state import model

    model()
    # First-call costs (imports, caches, each thread's malloc arena) are not the case's: warm up
    # with as many threads on a small sketch.
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(_flag, [str(Path(path).with_name("warm_up.png"))] * threads))
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    ready_kb, ready = _memory_kb("VmRSS"), resource.getrusage(resource.RUSAGE_SELF)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            outcomes = list(pool.map(lambda file: _flag(file, decode_only), [path] * threads))
        times.append(time.perf_counter() - start)
    done = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (done.ru_utime + done.ru_stime - ready.ru_utime - ready.ru_stime) / repeats
    return {"seconds": round(float(np.median(times)), 4), "cpu_seconds": round(cpu, 4),
            "peak_extra_mb": round((_memory_kb("VmHWM") - ready_kb) / 1024, 1), "outcome": outcomes[0]}


def run_case(path: Path, threads: int = 1, repeats: int = 3, decode_only: bool = False) -> dict:
    result = subprocess.run([sys.executable, "-m", "bench.decode_cost", "--child", str(path), str(threads),
                             str(repeats), "decode" if decode_only else "flag"], capture_output=True, text=True,
                            timeout=600)
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def sketch_latency(path: Path, repeats: int = 200) -> dict:
    """normalize of an 800x800 RGBA sketch, in milliseconds: as the Sketchpad sends it (an array),
    and as a PNG file (decoded by read_picture first)."""
    from digit.reading.images import read_picture
    from digit.reading.preprocess import normalize

    array = np.asarray(Image.open(path))
    figures = {}
    for name, work in (("array_ms", lambda: normalize(array)), ("png_file_ms", lambda: normalize(read_picture(path)))):
        work()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            times.append((time.perf_counter() - start) * 1000)
        figures[name] = round(float(np.median(times)), 2)
    return figures


def app_at_once(path: Path, clients: int, folder: Path) -> dict:
    """clients uploads of one file to the running app's /classify at once; the app's peak memory growth."""
    from testing.local_app import HttpApi, running_app

    with running_app(folder / "app") as app:
        status = Path(f"/proc/{app['process'].pid}/status")

        def peak_kb(field: str = "VmHWM") -> int:
            return next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith(field))

        warm = HttpApi(app["url"])
        try:
            warm.predict(path.with_name("warm_up.png"), api_name="classify")
        finally:
            warm.close()
        Path(f"/proc/{app['process'].pid}/clear_refs").write_text("5")  # peak := now (Linux)
        ready = peak_kb("VmRSS")

        def call(_: int) -> str:
            api = HttpApi(app["url"])
            try:
                return f"read as {api.predict(path, api_name='classify')['label']}"
            except RuntimeError as error:
                return f"refused: {error}"
            finally:
                api.close()

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            outcomes = list(pool.map(call, range(clients)))
        seconds = time.perf_counter() - start
        return {"seconds": round(seconds, 3), "peak_extra_mb": round((peak_kb() - ready) / 1024, 1),
                "outcome": outcomes[0][:160]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("PATH", "THREADS", "REPEATS", "OP"), help=argparse.SUPPRESS)
    parser.add_argument("--app", action="store_true", help="also send 12 of the 40 MP PNGs to the running app at once")
    arguments = parser.parse_args(argv)
    if arguments.child:
        path, threads, repeats, operation = arguments.child
        print(json.dumps(child(path, int(threads), int(repeats), operation == "decode")))
        return
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        inputs = make_inputs(folder)
        Image.fromarray(draw_strokes(4)).save(folder / "warm_up.png")
        from digit.reading.images import decoded_bytes

        cases = {}
        for key, path in inputs.items():
            with Image.open(path) as image:
                estimate = decoded_bytes(image)
            cases[key] = {"file_kb": round(path.stat().st_size / 1024),
                          "estimated_decode_mb": round(estimate / 2**20, 1),
                          "decode": run_case(path, decode_only=True), "flag": run_case(path)}
        cases["png16_40mp_x12_threads"] = run_case(inputs["png16_40mp"], threads=12, repeats=1)
        cases["jpeg_12mp_x12_threads"] = run_case(inputs["jpeg_12mp"], threads=12, repeats=1)
        cases["png_rgba_16mp_largest_admitted_x12_threads"] = run_case(inputs["png_rgba_16mp_largest_admitted"],
                                                                        threads=12, repeats=1)
        if arguments.app:
            cases["png16_40mp_x12_app_clients"] = app_at_once(inputs["png16_40mp"], 12, folder)
        report = {"what": "per upload, in a fresh process: decode = read_picture; flag = what the app does to read "
                          "then keep it for the feedback (read_picture once, then read_one: normalise, predict, "
                          "keep the sample); peak_extra_mb = growth of the peak resident memory (VmHWM), C buffers included; seconds = median wall time, "
                          "cpu_seconds = CPU time per run (less sensitive to a busy machine)",
                  "cases": cases, "sketch_normalize": sketch_latency(inputs["sketch_800"]),
                  "targets": {"png16_40mp": "refused or read in < 0.3 s and < 300 MB extra",
                              "jpeg_scan_bomb, png_1x39999999": "refused in <= 0.5 s, or read with a peak <= 450 MB",
                              "png16_40mp_x12": "< 1 GB", "sketch_normalize": "~3 ms, no worse than before"}}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
