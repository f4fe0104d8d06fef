# gunicorn settings of the test Keystone; KEYSTONE_BIND gives the address.
import os
import sys

wsgi_app = 'keystone.wsgi.api:application'
bind = os.environ.get('KEYSTONE_BIND', '127.0.0.1:15000')
workers = 1
threads = 4
timeout = 120
control_socket_disable = True


def post_fork(server, worker):
    # Keystone hands sys.argv to oslo.config when it loads the app, and
    # oslo.config refuses gunicorn's own arguments.
    del sys.argv[1:]
