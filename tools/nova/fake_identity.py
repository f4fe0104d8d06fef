"""WSGI filter for the test Nova: every request is the admin of project
"admin", as Keystone's auth_token middleware would say for a real token.
Nova 34 has no noauth mode of its own; clients of this Nova need no
credentials at all (openstacksdk: auth_type none)."""

_IDENTITY = {'HTTP_X_USER_ID': 'admin', 'HTTP_X_PROJECT_ID': 'admin',
             'HTTP_X_ROLES': 'admin,member,reader',
             'HTTP_X_AUTH_TOKEN': 'no-keystone'}


def filter_factory(global_conf, **local_conf):
    def middleware(app):
        def call(environ, start_response):
            for key, value in _IDENTITY.items():
                environ.setdefault(key, value)
            return app(environ, start_response)
        return call
    return middleware
