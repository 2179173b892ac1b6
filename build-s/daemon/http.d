build-s/daemon/http.o: daemon/http.c daemon/http.h common/log.h \
 common/sbuf.h
daemon/http.h:
common/log.h:
common/sbuf.h:
