"""The endpoint pool: slots, prompt-prefix affinity, setting aside and taking back."""

from __future__ import annotations

import threading

import pytest

from evaluator.backends.pool import EndpointPool, NoEndpoint, PoolClosed

REQS_1 = "You review designs.\nRequirements: FR-1 loans are accepted asynchronously. " * 4
REQS_2 = "You review designs.\nRequirements: FR-9 appointments can be cancelled online. " * 4


def test_each_endpoint_takes_as_many_requests_as_it_has_slots() -> None:
    pool = EndpointPool(["a", "b"], [2, 1])
    taken = [pool.acquire(f"prompt {i}").target for i in range(3)]
    assert sorted(taken) == ["a", "a", "b"] and pool.total_slots == 3
    with pytest.raises(NoEndpoint):
        pool.acquire("one too many", wait_until=0)


def test_prompts_sharing_a_prefix_go_where_that_prefix_went() -> None:
    pool = EndpointPool(["a", "b"], [4, 4])
    first = pool.acquire(REQS_1 + "design one")
    other = pool.acquire(REQS_2 + "design two")
    assert other.target != first.target  # no shared prefix beyond the instructions: the least busy
    for design in ("design three", "design four"):
        assert pool.acquire(REQS_1 + design).target == first.target
        assert pool.acquire(REQS_2 + design).target == other.target


def test_a_full_endpoint_does_not_hold_up_a_prompt_another_can_take() -> None:
    pool = EndpointPool(["a", "b"], [1, 1])
    first = pool.acquire(REQS_1 + "one")
    assert pool.acquire(REQS_1 + "two").target != first.target


def test_a_failed_endpoint_is_set_aside_then_given_one_request_to_prove_itself() -> None:
    pool = EndpointPool(["a", "b"], [1, 1])
    slot_a = pool.acquire("x")
    assert slot_a.target == "a"
    pool.failed(slot_a)
    assert pool.healthy() == ["b"] and slot_a.backoff == 2.0
    pool.succeeded(pool.acquire("p"))
    held = pool.acquire("q")
    assert held.target == "b"  # only b while a is aside, though a has a free slot
    slot_a.down_until = 1e-9  # the wait is over (monotonic time is past it)
    probe = pool.acquire("s")
    assert probe.target == "a" and probe.probing
    pool.succeeded(held)
    assert pool.acquire("t").target == "b"
    with pytest.raises(NoEndpoint):
        pool.acquire("u", wait_until=0)  # b is full, a takes one request only while on probation
    pool.failed(probe)
    assert slot_a.backoff == 4.0  # doubled
    slot_a.down_until = 1e-9
    pool.succeeded(pool.acquire("v"))
    assert pool.healthy() == ["a", "b"] and slot_a.backoff == 0.0


def test_a_waiting_caller_gets_the_slot_another_frees() -> None:
    pool = EndpointPool(["a"], [1])
    held = pool.acquire("first")
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire("second").target))
    waiter.start()
    pool.succeeded(held)
    waiter.join(timeout=10)
    assert got == ["a"]


def test_closing_wakes_waiting_callers() -> None:
    pool = EndpointPool(["a"], [1])
    pool.acquire("first")
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            pool.acquire("second")
        except PoolClosed as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    pool.close()
    waiter.join(timeout=10)
    assert len(errors) == 1
