/* terminal.c - coloured or plain output, decided once per run. */
#include "cli/terminal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* As wg decides: WEFT_COLOR_MODE (or wg's WG_COLOR_MODE) "always" or
 * "never", else colour exactly when stdout is a terminal. */
static bool use_colour(void)
{
	static int decided = -1;
	const char *mode;

	if (decided >= 0)
		return decided;
	mode = getenv("WEFT_COLOR_MODE");
	if (!mode)
		mode = getenv("WG_COLOR_MODE");
	if (mode && !strcmp(mode, "always"))
		decided = 1;
	else if (mode && !strcmp(mode, "never"))
		decided = 0;
	else
		decided = isatty(STDOUT_FILENO);
	return decided;
}

/* Write s without its "ESC [ ... m" sequences. */
static void put_plain(const char *s)
{
	const char *esc;

	while ((esc = strstr(s, "\x1b[")) != NULL) {
		fwrite(s, 1, (size_t)(esc - s), stdout);
		s = esc + 2;
		while (*s && *s != 'm')
			++s;
		if (*s)
			++s;
	}
	fputs(s, stdout);
}

void terminal_printf(const char *fmt, ...)
{
	char small[1024], *buf = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (!buf)
			abort();
		va_start(ap, fmt);
		vsnprintf(buf, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (use_colour())
		fputs(buf, stdout);
	else
		put_plain(buf);
	if (buf != small)
		free(buf);
}
