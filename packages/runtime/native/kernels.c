/*
 * codestack's own WebAssembly SIMD kernels for the tfjs-wasm backend (issue 15).
 *
 * They run on tfjs-wasm's own linear memory (the module imports it), so they read tensors in
 * place by their byte offsets. Rules that keep them guests in that memory:
 *  - no static data and no address-taken locals: nothing is placed in memory at instantiation and
 *    the shadow stack is never used (build.sh checks both);
 *  - every buffer, scratch included, is passed in by the caller (allocated with tfjs-wasm's malloc).
 *
 * Build: ./build.sh (clang 14 and wasm-ld 14 from Debian bookworm); the result is committed.
 */
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

/*
 * c + a * b in four lanes: one fused multiply-add in the relaxed-SIMD build (RELAXED_SIMD,
 * -mrelaxed-simd; where the engine has no FMA it may round twice, which the tests allow), a
 * multiply and an add otherwise.
 */
#ifdef RELAXED_SIMD
#define MADD(a, b, c) __builtin_wasm_relaxed_madd_f32x4((a), (b), (c))
#else
#define MADD(a, b, c) wasm_f32x4_add((c), wasm_f32x4_mul((a), (b)))
#endif

void codestack_transpose(int rows, int columns, const float *src, float *dst);

/*
 * e^x for x <= 0 (four lanes): x = n ln 2 + r with n rounded by adding 1.5 * 2^23 + 127 (which also
 * leaves n + 127, the exponent of 2^n, in the low bits), r by two-part ln 2, and e^r by a degree-6
 * polynomial (relative error below 2e-7). Arguments below -87.3 give e^-87.3.
 */
static inline v128_t exp_lanes(v128_t x) {
  x = wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.3f));
  const v128_t magic = wasm_f32x4_splat(12583039.0f);
  v128_t n = MADD(x, wasm_f32x4_splat(1.44269504088896341f), magic);
  const v128_t scale = wasm_i32x4_shl(n, 23);
  n = wasm_f32x4_sub(n, magic);
  v128_t r = MADD(n, wasm_f32x4_splat(-0.693359375f), x);
  r = MADD(n, wasm_f32x4_splat(2.12194440e-4f), r);
  v128_t p = wasm_f32x4_splat(1.0f / 720.0f);
  p = MADD(p, r, wasm_f32x4_splat(1.0f / 120.0f));
  p = MADD(p, r, wasm_f32x4_splat(1.0f / 24.0f));
  p = MADD(p, r, wasm_f32x4_splat(1.0f / 6.0f));
  p = MADD(p, r, wasm_f32x4_splat(0.5f));
  p = MADD(p, r, wasm_f32x4_splat(1.0f));
  p = MADD(p, r, wasm_f32x4_splat(1.0f));
  return wasm_f32x4_mul(p, scale);
}

static inline float exp_scalar(float x) {
  return wasm_f32x4_extract_lane(exp_lanes(wasm_f32x4_splat(x)), 0);
}

/*
 * y = x @ w (+ bias): x [rows, in], w [in, out] row-major, bias [out] or 0, y [rows, out].
 * Decoding is bound by reading the weights, so they are read in order, four rows of w at a time,
 * each row of y (in L1) gaining four products per load and store.
 */
void codestack_matvec(int rows, int in, int out, const float *x, const float *w, const float *bias, float *y) {
  for (int row = 0; row < rows; row++) {
    const float *input = x + (size_t)row * in;
    float *output = y + (size_t)row * out;
    for (int column = 0; column < out; column++) output[column] = bias != 0 ? bias[column] : 0.0f;
    int k = 0;
    for (; k + 4 <= in; k += 4) {
      const float *w0 = w + (size_t)k * out, *w1 = w0 + out, *w2 = w1 + out, *w3 = w2 + out;
      const v128_t x0 = wasm_f32x4_splat(input[k]), x1 = wasm_f32x4_splat(input[k + 1]);
      const v128_t x2 = wasm_f32x4_splat(input[k + 2]), x3 = wasm_f32x4_splat(input[k + 3]);
      int column = 0;
      for (; column + 4 <= out; column += 4) {
        v128_t sum = wasm_v128_load(output + column);
        sum = MADD(x0, wasm_v128_load(w0 + column), sum);
        sum = MADD(x1, wasm_v128_load(w1 + column), sum);
        sum = MADD(x2, wasm_v128_load(w2 + column), sum);
        sum = MADD(x3, wasm_v128_load(w3 + column), sum);
        wasm_v128_store(output + column, sum);
      }
      for (; column < out; column++) output[column] += input[k] * w0[column] + input[k + 1] * w1[column] + input[k + 2] * w2[column] + input[k + 3] * w3[column];
    }
    for (; k < in; k++) {
      const float *line = w + (size_t)k * out;
      const v128_t value = wasm_f32x4_splat(input[k]);
      int column = 0;
      for (; column + 4 <= out; column += 4) wasm_v128_store(output + column, MADD(value, wasm_v128_load(line + column), wasm_v128_load(output + column)));
      for (; column < out; column++) output[column] += input[k] * line[column];
    }
  }
}

/* The largest of row[0..n), n >= 1. */
static float row_maximum(const float *row, int n) {
  float maximum = row[0];
  for (int t = 1; t < n; t++) maximum = row[t] > maximum ? row[t] : maximum;
  return maximum;
}

/* row[0..n) = e^(row - maximum), in place; returns their sum. */
static float exp_shifted_in_place(float *row, int n, float maximum) {
  const v128_t maximumLanes = wasm_f32x4_splat(maximum);
  v128_t sumLanes = wasm_f32x4_splat(0.0f);
  int t = 0;
  for (; t + 4 <= n; t += 4) {
    const v128_t e = exp_lanes(wasm_f32x4_sub(wasm_v128_load(row + t), maximumLanes));
    wasm_v128_store(row + t, e);
    sumLanes = wasm_f32x4_add(sumLanes, e);
  }
  float sum = wasm_f32x4_extract_lane(sumLanes, 0) + wasm_f32x4_extract_lane(sumLanes, 1) + wasm_f32x4_extract_lane(sumLanes, 2) + wasm_f32x4_extract_lane(sumLanes, 3);
  for (; t < n; t++) {
    row[t] = exp_scalar(row[t] - maximum);
    sum += row[t];
  }
  return sum;
}

/* row[0..n) *= factor */
static void scale_in_place(float *row, int n, float factor) {
  const v128_t factorLanes = wasm_f32x4_splat(factor);
  int t = 0;
  for (; t + 4 <= n; t += 4) wasm_v128_store(row + t, wasm_f32x4_mul(wasm_v128_load(row + t), factorLanes));
  for (; t < n; t++) row[t] *= factor;
}

/* scores[0..n) = e^(scores - max) / sum, in place. */
static void softmax_in_place(float *scores, int n) {
  const float sum = exp_shifted_in_place(scores, n, row_maximum(scores, n));
  scale_in_place(scores, n, 1.0f / sum);
}

/*
 * C[M x N] (row stride ldc) = (accumulate ? C : 0) + A · B, where A's element (m, k) is at
 * A[m * am + k * ak] (so A may be read transposed) and B [K x N] is row-major with row stride ldb.
 * 4 x 8 register tiles (eight accumulators); the last rows one at a time, the last columns in
 * fours and then singly.
 */
static void gemm(int M, int N, int K, const float *A, int am, int ak, const float *B, int ldb, float *C, int ldc, int accumulate) {
  int m = 0;
  for (; m + 4 <= M; m += 4) {
    const float *a0 = A + (size_t)m * am, *a1 = a0 + am, *a2 = a1 + am, *a3 = a2 + am;
    float *c0 = C + (size_t)m * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
    int n = 0;
    for (; n + 8 <= N; n += 8) {
      v128_t s00, s01, s10, s11, s20, s21, s30, s31;
      if (accumulate) {
        s00 = wasm_v128_load(c0 + n); s01 = wasm_v128_load(c0 + n + 4);
        s10 = wasm_v128_load(c1 + n); s11 = wasm_v128_load(c1 + n + 4);
        s20 = wasm_v128_load(c2 + n); s21 = wasm_v128_load(c2 + n + 4);
        s30 = wasm_v128_load(c3 + n); s31 = wasm_v128_load(c3 + n + 4);
      } else {
        s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = wasm_f32x4_splat(0.0f);
      }
      const float *b = B + n;
      for (int k = 0; k < K; k++) {
        const v128_t b0 = wasm_v128_load(b + (size_t)k * ldb), b1 = wasm_v128_load(b + (size_t)k * ldb + 4);
        const size_t at = (size_t)k * ak;
        v128_t x = wasm_f32x4_splat(a0[at]);
        s00 = MADD(x, b0, s00); s01 = MADD(x, b1, s01);
        x = wasm_f32x4_splat(a1[at]);
        s10 = MADD(x, b0, s10); s11 = MADD(x, b1, s11);
        x = wasm_f32x4_splat(a2[at]);
        s20 = MADD(x, b0, s20); s21 = MADD(x, b1, s21);
        x = wasm_f32x4_splat(a3[at]);
        s30 = MADD(x, b0, s30); s31 = MADD(x, b1, s31);
      }
      wasm_v128_store(c0 + n, s00); wasm_v128_store(c0 + n + 4, s01);
      wasm_v128_store(c1 + n, s10); wasm_v128_store(c1 + n + 4, s11);
      wasm_v128_store(c2 + n, s20); wasm_v128_store(c2 + n + 4, s21);
      wasm_v128_store(c3 + n, s30); wasm_v128_store(c3 + n + 4, s31);
    }
    for (; n + 4 <= N; n += 4) {
      v128_t s0 = accumulate ? wasm_v128_load(c0 + n) : wasm_f32x4_splat(0.0f);
      v128_t s1 = accumulate ? wasm_v128_load(c1 + n) : wasm_f32x4_splat(0.0f);
      v128_t s2 = accumulate ? wasm_v128_load(c2 + n) : wasm_f32x4_splat(0.0f);
      v128_t s3 = accumulate ? wasm_v128_load(c3 + n) : wasm_f32x4_splat(0.0f);
      for (int k = 0; k < K; k++) {
        const v128_t b0 = wasm_v128_load(B + (size_t)k * ldb + n);
        const size_t at = (size_t)k * ak;
        s0 = MADD(wasm_f32x4_splat(a0[at]), b0, s0);
        s1 = MADD(wasm_f32x4_splat(a1[at]), b0, s1);
        s2 = MADD(wasm_f32x4_splat(a2[at]), b0, s2);
        s3 = MADD(wasm_f32x4_splat(a3[at]), b0, s3);
      }
      wasm_v128_store(c0 + n, s0); wasm_v128_store(c1 + n, s1); wasm_v128_store(c2 + n, s2); wasm_v128_store(c3 + n, s3);
    }
    for (; n < N; n++) {
      float s0 = accumulate ? c0[n] : 0.0f, s1 = accumulate ? c1[n] : 0.0f, s2 = accumulate ? c2[n] : 0.0f, s3 = accumulate ? c3[n] : 0.0f;
      for (int k = 0; k < K; k++) {
        const float b0 = B[(size_t)k * ldb + n];
        const size_t at = (size_t)k * ak;
        s0 += a0[at] * b0; s1 += a1[at] * b0; s2 += a2[at] * b0; s3 += a3[at] * b0;
      }
      c0[n] = s0; c1[n] = s1; c2[n] = s2; c3[n] = s3;
    }
  }
  for (; m < M; m++) {
    const float *a0 = A + (size_t)m * am;
    float *c0 = C + (size_t)m * ldc;
    int n = 0;
    for (; n + 16 <= N; n += 16) {
      v128_t s0, s1, s2, s3;
      if (accumulate) {
        s0 = wasm_v128_load(c0 + n); s1 = wasm_v128_load(c0 + n + 4); s2 = wasm_v128_load(c0 + n + 8); s3 = wasm_v128_load(c0 + n + 12);
      } else {
        s0 = s1 = s2 = s3 = wasm_f32x4_splat(0.0f);
      }
      const float *b = B + n;
      for (int k = 0; k < K; k++) {
        const v128_t x = wasm_f32x4_splat(a0[(size_t)k * ak]);
        const float *line = b + (size_t)k * ldb;
        s0 = MADD(x, wasm_v128_load(line), s0);
        s1 = MADD(x, wasm_v128_load(line + 4), s1);
        s2 = MADD(x, wasm_v128_load(line + 8), s2);
        s3 = MADD(x, wasm_v128_load(line + 12), s3);
      }
      wasm_v128_store(c0 + n, s0); wasm_v128_store(c0 + n + 4, s1); wasm_v128_store(c0 + n + 8, s2); wasm_v128_store(c0 + n + 12, s3);
    }
    for (; n + 4 <= N; n += 4) {
      v128_t s0 = accumulate ? wasm_v128_load(c0 + n) : wasm_f32x4_splat(0.0f);
      for (int k = 0; k < K; k++) s0 = MADD(wasm_f32x4_splat(a0[(size_t)k * ak]), wasm_v128_load(B + (size_t)k * ldb + n), s0);
      wasm_v128_store(c0 + n, s0);
    }
    for (; n < N; n++) {
      float s0 = accumulate ? c0[n] : 0.0f;
      for (int k = 0; k < K; k++) s0 += a0[(size_t)k * ak] * B[(size_t)k * ldb + n];
      c0[n] = s0;
    }
  }
}

/*
 * Attention of one new position per key/value head ("slice") against the cache.
 * query [slices, groups, head] (already scaled), keys [slices, head, capacity] (transposed),
 * values [slices, capacity, head]; the first `total` positions are attended. scores: scratch of
 * groups * total floats. out [slices, groups, head]. Per slice two small register-tiled products
 * (queries x keys, probabilities x values) around a softmax.
 */
void codestack_decode_attention(int slices, int groups, int head, int capacity, int total, const float *query, const float *keys, const float *values, float *scores, float *out) {
  for (int slice = 0; slice < slices; slice++) {
    const float *sliceQuery = query + (size_t)slice * groups * head;
    gemm(groups, total, head, sliceQuery, head, 1, keys + (size_t)slice * head * capacity, capacity, scores, total, 0);
    for (int group = 0; group < groups; group++) softmax_in_place(scores + (size_t)group * total, total);
    gemm(groups, head, total, scores, total, 1, values + (size_t)slice * capacity * head, head, out + (size_t)slice * groups * head, head, 0);
  }
}

/* sum of a[0..n) * b[0..n) */
static inline float dot(const float *a, const float *b, int n) {
  v128_t sum = wasm_f32x4_splat(0.0f);
  int index = 0;
  for (; index + 4 <= n; index += 4) sum = MADD(wasm_v128_load(a + index), wasm_v128_load(b + index), sum);
  float total = wasm_f32x4_extract_lane(sum, 0) + wasm_f32x4_extract_lane(sum, 1) + wasm_f32x4_extract_lane(sum, 2) + wasm_f32x4_extract_lane(sum, 3);
  for (; index < n; index++) total += a[index] * b[index];
  return total;
}

/* Query rows are taken in blocks of this many (of one group): a block computes the keys its last row attends. */
#define ROW_BLOCK 8

/*
 * The probabilities of one block of `rows` query rows (first row's position in the sequence:
 * `first`), over the first `width` = offset + first + rows keys, into p (row stride `keys`):
 * recomputed from the scores with the stats (backward), or with the stats written (forward).
 * Positions a row does not attend are 0.
 */
static void block_probabilities(const float *q, const float *kt, int keys, int head, int offset, int first, int rows, int width, float *p, float *stats, int write_stats) {
  gemm(rows, width, head, q, head, 1, kt, keys, p, keys, 0);
  for (int j = 0; j < rows; j++) {
    float *row = p + (size_t)j * keys;
    const int count = offset + first + j + 1;
    const float maximum = write_stats ? row_maximum(row, count) : stats[2 * j];
    float sum = exp_shifted_in_place(row, count, maximum);
    if (write_stats) {
      stats[2 * j] = maximum;
      stats[2 * j + 1] = sum;
    } else {
      sum = stats[2 * j + 1];
    }
    scale_in_place(row, count, 1.0f / sum);
    for (int t = count; t < width; t++) row[t] = 0.0f;
  }
}

/*
 * Causal grouped-query attention, forward. Per key/value head ("slice"): query rows [groups *
 * tokens, head] (scaled), keys transposed [head, keys] and values [keys, head], keys = offset +
 * tokens; query row g * tokens + i attends keys 0..offset + i. Writes out [slices, groups * tokens,
 * head] and, per row, the softmax's maximum and sum (stats [slices, groups * tokens, 2]) for the
 * backward pass. Rows go in blocks of ROW_BLOCK, each computing only the keys its last row attends,
 * as small register-tiled products. scratch: ROW_BLOCK * keys floats.
 */
void codestack_causal_attention_forward(int slices, int groups, int tokens, int offset, int head, const float *q, const float *kt, const float *v, float *out, float *stats, float *scratch) {
  const int keys = offset + tokens;
  for (int slice = 0; slice < slices; slice++) {
    const float *sliceKeys = kt + (size_t)slice * head * keys;
    const float *sliceValues = v + (size_t)slice * keys * head;
    for (int group = 0; group < groups; group++) {
      for (int first = 0; first < tokens; first += ROW_BLOCK) {
        const int rows = tokens - first < ROW_BLOCK ? tokens - first : ROW_BLOCK;
        const int width = offset + first + rows;
        const size_t at = ((size_t)slice * groups + group) * tokens + first;
        block_probabilities(q + at * head, sliceKeys, keys, head, offset, first, rows, width, scratch, stats + 2 * at, 1);
        gemm(rows, head, width, scratch, keys, 1, sliceValues, head, out + at * head, head, 0);
      }
    }
  }
}

/*
 * Causal grouped-query attention, backward: from the forward's inputs, output and stats and the
 * output's gradient, the gradients of the queries, the transposed keys and the values (same
 * layouts as the forward). Per block of rows: the probabilities recomputed from the stats, dP =
 * dO V^T, dS = P (dP - rowsum(dO * O)), dQ = dS K, dV += P^T dO, dK^T += Q^T dS, all as register-
 * tiled products over the keys the block attends. scratch: 2 * ROW_BLOCK * keys + 2 * head * keys floats.
 */
