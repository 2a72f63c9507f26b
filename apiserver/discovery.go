package apiserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/schemas"
	"github.com/tendhq/tend/schemas/openapi"
)

// subresourceInfo describes what a subresource reads and writes.
type subresourceInfo struct {
	gvk   schema.GroupVersionKind // empty: the parent's kind
	verbs []string
	typ   reflect.Type // nil: the parent's type
}

var subresources = map[string]subresourceInfo{
	"status":   {verbs: []string{"get", "patch", "update"}},
	"scale":    {gvk: autoscalingv1.SchemeGroupVersion.WithKind("Scale"), verbs: []string{"get", "patch", "update"}, typ: reflect.TypeOf(autoscalingv1.Scale{})},
	"binding":  {gvk: corev1.SchemeGroupVersion.WithKind("Binding"), verbs: []string{"create"}, typ: reflect.TypeOf(corev1.Binding{})},
	"eviction": {gvk: policyv1.SchemeGroupVersion.WithKind("Eviction"), verbs: []string{"create"}, typ: reflect.TypeOf(policyv1.Eviction{})},
	"finalize": {verbs: []string{"update"}},
	"token":    {gvk: authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"), verbs: []string{"create"}, typ: reflect.TypeOf(authenticationv1.TokenRequest{})},

	// Served by kubelets (podproxy.go).
	"log":         {verbs: []string{"get"}},
	"exec":        {gvk: corev1.SchemeGroupVersion.WithKind("PodExecOptions"), verbs: []string{"create", "get"}, typ: reflect.TypeOf(corev1.PodExecOptions{})},
	"attach":      {gvk: corev1.SchemeGroupVersion.WithKind("PodAttachOptions"), verbs: []string{"create", "get"}, typ: reflect.TypeOf(corev1.PodAttachOptions{})},
	"portforward": {gvk: corev1.SchemeGroupVersion.WithKind("PodPortForwardOptions"), verbs: []string{"create", "get"}, typ: reflect.TypeOf(corev1.PodPortForwardOptions{})},
}

// discovery holds the discovery documents, built once.
type discovery struct {
	api        []byte // /api
	apis       []byte // /apis
	groups     map[string][]byte
	versions   map[string][]byte // "v1" and "group/version" → APIResourceList
	aggregated map[string]map[string][]byte
}

func newDiscovery(reg *schemas.Registry, url string) *discovery {
	d := &discovery{groups: map[string][]byte{}, versions: map[string][]byte{},
		aggregated: map[string]map[string][]byte{"v2": {}, "v2beta1": {}}}
	host := strings.TrimPrefix(url, "https://")
	d.api = mustJSON(&metav1.APIVersions{
		TypeMeta:                   metav1.TypeMeta{Kind: "APIVersions"},
		Versions:                   []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: host}},
	})
	byGV := map[schema.GroupVersion][]*schemas.Kind{}
	var groupOrder []string
	groupVersions := map[string][]string{}
	preferred := map[string]string{}
	for _, k := range reg.Kinds() {
		gv := k.GroupVersion()
		if _, ok := byGV[gv]; !ok {
			if _, seen := groupVersions[gv.Group]; !seen {
				groupOrder = append(groupOrder, gv.Group)
			}
			groupVersions[gv.Group] = append(groupVersions[gv.Group], gv.Version)
		}
		byGV[gv] = append(byGV[gv], k)
		if k.Preferred {
			preferred[gv.Group] = gv.Version
		}
	}
	sort.Strings(groupOrder)
	var list metav1.APIGroupList
	list.Kind, list.APIVersion = "APIGroupList", "v1"
	var aggAPIS, aggAPI apidiscoveryv2.APIGroupDiscoveryList
	for _, g := range groupOrder {
		versions := groupVersions[g]
		// Newest first, as upstream's discovery orders versions.
		sort.Slice(versions, func(i, j int) bool { return versionNewer(versions[i], versions[j]) })
		pref := preferred[g]
		if pref == "" {
			pref = versions[0]
		}
		group := metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: g}
		agg := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: g}}
		for _, v := range versions {
			gv := schema.GroupVersion{Group: g, Version: v}
			group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: v})
			d.versions[gv.String()] = mustJSON(resourceList(gv, byGV[gv]))
			agg.Versions = append(agg.Versions, aggregatedVersion(gv, byGV[gv]))
		}
		group.PreferredVersion = metav1.GroupVersionForDiscovery{GroupVersion: schema.GroupVersion{Group: g, Version: pref}.String(), Version: pref}
		// The preferred version comes first in aggregated discovery.
		sort.SliceStable(agg.Versions, func(i, j int) bool { return agg.Versions[i].Version == pref && agg.Versions[j].Version != pref })
		if g == "" {
			aggAPI.Items = append(aggAPI.Items, agg)
			continue
		}
		d.groups[g] = mustJSON(&group)
		list.Groups = append(list.Groups, group)
		aggAPIS.Items = append(aggAPIS.Items, agg)
	}
	// metrics.k8s.io is served from the kubelets' stats, not stored (metricsapi.go).
	mg, magg, mres := metricsDiscovery()
	d.groups[mg.Name], d.versions[mres.GroupVersion] = mustJSON(&mg), mustJSON(mres)
	list.Groups, aggAPIS.Items = append(list.Groups, mg), append(aggAPIS.Items, magg)
	d.apis = mustJSON(&list)
	for _, v := range []string{"v2", "v2beta1"} {
		for path, l := range map[string]*apidiscoveryv2.APIGroupDiscoveryList{"/api": &aggAPI, "/apis": &aggAPIS} {
			l.Kind, l.APIVersion = "APIGroupDiscoveryList", "apidiscovery.k8s.io/"+v
			d.aggregated[v][path] = mustJSON(l)
		}
	}
	return d
}

// versionNewer orders Kubernetes versions: v2 > v1 > v1beta2 > v1beta1 > v1alpha1.
func versionNewer(a, b string) bool {
	rank := func(v string) (int, int, int) {
		var major, level, minor int
		rest := strings.TrimPrefix(v, "v")
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			major = major*10 + int(rest[i]-'0')
			i++
		}
		level = 3
		switch {
		case strings.HasPrefix(rest[i:], "beta"):
			level, i = 2, i+4
		case strings.HasPrefix(rest[i:], "alpha"):
			level, i = 1, i+5
		}
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			minor = minor*10 + int(rest[i]-'0')
			i++
		}
		return level, major, minor
	}
	la, ma, na := rank(a)
	lb, mb, nb := rank(b)
	if la != lb {
		return la > lb
	}
	if ma != mb {
		return ma > mb
	}
	return na > nb
}

func resourceList(gv schema.GroupVersion, kinds []*schemas.Kind) *metav1.APIResourceList {
	l := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	for _, k := range kinds {
		l.APIResources = append(l.APIResources, metav1.APIResource{
			Name: k.Resource, SingularName: k.SingularName, Namespaced: k.Namespaced, Kind: k.Kind,
			Verbs: verbsOf(k), ShortNames: k.ShortNames, Categories: k.Categories,
			StorageVersionHash: storageVersionHash(k),
		})
		for _, sub := range k.Subresources {
			info := subresources[sub]
			r := metav1.APIResource{Name: k.Resource + "/" + sub, Namespaced: k.Namespaced, Kind: k.Kind, Verbs: info.verbs}
			if !info.gvk.Empty() {
				r.Group, r.Version, r.Kind = info.gvk.Group, info.gvk.Version, info.gvk.Kind
			}
			l.APIResources = append(l.APIResources, r)
		}
	}
	return l
}

