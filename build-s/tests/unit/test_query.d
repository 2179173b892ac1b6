build-s/tests/unit/test_query.o: tests/unit/test_query.c client/output.h \
 client/query.h
client/output.h:
client/query.h:
