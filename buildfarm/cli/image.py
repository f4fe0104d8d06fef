"""buildfarm image build."""

import datetime
import os

from cliff import command

from buildfarm import exception
from buildfarm import image


class BuildWorkerImage(command.Command):
    """Build a worker image. docker: the container worker image, and the
    runtime image that build_image jobs build apps on. qcow2: the VM
    worker image (diskimage-builder with our elements), optionally
    uploaded to Glance."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--format', choices=['docker', 'qcow2'],
                            required=True,
                            help='docker: container worker image; qcow2: '
                                 'VM worker image')
        parser.add_argument('--tag', help='docker: image name (default: '
                            '[docker] image); qcow2: the output file '
                            'without .qcow2 and the Glance name (default: '
                            '[nova] image)')
        parser.add_argument('--base-image', help='docker: base image '
                            '(default: [image] base_image)')
        parser.add_argument('--runtime-tag', help='docker: name of the '
                            'runtime image (default: [build_image] '
                            'runtime_image)')
        parser.add_argument('--elements', nargs='+', metavar='ELEMENT',
                            help='qcow2: the elements (default: [image] '
                                 'vm_elements and every lp-* element)')
        parser.add_argument('--upload', action='store_true',
                            help='qcow2: upload to the Glance of [nova] '
                                 'cloud, keeping the newest [image] '
                                 'keep_uploads')
        parser.add_argument('--source', help='buildfarm source tree '
                            '(default: the one this command runs from)')
        return parser

    def _progress(self, line):
        self.app.stderr.write(line + '\n')

    def take_action(self, args):
        try:
            if args.format == 'docker':
                result = self._docker(args)
            else:
                result = self._qcow2(args)
        except exception.BuildfarmError as e:
            self.app.stderr.write('buildfarm: error: %s\n' % e)
            return 1
        self.app.stdout.write(result + '\n')
        return 0

    def _docker(self, args):
        conf = self.app.conf
        tag = args.tag or conf.docker.image
        image_id = image.build_docker(
            tag, args.base_image or conf.image.base_image,
            args.runtime_tag or conf.build_image.runtime_image,
            source=args.source, progress=self._progress,
            base_url=conf.docker.base_url)
        return '%s %s' % (tag, image_id)

    def _qcow2(self, args):
        conf = self.app.conf
        name = args.tag or conf.nova.image
        path = image.build_qcow2(os.path.abspath(name), conf.image,
                                 source=args.source, elements=args.elements,
                                 progress=self._progress)
        if not args.upload:
            return path
        import openstack  # late: only uploads need it
        uploaded = image.upload_qcow2(
            openstack.connect(cloud=conf.nova.cloud), path,
            os.path.basename(name), conf.image.keep_uploads,
            {'buildfarm_built_at': datetime.datetime.now(
                datetime.timezone.utc).isoformat()},
            progress=self._progress)
        return '%s %s' % (path, uploaded.id)
