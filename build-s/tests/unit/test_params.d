build-s/tests/unit/test_params.o: tests/unit/test_params.c \
 client/params.h
client/params.h:
