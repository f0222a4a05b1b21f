"""`load_rg_environment`: the one constructor behind every rg-* environment package."""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import time
from typing import Any

import verifiers as vf
from datasets import Dataset

from .data import TaskSpec, build_split, to_prompt_rows
from .env_args import ENV_ARG_HELP, EnvArgs, env_arg_defaults  # noqa: F401 -- defined without verifiers (provenance, bench)
from .errors import RGVError, did_you_mean, install_excepthook
from .generation import SAMPLING_KEY, GenerationSettings, request_sampling_args, wants_max_completion_tokens
from .rubric import RGRubric
from .scoring import get_scorer

log = logging.getLogger("rg_verifiers")


class RGEnv(vf.SingleTurnEnv):
    """SingleTurnEnv whose train split is generated on first access, and whose evaluation
    requests carry rg-verifiers' generation settings.

    vf-eval only needs the eval split; building 1000 training items of a slow task first
    (knight_swap: ~9 min) would make it look hung.

    Under `evaluate` (vf-eval, `rgv eval`) every request gets `GenerationSettings` (defaults
    for what vf-eval left unset) in the shape every server honours (`rg_verifiers.generation`),
    with the same per-item seed as `rgv bench`. Training (`generate` without `evaluate`) keeps
    the trainer's sampling arguments untouched. Both hooks, `evaluate` and `get_model_response`,
    exist with the same parameters in every verifiers version the packages allow (0.1.6 to 0.3.x,
    whose v0 API lives on as `verifiers.legacy`).
    """

    def __init__(self, build_train, rgv_report: dict, **kwargs):
        self._build_train = build_train
        self._train = None
        self._constructing = True
        self.rgv_report = rgv_report
        self._rgv_rollouts: dict = {}  # example id -> rollouts started in this evaluation
        self._rgv_token_param: dict = {}  # model -> "max_completion_tokens" once "max_tokens" was refused
        self._rgv_prompt_ids: dict | None = None  # prompt -> example id, for verifiers < 0.1.9
        self.rgv_usage: dict = {}  # (example id, rollout) -> state columns, for verifiers < 0.1.9 (no state)
        self.rgv_first_error: str | None = None  # the first failed request, as one line
        self.rgv_reasoning = None  # (ReasoningVocab, tokenizer) when training an expanded model (vf backend)
        if kwargs.get("eval_dataset") is None:  # no eval split: verifiers needs one of the two now
            build, self._build_train = build_train, None
            super().__init__(dataset=build(), **kwargs)
        else:
            super().__init__(dataset=None, **kwargs)
        self._constructing = False

    @property
    def dataset(self):
        if self._train is None and not getattr(self, "_constructing", True) and self._build_train is not None:
            build, self._build_train = self._build_train, None
            # verifiers 0.1.7+ name it _format_dataset; 0.1.6 format_dataset (same columns added)
            fmt = getattr(self, "_format_dataset", None) or self.format_dataset
            self._train = fmt(build())
        return self._train

    @dataset.setter
    def dataset(self, value):
        self._train = value

    async def evaluate(self, *args, **kwargs):
        bound = inspect.signature(super().evaluate).bind(*args, **kwargs)
        rollouts = bound.arguments.get("rollouts_per_example") or 1
        sampling = bound.arguments.get("sampling_args")
        settings = GenerationSettings.from_sampling_args(sampling, rollouts)
        # the resolved settings are also what verifiers saves as metadata.json's sampling_args
        bound.arguments["sampling_args"] = settings.sampling_args(sampling)
        self._rgv_rollouts = {}
        self._rgv_prompt_ids = None
        self.rgv_usage = {}
        return await super().evaluate(*bound.args, **bound.kwargs)

    async def get_model_response(self, *args, **kwargs):
        call = _ModelCall(args, kwargs)
        state = call.get("state")
        sampling = call.get("sampling_args") or (state_get(state, "sampling_args") if state is not None else None) or {}
        if SAMPLING_KEY not in sampling:  # training, or a caller that did not go through evaluate
            response = await super().get_model_response(*args, **kwargs)
            if self.rgv_reasoning is not None:  # the server's text lacks the reasoning ids: decode them as mirrors
                from .reasoning_vocab import restore_response

                restore_response(response, *self.rgv_reasoning)
            return response
        settings = GenerationSettings.from_dict(sampling[SAMPLING_KEY])
        if state is not None:
            example_id = state_get(state, "example_id", 0)
            rollout = state_get(state, "rgv_rollout")
        else:  # verifiers before 0.1.9 pass no state: find the item by its prompt
            example_id, rollout = self._example_id(call.get("prompt")), None
        if rollout is None:  # rollouts of one item start in order, so the k-th one asking is rollout k
            rollout = self._rgv_rollouts.get(example_id, 0)
            self._rgv_rollouts[example_id] = rollout + 1
            if state is not None:
                state["rgv_rollout"] = rollout
                state.setdefault("completion_tokens", None)
                state.setdefault("latency_s", None)
        model = call.get("model") or (state_get(state, "model") if state is not None else None)
        while True:
            param = self._rgv_token_param.get(model, "max_tokens")
            request = request_sampling_args(sampling, settings, example_id, rollout, param)
            t0 = time.perf_counter()
            try:
                call_args, call_kwargs = call.replace("sampling_args", request)
                response = await super().get_model_response(*call_args, **call_kwargs)
            except Exception as exc:
                if param == "max_tokens" and wants_max_completion_tokens(exc):
                    self._rgv_token_param[model] = "max_completion_tokens"
                    continue
                if self.rgv_first_error is None:
                    self.rgv_first_error = _error_line(exc)
                raise
            if state is None:
                state = self.rgv_usage.setdefault((example_id, rollout), {"text": _response_text(response)})
            _add_usage(state, response, time.perf_counter() - t0)
            return response

    def _example_id(self, prompt) -> int:
        if self._rgv_prompt_ids is None:
            self._rgv_prompt_ids = {_prompt_key(r["prompt"]): int(r.get("example_id", i))
                                    for i, r in enumerate(self.eval_dataset or [])}
        return self._rgv_prompt_ids.get(_prompt_key(prompt), 0)


def _signature_names() -> tuple[str, ...]:
    params = list(inspect.signature(vf.Environment.get_model_response).parameters)
    if len(params) > 1 and params[1] == "state":  # 0.1.9.post3, 0.1.14, 0.3.x (legacy); 0.1.6 has the other
        return ("state", "prompt", "client", "model", "tools", "sampling_args")
    return ("client", "model", "prompt", "oai_tools", "sampling_args")


class _ModelCall:
    """The arguments of a get_model_response call, in either of verifiers' signatures:
    (state, prompt, client, model, tools, sampling_args, ...) in newer versions and
    (client, model, prompt, oai_tools, sampling_args, ...) in older ones."""

    names = _signature_names()

    def __init__(self, args, kwargs):
        self.args, self.kwargs = list(args), dict(kwargs)

    def get(self, name):
        if name in self.kwargs:
            return self.kwargs[name]
        i = self.names.index(name) if name in self.names else len(self.args)
        return self.args[i] if i < len(self.args) else None

    def replace(self, name, value) -> tuple[list, dict]:
        args, kwargs = list(self.args), dict(self.kwargs)
        i = self.names.index(name)
        if i < len(args) and name not in kwargs:
            args[i] = value
        else:
            kwargs[name] = value
        return args, kwargs


def _prompt_key(prompt) -> str:
    def part(m):
        get = m.get if isinstance(m, dict) else lambda k: getattr(m, k, None)
        return [get("role"), get("content")]

    return json.dumps([part(m) for m in prompt] if isinstance(prompt, list) else prompt, sort_keys=True, default=str)


def state_get(state, key: str, default=None):
    try:
        value = state.get(key)
    except Exception:  # verifiers' State forwards some keys to its input and may raise for others
        return default
    return default if value is None else value


def _response_text(response) -> str | None:
    try:
        return response.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        return None


def _add_usage(state, response, seconds: float) -> None:
    """Completion tokens and request seconds per rollout, saved as state columns by `rgv eval`."""
    usage = getattr(response, "usage", None)
    tokens = getattr(usage, "completion_tokens", None) if usage is not None else None
    if isinstance(tokens, int):
        state["completion_tokens"] = (state.get("completion_tokens") or 0) + tokens
    state["latency_s"] = round((state.get("latency_s") or 0.0) + seconds, 4)


def _error_line(exc: BaseException) -> str:
    """The innermost cause (verifiers wraps the client's error in ModelError), on one line."""
    inner, seen = exc, set()
    while id(inner) not in seen and (inner.__cause__ or inner.__context__) is not None:
        seen.add(id(inner))
        inner = inner.__cause__ or inner.__context__
    text = " ".join(str(getattr(inner, "message", None) or inner).split())
    return f"{type(inner).__name__}: {text}"[:300] if text else type(inner).__name__


