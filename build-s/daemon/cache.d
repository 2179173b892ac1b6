build-s/daemon/cache.o: daemon/cache.c daemon/cache.h common/conf.h \
 common/jtree.h common/sbuf.h daemon/secret.h
daemon/cache.h:
common/conf.h:
common/jtree.h:
common/sbuf.h:
daemon/secret.h:
