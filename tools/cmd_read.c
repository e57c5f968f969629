/*
 * lots, log, show — what this node holds and knows.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/keys.h"
#include "../crypto/sig.h"
#include "../node/base/buf.h"
#include "../node/base/err.h"
#include "../node/ledger/qty.h"
#include "../node/ledger/rules.h"
#include "../node/ledger/verify.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *recycled_json(uint64_t mass, uint64_t post, uint64_t pre)
{
  return json_pack("{s:I,s:I,s:f,s:I}", "post_consumer_mg", (json_int_t)post, "pre_consumer_mg", (json_int_t)pre,
                   "share", (double)qty_ppm(post + pre, mass) / 1e6, "share_ppm", (json_int_t)qty_ppm(post + pre, mass));
}

static json_t *lot_json(struct store_txn *txn, struct store *s, const uint8_t key[36], const struct lot *l,
                        const struct cli_figures *f)
{
  char hex[65], ref[80], owner[CODEC_NAME_MAX + 8];
  cli_hex(hex, key);
  snprintf(ref, sizeof ref, "%s:%u", hex, be32_get(key + 32));
  cli_member_name(txn, s, l->owner, owner, sizeof owner);
  json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:o,s:s,s:s,s:o,s:s}", "ref", ref, "code", l->code,
                        "mass_mg", (json_int_t)l->mass, "available_mg", (json_int_t)l->mass_left,
                        "recycled", recycled_json(l->mass, l->post, l->pre), "model", codec_model_name(l->model),
                        "owner", owner, "owner_key", cli_json_hex(l->owner, 32), "created_by", codec_payload_name(l->origin_kind));
  json_object_set_new(o, "claimed_mg", json_integer((json_int_t)l->claimed));
  cli_json_material(o, l->material);
  cli_json_figures(o, f, l->mass);
  return o;
}

/* "TAINTED", "FLAGGED", both or "": what the lists print beside a lot. */
static const char *lot_marks(const struct cli_figures *f)
{
  return f->tainted && f->flagged ? "TAINTED FLAGGED" : f->tainted ? "TAINTED" : f->flagged ? "FLAGGED" : "";
}

/* The keys of the lots to list: all, or those `owner` holds. */
struct lots_pick { struct store_txn *txn; struct store *s; const uint8_t *owner; uint8_t (*keys)[36]; size_t n, cap; };

static int lots_pick_one(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l)
{
  struct lots_pick *p = arg;
  if (p->owner && memcmp(l->owner, p->owner, 32) != 0) return 0;
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    void *k = mem_realloc(p->keys, cap * 36);
    if (!k) return -ENOMEM;
    p->keys = k;
    p->cap = cap;
  }
  int rc = rules_lot_key(p->txn, p->s, pos, p->keys[p->n]);
  if (rc == STORE_ABSENT) rc = KK_ERR(CORRUPT); /* a lot without its record */
  if (rc == 0) p->n++;
  return rc;
}

