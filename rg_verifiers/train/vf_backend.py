"""GPU path: verifiers 0.1.9.post3 `RLTrainer`, rollouts from a separate `vf-vllm` server.

    CUDA_VISIBLE_DEVICES=0,1 vf-vllm --model M --served-model-name M --port 8000 ...   (launch.py)
    CUDA_VISIBLE_DEVICES=2,3 accelerate launch --config-file configs/accelerate/zero3.yaml \\
        --num-processes 2 train_minimal.py <config>

RLTrainer is used as it is, except where running it showed it would not train what the config says
(tests/test_vf_backend.py runs it on CPU against a faithful vf-vllm stand-in; each fix has a test):
- rollouts request `model.config._name_or_path`: it is set to the name the server serves, which is
  checked on the server's /v1/models first (a 404 stored per rollout trained nothing, silently);
- a batch in which every rollout failed stops training with the server's error (not a zero loss);
- resume: RLTrainer asks for batch 0 and then waits for batch K forever; the resumed run asks for
  batch K, generated after the resumed weights reached the server;
- eval_step_N.json evaluates the step-N policy: weights are pushed before each evaluation (RLTrainer
  pushes at the start of the next step), and that next step does not push them twice;
- the trainer's reward is the configured `rewards:` list with weights; dtype, attention, bf16 and
  LoRA follow the config; the weight-sync port comes from the config (VLLMClient fixes 51216);
- RLConfig with a LoRA config serialises (tensorboard/wandb write the arguments at train start);
- the trainer waits up to vllm.server_timeout for the server, so both commands can start together.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
import urllib.request
from pathlib import Path

from rich.markup import escape

from ..config import ExperimentConfig
from ..config.loader import resolve_resume_checkpoint, to_lora_config_kwargs, to_rl_config_kwargs
from ..errors import RGVError
from .callbacks import FixedEvalCallback, MetricsFileCallback
from .evaluation import openai_generate
from .launch import served_model_name, server_url, vf_vllm_command
from .policy import model_init_kwargs, policy_facts


def _get_json(url: str, timeout: float = 10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, json.loads(r.read() or b"null")


def wait_for_server(cfg: ExperimentConfig, console, poll_s: float = 2.0) -> None:
    """Wait for /health up to vllm.server_timeout, then check the server serves the model we request."""
    url, timeout = server_url(cfg), cfg.vllm.server_timeout
    deadline = time.monotonic() + timeout
    with console.status(escape(f"waiting up to {timeout:.0f} s for vf-vllm at {url}/health ...")):
        while True:
            try:
                if _get_json(f"{url}/health", timeout=5)[0] == 200:
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RGVError(f"no vf-vllm server answered at {url}/health within {timeout:.0f} s (vllm.server_timeout); "
                               f"start it on other GPUs: {vf_vllm_command(cfg)}")
            time.sleep(poll_s)
    try:
        served = [m["id"] for m in _get_json(f"{url}/v1/models")[1]["data"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RGVError(f"the server at {url} answers /health but not /v1/models ({e}); is it vf-vllm?") from None
    want = served_model_name(cfg)
    if want not in served:
        raise RGVError(f"vf-vllm at {url} serves {served}, but training would request {want!r} (every rollout would "
                       f"be a 404); start it with the same model: {vf_vllm_command(cfg)}")


class ServerEvalCallback(FixedEvalCallback):
    """FixedEvalCallback through the server, after pushing the weights of the step being evaluated.

    Every rank takes part in the push (ZeRO-3 gathers each parameter); rank 0 evaluates.
    """

    def __init__(self, rows, make_generate, out_dir, eval_steps, is_main: bool):
        super().__init__(rows if is_main else [], make_generate, out_dir, eval_steps)
        self.is_main, self.trainer = is_main, None

    def _run(self, state, model) -> None:
        if state.global_step in self.done or (self.is_main and not self.rows):
            return
        if self.trainer is not None:
            self.trainer.update_vllm()
        if self.is_main:
            super()._run(state, model)
        else:
            self.done.add(state.global_step)


@contextlib.contextmanager
def _patched(module, **names):
    """Swap names in verifiers' trainer module while RLTrainer.__init__ builds its client and orchestrator:
    both are module globals constructed inside __init__, with no parameter to pass ours."""
    saved = {k: getattr(module, k) for k in names}
    try:
        for k, v in names.items():
            setattr(module, k, v)
        yield
    finally:
        for k, v in saved.items():
            setattr(module, k, v)


def _resume_step(checkpoint: str | None) -> int:
    if not checkpoint:
        return 0
    state = Path(checkpoint) / "trainer_state.json"
    return int(json.loads(state.read_text())["global_step"]) if state.is_file() else 0


def train_verifiers(cfg: ExperimentConfig, env, model_path: str, console) -> dict:
    import torch
    import verifiers as vf
    from verifiers.rl.inference.client import VLLMClient

    from ..rubric import TrainingRubric
    from ..scoring import get_scorer

    t = cfg.training
    cuda = torch.cuda.is_available()
    if not cuda:
        torch.set_num_threads(t.num_threads)
    world = int(os.environ.get("WORLD_SIZE", 1))
    is_main = int(os.environ.get("RANK", 0)) == 0
    wait_for_server(cfg, console)
    from .rl_trainer import RGVOrchestrator, RGVRLConfig, RGVRLTrainer, rl_module

    kwargs = to_rl_config_kwargs(cfg, world)
    kwargs.update(use_liger=cuda, use_cpu=t.use_cpu or not cuda)  # liger's kernels are triton (GPU) code
    lora = to_lora_config_kwargs(cfg)
    if lora:
        from peft import LoraConfig

        kwargs["lora_config"] = LoraConfig(**lora)
    args = RGVRLConfig(**kwargs)
    model, tokenizer = vf.get_model_and_tokenizer(model_path, use_liger=args.use_liger,
                                                  model_kwargs={**model_init_kwargs(cfg, cuda), "use_cache": False})
    # RLTrainer sends this as every rollout's `model`: it must be the name vf-vllm serves, not the local folder
    model.config._name_or_path = served_model_name(cfg)
    if not hasattr(model, "warnings_issued"):
        model.warnings_issued = {}  # transformers 5 removed it; RLTrainer.__init__ writes to it
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    env.rubric = TrainingRubric(get_scorer(), [(r.name, r.weight) for r in cfg.rewards], parser=env.parser,
                                partial_credit=getattr(env.rubric, "partial_credit", True))

    eval_rows = list(env.eval_dataset) if env.eval_dataset is not None else []
    gen = openai_generate(f"{server_url(cfg)}/v1", served_model_name(cfg), t.max_completion_length)
    evaluator = ServerEvalCallback(eval_rows, lambda _m: gen, t.output_dir, t.eval_steps, is_main)
    callbacks = ([MetricsFileCallback(t.output_dir)] if is_main else []) + [evaluator]
    checkpoint = resolve_resume_checkpoint(cfg)
    resume_step = _resume_step(checkpoint)
    orchestrator = functools.partial(RGVOrchestrator, resume=resume_step > 0, reward_names=tuple(r.name for r in cfg.rewards))
    client = functools.partial(VLLMClient, group_port=cfg.vllm.group_port)
    with _patched(rl_module, Orchestrator=orchestrator, VLLMClient=client):
        trainer = RGVRLTrainer(model=model, env=env, args=args, processing_class=tokenizer, callbacks=callbacks,
                               resume_step=resume_step)
    evaluator.trainer = trainer
    output = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(f"{t.output_dir}/final")
    if is_main:
        tokenizer.save_pretrained(f"{t.output_dir}/final")
    return {"global_step": output.global_step, "training_loss": output.training_loss, **output.metrics,
            **policy_facts(model)}
