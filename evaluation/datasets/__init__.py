"""Loaders that turn published benchmark files into :class:`evaluation.tasks.Task` lists."""

from crucible.evaluation.datasets._rows import DatasetFormatError
from crucible.evaluation.datasets.registry import dataset_names, load_dataset

__all__ = ["DatasetFormatError", "dataset_names", "load_dataset"]
