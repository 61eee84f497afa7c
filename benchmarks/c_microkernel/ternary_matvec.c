/* Hand-written baseline for the packed ternary / binary matvec of the LSTM recurrence.
 *
 * Same weight layout as hwgen.tvm_backend.packing: panels of PANEL rows, w[panel][word][lane],
 * 16 two-bit codes per int32 word (00 = 0, 01 = +1, 11 = -1) or 32 one-bit codes (0 = +1,
 * 1 = -1); out[j] = scale[j] * sum_k code[j][k] * h[k]. Written the way one writes it by
 * hand in portable C: a fixed-size lane loop that gcc -O3 -march=native vectorises, shifts
 * by compile-time constants after unrolling, PANEL independent accumulators.
 */
#include <stdint.h>

#define PANEL 32

static inline void panel_ternary(const float *restrict h, const int32_t *restrict w, int words,
                                 float *restrict acc) {
    for (int l = 0; l < PANEL; l++) acc[l] = 0.0f;
    for (int kw = 0; kw < words; kw++) {
        const int32_t *wp = w + kw * PANEL;
        const float *hk = h + kw * 16;
#pragma GCC unroll 16
        for (int s = 0; s < 16; s++) {
            const float x = hk[s];
            for (int l = 0; l < PANEL; l++)
                acc[l] += (float)((int32_t)((uint32_t)wp[l] << (30 - 2 * s)) >> 30) * x;
        }
    }
}

static inline void panel_binary(const float *restrict h, const int32_t *restrict w, int words,
                                float *restrict acc) {
    for (int l = 0; l < PANEL; l++) acc[l] = 0.0f;
    for (int kw = 0; kw < words; kw++) {
        const int32_t *wp = w + kw * PANEL;
        const float *hk = h + kw * 32;
#pragma GCC unroll 32
        for (int s = 0; s < 32; s++) {
            const float x = hk[s];
            for (int l = 0; l < PANEL; l++)
                acc[l] += (float)(((int32_t)((uint32_t)wp[l] << (31 - s)) >> 31) | 1) * x;
        }
    }
}

/* out[rows] = scale * (W h); rows a multiple of PANEL; h padded with zeros to words * codes_per_word. */
void matvec(int bits, const float *restrict h, const int32_t *restrict w, const float *restrict scale,
            float *restrict out, int rows, int words) {
    float acc[PANEL] __attribute__((aligned(32)));
    for (int p = 0; p < rows / PANEL; p++) {
        if (bits == 2)
            panel_ternary(h, w + (long)p * words * PANEL, words, acc);
        else
            panel_binary(h, w + (long)p * words * PANEL, words, acc);
        for (int l = 0; l < PANEL; l++) out[p * PANEL + l] = acc[l] * scale[p * PANEL + l];
    }
}

/* Run `reps` matvecs back to back (timed from Python around one call: no per-call ctypes cost). */
void matvec_repeat(int reps, int bits, const float *h, const int32_t *w, const float *scale, float *out,
                   int rows, int words) {
    for (int r = 0; r < reps; r++) matvec(bits, h, w, scale, out, rows, words);
}
