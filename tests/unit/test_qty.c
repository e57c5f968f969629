/*
 * Quantities: exact units, refusal of anything inexact, overflow, formatting.
 */
#include "test.h"
#include "../../node/base/err.h"
#include "../../node/ledger/qty.h"

TEST(qty_parse_units)
{
  uint64_t v;
  ASSERT_OK(qty_parse_mass("312.4kg", &v)); ASSERT_U64(v, 312400000ull);
  ASSERT_OK(qty_parse_mass("20t", &v)); ASSERT_U64(v, 20000000000ull);
  ASSERT_OK(qty_parse_mass("47.5 t", &v)); ASSERT_U64(v, 47500000000ull);
  ASSERT_OK(qty_parse_mass("1g", &v)); ASSERT_U64(v, 1000);
  ASSERT_OK(qty_parse_mass("1.5g", &v)); ASSERT_U64(v, 1500);
  ASSERT_OK(qty_parse_mass("7mg", &v)); ASSERT_U64(v, 7);
  ASSERT_OK(qty_parse_mass("0mg", &v)); ASSERT_U64(v, 0);
  ASSERT_OK(qty_parse_mass("0.000000001t", &v)); ASSERT_U64(v, 1);
  ASSERT_OK(qty_parse_mass("1.000kg", &v)); ASSERT_U64(v, 1000000);
  ASSERT_OK(qty_parse_mass("18446744073709551615mg", &v)); ASSERT_U64(v, UINT64_MAX);
}

TEST(qty_parse_refusals)
{
  uint64_t v;
  ASSERT_EQ(qty_parse_mass("20", &v), KK_ERR(QUANTITY));        /* no unit */
  ASSERT_EQ(qty_parse_mass("1.5mg", &v), KK_ERR(QUANTITY));     /* finer than 1 mg */
  ASSERT_EQ(qty_parse_mass("0.0000000001t", &v), KK_ERR(QUANTITY));
  ASSERT_EQ(qty_parse_mass("-1kg", &v), KK_ERR(QUANTITY));
  ASSERT_EQ(qty_parse_mass("kg", &v), KK_ERR(QUANTITY));
  ASSERT_EQ(qty_parse_mass("1,5kg", &v), KK_ERR(QUANTITY));
  ASSERT_EQ(qty_parse_mass("1e3kg", &v), KK_ERR(QUANTITY));
  ASSERT_EQ(qty_parse_mass("5 lb", &v), KK_ERR(QUANTITY));
  ASSERT_EQ(qty_parse_mass("18446744073709551616mg", &v), KK_ERR(OVERFLOW));
  ASSERT_EQ(qty_parse_mass("18446744073709552t", &v), KK_ERR(OVERFLOW));
  ASSERT_EQ(qty_parse_mass("", &v), KK_ERR(QUANTITY));
}

TEST(qty_shares)
{
  uint32_t p;
  ASSERT_OK(qty_parse_share("40%", &p)); ASSERT_EQ(p, 400000);
  ASSERT_OK(qty_parse_share("100", &p)); ASSERT_EQ(p, 1000000);
  ASSERT_OK(qty_parse_share("33.3333 %", &p)); ASSERT_EQ(p, 333333);
  ASSERT_OK(qty_parse_share("0.0001%", &p)); ASSERT_EQ(p, 1);
  ASSERT_EQ(qty_parse_share("0%", &p), KK_ERR(SHARE));
  ASSERT_EQ(qty_parse_share("100.0001%", &p), KK_ERR(SHARE));
  ASSERT_EQ(qty_parse_share("33.33333%", &p), KK_ERR(SHARE));
  ASSERT_EQ(qty_parse_share("abc", &p), KK_ERR(SHARE));
}

TEST(qty_format)
{
  char b[QTY_FMT];
  ASSERT_STR(qty_format_mass(b, 47500000000ull), "47.5 t");
  ASSERT_STR(qty_format_mass(b, 312400000ull), "312.4 kg");
  ASSERT_STR(qty_format_mass(b, 0), "0 mg");
  ASSERT_STR(qty_format_mass(b, 1001), "1.001 g");
  ASSERT_STR(qty_format_mass(b, UINT64_MAX), "18446744073.709551615 t");
  ASSERT_STR(qty_format_ppm(b, 400000), "40 %");
  ASSERT_STR(qty_format_ppm(b, 333333), "33.3333 %");
  ASSERT_U64(qty_ppm(19, 47), 404255);
  ASSERT_U64(qty_ppm(1, 0), 0);
  ASSERT_U64(qty_ppm(UINT64_MAX, UINT64_MAX), 1000000);
}
