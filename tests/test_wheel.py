"""The project as an installed package: build the wheel, install it into a new venv, and from an empty folder ingest
the shipped sample (and a corpus-extra CSV when present), ask, list the catalogue, and serve the UI over HTTP.

The new venv takes the heavy dependencies (torch, gradio, ...) from the environment running the tests through a
`.pth` line naming its site-packages (a plain path: the checkout's editable-install hook there is not run), so the
code that runs is the wheel's. Nothing is downloaded: the wheel is built with the setuptools already installed, and
the embedding model is the one prepared under GOVQA_MODEL_CACHE. The data dir is the platformdirs user data dir
under a temporary XDG_DATA_HOME; its embedding cache is seeded from the session's sample index (content-addressed,
so only the corpus-extra paragraphs are embedded here).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTRA_CSV = ROOT.parent / "shared" / "corpus-extra" / "2026_河北省_政府工作报告.csv"
SKIP = {".git", ".venv", "var", "build", "dist", "__pycache__", ".pytest_cache", "node_modules"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, **kw) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, encoding="utf-8", timeout=kw.pop("timeout", 900), **kw
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory, e5_data_dir):
    """(venv bin folder, environment, empty working folder, user data dir) with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=lambda d, names: [n for n in names if n in SKIP or n.endswith(".egg-info")])
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            tmp / "dist",
            src,
        ]
    )
    wheel = next((tmp / "dist").glob("govreport_qa-*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv])
    site = Path(
        _run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    )
    (site / "_heavy_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", wheel])

    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVQA_") and k not in ("PYTHONPATH", "COLUMNS")}
    env.update(XDG_DATA_HOME=str(tmp / "xdg"), GRADIO_ANALYTICS_ENABLED="False", COLUMNS="100")
    user_data = tmp / "xdg" / "govqa"
    shutil.copytree(e5_data_dir / "cache", user_data / "cache")
    work = tmp / "elsewhere"
    work.mkdir()
    return venv / "bin", env, work, user_data


@pytest.mark.slow
def test_wheel_installs_and_runs_from_another_folder(installed):
    bin_dir, env, work, user_data = installed
    where = json.loads(
        _run(
            [
                bin_dir / "python",
                "-c",
                (
                    "import json, rag, ingest, cli, ui; from rag.settings import Settings, in_checkout; s = Settings(); "
                    "print(json.dumps({'files': [m.__file__ for m in (rag, ingest, cli, ui)], 'checkout': in_checkout(), "
                    "'data': str(s.data_dir), 'reports': str(s.reports_dir), 'prompts': str(s.prompts_dir)}))"
                ),
            ],
            env=env,
            cwd=work,
        )
    )
    venv = bin_dir.parent
    assert all(Path(f).is_relative_to(venv) for f in where["files"]), where  # the wheel's code, not the checkout's
    assert where["checkout"] is False
    assert Path(where["data"]) == user_data
    reports, prompts = Path(where["reports"]), Path(where["prompts"])
    assert reports.is_relative_to(venv) and (reports / "manifest.toml").is_file()
    assert len(list(reports.glob("*.txt"))) == 5 and (prompts / "answer.txt").is_file()

    # ingest the shipped sample (and a provincial CSV of corpus-extra) with the console script
    sources = [reports] + ([EXTRA_CSV] if EXTRA_CSV.exists() else [])
    out = _run([bin_dir / "govqa", "ingest", *sources], env=env, cwd=work)
    assert "济南-2024" in out and (user_data / "index" / "CURRENT").is_file()
    ids = {row["id"] for row in json.loads(_run([bin_dir / "govqa", "catalogue", "--json"], env=env, cwd=work))}
    assert {"济南-2024", "保定-2023", "石家庄-2025"} <= ids
    if EXTRA_CSV.exists():
        assert any(i.startswith("河北") and i.endswith("2026") for i in ids), ids

    answer = json.loads(
        _run([bin_dir / "govqa", "ask", "济南2024年GDP增长目标是多少?", "--json"], env=env, cwd=work, timeout=300)
    )
    assert not answer["refused"] and "5.5%" in answer["text"]
    assert any(c["report_id"] == "济南-2024" for c in answer["citations"])
    if EXTRA_CSV.exists():
        hebei = json.loads(
            _run(
                [bin_dir / "govqa", "ask", "河北2025年地区生产总值增长多少?", "--json"], env=env, cwd=work, timeout=300
            )
        )
        assert any(c["region"] == "河北省" and c["year"] == 2026 for c in hebei["citations"]), hebei["text"]
    assert list(work.iterdir()) == []  # nothing written into the folder it ran in

    # the UI: start it, ask over HTTP, stop it
    from gradio_client import Client

    port = _free_port()
    server = subprocess.Popen(
        [str(bin_dir / "govqa"), "ui", "--port", str(port)],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the UI did not start listening"
                time.sleep(1)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, analytics_enabled=False, download_files=False)
        html = client.predict("济南2024年GDP增长目标是多少?", "全部", "全部", "抽取式", api_name="/ask")
        assert "5.5%" in str(html) and "【济南·2024·第" in str(html)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert list(work.iterdir()) == []
