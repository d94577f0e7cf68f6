"""The method plugin API: discovery through entry points and registration-time validation.

Plugins here are real classes (no mocks): broken ones are built as a third-party author might
write them, and a throw-away distribution on ``sys.path`` registers them through the same
``crucible.methods`` entry-point group the built-in methods use.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("torch", reason="needs the train extra")

from pydantic import BaseModel
from typer.testing import CliRunner

from crucible.cli.main import app
from crucible.kernel.plugin import (
    LossOutput,
    OfflineMethod,
    OfflineRun,
    OnlineMethod,
    PluginError,
    Rollout,
    Score,
    validate_plugin,
)
from crucible.kernel.registry import GROUP, installed_methods, load_method
from crucible.methods.codedpo import CodeDPO
from crucible.methods.codedpo.config import CodeDPOConfig
from crucible.methods.cycle import Cycle
from crucible.methods.cycle.config import CycleConfig
from crucible.methods.grpo import GRPO
from crucible.methods.grpo.config import GRPOConfig
from crucible.methods.reinforce import Reinforce
from crucible.methods.reinforce.config import ReinforceConfig
from crucible.methods.rltf import RLTF
from crucible.methods.rltf.config import RLTFConfig
from crucible.methods.stepcoder import StepCoder
from crucible.methods.stepcoder.config import StepCoderConfig

pytestmark = pytest.mark.train


class _Settings(BaseModel):
    pass


class Good(OnlineMethod[_Settings]):
    name: ClassVar[str] = "good"

    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        return [Score(reward=0.0) for _ in rollouts]

    def loss(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> LossOutput:
        raise NotImplementedError


# ------------------------------------------------------------------------------------ discovery


def test_installed_methods_lists_the_built_in_plugins_by_entry_point() -> None:
    found = {method.name: method for method in installed_methods()}
    assert {"grpo", "reinforce"} <= set(found)
    assert found["grpo"].target == "crucible.methods.grpo:GRPO"
    assert found["reinforce"].target == "crucible.methods.reinforce:Reinforce"
    assert found["reinforce"].distribution == "crucible"
    names = [method.name for method in installed_methods()]
    assert names == sorted(names)


def test_load_method_returns_the_validated_class() -> None:
    assert load_method("grpo") is GRPO
    assert load_method("reinforce") is Reinforce


def test_an_unknown_method_names_what_is_installed() -> None:
    with pytest.raises(KeyError) as caught:
        load_method("nope")
    message = caught.value.args[0]
    assert "no method named 'nope'" in message
    installed = re.search(r"\(installed: (.*)\)", message)
    assert installed is not None
    assert {"grpo", "reinforce"} <= set(installed.group(1).split(", "))


# ---------------------------------------------------------------------------------- validation


def test_a_complete_plugin_passes() -> None:
    assert validate_plugin(Good, "test") is Good


def test_plugin_errors_are_type_errors() -> None:
    # the CLI reports (KeyError, TypeError) from load_method as bad input
    assert issubclass(PluginError, TypeError)


class NotAMethod:
    name = "not-a-method"
    config_class = _Settings


@pytest.mark.parametrize(
    "plugin", [NotAMethod, Good(_Settings(), None), "crucible.methods.grpo:GRPO"]
)  # type: ignore[arg-type]
def test_a_non_method_is_rejected(plugin: object) -> None:
    with pytest.raises(PluginError) as caught:
        validate_plugin(plugin, "entry point x = pkg:thing")
    message = str(caught.value)
    assert message.startswith(
        "entry point x = pkg:thing: expected a subclass of crucible.kernel.plugin.OnlineMethod "
        "or OfflineMethod"
    )
    assert repr(plugin) in message


class NoName(OnlineMethod[_Settings]):
    score = Good.score
    loss = Good.loss


class NoConfig(OnlineMethod):  # type: ignore[type-arg]
    name: ClassVar[str] = "no-config"
    score = Good.score
    loss = Good.loss


class DictConfig(OnlineMethod[dict]):  # type: ignore[type-var]
    name: ClassVar[str] = "dict-config"
    score = Good.score
    loss = Good.loss


class NoOfflineConfig(OfflineMethod):  # type: ignore[type-arg]
    name: ClassVar[str] = "no-offline-config"

    def fit(self, run: OfflineRun) -> list[dict[str, float]]:
        return []


_NAMES_ITS_TYPE = (
    "does not name its settings type: derive from {}[YourConfig] with a pydantic model"
)


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (NoName, "plugin NoName does not set 'name'"),
        (NoConfig, "plugin NoConfig " + _NAMES_ITS_TYPE.format("OnlineMethod")),
        (DictConfig, "plugin DictConfig " + _NAMES_ITS_TYPE.format("OnlineMethod")),
        (NoOfflineConfig, "plugin NoOfflineConfig " + _NAMES_ITS_TYPE.format("OfflineMethod")),
    ],
)
def test_missing_class_attributes_are_named(plugin: type, expected: str) -> None:
    with pytest.raises(PluginError, match=f"^origin: {re.escape(expected)}$"):
        validate_plugin(plugin, "origin")


class NoLoss(OnlineMethod[_Settings]):
    name: ClassVar[str] = "no-loss"
    score = Good.score


def test_an_abstract_plugin_names_the_missing_hook() -> None:
    with pytest.raises(PluginError, match=r"^origin: plugin NoLoss does not implement \['loss'\]$"):
        validate_plugin(NoLoss, "origin")


class ExtraArgument(Good):
    def score(self, rollouts: Sequence[Rollout], verbose: bool) -> list[Score]:  # type: ignore[override]
        return []


class MissingArgument(Good):
    def loss(self, rollouts: Sequence[Rollout]) -> LossOutput:  # type: ignore[override]
        raise NotImplementedError


class RenamedArgument(Good):
    def observe(self, batch: Sequence[Rollout], scores: Sequence[Score]) -> dict[str, float]:  # type: ignore[override]
        return {}


class StatefulWrongly(Good):
    def state_dict(self, destination: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        return {}


class LoadsNothing(Good):
    def load_state_dict(self) -> None:  # type: ignore[override]
        pass


class QueriesAsStaticmethod(Good):
    @staticmethod
    def queries(problems):  # type: ignore[no-untyped-def,override]
        return []


class ParametersNeedADevice(Good):
    def extra_parameters(self, device: str) -> list[Any]:  # type: ignore[override]
        return []


class ExtraKeywordOnly(Good):
    def observe(  # type: ignore[override]
        self, rollouts: Sequence[Rollout], scores: Sequence[Score], *, log: bool
    ) -> dict[str, float]:
        return {}


@pytest.mark.parametrize(
    ("plugin", "hook", "actual"),
    [
        (ExtraArgument, "score", "(self, rollouts: 'Sequence[Rollout]', verbose: 'bool')"),
        (MissingArgument, "loss", "(self, rollouts: 'Sequence[Rollout]')"),
        (RenamedArgument, "observe", "(self, batch: 'Sequence[Rollout]', scores:"),
        (StatefulWrongly, "state_dict", "(self, destination: 'dict[str, Any]')"),
        (LoadsNothing, "load_state_dict", "(self)"),
        (QueriesAsStaticmethod, "queries", "(problems)"),
        (ParametersNeedADevice, "extra_parameters", "(self, device: 'str')"),
        (ExtraKeywordOnly, "observe", "(self, rollouts: 'Sequence[Rollout]', scores:"),
    ],
)
def test_a_hook_with_the_wrong_signature_names_plugin_hook_and_both_signatures(
    plugin: type[OnlineMethod[Any]], hook: str, actual: str
) -> None:
    with pytest.raises(PluginError) as caught:
        validate_plugin(plugin, "entry point bad = pkg:Bad")
    message = str(caught.value)
    assert message.startswith(f"entry point bad = pkg:Bad: {plugin.__name__}.{hook}{actual}")
    assert f" does not match the hook {hook}(self" in message


class OptionalExtras(Good):
    """Hooks with extra optional parameters (a default, keyword-only with a default, **kwargs):
    the kernel's calls still work, so validation accepts them."""

    def score(self, rollouts: Sequence[Rollout], verbose: bool = False) -> list[Score]:
        return [Score(reward=1.0 if verbose else 0.0) for _ in rollouts]

    def observe(
        self, rollouts: Sequence[Rollout], scores: Sequence[Score], *, log: bool = False
    ) -> dict[str, float]:
        return {"logged": float(log)}

    def state_dict(self, **options: Any) -> dict[str, Any]:
        return dict(options)


