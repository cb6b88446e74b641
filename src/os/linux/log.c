/* log.c - one-line log messages to stderr or syslog, with rate limiting. */
#include "os/linux/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

enum { LOG_IDENT_MAX = 64, LOG_LINE_MAX = 1024 };

static struct {
	char ident[LOG_IDENT_MAX];
	bool to_syslog;
	bool syslog_open;
	int verbosity;
} logger = { .verbosity = LOG_LEVEL_INFO };

void log_init(const char *ident, bool to_syslog, int verbosity)
{
	snprintf(logger.ident, sizeof(logger.ident), "%s", ident ? ident : "");
	logger.verbosity = verbosity;
	logger.to_syslog = to_syslog;
	if (to_syslog && !logger.syslog_open) {
		/* NULL ident: syslog uses the program name; the interface
		 * goes into each line. */
		openlog(NULL, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		logger.syslog_open = true;
	}
}

bool log_enabled(enum log_level level)
{
	return (int)level <= logger.verbosity;
}

__attribute__((format(printf, 2, 0)))
static void log_v(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = {
		[LOG_LEVEL_ERR] = LOG_ERR, [LOG_LEVEL_WARN] = LOG_WARNING,
		[LOG_LEVEL_INFO] = LOG_INFO, [LOG_LEVEL_DEBUG] = LOG_DEBUG,
	};
	static const char *const tag[] = {
		[LOG_LEVEL_ERR] = "error: ", [LOG_LEVEL_WARN] = "warning: ",
		[LOG_LEVEL_INFO] = "", [LOG_LEVEL_DEBUG] = "debug: ",
	};
	char line[LOG_LINE_MAX];
	int saved = errno;
	size_t len;

	if (!log_enabled(level) || level < LOG_LEVEL_ERR)
		goto out;
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';

	if (logger.to_syslog) {
		if (logger.ident[0])
			syslog(prio[level], "%s: %s", logger.ident, line);
		else
			syslog(prio[level], "%s", line);
	} else {
		/* One fprintf per line: stdio locks the stream, so lines of
		 * different threads do not interleave. */
		fprintf(stderr, "%s%s%s%s\n", logger.ident,
			logger.ident[0] ? ": " : "", tag[level], line);
	}
out:
	errno = saved;
}

#define LOG_FN(fn, level)					\
	void fn(const char *fmt, ...)				\
	{							\
		va_list ap;					\
		va_start(ap, fmt);				\
		log_v(level, fmt, ap);				\
		va_end(ap);					\
	}

LOG_FN(log_err, LOG_LEVEL_ERR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void log_ratelimited(struct log_ratelimit *rl, wg_time_t now,
		     const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	if (!rl->started ||
	    now - rl->window_start >= LOG_RATELIMIT_INTERVAL_SEC * NSEC_PER_SEC) {
		if (rl->suppressed)
			log_info("%u messages suppressed", rl->suppressed);
		rl->started = true;
		rl->window_start = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= LOG_RATELIMIT_BURST) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	log_v(LOG_LEVEL_INFO, fmt, ap);
	va_end(ap);
}
