build-s/common/wire.o: common/wire.c common/wire.h common/jtree.h
common/wire.h:
common/jtree.h:
