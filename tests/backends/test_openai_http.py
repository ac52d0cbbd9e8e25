"""The HTTP backend against in-process fake servers: request forms, usage, errors, failover."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from evaluator.backends.base import Sampling
from evaluator.backends.endpoint import check_url
from evaluator.backends.fake import schema_instance
from evaluator.backends.openai_http import HttpOptions, OpenAIBackend, open_http_backend
from evaluator.errors import ContextError, GenerationError, ModelError
from evaluator.reviewer.engine import Reviewer, ReviewSettings
from tests.support.fake_server import FakeServer, transports

A, B = "http://127.0.0.1:8081", "http://127.0.0.1:8082"
MESSAGES = [{"role": "system", "content": "You review designs."}, {"role": "user", "content": "Review this."}]
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def open_backend(servers: dict[str, FakeServer], **options: Any) -> OpenAIBackend:
    return open_http_backend(HttpOptions(tuple(servers), **options), transport=transports(servers))


def generate(backend: OpenAIBackend, **kw: Any) -> Any:
    return backend.generate(MESSAGES, schema=SCHEMA, max_tokens=64, sampling=Sampling(seed=7), **kw)


def test_llama_server_gets_its_own_schema_field_and_reports_cache_hits() -> None:
    server = FakeServer("llama-server", n_ctx=4096, slots=3)
    backend = open_backend({A: server})
    gen = generate(backend)
    body = server.chats[-1]
    assert (backend.kind, backend.name, backend.n_ctx, backend.parallel) == ("llama-server", "smollm2", 4096, 3)
    assert body["json_schema"] == SCHEMA and "response_format" not in body
    assert (body["repeat_penalty"], body["seed"], body["max_tokens"], body["cache_prompt"]) == (1.1, 7, 64, True)
    assert (gen.text, gen.finish_reason, gen.prompt_tokens, gen.cached_tokens) == ('{"ok": true}', "stop", 30, 12)
    assert gen.prompt_seconds == pytest.approx(0.15)
    assert backend.count_tokens(MESSAGES) == 4  # the fake tokenizer: one token per word


def test_vllm_gets_the_openai_schema_form_and_its_repetition_penalty() -> None:
    server = FakeServer("vllm", n_ctx=16384)
    backend = open_backend({A: server}, slots=6)
    gen = generate(backend)
    body = server.chats[-1]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "review", "schema": SCHEMA, "strict": True},
    }
    assert body["repetition_penalty"] == 1.1 and "json_schema" not in body
    assert (backend.kind, backend.n_ctx, backend.parallel, gen.cached_tokens) == ("vllm", 16384, 6, 10)
    assert backend.count_tokens(MESSAGES) == 5


def test_ollama_gets_its_native_format_with_the_context_size() -> None:
    server = FakeServer("ollama", models=("qwen2.5:7b",))
    backend = open_backend({A: server}, n_ctx=6144)
    gen = generate(backend)
    body = server.chats[-1]
    assert body["format"] == SCHEMA
    assert body["options"] == {"temperature": 0.0, "seed": 7, "repeat_penalty": 1.1, "num_predict": 64, "num_ctx": 6144}
    assert (gen.prompt_tokens, gen.completion_tokens, gen.cached_tokens) == (30, 5, 0)
    assert gen.prompt_seconds == pytest.approx(0.25)
    asked = len(server.requests)
    assert backend.count_tokens(MESSAGES) >= len("You review designs.Review this.") // 3  # estimated on the high side
    assert len(server.requests) == asked  # Ollama has no tokenizer endpoint: nothing asked


def test_a_generic_server_gets_the_openai_form_and_the_context_asked_for() -> None:
    server = FakeServer("openai", models=("gpt-local",))
    backend = open_backend({A: server}, n_ctx=3000)
    generate(backend)
    assert backend.kind == "openai" and backend.n_ctx == 3000
    assert server.chats[-1]["response_format"]["json_schema"]["schema"] == SCHEMA


def test_the_server_context_caps_the_one_asked_for() -> None:
    backend = open_backend({A: FakeServer(n_ctx=2048)}, n_ctx=8192)
    assert backend.n_ctx == 2048


@pytest.mark.parametrize(
    ("server", "model", "message"),
    [
        (FakeServer(models=("a", "b")), "c", "has no model 'c' — it serves: a, b"),
        (FakeServer(models=("a", "b")), None, "serves several models or none (a, b)"),
        (FakeServer(ignore_schema=True), None, "ignored the JSON schema of a probe request"),
        (FakeServer("openai", status=400, error="unknown response_format"), None, "does not accept a JSON-schema"),
        (FakeServer(down=True), None, f"endpoint {A} did not answer"),
    ],
)
def test_an_unusable_endpoint_is_refused_in_one_line(server: FakeServer, model: str | None, message: str) -> None:
    with pytest.raises(ModelError) as info:
        open_backend({A: server}, model=model)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_context_too_small_for_a_review_is_refused_before_any_review() -> None:
    server = FakeServer(n_ctx=1024)
    with pytest.raises(ContextError, match="1024-token context; a review needs at least 3000"):
        open_http_backend(HttpOptions((A,)), required_ctx=3000, transport=transports({A: server}))


def test_endpoints_serving_different_models_are_refused() -> None:
    with pytest.raises(ModelError, match="serve different models"):
        open_backend({A: FakeServer(models=("x",)), B: FakeServer(models=("y",))})


def test_only_loopback_endpoints_unless_remote_ones_are_allowed() -> None:
    with pytest.raises(ModelError, match="not on this machine"):
        check_url("http://gpu-box.internal:8080/v1", allow_remote=False)
    assert check_url("http://gpu-box.internal:8080/v1/", allow_remote=True) == "http://gpu-box.internal:8080"
    assert check_url("http://[::1]:8080", allow_remote=False) == "http://[::1]:8080"
    assert check_url("http://localhost:11434", allow_remote=False) == "http://localhost:11434"
    with pytest.raises(ModelError, match="not an http"):
        check_url("ftp://127.0.0.1/", allow_remote=True)


def test_proxy_variables_are_not_followed_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert open_backend({A: FakeServer()}).endpoints[0].client.trust_env is False
    assert open_backend({A: FakeServer()}, trust_env=True).endpoints[0].client.trust_env is True


def test_the_api_key_is_sent_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-5e3c7a9d"
    monkeypatch.setenv("TEAM_LLM_KEY", secret)
    server = FakeServer()
    backend = open_backend({A: server}, api_key_env="TEAM_LLM_KEY")
    assert {h["authorization"] for h in server.headers} == {f"Bearer {secret}"}
    server.status, server.error = 500, f"internal error while handling key {secret}"
    with pytest.raises(GenerationError) as info:
        generate(backend)
    assert secret not in str(info.value) and "***" in str(info.value)


def test_a_missing_api_key_variable_is_named_without_a_value() -> None:
    with pytest.raises(ModelError, match="NO_SUCH_KEY_VARIABLE, named for the API key, is not set"):
        open_backend({A: FakeServer()}, api_key_env="NO_SUCH_KEY_VARIABLE")


@pytest.mark.parametrize(
    ("status", "error", "raised"),
    [
        (400, "request (9000 tokens) exceeds the available context size (4096 tokens)", ContextError),
        (401, "invalid api key", ModelError),
        (500, "grammar failed", GenerationError),
    ],
)
def test_error_statuses_become_one_line_errors(status: int, error: str, raised: type[Exception]) -> None:
    server = FakeServer()
    backend = open_backend({A: server})
    server.status, server.error = status, error
    with pytest.raises(raised) as info:
        generate(backend)
    assert f"status {status}" in str(info.value)


def test_a_request_whose_endpoint_dies_is_answered_by_another() -> None:
    a, b = FakeServer(slots=1), FakeServer(slots=1)
    backend = open_backend({A: a, B: b})
    a.down = True
    gen = generate(backend)
    assert gen.text == '{"ok": true}' and len(b.chats) == 2  # the probe, then this request
    assert backend.pool.healthy() == [backend.endpoints[1]]  # A is set aside


def test_a_busy_or_loading_server_is_treated_as_down_for_a_while() -> None:
    a, b = FakeServer(slots=1), FakeServer(slots=1)
    backend = open_backend({A: a, B: b})
    a.status = 503
    assert generate(backend).text == '{"ok": true}'
    assert backend.pool.healthy() == [backend.endpoints[1]]


def test_when_every_endpoint_stays_down_the_request_fails_in_one_line() -> None:
    a = FakeServer()
    backend = open_backend({A: a}, outage_s=0.05)
    a.down = True
    with pytest.raises(ModelError, match=r"no endpoint answered for 0.05 s \(last problem: http://127.0.0.1:8081"):
        generate(backend)


def test_a_passed_deadline_is_a_timeout_not_a_failure() -> None:
    backend = open_backend({A: FakeServer()})
    assert generate(backend, deadline=time.monotonic() - 1).finish_reason == "timeout"


def test_replies_are_validated_and_retried_by_the_reviewer(profile, prompts, requirements, design) -> None:  # type: ignore[no-untyped-def]
    """The server may drop the schema silently (llama.cpp #19051): the reviewer's retry still applies."""
    answers = iter(["Sure! Here is the review:", None])

    def answer(body: dict[str, Any]) -> str:
        if "mark" in json.dumps(body.get("json_schema")):
            return '{"mark": "zq-7"}'
        scripted = next(answers, None)
        return scripted if scripted is not None else json.dumps(schema_instance(body["json_schema"]))

    server = FakeServer(answer=answer, n_ctx=8192)
    backend = open_backend({A: server})
    settings = ReviewSettings(retries=1, questions=False)  # one prose pass: its retry is what is counted
    review = Reviewer(backend, profile, prompts, settings).review(requirements, design)
    assert review.processing is not None and review.processing.retries == 1
    assert review.usage is not None and review.usage.cached_tokens == 24  # two calls, 12 each
    assert review.model == "smollm2"


_GGUF = "/home/ci/models/SmolLM2-135M-Instruct-Q8_0.gguf"  # what llama-server lists when started with -m PATH
_META = {"vocab_type": 2, "n_vocab": 49152, "n_ctx_train": 8192, "n_embd": 576, "n_params": 134515008, "size": 144}


def test_a_served_gguf_is_recorded_by_file_name_with_an_identity_and_no_machine_path(tmp_path: Path) -> None:
    from evaluator.backends.fake import schema_output
    from evaluator.backends.openai_http import HttpFactory
    from evaluator.batch import BatchOptions, run_batch
    from evaluator.batch.cases import Case
    from evaluator.store import query

    def answer(body: dict[str, Any]) -> str:
        return schema_output(body["messages"], body.get("json_schema") or {})  # a valid review for the schema

    server = FakeServer("llama-server", models=(_GGUF,), meta=_META, answer=answer)
    backend = open_backend({A: server})
    assert backend.name == "SmolLM2-135M-Instruct-Q8_0.gguf"
    assert backend.info.digest and backend.info.digest.startswith("meta-sha256:") and "/home" not in backend.info.digest
    other = open_backend({A: FakeServer("llama-server", models=(_GGUF,), meta={**_META, "size": 145})})
    assert other.info.digest != backend.info.digest  # other weights, other identity
    assert server.chats[-1]["model"] == _GGUF  # requests still name the model as the server lists it

    (tmp_path / "requirements.md").write_text("# R\n\nFR-1: accept loans.\n")
    (tmp_path / "tech-design.md").write_text("# D\n\n## API\n\nPOST /loans accepts loans.\n")
    factory = HttpFactory(HttpOptions((A,)), transport=transports({A: server}))
    case = Case("d", tmp_path / "tech-design.md", tmp_path / "requirements.md")
    run_batch([case], BatchOptions(db=tmp_path / "e.duckdb"), backend=factory)
    names = query(tmp_path / "e.duckdb", "SELECT r.model_name, r.model_sha256, v.model_name FROM runs r JOIN reviews v "
                  "USING (run_id)")[1]  # fmt: skip
    assert names == [("SmolLM2-135M-Instruct-Q8_0.gguf", backend.info.digest, "SmolLM2-135M-Instruct-Q8_0.gguf")]
