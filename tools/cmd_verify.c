/*
 * verify, trace — what a lot really carries, and where it came from or went.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/keys.h"
#include "../crypto/sig.h"
#include "../node/base/buf.h"
#include "../node/base/err.h"
#include "../node/ledger/material.h"
#include "../node/ledger/qty.h"
#include "../node/ledger/rules.h"
#include "../node/ledger/verify.h"
#include "../node/base/idset.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an incident is about, for the text: the lot, a record or a member. */
static const char *incident_about(const struct verify_report *r, const struct verify_incident *in, char *buf, size_t n)
{
  char hex[65];
  view_hex(hex, in->about);
  if (memcmp(in->about, r->lotkey, 32) == 0) snprintf(buf, n, "this lot");
  else if (memcmp(in->about, r->lot.owner, 32) == 0) snprintf(buf, n, "its owner %s", r->owner_name);
  else snprintf(buf, n, "%.12s", hex);
  return buf;
}

void cli_verify_text(const struct verify_report *r)
{
  const struct lot *l = &r->lot;
  char a[QTY_FMT], b[QTY_FMT], c[QTY_FMT], p[QTY_FMT], q[QTY_FMT], ref[64];
  uint64_t verified = r->verified_post + r->verified_pre;
  view_lotref(ref, sizeof ref, r->lotkey);
  printf("lot %s (%s), held by %s\n", l->code, ref, r->owner_name);
  const char *form = material_form(l->material);
  printf("  mass          %s, model %s\n", qty_format_mass(a, l->mass), codec_model_name(l->model));
  printf("  material      %.*s%s%s\n", (int)material_group_len(l->material), l->material, *form ? ", form " : "", form);
  printf("  recycled      %s = %s verified  (post-consumer %s, pre-consumer %s)\n", qty_format_mass(a, verified),
         qty_format_ppm(p, qty_ppm(verified, l->mass)), qty_format_mass(b, r->verified_post), qty_format_mass(c, r->verified_pre));
  if (r->tainted)
    printf("  TAINTED       %s of recorded recycled mass does not count (%s revoked, %s from equivocation); recorded %s\n",
           qty_format_mass(a, r->tainted), qty_format_mass(b, r->tainted_revoked), qty_format_mass(c, r->tainted_equivocation),
           qty_format_mass(q, l->post + l->pre));
  printf("  unclaimed     %s of verified recycled mass in the %s held\n", qty_format_mass(a, r->unclaimed_verified),
         qty_format_mass(b, l->mass_left));
  printf("  origins\n");
  for (size_t i = 0; i < r->n_origins; i++) {
    const struct verify_origin *o = &r->origins[i];
    printf("    %s  %12s = %9s of mass;  recycled %s = %s of recycled\n", o->country, qty_format_mass(a, o->mass),
           qty_format_ppm(p, qty_ppm(o->mass, l->mass)), qty_format_mass(b, o->recycled), qty_format_ppm(q, qty_ppm(o->recycled, verified)));
  }
  printf("  certificates\n");
  for (size_t i = 0; i < r->n_certs; i++) {
    const struct verify_cert *ct = &r->certs[i];
    char hex[65];
    view_hex(hex, ct->record);
    printf("    %s %s by %s%s%s (record %.12s): %s recycled, %zu attestation%s", ct->scheme, ct->certificate,
           ct->issuer_name, ct->facility[0] ? " at " : "", ct->facility, hex, qty_format_mass(a, ct->recycled),
           ct->attestations, ct->attestations == 1 ? "" : "s");
    if (ct->revoked)
      printf("  REVOKED%s, not counted: %s", ct->revocations > 1 ? " (by several parties)" : "",
             ct->revoke_reason ? ct->revoke_reason : "");
    printf("\n");
    if (ct->issuer_frozen_at)
      printf("      EQUIVOCATION: %s signed two versions of its feed at seq %llu (see kiroku evidence); not counted\n",
             ct->issuer_name, (unsigned long long)ct->issuer_frozen_at);
  }
  if (!r->n_certs) printf("    (none)\n");
  if (r->n_claims) printf("  claims\n");
  for (size_t i = 0; i < r->n_claims; i++) {
    const struct verify_claim *cl = &r->claims[i];
    printf("    %s recycled (%s) \"%s\": %s\n", qty_format_ppm(p, cl->c.share_ppm), qty_format_mass(a, cl->c.claimed), cl->c.scope,
           cl->revoked ? "withdrawn" : cl->holds ? "holds" : "DOES NOT HOLD");
  }
  if (r->n_incidents) printf("  incidents reported\n");
  for (size_t i = 0; i < r->n_incidents; i++) {
    const struct verify_incident *in = &r->incidents[i];
    char about[CODEC_NAME_MAX + 32];
    printf("    %s by %s about %s: %s\n", in->kind, in->author_name, incident_about(r, in, about, sizeof about), in->text);
  }
  if (r->has_extra_claim)
    printf("  claim %s recycled: charges %s of %s verified unclaimed: %s\n", qty_format_ppm(p, r->extra_claim_ppm),
           qty_format_mass(a, r->extra_claim_mass), qty_format_mass(b, r->unclaimed_verified),
           r->extra_claim_holds ? "holds" : "DOES NOT HOLD");
  for (size_t i = 0; i < r->n_frozen; i++)
    printf("  EQUIVOCATION  %s signed two versions of its feed at seq %llu\n", r->frozen[i].name,
           (unsigned long long)r->frozen[i].frozen_at);
  if (r->flagged)
    printf("  FLAGGED       %s of this lot came through a participant proven to have equivocated\n",
           qty_format_mass(a, r->equivocation_mass));
  if (r->passed) {
    printf("OK: nothing tainted or flagged%s\n", r->n_claims || r->has_extra_claim ? "; every claim holds" : "");
    return;
  }
  json_t *why = view_verify_reasons(r);
  size_t i;
  json_t *x;
  printf("FAILED:");
  json_array_foreach(why, i, x) printf("%s %s", i ? ";" : "", json_string_value(x));
  printf("\n");
  json_decref(why);
}

