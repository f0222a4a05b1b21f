"""Adaptive curriculum (training.curriculum): the controller, the level pools, and both backends end to end.

The end-to-end runs train the embedded model on CPU. It never writes the <answer> tag (README,
Rewards), so its real train accuracy is 0: a task started at level 2 with lower_threshold 0.5 and a
window of 4 rollouts (one step) falls to level 1 after step 1 and to level 0 after step 2, driven by
the scores of its own rollouts. The items drawn after each change are regenerated independently from
reasoning-gym's curriculum and must be that level's items.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rg_verifiers.errors import RGVError
from rg_verifiers.train.curriculum import LEVEL_KEY, STATE_FILE, Controller, Curriculum, question_digest
from test_vf_backend import run_env, server_factory  # noqa: F401  (the vf-vllm stand-in's fixtures; hub_cache: conftest)

ROOT = Path(__file__).resolve().parent.parent
CPU_CONFIG = ROOT / "configs/experiments/leg_counting_embedded_cpu.yaml"


def controller(ladders=None, start=None, raise_threshold=0.75, lower_threshold=None, window=4, usable=None):
    ladders = ladders or {"a": [0, 1, 2]}
    return Controller(ladders, start or {t: lv[0] for t, lv in ladders.items()}, raise_threshold, lower_threshold,
                      window, usable)


def feed(c, task, outcomes):
    """Outcomes of rollouts drawn at the task's level at each call; the changes they caused."""
    return [ch for ok in outcomes if (ch := c.record(task, c.level(task), ok)) is not None]


# ------------------------------------------------------------------------------------------------ controller


def test_raises_when_the_full_window_reaches_the_threshold():
    c = controller()
    assert feed(c, "a", [1, 1, 1]) == [] and c.level("a") == 0  # 3 of 4: the window is not full yet
    (change,) = feed(c, "a", [0])  # 3/4 = 0.75 >= 0.75
    assert (change.old, change.new, change.accuracy, change.rollouts) == (0, 1, 0.75, 4)
    assert c.level("a") == 1


def test_the_window_rolls_until_the_threshold_is_reached():
    c = controller()
    moves = [i for i, ok in enumerate([0, 0, 1, 1, 1, 1]) if c.record("a", c.level("a"), ok)]
    assert moves == [4]  # [0, 0, 1, 1] = 0.5 at the 4th rollout; the 5th makes the last four [0, 1, 1, 1] = 0.75


def test_lowers_below_lower_threshold_and_stops_at_the_bottom():
    c = controller(start={"a": 2}, raise_threshold=1.0, lower_threshold=0.5)
    assert [(ch.old, ch.new) for ch in feed(c, "a", [0] * 12)] == [(2, 1), (1, 0)]
    assert c.level("a") == 0  # 12 failures, two moves: the window restarts after each, level 0 is the floor


def test_stops_at_the_top_of_the_ladder():
    c = controller(ladders={"a": [0, 1]}, raise_threshold=0.5)
    assert [(ch.old, ch.new) for ch in feed(c, "a", [1] * 20)] == [(0, 1)]
    assert c.level("a") == 1


def test_window_restarts_after_a_change_and_ignores_stale_rollouts():
    c = controller()
    feed(c, "a", [1, 1, 1, 1])
    assert c.level("a") == 1
    # rollouts drawn at level 0 that are scored after the change (one batch ahead) do not count
    assert all(c.record("a", 0, True) is None for _ in range(10)) and c.level("a") == 1
    assert feed(c, "a", [1, 1, 1]) == [] and c.level("a") == 1  # 3 rollouts since the change: not full
    assert [ch.new for ch in feed(c, "a", [1])] == [2]


def test_tasks_move_independently():
    c = controller(ladders={"a": [0, 1, 2], "b": [0, 1, 2]})
    for _ in range(4):
        c.record("a", c.level("a"), True)
        c.record("b", c.level("b"), False)
    assert (c.level("a"), c.level("b")) == (1, 0)


def test_a_level_that_cannot_be_used_is_skipped_for_good():
    asked = []

    def usable(task, level):
        asked.append(level)
        return level != 1

    c = controller(usable=usable)
    assert feed(c, "a", [1] * 8) == [] and c.level("a") == 0
    assert asked == [1] and c.ladders["a"] == [0]


def test_start_level_must_be_on_the_ladder():
    with pytest.raises(RGVError, match="cannot start at level 5"):
        controller(ladders={"a": [0, 1, 2]}, start={"a": 5})


def test_state_round_trip_resumes_levels_and_windows():
    c = controller(ladders={"a": [0, 1, 2], "b": [0, 1]})
    feed(c, "a", [1, 1, 1, 1, 1, 0])  # level 1, window [1, 0]
    feed(c, "b", [0, 1])
    state = json.loads(json.dumps(c.state()))
    resumed = controller(ladders={"a": [0, 1, 2], "b": [0, 1]})
    assert resumed.load(state) == []
    assert resumed.levels == c.levels and resumed.state() == c.state()
    # the resumed window goes on where it was: two more correct make [1, 0, 1, 1] = 0.75
    assert [ch.new for ch in feed(resumed, "a", [1, 1])] == [2]
    narrower = controller(ladders={"a": [0], "b": [0, 1]})
    notes = narrower.load(state)
    assert narrower.level("a") == 0 and "outside this run's levels" in notes[0]


# ------------------------------------------------------------------------------------------------ pools


def _cfg(tmp_path, *overrides):
    from rg_verifiers.config import load_config

    return load_config(CPU_CONFIG, [f"training.output_dir={tmp_path / 'run'}", "training.curriculum.enabled=true",
                                    "data.num_train_examples=12", "data.num_eval_examples=6", *overrides])


def _env(cfg):
    from rg_verifiers.train.run import build_env

    return build_env(cfg)


def rg_item(task, level, index, seed):
    """Item `index` of the train split at `level`, built from reasoning-gym's own curriculum."""
    from reasoning_gym.factory import DATASETS, create_curriculum

    cur = create_curriculum(task)
    cur.set_global_level(level)
    cfg = cur.generate_configuration({"seed": seed, "size": index + 1})
    return DATASETS[task][0](cfg)[index], cfg


def test_draws_come_from_the_current_level_and_never_from_the_eval_split(tmp_path):
    cfg = _cfg(tmp_path, "tasks=[{name: leg_counting, difficulty: 1}]", "training.curriculum.window=2",
               "training.curriculum.raise_threshold=0.5")
    env = _env(cfg)
    cur = Curriculum(cfg, env)
    assert cur.levels() == {"leg_counting": 1}  # the task's own difficulty is its start level
    eval_questions = set(env.eval_dataset["question"])
    rows = cur.draw(range(cur.num_slots), step=1)
    assert {r["info"][LEVEL_KEY] for r in rows} == {1}
    assert not eval_questions & {r["question"] for r in rows}  # level 1 is the eval split's level too
    cur.report([("leg_counting", 1, True), ("leg_counting", 1, True)], step=1)
    assert cur.levels() == {"leg_counting": 2}
    rows = cur.draw(range(4), step=2)
    for r in rows:
        entry, level_cfg = rg_item("leg_counting", 2, r["info"]["index"], cfg.data.seed)
        assert entry["question"] == r["question"] and r["info"][LEVEL_KEY] == 2
        assert tuple(entry["metadata"]["difficulty"]["num_animals"]) == (level_cfg.min_animals, level_cfg.max_animals) == (1, 3)
        assert r["question"] not in eval_questions
    assert cur.level_logs(1) == {"curriculum/leg_counting/level": 1}
    assert cur.level_logs(2) == {"curriculum/leg_counting/level": 2}
    records = [json.loads(line) for line in (tmp_path / "run" / "curriculum.jsonl").read_text().splitlines()]
    change = [r for r in records if "change" in r]
    assert change == [{"step": 1, "task": "leg_counting", "change": "raise", "from": 1, "to": 2, "accuracy": 1.0,
                       "rollouts": 2}]
    step2 = [r for r in records if r["step"] == 2 and "items" in r]
    assert step2[0]["level"] == 2 and [d for _, d in step2[0]["items"]] == [question_digest(r["question"]) for r in rows]


