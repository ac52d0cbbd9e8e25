"""`evaluator batch` and `evaluator calibrate`: many cases into the store, on threads or Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evaluator.cli.common import batch_backend, batch_options, err, reported, server_options
from evaluator.cli.gate import check_gate_files, write_gate_files
from evaluator.cli.options import (
    DEFAULT_DB,
    AllowRemoteOpt,
    ApiKeyEnvOpt,
    BackendOpt,
    BatchFolderArg,
    CaseTimeoutOpt,
    DbOpt,
    EndpointOpt,
    ExecutorKind,
    ExecutorOpt,
    JunitOpt,
    LockTimeoutOpt,
    ManifestOpt,
    MaxBytesOpt,
    MaxTokensOpt,
    ModelOpt,
    NCtxOpt,
    NGpuLayersOpt,
    ParallelOpt,
    ProfileOpt,
    PromptsOpt,
    ProseMode,
    ProseOpt,
    RayAddressOpt,
    SarifOpt,
    SeedOpt,
    ThreadsOpt,
    TrendFormat,
    TrustEnvOpt,
    WorkersOpt,
)
from evaluator.grounding.profiles import DEFAULT_PROFILE


def batch(
    folder: BatchFolderArg,
    db: DbOpt = DEFAULT_DB,
    manifest: ManifestOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Review at most N cases in this run.")] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    backend: BackendOpt = "llama-cpp",
    model: ModelOpt = None,
    n_ctx: NCtxOpt = None,
    threads: ThreadsOpt = None,
    seed: SeedOpt = 42,
    max_tokens: MaxTokensOpt = 2048,
    timeout: CaseTimeoutOpt = None,
    prompts_dir: PromptsOpt = None,
    max_bytes: MaxBytesOpt = 2_000_000,
    max_cases: Annotated[
        int, typer.Option("--max-cases", min=1, help="Refuse a folder with more designs than this; nothing is written.")
    ] = 10_000,
    parallel: ParallelOpt = "auto",
    junit: JunitOpt = None,
    sarif: SarifOpt = None,
    endpoint: EndpointOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    allow_remote: AllowRemoteOpt = False,
    trust_env: TrustEnvOpt = False,
    n_gpu_layers: NGpuLayersOpt = 0,
    executor: ExecutorOpt = ExecutorKind.thread,
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = None,
    lock_timeout: LockTimeoutOpt = None,
    prose: ProseOpt = ProseMode.auto,
) -> None:
    """Review every design of a folder into a DuckDB file; re-run the same command to resume.

    Designs are tech-design.EXT or *-design.EXT (no 'review' in the name; EXT: md, markdown, txt,
    docx, pdf, html, htm, rst, adoc, asciidoc), each paired with the nearest requirements.EXT or
    docs/requirements.EXT in its folder or a parent. Cases reviewed with the same inputs and
    settings are skipped. For other layouts --manifest lists the cases, one TOML table each:

        \b
        \\[\\[case]]
        key = "payments"                      # optional; default: the design path
        design = "payments/architecture.docx"  # relative to the manifest
        requirements = "specs/payments.pdf"

    --junit and --sarif write the gate's files (fail on critical findings) for this run's cases.
    While another program keeps the store open (a notebook, the DuckDB CLI), the batch waits
    and says every 30 s who holds it; --lock-timeout bounds the wait.
    Exit status: 0 when every case succeeded, 1 when some failed, 2 on a usage error or when
    nothing was found to review, 130 when stopped with Ctrl-C.
    """
    from evaluator.batch.cases import discover, from_manifest
    from evaluator.batch.run import run_batch
    from evaluator.cli.output import BatchProgress, StopFlag, print_summary

    check_gate_files(junit, sarif)  # before the night's work, not after it
    options = batch_options(
        db, profile, prompts_dir, limit, seed, max_tokens, timeout, parallel, lock_timeout, prose.setting,
        max_bytes=max_bytes, max_cases=max_cases,
    )  # fmt: skip
    server = server_options(endpoint, api_key_env, allow_remote, trust_env, n_gpu_layers)
    chosen = {"max_tokens": max_tokens, "parallel": options.parallel, **server}
    factory, runner = batch_backend(executor, ray_address, workers, backend, model, n_ctx, threads, **chosen)
    with reported(), StopFlag(err) as stop, BatchProgress(err) as progress:
        cases = from_manifest(manifest) if manifest else discover(folder)
        summary = run_batch(
            cases,
            options,
            backend=factory,
            source=str(folder),
            observer=progress,
            should_stop=stop.is_set,
            executor=runner,
        )
    print_summary(err, summary, db)
    if junit or sarif:
        write_gate_files(db, [o.case.key for o in summary.outcomes], junit, sarif)
    if summary.interrupted:
        raise typer.Exit(130)
    if summary.count("failed"):
        raise typer.Exit(1)


def calibrate(
    dataset: Annotated[Path, typer.Argument(help="Folder of labelled designs (a labels.toml beside each design).")],
    db: DbOpt = DEFAULT_DB,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Review at most N new cases in this run.")] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    backend: BackendOpt = "llama-cpp",
    model: ModelOpt = None,
    n_ctx: NCtxOpt = None,
    threads: ThreadsOpt = None,
    seed: SeedOpt = 42,
    max_tokens: MaxTokensOpt = 2048,
    timeout: CaseTimeoutOpt = None,
    prompts_dir: PromptsOpt = None,
    parallel: ParallelOpt = "auto",
    output_format: Annotated[TrendFormat, typer.Option("--format", "-f", help="Output format.")] = TrendFormat.table,
    endpoint: EndpointOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    allow_remote: AllowRemoteOpt = False,
    trust_env: TrustEnvOpt = False,
    n_gpu_layers: NGpuLayersOpt = 0,
    executor: ExecutorOpt = ExecutorKind.thread,
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = None,
    lock_timeout: LockTimeoutOpt = None,
    prose: ProseOpt = ProseMode.auto,
) -> None:
    """Review a dataset with planted defects and measure how well the model found them.

    Every labelled case is reviewed into the DuckDB file like `batch` does (re-run to resume;
    reviewed cases are not reviewed again), then defect recall, unmatched findings, score
    ranking, evidence and validity are reported and stored in calibration_runs,
    calibration_cases and calibration_matches. Exit status 0, or 130 when stopped with Ctrl-C.
    """
    from evaluator.batch.calibration import calibrate as run_calibration
    from evaluator.cli.output import BatchProgress, StopFlag, print_calibration, print_summary

    options = batch_options(
        db, profile, prompts_dir, limit, seed, max_tokens, timeout, parallel, lock_timeout, prose.setting
    )
    server = server_options(endpoint, api_key_env, allow_remote, trust_env, n_gpu_layers)
    chosen = {"max_tokens": max_tokens, "parallel": options.parallel, **server}
    factory, runner = batch_backend(executor, ray_address, workers, backend, model, n_ctx, threads, **chosen)
    with reported(), StopFlag(err) as stop, BatchProgress(err) as progress:
        result = run_calibration(
            dataset, options, backend=factory, observer=progress, should_stop=stop.is_set, executor=runner
        )
    print_summary(err, result.batch, db)
    print_calibration(result, output_format.value)
    if result.batch.interrupted:
        raise typer.Exit(130)


def precision(
    dataset: Annotated[Path, typer.Argument(help="Folder of judged real designs (judgements.toml or SOURCE.toml).")],
    db: DbOpt = DEFAULT_DB,
    template: Annotated[
        bool, typer.Option("--template", help="Append the findings nobody judged yet to each judgements.toml.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Review at most N new cases in this run.")] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    backend: BackendOpt = "llama-cpp",
    model: ModelOpt = None,
    n_ctx: NCtxOpt = None,
    threads: ThreadsOpt = None,
    seed: SeedOpt = 42,
    max_tokens: MaxTokensOpt = 2048,
    timeout: CaseTimeoutOpt = None,
    prompts_dir: PromptsOpt = None,
    parallel: ParallelOpt = "auto",
    output_format: Annotated[TrendFormat, typer.Option("--format", "-f", help="Output format.")] = TrendFormat.table,
    endpoint: EndpointOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    allow_remote: AllowRemoteOpt = False,
    trust_env: TrustEnvOpt = False,
    n_gpu_layers: NGpuLayersOpt = 0,
    prose: ProseOpt = ProseMode.auto,
) -> None:
    """Review judged real designs and report the precision of the blocking findings.

    Every design folder with a judgements.toml (or a SOURCE.toml) is reviewed into the DuckDB
    file like `batch` does; each critical and recommendation finding is looked up by its
    fingerprint among the verdicts a reviewer wrote (supported / false). Reported: precision
    (supported / judged), findings not judged yet, findings whose quote shows what they claim or
    that state an absence tied to a requirement, and approved designs judged "Requires Rework".
    --template appends the findings nobody judged yet for a person to fill in.
    """
    from evaluator.batch.precision import measure_precision, write_template
    from evaluator.cli.output import BatchProgress, StopFlag, print_precision, print_summary

    options = batch_options(db, profile, prompts_dir, limit, seed, max_tokens, timeout, parallel, prose=prose.setting)
    server = server_options(endpoint, api_key_env, allow_remote, trust_env, n_gpu_layers)
    chosen = {"max_tokens": max_tokens, "parallel": options.parallel, **server}
    factory, runner = batch_backend(ExecutorKind.thread, None, None, backend, model, n_ctx, threads, **chosen)
    with reported(), StopFlag(err) as stop, BatchProgress(err) as progress:
        result = measure_precision(
            dataset, options, backend=factory, observer=progress, should_stop=stop.is_set, executor=runner
        )
        written = write_template(result, dataset) if template else 0
    print_summary(err, result.batch, db)
    print_precision(result, output_format.value)
    if template:
        err.print(f"{written} finding(s) to judge appended to the judgements.toml files")
    if result.batch.interrupted:
        raise typer.Exit(130)
