package vindex

import "unsafe"

// prefetchRows hints the rows base[idx[i]*row : (idx[i]+1)*row] for
// i < n into the cache (kernels_amd64.s). It reads nothing Go can see.
//
//go:noescape
func prefetchRows(base unsafe.Pointer, row int, idx *uint32, n int)

// dotI8SSE41 is the exact int32 dot product of a[:n] and b[:n], n a
// multiple of 8 (kernels_amd64.s); it needs SSE4.1.
//
//go:noescape
func dotI8SSE41(a, b *int8, n int) int32

func cpuidECX1() uint32

// haveSSE41 is whether the CPU has SSE4.1 (PMOVSXBW, PMOVSXBD), which the
// dot kernels need; GOAMD64=v1 does not guarantee it.
var haveSSE41 = cpuidECX1()&(1<<19) != 0
