"""Every environment folder passes the local steps of `prime env push` (prime 0.18.0,
prime_cli/commands/env.py push()): a pyproject with [project] name and version, a *.py file at the
top, a README (archived and hashed with the sources), one module in the wheel. And the runtime
label: prime infers it from the verifiers floor (v1 only for a floor >= 0.2.0); ours is 0.1.6 so
the same package keeps working under verifiers 0.1.x, which makes the inferred label v0 — hence
`prime env push --runtime v1` in docs/verifiers-0.4.md. Nothing is pushed from here."""

import tomllib

from packaging.requirements import Requirement
from packaging.version import Version

from rg_verifiers.envgen import module_name

V1_MIN = Version("0.2.0")  # prime_cli/utils/environment_runtime.py: VERIFIERS_V1_MIN_VERSION


def _folders(repo_root):
    return sorted(p for p in (repo_root / "environments").iterdir() if (p / "pyproject.toml").is_file())


def _floor(requirement: Requirement) -> Version | None:
    # prime's rule: the highest of the >=, >, ==, ~= bounds
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", ">", "==", "~=")]
    return max(floors, default=None)


def test_every_package_folder_passes_prime_push_checks(repo_root):
    folders = _folders(repo_root)
    assert len(folders) >= 100
    for folder in folders:
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        env_id = project["name"]
        assert module_name(env_id) == folder.name, (folder.name, env_id)  # `prime env push <env_id>` finds it
        assert project["version"], env_id
        assert project["readme"] == "README.md" and (folder / "README.md").is_file(), env_id
        # one module, at the top: prime's "*.py file" check, and the only thing in the wheel
        modules = sorted(p.name for p in folder.iterdir() if p.suffix == ".py")
        assert modules == [f"{folder.name}.py"], (env_id, modules)
        assert tomllib.loads((folder / "pyproject.toml").read_text())["tool"]["setuptools"]["py-modules"] == [folder.name]
        assert not [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))
                    and p.name not in ("dist", "build") and not p.name.endswith(".egg-info")], env_id


def test_the_inferred_hub_label_is_v0_so_v1_is_declared(repo_root):
    for folder in _folders(repo_root):
        deps = [Requirement(d) for d in tomllib.loads((folder / "pyproject.toml").read_text())["project"]["dependencies"]]
        verifiers = [r for r in deps if r.name == "verifiers"]
        assert len(verifiers) == 1, folder.name
        spec = verifiers[0].specifier
        # one package for verifiers 0.1.6 ... 0.4.x, so prime's inference says v0
        assert spec.contains("0.1.6") and spec.contains("0.4.0") and not spec.contains("0.5.0"), (folder.name, spec)
        assert _floor(verifiers[0]) < V1_MIN, folder.name
        # the core every package needs; not on PyPI (docs/verifiers-0.4.md: install it first)
        assert any(r.name == "rg-verifiers" for r in deps), folder.name
