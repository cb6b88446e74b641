/* pidfile.h - <run_dir>/<ifname>.pid: which process runs weft client or
 * weft server on an interface, for `weft down` and `weft cleanup`. */
#ifndef WEFT_VPN_PIDFILE_H
#define WEFT_VPN_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

enum { PIDFILE_PATH_MAX = 4200 };

/* Write our pid; path gets the file's name (for pidfile_remove). 0 or
 * -errno. */
__attribute__((warn_unused_result))
int pidfile_write(const char *run_dir, const char *ifname,
		  char path[PIDFILE_PATH_MAX]);
void pidfile_remove(const char *path);

/* The pid in the file if that process is alive, else 0 (a stale file is
 * removed). */
pid_t pidfile_running(const char *run_dir, const char *ifname);

#endif
