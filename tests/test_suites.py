"""reasoning-gym's published suites: the config format, items exactly as create_dataset builds them
(environment mode and `rgv bench --suite`), and how many published questions they rebuild."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import reasoning_gym
import yaml
from reasoning_gym.utils import SYSTEM_PROMPTS

from fake_openai import FakeOpenAI
from rg_verifiers.env import load_rg_environment
from rg_verifiers.errors import RGVError
from rg_verifiers.references import reference_answer
from rg_verifiers.suites import load_suite
from rg_verifiers.suites.config import suite_file
from rg_verifiers.suites.paper import reproduced

RGV = str(Path(sys.executable).parent / "rgv")
# fast tasks; with params in rg-hard; a hash-dependent generator is left out (a worker would start)
TASKS = ["leg_counting", "basic_arithmetic", "complex_arithmetic", "spell_backward", "number_sorting", "word_sorting"]


def raw_datasets(name: str) -> dict[str, dict]:
    raw = yaml.safe_load(suite_file(name).read_text())
    return {d["dataset"]: d for c in raw["categories"] for d in c["datasets"]}


@pytest.mark.parametrize("name,count", [("rg-easy", 101), ("rg-hard", 100)])
def test_shipped_suites_read_as_reasoning_gym_reads_them(name, count):
    suite = load_suite(name)
    raw = raw_datasets(name)
    assert len(suite.tasks) == count == len(raw)
    assert suite.system_prompt == SYSTEM_PROMPTS["default"]
    for t in suite.tasks:
        assert (t.seed, t.size) == (45, 50)
        assert t.params == raw[t.name].get("params", {})
    assert suite.categories["leg_counting"] == "arithmetic" and suite.categories["arc_1d"] == "arc"


@pytest.mark.parametrize("name", ["rg-easy", "rg-hard"])
def test_environment_items_are_create_dataset_items(name):
    suite = load_suite(name)
    for t in (x for x in suite.tasks if x.name in TASKS):
        expected = list(reasoning_gym.create_dataset(t.name, seed=t.seed, size=t.size, **t.params))
        env = load_rg_environment(t.name, num_train_examples=0, config=t.params or None, rg_items=t.rg_items())
        rows = env.eval_dataset.to_list()
        assert [r["question"] for r in rows] == [e["question"] for e in expected], t.name
        assert [r["answer"] for r in rows] == [str(e["answer"]) for e in expected], t.name
        assert rows[0]["prompt"][0] == {"role": "system", "content": SYSTEM_PROMPTS["default"]}


def test_published_questions_rebuilt_per_task():
    def questions(suite, task):
        t = next(x for x in load_suite(suite).tasks if x.name == task)
        return [e["question"] for e in reasoning_gym.create_dataset(task, seed=t.seed, size=t.size, **t.params)]

    # measured (shared/notes/reasoning-gym-paper-runs-2026-12.md): spell_backward's easy wording changed
    assert reproduced("rg-easy", "leg_counting", questions("rg-easy", "leg_counting")) == (50, 50)
    assert reproduced("rg-hard", "word_sorting", questions("rg-hard", "word_sorting")) == (50, 50)
    assert reproduced("rg-easy", "spell_backward", questions("rg-easy", "spell_backward")) == (0, 50)
    assert reproduced("rg-easy", "number_sorting", questions("rg-easy", "number_sorting"))[0] < 50
    assert reproduced("rg-easy", "no_such_task", []) is None


def test_system_prompt_and_rg_items_arguments():
    env = load_rg_environment("leg_counting", num_train_examples=0, rg_items={"seed": 45, "size": 3}, system_prompt="Be brief.")
    rows = env.eval_dataset.to_list()
    assert len(rows) == 3 and rows[0]["prompt"][0]["content"] == "Be brief."
    env = load_rg_environment("leg_counting", num_train_examples=0, num_eval_examples=4, rg_items={"seed": 1})
    assert len(env.eval_dataset) == 4  # size defaults to num_eval_examples
    for bad, message in [({"size": 3}, "seed must be an integer"), ({"seed": 1, "params": {}}, "unknown rg_items key 'params'"),
                         ([45], "must be a mapping")]:
        with pytest.raises(RGVError, match=message):
            load_rg_environment("leg_counting", num_train_examples=0, rg_items=bad)
    with pytest.raises(RGVError, match="not a difficulty"):
        load_rg_environment("leg_counting", num_train_examples=0, rg_items={"seed": 1}, difficulty=1)


@pytest.mark.parametrize("text,message", [
    ("categories: [{category: a, datasets: [{dataset: leg_countin}]}]", "unknown reasoning-gym task 'leg_countin'; did you mean 'leg_counting'"),
    ("default_sise: 3\ncategories: []", "unknown key 'default_sise'; did you mean 'default_size'"),
    ("categories: [{category: a, datasets: [{size: 3}]}]", "each dataset needs 'dataset'"),
    ("categories: [{category: a, datasets: [{dataset: leg_counting, size: 0}]}]", "leg_counting.size must be an integer >= 1"),
    ("system_prompt_id: nope\ncategories: [{category: a, datasets: [{dataset: leg_counting}]}]", "unknown system_prompt_id 'nope'"),
])
def test_bad_suite_files_are_one_line(tmp_path, text, message):
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    with pytest.raises(RGVError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_suite(path)


def test_unknown_suite_name_suggests():
    with pytest.raises(RGVError, match="did you mean 'rg-easy'"):
        load_suite("rg-eazy")


def test_bench_suite_end_to_end(tmp_path):
    """`rgv bench --suite FILE` asks exactly the suite's items with its system prompt; gold scores 1."""
    suite = tmp_path / "mini.yaml"
    suite.write_text(textwrap_suite())
    refs, prompts = {}, {}
    for task, params in (("leg_counting", {}), ("chain_sum", {"min_terms": 2, "max_terms": 3})):
        for e in reasoning_gym.create_dataset(task, seed=7, size=4, **params):
            refs[e["question"]] = reference_answer(task, e) or ""
    with FakeOpenAI(refs) as fake:
        run = subprocess.run([RGV, "bench", "--suite", str(suite), "--models", f"gold={fake.base_url}", "-o", str(tmp_path / "out"),
                              "--no-plot"], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        asked = [b["messages"] for b in fake.bodies]
    assert len(asked) == 8 and all(m[0] == {"role": "system", "content": "Answer in tags."} for m in asked)
    assert sorted(m[1]["content"] for m in asked) == sorted(refs)
    doc = json.loads(next((tmp_path / "out").glob("results_all_tasks_*.json")).read_text())
    for task in ("leg_counting", "chain_sum"):
        r = doc["results"][task]["gold"]
        assert r["accuracy"] == 1.0 and r["n_examples"] == 4
        assert r["extra"]["category"] == "mine" and r["extra"]["rg_items"] == {"seed": 7, "size": 4}
        assert r["extra"]["provenance"]["env_args"]["rg_items"] == {"seed": 7, "size": 4}
    items = [json.loads(x) for x in (tmp_path / "out" / "items" / "chain_sum.jsonl").read_text().splitlines()]
    assert [i["question"] for i in items] == [e["question"] for e in reasoning_gym.create_dataset(
        "chain_sum", seed=7, size=4, min_terms=2, max_terms=3)]


def test_bench_shipped_suite_subset_reports_published_questions(tmp_path):
    t = next(x for x in load_suite("rg-easy").tasks if x.name == "spell_backward")
    refs = {e["question"]: str(e["answer"]) for e in reasoning_gym.create_dataset("spell_backward", seed=45, size=50, **t.params)}
    with FakeOpenAI(refs) as fake:
        run = subprocess.run([RGV, "bench", "--suite", "rg-easy", "--tasks", "spell_backward", "-n", "3", "--models",
                              f"gold={fake.base_url}", "-o", str(tmp_path / "out"), "--no-plot"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "rebuilt 0 of the 3 published questions" in run.stderr and "spell_backward 0/3" in run.stderr
    doc = json.loads(next((tmp_path / "out").glob("results_all_tasks_*.json")).read_text())
    assert doc["results"]["spell_backward"]["gold"]["extra"]["published_questions_reproduced"] == [0, 3]
    assert doc["results"]["spell_backward"]["gold"]["n_examples"] == 3


def textwrap_suite() -> str:
    return ("default_size: 4\ndefault_seed: 7\nsystem_prompt: Answer in tags.\ncategories:\n- category: mine\n  datasets:\n"
            "  - dataset: leg_counting\n  - dataset: chain_sum\n    params: {min_terms: 2, max_terms: 3}\n")


class Replay(FakeOpenAI):
    """Answers each question with the response given for it (published-run style replay)."""

    def __init__(self, responses: dict[str, str]):
        super().__init__({})
        self.responses = responses

    def reply(self, model, messages):
        return self.responses[messages[-1]["content"]]


def test_replayed_responses_score_what_reasoning_gyms_scorer_gives(tmp_path):
    """Responses replayed through a fake endpoint score, item by item, what reasoning-gym's own
    score_answer(extract_answer(response), entry) gives them (partial credit included)."""
    from reasoning_gym.utils import extract_answer

    suite = load_suite("rg-hard")
    tasks = ["basic_arithmetic", "word_sorting", "letter_counting", "complex_arithmetic"]
    responses, expected = {}, {}
    for t in (x for x in suite.tasks if x.name in tasks):
        ds = reasoning_gym.create_dataset(t.name, seed=t.seed, size=t.size, **t.params)
        for i, e in enumerate(list(ds)[:8]):
            gold = str(e["answer"])
            variants = [gold, gold + " ", gold[:-1] or "x", f"{gold}, {gold}", "unsure"]
            body = variants[i % len(variants)]
            text = f"Reasoning...\n<answer>first try</answer>\nso finally\n<answer>{body}</answer>"
            responses[e["question"]] = text
            expected[(t.name, i)] = ds.score_answer(extract_answer(text), e)
    with Replay(responses) as fake:
        run = subprocess.run([RGV, "bench", "--suite", "rg-hard", "--tasks", *tasks, "-n", "8", "--models", f"replay=gold@{fake.base_url}",
                              "-o", str(tmp_path / "out"), "--no-plot"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    got = {}
    for task in tasks:
        for line in (tmp_path / "out" / "rollouts" / f"replay__{task}.jsonl").read_text().splitlines():
            row = json.loads(line)
            got[(task, row["example_id"])] = row["correct"]
    assert got == pytest.approx(expected)
    assert 0 < sum(expected.values()) < len(expected)  # both right and wrong answers were replayed


@pytest.mark.slow  # knight_swap generates slowly: ~2.5 min for these 17 items on 2 cores
def test_an_item_reasoning_gym_cannot_generate_is_left_out_and_named(tmp_path):
    """rg-hard's knight_swap item 15 raises in reasoning-gym 0.1.25 (no valid board in 100 tries):
    the other items keep their indices, the published-question count and the run go on."""
    suite = tmp_path / "ks.yaml"
    suite.write_text("default_size: 17\ndefault_seed: 45\ncategories:\n- category: games\n  datasets:\n  - dataset: knight_swap\n"
                     "    params: {min_nodes: 6, max_nodes: 8, min_pieces: 3, max_pieces: 4, min_steps: 1, max_steps: 20}\n")
    with FakeOpenAI({}) as fake:
        run = subprocess.run([RGV, "bench", "--suite", str(suite), "-n", "17", "--models", f"x=gold@{fake.base_url}",
                              "-o", str(tmp_path / "out"), "--no-plot"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "knight_swap: reasoning-gym could not generate item(s) 15 of seed 45; asked the other 16" in run.stderr
    rows = [json.loads(x) for x in (tmp_path / "out" / "rollouts" / "x__knight_swap.jsonl").read_text().splitlines()]
    assert sorted(r["example_id"] for r in rows) == [i for i in range(17) if i != 15]
