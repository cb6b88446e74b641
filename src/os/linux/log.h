/* log.h - a tiny logger: one line per message, prefixed with the interface
 * name, to stderr in the foreground or syslog when daemonized, with a
 * rate-limited variant for anything a packet can trigger. */
#ifndef WEFT_OS_LINUX_LOG_H
#define WEFT_OS_LINUX_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/messages.h"

/* verbosity: the most detailed level printed. */
enum log_level {
	LOG_LEVEL_SILENT = -1,
	LOG_LEVEL_ERR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

enum log_ratelimit_values {
	LOG_RATELIMIT_BURST = 10,	/* messages per interval per site */
	LOG_RATELIMIT_INTERVAL_SEC = 5,
};

/* One per call site (static at the site), used by one thread. Zero is the
 * initial state. */
struct log_ratelimit {
	wg_time_t window_start;
	unsigned printed;	/* in this window */
	unsigned suppressed;	/* in this window, not yet reported */
	bool started;
};

/* ident (usually the interface name) is copied; to_syslog selects syslog
 * (daemon facility) instead of stderr. May be called again to change any
 * of them. Before the first call messages go to stderr, no prefix, at
 * LOG_LEVEL_INFO. */
void log_init(const char *ident, bool to_syslog, int verbosity);
bool log_enabled(enum log_level level);

/* Logging never changes errno. */
__attribute__((format(printf, 1, 2))) void log_err(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_debug(const char *fmt, ...);

/* At most LOG_RATELIMIT_BURST messages per LOG_RATELIMIT_INTERVAL_SEC
 * through rl, at LOG_LEVEL_INFO; the first message of a later window is
 * preceded by "N messages suppressed". now comes from clock_now(). */
__attribute__((format(printf, 3, 4)))
void log_ratelimited(struct log_ratelimit *rl, wg_time_t now,
		     const char *fmt, ...);

#endif
