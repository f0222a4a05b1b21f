"""Check a prime-rl run config for rg-* environments against prime-rl's real config schema, then
follow each source the way prime-rl does: the launcher's env-server config, the env server, the
orchestrator's client-side taskset load, and (with --episodes) one episode per source against the
test fake model server.

Runs in a Python 3.12 venv with verifiers 0.4.0, prime-rl-configs (from a prime-rl checkout:
`pip install <prime-rl>/packages/prime-rl-configs`; it needs no GPU), rg-verifiers and the env
package (docs/verifiers-0.4.md, "Training with prime-rl"):

    python scripts/check_prime_rl_config.py configs/prime-rl/rg-leg-counting.toml [--episodes]

Prints one JSON line per source and exits 1 on the first check that fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import verifiers.v1 as vf
from prime_rl.configs.env_server import EnvServerConfig
from prime_rl.configs.rl import RLConfig
from prime_rl.utils.config import cli, dump_resolved_config
from verifiers.v1.serve import EnvClient, env_config_data, serve_env
from verifiers.v1.utils.loaders import harness_class

from rg_verifiers.serve import free_port
from rg_verifiers.taskset import RGEnvConfig, RGHarness, RGTasksetConfig


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def env_server_file(config: RLConfig, split: str, source, address: str, out: Path) -> Path:
    """What prime-rl's `rl` launcher writes per source (envs/<split>/<name>.json): the source's
    env and serve blocks, the address filled in, the orchestrator's vf log settings."""
    data = dump_resolved_config(source)
    doc = {"env": data["env"], "serve": {**data.get("serve", {}), "address": address},
           "log": {"level": config.orchestrator.log.vf_level, "json_logging": config.orchestrator.log.json_logging}}
    path = out / "envs" / split / f"{source.resolved_name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    return path


def serve(config_data: dict, address: str) -> None:
    serve_env(max_workers=1, address=address, config_data=config_data)


async def one_episode(address: str, task, base_url: str, sampling_args: dict) -> dict:
    client = EnvClient(address=address)
    await client.wait_for_server_startup(timeout=120)
    try:
        episode = await client.run(task_data=task.data.model_dump(mode="json"),
                                   client=vf.EvalClientConfig(base_url=base_url, api_key_var="OPENAI_API_KEY"),
                                   model="gold", sampling=vf.SamplingConfig(**sampling_args))
    finally:
        await client.close()
    trace = episode.traces[0]
    return {"ok": episode.ok, "reward": trace.reward, "stop": trace.stop_condition, "errors": [str(e) for e in trace.errors]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--episodes", action="store_true", help="serve each source and run one gold episode")
    ns = parser.parse_args()
    toml = ns.config.resolve()
    work = Path(tempfile.mkdtemp(prefix="prime-rl-check-"))
    os.chdir(work)  # RLConfig resolves its output dirs relative to the working directory

    config = cli(RLConfig, args=["@", str(toml)])  # what `uv run rl @ <toml>` parses
    addresses = config.orchestrator.env_addresses
    items: dict[str, set] = {}
    for split, source in config.orchestrator.env_sources:
        env = source.env
        row: dict = {"split": split, "name": source.resolved_name, "env_config": type(env).__name__}
        if not isinstance(env, RGEnvConfig):
            fail(f"{split}/{source.resolved_name}: env narrowed to {type(env).__name__}, not RGEnvConfig")
        if not isinstance(env.taskset, RGTasksetConfig):
            fail(f"{split}/{source.resolved_name}: taskset config is {type(env.taskset).__name__}")
        harness = env.agent_harnesses()["agent"]
        row.update(runtime=env.agent.runtime.type, harness=harness.id,
                   harness_class=harness_class(harness.id).__name__,
                   taskset_split=env.taskset.split, address=addresses[(split, source.resolved_name)])
        if row["runtime"] != "subprocess" or not issubclass(harness_class(harness.id), RGHarness):
            fail(f"{split}/{source.resolved_name}: runtime {row['runtime']}, harness {harness.id}")
        if env.taskset.split != split:
            fail(f"{split}/{source.resolved_name}: loads split {env.taskset.split!r}")

        # the env server: `env-server @ envs/<split>/<name>.json`
        path = env_server_file(config, split, source, row["address"], work)
        server_cfg = cli(EnvServerConfig, args=["@", str(path)])
        server_env = vf.resolve_env_config(env_config_data(server_cfg.env))
        row["server_env_config"] = type(server_cfg.env).__name__
        row["server_harness"] = server_env.agent_harnesses()["agent"].id
        row["server_runtime"] = server_env.agent.runtime.type
        if server_env.model_dump(mode="json") != env.model_dump(mode="json"):
            fail(f"{split}/{source.resolved_name}: the env server's config differs from the orchestrator's")

        # the orchestrator: vf.load_taskset(env.taskset), materialised
        t0 = time.time()
        tasks = list(vf.load_taskset(env.taskset))
        row["tasks"] = len(tasks)
        row["load_s"] = round(time.time() - t0, 1)
        row["task_splits"] = sorted({t.data.split for t in tasks})
        row["first_task"] = tasks[0].data.id
        if row["task_splits"] != [split]:
            fail(f"{split}/{source.resolved_name}: tasks from splits {row['task_splits']}")
        items[split] = {t.data.question for t in tasks}

        if ns.episodes:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            from fake_openai import FakeOpenAI

            sampling = source.sampling.to_sampling_args()
            row["sampling"] = sampling
            address = f"tcp://127.0.0.1:{free_port()}"  # not the config's port: the machine may be shared
            with FakeOpenAI({tasks[0].data.prompt: tasks[0].data.answer}) as fake:
                proc = mp.get_context("spawn").Process(target=serve, args=(env_config_data(server_cfg.env), address),
                                                       daemon=True)
                proc.start()
                try:
                    row["episode"] = asyncio.run(one_episode(address, tasks[0], fake.base_url, sampling))
                finally:
                    proc.terminate()
                    proc.join(10)
            if row["episode"]["reward"] != 1.0:
                fail(f"{split}/{source.resolved_name}: gold episode scored {row['episode']}")
        print(json.dumps(row))
    if "train" in items and "eval" in items:
        shared = len(items["train"] & items["eval"])
        print(json.dumps({"train_eval_shared_questions": shared}))


if __name__ == "__main__":
    main()
