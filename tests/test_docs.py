"""The documentation: the site builds with warnings as errors, and every command block of README.md and
docs/ runs as written, in order, in a fresh copy of the repository.

A block is a fenced ```sh or ```python block; ```text, ```yaml and the rest are shown, not run. A line
`<!-- docs-test: skip (REASON) -->` right before a block skips it (Docker, a cluster, a package install);
nothing else is skipped. Blocks share one directory, so a page's commands may use what an earlier block
made (docs/index.md says the pages follow the README's quick start). A block's own `&` jobs (the local
server) run on until the test ends; then every process a block started is stopped.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

FENCE = re.compile(r"(?P<marker><!-- docs-test: skip \((?P<reason>[^)]*)\) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)```",
                   re.S)
RUN = {"sh": ["bash", "-euo", "pipefail", "-c"], "python": [sys.executable, "-c"]}
BLOCK_TIMEOUT_S = 900
IGNORED = shutil.ignore_patterns(".git", ".venv*", "out", "site", "zoo", "models", ".pytest_cache", "__pycache__",
                                 ".ruff_cache", ".import_linter_cache", "*.egg-info")


@dataclass(frozen=True)
class Block:
    page: str  # README.md or docs/NAME.md
    line: int  # of the opening fence
    lang: str
    code: str
    skip: str | None  # the reason, for a skipped block

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(text: str, page: str) -> list[Block]:
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start("lang")) + 1
        found.append(Block(page, line, match["lang"], match["code"], match["reason"]))
    return found


def pages() -> list[str]:
    """README.md, then docs/ in the site's order."""
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    return ["README.md", *[f"docs/{next(iter(entry.values()))}" for entry in nav]]


def test_blocks_are_found_with_their_line_and_skip_reason():
    text = "intro\n```sh\necho one\n```\n\n<!-- docs-test: skip (needs Docker) -->\n```sh\ndocker ps\n```\n" \
           "```text\nnot run\n```\n"
    found = blocks(text, "X.md")
    assert [(b.line, b.lang, b.code, b.skip) for b in found] == [
        (2, "sh", "echo one\n", None), (7, "sh", "docker ps\n", "needs Docker"), (10, "text", "not run\n", None)]


def test_every_page_of_docs_is_in_the_site_navigation():
    listed = set(pages()[1:])
    assert listed == {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / "parity" / "index.html").is_file()


def _fresh_copy(destination: Path) -> Path:
    """The repository's files as a clone has them: git's list where there is one, else the tree."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True) if (REPO / ".git").exists() else None
    if listed is None or listed.returncode != 0:
        shutil.copytree(REPO, destination, ignore=IGNORED, symlinks=True)
        return destination
    for name in filter(None, listed.stdout.decode().split("\0")):
        source, target = REPO / name, destination / name
        if source.is_file() or source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return destination


def _environment(fresh: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TORCH2TF_CACHE_DIR", "TORCH2TF_NO_CACHE")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TORCH2TF_CACHE_DIR"] = str(fresh / ".cache" / "torch2tf")  # a first user's empty cache
    return env


@pytest.mark.slow
def test_every_command_block_runs_as_written(tmp_path):
    fresh = _fresh_copy(tmp_path / "clone")
    env, started, ran, skipped = _environment(fresh), [], [], []
    try:
        for page in pages():
            for block in blocks((REPO / page).read_text(), page):
                if block.lang not in RUN:
                    continue
                if block.skip:
                    skipped.append(f"{block.where} ({block.skip})")
                    continue
                log = tmp_path / f"block-{len(ran) + 1}.log"
                with open(log, "w") as out:  # a file, not a pipe: a block's `&` job must not hold the test
                    proc = subprocess.Popen([*RUN[block.lang], block.code], cwd=fresh, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
                    started.append(proc.pid)
                    try:
                        code = proc.wait(timeout=BLOCK_TIMEOUT_S)
                    except subprocess.TimeoutExpired:
                        code = f"timeout after {BLOCK_TIMEOUT_S} s"
                ran.append(block.where)
                assert code == 0, (f"{block.where}: the {block.lang} block failed ({code}):\n{block.code}"
                                   f"--- its output (the end) ---\n{log.read_text()[-4000:]}")
    finally:
        for pgid in started:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    assert len(ran) >= 15, ran
    assert all("Docker" in s or "cluster" in s or "install" in s for s in skipped), skipped
