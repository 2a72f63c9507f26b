package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func parse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("not PEM")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCAIsCreatedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(dir, "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca.CertPEM, again.CertPEM) {
		t.Error("a second start created a new CA instead of loading the first")
	}
	if !ca.Cert.IsCA || ca.Cert.Subject.CommonName != "test-ca" {
		t.Errorf("CA = IsCA %v, CN %q; want a CA named test-ca", ca.Cert.IsCA, ca.Cert.Subject.CommonName)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestServingCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{"localhost", "kubernetes.default.svc"}
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.43.0.1")}
	first, err := ca.Serving(dir, "apiserver", hosts, ips)
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, first.CertPEM)
	for _, h := range hosts {
		if err := c.VerifyHostname(h); err != nil {
			t.Errorf("serving certificate does not cover %s: %v", h, err)
		}
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "localhost"}); err != nil {
		t.Errorf("serving certificate does not verify against the CA: %v", err)
	}
	if _, err := first.TLSCertificate(); err != nil {
		t.Errorf("TLSCertificate: %v", err)
	}
	tests := []struct {
		name     string
		hosts    []string
		ips      []net.IP
		reissued bool
	}{
		{"same names", hosts, ips, false},
		{"fewer names", hosts[:1], ips[:1], false},
		{"a new host", append(slices.Clone(hosts), "node-a"), ips, true},
		{"a new address", hosts, append(slices.Clone(ips), net.ParseIP("192.0.2.7")), true},
	}
	prev := first
	for _, tt := range tests {
		got, err := ca.Serving(dir, "apiserver", tt.hosts, tt.ips)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if reissued := !bytes.Equal(got.CertPEM, prev.CertPEM); reissued != tt.reissued {
			t.Errorf("%s: reissued = %v; want %v", tt.name, reissued, tt.reissued)
		}
		prev = got
	}
}

func TestClientCertificateAndKubeconfig(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ca.Client(dir, "admin", "admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, admin.CertPEM)
	if c.Subject.CommonName != "admin" || !slices.Equal(c.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("client subject = %v; want CN admin, O system:masters", c.Subject)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify for client auth: %v", err)
	}
	if time.Until(c.NotAfter) < renewBefore {
		t.Errorf("client certificate expires at %v, within the renewal window", c.NotAfter)
	}
	// Another group means another certificate.
	other, err := ca.Client(dir, "admin", "admin", []string{"ops"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.CertPEM, admin.CertPEM) {
		t.Error("changing the groups kept the old certificate")
	}

	path := filepath.Join(dir, "admin.kubeconfig")
	if err := WriteKubeconfig(path, "https://127.0.0.1:6443", ca, other, "tend"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:6443" || !bytes.Equal(cfg.CAData, ca.CertPEM) || !bytes.Equal(cfg.CertData, other.CertPEM) {
		t.Errorf("kubeconfig = host %q; want the server, CA and client certificate written", cfg.Host)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode = %v; want 0600", fi.Mode().Perm())
	}
}
