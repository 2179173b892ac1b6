build-s/tests/unit/test_catalogue.o: tests/unit/test_catalogue.c \
 common/catalogue.h
common/catalogue.h:
