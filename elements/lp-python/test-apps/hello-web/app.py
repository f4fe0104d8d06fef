"""A web app with nothing but the standard library: answers on $PORT."""

import http.server
import os


class Hello(http.server.BaseHTTPRequestHandler):

    def do_GET(self):
        body = b'hello from lp-python\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.HTTPServer(('', int(os.environ['PORT'])), Hello).serve_forever()
