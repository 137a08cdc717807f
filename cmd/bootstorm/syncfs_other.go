//go:build !linux

package main

import "syscall"

// syncFS is sync(2) where syncfs is missing.
func syncFS(string) error {
	syscall.Sync()
	return nil
}