def test_mixture_keeps_its_weights_and_each_task_its_own_level(tmp_path):
    cfg = _cfg(tmp_path, "tasks=[{name: leg_counting, weight: 3}, {name: gcd, weight: 1}]",
               "training.curriculum.window=2", "training.curriculum.raise_threshold=1.0")
    cur = Curriculum(cfg, _env(cfg))
    assert cur.counts == {"leg_counting": 9, "gcd": 3}
    before = [t for t, _ in cur.slots]
    cur.report([("gcd", 0, True), ("gcd", 0, True), ("leg_counting", 0, False), ("leg_counting", 0, True)], step=1)
    assert cur.levels() == {"leg_counting": 0, "gcd": 1}
    rows = cur.draw(range(cur.num_slots), step=2)
    assert [r["info"]["rg_task"] for r in rows] == before  # the same slots, the same tasks: weights unchanged
    assert {(r["info"]["rg_task"], r["info"][LEVEL_KEY]) for r in rows} == {("leg_counting", 0), ("gcd", 1)}


def test_checkpoint_state_is_the_state_after_that_step(tmp_path):
    """The verifiers backend scores batch N (step N+1) while step N trains: checkpoint-N must hold the
    state after step N's rollouts, which a resumed run continues from."""
    cfg = _cfg(tmp_path, "tasks=[{name: leg_counting, difficulty: 0}]", "training.curriculum.window=1",
               "training.curriculum.raise_threshold=1.0")
    env = _env(cfg)
    cur = Curriculum(cfg, env)
    cur.report([("leg_counting", 0, True)], step=1)
    cur.report([("leg_counting", 1, True)], step=2)  # scored ahead, before checkpoint-1 is written
    ckpt = tmp_path / "run" / "checkpoint-1"
    cur.save(ckpt, 1)
    assert json.loads((ckpt / STATE_FILE).read_text())["tasks"]["leg_counting"]["level"] == 1
    resumed = Curriculum(cfg, env, resume_from=str(ckpt))
    assert resumed.levels() == {"leg_counting": 1}
    fresh = Curriculum(cfg, env, resume_from=str(tmp_path / "run"))  # no state file: start level, said so
    assert fresh.levels() == {"leg_counting": 0}


def test_a_level_whose_prompts_are_all_too_long_is_never_entered(tmp_path):
    cfg = _cfg(tmp_path, "tasks=[{name: leg_counting, difficulty: 1}]", "training.curriculum.window=1",
               "training.curriculum.raise_threshold=1.0")
    cur = Curriculum(cfg, _env(cfg), fits=lambda row: json.loads(row["info"]["config"])["max_animals"] <= 2)
    assert cur.report([("leg_counting", 1, True)], step=1) == []  # level 2 (up to 3 animals) has no prompt left
    assert cur.levels() == {"leg_counting": 1} and cur.controller.ladders["leg_counting"] == [0, 1]


def test_a_task_without_curriculum_levels_is_one_clear_error(tmp_path):
    cfg = _cfg(tmp_path, "tasks=[{name: acre}]")
    with pytest.raises(RGVError, match="'acre' has no curriculum levels"):
        Curriculum(cfg, _env(cfg))


@pytest.mark.parametrize("overrides,expected", [
    (["training.curriculum.raise_threshold=0"], "raise_threshold"),
    (["training.curriculum.lower_threshold=0.9", "training.curriculum.raise_threshold=0.8"], "lower_threshold"),
    (["training.curriculum.window=0"], "window"),
    (["training.curriculum.start_level=3", "training.curriculum.max_level=2"], "max_level"),
])
def test_invalid_curriculum_settings_are_config_errors(tmp_path, overrides, expected):
    from rg_verifiers.config import ConfigError

    with pytest.raises(ConfigError, match=expected):
        _cfg(tmp_path, *overrides)


