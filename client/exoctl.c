/* exoctl: the command-line client of exod; parses its arguments and dispatches one command. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "client/conn.h"
#include "client/discover.h"
#include "client/output.h"
#include "client/params.h"
#include "client/shell.h"
#include "common/binder.h"
#include "common/catalogue.h"
#include "common/sbuf.h"
#include "common/wire.h"

#ifndef EXOD_VERSION
#define EXOD_VERSION "0.1.0"
#endif

#define EXOCTL_DEFAULT_SOCKET "/run/exod/exod.sock"
#define EXOCTL_MAX_PROFILE 128          /* bytes in a profile name */
#define EXOCTL_MAX_PASSWORD 1024        /* bytes of a password typed at login */
#define EXOCTL_MAX_COLUMNS 4096         /* a $COLUMNS beyond this is ignored */
#define EXOCTL_TTY_WIDTH 80             /* a terminal that does not say its width */
#define EXOCTL_ERR_LEN 1024
#define EXOCTL_REQUEST_ID "1"

enum {
	EXOCTL_EXIT_OK = 0,
	EXOCTL_EXIT_FAILED = 1,
	EXOCTL_EXIT_USAGE = 2,
	EXOCTL_EXIT_UNREACHABLE = 3,
};

struct exoctl {
	const char *socket;
	const char *profile;
	enum output_format fmt;
	int quiet;
	int width;
	int tty;
};

/* A request line in a fixed buffer: bounded by the wire limit, wiped in one place. */
struct exoctl_req {
	char buf[WIRE_MAX_LINE];
	size_t len;
	int overflow;
	int failed;
	yajl_gen g;
};

struct exoctl_cmd {
	const char *name;
	int (*run)(const struct exoctl *x, int argc, char **argv);
};

static int exoctl_width(void);

/* static: 64 KiB is too much for the stack of a small tool */
static struct exoctl_req exoctl_request;

static const char *const exoctl_status_columns[] = {
	"name", "state", "auth", "identity", "token_expires_in", "in_flight", "queued",
	"last_error", NULL,
};

static void exoctl_usage(FILE *fp)
{
	fputs("usage: exoctl [-s SOCKET] [-p PROFILE] [-o table|json|ndjson|csv] [-q] COMMAND ...\n"
	      "  run CMDLET [-Name value] [-Switch] [-Name:$false] [-Name a,b,c] [--params JSON]\n"
	      "  status\n"
	      "  ping\n"
	      "  login [--device|--password]\n"
	      "  logout\n"
	      "  refresh\n"
	      "  metrics [--prometheus]\n"
	      "  cmdlets [PATTERN]\n"
	      "  help CMDLET\n"
	      "options: -s socket (default $EXOD_SOCKET or " EXOCTL_DEFAULT_SOCKET "),\n"
	      "  -p profile (default $EXOD_PROFILE), -o output format, -q quiet,\n"
	      "  -h/--help, -V/--version.  See exoctl(1).\n", fp);
}

static int exoctl_usage_error(const char *msg)
{
	fprintf(stderr, "exoctl: %s\n", msg);
	fputs("Try 'exoctl --help'.\n", stderr);
	return EXOCTL_EXIT_USAGE;
}

static void exoctl_req_print(void *ctx, const char *s, size_t len)
{
	struct exoctl_req *r = ctx;

	/* one byte stays free for the newline WIRE_MAX_LINE counts */
	if (r->overflow || len > sizeof(r->buf) - 1 - r->len) {
		r->overflow = 1;
		return;
	}
	memcpy(r->buf + r->len, s, len);
	r->len += len;
}

static void exoctl_req_check(struct exoctl_req *r, yajl_gen_status st)
{
	if (st != yajl_gen_status_ok)
		r->failed = 1;
}

static void exoctl_req_str(struct exoctl_req *r, const char *key, const char *val)
{
	exoctl_req_check(r, yajl_gen_string(r->g, (const unsigned char *)key, strlen(key)));
	exoctl_req_check(r, yajl_gen_string(r->g, (const unsigned char *)val, strlen(val)));
}

static int exoctl_req_begin(struct exoctl_req *r, const struct exoctl *x, const char *op,
			    int with_profile)
{
	r->len = 0;
	r->overflow = 0;
	r->failed = 0;
	r->g = yajl_gen_alloc(NULL);
	if (r->g == NULL || !yajl_gen_config(r->g, yajl_gen_print_callback, exoctl_req_print, r) ||
	    !yajl_gen_config(r->g, yajl_gen_validate_utf8, 1)) {
		fprintf(stderr, "exoctl: out of memory\n");
		return -1;
	}
	exoctl_req_check(r, yajl_gen_map_open(r->g));
	exoctl_req_str(r, "id", EXOCTL_REQUEST_ID);
	exoctl_req_str(r, "op", op);
	if (with_profile && x->profile != NULL)
		exoctl_req_str(r, "profile", x->profile);
	return 0;
}

static void exoctl_req_wipe(struct exoctl_req *r)
{
	/* Only what was written can hold a password. */
	sbuf_wipe(r->buf, r->len < sizeof(r->buf) ? r->len : sizeof(r->buf));
	r->len = 0;
	if (r->g != NULL)
		yajl_gen_free(r->g);
	r->g = NULL;
}

static int exoctl_req_end(struct exoctl_req *r)
{
	exoctl_req_check(r, yajl_gen_map_close(r->g));
	if (r->overflow) {
		fprintf(stderr, "exoctl: the request is longer than %d bytes\n", WIRE_MAX_LINE);
		return -1;
	}
	if (r->failed) {
		fprintf(stderr, "exoctl: cannot encode the request (text that is not UTF-8?)\n");
		return -1;
	}
	return 0;
}

static const char *exoctl_get_str(yajl_val v, const char *a, const char *b)
{
	const char *path[] = { a, b, NULL };
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);

	return s != NULL ? s->u.string : NULL;
}

/* The module's error suffix, for Microsoft support: [Server=...,RequestId=...,TimeStamp=...]. */
static void exoctl_print_request(yajl_val v)
{
	const char *server = exoctl_get_str(v, "error", "server");
	const char *rid = exoctl_get_str(v, "error", "request_id");
	const char *when = exoctl_get_str(v, "error", "timestamp");
	const char *sep = " [";

	if (server == NULL && rid == NULL && when == NULL)
		return;
	if (server != NULL) {
		fputs(" [Server=", stderr);
		output_put_text(stderr, server);
		sep = ",";
	}
	if (rid != NULL) {
		fprintf(stderr, "%sRequestId=", sep);
		output_put_text(stderr, rid);
		sep = ",";
	}
	if (when != NULL) {
		fprintf(stderr, "%sTimeStamp=", sep);
		output_put_text(stderr, when);
	}
	fputc(']', stderr);
}

static int exoctl_print_error(yajl_val v)
{
	const char *code = exoctl_get_str(v, "error", "code");
	const char *msg = exoctl_get_str(v, "error", "message");

	fputs("exoctl: ", stderr);
	output_put_text(stderr, code != NULL ? code : "Error");
	fputs(": ", stderr);
	output_put_text(stderr, msg != NULL ? msg : "(no message)");
	exoctl_print_request(v);
	fputc('\n', stderr);
	return code != NULL ? wire_error_exit_status(code) : EXOCTL_EXIT_FAILED;
}

/* A non-terminating error of the cmdlet, shown as it comes, as PowerShell writes each. */
static void exoctl_print_cmdlet_error(yajl_val v)
{
	const char *msg = exoctl_get_str(v, "error", "message");
	const char *code = exoctl_get_str(v, "error", "code");

	fputs("ERROR: ", stderr);
	output_put_text(stderr, msg != NULL ? msg : "(no message)");
	if (code != NULL) {
		fputs(" (", stderr);
		output_put_text(stderr, code);
		fputc(')', stderr);
	}
	exoctl_print_request(v);
	fputc('\n', stderr);
}

/* The service's confirmation, as the module prints -WhatIf's: "What if: ...". */
static void exoctl_print_confirmation(yajl_val v)
{
	const char *msg = exoctl_get_str(v, "message", NULL);

	if (msg == NULL)
		return;
	if (strncasecmp(msg, "What if:", 8) != 0)
		fputs("What if: ", stderr);
	output_put_text(stderr, msg);
	fputc('\n', stderr);
}

