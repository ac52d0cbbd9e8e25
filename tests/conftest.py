"""Shared fixtures: profiles, prompts, documents, a registry entry for scripted fakes, and
the guard that keeps unit tests off the real model.

Every test not marked ``model`` runs with :func:`guard_real_model` active: resolving,
hashing or loading a real GGUF file fails the test, which must pass a
:class:`~evaluator.backends.fake.FakeBackend` instead. Real-model fixtures live in
``tests/support/real.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import HealthCheck, settings

from evaluator.backends import ModelOptions, register_backend, unregister_backend
from evaluator.backends import catalogue as models
from evaluator.backends.fake import FakeBackend
from evaluator.documents.read import Document
from evaluator.grounding.profiles import Profile, load_profile
from evaluator.reviewer.prompts import Prompts
from tests.support.data import ROOT, doc

STUB_GGUF_BYTES = 1 << 20  # a .gguf larger than this is a real model, not a test's stub file

# A fixed budget for CI: the same examples every run, no example database, no deadline
# (a shared 2-core machine stalls at random). `HYPOTHESIS_PROFILE=dev` explores anew.
settings.register_profile(
    "ci", max_examples=100, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _refuse(what: str, path: Path) -> NoReturn:
    pytest.fail(f"a unit test {what} the real model {path}: pass a FakeBackend, or mark the test `model`")


def guard_real_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, resolving, hashing or loading a GGUF larger than a stub fails the test."""
    import llama_cpp.llama_cpp as lib

    check, sha256 = models.check_gguf, models.file_sha256

    def checked(path: Path) -> None:
        check(path)
        if path.stat().st_size > STUB_GGUF_BYTES:
            _refuse("resolved", path)

    def hashed(path: Path) -> str:
        if path.is_file() and path.stat().st_size > STUB_GGUF_BYTES:
            _refuse("hashed", path)
        return sha256(path)

    def loaded(path: bytes, params: Any) -> Any:
        _refuse("loaded", Path(os.fsdecode(path)))

    monkeypatch.setattr(models, "check_gguf", checked)
    monkeypatch.setattr(models, "file_sha256", hashed)
    monkeypatch.setattr(lib, "llama_model_load_from_file", loaded)


@pytest.fixture(autouse=True)
def _no_real_model_in_unit_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("model") is None and request.node.get_closest_marker("server") is None:
        guard_real_model(monkeypatch)


@pytest.fixture
def scripted_backend() -> Iterator[Callable[[FakeBackend], str]]:
    """Register a fake under a backend name for this test (for CLI tests); returns the name."""
    names: list[str] = []

    def register(fake: FakeBackend) -> str:
        name = f"scripted-{len(names)}"
        register_backend(name, lambda options: _sized(fake, options))
        names.append(name)
        return name

    yield register
    for name in names:
        unregister_backend(name)


def _sized(fake: FakeBackend, options: ModelOptions) -> FakeBackend:
    if options.n_ctx:
        fake.n_ctx = options.n_ctx
    return fake


@pytest.fixture(scope="session")
def profile() -> Profile:
    return load_profile()


@pytest.fixture(scope="session")
def prompts() -> Prompts:
    return Prompts()


@pytest.fixture
def requirements() -> Document:
    return doc("# Requirements\n\nFR-1: accept loan applications asynchronously (202 Accepted).\n", "requirements.md")


@pytest.fixture
def design() -> Document:
    return doc(
        "# Loan API design\n\n## Data Model\n\nThe pan_number column is stored in plain text.\n\n"
        "## API Design\n\nPOST /v1/applications returns 202 Accepted.\n",
        "tech-design.md",
    )


# --- the real model, loaded once per session (tests marked `model` only) --------------------

REAL_PARALLEL = 4  # slots of the session's model: what `batch --parallel auto` picks on this machine


@pytest.fixture(scope="session")
def real_model() -> Iterator[Any]:
    """The embedded model, loaded once for every real-model test, with four sequence slots."""
    from evaluator.backends.gguf import GGUFFactory

    with GGUFFactory(ModelOptions()).open(REAL_PARALLEL) as backend:
        yield backend


@pytest.fixture(scope="session")
def real_factory(real_model: Any) -> Any:
    """The session's model as a backend factory: opening it gives it back, still loaded."""
    from evaluator.backends import Opened
    from evaluator.backends.gguf import GGUFFactory

    return Opened(real_model, GGUFFactory(ModelOptions()).memory())


@pytest.fixture(scope="session")
def real_batch(tmp_path_factory: pytest.TempPathFactory, real_factory: Any) -> Any:
    """The one real batch of the session, whose rows many tests read; see :mod:`tests.support.real`."""
    from tests.support.real import run_shared_batch

    return run_shared_batch(tmp_path_factory.mktemp("real-batch"), real_factory)


# --- one local Ray cluster per test session (tests marked `ray` only) -------------------------


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A local Ray instance on 127.0.0.1 (2 CPUs, no dashboard, no usage statistics) for the whole session.

    Its workers import this checkout (``tests.support.ray_workers`` and ``evaluator``) through PYTHONPATH,
    which Ray's processes inherit.
    """
    from evaluator.batch.ray_executor import import_ray

    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    ray = import_ray(local=True)
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield ray
    ray.shutdown()
