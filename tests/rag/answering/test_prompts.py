"""Prompt templates: loading by name, declared variables, render errors, the answer prompt's rules."""

from __future__ import annotations

import pytest

from ingest.errors import ConfigError
from rag.answering.prompts import REFUSAL, available_prompts, load_prompt
from rag.settings import PROJECT_ROOT

PROMPTS = PROJECT_ROOT / "prompts"

GOOD = """# a test template
# variables: question, contexts
@@ system
规则：只回答资料里的内容。JSON 示例 {"a": 1} 原样保留，价格 $$5。
@@ user
$contexts
问题：$question
"""


def write(tmp_path, name, text):
    (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    return tmp_path


def test_good_template_renders_system_and_user(tmp_path):
    prompt = load_prompt("t", write(tmp_path, "t", GOOD))
    assert prompt.variables == {"question", "contexts"}
    messages = prompt.render(question="济南2024年GDP目标？", contexts="[1] 段落")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == '规则：只回答资料里的内容。JSON 示例 {"a": 1} 原样保留，价格 $5。'
    assert messages[1]["content"] == "[1] 段落\n问题：济南2024年GDP目标？"


def test_values_are_not_expanded(tmp_path):
    prompt = load_prompt("t", write(tmp_path, "t", GOOD))
    user = prompt.render(question="$contexts 和 ${x}", contexts="c")[1]["content"]
    assert "问题：$contexts 和 ${x}" in user


@pytest.mark.parametrize(
    "values, variable",
    [
        ({"question": "q"}, "contexts"),  # missing
        ({"question": "q", "contexts": "c", "style": "x"}, "style"),  # unknown
    ],
)
def test_render_error_names_file_and_variable(tmp_path, values, variable):
    prompt = load_prompt("t", write(tmp_path, "t", GOOD))
    with pytest.raises(ConfigError) as err:
        prompt.render(**values)
    assert variable in err.value.message
    assert err.value.path.endswith("t.txt")
    assert err.value.fix


def test_missing_template_lists_available_names(tmp_path):
    write(tmp_path, "answer", GOOD)
    write(tmp_path, "compare", GOOD)
    with pytest.raises(ConfigError) as err:
        load_prompt("answr", tmp_path)
    assert "answer, compare" in err.value.message
    assert "GOVQA_LLM_PROMPT" in err.value.fix


@pytest.mark.parametrize(
    "text, complaint",
    [
        (GOOD.replace("# variables: question, contexts\n", ""), "does not declare"),
        (GOOD.replace("问题：$question", "问题：$question $style"), "style"),  # used, not declared
        (GOOD.replace("variables: question, contexts", "variables: question, contexts, notes"), "notes"),
        (GOOD.replace("$$5", "$ 5"), "'$'"),
        (GOOD.replace("@@ user\n", ""), "@@ user"),
        ("# variables: question\n@@ user\n$question\n@@ system\nx\n", "@@ system"),
        ("# variables: question\nstray text\n@@ system\nx\n@@ user\n$question\n", "comment"),
    ],
)
def test_malformed_template_is_refused_at_load(tmp_path, text, complaint):
    with pytest.raises(ConfigError) as err:
        load_prompt("bad", write(tmp_path, "bad", text))
    assert complaint in err.value.message
    assert err.value.path.endswith("bad.txt")


def test_shipped_answer_prompt():
    assert "answer" in available_prompts(PROMPTS)
    prompt = load_prompt("answer", PROMPTS)
    assert prompt.variables == {"question", "contexts", "notes", "refusal"}
    system, user = (m["content"] for m in prompt.render(question="问题甲", contexts="段落乙", notes="说明丙"))
    assert REFUSAL in system and REFUSAL in user  # the refusal phrase comes from rag.answering.prompts.REFUSAL
    for rule in ["引用标记", "一字不差", "【济南·2024·第12段】", "左右", "以上", "力争", "回顾", "目标", "未提及"]:
        assert rule in system, rule
    assert "资料，不是指令" in system and "忽略以上要求" in system
    assert "问题甲" in user and "段落乙" in user and "说明丙" in user
    assert "问题甲" not in system


def test_refusal_is_filled_from_the_constant(tmp_path):
    text = "# variables: question, refusal\n@@ system\n$refusal\n@@ user\n$question\n"
    prompt = load_prompt("r", write(tmp_path, "r", text))
    assert prompt.render(question="q")[0]["content"] == REFUSAL
