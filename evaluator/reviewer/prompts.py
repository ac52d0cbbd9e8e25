"""Prompt templates: one Jinja environment, user templates before the built-in ones.

Documents are untrusted data. They are placed inside tagged delimiters, and anything in
them that could close a delimiter or look like a chat-template control token is defused
before it reaches the model.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError

from evaluator.backends.base import Message
from evaluator.errors import PromptError
from evaluator.resources import prompts_dir

_TAG = re.compile(r"<\s*/?\s*(requirements|design|design-part|notes)\b[^<>\n]{0,40}>", re.IGNORECASE)
_THIN = "\u2009"  # a thin space: the text stays readable, but no longer spells a special token
# Special-token spellings of chat templates and vocabularies, which llama.cpp turns into control
# tokens when it tokenizes a prompt: <|im_start|> (ChatML, Llama 3, Phi), <｜…｜> (DeepSeek),
# <s> </s> <start_of_turn> <filename> <repo_name> (lower-case tag words), [INST] [/INST]
# [SYSTEM_PROMPT] (Mistral), <<SYS>> (Llama 2).
_CONTROL = re.compile(
    r"<(?P<bar>[|｜])(?P<pipe>[^|｜<>\s]{1,40})(?P=bar)>"
    r"|<(?P<word>/?[a-z][a-z0-9_]{0,40})>"
    r"|\[(?P<square>/?[A-Z][A-Z_]{2,40})\]"
    r"|<<(?P<sys>/?[A-Z]{2,10})>>"
)


def _defuse(m: re.Match[str]) -> str:
    if m["pipe"]:
        return f"<{_THIN}{m['bar']}{m['pipe']}{m['bar']}{_THIN}>"
    if m["word"]:
        return f"<{_THIN}{m['word']}>"
    if m["square"]:
        return f"[{_THIN}{m['square']}]"
    return f"<<{_THIN}{m['sys']}>>"


def untrusted(value: object) -> str:
    """Defuse delimiter tags and special-token look-alikes (``<|im_start|>``, ``<s>``, ``[INST]``...)."""
    text = str(value)  # an undefined variable raises here, as StrictUndefined should
    text = _TAG.sub(lambda m: m.group(0).replace("<", "&lt;"), text)
    return _CONTROL.sub(_defuse, text)


class Prompts:
    """Renders the named templates; ``user_dir`` overrides any built-in template."""

    def __init__(self, user_dir: Path | None = None) -> None:
        folders = [str(user_dir)] if user_dir else []
        folders.append(str(prompts_dir()))
        self._env = Environment(
            loader=ChoiceLoader([FileSystemLoader(f) for f in folders]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
        self._env.filters["untrusted"] = untrusted

    def render(self, name: str, **context: object) -> str:
        """Render one template; a missing template or variable is a :class:`PromptError`."""
        try:
            return self._env.get_template(name).render(**context).strip() + "\n"
        except TemplateError as exc:
            raise PromptError(f"prompt template {name} failed: {exc}") from None

    def messages(self, user_template: str, system: str = "system.md.j2", **context: object) -> list[Message]:
        """The system message (the reviewer's, ``system.md.j2``, unless named) plus the named user message."""
        return [
            {"role": "system", "content": self.render(system, **context)},
            {"role": "user", "content": self.render(user_template, **context)},
        ]

    def digest(self) -> str:
        """A short hash of every template's source, to tell prompt versions apart."""
        h = hashlib.sha256()
        for name in sorted(self._env.list_templates(extensions=["j2"])):
            source, _, _ = self._env.loader.get_source(self._env, name)  # type: ignore[union-attr]
            h.update(name.encode() + b"\0" + source.encode() + b"\0")
        return h.hexdigest()[:12]