int cmd_lots(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "all", no_argument, 0, 'a' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  int o, all = 0, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'a') all = 1;
    else if (o != 'j') return cli_usage("usage: kiroku lots [--all] [--json]");
  }
  if (optind != argc) return cli_usage("usage: kiroku lots [--all] [--json]");
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  /* Without an identity there is no "mine": show everything. */
  if (!c->have_key) all = 1;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  /* The lots to show, then their verified figures in one pass over their provenance. */
  struct lots_pick p = { txn, c->s, all ? NULL : c->pk, NULL, 0, 0 };
  rc = rules_lots_each(txn, c->s, lots_pick_one, &p);
  uint8_t (*keys)[36] = p.keys;
  size_t n = p.n;
  struct cli_figures *figs = NULL;
  if (rc == 0 && n && !(figs = mem_alloc(n * sizeof *figs))) rc = -ENOMEM;
  if (rc == 0) rc = cli_lot_figures(c, txn, (const uint8_t(*)[36])keys, n, figs);
  json_t *arr = json_array();
  if (rc == 0 && !c->json)
    printf("%-20s %-16s %-16s %12s %12s %9s %9s  %-19s %s\n", "REF", "CODE", "MATERIAL", "MASS", "AVAILABLE", "RECORDED",
           "VERIFIED", "MODEL", "");
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct lot l;
    lot_init(&l);
    if ((rc = rules_lot_get(txn, c->s, keys[i], &l))) break;
    if (c->json) json_array_append_new(arr, lot_json(txn, c->s, keys[i], &l, &figs[i]));
    else {
      char ref[64], m[QTY_FMT], a[QTY_FMT], p[QTY_FMT], q[QTY_FMT];
      cli_lotref(ref, sizeof ref, keys[i]);
      printf("%-20s %-16s %-16s %12s %12s %9s %9s  %-19s %s\n", ref, l.code, l.material, qty_format_mass(m, l.mass),
             qty_format_mass(a, l.mass_left), qty_format_ppm(p, qty_ppm(l.post + l.pre, l.mass)),
             qty_format_ppm(q, qty_ppm(figs[i].verified_post + figs[i].verified_pre, l.mass)), codec_model_name(l.model),
             lot_marks(&figs[i]));
    }
  }
  store_txn_abort(txn);
  mem_free(keys);
  mem_free(figs);
  if (rc) { json_decref(arr); return cli_fail(rc, "lots"); }
  if (c->json) cli_print_json(arr);
  else {
    json_decref(arr);
    if (!n) printf("(no lots)\n");
  }
  return 0;
}

/* The payload of a body, as JSON. */
json_t *cli_body_json(const struct kk_body *b);
static json_t *lotref_json(const struct kk_lotref *r)
{
  char hex[65], ref[80];
  cli_hex(hex, r->record);
  snprintf(ref, sizeof ref, "%s:%u", hex, r->index);
  return json_string(ref);
}

