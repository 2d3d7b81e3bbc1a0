import asyncio

import pytest
from opensearchpy.exceptions import NotFoundError

from opensearch_pretrained_haystack.cluster.errors import ModelNotFoundError
from opensearch_pretrained_haystack.cluster.protocol import Call, Sleep, poll_intervals, run_async, run_sync


class RecordingTransport:
    """Answers calls from a script; the drivers are the code under test, not the cluster."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def perform_request(self, method, url, params=None, body=None, timeout=None):
        self.calls.append((method, url, body, timeout))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class AsyncRecordingTransport(RecordingTransport):
    async def perform_request(self, *args, **kwargs):
        return RecordingTransport.perform_request(self, *args, **kwargs)


def lookup():
    try:
        found = yield Call("GET", "/a", timeout=3)
    except ModelNotFoundError:
        found = "missing"
    yield Sleep(0)
    return found


@pytest.mark.parametrize("answer", ["there", NotFoundError(404, "x", {"error": {"reason": "Failed to find model"}})])
def test_both_drivers_run_the_same_operation_and_throw_typed_errors_into_it(answer):
    expected = "there" if answer == "there" else "missing"
    sync = RecordingTransport([answer])
    assert run_sync(sync, lookup()) == expected
    asynchronous = AsyncRecordingTransport([answer])
    assert asyncio.run(run_async(asynchronous, lookup())) == expected
    assert sync.calls == asynchronous.calls == [("GET", "/a", None, 3)]


def test_poll_intervals_grow_to_a_cap():
    intervals = poll_intervals(initial=1, factor=2, maximum=5)
    assert [next(intervals) for _ in range(5)] == [1, 2, 4, 5, 5]
