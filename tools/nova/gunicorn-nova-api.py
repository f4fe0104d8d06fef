# gunicorn settings of the test nova-api; NOVA_API_BIND gives the address.
import os
import sys

wsgi_app = 'nova.wsgi.osapi_compute:application'
bind = os.environ.get('NOVA_API_BIND', '127.0.0.1:18774')
workers = 1
threads = 4
timeout = 300
control_socket_disable = True


def post_fork(server, worker):
    # Nova hands sys.argv to oslo.config when it loads the app (after this
    # hook), and oslo.config refuses gunicorn's own arguments.
    del sys.argv[1:]
