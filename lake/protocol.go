package lake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Errors a caller may branch on with errors.Is.
var (
	// ErrUnsupported: the table needs a protocol feature this package does
	// not implement (deletion vectors, column mapping, ...).
	ErrUnsupported = errors.New("lake: unsupported Delta table feature")
	// ErrNotTable: the folder has no _delta_log commits.
	ErrNotTable = errors.New("lake: not a Delta table")
	// ErrExists: Create found a table already there.
	ErrExists = errors.New("lake: table already exists")
	// ErrBadPath: an add or remove path is absolute or escapes the table root.
	ErrBadPath = errors.New("lake: file path escapes the table root")
	// ErrCorrupt: the log is malformed (bad JSON, a gap in the versions ...).
	ErrCorrupt = errors.New("lake: corrupt Delta log")
	// ErrConflict: a concurrent commit changed the table's metadata or
	// protocol, or the retry bound was reached.
	ErrConflict = errors.New("lake: commit conflict")
	// ErrClosed: the writer is closed.
	ErrClosed = errors.New("lake: writer closed")
)

// Protocol is the Delta protocol action.
type Protocol struct {
	MinReaderVersion int      `json:"minReaderVersion"`
	MinWriterVersion int      `json:"minWriterVersion"`
	ReaderFeatures   []string `json:"readerFeatures,omitempty"`
	WriterFeatures   []string `json:"writerFeatures,omitempty"`
}

// Format is the metaData format (always parquet).
type Format struct {
	Provider string    `json:"provider"`
	Options  stringMap `json:"options"`
}

// Metadata is the Delta metaData action.
type Metadata struct {
	ID               string    `json:"id"`
	Name             *string   `json:"name,omitempty"`
	Description      *string   `json:"description,omitempty"`
	Format           Format    `json:"format"`
	SchemaString     string    `json:"schemaString"`
	PartitionColumns []string  `json:"partitionColumns"`
	Configuration    stringMap `json:"configuration"`
	CreatedTime      *int64    `json:"createdTime,omitempty"`
}

// Add is the Delta add action. Path is relative to the table root and
// URL-encoded, as the protocol says.
type Add struct {
	Path             string          `json:"path"`
	PartitionValues  nullableMap     `json:"partitionValues"`
	Size             int64           `json:"size"`
	ModificationTime int64           `json:"modificationTime"`
	DataChange       bool            `json:"dataChange"`
	Stats            string          `json:"stats,omitempty"`
	Tags             stringMap       `json:"tags,omitempty"`
	DeletionVector   json.RawMessage `json:"deletionVector,omitempty"`
}

// Remove is the Delta remove action.
type Remove struct {
	Path                 string          `json:"path"`
	DeletionTimestamp    *int64          `json:"deletionTimestamp,omitempty"`
	DataChange           bool            `json:"dataChange"`
	ExtendedFileMetadata *bool           `json:"extendedFileMetadata,omitempty"`
	PartitionValues      nullableMap     `json:"partitionValues,omitempty"`
	Size                 *int64          `json:"size,omitempty"`
	DeletionVector       json.RawMessage `json:"deletionVector,omitempty"`
}

// action is one line of a commit file. Unknown actions (txn, cdc,
// domainMetadata ...) are kept raw and ignored by the reader.
type action struct {
	Add        *Add            `json:"add,omitempty"`
	Remove     *Remove         `json:"remove,omitempty"`
	MetaData   *Metadata       `json:"metaData,omitempty"`
	Protocol   *Protocol       `json:"protocol,omitempty"`
	CommitInfo json.RawMessage `json:"commitInfo,omitempty"`
	Txn        *Txn            `json:"txn,omitempty"`
}

// Txn is an application transaction action: the last version an
// application (a streaming writer of another engine) committed, for its
// idempotent retries. Replay keeps the latest per AppID and checkpoints
// carry them, as the protocol requires.
type Txn struct {
	AppID       string `json:"appId"`
	Version     int64  `json:"version"`
	LastUpdated *int64 `json:"lastUpdated,omitempty"`
}

// stringMap is a map[string]string that also decodes the Arrow/Parquet map
// form [{"key":k,"value":v}] found in checkpoints. A null decodes as empty.
type stringMap map[string]string

func (m *stringMap) UnmarshalJSON(b []byte) error {
	var n nullableMap
	if err := n.UnmarshalJSON(b); err != nil {
		return err
	}
	*m = make(stringMap, len(n))
	for k, v := range n {
		if v != nil {
			(*m)[k] = *v
		}
	}
	return nil
}

