/*
 * Signed notes: the golang.org/x/mod/sumdb/note known answer (Ed25519 is deterministic,
 * so our signature must match byte for byte), checkpoints and cosignatures.
 */
#include "test.h"
#include "../../crypto/note.h"

#include <sodium.h>

/* From golang.org/x/mod/sumdb/note: the PeterNeumann key pair and its signed note. */
#define PN_SKEY_B64 "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz" /* 0x01 || seed */
#define PN_VKEY_B64 "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW" /* 0x01 || public key */
#define PN_TEXT "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
#define PN_NOTE PN_TEXT "\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

static void pn_keys(uint8_t pk[32], uint8_t sk[64])
{
  uint8_t raw[64], vk[64];
  size_t n;
  ASSERT_OK(sodium_base642bin(raw, sizeof raw, PN_SKEY_B64, strlen(PN_SKEY_B64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL));
  ASSERT_EQ(n, 33);
  ASSERT_EQ(raw[0], 1);
  crypto_sign_seed_keypair(pk, sk, raw + 1);
  ASSERT_OK(sodium_base642bin(vk, sizeof vk, PN_VKEY_B64, strlen(PN_VKEY_B64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL));
  ASSERT_EQ(n, 33);
  ASSERT(memcmp(vk + 1, pk, 32) == 0);
}

TEST(note_known_answer)
{
  uint8_t pk[32], sk[64];
  pn_keys(pk, sk);
  char *note = note_sign(PN_TEXT, "PeterNeumann", sk, pk);
  ASSERT(note);
  ASSERT_STR(note, PN_NOTE);
  free(note);
  ASSERT_OK(note_verify(PN_NOTE, strlen(PN_NOTE), "PeterNeumann", pk));
  /* one changed letter, another name, another key */
  char bad[sizeof PN_NOTE];
  memcpy(bad, PN_NOTE, sizeof PN_NOTE);
  bad[5] = 'T';
  ASSERT(note_verify(bad, strlen(bad), "PeterNeumann", pk) != 0);
  ASSERT(note_verify(PN_NOTE, strlen(PN_NOTE), "EnochRoot", pk) != 0);
  uint8_t pk2[32], sk2[64];
  crypto_sign_keypair(pk2, sk2);
  ASSERT(note_verify(PN_NOTE, strlen(PN_NOTE), "PeterNeumann", pk2) != 0);
  /* malformed notes */
  ASSERT(note_verify(PN_TEXT, strlen(PN_TEXT), "PeterNeumann", pk) != 0);
  ASSERT(note_sign("no newline", "PeterNeumann", sk, pk) == NULL);
  ASSERT(note_sign(PN_TEXT, "two words", sk, pk) == NULL);
}

TEST(note_checkpoint_and_cosignature)
{
  uint8_t root[32], pk[32], sk[64], wpk[32], wsk[64], r2[32];
  char text[512], origin[256];
  uint64_t size, t;
  memset(root, 0xab, 32);
  crypto_sign_keypair(pk, sk);
  crypto_sign_keypair(wpk, wsk);
  ASSERT_OK(note_checkpoint_text(text, sizeof text, "kiroku.example/net/feed", 42, root));
  ASSERT_OK(note_checkpoint_parse(text, strlen(text), origin, sizeof origin, &size, r2));
  ASSERT_STR(origin, "kiroku.example/net/feed");
  ASSERT_U64(size, 42);
  ASSERT(memcmp(root, r2, 32) == 0);
  ASSERT(note_checkpoint_parse("o\n042\nq83vEjRWeJA=\n", 19, origin, sizeof origin, &size, r2) != 0);
  ASSERT(note_checkpoint_parse("o\n-1\n", 5, origin, sizeof origin, &size, r2) != 0);

  char *signed_note = note_sign(text, "feed", sk, pk);
  char *cos = note_cosign_line(text, "witness", 1764460800, wsk, wpk);
  ASSERT(signed_note && cos);
  size_t n = strlen(signed_note) + strlen(cos) + 1;
  char *both = malloc(n);
  snprintf(both, n, "%s%s", signed_note, cos);
  ASSERT_OK(note_verify(both, strlen(both), "feed", pk));
  ASSERT_OK(note_verify_cosignature(both, strlen(both), "witness", wpk, &t));
  ASSERT_U64(t, 1764460800);
  /* a cosignature is not a signature, and the other way round */
  ASSERT(note_verify(both, strlen(both), "witness", wpk) != 0);
  ASSERT(note_verify_cosignature(both, strlen(both), "feed", pk, &t) != 0);
  /* a different size in the text breaks both */
  char *alt = strdup(both);
  alt[strlen("kiroku.example/net/feed\n") + 1] = '3';
  ASSERT(note_verify(alt, strlen(alt), "feed", pk) != 0);
  ASSERT(note_verify_cosignature(alt, strlen(alt), "witness", wpk, &t) != 0);
  free(alt);
  free(both);
  free(cos);
  free(signed_note);
}
