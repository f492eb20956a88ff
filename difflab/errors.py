"""The errors difflab raises on purpose (NotSupported, InputError and its kinds), and the one
wording of the messages several layers raise (an engine, the interface, a backend)."""


class NotSupported(Exception):
    """A method cannot do what was asked, and says why instead of returning a wrong number.

    Parameters
    ----------
    what : str
        The operation or derivative kind that is not supported (``"where"``, ``"hessian"``).
    by : str
        The namespace or method that cannot do it (``"sympy"``, ``"manual"``).
    reason : str
        One sentence a user can act on.
    """

    def __init__(self, what: str, by: str, reason: str = ""):
        self.what, self.by, self.reason = what, by, reason
        message = f"{by} does not support {what}"
        super().__init__(f"{message}: {reason}" if reason else message)


class InputError(ValueError):
    """Bad input from a user: an unparsable expression, an unknown name, a wrong shape."""


class NotFinite(InputError):
    """``f(x)`` is NaN or infinite at ``x``, so there is no derivative there.

    An :class:`InputError` like any other broken contract; its own class lets an iteration
    (a solver, a trainer) tell a run that diverged from a function that is malformed.
    """


class OverBudget(InputError):
    """Work estimated above a budget (``max_seconds``, ``max_bytes``), refused before it
    starts; the message names the estimate and the option that allows it.

    Attributes
    ----------
    estimate : difflab.interface.cost.Estimate
        The seconds and bytes estimated, and the model's basis in words.
    """

    def __init__(self, message: str, estimate=None):
        super().__init__(message)
        self.estimate = estimate


class DerivativeNotFinite(NotFinite):
    """``f(x)`` is finite but the derivative a method computed there is NaN or infinite
    (sqrt at 0, an overflowing slope): no number is returned. Its own class lets the fuzz
    campaign judge it as the wrong answer it would have been (difflab.fuzz.verdict)."""


# ---------------------------------------------------------------------- shared messages
def not_scalar(kind, name, shape) -> InputError:
    """The one message for a scalar-only kind asked of a function with several outputs."""
    return InputError(f"{kind} needs a scalar-valued function; {name} returns shape "
                      f"{tuple(shape)} (use jacobian)")


def not_finite(name) -> NotFinite:
    return NotFinite(f"{name}(x) is NaN or infinite at this x: x is outside the function's "
                      "domain (or the value overflows), so it has no derivative there")


def derivative_not_finite(kind, method, name) -> DerivativeNotFinite:
    """A derivative with NaN or infinity where f itself is finite: no number is returned."""
    return DerivativeNotFinite(
        f"the {kind} of {name} by {method} is NaN or infinite at this x although {name}(x) is "
        f"finite: {name} is not differentiable there (sqrt or a power below 1 at 0, say), the "
        "derivative overflows, or a constant in it is infinite")
