package apiserver_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/tendhq/tend/apiserver"
)

// A server that cannot start says why and leaves nothing running.
func TestStartFailsCleanly(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		tune func(*apiserver.Config)
		want string
	}{
		{"port in use", func(c *apiserver.Config) { c.SecurePort = busy.Addr().(*net.TCPAddr).Port }, "address already in use"},
		{"bad service CIDR", func(c *apiserver.Config) { c.ServiceCIDR = "10.43.0.0/40" }, "service CIDR"},
		{"bad node port range", func(c *apiserver.Config) { c.NodePortRange = "32767-30000" }, "node port range"},
		{"no data directory", func(c *apiserver.Config) { c.DataDir = "" }, "data directory"},
	}
	for _, tt := range tests {
		cfg := apiserver.DefaultConfig()
		cfg.DataDir = t.TempDir()
		tt.tune(&cfg)
		s, err := apiserver.Start(context.Background(), cfg)
		if err == nil {
			t.Errorf("%s: Start succeeded", tt.name)
			continue
		}
		if s != nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Start = %v, %v; want nil and an error mentioning %q", tt.name, s, err, tt.want)
		}
	}
}
