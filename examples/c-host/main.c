/* A C host for build/atc.wasm, compiled to C by wasm2c (build.sh). It follows docs/abi.md ("A host, step by
 * step"): it creates the memory the module imports, lays out configuration, arena, batch and alert buffer, calls
 * arena_bytes, init, register and ingest (resuming at consumed()), and writes or prints the alert records.
 *
 *   atc-host [--alert-capacity A] [--out DIR] [--quiet] CASE_DIR    run one golden case (test/golden/<name>/)
 *   atc-host --repeat R [--alert-capacity A] CASE_DIR               time R runs: one JSON line on stdout
 *
 * CASE_DIR holds config.f64 (344 little-endian doubles), instruments.u32 (ids to register) and batch.bin (a batch
 * region of capacity n = its size / 73). --out writes DIR/alerts.bin (64-byte records) and DIR/status.u8.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "atc.h"
#include "wasm-rt-impl.h"

/* wasm2c names an export `e` of module `atc` Z_atcZ_e (wabt 1.0.32, Debian 12; build.sh checks). */
#define ATC(name) Z_atcZ_##name

enum { PAGE_BYTES = 65536, ALERT_BYTES = 64, BATCH_BYTES_PER_EVENT = 73, CONFIG_LEN = 344, MAX_PAGES = 65536 };

static const char *FEATURES[] = {"return", "rvol", "intensity", "volume", "flow", "spread", "midJump", "imbalance",
                                 "depth", "depthImbalance", "quoteRate", "basis", "funding", "ivChange", "value",
                                 "valueChange", "vector", "fairValue"};
static const char *DETECTORS[] = {"zscore", "robust", "ewma", "cusum", "pageHinkley", "novelty", "hst", "ocsvm", "rls",
                                  "combined"};
static const char *REGIMES[] = {"calm", "normal", "volatile", "stressed"};
static const char *MODES[] = {"static", "regime", "target", "fixed"};

/* The module's one import, env.memory: wasm2c asks the host for it through this accessor. */
struct Z_env_instance_t {
  wasm_rt_memory_t memory;
};
wasm_rt_memory_t *Z_envZ_memory(struct Z_env_instance_t *env) { return &env->memory; }

static void die(const char *what, const char *detail) {
  fprintf(stderr, "atc-host: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static uint8_t *read_file(const char *dir, const char *name, size_t *size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) die(path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *bytes = malloc(n > 0 ? (size_t)n : 1);
  if (!bytes || (n > 0 && fread(bytes, 1, (size_t)n, f) != (size_t)n)) die(path, "read failed");
  fclose(f);
  *size = (size_t)n;
  return bytes;
}

static void write_file(const char *dir, const char *name, const uint8_t *bytes, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || (size > 0 && fwrite(bytes, 1, size, f) != size) || fclose(f) != 0) die(path, "write failed");
}

static uint32_t align(uint32_t n, uint32_t a) { return (n + a - 1) / a * a; }

/* Little-endian loads from a byte buffer: the records' layout, whatever the compiler thinks of alignment. */
static int64_t le_i64(const uint8_t *p) { int64_t v; memcpy(&v, p, 8); return v; }
static uint32_t le_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static double le_f64(const uint8_t *p) { double v; memcpy(&v, p, 8); return v; }
static float le_f32(const uint8_t *p) { float v; memcpy(&v, p, 4); return v; }

typedef struct {
  Z_atc_instance_t atc;
  struct Z_env_instance_t env;
  uint32_t config, arena, batch, alerts; /* byte offsets in linear memory */
  int32_t capacity, alert_capacity;
} host_t;

static uint8_t *mem(host_t *h) { return h->env.memory.data; }

static void init_arena(host_t *h, const uint32_t *ids, size_t n_ids) {
  int32_t rc = (int32_t)ATC(init)(&h->atc, h->arena, h->config);
  if (rc != 0) { fprintf(stderr, "atc-host: init: error %d\n", rc); exit(1); }
  for (size_t i = 0; i < n_ids; i++) {
    int32_t slot = (int32_t)ATC(register)(&h->atc, h->arena, ids[i]);
    if (slot < 0) { fprintf(stderr, "atc-host: register(%u): error %d\n", ids[i], slot); exit(1); }
  }
}

/* Events [0, n) of the batch region; the module stops early when the alert buffer could overflow and says where
 * (consumed), so the host reads the records written so far and calls again from there. */
static size_t ingest(host_t *h, int32_t n, uint8_t **out, size_t *out_bytes) {
  size_t total = 0;
  for (int32_t start = 0; start < n; start = (int32_t)ATC(consumed)(&h->atc, h->arena)) {
    int32_t written = (int32_t)ATC(ingest)(&h->atc, h->arena, h->batch, (u32)h->capacity, (u32)start, (u32)n,
                                           h->alerts, (u32)h->alert_capacity);
    if (written < 0) { fprintf(stderr, "atc-host: ingest: error %d\n", written); exit(1); }
    if (written > 0 && out) {
      size_t bytes = (size_t)written * ALERT_BYTES;
      *out = realloc(*out, *out_bytes + bytes);
      if (!*out) die("out of memory", NULL);
      memcpy(*out + *out_bytes, mem(h) + h->alerts, bytes);
      *out_bytes += bytes;
    }
    total += (size_t)written;
  }
  return total;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int run(const char *case_dir, const char *out_dir, int32_t alert_capacity, int repeat, int quiet) {
  const uint16_t probe = 1;
  if (*(const uint8_t *)&probe != 1) die("this host copies little-endian files straight into linear memory", "big-endian CPU");

  size_t config_size, ids_size, batch_size;
  uint8_t *config_bytes = read_file(case_dir, "config.f64", &config_size);
  uint8_t *ids_bytes = read_file(case_dir, "instruments.u32", &ids_size);
  uint8_t *batch_bytes = read_file(case_dir, "batch.bin", &batch_size);
  if (config_size != CONFIG_LEN * 8) die("config.f64", "not 344 doubles");
  if (batch_size % BATCH_BYTES_PER_EVENT || batch_size == 0) die("batch.bin", "size is not a multiple of 73");
  size_t n_ids = ids_size / 4;
  uint32_t *ids = malloc(ids_size + 4);
  for (size_t i = 0; i < n_ids; i++) ids[i] = le_u32(ids_bytes + 4 * i);

  static host_t h; /* static: the instance struct is large and zero-initialised */
  h.capacity = (int32_t)(batch_size / BATCH_BYTES_PER_EVENT);
  h.alert_capacity = alert_capacity;

  /* 1. The memory is ours: one page holds the static data that instantiation writes below heap_base(). */
  Z_atc_init_module();
  wasm_rt_allocate_memory(&h.env.memory, 1, MAX_PAGES);
  Z_atc_instantiate(&h.atc, &h.env);
  if (ATC(abi_version)(&h.atc) != 3) die("module ABI is not 3", NULL);
  if ((int32_t)ATC(config_len)(&h.atc) != CONFIG_LEN) die("module config_len is not 344", NULL);

  /* 2. The configuration just above the static data; the module says how big the arena must be. */
  h.config = align(ATC(heap_base)(&h.atc), 16);
  memcpy(mem(&h) + h.config, config_bytes, config_size);
  int32_t arena_bytes = (int32_t)ATC(arena_bytes)(&h.atc, h.config);
  if (arena_bytes < 0) { fprintf(stderr, "atc-host: arena_bytes: error %d\n", arena_bytes); return 1; }

  /* 3. Arena (16-aligned), batch and alert buffer (8-aligned; 64 keeps them on cache lines); grow to fit. */
  h.arena = align(h.config + CONFIG_LEN * 8, 64);
  h.batch = align(h.arena + (uint32_t)arena_bytes, 64);
  h.alerts = align(h.batch + ATC(batch_bytes)(&h.atc, (u32)h.capacity), 64);
  uint64_t end = (uint64_t)h.alerts + (uint64_t)alert_capacity * ALERT_BYTES;
  uint32_t pages = (uint32_t)((end + PAGE_BYTES - 1) / PAGE_BYTES);
  if (pages > h.env.memory.pages && wasm_rt_grow_memory(&h.env.memory, pages - h.env.memory.pages) == (uint32_t)-1)
    die("cannot grow linear memory", NULL);

  /* 4. A fresh arena, then the instruments (none when the configuration auto-registers). */
  init_arena(&h, ids, n_ids);
  int32_t n = h.capacity;

  if (repeat > 0) {
    /* Timing: a fresh arena and batch copy (ingest writes sequence numbers and status into it) before each run; only
     * the ingest loop is timed. The first run warms caches up and is not counted. */
    double *ns = malloc(sizeof(double) * (size_t)repeat);
    for (int r = 0; r <= repeat; r++) {
      init_arena(&h, ids, n_ids);
      memcpy(mem(&h) + h.batch, batch_bytes, batch_size);
      double t0 = now_ns();
      ingest(&h, n, NULL, NULL);
      if (r > 0) ns[r - 1] = (now_ns() - t0) / n;
    }
    qsort(ns, (size_t)repeat, sizeof(double), cmp_double);
    printf("{\"host\":\"c\",\"events\":%d,\"repeat\":%d,\"nsPerEvent\":%.3f,\"nsPerEventMin\":%.3f}\n", n, repeat,
           ns[repeat / 2], ns[0]);
    free(ns);
    return 0;
  }

  /* 5. Ingest the batch. */
  memcpy(mem(&h) + h.batch, batch_bytes, batch_size);
  uint8_t *alerts = NULL;
  size_t alerts_size = 0;
  size_t count = ingest(&h, n, &alerts, &alerts_size);
  const uint8_t *status = mem(&h) + h.batch + (size_t)72 * (size_t)h.capacity;

  if (out_dir) {
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) die(out_dir, strerror(errno));
    write_file(out_dir, "alerts.bin", alerts, alerts_size);
    write_file(out_dir, "status.u8", status, (size_t)n);
  }
  if (!quiet) {
    for (size_t i = 0; i < count; i++) {
      const uint8_t *a = alerts + i * ALERT_BYTES;
      uint8_t f = a[20], d = a[21], regime = a[23];
      uint32_t mode = le_u32(a + 60);
      printf("ts %lld seq %6lld id %2u %s.%s sev %u %s value %.6g expected %.6g score %.4g threshold %.4g vol %.4g %s\n",
             (long long)le_i64(a), (long long)le_i64(a + 8), le_u32(a + 16), f < 18 ? FEATURES[f] : "?",
             d < 10 ? DETECTORS[d] : "?", a[22], regime < 4 ? REGIMES[regime] : "?", le_f64(a + 24), le_f64(a + 32),
             le_f64(a + 40), le_f64(a + 48), (double)le_f32(a + 56), mode < 4 ? MODES[mode] : "?");
    }
  }
  int accepted = 0;
  for (int32_t i = 0; i < n; i++) accepted += status[i] == 0;
  fprintf(stderr, "atc-host: %d events, %d accepted, %zu alerts\n", n, accepted, count);

  Z_atc_free(&h.atc);
  wasm_rt_free_memory(&h.env.memory);
  wasm_rt_free();
  free(alerts), free(ids), free(ids_bytes), free(config_bytes), free(batch_bytes);
  return 0;
}

int main(int argc, char **argv) {
  /* Static: the values must survive the longjmp of a trap (locals in registers may not). */
  static const char *case_dir, *out_dir;
  static int32_t alert_capacity = 84;
  static int repeat, quiet;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--alert-capacity") && i + 1 < argc) alert_capacity = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--quiet")) quiet = 1;
    else if (argv[i][0] != '-' && !case_dir) case_dir = argv[i];
    else die("usage: atc-host [--alert-capacity A] [--out DIR] [--repeat R] [--quiet] CASE_DIR", NULL);
  }
  if (!case_dir) die("usage: atc-host [--alert-capacity A] [--out DIR] [--repeat R] [--quiet] CASE_DIR", NULL);
  /* A trap (out-of-bounds access, ...) jumps back here instead of killing the process without a word. */
  wasm_rt_init();
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap != WASM_RT_TRAP_NONE) die("trap", wasm_rt_strerror(trap));
  return run(case_dir, out_dir, alert_capacity, repeat, quiet);
}
