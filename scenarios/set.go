package scenarios

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// maxSetDepth bounds how deep a --set path may go.
const maxSetDepth = 16

// Set applies one override "path.to.field=value" to s. The path uses the
// YAML names of the scenario file (risk.trailing_stop.trail_pct); list
// elements are addressed by index (broker.faults.outages.0.start) and map
// entries by key (risk.limits.correlation_groups.us_equity). The value is
// YAML, decoded strictly into the field's type, so "25", "60s", "[SPY, QQQ]"
// and "{model: none}" all work.
func Set(s *Scenario, kv string) error {
	path, value, ok := strings.Cut(kv, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return &Error{Set: kv, Msg: "want path.to.field=value"}
	}
	parts := strings.Split(path, ".")
	if len(parts) > maxSetDepth {
		return &Error{Field: path, Set: kv, Msg: fmt.Sprintf("path deeper than %d", maxSetDepth)}
	}
	v := reflect.ValueOf(s).Elem()
	for i, p := range parts {
		field := strings.Join(parts[:i+1], ".")
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(v, p)
			if !ok {
				return &Error{Field: field, Set: kv, Msg: fmt.Sprintf("unknown field %q (known: %s)", p, strings.Join(yamlNames(v.Type()), ", "))}
			}
			v = f
		case reflect.Slice:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > v.Len() {
				return &Error{Field: field, Set: kv, Msg: fmt.Sprintf("want a list index 0..%d, found %q", v.Len(), p)}
			}
			if n == v.Len() { // one past the end appends
				v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			}
			v = v.Index(n)
		case reflect.Map:
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			if i != len(parts)-1 {
				return &Error{Field: field, Set: kv, Msg: "a map entry must be the last part of the path"}
			}
			elem := reflect.New(v.Type().Elem())
			if err := decodeInto(value, elem.Interface()); err != nil {
				return &Error{Field: field, Set: kv, Msg: err.Error()}
			}
			v.SetMapIndex(reflect.ValueOf(p).Convert(v.Type().Key()), elem.Elem())
			return nil
		default:
			return &Error{Field: strings.Join(parts[:i], "."), Set: kv, Msg: fmt.Sprintf("is a %s value, it has no field %q", v.Kind(), p)}
		}
	}
	switch strings.TrimSpace(value) {
	case "null", "~":
		v.Set(reflect.Zero(v.Type())) // removes an optional section
		return nil
	}
	typ := v.Type()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	ptr := reflect.New(typ)
	if err := decodeInto(value, ptr.Interface()); err != nil {
		return &Error{Field: path, Set: kv, Msg: err.Error()}
	}
	if v.Kind() == reflect.Pointer {
		v.Set(ptr)
	} else {
		v.Set(ptr.Elem())
	}
	return nil
}

func decodeInto(value string, dst any) error {
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("empty value")
	}
	if err := decodeStrict([]byte(value), dst); err != nil {
		var ye yaml.Error
		if ok := asYAML(err, &ye); ok {
			return fmt.Errorf("value %q: %s", value, ye.GetMessage())
		}
		return fmt.Errorf("value %q: %v", value, err)
	}
	return nil
}

func asYAML(err error, ye *yaml.Error) bool {
	e, ok := err.(yaml.Error)
	if ok {
		*ye = e
	}
	return ok
}

// fieldByTag finds the struct field whose yaml name is name, looking into
// inlined fields too.
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if tag == "-" {
			continue
		}
		if strings.Contains(opts, "inline") || (sf.Anonymous && tag == "") {
			if f, ok := fieldByTag(v.Field(i), name); ok {
				return f, true
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(sf.Name)
		}
		if tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func yamlNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if sf.IsExported() && tag != "-" && tag != "" {
			out = append(out, tag)
		}
	}
	slices.Sort(out)
	return out
}
