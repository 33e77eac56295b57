"""JUnit XML: one testcase per target × output, so CI systems show parity like test results."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def write_junit(report: dict[str, Any], path: Path) -> None:
    suite = ET.Element("testsuite", name="torch2tf-parity")
    cases = failures = 0
    for entry in report["parity"]:
        rows = entry["outputs"] or [{"name": "run", "passed": False, "note": "; ".join(entry.get("errors", []))}]
        for out in rows:
            cases += 1
            case = ET.SubElement(suite, "testcase", classname=f"{entry['target']}_vs_{entry['reference']}",
                                 name=out["name"])
            if "max_abs" in out:
                case.set("time", "0")
                ET.SubElement(case, "system-out").text = (
                    f"max_abs={out['max_abs']:.3g} max_rel={out['max_rel']:.3g} mean_abs={out['mean_abs']:.3g} "
                    f"cosine={out['cosine']:.6f} atol={out['atol']}")
            if not out["passed"]:
                failures += 1
                failure = ET.SubElement(case, "failure", message=out.get("note") or "parity failed")
                failure.text = out.get("note", "")
    for regression in report.get("regressions", []):
        cases += 1
        failures += 1
        case = ET.SubElement(suite, "testcase", classname="baseline",
                             name=f"{regression['target']}.{regression['output']}.{regression['figure']}")
        ET.SubElement(case, "failure", message=f"{regression['figure']} {regression['value']:.3g} > "
                                               f"{regression['factor']} × baseline {regression['baseline']:.3g}")
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
