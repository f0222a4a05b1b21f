"""What a benchmark runs: models x tasks and the sampling settings, from CLI flags and/or YAML.

A model string is one of
- `embedded` (or the SmolLM2 HF id) / `path/to/model.gguf`: llama.cpp CPU server (`serve.served`);
- `NAME=http://host:port/v1`: an endpoint that is already running. NAME is a label (results,
  file names, charts); the model name sent is NAME if the endpoint serves a model of that name,
  else the one model it serves (GET /models). `NAME=MODEL@http://...` names the model outright
  (an endpoint serving several models);
- a Hugging Face id or a local checkpoint folder: vLLM on local GPUs (`bench.servers`);
  a folder with `adapter_config.json` is a LoRA adapter served on its base model. On a machine
  that cannot run vLLM (no GPU, or no vLLM), a local folder is served on CPU instead, like
  `rgv eval -m DIR`: exported to GGUF f32 (an adapter merged into its base first) and served by
  llama.cpp (kind `checkpoint`); a hub id still needs a GPU or an endpoint.
Everything is validated here, before any environment, server or request exists, so a typo
costs one line and no waiting.
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from ..embedded import EMBEDDED_NAME, is_embedded
from ..errors import RGVError, did_you_mean
from ..generation import GenerationSettings

LOCAL_KINDS = ("hf", "lora")  # served by vLLM on this machine's GPUs


@dataclass(frozen=True)
class ModelSpec:
    label: str  # name in results, file names and charts (as given; NAME of NAME=URL)
    kind: str  # embedded | gguf | checkpoint | endpoint | hf | lora
    target: Optional[str] = None  # gguf path, HF id / checkpoint dir (hf, checkpoint), the LoRA base model, MODEL of NAME=MODEL@URL
    base_url: Optional[str] = None  # endpoint only
    lora_path: Optional[str] = None
    lora_rank: Optional[int] = None

    @property
    def needs_gpu(self) -> bool:
        return self.kind in LOCAL_KINDS

    @property
    def request_name(self) -> str:
        """The `model` field of each request (what the server knows the model as)."""
        if self.kind == "lora":
            return lora_module_name(self.lora_path or self.label)
        return self.target or self.label


@dataclass(frozen=True)
class BenchTask:
    name: str
    config: Optional[dict] = None
    difficulty: Optional[int] = None
    # a suite's task (`--suite`): reasoning-gym items mode {"seed", "size"}, its category and system prompt
    rg_items: Optional[dict] = None
    category: Optional[str] = None
    system_prompt: Optional[str] = None

    def describe(self) -> dict:
        out = {"name": self.name, "config": self.config, "difficulty": self.difficulty}
        if self.rg_items is not None:
            out.update(rg_items=self.rg_items, category=self.category)
        return out

    def env_args(self, seed: int) -> dict:
        """The environment arguments that build this task's items (as vf-eval -a would pass them)."""
        if self.rg_items is not None:
            return {"config": self.config, "rg_items": self.rg_items, "system_prompt": self.system_prompt}
        return {"config": self.config, "difficulty": self.difficulty, "seed": seed}


@dataclass
class BenchSpec:
    models: list[ModelSpec]
    tasks: list[BenchTask]
    n: int = 100
    rollouts: int = 1
    gpus: Optional[int] = None  # None: every visible GPU (only matters for local HF models)
    tensor_parallel: int = 1
    output_dir: Path = Path("benchmark_results")
    resume: bool = False
    max_concurrent: int = 32  # requests in flight per server/endpoint
    max_tokens: Optional[int] = None  # None: rg_verifiers.generation's defaults, as for rgv eval and vf-eval
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    seed: int = 0  # the eval items' seed and the base of the per-request sampling seeds
    plot: bool = True
    server_timeout: float = 900.0  # vLLM start-up (loading a 70B model takes minutes)
    request_timeout: float = 600.0
    api_key_var: str = "OPENAI_API_KEY"
    shard: Optional[tuple[int, int]] = None  # (index, count): run only that share of the pairs (SLURM arrays)
    suite: Optional[str] = None  # rg-easy | rg-hard | a reasoning-gym eval config: its tasks, items and prompt

    @property
    def generation(self) -> GenerationSettings:
        return GenerationSettings.resolve(self.max_tokens, self.temperature, self.top_p, self.seed, self.rollouts)

    @property
    def sampling_temperature(self) -> float:
        return self.generation.temperature

    def describe(self) -> dict:
        """The run's settings, stored in every results file."""
        gen = self.generation
        out = {
            "models": [m.label for m in self.models],
            "tasks": [t.describe() for t in self.tasks],
            "n": self.n, "rollouts": self.rollouts, "seed": self.seed,
            "max_tokens": gen.max_tokens, "temperature": gen.temperature, "top_p": gen.top_p,
            "generation": gen.as_dict(),
            "max_concurrent": self.max_concurrent, "tensor_parallel": self.tensor_parallel,
        }
        if self.shard is not None:
            out["shard"] = f"{self.shard[0]}/{self.shard[1]}"
        if self.suite is not None:
            out["suite"] = self.suite
        return out

    def pairs(self) -> list[tuple[ModelSpec, BenchTask]]:
        """The (model, task) pairs this run does: all of them, or its shard's."""
        grid = [(m, t) for m in self.models for t in self.tasks]
        if self.shard is None:
            return grid
        mine = set(shard_pairs([m.label for m in self.models], [t.name for t in self.tasks], *self.shard))
        return [(m, t) for m, t in grid if (m.label, t.name) in mine]


# ---------------------------------------------------------------------------------------------
# shards (one SLURM array task each, all writing into one output folder)


def parse_shard(text: Any) -> tuple[int, int]:
    """'I/K' (0-based I) -> (I, K)."""
    if isinstance(text, (tuple, list)) and len(text) == 2:
        text = f"{text[0]}/{text[1]}"
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise RGVError(f"shard must be I/K with 0 <= I < K, e.g. 0/4, got {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or index >= count:
        raise RGVError(f"shard {text!r}: need 0 <= I < K and K >= 1")
    return index, count


def shard_pairs(models: Sequence[str], tasks: Sequence[str], index: int, count: int) -> list[tuple[str, str]]:
    """Shard `index` of `count` of the (model, task) pairs: a contiguous block of the sorted list.

    Sorted, so every array task computes the same split whatever order the names were given in;
    contiguous (model-major) rather than round-robin, so a shard holds few models and a node loads
    each of its vLLM models once instead of every node loading every model. Blocks differ in size
    by at most one pair; the K blocks are disjoint and cover every pair.
    """
    pairs = sorted((m, t) for m in models for t in tasks)
    if count > len(pairs):
        raise RGVError(f"shard {index}/{count}: only {len(pairs)} (model, task) pairs, so at most {len(pairs)} shards")
    return pairs[index * len(pairs) // count:(index + 1) * len(pairs) // count]


# ---------------------------------------------------------------------------------------------
# models


def lora_module_name(path: str) -> str:
    """vLLM's --lora-modules wants NAME=PATH with a plain NAME; requests then use NAME."""
    parts = [p for p in Path(path).parts if p not in ("/", ".")]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts[-2:])) or "lora"


