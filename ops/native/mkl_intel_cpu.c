/*
 * The libtorch that DJL loads links Intel MKL statically. On AMD CPUs MKL takes its generic code
 * paths: on this machine (AMD EPYC, AVX-512) its sgemm ran in mkl_blas_def_sgemm_kernel_0_zen and the
 * trainer's step took about twice as long as with MKL's AVX-512 kernels. MKL decides by calling this
 * exported function; preloading a library that answers "yes" makes it pick the kernels the CPU's
 * feature flags allow (it still checks those flags). On Intel CPUs it changes nothing.
 *
 *   cc -shared -fPIC -O2 -o libmkl_intel_cpu.so mkl_intel_cpu.c
 *   LD_PRELOAD=$PWD/libmkl_intel_cpu.so java ...      (./rehearsal does this for you)
 */
int mkl_serv_intel_cpu_true(void) {
    return 1;
}
