/*
 * EPCIS edges: exact numbers from JSON, GS1 keys and their canonical Digital Links, and
 * the event hash's value rules (the vectors themselves run in tests/cli/epcis_hash.sh).
 */
#include "test.h"
#include <errno.h>
#include "../../node/base/err.h"
#include "../../node/base/mem.h"
#include "../../node/epcis/ehash.h"
#include "../../node/epcis/ejson.h"
#include "../../node/epcis/gs1.h"
#include "../../node/epcis/evalue.h"
#include "../../node/epcis/import.h"
#include "../../node/ledger/store.h"
#include "../../crypto/sig.h"
#include "../../proto/codec.h"

static json_t *load(const char *text)
{
  json_t *j;
  char why[256];
  int rc = ejson_load(text, strlen(text), &j, why, sizeof why);
  if (rc) FAIL("ejson_load(%s): %s", text, why);
  return j;
}

TEST(epcis_ejson_keeps_numbers_exact)
{
  json_t *j = load("{\"a\": 12.345000000000000001, \"b\": -3e2, \"c\": \"12.5\", \"d\": [0, 1.5E+3], \"e\": true}");
  ASSERT_STR(ejson_number(json_object_get(j, "a")), "12.345000000000000001");
  ASSERT_STR(ejson_number(json_object_get(j, "b")), "-3e2");
  ASSERT(ejson_number(json_object_get(j, "c")) == NULL);         /* a string is no number */
  ASSERT_STR(ejson_string(json_object_get(j, "c")), "12.5");
  ASSERT(ejson_string(json_object_get(j, "b")) == NULL);
  ASSERT_STR(ejson_number(json_array_get(json_object_get(j, "d"), 1)), "1.5E+3");
  ASSERT(json_is_true(json_object_get(j, "e")));
  json_decref(j);
  /* refusals: JSON's grammar for numbers, the marker in a string, duplicates, a non-object */
  const char *bad[] = { "{\"a\": 01}", "{\"a\": 1.}", "{\"a\": .5}", "{\"a\": -}", "{\"a\": 1e}", "{\"a\": \"\\u0001x\"}",
                        "{\"a\": 1, \"a\": 2}", "[1]", "{\"a\": 1", "{\"a\": 1.5.2}" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char why[256] = "";
    json_t *x = NULL;
    if (ejson_load(bad[i], strlen(bad[i]), &x, why, sizeof why) != KK_ERR(USAGE)) FAIL("accepted %s", bad[i]);
    ASSERT(x == NULL);
    ASSERT(strstr(why, "line") || strstr(why, "object"));
  }
  /* an escaped backslash before u0001 is text, not the marker */
  j = load("{\"a\": \"\\\\u0001\"}");
  ASSERT_STR(ejson_string(json_object_get(j, "a")), "\\u0001");
  json_decref(j);
}

TEST(epcis_gs1_check_digits_and_keys)
{
  ASSERT_EQ(gs1_check_digit("401234500001", 12), '6');  /* GLN 4012345000016 */
  ASSERT(gs1_gln_valid("4012345000016"));
  ASSERT(!gs1_gln_valid("4012345000017"));
  ASSERT(!gs1_gln_valid("401234500001"));
  ASSERT(!gs1_gln_valid("40123450000160"));
  ASSERT(!gs1_gln_valid("401234500001A"));
  struct { const char *in, *out; } cases[] = {
    { "urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017" },
    { "urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908" },
    { "urn:epc:id:sgln:0614141.12345.0", "https://id.gs1.org/414/0614141123452" },
    { "urn:epc:id:sgln:0614141.12345.5", "https://id.gs1.org/414/0614141123452/254/5" },
    { "urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877" },
    { "urn:epc:idpat:sgtin:4012345.012345.*", "https://id.gs1.org/01/04012345123456" },
    { "urn:epc:id:pgln:4012345.00000", "https://id.gs1.org/417/4012345000009" },
    { "urn:epc:id:sgtin:0614141.107346.a!b", "https://id.gs1.org/01/10614141073464/21/a%21b" },
    { "https://example.com/gtin/9780345418913?x=1", "https://id.gs1.org/01/09780345418913" },
    { "http://id.gs1.org/01/09780345418913/10/L1/21/S1", "https://id.gs1.org/01/09780345418913/21/S1" },
    { "https://brand.example/01/09780345418913/22/CPV1/21/S1", "https://id.gs1.org/01/09780345418913/21/S1" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[GS1_DL_MAX];
    if (gs1_canonical_dl(cases[i].in, out, sizeof out) != 1) FAIL("%s: not converted", cases[i].in);
    if (strcmp(out, cases[i].out) != 0) FAIL("%s: %s, expected %s", cases[i].in, out, cases[i].out);
  }
  const char *kept[] = { "urn:epc:id:sgtin:0614141.107346", "urn:epc:id:sgtin:0614141.10734.1", "OBSERVE",
                         "http://transaction.acme.com/po/12345678", "urn:epcglobal:cbv:bt:0614141073467:1152",
                         "https://id.gs1.org/01/123", "geo:47.506694,11.104301", "" };
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
    char out[GS1_DL_MAX] = "untouched";
    if (gs1_canonical_dl(kept[i], out, sizeof out) != 0) FAIL("%s: converted to %s", kept[i], out);
    ASSERT_STR(out, "untouched");
  }
  char tiny[8];
  ASSERT_EQ(gs1_canonical_dl("urn:epc:id:pgln:4012345.00000", tiny, sizeof tiny), -1);
}

/* The pre-hash of a one-event document. */
static char *prehash(const char *event)
{
  char doc[4096];
  snprintf(doc, sizeof doc, "{\"@context\":[\"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\"],"
                            "\"epcisBody\":{\"eventList\":[%s]}}", event);
  json_t *j = load(doc);
  struct ehash_doc *d;
  char why[256];
  ASSERT_OK(ehash_open(j, &d, why, sizeof why));
  char *p;
  ASSERT_OK(ehash_prehash(d, 0, &p));
  ehash_close(d);
  json_decref(j);
  return p;
}

static void expect(const char *event, const char *want)
{
  char *p = prehash(event);
  if (!strstr(p, want)) FAIL("pre-hash of %s lacks %s: %s", event, want, p);
  mem_free(p);
}

TEST(epcis_hash_value_rules)
{
  /* times in UTC at milliseconds, half to even; offsets carried; a round-up carried into
   * the next second, minute, day, year */
  expect("{\"type\":\"ObjectEvent\",\"eventTime\":\"2026-12-01T09:00:00+09:00\"}", "eventTime=2026-12-01T00:00:00.000Z");
  expect("{\"type\":\"ObjectEvent\",\"eventTime\":\"2026-02-28T23:30:00.0005-01:00\"}", "eventTime=2026-03-01T00:30:00.000Z");
  expect("{\"type\":\"ObjectEvent\",\"eventTime\":\"2026-01-01T00:00:00.0015Z\"}", "eventTime=2026-01-01T00:00:00.002Z");
  expect("{\"type\":\"ObjectEvent\",\"eventTime\":\"2026-12-31T23:59:59.9996Z\"}", "eventTime=2027-01-01T00:00:00.000Z");
  expect("{\"type\":\"ObjectEvent\",\"eventTime\":\"2024-02-29T12:00:00.1234567+05:30\"}", "eventTime=2024-02-29T06:30:00.123Z");
  expect("{\"type\":\"ObjectEvent\",\"eventTime\":\"yesterday\"}", "eventTime=yesterday");
  /* numbers in one spelling, strings that look like numbers too (as the reference does) */
  expect("{\"type\":\"ObjectEvent\",\"quantityList\":[{\"epcClass\":\"x\",\"quantity\":452.0}]}", "quantity=452");
  expect("{\"type\":\"ObjectEvent\",\"quantityList\":[{\"epcClass\":\"x\",\"quantity\":12.10}]}", "quantity=12.1");
  expect("{\"type\":\"ObjectEvent\",\"quantityList\":[{\"epcClass\":\"x\",\"quantity\":1e3}]}", "quantity=1000");
  expect("{\"type\":\"ObjectEvent\",\"quantityList\":[{\"epcClass\":\"x\",\"quantity\":\"0.000010\"}]}", "quantity=1e-05");
  /* bare CBV terms and CBV 1.x URNs as CBV 2.0 IRIs; booleans as true/false */
  expect("{\"type\":\"ObjectEvent\",\"bizStep\":\"urn:epcglobal:cbv:bizstep:receiving\"}", "bizStep=https://ref.gs1.org/cbv/BizStep-receiving");
  expect("{\"type\":\"ObjectEvent\",\"disposition\":\"in_transit\"}", "disposition=https://ref.gs1.org/cbv/Disp-in_transit");
  expect("{\"type\":\"ObjectEvent\",\"sensorElementList\":[{\"sensorReport\":[{\"type\":\"Temperature\",\"booleanValue\":true}]}]}",
         "sensorReporttype=https://gs1.org/voc/TemperaturebooleanValue=true");
  /* recordTime, eventID, errorDeclaration are not part of the event */
  char *a = prehash("{\"type\":\"ObjectEvent\",\"action\":\"ADD\"}");
  char *b = prehash("{\"type\":\"ObjectEvent\",\"action\":\"ADD\",\"recordTime\":\"2026-01-01T00:00:00Z\",\"eventID\":\"urn:uuid:1\","
                    "\"errorDeclaration\":{\"declarationTime\":\"2026-01-02T00:00:00Z\"}}");
  ASSERT_STR(a, b);
  mem_free(a);
  mem_free(b);
  char ni[EHASH_NI_LEN];
  ehash_ni("eventType=ObjectEvent", ni);
  ASSERT(strncmp(ni, "ni:///sha-256;", 14) == 0 && strlen(ni) == 14 + 64 + 11 && strcmp(ni + 78, "?ver=CBV2.0") == 0);
}

/* Every allocation of hashing a document's events made to fail in turn (all later ones
 * too, then only that one): a clean -ENOMEM or the same pre-hashes, nothing leaked.
 * Reading the document is stepped through too; there a failure inside jansson's lexer
 * may be reported as a syntax error (jansson does not tell the two apart), never as
 * success. */
TEST(epcis_hash_allocation_failures)
{
  const char *doc =
    "{\"@context\":[\"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\",{\"ex\":\"https://ex.example/\"}],"
    "\"epcisBody\":{\"eventList\":[{\"type\":\"ObjectEvent\",\"eventTime\":\"2026-12-01T09:00:00+09:00\",\"bizStep\":\"shipping\","
    "\"epcList\":[\"urn:epc:id:sgtin:0614141.107346.2017\",\"urn:epc:id:sgtin:0614141.107346.2018\"],\"readPoint\":{\"id\":"
    "\"urn:epc:id:sgln:0614141.07346.1234\",\"ex:bay\":\"3\"},\"bizTransactionList\":[{\"type\":\"po\",\"bizTransaction\":\"x\"}],"
    "\"childEPCs\":[\"urn:epc:id:sscc:0614141.1234567890\"],\"quantityList\":[{\"epcClass\":\"gs1:x\",\"quantity\":1.50}],"
    "\"sensorElementList\":[{\"sensorReport\":[{\"type\":\"gs1:Temperature\",\"value\":26}]}],\"ilmd\":{\"ex:lot\":\"L1\"},"
    "\"ex:ext\":{\"ex:inner\":[\"b\",\"a\"]}},{\"type\":\"TransformationEvent\",\"inputEPCList\":[\"urn:epc:id:giai:4012345.A\"]}]}}";
  long live = mem_live();
  char why[256];
  int steps = 0;
  for (long n = 0;; n++, steps++) {
    json_t *j = NULL;
    mem_fail_at(n);
    int rc = ejson_load(doc, strlen(doc), &j, why, sizeof why);
    int injected = mem_failed();
    mem_fail_at(-1);
    json_decref(j);
    ASSERT_EQ(mem_live(), live);
    if (!injected) { ASSERT_OK(rc); break; }
    ASSERT(rc == -ENOMEM || rc == KK_ERR(USAGE));
  }
  json_t *j = load(doc);
  char *want[2] = { NULL, NULL };
  for (int once = 0; once <= 1; once++) {
    long live_doc = mem_live(); /* the document, and the first run's pre-hashes */
    for (long n = 0;; n++) {
      if (once) mem_fail_once(n);
      else mem_fail_at(n);
      struct ehash_doc *d = NULL;
      char *got[2] = { NULL, NULL };
      int rc = ehash_open(j, &d, why, sizeof why);
      for (size_t i = 0; !rc && i < 2; i++) rc = ehash_prehash(d, i, &got[i]);
      int injected = mem_failed();
      mem_fail_at(-1);
      ehash_close(d);
      if (!injected) {
        ASSERT_OK(rc);
        for (int i = 0; i < 2; i++) {
          if (!want[i]) want[i] = got[i];
          else { ASSERT_STR(got[i], want[i]); mem_free(got[i]); }
        }
        break;
      }
      if (rc == 0) { /* a failure recovered from must not change the result */
        for (int i = 0; i < 2; i++)
          if (want[i]) ASSERT_STR(got[i], want[i]);
      } else if (rc != -ENOMEM) FAIL("step %ld (once %d): %s", n, once, kk_strerror(rc));
      for (int i = 0; i < 2; i++) mem_free(got[i]);
      if (mem_live() != live_doc) FAIL("step %ld (once %d, rc %d): %ld blocks leaked", n, once, rc, mem_live() - live_doc);
      steps++;
    }
  }
  mem_free(want[0]);
  mem_free(want[1]);
  json_decref(j);
  ASSERT_EQ(mem_live(), live);
  ASSERT(steps > 50);
  printf("    epcis hash: %d allocation failures stepped through\n", steps);
}

TEST(epcis_quantities_are_exact)
{
  struct { const char *q, *uom; uint64_t mg; } ok[] = {
    { "20", "TNE", 20000000000ull }, { "312.4", "KGM", 312400000 }, { "0.5", "GRM", 500 }, { "7", "MGM", 7 },
    { "100", "LBR", 45359237 }, { "1e3", "KGM", 1000000000 }, { "2.5E-3", "KGM", 2500 }, { "0", "KGM", 0 },
    { "18446744073709.551615", "KGM", UINT64_MAX }, { "12.345000", "KGM", 12345000 },
  };
  char why[200];
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    uint64_t mg = 1;
    if (epcis_quantity_mg(ok[i].q, ok[i].uom, &mg, why, sizeof why)) FAIL("%s %s: %s", ok[i].q, ok[i].uom, why);
    ASSERT_U64(mg, ok[i].mg);
  }
  struct { const char *q, *uom; int rc; const char *says; } bad[] = {
    { "1", "LBR", KK_ERR(QUANTITY), "whole number of milligrams" }, { "0.0001", "GRM", KK_ERR(QUANTITY), "whole number" },
    { "1", "STN", KK_ERR(QUANTITY), "unknown unit" }, { "1", "H87", KK_ERR(QUANTITY), "master data" },
    { "1", "", KK_ERR(QUANTITY), "master data" }, { "-1", "KGM", KK_ERR(QUANTITY), "negative" },
    { ".", "KGM", KK_ERR(QUANTITY), "not a decimal" }, { "abc", "KGM", KK_ERR(QUANTITY), "not a decimal" },
    { "18446744073709.551616", "KGM", KK_ERR(OVERFLOW), NULL }, { "1e30", "KGM", KK_ERR(OVERFLOW), NULL },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t mg = 7;
    why[0] = 0;
    int rc = epcis_quantity_mg(bad[i].q, bad[i].uom, &mg, why, sizeof why);
    if (rc != bad[i].rc) FAIL("%s %s: %d, expected %d", bad[i].q, bad[i].uom, rc, bad[i].rc);
    if (bad[i].says && !strstr(why, bad[i].says)) FAIL("%s %s: \"%s\" lacks \"%s\"", bad[i].q, bad[i].uom, why, bad[i].says);
    ASSERT_U64(mg, 7);
  }
}

/* Stands in for signing in the import's plan: the id is the hash of the body. */
static int plan_sign(void *arg, struct kk_body *b, uint8_t id[32])
{
  uint8_t *body;
  size_t len;
  (void)arg;
  b->version = CODEC_VERSION;
  b->has_network = 1;
  memset(b->network, 1, 32);
  memset(b->author, 2, 32);
  b->seq = 1;
  int rc = codec_body_encode(b, &body, &len);
  if (rc) return rc;
  sig_sha256(id, body, len);
  mem_free(body);
  return 0;
}

/* Every allocation of an import's plan made to fail in turn, against a store: a clean
 * -ENOMEM, or the same events — never an event refused because memory ran out. */
TEST(epcis_import_allocation_failures)
{
  const char *doc =
    "{\"@context\":[\"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\",{\"kiroku\":\"urn:kiroku:epcis:\"}],"
    "\"epcisBody\":{\"eventList\":[{\"type\":\"ObjectEvent\",\"eventTime\":\"2026-12-01T00:00:00Z\",\"action\":\"ADD\","
    "\"bizStep\":\"commissioning\",\"quantityList\":[{\"epcClass\":\"urn:epc:class:lgtin:4512345.012345.L1\",\"quantity\":2,"
    "\"uom\":\"TNE\"}],\"ilmd\":{\"kiroku:material\":\"PET/flake\",\"kiroku:postConsumerMass\":2000,"
    "\"cbvmda:countryOfOrigin\":\"JP\",\"kiroku:certificate\":\"C-1\"}},{\"type\":\"TransformationEvent\","
    "\"inputQuantityList\":[{\"epcClass\":\"https://id.gs1.org/01/04512345123451/10/L1\",\"quantity\":2000,\"uom\":\"KGM\"},"
    "{\"epcClass\":\"urn:kiroku:unledgered:u\",\"quantity\":1,\"uom\":\"TNE\"}],\"outputQuantityList\":[{\"epcClass\":\"OUT\","
    "\"quantity\":3,\"uom\":\"TNE\"}],\"ilmd\":{\"kiroku:model\":\"controlled-blending\",\"kiroku:material\":\"PET\","
    "\"kiroku:unledgered\":[{\"kiroku:input\":\"urn:kiroku:unledgered:u\",\"kiroku:material\":\"PET\","
    "\"cbvmda:countryOfOrigin\":\"DE\"}]}},{\"type\":\"ObjectEvent\",\"action\":\"OBSERVE\",\"bizStep\":\"shipping\","
    "\"quantityList\":[{\"epcClass\":\"OUT\",\"quantity\":3,\"uom\":\"TNE\"}]},{\"type\":\"AggregationEvent\"}]}}";
  struct store *s;
  ASSERT_OK(store_open_scratch(&s, test_tmpdir()));
  json_t *j = load(doc);
  uint8_t me[32] = { 2 };
  struct epcis_import want;
  char why[320];
  struct store_txn *txn;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(epcis_import_plan(txn, s, me, j, NULL, plan_sign, NULL, &want, why, sizeof why));
  store_txn_abort(txn);
  /* the issue and the transform map; the shipment names no destination; the rest has no record */
  ASSERT_EQ(want.n, 4);
  ASSERT_EQ(want.ev[0].what, EI_RECORD);
  ASSERT_EQ(want.ev[1].what, EI_RECORD);
  ASSERT_EQ(want.ev[2].what, EI_REFUSED);
  ASSERT_EQ(want.ev[3].what, EI_UNMAPPED);
  long live = mem_live();
  int steps = 0;
  for (int once = 0; once <= 1; once++)
    for (long n = 0;; n++, steps++) {
      struct epcis_import got;
      ASSERT_OK(store_read(s, &txn));
      if (once) mem_fail_once(n);
      else mem_fail_at(n);
      int rc = epcis_import_plan(txn, s, me, j, NULL, plan_sign, NULL, &got, why, sizeof why);
      int injected = mem_failed();
      mem_fail_at(-1);
      store_txn_abort(txn);
      if (rc) ASSERT_EQ(rc, -ENOMEM);
      else {
        ASSERT_EQ(got.n, want.n);
        for (size_t i = 0; i < got.n; i++) {
          if (got.ev[i].what != want.ev[i].what) FAIL("step %ld (once %d): event %zu is %d, not %d (%s)", n, once, i, got.ev[i].what, want.ev[i].what, got.ev[i].why);
          if (got.ev[i].what == EI_RECORD) ASSERT(memcmp(got.ev[i].id, want.ev[i].id, 32) == 0);
        }
        epcis_import_free(&got);
      }
      ASSERT_EQ(mem_live(), live);
      if (!injected) break;
    }
  epcis_import_free(&want);
  json_decref(j);
  store_close(s);
  ASSERT(steps > 50);
  printf("    epcis import: %d allocation failures stepped through\n", steps);
}