def _valid_url(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def parse_model(text: str) -> ModelSpec:
    text = str(text).strip()
    if not text:
        raise RGVError("empty model name in --models")
    if "=" in text:
        name, url = (s.strip() for s in text.split("=", 1))
        served = None
        m = re.fullmatch(r"(.+?)@(https?://.*)", url)
        if m:
            served, url = m.group(1).strip(), m.group(2)
        if not name or not _valid_url(url):
            raise RGVError(f"model {text!r}: expected NAME=URL or NAME=MODEL@URL with an http(s) URL, "
                           f"e.g. gold=http://127.0.0.1:8000/v1")
        return ModelSpec(label=name, kind="endpoint", target=served or None, base_url=url.rstrip("/"))
    if is_embedded(text):
        return ModelSpec(label=EMBEDDED_NAME, kind="embedded", target=EMBEDDED_NAME)
    path = Path(text).expanduser()
    if text.endswith(".gguf"):
        if not path.is_file():
            raise RGVError(f"no such GGUF file: {text}")
        return ModelSpec(label=text, kind="gguf", target=str(path))
    if path.is_dir():
        adapter = path / "adapter_config.json"
        if adapter.is_file():
            return _lora_spec(text, path, adapter)
        if not (path / "config.json").is_file():
            raise RGVError(f"{text} is a folder but not a model checkpoint (no config.json or adapter_config.json)")
        return ModelSpec(label=text, kind="hf", target=str(path.resolve()))
    if text.startswith(("/", "./", "../", "~")) or text.count("/") > 1:
        raise RGVError(f"no such model folder: {text} (HF ids look like org/name)")
    return ModelSpec(label=text, kind="hf", target=text)


def _lora_spec(text: str, path: Path, adapter: Path) -> ModelSpec:
    try:
        cfg = json.loads(adapter.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RGVError(f"cannot read {adapter}: {exc}") from None
    base = cfg.get("base_model_name_or_path")
    if not base:
        raise RGVError(f"{adapter} has no base_model_name_or_path; cannot tell which model the adapter belongs to")
    rank = cfg.get("r")
    return ModelSpec(label=text, kind="lora", target=str(base), lora_path=str(path.resolve()),
                     lora_rank=int(rank) if isinstance(rank, int) else None)


def local_folder(m: ModelSpec) -> Optional[str]:
    """The checkpoint or adapter folder of a local model spec; None for a hub id."""
    if m.kind == "lora":
        return m.lora_path
    if m.kind == "hf" and m.target and Path(m.target).is_dir():
        return m.target
    return None


def place_checkpoints(models: list[ModelSpec]) -> list[ModelSpec]:
    """Local checkpoint folders go to the llama.cpp CPU server where vLLM cannot run, checked now
    (config, architecture, an adapter's base model) so a bad folder costs one line, not a wait."""
    if not any(local_folder(m) for m in models):
        return models
    from ..reasoning_vocab import refuse_served_reasoning_vocab

    for m in models:  # vLLM and llama.cpp alike would score it on text without its reasoning tokens
        if local_folder(m):
            refuse_served_reasoning_vocab(local_folder(m))
    from .local_gpu import local_serving_problem

    if local_serving_problem() is None:
        return models
    from ..export import inspect_checkpoint

    out = []
    for m in models:
        folder = local_folder(m)
        if folder:
            inspect_checkpoint(folder)
            m = ModelSpec(label=m.label, kind="checkpoint", target=folder)
        out.append(m)
    return out


# ---------------------------------------------------------------------------------------------
# tasks


def parse_task(item: Any) -> BenchTask:
    from ..tasks import resolve_task

    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or "name" not in item:
        raise RGVError(f"a task is a name or a mapping with 'name' (and optional 'config', 'difficulty'), got {item!r}")
    unknown = set(item) - {"name", "config", "difficulty"}
    if unknown:
        key = sorted(unknown)[0]
        raise RGVError(f"unknown task key {key!r}{did_you_mean(key, ['name', 'config', 'difficulty'])}")
    name = str(item["name"]).strip().replace("-", "_").removeprefix("rg_")
    config, difficulty = item.get("config"), item.get("difficulty")
    if config is not None and not isinstance(config, dict):
        raise RGVError(f"task {name!r}: config must be a mapping of config fields, got {config!r}")
    if difficulty is not None and (not isinstance(difficulty, int) or isinstance(difficulty, bool)):
        raise RGVError(f"task {name!r}: difficulty must be an integer level, got {difficulty!r}")
    return BenchTask(resolve_task(name), config or None, difficulty)


def suite_tasks(suite: str, names: Sequence) -> list[BenchTask]:
    """A suite's tasks (all, or those named): reasoning-gym items of its seed and size, its params."""
    from ..suites import load_suite

    s = load_suite(suite)
    if names:
        s = s.select([str(n).strip().replace("-", "_").removeprefix("rg_") for n in names])
    for t in s.tasks:
        if t.seed is None:
            raise RGVError(f"suite {suite}: {t.name} has no seed (reasoning-gym would draw random items); "
                           f"set default_seed or the dataset's seed")
    return [BenchTask(t.name, dict(t.params) or None, None, t.rg_items(), t.category, s.system_prompt) for t in s.tasks]


# ---------------------------------------------------------------------------------------------
# CLI + YAML


_ALIASES = {"num_examples": "n", "num_eval_examples": "n", "rollouts_per_example": "rollouts", "r": "rollouts"}
_KEYS = [f.name for f in dataclasses.fields(BenchSpec)]


def split_csv(values: Any) -> list:
    """["a b", "c,d"] or "a,b" -> ["a", "b", "c", "d"]; `rgv slurm bench` passes one comma list."""
    if values is None:
        return []
    if isinstance(values, (str, dict)):
        values = [values]
    out = []
    for v in values:
        out += [s.strip() for s in v.split(",") if s.strip()] if isinstance(v, str) else [v]
    return out


def read_yaml(path: str | Path) -> dict:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise RGVError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise RGVError(f"{p} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise RGVError(f"{p} must be a YAML mapping (models:, tasks:, n:, ...)")
    return data


def _normalize_keys(raw: dict, where: str) -> dict:
    out = {}
    for key, value in raw.items():
        k = _ALIASES.get(str(key).replace("-", "_"), str(key).replace("-", "_"))
        if k not in _KEYS:
            raise RGVError(f"{where}: unknown key {key!r}{did_you_mean(k, _KEYS)}")
        out[k] = value
    return out


def _model_strings(values: Sequence) -> list[str]:
    out = []
    for v in values:
        if isinstance(v, dict):  # YAML: {name: gold, url: http://..., model: served-name} or {model: path}
            if "url" in v:
                served = f"{v['model']}@" if v.get("model") else ""
                out.append(f"{v.get('name', '')}={served}{v['url']}")
            elif "model" in v or "name" in v:
                out.append(str(v.get("model") or v.get("name")))
            else:
                raise RGVError(f"a model mapping needs 'name' and 'url', or 'model'; got {v!r}")
        else:
            out.append(str(v))
    return out


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RGVError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def build_spec(cli: dict, config_file: Optional[str | Path] = None) -> BenchSpec:
    """Merge the YAML file (if any) with CLI values; CLI values that are not None win."""
    merged = _normalize_keys(read_yaml(config_file), str(config_file)) if config_file else {}
    merged.update({k: v for k, v in _normalize_keys(cli, "options").items() if v is not None and v != []})
    models = [parse_model(m) for m in _model_strings(split_csv(merged.pop("models", None)))]
    if merged.get("suite") is not None:
        tasks = suite_tasks(str(merged["suite"]), split_csv(merged.pop("tasks", None)))
        merged.setdefault("n", max(t.rg_items["size"] for t in tasks))
    else:
        tasks = [parse_task(t) for t in split_csv(merged.pop("tasks", None))]
    if not models:
        raise RGVError("no models: pass --models (e.g. --models embedded, or NAME=http://host:port/v1) or put models: in --config")
    if not tasks:
        raise RGVError("no tasks: pass --tasks (e.g. --tasks leg_counting basic_arithmetic) or put tasks: in --config")
    for what, names in (("model", [m.label for m in models]), ("task", [t.name for t in tasks])):
        dupes = sorted({x for x in names if names.count(x) > 1})
        if dupes:
            raise RGVError(f"each {what} may appear once; repeated: {', '.join(dupes)}")
    spec = BenchSpec(models=models, tasks=tasks, **merged)
    spec.n = _int("n", spec.n, 1)
    spec.rollouts = _int("rollouts", spec.rollouts, 1)
    spec.max_concurrent = _int("max_concurrent", spec.max_concurrent, 1)
    if spec.max_tokens is not None:
        spec.max_tokens = _int("max_tokens", spec.max_tokens, 1)
    spec.tensor_parallel = _int("tensor_parallel", spec.tensor_parallel, 1)
    spec.seed = _int("seed", spec.seed, 0)
    if spec.gpus is not None:
        spec.gpus = _int("gpus", spec.gpus, 1)
    spec.generation  # noqa: B018 -- validates temperature and top_p (one line if not)
    spec.output_dir = Path(spec.output_dir)
    spec.models = place_checkpoints(spec.models)
    if spec.shard is not None:
        spec.shard = parse_shard(spec.shard)
        shard_pairs([m.label for m in models], [t.name for t in tasks], *spec.shard)  # K <= pairs, one line if not
    return spec
