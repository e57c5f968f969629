/*
 * note — signed notes, checkpoints and cosignatures.
 */
#include "note.h"
#include "../node/base/mem.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_DASH "\xe2\x80\x94 " /* "— " */

static void note_key_id(uint8_t id[4], const char *name, uint8_t alg, const uint8_t pk[32])
{
  crypto_hash_sha256_state st;
  uint8_t h[32], nl = '\n';
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
  crypto_hash_sha256_update(&st, &nl, 1);
  crypto_hash_sha256_update(&st, &alg, 1);
  crypto_hash_sha256_update(&st, pk, 32);
  crypto_hash_sha256_final(&st, h);
  memcpy(id, h, 4);
}

static int note_name_ok(const char *name)
{
  if (!*name) return 0;
  for (const char *p = name; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == '+') return 0;
  return 1;
}

static int note_text_ok(const char *text)
{
  size_t n = strlen(text);
  return n > 0 && text[n - 1] == '\n' && !strstr(text, "\n\n") && text[0] != '\n';
}

static char *note_line(const char *name, const uint8_t *blob, size_t blen)
{
  char b64[256];
  sodium_bin2base64(b64, sizeof b64, blob, blen, sodium_base64_VARIANT_ORIGINAL);
  size_t n = strlen(NOTE_DASH) + strlen(name) + 1 + strlen(b64) + 2;
  char *line = mem_alloc(n);
  if (line) snprintf(line, n, NOTE_DASH "%s %s\n", name, b64);
  return line;
}

char *note_sign_line(const char *text, const char *name, const uint8_t sk[64], const uint8_t pk[32])
{
  if (!note_text_ok(text) || !note_name_ok(name)) return NULL;
  uint8_t blob[4 + 64];
  note_key_id(blob, name, 0x01, pk);
  crypto_sign_detached(blob + 4, NULL, (const uint8_t *)text, strlen(text), sk);
  return note_line(name, blob, sizeof blob);
}

char *note_sign(const char *text, const char *name, const uint8_t sk[64], const uint8_t pk[32])
{
  char *line = note_sign_line(text, name, sk, pk);
  if (!line) return NULL;
  size_t n = strlen(text) + 1 + strlen(line) + 1;
  char *note = mem_alloc(n);
  if (note) snprintf(note, n, "%s\n%s", text, line);
  mem_free(line);
  return note;
}

int note_split(const char *note, size_t len, size_t *text_len)
{
  if (len > NOTE_MAX || memchr(note, 0, len)) return -1;
  for (size_t i = 0; i + 1 < len; i++) {
    if (note[i] == '\n' && note[i + 1] == '\n') {
      if (i == 0) return -1;
      *text_len = i + 1;
      return len > i + 2 && note[len - 1] == '\n' ? 0 : -1;
    }
  }
  return -1;
}

/* Calls fn for every signature line named `name`, with its decoded blob; returns 0 as
 * soon as fn does. */
static int note_each(const char *note, size_t len, const char *name,
                     int (*fn)(void *ctx, const uint8_t *blob, size_t blen), void *ctx)
{
  size_t tl;
  if (note_split(note, len, &tl)) return -1;
  size_t at = tl + 1, dl = strlen(NOTE_DASH), nl = strlen(name);
  while (at < len) {
    const char *line = note + at, *end = memchr(line, '\n', len - at);
    if (!end) return -1;
    size_t ll = (size_t)(end - line);
    if (ll > dl + nl + 1 && memcmp(line, NOTE_DASH, dl) == 0 && memcmp(line + dl, name, nl) == 0 && line[dl + nl] == ' ') {
      uint8_t blob[128];
      size_t blen;
      const char *b64 = line + dl + nl + 1;
      if (sodium_base642bin(blob, sizeof blob, b64, (size_t)(end - b64), NULL, &blen, NULL,
                            sodium_base64_VARIANT_ORIGINAL) == 0 &&
          fn(ctx, blob, blen) == 0)
        return 0;
    }
    at += ll + 1;
  }
  return -1;
}

int note_each_line(const char *note, size_t len,
                   int (*fn)(void *ctx, const char *name, size_t name_len, const char *line, size_t line_len),
                   void *ctx)
{
  size_t tl;
  if (note_split(note, len, &tl)) return -1;
  size_t at = tl + 1, dl = strlen(NOTE_DASH);
  while (at < len) {
    const char *line = note + at, *end = memchr(line, '\n', len - at);
    if (!end) return -1;
    size_t ll = (size_t)(end - line);
    if (ll <= dl || memcmp(line, NOTE_DASH, dl) != 0) return -1;
    const char *name = line + dl, *sp = memchr(name, ' ', (size_t)(end - name));
    if (!sp || sp == name) return -1;
    int rc = fn(ctx, name, (size_t)(sp - name), line, ll + 1);
    if (rc) return rc;
    at += ll + 1;
  }
  return 0;
}

struct note_ctx { const char *text; size_t text_len; const uint8_t *pk; uint8_t id[4]; uint64_t t; };

static int note_check_sig(void *arg, const uint8_t *blob, size_t blen)
{
  struct note_ctx *c = arg;
  if (blen != 68 || memcmp(blob, c->id, 4) != 0) return -1;
  return crypto_sign_verify_detached(blob + 4, (const uint8_t *)c->text, c->text_len, c->pk) == 0 ? 0 : -1;
}

int note_verify(const char *note, size_t len, const char *name, const uint8_t pk[32])
{
  struct note_ctx c = { note, 0, pk, { 0 }, 0 };
  if (note_split(note, len, &c.text_len)) return -1;
  note_key_id(c.id, name, 0x01, pk);
  return note_each(note, len, name, note_check_sig, &c);
}

/* "cosignature/v1\ntime T\n" || text */
static char *note_cosig_message(const char *text, size_t text_len, uint64_t t, size_t *mlen)
{
  char head[64];
  int hl = snprintf(head, sizeof head, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
  char *m = mem_alloc((size_t)hl + text_len);
  if (!m) return NULL;
  memcpy(m, head, (size_t)hl);
  memcpy(m + hl, text, text_len);
  *mlen = (size_t)hl + text_len;
  return m;
}

char *note_cosign_line(const char *text, const char *name, uint64_t t, const uint8_t sk[64], const uint8_t pk[32])
{
  if (!note_text_ok(text) || !note_name_ok(name)) return NULL;
  size_t ml;
  char *m = note_cosig_message(text, strlen(text), t, &ml);
  if (!m) return NULL;
  uint8_t blob[4 + 8 + 64];
  note_key_id(blob, name, 0x04, pk);
  for (int i = 0; i < 8; i++) blob[4 + i] = (uint8_t)(t >> (56 - 8 * i));
  crypto_sign_detached(blob + 12, NULL, (const uint8_t *)m, ml, sk);
  mem_free(m);
  return note_line(name, blob, sizeof blob);
}

static int note_check_cosig(void *arg, const uint8_t *blob, size_t blen)
{
  struct note_ctx *c = arg;
  if (blen != 76 || memcmp(blob, c->id, 4) != 0) return -1;
  uint64_t t = 0;
  for (int i = 0; i < 8; i++) t = t << 8 | blob[4 + i];
  size_t ml;
  char *m = note_cosig_message(c->text, c->text_len, t, &ml);
  if (!m) return -1;
  int rc = crypto_sign_verify_detached(blob + 12, (const uint8_t *)m, ml, c->pk) == 0 ? 0 : -1;
  mem_free(m);
  if (rc == 0) c->t = t;
  return rc;
}

int note_verify_cosignature(const char *note, size_t len, const char *name, const uint8_t pk[32], uint64_t *t)
{
  struct note_ctx c = { note, 0, pk, { 0 }, 0 };
  if (note_split(note, len, &c.text_len)) return -1;
  note_key_id(c.id, name, 0x04, pk);
  int rc = note_each(note, len, name, note_check_cosig, &c);
  if (rc == 0 && t) *t = c.t;
  return rc;
}

int note_checkpoint_text(char *out, size_t cap, const char *origin, uint64_t size, const uint8_t root[32])
{
  char b64[64];
  if (!*origin || strchr(origin, '\n')) return -1;
  sodium_bin2base64(b64, sizeof b64, root, 32, sodium_base64_VARIANT_ORIGINAL);
  int n = snprintf(out, cap, "%s\n%llu\n%s\n", origin, (unsigned long long)size, b64);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

int note_checkpoint_parse(const char *text, size_t len, char *origin, size_t origin_cap, uint64_t *size,
                          uint8_t root[32])
{
  const char *l1 = memchr(text, '\n', len);
  if (!l1 || l1 == text || (size_t)(l1 - text) >= origin_cap) return -1;
  const char *l2 = memchr(l1 + 1, '\n', len - (size_t)(l1 + 1 - text));
  if (!l2 || l2 == l1 + 1) return -1;
  const char *l3 = memchr(l2 + 1, '\n', len - (size_t)(l2 + 1 - text));
  if (!l3) return -1;
  /* size: decimal, no sign, no leading zeros (but "0") */
  uint64_t v = 0;
  if (l1[1] == '0' && l2 != l1 + 2) return -1;
  for (const char *p = l1 + 1; p < l2; p++) {
    if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  size_t rl;
  uint8_t r[40];
  if (sodium_base642bin(r, sizeof r, l2 + 1, (size_t)(l3 - l2 - 1), NULL, &rl, NULL, sodium_base64_VARIANT_ORIGINAL) ||
      rl != 32)
    return -1;
  memcpy(origin, text, (size_t)(l1 - text));
  origin[l1 - text] = 0;
  *size = v;
  memcpy(root, r, 32);
  return 0;
}
