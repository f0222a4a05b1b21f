"""TEST DOUBLE of `vf-vllm` (verifiers 0.1.9.post3 rl/inference/server.py on vLLM 0.10.2), on CPU.

    python tests/doubles/vf_vllm_standin.py --model DIR --served-model-name NAME --port 8000 ...

Takes the same command line as `vf-vllm` (what rg_verifiers.train.launch.vf_vllm_args prints, with
argv[0] replaced), serves the same endpoints with the same request and response shapes, and
generates with transformers on the CPU. See tests/doubles/README.md for what is real and what is
stood in. Two extra read-only endpoints exist for tests only and are never called by verifiers:
`GET /standin/log` (one record per chat request: requested model, status, policy version and the
weights' digest it was generated with, sampling settings) and `GET /standin/state`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the vllm test double beside this file

import torch
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from transformers import AutoModelForCausalLM, AutoTokenizer

from vllm.distributed.device_communicators.pynccl import PyNcclCommunicator
from vllm.distributed.utils import StatelessProcessGroup


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--served-model-name", nargs="+", default=None)
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--tensor-parallel-size", type=int, default=1)
    p.add_argument("--data-parallel-size", type=int, default=1)
    p.add_argument("--max-model-len", type=int, default=None)
    p.add_argument("--dtype", default="auto")
    # GPU-only settings: accepted like vf-vllm, meaningless on a CPU
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    p.add_argument("--enforce-eager", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.tensor_parallel_size * args.data_parallel_size != 1:
        p.error("the stand-in has one rank: tensor x data parallel size must be 1")
    return args


def weights_digest(model) -> str:
    """sha256 over the parameters in name order: the same function tests apply to a checkpoint."""
    h = hashlib.sha256()
    for name, param in sorted(model.state_dict().items()):
        if name == "lm_head.weight" and getattr(model.config, "tie_word_embeddings", False):
            continue  # tied to embed_tokens; checkpoints do not store it
        h.update(name.encode())
        h.update(param.detach().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def error(status: int, message: str, err_type: str) -> JSONResponse:
    # vLLM 0.10 ErrorResponse: {"error": {"message", "type", "param", "code"}}
    return JSONResponse({"error": {"message": message, "type": err_type, "param": None, "code": status}}, status)


class Engine:
    """One model, one lock: generation batches and weight loads never interleave (as vLLM applies a
    collective_rpc between engine steps)."""

    def __init__(self, args):
        dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.dtype]
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        self.tokenizer = AutoTokenizer.from_pretrained(args.model)
        self.model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype).eval()
        self.max_model_len = args.max_model_len or self.model.config.max_position_embeddings
        self.lock = threading.Lock()
        self.policy_version = 0   # completed weight syncs (a sync ends with /reset_prefix_cache)
        self.updated_params = 0
        self.digest = weights_digest(self.model)
        self.comm = None
        self.errors: list[str] = []
        self.log: list[dict] = []
        self.params = dict(self.model.named_parameters())

    # ---- weight sync (WeightSyncWorkerExtension) ----
    def init_communicator(self, host, port, world_size):
        if self.comm is not None:
            raise RuntimeError("Weight update group already initialized. Call close_communicator first.")
        pg = StatelessProcessGroup.create(host=host, port=port, rank=0, world_size=world_size)
        self.comm = PyNcclCommunicator(pg, device="cpu")
        self.client_rank = world_size - 1

    def update_named_param(self, name, dtype, shape):
        if self.comm is None:
            raise RuntimeError("Communicator not initialized. Call `init_communicator` first.")
        weight = torch.empty(shape, dtype=getattr(torch, dtype.split(".")[-1]))
        self.comm.broadcast(weight, src=self.client_rank)
        self.comm.group.barrier()
        with self.lock, torch.no_grad():
            if name not in self.params:  # vLLM's load_weights raises KeyError for an unknown name
                raise KeyError(name)
            self.params[name].data.copy_(weight)
            self.updated_params += 1

    def reset_prefix_cache(self):
        with self.lock:
            self.policy_version += 1
            self.digest = weights_digest(self.model)

    # ---- generation ----
    def generate(self, prompt_ids: list[int], sampling: dict) -> dict:
        with self.lock:
            version, digest = self.policy_version, self.digest
            ids = torch.tensor([prompt_ids])
            temperature = sampling["temperature"]
            do_sample = temperature > 0
            kwargs = dict(do_sample=do_sample, max_new_tokens=sampling["max_tokens"], output_logits=True,
                          return_dict_in_generate=True, pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
            if do_sample:
                kwargs.update(temperature=temperature, top_p=sampling["top_p"],
                              top_k=sampling["top_k"] if sampling["top_k"] and sampling["top_k"] > 0 else 0)
                if sampling["min_p"]:
                    kwargs["min_p"] = sampling["min_p"]
            if sampling["repetition_penalty"] not in (None, 1.0):
                kwargs["repetition_penalty"] = sampling["repetition_penalty"]
            if sampling["seed"] is not None:
                torch.manual_seed(sampling["seed"])
            with torch.no_grad():
                out = self.model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)
            new = out.sequences[0, ids.shape[1]:].tolist()
            # vLLM's default logprobs mode is raw_logprobs: log-softmax of the logits before temperature/top-p
            logprobs = [torch.log_softmax(step[0].float(), -1)[tok].item() for step, tok in zip(out.logits, new)]
        eos = set(self.model.generation_config.eos_token_id if isinstance(self.model.generation_config.eos_token_id, list)
                  else [self.model.generation_config.eos_token_id])
        stopped = bool(new) and new[-1] in eos
        # like vLLM: the EOS token is in token_ids and logprobs, not in the text
        text_ids = new[:-1] if stopped else new
        text = self.tokenizer.decode(text_ids, skip_special_tokens=sampling["skip_special_tokens"])
        return {"ids": new, "logprobs": logprobs, "text": text, "finish_reason": "stop" if stopped else "length",
                "policy_version": version, "digest": digest}


def build_app(args) -> FastAPI:
    engine = Engine(args)
    served = args.served_model_name or [args.model]
    app = FastAPI()
    executor = ThreadPoolExecutor(1)   # weight-sync work runs in order, like collective_rpc on one worker
    generator = ThreadPoolExecutor(1)
    background: set = set()

    def background_task(fn, *a):
        fut = asyncio.get_running_loop().run_in_executor(executor, fn, *a)
        background.add(fut)

        def done(f):
            background.discard(f)
            if f.exception() is not None:  # vf-vllm only logs a failed background task
                engine.errors.append(f"{fn.__name__}: {f.exception()!r}")
                print(f"[standin] background task failed: {fn.__name__}: {f.exception()!r}", file=sys.stderr)
        fut.add_done_callback(done)

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/get_world_size")
    async def get_world_size():
        return {"world_size": args.tensor_parallel_size * args.data_parallel_size}

    @app.post("/init_communicator")
    async def init_communicator(request: Request):
        data = await request.json()
        background_task(engine.init_communicator, data.get("host"), data.get("port"), data.get("world_size"))
        return {"status": "ok"}

    @app.post("/update_named_param")
    async def update_named_param(request: Request):
        data = await request.json()
        background_task(engine.update_named_param, data.get("name"), data.get("dtype"), tuple(data.get("shape")))
        return {"status": "ok"}

    @app.post("/reset_prefix_cache")
    async def reset_prefix_cache(request: Request):
        background_task(engine.reset_prefix_cache)
        return {"status": "ok"}

    @app.post("/get_num_background_tasks")
    async def get_num_background_tasks():
        return {"num_background_tasks": len(background)}

    @app.post("/close_communicator")
    async def close_communicator(request: Request):
        engine.comm = None
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": int(time.time()), "owned_by": "vllm", "root": args.model,
             "parent": None, "max_model_len": engine.max_model_len, "permission": []} for name in served]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        record = {"model": body.get("model"), "time": time.time()}
        engine.log.append(record)
        if body.get("model") not in served:
            record["status"] = 404
            return error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        if body.get("n", 1) != 1 or body.get("stream"):
            record["status"] = 400
            return error(400, "the stand-in serves n=1, non-streaming requests only", "BadRequestError")
        tok = engine.tokenizer
        prompt_ids = tok.apply_chat_template(body["messages"], add_generation_prompt=True, tokenize=True)
        if hasattr(prompt_ids, "input_ids") or isinstance(prompt_ids, dict):
            prompt_ids = prompt_ids["input_ids"]
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if max_tokens is None:
            max_tokens = engine.max_model_len - len(prompt_ids)
        if len(prompt_ids) + max_tokens > engine.max_model_len:
            record["status"] = 400
            return error(400, f"This model's maximum context length is {engine.max_model_len} tokens. However, you "
                              f"requested {len(prompt_ids) + max_tokens} tokens ({len(prompt_ids)} in the messages, "
                              f"{max_tokens} in the completion). Please reduce the length of the messages or completion.",
                         "BadRequestError")
        sampling = {"temperature": body.get("temperature", 1.0) if body.get("temperature") is not None else 1.0,
                    "top_p": body.get("top_p") or 1.0, "top_k": body.get("top_k"), "min_p": body.get("min_p"),
                    "repetition_penalty": body.get("repetition_penalty"), "seed": body.get("seed"),
                    "max_tokens": max_tokens, "skip_special_tokens": body.get("skip_special_tokens", True)}
        out = await asyncio.get_running_loop().run_in_executor(generator, engine.generate, prompt_ids, sampling)
        record.update(status=200, policy_version=out["policy_version"], digest=out["digest"],
                      temperature=sampling["temperature"], max_tokens=max_tokens, completion_tokens=len(out["ids"]),
                      logprobs=bool(body.get("logprobs")), return_token_ids=bool(body.get("return_token_ids")),
                      completion_ids=out["ids"], text=out["text"])  # for tests: what was sampled, what vLLM's text says
        as_ids = body.get("return_tokens_as_token_ids")
        logprobs = None
        if body.get("logprobs"):
            logprobs = {"content": [{"token": f"token_id:{t}" if as_ids else tok.decode([t]), "logprob": lp,
                                     "bytes": None, "top_logprobs": []} for t, lp in zip(out["ids"], out["logprobs"])]}
        choice = {"index": 0, "message": {"role": "assistant", "content": out["text"], "tool_calls": [],
                                          "reasoning_content": None},
                  "logprobs": logprobs, "finish_reason": out["finish_reason"], "stop_reason": None}
        response = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                    "model": body["model"], "choices": [choice],
                    "usage": {"prompt_tokens": len(prompt_ids), "completion_tokens": len(out["ids"]),
                              "total_tokens": len(prompt_ids) + len(out["ids"])},
                    "prompt_logprobs": None}
        if body.get("return_token_ids"):
            choice["token_ids"] = out["ids"]
            response["prompt_token_ids"] = prompt_ids
        return response

    @app.get("/standin/log")
    async def standin_log():
        return engine.log

    @app.get("/standin/state")
    async def standin_state():
        return {"policy_version": engine.policy_version, "updated_params": engine.updated_params,
                "digest": engine.digest, "errors": engine.errors, "communicator": engine.comm is not None}

    return app


def main(argv=None):
    args = parse_args(argv)
    app = build_app(args)
    print(f"[standin] serving {args.served_model_name or [args.model]} on {args.host}:{args.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
