"""The gRPC servicer: each request goes through :func:`server.dispatch.answer` (validation, the
engine, canonical status codes, metrics, logs); this module adds only what is gRPC's: aborting
with a status, streaming a batch, telling a deadline from a cancellation. No execution logic
lives here.

Cancellation is the engine's contract ("cancelling the awaiting task kills the program"), so the
servicer awaits the engine directly in the RPC's task: grpc.aio cancels that task when the client
cancels or its deadline passes, and the program dies with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc
from crucible.sandbox_service import wire
from crucible.sandbox_service.engine import Engine
from crucible.sandbox_service.server.dispatch import Failure, Outcome, answer, refuse
from crucible.sandbox_service.server.metrics import ServerMetrics

# A request cancelled this close to its deadline (seconds) is counted as past its deadline.
_DEADLINE_SLACK_S = 0.1


class SandboxServicer(pb_grpc.SandboxServiceServicer):
    """Serves ``crucible.sandbox.v1.SandboxService`` from one :class:`Engine`.

    ``batch_concurrency`` bounds the programs one ExecuteBatch stream has in the engine at once;
    while they run, the servicer stops reading the stream, so HTTP/2 flow control pushes back on
    the client instead of the server buffering an unbounded batch. Every request (an Execute
    call or a batch item) ends in one log line and one count in ``metrics``.

    :meth:`drain` (the server is shutting down) makes every batch stream stop reading items,
    answer the ones it took, and end with UNAVAILABLE, so that its client sends the rest to
    another server at once instead of after the grace period, and nothing it took is killed.
    """

    def __init__(
        self, engine: Engine, batch_concurrency: int, metrics: ServerMetrics | None = None
    ) -> None:
        if batch_concurrency < 1:
            raise ValueError(f"batch_concurrency must be at least 1, got {batch_concurrency}")
        self._engine = engine
        self._batch_concurrency = batch_concurrency
        self._metrics = metrics or ServerMetrics(engine)
        self._draining = False
        # The tasks of the batch streams waiting for their next item; drain() wakes them.
        self._reading: set[asyncio.Task[Any]] = set()

    def drain(self) -> None:
        """Stop taking batch items (see the class docstring); Execute calls are the server's to
        refuse. Called on the server's event loop."""
        self._draining = True
        for stream in self._reading:
            stream.cancel()

    async def Execute(  # noqa: N802 (the proto's rpc name)
        self, request: pb.ExecuteRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExecuteResponse:
        outcome = await self._run("Execute", request, context)
        if isinstance(outcome, Failure):
            await _abort(context, outcome)
        return outcome

    async def ExecuteBatch(  # noqa: N802
        self,
        request_iterator: AsyncIterator[pb.ExecuteBatchRequest],
        context: grpc.aio.ServicerContext,
    ) -> None:
        """Answer every item in completion order; a failed item is an answer, not the end.

        The RPC's task reads the items; each taken item runs in a task of its own, which writes
        its answer (one write at a time) as soon as it has it: no queue and no writer task
        between an answer and the stream, so an item costs the event loop as few wake-ups as
        it can. A slot of ``batch_concurrency`` is held from reading an item until its answer
        is written. When the stream ends early (client cancellation, deadline, server shutdown,
        a failed write) the ``finally`` cancels every item still running, which kills its
        program.
        """
        stream = asyncio.current_task()
        assert stream is not None  # grpc.aio runs every RPC in a task
        slots = asyncio.Semaphore(self._batch_concurrency)
        writing = asyncio.Lock()
        running: set[asyncio.Task[None]] = set()
        seen: set[str] = set()
        broken: list[Exception] = []  # a failed write, re-raised by the RPC's task

        async def send(reply: pb.ExecuteBatchResponse) -> None:
            async with writing:
                await context.write(reply)
            slots.release()

        async def answer(item: pb.ExecuteBatchRequest) -> None:
            task = asyncio.current_task()
            assert task is not None
            try:
                await send(await self._batch_item(item, context))
            except Exception as exc:  # the stream is broken: end it with this error
                broken.append(exc)
                stream.cancel()
            finally:
                running.discard(task)

        items = aiter(request_iterator)
        try:
            while (item := await self._next_item(items, stream)) is not None:
                await slots.acquire()
                refused = self._refused_id(item, seen, context)
                if refused is not None:
                    await send(refused)
                    continue
                task = asyncio.create_task(answer(item))
                running.add(task)
            await asyncio.gather(*running)
        except asyncio.CancelledError:
            if broken:
                raise broken[0] from None
            raise
        finally:
            unfinished = tuple(running)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        if self._draining:
            message = "the server is shutting down; send the unanswered items to another server"
            await _abort(context, Failure(grpc.StatusCode.UNAVAILABLE, message))

    async def _next_item(
        self, items: AsyncIterator[pb.ExecuteBatchRequest], stream: asyncio.Task[Any]
    ) -> pb.ExecuteBatchRequest | None:
        """The stream's next item; None at its end or once the server drains. The read is
        awaited in the RPC's own task (``stream``), no task of its own: :meth:`drain` cancels
        the read, which is told from any other cancellation by the drain flag and the task's
        count of cancellations."""
        if self._draining:
            return None
        self._reading.add(stream)
        try:
            return await anext(items, None)
        except asyncio.CancelledError:
            if self._draining and stream.uncancel() == 0:
                return None
            raise
        finally:
            self._reading.discard(stream)

    async def ListLanguages(  # noqa: N802
        self, request: pb.ListLanguagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLanguagesResponse:
        reply = wire.languages_to_proto(self._engine.languages())
        self._metrics.requests.labels(method="ListLanguages", code="OK").inc()
        return reply

    def _refused_id(
        self, item: pb.ExecuteBatchRequest, seen: set[str], context: grpc.aio.ServicerContext
    ) -> pb.ExecuteBatchResponse | None:
        """The answer to an item whose ``request_id`` cannot identify its answer (empty, or
        used by an earlier item of the stream), counted and logged; None for a good one. An
        item without a request is left to :meth:`_batch_item`, which says so."""
        if not item.HasField("request"):
            return None
        request_id = item.request.request_id
        if not request_id:
            message = "request.request_id is empty; a batch answer is matched to its item by it"
        elif request_id in seen:
            message = f"request.request_id {request_id!r} is used by an earlier item of this stream"
        else:
            seen.add(request_id)
            return None
        failure = Failure(grpc.StatusCode.INVALID_ARGUMENT, message)
        refuse(self._metrics, "ExecuteBatch", failure, context.peer())
        error = pb.ItemError(code=failure.code.name, message=message)
        return pb.ExecuteBatchResponse(request_id=request_id, error=error)

    async def _batch_item(
        self, item: pb.ExecuteBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExecuteBatchResponse:
        request_id = item.request.request_id
        request = item.request if item.HasField("request") else None
        outcome = await self._run("ExecuteBatch", request, context)
        if isinstance(outcome, Failure):
            error = pb.ItemError(code=outcome.code.name, message=outcome.message)
            return pb.ExecuteBatchResponse(request_id=request_id, error=error)
        return pb.ExecuteBatchResponse(request_id=request_id, response=outcome)

    async def _run(
        self, method: str, message: pb.ExecuteRequest | None, context: grpc.aio.ServicerContext
    ) -> Outcome:
        return await answer(
            self._engine,
            self._metrics,
            method,
            message,
            context.peer(),
            lambda: _cancelled_code(context),
        )


async def _abort(context: grpc.aio.ServicerContext, failure: Failure) -> NoReturn:
    await context.abort(failure.code, failure.message)
    raise AssertionError("ServicerContext.abort returned instead of raising")


def _cancelled_code(context: grpc.aio.ServicerContext) -> str:
    """The code of a request whose task was cancelled: by the client, its deadline or the
    server's shutdown. When the client's deadline fires first, its cancellation arrives while the
    server's copy of the deadline (later by the request's transit time) has a few milliseconds
    left."""
    remaining = context.time_remaining()
    expired = remaining is not None and remaining <= _DEADLINE_SLACK_S
    return "DEADLINE_EXCEEDED" if expired else "CANCELLED"