int cmd_verify(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "claim", required_argument, 0, 'c' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *claim = NULL, *ref = NULL;
  uint32_t ppm = 0;
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'c') claim = optarg;
    else if (o != 'j') return cli_usage("usage: kiroku verify REF [--claim P] [--json]");
  }
  if (optind != argc - 1) return cli_usage("usage: kiroku verify REF [--claim P] [--json]");
  ref = argv[optind];
  if (claim && (rc = qty_parse_share(claim, &ppm))) return cli_fail(rc, "--claim %s", claim);
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  struct store_txn *txn;
  uint8_t key[36];
  struct verify_report r;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  if ((rc = cli_resolve_lot(c, txn, ref, key)) || (rc = verify_lot(txn, c->s, key, ppm, &r))) {
    store_txn_abort(txn);
    return cli_refused(c, rc == STORE_ABSENT ? KK_ERR(UNKNOWN_LOT) : rc, "verify %s", ref);
  }
  store_txn_abort(txn);
  if (c->json) cli_print_json(view_verify_json(&r));
  else cli_verify_text(&r);
  int passed = r.passed;
  verify_report_free(&r);
  return passed ? CLI_OK : CLI_FAILED;
}

/* ---- trace ----------------------------------------------------------------------- */

#define TRACE_MAX_NODES 10000
#define TRACE_MAX_DEPTH 200

/* A trace is built as a JSON tree; every lot node is also kept in a list, so its
 * verified figures (one pass over all their provenance) and what incidents name can be
 * added once the tree is complete. */
struct trace_lot { uint8_t key[36]; uint8_t owner[32]; json_t *node; };
struct trace {
  struct cli *c;
  struct store_txn *txn;
  size_t nodes;
  int truncated;
  struct trace_lot *lots;
  size_t n_lots, cap_lots;
};

static json_t *trace_node(struct trace *t, const uint8_t key[36], const char *via, uint64_t via_mass)
{
  struct lot l;
  char hex[65], ref[80], owner[CODEC_NAME_MAX + 8];
  lot_init(&l);
  view_hex(hex, key);
  snprintf(ref, sizeof ref, "%s:%u", hex, be32_get(key + 32));
  json_t *o = json_pack("{s:s}", "lot", ref);
  if (rules_lot_get(t->txn, t->c->s, key, &l) == 0) {
    if (t->n_lots == t->cap_lots) {
      size_t cap = t->cap_lots ? t->cap_lots * 2 : 32;
      void *p = mem_realloc(t->lots, cap * sizeof *t->lots);
      if (p) { t->lots = p; t->cap_lots = cap; }
    }
    if (t->n_lots < t->cap_lots) {
      memcpy(t->lots[t->n_lots].key, key, 36);
      memcpy(t->lots[t->n_lots].owner, l.owner, 32);
      t->lots[t->n_lots++].node = o;
    }
    json_object_set_new(o, "code", json_string(l.code));
    view_json_material(o, l.material);
    json_object_set_new(o, "mass_mg", json_integer((json_int_t)l.mass));
    json_object_set_new(o, "recycled_mg", json_integer((json_int_t)(l.post + l.pre)));
    json_object_set_new(o, "owner", json_string(view_member_name(t->txn, t->c->s, l.owner, owner, sizeof owner)));
    json_object_set_new(o, "model", json_string(codec_model_name(l.model)));
    json_object_set_new(o, "created_by", json_string(l.origin_kind == KK_PL_ADMIT ? "succession" : codec_payload_name(l.origin_kind)));
  }
  if (via) {
    json_object_set_new(o, "via", json_string(via));
    json_object_set_new(o, "via_mass_mg", json_integer((json_int_t)via_mass));
  }
  lot_free(&l);
  t->nodes++;
  return o;
}

