package apiserver

import (
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateTokenRequest(t *testing.T) {
	for _, tc := range []struct {
		secs *int64
		want string
	}{
		{ptrTo(int64(600)), ""},
		{ptrTo(int64(599)), "may not specify a duration less than 10 minutes"},
		{nil, "may not specify a duration less than 10 minutes"},
		{ptrTo(int64(1 << 32)), ""},
		{ptrTo(int64(1<<32 + 1)), "may not specify a duration larger than 2^32 seconds"},
	} {
		errs := validateTokenRequest(&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: tc.secs}})
		got := ""
		if len(errs) > 0 {
			got = errs[0].Detail
		}
		if got != tc.want || len(errs) > 1 {
			t.Errorf("validateTokenRequest(expirationSeconds=%v) = %v; want %q", tc.secs, errs, tc.want)
		}
	}
}

func TestVerifyTimesAndAudiences(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.APIAudiences = []string{"api", "other-api"}
	tk, err := newTokens(&cfg, "https://127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Truncate(time.Second)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa", Namespace: "ns", UID: "u1"}}
	issue := func(auds []string) string {
		sc, pc := tokenClaims(sa, boundObjects{}, start, 600, 0, auds)
		tok, err := tk.sign(sc, pc)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		name string
		auds []string
		at   time.Duration // after start
		want string        // "" valid, else a substring of the error
	}{
		{"fresh", []string{"api"}, 0, ""},
		{"one of several audiences", []string{"vault", "other-api"}, 0, ""},
		{"no audience of the server's", []string{"vault"}, 0, "token audiences"},
		{"within the leeway after exp", []string{"api"}, 600*time.Second + 59*time.Second, ""},
		{"past the leeway", []string{"api"}, 600*time.Second + 61*time.Second, "expired"},
		{"not yet valid", []string{"api"}, -2 * time.Minute, "not valid yet"},
	} {
		tk.now = func() time.Time { return start.Add(tc.at) }
		clear(tk.verified)
		_, err := tk.verify(issue(tc.auds))
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: verify = %v; want %q", tc.name, err, tc.want)
		}
	}
	// A remembered token still expires.
	tok := issue([]string{"api"})
	tk.now = func() time.Time { return start }
	if _, err := tk.verify(tok); err != nil {
		t.Fatal(err)
	}
	tk.now = func() time.Time { return start.Add(time.Hour) }
	if _, err := tk.verify(tok); err == nil {
		t.Error("verify of a remembered token an hour after it expired = nil; want an error")
	}
	// Another issuer's token is not ours.
	other := &tokens{issuer: "https://elsewhere", signer: tk.signer}
	sc, pc := tokenClaims(sa, boundObjects{}, start, 600, 0, []string{"api"})
	foreign, _ := other.sign(sc, pc)
	tk.now = func() time.Time { return start }
	if _, err := tk.verify(foreign); err != errNotOurToken {
		t.Errorf("verify of another issuer's token = %v; want errNotOurToken", err)
	}
}

func TestMountServiceAccountTokenReusesVolume(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Volumes:    []corev1.Volume{{Name: "kube-api-access-abcde"}},
		Containers: []corev1.Container{{Name: "c"}},
	}}
	mountServiceAccountToken(pod, "zzzzz")
	if len(pod.Spec.Volumes) != 1 || pod.Spec.Containers[0].VolumeMounts[0].Name != "kube-api-access-abcde" {
		t.Errorf("mountServiceAccountToken with an existing kube-api-access volume: volumes %v, mounts %v; want the existing one reused",
			pod.Spec.Volumes, pod.Spec.Containers[0].VolumeMounts)
	}
}
