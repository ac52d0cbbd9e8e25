"""The lazy registry of model backends: a name (``ModelOptions.backend``) to a factory.

A backend is registered as a *maker*: a function of :class:`ModelOptions` that returns a
:class:`~evaluator.backends.base.BackendFactory`. Makers import their module only when
called, so ``evaluator --help`` never loads llama.cpp. Built in:

- ``llama-cpp``: the in-process llama.cpp engine over a local GGUF file (the default);
- ``openai``: one or more OpenAI-compatible servers (llama-server, vLLM, Ollama) over HTTP;
- ``fake``: answers every call with a valid document for the schema, no model at all.

Other backends register themselves with :func:`register_backend` in the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from evaluator.backends.base import Backend, BackendFactory, ModelOptions
from evaluator.errors import ModelError

Maker = Callable[[ModelOptions], BackendFactory]
_MAKERS: dict[str, Maker] = {}


def register_backend(name: str, maker: Maker) -> None:
    """Make ``name`` usable as ``ModelOptions(backend=name)``; a later registration replaces an earlier one."""
    _MAKERS[name] = maker


def unregister_backend(name: str) -> None:
    """Forget ``name`` (tests register scripted fakes for one test)."""
    _MAKERS.pop(name, None)


def backend_names() -> list[str]:
    """The registered backend names, sorted."""
    return sorted(_MAKERS)


def backend_factory(options: ModelOptions | None = None) -> BackendFactory:
    """The factory for ``options.backend``; raises :class:`ModelError` for an unknown name."""
    options = options or ModelOptions()
    maker = _MAKERS.get(options.backend)
    if maker is None:
        raise ModelError(
            f"unknown backend '{options.backend}' — use one of: {', '.join(backend_names())}", settings=("backend",)
        )
    return maker(options)


def open_backend(options: ModelOptions | None = None, parallel: int = 1) -> AbstractContextManager[Backend]:
    """Open the backend ``options`` names: ``with open_backend(ModelOptions()) as backend: ...``."""
    return backend_factory(options).open(parallel)


def _llama_cpp(options: ModelOptions) -> BackendFactory:
    from evaluator.backends.gguf import GGUFFactory

    return GGUFFactory(options)


def _fake(options: ModelOptions) -> BackendFactory:
    from evaluator.backends.fake import FakeBackend

    return FakeBackend.answering(n_ctx=options.n_ctx or 8192)


def _openai(options: ModelOptions) -> BackendFactory:
    from evaluator.backends.openai_http import HttpFactory, HttpOptions

    if not options.endpoints:
        raise ModelError("the openai backend needs the URL of at least one server", settings=("endpoints",))
    return HttpFactory(
        HttpOptions(
            options.endpoints,
            model=options.model,
            api_key_env=options.api_key_env,
            allow_remote=options.allow_remote,
            trust_env=options.trust_env,
            n_ctx=options.n_ctx,
            slots=options.slots,
            min_ctx=options.min_ctx,
        )
    )


register_backend("llama-cpp", _llama_cpp)
register_backend("fake", _fake)
register_backend("openai", _openai)