static json_t *trace_up(struct trace *t, const uint8_t key[36], const char *via, uint64_t via_mass, int depth)
{
  json_t *o = trace_node(t, key, via, via_mass), *from = json_array();
  struct kk_body *b = NULL;
  if (depth >= TRACE_MAX_DEPTH || t->nodes >= TRACE_MAX_NODES) { t->truncated = 1; goto done; }
  struct lot l;
  if (rules_lot_get(t->txn, t->c->s, key, &l) == 0 && l.origin_kind == KK_PL_ADMIT) {
    /* inherited by a successor: from the lot beside it (node/ledger/rules.h) */
    uint8_t from_key[36];
    memcpy(from_key, key, 32);
    be32_put(from_key + 32, be32_get(key + 32) - RULES_INHERITED);
    json_array_append_new(from, trace_up(t, from_key, "succession", l.mass, depth + 1));
    goto done;
  }
  if (verify_load_body(t->txn, t->c->s, key, &b)) goto done;
  if (b->kind == KK_PL_ISSUE) {
    uint8_t (*revs)[32] = NULL;
    size_t nrev = 0;
    uint64_t frozen = 0;
    rules_revocations(t->txn, t->c->s, key, &revs, &nrev);
    rules_flagged_from(t->txn, t->c->s, b->author, &frozen);
    mem_free(revs);
    json_object_set_new(o, "certificate", json_pack("{s:s,s:s,s:s,s:b,s:I,s:b}", "scheme", b->u.issue.scheme, "certificate",
                                                    b->u.issue.certificate, "origin", b->u.issue.origin, "revoked",
                                                    nrev > 0, "revocations", (json_int_t)nrev, "issuer_equivocated",
                                                    frozen > 0));
  } else if (b->kind == KK_PL_RECEIVE || b->kind == KK_PL_REFUSE) {
    struct xfer x;
    xfer_init(&x);
    const uint8_t *tid = b->kind == KK_PL_RECEIVE ? b->u.receive.transfer : b->u.refuse.transfer;
    if (rules_xfer_get(t->txn, t->c->s, tid, &x) == 0)
      json_array_append_new(from, trace_up(t, x.from_lot, "transfer", x.mass, depth + 1));
    xfer_free(&x);
  } else if (b->kind == KK_PL_TRANSFORM) {
    for (size_t i = 0; i < b->u.transform.n_inputs; i++) {
      uint8_t k[36];
      lotkey_make(k, b->u.transform.inputs[i].lot.record, b->u.transform.inputs[i].lot.index);
      json_array_append_new(from, trace_up(t, k, "transform", b->u.transform.inputs[i].mass_mg, depth + 1));
    }
    for (size_t i = 0; i < b->u.transform.n_unledgered; i++)
      json_array_append_new(from, json_pack("{s:s,s:s,s:I,s:s}", "unledgered", b->u.transform.unledgered[i].material,
                                            "origin", b->u.transform.unledgered[i].origin, "via_mass_mg",
                                            (json_int_t)b->u.transform.unledgered[i].mass_mg, "via", "transform"));
  }
done:
  mem_free(b);
  json_object_set_new(o, "from", from);
  return o;
}

