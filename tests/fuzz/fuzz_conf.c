/*
 * fuzz_conf: exod.conf (common/conf.c: conf_load), an ini file read with
 * inih and validated key by key.  Input: the whole file, handed over as
 * /proc/self/fd/N of a memfd.  A file that loads must have at least one
 * profile, each equal to itself, and the only-profile lookup must agree
 * with the count; its roles must have cmdlets and someone to hold them,
 * and agree with themselves on every profile; one that does not load must
 * say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/conf.h"
#include "tests/fuzz/fuzz_util.h"

static struct fuzz_memfile file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_memfile_init(&file, "fuzz-exod.conf");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	const struct conf_profile *pr;
	char err[1024];
	int n = 0;

	fuzz_memfile_set(&file, data, size);
	err[0] = '\0';
	if (conf_load(file.path, &c, err, sizeof(err)) != 0) {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(c != NULL && c->nprofiles > 0 && c->profiles != NULL);
	FUZZ_CHECK(c->socket != NULL && c->state_dir != NULL);
	for (pr = c->profiles; pr != NULL; pr = pr->next) {
		FUZZ_CHECK(pr->name != NULL && pr->name[0] != '\0' && strlen(pr->name) <= CONF_NAME_MAX);
		FUZZ_CHECK(conf_profile_equal(pr, pr));
		/* Profile names are unique: a lookup by name finds this one. */
		FUZZ_CHECK(conf_find_profile(c, pr->name) == pr);
		(void)conf_auth_name(pr->auth);
		(void)conf_environment_name(pr->environment);
		n++;
	}
	FUZZ_CHECK(n == c->nprofiles);
	FUZZ_CHECK((conf_find_profile(c, NULL) != NULL) == (n == 1));
	n = 0;
	for (const struct conf_role *r = c->roles; r != NULL; r = r->next, n++)
		FUZZ_CHECK(r->cmdlets != NULL && (r->users != NULL || r->groups != NULL));
	FUZZ_CHECK(n == c->nroles);
	for (pr = c->profiles; pr != NULL; pr = pr->next)
		FUZZ_CHECK(conf_roles_equal(c, c, pr->name));
	conf_free(c);
	return 0;
}
