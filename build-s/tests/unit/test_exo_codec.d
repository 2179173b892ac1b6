build-s/tests/unit/test_exo_codec.o: tests/unit/test_exo_codec.c \
 common/sbuf.h common/utf8.h daemon/exo_codec.h
common/sbuf.h:
common/utf8.h:
daemon/exo_codec.h:
