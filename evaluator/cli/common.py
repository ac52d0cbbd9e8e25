"""What the commands share: the one-line error contract, the spinner, and turning the model,
server and batch options into library objects.

Every command module imports these from here (never from :mod:`.main`, which only builds
the app and registers the commands). An API key is never an option: only the name of the
environment variable that holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from evaluator.cli.options import ExecutorKind, parallel_count
from evaluator.errors import EvaluatorError

if TYPE_CHECKING:
    from evaluator.backends import BackendFactory, ModelOptions
    from evaluator.batch.plan import BatchOptions
    from evaluator.batch.ray_executor import RayExecutor


class _Stderr(Console):
    """Standard error: on a terminal rich wraps lines to its width; piped or redirected there is no
    width, so a progress or hint line stays one line (a command in it can be copied whole)."""

    @property
    def soft_wrap(self) -> bool:
        return not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        pass  # decided by where the output goes, when it is written


err = _Stderr(stderr=True, highlight=False)

# The option that sets each library setting an error names (EvaluatorError.settings).
FLAGS = {
    "backend": "--backend", "model": "--model", "n_ctx": "--n-ctx", "parallel": "--parallel", "db": "--db",
    "max_bytes": "--max-bytes", "max_cases": "--max-cases", "case_key": "--case-key", "since": "--since",
    "cases": "--case/--cases", "endpoints": "--endpoint", "api_key_env": "--api-key-env",
    "allow_remote": "--allow-remote", "trust_env": "--trust-env", "n_gpu_layers": "--n-gpu-layers",
    "waivers": "--waivers", "baseline": "--baseline",
    "lock_timeout": "--lock-timeout", "prose": "--prose",
}  # fmt: skip
# The instructions and requirements come on top of the review's own tokens; a server whose
# context per request cannot hold both is refused before any case (each case is checked again).
_PROMPT_FLOOR = 512


@contextmanager
def reported() -> Iterator[None]:
    """Turn an EvaluatorError into one line on stderr (with the flags that fix it) and its exit status."""
    try:
        yield
    except EvaluatorError as exc:
        flags = [FLAGS[name] for name in exc.settings if name in FLAGS]
        hint = f" (see {', '.join(flags)})" if flags else ""
        err.print(f"[bold red]error:[/] {escape(str(exc))}{hint}", soft_wrap=True)  # a message may hold [brackets]
        raise typer.Exit(exc.exit_code) from None


@contextmanager
def spinner() -> Iterator[Callable[[str], None]]:
    """A spinner on stderr that the core updates through a plain callback; gone when the block ends."""
    status = err.status("starting")
    status.start()
    try:
        yield lambda message: status.update(message)
    finally:
        status.stop()


def server_options(
    endpoint: list[str] | None, api_key_env: str | None, allow_remote: bool, trust_env: bool, n_gpu_layers: int
) -> dict[str, Any]:
    """The server and GPU options of a command, as the keywords of :func:`model_options`."""
    return {
        "endpoints": endpoint,
        "api_key_env": api_key_env,
        "allow_remote": allow_remote,
        "trust_env": trust_env,
        "n_gpu_layers": n_gpu_layers,
    }


def model_options(
    backend: str,
    model: str | None,
    n_ctx: int | None,
    threads: int | None,
    *,
    endpoints: list[str] | None = None,
    api_key_env: str | None = None,
    allow_remote: bool = False,
    trust_env: bool = False,
    n_gpu_layers: int = 0,
    parallel: int | None = None,
    max_tokens: int = 0,
) -> ModelOptions:
    """The backend choice: ``--endpoint`` selects the ``openai`` backend, unless another is named."""
    from evaluator.backends import DEFAULT_BACKEND, ModelOptions
    from evaluator.errors import ModelError

    if endpoints and backend not in (DEFAULT_BACKEND, "openai"):
        raise ModelError(f"endpoints are for the openai backend, not '{backend}'", settings=("backend", "endpoints"))
    return ModelOptions(
        model,
        n_ctx,
        threads,
        "openai" if endpoints else backend,
        n_gpu_layers=n_gpu_layers,
        endpoints=tuple(endpoints or ()),
        api_key_env=api_key_env,
        allow_remote=allow_remote,
        trust_env=trust_env,
        slots=parallel,
        min_ctx=max_tokens + _PROMPT_FLOOR if max_tokens else 0,
    )


def model_factory(
    backend: str, model: str | None, n_ctx: int | None, threads: int | None, **server: Any
) -> BackendFactory:
    """The backend factory the options name (``server``: the keywords of :func:`model_options`)."""
    from evaluator.backends import backend_factory

    with reported():
        return backend_factory(model_options(backend, model, n_ctx, threads, **server))


def batch_backend(
    kind: ExecutorKind, ray_address: str | None, workers: int | None, *model_args: Any, **model_kwargs: Any
) -> tuple[BackendFactory, RayExecutor | None]:
    """`batch`/`calibrate`: the model :func:`model_options` names, and the executor (None: threads) to open it in.

    Both are checked before any case is read: a model that cannot be found, a missing Ray.
    """
    from evaluator.backends import backend_factory

    with reported():
        chosen = model_options(*model_args, **model_kwargs)
        return backend_factory(chosen), executor_for(kind, ray_address, workers, chosen)


def batch_options(
    db: Path,
    profile: str,
    prompts_dir: Path | None,
    limit: int | None,
    seed: int,
    max_tokens: int,
    timeout: float | None,
    parallel: str,
    lock_timeout: float | None = None,
    prose: bool | None = None,
    **limits: Any,
) -> BatchOptions:
    """The options `batch` and `calibrate` share, built in one place."""
    from evaluator.backends import Sampling
    from evaluator.batch.plan import BatchOptions
    from evaluator.reviewer.engine import ReviewSettings

    settings = ReviewSettings(max_tokens=max_tokens, sampling=Sampling(seed=seed), timeout_s=timeout, prose=prose)
    return BatchOptions(
        db=db,
        profile=profile,
        settings=settings,
        prompts_dir=prompts_dir,
        limit=limit,
        parallel=parallel_count(parallel),
        lock_timeout=lock_timeout,
        **limits,
    )


def executor_for(
    kind: ExecutorKind, address: str | None, workers: int | None, model: ModelOptions
) -> RayExecutor | None:
    """The executor `--executor` names (None: the batch's threads); Ray's actors open ``model`` themselves.

    Raises :class:`~evaluator.errors.ClusterError` when Ray is not installed or nothing
    answers at ``address``.
    """
    if kind is ExecutorKind.thread:
        if address or workers:
            raise typer.BadParameter("only with --executor ray", param_hint="--ray-address/--workers")
        return None
    from functools import partial

    from evaluator.backends import backend_factory
    from evaluator.batch.ray_executor import RayExecutor, import_ray

    import_ray(local=address is None)
    executor = RayExecutor(partial(backend_factory, model), address, workers)
    executor.check_address()  # before the store records a run
    return executor
