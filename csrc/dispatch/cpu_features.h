/* What the CPU and the operating system let this process execute. */
#ifndef FSS_CPU_FEATURES_H
#define FSS_CPU_FEATURES_H

enum {
    FSS_CPU_AVX2 = 1 << 0,    /* AVX2 + FMA, with the OS saving YMM state */
    FSS_CPU_AVX512 = 1 << 1,  /* AVX-512 F/DQ/BW/VL, with the OS saving ZMM and mask state */
    FSS_CPU_NEON = 1 << 2,    /* AArch64 Advanced SIMD (baseline there) */
};

/* Capability bitmask, computed once and cached. */
unsigned fss_cpu_features(void);

#endif
