"""Concurrent UI sessions: N gradio_client sessions asking M questions each on loopback; prints p50/p95 latency and errors.

Usage: python bench/ui_concurrency.py [--url http://127.0.0.1:7860/] [--sessions 10] [--questions 5]
Without --url it starts the app on the default index (GOVQA_DATA_DIR) on a free loopback port.
Each session's answers are checked against its own questions (a mixed-up answer counts as an error).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUESTIONS = [
    "保定2022年生产总值是多少",
    "石家庄2025年要推进哪些重点项目",
    "廊坊2023年经济社会发展的主要预期目标是什么",
    "济南2024年政府工作报告提到了哪些科技创新举措",
    "杭州2023年生产总值是多少",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app() -> tuple[str, object]:
    import ui
    from rag import Settings

    settings = Settings()
    ui.ensure_index(settings)
    app = ui.build_app(settings)
    port = free_port()
    ui.launch(app, port=port, block=False)
    return f"http://127.0.0.1:{port}/", app


def session(url: str, questions: list[str], latencies: list[float], errors: list[str]) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    except Exception as e:
        errors.append(f"connect: {e}")
        return
    for asked, q in enumerate(questions, 1):
        t0 = time.perf_counter()
        try:
            html = client.predict(q, "全部", "全部", "抽取式", api_name="/ask")
            html = html if isinstance(html, str) else str(html)
            own = [line.split("</div>")[0] for line in html.split('<div class="q">问：')[1:]]
            if own != questions[:asked]:
                errors.append(f"{q}: the session's transcript holds {own}, not its own questions")
        except Exception as e:
            errors.append(f"{q}: {e}")
            continue
        latencies.append(time.perf_counter() - t0)


def main() -> None:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running app (default: start one on a free loopback port).")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--questions", type=int, default=5)
    args = parser.parse_args()

    app = None
    url = args.url
    if url is None:
        url, app = start_app()
    latencies: list[float] = []
    errors: list[str] = []
    threads = []
    for i in range(args.sessions):
        qs = [QUESTIONS[(i + j) % len(QUESTIONS)] for j in range(args.questions)]
        threads.append(threading.Thread(target=session, args=(url, qs, latencies, errors)))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if app is not None:
        app.close()

    n = args.sessions * args.questions
    print(f"ui_concurrency: {args.sessions} sessions x {args.questions} questions = {n} asks on {url}")
    if latencies:
        lat = sorted(latencies)
        p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
        print(f"latency p50 {statistics.median(lat):.2f} s  p95 {p95:.2f} s  max {lat[-1]:.2f} s")
    print(f"answered {len(latencies)}/{n} in {wall:.1f} s wall ({len(latencies) / wall:.2f} answers/s)")
    print(f"errors {len(errors)}")
    for e in errors[:10]:
        print("  ", e)


if __name__ == "__main__":
    main()