def test_hooks_with_optional_extra_parameters_pass() -> None:
    assert validate_plugin(OptionalExtras, "origin") is OptionalExtras


class FitTwice(OfflineMethod[_Settings]):
    name: ClassVar[str] = "fit-twice"

    def fit(self, run: OfflineRun, times: int) -> list[dict[str, float]]:  # type: ignore[override]
        return []


def test_an_offline_plugin_is_checked_for_fit_and_the_shared_hooks_only() -> None:
    with pytest.raises(PluginError, match=r"FitTwice\.fit\(self, run: .*, times: 'int'\)"):
        validate_plugin(FitTwice, "origin")
    assert not hasattr(OfflineMethod, "score") and not hasattr(OfflineMethod, "loss")
    assert not hasattr(OnlineMethod, "fit")


@pytest.mark.parametrize(
    ("plugin", "settings"),
    [
        (GRPO, GRPOConfig),
        (Reinforce, ReinforceConfig),
        (RLTF, RLTFConfig),
        (StepCoder, StepCoderConfig),
        (CodeDPO, CodeDPOConfig),
        (Cycle, CycleConfig),
    ],
)
def test_a_plugins_settings_type_is_its_bases_type_parameter(
    plugin: type[Any], settings: type[BaseModel]
) -> None:
    assert plugin.config_class is settings
    assert validate_plugin(plugin, "origin") is plugin


