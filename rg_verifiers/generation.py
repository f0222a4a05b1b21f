"""The generation settings of every evaluation (`rgv eval`, `rgv bench`, the environments under
plain `vf-eval`), and the request fields that make every OpenAI-compatible server honour them.

Defaults: at most 1024 new tokens, temperature 0 (greedy) for one rollout per item and 1.0 for
several (greedy rollouts would be copies, and pass@k would equal pass@1), top-p 1, seed 0.

Request shape, chosen from what the servers read:
- llama-cpp-python's server reads only `max_tokens` (`CreateChatCompletionRequest`; its default
  is unbounded) and silently ignores `max_completion_tokens`, which verifiers renames
  `max_tokens` to. vLLM and SGLang read `max_completion_tokens or max_tokens`. OpenAI refuses a
  request that sets both ("Setting 'max_tokens' and 'max_completion_tokens' at the same time is
  not supported"), accepts `max_tokens` for its chat models and refuses it for its reasoning
  models ("Unsupported parameter: 'max_tokens' ... Use 'max_completion_tokens' instead").
  So `max_tokens` is sent alone (through `extra_body` on the verifiers path, where verifiers
  does not rename it), and an endpoint that refuses it is asked again, from then on, with
  `max_completion_tokens` (`wants_max_completion_tokens`).
- temperature and top_p are always sent: server defaults differ (llama.cpp 0.8 / 0.95, vLLM the
  model's generation config, OpenAI 1 / 1).
- `seed` is the base of a per-request seed derived from (seed, example id, rollout index):
  reproducible at temperature > 0, yet distinct per rollout (one seed for all would make the
  rollouts of an item identical). Greedy decoding ignores it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .errors import RGVError

DEFAULT_MAX_TOKENS = 1024
# the key under which the resolved settings travel in verifiers' sampling_args (and are saved
# in vf-eval's metadata.json); stripped from every request
SAMPLING_KEY = "rgv_generation"
TOKEN_PARAMS = ("max_tokens", "max_completion_tokens")
_OURS = (SAMPLING_KEY, "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed")


def default_temperature(rollouts_per_example: int) -> float:
    return 0.0 if rollouts_per_example <= 1 else 1.0


@dataclass(frozen=True)
class GenerationSettings:
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    top_p: float = 1.0
    seed: Optional[int] = 0  # None: send no seed (the server's own randomness)

    def __post_init__(self):
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise RGVError(f"max tokens must be an integer >= 1, got {self.max_tokens!r}")
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) or not 0 <= self.temperature < float("inf"):
            raise RGVError(f"temperature must be a number >= 0, got {self.temperature!r}")
        if isinstance(self.top_p, bool) or not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise RGVError(f"top_p must be a number in (0, 1], got {self.top_p!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise RGVError(f"seed must be an integer >= 0, got {self.seed!r}")
        # 0 and 0.0 must compare, hash and serialize alike in every results file
        object.__setattr__(self, "temperature", float(self.temperature))
        object.__setattr__(self, "top_p", float(self.top_p))

    @classmethod
    def resolve(cls, max_tokens: Optional[int] = None, temperature: Optional[float] = None,
                top_p: Optional[float] = None, seed: Any = ..., rollouts_per_example: int = 1) -> "GenerationSettings":
        """Settings from optional values (None = the default); `seed=None` means no seed."""
        return cls(max_tokens=DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
                   temperature=default_temperature(rollouts_per_example) if temperature is None else temperature,
                   top_p=1.0 if top_p is None else top_p,
                   seed=0 if seed is ... else seed)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GenerationSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_sampling_args(cls, sampling: Optional[Mapping[str, Any]], rollouts_per_example: int = 1) -> "GenerationSettings":
        """What a vf-eval run asked for (`-t`, `-T`, `-S '{"top_p": .., "seed": ..}'`); unset = default."""
        sampling = dict(sampling or {})
        if isinstance(sampling.get(SAMPLING_KEY), Mapping):
            return cls.from_dict(sampling[SAMPLING_KEY])
        extra = sampling.get("extra_body") or {}
        tokens = next((src[k] for src in (sampling, extra) for k in TOKEN_PARAMS if src.get(k) is not None), None)
        return cls.resolve(tokens, sampling.get("temperature"), sampling.get("top_p"),
                           sampling["seed"] if "seed" in sampling else ..., rollouts_per_example)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def seed_for(self, example_id: Any, rollout: int) -> Optional[int]:
        if self.seed is None:
            return None
        try:
            ex = int(example_id)
        except (TypeError, ValueError):
            ex = 0
        return (self.seed * 1_000_003 + ex * 1009 + int(rollout)) % (2 ** 31)

    def request_fields(self, example_id: Any = 0, rollout: int = 0, token_param: str = "max_tokens") -> dict[str, Any]:
        """The body fields of one chat request (the same on every path)."""
        out: dict[str, Any] = {token_param: self.max_tokens, "temperature": self.temperature, "top_p": self.top_p}
        seed = self.seed_for(example_id, rollout)
        if seed is not None:
            out["seed"] = seed
        return out

    def sampling_args(self, base: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
        """verifiers `sampling_args` for any environment: what `request_fields` sends, in a shape
        verifiers passes on unrenamed (the token limit inside extra_body).

        rg environments rewrite it per request (per-item seed, token-parameter fallback); other
        environments send it as is, with one seed for every request.
        """
        args = {k: v for k, v in (base or {}).items() if k not in _OURS}
        extra = {k: v for k, v in (args.pop("extra_body", None) or {}).items() if k not in TOKEN_PARAMS}
        fields = self.request_fields(0, 0)
        extra["max_tokens"] = fields.pop("max_tokens")
        return {**args, **fields, "extra_body": extra, SAMPLING_KEY: self.as_dict()}


def request_sampling_args(sampling: Mapping[str, Any], settings: GenerationSettings, example_id: Any, rollout: int,
                          token_param: str = "max_tokens") -> dict[str, Any]:
    """The sampling_args of one request of an rg environment under verifiers."""
    args = {k: v for k, v in sampling.items() if k not in _OURS}
    extra = {k: v for k, v in (args.pop("extra_body", None) or {}).items() if k not in TOKEN_PARAMS}
    fields = settings.request_fields(example_id, rollout, token_param)
    # verifiers renames a top-level max_tokens to max_completion_tokens; extra_body it leaves alone
    extra[token_param] = fields.pop(token_param)
    return {**args, **fields, "extra_body": extra}


def wants_max_completion_tokens(exc: BaseException) -> bool:
    """True for a refusal of `max_tokens` that asks for `max_completion_tokens` (OpenAI reasoning
    models), wherever it sits in the exception chain (verifiers wraps it in ModelError)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        status = getattr(exc, "status_code", None)
        text = str(getattr(exc, "message", "") or exc).lower()
        if status in (400, 422) and "max_tokens" in text and "max_completion_tokens" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False
