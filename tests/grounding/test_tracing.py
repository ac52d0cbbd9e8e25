"""The trace linker (evaluator.grounding.tracing): words, titles, the relative and stand-out cut-offs, embeddings."""

from __future__ import annotations

from collections.abc import Sequence

from evaluator.documents.passages import passages
from evaluator.documents.requirements import parse_requirements
from evaluator.grounding.tracing import Linker, design_linker, title_and_body, words

REQUIREMENTS = """# Dronology — requirements

## Requirements

- **RE-1**: UAV activation — The _UAVActivationManager_ shall only activate a UAV whose registration is approved.
- **RE-2**: Flight route events — A client shall be notified whenever a flight route is created or deleted.
- **RE-3**: Coffee — The break room shall always have fresh coffee beans.
"""

DESIGN = """# Dronology — design

## DD-11

Client registers for flight route events

A client shall register with the _UIMiddleware_ to receive flight route event notifications whenever a flight
route is created modified or deleted.

## DD-12

Activation of registered UAVs

The UAV activation manager checks the registration of the UAV before it activates it.

## DD-13

Map view

The map shows the current position of every UAV.

## DD-14

Mission planning

A mission is planned from waypoints on the map.

## DD-15

Simulator

The simulator replays recorded flights for testing.
"""


def _linker() -> Linker:
    return design_linker(parse_requirements(REQUIREMENTS), passages(DESIGN))


def test_identifiers_are_split_into_their_words_and_ids_give_none() -> None:
    assert words("_UAVActivationManager_ calls ccmCtrlTask") == ["uav", "activ", "manag", "call", "ccm", "ctrl", "task"]
    assert words("Read_packet_log_msgs to Log_messages") == ["read", "packet", "log", "msgs", "log", "messag"]
    assert words("doctor_id and OpenID, 42 rows") == ["doctor", "open", "row"]  # "id" links everything; numbers too


def test_a_title_is_the_words_before_a_dash() -> None:
    assert title_and_body("UAV activation — The manager shall activate it.") == (
        "UAV activation",
        "The manager shall activate it.",
    )
    assert title_and_body("The manager shall activate it — unless grounded.") == (
        "",
        "The manager shall activate it — unless grounded.",
    )


def test_each_requirement_links_to_the_sections_that_address_it() -> None:
    linker = _linker()
    by_id = {r.id: r for r in linker.requirements}
    assert [link.heading for link in linker.links(by_id["RE-1"])] == ["DD-12"]
    assert [link.heading for link in linker.links(by_id["RE-2"])] == ["DD-11"]
    best = linker.links(by_id["RE-2"])[0]
    assert [p.text[:24] for p in best.passages] == ["Client registers for fli", "A client shall register "]
    assert (best.line_start, best.line_end) == (5, 8)


def test_a_requirement_nothing_addresses_gets_no_link_but_its_nearest_sections() -> None:
    linker = _linker()
    coffee = next(r for r in linker.requirements if r.id == "RE-3")
    assert linker.links(coffee) == []
    assert linker.ranked(coffee) == []  # not a word in common


def test_a_heading_that_is_only_an_id_never_reaches_the_ranking() -> None:
    requirements = parse_requirements("# R\n\n## Requirements\n\n- **r10**: Create a task with a start date.\n")
    design = "# D\n\n## d10_1\n\nA calendar widget.\n\n## d2_1\n\nThe task manager creates a task with a start date.\n"
    linker = Linker(requirements, passages(design))
    assert [link.heading for link in linker.ranked(requirements[0])] == ["d2_1"]


def test_a_section_that_matches_every_requirement_stands_out_for_none() -> None:
    verbs = ["accept", "cancel", "refund", "ship", "price", "audit"]
    requirements = parse_requirements(
        "# R\n\n## Requirements\n\n"
        + "\n".join(f"- **REQ-{i}**: The order service shall {w} orders." for i, w in enumerate(verbs, 1))
    )
    design = "# D\n\n## Overview\n\nThe order service accepts, cancels, refunds, ships, prices and audits orders.\n"
    design += "".join(f"\n## Step {w}\n\nTo {w} an order, the {w} worker locks its row.\n" for w in verbs)
    linker = Linker(requirements, passages(design))
    for requirement, verb in zip(requirements, verbs, strict=True):
        assert [link.heading for link in linker.links(requirement)] == [f"Step {verb}"]
        assert "Overview" in [link.heading for link in linker.ranked(requirement)]


class _Topics:
    """A tiny real embedder: one dimension per topic word family."""

    TOPICS = (("coffee", "bean", "espresso"), ("simulat", "replay"), ("map", "position"))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(any(w in t.lower() for w in topic)) + 0.01 for topic in self.TOPICS] for t in texts]


def test_an_embedding_model_is_fused_with_the_words() -> None:
    requirements = parse_requirements("# R\n\n## Requirements\n\n- **RE-9**: Testers shall replay recorded flights.\n")
    design = DESIGN.replace("The simulator replays recorded flights for testing.", "The simulator is a replay tool.")
    plain = Linker(requirements, passages(design))
    fused = Linker(requirements, passages(design), embedder=_Topics())
    words_only = plain.ranked(requirements[0])
    with_model = fused.ranked(requirements[0])
    assert [link.heading for link in with_model][:1] == ["DD-15"]
    assert with_model[0].score > next(link.score for link in words_only if link.heading == "DD-15")


def test_a_requirement_from_elsewhere_is_scored_against_the_same_design() -> None:
    linker = _linker()
    outside = parse_requirements("# R\n\n## Requirements\n\n- **X-1**: The map shall show each UAV position.\n")[0]
    assert linker.ranked(outside)[0].heading == "DD-13"


def test_passages_for_fill_up_from_the_fallback_ranking() -> None:
    asked: list[int] = []

    def fallback(requirement: object, k: int) -> list:
        asked.append(k)
        return [p for p in passages(DESIGN) if p.kind != "heading"][-3:]

    requirements = parse_requirements(REQUIREMENTS)
    linker = Linker(requirements, passages(DESIGN), fallback=fallback)
    found = linker.passages_for(requirements[0], 3)
    assert found[0].section.endswith("DD-12") and len(found) == 3 and asked
