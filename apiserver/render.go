package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/schemas"
	"github.com/tendhq/tend/schemas/printers"
)

// renderer turns cached objects into response bodies of one kind in one form.
type renderer struct {
	kind          *schemas.Kind
	out           output
	now           time.Time
	includeObject string
	printer       printers.Printer
}

func (rq *request) renderer(out output) (*renderer, error) {
	rd := &renderer{kind: rq.kind, out: out, now: time.Now(), includeObject: rq.q.Get("includeObject")}
	switch rd.includeObject {
	case "", "Metadata", "None", "Object":
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject must be one of None, Metadata or Object, not %q", rd.includeObject))
	}
	if out.view == viewTable {
		p, ok := printers.For(schema.GroupKind{Group: rq.kind.Group, Kind: rq.kind.Kind})
		if !ok {
			p = printers.Default()
		}
		rd.printer = p
	}
	return rd, nil
}

// served decodes a cached object into the served version.
func (rd *renderer) served(o *storage.Object) (runtime.Object, error) {
	obj, err := decodeStored(rd.kind.Storage, o)
	if err != nil {
		return nil, err
	}
	if rd.kind.FromStorage == nil {
		return obj, nil
	}
	out, err := rd.kind.FromStorage(obj)
	if err != nil {
		return nil, err
	}
	out.GetObjectKind().SetGroupVersionKind(rd.kind.GroupVersionKind())
	return out, nil
}

// objectJSON is the served-version JSON of a cached object.
func (rd *renderer) objectJSON(o *storage.Object) ([]byte, error) {
	if rd.kind.FromStorage == nil {
		return o.JSON, nil
	}
	obj, err := rd.served(o)
	if err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}

// partialJSON is a PartialObjectMetadata of a cached object.
func partialJSON(o *storage.Object) ([]byte, error) {
	var m struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(o.JSON, &m); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(m.Metadata) + 64)
	b.WriteString(`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":`)
	b.Write(m.Metadata)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// viewBody is one object in the negotiated form and view: a GET's body, or a
// watch event's object.
func (rd *renderer) viewBody(o *storage.Object, headers bool) ([]byte, error) {
	if rd.out.media == mediaProtobuf {
		return rd.protoObject(o)
	}
	switch rd.out.view {
	case viewPartial:
		return partialJSON(o)
	case viewTable:
		row, err := rd.row(o)
		if err != nil {
			return nil, err
		}
		return rd.tableJSON([]metav1.TableRow{row}, metav1.ListMeta{ResourceVersion: strconv.FormatInt(o.RV, 10)}, headers)
	}
	return rd.objectJSON(o)
}

func (rd *renderer) row(o *storage.Object) (metav1.TableRow, error) {
	obj, err := rd.served(o)
	if err != nil {
		return metav1.TableRow{}, err
	}
	cells, err := rd.printer.Row(obj, rd.now)
	if err != nil {
		return metav1.TableRow{}, err
	}
	row := metav1.TableRow{Cells: cells, Conditions: printers.RowConditions(obj)}
	switch rd.includeObject {
	case "None":
	case "Object":
		if row.Object.Raw, err = rd.objectJSON(o); err != nil {
			return row, err
		}
	default:
		if row.Object.Raw, err = partialJSON(o); err != nil {
			return row, err
		}
	}
	return row, nil
}

func (rd *renderer) tableJSON(rows []metav1.TableRow, lm metav1.ListMeta, headers bool) ([]byte, error) {
	t := metav1.Table{
		TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"},
		ListMeta: lm,
		Rows:     rows,
	}
	if headers {
		t.ColumnDefinitions = rd.printer.Columns
	}
	if t.Rows == nil {
		t.Rows = []metav1.TableRow{}
	}
	return json.Marshal(&t)
}

// list renders a LIST response.
func (rd *renderer) list(res *storage.ListResult) ([]byte, error) {
	size := 256
	for _, o := range res.Items {
		size += len(o.JSON) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	if err := rd.writeList(b, res); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// streamable reports whether a LIST can be written as it is produced: plain
// JSON, not re-indented or converted to YAML.
func (rd *renderer) streamable() bool {
	return rd.out.media == mediaProtobuf || rd.out.media == mediaJSON && !rd.out.pretty && rd.out.view != viewTable
}

// writeList writes a LIST response's JSON to w. Items are written as the cache
// holds them, less their kind and apiVersion (the list says those, and upstream
// leaves them out too).
func (rd *renderer) writeList(w io.Writer, res *storage.ListResult) error {
	if rd.out.media == mediaProtobuf {
		return rd.writeProtoList(w, res)
	}
	lm := metav1.ListMeta{ResourceVersion: strconv.FormatInt(res.RV, 10), Continue: res.Continue, RemainingItemCount: res.Remaining}
	if rd.out.view == viewTable {
		rows := make([]metav1.TableRow, 0, len(res.Items))
		for _, o := range res.Items {
			row, err := rd.row(o)
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
		data, err := rd.tableJSON(rows, lm, true)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	kind, apiVersion := rd.kind.ListKind, rd.kind.GroupVersion().String()
	if rd.out.view == viewPartial {
		kind, apiVersion = "PartialObjectMetadataList", "meta.k8s.io/v1"
	}
	lmJSON, err := json.Marshal(lm)
	if err != nil {
		return err
	}
	typeMeta := []byte(fmt.Sprintf(`{"kind":%q,"apiVersion":%q,`, rd.kind.Kind, apiVersion))
	fmt.Fprintf(w, `{"kind":%q,"apiVersion":%q,"metadata":`, kind, apiVersion)
	w.Write(lmJSON)
	io.WriteString(w, `,"items":[`)
	for i, o := range res.Items {
		if i > 0 {
			io.WriteString(w, ",")
		}
		var item []byte
		if rd.out.view == viewPartial {
			item, err = partialJSON(o)
		} else {
			item, err = rd.objectJSON(o)
		}
		if err != nil {
			return err
		}
		if rd.out.view == viewObject && bytes.HasPrefix(item, typeMeta) {
			io.WriteString(w, "{")
			item = item[len(typeMeta):]
		}
		if _, err := w.Write(item); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "]}")
	return err
}
