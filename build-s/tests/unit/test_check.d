build-s/tests/unit/test_check.o: tests/unit/test_check.c client/check.h \
 client/progress.h
client/check.h:
client/progress.h:
