"""Go-written Delta tables on an S3-compatible server, read where they lie.

Needs the server .ci/s3-server starts (moto): the tests skip with a
message when BACKTEST_TEST_S3_ENDPOINT is unset or nobody answers there.
The Go tool reaches the server through the standard AWS environment the
script prints (AWS_ENDPOINT_URL, keys, region); delta-rs and Polars get
the same settings as storage options.
"""

import json
import os
import socket
import subprocess
import time
import uuid
from urllib.parse import urlparse

import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from test_delta_interop import arrow_rows, assert_same_rows, check_event_timestamps_exact, files

ENDPOINT = os.environ.get("BACKTEST_TEST_S3_ENDPOINT", "")
BUCKET = os.environ.get("BACKTEST_TEST_S3_BUCKET", "backtest-test")


def _reachable(endpoint):
    if not endpoint:
        return "BACKTEST_TEST_S3_ENDPOINT is unset (start a server: eval \"$(.ci/s3-server)\")"
    u = urlparse(endpoint)
    try:
        socket.create_connection((u.hostname, u.port or 80), timeout=1).close()
    except OSError as e:
        return f"no S3 test server answers at {endpoint}: {e}"
    return ""


_why = _reachable(ENDPOINT)
pytestmark = pytest.mark.skipif(bool(_why), reason=_why or "server up")

# What delta-rs and Polars need to reach the server: path-style requests
# over plain HTTP. AWS_S3_ALLOW_UNSAFE_RENAME is only for writers.
STORAGE = {
    "AWS_ENDPOINT_URL": ENDPOINT,
    "AWS_ALLOW_HTTP": "true",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false",
}


def go_env():
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=ENDPOINT, AWS_ENDPOINT_URL_S3=ENDPOINT, AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@pytest.fixture
def s3(lakeinterop):
    """lakeinterop on the S3 server, and a fresh prefix."""
    prefix = f"s3://{BUCKET}/interop-{uuid.uuid4()}"

    class S3:
        root = prefix
        exe = lakeinterop.path

        def run(self, *args):
            return subprocess.run(
                [str(lakeinterop.path), *map(str, args)], check=True, capture_output=True, text=True, env=go_env()
            ).stdout

        def log(self, table):
            return json.loads(self.run("log", table))

        def dump(self, table):
            rows = [json.loads(line) for line in self.run("dump", table).splitlines()]
            return sorted(rows, key=lambda r: (r["run_id"], r["seq"]))

    return S3()


def test_delta_rs_reads_go_table_on_s3(s3):
    t = f"{s3.root}/risk_events"
    s3.run("write", t, 3, 100)
    log = s3.log(t)
    dt = DeltaTable(t, storage_options=STORAGE)
    assert dt.version() == log["version"] == 3
    assert files(dt) == sorted(log["files"])
    go_rows = s3.dump(t)
    assert len(go_rows) == 300
    at = dt.to_pyarrow_table()
    assert at.schema.field("event_time").type == pa.timestamp("us", tz="UTC")
    assert_same_rows(arrow_rows(at), go_rows)
    check_event_timestamps_exact(at, go_rows)


def test_polars_reads_go_table_on_s3(s3):
    t = f"{s3.root}/risk_events"
    s3.run("write", t, 2, 50)
    go_rows = s3.dump(t)
    df = pl.read_delta(t, storage_options=STORAGE)
    assert df.schema["event_time"] == pl.Datetime("us", "UTC")
    assert_same_rows(arrow_rows(df.to_arrow()), go_rows)
    lazy = pl.scan_delta(t, storage_options=STORAGE).select(pl.len()).collect()
    assert lazy.item() == 100


def test_checkpointed_table_on_s3(s3):
    t = f"{s3.root}/t25"
    s3.run("write", t, 25, 10)
    log = s3.log(t)
    assert log["version"] == 25 and log["checkpoint"] == 20
    dt = DeltaTable(t, storage_options=STORAGE)
    assert dt.version() == 25
    assert files(dt) == sorted(log["files"])
    assert_same_rows(arrow_rows(dt.to_pyarrow_table()), s3.dump(t))


