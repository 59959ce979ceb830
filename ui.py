"""The Gradio web UI: chat with clickable citations, the corpus catalogue and reader, uploads, the latest eval run.

Run `python ui.py` (or `govqa ui`): it serves on 127.0.0.1:7860 with no share link and no outside
requests (GRADIO_ANALYTICS_ENABLED is set to False before gradio is imported). Everything shown that
comes from a report is HTML-escaped.
"""

import html
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ingest.errors import GovQAError
from rag import Answer, Assistant, Citation, Settings
from rag.settings import load_settings

UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".csv"]
ALL = "全部"
ANSWERERS = {"抽取式": "extractive", "LLM": "llm"}
MARK = re.compile(r"【[^【】\n]{1,40}?·\d{4}·第\d+段】")
NO_EVAL = "尚无评测结果，运行 govqa eval run"
CATALOGUE_COLUMNS = [
    ("id", "编号"),
    ("region", "地区"),
    ("year", "年份"),
    ("level", "级别"),
    ("province", "省份"),
    ("paragraphs", "段落数"),
    ("chars", "字数"),
    ("warnings", "提示"),
]

CSS = """
.turn { margin: 0 0 1em 0; }
.turn .q { font-weight: 600; margin-bottom: .3em; }
.turn .a { white-space: pre-wrap; line-height: 1.7; }
.turn.refused .a { color: #9a3412; }
button.cite { border: none; background: #e0ecff; color: #1d4ed8; border-radius: 4px; padding: 0 .2em;
              cursor: pointer; font: inherit; }
button.cite:hover { background: #bfd6ff; }
.notes, .unsupported, .related { font-size: .92em; margin-top: .4em; }
.unsupported { color: #b91c1c; }
.notes { color: #92400e; }
.para-panel .meta { font-weight: 600; }
.para-panel .section { color: #555; font-size: .9em; }
.para-panel .ctx { color: #666; font-size: .92em; }
.para-panel .cited { border-left: 3px solid #1d4ed8; padding-left: .5em; }
.para-panel mark { background: #fde68a; }
.reader p { margin: .3em 0; }
.reader .num { color: #1d4ed8; font-weight: 600; margin-right: .4em; }
.reader .heading { font-weight: 700; }
"""

# One delegated listener on the transcript: a click on a citation button sends its turn and ref numbers.
CITE_JS = """
element.addEventListener('click', (e) => {
  const b = e.target.closest('button.cite');
  if (b) trigger('click', {turn: Number(b.dataset.turn), ref: Number(b.dataset.ref),
                           seg: Number(b.dataset.seg ?? -1)});
});
"""


def escape(text: str) -> str:
    """HTML-escape report or user text; also `$ { }` so gradio's HTML templates never interpret it."""
    return html.escape(str(text), quote=True).replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


# --- the shared assistant ---------------------------------------------------------------------------------
@dataclass
class Live:
    """The Assistant every session reads; an upload swaps in a new one by a single assignment under the lock."""

    assistant: Assistant
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ingest(self, paths: list[Path], replace: bool = False):
        """Ingest files into the corpus and index; on success swap in an Assistant on the new index.

        A failure raises and leaves the current index and Assistant as they were. Uploads of this process
        take turns (the thread lock); when another process (a CLI ingest) is writing to the data dir, the
        upload fails at once with BusyError rather than hanging the request.
        """
        from rag.index.build import update
        from rag.index.store import load_index

        with self.lock:
            old = self.assistant
            result = update(
                old.settings,
                paths,
                progress=True,
                embedder=old.embedder,
                replace=replace,
                wait=False,
                time_limit=old.settings.max_upload_seconds,
                time_limit_setting="GOVQA_MAX_UPLOAD_SECONDS",
            )
            if result.generation is not None:
                index = load_index(old.settings.index_dir)
                self.assistant = Assistant(index, old.settings, old.embedder, old.llm)
            return result


def ensure_index(settings: Settings) -> None:
    """Build the index from settings.reports_dir when there is none yet."""
    from rag.index.build import update

    if not (settings.index_dir / "CURRENT").exists():
        print(f"no index under {settings.index_dir}: ingesting {settings.reports_dir} first")
        update(settings, [settings.reports_dir], progress=True, on_wait=print)


# --- chat -------------------------------------------------------------------------------------------------
def refs(answer: Answer) -> list[Citation]:
    """What a turn's buttons open: the citations, then the related paragraphs shown with a refusal."""
    return list(answer.citations) + [Citation.from_hit(h) for h in answer.related]


