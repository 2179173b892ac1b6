build-s/daemon/exo.o: daemon/exo.c daemon/exo.h common/conf.h \
 common/wire.h common/log.h common/sbuf.h daemon/b64.h daemon/clock.h \
 daemon/cloud.h daemon/exo_codec.h daemon/http.h daemon/jwt.h \
 daemon/pool.h daemon/readonly.h daemon/rnd.h daemon/token.h
daemon/exo.h:
common/conf.h:
common/wire.h:
common/log.h:
common/sbuf.h:
daemon/b64.h:
daemon/clock.h:
daemon/cloud.h:
daemon/exo_codec.h:
daemon/http.h:
daemon/jwt.h:
daemon/pool.h:
daemon/readonly.h:
daemon/rnd.h:
daemon/token.h:
