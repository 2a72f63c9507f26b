package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// table is kubectl's human-readable output for one resource type.
type table struct {
	header []string
	rows   []map[string]string // keyed by header
}

var tableColumn = regexp.MustCompile(`\S+(?: \S+)*`)

// parseTable reads kubectl's column output. kubectl pads columns with at least
// three spaces, and a header may hold single spaces ("NOMINATED NODE"), so a
// column starts where its header starts; a cell may be empty.
func parseTable(t *testing.T, out string) table {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		t.Fatalf("no table in kubectl output %q", out)
	}
	cols := tableColumn.FindAllStringIndex(lines[0], -1)
	var tb table
	for _, c := range cols {
		tb.header = append(tb.header, lines[0][c[0]:c[1]])
	}
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "" {
			break // the next table of a multi-type get
		}
		row := map[string]string{}
		for i, c := range cols {
			start, end := c[0], len(line)
			if i+1 < len(cols) {
				end = min(cols[i+1][0], len(line))
			}
			if start < end {
				row[tb.header[i]] = strings.TrimSpace(line[start:end])
			} else {
				row[tb.header[i]] = ""
			}
		}
		tb.rows = append(tb.rows, row)
	}
	return tb
}

// row returns the row whose column col is value, failing the test if there is none.
func (tb table) row(t *testing.T, col, value string) map[string]string {
	t.Helper()
	for _, r := range tb.rows {
		if r[col] == value {
			return r
		}
	}
	t.Fatalf("no row with %s=%q in table %v %v", col, value, tb.header, tb.rows)
	return nil
}

// column returns the values of one column, in order.
func (tb table) column(col string) []string {
	var out []string
	for _, r := range tb.rows {
		out = append(out, r[col])
	}
	return out
}

// hasHeader reports whether the table's header is exactly want, in order.
func (tb table) hasHeader(want ...string) bool {
	return slices.Equal(tb.header, want)
}

// decodeYAML decodes kubectl's -o yaml output (or JSON, a subset).
func decodeYAML(t *testing.T, text string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(text), &obj); err != nil {
		t.Fatalf("decoding %q: %v", text, err)
	}
	return obj
}

// decodeJSON decodes one JSON object.
func decodeJSON(t *testing.T, text string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		t.Fatalf("decoding JSON %q: %v", text, err)
	}
	return obj
}

// lookup follows a path like "spec.template.spec.containers[0].name" through a
// decoded object; ok is false when a step is missing.
func lookup(obj any, path string) (v any, ok bool) {
	v = obj
	for _, step := range strings.Split(path, ".") {
		name, index, _ := strings.Cut(step, "[")
		if name != "" {
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil, false
			}
			if v, ok = m[name]; !ok {
				return nil, false
			}
		}
		for index != "" {
			var rest string
			var n string
			n, rest, _ = strings.Cut(index, "]")
			i, err := strconv.Atoi(n)
			list, isList := v.([]any)
			if err != nil || !isList || i < 0 || i >= len(list) {
				return nil, false
			}
			v = list[i]
			index = strings.TrimPrefix(rest, "[")
		}
	}
	return v, true
}

// wantField fails the test unless obj has want at path. Numbers compare by
// their printed form, so want may be an int.
func wantField(t *testing.T, what string, obj any, path string, want any) {
	t.Helper()
	got, ok := lookup(obj, path)
	if !ok {
		t.Errorf("%s: no %s; want %s", what, path, printed(want))
		return
	}
	if printed(got) != printed(want) {
		t.Errorf("%s: %s = %v; want %v", what, path, printed(got), printed(want))
	}
}

func printed(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return strconv.Quote(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// writeFile writes content to a new file in the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readTestdata returns the text of a file in testdata/.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replaceOnce applies old→new pairs to text, failing the test unless each old
// string occurs exactly once, so a fixture edit cannot silently do nothing.
func replaceOnce(t *testing.T, text string, oldNew ...string) string {
	t.Helper()
	for i := 0; i+1 < len(oldNew); i += 2 {
		if n := strings.Count(text, oldNew[i]); n != 1 {
			t.Fatalf("fixture: %q occurs %d times; want once", oldNew[i], n)
		}
		text = strings.Replace(text, oldNew[i], oldNew[i+1], 1)
	}
	return text
}

// lines returns the non-empty lines of s, trimmed.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// sortedLines returns the non-empty lines of s, sorted.
func sortedLines(s string) []string {
	l := lines(s)
	slices.Sort(l)
	return l
}

// wantContains fails the test unless every want is a substring of got.
func wantContains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: %q not found in:\n%s", what, w, got)
		}
	}
}

// wantMatch fails the test unless got matches every pattern (multi-line mode).
func wantMatch(t *testing.T, what, got string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)` + p).MatchString(got) {
			t.Errorf("%s: no match for /%s/ in:\n%s", what, p, got)
		}
	}
}
