"""JUnit XML: one testcase per target × output, so CI systems show parity like test results."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from torch2tf.records import Report


def write_junit(report: Report, path: Path) -> None:
    suite = ET.Element("testsuite", name="torch2tf-parity")
    cases = failures = 0
    for entry in report.parity:
        if not entry.outputs:
            cases, failures = cases + 1, failures + 1
            case = ET.SubElement(suite, "testcase", classname=f"{entry.target}_vs_{entry.reference}", name="run")
            note = "; ".join(entry.errors)
            ET.SubElement(case, "failure", message=note or "parity failed").text = note
        for out in entry.outputs:
            cases += 1
            case = ET.SubElement(suite, "testcase", classname=f"{entry.target}_vs_{entry.reference}", name=out.name)
            case.set("time", "0")
            ET.SubElement(case, "system-out").text = (
                f"max_abs={out.max_abs:.3g} max_rel={out.max_rel:.3g} mean_abs={out.mean_abs:.3g} "
                f"cosine={out.cosine:.6f} atol={out.atol}")
            if not out.passed:
                failures += 1
                failure = ET.SubElement(case, "failure", message=out.note or "parity failed")
                failure.text = out.note
    for regression in report.regressions:
        cases += 1
        failures += 1
        case = ET.SubElement(suite, "testcase", classname="baseline",
                             name=f"{regression.target}.{regression.output}.{regression.figure}")
        ET.SubElement(case, "failure", message=f"{regression.figure} {regression.value:.3g} > "
                                               f"{regression.factor} × baseline {regression.baseline:.3g}")
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