def test_a_method_refuses_settings_of_another_type() -> None:
    with pytest.raises(TypeError, match=r"^Good needs settings of type _Settings, got GRPOConfig$"):
        Good(GRPOConfig(), None)  # type: ignore[arg-type]
    assert Good(_Settings(), None).settings == _Settings()  # type: ignore[arg-type]


# ----------------------------------------------------- a third-party distribution, end to end


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution ``crucible-example-plugins`` on sys.path, registering one good and one
    broken method exactly as an installed package would (a dist-info with entry_points.txt)."""
    (tmp_path / "crucible_example_plugins.py").write_text(
        textwrap.dedent(
            """
            from typing import ClassVar
            from pydantic import BaseModel
            from tests_support_good import Good

            class Settings(BaseModel):
                pass

            class Fine(Good):
                name: ClassVar[str] = "fine"

            class Broken(Good):
                name: ClassVar[str] = "broken"
                def score(self, rollouts, extra):
                    return []
            """
        )
    )
    info = tmp_path / "crucible_example_plugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: crucible-example-plugins\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        f"[{GROUP}]\n"
        "fine = crucible_example_plugins:Fine\n"
        "broken = crucible_example_plugins:Broken\n"
    )
    support = type(sys)("tests_support_good")
    support.Good = Good  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_support_good", support)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "crucible_example_plugins", raising=False)
    return tmp_path


def test_a_third_party_plugin_is_found_and_a_broken_one_fails_at_load(third_party: Path) -> None:
    found = {method.name: method for method in installed_methods()}
    assert found["fine"].distribution == "crucible-example-plugins"
    assert found["broken"].target == "crucible_example_plugins:Broken"
    assert load_method("fine").name == "fine"
    with pytest.raises(PluginError) as caught:
        load_method("broken")
    message = str(caught.value)
    assert message.startswith(
        "entry point broken = crucible_example_plugins:Broken: Broken.score(self, rollouts, extra)"
    )
    assert "does not match the hook score(self, rollouts: 'Sequence[Rollout]')" in message


def test_crucible_methods_reports_a_broken_plugin_without_hiding_the_others(
    third_party: Path,
) -> None:
    result = CliRunner().invoke(app, ["methods", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["reinforce"]["status"] == "ok"
    assert rows["reinforce"]["settings"] == ["baseline", "baseline_decay", "reward"]
    assert rows["grpo"]["status"] == "ok"
    assert rows["fine"]["status"] == "ok"
    assert rows["broken"]["status"].startswith("error: entry point broken")
    assert "Broken.score(self, rollouts, extra)" in rows["broken"]["status"]


def test_train_refuses_an_unknown_method_listing_the_installed_ones() -> None:
    result = CliRunner().invoke(app, ["train", "--method", "nope", "--print-config"])
    assert result.exit_code != 0
    assert "no method named 'nope'" in result.output
    assert "reinforce" in result.output
