"""`rgv cache list|prune`: what the cache holds, and pruning GGUF exports by age and count."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

RGV = str(Path(sys.executable).parent / "rgv")
DAY = 86400


@pytest.fixture
def cache(tmp_path):
    """A cache as rgv leaves it: the embedded model's copy, three GGUF exports used 1, 5 and 20 days ago,
    generated splits and the converter (sizes in MB, layout real)."""
    now = time.time()
    root = tmp_path / "cache"
    model = root / "models" / "SmolLM2-135M-Instruct-f32"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"m" * 5_000_000)
    os.utime(model / "model.safetensors", (now - 30 * DAY, now - 30 * DAY))
    for name, age, size in (("run-a", 1, 3_000_000), ("run-b", 5, 2_000_000), ("run-c", 20, 1_000_000)):
        folder = root / "gguf" / f"{name}-0123456789ab"
        folder.mkdir(parents=True)
        (folder / "model-f32.gguf").write_bytes(b"g" * size)
        (folder / "source.json").write_text(json.dumps({"key": "k", "checkpoint": f"/ckpts/{name}"}))
        for f in folder.iterdir():
            os.utime(f, (now - age * DAY, now - age * DAY))
    (root / "splits").mkdir()
    (root / "splits" / "abc.json").write_text("{}")
    (root / "tools" / "llama.cpp-convert-0.3.36").mkdir(parents=True)
    return root


def rgv(cache, *args):
    env = dict(os.environ, RGV_CACHE_DIR=str(cache), COLUMNS="200")
    return subprocess.run([RGV, "cache", *args], capture_output=True, text=True, env=env, timeout=120)


def test_list_shows_each_item_with_kind_size_and_last_use(cache):
    out = rgv(cache, "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["kind", "size", "last", "used", "path"]
    rows = [line.split() for line in lines[1:-1]]
    assert [r[0] for r in rows] == ["model", "gguf", "gguf", "gguf", "splits", "converter"]
    assert rows[1][1:3] == ["3.0", "MB"] and rows[1][-1] == "/ckpts/run-a)"  # most recently used first
    assert rows[0][1:3] == ["5.0", "MB"] and rows[0][5].endswith("SmolLM2-135M-Instruct-f32")
    assert lines[-1] == f"total 11.0 MB in {cache}"


def test_prune_by_age_and_count_never_the_model_unless_asked(cache):
    gguf = cache / "gguf"
    out = rgv(cache, "prune", "--older-than", "3", "--dry-run")
    assert out.returncode == 0, out.stderr
    removed = out.stdout.splitlines()[:-1]
    assert [line.split(", last used")[0] for line in removed] == ["would remove gguf 2.0 MB", "would remove gguf 1.0 MB"]
    assert removed[0].endswith("(from /ckpts/run-b)") and removed[1].endswith("(from /ckpts/run-c)")
    assert out.stdout.splitlines()[-1] == "would free 3.0 MB (2 item(s))"
    assert len(list(gguf.iterdir())) == 3  # a dry run removes nothing

    out = rgv(cache, "prune", "--keep", "2")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "freed 1.0 MB (1 item(s))" and "(from /ckpts/run-c)" in out.stdout
    assert sorted(p.name.split("-0")[0] for p in gguf.iterdir()) == ["run-a", "run-b"]

    out = rgv(cache, "prune")  # no rule: every GGUF export, and still not the model copy
    assert out.stdout.splitlines()[-1] == "freed 5.0 MB (2 item(s))"
    assert not list(gguf.iterdir()) and (cache / "models" / "SmolLM2-135M-Instruct-f32").is_dir()
    assert (cache / "splits" / "abc.json").is_file() and (cache / "tools").is_dir()

    out = rgv(cache, "prune", "--include-model", "--older-than", "40")
    assert out.stdout.splitlines()[-1] == "freed 0 B (0 item(s))"  # the copy is 30 days old
    out = rgv(cache, "prune", "--include-model")
    assert out.stdout.splitlines()[-1] == "freed 5.0 MB (1 item(s))" and not (cache / "models").joinpath(
        "SmolLM2-135M-Instruct-f32").exists()


@pytest.mark.parametrize("args, expected", [
    (["--keep", "-1"], "error: --keep must be >= 0, got -1"),
    (["--older-than", "-2"], "error: --older-than must be a number of days >= 0, got -2"),
])
def test_bad_prune_rules_are_one_line(cache, args, expected):
    out = rgv(cache, "prune", *args)
    assert out.returncode == 2 and out.stderr.strip() == expected
    assert len(list((cache / "gguf").iterdir())) == 3


def test_empty_cache(tmp_path):
    out = rgv(tmp_path / "none", "list")
    assert out.returncode == 0 and out.stdout.strip() == f"the cache is empty ({tmp_path / 'none'})"
    out = rgv(tmp_path / "none", "prune")
    assert out.returncode == 0 and out.stdout.strip() == "freed 0 B (0 item(s))"
