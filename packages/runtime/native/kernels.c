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

/* e^x for x <= 0 (four lanes): range reduction by ln 2 and a degree-6 polynomial (relative error below 2e-7). */
static inline v128_t exp_lanes(v128_t x) {
  x = wasm_f32x4_max(x, wasm_f32x4_splat(-87.3f));
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.0f / 720.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  const v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
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
        sum = wasm_f32x4_add(sum, wasm_f32x4_mul(x0, wasm_v128_load(w0 + column)));
        sum = wasm_f32x4_add(sum, wasm_f32x4_mul(x1, wasm_v128_load(w1 + column)));
        sum = wasm_f32x4_add(sum, wasm_f32x4_mul(x2, wasm_v128_load(w2 + column)));
        sum = wasm_f32x4_add(sum, wasm_f32x4_mul(x3, wasm_v128_load(w3 + column)));
        wasm_v128_store(output + column, sum);
      }
      for (; column < out; column++) output[column] += input[k] * w0[column] + input[k + 1] * w1[column] + input[k + 2] * w2[column] + input[k + 3] * w3[column];
    }
    for (; k < in; k++) {
      const float *line = w + (size_t)k * out;
      const v128_t value = wasm_f32x4_splat(input[k]);
      int column = 0;
      for (; column + 4 <= out; column += 4) wasm_v128_store(output + column, wasm_f32x4_add(wasm_v128_load(output + column), wasm_f32x4_mul(value, wasm_v128_load(line + column))));
      for (; column < out; column++) output[column] += input[k] * line[column];
    }
  }
}

/* out[0..n) += factor * row[0..n) */
static inline void add_scaled(float *out, const float *row, float factor, int n) {
  const v128_t scale = wasm_f32x4_splat(factor);
  int index = 0;
  for (; index + 4 <= n; index += 4) wasm_v128_store(out + index, wasm_f32x4_add(wasm_v128_load(out + index), wasm_f32x4_mul(scale, wasm_v128_load(row + index))));
  for (; index < n; index++) out[index] += factor * row[index];
}

/* scores[0..n) = e^(scores - max) / sum, in place. */
static void softmax_in_place(float *scores, int n) {
  float maximum = scores[0];
  for (int t = 1; t < n; t++) maximum = scores[t] > maximum ? scores[t] : maximum;
  const v128_t maximumLanes = wasm_f32x4_splat(maximum);
  v128_t sumLanes = wasm_f32x4_splat(0.0f);
  int t = 0;
  for (; t + 4 <= n; t += 4) {
    const v128_t e = exp_lanes(wasm_f32x4_sub(wasm_v128_load(scores + t), maximumLanes));
    wasm_v128_store(scores + t, e);
    sumLanes = wasm_f32x4_add(sumLanes, e);
  }
  float sum = wasm_f32x4_extract_lane(sumLanes, 0) + wasm_f32x4_extract_lane(sumLanes, 1) + wasm_f32x4_extract_lane(sumLanes, 2) + wasm_f32x4_extract_lane(sumLanes, 3);
  for (; t < n; t++) {
    scores[t] = exp_scalar(scores[t] - maximum);
    sum += scores[t];
  }
  const v128_t inverse = wasm_f32x4_splat(1.0f / sum);
  for (t = 0; t + 4 <= n; t += 4) wasm_v128_store(scores + t, wasm_f32x4_mul(wasm_v128_load(scores + t), inverse));
  for (; t < n; t++) scores[t] *= 1.0f / sum;
}

/*
 * Attention of one new position per key/value head ("slice") against the cache.
 * query [slices, groups, head] (already scaled), keys [slices, head, capacity] (transposed),
 * values [slices, capacity, head]; the first `total` positions are attended. scores: scratch of
 * groups * total floats. out [slices, groups, head]. Every row of keys and values is read once
 * per slice, in order, for all the queries of its group.
 */
void codestack_decode_attention(int slices, int groups, int head, int capacity, int total, const float *query, const float *keys, const float *values, float *scores, float *out) {
  for (int slice = 0; slice < slices; slice++) {
    const float *sliceKeys = keys + (size_t)slice * head * capacity;
    const float *sliceValues = values + (size_t)slice * capacity * head;
    const float *sliceQuery = query + (size_t)slice * groups * head;
    float *sliceOut = out + (size_t)slice * groups * head;
    for (int index = 0; index < groups * total; index++) scores[index] = 0.0f;
    for (int d = 0; d < head; d++) {
      for (int group = 0; group < groups; group++) add_scaled(scores + (size_t)group * total, sliceKeys + (size_t)d * capacity, sliceQuery[group * head + d], total);
    }
    for (int group = 0; group < groups; group++) softmax_in_place(scores + (size_t)group * total, total);
    for (int index = 0; index < groups * head; index++) sliceOut[index] = 0.0f;
    for (int t = 0; t < total; t++) {
      for (int group = 0; group < groups; group++) add_scaled(sliceOut + (size_t)group * head, sliceValues + (size_t)t * head, scores[(size_t)group * total + t], head);
    }
  }
}
