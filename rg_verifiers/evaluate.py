"""Evaluate any verifiers environment against an OpenAI-compatible endpoint (`rgv eval`).

The path of `vf-eval -s`: `env.evaluate(..., save_results=True)` writes a vf-eval results folder
<output_dir>/evals/<env>--<model>/<id>/{results.jsonl, metadata.json}; metadata.json gains an
`rgv_provenance` object (rg_verifiers.provenance) and stays loadable by verifiers' own tools.

Works with every verifiers version the environments declare (0.1.6 to 0.3.x), deciding by what
the installed verifiers has rather than by version numbers: before 0.1.14 evaluate() takes an
AsyncOpenAI client, later a ClientConfig; from 0.1.9 it saves the folder itself when given
`results_path` and `save_results=True`, before that `eval_utils.save_results` does (as vf-eval).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import logging
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .compat import VERIFIERS_V1
from .errors import RGVError, did_you_mean
from .generation import SAMPLING_KEY, GenerationSettings

# rg environments record these per rollout; saving them gives the tokens and latency columns
STATE_COLUMNS = ["completion_tokens", "latency_s"]


@dataclass
class EvalRun:
    path: Path
    rows: list[dict] = field(default_factory=list)
    errors: int = 0
    first_error: Optional[str] = None

    @property
    def n(self) -> int:
        return len(self.rows)


def quiet_progress_unless_terminal() -> None:
    """verifiers' tqdm bar (count, ETA) is for terminals; in logs it is noise. tqdm reads
    TQDM_* defaults once, when first imported, so this runs before anything imports it."""
    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")


def resolve_env_id(name: str) -> str:
    """`leg_counting`, `leg-counting`, `rg_leg_counting`, `rg-leg-counting` -> `rg-leg-counting`;
    the id of any other installed verifiers environment is kept."""
    from .tasks import all_task_names, env_id_for, resolve_task

    key = name.strip().split("/")[-1]
    if key in ("rg-composite", "rg_composite", "composite"):
        return "rg-composite"
    bare = key[3:] if key.startswith(("rg-", "rg_")) else key
    names = all_task_names()  # reasoning-gym's and the math datasets (`math` is not the stdlib module here)
    if bare.replace("-", "_") in names:
        return env_id_for(bare.replace("-", "_"))
    if key.startswith(("rg-", "rg_")):
        resolve_task(bare.replace("-", "_"))  # unknown: one line with the close matches
    with contextlib.suppress(ImportError, ValueError):
        if importlib.util.find_spec(key.replace("-", "_")) is not None:
            return name
    raise RGVError(f"unknown task or environment {name!r}{did_you_mean(bare.replace('-', '_'), names)} "
                   f"(`rgv tasks` lists the tasks; another verifiers environment must be installed first)")


def _user_error(exc: BaseException) -> Optional[RGVError]:
    seen = set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, RGVError):
            return e
        e = e.__cause__ or e.__context__
    return None


def load_env(env_id: str, env_args: Optional[dict] = None):
    """The environment, or one line saying why it cannot be built (bad argument, not installed)."""
    import verifiers as vf

    log = logging.getLogger("verifiers")
    # verifiers logs every failed load at ERROR before re-raising; the one line below says it
    log.setLevel(logging.CRITICAL)
    try:
        env = vf.load_environment(env_id, **(env_args or {}))
    except Exception as exc:
        user = _user_error(exc)
        if user is not None:
            raise RGVError(str(user)) from None
        if isinstance(exc, ImportError) or isinstance(exc.__cause__, ImportError) or "Could not import" in str(exc):
            raise RGVError(f"environment {env_id!r} is not installed (pip install {env_id}, or run ./setup.sh)") from None
        if isinstance(exc.__cause__, TypeError):  # e.g. an argument the environment does not take
            raise RGVError(f"{env_id}: {exc.__cause__}") from None
        raise
    finally:
        log.setLevel(os.environ.get("VF_LOG_LEVEL", "WARNING"))
    if env is None:
        raise RGVError(f"environment {env_id!r} is not installed (pip install {env_id}, or run ./setup.sh)")
    return env


def check_env_args_v1(env_id: str, env_args: dict) -> None:
    """Under verifiers 0.4: the package's TasksetConfig validates the arguments (the same checks
    and one-line errors as load_environment); building the items checks the task config."""
    if not env_id.startswith("rg-"):
        raise RGVError(f"rgv eval runs rg-* environments under verifiers 0.4; for {env_id!r} use vf-eval")
    from .splits import splits_for

    splits_for(env_id, env_args)


def _client(base_url: str, api_key_var: str):
    # verifiers 0.1.14+ (and 0.3.x's legacy API) resolve their own client from a ClientConfig
    if importlib.util.find_spec("verifiers.clients") is not None:
        from verifiers.types import ClientConfig

        return ClientConfig(api_key_var=api_key_var, api_base_url=base_url, max_retries=3, timeout=3600.0)
    from openai import AsyncOpenAI

    return AsyncOpenAI(base_url=base_url, api_key=os.environ.get(api_key_var) or "EMPTY", max_retries=3, timeout=3600)


def results_dir(output_dir: str | Path, env_id: str, model: str) -> Path:
    """vf-eval's layout: <output_dir>/evals/<env>--<model with / as -->/<8 hex>."""
    return Path(output_dir) / "evals" / f"{env_id}--{model.replace('/', '--')}" / uuid.uuid4().hex[:8]


