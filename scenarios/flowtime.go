package scenarios

// flowtime.go works around a go-yaml (goccy, v1.19) scanner rule: inside a flow mapping
// ({...}) a ':' not followed by a space always ends a key (for JSON's {"a":1}), so in
// `entry: {times: [2018-01-29T21:00:00Z]}` the timestamp is scanned as the mapping
// {2018-01-29T21: 00:00Z} and decoding into time.Time fails with a Go type error. YAML 1.2
// allows ':' inside a plain scalar when a non-space follows; block style is not affected.
//
// quoteFlowTimestamps double-quotes such timestamps (a complete flow item: after '[', '{',
// ',' or ': ', before ',', ']' or '}') in flow context only; a quoted timestamp decodes into
// time.Time like a plain one. Columns after a quoted timestamp on its line move by two in
// error messages.

import "regexp"

var flowTimestamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?[ \t]*[,\]}]`)

func quoteFlowTimestamps(b []byte) []byte {
	var out []byte // nil until the first change
	depth := 0
	var quote byte  // the open quote, or 0
	prev := byte(0) // last non-space byte outside quotes and comments
	last := 0       // b[:last] is already in out
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				if quote == '\'' && i+1 < len(b) && b[i+1] == '\'' {
					i++
					continue
				}
				if quote == '"' && b[i-1] == '\\' {
					continue
				}
				quote = 0
				prev = c
			}
			continue
		case c == '#' && (i == 0 || b[i-1] == ' ' || b[i-1] == '\t' || b[i-1] == '\n'):
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		case c == '"' || c == '\'':
			if depth > 0 || prev == ':' || prev == '-' || prev == 0 || prev == '\n' {
				quote = c
			}
			continue
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		case c == ' ' || c == '\t' || c == '\r':
			continue
		case c == '\n':
			if depth == 0 {
				prev = '\n'
			}
			continue
		}
		if depth > 0 && (prev == '[' || prev == '{' || prev == ',' || prev == ':') && c >= '0' && c <= '9' {
			if m := flowTimestamp.Find(b[i:]); m != nil {
				end := i + len(m) - 1 // the delimiter
				for end > i && (b[end-1] == ' ' || b[end-1] == '\t') {
					end--
				}
				out = append(out, b[last:i]...)
				out = append(out, '"')
				out = append(out, b[i:end]...)
				out = append(out, '"')
				last = end
				i = end - 1
				prev = '"'
				continue
			}
		}
		prev = c
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
