#!/usr/bin/env bash
# npm install's native step: the XS worker with the DTLS binding, then the
# Node addon of the same C core. Each says what is missing and never fails the install.
here=$(dirname "$0")
bash "$here/build-xs-worker.sh"
bash "$here/build-node-addon.sh"
exit 0
