import random

import pytest

from opensearch_pretrained_haystack.cluster.errors import (
    ModelNotDeployedError,
    OperationTimeoutError,
    ThrottledError,
)
from opensearch_pretrained_haystack.cluster.protocol import Call, Deadline, Sleep
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy, with_retries


def test_backoff_grows_exponentially_is_capped_and_jittered_downwards():
    policy = RetryPolicy(initial_backoff=1, multiplier=2, max_backoff=5, jitter=0.5, rng=random.Random(0))
    waits = [policy.backoff(attempt) for attempt in range(1, 7)]
    ceilings = [1, 2, 4, 5, 5, 5]
    assert all(c * 0.5 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len(set(waits)) == len(waits)  # jittered


def test_no_jitter_gives_the_exact_schedule():
    policy = RetryPolicy(initial_backoff=0.5, multiplier=2, max_backoff=3, jitter=0)
    assert [policy.backoff(a) for a in range(1, 5)] == [0.5, 1.0, 2.0, 3.0]


def attempt_once(deadline: Deadline):
    return (yield Call("POST", "/p"))


def test_retries_retryable_errors_then_succeeds():
    op = with_retries(attempt_once, RetryPolicy(jitter=0), what="predict")
    assert next(op) == Call("POST", "/p")
    assert op.throw(ThrottledError("429")) == Sleep(0.5)
    assert op.send(None) == Call("POST", "/p")
    with pytest.raises(StopIteration) as done:
        op.send("ok")
    assert done.value.value == "ok"


def test_non_retryable_errors_raise_at_once():
    op = with_retries(attempt_once, RetryPolicy(), what="predict")
    next(op)
    with pytest.raises(ModelNotDeployedError):
        op.throw(ModelNotDeployedError("not deployed"))


def test_gives_up_after_max_attempts_with_a_note():
    op = with_retries(attempt_once, RetryPolicy(max_attempts=2, jitter=0), what="predict")
    next(op)
    op.throw(ThrottledError("429"))
    op.send(None)
    with pytest.raises(ThrottledError) as raised:
        op.throw(ThrottledError("429 again"))
    assert "gave up after 2 attempts" in raised.value.__notes__[0]


def test_never_sleeps_past_the_deadline():
    op = with_retries(attempt_once, RetryPolicy(initial_backoff=10, jitter=0, deadline=1), what="predict")
    next(op)
    with pytest.raises(OperationTimeoutError, match="1 s deadline"):
        op.throw(ThrottledError("429"))
