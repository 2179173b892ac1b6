build-s/tests/unit/test_cert.o: tests/unit/test_cert.c daemon/cert.h
daemon/cert.h:
