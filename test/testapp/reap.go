package main

import (
	"os"
	"os/signal"
	"syscall"
)

// reapChildren waits for every child that ends, for as long as the process
// lives. As PID 1 of a container, orphans (say, what a `kubectl exec`
// started in the background) are reparented to this process, and each would
// stay a zombie until waited for. It is only safe because testapp itself
// starts no child processes that anything else waits for.
func reapChildren() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGCHLD)
	go func() {
		for {
			reapAll()
			<-ch // signals coalesce: every wake-up reaps all that ended
		}
	}()
}

// reapAll waits for every child that has ended, without blocking.
func reapAll() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}
