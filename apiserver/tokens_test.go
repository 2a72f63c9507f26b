package apiserver_test

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tendhq/tend/apiserver"
	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/tendtest"
)

// tokenClient is a client that authenticates with a bearer token only.
func tokenClient(t *testing.T, c *tendtest.Cluster, token string) kubernetes.Interface {
	t.Helper()
	admin := c.RESTConfig()
	cfg := &rest.Config{
		Host:            admin.Host,
		TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData, CAFile: admin.CAFile},
		BearerToken:     token,
		QPS:             1000, Burst: 1000,
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

// claimsOf decodes a JWT's payload without verifying it.
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts; want 3", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decoding the token payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decoding the token claims: %v", err)
	}
	return m
}

func createSA(t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := cs.CoreV1().ServiceAccounts(ns).Create(ctxFor(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating service account %s/%s: %v", ns, name, err)
	}
	return sa
}

func wantUnauthorized(t *testing.T, what string, cs kubernetes.Interface, ns string) {
	t.Helper()
	_, err := cs.CoreV1().ConfigMaps(ns).List(ctxFor(t), metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("%s: listing configmaps = %v; want 401 Unauthorized", what, err)
	}
}

func TestTokenRequestAndBearerAuthentication(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "tokens")
	sa := createSA(t, cs, ns, "robot")

	before := time.Now()
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if tr.Status.Token == "" {
		t.Fatal("CreateToken returned no token")
	}
	if got := tr.Status.ExpirationTimestamp.Time; got.Before(before.Add(time.Hour-time.Second)) || got.After(time.Now().Add(time.Hour+time.Second)) {
		t.Errorf("expirationTimestamp = %v; want an hour from now", got)
	}
	if got, want := tr.Spec.Audiences, []string{apiserver.DefaultServiceAccountIssuer}; !slices.Equal(got, want) {
		t.Errorf("spec.audiences = %v; want %v", got, want)
	}
	if tr.Spec.ExpirationSeconds == nil || *tr.Spec.ExpirationSeconds != 3600 {
		t.Errorf("spec.expirationSeconds = %v; want 3600", tr.Spec.ExpirationSeconds)
	}
	cl := claimsOf(t, tr.Status.Token)
	if got, want := cl["iss"], apiserver.DefaultServiceAccountIssuer; got != want {
		t.Errorf("iss = %v; want %v", got, want)
	}
	if got, want := cl["sub"], "system:serviceaccount:"+ns+":robot"; got != want {
		t.Errorf("sub = %v; want %v", got, want)
	}
	if exp, iat := cl["exp"].(float64), cl["iat"].(float64); exp-iat != 3600 {
		t.Errorf("exp - iat = %v; want 3600", exp-iat)
	}
	k8s, _ := cl["kubernetes.io"].(map[string]any)
	if k8s["namespace"] != ns || k8s["serviceaccount"].(map[string]any)["uid"] != string(sa.UID) {
		t.Errorf("kubernetes.io claim = %v; want namespace %s and the service account's uid %s", k8s, ns, sa.UID)
	}

	// Clients that send protobuf (the kubelet's, the controller-manager's) get tokens too.
	pbc := c.RESTConfig()
	pbc.ContentType = "application/vnd.kubernetes.protobuf"
	pbc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	exp := int64(7200)
	pb, err := kubernetes.NewForConfigOrDie(pbc).CoreV1().ServiceAccounts(ns).CreateToken(ctx, "robot",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil || pb.Status.Token == "" || *pb.Spec.ExpirationSeconds != 7200 {
		t.Errorf("CreateToken over protobuf = %+v, %v; want a token of 7200 s", pb, err)
	}

	// The token authenticates.
	bc := tokenClient(t, c, tr.Status.Token)
	if _, err := bc.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("listing configmaps with the token: %v", err)
	}

	// A token for another audience does not authenticate here.
	other, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "robot",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("CreateToken for audience vault: %v", err)
	}
	wantUnauthorized(t, "token for audience vault", tokenClient(t, c, other.Status.Token), ns)
	wantUnauthorized(t, "garbage token", tokenClient(t, c, "not-a-jwt"), ns)
	wantUnauthorized(t, "tampered token", tokenClient(t, c, tr.Status.Token[:len(tr.Status.Token)-4]+"AAAA"), ns)

	// A token the server's key signed but that expired (past the leeway) does not.
	key, err := pki.LoadOrCreateServiceAccountKey(filepath.Join(c.Dir(), "pki", "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	expired := forgeToken(t, key, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Minute), sa)
	wantUnauthorized(t, "expired token", tokenClient(t, c, expired), ns)
	// The same, still valid, does: the forgery is sound.
	fresh := forgeToken(t, key, time.Now(), time.Now().Add(time.Hour), sa)
	if _, err := tokenClient(t, c, fresh).CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("listing configmaps with a fresh token signed by the server's key: %v", err)
	}

	// Deleting the service account revokes its tokens, and so does recreating it.
	if err := cs.CoreV1().ServiceAccounts(ns).Delete(ctx, "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, "token of a deleted service account", bc, ns)
	createSA(t, cs, ns, "robot")
	wantUnauthorized(t, "token of a recreated service account", bc, ns)
}

// forgeToken signs a token for sa with the server's key.
func forgeToken(t *testing.T, key crypto.Signer, iat, exp time.Time, sa *corev1.ServiceAccount) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: apiserver.DefaultServiceAccountIssuer, Subject: "system:serviceaccount:" + sa.Namespace + ":" + sa.Name,
		Audience: jwt.Audience{apiserver.DefaultServiceAccountIssuer},
		IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), Expiry: jwt.NewNumericDate(exp),
	}).Claims(map[string]any{"kubernetes.io": map[string]any{
		"namespace": sa.Namespace, "serviceaccount": map[string]string{"name": sa.Name, "uid": string(sa.UID)},
	}}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenBoundToPod(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "bound")
	createSA(t, cs, ns, "robot")
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{ServiceAccountName: "robot", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exp := int64(3607)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: pod.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("CreateToken bound to pod p: %v", err)
	}
	// The kube-api-access lifetime is extended to a year, with warnafter at the asked time.
	cl := claimsOf(t, tr.Status.Token)
	iat, jexp := cl["iat"].(float64), cl["exp"].(float64)
	k8s := cl["kubernetes.io"].(map[string]any)
	if jexp-iat != 365*24*3600 || k8s["warnafter"].(float64)-iat != 3607 {
		t.Errorf("exp - iat = %v, warnafter - iat = %v; want a year and 3607", jexp-iat, k8s["warnafter"].(float64)-iat)
	}
	if got := k8s["pod"].(map[string]any)["uid"]; got != string(pod.UID) {
		t.Errorf("kubernetes.io.pod.uid = %v; want %s", got, pod.UID)
	}
	if d := time.Until(tr.Status.ExpirationTimestamp.Time); d < time.Hour || d > time.Hour+10*time.Second {
		t.Errorf("expirationTimestamp is %v away; want 3607 s", d)
	}
	bc := tokenClient(t, c, tr.Status.Token)
	if _, err := bc.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{}); err != nil {
		t.Fatalf("reading the pod with its bound token: %v", err)
	}
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "p", *metav1.NewDeleteOptions(0)); err != nil {
		t.Fatal(err)
	}
	tendtest.Eventually(t, 10*time.Second, func() string {
		if _, err := cs.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return "pod p is still there"
		}
		return ""
	})
	wantUnauthorized(t, "token bound to a deleted pod", bc, ns)
}

func TestTokenRequestErrors(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{Tune: func(cfg *apiserver.Config) {
		cfg.ServiceAccountMaxTokenExpiration = 2 * time.Hour
	}})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "errs")
	createSA(t, cs, ns, "robot")
	secret, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secs := func(n int64) *int64 { return &n }
	cases := []struct {
		name string
		sa   string
		spec authenticationv1.TokenRequestSpec
		want func(error) bool
	}{
		{"missing service account", "ghost", authenticationv1.TokenRequestSpec{}, apierrors.IsNotFound},
		{"too short", "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: secs(60)}, apierrors.IsInvalid},
		{"too long", "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: secs(1<<32 + 1)}, apierrors.IsInvalid},
		{"missing bound pod", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "nope"}}, apierrors.IsNotFound},
		{"bound secret with another uid", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "s", UID: "other"}}, apierrors.IsConflict},
		{"bound to a configmap", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "ConfigMap", APIVersion: "v1", Name: "x"}}, apierrors.IsBadRequest},
		{"bound secret", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "s", UID: secret.UID}}, func(err error) bool { return err == nil }},
	}
	for _, tc := range cases {
		_, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, tc.sa, &authenticationv1.TokenRequest{Spec: tc.spec}, metav1.CreateOptions{})
		if !tc.want(err) {
			t.Errorf("%s: CreateToken = %v; want otherwise", tc.name, err)
		}
	}

	// Longer than the maximum is shortened to it.
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: secs(10 * 3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *tr.Spec.ExpirationSeconds; got != 7200 {
		t.Errorf("expirationSeconds asked 36000 with a 2h maximum = %d; want 7200", got)
	}
}

