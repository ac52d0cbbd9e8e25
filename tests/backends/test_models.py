from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import pytest

from evaluator.backends import ModelOptions, backend_factory
from evaluator.backends import catalogue as models
from evaluator.backends.catalogue import ModelFile, resolve_model, verify
from evaluator.backends.gguf import gguf_metadata
from evaluator.errors import ModelError


def _embedded_path() -> Path:
    """Where the embedded model's file is, found without resolving it."""
    entry = next(e for e in models.manifest() if e.default)
    spec = importlib.util.find_spec(entry.package or "")
    assert spec and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / entry.file


def test_a_unit_test_that_resolves_hashes_or_loads_the_real_model_fails() -> None:
    path = _embedded_path()
    with pytest.raises(pytest.fail.Exception, match="resolved the real model"):
        resolve_model(None)
    with pytest.raises(pytest.fail.Exception, match="resolved the real model"):
        backend_factory(ModelOptions()).model_info()
    with pytest.raises(pytest.fail.Exception, match="hashed the real model"):
        models.file_sha256(path)
    with pytest.raises(pytest.fail.Exception, match="loaded the real model"):
        gguf_metadata(path)


@pytest.mark.model
def test_default_model_comes_from_site_packages_and_matches_the_manifest() -> None:
    model = resolve_model(None)
    assert model.name == "smollm2-135m-instruct" and model.path == _embedded_path()
    assert "site-packages" in str(model.path) and model.path.name.endswith(".gguf")
    assert verify(model) == model.expected_sha256
    info = backend_factory(ModelOptions()).model_info()
    assert (info.name, info.digest, info.n_ctx, info.kind) == (model.name, model.expected_sha256, 8192, "llama-cpp")
    assert info.version == importlib.metadata.version("llama-cpp-python")


def test_a_tampered_file_fails_the_sha256_check(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 10)
    with pytest.raises(ModelError, match="does not match the manifest"):
        verify(ModelFile(name="m", path=path, n_ctx=512, expected_sha256="0" * 64))


def test_user_models_folder_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.gguf").write_bytes(b"GGUF....")
    assert resolve_model("mine").path == Path("models/mine.gguf")
    assert resolve_model(str(tmp_path / "models" / "mine.gguf")).name == "mine"
    with pytest.raises(ModelError, match="model path is not a file"):
        resolve_model(str(tmp_path / "models") + "/")


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = models.ManifestEntry(name="x", description="", file="f.gguf", package="no_such_pkg_here", default=True)
    monkeypatch.setattr(models, "manifest", lambda: [entry])
    with pytest.raises(ModelError, match="pip install no-such-pkg-here"):
        resolve_model(None)


@pytest.mark.model
def test_convert_makes_a_cached_copy_that_model_names_find(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The end-to-end test of `evaluator convert`."""
    from typer.testing import CliRunner

    from evaluator.backends.catalogue import file_sha256
    from evaluator.cli.main import app

    monkeypatch.setenv("EVALUATOR_CACHE", str(tmp_path))
    target = tmp_path / "models" / "smollm2-135m-instruct-q8_0.gguf"
    first = CliRunner().invoke(app, ["convert", "--type", "q8_0"])
    assert first.exit_code == 0, first.output
    assert first.stdout == "--model smollm2-135m-instruct-q8_0\n"
    digest = file_sha256(target)
    assert f"{target} (written, sha256 {digest[:12]}…)" in first.stderr.replace("\n", "")
    again = CliRunner().invoke(app, ["convert", "--type", "q8_0"])  # one-time: the second call reuses the file
    assert again.exit_code == 0 and "(already there," in again.stderr
    found = resolve_model("smollm2-135m-instruct-q8_0")
    assert found.path == target and found.path.read_bytes()[:4] == b"GGUF"
    assert digest != file_sha256(resolve_model(None).path)
    assert not list((tmp_path / "models").glob("*.partial"))
