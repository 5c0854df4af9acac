// rng: xoshiro256** (Blackman & Vigna) seeded by splitmix64; see rng.h.
#include <math.h>
#include <stddef.h>

#include "core/rng.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

void rng_seed(rng_t *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t rng_hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

uint64_t rng_hash_str(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return rng_hash_bytes(0xCBF29CE484222325ull, s, n);
}

void rng_stream(rng_t *r, uint64_t seed, const char *name, uint64_t index) {
  // Mix seed, name and index through splitmix so nearby seeds give unrelated streams.
  uint64_t x = seed;
  uint64_t a = splitmix64(&x) ^ rng_hash_str(name);
  uint64_t b = splitmix64(&a) ^ (index * 0xD1B54A32D192ED03ull);
  rng_seed(r, splitmix64(&b));
}

uint64_t rng_next(rng_t *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double rng_uniform(rng_t *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

double rng_normal(rng_t *r) {
  double u1 = 1.0 - rng_uniform(r);  // (0, 1]
  double u2 = rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t rng_below(rng_t *r, uint32_t n) {
  // Lemire's multiply-shift with rejection.
  uint64_t m = (uint64_t)(uint32_t)(rng_next(r) >> 32) * n;
  uint32_t low = (uint32_t)m;
  if (low < n) {
    uint32_t threshold = (uint32_t)(-n) % n;
    while (low < threshold) {
      m = (uint64_t)(uint32_t)(rng_next(r) >> 32) * n;
      low = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

void rng_permutation(rng_t *r, int *idx, int n) {
  for (int i = 0; i < n; i++) idx[i] = i;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)rng_below(r, (uint32_t)(i + 1));
    int t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}