def test_concurrent_writers_on_s3(s3):
    t = f"{s3.root}/concurrent"
    s3.run("concurrent", t, 4, 8)
    dt = DeltaTable(t, storage_options=STORAGE)
    assert dt.version() == 32
    at = dt.to_pyarrow_table()
    assert at.num_rows == 4 * 8 * 4
    pairs = set(zip(at.column("run_id").to_pylist(), at.column("seq").to_pylist()))
    assert len(pairs) == at.num_rows
    history = dt.history()
    assert len(history) == 33


def test_sigkill_mid_append_on_s3(s3):
    t = f"{s3.root}/killed"
    proc = subprocess.Popen([str(s3.exe), "forever", t], env=go_env())
    try:
        deadline = time.time() + 60
        while True:
            try:
                if DeltaTable(t, storage_options=STORAGE).version() >= 6:
                    break
            except Exception:
                pass
            assert time.time() < deadline, "writer made no progress"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    log = s3.log(t)
    dt = DeltaTable(t, storage_options=STORAGE)
    assert dt.version() == log["version"]
    assert files(dt) == sorted(log["files"])
    at = dt.to_pyarrow_table()
    assert at.num_rows == log["rows"]
    assert sorted(at.column("seq").to_pylist()) == list(range(1, at.num_rows + 1))


def test_delta_rs_appends_on_s3_go_reads(s3):
    t = f"{s3.root}/mixed"
    s3.run("write", t, 1, 20)
    dt = DeltaTable(t, storage_options=STORAGE)
    extra = dt.to_pyarrow_table().sort_by("seq").slice(0, 5)
    extra = extra.set_column(0, extra.schema.field("run_id"), pa.array(["from-delta-rs"] * 5, pa.string()))
    # delta-rs commits on S3 by conditional put, like the Go writer.
    write_deltalake(t, extra, mode="append", storage_options={**STORAGE, "conditional_put": "etag"})
    log = s3.log(t)
    assert log["version"] == 2
    assert len(s3.dump(t)) == 25
    s3.run("write", t, 1, 5)
    assert s3.log(t)["version"] == 3


def test_every_table_of_a_run_on_s3(backtest_cli):
    """A run published into s3:// by the CLI: delta-rs and Polars read each of
    its tables and the catalog, with the row counts `backtest query` gives."""
    from conftest import REPO

    out = f"s3://{BUCKET}/cli-{uuid.uuid4()}/runs"
    for rid, trail in (("r1", 20), ("r2", 35)):
        subprocess.run(
            [str(backtest_cli), "run", "cmd/backtest/testdata/small.yaml", "--out", out, "--run-id", rid, "-q",
             "--set", f"risk.trailing_stop.trail_pct={trail}"],
            cwd=REPO, check=True, env=go_env(), capture_output=True,
        )

    def query(sql):
        r = subprocess.run([str(backtest_cli), "query", "--out", out, "--format", "json", sql],
                           cwd=REPO, check=True, env=go_env(), capture_output=True, text=True)
        return json.loads(r.stdout)

    for table in ("risk_events", "fills", "equity", "trades"):
        want = {r["run_id"]: r["n"] for r in query(f"SELECT run_id, count(*) AS n FROM {table} GROUP BY run_id")}
        for rid in ("r1", "r2"):
            uri = f"{out}/{rid}/{table}"
            n_rs = DeltaTable(uri, storage_options=STORAGE).to_pyarrow_table().num_rows
            n_pl = pl.scan_delta(uri, storage_options=STORAGE).select(pl.len()).collect().item()
            assert n_rs == n_pl == want.get(rid, 0), (table, rid)
    cat = DeltaTable(f"{out}/_catalog", storage_options=STORAGE).to_pyarrow_table()
    assert sorted(cat.column("run_id").to_pylist()) == ["r1", "r2"]
    runs = query("SELECT run_id, pnl FROM runs ORDER BY run_id")
    df = pl.read_delta(f"{out}/_catalog", storage_options=STORAGE).sort("run_id")
    assert df["pnl"].to_list() == [r["pnl"] for r in runs]
