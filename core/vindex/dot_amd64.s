//go:build amd64 && !amd64.v3

#include "textflag.h"

// func dotQ4SSE41(q *float32, n int, c0, c1, c2, c3 *int8, out *[16]float32)
//
// Four dot products of the float query q with int8 code vectors, n a
// multiple of 4. Lane j of vector v's accumulator sums the products of
// elements j, j+4, j+8, … in that order, exactly like dotQ's s0..s3, so
// out[4v+j] is bit for bit dotQ's s_j before its tail and final sum. The
// four vectors are independent, so their add chains overlap.
TEXT ·dotQ4SSE41(SB), NOSPLIT, $0-56
	MOVQ  q+0(FP), SI
	MOVQ  n+8(FP), CX
	MOVQ  c0+16(FP), R8
	MOVQ  c1+24(FP), R9
	MOVQ  c2+32(FP), R10
	MOVQ  c3+40(FP), R11
	MOVQ  out+48(FP), DI
	XORPS X0, X0
	XORPS X1, X1
	XORPS X2, X2
	XORPS X3, X3
	XORQ  AX, AX

loop:
	CMPQ     AX, CX
	JGE      done
	MOVUPS   (SI)(AX*4), X4
	PMOVSXBD (R8)(AX*1), X5
	PMOVSXBD (R9)(AX*1), X6
	PMOVSXBD (R10)(AX*1), X7
	PMOVSXBD (R11)(AX*1), X8
	CVTPL2PS X5, X5
	CVTPL2PS X6, X6
	CVTPL2PS X7, X7
	CVTPL2PS X8, X8
	MULPS    X4, X5
	MULPS    X4, X6
	MULPS    X4, X7
	MULPS    X4, X8
	ADDPS    X5, X0
	ADDPS    X6, X1
	ADDPS    X7, X2
	ADDPS    X8, X3
	ADDQ     $4, AX
	JMP      loop

done:
	MOVUPS X0, 0(DI)
	MOVUPS X1, 16(DI)
	MOVUPS X2, 32(DI)
	MOVUPS X3, 48(DI)
	RET
