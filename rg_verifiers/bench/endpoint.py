"""Chat requests to an OpenAI-compatible endpoint: bounded, retried, timed.

The openai client already retries connection errors, 408/409/429 and 5xx (max_retries, with
backoff). Our own loop adds a longer backoff on top, for a vLLM server that is restarting or
an overloaded shared endpoint: minutes of trouble should cost waiting, not a re-run. A request
that still fails is not recorded, so `--resume` asks again; a 400 (e.g. prompt longer than
the context) is the model's limit, recorded as a rollout with an `error` (not a score: results
leave it out of accuracy and count it as an error).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Optional

import openai

from ..errors import RGVError, did_you_mean
from ..generation import wants_max_completion_tokens

TRANSIENT = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
             openai.InternalServerError, openai.ConflictError)
REQUEST_ERRORS = (openai.BadRequestError, openai.UnprocessableEntityError)
RETRIES = 5  # our retries on top of the client's own 2
BACKOFF_S = 1.0  # first backoff; doubles per retry (jittered): ~30 s of trouble before giving up
DEAD_AFTER = 3  # requests in a row that outlasted every retry: the endpoint is gone


class EndpointGaveUp(Exception):
    """Transient failures outlasted the retries; the rollout stays undone."""


@dataclass
class Reply:
    text: str
    completion_tokens: Optional[int]
    latency_s: float
    finish_reason: Optional[str]
    status: str = "ok"  # "request_error" when the endpoint refused the request (HTTP 400/422)
    error: Optional[str] = None


class Endpoint:
    """One server or endpoint: a client and the semaphore that bounds requests in flight to it."""

    def __init__(self, base_url: str, model: str, max_concurrent: int, timeout_s: float = 600.0,
                 api_key_var: str = "OPENAI_API_KEY", retries: Optional[int] = None, backoff_s: Optional[float] = None):
        self.base_url = base_url
        self.model = model
        self.sem = asyncio.Semaphore(max_concurrent)
        self.retries = RETRIES if retries is None else retries
        self.backoff_s = BACKOFF_S if backoff_s is None else backoff_s
        self.dead = False  # set after DEAD_AFTER requests in a row gave up
        self.token_param = "max_tokens"
        self.last_error = ""
        self._gave_up_in_a_row = 0
        self.client = openai.AsyncOpenAI(base_url=base_url, api_key=os.environ.get(api_key_var) or "EMPTY",
                                         max_retries=2, timeout=timeout_s)

    async def chat(self, messages: list[dict], sampling: dict) -> Reply:
        for attempt in range(self.retries + 1):
            t0 = time.perf_counter()
            body = dict(sampling)
            if self.token_param != "max_tokens" and "max_tokens" in body:
                body[self.token_param] = body.pop("max_tokens")
            try:
                resp = await self.client.chat.completions.create(model=self.model, messages=messages, **body)
            except REQUEST_ERRORS as exc:
                if self.token_param == "max_tokens" and wants_max_completion_tokens(exc):
                    self.token_param = "max_completion_tokens"  # an OpenAI reasoning model; see generation.py
                    return await self.chat(messages, sampling)
                return Reply("", None, time.perf_counter() - t0, None, "request_error", _short(exc))
            except TRANSIENT as exc:
                if attempt == self.retries:
                    raise EndpointGaveUp(f"{self.base_url}: {_short(exc)}") from None
                # full jitter: many rollouts failing together should not retry together
                await asyncio.sleep(random.uniform(0, self.backoff_s * 2 ** attempt))
                continue
            except openai.APIStatusError as exc:  # 401/403/404: wrong key or model name; retrying cannot help
                raise RGVError(f"{self.base_url} refused model {self.model!r}: HTTP {exc.status_code} {_short(exc)}") from None
            except openai.APIError as exc:  # e.g. a reply that is not a chat completion: skip, --resume retries
                raise EndpointGaveUp(f"{self.base_url}: {_short(exc)}") from None
            latency = time.perf_counter() - t0
            choice = resp.choices[0] if resp.choices else None
            text = (choice.message.content or "") if choice and choice.message else ""
            tokens = getattr(resp.usage, "completion_tokens", None) if resp.usage else None
            return Reply(text, tokens, latency, getattr(choice, "finish_reason", None))
        raise AssertionError("unreachable")

    def note_failure(self, error: str) -> None:
        self.last_error = error
        self._gave_up_in_a_row += 1
        if self._gave_up_in_a_row >= DEAD_AFTER:
            self.dead = True

    def note_success(self) -> None:
        self._gave_up_in_a_row = 0

    async def close(self) -> None:
        await self.client.close()


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def served_models(base_url: str, timeout_s: float = 10.0) -> Optional[list[str]]:
    """The model ids the endpoint serves (GET /models); None when it has no such route.
    One line, before any work, when it cannot be reached."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout_s) as r:
            body = json.loads(r.read() or b"{}")
    except urllib.error.HTTPError:
        return None  # some OpenAI-compatible servers have no /models: requests will tell
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RGVError(f"cannot reach {base_url}: {reason}") from None
    data = body.get("data", []) if isinstance(body, dict) else []
    return [str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id") is not None]


def check_endpoint(base_url: str, model: str, timeout_s: float = 10.0) -> None:
    """Fail in one line, before any work, when the endpoint is down or serves other models."""
    try:
        served = served_models(base_url, timeout_s)
    except RGVError as exc:
        raise RGVError(f"{exc} (model {model!r})") from None
    if served and model not in served:
        raise RGVError(f"{base_url} does not serve a model named {model!r}{did_you_mean(model, served)} "
                       f"(it serves: {', '.join(map(str, served[:8]))})")


def discover_model(base_url: str, label: str, hint: str = "") -> str:
    """The model name to send when the user gave only a label: the label itself if the endpoint
    serves a model of that name, else the only model it serves."""
    served = served_models(base_url)
    if not served or label in served:
        return label
    if len(served) == 1:
        return served[0]
    raise RGVError(f"{base_url} serves {len(served)} models ({', '.join(served[:8])}) and none is named {label!r}: "
                   f"{hint or 'say which'}")
