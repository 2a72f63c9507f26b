package volumes

import (
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// checkHostPath checks (or makes) a hostPath volume's path as its type
// says, with upstream's messages.
func checkHostPath(path string, t *corev1.HostPathType) error {
	typ := corev1.HostPathUnset
	if t != nil {
		typ = *t
	}
	info, statErr := os.Stat(path)
	exists := statErr == nil
	mode := os.FileMode(0)
	if exists {
		mode = info.Mode()
	}
	switch typ {
	case corev1.HostPathUnset:
		// Container runtimes make a missing source a directory.
		if !exists {
			return os.MkdirAll(path, 0o755)
		}
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
			return nil
		}
		fallthrough
	case corev1.HostPathDirectory:
		if !exists || !mode.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", path)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(path, os.O_CREATE, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		fallthrough
	case corev1.HostPathFile:
		if !exists || !mode.IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", path)
		}
	case corev1.HostPathSocket:
		if !exists || mode&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", path)
		}
	case corev1.HostPathCharDev:
		if !exists || mode&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", path)
		}
	case corev1.HostPathBlockDev:
		if !exists || mode&os.ModeDevice == 0 || mode&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", path)
		}
	default:
		return fmt.Errorf("%s is an invalid volume type", typ)
	}
	return nil
}
