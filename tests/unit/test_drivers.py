"""Loading node drivers through their entry points."""

import pytest

from buildfarm.common import rpc
from buildfarm import drivers
from buildfarm import exception


def test_only_the_local_driver_gets_the_transport(conf):
    transport = rpc.get_transport(conf)
    local = drivers.load('local', conf, transport)
    assert local.transport is transport
    fake = drivers.load('fake', conf, transport)
    assert not hasattr(fake, 'transport')


def test_an_unknown_driver_is_a_driver_error(conf):
    with pytest.raises(exception.DriverError, match="'nope'"):
        drivers.load('nope', conf)
