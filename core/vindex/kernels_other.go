//go:build !amd64

package vindex

import "unsafe"

// prefetchRows is a no-op where there is no prefetch kernel: the search
// is the same, only its cache misses are not overlapped.
func prefetchRows(base unsafe.Pointer, row int, idx *uint32, n int) {}

// haveSSE41 is false: no kernels here.
const haveSSE41 = false

func dotI8SSE41(a, b *int8, n int) int32 { panic("vindex: no dotI8 kernel") }
