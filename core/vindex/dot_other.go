//go:build !amd64 || amd64.v3

package vindex

// haveDot4 is false: there is no kernel for this architecture (or, on
// amd64.v3, dotQ may use FMAs the kernel would not match).
const haveDot4 = false

func dotQ4SSE41(q *float32, n int, c0, c1, c2, c3 *int8, out *[16]float32) {
	panic("vindex: no dotQ4 kernel")
}

func dotQ4Lanes(q []float32, n int, c0, c1, c2, c3 []int8, out *[16]float32) bool { return false }
