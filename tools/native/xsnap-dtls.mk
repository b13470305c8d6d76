# Wraps @agoric/xsnap's own worker makefile (run from its folder with -f):
# adds the DTLS binding, the loader overlay and mbedtls.
include xsnap-worker.mk

OVERLAY_DIR ?= $(BUILD_DIR)/overlay
DTLS_DIR ?= $(CURDIR)/../../../../../../../modules/dtls
MBEDTLS_CFLAGS ?=
MBEDTLS_LDFLAGS ?=

OBJECTS += $(TMP_DIR)/dtls-core.o $(TMP_DIR)/dtls-shared.o $(TMP_DIR)/dtls-resume.o $(TMP_DIR)/dtls-xs.o
C_OPTIONS += -I$(DTLS_DIR) $(MBEDTLS_CFLAGS)
LIBRARIES += $(MBEDTLS_LDFLAGS) -lmbedtls -lmbedx509 -lmbedcrypto
VPATH := $(OVERLAY_DIR) $(DTLS_DIR) $(VPATH)

# The package's link rule expanded its prerequisites before these lines were read.
$(BIN_DIR)/$(NAME): $(TMP_DIR)/dtls-core.o $(TMP_DIR)/dtls-shared.o $(TMP_DIR)/dtls-resume.o $(TMP_DIR)/dtls-xs.o
$(TMP_DIR)/dtls-core.o $(TMP_DIR)/dtls-shared.o $(TMP_DIR)/dtls-resume.o $(TMP_DIR)/dtls-xs.o: $(DTLS_DIR)/dtls-core.h $(DTLS_DIR)/dtls-compat.h $(DTLS_DIR)/dtls-shared.h $(DTLS_DIR)/dtls-session.h
$(TMP_DIR)/xsnapPlatform.o: $(OVERLAY_DIR)/xsnapPlatform.c $(OVERLAY_DIR)/xs-host-loader.c
