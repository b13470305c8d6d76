# Wraps @agoric/xsnap's own worker makefile (run from its folder with -f):
# adds the DTLS and crypto bindings, the loader overlay and mbedtls.
include xsnap-worker.mk

OVERLAY_DIR ?= $(BUILD_DIR)/overlay
DTLS_DIR ?= $(CURDIR)/../../../../../../../modules/dtls
CRYPTO_DIR ?= $(CURDIR)/../../../../../../../modules/crypto
MBEDTLS_CFLAGS ?=
MBEDTLS_LDFLAGS ?=

DTLS_OBJECTS = $(TMP_DIR)/dtls-core.o $(TMP_DIR)/dtls-shared.o $(TMP_DIR)/dtls-resume.o $(TMP_DIR)/dtls-xs.o
CRYPTO_OBJECTS = $(TMP_DIR)/crypto-core.o $(TMP_DIR)/crypto-xs.o

OBJECTS += $(DTLS_OBJECTS) $(CRYPTO_OBJECTS)
C_OPTIONS += -I$(DTLS_DIR) -I$(CRYPTO_DIR) $(MBEDTLS_CFLAGS)
LIBRARIES += $(MBEDTLS_LDFLAGS) -lmbedtls -lmbedx509 -lmbedcrypto
VPATH := $(OVERLAY_DIR) $(DTLS_DIR) $(CRYPTO_DIR) $(VPATH)

# The package's link rule expanded its prerequisites before these lines were read.
$(BIN_DIR)/$(NAME): $(DTLS_OBJECTS) $(CRYPTO_OBJECTS)
$(DTLS_OBJECTS): $(DTLS_DIR)/dtls-core.h $(DTLS_DIR)/dtls-compat.h $(DTLS_DIR)/dtls-shared.h $(DTLS_DIR)/dtls-session.h
$(CRYPTO_OBJECTS): $(CRYPTO_DIR)/crypto-core.h $(CRYPTO_DIR)/crypto-compat.h
$(TMP_DIR)/xsnapPlatform.o: $(OVERLAY_DIR)/xsnapPlatform.c $(OVERLAY_DIR)/xs-host-loader.c
