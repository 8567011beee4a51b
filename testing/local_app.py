"""Helpers to run the real app on a loopback port, shared by the tests and the benchmark."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import httpx

from digit.config import PROJECT_DIR, model_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url}")


@contextmanager
def running_app(folder: Path, models: Path | None = None, environment: dict[str, str] | None = None):
    """The real app (`python app.py`) on a free loopback port, with its own copy of the models
    (default: the shipped ones) and its own feedback folder in folder, and no Hub push unless
    environment sets one; yields url, feedback, models, log and process."""
    port = free_port()
    source, models, feedback = models or model_dir(), folder / "models", folder / "feedback"
    shutil.copytree(source, models)
    log_path = folder / "app.log"
    settings = {key: value for key, value in os.environ.items() if key not in ("FEEDBACK_REPO", "HF_TOKEN")}
    settings.update({"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                     "FEEDBACK_DIR": str(feedback), "MODEL_DIR": str(models), **(environment or {})})
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_DIR, env=settings,
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_up(url, process)
            yield {"url": url, "feedback": feedback, "models": models, "log": log_path, "process": process}
        finally:
            process.terminate()
            process.wait(timeout=20)


def png_data_url(png: bytes) -> str:
    """A PNG file's bytes as the data URL the one-request routes take."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def file_data(url: str) -> dict:
    """An image for a Gradio API call as a URL (a data URL: nothing to upload first)."""
    return {"url": url, "meta": {"_type": "gradio.FileData"}}


class HttpApi:
    """The app's API over plain HTTP, as README's curl recipes do it, on one kept-alive
    connection: classify in one request (POST /run/classify with the picture as a data URL);
    flag, which goes through Gradio's queue, as upload, POST /call/flag, read the result.

    gradio_client does the same work but opens a fresh connection (and TLS context) for each
    request and polls its result queue every 50 ms: ~75 ms more per call in `make bench`.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        """headers: sent with every request (e.g. X-Forwarded-For: a visitor behind the proxy)."""
        self.http = httpx.Client(base_url=url.rstrip("/") + "/gradio_api/", timeout=60, headers=headers)

    def predict(self, path: str | Path, *arguments, api_name: str):
        path, name = Path(path), api_name.strip("/")
        if name == "classify":
            answer = self.http.post("run/classify",
                                    json={"data": [file_data(png_data_url(path.read_bytes())), *arguments]}).json()
            if "error" in answer:
                raise RuntimeError(f"{api_name} failed: {answer['error']}")
            return answer["data"][0]
        uploaded = self.http.post("upload", files={"files": (path.name, path.read_bytes())})
        uploaded.raise_for_status()
        data = [{"path": uploaded.json()[0], "meta": {"_type": "gradio.FileData"}}, *arguments]
        started = self.http.post(f"call/{name}", json={"data": data})
        started.raise_for_status()
        stream = self.http.get(f"call/{name}/{started.json()['event_id']}").text
        event, payload = _last_event(stream)
        if event != "complete":
            raise RuntimeError(f"{api_name} failed: {payload}")
        return payload[0]

    def call(self, api_name: str, *arguments):
        """An endpoint that takes no file (next_correction, check), through Gradio's queue; raises RuntimeError
        with the app's message when it refuses."""
        name = api_name.strip("/")
        started = self.http.post(f"call/{name}", json={"data": list(arguments)})
        started.raise_for_status()
        event, payload = _last_event(self.http.get(f"call/{name}/{started.json()['event_id']}").text)
        if event != "complete":
            raise RuntimeError(f"{api_name} failed: {payload}")
        return payload[0]

    def close(self) -> None:
        self.http.close()


def _last_event(stream: str) -> tuple[str, object]:
    """The last server-sent event of a finished /call stream: (name, decoded data)."""
    event, data = "", None
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data = json.loads(line.removeprefix("data:").strip())
    return event, data
