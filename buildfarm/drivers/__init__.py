"""Node drivers, found through the ``buildfarm.drivers`` entry points."""

from stevedore import driver as stevedore_driver

from buildfarm import exception

NAMESPACE = 'buildfarm.drivers'


def load(name, conf, transport):
    try:
        manager = stevedore_driver.DriverManager(
            NAMESPACE, name, invoke_on_load=True,
            invoke_args=(conf, transport))
    except Exception as e:
        raise exception.DriverError(
            'Cannot load node driver %r: %s. Installed drivers are listed '
            'under the %s entry points.' % (name, e, NAMESPACE))
    return manager.driver
