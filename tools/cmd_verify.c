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
  json_t *tree = NULL;
  rc = view_trace_json(txn, c->s, key, down, &tree);
  store_txn_abort(txn);
  if (rc) return cli_fail(rc, "trace %s", ref);
  int truncated = json_is_true(json_object_get(tree, "truncated"));
  if (c->json) cli_print_json(tree);
  else {
    trace_print(tree, 0, down ? "to" : "from");
    if (truncated) printf("(truncated after %d nodes or %d levels)\n", VIEW_TRACE_MAX_NODES, VIEW_TRACE_MAX_DEPTH);
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
