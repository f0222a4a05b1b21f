"""GRPO training on rg environments: TRL on CPU (in-process generation), verifiers' RLTrainer +
vf-vllm on GPUs. Entry point: `rg_verifiers.train.run.train(cfg)`."""