static json_t *trace_down(struct trace *t, const uint8_t key[36], const char *via, uint64_t via_mass, int depth)
{
  json_t *o = trace_node(t, key, via, via_mass), *to = json_array();
  uint8_t (*ids)[32] = NULL;
  uint64_t *seqs = NULL;
  struct spend *spends = NULL;
  size_t n = 0;
  if (depth >= TRACE_MAX_DEPTH || t->nodes >= TRACE_MAX_NODES) { t->truncated = 1; goto done; }
  if (rules_lot_spends(t->txn, t->c->s, key, &ids, &seqs, &spends, &n)) goto done;
  for (size_t i = 0; i < n; i++) {
    struct kk_body *b;
    if (verify_load_body(t->txn, t->c->s, ids[i], &b)) continue;
    if (b->kind == KK_PL_TRANSFER) {
      struct xfer x;
      xfer_init(&x);
      if (rules_xfer_get(t->txn, t->c->s, ids[i], &x) == 0) {
        if (x.state == XFER_PENDING) {
          char name[CODEC_NAME_MAX + 8];
          json_array_append_new(to, json_pack("{s:s,s:s,s:I}", "pending_transfer_to",
                                              view_member_name(t->txn, t->c->s, x.to, name, sizeof name), "via", "transfer",
                                              "via_mass_mg", (json_int_t)x.mass));
        } else {
          uint8_t lk[36];
          lotkey_make(lk, x.closed_by, 0);
          json_array_append_new(to, trace_down(t, lk, x.state == XFER_RECEIVED ? "transfer" : "refused", x.mass, depth + 1));
        }
      }
      xfer_free(&x);
    } else if (spends[i].kind == SPEND_SUCCESSION) { /* inherited whole by the owner's successor */
      uint8_t lk[36];
      memcpy(lk, key, 32);
      be32_put(lk + 32, be32_get(key + 32) + RULES_INHERITED);
      json_array_append_new(to, trace_down(t, lk, "succession", spends[i].mass, depth + 1));
    } else if (b->kind == KK_PL_TRANSFORM) {
      uint64_t used = 0;
      for (size_t j = 0; j < b->u.transform.n_inputs; j++) {
        uint8_t ik[36];
        lotkey_make(ik, b->u.transform.inputs[j].lot.record, b->u.transform.inputs[j].lot.index);
        if (memcmp(ik, key, 36) == 0) used = b->u.transform.inputs[j].mass_mg;
      }
      for (size_t j = 0; j < b->u.transform.n_outputs; j++) {
        uint8_t lk[36];
        lotkey_make(lk, ids[i], (uint32_t)j);
        json_array_append_new(to, trace_down(t, lk, "transform", used, depth + 1));
      }
    }
    mem_free(b);
  }
done:
  mem_free(ids);
  mem_free(seqs);
  mem_free(spends);
  json_object_set_new(o, "to", to);
  return o;
}

struct incidents_list { struct trace *t; const struct idset *about; json_t *list; };

static int incidents_list_one(void *arg, const uint8_t about[32], const uint8_t incident[32])
{
  struct incidents_list *il = arg;
  struct trace *t = il->t;
  struct kk_body *b;
  char name[CODEC_NAME_MAX + 8];
  if (!idset_has(il->about, about)) return 0;
  int rc = verify_load_body(t->txn, t->c->s, incident, &b);
  if (rc) return rc;
  json_array_append_new(il->list, json_pack("{s:o,s:s,s:o,s:s,s:s}", "record", view_json_hex(incident, 32), "author_name",
                                            view_member_name(t->txn, t->c->s, b->author, name, sizeof name), "about",
                                            view_json_hex(about, 32), "kind", b->u.incident.kind, "text", b->u.incident.text));
  mem_free(b);
  return 0;
}

/* Verified figures on every lot of the tree, and the incidents that name a lot, a
 * record or an owner in it (a list on the root). */
static int trace_annotate(struct trace *t, json_t *tree)
{
  struct view_figures *f = t->n_lots ? mem_alloc(t->n_lots * sizeof *f) : NULL;
  uint8_t (*keys)[36] = t->n_lots ? mem_alloc(t->n_lots * 36) : NULL;
  struct idset about;
  int rc = 0;
  idset_init(&about);
  if (t->n_lots && (!f || !keys)) rc = -ENOMEM;
  for (size_t i = 0; i < t->n_lots && rc == 0; i++) {
    memcpy(keys[i], t->lots[i].key, 36);
    if ((rc = idset_add(&about, t->lots[i].key)) >= 0) rc = idset_add(&about, t->lots[i].owner);
    rc = rc < 0 ? rc : 0;
  }
  if (rc == 0) rc = view_lot_figures(t->txn, t->c->s, (const uint8_t(*)[36])keys, t->n_lots, f);
  for (size_t i = 0; i < t->n_lots && rc == 0; i++) {
    json_t *mass = json_object_get(t->lots[i].node, "mass_mg");
    view_json_figures(t->lots[i].node, &f[i], mass ? (uint64_t)json_integer_value(mass) : 0);
  }
  json_t *incidents = json_array();
  struct incidents_list il = { t, &about, incidents };
  if (rc == 0) rc = rules_incidents_each(t->txn, t->c->s, incidents_list_one, &il);
  json_object_set_new(tree, "incidents", incidents);
  idset_free(&about);
  mem_free(f);
  mem_free(keys);
  return rc;
}