json_t *cli_body_json(const struct kk_body *b)
{
  json_t *p = json_object();
  switch (b->kind) {
  case KK_PL_GENESIS: json_object_set_new(p, "name", json_string(b->u.genesis.name)); break;
  case KK_PL_ADMIT:
    json_object_set_new(p, "member", cli_json_hex(b->u.admit.member, 32));
    json_object_set_new(p, "name", json_string(b->u.admit.name));
    json_object_set_new(p, "roles", json_integer(b->u.admit.roles));
    json_object_set_new(p, "country", json_string(b->u.admit.country));
    if (b->u.admit.gln[0]) json_object_set_new(p, "gln", json_string(b->u.admit.gln));
    break;
  case KK_PL_SUSPEND:
    json_object_set_new(p, "member", cli_json_hex(b->u.suspend.member, 32));
    json_object_set_new(p, "from_seq", json_integer((json_int_t)b->u.suspend.from_seq));
    json_object_set_new(p, "reason", json_string(b->u.suspend.reason));
    break;
  case KK_PL_ROTATE_KEY: json_object_set_new(p, "new_key", cli_json_hex(b->u.rotate_key.new_key, 32)); break;
  case KK_PL_ISSUE: {
    const struct kk_issue *x = &b->u.issue;
    json_t *ev = json_array();
    for (size_t i = 0; i < x->n_evidence; i++) json_array_append_new(ev, cli_json_hex(x->evidence[i], 32));
    json_object_set_new(p, "lot_code", json_string(x->lot_code));
    json_object_set_new(p, "material", json_string(x->material));
    json_object_set_new(p, "mass_mg", json_integer((json_int_t)x->mass_mg));
    json_object_set_new(p, "post_consumer_mg", json_integer((json_int_t)x->post_mg));
    json_object_set_new(p, "pre_consumer_mg", json_integer((json_int_t)x->pre_mg));
    json_object_set_new(p, "origin", json_string(x->origin));
    json_object_set_new(p, "facility", json_string(x->facility));
    json_object_set_new(p, "scheme", json_string(x->scheme));
    json_object_set_new(p, "certificate", json_string(x->certificate));
    json_object_set_new(p, "model", json_string(codec_model_name(x->model)));
    json_object_set_new(p, "evidence", ev);
    break;
  }
  case KK_PL_TRANSFER:
    json_object_set_new(p, "lot", lotref_json(&b->u.transfer.lot));
    json_object_set_new(p, "mass_mg", json_integer((json_int_t)b->u.transfer.mass_mg));
    json_object_set_new(p, "to", cli_json_hex(b->u.transfer.to, 32));
    break;
  case KK_PL_RECEIVE: json_object_set_new(p, "transfer", cli_json_hex(b->u.receive.transfer, 32)); break;
  case KK_PL_REFUSE:
    json_object_set_new(p, "transfer", cli_json_hex(b->u.refuse.transfer, 32));
    json_object_set_new(p, "reason", json_string(b->u.refuse.reason));
    break;
  case KK_PL_TRANSFORM: {
    const struct kk_transform *t = &b->u.transform;
    json_t *in = json_array(), *un = json_array(), *out = json_array();
    for (size_t i = 0; i < t->n_inputs; i++)
      json_array_append_new(in, json_pack("{s:o,s:I}", "lot", lotref_json(&t->inputs[i].lot), "mass_mg", (json_int_t)t->inputs[i].mass_mg));
    for (size_t i = 0; i < t->n_unledgered; i++)
      json_array_append_new(un, json_pack("{s:s,s:I,s:s}", "material", t->unledgered[i].material, "mass_mg",
                                          (json_int_t)t->unledgered[i].mass_mg, "origin", t->unledgered[i].origin));
    for (size_t i = 0; i < t->n_outputs; i++)
      json_array_append_new(out, json_pack("{s:s,s:s,s:I,s:I,s:I}", "lot_code", t->outputs[i].lot_code, "material",
                                           t->outputs[i].material, "mass_mg", (json_int_t)t->outputs[i].mass_mg,
                                           "post_consumer_mg", (json_int_t)t->outputs[i].post_mg, "pre_consumer_mg",
                                           (json_int_t)t->outputs[i].pre_mg));
    json_object_set_new(p, "model", json_string(codec_model_name(t->model)));
    json_object_set_new(p, "inputs", in);
    json_object_set_new(p, "unledgered", un);
    json_object_set_new(p, "outputs", out);
    json_object_set_new(p, "process", json_string(t->process));
    break;
  }
  case KK_PL_CLAIM:
    json_object_set_new(p, "lot", lotref_json(&b->u.claim.lot));
    json_object_set_new(p, "share_ppm", json_integer(b->u.claim.share_ppm));
    json_object_set_new(p, "scope", json_string(b->u.claim.scope));
    break;
  case KK_PL_ATTEST:
    json_object_set_new(p, "record", cli_json_hex(b->u.attest.record, 32));
    json_object_set_new(p, "statement", json_string(b->u.attest.statement));
    break;
  case KK_PL_REVOKE:
    json_object_set_new(p, "record", cli_json_hex(b->u.revoke.record, 32));
    json_object_set_new(p, "reason", json_string(b->u.revoke.reason));
    break;
  case KK_PL_INCIDENT:
    json_object_set_new(p, "kind", json_string(b->u.incident.kind));
    json_object_set_new(p, "about", cli_json_hex(b->u.incident.about, 32));
    json_object_set_new(p, "text", json_string(b->u.incident.text));
    break;
  default: break;
  }
  return p;
}

/* One record as JSON: envelope fields, verdict, payload. */
static json_t *record_json(struct store_txn *txn, struct store *s, const uint8_t *env, size_t len, int with_payload)
{
  struct kk_envelope_view ev;
  struct kk_body *b = mem_alloc(sizeof *b);
  uint8_t id[32];
  char name[CODEC_NAME_MAX + 8];
  if (!b) return NULL;
  sig_sha256(id, env, len);
  if (codec_envelope_split(env, len, &ev) || codec_body_decode(ev.body, ev.body_len, b)) { mem_free(b); return NULL; }
  struct rules_status st;
  const char *verdict = "pending";
  int rc = rules_status_get(txn, s, id, &st);
  if (rc == 0) verdict = st.verdict == RULES_VALID ? "valid" : "invalid";
  json_t *o = json_pack("{s:o,s:o,s:s,s:I,s:s,s:I,s:s}", "id", cli_json_hex(id, 32), "author", cli_json_hex(b->author, 32),
                        "author_name", cli_member_name(txn, s, b->author, name, sizeof name), "seq", (json_int_t)b->seq,
                        "kind", codec_payload_name(b->kind), "time_ms", (json_int_t)b->time_ms, "verdict", verdict);
  if (rc == 0 && st.verdict != RULES_VALID) {
    json_object_set_new(o, "error", json_string(kk_errname(st.err)));
    json_object_set_new(o, "reason", json_string(kk_strerror(st.err)));
  }
  if (with_payload) {
    json_object_set_new(o, "prev", b->has_prev ? cli_json_hex(b->prev, 32) : json_null());
    json_object_set_new(o, "bytes", json_integer((json_int_t)len));
    json_object_set_new(o, "payload", cli_body_json(b));
  }
  mem_free(b);
  return o;
}

struct log_ctx { struct cli *c; struct store_txn *txn; const uint8_t *feed; json_t *arr; };

static int log_fn(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  struct log_ctx *l = arg;
  uint8_t author[32];
  uint64_t seq;
  int kind;
  (void)arrival;
  if (codec_record_position(env, len, author, &seq, &kind)) return KK_ERR(CORRUPT);
  if (l->feed && memcmp(author, l->feed, 32) != 0) return 0;
  json_t *r = record_json(l->txn, l->c->s, env, len, 0);
  if (!r) return 0;
  if (l->c->json) json_array_append_new(l->arr, r);
  else {
    const char *err = json_string_value(json_object_get(r, "reason"));
    printf("%.12s  %-14s #%-5lld %-10s %-7s%s%s\n", json_string_value(json_object_get(r, "id")),
           json_string_value(json_object_get(r, "author_name")), (long long)json_integer_value(json_object_get(r, "seq")),
           json_string_value(json_object_get(r, "kind")), json_string_value(json_object_get(r, "verdict")),
           err ? "  " : "", err ? err : "");
    json_decref(r);
  }
  return 0;
}

int cmd_log(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "feed", required_argument, 0, 'f' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *feed = NULL;
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'f') feed = optarg;
    else if (o != 'j') return cli_usage("usage: kiroku log [--feed NAME|HEX] [--json]");
  }
  if (optind != argc) return cli_usage("usage: kiroku log [--feed NAME|HEX] [--json]");
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  struct store_txn *txn;
  uint8_t fk[32];
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  if (feed && (rc = cli_resolve_member(c, txn, feed, fk))) { store_txn_abort(txn); return cli_fail(rc, "--feed %s", feed); }
  struct log_ctx l = { c, txn, feed ? fk : NULL, json_array() };
  rc = store_log_each(txn, c->s, 0, log_fn, &l);
  store_txn_abort(txn);
  if (rc) { json_decref(l.arr); return cli_fail(rc, "log"); }
  if (c->json) cli_print_json(l.arr);
  else json_decref(l.arr);
  return 0;
}

/* What a record stands for now: its revocations, and the lots it made with their
 * verified figures (the same as lots and verify give). */
