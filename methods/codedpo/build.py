"""CodeDPO's data construction: sample codes and tests, run the n × m matrix, rank, time, pair.

For every prompt (a problem with a named function under test): n codes are sampled with the
run's sampling settings, and m one-line tests by continuing the configured test prompt. Each code
runs once against all of its prompt's distinct, parsable tests in one sandbox request (one
program load, every test reported: the pass matrix's row). All requests of all prompts are
submitted together, so the sandbox's workers run them concurrently. The ranking (see
:mod:`methods.codedpo.verify`) gives the correctness pair and the trusted tests; the efficiency
candidates are then each executed ``timing_repeats`` times on the trusted tests alone (runs
interleaved across programs) and timed by CPU time, which other programs running beside them
disturb less than wall time.

The dataset's own tests and reference solution are never used to choose a pair; with
``audit_with_reference_tests`` the tests are run on each pair's two codes afterwards and
recorded, so the file shows how often self-verification picked a truly correct code, and the
reference solution is run on the generated tests to measure how many are right
(``generated_test_precision``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crucible.evaluation.test_writing import docstring_examples, test_prompt
from crucible.kernel.config import SamplingConfig
from crucible.kernel.plugin import Problem
from crucible.kernel.run_config import RunConfig
from crucible.kernel.sampler import Sampler, format_prompt
from crucible.kernel.sandbox import SandboxHandle
from crucible.methods.codedpo.config import CodeDPOConfig
from crucible.methods.codedpo.pairs import PairType, PreferencePair, as_completion, as_prompt
from crucible.methods.codedpo.verify import (
    RankedCodes,
    efficiency_candidates,
    efficiency_pair,
    rank_codes,
)
from crucible.sandbox_service.models import (
    AssertTest,
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    Status,
    TestCase,
)


@dataclass
class BuildResult:
    """The pairs and counts describing how they were made."""

    pairs: list[PreferencePair]
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class _Prompt:
    """One prompt's material as it moves through the stages."""

    problem: Problem
    codes: list[str]
    tests: list[str]
    example_tests: int = 0  # the first this many of ``tests`` come from the prompt's examples
    passes: list[list[bool]] = field(default_factory=list)
    ranked: RankedCodes | None = None
    times_ms: dict[int, list[float]] = field(default_factory=dict)


def entry_point(problem: Problem) -> str | None:
    """The function a generated test calls, if the problem names one."""
    name = problem.metadata.get("entry_point")
    return name if isinstance(name, str) and name else None


def prompt_for_tests(problem: Problem, settings: CodeDPOConfig) -> str:
    """What the model continues to write one test (the test's prefix included)."""
    name = entry_point(problem)
    if name is None:
        raise ValueError(f"problem {problem.problem_id} names no function to test")
    return test_prompt(problem.prompt, name, settings.test_prompt_template, settings.test_prefix)


def compiles(code: str) -> bool:
    """Whether ``code`` compiles (parsing alone misses errors of the compiler's later passes)."""
    try:
        compile(code, "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def usable_tests(problem: Problem, lines: Sequence[str], settings: CodeDPOConfig) -> list[str]:
    """Generated test lines as test programs: the prefix plus the sampled line, keeping the
    first of each distinct test that compiles as Python (the sandbox rejects a request whose
    test does not: one bad line would cost the whole row)."""
    name = entry_point(problem)
    prefix = settings.test_prefix.format(entry_point=name)
    tests: list[str] = []
    for line in lines:
        code = (prefix + line).strip()
        if not compiles(code):
            continue
        if code not in tests:
            tests.append(code)
    return tests


def example_tests(problem: Problem) -> list[str]:
    """The prompt's docstring examples of its function under test as one-line tests
    (``>>> f(4)`` showing ``5`` gives ``assert (f(4)) == (5)``); none when the prompt does not
    parse or shows no example with a value."""
    name = entry_point(problem)
    tests: list[str] = []
    for call, want in docstring_examples(problem.prompt, name) if name else []:
        test = f"assert ({call}) == ({want})"
        if compiles(test) and test not in tests:
            tests.append(test)
    return tests


def pass_row(verdict: ExecuteResponse, test_count: int) -> list[bool]:
    """Which of the request's tests passed, by test index (a test the sandbox never reached,
    e.g. after a compile error, did not pass)."""
    passed = {result.index for result in verdict.tests if result.status is Status.PASSED}
    return [j in passed for j in range(test_count)]


def cpu_ms(verdict: ExecuteResponse) -> float | None:
    """CPU time of a timing run (the sum over its tests), or None unless every test passed."""
    if verdict.status is not Status.PASSED:
        return None
    return sum(result.cpu_time_ms for result in verdict.tests)


def matrix_request(
    request_id: str, problem: Problem, code: str, tests: Sequence[str], limits: Limits
) -> ExecuteRequest:
    """One program load running ``code`` against every one of ``tests`` (all reported)."""
    return ExecuteRequest(
        request_id=request_id,
        source=code,
        prelude=problem.program_prefix,
        tests=[TestCase(name=f"gen_{j}", body=AssertTest(code=t)) for j, t in enumerate(tests)],
        limits=limits,
    )


@dataclass(frozen=True)
class TimingJob:
    """One program to time: ``code`` of ``problem`` on ``tests`` (the trusted ones)."""

    problem: Problem
    code: str
    tests: Sequence[str]


def time_jobs(
    sandbox: SandboxHandle, jobs: Sequence[TimingJob], *, repeats: int, limits: Limits
) -> list[list[float] | None]:
    """Per job, the CPU times (ms) of ``repeats`` runs, or None if any run failed (a flaky
    program is no efficiency example). The runs are interleaved (every job's first run, then
    every job's second...), so a drift in the machine's speed touches every job alike."""
    requests = [
        matrix_request(
            f"{job.problem.problem_id}/time/{k}/{r}", job.problem, job.code, job.tests, limits
        )
        for r in range(repeats)
        for k, job in enumerate(jobs)
    ]
    verdicts = sandbox.execute(requests)
    times: list[list[float] | None] = []
    for k in range(len(jobs)):
        runs = [cpu_ms(verdicts[r * len(jobs) + k]) for r in range(repeats)]
        times.append([t for t in runs if t is not None] if None not in runs else None)
    return times


class PairBuilder:
    """Builds CodeDPO's preference pairs from one model (see the module docstring)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        sandbox: SandboxHandle,
        settings: CodeDPOConfig,
        *,
        sampling: SamplingConfig,
        limits: Limits,
        chat: bool,
        seed: int,
    ) -> None:
        self.tokenizer = tokenizer
        self.sandbox = sandbox
        self.settings = settings
        self.limits = limits
        self.chat = chat
        self.seed = seed
        self.code_sampler = Sampler(model, tokenizer, sampling)
        test_sampling = sampling.model_copy(
            update={"stop": ("\n",), "max_new_tokens": settings.test_max_new_tokens}
        )
        self.test_sampler = Sampler(model, tokenizer, test_sampling)
        self.stats: dict[str, float] = {}

    def build(self, problems: Sequence[Problem]) -> BuildResult:
        """Pairs for every problem that names a function under test."""
        self.stats = {"problems": float(len(problems))}
        eligible = [p for p in problems if entry_point(p) is not None]
        self.stats["problems_without_entry_point"] = float(len(problems) - len(eligible))
        if not eligible:
            return BuildResult([], self.stats)
        prompts = self._sample(eligible)
        self._check_generated_tests(prompts)
        self._run_matrix(prompts)
        rng = random.Random(self.seed)
        settings = self.settings
        for prompt in prompts:
            if prompt.passes:
                prompt.ranked = rank_codes(
                    prompt.passes,
                    prompt.codes,
                    ranking=settings.ranking,
                    iterations=settings.iterations,
                    damping=settings.damping,
                    normalization=settings.normalization,
                    min_gap=settings.min_score_gap,
                    rng=rng,
                )
        if settings.efficiency_pairs:
            self._time_candidates(prompts)
        pairs = [pair for prompt in prompts for pair in self._pairs(prompt)]
        if settings.audit_with_reference_tests:
            pairs = self._audit(pairs, {p.problem.problem_id: p.problem for p in prompts})
        self._summarise(pairs)
        return BuildResult(pairs, self.stats)

    # ------------------------------------------------------------------ stages

    def _format(self, text: str) -> str:
        return format_prompt(self.tokenizer, text, self.chat)

    def _sample(self, problems: Sequence[Problem]) -> list[_Prompt]:
        settings = self.settings
        codes = self.code_sampler.sample(
            [self._format(p.prompt) for p in problems],
            n=settings.codes_per_prompt,
            seed=self.seed,
        )
        lines = self.test_sampler.sample(
            [self._format(prompt_for_tests(p, settings)) for p in problems],
            n=settings.tests_per_prompt,
            seed=self.seed + 1,
        )
        prompts = [
            _Prompt(
                problem=p,
                codes=[s.completion for s in code_group],
                tests=usable_tests(p, [s.completion for s in line_group], settings),
            )
            for p, code_group, line_group in zip(problems, codes, lines, strict=True)
        ]
        self.stats["codes"] = float(sum(len(p.codes) for p in prompts))
        self.stats["tests_sampled"] = float(len(problems) * settings.tests_per_prompt)
        self.stats["tests_usable"] = float(sum(len(p.tests) for p in prompts))
        if settings.prompt_example_tests:
            added = 0
            for prompt in prompts:
                examples = example_tests(prompt.problem)
                generated = [t for t in prompt.tests if t not in examples]
                added += len(examples)
                prompt.tests = examples + generated
                prompt.example_tests = len(examples)
            self.stats["tests_from_prompt"] = float(added)
        self.stats["problems_without_tests"] = float(sum(1 for p in prompts if not p.tests))
        return prompts

    def _check_generated_tests(self, prompts: Sequence[_Prompt]) -> None:
        """``generated_test_precision``: the share of the generated tests (the prompt's examples
        excluded) that the problem's reference solution passes, over the problems that have
        one. A measurement only: the reference never chooses a test, a code or a pair."""
        jobs = [
            (prompt, prompt.tests[prompt.example_tests :])
            for prompt in prompts
            if prompt.problem.reference_solution and len(prompt.tests) > prompt.example_tests
        ]
        verdicts = self.sandbox.execute(
            [
                matrix_request(
                    f"{prompt.problem.problem_id}/reference",
                    prompt.problem,
                    prompt.problem.reference_solution,
                    tests,
                    self.limits,
                )
                for prompt, tests in jobs
            ]
        )
        checked = sum(len(tests) for _, tests in jobs)
        passed = sum(
            sum(pass_row(verdict, len(tests)))
            for (_, tests), verdict in zip(jobs, verdicts, strict=True)
        )
        self.stats["generated_tests_checked"] = float(checked)
        self.stats["generated_test_precision"] = passed / checked if checked else 0.0

    def _run_matrix(self, prompts: Sequence[_Prompt]) -> None:
        """One request per code holding all of its prompt's tests; codes whose execution the
        sandbox itself failed are dropped (their row would say nothing about the code)."""
        jobs = [(prompt, i) for prompt in prompts if prompt.tests for i in range(len(prompt.codes))]
        requests = [
            matrix_request(
                f"{prompt.problem.problem_id}/code/{i}",
                prompt.problem,
                prompt.codes[i],
                prompt.tests,
                self.limits,
            )
            for prompt, i in jobs
        ]
        verdicts = self.sandbox.execute(requests)
        kept: dict[int, list[tuple[str, list[bool]]]] = {}
        sandbox_errors = 0
        for (prompt, i), verdict in zip(jobs, verdicts, strict=True):
            if verdict.status is Status.SANDBOX_ERROR:
                sandbox_errors += 1
                continue
            kept.setdefault(id(prompt), []).append(
                (prompt.codes[i], pass_row(verdict, len(prompt.tests)))
            )
        for prompt in prompts:
            rows = kept.get(id(prompt), [])
            prompt.codes = [code for code, _ in rows]
            prompt.passes = [row for _, row in rows]
        cells = sum(len(p.passes) * len(p.tests) for p in prompts)
        self.stats["sandbox_errors"] = float(sandbox_errors)
        self.stats["matrix_pass_rate"] = (
            sum(sum(row) for p in prompts for row in p.passes) / cells if cells else 0.0
        )

    def _time_candidates(self, prompts: Sequence[_Prompt]) -> None:
        """Time every efficiency candidate, all prompts' runs submitted together."""
        candidates: list[tuple[_Prompt, int]] = []
        jobs: list[TimingJob] = []
        for prompt in prompts:
            if prompt.ranked is None:
                continue
            trusted = [prompt.tests[j] for j in prompt.ranked.trusted]
            for i in efficiency_candidates(prompt.passes, prompt.ranked.trusted, prompt.codes):
                candidates.append((prompt, i))
                jobs.append(TimingJob(prompt.problem, prompt.codes[i], trusted))
        times = time_jobs(
            self.sandbox, jobs, repeats=self.settings.timing_repeats, limits=self.limits
        )
        for (prompt, i), runs in zip(candidates, times, strict=True):
            if runs is not None:
                prompt.times_ms[i] = runs

    def _pairs(self, prompt: _Prompt) -> list[PreferencePair]:
        ranked = prompt.ranked
        if ranked is None:
            return []
        made = []
        if ranked.pair is not None:
            made.append(self._pair(prompt, *ranked.pair, "correctness"))
        if len(prompt.times_ms) >= 2:
            timed = list(prompt.times_ms)
            fastest = efficiency_pair(
                [prompt.times_ms[i] for i in timed], min_speedup=self.settings.min_speedup
            )
            if fastest is not None:
                made.append(self._pair(prompt, timed[fastest[0]], timed[fastest[1]], "efficiency"))
        return made

    def _pair(self, prompt: _Prompt, chosen: int, rejected: int, kind: PairType) -> PreferencePair:
        assert prompt.ranked is not None
        scores = prompt.ranked.scores
        efficiency = kind == "efficiency"
        return PreferencePair(
            prompt=as_prompt(prompt.problem.prompt, self.chat),
            chosen=as_completion(prompt.codes[chosen], self.chat),
            rejected=as_completion(prompt.codes[rejected], self.chat),
            problem_id=prompt.problem.problem_id,
            pair_type=kind,
            ranking=self.settings.ranking,
            chosen_score=scores[chosen],
            rejected_score=scores[rejected],
            chosen_tests_passed=sum(prompt.passes[chosen]),
            rejected_tests_passed=sum(prompt.passes[rejected]),
            generated_tests=len(prompt.tests) - prompt.example_tests,
            prompt_example_tests=prompt.example_tests,
            trusted_tests=len(prompt.ranked.trusted),
            chosen_cpu_ms=min(prompt.times_ms[chosen]) if efficiency else None,
            rejected_cpu_ms=min(prompt.times_ms[rejected]) if efficiency else None,
        )

    def _audit(
        self, pairs: list[PreferencePair], problems: dict[str, Problem]
    ) -> list[PreferencePair]:
        """Record whether each pair's codes pass the dataset's own tests."""
        requests = []
        for index, pair in enumerate(pairs):
            problem = problems[pair.problem_id]
            for side, text in (("chosen", pair.chosen), ("rejected", pair.rejected)):
                code = text if isinstance(text, str) else text[0]["content"]
                requests.append(
                    ExecuteRequest(
                        request_id=f"{pair.problem_id}/audit/{index}/{side}",
                        source=code,
                        prelude=problem.program_prefix,
                        tests=problem.tests,
                        limits=self.limits,
                    )
                )
        verdicts = self.sandbox.execute(requests)
        return [
            pair.model_copy(
                update={
                    "chosen_passes_reference": verdicts[2 * i].status is Status.PASSED,
                    "rejected_passes_reference": verdicts[2 * i + 1].status is Status.PASSED,
                }
            )
            for i, pair in enumerate(pairs)
        ]

    def _summarise(self, pairs: Sequence[PreferencePair]) -> None:
        correctness = [p for p in pairs if p.pair_type == "correctness"]
        efficiency = [p for p in pairs if p.pair_type == "efficiency"]
        self.stats["correctness_pairs"] = float(len(correctness))
        self.stats["efficiency_pairs"] = float(len(efficiency))
        self.stats["pairs_from_generated_tests"] = float(pairs_from_generated_tests(pairs))
        audited = [p for p in correctness if p.chosen_passes_reference is not None]
        if audited:
            self.stats["chosen_reference_pass_rate"] = sum(
                bool(p.chosen_passes_reference) for p in audited
            ) / len(audited)
            self.stats["rejected_reference_pass_rate"] = sum(
                bool(p.rejected_passes_reference) for p in audited
            ) / len(audited)
        speedups = [
            p.rejected_cpu_ms / p.chosen_cpu_ms
            for p in efficiency
            if p.chosen_cpu_ms and p.rejected_cpu_ms is not None
        ]
        if speedups:
            self.stats["efficiency_speedup_mean"] = sum(speedups) / len(speedups)


def pairs_from_generated_tests(pairs: Sequence[PreferencePair]) -> int:
    """How many pairs were ranked on a matrix of model-generated tests alone (no test taken
    from the prompt's examples)."""
    return sum(1 for pair in pairs if pair.prompt_example_tests == 0 and pair.generated_tests)


def pair_builder(
    run: RunConfig, model: Any, tokenizer: Any, sandbox: SandboxHandle, settings: CodeDPOConfig
) -> PairBuilder:
    """A builder with the run's sampling, sandbox limits, chat formatting and seed."""
    return PairBuilder(
        model,
        tokenizer,
        sandbox,
        settings,
        sampling=run.sampling,
        limits=run.sandbox.limits(),
        chat=run.data.chat,
        seed=run.trainer.seed,
    )
