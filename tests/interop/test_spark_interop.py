"""Spark SQL reads Go-written Delta tables (delta-spark), locally and on S3.

Optional: needs Java and the packages of requirements-spark.txt
(pyspark==4.0.1, delta-spark==4.0.0; the Delta jars come from Maven
Central on first use). Skipped with a message where any is missing. The S3
test also needs the hadoop-aws jars (and the AWS SDK bundle they pull,
~540 MB; measured here: 67 s for the test, download included): it runs
only when BACKTEST_SPARK_S3=1 and the S3 test server is up.
"""

import os
import shutil

import pytest

from test_delta_interop import assert_same_rows

if shutil.which("java") is None:
    pytest.skip("Spark interop: no java on PATH", allow_module_level=True)
pyspark = pytest.importorskip("pyspark", reason="Spark interop: pip install -r tests/interop/requirements-spark.txt")
delta = pytest.importorskip("delta", reason="Spark interop: pip install -r tests/interop/requirements-spark.txt")

# Hadoop 3.4.1 is what Spark 4.0 ships.
HADOOP_AWS = "org.apache.hadoop:hadoop-aws:3.4.1"


def _spark(extra_packages=()):
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[1]")
        .appName("backtest-interop")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
    )
    if extra_packages:
        ep = os.environ["BACKTEST_TEST_S3_ENDPOINT"]
        builder = (
            builder.config("spark.hadoop.fs.s3a.endpoint", ep)
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
            .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
            .config("spark.hadoop.fs.s3a.access.key", "test")
            .config("spark.hadoop.fs.s3a.secret.key", "test")
            .config("spark.hadoop.fs.s3a.endpoint.region", "us-east-1")
            .config("spark.hadoop.fs.s3a.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem")
        )
    return configure_spark_with_delta_pip(builder, extra_packages=list(extra_packages)).getOrCreate()


@pytest.fixture(scope="module")
def spark():
    s = _spark()
    yield s
    s.stop()


def spark_rows(df):
    """Spark rows in the Go dump's form (µs timestamps, non-finite floats as strings)."""
    import math

    out = []
    for r in df.orderBy("run_id", "seq").collect():
        d = r.asDict()
        d["event_time"] = d.pop("event_time_us")
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        out.append(d)
    return out


COLS = (
    "run_id, seq, unix_micros(event_time) AS event_time_us, component, event_type, execution_id, symbol, "
    "contract, state_from, state_to, rule, value, threshold, reason, details"
)


def test_spark_sql_reads_go_risk_events(spark, tmp_path, lakeinterop):
    t = tmp_path / "risk_events"
    lakeinterop.run("write", t, 3, 100)
    go_rows = lakeinterop.dump(t)
    df = spark.sql(f"SELECT {COLS} FROM delta.`{t}`")
    assert_same_rows(spark_rows(df), go_rows)
    hist = spark.sql(f"DESCRIBE HISTORY delta.`{t}`").orderBy("version").collect()
    assert [h.version for h in hist] == [0, 1, 2, 3]
    assert [h.operation for h in hist] == ["CREATE TABLE", "WRITE", "WRITE", "WRITE"]
    # Aggregates through Spark SQL equal the Go rows.
    n = spark.sql(f"SELECT count(*) AS n, count(DISTINCT seq) AS d FROM delta.`{t}`").collect()[0]
    assert n.n == n.d == 300


def test_spark_reads_checkpointed_and_concurrent_tables(spark, tmp_path, lakeinterop):
    t = tmp_path / "t25"
    lakeinterop.run("write", t, 25, 10)
    assert spark.sql(f"SELECT count(*) FROM delta.`{t}`").collect()[0][0] == 250
    c = tmp_path / "concurrent"
    lakeinterop.run("concurrent", c, 4, 5)
    got = spark.sql(f"SELECT count(*) AS n, count(DISTINCT run_id, seq) AS d FROM delta.`{c}`").collect()[0]
    assert got.n == got.d == 4 * 5 * 4
    assert spark.sql(f"DESCRIBE HISTORY delta.`{c}`").count() == 21


def test_spark_sql_reads_a_runs_risk_events_and_catalog(spark, tmp_path, backtest_cli):
    """A CLI run's risk_events and the runs folder's catalog, through Spark
    SQL: the counts and results `backtest query` gives."""
    import json
    import subprocess

    from conftest import REPO

    out = tmp_path / "runs"
    for rid, trail in (("r1", 20), ("r2", 35)):
        subprocess.run([str(backtest_cli), "run", "cmd/backtest/testdata/small.yaml", "--out", str(out), "--run-id", rid,
                        "-q", "--set", f"risk.trailing_stop.trail_pct={trail}"], cwd=REPO, check=True, capture_output=True)
    want = json.loads(subprocess.run(
        [str(backtest_cli), "query", "--out", str(out), "--format", "json",
         "SELECT run_id, count(*) AS n FROM risk_events GROUP BY run_id ORDER BY run_id"],
        cwd=REPO, check=True, capture_output=True, text=True).stdout)
    got = spark.sql(f"SELECT run_id, count(*) AS n FROM delta.`{out / 'r1' / 'risk_events'}` GROUP BY run_id").collect()
    got += spark.sql(f"SELECT run_id, count(*) AS n FROM delta.`{out / 'r2' / 'risk_events'}` GROUP BY run_id").collect()
    assert [(r.run_id, r.n) for r in got] == [(w["run_id"], w["n"]) for w in want]
    cat = spark.sql(f"SELECT run_id, pnl FROM delta.`{out / '_catalog'}` ORDER BY run_id").collect()
    runs = json.loads(subprocess.run(
        [str(backtest_cli), "query", "--out", str(out), "--format", "json", "SELECT run_id, pnl FROM runs ORDER BY run_id"],
        cwd=REPO, check=True, capture_output=True, text=True).stdout)
    assert [(r.run_id, r.pnl) for r in cat] == [(w["run_id"], w["pnl"]) for w in runs]
    hist = spark.sql(f"DESCRIBE HISTORY delta.`{out / '_catalog'}`").collect()
    assert len(hist) >= 3  # create, then one commit per run


@pytest.mark.skipif(os.environ.get("BACKTEST_SPARK_S3") != "1", reason="Spark on S3: set BACKTEST_SPARK_S3=1 (downloads hadoop-aws and the AWS SDK bundle, ~540 MB)")
@pytest.mark.skipif(not os.environ.get("BACKTEST_TEST_S3_ENDPOINT"), reason="no S3 test server (BACKTEST_TEST_S3_ENDPOINT)")
def test_spark_sql_reads_go_table_on_s3(lakeinterop):
    from test_s3_interop import BUCKET, go_env
    import subprocess
    import uuid

    t = f"s3://{BUCKET}/spark-{uuid.uuid4()}/risk_events"
    env = go_env()
    subprocess.run([str(lakeinterop.path), "write", t, "2", "50"], check=True, env=env)
    s = _spark([HADOOP_AWS])
    try:
        n = s.sql(f"SELECT count(*) FROM delta.`{t.replace('s3://', 's3a://')}`").collect()[0][0]
        assert n == 100
    finally:
        s.stop()
