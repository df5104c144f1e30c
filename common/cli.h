/*
 * cli - one command-line convention for the three KyedNS programs.
 *
 * A program describes its options once, in a table of cli_opt_t; that table
 * drives getopt_long (so "--opt=value", "--opt value" and "-o value" all
 * work), the environment fallback, -h/--help with each flag's description
 * and default, --version (KYEDNS_VERSION from version.h) and the man page
 * (the hidden --help-man prints it as roff; `make man` writes build/man/).
 * The table is the one source: a flag cannot be documented in one place and
 * parsed differently in another.
 *
 * Precedence per option: the command line, else its environment variable,
 * else the default (the table's dflt text, which the program also uses).
 * The environment variable of --foo-bar is KYEDNS_FOO_BAR unless the table
 * names another (the tests check the names follow the rule).  A switch's
 * variable takes 1/yes/true/on or 0/no/false/off (or empty); anything else
 * is a usage error, unless the command line sets that switch.  -h, --help,
 * --version and --help-man work whatever the environment holds.
 *
 * Errors: "prog: message" on stderr, then "Try 'prog --help'."; exit status
 * CLI_EXIT_USAGE (2) for usage errors.  An unknown option is named without
 * any "=value" it carried (a mistyped --token=SECRET must not echo it).
 *
 * A program with commands (kyednsctl) also gives a table of cli_cmd_t: its
 * --help lists them and the man page gets a COMMANDS section with each
 * command's options.  The program parses the command's own options itself,
 * with a second cli_parse over a cli_t of its building; cli_cmd_help()
 * prints one command's help.
 *
 * cli_parse may be called any number of times in one process: it resets
 * getopt completely each time.
 *
 * Nothing here keeps state between calls or touches globals other than
 * getopt's optind/opterr; cli_val_t arrays belong to the caller (cli_free()
 * releases the lists of repeatable options).
 */
#ifndef KYEDNS_CLI_H
#define KYEDNS_CLI_H

#include <stddef.h>
#include <stdio.h>

#define CLI_EXIT_USAGE 2

enum {
	CLI_REPEAT = 1,  /* may be given several times; env value is comma-separated */
	CLI_HIDDEN = 2,  /* parsed, but left out of --help and the man page */
	CLI_NO_ENV = 4,  /* no environment variable */
};

typedef struct cli_opt {
	const char *name;  /* long name: "db" for --db; NULL ends the table */
	int short_name;    /* 'd' for -d, or 0 */
	const char *arg;   /* metavariable ("DIR"); NULL for a switch */
	const char *env;   /* environment variable; NULL: KYEDNS_<NAME> (unless CLI_NO_ENV) */
	const char *dflt;  /* default as shown and used; NULL: none */
	const char *help;  /* description: sentences, no trailing newline */
	unsigned flags;    /* CLI_* */
} cli_opt_t;

/* A man page section beyond NAME/SYNOPSIS/DESCRIPTION/OPTIONS/ENVIRONMENT.
 * text: paragraphs separated by blank lines; a paragraph whose lines all
 * start with two spaces is shown verbatim (examples); a line "- item"
 * starts a bullet; a line "TERM\t definition" is a tagged paragraph. */
typedef struct cli_section {
	const char *title; /* "FILES", "SIGNALS", "SEE ALSO"; NULL ends the list */
	const char *text;
} cli_section_t;

/* A command of a program that has commands ("zone add"). */
typedef struct cli_cmd {
	const char *name;      /* words: "zone add"; NULL ends the table */
	const char *args;      /* synopsis after the name: "ZONE --ns NAME [--ttl N]" */
	const char *summary;   /* one line, no trailing period: "Add a zone" */
	const char *notes;     /* more sentences (cli_section_t markup), or NULL */
	const cli_opt_t *opts; /* its options (their env is not read), or NULL */
} cli_cmd_t;

typedef struct cli {
	const char *prog;        /* "kyedns-backend" */
	int man_section;         /* 8 */
	const char *summary;     /* the NAME line: "PowerDNS remote backend of KyedNS" */
	const char *synopsis;    /* after the program name: "[OPTION]..." */
	const char *description; /* paragraphs, same markup as cli_section_t.text */
	const cli_opt_t *opts;   /* without help, version, help-man: they are built in */
	const cli_section_t *sections; /* may be NULL */
	int stop_at_operand;     /* 1: options end at the first operand (kyednsctl COMMAND) */
	const cli_cmd_t *cmds;   /* commands, or NULL: --help lists them, man has COMMANDS */
	const char *hint;        /* "Try '<hint>'." after a usage error; NULL: "prog --help" */
} cli_t;

typedef struct cli_val {
	const char *s;  /* value (argv, env or dflt: borrowed); switches: "1" or NULL */
	int from;       /* CLI_FROM_* */
	char **list;    /* CLI_REPEAT: every value in order (argv ones, else env's) */
	size_t n;       /* entries in list */
} cli_val_t;

enum { CLI_FROM_DEFAULT, CLI_FROM_ENV, CLI_FROM_ARG };

/*
 * Parses argv by c into vals (one entry per table row, same index).
 * Returns:
 *   0 - go on; *operands (if not NULL) is the index of the first operand;
 *   1 - --help, --version or --help-man was handled: exit 0;
 *  -1 - usage error, already reported: exit CLI_EXIT_USAGE.
 * Operands are an error unless c->stop_at_operand or operands != NULL.
 * Without stop_at_operand options and operands may mix ("--" ends the
 * options): getopt_long reorders argv so that the operands come last,
 * argv[*operands] to argv[argc - 1].  Values point into argv or environ.
 */
int cli_parse(const cli_t *c, int argc, char **argv, cli_val_t *vals, int *operands);

/* Frees the lists of repeatable options. */
void cli_free(const cli_t *c, cli_val_t *vals);

/* The environment variable of option i ("KYEDNS_DB"), into buf. */
const char *cli_env_name(const cli_opt_t *o, char *buf, size_t size);

/*
 * Converts option i's value to a number in lo..hi.  Returns 0, or -1 after
 * reporting "prog: --name: 'x' is not a number in lo..hi" (exit 2).
 * A value that is NULL leaves *out alone and returns 0.
 */
int cli_uint(const cli_t *c, const cli_val_t *vals, int i, unsigned long lo, unsigned long hi,
	     unsigned long *out);

/* Reports a usage error: "prog: message" and the --help hint.  Returns -1. */
int cli_usage_error(const cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints --help / the roff man page. */
void cli_help(const cli_t *c, FILE *f);
void cli_man(const cli_t *c, FILE *f);

/* Prints the help of command cmd of program c: its synopsis, summary,
 * notes and options. */
void cli_cmd_help(const cli_t *c, const cli_cmd_t *cmd, FILE *f);

#endif
