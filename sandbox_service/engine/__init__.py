"""Execution engine: runs requests in jails and turns raw results into verdicts."""

from crucible.sandbox_service.engine.engine import Engine, EngineBusy, EngineConfig, RequestRejected
from crucible.sandbox_service.engine.jail import JailUnavailable

__all__ = ["Engine", "EngineBusy", "EngineConfig", "JailUnavailable", "RequestRejected"]
