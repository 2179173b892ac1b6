build-s/daemon/server.o: daemon/server.c daemon/server.h common/binder.h \
 common/catalogue.h common/conf.h common/jtree.h common/log.h \
 common/sbuf.h common/wire.h daemon/clock.h daemon/exo_codec.h \
 daemon/http.h daemon/invoke.h daemon/exo.h daemon/json.h \
 daemon/metrics.h daemon/profile.h daemon/access.h daemon/auth.h \
 daemon/token.h daemon/readonly.h
daemon/server.h:
common/binder.h:
common/catalogue.h:
common/conf.h:
common/jtree.h:
common/log.h:
common/sbuf.h:
common/wire.h:
daemon/clock.h:
daemon/exo_codec.h:
daemon/http.h:
daemon/invoke.h:
daemon/exo.h:
daemon/json.h:
daemon/metrics.h:
daemon/profile.h:
daemon/access.h:
daemon/auth.h:
daemon/token.h:
daemon/readonly.h:
