/*
 * log — stderr lines with UTC timestamps and levels.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Set once at start-up, before any other thread exists; read-only afterwards. */
static enum log_level log_threshold = LOG_INFO;

void log_init(void)
{
  const char *e = getenv("KIROKU_LOG");
  if (!e) return;
  if (!strcmp(e, "error")) log_threshold = LOG_ERROR;
  else if (!strcmp(e, "warn")) log_threshold = LOG_WARN;
  else if (!strcmp(e, "debug")) log_threshold = LOG_DEBUG;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
  static const char *const names[] = { "ERROR", "WARN ", "INFO ", "DEBUG" };
  if (level > log_threshold) return;
  struct timespec ts;
  struct tm tm;
  char when[32], line[1024];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s.%03ldZ %s %s\n", when, ts.tv_nsec / 1000000, names[level], line);
}
