"""The method plugin API: what a training method implements and what the kernel gives it.

A method is a class derived from :class:`OnlineMethod` or :class:`OfflineMethod`, parameterised
by its settings type (``class Mine(OnlineMethod[MyConfig])``) and published under the
``crucible.methods`` entry-point group (``crucible methods`` lists what is installed). Both bases
share :class:`MethodBase` (name, settings, context, checkpointed state) and nothing else.

The kernel calls an online method's hooks in the order a training step reads:

1. :meth:`OnlineMethod.queries` - which prompts to sample for the step's problems (a curriculum
   may start the answer with a prefix of the reference solution and add it to the executed
   program);
2. the kernel samples completions and runs them in the sandbox;
3. :meth:`OnlineMethod.score` - rewards from the verdicts (scalars, optionally per-token returns);
4. :meth:`OnlineMethod.learner_batch` - what the optimiser learns from: by default the scored
   rollouts, or a batch drawn from the method's own buffer (online or replay methods);
5. :meth:`OnlineMethod.loss` - the loss to minimise for that batch, once per micro-batch,
   repeated for :meth:`OnlineMethod.update_epochs` optimiser steps (PPO's epochs; 1 by default);
6. :meth:`OnlineMethod.observe` - update method state (curriculum stages, buffers) after the step.

:meth:`OnlineMethod.sampler_refresh_every` lets generation run on a copy of the policy that takes
the learner's weights only every k steps (an online generator that runs ahead of learning), and
:meth:`OnlineMethod.prefill_rounds` has the kernel fill the method's buffer from the starting
model's samples before the first step (a pre-generated pool).

An :class:`OfflineMethod` instead builds its training data once from the model's own samples and
trains on it with its own trainer (DPO on preference pairs, supervised refinement data): the kernel
calls :meth:`OfflineMethod.fit` once, then logs, checkpoints and evaluates as for any run.

Hooks return values; none mutates the kernel's objects. State a method keeps across steps is
returned by :meth:`MethodBase.state_dict` and restored by :meth:`MethodBase.load_state_dict`, so
that a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field

from crucible.sandbox_service.models import ExecuteResponse, TestCase

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from crucible.kernel.run_config import RunConfig
    from crucible.kernel.sampler import Sample, Sampler
    from crucible.kernel.sandbox import SandboxHandle


class Problem(BaseModel):
    """A task the kernel trains on: what the model sees and how its program is tested."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    problem_id: str
    prompt: str = Field(description="Text the model continues (before chat formatting).")
    tests: list[TestCase]
    program_prefix: str = Field(
        default="",
        description="Code executed before the completion (e.g. the function signature the "
        "completion continues); sent as the sandbox prelude, so verdict lines index the "
        "completion itself.",
    )
    reference_solution: str = Field(
        default="", description="A correct completion: for supervised steps and curricula."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    """One prompt sent to the model for a problem."""

    problem: Problem
    prompt: str
    program_prefix: str
    answer_prefix: str = ""
    """The start of the model's answer, which the model continues: placed after ``prompt`` once
    it is formatted (after the opening of the assistant's turn with a chat template, never inside
    the user's turn). A curriculum's head of the reference solution goes here and, as it runs
    before the completion, also at the end of ``program_prefix``."""


@dataclass
class Rollout:
    """A sampled completion and the sandbox's verdict on it."""

    query: Query
    sample: Sample
    verdict: ExecuteResponse
    greedy: bool = False


@dataclass
class Score:
    """A method's judgement of one rollout."""

    reward: float
    advantage: float | None = None
    token_weights: list[float] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """Method-private values computed once in :meth:`OnlineMethod.score` and read back in
    :meth:`OnlineMethod.loss` (e.g. PPO's old values, per-token advantages and loss masks, which
    must not change across the epochs of one batch); the kernel never reads them."""


@dataclass
class LossOutput:
    """The loss to minimise and the numbers worth logging beside it."""

    loss: torch.Tensor
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class MethodContext:
    """What the kernel lends a method."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    seed: int
    pad_token_id: int
    reference_model: PreTrainedModel | None = None


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class MethodBase(ABC, Generic[ConfigT]):
    """What every method plugin has, online or offline: a name, settings of its own pydantic
    type, the kernel's context and checkpointed state.

    The settings type is the base's type parameter (``class Mine(OnlineMethod[MyConfig])``):
    :attr:`config_class` is derived from it, ``self.settings`` is typed with it, and the
    constructor refuses settings of another type, so a plugin never checks or casts its config.
    """

    #: Name used on the command line (``--method NAME``) and in the entry point.
    name: ClassVar[str]
    #: The pydantic model of the method's config section (``method:`` in the run's YAML); set
    #: from the base's type parameter.
    config_class: ClassVar[type[BaseModel]]
    #: Metrics (logged every step) that show the method's defining mechanism acting; the run's
    #: summary carries their mean over the run (:func:`kernel.metrics.activity_summary`).
    activity_metrics: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            arguments = get_args(base)
            if arguments and isinstance(arguments[0], type) and issubclass(arguments[0], BaseModel):
                cls.config_class = arguments[0]

    def __init__(self, settings: ConfigT, context: MethodContext) -> None:
        if not isinstance(settings, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs settings of type {self.config_class.__name__}, "
                f"got {type(settings).__name__}"
            )
        self.settings = settings
        self.context = context

    def state_dict(self) -> dict[str, Any]:
        """Method state to checkpoint (curriculum stages, buffers); JSON-able or tensors."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class OnlineMethod(MethodBase[ConfigT]):
    """A method trained step by step in the kernel's rollout loop (the hooks in the module's
    docstring, in that order)."""

    #: Ask the sandbox for executed lines (costs a little time per test).
    needs_coverage: ClassVar[bool] = False
    #: Also sample one greedy completion per query (a baseline, as in RLTF and CodeRL).
    needs_greedy_baseline: ClassVar[bool] = False
    #: Keep a frozen copy of the starting model (for KL penalties).
    needs_reference_model: ClassVar[bool] = False

    def queries(self, problems: Sequence[Problem]) -> list[Query]:
        """Prompts for this step's problems; by default each problem's own prompt."""
        return [Query(problem, problem.prompt, problem.program_prefix) for problem in problems]

    @abstractmethod
    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        """One score per rollout, in order."""

    @abstractmethod
    def loss(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> LossOutput:
        """The loss for one micro-batch of scored rollouts (the kernel calls backward)."""

    def learner_batch(
        self, rollouts: Sequence[Rollout], scores: Sequence[Score]
    ) -> tuple[list[Rollout], list[Score]]:
        """The scored rollouts this step's optimiser updates learn from; by default the step's
        own. A method with a buffer records the fresh rollouts here and returns a batch drawn from
        the buffer instead (its rollouts and scores as scored when they were generated)."""
        return list(rollouts), list(scores)

    def prefill_rounds(self) -> int:
        """Generation rounds the kernel runs before the first training step of a new run, each
        sampled, executed and scored like a step and handed to :meth:`prefill` instead of the
        learner: an online method's pool of the starting model's samples, so that its first
        learner batch already draws from more than one step's samples. 0 = none."""
        return 0

    def prefill(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> None:
        """Receive one prefill round's scored rollouts (see :meth:`prefill_rounds`)."""

    def update_epochs(self) -> int:
        """Optimiser steps taken on each learner batch (PPO's epochs); 1 = one on-policy step.
        The learning-rate schedule advances once per training step, whatever this returns."""
        return 1

    def sampler_refresh_every(self) -> int:
        """Training steps between copies of the learner's weights into the sampling policy.
        1 = always sample from the current policy; k > 1 = sample from a frozen copy refreshed
        every k steps, as an online generator that runs ahead of the learner does."""
        return 1

    def observe(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> dict[str, float]:
        """Update method state after an optimiser step; return metrics to log."""
        return {}

    def extra_parameters(self) -> list[torch.nn.Parameter]:
        """Trainable parameters the method owns (e.g. a value head), optimised with the model."""
        return []


@dataclass(frozen=True)
class OfflineRun:
    """What the kernel lends an offline method for its one :meth:`OfflineMethod.fit` call."""

    problems: Sequence[Problem]
    sandbox: SandboxHandle
    sampler: Sampler
    config: RunConfig
    output_dir: Path


class OfflineMethod(MethodBase[ConfigT]):
    """A method that builds its training data once, from the model's own samples executed in the
    sandbox, and trains on it with its own trainer rather than step by step in the rollout loop.

    The kernel calls :meth:`fit` once (``MethodContext.model`` is trained in place), logs the
    rows it returns as steps, writes the final checkpoint and evaluates as for any run. A resumed
    run whose final checkpoint exists does not fit again.
    """

    @abstractmethod
    def fit(self, run: OfflineRun) -> list[dict[str, float]]:
        """Build the data and train ``self.context.model``; one row of metrics per logged step
        (e.g. per optimiser step or per epoch), in order."""


class PluginError(TypeError):
    """A plugin that does not match the API; the message names plugin, hook and signature."""


#: Every hook the kernel calls, per base; a plugin's override must accept the same arguments.
HOOKS: dict[type[MethodBase[Any]], tuple[str, ...]] = {
    OnlineMethod: (
        "queries",
        "score",
        "learner_batch",
        "prefill_rounds",
        "prefill",
        "update_epochs",
        "sampler_refresh_every",
        "loss",
        "observe",
        "extra_parameters",
        "state_dict",
        "load_state_dict",
    ),
    OfflineMethod: ("fit", "state_dict", "load_state_dict"),
}


def _accepts(expected: inspect.Signature, actual: inspect.Signature) -> bool:
    """Whether a hook with signature ``actual`` can be called as the kernel calls ``expected``:
    the same positional parameters by name and in order; any further parameter optional."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    wanted = [p.name for p in expected.parameters.values()]
    given = [p for p in actual.parameters.values() if p.kind in positional]
    if [p.name for p in given[: len(wanted)]] != wanted:
        return False
    extra = [p for p in actual.parameters.values() if p.name not in wanted]
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return all(p.kind in variadic or p.default is not inspect.Parameter.empty for p in extra)


#: A class the kernel can train with: an online or an offline method.
MethodClass = type[OnlineMethod[Any]] | type[OfflineMethod[Any]]


def _check_hooks(plugin: type[MethodBase[Any]], base: type[MethodBase[Any]], origin: str) -> None:
    if not hasattr(plugin, "name"):
        raise PluginError(f"{origin}: plugin {plugin.__name__} does not set 'name'")
    if not hasattr(plugin, "config_class"):
        raise PluginError(
            f"{origin}: plugin {plugin.__name__} does not name its settings type: derive from "
            f"{base.__name__}[YourConfig] with a pydantic model"
        )
    if inspect.isabstract(plugin):
        missing = sorted(getattr(plugin, "__abstractmethods__", ()))
        raise PluginError(f"{origin}: plugin {plugin.__name__} does not implement {missing}")
    for hook in HOOKS[base]:
        expected = inspect.signature(getattr(base, hook))
        actual = inspect.signature(getattr(plugin, hook))
        if not _accepts(expected, actual):
            raise PluginError(
                f"{origin}: {plugin.__name__}.{hook}{actual} does not match the hook "
                f"{hook}{expected} (extra parameters need defaults)"
            )


def validate_plugin(plugin: object, origin: str) -> MethodClass:
    """Check a loaded entry point is a usable online or offline method whose hooks the kernel can
    call, failing at registration rather than mid-run."""
    if isinstance(plugin, type) and issubclass(plugin, OnlineMethod):
        _check_hooks(plugin, OnlineMethod, origin)
        return plugin
    if isinstance(plugin, type) and issubclass(plugin, OfflineMethod):
        _check_hooks(plugin, OfflineMethod, origin)
        return plugin
    raise PluginError(
        f"{origin}: expected a subclass of crucible.kernel.plugin.OnlineMethod or "
        f"OfflineMethod, got {plugin!r}"
    )
