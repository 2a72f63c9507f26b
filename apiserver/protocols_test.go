package apiserver_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/tendhq/tend/apiserver"
	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/tendtest"
)

// The server prefers HTTP/1.1 (see server.go for why) but still speaks HTTP/2
// to clients that offer only that.
func TestProtocols(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	rt, err := rest.TransportFor(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL()+"/api/v1/namespaces", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 1 || resp.StatusCode != http.StatusOK {
		t.Errorf("client-go got %s %d; want HTTP/1.1 200", resp.Proto, resp.StatusCode)
	}

	tr := adminTransport(t, c, true)
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP2(true) // and not HTTP/1.1
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, c.URL()+"/api/v1/namespaces?watch=true", nil)
	resp, err = (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("an h2-only client got %s; want HTTP/2", resp.Proto)
	}
	line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	if err != nil || len(line) == 0 {
		t.Fatalf("first watch line over HTTP/2: %q, %v", line, err)
	}
}

// A client that asks for protobuf gets it, for objects, lists and watches, and
// everything decodes with client-go's protobuf codecs.
func TestProtobufClients(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{Tune: func(cfg *apiserver.Config) {
		cfg.Storage.History = storage.History{Min: 1, Max: 2, Window: time.Millisecond}
	}})
	cfg := c.RESTConfig()
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cms := cs.CoreV1().ConfigMaps("default")

	w, err := cms.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := range 3 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"n": strconv.Itoa(i)}},
			Data: map[string]string{"k": strings.Repeat("v", i)}}
		got, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != cm.Name || got.UID == "" || got.ResourceVersion == "" {
			t.Fatalf("create over protobuf returned %+v", got.ObjectMeta)
		}
	}
	if _, err := cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "p1", Labels: map[string]string{"n": "1"}}, Data: map[string]string{"k": "new"}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "p2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 5 {
		select {
		case e := <-w.ResultChan():
			cm, ok := e.Object.(*corev1.ConfigMap)
			if !ok {
				t.Fatalf("watch event %s carries %T", e.Type, e.Object)
			}
			got = append(got, string(e.Type)+" "+cm.Name)
		case <-ctx.Done():
			t.Fatalf("watch over protobuf: got %v before timing out", got)
		}
	}
	if want := "[ADDED p0 ADDED p1 ADDED p2 MODIFIED p1 DELETED p2]"; fmt.Sprint(got) != want {
		t.Errorf("watch events = %v; want %s", got, want)
	}

	l, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "n in (0,1)"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 2 || l.Items[1].Data["k"] != "new" || l.ResourceVersion == "" {
		t.Fatalf("list over protobuf = %d items %+v, rv %q", len(l.Items), l.Items, l.ResourceVersion)
	}
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || len(page.Items) != 1 || page.Continue == "" || page.RemainingItemCount == nil || *page.RemainingItemCount != 1 {
		t.Fatalf("first page over protobuf = %v items, continue %q, remaining %v, %v", len(page.Items), page.Continue, page.RemainingItemCount, err)
	}

	// A watch from a revision no longer held ends with a 410 ERROR event.
	old, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Stop()
	select {
	case e := <-old.ResultChan():
		st, ok := e.Object.(*metav1.Status)
		if e.Type != watch.Error || !ok || st.Code != http.StatusGone {
			t.Fatalf("watch from rv 1 = %s %+v; want ERROR with a 410 Status", e.Type, e.Object)
		}
	case <-ctx.Done():
		t.Fatal("no event from an expired watch")
	}

	// An informer syncs over protobuf.
	factory := informers.NewSharedInformerFactory(cs, 0)
	inf := factory.Core().V1().ConfigMaps().Informer()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync over protobuf")
	}
	if keys := inf.GetStore().ListKeys(); len(keys) != 2 {
		t.Errorf("informer over protobuf holds %v; want default/p0 and default/p1", keys)
	}
}
