"""`rgv report`: every run a row, errors apart, exports (JSON, CSV, markdown), one-line errors."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rg_verifiers.errors import RGVError
from rg_verifiers.report import REPORT_SCHEMA, format_for, results_table, to_csv, to_json, to_markdown
from rg_verifiers.results import load_results, summarize_rollouts, write_all_results, ResultsTable

RGV = str(Path(sys.executable).parent / "rgv")


def rgv(*args, cwd=None):
    return subprocess.run([RGV, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def vf_run(folder, env_args=None, correct=(1, 0, 1, 0), errors=0, rpe=1, sampling=None):
    folder.mkdir(parents=True)
    n = len(correct) // rpe
    (folder / "metadata.json").write_text(json.dumps({
        "env_id": "rg-leg-counting", "model": "embedded", "env_args": env_args or {}, "num_examples": n,
        "rollouts_per_example": rpe, "sampling_args": sampling or {"max_tokens": 64, "temperature": 0.0}}))
    rows = [{"example_id": i // rpe, "reward": float(c), "correct": float(c), "parse_failure": 0.0, "error": None,
             "info": {"rg_task": "leg_counting"}, "token_usage": {"input_tokens": 9.0, "output_tokens": 12.0},
             "timing": {"generation": {"start": 0.0, "end": 0.5, "duration": 0.5}}} for i, c in enumerate(correct)]
    rows += [{"example_id": n + i, "reward": 0.0, "completion": [], "error": "ModelError()"} for i in range(errors)]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.fixture
def two_difficulties(tmp_path):
    a = vf_run(tmp_path / "evals" / "rg-leg-counting--embedded" / "9f1", correct=(1, 1, 0, 0, 1, 1, 0, 0), rpe=2)
    b = vf_run(tmp_path / "evals" / "rg-leg-counting--embedded" / "1ab", env_args={"difficulty": 3}, correct=(0, 0, 0, 1),
               errors=2)
    return a, b


def plain(table) -> str:
    from rich.console import Console

    console = Console(width=250, record=True, file=io.StringIO())
    console.print(results_table(table))
    return console.export_text()


def test_table_has_every_run_items_rollouts_errors_and_settings(two_difficulties):
    table = load_results(list(two_difficulties))
    text = plain(table)
    header = next(line for line in text.splitlines() if "task" in line and "model" in line)
    for col in ("difficulty/config", "items", "rollouts", "errors", "accuracy %", "pass@2 %", "tokens", "latency s"):
        assert col in header
    hard = next(line for line in text.splitlines() if "embedded [difficulty=3]" in line)  # brackets survive rich
    cells = [c.strip() for c in hard.split("│") if c.strip()]
    assert cells[:7] == ["leg_counting", "embedded [difficulty=3]", "difficulty=3", "4", "4", "2", "25.0"]
    easy = next(line for line in text.splitlines() if "│ embedded " in line and "difficulty=3" not in line)
    cells = [c.strip() for c in easy.split("│") if c.strip()]
    assert cells[2:7] == ["defaults", "4", "8", "0", "50.0"] and "12" in cells and "0.50" in cells
    assert "generation: max_tokens=64, T=0" in text and "left out of accuracy" in text


def test_json_csv_markdown_exports(two_difficulties):
    table = load_results(list(two_difficulties))
    doc = json.loads(to_json(table))
    assert doc["schema"] == REPORT_SCHEMA and len(doc["rows"]) == 2
    hard = next(r for r in doc["rows"] if r["difficulty"] == 3)
    assert (hard["items"], hard["rollouts"], hard["errors"], hard["accuracy"]) == (4, 4, 2, 0.25)
    assert hard["generation"] == {"max_tokens": 64, "temperature": 0.0} and hard["label"] == "embedded [difficulty=3]"
    easy = next(r for r in doc["rows"] if r["difficulty"] is None)
    assert easy["pass_at_k"] == {"1": 0.5, "2": 0.5} and easy["mean_completion_tokens"] == 12.0

    rows = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert [r["label"] for r in rows] == [r["label"] for r in doc["rows"]]
    by_label = {r["label"]: r for r in rows}
    assert by_label["embedded [difficulty=3]"]["errors"] == "2" and by_label["embedded [difficulty=3]"]["difficulty"] == "3"
    assert by_label["embedded"]["pass@2"] == "0.5" and by_label["embedded"]["max_tokens"] == "64"

    md = to_markdown(table, "Table 1")
    lines = md.splitlines()
    assert lines[0] == "### Table 1"
    assert lines[2].startswith("| task | model | difficulty/config | items | rollouts | errors | accuracy % |")
    assert lines[3].startswith("| --- | --- | --- | ---: |")
    assert any(line.startswith("| leg_counting | embedded [difficulty=3] | difficulty=3 | 4 | 4 | 2 | 25.0 |")
               for line in lines)


def test_average_rows_only_over_two_or_more_tasks():
    t = ResultsTable()
    rows = [{"example_id": i, "reward": float(i % 2), "correct": float(i % 2)} for i in range(4)]
    t.add(summarize_rollouts("a", "leg_counting", rows, 1))
    t.add(summarize_rollouts("a", "gcd", rows, 1))
    t.add(summarize_rollouts("b", "gcd", rows, 1))
    text = plain(t)
    assert "average (2 tasks)" in text and text.count("average (") == 1  # b has one task: no average row


def test_format_choice():
    assert format_for(None, None) == "table"
    assert format_for(None, Path("r.CSV")) == "csv" and format_for(None, Path("r.md")) == "md"
    assert format_for("json", Path("r.txt")) == "json"
    for fmt, out, match in (("yaml", None, "--format must be one of"), (None, Path("r.txt"), "cannot tell the format"),
                            ("table", Path("r.json"), "-o writes json, csv or md")):
        with pytest.raises(RGVError, match=match):
            format_for(fmt, out)


def test_cli_report_two_difficulties_and_exports(two_difficulties, tmp_path):
    out = rgv("report", *map(str, two_difficulties))
    assert out.returncode == 0, out.stderr
    assert "embedded [difficulty=3]" in out.stdout and "│ embedded  " in out.stdout.replace("│ embedded [", "")
    out = rgv("report", str(tmp_path / "evals"), "-o", str(tmp_path / "r.json"))
    assert out.returncode == 0 and "wrote" in out.stderr
    assert len(json.loads((tmp_path / "r.json").read_text())["rows"]) == 2
    out = rgv("report", str(tmp_path / "evals"), "--format", "csv")
    assert out.returncode == 0 and out.stdout.startswith("task,label,model,")
    out = rgv("report", str(tmp_path / "evals"), "--format", "md", "--latest")
    assert out.returncode == 0 and out.stdout.count("| leg_counting |") == 2  # different settings: both stay


@pytest.mark.parametrize("setup,args,expected", [
    (None, ["report", "nothing/here"], "no such file or folder"),
    (None, ["report", "{evals}", "--format", "yaml"], "--format must be one of"),
    (None, ["report", "{evals}", "-o", "{tmp}/r.txt"], "cannot tell the format"),
    ("bad_meta", ["report", "{tmp}/bad"], "metadata.json is not a JSON object"),
    ("bad_row", ["report", "{tmp}/bad"], "line 1 is not valid JSON"),
    ("empty_dir", ["report", "{tmp}/bad"], "no results_*.json files, vf-eval -s folders, verifiers 0.4 run folders (traces.jsonl) or reasoning-gym eval folders (summary.json)"),
    (None, ["plot", "{evals}", "--metric", "acuracy"], "did you mean 'accuracy'"),
    (None, ["plot", "{evals}", "--metric", "pass@k"], "pass@k"),
    (None, ["plot", "{evals}", "--sort", "size"], "unknown --sort"),
    (None, ["plot", "{evals}", "-o", "{tmp}/c.jpg"], "unsupported output format"),
    (None, ["plot", "{evals}", "--baseline", "embedded", "--finetuned", "ghost"], "is not among the loaded models"),
    ("bad_meta", ["plot", "{tmp}/bad"], "metadata.json is not a JSON object"),
])
def test_bad_input_is_one_line(tmp_path, setup, args, expected):
    vf_run(tmp_path / "evals" / "a", correct=(1, 0))
    vf_run(tmp_path / "evals" / "b", env_args={"difficulty": 3}, correct=(1, 1))
    bad = tmp_path / "bad"
    if setup:
        bad.mkdir()
    if setup == "bad_meta":
        (bad / "metadata.json").write_text("[1]")
        (bad / "results.jsonl").write_text("{}\n")
    elif setup == "bad_row":
        (bad / "metadata.json").write_text(json.dumps({"env_id": "rg-x", "model": "m"}))
        (bad / "results.jsonl").write_text("{oops\n")
    out = rgv(*[a.format(tmp=tmp_path, evals=tmp_path / "evals") for a in args], cwd=tmp_path)
    assert out.returncode != 0
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_cli_plot_two_difficulties(two_difficulties, tmp_path):
    out = rgv("plot", *map(str, two_difficulties), "-o", str(tmp_path / "c.png"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.png").stat().st_size > 10_000
    out = rgv("plot", *map(str, two_difficulties), "-o", str(tmp_path / "d.png"), "--baseline", "embedded",
              "--finetuned", "embedded [difficulty=3]", "--metric", "error-rate", "--rename", "ghost=x")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "d_delta.png").exists()
    assert out.stderr.strip() == "warning: --rename: no loaded model named 'ghost'"
    # --rename-file in YAML (JSON is YAML too): display names that --baseline/--finetuned then refer to
    names = tmp_path / "names.yaml"
    names.write_text("embedded: Base model\n'embedded [difficulty=3]': Harder\nghost: x\n")
    out = rgv("plot", *map(str, two_difficulties), "-o", str(tmp_path / "e.png"), "--rename-file", str(names),
              "--baseline", "Base model", "--finetuned", "Harder")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "e_delta.png").exists()
    assert out.stderr.strip() == "warning: --rename: no loaded model named 'ghost'"


def test_all_tasks_file_and_vf_eval_folder_together(tmp_path):
    t = ResultsTable()
    rows = [{"example_id": i, "reward": 1.0, "correct": 1.0} for i in range(3)]
    t.add(summarize_rollouts("embedded", "leg_counting", rows, 1))
    path = write_all_results(t, tmp_path / "bench", config={"max_tokens": 64, "temperature": 0.0, "seed": 0,
                                                            "tasks": [{"name": "leg_counting"}]})
    vf = vf_run(tmp_path / "vf" / "r", correct=(0, 0))
    table = load_results([path, vf])
    # bench sends a sampling seed, plain vf-eval does not: two runs, told apart by it
    assert sorted(table.models) == ["embedded [no sampling seed]", "embedded [sampling seed=0]"]
