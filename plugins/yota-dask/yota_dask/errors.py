"""Naming things in error messages: the loss function and its arguments."""


def describe(f):
    """The loss function's name, as error messages show it."""
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def argument(f, where):
    """'argument 1 (X)' for a position, "keyword argument 'X'" for a keyword."""
    if isinstance(where, str):
        return f"keyword argument {where!r}"
    code = getattr(getattr(f, "__func__", f), "__code__", None)
    if code is None or where >= code.co_argcount:
        return f"argument {where}"
    return f"argument {where} ({code.co_varnames[where]})"