func aggregatedVersion(gv schema.GroupVersion, kinds []*schemas.Kind) apidiscoveryv2.APIVersionDiscovery {
	v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
	for _, k := range kinds {
		scope := apidiscoveryv2.ScopeCluster
		if k.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		r := apidiscoveryv2.APIResourceDiscovery{
			Resource: k.Resource, SingularResource: k.SingularName, Scope: scope,
			ResponseKind: &metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: k.Kind},
			Verbs:        verbsOf(k), ShortNames: k.ShortNames, Categories: k.Categories,
		}
		for _, sub := range k.Subresources {
			info := subresources[sub]
			rk := &metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: k.Kind}
			if !info.gvk.Empty() {
				rk = &metav1.GroupVersionKind{Group: info.gvk.Group, Version: info.gvk.Version, Kind: info.gvk.Kind}
			}
			r.Subresources = append(r.Subresources, apidiscoveryv2.APISubresourceDiscovery{Subresource: sub, ResponseKind: rk, Verbs: info.verbs})
		}
		v.Resources = append(v.Resources, r)
	}
	return v
}

// verbsOf is the verbs discovery and OpenAPI list for a kind: upstream serves
// no deletecollection of namespaces (deleteCollection refuses it too).
func verbsOf(k *schemas.Kind) []string {
	verbs := k.Verbs()
	if k.GroupResource() == namespacesGR {
		verbs = slices.DeleteFunc(verbs, func(v string) bool { return v == "deletecollection" })
	}
	return verbs
}

// storageVersionHash is upstream's: the first 8 bytes of the SHA-256 of the
// storage group/version/kind, which clients use to tell when storage changed.
func storageVersionHash(k *schemas.Kind) string {
	st := k.Storage
	sum := sha256.Sum256([]byte(st.StorageVersion.Group + "/" + st.StorageVersion.Version + "/" + st.StorageKind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// serveDiscovery answers /api and /apis, aggregated when the client asks.
func (d *discovery) serveRoot(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, a := range parseAccept(r.Header.Get("Accept")) {
			if a.media == mediaJSON && a.params["g"] == "apidiscovery.k8s.io" && a.params["as"] == "APIGroupDiscoveryList" {
				if body, ok := d.aggregated[a.params["v"]][path]; ok {
					serveDocument(w, r, "application/json;g=apidiscovery.k8s.io;v="+a.params["v"]+";as=APIGroupDiscoveryList", body)
					return
				}
			}
		}
		if path == "/api" {
			serveDocument(w, r, mediaJSON, d.api)
		} else {
			serveDocument(w, r, mediaJSON, d.apis)
		}
	}
}

// serveDocument serves a fixed JSON document with an ETag.
func serveDocument(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Vary", "Accept")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeRaw(w, http.StatusOK, output{media: contentType, pretty: isPretty(r)}, body)
}

// newOpenAPI builds the OpenAPI handler for every served kind.
func newOpenAPI(reg *schemas.Registry) (http.Handler, error) {
	var rs []openapi.Resource
	for _, k := range reg.Kinds() {
		r := openapi.Resource{
			Group: k.Group, Version: k.Version, Resource: k.Resource, Kind: k.Kind, Namespaced: k.Namespaced,
			Type:                reflect.TypeOf(k.New()).Elem(),
			ListType:            reflect.TypeOf(k.NewList()).Elem(),
			Verbs:               verbsOf(k),
			DeleteReturnsObject: k.Storage.ReturnDeletedObject,
		}
		for _, sub := range k.Subresources {
			info := subresources[sub]
			s := openapi.Subresource{Name: sub, Verbs: info.verbs, Type: info.typ}
			if !info.gvk.Empty() {
				s.Group, s.Version, s.Kind = info.gvk.Group, info.gvk.Version, info.gvk.Kind
			}
			r.Subresources = append(r.Subresources, s)
		}
		rs = append(rs, r)
	}
	rs = append(rs, metricsOpenAPI()...)
	return openapi.New(serverVersion().GitVersion, rs)
}
