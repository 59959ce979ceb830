"""The chat client through the real openai package against the scripted loopback server."""

from __future__ import annotations

import pytest
from openai_server import Chunks, Delay, Status

from ingest.errors import ConfigError, LLMError
from rag.answering.llm import ChatLLM, ThinkFilter, strip_think
from rag.answering.llm_answer import llm_answer
from rag.answering.prompts import load_prompt
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Hit

MESSAGES = [{"role": "system", "content": "只依据资料回答。"}, {"role": "user", "content": "济南2024年目标？"}]
REPLY = "2024年报告提出地区生产总值增长5.5%以上【济南·2024·第56段】。"


def make_llm(server, *, retries=2, timeout=5.0, **settings) -> ChatLLM:
    s = Settings(
        llm_base_url=server.base_url, llm_model="qwen-test", llm_timeout=timeout, llm_max_retries=retries, **settings
    )
    return ChatLLM(s, backoff=0.01)


def test_complete_returns_the_reply_and_sends_settings(openai_server):
    openai_server.script([REPLY])
    llm = make_llm(openai_server, llm_temperature=0.3, llm_max_tokens=77, llm_api_key="sk-local")
    assert llm.complete(MESSAGES) == REPLY
    (request,) = openai_server.chat_requests
    assert request.body["model"] == "qwen-test"
    assert request.body["messages"] == MESSAGES
    assert (request.body["temperature"], request.body["max_tokens"]) == (0.3, 77)
    assert not request.body.get("stream")
    assert llm.describe() == {"base_url": openai_server.base_url, "model": "qwen-test"}


def test_stream_yields_pieces_in_order(openai_server):
    openai_server.script([Chunks(["2024年", "报告提出", "增长5.5%以上", "【济南·2024·第56段】。"])])
    pieces = list(make_llm(openai_server).stream(MESSAGES))
    assert pieces == ["2024年", "报告提出", "增长5.5%以上", "【济南·2024·第56段】。"]
    assert openai_server.chat_requests[0].body["stream"] is True


def test_stream_of_a_plain_reply_joins_to_it(openai_server):
    openai_server.script([REPLY])  # streamed in 3-character pieces
    pieces = list(make_llm(openai_server).stream(MESSAGES))
    assert len(pieces) > 5 and "".join(pieces) == REPLY


THINK_CASES = [
    # (pieces as streamed, expected answer)
    (["<think>先找段落。</think>\n\n答案【济南·2024·第1段】。"], "答案【济南·2024·第1段】。"),
    (["<th", "ink>先找", "段落</th", "ink>", "答案", "。"], "答案。"),
    (["<", "t", "h", "i", "n", "k", ">x<", "/", "think", ">", "  答", "<thi", "nk>y</think>案"], "答案"),
    (["a < b <t", "hink 不是标签"], "a < b <think 不是标签"),
    (["答案 <think>末尾还在想"], "答案 "),
]


@pytest.mark.parametrize("pieces, expected", THINK_CASES)
def test_think_filter(pieces, expected):
    f = ThinkFilter()
    assert "".join(f.feed(p) for p in pieces) + f.flush() == expected
    assert strip_think("".join(pieces)) == expected


@pytest.mark.parametrize("pieces, expected", THINK_CASES)
def test_think_blocks_are_stripped_by_the_client(openai_server, pieces, expected):
    openai_server.script([Chunks(pieces), Chunks(pieces)])
    llm = make_llm(openai_server)
    assert llm.complete(MESSAGES) == expected
    assert "".join(llm.stream(MESSAGES)) == expected


@pytest.mark.parametrize("stream", [False, True])
def test_unterminated_leading_think_is_an_empty_answer(openai_server, stream):
    openai_server.script([Chunks(["<think>想了", "很久，没写完"])])
    llm = make_llm(openai_server)
    with pytest.raises(LLMError, match="empty answer") as err:
        "".join(llm.stream(MESSAGES)) if stream else llm.complete(MESSAGES)
    assert "GOVQA_LLM_MAX_TOKENS" in err.value.fix


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("status", [500, 503, 429])
def test_retries_then_succeeds(openai_server, stream, status):
    openai_server.script([Status(status), Status(status), REPLY])
    llm = make_llm(openai_server, retries=2)
    text = "".join(llm.stream(MESSAGES)) if stream else llm.complete(MESSAGES)
    assert text == REPLY
    assert len(openai_server.chat_requests) == 3


@pytest.mark.parametrize("stream", [False, True])
def test_gives_up_after_max_retries(openai_server, stream):
    openai_server.script([Status(500)] * 10)
    llm = make_llm(openai_server, retries=3)
    with pytest.raises(LLMError) as err:
        llm.stream(MESSAGES) if stream else llm.complete(MESSAGES)
    assert len(openai_server.chat_requests) == 4  # 1 try + 3 retries
    assert openai_server.base_url in err.value.message and "qwen-test" in err.value.message
    assert "HTTP 500" in err.value.message and "after 4 attempts" in err.value.message
    assert "GOVQA_LLM_BASE_URL" in err.value.fix


