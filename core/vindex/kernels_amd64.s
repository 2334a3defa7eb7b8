//go:build amd64

#include "textflag.h"

// Kernels that change no result: a prefetch hint, and an int8 dot product
// in exact integer arithmetic (any summation order gives the same int32).

// func prefetchRows(base unsafe.Pointer, row int, idx *uint32, n int)
//
// For each of the n indexes idx[i], asks the CPU to bring the row bytes at
// base+idx[i]*row into the cache (PREFETCHT0): every 64-byte line from the
// row's first byte, and the line of its last byte. A prefetch never
// faults and changes no result; it only overlaps the cache misses.
TEXT ·prefetchRows(SB), NOSPLIT, $0-32
	MOVQ base+0(FP), SI
	MOVQ row+8(FP), BX
	MOVQ idx+16(FP), DI
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JLE   done
	TESTQ BX, BX
	JLE   done

next:
	MOVL       (DI), AX
	IMULQ      BX, AX
	LEAQ       (SI)(AX*1), DX
	LEAQ       -1(DX)(BX*1), R8

line:
	PREFETCHT0 (DX)
	ADDQ       $64, DX
	CMPQ       DX, R8
	JBE        line
	PREFETCHT0 (R8)
	ADDQ       $4, DI
	DECQ       CX
	JNZ        next

done:
	RET

// func dotI8SSE41(a, b *int8, n int) int32
//
// The dot product of two int8 vectors over their first n elements, n a
// multiple of 8: sign-extended to int16 (PMOVSXBW), multiplied and summed in
// pairs into int32 (PMADDWD: |a*b| <= 2^14, so a pair fits), accumulated in
// four int32 lanes. Integer addition is associative, even when it wraps,
// so the result is exactly simSlots' scalar sum.
TEXT ·dotI8SSE41(SB), NOSPLIT, $0-28
	MOVQ  a+0(FP), SI
	MOVQ  b+8(FP), DI
	MOVQ  n+16(FP), CX
	PXOR  X0, X0
	XORQ  AX, AX

dotloop:
	CMPQ     AX, CX
	JGE      dotdone
	PMOVSXBW (SI)(AX*1), X1
	PMOVSXBW (DI)(AX*1), X2
	PMADDWL  X2, X1
	PADDL    X1, X0
	ADDQ     $8, AX
	JMP      dotloop

dotdone:
	PSHUFD $0x4e, X0, X1
	PADDL  X1, X0
	PSHUFD $0xb1, X0, X1
	PADDL  X1, X0
	MOVQ   X0, AX
	MOVL   AX, ret+24(FP)
	RET

// func cpuidECX1() uint32
TEXT ·cpuidECX1(SB), NOSPLIT, $0-4
	MOVL $1, AX
	XORL CX, CX
	CPUID
	MOVL CX, ret+0(FP)
	RET