static void trace_print(json_t *n, int depth, const char *edges)
{
  char a[QTY_FMT], b[QTY_FMT];
  const char *via = json_string_value(json_object_get(n, "via"));
  json_t *vm = json_object_get(n, "via_mass_mg");
  printf("%*s", depth * 2, "");
  if (via) printf("<- %s %s: ", via, qty_format_mass(a, (uint64_t)json_integer_value(vm)));
  if (json_object_get(n, "unledgered")) {
    printf("unledgered %s from %s\n", json_string_value(json_object_get(n, "unledgered")), json_string_value(json_object_get(n, "origin")));
    return;
  }
  if (json_object_get(n, "pending_transfer_to")) {
    printf("pending transfer to %s\n", json_string_value(json_object_get(n, "pending_transfer_to")));
    return;
  }
  const char *code = json_string_value(json_object_get(n, "code"));
  json_t *ver = json_object_get(n, "verified");
  uint64_t vmg = (uint64_t)json_integer_value(json_object_get(ver, "post_consumer_mg")) +
                 (uint64_t)json_integer_value(json_object_get(ver, "pre_consumer_mg"));
  char vb[QTY_FMT];
  printf("%s %s %s of %s (%s recycled, %s verified, %s)", code ? code : "?",
         qty_format_mass(a, (uint64_t)json_integer_value(json_object_get(n, "mass_mg"))),
         json_string_value(json_object_get(n, "material")) ? json_string_value(json_object_get(n, "material")) : "",
         json_string_value(json_object_get(n, "owner")) ? json_string_value(json_object_get(n, "owner")) : "?",
         qty_format_mass(b, (uint64_t)json_integer_value(json_object_get(n, "recycled_mg"))), qty_format_mass(vb, vmg),
         json_string_value(json_object_get(n, "model")) ? json_string_value(json_object_get(n, "model")) : "");
  json_t *cert = json_object_get(n, "certificate");
  if (cert) printf("  [certificate %s %s, %s%s%s]", json_string_value(json_object_get(cert, "scheme")),
                   json_string_value(json_object_get(cert, "certificate")), json_string_value(json_object_get(cert, "origin")),
                   json_is_true(json_object_get(cert, "revoked")) ? ", REVOKED" : "",
                   json_is_true(json_object_get(cert, "issuer_equivocated")) ? ", issuer EQUIVOCATED" : "");
  if (json_integer_value(json_object_get(n, "tainted_mg"))) printf("  TAINTED");
  if (json_is_true(json_object_get(n, "flagged"))) printf("  FLAGGED");
  printf("\n");
  size_t i;
  json_t *child;
  json_array_foreach(json_object_get(n, edges), i, child) trace_print(child, depth + 1, edges);
}

int cmd_trace(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "down", no_argument, 0, 'd' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  int o, rc, down = 0;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'd') down = 1;
    else if (o != 'j') return cli_usage("usage: kiroku trace REF [--down] [--json]");
  }
  if (optind != argc - 1) return cli_usage("usage: kiroku trace REF [--down] [--json]");
  const char *ref = argv[optind];
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  struct store_txn *txn;
  uint8_t key[36];
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  if ((rc = cli_resolve_lot(c, txn, ref, key))) { store_txn_abort(txn); return cli_refused(c, rc, "trace %s", ref); }
  struct trace t = { c, txn, 0, 0, NULL, 0, 0 };
  json_t *tree = down ? trace_down(&t, key, NULL, 0, 0) : trace_up(&t, key, NULL, 0, 0);
  rc = trace_annotate(&t, tree);
  store_txn_abort(txn);
  mem_free(t.lots);
  if (rc) { json_decref(tree); return cli_fail(rc, "trace %s", ref); }
  if (t.truncated) json_object_set_new(tree, "truncated", json_true());
  if (c->json) cli_print_json(tree);
  else {
    trace_print(tree, 0, down ? "to" : "from");
    if (t.truncated) printf("(truncated after %d nodes or %d levels)\n", TRACE_MAX_NODES, TRACE_MAX_DEPTH);
    size_t i;
    json_t *x;
    json_t *inc = json_object_get(tree, "incidents");
    if (json_array_size(inc)) printf("incidents reported about lots, records or members in it\n");
    json_array_foreach(inc, i, x)
      printf("  %s by %s about %.12s: %s\n", json_string_value(json_object_get(x, "kind")),
             json_string_value(json_object_get(x, "author_name")), json_string_value(json_object_get(x, "about")),
             json_string_value(json_object_get(x, "text")));
    json_decref(tree);
  }
  return 0;
}
