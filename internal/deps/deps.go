//go:build tools

// Package deps pins the project's chosen dependencies in go.mod while the
// packages that use them are being written.
package deps

import (
	_ "github.com/apache/arrow/go/v15/arrow"
	_ "github.com/daulet/tokenizers"
	_ "github.com/spf13/cobra"
	_ "go.uber.org/zap"
	_ "go.yaml.in/yaml/v3"
	_ "go4.org/unsafe/assume-no-moving-gc"
	_ "gonum.org/v1/netlib/blas/netlib"
	_ "gonum.org/v1/plot"
	_ "gorgonia.org/gorgonia"
	_ "gorgonia.org/tensor"
)
