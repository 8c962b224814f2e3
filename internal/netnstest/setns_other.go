//go:build !linux

package netnstest

import "errors"

func setns(path string) error { return errors.New("network namespaces are Linux's") }
