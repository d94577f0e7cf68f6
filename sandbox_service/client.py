"""Client of the sandbox service, speaking typed models; the proto stays behind :mod:`wire`.

Retries: running a program has no effect outside its jail, so a request may be sent again. Only
UNAVAILABLE (no server reached, or it is shutting down) and RESOURCE_EXHAUSTED (its queue is
full) are retried, with capped exponential backoff and full jitter. INVALID_ARGUMENT would fail
again, and DEADLINE_EXCEEDED means the caller's time is spent, so neither is retried.

Why by hand and not by gRPC's service-config ``retryPolicy`` (same schedule, same codes): gRPC
clamps ``maxAttempts`` at 5, while callers that wait for a restarted server ask for more; gRPC
stops retrying a call whose request exceeds its per-call retry buffer (256 KiB by default), and
requests carry up to 1 MiB of source plus their tests, so exactly the large ones would fail at the
first full queue (tests/sandbox/test_client.py checks that they are retried); and the batch stream
needs its own resend anyway (gRPC does not retry a stream once a response has arrived, and a full
queue answers a batch item in band), which :class:`RetryPolicy` then schedules the same way.

Load balancing: one channel with gRPC's ``round_robin`` policy over every address, rather than a
channel per address. gRPC then keeps a connection to each server, sends each call to the next
*connected* one (a dead server is skipped without a failed call) and re-resolves by itself; a
channel per address would re-implement that. ``round_robin`` balances over the resolved IP
addresses of one target, so several ``host:port`` addresses are resolved once, when the client is
made, into an ``ipv4:``/``ipv6:`` target (a DNS name with several records can instead be given as
the single address ``dns:///name:port`` and is then followed by gRPC).
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated, Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import BaseModel, ConfigDict, Field

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc
from crucible.sandbox_service import wire
from crucible.sandbox_service.models import ExecuteRequest, ExecuteResponse, Language

RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
_RETRYABLE_NAMES = frozenset(code.name for code in RETRYABLE_CODES)
_READY_POLL_S = 0.1
_MAX_RECONNECT_BACKOFF_MS = 5000

_T = TypeVar("_T")


class SandboxError(Exception):
    """A call the server (or the channel) answered with a non-OK status.

    ``code`` is the canonical gRPC status code name (``"INVALID_ARGUMENT"``, ``"UNAVAILABLE"``…);
    ``request_id`` names the batch item it concerns, if any.
    """

    def __init__(self, code: str, message: str, request_id: str = "") -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        where = f" (request {request_id!r})" if request_id else ""
        super().__init__(f"{code}: {message}{where}")

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> SandboxError:
        """The error a failed gRPC call raised (``grpc.RpcError`` is also a ``grpc.Call``)."""
        return cls(error.code().name, error.details() or "")


class RetryPolicy(BaseModel):
    """How UNAVAILABLE and RESOURCE_EXHAUSTED answers are retried (the schedule of gRPC's own
    retry design: the n-th wait is uniform in [0, min(max, initial * multiplier**n)])."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: Annotated[int, Field(ge=1)] = 5
    initial_backoff_s: Annotated[float, Field(gt=0)] = 0.1
    max_backoff_s: Annotated[float, Field(gt=0)] = 5.0
    multiplier: Annotated[float, Field(ge=1)] = 2.0

    def delays(self) -> Iterator[float]:
        """The waits before the 2nd, 3rd, … attempt; exhausted when attempts are."""
        for attempt in range(self.max_attempts - 1):
            cap = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier**attempt)
            yield random.uniform(0, cap)


def channel_target(addresses: str | Sequence[str]) -> str:
    """The gRPC target for one address (used as given: ``host:port``, ``dns:///…``,
    ``unix:…``) or several ``host:port`` addresses (resolved now into one ``ipv4:``/``ipv6:``
    target, so that ``round_robin`` balances over them)."""
    if isinstance(addresses, str):
        return addresses
    if not addresses:
        raise ValueError("no server address given")
    if len(addresses) == 1:
        return addresses[0]
    resolved = [_resolve(address) for address in addresses]
    if len({family for family, _ in resolved}) > 1:
        raise ValueError(f"addresses {list(addresses)} mix IPv4-only and IPv6-only servers")
    family = resolved[0][0]
    endpoints = dict.fromkeys(endpoint for _, group in resolved for endpoint in group)
    return f"{family}:{','.join(endpoints)}"


