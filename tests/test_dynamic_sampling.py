"""Dynamic sampling (training.dynamic_sampling): group filtering rules, and the TRL backend's trainer
dropping zero-spread groups before the loss (the verifiers backend's test is in test_vf_backend.py)."""

import zlib

import pytest
import torch

from rg_verifiers.train.dynamic_sampling import StepStats, groups_with_spread, has_spread


def test_a_group_has_spread_only_when_its_rewards_differ():
    assert not has_spread([1.0, 1.0, 1.0, 1.0])
    assert not has_spread([0.0, 0.0])
    assert has_spread([0.0, 1.0, 1.0, 1.0])
    assert not has_spread([0.5, 0.5 + 1e-9])  # float noise of weighted sums is not a signal
    assert not has_spread([float("nan"), 1.0])  # one scored rollout: nothing to compare
    assert has_spread([float("nan"), 1.0, 0.0])
    assert groups_with_spread([1, 1, 0, 1, 0, 0, 2, 2], 2) == [False, True, False, False]
    with pytest.raises(ValueError):
        groups_with_spread([1, 2, 3], 2)


def test_step_metrics():
    stats = StepStats(groups_wanted=4, group_size=8)
    stats.add_round(kept=1, generated=4, filtered=3)
    stats.add_round(kept=3, generated=4, filtered=1)
    m = stats.metrics()
    assert m["dynamic_sampling/filtered_share"] == 0.5
    assert m["dynamic_sampling/generation_rounds"] == 2
    assert m["dynamic_sampling/rollouts_per_trained"] == 2.0
    assert m["dynamic_sampling/shortfall_groups"] == 0
    empty = StepStats(groups_wanted=2, group_size=4)
    empty.add_round(kept=0, generated=2, filtered=2)
    assert empty.metrics()["dynamic_sampling/shortfall_groups"] == 2
    assert empty.metrics()["dynamic_sampling/filtered_share"] == 1.0


def test_rounds_join_with_each_tensor_padded_on_its_own_side():
    from rg_verifiers.train.trl_backend import _join_rows, _select_rows

    a = {"prompt_ids": torch.tensor([[5, 6], [7, 8]]), "completion_ids": torch.tensor([[1], [2]]),
         "advantages": torch.tensor([0.5, -0.5]), "num_items_in_batch": torch.tensor(2), "old_per_token_logps": None}
    b = {"prompt_ids": torch.tensor([[9, 9, 9]]), "completion_ids": torch.tensor([[3, 4, 4]]),
         "advantages": torch.tensor([1.0]), "num_items_in_batch": torch.tensor(3), "old_per_token_logps": None}
    joined = _join_rows([_select_rows(a, torch.tensor([1]), 2), b], pad_token_id=0)
    assert joined["prompt_ids"].tolist() == [[0, 7, 8], [9, 9, 9]]  # prompts are left-padded
    assert joined["completion_ids"].tolist() == [[2, 0, 0], [3, 4, 4]]  # completions right-padded
    assert joined["advantages"].tolist() == [-0.5, 1.0]
    assert joined["old_per_token_logps"] is None


CONSTANT = "Say CONSTANT."


def _reward(prompts, completions, kind, **kwargs):
    """Every rollout of a 'constant' prompt scores 1 (zero spread); others score by their own text."""
    text = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
    return [1.0 if k == "constant" else float(zlib.crc32(t.encode()) % 5) for k, t in zip(kind, text)]


