/* Hand-written baseline for the int8-activation packed matvec (hwgen.tvm_backend.quad_kernels).
 *
 * Same layout as hwgen.tvm_backend.packing.QuadPanels: panels of 32 rows, w[panel][block][v][32]
 * bytes, byte 4r+j of vector v holds the unsigned codes u (ternary u = w+1 in 2 bits, binary
 * u = (w+1)/2 in 1 bit) of row 8v+r for k = block*4*per + 4s + j at bits [bits*s, bits*s+bits).
 * out[j] = mul * sum_k u[j][k] x[k] - sum_k x[k] (= sum_k w[j][k] x[k]) with int8 x.
 * Written with the AVX2 intrinsics one would use by hand: per sub-step a shift and a mask give
 * 32 u8 codes, _mm256_maddubs_epi16 multiplies them by 4 broadcast int8 activations and adds
 * pairs into int16, and the int16 sums are widened with _mm256_madd_epi16 before they overflow.
 */
#include <immintrin.h>
#include <stdint.h>

#define PANEL 32

/* bits is a literal at both call sites below: always_inline makes every shift count a constant. */
static inline __attribute__((always_inline)) void quad_impl(const int bits, const int8_t *restrict x,
                                                            const uint8_t *restrict w, int32_t *restrict out,
                                                            int rows, int blocks, int chunk) {
    const int per = 8 / bits;
    const int kp = blocks * 4 * per;
    int32_t xsum = 0;
    for (int k = 0; k < kp; k++) xsum += x[k];
    const int mul = bits == 2 ? 1 : 2;
    const __m256i mask = _mm256_set1_epi8((char)((1 << bits) - 1));
    const __m256i ones = _mm256_set1_epi16(1);
    for (int p = 0; p < rows / PANEL; p++) {
        const uint8_t *wp = w + (long)p * blocks * 4 * 32;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (int q0 = 0; q0 < blocks; q0 += chunk) {
            __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
            const int end = q0 + chunk < blocks ? q0 + chunk : blocks;
            for (int q = q0; q < end; q++) {
                const __m256i *wq = (const __m256i *)(wp + (long)q * 4 * 32);
                const __m256i w0 = _mm256_loadu_si256(wq), w1 = _mm256_loadu_si256(wq + 1);
                const __m256i w2 = _mm256_loadu_si256(wq + 2), w3 = _mm256_loadu_si256(wq + 3);
                const int8_t *xq = x + q * 4 * per;
#define SUBSTEP(s)                                                                                     \
    {                                                                                                  \
        const __m256i xb = _mm256_set1_epi32(*(const int32_t *)(xq + 4 * (s)));                       \
        s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w0, bits * (s)), mask), xb)); \
        s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w1, bits * (s)), mask), xb)); \
        s2 = _mm256_add_epi16(s2, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w2, bits * (s)), mask), xb)); \
        s3 = _mm256_add_epi16(s3, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w3, bits * (s)), mask), xb)); \
    }
                if (bits == 2) {
                    SUBSTEP(0) SUBSTEP(1) SUBSTEP(2) SUBSTEP(3)
                } else {
                    SUBSTEP(0) SUBSTEP(1) SUBSTEP(2) SUBSTEP(3) SUBSTEP(4) SUBSTEP(5) SUBSTEP(6) SUBSTEP(7)
                }
#undef SUBSTEP
            }
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(s0, ones));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(s1, ones));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(s2, ones));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(s3, ones));
        }
        const __m256i m = _mm256_set1_epi32(mul), xs = _mm256_set1_epi32(xsum);
        __m256i *o = (__m256i *)(out + p * PANEL);
        _mm256_storeu_si256(o, _mm256_sub_epi32(_mm256_mullo_epi32(a0, m), xs));
        _mm256_storeu_si256(o + 1, _mm256_sub_epi32(_mm256_mullo_epi32(a1, m), xs));
        _mm256_storeu_si256(o + 2, _mm256_sub_epi32(_mm256_mullo_epi32(a2, m), xs));
        _mm256_storeu_si256(o + 3, _mm256_sub_epi32(_mm256_mullo_epi32(a3, m), xs));
    }
}

void quad_matvec(int bits, const int8_t *restrict x, const uint8_t *restrict w, int32_t *restrict out, int rows,
                 int blocks, int chunk) {
    if (bits == 2)
        quad_impl(2, x, w, out, rows, blocks, chunk);
    else
        quad_impl(1, x, w, out, rows, blocks, chunk);
}

/* Run `reps` matvecs back to back (timed from Python around one call: no per-call ctypes cost). */
void quad_matvec_repeat(int reps, int bits, const int8_t *x, const uint8_t *w, int32_t *out, int rows, int blocks,
                        int chunk) {
    for (int r = 0; r < reps; r++) quad_matvec(bits, x, w, out, rows, blocks, chunk);
}
