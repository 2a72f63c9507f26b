package storage

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Embedded is an etcd member running inside this process, reached without a
// network hop.
type Embedded struct {
	etcd   *embed.Etcd
	client *clientv3.Client
	sock   string
}

// maxRequestBytes is what the embedded etcd accepts in one request: an object of
// MaxObjectSize plus its claims and transaction overhead.
const maxRequestBytes = 2 * 1024 * 1024

// StartEmbedded starts a single-member etcd with its data in dir and waits until
// it serves. It listens only on a unix socket (for etcdctl), never on TCP.
func StartEmbedded(ctx context.Context, dir string) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating etcd data directory: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "tend"
	cfg.Dir = dir
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(quietCore{zapcore.NewCore(
		zapcore.NewConsoleEncoder(zap.NewProductionEncoderConfig()),
		zapcore.Lock(os.Stderr), zapcore.ErrorLevel)}))
	sock := filepath.Join(dir, "etcd.sock")
	if len(sock) > 100 {
		// A unix socket path must fit in 108 bytes.
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		sock = filepath.Join(os.TempDir(), "tend-etcd-"+hex.EncodeToString(b)+".sock")
	}
	peer := url.URL{Scheme: "unix", Path: sock + ".peer"}
	client := url.URL{Scheme: "unix", Path: sock}
	_ = os.Remove(peer.Path)
	_ = os.Remove(client.Path)
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// One member elects itself as soon as it may: short ticks make start-up fast.
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	cfg.MaxRequestBytes = maxRequestBytes
	// etcd keeps the raft log in memory until a snapshot, then keeps catch-up
	// entries for slow followers. A single member has no follower: snapshot
	// often and keep few, which bounds that memory to a few megabytes.
	cfg.SnapshotCount = 2000
	cfg.SnapshotCatchUpEntries = 100
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready in 60s", dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Embedded{etcd: e, client: v3client.New(e.Server), sock: sock}, nil
}

// Client returns an in-process client of the member.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Endpoint is the member's client URL (a unix socket), for etcdctl.
func (e *Embedded) Endpoint() string { return "unix://" + e.sock }

// Close stops the member.
func (e *Embedded) Close() {
	_ = e.client.Close()
	e.etcd.Close()
	if strings.HasPrefix(e.sock, os.TempDir()) {
		_ = os.Remove(e.sock)
		_ = os.Remove(e.sock + ".peer")
	}
}

// Dial connects to an external etcd cluster.
// tlsConfig may be nil for plain connections.
func Dial(ctx context.Context, endpoints []string, tlsConfig *tls.Config) (*clientv3.Client, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 10 * time.Second,
		Context:     ctx,
		TLS:         tlsConfig,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to etcd at %s: %w", strings.Join(endpoints, ","), err)
	}
	return c, nil
}

// quietCore drops the errors an embedded single member logs in normal operation:
// on its first start (no storage version yet) and when it is closed (its
// listeners stop).
type quietCore struct{ zapcore.Core }

var benign = []string{
	"failed to update storage version",
	"setting up serving from embedded etcd failed",
}

func (q quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	for _, m := range benign {
		if strings.HasPrefix(e.Message, m) {
			return ce
		}
	}
	return q.Core.Check(e, ce)
}

func (q quietCore) With(fields []zapcore.Field) zapcore.Core { return quietCore{q.Core.With(fields)} }
