"""Pools of nodes by label, from the pools file and run-time changes.

A label names a driver, the driver's settings (worker image, size) and
the pool's limits. The pools file (``[controller] pools_file``, YAML)
gives the initial limits; ``pool set`` changes ``min_ready`` and
``max_nodes`` at run time and the change is stored, so it survives a
restart::

    labels:
      - name: docker-small
        driver: docker
        min-ready: 1          # booted, registered, idle nodes kept waiting
        max-nodes: 4
        max-concurrent-boots: 2
        boot-timeout: 120     # seconds from boot to agent registration
        docker:               # the driver's settings for this label
          image: buildfarm-worker:latest
          memory_limit: 2g
          cpus: 1
          pids_limit: 1024

Without a pools file there is one label, ``default``, made of the
``[controller]`` and ``[docker]`` options.

A label's driver checks its settings when the controller starts
(``NodeDriver.validate_settings``, through ``drivers.load_all``).
"""

import dataclasses
import logging
import re
import threading

import yaml

from buildfarm.controller import schemas
from buildfarm import exception

LOG = logging.getLogger(__name__)

DEFAULT_LABEL = 'default'
_LIMITS = {'min-ready': 'min_ready', 'max-nodes': 'max_nodes',
           'max-concurrent-boots': 'max_concurrent_boots',
           'boot-timeout': 'boot_timeout'}


@dataclasses.dataclass
class Label:
    name: str
    driver: str
    min_ready: int
    max_nodes: int
    max_concurrent_boots: int
    boot_timeout: int
    # Settings for the driver, e.g. {'image': ..., 'memory_limit': ...}.
    settings: dict = dataclasses.field(default_factory=dict)

    def view(self):
        return dataclasses.asdict(self)


def _check_limits(label):
    for name in _LIMITS.values():
        value = getattr(label, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise exception.InvalidPool(
                'Label %s: %s must be a whole number, got %.40r.'
                % (label.name, name, value))
    if not 0 <= label.min_ready <= label.max_nodes:
        raise exception.InvalidPool(
            'Label %s: min_ready (%d) must be between 0 and max_nodes (%d).'
            % (label.name, label.min_ready, label.max_nodes))
    if label.max_nodes < 1 or label.max_concurrent_boots < 1 or \
            label.boot_timeout < 1:
        raise exception.InvalidPool(
            'Label %s: max_nodes, max_concurrent_boots and boot_timeout '
            'must be at least 1.' % label.name)


def _from_file(path, defaults):
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        raise exception.InvalidPool('Cannot read pools file %s: %s'
                                    % (path, e))
    labels = {}
    for entry in data.get('labels') or []:
        entry = dict(entry)
        name = entry.pop('name', None)
        driver = entry.pop('driver', None)
        if not name or not driver:
            raise exception.InvalidPool(
                'Pools file %s: every label needs a name and a driver.'
                % path)
        if not (isinstance(name, str) and
                re.match(schemas.LABEL['pattern'], name) and
                len(name) <= schemas.LABEL['maxLength']):
            raise exception.InvalidPool(
                'Pools file %s: label name %.80r is not %s, at most %d '
                'long.' % (path, name, schemas.LABEL['description'],
                           schemas.LABEL['maxLength']))
        limits = dict(defaults)
        for key in list(entry):
            if key in _LIMITS:
                limits[_LIMITS[key]] = entry.pop(key)
        settings = entry.pop(driver, {}) or {}
        if entry:
            raise exception.InvalidPool(
                'Pools file %s, label %s: unknown key(s) %s; valid: name, '
                'driver, %s, %s.' % (path, name, ', '.join(sorted(entry)),
                                     ', '.join(_LIMITS), driver))
        labels[name] = Label(name=name, driver=driver, settings=settings,
                             **limits)
    if not labels:
        raise exception.InvalidPool('Pools file %s defines no label.'
                                    % path)
    return labels


class Pools:

    def __init__(self, conf, store):
        self.store = store
        ctrl = conf.controller
        defaults = {'min_ready': ctrl.min_ready, 'max_nodes': ctrl.max_nodes,
                    'max_concurrent_boots': ctrl.max_concurrent_boots,
                    'boot_timeout': ctrl.boot_timeout}
        if ctrl.pools_file:
            self._labels = _from_file(ctrl.pools_file, defaults)
        else:
            self._labels = {DEFAULT_LABEL: Label(
                name=DEFAULT_LABEL, driver=ctrl.driver, **defaults)}
        self.default = ctrl.default_label or next(iter(self._labels))
        if self.default not in self._labels:
            raise exception.InvalidPool(
                '[controller] default_label %s is not a label of the pools '
                'file.' % self.default)
        self._lock = threading.Lock()
        for name, values in store.pool_overrides().items():
            if name in self._labels:
                try:
                    self._apply(name, values)
                except exception.InvalidPool as e:
                    # Stored by an older controller that took any value:
                    # the pool keeps its configured limits rather than
                    # stop the controller or its control loop.
                    LOG.warning('Ignoring the stored change of pool %s: '
                                '%s', name, e)
        for label in self._labels.values():
            _check_limits(label)

    def _apply(self, name, values):
        label = self._labels[name]
        changed = dataclasses.replace(label, **{
            k: v for k, v in values.items() if v is not None})
        _check_limits(changed)
        self._labels[name] = changed
        return changed

    def get(self, name=None):
        try:
            return self._labels[name or self.default]
        except KeyError:
            raise exception.UnknownLabel(
                'Unknown label %r; this controller has: %s.'
                % (name, ', '.join(sorted(self._labels))))

    def all(self):
        return list(self._labels.values())

    def drivers(self):
        return sorted({label.driver for label in self._labels.values()})

    def set(self, name, min_ready=None, max_nodes=None):
        """Change a pool at run time; stored so that a restart keeps it."""
        self.get(name)
        with self._lock:
            label = self._apply(name, {'min_ready': min_ready,
                                       'max_nodes': max_nodes})
            self.store.set_pool(name, min_ready=min_ready,
                                max_nodes=max_nodes)
        return label
