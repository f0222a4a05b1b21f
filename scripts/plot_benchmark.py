#!/usr/bin/env python
"""Charts from benchmark results, with paper titles and model names (the seed layout's entry point).

Kept for users of the seed layout; `rgv plot` draws the same charts and has more options. Examples:
    python scripts/plot_benchmark.py benchmark_results/results_*.json
    python scripts/plot_benchmark.py results.json --title "Leg counting" \\
        --rename "Qwen/Qwen2.5-7B-Instruct=Qwen 7B" --rename "outputs/run/checkpoint-450=Fine-tuned" -o chart.png
    python scripts/plot_benchmark.py benchmark_results/ --rename-file names.yaml   # or names.json

One task: bars per model. Several: a summary with the average and a heatmap (`<output>_heatmap`).
`--baseline` with `--finetuned` adds the per-task change (`<output>_delta`). A rename file maps
model ids to display names, as a JSON object or YAML mapping; `--rename` pairs win over it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

try:
    from rg_verifiers.errors import RGVError
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from rg_verifiers.errors import RGVError


def main(argv: list[str] | None = None) -> list[Path]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", type=Path,
                   help="results_*.json files of rgv bench or rgv eval, benchmark folders, vf-eval -s folders")
    p.add_argument("--output", "-o", type=Path, default=None,
                   help=".png, .svg or .pdf (default: next to the first input, named after it)")
    p.add_argument("--title", default=None, help="replaces the title line (the note under it stays)")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="display name for a model id (repeatable)")
    p.add_argument("--rename-file", type=Path, default=None, help="JSON object or YAML mapping {model id: display name}")
    p.add_argument("--baseline", default=None, help="with --finetuned: also a per-task change chart")
    p.add_argument("--finetuned", default=None)
    p.add_argument("--metric", default="accuracy",
                   help="accuracy, pass@k, pass@N, parse-failure, error-rate or tokens (default: accuracy)")
    p.add_argument("--sort", default="input", help="task order: input, name, value or category")
    p.add_argument("--latest", action="store_true", help="of runs with identical settings, keep only the newest")
    args = p.parse_args(argv)

    from rg_verifiers.plotting import load_renames, plot_results
    from rg_verifiers.report import print_notes
    from rg_verifiers.results import load_results

    for path in args.results:
        if not path.exists():
            raise RGVError(f"no such file or folder: {path}")
    renames = load_renames(args.rename, args.rename_file)
    output = args.output
    if output is None:
        first = args.results[0]
        output = first / "chart.png" if first.is_dir() else first.with_suffix(".png")
    # a typo in an option fails before loading what may be hundreds of result files
    plot_results([], output, metric=args.metric, sort=args.sort, baseline=args.baseline, finetuned=args.finetuned,
                 check_only=True)
    table = load_results(args.results, latest=args.latest)
    print_notes(table)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = plot_results(table, output, title=args.title, renames=renames, baseline=args.baseline,
                               finetuned=args.finetuned, metric=args.metric, sort=args.sort)
    for w in caught:  # a rename that matches no model: one line, not Python's warning with a source location
        print(f"warning: {w.message}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    from rg_verifiers.errors import run_cli

    run_cli(main, sys.argv[1:])
