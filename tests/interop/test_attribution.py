"""A real run's attribution table, read by delta-rs and Polars, checked against its risk events and summary."""

import json
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
    subprocess.run(
        [str(exe), "run", "cmd/backtest/testdata/small.yaml", "--out", str(out), "--run-id", "small", "--quiet"],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    return out / "small"


def test_attribution_schema_and_readers_agree(run_dir):
    t = DeltaTable(str(run_dir / "attribution")).to_pyarrow_table()
    assert t.schema.field("event_time").type == pa.timestamp("us", tz="UTC")
    assert t.schema.field("saved").type == pa.float64()
    assert t.schema.field("seq").type == pa.int64()
    rows = t.sort_by("seq").to_pylist()
    pl_rows = pl.read_delta(str(run_dir / "attribution")).sort("seq").to_dicts()
    assert len(rows) == len(pl_rows) > 0
    for a, b in zip(rows, pl_rows):
        assert a["seq"] == b["seq"] and a["component"] == b["component"]
        assert a["saved"] == pytest.approx(a["actual_pnl"] - a["counterfactual_pnl"], abs=1e-9)
        assert a["saved"] == b["saved"]
        assert a["counterfactual_end"] in ("dte_floor", "expiry", "end_of_run", "filled_when_asked", "not_filled", "trailing_stop", "stop_loss")


def test_attribution_seq_is_its_risk_event_and_sums_match_summary(run_dir):
    att = pl.read_delta(str(run_dir / "attribution"))
    ev = pl.read_delta(str(run_dir / "risk_events")).select("seq", "component", "event_type", "event_time")
    j = att.join(ev, on="seq", how="left", suffix="_ev")
    assert j["component_ev"].null_count() == 0
    assert (j["component"] == j["component_ev"]).all() and (j["event_type"] == j["event_type_ev"]).all()
    results = json.loads((run_dir / "summary.json").read_text())["results"]["attribution"]
    for (comp,), g in att.group_by("component"):
        assert results[comp]["decisions"] == g.height
        assert results[comp]["saved"] == pytest.approx(g["saved"].sum(), abs=1e-6)
    assert results["total"]["saved"] == pytest.approx(att["saved"].sum(), abs=1e-6)
