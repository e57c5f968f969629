/*
 * merkle-check — verifies one Merkle proof given as JSON in the transparency-dev
 * test-vector format:
 *
 *   inclusion:           {"leafIdx", "treeSize", "root", "leafHash", "proof": [...]}
 *   consistency:         {"size1", "size2", "root1", "root2", "proof": [...]}
 *   subtree inclusion:   {"leafIdx", "start", "end", "root", "leafHash", "proof"}
 *   subtree consistency: {"start", "end", "size", "root1", "root2", "proof"}
 *
 * Hashes are base64. Exit 0 when the proof is valid, 1 when it is not (including
 * hashes of the wrong length), 2 when the file cannot be parsed as either.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/merkle.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MERKLE_MAX_PROOF 128

/* Decodes base64 into out; returns the decoded length, -1 when not base64. A length
 * other than 32 is for the caller to judge (an invalid proof, not an unparseable file). */
static int b64(const char *s, uint8_t *out, size_t cap)
{
  size_t n;
  if (sodium_base642bin(out, cap, s, strlen(s), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) return -1;
  return (int)n;
}

/* The vectors use the whole unsigned 64-bit range, beyond what JSON parsers keep exactly
 * (jansson stops at INT64_MAX), so sizes and indexes are read from the text itself: the
 * key in quotes, a colon, then digits. */
static const char *merkle_text;

static int get_u64(json_t *o, const char *key, uint64_t *v)
{
  char pat[64];
  if (!json_object_get(o, key)) return -1;
  snprintf(pat, sizeof pat, "\"%s\"", key);
  for (const char *p = strstr(merkle_text, pat); p; p = strstr(p + 1, pat)) {
    const char *q = p + strlen(pat);
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
    if (*q != ':') continue;
    q++;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
    if (*q < '0' || *q > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(q, &end, 10);
    if (errno || *end == '.' || *end == 'e' || *end == 'E') return -1;
    *v = x;
    return 0;
  }
  return -1;
}

/* 0 when the hash decoded to 32 bytes, 1 when to another length, -1 when not base64. */
static int get_hash(json_t *o, const char *key, uint8_t out[32])
{
  uint8_t buf[256];
  json_t *x = json_object_get(o, key);
  if (!json_is_string(x)) return -1;
  int n = b64(json_string_value(x), buf, sizeof buf);
  if (n < 0) return -1;
  if (n != 32) return 1;
  memcpy(out, buf, 32);
  return 0;
}

/* Same tree on both sides: the two roots must be the same bytes, whatever their length
 * (the vectors use placeholder roots here), and there is nothing to prove. */
static int same_roots(json_t *j, size_t n)
{
  uint8_t raw1[256], raw2[256];
  int l1 = b64(json_string_value(json_object_get(j, "root1")), raw1, sizeof raw1);
  int l2 = b64(json_string_value(json_object_get(j, "root2")), raw2, sizeof raw2);
  return n == 0 && l1 >= 0 && l1 == l2 && memcmp(raw1, raw2, (size_t)l1) == 0;
}

int cmd_merkle_check(struct cli *c, int argc, char **argv)
{
  (void)c;
  if (argc != 2) return cli_usage("usage: kiroku merkle-check FILE");
  json_error_t err;
  char *text = NULL;
  size_t tl = 0;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return cli_fail(-errno, "merkle-check: %s", argv[1]);
  char chunk[4096];
  size_t r;
  while ((r = fread(chunk, 1, sizeof chunk, f)) > 0 && tl < (1u << 20)) {
    char *nt = mem_realloc(text, tl + r + 1);
    if (!nt) { mem_free(text); fclose(f); return CLI_INTERNAL; }
    text = nt;
    memcpy(text + tl, chunk, r);
    tl += r;
    text[tl] = 0;
  }
  fclose(f);
  merkle_text = text ? text : "";
  /* Numbers beyond int64 parse as reals here; get_u64 reads them exactly from the text. */
  json_t *j = text ? json_loadb(text, tl, JSON_DECODE_INT_AS_REAL, &err) : NULL;
  if (!j || !json_is_object(j)) {
    fprintf(stderr, "kiroku: merkle-check: %s: not JSON (%s, line %d)\n", argv[1], j ? "not an object" : err.text, err.line);
    json_decref(j);
    mem_free(text);
    return CLI_USAGE;
  }
  int subtree = json_object_get(j, "start") != NULL;
  int inclusion = json_object_get(j, "leafIdx") != NULL;
  int consistency = json_object_get(j, subtree ? "size" : "size1") != NULL;
  json_t *proofj = json_object_get(j, "proof");
  uint8_t (*proof)[32] = NULL;
  size_t n = 0;
  int bad_len = 0, rc = CLI_USAGE;
  if (inclusion == consistency || (proofj && !json_is_array(proofj) && !json_is_null(proofj)) ||
      json_array_size(proofj) > MERKLE_MAX_PROOF) {
    fprintf(stderr, "kiroku: merkle-check: %s: neither an inclusion nor a consistency proof\n", argv[1]);
    goto done;
  }
  n = json_array_size(proofj);
  proof = mem_calloc(n ? n : 1, 32);
  for (size_t i = 0; i < n; i++) {
    json_t *h = json_array_get(proofj, i);
    uint8_t buf[256];
    int l = json_is_string(h) ? b64(json_string_value(h), buf, sizeof buf) : -1;
    if (l < 0) { fprintf(stderr, "kiroku: merkle-check: proof[%zu] is not base64\n", i); goto done; }
    if (l != 32) bad_len = 1;
    else memcpy(proof[i], buf, 32);
  }
  int valid;
  if (subtree) {
    uint64_t start, end, idx = 0, size = 0;
    uint8_t h1[32], h2[32];
    int r1 = get_hash(j, "root", h1), r2 = inclusion ? get_hash(j, "leafHash", h2) : 0;
    if (!inclusion) { r1 = get_hash(j, "root1", h1); r2 = get_hash(j, "root2", h2); }
    if (get_u64(j, "start", &start) || get_u64(j, "end", &end) || r1 < 0 || r2 < 0 ||
        (inclusion ? get_u64(j, "leafIdx", &idx) : get_u64(j, "size", &size))) {
      fprintf(stderr, "kiroku: merkle-check: %s: a subtree proof needs start and end, with leafIdx, root and leafHash, or with size, root1 and root2\n", argv[1]);
      goto done;
    }
    if (!inclusion && start == end) {
      /* An empty subtree: only its own hash matters. */
      valid = !bad_len && !r1 && merkle_verify_subtree_consistency(start, end, size, h1, h1, (const uint8_t(*)[32])proof, n) == 0;
    } else if (!inclusion && start == 0 && end == size) {
      valid = same_roots(j, n); /* the subtree is the whole tree */
    } else {
      valid = !bad_len && !r1 && !r2 &&
              (inclusion ? merkle_verify_subtree_inclusion(idx, start, end, h2, (const uint8_t(*)[32])proof, n, h1)
                         : merkle_verify_subtree_consistency(start, end, size, h1, h2, (const uint8_t(*)[32])proof, n)) == 0;
    }
  } else if (inclusion) {
    uint64_t idx, size;
    uint8_t root[32], leaf[32];
    int r1 = get_hash(j, "root", root), r2 = get_hash(j, "leafHash", leaf);
    if (get_u64(j, "leafIdx", &idx) || get_u64(j, "treeSize", &size) || r1 < 0 || r2 < 0) {
      fprintf(stderr, "kiroku: merkle-check: %s: an inclusion proof needs leafIdx, treeSize, root, leafHash\n", argv[1]);
      goto done;
    }
    valid = !bad_len && !r1 && !r2 && merkle_verify_inclusion(idx, size, leaf, (const uint8_t(*)[32])proof, n, root) == 0;
  } else {
    uint64_t s1, s2;
    uint8_t r1h[32], r2h[32];
    int r1 = get_hash(j, "root1", r1h), r2 = get_hash(j, "root2", r2h);
    if (get_u64(j, "size1", &s1) || get_u64(j, "size2", &s2) || r1 < 0 || r2 < 0) {
      fprintf(stderr, "kiroku: merkle-check: %s: a consistency proof needs size1, size2, root1, root2\n", argv[1]);
      goto done;
    }
    if (s1 == s2 && s1 > 0) {
      valid = same_roots(j, n);
    } else {
      valid = !bad_len && !r1 && !r2 && merkle_verify_consistency(s1, s2, r1h, r2h, (const uint8_t(*)[32])proof, n) == 0;
    }
  }
  printf("%s\n", valid ? "valid" : "invalid");
  rc = valid ? CLI_OK : CLI_FAILED;
done:
  mem_free(proof);
  json_decref(j);
  mem_free(text);
  return rc;
}
