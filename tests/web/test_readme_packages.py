"""The README names the Debian packages `make test` uses, the same list `.ci/run` installs, and the tests need
no program outside them (PDFs are read with pypdf, not poppler's pdftotext)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ci_packages() -> set[str]:
    script = (ROOT / ".ci" / "run").read_text()
    listed = re.search(r"for pkg in (.*?); do", script, re.S).group(1)
    return set(listed.replace("\\", " ").split())


def test_the_readme_installs_what_ci_installs_for_the_tests():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"sudo apt-get install --no-install-recommends (.*?)\n  ```", readme, re.S).group(1)
    readme_packages = set(block.replace("\\", " ").split())
    assert _ci_packages() <= readme_packages, _ci_packages() - readme_packages
    assert "poppler-utils" not in readme_packages


def test_no_test_calls_pdftotext():
    callers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if path.name != Path(__file__).name and '"pdftotext"' in path.read_text()
    ]
    assert callers == []
