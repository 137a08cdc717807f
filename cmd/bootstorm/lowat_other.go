//go:build !unix

package main

// setRcvLowat does nothing here: reads wake up as data comes.
func setRcvLowat(fd uintptr, v int) {}