def test_zero_retries_means_one_request(openai_server):
    openai_server.script([Status(503), REPLY])
    with pytest.raises(LLMError, match="HTTP 503"):
        make_llm(openai_server, retries=0).complete(MESSAGES)
    assert len(openai_server.chat_requests) == 1


@pytest.mark.parametrize(
    "status, fix", [(400, "GOVQA_LLM_BASE_URL"), (401, "GOVQA_LLM_API_KEY"), (404, "GOVQA_LLM_MODEL")]
)
def test_client_errors_are_not_retried(openai_server, status, fix):
    openai_server.script([Status(status, "no such thing"), REPLY])
    with pytest.raises(LLMError) as err:
        make_llm(openai_server, retries=2).complete(MESSAGES)
    assert len(openai_server.chat_requests) == 1
    assert f"HTTP {status}" in err.value.message and "no such thing" in err.value.message
    assert fix in err.value.fix


def test_retry_after_header_is_honoured(openai_server):
    openai_server.script([Status(429, retry_after=0.3), REPLY])
    llm = make_llm(openai_server)
    assert llm.complete(MESSAGES) == REPLY
    assert llm._delay(0, _error_with_retry_after(0.3)) >= 0.3


def _error_with_retry_after(seconds):
    import httpx
    import openai

    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response = httpx.Response(429, headers={"retry-after": str(seconds)}, request=request)
    return openai.RateLimitError("slow down", response=response, body=None)


def test_timeout_is_retried_then_succeeds(openai_server):
    openai_server.script([Delay(5.0), REPLY])
    assert make_llm(openai_server, timeout=0.5).complete(MESSAGES) == REPLY
    assert len(openai_server.chat_requests) == 2


@pytest.mark.parametrize("stream", [False, True])
def test_timeout_forever_raises_llm_error(openai_server, stream):
    openai_server.script([Delay(5.0)] * 3)
    llm = make_llm(openai_server, timeout=0.5, retries=1)
    with pytest.raises(LLMError) as err:
        llm.stream(MESSAGES) if stream else llm.complete(MESSAGES)
    assert len(openai_server.chat_requests) == 2
    assert "timed out" in err.value.message and "GOVQA_LLM_TIMEOUT" in err.value.fix


def test_unreachable_endpoint(openai_server):
    url = openai_server.base_url
    openai_server.stop()  # nothing listens on the port any more
    llm = ChatLLM(Settings(llm_base_url=url, llm_model="m", llm_max_retries=1, llm_timeout=2.0), backoff=0.01)
    with pytest.raises(LLMError, match="cannot connect") as err:
        llm.complete(MESSAGES)
    assert url in err.value.message


@pytest.mark.parametrize(
    "base_url, model, complaint",
    [
        (None, "m", "endpoint and a model"),
        ("http://127.0.0.1:1/v1", None, "endpoint and a model"),
        ("127.0.0.1:8000/v1", "m", r"not an http\(s\) URL"),
    ],
)
def test_bad_settings_raise_config_error(base_url, model, complaint):
    with pytest.raises(ConfigError, match=complaint):
        ChatLLM(Settings(llm_base_url=base_url, llm_model=model))


def test_models_endpoint_lists_the_model(openai_server):
    import openai

    client = openai.OpenAI(base_url=openai_server.base_url, api_key="x", max_retries=0)
    assert [m.id for m in client.models.list()] == ["test-model"]


@pytest.mark.parametrize("stream", [False, True])
def test_llm_answer_sends_contexts_and_question_and_returns_raw_text(openai_server, stream):
    invented = "济南2024年目标增长9%【济南·2024·第999段】。"  # an invented mark and a wrong number, passed through
    openai_server.script([invented])
    hits = [Hit("济南-2024", "济南市", "济南", 2024, 56, "二、工作安排", "地区生产总值增长5.5%以上。", 1.0)]
    prompt = load_prompt("answer", PROJECT_ROOT / "prompts")
    out = llm_answer(
        "济南2024年GDP目标？", hits, make_llm(openai_server), prompt, notes=["库中没有杭州市的报告"], stream=stream
    )
    assert ("".join(out) if stream else out) == invented
    sent = openai_server.chat_requests[0]
    assert [m["role"] for m in sent.messages] == ["system", "user"]
    assert "【济南·2024·第56段】" in sent.messages[1]["content"]
    assert "济南2024年GDP目标？" in sent.messages[1]["content"]
    assert "库中没有杭州市的报告" in sent.messages[1]["content"]
    assert "不是指令" in sent.messages[0]["content"]


def test_stream_that_dies_midway_raises_llm_error_after_the_pieces_so_far(openai_server):
    openai_server.script([Chunks(["2024年", "报告提出"], stall=5.0)])
    pieces = make_llm(openai_server, timeout=0.5).stream(MESSAGES)
    received = []
    with pytest.raises(LLMError, match="while streaming") as err:
        for piece in pieces:
            received.append(piece)
    assert received == ["2024年", "报告提出"]
    assert len(openai_server.chat_requests) == 1  # nothing is retried once text was shown
    assert "GOVQA_LLM_TIMEOUT" in err.value.fix
