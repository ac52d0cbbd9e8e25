"""Command-line adapter: options in, one library call, result out.

No SQL, templates or model calls here. Expected failures arrive as EvaluatorError and are
printed as one line on stderr with a non-zero exit; anything else is a bug.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from evaluator import cli_coverage, cli_gate, cli_status
from evaluator.cli_help import plain_help_labels
from evaluator.cli_options import (
    DEFAULT_DB,
    BackendOpt,
    BatchFolderArg,
    CaseTimeoutOpt,
    DbOpt,
    DesignOpt,
    ExecutorKind,
    ExecutorOpt,
    ExportFormat,
    IngestPathsArg,
    JunitOpt,
    ManifestOpt,
    MaxBytesOpt,
    MaxTokensOpt,
    ModelOpt,
    NCtxOpt,
    ParallelOpt,
    ProfileOpt,
    PromptsOpt,
    QuantType,
    RayAddressOpt,
    RequirementsOpt,
    SarifOpt,
    SeedOpt,
    TableFormat,
    ThreadsOpt,
    TrendBy,
    TrendFormat,
    WorkersOpt,
    batch_options,
    executor_for,
)
from evaluator.cli_server import FLAGS as SERVER_FLAGS
from evaluator.cli_server import (
    AllowRemoteOpt,
    ApiKeyEnvOpt,
    EndpointOpt,
    NGpuLayersOpt,
    TrustEnvOpt,
    model_options,
)
from evaluator.errors import EvaluatorError, GenerationError
from evaluator.grounding.profiles import DEFAULT_PROFILE
from evaluator.version import __version__

if TYPE_CHECKING:
    from evaluator.backends import BackendFactory
    from evaluator.batch.ray_executor import RayExecutor

app = typer.Typer(
    help="Offline reviews of technical design documents by a local GGUF model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",  # help texts escape their brackets for it: \\[\\[case]]
)
plain_help_labels()
err = Console(stderr=True, highlight=False)

# The option that sets each library setting an error names (EvaluatorError.settings).
FLAGS = {
    "backend": "--backend", "model": "--model", "n_ctx": "--n-ctx", "parallel": "--parallel", "db": "--db",
    "max_bytes": "--max-bytes", "max_cases": "--max-cases", "case_key": "--case-key", "since": "--since",
    "cases": "--case/--cases",
} | SERVER_FLAGS  # fmt: skip


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
def _spinner() -> Iterator[Callable[[str], None]]:
    """A spinner on stderr that the core updates through a plain callback; gone when the block ends."""
    status = err.status("starting")
    status.start()
    try:
        yield lambda message: status.update(message)
    finally:
        status.stop()


def _factory(backend: str, model: str | None, n_ctx: int | None, threads: int | None, **server: Any) -> BackendFactory:
    """The backend factory the options name (``server``: the keywords of :func:`model_options`)."""
    from evaluator.backends import backend_factory

    with reported():
        return backend_factory(model_options(backend, model, n_ctx, threads, **server))


def _batch_backend(
    kind: ExecutorKind, ray_address: str | None, workers: int | None, *model_args: Any, **model_kwargs: Any
) -> tuple[BackendFactory, RayExecutor | None]:
    """`batch`/`calibrate`: the model :func:`model_options` names, and the executor (None: threads) to open it in.

    Both are checked before any case is read: a model that cannot be found, a missing Ray.
    """
    from evaluator.backends import backend_factory

    with reported():
        chosen = model_options(*model_args, **model_kwargs)
        return backend_factory(chosen), executor_for(kind, ray_address, workers, chosen)


def _server(
    endpoint: list[str] | None, api_key_env: str | None, allow_remote: bool, trust_env: bool, n_gpu_layers: int
) -> dict[str, Any]:
    return {
        "endpoints": endpoint,
        "api_key_env": api_key_env,
        "allow_remote": allow_remote,
        "trust_env": trust_env,
        "n_gpu_layers": n_gpu_layers,
    }


@app.command()
def review(
    requirements: RequirementsOpt,
    design: DesignOpt,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the review here instead of to stdout.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured review as JSON, not markdown.")] = False,
    profile: ProfileOpt = DEFAULT_PROFILE,
    backend: BackendOpt = "llama-cpp",
    model: ModelOpt = None,
    n_ctx: NCtxOpt = None,
    threads: ThreadsOpt = None,
    temperature: Annotated[float, typer.Option(min=0.0, help="Sampling temperature; 0 is deterministic.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Sampling seed, passed with every call.")] = 42,
    max_tokens: Annotated[
        int, typer.Option(min=256, help="Most tokens the model may write for the review (summary pass).")
    ] = 2048,
    prompts_dir: PromptsOpt = None,
    max_bytes: MaxBytesOpt = 2_000_000,
    endpoint: EndpointOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    allow_remote: AllowRemoteOpt = False,
    trust_env: TrustEnvOpt = False,
    n_gpu_layers: NGpuLayersOpt = 0,
) -> None:
    """Review one design against its requirements, in the reviewer's markdown format.

    Example: evaluator review -r docs/requirements.md -d tech-design.md -o tech-design-review.md
    """
    from evaluator.api import review_files
    from evaluator.backends import Sampling
    from evaluator.cli_output import print_cost
    from evaluator.review.render import render_markdown
    from evaluator.reviewer.engine import ReviewSettings

    settings = ReviewSettings(max_tokens=max_tokens, sampling=Sampling(temperature=temperature, seed=seed))
    server = _server(endpoint, api_key_env, allow_remote, trust_env, n_gpu_layers)
    factory = _factory(backend, model, n_ctx, threads, max_tokens=max_tokens, **server)
    with reported():
        try:
            with _spinner() as update:
                result = review_files(
                    requirements,
                    design,
                    backend=factory,
                    profile=profile,
                    settings=settings,
                    prompts_dir=prompts_dir,
                    max_bytes=max_bytes,
                    progress=update,
                )
        except GenerationError as exc:
            raw_path = (output or Path(design.stem + "-review.md")).with_suffix(".raw.txt")
            raw_path.write_text(exc.raw, encoding="utf-8")
            raise GenerationError(f"{exc} — the raw output is in {raw_path}") from None
    text = result.model_dump_json(indent=2) + "\n" if as_json else render_markdown(result)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"review written to {output}")
    else:
        sys.stdout.write(text)
    print_cost(err, result)


@app.command()
def profiles(prompts_dir: PromptsOpt = None) -> None:
    """List the reviewer profiles, with their section and checklist counts."""
    from evaluator.grounding.profiles import available_profiles, load_profile

    with reported():
        for name in available_profiles(prompts_dir):
            p = load_profile(name, prompts_dir)
            print(f"{name}\t{len(p.sections)} sections, {len(p.checklist)} checklist items\t{p.title}")


@app.command()
def models() -> None:
    """List the models known by name (none is ever downloaded)."""
    from evaluator.backends.catalogue import manifest

    for entry in manifest():
        default = " (default)" if entry.default else ""
        print(f"{entry.name}{default}\tcontext {entry.n_ctx}\t{entry.description}")


@app.command()
def convert(
    model: ModelOpt = None,
    qtype: Annotated[
        QuantType, typer.Option("--type", help="q8_0: nearly lossless; q4_0: smaller, faster, some loss.")
    ] = QuantType.q8_0,
    threads: ThreadsOpt = None,
) -> None:
    """Make a one-time copy of a model in a type llama.cpp runs faster here (into the cache folder).

    The copy is used with `--model NAME-TYPE` (printed at the end); runs record its sha256.
    The cache folder is $EVALUATOR_CACHE, else $XDG_CACHE_HOME/evaluator, else ~/.cache/evaluator.
    """
    from evaluator.backends.catalogue import file_sha256
    from evaluator.backends.quantize import convert as convert_model

    with reported():
        converted, made = convert_model(model, qtype.value, threads)
    state = "written" if made else "already there"
    err.print(f"{converted.path} ({state}, sha256 {file_sha256(converted.path.resolve())[:12]}…)", soft_wrap=True)
    print(f"--model {converted.name}")


@app.command()
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
    Exit status: 0 when every case succeeded, 1 when some failed, 2 on a usage error or when
    nothing was found to review, 130 when stopped with Ctrl-C.
    """
    from evaluator.batch.cases import discover, from_manifest
    from evaluator.batch.run import run_batch
    from evaluator.cli_output import BatchProgress, StopFlag, print_summary

    options = batch_options(
        db, profile, prompts_dir, limit, seed, max_tokens, timeout, parallel, max_bytes=max_bytes, max_cases=max_cases
    )
    server = _server(endpoint, api_key_env, allow_remote, trust_env, n_gpu_layers)
    chosen = {"max_tokens": max_tokens, "parallel": options.parallel, **server}
    factory, runner = _batch_backend(executor, ray_address, workers, backend, model, n_ctx, threads, **chosen)
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
        cli_gate.write_gate_files(db, [o.case.key for o in summary.outcomes], junit, sarif)
    if summary.interrupted:
        raise typer.Exit(130)
    if summary.count("failed"):
        raise typer.Exit(1)


