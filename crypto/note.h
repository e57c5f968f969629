/*
 * note — C2SP signed notes (Ed25519), tlog checkpoints and tlog-cosignature/v1.
 *
 *   note      = text (non-empty, ends in "\n") || "\n" || signature lines
 *   signature = "— " name " " base64(key ID (4) || Ed25519 signature over text) "\n"
 *   key ID    = SHA-256(name || "\n" || 0x01 || public key)[:4]
 *
 * A checkpoint's text is "origin\nsize\nbase64(root)\n". A cosignature (type 0x04,
 * tlog-cosignature/v1) signs "cosignature/v1\ntime T\n" || checkpoint text, and its
 * line carries base64(key ID (4) || T (8, BE) || signature (64)).
 *
 * Pure functions; strings are NUL-terminated; returned strings are mem_alloc'd.
 */
#ifndef KK_NOTE_H
#define KK_NOTE_H

#include <stddef.h>
#include <stdint.h>

#define NOTE_MAX 8192

/* "— name base64(...)\n" for text signed by (sk, pk); NULL on bad input (empty text or
 * name, text not ending in a newline, a name with spaces or '+'). */
char *note_sign_line(const char *text, const char *name, const uint8_t sk[64], const uint8_t pk[32]);

/* text || "\n" || signature line: a complete signed note. */
char *note_sign(const char *text, const char *name, const uint8_t sk[64], const uint8_t pk[32]);

/* Splits a note: *text_len gets the length of its text (including the final newline).
 * 0, or -1 when the note is malformed. */
int note_split(const char *note, size_t len, size_t *text_len);

/* Calls fn for each signature line of a well-formed note, in order: its key name and
 * the whole line (with its newline). Stops when fn returns non-zero and returns that;
 * 0 after the last line, -1 when the note is malformed. */
int note_each_line(const char *note, size_t len,
                   int (*fn)(void *ctx, const char *name, size_t name_len, const char *line, size_t line_len),
                   void *ctx);

/* 0 when the note carries a valid signature by (name, pk); -1 otherwise. */
int note_verify(const char *note, size_t len, const char *name, const uint8_t pk[32]);

/* A cosignature line over the checkpoint text at unix time t. */
char *note_cosign_line(const char *text, const char *name, uint64_t t, const uint8_t sk[64], const uint8_t pk[32]);

/* 0 when the note carries a valid cosignature by (name, pk); *t gets its time. */
int note_verify_cosignature(const char *note, size_t len, const char *name, const uint8_t pk[32], uint64_t *t);

/* Checkpoint text for origin, size and root into out (cap bytes). 0 or -1 (too long,
 * or an origin with a newline). */
int note_checkpoint_text(char *out, size_t cap, const char *origin, uint64_t size, const uint8_t root[32]);

/* Parses a checkpoint text (the first three lines; extension lines are ignored).
 * origin gets at most origin_cap - 1 bytes. 0 or -1. */
int note_checkpoint_parse(const char *text, size_t len, char *origin, size_t origin_cap, uint64_t *size,
                          uint8_t root[32]);

#endif
