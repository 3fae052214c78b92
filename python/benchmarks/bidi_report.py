"""Writes the report section of the bidi benchmark parts from the JSON that bidi-run.sh left.

Usage: bidi_report.py overhead DIR INTRO   (benchmarks/parts/30-round-overhead.sh)
       bidi_report.py clients DIR INTRO    (benchmarks/parts/40-thousand-clients.sh)"""

import json
import pathlib
import statistics
import sys

MIB = 1024 * 1024


def load(path):
    text = path.read_text().strip()
    if not text:
        raise SystemExit(f"bidi_report.py: {path} is empty (see the .log beside it)")
    return json.loads(text.splitlines()[-1])


def check_all_aggregated(server, clients):
    expected = [server["clients"]] * server["rounds"]
    if server["fit_results"] != expected or server["failures"] != 0:
        raise SystemExit(
            f"bidi_report.py: {server['server']} server aggregated {server['fit_results']} "
            f"results with {server['failures']} failures; expected {expected}, none failed"
        )
    if clients["errors"]:
        raise SystemExit(f"bidi_report.py: clients failed: {clients['first_error']}")


def overhead(directory, intro):
    rows = []
    for plan in sorted(directory.glob("*.java.plan"), key=lambda p: p.name):
        config = plan.name[: -len(".java.plan")]
        _, warm = (int(x) for x in plan.read_text().split())
        figures = {}
        for server in ("java", "flwr"):
            prefix = directory / f"{config}.{server}"
            s = load(pathlib.Path(f"{prefix}.server.json"))
            c = load(pathlib.Path(f"{prefix}.clients.json"))
            check_all_aggregated(s, c)
            times = c["round_seconds"][warm:]
            figures[server] = (
                statistics.median(times) - c["max_compute_seconds"],
                len(times),
                s["peak_rss_bytes"],
            )
        rows.append((s["clients"], s["params"], figures))
    out = ["## Round overhead (bidi stream)", "", intro.strip(), ""]
    out.append(
        "| clients | model (float32) | Java ms | flwr ms | Java / flwr | target <= 0.5 "
        "| rounds measured | Java server peak RSS | flwr peak RSS |"
    )
    out.append("|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for clients, params, f in rows:
        java, flwr = f["java"], f["flwr"]
        ratio = java[0] / flwr[0]
        out.append(
            f"| {clients} | {params:,} | {java[0] * 1e3:.1f} | {flwr[0] * 1e3:.1f} "
            f"| {ratio:.2f} | {'met' if ratio <= 0.5 else 'missed'} | {java[1]} "
            f"| {java[2] / MIB:.0f} MiB | {flwr[2] / MIB:.0f} MiB |"
        )
    return "\n".join(out) + "\n"


def clients_section(directory, intro):
    s = load(directory / "java.server.json")
    c = load(directory / "java.clients.json")
    check_all_aggregated(s, c)
    n, params = s["clients"], s["params"]
    out = [f"## {n:,} clients (bidi stream)", "", intro.strip(), ""]
    rss = s["peak_rss_bytes"]
    per_client = (c["peak_rss_bytes"] - c["baseline_rss_bytes"]) / n
    java_round = statistics.mean(c["round_seconds"])
    out.append(
        f"{n:,} clients, {params:,}-parameter model ({params * 4 / 1e6:.2f} MB), "
        f"{s['rounds']} rounds; Java server: every round aggregated all {n:,} results."
    )
    out.append("")
    out.append("| server | peak RSS | round time (s) | results per round | client JVM peak RSS |")
    out.append("|---|---:|---:|---|---:|")
    out.append(
        f"| Java | {rss / MIB:.0f} MiB | {java_round:.2f} | {s['fit_results']} "
        f"| {c['peak_rss_bytes'] / MIB:.0f} MiB ({per_client / 1024:.0f} KiB per client "
        f"above the JVM's baseline) |"
    )
    status = int((directory / "flwr.status").read_text())
    flwr_rss = None
    if status == 0:
        fs = load(directory / "flwr.server.json")
        fc = load(directory / "flwr.clients.json")
        flwr_rss = fs["peak_rss_bytes"]
        flwr_round = statistics.mean(fc["round_seconds"])
        out.append(
            f"| flwr start_server | {flwr_rss / MIB:.0f} MiB | {flwr_round:.2f} "
            f"| {fs['fit_results']} (failures {fs['failures']}) "
            f"| {fc['peak_rss_bytes'] / MIB:.0f} MiB |"
        )
    else:
        why = "did not finish in time" if status == 124 else f"failed (exit {status})"
        out.append(f"| flwr start_server | - | - | {why}; see flwr.server.log | - |")
    out.append("")
    if "fit_round_seconds_mean" in s:
        # the server's own flower.round.duration timer (flower_round_duration_seconds)
        out.append(
            f"Java server's own round timers: fit {s['fit_round_seconds_mean']:.2f} s mean "
            f"(max {s['fit_round_seconds_max']:.2f}), evaluate "
            f"{s['evaluate_round_seconds_mean']:.2f} s mean; of which validating and folding "
            f"results (flower.aggregation.fold) {s['fold_seconds_total'] / s['rounds']:.2f} s "
            "per round."
        )
        out.append("")
    met = "met" if rss <= 1e9 else "missed"
    line = f"Target: Java server peak RSS <= 1 GB: {rss / 1e9:.2f} GB, {met}."
    if flwr_rss:
        line += f" flwr's peak RSS is {flwr_rss / rss:.1f}x the Java server's."
    out.append(line)
    return "\n".join(out) + "\n"


def main():
    kind, directory, intro = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    intro_text = pathlib.Path(intro).read_text()
    if kind == "overhead":
        sys.stdout.write(overhead(directory, intro_text))
    elif kind == "clients":
        sys.stdout.write(clients_section(directory, intro_text))
    else:
        raise SystemExit(f"bidi_report.py: unknown kind '{kind}' (overhead or clients)")


if __name__ == "__main__":
    main()
