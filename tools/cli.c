/*
 * cli — shared plumbing of the kiroku subcommands.
 */
#include "cli.h"
#include "../node/ledger/material.h"
#include "../node/base/mem.h"
#include "../node/ledger/ckpt.h"
#include "../crypto/keys.h"
#include "../crypto/sig.h"
#include "../node/base/buf.h"
#include "../node/base/err.h"
#include "../node/client/ctl.h"
#include "../node/ledger/evidence.h"
#include "../node/ledger/ingest.h"
#include "../node/ledger/rules.h"
#include "../node/ledger/verify.h"
#include "../node/ledger/qty.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_exit_code(int rc)
{
  if (rc == 0) return CLI_OK;
  return kk_err_is_input(rc) ? CLI_USAGE : CLI_INTERNAL;
}

int cli_fail(int rc, const char *fmt, ...)
{
  va_list ap;
  fputs("kiroku: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, ": %s\n", kk_strerror(rc));
  return cli_exit_code(rc);
}

int cli_refused(struct cli *c, int rc, const char *fmt, ...)
{
  va_list ap;
  fputs("kiroku: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, ": %s\n", kk_strerror(rc));
  if (c->why[0]) fprintf(stderr, "  %s\n", c->why);
  return cli_exit_code(rc);
}

int cli_require(const char *use, int argc, char **argv, int optind_, ...)
{
  va_list ap;
  const char *opt;
  int rc = 0;
  va_start(ap, optind_);
  while ((opt = va_arg(ap, const char *))) {
    int given = va_arg(ap, int);
    if (!given) { rc = cli_usage("missing %s\n  %s", opt, use); break; }
  }
  va_end(ap);
  if (!rc && optind_ < argc) rc = cli_usage("unexpected argument '%s'\n  %s", argv[optind_], use);
  return rc;
}

int cli_usage(const char *fmt, ...)
{
  va_list ap;
  fputs("kiroku: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CLI_USAGE;
}

int cli_open(struct cli *c, int flags)
{
  int rc;
  if (flags & CLI_NETWORK) {
    /* A command on a ledger that is not there creates nothing: no directory, no store. */
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", c->dir) >= sizeof path)
      return cli_fail(-ENAMETOOLONG, "%s", c->dir);
    if (access(path, F_OK) != 0) return cli_fail(KK_ERR(NOT_INIT), "%s", c->dir);
  } else if (flags & CLI_WRITE) {
    if (mkdir(c->dir, 0700) != 0 && errno != EEXIST)
      return cli_fail(-errno, "cannot create data directory %s", c->dir);
  }
  if (flags & CLI_KEY) {
    rc = keys_load(c->dir, c->pk, c->sk);
    if (rc) return cli_fail(rc, "identity in %s", c->dir);
    c->have_key = 1;
  } else if ((rc = keys_load(c->dir, c->pk, c->sk)) == 0) {
    c->have_key = 1; /* reads use it to tell "mine" (lots, references), nothing more */
  } else if (rc != KK_ERR(NO_KEY)) {
    /* A key that is there but exposed or damaged is refused by reads too: reading
     * "mine" as "nobody's" would hide the problem. */
    return cli_fail(rc, "identity in %s", c->dir);
  }
  rc = store_open(&c->s, c->dir, !(flags & CLI_WRITE));
  if (rc) return cli_fail(rc, "cannot open the store in %s", c->dir);
  if (store_derived_stale(c->s)) {
    fprintf(stderr, "kiroku: the store in %s was written by an earlier version: rebuilding its derived state from the log ...\n", c->dir);
    if ((rc = rules_upgrade(c->s))) return cli_fail(rc, "cannot upgrade the store in %s", c->dir);
    c->upgraded = 1;
  }
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  const void *v;
  size_t n;
  if (store_meta_get(txn, c->s, "network", &v, &n) == 0 && n == 32) {
    memcpy(c->network, v, 32);
    if (store_meta_get(txn, c->s, "registry", &v, &n) == 0 && n == 32) {
      memcpy(c->registry, v, 32);
      c->have_network = 1;
    }
  }
  /* A key rotation interrupted after its record was committed is finished here, one
   * that was not is dropped (crypto/keys.h). */
  uint8_t signer[32];
  rc = c->have_key && (flags & CLI_WRITE) ? store_key_now(txn, c->s, c->pk, signer, NULL) : 1;
  store_txn_abort(txn);
  if (rc == 0 && (rc = keys_next_settle(c->dir, signer)) == 1) rc = keys_load(c->dir, c->pk, c->sk);
  if (rc < 0) return cli_fail(rc, "identity in %s", c->dir);
  if ((flags & CLI_NETWORK) && !c->have_network) return cli_fail(KK_ERR(NOT_INIT), "%s", c->dir);
  return 0;
}

void cli_close(struct cli *c)
{
  store_close(c->s);
  c->s = NULL;
  sodium_memzero(c->sk, sizeof c->sk);
}

/* The figures behind a refusal, read from the store as it stands (nothing was written). */
static void cli_explain(struct cli *c, const struct kk_body *b, int rc)
{
  struct store_txn *txn;
  c->why[0] = 0;
  if ((rc == KK_ERR(FROZEN) || rc == KK_ERR(SUSPENDED)) && store_read(c->s, &txn) == 0) {
    /* The registry has admitted a successor in this member's place: say where to go on. */
    struct member m;
    int succeeded = rules_member_get(txn, c->s, c->pk, &m) == 0 && m.succeeded;
    store_txn_abort(txn);
    if (succeeded) {
      char hex[65];
      sig_hex(hex, m.successor, 32);
      snprintf(c->why, sizeof c->why,
               "the registry admitted key %.16s… in this member's place from seq %llu of its feed (kiroku succeed): "
               "this key writes nothing more; go on in the data directory that holds the new key, which holds "
               "what this feed held before that seq.",
               hex, (unsigned long long)m.succession_from);
      return;
    }
  }
  if (rc == KK_ERR(FROZEN)) {
    uint8_t ev[32];
    char hex[65] = "";
    if (store_read(c->s, &txn) == 0) {
      if (evidence_against(txn, c->s, c->pk, ev) == 0) sig_hex(hex, ev, 32);
      store_txn_abort(txn);
    }
    snprintf(c->why, sizeof c->why,
             "frozen at seq %llu%s%.16s: every peer holds the proof (kiroku evidence %.16s shows it) and keeps your "
             "records from there on without applying them. Stop every other copy of this identity (a restored "
             "backup, a second machine); what you held before seq %llu stays as it was. The way back: a new key "
             "(kiroku join in a fresh directory) that the registry admits in your place with kiroku succeed; "
             "see docs/operations.md, 'A frozen feed'.",
             (unsigned long long)c->frozen_at, hex[0] ? " by evidence " : "", hex, hex[0] ? hex : "",
             (unsigned long long)c->frozen_at);
    return;
  }
  if (!kk_err_is_input(rc) || store_read(c->s, &txn)) return;
  rules_explain(txn, c->s, b, rc, c->why, sizeof c->why);
  store_txn_abort(txn);
}

static int cli_append_record(struct cli *c, struct kk_body *b, uint8_t id[32]);

/* A record of our own that would wait (nothing was written) usually names a member this
 * store does not know: say that, not "waits". */
static int cli_pending_reason(struct cli *c, const struct kk_body *b, int rc)
{
  struct store_txn *txn;
  struct member m;
  if (rc != KK_ERR(PENDING) || b->kind != KK_PL_TRANSFER || store_read(c->s, &txn)) return rc;
  int known = rules_member_get(txn, c->s, b->u.transfer.to, &m);
  store_txn_abort(txn);
  return known == STORE_ABSENT ? KK_ERR(UNKNOWN_MEMBER) : rc;
}

int cli_append(struct cli *c, struct kk_body *b, uint8_t id[32])
{
  int rc = cli_pending_reason(c, b, cli_append_record(c, b, id));
  if (rc == KK_ERR(UNKNOWN_MEMBER)) {
    char hex[65];
    sig_hex(hex, b->u.transfer.to, 32);
    snprintf(c->why, sizeof c->why,
             "%.16s… is no member this store knows: check the key (kiroku members lists them); if the registry "
             "admitted it just now, import the registry's records first. Nothing was written.", hex);
    return rc;
  }
  if (rc) cli_explain(c, b, rc);
  else c->why[0] = 0;
  return rc;
}

void cli_stamp(struct cli *c, struct kk_body *b, uint64_t seq, const uint8_t prev[32], uint64_t time_ms)
{
  b->version = CODEC_VERSION;
  b->has_network = b->kind != KK_PL_GENESIS;
  if (b->has_network) memcpy(b->network, c->network, 32);
  memcpy(b->author, c->pk, 32);
  b->seq = seq;
  b->has_prev = prev != NULL;
  if (prev) memcpy(b->prev, prev, 32);
  b->time_ms = time_ms;
}

int cli_sign_body(struct cli *c, const uint8_t *body, size_t len, uint8_t **env, size_t *envlen)
{
  uint8_t sig[64];
  int rc = sig_sign(sig, SIG_TAG_RECORD, body, len, c->sk);
  return rc ? rc : codec_envelope_join(body, len, sig, env, envlen);
}

static int cli_append_record(struct cli *c, struct kk_body *b, uint8_t id[32])
{
  struct store_txn *txn;
  struct store_head h;
  struct timespec ts;
  if (!c->have_network && b->kind != KK_PL_GENESIS) return KK_ERR(NOT_INIT);
  int rc = store_read(c->s, &txn);
  if (rc) return rc;
  uint64_t frozen = 0;
  const void *mv;
  size_t mn;
  /* Whether the last node run on this directory heard a peer vouch for our head. */
  int unconfirmed = store_meta_get(txn, c->s, STORE_META_CONFIRMED, &mv, &mn) == 0 && mn == 1 &&
                    *(const uint8_t *)mv == 0;
  rc = store_frozen_at(txn, c->s, c->pk, &frozen);
  if (rc == 0) rc = store_head_get(txn, c->s, c->pk, &h);
  store_txn_abort(txn);
  if (rc == STORE_ABSENT) memset(&h, 0, sizeof h);
  else if (rc) return rc;
  /* A record past the fork would be held and never applied, and each one widens what
   * peers must hold as evidence: say so and write nothing. */
  if (frozen && b->kind != KK_PL_GENESIS) {
    c->frozen_at = frozen;
    return KK_ERR(FROZEN);
  }

  clock_gettime(CLOCK_REALTIME, &ts);
  cli_stamp(c, b, h.seq + 1, h.seq > 0 ? h.last_id : NULL, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
  if (b->kind == KK_PL_ROTATE_KEY) {
    /* The new key proves it is held: it signs author || the seq the record takes. */
    uint8_t msg[40];
    memcpy(msg, b->author, 32);
    be64_put(msg + 32, b->seq);
    if (!c->rotate_sk) return KK_ERR(INTERNAL);
    if ((rc = sig_sign(b->u.rotate_key.proof, SIG_TAG_ROTATE, msg, sizeof msg, c->rotate_sk))) return rc;
  }

  uint8_t *body = NULL, *env = NULL;
  size_t blen, elen;
  if ((rc = codec_body_encode(b, &body, &blen))) return rc;

  /* A node running on this directory owns the store's writes: hand it the record to
   * sign and append (it fills in the feed position), and report its verdict. */
  int fd = b->kind == KK_PL_GENESIS || b->kind == KK_PL_ROTATE_KEY ? -ENOENT : ctl_client_connect(c->dir);
  if (fd >= 0) {
    int verdict;
    rc = ctl_client_append(fd, body, blen, &verdict, id);
    close(fd);
    mem_free(body);
    return rc ? rc : verdict;
  }
  if (fd != -ENOENT && fd != -ECONNREFUSED) { mem_free(body); return fd; }
  /* No node to ask a peer. Written anyway (the operator's call), but said. */
  if (unconfirmed && b->kind != KK_PL_GENESIS)
    fprintf(stderr, "kiroku: warning: when a node last ran on %s, no peer confirmed this member's feed (seq %llu): "
                    "if this directory was restored from a backup, a record written now can fork the feed; "
                    "start the node with a peer first (docs/operations.md, Backups)\n",
            c->dir, (unsigned long long)h.seq);

  rc = cli_sign_body(c, body, blen, &env, &elen);
  mem_free(body);
  if (rc) return rc;
  struct ingest_item it;
  memset(&it, 0, sizeof it);
  it.env = env;
  it.len = elen;
  rc = cli_ingest(c, &it, 1, INGEST_LOCAL | INGEST_SIGNED_HERE | (b->kind == KK_PL_GENESIS ? INGEST_ADOPT_GENESIS : 0), 1);
  if (rc == 0 && it.result != 0) rc = it.result == INGEST_DUPLICATE ? KK_ERR(INTERNAL) : it.result;
  if (rc == 0) memcpy(id, it.id, 32);
  mem_free(env);
  return rc;
}

static int cli_hook(struct store_txn *txn, void *ctx, const uint8_t (*feeds)[32], size_t nf)
{
  struct cli *c = ctx;
  return ckpt_after_batch(txn, c->s, c->pk, c->sk, feeds, nf, (uint64_t)time(NULL), NULL, NULL);
}

int cli_ingest(struct cli *c, struct ingest_item *items, size_t n, int flags, int threads)
{
  struct ingest_hook hook = { cli_hook, c };
  return ingest_batch_hook(c->s, items, n, flags, threads, c->have_key ? &hook : NULL);
}

FILE *cli_open_arg(const char *path, int *rc)
{
  FILE *f = fopen(path, "rb");
  if (f) {
    /* fopen opens a directory for reading on Linux; reading it fails later */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
      fclose(f);
      *rc = KK_ERR(NO_FILE);
      return NULL;
    }
    *rc = 0;
    return f;
  }
  int e = errno;
  *rc = e == ENOENT || e == EACCES || e == EISDIR || e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP ? KK_ERR(NO_FILE)
                                                                                                    : -e;
  return NULL;
}

int cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
  int orc = 0;
  FILE *f = strcmp(path, "-") == 0 ? stdin : cli_open_arg(path, &orc);
  if (!f) return orc;
  size_t n = 0, cap = 0;
  uint8_t *p = NULL;
  int rc = 0;
  for (;;) {
    if (n + 1 >= cap) {
      cap = cap ? cap * 2 : 65536;
      uint8_t *np = mem_realloc(p, cap);
      if (!np) { rc = -ENOMEM; break; }
      p = np;
    }
    size_t r = fread(p + n, 1, cap - n - 1, f);
    n += r;
    if (n > max) { rc = KK_ERR(TOO_LARGE); break; }
    if (r == 0) { if (ferror(f)) rc = -EIO; break; }
  }
  if (f != stdin) fclose(f);
  if (rc) { mem_free(p); return rc; }
  p[n] = 0;
  *data = p;
  *len = n;
  return 0;
}

int cli_scratch_dir(char dir[4096], const char *what)
{
  const char *base = getenv("TMPDIR");
  snprintf(dir, 4096, "%s/kiroku-%s-XXXXXX", base && *base ? base : "/tmp", what);
  return mkdtemp(dir) ? 0 : -1;
}

void cli_scratch_remove(const char *dir)
{
  char p[4200];
  snprintf(p, sizeof p, "%s/data.mdb", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", dir);
  unlink(p);
  rmdir(dir);
}

void cli_print_json(json_t *j)
{
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
  if (s) { puts(s); mem_free(s); }
  json_decref(j);
}

/* ---- references ---------------------------------------------------------------- */

int cli_resolve_lot(struct cli *c, struct store_txn *txn, const char *ref, uint8_t key[36])
{
  return view_resolve_lot(txn, c->s, c->have_key ? c->pk : NULL, ref, key, c->why, sizeof c->why);
}

int cli_resolve_member(struct cli *c, struct store_txn *txn, const char *ref, uint8_t key[32])
{
  return view_resolve_member(txn, c->s, ref, key);
}

int cli_resolve_record(struct cli *c, struct store_txn *txn, const char *ref, uint8_t id[32])
{
  return view_resolve_record(txn, c->s, ref, id);
}
