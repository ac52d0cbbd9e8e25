"""Model backends behind one small interface (:mod:`.base`), found by name in a lazy registry
(:mod:`.registry`): ``llama-cpp`` (:mod:`.gguf` locates and sizes a local GGUF file, :mod:`.llama_cpp`
runs it on the batched :mod:`.engine`), ``openai`` (:mod:`.openai_http` over one or more servers),
``fake`` (:mod:`.fake`). The models known by name are in :mod:`.catalogue`; :mod:`.quantize`
makes faster copies of them. Nothing heavy is imported here: ``evaluator --help`` stays fast."""

from evaluator.backends.base import (
    DEFAULT_BACKEND,
    Backend,
    BackendFactory,
    Generation,
    MemoryNeeds,
    Message,
    ModelInfo,
    ModelOptions,
    Opened,
    Sampling,
)
from evaluator.backends.registry import (
    backend_factory,
    backend_names,
    open_backend,
    register_backend,
    unregister_backend,
)

__all__ = [
    "DEFAULT_BACKEND",
    "Backend",
    "BackendFactory",
    "Generation",
    "MemoryNeeds",
    "Message",
    "ModelInfo",
    "ModelOptions",
    "Opened",
    "Sampling",
    "backend_factory",
    "backend_names",
    "open_backend",
    "register_backend",
    "unregister_backend",
]
