build-s/tests/unit/test_sbuf.o: tests/unit/test_sbuf.c common/sbuf.h
common/sbuf.h:
