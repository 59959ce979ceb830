"""Chinese prompt templates: loaded by name from prompts/, variables checked at load and render time.

A template file ``prompts/NAME.txt`` holds (see prompts/answer.txt):

- leading comment lines starting with ``#`` (ignored), one of which declares the variables:
  ``# variables: question, contexts, notes, refusal``;
- a ``@@ system`` line, then the system message;
- a ``@@ user`` line, then the user message.

Variables are written ``$name`` (string.Template, so JSON braces need no escaping; a literal
dollar sign is ``$$``). ``refusal`` is filled in by `Prompt.render` from `REFUSAL`, the one fixed
refusal phrase of the project.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import ConfigError

REFUSAL = "根据现有报告无法回答该问题。"
"""The exact reply when the reports do not answer a question (used by the prompt and the answerers)."""

SUFFIX = ".txt"
BUILTINS = {"refusal": REFUSAL}
_SECTION = re.compile(r"^@@\s*(system|user)\s*$", re.MULTILINE)
_DECLARATION = re.compile(r"^#\s*variables\s*:(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Prompt:
    """A loaded template: a system and a user part sharing one declared set of variables."""

    name: str
    path: Path
    system: string.Template
    user: string.Template
    variables: frozenset[str]

    def render(self, **values: str) -> list[dict[str, str]]:
        """Chat messages with every variable filled; ConfigError on a missing or unknown variable."""
        values = {**BUILTINS, **values}
        unknown = sorted(set(values) - self.variables - set(BUILTINS))
        if unknown:
            raise ConfigError(
                f"prompt template {self.name!r} has no variable {', '.join(unknown)}"
                f" (it declares: {', '.join(sorted(self.variables))})",
                path=str(self.path),
                fix="pass only the declared variables, or add them to the template and its '# variables:' line",
            )
        missing = sorted(self.variables - set(values))
        if missing:
            raise ConfigError(
                f"prompt template {self.name!r} needs variable {', '.join(missing)}",
                path=str(self.path),
                fix=f"pass {', '.join(missing)} when rendering the prompt",
            )
        return [
            {"role": "system", "content": self.system.substitute(values)},
            {"role": "user", "content": self.user.substitute(values)},
        ]


def available_prompts(prompts_dir: Path) -> list[str]:
    """Names of the templates in prompts_dir."""
    return sorted(p.name[: -len(SUFFIX)] for p in Path(prompts_dir).glob(f"*{SUFFIX}"))


def load_prompt(name: str, prompts_dir: Path) -> Prompt:
    """Read and check prompts_dir/NAME.txt; ConfigError if it is missing or malformed."""
    path = Path(prompts_dir) / f"{name}{SUFFIX}"
    if not path.is_file():
        names = available_prompts(prompts_dir)
        raise ConfigError(
            f"no prompt template named {name!r} (available: {', '.join(names) or 'none'})",
            path=str(path),
            fix=f"set GOVQA_LLM_PROMPT to one of {names}, or create {path.name} in GOVQA_PROMPTS_DIR",
        )
    text = path.read_text(encoding="utf-8")
    declared = _declared_variables(text, path)
    parts = _SECTION.split(text)
    # parts: [header, "system", body, "user", body]
    if parts[1::2] != ["system", "user"]:
        raise ConfigError(
            "a prompt template needs exactly one '@@ system' line followed by one '@@ user' line",
            path=str(path),
            fix="write '@@ system' before the system message and '@@ user' before the user message",
        )
    if parts[0].strip() and any(not line.startswith("#") for line in parts[0].strip().splitlines()):
        raise ConfigError(
            "text before '@@ system' must be '#' comment lines",
            path=str(path),
            fix="start the template with comment lines only",
        )
    system, user = (string.Template(body.strip("\n")) for body in parts[2::2])
    used: set[str] = set()
    for part, template in (("system", system), ("user", user)):
        if not template.is_valid():
            raise ConfigError(
                f"the {part} part has a '$' that is not a variable",
                path=str(path),
                fix="write variables as $name or ${name}, and a literal dollar sign as $$",
            )
        used |= set(template.get_identifiers())
    if used != declared:
        raise ConfigError(
            f"variables used ({', '.join(sorted(used)) or 'none'}) differ from those declared "
            f"({', '.join(sorted(declared)) or 'none'})",
            path=str(path),
            fix="make the '# variables:' line list exactly the $names the template uses",
        )
    return Prompt(name, path, system, user, frozenset(declared))


def _declared_variables(text: str, path: Path) -> set[str]:
    for line in text.splitlines():
        match = _DECLARATION.match(line)
        if match:
            return {v.strip() for v in match.group(1).split(",") if v.strip()}
        if not line.startswith("#") and line.strip():
            break
    raise ConfigError(
        "the template does not declare its variables",
        path=str(path),
        fix="add a comment line '# variables: name1, name2' at the top of the template",
    )
