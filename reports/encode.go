package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Encode writes v as indented JSON with sorted keys and a fixed float
// format (12 significant digits, NaN and ±Inf as null), so the same values
// always give the same bytes.
func Encode(v any) []byte {
	var b bytes.Buffer
	encode(&b, v, "")
	b.WriteByte('\n')
	return b.Bytes()
}

// FormatFloat is the summary's float format: 12 significant digits, always
// with a decimal point or an exponent; NaN and ±Inf are null.
func FormatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	s := strconv.FormatFloat(f, 'g', 12, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0" // stays a float when read back: counts compare exactly, floats within tolerance
	}
	return s
}

func encode(b *bytes.Buffer, v any, indent string) {
	switch x := v.(type) {
	case Object:
		encodeMap(b, x, indent)
	case map[string]any:
		encodeMap(b, x, indent)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(indent + "  ")
			encode(b, e, indent+"  ")
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case float64:
		b.WriteString(FormatFloat(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case nil:
		b.WriteString("null")
	default:
		j, err := json.Marshal(x)
		if err != nil {
			panic("reports: cannot encode " + err.Error())
		}
		b.Write(j)
	}
}

func encodeMap[M ~map[string]any](b *bytes.Buffer, m M, indent string) {
	if len(m) == 0 {
		b.WriteString("{}")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString("{\n")
	for i, k := range keys {
		kb, _ := json.Marshal(k)
		b.WriteString(indent + "  ")
		b.Write(kb)
		b.WriteString(": ")
		encode(b, m[k], indent+"  ")
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "}")
}
