"""Hostile visitors beside a normal one, a killed reader, and the app's cold start.

`make bench` calls `rows(folder, seconds)`; each attack runs as `python -m bench.hostile ATTACK URL
--seconds N` in a niced process of its own (the server keeps its share of the cores), which plays
one normal visitor (a reading in one request, then a stroke of the pad, one every 0.5 s) beside:

- slow: 2 clients that announce a 1,000-byte body and send one byte of it every 2 s, on the one-request
        route and the pad's stroke event in turn (each refused body is followed by another);
- bomb: 2 clients that send a progressive JPEG of 20,000 scans (testing/crafted.py, ~1 MB that
        libjpeg takes ~20 s to decode) to classify as fast as they are answered.

Every client has its own X-Forwarded-For (the app runs with PROXY_HOPS=1, as behind the Hub's proxy).
`refill` kills a reading worker and times the pool's return to DIGIT_CONCURRENCY workers;
`cold_start` times a fresh `python app.py` to its page and its first reading, and where the
seconds go (what the imports alone take, each in a fresh interpreter).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image

from bench.load import PAD_STROKES, Connection, Tally, run, stroke_event
from digit.config import PROJECT_DIR, concurrency, model_dir
from testing.crafted import scan_bomb_jpeg
from testing.local_app import file_data, free_port, png_data_url, running_app
from testing.renderings import draw_strokes

ATTACKERS = 2


def pad_drawing(picture: str) -> dict:
    """What the pad sends after a stroke (digit/reading/pad.py): its picture, strokes and browser id."""
    return {"image": picture, "strokes": PAD_STROKES, "browser": "0" * 32}


def _picture_urls() -> list[str]:
    """A PNG data URL of each digit drawn as on the pad (black on transparent)."""
    urls = []
    for digit in range(10):
        buffer = io.BytesIO()
        Image.fromarray(draw_strokes(digit, canvas=(256, 256))).save(buffer, format="PNG")
        urls.append(png_data_url(buffer.getvalue()))
    return urls


def normal_visitor(url: str, deadline: float, readings: Tally, strokes: Tally) -> None:
    """One person: a reading in one request, then a stroke on the pad, one every 0.5 s."""
    pictures, fn_index = _picture_urls(), stroke_event(url)
    connection = Connection(url, "192.0.2.1")
    turn = 0
    while time.monotonic() < deadline:
        due = time.monotonic() + 0.5
        picture = pictures[turn % len(pictures)]
        if turn % 2:
            path, tally = "gradio_api/run/predict", strokes
            body = {"data": [pad_drawing(picture)], "fn_index": fn_index, "trigger_id": None,
                    "session_hash": "normalvisitor"}
        else:
            path, tally, body = "gradio_api/run/classify", readings, {"data": [file_data(picture)]}
        started = time.perf_counter()
        try:
            status, text = connection.post(path, json.dumps(body).encode())
            answer = json.loads(text)
            ok = status == 200 and "error" not in answer and str(answer["data"][0]).lstrip("#").strip()[:1] in (
                "{", *"0123456789")
            tally.add(started, "ok" if ok else f"http {status}", None if ok else text.decode(errors="replace"))
        except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
            tally.add(started, "connection", repr(error))
        turn += 1
        time.sleep(max(due - time.monotonic(), 0))
    connection.close()


def slow_client(url: str, index: int, deadline: float, outcomes: Tally) -> None:
    """Announce a 1,000-byte body and trickle it a byte every 2 s; when refused, start again."""
    parts = urlsplit(url)
    routes = ("gradio_api/run/classify", "gradio_api/run/predict")
    attempt = 0
    while time.monotonic() < deadline:
        route = routes[attempt % 2]
        started = time.perf_counter()
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
                connection.settimeout(2)
                connection.sendall(f"POST /{route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   f"X-Forwarded-For: 198.51.100.{index + 1}\r\nContent-Length: 1000\r\n\r\n{{"
                                   .encode())
                answer = b""
                while time.monotonic() < deadline and not answer:
                    try:
                        answer = connection.recv(4096)
                        break
                    except TimeoutError:
                        connection.sendall(b" ")  # the next byte, ~2 s (the timeout) after the last
                if answer:
                    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "?"
                    outcomes.add(started, "ok" if status == "408" else f"http {status}")
        except OSError as error:
            outcomes.add(started, "connection", repr(error))
        attempt += 1


def bomb_client(url: str, index: int, deadline: float, outcomes: Tally) -> None:
    """Send the scan bomb to classify as fast as it is answered; "ok" is a refusal that says why."""
    body = json.dumps({"data": [file_data("data:image/jpeg;base64," + base64.b64encode(scan_bomb_jpeg()).decode())]}).encode()
    connection = Connection(url, f"198.51.100.{index + 1}")
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            status, text = connection.post("gradio_api/run/classify", body)
            refused = b"would take too long to decode" in text
            outcomes.add(started, "ok" if refused else f"http {status}", None if refused else text.decode()[:200])
        except (OSError, http.client.HTTPException) as error:
            outcomes.add(started, "connection", repr(error))
    connection.close()


def attack(url: str, kind: str, seconds: float) -> dict:
    readings, strokes, attackers = Tally(), Tally(), Tally()
    deadline = time.monotonic() + seconds
    hostile = {"slow": slow_client, "bomb": bomb_client}[kind]
    threads = [threading.Thread(target=normal_visitor, args=(url, deadline, readings, strokes))]
    threads += [threading.Thread(target=hostile, args=(url, index, deadline, attackers)) for index in range(ATTACKERS)]
    elapsed = run(threads, seconds)
    return {"attack": kind, "attackers": ATTACKERS, "seconds": round(elapsed, 1), "readings": readings.report(elapsed),
            "strokes": strokes.report(elapsed), "refused": attackers.report(elapsed)}


# -- run by make bench: the app, the attacks in a niced process, a killed worker, a cold start ----------

def rows(folder: Path, seconds: float) -> dict:
    """Both attacks (30 s of slow bodies, 45 s of scan bombs at full length) against one fresh app,
    then a killed worker; and a cold start."""
    report = {}
    with running_app(folder / "app", environment={"PROXY_HOPS": "1"}) as app:
        for kind, share in (("slow", 0.5), ("bomb", 0.75)):
            result = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "bench.hostile", kind, app["url"],
                                     "--seconds", str(seconds * share)], cwd=PROJECT_DIR, capture_output=True,
                                    text=True, timeout=3 * seconds + 300, check=True)
            report[f"attack_{kind}"] = json.loads(result.stdout.strip().splitlines()[-1])
        report["refill"] = refill(app)
    report["cold_start"] = cold_start(folder / "cold")
    return report


def _children(pid: int) -> dict[int, float]:
    """The reading workers of the server `pid`: process id -> CPU seconds used so far."""
    workers = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == pid and b"digit.reading.pool" in command and stat[0] != "Z":
            workers[int(entry.name)] = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return workers


def refill(app: dict) -> dict:
    """Kill one reading worker; the seconds until the pool holds DIGIT_CONCURRENCY live workers again
    (back) and until the new one has finished starting (ready: its CPU time stops growing for 0.3 s)."""
    pid, size = app["process"].pid, concurrency()
    before = _children(pid)
    victim = min(before)
    killed = time.perf_counter()
    os.kill(victim, signal.SIGKILL)
    back = ready = None
    last_cpu, still_since = None, None
    while time.perf_counter() - killed < 60 and ready is None:
        workers = _children(pid)
        new = [worker for worker in workers if worker not in before]
        if back is None and len(workers) == size and victim not in workers:
            back = time.perf_counter() - killed
        if new:
            cpu = workers[new[0]]
            if cpu != last_cpu:
                last_cpu, still_since = cpu, time.perf_counter()
            elif time.perf_counter() - still_since >= 0.3:
                ready = still_since - killed
        time.sleep(0.02)
    with httpx.Client(base_url=app["url"], timeout=30) as http:
        answer = http.post("gradio_api/run/classify", json={"data": [file_data(_picture_urls()[3])]})
    return {"workers": size, "back_seconds": _round(back), "ready_seconds": _round(ready),
            "reading_after": answer.json().get("data", [{}])[0].get("label") if answer.status_code == 200 else None}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def cold_start(folder: Path) -> dict:
    """Launch `python app.py` and time its page and first reading; then a stroke right away and
    later ones, and the memory of the server and its workers at rest; and, each in a fresh
    interpreter, what importing gradio, scikit-learn with skops, and the whole page take."""
    folder.mkdir(parents=True, exist_ok=True)
    models = folder / "models"
    shutil.copytree(model_dir(), models)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    settings = {**{k: v for k, v in os.environ.items() if k not in ("FEEDBACK_REPO", "HF_TOKEN")},
                "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                "FEEDBACK_DIR": str(folder / "feedback"), "MODEL_DIR": str(models)}
    picture = _picture_urls()[7]
    report: dict = {}
    with open(folder / "app.log", "w") as log:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_DIR, env=settings, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                report["page_seconds"] = round(_until(lambda: http.get("").status_code == 200, process) - started, 2)
                body = {"data": [file_data(picture)]}
                report["first_reading_seconds"] = round(_until(
                    lambda: http.post("gradio_api/run/classify", json=body).status_code == 200, process) - started, 2)
                fn_index = stroke_event(url)
                strokes = []
                for index in range(6):
                    stroke = {"data": [pad_drawing(picture)], "fn_index": fn_index, "trigger_id": None,
                              "session_hash": "cold"}
                    begun = time.perf_counter()
                    http.post("gradio_api/run/predict", json=stroke).raise_for_status()
                    strokes.append(round((time.perf_counter() - begun) * 1000, 1))
                report["first_stroke_ms"], report["later_strokes_ms"] = strokes[0], strokes[1:]
            time.sleep(5)
            report["memory_at_rest_mb"] = _memory_mb([process.pid, *_children(process.pid)])
        finally:
            process.terminate()
            process.wait(timeout=30)
    imports = {"gradio": "import gradio", "sklearn_skops": "import sklearn, skops.io", "page": "import app"}
    for name, statement in imports.items():
        begun = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], cwd=PROJECT_DIR, env=settings, check=True,
                       capture_output=True)
        report[f"import_{name}_seconds"] = round(time.perf_counter() - begun, 2)
    return report


def _until(ready, process: subprocess.Popen, seconds: float = 180) -> float:
    """Poll ready() every 50 ms until it is true; the moment it was."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}")
        try:
            if ready():
                return time.perf_counter()
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError("the app did not answer")


def _memory_mb(pids: list[int]) -> dict:
    sizes = {}
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            sizes[pid] = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    server = sizes.pop(pids[0])
    return {"server": round(server), "workers": [round(size) for size in sizes.values()],
            "total": round(server + sum(sizes.values()))}


def table_rows(report: dict) -> list[tuple[str, str, str]]:
    """The README rows of rows()'s report."""
    rows_ = []
    for kind, what in (("slow", "2 slow-body clients (a byte every 2 s)"), ("bomb", "2 clients sending a scan-bomb JPEG")):
        attack_ = report[f"attack_{kind}"]
        readings, strokes, refused = attack_["readings"], attack_["strokes"], attack_["refused"]
        rows_.append((f"a normal visitor beside {what}, {attack_['seconds']:.0f} s",
                      f"readings p95 {readings.get('p95')} ms, {readings['errors']} errors of {readings['requests']}; "
                      f"strokes p95 {strokes.get('p95')} ms, {strokes['errors']} errors of {strokes['requests']}; "
                      f"attacks refused {refused['outcomes'].get('ok', 0)} of {refused['requests']}, "
                      f"p50 {refused.get('p50')} ms, p99 {refused.get('p99')} ms",
                      "0 errors, p95 <= 300 ms" + ("; refused <= 0.5 s" if kind == "bomb" else "")))
    refill_ = report["refill"]
    rows_.append((f"a reading worker killed: the pool back to {refill_['workers']} workers",
                  f"{refill_['back_seconds']} s (started), {refill_['ready_seconds']} s (ready)", "<= 5 s"))
    cold = report["cold_start"]
    rows_.append(("cold start: launch to the page, to the first reading",
                  f"{cold['page_seconds']} s, {cold['first_reading_seconds']} s (imports alone: gradio "
                  f"{cold['import_gradio_seconds']} s, scikit-learn+skops {cold['import_sklearn_skops_seconds']} s, "
                  f"the page {cold['import_page_seconds']} s); first stroke {cold['first_stroke_ms']} ms, later "
                  f"{min(cold['later_strokes_ms'])}-{max(cold['later_strokes_ms'])} ms; at rest "
                  f"{cold['memory_at_rest_mb']['total']} MB", "<= 7 s"))
    return rows_


def main() -> None:
    parser = argparse.ArgumentParser(description="A normal visitor beside hostile clients (prints one JSON object).")
    parser.add_argument("attack", choices=("slow", "bomb"))
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=30)
    arguments = parser.parse_args()
    print(json.dumps(attack(arguments.url, arguments.attack, arguments.seconds)))


if __name__ == "__main__":
    main()
