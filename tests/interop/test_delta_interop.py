"""Go-written Delta tables read by delta-rs and Polars, and the reverse."""

import math
import os
import shutil
import signal
import subprocess
import time

import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

COLUMNS = [
    "run_id", "seq", "event_time", "component", "event_type", "execution_id", "symbol",
    "contract", "state_from", "state_to", "rule", "value", "threshold", "reason", "details",
]


def files(dt: DeltaTable):
    """Relative paths of the active files (files() went away in deltalake 1.0)."""
    if hasattr(dt, "files"):
        return files(dt)
    actions = dt.get_add_actions(flatten=True)
    actions = actions if isinstance(actions, pa.Table) else pa.table(actions)
    return sorted(actions.column("path").to_pylist())


def norm(v):
    """A cell in the Go dump's form: µs timestamps, non-finite floats as strings."""
    if v is None:
        return None
    if hasattr(v, "timestamp") and hasattr(v, "tzinfo"):
        assert v.tzinfo is not None, "timestamps must be tz-aware"
        return round(v.timestamp() * 1_000_000)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def arrow_rows(table: pa.Table):
    table = table.sort_by([("run_id", "ascending"), ("seq", "ascending")])
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    return [{k: norm(cols[k][i]) for k in cols} for i in range(table.num_rows)]


def assert_same_rows(got, want):
    assert len(got) == len(want)
    for col in COLUMNS:  # column by column, so a failure names the column
        assert [r[col] for r in got] == [r[col] for r in want], col


def check_event_timestamps_exact(table: pa.Table, go_rows):
    # pylist via datetime loses nothing at µs, but compare raw ints too.
    ts = table.sort_by([("run_id", "ascending"), ("seq", "ascending")]).column("event_time")
    raw = ts.cast(pa.int64()).to_pylist()
    assert raw == [r["event_time"] for r in go_rows]


@pytest.fixture
def table(tmp_path, lakeinterop):
    p = tmp_path / "risk_events"
    lakeinterop.run("write", p, 3, 100)
    return p


def test_version_and_files_match_go_log(table, lakeinterop):
    log = lakeinterop.log(table)
    dt = DeltaTable(str(table))
    assert dt.version() == log["version"] == 3
    assert files(dt) == sorted(log["files"])


def test_rows_equal_column_by_column(table, lakeinterop):
    go_rows = lakeinterop.dump(table)
    t = DeltaTable(str(table)).to_pyarrow_table()
    assert t.schema.field("event_time").type == pa.timestamp("us", tz="UTC")
    assert t.schema.field("seq").type == pa.int64()
    assert t.schema.field("value").type == pa.float64()
    assert not t.schema.field("run_id").nullable
    assert t.schema.field("details").nullable
    assert_same_rows(arrow_rows(t), go_rows)
    check_event_timestamps_exact(t, go_rows)


def test_polars_reads_same_rows(table, lakeinterop):
    go_rows = lakeinterop.dump(table)
    df = pl.read_delta(str(table))
    assert df.schema["event_time"] == pl.Datetime("us", "UTC")
    assert_same_rows(arrow_rows(df.to_arrow()), go_rows)


def test_stats_are_readable(table):
    dt = DeltaTable(str(table))
    actions = dt.get_add_actions(flatten=True)
    actions = pa.table(actions) if not isinstance(actions, pa.Table) else actions
    assert sum(actions.column("num_records").to_pylist()) == 300
    names = actions.column_names
    # value holds +Inf in some rows: no min/max; seq has both.
    assert "min.seq" in names and "max.seq" in names
    if "min.value" in names:
        assert all(v is None for v in actions.column("min.value").to_pylist())


