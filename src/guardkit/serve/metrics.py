"""Prometheus metrics on a per-app registry (two apps in one process do not collide)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .._types import Task, Verdict

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class Metrics:
    """The server's metrics. Build with :meth:`create`.

    Metric names: ``guardkit_requests_total{endpoint,method,status}``,
    ``guardkit_request_duration_seconds{endpoint}``, ``guardkit_flags_total{task,category}``,
    ``guardkit_guard_errors_total{kind}``, ``guardkit_guard_batch_size``,
    ``guardkit_guard_batch_duration_seconds``, ``guardkit_proxy_actions_total{action}``,
    ``guardkit_ready``, ``guardkit_guard_queue_depth``.
    """

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    flags: Counter
    guard_errors: Counter
    batch_size: Histogram
    batch_duration: Histogram
    proxy_actions: Counter
    ready: Gauge
    queue_depth: Gauge

    @classmethod
    def create(cls) -> Metrics:
        r = CollectorRegistry(auto_describe=True)
        return cls(
            registry=r,
            requests=Counter(
                "guardkit_requests",
                "HTTP requests by endpoint and status.",
                ["endpoint", "method", "status"],
                registry=r,
            ),
            latency=Histogram(
                "guardkit_request_duration_seconds",
                "Request latency.",
                ["endpoint"],
                buckets=_LATENCY_BUCKETS,
                registry=r,
            ),
            flags=Counter(
                "guardkit_flags",
                "Positive verdicts by task and OpenAI category ('none' when no category maps).",
                ["task", "category"],
                registry=r,
            ),
            guard_errors=Counter("guardkit_guard_errors", "Guard failures.", ["kind"], registry=r),
            batch_size=Histogram(
                "guardkit_guard_batch_size",
                "Conversations per model call.",
                buckets=(1, 2, 4, 8, 16, 32, 64, 128),
                registry=r,
            ),
            batch_duration=Histogram(
                "guardkit_guard_batch_duration_seconds",
                "Seconds per model call.",
                buckets=_LATENCY_BUCKETS,
                registry=r,
            ),
            proxy_actions=Counter("guardkit_proxy_actions", "Proxy outcomes.", ["action"], registry=r),
            ready=Gauge("guardkit_ready", "1 once the guard model has loaded.", registry=r),
            queue_depth=Gauge(
                "guardkit_guard_queue_depth", "Conversations waiting for the model.", registry=r
            ),
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_duration.observe(seconds)

    def count_flags(self, verdicts: list[Verdict]) -> None:
        for v in verdicts:
            cats = [c for c in v.categories_in("openai")] or ["none"]
            for task in (Task.PROMPT_HARMFUL, Task.RESPONSE_HARMFUL):
                tv = v.task(task)
                if tv is not None and tv.label:
                    for c in cats:
                        self.flags.labels(task=task.value, category=c).inc()
            rr = v.response_refusal
            if rr is not None and rr.label:
                self.flags.labels(task=Task.RESPONSE_REFUSAL.value, category="none").inc()
