#!/bin/bash
# The whole test suite on a fresh Debian 12 machine (as root): sets up
# RabbitMQ, Docker and the worker image, then runs every tox environment.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-test-env.sh
tox -e py3,pep8,linters,functional,genconfig,genpolicy "$@"
# The committed sample configuration and policy must be the generated ones.
git diff --exit-code -- etc/buildfarm/buildfarm.conf.sample \
    etc/buildfarm/policy.yaml.sample
