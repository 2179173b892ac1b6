build-s/daemon/hint.o: daemon/hint.c daemon/hint.h common/conf.h
daemon/hint.h:
common/conf.h:
