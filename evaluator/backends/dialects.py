"""How each kind of OpenAI-compatible server wants a schema-constrained chat request.

Pure functions, no I/O: a request body in, a :class:`Reply` out, per server kind.

- ``llama-server`` (llama.cpp): its own ``json_schema`` field (it raises on a schema it
  cannot convert instead of guessing), ``repeat_penalty``, ``cache_prompt``; cached prompt
  tokens and prompt time come from ``timings`` (``cache_n``, ``prompt_ms``).
- ``vllm``: OpenAI's ``response_format`` ``json_schema`` form, the one every vLLM since 0.6
  accepts (``guided_json`` is deprecated since 0.10), plus its ``repetition_penalty``.
- ``ollama``: its native ``/api/chat`` with ``format`` set to the schema, because its
  OpenAI layer cannot set the context size (``num_ctx``) or the repeat penalty.
- ``openai`` (anything else, e.g. LM Studio): the plain OpenAI form.

Whatever the form, a server may still ignore the schema (llama.cpp issue 19051): replies
are always validated by the reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from evaluator.backends.base import Message, Sampling

ServerKind = Literal["llama-server", "vllm", "ollama", "openai"]
SERVER_KINDS: tuple[ServerKind, ...] = ("llama-server", "vllm", "ollama", "openai")


@dataclass(frozen=True)
class Reply:
    """One completed chat request, in the units of :class:`~evaluator.backends.base.Generation`."""

    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    prompt_seconds: float = 0.0


def chat_request(
    kind: ServerKind,
    model: str,
    messages: list[Message],
    *,
    schema: dict[str, Any] | None,
    max_tokens: int,
    sampling: Sampling,
    n_ctx: int,
) -> tuple[str, dict[str, Any]]:
    """The path and JSON body of one chat request for a server of ``kind``."""
    if kind == "ollama":
        return "/api/chat", _ollama_body(model, messages, schema, max_tokens, sampling, n_ctx)
    body: dict[str, Any] = {
        "model": model,
        "messages": list(messages),
        "max_tokens": max_tokens,
        "temperature": sampling.temperature,
        "seed": sampling.seed,
        "stream": False,
    }
    if kind == "llama-server":
        body |= {"repeat_penalty": sampling.repeat_penalty, "cache_prompt": True}
        if schema is not None:
            body["json_schema"] = schema
        return "/v1/chat/completions", body
    if kind == "vllm":
        body["repetition_penalty"] = sampling.repeat_penalty
    if schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "review", "schema": schema, "strict": True},
        }
    return "/v1/chat/completions", body


def _ollama_body(
    model: str,
    messages: list[Message],
    schema: dict[str, Any] | None,
    max_tokens: int,
    sampling: Sampling,
    n_ctx: int,
) -> dict[str, Any]:
    options = {
        "temperature": sampling.temperature,
        "seed": sampling.seed,
        "repeat_penalty": sampling.repeat_penalty,
        "num_predict": max_tokens,
        "num_ctx": n_ctx,
    }
    body: dict[str, Any] = {"model": model, "messages": list(messages), "stream": False, "options": options}
    if schema is not None:
        body["format"] = schema
    return body


def parse_reply(kind: ServerKind, data: Any) -> Reply:
    """Read a chat reply of a server of ``kind``; ValueError if it is not one."""
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    if kind == "ollama":
        return _parse_ollama(data)
    try:
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        usage = data.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        timings = data.get("timings") or {}
        return Reply(
            text=text,
            finish_reason=_finish(choice.get("finish_reason")),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            cached_tokens=int(details.get("cached_tokens") or timings.get("cache_n") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            prompt_seconds=float(timings.get("prompt_ms") or 0.0) / 1000,
        )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"the reply has no choices[0].message ({exc!r})") from None


def _parse_ollama(data: dict[str, Any]) -> Reply:
    message = data.get("message")
    if not isinstance(message, dict):
        raise ValueError("the reply has no message")
    return Reply(
        text=str(message.get("content") or ""),
        finish_reason=_finish(data.get("done_reason")),
        prompt_tokens=int(data.get("prompt_eval_count") or 0),
        cached_tokens=0,  # Ollama does not report prompt-cache hits
        completion_tokens=int(data.get("eval_count") or 0),
        prompt_seconds=float(data.get("prompt_eval_duration") or 0) / 1e9,
    )


def _finish(reason: object) -> str:
    """Servers say "length" when max_tokens cut the output; anything else ended normally."""
    return "length" if reason == "length" else "stop"


def error_message(data: Any, fallback: str) -> str:
    """The message of an error reply (``{"error": {"message": …}}``, ``{"error": "…"}``, ``{"detail": …}``)."""
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message")
        if isinstance(error, str) and error.strip():
            return error.strip()
    return fallback
