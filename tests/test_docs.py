"""The docs: docs/api.md is what ``python -m evornn.apidoc`` writes and every public name
has a docstring; the tutorial's Python snippets run and its commands' options exist."""
import re
import shlex
from pathlib import Path

import pytest

from evornn import apidoc, cli

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_api_md_is_up_to_date_and_every_public_name_has_a_docstring():
    assert apidoc.missing() == []
    assert (DOCS / "api.md").read_text() == apidoc.render(), \
        "docs/api.md is stale: python -m evornn.apidoc > docs/api.md"
    names = [name for _, name, _ in apidoc.entries()]
    assert {"Network", "optimizer", "load", "Problem", "NSGA2.front", "read_front"} <= set(names)


def test_missing_docstrings_are_found():
    class Bare:
        def method(self):
            pass
    apidoc.PUBLIC[__name__] = ["Bare"]
    globals()["Bare"] = Bare
    try:
        assert apidoc.missing() == [f"{__name__}.Bare", f"{__name__}.Bare.method"]
    finally:
        del apidoc.PUBLIC[__name__], globals()["Bare"]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_the_tutorials_commands_parse():
    text = (DOCS / "tutorial.md").read_text()
    commands = [line.split("#")[0].strip() for b in blocks(text, "bash")
                for line in b.splitlines() if line.startswith("python -m evornn ")]
    assert len(commands) >= 10
    parser = cli.parser()
    for line in commands:
        argv = shlex.split(line)[3:]
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"docs/tutorial.md: {line!r} does not parse")


def test_the_tutorials_python_snippets_run(tmp_path, monkeypatch, capsys):
    """Blocks that start with '# NAME.py' are files to write; the others run in order, in
    one namespace, in a fresh directory (their runs go to runs/ there)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    ran = 0
    for code in blocks((DOCS / "tutorial.md").read_text(), "python"):
        first = code.splitlines()[0]
        if re.fullmatch(r"# \w+\.py", first):
            (tmp_path / first[2:]).write_text(code)
            continue
        exec(compile(code, "docs/tutorial.md", "exec"), namespace)
        ran += 1
    out = capsys.readouterr().out
    assert ran == 3 and "True 210\n" in out and "210 -0.0096\n" in out
    assert "['forget_bias', 'input_bias', 'readout']\n64\n" in out and "('fitness', 'economy') True" in out
