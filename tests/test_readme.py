"""The README's quick start says what it needs and shows its result (issue 17, item 8)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_start() -> str:
    text = README.read_text("utf-8")
    return text.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def test_the_quick_start_says_pip_needs_pypi_and_keeps_pip_quiet():
    section = quick_start()
    command = re.search(r"```bash\n(.*?)\n```", section, re.S).group(1)
    assert "pip install -q " in command  # pip's own output would bury the search results
    prose = section.split("```bash", 1)[0]
    assert "PyPI" in prose and "offline" in prose
