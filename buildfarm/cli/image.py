"""buildfarm image build."""

from cliff import command

from buildfarm import exception
from buildfarm import image


class BuildImage(command.Command):
    """Build the worker image that nodes boot from, and the runtime image
    that build_image jobs build apps on."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--format', choices=['docker'], required=True,
                            help='docker: the container worker image')
        parser.add_argument('--tag', help='image name (default: [docker] '
                            'image)')
        parser.add_argument('--base-image', help='base image (default: '
                            '[image] base_image)')
        parser.add_argument('--runtime-tag', help='name of the runtime '
                            'image (default: [build_image] runtime_image)')
        parser.add_argument('--source', help='buildfarm source tree '
                            '(default: the one this command runs from)')
        return parser

    def take_action(self, args):
        conf = self.app.conf
        tag = args.tag or conf.docker.image
        base = args.base_image or conf.image.base_image
        try:
            image_id = image.build_docker(
                tag, base, args.runtime_tag or conf.build_image.runtime_image,
                source=args.source,
                progress=lambda line: self.app.stderr.write(line + '\n'),
                base_url=conf.docker.base_url)
        except exception.BuildfarmError as e:
            self.app.stderr.write('buildfarm: error: %s\n' % e)
            return 1
        self.app.stdout.write('%s %s\n' % (tag, image_id))
        return 0
