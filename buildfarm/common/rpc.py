"""The one module that owns oslo.messaging.

Transports, the list of exception modules allowed across RPC, clients and
servers (threading executor) all come from here; nothing else imports
oslo_messaging.
"""

import inspect
import threading
import warnings

# oslo.messaging imports oslo.service's eventlet backend, which warns on
# import; buildfarm uses the threading executor and never eventlet.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

import oslo_messaging as messaging  # noqa: E402
from oslo_messaging import opts as messaging_opts  # noqa: E402
from oslo_messaging.rpc import dispatcher  # noqa: E402

AGENT_TOPIC = 'buildfarm-agent'
ALLOWED_EXMODS = ['buildfarm.exception']

MessagingTimeout = messaging.MessagingTimeout
MessagingException = messaging.MessagingException

_transports = {}
_lock = threading.Lock()


def register_opts(conf):
    """Register oslo.messaging's options on a private ConfigOpts."""
    # First: list_opts() copies the options with their current defaults.
    messaging.set_transport_defaults('buildfarm')
    for group, opts in messaging_opts.list_opts():
        conf.register_opts(opts, group=group)
    # oslo.messaging registers these two groups only on the global
    # cfg.CONF, yet reads them from whichever ConfigOpts a client uses.
    from oslo_messaging._metrics import client as metrics_client
    from oslo_messaging._tracing import client as tracing_client
    conf.register_opts(metrics_client.oslo_messaging_metrics,
                       group='oslo_messaging_metrics')
    conf.register_opts(tracing_client.oslo_messaging_tracing,
                       group='oslo_messaging_tracing')


def get_transport(conf, url=None):
    """Return the transport for ``url`` (default: conf.transport_url).

    Transports are shared per URL: the in-process ``fake://`` driver only
    delivers messages between users of the same transport object, which is
    how the all-in-one mode wires its in-process agents to the controller.
    """
    url = url or conf.transport_url
    with _lock:
        if url not in _transports:
            _transports[url] = messaging.get_rpc_transport(
                conf, url=url, allowed_remote_exmods=ALLOWED_EXMODS)
        return _transports[url]


def forget_transport(url):
    with _lock:
        transport = _transports.pop(url, None)
    if transport is not None:
        transport.cleanup()


def get_client(transport, topic, version, server=None, namespace=None,
               timeout=None):
    target = messaging.Target(topic=topic, version=version, server=server,
                              namespace=namespace)
    return messaging.get_rpc_client(transport, target, timeout=timeout)


class _EndpointMethods(dispatcher.DefaultRPCAccessPolicy):
    """Only an endpoint's public methods: never its other attributes
    (its ``target``, the parts it holds), which a caller naming them
    would otherwise reach."""

    def is_allowed(self, endpoint, method):
        return (super().is_allowed(endpoint, method) and
                inspect.ismethod(getattr(endpoint, method, None)))


def get_server(transport, topic, server, endpoints):
    target = messaging.Target(topic=topic, server=server)
    return messaging.get_rpc_server(
        transport, target, endpoints, executor='threading',
        access_policy=_EndpointMethods)


def expected_exceptions(*exceptions):
    """Decorator for endpoints: these errors go back to the caller without
    a traceback in the server's log."""
    return messaging.expected_exceptions(*exceptions)


def target(version, namespace=None):
    """The Target an endpoint class publishes as its ``target`` attribute."""
    return messaging.Target(version=version, namespace=namespace)
