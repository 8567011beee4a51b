"""README is a short front page with no history, its measured rows are those of the last `make bench`
(docs/benchmarks.md), `make bench` rewrites that table and keeps the notes around it, and every link
in README and docs/ leads somewhere. (tests/test_commands.py checks the commands they name.)"""

from __future__ import annotations

import re

import yaml

from helpers import PROJECT

README = PROJECT / "README.md"
BENCHMARKS = PROJECT / "docs" / "benchmarks.md"
PAGES = [README, *sorted((PROJECT / "docs").glob("*.md"))]
HISTORY = re.compile(r"\bissues?\b|\b(?:this|last|next|earlier|previous) round\b|\b20\d\d-\d\d-\d\d\b", re.IGNORECASE)


def table_rows(text: str) -> list[str]:
    """The body rows of the Markdown tables in text (header and separator rows left out)."""
    lines = [*text.splitlines(), ""]
    return [line for line, after in zip(lines, lines[1:])
            if line.startswith("| ") and not line.startswith("| ---") and not after.startswith("| ---")]


def section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def slug(heading: str) -> str:
    """The anchor GitHub and the Hub give a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_is_short_and_tells_no_history():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    assert not HISTORY.findall(text)


def test_readme_front_matter_configures_the_space_with_login():
    text = README.read_text()
    assert text.startswith("---\ntitle:")
    front = yaml.safe_load(text.split("---\n", 2)[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py" and front["hf_oauth"] is True


def test_readme_measured_rows_are_rows_of_the_last_bench_run():
    quoted = table_rows(section(README.read_text(), "## Measured"))
    measured = BENCHMARKS.read_text().split("<!-- make bench: start -->", 1)[1].split("<!-- make bench: end -->", 1)[0]
    assert len(quoted) >= 5
    assert set(quoted) <= set(table_rows(measured)), set(quoted) - set(table_rows(measured))


def test_every_link_in_readme_and_docs_leads_to_a_file_and_heading():
    broken = []
    for page in PAGES:
        for target, anchor in re.findall(r"\]\((?!https?:|mailto:)([^)#\s]*)(?:#([^)\s]+))?\)", page.read_text()):
            linked = (page.parent / target).resolve() if target else page
            if not linked.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.MULTILINE)
                if anchor not in {slug(heading) for heading in headings}:
                    broken.append(f"{page.name}: {target}#{anchor}")
    assert not broken, broken


def test_make_bench_rewrites_the_table_and_keeps_the_notes(tmp_path):
    from bench.run import TABLE_END, TABLE_START, write_benchmarks

    page = tmp_path / "benchmarks.md"
    original = BENCHMARKS.read_text()
    page.write_text(original)
    table = "Measured 2030-01-01 on 2 cores, x86_64, model test.\n\n| what | measured | target |\n| --- | --- | --- |\n| a | 1 | 2 |"
    write_benchmarks(table, page)
    written = page.read_text()
    before, after = original.split(TABLE_START)[0], original.split(TABLE_END)[1]
    assert written == f"{before}{TABLE_START}\n{table}\n{TABLE_END}{after}"

    bare = tmp_path / "new.md"
    write_benchmarks(table, bare)
    assert table in bare.read_text() and bare.read_text().count(TABLE_START) == 1
