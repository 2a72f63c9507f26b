package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadOrCreateServiceAccountKey loads the private key that signs service
// account tokens from path, creating an ECDSA P-256 key there (0600) if the
// file does not exist. An existing file may hold an ECDSA or RSA key as
// PKCS#8 ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE
// KEY"), the forms upstream's --service-account-signing-key-file accepts.
//
// Several apiservers sharing one etcd must sign with the same key: give them
// the same file.
func LoadOrCreateServiceAccountKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return parsePrivateKey(path, data)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading the service account key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("writing the service account key: %w", err)
	}
	return key, nil
}

// LoadPublicKeys reads the keys in a PEM file that verify service account
// tokens, as upstream's --service-account-key-file: public keys ("PUBLIC
// KEY", "RSA PUBLIC KEY"), certificates, and private keys (whose public half
// is used). A file without any is an error.
func LoadPublicKeys(path string) ([]crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading service account keys: %w", err)
	}
	var keys []crypto.PublicKey
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var k crypto.PublicKey
		switch b.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				k = c.PublicKey
			}
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			var s crypto.Signer
			if s, err = parsePrivateKeyBlock(b); err == nil {
				k = s.Public()
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: parsing a %s block: %w", path, b.Type, err)
		}
		switch k.(type) {
		case *ecdsa.PublicKey, *rsa.PublicKey:
		default:
			return nil, fmt.Errorf("%s: a %T is neither an ECDSA nor an RSA key", path, k)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no PEM public key, certificate or private key", path)
	}
	return keys, nil
}

func parsePrivateKey(path string, data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%s holds no PEM private key", path)
		}
		switch b.Type {
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			k, err := parsePrivateKeyBlock(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return k, nil
		}
	}
}

func parsePrivateKeyBlock(b *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing a %s block: %w", b.Type, err)
	}
	switch s := k.(type) {
	case *ecdsa.PrivateKey:
		return s, nil
	case *rsa.PrivateKey:
		return s, nil
	}
	return nil, fmt.Errorf("a %T is neither an ECDSA nor an RSA key", k)
}
