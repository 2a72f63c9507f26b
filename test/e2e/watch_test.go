package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestWatch runs `kubectl get -w` in the background while the test changes
// ConfigMaps, and reads what it printed.
func TestWatch(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	k := s.kubectl(t)
	k.ok(t, "create", "namespace", "watched")
	k.ok(t, "create", "configmap", "seed", "-n", "watched", "--from-literal=a=1")
	k.ok(t, "create", "-n", "watched", "-f", writeFile(t, "anchor.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: anchor, labels: {watch: me}}\n"))

	plain := k.start(t, "get", "configmaps", "-w", "-n", "watched")
	events := k.start(t, "get", "configmaps", "-w", "-n", "watched", "--output-watch-events")
	asJSON := k.start(t, "get", "configmaps", "-w", "-n", "watched", "-o", "json", "--output-watch-events")
	selected := k.start(t, "get", "configmaps", "-w", "-n", "watched", "-l", "watch=me", "--output-watch-events")
	// kubectl lists, prints, then watches from the list's resourceVersion: once
	// the initial list is printed, no later change can be missed.
	plain.waitFor(t, "the initial list", func(out string) bool { return len(watchRows(out, "seed")) == 1 })
	events.waitFor(t, "the initial list", func(out string) bool { return slices.Contains(watchEvents(out), "ADDED seed") })
	asJSON.waitFor(t, "the initial list", func(out string) bool { return len(watchJSON(out, "seed")) == 1 })
	selected.waitFor(t, "the initial list", func(out string) bool { return slices.Contains(watchEvents(out), "ADDED anchor") })

	k.ok(t, "create", "configmap", "c1", "-n", "watched", "--from-literal=a=1")
	k.ok(t, "patch", "configmap", "c1", "-n", "watched", "--type=merge", "-p", `{"data":{"b":"2"}}`)
	k.ok(t, "delete", "configmap", "c1", "-n", "watched")
	// c2 enters and leaves the selector watch=me.
	k.ok(t, "create", "configmap", "c2", "-n", "watched", "--from-literal=a=1")
	k.ok(t, "label", "configmap", "c2", "-n", "watched", "watch=me")
	k.ok(t, "patch", "configmap", "c2", "-n", "watched", "--type=merge", "-p", `{"data":{"b":"2"}}`)
	k.ok(t, "label", "configmap", "c2", "-n", "watched", "watch-")
	k.ok(t, "delete", "configmap", "c2", "-n", "watched")

	t.Run("table", func(t *testing.T) {
		plain.waitFor(t, "three rows for c1", func(out string) bool { return len(watchRows(out, "c1")) >= 3 })
		plain.stop()
		out := plain.stdout.String()
		if first := lines(out)[0]; !slices.Equal(strings.Fields(first), []string{"NAME", "DATA", "AGE"}) {
			t.Errorf("kubectl get -w header = %q; want NAME DATA AGE", first)
		}
		var data []string
		for _, r := range watchRows(out, "c1") {
			data = append(data, r[1])
		}
		// Added with one key, modified to two, deleted with two.
		if want := []string{"1", "2", "2"}; !slices.Equal(data, want) {
			t.Errorf("kubectl get -w: c1 rows have DATA %q; want %q\n%s", data, want, plain)
		}
	})

	t.Run("table with events", func(t *testing.T) {
		events.waitFor(t, "DELETED c2", func(out string) bool { return slices.Contains(watchEvents(out), "DELETED c2") })
		events.stop()
		got := watchEvents(events.stdout.String())
		want := []string{"ADDED anchor", "ADDED seed", "ADDED c1", "MODIFIED c1", "DELETED c1", "ADDED c2", "MODIFIED c2", "MODIFIED c2", "MODIFIED c2", "DELETED c2"}
		if !slices.Equal(got, want) {
			t.Errorf("kubectl get -w --output-watch-events printed events %q; want %q\n%s", got, want, events)
		}
		if first := lines(events.stdout.String())[0]; !slices.Equal(strings.Fields(first), []string{"EVENT", "NAME", "DATA", "AGE"}) {
			t.Errorf("kubectl get -w --output-watch-events header = %q; want EVENT NAME DATA AGE", first)
		}
	})

	t.Run("json", func(t *testing.T) {
		asJSON.waitFor(t, "DELETED c1", func(out string) bool { return len(watchJSON(out, "c1")) >= 3 })
		asJSON.stop()
		evs := watchJSON(asJSON.stdout.String(), "c1")
		var types []string
		for _, e := range evs {
			types = append(types, e.Type)
		}
		if want := []string{"ADDED", "MODIFIED", "DELETED"}; !slices.Equal(types, want) {
			t.Fatalf("kubectl get -w -o json --output-watch-events: c1 events %q; want %q\n%s", types, want, asJSON)
		}
		wantField(t, "the ADDED event", evs[0].Object, "data", map[string]any{"a": "1"})
		wantField(t, "the MODIFIED event", evs[1].Object, "data", map[string]any{"a": "1", "b": "2"})
		wantField(t, "the DELETED event", evs[2].Object, "metadata.name", "c1")
		for i, e := range evs {
			wantField(t, fmt.Sprintf("event %d", i), e.Object, "kind", "ConfigMap")
			wantField(t, fmt.Sprintf("event %d", i), e.Object, "apiVersion", "v1")
		}
		rv := func(e watchEvent) string { v, _ := lookup(e.Object, "metadata.resourceVersion"); return fmt.Sprint(v) }
		if rv(evs[0]) == rv(evs[1]) || rv(evs[1]) == rv(evs[2]) {
			t.Errorf("c1 events carry resourceVersions %s, %s, %s; want each change to have its own", rv(evs[0]), rv(evs[1]), rv(evs[2]))
		}
	})

	t.Run("label selector", func(t *testing.T) {
		// An object that starts to match is ADDED, one that stops matching is DELETED.
		selected.waitFor(t, "DELETED c2", func(out string) bool { return slices.Contains(watchEvents(out), "DELETED c2") })
		selected.stop()
		got := watchEvents(selected.stdout.String())
		if want := []string{"ADDED anchor", "ADDED c2", "MODIFIED c2", "DELETED c2"}; !slices.Equal(got, want) {
			t.Errorf("kubectl get -w -l watch=me --output-watch-events printed %q; want %q\n%s", got, want, selected)
		}
	})
}

// watchRows returns the fields of the rows of a watch table that name name.
func watchRows(out, name string) [][]string {
	var rows [][]string
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			rows = append(rows, f)
		}
	}
	return rows
}

// watchEvents returns "EVENT NAME" for each row of an --output-watch-events table.
//
// The kube-root-ca.crt ConfigMap the controller-manager puts in every namespace
// is left out: when it lands relative to the test's objects is not the test's.
func watchEvents(out string) []string {
	var evs []string
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) >= 2 && f[0] != "EVENT" && f[1] != "kube-root-ca.crt" {
			evs = append(evs, f[0]+" "+f[1])
		}
	}
	return evs
}

// watchEvent is one event of a watch stream: {"type": ..., "object": ...}.
type watchEvent struct {
	Type   string         `json:"type"`
	Object map[string]any `json:"object"`
}

// watchJSON decodes the complete events in a stream of JSON watch events and
// returns those about the object called name.
func watchJSON(out, name string) []watchEvent {
	var evs []watchEvent
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var e watchEvent
		if err := dec.Decode(&e); err != nil {
			return evs // the rest is still being written
		}
		if n, _ := lookup(e.Object, "metadata.name"); n == name {
			evs = append(evs, e)
		}
	}
}
