"""``naswot-tui serve``: the real app in a real headless Chromium through textual-serve.

The browser is driven over the Chrome DevTools Protocol (a websocket; the
client is aiohttp, which textual-serve itself depends on): it loads the page,
waits in real time until the app's first output arrived (textual-serve marks
the page ``-first-byte``), and the app's websocket frames carry its title and
subtitle (the terminal draws on a canvas, so the DOM never holds the app's
text). A screenshot is saved beside the test's temporary files for a human
to look at, and checked to be a picture rather than a blank page.

Skipped, with the reason, when chromium or textual-serve is not installed
(CI installs both; see README "In a browser").
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
TITLE = "naswot-tui"
SUBTITLE = "neural architecture search without training"  # the app's SUB_TITLE, drawn in its header


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture
def server(tmp_path):
    pytest.importorskip("textual_serve", reason="textual-serve (the serve extra) is not installed")
    port = _free_port()
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "naswot_tui", "serve", "--port", str(port)], cwd=REPO,
                            env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    page = r.read().decode()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    pytest.fail(f"serve did not answer on {url}: {log.read()}")
                time.sleep(0.3)
        yield url, page, tmp_path / "serve.log"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and the app sessions it started
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _start_chromium(chromium: str, user_dir: Path) -> subprocess.Popen:
    return subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                             "--no-first-run", "--disable-background-networking", "--disable-component-update",
                             "--disable-sync", f"--user-data-dir={user_dir}", "--window-size=1280,800",
                             "--remote-debugging-port=0", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _browse(proc: subprocess.Popen, url: str, shot: Path, user_dir: Path, wait_s: float = 40.0) -> dict:
    """Drive the started Chromium to ``url``; wait for the app's output; screenshot. Returns what was seen."""
    import aiohttp

    port_file = user_dir / "DevToolsActivePort"
    deadline = time.time() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        assert time.time() < deadline and proc.poll() is None, "chromium did not start"
        await asyncio.sleep(0.1)
    port = port_file.read_text().split()[0]
    async with aiohttp.ClientSession() as session:
        targets = await (await session.get(f"http://127.0.0.1:{port}/json")).json()
        page = next(t for t in targets if t["type"] == "page")
        async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            counter = 0
            frames: list[bytes] = []

            async def call(method: str, **params):
                nonlocal counter
                counter += 1
                await ws.send_json({"id": counter, "method": method, "params": params})
                while True:
                    msg = await ws.receive_json(timeout=30)
                    if msg.get("method") == "Network.webSocketFrameReceived":
                        f = msg["params"]["response"]
                        frames.append(base64.b64decode(f["payloadData"]) if f["opcode"] == 2
                                      else f["payloadData"].encode())
                    if msg.get("id") == counter:
                        return msg.get("result", {})

            await call("Network.enable")
            await call("Page.enable")
            await call("Page.navigate", url=url)
            started = time.time()
            body = ""
            while time.time() - started < wait_s:
                body = (await call("Runtime.evaluate", expression="document.body ? document.body.className : ''")
                        )["result"].get("value", "")
                app_output = b"".join(frames)
                if "-first-byte" in body and SUBTITLE.encode() in app_output:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)  # let the terminal paint the last frames
            image = await call("Page.captureScreenshot", format="png")
            shot.write_bytes(base64.b64decode(image["data"]))
            return {"body_class": body, "app_output": b"".join(frames), "seconds": time.time() - started}


def test_browser_shows_the_app(server, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("aiohttp", reason="aiohttp (a textual-serve dependency) is not installed")
    url, page, _ = server
    assert url.startswith("http://127.0.0.1:")
    assert TITLE in page  # textual-serve's page, titled after the app
    (tmp_path / "chromium").mkdir()
    shot = tmp_path / "browser.png"
    browser = _start_chromium(chromium, tmp_path / "chromium")
    try:
        seen = asyncio.run(_browse(browser, url, shot, tmp_path / "chromium"))
    finally:
        browser.terminate()
        browser.wait(timeout=10)
    assert "-first-byte" in seen["body_class"], f"the app never answered the page ({seen})"
    # what the app itself sent to the browser over the websocket: its header
    assert TITLE.encode() in seen["app_output"] and SUBTITLE.encode() in seen["app_output"]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape[1] == 1280  # the window width asked for
    assert pixels.std() > 5.0  # a drawn terminal, not an empty page
    print(f"screenshot: {shot}")


def test_serve_binds_localhost_by_default(server):
    url, _, log = server
    assert f"on {url.rstrip('/')}" in log.read_text()
    assert url.startswith("http://127.0.0.1:")


def test_without_textual_serve_the_error_names_the_extra():
    code = ("import sys; sys.modules['textual_serve'] = None; sys.modules['textual_serve.server'] = None; "
            "sys.argv = ['naswot-tui'] + sys.argv[1:]; from naswot_tui.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, "serve", "--port", str(_free_port())], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ('error: serving in a browser needs textual-serve, an optional extra: '
                                   'pip install "naswot-tui[serve]"')


def test_bad_port_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "naswot_tui", "serve", "--port", "70000"], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--port must be 1-65535" in proc.stderr
