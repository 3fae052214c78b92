#!/usr/bin/env python3
"""Driver for Fleet API interop runs against a real flwr SuperLink (loopback only).

Run it with the flwr venv's interpreter (.venv/flwr/bin/python, flwr 1.42.0;
.venv/flwr-nightly/bin/python, flwr-nightly 1.43.0.dev20261026; or .venv/flwr-grpc/bin/python,
flwr 1.39.0); it finds the flwr executables next to that interpreter. Under flwr < 1.40 the
SuperLink's Fleet API is gRPC ("grpc-rere", its default carrier, and what that version's
SuperNodes speak): start-superlink then always places it on a free port and reports it as
both "fleet" and "fleet_grpc" (--grpc-fleet is implied).
Everything is bounded in time; children are killed (with their descendants) when the driver
exits, is interrupted or times out.

Sub-commands (each prints exactly one JSON object on stdout; logs go to files/stderr):

  start-superlink --state-dir D [--port 0] [--tls CERTDIR] [--enable-supernode-auth]
                  [--trace] [--grpc-fleet] [--max-lifetime 1800]
      Starts flower-superlink (one HTTP port serves Fleet, Control and Runtime APIs),
      waits for GET /health == 200, prints {"port", "control", "fleet", ...} and writes
      D/superlink.json. Stays in the foreground until SIGTERM/SIGINT, stdin EOF
      (only with --stop-on-stdin-eof), the SuperLink dying, or --max-lifetime.
      With --trace a recording proxy (trace_proxy.py) is started too; point SuperNodes at
      "fleet_traced" to have their Fleet traffic logged to D/fleet-trace.jsonl.

  supernode --superlink H:P --partition-id I [--num-partitions N] [--state-dir D]
            [--root-certificates CA] [--auth-key KEY] [--max-lifetime 1800]
      A Python flower-supernode, in the foreground like start-superlink.

  run --app DIR --superlink-control H:P --out D [--variant current|legacy]
      [--num-rounds 3] [--min-nodes 2] [--timeout 300] [--root-certificates CA]
      `flwr run`s the app, waits until the run is finished (or --timeout, then
      `flwr stop`s it), and prints {"run_id", "flwr_status", "outcome": <D/outcome.json>}.
      Exit code 0 only if the run is finished:completed and the ServerApp reported "ok".

  status --superlink-control H:P [--run-id R] [--root-certificates CA]
      `flwr ls` as JSON.

  register-node --superlink-control H:P --public-key F --root-certificates CA
      `flwr supernode register F` (needed for nodes when --enable-supernode-auth).

  stop --state-dir D
      SIGTERM to the start-superlink driver recorded in D/superlink.json.

  smoke --work-dir D [--variant current|legacy|both] [--auth] [--trace] [--timeout 300]
      Whole loop with two Python SuperNodes: superlink, nodes, run(s), teardown.
"""

import argparse
import sys
import tempfile

# The parts live in the package harness/ next to this file (on sys.path as the script's directory).
from harness import FLEET_DIR, control, smoke, superlink, supernode

DEFAULT_APP = FLEET_DIR / "app"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("start-superlink")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument(
        "--tls", metavar="CERTDIR", help="dir from make_certs.py (ca.crt, server.pem, server.key)"
    )
    p.add_argument("--enable-supernode-auth", action="store_true")
    p.add_argument("--trace", action="store_true", help="also start the recording Fleet proxy")
    p.add_argument(
        "--grpc-fleet",
        action="store_true",
        help="also serve the gRPC Fleet API on a free port (info: fleet_grpc)",
    )
    p.add_argument("--max-lifetime", type=float, default=1800)
    p.set_defaults(fn=superlink.cmd_start_superlink)

    p = sub.add_parser("supernode")
    p.add_argument("--superlink", required=True, help="Fleet address host:port")
    p.add_argument("--partition-id", type=int, required=True)
    p.add_argument("--num-partitions", type=int, default=2)
    p.add_argument("--state-dir", default=tempfile.gettempdir())
    p.add_argument("--root-certificates")
    p.add_argument("--auth-key", help="OpenSSH EC private key (make_certs.py node<i>)")
    p.add_argument("--max-lifetime", type=float, default=1800)
    p.set_defaults(fn=supernode.cmd_supernode)

    p = sub.add_parser("run")
    p.add_argument("--app", default=str(DEFAULT_APP))
    p.add_argument("--superlink-control", required=True)
    p.add_argument("--out", required=True)
    p.add_argument(
        "--variant",
        choices=["current", "legacy", "context", "custom"],
        default="current",
        help="fleetapp: current|legacy; msgapp (python/fleet/msgapp): context|custom",
    )
    p.add_argument("--num-rounds", type=int, default=3)
    p.add_argument("--min-nodes", type=int, default=2)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--root-certificates")
    p.add_argument("--run-config", action="append", help="extra k=v run config entries")
    p.set_defaults(fn=control.cmd_run)

    p = sub.add_parser("status")
    p.add_argument("--superlink-control", required=True)
    p.add_argument("--run-id")
    p.add_argument("--root-certificates")
    p.set_defaults(fn=control.cmd_status)

    p = sub.add_parser("register-node")
    p.add_argument("--superlink-control", required=True)
    p.add_argument("--public-key", required=True)
    p.add_argument("--root-certificates", required=True)
    p.set_defaults(fn=control.cmd_register_node)

    p = sub.add_parser("stop")
    p.add_argument("--state-dir", required=True)
    p.set_defaults(fn=superlink.cmd_stop)

    p = sub.add_parser("smoke")
    p.add_argument("--work-dir", required=True)
    p.add_argument("--app", default=str(DEFAULT_APP))
    p.add_argument("--variant", choices=["current", "legacy", "both"], default="both")
    p.add_argument("--num-rounds", type=int, default=3)
    p.add_argument(
        "--auth", action="store_true", help="TLS + --enable-supernode-auth + key registration"
    )
    p.add_argument("--trace", action="store_true", help="route node traffic through trace_proxy.py")
    p.add_argument("--timeout", type=float, default=300, help="per run")
    p.set_defaults(fn=smoke.cmd_smoke)

    a = ap.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
