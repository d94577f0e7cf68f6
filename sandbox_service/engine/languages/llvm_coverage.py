"""Executed lines of programs built with LLVM's source-based coverage (Rust's ``-C
instrument-coverage``).

The program writes its counters when it exits (an ``atexit`` hook of LLVM's profile runtime,
so also after a panic unwound out of ``main``; on a fatal signal the fault handler of
``runtime/crucible_rt.c`` writes them) to ``LLVM_PROFILE_FILE`` in the run jail's scratch
directory. Two trusted steps follow in the same jail: ``llvm-profdata merge`` indexes the raw
counters, and ``llvm-cov export -format=lcov`` prints one ``DA:LINE,COUNT`` per line a coverage
region spans, by llvm-cov's own line rule (the counts ``llvm-cov show`` prints). A listed line
could have run and one with a non-zero count executed, unless it is blank or only a comment.

The profile runtime and both tools must be of the LLVM major version the compiler was built
with: the raw profile format changes between versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from crucible.sandbox_service.engine.languages import base
from crucible.sandbox_service.engine.languages.base import SourceMap, holds_code
from crucible.sandbox_service.engine.verdict import LineCoverage

_RECORD = re.compile(r"^(?:SF:(?P<file>.*)|DA:(?P<line>\d+),(?P<count>\d+))$", re.M)


@dataclass(frozen=True)
class Toolchain:
    """LLVM's profile runtime (a static archive) and the tools that read what it writes."""

    profdata: str
    cov: str
    runtime: Path


@cache
def toolchain(llvm_major: str, arch: str) -> Toolchain | None:
    """Debian's ``llvm-<major>`` tools and ``libclang-rt-<major>-dev`` archive, or None."""
    profdata, cov = base.tool(f"llvm-profdata-{llvm_major}"), base.tool(f"llvm-cov-{llvm_major}")
    clang = Path(f"/usr/lib/llvm-{llvm_major}/lib/clang")
    archives = sorted(clang.glob(f"*/lib/linux/libclang_rt.profile-{arch}.a"))
    if profdata is None or cov is None or not archives:
        return None
    return Toolchain(profdata=profdata, cov=cov, runtime=archives[-1].resolve())


def profile_file(work: str, binary: str) -> str:
    """Where ``binary`` writes its raw counters: the jail's scratch space (the build is
    read-only), wiped after every test."""
    return f"{work}/{base.COVERAGE_DIR}/{PurePosixPath(binary).name}.profraw"


def post_steps(tools: Toolchain, work: str, binary: str) -> list[list[str]]:
    """The steps that turn the raw counters into an lcov report on stdout (the last one)."""
    raw = profile_file(work, binary)
    indexed = raw.removesuffix(".profraw") + ".profdata"
    return [
        [tools.profdata, "merge", "-sparse", "-o", indexed, raw],
        [tools.cov, "export", "-format=lcov", f"-instr-profile={indexed}", binary],
    ]


def line_coverage(report: str, smap: SourceMap, text: str) -> LineCoverage:
    """Candidate lines listed in an lcov report (executable) and those with a non-zero count
    (executed); a report cut short by the output bound loses only its last, partial record.
    llvm-cov gives a line inside a region the region's count, so blank and comment lines of
    ``text`` (the candidate's file) are left out, as for JavaScript."""
    lines = text.split("\n")
    coverage = LineCoverage(executed=set())
    source = ""
    for found in _RECORD.finditer(report):
        if found["file"] is not None:
            source = found["file"]
            continue
        number = int(found["line"])
        mapped = smap.to_candidate(source, number)
        if mapped and number <= len(lines) and holds_code(lines[number - 1]):
            coverage.executable.add(mapped)
            if int(found["count"]) > 0:
                coverage.executed.add(mapped)
    return coverage