def _resolve(address: str) -> tuple[str, tuple[str, ...]]:
    """``host:port`` -> ("ipv4", ("1.2.3.4:port", …)), preferring IPv4 where a host has both."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"server address {address!r} is not host:port")
    try:
        infos = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"server address {address!r} does not resolve: {exc}") from None
    ipv4 = sorted({str(info[4][0]) for info in infos if info[0] == socket.AF_INET})
    if ipv4:
        return "ipv4", tuple(f"{ip}:{port}" for ip in ipv4)
    ipv6 = sorted({str(info[4][0]) for info in infos if info[0] == socket.AF_INET6})
    return "ipv6", tuple(f"[{ip}]:{port}" for ip in ipv6)


def _channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    service_config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.service_config", json.dumps(service_config)),
        # gRPC's default grows to 120 s: a restarted server would stay unused for minutes
        ("grpc.max_reconnect_backoff_ms", _MAX_RECONNECT_BACKOFF_MS),
    ]


def _retry_delay(
    error: grpc.RpcError, delays: Iterator[float], deadline: float | None
) -> float | None:
    """How long to wait before retrying ``error``; ``None`` when it must not be retried."""
    if error.code() not in RETRYABLE_CODES:
        return None
    delay = next(delays, None)
    if delay is None or (deadline is not None and time.monotonic() + delay >= deadline):
        return None
    return delay


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


_DEFAULT_MAX_MESSAGE_BYTES = 64 << 20


class SandboxClient:
    """Blocking client; safe to share between threads (gRPC channels are).

    ``timeout`` arguments are seconds for the whole call, retries included; ``None`` waits as
    long as the server takes (the server bounds every program by its limits).
    """

    def __init__(
        self,
        address: str | Sequence[str],
        retry: RetryPolicy | None = None,
        max_message_bytes: int = _DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.target = channel_target(address)
        self._retry = retry or RetryPolicy()
        self._channel = grpc.insecure_channel(self.target, _channel_options(max_message_bytes))
        self._stub = pb_grpc.SandboxServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def execute(self, request: ExecuteRequest, timeout: float | None = None) -> ExecuteResponse:
        """Run one request; raise :class:`SandboxError` if the server gives no verdict."""
        reply = self._call(self._stub.Execute, wire.request_to_proto(request), timeout)
        return wire.response_from_proto(reply)

    def execute_many(
        self, requests: Iterable[ExecuteRequest], timeout: float | None = None
    ) -> Iterator[ExecuteResponse]:
        """Run many requests over one ExecuteBatch stream; yield verdicts as they finish.

        ``requests`` is read lazily, as the server takes work. Their ``request_id``s must be
        unique; a request without one gets its position in ``requests``. Items the server was
        too busy for are sent again (see :class:`RetryPolicy`); an item it rejects raises
        :class:`SandboxError` naming its ``request_id``. Leaving the loop early cancels the
        stream, which kills the programs still running.
        """
        batch = _Batch(requests)
        deadline = _deadline(timeout)
        delays = self._retry.delays()
        while True:
            call = self._stub.ExecuteBatch(batch.messages(), timeout=_remaining(deadline))
            failure: grpc.RpcError | SandboxError | None = None
            try:
                for reply in call:
                    if reply.HasField("response"):
                        batch.answered(reply.request_id)
                        delays = self._retry.delays()  # progress: back off from scratch
                        yield wire.response_from_proto(reply.response)
                    elif reply.error.code in _RETRYABLE_NAMES:
                        failure = SandboxError(
                            reply.error.code, reply.error.message, reply.request_id
                        )
                    else:
                        raise SandboxError(reply.error.code, reply.error.message, reply.request_id)
            except grpc.RpcError as exc:
                batch.raise_source_error()
                if exc.code() not in RETRYABLE_CODES:
                    raise SandboxError.from_rpc(exc) from None
                failure = exc
            finally:
                batch.end_round()
                call.cancel()
            batch.raise_source_error()
            if batch.done():
                return
            delay = next(delays, None)
            if delay is None or (deadline is not None and time.monotonic() + delay >= deadline):
                if isinstance(failure, grpc.RpcError):
                    raise SandboxError.from_rpc(failure)
                raise failure or SandboxError(
                    "INTERNAL", f"the server ended the batch with {batch.pending()} unanswered"
                )
            time.sleep(delay)

    def languages(self, timeout: float | None = None) -> list[Language]:
        """The languages the server runs and what their verdicts contain."""
        reply = self._call(self._stub.ListLanguages, pb.ListLanguagesRequest(), timeout)
        return wire.languages_from_proto(reply)

    def wait_ready(self, timeout: float) -> None:
        """Block until a server reports SERVING for the sandbox service; raise
        :class:`SandboxError` (UNAVAILABLE) when none does within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            try:
                reply = self._health.Check(
                    health_pb2.HealthCheckRequest(service=wire.SERVICE_NAME),
                    timeout=_remaining(deadline),
                    wait_for_ready=True,
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    last = f"{exc.code().name}: {exc.details()}"
            if time.monotonic() + _READY_POLL_S >= deadline:
                raise SandboxError(
                    "UNAVAILABLE", f"no server at {self.target} ready within {timeout} s ({last})"
                )
            time.sleep(_READY_POLL_S)

    def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: Callable[..., _T], message: Any, timeout: float | None) -> _T:
        deadline = _deadline(timeout)
        delays = self._retry.delays()
        while True:
            try:
                return method(message, timeout=_remaining(deadline))
            except grpc.RpcError as exc:
                delay = _retry_delay(exc, delays, deadline)
                if delay is None:
                    raise SandboxError.from_rpc(exc) from None
            time.sleep(delay)


class AsyncSandboxClient:
    """The asyncio counterpart of :class:`SandboxClient` for one request at a time; run many
    with ``asyncio.gather``. Create it inside the event loop that uses it."""

    def __init__(
        self,
        address: str | Sequence[str],
        retry: RetryPolicy | None = None,
        max_message_bytes: int = _DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.target = channel_target(address)
        self._retry = retry or RetryPolicy()
        options = _channel_options(max_message_bytes)
        self._channel = grpc.aio.insecure_channel(self.target, options)
        self._stub = pb_grpc.SandboxServiceStub(self._channel)  # type: ignore[no-untyped-call]

    async def execute(
        self, request: ExecuteRequest, timeout: float | None = None
    ) -> ExecuteResponse:
        """Run one request; raise :class:`SandboxError` if the server gives no verdict."""
        reply = await self._call(self._stub.Execute, wire.request_to_proto(request), timeout)
        return wire.response_from_proto(reply)

    async def languages(self, timeout: float | None = None) -> list[Language]:
        """The languages the server runs and what their verdicts contain."""
        reply = await self._call(self._stub.ListLanguages, pb.ListLanguagesRequest(), timeout)
        return wire.languages_from_proto(reply)

    async def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncSandboxClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(self, method: Callable[..., Any], message: Any, timeout: float | None) -> Any:
        deadline = _deadline(timeout)
        delays = self._retry.delays()
        while True:
            try:
                return await method(message, timeout=_remaining(deadline))
            except grpc.RpcError as exc:
                delay = _retry_delay(exc, delays, deadline)
                if delay is None:
                    raise SandboxError.from_rpc(exc) from None
            await asyncio.sleep(delay)


class _Batch:
    """The requests of one ``execute_many`` call, shared by its successive streams ("rounds").

    gRPC reads a stream's requests on its own thread. A round's reader takes the requests left
    unanswered by earlier rounds, then pulls fresh ones from the caller's iterable; every pulled
    request is recorded as unanswered *before* it is handed to gRPC, under a lock, so a request
    is never lost between a failed round and the next. Ending a round (under the same lock)
    stops its reader from pulling any further.
    """

    def __init__(self, requests: Iterable[ExecuteRequest]) -> None:
        self._source = enumerate(requests)
        self._lock = threading.Lock()
        self._round = 0
        self._unanswered: dict[str, ExecuteRequest] = {}
        self._seen: set[str] = set()
        self._exhausted = False
        self._source_error: Exception | None = None

    def messages(self) -> Iterator[pb.ExecuteBatchRequest]:
        """The request stream of a new round."""
        with self._lock:
            round_, resend = self._round, list(self._unanswered.values())
        return self._stream(round_, resend)

    def _stream(
        self, round_: int, resend: list[ExecuteRequest]
    ) -> Iterator[pb.ExecuteBatchRequest]:
        for request in resend:
            if self._round != round_:
                return
            yield pb.ExecuteBatchRequest(request=wire.request_to_proto(request))
        while True:
            with self._lock:
                fresh = None if self._round != round_ or self._exhausted else self._pull()
            if fresh is None:
                return
            yield pb.ExecuteBatchRequest(request=wire.request_to_proto(fresh))

    def _pull(self) -> ExecuteRequest | None:
        """The next fresh request, registered as unanswered (lock held)."""
        try:
            index, request = next(self._source)
            if not request.request_id:
                request = request.model_copy(update={"request_id": str(index)})
            if request.request_id in self._seen:
                raise ValueError(f"request_id {request.request_id!r} is used twice")
        except StopIteration:
            self._exhausted = True
            return None
        except Exception as exc:  # the caller's iterable failed: end the stream, re-raise later
            self._source_error, self._exhausted = exc, True
            return None
        self._seen.add(request.request_id)
        self._unanswered[request.request_id] = request
        return request

    def answered(self, request_id: str) -> None:
        with self._lock:
            if self._unanswered.pop(request_id, None) is None:
                raise SandboxError(
                    "INTERNAL", "the server answered a request never sent (or twice)", request_id
                )

    def end_round(self) -> None:
        with self._lock:
            self._round += 1

    def raise_source_error(self) -> None:
        if self._source_error is not None:
            raise self._source_error

    def done(self) -> bool:
        with self._lock:
            return self._exhausted and not self._unanswered

    def pending(self) -> int:
        with self._lock:
            return len(self._unanswered)
