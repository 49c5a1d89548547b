/* cli.h - one cmd_<name>(argc, argv) per subcommand (after git's builtin/).
 * argv[0] is the subcommand name. Return the process exit code:
 * 0 ok, 1 user error (bad arguments, bad manifest, not found, 4xx),
 * 2 server or system error (cannot connect, 5xx, I/O). */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#define EXIT_USER 1
#define EXIT_SYSTEM 2

int cmd_server(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_halt(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* true if argv has -h or --help (anywhere before a "--") */
int cli_wants_help(int argc, char **argv);
/* The home directory: $WEFT_HOME, else ~/.weft. Caller frees. */
char *cli_home_dir(void);

#endif
