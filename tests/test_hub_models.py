"""Hub model ids: the real loading path (cache first, then a download), tested without a network:
a local folder, a cached id, and one clear line when offline or when the hub cannot be reached."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rg_verifiers.serve import free_port

ROOT = Path(__file__).resolve().parent.parent
RESOLVE = ("import sys\nfrom rg_verifiers.errors import run_cli\nfrom rg_verifiers.train.run import resolve_model\n"
           "run_cli(lambda a: print(resolve_model(a[0], a[1] if len(a) > 1 else None)), sys.argv[1:])\n")


def fake_cache(home: Path, repo_id: str, commit: str = "a" * 40) -> Path:
    """HF_HOME holding repo_id the way huggingface_hub lays out a download (refs/main -> snapshot)."""
    repo = home / "hub" / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (snapshot / "config.json").write_text('{"model_type": "llama"}')
    return snapshot


def resolve(*args, **env) -> subprocess.CompletedProcess:
    # huggingface_hub reads HF_HOME / HF_HUB_OFFLINE / HF_ENDPOINT once, at import: a fresh process each
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    return subprocess.run([sys.executable, "-c", RESOLVE, *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**clean, **env})


def test_local_folder_is_used_as_it_is(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    done = resolve(str(tmp_path), HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "home"))
    assert done.returncode == 0 and done.stdout.strip() == str(tmp_path)


def test_cached_hub_id_resolves_offline_and_with_a_revision(tmp_path):
    snapshot = fake_cache(tmp_path, "org/cached-model")
    done = resolve("org/cached-model", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == snapshot
    # a hub without network: the cache still answers (no request is made for a cached id)
    done = resolve("org/cached-model", "a" * 40, HF_HOME=str(tmp_path), HF_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 0 and Path(done.stdout.strip()) == snapshot, done.stderr


def test_uncached_id_offline_is_one_line_that_says_how_to_prefetch(tmp_path):
    done = resolve("org/not-here", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "HF_HUB_OFFLINE" in line and "hf download org/not-here" in line


@pytest.mark.parametrize("revision", [None, "v1.0"])
def test_unreachable_hub_is_one_line_that_says_how_to_prefetch(tmp_path, revision):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = resolve("org/not-here", *([revision] if revision else []), HF_HOME=str(tmp_path), HF_ENDPOINT=endpoint,
                   HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    line = [ln for ln in done.stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(line) == 1 and "could not be reached" in line[0] and endpoint in line[0]
    assert f"hf download org/not-here{' --revision ' + revision if revision else ''}" in line[0]


def test_train_minimal_with_an_uncached_id_offline_is_one_line(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    done = subprocess.run([sys.executable, "train_minimal.py", "configs/experiments/leg_counting_embedded_cpu.yaml",
                           "model.name_or_path=Some/UncachedModel", f"training.output_dir={tmp_path / 'run'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**clean, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if ln.strip() and not ln.startswith(("backend:", "20"))]
    assert len(lines) == 1 and "not in the Hugging Face cache" in lines[0] and "hf download" in lines[0], done.stderr
