"""The prompt of APPS's generation script, shared by the standard-input datasets."""

from __future__ import annotations


def apps_prompt(question: str, starter_code: str, call_based: bool) -> str:
    """``QUESTION: … ANSWER:`` as Hendrycks et al. (2021) prompt their models: the question, the
    starter code if any, then which I/O format the answer must use."""
    starter = f"\n{starter_code}" if starter_code else ""
    io_format = "Use Call-Based format" if call_based else "Use Standard Input format"
    return f"\nQUESTION:\n{question}{starter}\n{io_format}\nANSWER:\n"
