"""Checks the arguments of an API call against its schema
(``buildfarm.controller.schemas``) and says what is wrong with them.

``schema`` decorates the RPC endpoints; ``check`` and ``convert`` serve
other callers of the same schemas (the Mistral actions). An error is an
InvalidInput naming the call, the argument and the rule, e.g.
``pool_set: min_ready: 0.5 is not of type 'integer'``; it never repeats
a secret and never echoes more than a short piece of a long value.
"""

import functools
import inspect
import json
import re

import jsonschema
from jsonschema import validators

from buildfarm.controller import schemas
from buildfarm import exception

# Where a value may be a secret (a spec's, checked in a call or on its
# own): it is never repeated in an error.
_SECRET_FIELDS = frozenset(['secret_env', 'token', 'git_url'])
_SHOWN = 60
_MAX_MESSAGE = 500
_INTEGER = re.compile(r'\A[+-]?[0-9]{1,18}\Z')
_BOOLEANS = {'true': True, 'false': False}


def _is_integer(checker, instance):
    # JSON Schema counts 1.0 and (in Python) True as integers: not here.
    return isinstance(instance, int) and not isinstance(instance, bool)


def _max_json_bytes(validator, limit, instance, schema):
    try:
        size = len(json.dumps(instance))
    except (TypeError, ValueError, RecursionError):
        yield jsonschema.ValidationError('is not made of JSON values')
        return
    if size > limit:
        yield jsonschema.ValidationError(
            'is %d bytes as JSON, more than %d' % (size, limit))


_Validator = validators.extend(
    jsonschema.Draft202012Validator,
    validators={'maxJsonBytes': _max_json_bytes},
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        'integer', _is_integer))


def _shown(value):
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + '...'


def _message(error):
    path = tuple(str(p) for p in error.absolute_path)
    # A value under a secret field, or a mapping holding one (the whole
    # spec, when it has too many keys), is not shown.
    secret = bool(_SECRET_FIELDS.intersection(path)) or (
        isinstance(error.instance, dict) and
        bool(_SECRET_FIELDS.intersection(error.instance)))
    shown = 'the value' if secret else _shown(error.instance)
    description = error.schema.get('description') if isinstance(
        error.schema, dict) else None
    if error.validator == 'pattern' and description:
        text = '%s is not %s' % (shown, description)
    elif error.validator == 'maxLength':
        text = '%s is longer than %d characters' % (
            shown, error.validator_value)
    elif error.validator == 'additionalProperties' and isinstance(
            error.instance, dict):
        known = error.schema.get('properties', {})
        text = 'unknown %s %s; valid: %s' % (
            'argument(s)' if not path else 'key(s)',
            ', '.join(_shown(k) for k in sorted(
                set(error.instance) - set(known))[:5]),
            ', '.join(sorted(known)) or 'none')
    elif error.validator == 'maxJsonBytes':
        text = 'the value %s' % error.message
    else:
        text = error.message.replace(repr(error.instance), shown)
    if path:
        text = '%s: %s' % ('.'.join(path), text)
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + '...'
    return text


def check(name, schema, args):
    """Raise InvalidInput naming ``name`` unless ``args`` (a dict of
    arguments) is valid under ``schema``."""
    try:
        error = jsonschema.exceptions.best_match(
            _Validator(schema).iter_errors(args))
    except RecursionError:
        raise exception.InvalidInput('%s: the arguments are nested too '
                                     'deeply.' % name)
    if error is not None:
        raise exception.InvalidInput('%s: %s' % (name, _message(error)))


def convert(schema, args):
    """``args`` with the text that stands for an integer or a boolean
    where ``schema`` wants one (at the top level) made into it: Mistral's
    YAML and expressions often give "2" or "true"."""
    converted = dict(args)
    for name, value in args.items():
        wanted = schema.get('properties', {}).get(name, {}).get('type')
        if not isinstance(value, str):
            continue
        if wanted == 'integer' and _INTEGER.match(value.strip()):
            converted[name] = int(value)
        elif wanted == 'boolean' and value.strip().lower() in _BOOLEANS:
            converted[name] = _BOOLEANS[value.strip().lower()]
    return converted


def is_uuid(value):
    return isinstance(value, str) and bool(
        re.match(schemas.UUID_PATTERN, value))


def schema(call_schema):
    """Decorate an RPC endpoint ``method(self, context, ...)``: its
    arguments are checked against ``call_schema`` before it runs.

    An optional argument given as None counts as not given.
    """
    def decorate(method):
        params = list(inspect.signature(method).parameters.values())[2:]
        names = [p.name for p in params]
        none_default = {p.name for p in params if p.default is None}

        @functools.wraps(method)
        def endpoint(self, context, *args, **kwargs):
            if len(args) > len(names) or set(names[:len(args)]) & set(
                    kwargs):
                raise exception.InvalidInput(
                    '%s: takes the arguments %s, by name.'
                    % (method.__name__, ', '.join(names) or 'none'))
            kwargs.update(zip(names, args))
            check(method.__name__, call_schema, {
                k: v for k, v in kwargs.items()
                if not (v is None and k in none_default)})
            return method(self, context, **kwargs)
        return endpoint
    return decorate