void codestack_causal_attention_backward(int slices, int groups, int tokens, int offset, int head, const float *q, const float *kt, const float *v, const float *out, const float *stats, const float *dout, float *dq, float *dkt, float *dv, float *scratch) {
  const int keys = offset + tokens;
  float *p = scratch;
  float *ds = p + (size_t)ROW_BLOCK * keys;
  float *valuesTransposed = ds + (size_t)ROW_BLOCK * keys;
  float *keysPlain = valuesTransposed + (size_t)head * keys;
  for (int slice = 0; slice < slices; slice++) {
    const float *sliceKeys = kt + (size_t)slice * head * keys;
    const float *sliceValues = v + (size_t)slice * keys * head;
    float *sliceKeyGradient = dkt + (size_t)slice * head * keys;
    float *sliceValueGradient = dv + (size_t)slice * keys * head;
    for (size_t index = 0; index < (size_t)head * keys; index++) {
      sliceKeyGradient[index] = 0.0f;
      sliceValueGradient[index] = 0.0f;
    }
    codestack_transpose(keys, head, sliceValues, valuesTransposed);
    codestack_transpose(head, keys, sliceKeys, keysPlain);
    for (int group = 0; group < groups; group++) {
      for (int first = 0; first < tokens; first += ROW_BLOCK) {
        const int rows = tokens - first < ROW_BLOCK ? tokens - first : ROW_BLOCK;
        const int width = offset + first + rows;
        const size_t at = ((size_t)slice * groups + group) * tokens + first;
        const float *qBlock = q + at * head;
        const float *gradient = dout + at * head;
        block_probabilities(qBlock, sliceKeys, keys, head, offset, first, rows, width, p, (float *)stats + 2 * at, 0);
        gemm(rows, width, head, gradient, head, 1, valuesTransposed, keys, ds, keys, 0);
        for (int j = 0; j < rows; j++) {
          const float delta = dot(gradient + (size_t)j * head, out + (at + j) * head, head);
          float *dsRow = ds + (size_t)j * keys;
          const float *pRow = p + (size_t)j * keys;
          for (int t = 0; t < width; t++) dsRow[t] = pRow[t] * (dsRow[t] - delta);
        }
        gemm(rows, head, width, ds, keys, 1, keysPlain, head, dq + at * head, head, 0);
        gemm(width, head, rows, p, 1, keys, gradient, head, sliceValueGradient, head, 1);
        gemm(head, width, rows, qBlock, 1, head, ds, keys, sliceKeyGradient, keys, 1);
      }
    }
  }
}

/* The scratch floats codestack_causal_attention_forward (backward = 0) or _backward (1) needs. */
int codestack_causal_attention_scratch(int keys, int head, int backward) {
  return backward ? 2 * ROW_BLOCK * keys + 2 * head * keys : ROW_BLOCK * keys;
}

/* ln x for x > 0 (normal floats): x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m - 1) / (m + 1)) to s^9. */
static float log_scalar(float x) {
  int bits = wasm_i32x4_extract_lane(wasm_f32x4_splat(x), 0);
  int exponent = ((bits >> 23) & 0xff) - 127;
  float mantissa = wasm_f32x4_extract_lane(wasm_i32x4_splat((bits & 0x007fffff) | 0x3f800000), 0);
  if (mantissa > 1.41421356f) {
    mantissa *= 0.5f;
    exponent += 1;
  }
  const float s = (mantissa - 1.0f) / (mantissa + 1.0f);
  const float s2 = s * s;
  const float series = s * (2.0f + s2 * (2.0f / 3.0f + s2 * (2.0f / 5.0f + s2 * (2.0f / 7.0f + s2 * (2.0f / 9.0f)))));
  return series + (float)exponent * 0.693147180559945f;
}

/*
 * Next-token cross-entropy of rows first..first + count - 1 of logits [rows, vocabulary] against
 * int32 targets [rows]: writes each row's log-sum-exp into logSumExp[row] (for the backward pass)
 * and its loss, log-sum-exp minus the target's logit, into losses[row]; a target outside
 * [0, vocabulary) contributes 0, as a one-hot of it would. Rows are independent, so a pass is split
 * between threads by rows; the caller adds up the losses (in double, in row order).
 */
void codestack_cross_entropy_forward(int first, int count, int vocabulary, const float *logits, const int *targets, float *losses, float *logSumExp) {
  for (int row = first; row < first + count; row++) {
    const float *line = logits + (size_t)row * vocabulary;
    const float maximum = row_maximum(line, vocabulary);
    const v128_t maximumLanes = wasm_f32x4_splat(maximum);
    // Sums of 256 columns in float lanes, added up in double: large vocabularies stay exact to float rounding.
    double sum = 0.0;
    int column = 0;
    while (column + 4 <= vocabulary) {
      v128_t sumLanes = wasm_f32x4_splat(0.0f);
      const int end = column + 256 < vocabulary ? column + 256 : vocabulary;
      for (; column + 4 <= end; column += 4) sumLanes = wasm_f32x4_add(sumLanes, exp_lanes(wasm_f32x4_sub(wasm_v128_load(line + column), maximumLanes)));
      sum += (double)wasm_f32x4_extract_lane(sumLanes, 0) + (double)wasm_f32x4_extract_lane(sumLanes, 1) + (double)wasm_f32x4_extract_lane(sumLanes, 2) + (double)wasm_f32x4_extract_lane(sumLanes, 3);
    }
    for (; column < vocabulary; column++) sum += (double)exp_scalar(line[column] - maximum);
    const float rowLogSumExp = maximum + log_scalar((float)sum);
    logSumExp[row] = rowLogSumExp;
    const int target = targets[row];
    losses[row] = target >= 0 && target < vocabulary ? rowLogSumExp - line[target] : 0.0f;
  }
}

/*
 * Rows first..first + count - 1 of the gradient of the mean of codestack_cross_entropy_forward's
 * losses over all `rows` with respect to the logits, times upstream[0]: (softmax - one-hot) *
 * upstream / rows.
 */
void codestack_cross_entropy_backward(int first, int count, int rows, int vocabulary, const float *logits, const int *targets, const float *logSumExp, const float *upstream, float *gradient) {
  const float scale = upstream[0] / (float)rows;
  const v128_t scaleLanes = wasm_f32x4_splat(scale);
  for (int row = first; row < first + count; row++) {
    const float *line = logits + (size_t)row * vocabulary;
    float *out = gradient + (size_t)row * vocabulary;
    const int target = targets[row];
    if (target < 0 || target >= vocabulary) {
      for (int column = 0; column < vocabulary; column++) out[column] = 0.0f;
      continue;
    }
    const v128_t shift = wasm_f32x4_splat(logSumExp[row]);
    int column = 0;
    for (; column + 4 <= vocabulary; column += 4) wasm_v128_store(out + column, wasm_f32x4_mul(exp_lanes(wasm_f32x4_sub(wasm_v128_load(line + column), shift)), scaleLanes));
    for (; column < vocabulary; column++) out[column] = exp_scalar(line[column] - logSumExp[row]) * scale;
    out[target] -= scale;
  }
}

/* The 4 x 4 transpose of rows r0..r3 into columns c0..c3 (eight shuffles). */
#define TRANSPOSE_4X4(r0, r1, r2, r3, c0, c1, c2, c3)                                                  \
  do {                                                                                                 \
    const v128_t t0_ = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1_ = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7); \
    const v128_t t2_ = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5), t3_ = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7); \
    c0 = wasm_i32x4_shuffle(t0_, t2_, 0, 1, 4, 5);                                                     \
    c1 = wasm_i32x4_shuffle(t0_, t2_, 2, 3, 6, 7);                                                     \
    c2 = wasm_i32x4_shuffle(t1_, t3_, 0, 1, 4, 5);                                                     \
    c3 = wasm_i32x4_shuffle(t1_, t3_, 2, 3, 6, 7);                                                     \
  } while (0)

/*
 * dst [columns x rows] = transpose of src [rows x columns], in 4 x 4 blocks moved through
 * registers (four loads, eight shuffles, four stores), visited tile by tile (32 x 32) so that the
 * rows written, a power of two apart in the common shapes, stay in cache; the edges element by
 * element.
 */
#define TRANSPOSE_TILE 32
void codestack_transpose(int rows, int columns, const float *src, float *dst) {
  const int fullRows = rows & ~3, fullColumns = columns & ~3;
  for (int rowTile = 0; rowTile < fullRows; rowTile += TRANSPOSE_TILE) {
    const int rowEnd = rowTile + TRANSPOSE_TILE < fullRows ? rowTile + TRANSPOSE_TILE : fullRows;
    for (int columnTile = 0; columnTile < fullColumns; columnTile += TRANSPOSE_TILE) {
      const int columnEnd = columnTile + TRANSPOSE_TILE < fullColumns ? columnTile + TRANSPOSE_TILE : fullColumns;
      for (int row = rowTile; row < rowEnd; row += 4) {
        for (int column = columnTile; column < columnEnd; column += 4) {
          const float *s = src + (size_t)row * columns + column;
          const v128_t r0 = wasm_v128_load(s), r1 = wasm_v128_load(s + columns), r2 = wasm_v128_load(s + 2 * (size_t)columns), r3 = wasm_v128_load(s + 3 * (size_t)columns);
          v128_t c0, c1, c2, c3;
          TRANSPOSE_4X4(r0, r1, r2, r3, c0, c1, c2, c3);
          float *d = dst + (size_t)column * rows + row;
          wasm_v128_store(d, c0);
          wasm_v128_store(d + rows, c1);
          wasm_v128_store(d + 2 * (size_t)rows, c2);
          wasm_v128_store(d + 3 * (size_t)rows, c3);
        }
      }
    }
  }
  for (int row = 0; row < fullRows; row++) {
    for (int column = fullColumns; column < columns; column++) dst[(size_t)column * rows + row] = src[(size_t)row * columns + column];
  }
  for (int row = fullRows; row < rows; row++) {
    for (int column = 0; column < columns; column++) dst[(size_t)column * rows + row] = src[(size_t)row * columns + column];
  }
}

/* dst [columns] = the sum of the rows of src [rows x columns] (vectorised across columns). */
void codestack_column_sums(int rows, int columns, const float *src, float *dst) {
  for (int column = 0; column < columns; column++) dst[column] = 0.0f;
  for (int row = 0; row < rows; row++) {
    const float *line = src + (size_t)row * columns;
    int column = 0;
    for (; column + 4 <= columns; column += 4) wasm_v128_store(dst + column, wasm_f32x4_add(wasm_v128_load(dst + column), wasm_v128_load(line + column)));
    for (; column < columns; column++) dst[column] += line[column];
  }
}

/*
 * Moves rows first..first + count - 1 of a [batch * tokens, heads * head] matrix ("rows") to
 * [batch, heads, tokens, head] ("heads": direction 1), or back (direction -1): each head's `head`
 * floats are contiguous on both sides, so it is a copy of runs (attention's value and output
 * layouts, with no transpose kernel).
 */
void codestack_heads_layout(int first, int count, int tokens, int heads, int head, int direction, const float *in, float *out) {
  for (int row = first; row < first + count; row++) {
    const int sequence = row / tokens, token = row - sequence * tokens;
    for (int headIndex = 0; headIndex < heads; headIndex++) {
      const size_t rows = ((size_t)row * heads + headIndex) * head;
      const size_t grouped = (((size_t)sequence * heads + headIndex) * tokens + token) * head;
      const float *source = in + (direction == 1 ? rows : grouped);
      float *target = out + (direction == 1 ? grouped : rows);
      int index = 0;
      for (; index + 4 <= head; index += 4) wasm_v128_store(target + index, wasm_v128_load(source + index));
      for (; index < head; index++) target[index] = source[index];
    }
  }
}

/* The sum of a float vector's four lanes. */
static inline float lane_sum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

/*
 * RMSNorm of x [rows x width] scaled by w [width]: out = x * f * w per row, where
 * f = 1 / sqrt(mean(x^2) + epsilon), written to factors [rows] for the backward pass.
 */
void codestack_rms_norm_forward(int rows, int width, const float *x, const float *w, float epsilon, float *out, float *factors) {
  for (int row = 0; row < rows; row++) {
    const float *line = x + (size_t)row * width;
    float *target = out + (size_t)row * width;
    v128_t sumLanes = wasm_f32x4_splat(0.0f);
    int column = 0;
    for (; column + 4 <= width; column += 4) {
      const v128_t value = wasm_v128_load(line + column);
      sumLanes = MADD(value, value, sumLanes);
    }
    float sum = lane_sum(sumLanes);
    for (; column < width; column++) sum += line[column] * line[column];
    const float factor = 1.0f / __builtin_sqrtf(sum / (float)width + epsilon);
    factors[row] = factor;
    const v128_t factorLanes = wasm_f32x4_splat(factor);
    column = 0;
    for (; column + 4 <= width; column += 4) wasm_v128_store(target + column, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(line + column), factorLanes), wasm_v128_load(w + column)));
    for (; column < width; column++) target[column] = line[column] * factor * w[column];
  }
}

/*
 * The gradients of codestack_rms_norm_forward for the upstream gradient dy [rows x width]:
 * dx = f * dy * w - x * f^3 / width * sum(dy * w * x) per row, and dw [width] = the sum over
 * rows of dy * x * f.
 */
void codestack_rms_norm_backward(int rows, int width, const float *x, const float *w, const float *factors, const float *dy, float *dx, float *dw) {
  for (int column = 0; column < width; column++) dw[column] = 0.0f;
  for (int row = 0; row < rows; row++) {
    const float *line = x + (size_t)row * width;
    const float *incoming = dy + (size_t)row * width;
    float *target = dx + (size_t)row * width;
    const float factor = factors[row];
    const v128_t factorLanes = wasm_f32x4_splat(factor);
    v128_t dotLanes = wasm_f32x4_splat(0.0f);
    int column = 0;
    for (; column + 4 <= width; column += 4) {
      const v128_t value = wasm_v128_load(line + column), gradient = wasm_v128_load(incoming + column);
      dotLanes = MADD(wasm_f32x4_mul(gradient, wasm_v128_load(w + column)), value, dotLanes);
      wasm_v128_store(dw + column, MADD(wasm_f32x4_mul(gradient, value), factorLanes, wasm_v128_load(dw + column)));
    }
    float dot = lane_sum(dotLanes);
    for (; column < width; column++) {
      dot += incoming[column] * w[column] * line[column];
      dw[column] += incoming[column] * line[column] * factor;
    }
    const float correction = dot * factor * factor * factor / (float)width;
    const v128_t correctionLanes = wasm_f32x4_splat(-correction);
    column = 0;
    for (; column + 4 <= width; column += 4) {
      const v128_t scaled = wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(incoming + column), wasm_v128_load(w + column)), factorLanes);
      wasm_v128_store(target + column, MADD(wasm_v128_load(line + column), correctionLanes, scaled));
    }
    for (; column < width; column++) target[column] = factor * incoming[column] * w[column] - line[column] * correction;
  }
}

/* The logistic sigmoid in four lanes, from e^-|g| (so exp_lanes only sees arguments <= 0). */
static inline v128_t sigmoid_lanes(v128_t g) {
  const v128_t e = exp_lanes(wasm_f32x4_neg(wasm_f32x4_abs(g)));
  const v128_t r = wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_add(wasm_f32x4_splat(1.0f), e));
  return wasm_v128_bitselect(r, wasm_f32x4_mul(e, r), wasm_f32x4_ge(g, wasm_f32x4_splat(0.0f)));
}

/* SwiGLU: out = silu(gate) * up = gate * sigmoid(gate) * up, element by element over n floats. */
void codestack_swiglu_forward(int n, const float *gate, const float *up, float *out) {
  int index = 0;
  for (; index + 4 <= n; index += 4) {
    const v128_t g = wasm_v128_load(gate + index);
    wasm_v128_store(out + index, wasm_f32x4_mul(wasm_f32x4_mul(g, sigmoid_lanes(g)), wasm_v128_load(up + index)));
  }
  for (; index < n; index++) {
    const float g = gate[index];
    out[index] = g * wasm_f32x4_extract_lane(sigmoid_lanes(wasm_f32x4_splat(g)), 0) * up[index];
  }
}

/*
 * The gradients of codestack_swiglu_forward for the upstream gradient dy: with s = sigmoid(gate),
 * dgate = dy * up * s * (1 + gate * (1 - s)) and dup = dy * gate * s.
 */
void codestack_swiglu_backward(int n, const float *gate, const float *up, const float *dy, float *dgate, float *dup) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  int index = 0;
  for (; index + 4 <= n; index += 4) {
    const v128_t g = wasm_v128_load(gate + index), s = sigmoid_lanes(g), d = wasm_v128_load(dy + index);
    wasm_v128_store(dup + index, wasm_f32x4_mul(d, wasm_f32x4_mul(g, s)));
    const v128_t slope = wasm_f32x4_mul(s, MADD(g, wasm_f32x4_sub(one, s), one));
    wasm_v128_store(dgate + index, wasm_f32x4_mul(wasm_f32x4_mul(d, wasm_v128_load(up + index)), slope));
  }
  for (; index < n; index++) {
    const float g = gate[index], s = wasm_f32x4_extract_lane(sigmoid_lanes(wasm_f32x4_splat(g)), 0);
    dup[index] = dy[index] * g * s;
    dgate[index] = dy[index] * up[index] * s * (1.0f + g * (1.0f - s));
  }
}

/*
 * The sum of the squares of n floats: four float lanes summed over blocks of 1024 values, the
 * blocks added up in double, so a large gradient keeps float rounding (the global norm).
 */
double codestack_sum_squares(int n, const float *x) {
  double total = 0.0;
  int index = 0;
  while (index + 4 <= n) {
    v128_t sumLanes = wasm_f32x4_splat(0.0f);
    const int end = index + 1024 < n ? index + 1024 : n;
    for (; index + 4 <= end; index += 4) {
      const v128_t value = wasm_v128_load(x + index);
      sumLanes = MADD(value, value, sumLanes);
    }
    total += (double)wasm_f32x4_extract_lane(sumLanes, 0) + (double)wasm_f32x4_extract_lane(sumLanes, 1) + (double)wasm_f32x4_extract_lane(sumLanes, 2) + (double)wasm_f32x4_extract_lane(sumLanes, 3);
  }
  for (; index < n; index++) total += (double)x[index] * (double)x[index];
  return total;
}

/*
 * Rotary position embedding (the rotate_half convention) of rows first..first + count - 1 of a
 * [batch * tokens, heads * head] projection: per head, with half = head / 2, c = cos * scale and
 * s = sin * scale * direction from the tables' row for the token (cos and sin are [tokens, half],
 * already at the pass's first position), out = (x0 * c - x1 * s, x1 * c + x0 * s) for the halves
 * x0, x1. `layout` says where the heads lie on the other side of the rotation: 0 rows (the
 * input's layout), 1 [batch, heads, tokens, head], 2 [batch, heads, head, tokens]. Direction 1
 * reads rows and writes `layout`; direction -1 (the gradient) reads `layout` and writes rows.
 */
void codestack_rotary(int first, int count, int tokens, int heads, int head, int layout, int direction, float scale, const float *cos, const float *sin, const float *in, float *out) {
  const int half = head / 2;
  const float sinScale = scale * (float)direction;
  const v128_t scaleLanes = wasm_f32x4_splat(scale), sinScaleLanes = wasm_f32x4_splat(sinScale);
  for (int row = first; row < first + count; row++) {
    const int sequence = row / tokens, token = row - sequence * tokens;
    const float *c = cos + (size_t)token * half, *s = sin + (size_t)token * half;
    for (int headIndex = 0; headIndex < heads; headIndex++) {
      const size_t rows = ((size_t)row * heads + headIndex) * head;
      size_t start;
      int stride;
      if (layout == 0) start = rows, stride = 1;
      else if (layout == 1) start = (((size_t)sequence * heads + headIndex) * tokens + token) * head, stride = 1;
      else start = ((size_t)sequence * heads + headIndex) * head * tokens + token, stride = tokens;
      const size_t highStart = start + (size_t)half * stride;
      const float *source0 = direction == 1 ? in + rows : in + start, *source1 = direction == 1 ? in + rows + half : in + highStart;
      float *target0 = direction == 1 ? out + start : out + rows, *target1 = direction == 1 ? out + highStart : out + rows + half;
      const int sourceStride = direction == 1 ? 1 : stride, targetStride = direction == 1 ? stride : 1;
      int index = 0;
      if (stride == 1) {
        for (; index + 4 <= half; index += 4) {
          const v128_t cosLanes = wasm_f32x4_mul(wasm_v128_load(c + index), scaleLanes), sinLanes = wasm_f32x4_mul(wasm_v128_load(s + index), sinScaleLanes);
          const v128_t x0 = wasm_v128_load(source0 + index), x1 = wasm_v128_load(source1 + index);
          wasm_v128_store(target0 + index, wasm_f32x4_sub(wasm_f32x4_mul(x0, cosLanes), wasm_f32x4_mul(x1, sinLanes)));
          wasm_v128_store(target1 + index, wasm_f32x4_add(wasm_f32x4_mul(x1, cosLanes), wasm_f32x4_mul(x0, sinLanes)));
        }
      }
      for (; index < half; index++) {
        const float cosine = c[index] * scale, sine = s[index] * sinScale;
        const float x0 = source0[(size_t)index * sourceStride], x1 = source1[(size_t)index * sourceStride];
        target0[(size_t)index * targetStride] = x0 * cosine - x1 * sine;
        target1[(size_t)index * targetStride] = x1 * cosine + x0 * sine;
      }
    }
  }
}

/* Stores (or adds) the first `columns` (1 to 8) floats of a tile row held in two vectors. */
static inline void store_tile_row(float *c, v128_t low, v128_t high, int columns, int accumulate) {
  if (columns == 8) {
    wasm_v128_store(c, accumulate ? wasm_f32x4_add(wasm_v128_load(c), low) : low);
    wasm_v128_store(c + 4, accumulate ? wasm_f32x4_add(wasm_v128_load(c + 4), high) : high);
    return;
  }
  /* One lane at a time, rotating it into lane 0 (an array here would live on the shadow stack). */
  v128_t part = low;
  for (int j = 0; j < columns; j++) {
    if (j == 4) part = high;
    const float lane = wasm_f32x4_extract_lane(part, 0);
    c[j] = accumulate ? c[j] + lane : lane;
    part = wasm_i32x4_shuffle(part, part, 1, 2, 3, 0);
  }
}

/* The floats codestack_pack_b writes for K x N: N rounded up to strips of 8 columns. */
int codestack_packed_b_floats(int K, int N) {
  return K * ((N + 7) & ~7);
}

/*
 * B [K x N], element (k, n) at B[k * bk + n * bn] (so B may be read transposed), packed for
 * codestack_gemm_packed: strip by strip of 8 columns, each strip K x 8 contiguous (the last strip
 * padded with zeros). The product then streams B in order, whatever B's layout (a power-of-two row
 * stride otherwise maps a strip's rows to a few cache sets).
 */
#define PACK_ROWS 64
void codestack_pack_b(int K, int N, const float *B, int bk, int bn, float *packed) {
  if (bn == 1) {
    /* Rows of B in blocks of PACK_ROWS, so that every cache line of a block is read whole (by
       neighbouring strips) while the block is still in cache, instead of half a line per row. */
    const int whole = N & ~7;
    for (int first = 0; first < K; first += PACK_ROWS) {
      const int last = first + PACK_ROWS < K ? first + PACK_ROWS : K;
      for (int n = 0; n < whole; n += 8) {
        float *strip = packed + (size_t)n * K;
        for (int k = first; k < last; k++) {
          const float *line = B + (size_t)k * bk + n;
          wasm_v128_store(strip + (size_t)k * 8, wasm_v128_load(line));
          wasm_v128_store(strip + (size_t)k * 8 + 4, wasm_v128_load(line + 4));
        }
      }
    }
    if (whole == N) return;
  }
  /* B read transposed, and the last strip when N is not a multiple of 8 (padded with zeros). */
  for (int n = bn == 1 ? N & ~7 : 0; n < N; n += 8) {
    float *strip = packed + (size_t)n * K;
    if (bk == 1 && n + 8 <= N) {
      /* Each column contiguous along k: four k of eight columns at a time, two 4 x 4 transposes. */
      int k = 0;
      for (; k + 4 <= K; k += 4) {
        for (int half = 0; half < 8; half += 4) {
          const float *column = B + (size_t)(n + half) * bn + k;
          const v128_t r0 = wasm_v128_load(column), r1 = wasm_v128_load(column + bn), r2 = wasm_v128_load(column + 2 * (size_t)bn), r3 = wasm_v128_load(column + 3 * (size_t)bn);
          v128_t c0, c1, c2, c3;
          TRANSPOSE_4X4(r0, r1, r2, r3, c0, c1, c2, c3);
          float *target = strip + (size_t)k * 8 + half;
          wasm_v128_store(target, c0);
          wasm_v128_store(target + 8, c1);
          wasm_v128_store(target + 16, c2);
          wasm_v128_store(target + 24, c3);
        }
      }
      for (; k < K; k++) {
        for (int j = 0; j < 8; j++) strip[(size_t)k * 8 + j] = B[(size_t)(n + j) * bn + k];
      }
      continue;
    }
    for (int j = 0; j < 8; j++) {
      const float *column = B + (size_t)(n + j) * bn;
      for (int k = 0; k < K; k++) strip[(size_t)k * 8 + j] = n + j < N ? column[(size_t)k * bk] : 0.0f;
    }
  }
}

/*
 * C [M x N] (row stride ldc) = (accumulate ? C : 0) + A · B with B packed by codestack_pack_b and
 * A's element (m, k) at A[m * am + k * ak] (A may be read transposed). Four rows of A at a time
 * are copied k-major into packedA (4 * K floats, the caller's), so both operands stream in order
 * through a 4 x 8 register tile. Rows may be split between threads: each needs its own packedA.
 */
void codestack_gemm_packed(int M, int N, int K, const float *A, int am, int ak, const float *packedB, float *C, int ldc, int accumulate, float *packedA) {
  for (int m = 0; m < M; m += 4) {
    const int rows = M - m < 4 ? M - m : 4;
    for (int k = 0; k < K; k++) {
      for (int r = 0; r < 4; r++) packedA[(size_t)k * 4 + r] = r < rows ? A[(size_t)(m + r) * am + (size_t)k * ak] : 0.0f;
    }
    for (int n = 0; n < N; n += 8) {
      const float *strip = packedB + (size_t)n * K;
      v128_t s00 = wasm_f32x4_splat(0.0f), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
      for (int k = 0; k < K; k++) {
        const v128_t b0 = wasm_v128_load(strip + (size_t)k * 8), b1 = wasm_v128_load(strip + (size_t)k * 8 + 4);
        const float *a = packedA + (size_t)k * 4;
        v128_t x = wasm_v128_load32_splat(a);
        s00 = MADD(x, b0, s00); s01 = MADD(x, b1, s01);
        x = wasm_v128_load32_splat(a + 1);
        s10 = MADD(x, b0, s10); s11 = MADD(x, b1, s11);
        x = wasm_v128_load32_splat(a + 2);
        s20 = MADD(x, b0, s20); s21 = MADD(x, b1, s21);
        x = wasm_v128_load32_splat(a + 3);
        s30 = MADD(x, b0, s30); s31 = MADD(x, b1, s31);
      }
      float *c = C + (size_t)m * ldc + n;
      const int columns = N - n < 8 ? N - n : 8;
      store_tile_row(c, s00, s01, columns, accumulate);
      if (rows > 1) store_tile_row(c + ldc, s10, s11, columns, accumulate);
      if (rows > 2) store_tile_row(c + 2 * (size_t)ldc, s20, s21, columns, accumulate);
      if (rows > 3) store_tile_row(c + 3 * (size_t)ldc, s30, s31, columns, accumulate);
    }
  }
}

/*
 * One AdamW step over n values: with g = gradient * gradientScale, the moments become
 * m = beta1 * m + (1 - beta1) * g and v = beta2 * v + (1 - beta2) * g^2, and the value
 * x * keep - stepSize * m / (sqrt(v) * rootCorrection + epsilon), where keep = 1 - lr * decay,
 * stepSize = lr / (1 - beta1^t) and rootCorrection = 1 / sqrt(1 - beta2^t). Written to the
 * next* arrays (which may be the inputs themselves).
 */
void codestack_adamw(int n, const float *value, const float *gradient, const float *first, const float *second, float gradientScale, float beta1, float beta2, float keep, float stepSize, float rootCorrection, float epsilon, float *nextValue, float *nextFirst, float *nextSecond) {
  const v128_t scaleLanes = wasm_f32x4_splat(gradientScale), beta1Lanes = wasm_f32x4_splat(beta1), beta2Lanes = wasm_f32x4_splat(beta2);
  const v128_t firstKeep = wasm_f32x4_splat(1.0f - beta1), secondKeep = wasm_f32x4_splat(1.0f - beta2);
  const v128_t keepLanes = wasm_f32x4_splat(keep), stepLanes = wasm_f32x4_splat(stepSize), rootLanes = wasm_f32x4_splat(rootCorrection), epsilonLanes = wasm_f32x4_splat(epsilon);
  int index = 0;
  for (; index + 4 <= n; index += 4) {
    const v128_t g = wasm_f32x4_mul(wasm_v128_load(gradient + index), scaleLanes);
    const v128_t m = wasm_f32x4_add(wasm_f32x4_mul(beta1Lanes, wasm_v128_load(first + index)), wasm_f32x4_mul(firstKeep, g));
    const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(beta2Lanes, wasm_v128_load(second + index)), wasm_f32x4_mul(wasm_f32x4_mul(secondKeep, g), g));
    const v128_t denominator = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sqrt(v), rootLanes), epsilonLanes);
    const v128_t next = wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(value + index), keepLanes), wasm_f32x4_div(wasm_f32x4_mul(stepLanes, m), denominator));
    wasm_v128_store(nextFirst + index, m);
    wasm_v128_store(nextSecond + index, v);
    wasm_v128_store(nextValue + index, next);
  }
  for (; index < n; index++) {
    const float g = gradient[index] * gradientScale;
    const float m = beta1 * first[index] + (1.0f - beta1) * g;
    const float v = beta2 * second[index] + (1.0f - beta2) * g * g;
    nextFirst[index] = m;
    nextSecond[index] = v;
    nextValue[index] = value[index] * keep - stepSize * m / (__builtin_sqrtf(v) * rootCorrection + epsilon);
  }
}
