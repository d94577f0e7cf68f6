"""The six languages through the real gRPC server on 127.0.0.1 with the real engine and nsjail:
a client changes only the request's ``language`` (and, of course, the source)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_languages import PROGRAMS

from crucible.sandbox_service.client import SandboxClient, SandboxError
from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.models import CallTest, ExecuteRequest, Status, StdioTest
from crucible.sandbox_service.models import TestCase as Case
from crucible.sandbox_service.server import RunningServer

Start = Callable[..., RunningServer]


@pytest.mark.slow
def test_every_language_over_grpc(start_controlled: Start) -> None:
    server = start_controlled(Engine(EngineConfig(workers=2, isolation="strict")))
    template = ExecuteRequest(
        language="python",
        source="a, b = map(int, input().split())\nprint(a + b)\n",
        tests=[Case(body=StdioTest(stdin="2 3\n", expected_stdout="5\n"))],
    )
    requests = [template.model_copy(update={"request_id": "python"})]
    requests += [
        template.model_copy(update={"request_id": name, "language": name, "source": programs.good})
        for name, programs in PROGRAMS.items()
    ]
    with SandboxClient(server.address) as client:
        languages = {language.name: language for language in client.languages(timeout=30)}
        verdicts = {verdict.request_id: verdict for verdict in client.execute_many(requests)}
        broken = template.model_copy(update={"language": "go", "source": "package main\n"})
        compile_error = client.execute(broken, timeout=120)
        with pytest.raises(SandboxError, match=r"INVALID_ARGUMENT.*not offered for 'java'"):
            client.execute(
                template.model_copy(
                    update={
                        "language": "java",
                        "source": PROGRAMS["java"].good,
                        "tests": [Case(body=CallTest(function_name="add", expected_json="5"))],
                    }
                ),
                timeout=60,
            )
    assert set(languages) == {"python", *PROGRAMS}
    for name in PROGRAMS:
        assert languages[name].capabilities.compile_step
        assert languages[name].runtime == verdicts[name].runtime
    assert languages["javascript"].capabilities.executed_lines
    assert languages["go"].capabilities.executed_lines
    assert {name: verdict.status for name, verdict in verdicts.items()} == dict.fromkeys(
        ["python", *PROGRAMS], Status.PASSED
    )
    assert all(verdict.tests[0].stdout == "5\n" for verdict in verdicts.values())
    assert compile_error.status is Status.COMPILE_ERROR
    assert compile_error.error is not None and compile_error.error.type == "CompileError"