def is_error(value: Any) -> bool:
    """A saved rollout's `error`: None, or "None" as some verifiers versions write it, means none."""
    return bool(value) and value not in ("None", "null")


def run_eval(env, env_id: str, model: str, base_url: str, *, generation: GenerationSettings, provenance: dict,
             num_examples: int = 20, rollouts_per_example: int = 1, max_concurrent: int = 8,
             output_dir: str | Path = "outputs", api_key_var: str = "OPENAI_API_KEY") -> EvalRun:
    import asyncio
    import inspect

    import verifiers as vf

    from .env import RGEnv

    path = results_dir(output_dir, env_id, model)
    kwargs: dict[str, Any] = dict(client=_client(base_url, api_key_var), model=model,
                                  sampling_args=generation.sampling_args(), num_examples=num_examples,
                                  rollouts_per_example=rollouts_per_example, max_concurrent=max_concurrent,
                                  results_path=path)
    # older versions' evaluate() does not save (their vf-eval calls eval_utils.save_results afterwards)
    saves = "save_results" in inspect.signature(vf.Environment.evaluate).parameters
    if saves:
        kwargs["save_results"] = True
    if isinstance(env, RGEnv) and "state" in inspect.signature(vf.Environment.get_model_response).parameters:
        kwargs["state_columns"] = list(STATE_COLUMNS)  # the rollout state where these are recorded
    if not isinstance(env, RGEnv):  # another environment sends sampling_args as they are: one seed, no settings key
        kwargs["sampling_args"].pop(SAMPLING_KEY)
    results = asyncio.run(env.evaluate(**kwargs))
    if not saves:
        from verifiers.utils import eval_utils

        eval_utils.save_results(results)
    if not (path / "metadata.json").is_file() or not (path / "results.jsonl").is_file():
        raise RGVError(f"verifiers wrote no results to {path}")
    from .provenance import stamp

    stamp(path / "metadata.json", provenance, key="rgv_provenance")
    rows = [json.loads(line) for line in (path / "results.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    if rows and getattr(env, "rgv_usage", None) and not any(c in rows[0] for c in STATE_COLUMNS):
        _add_state_columns(path / "results.jsonl", rows, env.rgv_usage)
    failed = [r for r in rows if is_error(r.get("error"))]
    first = getattr(env, "rgv_first_error", None) or (str(failed[0]["error"]) if failed else None)
    return EvalRun(path, rows, len(failed), first)


def run_eval_v1(env_id: str, model: str, base_url: str, *, env_args: dict, generation: GenerationSettings,
                provenance: dict, num_examples: int = 20, rollouts_per_example: int = 1, max_concurrent: int = 8,
                output_dir: str | Path = "outputs", api_key_var: str = "OPENAI_API_KEY") -> EvalRun:
    """The same evaluation under verifiers 0.4: its own vf-eval, in-process, on the package's v1
    taskset (rg_verifiers.taskset), with our generation settings as the run's sampling. The run folder
    (traces.jsonl, configs/) sits where the 0.1.x results would: outputs/evals/<env>--<model>/<id>/."""
    import tomli_w
    from verifiers.v1.cli.eval.main import main as vf_eval_main

    from .provenance import write_json_atomic
    from .traces import iter_rows

    folder = results_dir(output_dir, env_id, model)
    folder.parent.mkdir(parents=True, exist_ok=True)
    sampling = {"max_tokens": generation.max_tokens, "temperature": generation.temperature, "top_p": generation.top_p}
    config = {
        "model": model, "num_rollouts": rollouts_per_example, "max_concurrent": max_concurrent, "push": False,
        "output_dir": str(folder.parent), "run": {"name": folder.name},
        "client": {"base_url": base_url, "api_key_var": api_key_var}, "select": {"limit": num_examples},
        "sampling": sampling,
        "env": {"taskset": {"id": env_id, **{k: v for k, v in env_args.items() if v is not None}}},
    }
    toml = folder.parent / f".{folder.name}.toml"
    toml.write_text(tomli_w.dumps(config), encoding="utf-8")
    log = folder.parent / f".{folder.name}.out"
    try:  # vf-eval prints each trace; our report below says what matters
        with open(log, "w", encoding="utf-8") as out, contextlib.redirect_stdout(out):
            vf_eval_main(["@", str(toml), "--no-rich"])
    except SystemExit as exc:
        if exc.code not in (None, 0):
            tail = " ".join(log.read_text(encoding="utf-8", errors="replace").split()[-40:])
            raise RGVError(f"verifiers' vf-eval stopped ({exc.code}): {tail[-300:]}") from None
    finally:
        toml.unlink(missing_ok=True)
        if folder.is_dir() and log.exists():
            os.replace(log, folder / "logs" / "vf-eval.out" if (folder / "logs").is_dir() else folder / "vf-eval.out")
    if not (folder / "traces.jsonl").is_file():
        raise RGVError(f"verifiers wrote no traces to {folder}")
    write_json_atomic({"rgv_provenance": dict(provenance)}, folder / "rgv_provenance.json")
    rows = [row for _, row in iter_rows(folder)]
    failed = [r for r in rows if is_error(r.get("error"))]
    return EvalRun(folder, rows, len(failed), str(failed[0]["error"]) if failed else None)


def _add_state_columns(path: Path, rows: list[dict], usage: dict) -> None:
    """verifiers before 0.1.9 pass the environment no rollout state, so the columns other versions
    save from it are recorded per request and written into the rows here, matched by example id and
    completion text (concurrent rollouts of one item finish in any order)."""
    left = dict(usage)
    for row in rows:
        text = _text(row.get("completion"))
        key = next((k for k, u in left.items() if k[0] == row.get("example_id") and u.get("text") == text), None)
        cols = left.pop(key) if key is not None else {}
        row.update({c: cols.get(c) for c in STATE_COLUMNS})
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, path)


def _text(messages: Any) -> str:
    if isinstance(messages, str):
        return messages
    if isinstance(messages, list) and messages:
        last = messages[-1]
        content = last.get("content") if isinstance(last, dict) else None
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content or ""
    return ""


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit} more characters]"


def print_samples(run: EvalRun, console, k: int = 3) -> None:
    """A few rollouts as vf-eval prints them: the question, the completion, the score."""
    from rich.text import Text

    for i, row in enumerate(run.rows[:k]):
        metrics = {**(row.get("metrics") or {}), **row}
        head = f"sample {i + 1}/{run.n} · example {row.get('example_id', i)} · reward {float(row.get('reward') or 0):.2f}"
        if metrics.get("parse_failure"):
            head += " · no <answer> tag"
        if is_error(row.get("error")):
            head += f" · error {row['error']}"
        console.rule(Text(head), align="left")
        prompt = row.get("prompt")
        question = next((m.get("content", "") for m in reversed(prompt) if isinstance(m, dict) and m.get("role") == "user"), "") \
            if isinstance(prompt, list) else str(prompt or "")
        console.print(Text.assemble(("question: ", "bold"), _clip(str(question), 300)))
        console.print(Text.assemble(("completion: ", "bold"), _clip(_text(row.get("completion")), 600) or "(empty)"))


def _endpoint_model(base_url: str, model: Optional[str]) -> str:
    """The model to ask for: -m as given (checked against GET /models), or the only one served."""
    from .bench.endpoint import check_endpoint, served_models

    if model:
        check_endpoint(base_url, model)
        return model
    served = served_models(base_url)
    if served and len(served) == 1:
        return served[0]
    listing = f" (it serves: {', '.join(served[:8])})" if served else ""
    raise RGVError(f"-m/--model is required with -b/--base-url{listing}")


