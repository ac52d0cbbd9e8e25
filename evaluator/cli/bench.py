"""``evaluator bench``: in-process engine and pipeline figures, or model servers beside the pipeline.

Its shared helpers (error wrapper, spinner, backend choice) come from :mod:`evaluator.cli.common`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evaluator.cli.common import model_factory, reported, server_options, spinner
from evaluator.cli.options import (
    AllowRemoteOpt,
    ApiKeyEnvOpt,
    EndpointOpt,
    ModelOpt,
    NCtxOpt,
    NGpuLayersOpt,
    ParallelOpt,
    ThreadsOpt,
    TrustEnvOpt,
    parallel_count,
)

if TYPE_CHECKING:
    from evaluator.backends import BackendFactory


def bench(
    cases: Annotated[
        Path, typer.Option("--cases", help="Folder of cases sharing requirements (the first --max-cases are used).")
    ] = Path("datasets/clinic-appointments"),
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    n_ctx: NCtxOpt = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Repetitions of each raw measurement (median).")] = 3,
    gen_tokens: Annotated[int, typer.Option("--gen-tokens", min=8, help="Tokens generated per raw measurement.")] = 128,
    max_cases: Annotated[int, typer.Option("--max-cases", min=1, help="Cases run through the pipeline.")] = 8,
    parallel: ParallelOpt = "auto",
    max_tokens: Annotated[int, typer.Option(min=256, help="Most tokens the model may write per review.")] = 2048,
    naive: Annotated[bool, typer.Option(help="Also time one `evaluator review` process per case.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    endpoint: EndpointOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    allow_remote: AllowRemoteOpt = False,
    trust_env: TrustEnvOpt = False,
    n_gpu_layers: NGpuLayersOpt = 0,
) -> None:
    """Measure raw engine speed, the review pipeline (one case at a time and --parallel together),
    grammar cost, KV-cache reuse and memory, against a naive one-process-per-case loop.

    Everything is measured side by side in one run (these machines are noisy): compare the
    ratios, not single times. Takes minutes: each case is a full review. With --endpoint:
    the servers alone at 1/2/4/8 requests in flight beside the pipeline through them.
    """
    import json

    if endpoint:
        server = server_options(endpoint, api_key_env, allow_remote, trust_env, n_gpu_layers)
        factory = model_factory("llama-cpp", model, n_ctx, threads, parallel=parallel_count(parallel), **server)
        return _bench_servers(factory, cases, max_cases, max_tokens, as_json)

    from evaluator.backends import ModelOptions
    from evaluator.batch.cases import discover
    from evaluator.bench.local import BenchOptions, run_bench
    from evaluator.cli.output import print_bench
    from evaluator.reviewer.engine import ReviewSettings

    options = BenchOptions(
        model=ModelOptions(model, n_ctx, threads, n_gpu_layers=n_gpu_layers),
        runs=runs,
        gen_tokens=gen_tokens,
        max_cases=max_cases,
        naive=naive,
        parallel=parallel_count(parallel),
        settings=ReviewSettings(max_tokens=max_tokens),
    )
    with reported(), spinner() as update:
        report = run_bench(discover(cases), options, update)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_bench(report)


def _bench_servers(factory: BackendFactory, cases: Path, max_cases: int, max_tokens: int, as_json: bool) -> None:
    import json

    from evaluator.batch.cases import discover
    from evaluator.bench.server import bench_servers
    from evaluator.cli.output import print_server_bench
    from evaluator.reviewer.engine import ReviewSettings

    with reported(), spinner() as update:
        report = bench_servers(discover(cases)[:max_cases], factory, ReviewSettings(max_tokens=max_tokens), update)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_server_bench(report)
