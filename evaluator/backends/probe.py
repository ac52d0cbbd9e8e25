"""Finding out what an endpoint is before a batch relies on it.

:func:`probe_endpoint` fills in an :class:`~evaluator.backends.endpoint.Endpoint`: the
server kind and version, the model id, the context per request, the slots, and whether
it honours a JSON schema. That last check asks for a reply only a schema can force (one
made-up enum value): a server that ignores the schema — llama.cpp issue 19051, or
``python -m llama_cpp.server`` falling back to any JSON — answers something else.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from evaluator.backends.base import Sampling
from evaluator.backends.catalogue import DEFAULT_N_CTX
from evaluator.backends.dialects import ServerKind
from evaluator.backends.endpoint import DeadlineReached, Endpoint, EndpointDown, ServerRefused
from evaluator.errors import ModelError

_MARK = "zq-7"
PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"mark": {"type": "string", "enum": [_MARK]}},
    "required": ["mark"],
    "additionalProperties": False,
}
_PROBE_MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]
_PROBE_TIMEOUT_S = 120.0


def probe_endpoint(endpoint: Endpoint, model: str | None, *, n_ctx: int | None, slots: int | None) -> None:
    """Fill in ``endpoint`` and check it can serve reviews; raise ModelError in one line if not.

    ``n_ctx`` caps the context per request (a server that reports its own keeps the smaller);
    ``slots`` is used where the server does not report its slots.
    """
    try:
        _identify(endpoint)
        endpoint.model = _choose_model(endpoint, model)
        props = endpoint.call("GET", "/props") if endpoint.kind == "llama-server" else {}
        endpoint.n_ctx = _context(endpoint, props, n_ctx)
        endpoint.slots = int(props.get("total_slots") or slots or 1)
        _check_schema(endpoint)
    except (EndpointDown, DeadlineReached) as exc:
        raise ModelError(
            f"endpoint {endpoint.url} did not answer ({exc}) — is the server running?", settings=("endpoints",)
        ) from None
    except ServerRefused as exc:
        if exc.status in (401, 403):
            raise ModelError(
                f"{endpoint.describe()} refused the API key (status {exc.status})", settings=("api_key_env",)
            ) from None
        raise ModelError(f"{endpoint.describe()} refused a request (status {exc.status}): {exc.message}") from None


def _identify(endpoint: Endpoint) -> None:
    """Server kind and version from the paths only that server answers."""
    probes: list[tuple[ServerKind, str]] = [
        ("llama-server", "/props"),
        ("ollama", "/api/version"),
        ("vllm", "/version"),
    ]
    for kind, path in probes:
        try:
            data = endpoint.call("GET", path)
        except ServerRefused as exc:
            if exc.status in (401, 403):
                raise
            continue
        if not isinstance(data, dict):
            continue
        if kind == "llama-server" and "total_slots" in data:
            endpoint.kind, endpoint.version = kind, str(data.get("build_info", ""))
            return
        if kind != "llama-server" and isinstance(data.get("version"), str):
            endpoint.kind, endpoint.version = kind, data["version"]
            return
    endpoint.kind, endpoint.version = "openai", ""


def _choose_model(endpoint: Endpoint, model: str | None) -> str:
    entries = _models(endpoint)
    ids = [str(e.get("id")) for e in entries if isinstance(e, dict)]
    if model is None:
        if len(ids) == 1:
            _remember(endpoint, entries[0])
            return ids[0]
        listed = ", ".join(ids) or "none"
        raise ModelError(
            f"{endpoint.describe()} serves several models or none ({listed}) — name the model to use",
            settings=("model",),
        )
    if model not in ids:
        raise ModelError(
            f"{endpoint.describe()} has no model '{model}' — it serves: {', '.join(ids) or 'none'}", settings=("model",)
        )
    _remember(endpoint, entries[ids.index(model)])
    return model


def _models(endpoint: Endpoint) -> list[Any]:
    data = endpoint.call("GET", "/v1/models")
    entries = data.get("data") if isinstance(data, dict) else None
    if entries is None and endpoint.kind == "ollama":
        data = endpoint.call("GET", "/api/tags")
        entries = [{"id": m.get("name"), "digest": m.get("digest")} for m in data.get("models", [])]
    if not isinstance(entries, list):
        raise ServerRefused(200, "/v1/models did not list models")
    return entries


def _remember(endpoint: Endpoint, entry: dict[str, Any]) -> None:
    """Keep what the model list says about the model: a digest (Ollama), a context (vLLM), a size (llama-server)."""
    digest = entry.get("digest")
    endpoint.n_ctx = int(entry.get("max_model_len") or 0)
    meta = entry.get("meta")
    endpoint.n_params = int(meta["n_params"]) if isinstance(meta, dict) and meta.get("n_params") else None
    endpoint.digest = str(digest) if digest else meta_identity(str(entry.get("id")), meta)


# A model id that is a path on the server's machine: absolute, from home, or with Windows separators.
_MACHINE_PATH = re.compile(r"^(?:/|~|[A-Za-z]:[\\/])|\\")


def served_name(model_id: str) -> str:
    """The name to record for a served model: llama-server lists the GGUF path it was started with
    (``/srv/models/x-Q8_0.gguf``, or relative), a path of another machine that says nothing here: its file name.
    Ids such as ``Qwen/Qwen2.5-7B-Instruct`` (vLLM) or ``qwen2.5:7b`` (Ollama) are kept as they are."""
    if not _MACHINE_PATH.search(model_id) and not model_id.lower().endswith(".gguf"):
        return model_id
    return re.split(r"[\\/]", model_id.rstrip("/\\"))[-1] or model_id


def meta_identity(model_id: str, meta: Any) -> str | None:
    """What identifies a llama-server model that gives no digest: a sha256 of its file name and of the
    facts the server reports about the weights (parameters, vocabulary, embedding width, trained
    context, file size), written ``meta-sha256:HEX`` — a fingerprint of the file, not its bytes' hash.
    None when the server reports nothing about the weights."""
    if not isinstance(meta, dict) or not meta:
        return None
    facts = json.dumps({"name": served_name(model_id), "meta": meta}, sort_keys=True, default=str)
    return "meta-sha256:" + hashlib.sha256(facts.encode("utf-8")).hexdigest()


def _context(endpoint: Endpoint, props: dict[str, Any], n_ctx: int | None) -> int:
    """Context per request: what the server reports, capped by ``n_ctx``; else ``n_ctx`` or the default."""
    settings = props.get("default_generation_settings") or {}
    reported = int(settings.get("n_ctx") or 0) or endpoint.n_ctx
    if reported and n_ctx:
        return min(reported, n_ctx)
    return reported or n_ctx or DEFAULT_N_CTX


def _check_schema(endpoint: Endpoint) -> None:
    """One tiny request that only a server honouring the schema answers with the made-up mark."""
    sampling = Sampling(temperature=0.0)
    try:
        reply = endpoint.chat(
            _PROBE_MESSAGES, schema=PROBE_SCHEMA, max_tokens=24, sampling=sampling, timeout=_PROBE_TIMEOUT_S
        )
    except ServerRefused as exc:
        if exc.status in (400, 422, 501):
            raise ModelError(
                f"{endpoint.describe()} does not accept a JSON-schema response format: {exc.message}"
            ) from None
        raise
    try:
        honoured = json.loads(reply.text) == {"mark": _MARK}
    except ValueError:
        honoured = False
    if not honoured:
        raise ModelError(
            f"{endpoint.describe()} ignored the JSON schema of a probe request (it answered {reply.text[:60]!r}) "
            "— use a server that supports JSON-schema output, such as llama.cpp's llama-server"
        )