// nullableMap is a map whose values may be null (partition values).
type nullableMap map[string]*string

func (m *nullableMap) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	out := nullableMap{}
	switch {
	case len(b) == 0 || string(b) == "null":
	case b[0] == '[':
		var kvs []struct {
			Key   string  `json:"key"`
			Value *string `json:"value"`
		}
		if err := json.Unmarshal(b, &kvs); err != nil {
			return err
		}
		for _, kv := range kvs {
			out[kv.Key] = kv.Value
		}
	default:
		var mm map[string]*string
		if err := json.Unmarshal(b, &mm); err != nil {
			return err
		}
		for k, v := range mm {
			out[k] = v
		}
	}
	*m = out
	return nil
}

// supportedReaderFeatures are the table features (reader version 3) this
// package can read correctly.
func supportedReaderFeatures() []string { return []string{"timestampNtz"} }

// checkReadable refuses protocols and metadata the reader does not
// implement, naming what is missing.
func checkReadable(p *Protocol, md *Metadata) error {
	if p == nil {
		return fmt.Errorf("%w: no protocol action", ErrCorrupt)
	}
	if p.MinReaderVersion > 3 {
		return fmt.Errorf("%w: minReaderVersion %d (supported: 1-3)", ErrUnsupported, p.MinReaderVersion)
	}
	if p.MinReaderVersion == 3 {
		for _, f := range p.ReaderFeatures {
			if !slices.Contains(supportedReaderFeatures(), f) {
				return fmt.Errorf("%w: reader feature %q (supported: %s)", ErrUnsupported, f, strings.Join(supportedReaderFeatures(), ", "))
			}
		}
	}
	if md != nil {
		if mode := md.Configuration["delta.columnMapping.mode"]; mode != "" && mode != "none" {
			return fmt.Errorf("%w: column mapping (mode %q)", ErrUnsupported, mode)
		}
		if md.Format.Provider != "" && md.Format.Provider != "parquet" {
			return fmt.Errorf("%w: data format %q", ErrUnsupported, md.Format.Provider)
		}
	}
	return nil
}

// checkWritable refuses to append to tables whose writer protocol needs
// more than this package does (writer version 2: appendOnly and invariants
// are honoured by blind appends without invariants).
func checkWritable(p *Protocol, md *Metadata) error {
	if err := checkReadable(p, md); err != nil {
		return err
	}
	if p.MinWriterVersion > 2 {
		return fmt.Errorf("%w: minWriterVersion %d (appends support up to 2)", ErrUnsupported, p.MinWriterVersion)
	}
	if len(md.PartitionColumns) > 0 {
		return fmt.Errorf("%w: appends to partitioned tables", ErrUnsupported)
	}
	return nil
}

// Delta schema JSON.

type deltaStruct struct {
	Type   string       `json:"type"`
	Fields []deltaField `json:"fields"`
}

type deltaField struct {
	Name     string          `json:"name"`
	Type     json.RawMessage `json:"type"`
	Nullable bool            `json:"nullable"`
	Metadata map[string]any  `json:"metadata"`
}

// schemaString renders an Arrow schema as a Delta schemaString. Column
// names must be lowercase (other engines are case-insensitive about them)
// and timestamps must be UTC (Delta "timestamp" is UTC microseconds).
func schemaString(s *arrow.Schema) (string, error) {
	st, err := deltaStructOf(s.Fields(), true)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(st)
	return string(b), err
}

func deltaStructOf(fields []arrow.Field, top bool) (deltaStruct, error) {
	st := deltaStruct{Type: "struct", Fields: make([]deltaField, 0, len(fields))}
	seen := map[string]bool{}
	for _, f := range fields {
		if top && f.Name != strings.ToLower(f.Name) {
			return st, fmt.Errorf("lake: column %q: names must be lowercase", f.Name)
		}
		if f.Name == "" || seen[f.Name] {
			return st, fmt.Errorf("lake: column %q: empty or duplicate name", f.Name)
		}
		seen[f.Name] = true
		t, err := deltaTypeOf(f.Type)
		if err != nil {
			return st, fmt.Errorf("lake: column %q: %w", f.Name, err)
		}
		raw, err := json.Marshal(t)
		if err != nil {
			return st, err
		}
		st.Fields = append(st.Fields, deltaField{Name: f.Name, Type: raw, Nullable: f.Nullable, Metadata: map[string]any{}})
	}
	return st, nil
}

func deltaTypeOf(t arrow.DataType) (any, error) {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return "string", nil
	case *arrow.Int64Type:
		return "long", nil
	case *arrow.Int32Type:
		return "integer", nil
	case *arrow.Int16Type:
		return "short", nil
	case *arrow.Int8Type:
		return "byte", nil
	case *arrow.Float64Type:
		return "double", nil
	case *arrow.Float32Type:
		return "float", nil
	case *arrow.BooleanType:
		return "boolean", nil
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return "binary", nil
	case *arrow.Date32Type:
		return "date", nil
	case *arrow.TimestampType:
		if t.Unit != arrow.Microsecond || t.TimeZone != "UTC" {
			return nil, fmt.Errorf("timestamps must be timestamp[us, tz=UTC], got %s", t)
		}
		return "timestamp", nil
	}
	return nil, fmt.Errorf("%w: Arrow type %s has no Delta mapping here", ErrUnsupported, t)
}

// parseSchema turns a Delta schemaString into an Arrow schema.
func parseSchema(s string) (*arrow.Schema, error) {
	var st deltaStruct
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, fmt.Errorf("%w: schemaString: %v", ErrCorrupt, err)
	}
	fields, err := arrowFields(st.Fields)
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(fields, nil), nil
}

func arrowFields(dfs []deltaField) ([]arrow.Field, error) {
	out := make([]arrow.Field, 0, len(dfs))
	for _, f := range dfs {
		t, err := arrowTypeOf(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		out = append(out, arrow.Field{Name: f.Name, Type: t, Nullable: f.Nullable})
	}
	return out, nil
}

func arrowTypeOf(raw json.RawMessage) (arrow.DataType, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		switch name {
		case "string":
			return arrow.BinaryTypes.String, nil
		case "long":
			return arrow.PrimitiveTypes.Int64, nil
		case "integer":
			return arrow.PrimitiveTypes.Int32, nil
		case "short":
			return arrow.PrimitiveTypes.Int16, nil
		case "byte":
			return arrow.PrimitiveTypes.Int8, nil
		case "double":
			return arrow.PrimitiveTypes.Float64, nil
		case "float":
			return arrow.PrimitiveTypes.Float32, nil
		case "boolean":
			return arrow.FixedWidthTypes.Boolean, nil
		case "binary":
			return arrow.BinaryTypes.Binary, nil
		case "date":
			return arrow.FixedWidthTypes.Date32, nil
		case "timestamp":
			return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
		case "timestamp_ntz":
			return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
		}
		var p, s int32
		if _, err := fmt.Sscanf(name, "decimal(%d,%d)", &p, &s); err == nil {
			return &arrow.Decimal128Type{Precision: p, Scale: s}, nil
		}
		return nil, fmt.Errorf("%w: Delta type %q", ErrUnsupported, name)
	}
	var nested struct {
		Type              string          `json:"type"`
		Fields            []deltaField    `json:"fields"`
		ElementType       json.RawMessage `json:"elementType"`
		ContainsNull      bool            `json:"containsNull"`
		KeyType           json.RawMessage `json:"keyType"`
		ValueType         json.RawMessage `json:"valueType"`
		ValueContainsNull bool            `json:"valueContainsNull"`
	}
	if err := json.Unmarshal(raw, &nested); err != nil {
		return nil, fmt.Errorf("%w: type %s", ErrCorrupt, raw)
	}
	switch nested.Type {
	case "struct":
		fs, err := arrowFields(nested.Fields)
		if err != nil {
			return nil, err
		}
		return arrow.StructOf(fs...), nil
	case "array":
		et, err := arrowTypeOf(nested.ElementType)
		if err != nil {
			return nil, err
		}
		return arrow.ListOfField(arrow.Field{Name: "element", Type: et, Nullable: nested.ContainsNull}), nil
	case "map":
		kt, err := arrowTypeOf(nested.KeyType)
		if err != nil {
			return nil, err
		}
		vt, err := arrowTypeOf(nested.ValueType)
		if err != nil {
			return nil, err
		}
		m := arrow.MapOf(kt, vt)
		m.SetItemNullable(nested.ValueContainsNull)
		return m, nil
	}
	return nil, fmt.Errorf("%w: Delta type %s", ErrUnsupported, raw)
}
