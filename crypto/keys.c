/*
 * keys — load and create the identity key file, refusing lax permissions.
 */
#include "keys.h"
#include "../node/base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYS_MAGIC "kiroku-ed25519-v1 "

#define KEYS_FEED "feed "

static void keys_path(char *out, size_t n, const char *dir, const char *file)
{
  snprintf(out, n, "%s/%s", dir, file);
}

/* Writes path anew: the key line, and the feed line when the key is not the feed's
 * first (after kiroku rotate-key). 0600, fsynced. */
static int keys_write(const char *path, int flags, const uint8_t sk[SIG_SK_BYTES], const uint8_t *feed)
{
  char line[sizeof(KEYS_MAGIC) + 2 * SIG_SK_BYTES + sizeof(KEYS_FEED) + 2 * SIG_PK_BYTES + 4];
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);
  if (fd < 0) return errno == EEXIST ? KK_ERR(EXISTS) : -errno;
  memcpy(line, KEYS_MAGIC, strlen(KEYS_MAGIC));
  sig_hex(line + strlen(KEYS_MAGIC), sk, SIG_SK_BYTES);
  size_t len = strlen(line);
  line[len++] = '\n';
  if (feed) {
    memcpy(line + len, KEYS_FEED, strlen(KEYS_FEED));
    len += strlen(KEYS_FEED);
    sig_hex(line + len, feed, SIG_PK_BYTES);
    len += 2 * SIG_PK_BYTES;
    line[len++] = '\n';
  }
  int rc = 0;
  if (write(fd, line, len) != (ssize_t)len || fsync(fd) != 0) rc = errno ? -errno : -EIO;
  if (close(fd) != 0 && rc == 0) rc = -errno;
  if (rc) unlink(path);
  sodium_memzero(line, sizeof line);
  return rc;
}

int keys_create(const char *dir, uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES])
{
  char path[4096];
  uint8_t ownsk[SIG_SK_BYTES];
  keys_path(path, sizeof path, dir, KEYS_FILE);
  sig_keypair(pk, ownsk);
  int rc = keys_write(path, O_EXCL, ownsk, NULL);
  if (rc == 0 && sk) memcpy(sk, ownsk, SIG_SK_BYTES);
  sodium_memzero(ownsk, sizeof ownsk);
  return rc;
}

static int keys_read(const char *path, uint8_t feed[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES], uint8_t signer[SIG_PK_BYTES])
{
  char line[sizeof(KEYS_MAGIC) + 2 * SIG_SK_BYTES + sizeof(KEYS_FEED) + 2 * SIG_PK_BYTES + 8];
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? KK_ERR(NO_KEY) : -errno;
  if (fstat(fd, &st) != 0) { int e = -errno; close(fd); return e; }
  if (st.st_mode & 077) { close(fd); return KK_ERR(KEY_PERMS); }
  ssize_t n = read(fd, line, sizeof line - 1);
  close(fd);
  if (n < 0) return -errno;
  line[n] = 0;
  size_t mlen = strlen(KEYS_MAGIC), klen = mlen + 2 * SIG_SK_BYTES, flen = strlen(KEYS_FEED);
  int rc = KK_ERR(CORRUPT);
  if ((size_t)n >= klen && memcmp(line, KEYS_MAGIC, mlen) == 0) {
    char *hex = line + mlen, *rest = line + klen;
    int feed_ok = 1, has_feed;
    if (*rest == '\n') rest++;
    /* A key rotated away from the feed's first names the feed on a second line. */
    if ((has_feed = *rest != 0)) {
      feed_ok = strlen(rest) >= flen + 2 * SIG_PK_BYTES && memcmp(rest, KEYS_FEED, flen) == 0;
      if (feed_ok) {
        rest[flen + 2 * SIG_PK_BYTES] = 0;
        feed_ok = sig_unhex(feed, SIG_PK_BYTES, rest + flen) == 0;
      }
    }
    hex[2 * SIG_SK_BYTES] = 0;
    if (feed_ok && sig_unhex(sk, SIG_SK_BYTES, hex) == 0) {
      /* The public key is the second half of libsodium's secret key; check it. */
      uint8_t derived[SIG_PK_BYTES], dsk[SIG_SK_BYTES];
      crypto_sign_seed_keypair(derived, dsk, sk);
      int same = memcmp(dsk, sk, SIG_SK_BYTES) == 0;
      sodium_memzero(dsk, sizeof dsk);
      if (same) {
        if (!has_feed) memcpy(feed, derived, SIG_PK_BYTES);
        memcpy(signer, derived, SIG_PK_BYTES);
        rc = 0;
      }
    }
  }
  sodium_memzero(line, sizeof line);
  if (rc) sodium_memzero(sk, SIG_SK_BYTES);
  return rc;
}

int keys_load(const char *dir, uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES])
{
  char path[4096];
  uint8_t signer[SIG_PK_BYTES];
  keys_path(path, sizeof path, dir, KEYS_FILE);
  return keys_read(path, pk, sk, signer);
}

int keys_next_write(const char *dir, const uint8_t feed[SIG_PK_BYTES], const uint8_t sk[SIG_SK_BYTES])
{
  char path[4096];
  keys_path(path, sizeof path, dir, KEYS_NEXT);
  return keys_write(path, O_TRUNC, sk, feed);
}

/* Makes the pending key the identity: a rename, then the directory synced. */
static int keys_next_commit(const char *dir)
{
  char from[4096], to[4096];
  keys_path(from, sizeof from, dir, KEYS_NEXT);
  keys_path(to, sizeof to, dir, KEYS_FILE);
  if (rename(from, to) != 0) return -errno;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
  if (fd < 0) return -errno;
  if (fsync(fd) != 0) rc = -errno;
  close(fd);
  return rc;
}

int keys_next_settle(const char *dir, const uint8_t signer_now[SIG_PK_BYTES])
{
  char path[4096];
  uint8_t feed[SIG_PK_BYTES], sk[SIG_SK_BYTES], signer[SIG_PK_BYTES];
  keys_path(path, sizeof path, dir, KEYS_NEXT);
  int rc = keys_read(path, feed, sk, signer);
  sodium_memzero(sk, sizeof sk);
  if (rc == KK_ERR(NO_KEY)) return 0;
  if (rc == 0 && memcmp(signer, signer_now, SIG_PK_BYTES) == 0) return (rc = keys_next_commit(dir)) ? rc : 1;
  return unlink(path) == 0 || errno == ENOENT ? 0 : -errno; /* the rotation did not happen */
}
