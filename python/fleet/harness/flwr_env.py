"""The flwr installed next to this interpreter (.venv/flwr, .venv/flwr-grpc or .venv/flwr-nightly):
its executables, the environment they run in, its version, and the flwr CLI pointed at one
SuperLink."""

import json
import os
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BIN = Path(sys.executable).parent
CONN_NAME = "fleet"  # the SuperLink connection's name in $FLWR_HOME/config.toml


def flwr_distribution() -> tuple[str, str]:
    """(distribution, version) of the flwr next to this interpreter: a release installs as
    "flwr", a nightly (e.g. 1.43.0.dev20261026) as "flwr-nightly"; both provide `import flwr`."""
    for dist in ("flwr", "flwr-nightly"):
        try:
            return dist, version(dist)
        except PackageNotFoundError:
            pass
    raise SystemExit(f"neither flwr nor flwr-nightly is installed next to {sys.executable}")


def flwr_version() -> tuple[int, ...]:
    """(major, minor) of the flwr next to this interpreter."""
    return tuple(int(x) for x in flwr_distribution()[1].split(".")[:2])


# flwr up to 1.39 serves the Fleet API over gRPC only (grpc-rere, the default --fleet-api-type);
# 1.40 made HTTP the Fleet carrier; 1.41 hid gRPC behind FLWR_INTERNAL_GRPC_FLEET_API (so do
# 1.42.0 and the nightly 1.43.0.dev20261026).
GRPC_ONLY_FLEET = flwr_version() < (1, 40)


def exe(name: str) -> str:
    candidate = BIN / name
    return str(candidate) if candidate.exists() else name


def base_env(flwr_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "FLWR_HOME": str(flwr_home),
            "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def write_flwr_config(flwr_home: Path, control: str, root_ca: str | None) -> None:
    """Since 1.41 SuperLink connections live in $FLWR_HOME/config.toml, not in pyproject.toml."""
    flwr_home.mkdir(parents=True, exist_ok=True)
    lines = [
        "[superlink]",
        f'default = "{CONN_NAME}"',
        "",
        f"[superlink.{CONN_NAME}]",
        f'address = "{control}"',
    ]
    if root_ca:
        lines.append(f'root-certificates = "{Path(root_ca).resolve()}"')
    else:
        lines.append("insecure = true")
    (flwr_home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cli_home(control: str, root_ca: str | None, where: Path) -> Path:
    """A $FLWR_HOME under where whose default connection is the SuperLink at control."""
    home = where / "flwr-home-cli"
    write_flwr_config(home, control, root_ca)
    return home


def flwr_cli(args: list[str], flwr_home: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe("flwr"), *args],
        env=base_env(flwr_home),
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
    )


def parse_json_out(text: str) -> dict:
    """The JSON object in the flwr CLI's output (which may have lines before it)."""
    start = text.find("{")
    if start < 0:
        raise ValueError(f"no JSON in output: {text!r}")
    return json.loads(text[start:])