def test_checkpoints_read_the_same(tmp_path, lakeinterop):
    p = tmp_path / "t25"
    lakeinterop.run("write", p, 25, 10)
    log = lakeinterop.log(p)
    assert log["version"] == 25 and log["checkpoint"] == 20
    logdir = p / "_delta_log"
    assert (logdir / "00000000000000000010.checkpoint.parquet").exists()
    assert (logdir / "00000000000000000020.checkpoint.parquet").exists()
    assert (logdir / "_last_checkpoint").exists()

    bare = tmp_path / "t25-bare"
    shutil.copytree(p, bare)
    for f in (bare / "_delta_log").iterdir():
        if "checkpoint" in f.name:
            f.unlink()

    with_cp = DeltaTable(str(p))
    without = DeltaTable(str(bare))
    assert with_cp.version() == without.version() == 25
    assert files(with_cp) == files(without) == sorted(log["files"])
    go_rows = lakeinterop.dump(p)
    assert_same_rows(arrow_rows(with_cp.to_pyarrow_table()), go_rows)
    assert_same_rows(arrow_rows(without.to_pyarrow_table()), go_rows)
    assert_same_rows(arrow_rows(pl.read_delta(str(p)).to_arrow()), go_rows)

    # Only JSON commits after the checkpoint: delta-rs must use it.
    only_cp = tmp_path / "t25-cp-only"
    shutil.copytree(p, only_cp)
    for v in range(20):
        (only_cp / "_delta_log" / f"{v:020d}.json").unlink()
    dt = DeltaTable(str(only_cp))
    assert dt.version() == 25
    assert_same_rows(arrow_rows(dt.to_pyarrow_table()), go_rows)


def test_delta_rs_appends_go_reads(table, lakeinterop):
    dt = DeltaTable(str(table))
    extra = dt.to_pyarrow_table().sort_by("seq").slice(0, 10)
    seq = pa.array([1000 + i for i in range(10)], pa.int64())
    extra = extra.set_column(extra.column_names.index("seq"), extra.schema.field("seq"), seq)
    run = pa.array(["from-delta-rs"] * 10, pa.string())
    extra = extra.set_column(0, extra.schema.field("run_id"), run)
    write_deltalake(str(table), extra, mode="append")

    log = lakeinterop.log(table)
    assert log["version"] == 4 == DeltaTable(str(table)).version()
    go_rows = lakeinterop.dump(table)
    assert len(go_rows) == 310
    mine = [r for r in go_rows if r["run_id"] == "from-delta-rs"]
    assert [r["seq"] for r in mine] == list(range(1000, 1010))
    assert_same_rows(arrow_rows(DeltaTable(str(table)).to_pyarrow_table()), go_rows)
    # And Go keeps appending after delta-rs.
    lakeinterop.run("write", table, 1, 5)
    assert lakeinterop.log(table)["version"] == 5


def test_concurrent_writers_table(tmp_path, lakeinterop):
    p = tmp_path / "concurrent"
    lakeinterop.run("concurrent", p, 8, 50)
    dt = DeltaTable(str(p))
    assert dt.version() == 400
    names = sorted(f.name for f in (p / "_delta_log").iterdir() if f.name.endswith(".json"))
    assert names == [f"{v:020d}.json" for v in range(401)]
    t = dt.to_pyarrow_table()
    assert t.num_rows == 8 * 50 * 4
    pairs = set(zip(t.column("run_id").to_pylist(), t.column("seq").to_pylist()))
    assert len(pairs) == t.num_rows


def test_sigkill_mid_append(tmp_path, lakeinterop):
    p = tmp_path / "killed"
    proc = subprocess.Popen([str(lakeinterop.path), "forever", str(p)])
    try:
        deadline = time.time() + 30
        while True:
            try:
                if DeltaTable(str(p)).version() >= 12:
                    break
            except Exception:
                pass
            assert time.time() < deadline, "writer made no progress"
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    log = lakeinterop.log(p)
    dt = DeltaTable(str(p))
    assert dt.version() == log["version"]
    assert files(dt) == sorted(log["files"])
    t = dt.to_pyarrow_table()
    assert t.num_rows == log["rows"]
    assert sorted(t.column("seq").to_pylist()) == list(range(1, t.num_rows + 1))
