/* env.h - the WEFT_NO_* switches benchmarks use to turn a technique off:
 * set to anything but "" or "0" means on. Read once where each is used. */
#ifndef WEFT_OS_LINUX_ENV_H
#define WEFT_OS_LINUX_ENV_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool env_switch(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

#endif
