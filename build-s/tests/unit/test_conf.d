build-s/tests/unit/test_conf.o: tests/unit/test_conf.c common/conf.h \
 common/log.h
common/conf.h:
common/log.h:
