"""A load generator for the running app, in its own process: `python -m bench.load URL FILES`.

FILES is a JSON file of [path, digit] pairs. Each of --users threads sends requests one after
the other for --seconds over the README's HTTP recipe (one kept-alive connection each):
classify, and every fifth request a flag. Prints one JSON object. `make bench` starts it
under `nice`, so that on a machine of few cores the server keeps its share of them.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import numpy as np

from bench.local_app import HttpApi


def load(url: str, files: list[tuple[str, int]], users: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    times: list[float] = []
    errors: list[str] = []
    flagged: list[str] = []

    def user(index: int) -> None:
        client = HttpApi(url)
        request = 0
        while time.monotonic() < deadline:
            path, digit = files[(index * 7 + request) % len(files)]
            start = time.perf_counter()
            try:
                if request % 5 == 4:
                    text = client.predict(path, digit, api_name="flag")
                    with lock:
                        flagged.append(text)
                else:
                    client.predict(path, api_name="classify")
                with lock:
                    times.append((time.perf_counter() - start) * 1000)
            except Exception as error:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(str(error)[:200])
            request += 1
        client.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=user, args=(index,)) for index in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - start
    figures = {f"p{p}": round(float(np.percentile(times, p)), 2) for p in (50, 95, 99)} if times else {}
    return {"users": users, "seconds": round(elapsed, 1), "requests": len(times) + len(errors),
            "per_second": round(len(times) / elapsed, 1), "errors": len(errors), "error_samples": errors[:3],
            "flagged_acknowledged": len(flagged), **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description="Load the running app's API with concurrent HTTP users.")
    parser.add_argument("url")
    parser.add_argument("files", type=Path, help="JSON list of [path, digit]")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    arguments = parser.parse_args()
    files = [(path, int(digit)) for path, digit in json.loads(arguments.files.read_text())]
    print(json.dumps(load(arguments.url, files, arguments.users, arguments.seconds)))


if __name__ == "__main__":
    main()
