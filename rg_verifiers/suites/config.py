"""reasoning-gym eval configs (`eval/yaml/*.yaml` in reasoning-gym): read, validated, one line per mistake.

The format, as reasoning-gym's `eval_config.py` reads it: top-level `default_size` (500),
`default_seed` (none), `system_prompt` or `system_prompt_id` (else SYSTEM_PROMPTS["default"]),
sampling keys (`max_tokens`, `temperature`, `top_p`, `completions_per_prompt`), and `categories`:
a list of `{category, datasets: [{dataset, size?, seed?, params?: {...}, <other keys>...}]}` where
keys other than dataset/size/seed are task params too. Model and provider keys are ignored here:
`rgv bench` takes models from its own flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from ..errors import RGVError, did_you_mean

SUITE_NAMES = ("rg-easy", "rg-hard")
DEFAULT_SIZE = 500  # reasoning-gym's eval_config defaults
TOP_KEYS = {"default_size", "default_seed", "system_prompt", "system_prompt_id", "system_role", "categories",
            "max_tokens", "temperature", "top_p", "completions_per_prompt",
            # run settings of reasoning-gym's eval.py that do not change the items
            "model", "provider", "output_dir", "max_concurrent", "save_metadata", "save_full_results"}


@dataclass(frozen=True)
class SuiteTask:
    category: str
    name: str
    seed: Optional[int]
    size: int
    params: dict = field(default_factory=dict)

    def rg_items(self) -> dict:
        """The environment argument of reasoning-gym items mode for this task."""
        return {"seed": self.seed, "size": self.size}


@dataclass
class Suite:
    name: str  # rg-easy, rg-hard, or the file's path
    source: str  # where it was read from
    tasks: list[SuiteTask]
    system_prompt: str
    system_prompt_id: Optional[str] = None
    sampling: dict = field(default_factory=dict)  # what the file asks of generation (caveats only)

    @property
    def categories(self) -> dict[str, str]:
        return {t.name: t.category for t in self.tasks}

    def select(self, names: list[str]) -> "Suite":
        known = [t.name for t in self.tasks]
        for n in names:
            if n not in known:
                raise RGVError(f"task {n!r} is not in suite {self.name}{did_you_mean(n, known)}")
        keep = [t for t in self.tasks if t.name in set(names)]
        return Suite(self.name, self.source, keep, self.system_prompt, self.system_prompt_id, dict(self.sampling))


def suite_file(name: str) -> Path:
    return Path(str(resources.files("rg_verifiers.suites") / "data" / f"{name}.yaml"))


def rg_system_prompt(prompt_id: Optional[str] = None) -> str:
    from reasoning_gym.utils import SYSTEM_PROMPTS

    if prompt_id is None:
        return SYSTEM_PROMPTS["default"]
    if prompt_id not in SYSTEM_PROMPTS:
        raise RGVError(f"unknown system_prompt_id {prompt_id!r}{did_you_mean(prompt_id, list(SYSTEM_PROMPTS))} "
                       f"(reasoning-gym's SYSTEM_PROMPTS: {', '.join(SYSTEM_PROMPTS)})")
    return SYSTEM_PROMPTS[prompt_id]


def load_suite(name_or_path: str | Path) -> Suite:
    """`rg-easy`, `rg-hard`, or a path to a config in reasoning-gym's eval format (YAML or JSON)."""
    text = str(name_or_path)
    if text in SUITE_NAMES:
        path, name = suite_file(text), text
    else:
        path, name = Path(text).expanduser(), text
        if not path.is_file():
            hint = did_you_mean(text, SUITE_NAMES)
            raise RGVError(f"no suite {text!r}: give rg-easy, rg-hard or the path of a reasoning-gym eval config{hint}")
    raw = _read(path)
    return parse_suite(raw, name, str(path))


def _read(path: Path) -> dict:
    import json

    import yaml

    try:
        body = path.read_text(encoding="utf-8")
        data = json.loads(body) if path.suffix == ".json" else yaml.safe_load(body)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise RGVError(f"cannot read suite {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise RGVError(f"suite {path} must be a mapping with categories: (reasoning-gym's eval config format)")
    return data


def parse_suite(raw: dict, name: str, source: str) -> Suite:
    from ..tasks import task_names

    for key in raw:
        if key not in TOP_KEYS:
            raise RGVError(f"suite {source}: unknown key {key!r}{did_you_mean(str(key), sorted(TOP_KEYS))}")
    size = _int(raw.get("default_size", DEFAULT_SIZE), "default_size", source, 1)
    seed = raw.get("default_seed")
    seed = None if seed is None else _int(seed, "default_seed", source, 0)
    cats = raw.get("categories")
    if not isinstance(cats, list) or not cats:
        raise RGVError(f"suite {source}: categories must be a non-empty list of {{category, datasets}}")
    known, tasks, seen = task_names(), [], set()
    for cat in cats:
        if not isinstance(cat, dict) or not isinstance(cat.get("category"), str) or not isinstance(cat.get("datasets"), list):
            raise RGVError(f"suite {source}: each category needs 'category' (a name) and 'datasets' (a list), got {cat!r}")
        for ds in cat["datasets"]:
            if isinstance(ds, str):
                ds = {"dataset": ds}
            if not isinstance(ds, dict) or not isinstance(ds.get("dataset"), str):
                raise RGVError(f"suite {source}: category {cat['category']!r}: each dataset needs 'dataset' (a task name), got {ds!r}")
            task = ds["dataset"]
            if task not in known:
                raise RGVError(f"suite {source}: unknown reasoning-gym task {task!r}{did_you_mean(task, known)}")
            if task in seen:
                raise RGVError(f"suite {source}: task {task!r} appears twice")
            seen.add(task)
            params: dict[str, Any] = {}
            for k, v in ds.items():  # as reasoning-gym reads it: params flattened, other keys are params too
                if k in ("dataset", "size", "seed"):
                    continue
                if k == "params":
                    if not isinstance(v, dict):
                        raise RGVError(f"suite {source}: {task}: params must be a mapping, got {v!r}")
                    params.update(v)
                else:
                    params[k] = v
            t_seed = ds.get("seed", seed)
            tasks.append(SuiteTask(cat["category"], task, None if t_seed is None else _int(t_seed, f"{task}.seed", source, 0),
                                   _int(ds.get("size", size), f"{task}.size", source, 1), params))
    prompt_id = raw.get("system_prompt_id")
    prompt = raw.get("system_prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise RGVError(f"suite {source}: system_prompt must be a string")
    sampling = {k: raw[k] for k in ("max_tokens", "temperature", "top_p", "completions_per_prompt") if k in raw}
    return Suite(name, source, tasks, prompt if prompt is not None else rg_system_prompt(prompt_id), prompt_id, sampling)


def _int(value: Any, what: str, source: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RGVError(f"suite {source}: {what} must be an integer >= {minimum}, got {value!r}")
    return value
