build-s/daemon/token.o: daemon/token.c daemon/token.h common/conf.h \
 common/wire.h common/log.h common/sbuf.h daemon/auth.h daemon/cache.h \
 daemon/clock.h daemon/jwt.h daemon/rnd.h
daemon/token.h:
common/conf.h:
common/wire.h:
common/log.h:
common/sbuf.h:
daemon/auth.h:
daemon/cache.h:
daemon/clock.h:
daemon/jwt.h:
daemon/rnd.h:
