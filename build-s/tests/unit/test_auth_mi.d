build-s/tests/unit/test_auth_mi.o: tests/unit/test_auth_mi.c \
 common/sbuf.h daemon/auth.h common/conf.h common/wire.h daemon/auth_mi.h \
 daemon/http.h daemon/cloud.h daemon/b64.h daemon/jwt.h
common/sbuf.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
daemon/auth_mi.h:
daemon/http.h:
daemon/cloud.h:
daemon/b64.h:
daemon/jwt.h:
