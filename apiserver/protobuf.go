package apiserver

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/apiserver/storage"
)

// Protobuf responses, in the wire format of k8s.io/apimachinery's protobuf
// serializer: an object is the bytes "k8s\x00" then a runtime.Unknown whose
// raw field holds the object's own protobuf; a list's raw field holds its
// ListMeta then each item; a watch stream is frames of a 4-byte big-endian
// length then a metav1.WatchEvent whose object is an enveloped object.
//
// An object's protobuf is built from its cached JSON the first time a client
// asks for it and kept with the cached object, as its JSON is: a list or a
// watch fan-out to protobuf clients encodes each object once.

var protobufMagic = []byte("k8s\x00")

type protoMarshaler interface {
	Marshal() ([]byte, error)
}

// protoRaw is the protobuf of a cached object in the served version, without
// envelope.
func (rd *renderer) protoRaw(o *storage.Object) ([]byte, error) {
	build := func() ([]byte, error) {
		obj, err := rd.served(o)
		if err != nil {
			return nil, err
		}
		m, ok := obj.(protoMarshaler)
		if !ok {
			return nil, fmt.Errorf("%T has no protobuf encoding", obj)
		}
		return m.Marshal()
	}
	if rd.kind.FromStorage != nil {
		// Only the stored version's encoding is kept with the object.
		return build()
	}
	return o.Encoding(build)
}

// envelope wraps an object's protobuf in upstream's envelope.
func envelope(gvk schema.GroupVersionKind, raw []byte) ([]byte, error) {
	unk := runtime.Unknown{
		TypeMeta: runtime.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind},
		Raw:      raw,
	}
	b, err := unk.Marshal()
	if err != nil {
		return nil, err
	}
	return append(append(make([]byte, 0, len(protobufMagic)+len(b)), protobufMagic...), b...), nil
}

// protoObject is the enveloped protobuf of a cached object.
func (rd *renderer) protoObject(o *storage.Object) ([]byte, error) {
	raw, err := rd.protoRaw(o)
	if err != nil {
		return nil, err
	}
	return envelope(rd.kind.GroupVersionKind(), raw)
}

// writeProtoList writes a LIST as protobuf, streaming the items: the envelope's
// length is computed from the items' cached encodings first.
func (rd *renderer) writeProtoList(w io.Writer, res *storage.ListResult) error {
	lm := metav1.ListMeta{ResourceVersion: strconv.FormatInt(res.RV, 10), Continue: res.Continue, RemainingItemCount: res.Remaining}
	lmRaw, err := lm.Marshal()
	if err != nil {
		return err
	}
	items := make([][]byte, len(res.Items))
	listLen := protowire.SizeTag(1) + protowire.SizeBytes(len(lmRaw))
	for i, o := range res.Items {
		if items[i], err = rd.protoRaw(o); err != nil {
			return err
		}
		listLen += protowire.SizeTag(2) + protowire.SizeBytes(len(items[i]))
	}
	var tm []byte
	tm = protowire.AppendTag(tm, 1, protowire.BytesType)
	tm = protowire.AppendString(tm, rd.kind.GroupVersion().String())
	tm = protowire.AppendTag(tm, 2, protowire.BytesType)
	tm = protowire.AppendString(tm, rd.kind.ListKind)

	head := append([]byte(nil), protobufMagic...)
	head = protowire.AppendTag(head, 1, protowire.BytesType) // Unknown.typeMeta
	head = protowire.AppendBytes(head, tm)
	head = protowire.AppendTag(head, 2, protowire.BytesType) // Unknown.raw: the list
	head = protowire.AppendVarint(head, uint64(listLen))
	head = protowire.AppendTag(head, 1, protowire.BytesType) // list.metadata
	head = protowire.AppendBytes(head, lmRaw)
	if _, err := w.Write(head); err != nil {
		return err
	}
	var buf []byte
	for _, item := range items {
		buf = protowire.AppendTag(buf[:0], 2, protowire.BytesType) // list.items
		buf = protowire.AppendVarint(buf, uint64(len(item)))
		if _, err := w.Write(buf); err != nil {
			return err
		}
		if _, err := w.Write(item); err != nil {
			return err
		}
	}
	return nil
}

// writeProtoEvent writes one watch event as a length-delimited protobuf frame.
func (rq *request) writeProtoEvent(w io.Writer, rd *renderer, e *storage.Event) error {
	var obj []byte
	var err error
	if e.Type == storage.Bookmark {
		obj, err = rq.protoBookmark(e)
	} else {
		obj, err = rd.protoObject(e.Object)
	}
	if err != nil {
		return err
	}
	return writeProtoFrame(w, string(e.Type), obj)
}

func writeProtoFrame(w io.Writer, eventType string, obj []byte) error {
	ev := metav1.WatchEvent{Type: eventType, Object: runtime.RawExtension{Raw: obj}}
	frame, err := ev.Marshal()
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(frame)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err = w.Write(frame)
	return err
}

// protoBookmark is the object of a BOOKMARK event in protobuf: an empty object
// of the watched kind carrying the resourceVersion.
func (rq *request) protoBookmark(e *storage.Event) ([]byte, error) {
	obj := rq.kind.New()
	m := mustMeta(obj)
	m.SetResourceVersion(strconv.FormatInt(e.RV, 10))
	if e.InitialEventsEnd {
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	raw, err := obj.(protoMarshaler).Marshal()
	if err != nil {
		return nil, err
	}
	return envelope(rq.kind.GroupVersionKind(), raw)
}

// protoStatus is a Status in protobuf, for an ERROR watch event.
func protoStatus(st *metav1.Status) ([]byte, error) {
	raw, err := st.Marshal()
	if err != nil {
		return nil, err
	}
	return envelope(schema.GroupVersionKind{Version: "v1", Kind: "Status"}, raw)
}
