"""Ultra-minimal GRPO on a laptop CPU: warm-up, GRPO, and the before/after on a fixed eval set.

    python train_ultra_minimal.py [env-id] [key=value ...]

With no arguments: the embedded SmolLM2-135M on chain_sum at its easiest curriculum level (a + b,
one digit), TRL backend on CPU: accuracy on 48 held-out items before training, after a 20-step
supervised format warm-up, and after GRPO (configs/experiments/ultra_minimal_cpu.yaml says why).
Any rg environment id (`rg-gcd`, `leg_counting`, ...) trains that task at its easiest level.
Outputs: outputs/ultra_minimal/ (or outputs/ultra_minimal_<task>/), incl. training_curves.png.
"""

import json
import sys
import time
from pathlib import Path

from rg_verifiers.config import TaskSpec, load_config
from rg_verifiers.errors import run_cli

CONFIG = "configs/experiments/ultra_minimal_cpu.yaml"


def config_for(env_id: str | None, overrides: list[str]):
    from rg_verifiers.references import NO_REFERENCE
    from rg_verifiers.tasks import task_for_env_id, usable_levels

    if env_id is None:
        return load_config(CONFIG, overrides)
    task = task_for_env_id(env_id)  # rg-gcd, gcd, rg_gcd; unknown names get close matches
    levels = usable_levels(task)
    base = [f"training.output_dir=outputs/ultra_minimal_{task}", f"logging.run_name=ultra_minimal_{task}"]
    if task in NO_REFERENCE:  # verifier-scored, no reference answer to imitate
        base.append("warmup.enabled=false")
        print(f"{task} stores no reference answers: no warm-up, GRPO only", file=sys.stderr)
    cfg = load_config(CONFIG, base + overrides)
    cfg.tasks = [TaskSpec(name=task, difficulty=levels[0] if levels else None)]
    return cfg


def stage_table(out_dir: Path, last_step: int) -> str:
    evals = out_dir / "eval_results"
    rows = [("before training", evals / "eval_step_0.json"), ("after warm-up", evals / "eval_warmup.json"),
            (f"after GRPO (step {last_step})", evals / f"eval_step_{last_step}.json")]
    lines = []
    for name, path in rows:
        if path.is_file():
            e = json.loads(path.read_text())
            lines.append(f"  {name:<22} accuracy {100 * e['accuracy']:5.1f}%   parse failures {100 * e['parse_failure_rate']:5.1f}%")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    from rg_verifiers.train.run import train

    start = time.monotonic()
    env_id = argv[0] if argv and "=" not in argv[0] else None
    cfg = config_for(env_id, [a for a in argv if "=" in a])
    result = train(cfg)
    out = Path(cfg.training.output_dir)
    n_eval = cfg.data.num_eval_examples
    print(f"\nfixed eval set: {n_eval} {', '.join(t.name for t in cfg.tasks)} items never seen in training, greedy")
    print(stage_table(out, result["global_step"]))
    print(f"wall time {time.monotonic() - start:.0f} s; curves: {out / 'training_curves.png'}")


if __name__ == "__main__":
    from rg_verifiers.envfile import load_env_file

    run_cli(load_env_file)  # WANDB_API_KEY, HF_TOKEN, ... from .env (setup.sh creates it from .env.example)
    run_cli(main, sys.argv[1:])
