build-s/tests/unit/test_access.o: tests/unit/test_access.c \
 daemon/access.h common/conf.h
daemon/access.h:
common/conf.h:
