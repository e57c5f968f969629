/*
 * admit, suspend, members — the registry's commands and the member list.
 */
#include "cli.h"
#include "../node/ops/ops.h"
#include "../node/epcis/gs1.h"
#include "../node/ledger/verify.h"
#include "../node/base/mem.h"
#include "../crypto/sig.h"
#include "../node/base/err.h"
#include "../node/ledger/rules.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; uint32_t bit; } roles[] = {
  { "recycler", KK_ROLE_RECYCLER }, { "processor", KK_ROLE_PROCESSOR },
  { "manufacturer", KK_ROLE_MANUFACTURER }, { "certifier", KK_ROLE_CERTIFIER },
  { "auditor", KK_ROLE_AUDITOR }, { "registry", KK_ROLE_REGISTRY },
};
#define NROLES (sizeof roles / sizeof roles[0])

static int parse_roles(const char *s, uint32_t *out)
{
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  *out = 0;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    size_t i;
    for (i = 0; i + 1 < NROLES; i++)   /* registry cannot be granted */
      if (strcmp(tok, roles[i].name) == 0) break;
    if (i + 1 >= NROLES) return -1;
    *out |= roles[i].bit;
  }
  return *out ? 0 : -1;
}

static int copy_text(char *dst, size_t cap, const char *src, const char *what)
{
  if (strlen(src) > cap) return cli_usage("%s is longer than %zu bytes", what, cap);
  strcpy(dst, src);
  return 0;
}

/* 0 when gln is a GS1 GLN (13 digits, the last its check digit); else CLI_USAGE with
 * what is wrong (and the check digit it should have) in why. */
static int check_gln(const char *gln, char *why, size_t n)
{
  size_t len = strlen(gln), digits = strspn(gln, "0123456789");
  if (len != 13 || digits != 13) {
    snprintf(why, n, "a GLN is 13 digits (this has %zu%s)", len, digits == len ? "" : ", not all digits");
    return CLI_USAGE;
  }
  char want = gs1_check_digit(gln, 12);
  if (gln[12] != want) {
    snprintf(why, n, "the check digit is wrong: %.12s%c would be a GLN", gln, want);
    return CLI_USAGE;
  }
  return 0;
}

int cmd_admit(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = {
    { "key", required_argument, 0, 'k' }, { "name", required_argument, 0, 'n' },
    { "role", required_argument, 0, 'r' }, { "country", required_argument, 0, 'c' },
    { "facility", required_argument, 0, 'f' }, { "gln", required_argument, 0, 'g' },
    { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *key = NULL, *name = NULL, *role = NULL, *country = "", *gln = "";
  struct kk_body *b = mem_calloc(1, sizeof *b);
  int o, rc;
  if (!b) return CLI_INTERNAL;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'k': key = optarg; break;
    case 'n': name = optarg; break;
    case 'r': role = optarg; break;
    case 'c': country = optarg; break;
    case 'g': gln = optarg; break;
    case 'f':
      if (b->u.admit.n_facilities == CODEC_FACILITIES_MAX) { mem_free(b); return cli_usage("at most %d facilities", CODEC_FACILITIES_MAX); }
      if ((rc = copy_text(b->u.admit.facilities[b->u.admit.n_facilities++], CODEC_NAME_MAX, optarg, "facility"))) { mem_free(b); return rc; }
      break;
    case 'j': break;
    default: mem_free(b); return cli_usage("usage: kiroku admit --key HEX --name NAME --role R[,R...] [--country CC] [--gln GLN] [--facility F]...");
    }
  }
  b->kind = KK_PL_ADMIT;
  int missing = cli_require("usage: kiroku admit --key HEX --name NAME --role R[,R...] [--country CC] [--gln GLN] [--facility F]...",
                            argc, argv, optind, "--key HEX", key != NULL, "--name NAME", name != NULL, "--role R[,R...]",
                            role != NULL, NULL);
  if (missing) { mem_free(b); return missing; }
  if (strlen(key) != 64 || sig_unhex(b->u.admit.member, 32, key)) { mem_free(b); return cli_usage("--key must be a 64-digit hex public key (from `kiroku keygen`)"); }
  if (parse_roles(role, &b->u.admit.roles)) { mem_free(b); return cli_usage("--role: one or more of recycler,processor,manufacturer,certifier,auditor"); }
  if ((rc = copy_text(b->u.admit.name, CODEC_NAME_MAX, name, "--name"))) { mem_free(b); return rc; }
  char why[300];
  if (strlen(country) != 0 && op_check_country(country, why, sizeof why)) {
    mem_free(b);
    int rc = cli_fail(KK_ERR(COUNTRY), "--country %s", country);
    fprintf(stderr, "  %s\n", why);
    return rc;
  }
  strcpy(b->u.admit.country, country);
  if (*gln && (rc = check_gln(gln, why, sizeof why))) {
    mem_free(b);
    return cli_usage("--gln %s: %s", gln, why);
  }
  strcpy(b->u.admit.gln, gln);
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) { mem_free(b); return rc; }
  if (memcmp(c->pk, c->registry, 32) != 0) { mem_free(b); return cli_fail(KK_ERR(NOT_REGISTRY), "admit"); }
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn)) == 0) {
    uint8_t other[32];
    if (cli_resolve_member(c, txn, name, other) == 0) rc = KK_ERR(EXISTS);
    store_txn_abort(txn);
    if (rc) { mem_free(b); return cli_fail(rc, "a member named '%s'", name); }
  }
  uint8_t id[32];
  rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_refused(c, rc, "admit %s", name);
  char hex[65];
  view_hex(hex, id);
  if (c->json) cli_print_json(json_pack("{s:s,s:s}", "record", hex, "member", key));
  else printf("admitted %s (%s) as %s: record %.12s\n", name, key, role, hex);
  return 0;
}

#define SUCCEED_USAGE "usage: kiroku succeed --member NAME|HEX --key HEX [--from-seq N] [--name NAME] [--role R[,R...]] [--country CC] [--facility F]..."

/* An Admit naming `succeeds`: the new key takes the member's place (docs/rules.md,
 * "Succession"). What is not given is the old member's: its name, roles, country and
 * facilities. The point defaults to where its feed is frozen, else to what this node
 * holds of it (as suspend's). */
int cmd_succeed(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = {
    { "member", required_argument, 0, 'm' }, { "key", required_argument, 0, 'k' },
    { "from-seq", required_argument, 0, 's' }, { "name", required_argument, 0, 'n' },
    { "role", required_argument, 0, 'r' }, { "country", required_argument, 0, 'c' },
    { "facility", required_argument, 0, 'f' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *member = NULL, *key = NULL, *from = NULL, *name = NULL, *role = NULL, *country = NULL;
  const char *facilities[CODEC_FACILITIES_MAX];
  size_t n_fac = 0;
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'm': member = optarg; break;
    case 'k': key = optarg; break;
    case 's': from = optarg; break;
    case 'n': name = optarg; break;
    case 'r': role = optarg; break;
    case 'c': country = optarg; break;
    case 'f':
      if (n_fac == CODEC_FACILITIES_MAX) return cli_usage("at most %d facilities", CODEC_FACILITIES_MAX);
      facilities[n_fac++] = optarg;
      break;
    case 'j': break;
    default: return cli_usage(SUCCEED_USAGE);
    }
  }
  int missing = cli_require(SUCCEED_USAGE, argc, argv, optind, "--member NAME|HEX", member != NULL, "--key HEX", key != NULL, NULL);
  if (missing) return missing;
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return CLI_INTERNAL;
  struct kk_admit *a = &b->u.admit;
  b->kind = KK_PL_ADMIT;
  a->has_succeeds = 1;
  rc = 0;
  if (strlen(key) != 64 || sig_unhex(a->member, 32, key)) rc = cli_usage("--key must be a 64-digit hex public key (from `kiroku keygen` in the member's new data directory)");
  else if (role && parse_roles(role, &a->roles)) rc = cli_usage("--role: one or more of recycler,processor,manufacturer,certifier,auditor");
  else if (name) rc = copy_text(a->name, CODEC_NAME_MAX, name, "--name");
  for (size_t i = 0; i < n_fac && !rc; i++) rc = copy_text(a->facilities[i], CODEC_NAME_MAX, facilities[i], "--facility");
  a->n_facilities = n_fac;
  if (!rc && from) {
    char *end;
    unsigned long long x = strtoull(from, &end, 10);
    if (!*from || *end || x == 0) rc = cli_usage("--from-seq must be a positive integer");
    a->from_seq = x;
  }
  char why[300];
  if (!rc && country && op_check_country(country, why, sizeof why)) {
    rc = cli_fail(KK_ERR(COUNTRY), "--country %s", country);
    fprintf(stderr, "  %s\n", why);
  }
  if (!rc && country) strcpy(a->country, country);
  if (!rc) rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK);
  if (!rc && memcmp(c->pk, c->registry, 32) != 0) rc = cli_fail(KK_ERR(NOT_REGISTRY), "succeed");
  if (rc) { mem_free(b); return rc; }
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) { mem_free(b); return cli_fail(rc, "store"); }
  struct member old, other;
  struct store_head h;
  uint64_t frozen = 0, next = 1;
  const char *what = "--member";
  if ((rc = cli_resolve_member(c, txn, member, a->succeeds)) == 0 && (rc = rules_member_get(txn, c->s, a->succeeds, &old)) == STORE_ABSENT)
    rc = KK_ERR(UNKNOWN_MEMBER);
  if (rc == 0 && old.succeeded) rc = KK_ERR(SUCCEEDED);
  if (rc == 0 && (old.roles & KK_ROLE_REGISTRY)) rc = KK_ERR(UNKNOWN_MEMBER);
  if (rc == 0 && (rc = rules_member_get(txn, c->s, a->member, &other)) != STORE_ABSENT) {
    what = "--key";
    if (rc == 0) rc = KK_ERR(ALREADY_MEMBER);
  } else if (rc == STORE_ABSENT) rc = 0;
  if (rc == 0) rc = store_frozen_at(txn, c->s, a->succeeds, &frozen);
  if (rc == 0 && store_head_get(txn, c->s, a->succeeds, &h) == 0) next = h.seq + 1;
  if (rc == 0 && !a->n_facilities) {
    /* The old member's facilities, from its Admit. */
    struct kk_body *adm = NULL;
    if (verify_load_body(txn, c->s, old.admitted_by, &adm) == 0 && adm->kind == KK_PL_ADMIT) {
      a->n_facilities = adm->u.admit.n_facilities;
      memcpy(a->facilities, adm->u.admit.facilities, sizeof a->facilities);
    }
    mem_free(adm);
  }
  store_txn_abort(txn);
  if (rc) { mem_free(b); return cli_fail(rc, "%s %s", what, what[2] == 'm' ? member : key); }
  if (!name) memcpy(a->name, old.name, sizeof a->name);
  if (!role) a->roles = old.roles;
  if (!country) memcpy(a->country, old.country, 3);
  if (!from) a->from_seq = frozen ? frozen : next;
  uint8_t id[32];
  uint64_t fs = a->from_seq;
  char nm[CODEC_NAME_MAX + 1];
  memcpy(nm, a->name, sizeof nm);
  rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_refused(c, rc, "succeed %s", member);
  char hex[65];
  view_hex(hex, id);
  if (c->json) cli_print_json(json_pack("{s:s,s:s,s:s,s:I}", "record", hex, "member", key, "name", nm, "from_seq", (json_int_t)fs));
  else
    printf("%s (%s) succeeds %s from seq %llu of its feed: record %.12s\n"
           "  its lots pass to the new key once this node holds that feed up to seq %llu\n",
           nm, key, member, (unsigned long long)fs, hex, (unsigned long long)(fs - 1));
  return 0;
}

int cmd_suspend(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = {
    { "member", required_argument, 0, 'm' }, { "reason", required_argument, 0, 'r' },
    { "from-seq", required_argument, 0, 'f' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *member = NULL, *reason = NULL, *from = NULL;
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'm') member = optarg;
    else if (o == 'r') reason = optarg;
    else if (o == 'f') from = optarg;
    else if (o != 'j') return cli_usage("usage: kiroku suspend --member NAME|HEX --reason TEXT [--from-seq N]");
  }
  int missing = cli_require("usage: kiroku suspend --member NAME|HEX --reason TEXT [--from-seq N]", argc, argv, optind,
                            "--member NAME|HEX", member != NULL, "--reason TEXT", reason != NULL, NULL);
  if (missing) return missing;
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) return rc;
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return CLI_INTERNAL;
  b->kind = KK_PL_SUSPEND;
  if ((rc = copy_text(b->u.suspend.reason, CODEC_TEXT_MAX, reason, "--reason"))) { mem_free(b); return rc; }
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) { mem_free(b); return cli_fail(rc, "store"); }
  rc = cli_resolve_member(c, txn, member, b->u.suspend.member);
  struct store_head h;
  uint64_t next = 1;
  if (rc == 0 && store_head_get(txn, c->s, b->u.suspend.member, &h) == 0) next = h.seq + 1;
  store_txn_abort(txn);
  if (rc) { mem_free(b); return cli_fail(rc, "--member %s", member); }
  /* Default: everything the member signs after what this node has seen of its feed. */
  b->u.suspend.from_seq = next;
  if (from) {
    char *end;
    unsigned long long x = strtoull(from, &end, 10);
    if (!*from || *end || x == 0) { mem_free(b); return cli_usage("--from-seq must be a positive integer"); }
    b->u.suspend.from_seq = x;
  }
  uint8_t id[32];
  uint64_t fs = b->u.suspend.from_seq;
  rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_refused(c, rc, "suspend %s", member);
  char hex[65];
  view_hex(hex, id);
  if (c->json) cli_print_json(json_pack("{s:s,s:I}", "record", hex, "from_seq", (json_int_t)fs));
  else printf("suspended %s from seq %llu of its feed: record %.12s\n", member, (unsigned long long)fs, hex);
  return 0;
}

/* One member of view_members_json's list, as text. */
static void member_print(const json_t *o)
{
  const char *hex = json_string_value(json_object_get(o, "key")), *country = json_string_value(json_object_get(o, "country"));
  json_t *susp = json_object_get(o, "suspended_from"), *by = json_object_get(o, "succeeded_by");
  json_t *succeeds = json_object_get(o, "succeeds"), *gln = json_object_get(o, "gln");
  printf("%-16s %-28s %-2s  %.16s…  %lld records%s\n", json_string_value(json_object_get(o, "name")),
         json_string_value(json_object_get(o, "roles")), country[0] ? country : "--", hex,
         (long long)json_integer_value(json_object_get(o, "records")), json_is_integer(susp) ? "  SUSPENDED" : "");
  if (json_is_integer(susp)) printf("%16s suspended from seq %lld\n", "", (long long)json_integer_value(susp));
  if (json_is_string(by))
    printf("%16s succeeded by %.16s… from seq %lld\n", "", json_string_value(by),
           (long long)json_integer_value(json_object_get(o, "succession_from")));
  if (json_is_string(succeeds))
    printf("%16s succeeds %.16s…%s\n", "", json_string_value(succeeds),
           json_is_true(json_object_get(o, "inherited")) ? "" : " (its records wait until that feed is held up to the succession point)");
  size_t f;
  json_t *x;
  json_array_foreach(json_object_get(o, "facilities"), f, x) printf("%16s facility %s\n", "", json_string_value(x));
  if (json_is_string(gln)) printf("%16s GLN %s\n", "", json_string_value(gln));
}

int cmd_members(struct cli *c, int argc, char **argv)
{
  (void)argv;
  if (argc > 2 || (argc == 2 && !c->json)) return cli_usage("usage: kiroku members [--json]");
  int rc = cli_open(c, CLI_NETWORK);
  if (rc) return rc;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  json_t *arr = NULL;
  rc = view_members_json(txn, c->s, &arr);
  store_txn_abort(txn);
  if (rc) return cli_fail(rc, "members");
  if (c->json) { cli_print_json(arr); return 0; }
  size_t i;
  json_t *o;
  json_array_foreach(arr, i, o) member_print(o);
  json_decref(arr);
  return 0;
}
