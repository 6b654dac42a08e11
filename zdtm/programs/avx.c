/* avx: ymm0-15 hold 256-bit patterns (and zmm16-31 with AVX-512) across the dump, while the process spins in user space. */
#include "zdtmlib.h"

static uint8_t in[32][64] __attribute__((aligned(64))), out[32][64] __attribute__((aligned(64)));

#define LOAD_Y(n) "vmovdqu " #n "*64(%[in]), %%ymm" #n "\n\t"
#define SAVE_Y(n) "vmovdqu %%ymm" #n ", " #n "*64(%[out])\n\t"
#define LOAD_Z(n) "vmovdqu64 " #n "*64(%[in]), %%zmm" #n "\n\t"
#define SAVE_Z(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%[out])\n\t"

__attribute__((target("avx2"))) static void hold_ymm(void)
{
	__asm__ volatile(LOAD_Y(0) LOAD_Y(1) LOAD_Y(2) LOAD_Y(3) LOAD_Y(4) LOAD_Y(5) LOAD_Y(6) LOAD_Y(7) LOAD_Y(8)
				 LOAD_Y(9) LOAD_Y(10) LOAD_Y(11) LOAD_Y(12) LOAD_Y(13) LOAD_Y(14) LOAD_Y(15)
			 "1: pause\n\t cmpl $0, %[stop]\n\t je 1b\n\t" SAVE_Y(0) SAVE_Y(1) SAVE_Y(2) SAVE_Y(3) SAVE_Y(4)
				 SAVE_Y(5) SAVE_Y(6) SAVE_Y(7) SAVE_Y(8) SAVE_Y(9) SAVE_Y(10) SAVE_Y(11) SAVE_Y(12)
					 SAVE_Y(13) SAVE_Y(14) SAVE_Y(15) "vzeroupper\n\t"
			 :
			 : [in] "r"(in), [out] "r"(out), [stop] "m"(test_stop)
			 : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
			   "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

__attribute__((target("avx512f"))) static void hold_zmm(void)
{
	__asm__ volatile(LOAD_Y(0) LOAD_Y(1) LOAD_Y(2) LOAD_Y(3) LOAD_Y(4) LOAD_Y(5) LOAD_Y(6) LOAD_Y(7) LOAD_Y(8)
				 LOAD_Y(9) LOAD_Y(10) LOAD_Y(11) LOAD_Y(12) LOAD_Y(13) LOAD_Y(14) LOAD_Y(15) LOAD_Z(16)
					 LOAD_Z(17) LOAD_Z(18) LOAD_Z(19) LOAD_Z(20) LOAD_Z(21) LOAD_Z(22) LOAD_Z(23)
						 LOAD_Z(24) LOAD_Z(25) LOAD_Z(26) LOAD_Z(27) LOAD_Z(28) LOAD_Z(29)
							 LOAD_Z(30) LOAD_Z(31)
			 "1: pause\n\t cmpl $0, %[stop]\n\t je 1b\n\t" SAVE_Y(0) SAVE_Y(1) SAVE_Y(2) SAVE_Y(3) SAVE_Y(4)
				 SAVE_Y(5) SAVE_Y(6) SAVE_Y(7) SAVE_Y(8) SAVE_Y(9) SAVE_Y(10) SAVE_Y(11) SAVE_Y(12)
					 SAVE_Y(13) SAVE_Y(14) SAVE_Y(15) SAVE_Z(16) SAVE_Z(17) SAVE_Z(18) SAVE_Z(19)
						 SAVE_Z(20) SAVE_Z(21) SAVE_Z(22) SAVE_Z(23) SAVE_Z(24) SAVE_Z(25)
							 SAVE_Z(26) SAVE_Z(27) SAVE_Z(28) SAVE_Z(29) SAVE_Z(30)
								 SAVE_Z(31) "vzeroupper\n\t"
			 :
			 : [in] "r"(in), [out] "r"(out), [stop] "m"(test_stop)
			 : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
			   "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
			   "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	__builtin_cpu_init();
	SETUP(__builtin_cpu_supports("avx2"), "this CPU has no AVX2");
	int zmm = __builtin_cpu_supports("avx512f");
	test_fill(in, sizeof(in), 15);
	test_ready();
	if (zmm)
		hold_zmm();
	else
		hold_ymm();
	char changed[512] = "";
	for (int i = 0; i < (zmm ? 32 : 16); i++) {
		/* ymm0-15 were loaded as 256 bits, zmm16-31 as 512 */
		if (memcmp(in[i], out[i], i < 16 ? 32 : 64) != 0) {
			size_t n = strlen(changed);
			snprintf(changed + n, sizeof(changed) - n, " %s%d", i < 16 ? "ymm" : "zmm", i);
		}
	}
	CHECK(!*changed, "registers changed:%s", changed);
	return pass();
}
