"""Turns a JMH JSON result and the anchor's JSON into a section of the benchmark report.

Usage: report.py JMH_JSON ANCHOR_JSON TITLE INTRO_FILE"""

import json
import sys


def main(jmh_path, anchor_path, title, intro_path):
    with open(jmh_path, encoding="utf-8") as f:
        jmh = json.load(f)
    with open(anchor_path, encoding="utf-8") as f:
        anchor = json.load(f)
    with open(intro_path, encoding="utf-8") as f:
        intro = f.read()
    print(f"## {title}\n")
    print(intro.rstrip() + "\n")
    print("| benchmark | model | Java ms/op (± 99.9% CI) | Python ms/op | ratio |")
    print("|---|---|---:|---:|---:|")
    for r in jmh:
        name = r["benchmark"].rsplit(".", 1)[1]
        model = r["params"]["model"]
        score = r["primaryMetric"]["score"]
        err = r["primaryMetric"]["scoreError"]
        err_s = f"{err:.3f}" if isinstance(err, float) else "-"  # "NaN" after one iteration
        py = anchor.get(f"{name}:{model}")
        ratio = f"{py / score:.2f}" if py else "-"
        py_s = f"{py:.3f}" if py else "-"
        print(f"| {name} | {model} | {score:.3f} ± {err_s} | {py_s} | {ratio} |")
    print()


if __name__ == "__main__":
    main(*sys.argv[1:5])
