build-s/tests/unit/test_wire.o: tests/unit/test_wire.c common/wire.h
common/wire.h:
