package podnet

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// Defaults of Config's optional fields.
const (
	defaultBridge      = "tend0"
	defaultMTU         = 1500
	defaultTable       = "tend"
	defaultClusterCIDR = "10.42.0.0/16"
	defaultServiceCIDR = "10.43.0.0/16"
)

// Config describes a node's pod network. Zero fields take their defaults;
// only PodCIDR is required.
type Config struct {
	// Bridge is the bridge's name (at most 15 bytes); default "tend0".
	Bridge string
	// PodCIDR is the node's pod CIDR (Node.spec.podCIDR), inside
	// ClusterCIDR, at most a /30. The bridge gets its first address, the
	// pods' gateway. Host bits, if any, are ignored.
	PodCIDR netip.Prefix
	// ClusterCIDR holds every pod's address; default 10.42.0.0/16.
	ClusterCIDR netip.Prefix
	// ServiceCIDR holds the services' addresses; default 10.43.0.0/16. It
	// must not overlap ClusterCIDR.
	ServiceCIDR netip.Prefix
	// MTU of the bridge and of both ends of every veth; default 1500.
	MTU int
	// Table is the name of the nftables table (family inet); default
	// "tend". Letters, digits, '_' and '-', at most 64 bytes.
	Table string
}

// withDefaults returns c with its zero optional fields set and PodCIDR
// masked.
func (c Config) withDefaults() Config {
	if c.Bridge == "" {
		c.Bridge = defaultBridge
	}
	if !c.ClusterCIDR.IsValid() {
		c.ClusterCIDR = netip.MustParsePrefix(defaultClusterCIDR)
	}
	if !c.ServiceCIDR.IsValid() {
		c.ServiceCIDR = netip.MustParsePrefix(defaultServiceCIDR)
	}
	if c.MTU == 0 {
		c.MTU = defaultMTU
	}
	if c.Table == "" {
		c.Table = defaultTable
	}
	c.PodCIDR = c.PodCIDR.Masked()
	c.ClusterCIDR = c.ClusterCIDR.Masked()
	c.ServiceCIDR = c.ServiceCIDR.Masked()
	return c
}

// validate checks a defaulted Config.
func (c Config) validate() error {
	var errs []error
	if err := validIfName(c.Bridge); err != nil {
		errs = append(errs, fmt.Errorf("bridge: %w", err))
	}
	switch {
	case !c.PodCIDR.IsValid():
		errs = append(errs, errors.New("pod CIDR: required"))
	case !c.PodCIDR.Addr().Is4():
		errs = append(errs, fmt.Errorf("pod CIDR %s: only IPv4 is supported", c.PodCIDR))
	case c.PodCIDR.Bits() > 30:
		errs = append(errs, fmt.Errorf("pod CIDR %s: too small, want at most a /30 (network, gateway, one pod, broadcast)", c.PodCIDR))
	}
	if !c.ClusterCIDR.Addr().Is4() {
		errs = append(errs, fmt.Errorf("cluster CIDR %s: only IPv4 is supported", c.ClusterCIDR))
	}
	if !c.ServiceCIDR.Addr().Is4() {
		errs = append(errs, fmt.Errorf("service CIDR %s: only IPv4 is supported", c.ServiceCIDR))
	}
	if c.PodCIDR.IsValid() && c.PodCIDR.Addr().Is4() && c.ClusterCIDR.Addr().Is4() && !contains(c.ClusterCIDR, c.PodCIDR) {
		errs = append(errs, fmt.Errorf("pod CIDR %s is not inside cluster CIDR %s", c.PodCIDR, c.ClusterCIDR))
	}
	if c.ClusterCIDR.Addr().Is4() && c.ServiceCIDR.Addr().Is4() && c.ClusterCIDR.Overlaps(c.ServiceCIDR) {
		errs = append(errs, fmt.Errorf("service CIDR %s overlaps cluster CIDR %s", c.ServiceCIDR, c.ClusterCIDR))
	}
	if c.MTU < 68 || c.MTU > 65535 {
		errs = append(errs, fmt.Errorf("MTU %d: want 68 to 65535", c.MTU))
	}
	if err := validTableName(c.Table); err != nil {
		errs = append(errs, fmt.Errorf("table: %w", err))
	}
	return errors.Join(errs...)
}

// contains reports whether inner lies entirely inside outer.
func contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

func validIfName(name string) error {
	if len(name) > 15 {
		return fmt.Errorf("%q is longer than 15 bytes", name)
	}
	if name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n") {
		return fmt.Errorf("%q is not a valid interface name", name)
	}
	return nil
}

func validTableName(name string) error {
	if len(name) > 64 {
		return fmt.Errorf("%q is longer than 64 bytes", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%q: want letters, digits, '_' and '-'", name)
		}
	}
	return nil
}

// Network is a node's pod network. Make it with New.
type Network struct {
	cfg     Config
	gateway netip.Addr // PodCIDR's first address, the bridge's

	mu sync.Mutex
	// hostPorts is the host ports of each pod, by pod ID: what the table's
	// host-port chain holds once loaded is true.
	hostPorts map[string]podHostPorts
	loaded    bool // hostPorts was read back from the kernel (or Teardown emptied it)
}

// New validates cfg and returns its Network. It changes nothing on the
// machine.
func New(cfg Config) (*Network, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("podnet: invalid config: %w", err)
	}
	return &Network{
		cfg:       cfg,
		gateway:   cfg.PodCIDR.Addr().Next(),
		hostPorts: map[string]podHostPorts{},
	}, nil
}

// Gateway returns the bridge's address, the pods' default gateway.
func (n *Network) Gateway() netip.Addr { return n.gateway }

// checkPodIP reports whether ip can be a pod's address: an IPv4 address in
// PodCIDR other than the network, gateway and broadcast addresses.
func (n *Network) checkPodIP(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return errors.New("pod IP: required")
	case !ip.Is4():
		return fmt.Errorf("pod IP %s: only IPv4 is supported", ip)
	case !n.cfg.PodCIDR.Contains(ip):
		return fmt.Errorf("pod IP %s is not in pod CIDR %s", ip, n.cfg.PodCIDR)
	case ip == n.cfg.PodCIDR.Addr():
		return fmt.Errorf("pod IP %s is pod CIDR %s's network address", ip, n.cfg.PodCIDR)
	case ip == n.gateway:
		return fmt.Errorf("pod IP %s is the gateway", ip)
	case ip == lastAddr(n.cfg.PodCIDR):
		return fmt.Errorf("pod IP %s is pod CIDR %s's broadcast address", ip, n.cfg.PodCIDR)
	}
	return nil
}

// checkPodID reports whether id can name a pod: it is stored in link
// aliases and rule comments, which are short and printed by tools.
func checkPodID(id string) error {
	if id == "" {
		return errors.New("pod ID: required")
	}
	if len(id) > 64 {
		return fmt.Errorf("pod ID %q: longer than 64 bytes", id)
	}
	for _, r := range id {
		if r <= ' ' || r > '~' {
			return fmt.Errorf("pod ID %q: want printable ASCII without spaces", id)
		}
	}
	return nil
}

// lastAddr returns the last address of p (for IPv4, the broadcast address).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		k := min(host, 8)
		b[i] |= byte(1<<k - 1)
		host -= k
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
