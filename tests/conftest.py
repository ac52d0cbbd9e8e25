"""Shared fixtures: profiles, prompts, and fake-backend responders built from the schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator.documents import Document, parse_document
from evaluator.profiles import Profile, load_profile
from evaluator.prompts import Prompts

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets"


def instance_for(schema: dict[str, Any], text: str = "Add a dead-letter topic for the credit consumer") -> Any:
    """A valid instance of a (flat, ref-free) JSON schema: the first enum value, one array item."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        return {k: instance_for(v, f"{text} ({k})") for k, v in schema["properties"].items()}
    if kind == "array":
        return [instance_for(schema["items"], text) for _ in range(max(1, schema.get("minItems", 0)))]
    if kind == "boolean":
        return True
    if kind == "integer":
        return 7
    if kind == "string":
        return text[: schema.get("maxLength", len(text))]
    raise AssertionError(f"schema type not handled by the test responder: {schema}")


def valid_output(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
    """Responder for FakeBackend: a valid JSON document for whatever schema it is given."""
    return json.dumps(instance_for(schema))


@pytest.fixture(scope="session")
def profile() -> Profile:
    return load_profile()


@pytest.fixture(scope="session")
def prompts() -> Prompts:
    return Prompts()


def doc(text: str, name: str = "doc.md") -> Document:
    return parse_document(text, Path(name))


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
