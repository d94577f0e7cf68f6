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
from pydantic import BaseModel
from typer.testing import CliRunner

from crucible.cli.main import app
from crucible.kernel.plugin import LossOutput, Method, PluginError, Rollout, Score, validate_plugin
from crucible.kernel.registry import GROUP, installed_methods, load_method
from crucible.methods.grpo import GRPO
from crucible.methods.reinforce import Reinforce


class _Settings(BaseModel):
    pass


class Good(Method):
    name: ClassVar[str] = "good"
    config_class: ClassVar[type[BaseModel]] = _Settings

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
        "entry point x = pkg:thing: expected a subclass of kernel.plugin.Method"
    )
    assert repr(plugin) in message


class NoName(Method):
    config_class: ClassVar[type[BaseModel]] = _Settings
    score = Good.score
    loss = Good.loss


class NoConfig(Method):
    name: ClassVar[str] = "no-config"
    score = Good.score
    loss = Good.loss


class DataclassConfig(Good):
    config_class = dict  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (NoName, "plugin NoName does not set 'name'"),
        (NoConfig, "plugin NoConfig does not set 'config_class'"),
        (DataclassConfig, "DataclassConfig.config_class must be a pydantic model"),
    ],
)
def test_missing_class_attributes_are_named(plugin: type, expected: str) -> None:
    with pytest.raises(PluginError, match=f"^origin: {re.escape(expected)}$"):
        validate_plugin(plugin, "origin")


class NoLoss(Method):
    name: ClassVar[str] = "no-loss"
    config_class: ClassVar[type[BaseModel]] = _Settings
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


@pytest.mark.parametrize(
    ("plugin", "hook", "actual"),
    [
        (ExtraArgument, "score", "(self, rollouts: 'Sequence[Rollout]', verbose: 'bool')"),
        (MissingArgument, "loss", "(self, rollouts: 'Sequence[Rollout]')"),
        (RenamedArgument, "observe", "(self, batch: 'Sequence[Rollout]', scores:"),
        (StatefulWrongly, "state_dict", "(self, destination: 'dict[str, Any]')"),
        (LoadsNothing, "load_state_dict", "(self)"),
        (QueriesAsStaticmethod, "queries", "(problems)"),
    ],
)
def test_a_hook_with_the_wrong_signature_names_plugin_hook_and_both_signatures(
    plugin: type[Method], hook: str, actual: str
) -> None:
    with pytest.raises(PluginError) as caught:
        validate_plugin(plugin, "entry point bad = pkg:Bad")
    message = str(caught.value)
    assert message.startswith(f"entry point bad = pkg:Bad: {plugin.__name__}.{hook}{actual}")
    assert f" does not match the hook {hook}(self" in message


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
