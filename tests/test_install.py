"""An environment installed from wheels into a fresh venv, under verifiers 0.3.1, 0.1.14 and 0.1.6.

This is the "use it from another project" path of the README: build wheels of the core and the
chosen environments, `pip install --find-links`, run verifiers' own vf-eval there, and `rgv eval`
(whose verifiers calls differ between these versions). Both must send the shared generation
settings: `max_tokens` (not verifiers' `max_completion_tokens`, which llama.cpp ignores) and
temperature 0.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from test_vf_eval import references

pytestmark = pytest.mark.slow
ARGS = {"num_eval_examples": 6, "num_train_examples": 4, "config": {"max_animals": 4}}
CHECK = """
import json, sys, verifiers as vf
env = vf.load_environment("rg-leg-counting", **json.loads(sys.argv[1]))
train = env.get_dataset()
print(json.dumps({"version": vf.__version__, "eval": len(env.get_eval_dataset()), "train": len(train),
                  "overlap": env.rgv_report["overlap"]}))
"""


@pytest.mark.parametrize("verifiers_version", ["0.3.1", "0.1.14", "0.1.6"])
def test_env_from_wheels_in_a_fresh_venv(tmp_path, wheels, verifiers_version):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    install = subprocess.run([py, "-m", "pip", "install", "-q", "--find-links", str(wheels), "rg-leg-counting",
                              f"verifiers=={verifiers_version}"], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    # the fresh venv has no torch and sees nothing of this checkout
    probe = subprocess.run([py, "-c", "import importlib.util as u, rg_verifiers; print(u.find_spec('torch') is None, rg_verifiers.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True).stdout.split()
    assert probe[0] == "True" and str(venv) in probe[1]
    loaded = subprocess.run([py, "-c", CHECK, json.dumps(ARGS)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    facts = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert facts == {"version": verifiers_version, "eval": 6, "train": 4, "overlap": 0}
    env = dict(os.environ, OPENAI_API_KEY="test", PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    (tmp_path / "vf").mkdir()
    with FakeOpenAI(references("leg_counting", ARGS)) as server:
        run = subprocess.run([str(venv / "bin" / "vf-eval"), "rg-leg-counting", "-m", "gold", "-b", server.base_url,
                              "-k", "OPENAI_API_KEY", "-n", "6", "-r", "1", "-s", "-a", json.dumps(ARGS)],
                             capture_output=True, text=True, cwd=tmp_path / "vf", timeout=600, env=env)
        vf_bodies = list(server.bodies)
        ours = subprocess.run([str(venv / "bin" / "rgv"), "eval", "leg_counting", "-m", "gold", "-b", server.base_url,
                               "-n", "6", "-a", json.dumps(ARGS), "-o", str(tmp_path / "rgv")],
                              capture_output=True, text=True, cwd=tmp_path, timeout=600, env=env)
        rgv_bodies = server.bodies[len(vf_bodies):]
    assert run.returncode == 0, run.stderr[-3000:]
    assert ours.returncode == 0, ours.stderr[-3000:]
    for bodies in (vf_bodies, rgv_bodies):
        assert len(bodies) == 6 and all(b.get("max_tokens") == 1024 and "max_completion_tokens" not in b
                                        and b.get("temperature") == 0.0 for b in bodies), bodies[:1]
    for folder in (tmp_path / "vf" / "outputs", tmp_path / "rgv"):
        results = list((folder / "evals").rglob("results.jsonl"))
        assert results, (run.stdout[-2000:], ours.stdout[-2000:])
        rows = [json.loads(line) for line in results[0].read_text().splitlines()]
        assert len(rows) == 6 and all(r["reward"] == 1.0 for r in rows)
        for r in rows:  # metrics are columns (0.1.9) or inside `metrics` (0.1.14+)
            metrics = {**r.get("metrics", {}), **r}
            assert metrics["correct"] == 1.0 and metrics["format"] == 1.0
            assert metrics["parse_failure"] == 0.0 and metrics["score_failure"] == 0.0
    (ours_rows,) = (tmp_path / "rgv" / "evals").rglob("results.jsonl")
    assert all(json.loads(line).get("completion_tokens") == 5 for line in ours_rows.read_text().splitlines())
    (meta,) = (tmp_path / "rgv" / "evals").rglob("metadata.json")
    prov = json.loads(meta.read_text())["rgv_provenance"]
    assert prov["verifiers"] == verifiers_version and prov["git_commit"] is None  # a wheel, not a checkout
    assert "100.0" in ours.stdout  # the accuracy table
