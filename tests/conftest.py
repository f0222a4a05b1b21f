import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
# one torch/BLAS thread: two threads collapse 5-20x on the 2-core CI machines
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


# every environment package a fresh-venv test installs; built once per test session
WHEEL_ENVS = ("rg-leg-counting", "rg-composite", "rg-puzzle24", "rg-gsm8k")


@pytest.fixture(scope="session")
def wheels(tmp_path_factory, repo_root):
    """Wheels of the core and WHEEL_ENVS, built from this checkout (`rgv envs build-wheels`)."""
    import subprocess

    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([str(Path(sys.executable).parent / "rgv"), "envs", "build-wheels", *WHEEL_ENVS, "-o", str(out)],
                   check=True, cwd=repo_root, capture_output=True)
    names = sorted(p.name for p in out.glob("*.whl"))
    assert any(n.startswith("rg_verifiers-") for n in names) and any(n.startswith("rg_leg_counting-") for n in names)
    return out


HUB_ID = "rgv-test/tiny-llama"


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory):
    """HF_HOME with HUB_ID cached like a real download (refs/main -> snapshots/<commit>). Here, not in
    test_vf_backend.py: a session fixture imported into several modules is built once per module."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from rg_verifiers.embedded import hf_model_dir

    home = tmp_path_factory.mktemp("hf_home")
    repo = home / "hub" / ("models--" + HUB_ID.replace("/", "--"))
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    tokenizer = AutoTokenizer.from_pretrained(hf_model_dir())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    return home