def eval_command(env_id: str, *, model: Optional[str], base_url: Optional[str], env_args: dict, num_examples: int,
                 rollouts: int, max_tokens: Optional[int], temperature: Optional[float], top_p: Optional[float],
                 seed: Optional[int], max_concurrent: int, output_dir: Path, api_key_var: str, samples: int,
                 console, err_console) -> int:
    """`rgv eval`: everything checked before the first request, failed requests never scored.

    Exit status: 0 when every rollout got a completion; 1 when some requests failed (they are
    saved as errors and left out of accuracy); 2 (one line) for bad input, an unreachable
    endpoint, or when every request failed.
    """
    from rich.text import Text

    from .provenance import collect, rg_env_args
    from .report import print_report
    from .serve import check_model, served

    quiet_progress_unless_terminal()
    for name, value in (("-n/--num-examples", num_examples), ("-r/--rollouts-per-example", rollouts),
                        ("-c/--max-concurrent", max_concurrent)):
        if value < 1:
            raise RGVError(f"{name} must be >= 1, got {value}")
    generation = GenerationSettings.resolve(max_tokens, temperature, top_p, ... if seed is None else seed, rollouts)
    if VERIFIERS_V1:  # 0.4's vf-eval sets sampling per run: one seed would make every rollout of an item alike
        if seed is not None:
            raise RGVError("--seed is not sent under verifiers 0.4 (sampling is set per run, not per request); leave it out")
        generation = dataclasses.replace(generation, seed=None)
    env_id = resolve_env_id(env_id)
    is_rg = env_id.startswith("rg-")
    args = dict(env_args)
    if is_rg:
        # build only the rows evaluated (the first n of a larger eval split are the same rows)
        args.setdefault("num_eval_examples", num_examples)
    if base_url is None:
        path_like = str(model).startswith(("/", "./", "../", "~")) or str(model).count("/") > 1 or Path(str(model)).exists()
        if not (path_like or str(model).endswith(".gguf") or model in (None, "embedded")):
            raise RGVError(f"model {model!r} needs an endpoint: pass -b <url> (start one with vf-vllm/vLLM), "
                           f"or give a .gguf file or a checkpoint folder")
        check_model(model)  # a bad checkpoint folder costs one line, before the environment is built
    # a bad argument or config field fails here, before any server starts
    env = load_env(env_id, args) if not VERIFIERS_V1 else check_env_args_v1(env_id, args)
    ctx = served(model) if base_url is None else contextlib.nullcontext(None)
    with ctx as server:
        url = server.base_url if server else base_url.rstrip("/")
        name = server.model if server else _endpoint_model(url, model)
        label = (model or "embedded") if server else name
        recorded_args = rg_env_args(args, num_examples) if is_rg else {**args, "num_examples": num_examples}
        provenance = collect(base_url=url, model=name, label=label, env_id=env_id, env_args=recorded_args,
                             generation=generation, served=server.info if server else None,
                             quantization=server.quantization if server else None)
        settings = " · ".join(f"{k} {v}" for k, v in generation.as_dict().items())
        err_console.print(Text(f"evaluating {name} on {env_id}: {num_examples} examples × {rollouts} rollouts ({settings})"),
                          soft_wrap=True)
        log = logging.getLogger("verifiers")
        # each failed rollout would log its own ERROR line; the summary below says it once
        log.setLevel(os.environ.get("VF_LOG_LEVEL", "CRITICAL"))
        if VERIFIERS_V1:
            run = run_eval_v1(env_id, name, url, env_args=args, generation=generation, provenance=provenance,
                              num_examples=num_examples, rollouts_per_example=rollouts, max_concurrent=max_concurrent,
                              output_dir=output_dir, api_key_var=api_key_var)
        else:
            run = run_eval(env, env_id, name, url, generation=generation, provenance=provenance,
                           num_examples=num_examples, rollouts_per_example=rollouts, max_concurrent=max_concurrent,
                           output_dir=output_dir, api_key_var=api_key_var)
    if run.n and run.errors == run.n:
        raise RGVError(f"all {run.n} requests to {url} failed ({run.first_error}); nothing was scored "
                       f"(the failed rows are in {run.path})")
    print_samples(run, console, samples)
    print_report([run.path], title=f"{env_id} — {label}")
    console.print(Text(f"results (vf-eval format): {run.path}"), soft_wrap=True)
    if run.errors:
        err_console.print(Text(f"warning: {run.errors} of {run.n} requests failed ({run.first_error}); they are saved "
                               f"as errors and left out of accuracy"), soft_wrap=True)
        return 1
    return 0
