// rng: xoshiro256** seeded by splitmix64, with named streams.
// One run seed drives everything: rng_stream(seed, "env", i) gives env copy i its own generator,
// independent of how many other streams exist, so adding a stream never shifts another.
// Normals use Box-Muller without a cached second value, so the state is just four words.
#ifndef SAFEMARL_RNG_H
#define SAFEMARL_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t s[4];
} rng_t;

void rng_seed(rng_t *r, uint64_t seed);
// Stream `name` (and index, for per-copy streams) of a run seed.
void rng_stream(rng_t *r, uint64_t seed, const char *name, uint64_t index);
uint64_t rng_next(rng_t *r);
double rng_uniform(rng_t *r);            // [0, 1), 53 random bits
double rng_normal(rng_t *r);             // standard normal
uint32_t rng_below(rng_t *r, uint32_t n);  // uniform integer in [0, n), unbiased
void rng_permutation(rng_t *r, int *idx, int n);  // idx = random permutation of 0..n-1
uint64_t rng_hash_str(const char *s);     // FNV-1a 64 of a string (stream names, config hashes)
uint64_t rng_hash_bytes(uint64_t h, const void *p, size_t n);  // FNV-1a continuation
#endif
