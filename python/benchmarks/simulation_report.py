"""Writes the report section of benchmarks/parts/80-simulation.sh from what it left in DIR:
java.json (SimulationRun), flwr.json + flwr.npz (python/simulation/flwr_sim.py) and the process
tree memory of each (java.mem.json, flwr.mem.json from treemem.py).

Usage: simulation_report.py DIR INTRO

Fails (exit 1, after printing why) when the two final models differ by more than TOLERANCE: the
same data, initial model, arithmetic and FedAvg, so only the order of floating-point sums
(numpy's dot products, the order results are folded) may differ."""

import json
import pathlib
import sys

import numpy as np

MIB = 1024 * 1024
TOLERANCE = 1e-9  # largest absolute difference of any parameter (they are of order 0.1 to 1)
TARGET = 10.0


def load(path):
    text = path.read_text().strip()
    if not text:
        raise SystemExit(f"simulation_report.py: {path} is empty (see the .log beside it)")
    return json.loads(text)


def rate(run):
    """Rounds per second over all rounds (the first has Ray's actors' start, the JVM's JIT)."""
    return run["rounds"] / run["rounds_seconds"]


def steady_rate(run):
    """Rounds per second from the start of round 2 to the end."""
    return (run["rounds"] - 1) / (run["rounds_seconds"] - run["round_starts"][1])


def main():
    directory, intro = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    java, flwr = load(directory / "java.json"), load(directory / "flwr.json")
    java_mem, flwr_mem = load(directory / "java.mem.json"), load(directory / "flwr.mem.json")
    for key in ("supernodes", "rounds", "local_steps", "seed"):
        if java[key] != flwr[key]:
            raise SystemExit(f"simulation_report.py: {key} differs: {java[key]} vs {flwr[key]}")
    with np.load(directory / "flwr.npz") as z:
        flwr_model = [z[f"arr_{i}"] for i in range(len(z.files))]
    java_model = [np.asarray(a, dtype=np.float64) for a in java["model"]]
    if [a.shape for a in java_model] != [a.shape for a in flwr_model]:
        raise SystemExit(
            "simulation_report.py: model shapes differ: "
            f"{[a.shape for a in java_model]} vs {[a.shape for a in flwr_model]}"
        )
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(java_model, flwr_model, strict=True))
    scale = max(float(np.max(np.abs(a))) for a in flwr_model)

    n, rounds = java["supernodes"], java["rounds"]
    ratio = rate(java) / rate(flwr)
    steady_ratio = steady_rate(java) / steady_rate(flwr) if rounds > 1 else None
    out = [f"## Simulation: {n:,} virtual clients, side by side with flwr's run_simulation", ""]
    out += [intro.read_text().strip(), ""]
    out.append(
        f"{n:,} virtual clients, {rounds} rounds, every client fits every round "
        f"({java['local_steps']} local SGD steps each), seed {java['seed']}."
    )
    loads = [(directory / f"load.{w}").read_text().strip() for w in ("start", "end")]
    out.append(
        f"flwr {flwr['flwr_version']}, Ray {flwr['ray_version']}; the machine's 1-minute load "
        f"average {loads[0]} before the part, {loads[1]} after it."
    )
    out.append("")
    out.append(
        "| | rounds/s | rounds/s from round 2 | rounds time | whole run (start-up included) "
        "| peak PSS, process tree | peak RSS, process tree | largest process's VmHWM "
        "| processes |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    # the JVM's own VmHWM, read at its end, is its exact peak (a 0.2 s sample can miss it)
    java_mem["max_hwm_bytes"] = max(java_mem["max_hwm_bytes"], java["peak_rss_bytes"])
    for name, r, m in (
        ("Java `Simulation`", java, java_mem),
        ("flwr `run_simulation` (Ray)", flwr, flwr_mem),
    ):
        out.append(
            f"| {name} | {rate(r):.3g} | {steady_rate(r) if rounds > 1 else float('nan'):.3g} "
            f"| {r['rounds_seconds']:.2f} s "
            f"| {m['wall_seconds']:.1f} s | {m['peak_pss_bytes'] / MIB:.0f} MiB "
            f"| {m['peak_rss_bytes'] / MIB:.0f} MiB | {m['max_hwm_bytes'] / MIB:.0f} MiB "
            f"| {m['max_processes']} |"
        )
    out.append("")
    # against the JVM's exact peak RSS (never below its PSS): the ratio errs in flwr's favour
    java_peak = max(java_mem["peak_pss_bytes"], java_mem["max_hwm_bytes"])
    pss_ratio = flwr_mem["peak_pss_bytes"] / java_peak
    # judged on the lower of the two ratios
    verdict = "met" if min(ratio, steady_ratio or ratio) >= TARGET else "missed"
    out.append(
        f"Java / flwr throughput: **{ratio:.1f}x** over all rounds, "
        f"{steady_ratio or float('nan'):.1f}x from round 2 on (target >= {TARGET:.0f}x on the "
        f"lower: {verdict}); "
        f"peak memory, flwr's process tree (PSS) / the JVM's peak RSS: {pss_ratio:.1f}x."
    )
    out.append("")
    out.append(
        f"Final models agree: the largest difference of any parameter is {diff:.1e} "
        f"(parameters up to {scale:.2f} in size; the part fails above {TOLERANCE:.0e})."
    )
    print("\n".join(out) + "\n")
    if not diff <= TOLERANCE:
        print(
            f"simulation_report.py: final models differ by {diff:.3e} > {TOLERANCE:.0e}",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
