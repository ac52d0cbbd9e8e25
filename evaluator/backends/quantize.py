"""A one-time copy of a model in a quantisation type llama.cpp runs faster on this CPU.

The embedded SmolLM2 file is Q4_1, which misses llama.cpp's fast CPU paths (llamafile
sgemm and the AVX2 repacking cover Q8_0 and Q4_0). ``evaluator convert`` requantises it
once into the cache folder; ``--model NAME-q8_0`` then finds it there, and every run
records the file's sha256 as for any model. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from evaluator.backends.catalogue import ModelFile, converted_models_dir, resolve_model, verify
from evaluator.errors import ModelError

TYPES = {"q8_0": 7, "q4_0": 2}  # llama_ftype: LLAMA_FTYPE_MOSTLY_Q8_0, LLAMA_FTYPE_MOSTLY_Q4_0


def convert(spec: str | None, qtype: str, threads: int | None = None) -> tuple[ModelFile, bool]:
    """Requantise the model ``spec`` into ``qtype``; return it and whether it was made now."""
    if qtype not in TYPES:
        raise ModelError(f"unknown quantisation type '{qtype}' — use one of: {', '.join(TYPES)}")
    source = resolve_model(spec)
    verify(source)
    name = f"{source.name}-{qtype}"
    target = converted_models_dir() / f"{name}.gguf"
    if target.is_file():
        return ModelFile(name=name, path=target, n_ctx=source.n_ctx), False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".gguf.partial")  # renamed only when complete: a crash leaves no half model
    _quantize(source.path, partial, TYPES[qtype], threads)
    partial.replace(target)
    return ModelFile(name=name, path=target, n_ctx=source.n_ctx), True


def _quantize(source: Path, target: Path, ftype: int, threads: int | None) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize, params.nthread = ftype, True, threads or 0
    from llama_cpp._utils import suppress_stdout_stderr

    with suppress_stdout_stderr(disable=False):  # llama.cpp logs a line per tensor
        status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params)
    if status != 0:
        target.unlink(missing_ok=True)
        raise ModelError(f"llama.cpp could not convert {source} (status {status}) — is there room in {target.parent}?")
