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
    assert versions["bitsandbytes"] == "0.47.0"


def test_flash_attn_pin_exists(repo_root):
    pin = (repo_root / "requirements" / "gpu-flash-attn.txt").read_text().split("flash-attn==")[1].split()[0]
    done = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "flash-attn"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert pin in done.stdout.replace(",", " ").split()


def test_project_install_keeps_the_gpu_pins(tmp_path, repo_root):
    """setup.sh --gpu installs the project after the GPU stack, in a second pip call: with the pins as
    constraints its own ranges (transformers>=..., trl>=...) must resolve without moving any of them."""
    setup = (repo_root / "setup.sh").read_text()
    assert 'CONSTRAINTS=(-c requirements/gpu.txt)' in setup and '"${CONSTRAINTS[@]}" -e ".[' in setup
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                           "--report", str(report), "-c", str(repo_root / "requirements" / "gpu.txt"),
                           "-r", str(repo_root / "requirements" / "gpu.txt"), f"{repo_root}[train,plot,dev]"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    versions = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
                for i in json.loads(report.read_text())["install"]}
    pins = dict(line.split("==") for line in (repo_root / "requirements" / "gpu.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    for name, version in pins.items():
        assert versions[name.lower()] == version, name
