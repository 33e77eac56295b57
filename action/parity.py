"""The action's main step: convert, check parity, compare with the baseline, and say what to do next.

Reads its inputs from T2T_* variables and writes GitHub's files: the job summary ($GITHUB_STEP_SUMMARY)
and the step outputs ($GITHUB_OUTPUT): passed, report, regressed, exit-code, output-dir, comment (a
Markdown file for the pull-request comment) and gate (the exit code the last step ends the job with,
after the artifacts are uploaded and the comment posted). It exits 0 itself unless it cannot run.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

EXIT_PARITY = 3


def convert_argv(env: dict[str, str], out: Path, junit: Path, summary: Path) -> list[str]:
    argv = ["torch2tf", "convert", env["T2T_MODEL"]]
    for spec in shlex.split(env.get("T2T_INPUTS", "")):
        argv += ["--input", spec]
    if env.get("T2T_INPUT_DATA"):
        argv += ["--input-data", env["T2T_INPUT_DATA"]]
    for tolerance in shlex.split(env.get("T2T_TOLERANCE", "")):
        argv += ["--tolerance", tolerance]
    return argv + ["-o", str(out), "--force", "--junit", str(junit), "--markdown", str(summary)]


def find_baseline(env: dict[str, str], report: Path | None) -> tuple[Path | None, str]:
    """The report to compare with, and a line for the summary when there is none."""
    wanted = env.get("T2T_BASELINE", "")
    if not wanted:
        return None, ""
    if wanted != "default-branch":
        path = Path(wanted)
        found = path if (path / "report.json").is_file() or path.is_file() else None
        return found, "" if found else f"baseline {wanted} not found: no comparison"
    keep = Path(env["T2T_BASELINE_DIR"])
    if env.get("T2T_DEFAULT_BRANCH") == "true":  # this run becomes the baseline of later pull requests
        if report is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for name in ("report.json", "manifest.json"):
                if (report.parent / name).is_file():
                    shutil.copy2(report.parent / name, keep / name)
        return None, ""
    if (keep / "report.json").is_file():
        return keep, ""
    return None, "no baseline yet: the default branch has not run this action for this model"


def gate(fail_on: str, code: int, regressed: bool) -> int:
    if fail_on == "never":
        return 0
    if code != 0:
        return code
    return EXIT_PARITY if fail_on == "regression" and regressed else 0


def run(env: dict[str, str]) -> dict[str, str]:
    """Everything the step does; returns the step outputs."""
    summary, work = Path(env["GITHUB_STEP_SUMMARY"]), Path(env.get("RUNNER_TEMP", "."))
    out = Path(env.get("T2T_OUTPUT_DIR") or "torch2tf-out").resolve()
    junit = work / "torch2tf-junit.xml"
    code = subprocess.run(convert_argv(env, out, junit, summary), check=False).returncode
    report = out / "report.json" if (out / "report.json").is_file() and code in (0, EXIT_PARITY) else None
    if report is None:
        with open(summary, "a") as fh:
            fh.write(f"## torch2tf: `{env['T2T_MODEL']}` could not be converted (exit {code})\n\n"
                     "The reason is the `error:` line in this step's log.\n")
    elif junit.is_file():
        shutil.move(junit, out / "junit.xml")
    baseline, note = find_baseline(env, report)
    regressed, comment = False, ""
    if note:
        with open(summary, "a") as fh:
            fh.write(f"\n_{note}._\n")
    if baseline is not None and report is not None:
        diff_md = work / "torch2tf-diff.md"
        diff_md.unlink(missing_ok=True)
        diff = subprocess.run(["torch2tf", "report", "diff", str(baseline), str(out), "--markdown", str(diff_md),
                               "--json", str(work / "torch2tf-diff.json"),
                               "--regression-factor", env.get("T2T_REGRESSION_FACTOR") or "2.0"], check=False)
        regressed = diff.returncode == EXIT_PARITY
        if diff_md.is_file():
            with open(summary, "a") as fh:
                fh.write("\n" + diff_md.read_text())
            comment = str(diff_md)
    if not comment and report is not None:  # no comparison: the comment carries the parity report itself
        from torch2tf.validation.markdown import DIFF_MARKER

        comment_md = work / "torch2tf-comment.md"
        comment_md.write_text(f"{DIFF_MARKER}\n{(out / 'report.md').read_text()}")
        comment = str(comment_md)
    return {"passed": "true" if code == 0 else "false", "report": str(report or ""), "exit-code": str(code),
            "regressed": "true" if regressed else "false", "output-dir": str(out) if out.is_dir() else "",
            "comment": comment, "gate": str(gate(env.get("T2T_FAIL_ON", "parity"), code, regressed))}


def main() -> None:
    env = dict(os.environ)
    if env.get("T2T_FAIL_ON", "parity") not in ("parity", "regression", "never"):
        sys.exit(f"fail-on must be parity, regression or never, not {env['T2T_FAIL_ON']!r}")
    outputs = run(env)
    with open(env["GITHUB_OUTPUT"], "a") as fh:
        fh.writelines(f"{name}={value}\n" for name, value in outputs.items())
    print(f"torch2tf: passed={outputs['passed']} regressed={outputs['regressed']} gate={outputs['gate']}")


if __name__ == "__main__":
    main()
