"""The verifiers 0.4 adapter (v1 API): every rg-* package's Taskset, over the same core as the
verifiers 0.1.x environment (items: rg_verifiers.splits; parse and score: rg_verifiers.grading).

What an rg-* module exports under verifiers >= 0.4 (`__all__`, read by verifiers.v1's loader):
- `<Name>Taskset` (`taskset_class(task)`): its TasksetConfig fields are the environment arguments
  (`--env.taskset.difficulty 2`, `--env.taskset.config '{"min_animals": 3}'`), validated by the
  same `parse_env_args` as `load_environment(**kwargs)`; `load()` yields the eval split (or the
  train split with `split = "train"`), item for item the rows of the 0.1.x environment;
- `RGHarness`: the package's default harness. A question/answer task is one chat request, so the
  harness sends it in-process through the rollout's interception endpoint (the contract
  `verifiers.v1.Harness.launch` documents) instead of the default `bash` coding agent or the
  `null` harness's `uv`-installed chat script: no uv, no download, no sandbox;
- `RGEnv`: the single-agent env with the `subprocess` runtime as its default instead of `prime`
  (a remote sandbox that needs PRIME_API_KEY); the harness runs no program, so nothing is run on
  the host.

Everything a task needs to score travels in its TaskData (question, answer, reasoning-gym entry,
task config, scoring settings): prime-rl's env server rebuilds tasks from the wire data alone
and never calls `load()`. Rewards are async and scoring stays off the event loop (the shared
Scorer runs risky scorers in time-bounded worker processes, the rest in a thread).
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, ClassVar

import verifiers.v1 as vf
from pydantic import Field, create_model, model_validator
from verifiers.v1.configs.harness import HarnessConfig
from verifiers.v1.envs.single_agent import SingleAgentEnv, SingleAgentEnvConfig
from verifiers.v1.runtimes import ProgramResult, SubprocessConfig
from verifiers.v1.types import content_text

from .envargs import EnvArgs, parse_env_args
from .errors import RGVError, did_you_mean
from .generation import GenerationSettings
from .grading import METRICS, grade
from .scoring import get_scorer
from .tasks import COMPOSITE_DEFAULT_TASKS, taskset_name


class RGData(vf.TaskData):
    """One reasoning-gym item as it travels on the wire (`trace.task.data` in traces.jsonl)."""

    question: str
    answer: str | None = None  # the reference answer (None: scored by the task's verifier)
    rg_task: str
    config: str  # the task config, serialised with its types (rg_verifiers.serialization)
    entry: str  # the reasoning-gym entry the scorer reads, serialised with its types
    split: str = "eval"
    index: int = 0  # the item's index in its reasoning-gym dataset
    partial_credit: bool = True
    scoring: str = "auto"
    score_timeout_s: float = 10.0

    @property
    def info(self) -> dict[str, Any]:
        """The row's info as the 0.1.x environment keeps it (what `grade` reads)."""
        return {"rg_task": self.rg_task, "config": self.config, "entry": self.entry, "split": self.split,
                "index": self.index}


class RGTask(vf.Task[RGData]):
    """Scores the last `<answer>` of the model's final message with the task's own scorer: the
    reward `correct` (weight 1) and the metrics format / parse_failure / score_failure, from one
    scoring pass per rollout."""

    def __init__(self, data: RGData, config: vf.TaskConfig | None = None) -> None:
        super().__init__(data, config)
        self._graded: dict[str, dict] = {}  # trace id -> metrics, metric pass -> reward pass

    async def _grade(self, trace: vf.Trace) -> dict:
        if trace.id not in self._graded:
            data = self.data
            messages = trace.assistant_messages
            text = content_text(messages[-1].content) if messages else ""
            scorer = get_scorer(data.scoring, data.score_timeout_s)
            self._graded[trace.id] = (await grade(scorer, [[{"role": "assistant", "content": text}]], [data.info],
                                                  data.partial_credit))[0]
        return self._graded[trace.id]

    @vf.metric
    async def rg_metrics(self, trace: vf.Trace) -> dict[str, float]:
        metrics = await self._grade(trace)
        return {name: metrics[name] for name in METRICS}

    @vf.reward(weight=1.0)
    async def correct(self, trace: vf.Trace) -> float:
        metrics = await self._grade(trace)  # metrics run first: usually graded already
        self._graded.pop(trace.id, None)
        return metrics["correct"]


class _TasksetConfigBase(vf.TasksetConfig):
    """The environment arguments (rg_verifiers.envargs.EnvArgs) as `--env.taskset.<field>`, plus
    `split`. `system_prompt` keeps the 0.1.x meaning (a string replaces the instruction, "" = none);
    a path to an existing file is read, as verifiers 0.4's own field is."""

    split: str = Field("eval", description="\"eval\" (the fixed eval items, vf-eval's default) or \"train\" (prime-rl training sources)")

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data):
        if isinstance(data, dict):
            valid = list(cls.model_fields)
            for key in data:
                if key.replace("-", "_") not in valid:
                    raise ValueError(f"unknown environment argument {key!r}{did_you_mean(key, valid)} "
                                     f"(valid: {', '.join(v for v in valid if v != 'id')})")
        return data

    @model_validator(mode="after")
    def _check(self):
        # the same one-line checks and messages as load_environment(**kwargs)
        if self.split not in ("eval", "train"):
            raise ValueError(f"split must be 'eval' or 'train', got {self.split!r}")
        try:
            parse_env_args(self.env_args())
        except RGVError as exc:
            raise ValueError(str(exc)) from None
        return self

    def env_args(self) -> dict[str, Any]:
        args = {f.name: getattr(self, f.name) for f in dataclasses.fields(EnvArgs)}
        prompt = args["system_prompt"]
        if prompt and "\n" not in prompt and len(prompt) < 4096 and Path(prompt).is_file():
            args["system_prompt"] = Path(prompt).read_text()
        return args


# one field per environment argument, typed and documented where EnvArgs declares it: a new
# argument is a TasksetConfig field without a change here
_HINTS = typing.get_type_hints(EnvArgs)
RGTasksetConfig = create_model(
    "RGTasksetConfig", __base__=_TasksetConfigBase, __module__=__name__,
    **{f.name: (_HINTS[f.name], Field(f.default, description=f.metadata["help"])) for f in dataclasses.fields(EnvArgs)})


class CompositeTasksetConfig(RGTasksetConfig):
    tasks: list[str | dict] = Field(default_factory=lambda: list(COMPOSITE_DEFAULT_TASKS),
                                    description="the mixture: task names or {name, weight, config, difficulty} entries")


class RGTaskset(vf.Taskset[RGTask, RGTasksetConfig]):
    """The items of one reasoning-gym task (subclassed per package by `taskset_class`)."""

    TASK: ClassVar[str | list | None] = None

    def __init__(self, config: RGTasksetConfig) -> None:
        # the base class would read `system_prompt` as a file path and override every task's
        # system prompt with it; here it is an environment argument (see RGTasksetConfig)
        self.config = config
        self.system_prompt = None
        self._splits = None

    def tasks_arg(self) -> str | list:
        return self.TASK

    @property
    def splits(self):
        if self._splits is None:
            from .splits import EnvSplits

            self._splits = EnvSplits(self.tasks_arg(), **self.config.env_args())
        return self._splits

    def load(self):
        splits, args = self.splits, self.splits.args
        rows = splits.eval_rows if self.config.split == "eval" else splits.train_rows()
        for row in splits.prompt_rows(rows):
            system = next((m["content"] for m in row["prompt"] if m["role"] == "system"), None)
            user = next(m["content"] for m in row["prompt"] if m["role"] == "user")
            info = row["info"]
            yield RGTask(RGData(
                id=f"{info['rg_task']}/{info['split']}/{info['index']}", name=info["rg_task"],
                prompt=user, system_prompt=system, question=row["question"],
                answer=None if row.get("answer") is None else str(row["answer"]),
                rg_task=info["rg_task"], config=info["config"], entry=info["entry"], split=info["split"],
                index=int(info["index"]), partial_credit=args.partial_credit, scoring=args.scoring,
                score_timeout_s=args.score_timeout_s), self.config.task)


class CompositeTaskset(RGTaskset, vf.Taskset[RGTask, CompositeTasksetConfig]):
    def tasks_arg(self) -> list:
        return list(self.config.tasks)


def taskset_class(task: str | None) -> type[RGTaskset]:
    """The Taskset class an rg-* package exports: one reasoning-gym task, or None for rg-composite."""
    if task is None:
        return CompositeTaskset
    return type(taskset_name(task), (RGTaskset,), {"TASK": task, "__doc__": f"reasoning-gym's `{task}` items."})


class RGHarnessConfig(HarnessConfig):
    pass


class RGHarness(vf.Harness[RGHarnessConfig]):
    """One chat request per rollout, sent in-process through the interception endpoint: the
    [system, user] messages of the 0.1.x environment, no tools. Sampling comes from the run
    (`--sampling.*` in vf-eval, the orchestrator's in prime-rl), applied by the interception."""

    APPENDS_SYSTEM_PROMPT = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    @staticmethod
    def defaults() -> dict[str, Any]:
        """rg-verifiers' generation defaults (rg_verifiers.generation: 1024 new tokens, greedy, top-p
        1), sent as the request's own fields: the interception overlays whatever sampling the run
        sets (vf-eval `--sampling.*`, prime-rl's orchestrator), so these apply only where it sets
        none. No seed: one seed for every rollout of an item would make sampled rollouts copies."""
        settings = GenerationSettings()
        return {"max_tokens": settings.max_tokens, "temperature": settings.temperature, "top_p": settings.top_p}

    async def launch(self, ctx, trace, runtime, endpoint, secret, mcp_urls, data, tool_interception_url=None) -> ProgramResult:
        import httpx
        from openai import APIConnectionError, APIStatusError, AsyncOpenAI
        from verifiers.v1.errors import MODEL_TRANSPORT_ERROR_EXIT_CODE

        system, prompt = self.resolve_prompt(data)
        if isinstance(prompt, str):
            messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        else:  # a resumed exchange: the conversation so far
            messages = [m if isinstance(m, dict) else m.model_dump(exclude_none=True) for m in prompt or []]
            if system:
                messages.insert(0, {"role": "system", "content": system})
        client = AsyncOpenAI(base_url=endpoint, api_key=secret, max_retries=2,
                             timeout=httpx.Timeout(None, connect=5.0))
        try:
            await client.chat.completions.create(model=ctx.model, messages=messages, **self.defaults())
        except (APIConnectionError, httpx.TransportError) as exc:
            return ProgramResult(MODEL_TRANSPORT_ERROR_EXIT_CODE, "", f"{type(exc).__name__}: {exc}")
        except APIStatusError as exc:
            return ProgramResult(1, "", f"model request failed ({exc.status_code}): {exc.message}")
        finally:
            await client.close()
        return ProgramResult(0, "", "")


class RGEnvConfig(SingleAgentEnvConfig):
    agent: vf.AgentConfig = vf.AgentConfig(runtime=SubprocessConfig())
    """The one seat; its runtime defaults to `subprocess` (the harness runs no program)."""


class RGEnv(SingleAgentEnv, vf.Env[RGEnvConfig]):
    """verifiers' single-agent env with a local default runtime."""
