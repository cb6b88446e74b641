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
int server_main(int argc, char *argv[]);
int addclient_main(int argc, char *argv[]);
int client_main(int argc, char *argv[]);
int down_main(int argc, char *argv[]);
int cleanup_main(int argc, char *argv[]);
int identity_main(int argc, char *argv[]);
int admin_main(int argc, char *argv[]);
int up_main(int argc, char *argv[]);
int status_main(int argc, char *argv[]);
int set_main(int argc, char *argv[]);
int netcheck_main(int argc, char *argv[]);

#endif
