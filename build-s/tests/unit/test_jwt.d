build-s/tests/unit/test_jwt.o: tests/unit/test_jwt.c daemon/cert.h \
 common/sbuf.h daemon/b64.h daemon/jwt.h common/conf.h
daemon/cert.h:
common/sbuf.h:
daemon/b64.h:
daemon/jwt.h:
common/conf.h:
