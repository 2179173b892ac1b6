/*
 * fuzz_region: where exod lets a Security & Compliance front door's
 * redirect take the bearer token (daemon/region.c): region_resolve maps
 * the Location header to a regional host, region_frontdoor_allowed judges
 * a configured front door.  Input: byte 0 picks the environment and a real
 * or loopback front door; the rest is split at NUL bytes into the Location
 * and a front door to judge.  A regional host is https on the
 * environment's own regional domain (a loopback front door keeps its own
 * host), NUL-terminated within its buffer; a refusal always says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/cloud.h"
#include "daemon/region.h"
#include "tests/fuzz/fuzz_util.h"

#define ENVIRONMENTS 5          /* enum conf_environment */
#define LOOPBACK "https://127.0.0.1:4443"

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

static void check_resolve(const struct cloud_compliance *cc, const char *frontdoor,
			  const char *location)
{
	char origin[512], why[256];

	why[0] = '\0';
	memset(origin, 'x', sizeof(origin));
	if (region_resolve(frontdoor, cc, location, origin, sizeof(origin), why, sizeof(why)) == 0) {
		FUZZ_CHECK(memchr(origin, '\0', sizeof(origin)) != NULL);
		if (strcmp(frontdoor, LOOPBACK) == 0) {
			FUZZ_CHECK(strncmp(origin, "https://127.0.0.1", 17) == 0 ||
				   strncmp(origin, "http://127.0.0.1", 16) == 0);
		} else {
			FUZZ_CHECK(strncmp(origin, "https://", 8) == 0);
			FUZZ_CHECK(strchr(origin + 8, '/') == NULL && strchr(origin + 8, '@') == NULL);
			FUZZ_CHECK(ends_with(origin, cc->region_domain));
		}
	} else {
		FUZZ_CHECK(why[0] != '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cloud_compliance *cc;
	struct fuzz_argv a;
	char why[256];

	if (size < 1)
		return 0;
	cc = cloud_get((enum conf_environment)(data[0] % ENVIRONMENTS))->compliance;
	if (cc == NULL)
		return 0;
	fuzz_argv_make(&a, data + 1, size - 1, 2);
	if (a.argc < 1) {
		fuzz_argv_free(&a);
		return 0;
	}
	check_resolve(cc, data[0] & 0x80 ? LOOPBACK : cc->frontdoor_uri, a.argv[0]);
	if (a.argc > 1) {
		why[0] = '\0';
		if (region_frontdoor_allowed(a.argv[1], cc, why, sizeof(why)) == 0)
			FUZZ_CHECK(why[0] != '\0');
	}
	fuzz_argv_free(&a);
	return 0;
}
