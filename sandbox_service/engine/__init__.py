"""Execution engine: runs requests in jails and turns raw results into verdicts."""

from sandbox_service.engine.engine import Engine, EngineBusy, EngineConfig, RequestRejected

__all__ = ["Engine", "EngineBusy", "EngineConfig", "RequestRejected"]