/* Writing stdout failed: a reader that went away (| head) ends exoctl quietly. */
static int exoctl_output_failed(const char *msg)
{
	if (errno == EPIPE)
		return EXOCTL_EXIT_OK;
	fprintf(stderr, "exoctl: %s\n", msg);
	return EXOCTL_EXIT_FAILED;
}

static void exoctl_print_login(const struct exoctl *x, yajl_val v)
{
	const char *msg = exoctl_get_str(v, "message", NULL);
	const char *uri = exoctl_get_str(v, "verification_uri", NULL);
	const char *code = exoctl_get_str(v, "user_code", NULL);

	(void)x;
	if (msg != NULL) {
		output_put_text(stderr, msg);
	} else {
		fputs("To sign in, open ", stderr);
		output_put_text(stderr, uri != NULL ? uri : "the sign-in page");
		fputs(" and enter the code ", stderr);
		output_put_text(stderr, code != NULL ? code : "?");
	}
	fputc('\n', stderr);
	fflush(stderr);
}

/* Handles one event line; -1 ends the exchange with *rc. */
static int exoctl_event(const struct exoctl *x, yajl_val v, const char *type,
			struct output *out, int *rc)
{
	char err[EXOCTL_ERR_LEN];
	static const char *data_path[] = { "data", NULL };

	if (strcmp(type, "record") == 0 && out != NULL) {
		if (output_record(out, yajl_tree_get(v, data_path, yajl_t_any), err, sizeof(err)) < 0) {
			*rc = exoctl_output_failed(err);
			return -1;
		}
	} else if (strcmp(type, "warning") == 0 && !x->quiet) {
		const char *msg = exoctl_get_str(v, "message", NULL);

		fputs("WARNING: ", stderr);
		output_put_text(stderr, msg != NULL ? msg : "");
		fputc('\n', stderr);
	} else if (strcmp(type, "cmdlet_error") == 0) {
		exoctl_print_cmdlet_error(v);
	} else if (strcmp(type, "confirmation") == 0) {
		exoctl_print_confirmation(v);
	} else if (strcmp(type, "login") == 0) {
		exoctl_print_login(x, v);
	}
	return 0;
}

/*
 * Sends r (wiping it once sent) and reads the answer, handing records to
 * out.  Returns the exit status; on success *done holds the done line.
 */
