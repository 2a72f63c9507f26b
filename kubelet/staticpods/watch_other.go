//go:build !linux

package staticpods

import "errors"

// watcher is Linux's inotify watch; elsewhere the path is only polled.
type watcher struct{}

func startWatch(string, func()) (*watcher, error) {
	return nil, errors.New("watching files is supported on Linux only")
}

func (*watcher) Close()             {}
func (*watcher) Done() <-chan error { return nil }
