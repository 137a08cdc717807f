//go:build unix

package main

import "syscall"

// setRcvLowat sets the socket's SO_RCVLOWAT (see lowatRead).
func setRcvLowat(fd uintptr, v int) {
	syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, v)
}
