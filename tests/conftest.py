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