def _marked(text: str, turn: int, marks: dict[str, int]) -> str:
    """Escaped text with each known citation mark turned into a button (carrying its turn, ref and position)."""
    out, last = [], 0
    for seg, m in enumerate(MARK.finditer(text)):
        out.append(escape(text[last : m.start()]))
        mark = m.group(0)
        if mark in marks:
            out.append(
                f'<button class="cite" data-turn="{turn}" data-ref="{marks[mark]}" data-seg="{seg}" '
                f'title="查看引用段落">{escape(mark)}</button>'
            )
        else:
            out.append(f'<span class="mark">{escape(mark)}</span>')
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


def claim_before(text: str, seg: int) -> str:
    """The answer text a mark (the seg-th mark of `text`) stands behind: back to the previous mark or colon."""
    marks = list(MARK.finditer(text))
    if not 0 <= seg < len(marks):
        return ""
    start = marks[seg - 1].end() if seg > 0 else 0
    claim = text[start : marks[seg].start()]
    return claim.rsplit("：", 1)[-1].strip()


def support(paragraph: str, claim: str, quote: str) -> str:
    """The span of `paragraph` to highlight: the claim itself when quoted verbatim, else the citation's quote."""
    for candidate in (claim, claim.rstrip("。；;，,")):
        if len(candidate) >= 4 and candidate in paragraph:
            return candidate
    return quote if quote and quote in paragraph else ""


def render_turn(turn: int, question: str, text: str, answer: Answer | None) -> str:
    """One question and its answer (streaming text while `answer` is None)."""
    cls = "turn refused" if answer is not None and answer.refused else "turn"
    marks = {c.mark: i for i, c in enumerate(refs(answer))} if answer is not None else {}
    parts = [
        f'<div class="{cls}" data-turn="{turn}"><div class="q">问：{escape(question)}</div>',
        f'<div class="a">{"【拒答】" if answer is not None and answer.refused else ""}'
        f"{_marked(text, turn, marks)}</div>",
    ]
    if answer is not None:
        notes = [n for n in answer.notes if n not in text]
        if notes:
            parts.append('<div class="notes">注：' + "；".join(escape(n) for n in notes) + "</div>")
        if answer.unsupported:  # counted, not shown: unchecked model text may hold a wrong figure or a link
            parts.append(f'<div class="unsupported">未通过核验，已删除 {len(answer.unsupported)} 句。</div>')
        if answer.refused and answer.related:
            n = len(answer.citations)
            parts.append(
                '<div class="related">相关段落：'
                + " ".join(
                    f'<button class="cite" data-turn="{turn}" data-ref="{n + i}">{escape(h.mark)}</button>'
                    for i, h in enumerate(answer.related)
                )
                + "</div>"
            )
    parts.append("</div>")
    return "".join(parts)


def render_transcript(turns: list[dict]) -> str:
    if not turns:
        return '<div class="transcript empty">请输入问题，例如：保定2022年生产总值是多少？</div>'
    body = "".join(render_turn(i, t["question"], t["text"], t["answer"]) for i, t in enumerate(turns))
    return f'<div class="transcript">{body}</div>'


def _choice(value):
    return None if value in (None, "", ALL) else value


def respond(live: Live, question: str, region, year, answerer, turns: list[dict]) -> Iterator[tuple[str, list[dict]]]:
    """Stream one answer into this session's turns; yields (transcript HTML, turns) after each piece."""
    question = (question or "").strip()
    turns = list(turns or [])
    if not question:
        yield render_transcript(turns), turns
        return
    turn: dict[str, Any] = {"question": question, "text": "", "answer": None}
    turns.append(turn)
    assistant = live.assistant  # one read of the shared reference: the whole answer uses one index
    try:
        year = _choice(year)
        stream = assistant.ask(
            question,
            region=_choice(region),
            year=int(year) if year else None,
            stream=True,
            answerer=ANSWERERS.get(answerer),
        )
        for piece in stream:
            turn["text"] += piece
            yield render_transcript(turns), turns
        answer = stream.result()
        turn["text"], turn["answer"] = answer.text, answer
    except GovQAError as e:
        turn["text"] = f"出错：{e.message}" + (f"（修复：{e.fix}）" if e.fix else "")
        turn["answer"] = Answer(question, turn["text"], refused=True)
    except Exception as e:  # an unexpected failure costs this answer, never the session's turns
        logging.getLogger(__name__).exception("answering %r failed", question)
        turn["text"] = f"出错：回答时发生意外错误（{type(e).__name__}），请重试；详情见服务日志。"
        turn["answer"] = Answer(question, turn["text"], refused=True)
    yield render_transcript(turns), turns


def render_paragraph(assistant: Assistant, cite: Citation, claim: str = "") -> str:
    """The cited paragraph with its place in the report, the supporting span highlighted, and its neighbours."""
    text, before, after = cite.text, None, None
    try:
        report = assistant.report(cite.report_id)
        if 1 <= cite.paragraph <= len(report.paragraphs):
            text = report.paragraph(cite.paragraph).text
            before = report.paragraph(cite.paragraph - 1) if cite.paragraph > 1 else None
            after = report.paragraph(cite.paragraph + 1) if cite.paragraph < len(report.paragraphs) else None
    except KeyError:
        pass  # the report was replaced since the answer was given: show the text the answer cited
    body = escape(text)
    span = support(text, claim, cite.quote)
    if span:
        q = escape(span)
        body = body.replace(q, f"<mark>{q}</mark>", 1)

    def ctx(p, label):
        return f'<p class="ctx">{label}（第{p.number}段）：{escape(p.text)}</p>' if p else ""

    return (
        f'<div class="para-panel"><div class="meta">{escape(cite.mark)} {escape(cite.region)} · '
        f"{cite.year}年政府工作报告 · 第{cite.paragraph}段</div>"
        f'<div class="section">章节：{escape(cite.section) or "（无）"}</div>'
        f'{ctx(before, "上一段")}<p class="cited">{body}</p>{ctx(after, "下一段")}</div>'
    )


def show_citation(live: Live, turns: list[dict], turn: int, ref: int, seg: int = -1) -> str:
    """The panel for a clicked mark: turn and ref pick the citation, seg the claim it stands behind."""
    try:
        answer = turns[turn]["answer"]
        return render_paragraph(live.assistant, refs(answer)[ref], claim_before(turns[turn]["text"], seg))
    except (IndexError, KeyError, TypeError):
        return '<div class="para-panel">找不到该引用。</div>'


# --- corpus -----------------------------------------------------------------------------------------------
def catalogue(assistant: Assistant) -> list[dict]:
    return assistant.catalogue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "；".join(map(str, value))
    return str(value)


def catalogue_table(rows: list[dict]) -> list[list[str]]:
    return [[_cell(r.get(key)) for key, _ in CATALOGUE_COLUMNS] for r in rows]


def report_choices(assistant: Assistant) -> list[tuple[str, str]]:
    return [(f"{r.id} · {r.region} {r.year}年", r.id) for r in assistant.corpus.reports]


def filter_choices(assistant: Assistant) -> tuple[list[str], list[str]]:
    reports = assistant.corpus.reports
    regions = sorted({r.region for r in reports})
    years = sorted({str(r.year) for r in reports}, reverse=True)
    return [ALL] + regions, [ALL] + years


def render_report(assistant: Assistant, report_id: str | None) -> str:
    """A report's paragraphs with their numbers and section paths (escaped)."""
    if not report_id:
        return '<div class="reader">请选择一份报告。</div>'
    try:
        r = assistant.report(report_id)
    except KeyError:
        return f'<div class="reader">库中没有报告 {escape(report_id)}。</div>'
    head = (
        f"<h3>{escape(r.title or r.id)}</h3><p>{escape(r.region)} · {r.year}年 · {escape(r.province)} · "
        f"来源：{escape(r.source)}</p>"
    )
    if r.warnings:
        head += '<p class="notes">提示：' + "；".join(escape(w) for w in r.warnings) + "</p>"
    rows, section = [], None
    for p in r.paragraphs:
        if p.section != section and p.kind != "heading":
            section = p.section
            rows.append(f'<p class="section">〔{escape(section) or "（无章节）"}〕</p>')
        cls = "heading" if p.kind == "heading" else p.kind
        rows.append(f'<p class="{cls}"><span class="num">第{p.number}段</span>{escape(p.text)}</p>')
    return f'<div class="reader">{head}{"".join(rows)}</div>'


def upload_limits(files: list, settings: Settings) -> str | None:
    """Why the whole upload is refused (too many files, too large in total), naming the setting; None if it is not."""
    paths = [Path(getattr(f, "name", f)) for f in files or []]
    if len(paths) > settings.max_upload_files:
        return (
            f"一次最多上传 {settings.max_upload_files} 个文件，本次 {len(paths)} 个，未导入任何文件"
            f"（上限由 GOVQA_MAX_UPLOAD_FILES 设定）；请分批上传"
        )
    total = sum(p.stat().st_size for p in paths if p.is_file())
    if total > settings.max_upload_mb * 1024 * 1024:
        return (
            f"本次上传共 {total / 1024 / 1024:.1f} MB，超过上限 {settings.max_upload_mb:g} MB，未导入任何文件"
            f"（上限由 GOVQA_MAX_UPLOAD_MB 设定）；请分批上传"
        )
    return None


def save_uploads(files: list, folder: Path, max_file_mb: float | None = None) -> tuple[list[Path], list[str]]:
    """Copy accepted uploads into `folder`; returns (paths, reasons for the rejected ones).

    A file larger than `max_file_mb` (GOVQA_MAX_FILE_MB) is rejected before it is copied."""
    folder.mkdir(parents=True, exist_ok=True)
    kept, rejected = [], []
    for f in files or []:
        src = Path(getattr(f, "name", f))
        if src.suffix.lower() not in UPLOAD_TYPES:
            rejected.append(
                f"{src.name}：不支持的文件类型 {src.suffix or '（无扩展名）'}，请上传 {' '.join(UPLOAD_TYPES)}"
            )
            continue
        if src.stat().st_size == 0:
            rejected.append(f"{src.name}：文件为空")
            continue
        if max_file_mb is not None and src.stat().st_size > max_file_mb * 1024 * 1024:
            rejected.append(
                f"{src.name}：文件 {src.stat().st_size / 1024 / 1024:.1f} MB，超过上限 {max_file_mb:g} MB"
                f"（GOVQA_MAX_FILE_MB）；请按报告拆分文件"
            )
            continue
        dest = folder / src.name
        shutil.copyfile(src, dest)
        kept.append(dest)
    return kept, rejected


def upload(live: Live, files: list, replace: bool = False) -> str:
    """Validate and ingest uploaded files; returns the status HTML (what was added, what was rejected and why).

    An upload with too many files or too many bytes in total is refused whole, before anything is copied."""
    settings = live.assistant.settings
    refused = upload_limits(files, settings)
    if refused:
        return f'<div class="upload-status">{escape(refused)}</div>'
    paths, rejected = save_uploads(files, settings.data_dir / "uploads", settings.max_file_mb)
    lines = []
    if paths:
        try:
            result = live.ingest(paths, replace=replace)
        except GovQAError as e:
            lines.append(f"导入失败，索引未改变：{escape(e.message)}" + (f"（修复：{escape(e.fix)}）" if e.fix else ""))
        else:
            if result.added:
                lines.append("已加入：" + "、".join(escape(x) for x in result.added))
            if result.replaced:
                lines.append("已更新：" + "、".join(escape(x) for x in result.replaced))
            if result.unchanged:
                lines.append("与已有版本相同（未改变）：" + "、".join(escape(x) for x in result.unchanged))
            for p in result.new.problems if result.new else []:
                kept = result.kept(p)
                lines.append(
                    f"{'注意' if p.warning else '未导入'} {escape(Path(p.path).name)}：{escape(p.message)}"
                    + (f"（修复：{escape(p.fix)}）" if p.fix else "")
                    + (f"；之前导入的 {escape('、'.join(kept))} 保留不变" if kept else "")
                )
            if not (result.added or result.replaced or result.unchanged or (result.new and result.new.problems)):
                lines.append("没有导入任何报告。")
    lines += [escape(r) for r in rejected]
    if not lines:
        lines.append("请选择要上传的文件。")
    return '<div class="upload-status">' + "<br>".join(lines) + "</div>"


# --- eval -------------------------------------------------------------------------------------------------
def latest_eval(data_dir: Path) -> tuple[str, list[list[str]], str | None]:
    """The newest eval run under data_dir/eval/runs: (title, summary rows, chart path or None)."""
    runs = data_dir / "eval" / "runs"
    files = sorted(runs.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if runs.is_dir() else []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        summary = data.get("summary") if isinstance(data, dict) else None
        if not isinstance(summary, dict):
            continue
        rows = [[str(k), _metric(v)] for k, v in summary.items()]
        charts = [path.with_suffix(".png")] + sorted(path.parent.glob(path.stem + "*.png"))
        chart = next((str(c) for c in charts if c.exists()), None)
        if chart is None:
            pngs = sorted(runs.glob("*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
            chart = str(pngs[0]) if pngs else None
        return f"最新评测：{path.name}", rows, chart
    return NO_EVAL, [], None


def _metric(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- the app ----------------------------------------------------------------------------------------------
def _gradio():
    """Import gradio with its analytics (outside requests at launch) switched off."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    return gr


def _live(assistant: Assistant | Callable[[], Assistant] | Settings | None) -> Live:
    """The Live holder over the given Assistant, a factory's Assistant, or one loaded with the given Settings."""
    if isinstance(assistant, Assistant):
        return Live(assistant)
    if callable(assistant) and not isinstance(assistant, Settings):
        return Live(assistant())
    return Live(Assistant.load(settings=assistant))


def _chat_tab(gr, regions: list[str], years: list[str], llm_configured: bool) -> SimpleNamespace:
    """The 问答 tab: transcript, question box and filters, citation panel (call inside the Blocks)."""
    with gr.Tab("问答"):
        with gr.Row():
            with gr.Column(scale=3):
                transcript = gr.HTML(
                    render_transcript([]), js_on_load=CITE_JS, elem_id="transcript", padding=True, min_height=200
                )
                with gr.Row():
                    question = gr.Textbox(
                        label="问题", placeholder="例如：保定2022年生产总值是多少？", scale=5, elem_id="question"
                    )
                    send = gr.Button("提问", variant="primary", scale=1, elem_id="ask")
                with gr.Row():
                    region = gr.Dropdown(regions, value=ALL, label="地区", elem_id="region")
                    year = gr.Dropdown(years, value=ALL, label="报告年份", elem_id="year")
                    answerer = gr.Radio(
                        list(ANSWERERS),
                        value="抽取式",
                        label="回答方式",
                        visible=llm_configured,
                        elem_id="answerer",
                    )
                clear = gr.Button("清空对话", size="sm")
            with gr.Column(scale=2):
                gr.Markdown("### 引用段落")
                panel = gr.HTML(
                    '<div class="para-panel">点击回答中的引用标记查看原段落。</div>',
                    js_on_load=None,
                    elem_id="citation-panel",
                    padding=True,
                )
    return SimpleNamespace(
        transcript=transcript,
        question=question,
        send=send,
        region=region,
        year=year,
        answerer=answerer,
        clear=clear,
        panel=panel,
    )


def _corpus_tab(gr, assistant: Assistant) -> SimpleNamespace:
    """The 语料库 tab: catalogue table, upload form, report reader (call inside the Blocks)."""
    with gr.Tab("语料库"):
        table = gr.Dataframe(
            catalogue_table(catalogue(assistant)),
            headers=[label for _, label in CATALOGUE_COLUMNS],
            label="报告目录",
            interactive=False,
            wrap=True,
            elem_id="catalogue",
        )
        with gr.Accordion("上传报告", open=True):
            files = gr.File(
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                label="报告文件（" + " ".join(UPLOAD_TYPES) + "）",
                elem_id="upload-files",
            )
            replace_box = gr.Checkbox(
                False, label="替换同编号的已有报告（同一地区同一年份，来自另一个文件）", elem_id="upload-replace"
            )
            add = gr.Button("导入", variant="primary", elem_id="upload-button")
            status = gr.HTML("", js_on_load=None, elem_id="upload-status")
        choices = report_choices(assistant)
        first = choices[0][1] if choices else None
        picker = gr.Dropdown(choices, value=first, label="阅读报告", elem_id="report-picker")
        reader = gr.HTML(
            render_report(assistant, first), js_on_load=None, elem_id="reader", max_height=700, padding=True
        )
    return SimpleNamespace(
        table=table, files=files, replace_box=replace_box, add=add, status=status, picker=picker, reader=reader
    )


def _eval_tab(gr, data_dir: Path) -> SimpleNamespace:
    """The 评测 tab: the latest eval run's title, summary table and chart (call inside the Blocks)."""
    with gr.Tab("评测"):
        title, rows, chart = latest_eval(data_dir)
        eval_title = gr.Markdown(title)
        eval_table = gr.Dataframe(rows, headers=["指标", "数值"], interactive=False, label="汇总")
        eval_chart = gr.Image(chart, label="图表", interactive=False, visible=chart is not None)
        refresh = gr.Button("刷新", size="sm")
    return SimpleNamespace(title=eval_title, table=eval_table, chart=eval_chart, refresh=refresh)


def _handlers(gr, live: Live) -> SimpleNamespace:
    """The event handlers over `live` (their names are the endpoints' api names, so they keep them)."""
    from gradio import EventData  # gradio is imported by now; a name mypy accepts as a type

    settings = live.assistant.settings

    def on_ask(q, reg, yr, ans, history):
        yield from respond(live, q, reg, yr, ans, history)

    def on_cite(history, evt: EventData):
        return show_citation(live, history, int(evt.turn), int(evt.ref), int(getattr(evt, "seg", -1)))

    def on_upload(uploaded, replace, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 - gradio injects it
        progress(0, desc="导入中")
        msg = upload(live, uploaded, replace=bool(replace))
        a = live.assistant
        regs, yrs = filter_choices(a)
        return (
            msg,
            catalogue_table(catalogue(a)),
            gr.update(choices=report_choices(a)),
            gr.update(choices=regs),
            gr.update(choices=yrs),
            None,
        )

    def on_load():
        a = live.assistant
        regs, yrs = filter_choices(a)
        return (
            catalogue_table(catalogue(a)),
            gr.update(choices=report_choices(a)),
            gr.update(choices=regs),
            gr.update(choices=yrs),
        )

    def on_eval():
        t, r, c = latest_eval(settings.data_dir)
        return t, r, gr.update(value=c, visible=c is not None)

    return SimpleNamespace(ask=on_ask, cite=on_cite, upload=on_upload, load=on_load, eval=on_eval)


def _wire_events(app, live: Live, on: SimpleNamespace, turns, chat, corpus, ev) -> None:
    """Connect the tabs' buttons, boxes and page load to the handlers (call inside the Blocks)."""
    ask_args = dict(
        fn=on.ask,
        inputs=[chat.question, chat.region, chat.year, chat.answerer, turns],
        outputs=[chat.transcript, turns],
    )
    chat.send.click(**ask_args, api_name="ask").then(lambda: "", outputs=chat.question, api_visibility="private")
    chat.question.submit(**ask_args, api_visibility="private").then(
        lambda: "", outputs=chat.question, api_visibility="private"
    )
    chat.clear.click(lambda: (render_transcript([]), []), outputs=[chat.transcript, turns])
    chat.transcript.click(on.cite, inputs=[turns], outputs=[chat.panel])
    corpus.add.click(
        on.upload,
        inputs=[corpus.files, corpus.replace_box],
        outputs=[corpus.status, corpus.table, corpus.picker, chat.region, chat.year, corpus.files],
    )
    corpus.picker.change(
        lambda rid: render_report(live.assistant, rid), inputs=[corpus.picker], outputs=[corpus.reader]
    )
    ev.refresh.click(on.eval, outputs=[ev.title, ev.table, ev.chart])
    app.load(on.load, outputs=[corpus.table, corpus.picker, chat.region, chat.year])
    app.load(on.eval, outputs=[ev.title, ev.table, ev.chart])


def build_app(assistant: Assistant | Callable[[], Assistant] | Settings | None = None):
    """The Blocks app over an Assistant (or a factory of one, or Settings to load the default index with)."""
    gr = _gradio()
    live = _live(assistant)
    settings = live.assistant.settings
    regions, years = filter_choices(live.assistant)

    with gr.Blocks(title="政府工作报告问答") as app:
        app.live = live  # for tests and benches that call the handlers
        gr.Markdown(
            "## 政府工作报告问答 govreport-qa\n回答只摘自库中报告，每句都标注【地区·报告年份·第N段】；"
            "点击引用标记可查看原段落。"
        )
        turns = gr.State([])
        chat = _chat_tab(gr, regions, years, settings.llm_configured)
        corpus = _corpus_tab(gr, live.assistant)
        ev = _eval_tab(gr, settings.data_dir)
        _wire_events(app, live, _handlers(gr, live), turns, chat, corpus, ev)
    return app


def launch(app, port: int = 7860, host: str = "127.0.0.1", block: bool = True):
    """Serve on loopback only: no share link, no outside requests."""
    gr = _gradio()
    return app.queue(default_concurrency_limit=10).launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        theme=gr.themes.Default(),
        css=CSS,
        footer_links=[],
        show_error=True,
        quiet=not block,
    )


def main(port: int = 7860, host: str = "127.0.0.1") -> None:
    """Start the UI on the default index, building it from settings.reports_dir first if there is none."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    try:
        settings = load_settings()
        ensure_index(settings)
        app = build_app(settings)
    except GovQAError as e:
        raise SystemExit(f"错误: {e}") from None
    launch(app, port=port, host=host)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    main(port=args.port, host=args.host)
