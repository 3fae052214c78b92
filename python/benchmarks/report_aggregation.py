"""The aggregation section of the benchmark report: the server's fold and the read-only ceiling
from JMH (FedAvgBenchmark), flwr's aggregate from aggregation_anchor.py, all from the same run.

Usage: report_aggregation.py ANCHOR_JSON INTRO_FILE JMH_JSON..."""

import json
import sys

VALUES = {
    "cifar-cnn": 62_006,
    "flat-1m": 1_000_000,
    "resnet18-sized": 11_689_512,
    "flat-100m": 100_000_000,
}
TARGET = 0.80


def main(anchor_path, intro_path, *jmh_paths):
    with open(anchor_path, encoding="utf-8") as f:
        anchor = json.load(f)
    with open(intro_path, encoding="utf-8") as f:
        intro = f.read()
    scores = {}
    for path in jmh_paths:
        with open(path, encoding="utf-8") as f:
            for r in json.load(f):
                name = r["benchmark"].rsplit(".", 1)[1]
                # the JDK's major version: the fold also runs on a newer JDK beside the SDK's 17
                jdk = str(r.get("jdkVersion", "?")).split(".")[0]
                key = (r["params"]["model"], int(r["params"]["clients"]), jdk)
                scores.setdefault(key, {})[name] = r["primaryMetric"]["score"]
    print("## Aggregation\n")
    print(intro.rstrip() + "\n")
    print(
        "| model | updates | JDK | Java ms | Java GB/s | ceiling GB/s | % of ceiling | flwr ms |"
        " ratio (flwr / Java) | target (80% of ceiling) met? |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    order = list(VALUES)
    for model, clients, jdk in sorted(scores, key=lambda k: (order.index(k[0]), k[2], k[1])):
        s = scores[(model, clients, jdk)]
        fold = s.get("aggregateRound")
        ceiling = s.get("readCeiling")
        gb = 4 * VALUES[model] * clients / 1e9
        fold_gbs = gb / (fold / 1000) if fold else None
        ceil_gbs = gb / (ceiling / 1000) if ceiling else None
        share = ceiling / fold if fold and ceiling else None
        py = anchor.get(f"aggregateRound:{model}:{clients}")
        if isinstance(py, (int, float)):
            py_s, ratio = f"{py:.1f}", f"{py / fold:.2f}" if fold else "-"
        else:
            py_s, ratio = (py or "-"), "-"
        met = "-" if share is None else ("yes" if share >= TARGET else "no")
        print(
            f"| {model} | {clients} | {jdk} | {fold:.2f} | {fold_gbs:.2f} | {ceil_gbs:.2f} |"
            f" {100 * share:.0f}% | {py_s} | {ratio} | {met} |"
        )
    print()


if __name__ == "__main__":
    main(*sys.argv[1:])
