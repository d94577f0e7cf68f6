"""The training kernel: config loading, model loading, sampling and token↔line alignment.

The kernel is the method-agnostic half of training. It knows how to load a model, sample
completions with the log-probabilities losses need, and map completion tokens onto source lines;
it knows no training method by name (methods plug into it, never the other way round) and never
imports ``evaluation`` or ``methods``.

Nothing is imported here on purpose: ``import kernel`` must stay cheap, and torch is loaded only
by the modules that need it (:mod:`kernel.models`, :mod:`kernel.sampler`). :mod:`kernel.config`
and :mod:`kernel.alignment` are pure Python.
"""