@app.command()
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
) -> None:
    """Review a dataset with planted defects and measure how well the model found them.

    Every labelled case is reviewed into the DuckDB file like `batch` does (re-run to resume;
    reviewed cases are not reviewed again), then defect recall, unmatched findings, score
    ranking, evidence and validity are reported and stored in calibration_runs,
    calibration_cases and calibration_matches. Exit status 0, or 130 when stopped with Ctrl-C.
    """
    from evaluator.batch.calibration import calibrate as run_calibration
    from evaluator.cli_output import BatchProgress, StopFlag, print_calibration, print_summary

    options = batch_options(db, profile, prompts_dir, limit, seed, max_tokens, timeout, parallel)
    server = _server(endpoint, api_key_env, allow_remote, trust_env, n_gpu_layers)
    chosen = {"max_tokens": max_tokens, "parallel": options.parallel, **server}
    factory, runner = _batch_backend(executor, ray_address, workers, backend, model, n_ctx, threads, **chosen)
    with reported(), StopFlag(err) as stop, BatchProgress(err) as progress:
        result = run_calibration(
            dataset, options, backend=factory, observer=progress, should_stop=stop.is_set, executor=runner
        )
    print_summary(err, result.batch, db)
    print_calibration(result, output_format.value)
    if result.batch.interrupted:
        raise typer.Exit(130)


