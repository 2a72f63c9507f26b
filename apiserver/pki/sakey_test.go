package pki

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLoadOrCreateServiceAccountKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pki", "sa.key")
	k1, err := LoadOrCreateServiceAccountKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k1.(*ecdsa.PrivateKey); !ok {
		t.Errorf("created key is a %T; want *ecdsa.PrivateKey", k1)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("stat(%s) = %v, %v; want mode 0600", path, fi, err)
	}
	k2, err := LoadOrCreateServiceAccountKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(k1.Public(), k2.Public()) {
		t.Error("second LoadOrCreateServiceAccountKey returned another key; want the one on disk")
	}
	pubs, err := LoadPublicKeys(path)
	if err != nil || len(pubs) != 1 || !reflect.DeepEqual(pubs[0], k1.Public()) {
		t.Errorf("LoadPublicKeys(private key file) = %v, %v; want its public key", pubs, err)
	}
}

func TestLoadServiceAccountKeyForms(t *testing.T) {
	dir := t.TempDir()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkix, _ := x509.MarshalPKIXPublicKey(rk.Public())
	for _, tc := range []struct {
		name, typ string
		der       []byte
		private   bool
	}{
		{"pkcs1.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), true},
		{"pub.pem", "PUBLIC KEY", pkix, false},
		{"junk.pem", "SOMETHING", []byte("x"), false},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: tc.typ, Bytes: tc.der}), 0o600); err != nil {
			t.Fatal(err)
		}
		pubs, err := LoadPublicKeys(path)
		if tc.typ == "SOMETHING" {
			if err == nil {
				t.Errorf("LoadPublicKeys(%s) = %v; want an error", tc.name, pubs)
			}
			continue
		}
		if err != nil || len(pubs) != 1 || !rk.PublicKey.Equal(pubs[0]) {
			t.Errorf("LoadPublicKeys(%s) = %v, %v; want the RSA public key", tc.name, pubs, err)
		}
		if tc.private {
			k, err := LoadOrCreateServiceAccountKey(path)
			if err != nil || !rk.PublicKey.Equal(k.Public()) {
				t.Errorf("LoadOrCreateServiceAccountKey(%s) = %v; want the RSA key", tc.name, err)
			}
		}
	}
}
