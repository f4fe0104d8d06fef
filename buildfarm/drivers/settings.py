"""Checks of a label's driver settings: its ``docker:`` or ``nova:``
mapping in the pools file (see buildfarm.controller.pools).

A setting overrides the driver's option of the same name, so by default
it follows that option's type; a driver adds its own rule where the type
says too little (a size in docker's syntax, say). Values must be YAML's
own types: a quoted "false" would be a true string to the driver.
"""

from oslo_config import types

from buildfarm import exception


class Rule:
    """What one setting's value must be, and how an error says it."""

    def __init__(self, check, words):
        self.check = check
        self.words = words


def is_strings(value):
    return isinstance(value, list) and all(isinstance(i, str) for i in value)


def _not_bool(value, kinds):
    return isinstance(value, kinds) and not isinstance(value, bool)


def _number_rule(kind, kinds, opt_type):
    low, high = opt_type.min, opt_type.max
    if low is not None and high is not None:
        words = '%s from %s to %s' % (kind, low, high)
    elif low is not None:
        words = '%s of at least %s' % (kind, low)
    else:
        words = kind
    return Rule(lambda v: _not_bool(v, kinds)
                and (low is None or v >= low)
                and (high is None or v <= high), words)


def _type_rule(opt_type):
    if isinstance(opt_type, types.Boolean):
        return Rule(lambda v: isinstance(v, bool), 'true or false')
    if isinstance(opt_type, types.Integer):
        return _number_rule('an integer', int, opt_type)
    if isinstance(opt_type, types.Float):
        return _number_rule('a number', (int, float), opt_type)
    if isinstance(opt_type, types.List):
        return Rule(is_strings, 'a list of strings')
    return Rule(lambda v: isinstance(v, str), 'a string')


def rule_of(opt):
    """The Rule of an oslo.config option; null is allowed where the
    option has no default (the setting is then unset)."""
    rule = _type_rule(opt.type)
    if opt.default is not None:
        return rule
    return Rule(lambda v: v is None or rule.check(v), rule.words + ' or null')


def option_rules(opts, names, **special):
    """{name: Rule} for the options ``names`` of ``opts``; ``special``
    gives a Rule instead of the one of an option's type."""
    by_name = {opt.name: opt for opt in opts}
    found = {name: rule_of(by_name[name]) for name in names}
    found.update(special)
    return found


def check(label, driver, settings, rules):
    """Raise InvalidPool unless every setting of ``label`` has a rule in
    ``rules`` ({name: Rule}) and keeps it."""
    if not isinstance(settings, dict):
        raise exception.InvalidPool(
            'Label %s: its %s settings must be a mapping of setting names '
            'to values, not %r.' % (label, driver, settings))
    unknown = sorted(str(name) for name in settings if name not in rules)
    if unknown:
        raise exception.InvalidPool(
            'Label %s: unknown %s setting(s) %s; valid: %s.'
            % (label, driver, ', '.join(unknown),
               ', '.join(sorted(rules)) or 'none'))
    for name, value in settings.items():
        rule = rules[name]
        if not rule.check(value):
            raise exception.InvalidPool(
                'Label %s: %s setting %s must be %s, not %r.'
                % (label, driver, name, rule.words, value))
