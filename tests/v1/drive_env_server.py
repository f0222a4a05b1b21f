"""Drive verifiers 0.4's env server the way prime-rl's orchestrator does (test helper, run inside
a venv with verifiers 0.4; prime-rl itself is not on PyPI). Read from prime-rl's
src/prime_rl/orchestrator/envs.py and dispatcher.py:

- the orchestrator resolves the source's env config (`resolve_env_config`), leaving harness and
  runtime to the package's defaults, and a launcher serves it (`serve_env(config_data=...)`);
- it loads the taskset itself, client-side (`vf.load_taskset(env.taskset)`, materialised), and
  sends each episode `task.data.model_dump(mode="json")` with an EvalClientConfig, the model name
  and its SamplingConfig (temperature, top_p, max_completion_tokens, extra_body.cache_salt);
- the server rebuilds the task from the wire data alone and runs harness + scoring; the trainer
  reads `trace.reward` (sum of score x weight).

argv: JSON {"taskset": {...TasksetConfig fields, id...}, "base_url": ..., "models": [...],
"address": "tcp://127.0.0.1:PORT", "workers": 1}. Prints one JSON line: per model, per task,
the reward, rewards, metrics, ok and stop condition of each episode.
"""

import asyncio
import json
import multiprocessing as mp
import sys
import time

import verifiers.v1 as vf
from verifiers.v1.serve import EnvClient, env_config_data, serve_env
from verifiers.v1.utils.loaders import resolve_env_config


def serve(config_data: dict, address: str, workers: int) -> None:
    serve_env(max_workers=workers, address=address, config_data=config_data, elastic=False)


async def drive(spec: dict, env_cfg) -> dict:
    client = EnvClient(address=spec["address"])
    await client.wait_for_server_startup(timeout=120)
    taskset = vf.load_taskset(env_cfg.taskset)
    tasks = await asyncio.to_thread(lambda: list(taskset))
    endpoint = vf.EvalClientConfig(base_url=spec["base_url"], api_key_var="OPENAI_API_KEY")
    sampling = vf.SamplingConfig(temperature=1.0, top_p=1.0, max_completion_tokens=256,
                                 extra_body={"cache_salt": "step-0"})
    out: dict = {"tasks": [t.data.id for t in tasks], "models": {}}
    for model in spec["models"]:
        episodes = await asyncio.gather(*(client.run(endpoint, model, sampling, t.data.model_dump(mode="json"))
                                          for t in tasks))
        out["models"][model] = [
            {"ok": e.ok, "reward": tr.reward, "rewards": {k: (r.score, r.weight) for k, r in tr.rewards.items() if r},
             "metrics": tr.metrics, "stop": tr.stop_condition, "task": tr.task.data.id,
             "errors": [str(err) for err in tr.errors]}
            for e in episodes for tr in e.traces]
    # bad wire data is refused, not scored
    try:
        await client.run(endpoint, spec["models"][0], sampling, {"prompt": "no rg fields"})
        out["bad_task_data"] = "accepted"
    except RuntimeError as exc:
        out["bad_task_data"] = str(exc)[:200]
    await client.close()
    return out


def main() -> None:
    spec = json.loads(sys.argv[1])
    env_cfg = resolve_env_config({"taskset": spec["taskset"]})
    out = {"runtime": env_cfg.agent.runtime.type, "harness": env_cfg.agent_harnesses()["agent"].id}
    ctx = mp.get_context("spawn")
    server = ctx.Process(target=serve, args=(env_config_data(env_cfg), spec["address"], spec.get("workers", 1)),
                         daemon=True)
    t0 = time.time()
    server.start()
    try:
        out.update(asyncio.run(drive(spec, env_cfg)))
        out["seconds"] = round(time.time() - t0, 1)
    finally:
        server.terminate()
        server.join(10)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