def test_verifiers_metrics_pair_each_rollout_with_its_own_state(monkeypatch, request):
    """generate() returns rollouts grouped by example (sorted by example_id), not in the batch's row
    order: per-task rewards and the curriculum's scores must come from each rollout's own state."""
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "doubles"))  # RLTrainer's module imports vLLM's client
    # the vLLM double must not outlive this test: later tests check that this machine has no vLLM
    before = set(sys.modules)
    request.addfinalizer(lambda: [sys.modules.pop(m) for m in set(sys.modules) - before
                                  if m == "vllm" or m.startswith(("vllm.", "verifiers.rl", "rg_verifiers.train.rl_trainer"))])
    from verifiers.rl.trainer.orchestrator import Batch

    from rg_verifiers.train.rl_trainer import RGVOrchestrator

    class Tok:
        def encode(self, text, add_special_tokens=False):
            return list(text)

    orch = RGVOrchestrator.__new__(RGVOrchestrator)
    orch.reward_names, orch.rollouts_per_example, orch.processing_class = ("correctness",), 2, Tok()
    # rows [gcd (id 7), leg_counting (id 8)] repeated twice; the states come back as 7, 7, 8, 8
    states = [{"example_id": e, "info": {"rg_task": t}, "metrics": {"correct": r}, "reward": r}
              for e, t, r in [(7, "gcd", 1.0), (7, "gcd", 1.0), (8, "leg_counting", 0.0), (8, "leg_counting", 0.0)]]
    rewards = [s["reward"] for s in states]
    batch = Batch(batch_id=0, microbatches=[], items_per_process=[], global_item_count=1,
                  completions=[[{"role": "assistant", "content": "x"}]] * 4,
                  rewards_dict={"reward": rewards, "correctness": rewards, "correct": rewards})
    out = orch._training_metrics(batch, 0, states)
    # paired in row order (gcd, leg_counting, gcd, leg_counting) both tasks would read 0.5, and no
    # prompt's rollouts would agree
    assert out["task_reward/gcd"] == 1.0 and out["task_reward/leg_counting"] == 0.0
    assert out["frac_reward_zero_std"] == 1.0


# ------------------------------------------------------------------------------------------------ end to end

