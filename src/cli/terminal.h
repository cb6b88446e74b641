/* terminal.h - output for people: colour only when stdout is a terminal
 * (or WEFT_COLOR_MODE / WG_COLOR_MODE say "always"), plain otherwise. */
#ifndef WEFT_CLI_TERMINAL_H
#define WEFT_CLI_TERMINAL_H

#define TERM_RESET "\x1b[0m"
#define TERM_BOLD "\x1b[1m"
#define TERM_RED "\x1b[31m"
#define TERM_GREEN "\x1b[32m"
#define TERM_YELLOW "\x1b[33m"
#define TERM_CYAN "\x1b[36m"

/* printf to stdout; the escape sequences above are dropped unless colour
 * is on. */
void terminal_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
