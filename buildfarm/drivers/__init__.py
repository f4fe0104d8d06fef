"""Node drivers, found through the ``buildfarm.drivers`` entry points."""

from stevedore import driver as stevedore_driver

from buildfarm import exception

NAMESPACE = 'buildfarm.drivers'


def load(name, conf, transport=None):
    """Make the driver ``name`` for ``conf``.

    ``transport``, the controller's RPC transport, goes only to a driver
    whose class sets ``needs_transport``.
    """
    try:
        cls = stevedore_driver.DriverManager(NAMESPACE, name).driver
        if cls.needs_transport:
            return cls(conf, transport)
        return cls(conf)
    except Exception as e:
        raise exception.DriverError(
            'Cannot load node driver %r: %s. Installed drivers are listed '
            'under the %s entry points.' % (name, e, NAMESPACE))


def load_all(labels, conf, transport=None):
    """Make the driver of each label (once per driver) and check each
    label's settings with it; return {driver name: driver}.

    ``labels``: buildfarm.controller.pools.Label objects. ``transport``:
    as for ``load``. Raises InvalidPool for a label whose settings its
    driver refuses.
    """
    loaded = {}
    for label in labels:
        if label.driver not in loaded:
            loaded[label.driver] = load(label.driver, conf, transport)
        loaded[label.driver].validate_settings(label.settings, label.name)
    return loaded
