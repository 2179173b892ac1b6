build-s/daemon/main.o: daemon/main.c common/conf.h common/log.h \
 daemon/cache.h daemon/http.h daemon/metrics_http.h daemon/profile.h \
 daemon/access.h daemon/auth.h common/wire.h daemon/exo.h daemon/token.h \
 daemon/server.h
common/conf.h:
common/log.h:
daemon/cache.h:
daemon/http.h:
daemon/metrics_http.h:
daemon/profile.h:
daemon/access.h:
daemon/auth.h:
common/wire.h:
daemon/exo.h:
daemon/token.h:
daemon/server.h:
