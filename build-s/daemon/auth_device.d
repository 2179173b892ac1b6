build-s/daemon/auth_device.o: daemon/auth_device.c daemon/auth_device.h \
 daemon/auth_method.h daemon/auth.h common/conf.h common/wire.h \
 common/jtree.h common/sbuf.h daemon/clock.h daemon/hint.h daemon/http.h \
 daemon/oauth.h
daemon/auth_device.h:
daemon/auth_method.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
common/jtree.h:
common/sbuf.h:
daemon/clock.h:
daemon/hint.h:
daemon/http.h:
daemon/oauth.h:
