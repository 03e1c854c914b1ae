"""The micro-batcher: concurrent requests share model calls; failures stay isolated."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from guardkit import BackendError, BackendTimeout, Conversation
from guardkit.backends.fake import FakeClassifier
from guardkit.serve.batching import MicroBatcher


class SlowFake(FakeClassifier):
    def __init__(self, delay: float = 0.02, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(batch_size=1000, **kw)
        self.delay = delay
        self.sizes: list[int] = []

    def _classify_batch(self, batch):  # type: ignore[no-untyped-def]
        self.sizes.append(len(batch))
        time.sleep(self.delay)
        return super()._classify_batch(batch)


def conv(text: str) -> Conversation:
    return Conversation.from_pair(text)


async def _many(batcher: MicroBatcher, texts: list[str], timeout: float = 5) -> list:
    return await asyncio.gather(
        *(batcher.classify([conv(t)], timeout=timeout) for t in texts), return_exceptions=True
    )


def test_concurrent_requests_are_batched():
    clf = SlowFake()

    async def run():
        async with MicroBatcher(clf.classify, max_batch_size=16, max_wait_ms=20) as b:
            return await _many(b, [f"text {i} bomb" if i % 3 == 0 else f"text {i}" for i in range(40)])

    results = asyncio.run(run())
    assert [r[0].flagged for r in results] == [i % 3 == 0 for i in range(40)]  # order kept
    assert sum(clf.sizes) == 40
    assert len(clf.sizes) <= 5 and max(clf.sizes) == 16


def test_one_failing_item_does_not_fail_its_batch():
    clf = SlowFake(delay=0, fail_on="explode")

    async def run():
        async with MicroBatcher(clf.classify, max_batch_size=8, max_wait_ms=20) as b:
            return await _many(b, ["a", "explode", "c"])

    a, bad, c = asyncio.run(run())
    assert isinstance(bad, BackendError)
    assert not a[0].flagged and not c[0].flagged


def test_unexpected_exceptions_become_backend_errors():
    def broken(convs):
        raise ZeroDivisionError("oops")

    async def run():
        async with MicroBatcher(broken) as b:
            return await _many(b, ["a"])

    [err] = asyncio.run(run())
    assert isinstance(err, BackendError) and "ZeroDivisionError: oops" in str(err)


def test_timeout():
    clf = SlowFake(delay=0.3)

    async def run():
        async with MicroBatcher(clf.classify) as b:
            with pytest.raises(BackendTimeout, match="did not answer within 0.05 s"):
                await b.classify([conv("x")], timeout=0.05)
            # the worker survives and serves the next request
            return await b.classify([conv("y")], timeout=5)

    assert asyncio.run(run())[0].flagged is False


def test_app_batches_concurrent_http_requests(client_for):
    clf = SlowFake(delay=0.05)
    c = client_for(classifier=clf, batch_max_wait_ms=10)
    with ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(lambda i: c.post("/v1/moderations", json={"input": f"t{i}"}).status_code, range(32))
        )
    assert statuses == [200] * 32
    assert len(clf.sizes) < 32 and max(clf.sizes) > 1
