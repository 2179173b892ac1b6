build-s/tests/unit/test_output.o: tests/unit/test_output.c \
 client/output.h
client/output.h:
