"""The README's Python example runs as written."""

import os
import re

from conftest import ROOT


def test_readme_example_runs(tmp_path, capsys):
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the README's Python section has an example"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(blocks[0], "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    printed = capsys.readouterr().out
    assert printed.startswith("4 3\n"), printed
    assert (tmp_path / "profile.png").stat().st_size > 0
