from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = [
        l
        for l in (ROOT / ".ci" / "run").read_text().splitlines()
        if l.startswith(("python3 ", "bash "))
    ]
    assert len(ci) == 2
    for line in ci:
        assert f"\n{line}\n" in readme, f"README does not show the CI command: {line}"
