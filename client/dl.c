/* Optional libraries, loaded at first use. */
#include "dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int dl_load(const char *soname, const char *package, const struct dl_sym *syms, size_t nsyms,
	    char *err, size_t errlen)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(err, errlen, "cannot load %s (install Debian's %s): %s", soname, package,
			 dlerror());
		return -1;
	}
	/* all or nothing: a slot is set only when every symbol is there */
	for (size_t i = 0; i < nsyms; i++) {
		if (dlsym(h, syms[i].name) == NULL) {
			snprintf(err, errlen, "%s has no %s (install Debian's %s)", soname,
				 syms[i].name, package);
			dlclose(h);
			return -1;
		}
	}
	for (size_t i = 0; i < nsyms; i++) {
		void *p = dlsym(h, syms[i].name);

		memcpy(syms[i].slot, &p, sizeof(p));
	}
	return 0;
}
