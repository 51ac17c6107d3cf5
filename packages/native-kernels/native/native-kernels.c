/*
 * codestack native kernels: a single-precision matrix product for x86-64 CPUs with AVX2 and FMA,
 * computed in place in a Float32Array (typically the memory of tfjs-wasm's backend), split by rows
 * between the calling thread and a small pool of threads of its own.
 *
 * C [M x N] (row stride ldc) = (accumulate ? C : 0) + A . B, where A's element (m, k) is at
 * A[m * am + k * ak] and B's (k, n) at B[k * bk + n * bn] (so either may be read transposed). B is
 * packed once into strips of 16 columns (runs of strips claimed by the threads as they arrive); each thread packs 6 rows of A at a time, for blocks of
 * 256 values of k, and runs a 6 x 16 register tile (12 accumulators of 8 lanes) over the strips.
 * Where the CPU has AVX-512 (and the caller allows it), panels are 12 rows and the tile 12 x 16
 * (12 accumulators of 16 lanes). Each element's sum is one chain of fused multiply-adds over k,
 * in the same order whatever the thread count or tile, so the result depends on neither. Products
 * of at most four rows with B's rows contiguous (decoding's) skip the packing and read B in order
 * on the calling thread, with the same sums.
 *
 * A product may also be queued (gemmQueued) rather than computed at once: queued products run in
 * order on one thread of their own, or on a caller that settles them (settle), while the caller
 * goes on with other work. Work the caller shares between threads comes first: a product split
 * between threads, or a pause the caller asks for (pauseQueue), holds the queued ones between
 * panels until it is done.
 *
 * Nothing here trusts its caller: every index range is checked against the array before a value
 * is read or written, and a call that does not fit throws (RangeError or TypeError).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rows of A per panel: 6 for the AVX2 tile, 12 for the AVX-512 one. */
#define ROWS_TILE 6
#define WIDE_ROWS_TILE 12
#define COLUMNS_TILE 16
#define DEPTH_BLOCK 256
#define MAXIMUM_THREADS 64
/* Queued products at most: queueing one more first settles the oldest. */
#define QUEUE_CAPACITY 64
/* How long the calling thread waits awake for the others at the end of a product before it sleeps. */
#define JOIN_SPIN_NANOSECONDS 100000
/* Holders of the queue (Pool.queuePaused): the caller, by pauseQueue; a product split between threads. */
#define PAUSED_BY_CALLER 1
#define PAUSED_BY_SPLIT 2

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#define VECTOR_TARGET __attribute__((target("avx2,fma")))
#define WIDE_TARGET __attribute__((target("avx512f,avx2,fma")))
#else
#define HAVE_X86 0
#define VECTOR_TARGET
#define WIDE_TARGET
#endif

typedef struct Pool Pool;

typedef struct {
  int M, N, K, am, ak, bk, bn, ldc, accumulate;
  const float *A;
  const float *B;
  float *C;
  float *packedB;
  int participants;
  int panels;
  /* Rows per panel: WIDE_ROWS_TILE where the AVX-512 tile runs, ROWS_TILE for the AVX2 one. */
  int rowsTile;
  /* For a queued product, the pool whose pauses it keeps (between panels); NULL otherwise. */
  Pool *queuedOn;
  /* Panels handed out so far; B's strips handed out to pack, and strips packed (every one before any product). */
  int nextPanel;
  int nextStrip;
  int packed;
} Job;

typedef struct {
  Pool *pool;
  int index;
  pthread_t thread;
} Worker;

struct Pool {
  pthread_mutex_t mutex;
  pthread_cond_t start;
  pthread_cond_t done;
  unsigned generation;
  int pending;
  int stop;
  int workerCount;
  Worker workers[MAXIMUM_THREADS];
  Job job;
  float *packedB;
  size_t packedBFloats;
  /*
   * Queued products, tickets 1, 2, ...: the job of ticket t in queue[t % QUEUE_CAPACITY]. `issued`
   * tickets were handed out, `claimed` taken by a thread to run, `settled` the highest ticket such
   * that every ticket up to it is done; finished[] flags the done ones past `settled`. All under
   * queueMutex; `issued` and `settled` are also read without it (atomically) by queueState.
   */
  pthread_mutex_t queueMutex;
  pthread_cond_t queueWork;
  pthread_cond_t queueDone;
  Job queue[QUEUE_CAPACITY];
  unsigned char finished[QUEUE_CAPACITY];
  int64_t issued;
  int64_t claimed;
  int64_t settled;
  int queueStarted;
  int queueStop;
  pthread_t queueThread;
  /*
   * Who holds the queue now (PAUSED_BY_CALLER, see pauseQueue; PAUSED_BY_SPLIT, a product split
   * between threads): while any does and no settle is under way (`settling`), a queued product waits
   * between panels, so that the second core goes to the caller's shared work first. Each holder
   * sets and clears its own bit; bits are cleared and `settling` changed under pauseMutex, with
   * resume broadcast.
   */
  int queuePaused;
  int settling;
  pthread_mutex_t pauseMutex;
  pthread_cond_t resume;
  /* The queue thread's own packed B (the calling thread's is packedB above). */
  float *queuePackedB;
  size_t queuePackedBFloats;
  /* Whether this CPU has AVX2 and FMA, and AVX-512 (with the OS saving its registers), read once when the addon loads. */
  int supported;
  int wideSupported;
};

static int cpu_has_avx2_fma(void) {
#if HAVE_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

/* AVX-512 Foundation, which libgcc and compiler-rt report only where the OS also saves its registers. */
static int cpu_has_avx512(void) {
#if HAVE_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return 0;
#endif
}

#if HAVE_X86
/* Transposes the 8 x 8 block in r (row i in r[i]) in place: r[j] becomes column j. */
VECTOR_TARGET static inline void transpose_8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Strips [first, last) of B's 16-column strips, all K rows, into job->packedB (strip s at s * K * 16). */
VECTOR_TARGET static void pack_b_strips(const Job *job, int first, int last) {
  const int K = job->K;
  for (int strip = first; strip < last; strip++) {
    const int n = strip * COLUMNS_TILE;
    const int columns = job->N - n < COLUMNS_TILE ? job->N - n : COLUMNS_TILE;
    float *target = job->packedB + (size_t)strip * K * COLUMNS_TILE;
    if (job->bn == 1 && columns == COLUMNS_TILE) {
      for (int k = 0; k < K; k++) {
        const float *row = job->B + (size_t)k * job->bk + n;
        _mm256_storeu_ps(target + (size_t)k * COLUMNS_TILE, _mm256_loadu_ps(row));
        _mm256_storeu_ps(target + (size_t)k * COLUMNS_TILE + 8, _mm256_loadu_ps(row + 8));
      }
    } else {
      int k = 0;
      if (job->bk == 1 && columns == COLUMNS_TILE) {
        /* B read transposed (each column contiguous in k): 8 x 8 blocks, transposed in registers. */
        for (; k + 8 <= K; k += 8) {
          for (int half = 0; half < 2; half++) {
            __m256 r[8];
            for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(job->B + k + (size_t)(n + 8 * half + j) * job->bn);
            transpose_8x8(r);
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(target + (size_t)(k + j) * COLUMNS_TILE + 8 * half, r[j]);
          }
        }
      }
      for (; k < K; k++) {
        for (int j = 0; j < COLUMNS_TILE; j++) {
          target[(size_t)k * COLUMNS_TILE + j] = j < columns ? job->B[(size_t)k * job->bk + (size_t)(n + j) * job->bn] : 0.0f;
        }
      }
    }
  }
}

/* One 6 x 16 tile over `depth` values of k: packedA holds 6 floats per k, strip 16 per k. */
VECTOR_TARGET static void tile(int depth, const float *packedA, const float *strip, float *c, int ldc, int rows, int columns, int accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float *a = packedA, *b = strip;
  for (int k = 0; k < depth; k++) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 x = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    a += ROWS_TILE;
    b += COLUMNS_TILE;
  }
  float sums[ROWS_TILE * COLUMNS_TILE] __attribute__((aligned(32)));
  _mm256_store_ps(sums, c00); _mm256_store_ps(sums + 8, c01);
  _mm256_store_ps(sums + 16, c10); _mm256_store_ps(sums + 24, c11);
  _mm256_store_ps(sums + 32, c20); _mm256_store_ps(sums + 40, c21);
  _mm256_store_ps(sums + 48, c30); _mm256_store_ps(sums + 56, c31);
  _mm256_store_ps(sums + 64, c40); _mm256_store_ps(sums + 72, c41);
  _mm256_store_ps(sums + 80, c50); _mm256_store_ps(sums + 88, c51);
  for (int r = 0; r < rows; r++) {
    float *row = c + (size_t)r * ldc;
    const float *sum = sums + r * COLUMNS_TILE;
    if (columns == COLUMNS_TILE) {
      __m256 low = _mm256_load_ps(sum), high = _mm256_load_ps(sum + 8);
      if (accumulate) {
        low = _mm256_add_ps(low, _mm256_loadu_ps(row));
        high = _mm256_add_ps(high, _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, low);
      _mm256_storeu_ps(row + 8, high);
    } else {
      for (int j = 0; j < columns; j++) row[j] = accumulate ? row[j] + sum[j] : sum[j];
    }
  }
}

/* The AVX-512 tile: 12 rows x 16 columns, one 16-lane accumulator per row (same sums as tile()). */
WIDE_TARGET static void wide_tile(int depth, const float *packedA, const float *strip, float *c, int ldc, int rows, int columns, int accumulate) {
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  const float *a = packedA, *b = strip;
  for (int k = 0; k < depth; k++) {
    const __m512 v = _mm512_loadu_ps(b);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), v, c0); c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), v, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), v, c2); c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), v, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), v, c4); c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), v, c5);
    c6 = _mm512_fmadd_ps(_mm512_set1_ps(a[6]), v, c6); c7 = _mm512_fmadd_ps(_mm512_set1_ps(a[7]), v, c7);
    c8 = _mm512_fmadd_ps(_mm512_set1_ps(a[8]), v, c8); c9 = _mm512_fmadd_ps(_mm512_set1_ps(a[9]), v, c9);
    c10 = _mm512_fmadd_ps(_mm512_set1_ps(a[10]), v, c10); c11 = _mm512_fmadd_ps(_mm512_set1_ps(a[11]), v, c11);
    a += WIDE_ROWS_TILE;
    b += COLUMNS_TILE;
  }
  float sums[WIDE_ROWS_TILE * COLUMNS_TILE] __attribute__((aligned(64)));
  _mm512_store_ps(sums, c0); _mm512_store_ps(sums + 16, c1); _mm512_store_ps(sums + 32, c2);
  _mm512_store_ps(sums + 48, c3); _mm512_store_ps(sums + 64, c4); _mm512_store_ps(sums + 80, c5);
  _mm512_store_ps(sums + 96, c6); _mm512_store_ps(sums + 112, c7); _mm512_store_ps(sums + 128, c8);
  _mm512_store_ps(sums + 144, c9); _mm512_store_ps(sums + 160, c10); _mm512_store_ps(sums + 176, c11);
  /* Columns past the matrix's edge are masked off: nothing outside C is read or written. */
  const __mmask16 mask = (__mmask16)(columns >= COLUMNS_TILE ? 0xFFFFu : (1u << columns) - 1u);
  for (int r = 0; r < rows; r++) {
    float *row = c + (size_t)r * ldc;
    __m512 value = _mm512_load_ps(sums + r * COLUMNS_TILE);
    if (accumulate) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, row));
    _mm512_mask_storeu_ps(row, mask, value);
  }
}

/*
 * Packs rows [m, m + rows) of A for k in [start, start + depth) into packed, k-major (job->rowsTile
 * values per k, zeros past `rows`). Full panels take vector paths; with 6-row panels their 8-wide
 * stores spill 2 values into the next k's place (written over next), so packed has 8 floats to
 * spare at its end.
 */
VECTOR_TARGET static void pack_a_panel(const Job *job, int m, int rows, int start, int depth, float *packed) {
  const float *A = job->A;
  const int tile = job->rowsTile;
  int k = 0;
  if (rows == tile && job->am == 1) {
    /* A read transposed: each k's values are contiguous (no load reaches past the panel). */
    if (tile == ROWS_TILE) {
      const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
      for (; k < depth; k++) _mm256_storeu_ps(packed + k * tile, _mm256_maskload_ps(A + m + (size_t)(start + k) * job->ak, six));
    } else {
      for (; k < depth; k++) {
        const float *source = A + m + (size_t)(start + k) * job->ak;
        _mm256_storeu_ps(packed + k * tile, _mm256_loadu_ps(source));
        _mm_storeu_ps(packed + k * tile + 8, _mm_loadu_ps(source + 8));
      }
    }
  } else if (rows == tile && job->ak == 1) {
    /* Rows contiguous in k: 8 values of each row, transposed in registers 8 rows at a time (missing
     * rows zero): rows 0-7 (0-5 on a 6-row panel), then on a 12-row panel rows 8-11 into each k's
     * last 4 places. */
    const int leading = tile < 8 ? tile : 8;
    for (; k + 8 <= depth; k += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; i++) r[i] = i < leading ? _mm256_loadu_ps(A + (size_t)(m + i) * job->am + start + k) : _mm256_setzero_ps();
      transpose_8x8(r);
      for (int j = 0; j < 8; j++) _mm256_storeu_ps(packed + (k + j) * tile, r[j]);
      if (tile == WIDE_ROWS_TILE) {
        for (int i = 0; i < 8; i++) r[i] = i < 4 ? _mm256_loadu_ps(A + (size_t)(m + 8 + i) * job->am + start + k) : _mm256_setzero_ps();
        transpose_8x8(r);
        for (int j = 0; j < 8; j++) _mm_storeu_ps(packed + (k + j) * tile + 8, _mm256_castps256_ps128(r[j]));
      }
    }
  }
  for (; k < depth; k++) {
    for (int r = 0; r < tile; r++) {
      packed[k * tile + r] = r < rows ? A[(size_t)(m + r) * job->am + (size_t)(start + k) * job->ak] : 0.0f;
    }
  }
}

/*
 * Products of at most FEW_ROWS rows with B's rows contiguous (bn == 1), as decoding makes (one row
 * per sequence): B is read once per row of A, in order, row after row, with no packing (packing B
 * would read and write all of it first, three times the memory traffic of the product itself).
 * Columns go in chunks of FEW_ROWS_CHUNK whose sums stay in L1 while the rows of B stream past.
 * Each element is the same chain as in the tiles (fused multiply-adds from 0 over each block of
 * DEPTH_BLOCK values of k, in order, added to C after the first block or where the caller
 * accumulates), so the result has the same bits as the tiled path.
 */
#define FEW_ROWS 4
#define FEW_ROWS_CHUNK 1024

/*
 * sums[0, columns) = the fused multiply-add chain over k in [start, end) of a[k * ak] times row k
 * of B from column n (sums start at 0): one depth block of one chunk of one row.
 */
typedef void (*FewRowsBlock)(const Job *job, const float *a, int n, int columns, int start, int end, float *sums);

WIDE_TARGET static void few_rows_block_wide(const Job *job, const float *a, int n, int columns, int start, int end, float *sums) {
  const int whole = columns & ~15;
  const __mmask16 tail = (__mmask16)((1u << (columns - whole)) - 1u);
  int k = start;
  for (; k + 4 <= end; k += 4) {
    const __m512 x0 = _mm512_set1_ps(a[(size_t)k * job->ak]), x1 = _mm512_set1_ps(a[(size_t)(k + 1) * job->ak]);
    const __m512 x2 = _mm512_set1_ps(a[(size_t)(k + 2) * job->ak]), x3 = _mm512_set1_ps(a[(size_t)(k + 3) * job->ak]);
    const float *b0 = job->B + (size_t)k * job->bk + n, *b1 = b0 + job->bk, *b2 = b1 + job->bk, *b3 = b2 + job->bk;
    for (int column = 0; column < columns; column += 16) {
      /* Four rows of B per pass over the sums (one load and store of each sum per four k). */
      const __mmask16 mask = column < whole ? (__mmask16)0xFFFFu : tail;
      __m512 sum = _mm512_load_ps(sums + column);
      sum = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mask, b0 + column), sum);
      sum = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(mask, b1 + column), sum);
      sum = _mm512_fmadd_ps(x2, _mm512_maskz_loadu_ps(mask, b2 + column), sum);
      sum = _mm512_fmadd_ps(x3, _mm512_maskz_loadu_ps(mask, b3 + column), sum);
      _mm512_store_ps(sums + column, sum);
    }
  }
  for (; k < end; k++) {
    const __m512 x = _mm512_set1_ps(a[(size_t)k * job->ak]);
    const float *b = job->B + (size_t)k * job->bk + n;
    for (int column = 0; column < columns; column += 16) {
      const __mmask16 mask = column < whole ? (__mmask16)0xFFFFu : tail;
      _mm512_store_ps(sums + column, _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, b + column), _mm512_load_ps(sums + column)));
    }
  }
}

VECTOR_TARGET static void few_rows_block(const Job *job, const float *a, int n, int columns, int start, int end, float *sums) {
  const int whole = columns & ~7;
  for (int k = start; k < end; k++) {
    const float value = a[(size_t)k * job->ak];
    const __m256 x = _mm256_set1_ps(value);
    const float *b = job->B + (size_t)k * job->bk + n;
    int column = 0;
    for (; column < whole; column += 8) _mm256_store_ps(sums + column, _mm256_fmadd_ps(x, _mm256_loadu_ps(b + column), _mm256_load_ps(sums + column)));
    /* The last columns one at a time: the same fused chain. */
    for (; column < columns; column++) sums[column] = __builtin_fmaf(value, b[column], sums[column]);
  }
}

/* Every row of A, chunk of columns and depth block of `job` through `block`; then into C as the tiles store. */
static void few_rows(const Job *job, FewRowsBlock block) {
  /* 16 floats to spare: the AVX-512 block stores whole vectors past a chunk's last column (masked loads make them 0). */
  float sums[FEW_ROWS_CHUNK + 16] __attribute__((aligned(64)));
  for (int m = 0; m < job->M; m++) {
    const float *a = job->A + (size_t)m * job->am;
    float *c = job->C + (size_t)m * job->ldc;
    for (int n = 0; n < job->N; n += FEW_ROWS_CHUNK) {
      const int columns = job->N - n < FEW_ROWS_CHUNK ? job->N - n : FEW_ROWS_CHUNK;
      for (int start = 0; start < job->K; start += DEPTH_BLOCK) {
        const int end = job->K - start < DEPTH_BLOCK ? job->K : start + DEPTH_BLOCK;
        const int accumulate = job->accumulate || start > 0;
        memset(sums, 0, sizeof(float) * (size_t)(columns + 16));
        block(job, a, n, columns, start, end, sums);
        for (int column = 0; column < columns; column++) c[n + column] = accumulate ? sums[column] + c[n + column] : sums[column];
      }
    }
  }
}

/* Whether a queued product must wait now (see Pool.queuePaused). */
static int queue_held(Pool *pool) {
  return __atomic_load_n(&pool->queuePaused, __ATOMIC_ACQUIRE) != 0 && !__atomic_load_n(&pool->settling, __ATOMIC_ACQUIRE);
}

/* Blocks while the queue is held (see Pool.queuePaused). */
static void wait_while_paused(Pool *pool) {
  if (!queue_held(pool)) return;
  pthread_mutex_lock(&pool->pauseMutex);
  while (queue_held(pool)) pthread_cond_wait(&pool->resume, &pool->pauseMutex);
  pthread_mutex_unlock(&pool->pauseMutex);
}

/* Sets (held) or clears holder bit `holder` of Pool.queuePaused. */
static void set_queue_paused(Pool *pool, int holder, int held) {
  if (held) {
    __atomic_or_fetch(&pool->queuePaused, holder, __ATOMIC_ACQ_REL);
    return;
  }
  pthread_mutex_lock(&pool->pauseMutex);
  __atomic_and_fetch(&pool->queuePaused, ~holder, __ATOMIC_ACQ_REL);
  pthread_cond_broadcast(&pool->resume);
  pthread_mutex_unlock(&pool->pauseMutex);
}

/* Marks a settle under way (1), when queued products run whoever holds the queue, or over (0). */
static void set_settling(Pool *pool, int settling) {
  pthread_mutex_lock(&pool->pauseMutex);
  __atomic_store_n(&pool->settling, settling, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&pool->resume);
  pthread_mutex_unlock(&pool->pauseMutex);
}

/* Panels [first, last) of job->rowsTile rows: for each block of k, pack each panel's rows and run every strip. */
static void multiply_panels(const Job *job, int first, int last) {
  float packedA[WIDE_ROWS_TILE * DEPTH_BLOCK + 8] __attribute__((aligned(64)));
  const int strips = (job->N + COLUMNS_TILE - 1) / COLUMNS_TILE;
  for (int start = 0; start < job->K; start += DEPTH_BLOCK) {
    const int depth = job->K - start < DEPTH_BLOCK ? job->K - start : DEPTH_BLOCK;
    const int accumulate = job->accumulate || start > 0;
    for (int panel = first; panel < last; panel++) {
      if (job->queuedOn != NULL) wait_while_paused(job->queuedOn);
      const int m = panel * job->rowsTile;
      const int rows = job->M - m < job->rowsTile ? job->M - m : job->rowsTile;
      pack_a_panel(job, m, rows, start, depth, packedA);
      for (int strip = 0; strip < strips; strip++) {
        const int n = strip * COLUMNS_TILE;
        const int columns = job->N - n < COLUMNS_TILE ? job->N - n : COLUMNS_TILE;
        const float *packedStrip = job->packedB + (size_t)strip * job->K * COLUMNS_TILE + (size_t)start * COLUMNS_TILE;
        float *c = job->C + (size_t)m * job->ldc + n;
        if (job->rowsTile == WIDE_ROWS_TILE) wide_tile(depth, packedA, packedStrip, c, job->ldc, rows, columns, accumulate);
        else tile(depth, packedA, packedStrip, c, job->ldc, rows, columns, accumulate);
      }
    }
  }
}
#endif

/* One participant's share: runs of B's strips until none are left, the wait for every strip, then runs of panels until none are left. */
static void run_share(Job *job, int index) {
#if HAVE_X86
  /* B's strips are claimed in runs by whichever threads are here: a thread that wakes late finds them
   * packed by the others rather than holding them up. Then wait for runs still being packed. */
  const int strips = (job->N + COLUMNS_TILE - 1) / COLUMNS_TILE;
  const int run = strips / (4 * job->participants) > 1 ? strips / (4 * job->participants) : 1;
  for (int first = __atomic_fetch_add(&job->nextStrip, run, __ATOMIC_ACQ_REL); first < strips; first = __atomic_fetch_add(&job->nextStrip, run, __ATOMIC_ACQ_REL)) {
    const int last = first + run < strips ? first + run : strips;
    pack_b_strips(job, first, last);
    __atomic_add_fetch(&job->packed, last - first, __ATOMIC_ACQ_REL);
  }
  while (__atomic_load_n(&job->packed, __ATOMIC_ACQUIRE) < strips) {
    __builtin_ia32_pause();
  }
  /* Each run claims half of an equal share of the panels left (guided scheduling): runs shrink to
   * one panel toward the end, so the threads finish within about one panel of each other. */
  int first = __atomic_load_n(&job->nextPanel, __ATOMIC_ACQUIRE);
  for (;;) {
    if (first >= job->panels) break;
    const int share = (job->panels - first) / (2 * job->participants);
    const int last = first + (share > 1 ? share : 1);
    if (!__atomic_compare_exchange_n(&job->nextPanel, &first, last, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
    multiply_panels(job, first, last);
    first = __atomic_load_n(&job->nextPanel, __ATOMIC_ACQUIRE);
  }
#else
  (void)job;
  (void)index;
#endif
}

static void *worker_main(void *argument) {
  Worker *worker = (Worker *)argument;
  Pool *pool = worker->pool;
  unsigned seen = 0;
  pthread_mutex_lock(&pool->mutex);
  for (;;) {
    while (pool->generation == seen && !pool->stop) pthread_cond_wait(&pool->start, &pool->mutex);
    if (pool->stop) break;
    seen = pool->generation;
    if (worker->index < pool->job.participants) {
      pthread_mutex_unlock(&pool->mutex);
      run_share(&pool->job, worker->index);
      pthread_mutex_lock(&pool->mutex);
      if (__atomic_sub_fetch(&pool->pending, 1, __ATOMIC_ACQ_REL) == 0) pthread_cond_signal(&pool->done);
    }
  }
  pthread_mutex_unlock(&pool->mutex);
  return NULL;
}

/* Spins (pausing) while *pending is above 0, for at most JOIN_SPIN_NANOSECONDS. */
static void spin_until_done(const int *pending) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    for (int round = 0; round < 64; round++) {
      if (__atomic_load_n(pending, __ATOMIC_ACQUIRE) == 0) return;
#if HAVE_X86
      __builtin_ia32_pause();
#endif
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec) > JOIN_SPIN_NANOSECONDS) return;
  }
}

/* Starts workers up to `count` - 1 (the caller is participant 0); returns how many participate. */
static int ensure_workers(Pool *pool, int count) {
  while (pool->workerCount + 1 < count && pool->workerCount + 1 < MAXIMUM_THREADS) {
    Worker *worker = &pool->workers[pool->workerCount];
    worker->pool = pool;
    worker->index = pool->workerCount + 1;
    if (pthread_create(&worker->thread, NULL, worker_main, worker) != 0) break;
    pool->workerCount++;
  }
  return pool->workerCount + 1 < count ? pool->workerCount + 1 : count;
}

static void stop_pool(void *data) {
  Pool *pool = (Pool *)data;
  /* The queue's thread finishes the product it is running (if any) and stops; the rest are dropped. */
  set_settling(pool, 1);
  pthread_mutex_lock(&pool->queueMutex);
  pool->queueStop = 1;
  pthread_cond_broadcast(&pool->queueWork);
  pthread_mutex_unlock(&pool->queueMutex);
  if (pool->queueStarted) pthread_join(pool->queueThread, NULL);
  pthread_cond_destroy(&pool->queueWork);
  pthread_cond_destroy(&pool->queueDone);
  pthread_mutex_destroy(&pool->queueMutex);
  pthread_cond_destroy(&pool->resume);
  pthread_mutex_destroy(&pool->pauseMutex);
  free(pool->queuePackedB);
  pthread_mutex_lock(&pool->mutex);
  pool->stop = 1;
  pthread_cond_broadcast(&pool->start);
  pthread_mutex_unlock(&pool->mutex);
  for (int index = 0; index < pool->workerCount; index++) pthread_join(pool->workers[index].thread, NULL);
  pthread_cond_destroy(&pool->start);
  pthread_cond_destroy(&pool->done);
  pthread_mutex_destroy(&pool->mutex);
  free(pool->packedB);
  free(pool);
}

static void finalize_pool(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  stop_pool(data);
}

/*
 * Throws a RangeError (`range`) or TypeError with `code`, naming the offending argument in an
 * `argument` property (the names of @codestack/native-kernels' MatrixProduct; NULL for none).
 */
static napi_value throw_error(napi_env env, const char *code, const char *argument, const char *message, int range) {
  napi_value codeValue, messageValue, error;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &codeValue);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &messageValue);
  if (range) napi_create_range_error(env, codeValue, messageValue, &error);
  else napi_create_type_error(env, codeValue, messageValue, &error);
  if (argument != NULL) {
    napi_value name;
    napi_create_string_utf8(env, argument, NAPI_AUTO_LENGTH, &name);
    napi_set_named_property(env, error, "argument", name);
  }
  napi_throw(env, error);
  return NULL;
}

/* An integer argument in [minimum, 2^31); returns 0 and throws otherwise. */
static int integer_argument(napi_env env, napi_value value, const char *name, int minimum, int *out) {
  napi_valuetype type;
  double number;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) {
    throw_error(env, "ERR_INVALID_ARG_TYPE", name, "must be a number", 0);
    return 0;
  }
  napi_get_value_double(env, value, &number);
  if (!(number >= minimum && number <= 2147483647.0 && number == (double)(int64_t)number)) {
    throw_error(env, "ERR_OUT_OF_RANGE", name, minimum == 0 ? "must be a whole number from 0 to 2^31 - 1" : "must be a whole number from 1 to 2^31 - 1", 1);
    return 0;
  }
  *out = (int)number;
  return 1;
}

/* Whether the last element reached by `count1` steps of `stride1` and `count2` of `stride2` from `offset` lies below `length`. */
static int fits(int64_t offset, int64_t count1, int64_t stride1, int64_t count2, int64_t stride2, int64_t length) {
  return offset + (count1 - 1) * stride1 + (count2 - 1) * stride2 < length;
}

/* Grows *buffer to at least `floats` floats (64-byte aligned); 0 where memory ran out. */
static int ensure_packed(float **buffer, size_t *have, size_t floats) {
  if (floats <= *have) return 1;
  float *grown = NULL;
  if (posix_memalign((void **)&grown, 64, floats * sizeof(float)) != 0) return 0;
  free(*buffer);
  *buffer = grown;
  *have = floats;
  return 1;
}

/* The floats of B packed into strips for `job`. */
static size_t packed_floats(const Job *job) {
  return (size_t)((job->N + COLUMNS_TILE - 1) / COLUMNS_TILE) * COLUMNS_TILE * (size_t)job->K;
}

/*
 * Reads and checks the 15 arguments of gemm and gemmQueued into `job` (all but packedB and
 * participants) and *threads. Returns 1 for a product to run, 0 where there is nothing to do
 * (M or N zero, or K zero after C was cleared), -1 where it threw.
 */
static int read_product(napi_env env, napi_callback_info info, Pool **poolOut, Job *job, int *threadsOut) {
  size_t argc = 15;
  napi_value argv[15];
  Pool *pool;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&pool);
  *poolOut = pool;
  if (argc < 15) return throw_error(env, "ERR_MISSING_ARGS", NULL, "gemm takes 15 arguments", 0), -1;
  bool isTypedArray = false;
  napi_is_typedarray(env, argv[0], &isTypedArray);
  napi_typedarray_type arrayType;
  size_t length = 0;
  void *data = NULL;
  if (isTypedArray) napi_get_typedarray_info(env, argv[0], &arrayType, &length, &data, NULL, NULL);
  if (!isTypedArray || arrayType != napi_float32_array) return throw_error(env, "ERR_INVALID_ARG_TYPE", "array", "must be a Float32Array", 0), -1;
  /* M, N, K, aOffset, am, ak, bOffset, bk, bn, cOffset, ldc: whole numbers from 0; then threads, from 1. */
  static const char *const names[11] = {"rows", "columns", "depth", "a", "aRowStride", "aDepthStride", "b", "bDepthStride", "bColumnStride", "c", "cRowStride"};
  int values[12];
  for (int index = 0; index < 11; index++) {
    if (!integer_argument(env, argv[index + 1], names[index], 0, &values[index])) return -1;
  }
  bool accumulate = false;
  if (napi_get_value_bool(env, argv[12], &accumulate) != napi_ok) return throw_error(env, "ERR_INVALID_ARG_TYPE", "accumulate", "must be a boolean", 0), -1;
  if (!integer_argument(env, argv[13], "threads", 1, &values[11])) return -1;
  bool wide = false;
  if (napi_get_value_bool(env, argv[14], &wide) != napi_ok) return throw_error(env, "ERR_INVALID_ARG_TYPE", "avx512", "must be a boolean", 0), -1;
  const int M = values[0], N = values[1], K = values[2], aOffset = values[3], am = values[4], ak = values[5];
  const int bOffset = values[6], bk = values[7], bn = values[8], cOffset = values[9], ldc = values[10];
  *threadsOut = values[11];
  if (!pool->supported) return throw_error(env, "ERR_UNSUPPORTED", NULL, "this CPU has no AVX2 and FMA (check features() first)", 0), -1;
  if (M == 0 || N == 0) return 0;
  if (ldc < N) return throw_error(env, "ERR_OUT_OF_RANGE", "cRowStride", "must be at least columns", 1), -1;
  const int64_t floats = (int64_t)length;
  if (!fits(cOffset, M, ldc, N, 1, floats)) return throw_error(env, "ERR_OUT_OF_RANGE", "c", "C does not fit in the array", 1), -1;
  float *array = (float *)data;
  if (K == 0) {
    if (!accumulate) for (int m = 0; m < M; m++) memset(array + cOffset + (size_t)m * ldc, 0, sizeof(float) * (size_t)N);
    return 0;
  }
  if (!fits(aOffset, M, am, K, ak, floats)) return throw_error(env, "ERR_OUT_OF_RANGE", "a", "A does not fit in the array", 1), -1;
  if (!fits(bOffset, K, bk, N, bn, floats)) return throw_error(env, "ERR_OUT_OF_RANGE", "b", "B does not fit in the array", 1), -1;
  memset(job, 0, sizeof(*job));
  job->M = M; job->N = N; job->K = K; job->am = am; job->ak = ak; job->bk = bk; job->bn = bn; job->ldc = ldc;
  job->accumulate = accumulate ? 1 : 0;
  job->A = array + aOffset; job->B = array + bOffset; job->C = array + cOffset;
  /* The AVX-512 tile where the caller allows it and the CPU has it; the same sums either way. */
  job->rowsTile = wide && pool->wideSupported ? WIDE_ROWS_TILE : ROWS_TILE;
  job->panels = (M + job->rowsTile - 1) / job->rowsTile;
  return 1;
}

/* The rows per panel of `job`'s tile, as a JavaScript number (or undefined for no job). */
static napi_value tile_rows(napi_env env, const Job *job) {
  napi_value result;
  if (job == NULL) napi_get_undefined(env, &result);
  else napi_create_int32(env, job->rowsTile, &result);
  return result;
}

/*
 * Runs queued job `ticket` on the calling thread with `packedB` (large enough: gemmQueued grew both
 * buffers for it), then marks it done; queueMutex held on entry and exit.
 */
static void run_queued(Pool *pool, int64_t ticket, float *packedB) {
  Job *job = &pool->queue[ticket % QUEUE_CAPACITY];
  pthread_mutex_unlock(&pool->queueMutex);
  job->packedB = packedB;
  job->participants = 1;
  run_share(job, 0);
  pthread_mutex_lock(&pool->queueMutex);
  pool->finished[ticket % QUEUE_CAPACITY] = 1;
  while (pool->settled < pool->claimed && pool->finished[(pool->settled + 1) % QUEUE_CAPACITY]) {
    pool->finished[(pool->settled + 1) % QUEUE_CAPACITY] = 0;
    __atomic_store_n(&pool->settled, pool->settled + 1, __ATOMIC_RELEASE);
  }
  pthread_cond_broadcast(&pool->queueDone);
}

/* The queue's thread: runs queued products in order, blocked while there are none. */
static void *queue_main(void *argument) {
  Pool *pool = (Pool *)argument;
  pthread_mutex_lock(&pool->queueMutex);
  for (;;) {
    while (pool->claimed == pool->issued && !pool->queueStop) pthread_cond_wait(&pool->queueWork, &pool->queueMutex);
    if (pool->queueStop) break;
    const int64_t ticket = ++pool->claimed;
    run_queued(pool, ticket, pool->queuePackedB);
  }
  pthread_mutex_unlock(&pool->queueMutex);
  return NULL;
}

/*
 * Waits until every ticket up to `ticket` is done, running queued ones on the calling thread
 * meanwhile; queueMutex held. Queued products run while it settles, whoever holds the queue
 * (settling wants the results now, and a held queue would never bring them); the holds stay.
 */
static void settle_through(Pool *pool, int64_t ticket) {
  if (pool->settled >= ticket) return;
  set_settling(pool, 1);
  while (pool->settled < ticket) {
    if (pool->claimed < pool->issued) {
      const int64_t next = ++pool->claimed;
      run_queued(pool, next, pool->packedB);
    } else {
      pthread_cond_wait(&pool->queueDone, &pool->queueMutex);
    }
  }
  set_settling(pool, 0);
}

/*
 * gemm(array, M, N, K, aOffset, am, ak, bOffset, bk, bn, cOffset, ldc, accumulate, threads, avx512);
 * offsets in floats. Returns the rows per panel of the tile that ran, or undefined where there was
 * nothing to multiply (M, N or K zero). A product split between threads holds the queued ones
 * (between their panels) while it runs.
 */
static napi_value gemm(napi_env env, napi_callback_info info) {
  Pool *pool;
  Job *job;
  int threads = 1;
  Job read;
  const int status = read_product(env, info, &pool, &read, &threads);
  if (status <= 0) return status < 0 ? NULL : tile_rows(env, NULL);
#if HAVE_X86
  if (read.M <= FEW_ROWS && read.bn == 1) {
    /* Decoding's products: B read in order, unpacked, on this thread. */
    few_rows(&read, read.rowsTile == WIDE_ROWS_TILE ? few_rows_block_wide : few_rows_block);
    return tile_rows(env, &read);
  }
#endif
  if (!ensure_packed(&pool->packedB, &pool->packedBFloats, packed_floats(&read))) return throw_error(env, "ERR_MEMORY", NULL, "cannot allocate the packed B buffer", 1);
  job = &pool->job;
  *job = read;
  job->packedB = pool->packedB;
  /* Work below about a million multiply-adds stays on the calling thread (a wake-up costs more). */
  const int wanted = (int64_t)job->M * job->N * job->K < (1 << 20) ? 1 : threads;
  const int participants = ensure_workers(pool, wanted < job->panels ? wanted : job->panels);
  job->participants = participants;
  if (participants > 1) {
    /* Split work first: queued products wait while it runs. */
    set_queue_paused(pool, PAUSED_BY_SPLIT, 1);
    pthread_mutex_lock(&pool->mutex);
    pool->pending = participants - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->mutex);
  }
  run_share(job, 0);
  if (participants > 1) {
    /* The others finish within about one panel of this thread (guided runs): wait for them awake
     * for a while, since a thread woken from a condition variable takes tens of microseconds. */
    spin_until_done(&pool->pending);
    pthread_mutex_lock(&pool->mutex);
    while (pool->pending > 0) pthread_cond_wait(&pool->done, &pool->mutex);
    pthread_mutex_unlock(&pool->mutex);
    set_queue_paused(pool, PAUSED_BY_SPLIT, 0);
  }
  /* The rows per panel it ran on (12: the AVX-512 tile, 6: AVX2), so that callers and tests can see which. */
  return tile_rows(env, job);
}

/*
 * gemmQueued(the 15 arguments of gemm): checks the product as gemm does, then queues it and returns
 * its ticket (1, 2, ...), or 0 where there was nothing to multiply (done at once). The queue's thread
 * runs queued products in order; `threads` is ignored (each runs on one thread). The array's memory
 * must stay where it is, and A, B and C untouched, until the ticket is settled: the caller's to
 * ensure (a SharedArrayBuffer's memory never moves).
 */
static napi_value gemm_queued(napi_env env, napi_callback_info info) {
  Pool *pool;
  int threads = 1;
  Job read;
  const int status = read_product(env, info, &pool, &read, &threads);
  napi_value result;
  if (status < 0) return NULL;
  if (status == 0) {
    napi_create_int32(env, 0, &result);
    return result;
  }
  pthread_mutex_lock(&pool->queueMutex);
  /* Both threads that may run it get a large enough buffer now, so that running it cannot fail. The
   * queue's thread may be packing into its buffer: it grows only once every queued product is done. */
  const size_t needed = packed_floats(&read);
  if (needed > pool->queuePackedBFloats) settle_through(pool, pool->issued);
  if (!ensure_packed(&pool->queuePackedB, &pool->queuePackedBFloats, needed) || !ensure_packed(&pool->packedB, &pool->packedBFloats, needed)) {
    pthread_mutex_unlock(&pool->queueMutex);
    return throw_error(env, "ERR_MEMORY", NULL, "cannot allocate the packed B buffer", 1);
  }
  if (!pool->queueStarted) {
    if (pthread_create(&pool->queueThread, NULL, queue_main, pool) != 0) {
      pthread_mutex_unlock(&pool->queueMutex);
      return throw_error(env, "ERR_THREAD", NULL, "cannot start the queue's thread", 0);
    }
    pool->queueStarted = 1;
  }
  /* A full queue: the oldest is settled first (on this thread if the queue's has not taken it). */
  if (pool->issued - pool->settled >= QUEUE_CAPACITY) settle_through(pool, pool->issued - QUEUE_CAPACITY + 1);
  const int64_t ticket = pool->issued + 1;
  read.queuedOn = pool;
  pool->queue[ticket % QUEUE_CAPACITY] = read;
  __atomic_store_n(&pool->issued, ticket, __ATOMIC_RELEASE);
  pthread_cond_signal(&pool->queueWork);
  pthread_mutex_unlock(&pool->queueMutex);
  napi_create_double(env, (double)ticket, &result);
  return result;
}

/* The first argument of a call (NULL where there is none), and the pool into *pool. */
static napi_value first_argument(napi_env env, napi_callback_info info, Pool **pool) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)pool);
  return argc >= 1 ? argv[0] : NULL;
}

/*
 * settle(ticket): returns when every queued product up to `ticket` is done (all of them for a
 * ticket at or past the last), running queued ones on the calling thread while it waits; queued
 * products run while it settles, paused or not (pauseQueue). Returns the highest ticket settled.
 */
static napi_value settle(napi_env env, napi_callback_info info) {
  Pool *pool;
  const napi_value argument = first_argument(env, info, &pool);
  double wanted = 0;
  napi_valuetype type = napi_undefined;
  if (argument != NULL) napi_typeof(env, argument, &type);
  if (type != napi_number) return throw_error(env, "ERR_INVALID_ARG_TYPE", "ticket", "must be a number", 0);
  napi_get_value_double(env, argument, &wanted);
  if (!(wanted >= 0)) return throw_error(env, "ERR_OUT_OF_RANGE", "ticket", "must be a ticket from 0", 1);
  pthread_mutex_lock(&pool->queueMutex);
  const int64_t through = wanted >= (double)pool->issued ? pool->issued : (int64_t)wanted;
  settle_through(pool, through);
  const int64_t settled = pool->settled;
  pthread_mutex_unlock(&pool->queueMutex);
  napi_value result;
  napi_create_double(env, (double)settled, &result);
  return result;
}

/*
 * pauseQueue(paused): true makes queued products wait between panels, false lets them go on; for
 * callers that share work between threads of their own, so that the second core goes to it first.
 * The caller's hold is its own: a split product's hold does not end it, and settling runs queued
 * products through it but leaves it.
 */
static napi_value pause_queue(napi_env env, napi_callback_info info) {
  Pool *pool;
  const napi_value argument = first_argument(env, info, &pool);
  bool paused = false;
  if (argument == NULL || napi_get_value_bool(env, argument, &paused) != napi_ok) return throw_error(env, "ERR_INVALID_ARG_TYPE", "paused", "must be a boolean", 0);
  set_queue_paused(pool, PAUSED_BY_CALLER, paused ? 1 : 0);
  return NULL;
}

/* A new object { first: firstValue, second: secondValue }. */
static napi_value object_of_two(napi_env env, const char *first, napi_value firstValue, const char *second, napi_value secondValue) {
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, first, firstValue);
  napi_set_named_property(env, result, second, secondValue);
  return result;
}

/* queueState(): { queued, settled }, the last ticket handed out and the highest with every one up to it done. */
static napi_value queue_state(napi_env env, napi_callback_info info) {
  Pool *pool;
  napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&pool);
  napi_value queued, settled;
  napi_create_double(env, (double)__atomic_load_n(&pool->issued, __ATOMIC_ACQUIRE), &queued);
  napi_create_double(env, (double)__atomic_load_n(&pool->settled, __ATOMIC_ACQUIRE), &settled);
  return object_of_two(env, "queued", queued, "settled", settled);
}

static napi_value features(napi_env env, napi_callback_info info) {
  Pool *pool;
  napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&pool);
  napi_value avx2Fma, avx512;
  napi_get_boolean(env, pool->supported, &avx2Fma);
  napi_get_boolean(env, pool->wideSupported, &avx512);
  return object_of_two(env, "avx2Fma", avx2Fma, "avx512", avx512);
}

static napi_value init(napi_env env, napi_value exports) {
  Pool *pool = (Pool *)calloc(1, sizeof(Pool));
  if (pool == NULL) return NULL;
  pthread_mutex_init(&pool->mutex, NULL);
  pthread_cond_init(&pool->start, NULL);
  pthread_cond_init(&pool->done, NULL);
  pthread_mutex_init(&pool->queueMutex, NULL);
  pthread_cond_init(&pool->queueWork, NULL);
  pthread_cond_init(&pool->queueDone, NULL);
  pthread_mutex_init(&pool->pauseMutex, NULL);
  pthread_cond_init(&pool->resume, NULL);
  pool->supported = cpu_has_avx2_fma();
  pool->wideSupported = pool->supported && cpu_has_avx512();
  napi_set_instance_data(env, pool, finalize_pool, NULL);
  napi_property_descriptor properties[] = {
    {"gemm", NULL, gemm, NULL, NULL, NULL, napi_enumerable, pool},
    {"features", NULL, features, NULL, NULL, NULL, napi_enumerable, pool},
    {"gemmQueued", NULL, gemm_queued, NULL, NULL, NULL, napi_enumerable, pool},
    {"settle", NULL, settle, NULL, NULL, NULL, napi_enumerable, pool},
    {"queueState", NULL, queue_state, NULL, NULL, NULL, napi_enumerable, pool},
    {"pauseQueue", NULL, pause_queue, NULL, NULL, NULL, napi_enumerable, pool},
  };
  napi_define_properties(env, exports, 6, properties);
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