static int exoctl_exchange(const struct exoctl *x, struct exoctl_req *r, struct output *out,
			   yajl_val *done)
{
	char err[EXOCTL_ERR_LEN];
	struct conn *c = conn_open(x->socket, err, sizeof(err));
	int rc = EXOCTL_EXIT_UNREACHABLE;

	*done = NULL;
	if (c == NULL || conn_send(c, r->buf, r->len, err, sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		goto out;
	}
	exoctl_req_wipe(r);
	for (;;) {
		yajl_val v;
		const char *type;

		/* flush only before waiting, so output streams without a write per record */
		if (!conn_pending(c) && fflush(stdout) != 0) {
			rc = exoctl_output_failed("cannot write output");
			goto out;
		}
		if (conn_read_answer(c, &v, err, sizeof(err)) < 0) {
			fprintf(stderr, "exoctl: %s\n", err);
			goto out;
		}
		type = exoctl_get_str(v, "type", NULL);
		if (strcmp(type, "done") == 0) {
			*done = v;
			rc = EXOCTL_EXIT_OK;
			goto out;
		}
		if (strcmp(type, "error") == 0) {
			rc = exoctl_print_error(v);
			yajl_tree_free(v);
			goto out;
		}
		if (exoctl_event(x, v, type, out, &rc) < 0) {
			yajl_tree_free(v);
			goto out;
		}
		yajl_tree_free(v);
	}
out:
	exoctl_req_wipe(r);
	conn_close(c);
	return rc;
}

/* Runs a request whose done line carries nothing to print. */
static int exoctl_simple(const struct exoctl *x, struct exoctl_req *r, const char *said)
{
	yajl_val done;
	int rc;

	if (exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_USAGE;
	}
	rc = exoctl_exchange(x, r, NULL, &done);
	if (rc == EXOCTL_EXIT_OK && !x->quiet && said != NULL)
		printf("%s\n", said);
	yajl_tree_free(done);
	return rc;
}

static int exoctl_finish(struct output *out, int rc)
{
	char err[EXOCTL_ERR_LEN];

	/* after an error, close what was started so stdout stays well-formed */
	if ((rc == EXOCTL_EXIT_OK || output_count(out) > 0) &&
	    output_finish(out, err, sizeof(err)) < 0) {
		int orc = exoctl_output_failed(err);

		if (rc == EXOCTL_EXIT_OK)
			rc = orc;
	}
	output_free(out);
	return rc;
}

static int exoctl_run(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	const char *cmdlet;
	char err[BINDER_ERR_LEN];
	struct output *out;
	yajl_val done;
	int rc;

	if (argc < 2)
		return exoctl_usage_error("run: which cmdlet? (exoctl run Get-Mailbox ...)");
	if (!wire_cmdlet_valid(argv[1]))
		return exoctl_usage_error("run: a cmdlet is Verb-Noun, letters, digits and '-'");
	if (exoctl_req_begin(r, x, "run", 1) < 0)
		return EXOCTL_EXIT_FAILED;
	/* The cmdlet's name goes after its parameters: binding gives its catalogue spelling. */
	exoctl_req_check(r, yajl_gen_string(r->g, (const unsigned char *)"params", 6));
	if (params_bind(r->g, argv[1], argc - 2, argv + 2, &cmdlet, err, sizeof(err)) < 0) {
		exoctl_req_wipe(r);
		fprintf(stderr, "exoctl: %s\n", err);
		if (catalogue_find(argv[1], strlen(argv[1])) != NULL)
			fprintf(stderr, "Try 'exoctl help %s'.\n", argv[1]);
		else
			fputs("Try 'exoctl --help'.\n", stderr);
		return EXOCTL_EXIT_USAGE;
	}
	exoctl_req_str(r, "cmdlet", cmdlet);
	if (exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_USAGE;
	}
	if ((out = output_new(stdout, x->fmt, x->width, NULL)) == NULL) {
		exoctl_req_wipe(r);
		fprintf(stderr, "exoctl: out of memory\n");
		return EXOCTL_EXIT_FAILED;
	}
	rc = exoctl_exchange(x, r, out, &done);
	yajl_tree_free(done);
	return exoctl_finish(out, rc);
}

static int exoctl_no_args(int argc, char **argv)
{
	if (argc > 1) {
		char msg[EXOCTL_ERR_LEN];

		snprintf(msg, sizeof(msg), "%s: unexpected argument '%.64s'", argv[0], argv[1]);
		return exoctl_usage_error(msg);
	}
	return 0;
}

static int exoctl_status(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	static const char *path[] = { "profiles", NULL };
	char err[EXOCTL_ERR_LEN];
	struct output *out;
	yajl_val done, profiles;
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "status", 1) < 0 || exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_FAILED;
	}
	if ((rc = exoctl_exchange(x, r, NULL, &done)) != EXOCTL_EXIT_OK)
		return rc;
	out = output_new(stdout, x->fmt, x->width,
			 x->fmt == OUTPUT_TABLE ? exoctl_status_columns : NULL);
	profiles = yajl_tree_get(done, path, yajl_t_array);
	if (out == NULL) {
		yajl_tree_free(done);
		fprintf(stderr, "exoctl: out of memory\n");
		return EXOCTL_EXIT_FAILED;
	}
	for (size_t i = 0; profiles != NULL && i < profiles->u.array.len; i++) {
		if (output_record(out, profiles->u.array.values[i], err, sizeof(err)) < 0) {
			rc = exoctl_output_failed(err);
			break;
		}
	}
	yajl_tree_free(done);
	return exoctl_finish(out, rc);
}

static int exoctl_ping(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "ping", 0) < 0)
		return EXOCTL_EXIT_FAILED;
	return exoctl_simple(x, r, "pong");
}

