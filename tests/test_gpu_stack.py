"""The pinned GPU stack of `setup.sh --gpu` resolves with pip's resolver (nothing is installed)."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_gpu_requirements_resolve_together(tmp_path, repo_root):
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                           "--report", str(report), "-r", str(repo_root / "requirements" / "gpu.txt")],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    versions = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
                for i in json.loads(report.read_text())["install"]}
    assert versions["torch"] == "2.8.0"
    assert versions["vllm"].startswith("0.10.")
    assert versions["verifiers"] == "0.1.9.post3"
    assert versions["deepspeed"] and versions["liger-kernel"] and versions["wandb"] and versions["transformers"]


def test_flash_attn_pin_exists(repo_root):
    pin = (repo_root / "requirements" / "gpu-flash-attn.txt").read_text().split("flash-attn==")[1].split()[0]
    done = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "flash-attn"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert pin in done.stdout.replace(",", " ").split()
