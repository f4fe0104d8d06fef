"""The schemas of the caller and operator API: one per RPC method of
``manager.ControllerManager``, named after it, checked before anything
else runs (``validation.schema``).

A schema describes the method's keyword arguments as one JSON object.
An optional argument left None is as if not given, so its schema is
that of a value. Ints are ints (not bools, not floats, not strings);
every number has a range and every string a length; text where a control
character cannot belong refuses them; ids are UUIDs.

The job spec keeps its own rules (``buildfarm.jobspec``: fields, types,
git URL schemes, refs, timeouts); its schema here only bounds its size
and refuses what must never reach a node (NUL bytes, a URL with
whitespace or control characters, a ref that looks like an option).
"""

from buildfarm import states

MAX_POOL_SIZE = 1000
MAX_HOLD = 7 * 24 * 3600
MAX_LIST_LIMIT = 1000
MAX_LOG_OFFSET = 1 << 40
MAX_LOG_LENGTH = 1 << 20
MAX_SPEC_BYTES = 256 * 1024
MAX_ENV_VARS = 256
MAX_ENV_NAME = 255
MAX_ENV_VALUE = 32 * 1024
MAX_CMD = 64 * 1024
MAX_URL = 4096

# \Z, not $: "$" also matches before a final newline.
UUID_PATTERN = (r'\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z')
# Nor lone surrogates: they cannot be stored or written as UTF-8.
_NO_CONTROL = r'\A[^\x00-\x1f\x7f\ud800-\udfff]*\Z'
_NO_NUL = r'\A[^\x00\ud800-\udfff]*\Z'

# Parameter types; "description" says the rule a pattern stands for.
UUID = {'type': 'string', 'pattern': UUID_PATTERN, 'description': 'a UUID'}
LABEL = {'type': 'string', 'maxLength': 64,
         'pattern': r'\A[A-Za-z0-9][A-Za-z0-9._-]*\Z',
         'description': 'a label (letters, digits, ".", "_" and "-")'}
BOOLEAN = {'type': 'boolean'}
JOB_STATE = {'enum': sorted(states.TERMINAL | states.ACTIVE)}


def _int(minimum, maximum):
    return {'type': 'integer', 'minimum': minimum, 'maximum': maximum}


def _text(max_length, pattern=_NO_CONTROL,
          description='text without control characters'):
    return {'type': 'string', 'maxLength': max_length, 'pattern': pattern,
            'description': description}


def _call(properties, required=()):
    return {'type': 'object', 'properties': properties,
            'required': list(required), 'additionalProperties': False}


# No type: a value of another type is jobspec's to refuse, with its own
# words; these keywords apply to strings (or mappings) only.
_SPEC_TEXT = {'maxLength': 1024, 'pattern': _NO_CONTROL,
              'description': 'text without control characters'}
_ENV = {
    'maxProperties': MAX_ENV_VARS,
    'propertyNames': {'maxLength': MAX_ENV_NAME, 'pattern': _NO_CONTROL,
                      'description': 'a name without control characters'},
    'additionalProperties': {'maxLength': MAX_ENV_VALUE, 'pattern': _NO_NUL,
                             'description': 'text without NUL bytes'},
}
SPEC = {
    'type': 'object',
    'maxProperties': 32,
    'maxJsonBytes': MAX_SPEC_BYTES,
    'properties': {
        'git_url': {'maxLength': MAX_URL,
                    'pattern': r'\A[^\s\x00-\x1f\x7f\ud800-\udfff]*\Z',
                    'description': 'a URL without whitespace or control '
                                   'characters'},
        'ref': {'maxLength': 255,
                'pattern': (r'\A[^-\s\x00-\x1f\x7f\ud800-\udfff]'
                            r'[^\s\x00-\x1f\x7f\ud800-\udfff]*\Z'),
                'description': 'a branch, tag or commit sha (not starting '
                               'with "-")'},
        'cmd': {'maxLength': MAX_CMD, 'pattern': _NO_NUL,
                'description': 'a command without NUL bytes'},
        'env': _ENV,
        'secret_env': _ENV,
        'label': {k: v for k, v in LABEL.items() if k != 'type'},
        'image_name': _SPEC_TEXT,
        'language_pack': _SPEC_TEXT,
        'token': {'maxLength': 16384, 'pattern': _NO_CONTROL,
                  'description': 'a token without control characters'},
    },
}
CALLBACK = {
    'type': 'object',
    'properties': {'mistral_action_execution_id': UUID},
    'required': ['mistral_action_execution_id'],
    'additionalProperties': False,
}
_SUBMIT = _call({'spec': SPEC, 'idempotency_key': _text(255),
                 'callback': CALLBACK}, required=['spec'])
_ONE_JOB = _call({'job_id': UUID}, required=['job_id'])
_ONE_NODE = _call({'node_id': UUID}, required=['node_id'])

repo_job = _SUBMIT
build_image = _SUBMIT
get_job = _ONE_JOB
list_jobs = _call({
    'state': {'if': {'type': 'array'},
              'then': {'items': JOB_STATE,
                       'maxItems': 16},
              'else': JOB_STATE},
    'limit': _int(1, MAX_LIST_LIMIT),
    'marker': UUID,
    'all_projects': BOOLEAN,
})
cancel_job = _ONE_JOB
get_log = _call({'job_id': UUID, 'offset': _int(0, MAX_LOG_OFFSET),
                 'length': _int(1, MAX_LOG_LENGTH)}, required=['job_id'])
pool_list = _call({})
pool_show = _call({'label': LABEL}, required=['label'])
pool_set = _call({'label': LABEL, 'min_ready': _int(0, MAX_POOL_SIZE),
                  'max_nodes': _int(1, MAX_POOL_SIZE)}, required=['label'])
node_list = _call({})
node_hold = _call({'node_id': UUID, 'seconds': _int(1, MAX_HOLD)},
                  required=['node_id', 'seconds'])
node_delete = _ONE_NODE
