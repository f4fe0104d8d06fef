"""A git smart-HTTP server with basic authentication on 127.0.0.1, for
tests: ``git http-backend`` behind Python's HTTP server."""

import base64
import http.server
import subprocess
import threading


class _Handler(http.server.BaseHTTPRequestHandler):

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def _body(self):
        if self.headers.get('Transfer-Encoding') == 'chunked':
            body = b''
            while True:
                size = int(self.rfile.readline().split(b';')[0], 16)
                body += self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    return body
        return self.rfile.read(int(self.headers.get('Content-Length') or 0))

    def _serve(self):
        server = self.server
        server.requests.append((self.path,
                                self.headers.get('Authorization')))
        body = self._body()
        if self.headers.get('Authorization') != server.authorization:
            self.send_response(401)
            self.send_header('WWW-Authenticate', 'Basic realm="git"')
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        path, _, query = self.path.partition('?')
        env = {'PATH': '/usr/bin:/bin', 'GIT_PROJECT_ROOT': server.root,
               'GIT_HTTP_EXPORT_ALL': '1', 'PATH_INFO': path,
               'QUERY_STRING': query, 'REQUEST_METHOD': self.command,
               'REMOTE_USER': server.user, 'REMOTE_ADDR': '127.0.0.1',
               'CONTENT_TYPE': self.headers.get('Content-Type', ''),
               'CONTENT_LENGTH': str(len(body))}
        for header in ('Content-Encoding', 'Git-Protocol'):
            if self.headers.get(header):
                env['HTTP_' + header.upper().replace('-', '_')] = (
                    self.headers[header])
        done = subprocess.run(['git', 'http-backend'], input=body, env=env,
                              capture_output=True, timeout=60)
        head, _, payload = done.stdout.partition(b'\r\n\r\n')
        headers = [line.split(':', 1) for line in
                   head.decode('latin-1').split('\r\n') if ':' in line]
        status = dict((k.lower(), v) for k, v in headers).get('status')
        self.send_response(int(status.split()[0]) if status else 200)
        for name, value in headers:
            if name.lower() != 'status':
                self.send_header(name, value.strip())
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class GitHttpServer(http.server.ThreadingHTTPServer):
    """Serves the repositories under ``root`` to ``user``:``password``
    only; ``requests`` lists (path, Authorization header) of every
    request."""

    daemon_threads = True

    def __init__(self, root, user, password):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.root, self.user = str(root), user
        self.authorization = 'Basic ' + base64.b64encode(
            ('%s:%s' % (user, password)).encode()).decode()
        self.requests = []
        self._thread = threading.Thread(target=self.serve_forever,
                                        daemon=True)

    @property
    def port(self):
        return self.server_address[1]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
