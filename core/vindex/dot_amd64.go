//go:build amd64 && !amd64.v3

// The kernel is kept off amd64.v3 builds: there the compiler may fuse
// dotQ's multiply-adds into FMAs, which round once instead of twice, and
// the kernel (separate MULPS and ADDPS) would no longer match it bit for bit.

package vindex

//go:noescape
func dotQ4SSE41(q *float32, n int, c0, c1, c2, c3 *int8, out *[16]float32)

// haveDot4 is whether the CPU has SSE4.1 (PMOVSXBD), which dotQ4SSE41
// needs; GOAMD64=v1 does not guarantee it.
var haveDot4 = haveSSE41

// dotQ4Lanes fills out with the four lane sums of each of the four dot
// products (see dotQ4SSE41) over q[:n], n a multiple of 4; false when the
// CPU cannot.
func dotQ4Lanes(q []float32, n int, c0, c1, c2, c3 []int8, out *[16]float32) bool {
	if !haveDot4 || n == 0 {
		return false
	}
	// Bounds: each code vector must hold n entries (the assembly does not check).
	_, _, _, _, _ = q[n-1], c0[n-1], c1[n-1], c2[n-1], c3[n-1]
	dotQ4SSE41(&q[0], n, &c0[0], &c1[0], &c2[0], &c3[0], out)
	return true
}