func TestServiceAccountIssuerDiscovery(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	rc := newRawClient(t, c)
	r := rc.do("GET", "/.well-known/openid-configuration", nil)
	r.wantCode(t, "openid-configuration", 200)
	var oc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	r.object(t, &oc)
	if oc.Issuer != apiserver.DefaultServiceAccountIssuer || oc.JWKSURI != c.URL()+"/openid/v1/jwks" || !slices.Equal(oc.Algs, []string{"ES256"}) {
		t.Errorf("openid-configuration = %+v; want the default issuer, %s/openid/v1/jwks and ES256", oc, c.URL())
	}
	r = rc.do("GET", "/openid/v1/jwks", nil)
	r.wantCode(t, "jwks", 200)
	var set jose.JSONWebKeySet
	r.object(t, &set)
	if len(set.Keys) != 1 || set.Keys[0].Use != "sig" || set.Keys[0].KeyID == "" || !set.Keys[0].IsPublic() {
		t.Errorf("jwks = %+v; want one public signing key with a kid", set.Keys)
	}

	// Discovery lists serviceaccounts/token.
	rl, err := c.Client().Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rl.APIResources {
		if r.Name == "serviceaccounts/token" {
			found = r.Kind == "TokenRequest" && r.Group == "authentication.k8s.io" && slices.Equal(r.Verbs, metav1.Verbs{"create"})
		}
	}
	if !found {
		t.Error("discovery of v1 has no serviceaccounts/token TokenRequest.authentication.k8s.io with verb create")
	}
}

// upstreamAPIAccess is the kube-api-access volume source upstream's
// ServiceAccount admission adds, as a client reads it back.
var upstreamAPIAccess = &corev1.ProjectedVolumeSource{
	DefaultMode: ptr(int32(0o644)),
	Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3607))}},
		{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
			Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
		{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace",
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
	},
}

func TestServiceAccountAdmissionVolume(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "admit")
	no := false
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "quiet"}, AutomountServiceAccountToken: &no,
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const path = "/var/run/secrets/kubernetes.io/serviceaccount"
	mkPod := func(name string, mutate func(*corev1.Pod)) *corev1.Pod {
		t.Helper()
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "a", Image: "busybox"}, {Name: "b", Image: "busybox"}},
		}}
		if mutate != nil {
			mutate(p)
		}
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s: %v", name, err)
		}
		got, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	apiVolumes := func(p *corev1.Pod) []corev1.Volume {
		var out []corev1.Volume
		for _, v := range p.Spec.Volumes {
			if strings.HasPrefix(v.Name, "kube-api-access-") {
				out = append(out, v)
			}
		}
		return out
	}

	p := mkPod("plain", nil)
	vols := apiVolumes(p)
	if len(vols) != 1 || len(vols[0].Name) != len("kube-api-access-")+5 {
		t.Fatalf("volumes = %+v; want one kube-api-access-XXXXX", p.Spec.Volumes)
	}
	if got, _ := json.Marshal(vols[0].Projected); string(got) != string(mustJSON(t, upstreamAPIAccess)) {
		t.Errorf("kube-api-access volume = %s; want %s", got, mustJSON(t, upstreamAPIAccess))
	}
	want := corev1.VolumeMount{Name: vols[0].Name, ReadOnly: true, MountPath: path}
	for _, ctr := range append(p.Spec.InitContainers, p.Spec.Containers...) {
		if len(ctr.VolumeMounts) != 1 || !reflect.DeepEqual(ctr.VolumeMounts[0], want) {
			t.Errorf("container %s mounts %+v; want only %+v", ctr.Name, ctr.VolumeMounts, want)
		}
	}

	if p := mkPod("optout", func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = &no }); len(apiVolumes(p)) != 0 {
		t.Errorf("pod with automountServiceAccountToken=false has volumes %+v; want none", p.Spec.Volumes)
	}
	p = mkPod("quiet-sa", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "quiet" })
	if len(apiVolumes(p)) != 0 {
		t.Errorf("pod of an account with automountServiceAccountToken=false has volumes %+v; want none", p.Spec.Volumes)
	}
	if got := p.Spec.ImagePullSecrets; len(got) != 1 || got[0].Name != "regcred" {
		t.Errorf("imagePullSecrets = %v; want the account's [regcred]", got)
	}
	yes := true
	if p := mkPod("optin", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "quiet"; p.Spec.AutomountServiceAccountToken = &yes }); len(apiVolumes(p)) != 1 {
		t.Errorf("pod with automountServiceAccountToken=true of an opted-out account has volumes %+v; want kube-api-access", p.Spec.Volumes)
	}
	// A container that mounts something at the path keeps it; a pod where
	// every container does gets no volume.
	p = mkPod("own", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "mine", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
			for i := range cs {
				cs[i].VolumeMounts = []corev1.VolumeMount{{Name: "mine", MountPath: path}}
			}
		}
	})
	if len(apiVolumes(p)) != 0 || len(p.Spec.Containers[0].VolumeMounts) != 1 {
		t.Errorf("pod mounting its own volume at %s got volumes %+v and mounts %+v; want neither changed", path, p.Spec.Volumes, p.Spec.Containers[0].VolumeMounts)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