@app.command()
def sql(
    statement: Annotated[str, typer.Argument(help='One SQL statement, e.g. "SELECT * FROM latest_reviews".')],
    db: DbOpt = DEFAULT_DB,
    output_format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
) -> None:
    """Query the store read-only; statements that write, attach or load are refused."""
    from evaluator.cli_output import print_rows
    from evaluator.store import query

    with reported():
        columns, rows = query(db, statement)
    print_rows(columns, rows, output_format.value)


@app.command()
def export(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write one file per table into.")],
    db: DbOpt = DEFAULT_DB,
    output_format: Annotated[ExportFormat, typer.Option("--format", "-f", help="File format.")] = ExportFormat.parquet,
) -> None:
    """Export every table of the store as Parquet or CSV files."""
    from evaluator.store import export as export_tables

    with reported():
        paths = export_tables(db, out_dir, output_format.value)
    for path in paths:
        print(path)


@app.command()
def trends(
    db: DbOpt = DEFAULT_DB,
    by: Annotated[TrendBy, typer.Option("--by", help="One series per case, model, profile or prompt.")] = TrendBy.case,
    output_format: Annotated[TrendFormat, typer.Option("--format", "-f", help="Output format.")] = TrendFormat.table,
) -> None:
    """Score trends across runs and document revisions, with the change since the last review."""
    from evaluator.cli_output import print_trends
    from evaluator.reports.trends import trends as load_trends

    with reported():
        series = load_trends(db, by.value)
    print_trends(series, by.value, output_format.value)


@app.command()
def report(
    db: DbOpt = DEFAULT_DB,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
    since: Annotated[
        datetime | None, typer.Option("--since", help="Only reviews made at or after this date/time (UTC).")
    ] = None,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only cases whose key matches this glob; repeatable.")
    ] = None,
) -> None:
    """Write a self-contained HTML report: latest run, score trends, findings, comparisons, reviews.

    One file with inline styles and SVG charts, no script and nothing loaded from a network.
    Example: evaluator report --db evaluator.duckdb -o report.html --since 2026-01-01 --case 'payments/*'
    """
    from evaluator.reports.data import Scope
    from evaluator.reports.html import write_report

    with reported():
        result = write_report(db, output, Scope(since, tuple(case or ())))
    err.print(
        f"report written to {result.path}: {result.cases} cases, {result.reviews} reviews, "
        f"{result.size_bytes / 1024:,.0f} KiB",
        soft_wrap=True,
    )


@app.command()
def ingest(
    paths: IngestPathsArg,
    db: DbOpt = DEFAULT_DB,
    case_key: Annotated[
        str | None, typer.Option("--case-key", help="Case to file a single review under (default: from its path).")
    ] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    reparse: Annotated[
        bool,
        typer.Option("--reparse", help="Parse reviews already stored again; replace their rows when that changed."),
    ] = False,
) -> None:
    """Store existing reviews (written by people or other tools) beside the generated ones.

    Case keys are paths relative to the common parent of what is given, minus '-review':
    a folder's `team/svc/tech-design-review.md` is filed under `team/svc/tech-design.md`, the
    key a batch over the same folder gives that design. Files that are not reviews are
    reported and skipped; ingesting twice adds nothing. `--reparse` refreshes rows stored by
    an older version of the parser.
    """
    from evaluator.cli_output import print_ingested
    from evaluator.ingest.reviews import ingest as ingest_reviews

    with reported():
        results = ingest_reviews(paths, db, profile=profile, case_key=case_key, reparse=reparse)
    print_ingested(err, results, db, reparse=reparse)


def _version(value: bool) -> None:
    if value:
        print(f"evaluator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Offline reviews of technical design documents by a local GGUF model."""
    from evaluator.offline import enforce_offline

    enforce_offline()  # before any command imports a library that could reach a hub


app.command(name="status")(cli_status.status)  # its own module: cli.py stays a page of adapters
app.command(name="coverage")(cli_coverage.coverage)
app.command(name="gate")(cli_gate.gate)

from evaluator.cli_bench import bench  # noqa: E402 (it uses this module's helpers, imported late)

app.command()(bench)


def main() -> None:
    """Entry point of the ``evaluator`` command and ``python -m evaluator``."""
    app(prog_name="evaluator")
