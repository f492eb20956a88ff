"""The derivative kinds, named once: every module that lists or checks kinds imports them here.

A leaf module (no imports), so the interface, the analysis and the CLI can all read it.
"""

#: The derivative kinds, in the order reports list them.
KINDS = ("gradient", "value_and_gradient", "jacobian", "hessian", "jvp", "vjp", "hvp")
#: Kinds called with ``(x, vector, *other arguments)``: the vector has x's structure (jvp,
#: hvp) or one entry per output of f (vjp).
VECTOR_KINDS = ("jvp", "vjp", "hvp")
#: Kinds of f with several outputs: f may return a tree of arrays (a dict), kept in the result.
OUTPUT_TREE_KINDS = ("jacobian", "jvp", "vjp")
#: Derivative kinds defined only for a scalar-valued function.
SCALAR_KINDS = frozenset({"gradient", "value_and_gradient", "hessian", "hvp"})
#: Kinds ``batched=True`` offers (one array of points in, one result per point out).
BATCHED_KINDS = ("gradient", "value_and_gradient", "jacobian", "hessian")
#: The derivatives compared against the oracle (``difflab compare``, ``difflab check``,
#: :func:`difflab.reference`): one array per point, no vector argument but the hvp's.
DERIVATIVES = ("gradient", "jacobian", "hessian", "hvp")
#: The kinds a fuzz campaign checks (value_and_gradient adds nothing to the gradient).
FUZZ_KINDS = tuple(k for k in KINDS if k != "value_and_gradient")