static int show_standing(struct cli *c, struct store_txn *txn, const uint8_t id[32], json_t *r)
{
  uint8_t (*revs)[32];
  size_t nrev;
  int rc = rules_revocations(txn, c->s, id, &revs, &nrev);
  if (rc) return rc;
  json_t *ra = json_array();
  for (size_t i = 0; i < nrev; i++) json_array_append_new(ra, cli_json_hex(revs[i], 32));
  mem_free(revs);
  json_object_set_new(r, "revoked", json_boolean(nrev > 0));
  json_object_set_new(r, "revoked_by", ra);
  /* Lots: output 0, 1, ... for as long as there are. */
  uint8_t keys[CODEC_IO_MAX][36];
  struct cli_figures f[CODEC_IO_MAX];
  size_t n = 0;
  for (; n < CODEC_IO_MAX; n++) {
    struct lot l;
    lot_init(&l);
    lotkey_make(keys[n], id, (uint32_t)n);
    rc = rules_lot_get(txn, c->s, keys[n], &l);
    if (rc == STORE_ABSENT) { rc = 0; break; }
    if (rc) return rc;
  }
  json_t *lots = json_array();
  if (n && (rc = cli_lot_figures(c, txn, (const uint8_t(*)[36])keys, n, f))) { json_decref(lots); return rc; }
  for (size_t i = 0; i < n; i++) {
    struct lot l;
    lot_init(&l);
    if ((rc = rules_lot_get(txn, c->s, keys[i], &l))) { json_decref(lots); return rc; }
    json_array_append_new(lots, lot_json(txn, c->s, keys[i], &l, &f[i]));
  }
  json_object_set_new(r, "lots", lots);
  return 0;
}

int cmd_show(struct cli *c, int argc, char **argv)
{
  const char *ref = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) continue;
    if (ref || argv[i][0] == '-') return cli_usage("usage: kiroku show ID [--json]");
    ref = argv[i];
  }
  if (!ref) return cli_usage("usage: kiroku show ID [--json]");
  int rc = cli_open(c, CLI_NETWORK);
  if (rc) return rc;
  struct store_txn *txn;
  uint8_t id[32];
  const uint8_t *env;
  size_t len;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  char tmp[80];
  snprintf(tmp, sizeof tmp, "%s", ref);
  char *colon = strchr(tmp, ':'); /* a lot ref names its record */
  if (colon) *colon = 0;
  if ((rc = cli_resolve_record(c, txn, tmp, id)) || (rc = store_record_by_id(txn, c->s, id, NULL, NULL, &env, &len))) {
    store_txn_abort(txn);
    return cli_fail(rc, "show %s", ref);
  }
  json_t *r = record_json(txn, c->s, env, len, 1);
  if (r && (rc = show_standing(c, txn, id, r))) { json_decref(r); store_txn_abort(txn); return cli_fail(rc, "show %s", ref); }
  store_txn_abort(txn);
  if (!r) return cli_fail(KK_ERR(CORRUPT), "show %s", ref);
  if (c->json) { cli_print_json(r); return 0; }
  char *body = json_dumps(json_object_get(r, "payload"), JSON_INDENT(2) | JSON_REAL_PRECISION(10));
  printf("record  %s\nauthor  %s (%s)\nseq     %lld\nkind    %s\nverdict %s%s%s\npayload %s\n",
         json_string_value(json_object_get(r, "id")), json_string_value(json_object_get(r, "author_name")),
         json_string_value(json_object_get(r, "author")), (long long)json_integer_value(json_object_get(r, "seq")),
         json_string_value(json_object_get(r, "kind")), json_string_value(json_object_get(r, "verdict")),
         json_object_get(r, "reason") ? ": " : "",
         json_object_get(r, "reason") ? json_string_value(json_object_get(r, "reason")) : "", body ? body : "");
  mem_free(body);
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(r, "revoked_by"), i, x) printf("REVOKED by record %.12s\n", json_string_value(x));
  json_array_foreach(json_object_get(r, "lots"), i, x) {
    char m[QTY_FMT], p[QTY_FMT];
    json_t *v = json_object_get(x, "verified");
    printf("lot     %s %s: %s of %s, %s recycled verified%s%s\n", json_string_value(json_object_get(x, "ref")),
           json_string_value(json_object_get(x, "code")),
           qty_format_mass(m, (uint64_t)json_integer_value(json_object_get(x, "mass_mg"))),
           json_string_value(json_object_get(x, "material")),
           qty_format_ppm(p, (uint64_t)json_integer_value(json_object_get(v, "share_ppm"))),
           json_integer_value(json_object_get(x, "tainted_mg")) ? "  TAINTED" : "",
           json_is_true(json_object_get(x, "flagged")) ? "  FLAGGED" : "");
  }
  json_decref(r);
  return 0;
}
