/* subcommands.h - the entry points of weft's commands; each takes the
 * arguments after "weft" (argv[0] is the command name) and returns the
 * process exit status. */
#ifndef WEFT_CLI_SUBCOMMANDS_H
#define WEFT_CLI_SUBCOMMANDS_H

extern const char *prog_name;

int genkey_main(int argc, char *argv[]);
int genpsk_main(int argc, char *argv[]);
int pubkey_main(int argc, char *argv[]);
int show_main(int argc, char *argv[]);
int showconf_main(int argc, char *argv[]);
int setconf_main(int argc, char *argv[]);
int addconf_main(int argc, char *argv[]);
int syncconf_main(int argc, char *argv[]);
int addclient_main(int argc, char *argv[]);	/* weft server add-client */

#endif
