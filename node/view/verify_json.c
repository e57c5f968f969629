/*
 * verify_json — the verdict on a lot as JSON (node/view/view.h).
 */
#include "view.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../ledger/material.h"
#include "../ledger/qty.h"
#include "../ledger/rules.h"
#include "../ledger/verify.h"
#include "../../crypto/keys.h"
#include "../../crypto/sig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double share(uint64_t part, uint64_t whole) { return (double)qty_ppm(part, whole) / 1e6; }

/* Why a lot fails verification, one sentence each (empty when it passes): the same
 * sentences in the text and in --json's "reasons". */
json_t *view_verify_reasons(const struct verify_report *r)
{
  char a[QTY_FMT], b[QTY_FMT], p[QTY_FMT];
  json_t *out = json_array();
  if (r->tainted_revoked)
    json_array_append_new(out, json_sprintf("%s of recycled content comes from revoked certificates",
                                            qty_format_mass(a, r->tainted_revoked)));
  if (r->tainted_equivocation)
    json_array_append_new(out, json_sprintf("%s of recycled content comes from certificates of an issuer proven to "
                                            "have equivocated", qty_format_mass(a, r->tainted_equivocation)));
  if (r->flagged)
    json_array_append_new(out, json_sprintf("%s of this lot came through a participant proven to have equivocated",
                                            qty_format_mass(a, r->equivocation_mass)));
  for (size_t i = 0; i < r->n_claims; i++)
    if (!r->claims[i].revoked && !r->claims[i].holds)
      json_array_append_new(out, json_sprintf("the claim of %s recycled (%s) exceeds the verified recycled content",
                                              qty_format_ppm(p, r->claims[i].c.share_ppm),
                                              qty_format_mass(a, r->claims[i].c.claimed)));
  if (r->has_extra_claim && !r->extra_claim_holds)
    json_array_append_new(out, r->lot.mass_left == 0
                                   ? json_sprintf("a claim of %s cannot be made: the owner holds none of the lot any more",
                                                  qty_format_ppm(p, r->extra_claim_ppm))
                                   : json_sprintf("a claim of %s would charge %s, but only %s of verified recycled content "
                                                  "is unclaimed", qty_format_ppm(p, r->extra_claim_ppm),
                                                  qty_format_mass(a, r->extra_claim_mass),
                                                  qty_format_mass(b, r->unclaimed_verified)));
  return out;
}