static int exoctl_logout(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "logout", 1) < 0)
		return EXOCTL_EXIT_FAILED;
	return exoctl_simple(x, r, "signed out");
}

static int exoctl_refresh(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "refresh", 1) < 0)
		return EXOCTL_EXIT_FAILED;
	return exoctl_simple(x, r, "token refreshed");
}

static void exoctl_print_json(yajl_val v, int pretty)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;

	if (g == NULL)
		return;
	yajl_gen_config(g, yajl_gen_beautify, pretty);
	if (output_gen_tree(g, v) == 0 && yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		fwrite(buf, 1, len, stdout);
		if (len == 0 || buf[len - 1] != '\n')
			putchar('\n');
	}
	yajl_gen_free(g);
}

static int exoctl_metrics(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	int prometheus = 0, rc;
	yajl_val done;
	const char *text;
	static const char *path[] = { "metrics", NULL };

	if (argc == 2 && strcmp(argv[1], "--prometheus") == 0)
		prometheus = 1;
	else if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "metrics", 0) < 0)
		return EXOCTL_EXIT_FAILED;
	if (prometheus)
		exoctl_req_str(r, "format", "prometheus");
	if (exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_FAILED;
	}
	if ((rc = exoctl_exchange(x, r, NULL, &done)) != EXOCTL_EXIT_OK)
		return rc;
	text = exoctl_get_str(done, "text", NULL);
	if (prometheus && text != NULL)
		fputs(text, stdout);
	else
		exoctl_print_json(yajl_tree_get(done, path, yajl_t_any), x->tty);
	yajl_tree_free(done);
	if (fflush(stdout) != 0)
		return exoctl_output_failed("cannot write output");
	return EXOCTL_EXIT_OK;
}

static volatile sig_atomic_t exoctl_caught;

static void exoctl_catch(int sig)
{
	exoctl_caught = sig;
}

static void exoctl_tty_say(int fd, const char *s)
{
	ssize_t n = write(fd, s, strlen(s));

	(void)n;        /* a prompt that could not be shown does not stop the read */
}

/* Reads one line from fd with echo off; a signal restores the terminal, then acts. */
static int exoctl_tty_read(int fd, char *pw, size_t cap)
{
	struct sigaction sa = { .sa_handler = exoctl_catch }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGQUIT };
	struct termios saved, quiet;
	size_t n = 0;
	int rc = -1;
	char ch = 0;

	if (tcgetattr(fd, &saved) < 0)
		return -1;
	sigemptyset(&sa.sa_mask);       /* no SA_RESTART: a signal ends the read */
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo off before the prompt: what is typed the moment it shows is not echoed. */
	if (tcsetattr(fd, TCSANOW, &quiet) == 0) {
		exoctl_tty_say(fd, "Password: ");
		while (read(fd, &ch, 1) == 1 && ch != '\n' && n + 1 < cap)
			pw[n++] = ch;
		rc = ch == '\n' ? 0 : -1;
		tcsetattr(fd, TCSAFLUSH, &saved);
	}
	pw[n] = '\0';
	sbuf_wipe(&ch, sizeof(ch));
	exoctl_tty_say(fd, "\n");
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (exoctl_caught != 0)
		raise(exoctl_caught);
	if (rc == 0 && n > 0 && pw[n - 1] == '\r')
		pw[--n] = '\0';
	return rc == 0 && n > 0 ? 0 : -1;
}

static int exoctl_read_password(char *pw, size_t cap)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		fprintf(stderr, "exoctl: login --password reads the password from a terminal: "
			"/dev/tty: %s\n", strerror(errno));
		return -1;
	}
	rc = exoctl_tty_read(fd, pw, cap);
	close(fd);
	if (rc < 0)
		fprintf(stderr, "exoctl: no password read (empty, too long or interrupted)\n");
	return rc;
}

static int exoctl_login(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	static char pw[EXOCTL_MAX_PASSWORD];
	const char *method = NULL, *identity;
	yajl_val done;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--device") == 0)
		method = "device";
	else if (argc == 2 && strcmp(argv[1], "--password") == 0)
		method = "password";
	else if (argc > 1)
		return exoctl_usage_error("login: use --device or --password");
	if (method != NULL && strcmp(method, "password") == 0 &&
	    exoctl_read_password(pw, sizeof(pw)) < 0) {
		sbuf_wipe(pw, sizeof(pw));
		return EXOCTL_EXIT_USAGE;
	}
	if (exoctl_req_begin(r, x, "login", 1) == 0) {
		if (method != NULL)
			exoctl_req_str(r, "method", method);
		if (pw[0] != '\0')
			exoctl_req_str(r, "password", pw);
	}
	sbuf_wipe(pw, sizeof(pw));
	if (r->g == NULL || exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_FAILED;
	}
	if ((rc = exoctl_exchange(x, r, NULL, &done)) != EXOCTL_EXIT_OK)
		return rc;
	identity = exoctl_get_str(done, "identity", NULL);
	if (!x->quiet) {
		fputs("signed in", stdout);
		if (identity != NULL) {
			fputs(" as ", stdout);
			output_put_text(stdout, identity);
		}
		putchar('\n');
	}
	yajl_tree_free(done);
	return EXOCTL_EXIT_OK;
}

static int exoctl_cmdlets(const struct exoctl *x, int argc, char **argv)
{
	char err[EXOCTL_ERR_LEN];

	(void)x;
	if (argc > 2)
		return exoctl_usage_error("cmdlets: at most one pattern (exoctl cmdlets 'Get-*Mailbox*')");
	/* Every profile speaks to Exchange Online for now; its cmdlets are the EOP ones too. */
	if (discover_cmdlets(stdout, argc == 2 ? argv[1] : NULL, CATALOGUE_EXO, err,
			     sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		return EXOCTL_EXIT_FAILED;
	}
	return fflush(stdout) != 0 ? exoctl_output_failed("cannot write output") : EXOCTL_EXIT_OK;
}

static int exoctl_help(const struct exoctl *x, int argc, char **argv)
{
	char err[EXOCTL_ERR_LEN];

	if (argc != 2)
		return exoctl_usage_error("help: which cmdlet? (exoctl help Get-Mailbox)");
	if (discover_help(stdout, argv[1], x->tty ? exoctl_width() : 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		return EXOCTL_EXIT_FAILED;
	}
	return fflush(stdout) != 0 ? exoctl_output_failed("cannot write output") : EXOCTL_EXIT_OK;
}

/* The profiles exod shows this user, for completing -p; nothing when exod does not answer. */
static void exoctl_complete_profiles(void *arg, FILE *fp, const char *prefix)
{
	const struct exoctl *x = arg;
	struct exoctl_req *r = &exoctl_request;
	static const char *path[] = { "profiles", NULL };
	yajl_val done, profiles;

	if (exoctl_req_begin(r, x, "status", 0) < 0 || exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return;
	}
	if (exoctl_exchange(x, r, NULL, &done) != EXOCTL_EXIT_OK)
		return;
	profiles = yajl_tree_get(done, path, yajl_t_array);
	for (size_t i = 0; profiles != NULL && i < profiles->u.array.len; i++) {
		const char *name = exoctl_get_str(profiles->u.array.values[i], "name", NULL);

		if (name != NULL && name[0] != '\0' && strncmp(name, prefix, strlen(prefix)) == 0)
			fprintf(fp, "%s\n", name);
	}
	yajl_tree_free(done);
}

/* exoctl __complete WORD...: what the completion scripts ask; not for people. */
static int exoctl_complete(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl here = *x;

	/* A socket named on the line being completed is the one to ask for profiles. */
	for (int i = 1; i + 2 < argc; i++)
		if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0)
			here.socket = argv[i + 1];
	discover_complete(stdout, argc - 1, argv + 1, exoctl_complete_profiles, &here);
	return EXOCTL_EXIT_OK;
}

static int exoctl_shell(const struct exoctl *x, int argc, char **argv);

static const struct exoctl_cmd exoctl_cmds[] = {
	{ "run", exoctl_run },
	{ "status", exoctl_status },
	{ "ping", exoctl_ping },
	{ "login", exoctl_login },
	{ "logout", exoctl_logout },
	{ "refresh", exoctl_refresh },
	{ "metrics", exoctl_metrics },
	{ "cmdlets", exoctl_cmdlets },
	{ "help", exoctl_help },
	{ "__complete", exoctl_complete },
	{ "shell", exoctl_shell },
};

/* The shell's run: one line's words, dispatched as main dispatches a command. */
static int exoctl_shell_run(void *arg, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(exoctl_cmds) / sizeof(exoctl_cmds[0]); i++)
		if (strcmp(argv[0], exoctl_cmds[i].name) == 0)
			return exoctl_cmds[i].run(arg, argc, argv);
	fprintf(stderr, "exoctl: unknown command '%.64s'; try help\n", argv[0]);
	return EXOCTL_EXIT_USAGE;
}

