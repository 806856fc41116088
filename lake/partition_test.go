package lake

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

const venvPython = "/work/venv/bin/python"

// deltaRS runs a Python script with the deltalake package (delta-rs) in
// dir, or skips the test when it is not installed.
func deltaRS(t *testing.T, dir, script string) {
	t.Helper()
	if _, err := os.Stat(venvPython); err != nil {
		t.Skip("no Python venv with deltalake")
	}
	cmd := exec.Command(venvPython, "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "No module named") {
			t.Skipf("deltalake not installed: %s", out)
		}
		t.Fatalf("delta-rs script: %v\n%s", err, out)
	}
}

// A table partitioned by a string, an int32 and a timestamp, written by
// delta-rs, then edited the way other writers and hand moves leave tables:
// one file's folder says p=P while its log entry says C, one file moved
// out of key=value folders. Values come from the log, typed by the schema,
// in schema order; "NULL" is a string, a null is null, escapes are undone.
func TestPartitionedTableConformance(t *testing.T) {
	dir := t.TempDir()
	deltaRS(t, dir, `
import deltalake, pyarrow as pa, datetime as dt, json, os, glob
ts = dt.datetime(2024,1,2,3,4,5,tzinfo=dt.timezone.utc)
t = pa.table({
  "v": pa.array([1.5, 2.5, 3.5, 4.5, 5.5], pa.float64()),
  "p": pa.array(["P", "NULL", None, "a b/c%", "C"], pa.string()),
  "i": pa.array([1, 2, 3, -4, 5], pa.int32()),
  "ts": pa.array([ts]*4+[None], pa.timestamp("us", tz="UTC")),
  "d": pa.array([dt.date(2024,1,2)]*5, pa.date32()),
  "w": pa.array(["x","y","z","u","t"], pa.string()),
})
deltalake.write_deltalake("t", t, partition_by=["p","i","ts"])
log = "t/_delta_log/00000000000000000000.json"
lines = [json.loads(l) for l in open(log)]
for a in lines:
    add = a.get("add")
    if not add:
        continue
    if add["partitionValues"].get("p") == "P":
        add["partitionValues"]["p"] = "C"          # log says C, folder says P
    if add["partitionValues"].get("i") == "5":
        os.makedirs("t/flat", exist_ok=True)     # not in key=value folders
        src = glob.glob("t/p=C/i=5/*/*.parquet")[0]
        os.rename(src, "t/flat/moved.parquet")
        add["path"] = "flat/moved.parquet"
with open(log, "w") as f:
    f.write("".join(json.dumps(a) + "\n" for a in lines))
os._exit(0)  # delta-rs can abort in interpreter shutdown
`)
	snap, err := Snapshot(filepath.Join(dir, "t"), -1)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := snap.ReadArrow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var names, types []string
	for _, f := range tbl.Schema().Fields() {
		names = append(names, f.Name)
		types = append(types, f.Type.String())
	}
	if got := strings.Join(names, ","); got != "v,p,i,ts,d,w" {
		t.Errorf("columns %s, want the schema's order v,p,i,ts,d,w", got)
	}
	wantTypes := []string{"float64", "utf8", "int32", "timestamp[us, tz=UTC]", "date32", "utf8"}
	for i, w := range wantTypes {
		if i < len(types) && types[i] != w && !(w == "utf8" && types[i] == "string_view") {
			t.Errorf("column %s is %s, want %s", names[i], types[i], w)
		}
	}
	got := map[string]string{}
	tr := array.NewTableReader(tbl, 0)
	defer tr.Release()
	for tr.Next() {
		r := tr.RecordBatch()
		for row := range int(r.NumRows()) {
			var cells []string
			for c := range int(r.NumCols()) {
				col := r.Column(c)
				switch {
				case col.IsNull(row):
					cells = append(cells, "null")
				case col.DataType().ID() == arrow.TIMESTAMP:
					cells = append(cells, col.(*array.Timestamp).Value(row).ToTime(arrow.Microsecond).UTC().Format("2006-01-02T15:04:05Z"))
				default:
					cells = append(cells, col.ValueStr(row))
				}
			}
			got[cells[0]] = strings.Join(cells[1:], "|")
		}
	}
	want := map[string]string{
		"1.5": "C|1|2024-01-02T03:04:05Z|2024-01-02|x",
		"2.5": "NULL|2|2024-01-02T03:04:05Z|2024-01-02|y",
		"3.5": "null|3|2024-01-02T03:04:05Z|2024-01-02|z",
		"4.5": "a b/c%|-4|2024-01-02T03:04:05Z|2024-01-02|u",
		"5.5": "C|5|null|2024-01-02|t",
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("row v=%s: %q, want %q", k, got[k], w)
		}
	}
}

func TestPartitionLiterals(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		typ     arrow.DataType
		raw     *string
		want    string
		wantErr bool
	}{
		{arrow.BinaryTypes.String, nil, "CAST(NULL AS VARCHAR)", false},
		{arrow.BinaryTypes.String, s(""), "CAST(NULL AS VARCHAR)", false},
		{arrow.BinaryTypes.String, s("NULL"), "CAST('NULL' AS VARCHAR)", false},
		{arrow.BinaryTypes.String, s("it's"), "CAST('it''s' AS VARCHAR)", false},
		{arrow.PrimitiveTypes.Int32, s("-4"), "CAST(-4 AS INTEGER)", false},
		{arrow.PrimitiveTypes.Int32, s("3000000000"), "", true},
		{arrow.PrimitiveTypes.Int64, s("1; DROP TABLE x"), "", true},
		{arrow.FixedWidthTypes.Boolean, s("true"), "true", false},
		{arrow.FixedWidthTypes.Date32, s("2024-01-02"), "DATE '2024-01-02'", false},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, s("2024-01-02 03:04:05.000000"), "CAST('2024-01-02 03:04:05+00' AS TIMESTAMPTZ)", false},
		{&arrow.TimestampType{Unit: arrow.Microsecond}, s("2024-01-02 03:04:05.5"), "CAST('2024-01-02 03:04:05.5' AS TIMESTAMP)", false},
		{arrow.BinaryTypes.Binary, s("x"), "", true},
	} {
		got, err := partitionLiteral(c.typ, c.raw)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%s %v: %q, %v; want %q (error %v)", c.typ, c.raw, got, err, c.want, c.wantErr)
		}
	}
}
