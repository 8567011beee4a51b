"""Load generators for the running app, each in its own process: `python -m bench.load SCENARIO URL FILES`.

FILES is a JSON file of [path, digit] pairs (PNG pictures). Every simulated client keeps one
connection and sends its own X-Forwarded-For, as the Hub's proxy would for separate visitors
(the app under test runs with PROXY_HOPS=1). Prints one JSON object. `make bench` starts it
under `nice`, so that on a machine of few cores the server keeps its share of them.

- api:   --users clients call classify in one request (POST /gradio_api/run/classify, a data URL)
         one after the other for --seconds.
- pad:   --visitors replay the page's own stroke event (POST /gradio_api/run/predict with the
         pad's value: its PNG data URL and strokes; fn_index and session, as the browser sends it), one stroke every
         2 s each (jittered), beside --users api clients.
- flood: --users api clients as above for --seconds undisturbed, then the same again beside one
         client that sends classify and flag as fast as it can from one address.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import string
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

from testing.local_app import file_data, png_data_url


# What the pad sends beside its picture (digit/reading/pad.py): a digit's strokes, ~70 points as a mouse draws them.
PAD_STROKES = [[list(range(250, 320, 2)), [150] * 35, list(range(0, 350, 10))],
               [[320 - step for step in range(0, 70, 2)], list(range(150, 290, 4)), list(range(500, 850, 10))]]


class Tally:
    """Latencies and outcomes of many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.statuses: dict[str, int] = {}
        self.errors: list[str] = []

    def add(self, started: float, outcome: str, error: str | None = None) -> None:
        with self.lock:
            if outcome == "ok":
                self.times.append((time.perf_counter() - started) * 1000)
            self.statuses[outcome] = self.statuses.get(outcome, 0) + 1
            if error:
                self.errors.append(error[:200])

    def report(self, seconds: float) -> dict:
        figures = {f"p{p}": round(float(np.percentile(self.times, p)), 1) for p in (50, 95, 99)} if self.times else {}
        errors = sum(count for outcome, count in self.statuses.items() if outcome not in ("ok", "limited"))
        return {"requests": sum(self.statuses.values()), "per_second": round(len(self.times) / seconds, 1),
                "errors": errors, "outcomes": self.statuses, "error_samples": self.errors[:3], **figures}


class Connection:
    """One kept-alive HTTP connection of one simulated client, on the standard library's
    http.client: the generator shares the server's cores, and httpx spent ~5 ms of Python a
    request (half a core at 100 requests/s) that a real client would spend on its own machine."""

    def __init__(self, url: str, address: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
        self.http = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.retry_after = 1.0  # what the last answer said to wait, when it refused

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            self.http.request("POST", "/" + path, body, self.headers)
            answer = self.http.getresponse()
            self.retry_after = float(answer.getheader("Retry-After") or 1)
            return answer.status, answer.read()
        except (OSError, http.client.HTTPException):
            self.http.close()  # a fresh connection for the next request
            self.http = http.client.HTTPConnection(self.host, self.port, timeout=30)
            raise

    def close(self) -> None:
        self.http.close()


def _outcome(status: int, text: bytes) -> tuple[str, str | None]:
    if status == 200 and b'"error"' not in text[:20]:
        return "ok", None
    return f"http {status}", text.decode(errors="replace")


def classify_bodies(urls: list[str]) -> list[bytes]:
    """The one-request classify body for each picture, encoded once."""
    return [json.dumps({"data": [file_data(url)]}).encode() for url in urls]


def api_client(url: str, bodies: list[bytes], address: str, deadline: float, tally: Tally) -> None:
    connection = Connection(url, address)
    request = 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            status, text = connection.post("gradio_api/run/classify", bodies[request % len(bodies)])
            if status == 429:  # over the visitor's limit: a client waits as told, as a person's browser would
                tally.add(started, "limited")
                time.sleep(connection.retry_after)
            else:
                tally.add(started, *_outcome(status, text))
        except (OSError, http.client.HTTPException) as error:
            tally.add(started, "connection", repr(error))
        request += 1
    connection.close()


def stroke_event(url: str) -> int:
    """The fn_index of the pad's change event, from the app's config (as the browser finds it)."""
    config = httpx.get(url.rstrip("/") + "/config", timeout=30).json()
    pad = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "sketchpad")
    return next(dep["id"] for dep in config["dependencies"] if [pad, "change"] in dep["targets"])


def pad_visitor(url: str, files: list[str], address: str, fn_index: int, deadline: float, tally: Tally,
                rng: random.Random) -> None:
    session = "".join(rng.choices(string.ascii_lowercase + string.digits, k=11))
    browser = "".join(rng.choices("0123456789abcdef", k=32))
    connection = Connection(url, address)
    time.sleep(rng.uniform(0, 2))  # visitors do not start in step
    stroke = 0
    while time.monotonic() < deadline:
        due = time.monotonic() + rng.uniform(1.5, 2.5)
        drawing = {"image": files[stroke % len(files)], "strokes": PAD_STROKES, "browser": browser}
        body = json.dumps({"data": [drawing], "fn_index": fn_index, "trigger_id": None,
                           "session_hash": session}).encode()
        started = time.perf_counter()
        try:
            status, text = connection.post("gradio_api/run/predict", body)
            ok = status == 200 and str(json.loads(text)["data"][0]).lstrip("#").strip()[:1].isdigit()
            tally.add(started, "ok" if ok else f"http {status}", None if ok else text.decode(errors="replace"))
        except (OSError, http.client.HTTPException) as error:
            tally.add(started, "connection", repr(error))
        stroke += 1
        time.sleep(max(due - time.monotonic(), 0))
    connection.close()


def flooder(url: str, files: list[tuple[str, int]], deadline: float, result: dict) -> None:
    """One address sending classify (one request) and flag (Gradio's /call) as fast as it can."""
    counts = {"classify_ok": 0, "classify_limited": 0, "classify_other": 0, "flag_saved": 0, "flag_refused": 0}
    with httpx.Client(base_url=url, timeout=30, headers={"X-Forwarded-For": "198.51.100.66"}) as http:
        request = 0
        while time.monotonic() < deadline:
            path, digit = files[request % len(files)]
            try:
                if request % 2:
                    started = http.post("gradio_api/call/flag", json={"data": [file_data(path), digit]}).json()
                    stream = http.get(f"gradio_api/call/flag/{started['event_id']}").text
                    counts["flag_saved" if "Saved as a" in stream else "flag_refused"] += 1
                else:
                    answer = http.post("gradio_api/run/classify", json={"data": [file_data(path)]})
                    key = {200: "classify_ok", 429: "classify_limited"}.get(answer.status_code, "classify_other")
                    counts[key] += 1
            except (httpx.HTTPError, KeyError, ValueError):
                counts["classify_other"] += 1
            request += 1
    result.update(counts)


def run(threads: list[threading.Thread], seconds: float) -> float:
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return time.perf_counter() - started


def api_scenario(url: str, files: list[str], users: int, seconds: float, flood: list | None = None) -> dict:
    tally, result, bodies = Tally(), {}, classify_bodies(files)
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=api_client, args=(url, bodies, f"203.0.113.{index + 1}", deadline, tally))
               for index in range(users)]
    if flood is not None:
        threads.append(threading.Thread(target=flooder, args=(url, flood, deadline, result)))
    return {"users": users, "seconds": round(run(threads, seconds), 1), **tally.report(seconds),
            **({"flooder": result} if flood is not None else {})}


def pad_scenario(url: str, files: list[str], visitors: int, users: int, seconds: float) -> dict:
    strokes, api = Tally(), Tally()
    deadline = time.monotonic() + seconds
    fn_index = stroke_event(url)
    threads = [threading.Thread(target=pad_visitor, args=(url, files, f"192.0.2.{index + 1}", fn_index, deadline,
                                                          strokes, random.Random(index)))
               for index in range(visitors)]
    threads += [threading.Thread(target=api_client, args=(url, classify_bodies(files), f"203.0.113.{index + 1}", deadline, api))
                for index in range(users)]
    elapsed = run(threads, seconds)
    return {"visitors": visitors, "api_users": users, "seconds": round(elapsed, 1),
            "strokes": strokes.report(elapsed), "api": api.report(elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Load the running app with simulated visitors and API clients.")
    parser.add_argument("scenario", choices=("api", "pad", "flood"))
    parser.add_argument("url")
    parser.add_argument("files", type=Path, help="JSON list of [path, digit] (PNG pictures)")
    parser.add_argument("--users", type=int, default=16, help="API clients")
    parser.add_argument("--visitors", type=int, default=40, help="visitors drawing (pad)")
    parser.add_argument("--seconds", type=float, default=60)
    arguments = parser.parse_args()
    pairs = [(path, int(digit)) for path, digit in json.loads(arguments.files.read_text())]
    urls = [png_data_url(Path(path).read_bytes()) for path, _ in pairs]
    if arguments.scenario == "api":
        report = api_scenario(arguments.url, urls, arguments.users, arguments.seconds)
    elif arguments.scenario == "pad":
        report = pad_scenario(arguments.url, urls, arguments.visitors, arguments.users, arguments.seconds)
    else:
        flood = [(url, digit) for url, (_, digit) in zip(urls, pairs)]
        report = {"undisturbed": api_scenario(arguments.url, urls, arguments.users, arguments.seconds),
                  "flooded": api_scenario(arguments.url, urls, arguments.users, arguments.seconds, flood)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
