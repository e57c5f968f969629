/*
 * token — the bearer token that authorises HTTP writes (docs/http.md): 32 random bytes
 * as 64 hex digits in DIR/http.token, mode 0600, made at the node's first start with
 * HTTP on (or by `kiroku http-token`), replaced by `kiroku http-token --rotate`. The
 * server reads the file at each write, so a rotation takes effect at once.
 *
 * Errors: -errno; KK_E_DIR_PERMS when the file is readable by others.
 */
#ifndef KK_TOKEN_H
#define KK_TOKEN_H

#define HTTP_TOKEN_FILE "http.token"
#define HTTP_TOKEN_LEN 64

/* The token into out (NUL-terminated); -ENOENT when there is none yet. */
int http_token_read(const char *dir, char out[HTTP_TOKEN_LEN + 1]);
/* Makes a token when there is none (rotate: always a new one, replacing the old
 * atomically) and reads it into out. */
int http_token_ensure(const char *dir, int rotate, char out[HTTP_TOKEN_LEN + 1]);
/* Whether the Authorization header value `auth` carries the token (constant time). */
int http_token_matches(const char *auth, const char token[HTTP_TOKEN_LEN + 1]);

#endif