def _trainer(tmp_path, rows, max_extra_rounds, seen, max_steps=2):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from rg_verifiers.config.schema import DynamicSamplingConfig
    from rg_verifiers.embedded import hf_model_dir
    from rg_verifiers.train.trl_backend import rgv_trainer

    torch.manual_seed(0)
    path = str(hf_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)

    class Recording(rgv_trainer(GRPOTrainer)):
        def compute_loss(self, model, inputs, *args, **kwargs):
            seen.append({"prompts": tokenizer.batch_decode(inputs["prompt_ids"], skip_special_tokens=True),
                         "advantages": inputs["advantages"].tolist()})
            return super().compute_loss(model, inputs, *args, **kwargs)

    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=8, num_generations=4,
                      max_completion_length=6, max_steps=max_steps, use_cpu=True, report_to=[], logging_steps=1,
                      save_strategy="no", bf16=False, learning_rate=1e-5, disable_tqdm=True, seed=0)
    dataset = Dataset.from_list(rows)
    return Recording(model=model, reward_funcs=_reward, args=args, train_dataset=dataset, processing_class=tokenizer,
                     dynamic_sampling=DynamicSamplingConfig(enabled=True, max_extra_rounds=max_extra_rounds),
                     fresh_rows=dataset)


@pytest.mark.slow
def test_trl_zero_spread_groups_never_reach_the_loss(tmp_path):
    torch.set_num_threads(1)
    rows = [{"prompt": [{"role": "user", "content": CONSTANT if i % 2 else f"Name a number above {i}."}],
             "kind": "constant" if i % 2 else "varied"} for i in range(16)]
    seen = []
    trainer = _trainer(tmp_path, rows, max_extra_rounds=3, seen=seen)
    trainer.train()
    assert len(seen) == 2  # one loss call per step (one accumulation step)
    for batch in seen:
        assert batch["prompts"], "a step trained on nothing"
        assert not any("CONSTANT" in p for p in batch["prompts"]), "a zero-spread group reached the loss"
        assert len(batch["prompts"]) % 4 == 0  # whole groups
    logs = [entry for entry in trainer.state.log_history if "dynamic_sampling/filtered_share" in entry]
    assert len(logs) == 2
    for entry in logs:
        assert entry["dynamic_sampling/generation_rounds"] >= 1
        assert entry["dynamic_sampling/rollouts_per_trained"] >= 1.0
        assert 0.0 <= entry["dynamic_sampling/filtered_share"] < 1.0
    for entry, batch in zip(logs, seen):  # the shortfall is what the loss did not get
        assert len(batch["prompts"]) == 4 * (2 - entry["dynamic_sampling/shortfall_groups"])
    # half the prompts are constant: some step dropped a group and generated a replacement round
    assert any(entry["dynamic_sampling/generation_rounds"] >= 2 for entry in logs)


@pytest.mark.slow
def test_trl_a_step_with_no_group_left_takes_no_update(tmp_path):
    torch.set_num_threads(1)
    rows = [{"prompt": [{"role": "user", "content": CONSTANT}], "kind": "constant"} for _ in range(8)]
    seen = []
    trainer = _trainer(tmp_path, rows, max_extra_rounds=1, seen=seen, max_steps=1)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    assert [len(b["prompts"]) for b in seen] == [0]
    logs = [entry for entry in trainer.state.log_history if "dynamic_sampling/filtered_share" in entry]
    assert logs[0]["dynamic_sampling/filtered_share"] == 1.0
    assert logs[0]["dynamic_sampling/generation_rounds"] == 2
    assert logs[0]["dynamic_sampling/shortfall_groups"] == 2
    after = trainer.model.state_dict()
    assert all(before[k].equal(after[k]) for k in before), "a batch of dropped groups moved the weights"


def test_the_option_is_a_typed_config_field():
    from rg_verifiers.config import load_config
    from rg_verifiers.config.schema import ConfigError

    cfg = load_config("configs/experiments/ultra_minimal_cpu.yaml", [])
    assert cfg.training.dynamic_sampling.enabled is False and cfg.training.dynamic_sampling.max_extra_rounds == 2
    on = load_config("configs/experiments/ultra_minimal_cpu.yaml",
                     ["training.dynamic_sampling.enabled=true", "training.dynamic_sampling.max_extra_rounds=0"])
    assert on.training.dynamic_sampling.enabled and on.training.dynamic_sampling.max_extra_rounds == 0
    with pytest.raises(ConfigError, match="training.dynamic_sampling.max_extra_rounds must be >= 0"):
        load_config("configs/experiments/ultra_minimal_cpu.yaml", ["training.dynamic_sampling.max_extra_rounds=-1"])
