"""The README and the guides in docs/ (server-free): short README with two Quick-start commands, no
issue references (also in the command's help), every link and picture resolves, every path of the
architecture's "where to look" table exists, and the commands they show exist with their options."""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
GUIDES = sorted((REPO / "docs").glob("*.md"))
DOCS = [README, *GUIDES]
GUIDE_NAMES = {
    "architecture.md",
    "benchmarks.md",
    "clinic-guide.md",
    "development.md",
    "operations.md",
    "security.md",
    "stations.md",
}

# History belongs to git: "issue 18", "issues 3", "#14", "(issue …", "stop 27", tried-and-rejected logs.
HISTORY = re.compile(
    r"\bissues?\s*#?\d+|\(issue\b|(?<![\w&/])#\d+\b|\bstop\s+\d+|tried and rejected|closing note",
    re.IGNORECASE,
)
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def _section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section (up to the next heading of level 1 or 2)."""
    match = re.search(rf"^## {re.escape(heading)}[ \t]*$(.*?)(?=^#{{1,2}} |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no section '## {heading}'"
    return match.group(1)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def _anchors(path: Path) -> frozenset[str]:
    text = FENCE.sub("", path.read_text())
    return frozenset(_slug(m.group(1)) for m in re.finditer(r"^#{1,6} +(.+)$", text, re.MULTILINE))


def test_every_guide_is_there() -> None:
    assert {p.name for p in GUIDES} >= GUIDE_NAMES


def test_the_readme_is_short() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines (at most 150): move detail to docs/"


def test_the_quick_start_has_exactly_the_two_commands() -> None:
    section = _section(README.read_text(), "Quick start")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    commands = [line for line in lines if line]
    assert commands == ["make demo", "make test"]


def test_the_readme_links_every_guide() -> None:
    targets = {m.group(1) for m in LINK.finditer(README.read_text())}
    missing = {name for name in GUIDE_NAMES if f"docs/{name}" not in targets}
    assert not missing, f"README.md does not link {sorted(missing)}"


@pytest.mark.parametrize("doc", DOCS, ids=_rel)
def test_no_issue_references_or_development_logs(doc: Path) -> None:
    found = [
        f"line {n}: {line.strip()}"
        for n, line in enumerate(doc.read_text().splitlines(), start=1)
        if HISTORY.search(line)
    ]
    assert not found, f"{_rel(doc)} tells history (it belongs to git):\n" + "\n".join(found)


@pytest.mark.parametrize("doc", DOCS, ids=_rel)
def test_every_relative_link_and_picture_resolves(doc: Path) -> None:
    broken = []
    for match in LINK.finditer(FENCE.sub("", doc.read_text())):
        target = match.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}: no heading '#{anchor}' in {_rel(path)}")
    assert not broken, f"{_rel(doc)}:\n" + "\n".join(broken)


@pytest.mark.parametrize("doc", DOCS, ids=_rel)
def test_every_repository_path_in_backticks_exists(doc: Path) -> None:
    top = "|".join(re.escape(p.name) for p in REPO.iterdir() if p.is_dir() and not p.name.startswith("."))
    spans = re.findall(r"`([^`\s]+)`", doc.read_text())
    # a test id (`tests/x.py::test_y`) names its file
    paths = [
        s.split("#")[0].split("::")[0]
        for s in spans
        if re.match(rf"(?:{top}|\.ci)/", s) and not re.search(r"[<*{…]", s)
    ]
    missing = sorted({p for p in paths if not (REPO / p).exists()})
    assert not missing, f"{_rel(doc)} names paths that do not exist: {missing}"


def _where_to_look_rows() -> list[list[str]]:
    section = _section((REPO / "docs" / "architecture.md").read_text(), "Where to look")
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [re.findall(r"`([^`]+)`", row) for row in rows[2:]]  # after the header and its rule


def test_the_where_to_look_table_names_existing_paths_and_names() -> None:
    rows = _where_to_look_rows()
    assert len(rows) >= 10
    missing = []
    for spans in rows:
        paths = [s for s in spans if "/" in s and " " not in s]
        for path in paths:
            if not (REPO / path).exists():
                missing.append(path)
        # A function or agent named beside its files is defined in one of them.
        files = [REPO / p for p in paths if (REPO / p).is_file()]
        for name in (s for s in spans if re.fullmatch(r"[a-z_][a-z0-9_]*", s) and files):
            if not any(re.search(rf"\b{name}\b", f.read_text()) for f in files):
                missing.append(f"{name} (in {', '.join(_rel(f) for f in files)})")
    assert not missing, f"docs/architecture.md 'Where to look' names what does not exist: {missing}"


def test_the_where_to_look_table_answers_the_newcomers_questions() -> None:
    section = _section((REPO / "docs" / "architecture.md").read_text(), "Where to look").lower()
    for question in ("pelvic drop computed", "written to influxdb", "alert sent", "clinic added", "edit a programme"):
        assert question in section, question


# --- the command line ---------------------------------------------------------------------------


@cache
def _cli():
    import typer

    from gaitstream.cli import build_app

    app = build_app()
    return app, typer.main.get_command(app)


def _commands(command, path=()):
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


def test_the_command_help_tells_no_history() -> None:
    from typer.testing import CliRunner

    app, root = _cli()
    runner = CliRunner()
    found = []
    for path, command in _commands(root):
        texts = [command.help or "", command.short_help or ""]
        texts += [getattr(param, "help", None) or "" for param in command.params]
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        # The rendered help, its boxes and line breaks removed (a reference may be wrapped).
        texts.append(" ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split()))
        found += [f"gaitstream {' '.join(path)}: {m.group(0)!r}" for t in texts for m in HISTORY.finditer(t)]
    assert not found, "\n".join(sorted(set(found)))


def _shown_commands() -> list[tuple[str, str]]:
    """(document, command line) of every command the docs show, in code blocks and inline code."""
    shown = []
    for doc in DOCS:
        text = doc.read_text()
        lines = []
        for block in re.findall(r"^```(?:sh|bash)?\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
            lines += block.replace("\\\n", " ").splitlines()
        lines += re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
        shown += [(_rel(doc), line) for line in lines]
    return shown


def _gaitstream_args(line: str) -> list[str] | None:
    """The arguments of a gaitstream command in ``line`` (also through compose's kafka-access,
    whose entrypoint is gaitstream), or None."""
    line = re.sub(r"\s#\s.*$", "", line)
    match = re.search(r"(?:^|[\s(\"])(?:\S*/)?gaitstream\s+(.+)$", line) or re.search(
        r"docker compose run --rm (?:-T )?kafka-access (.+)$", line
    )
    if match is None:
        return None
    try:
        command = match.group(1).split(" > ")[0].split(" | ")[0]
        return shlex.split(re.sub(r'\)"?\s*$', "", command))  # the end of eval "$(… stack env)"
    except ValueError:
        return None


def test_the_gaitstream_commands_shown_exist_with_their_options() -> None:
    _, root = _cli()
    wrong = []
    for doc, line in _shown_commands():
        args = _gaitstream_args(line)
        if not args:
            continue
        command, path = root, []
        for arg in args:
            subcommands = getattr(command, "commands", None)
            if not subcommands or not re.fullmatch(r"[a-z][a-z-]*", arg):
                break
            if arg not in subcommands:
                if not any(p.name == arg for p in command.params if not getattr(p, "opts", [""])[0].startswith("-")):
                    wrong.append(f"{doc}: `{line.strip()}`: no command '{' '.join([*path, arg])}'")
                break
            command, path = subcommands[arg], [*path, arg]
        options = {opt for p in command.params for opt in [*p.opts, *p.secondary_opts]} | {"--help"}
        for arg in args:
            name = arg.split("=", 1)[0]
            if name.startswith("--") and name not in options:
                wrong.append(f"{doc}: `{line.strip()}`: gaitstream {' '.join(path)} has no option {name}")
    assert not wrong, "\n".join(wrong)


def test_the_benchmark_and_make_commands_shown_exist() -> None:
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    wrong = []
    for doc, line in _shown_commands():
        for script, rest in re.findall(r"(benchmarks/[a-z_]+\.py)([^`#]*)", line):
            if not (REPO / script).exists():
                wrong.append(f"{doc}: {script} does not exist")
                continue
            source = (REPO / script).read_text()
            for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest):
                if f'"{option}"' not in source:
                    wrong.append(f"{doc}: {script} has no option {option}")
        for target in re.findall(r"(?:^|\s)make ([a-z][a-z-]*)", line):
            if target not in targets:
                wrong.append(f"{doc}: no make target '{target}'")
    assert not wrong, "\n".join(wrong)
