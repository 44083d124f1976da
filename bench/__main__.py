"""Run benchmarks: ``python -m bench [NAME ...] [--quick]``.

Each module ``bench/NAME.py`` defines ``run(*, quick: bool) -> dict`` returning
``{"figures": {...}, "units": {...}, "goals": {...}}``; this harness prints the table and writes
``bench/results/NAME.json`` with the command and the machine it ran on.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ALL = ["engine_core", "ingest", "engine", "delivery", "dashboard", "designer"]


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    python = platform.python_version()
    return f"{platform.node()} · {os.cpu_count()} cores · {cpu} · Python {python}"


def meets_goal(value: float, goal: str) -> bool | None:
    goal = goal.strip()
    for operator in (">=", "<="):
        if goal.startswith(operator):
            bound = float(goal[2:])
            return value >= bound if operator == ">=" else value <= bound
    return None


def print_table(name: str, result: dict[str, Any]) -> None:
    print(f"\n{name}")
    print(f"{'figure':40} {'value':>14} {'unit':12} {'goal':>12}  met")
    for figure, value in result["figures"].items():
        unit = result.get("units", {}).get(figure, "")
        goal = result.get("goals", {}).get(figure, "")
        met = meets_goal(float(value), goal) if goal else None
        mark = "" if met is None else ("yes" if met else "NO")
        shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        print(f"{figure:40} {shown:>14} {unit:12} {goal:>12}  {mark}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: {' '.join(ALL)})")
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    arguments = parser.parse_args()
    names = arguments.names or [name for name in ALL if (HERE / f"{name}.py").exists()]
    status = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        started = time.time()
        result = module.run(quick=arguments.quick)
        result["command"] = f"python -m bench {name}" + (" --quick" if arguments.quick else "")
        result["machine"] = machine()
        result["seconds"] = round(time.time() - started, 1)
        result["quick"] = arguments.quick
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        print_table(name, result)
    return status


if __name__ == "__main__":
    sys.exit(main())
