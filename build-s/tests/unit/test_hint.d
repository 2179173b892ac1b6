build-s/tests/unit/test_hint.o: tests/unit/test_hint.c common/conf.h \
 daemon/hint.h
common/conf.h:
daemon/hint.h:
