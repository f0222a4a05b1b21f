"""rg-* packages under verifiers 0.4 (the v1 API only), installed from wheels into a fresh venv.

What a researcher who runs `pip install verifiers` today gets: the 0.4 vf-eval on a laptop against a
local OpenAI-compatible server (no Prime sandbox, nothing pushed), the env server prime-rl's
orchestrator drives, and `rgv` there. Every score is checked against the project venv's verifiers
0.1.9.post3 environment on the same items: one core, two adapters.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from test_vf_eval import references, vf_eval

slow = pytest.mark.slow
VERIFIERS_V04 = "0.4.0"
# (package, environment arguments): a plain task, a sandboxed (sympy-scored) one, the mixture, a math dataset
CASES = {
    "rg-leg-counting": {"num_eval_examples": 10, "config": {"max_animals": 4}},
    "rg-puzzle24": {"num_eval_examples": 10},
    "rg-composite": {"num_eval_examples": 10},
    "rg-gsm8k": {"num_eval_examples": 10, "config": {"dataset": "sample-gsm8k"}},  # shipped: no hub download
}
TASKS = {"rg-leg-counting": "leg_counting", "rg-puzzle24": "puzzle24", "rg-gsm8k": "gsm8k",
         "rg-composite": ["leg_counting", "basic_arithmetic", "chain_sum"]}


@pytest.fixture(scope="session")
def venv04(tmp_path_factory, wheels):
    """A fresh venv with verifiers 0.4.0 and the environment wheels (no torch, nothing of this checkout)."""
    root = tmp_path_factory.mktemp("venv04")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    install = subprocess.run([py, "-m", "pip", "install", "-q", "--find-links", str(wheels), *CASES,
                              f"verifiers=={VERIFIERS_V04}"], capture_output=True, text=True, timeout=1500)
    assert install.returncode == 0, install.stderr[-2000:]
    probe = subprocess.run([py, "-c", "import importlib.util as u, importlib.metadata as m, rg_verifiers; "
                            "print(m.version('verifiers'), u.find_spec('torch') is None, rg_verifiers.__file__)"],
                           capture_output=True, text=True, cwd=root, check=True).stdout.split()
    assert probe[0] == VERIFIERS_V04 and probe[1] == "True" and str(venv) in probe[2]
    return venv


def _env(venv: Path) -> dict:
    # a laptop: no Prime key; the local server needs none (vf-eval sends a placeholder)
    env = {k: v for k, v in os.environ.items() if "API_KEY" not in k}
    return dict(env, PATH=f"{venv / 'bin'}:{os.environ['PATH']}", NO_COLOR="1")


def _traces(run_dir: Path) -> list[dict]:
    (path,) = run_dir.rglob("traces.jsonl")
    return [t for line in path.read_text().splitlines() if line.strip() for t in json.loads(line)["traces"]]


ITEM_CASES = [  # (package, taskset fields): levels, seeds, configs, the train split, a weighted mixture
    ("rg-leg-counting", {"num_eval_examples": 5, "difficulty": 1, "seed": 3}),
    ("rg-leg-counting", {"num_eval_examples": 5, "num_train_examples": 6, "config": {"max_animals": 4}, "split": "train"}),
    ("rg-composite", {"num_eval_examples": 8, "tasks": [{"name": "leg_counting", "weight": 3},
                                                         {"name": "chain_sum", "weight": 1, "difficulty": 1}]}),
    ("rg-puzzle24", {"num_eval_examples": 4, "partial_credit": False, "scoring": "sandbox", "score_timeout_s": 5.0}),
]


@slow
def test_package_exports_a_v1_taskset_with_the_same_items(venv04, tmp_path):
    script = ("import json, sys, rg_leg_counting as m, rg_composite as c, verifiers.v1 as vf\n"
              "from verifiers.v1.utils.loaders import taskset_class, harness_class, environment_class, resolve_env_config\n"
              "cfg = resolve_env_config({'taskset': {'id': 'rg-leg-counting', 'difficulty': 1}})\n"
              "items = []\n"
              "for env_id, fields in json.loads(sys.argv[1]):\n"
              "    ts = vf.load_taskset(resolve_env_config({'taskset': {'id': env_id, **fields}}).taskset)\n"
              "    items.append([[t.data.rg_task, t.data.split, t.data.index, t.data.system_prompt, t.data.prompt,\n"
              "                   t.data.partial_credit, t.data.scoring, t.data.score_timeout_s] for t in ts])\n"
              "print(json.dumps({'all': m.__all__, 'composite': c.__all__, 'v0': hasattr(m, 'load_environment'),\n"
              "  'taskset': taskset_class('rg-leg-counting').__name__, 'harness': harness_class('rg-leg-counting').__name__,\n"
              "  'env': environment_class('rg-leg-counting').__name__, 'runtime': cfg.agent.runtime.type,\n"
              "  'difficulty': cfg.taskset.difficulty, 'items': items,\n"
              "  'fields': sorted(type(cfg.taskset).model_fields),\n"
              "  'loaded': sorted(k for k in sys.modules if k.startswith('rg_verifiers'))}))\n")
    out = subprocess.run([str(venv04 / "bin" / "python"), "-c", script, json.dumps(ITEM_CASES)], capture_output=True,
                         text=True, cwd=tmp_path, env=_env(venv04), timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["all"] == ["LegCountingTaskset", "RGHarness", "RGEnv"] and not facts["v0"]
    assert facts["composite"] == ["CompositeTaskset", "RGHarness", "RGEnv"]
    assert (facts["taskset"], facts["harness"], facts["env"]) == ("LegCountingTaskset", "RGHarness", "RGEnv")
    assert facts["runtime"] == "subprocess" and facts["difficulty"] == 1
    # loading and iterating the tasksets touched nothing above the core (tests/test_layers.py's table)
    from test_layers import layer_of

    assert "rg_verifiers.taskset" in facts["loaded"]
    assert not {m: layer_of(m) for m in facts["loaded"] if layer_of(m) != "core"}
    # every environment argument is a TasksetConfig field
    from rg_verifiers.envargs import ENV_ARG_HELP

    assert set(ENV_ARG_HELP) <= set(facts["fields"])
    # the same items, prompts and scoring settings as the verifiers 0.1.x environment here
    from rg_verifiers.env import load_rg_environment

    for (env_id, fields), got in zip(ITEM_CASES, facts["items"]):
        fields = dict(fields)
        split = fields.pop("split", "eval")
        tasks = fields.pop("tasks", None) or TASKS[env_id]
        env = load_rg_environment(tasks, **fields)
        rows = env.eval_dataset if split == "eval" else env.dataset
        expected = []
        for row in rows:
            system = next((m["content"] for m in row["prompt"] if m["role"] == "system"), None)
            user = next(m["content"] for m in row["prompt"] if m["role"] == "user")
            info = row["info"]
            expected.append([info["rg_task"], info["split"], info["index"], system, user,
                             fields.get("partial_credit", True), fields.get("scoring", "auto"),
                             fields.get("score_timeout_s", 10.0)])
        assert got == expected, env_id


@slow
# rg-leg-counting's items are in rg-composite's mixture, and test_rgv_in_a_v04_venv runs it through 0.4's vf-eval
@pytest.mark.parametrize("env_id", [e for e in CASES if e != "rg-leg-counting"])
def test_vf_eval_v04_scores_what_verifiers_019_scores(venv04, tmp_path, env_id):
    """The 0.4 vf-eval with the fewest flags (README), against a fake server answering gold, wrong,
    untagged and hostile completions by question: the same items, prompts and per-item rewards as the
    project venv's vf-eval (verifiers 0.1.9.post3) on the same server; the injection never runs."""
    args = CASES[env_id]
    n = args["num_eval_examples"]
    argv = [str(venv04 / "bin" / "vf-eval"), env_id, "-m", "mixed", "-n", str(n), "--no-push", "-o", "out"]
    for key, value in args.items():
        argv += [f"--env.taskset.{key}", json.dumps(value) if isinstance(value, dict) else str(value)]
    (tmp_path / "v1").mkdir()
    (tmp_path / "v0").mkdir()
    with FakeOpenAI(references(TASKS[env_id], args)) as server:
        run = subprocess.run(argv + ["--client.base-url", server.base_url], capture_output=True, text=True,
                             cwd=tmp_path / "v1", env=_env(venv04), timeout=900)
        v1_bodies = list(server.bodies)
        v0_rows = vf_eval(tmp_path / "v0", env_id, "mixed", server.base_url, args, n)
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-3000:])
    assert not list(tmp_path.rglob("PWNED*")), "a completion was executed"
    traces = _traces(tmp_path / "v1" / "out")
    assert len(traces) == n and all(t["ok"] for t in traces)
    # the harness's requests: the 0.1.x messages, rg-verifiers' generation defaults (no --sampling flags)
    assert len(v1_bodies) == n and all(b.get("max_tokens") == 1024 and b.get("temperature") == 0.0 for b in v1_bodies)
    v1 = {t["task"]["data"]["prompt"]: t for t in traces}
    v0 = {next(m["content"] for m in r["prompt"] if m["role"] == "user"): r for r in v0_rows}
    assert set(v1) == set(v0), "different items"
    kinds = set()
    for question, trace in v1.items():
        row = v0[question]
        prompt = [n["message"] for n in trace["nodes"] if n["message"]["role"] in ("system", "user")]
        assert [(m["role"], m["content"]) for m in prompt] == [(m["role"], m["content"]) for m in row["prompt"]]
        v0_metrics = {**(row.get("metrics") or {}), **row}
        assert trace["rewards"]["correct"]["score"] == pytest.approx(v0_metrics["correct"]), question[:80]
        for name in ("format", "parse_failure", "score_failure"):
            assert trace["metrics"][name] == pytest.approx(v0_metrics[name]), (name, question[:80])
        kinds.add(trace["rewards"]["correct"]["score"] >= 1.0)
    assert kinds == {True, False}, "the mixed fake gave every item the same kind of answer"


@slow
def test_env_server_episodes_as_prime_rl_drives_them(venv04, tmp_path, repo_root):
    """verifiers 0.4's env server (the seam prime-rl's orchestrator talks to) with an rg-* package and
    nothing pinned: rewards come back right for gold, wrong and hostile completions."""
    import asyncio

    from rg_verifiers.grading import grade
    from rg_verifiers.scoring import get_scorer
    from rg_verifiers.serve import free_port
    from rg_verifiers.splits import EnvSplits

    args = {"num_eval_examples": 4}
    spec = {"taskset": {"id": "rg-puzzle24", **args}, "models": ["gold", "wrong", "hostile:0", "hostile:2"],
            "address": f"tcp://127.0.0.1:{free_port()}"}
    with FakeOpenAI(references("puzzle24", args)) as server:
        spec["base_url"] = server.base_url
        out = subprocess.run([str(venv04 / "bin" / "python"), str(repo_root / "tests" / "v1" / "drive_env_server.py"),
                              json.dumps(spec)], capture_output=True, text=True, cwd=tmp_path,
                             env=dict(_env(venv04), OPENAI_API_KEY="local"), timeout=600)
        replies = {m: [server.reply(m, row["prompt"]) for row in _rows(args)] for m in spec["models"]}
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert (result["runtime"], result["harness"]) == ("subprocess", "rg-puzzle24")
    assert "ValidationError" in result["bad_task_data"]
    assert not list(tmp_path.rglob("PWNED*"))
    splits = EnvSplits("puzzle24", **args)
    infos = [r["info"] for r in splits.eval_rows]
    for model, episodes in result["models"].items():
        assert len(episodes) == 4 and all(e["ok"] and e["stop"] == "agent_completed" for e in episodes), episodes
        expected = asyncio.run(grade(get_scorer(), [[{"role": "assistant", "content": c}] for c in replies[model]], infos))
        got = {e["task"]: e["reward"] for e in episodes}
        for info, metrics in zip(infos, expected):
            assert got[f"puzzle24/eval/{info['index']}"] == pytest.approx(metrics["correct"]), model
        if model == "gold":
            assert all(e["reward"] == 1.0 for e in episodes)
        else:
            assert all(e["reward"] < 1.0 for e in episodes)


def _rows(args: dict) -> list[dict]:
    from rg_verifiers.splits import EnvSplits

    splits = EnvSplits("puzzle24", **args)
    return splits.prompt_rows(splits.eval_rows)


@slow
def test_rgv_in_a_v04_venv(venv04, tmp_path):
    """rgv's commands need no v0 API: tasks, show, gold, eval (0.4's vf-eval underneath), report, bench;
    bad input and the commands that need other extras or verifiers 0.1.9 say so in one line."""
    rgv = str(venv04 / "bin" / "rgv")
    env = dict(_env(venv04), OPENAI_API_KEY="local")

    def run(*argv, timeout=600):
        return subprocess.run([rgv, *argv], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=timeout)

    assert "leg_counting" in run("tasks").stdout
    shown = run("show", "leg_counting", "-n", "1")
    assert shown.returncode == 0 and "reference:" in shown.stdout, shown.stderr[-1000:]
    gold = run("gold", "puzzle24", "-n", "3")
    assert gold.returncode == 0, gold.stderr[-1000:]
    args = {"num_eval_examples": 6, "config": {"max_animals": 4}}
    with FakeOpenAI(references("leg_counting", args)) as server:
        ours = run("eval", "leg_counting", "-m", "gold", "-b", server.base_url, "-n", "6", "-a", json.dumps(args),
                   "-o", "rgv")
        bad = run("eval", "leg_counting", "-m", "gold", "-b", server.base_url, "-a", '{"difficulti": 1}')
        bodies = list(server.bodies)
        bench = run("bench", "--models", f"gold={server.base_url}", "--tasks", "leg_counting", "-n", "6",
                    "-o", "bench")
    assert ours.returncode == 0, ours.stderr[-3000:]
    assert "100.0" in ours.stdout  # the accuracy table, read from 0.4's traces.jsonl
    assert len(bodies) == 6 and all(b["max_tokens"] == 1024 and b["temperature"] == 0.0 for b in bodies)
    (run_dir,) = {p.parent for p in (tmp_path / "rgv").rglob("traces.jsonl")}
    assert json.loads((run_dir / "rgv_provenance.json").read_text())["rgv_provenance"]["verifiers"] == VERIFIERS_V04
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "did you mean 'difficulty'" in bad.stderr
    assert bench.returncode == 0, bench.stderr[-2000:]
    report = run("report", "rgv", "--format", "json")
    assert report.returncode == 0, report.stderr[-2000:]
    rows = json.loads(report.stdout)
    assert any(r.get("task") == "leg_counting" and r.get("accuracy") in (1.0, 100.0) for r in _records(rows)), rows
    plot = run("plot", "rgv", "bench", "-o", "chart.png")  # matplotlib comes with reasoning-gym's dependencies
    assert plot.returncode == 0 and (tmp_path / "chart.png").stat().st_size > 10_000, plot.stderr[-2000:]
    seed = run("eval", "leg_counting", "-m", "gold", "-b", "http://127.0.0.1:9/v1", "--seed", "3")
    assert seed.returncode == 2 and "--seed" in seed.stderr and seed.stderr.strip().count("\n") == 0


def _records(doc) -> list[dict]:
    if isinstance(doc, dict):
        for key in ("results", "rows", "tasks"):
            if isinstance(doc.get(key), list):
                return doc[key]
        return [doc]
    return list(doc)


def test_training_under_verifiers_04_is_one_line(monkeypatch):
    """Training needs verifiers 0.1.9.post3 (RLTrainer; the TRL backend scores through the 0.1.x
    rubric): with 0.4 installed, train() says so before importing anything of the v0 API."""
    from rg_verifiers import compat
    from rg_verifiers.config import load_config
    from rg_verifiers.errors import RGVError
    from rg_verifiers.train import run

    monkeypatch.setattr(compat, "VERIFIERS_V1", True)
    monkeypatch.setattr(compat, "_VERSION", (0, 4, 0))
    cfg = load_config("configs/experiments/leg_counting_embedded_cpu.yaml", [])
    with pytest.raises(RGVError, match=r"needs verifiers 0\.1\.x-0\.3\.x .* verifiers 0\.4\.0 is installed"):
        run.train(cfg)