def load_rg_environment(tasks: Any, **kwargs) -> vf.Environment:
    """A verifiers environment for one task name or a list of task specs (weighted mixture)."""
    install_excepthook()
    args = _parse_args(kwargs)
    specs = _parse_tasks(tasks, args)
    scorer = get_scorer(args.scoring, args.score_timeout_s)
    if any(scorer.sandboxed(s.name) for s in specs):
        scorer.warm_up()

    if args.rg_items is not None:  # a reasoning-gym suite's items, as its eval.py asks them
        from .suites.items import rg_items_split

        eval_rows, eval_reports, args.system_prompt = rg_items_split(specs, args)
    else:
        eval_rows, eval_reports = build_split(specs, "eval", args.num_eval_examples, args.seed, use_cache=args.cache)
    eval_questions = {r["question"] for r in eval_rows}
    report: dict[str, Any] = {"eval": [dataclasses.asdict(r) for r in eval_reports], "train": None, "overlap": None}

    def build_train() -> Dataset:
        rows, reports = build_split(specs, "train", args.num_train_examples, args.seed, exclude=eval_questions, use_cache=args.cache)
        report["train"] = [dataclasses.asdict(r) for r in reports]
        if not rows and args.num_train_examples:
            names = ", ".join(s.name for s in specs)
            raise RGVError(f"{names}: no training question is left after the {len(eval_questions)} eval questions "
                           f"(this config has few distinct questions); widen the task config or lower num_eval_examples")
        report["overlap"] = len(eval_questions & {r["question"] for r in rows})
        if report["overlap"]:
            raise AssertionError(f"train/eval overlap of {report['overlap']} questions")  # by construction never
        return _to_dataset(rows, args)

    env_id = "rg-" + specs[0].name.replace("_", "-") if len(specs) == 1 else "rg-composite"
    return RGEnv(
        build_train, report,
        # num_eval_examples=0: no eval split (a training run without evaluation), not an error
        eval_dataset=_to_dataset(eval_rows, args) if args.num_eval_examples else None,
        system_prompt=None,  # the prompt column is built by rg_verifiers.protocol
        parser=vf.XMLParser(fields=["answer"]),
        rubric=RGRubric(scorer, partial_credit=args.partial_credit),
        env_id=env_id,
        env_args=kwargs,
    )


def _to_dataset(rows: list[dict], args: EnvArgs) -> Dataset:
    if not rows:
        raise RGVError("no rows could be generated: the task config yields no valid items; check it with `rgv show`")
    return Dataset.from_list(to_prompt_rows(rows, args.system_prompt, args.prompt_placement))


def _parse_args(kwargs: dict) -> EnvArgs:
    valid = [f.name for f in dataclasses.fields(EnvArgs)]
    for key in kwargs:
        if key not in valid:
            raise RGVError(f"unknown environment argument {key!r}{did_you_mean(key, valid)} (valid: {', '.join(valid)})")
    args = EnvArgs(**kwargs)
    for name in ("num_train_examples", "num_eval_examples", "seed"):
        value = getattr(args, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RGVError(f"{name} must be a non-negative integer, got {value!r}")
    if args.num_train_examples >= 10_000_000:
        raise RGVError("num_train_examples must be below 10,000,000 (the eval seed offset)")
    if args.config is not None and not isinstance(args.config, dict):
        raise RGVError(f"config must be a mapping of task config fields, got {args.config!r}")
    if args.prompt_placement not in ("system", "user"):
        raise RGVError(f"prompt_placement must be 'system' or 'user', got {args.prompt_placement!r}")
    if args.scoring not in ("auto", "sandbox"):
        raise RGVError(f"scoring must be 'auto' or 'sandbox', got {args.scoring!r}")
    if not isinstance(args.partial_credit, bool):
        raise RGVError(f"partial_credit must be true or false, got {args.partial_credit!r}")
    return args


def _parse_tasks(tasks: Any, args: EnvArgs) -> list[TaskSpec]:
    if isinstance(tasks, (str, dict, TaskSpec)):
        spec = TaskSpec.parse(tasks)
        if args.config:
            spec.config = {**spec.config, **args.config}
        if args.difficulty is not None:
            spec.difficulty = args.difficulty
        specs = [spec]
    elif isinstance(tasks, (list, tuple)) and tasks:
        if args.config or args.difficulty is not None:
            raise RGVError("with several tasks, give 'config' and 'difficulty' per task: tasks=[{'name': ..., 'config': {...}, 'difficulty': 1}]")
        specs = [TaskSpec.parse(t) for t in tasks]
    else:
        raise RGVError(f"tasks must be a task name or a non-empty list of tasks, got {tasks!r}")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise RGVError(f"each task may appear once in a mixture; repeated: {sorted({n for n in names if names.count(n) > 1})}")
    for spec in specs:  # fail now, not after generating other tasks
        spec.config_json(0, 1)
    return specs
