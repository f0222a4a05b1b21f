"""Math datasets (DeepScaleR, GSM8K, any hub id or local file) as tasks of the rg registry.

`math`, `gsm8k` and `deepscaler` (`tasks.DATASET_TASKS`) go through the machinery of every
reasoning-gym task: `build_config` validates their config (this one), `data.build_split` draws the
eval rows first and the train rows without any eval question, `protocol` builds the prompt and
parses the answer (the last `\\boxed{}`, else the last `<answer>`), and the scorer calls
`MathDataset.score_answer` in its workers (math_verify, `rg_verifiers.math_reward`).

Items: item i of seed s is row perm_s[i mod N] of the chosen split, perm_s a seeded permutation of
its N rows; train and eval seeds differ (data.EVAL_SEED_OFFSET), and rows repeat only after all N,
so duplicates are skipped as for any task. Rows are loaded once per process and source.

Sources (`dataset`):
- `sample` (the default of `math`): the problems shipped in rg_verifiers/math_data/, both schemas;
  `sample-gsm8k` / `sample-deepscaler` one of them.
- a local `.jsonl` / `.json` / `.parquet` file (`datasets.load_dataset` with `data_files`; one split),
  or a dataset folder such as `hf download <id> --repo-type dataset --local-dir DIR` writes
  (`datasets.load_dataset(DIR, dataset_config, split=...)`: its README's configs and splits).
- a hub id: `datasets.load_dataset(id, dataset_config, split=..., revision=...)`, which downloads as
  usual; offline (HF_HUB_OFFLINE) or with the hub unreachable it uses what an earlier load left in
  the datasets cache, else a snapshot `hf download <id> --repo-type dataset` left in the hub cache,
  else one line that says how to pre-fetch.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RGVError, did_you_mean

log = logging.getLogger("rg_verifiers")

DATA_DIR = Path(__file__).resolve().parent / "math_data"
SAMPLES = {
    "sample": ("deepscaler_sample.jsonl", "gsm8k_sample.jsonl"),
    "sample-gsm8k": ("gsm8k_sample.jsonl",),
    "sample-deepscaler": ("deepscaler_sample.jsonl",),
}
GSM8K = "openai/gsm8k"
DEEPSCALER = "agentica-org/DeepScaleR-Preview-Dataset"
LOCAL_SUFFIXES = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}
# field names tried in order when question_field / answer_field are not given
QUESTION_FIELDS = ("problem", "question")
ANSWER_FIELDS = ("answer", "solution")  # GSM8K's answer ends with '#### n'; a solution's last \boxed{} is used


def _field(default, help: str):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclass
class MathConfig:
    """Config of the `math` task (fields as reasoning-gym configs have them: seed and size included)."""

    dataset: str = _field("sample", "`sample` (shipped; `sample-gsm8k`, `sample-deepscaler`), a hub dataset id, a local .jsonl/.json/.parquet file, or a dataset folder")
    dataset_config: str | None = _field(None, "hub config (subset) name, e.g. `main` for openai/gsm8k")
    split: str = _field("train", "dataset split both the train and the eval rows are drawn from (disjoint); a file has only `train`")
    revision: str | None = _field(None, "hub branch, tag or commit")
    question_field: str | None = _field(None, "column holding the problem; null = `problem`, else `question`")
    answer_field: str | None = _field(None, "column holding the reference; null = `answer`, else `solution` (its last \\boxed{})")
    seed: int | None = None
    size: int = 500

    def validate(self) -> None:
        for name in ("dataset", "split"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise RGVError(f"{name} must be a non-empty string, got {value!r}")
        for name in ("dataset_config", "revision", "question_field", "answer_field"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise RGVError(f"{name} must be a string or null, got {value!r}")
        if not isinstance(self.size, int) or self.size <= 0:
            raise RGVError(f"size must be a positive integer, got {self.size!r}")
        load_rows(source_of(self))  # fail now, with one line: unknown field, missing file, offline hub id


@dataclass
class GSM8KConfig(MathConfig):
    dataset: str = _field(GSM8K, "hub dataset id, a local .jsonl/.json/.parquet file, a dataset folder, or `sample-gsm8k` (shipped)")
    dataset_config: str | None = _field("main", "hub config (subset): `main` or `socratic`")


@dataclass
class DeepScaleRConfig(MathConfig):
    dataset: str = _field(DEEPSCALER, "hub dataset id, a local .jsonl/.json/.parquet file, a dataset folder, or `sample-deepscaler` (shipped)")


@dataclass(frozen=True)
class Source:
    """Where rows come from, resolved: the cache key of `load_rows`."""

    kind: str  # "sample", "local" or "hub"
    name: str  # the dataset as given (hub id, sample name) or the absolute path
    dataset_config: str | None
    split: str
    revision: str | None
    question_field: str | None
    answer_field: str | None


def source_of(cfg: MathConfig) -> Source:
    name = cfg.dataset.strip()
    if name in SAMPLES:
        kind = "sample"
    elif Path(name).expanduser().suffix.lower() in LOCAL_SUFFIXES or Path(name).expanduser().exists() \
            or name.startswith((".", "/", "~")):
        kind, name = "local", str(Path(name).expanduser().resolve())
    elif name.count("/") == 1:
        kind = "hub"
    else:
        raise RGVError(f"dataset {name!r} is not a shipped sample ({', '.join(SAMPLES)}), a hub id (org/name), an "
                       f"existing .jsonl/.json/.parquet file or a dataset folder")
    return Source(kind, name, cfg.dataset_config, cfg.split, cfg.revision, cfg.question_field, cfg.answer_field)


def fingerprint(config_cls: type[MathConfig], config: dict[str, Any]) -> Any:
    """What the cached rows of a config depend on beyond its fields: the local files' sizes and
    modification times (a hub dataset is identified by its id, config, split and revision)."""
    try:
        src = source_of(config_cls(**{k: v for k, v in config.items() if k not in ("seed", "size")}))
    except (TypeError, AttributeError, RGVError):
        return None
    if src.kind == "hub":
        return None
    paths = [DATA_DIR / f for f in SAMPLES[src.name]] if src.kind == "sample" else _local_files(Path(src.name))
    return [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in paths if p.is_file()]


# ----------------------------------------------------------------------------------------- loading

_rows: dict[Source, list[tuple[str, str]] | RGVError] = {}
_rows_lock = threading.Lock()


def load_rows(src: Source) -> list[tuple[str, str]]:
    """(question, reference) pairs of a source, loaded once per process (errors too: one attempt)."""
    with _rows_lock:
        if src not in _rows:
            try:
                _rows[src] = _load(src)
            except RGVError as exc:
                _rows[src] = exc
        got = _rows[src]
    if isinstance(got, RGVError):
        raise got
    return got


def _load(src: Source) -> list[tuple[str, str]]:
    path = Path(src.name)
    if src.kind == "hub":
        return _rows_of(_load_hub(src), src, src.name)
    if src.kind == "local" and not path.exists():
        raise RGVError(f"dataset file {src.name!r} does not exist")
    if src.kind == "local" and path.is_dir():  # a dataset repo's layout (`hf download --local-dir`): its configs and splits
        return _rows_of(_load_folder(src.name, src), src, src.name)
    if src.split != "train":
        raise RGVError(f"dataset {src.name!r}: a file or shipped sample has one split, 'train' (got split "
                       f"{src.split!r}); give the file of the split you want, or a dataset folder")
    if src.kind == "sample":
        return [pair for f in SAMPLES[src.name] for pair in _rows_of(_load_files([DATA_DIR / f], src), src, f)]
    return _rows_of(_load_files([path], src), src, src.name)


def _local_files(path: Path) -> list[Path]:
    """The files a local dataset's rows come from (for the cache fingerprint)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and (p.suffix.lower() in LOCAL_SUFFIXES or p.name == "README.md"))
    return [path]


