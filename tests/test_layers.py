"""Layers point one way: the environment core <- serving <- results <- training | benchmarking <- entry points.

LAYERS below is the one place that says where each module of `rg_verifiers` sits. A module may import
its own layer and any layer listed before it, never one after it; `train` and `bench` are siblings and
import neither each other. A new module gets a line here (the test fails until it has one): put it in
the lowest layer whose modules are all it needs. Function-level imports count like top-level ones.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rg_verifiers"

# (layer, module patterns relative to rg_verifiers; "" is the package itself), lowest first
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # what every environment package loads: task rows and data, prompt/protocol, parsing, scoring,
    # errors, generation settings, serialization, the arguments, splits and grading every adapter
    # shares, the two adapters (verifiers 0.1.x env/rubric, verifiers 0.4 taskset), and the reasoning
    # vocabulary the env decodes server text with
    ("core", ("", "errors", "serialization", "references", "envfile", "tasks", "embedded", "generation",
              "protocol", "scoring", "scoring.*", "rewards", "math_reward", "compat", "envargs", "splits",
              "grading", "rubric", "data", "env", "taskset", "math_env", "goldcheck", "envgen", "reasoning_vocab",
              # reasoning-gym's eval suites: their configs and items (the environments' rg_items mode)
              "suites", "suites.config", "suites.items")),
    # model files and local servers (GGUF export, llama.cpp serving, run provenance)
    ("serving", ("export", "serve", "provenance", "cache", "weights_digest")),
    # reading, summarising and drawing results
    ("results", ("results", "results.*", "traces", "report", "plotting", "suites.paper", "suite_charts", "samples",
                 "rg_eval_format", "html_report", "browser")),
    # training: configs, backends, curricula, evaluation during training, training curves
    ("train", ("train", "train.*", "config", "config.*", "curves")),
    # benchmarking and evaluating endpoints
    ("bench", ("bench", "bench.*", "evaluate")),
    # commands: what a user runs (rgv, SLURM scripts, python -m entry points)
    ("entry", ("cli", "slurm", "*.__main__")),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}
# the same layer of `train` and `bench`, for the order: neither is below the other
RANK["bench"] = RANK["train"]


def module_files() -> dict[str, Path]:
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def layer_of(module: str) -> str | None:
    short = module.removeprefix("rg_verifiers").removeprefix(".")
    for name, patterns in LAYERS:
        if any(fnmatch.fnmatchcase(short, p) for p in patterns):
            return name
    return None


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported rg_verifiers module: first line}, from every import statement anywhere in
    the file (functions, TYPE_CHECKING blocks), relative imports resolved, `from pkg import submodule`
    counted as importing the submodule."""
    mods = module_files()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for module, path in mods.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        edges = graph.setdefault(module, {})
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [known(a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [known(f"{source}.{a.name}") or known(source) for a in node.names]
            for target in targets:
                if target and target != module:
                    edges.setdefault(target, node.lineno)
    return graph


def test_every_module_has_a_layer():
    missing = [m for m in module_files() if layer_of(m) is None]
    assert not missing, f"add these modules to LAYERS in {__file__}: {missing}"


def test_no_import_points_to_a_higher_or_sibling_layer():
    graph = import_graph()
    bad = []
    for module, edges in graph.items():
        mine = layer_of(module)
        for target, line in edges.items():
            theirs = layer_of(target)
            if theirs == mine:
                continue
            if RANK[theirs] >= RANK[mine]:  # upward, or across the train/bench siblings
                bad.append(f"{module} ({mine}) -> {target} ({theirs}) at {module_files()[module].name}:{line}")
    assert not bad, "imports that point upward:\n" + "\n".join(bad)


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, {})):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checks_see_what_they_check():
    """The graph holds the edges the checks rely on (a parser that read nothing would pass them)."""
    graph = import_graph()
    assert "rg_verifiers.reasoning_vocab" in graph["rg_verifiers.env"]  # a function-level import
    assert "rg_verifiers.config.loader" in graph["rg_verifiers.train.run"]  # a relative `from ..config.loader`
    assert "rg_verifiers.bench.runner" in graph["rg_verifiers.cli"]
    assert layer_of("rg_verifiers.reasoning_vocab.__main__") == "entry"


FRESH = """
import json, sys
import rg_verifiers.env
for name in {core}:
    __import__(name)
import rg_composite, rg_leg_counting
env = rg_leg_counting.load_environment(num_eval_examples=2, num_train_examples=2)
assert len(env.eval_dataset) == 2
print(json.dumps(sorted(m for m in sys.modules if m == "rg_verifiers" or m.startswith("rg_verifiers."))))
"""


def test_an_environment_package_loads_nothing_above_the_core():
    # the verifiers 0.4 adapter imports under verifiers 0.4 only; tests/test_v1.py makes the same check there
    core = sorted(m for m in module_files() if layer_of(m) == "core" and m != "rg_verifiers.taskset")
    done = subprocess.run([sys.executable, "-c", FRESH.format(core=core)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "rg_verifiers.env" in loaded and "rg_verifiers.scoring" in loaded
    above = {m: layer_of(m) for m in loaded if layer_of(m) != "core"}
    assert not above, f"an environment package loaded modules above the core: {above}"
    for name in ("train", "bench", "cli", "results", "plotting", "report", "curves", "slurm", "config"):
        assert not any(m == f"rg_verifiers.{name}" or m.startswith(f"rg_verifiers.{name}.") for m in loaded), name