static void exoctl_shell_complete(void *arg, FILE *out, int n, char *const words[])
{
	discover_complete(out, n, words, exoctl_complete_profiles, arg);
}

/* exoctl shell [-p PROFILE] */
static int exoctl_shell(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl here = *x;
	struct shell_options o = { .run = exoctl_shell_run, .complete = exoctl_shell_complete,
				   .arg = &here };

	if (argc == 3 && (strcmp(argv[1], "-p") == 0 || strcmp(argv[1], "--profile") == 0))
		here.profile = argv[2];
	else if (argc != 1)
		return exoctl_usage_error("shell: the only option is -p PROFILE");
	o.profile = here.profile;
	return shell_main(&o);
}

static int exoctl_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (cols != NULL && atoi(cols) > 0 && atoi(cols) <= EXOCTL_MAX_COLUMNS)
		return atoi(cols);
	return isatty(STDOUT_FILENO) ? EXOCTL_TTY_WIDTH : 0;
}

static const char *exoctl_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Global options; returns -1 to go on, else the exit status. */
static int exoctl_options(struct exoctl *x, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "profile", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL;
	int c;

	x->socket = exoctl_env("EXOD_SOCKET");
	x->profile = exoctl_env("EXOD_PROFILE");
	while ((c = getopt_long(argc, argv, "+s:p:o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's': x->socket = optarg; break;
		case 'p': x->profile = optarg; break;
		case 'o': fmt = optarg; break;
		case 'q': x->quiet = 1; break;
		case 'h': exoctl_usage(stdout); return EXOCTL_EXIT_OK;
		case 'V': printf("exoctl %s\n", EXOD_VERSION); return EXOCTL_EXIT_OK;
		default: fputs("Try 'exoctl --help'.\n", stderr); return EXOCTL_EXIT_USAGE;
		}
	}
	if (x->socket == NULL || x->socket[0] == '\0')
		x->socket = EXOCTL_DEFAULT_SOCKET;
	if (x->profile != NULL && (x->profile[0] == '\0' || strlen(x->profile) > EXOCTL_MAX_PROFILE))
		return exoctl_usage_error("a profile name is 1 to 128 bytes");
	x->tty = isatty(STDOUT_FILENO);
	x->fmt = x->tty ? OUTPUT_TABLE : OUTPUT_JSON;
	if (fmt != NULL && output_parse_format(fmt, &x->fmt) < 0)
		return exoctl_usage_error("-o takes table, json, ndjson or csv");
	x->width = x->fmt == OUTPUT_TABLE ? exoctl_width() : 0;
	return -1;
}

int main(int argc, char **argv)
{
	struct exoctl x = { 0 };
	int rc;

	/* a closed stdout shows up as EPIPE and ends exoctl quietly */
	signal(SIGPIPE, SIG_IGN);
	if ((rc = exoctl_options(&x, argc, argv)) >= 0)
		return rc;
	if (optind >= argc) {
		exoctl_usage(stderr);
		return EXOCTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(exoctl_cmds) / sizeof(exoctl_cmds[0]); i++)
		if (strcmp(argv[optind], exoctl_cmds[i].name) == 0)
			return exoctl_cmds[i].run(&x, argc - optind, argv + optind);
	fprintf(stderr, "exoctl: unknown command '%.64s'\n", argv[optind]);
	fputs("Try 'exoctl --help'.\n", stderr);
	return EXOCTL_EXIT_USAGE;
}