def _load_files(files: list[Path], src: Source):
    import datasets

    kinds = {LOCAL_SUFFIXES.get(p.suffix.lower()) for p in files}
    if None in kinds or len(kinds) != 1:
        raise RGVError(f"dataset {src.name!r}: give a .jsonl, .json or .parquet file, got "
                       f"{', '.join(sorted({p.suffix or p.name for p in files}))}")
    try:
        # a data file has one split, "train" (datasets' name for it); `split` names a hub or folder split
        return datasets.load_dataset(kinds.pop(), data_files=[str(p) for p in files], split="train")
    except (ValueError, OSError) as exc:
        why = " ".join(str(exc).split())[:300]
        raise RGVError(f"dataset {src.name!r} could not be read ({type(exc).__name__}: {why})") from None


def _load_folder(folder: str, src: Source):
    """A dataset folder as datasets reads one: the configs and splits of its README, else its files."""
    import datasets

    try:
        return datasets.load_dataset(folder, src.dataset_config, split=src.split)
    except (ValueError, OSError) as exc:  # an unknown config or split, no data files, unreadable files
        why = " ".join(str(exc).split())[:300]
        raise RGVError(f"dataset {src.name!r} split {src.split!r} could not be loaded from {folder} "
                       f"({type(exc).__name__}: {why})") from None


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in ("1", "ON", "YES", "TRUE")


def _prefetch_hint(src: Source) -> str:
    rev = f" --revision {src.revision}" if src.revision else ""
    return (f"pre-fetch it on a machine with network (`hf download {src.name} --repo-type dataset{rev}`, into the "
            f"same HF_HOME) or give a local file or dataset folder as `dataset`")


