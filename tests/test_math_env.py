"""The math-dataset tasks (math, gsm8k, deepscaler): the same prompt -> parse -> score machinery as the
reasoning-gym tasks, a math_verify reward, the shipped sample, hub loading offline, vf-eval, rgv eval
and training configs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from rg_verifiers import serialization
from rg_verifiers.env import load_rg_environment
from rg_verifiers.errors import RGVError
from rg_verifiers.math_env import SAMPLES, MathConfig, load_rows, source_of
from rg_verifiers.math_reward import accuracy, reduce_reference
from rg_verifiers.protocol import format_ok, last_boxed, parse_answer
from rg_verifiers.rewards import get_reward, score_results
from rg_verifiers.tasks import DATASET_TASKS, env_id_for, resolve_task, task_info, task_names

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MATH_TASKS = list(DATASET_TASKS)
ENV_FOLDERS = [str(ROOT / "environments" / ("rg_" + t)) for t in MATH_TASKS]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RGV_CACHE_DIR", str(tmp_path / "rgv-cache"))


def said(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def completion_score(text: str, reference: str, task: str = "math") -> float:
    """The final answer as the environments parse it, scored as their scorer does."""
    return accuracy(parse_answer(said(text), task), reference)


# ------------------------------------------------------------------------------- parse and reward


@pytest.mark.parametrize("text, reference", [
    (r"so the answer is \boxed{0.5}", r"\frac{1}{2}"),
    (r"\boxed{\frac{1}{2}}", "0.5"),
    (r"I get $\boxed{2\sqrt{2}}$.", r"\sqrt{8}"),
    (r"\boxed{\sqrt{8}}", r"2\sqrt{2}"),
    (r"\boxed{1234}", "Natalia ...\n#### 1,234"),  # GSM8K reference reduced to 1234
    (r"\boxed{1,234}", "#### 1234"),
    ("<answer>1234</answer>", "#### 1,234"),
    (r"\boxed{\dfrac{\sqrt{3}}{2}}", r"\frac{\sqrt{3}}{2}"),  # nested braces
    (r"\fbox{\{2, 0\}}", r"\{0,2\}"),  # escaped braces are literal
    (r"first \boxed{3}, then corrected: \boxed{\frac{5}{6}}", r"\frac{5}{6}"),  # the last box wins
    (r"<answer>\boxed{42}</answer>", "42"),
    (r"\boxed{x = 6}", "6"),
    (r"\boxed{\text{Thursday}}", "thursday"),  # neither side parses as math: normalized strings
    (r"\boxed 42.", "42"),
])
def test_equivalent_answers_score_one(text, reference):
    assert completion_score(text, reference) == 1.0


@pytest.mark.parametrize("text, reference", [
    (r"\boxed{0.25}", r"\frac{1}{2}"),
    (r"\boxed{2\sqrt{3}}", r"\sqrt{8}"),
    (r"\boxed{1235}", "#### 1,234"),
    (r"\boxed{\frac{5}{6}} then \boxed{3}", r"\frac{5}{6}"),  # the last box is the answer
    (r"\boxed{Thrusday}", r"\text{Thursday}"),
    (r"\boxed{yadsruhT}", "Thursday"),  # math_verify alone would read both as the same product of symbols
    (r"\boxed{}", "42"),
])
def test_wrong_answers_score_zero(text, reference):
    assert completion_score(text, reference) == 0.0


def test_parse_boxed_first_then_answer_tag_and_rg_tasks_unchanged():
    assert last_boxed(r"\boxed{\frac{a}{\boxed{b}}} x") == "b"
    assert last_boxed(r"\boxed{\left\{ 1 \right\}}") == r"\left\{ 1 \right\}"
    assert last_boxed(r"unclosed \boxed{3") is None and last_boxed(r"\boxed{2} and \boxed{3") == "2"
    assert parse_answer(said(r"<answer>7</answer> \boxed{8}"), "math") == "8"
    assert parse_answer(said("<answer>7</answer>"), "gsm8k") == "7"
    # reasoning-gym tasks keep their parser: a box is not an answer there
    assert parse_answer(said(r"\boxed{8}"), "leg_counting") is None
    assert parse_answer(said(r"\boxed{8} <answer>7</answer>"), "leg_counting") == "7"
    assert format_ok(said(r"so \boxed{8}."), "math") and not format_ok(said(r"so \boxed{8}."), "leg_counting")
    # linear time on a megabyte of unclosed boxes
    assert last_boxed("\\boxed{" * 150_000) is None


def test_gsm8k_references_are_reduced():
    assert reduce_reference("She sold 48/2 = <<48/2=24>>24 clips.\n#### 72") == "72"
    assert reduce_reference("... #### 1,234") == "1234"
    assert reduce_reference("#### -3,500.5") == "-3500.5"
    assert reduce_reference(r"\frac{1}{2}") == r"\frac{1}{2}"
    assert reduce_reference(r"so $\boxed{\frac{3}{4}}$ is it") == r"\frac{3}{4}"  # a MATH-style solution
    assert reduce_reference("(1,2)") == "(1,2)"


def test_parse_failure_is_counted_as_for_rg_tasks():
    env = load_rg_environment("math", num_train_examples=0, num_eval_examples=2)
    infos = list(env.eval_dataset["info"])
    gold = env.eval_dataset[0]["answer"]
    results = score_results([said(f"the answer is {gold}"), said(rf"\boxed{{{gold}}}")], infos[:1] * 2)
    assert (results[0].score, results[0].status) == (0.0, "parse_failure")
    assert (results[1].score, results[1].status) == (1.0, "ok")
    # and for a reasoning-gym task, the same status
    rg = load_rg_environment("leg_counting", num_train_examples=0, num_eval_examples=1)
    assert score_results([said("12")], list(rg.eval_dataset["info"]))[0].status == "parse_failure"


def test_rubric_metrics_for_math_rows():
    import asyncio

    env = load_rg_environment("math", num_train_examples=0, num_eval_examples=3)
    rows = list(env.eval_dataset)
    texts = [rf"\boxed{{{rows[0]['answer']}}}", rf"<answer>{rows[1]['answer']}+1</answer>", "no idea"]
    states = [{"completion": said(t), "info": r["info"], "prompt": r["prompt"], "answer": r["answer"], "task": "default",
               "timing": {}, "metrics": {}} for t, r in zip(texts, rows)]
    from rg_verifiers.rubric import RGRubric

    rubric = next(r for r in getattr(env.rubric, "rubrics", [env.rubric]) if isinstance(r, RGRubric))
    metrics = asyncio.run(rubric._metrics([s["completion"] for s in states], [s["info"] for s in states], states))
    assert [m["correct"] for m in metrics] == [1.0, 0.0, 0.0]
    assert [m["parse_failure"] for m in metrics] == [0.0, 0.0, 1.0]
    assert [m["format"] for m in metrics] == [1.0, 1.0, 0.0]
    assert [s["rgv_status"] for s in states] == ["ok", "ok", "parse_failure"]


def test_think_format_reward():
    think = get_reward("think")
    texts = ["<think>\nreasoning\n</think>\n\\boxed{3}", "  <think>a</think><answer>3</answer>",
             "<think>reasoning without an end \\boxed{3}", "\\boxed{3}", "<think>a</think>",
             "<think>a</think> x <think>b</think> y", "answer first <think>a</think> 3"]
    assert think([said(t) for t in texts], [{}] * len(texts)) == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_accuracy_bounds_time_in_the_main_thread_only():
    # the main thread (a scoring worker): one interval timer around math_verify, then TimeoutError (score_failure)
    with pytest.raises(TimeoutError):
        accuracy("9^{9^{9^{9}}}", "5", timeout_s=1)
    # other threads: no signal (math_verify's own timeouts would raise there); plain answers score as usual
    out = []
    worker = threading.Thread(target=lambda: out.append(accuracy("0.5", r"\frac{1}{2}")))
    worker.start()
    worker.join(60)
    assert out == [1.0]


def test_hostile_answers_are_scored_in_the_workers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = load_rg_environment("math", num_train_examples=0, num_eval_examples=1)
    info = env.eval_dataset[0]["info"]
    assert task_info("math").sandboxed
    hostile = [r"\boxed{__import__('os').system('touch PWNED_math')}", r"\boxed{9^{9^{9^{9}}}}", "<answer>9**9**9</answer>",
               "<answer>" + "(" * 3000 + "1" + ")" * 3000 + "</answer>", r"\boxed{" + "9" * 100_000 + "}", "\\boxed{" * 10_000]
    results = score_results([said(h) for h in hostile], [info] * len(hostile))
    assert all(r.score == 0.0 for r in results)
    assert results[1].status == "error" and results[4].status == "rejected" and results[5].status == "parse_failure"
    assert not list(tmp_path.rglob("PWNED*")) and not list(ROOT.glob("PWNED*"))


# ------------------------------------------------------------------------------- registry and data


def test_registry_has_the_math_tasks_beside_reasoning_gym():
    assert len(task_names()) == 105 and not set(MATH_TASKS) & set(task_names())
    for task in MATH_TASKS:
        assert resolve_task(task) == task and env_id_for(task) == "rg-" + task
        info = task_info(task)
        assert (info.category, info.difficulty_levels, info.sandboxed) == ("math_datasets", 0, True)
        assert "dataset" in info.config_fields and "question_field" in info.config_fields
    with pytest.raises(RGVError, match="did you mean 'gsm8k'"):
        resolve_task("gsm8")


def test_shipped_sample_has_both_schemas():
    gsm = load_rows(source_of(MathConfig(dataset="sample-gsm8k")))
    deep = load_rows(source_of(MathConfig(dataset="sample-deepscaler")))
    both = load_rows(source_of(MathConfig()))
    assert len(gsm) >= 20 and len(deep) >= 20 and sorted(both) == sorted(gsm + deep)
    raw_gsm = [json.loads(line) for line in (ROOT / "rg_verifiers/math_data/gsm8k_sample.jsonl").read_text().splitlines()]
    raw_deep = [json.loads(line) for line in (ROOT / "rg_verifiers/math_data/deepscaler_sample.jsonl").read_text().splitlines()]
    assert all(set(r) == {"question", "answer"} and "\n#### " in r["answer"] for r in raw_gsm)
    assert all(set(r) == {"problem", "answer", "solution"} and r"\boxed" in r["solution"] for r in raw_deep)
    assert all("####" not in ref and ref.lstrip("-").isdigit() for _, ref in gsm)  # "#### 54,000" -> "54000"
    assert ("What is the greatest common divisor of $84$ and $126$?", "42") in deep
    # each solution's boxed answer is the answer column
    assert all(reduce_reference(r["solution"]) == r["answer"] for r in raw_deep)


def test_gold_round_trip_on_every_shipped_problem():
    from rg_verifiers.goldcheck import check_task

    n = sum(1 for _ in load_rows(source_of(MathConfig())))
    result = check_task("math", n=n, use_cache=False)
    assert result.checked == n and result.passed == n, result.failures


def test_train_and_eval_rows_are_disjoint_and_eval_is_fixed():
    env = load_rg_environment("math", num_train_examples=30, num_eval_examples=15, seed=3)
    train, evals = env.dataset, env.eval_dataset
    assert len(evals) == 15 and len(train) == 30 and env.rgv_report["overlap"] == 0
    assert not set(train["question"]) & set(evals["question"])
    assert len(set(train["question"])) == 30
    other = load_rg_environment("math", num_train_examples=3, num_eval_examples=15, seed=3)
    assert other.eval_dataset["question"] == evals["question"]  # whatever num_train_examples is
    assert load_rg_environment("math", num_eval_examples=15, seed=4).eval_dataset["question"] != evals["question"]
    # all 52 problems: eval takes 10, train gets the other 42 and a warning, never an eval problem
    small = load_rg_environment("math", num_train_examples=100, num_eval_examples=10)
    assert len(small.dataset) == len(load_rows(source_of(MathConfig()))) - 10
    assert not set(small.dataset["question"]) & set(small.eval_dataset["question"])


def test_prompt_building_is_the_protocols():
    env = load_rg_environment("gsm8k", config={"dataset": "sample-gsm8k"}, num_train_examples=0, num_eval_examples=2,
                              system_prompt="Put the final answer in \\boxed{}.", prompt_placement="user")
    row = env.eval_dataset[0]
    assert row["prompt"] == [{"role": "user", "content": f"Put the final answer in \\boxed{{}}.\n\n{row['question']}"}]
    info = row["info"]
    assert info["rg_task"] == "gsm8k" and info["split"] == "eval"
    assert json.loads(info["config"])["dataset"] == "sample-gsm8k"
    assert serialization.loads(info["entry"])["answer"] == row["answer"]
    plain = load_rg_environment("math", num_train_examples=0, num_eval_examples=1)
    assert plain.eval_dataset[0]["prompt"][0]["content"].endswith("<answer>your answer here</answer>")


def test_local_files_with_configured_fields(tmp_path):
    rows = [{"id": i, "q": f"What is {i} + {i}?", "a": str(2 * i)} for i in range(12)]
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = load_rg_environment("math", config={"dataset": str(jsonl), "question_field": "q", "answer_field": "a"},
                              num_train_examples=6, num_eval_examples=4)
    assert len(env.eval_dataset) == 4 and len(env.dataset) == 6
    assert all(r["answer"] == str(2 * int(r["question"].split()[2])) for r in env.eval_dataset)
    # parquet, and a relative path
    import datasets

    datasets.Dataset.from_list([{"problem": r["q"], "answer": r["a"]} for r in rows]).to_parquet(tmp_path / "mine.parquet")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        env = load_rg_environment("math", config={"dataset": "mine.parquet"}, num_train_examples=0, num_eval_examples=3)
    finally:
        os.chdir(old)
    assert len(env.eval_dataset) == 3
    # bad fields: one line with the fields there are
    with pytest.raises(RGVError, match=r"has no field 'question' .*\(fields: id, q, a\); set question_field") as bad:
        load_rg_environment("math", config={"dataset": str(jsonl), "question_field": "question"}, num_eval_examples=2)
    assert "\n" not in str(bad.value)
    with pytest.raises(RGVError, match=r"no question field found \(tried problem, question; fields: id, q, a\)"):
        load_rg_environment("math", config={"dataset": str(jsonl)}, num_eval_examples=2)


def test_a_dataset_folder_loads_with_its_configs_and_splits(tmp_path):
    """`hf download <id> --repo-type dataset --local-dir DIR` gives a folder: `dataset: DIR` reads its splits."""
    _hub_snapshot(tmp_path / "home", "rgv-tests/folder")
    folder = next((tmp_path / "home").rglob("snapshots/*"))
    env = load_rg_environment("math", config={"dataset": str(folder), "dataset_config": "main", "split": "test"},
                              num_train_examples=2, num_eval_examples=3)
    assert all(q.startswith("test problem") for q in [*env.eval_dataset["question"], *env.dataset["question"]])
    assert all(a.endswith("000") and "," not in a for a in env.eval_dataset["answer"])
    with pytest.raises(RGVError, match="split 'validation' could not be loaded") as bad:
        load_rg_environment("math", config={"dataset": str(folder), "dataset_config": "main", "split": "validation"},
                            num_eval_examples=2)
    assert "\n" not in str(bad.value)


def test_cached_rows_of_a_local_file_follow_the_file(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{i}", "answer": str(i)}) + "\n" for i in range(5)))
    first = load_rg_environment("math", config={"dataset": str(path)}, num_train_examples=0, num_eval_examples=5)
    path.write_text("".join(json.dumps({"question": f"new q{i}", "answer": str(i)}) + "\n" for i in range(5)))
    from rg_verifiers import math_env

    math_env._rows.clear()  # a new process would read the file again
    second = load_rg_environment("math", config={"dataset": str(path)}, num_train_examples=0, num_eval_examples=5)
    assert all(q.startswith("q") for q in first.eval_dataset["question"])
    assert all(q.startswith("new q") for q in second.eval_dataset["question"])


@pytest.mark.parametrize("args, message", [
    ({"config": {"datset": "x"}}, "unknown config field 'datset' for task 'math'; did you mean 'dataset'"),
    ({"config": {"dataset": "not-a-dataset"}}, "is not a shipped sample"),
    ({"config": {"dataset": "/no/such/file.jsonl"}}, "does not exist"),
    ({"config": {"dataset": "sample-gsm8k", "split": "test"}}, "has one split, 'train'"),
    ({"config": {"question_field": 3}}, "question_field must be a string or null"),
    ({"difficulty": 1}, "has no curriculum"),
])
def test_bad_input_is_one_line(args, message):
    with pytest.raises(RGVError, match=message) as bad:
        load_rg_environment("math", num_eval_examples=2, **args)
    assert "\n" not in str(bad.value)


def test_offline_hub_id_not_in_cache_is_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # set after datasets / huggingface_hub read it: still honoured
    with pytest.raises(RGVError) as bad:
        load_rg_environment("math", config={"dataset": "rgv-tests/no-such-math-dataset"}, num_eval_examples=2)
    line = str(bad.value)
    assert "\n" not in line and "HF_HUB_OFFLINE" in line
    assert "hf download rgv-tests/no-such-math-dataset --repo-type dataset" in line


def _hub_snapshot(home: Path, repo_id: str, commit: str = "c" * 40) -> None:
    """HF_HOME holding a dataset the way `hf download <id> --repo-type dataset` lays it out."""
    repo = home / "hub" / ("datasets--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / commit
    (snap / "main").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (snap / "README.md").write_text("---\nconfigs:\n- config_name: main\n  data_files:\n  - split: train\n"
                                    "    path: main/train.jsonl\n  - split: test\n    path: main/test.jsonl\n---\n")
    for split in ("train", "test"):
        (snap / "main" / f"{split}.jsonl").write_text("".join(
            json.dumps({"question": f"{split} problem {i}: what is {i} * 1000?", "answer": f"{i} * 1000 = {i * 1000}\n"
                        f"#### {i * 1000:,}"}) + "\n" for i in range(1, 9)))


def test_hf_download_prefetch_is_enough_offline(tmp_path):
    """The one-line error says `hf download ... --repo-type dataset`: a snapshot laid out that way loads."""
    _hub_snapshot(tmp_path / "home", "rgv-tests/tiny-gsm")
    script = ("import json\nfrom rg_verifiers.env import load_rg_environment\n"
              "env = load_rg_environment('gsm8k', config={'dataset': 'rgv-tests/tiny-gsm', 'split': 'test'}, "
              "num_train_examples=3, num_eval_examples=4)\n"
              "print(json.dumps([len(env.eval_dataset), len(env.dataset), sorted(env.eval_dataset['answer'])[:2], "
              "env.eval_dataset[0]['question'][:4]]))\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**clean, "HF_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1",
                               "RGV_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr[-3000:]
    n_eval, n_train, answers, start = json.loads(done.stdout.strip().splitlines()[-1])
    assert (n_eval, n_train, start) == (4, 3, "test") and all(a.isdigit() and a.endswith("000") for a in answers)


# ------------------------------------------------------------------------------- packages and configs


@pytest.mark.parametrize("task", MATH_TASKS)
def test_math_packages_are_complete_and_in_sync(task):
    from rg_verifiers.envgen import render

    env_id = env_id_for(task)
    folder = ROOT / "environments" / ("rg_" + task)
    for rel, content in render(task).items():  # what `rgv envs generate` writes (the slow check covers all)
        assert (ROOT / "environments" / rel).read_text() == content, rel
    meta = tomllib.loads((folder / "pyproject.toml").read_text())
    assert meta["project"]["name"] == env_id
    deps = meta["project"]["dependencies"]
    assert "verifiers>=0.1.6,<0.5" in deps and any(d.startswith("math-verify") for d in deps)
    readme = (folder / "README.md").read_text()
    for heading in ("## Arguments", "## Metrics", "vf-eval " + env_id, "| `num_eval_examples` |", "| `correct` | 1 |",
                    "| `dataset` |", "| `question_field` |", "| `parse_failure` | 0 |"):
        assert heading in readme, (env_id, heading)
    assert ("## Sample item" in readme) == (task == "math")  # the hub presets' READMEs download nothing
    import importlib

    assert callable(importlib.import_module("rg_" + task).load_environment)


def test_package_data_ships_the_sample():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = meta["tool"]["setuptools"]["package-data"]["rg_verifiers"]
    from fnmatch import fnmatch

    for files in SAMPLES.values():
        for name in files:
            assert any(fnmatch(f"math_data/{name}", p) for p in patterns), name
            assert (ROOT / "rg_verifiers" / "math_data" / name).is_file()


def test_training_config_with_math_in_the_mixture_builds_its_splits():
    from rg_verifiers.config import load_config
    from rg_verifiers.train.run import build_env

    shipped = load_config(ROOT / "configs/experiments/math_gsm8k.yaml")
    assert shipped.validate() is shipped and [t.name for t in shipped.tasks] == ["gsm8k"]
    assert "boxed" in shipped.data.system_prompt and [r.name for r in shipped.rewards] == ["correctness"]
    cfg = load_config(ROOT / "configs/experiments/math_gsm8k.yaml", [
        "tasks=[{name: gsm8k, weight: 2, config: {dataset: sample-gsm8k}}, {name: deepscaler, config: {dataset: sample-deepscaler}}, leg_counting]",
        "data.num_train_examples=24", "data.num_eval_examples=8", "rewards=[{name: correctness}, {name: think, weight: 0.1}]"])
    cfg.validate()
    for reward in cfg.rewards:
        get_reward(reward.name)
    env = build_env(cfg)
    train, evals = env.dataset, env.eval_dataset
    assert len(evals) == 8 and len(train) == 24 and env.rgv_report["overlap"] == 0
    assert not set(train["question"]) & set(evals["question"])
    by_task = {}
    for info in train["info"]:
        by_task[info["rg_task"]] = by_task.get(info["rg_task"], 0) + 1
    assert by_task == {"gsm8k": 12, "deepscaler": 6, "leg_counting": 6}
    assert all(p[0]["content"].endswith("\\boxed{}.") for p in evals["prompt"])
    # the training rubric scores math rows with math_verify and rg rows with their own verifier
    from rg_verifiers.rubric import TrainingRubric
    from rg_verifiers.scoring import get_scorer
    import asyncio

    rubric = TrainingRubric(get_scorer(), [(r.name, r.weight) for r in cfg.rewards])
    rows = list(train)[:6]
    states = [{"completion": said(f"<think>ok</think> \\boxed{{{r['answer']}}} <answer>{r['answer']}</answer>"),
               "info": r["info"], "prompt": r["prompt"], "answer": r["answer"], "task": "default", "timing": {},
               "metrics": {}} for r in rows]
    metrics = asyncio.run(rubric._metrics([s["completion"] for s in states], [s["info"] for s in states], states))
    assert all(m["correct"] == 1.0 for m in metrics), metrics


# ------------------------------------------------------------------------------- the real CLIs


class BoxedServer(FakeOpenAI):
    """The fake OpenAI server, answering in \\boxed{}: "gold" the reference, "wrong" something else,
    "untagged" the reference with neither a box nor a tag."""

    def reply(self, model: str, messages: list[dict]) -> str:
        question = [m["content"] for m in messages if m["role"] == "user"][-1]
        gold = self.references.get(question, "")
        if model == "gold":
            return f"Let me work it out step by step.\nSo the answer is $\\boxed{{{gold}}}$."
        if model == "wrong":
            return f"\\boxed{{{gold}}} is tempting, but no: \\boxed{{{gold}+1}}"
        if model == "untagged":
            return f"The answer is {gold}"
        return "I do not know."


def math_references(task: str, args: dict) -> dict[str, str]:
    env = load_rg_environment(task, **args)
    return {row["question"]: row["answer"] for row in env.eval_dataset}


def cli_env(tmp_path) -> dict:
    # the environments' folders on the path too, as setup.sh puts them (a venv made before they existed)
    path = os.pathsep.join([*ENV_FOLDERS, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return dict(os.environ, OPENAI_API_KEY="test", PYTHONPATH=path, RGV_CACHE_DIR=str(tmp_path / "cli-cache"))


def vf_eval(tmp_path, env_id, model, base_url, env_args, n) -> list[dict]:
    out = subprocess.run([str(BIN / "vf-eval"), env_id, "-m", model, "-b", base_url, "-k", "OPENAI_API_KEY", "-n", str(n),
                          "-r", "1", "-c", "8", "-s", "-a", json.dumps(env_args)], cwd=tmp_path, capture_output=True,
                         text=True, env=cli_env(tmp_path), timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = sorted((tmp_path / "outputs" / "evals").glob(f"{env_id}--{model}/*/results.jsonl"))
    assert runs, f"no results saved: {out.stdout[-2000:]}"
    return [json.loads(line) for line in runs[-1].read_text().splitlines()]


MATH_ARGS = {"num_eval_examples": 12, "num_train_examples": 0}
GSM_ARGS = {"num_eval_examples": 6, "num_train_examples": 0, "config": {"dataset": "sample-gsm8k"}}


@pytest.fixture(scope="module")
def boxed_server(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RGV_CACHE_DIR", str(tmp_path_factory.mktemp("refs")))
        refs = {**math_references("math", MATH_ARGS), **math_references("gsm8k", GSM_ARGS)}
    with BoxedServer(refs) as server:
        yield server


@pytest.mark.slow
def test_vf_eval_math_gold_wrong_untagged(tmp_path, boxed_server):
    gold = vf_eval(tmp_path, "rg-math", "gold", boxed_server.base_url, MATH_ARGS, 12)
    assert len(gold) == 12 and sum(r["reward"] for r in gold) / len(gold) == 1.0
    assert all(r["correct"] == 1.0 and r["parse_failure"] == 0.0 and r["format"] == 1.0 for r in gold)
    assert all(r["info"]["rg_task"] == "math" for r in gold)
    wrong = vf_eval(tmp_path, "rg-math", "wrong", boxed_server.base_url, MATH_ARGS, 12)
    assert sum(r["reward"] for r in wrong) == 0.0 and all(r["parse_failure"] == 0.0 for r in wrong)  # the LAST box
    untagged = vf_eval(tmp_path, "rg-math", "untagged", boxed_server.base_url, MATH_ARGS, 12)
    assert all(r["correct"] == 0.0 and r["parse_failure"] == 1.0 and r["format"] == 0.0 for r in untagged)


@pytest.mark.slow
def test_vf_eval_gsm8k_preset_on_the_shipped_sample(tmp_path, boxed_server):
    gold = vf_eval(tmp_path, "rg-gsm8k", "gold", boxed_server.base_url, GSM_ARGS, 6)
    assert len(gold) == 6 and all(r["reward"] == 1.0 and r["info"]["rg_task"] == "gsm8k" for r in gold)


@pytest.mark.slow
def test_rgv_eval_math(tmp_path, boxed_server):
    def rgv_eval(*args):
        return subprocess.run([str(BIN / "rgv"), "eval", *args, "-b", boxed_server.base_url, "-n", "6", "-t", "64"],
                              capture_output=True, text=True, cwd=tmp_path, env=cli_env(tmp_path), timeout=600)

    done = rgv_eval("rg-math", "-m", "gold", "-a", json.dumps(MATH_ARGS))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rg-math" in done.stdout and "100.0" in done.stdout
    rows = [json.loads(line) for p in (tmp_path / "outputs" / "evals").glob("rg-math--gold/*/results.jsonl")
            for line in p.read_text().splitlines()]
    assert len(rows) == 6 and all(r["correct"] == 1.0 for r in rows)
    # a bare task name, as for `rgv eval leg_counting`
    done = rgv_eval("gsm8k", "-m", "wrong", "-a", json.dumps(GSM_ARGS))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for p in (tmp_path / "outputs" / "evals").glob("rg-gsm8k--wrong/*/results.jsonl")
            for line in p.read_text().splitlines()]
    assert len(rows) == 6 and all(r["correct"] == 0.0 for r in rows)
