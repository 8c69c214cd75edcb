package data

import "io"

func errEOF() error { return io.EOF }