def _load_hub(src: Source):
    """`datasets.load_dataset` as usual; offline or unreachable, a snapshot in the hub cache, or one line."""
    import datasets
    from datasets.exceptions import DatasetNotFoundError
    from huggingface_hub import constants

    offline = bool(constants.HF_HUB_OFFLINE or datasets.config.HF_HUB_OFFLINE or _env_true("HF_HUB_OFFLINE")
                   or _env_true("HF_DATASETS_OFFLINE"))
    where = f"{src.name}" + (f" (config {src.dataset_config})" if src.dataset_config else "")
    try:
        with _offline(offline):
            return datasets.load_dataset(src.name, src.dataset_config, split=src.split, revision=src.revision)
    except DatasetNotFoundError as exc:
        if not offline:
            raise RGVError(f"dataset {where} is not on the hub (or is gated or private: set HF_TOKEN): "
                           f"{' '.join(str(exc).split())[:200]}") from None
        failure = exc
    except (ConnectionError, TimeoutError) as exc:
        failure = exc
    except (ValueError, FileNotFoundError) as exc:  # an unknown config or split, among others
        why = " ".join(str(exc).split())[:300]
        raise RGVError(f"dataset {where} split {src.split!r} could not be loaded: {why}") from None
    snapshot = _cached_snapshot(src)
    if snapshot is not None:  # what `hf download <id> --repo-type dataset` left in the hub cache
        return _load_folder(snapshot, src)
    if offline:
        raise RGVError(f"dataset {src.name!r} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and "
                       f"HF_HUB_OFFLINE is set: {_prefetch_hint(src)}")
    why = " ".join(str(failure).split())[:200] or type(failure).__name__
    raise RGVError(f"dataset {src.name!r} is not in the Hugging Face cache and {constants.ENDPOINT} could not be "
                   f"reached ({why}): {_prefetch_hint(src)}")


class _offline:
    """HF_HUB_OFFLINE set after datasets and huggingface_hub were imported (they read it once) still holds."""

    def __init__(self, offline: bool):
        self.offline = offline

    def __enter__(self):
        import datasets
        from huggingface_hub import constants

        self.saved = (datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE)
        if self.offline:
            datasets.config.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE = True

    def __exit__(self, *exc):
        import datasets
        from huggingface_hub import constants

        datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE = self.saved


def _cached_snapshot(src: Source) -> str | None:
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(src.name, repo_type="dataset", revision=src.revision, local_files_only=True)
    except Exception:  # not in the cache (LocalEntryNotFoundError), or a cache we cannot read
        return None


def _rows_of(ds, src: Source, where: str) -> list[tuple[str, str]]:
    """(question, reference) per row, fields as configured or detected; rows without either are skipped."""
    from .math_reward import reduce_reference

    columns = list(ds.column_names)

    def pick(given: str | None, candidates: tuple[str, ...], what: str, option: str) -> str:
        if given is not None:
            if given not in columns:
                raise RGVError(f"dataset {where!r} has no field {given!r}{did_you_mean(given, columns)} "
                               f"(fields: {', '.join(columns)}); set {option}")
            return given
        for name in candidates:
            if name in columns:
                return name
        raise RGVError(f"dataset {where!r}: no {what} field found (tried {', '.join(candidates)}; fields: "
                       f"{', '.join(columns)}); set {option}")

    q_field = pick(src.question_field, QUESTION_FIELDS, "question", "question_field")
    a_field = pick(src.answer_field, ANSWER_FIELDS, "answer", "answer_field")
    pairs, skipped = [], 0
    for question, answer in zip(ds[q_field], ds[a_field]):
        if not isinstance(question, str):
            raise RGVError(f"dataset {where!r}: field {q_field!r} holds {type(question).__name__}, not text; "
                           f"set question_field (fields: {', '.join(columns)})")
        reference = reduce_reference(answer)
        if not question.strip() or not reference:
            skipped += 1
            continue
        pairs.append((question, reference))
    if skipped:
        log.warning("dataset %s: %d rows without a question or an answer were skipped", where, skipped)
    if not pairs:
        raise RGVError(f"dataset {where!r} split {src.split!r} has no row with both a question and an answer")
    return pairs


# ----------------------------------------------------------------------------------------- the task


class MathDataset:
    """Items and scores like a reasoning-gym dataset: `ds[i]` is an entry, `score_answer` is 1.0 or 0.0.

    Rows are read on first use, not on construction: the scoring workers build this class from an
    item's config only to call `score_answer`, which needs the entry alone."""

    def __init__(self, config: MathConfig):
        self.config = config
        self.seed = config.seed
        self.size = config.size
        self._perm: list[int] | None = None

    def __len__(self) -> int:
        return self.size

    def _rows(self) -> list[tuple[str, str]]:
        return load_rows(source_of(self.config))

    def __getitem__(self, index: int) -> dict[str, Any]:
        rows = self._rows()
        if self._perm is None:
            perm = list(range(len(rows)))
            random.Random(f"rgv-math:{self.seed}").shuffle(perm)
            self._perm = perm
        row = self._perm[index % len(rows)]
        question, reference = rows[row]
        return {"question": question, "answer": reference,
                "metadata": {"source": self.config.dataset, "split": self.config.split, "row": row}}

    @staticmethod
    def cache_fingerprint(config_cls: type[MathConfig], config: dict[str, Any]) -> Any:
        """Read by data.build_split: cached rows of a local file are rebuilt when the file changes."""
        return fingerprint(config_cls, config)

    def score_answer(self, answer: str | None, entry: dict[str, Any]) -> float:
        from .math_reward import accuracy

        return accuracy(answer, entry["answer"])
