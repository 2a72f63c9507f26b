package manager_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/controllers/manager"
	"github.com/tendhq/tend/tendtest"
)

func TestConfigValidate(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	tests := []struct {
		name string
		tune func(*manager.Config)
		ok   bool
	}{
		{"defaults", func(*manager.Config) {}, true},
		{"no REST config", func(c *manager.Config) { c.RESTConfig = nil }, false},
		{"unknown controller", func(c *manager.Config) { c.Controllers = []string{"frobnicator"} }, false},
		{"zero workers", func(c *manager.Config) { c.Workers = map[string]int{"serviceaccount": 0} }, false},
		{"no lease name", func(c *manager.Config) { c.LeaseName = "" }, false},
	}
	for _, tt := range tests {
		cfg := manager.DefaultConfig()
		cfg.RESTConfig = c.RESTConfig()
		tt.tune(&cfg)
		if err := cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v; want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// Two managers against one cluster: exactly one acts; when it stops, the other
// takes over and acts.
func TestTwoManagers(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	var mu sync.Mutex
	var order []string
	var leading atomic.Int32
	start := func(id string) (stop func()) {
		cfg := manager.DefaultConfig()
		cfg.RESTConfig = c.RESTConfig()
		cfg.Identity = id
		cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod = 2*time.Second, time.Second, 100*time.Millisecond
		cfg.OnLeading = func(l bool) {
			if l {
				if n := leading.Add(1); n != 1 {
					t.Errorf("%d managers lead at once", n)
				}
				mu.Lock()
				order = append(order, id)
				mu.Unlock()
			} else {
				leading.Add(-1)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := manager.Run(ctx, cfg); err != nil {
				t.Error(err)
			}
		}()
		return func() {
			cancel()
			<-done
		}
	}
	waitLeaders := func(n int) []string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			got := append([]string(nil), order...)
			mu.Unlock()
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("leaders %v; want %d", got, n)
			}
		}
	}
	stopA := start("a")
	waitLeaders(1)
	stopB := start("b")
	defer stopB()
	time.Sleep(300 * time.Millisecond)
	if got := waitLeaders(1); len(got) != 1 || got[0] != "a" {
		t.Fatalf("leaders %v while a leads; want only a", got)
	}
	stopA()
	if got := waitLeaders(2); got[1] != "b" {
		t.Fatalf("leaders %v; want b after a", got)
	}
	// b acts: a new namespace gets its default ServiceAccount.
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := cs.CoreV1().ServiceAccounts("after").Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new leader did not create the default ServiceAccount")
		}
	}
}
