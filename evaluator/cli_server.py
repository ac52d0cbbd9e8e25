"""The command-line options that choose where the model runs: model servers or a GPU in-process.

Shared by ``review``, ``batch``, ``calibrate`` and ``bench``; :func:`model_options` turns
them into :class:`~evaluator.backends.ModelOptions`. An API key is never an option: only
the name of the environment variable that holds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from evaluator.backends import ModelOptions
    from evaluator.bench.server import ServerBenchReport

EndpointOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--endpoint",
        help="URL of an OpenAI-compatible server (llama-server, vLLM, Ollama) to review with; repeat it to use "
        "several at once. --model is then the server's model id.",
    ),
]
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key-env", help="Name of the environment variable that holds the servers' API key (never the key)."
    ),
]
AllowRemoteOpt = Annotated[
    bool, typer.Option("--allow-remote", help="Allow endpoints that are not on this machine (refused otherwise).")
]
TrustEnvOpt = Annotated[
    bool, typer.Option("--trust-env", help="Reach the endpoints through HTTP_PROXY/HTTPS_PROXY (ignored otherwise).")
]
NGpuLayersOpt = Annotated[
    int,
    typer.Option(
        "--n-gpu-layers",
        min=-1,
        help="Model layers offloaded to the GPU in-process (-1: all); needs a GPU build of llama-cpp-python.",
    ),
]

# The option that sets each of these library settings, for EvaluatorError hints.
FLAGS = {
    "endpoints": "--endpoint",
    "api_key_env": "--api-key-env",
    "allow_remote": "--allow-remote",
    "trust_env": "--trust-env",
    "n_gpu_layers": "--n-gpu-layers",
}
# The instructions and requirements come on top of the review's own tokens; a server whose
# context per request cannot hold both is refused before any case (each case is checked again).
_PROMPT_FLOOR = 512


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


def print_server_bench(report: ServerBenchReport) -> None:
    """The servers alone at each concurrency beside the pipeline at the best one, and their ratio."""
    from rich.console import Console
    from rich.table import Table

    title = (
        f"bench: {report.model} on {report.server}, {report.slots} slot(s), {report.cases} case(s), "
        f"max {report.max_tokens} tokens"
    )
    table = Table("figure", "value", title=title)
    for n, tps in sorted(report.server_tps.items()):
        table.add_row(f"server alone, {n} in flight", f"{tps:.1f} tok/s ({report.server_requests_per_min[n]:.1f}/min)")
    table.add_row(
        f"pipeline, {report.best_concurrency} in flight",
        f"{report.pipeline_tps:.1f} tok/s ({report.pipeline_reviews_per_min:.1f} reviews/min, "
        f"{report.pipeline_retries} retries, {report.pipeline_failures} failed)",
    )
    ratio = report.ratio
    table.add_row("ratio: pipeline / server at the best concurrency", "-" if ratio is None else f"{ratio:.2f}")
    Console().print(table)
