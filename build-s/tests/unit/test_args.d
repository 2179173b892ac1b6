build-s/tests/unit/test_args.o: tests/unit/test_args.c client/args.h
client/args.h:
