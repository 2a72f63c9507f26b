package stats

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ProcNode reads the machine's usage from a proc file system: CPU time from
// /proc/stat (busy time of every CPU: user, nice, system, irq, softirq and
// steal; guest time is inside user), the boot time from its btime, memory
// from /proc/meminfo with cAdvisor's definitions for the root container:
// usage MemTotal-MemFree, working set usage less Inactive(file), available
// MemTotal less the working set, RSS AnonPages.
type ProcNode struct {
	// Dir is the proc file system; default "/proc".
	Dir string
	// Now tells the time of a reading; default time.Now.
	Now func() time.Time
}

var _ NodeReader = ProcNode{}

// userHZ is the unit of /proc/stat's times: 100 on every Linux
// architecture tend runs on (sysconf(_SC_CLK_TCK)).
const userHZ = 100

// ReadNode reads /proc/stat and /proc/meminfo.
func (n ProcNode) ReadNode(context.Context) (NodeUsage, error) {
	dir := n.Dir
	if dir == "" {
		dir = "/proc"
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	var u NodeUsage
	u.Timestamp = now()
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return u, fmt.Errorf("reading the node's CPU usage: %w", err)
	}
	ticks, boot, err := parseProcStat(stat)
	if err != nil {
		return u, fmt.Errorf("reading the node's CPU usage from %s: %w", filepath.Join(dir, "stat"), err)
	}
	u.CPUUsageCoreNanoSeconds = ticks * (uint64(time.Second) / userHZ)
	u.StartTime = time.Unix(boot, 0)
	mi, err := os.ReadFile(filepath.Join(dir, "meminfo"))
	if err != nil {
		return u, fmt.Errorf("reading the node's memory usage: %w", err)
	}
	m, err := parseMeminfo(mi)
	if err != nil {
		return u, fmt.Errorf("reading the node's memory usage from %s: %w", filepath.Join(dir, "meminfo"), err)
	}
	total, free := m["MemTotal"], m["MemFree"]
	if free < total {
		u.MemoryUsageBytes = total - free
	}
	u.MemoryWorkingSetBytes = u.MemoryUsageBytes
	if inactive := m["Inactive(file)"]; inactive < u.MemoryWorkingSetBytes {
		u.MemoryWorkingSetBytes -= inactive
	}
	u.MemoryAvailableBytes = total - u.MemoryWorkingSetBytes
	u.MemoryRSSBytes = m["AnonPages"]
	return u, nil
}

// parseProcStat returns the busy CPU ticks of the "cpu" line of /proc/stat
// and its btime (the boot, in seconds since the epoch).
func parseProcStat(b []byte) (busy uint64, btime int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	var gotCPU, gotBoot bool
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "cpu":
			// user nice system idle iowait irq softirq steal guest guest_nice
			if len(f) < 9 {
				return 0, 0, fmt.Errorf("cpu line has %d fields, want at least 9", len(f))
			}
			for _, i := range []int{1, 2, 3, 6, 7, 8} {
				v, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("cpu line field %d: %w", i, err)
				}
				busy += v
			}
			gotCPU = true
		case "btime":
			if len(f) != 2 {
				return 0, 0, fmt.Errorf("btime line %q", sc.Text())
			}
			if btime, err = strconv.ParseInt(f[1], 10, 64); err != nil {
				return 0, 0, fmt.Errorf("btime: %w", err)
			}
			gotBoot = true
		}
	}
	if !gotCPU || !gotBoot {
		return 0, 0, fmt.Errorf("no cpu or btime line")
	}
	return busy, btime, nil
}

// parseMeminfo returns /proc/meminfo's values in bytes.
func parseMeminfo(b []byte) (map[string]uint64, error) {
	out := map[string]uint64{}
	for line := range strings.Lines(string(b)) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		out[name] = v
	}
	if _, ok := out["MemTotal"]; !ok {
		return nil, fmt.Errorf("no MemTotal")
	}
	return out, nil
}