# level 2 -> 1 after step 1 -> 0 after step 2, from the model's own (all wrong) answers
FALLING = ["tasks=[{name: leg_counting, difficulty: 2}]", "training.curriculum.enabled=true",
           "training.curriculum.raise_threshold=1.0", "training.curriculum.lower_threshold=0.5",
           "training.curriculum.window=4"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_run(out: Path, seed: int, expected: dict[int, int], skip_records: int = 0, skip_metrics: int = 0):
    """metrics.jsonl and curriculum.jsonl agree with `expected` (step -> level), and every item drawn
    at a step is reasoning-gym's item at that level. Draws after the last step are allowed: the
    verifiers backend generates one batch ahead of training."""
    metrics = [m for m in read_jsonl(out / "metrics.jsonl")[skip_metrics:] if "reward" in m]
    assert {m["step"]: m["curriculum/leg_counting/level"] for m in metrics} == expected
    assert all(type(m["curriculum/leg_counting/level"]) is int for m in metrics)
    records = read_jsonl(out / "curriculum.jsonl")[skip_records:]
    draws = {r["step"]: r for r in records if "items" in r}
    assert {s: r["level"] for s, r in draws.items() if s in expected} == expected
    assert all(s in expected or s > max(expected) for s in draws), sorted(draws)
    for step, draw in draws.items():
        assert draw["items"], draw
        for index, digest in draw["items"]:
            entry, _ = rg_item("leg_counting", draw["level"], index, seed)
            assert question_digest(entry["question"]) == digest, (step, index)
            assert entry["metadata"]["difficulty"]["num_animals"] == (1, draw["level"] + 1)
    return records


def train_minimal(*args, env=None, timeout=600):
    import os

    return subprocess.run([sys.executable, "train_minimal.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**(env or os.environ), "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
def test_trl_backend_levels_follow_the_models_accuracy_and_resume(tmp_path):
    out = tmp_path / "run"
    tiny = [*FALLING, "data.num_train_examples=16", "data.num_eval_examples=2", "training.max_completion_length=8",
            "training.per_device_train_batch_size=4", "training.num_generations=4", "training.save_steps=1",
            "training.save_only_model=true", "training.save_total_limit=null", "training.eval_steps=null",
            "rewards=[correctness,brevity]",
            f"training.output_dir={out}"]
    done = train_minimal(str(CPU_CONFIG), *tiny, "training.max_steps=2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "curriculum: leg_counting level 2 -> 1 after step 1" in done.stderr
    records = check_run(out, 42, {1: 2, 2: 1})
    changes = [(r["step"], r["from"], r["to"]) for r in records if "change" in r]
    assert changes == [(1, 2, 1), (2, 1, 0)]
    assert all(r["accuracy"] < 0.5 for r in records if "change" in r)
    assert json.loads((out / "checkpoint-1" / STATE_FILE).read_text())["tasks"]["leg_counting"]["level"] == 1
    assert json.loads((out / "checkpoint-2" / STATE_FILE).read_text())["tasks"]["leg_counting"]["level"] == 0

    n_metrics, n_records = len(read_jsonl(out / "metrics.jsonl")), len(records)
    again = train_minimal(str(CPU_CONFIG), *tiny, "training.max_steps=3", "training.resume_from_checkpoint=latest")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "curriculum: resumed at leg_counting level 0" in again.stderr
    check_run(out, 42, {3: 0}, skip_records=n_records, skip_metrics=n_metrics)  # a fresh start would draw level 2


@pytest.mark.slow
def test_verifiers_backend_levels_follow_the_models_accuracy_and_resume(tmp_path, run_env, server_factory):
    from rg_verifiers.serve import free_port

    cfg = tmp_path / "vf.yaml"
    cfg.write_text(f"""
_base_: {ROOT}/configs/base.yaml
model: {{name_or_path: embedded}}
data: {{num_train_examples: 16, num_eval_examples: 2}}
rewards: [{{name: correctness, weight: 1.0}}, {{name: brevity, weight: 0.5}}]
training:
  backend: verifiers
  output_dir: {tmp_path / 'run'}
  max_steps: 2
  learning_rate: 1.0e-5
  per_device_train_batch_size: 4
  num_generations: 4
  max_completion_length: 8
  max_prompt_length: 256
  save_steps: 1
  save_only_model: true
  save_total_limit: null
  eval_steps: null
  bf16: false
  async_generation_timeout: 300
vllm: {{host: 127.0.0.1, port: {free_port()}, group_port: {free_port()}, server_timeout: 120}}
""")
    server_factory(cfg, FALLING, run_env)
    out = tmp_path / "run"
    done = train_minimal(str(cfg), *FALLING, env=run_env)
    assert done.returncode == 0, done.stderr[-4000:]
    records = check_run(out, 42, {1: 2, 2: 1})
    # batch 2 (step 3) may be generated and scored before the run ends; the changes of steps 1 and 2 must be there
    assert [(r["step"], r["from"], r["to"]) for r in records if "change" in r][:2] == [(1, 2, 1), (2, 1, 0)]
    # checkpoint-1 is written while step 2's batch is scored already: it holds the state after step 1
    assert json.loads((out / "checkpoint-1" / STATE_FILE).read_text())["tasks"]["leg_counting"]["level"] == 1

    n_metrics, n_records = len(read_jsonl(out / "metrics.jsonl")), len(records)
    again = train_minimal(str(cfg), *FALLING, f"training.resume_from_checkpoint={out / 'checkpoint-1'}", env=run_env)
    assert again.returncode == 0, again.stderr[-4000:]
    check_run(out, 42, {2: 1}, skip_records=n_records, skip_metrics=n_metrics)
