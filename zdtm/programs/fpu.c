/*
 * fpu: x87 and SSE state held in registers across the dump: the x87 stack holds 8 values, the x87 control word
 * and MXCSR have non-default rounding, xmm0-15 hold patterns; all are compared after SIGTERM.
 */
#include "zdtmlib.h"
#include <fenv.h>

static uint8_t xmm_in[16][16] __attribute__((aligned(16))), xmm_out[16][16] __attribute__((aligned(16)));

int main(int argc, char **argv)
{
	test_init(argc, argv);
	test_fill(xmm_in, sizeof(xmm_in), 14);
	uint16_t cw = 0x0F7F, cw_out = 0; /* round toward zero, extended precision, all exceptions masked */
	uint32_t mxcsr = 0x1F80 | (3 << 13), mxcsr_out = 0; /* round toward zero */
	long double st_out[8];
	test_ready();
	__asm__ volatile("fninit\n\t"
			 "fldcw %[cw]\n\t"
			 "ldmxcsr %[mx]\n\t"
			 "fld1\n\t fldpi\n\t fldl2t\n\t fldl2e\n\t fldlg2\n\t fldln2\n\t fldz\n\t fld1\n\t"
			 "movdqa 0(%[in]), %%xmm0\n\t movdqa 16(%[in]), %%xmm1\n\t movdqa 32(%[in]), %%xmm2\n\t"
			 "movdqa 48(%[in]), %%xmm3\n\t movdqa 64(%[in]), %%xmm4\n\t movdqa 80(%[in]), %%xmm5\n\t"
			 "movdqa 96(%[in]), %%xmm6\n\t movdqa 112(%[in]), %%xmm7\n\t movdqa 128(%[in]), %%xmm8\n\t"
			 "movdqa 144(%[in]), %%xmm9\n\t movdqa 160(%[in]), %%xmm10\n\t movdqa 176(%[in]), %%xmm11\n\t"
			 "movdqa 192(%[in]), %%xmm12\n\t movdqa 208(%[in]), %%xmm13\n\t movdqa 224(%[in]), %%xmm14\n\t"
			 "movdqa 240(%[in]), %%xmm15\n\t"
			 "1: pause\n\t cmpl $0, %[stop]\n\t je 1b\n\t"
			 "movdqa %%xmm0, 0(%[out])\n\t movdqa %%xmm1, 16(%[out])\n\t movdqa %%xmm2, 32(%[out])\n\t"
			 "movdqa %%xmm3, 48(%[out])\n\t movdqa %%xmm4, 64(%[out])\n\t movdqa %%xmm5, 80(%[out])\n\t"
			 "movdqa %%xmm6, 96(%[out])\n\t movdqa %%xmm7, 112(%[out])\n\t movdqa %%xmm8, 128(%[out])\n\t"
			 "movdqa %%xmm9, 144(%[out])\n\t movdqa %%xmm10, 160(%[out])\n\t movdqa %%xmm11, 176(%[out])\n\t"
			 "movdqa %%xmm12, 192(%[out])\n\t movdqa %%xmm13, 208(%[out])\n\t movdqa %%xmm14, 224(%[out])\n\t"
			 "movdqa %%xmm15, 240(%[out])\n\t"
			 "fstpt 0(%[st])\n\t fstpt 16(%[st])\n\t fstpt 32(%[st])\n\t fstpt 48(%[st])\n\t"
			 "fstpt 64(%[st])\n\t fstpt 80(%[st])\n\t fstpt 96(%[st])\n\t fstpt 112(%[st])\n\t"
			 "fnstcw %[cwo]\n\t stmxcsr %[mxo]\n\t"
			 "fninit\n\t"
			 : [cwo] "=m"(cw_out), [mxo] "=m"(mxcsr_out)
			 : [cw] "m"(cw), [mx] "m"(mxcsr), [in] "r"(xmm_in), [out] "r"(xmm_out), [st] "r"(st_out),
			   [stop] "m"(test_stop)
			 : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
			   "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",
			   "st(6)", "st(7)");
	uint32_t mx_default = 0x1F80;
	__asm__ volatile("ldmxcsr %0" ::"m"(mx_default));
	CHECK(cw_out == cw, "x87 control word is %#x, not %#x", cw_out, cw);
	CHECK((mxcsr_out & ~0x3Fu) == (mxcsr & ~0x3Fu), "MXCSR is %#x, not %#x", mxcsr_out, mxcsr);
	for (int i = 0; i < 16; i++)
		CHECK(memcmp(xmm_in[i], xmm_out[i], 16) == 0, "xmm%d changed", i);
	/* loaded: 1, pi, log2(10), log2(e), log10(2), ln(2), 0, 1 - the top of the stack is the last */
	long double want[8] = {1.0L, 0.0L, 0.693147180559945309417232121458176568L, 0.301029995663981195213738894724493027L,
			       1.442695040888963407359924681001892137L, 3.321928094887362347870319429489390175L,
			       3.141592653589793238462643383279502884L, 1.0L};
	for (int i = 0; i < 8; i++)
		CHECK(st_out[i] - want[i] < 1e-17L && want[i] - st_out[i] < 1e-17L, "st(%d) is %.20Lg, not %.20Lg", i,
		      st_out[i], want[i]);
	return pass();
}
