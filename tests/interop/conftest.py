"""Fixtures for the Delta interop tests: build the Go interop command once."""

import json
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def lakeinterop(tmp_path_factory):
    exe = tmp_path_factory.mktemp("bin") / "lakeinterop"
    subprocess.run(
        ["go", "build", "-tags=duckdb_arrow", "-o", str(exe), "./internal/cmd/lakeinterop"],
        cwd=REPO,
        check=True,
    )

    class Go:
        path = exe

        def run(self, *args):
            return subprocess.run(
                [str(exe), *map(str, args)], check=True, capture_output=True, text=True
            ).stdout

        def log(self, table):
            return json.loads(self.run("log", table))

        def dump(self, table):
            """Rows as Go reads them, sorted by (run_id, seq)."""
            rows = [json.loads(line) for line in self.run("dump", table).splitlines()]
            return sorted(rows, key=lambda r: (r["run_id"], r["seq"]))

    return Go()


@pytest.fixture(scope="session")
def backtest_cli(tmp_path_factory):
    """The backtest CLI, built once."""
    exe = tmp_path_factory.mktemp("bin") / "backtest"
    subprocess.run(["go", "build", "-tags=duckdb_arrow", "-o", str(exe), "./cmd/backtest"], cwd=REPO, check=True)
    return exe
