"""A real run's trades table, read by delta-rs and Polars, checked against its fills."""

import json
import math
import subprocess

import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from conftest import REPO


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    exe = out / "backtest"
    subprocess.run(["go", "build", "-tags=duckdb_arrow", "-o", str(exe), "./cmd/backtest"], cwd=REPO, check=True)
    res = subprocess.run(
        [str(exe), "run", "cmd/backtest/testdata/small.yaml", "--out", str(out), "--run-id", "small", "--json", "--quiet"],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    assert json.loads(res.stdout)["trades"] > 0
    return out / "small"


def test_trades_schema_and_rows_agree(run_dir):
    dt = DeltaTable(str(run_dir / "trades"))
    t = dt.to_pyarrow_table()
    assert t.schema.field("opened_at").type == pa.timestamp("us", tz="UTC")
    assert t.schema.field("max_loss").type == pa.float64()
    rows = t.sort_by("execution_id").to_pylist()
    pl_rows = pl.read_delta(str(run_dir / "trades")).sort("execution_id").to_dicts()
    assert len(rows) == len(pl_rows) > 0
    for a, b in zip(rows, pl_rows):
        assert a["execution_id"] == b["execution_id"]
        assert a["pnl"] == pytest.approx(b["pnl"], abs=0)


def test_trades_match_fills(run_dir):
    trades = DeltaTable(str(run_dir / "trades")).to_pyarrow_table().to_pylist()
    fills = DeltaTable(str(run_dir / "fills")).to_pyarrow_table().to_pylist()
    entered = {f["execution_id"] for f in fills if f["intent"] == "entry" and f["status"] == "filled"}
    assert {t["execution_id"] for t in trades} == entered
    for t in trades:
        legs = json.loads(t["legs"])
        assert t["structure"] in ("single", "vertical")
        assert len(legs) == (2 if t["structure"] == "vertical" else 1)
        if t["structure"] == "vertical":
            assert t["width"] == pytest.approx(abs(legs[0]["strike"] - legs[1]["strike"]))
        if t["closed_at"] is None:
            continue
        # Cash flows of the position's fills equal its P&L.
        cash = 0.0
        for f in fills:
            if f["execution_id"] != t["execution_id"] or f["status"] not in ("filled", "settled"):
                continue
            sign = -1 if f["side"] == "buy" else 1
            cash += sign * f["fill_price"] * f["qty"] * f["multiplier"] - (f["commission"] or 0)
        assert cash == pytest.approx(t["pnl"], abs=1e-6)
        # A defined-risk trade never loses more than its maximum plus costs.
        if math.isfinite(t["max_loss"]):
            comm = sum((f["commission"] or 0) for f in fills if f["execution_id"] == t["execution_id"])
            assert -t["pnl"] <= t["max_loss"] + comm + 1e-6
