/* CPU feature detection. On x86 a feature counts only when CPUID reports it
 * AND XGETBV shows the OS saves the register state it needs (a CPU with
 * AVX-512 under an OS or hypervisor that does not enable ZMM state must not
 * run AVX-512 code). On AArch64, NEON is part of the baseline. */
#include "cpu_features.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define FSS_X86 1
#if defined(_MSC_VER)
#include <intrin.h>
static void fss_cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
    int regs[4];
    __cpuidex(regs, (int)leaf, (int)sub);
    for (int i = 0; i < 4; ++i) r[i] = (unsigned)regs[i];
}
static unsigned long long fss_xgetbv0(void) { return _xgetbv(0); }
#else
#include <cpuid.h>
static void fss_cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
    r[0] = r[1] = r[2] = r[3] = 0;
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static unsigned long long fss_xgetbv0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif
#endif

static unsigned fss_detect(void)
{
    unsigned f = 0;
#if defined(FSS_X86)
    unsigned r[4];
    fss_cpuid(0, 0, r);
    const unsigned max_leaf = r[0];
    if (max_leaf < 7)
        return 0;
    fss_cpuid(1, 0, r);
    const unsigned ecx1 = r[2];
    const int osxsave = (ecx1 >> 27) & 1, avx = (ecx1 >> 28) & 1, fma = (ecx1 >> 12) & 1;
    const int f16c = (ecx1 >> 29) & 1; /* every AVX2 CPU has it; the float16 loads need it */
    if (!osxsave || !avx)
        return 0;
    const unsigned long long xcr0 = fss_xgetbv0();
    const int os_ymm = (xcr0 & 0x6) == 0x6;          /* SSE and AVX state */
    const int os_zmm = (xcr0 & 0xE6) == 0xE6;        /* + opmask, ZMM_Hi256, Hi16_ZMM */
    fss_cpuid(7, 0, r);
    const unsigned ebx7 = r[1];
    const int avx2 = (ebx7 >> 5) & 1;
    const int avx512f = (ebx7 >> 16) & 1, avx512dq = (ebx7 >> 17) & 1;
    const int avx512bw = (ebx7 >> 30) & 1, avx512vl = (ebx7 >> 31) & 1;
    if (os_ymm && avx2 && fma && f16c)
        f |= FSS_CPU_AVX2;
    if ((f & FSS_CPU_AVX2) && os_zmm && avx512f && avx512dq && avx512bw && avx512vl)
        f |= FSS_CPU_AVX512;
#elif defined(__aarch64__) || defined(_M_ARM64)
    f |= FSS_CPU_NEON;
#endif
    return f;
}

unsigned fss_cpu_features(void)
{
    /* Detection is idempotent, so a race between first callers is harmless. */
    static volatile int done = 0;
    static volatile unsigned cached = 0;
    if (!done) {
        cached = fss_detect();
        done = 1;
    }
    return cached;
}
