"""Not Neutron: the least HTTP service that lets the test Nova work.

nova-api asks Neutron for ports and security groups whenever it shows a
server, and nova-compute asks for ports when it deletes one, even for
servers booted with networks='none'. Here there are no ports anywhere:
every collection is empty and every write is refused.

usage: python neutron_standin.py PORT   (listens on 127.0.0.1)
"""

from http import server
import json
import sys
from urllib import parse

PORT = int(sys.argv[1])


class Handler(server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = parse.urlsplit(self.path).path.strip('/').split('/')
        if parts in ([''], ['v2.0']):
            self._answer(200, {'versions': [{
                'id': 'v2.0', 'status': 'CURRENT', 'links': [{
                    'rel': 'self',
                    'href': 'http://127.0.0.1:%d/v2.0/' % PORT}]}]})
        elif len(parts) == 2 and parts[0] == 'v2.0':
            self._answer(200, {parts[1].replace('-', '_'): []})
        else:
            self._answer(404, {'NeutronError': {
                'type': 'NotFound', 'message': 'not found', 'detail': ''}})

    def _refuse(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self._answer(501, {'NeutronError': {
            'type': 'NotImplemented', 'message': 'stand-in', 'detail': ''}})

    do_POST = do_PUT = do_DELETE = _refuse

    def log_message(self, fmt, *args):
        pass


server.ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
