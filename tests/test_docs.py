"""The documentation: README.md stays short, the MkDocs site builds with --strict (broken links,
missing pages and pages left out of the nav fail), nothing of the former single-page README was
lost in the move to docs/, and the cheap commands the pages show still run.

`python tests/test_docs.py 97518c1` regenerates tests/data/readme_97518c1_sections.txt from that
commit's README (done once; the test itself needs no git history)."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ROOT / "tests" / "data" / "readme_97518c1_sections.txt"
RGV = str(Path(sys.executable).parent / "rgv")
MKDOCS = str(Path(sys.executable).parent / "mkdocs")
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"}

# Commands cheap enough to run on every CI pass (seconds each): no server, no model, no training.
# Every shell line of the pages that matches one of these (and has no <placeholder>, [optional part]
# or ...) is run by test_cheap_commands_in_the_docs_run.
CHEAP = [re.compile(p) for p in (r"^rgv (tasks|show|gold|--version)\b", r"^rgv slurm (train|bench) ",
                                 r"^python train_minimal\.py .*--print-launch", r"^python scripts/generate_slurm\.py ",
                                 r"^rgv [a-z ]+ (-h|--help)$")]


def shell_blocks(markdown: str) -> list[list[str]]:
    """The lines of every ```bash / ```sh / ```shell fenced block."""
    blocks, current = [], None
    for line in markdown.splitlines():
        fence = re.match(r"\s*```(\w*)", line)
        if fence and current is None:
            current = [] if fence.group(1) in ("bash", "sh", "shell", "console") else "skip"
        elif fence:
            if current != "skip":
                blocks.append(current)
            current = None
        elif isinstance(current, list):
            current.append(line)
    return blocks


def sections_and_commands(readme: str) -> list[str]:
    """`heading: ...` for every ## / ### heading, `command: ...` for every shell line (stripped)."""
    out, in_fence = [], False
    for line in readme.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and re.match(r"#{2,3} ", line):
            out.append("heading: " + line.split(" ", 1)[1].strip())
    for block in shell_blocks(readme):
        out += ["command: " + ln.strip() for ln in block if ln.strip() and not ln.strip().startswith("#")]
    return out


def pages() -> dict[str, str]:
    found = {"README.md": (ROOT / "README.md").read_text()}
    found.update({str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "docs").rglob("*.md"))})
    return found


def command_of(line: str) -> str:
    """A documented shell line without its trailing comment, which may carry new measurements (~7 min)."""
    return line.split("   #", 1)[0]


def test_readme_is_short_and_keeps_the_quickstart():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = "./setup.sh && .venv/bin/python -m pytest -q"
    assert test_command in ci  # CI runs exactly the Quickstart's test command
    former = [ln.split(": ", 1)[1] for ln in SECTIONS.read_text().splitlines() if ln.startswith("command: ./setup.sh")]
    # the two Quickstart commands, byte for byte as at 97518c1 (their comments may carry new measurements)
    assert [command_of(ln) for ln in shell_blocks(readme)[0]] == [command_of(ln) for ln in former]
    assert all("#" in ln for ln in shell_blocks(readme)[0])
    assert former[1].startswith(test_command + " ")


def test_nothing_of_the_former_readme_was_lost():
    expected = [ln for ln in SECTIONS.read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(expected) > 60  # the fixture holds the old README's sections and commands
    text = pages()
    headings = {re.sub(r"^#+ ", "", ln).strip() for t in text.values() for ln in t.splitlines() if ln.startswith("#")}
    everything = "\n".join(text.values())
    missing = []
    for item in expected:
        kind, value = item.split(": ", 1)
        if kind == "heading" and value not in headings:
            missing.append(item)
        if kind == "command" and command_of(value) not in everything:
            missing.append(item)
    assert not missing, "former README sections/commands found in no page:\n" + "\n".join(missing)


def test_site_builds_strict(tmp_path):
    done = subprocess.run([MKDOCS, "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True, timeout=300, env=QUIET)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and (site / "troubleshooting" / "index.html").is_file()
    assert (site / "environments" / "rg_leg_counting" / "index.html").is_file()  # generated env READMEs are pages
    listing = (site / "environments" / "all" / "index.html").read_text()
    assert listing.count('href="../rg_') == len(list((ROOT / "environments").glob("rg_*/README.md")))


@pytest.mark.parametrize("defect, expected", [
    ("[gone](nowhere.md)", "nowhere.md"),                       # a broken link
    ("[gone](other.md#no-such-heading)", "no-such-heading"),     # a broken anchor
    (None, "orphan.md"),                                       # a page left out of the nav
])
def test_strict_build_fails_on_defects(tmp_path, defect, expected):
    """Our mkdocs.yml's validation settings turn each defect into a failed --strict build."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config.pop("hooks", None)
    config.update(docs_dir=str(tmp_path / "docs"), nav=["index.md", "other.md"])
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n" + (defect or "[other](other.md)") + "\n")
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## A heading\n")
    if defect is None:
        (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    done = subprocess.run([MKDOCS, "build", "--strict", "-d", str(tmp_path / "site")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=QUIET)
    assert done.returncode != 0 and expected in done.stderr, done.stderr[-2000:]


def cheap_commands() -> list[tuple[str, str]]:
    """(page, command) for every runnable cheap shell line shown in README.md or docs/ (first page that shows it)."""
    found = {}
    for page, text in pages().items():
        for block in shell_blocks(text):
            for line in block:
                command = line.split("  #")[0].strip()
                if any(p.search(command) for p in CHEAP) and not re.search(r"[<\[]|\.\.\.|…|\\$", command):
                    found.setdefault(command, page)
    return [(page, command) for command, page in found.items()]


def test_the_docs_show_cheap_commands():
    shown = {command for _, command in cheap_commands()}
    for prefix in ("rgv tasks", "rgv show ", "rgv gold ", "rgv --version", "rgv eval --help", "rgv slurm train ",
                   "rgv slurm bench ", "python train_minimal.py "):
        assert any(c.startswith(prefix) for c in shown), prefix


def test_cheap_commands_in_the_docs_run(tmp_path):
    """Run from a scratch folder that sees the checkout's configs and scripts, so the job scripts
    and logs the commands write land there, not in the checkout."""
    for name in ("configs", "scripts", "train_minimal.py", "train_ultra_minimal.py", ".env.example"):
        (tmp_path / name).symlink_to(ROOT / name)
    failures = []
    for page, command in cheap_commands():
        argv = shlex.split(command)
        argv[0] = {"rgv": RGV, "python": sys.executable}[argv[0]]
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=QUIET)
        if done.returncode != 0 or not done.stdout.strip():
            failures.append(f"{page}: {command}\n  exit {done.returncode}: {done.stderr.strip()[-600:]}")
    assert not failures, "\n".join(failures)


if __name__ == "__main__":  # regenerate the fixture from a commit: python tests/test_docs.py 97518c1
    commit = sys.argv[1]
    readme = subprocess.run(["git", "show", f"{commit}:README.md"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    header = [f"# Every ## / ### heading and every shell command line of README.md at commit {commit}:",
              "# each must still appear in README.md or a docs/ page (tests/test_docs.py).",
              f"# Generated once by: python tests/test_docs.py {commit}"]
    SECTIONS.parent.mkdir(parents=True, exist_ok=True)
    SECTIONS.write_text("\n".join(header + sections_and_commands(readme)) + "\n")
    print(f"wrote {SECTIONS}")
