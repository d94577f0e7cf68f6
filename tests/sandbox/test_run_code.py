"""SandboxFusion's ``POST /run_code`` on a real ``crucible sandbox serve --http-address``
(pooled isolation), field by field: what each kind of run answers, the requests verl's sandbox
client sends, and the inputs refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from live_server import LiveServer, live_server

pytestmark = pytest.mark.timeout(180)

# Every field of SandboxFusion's RunCodeResponse.
RESPONSE_FIELDS = {
    "status",
    "message",
    "compile_result",
    "run_result",
    "executor_pod_name",
    "files",
}
COMMAND_FIELDS = {"status", "execution_time", "return_code", "stdout", "stderr"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("run_code"), http=True, metrics=True) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    assert server.http_url is not None
    with httpx.Client(base_url=server.http_url, timeout=60) as http:
        yield http


def run_code(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    reply = client.post("/run_code", json=fields)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    assert set(answer) == RESPONSE_FIELDS
    assert answer["executor_pod_name"] is None
    assert answer["files"] == {}
    for command in (answer["compile_result"], answer["run_result"]):
        assert command is None or set(command) == COMMAND_FIELDS
    return answer


def test_a_python_run_reads_stdin_and_succeeds(client: httpx.Client) -> None:
    code = "import sys\nname = input()\nprint('hello', name)\nprint('note', file=sys.stderr)\n"
    answer = run_code(client, code=code, language="python", stdin="crucible\n")
    assert (answer["status"], answer["message"], answer["compile_result"]) == ("Success", "", None)
    run = answer["run_result"]
    assert (run["status"], run["return_code"]) == ("Finished", 0)
    assert (run["stdout"], run["stderr"]) == ("hello crucible\n", "note\n")
    assert 0 < run["execution_time"] < 10


def test_an_exception_fails_with_its_traceback_on_stderr(client: httpx.Client) -> None:
    code = "def g():\n    return 1 / 0\nprint('before')\ng()\n"
    answer = run_code(client, code=code, language="python")
    assert answer["status"] == "Failed"
    assert answer["message"] == "RUNTIME_ERROR: division by zero"
    run = answer["run_result"]
    assert (run["status"], run["return_code"], run["stdout"]) == ("Finished", 1, "before\n")
    assert run["stderr"].startswith("Traceback (most recent call last):\n")
    assert "line 2, in g\n    return 1 / 0\n" in run["stderr"]
    assert run["stderr"].endswith("ZeroDivisionError: division by zero\n")


def test_a_python_exit_code_is_the_return_code(client: httpx.Client) -> None:
    answer = run_code(client, code="import sys\nprint(5)\nsys.exit(3)\n", language="python")
    run = answer["run_result"]
    assert (answer["status"], run["return_code"], run["stdout"], run["stderr"]) == (
        "Failed",
        3,
        "5\n",
        "",
    )


def test_a_python_syntax_error_is_a_failed_run(client: httpx.Client) -> None:
    answer = run_code(client, code="def f(:\n    pass\n", language="python")
    assert (answer["status"], answer["compile_result"]) == ("Failed", None)
    run = answer["run_result"]
    assert (run["status"], run["return_code"]) == ("Finished", 1)
    assert run["stderr"] == "line 1: SyntaxError: invalid syntax\n"


def test_run_timeout_is_the_cpu_limit_and_gives_time_limit_exceeded(
    client: httpx.Client,
) -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.5:\n    pass\n"
    code = spin + "print('done')\n"
    answer = run_code(client, code=code, language="python", run_timeout=1)
    assert answer["status"] == "Failed"
    assert answer["message"].startswith("TIME_LIMIT_EXCEEDED: exceeded the ")
    run = answer["run_result"]
    assert (run["status"], run["return_code"], run["stdout"]) == ("TimeLimitExceeded", None, "")
    answer = run_code(client, code=code, language="python", run_timeout=5)
    assert (answer["status"], answer["run_result"]["stdout"]) == ("Success", "done\n")


def test_memory_limit_mb_is_the_memory_limit(client: httpx.Client) -> None:
    code = "x = bytearray(200 * 1024 * 1024)\nprint(len(x))\n"
    assert run_code(client, code=code, language="python")["status"] == "Success"
    answer = run_code(client, code=code, language="python", memory_limit_MB=64)
    assert answer["status"] == "Failed"
    assert answer["message"].startswith("MEMORY_LIMIT_EXCEEDED: ")
    assert answer["run_result"]["stdout"] == ""


def test_a_compiled_language_reports_its_compile_and_its_run(client: httpx.Client) -> None:
    code = (
        '#include <cstdio>\nint main() { int x; scanf("%d", &x); printf("%d\\n", 2 * x);'
        " return 3; }\n"
    )
    answer = run_code(client, code=code, language="cpp", stdin="21\n")
    assert (answer["status"], answer["message"]) == (
        "Failed",
        "RUNTIME_ERROR: the program exited with code 3",
    )
    built, run = answer["compile_result"], answer["run_result"]
    assert (built["status"], built["return_code"], built["stderr"]) == ("Finished", 0, "")
    assert built["execution_time"] >= 0
    assert (run["status"], run["return_code"], run["stdout"], run["stderr"]) == (
        "Finished",
        3,
        "42\n",
        "",
    )


def test_a_compile_error_has_no_run(client: httpx.Client) -> None:
    answer = run_code(client, code="int main() { return x; }\n", language="cpp")
    assert answer["status"] == "Failed"
    assert answer["message"].startswith("COMPILE_ERROR: ")
    assert answer["run_result"] is None
    built = answer["compile_result"]
    assert (built["status"], built["return_code"]) == ("Finished", 1)
    assert "CompileError: " in built["stderr"] and "'x'" in built["stderr"]


def test_nodejs_is_crucibles_javascript(client: httpx.Client) -> None:
    code = "const n = Number(require('fs').readFileSync(0, 'utf8'));\nconsole.log(n * 2);\n"
    answer = run_code(client, code=code, language="nodejs", stdin="21")
    assert (answer["status"], answer["compile_result"]) == ("Success", None)
    assert answer["run_result"]["stdout"] == "42\n"


def test_the_request_verls_sandbox_client_sends(client: httpx.Client) -> None:
    """verl's call_sandbox_api body: both timeouts, stdin, empty files and fetch_files (and
    memory_limit_MB in later versions); it reads run_result.stdout on Success."""
    body = {
        "compile_timeout": 10,
        "run_timeout": 10,
        "code": "print(sum(map(int, input().split())))",
        "stdin": "1 2 3",
        "language": "python",
        "files": {},
        "fetch_files": [],
        "memory_limit_MB": 1024,
    }
    answer = run_code(client, **body)
    assert (answer["status"], answer["run_result"]["stdout"]) == ("Success", "6\n")


@pytest.mark.parametrize(
    ("fields", "loc", "message"),
    [
        ({"code": "x", "language": "bash"}, ["body", "language"], "language 'bash' is not run"),
        (
            {"code": "x", "language": "python", "files": {"a.txt": "eA=="}},
            ["body", "files"],
            "files is not supported: a program runs alone in its jail",
        ),
        (
            {"code": "x", "language": "python", "fetch_files": ["out.txt"]},
            ["body", "fetch_files"],
            "fetch_files is not supported",
        ),
        (
            {"code": "x", "language": "python", "memory_limit_MB": 3},
            ["body", "memory_limit_MB"],
            "must be -1 (the server's default) or 16 to 65536 megabytes",
        ),
        (
            {"code": "x", "language": "python", "run_timeout": 0},
            ["body", "run_timeout"],
            "greater than 0",
        ),
        ({"code": "x", "language": "python", "timeout": 3}, ["body", "timeout"], "not permitted"),
        ({"language": "python"}, ["body", "code"], "Field required"),
    ],
)
def test_refused_requests_are_422_naming_the_field(
    client: httpx.Client, fields: dict[str, Any], loc: list[str], message: str
) -> None:
    reply = client.post("/run_code", json=fields)
    assert reply.status_code == 422
    (detail,) = reply.json()["detail"]
    assert detail["loc"] == loc
    assert message in detail["msg"]


def test_bad_json_is_422_and_every_request_is_counted(
    client: httpx.Client, server: LiveServer
) -> None:
    before = server.scrape()
    reply = client.post("/run_code", content=b'{"code": ')
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["type"] == "json_invalid"
    run_code(client, code="print(1)", language="python")
    after = server.scrape()

    def counted(samples: dict[Any, float], code: str) -> float:
        labels = (("code", code), ("method", "POST /run_code"))
        return samples.get(("crucible_sandbox_requests_total", labels), 0.0)

    assert counted(after, "INVALID_ARGUMENT") - counted(before, "INVALID_ARGUMENT") == 1
    assert counted(after, "OK") - counted(before, "OK") == 1


def test_ping_answers_pong_as_sandbox_fusion_does(client: httpx.Client) -> None:
    reply = client.get("/v1/ping")
    assert (reply.status_code, reply.json()) == (200, "pong")
