/* What one `cpuid` instruction costs on this machine, per leaf (docs/benchmarks.md: on a VM it
 * traps to the hypervisor, and every process start runs a few dozen: glibc's, libgcc_s's
 * constructor, ring's feature detection).
 * Build and run: cc -O2 -o /tmp/cpuid_probe scripts/cpuid_probe.c && /tmp/cpuid_probe */
#include <cpuid.h>
#include <stdio.h>
#include <time.h>

static double micros_per_call(unsigned leaf) {
    unsigned a, b, c, d;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 300; i++) __cpuid_count(leaf, 0, a, b, c, d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 300 / 1000.0;
}

int main(void) {
    unsigned leaves[] = {0, 1, 4, 7, 0xd, 0x14, 0x19, 0x80000000, 0x80000001, 0x80000007, 0x80000008};
    for (unsigned i = 0; i < sizeof leaves / sizeof *leaves; i++)
        printf("leaf %#x: %.2f us\n", leaves[i], micros_per_call(leaves[i]));
    return 0;
}
