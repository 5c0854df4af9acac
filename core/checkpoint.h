// checkpoint: versioned binary container for exact resume.
// File = magic "SMRLCKPT" | u32 version | u32 reserved | u64 payload length | payload |
//        u64 FNV-1a checksum of the payload. The payload is a sequence of sections, each a
// 4-char tag, a u64 length and the bytes, so that a mismatch names what differs. Written
// atomically (temp file + rename). Little-endian host layout; a checkpoint is for the same
// machine kind, like the byte-identical progress.csv it protects.
#ifndef SAFEMARL_CHECKPOINT_H
#define SAFEMARL_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>

#define CKPT_VERSION 1

typedef struct {
  uint8_t *data;
  size_t len, cap;     // writer: bytes used / allocated
  size_t pos;          // reader position
  size_t section_start;  // writer: offset of the open section's length field
  char path[1024];     // for messages
} ckpt_t;

void ckpt_init(ckpt_t *c);
void ckpt_free(ckpt_t *c);
// Writer.
int ckpt_begin(ckpt_t *c, const char tag[4]);
int ckpt_put(ckpt_t *c, const void *p, size_t n);
int ckpt_put_u64(ckpt_t *c, uint64_t v);
int ckpt_put_f64(ckpt_t *c, double v);
int ckpt_end(ckpt_t *c);
int ckpt_write_file(const ckpt_t *c, const char *path);
// Reader. ckpt_read_file validates magic, version, length and checksum (ERR_INPUT naming the
// file: "not a safemarl checkpoint", "truncated", "checksum mismatch", "version N").
int ckpt_read_file(ckpt_t *c, const char *path);
// Enter section `tag`; ERR_INPUT if the next section has another tag. *len may be NULL.
int ckpt_section(ckpt_t *c, const char tag[4], size_t *len);
// Read exactly n bytes of the current section (ERR_INPUT "truncated section" otherwise).
int ckpt_get(ckpt_t *c, void *p, size_t n);
int ckpt_get_u64(ckpt_t *c, uint64_t *v);
int ckpt_get_f64(ckpt_t *c, double *v);
// Check the current section was consumed exactly (ERR_INPUT naming the tag otherwise).
int ckpt_section_done(ckpt_t *c, const char tag[4]);
#endif
