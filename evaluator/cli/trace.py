"""``evaluator trace`` (a traceability matrix without a model, and its exports) and ``evaluator bench-trace``."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from evaluator.cli.common import err, reported
from evaluator.cli.options import DEFAULT_DB, ProfileOpt
from evaluator.cli.tables import print_tables
from evaluator.errors import EvaluatorError
from evaluator.grounding.profiles import DEFAULT_PROFILE

if TYPE_CHECKING:
    from evaluator.bench.tracelinks import SetResult
    from evaluator.grounding.matrix import TraceMatrix


class TraceFormat(enum.StrEnum):
    """What ``evaluator trace`` writes."""

    table = "table"
    csv = "csv"
    json = "json"
    needs = "needs"
    reqif = "reqif"


_EXPORTS = (
    "requirements: markdown, .docx, .pdf, .html, .rst, .adoc, .reqif/.reqifz, needs.json, a Doorstop tree, .csv/.xlsx"
)
EmbeddingOpt = Annotated[
    Path | None,
    typer.Option("--embedding-model", help="A GGUF embedding model (llama.cpp) fused with the word ranking."),
]


def trace(
    case: Annotated[str | None, typer.Argument(help="With --db: the case key (or a glob matching one).")] = None,
    requirements: Annotated[Path | None, typer.Option("--requirements", "-r", help=f"The {_EXPORTS}.")] = None,
    design: Annotated[Path | None, typer.Option("--design", "-d", help="The technical design.")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="Trace a reviewed case of this DuckDB file.")] = None,
    output_format: Annotated[TraceFormat, typer.Option("--format", "-f", help="Output format.")] = TraceFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    embedding_model: EmbeddingOpt = None,
) -> None:
    """Trace every requirement to the design sections that address it, with no model: its status
    (as a review gives it) and its ranked links (section, lines, score).

    Formats: table, csv (one row per link), json, needs (a sphinx-needs needs.json: design
    sections as needs with a `fulfils` link) and reqif (design sections as SPEC-OBJECTs with a
    Satisfies SPEC-RELATION to each requirement). Every exported link is marked suggested, for a
    person to accept. Examples: evaluator trace -r reqs.reqif -d tech-design.md -f reqif -o links.reqif;
    evaluator trace --db evaluator.duckdb 'team/svc/*'
    """
    with reported():
        matrix = _matrix(case, requirements, design, db, profile, embedding_model)
        text = _render(matrix, output_format)
    for note in matrix.requirements.notes:
        err.print(f"note: {matrix.requirements.path.name}: {note}")
    if text is None:
        return
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")


def _matrix(
    case: str | None, requirements: Path | None, design: Path | None, db: Path | None, profile: str,
    embedding_model: Path | None,
) -> TraceMatrix:  # fmt: skip
    from evaluator.documents.imports import read_requirements
    from evaluator.documents.read import read_document
    from evaluator.grounding.matrix import trace_case

    if db is not None or case is not None:
        if requirements is not None or design is not None:
            raise EvaluatorError("give either --db and a CASE, or --requirements and --design, not both")
        from evaluator.reports.traceability import case_files

        _, requirements, design = case_files(db or DEFAULT_DB, case or "*")
    if requirements is None or design is None:
        raise EvaluatorError("give --requirements and --design (or --db and a CASE)")
    requirements_doc = read_requirements(requirements, role="requirements")
    design_doc = read_document(design, role="design")
    embedder = None
    if embedding_model is not None:
        from evaluator.backends.embeddings import LlamaEmbedder

        embedder = LlamaEmbedder(embedding_model)
    return trace_case(requirements_doc, design_doc, profile=profile, embedder=embedder)


def _render(matrix: TraceMatrix, output_format: TraceFormat) -> str | None:
    from evaluator.reports.traceability import to_csv, to_json, to_needs, to_reqif

    writers = {TraceFormat.csv: to_csv, TraceFormat.json: to_json, TraceFormat.needs: to_needs,
               TraceFormat.reqif: to_reqif}  # fmt: skip
    if output_format in writers:
        return writers[output_format](matrix)
    table = Table("requirement", "status", "section", "lines", "score", title=f"trace links of {matrix.design.path}")
    for row in matrix.rows:
        status = row.status.replace("_", " ") + ("" if row.standing_out or not row.links else " (nearest)")
        if not row.links:
            table.add_row(Text(row.requirement.id), status, "–", "", "")
        for rank, link in enumerate(row.links):
            lines = f"{link.line_start}–{link.line_end}" if link.line_end != link.line_start else str(link.line_start)
            table.add_row(Text(row.requirement.id if rank == 0 else ""), status if rank == 0 else "",
                          Text(link.section), lines, f"{link.score:.3f}")  # fmt: skip
    print_tables(table)
    return None


def bench_trace(
    package: Annotated[
        Path,
        typer.Argument(help="The REFSQ'25 replication package (or its datasets/req2req), or datasets/trace-links."),
    ] = Path("datasets/trace-links"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    embedding_model: EmbeddingOpt = None,
) -> None:
    """Trace-link recovery on the REFSQ'25 req2req sets: P / R / F1 / F2 per set beside the published
    figures, and the requirements read under their own id. One configuration for every set."""
    import json

    from evaluator.bench.tracelinks import run_benchmark

    with reported():
        embedder = None
        if embedding_model is not None:
            from evaluator.backends.embeddings import LlamaEmbedder

            embedder = LlamaEmbedder(embedding_model)
        results = run_benchmark(package, embedder)
    if as_json:
        print(json.dumps([_result_json(r) for r in results], indent=2))
        return
    columns = ("set", "requirements read", "links (gold)", "P", "R", "F1", "F2", "published TF-IDF F1",
               "embeddings top-4 F1", "best LLM F1")  # fmt: skip
    table = Table(*columns, title="trace-link recovery, evaluator vs published")
    for r in results:
        published = [r.published.get(k) for k in ("TF-IDF", "embeddings top-4", "best LLM")]
        table.add_row(r.name, f"{r.own_id}/{r.requirements}", f"{r.predicted} ({r.gold})", *_figures(r),
                      *(f"{p.f1:.3f}" if p is not None and p.f1 is not None else "–" for p in published))  # fmt: skip
    print_tables(table)


def _figures(r: SetResult) -> list[str]:
    s = r.scores
    return [f"{v:.3f}" if v is not None else "–" for v in (s.precision, s.recall, s.f1, s.f2)]


def _result_json(r: SetResult) -> dict[str, object]:
    return {
        "set": r.name, "requirements": r.requirements, "parsed": r.parsed, "own_id": r.own_id,
        "design_elements": r.design_elements, "gold": r.gold, "predicted": r.predicted,
        "true_positives": r.true_positives, "scores": r.scores.__dict__,
        "published": {k: v.__dict__ for k, v in r.published.items()},
    }  # fmt: skip
