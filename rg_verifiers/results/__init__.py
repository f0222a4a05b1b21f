"""Results schema shared by the benchmark runner, the plots and the reports.

One `ModelTaskResult` per (task, run). Files on disk are JSON tagged with
`"schema": "rg-verifiers/results/v1"` so that plots can tell our files from anything else:

- `results_<task>_<timestamp>.json` (kind "task"): `{"models": {model: result}}`
- `results_all_tasks_<timestamp>.json` (kind "all_tasks"): `{"results": {task: {model: result}}}`

`load_results` also reads `vf-eval -s` output folders (metadata.json + results.jsonl) of
verifiers 0.1.x to 0.3.x, so a quick vf-eval run can be plotted next to a full benchmark; each
format has its reader in `readers/` (its docstring says how to add one).

One module per concern: `stats` (Wilson intervals, pass@k), `model` (ModelTaskResult, RunInfo,
summaries, the settings a run is keyed on), `readers/` (one module per input format), `load`
(load_results), `writers` (results files), `formatting` (settings as text), `table`
(ResultsTable, build_table). Import from `rg_verifiers.results`; the names below are its API.

Keying. A run of a task is identified by (task, model, task args (difficulty, config), the env
args that change the prompt (seed, system_prompt, prompt_placement), generation settings
(max_tokens, temperature, top_p, seed)). They come from the file's `provenance` object
(vf-eval folders: metadata.json's `rgv_provenance`) when present, else from what older files
hold: vf-eval's `env_args`/`sampling_args`, a benchmark file's `config`. The item and rollout
counts are not part of the key: they say how big a run was, not what it measured.

Nothing is dropped. The same rollouts summarised twice (a benchmark's per-task file and its
all-tasks file, the older files of a resumed run, one folder given twice) count once, the
newest summary kept. Every other run is kept: results of one experiment (one benchmark folder,
one vf-eval folder) form one series, labelled with the model name; series of one model that
cover the same task get labels naming what tells them apart (`model [difficulty=3]`,
`model [T=0.7]`, `model [run 2025-01-02 10:00]`). `latest=True` instead keeps only the newest
of runs whose settings are identical, and says which it set aside (`ResultsTable.notes`).
"""

from .formatting import format_generation, format_task_args
from .load import load_results
from .model import (ERROR_STATUSES, GENERATION_KEYS, PROMPT_ENV_ARGS, SCHEMA, TIMESTAMP_FORMAT, ModelTaskResult, PathLike,
                    ResultsError, RunInfo, average_over_tasks, normalize_generation, normalize_task_args, prompt_env_args,
                    rollout_error, summarize_rollouts, task_args_from_env_args)
from .readers.vf_eval import env_id_to_task
from .stats import default_ks, diff_interval, pass_at_k, wilson_interval
from .table import ResultsTable, build_table, require_model, require_task
from .writers import make_timestamp, safe_file_part, write_all_results, write_task_results

__all__ = [
    "ERROR_STATUSES", "GENERATION_KEYS", "PROMPT_ENV_ARGS", "SCHEMA", "TIMESTAMP_FORMAT", "ModelTaskResult", "PathLike",
    "ResultsError", "ResultsTable", "RunInfo", "average_over_tasks", "build_table", "default_ks", "diff_interval",
    "env_id_to_task", "format_generation", "format_task_args", "load_results", "make_timestamp", "normalize_generation",
    "normalize_task_args", "pass_at_k", "prompt_env_args", "require_model", "require_task", "rollout_error",
    "safe_file_part", "summarize_rollouts", "task_args_from_env_args", "wilson_interval", "write_all_results",
    "write_task_results",
]
