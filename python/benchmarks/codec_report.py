"""Turns the codec section's JMH JSON results and codec_anchor.py's JSON into its report section:
Java and flwr/numpy milliseconds, their ratio, Java's MB/s and whether the 2x target is met.

Usage: codec_report.py TITLE INTRO_FILE ANCHOR_JSON[,ANCHOR_JSON...] JMH_JSON..."""

import json
import sys

TARGET = 2.0
# the Python operation each Java benchmark is measured against
PYTHON_OF = {
    "encodeModel": "encodeModel",
    "decodeModel": "decodeModel",
    "decodeModelCopy": "decodeModel",
    "decodeWire": "decodeWire",
}
WHAT = {
    "encodeModel": "encode (`fromArrays` / `ndarrays_to_parameters`)",
    "decodeModel": "decode, a view (`toArrays` / `parameters_to_ndarrays`)",
    "decodeModelCopy": "decode + one copy of every byte / `parameters_to_ndarrays`",
    "decodeWire": "wire: parse `ClientMessage` + decode / `FromString` + `parameters_to_ndarrays`",
}
ORDER = list(PYTHON_OF)


def main(title, intro_path, anchor_paths, *jmh_paths):
    anchor = {}
    for path in anchor_paths.split(","):
        with open(path, encoding="utf-8") as f:
            anchor.update(json.load(f))
    with open(intro_path, encoding="utf-8") as f:
        intro = f.read()
    results = []
    for path in jmh_paths:
        with open(path, encoding="utf-8") as f:
            results.extend(json.load(f))
    rows = []
    for r in results:
        name = r["benchmark"].rsplit(".", 1)[1]
        rows.append((name, r["params"]["model"], r["primaryMetric"]))
    models = list(dict.fromkeys(m for _, m, _ in rows))
    rows.sort(key=lambda x: (models.index(x[1]), ORDER.index(x[0])))
    print(f"## {title}\n")
    print(intro.rstrip() + "\n")
    print(
        "| operation | model | MB | Java ms/op (± 99.9% CI) | flwr/numpy ms/op | ratio "
        "| Java MB/s | target 2x |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, model, metric in rows:
        score = metric["score"]
        err = metric["scoreError"]
        err_s = f"{err:.3f}" if isinstance(err, float) else "-"  # "NaN" after one iteration
        nbytes = anchor.get(f"bytes:{model}")
        py = anchor.get(f"{PYTHON_OF[name]}:{model}")
        ratio = py / score if py else None
        mb_s = f"{nbytes / 1e6 / (score / 1e3):,.0f}" if nbytes else "-"
        mb = f"{nbytes / 1e6:.1f}" if nbytes else "-"
        met = "-" if ratio is None else ("met" if ratio >= TARGET else "**missed**")
        print(
            f"| {WHAT[name]} | {model} | {mb} | {score:.3f} ± {err_s} "
            f"| {py:.3f} | {ratio:.2f} | {mb_s} | {met} |"
            if py
            else f"| {WHAT[name]} | {model} | {mb} | {score:.3f} ± {err_s} | - | - | {mb_s} | - |"
        )
    print()


if __name__ == "__main__":
    main(*sys.argv[1:])
