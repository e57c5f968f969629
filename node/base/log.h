/*
 * log — timestamped, levelled lines on stderr for the node.
 *
 *   2026-11-29T21:40:01.123Z INFO  peer 127.0.0.1:7002 (processor): connected
 *
 * The level comes from $KIROKU_LOG (error, warn, info, debug; default info).
 */
#ifndef KK_LOG_H
#define KK_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
