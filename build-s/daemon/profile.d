build-s/daemon/profile.o: daemon/profile.c daemon/profile.h common/conf.h \
 daemon/access.h daemon/auth.h common/wire.h daemon/exo.h daemon/token.h \
 common/sbuf.h daemon/cloud.h daemon/json.h daemon/metrics.h \
 daemon/pool.h daemon/secret.h
daemon/profile.h:
common/conf.h:
daemon/access.h:
daemon/auth.h:
common/wire.h:
daemon/exo.h:
daemon/token.h:
common/sbuf.h:
daemon/cloud.h:
daemon/json.h:
daemon/metrics.h:
daemon/pool.h:
daemon/secret.h:
