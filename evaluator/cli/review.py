"""`evaluator review` and what it is made with: the profiles, the models known by name, and
faster copies of a model (`convert`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from evaluator.cli.common import err, model_factory, reported, server_options, spinner
from evaluator.cli.options import (
    AllowRemoteOpt,
    ApiKeyEnvOpt,
    BackendOpt,
    DesignOpt,
    EndpointOpt,
    MaxBytesOpt,
    ModelOpt,
    NCtxOpt,
    NGpuLayersOpt,
    ProfileOpt,
    PromptsOpt,
    ProseMode,
    ProseOpt,
    QuantType,
    RequirementsOpt,
    ThreadsOpt,
    TrustEnvOpt,
)
from evaluator.errors import GenerationError, OutputError
from evaluator.grounding.profiles import DEFAULT_PROFILE
from evaluator.outputs import check_output_file


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
    prose: ProseOpt = ProseMode.auto,
) -> None:
    """Review one design against its requirements, in the reviewer's markdown format.

    Example: evaluator review -r docs/requirements.md -d tech-design.md -o tech-design-review.md
    """
    from evaluator.api import read_case, review_documents
    from evaluator.backends import Sampling
    from evaluator.cli.output import print_cost
    from evaluator.review.render import render_markdown
    from evaluator.reviewer.engine import ReviewSettings

    settings = ReviewSettings(
        max_tokens=max_tokens, sampling=Sampling(temperature=temperature, seed=seed), prose=prose.setting
    )
    if output:
        with reported():  # before the model runs: a review is minutes of work
            check_output_file(output, "review file")
    server = server_options(endpoint, api_key_env, allow_remote, trust_env, n_gpu_layers)
    factory = model_factory(backend, model, n_ctx, threads, max_tokens=max_tokens, **server)
    with reported():
        try:
            with spinner() as update:
                update("reading the documents")
                requirements_doc, design_doc = read_case(requirements, design, max_bytes=max_bytes)
                result = review_documents(
                    requirements_doc,
                    design_doc,
                    backend=factory,
                    profile=profile,
                    settings=settings,
                    prompts_dir=prompts_dir,
                    progress=update,
                )
        except GenerationError as exc:
            raw_path = (output or Path(design.stem + "-review.md")).with_suffix(".raw.txt")
            raw_path.write_text(exc.raw, encoding="utf-8")
            raise GenerationError(f"{exc} — the raw output is in {raw_path}") from None
    maps = {"design": design_doc.source_map, "requirements": requirements_doc.source_map}
    text = result.model_dump_json(indent=2) + "\n" if as_json else render_markdown(result, **maps)
    if output:
        _save(output, text)
        err.print(f"review written to {output}")
    else:
        sys.stdout.write(text)
    print_cost(err, result)


def _save(output: Path, text: str) -> None:
    """Write the finished review; when that fails after all, print it to stdout rather than lose it."""
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        sys.stdout.write(text)
        sys.stdout.flush()
        with reported():
            raise OutputError(
                f"cannot write the review file {output}: {exc.strerror or exc} — the review was printed "
                "to standard output instead"
            ) from None


def profiles(prompts_dir: PromptsOpt = None) -> None:
    """List the reviewer profiles, with their section and checklist counts."""
    from evaluator.grounding.profiles import available_profiles, load_profile

    with reported():
        for name in available_profiles(prompts_dir):
            p = load_profile(name, prompts_dir)
            print(f"{name}\t{len(p.sections)} sections, {len(p.checklist)} checklist items\t{p.title}")


def models() -> None:
    """List the models known by name (none is ever downloaded)."""
    from evaluator.backends.catalogue import manifest

    for entry in manifest():
        default = " (default)" if entry.default else ""
        print(f"{entry.name}{default}\tcontext {entry.n_ctx}\t{entry.description}")


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
