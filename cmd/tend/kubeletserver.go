package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"

	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/kubelet/server"
)

// kubeletServerListener listens for node name's kubelet server (real
// runtimes only) and returns the server's TLS material: a serving
// certificate from the cluster CA when this process has it (tend server),
// the files of --tls-cert-file and --tls-private-key-file, or else a
// self-signed one (which an apiserver that checks kubelets' certificates
// against the cluster CA does not trust); clients are verified against
// the CA of the kubeconfig.
func (a *agentConfig) kubeletServerListener(rc *rest.Config, name string) (net.Listener, tls.Certificate, *x509.CertPool, error) {
	var none tls.Certificate
	pool := x509.NewCertPool()
	caPEM := rc.TLSClientConfig.CAData
	if len(caPEM) == 0 && rc.TLSClientConfig.CAFile != "" {
		b, err := os.ReadFile(rc.TLSClientConfig.CAFile)
		if err != nil {
			return nil, none, nil, fmt.Errorf("the cluster CA: %w", err)
		}
		caPEM = b
	}
	if a.kubeletCA != nil {
		pool = a.kubeletCA.Pool()
	} else if !pool.AppendCertsFromPEM(caPEM) {
		return nil, none, nil, errors.New("the kubelet server needs the cluster CA to verify the apiserver: the kubeconfig has none")
	}
	addr := net.JoinHostPort(a.kubeletAddress, strconv.Itoa(a.kubeletPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, none, nil, fmt.Errorf("kubelet server: listening on %s: %w", addr, err)
	}
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	if ip := net.ParseIP(a.kubeletAddress); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		ips = append(ips, ip)
	}
	var cert tls.Certificate
	switch {
	case a.tlsCertFile != "" || a.tlsKeyFile != "":
		cert, err = tls.LoadX509KeyPair(a.tlsCertFile, a.tlsKeyFile)
	case a.kubeletCA != nil:
		var leaf *pki.Leaf
		leaf, err = a.kubeletCA.Serving(filepath.Join(a.dataDir, "pki"), "kubelet-"+name, []string{name, "localhost"}, ips)
		if err == nil {
			cert, err = leaf.TLSCertificate()
		}
	default:
		cert, err = selfSigned(name, ips)
	}
	if err != nil {
		ln.Close()
		return nil, none, nil, fmt.Errorf("kubelet server certificate: %w", err)
	}
	return ln, cert, pool, nil
}

// selfSigned is a serving certificate for name and ips signed by itself,
// as upstream's kubelet makes when given none.
func selfSigned(name string, ips []net.IP) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name + "@" + strconv.FormatInt(time.Now().Unix(), 10)},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{name, "localhost"}, IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// kubeletServerConfig is the server's configuration for a node.
func kubeletServerConfig(cert tls.Certificate, pool *x509.CertPool, logf func(string, ...any)) server.Config {
	return server.Config{Certificate: cert, ClientCAs: pool, Logf: logf}
}
