package openapi

import (
	"testing"
)

// BenchmarkNew is what tend pays at start-up: validation only.
func BenchmarkNew(b *testing.B) {
	resources := testResources()
	for b.Loop() {
		if _, err := New("v1.37.0", resources); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild is what the first request of each of /openapi/v2 and
// /openapi/v3 pays, once client-go's structured-merge-diff schema is parsed
// (0.1 s once per process, shared with server-side apply): its documents as
// JSON.
func BenchmarkBuild(b *testing.B) {
	resources := testResources()
	merge, err := loadMergeSemantics()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("v2", func(b *testing.B) {
		var d *document
		for b.Loop() {
			if d, err = buildV2Document("v1.37.0", resources, merge); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(d.json)), "json-bytes")
	})
	b.Run("v3", func(b *testing.B) {
		var docs *v3Documents
		for b.Loop() {
			if docs, err = buildV3Documents("v1.37.0", resources, merge); err != nil {
				b.Fatal(err)
			}
		}
		size := 0
		for _, d := range docs.byKey {
			size += len(d.json)
		}
		b.ReportMetric(float64(size), "json-bytes")
	})
}

// BenchmarkMergeSemantics is the one-time parse of client-go's
// structured-merge-diff schema, after the first (which client-go caches).
func BenchmarkMergeSemantics(b *testing.B) {
	for b.Loop() {
		if _, err := loadMergeSemantics(); err != nil {
			b.Fatal(err)
		}
	}
}

func testDocuments(b *testing.B) (*document, *v3Documents) {
	merge, err := loadMergeSemantics()
	if err != nil {
		b.Fatal(err)
	}
	v2, err := buildV2Document("v1.37.0", testResources(), merge)
	if err != nil {
		b.Fatal(err)
	}
	v3, err := buildV3Documents("v1.37.0", testResources(), merge)
	if err != nil {
		b.Fatal(err)
	}
	return v2, v3
}

// BenchmarkProtobuf is what the first protobuf request of a document pays.
func BenchmarkProtobuf(b *testing.B) {
	v2, v3 := testDocuments(b)
	b.Run("v2", func(b *testing.B) {
		for b.Loop() {
			if _, err := v2Proto(v2.json); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("v3 apps/v1", func(b *testing.B) {
		for b.Loop() {
			if _, err := v3Proto(v3.byKey["apis/apps/v1"].json); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGzip is what the first gzip request of /openapi/v2 pays.
func BenchmarkGzip(b *testing.B) {
	v2, _ := testDocuments(b)
	for b.Loop() {
		if _, err := gzipBytes(v2.json); err != nil {
			b.Fatal(err)
		}
	}
}
