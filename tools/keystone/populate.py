"""Fill the test Keystone (after keystone-manage bootstrap): projects,
users and roles of the functional tests, the image service of the
Keystone-protected Glance, and a clouds.yaml naming them.

Usage: populate.py KEYSTONE_URL GLANCE_URL CLOUDS_YAML
Every password is secret-<user> (test only).
"""

import sys

import openstack
import yaml

ROLES = ('reader', 'member', 'admin', 'service', 'buildfarm_operator')
# user: (project, roles)
USERS = {
    'alice': ('alpha', ['member']),
    'bob': ('beta', ['member']),
    'oscar': ('alpha', ['member', 'buildfarm_operator']),
    'buildfarm': ('service', ['admin', 'service']),
    'glance': ('service', ['admin', 'service']),
}
CLOUDS = {
    'buildfarm-alice': 'alice',
    'buildfarm-bob': 'bob',
    'buildfarm-oscar': 'oscar',
    'buildfarm-admin': 'admin',
    'buildfarm-controller': 'buildfarm',
}
REGION = 'RegionOne'


def _cloud(url, user, project):
    return {'auth': {'auth_url': url, 'username': user,
                     'password': 'secret-' + user, 'project_name': project,
                     'user_domain_name': 'Default',
                     'project_domain_name': 'Default'},
            'region_name': REGION, 'identity_api_version': 3,
            'interface': 'public'}


def main(url, glance_url, clouds_path):
    admin = openstack.connect(**_cloud(url, 'admin', 'admin'))
    ident = admin.identity
    roles = {r.name: r for r in ident.roles()}
    for name in ROLES:
        if name not in roles:
            roles[name] = ident.create_role(name=name)
    projects = {}
    for project, _ in USERS.values():
        if project not in projects:
            projects[project] = ident.create_project(
                name=project, domain_id='default')
    for user, (project, user_roles) in USERS.items():
        u = ident.create_user(name=user, password='secret-' + user,
                              domain_id='default',
                              default_project_id=projects[project].id)
        for role in user_roles:
            ident.assign_project_role_to_user(
                projects[project], u, roles[role])
    service = ident.create_service(name='glance', type='image')
    for interface in ('public', 'internal', 'admin'):
        ident.create_endpoint(service_id=service.id, interface=interface,
                              url=glance_url, region_id=REGION)
    clouds = {name: _cloud(url, user, USERS.get(user, ('admin',))[0])
              for name, user in CLOUDS.items()}
    with open(clouds_path, 'w') as f:
        yaml.safe_dump({'clouds': clouds}, f, default_flow_style=False)


if __name__ == '__main__':
    main(*sys.argv[1:])