json_t *view_verify_json(const struct verify_report *r)
{
  char hex[65], ref[80];
  const struct lot *l = &r->lot;
  uint64_t verified = r->verified_post + r->verified_pre;
  view_hex(hex, r->lotkey);
  snprintf(ref, sizeof ref, "%s:%u", hex, be32_get(r->lotkey + 32));
  json_t *origins = json_array(), *certs = json_array(), *claims = json_array(), *taint = json_array();
  json_t *incidents = json_array(), *frozen = json_array();
  for (size_t i = 0; i < r->n_origins; i++) {
    const struct verify_origin *o = &r->origins[i];
    json_array_append_new(origins, json_pack("{s:s,s:I,s:I,s:f,s:f}", "country", o->country, "mass_mg", (json_int_t)o->mass,
                                             "recycled_mg", (json_int_t)o->recycled, "share_of_mass", share(o->mass, l->mass),
                                             "share_of_recycled", share(o->recycled, verified)));
  }
  for (size_t i = 0; i < r->n_certs; i++) {
    const struct verify_cert *c = &r->certs[i];
    json_t *o = json_pack("{s:o,s:s,s:s,s:o,s:s,s:s,s:I,s:I,s:I,s:b,s:I,s:I}", "record", view_json_hex(c->record, 32),
                          "scheme", c->scheme, "certificate", c->certificate, "issuer", view_json_hex(c->issuer, 32),
                          "issuer_name", c->issuer_name, "origin", c->origin, "mass_mg", (json_int_t)c->mass,
                          "recycled_mg", (json_int_t)c->recycled, "counted_mg", (json_int_t)c->counted, "revoked", c->revoked,
                          "revocations", (json_int_t)c->revocations, "attestations", (json_int_t)c->attestations);
    json_object_set_new(o, "issuer_frozen_at", c->issuer_frozen_at ? json_integer((json_int_t)c->issuer_frozen_at) : json_null());
    json_object_set_new(o, "facility", c->facility[0] ? json_string(c->facility) : json_null());
    json_array_append_new(certs, o);
    if (c->revoked)
      json_array_append_new(taint, json_pack("{s:o,s:s,s:o,s:I,s:s}", "certificate", view_json_hex(c->record, 32), "cause",
                                             "revoked", "revoked_by", view_json_hex(c->revoked_by, 32), "recycled_mg",
                                             (json_int_t)c->recycled, "reason", c->revoke_reason ? c->revoke_reason : ""));
    else if (c->issuer_frozen_at)
      json_array_append_new(taint, json_pack("{s:o,s:s,s:I,s:I}", "certificate", view_json_hex(c->record, 32), "cause",
                                             "equivocation", "issuer_frozen_at", (json_int_t)c->issuer_frozen_at,
                                             "recycled_mg", (json_int_t)c->recycled));
  }
  for (size_t i = 0; i < r->n_claims; i++) {
    const struct verify_claim *c = &r->claims[i];
    json_array_append_new(claims, json_pack("{s:o,s:f,s:I,s:I,s:s,s:b,s:b}", "record", view_json_hex(c->c.id, 32),
                                            "share", (double)c->c.share_ppm / 1e6, "share_ppm", (json_int_t)c->c.share_ppm,
                                            "claimed_mg", (json_int_t)c->c.claimed, "scope", c->c.scope,
                                            "revoked", c->revoked, "holds", c->holds));
  }
  for (size_t i = 0; i < r->n_incidents; i++) {
    const struct verify_incident *in = &r->incidents[i];
    json_array_append_new(incidents, json_pack("{s:o,s:o,s:s,s:o,s:s,s:s}", "record", view_json_hex(in->id, 32), "author",
                                               view_json_hex(in->author, 32), "author_name", in->author_name, "about",
                                               view_json_hex(in->about, 32), "kind", in->kind, "text", in->text));
  }
  for (size_t i = 0; i < r->n_frozen; i++)
    json_array_append_new(frozen, json_pack("{s:o,s:s,s:I}", "member", view_json_hex(r->frozen[i].member, 32), "name",
                                            r->frozen[i].name, "frozen_at", (json_int_t)r->frozen[i].frozen_at));
  json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I}", "lot", ref, "code", l->code,
                        "owner", r->owner_name, "mass_mg", (json_int_t)l->mass, "available_mg", (json_int_t)l->mass_left);
  view_json_material(o, l->material);
  json_object_set_new(o, "recycled", json_pack("{s:I,s:I,s:f,s:I}", "post_consumer_mg", (json_int_t)r->verified_post,
                                                "pre_consumer_mg", (json_int_t)r->verified_pre, "share", share(verified, l->mass),
                                                "share_ppm", (json_int_t)qty_ppm(verified, l->mass)));
  json_object_set_new(o, "recorded", json_pack("{s:I,s:I}", "post_consumer_mg", (json_int_t)l->post, "pre_consumer_mg", (json_int_t)l->pre));
  json_object_set_new(o, "unclaimed", json_pack("{s:I,s:I,s:f}", "recorded_mg", (json_int_t)r->unclaimed, "verified_mg",
                                                 (json_int_t)r->unclaimed_verified, "share_of_available",
                                                 share(r->unclaimed_verified, l->mass_left)));
  json_object_set_new(o, "model", json_string(codec_model_name(l->model)));
  json_object_set_new(o, "origins", origins);
  json_object_set_new(o, "certificates", certs);
  json_object_set_new(o, "tainted_mg", json_integer((json_int_t)r->tainted));
  json_object_set_new(o, "tainted", json_pack("{s:I,s:I}", "revoked_mg", (json_int_t)r->tainted_revoked, "equivocation_mg",
                                               (json_int_t)r->tainted_equivocation));
  json_object_set_new(o, "taint", taint);
  json_object_set_new(o, "claims", claims);
  json_object_set_new(o, "incidents", incidents);
  if (r->has_extra_claim)
    json_object_set_new(o, "claim_checked", json_pack("{s:f,s:I,s:I,s:b}", "share", (double)r->extra_claim_ppm / 1e6,
                                                       "share_ppm", (json_int_t)r->extra_claim_ppm, "charge_mg",
                                                       (json_int_t)r->extra_claim_mass, "holds", r->extra_claim_holds));
  json_object_set_new(o, "equivocation",
                      r->flagged ? json_pack("{s:I,s:o,s:o}", "mass_mg", (json_int_t)r->equivocation_mass, "owner_frozen_at",
                                             r->owner_frozen_at ? json_integer((json_int_t)r->owner_frozen_at) : json_null(),
                                             "participants", frozen)
                                 : (json_decref(frozen), json_null()));
  json_object_set_new(o, "flagged", json_boolean(r->flagged));
  json_object_set_new(o, "claims_hold", json_boolean(r->claims_hold));
  json_object_set_new(o, "passed", json_boolean(r->passed));
  json_object_set_new(o, "ok", json_boolean(r->passed));
  json_object_set_new(o, "reasons", view_verify_reasons(r));
  return o;
}
