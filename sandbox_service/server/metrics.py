"""Prometheus metrics of a sandbox server, served as text over HTTP (``--metrics-address``).

Each server has its own registry, so several servers (or tests) in one process never collide.
Request counters and the latency histogram are updated as requests end (by
:func:`server.dispatch.answer`, for gRPC and HTTP alike); the
engine's state (queue depth, programs running, live workers, worker replacements) is read when
the endpoint is scraped, so it is never stale and costs nothing between scrapes.

What is counted: every ``Execute`` call and every ``ExecuteBatch`` item by its canonical code
(a batch item's code is its ``ItemError`` code, ``OK`` when it has a verdict), ``ListLanguages``
calls, and the HTTP front's ``POST /v1/execute`` and ``POST /run_code`` requests (``method`` is
the route). RPCs that gRPC itself refuses before they reach the servicer (beyond
``max_concurrent_rpcs``, or while shutting down), and HTTP connections uvicorn refuses, are not
counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crucible.sandbox_service.engine import Engine

# Seconds; from a trivial pooled run (~5 ms) to the default wall backstop times a few tests.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class _EngineCollector(Collector):
    """Reads the engine's state at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        stats = self._engine.stats()
        yield GaugeMetricFamily(
            "crucible_sandbox_queue_depth",
            "Requests admitted by the engine and waiting for a worker.",
            value=stats.queued,
        )
        yield GaugeMetricFamily(
            "crucible_sandbox_in_flight",
            "Programs executing now.",
            value=stats.running,
        )
        yield GaugeMetricFamily(
            "crucible_sandbox_workers",
            "Programs the engine runs at once (--workers).",
            value=stats.workers,
        )
        yield GaugeMetricFamily(
            "crucible_sandbox_pool_workers_alive",
            "Warm pooled workers whose jail is running (0 unless --isolation pooled).",
            value=stats.pool_workers_alive,
        )
        restarts = CounterMetricFamily(
            "crucible_sandbox_worker_restarts",
            "Pooled workers replaced, by reason: died (found dead), crashed (failed mid-job), "
            "stuck (outlived its job's deadline), cancelled (its request was cancelled "
            "mid-job), recycled (served its quota of jobs).",
            labels=["reason"],
        )
        for reason, count in sorted(stats.worker_restarts.items()):
            restarts.add_metric([reason], count)
        yield restarts


class ServerMetrics:
    """The metrics of one server and the registry that exposes them."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "crucible_sandbox_requests",
            "Requests answered, by RPC or HTTP route and canonical status code (ExecuteBatch: "
            "per item).",
            ["method", "code"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "crucible_sandbox_verdicts",
            "Verdicts returned, by program status.",
            ["status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "crucible_sandbox_request_duration_seconds",
            "Time from receiving a request to its verdict (requests answered with a verdict).",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_EngineCollector(engine))
        ProcessCollector(registry=self.registry)
        # The labelled children of each (method, code, status) seen: ``labels()`` checks and
        # looks up its arguments under a lock on every call, three times the cost of the counts
        # themselves; the combinations are few (methods x codes x statuses).
        self._children: dict[tuple[str, str, str | None], _Children] = {}

    def observe(self, method: str, code: str, status: str | None, duration_s: float) -> None:
        """Count one answered request; ``status`` is the verdict's, when it got one."""
        key = (method, code, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = _Children(
                requests=self.requests.labels(method=method, code=code),
                verdicts=None if status is None else self.verdicts.labels(status=status),
                latency=None if status is None else self.latency.labels(method=method),
            )
        children.requests.inc()
        if children.verdicts is not None and children.latency is not None:
            children.verdicts.inc()
            children.latency.observe(duration_s)


@dataclass(frozen=True)
class _Children:
    """The metrics one kind of answered request updates (verdict ones: None without a verdict)."""

    requests: Counter
    verdicts: Counter | None
    latency: Histogram | None


@dataclass(frozen=True)
class MetricsEndpoint:
    """A running HTTP endpoint serving ``/metrics`` (any path, in fact) from a registry."""

    httpd: WSGIServer
    thread: threading.Thread
    address: str

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def split_host_port(address: str, field: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) -> (host, port); ValueError naming ``field`` and
    the problem."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{field} {address!r} is not host:port with a port 0-65535")
    return host.strip("[]"), int(port)


def start_metrics_endpoint(registry: CollectorRegistry, address: str) -> MetricsEndpoint:
    """Serve ``registry`` on ``address`` (port 0 picks a free port) in a daemon thread.

    Raises RuntimeError when the address cannot be bound.
    """
    host, port = split_host_port(address, "metrics_address")
    try:
        httpd, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise RuntimeError(f"cannot serve metrics on {address}: {exc}") from exc
    shown = f"[{host}]" if ":" in host else host
    return MetricsEndpoint(httpd=httpd, thread=thread, address=f"{shown}:{httpd.server_port}")
