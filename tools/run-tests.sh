#!/bin/bash
# The whole test suite on a fresh Debian 12 machine (as root): sets up
# RabbitMQ, Docker and the worker image, then runs every tox environment.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-test-env.sh
tox -e py3,pep8,linters,functional,genconfig "$@"
# The committed sample configuration must be the generated one.
git diff --exit-code -- etc/buildfarm/buildfarm.conf.sample
