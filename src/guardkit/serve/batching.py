"""A micro-batcher: concurrent requests share one model call.

Each request puts its conversations on an asyncio queue. One worker takes the first waiting
item, then keeps collecting until ``max_batch_size`` items or ``max_wait_ms`` have passed,
and runs the (blocking) ``classify`` in a worker thread. While the model runs, new requests
queue up and form the next batch, so under load batches fill by themselves and the wait
only costs latency when traffic is light.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .._exceptions import BackendError, BackendTimeout, BackendUnavailable
from .._types import Conversation, Verdict

__all__ = ["MicroBatcher"]

logger = logging.getLogger(__name__)

ClassifyFn = Callable[[list[Conversation]], list[Verdict]]


@dataclass(frozen=True, slots=True)
class _Job:
    conv: Conversation
    future: asyncio.Future[Verdict]


class MicroBatcher:
    """Collects conversations from concurrent callers into batches for one classify function.

    Args:
        classify: blocking function, conversations in, one verdict each out.
        max_batch_size: most conversations per model call.
        max_wait_ms: how long the first item of a batch waits for company.
        on_batch: called with (batch size, seconds) after each model call (metrics).

    Example:
        >>> from guardkit.backends.fake import FakeClassifier
        >>> async def demo():
        ...     async with MicroBatcher(FakeClassifier().classify) as b:
        ...         return (await b.classify([Conversation.from_pair("hi")], timeout=5))[0].flagged
        >>> asyncio.run(demo())
        False
    """

    def __init__(
        self,
        classify: ClassifyFn,
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._classify = classify
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._ready = asyncio.Event()
        self._load_error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, load: Callable[[], None] | None = None) -> None:
        """Start the worker; ``load`` (blocking) runs first in the worker thread."""
        self._queue = asyncio.Queue()
        self._ready = asyncio.Event()
        self._load_error = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guardkit-guard")
        self._worker = asyncio.create_task(self._run(load), name="guardkit-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._queue is not None:
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if not job.future.done():
                    job.future.set_exception(BackendUnavailable("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def __aenter__(self) -> MicroBatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ready(self) -> bool:
        """True once the model has loaded."""
        return self._ready.is_set() and self._load_error is None

    @property
    def queue_depth(self) -> int:
        """Conversations waiting for the model."""
        return 0 if self._queue is None else self._queue.qsize()

    @property
    def load_error(self) -> BaseException | None:
        return self._load_error

    # -- use -------------------------------------------------------------------------------
    async def classify(self, convs: Sequence[Conversation], *, timeout: float) -> list[Verdict]:
        """Verdicts for ``convs`` in order.

        Raises:
            BackendTimeout: no answer within ``timeout`` seconds (model loading included).
            BackendError: the model failed on these items (other items in the batch are unaffected).
        """
        if self._queue is None:
            raise BackendUnavailable("the guard is not running (the server has not started)")
        if self._load_error is not None:
            raise BackendUnavailable(f"the guard model failed to load: {self._load_error}")
        loop = asyncio.get_running_loop()
        jobs = [_Job(c, loop.create_future()) for c in convs]
        for job in jobs:
            self._queue.put_nowait(job)
        try:
            return list(await asyncio.wait_for(asyncio.gather(*(j.future for j in jobs)), timeout))
        except TimeoutError as exc:
            raise BackendTimeout(f"the guard did not answer within {timeout:g} s") from exc

    # -- worker ----------------------------------------------------------------------------
    async def _run(self, load: Callable[[], None] | None) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        if load is not None:
            try:
                await loop.run_in_executor(self._executor, load)
            except Exception as exc:  # reported by /readyz and every request
                logger.error("guard model failed to load: %s", exc)
                self._load_error = exc
                self._ready.set()
                self._fail_pending(exc)
                return
        self._ready.set()
        while True:
            batch = await self._collect()
            if not batch:
                continue
            start = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, [j.conv for j in batch])
            except Exception as exc:  # the worker must survive anything
                logger.exception("guard worker failed")
                results = [_as_backend_error(exc)] * len(batch)
            if self._on_batch is not None:
                self._on_batch(len(batch), time.perf_counter() - start)
            for job, res in zip(batch, results, strict=True):
                if job.future.done():  # the caller timed out meanwhile
                    continue
                if isinstance(res, BaseException):
                    job.future.set_exception(res)
                else:
                    job.future.set_result(res)

    def _fail_pending(self, exc: BaseException) -> None:
        assert self._queue is not None
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(BackendUnavailable(f"the guard model failed to load: {exc}"))

    async def _collect(self) -> list[_Job]:
        assert self._queue is not None
        first = await self._queue.get()
        batch = [first] if not first.future.done() else []
        deadline = time.perf_counter() + self.max_wait_s
        while len(batch) < self.max_batch_size:
            remaining = deadline - time.perf_counter()
            if remaining <= 0 and self._queue.empty():
                break
            try:
                job = (
                    self._queue.get_nowait()
                    if remaining <= 0
                    else await asyncio.wait_for(self._queue.get(), remaining)
                )
            except TimeoutError:
                break
            if not job.future.done():
                batch.append(job)
        return batch

    def _run_batch(self, convs: list[Conversation]) -> list[Verdict | BaseException]:
        try:
            return list(self._classify(convs))
        except Exception as exc:
            if len(convs) == 1:
                return [_as_backend_error(exc)]
        # one bad item must not fail its neighbours: retry one by one
        out: list[Verdict | BaseException] = []
        for conv in convs:
            try:
                out.extend(self._classify([conv]))
            except Exception as exc:
                out.append(_as_backend_error(exc))
        return out


def _as_backend_error(exc: Exception) -> BackendError:
    if isinstance(exc, BackendError):
        return exc
    err = BackendError(f"the guard failed: {type(exc).__name__}: {exc}")
    err.__cause__ = exc
    return err
