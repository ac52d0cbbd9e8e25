"""The CLI's shared option types and choices (Typer annotations): what the commands accept, nothing else."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

ProfileOpt = Annotated[
    str, typer.Option("--profile", "-p", help="Reviewer profile name (see `evaluator profiles`) or a .toml path.")
]
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="What runs the model: llama-cpp (local GGUF), openai (a server, see --endpoint), fake (no model).",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Manifest name (see `evaluator models`), a name in ./models/, or a path to a .gguf file."
    ),
]
NCtxOpt = Annotated[
    int | None, typer.Option("--n-ctx", min=512, help="Context length in tokens (default: the model's own).")
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads for llama.cpp (default: half the CPUs).")
]
PromptsOpt = Annotated[
    Path | None,
    typer.Option("--prompts-dir", help="Folder of your own templates/profiles; they override the built-in ones."),
]
_FORMATS = "markdown, .docx, .pdf, .html, .rst, .adoc"
RequirementsOpt = Annotated[
    Path,
    typer.Option(
        "--requirements",
        "-r",
        help=f"The requirements ({_FORMATS}; or an export: .reqif/.reqifz, needs.json, a Doorstop tree, .csv/.xlsx).",
    ),
]
DesignOpt = Annotated[Path, typer.Option("--design", "-d", help=f"The technical design to review ({_FORMATS}).")]
IngestPathsArg = Annotated[list[Path], typer.Argument(help=f"Review files ({_FORMATS}), or folders of them.")]
BatchFolderArg = Annotated[
    Path, typer.Argument(help="Folder of designs (tech-design.EXT or *-design.EXT) and requirements.")
]
ManifestOpt = Annotated[
    Path | None,
    # Rich markup eats an unescaped [[case]]: the help shows it escaped.
    typer.Option("--manifest", help="TOML file of \\[\\[case]] design/requirements pairs (format below)."),
]
MaxBytesOpt = Annotated[int, typer.Option("--max-bytes", min=1, help="Largest input document accepted, in bytes.")]

SeedOpt = Annotated[int, typer.Option(help="Sampling seed, passed with every call.")]
MaxTokensOpt = Annotated[int, typer.Option(min=256, help="Most tokens the model may write per review.")]
CaseTimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", min=1, help="Seconds one case may take before it is recorded as failed.")
]
ParallelOpt = Annotated[
    str,
    typer.Option(
        "--parallel",
        help="Cases decoded together: a number, or auto (4 on up to 4 CPUs, else 8; capped by memory and cases). "
        "1 reviews one case at a time.",
    ),
]


def parallel_count(value: str) -> int | None:
    """``auto`` → None, else a positive int; a bad value is a usage error."""
    if value == "auto":
        return None
    if not value.isdigit() or int(value) < 1:
        raise typer.BadParameter(f"expected a positive number or auto, got {value!r}", param_hint="--parallel")
    return int(value)


class ExecutorKind(StrEnum):
    """Where `batch` and `calibrate` review: threads of this process, or actors of a Ray cluster."""

    thread = "thread"
    ray = "ray"


ExecutorOpt = Annotated[
    ExecutorKind,
    typer.Option(
        "--executor",
        help="thread: this process. ray: Ray actors, each with its own model (pip install 'evaluator\\[ray]').",
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="A running Ray cluster (host:port or auto); default: a local one for this run.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Ray actors, one model each (default: one per node; locally 1)."),
]


class ProseMode(StrEnum):
    """What the model writes around the analyses (see ReviewSettings.prose)."""

    auto = "auto"
    full = "full"
    summary = "summary"

    @property
    def setting(self) -> bool | None:
        """ReviewSettings.prose: None (by the model's size), True (full prose), False (a summary only)."""
        return {"auto": None, "full": True, "summary": False}[self.value]


ProseOpt = Annotated[
    ProseMode,
    typer.Option(
        "--prose",
        help="What the model writes: 'full' prose around the analyses (strengths, sections, risks, next steps) or "
        "only a 'summary' of what the design builds. 'auto': full for a model of 1B parameters or more or a "
        "served model, a summary for a smaller one (the embedded model's full prose rarely survived the grounding).",
    ),
]


class QuantType(StrEnum):
    """Quantisation types of `convert`."""

    q8_0 = "q8_0"
    q4_0 = "q4_0"


class TableFormat(StrEnum):
    """Output formats of `sql`."""

    table = "table"
    csv = "csv"
    json = "json"


class TrendFormat(StrEnum):
    """Output formats of `trends`."""

    table = "table"
    json = "json"


class ExportFormat(StrEnum):
    """File formats of `export`."""

    parquet = "parquet"
    csv = "csv"


class TrendBy(StrEnum):
    """Groupings of `trends`."""

    case = "case"
    model = "model"
    profile = "profile"
    prompt = "prompt"


DbOpt = Annotated[Path, typer.Option("--db", help="The DuckDB file with the reviews.")]
LockTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--lock-timeout",
        min=1,
        metavar="SECONDS",
        help="Give up when another program keeps the store open this long (default: wait as long as it takes, "
        "saying every 30 s who holds it).",
    ),
]
DEFAULT_DB = Path("evaluator.duckdb")
JunitOpt = Annotated[
    Path | None, typer.Option("--junit", metavar="FILE", help="Write a JUnit XML file: one test case per design.")
]
SarifOpt = Annotated[
    Path | None,
    typer.Option("--sarif", metavar="FILE", help="Write a SARIF 2.1.0 file: one result per finding (code scanning)."),
]


class FailOn(StrEnum):
    """Severities `gate` fails on."""

    critical = "critical"
    recommendation = "recommendation"


MinCompletenessOpt = Annotated[
    float | None,
    typer.Option("--min-completeness", min=0, max=10, metavar="N", help="Also fail a design scoring below N/10."),
]
CaseGlobOpt = Annotated[
    list[str] | None,
    typer.Option("--case", metavar="GLOB", help="Only cases whose key matches this glob; repeatable."),
]


# Where the model runs: model servers or a GPU in-process (review, batch, calibrate, bench).
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
